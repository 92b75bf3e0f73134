//! Small helpers to read `Any` rows and JSON-in-TEXT columns.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::StoreError;

pub fn s(row: &AnyRow, col: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<String, _>(col)?)
}

pub fn opt_s(row: &AnyRow, col: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

pub fn i(row: &AnyRow, col: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<i64, _>(col)?)
}

pub fn string_list(row: &AnyRow, col: &str) -> Result<Vec<String>, StoreError> {
    let raw = s(row, col)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

pub fn to_json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}
