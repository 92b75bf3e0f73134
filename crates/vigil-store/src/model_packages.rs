//! Bring-your-own model packages (Algorithm Center, `alg_class: partner`): the manifest and the
//! model file (base64 TEXT, so every worker of either backend fetches it from the database),
//! per project. The API validates; this stores and reads.

use sqlx::any::AnyRow;

use crate::rows::{i, s};
use crate::{now_ms, Store, StoreError};

/// A package row without the model bytes (listing and lookups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub version: String,
    /// The validated manifest as JSON text.
    pub manifest: String,
    pub sha256: String,
    /// Model size in bytes.
    pub size: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewPackage {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub version: String,
    pub manifest: String,
    pub sha256: String,
    pub size: i64,
    pub model_base64: String,
}

const COLS: &str = "id, project_id, name, version, manifest, sha256, size, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<PackageRecord, StoreError> {
    Ok(PackageRecord {
        id: s(r, "id")?,
        project_id: s(r, "project_id")?,
        name: s(r, "name")?,
        version: s(r, "version")?,
        manifest: s(r, "manifest")?,
        sha256: s(r, "sha256")?,
        size: i(r, "size")?,
        created_at: i(r, "created_at")?,
        updated_at: i(r, "updated_at")?,
    })
}

impl Store {
    /// Inserts a package; `DuplicateName("model package")` when the project already has this
    /// name and version.
    pub async fn insert_package(&self, p: &NewPackage) -> Result<PackageRecord, StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO model_packages (id, project_id, name, version, manifest, sha256, size, model_base64, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(&p.id)
        .bind(&p.project_id)
        .bind(&p.name)
        .bind(&p.version)
        .bind(&p.manifest)
        .bind(&p.sha256)
        .bind(p.size)
        .bind(&p.model_base64)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            let e = StoreError::Db(e);
            if e.is_unique_violation() {
                StoreError::DuplicateName("model package")
            } else {
                e
            }
        })?;
        self.get_package(&p.project_id, &p.id).await
    }

    /// The project's packages, oldest first.
    pub async fn list_packages(&self, project_id: &str) -> Result<Vec<PackageRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM model_packages WHERE project_id = $1 ORDER BY created_at, id"
        ))
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn get_package(&self, project_id: &str, id: &str) -> Result<PackageRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM model_packages WHERE project_id = $1 AND id = $2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(from_row)
            .transpose()?
            .ok_or(StoreError::NotFound("model package"))
    }

    /// The model file of a package, base64.
    pub async fn package_model(&self, project_id: &str, id: &str) -> Result<String, StoreError> {
        let v: Option<String> =
            sqlx::query_scalar("SELECT model_base64 FROM model_packages WHERE project_id = $1 AND id = $2")
                .bind(project_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        v.ok_or(StoreError::NotFound("model package"))
    }

    pub async fn delete_package(&self, project_id: &str, id: &str) -> Result<(), StoreError> {
        let n = sqlx::query("DELETE FROM model_packages WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("model package"));
        }
        Ok(())
    }
}
