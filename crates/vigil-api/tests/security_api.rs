//! Attacks on the API of a running server, each refused (issue 8, findings 6, 7, 8, 9 and 11):
//! forged, unsigned and replayed AK/SK requests, access-key probing, login brute force,
//! other users' tokens, password change, quota races, list snapshots and /health errors —
//! on SQLite and PostgreSQL where storage is involved.

mod common;

use std::time::{Duration, Instant};

use common::{assert_vias, now_sdk_date, url_source, Backend, Tenant, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vigil_api::{aksk, ApiConfig, LoginPolicy};

const INTRUSION: &str = "c-intrusiondetection-cloud";

/// A POST to `path` signed with `t`'s key. `content_sha` is sent as `X-Sdk-Content-Sha256`;
/// `sign_content` says whether that header is listed in SignedHeaders.
fn signed_post(
    s: &TestServer,
    t: &Tenant,
    path: &str,
    body: &str,
    content_sha: Option<&str>,
    sign_content: bool,
) -> reqwest::RequestBuilder {
    let host = s.base.trim_start_matches("http://").to_string();
    let date = now_sdk_date();
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("host".to_string(), host),
    ];
    if let (Some(v), true) = (content_sha, sign_content) {
        headers.push(("x-sdk-content-sha256".to_string(), v.to_string()));
    }
    headers.push(("x-sdk-date".to_string(), date.clone()));
    let names: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    let input = aksk::SignInput {
        method: "POST",
        path,
        query: "",
        headers: &headers,
        body: body.as_bytes(),
        content_sha256: content_sha,
    };
    let sig = aksk::signature(&t.sk, &date, &input, &names);
    let mut req = s
        .http
        .post(format!("{}{path}", s.base))
        .header("Content-Type", "application/json")
        .header("X-Sdk-Date", &date)
        .header(
            "Authorization",
            format!(
                "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={sig}",
                t.ak,
                names.join(";")
            ),
        )
        .body(body.to_string());
    if let Some(v) = content_sha {
        req = req.header("X-Sdk-Content-Sha256", v);
    }
    req
}

async fn status_and_json(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = req.send().await.unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// Finding 6: the body hash header must be signed and true; signatures are single-use; unknown
/// access keys look like wrong signatures.
async fn aksk_body_hash_replay_and_probing(b: Backend) {
    let s = TestServer::start(b).await;
    let path = format!("/v2/{}/source", s.a.project_id);
    let sha = |b: &str| hex::encode(Sha256::digest(b.as_bytes()));

    // What the SDKs send: UNSIGNED-PAYLOAD, signed; or the true hash, signed.
    let body = url_source("unsigned payload").to_string();
    let r = status_and_json(signed_post(&s, &s.a, &path, &body, Some("UNSIGNED-PAYLOAD"), true)).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let body = url_source("true hash").to_string();
    let r = status_and_json(signed_post(&s, &s.a, &path, &body, Some(&sha(&body)), true)).await;
    assert_eq!(r.0, 200, "{}", r.1);

    // Forged: the signed hash is of another body (a signature made for a harmless body, sent
    // with a different one).
    let body = url_source("forged").to_string();
    let other = url_source("harmless").to_string();
    let r = status_and_json(signed_post(&s, &s.a, &path, &body, Some(&sha(&other)), true)).await;
    assert_vias(&r, 401, "VIAS.00010005", None);
    // Unsigned: the header is sent but not listed in SignedHeaders.
    let r = status_and_json(signed_post(&s, &s.a, &path, &body, Some("UNSIGNED-PAYLOAD"), false)).await;
    assert_vias(&r, 401, "VIAS.00010005", None);
    let r = status_and_json(signed_post(&s, &s.a, &path, &body, Some(&sha(&body)), false)).await;
    assert_vias(&r, 401, "VIAS.00010005", None);

    // Replay: the very same signed request a second time.
    let body = url_source("replayed").to_string();
    let first = signed_post(&s, &s.a, &path, &body, None, false).build().unwrap();
    let again = first.try_clone().unwrap();
    let r = s.http.execute(first).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = s.http.execute(again).await.unwrap();
    assert_eq!(r.status(), 401);
    let replay: Value = r.json().await.unwrap();
    assert_eq!(replay["error_code"], "VIAS.00010005");
    let (_, list) = s.get("/v2/{p}/source/sources").await;
    assert_eq!(list["total_number"], 2 + 1, "the replay created nothing: {list}");

    // Reads: identical GETs within a moment carry the same signature (X-Sdk-Date has
    // one-second resolution) and pass; the same GET replayed later is refused.
    let list = format!("/v2/{}/source/sources", s.a.project_id);
    let get = s.signed(&s.a, "GET", &list, "", &now_sdk_date()).build().unwrap();
    let (get2, get3) = (get.try_clone().unwrap(), get.try_clone().unwrap());
    assert_eq!(s.http.execute(get).await.unwrap().status(), 200);
    assert_eq!(s.http.execute(get2).await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(s.http.execute(get3).await.unwrap().status(), 401);

    // Probing: an unknown access key and a wrong secret answer alike.
    let mut ghost = s.a.clone();
    ghost.ak = "GHOSTKEY000000000000".into();
    let mut wrong = s.a.clone();
    wrong.sk = "not-the-secret".into();
    let body = url_source("probe").to_string();
    let unknown = status_and_json(signed_post(&s, &ghost, &path, &body, None, false)).await;
    let bad_sig = status_and_json(signed_post(&s, &wrong, &path, &body, None, false)).await;
    assert_vias(&unknown, 401, "VIAS.00010005", None);
    assert_eq!(
        unknown.1, bad_sig.1,
        "same body for an unknown key and a wrong signature"
    );
    assert_eq!(replay, bad_sig.1, "a replay reads like a wrong signature too");
    s.finish().await;
}

fn login_body(user: &str, password: &str, project: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "password": password}}},
                    "scope": {"project": {"id": project}}}})
}

async fn login(s: &TestServer, user: &str, password: &str, project: &str) -> reqwest::Response {
    s.http
        .post(format!("{}/v3/auth/tokens", s.base))
        .json(&login_body(user, password, project))
        .send()
        .await
        .unwrap()
}

/// Finding 7: delays after repeated failures, then a lockout with IAM's answer; other users
/// unaffected.
async fn login_brute_force_is_throttled_then_locked(b: Backend) {
    let cfg = ApiConfig {
        login: LoginPolicy {
            max_failures_per_user: 5,
            max_failures_per_address: 1000,
            lockout: Duration::from_secs(60),
            base_delay: Duration::from_millis(500),
        },
        ..Default::default()
    };
    let s = TestServer::start_with(b, cfg).await;
    let (user, pid) = (s.a.user.clone(), s.a.project_id.clone());
    // Two free failures (typos), answered at once.
    for _ in 0..2 {
        assert_eq!(login(&s, &user, "guess", &pid).await.status(), 401);
    }
    // The third failure imposes a delay: the next attempt, even with the right password, waits.
    assert_eq!(login(&s, &user, "guess", &pid).await.status(), 401);
    let r = login(&s, &user, &s.a.password, &pid).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], 429);
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(login(&s, &user, "guess", &pid).await.status(), 401);
    // The delay doubled (1 s): still refused after 550 ms.
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(login(&s, &user, "guess", &pid).await.status(), 429);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Fifth failure: locked, even for the right password, with IAM's answer.
    assert_eq!(login(&s, &user, "guess", &pid).await.status(), 401);
    let r = login(&s, &user, &s.a.password, &pid).await;
    assert_eq!(r.status(), 401);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 50 && retry <= 60, "retry-after {retry}");
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["message"], "The account is locked.", "{e}");
    // Another user is not affected.
    assert_eq!(login(&s, &s.b.user, &s.b.password, &s.b.project_id).await.status(), 201);
    s.finish().await;
}

/// Finding 7: parallel wrong passwords do not freeze the API, and unknown users take as long
/// as known ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_passwords_keep_the_api_responsive_and_timing_equal() {
    let cfg = ApiConfig {
        login: LoginPolicy {
            max_failures_per_user: 1000,
            max_failures_per_address: 1000,
            lockout: Duration::from_secs(60),
            base_delay: Duration::ZERO,
        },
        ..Default::default()
    };
    let s = TestServer::start_with(Backend::Sqlite, cfg).await;
    let started = Instant::now();
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let (http, base) = (s.http.clone(), s.base.clone());
            let body = login_body(&s.a.user, &format!("wrong-{i}"), &s.a.project_id);
            tokio::spawn(async move {
                http.post(format!("{base}/v3/auth/tokens"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let t = Instant::now();
    let health = s.http.get(format!("{}/health", s.base)).send().await.unwrap();
    let health_took = t.elapsed();
    assert_eq!(health.status(), 200);
    let mut statuses = Vec::new();
    for a in attempts {
        statuses.push(a.await.unwrap());
    }
    let logins_took = started.elapsed();
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert!(
        health_took < Duration::from_millis(1000),
        "/health took {health_took:?} while 20 logins ran ({logins_took:?} in all)"
    );
    // Equal timing: an unknown user costs one hash verification as a known one does.
    let mut known = Duration::MAX;
    let mut unknown = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(login(&s, &s.a.user, "wrong", &s.a.project_id).await.status(), 401);
        known = known.min(t.elapsed());
        let t = Instant::now();
        assert_eq!(login(&s, "nobody-at-all", "wrong", &s.a.project_id).await.status(), 401);
        unknown = unknown.min(t.elapsed());
    }
    assert!(
        unknown * 3 >= known && known * 3 >= unknown,
        "known user {known:?} vs unknown user {unknown:?}"
    );
    s.finish().await;
}

async fn token_call(s: &TestServer, method: Method, auth: &str, subject: &str) -> (StatusCode, Value) {
    let r = s
        .http
        .request(method, format!("{}/v3/auth/tokens", s.base))
        .header("X-Auth-Token", auth)
        .header("X-Subject-Token", subject)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

/// Finding 11: only a token's owner may inspect or revoke it; password change revokes the
/// other tokens; "revoke all my tokens".
async fn tokens_belong_to_their_owner(b: Backend) {
    let s = TestServer::start(b).await;
    let (a, bt) = (&s.a.token, &s.b.token);
    // B cannot inspect or revoke A's token: answered like a token that does not exist.
    let (st, v) = token_call(&s, Method::GET, bt, a).await;
    assert_eq!(st, 404, "{v}");
    assert_eq!(v["error"]["message"], "The token does not exist.");
    let (st, _) = token_call(&s, Method::DELETE, bt, a).await;
    assert_eq!(st, 404);
    assert_eq!(s.get("/v2/{p}/source/sources").await.0, 200, "A's token still works");
    // A can inspect its own.
    assert_eq!(token_call(&s, Method::GET, a, a).await.0, 200);

    // Password change: wrong original, someone else's id, then a good one.
    let (_, me) = token_call(&s, Method::GET, a, a).await;
    let user_id = me["token"]["user"]["id"].as_str().unwrap().to_string();
    let (_, other) = token_call(&s, Method::GET, bt, bt).await;
    let b_id = other["token"]["user"]["id"].as_str().unwrap().to_string();
    let second = common::issue_token(&s.http, &s.base, &s.a).await;
    let change = |id: &str, original: &str, new: &str| {
        s.http
            .post(format!("{}/v3/users/{id}/password", s.base))
            .header("X-Auth-Token", a)
            .json(&json!({"user": {"password": new, "original_password": original}}))
    };
    assert_eq!(
        change(&b_id, &s.a.password, "new-password-1")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        change(&user_id, "wrong", "new-password-1")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        change(&user_id, &s.a.password, "short").send().await.unwrap().status(),
        400
    );
    assert_eq!(
        change(&user_id, &s.a.password, "new-password-1")
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let mut with_second = s.a.clone();
    with_second.token = second;
    let r = s
        .call_as(&with_second, Method::GET, "/v2/{p}/source/sources", None)
        .await;
    assert_vias(&r, 401, "VIAS.00010005", None);
    assert_eq!(s.get("/v2/{p}/source/sources").await.0, 200, "the changing token stays");
    assert_eq!(login(&s, &s.a.user, &s.a.password, &s.a.project_id).await.status(), 401);
    assert_eq!(
        login(&s, &s.a.user, "new-password-1", &s.a.project_id).await.status(),
        201
    );

    // Revoke all my tokens.
    let r = s
        .http
        .delete(format!("{}/v3/auth/tokens/mine", s.base))
        .header("X-Auth-Token", a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_vias(&s.get("/v2/{p}/source/sources").await, 401, "VIAS.00010005", None);
    assert_eq!(
        s.call_as(&s.b, Method::GET, "/v2/{p}/source/sources", None).await.0,
        200,
        "B's tokens untouched"
    );
    s.finish().await;
}

fn task_body(name: &str, source: &str) -> Value {
    json!({
        "name": name, "service_version": "3.0",
        "input": {"type": "video_source", "data": [{"video_source_id": source}]},
        "output": {"webhook": {"url": "http://127.0.0.1:9/alarms", "headers": {"content-type": "application/json"}}, "event_center": true},
        "config": {"common": {"person_detection_sw": 1}}
    })
}

/// `n` POSTs at once; the statuses.
async fn parallel_posts(s: &TestServer, n: usize, path: &str, body: impl Fn(usize) -> Value) -> Vec<u16> {
    let calls: Vec<_> = (0..n)
        .map(|i| {
            let req = s
                .http
                .post(format!("{}{}", s.base, path.replace("{p}", &s.a.project_id)))
                .header("X-Auth-Token", &s.a.token)
                .json(&body(i));
            tokio::spawn(async move { req.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut out = Vec::new();
    for c in calls {
        out.push(c.await.unwrap());
    }
    out
}

/// Findings 9 and 11: 20 parallel creates against a quota of 5 create exactly 5 sources,
/// groups, tasks and batch tasks.
async fn parallel_creates_never_exceed_quotas(b: Backend) {
    let cfg = ApiConfig {
        source_quota: 6,
        group_quota: 5,
        task_quota: 5,
        batch_task_quota: 5,
        ..Default::default()
    };
    let s = TestServer::start_with(b, cfg).await;
    let (st, v) = s.post("/v2/{p}/source", url_source("anchor")).await;
    assert_eq!(st, 200, "{v}");
    let anchor = v["video_source_id"].as_str().unwrap().to_string();

    let st = parallel_posts(&s, 20, "/v2/{p}/source", |i| url_source(&format!("cam {i}"))).await;
    assert_eq!(st.iter().filter(|s| **s == 200).count(), 5, "{st:?}");
    let (_, l) = s.get("/v2/{p}/source/sources").await;
    assert_eq!(l["total_number"], 6);
    assert_vias(
        &s.post("/v2/{p}/source", url_source("one more")).await,
        400,
        "VIAS.0010047",
        None,
    );

    let st = parallel_posts(
        &s,
        20,
        "/v2/{p}/video-group",
        |i| json!({"video_group_name": format!("g{i}"), "access_type": "cloud", "video_source_ids": [anchor]}),
    )
    .await;
    assert_eq!(st.iter().filter(|s| **s == 200).count(), 5, "{st:?}");
    let (_, l) = s.get("/v2/{p}/video-group/groups").await;
    assert_eq!(l["total_number"], 5, "{l}");

    let st = parallel_posts(&s, 20, &format!("/v2/{{p}}/services/{INTRUSION}/tasks"), |i| {
        task_body(&format!("t{i}"), &anchor)
    })
    .await;
    assert_eq!(st.iter().filter(|s| **s == 200).count(), 5, "{st:?}");
    let (_, l) = s.get("/v2/{p}/tasks").await;
    assert_eq!(l["count"], 5, "{l}");

    // Batch tasks: their own quota (the task quota is used up, so their tasks fail, which is
    // reported per task; the batch rows are what is counted here).
    let (_, groups) = s.get("/v2/{p}/video-group/groups").await;
    let g = groups["video_group_list"][0]["video_group_id"]
        .as_str()
        .unwrap()
        .to_string();
    let st = parallel_posts(&s, 20, "/v2/{p}/batch-tasks", |i| {
        let mut bb = task_body(&format!("batch{i}"), &anchor);
        bb.as_object_mut().unwrap().remove("input");
        bb["service_name"] = json!(INTRUSION);
        bb["batch_input"] = json!({"video_source_group": [{"video_source_group_id": g}]});
        bb
    })
    .await;
    assert_eq!(st.iter().filter(|s| **s == 200).count(), 5, "{st:?}");
    let (_, l) = s.get("/v2/{p}/batch-tasks").await;
    assert_eq!(l["count"], 5, "{l}");
    let mut bb = task_body("batch-late", &anchor);
    bb.as_object_mut().unwrap().remove("input");
    bb["service_name"] = json!(INTRUSION);
    bb["batch_input"] = json!({"video_source_group": [{"video_source_group_id": g}]});
    assert_vias(&s.post("/v2/{p}/batch-tasks", bb).await, 400, "VIAS.0010048", None);
    s.finish().await;
}

/// Finding 8 (API part): list calls do not load snapshots; the detail call returns it.
async fn lists_never_load_snapshots(b: Backend) {
    let s = TestServer::start(b).await;
    let (_, v) = s.post("/v2/{p}/source", url_source("snap")).await;
    let id = v["video_source_id"].as_str().unwrap().to_string();
    let jpeg = "/9j/".to_string() + &"A".repeat(200_000);
    s.store
        .set_source_health(
            &id,
            vigil_store::video_sources::SourceHealth {
                status: 1,
                stream_path: None,
                image: Some(jpeg.clone()),
                quality: vec![],
                scene_recommend: None,
            },
        )
        .await
        .unwrap();
    let listed = s.store.list_sources(&s.a.project_id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].source.image, "", "list query leaves the snapshot out");
    assert!(s.store.all_sources().await.unwrap().iter().all(|r| r.image.is_empty()));
    let (st, d) = s.get(&format!("/v2/{{p}}/source/sources/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(d["image"].as_str().map(str::len), Some(jpeg.len()), "detail keeps it");
    let (_, l) = s.get("/v2/{p}/source/sources").await;
    assert!(!l.to_string().contains("/9j/"));
    s.finish().await;
}

/// Finding 11: a broken database gives /health a fixed 503 body, no error text.
async fn health_leaks_no_error_text(b: Backend) {
    let s = TestServer::start(b).await;
    let r = s.http.get(format!("{}/health", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The server shares this pool: closing it makes every query fail.
    s.store.close().await;
    let r = s.http.get(format!("{}/health", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let text = r.text().await.unwrap();
    assert_eq!(text, r#"{"status":"unavailable"}"#);
    s.finish().await;
}

/// Finding 11: deleting a project removes its tasks, batch tasks, sources, groups and
/// credentials in one go; the other tenant keeps everything.
async fn project_deletion_removes_everything(b: Backend) {
    let s = TestServer::start(b).await;
    let (_, v) = s.post("/v2/{p}/source", url_source("cam")).await;
    let cam = v["video_source_id"].as_str().unwrap().to_string();
    let (st, g) = s
        .post(
            "/v2/{p}/video-group",
            json!({"video_group_name": "g", "access_type": "cloud", "video_source_ids": [cam]}),
        )
        .await;
    assert_eq!(st, 200, "{g}");
    let (st, t) = s
        .post(
            &format!("/v2/{{p}}/services/{INTRUSION}/tasks"),
            task_body("watch", &cam),
        )
        .await;
    assert_eq!(st, 200, "{t}");
    let mut bb = task_body("batch", &cam);
    bb.as_object_mut().unwrap().remove("input");
    bb["service_name"] = json!(INTRUSION);
    bb["batch_input"] = json!({"video_source_group": [{"video_source_group_id": g["video_group_id"]}]});
    assert_eq!(s.post("/v2/{p}/batch-tasks", bb).await.0, 200);
    let (_, v) = s
        .call_as(&s.b, Method::POST, "/v2/{p}/source", Some(url_source("b cam")))
        .await;
    assert!(v["video_source_id"].is_string());

    // A read first: the server now remembers the token (token_cache.rs).
    assert_eq!(s.get("/v2/{p}/tasks").await.0, 200);

    // Deleted by another process (`vigil iam project delete` opens the store like this).
    let d = s.store.delete_project(&s.a.project_id).await.unwrap();
    assert_eq!((d.tasks, d.batch_tasks, d.video_sources, d.video_groups), (2, 1, 1, 1));
    assert!(s.store.list_tasks(&s.a.project_id).await.unwrap().is_empty());
    assert!(s.store.list_sources(&s.a.project_id).await.unwrap().is_empty());
    assert!(s.store.find_project(&s.a.project_id).await.unwrap().is_none());
    // Writes always look the token up: refused at once, nothing lands in the deleted project.
    assert_vias(
        &s.post("/v2/{p}/source", url_source("late")).await,
        401,
        "VIAS.00010005",
        None,
    );
    // Reads stop within the cache's recheck interval of the change.
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    assert_vias(&s.get("/v2/{p}/tasks").await, 401, "VIAS.00010005", None);
    assert_eq!(s.store.list_sources(&s.b.project_id).await.unwrap().len(), 1);
    assert_eq!(
        s.call_as(&s.b, Method::GET, "/v2/{p}/source/sources", None).await.0,
        200
    );
    s.finish().await;
}

both_backends!(
    project_deletion_removes_everything,
    aksk_body_hash_replay_and_probing,
    login_brute_force_is_throttled_then_locked,
    tokens_belong_to_their_owner,
    parallel_creates_never_exceed_quotas,
    lists_never_load_snapshots,
    health_leaks_no_error_text,
);
