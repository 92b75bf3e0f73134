//! Bring-your-own model packages (Vigil routes of the Algorithm Center): upload, list, show,
//! delete. A package is a manifest plus an ONNX model; its checksum is verified here, its
//! manifest validated (`PackageManifest::parse`) and its binding checked against the catalogue.
//! `vigil models install DIR --project NAME` goes through [`install`] as well.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use vigil_core::catalog::Catalog;
use vigil_core::model_package::{Binding, PackageManifest};
use vigil_core::ErrorCode;
use vigil_store::model_packages::{NewPackage, PackageRecord};
use vigil_store::{Store, StoreError};

use crate::algorithm_center::{is_builtin_service_name, model_roles, Package};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::json_body::JsonBody;
use crate::AppState;

/// Largest upload body (the route's own limit; the model travels base64 inside JSON).
pub const UPLOAD_BODY_LIMIT: usize = 128 * 1024 * 1024;
/// Largest model file (its base64 fits the body limit).
pub const MAX_MODEL_BYTES: usize = 96 * 1024 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
pub struct UploadPackageReq {
    /// The package manifest (docs/algorithm-center.md).
    #[schema(value_type = Object)]
    pub manifest: Value,
    /// The ONNX model file, standard base64.
    pub model: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadPackageResponse {
    pub package_id: String,
    /// The algorithm's `alg_id` (the built-in's for a bound package, the package id for a rule).
    pub alg_id: String,
    /// The service tasks are created under.
    pub service_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PackageDto {
    pub package_id: String,
    pub name: String,
    pub version: String,
    pub licence: String,
    pub company: String,
    pub sha256: String,
    /// Model size in bytes.
    pub size: i64,
    pub alg_id: String,
    pub service_name: String,
    /// `algorithm` (bound to a built-in) or `rule` (a partner service of its own).
    pub binding_type: String,
    pub created_at: i64,
    #[schema(value_type = Object)]
    pub manifest: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListPackagesResponse {
    pub count: i64,
    pub packages: Vec<PackageDto>,
}

/// `(alg_id, service_name)` of a package.
fn target(p: &Package) -> (String, String) {
    match p.bound_algorithm().and_then(Catalog::by_id) {
        Some(spec) => (
            spec.alg_id(),
            spec.cloud_service_name
                .or(spec.edge_service_name)
                .unwrap_or(spec.id)
                .to_string(),
        ),
        None => (p.record.id.clone(), p.manifest.name.clone()),
    }
}

fn dto(p: &Package) -> PackageDto {
    let (alg_id, service_name) = target(p);
    PackageDto {
        package_id: p.record.id.clone(),
        name: p.manifest.name.clone(),
        version: p.manifest.version.clone(),
        licence: p.manifest.licence.clone(),
        company: p.manifest.company.clone(),
        sha256: p.record.sha256.clone(),
        size: p.record.size,
        alg_id,
        service_name,
        binding_type: if p.is_rule() { "rule" } else { "algorithm" }.into(),
        created_at: p.record.created_at,
        manifest: serde_json::from_str(&p.record.manifest).unwrap_or(Value::Null),
    }
}

/// Checks a package's binding against the catalogue.
fn check_binding(m: &PackageManifest) -> ApiResult<()> {
    match &m.binding {
        Binding::Algorithm { algorithm, class_map } => {
            let roles = Catalog::by_id(algorithm).and_then(model_roles).ok_or_else(|| {
                ApiError::invalid(
                    "manifest.binding.algorithm",
                    format!("{algorithm:?} is not one of the algorithms that need a bring-your-own model"),
                )
            })?;
            if class_map.is_empty() {
                return Err(ApiError::invalid(
                    "manifest.binding.class_map",
                    "map at least one model class to a role",
                ));
            }
            for (class, role) in class_map {
                if !m.classes.iter().any(|c| c == class) {
                    return Err(ApiError::invalid(
                        format!("manifest.binding.class_map.{class}"),
                        "not a class of the model (manifest.classes)",
                    ));
                }
                if !roles.contains(&role.as_str()) {
                    return Err(ApiError::invalid(
                        format!("manifest.binding.class_map.{class}"),
                        format!("{role:?} is not a role of {algorithm}; roles: {}", roles.join(", ")),
                    ));
                }
            }
            Ok(())
        }
        Binding::Rule(_) if is_builtin_service_name(&m.name) => Err(ApiError::param(
            ErrorCode::ObjectExists,
            "manifest.name",
            "a built-in service has this name",
        )),
        Binding::Rule(_) => Ok(()),
    }
}

/// Validates and stores a package of `project`: the manifest, the model's SHA-256, the binding,
/// the name (rule packages are services: one version per name).
pub async fn install(store: &Store, project: &str, manifest: &Value, model: &[u8]) -> ApiResult<UploadPackageResponse> {
    let m = PackageManifest::parse(manifest)?;
    if model.is_empty() || model.len() > MAX_MODEL_BYTES {
        return Err(ApiError::invalid(
            "model",
            format!("the model must be 1 byte to {} MiB", MAX_MODEL_BYTES >> 20),
        ));
    }
    let sha = hex::encode(Sha256::digest(model));
    if sha != m.sha256 {
        return Err(ApiError::invalid(
            "model",
            format!("the model's SHA-256 is {sha}, the manifest says {}", m.sha256),
        ));
    }
    check_binding(&m)?;
    let existing: Vec<Package> = store
        .list_packages(project)
        .await?
        .into_iter()
        .filter_map(Package::from_record)
        .collect();
    if existing
        .iter()
        .any(|p| p.manifest.name == m.name && (p.manifest.version == m.version || p.is_rule()))
    {
        return Err(ApiError::param(
            ErrorCode::ObjectExists,
            "manifest.name",
            "the project has a package of this name (and version); delete it first",
        ));
    }
    let canonical = serde_json::to_string(&m).map_err(ApiError::internal)?;
    let new = NewPackage {
        id: uuid::Uuid::new_v4().to_string(),
        project_id: project.to_string(),
        name: m.name.clone(),
        version: m.version.clone(),
        manifest: canonical,
        sha256: sha,
        size: model.len() as i64,
        model_base64: base64::engine::general_purpose::STANDARD.encode(model),
    };
    let rec = store.insert_package(&new).await.map_err(|e| match e {
        StoreError::DuplicateName(_) => ApiError::param(
            ErrorCode::ObjectExists,
            "manifest.name",
            "the project has a package of this name and version",
        ),
        other => other.into(),
    })?;
    let p = Package {
        record: rec,
        manifest: m,
    };
    let (alg_id, service_name) = target(&p);
    tracing::info!(project, package_id = %p.record.id, name = %p.manifest.name, version = %p.manifest.version, "model package installed");
    Ok(UploadPackageResponse {
        package_id: p.record.id,
        alg_id,
        service_name,
    })
}

#[utoipa::path(post, path = "/v2/{project_id}/algorithm/packages", operation_id = "UploadModelPackage", tag = "Vigil extensions",
    params(("project_id" = String, Path)), request_body = UploadPackageReq,
    responses((status = 200, body = UploadPackageResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<UploadPackageReq>,
) -> ApiResult<Json<UploadPackageResponse>> {
    let model = base64::engine::general_purpose::STANDARD
        .decode(body.model.trim())
        .map_err(|_| ApiError::invalid("model", "must be the model file in standard base64"))?;
    Ok(Json(
        install(&state.store, &caller.project_id, &body.manifest, &model).await?,
    ))
}

#[utoipa::path(get, path = "/v2/{project_id}/algorithm/packages", operation_id = "ListModelPackages", tag = "Vigil extensions",
    params(("project_id" = String, Path)),
    responses((status = 200, body = ListPackagesResponse)), security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<ListPackagesResponse>> {
    let packages: Vec<PackageDto> = crate::algorithm_center::project_packages(&state, &caller.project_id)
        .await?
        .iter()
        .map(dto)
        .collect();
    Ok(Json(ListPackagesResponse {
        count: packages.len() as i64,
        packages,
    }))
}

fn check_package_id(id: &str) -> ApiResult<()> {
    if id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        Ok(())
    } else {
        Err(ApiError::invalid("package_id", "must be a UUID"))
    }
}

async fn get(state: &AppState, project: &str, id: &str) -> ApiResult<Package> {
    check_package_id(id)?;
    let rec: PackageRecord = state.store.get_package(project, id).await.map_err(|e| match e {
        StoreError::NotFound(_) => ApiError::not_found("package_id", "the model package"),
        other => other.into(),
    })?;
    Package::from_record(rec)
        .ok_or_else(|| ApiError::internal(format!("stored manifest of package {id} is unreadable")))
}

#[utoipa::path(get, path = "/v2/{project_id}/algorithm/packages/{package_id}", operation_id = "ShowModelPackage", tag = "Vigil extensions",
    params(("project_id" = String, Path), ("package_id" = String, Path)),
    responses((status = 200, body = PackageDto), (status = 400, body = ViasErrorBody)), security(("token" = []), ("aksk" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<PackageDto>> {
    Ok(Json(dto(&get(&state, &caller.project_id, &id).await?)))
}

/// Deleting a package some task of the project runs (or waits to run) on is refused.
#[utoipa::path(delete, path = "/v2/{project_id}/algorithm/packages/{package_id}", operation_id = "DeleteModelPackage", tag = "Vigil extensions",
    params(("project_id" = String, Path), ("package_id" = String, Path)),
    responses((status = 200, description = "{\"package_id\": …}"), (status = 400, body = ViasErrorBody), (status = 500, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let project = &caller.project_id;
    let p = get(&state, project, &id).await?;
    let names: Vec<String> = match p.bound_algorithm().and_then(Catalog::by_id) {
        Some(spec) => [spec.edge_service_name, spec.cloud_service_name]
            .into_iter()
            .flatten()
            .map(str::to_string)
            .collect(),
        None => vec![p.manifest.name.clone()],
    };
    let busy = state
        .store
        .any_task_in_states(
            project,
            &names,
            &["PENDING", "STARTING", "RUNNING", "ABNORMAL", "RECOVERING", "STOPPING"],
        )
        .await?;
    if busy {
        return Err(ApiError::param(
            ErrorCode::OperationNotAllowed,
            "package_id",
            "tasks of the package's service are running or waiting to run; stop them first",
        ));
    }
    state.store.delete_package(project, &id).await?;
    tracing::info!(project, package_id = %id, "model package deleted");
    Ok(Json(serde_json::json!({"package_id": id})))
}
