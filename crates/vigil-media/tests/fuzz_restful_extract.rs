//! Property-based fuzzing of the RESTful source's JSON-path reader
//! (`vigil_media::source::restful::extract`), which reads the answer of a tenant-chosen server.
//!
//! Any body and path must give `Ok` with a non-empty trimmed string or an `Err`, never a panic
//! (deep nesting included), and a string placed at a known path must come back. Cases:
//! `PROPTEST_CASES` (default 512; `scripts/fuzz.sh` runs 100,000).

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Map, Value};
use vigil_media::source::restful::extract;

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

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::from),
        "[ \t\r\n]{0,3}(rtsp|http|file|concat)://[a-z0-9./:@%-]{0,20}[ \t]{0,2}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}|data|url|0|1", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Paths as written in `type_config`: segments, indices, empty segments, unicode, huge numbers.
fn path() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        "[a-z_]{1,8}",
        (0usize..8).prop_map(|i| i.to_string()),
        Just("data".to_string()),
        Just("url".to_string()),
        Just("".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just("+1".to_string()),
        Just("01".to_string()),
        Just("%2F".to_string()),
        "\\PC{1,6}",
    ];
    prop::collection::vec(seg, 0..8).prop_map(|v| v.join("/"))
}

const SPLICE: &[&str] = &[
    "{", "}", "[", "]", "\"", ",", ":", "\\", "\\ud800", "\\u0000", "1e99999", "-", "\u{0}", "\u{feff}",
];

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        (any_json(), any::<prop::sample::Index>(), prop::sample::select(SPLICE)).prop_map(|(v, at, piece)| {
            let mut b = v.to_string().into_bytes();
            let i = at.index(b.len() + 1);
            b.splice(i..i, piece.bytes());
            b
        }),
        (
            1usize..50_000,
            prop::sample::select(&["[", "{\"a\":", "[{\"data\":"][..])
        )
            .prop_map(|(n, open)| open.repeat(n).into_bytes()),
    ]
}

/// One step of a known path: an object key (never `/`, never empty) or an array index.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize, usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        "[^/]{1,12}".prop_map(Step::Key),
        (0usize..5, 0usize..3).prop_map(|(i, extra)| Step::Index(i, extra)),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Any body, any path: a non-empty trimmed string or an error; never a panic.
    #[test]
    fn extract_never_panics(body in body(), path in path()) {
        if let Ok(s) = extract(&body, &path) {
            prop_assert!(!s.is_empty());
            prop_assert_eq!(s.trim(), s.as_str());
        }
    }

    /// A string put at a known path, amid noise, is what `extract` returns (trimmed).
    #[test]
    fn extract_finds_a_planted_string(steps in prop::collection::vec(step(), 0..8),
                                      noise in prop::collection::vec(any_json(), 0..4),
                                      value in "[ ]{0,2}\\PC{0,30}[^ \\s]{1}[ ]{0,2}") {
        let mut doc = Value::from(value.clone());
        let mut segs = Vec::new();
        for (n, s) in steps.iter().rev().enumerate() {
            doc = match s {
                Step::Key(k) => {
                    let mut m = Map::new();
                    for (j, v) in noise.iter().enumerate() {
                        m.insert(format!("{k}{j}{n}"), v.clone());
                    }
                    m.insert(k.clone(), doc);
                    Value::Object(m)
                }
                Step::Index(i, extra) => {
                    let mut a: Vec<Value> = (0..*i).map(|j| noise.get(j).cloned().unwrap_or(Value::Null)).collect();
                    a.push(doc);
                    a.extend(std::iter::repeat_n(Value::Bool(true), *extra));
                    Value::Array(a)
                }
            };
            segs.push(match s {
                Step::Key(k) => k.clone(),
                Step::Index(i, _) => i.to_string(),
            });
        }
        segs.reverse();
        let path = segs.join("/");
        let body = serde_json::to_vec(&doc).unwrap();
        prop_assert_eq!(extract(&body, &path), Ok(value.trim().to_string()));
    }
}

/// Nesting far beyond serde_json's recursion limit is an error, not a stack overflow.
#[test]
fn deep_nesting_is_refused() {
    for open in ["[", "{\"a\":"] {
        let body = open.repeat(1_000_000);
        assert!(extract(body.as_bytes(), "a").is_err());
    }
}
