//! Algorithm Center (spec §4.2–4.5) and Vigil's model package routes over HTTP on SQLite and
//! PostgreSQL: every route's happy path and documented errors, the task refusals they imply
//! (no package bound, stopped deployment) and `stopped_no_service` on stop-deploy.

mod common;

use base64::Engine;
use common::{assert_vias, url_source, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const INTRUSION: &str = "c-intrusiondetection-cloud";
const STACKING: &str = "c-urban-stacking-cloud";
const NANODET: &str = "../../../shared/models/nanodet_m_320.onnx";

/// The 80 COCO class names in NanoDet's output order (the shared models' label file).
fn coco_names() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models/coco_labels.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(str::to_string).collect()
}

fn model() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(NANODET);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// NanoDet-m as a detector of piles for c-urban-stacking (backpacks and suitcases).
fn manifest(name: &str, version: &str, sha256: &str, binding: Value) -> Value {
    json!({
        "name": name, "version": version, "licence": "Apache-2.0", "company": "RangiLyu",
        "description": "NanoDet-m 320, COCO classes",
        "input": {"width": 320, "height": 320, "layout": "NCHW", "channels": "BGR", "resize": "stretch",
                  "mean": [103.53, 116.28, 123.675], "std": [57.375, 57.12, 58.395]},
        "decoder": {"family": "nanodet", "strides": [8, 16, 32], "reg_max": 7},
        "classes": coco_names(), "score_threshold": 0.35, "nms_iou": 0.5, "sha256": sha256, "binding": binding,
    })
}

fn piles() -> Value {
    json!({"algorithm": "c-urban-stacking", "class_map": {"backpack": "pile", "suitcase": "pile"}})
}

fn upload_body(manifest: Value, model: &[u8]) -> Value {
    json!({"manifest": manifest, "model": base64::engine::general_purpose::STANDARD.encode(model)})
}

async fn source(s: &TestServer, name: &str) -> String {
    let (st, v) = s.post("/v2/{p}/source", url_source(name)).await;
    assert_eq!(st, 200, "{v}");
    v["video_source_id"].as_str().unwrap().to_string()
}

fn task_body(name: &str, source: &str, common: Value) -> Value {
    json!({
        "name": name, "service_version": "3.0",
        "input": {"type": "video_source", "data": [{"video_source_id": source}]},
        "output": {"webhook": {"url": "http://127.0.0.1:9/alarms", "headers": {"content-type": "application/json"}}},
        "config": {"common": common},
    })
}

async fn services(s: &TestServer, query: &str) -> Value {
    let (st, v) = s.get(&format!("/v2/{{p}}/algorithm/services/user{query}")).await;
    assert_eq!(st, 200, "{v}");
    v
}

fn find<'a>(list: &'a Value, service_name: &str) -> &'a Value {
    list["service_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["service_name"] == service_name)
        .unwrap_or_else(|| panic!("{service_name} not in {list}"))
}

async fn list_services(b: Backend) {
    let s = TestServer::start(b).await;
    let all = services(&s, "").await;
    assert_eq!(all["total"], 41);
    assert_eq!(all["count"], 41);
    let i = find(&all, INTRUSION);
    let spec = vigil_core::catalog::Catalog::by_id("c-intrusiondetection").unwrap();
    assert_eq!(i["alg_id"], spec.alg_id());
    assert_eq!(i["service_id"], spec.service_id());
    assert_eq!(i["alg_status"], "service_running");
    assert_eq!(i["alg_class"], "self");
    assert_eq!(i["company"], "Vigil");
    assert_eq!(i["deploy_type"], "cloud");
    assert_eq!(i["request_mode"], "async");
    assert_eq!(i["function_version"], "3.0");
    assert_eq!(i["package_name"], "vigil-builtin");
    assert!(i["created_at"].as_i64().unwrap() > 0);
    assert!(i["tags"].as_array().is_some_and(|t| !t.is_empty()));
    assert!(i.get("error_msg").is_none(), "{i}");
    // The edge-only algorithms are edge services under their edge name.
    let edge_only: Vec<&Value> = all["service_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["deploy_type"] == "edge")
        .collect();
    assert!(edge_only
        .iter()
        .all(|i| i["service_name"].as_str().unwrap().ends_with("-edge")));
    // The 13 model-bound algorithms are not deployed until a package is bound; they say why.
    let st = find(&all, STACKING);
    assert_eq!(st["alg_status"], "not_deployed");
    assert!(st["error_msg"].as_str().unwrap().contains("pile"), "{st}");
    let nd = services(&s, "?alg_status=not_deployed").await;
    assert_eq!(nd["total"], 13, "{nd}");
    let both = services(&s, "?alg_status=not_deployed&alg_status=service_running").await;
    assert_eq!(both["total"], 41);
    let none = services(&s, "?alg_status=service_stopped,service_failed").await;
    assert_eq!(none["total"], 0);
    // Paging, sorting, name filter.
    let page = services(&s, "?is_paged=true&page_size=5&page_num=2&order_by=asc").await;
    assert_eq!(page["count"], 5);
    assert_eq!(page["total"], 41);
    let asc = services(&s, "?order_by=asc&sort_name=function_version").await;
    let desc = services(&s, "?order_by=desc").await;
    assert_eq!(
        asc["service_list"][0]["service_name"],
        desc["service_list"][40]["service_name"]
    );
    let named = services(&s, "?name_like=INTRUSION").await;
    assert!(named["total"].as_i64().unwrap() >= 1);
    assert!(named["service_list"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["service_name"].as_str().unwrap().contains("intrusion")));
    let last = services(&s, "?is_paged=true&page_size=200&page_num=10000").await;
    assert_eq!(last["count"], 0);
    // Every query parameter validated, named in params.
    for (q, param) in [
        ("alg_status=running", "alg_status"),
        ("page_size=4", "page_size"),
        ("page_size=201", "page_size"),
        ("page_num=0", "page_num"),
        ("page_num=10001", "page_num"),
        ("order_by=up", "order_by"),
        ("sort_name=name", "sort_name"),
        ("is_paged=maybe", "is_paged"),
        (&format!("name_like={}", "x".repeat(65)), "name_like"),
    ] {
        let r = s.get(&format!("/v2/{{p}}/algorithm/services/user?{q}")).await;
        assert_vias(&r, 400, "VIAS.00010001", Some(param));
    }
    s.finish().await;
}

async fn show_service(b: Backend) {
    let s = TestServer::start(b).await;
    let spec = vigil_core::catalog::Catalog::by_id("c-intrusiondetection").unwrap();
    let (st, d) = s
        .get(&format!("/v2/{{p}}/algorithm/services/{}", spec.service_id()))
        .await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["service_name"], INTRUSION);
    assert_eq!(d["alg_id"], spec.alg_id());
    assert_eq!(d["alg_status"], "service_running");
    assert_eq!(d["pool_id"], "cloud");
    assert_eq!(d["release_flag"], true);
    assert_eq!(d["api"], format!("/v2/{}/services/{INTRUSION}/tasks", s.a.project_id));
    assert_eq!(d["service_api_list"].as_array().unwrap().len(), 2);
    let c = &d["deployment_constraints"];
    assert_eq!(c["request_mode"], "async");
    assert!(["x86_64", "aarch64"].contains(&c["cpu_type"].as_str().unwrap()));
    assert_eq!(c["input_types"], json!(["URL", "Restful", "EdgeCamera"]));
    assert_eq!(c["output_types"], json!(["OBS", "DIS", "Webhook"]));
    let svc: Value = serde_json::from_str(c["service_config"].as_str().unwrap()).unwrap();
    assert_eq!(svc["additionalProperties"], false);
    let task: Value = serde_json::from_str(c["task_config"].as_str().unwrap()).unwrap();
    assert_eq!(task["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(task["properties"]["image_compression_ratio"]["maximum"], 100);
    assert!(task["properties"]["target_roi"].is_object());
    // Same answer for tenant b (built-ins are everyone's); unknown and malformed ids.
    let (st, _) = s
        .call_as(
            &s.b,
            Method::GET,
            &format!("/v2/{{p}}/algorithm/services/{}", spec.service_id()),
            None,
        )
        .await;
    assert_eq!(st, 200);
    let r = s
        .get("/v2/{p}/algorithm/services/00000000-0000-4000-8000-000000000000")
        .await;
    assert_vias(&r, 400, "VIAS.00010002", Some("service_id"));
    let r = s.get("/v2/{p}/algorithm/services/not-a-uuid").await;
    assert_vias(&r, 400, "VIAS.00010001", Some("service_id"));
    s.finish().await;
}

async fn deploy_and_stop(b: Backend) {
    let s = TestServer::start(b).await;
    let spec = vigil_core::catalog::Catalog::by_id("c-intrusiondetection").unwrap();
    let alg = spec.alg_id();
    let deploy = format!("/v2/{{p}}/algorithm/{alg}/deploy");
    let stop = format!("/v2/{{p}}/algorithm/{alg}/deploy/stop");
    // Errors first: nothing is deployed.
    let r = s.put(&stop, json!({})).await;
    assert_vias(&r, 500, "VIAS.00010012", Some("alg_id"));
    let r = s.post(&deploy, json!({"stream_count": 2})).await;
    assert_vias(&r, 400, "VIAS.00010001", Some("pool_id"));
    let r = s
        .post(
            "/v2/{p}/algorithm/00000000-0000-4000-8000-000000000000/deploy",
            json!({"pool_id": "cloud"}),
        )
        .await;
    assert_vias(&r, 400, "VIAS.00010002", Some("alg_id"));
    let r = s
        .post("/v2/{p}/algorithm/xyz/deploy", json!({"pool_id": "cloud"}))
        .await;
    assert_vias(&r, 400, "VIAS.00010001", Some("alg_id"));
    for (body, code, param) in [
        (json!({"pool_id": "no-such-pool"}), "VIAS.00010002", "pool_id"),
        (json!({"pool_id": "bad_pool!"}), "VIAS.00010001", "pool_id"),
        (json!({"pool_id": 7}), "VIAS.00010001", "pool_id"),
        (
            json!({"pool_id": "cloud", "stream_count": 0}),
            "VIAS.00010001",
            "stream_count",
        ),
        (
            json!({"pool_id": "cloud", "stream_count": 10001}),
            "VIAS.00010001",
            "stream_count",
        ),
        (
            json!({"pool_id": "cloud", "stream_count": "5"}),
            "VIAS.00010001",
            "stream_count",
        ),
        (
            json!({"pool_id": "cloud", "deploy_config": {"gpu": 1}}),
            "VIAS.00010001",
            "deploy_config.gpu",
        ),
        (
            json!({"pool_id": "cloud", "deploy_config": [1]}),
            "VIAS.00010001",
            "deploy_config",
        ),
        (
            json!({"pool_id": "cloud", "envs": {"1BAD": "x"}}),
            "VIAS.00010001",
            "envs",
        ),
        (
            json!({"pool_id": "cloud", "envs": {"LEVEL": 3}}),
            "VIAS.00010001",
            "envs.LEVEL",
        ),
        (json!({"pool_id": "cloud", "envs": "A=B"}), "VIAS.00010001", "envs"),
    ] {
        let r = s.post(&deploy, body.clone()).await;
        assert_vias(&r, 400, code, Some(param));
    }
    // A task that runs before the deployment is stopped.
    let cam = source(&s, "gate").await;
    let (st, v) = s
        .post(
            &format!("/v2/{{p}}/services/{INTRUSION}/tasks"),
            task_body("gate-watch", &cam, json!({})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let task = v["tasks"][0]["id"].as_str().unwrap().to_string();
    // Deploy to the cloud pool with two streams.
    let (st, v) = s
        .post(
            &deploy,
            json!({"pool_id": "cloud", "stream_count": 2, "deploy_config": {}, "envs": {"LOG_LEVEL": "debug"}}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["alg_name"], spec.title);
    let (_, d) = s
        .get(&format!("/v2/{{p}}/algorithm/services/{}", spec.service_id()))
        .await;
    assert_eq!(d["pool_id"], "cloud");
    assert_eq!(d["stream_count"], 2);
    assert_eq!(d["envs"], json!({"LOG_LEVEL": "debug"}));
    assert_eq!(d["alg_status"], "service_running");
    // Re-deploy without pool_id keeps the pool, updates the count.
    let (st, _) = s.post(&deploy, json!({"stream_count": 3})).await;
    assert_eq!(st, 200);
    let (_, d) = s
        .get(&format!("/v2/{{p}}/algorithm/services/{}", spec.service_id()))
        .await;
    assert_eq!(
        (d["pool_id"].as_str(), d["stream_count"].as_i64()),
        (Some("cloud"), Some(3))
    );
    // Stop: the service stops, its task shows stopped_no_service, tasks cannot be created or started.
    let (st, v) = s.put(&stop, json!({})).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["alg_id"], alg);
    let (_, t) = s.get(&format!("/v2/{{p}}/tasks/{task}")).await;
    assert_eq!(t["state"], "STOPPED", "{t}");
    assert_eq!(t["status"], "stopped_no_service");
    let stopped = services(&s, "?alg_status=service_stopped").await;
    assert_eq!(stopped["total"], 1);
    assert_eq!(stopped["service_list"][0]["service_name"], INTRUSION);
    let r = s
        .post(
            &format!("/v2/{{p}}/services/{INTRUSION}/tasks"),
            task_body("gate-watch-2", &cam, json!({})),
        )
        .await;
    assert_vias(&r, 500, "VIAS.00010012", Some("service_name"));
    let r = s.put(&format!("/v2/{{p}}/tasks/{task}/action/start"), json!({})).await;
    assert_vias(&r, 500, "VIAS.00010012", Some("service_name"));
    let r = s.put(&stop, json!({})).await;
    assert_vias(&r, 500, "VIAS.00010012", Some("alg_id"));
    // Tenant b's intrusion service is untouched.
    let (_, other) = s
        .call_as(
            &s.b,
            Method::GET,
            "/v2/{p}/algorithm/services/user?alg_status=service_stopped",
            None,
        )
        .await;
    assert_eq!(other["total"], 0);
    // Deploying again brings it back; the task starts.
    let (st, _) = s.post(&deploy, json!({})).await;
    assert_eq!(st, 200);
    let (st, v) = s.put(&format!("/v2/{{p}}/tasks/{task}/action/start"), json!({})).await;
    assert_eq!(st, 200, "{v}");
    s.finish().await;
}

async fn packages(b: Backend) {
    let s = TestServer::start(b).await;
    let bytes = model();
    let digest = sha(&bytes);
    let cam = source(&s, "yard").await;
    let roi = "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]],\"name\":\"yard\"}]}";
    // Without a package the model-bound algorithm refuses tasks, naming the roles it needs.
    let r = s
        .post(
            &format!("/v2/{{p}}/services/{STACKING}/tasks"),
            task_body("piles", &cam, json!({"target_roi": roi})),
        )
        .await;
    assert_vias(&r, 400, "VIAS.00010002", Some("service_name"));
    assert!(r.1["detail"].as_str().unwrap().contains("pile"), "{}", r.1);
    // Upload errors.
    let up = "/v2/{p}/algorithm/packages";
    let good = manifest("nanodet-piles", "1.0", &digest, piles());
    let mut bad_b64 = upload_body(good.clone(), &bytes);
    bad_b64["model"] = json!("not base64 !!");
    assert_vias(&s.post(up, bad_b64).await, 400, "VIAS.00010001", Some("model"));
    assert_vias(
        &s.post(
            up,
            upload_body(manifest("nanodet-piles", "1.0", &sha(b"other"), piles()), &bytes),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("model"),
    );
    let r = s.post(up, json!({"model": "AAAA"})).await;
    assert_vias(&r, 400, "VIAS.00010001", Some("manifest"));
    let r = s.post(up, upload_body(json!({"name": "x"}), &bytes)).await;
    assert_eq!(r.1["error_code"], "VIAS.00010001", "{}", r.1);
    assert!(r.1["params"][0].as_str().unwrap().starts_with("manifest"), "{}", r.1);
    for (binding, param) in [
        (
            json!({"algorithm": "c-intrusiondetection", "class_map": {"person": "pile"}}),
            "manifest.binding.algorithm",
        ),
        (
            json!({"algorithm": "c-urban-stacking", "class_map": {"crate": "pile"}}),
            "manifest.binding.class_map.crate",
        ),
        (
            json!({"algorithm": "c-urban-stacking", "class_map": {"suitcase": "helmet"}}),
            "manifest.binding.class_map.suitcase",
        ),
    ] {
        let r = s
            .post(
                up,
                upload_body(manifest("nanodet-piles", "1.0", &digest, binding), &bytes),
            )
            .await;
        assert_vias(&r, 400, "VIAS.00010001", Some(param));
    }
    // The real model (3.8 MB, over the default 1 MiB body limit) installs.
    let (st, v) = s.post(up, upload_body(good.clone(), &bytes)).await;
    assert_eq!(st, 200, "{v}");
    let stacking = vigil_core::catalog::Catalog::by_id("c-urban-stacking").unwrap();
    assert_eq!(v["alg_id"], stacking.alg_id());
    assert_eq!(v["service_name"], STACKING);
    let pkg = v["package_id"].as_str().unwrap().to_string();
    let r = s.post(up, upload_body(good.clone(), &bytes)).await;
    assert_vias(&r, 400, "VIAS.00010003", Some("manifest.name"));
    // Listed, shown, tenant-scoped.
    let (_, l) = s.get(up).await;
    assert_eq!(l["count"], 1);
    assert_eq!(l["packages"][0]["sha256"], digest);
    assert_eq!(l["packages"][0]["size"], bytes.len());
    let (st, d) = s.get(&format!("/v2/{{p}}/algorithm/packages/{pkg}")).await;
    assert_eq!(st, 200);
    assert_eq!(d["binding_type"], "algorithm");
    assert_eq!(d["manifest"]["binding"]["class_map"]["suitcase"], "pile");
    let r = s
        .call_as(&s.b, Method::GET, &format!("/v2/{{p}}/algorithm/packages/{pkg}"), None)
        .await;
    assert_vias(&r, 400, "VIAS.00010002", Some("package_id"));
    let r = s
        .get("/v2/{p}/algorithm/packages/00000000-0000-4000-8000-000000000000")
        .await;
    assert_vias(&r, 400, "VIAS.00010002", Some("package_id"));
    let r = s.get("/v2/{p}/algorithm/packages/nope").await;
    assert_vias(&r, 400, "VIAS.00010001", Some("package_id"));
    // The algorithm now runs: listed as running, tasks accepted (tenant b still refused).
    let all = services(&s, "").await;
    assert_eq!(find(&all, STACKING)["alg_status"], "service_running");
    let (_, d) = s
        .get(&format!("/v2/{{p}}/algorithm/services/{}", stacking.service_id()))
        .await;
    assert_eq!(d["bound_package"], "nanodet-piles@1.0");
    let (st, v) = s
        .post(
            &format!("/v2/{{p}}/services/{STACKING}/tasks"),
            task_body("piles", &cam, json!({"target_roi": roi})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let task = v["tasks"][0]["id"].as_str().unwrap().to_string();
    let (_, all_b) = s
        .call_as(
            &s.b,
            Method::GET,
            "/v2/{p}/algorithm/services/user?alg_status=not_deployed",
            None,
        )
        .await;
    assert_eq!(all_b["total"], 13);
    // A package in use cannot be deleted; once its task stops it can.
    let r = s.delete(&format!("/v2/{{p}}/algorithm/packages/{pkg}")).await;
    assert_vias(&r, 500, "VIAS.00010012", Some("package_id"));
    let (st, _) = s.put(&format!("/v2/{{p}}/tasks/{task}/action/stop"), json!({})).await;
    assert_eq!(st, 200);
    let (st, v) = s.delete(&format!("/v2/{{p}}/algorithm/packages/{pkg}")).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["package_id"], pkg);
    let r = s.delete(&format!("/v2/{{p}}/algorithm/packages/{pkg}")).await;
    assert_vias(&r, 400, "VIAS.00010002", Some("package_id"));
    assert_eq!(find(&services(&s, "").await, STACKING)["alg_status"], "not_deployed");
    s.finish().await;
}

async fn partner_rule(b: Backend) {
    let s = TestServer::start(b).await;
    let bytes = model();
    let digest = sha(&bytes);
    let rule = json!({"rule": "dwell", "event_type": 90_000_001, "classes": ["suitcase"]});
    // A rule package may not take a built-in's name.
    let r = s
        .post(
            "/v2/{p}/algorithm/packages",
            upload_body(manifest(INTRUSION, "1.0", &digest, rule.clone()), &bytes),
        )
        .await;
    assert_eq!(r.1["error_code"], "VIAS.00010003", "{}", r.1);
    let (st, v) = s
        .post(
            "/v2/{p}/algorithm/packages",
            upload_body(manifest("suitcase-dwell", "2.1", &digest, rule.clone()), &bytes),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["service_name"], "suitcase-dwell");
    let alg = v["alg_id"].as_str().unwrap().to_string();
    assert_eq!(alg, v["package_id"].as_str().unwrap());
    // One version per rule service name.
    let r = s
        .post(
            "/v2/{p}/algorithm/packages",
            upload_body(manifest("suitcase-dwell", "2.2", &digest, rule), &bytes),
        )
        .await;
    assert_vias(&r, 400, "VIAS.00010003", Some("manifest.name"));
    // Listed as a partner service with its vendor and version.
    let all = services(&s, "").await;
    assert_eq!(all["total"], 42);
    let p = find(&all, "suitcase-dwell");
    assert_eq!(p["alg_class"], "partner");
    assert_eq!(p["company"], "RangiLyu");
    assert_eq!(p["alg_version"], "2.1");
    assert_eq!(p["alg_id"], alg);
    assert_eq!(p["alg_status"], "service_running");
    let (st, d) = s
        .get(&format!(
            "/v2/{{p}}/algorithm/services/{}",
            p["service_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(st, 200);
    let schema: Value = serde_json::from_str(d["deployment_constraints"]["task_config"].as_str().unwrap()).unwrap();
    assert!(schema["properties"]["alert_time_threshold"].is_object(), "{schema}");
    // Tasks under the package's name, validated with the partner rule's keys.
    let cam = source(&s, "hall").await;
    let (st, v) = s
        .post(
            "/v2/{p}/services/suitcase-dwell/tasks",
            task_body("dwell", &cam, json!({"alert_time_threshold": 5})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let r = s
        .post(
            "/v2/{p}/services/suitcase-dwell/tasks",
            task_body("dwell-2", &cam, json!({"alert_time_threshold": 99999})),
        )
        .await;
    assert_vias(&r, 400, "VIAS.00010001", Some("config.common.alert_time_threshold"));
    let r = s
        .call_as(
            &s.b,
            Method::POST,
            "/v2/{p}/services/suitcase-dwell/tasks",
            Some(task_body("dwell", &cam, json!({}))),
        )
        .await;
    assert_vias(&r, 400, "VIAS.00010002", Some("service_name"));
    // Deploy and stop work on partner services too.
    let (st, v) = s
        .post(
            &format!("/v2/{{p}}/algorithm/{alg}/deploy"),
            json!({"pool_id": "cloud", "stream_count": 1}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["alg_name"], "suitcase-dwell");
    let (st, _) = s
        .put(&format!("/v2/{{p}}/algorithm/{alg}/deploy/stop"), json!({}))
        .await;
    assert_eq!(st, 200);
    let (_, l) = s.get("/v2/{p}/tasks").await;
    let (_, t) = s
        .get(&format!("/v2/{{p}}/tasks/{}", l["tasks"][0]["id"].as_str().unwrap()))
        .await;
    assert_eq!(t["status"], "stopped_no_service", "{t}");
    s.finish().await;
}

/// `stopped_no_service` shows in batch statistics.
async fn batch_statistics(b: Backend) {
    let s = TestServer::start(b).await;
    let cam = source(&s, "door").await;
    let (st, g) = s
        .post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "doors", "access_type": "cloud", "video_source_ids": [cam]}),
        )
        .await;
    assert_eq!(st, 200, "{g}");
    let (st, v) = s
        .post(
            "/v2/{p}/batch-tasks",
            json!({"name": "doors", "service_name": INTRUSION, "service_version": "3.0",
                   "batch_input": {"video_source_group": [{"video_source_group_id": g["video_group_id"],
                       "video_source_list": [{"video_source_id": cam}]}]},
                   "output": {"webhook": {"url": "http://127.0.0.1:9/alarms", "headers": {"content-type": "application/json"}}}, "config": {"common": {}}}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let alg = vigil_core::catalog::Catalog::by_id("c-intrusiondetection")
        .unwrap()
        .alg_id();
    assert_eq!(
        s.post(
            &format!("/v2/{{p}}/algorithm/{alg}/deploy"),
            json!({"pool_id": "cloud"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        s.put(&format!("/v2/{{p}}/algorithm/{alg}/deploy/stop"), json!({}))
            .await
            .0,
        200
    );
    let (_, l) = s.get("/v2/{p}/batch-tasks").await;
    let counters = &l["batch_task_list"][0]["batch_task_status_info"];
    assert_eq!(counters["stopped_no_service"], 1, "{l}");
    assert_eq!(counters["pending"], 0);
    s.finish().await;
}

both_backends!(
    list_services,
    show_service,
    deploy_and_stop,
    packages,
    partner_rule,
    batch_statistics
);
