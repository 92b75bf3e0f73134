//! Alarm delivery (spec §5.4, §6.1): one `Sink` per external output kind (webhook, OBS-style
//! object storage, DIS mapped to MQTT or Kafka, event center subscribers' own TCP servers), and
//! the dispatcher that drains the durable outbox into them. The event center needs no sink: it is
//! the `alarms` table, written with the outbox row.
//!
//! Contract of every sink (as in vector): `deliver` returns `Ok` only once the receiver has
//! acknowledged the alarm (2xx, object written, PUBACK). Anything else is an error that says
//! whether trying again can help; the dispatcher retries either way (at-least-once).

pub mod backoff;
pub mod clock;
pub mod destinations;
pub mod dis_topic;
pub mod dispatcher;
mod error;
pub mod kafka;
pub mod mqtt;
pub mod obs;
mod payload;
mod registry;
pub mod retention;
pub mod subscriber;
pub mod webhook;

use std::future::Future;
use std::pin::Pin;

pub use backoff::Backoff;
pub use clock::{Clock, ManualClock, SystemClock};
pub use dispatcher::{Counters, Dispatcher, DispatcherConfig};
pub use error::SinkError;
pub use payload::AlarmPayload;
pub use registry::{ObsConfig, Sinks, SinksConfig};

/// The future a sink returns (boxed so that sinks can sit behind `dyn Sink`).
pub type DeliverFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + 'a>>;

/// An alarm destination. One instance serves every task; the task's own settings (URL, bucket,
/// stream) travel in the payload.
pub trait Sink: Send + Sync {
    fn deliver<'a>(&'a self, payload: &'a AlarmPayload) -> DeliverFuture<'a>;
}
