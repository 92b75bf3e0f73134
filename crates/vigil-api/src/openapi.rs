//! `GET /openapi.json`: the OpenAPI 3 description generated from the handlers and DTOs.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{
    alarm_stream, alarms, algorithm_center, batch_tasks, edge_pools, error, health, iam_tokens, legacy_tasks,
    model_packages, nodes, source_snapshot, tasks, video_groups, video_sources,
};

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Auth-Token"))),
        );
        components.add_security_scheme(
            "aksk",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=… with X-Sdk-Date (Huawei Cloud SDK signing)",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Vigil", description = "Huawei Cloud VIAS v2 compatible video analysis API"),
    paths(
        health::health,
        iam_tokens::issue, iam_tokens::validate, iam_tokens::revoke, iam_tokens::revoke_mine, iam_tokens::change_password,
        video_sources::create, video_sources::update, video_sources::delete, video_sources::show, video_sources::list,
        video_groups::create, video_groups::update, video_groups::delete, video_groups::show, video_groups::list,
        tasks::create, tasks::list, tasks::show, tasks::update, tasks::delete, tasks::action,
        tasks::create_v1, tasks::list_v1, tasks::show_v1, tasks::update_v1, tasks::delete_v1, tasks::action_v1,
        legacy_tasks::list, legacy_tasks::show, legacy_tasks::update, legacy_tasks::delete, legacy_tasks::start, legacy_tasks::stop,
        batch_tasks::create, batch_tasks::list, batch_tasks::update, batch_tasks::delete, batch_tasks::action,
        alarms::list, alarms::image, alarm_stream::stream, source_snapshot::show,
        algorithm_center::list, algorithm_center::show, algorithm_center::deploy, algorithm_center::stop,
        model_packages::upload, model_packages::list, model_packages::show, model_packages::delete,
        edge_pools::create, edge_pools::list, edge_pools::show, edge_pools::delete,
        nodes::list, crate::task_stats::list,
        crate::event_center::show_rules, crate::event_center::update_rules, crate::event_center::review,
        crate::event_center::delete_one, crate::event_center::batch_delete,
        crate::event_subscriptions::create, crate::event_subscriptions::list, crate::event_subscriptions::show,
        crate::event_subscriptions::update, crate::event_subscriptions::delete, crate::event_subscriptions::websocket,
    ),
    components(schemas(error::ViasErrorBody, error::GatewayErrorBody)),
    modifiers(&Security),
    tags((name = "Video Center"), (name = "Task Center"), (name = "Algorithm Center"), (name = "Operation Center"), (name = "Legacy VAS jobs"), (name = "IAM"), (name = "Operations"), (name = "Vigil extensions"))
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
