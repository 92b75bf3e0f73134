//! `output.dis` mapped to MQTT: VIAS pushes each alarm as one record into a DIS stream; Vigil
//! publishes the same JSON to the project's MQTT topic (`{topic_prefix}` + the topic pattern,
//! by default `vigil/{project_id}/{stream_name}`, see `dis_topic`) on the broker the server
//! names, with QoS 1, and counts the broker's PUBACK as the acknowledgement. `mqtts://` brokers
//! are reached over TLS (rustls), verified against `--mqtt-ca-file` or the system roots.
//!
//! One connection per server, one publish in flight at a time: the PUBACK that answers is then
//! unambiguously ours. A connection error or a missing PUBACK tears the connection down (so
//! nothing is re-sent behind the outbox's back) and the next delivery reconnects.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

use crate::dis_topic::{dis_topic, TopicPattern, TopicSyntax};
use crate::{AlarmPayload, DeliverFuture, Sink, SinkError};

/// Server-side MQTT settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttConfig {
    /// `mqtt://[user[:password]@]host[:port]` (also `tcp://`), port 1883 by default, or
    /// `mqtts://…` (also `ssl://`) for TLS, port 8883 by default.
    pub url: String,
    /// Put before every topic, e.g. `site-1/`.
    pub topic_prefix: String,
    /// The per-project topic, e.g. `vigil/{project_id}/{stream_name}` (must name `{project_id}`).
    pub topic_pattern: String,
    /// PEM file of the CA(s) that sign the broker's certificate (`mqtts://`); the system roots
    /// when absent.
    pub ca_file: Option<PathBuf>,
    /// How long to wait for the PUBACK.
    pub ack_timeout: Duration,
}

/// The parts of a broker URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    pub host: String,
    pub port: u16,
    pub credentials: Option<(String, String)>,
    /// `mqtts://`: TLS with certificate verification.
    pub tls: bool,
}

/// Parses `mqtt[s]://[user[:password]@]host[:port]`.
pub fn parse_broker_url(url: &str) -> Result<BrokerAddr, SinkError> {
    // The URL may carry a password: errors name only the scheme rule.
    let bad = |why: &str| SinkError::Permanent(format!("MQTT broker URL: {why}"));
    let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://").or_else(|| url.strip_prefix("ssl://")) {
        (true, r)
    } else if let Some(r) = url.strip_prefix("mqtt://").or_else(|| url.strip_prefix("tcp://")) {
        (false, r)
    } else {
        return Err(bad("must start with mqtt:// or mqtts://"));
    };
    let rest = rest.trim_end_matches('/');
    let (creds, hostport) = match rest.rsplit_once('@') {
        Some((c, h)) => {
            let (u, p) = c.split_once(':').unwrap_or((c, ""));
            (Some((u.to_string(), p.to_string())), h)
        }
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad("the port is not a number"))?),
        None => (hostport, if tls { 8883 } else { 1883 }),
    };
    if host.is_empty() || host.contains('/') {
        return Err(bad("no host"));
    }
    Ok(BrokerAddr {
        host: host.to_string(),
        port,
        credentials: creds,
        tls,
    })
}

/// The TLS client settings for an `mqtts://` broker: the CAs of `ca_file`, else the system's.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, SinkError> {
    let bad = |why: String| SinkError::Permanent(format!("MQTT TLS settings: {why}"));
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs =
                CertificateDer::pem_file_iter(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
            for cert in certs {
                let cert = cert.map_err(|e| bad(format!("{}: {e}", path.display())))?;
                roots.add(cert).map_err(|e| bad(format!("{}: {e}", path.display())))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // Unparsable system certificates are skipped, as browsers do.
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(bad(
            "no CA certificate to verify the broker with (set --mqtt-ca-file)".into()
        ));
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

enum Note {
    Sent(u16),
    Acked(u16),
    Down(String),
}

struct Conn {
    client: AsyncClient,
    notes: mpsc::UnboundedReceiver<Note>,
    driver: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

pub struct MqttSink {
    config: MqttConfig,
    broker: BrokerAddr,
    topics: TopicPattern,
    tls: Option<Arc<rustls::ClientConfig>>,
    conn: Mutex<Option<Conn>>,
}

/// Largest alarm accepted by the client (pictures make alarms large; MQTT allows 256 MiB).
const MAX_PACKET: usize = 64 * 1024 * 1024;

impl MqttSink {
    pub fn new(config: MqttConfig) -> Result<Self, SinkError> {
        let broker = parse_broker_url(&config.url)?;
        let topics = TopicPattern::new(&config.topic_prefix, &config.topic_pattern, TopicSyntax::Mqtt)
            .map_err(|e| SinkError::Permanent(format!("MQTT settings: {e}")))?;
        let tls = broker
            .tls
            .then(|| tls_config(config.ca_file.as_deref()).map(Arc::new))
            .transpose()?;
        Ok(Self {
            config,
            broker,
            topics,
            tls,
            conn: Mutex::new(None),
        })
    }

    fn connect(&self) -> Conn {
        let id = format!("vigil-{}", uuid::Uuid::new_v4().simple());
        let mut opts = MqttOptions::new(id, self.broker.host.clone(), self.broker.port);
        opts.set_keep_alive(Duration::from_secs(30))
            .set_clean_session(true)
            .set_max_packet_size(MAX_PACKET, MAX_PACKET);
        if let Some((u, p)) = &self.broker.credentials {
            opts.set_credentials(u.clone(), p.clone());
        }
        if let Some(tls) = &self.tls {
            opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls.clone())));
        }
        let (client, mut eventloop) = AsyncClient::new(opts, 8);
        let (tx, notes) = mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            loop {
                let note = match eventloop.poll().await {
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) => Note::Sent(pkid),
                    Ok(Event::Incoming(Packet::PubAck(ack))) => Note::Acked(ack.pkid),
                    Ok(_) => continue,
                    Err(e) => {
                        let _ = tx.send(Note::Down(e.to_string()));
                        break;
                    }
                };
                if tx.send(note).is_err() {
                    break;
                }
            }
        });
        Conn { client, notes, driver }
    }

    async fn publish(&self, p: &AlarmPayload) -> Result<(), SinkError> {
        let topic = dis_topic(p, &self.topics)?;
        let mut guard = self.conn.lock().await;
        if guard.as_ref().is_none_or(|c| c.driver.is_finished()) {
            *guard = Some(self.connect());
        }
        let Some(conn) = guard.as_mut() else {
            return Err(SinkError::Retryable("MQTT connection unavailable".into()));
        };
        // Late PUBACKs of a publish that timed out are not ours.
        while conn.notes.try_recv().is_ok() {}
        let exchange = async {
            conn.client
                .publish(topic.clone(), QoS::AtLeastOnce, false, p.json.clone().into_bytes())
                .await
                .map_err(|e| SinkError::Retryable(format!("MQTT publish to {topic} failed: {e}")))?;
            let mut pkid = None;
            loop {
                match conn.notes.recv().await {
                    Some(Note::Sent(k)) => pkid = Some(k),
                    Some(Note::Acked(k)) if Some(k) == pkid => return Ok(()),
                    Some(Note::Acked(_)) => {}
                    Some(Note::Down(e)) => {
                        return Err(SinkError::Retryable(format!(
                            "MQTT broker {}:{} unreachable: {e}",
                            self.broker.host, self.broker.port
                        )))
                    }
                    None => return Err(SinkError::Retryable("MQTT connection closed".into())),
                }
            }
        };
        let result = match tokio::time::timeout(self.config.ack_timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(SinkError::Retryable(format!(
                "no PUBACK from the MQTT broker within {:?} for {topic}",
                self.config.ack_timeout
            ))),
        };
        if result.is_err() {
            *guard = None;
        }
        result
    }
}

impl Sink for MqttSink {
    fn deliver<'a>(&'a self, payload: &'a AlarmPayload) -> DeliverFuture<'a> {
        Box::pin(self.publish(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        let a = parse_broker_url("mqtt://127.0.0.1:1883").unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.credentials, a.tls),
            ("127.0.0.1", 1883, None, false)
        );
        let b = parse_broker_url("tcp://u:p@broker/").unwrap();
        assert_eq!(b.port, 1883);
        assert_eq!(b.credentials, Some(("u".into(), "p".into())));
        let t = parse_broker_url("mqtts://h").unwrap();
        assert_eq!((t.port, t.tls), (8883, true));
        assert!(parse_broker_url("http://h:8883").is_err());
        assert!(!format!("{}", parse_broker_url("ftp://u:secret@h").unwrap_err()).contains("secret"));
        assert!(parse_broker_url("mqtt://h:x").is_err());
        assert!(parse_broker_url("mqtt://").is_err());
    }
}
