//! Property-based fuzzing of the `type_config` XML parser and the per-type address rules
//! (`type_config::parse`, `video_source::parse_address`, `type_config::mask_password`).
//!
//! Tenants send this XML verbatim, so hostile input must end in a `FieldError` naming the
//! field, never in a panic. Cases: `PROPTEST_CASES` (default 512; `scripts/fuzz.sh` runs 100,000).

use proptest::prelude::*;
use proptest::test_runner::Config;
use vigil_core::type_config::{self, Generation, MAX_LEN};
use vigil_core::video_source::{parse_address, SourceType};

fn config() -> Config {
    // An explicit PROPTEST_CASES wins; otherwise a short run that suits the test suite.
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

/// Pieces a hostile client splices into otherwise valid XML.
const HOSTILE: &[&str] = &[
    "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
    "<!ENTITY e \"x\">",
    "&e;",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&#xD800;",
    "&#99999999999999999999;",
    "&lt;",
    "&",
    "<![CDATA[",
    "]]>",
    "<![CDATA[<url_address>x</url_address>]]>",
    "<?xml version=\"1.0\"?>",
    "<?php ?>",
    "<!-- -->",
    "<!--",
    "</",
    "<",
    ">",
    "/>",
    "<a",
    "<a b=\"c\">",
    "<a b='c' b='d'/>",
    "</type_config>",
    "<type_config>",
    "<password>",
    "</password>",
    "<PASSWORD>x</PASSWORD>",
    "<type>URL</type>",
    "<config>",
    "</config>",
    "\u{0}",
    "\u{feff}",
    "\u{202e}",
    "\r\n",
    "%00",
    "%2F%2e%2e",
    "rtsp://",
    "file:///etc/passwd",
    "concat:/a|/b",
    "x:y@z",
    "99999999999999999999999999",
    "-1",
];

const SCHEMES: &[&str] = &[
    "rtsp", "rtsps", "rtmp", "http", "https", "file", "gopher", "concat", "RTSP", "",
];

const FIELDS: &[&str] = &[
    "url_address",
    "URL_ADDRESS",
    "url",
    "rtsp_url",
    "http_check",
    "data_source_id",
    "stream_type",
    "ip",
    "port",
    "user_name",
    "password",
    "device_id",
    "edge_camera_id",
    "name",
    "bucket",
    "path",
    "type",
    "config",
];

/// Text as a tenant might type it: unicode, percent-encodings, huge numbers, entities.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9:/._~%?&=@-]{0,40}",
        any::<String>(),
        (prop::sample::select(SCHEMES), "[a-z0-9.:@%/_-]{0,30}").prop_map(|(s, r)| format!("{s}://{r}")),
        prop::sample::select(HOSTILE).prop_map(str::to_string),
        any::<u128>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
    ]
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A well-formed document of either generation with random fields.
fn near_valid() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::sample::select(&["URL", "VCN", "RESTFUL", "CAMERA", "OBS", "IVM", "url", "x"][..]),
        prop::collection::vec((prop::sample::select(FIELDS), text(), any::<bool>()), 0..8),
    )
        .prop_map(|(gen2, ty, fields)| {
            let body: String = fields
                .iter()
                .map(|(k, v, cdata)| {
                    if *cdata {
                        format!("<{k}><![CDATA[{v}]]></{k}>")
                    } else {
                        format!("<{k}>{}</{k}>", escape(v))
                    }
                })
                .collect();
            if gen2 {
                format!("<type_config>{body}</type_config>")
            } else {
                format!("<type>{ty}</type><config>{body}</config>")
            }
        })
}

/// A valid document with one mutation: a hostile splice, a deletion, a truncation or a byte flip.
fn mutated() -> impl Strategy<Value = String> {
    (
        near_valid(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        prop::sample::select(HOSTILE),
        0u8..4,
    )
        .prop_map(|(doc, a, b, piece, op)| {
            let at = |i: prop::sample::Index| {
                let mut p = i.index(doc.len() + 1);
                while !doc.is_char_boundary(p) {
                    p -= 1;
                }
                p
            };
            let (i, j) = {
                let (x, y) = (at(a), at(b));
                (x.min(y), x.max(y))
            };
            match op {
                0 => format!("{}{piece}{}", &doc[..i], &doc[i..]),
                1 => format!("{}{}", &doc[..i], &doc[j..]),
                2 => doc[..i].to_string(),
                _ => {
                    let mut bytes = doc.into_bytes();
                    if !bytes.is_empty() {
                        let k = i.min(bytes.len() - 1);
                        bytes[k] ^= 0x20;
                    }
                    String::from_utf8_lossy(&bytes).into_owned()
                }
            }
        })
}

/// Deep nesting, with and without closing tags.
fn deep() -> impl Strategy<Value = String> {
    (1usize..3000, any::<bool>(), "[a-z_]{1,12}").prop_map(|(n, closed, tag)| {
        let mut s = format!("<{tag}>").repeat(n);
        if closed {
            s.push_str(&format!("</{tag}>").repeat(n));
        }
        s
    })
}

fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..1200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        any::<String>(),
        near_valid(),
        mutated(),
        mutated(),
        deep(),
    ]
}

fn check_all_types(xml: &str) {
    for ty in SourceType::ALL {
        match parse_address(ty, xml) {
            Ok(addr) => {
                if let Some(url) = addr.stream_path() {
                    assert!(url.len() <= 1000 && !url.chars().any(char::is_control), "{url:?}");
                }
            }
            Err(e) => {
                assert!(!e.param.is_empty(), "empty field path for {xml:?}");
                assert!(
                    e.param == "type" || e.param.starts_with("type_config"),
                    "unexpected field path {:?} for {xml:?}",
                    e.param
                );
                assert!(!e.message.is_empty());
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any input: Ok, or a FieldError naming `type_config…`; never a panic.
    #[test]
    fn parse_never_panics(xml in hostile()) {
        match type_config::parse(&xml) {
            Ok(cfg) => {
                prop_assert!(xml.len() <= MAX_LEN);
                for k in cfg.fields.keys() {
                    prop_assert_eq!(k, &k.to_ascii_lowercase());
                }
                prop_assert_eq!(cfg.generation == Generation::One, cfg.declared_type.is_some());
            }
            Err(e) => prop_assert!(e.param.starts_with("type_config") && !e.message.is_empty()),
        }
        check_all_types(&xml);
        let _ = type_config::mask_password(&xml);
    }

    /// A value written with XML escaping reads back exactly (after trimming), in both generations.
    #[test]
    fn escaped_text_round_trips(value in "[^\\p{Cc}\\s][^\\p{Cc}]{0,200}[^\\p{Cc}\\s]", gen2 in any::<bool>()) {
        let field = format!("<url_address>{}</url_address>", escape(&value));
        let xml = if gen2 {
            format!("<type_config>{field}</type_config>")
        } else {
            format!("<type>URL</type><config>{field}</config>")
        };
        prop_assume!(xml.len() <= MAX_LEN);
        let cfg = type_config::parse(&xml).map_err(|e| TestCaseError::fail(format!("{e:?} for {xml:?}")))?;
        prop_assert_eq!(cfg.get("url_address"), Some(value.as_str()));
    }

    /// A password never survives masking, whatever surrounds it.
    #[test]
    fn mask_hides_passwords(prefix in "[^<]{0,50}", secret in "[a-zA-Z0-9!#$%^*]{8,40}", upper in any::<bool>()) {
        let tag = if upper { "PASSWORD" } else { "password" };
        let xml = format!("{prefix}<type_config><{tag}>{secret}</{tag}></type_config>");
        prop_assume!(!prefix.contains(&secret));
        let masked = type_config::mask_password(&xml);
        prop_assert!(!masked.contains(&secret), "{masked}");
    }

    /// A well-formed URL source is accepted with exactly the URL given.
    #[test]
    fn valid_url_sources_are_accepted(scheme in prop::sample::select(&["rtsp", "rtsps", "rtmp", "http", "https", "file"][..]),
                                     rest in "[a-zA-Z0-9._~%/:@-]{1,200}") {
        let url = format!("{scheme}://{rest}");
        let xml = format!("<type_config><url_address>{}</url_address></type_config>", escape(&url));
        let addr = parse_address(SourceType::Url, &xml).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(addr.stream_path(), Some(url.as_str()));
    }
}
