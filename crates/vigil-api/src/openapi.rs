//! `GET /openapi.json`: the OpenAPI 3 description generated from the handlers and DTOs.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{alarms, error, health, iam_tokens, video_groups, video_sources};

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
        iam_tokens::issue, iam_tokens::validate, iam_tokens::revoke,
        video_sources::create, video_sources::update, video_sources::delete, video_sources::show, video_sources::list,
        video_groups::create, video_groups::update, video_groups::delete, video_groups::show, video_groups::list,
        alarms::list, alarms::image,
    ),
    components(schemas(error::ViasErrorBody, error::GatewayErrorBody)),
    modifiers(&Security),
    tags((name = "Video Center"), (name = "IAM"), (name = "Operations"), (name = "Vigil extensions"))
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
