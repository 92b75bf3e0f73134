//! Backoff per destination: a task output (project, sink, settings) whose deliveries fail is
//! paused with a growing delay, and its other alarms wait with it instead of taking delivery
//! slots, so a tenant's dead receiver costs one probe per delay rather than one timeout per
//! alarm. Other destinations, of the same tenant or another, are not affected.

use std::collections::HashMap;
use std::sync::Mutex;

use vigil_store::outbox::OutboxItem;

use crate::Backoff;

/// One task output as the outbox stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DestinationKey {
    pub project_id: String,
    pub sink: String,
    pub sink_config: String,
}

impl DestinationKey {
    pub fn of(item: &OutboxItem) -> Self {
        Self {
            project_id: item.project_id.clone(),
            sink: item.sink.clone(),
            sink_config: item.sink_config.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    failures: u32,
    until_ms: i64,
}

/// Entries kept before expired ones are swept (a bound on memory under many dead receivers).
const SWEEP_ABOVE: usize = 10_000;

/// The paused destinations of one dispatcher (other dispatchers learn through the deferred rows).
#[derive(Debug)]
pub struct Destinations {
    backoff: Backoff,
    paused: Mutex<HashMap<DestinationKey, State>>,
}

impl Destinations {
    pub fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            paused: Mutex::new(HashMap::new()),
        }
    }

    /// When the destination may be tried again, if it is paused at `now_ms`.
    pub fn paused_until(&self, key: &DestinationKey, now_ms: i64) -> Option<i64> {
        let map = self.paused.lock().ok()?;
        map.get(key).map(|s| s.until_ms).filter(|&u| u > now_ms)
    }

    /// A delivery failed in a way that may be the destination's (timeout, refused, 5xx): pauses
    /// it for the next, longer delay. Failures of deliveries that were in flight together count
    /// once. Returns the end of the pause.
    pub fn failed(&self, key: &DestinationKey, now_ms: i64) -> i64 {
        let Ok(mut map) = self.paused.lock() else {
            return now_ms;
        };
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, s| s.until_ms > now_ms);
        }
        let state = map.entry(key.clone()).or_insert(State {
            failures: 0,
            until_ms: now_ms,
        });
        if state.until_ms <= now_ms {
            state.failures = state.failures.saturating_add(1);
            let delay = self.backoff.next_delay(state.failures);
            state.until_ms = now_ms.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
        }
        state.until_ms
    }

    /// A delivery went through: the destination is healthy again.
    pub fn succeeded(&self, key: &DestinationKey) {
        if let Ok(mut map) = self.paused.lock() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn key(p: &str) -> DestinationKey {
        DestinationKey {
            project_id: p.into(),
            sink: "webhook".into(),
            sink_config: "{}".into(),
        }
    }

    #[test]
    fn pauses_grow_and_reset() {
        let d = Destinations::new(Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(8),
            jitter: 0.0,
        });
        let a = key("a");
        assert_eq!(d.paused_until(&a, 0), None);
        assert_eq!(d.failed(&a, 0), 1000);
        // In-flight failures of the same pause count once.
        assert_eq!(d.failed(&a, 500), 1000);
        assert_eq!(d.paused_until(&a, 999), Some(1000));
        assert_eq!(d.paused_until(&key("b"), 999), None, "others unaffected");
        assert_eq!(d.failed(&a, 1000), 3000);
        assert_eq!(d.failed(&a, 3000), 7000);
        assert_eq!(d.failed(&a, 7000), 15000, "capped at 8 s");
        d.succeeded(&a);
        assert_eq!(d.paused_until(&a, 7001), None);
        assert_eq!(d.failed(&a, 20_000), 21_000);
    }
}
