//! Video Center endpoints (spec §2) over HTTP against a real server, on SQLite and PostgreSQL:
//! happy paths, every documented error code, every list filter, sort and pagination.

mod common;

use common::{assert_vias, url_source, Backend, TestServer};
use serde_json::{json, Value};

async fn create(s: &TestServer, body: Value) -> String {
    let (st, v) = s.post("/v2/{p}/source", body).await;
    assert_eq!(st, 200, "{v}");
    v["video_source_id"].as_str().unwrap().to_string()
}

async fn create_group(s: &TestServer, body: Value) -> String {
    let (st, v) = s.post("/v2/{p}/video-group", body).await;
    assert_eq!(st, 200, "{v}");
    v["video_group_id"].as_str().unwrap().to_string()
}

async fn sql(s: &TestServer, q: &str) {
    use sqlx::Executor;
    s.store.pool().execute(q).await.unwrap();
}

async fn add_task(s: &TestServer, source: &str, n: usize) {
    for i in 0..n {
        let id = vigil_core::ids::new_hex32_id();
        sql(
            s,
            &format!(
            "INSERT INTO tasks (id, project_id, name, service_name, video_source_id, state, created_at, updated_at) \
             VALUES ('{id}', '{}', 't{i}{id}', 'c-intrusiondetection-cloud', '{source}', 'RUNNING', 1, 1)",
            s.a.project_id
        ),
        )
        .await;
        // Rows written behind the store's back keep its source counter too.
        sql(
            s,
            &format!("UPDATE video_sources SET num_tasks = num_tasks + 1 WHERE id = '{source}'"),
        )
        .await;
    }
}

fn ids(v: &Value, list: &str, key: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap().to_string())
        .collect()
}

async fn source_crud(b: Backend) {
    let s = TestServer::start(b).await;
    let g = create_group(
        &s,
        json!({"video_group_name": "east", "access_type": "edge", "description": "gate"}),
    )
    .await;
    let vcn = "<type>VCN</type><config><DATA_SOURCE_ID>21356478954612546874#gdhj</DATA_SOURCE_ID><STREAM_TYPE>1</STREAM_TYPE>\
<IP>10.1.1.1</IP><PORT>9000</PORT><USER_NAME>admin</USER_NAME><PASSWORD>Cam-Pass-1</PASSWORD></config>";
    let id = create(&s, json!({"video_source_name": "East gate (1)", "access_type": "edge", "type": "vcn",
        "latitude": "31.23000", "longitude": "121.47000", "video_group_ids": [g], "type_config": vcn, "tag": ["gate", "东门"]}))
    .await;
    assert!(vigil_core::ids::is_resource_id(&id));

    let (st, d) = s.get(&format!("/v2/{{p}}/source/sources/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(d["video_source_name"], "East gate (1)");
    assert_eq!(d["access_type"], "edge");
    assert_eq!(d["type"], "vcn");
    assert_eq!(d["status"], json!({"status": "Offline", "name": "离线", "level": "2"}));
    assert_eq!(d["latitude"], "31.23000");
    assert!(d["create_at"].as_i64().unwrap() > 1_700_000_000_000);
    assert!(d.get("video_source_id").is_none(), "detail does not repeat the id");
    let tc = d["type_config"].as_str().unwrap();
    assert!(
        tc.contains("<PASSWORD>******</PASSWORD>") && !tc.contains("Cam-Pass-1"),
        "password masked: {tc}"
    );
    assert_eq!(d["video_packages"][0]["video_group_id"], g.as_str());
    assert_eq!(d["video_packages"][0]["num_video_source"], 1);
    assert_eq!(
        d["video_packages"][0]["group_status"],
        json!({"num_online": 0, "num_exception": 0, "num_offline": 1})
    );
    assert_eq!(d["tag"], json!(["gate", "东门"]));
    for k in ["service_config_templates", "scene_recommend", "video_source_quality"] {
        assert_eq!(d[k], json!([]), "{k}");
    }
    for k in ["stream_path", "image"] {
        assert!(d[k].is_string(), "{k}");
    }
    // At rest: the password is sealed, never stored in the clear.
    let rec = s.store.get_source(&s.a.project_id, &id).await.unwrap().source;
    assert!(!rec.type_config.contains("Cam-Pass-1"));
    assert_eq!(
        s.secrets.open(rec.password_sealed.as_deref().unwrap()).unwrap(),
        "Cam-Pass-1"
    );

    // Update: rename, new tags; a masked password keeps the stored one.
    let masked = vcn.replace("Cam-Pass-1", "******").replace("9000", "9001");
    let (st, u) = s
        .put(
            &format!("/v2/{{p}}/source/{id}"),
            json!({"video_source_name": "East gate 2", "tag": ["x"], "type_config": masked}),
        )
        .await;
    assert_eq!(st, 200, "{u}");
    assert_eq!(u["video_source_name"], "East gate 2");
    assert_eq!(u["tag"], json!(["x"]));
    assert_eq!(u["latitude"], "31.23000", "omitted fields stay");
    assert!(u["type_config"].as_str().unwrap().contains("<PORT>9001</PORT>"));
    let rec = s.store.get_source(&s.a.project_id, &id).await.unwrap().source;
    assert_eq!(
        s.secrets.open(rec.password_sealed.as_deref().unwrap()).unwrap(),
        "Cam-Pass-1"
    );
    // A new password replaces it.
    let newpw = vcn.replace("Cam-Pass-1", "New-Pass");
    let (st, _) = s
        .put(
            &format!("/v2/{{p}}/source/{id}"),
            json!({"video_source_name": "East gate 2", "type_config": newpw}),
        )
        .await;
    assert_eq!(st, 200);
    let rec = s.store.get_source(&s.a.project_id, &id).await.unwrap().source;
    assert_eq!(
        s.secrets.open(rec.password_sealed.as_deref().unwrap()).unwrap(),
        "New-Pass"
    );

    // URL sources know their stream path; generation-2 XML is echoed as stored.
    let u2 = create(&s, url_source("cam-url")).await;
    let (_, d2) = s.get(&format!("/v2/{{p}}/source/sources/{u2}")).await;
    assert_eq!(d2["stream_path"], "rtsp://127.0.0.1:8554/cam");
    assert_eq!(d2["type_config"], url_source("x")["type_config"]);

    let (st, body) = s.delete(&format!("/v2/{{p}}/source/{id}")).await;
    assert_eq!(st, 200);
    assert!(body.is_string());
    assert_vias(
        &s.get(&format!("/v2/{{p}}/source/sources/{id}")).await,
        400,
        "VIAS.00010002",
        Some("video_source_id"),
    );
    let (_, gv) = s.get(&format!("/v2/{{p}}/video-group/{g}")).await;
    assert_eq!(gv["num_video_source"], 0, "membership removed with the source");
    s.finish().await;
}

async fn source_errors(b: Backend) {
    let cfg = vigil_api::ApiConfig {
        source_quota: 3,
        ..Default::default()
    };
    let s = TestServer::start_with(b, cfg).await;
    let base = url_source("ok");
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with("video_source_name", json!("")),
            "VIAS.00010001",
            "video_source_name",
        ),
        (
            with("video_source_name", json!(" lead")),
            "VIAS.00010001",
            "video_source_name",
        ),
        (
            with("video_source_name", json!("a/b")),
            "VIAS.00010001",
            "video_source_name",
        ),
        (
            with("video_source_name", json!("x".repeat(101))),
            "VIAS.00010001",
            "video_source_name",
        ),
        (
            with("video_source_name", json!(5)),
            "VIAS.00010001",
            "video_source_name",
        ),
        (with("access_type", json!("space")), "VIAS.00010001", "access_type"),
        (with("type", json!("ftp")), "VIAS.00010001", "type"),
        (with("latitude", json!("95")), "VIAS.00010001", "latitude"),
        (with("longitude", json!("east")), "VIAS.00010001", "longitude"),
        (with("tag", json!(["a", "b", "c", "d", "e"])), "VIAS.00010001", "tag"),
        (with("tag", json!(["ok", "has space"])), "VIAS.00010001", "tag[1]"),
        (
            with("video_group_ids", json!(["BAD!"])),
            "VIAS.00010001",
            "video_group_ids[0]",
        ),
        (
            with("video_group_ids", json!(["0123-4567-89ab"])),
            "VIAS.00010002",
            "video_group_ids",
        ),
        (
            with(
                "type_config",
                json!("<type_config><url_address>ftp://x/y</url_address></type_config>"),
            ),
            "VIAS.00010001",
            "type_config.url_address",
        ),
        (
            with(
                "type_config",
                json!("<type_config><url_address>rtsp://x/y</url_address>"),
            ),
            "VIAS.00010001",
            "type_config",
        ),
        (
            with(
                "type_config",
                json!("<type_config><url_address>rtsps://x/y</url_address><certificate_check>maybe</certificate_check></type_config>"),
            ),
            "VIAS.00010001",
            "type_config.certificate_check",
        ),
        (with("type_config", json!("")), "VIAS.00010001", "type_config"),
        (
            with("type_config", json!("x".repeat(1025))),
            "VIAS.00010001",
            "type_config",
        ),
        (
            json!({"access_type": "cloud", "type": "url", "type_config": "<type_config/>"}),
            "VIAS.00010001",
            "video_source_name",
        ),
        (
            json!({"video_source_name": "a", "access_type": "cloud", "type": "ivm",
                "type_config": "<type_config><device_id>d</device_id><channel_id>c</channel_id></type_config>"}),
            "VIAS.0010046",
            "type",
        ),
        (
            json!({"video_source_name": "a", "access_type": "edge", "type": "obs",
                "type_config": "<type_config><bucket>bkt</bucket><path>a.mp4</path></type_config>"}),
            "VIAS.00010001",
            "type",
        ),
        (
            json!({"video_source_name": "a", "access_type": "cloud", "type": "restful",
                "type_config": "<type_config><url>http://h/x</url><rtsp_url>/data</rtsp_url></type_config>"}),
            "VIAS.00010001",
            "type_config.rtsp_url",
        ),
    ];
    for (body, code, param) in cases {
        let r = s.post("/v2/{p}/source", body.clone()).await;
        assert_vias(&r, 400, code, Some(param));
    }
    // A group of the other access type is refused.
    let edge = create_group(&s, json!({"video_group_name": "edgeg", "access_type": "edge"})).await;
    assert_vias(
        &s.post("/v2/{p}/source", with("video_group_ids", json!([edge]))).await,
        400,
        "VIAS.00010001",
        Some("video_group_ids[0]"),
    );
    // Duplicate name, then the quota.
    create(&s, url_source("one")).await;
    assert_vias(
        &s.post("/v2/{p}/source", url_source("one")).await,
        400,
        "VIAS.00010010",
        Some("video_source_name"),
    );
    create(&s, url_source("two")).await;
    let three = create(&s, url_source("three")).await;
    assert_vias(
        &s.post("/v2/{p}/source", url_source("four")).await,
        400,
        "VIAS.0010047",
        None,
    );
    // Path ids.
    assert_vias(
        &s.get("/v2/{p}/source/sources/NOT_AN_ID").await,
        400,
        "VIAS.00010001",
        Some("video_source_id"),
    );
    let missing = "00000000-0000-4000-8000-000000000000";
    assert_vias(
        &s.get(&format!("/v2/{{p}}/source/sources/{missing}")).await,
        400,
        "VIAS.00010002",
        Some("video_source_id"),
    );
    assert_vias(
        &s.put(
            &format!("/v2/{{p}}/source/{missing}"),
            json!({"video_source_name": "x"}),
        )
        .await,
        400,
        "VIAS.00010002",
        Some("video_source_id"),
    );
    assert_vias(
        &s.delete(&format!("/v2/{{p}}/source/{missing}")).await,
        400,
        "VIAS.00010002",
        Some("video_source_id"),
    );
    // Update rules: name required, duplicate name, bad fields.
    assert_vias(
        &s.put(&format!("/v2/{{p}}/source/{three}"), json!({"tag": []})).await,
        400,
        "VIAS.00010001",
        Some("video_source_name"),
    );
    assert_vias(
        &s.put(
            &format!("/v2/{{p}}/source/{three}"),
            json!({"video_source_name": "one"}),
        )
        .await,
        400,
        "VIAS.00010010",
        Some("video_source_name"),
    );
    assert_vias(
        &s.put(
            &format!("/v2/{{p}}/source/{three}"),
            json!({"video_source_name": "three", "latitude": "-91"}),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("latitude"),
    );
    assert_vias(
        &s.put(
            &format!("/v2/{{p}}/source/{three}"),
            json!({"video_source_name": "three", "type_config": "<type_config/>"}),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("type_config.url_address"),
    );
    // Vigil's per-source opt-out of the rtsps:// certificate check is accepted and kept.
    let self_signed = "<type_config><url_address>rtsps://127.0.0.1:8322/cam</url_address>\
<certificate_check>false</certificate_check></type_config>";
    let (st, v) = s
        .put(
            &format!("/v2/{{p}}/source/{three}"),
            json!({"video_source_name": "three", "type_config": self_signed}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = s.get(&format!("/v2/{{p}}/source/sources/{three}")).await;
    assert_eq!(st, 200, "{v}");
    assert!(
        v.to_string().contains("<certificate_check>false</certificate_check>"),
        "{v}"
    );
    // A source used by a task cannot be deleted.
    add_task(&s, &three, 1).await;
    assert_vias(
        &s.delete(&format!("/v2/{{p}}/source/{three}")).await,
        500,
        "VIAS.00010012",
        None,
    );
    s.finish().await;
}

async fn source_list_filters(b: Backend) {
    let s = TestServer::start(b).await;
    let ga = create_group(&s, json!({"video_group_name": "alpha", "access_type": "cloud"})).await;
    let gb = create_group(&s, json!({"video_group_name": "beta", "access_type": "edge"})).await;
    let mk = |name: &str, access: &str, ty: &str, tc: &str, groups: Vec<&str>, tag: Vec<&str>| json!({"video_source_name": name, "access_type": access, "type": ty, "type_config": tc, "video_group_ids": groups, "tag": tag});
    let url = "<type_config><url_address>rtsp://h/s</url_address></type_config>";
    let obs = "<type_config><bucket>videos</bucket><path>a.mp4</path></type_config>";
    let cam = "<type_config><device_id>dev1</device_id><name>c</name></type_config>";
    let s1 = create(&s, mk("Front Door", "cloud", "url", url, vec![&ga], vec!["door"])).await;
    let s2 = create(&s, mk("Back door", "cloud", "obs", obs, vec![&ga], vec![])).await;
    let s3 = create(&s, mk("Yard cam", "edge", "camera", cam, vec![&gb], vec!["yard"])).await;
    let s4 = create(&s, mk("Lobby", "cloud", "url", url, vec![], vec!["door"])).await;
    // Statuses: s1 online, s3 abnormal; tasks: s4 has 2, s2 has 1; templates: s3 has 1.
    for (id, level) in [(&s1, 1), (&s3, 9)] {
        s.store
            .set_source_health(
                id,
                vigil_store::video_sources::SourceHealth {
                    status: level,
                    stream_path: None,
                    image: None,
                    quality: vec![],
                    scene_recommend: None,
                },
            )
            .await
            .unwrap();
    }
    add_task(&s, &s4, 2).await;
    add_task(&s, &s2, 1).await;
    sql(&s, &format!("INSERT INTO source_templates (source_id, name, roi, service_config, create_at, modify_at) VALUES ('{s3}', 'c-intrusiondetection-edge', '{{}}', '{{}}', 1, 1)")).await;
    sql(
        &s,
        &format!("UPDATE video_sources SET num_templates = num_templates + 1 WHERE id = '{s3}'"),
    )
    .await;

    let list = |q: &str| format!("/v2/{{p}}/source/sources{q}");
    let (st, all) = s.get(&list("")).await;
    assert_eq!(st, 200);
    assert_eq!(all["video_source_number"], 4);
    assert_eq!(all["total_number"], 4);
    assert_eq!(all["quota_number"], 1000);
    assert_eq!(
        ids(&all, "video_source_list", "video_source_id"),
        vec![s4.clone(), s3.clone(), s2.clone(), s1.clone()],
        "create_at desc by default"
    );
    let item = &all["video_source_list"][3];
    for k in [
        "video_source_name",
        "status",
        "access_type",
        "type",
        "latitude",
        "longitude",
        "create_at",
        "video_packages",
        "num_tasks",
        "num_service_config_templates",
        "type_config",
        "tag",
        "stream_path",
        "scene_recommend",
        "video_source_quality",
    ] {
        assert!(item.get(k).is_some(), "list item lacks {k}");
    }
    assert!(item.get("image").is_none(), "list items carry no snapshot");

    let check = |q: &'static str, want: Vec<&String>| (q, want.into_iter().cloned().collect::<Vec<String>>());
    for (q, want) in [
        check("?order_by=asc", vec![&s1, &s2, &s3, &s4]),
        check("?scope=door", vec![&s2, &s1]),
        check("?scope=DOOR&scope_name=source_name", vec![&s2, &s1]),
        check("?scope=alp&scope_name=group_name", vec![&s2, &s1]),
        check("?status=1&status=9", vec![&s3, &s1]),
        check("?status=1,2", vec![&s4, &s2, &s1]),
        check("?type=obs&type=camera", vec![&s3, &s2]),
        check("?access_type=edge", vec![&s3]),
        check("?tag=door", vec![&s4, &s1]),
        check("?platform_name=hcs", vec![]),
        // Only the leaders are fixed; equal counts are ordered by id.
        check("?sort_name=num_task&order_by=desc", vec![&s4, &s2]),
        check("?sort_name=num_template", vec![&s3]),
        check(
            "?is_paged=true&page_size=5&page_num=1&order_by=asc",
            vec![&s1, &s2, &s3, &s4],
        ),
        check("?is_paged=true&page_size=5&page_num=2", vec![]),
        check("?is_paged=false&page_size=5&page_num=3", vec![&s4, &s3, &s2, &s1]),
    ] {
        let (st, v) = s.get(&list(q)).await;
        assert_eq!(st, 200, "{q}: {v}");
        let mut got = ids(&v, "video_source_list", "video_source_id");
        if q.starts_with("?sort_name") {
            assert_eq!(got.len(), 4, "{q}");
            got.truncate(want.len());
        } else if !q.contains("page_num=2") {
            assert_eq!(v["video_source_number"].as_u64().unwrap() as usize, got.len(), "{q}");
        }
        assert_eq!(got, want, "{q}");
    }
    // Group filter by id, and paging over more than one page.
    for i in 0..8 {
        create(&s, url_source(&format!("bulk {i}"))).await;
    }
    let (_, p1) = s.get(&list(&format!("?video_group_id={ga}"))).await;
    assert_eq!(
        ids(&p1, "video_source_list", "video_source_id"),
        vec![s2.clone(), s1.clone()]
    );
    let (_, pg1) = s.get(&list("?is_paged=true&page_size=5&page_num=1")).await;
    let (_, pg3) = s.get(&list("?is_paged=true&page_size=5&page_num=3")).await;
    assert_eq!(pg1["video_source_list"].as_array().unwrap().len(), 5);
    assert_eq!(pg3["video_source_list"].as_array().unwrap().len(), 2);
    assert_eq!(pg3["video_source_number"], 12);
    assert_eq!(pg3["video_source_list"][1]["video_source_id"], s1.as_str());
    // Counters shown per item.
    let (_, v) = s.get(&list("?tag=door&order_by=asc")).await;
    assert_eq!(v["video_source_list"][1]["num_tasks"], 2);
    assert_eq!(v["video_source_list"][0]["status"]["level"], "1");
    // Invalid query values.
    for (q, param) in [
        ("?page_size=4&is_paged=true", "page_size"),
        ("?page_size=201", "page_size"),
        ("?page_num=0", "page_num"),
        ("?status=3", "status"),
        ("?status=1&status=2&status=9&status=1", "status"),
        ("?type=ftp", "type"),
        ("?sort_name=name", "sort_name"),
        ("?order_by=up", "order_by"),
        ("?is_paged=maybe", "is_paged"),
        ("?scope_name=tag", "scope_name"),
        ("?access_type=space", "access_type"),
        ("?video_group_id=bad!id", "video_group_id"),
    ] {
        assert_vias(&s.get(&list(q)).await, 400, "VIAS.00010001", Some(param));
    }
    let long = format!("?scope={}", "x".repeat(256));
    assert_vias(&s.get(&list(&long)).await, 400, "VIAS.00010001", Some("scope"));
    s.finish().await;
}

async fn groups(b: Backend) {
    let cfg = vigil_api::ApiConfig {
        group_quota: 4,
        ..Default::default()
    };
    let s = TestServer::start_with(b, cfg).await;
    let c1 = create(&s, url_source("c1")).await;
    let c2 = create(
        &s,
        json!({"video_source_name": "c2", "access_type": "cloud", "type": "obs",
        "type_config": "<type_config><bucket>videos</bucket><path>b.mp4</path></type_config>"}),
    )
    .await;
    let e1 = create(
        &s,
        json!({"video_source_name": "e1", "access_type": "edge", "type": "url",
        "type_config": "<type_config><url_address>rtsp://h/e</url_address></type_config>"}),
    )
    .await;
    s.store
        .set_source_health(
            &c1,
            vigil_store::video_sources::SourceHealth {
                status: 1,
                stream_path: None,
                image: None,
                quality: vec![],
                scene_recommend: None,
            },
        )
        .await
        .unwrap();
    s.store
        .set_source_health(
            &c2,
            vigil_store::video_sources::SourceHealth {
                status: 9,
                stream_path: None,
                image: None,
                quality: vec![],
                scene_recommend: None,
            },
        )
        .await
        .unwrap();
    let g1 = create_group(
        &s,
        json!({"video_group_name": "lobby", "access_type": "cloud", "description": "d", "video_source_ids": [c1, c2]}),
    )
    .await;
    let g2 = create_group(
        &s,
        json!({"video_group_name": "yard_2", "access_type": "edge", "video_source_ids": [e1]}),
    )
    .await;
    let g3 = create_group(&s, json!({"video_group_name": "empty", "access_type": "cloud"})).await;

    let (st, v) = s.get(&format!("/v2/{{p}}/video-group/{g1}")).await;
    assert_eq!(st, 200);
    assert_eq!(v["video_group_id"], g1.as_str());
    assert_eq!(v["video_group_name"], "lobby");
    assert_eq!(v["description"], "d");
    assert_eq!(v["access_type"], "cloud");
    assert_eq!(v["num_video_source"], 2);
    assert_eq!(
        v["group_status"],
        json!({"num_online": 1, "num_exception": 1, "num_offline": 0})
    );
    assert_eq!(v["num_batch_task"], 0);
    assert!(v["create_at"].is_i64() && v["modify_at"].is_i64());

    // List, filters and sorts.
    let list = |q: &str| format!("/v2/{{p}}/video-group/groups{q}");
    let (_, all) = s.get(&list("")).await;
    assert_eq!(all["video_group_number"], 3);
    assert_eq!(all["total_number"], 3);
    assert_eq!(all["quota_number"], 4);
    assert_eq!(
        ids(&all, "video_group_list", "video_group_id"),
        vec![g3.clone(), g2.clone(), g1.clone()]
    );
    assert_eq!(all["video_group_list"][2]["type"], "obs,url");
    sql(
        &s,
        &format!("INSERT INTO batch_task_groups (batch_id, group_id) VALUES ('b1', '{g2}')"),
    )
    .await;
    for (q, want) in [
        ("?order_by=asc", vec![&g1, &g2, &g3]),
        ("?name=OB", vec![&g1]),
        ("?status=9", vec![&g1]),
        ("?status=2", vec![&g2]),
        ("?access_type=edge", vec![&g2]),
        ("?access_type=cloud&access_type=edge&order_by=asc", vec![&g1, &g2, &g3]),
        ("?has_task=true", vec![&g2]),
        ("?has_task=false&order_by=asc", vec![&g1, &g3]),
        ("?type=obs", vec![&g1]),
        ("?type=url&order_by=asc", vec![&g1, &g2]),
        ("?sort_name=num_video_source&order_by=desc", vec![&g1, &g2, &g3]),
        ("?sort_name=num_task&order_by=desc", vec![&g2]),
        (
            "?is_paged=true&page_size=5&page_num=1&order_by=asc",
            vec![&g1, &g2, &g3],
        ),
        ("?is_paged=true&page_size=5&page_num=2", vec![]),
    ] {
        let (st, v) = s.get(&list(q)).await;
        assert_eq!(st, 200, "{q}: {v}");
        let got = ids(&v, "video_group_list", "video_group_id");
        let want: Vec<String> = want.into_iter().cloned().collect();
        assert_eq!(&got[..want.len().min(got.len())], &want[..], "{q}");
        if !q.contains("sort_name=num_task") && !q.contains("page_num=2") {
            assert_eq!(got.len(), want.len(), "{q}");
        }
    }
    // Update: name, description, membership; modify_at sorting follows.
    let (st, body) = s
        .put(
            &format!("/v2/{{p}}/video-group/{g3}"),
            json!({"video_group_name": "renamed", "video_source_ids": [c2]}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    let (_, v) = s.get(&format!("/v2/{{p}}/video-group/{g3}")).await;
    assert_eq!(v["video_group_name"], "renamed");
    assert_eq!(v["num_video_source"], 1);
    let (_, v) = s.get(&list("?sort_name=modify_at&order_by=desc")).await;
    assert_eq!(v["video_group_list"][0]["video_group_id"], g3.as_str());
    let (_, d) = s.get(&format!("/v2/{{p}}/source/sources/{c2}")).await;
    assert_eq!(d["video_packages"].as_array().unwrap().len(), 2, "M:N membership");

    // Errors.
    assert_vias(
        &s.post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "lobby", "access_type": "cloud"}),
        )
        .await,
        400,
        "VIAS.00010003",
        Some("video_group_name"),
    );
    assert_vias(
        &s.post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "has space", "access_type": "cloud"}),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("video_group_name"),
    );
    assert_vias(
        &s.post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "x".repeat(21), "access_type": "cloud"}),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("video_group_name"),
    );
    assert_vias(
        &s.post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "g", "access_type": "sky"}),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("access_type"),
    );
    assert_vias(
        &s.post("/v2/{p}/video-group", json!({"access_type": "cloud"})).await,
        400,
        "VIAS.00010001",
        Some("video_group_name"),
    );
    assert_vias(
        &s.post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "g", "access_type": "cloud", "description": "x".repeat(256)}),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("description"),
    );
    assert_vias(&s.post("/v2/{p}/video-group", json!({"video_group_name": "g", "access_type": "cloud", "video_source_ids": ["00000000-0000-4000-8000-000000000000"]})).await, 400, "VIAS.00010002", Some("video_source_ids"));
    assert_vias(
        &s.post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "g", "access_type": "cloud", "video_source_ids": [e1]}),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("video_source_ids[0]"),
    );
    assert_vias(
        &s.put(&format!("/v2/{{p}}/video-group/{g1}"), json!({"video_source_ids": []}))
            .await,
        400,
        "VIAS.00010001",
        Some("video_source_ids"),
    );
    let many: Vec<String> = (0..51).map(|i| format!("id-{i:04}")).collect();
    assert_vias(
        &s.put(
            &format!("/v2/{{p}}/video-group/{g1}"),
            json!({"video_source_ids": many}),
        )
        .await,
        400,
        "VIAS.00010001",
        Some("video_source_ids"),
    );
    assert_vias(
        &s.put(
            &format!("/v2/{{p}}/video-group/{g1}"),
            json!({"video_group_name": "yard_2"}),
        )
        .await,
        400,
        "VIAS.00010003",
        Some("video_group_name"),
    );
    let missing = "00000000-0000-4000-8000-000000000000";
    for r in [
        s.get(&format!("/v2/{{p}}/video-group/{missing}")).await,
        s.put(&format!("/v2/{{p}}/video-group/{missing}"), json!({})).await,
        s.delete(&format!("/v2/{{p}}/video-group/{missing}")).await,
    ] {
        assert_vias(&r, 400, "VIAS.00010002", Some("video_group_id"));
    }
    assert_vias(
        &s.get("/v2/{p}/video-group/BAD!").await,
        400,
        "VIAS.00010001",
        Some("video_group_id"),
    );
    for (q, p) in [
        ("?page_size=1", "page_size"),
        ("?status=4", "status"),
        ("?has_task=yes", "has_task"),
        ("?sort_name=name", "sort_name"),
        ("?type=ftp", "type"),
    ] {
        assert_vias(&s.get(&list(q)).await, 400, "VIAS.00010001", Some(p));
    }
    // Quota: a 4th group fits, a 5th does not.
    create_group(&s, json!({"video_group_name": "four", "access_type": "cloud"})).await;
    assert_vias(
        &s.post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "five", "access_type": "cloud"}),
        )
        .await,
        400,
        "IVA.0012",
        None,
    );
    // A group used by a batch task cannot be deleted; others can, sources stay.
    assert_vias(
        &s.delete(&format!("/v2/{{p}}/video-group/{g2}")).await,
        500,
        "VIAS.00010012",
        None,
    );
    let (st, _) = s.delete(&format!("/v2/{{p}}/video-group/{g1}")).await;
    assert_eq!(st, 200);
    let (st, _) = s.get(&format!("/v2/{{p}}/source/sources/{c1}")).await;
    assert_eq!(st, 200);
    s.finish().await;
}

/// Parallel creates stop exactly at the quota: far from it they bump different counter slots
/// (PostgreSQL), near it they count holding every slot.
async fn parallel_creates_keep_the_quota(b: Backend) {
    let cfg = vigil_api::ApiConfig {
        source_quota: 40,
        ..Default::default()
    };
    let s = TestServer::start_with(b, cfg).await;
    let wave = |from: usize, n: usize| {
        futures_util::future::join_all((from..from + n).map(|k| {
            let s = &s;
            async move { s.post("/v2/{p}/source", url_source(&format!("cam-{k}"))).await }
        }))
    };
    let refused = |answers: &[(reqwest::StatusCode, Value)]| {
        for (st, v) in answers.iter().filter(|(st, _)| !st.is_success()) {
            assert_eq!(
                (st.as_u16(), v["error_code"].as_str()),
                (400, Some("VIAS.0010047")),
                "{v}"
            );
        }
        answers.iter().filter(|(st, _)| !st.is_success()).count()
    };
    let total = || async {
        let (_, v) = s
            .get("/v2/{p}/source/sources?is_paged=true&page_size=5&page_num=1")
            .await;
        v["total_number"].as_i64().expect("total_number")
    };
    let first = wave(0, 60).await;
    assert_eq!(refused(&first), 20);
    assert_eq!(total().await, 40);
    let made: Vec<String> = first
        .iter()
        .filter(|(st, _)| st.is_success())
        .map(|(_, v)| v["video_source_id"].as_str().unwrap().to_string())
        .collect();
    for id in &made[..5] {
        let (st, v) = s.delete(&format!("/v2/{{p}}/source/{id}")).await;
        assert!(st.is_success(), "{v}");
    }
    assert_eq!(total().await, 35);
    // Near the quota, parallel creates of one name: one is made, the others are duplicates.
    let same = futures_util::future::join_all((0..6).map(|_| s.post("/v2/{p}/source", url_source("same")))).await;
    let codes: Vec<_> = same
        .iter()
        .map(|(st, v)| (st.as_u16(), v["error_code"].clone()))
        .collect();
    assert_eq!(codes.iter().filter(|(st, _)| *st == 200).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|(_, c)| c == "VIAS.00010010").count(),
        5,
        "{codes:?}"
    );
    assert_eq!(refused(&wave(100, 12).await), 8);
    assert_eq!(total().await, 40);
    // The rows themselves, not only the counter.
    let (_, v) = s
        .get("/v2/{p}/source/sources?is_paged=true&page_size=50&page_num=1")
        .await;
    assert_eq!(v["video_source_list"].as_array().map(Vec::len), Some(40));
    s.finish().await;
}

both_backends!(
    source_crud,
    source_errors,
    source_list_filters,
    groups,
    parallel_creates_keep_the_quota
);
