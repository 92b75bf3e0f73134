//! Vigil extension, outside the VIAS surface: the event center's live feed as Server-Sent Events
//! (`GET /v2/{project_id}/vigil/alarms/stream`), read by the web console's Alarms page.
//!
//! The stream polls the store (every node writes alarms into the one database), so it works the
//! same on SQLite and on a PostgreSQL cluster. Cursors are `(created_at ms, message_id)`: the SSE
//! `id` of each event, resumable with `Last-Event-ID` or `since`.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures_util::stream::{self, Stream};
use serde_json::Value;
use tokio::sync::watch;
use utoipa::IntoParams;
use vigil_core::{ErrorCode, FieldError};
use vigil_store::alarms::{AlarmFilter, AlarmRecord};

use crate::alarms::{alarm_dto, check_id};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::query::QueryParams;
use crate::AppState;

/// Open streams per project; more are refused with `APIG.0308` (429) until one closes.
pub const MAX_STREAMS_PER_PROJECT: usize = 16;
const POLL: Duration = Duration::from_millis(500);
const KEEPALIVE: Duration = Duration::from_secs(15);
/// Rows per store query; a burst larger than this is read in several queries of one poll.
const PAGE: i64 = 200;
/// `created_at` is taken before the alarm's transaction commits, so a row may become visible
/// after a later one. Each poll re-reads this window behind the newest row sent and skips what
/// it already sent, so such a row is still delivered, once.
const SETTLE_MS: i64 = 3_000;

/// Query of StreamAlarms.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamAlarmsParams {
    /// Epoch milliseconds: alarms stored after this instant. Ignored when the `Last-Event-ID`
    /// header is sent. Without either, the stream starts now (no backlog).
    pub since: Option<i64>,
    pub task_id: Option<String>,
    pub video_source_id: Option<String>,
    /// e.g. 196609 (intrusion), spec §6.3.
    pub event_type: Option<i64>,
}

/// Upper bound of accepted epoch milliseconds (year 9999).
const MAX_EPOCH_MS: i64 = 253_402_300_799_999;

/// Where a stream starts: rows strictly after `(ms, id)`; `id: None` takes no row of `ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    ms: i64,
    id: Option<String>,
}

impl Cursor {
    fn is_before(&self, created_at: i64, message_id: &str) -> bool {
        created_at > self.ms || (created_at == self.ms && self.id.as_deref().is_some_and(|id| message_id > id))
    }
}

/// `<created_at ms>-<message_id>`, as sent in each event's `id`.
fn parse_event_id(v: &str) -> Result<Cursor, FieldError> {
    let bad = || {
        FieldError::invalid(
            "Last-Event-ID",
            "must be <milliseconds>-<message_id> as sent in an event id",
        )
    };
    let (ms, id) = v.split_once('-').ok_or_else(bad)?;
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    let id_ok = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if !(0..=MAX_EPOCH_MS).contains(&ms) || !id_ok {
        return Err(bad());
    }
    Ok(Cursor {
        ms,
        id: Some(id.to_string()),
    })
}

fn start_cursor(q: &StreamAlarmsParams, headers: &HeaderMap) -> Result<Cursor, FieldError> {
    if let Some(h) = headers.get("last-event-id") {
        let v = h
            .to_str()
            .map_err(|_| FieldError::invalid("Last-Event-ID", "must be ASCII"))?;
        if !v.is_empty() {
            return parse_event_id(v);
        }
    }
    Ok(match q.since {
        Some(ms) => Cursor { ms, id: None },
        None => Cursor {
            ms: now_ms() - 1,
            id: None,
        },
    })
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl StreamAlarmsParams {
    fn parse(q: &QueryParams) -> Result<Self, FieldError> {
        Ok(Self {
            since: q.int("since", 0, MAX_EPOCH_MS)?,
            task_id: check_id("task_id", q.text("task_id", 64)?)?,
            video_source_id: check_id("video_source_id", q.text("video_source_id", 64)?)?,
            event_type: q.int("event_type", 0, i64::from(u32::MAX))?,
        })
    }
}

/// Open streams per project; a slot is held by the stream and freed when it is dropped (client
/// gone, server shutting down).
static OPEN: LazyLock<Mutex<HashMap<String, usize>>> = LazyLock::new(Default::default);

struct Slot(String);

impl Slot {
    fn take(project_id: &str) -> Option<Slot> {
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(project_id.to_string()).or_insert(0);
        if *n >= MAX_STREAMS_PER_PROJECT {
            return None;
        }
        *n += 1;
        Some(Slot(project_id.to_string()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.0) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.0);
            }
        }
    }
}

/// Open alarm streams of a project (for tests and diagnostics).
pub fn open_streams(project_id: &str) -> usize {
    OPEN.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(project_id)
        .copied()
        .unwrap_or(0)
}

/// Raised once on shutdown: every stream ends, so graceful shutdown does not wait on them.
static SHUTDOWN: LazyLock<watch::Sender<bool>> = LazyLock::new(|| watch::channel(false).0);

/// Ends every open alarm stream and subscriber WebSocket of this process (called when the
/// server begins to shut down).
pub fn close_all() {
    SHUTDOWN.send_replace(true);
}

/// Raised by [`close_all`]; long-lived connections of other routes watch it too.
pub(crate) fn shutdown_signal() -> watch::Receiver<bool> {
    SHUTDOWN.subscribe()
}

/// One open stream: what it sent recently, and where its next poll starts.
struct Feed {
    state: AppState,
    project_id: String,
    filter: AlarmFilter,
    floor: Cursor,
    /// Newest `created_at` sent (or the start), the end of the settle window.
    newest: i64,
    /// `(created_at, message_id)` sent within the settle window.
    sent: BTreeSet<(i64, String)>,
    ready: std::collections::VecDeque<AlarmRecord>,
    first: bool,
    stop: watch::Receiver<bool>,
    _slot: Slot,
}

impl Feed {
    /// New rows since the last poll, oldest first.
    async fn poll(&mut self) -> Result<(), vigil_store::StoreError> {
        let (mut after_ms, mut after_id) = (self.newest - SETTLE_MS, String::new());
        if self.first {
            // Resuming: the first read starts exactly at the client's cursor.
            after_ms = self.floor.ms;
            after_id = self.floor.id.clone().unwrap_or_else(|| "\u{7f}".into());
            self.first = false;
        }
        loop {
            let rows = self
                .state
                .store
                .alarms_created_after(&self.project_id, after_ms, &after_id, &self.filter, PAGE)
                .await?;
            let full = rows.len() as i64 == PAGE;
            if let Some(last) = rows.last() {
                (after_ms, after_id) = (last.created_at, last.envelope.message_id.clone());
            }
            for r in rows {
                let key = (r.created_at, r.envelope.message_id.clone());
                if !self.floor.is_before(key.0, &key.1) || self.sent.contains(&key) {
                    continue;
                }
                self.newest = self.newest.max(r.created_at);
                self.sent.insert(key);
                self.ready.push_back(r);
            }
            if !full {
                break;
            }
        }
        let keep_from = (self.newest - SETTLE_MS, String::new());
        self.sent = self.sent.split_off(&keep_from);
        Ok(())
    }

    fn event(&self, r: &AlarmRecord) -> Event {
        let mut item = alarm_dto(&self.state, r);
        item.insert("created_at".into(), Value::from(r.created_at));
        let data = serde_json::to_string(&item).unwrap_or_else(|_| "{}".into());
        Event::default()
            .event("alarm")
            .id(format!("{}-{}", r.created_at, r.envelope.message_id))
            .data(data)
    }

    /// The next event, or `None` once the server shuts down.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Feed)> {
        loop {
            if *self.stop.borrow() {
                return None;
            }
            if let Some(r) = self.ready.pop_front() {
                let ev = self.event(&r);
                return Some((Ok(ev), self));
            }
            if let Err(e) = self.poll().await {
                // Transient (a busy or restarting database): keep the stream, try again.
                tracing::warn!(error = %e, "alarm stream: store poll failed");
            }
            if self.ready.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = self.stop.changed() => {}
                }
            }
        }
    }
}

fn alarm_events(feed: Feed) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(feed, Feed::next)
}

#[utoipa::path(get, path = "/v2/{project_id}/vigil/alarms/stream", operation_id = "StreamAlarms",
    tag = "Vigil extensions",
    description = "Vigil extension (not part of VIAS): new event-center alarms of the project as \
        Server-Sent Events. Each is `event: alarm`, `id: <created_at ms>-<message_id>`, `data:` one \
        item as in ListAlarms plus `created_at` (ms). Resume with the `Last-Event-ID` header or \
        `since`; without either the stream starts now. A `: keepalive` comment every 15 s. At most \
        16 open streams per project (`APIG.0308`, 429, beyond).",
    params(("project_id" = String, Path),
        ("Last-Event-ID" = Option<String>, Header, description = "resume after this event id"),
        StreamAlarmsParams),
    responses((status = 200, body = String, content_type = "text/event-stream"),
        (status = 400, body = ViasErrorBody), (status = 429, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    q: QueryParams,
) -> ApiResult<Response> {
    let p = StreamAlarmsParams::parse(&q)?;
    let floor = start_cursor(&p, &headers)?;
    let slot = Slot::take(&caller.project_id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Throttled,
            format!("at most {MAX_STREAMS_PER_PROJECT} alarm streams may be open per project; close one and retry"),
        )
    })?;
    let feed = Feed {
        filter: AlarmFilter {
            task_id: p.task_id,
            video_source_id: p.video_source_id,
            event_type: p.event_type.and_then(|e| u64::try_from(e).ok()),
            ..Default::default()
        },
        newest: floor.ms,
        floor,
        project_id: caller.project_id.clone(),
        state: state.clone(),
        sent: BTreeSet::new(),
        ready: Default::default(),
        first: true,
        stop: SHUTDOWN.subscribe(),
        _slot: slot,
    };
    let mut resp = Sse::new(alarm_events(feed))
        .keep_alive(KeepAlive::new().interval(KEEPALIVE).text(" keepalive"))
        .into_response();
    // Proxies (nginx) would otherwise buffer the stream.
    resp.headers_mut()
        .insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_round_trip_and_bad_ones_are_refused() {
        let c = parse_event_id("1700000000123-0A1B2C3D-0000-4000-8000-00000000000F").unwrap();
        assert_eq!(c.ms, 1_700_000_000_123);
        assert_eq!(c.id.as_deref(), Some("0A1B2C3D-0000-4000-8000-00000000000F"));
        for bad in [
            "",
            "x-ABC",
            "-ABC",
            "123",
            "123-",
            "123-zz",
            "-5-AB",
            "99999999999999999999-AB",
        ] {
            let e = parse_event_id(bad).unwrap_err();
            assert_eq!(e.param, "Last-Event-ID", "{bad}");
        }
    }

    #[test]
    fn cursor_order_is_created_at_then_message_id() {
        let c = Cursor {
            ms: 10,
            id: Some("B".into()),
        };
        assert!(!c.is_before(9, "Z"));
        assert!(!c.is_before(10, "A"));
        assert!(!c.is_before(10, "B"));
        assert!(c.is_before(10, "C"));
        assert!(c.is_before(11, "0"));
        let since = Cursor { ms: 10, id: None };
        assert!(!since.is_before(10, "Z"));
        assert!(since.is_before(11, "0"));
    }
}
