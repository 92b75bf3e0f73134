//! Task Center (spec §3) over HTTP on SQLite and PostgreSQL: platform routes, the legacy VAS
//! routes and shapes, batch tasks, templates, the state machine and every validation error.

mod common;

use common::{assert_vias, url_source, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

const INTRUSION: &str = "c-intrusiondetection-cloud";

async fn source(s: &TestServer, name: &str) -> String {
    let (st, v) = s.post("/v2/{p}/source", url_source(name)).await;
    assert_eq!(st, 200, "{v}");
    v["video_source_id"].as_str().unwrap().to_string()
}

fn body(name: &str, source: &str) -> Value {
    json!({
        "name": name, "description": "gate watch", "service_version": "3.0",
        "input": {"type": "video_source", "data": [{"video_source_id": source}]},
        "output": {"webhook": {"url": "http://127.0.0.1:9/alarms", "headers": {"content-type": "application/json"}}, "event_center": true},
        "config": {"common": {"person_detection_sw": 1, "image_compression_ratio": 80,
            "target_roi": "{\"polygons\":[{\"data\":[[0,0],[0,576],[768,576],[768,0]],\"name\":\"all\"}]}"}}
    })
}

async fn create(s: &TestServer, service: &str, b: Value) -> Vec<String> {
    let (st, v) = s.post(&format!("/v2/{{p}}/services/{service}/tasks"), b).await;
    assert_eq!(st, 200, "{v}");
    v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

async fn platform(b: Backend) {
    let cfg = vigil_api::ApiConfig {
        task_quota: 4,
        ..Default::default()
    };
    let s = TestServer::start_with(b, cfg).await;
    let cam = source(&s, "gate cam").await;
    let ids = create(&s, INTRUSION, body("gate_watch", &cam)).await;
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].len(), 32);
    let id = &ids[0];

    let (st, d) = s.get(&format!("/v2/{{p}}/tasks/{id}")).await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["name"], "gate_watch");
    assert_eq!(d["state"], "PENDING");
    assert_eq!(d["service_id"], INTRUSION);
    assert_eq!(d["type"], "cloud");
    assert_eq!(d["title"], "入侵检测");
    assert_eq!(d["video_source_name"], "gate cam");
    assert_eq!(d["access_address"], "rtsp://127.0.0.1:8554/cam");
    assert_eq!(d["creator"], s.a.user.as_str());
    assert_eq!(d["project_id"], s.a.project_id.as_str());
    assert_eq!(d["input"]["data"][0]["video_source_id"], cam.as_str());
    assert_eq!(d["output"]["event_center"], true);
    assert_eq!(d["config"]["common"]["image_compression_ratio"], 80);
    assert_eq!(d["config"]["common"]["detection_min_size"], 60, "defaults filled in");
    assert!(d["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(d["algorithm_publish_id"].as_str().unwrap().chars().nth(14) == Some('4'));
    // The source now counts the task and cannot be deleted.
    let (_, src) = s.get(&format!("/v2/{{p}}/source/sources/{cam}")).await;
    assert_eq!(src["service_config_templates"], json!([]));
    assert_vias(
        &s.delete(&format!("/v2/{{p}}/source/{cam}")).await,
        500,
        "VIAS.00010012",
        None,
    );

    // Several input entries: one task each.
    let cam2 = source(&s, "yard cam").await;
    let mut multi = body("yard_watch", &cam);
    multi["input"]["data"] = json!([{"video_source_id": cam}, {"video_source_id": cam2, "index": 1}]);
    multi["is_saved_as_template"] = json!(true);
    let two = create(&s, INTRUSION, multi).await;
    assert_eq!(two.len(), 2);
    let (_, d2) = s.get(&format!("/v2/{{p}}/tasks/{}", two[1])).await;
    assert_eq!(d2["name"], "yard_watch_1");
    let (_, src) = s.get(&format!("/v2/{{p}}/source/sources/{cam2}")).await;
    assert_eq!(src["service_config_templates"][0]["name"], INTRUSION);
    assert!(src["service_config_templates"][0]["serviceConfig"]
        .as_str()
        .unwrap()
        .contains("person_detection_sw"));
    assert!(
        src["service_config_templates"][0].get("createAt").is_some(),
        "camelCase template fields"
    );
    assert_eq!(src["service_config_templates"][0]["numTask"], 1);

    // List: paging, filters, sort.
    let (st, l) = s.get("/v2/{p}/tasks?page_size=5&page=1").await;
    assert_eq!(st, 200);
    assert_eq!(l["count"], 3);
    assert_eq!(l["page"], 1);
    assert_eq!(l["page_size"], 5);
    assert_eq!(l["tasks"][0]["id"], two[1].as_str(), "newest first");
    let item = &l["tasks"][2];
    for k in [
        "id",
        "name",
        "service_id",
        "created_at",
        "state",
        "video_source_name",
        "title",
        "type",
        "algorithm_publish_id",
    ] {
        assert!(item.get(k).is_some(), "list item lacks {k}");
    }
    assert_eq!(item["type"], "0");
    for (q, n) in [
        ("?sort_dir=asc", 3),
        ("?task_name=yard", 2),
        ("?camera_name=YARD", 1),
        ("?task_state=PENDING", 3),
        ("?task_state=RUNNING", 0),
        ("?title=入侵检测", 3),
        ("?title=Intrusion%20detection", 3),
        ("?title=人流量统计", 0),
        ("?source_data_type=sync_task", 0),
        ("?company=Vigil", 3),
        ("?company=Huawei", 0),
        ("?batch_id=none", 0),
        ("?page_size=5&page=2", 0),
    ] {
        let (st, v) = s.get(&format!("/v2/{{p}}/tasks{q}")).await;
        assert_eq!(st, 200, "{q}: {v}");
        assert_eq!(v["count"], n, "{q}");
    }
    let alg = d["algorithm_publish_id"].as_str().unwrap();
    let (_, v) = s.get(&format!("/v2/{{p}}/tasks?alg_id={alg}")).await;
    assert_eq!(v["count"], 3);
    for (q, p) in [
        ("?page_size=4", "page_size"),
        ("?page=0", "page"),
        ("?sort_dir=up", "sort_dir"),
        ("?task_state=WAITING", "task_state"),
        ("?source_data_type=x", "source_data_type"),
    ] {
        assert_vias(
            &s.get(&format!("/v2/{{p}}/tasks{q}")).await,
            400,
            "VIAS.00010001",
            Some(p),
        );
    }
    // The intl alias serves the same list.
    let (st, v) = s.get("/v1/{p}/infer/tasks").await;
    assert_eq!((st.as_u16(), v["count"].as_i64()), (200, Some(3)));

    // Update: name, config; echo of the new details; revision-worthy changes stick.
    let (st, u) = s
        .put(
            &format!("/v2/{{p}}/tasks/{id}"),
            json!({"name": "gate_watch2", "config": {"common": {"car_detection_sw": 1}}}),
        )
        .await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(u["name"], "gate_watch2");
    assert_eq!(u["config"]["common"]["car_detection_sw"], 1);
    assert_eq!(
        u["config"]["common"]["image_compression_ratio"], 90,
        "config replaced as a whole"
    );
    assert_vias(
        &s.put(
            &format!("/v2/{{p}}/tasks/{id}"),
            json!({"input": {"type": "url", "data": [{"url": "rtsp://h/s"}]}}),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("input.type"),
    );
    assert_vias(
        &s.put(
            &format!("/v2/{{p}}/tasks/{id}"),
            json!({"input": {"type": "video_source", "data": [{"video_source_id": cam}, {"video_source_id": cam2}]}}),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("input.data"),
    );
    assert_vias(
        &s.put(&format!("/v2/{{p}}/tasks/{id}"), json!({"name": "yard_watch"}))
            .await,
        400,
        "VIAS.00010011",
        Some("name"),
    );

    // State machine: PENDING → stop → STOPPED (no worker holds it) → start → PENDING.
    let act = |cmd: &str| format!("/v2/{{p}}/tasks/{id}/action/{cmd}");
    assert_vias(&s.put(&act("start"), json!({})).await, 500, "VIAS.00010012", None);
    let (st, v) = s.put(&act("stop"), json!({})).await;
    assert_eq!((st.as_u16(), v["state"].as_str()), (200, Some("STOPPED")));
    assert_vias(&s.put(&act("stop"), json!({})).await, 500, "VIAS.00010012", None);
    let (st, v) = s.put(&act("start"), json!({})).await;
    assert_eq!((st.as_u16(), v["state"].as_str()), (200, Some("PENDING")));
    assert_vias(
        &s.put(&act("reboot"), json!({})).await,
        400,
        "VIAS.00010001",
        Some("command"),
    );

    // Quota (4): one more fits, then VIAS.0010048.
    create(&s, INTRUSION, body("fourth", &cam2)).await;
    assert_vias(
        &s.post(&format!("/v2/{{p}}/services/{INTRUSION}/tasks"), body("fifth", &cam2))
            .await,
        400,
        "VIAS.0010048",
        None,
    );

    // Delete; unknown ids.
    let (st, _) = s.delete(&format!("/v2/{{p}}/tasks/{id}")).await;
    assert_eq!(st, 200);
    let missing = "0123456789abcdef0123456789abcdef";
    for r in [
        s.get(&format!("/v2/{{p}}/tasks/{id}")).await,
        s.put(&format!("/v2/{{p}}/tasks/{missing}"), json!({})).await,
        s.delete(&format!("/v2/{{p}}/tasks/{missing}")).await,
        s.put(&format!("/v2/{{p}}/tasks/{missing}/action/start"), json!({}))
            .await,
    ] {
        assert_vias(&r, 400, "VIAS.00010007", Some("task_id"));
    }
    // Another project's task is invisible.
    let (st, _) = s
        .call_as(&s.b, Method::GET, &format!("/v2/{{p}}/tasks/{}", two[0]), None)
        .await;
    assert_eq!(st, 400);
    s.finish().await;
}

async fn create_errors(b: Backend) {
    let s = TestServer::start(b).await;
    let cam = source(&s, "cam").await;
    let (_, v) = s
        .post(
            "/v2/{p}/source",
            json!({"video_source_name": "edge cam", "access_type": "edge", "type": "url",
        "type_config": "<type_config><url_address>rtsp://h/e</url_address></type_config>"}),
        )
        .await;
    let edge_cam = v["video_source_id"].as_str().unwrap().to_string();
    let (_, v) = s.post("/v2/{p}/source", json!({"video_source_name": "vcn cam", "access_type": "cloud", "type": "vcn",
        "type_config": "<type_config><data_source_id>1#a</data_source_id><ip>10.0.0.1</ip><port>9000</port><user_name>u</user_name></type_config>"})).await;
    let vcn_cam = v["video_source_id"].as_str().unwrap().to_string();
    let path = |svc: &str| format!("/v2/{{p}}/services/{svc}/tasks");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = body("t1", &cam);
        f(&mut b);
        b
    };
    let cases: Vec<(String, Value, &str, &str)> = vec![
        (
            path("c-no-such-service"),
            body("t1", &cam),
            "VIAS.00010002",
            "service_name",
        ),
        (
            // Model-bound (issue 12): refused until a model package is bound.
            path("c-safetysuitedetection-cloud"),
            body("t1", &cam),
            "VIAS.00010002",
            "service_name",
        ),
        (
            path(INTRUSION),
            with(&|b| b["name"] = json!("bad name!")),
            "VIAS.00010001",
            "name",
        ),
        (
            path(INTRUSION),
            with(&|b| {
                b.as_object_mut().unwrap().remove("name");
            }),
            "VIAS.00010001",
            "name",
        ),
        (
            path(INTRUSION),
            with(&|b| b["description"] = json!("x".repeat(501))),
            "VIAS.00010001",
            "description",
        ),
        (
            path(INTRUSION),
            with(&|b| b["service_version"] = json!("V3")),
            "VIAS.00010001",
            "service_version",
        ),
        (
            path(INTRUSION),
            with(&|b| b["resource_order_id"] = json!("no")),
            "VIAS.00010001",
            "resource_order_id",
        ),
        (
            path(INTRUSION),
            with(&|b| {
                b.as_object_mut().unwrap().remove("input");
            }),
            "VIAS.00010001",
            "input",
        ),
        (
            path(INTRUSION),
            with(&|b| b["input"] = json!({"type": "ftp", "data": [{}]})),
            "VIAS.00010001",
            "input.type",
        ),
        (
            path(INTRUSION),
            with(&|b| b["input"]["data"] = json!([{"video_source_id": "00000000-0000-4000-8000-000000000000"}])),
            "VIAS.00010002",
            "input.data[0].video_source_id",
        ),
        (
            path(INTRUSION),
            with(&|b| b["input"]["data"] = json!([{"video_source_id": edge_cam}])),
            "VIAS.00010001",
            "input.data[0].video_source_id",
        ),
        (
            path(INTRUSION),
            with(&|b| b["input"]["data"] = json!([{"video_source_id": vcn_cam}])),
            "VIAS.00010001",
            "input.data[0].video_source_id",
        ),
        (
            path("c-intrusiondetection-edge"),
            with(&|b| b["input"] = json!({"type": "url", "data": [{"url": "rtsp://h/s"}]})),
            "VIAS.00010001",
            "input.type",
        ),
        (
            path(INTRUSION),
            with(&|b| b["input"] = json!({"type": "url", "data": [{"url": "gopher://h/s"}]})),
            "VIAS.00010001",
            "input.data[0].url",
        ),
        (
            path(INTRUSION),
            with(&|b| b["output"] = json!({})),
            "VIAS.00010001",
            "output",
        ),
        (
            path(INTRUSION),
            with(&|b| b["output"] = json!({"webhook": {"url": "http://h/x"}})),
            "VIAS.00010001",
            "output.webhook.headers",
        ),
        (
            path(INTRUSION),
            with(&|b| b["output"] = json!({"dis": {"stream_name": "a b"}})),
            "VIAS.00010001",
            "output.dis.stream_name",
        ),
        (
            path(INTRUSION),
            with(&|b| b["config"]["common"]["image_compression_ratio"] = json!(101)),
            "VIAS.00010001",
            "config.common.image_compression_ratio",
        ),
        (
            path(INTRUSION),
            with(&|b| b["config"]["common"]["person_detection_sw"] = json!(2)),
            "VIAS.00010001",
            "config.common.person_detection_sw",
        ),
        (
            path(INTRUSION),
            with(&|b| b["config"]["common"]["no_such_key"] = json!(1)),
            "VIAS.00010001",
            "config.common.no_such_key",
        ),
        (
            path(INTRUSION),
            with(&|b| b["config"]["common"]["target_roi"] = json!("{not json")),
            "VIAS.00010001",
            "config.common.target_roi",
        ),
        (
            path(INTRUSION),
            with(&|b| b["config"]["common"]["target_roi"] = json!(r#"{"lines":[{"data":[[1,1]]}]}"#)),
            "VIAS.00010001",
            "config.common.target_roi.lines[0].data",
        ),
        (
            path(INTRUSION),
            with(&|b| b["config"] = json!("common")),
            "VIAS.00010001",
            "config",
        ),
        (
            path(INTRUSION),
            with(&|b| {
                b["schedule"] = json!({"type": "weekly", "days_of_week": [9], "periods": [["08:00:00", "09:00:00"]]})
            }),
            "VIAS.00010001",
            "schedule.days_of_week",
        ),
        (
            path(INTRUSION),
            with(&|b| {
                b["schedule"] = json!({"type": "monthly", "days_of_month": [1], "periods": [["08:00:00", "09:00:00"]]})
            }),
            "VIAS.00010001",
            "schedule.type",
        ),
        (
            path(INTRUSION),
            with(&|b| b["name"] = json!(7)),
            "VIAS.00010001",
            "name",
        ),
    ];
    for (p, b, code, param) in cases {
        let r = s.post(&p, b.clone()).await;
        assert_vias(&r, 400, code, Some(param));
    }
    // A valid schedule is accepted and reported.
    let ids = create(&s, INTRUSION, with(&|b| b["schedule"] = json!({"type": "weekly", "timezone": "GMT+08:00", "days_of_week": [1,2,3,4,5,6,7], "periods": [["00:00:00", "23:59:59"]]}))).await;
    let (_, d) = s.get(&format!("/v2/{{p}}/tasks/{}", ids[0])).await;
    assert_eq!(d["schedule_status"], "ACTIVATED");
    assert_eq!(d["schedule"]["timezone"], "GMT+08:00");
    assert_vias(
        &s.post(&path(INTRUSION), body("t1", &cam)).await,
        400,
        "VIAS.00010011",
        Some("name"),
    );
    s.finish().await;
}

async fn legacy(b: Backend) {
    let s = TestServer::start(b).await;
    let cam = source(&s, "cam").await;
    let svc = "c-flowcount-cloud";
    let legacy_body = json!({"name": "flow1", "service_version": "3.0",
        "input": {"type": "video_source", "data": [{"video_source_id": cam}]},
        "output": {"obs": {"bucket": "alarms", "path": "flow"}},
        "service_config": {"common": {"line_count_interval": 5}}});
    let (st, v) = s
        .post(&format!("/v2/{{p}}/services/{svc}/tasks"), legacy_body.clone())
        .await;
    assert_eq!(st, 200, "{v}");
    let id = v[0]["id"]
        .as_str()
        .expect("legacy create answers a bare array")
        .to_string();
    let base = format!("/v2/{{p}}/services/{svc}/tasks");
    let (st, d) = s.get(&format!("{base}/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(d["service_name"], svc);
    assert_eq!(d["service_title"]["zh"], "人流量统计");
    assert_eq!(d["service_config"]["common"]["line_count_interval"], 5);
    assert_eq!(d["output"]["obs"]["bucket"], "alarms");
    assert!(d.get("hosting_result").is_some());
    let (st, l) = s
        .get(&format!("{base}?offset=0&limit=10&order=name:ASC&state=PENDING"))
        .await;
    assert_eq!(st, 200);
    assert_eq!(l["count"], 1);
    let (_, l) = s.get(&format!("{base}?name_like=zzz")).await;
    assert_eq!(l["count"], 0);
    let (st, u) = s
        .put(
            &format!("{base}/{id}"),
            json!({"name": "flow2", "service_config": {"common": {"line_count_interval": 9}}}),
        )
        .await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(u["service_config"]["common"]["line_count_interval"], 9);
    let (st, _) = s.post(&format!("{base}/{id}/stop"), json!({})).await;
    assert_eq!(st, 200);
    let (st, _) = s.post(&format!("{base}/{id}/start"), json!({})).await;
    assert_eq!(st, 200);
    // Shape C errors.
    let (st, e) = s.get(&format!("{base}/0123456789abcdef0123456789abcdef")).await;
    assert_eq!((st.as_u16(), e["error_code"].as_str()), (404, Some("IVA.0005")));
    assert!(e["error_message"].is_string() && e.get("error_msg").is_none(), "{e}");
    let (st, e) = s.post(&format!("{base}/{id}/start"), json!({})).await;
    assert_eq!((st.as_u16(), e["error_code"].as_str()), (403, Some("IVA.0009")));
    let mut bad = legacy_body.clone();
    bad["service_config"]["common"]["line_count_interval"] = json!("x");
    let (st, e) = s.post(&format!("/v2/{{p}}/services/{svc}/tasks"), bad).await;
    assert_eq!((st.as_u16(), e["error_code"].as_str()), (400, Some("IVA.0004")));
    assert!(e["error_message"]
        .as_str()
        .unwrap()
        .contains("service_config.common.line_count_interval"));
    let (st, e) = s.get(&format!("{base}?limit=0")).await;
    assert_eq!((st.as_u16(), e["error_code"].as_str()), (400, Some("IVA.0004")));
    // The task is under the other service's routes only.
    let (st, _) = s.get(&format!("/v2/{{p}}/services/{INTRUSION}/tasks/{id}")).await;
    assert_eq!(st, 404);
    let (st, _) = s.delete(&format!("{base}/{id}")).await;
    assert_eq!(st, 200);
    s.finish().await;
}

async fn batches(b: Backend) {
    let s = TestServer::start(b).await;
    let c1 = source(&s, "c1").await;
    let c2 = source(&s, "c2").await;
    let c3 = source(&s, "c3").await;
    let (_, g) = s
        .post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "gate", "access_type": "cloud", "video_source_ids": [c1, c2, c3]}),
        )
        .await;
    let g = g["video_group_id"].as_str().unwrap().to_string();
    let mut bb = body("gatebatch", &c1);
    bb.as_object_mut().unwrap().remove("input");
    bb["service_name"] = json!(INTRUSION);
    bb["batch_input"] = json!({"video_source_group": [{"video_source_group_id": g, "video_source_list": [
        {"video_source_id": c1, "target_roi": "{\"lines\":[{\"data\":[[0,300],[768,300]]}]}"}, {"video_source_id": c2}]}]});
    let (st, r) = s.post("/v2/{p}/batch-tasks", bb.clone()).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (
            r["total_count"].as_i64(),
            r["succeed_count"].as_i64(),
            r["failed_count"].as_i64()
        ),
        (Some(2), Some(2), Some(0))
    );
    let bid = r["id"].as_str().unwrap().to_string();
    let (_, t) = s.get(&format!("/v2/{{p}}/tasks?batch_id={bid}")).await;
    assert_eq!(t["count"], 2);
    let first = t["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["video_source_name"] == "c1")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, d) = s.get(&format!("/v2/{{p}}/tasks/{first}")).await;
    assert!(
        d["config"]["common"]["target_roi"].as_str().unwrap().contains("lines"),
        "per-source ROI override"
    );
    let (_, gv) = s.get(&format!("/v2/{{p}}/video-group/{g}")).await;
    assert_eq!(gv["num_batch_task"], 1);
    let (st, l) = s.get("/v2/{p}/batch-tasks?is_paged=true&page_size=5&page_num=1").await;
    assert_eq!(st, 200, "{l}");
    assert_eq!(l["count"], 1);
    let item = &l["batch_task_list"][0];
    assert_eq!(item["batch_task_name"], "gatebatch");
    assert_eq!(item["num_task"], 2);
    assert_eq!(item["batch_task_status_info"]["pending"], 2);
    assert_eq!(item["video_group_name"], "gate");
    for (q, n) in [
        ("?task_state=pending", 1),
        ("?task_state=running", 0),
        ("?name_like=GATE", 1),
        ("?type_like=publish_service_name&name_like=intrusion", 1),
        ("?video_group=gate", 1),
        ("?video_group=other", 0),
    ] {
        let (_, v) = s.get(&format!("/v2/{{p}}/batch-tasks{q}")).await;
        assert_eq!(v["count"], n, "{q}");
    }
    assert_vias(
        &s.get("/v2/{p}/batch-tasks?task_state=PENDING").await,
        400,
        "VIAS.00010001",
        Some("task_state"),
    );
    // Whole group (c1, c2, c3): one created, two updated.
    let (st, r) = s
        .put(
            &format!("/v2/{{p}}/batch-tasks/{bid}"),
            json!({"name": "gatebatch", "batch_input": {"video_source_group": [{"video_source_group_id": g}]}}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["total_count"].as_i64(), r["succeed_count"].as_i64()),
        (Some(3), Some(3))
    );
    let (_, t) = s.get(&format!("/v2/{{p}}/tasks?batch_id={bid}")).await;
    assert_eq!(t["count"], 3);
    let (st, r) = s
        .put(&format!("/v2/{{p}}/batch-tasks/{bid}/action/stop"), json!({}))
        .await;
    assert_eq!((st.as_u16(), r["succeed_count"].as_i64()), (200, Some(3)));
    let (_, r) = s
        .put(&format!("/v2/{{p}}/batch-tasks/{bid}/action/stop"), json!({}))
        .await;
    assert_eq!(r["failed_count"], 3, "stopping stopped tasks fails per task");
    assert_eq!(r["error_list"].as_array().unwrap().len(), 3);
    let (_, r) = s
        .put(&format!("/v2/{{p}}/batch-tasks/{bid}/action/start"), json!({}))
        .await;
    assert_eq!(r["succeed_count"], 3);
    // Errors.
    let mut no_group = bb.clone();
    no_group["batch_input"] =
        json!({"video_source_group": [{"video_source_group_id": "00000000-0000-4000-8000-000000000000"}]});
    no_group["name"] = json!("other");
    assert_vias(
        &s.post("/v2/{p}/batch-tasks", no_group).await,
        400,
        "VIAS.00010002",
        Some("batch_input.video_source_group[0].video_source_group_id"),
    );
    let mut bad_cfg = bb.clone();
    bad_cfg["name"] = json!("other");
    bad_cfg["config"]["common"]["image_compression_ratio"] = json!(5);
    assert_vias(
        &s.post("/v2/{p}/batch-tasks", bad_cfg).await,
        400,
        "VIAS.00010001",
        Some("config.common.image_compression_ratio"),
    );
    assert_vias(
        &s.post("/v2/{p}/batch-tasks", bb.clone()).await,
        400,
        "VIAS.00010011",
        Some("name"),
    );
    assert_vias(
        &s.put(
            "/v2/{p}/batch-tasks/0123456789abcdef0123456789abcdef/action/start",
            json!({}),
        )
        .await,
        400,
        "VIAS.00010008",
        Some("id"),
    );
    // Delete removes its tasks; the group can be deleted again.
    let (st, r) = s.delete(&format!("/v2/{{p}}/batch-tasks/{bid}")).await;
    assert_eq!((st.as_u16(), r["total_count"].as_i64()), (200, Some(3)));
    let (_, t) = s.get("/v2/{p}/tasks").await;
    assert_eq!(t["count"], 0);
    let (st, _) = s.delete(&format!("/v2/{{p}}/video-group/{g}")).await;
    assert_eq!(st, 200);
    s.finish().await;
}

both_backends!(platform, create_errors, legacy, batches);
