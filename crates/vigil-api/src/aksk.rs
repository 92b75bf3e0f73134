//! Huawei Cloud `SDK-HMAC-SHA256` request signing, exactly as the official SDKs compute it
//! (huaweicloudsdkcore `signer.py`): canonical request → string to sign → HMAC with the SK.

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
pub const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
const EMPTY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Python's `quote(s, safe='~')`: everything but letters, digits and `_.-~` is escaped.
const SDK_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~');

fn encode(s: &str) -> String {
    utf8_percent_encode(s, SDK_ENCODE).to_string()
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The parts of an `Authorization: SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.trim().strip_prefix(ALGORITHM)?.trim();
        let (mut access, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            match k.trim() {
                "Access" => access = Some(v.trim().to_string()),
                "SignedHeaders" => signed = Some(v.trim().split(';').map(|h| h.to_ascii_lowercase()).collect()),
                "Signature" => signature = Some(v.trim().to_ascii_lowercase()),
                _ => {}
            }
        }
        Some(Self {
            access: access?,
            signed_headers: signed?,
            signature: signature?,
        })
    }
}

#[derive(Clone, Copy)]
/// One request as the signer sees it. `path` and `query` are as sent on the wire (escaped).
pub struct SignInput<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Lower-case name → value, for every header named in `SignedHeaders`.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// The `X-Sdk-Content-Sha256` header, when the client sent one (e.g. `UNSIGNED-PAYLOAD`).
    pub content_sha256: Option<&'a str>,
}

pub fn canonical_uri(path: &str) -> String {
    let mut uri = decode(path).split('/').map(encode).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn canonical_request(input: &SignInput, signed_headers: &[String]) -> String {
    let mut headers = String::new();
    for name in signed_headers {
        let value = input
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("");
        headers.push_str(&format!("{name}:{value}\n"));
    }
    let payload = match input.content_sha256 {
        _ if input.body.is_empty() => EMPTY_HASH.to_string(),
        Some(h) => h.to_string(),
        None => hex_sha256(input.body),
    };
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method.to_ascii_uppercase(),
        canonical_uri(input.path),
        canonical_query(input.query),
        headers,
        signed_headers.join(";"),
        payload
    )
}

/// Hex HMAC-SHA256 signature for a request dated `sdk_date` (the `X-Sdk-Date` value).
pub fn signature(secret: &str, sdk_date: &str, input: &SignInput, signed_headers: &[String]) -> String {
    let string_to_sign = format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        hex_sha256(canonical_request(input, signed_headers).as_bytes())
    );
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The value SDKs put in `X-Sdk-Content-Sha256` for bodies they do not hash (uploads).
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Whether an `X-Sdk-Content-Sha256` header may stand in for the body hash: only when it is
/// itself signed and is `UNSIGNED-PAYLOAD` or the real SHA-256 of the body. Absent is fine (the
/// canonical request then hashes the body).
pub fn content_sha256_acceptable(value: Option<&str>, signed_headers: &[String], body: &[u8]) -> bool {
    let Some(v) = value else {
        return true;
    };
    signed_headers.iter().any(|h| h == "x-sdk-content-sha256")
        && (v == UNSIGNED_PAYLOAD || v.eq_ignore_ascii_case(&hex_sha256(body)))
}

/// Constant-time comparison of the client's signature with the expected one.
pub fn verify(secret: &str, sdk_date: &str, input: &SignInput, auth: &Authorization) -> bool {
    use subtle::ConstantTimeEq;
    let expected = signature(secret, sdk_date, input, &auth.signed_headers);
    expected.len() == auth.signature.len() && bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_parts_match_the_python_sdk() {
        assert_eq!(canonical_uri("/v2/abc/source/sources"), "/v2/abc/source/sources/");
        assert_eq!(canonical_uri("/v2/a%20b/x"), "/v2/a%20b/x/");
        assert_eq!(
            canonical_query("status=9&status=1&a=x%2Fy"),
            "a=x%2Fy&status=1&status=9"
        );
        assert_eq!(canonical_query(""), "");
        let a =
            Authorization::parse("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=ABC").unwrap();
        assert_eq!(a.access, "AK1");
        assert_eq!(a.signed_headers, vec!["host", "x-sdk-date"]);
        assert!(Authorization::parse("Bearer x").is_none());
        assert!(Authorization::parse("SDK-HMAC-SHA256 Access=AK1").is_none());
    }

    #[test]
    fn content_header_must_be_signed_and_true() {
        let signed = vec!["host".to_string(), "x-sdk-content-sha256".to_string()];
        let unsigned = vec!["host".to_string()];
        let real = hex_sha256(b"{}");
        assert!(content_sha256_acceptable(None, &unsigned, b"{}"));
        assert!(content_sha256_acceptable(Some(UNSIGNED_PAYLOAD), &signed, b"{}"));
        assert!(content_sha256_acceptable(Some(&real), &signed, b"{}"));
        assert!(content_sha256_acceptable(Some(&real.to_uppercase()), &signed, b"{}"));
        assert!(!content_sha256_acceptable(Some(UNSIGNED_PAYLOAD), &unsigned, b"{}"));
        assert!(!content_sha256_acceptable(Some(&real), &signed, b"{ }"));
        assert!(!content_sha256_acceptable(Some(EMPTY_HASH), &signed, b"{}"));
    }

    #[test]
    fn signature_depends_on_every_part() {
        let headers = vec![
            ("host".to_string(), "h:1".to_string()),
            ("x-sdk-date".to_string(), "20260101T000000Z".to_string()),
        ];
        let names = vec!["host".to_string(), "x-sdk-date".to_string()];
        let input = SignInput {
            method: "GET",
            path: "/v2/p/x",
            query: "a=1",
            headers: &headers,
            body: b"",
            content_sha256: None,
        };
        let sig = signature("sk", "20260101T000000Z", &input, &names);
        let other = SignInput { query: "a=2", ..input };
        assert_ne!(sig, signature("sk", "20260101T000000Z", &other, &names));
        assert_ne!(sig, signature("sk2", "20260101T000000Z", &input, &names));
        let auth = Authorization {
            access: "AK".into(),
            signed_headers: names,
            signature: sig,
        };
        assert!(verify("sk", "20260101T000000Z", &input, &auth));
    }
}
