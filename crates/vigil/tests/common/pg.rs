//! A fresh database on the test PostgreSQL server (`$VIGIL_TEST_POSTGRES_URL`, default the CI's
//! `postgres://postgres@127.0.0.1:5432/test`), dropped again when the value is dropped.

/// The server every PostgreSQL test uses.
pub fn postgres_base() -> String {
    std::env::var("VIGIL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl PgDatabase {
    /// Creates `vigil_<tag>_<pid>` (replacing a leftover of an earlier run).
    pub fn create(tag: &str) -> Self {
        let name = format!("vigil_{tag}_{}", std::process::id());
        let base = postgres_base();
        exec_on_base(&[
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ])
        .expect("the test PostgreSQL server (scripts/test.sh starts one)");
        let (prefix, _) = base.rsplit_once('/').expect("database URL ends with /NAME");
        PgDatabase {
            url: format!("{prefix}/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = exec_on_base(&[format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)]);
    }
}

fn exec_on_base(statements: &[String]) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let admin = vigil_store::Store::connect(&postgres_base())
            .await
            .map_err(|e| e.to_string())?;
        let mut result = Ok(());
        for sql in statements {
            if let Err(e) = admin.execute_raw(sql).await {
                // DROP … IF EXISTS never fails for a missing database; report CREATE failures.
                if sql.starts_with("CREATE") {
                    result = Err(e.to_string());
                }
            }
        }
        admin.close().await;
        result
    })
}
