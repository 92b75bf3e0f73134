//! ListAlarms (`GET /v2/{p}/vigil/alarms`) paged in SQL: for every filter, walking all pages by
//! `marker` and by `offset` yields the documented order (`alarm_time DESC, created_at DESC,
//! message_id`), ties included, and `total` is exact — also after aggregation folds, reviews,
//! deletes and retention, and after migration 0010 upgraded a database holding alarms. Alarms
//! spread over several hours, so time-range totals come from the hourly counters (whole hours)
//! plus exact counts of the partial hours at the range's ends.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sqlx::Row;
use vigil_core::alarm::{encode_image, Alarm, AlarmOutputs};
use vigil_store::alarms::ImportedAlarm;
use vigil_store::event_center::EventRulesPatch;

use crate::common::{assert_vias, Backend, TestServer};

const JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0, 0xff, 0xd9];
/// The start of an hour (epoch seconds).
const T0: i64 = 1_699_999_200;
const H: i64 = 3600;
/// Alarm times after `T0`: over eight hours, on and next to hour boundaries.
const OFFSETS: [i64; 25] = [
    0, 1, 1799, 3599, 3600, 3601, 5000, 7199, 7200, 9000, 10799, 10800, 12345, 14399, 14400, 16000, 17999, 18000,
    20000, 21599, 21600, 23000, 25199, 25200, 26000,
];
/// `created_at` of imported alarms: long past, so the retention test can remove them.
const C0: i64 = 1_600_000_000_000;
const TASKS: [&str; 3] = ["task-a", "task-b", "task-c"];
const SOURCES: [Option<&str>; 3] = [Some("src-1"), Some("src-2"), None];
const EVENTS: [u64; 2] = [196609, 1179648];

/// What the oracle knows of one stored alarm.
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    task: String,
    source: Option<String>,
    event: u64,
    time: i64,
    created: i64,
    review: String,
}

fn alarm(task: &str, time: i64, event: u64, image: bool) -> Alarm {
    Alarm {
        event_type: event,
        task_id: task.into(),
        stream_id: "cam".into(),
        timestamp: time as u64,
        message_id: Alarm::new_message_id(),
        image_base64: image.then(|| encode_image(JPEG)),
        alarm_type: None,
        data: json!({}),
        extra: Default::default(),
    }
}

/// The k-th alarm of a seed: few distinct times and creation instants, so ties abound.
fn nth(k: usize) -> (Alarm, Option<String>, i64) {
    let a = alarm(
        TASKS[k % 3],
        T0 + OFFSETS[k * 7 % 25],
        EVENTS[(k / 2) % 2],
        k.is_multiple_of(4),
    );
    (a, SOURCES[(k / 3) % 3].map(str::to_string), C0 + (k % 6) as i64)
}

fn stored(a: &Alarm, source: Option<String>, created: i64, review: &str) -> Stored {
    Stored {
        id: a.message_id.clone(),
        task: a.task_id.clone(),
        source,
        event: a.event_type,
        time: a.timestamp as i64,
        created,
        review: review.into(),
    }
}

async fn import(s: &TestServer, project: &str, from: usize, n: usize) -> Vec<Stored> {
    let (batch, out): (Vec<ImportedAlarm>, Vec<Stored>) = (from..from + n)
        .map(|k| {
            let (alarm, source, created) = nth(k);
            let st = stored(&alarm, source.clone(), created, "none");
            (
                ImportedAlarm {
                    alarm,
                    video_source_id: source,
                    created_at: created,
                },
                st,
            )
        })
        .unzip();
    s.store.import_alarms(project, &batch).await.unwrap();
    out
}

async fn set_rules(s: &TestServer, project: &str, manual_review: bool, aggregation: bool) {
    let patch = EventRulesPatch {
        manual_review: Some(manual_review),
        aggregation: Some(aggregation),
        ..Default::default()
    };
    s.store.update_event_rules(project, &patch).await.unwrap();
}

async fn enqueue(s: &TestServer, project: &str, a: &Alarm, source: Option<&str>) {
    let outputs = AlarmOutputs {
        event_center: true,
        ..Default::default()
    };
    s.store.enqueue_alarm(a, project, source, &outputs).await.unwrap();
}

/// Project a: `imported` alarms of review state `none`, then 40 through the alarm path under
/// manual review (their `created_at` set to the imported ones' few values, for ties), 10 of them
/// approved and 10 rejected. Project b gets a few alarms of the same tasks.
async fn seed(s: &TestServer, imported: usize) -> Vec<Stored> {
    let p = s.a.project_id.clone();
    let mut rows = import(s, &p, 0, imported).await;
    import(s, &s.b.project_id.clone(), 0, 12).await;
    set_rules(s, &p, true, false).await;
    let mut pending = Vec::new();
    for k in imported..imported + 40 {
        let (a, source, created) = nth(k);
        enqueue(s, &p, &a, source.as_deref()).await;
        sqlx::query("UPDATE alarms SET created_at = $1 WHERE message_id = $2")
            .bind(created)
            .bind(&a.message_id)
            .execute(s.store.pool())
            .await
            .unwrap();
        pending.push(stored(&a, source, created, "pending"));
    }
    for (approve, range, state) in [(true, 0..10, "approved"), (false, 10..20, "rejected")] {
        let ids: Vec<String> = pending[range.clone()].iter().map(|r| r.id.clone()).collect();
        let out = s.store.review_alarms(&p, &ids, approve).await.unwrap();
        assert_eq!(out.reviewed, 10);
        for r in &mut pending[range] {
            r.review = state.into();
        }
    }
    rows.extend(pending);
    rows
}

/// A filter of ListAlarms: its query string and the oracle's predicate.
struct Filter {
    query: String,
    keep: Box<dyn Fn(&Stored) -> bool>,
}

fn filters() -> Vec<Filter> {
    let f = |query: String, keep: Box<dyn Fn(&Stored) -> bool>| Filter { query, keep };
    let mut out = vec![f(String::new(), Box::new(|_| true))];
    for t in TASKS {
        out.push(f(format!("task_id={t}"), Box::new(move |r| r.task == t)));
    }
    for v in SOURCES.into_iter().flatten() {
        out.push(f(
            format!("video_source_id={v}"),
            Box::new(move |r| r.source.as_deref() == Some(v)),
        ));
    }
    for e in EVENTS {
        out.push(f(format!("event_type={e}"), Box::new(move |r| r.event == e)));
    }
    for st in ["none", "pending", "approved", "rejected"] {
        out.push(f(format!("review_state={st}"), Box::new(move |r| r.review == st)));
    }
    for (lo, hi) in RANGES {
        out.push(f(range_query(lo, hi), Box::new(move |r| in_range(r.time, lo, hi))));
    }
    // A time range with one id filter: from that filter's hourly counters.
    let (lo, hi) = RANGES[0];
    out.push(f(
        format!("task_id=task-c&{}", range_query(lo, hi)),
        Box::new(move |r| r.task == "task-c" && in_range(r.time, lo, hi)),
    ));
    let (lo, hi) = RANGES[1];
    out.push(f(
        format!("review_state=pending&{}", range_query(lo, hi)),
        Box::new(move |r| r.review == "pending" && in_range(r.time, lo, hi)),
    ));
    let (lo, hi) = RANGES[4];
    out.push(f(
        format!("video_source_id=src-2&{}", range_query(lo, hi)),
        Box::new(move |r| r.source.as_deref() == Some("src-2") && in_range(r.time, lo, hi)),
    ));
    let (lo, hi) = RANGES[5];
    out.push(f(
        format!("event_type={}&{}", EVENTS[1], range_query(lo, hi)),
        Box::new(move |r| r.event == EVENTS[1] && in_range(r.time, lo, hi)),
    ));
    out.push(f(
        format!("task_id=task-b&event_type={}", EVENTS[1]),
        Box::new(|r| r.task == "task-b" && r.event == EVENTS[1]),
    ));
    out.push(f(
        "video_source_id=src-1&review_state=pending".into(),
        Box::new(|r| r.source.as_deref() == Some("src-1") && r.review == "pending"),
    ));
    // Inside one hour: an exact count.
    let (lo, hi) = (T0 + 5, T0 + 1799);
    out.push(f(
        format!("task_id=task-c&start_time={lo}&end_time={hi}"),
        Box::new(move |r| r.task == "task-c" && (lo..=hi).contains(&r.time)),
    ));
    // Two id filters and a range: an exact count.
    let hi = T0 + 3 * H + 17;
    out.push(f(
        format!("event_type={}&review_state=none&end_time={hi}", EVENTS[0]),
        Box::new(move |r| r.event == EVENTS[0] && r.review == "none" && r.time <= hi),
    ));
    out.push(f("task_id=no-such-task".into(), Box::new(|_| false)));
    out
}

/// Time ranges (`start_time`, `end_time`, inclusive; `None`: open).
const RANGES: [(Option<i64>, Option<i64>); 11] = [
    // Several hours, partial hours at both ends.
    (Some(T0 + 1799), Some(T0 + 5 * H + 1)),
    // Partial hours with whole and partial minutes at both ends.
    (Some(T0 + 61), Some(T0 + 4 * H + 1000)),
    (Some(T0 + 1798), Some(T0 + 3 * H + 59)),
    // Whole hours only (aligned ends).
    (Some(T0 + H), Some(T0 + 5 * H - 1)),
    // One whole hour.
    (Some(T0 + 2 * H), Some(T0 + 3 * H - 1)),
    // No whole hour: two partial hours, an exact count.
    (Some(T0 + 1), Some(T0 + H)),
    // Open-ended.
    (Some(T0 + H + 1), None),
    (None, Some(T0 + 4 * H)),
    (Some(T0 + 2 * H), None),
    (None, Some(T0 + 3 * H - 1)),
    // Past every alarm.
    (Some(T0 + 100 * H), None),
];

fn range_query(lo: Option<i64>, hi: Option<i64>) -> String {
    let mut q = Vec::new();
    if let Some(v) = lo {
        q.push(format!("start_time={v}"));
    }
    if let Some(v) = hi {
        q.push(format!("end_time={v}"));
    }
    q.join("&")
}

fn in_range(t: i64, lo: Option<i64>, hi: Option<i64>) -> bool {
    lo.is_none_or(|v| t >= v) && hi.is_none_or(|v| t <= v)
}

/// The documented order: newest alarm first, then the newest stored, then by message id.
fn oracle(rows: &[Stored], keep: &dyn Fn(&Stored) -> bool) -> Vec<String> {
    let mut hit: Vec<&Stored> = rows.iter().filter(|r| keep(r)).collect();
    hit.sort_by(|a, b| {
        b.time
            .cmp(&a.time)
            .then(b.created.cmp(&a.created))
            .then(a.id.cmp(&b.id))
    });
    hit.into_iter().map(|r| r.id.clone()).collect()
}

async fn page(s: &TestServer, query: &str) -> Value {
    let (st, v) = s.get(&format!("/v2/{{p}}/vigil/alarms?{query}")).await;
    assert_eq!(st, 200, "{query}: {v}");
    v
}

fn ids(v: &Value) -> Vec<String> {
    v["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["message_id"].as_str().unwrap().to_string())
        .collect()
}

/// Every page by marker, then every page by offset: both give `want`, each page the exact total.
async fn walk(s: &TestServer, filter: &str, limit: usize, want: &[String]) {
    let base = if filter.is_empty() {
        format!("limit={limit}")
    } else {
        format!("{filter}&limit={limit}")
    };
    let mut got = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let q = match &marker {
            Some(m) => format!("{base}&marker={m}"),
            None => base.clone(),
        };
        let v = page(s, &q).await;
        assert_eq!(v["total"], want.len(), "{q}");
        let items = ids(&v);
        assert!(
            !items.is_empty() || want.is_empty(),
            "{q}: an empty page after a marker"
        );
        got.extend(items);
        match v["next_marker"].as_str() {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    assert_eq!(got, want, "{filter}: by marker");
    let mut got = Vec::new();
    for offset in (0..want.len().max(1)).step_by(limit) {
        let q = format!("{base}&offset={offset}");
        let v = page(s, &q).await;
        assert_eq!(v["total"], want.len(), "{q}");
        assert_eq!(v["next_marker"].is_string(), offset + limit < want.len(), "{q}");
        got.extend(ids(&v));
    }
    assert_eq!(got, want, "{filter}: by offset");
}

async fn paging_matches_order(b: Backend) {
    let s = TestServer::start(b).await;
    let rows = seed(&s, 260).await;
    for (k, f) in filters().iter().enumerate() {
        let want = oracle(&rows, &*f.keep);
        // Page sizes vary so that page ends fall on and between ties.
        walk(&s, &f.query, [13, 7, 29][k % 3], &want).await;
    }
    // Pictures: listed as a URL, served from their own table.
    let first = page(&s, "limit=1000").await;
    let with_image: Vec<&Value> = first["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a.get("image_url").is_some())
        .collect();
    let images = rows.iter().enumerate().filter(|(k, _)| k.is_multiple_of(4)).count();
    assert_eq!(with_image.len(), images);
    let id = with_image[0]["message_id"].as_str().unwrap();
    let resp = s
        .http
        .get(format!("{}/v2/{}/vigil/alarms/{id}/image", s.base, s.a.project_id))
        .header("X-Auth-Token", &s.a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), JPEG);
    // A marker is opaque: anything else is refused, and so is a marker with an offset.
    for bad in ["limit=5&marker=***", "limit=5&marker=MTIz", "marker=MS4yLjM&offset=5"] {
        assert_vias(
            &s.get(&format!("/v2/{{p}}/vigil/alarms?{bad}")).await,
            400,
            "VIAS.00010001",
            Some("marker"),
        );
    }
    s.finish().await;
}

/// The counters equal a fresh count of the rows (every project, every dimension), every picture
/// belongs to an alarm that says so, and ListAlarms' `total` is exact for each counted filter
/// and for a combination.
async fn assert_exact(s: &TestServer, step: &str) {
    let pool = s.store.pool();
    let mut want: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    let mut hourly: BTreeMap<(String, String, String, i64), i64> = BTreeMap::new();
    let rows =
        sqlx::query("SELECT project_id, task_id, video_source_id, event_type, review_state, alarm_time FROM alarms")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut alarms_of_a = Vec::new();
    for r in &rows {
        let p: String = r.get(0);
        let time: i64 = r.get(5);
        let mut add = |dim: &str, val: String| {
            *hourly
                .entry((p.clone(), dim.into(), val.clone(), time.div_euclid(H)))
                .or_default() += 1;
            *want.entry((p.clone(), dim.into(), val)).or_default() += 1;
        };
        add("all", String::new());
        add("task", r.get(1));
        if let Some(v) = r.get::<Option<String>, _>(2) {
            add("source", v);
        }
        add("event", r.get::<i64, _>(3).to_string());
        add("review", r.get(4));
        // Per-minute counters of every alarm, keyed like the hourly ones.
        *hourly
            .entry((p.clone(), "minute".into(), String::new(), time.div_euclid(60)))
            .or_default() += 1;
        if p == s.a.project_id {
            alarms_of_a.push(Stored {
                id: String::new(),
                task: r.get(1),
                source: r.get(2),
                event: r.get::<i64, _>(3) as u64,
                time,
                created: 0,
                review: r.get(4),
            });
        }
    }
    // Every row, so a counter brought to 0 must be gone.
    let got: BTreeMap<(String, String, String, i64), i64> =
        sqlx::query("SELECT project_id, dim, val, hour, n FROM alarm_counts")
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| ((r.get(0), r.get(1), r.get(2), r.get(3)), r.get(4)))
            .collect();
    assert_eq!(got, hourly, "{step}: counters");
    let count = |sql: &'static str| async move { sqlx::query(sql).fetch_one(pool).await.unwrap().get::<i64, _>(0) };
    assert_eq!(
        count("SELECT COUNT(*) FROM alarm_pictures").await,
        count("SELECT COUNT(*) FROM alarms WHERE has_image = 1").await,
        "{step}: pictures"
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM alarm_pictures p WHERE NOT EXISTS \
             (SELECT 1 FROM alarms a WHERE a.message_id = p.message_id AND a.has_image = 1)"
        )
        .await,
        0,
        "{step}: orphan pictures"
    );
    let p = &s.a.project_id;
    let n = |dim: &str, val: &str| {
        want.get(&(p.clone(), dim.to_string(), val.to_string()))
            .copied()
            .unwrap_or(0)
    };
    let mut checks = vec![(String::new(), n("all", ""))];
    checks.extend(TASKS.map(|t| (format!("task_id={t}"), n("task", t))));
    checks.extend(
        SOURCES
            .into_iter()
            .flatten()
            .map(|v| (format!("video_source_id={v}"), n("source", v))),
    );
    checks.extend(EVENTS.map(|e| (format!("event_type={e}"), n("event", &e.to_string()))));
    checks.extend(["none", "pending", "approved", "rejected"].map(|r| (format!("review_state={r}"), n("review", r))));
    for (q, want) in checks {
        assert_eq!(page(s, &format!("limit=1&{q}")).await["total"], want, "{step}: {q}");
    }
    // Time ranges alone and with each kind of id filter, against the rows.
    let f = |query: &str, keep: Box<dyn Fn(&Stored) -> bool>| Filter {
        query: query.into(),
        keep,
    };
    let with_ids = [
        f("", Box::new(|_| true)),
        f("task_id=task-a&", Box::new(|r| r.task == "task-a")),
        f(
            "video_source_id=src-1&",
            Box::new(|r| r.source.as_deref() == Some("src-1")),
        ),
        f(
            &format!("event_type={}&", EVENTS[0]),
            Box::new(|r| r.event == EVENTS[0]),
        ),
        f("review_state=none&", Box::new(|r| r.review == "none")),
    ];
    for (lo, hi) in RANGES {
        for ids in &with_ids {
            let want = alarms_of_a
                .iter()
                .filter(|r| (ids.keep)(r) && in_range(r.time, lo, hi))
                .count();
            let q = format!("limit=1&{}{}", ids.query, range_query(lo, hi));
            assert_eq!(page(s, &q).await["total"], want, "{step}: {q}");
        }
    }
    let both: i64 =
        sqlx::query("SELECT COUNT(*) FROM alarms WHERE project_id = $1 AND task_id = 'task-a' AND event_type = $2")
            .bind(p)
            .bind(EVENTS[0] as i64)
            .fetch_one(pool)
            .await
            .unwrap()
            .get(0);
    let q = format!("limit=1&task_id=task-a&event_type={}", EVENTS[0]);
    assert_eq!(page(s, &q).await["total"], both, "{step}: {q}");
}

async fn totals_stay_exact(b: Backend) {
    let s = TestServer::start(b).await;
    let p = s.a.project_id.clone();
    let rows = seed(&s, 60).await;
    assert_exact(&s, "seeded").await;

    // Aggregation: the repeat folds into the first row (no new row, its hour stays the first
    // one's, though the repeat is in the next hour); another task's is new.
    set_rules(&s, &p, false, true).await;
    let first = alarm("task-a", T0 + 8 * H - 10, EVENTS[0], true);
    enqueue(&s, &p, &first, Some("src-1")).await;
    enqueue(&s, &p, &alarm("task-a", T0 + 8 * H + 5, EVENTS[0], true), Some("src-1")).await;
    enqueue(&s, &p, &alarm("task-b", T0 + 8 * H + 5, EVENTS[0], false), None).await;
    let v = page(&s, "limit=1&task_id=task-a").await;
    assert_eq!(v["alarms"][0]["message_id"], first.message_id.as_str(), "{v}");
    assert_eq!(v["alarms"][0]["aggregate_count"], 2, "{v}");
    assert_eq!(page(&s, "limit=1").await["total"], rows.len() + 2);
    assert_exact(&s, "aggregation").await;

    // Review: pending alarms approved and rejected.
    set_rules(&s, &p, true, false).await;
    let pending: Vec<Alarm> = (0..4)
        .map(|k| alarm(TASKS[k % 3], T0 + 200, EVENTS[1], k % 2 == 0))
        .collect();
    for a in &pending {
        enqueue(&s, &p, a, Some("src-2")).await;
    }
    assert_exact(&s, "pending").await;
    let (st, v) = s
        .post(
            "/v2/{p}/vigil/alarms/review",
            json!({"message_ids": [pending[0].message_id, pending[1].message_id], "decision": "approve"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    s.store
        .review_alarms(&p, &[pending[2].message_id.clone()], false)
        .await
        .unwrap();
    assert_exact(&s, "review").await;

    // Deletes: one, several by id, every match of a filter.
    let (st, _) = s
        .delete(&format!("/v2/{{p}}/vigil/alarms/{}", pending[0].message_id))
        .await;
    assert_eq!(st, 204);
    assert_exact(&s, "single delete").await;
    let some: Vec<&str> = rows[..5].iter().map(|r| r.id.as_str()).collect();
    let (st, v) = s
        .post("/v2/{p}/vigil/alarms/batch-delete", json!({"message_ids": some}))
        .await;
    assert_eq!((st.as_u16(), v["deleted"].as_i64()), (200, Some(5)), "{v}");
    assert_exact(&s, "batch delete by id").await;
    let (st, v) = s
        .post(
            "/v2/{p}/vigil/alarms/batch-delete",
            json!({"task_id": "task-b", "review_state": "none"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(v["deleted"].as_i64().unwrap() > 0);
    assert_exact(&s, "batch delete by filter").await;

    // Retention: the imported alarms (stored in 2020) of both projects go, the recent stay.
    let gone = s
        .store
        .delete_alarms_past_retention(vigil_store::now_ms(), 30)
        .await
        .unwrap();
    assert!(gone > 0);
    assert_exact(&s, "retention").await;
    let v = page(&s, "limit=1").await;
    assert!(v["total"].as_i64().unwrap() > 0, "recent alarms are kept: {v}");

    // A deleted project takes its counters and pictures along.
    import(&s, &s.b.project_id.clone(), 100, 8).await;
    s.store.delete_project(&s.b.project_id).await.unwrap();
    assert_exact(&s, "project deleted").await;
    s.finish().await;
}

/// A database at version 9 holding alarms (pictures in the row, no counters) upgrades: migration
/// 0010 moves the pictures out and counts every project's alarms per hour, 0012 per minute.
async fn migration_upgrades(b: Backend) {
    let s = TestServer::start(b).await;
    seed(&s, 40).await;
    let pool = s.store.pool();
    // Back to the shape of version 9.
    for sql in [
        "UPDATE alarms SET image_base64 = (SELECT p.image_base64 FROM alarm_pictures p \
         WHERE p.message_id = alarms.message_id)",
        "DROP TABLE alarm_pictures",
        "DROP TABLE alarm_counts",
        "DROP INDEX alarms_list",
        "DROP INDEX alarms_list_task",
        "DROP INDEX alarms_list_source",
        "DROP INDEX alarms_list_event",
        "DROP INDEX alarms_list_review",
        "ALTER TABLE alarms DROP COLUMN has_image",
        "CREATE INDEX alarms_project_time ON alarms (project_id, alarm_time)",
        "CREATE INDEX alarms_project_task ON alarms (project_id, task_id, alarm_time)",
        "CREATE INDEX alarms_project_source ON alarms (project_id, video_source_id, alarm_time)",
        "CREATE INDEX alarms_project_event ON alarms (project_id, event_type, alarm_time)",
        "CREATE INDEX alarms_project_review ON alarms (project_id, review_state, created_at)",
        "DELETE FROM vigil_migrations WHERE version IN (10, 12)",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    assert_eq!(s.store.migrate().await.unwrap(), 2);
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM alarms WHERE image_base64 IS NOT NULL")
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "pictures moved out of the rows");
    assert_exact(&s, "migrated").await;
    let v = page(&s, "limit=1000").await;
    let with_image = v["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a.get("image_url").is_some())
        .count();
    assert_eq!(with_image, (0..80usize).filter(|k| k.is_multiple_of(4)).count());
    s.finish().await;
}

crate::both_backends!(paging_matches_order, totals_stay_exact, migration_upgrades);
