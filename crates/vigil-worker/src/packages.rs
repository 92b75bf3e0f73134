//! Bring-your-own model packages on the worker: before a task of a model-bound algorithm (or a
//! partner rule service) starts, its project's package is fetched from the database, the model
//! cached at `<data-dir>/packages/<sha256>.onnx` (checksum verified on every start), registered
//! in [`vigil_vision::PackageRegistry`] and turned into the analyzer's [`ModelBinding`].

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine;
use sha2::{Digest, Sha256};
use vigil_algorithms::{Catalog, DetectorModel, ModelBinding};
use vigil_core::catalog::model_roles;
use vigil_core::model_package::{Binding, PackageManifest};
use vigil_store::model_packages::PackageRecord;
use vigil_store::tasks::TaskRecord;
use vigil_store::Store;
use vigil_vision::packages::{PackageRegistry, RegisteredPackage};

static CACHE_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Where package models are cached (`<data-dir>/packages`); set once at startup.
pub fn set_cache_dir(dir: PathBuf) {
    let _ = CACHE_DIR.set(dir);
}

fn cache_dir() -> PathBuf {
    CACHE_DIR
        .get()
        .cloned()
        .unwrap_or_else(|| std::env::temp_dir().join("vigil-packages"))
}

/// What a task's service needs from the package store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageNeed {
    /// Runs on Vigil's shipped models.
    None,
    /// A model-bound catalogue algorithm (its id).
    Bound(&'static str),
    /// A partner rule service (the package name).
    Partner(String),
}

pub fn need_of(service_name: &str) -> PackageNeed {
    match Catalog::by_service_name(service_name) {
        Some((spec, _)) if model_roles::roles(spec.id).is_some() => PackageNeed::Bound(spec.id),
        Some(_) => PackageNeed::None,
        None => PackageNeed::Partner(service_name.to_string()),
    }
}

fn parse(rec: &PackageRecord) -> Option<PackageManifest> {
    serde_json::from_str(&rec.manifest).ok()
}

/// The package a task runs on: the newest of its project bound to the algorithm, or the rule
/// package named like the service.
async fn find(
    store: &Store,
    project: &str,
    need: &PackageNeed,
) -> Result<Option<(PackageRecord, PackageManifest)>, String> {
    let all = store.list_packages(project).await.map_err(|e| e.to_string())?;
    let mut hits: Vec<(PackageRecord, PackageManifest)> = all
        .into_iter()
        .filter_map(|r| parse(&r).map(|m| (r, m)))
        .filter(|(_, m)| match (&m.binding, need) {
            (Binding::Algorithm { algorithm, .. }, PackageNeed::Bound(id)) => algorithm == id,
            (Binding::Rule(_), PackageNeed::Partner(name)) => &m.name == name,
            _ => false,
        })
        .collect();
    hits.sort_by(|a, b| (a.0.created_at, &a.0.id).cmp(&(b.0.created_at, &b.0.id)));
    Ok(hits.pop())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The cached model file, written (atomically) from the database when missing or corrupt.
async fn cached_model(store: &Store, rec: &PackageRecord, dir: &Path) -> Result<PathBuf, String> {
    let path = dir.join(format!("{}.onnx", rec.sha256));
    if let Ok(bytes) = std::fs::read(&path) {
        if sha256_hex(&bytes) == rec.sha256 {
            return Ok(path);
        }
        tracing::warn!(path = %path.display(), "cached package model is corrupt; fetching it again");
    }
    let b64 = store
        .package_model(&rec.project_id, &rec.id)
        .await
        .map_err(|e| e.to_string())?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("stored model of package {} is not base64: {e}", rec.id))?;
    let actual = sha256_hex(&bytes);
    if actual != rec.sha256 {
        return Err(format!(
            "stored model of package {} has sha256 {actual}, expected {}",
            rec.id, rec.sha256
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".{}.{}.tmp", rec.sha256, std::process::id()));
    std::fs::write(&tmp, &bytes).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("renaming to {}: {e}", path.display()))?;
    Ok(path)
}

/// The binding of a package whose model is at `model_path` (registered in the process).
pub fn binding(manifest: PackageManifest, model_path: PathBuf) -> ModelBinding {
    let (class_roles, rule) = match &manifest.binding {
        Binding::Algorithm { class_map, .. } => (
            class_map
                .iter()
                .filter_map(|(class, role)| {
                    let id = manifest.classes.iter().position(|c| c == class)?;
                    Some((id as u32, role.clone()))
                })
                .collect(),
            None,
        ),
        Binding::Rule(r) => (Vec::new(), Some(r.clone())),
    };
    let package = format!("{}@{}", manifest.name, manifest.version);
    let class_names = manifest.classes.clone();
    let min_score = manifest.score_threshold;
    let key = PackageRegistry::global().insert(RegisteredPackage { manifest, model_path });
    ModelBinding {
        package,
        detector: DetectorModel::Package(key),
        class_roles,
        class_names,
        min_score,
        rule,
    }
}

/// Why a task's package is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageError {
    /// No package is bound: the message names the roles needed (shown to the tenant).
    Missing(String),
    /// The package could not be fetched or written (details for the log only).
    Load(String),
}

/// The model binding of a task (`Ok(None)` for algorithms on shipped models).
pub async fn binding_for_task(store: &Store, task: &TaskRecord) -> Result<Option<ModelBinding>, PackageError> {
    let need = need_of(&task.service_name);
    if need == PackageNeed::None {
        return Ok(None);
    }
    let Some((rec, manifest)) = find(store, &task.project_id, &need).await.map_err(PackageError::Load)? else {
        return Err(PackageError::Missing(match need {
            PackageNeed::Bound(id) => model_roles::missing_model_message(id),
            _ => format!(
                "no model package named {} in the project; see docs/algorithm-center.md",
                task.service_name
            ),
        }));
    };
    let path = cached_model(store, &rec, &cache_dir())
        .await
        .map_err(PackageError::Load)?;
    tracing::info!(task_id = %task.id, package = %rec.id, model = %path.display(), "model package ready");
    Ok(Some(binding(manifest, path)))
}
