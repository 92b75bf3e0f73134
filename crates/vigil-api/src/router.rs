//! All routes, and the layers every request passes: request id → body limit → auth (VIAS routes).

use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{delete, get, post, put};

use axum::{Json, Router};

use crate::request_id::RequestId;
use crate::{
    alarm_stream, alarms, algorithm_center, auth, batch_tasks, console, edge_pools, health, iam_tokens, legacy_tasks,
    model_packages, nodes, openapi, request_id, source_snapshot, tasks, video_groups, video_sources, AppState,
};

/// `IVA.0101` for anything that is not a route, or not a method of a route.
async fn unknown(req: Request) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.uuid.simple().to_string())
        .unwrap_or_default();
    crate::error::unknown_route(&id)
}

pub fn router(state: AppState) -> Router {
    let vias = Router::new()
        .route("/v2/{project_id}/source", post(video_sources::create))
        .route("/v2/{project_id}/source/sources", get(video_sources::list))
        .route(
            "/v2/{project_id}/source/sources/{video_source_id}",
            get(video_sources::show),
        )
        .route(
            "/v2/{project_id}/source/{video_source_id}",
            put(video_sources::update).delete(video_sources::delete),
        )
        .route("/v2/{project_id}/video-group", post(video_groups::create))
        .route("/v2/{project_id}/video-group/groups", get(video_groups::list))
        .route(
            "/v2/{project_id}/video-group/{video_group_id}",
            get(video_groups::show)
                .put(video_groups::update)
                .delete(video_groups::delete),
        )
        // Task Center: the platform routes, their intl `/v1/{project_id}/infer` aliases and the
        // legacy service-scoped VAS routes (whose create URL is the platform's).
        .route(
            "/v2/{project_id}/services/{service_name}/tasks",
            post(tasks::create).get(legacy_tasks::list),
        )
        .route(
            "/v2/{project_id}/services/{service_name}/tasks/{task_id}",
            get(legacy_tasks::show)
                .put(legacy_tasks::update)
                .delete(legacy_tasks::delete),
        )
        .route(
            "/v2/{project_id}/services/{service_name}/tasks/{task_id}/start",
            post(legacy_tasks::start),
        )
        .route(
            "/v2/{project_id}/services/{service_name}/tasks/{task_id}/stop",
            post(legacy_tasks::stop),
        )
        .route("/v2/{project_id}/tasks", get(tasks::list))
        .route(
            "/v2/{project_id}/tasks/{task_id}",
            get(tasks::show).put(tasks::update).delete(tasks::delete),
        )
        .route("/v2/{project_id}/tasks/{task_id}/action/{command}", put(tasks::action))
        .route(
            "/v1/{project_id}/infer/services/{service_name}/tasks",
            post(tasks::create_v1),
        )
        .route("/v1/{project_id}/infer/tasks", get(tasks::list_v1))
        .route(
            "/v1/{project_id}/infer/tasks/{task_id}",
            get(tasks::show_v1).put(tasks::update_v1).delete(tasks::delete_v1),
        )
        .route(
            "/v1/{project_id}/infer/tasks/{task_id}/action/{command}",
            put(tasks::action_v1),
        )
        .route(
            "/v2/{project_id}/batch-tasks",
            post(batch_tasks::create).get(batch_tasks::list),
        )
        .route(
            "/v2/{project_id}/batch-tasks/{id}",
            put(batch_tasks::update).delete(batch_tasks::delete),
        )
        .route(
            "/v2/{project_id}/batch-tasks/{id}/action/{command}",
            put(batch_tasks::action),
        )
        // Algorithm Center (spec §4.2–4.5) and Vigil's model package routes.
        .route("/v2/{project_id}/algorithm/services/user", get(algorithm_center::list))
        .route(
            "/v2/{project_id}/algorithm/services/{service_id}",
            get(algorithm_center::show),
        )
        .route(
            "/v2/{project_id}/algorithm/{alg_id}/deploy",
            post(algorithm_center::deploy),
        )
        .route(
            "/v2/{project_id}/algorithm/{alg_id}/deploy/stop",
            put(algorithm_center::stop),
        )
        .route(
            "/v2/{project_id}/algorithm/packages",
            post(model_packages::upload)
                .layer(DefaultBodyLimit::max(model_packages::UPLOAD_BODY_LIMIT))
                .get(model_packages::list),
        )
        .route(
            "/v2/{project_id}/algorithm/packages/{package_id}",
            get(model_packages::show).delete(model_packages::delete),
        )
        // Operation Center (spec §4.6).
        .route(
            "/v2/{project_id}/edge-pools",
            post(edge_pools::create).get(edge_pools::list),
        )
        .route(
            "/v2/{project_id}/edge-pools/{id}",
            get(edge_pools::show).delete(edge_pools::delete),
        )
        .route("/v2/{project_id}/vigil/alarms", get(alarms::list))
        .route("/v2/{project_id}/vigil/alarms/stream", get(alarm_stream::stream))
        .route(
            "/v2/{project_id}/vigil/sources/{video_source_id}/snapshot",
            get(source_snapshot::show),
        )
        .route("/v2/{project_id}/vigil/nodes", get(nodes::list))
        .route("/v2/{project_id}/vigil/task-stats", get(crate::task_stats::list))
        .route("/v2/{project_id}/vigil/alarms/{message_id}/image", get(alarms::image))
        .merge(crate::event_center::routes())
        .merge(crate::event_subscriptions::routes())
        .route_layer(from_fn_with_state(state.clone(), auth::require));

    let body_limit = state.config.body_limit;
    Router::new()
        .route("/health", get(health::health))
        // Prometheus scrape: outside the IAM auth (optional bearer token of its own).
        .route("/metrics", get(crate::metrics::scrape))
        .route("/openapi.json", get(|| async { Json(openapi::document()) }))
        .route("/console", get(console::redirect))
        .route("/console/", get(console::index))
        .route("/console/{*path}", get(console::asset))
        .route(
            "/v3/auth/tokens",
            post(iam_tokens::issue)
                .get(iam_tokens::validate)
                .delete(iam_tokens::revoke),
        )
        .route("/v3/auth/tokens/mine", delete(iam_tokens::revoke_mine))
        .route("/v3/users/{user_id}/password", post(iam_tokens::change_password))
        .merge(vias)
        // Labels request latency with the matched route template (layer below).
        .route_layer(axum::middleware::from_fn(crate::metrics::mark_route))
        .fallback(unknown)
        .method_not_allowed_fallback(unknown)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(state.clone(), request_id::layer))
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .with_state(state)
}
