//! Small helpers to read rows (`Any` rows, and the native PostgreSQL rows of the list reads) and
//! JSON-in-TEXT columns.

use sqlx::any::AnyRow;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::StoreError;

/// A row whose columns can be read by name as text and integers.
pub trait ReadRow {
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
}

macro_rules! read_row {
    ($row:ty) => {
        impl ReadRow for $row {
            fn text(&self, col: &str) -> Result<String, sqlx::Error> {
                self.try_get(col)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(col)
            }
            fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
                self.try_get(col)
            }
        }
    };
}
read_row!(AnyRow);
read_row!(PgRow);

pub fn s(row: &impl ReadRow, col: &str) -> Result<String, StoreError> {
    Ok(row.text(col)?)
}

pub fn opt_s(row: &impl ReadRow, col: &str) -> Result<Option<String>, StoreError> {
    Ok(row.opt_text(col)?)
}

pub fn i(row: &impl ReadRow, col: &str) -> Result<i64, StoreError> {
    Ok(row.int(col)?)
}

pub fn string_list(row: &impl ReadRow, col: &str) -> Result<Vec<String>, StoreError> {
    let raw = s(row, col)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

pub fn to_json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}
