//! Cross-cutting API behaviour on a real server: IAM tokens (issue, expiry, revocation), AK/SK
//! signatures, project isolation, rate limits, request ids, gateway errors, body limits and
//! malformed input — on SQLite and PostgreSQL.

mod common;

use std::time::Duration;

use common::{assert_vias, issue_token, now_sdk_date, url_source, Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use vigil_api::{ApiConfig, RateLimit, Window};

async fn tokens(b: Backend) {
    let cfg = ApiConfig {
        token_ttl: Duration::from_secs(2),
        ..Default::default()
    };
    let s = TestServer::start_with(b, cfg).await;
    // Issue by project name: 201, X-Subject-Token, Keystone-shaped body with the VIAS catalog.
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": s.a.user, "password": s.a.password, "domain": {"name": "d"}}}},
                                "scope": {"project": {"name": "proj-a"}}}});
    let resp = s
        .http
        .post(format!("{}/v3/auth/tokens", s.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let token = resp.headers()["x-subject-token"].to_str().unwrap().to_string();
    assert!(resp.headers().contains_key("x-request-id"));
    let v: Value = resp.json().await.unwrap();
    let t = &v["token"];
    assert_eq!(t["project"]["id"], s.a.project_id.as_str());
    assert_eq!(t["user"]["name"], s.a.user.as_str());
    assert_eq!(t["methods"], json!(["password"]));
    assert!(t["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(t["catalog"][0]["type"], "vias");
    assert!(t["catalog"][0]["endpoints"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with(&s.a.project_id));
    // The token works; GET validates it.
    let mut a = s.a.clone();
    a.token = token.clone();
    assert_eq!(s.call_as(&a, Method::GET, "/v2/{p}/source/sources", None).await.0, 200);
    let val = s
        .http
        .get(format!("{}/v3/auth/tokens", s.base))
        .header("X-Auth-Token", &token)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(val.status(), 200);
    // Refusals: wrong password, unknown user, a project the user has no grant on, bad body.
    for (user, pw, project, status) in [
        (s.a.user.as_str(), "wrong", s.a.project_id.as_str(), 401),
        ("nobody", "x", s.a.project_id.as_str(), 401),
        (s.a.user.as_str(), s.a.password.as_str(), s.b.project_id.as_str(), 401),
    ] {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "password": pw}}}, "scope": {"project": {"id": project}}}});
        let r = s
            .http
            .post(format!("{}/v3/auth/tokens", s.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], status);
    }
    let r = s
        .http
        .post(format!("{}/v3/auth/tokens", s.base))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Revocation.
    let rev = s
        .http
        .delete(format!("{}/v3/auth/tokens", s.base))
        .header("X-Auth-Token", &s.a.token)
        .header("X-Subject-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(rev.status(), 204);
    assert_vias(
        &s.call_as(&a, Method::GET, "/v2/{p}/source/sources", None).await,
        401,
        "VIAS.00010005",
        None,
    );
    // Expiry (TTL 2 s).
    let fresh = issue_token(&s.http, &s.base, &s.a).await;
    a.token = fresh;
    assert_eq!(s.call_as(&a, Method::GET, "/v2/{p}/source/sources", None).await.0, 200);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let r = s.call_as(&a, Method::GET, "/v2/{p}/source/sources", None).await;
    assert_vias(&r, 401, "VIAS.00010005", None);
    assert!(r.1["detail"].as_str().unwrap().contains("expired"));
    // Garbage and missing credentials.
    a.token = "garbage".into();
    assert_vias(
        &s.call_as(&a, Method::GET, "/v2/{p}/source/sources", None).await,
        401,
        "VIAS.00010005",
        None,
    );
    let r = s
        .http
        .get(format!("{}/v2/{}/source/sources", s.base, s.a.project_id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.finish().await;
}

async fn isolation(b: Backend) {
    let s = TestServer::start(b).await;
    let (_, v) = s
        .call_as(&s.b, Method::POST, "/v2/{p}/source", Some(url_source("b-cam")))
        .await;
    let b_src = v["video_source_id"].as_str().unwrap().to_string();
    let (_, v) = s
        .call_as(
            &s.b,
            Method::POST,
            "/v2/{p}/video-group",
            Some(json!({"video_group_name": "bg", "access_type": "cloud"})),
        )
        .await;
    let b_grp = v["video_group_id"].as_str().unwrap().to_string();
    // A's credential on B's project path: 403.
    let path = format!("/v2/{}/source/sources", s.b.project_id);
    assert_vias(&s.get(&path).await, 403, "IVA.0009", None);
    assert_vias(
        &s.post(&format!("/v2/{}/source", s.b.project_id), url_source("x")).await,
        403,
        "IVA.0009",
        None,
    );
    // B's ids under A's project behave as if they did not exist.
    assert_vias(
        &s.get(&format!("/v2/{{p}}/source/sources/{b_src}")).await,
        400,
        "VIAS.00010002",
        Some("video_source_id"),
    );
    assert_vias(
        &s.put(
            &format!("/v2/{{p}}/source/{b_src}"),
            json!({"video_source_name": "steal"}),
        )
        .await,
        400,
        "VIAS.00010002",
        Some("video_source_id"),
    );
    assert_vias(
        &s.delete(&format!("/v2/{{p}}/source/{b_src}")).await,
        400,
        "VIAS.00010002",
        Some("video_source_id"),
    );
    assert_vias(
        &s.get(&format!("/v2/{{p}}/video-group/{b_grp}")).await,
        400,
        "VIAS.00010002",
        Some("video_group_id"),
    );
    assert_vias(
        &s.delete(&format!("/v2/{{p}}/video-group/{b_grp}")).await,
        400,
        "VIAS.00010002",
        Some("video_group_id"),
    );
    let mut with_b_group = url_source("a-cam");
    with_b_group["video_group_ids"] = json!([b_grp]);
    assert_vias(
        &s.post("/v2/{p}/source", with_b_group).await,
        400,
        "VIAS.00010002",
        Some("video_group_ids"),
    );
    assert_vias(
        &s.post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "ag", "access_type": "cloud", "video_source_ids": [b_src]}),
        )
        .await,
        400,
        "VIAS.00010002",
        Some("video_source_ids"),
    );
    // Names are per project; lists show only one's own.
    assert_eq!(s.post("/v2/{p}/source", url_source("b-cam")).await.0, 200);
    let (_, v) = s.get("/v2/{p}/source/sources").await;
    assert_eq!(v["total_number"], 1);
    let (_, v) = s.get("/v2/{p}/video-group/groups").await;
    assert_eq!(v["total_number"], 0);
    // B's source is untouched.
    let (st, v) = s
        .call_as(&s.b, Method::GET, &format!("/v2/{{p}}/source/sources/{b_src}"), None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["video_source_name"], "b-cam");
    s.finish().await;
}

async fn aksk(b: Backend) {
    let s = TestServer::start(b).await;
    let list = format!("/v2/{}/source/sources?status=2&status=1&scope=x%20y", s.a.project_id);
    let r = s.signed(&s.a, "GET", &list, "", &now_sdk_date()).send().await.unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let create = format!("/v2/{}/source", s.a.project_id);
    let body = url_source("signed cam").to_string();
    let r = s
        .signed(&s.a, "POST", &create, &body, &now_sdk_date())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A body changed after signing.
    let req = s
        .signed(&s.a, "POST", &create, &body, &now_sdk_date())
        .body(url_source("other").to_string())
        .build()
        .unwrap();
    let r = s.http.execute(req).await.unwrap();
    assert_eq!(r.status(), 401);
    // Wrong secret.
    let mut bad = s.a.clone();
    bad.sk = "not-the-secret".into();
    let r = s.signed(&bad, "GET", &list, "", &now_sdk_date()).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], "VIAS.00010005");
    // Expired X-Sdk-Date (1 hour old) and one from the future.
    for offset in [-3600i64, 3600] {
        let date = (chrono::Utc::now() + chrono::Duration::seconds(offset))
            .format("%Y%m%dT%H%M%SZ")
            .to_string();
        let r = s.signed(&s.a, "GET", &list, "", &date).send().await.unwrap();
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert!(v["detail"].as_str().unwrap().contains("clock"), "{v}");
    }
    // B's key on A's project: 403.
    let r = s.signed(&s.b, "GET", &list, "", &now_sdk_date()).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // Unknown access key.
    let mut ghost = s.a.clone();
    ghost.ak = "GHOSTKEY000000000000".into();
    assert_eq!(
        s.signed(&ghost, "GET", &list, "", &now_sdk_date())
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Malformed Authorization.
    let r = s
        .http
        .get(format!("{}{list}", s.base))
        .header("Authorization", "SDK-HMAC-SHA256 nonsense")
        .header("X-Sdk-Date", now_sdk_date())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.finish().await;
}

async fn conventions(b: Backend) {
    let cfg = ApiConfig {
        rate_limit: Some(RateLimit {
            quota: 5,
            window: Window::Minute,
        }),
        body_limit: 4096,
        ..Default::default()
    };
    let s = TestServer::start_with(b, cfg).await;
    // Request id format on success and on errors.
    let r = s
        .http
        .get(format!("{}/v2/{}/source/sources", s.base, s.a.project_id))
        .header("X-Auth-Token", &s.a.token)
        .send()
        .await
        .unwrap();
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let parts: Vec<&str> = rid.splitn(6, '-').collect();
    assert_eq!(parts.len(), 6, "{rid}");
    assert!(uuid::Uuid::parse_str(&parts[..5].join("-")).is_ok(), "{rid}");
    let (epoch, host) = parts[5].split_once('-').unwrap();
    assert!(
        epoch.parse::<i64>().unwrap() > 1_700_000_000 && !host.is_empty(),
        "{rid}"
    );
    assert_eq!(r.headers()["x-ratelimit"], "5");
    assert_eq!(r.headers()["x-ratelimit-used"], "4");
    assert_eq!(r.headers()["x-ratelimit-window"], "minute");
    // Unknown route and unknown method: gateway shape B.
    for (m, path) in [
        (Method::GET, "/v2/x/nothing-here".to_string()),
        (Method::PATCH, format!("/v2/{}/source", s.a.project_id)),
        (Method::POST, "/".into()),
    ] {
        let r = s.http.request(m, format!("{}{path}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert!(r.headers().contains_key("x-request-id"));
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error_code"], "IVA.0101");
        assert_eq!(v["request_id"].as_str().unwrap().len(), 32);
        assert!(v.get("error_msg").is_some());
    }
    // Malformed JSON, wrong types, empty and oversized bodies.
    let raw = |body: &'static str| {
        s.http
            .post(format!("{}/v2/{}/source", s.base, s.a.project_id))
            .header("X-Auth-Token", &s.a.token)
            .header("Content-Type", "application/json")
            .body(body)
    };
    for (body, param) in [
        ("{\"video_source_name\": ", None),
        ("[1,2]", None),
        ("", None),
        ("{\"tag\": \"notalist\"}", Some("tag")),
    ] {
        let r = raw(body).send().await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error_code"], "VIAS.00010001", "{body}");
        if let Some(p) = param {
            assert_eq!(v["params"], json!([p]));
        }
    }
    // The rate limit: 5 per minute, 4 used above plus 4 here → the 6th is refused with 429.
    let r = s
        .http
        .post(format!("{}/v2/{}/source", s.base, s.a.project_id))
        .header("X-Auth-Token", &s.a.token)
        .body("x".repeat(10_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-used"], "0");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], "APIG.0308");
    // Another project has its own budget; oversized bodies get a clear 413.
    let r = s
        .http
        .post(format!("{}/v2/{}/source", s.base, s.b.project_id))
        .header("X-Auth-Token", &s.b.token)
        .body("x".repeat(10_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], "VIAS.00010001");
    assert!(v["detail"].as_str().unwrap().contains("larger"));
    // Health needs no auth.
    let r = s.http.get(format!("{}/health", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    s.finish().await;
}

/// Random and hostile input on every route never crashes the server or yields a 5xx.
async fn hostile_input(b: Backend) {
    let cfg = ApiConfig {
        rate_limit: None,
        ..Default::default()
    };
    let s = TestServer::start_with(b, cfg).await;
    let id = "00000000-0000-4000-8000-000000000000";
    let routes = [
        (Method::POST, "/v2/{p}/source".to_string()),
        (Method::PUT, format!("/v2/{{p}}/source/{id}")),
        (Method::POST, "/v2/{p}/video-group".into()),
        (Method::PUT, format!("/v2/{{p}}/video-group/{id}")),
        (Method::POST, "/v3/auth/tokens".into()),
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let samples = [
        json!({"video_source_name": "\u{0}\u{ffff}", "access_type": "cloud", "type": "url", "type_config": "<type_config><url_address>rtsp://\u{0}</url_address></type_config>"}),
        json!({"video_source_name": "n", "access_type": "cloud", "type": "url", "type_config": "<!DOCTYPE a [<!ENTITY b \"c\">]><type_config/>"}),
        json!({"video_source_name": "n", "access_type": "cloud", "type": "vcn", "type_config": "<type>VCN</type><config><PORT>-1</PORT></config>"}),
        json!({"video_group_name": ["x"], "access_type": null}),
        json!({"video_source_ids": [1, 2, 3]}),
        json!({"latitude": 1e308, "longitude": "NaN", "tag": [null]}),
        json!(null),
        json!("string"),
        json!({"auth": {"identity": {"methods": [], "password": {}}}}),
    ];
    for (m, path) in &routes {
        for body in &samples {
            let (st, v) = s.call(m.clone(), path, Some(body.clone())).await;
            assert!(st.is_client_error(), "{m} {path} {body} -> {st} {v}");
        }
        for _ in 0..20 {
            let len = (next() % 300) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let r = s
                .http
                .request(m.clone(), format!("{}{}", s.base, path.replace("{p}", &s.a.project_id)))
                .header("X-Auth-Token", &s.a.token)
                .header("Content-Type", "application/json")
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_client_error(), "{m} {path} -> {}", r.status());
        }
    }
    // Odd query strings.
    for q in [
        "?%ff%fe=1",
        "?page_size=99999999999999999999999",
        "?status=%00",
        "?&&&=&",
        "?scope=%E4%B8%9C",
    ] {
        let (st, _) = s.get(&format!("/v2/{{p}}/source/sources{q}")).await;
        assert!(st == 200 || st == 400, "{q} -> {st}");
    }
    // Still alive and correct.
    assert_eq!(s.post("/v2/{p}/source", url_source("still fine")).await.0, 200);
    s.finish().await;
}

both_backends!(tokens, isolation, aksk, conventions, hostile_input);
