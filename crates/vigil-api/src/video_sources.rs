//! Video Center — video sources (spec §2.3–§2.7).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vigil_core::secret_fields::{mask_type_config, mask_url, seal_type_config};
use vigil_core::source_status::SourceStatus;
use vigil_core::type_config::MASK;
use vigil_core::video_source::{parse_address, AccessType, SourceAddress, SourceType};
use vigil_core::{validate, FieldError};
use vigil_store::source_list::{SourcePage, SourcePageQuery, SourceSort};
use vigil_store::video_sources::{NewSource, SourceDetail, SourceUpdate};
use vigil_store::StoreError;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::json_body::JsonBody;
use crate::query::{PagedSwitch, QueryParams};
use crate::video_groups::VideoGroupInfoDto;
use crate::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateVideoSourceDto {
    /// 1–100 characters: Chinese, letters, digits, space and `.-_()（）`; no leading/trailing space.
    pub video_source_name: String,
    /// `cloud` or `edge`.
    pub access_type: String,
    /// `url`, `vcn`, `restful`, `camera`, `obs`, `ivm` or `vcn_restful`.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub source_type: String,
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub video_group_ids: Option<Vec<String>>,
    /// XML fragment, 1–1024 characters, either generation (spec §2.2).
    pub type_config: String,
    /// At most 4 tags of 1–10 characters.
    pub tag: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateVideoSourceDto {
    pub video_source_name: String,
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    /// Omitted: unchanged. A password of `******` keeps the stored password.
    pub type_config: Option<String>,
    pub tag: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateVideoSourceResponse {
    pub video_source_id: String,
}

/// `VideoSourceStatusInfoDto`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VideoSourceStatusInfoDto {
    pub status: String,
    pub name: String,
    pub level: String,
}

impl From<i64> for VideoSourceStatusInfoDto {
    fn from(level: i64) -> Self {
        let s = SourceStatus::from_level(level).unwrap_or(SourceStatus::Offline);
        Self {
            status: s.state().into(),
            name: s.display_name().into(),
            level: s.level().to_string(),
        }
    }
}

/// `VideoServiceConfigTemplateDto` (camelCase on the wire, as Huawei's).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VideoServiceConfigTemplateDto {
    pub name: String,
    pub roi: String,
    pub service_config: String,
    pub create_at: i64,
    pub modify_at: i64,
    pub num_task: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShowVideoSourceDetailResponse {
    pub video_source_name: String,
    pub access_type: String,
    pub status: VideoSourceStatusInfoDto,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub source_type: String,
    pub latitude: String,
    pub longitude: String,
    pub create_at: i64,
    pub type_config: String,
    pub video_packages: Vec<VideoGroupInfoDto>,
    pub service_config_templates: Vec<VideoServiceConfigTemplateDto>,
    pub stream_path: String,
    /// Base64 JPEG snapshot from the health prober.
    pub image: String,
    pub tag: Vec<String>,
    pub scene_recommend: Vec<String>,
    pub video_source_quality: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListVideoSourceInfoDto {
    pub video_source_id: String,
    pub video_source_name: String,
    pub status: VideoSourceStatusInfoDto,
    pub access_type: String,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub source_type: String,
    pub latitude: String,
    pub longitude: String,
    pub create_at: i64,
    pub video_packages: Vec<VideoGroupInfoDto>,
    pub num_tasks: i64,
    pub num_service_config_templates: i64,
    pub type_config: String,
    pub tag: Vec<String>,
    pub stream_path: String,
    pub scene_recommend: Vec<String>,
    pub video_source_quality: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListVideoSourcesResponse {
    pub video_source_number: i64,
    pub total_number: i64,
    pub quota_number: i64,
    pub video_source_list: Vec<ListVideoSourceInfoDto>,
}

/// Query of ListVideoSources. List parameters take repeated keys or comma-joined values.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListVideoSourcesParams {
    /// Fuzzy search text, 0–255 characters.
    pub scope: Option<String>,
    /// `source_name` (default) | `group_name`: the field `scope` searches.
    pub scope_name: Option<String>,
    /// 0–3 of `1` online, `2` offline, `9` abnormal.
    pub status: Option<Vec<String>>,
    /// 0–10 source types.
    #[param(rename = "type")]
    pub source_type: Option<Vec<String>>,
    /// Sources in any of these groups.
    pub video_group_id: Option<Vec<String>>,
    /// `create_at` (default) | `num_task` | `num_template`
    pub sort_name: Option<String>,
    /// `desc` (default) | `asc`
    pub order_by: Option<String>,
    pub is_paged: Option<bool>,
    /// 5–200, default 10
    pub page_size: Option<i64>,
    /// 1–100000, default 1
    pub page_num: Option<i64>,
    pub access_type: Option<Vec<String>>,
    /// Video platform (Huawei Cloud Stack). Vigil registers no platforms, so any value matches nothing.
    pub platform_name: Option<String>,
    /// Exact tag.
    pub tag: Option<String>,
}

fn check_source_id(id: &str) -> ApiResult<()> {
    if vigil_core::ids::is_resource_id(id) {
        Ok(())
    } else {
        Err(ApiError::invalid("video_source_id", "must match ^[a-z0-9_-]{4,36}$"))
    }
}

fn source_not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound("video source") => ApiError::not_found("video_source_id", "the video source"),
        StoreError::NotFound("video group") => ApiError::not_found("video_group_ids", "a listed video group"),
        other => other.into(),
    }
}

/// The password inside a parsed address, if the type carries one.
fn password_of(addr: &SourceAddress) -> Option<&str> {
    match addr {
        SourceAddress::Vcn { password: Some(p), .. } => Some(p),
        _ => None,
    }
}

fn detail_dto(d: SourceDetail) -> ShowVideoSourceDetailResponse {
    let s = d.source;
    ShowVideoSourceDetailResponse {
        video_source_name: s.name,
        access_type: s.access_type,
        status: s.status.into(),
        source_type: s.source_type,
        latitude: s.latitude,
        longitude: s.longitude,
        create_at: s.create_at,
        type_config: mask_type_config(&s.type_config),
        video_packages: d.groups.iter().map(Into::into).collect(),
        service_config_templates: d
            .templates
            .into_iter()
            .map(|t| VideoServiceConfigTemplateDto {
                name: t.name,
                roi: t.roi,
                service_config: t.service_config,
                create_at: t.create_at,
                modify_at: t.modify_at,
                num_task: t.num_task,
            })
            .collect(),
        stream_path: s.stream_path,
        image: s.image,
        tag: s.tags,
        scene_recommend: s.scene_recommend,
        video_source_quality: s.quality,
    }
}

#[utoipa::path(post, path = "/v2/{project_id}/source", operation_id = "CreateVideoSource", tag = "Video Center",
    params(("project_id" = String, Path)), request_body = CreateVideoSourceDto,
    responses((status = 200, body = CreateVideoSourceResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<CreateVideoSourceDto>,
) -> ApiResult<Json<CreateVideoSourceResponse>> {
    validate::source_name("video_source_name", &body.video_source_name)?;
    let access = AccessType::parse("access_type", &body.access_type)?;
    let ty = SourceType::parse("type", &body.source_type)?;
    if !ty.allows(access) {
        return Err(ApiError::invalid(
            "type",
            format!("a {} source cannot have access_type {}", ty.as_str(), access.as_str()),
        ));
    }
    let latitude = body.latitude.unwrap_or_default();
    let longitude = body.longitude.unwrap_or_default();
    validate::coordinate("latitude", &latitude, 90.0)?;
    validate::coordinate("longitude", &longitude, 180.0)?;
    let groups = body.video_group_ids.unwrap_or_default();
    if groups.len() > 100 {
        return Err(ApiError::invalid("video_group_ids", "at most 100 groups"));
    }
    validate::resource_ids("video_group_ids", &groups)?;
    let tags = body.tag.unwrap_or_default();
    validate::tags("tag", &tags)?;
    let addr = parse_address(ty, &body.type_config)?;
    let caller_name = caller.user_name;
    let new = NewSource {
        project_id: caller.project_id,
        name: body.video_source_name,
        access_type: access.as_str().into(),
        source_type: ty.as_str().into(),
        type_config: seal_type_config(&state.secrets, &body.type_config, None),
        password_sealed: password_of(&addr).map(|p| state.secrets.seal(p)),
        latitude,
        longitude,
        tags,
        group_ids: groups,
        stream_path: mask_url(addr.stream_path().unwrap_or("")),
    };
    let id = state
        .store
        .create_source(new, state.config.source_quota)
        .await
        .map_err(source_not_found)?;
    tracing::info!(video_source_id = %id, user = %caller_name, "created video source");
    Ok(Json(CreateVideoSourceResponse { video_source_id: id }))
}

#[utoipa::path(put, path = "/v2/{project_id}/source/{video_source_id}", operation_id = "UpdateVideoSource", tag = "Video Center",
    params(("project_id" = String, Path), ("video_source_id" = String, Path)), request_body = UpdateVideoSourceDto,
    responses((status = 200, body = ShowVideoSourceDetailResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateVideoSourceDto>,
) -> ApiResult<Json<ShowVideoSourceDetailResponse>> {
    check_source_id(&id)?;
    validate::source_name("video_source_name", &body.video_source_name)?;
    if let Some(l) = &body.latitude {
        validate::coordinate("latitude", l, 90.0)?;
    }
    if let Some(l) = &body.longitude {
        validate::coordinate("longitude", l, 180.0)?;
    }
    if let Some(t) = &body.tag {
        validate::tags("tag", t)?;
    }
    let current = state
        .store
        .get_source(&caller.project_id, &id)
        .await
        .map_err(source_not_found)?;
    let type_config = match &body.type_config {
        None => None,
        Some(xml) => {
            let ty = SourceType::parse("type", &current.source.source_type)
                .map_err(|e| ApiError::internal(format!("stored source type: {e}")))?;
            let addr = parse_address(ty, xml)?;
            let sealed = password_of(&addr).filter(|p| *p != MASK).map(|p| state.secrets.seal(p));
            let stored = seal_type_config(&state.secrets, xml, Some(&current.source.type_config));
            Some((stored, sealed, mask_url(addr.stream_path().unwrap_or(""))))
        }
    };
    let up = SourceUpdate {
        name: body.video_source_name,
        latitude: body.latitude,
        longitude: body.longitude,
        type_config,
        tags: body.tag,
    };
    state
        .store
        .update_source(&caller.project_id, &id, up)
        .await
        .map_err(source_not_found)?;
    let d = state
        .store
        .get_source(&caller.project_id, &id)
        .await
        .map_err(source_not_found)?;
    Ok(Json(detail_dto(d)))
}

#[utoipa::path(delete, path = "/v2/{project_id}/source/{video_source_id}", operation_id = "DeleteVideoSource", tag = "Video Center",
    params(("project_id" = String, Path), ("video_source_id" = String, Path)),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 400, body = ViasErrorBody),
              (status = 500, description = "VIAS.00010012: tasks still use the source", body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    check_source_id(&id)?;
    state
        .store
        .delete_source(&caller.project_id, &id)
        .await
        .map_err(source_not_found)?;
    tracing::info!(video_source_id = %id, "deleted video source");
    Ok("success".into_response())
}

#[utoipa::path(get, path = "/v2/{project_id}/source/sources/{video_source_id}", operation_id = "ShowVideoSourceDetail", tag = "Video Center",
    params(("project_id" = String, Path), ("video_source_id" = String, Path)),
    responses((status = 200, body = ShowVideoSourceDetailResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<ShowVideoSourceDetailResponse>> {
    check_source_id(&id)?;
    let d = state
        .store
        .get_source(&caller.project_id, &id)
        .await
        .map_err(source_not_found)?;
    Ok(Json(detail_dto(d)))
}

impl ListVideoSourcesParams {
    fn parse(q: &QueryParams) -> Result<Self, FieldError> {
        let types: Vec<&str> = SourceType::ALL.iter().map(|t| t.as_str()).collect();
        let groups = q.many("video_group_id");
        for g in &groups {
            let ok =
                (1..=36).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(FieldError::invalid(
                    "video_group_id",
                    "each id must match ^[0-9a-zA-Z-_]{1,36}$",
                ));
            }
        }
        Ok(Self {
            scope: q.text("scope", 255)?,
            scope_name: q.choice("scope_name", &["source_name", "group_name"])?,
            status: Some(q.choices("status", &["1", "2", "9"], 3)?),
            source_type: Some(q.choices("type", &types, 10)?),
            video_group_id: Some(groups),
            sort_name: q.choice("sort_name", &["create_at", "num_task", "num_template"])?,
            order_by: q.choice("order_by", &["asc", "desc"])?,
            is_paged: q.bool("is_paged")?,
            page_size: q.int("page_size", 5, 200)?,
            page_num: q.int("page_num", 1, 100_000)?,
            access_type: Some(q.choices("access_type", &["cloud", "edge"], 2)?),
            platform_name: q.text("platform_name", 255)?,
            tag: q.text("tag", 10)?,
        })
    }

    /// The store query of these parameters (`platform_name` aside: no platform exists).
    fn page_query(&self, paging: &PagedSwitch) -> SourcePageQuery {
        let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
        SourcePageQuery {
            scope: self.scope.clone(),
            scope_in_groups: self.scope_name.as_deref() == Some("group_name"),
            // Validated to be 1, 2 or 9.
            statuses: list(&self.status).iter().filter_map(|l| l.parse().ok()).collect(),
            source_types: list(&self.source_type),
            group_ids: list(&self.video_group_id),
            access_types: list(&self.access_type),
            tag: self.tag.clone(),
            sort: match self.sort_name.as_deref() {
                Some("num_task") => SourceSort::NumTasks,
                Some("num_template") => SourceSort::NumTemplates,
                _ => SourceSort::CreateAt,
            },
            ascending: paging.ascending,
            page: paging.sql_page(),
        }
    }
}

#[utoipa::path(get, path = "/v2/{project_id}/source/sources", operation_id = "ListVideoSources", tag = "Video Center",
    params(("project_id" = String, Path), ListVideoSourcesParams),
    responses((status = 200, body = ListVideoSourcesResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: QueryParams,
) -> ApiResult<Json<ListVideoSourcesResponse>> {
    let params = ListVideoSourcesParams::parse(&q)?;
    let paging = PagedSwitch::new(
        params.is_paged,
        params.page_size,
        params.page_num,
        params.order_by.as_deref(),
    );
    let page = if params.platform_name.is_some() {
        SourcePage {
            matched: 0,
            total: state.store.count_sources(&caller.project_id).await?,
            items: Vec::new(),
        }
    } else {
        let q = params.page_query(&paging);
        state.store.source_page(&caller.project_id, &q).await?
    };
    let video_source_list = page
        .items
        .into_iter()
        .map(|d| {
            let s = d.source;
            ListVideoSourceInfoDto {
                video_source_id: s.id,
                video_source_name: s.name,
                status: s.status.into(),
                access_type: s.access_type,
                source_type: s.source_type,
                latitude: s.latitude,
                longitude: s.longitude,
                create_at: s.create_at,
                video_packages: d.groups.iter().map(Into::into).collect(),
                num_tasks: d.num_tasks,
                num_service_config_templates: d.num_templates,
                type_config: mask_type_config(&s.type_config),
                tag: s.tags,
                stream_path: s.stream_path,
                scene_recommend: s.scene_recommend,
                video_source_quality: s.quality,
            }
        })
        .collect();
    Ok(Json(ListVideoSourcesResponse {
        video_source_number: page.matched,
        total_number: page.total,
        quota_number: state.config.source_quota,
        video_source_list,
    }))
}
