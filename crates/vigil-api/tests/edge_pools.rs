//! Operation Center (spec §4.6) over HTTP against a real server, on SQLite and PostgreSQL: every
//! edge-pool route's happy path and documented errors, pool membership (listed nodes and nodes
//! joining by `--pool`), node and pool state from heartbeats, and the deployments repository the
//! Algorithm Center and the scheduler build on.

mod common;

use common::{assert_vias, Backend, TestServer};
use serde_json::{json, Value};
use vigil_store::algorithm_deployments::{Deployment, SERVICE_RUNNING, SERVICE_STOPPED};
use vigil_store::nodes::{Accelerator, NodeRecord};

async fn sql(s: &TestServer, q: &str) {
    use sqlx::Executor;
    s.store.pool().execute(q).await.unwrap();
}

async fn register(s: &TestServer, id: &str, pools: &[&str], gpus: Vec<Accelerator>) {
    let n = NodeRecord {
        id: id.into(),
        name: format!("host-{id}"),
        description: String::new(),
        cpu: 16,
        arch: "x86_64".into(),
        memory: 64_000,
        gpu_info: gpus,
        npu_info: vec![],
        version: "0.1.0".into(),
        pools: pools.iter().map(|p| p.to_string()).collect(),
        lease_ttl: 15_000,
        started_at: 0,
        heartbeat_at: 0,
    };
    s.store.upsert_node(&n).await.unwrap();
}

/// The node stops heartbeating: its last beat is older than its lease TTL.
async fn silence(s: &TestServer, id: &str) {
    sql(
        s,
        &format!("UPDATE nodes SET heartbeat_at = heartbeat_at - 60000 WHERE id = '{id}'"),
    )
    .await;
}

async fn create_pool(s: &TestServer, body: Value) -> String {
    let (st, v) = s.post("/v2/{p}/edge-pools", body).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    v["id"].as_str().unwrap().to_string()
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn names(v: &Value) -> Vec<String> {
    v["edge_pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

async fn pools_crud(b: Backend) {
    let s = TestServer::start(b).await;
    let h100 = Accelerator {
        name: "NVIDIA H100 80GB HBM3".into(),
        driver_version: "550.54.15".into(),
        kind: "GPU".into(),
        capacity: 81559,
    };
    register(&s, "w1", &["pool-a"], vec![]).await;
    register(&s, "w2", &["pool-a", "pool-x"], vec![]).await;
    register(&s, "gpu-1", &[], vec![h100]).await;
    sql(&s, "UPDATE nodes SET description = 'rack 3' WHERE id = 'gpu-1'").await;

    // pool-a: members join by name; pool-b: a listed node; pool-c: no member at all.
    let a = create_pool(&s, json!({"name": "pool-a", "nodes": []})).await;
    let b_id = create_pool(
        &s,
        json!({"name": "pool-b", "description": "gpu pool", "ief_service_instance_id": "ief-1", "nodes": ["gpu-1"]}),
    )
    .await;
    let c = create_pool(&s, json!({"name": "pool-c"})).await;

    let (st, v) = s.get(&format!("/v2/{{p}}/edge-pools/{a}")).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        keys(&v),
        [
            "created_at",
            "description",
            "id",
            "name",
            "nodes",
            "project_id",
            "state",
            "updated_at",
            "workspace_id"
        ]
    );
    assert_eq!(v["state"], "Running");
    assert_eq!(v["project_id"], s.a.project_id.as_str());
    assert_eq!(v["workspace_id"], "0");
    let members: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["w1", "w2"]);
    let w1 = &v["nodes"][0];
    // `description` is omitted when empty.
    assert_eq!(
        keys(w1),
        [
            "arch",
            "cpu",
            "enable_gpu",
            "enable_npu",
            "gpu_info",
            "id",
            "memory",
            "name",
            "npu_info",
            "state"
        ]
    );
    assert_eq!(w1["name"], "host-w1");
    assert_eq!(w1["state"], "Running");
    assert_eq!(w1["cpu"], 16);
    assert_eq!(w1["memory"], 64_000);
    assert_eq!(w1["enable_gpu"], false);
    assert_eq!(w1["gpu_info"], json!([]));

    let (_, v) = s.get(&format!("/v2/{{p}}/edge-pools/{b_id}")).await;
    assert_eq!(v["description"], "gpu pool");
    assert_eq!(v["state"], "Running");
    let g = &v["nodes"][0];
    assert_eq!(g["id"], "gpu-1");
    assert_eq!(g["description"], "rack 3");
    assert_eq!(g["enable_gpu"], true);
    assert_eq!(g["enable_npu"], false);
    assert_eq!(
        g["gpu_info"],
        json!([{"name": "NVIDIA H100 80GB HBM3", "driver_version": "550.54.15", "type": "GPU", "capacity": 81559}])
    );
    let (_, v) = s.get(&format!("/v2/{{p}}/edge-pools/{c}")).await;
    assert_eq!(v["state"], "Abnormal", "a pool without members");
    assert_eq!(v["nodes"], json!([]));

    // List: shape, filters, sort and paging.
    let (st, v) = s.get("/v2/{p}/edge-pools").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(keys(&v), ["count", "edge_pools"]);
    assert_eq!(v["count"], 3);
    assert_eq!(names(&v), ["pool-c", "pool-b", "pool-a"], "newest first by default");
    assert_eq!(
        keys(&v["edge_pools"][0]),
        [
            "created_at",
            "description",
            "id",
            "name",
            "project_id",
            "state",
            "updated_at",
            "workspace_id"
        ]
    );
    let (_, v) = s.get("/v2/{p}/edge-pools?order_by=asc&sort_name=updated_at").await;
    assert_eq!(names(&v), ["pool-a", "pool-b", "pool-c"]);
    let (_, v) = s
        .get("/v2/{p}/edge-pools?is_paged=true&page_size=2&page_num=2&order_by=asc")
        .await;
    assert_eq!(v["count"], 3);
    assert_eq!(names(&v), ["pool-c"]);
    let (_, v) = s.get("/v2/{p}/edge-pools?name_like=ol-b").await;
    assert_eq!(names(&v), ["pool-b"]);
    assert_eq!(v["count"], 1);
    let (_, v) = s.get("/v2/{p}/edge-pools?state=Running").await;
    assert_eq!(names(&v), ["pool-b", "pool-a"]);

    // w1 stops heartbeating: it shows Abnormal, and so does its pool; pool-b is unaffected.
    silence(&s, "w1").await;
    let (_, v) = s.get(&format!("/v2/{{p}}/edge-pools/{a}")).await;
    assert_eq!(v["state"], "Abnormal");
    assert_eq!(v["nodes"][0]["state"], "Abnormal");
    assert_eq!(v["nodes"][1]["state"], "Running");
    let (_, v) = s.get("/v2/{p}/edge-pools?state=Abnormal&order_by=asc").await;
    assert_eq!(names(&v), ["pool-a", "pool-c"]);
    let (_, v) = s.get("/v2/{p}/edge-pools?state=Running").await;
    assert_eq!(names(&v), ["pool-b"]);
    // It comes back with its next heartbeat.
    assert!(s.store.heartbeat_node("w1").await.unwrap());
    let (_, v) = s.get(&format!("/v2/{{p}}/edge-pools/{a}")).await;
    assert_eq!(v["state"], "Running");
    // A listed node whose row was removed makes its pool Abnormal.
    assert!(s.store.delete_node("gpu-1").await.unwrap());
    assert_eq!(
        s.store.pool_state(&s.a.project_id, &b_id).await.unwrap().as_deref(),
        Some("Abnormal")
    );
    assert_eq!(s.store.pool_state(&s.a.project_id, "nope").await.unwrap(), None);

    // Pools are per project: tenant b sees none of a's, and may reuse the names.
    let (st, v) = s.call_as(&s.b, reqwest::Method::GET, "/v2/{p}/edge-pools", None).await;
    assert_eq!(st, 200);
    assert_eq!(v["count"], 0);
    let r = s
        .call_as(&s.b, reqwest::Method::GET, &format!("/v2/{{p}}/edge-pools/{a}"), None)
        .await;
    assert_vias(&r, 400, "VIAS.00010002", Some("id"));
    let (st, _) = s
        .call_as(
            &s.b,
            reqwest::Method::POST,
            "/v2/{p}/edge-pools",
            Some(json!({"name": "pool-a"})),
        )
        .await;
    assert_eq!(st, 200);

    // Delete answers the JSON string "success".
    let resp = s
        .http
        .delete(format!("{}/v2/{}/edge-pools/{c}", s.base, s.a.project_id))
        .header("X-Auth-Token", &s.a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.text().await.unwrap(), "\"success\"");
    assert_vias(
        &s.get(&format!("/v2/{{p}}/edge-pools/{c}")).await,
        400,
        "VIAS.00010002",
        Some("id"),
    );
    let (_, v) = s.get("/v2/{p}/edge-pools").await;
    assert_eq!(v["count"], 2);
    s.finish().await;
}

async fn pools_errors(b: Backend) {
    let cfg = vigil_api::ApiConfig {
        edge_pool_quota: 2,
        ..Default::default()
    };
    let s = TestServer::start_with(b, cfg).await;
    register(&s, "w1", &[], vec![]).await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({}), "VIAS.00010001", "name"),
        (json!({"name": 5}), "VIAS.00010001", "name"),
        (json!({"name": "abc"}), "VIAS.00010001", "name"),
        (json!({"name": "Pool-a"}), "VIAS.00010001", "name"),
        (json!({"name": "1pool"}), "VIAS.00010001", "name"),
        (json!({"name": "pool-"}), "VIAS.00010001", "name"),
        (json!({"name": "pool_a"}), "VIAS.00010001", "name"),
        (json!({"name": "a".repeat(33)}), "VIAS.00010001", "name"),
        (
            json!({"name": "pool-a", "description": "d".repeat(256)}),
            "VIAS.00010001",
            "description",
        ),
        (
            json!({"name": "pool-a", "ief_service_instance_id": "no spaces"}),
            "VIAS.00010001",
            "ief_service_instance_id",
        ),
        (json!({"name": "pool-a", "nodes": "w1"}), "VIAS.00010001", "nodes"),
        (
            json!({"name": "pool-a", "nodes": ["w1", ""]}),
            "VIAS.00010001",
            "nodes[1]",
        ),
        (
            json!({"name": "pool-a", "nodes": ["w1", "w1"]}),
            "VIAS.00010001",
            "nodes[1]",
        ),
        (
            json!({"name": "pool-a", "nodes": (0..101).map(|i| format!("n{i}")).collect::<Vec<_>>()}),
            "VIAS.00010001",
            "nodes",
        ),
        (
            json!({"name": "pool-a", "nodes": ["w1", "ghost"]}),
            "VIAS.00010002",
            "nodes[1]",
        ),
    ];
    for (body, code, param) in cases {
        let r = s.post("/v2/{p}/edge-pools", body.clone()).await;
        assert_vias(&r, 400, code, Some(param));
    }
    let a = create_pool(&s, json!({"name": "pool-a", "nodes": ["w1"]})).await;
    assert_vias(
        &s.post("/v2/{p}/edge-pools", json!({"name": "pool-a"})).await,
        400,
        "VIAS.00010003",
        Some("name"),
    );
    create_pool(&s, json!({"name": "pool-b"})).await;
    let r = s.post("/v2/{p}/edge-pools", json!({"name": "pool-c"})).await;
    assert_vias(&r, 400, "VIAS.00010050", None);
    assert_eq!(r.1["error_msg"], "Pool quota exceeds the upper limit.");

    for q in [
        "page_size=0",
        "page_size=1001",
        "page_num=0",
        "page_num=10001",
        "name_like=Pool",
        "name_like=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "order_by=up",
        "sort_name=name",
        "state=running",
        "is_paged=maybe",
    ] {
        let param = q.split('=').next().unwrap();
        assert_vias(
            &s.get(&format!("/v2/{{p}}/edge-pools?{q}")).await,
            400,
            "VIAS.00010001",
            Some(param),
        );
    }
    for bad in ["a_b", "a.b", &"x".repeat(65)] {
        assert_vias(
            &s.get(&format!("/v2/{{p}}/edge-pools/{bad}")).await,
            400,
            "VIAS.00010001",
            Some("id"),
        );
        assert_vias(
            &s.delete(&format!("/v2/{{p}}/edge-pools/{bad}")).await,
            400,
            "VIAS.00010001",
            Some("id"),
        );
    }
    let unknown = "0b6c7a9e-0000-4000-8000-000000000000";
    assert_vias(
        &s.get(&format!("/v2/{{p}}/edge-pools/{unknown}")).await,
        400,
        "VIAS.00010002",
        Some("id"),
    );
    assert_vias(
        &s.delete(&format!("/v2/{{p}}/edge-pools/{unknown}")).await,
        400,
        "VIAS.00010002",
        Some("id"),
    );

    // A running deployment keeps its pool; once stopped, the pool can go.
    let d = Deployment {
        project_id: s.a.project_id.clone(),
        alg_id: "alg-1".into(),
        pool_id: a.clone(),
        stream_count: 4,
        deploy_config: "{}".into(),
        envs: "{}".into(),
        status: SERVICE_RUNNING.into(),
        created_at: 0,
        updated_at: 0,
    };
    s.store.upsert_deployment(&d).await.unwrap();
    assert_vias(
        &s.delete(&format!("/v2/{{p}}/edge-pools/{a}")).await,
        500,
        "VIAS.00010012",
        None,
    );
    s.store
        .set_deployment_status(&s.a.project_id, "alg-1", SERVICE_STOPPED)
        .await
        .unwrap();
    let (st, v) = s.delete(&format!("/v2/{{p}}/edge-pools/{a}")).await;
    assert_eq!((st.as_u16(), v), (200, json!("success")));
    // The quota counts what exists: a pool fits again.
    create_pool(&s, json!({"name": "pool-c"})).await;
    s.finish().await;
}

/// The repository the Algorithm Center routes and the scheduler share.
async fn deployments_repo(b: Backend) {
    let s = TestServer::start(b).await;
    let p = s.a.project_id.clone();
    assert_eq!(s.store.get_deployment(&p, "x").await.unwrap(), None);
    assert!(s.store.set_deployment_status(&p, "x", SERVICE_STOPPED).await.is_err());
    let mut d = Deployment {
        project_id: p.clone(),
        alg_id: "alg-1".into(),
        pool_id: "cloud".into(),
        stream_count: 2,
        deploy_config: "{}".into(),
        envs: r#"{"A":"1"}"#.into(),
        status: SERVICE_RUNNING.into(),
        created_at: 0,
        updated_at: 0,
    };
    s.store.upsert_deployment(&d).await.unwrap();
    let got = s.store.get_deployment(&p, "alg-1").await.unwrap().unwrap();
    assert!(got.created_at > 0 && got.updated_at >= got.created_at);
    assert_eq!(got.envs, r#"{"A":"1"}"#);
    assert_eq!(got.required_pool(), None, "cloud = any node");
    // A re-deploy replaces everything but created_at.
    d.pool_id = "pool-id".into();
    d.stream_count = 7;
    s.store.upsert_deployment(&d).await.unwrap();
    let again = s.store.get_deployment(&p, "alg-1").await.unwrap().unwrap();
    assert_eq!((again.stream_count, again.created_at), (7, got.created_at));
    assert_eq!(again.required_pool(), Some("pool-id"));
    d.alg_id = "alg-2".into();
    s.store.upsert_deployment(&d).await.unwrap();
    let mut other = d.clone();
    other.project_id = s.b.project_id.clone();
    s.store.upsert_deployment(&other).await.unwrap();
    let mine: Vec<String> = s
        .store
        .list_deployments(&p)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.alg_id)
        .collect();
    assert_eq!(mine, ["alg-1", "alg-2"]);
    assert_eq!(s.store.all_deployments().await.unwrap().len(), 3);
    assert!(s.store.pool_in_use(&p, "pool-id").await.unwrap());
    s.store
        .set_deployment_status(&p, "alg-1", SERVICE_STOPPED)
        .await
        .unwrap();
    s.store
        .set_deployment_status(&p, "alg-2", SERVICE_STOPPED)
        .await
        .unwrap();
    let stopped = s.store.get_deployment(&p, "alg-1").await.unwrap().unwrap();
    assert_eq!(stopped.status, SERVICE_STOPPED);
    assert_eq!(stopped.required_pool(), None, "a stopped deployment pins nothing");
    assert!(!s.store.pool_in_use(&p, "pool-id").await.unwrap());
    s.finish().await;
}

both_backends!(pools_crud, pools_errors, deployments_repo);
