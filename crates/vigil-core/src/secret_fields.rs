//! Secrets inside what tenants configure: the password in a URL's user-info
//! (`rtsp://user:pass@cam/…`) and HTTP header values (RESTful inputs, webhook outputs).
//!
//! At rest they are sealed in place with [`SecretBox::seal_compact`] (the rest of the URL or JSON
//! stays readable); in API responses they read `******`; only the worker and the sinks open them,
//! right before they connect. An update that sends `******` back keeps the stored secret.

use serde_json::Value;

use crate::secret_box::{SecretBox, COMPACT_PREFIX};
use crate::type_config::MASK;

/// Byte range of the password in `url`'s user-info (`scheme://user:PASSWORD@host…`), if any.
fn password_range(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = rest[..authority_end].rfind('@')?;
    let colon = rest[..at].find(':')?;
    let range = start + colon + 1..start + at;
    (!range.is_empty()).then_some(range)
}

fn replace_password(url: &str, f: impl FnOnce(&str) -> String) -> String {
    match password_range(url) {
        Some(r) => format!("{}{}{}", &url[..r.start], f(&url[r.clone()]), &url[r.end..]),
        None => url.to_string(),
    }
}

/// `url` with its user-info password (if any) shown as `******`.
pub fn mask_url(url: &str) -> String {
    replace_password(url, |_| MASK.to_string())
}

/// `url` with its password sealed. A password of `******` takes the one of `previous` (the
/// stored URL), so clients can send back what they read.
pub fn seal_url(secrets: &SecretBox, url: &str, previous: Option<&str>) -> String {
    replace_password(url, |p| {
        if p == MASK {
            if let Some(prev) = previous.and_then(|prev| password_range(prev).map(|r| prev[r].to_string())) {
                return prev;
            }
        }
        if p.starts_with(COMPACT_PREFIX) && secrets.open_compact(p).is_some() {
            return p.to_string();
        }
        secrets.seal_compact(p)
    })
}

/// `url` with its sealed password opened (unchanged when nothing is sealed).
pub fn open_url(secrets: &SecretBox, url: &str) -> String {
    replace_password(url, |p| secrets.open_compact(p).unwrap_or_else(|| p.to_string()))
}

/// Keys whose string values are URLs that may carry a password.
const URL_KEYS: &[&str] = &["url", "url_address"];

/// Walks a task's `input` or `output` JSON, applying `url` to URL strings and `header` to every
/// value of a `headers` object. `previous` is the stored JSON at the same place.
fn walk(
    v: &mut Value,
    previous: Option<&Value>,
    url: &dyn Fn(&str, Option<&str>) -> String,
    header: &dyn Fn(&str, Option<&str>) -> String,
) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                let prev = previous.and_then(|p| p.get(k));
                match child {
                    Value::String(s) if URL_KEYS.contains(&k.as_str()) => {
                        *s = url(s, prev.and_then(Value::as_str));
                    }
                    Value::Object(headers) if k == "headers" => {
                        for (name, value) in headers.iter_mut() {
                            if let Value::String(s) = value {
                                let prev = prev.and_then(|p| p.get(name)).and_then(Value::as_str);
                                *s = header(s, prev);
                            }
                        }
                    }
                    _ => walk(child, prev, url, header),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                walk(child, previous.and_then(|p| p.get(i)), url, header);
            }
        }
        _ => {}
    }
}

/// Seals URL passwords and header values of a task's `input`/`output` JSON before it is stored.
/// `previous`: the stored JSON this one replaces (for `******` values sent back).
pub fn seal_json(secrets: &SecretBox, v: &Value, previous: Option<&Value>) -> Value {
    let mut out = v.clone();
    walk(
        &mut out,
        previous,
        &|u, prev| seal_url(secrets, u, prev),
        &|h, prev| match (h == MASK, prev) {
            (true, Some(p)) if p.starts_with(COMPACT_PREFIX) => p.to_string(),
            _ if h.starts_with(COMPACT_PREFIX) && secrets.open_compact(h).is_some() => h.to_string(),
            _ => secrets.seal_compact(h),
        },
    );
    out
}

/// The JSON as API responses show it: URL passwords and header values read `******`.
pub fn mask_json(v: &Value) -> Value {
    let mut out = v.clone();
    walk(&mut out, None, &|u, _| mask_url(u), &|_, _| MASK.to_string());
    out
}

/// The JSON with its secrets opened, for the worker and the sinks right before they connect.
pub fn open_json(secrets: &SecretBox, v: &Value) -> Value {
    let mut out = v.clone();
    walk(&mut out, None, &|u, _| open_url(secrets, u), &|h, _| {
        secrets.open_compact(h).unwrap_or_else(|| h.to_string())
    });
    out
}

/// Opens sealed header values of one header map (a webhook's, as the outbox carries it).
pub fn open_headers(secrets: &SecretBox, headers: &mut std::collections::BTreeMap<String, String>) {
    for v in headers.values_mut() {
        if let Some(plain) = secrets.open_compact(v) {
            *v = plain;
        }
    }
}

/// Applies `f` to the text of every `<url_address>` element (any case) of a `type_config` XML.
fn map_url_address(xml: &str, f: impl Fn(&str) -> String) -> String {
    let lower = xml.to_ascii_lowercase();
    let (open, close) = ("<url_address>", "</url_address>");
    let mut out = String::with_capacity(xml.len());
    let mut pos = 0;
    while let Some(rel) = lower[pos..].find(open) {
        let text_start = pos + rel + open.len();
        let Some(close_rel) = lower[text_start..].find(close) else {
            break;
        };
        out.push_str(&xml[pos..text_start]);
        out.push_str(&f(&xml[text_start..text_start + close_rel]));
        pos = text_start + close_rel;
    }
    out.push_str(&xml[pos..]);
    out
}

/// A source's `type_config` as stored: the camera `<password>` masked (it is sealed in its own
/// column) and the password of `<url_address>` sealed in place.
pub fn seal_type_config(secrets: &SecretBox, xml: &str, previous: Option<&str>) -> String {
    let prev_url = previous.and_then(url_address_of);
    map_url_address(&crate::type_config::mask_password(xml), |u| {
        seal_url(secrets, u, prev_url.as_deref())
    })
}

/// A stored `type_config` as API responses show it: every password reads `******`.
pub fn mask_type_config(xml: &str) -> String {
    map_url_address(&crate::type_config::mask_password(xml), mask_url)
}

/// A stored `type_config` with the `<url_address>` password opened, for the worker and prober.
pub fn open_type_config(secrets: &SecretBox, xml: &str) -> String {
    map_url_address(xml, |u| open_url(secrets, u))
}

fn url_address_of(xml: &str) -> Option<String> {
    let found = std::cell::RefCell::new(None);
    map_url_address(xml, |u| {
        found.borrow_mut().get_or_insert_with(|| u.to_string());
        u.to_string()
    });
    found.into_inner()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn secrets() -> SecretBox {
        SecretBox::from_hex(&SecretBox::generate_hex_key()).unwrap()
    }

    #[test]
    fn url_passwords_every_form() {
        let b = secrets();
        for (url, masked) in [
            (
                "rtsp://admin:s3cret@10.0.0.1:554/live",
                "rtsp://admin:******@10.0.0.1:554/live",
            ),
            ("rtsp://admin:p%40ss@cam/x?y=1", "rtsp://admin:******@cam/x?y=1"),
            ("https://u:a:b@host", "https://u:******@host"),
            ("rtsp://only-user@cam/x", "rtsp://only-user@cam/x"),
            ("rtsp://cam/x?u=a:b@c", "rtsp://cam/x?u=a:b@c"),
            ("file:///tmp/a.mp4", "file:///tmp/a.mp4"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(mask_url(url), masked, "{url}");
            let sealed = seal_url(&b, url, None);
            if masked != url {
                let pw = &url[password_range(url).unwrap()];
                assert!(!sealed.contains(pw), "{sealed}");
            }
            assert_eq!(open_url(&b, &sealed), url);
            assert_eq!(mask_url(&sealed), masked);
        }
        // `******` sent back keeps the stored password; sealing twice changes nothing.
        let stored = seal_url(&b, "rtsp://a:pw@cam/x", None);
        assert_eq!(seal_url(&b, "rtsp://a:******@cam/x", Some(&stored)), stored);
        assert_eq!(seal_url(&b, &stored, None), stored);
    }

    #[test]
    fn task_json_headers_and_urls() {
        let b = secrets();
        let input = json!({"type": "restful", "data": [{"url": "https://u:pw@api/x", "headers": {"Authorization": "Bearer tok", "X-N": "1"}, "rtsp_path": "data/url"}]});
        let sealed = seal_json(&b, &input, None);
        let text = sealed.to_string();
        assert!(!text.contains("Bearer tok") && !text.contains(":pw@"), "{text}");
        assert_eq!(open_json(&b, &sealed), input);
        let shown = mask_json(&sealed);
        assert_eq!(shown["data"][0]["headers"]["Authorization"], MASK);
        assert_eq!(shown["data"][0]["url"], "https://u:******@api/x");
        assert_eq!(shown["data"][0]["rtsp_path"], "data/url");
        // An update that sends the masked form back keeps the secrets.
        let again = seal_json(&b, &shown, Some(&sealed));
        assert_eq!(open_json(&b, &again), input);

        let output = json!({"webhook": {"url": "http://r/x", "headers": {"Token": "abc"}}, "event_center": true});
        let sealed = seal_json(&b, &output, None);
        let mut headers: std::collections::BTreeMap<String, String> =
            serde_json::from_value(sealed["webhook"]["headers"].clone()).unwrap();
        assert_ne!(headers["Token"], "abc");
        open_headers(&b, &mut headers);
        assert_eq!(headers["Token"], "abc");
    }

    #[test]
    fn type_config_url_address() {
        let b = secrets();
        let xml = "<type_config><url_address>rtsp://u:hunter2@cam/live</url_address></type_config>";
        let stored = seal_type_config(&b, xml, None);
        assert!(!stored.contains("hunter2"));
        assert_eq!(
            mask_type_config(&stored),
            "<type_config><url_address>rtsp://u:******@cam/live</url_address></type_config>"
        );
        assert_eq!(open_type_config(&b, &stored), xml);
        let update = "<type_config><URL_ADDRESS>rtsp://u:******@cam/live</URL_ADDRESS></type_config>";
        assert_eq!(
            open_type_config(&b, &seal_type_config(&b, update, Some(&stored))),
            update.replace("******", "hunter2")
        );
        let camera = "<type_config><password>p</password></type_config>";
        assert_eq!(
            seal_type_config(&b, camera, None),
            "<type_config><password>******</password></type_config>"
        );
    }
}
