//! Request headers a tenant may not set on requests the server sends for it (webhooks): the
//! ones that change how the request is framed or routed (`Host`, hop-by-hop headers,
//! `Content-Length`) and the ones receivers use to decide who is calling (proxy credentials,
//! `Forwarded`, `X-Forwarded-*`, `X-Real-IP`). Refused at task creation and dropped again by the
//! sink, so rows written before this rule cannot use them either.

/// Exact names refused (lower case).
const EXACT: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "forwarded",
    "x-real-ip",
];

/// Name prefixes refused (lower case): `Proxy-Authorization`, `Proxy-Connection`, …,
/// `X-Forwarded-For`, `X-Forwarded-Host`, ….
const PREFIXES: &[&str] = &["proxy-", "x-forwarded-"];

/// Whether a tenant-given header `name` is refused on outbound requests (case-insensitive).
pub fn is_forbidden(name: &str) -> bool {
    let lower = name.trim().to_ascii_lowercase();
    EXACT.contains(&lower.as_str()) || PREFIXES.iter().any(|p| lower.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names() {
        for n in [
            "Host",
            "HOST",
            "Transfer-Encoding",
            "Connection",
            "Keep-Alive",
            "Proxy-Authorization",
            "proxy-connection",
            "TE",
            "Trailer",
            "Upgrade",
            "Content-Length",
            "Forwarded",
            "X-Forwarded-For",
            "x-forwarded-host",
            "X-Real-IP",
        ] {
            assert!(is_forbidden(n), "{n}");
        }
        for n in [
            "Content-Type",
            "Authorization",
            "X-Receiver-Token",
            "X-Forward",
            "Hosting",
        ] {
            assert!(!is_forbidden(n), "{n}");
        }
    }
}
