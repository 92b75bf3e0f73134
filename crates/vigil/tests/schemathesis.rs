//! schemathesis (property-based API testing from `/openapi.json`) against the real binary, as an
//! authenticated tenant: every operation, generated valid and invalid requests, and no answer
//! may be a 5xx or differ from the documented response schema. The one 5xx the VIAS contract
//! prescribes (500 `VIAS.00010012`, "operation not allowed") is a refusal, not a server error:
//! `tests/python/schemathesis_hooks.py` holds the check that knows it.
//!
//! The test suite runs a short pass; `scripts/fuzz.sh` runs a long one through this same test
//! with `VIGIL_SCHEMATHESIS_MAX_EXAMPLES` (default 8) and `VIGIL_SCHEMATHESIS_SEED` (default fixed,
//! so CI is reproducible).
//!
//! The tenant owns a source, a group, a task and a batch task before the run; path parameters
//! take their ids half of the time (the other half is generated), so updates, actions and deletes
//! reach real rows instead of stopping at 404.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{python, Server};
use serde_json::{json, Value};

const PASSWORD: &str = "schemathesis-admin-pw";

/// `schemathesis` sits next to the test Python in the virtualenv (`scripts/setup.sh`).
fn schemathesis() -> PathBuf {
    python().with_file_name("schemathesis")
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// schemathesis settings: the tenant's token on every request, its project in every path, and
/// its own resources' ids as likely path parameters.
fn config(token: &str, project_id: &str, ids: &[(&str, Vec<String>)]) -> String {
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/schemathesis_hooks.py");
    let mut toml = format!(
        "hooks = \"{}\"\nheaders = {{ \"X-Auth-Token\" = \"{token}\" }}\n\n",
        hooks.display()
    );
    for (param, values) in ids {
        let list = serde_json::to_string(values).unwrap();
        toml.push_str(&format!("[dictionaries.{param}]\nvalues = {list}\n\n"));
    }
    toml.push_str(&format!("[parameters]\n\"path.project_id\" = \"{project_id}\"\n"));
    for (param, _) in ids {
        toml.push_str(&format!(
            "\"path.{param}\" = {{ dictionary = \"{param}\", probability = 0.5 }}\n"
        ));
    }
    toml
}

/// Runs schemathesis over the operations `filter` selects; returns its report on failure.
fn run(server: &Server, config: &Path, report: &Path, filter: &[&str]) -> Result<String, String> {
    let out = Command::new(schemathesis())
        .arg("--config-file")
        .arg(config)
        .args(["--no-color", "run", &server.url("/openapi.json")])
        .args(["--checks", "vigil_not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", &env_or("VIGIL_SCHEMATHESIS_MAX_EXAMPLES", "8")])
        .args(["--seed", &env_or("VIGIL_SCHEMATHESIS_SEED", "20261206")])
        .args(["--phases", "examples,coverage,fuzzing"])
        // One worker: CPython 3.11's `ast.parse`, which hypothesis calls, is not thread-safe.
        .args([
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--generation-database",
            "none",
        ])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(report)
        .args(filter)
        .env("NO_COLOR", "1")
        // schemathesis and hypothesis keep caches in the working directory: not in the checkout.
        .current_dir(report.parent().unwrap())
        .output()
        .expect("schemathesis runs (scripts/setup.sh installs it into .vigil/venv)");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

#[test]
fn schemathesis_finds_no_server_errors_or_schema_violations() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Nothing the fuzzer registers is ever dialled: no prober, no worker, and an egress policy
    // that refuses everything but loopback in case anything tried.
    let server = Server::start_with(
        &data,
        &[("VIGIL_ADMIN_PASSWORD", PASSWORD)],
        &[
            "--probe-interval",
            "0",
            "--no-worker",
            "true",
            "--rate-limit",
            "0",
            "--egress-deny",
            "0.0.0.0/0,::/0",
            "--egress-allow",
            "127.0.0.0/8,::1/128",
        ],
    );
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": PASSWORD}}},
                               "scope": {"project": {"name": "default"}}}});
    let r = reqwest::blocking::Client::new()
        .post(server.url("/v3/auth/tokens"))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = r.headers()["x-subject-token"].to_str().unwrap().to_string();
    let issued: Value = r.json().unwrap();
    let project_id = issued["token"]["project"]["id"].as_str().unwrap().to_string();
    let user_id = issued["token"]["user"]["id"].as_str().unwrap().to_string();

    let http = reqwest::blocking::Client::new();
    let post = |path: &str, body: Value| -> Value {
        let r = http
            .post(server.url(&format!("/v2/{project_id}{path}")))
            .header("X-Auth-Token", &token)
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json().unwrap()
    };
    let source = |name: &str| -> String {
        let body = json!({"video_source_name": name, "access_type": "cloud", "type": "url",
            "type_config": "<type_config><url_address>rtsp://127.0.0.1:9/cam</url_address></type_config>"});
        post("/source", body)["video_source_id"].as_str().unwrap().to_string()
    };
    let (cam1, cam2) = (source("cam1"), source("cam2"));
    let group = json!({"video_group_name": "gate", "access_type": "cloud", "video_source_ids": [cam1, cam2]});
    let group = post("/video-group", group)["video_group_id"]
        .as_str()
        .unwrap()
        .to_string();
    let service = "c-intrusiondetection-cloud";
    let task = json!({"name": "watch", "input": {"type": "video_source", "data": [{"video_source_id": cam1}]},
        "output": {"event_center": true},
        "config": {"common": {"target_roi": "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]]}]}"}}});
    let task_id = post(&format!("/services/{service}/tasks"), task.clone())["tasks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut batch = task;
    batch.as_object_mut().unwrap().remove("input");
    batch["name"] = json!("gatebatch");
    batch["service_name"] = json!(service);
    batch["batch_input"] = json!({"video_source_group": [{"video_source_group_id": group,
        "video_source_list": [{"video_source_id": cam1}, {"video_source_id": cam2}]}]});
    let batch_id = post("/batch-tasks", batch)["id"].as_str().unwrap().to_string();
    let ids = [
        ("video_source_id", vec![cam1.clone(), cam2]),
        ("video_group_id", vec![group]),
        ("task_id", vec![task_id]),
        ("id", vec![batch_id]),
        (
            "service_name",
            vec![service.to_string(), "c-flowcount-cloud".to_string()],
        ),
        ("command", vec!["start".to_string(), "stop".to_string()]),
        ("user_id", vec![user_id]),
    ];
    let config_path = dir.path().join("schemathesis.toml");
    std::fs::write(&config_path, config(&token, &project_id, &ids)).unwrap();

    // Every operation but "revoke all my tokens" first (it ends the session the rest runs in),
    // then that one alone.
    let reports = dir.path();
    let all = run(
        &server,
        &config_path,
        &reports.join("all.xml"),
        &["--exclude-operation-id", "VigilRevokeAllMyTokens"],
    );
    let last = run(
        &server,
        &config_path,
        &reports.join("revoke.xml"),
        &["--include-operation-id", "VigilRevokeAllMyTokens"],
    );
    let logs = server.drain_logs();
    for result in [&all, &last] {
        if let Err(report) = result {
            let panics: Vec<&String> = logs.iter().filter(|l| l.contains("panic")).collect();
            panic!("schemathesis found failures:\n{report}\nserver panics: {panics:?}");
        }
    }
    println!("{}", all.unwrap());
    // The server survived all of it.
    assert_eq!(reqwest::blocking::get(server.url("/health")).unwrap().status(), 200);
    assert!(server.stop().success());
}
