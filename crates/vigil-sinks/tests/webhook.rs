//! Webhook delivery through the real outbox and dispatcher to a real HTTP receiver, on SQLite and
//! PostgreSQL: a receiver that is down or failing, timeouts, backoff timing, and exclusive
//! claims across two dispatchers.

#[path = "../../vigil-api/tests/common/mod.rs"]
mod common;
mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backend, TestServer};
use support::*;
use vigil_core::egress::GENERIC_CONNECT_ERROR;
use vigil_sinks::{Backoff, Dispatcher, ManualClock};
use vigil_store::alarms::AlarmFilter;

const PATIENCE: Duration = Duration::from_secs(30);

fn all(limit: i64) -> AlarmFilter {
    AlarmFilter {
        limit,
        ..Default::default()
    }
}

/// Receiver not listening, then answering 503, then healthy: every alarm arrives exactly once,
/// with its headers, and the receiver's set equals the event center's.
async fn receiver_down_then_up(b: Backend) {
    let s = TestServer::start(b).await;
    let project = s.a.project_id.clone();
    let addr = free_port().await;
    let url = format!("http://{addr}/hook");
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&s.store, test_sinks(dir.path(), Duration::from_secs(2)), "w1");
    let counters = d.counters();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = d.clone().spawn(async move {
        let _ = stopped.await;
    });

    let started = Instant::now();
    let mut sent = Vec::new();
    for n in 0..20u64 {
        let a = alarm("task-down", 1_700_000_000 + n, n % 2 == 0);
        assert_eq!(
            s.store
                .enqueue_alarm(&a, &project, Some("src-1"), &webhook_outputs(&url, true))
                .await
                .unwrap(),
            1
        );
        d.wake();
        sent.push(a);
    }
    // Production only writes the outbox: a dead receiver does not slow it down.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "enqueue took {:?}",
        started.elapsed()
    );

    wait_for("every alarm to fail once", PATIENCE, || async {
        counters.snapshot().retried >= 20
    })
    .await;
    let rx = Receiver::start_on(addr, Mode::Unavailable).await;
    wait_for("503 answers", PATIENCE, || async { rx.refused() >= 5 }).await;
    assert!(rx.accepted().is_empty());
    assert_eq!(pending(&s.store).await, 20);
    rx.set_mode(Mode::Ok);
    wait_for("the outbox to drain", PATIENCE, || async {
        pending(&s.store).await == 0
    })
    .await;

    let got = rx.accepted();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *per_id.entry(r.alarm.message_id.clone()).or_default() += 1;
        assert_eq!(r.headers["x-receiver-token"], "s3cret");
        assert_eq!(r.headers["content-type"], "application/json");
    }
    assert_eq!(got.len(), 20, "exactly once each: {per_id:?}");
    assert!(per_id.values().all(|&n| n == 1));
    for a in &sent {
        let r = got
            .iter()
            .find(|r| r.alarm.message_id == a.message_id)
            .expect("delivered");
        assert_eq!(&r.alarm, a, "body is the envelope as enqueued");
    }
    let center = s.store.list_alarms(&project, &all(1000)).await.unwrap();
    assert_eq!(center.total, 20);
    let center_ids: HashSet<String> = center.alarms.iter().map(|r| r.envelope.message_id.clone()).collect();
    assert_eq!(center_ids, per_id.keys().cloned().collect::<HashSet<_>>());
    let c = counters.snapshot();
    assert_eq!(c.delivered, 20);
    assert!(c.retried >= 25, "{c:?}");

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap()
        .unwrap();
    rx.stop();
    s.finish().await;
}

/// A receiver slower than the timeout is retried; the error is kept on the row.
async fn timeouts_are_retried(b: Backend) {
    let s = TestServer::start(b).await;
    let rx = Receiver::start(Mode::Slow).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&s.store, test_sinks(dir.path(), Duration::from_millis(300)), "w1");
    let a = alarm("task-slow", 1_700_000_000, true);
    s.store
        .enqueue_alarm(&a, &s.a.project_id, None, &webhook_outputs(&rx.url(), false))
        .await
        .unwrap();
    assert_eq!(d.run_once().await.unwrap(), 1);
    let rows = s.store.outbox_rows_of(&a.message_id).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, 1, "one failed attempt");
    // Tenants may see the outbox error: one generic text, the details are in the log.
    assert_eq!(rows[0].2.as_deref(), Some(GENERIC_CONNECT_ERROR), "{rows:?}");
    assert_eq!(
        s.store.list_alarms(&s.a.project_id, &all(10)).await.unwrap().total,
        0,
        "event center off"
    );

    rx.set_mode(Mode::Ok);
    wait_for("the retry", PATIENCE, || async {
        d.run_once().await.unwrap();
        pending(&s.store).await == 0
    })
    .await;
    assert_eq!(rx.accepted().len(), 1);
    rx.stop();
    s.finish().await;
}

/// Backoff on simulated time: a failing row is due again after base·2^(n-1), a refused (4xx) one
/// after the cap; nothing is claimed before it is due.
async fn backoff_follows_the_clock(b: Backend) {
    let s = TestServer::start(b).await;
    let rx = Receiver::start(Mode::Unavailable).await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(vigil_store::now_ms() + 1000));
    let mut cfg = test_config("w1");
    cfg.backoff = Backoff {
        base: Duration::from_secs(10),
        cap: Duration::from_secs(60),
        jitter: 0.0,
    };
    let d = Dispatcher::with_clock(
        s.store.clone(),
        test_sinks(dir.path(), Duration::from_secs(2)),
        cfg,
        clock.clone(),
    );
    let a = alarm("task-backoff", 1_700_000_000, false);
    s.store
        .enqueue_alarm(&a, &s.a.project_id, None, &webhook_outputs(&rx.url(), false))
        .await
        .unwrap();
    // Failures 1, 2, 3 wait 10 s, 20 s, 40 s; then 60 s (cap).
    for (failures, wait_s) in [(1, 10), (2, 20), (3, 40), (4, 60)] {
        assert_eq!(d.run_once().await.unwrap(), 1, "due before failure {failures}");
        assert_eq!(s.store.outbox_rows_of(&a.message_id).await.unwrap()[0].1, failures);
        clock.advance_ms(wait_s * 1000 - 1);
        assert_eq!(
            d.run_once().await.unwrap(),
            0,
            "not due 1 ms early after failure {failures}"
        );
        clock.advance_ms(2);
    }
    // A refusal (4xx) waits the cap at once.
    rx.set_mode(Mode::BadRequest);
    assert_eq!(d.run_once().await.unwrap(), 1);
    let row = &s.store.outbox_rows_of(&a.message_id).await.unwrap()[0];
    assert_eq!(row.2.as_deref(), Some(GENERIC_CONNECT_ERROR), "{row:?}");
    clock.advance_ms(59_000);
    assert_eq!(d.run_once().await.unwrap(), 0);
    rx.set_mode(Mode::Ok);
    clock.advance_ms(1_001);
    assert_eq!(d.run_once().await.unwrap(), 1);
    assert_eq!(pending(&s.store).await, 0);
    assert_eq!(rx.accepted().len(), 1);
    let c = d.counters().snapshot();
    assert_eq!((c.delivered, c.retried), (1, 5));
    rx.stop();
    s.finish().await;
}

/// Two dispatchers drain one outbox concurrently: no alarm is delivered twice, both take part.
async fn two_dispatchers_share_the_outbox(b: Backend) {
    let s = TestServer::start(b).await;
    // Paced: on a loaded machine one dispatcher could drain a fast receiver before the other
    // claims anything, and the test is about sharing.
    let rx = Receiver::start(Mode::Paced).await;
    let dir = tempfile::tempdir().unwrap();
    let n = 120;
    for i in 0..n {
        let a = alarm("task-pair", 1_700_000_000 + i, false);
        s.store
            .enqueue_alarm(&a, &s.a.project_id, None, &webhook_outputs(&rx.url(), false))
            .await
            .unwrap();
    }
    let mut handles = Vec::new();
    let mut counters = Vec::new();
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    for w in ["w1", "w2"] {
        let mut cfg = test_config(w);
        cfg.batch = 4;
        cfg.concurrency = 4;
        // The per-project lease cap counts every worker: at the default (4) the first dispatcher's
        // own 4 deliveries could hold it the whole time and leave nothing to share.
        cfg.per_project = 16;
        let d = Dispatcher::new(s.store.clone(), test_sinks(dir.path(), Duration::from_secs(5)), cfg);
        counters.push(d.counters());
        let mut stopped = stop.subscribe();
        handles.push(d.spawn(async move {
            let _ = stopped.recv().await;
        }));
    }
    wait_for("the outbox to drain", PATIENCE, || async {
        pending(&s.store).await == 0
    })
    .await;
    let _ = stop.send(());
    for h in handles {
        h.await.unwrap();
    }
    let got = rx.accepted();
    let ids: HashSet<String> = got.iter().map(|r| r.alarm.message_id.clone()).collect();
    assert_eq!(got.len() as u64, n, "no duplicates");
    assert_eq!(ids.len() as u64, n);
    let delivered: Vec<u64> = counters.iter().map(|c| c.snapshot().delivered).collect();
    assert_eq!(delivered.iter().sum::<u64>(), n);
    assert!(
        delivered.iter().all(|&d| d > 0),
        "both dispatchers worked: {delivered:?}"
    );
    rx.stop();
    s.finish().await;
}

/// A receiver that hangs holds up neither alarm production nor the alarm's other outputs.
async fn slow_receiver_blocks_nothing_else(b: Backend) {
    let s = TestServer::start(b).await;
    let rx = Receiver::start(Mode::Slow).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dispatcher(&s.store, test_sinks(dir.path(), Duration::from_secs(10)), "w1");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = d.clone().spawn(async move {
        let _ = stopped.await;
    });
    let outputs = vigil_core::alarm::AlarmOutputs {
        obs: Some(vigil_core::alarm::ObsOutput {
            bucket: "alarms-b".into(),
            path: String::new(),
        }),
        ..webhook_outputs(&rx.url(), false)
    };
    let started = Instant::now();
    for i in 0..6 {
        let a = alarm("task-hang", 1_700_000_000 + i, true);
        s.store
            .enqueue_alarm(&a, &s.a.project_id, None, &outputs)
            .await
            .unwrap();
        d.wake();
    }
    wait_for("the obs objects", PATIENCE, || async { pending(&s.store).await == 6 }).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(1900),
        "obs waited for the hanging webhook: {elapsed:?}"
    );
    // Only the six webhook rows are left: every obs object was written while the webhook hung.
    assert!(d.counters().snapshot().delivered >= 6);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(15), run)
        .await
        .unwrap()
        .unwrap();
    rx.stop();
    s.finish().await;
}

both_backends!(
    receiver_down_then_up,
    slow_receiver_blocks_nothing_else,
    timeouts_are_retried,
    backoff_follows_the_clock,
    two_dispatchers_share_the_outbox
);
