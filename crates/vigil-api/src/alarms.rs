//! Vigil extension, outside the VIAS surface: the event center as a REST resource (VIAS has it
//! only in its console, spec §4.7 and §6.1). Alarms of tasks with `output.event_center` on.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use vigil_core::FieldError;
use vigil_store::alarms::{AlarmFilter, AlarmMarker, AlarmRecord, REVIEW_STATES};
use vigil_store::StoreError;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::query::QueryParams;
use crate::AppState;

/// Query of ListAlarms. Times are epoch seconds, both ends inclusive.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListAlarmsParams {
    pub task_id: Option<String>,
    pub video_source_id: Option<String>,
    /// e.g. 196609 (intrusion), spec §6.3.
    pub event_type: Option<i64>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    /// `none` | `pending` | `approved` | `rejected` (manual review of the event rules).
    pub review_state: Option<String>,
    /// The `next_marker` of the previous page: this page starts after it. Prefer it to `offset`
    /// (whose cost grows with the offset); not together with `offset`.
    pub marker: Option<String>,
    /// 0–100000, default 0. Kept for compatibility; deep offsets are slower than `marker`.
    pub offset: Option<i64>,
    /// 1–1000, default 100.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListAlarmsResponse {
    /// Alarms on this page.
    pub count: i64,
    /// Matches before pagination, exact.
    pub total: i64,
    /// Present when more alarms follow this page: pass it as `marker` to get the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Newest first: each the VIAS envelope without `image_base64`, plus `image_url` when the
    /// alarm has a picture, `review_state`, `aggregate_count` (alarms folded into this one by
    /// duplicate aggregation, itself included) and `last_timestamp` (epoch seconds of the newest
    /// of them).
    #[schema(value_type = Vec<Object>)]
    pub alarms: Vec<Map<String, Value>>,
}

/// Upper bound of accepted epoch seconds (year 9999), to keep every sum far from overflow.
const MAX_EPOCH_S: i64 = 253_402_300_799;

/// Task ids are 32 hex chars; older clients' ids are accepted in the wider id alphabet.
pub(crate) fn check_id(param: &str, v: Option<String>) -> Result<Option<String>, FieldError> {
    match v {
        Some(id)
            if !(1..=64).contains(&id.len())
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Err(FieldError::invalid(
                param,
                "must be 1 to 64 letters, digits, '-' or '_'",
            ))
        }
        v => Ok(v),
    }
}

/// Longest accepted `marker` (two epoch values and a message id, base64url).
const MARKER_MAX: usize = 200;

/// `marker` text: base64url of `<alarm_time>.<created_at>.<message_id>`, opaque to clients.
pub(crate) fn encode_marker(m: &AlarmMarker) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}.{}", m.alarm_time, m.created_at, m.message_id))
}

pub(crate) fn decode_marker(v: &str) -> Result<AlarmMarker, FieldError> {
    let bad = || FieldError::invalid("marker", "must be a next_marker returned by this list");
    let text = URL_SAFE_NO_PAD
        .decode(v)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let mut parts = text.splitn(3, '.');
    let mut int = || parts.next().and_then(|p| p.parse::<i64>().ok()).ok_or_else(bad);
    let (alarm_time, created_at) = (int()?, int()?);
    match parts.next() {
        Some(id) if !id.is_empty() => Ok(AlarmMarker {
            alarm_time,
            created_at,
            message_id: id.to_string(),
        }),
        _ => Err(bad()),
    }
}

impl ListAlarmsParams {
    fn parse(q: &QueryParams) -> Result<Self, FieldError> {
        let p = Self {
            task_id: check_id("task_id", q.text("task_id", 64)?)?,
            video_source_id: check_id("video_source_id", q.text("video_source_id", 64)?)?,
            event_type: q.int("event_type", 0, i64::from(u32::MAX))?,
            start_time: q.int("start_time", 0, MAX_EPOCH_S)?,
            end_time: q.int("end_time", 0, MAX_EPOCH_S)?,
            review_state: q.choice("review_state", REVIEW_STATES)?,
            marker: q.text("marker", MARKER_MAX)?,
            offset: q.int("offset", 0, 100_000)?,
            limit: q.int("limit", 1, 1000)?,
        };
        if let (Some(s), Some(e)) = (p.start_time, p.end_time) {
            if e < s {
                return Err(FieldError::invalid("end_time", "must not be before start_time"));
            }
        }
        if p.marker.is_some() && p.offset.is_some() {
            return Err(FieldError::invalid("marker", "give either marker or offset, not both"));
        }
        Ok(p)
    }
}

/// `message_id` of a path or body: an upper-case UUID as alarms carry (older clients' ids in the
/// same alphabet up to 64 characters are accepted).
pub(crate) fn valid_message_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

fn image_path(project_id: &str, message_id: &str) -> String {
    format!("/v2/{project_id}/vigil/alarms/{message_id}/image")
}

/// One alarm as listed (and as streamed, see `alarm_stream`).
pub(crate) fn alarm_dto(state: &AppState, r: &AlarmRecord) -> Map<String, Value> {
    let mut m = match serde_json::to_value(&r.envelope) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    m.remove("image_base64");
    if r.has_image {
        let url = format!(
            "{}{}",
            state.config.public_url.trim_end_matches('/'),
            image_path(&r.project_id, &r.envelope.message_id)
        );
        m.insert("image_url".into(), Value::String(url));
    }
    m.insert("review_state".into(), Value::String(r.review_state.clone()));
    m.insert("aggregate_count".into(), Value::from(r.aggregate_count));
    m.insert("last_timestamp".into(), Value::from(r.last_alarm_time));
    m
}

#[utoipa::path(get, path = "/v2/{project_id}/vigil/alarms", operation_id = "ListAlarms", tag = "Vigil extensions",
    description = "Vigil extension (not part of VIAS): alarms stored for tasks whose output has `event_center` on, \
        newest first. Page with `marker` (the previous page's `next_marker`); `offset` still works.",
    params(("project_id" = String, Path), ListAlarmsParams),
    responses((status = 200, body = ListAlarmsResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    q: QueryParams,
) -> ApiResult<Json<ListAlarmsResponse>> {
    let p = ListAlarmsParams::parse(&q)?;
    let filter = AlarmFilter {
        task_id: p.task_id,
        video_source_id: p.video_source_id,
        event_type: p.event_type.and_then(|e| u64::try_from(e).ok()),
        start_time: p.start_time,
        end_time: p.end_time,
        review_state: p.review_state,
        marker: p.marker.as_deref().map(decode_marker).transpose()?,
        offset: p.offset.unwrap_or(0),
        limit: p.limit.unwrap_or(100),
    };
    let page = state.store.list_alarms(&caller.project_id, &filter).await?;
    let alarms: Vec<Map<String, Value>> = page.alarms.iter().map(|r| alarm_dto(&state, r)).collect();
    Ok(Json(ListAlarmsResponse {
        count: alarms.len() as i64,
        total: page.total,
        next_marker: page.next.as_ref().map(encode_marker),
        alarms,
    }))
}

#[utoipa::path(get, path = "/v2/{project_id}/vigil/alarms/{message_id}/image", operation_id = "ShowAlarmImage",
    tag = "Vigil extensions",
    description = "Vigil extension (not part of VIAS): the JPEG of an event-center alarm.",
    params(("project_id" = String, Path), ("message_id" = String, Path)),
    responses((status = 200, body = Vec<u8>, content_type = "image/jpeg"), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn image(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, message_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    if !valid_message_id(&message_id) {
        return Err(ApiError::invalid("message_id", "must be an upper-case UUID"));
    }
    let jpeg = match state.store.get_alarm_image(&caller.project_id, &message_id).await {
        Ok(Some(jpeg)) => jpeg,
        Ok(None) => return Err(ApiError::not_found("message_id", "a picture of this alarm")),
        Err(StoreError::NotFound(_)) => return Err(ApiError::not_found("message_id", "the alarm")),
        Err(e) => return Err(e.into()),
    };
    let mut resp = jpeg.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    Ok(resp)
}
