//! The alarm store on SQLite and PostgreSQL: the enqueue transaction, leases, acknowledgement,
//! rescheduling, statistics, exclusive claims under concurrency, and event-center queries.

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;
mod support;

use std::collections::HashSet;
use std::time::Duration;

use common::{Backend, TestServer};
use support::*;
use vigil_core::alarm::{AlarmOutputs, DisOutput, ObsOutput};
use vigil_store::alarms::AlarmFilter;

fn every_output() -> AlarmOutputs {
    AlarmOutputs {
        obs: Some(ObsOutput {
            bucket: "b1".into(),
            path: "p".into(),
        }),
        dis: Some(DisOutput {
            stream_name: "s1".into(),
        }),
        ..webhook_outputs("http://127.0.0.1:9/hook", true)
    }
}

async fn enqueue_is_one_transaction(b: Backend) {
    let s = TestServer::start(b).await;
    let p = &s.a.project_id;
    let a = alarm("t1", 1_700_000_000, true);
    assert_eq!(
        s.store
            .enqueue_alarm(&a, p, Some("src"), &every_output())
            .await
            .unwrap(),
        3
    );
    let rows = s.store.outbox_rows_of(&a.message_id).await.unwrap();
    let sinks: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(sinks, ["dis", "obs", "webhook"]);
    assert_eq!(
        s.store
            .list_alarms(
                p,
                &AlarmFilter {
                    limit: 10,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(s.store.get_alarm_image(p, &a.message_id).await.unwrap().unwrap(), JPEG);

    // The same message id again violates the event center's key: nothing of it is written.
    let err = s.store.enqueue_alarm(&a, p, None, &every_output()).await.unwrap_err();
    assert!(err.is_unique_violation(), "{err}");
    assert_eq!(
        s.store.outbox_rows_of(&a.message_id).await.unwrap().len(),
        3,
        "rolled back"
    );

    // Event center only: no outbox row. No output at all: nothing.
    let only_center = AlarmOutputs {
        event_center: true,
        ..Default::default()
    };
    let c = alarm("t1", 1_700_000_001, false);
    assert_eq!(s.store.enqueue_alarm(&c, p, None, &only_center).await.unwrap(), 0);
    assert_eq!(s.store.get_alarm_image(p, &c.message_id).await.unwrap(), None);
    let n = alarm("t1", 1_700_000_002, false);
    assert_eq!(
        s.store
            .enqueue_alarm(&n, p, None, &AlarmOutputs::default())
            .await
            .unwrap(),
        0
    );
    assert!(matches!(
        s.store.get_alarm_image(p, &n.message_id).await,
        Err(vigil_store::StoreError::NotFound(_))
    ));
    assert!(
        s.store.get_alarm_image(&s.b.project_id, &a.message_id).await.is_err(),
        "other projects see nothing"
    );
    s.finish().await;
}

async fn lease_ack_retry_and_stats(b: Backend) {
    let s = TestServer::start(b).await;
    let p = &s.a.project_id;
    let a = alarm("t1", 1_700_000_000, false);
    s.store
        .enqueue_alarm(&a, p, None, &webhook_outputs("http://127.0.0.1:9/", false))
        .await
        .unwrap();
    let t0 = vigil_store::now_ms() + 10;
    let lease = Duration::from_millis(1000);
    let mine = s.store.claim_due("w1", 10, lease, t0).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!((mine[0].sink.as_str(), mine[0].attempts), ("webhook", 0));
    assert!(mine[0].payload.contains(&a.message_id));
    assert!(
        s.store.claim_due("w2", 10, lease, t0 + 500).await.unwrap().is_empty(),
        "leased"
    );
    let taken_over = s.store.claim_due("w2", 10, lease, t0 + 1001).await.unwrap();
    assert_eq!(taken_over.len(), 1, "an expired lease is claimable again");

    s.store.retry_later(&taken_over[0].id, "boom", t0 + 5000).await.unwrap();
    assert!(
        s.store.claim_due("w1", 10, lease, t0 + 4999).await.unwrap().is_empty(),
        "not due"
    );
    let stats = s.store.outbox_stats(t0 + 4999).await.unwrap();
    assert_eq!((stats.pending, stats.max_attempts), (1, 1));
    assert!(stats.oldest_age_ms >= 4999, "{stats:?}");
    let again = s.store.claim_due("w1", 10, lease, t0 + 5000).await.unwrap();
    assert_eq!(again[0].attempts, 1);
    assert_eq!(
        s.store.outbox_rows_of(&a.message_id).await.unwrap()[0].2.as_deref(),
        Some("boom")
    );
    s.store.ack(&again[0].id).await.unwrap();
    assert_eq!(s.store.outbox_stats(t0).await.unwrap(), Default::default());
    s.finish().await;
}

/// Four claimers race over 200 rows: every row is handed out exactly once.
async fn claims_are_exclusive(b: Backend) {
    let s = TestServer::start(b).await;
    let total = 200;
    for i in 0..total {
        let a = alarm("t1", 1_700_000_000 + i, false);
        s.store
            .enqueue_alarm(
                &a,
                &s.a.project_id,
                None,
                &webhook_outputs("http://127.0.0.1:9/", false),
            )
            .await
            .unwrap();
    }
    let now = vigil_store::now_ms() + 10;
    let mut joins = Vec::new();
    for w in 0..4 {
        let store = s.store.clone();
        joins.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim_due(&format!("w{w}"), 7, Duration::from_secs(60), now)
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|it| it.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut per_worker = Vec::new();
    for j in joins {
        let ids = j.await.unwrap();
        per_worker.push(ids.len());
        for id in ids {
            assert!(seen.insert(id), "a row was claimed twice");
        }
    }
    assert_eq!(seen.len() as u64, total, "{per_worker:?}");
    s.finish().await;
}

async fn event_center_queries(b: Backend) {
    let s = TestServer::start(b).await;
    let p = &s.a.project_id;
    let center = AlarmOutputs {
        event_center: true,
        ..Default::default()
    };
    for i in 0..6u64 {
        let mut a = alarm(if i < 4 { "ta" } else { "tb" }, 1_700_000_000 + i * 10, i % 2 == 0);
        if i == 5 {
            a.event_type = 131073;
        }
        let src = if i < 3 { "src-1" } else { "src-2" };
        s.store.enqueue_alarm(&a, p, Some(src), &center).await.unwrap();
    }
    s.store
        .enqueue_alarm(&alarm("ta", 1_700_000_000, true), &s.b.project_id, None, &center)
        .await
        .unwrap();
    let q = |f: AlarmFilter| {
        let store = s.store.clone();
        let p = p.clone();
        async move {
            let page = store
                .list_alarms(
                    &p,
                    &AlarmFilter {
                        limit: f.limit.max(1),
                        ..f
                    },
                )
                .await
                .unwrap();
            (
                page.total,
                page.alarms
                    .iter()
                    .map(|r| r.envelope.timestamp - 1_700_000_000)
                    .collect::<Vec<_>>(),
            )
        }
    };
    let f = |limit| AlarmFilter {
        limit,
        ..Default::default()
    };
    assert_eq!(q(f(100)).await, (6, vec![50, 40, 30, 20, 10, 0]), "newest first");
    assert_eq!(q(AlarmFilter { offset: 2, ..f(3) }).await, (6, vec![30, 20, 10]));
    assert_eq!(
        q(AlarmFilter {
            task_id: Some("tb".into()),
            ..f(100)
        })
        .await,
        (2, vec![50, 40])
    );
    assert_eq!(
        q(AlarmFilter {
            video_source_id: Some("src-1".into()),
            ..f(100)
        })
        .await,
        (3, vec![20, 10, 0])
    );
    assert_eq!(
        q(AlarmFilter {
            event_type: Some(131073),
            ..f(100)
        })
        .await,
        (1, vec![50])
    );
    assert_eq!(
        q(AlarmFilter {
            start_time: Some(1_700_000_010),
            end_time: Some(1_700_000_030),
            ..f(100)
        })
        .await,
        (3, vec![30, 20, 10])
    );
    let page = s.store.list_alarms(p, &f(100)).await.unwrap();
    let with_image: Vec<bool> = page.alarms.iter().map(|r| r.has_image).collect();
    assert_eq!(with_image, [false, true, false, true, false, true]);
    assert!(page
        .alarms
        .iter()
        .all(|r| r.envelope.image_base64.is_none() && r.project_id == *p));
    assert_eq!(page.alarms[0].video_source_id.as_deref(), Some("src-2"));
    s.finish().await;
}

/// Round robin between projects, at most `per_project` leases of one project and sink kind
/// (all claimers together); an older backlog of one project does not come first.
async fn claims_are_fair_between_projects(b: Backend) {
    let s = TestServer::start(b).await;
    let hook = webhook_outputs("http://127.0.0.1:9/", false);
    for i in 0..20 {
        let a = alarm("ta", 1_700_000_000 + i, false);
        s.store.enqueue_alarm(&a, &s.a.project_id, None, &hook).await.unwrap();
    }
    for i in 0..3 {
        let a = alarm("tb", 1_700_000_100 + i, false);
        s.store.enqueue_alarm(&a, &s.b.project_id, None, &hook).await.unwrap();
    }
    let now = vigil_store::now_ms() + 10;
    let lease = Duration::from_secs(60);
    let count = |items: &[vigil_store::outbox::OutboxItem], p: &str| items.iter().filter(|i| i.project_id == p).count();
    let first = s.store.claim_due_fair("w1", 3, 2, lease, now).await.unwrap();
    assert_eq!(first.len(), 3);
    assert!(count(&first, &s.b.project_id) >= 1, "B is served in the first batch");
    let second = s.store.claim_due_fair("w2", 10, 2, lease, now).await.unwrap();
    let (a, b) = (
        count(&first, &s.a.project_id) + count(&second, &s.a.project_id),
        count(&first, &s.b.project_id) + count(&second, &s.b.project_id),
    );
    assert_eq!((a, b), (2, 2), "two leases per project across both claimers");
    assert!(s
        .store
        .claim_due_fair("w3", 10, 2, lease, now)
        .await
        .unwrap()
        .is_empty());
    // A lease handed back frees its project's slot.
    s.store.ack(&first[0].id).await.unwrap();
    assert_eq!(s.store.claim_due_fair("w3", 10, 2, lease, now).await.unwrap().len(), 1);
    s.finish().await;
}

both_backends!(
    claims_are_fair_between_projects,
    enqueue_is_one_transaction,
    lease_ack_retry_and_stats,
    claims_are_exclusive,
    event_center_queries
);
