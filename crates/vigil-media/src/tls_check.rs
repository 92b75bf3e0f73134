//! Certificate check for `rtsps://` cameras, done by Vigil before libavformat opens the stream.
//!
//! Why a pre-flight: libavformat's RTSP demuxer builds its own `tls://host:port` address and
//! passes no options to the TLS layer, so `tls_verify`/`ca_file` cannot be set for it. Vigil
//! therefore connects to the camera itself (after the egress check, and only to addresses the
//! policy allows), runs a rustls handshake that checks the chain against the system roots plus
//! `--rtsps-ca-file` and the host name (IP addresses as IP SANs), and closes.
//!
//! Gap: libavformat then connects a second time without verifying. An attacker who can tell the
//! two connections apart and intercept only the second one is not caught; the check stops a
//! camera address that leads to the wrong or an impersonated server in the ordinary case.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::clock::CancelToken;
use crate::error::{ErrorKind, MediaError, Result};
use crate::spec::{redact_url, MediaConfig};

/// libavformat's default port for `rtsps://` (RTSPS_DEFAULT_PORT).
const RTSPS_DEFAULT_PORT: u16 = 322;

/// Reads the CA certificates of a PEM file (`--rtsps-ca-file`); at least one is required.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bad = |why: String| MediaError::new(ErrorKind::Internal, format!("RTSPS CA file {}: {why}", path.display()));
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    Ok(certs)
}

/// The system's trust store, read once per process (restart after update-ca-certificates).
fn native_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "reading the system CA certificates");
        }
        found.certs
    })
}

fn client_config(config: &MediaConfig) -> Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    // Unparsable system certificates are skipped, as browsers do.
    roots.add_parsable_certificates(native_roots().iter().cloned());
    if let Some(path) = &config.rtsps_ca_file {
        for cert in load_ca_file(path)? {
            roots
                .add(cert)
                .map_err(|e| MediaError::new(ErrorKind::Internal, format!("RTSPS CA file {}: {e}", path.display())))?;
        }
    }
    if roots.is_empty() {
        tracing::warn!("no trusted CA for rtsps:// cameras: install the system CA store or set --rtsps-ca-file");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MediaError::new(ErrorKind::Internal, format!("TLS settings: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Connects to the `rtsps://` camera of `url`, verifies its certificate for the URL's host
/// within [`MediaConfig::open_timeout`], and closes. A certificate that is not trusted or not
/// issued for the host is [`ErrorKind::AuthFailed`] (as the RESTful source's rejections are);
/// a host that does not answer or speak TLS is [`ErrorKind::Unreachable`].
pub fn verify(url: &url::Url, config: &MediaConfig, cancel: &CancelToken) -> Result<()> {
    let display = redact_url(url.as_str());
    let (host, name) = match url.host() {
        Some(url::Host::Domain(d)) => {
            let name = ServerName::try_from(d.to_string())
                .map_err(|e| MediaError::new(ErrorKind::InvalidSource, format!("{display}: host name: {e}")))?;
            (d.to_string(), name)
        }
        Some(url::Host::Ipv4(ip)) => (ip.to_string(), ServerName::IpAddress(IpAddr::V4(ip).into())),
        Some(url::Host::Ipv6(ip)) => (ip.to_string(), ServerName::IpAddress(IpAddr::V6(ip).into())),
        None => return Err(MediaError::new(ErrorKind::InvalidSource, format!("{display}: no host"))),
    };
    let port = url.port().unwrap_or(RTSPS_DEFAULT_PORT);
    let connector = TlsConnector::from(Arc::new(client_config(config)?));
    let rt = crate::source::local_runtime()?;
    let limit = config.open_timeout;
    let check = async {
        let tcp = connect(&host, port, config).await?;
        let mut tls = connector.connect(name, tcp).await.map_err(|e| handshake_error(&e))?;
        // Polite close (close_notify); the camera's answer does not matter.
        let _ = tls.shutdown().await;
        Ok(())
    };
    let cancelled = async {
        while !cancel.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let res = rt.block_on(async {
        tokio::select! {
            r = tokio::time::timeout(limit, check) => r.unwrap_or_else(|_| Err(MediaError::new(
                ErrorKind::Unreachable,
                format!("no TLS handshake within {:.1} s", limit.as_secs_f64()),
            ))),
            _ = cancelled => Err(MediaError::cancelled()),
        }
    });
    res.map_err(|e| match e.kind() {
        ErrorKind::Cancelled => e,
        kind => MediaError::new(kind, format!("RTSPS certificate check of {display}: {}", e.message())),
    })
}

/// Resolves `host`, keeps the check of [`crate::address::check_egress`] for exactly the
/// addresses dialled here, and connects to the first that answers.
async fn connect(host: &str, port: u16, config: &MediaConfig) -> Result<TcpStream> {
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| MediaError::new(ErrorKind::Unreachable, format!("resolving {host}: {e}")))?
            .collect(),
    };
    let ips: Vec<IpAddr> = addrs.iter().map(|a| a.ip()).collect();
    if ips.is_empty() {
        return Err(MediaError::new(
            ErrorKind::Unreachable,
            format!("{host} has no address"),
        ));
    }
    config
        .egress
        .check_resolved(host, &ips)
        .map_err(|e| MediaError::new(ErrorKind::Refused, e.to_string()))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    let why = last.map(|e| e.to_string()).unwrap_or_default();
    Err(MediaError::new(ErrorKind::Unreachable, format!("connecting: {why}")))
}

/// A rejected certificate is `AuthFailed`; any other handshake failure (no TLS on the port,
/// connection lost, no common protocol) is `Unreachable`.
fn handshake_error(e: &std::io::Error) -> MediaError {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(why)) => {
            MediaError::new(ErrorKind::AuthFailed, format!("certificate rejected: {why:?}"))
        }
        Some(rustls::Error::NoCertificatesPresented) => {
            MediaError::new(ErrorKind::AuthFailed, "the server presented no certificate")
        }
        Some(other) => MediaError::new(ErrorKind::Unreachable, format!("TLS handshake failed: {other}")),
        None => MediaError::new(ErrorKind::Unreachable, format!("TLS handshake failed: {e}")),
    }
}
