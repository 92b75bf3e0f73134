//! Test harness: a real Vigil API server on a random loopback port, over SQLite (temp dir) or a
//! fresh database on the PostgreSQL server named by `VIGIL_TEST_POSTGRES_URL`.

#![allow(dead_code)]

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Executor;
use vigil_api::{aksk, ApiConfig, AppState};
use vigil_core::secret_box::SecretBox;
use vigil_store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `mod NAME { sqlite(), postgres() }` running `NAME(Backend)` on each backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name($crate::common::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name($crate::common::Backend::Postgres).await }
        }
    )*};
}

pub fn postgres_base_url() -> String {
    std::env::var("VIGIL_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Credentials of one project's user.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub project_id: String,
    pub user: String,
    pub password: String,
    pub token: String,
    pub ak: String,
    pub sk: String,
}

pub struct TestServer {
    pub base: String,
    pub store: Store,
    pub secrets: SecretBox,
    pub a: Tenant,
    pub b: Tenant,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
    pg_db: Option<String>,
}

async fn fresh_postgres() -> (String, String) {
    let base = postgres_base_url();
    let name = format!("vigil_t_{}", uuid::Uuid::new_v4().simple());
    let admin = Store::connect(&base)
        .await
        .expect("connect to the test PostgreSQL server (VIGIL_TEST_POSTGRES_URL)");
    admin
        .pool()
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    admin.close().await;
    let (prefix, _) = base.rsplit_once('/').expect("postgres URL with a database");
    (format!("{prefix}/{name}"), name)
}

async fn tenant(store: &Store, secrets: &SecretBox, base: &str, name: &str) -> Tenant {
    let project_id = vigil_core::ids::new_hex32_id();
    store
        .create_project(&project_id, &format!("proj-{name}"))
        .await
        .unwrap();
    let user_id = vigil_core::ids::new_hex32_id();
    let password = format!("pw-{name}-secret");
    store
        .create_user(
            &user_id,
            &format!("user-{name}"),
            &vigil_core::password::hash(&password),
        )
        .await
        .unwrap();
    store.grant_project(&user_id, &project_id).await.unwrap();
    let ak = format!("AK{}", name.to_uppercase())
        .chars()
        .chain("0".repeat(20).chars())
        .take(20)
        .collect::<String>();
    let sk = format!("sk-{name}-{}", uuid::Uuid::new_v4().simple());
    store
        .insert_access_key(&ak, &user_id, &project_id, &secrets.seal(&sk))
        .await
        .unwrap();
    let mut t = Tenant {
        project_id,
        user: format!("user-{name}"),
        password,
        token: String::new(),
        ak,
        sk,
    };
    t.token = issue_token(&reqwest::Client::new(), base, &t).await;
    t
}

pub async fn issue_token(http: &reqwest::Client, base: &str, t: &Tenant) -> String {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": t.user, "password": t.password, "domain": {"name": "any"}}}},
        "scope": {"project": {"id": t.project_id}}}});
    let resp = http
        .post(format!("{base}/v3/auth/tokens"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    resp.headers()["x-subject-token"].to_str().unwrap().to_string()
}

impl TestServer {
    /// The served OpenAPI document.
    pub async fn openapi(&self) -> Value {
        self.http
            .get(format!("{}/openapi.json", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, ApiConfig::default()).await
    }

    pub async fn start_with(backend: Backend, config: ApiConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg_db) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.path().join("vigil.db").display()), None),
            Backend::Postgres => {
                let (url, name) = fresh_postgres().await;
                (url, Some(name))
            }
        };
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let secrets = SecretBox::from_hex(&SecretBox::generate_hex_key()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = vigil_api::router(AppState::new(store.clone(), secrets.clone(), config));
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        let a = tenant(&store, &secrets, &base, "a").await;
        let b = tenant(&store, &secrets, &base, "b").await;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            base,
            store,
            secrets,
            a,
            b,
            http,
            server,
            _dir: dir,
            pg_db,
        }
    }

    /// A request as tenant `a` with its token.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(&self.a, method, path, body).await
    }

    pub async fn call_as(&self, t: &Tenant, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let path = path.replace("{p}", &t.project_id);
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Auth-Token", &t.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// An AK/SK-signed request, signed like the Huawei SDKs sign.
    pub fn signed(
        &self,
        t: &Tenant,
        method: &str,
        path_and_query: &str,
        body: &str,
        date: &str,
    ) -> reqwest::RequestBuilder {
        let host = self.base.trim_start_matches("http://").to_string();
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("host".to_string(), host.clone()),
            ("x-project-id".to_string(), t.project_id.clone()),
            ("x-sdk-date".to_string(), date.to_string()),
        ];
        let names: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
        let input = aksk::SignInput {
            method,
            path,
            query,
            headers: &headers,
            body: body.as_bytes(),
            content_sha256: None,
        };
        let sig = aksk::signature(&t.sk, date, &input, &names);
        let auth = format!(
            "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={sig}",
            t.ak,
            names.join(";")
        );
        self.http
            .request(method.parse().unwrap(), format!("{}{path_and_query}", self.base))
            .header("Content-Type", "application/json")
            .header("X-Project-Id", &t.project_id)
            .header("X-Sdk-Date", date)
            .header("Authorization", auth)
            .body(body.to_string())
    }

    pub async fn finish(self) {
        self.server.abort();
        self.store.close().await;
        if let Some(db) = self.pg_db {
            if let Ok(admin) = Store::connect(&postgres_base_url()).await {
                let _ = admin
                    .pool()
                    .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
                    .await;
                admin.close().await;
            }
        }
    }
}

pub fn now_sdk_date() -> String {
    chrono::Utc::now().format(aksk::DATE_FORMAT).to_string()
}

/// Asserts a VIAS shape-A error with this code and (when given) this `params` entry.
pub fn assert_vias(resp: &(StatusCode, Value), status: u16, code: &str, param: Option<&str>) {
    let (s, v) = resp;
    assert_eq!(s.as_u16(), status, "status for {v}");
    assert_eq!(v["error_code"], code, "code in {v}");
    for k in ["error_msg", "detail", "reason", "advice"] {
        assert!(v[k].is_string(), "{k} missing in {v}");
    }
    let params = v["params"].as_array().expect("params array");
    if let Some(p) = param {
        assert_eq!(params.len(), 1, "params in {v}");
        assert_eq!(params[0], p, "param in {v}");
    }
}

pub fn url_source(name: &str) -> Value {
    json!({"video_source_name": name, "access_type": "cloud", "type": "url",
           "type_config": "<type_config><url_address>rtsp://127.0.0.1:8554/cam</url_address></type_config>"})
}
