use vigil_core::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    BadUrl(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("a {0} with this name already exists")]
    DuplicateName(&'static str),
    #[error("the quota of {limit} {what} is reached")]
    Quota { what: &'static str, limit: i64 },
    #[error("{0}")]
    InUse(String),
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    /// True when the database refused a row because of a UNIQUE constraint.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}
