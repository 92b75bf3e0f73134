//! Vigil extension, outside the VIAS surface: the event center's rules, review and deletes (spec §4.7).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use vigil_core::FieldError;
use vigil_store::alarms::{AlarmFilter, REVIEW_STATES};
use vigil_store::event_center::{AlarmSelection, EventRules, EventRulesPatch};
use vigil_store::StoreError;

use crate::alarms::{check_id, valid_message_id};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::json_body::{parse_json, JsonBody};
use crate::AppState;

/// This area's routes (authenticated like every VIAS route).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/{project_id}/vigil/event-center/rules",
            get(show_rules).put(update_rules),
        )
        .route("/v2/{project_id}/vigil/alarms/review", post(review))
        .route("/v2/{project_id}/vigil/alarms/batch-delete", post(batch_delete))
        .route("/v2/{project_id}/vigil/alarms/{message_id}", delete(delete_one))
}

/// Most alarms one review names.
const REVIEW_MAX: usize = 100;
/// Most alarms one batch delete names by id.
const DELETE_IDS_MAX: usize = 1000;
/// Upper bound of accepted epoch seconds (year 9999).
const MAX_EPOCH_S: i64 = 253_402_300_799;

/// The event rules of a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventRulesDto {
    /// New alarms wait as `pending` and reach subscribers only once approved.
    pub manual_review: bool,
    /// Repeated alarms of one target (track, else region, else stream) of a task fold into one.
    pub aggregation: bool,
    /// 1–86400: repeats within this many seconds after a row's first alarm fold into it.
    pub aggregation_window_s: i64,
    /// 0–3650 days alarms are kept; 0 is the server's `--alarm-retention-days`.
    pub retention_days: i64,
}

impl From<EventRules> for EventRulesDto {
    fn from(r: EventRules) -> Self {
        Self {
            manual_review: r.manual_review,
            aggregation: r.aggregation,
            aggregation_window_s: r.aggregation_window_s,
            retention_days: r.retention_days,
        }
    }
}

/// Partial update of the event rules: fields left out keep their value.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateEventRulesDto {
    pub manual_review: Option<bool>,
    pub aggregation: Option<bool>,
    /// 1–86400 seconds.
    pub aggregation_window_s: Option<i64>,
    /// 0–3650 days (0: the server default).
    pub retention_days: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewAlarmsDto {
    /// 1–100 alarm ids (upper-case UUIDs), each once.
    pub message_ids: Vec<String>,
    /// `approve` (the alarms go to the subscribers) | `reject`.
    pub decision: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewAlarmsResponse {
    /// Alarms approved or rejected by this call.
    pub reviewed: usize,
    /// Ids left alone: unknown in this project, or not pending (already reviewed, or never
    /// waiting for review).
    pub skipped: Vec<String>,
}

/// Either `message_ids`, or at least one filter (all given filters must match).
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchDeleteAlarmsDto {
    /// 1–1000 alarm ids.
    pub message_ids: Option<Vec<String>>,
    pub task_id: Option<String>,
    pub video_source_id: Option<String>,
    pub event_type: Option<i64>,
    /// Epoch seconds, inclusive (alarm time).
    pub start_time: Option<i64>,
    /// Epoch seconds, inclusive (alarm time).
    pub end_time: Option<i64>,
    /// `none` | `pending` | `approved` | `rejected`.
    pub review_state: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDeleteAlarmsResponse {
    pub deleted: u64,
}

/// Parses a JSON object whose every key is one of `fields`, naming the first stranger (a typo
/// in a partial update must not pass as "nothing to change").
fn parse_known<T: DeserializeOwned>(body: Map<String, Value>, fields: &[&str]) -> Result<T, ApiError> {
    if let Some(k) = body.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            k.clone(),
            format!("unknown field; expected one of {}", fields.join(", ")),
        ));
    }
    let bytes = serde_json::to_vec(&body).map_err(ApiError::internal)?;
    parse_json(&bytes)
}

fn check_message_ids(field: &str, ids: &[String], max: usize) -> Result<(), FieldError> {
    if ids.is_empty() || ids.len() > max {
        return Err(FieldError::invalid(field, format!("must list 1 to {max} alarm ids")));
    }
    let mut seen = std::collections::HashSet::new();
    for (k, id) in ids.iter().enumerate() {
        if !valid_message_id(id) {
            return Err(FieldError::invalid(
                format!("{field}[{k}]"),
                "must be an upper-case UUID",
            ));
        }
        if !seen.insert(id.as_str()) {
            return Err(FieldError::invalid(format!("{field}[{k}]"), "listed twice"));
        }
    }
    Ok(())
}

#[utoipa::path(get, path = "/v2/{project_id}/vigil/event-center/rules", operation_id = "ShowEventRules",
    tag = "Vigil extensions",
    description = "Vigil extension (not part of VIAS): the project's event rules (manual review, duplicate aggregation, retention).",
    params(("project_id" = String, Path)),
    responses((status = 200, body = EventRulesDto), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn show_rules(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<EventRulesDto>> {
    Ok(Json(state.store.event_rules(&caller.project_id).await?.into()))
}

#[utoipa::path(put, path = "/v2/{project_id}/vigil/event-center/rules", operation_id = "UpdateEventRules",
    tag = "Vigil extensions",
    description = "Vigil extension (not part of VIAS): changes the given event rules; returns all of them. \
        Applies to alarms recorded from now on.",
    params(("project_id" = String, Path)), request_body = UpdateEventRulesDto,
    responses((status = 200, body = EventRulesDto), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn update_rules(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> ApiResult<Json<EventRulesDto>> {
    let dto: UpdateEventRulesDto = parse_known(
        body,
        &["manual_review", "aggregation", "aggregation_window_s", "retention_days"],
    )?;
    let patch = EventRulesPatch {
        manual_review: dto.manual_review,
        aggregation: dto.aggregation,
        aggregation_window_s: dto.aggregation_window_s,
        retention_days: dto.retention_days,
    };
    patch.validate()?;
    let rules = state.store.update_event_rules(&caller.project_id, &patch).await?;
    tracing::info!(project = %caller.project_id, user = %caller.user_name, ?rules, "event rules changed");
    Ok(Json(rules.into()))
}

#[utoipa::path(post, path = "/v2/{project_id}/vigil/alarms/review", operation_id = "ReviewAlarms",
    tag = "Vigil extensions",
    description = "Vigil extension (not part of VIAS): approves or rejects alarms waiting for manual review. \
        Approved alarms are pushed to the project's subscribers.",
    params(("project_id" = String, Path)), request_body = ReviewAlarmsDto,
    responses((status = 200, body = ReviewAlarmsResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn review(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> ApiResult<Json<ReviewAlarmsResponse>> {
    let dto: ReviewAlarmsDto = parse_known(body, &["message_ids", "decision"])?;
    check_message_ids("message_ids", &dto.message_ids, REVIEW_MAX)?;
    let approve = match dto.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ApiError::invalid("decision", "must be approve or reject")),
    };
    let out = state
        .store
        .review_alarms(&caller.project_id, &dto.message_ids, approve)
        .await?;
    Ok(Json(ReviewAlarmsResponse {
        reviewed: out.reviewed,
        skipped: out.skipped,
    }))
}

#[utoipa::path(delete, path = "/v2/{project_id}/vigil/alarms/{message_id}", operation_id = "DeleteAlarm",
    tag = "Vigil extensions",
    description = "Vigil extension (not part of VIAS): deletes an event-center alarm, its picture and its \
        undelivered subscriber pushes.",
    params(("project_id" = String, Path), ("message_id" = String, Path)),
    responses((status = 204), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn delete_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, message_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if !valid_message_id(&message_id) {
        return Err(ApiError::invalid("message_id", "must be an upper-case UUID"));
    }
    match state.store.delete_alarm(&caller.project_id, &message_id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound(_)) => Err(ApiError::not_found("message_id", "the alarm")),
        Err(e) => Err(e.into()),
    }
}

impl BatchDeleteAlarmsDto {
    fn selection(self) -> Result<AlarmSelection, FieldError> {
        let has_filter = self.task_id.is_some()
            || self.video_source_id.is_some()
            || self.event_type.is_some()
            || self.start_time.is_some()
            || self.end_time.is_some()
            || self.review_state.is_some();
        if let Some(ids) = self.message_ids {
            if has_filter {
                return Err(FieldError::invalid(
                    "message_ids",
                    "give either message_ids or filters, not both",
                ));
            }
            check_message_ids("message_ids", &ids, DELETE_IDS_MAX)?;
            return Ok(AlarmSelection::Ids(ids));
        }
        if !has_filter {
            return Err(FieldError::invalid(
                "message_ids",
                "give message_ids, or at least one of task_id, video_source_id, event_type, start_time, \
                 end_time, review_state",
            ));
        }
        let in_range = |field: &str, v: Option<i64>, max: i64| match v {
            Some(n) if !(0..=max).contains(&n) => Err(FieldError::invalid(
                field,
                format!("must be an integer from 0 to {max}"),
            )),
            v => Ok(v),
        };
        let event_type = in_range("event_type", self.event_type, i64::from(u32::MAX))?;
        let start_time = in_range("start_time", self.start_time, MAX_EPOCH_S)?;
        let end_time = in_range("end_time", self.end_time, MAX_EPOCH_S)?;
        if let (Some(s), Some(e)) = (start_time, end_time) {
            if e < s {
                return Err(FieldError::invalid("end_time", "must not be before start_time"));
            }
        }
        if let Some(r) = &self.review_state {
            if !REVIEW_STATES.contains(&r.as_str()) {
                return Err(FieldError::invalid(
                    "review_state",
                    format!("must be one of {}", REVIEW_STATES.join(", ")),
                ));
            }
        }
        Ok(AlarmSelection::Matching(AlarmFilter {
            task_id: check_id("task_id", self.task_id)?,
            video_source_id: check_id("video_source_id", self.video_source_id)?,
            event_type: event_type.and_then(|e| u64::try_from(e).ok()),
            start_time,
            end_time,
            review_state: self.review_state,
            ..Default::default()
        }))
    }
}

#[utoipa::path(post, path = "/v2/{project_id}/vigil/alarms/batch-delete", operation_id = "BatchDeleteAlarms",
    tag = "Vigil extensions",
    description = "Vigil extension (not part of VIAS): deletes event-center alarms by id, or every alarm \
        matching the filters, with their pictures and undelivered subscriber pushes.",
    params(("project_id" = String, Path)), request_body = BatchDeleteAlarmsDto,
    responses((status = 200, body = BatchDeleteAlarmsResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn batch_delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> ApiResult<Json<BatchDeleteAlarmsResponse>> {
    let dto: BatchDeleteAlarmsDto = parse_known(
        body,
        &[
            "message_ids",
            "task_id",
            "video_source_id",
            "event_type",
            "start_time",
            "end_time",
            "review_state",
        ],
    )?;
    let sel = dto.selection()?;
    let deleted = state.store.delete_alarms(&caller.project_id, &sel).await?;
    tracing::info!(project = %caller.project_id, user = %caller.user_name, deleted, "alarms deleted");
    Ok(Json(BatchDeleteAlarmsResponse { deleted }))
}
