//! A tenant's view of a running server: logs in with a password and calls the project's VIAS
//! routes. Test files add their own shortcuts in `impl Api` blocks of their own.

use std::time::Duration;

use serde_json::{json, Value};

use super::Server;

pub struct Api {
    pub base: String,
    pub token: String,
    pub project: String,
    pub http: reqwest::blocking::Client,
}

impl Api {
    /// Logs in as `user` scoped to `project` (a project name).
    pub fn login(server: &Server, user: &str, password: &str, project: &str) -> Self {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "password": password}}},
                                    "scope": {"project": {"name": project}}}});
        let r = http.post(server.url("/v3/auth/tokens")).json(&body).send().unwrap();
        if r.status() != 201 {
            panic!("login {user}: {} {}", r.status(), r.text().unwrap_or_default());
        }
        let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
        let v: Value = r.json().unwrap();
        Api {
            base: server.url(""),
            token,
            project: v["token"]["project"]["id"].as_str().unwrap().into(),
            http,
        }
    }

    /// `path` below `/v2/{project_id}`; the status and the JSON answer (`Null` if none).
    pub fn request(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/v2/{}{path}", self.base, self.project))
            .header("X-Auth-Token", &self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Like [`Api::request`], asserting a 2xx answer.
    pub fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.request(method, path, body);
        assert!((200..300).contains(&status), "{path}: {status} {v}");
        v
    }

    pub fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body))
    }
}
