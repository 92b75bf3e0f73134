//! Vigil extension, outside the VIAS surface: event center subscribers and their WebSocket feed
//! (spec §4.7). A subscriber names sources of its project (none: all of them) and receives their
//! alarms (spec §6 JSON) from the outbox, at least once: pushed to its own `tcp://host:port`
//! server by the dispatcher, or over `GET …/subscribers/{id}/ws`.
//!
//! WebSocket protocol: the server sends one text frame per alarm, oldest first; the client
//! answers `{"ack":"<message_id>"}` and the alarm is deleted. Unacknowledged alarms are sent
//! again on the next connection. One connection serves a subscriber: a new one takes over and
//! the old one is closed with code 4000.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use vigil_core::{ErrorCode, FieldError};
use vigil_store::event_subscribers::{parse_tcp_address, NewSubscriber, Subscriber, SubscriberUpdate, WsOwnership};
use vigil_store::StoreError;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ViasErrorBody};
use crate::json_body::JsonBody;
use crate::AppState;

/// Subscribers per project.
pub const SUBSCRIBER_QUOTA: i64 = 100;
const NAME_MAX: usize = 64;
const DESCRIPTION_MAX: usize = 255;
const SOURCES_MAX: usize = 1000;
const ADDRESS_MAX: usize = 255;

/// How often a connection looks for new rows (and checks it still serves its subscriber).
const POLL: Duration = Duration::from_millis(250);
/// Lease on the rows a connection sent; renewed while it lives, so only a dead node's rows
/// wait for it to run out (a reconnect takes them over at once anyway).
const LEASE: Duration = Duration::from_secs(60);
const RENEW: Duration = Duration::from_secs(20);
/// Alarms sent and not yet acknowledged, at most; the next go out as acks come back.
pub const WINDOW: usize = 100;
const PING: Duration = Duration::from_secs(30);
/// A client silent this long (no frame, not even a pong) is taken for gone.
const SILENCE: Duration = Duration::from_secs(90);

/// This area's routes (authenticated like every VIAS route).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v2/{project_id}/vigil/event-center/subscribers",
            get(list).post(create),
        )
        .route(
            "/v2/{project_id}/vigil/event-center/subscribers/{subscriber_id}",
            get(show).put(update).delete(delete),
        )
        .route(
            "/v2/{project_id}/vigil/event-center/subscribers/{subscriber_id}/ws",
            get(websocket),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSubscriberDto {
    /// 1–64 characters, unique in the project.
    pub name: String,
    /// 0–255 characters.
    pub description: Option<String>,
    /// 0–1000 video source ids of the project; empty or absent: every source.
    pub video_source_ids: Option<Vec<String>>,
    /// `tcp://host:port` of the subscriber's own socket server (alarms are pushed there);
    /// absent or null: a WebSocket subscriber.
    pub address: Option<String>,
}

/// Every field optional; `"address": null` turns a pushed subscriber into a WebSocket one.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateSubscriberDto {
    pub name: Option<String>,
    pub description: Option<String>,
    pub video_source_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub address: Option<Option<String>>,
}

/// A field that is present (even `null`) is `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriberDto {
    pub id: String,
    pub name: String,
    pub description: String,
    pub video_source_ids: Vec<String>,
    /// `tcp://host:port`, or null for a WebSocket subscriber.
    pub address: Option<String>,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    /// Alarms queued for it and not acknowledged yet.
    pub pending: i64,
}

impl From<Subscriber> for SubscriberDto {
    fn from(s: Subscriber) -> Self {
        Self {
            id: s.id,
            name: s.name,
            description: s.description,
            video_source_ids: s.video_source_ids,
            address: s.address,
            created_at: s.created_at,
            updated_at: s.updated_at,
            pending: s.pending,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListSubscribersResponse {
    pub count: i64,
    pub subscribers: Vec<SubscriberDto>,
}

fn check_name(name: &str) -> Result<(), FieldError> {
    let n = name.chars().count();
    if !(1..=NAME_MAX).contains(&n) || name.trim() != name || name.chars().any(char::is_control) {
        return Err(FieldError::invalid(
            "name",
            format!("1-{NAME_MAX} characters, no control characters, no leading or trailing spaces"),
        ));
    }
    Ok(())
}

fn check_description(d: &str) -> Result<(), FieldError> {
    if d.chars().count() > DESCRIPTION_MAX {
        return Err(FieldError::invalid(
            "description",
            format!("must be at most {DESCRIPTION_MAX} characters"),
        ));
    }
    Ok(())
}

/// Format and duplicates here; that each is a source of the project, in the store.
fn check_sources(ids: &[String]) -> Result<(), FieldError> {
    if ids.len() > SOURCES_MAX {
        return Err(FieldError::invalid(
            "video_source_ids",
            format!("at most {SOURCES_MAX} video source ids"),
        ));
    }
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        if !(1..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(FieldError::invalid(
                format!("video_source_ids[{i}]"),
                "must be 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        if !seen.insert(id.as_str()) {
            return Err(FieldError::invalid(format!("video_source_ids[{i}]"), "listed twice"));
        }
    }
    Ok(())
}

fn check_address(a: &str) -> Result<(), FieldError> {
    if a.len() > ADDRESS_MAX {
        return Err(FieldError::invalid(
            "address",
            format!("must be at most {ADDRESS_MAX} characters"),
        ));
    }
    parse_tcp_address(a)
        .map(|_| ())
        .map_err(|e| FieldError::invalid("address", e))
}

/// Subscriber ids are 32 hex characters; anything in the usual id alphabet reaches the store.
fn check_path_id(id: &str) -> ApiResult<()> {
    if (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(())
    } else {
        Err(ApiError::invalid("subscriber_id", "must match ^[a-zA-Z0-9-]{1,64}$"))
    }
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::DuplicateName(_) => {
            ApiError::param(ErrorCode::ObjectExists, "name", "a subscriber with this name exists")
        }
        StoreError::NotFound(_) => ApiError::not_found("subscriber_id", "the subscriber"),
        other => other.into(),
    }
}

#[utoipa::path(post, path = "/v2/{project_id}/vigil/event-center/subscribers", operation_id = "CreateEventSubscriber",
    tag = "Vigil extensions",
    description = "Vigil extension: a subscriber receives the alarms (spec §6 JSON) of the listed sources, at \
        least once: pushed to `address` (`tcp://host:port`, one JSON line per alarm, answered with \
        `{\"ack\":\"<message_id>\"}`) or, without an address, over the subscriber's WebSocket route. \
        At most 100 per project.",
    params(("project_id" = String, Path)), request_body = CreateSubscriberDto,
    responses((status = 201, body = SubscriberDto), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody<CreateSubscriberDto>,
) -> ApiResult<Response> {
    check_name(&body.name)?;
    let description = body.description.unwrap_or_default();
    check_description(&description)?;
    let sources = body.video_source_ids.unwrap_or_default();
    check_sources(&sources)?;
    if let Some(a) = &body.address {
        check_address(a)?;
    }
    let sub = state
        .store
        .create_subscriber(
            NewSubscriber {
                project_id: caller.project_id,
                name: body.name,
                description,
                video_source_ids: sources,
                address: body.address,
            },
            SUBSCRIBER_QUOTA,
        )
        .await
        .map_err(store_error)?;
    Ok((StatusCode::CREATED, Json(SubscriberDto::from(sub))).into_response())
}

#[utoipa::path(get, path = "/v2/{project_id}/vigil/event-center/subscribers", operation_id = "ListEventSubscribers",
    tag = "Vigil extensions", description = "Vigil extension: the project's subscribers, oldest first.",
    params(("project_id" = String, Path)),
    responses((status = 200, body = ListSubscribersResponse), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<ListSubscribersResponse>> {
    let subs = state.store.list_subscribers(&caller.project_id).await?;
    Ok(Json(ListSubscribersResponse {
        count: subs.len() as i64,
        subscribers: subs.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/v2/{project_id}/vigil/event-center/subscribers/{subscriber_id}",
    operation_id = "ShowEventSubscriber", tag = "Vigil extensions",
    params(("project_id" = String, Path), ("subscriber_id" = String, Path)),
    responses((status = 200, body = SubscriberDto), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<SubscriberDto>> {
    check_path_id(&id)?;
    let sub = state
        .store
        .get_subscriber(&caller.project_id, &id)
        .await
        .map_err(store_error)?;
    Ok(Json(sub.into()))
}

#[utoipa::path(put, path = "/v2/{project_id}/vigil/event-center/subscribers/{subscriber_id}",
    operation_id = "UpdateEventSubscriber", tag = "Vigil extensions",
    description = "Vigil extension: partial update. Changing `address` moves the pending alarms to the new \
        address (or to the WebSocket with `\"address\": null`).",
    params(("project_id" = String, Path), ("subscriber_id" = String, Path)), request_body = UpdateSubscriberDto,
    responses((status = 200, body = SubscriberDto), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateSubscriberDto>,
) -> ApiResult<Json<SubscriberDto>> {
    check_path_id(&id)?;
    if let Some(n) = &body.name {
        check_name(n)?;
    }
    if let Some(d) = &body.description {
        check_description(d)?;
    }
    if let Some(s) = &body.video_source_ids {
        check_sources(s)?;
    }
    if let Some(Some(a)) = &body.address {
        check_address(a)?;
    }
    let sub = state
        .store
        .update_subscriber(
            &caller.project_id,
            &id,
            SubscriberUpdate {
                name: body.name,
                description: body.description,
                video_source_ids: body.video_source_ids,
                address: body.address,
            },
        )
        .await
        .map_err(store_error)?;
    Ok(Json(sub.into()))
}

#[utoipa::path(delete, path = "/v2/{project_id}/vigil/event-center/subscribers/{subscriber_id}",
    operation_id = "DeleteEventSubscriber", tag = "Vigil extensions",
    description = "Vigil extension: deletes the subscriber and its undelivered alarms.",
    params(("project_id" = String, Path), ("subscriber_id" = String, Path)),
    responses((status = 204), (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    check_path_id(&id)?;
    state
        .store
        .delete_subscriber(&caller.project_id, &id)
        .await
        .map_err(store_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v2/{project_id}/vigil/event-center/subscribers/{subscriber_id}/ws",
    operation_id = "SubscribeEventSubscriber", tag = "Vigil extensions",
    description = "Vigil extension: WebSocket feed of a subscriber without an address. The server sends one \
        text frame per alarm (spec §6 JSON, picture included), oldest first; the client answers each with \
        `{\"ack\":\"<message_id>\"}`. At most 100 alarms are unacknowledged at a time. Unacknowledged \
        alarms are sent again on the next connection. A new connection takes over from an open one, \
        which is closed with code 4000.",
    params(("project_id" = String, Path), ("subscriber_id" = String, Path)),
    responses((status = 101, description = "Switching Protocols: the WebSocket is open"),
        (status = 400, body = ViasErrorBody)),
    security(("token" = []), ("aksk" = [])))]
pub async fn websocket(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((_, id)): Path<(String, String)>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    check_path_id(&id)?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidParams,
            format!("this route is a WebSocket: send a WebSocket upgrade request ({e})"),
        )
    })?;
    let conn = uuid::Uuid::new_v4().simple().to_string();
    // Taking over before the upgrade: an unknown id or a pushed subscriber gets a VIAS error.
    let attached = state
        .store
        .attach_subscriber_ws(&caller.project_id, &id, &conn)
        .await
        .map_err(store_error)?;
    if !attached {
        return Err(ApiError::invalid(
            "subscriber_id",
            "this subscriber has an address: its alarms are pushed there, not over a WebSocket",
        ));
    }
    let feed = Feed {
        state,
        id,
        conn,
        in_flight: HashSet::new(),
    };
    Ok(upgrade
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "subscriber WebSocket upgrade failed"))
        .on_upgrade(move |socket| feed.serve(socket)))
}

/// The client's only message.
#[derive(Deserialize)]
struct Ack {
    ack: String,
}

/// `{"ack":"<message_id>"}` → the message id.
fn parse_ack(text: &str) -> Result<String, &'static str> {
    const BAD: &str = "expected {\"ack\":\"<message_id>\"}";
    let a: Ack = serde_json::from_str(text).map_err(|_| BAD)?;
    let ok = (1..=64).contains(&a.ack.len())
        && a.ack
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(a.ack)
    } else {
        Err(BAD)
    }
}

/// Why the server closes a connection: WebSocket close code and reason.
type Closing = (u16, &'static str);

/// One subscriber connection.
struct Feed {
    state: AppState,
    id: String,
    conn: String,
    /// Message ids sent on this connection and not acknowledged.
    in_flight: HashSet<String>,
}

impl Feed {
    async fn serve(mut self, mut socket: WebSocket) {
        let mut stop = crate::alarm_stream::shutdown_signal();
        let mut poll = tokio::time::interval(POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let start = tokio::time::Instant::now();
        let (mut renew_at, mut ping_at, mut heard) = (start + RENEW, start + PING, start);
        tracing::debug!(subscriber_id = %self.id, "subscriber WebSocket open");
        let closing: Option<Closing> = loop {
            if *stop.borrow() {
                break Some((1001, "the server is shutting down"));
            }
            tokio::select! {
                msg = socket.recv() => {
                    heard = tokio::time::Instant::now();
                    match msg {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                        Some(Ok(Message::Text(t))) => match parse_ack(t.as_str()) {
                            Ok(message_id) => self.ack(&message_id).await,
                            Err(reason) => break Some((1008, reason)),
                        },
                        Some(Ok(Message::Binary(_))) => {
                            break Some((1003, "binary frames are not part of the protocol: send {\"ack\":\"<message_id>\"} as text"))
                        }
                        Some(Ok(_)) => {}
                    }
                }
                _ = poll.tick() => {
                    let now = tokio::time::Instant::now();
                    if now.duration_since(heard) > SILENCE {
                        break Some((1001, "no frame from the client for 90 s"));
                    }
                    if now >= renew_at {
                        renew_at = now + RENEW;
                        let until = vigil_store::now_ms() + LEASE.as_millis() as i64;
                        if let Err(e) = self.state.store.renew_subscriber_ws(&self.conn, until).await {
                            tracing::warn!(subscriber_id = %self.id, error = %e, "cannot renew the subscriber's leases");
                        }
                    }
                    if now >= ping_at {
                        ping_at = now + PING;
                        if socket.send(Message::Ping(Default::default())).await.is_err() {
                            break None;
                        }
                    }
                    match self.pump(&mut socket).await {
                        Ok(()) => {}
                        Err(Some(c)) => break Some(c),
                        Err(None) => break None,
                    }
                }
                _ = stop.changed() => break Some((1001, "the server is shutting down")),
            }
        };
        if let Some((code, reason)) = closing {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = socket.send(Message::Close(Some(frame))).await;
        }
        if let Err(e) = self.state.store.detach_subscriber_ws(&self.id, &self.conn).await {
            // The leases run out instead; the rows are sent again then.
            tracing::warn!(subscriber_id = %self.id, error = %e, "cannot release the subscriber's alarms");
        }
        tracing::debug!(subscriber_id = %self.id, "subscriber WebSocket closed");
    }

    async fn ack(&mut self, message_id: &str) {
        self.in_flight.remove(message_id);
        if let Err(e) = self.state.store.ack_subscriber_ws(&self.id, message_id).await {
            // The row stays and is sent again on the next connection: a duplicate, not a loss.
            tracing::warn!(subscriber_id = %self.id, error = %e, "cannot record a subscriber's ack");
        }
    }

    /// Checks this connection still serves the subscriber, then sends what is new, up to the
    /// window. `Err(Some)`: close with that code; `Err(None)`: the client is gone.
    async fn pump(&mut self, socket: &mut WebSocket) -> Result<(), Option<Closing>> {
        let store = &self.state.store;
        match store.subscriber_ws_ownership(&self.id, &self.conn).await {
            Ok(WsOwnership::Owner) => {}
            Ok(WsOwnership::Replaced) => return Err(Some((4000, "replaced by a newer connection of this subscriber"))),
            Ok(WsOwnership::Pushed) => {
                return Err(Some((
                    4001,
                    "the subscriber now has an address: alarms are pushed there",
                )))
            }
            Ok(WsOwnership::Deleted) => return Err(Some((4002, "the subscriber was deleted"))),
            Err(e) => {
                // Transient (a busy or restarting database): keep the connection, try again.
                tracing::warn!(subscriber_id = %self.id, error = %e, "subscriber WebSocket: store poll failed");
                return Ok(());
            }
        }
        let room = WINDOW.saturating_sub(self.in_flight.len());
        let items = match store
            .claim_subscriber_ws(&self.id, &self.conn, room, LEASE, vigil_store::now_ms())
            .await
        {
            Ok(items) => items,
            Err(e) => {
                tracing::warn!(subscriber_id = %self.id, error = %e, "subscriber WebSocket: cannot claim alarms");
                return Ok(());
            }
        };
        for item in items {
            socket
                .send(Message::Text(item.payload.into()))
                .await
                .map_err(|_| None)?;
            self.in_flight.insert(item.message_id);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_parse_and_anything_else_is_refused() {
        assert_eq!(
            parse_ack(r#"{"ack":"C8F67CE2-9C2A-11EB-BBF6-0242AC110002"}"#).as_deref(),
            Ok("C8F67CE2-9C2A-11EB-BBF6-0242AC110002")
        );
        for bad in [
            "",
            "ack",
            "{}",
            r#"{"ack":""}"#,
            r#"{"ack":5}"#,
            r#"{"ack":"a b"}"#,
            "[1]",
        ] {
            assert!(parse_ack(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fields_are_validated() {
        assert!(check_name("cam wall").is_ok());
        for bad in ["", " x", "x ", "a\u{7}b", &"n".repeat(65)] {
            assert_eq!(check_name(bad).unwrap_err().param, "name", "{bad:?}");
        }
        assert!(check_description(&"d".repeat(255)).is_ok());
        assert_eq!(check_description(&"d".repeat(256)).unwrap_err().param, "description");
        let ids: Vec<String> = (0..1001).map(|i| format!("s{i}")).collect();
        assert_eq!(check_sources(&ids).unwrap_err().param, "video_source_ids");
        assert!(check_sources(&ids[..1000]).is_ok());
        let dup = vec!["a".to_string(), "b".into(), "a".into()];
        assert_eq!(check_sources(&dup).unwrap_err().param, "video_source_ids[2]");
        assert_eq!(
            check_sources(&["x/y".to_string()]).unwrap_err().param,
            "video_source_ids[0]"
        );
        assert!(check_address("tcp://127.0.0.1:9000").is_ok());
        assert_eq!(check_address("http://x:1").unwrap_err().param, "address");
        assert_eq!(
            check_address(&format!("tcp://{}:1", "a".repeat(300)))
                .unwrap_err()
                .param,
            "address"
        );
    }
}
