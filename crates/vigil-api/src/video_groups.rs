//! Video Center — video groups (spec §2.8–§2.12).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vigil_core::video_source::{AccessType, SourceType};
use vigil_core::{validate, FieldError};
use vigil_store::group_list::{GroupPageQuery, GroupSort};
use vigil_store::video_groups::{GroupRecord, GroupUpdate, NewGroup};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::json_body::JsonBody;
use crate::query::{PagedSwitch, QueryParams};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct GroupStatusDto {
    pub num_online: i64,
    pub num_exception: i64,
    pub num_offline: i64,
}

/// `VideoGroupInfoDto`: a group as shown in a source's `video_packages`, and by ShowVideoGroup.
#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct VideoGroupInfoDto {
    pub video_group_id: String,
    pub video_group_name: String,
    pub description: String,
    pub access_type: String,
    pub create_at: i64,
    pub modify_at: i64,
    pub num_video_source: i64,
    pub group_status: GroupStatusDto,
    pub num_batch_task: i64,
}

impl From<&GroupRecord> for VideoGroupInfoDto {
    fn from(g: &GroupRecord) -> Self {
        Self {
            video_group_id: g.id.clone(),
            video_group_name: g.name.clone(),
            description: g.description.clone(),
            access_type: g.access_type.clone(),
            create_at: g.create_at,
            modify_at: g.modify_at,
            num_video_source: g.num_video_source,
            group_status: GroupStatusDto {
                num_online: g.num_online,
                num_exception: g.num_exception,
                num_offline: g.num_offline,
            },
            num_batch_task: g.num_batch_task,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VideoGroupListInfoDto {
    pub video_group_id: String,
    pub video_group_name: String,
    pub num_video_source: i64,
    pub group_status: GroupStatusDto,
    pub access_type: String,
    pub create_at: i64,
    pub modify_at: i64,
    pub num_batch_task: i64,
    /// Source types of the members, comma-joined (empty for an empty group).
    #[serde(rename = "type")]
    pub source_type: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateVideoGroupDto {
    /// 1–20 characters: Chinese, letters, digits, `-`, `_`.
    pub video_group_name: String,
    pub description: Option<String>,
    /// `cloud` or `edge`.
    pub access_type: String,
    pub video_source_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateVideoGroupDto {
    pub video_group_name: Option<String>,
    pub description: Option<String>,
    /// Replaces the membership: 1–50 source ids.
    pub video_source_ids: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateVideoGroupResponse {
    pub video_group_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListVideoGroupsResponse {
    pub video_group_number: i64,
    pub total_number: i64,
    pub quota_number: i64,
    pub video_group_list: Vec<VideoGroupListInfoDto>,
}

/// Query of ListVideoGroups.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListVideoGroupsParams {
    /// `create_at` (default) | `modify_at` | `num_video_source` | `num_task` (batch tasks on the group)
    pub sort_name: Option<String>,
    /// `desc` (default) | `asc`
    pub order_by: Option<String>,
    pub is_paged: Option<bool>,
    /// 5–200, default 10
    pub page_size: Option<i64>,
    /// 1–100000, default 1
    pub page_num: Option<i64>,
    /// Fuzzy group-name search.
    pub name: Option<String>,
    /// Groups holding a source at this level: `1` online, `2` offline, `9` abnormal.
    pub status: Option<String>,
    pub access_type: Option<Vec<String>>,
    /// Only groups with (true) / without (false) batch tasks.
    pub has_task: Option<bool>,
    /// Groups holding a source of one of these types.
    #[param(rename = "type")]
    pub source_type: Option<Vec<String>>,
}

const DESCRIPTION_MAX: usize = 255;

fn check_group_id(id: &str) -> ApiResult<()> {
    if vigil_core::ids::is_resource_id(id) {
        Ok(())
    } else {
        Err(ApiError::invalid("video_group_id", "must match ^[a-z0-9_-]{4,36}$"))
    }
}

fn check_description(d: &Option<String>) -> Result<(), FieldError> {
    match d {
        Some(d) if d.chars().count() > DESCRIPTION_MAX => Err(FieldError::invalid(
            "description",
            format!("must be at most {DESCRIPTION_MAX} characters"),
        )),
        _ => Ok(()),
    }
}

fn group_not_found(e: vigil_store::StoreError) -> ApiError {
    match e {
        vigil_store::StoreError::NotFound("video group") => ApiError::not_found("video_group_id", "the video group"),
        vigil_store::StoreError::NotFound("video source") => {
            ApiError::not_found("video_source_ids", "a listed video source")
        }
        other => other.into(),
    }
}

#[utoipa::path(post, path = "/v2/{project_id}/video-group", operation_id = "CreateVideoGroup", tag = "Video Center",
    params(("project_id" = String, Path)), request_body = CreateVideoGroupDto,
    responses((status = 200, body = CreateVideoGroupResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<CreateVideoGroupDto>,
) -> ApiResult<Json<CreateVideoGroupResponse>> {
    validate::group_name("video_group_name", &body.video_group_name)?;
    check_description(&body.description)?;
    let access = AccessType::parse("access_type", &body.access_type)?;
    let ids = body.video_source_ids.unwrap_or_default();
    if ids.len() > 1000 {
        return Err(ApiError::invalid("video_source_ids", "at most 1000 ids"));
    }
    validate::resource_ids("video_source_ids", &ids)?;
    let new = NewGroup {
        project_id: caller.project_id,
        name: body.video_group_name,
        description: body.description.unwrap_or_default(),
        access_type: access.as_str().to_string(),
        source_ids: ids,
    };
    let id = state
        .store
        .create_group(new, state.config.group_quota)
        .await
        .map_err(group_not_found)?;
    Ok(Json(CreateVideoGroupResponse { video_group_id: id }))
}

#[utoipa::path(put, path = "/v2/{project_id}/video-group/{video_group_id}", operation_id = "UpdateVideoGroup", tag = "Video Center",
    params(("project_id" = String, Path), ("video_group_id" = String, Path)), request_body = UpdateVideoGroupDto,
    responses((status = 200, body = String, content_type = "text/plain"), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateVideoGroupDto>,
) -> ApiResult<Response> {
    check_group_id(&id)?;
    if let Some(n) = &body.video_group_name {
        validate::group_name("video_group_name", n)?;
    }
    check_description(&body.description)?;
    if let Some(ids) = &body.video_source_ids {
        if ids.is_empty() || ids.len() > 50 {
            return Err(ApiError::invalid("video_source_ids", "must list 1 to 50 ids"));
        }
        validate::resource_ids("video_source_ids", ids)?;
    }
    let up = GroupUpdate {
        name: body.video_group_name,
        description: body.description,
        source_ids: body.video_source_ids,
    };
    state
        .store
        .update_group(&caller.project_id, &id, up)
        .await
        .map_err(group_not_found)?;
    Ok("success".into_response())
}

#[utoipa::path(delete, path = "/v2/{project_id}/video-group/{video_group_id}", operation_id = "DeleteVideoGroup", tag = "Video Center",
    params(("project_id" = String, Path), ("video_group_id" = String, Path)),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    check_group_id(&id)?;
    state
        .store
        .delete_group(&caller.project_id, &id)
        .await
        .map_err(group_not_found)?;
    Ok("success".into_response())
}

#[utoipa::path(get, path = "/v2/{project_id}/video-group/{video_group_id}", operation_id = "ShowVideoGroup", tag = "Video Center",
    params(("project_id" = String, Path), ("video_group_id" = String, Path)),
    responses((status = 200, body = VideoGroupInfoDto), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<VideoGroupInfoDto>> {
    check_group_id(&id)?;
    let g = state
        .store
        .get_group(&caller.project_id, &id)
        .await
        .map_err(group_not_found)?;
    Ok(Json((&g).into()))
}

impl ListVideoGroupsParams {
    fn parse(q: &QueryParams) -> Result<Self, FieldError> {
        let types: Vec<&str> = SourceType::ALL.iter().map(|t| t.as_str()).collect();
        Ok(Self {
            sort_name: q.choice("sort_name", &["create_at", "modify_at", "num_video_source", "num_task"])?,
            order_by: q.choice("order_by", &["asc", "desc"])?,
            is_paged: q.bool("is_paged")?,
            page_size: q.int("page_size", 5, 200)?,
            page_num: q.int("page_num", 1, 100_000)?,
            name: q.text("name", 255)?,
            status: q.choice("status", &["1", "2", "9"])?,
            access_type: Some(q.choices("access_type", &["cloud", "edge"], 2)?),
            has_task: q.bool("has_task")?,
            source_type: Some(q.choices("type", &types, 10)?),
        })
    }

    /// The store query of these parameters.
    fn page_query(&self, paging: &PagedSwitch) -> GroupPageQuery {
        GroupPageQuery {
            name: self.name.clone(),
            // Validated to be 1, 2 or 9.
            status: self.status.as_deref().and_then(|l| l.parse().ok()),
            access_types: self.access_type.clone().unwrap_or_default(),
            has_task: self.has_task,
            source_types: self.source_type.clone().unwrap_or_default(),
            sort: match self.sort_name.as_deref() {
                Some("modify_at") => GroupSort::ModifyAt,
                Some("num_video_source") => GroupSort::NumVideoSource,
                Some("num_task") => GroupSort::NumBatchTask,
                _ => GroupSort::CreateAt,
            },
            ascending: paging.ascending,
            page: paging.sql_page(),
        }
    }
}

#[utoipa::path(get, path = "/v2/{project_id}/video-group/groups", operation_id = "ListVideoGroups", tag = "Video Center",
    params(("project_id" = String, Path), ListVideoGroupsParams),
    responses((status = 200, body = ListVideoGroupsResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: QueryParams,
) -> ApiResult<Json<ListVideoGroupsResponse>> {
    let params = ListVideoGroupsParams::parse(&q)?;
    let paging = PagedSwitch::new(
        params.is_paged,
        params.page_size,
        params.page_num,
        params.order_by.as_deref(),
    );
    let page = state
        .store
        .group_page(&caller.project_id, &params.page_query(&paging))
        .await?;
    let video_group_list = page
        .items
        .iter()
        .map(|g| {
            let info = VideoGroupInfoDto::from(g);
            VideoGroupListInfoDto {
                video_group_id: info.video_group_id,
                video_group_name: info.video_group_name,
                num_video_source: info.num_video_source,
                group_status: info.group_status,
                access_type: info.access_type,
                create_at: info.create_at,
                modify_at: info.modify_at,
                num_batch_task: info.num_batch_task,
                source_type: g.source_types.join(","),
            }
        })
        .collect();
    Ok(Json(ListVideoGroupsResponse {
        video_group_number: page.matched,
        total_number: page.total,
        quota_number: state.config.group_quota,
        video_group_list,
    }))
}
