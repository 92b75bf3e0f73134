//! Property-based fuzzing of the AK/SK (`SDK-HMAC-SHA256`) canonicaliser: canonical URI, query
//! and request, the `Authorization` header parser, signing and verification.
//!
//! All of it runs on unauthenticated input (it decides whether a request is authentic), so it
//! must never panic, and canonicalisation must be deterministic and independent of how a client
//! chose to escape or order what it signed. Cases: `PROPTEST_CASES` (default 512;
//! `scripts/fuzz.sh` runs 100,000).

use proptest::prelude::*;
use proptest::test_runner::Config;
use vigil_api::aksk::{self, Authorization, SignInput};

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// URL pieces with every kind of escape: valid, truncated, invalid UTF-8, overlong, unicode.
fn url_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z0-9_.~-]{1,8}",
        "%[0-9a-fA-F]{2}",
        Just("%".to_string()),
        Just("%4".to_string()),
        Just("%zz".to_string()),
        Just("%ff%fe".to_string()),
        Just("%c0%af".to_string()),
        Just("%ed%a0%80".to_string()),
        Just("%00".to_string()),
        Just("%2F".to_string()),
        Just("%252F".to_string()),
        Just("+".to_string()),
        Just("/".to_string()),
        Just("//".to_string()),
        Just("&".to_string()),
        Just("=".to_string()),
        Just("==".to_string()),
        Just("?".to_string()),
        Just("#".to_string()),
        Just("..".to_string()),
        "\\PC{1,4}",
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat()),
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn unreserved_or(c: char, extra: &str) -> bool {
    c.is_ascii_alphanumeric() || "_.-~%".contains(c) || extra.contains(c)
}

/// Escapes every byte, as a client is free to do.
fn escape_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("[a-z][a-z0-9-]{0,15}", "\\PC{0,30}"), 0..6)
}

proptest! {
    #![proptest_config(config())]

    /// Canonical URIs: no panic, deterministic, ends in `/`, only unreserved or escaped characters.
    #[test]
    fn canonical_uri_is_total_and_clean(path in url_text()) {
        let a = aksk::canonical_uri(&path);
        prop_assert_eq!(&a, &aksk::canonical_uri(&path));
        prop_assert!(a.ends_with('/'));
        prop_assert!(a.chars().all(|c| unreserved_or(c, "/")), "{}", a);
    }

    /// How a client escapes the path does not change what is signed.
    #[test]
    fn canonical_uri_ignores_escaping(path in "[^%]{0,40}") {
        prop_assert_eq!(aksk::canonical_uri(&path), aksk::canonical_uri(&escape_all(&path)));
    }

    /// Canonical queries: no panic, deterministic, clean, and independent of parameter order.
    #[test]
    fn canonical_query_is_order_independent(query in url_text(), seed in any::<u64>()) {
        let a = aksk::canonical_query(&query);
        prop_assert_eq!(&a, &aksk::canonical_query(&query));
        prop_assert!(a.chars().all(|c| unreserved_or(c, "=&")), "{}", a);
        let mut parts: Vec<&str> = query.split('&').collect();
        // A deterministic shuffle driven by the generated seed.
        let mut s = seed;
        for i in (1..parts.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            parts.swap(i, (s >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(a, aksk::canonical_query(&parts.join("&")));
    }

    /// Escaping keys and values differently does not change the canonical query.
    #[test]
    fn canonical_query_ignores_escaping(pairs in prop::collection::vec(("[^&=%]{0,12}", "[^&=%]{0,12}"), 0..6)) {
        let plain: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let escaped: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", escape_all(k), escape_all(v))).collect();
        prop_assert_eq!(aksk::canonical_query(&plain.join("&")), aksk::canonical_query(&escaped.join("&")));
    }

    /// The header parser takes anything; what it accepts has all three parts.
    #[test]
    fn authorization_parse_is_total(value in prop_oneof![
        any::<String>(),
        ("\\PC{0,20}", "[a-z;-]{0,30}", "\\PC{0,70}").prop_map(|(a, h, s)| format!("SDK-HMAC-SHA256 Access={a}, SignedHeaders={h}, Signature={s}")),
        url_text().prop_map(|t| format!("SDK-HMAC-SHA256 {t}")),
    ]) {
        if let Some(a) = Authorization::parse(&value) {
            prop_assert!(value.trim_start().starts_with(aksk::ALGORITHM));
            prop_assert!(a.signed_headers.iter().all(|h| *h == h.to_ascii_lowercase()));
            prop_assert_eq!(&a.signature, &a.signature.to_ascii_lowercase());
        }
    }

    /// Signing is deterministic, verifies, and any change of the signature or the secret fails.
    #[test]
    fn sign_then_verify(method in "[A-Za-z]{1,7}", path in url_text(), query in url_text(),
                        hdrs in headers(), body in prop::collection::vec(any::<u8>(), 0..256),
                        secret in "\\PC{1,40}", date in "[0-9]{8}T[0-9]{6}Z", flip in any::<prop::sample::Index>()) {
        let names: Vec<String> = hdrs.iter().map(|(k, _)| k.clone()).collect();
        let input = SignInput {
            method: &method,
            path: &path,
            query: &query,
            headers: &hdrs,
            body: &body,
            content_sha256: None,
        };
        let canonical = aksk::canonical_request(&input, &names);
        prop_assert_eq!(&canonical, &aksk::canonical_request(&input, &names));
        let sig = aksk::signature(&secret, &date, &input, &names);
        prop_assert_eq!(sig.len(), 64);
        prop_assert!(sig.bytes().all(|b| b.is_ascii_hexdigit()));
        let mut auth = Authorization { access: "AK".into(), signed_headers: names, signature: sig.clone() };
        prop_assert!(aksk::verify(&secret, &date, &input, &auth));
        let other_secret = format!("{secret}x");
        prop_assert!(!aksk::verify(&other_secret, &date, &input, &auth));
        let i = flip.index(sig.len());
        let mut bytes = sig.into_bytes();
        bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
        auth.signature = String::from_utf8(bytes).unwrap();
        prop_assert!(!aksk::verify(&secret, &date, &input, &auth));
        auth.signature.clear();
        prop_assert!(!aksk::verify(&secret, &date, &input, &auth));
    }
}
