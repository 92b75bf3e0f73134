//! Fairness between tenants and retention, on SQLite and PostgreSQL: project A's webhook hangs
//! or answers 503 with a backlog of alarms, and project B's alarms still arrive at once; the
//! cleanup job deletes alarms and undeliverable outbox rows past their retention.

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backend, TestServer};
use support::*;
use vigil_sinks::retention::{Removed, Retention, RetentionConfig};
use vigil_sinks::{Backoff, Dispatcher, ManualClock};
use vigil_store::alarms::AlarmFilter;

const BACKLOG: u64 = 60;

/// A's receiver behaves as `mode` with `BACKLOG` alarms queued (and in flight) before B's five
/// are enqueued; B's must be delivered within two seconds.
async fn dead_webhook_does_not_starve_others(b: Backend, mode: Mode) {
    let s = TestServer::start(b).await;
    let rx_a = Receiver::start(mode).await;
    let rx_b = Receiver::start(Mode::Ok).await;
    let dir = tempfile::tempdir().unwrap();
    // Webhook timeout 1 s: a hung receiver costs a second per attempt.
    let mut cfg = test_config("w1");
    cfg.backoff = Backoff {
        base: Duration::from_millis(200),
        cap: Duration::from_secs(2),
        jitter: 0.5,
    };
    let d = Dispatcher::new(s.store.clone(), test_sinks(dir.path(), Duration::from_secs(1)), cfg);
    let counters = d.counters();
    for i in 0..BACKLOG {
        let a = alarm("task-a", 1_700_000_000 + i, false);
        s.store
            .enqueue_alarm(&a, &s.a.project_id, None, &webhook_outputs(&rx_a.url(), false))
            .await
            .unwrap();
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = d.clone().spawn(async move {
        let _ = stopped.await;
    });
    // Let A's deliveries take their slots first.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    for i in 0..5 {
        let a = alarm("task-b", 1_700_000_100 + i, false);
        s.store
            .enqueue_alarm(&a, &s.b.project_id, None, &webhook_outputs(&rx_b.url(), false))
            .await
            .unwrap();
        d.wake();
    }
    wait_for("B's alarms", Duration::from_secs(2), || async {
        rx_b.accepted().len() == 5
    })
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "B waited {took:?} behind A's dead receiver"
    );

    // A's backlog waits with its paused destination instead of costing one attempt per alarm
    // (without the pause, 60 quick 503s would all be tried within the first second).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let c = counters.snapshot();
    assert!(c.retried > 0, "{c:?}");
    assert!(c.retried <= BACKLOG / 2, "attempts on A's dead receiver: {c:?}");
    assert_eq!(pending(&s.store).await, BACKLOG as i64, "A's alarms are all kept");
    assert!(rx_a.accepted().is_empty());

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap();
    rx_a.stop();
    rx_b.stop();
    s.finish().await;
}

async fn hung_receiver(b: Backend) {
    dead_webhook_does_not_starve_others(b, Mode::Slow).await
}

async fn failing_receiver(b: Backend) {
    dead_webhook_does_not_starve_others(b, Mode::Unavailable).await
}

/// Alarms older than the alarm retention go; outbox rows that failed for longer than the outbox
/// retention go, but never a row that was not tried yet or one a dispatcher holds.
async fn retention_cleanup(b: Backend) {
    let s = TestServer::start(b).await;
    let p = &s.a.project_id;
    let outputs = webhook_outputs("http://127.0.0.1:9/hook", true);
    let mut ids = Vec::new();
    for i in 0..3 {
        let a = alarm("task-r", 1_700_000_000 + i, true);
        s.store.enqueue_alarm(&a, p, None, &outputs).await.unwrap();
        ids.push(a.message_id);
    }
    let now = vigil_store::now_ms() + 10;
    let day = 24 * 3600 * 1000i64;
    // Row 0 failed once; row 1 was never tried; row 2 failed and is leased for 40 days.
    let claimed = s.store.claim_due("w1", 3, Duration::from_secs(60), now).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let row = |m: &str| claimed.iter().find(|c| c.message_id == m).unwrap().id.clone();
    s.store.retry_later(&row(&ids[0]), "x", now).await.unwrap();
    s.store.defer(&row(&ids[1]), now).await.unwrap();
    s.store.retry_later(&row(&ids[2]), "x", now).await.unwrap();
    let leased = s
        .store
        .claim_due_fair("w1", 3, 3, Duration::from_secs(40 * 24 * 3600), now)
        .await
        .unwrap();
    // Take back all but row 2.
    for it in &leased {
        if it.message_id != ids[2] {
            s.store.defer(&it.id, now).await.unwrap();
        }
    }

    let at = |offset_ms: i64| {
        Retention::with_clock(
            s.store.clone(),
            RetentionConfig::default(),
            Arc::new(ManualClock::new(now + offset_ms)),
        )
    };
    assert_eq!(
        at(6 * day).run_once().await.unwrap(),
        Removed::default(),
        "nothing old enough"
    );
    assert_eq!(
        at(8 * day).run_once().await.unwrap(),
        Removed { alarms: 0, outbox: 1 },
        "the failed, unleased row"
    );
    assert!(s.store.outbox_rows_of(&ids[0]).await.unwrap().is_empty());
    assert_eq!(
        s.store.outbox_rows_of(&ids[1]).await.unwrap().len(),
        1,
        "never tried: kept"
    );
    assert_eq!(s.store.outbox_rows_of(&ids[2]).await.unwrap().len(), 1, "leased: kept");
    let all = AlarmFilter {
        limit: 100,
        ..Default::default()
    };
    assert_eq!(s.store.list_alarms(p, &all).await.unwrap().total, 3);

    let keep_forever = Retention::with_clock(
        s.store.clone(),
        RetentionConfig {
            alarm_days: 0,
            outbox_days: 0,
            ..Default::default()
        },
        Arc::new(ManualClock::new(now + 400 * day)),
    );
    assert_eq!(keep_forever.run_once().await.unwrap(), Removed::default());

    assert_eq!(at(31 * day).run_once().await.unwrap(), Removed { alarms: 3, outbox: 0 });
    assert_eq!(s.store.list_alarms(p, &all).await.unwrap().total, 0);
    assert_eq!(
        s.store.get_alarm_image(p, &ids[0]).await.unwrap_err().to_string(),
        vigil_store::StoreError::NotFound("alarm").to_string()
    );
    s.finish().await;
}

both_backends!(hung_receiver, failing_receiver, retention_cleanup);
