//! Task inputs and outputs (spec §5.3, §5.4): validated into typed values; the normalized JSON
//! (what the client sent, minus nulls) is kept for echoing in task details.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::alarm::{AlarmOutputs, DisOutput, ObsOutput, WebhookOutput};
use crate::FieldError;

/// What one task analyses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskSource {
    VideoSource {
        id: String,
    },
    Url {
        url: String,
    },
    Restful {
        url: String,
        headers: BTreeMap<String, String>,
        certificate_check: bool,
        rtsp_path: String,
    },
    Obs {
        bucket: String,
        path: String,
    },
}

/// One input entry, typed, with its normalized JSON (`{"type": …, "data": [entry]}`).
#[derive(Debug, Clone)]
pub struct TaskInput {
    pub source: TaskSource,
    pub json: Value,
}

fn s<'a>(o: &'a Map<String, Value>, key: &str, at: &str, max: usize) -> Result<&'a str, FieldError> {
    match o.get(key) {
        Some(Value::String(v)) if !v.is_empty() && v.chars().count() <= max => Ok(v),
        Some(Value::String(_)) => Err(FieldError::invalid(
            format!("{at}.{key}"),
            format!("must be 1 to {max} characters"),
        )),
        None | Some(Value::Null) => Err(FieldError::invalid(format!("{at}.{key}"), "is required")),
        Some(_) => Err(FieldError::invalid(format!("{at}.{key}"), "must be a string")),
    }
}

fn url_with(at: &str, url: &str, schemes: &[&str]) -> Result<(), FieldError> {
    let lower = url.to_ascii_lowercase();
    let ok = schemes
        .iter()
        .any(|sc| lower.starts_with(&format!("{sc}://")) && lower.len() > sc.len() + 3)
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(FieldError::invalid(at, format!("must be a {} URL", schemes.join("/"))))
    }
}

fn headers(at: &str, v: Option<&Value>, min: usize) -> Result<BTreeMap<String, String>, FieldError> {
    let map = match v {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(FieldError::invalid(
                at,
                "must be a JSON object of header names to values",
            ))
        }
    };
    if map.len() < min || map.len() > 10 {
        return Err(FieldError::invalid(at, format!("must hold {min} to 10 headers")));
    }
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let value = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(FieldError::invalid(format!("{at}.{k}"), "header values are strings")),
        };
        let name_ok = !k.is_empty() && k.len() <= 256 && k.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !name_ok || value.len() > 4096 || value.chars().any(|c| c.is_control()) {
            return Err(FieldError::invalid(format!("{at}.{k}"), "is not a valid HTTP header"));
        }
        out.insert(k, value);
    }
    Ok(out)
}

fn strip_nulls(o: &Map<String, Value>) -> Value {
    Value::Object(
        o.iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Parses `input`. `edge`: the service runs on the edge; `scheduled`: the task has a schedule;
/// `single`: exactly one entry (updates).
pub fn parse_input(v: &Value, edge: bool, scheduled: bool, single: bool) -> Result<Vec<TaskInput>, FieldError> {
    let o = v
        .as_object()
        .ok_or_else(|| FieldError::invalid("input", "must be an object"))?;
    let ty = match o.get("type") {
        Some(Value::String(t)) => t.as_str(),
        _ => return Err(FieldError::invalid("input.type", "is required")),
    };
    let data = o
        .get("data")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| FieldError::invalid("input.data", "at least one entry is required"))?;
    if single && data.len() != 1 {
        return Err(FieldError::invalid("input.data", "an update takes exactly one entry"));
    }
    if data.len() > 100 {
        return Err(FieldError::invalid("input.data", "at most 100 entries"));
    }
    match ty {
        "obs" | "url" if edge => {
            return Err(FieldError::invalid("input.type", format!("{ty} input is for cloud services only")))
        }
        "edgecamera" | "vcn" | "vis" => {
            return Err(FieldError::invalid(
                "input.type",
                format!("Vigil cannot pull {ty} streams (Huawei IEF/VCN/VIS); register the camera's RTSP address as a url video source"),
            ))
        }
        "video_source" | "obs" | "url" | "restful" | "edgerestful" => {}
        _ => return Err(FieldError::invalid("input.type", "must be video_source, obs, url or restful")),
    }
    if scheduled && ty == "obs" {
        return Err(FieldError::invalid(
            "input.type",
            "scheduled tasks cannot use obs input",
        ));
    }
    data.iter()
        .enumerate()
        .map(|(i, entry)| {
            let at = format!("input.data[{i}]");
            let e = entry
                .as_object()
                .ok_or_else(|| FieldError::invalid(&at, "must be an object"))?;
            let source = match ty {
                "video_source" => {
                    let id = s(e, "video_source_id", &at, 36)?;
                    if !crate::ids::is_resource_id(id) {
                        return Err(FieldError::invalid(
                            format!("{at}.video_source_id"),
                            "must match ^[a-z0-9_-]{4,36}$",
                        ));
                    }
                    TaskSource::VideoSource { id: id.to_string() }
                }
                "url" => {
                    let url = s(e, "url", &at, 1000)?;
                    let schemes: &[&str] = if scheduled {
                        &["rtsp", "rtsps", "rtmp"]
                    } else {
                        &["rtsp", "rtsps", "rtmp", "http", "https", "file"]
                    };
                    url_with(&format!("{at}.url"), url, schemes)?;
                    TaskSource::Url { url: url.to_string() }
                }
                "obs" => TaskSource::Obs {
                    bucket: s(e, "bucket", &at, 63)?.to_string(),
                    path: s(e, "path", &at, 1023)?.to_string(),
                },
                _ => {
                    let url = s(e, "url", &at, 1000)?;
                    url_with(&format!("{at}.url"), url, &["http", "https"])?;
                    let rtsp_path = s(e, "rtsp_path_in_response", &at, 1024)?;
                    if rtsp_path.split('/').any(str::is_empty) {
                        return Err(FieldError::invalid(
                            format!("{at}.rtsp_path_in_response"),
                            "must be a slash-separated path such as data/url",
                        ));
                    }
                    let certificate_check = match e.get("certificate_check") {
                        Some(Value::Bool(b)) => *b,
                        None | Some(Value::Null) => {
                            return Err(FieldError::invalid(format!("{at}.certificate_check"), "is required"))
                        }
                        Some(_) => {
                            return Err(FieldError::invalid(
                                format!("{at}.certificate_check"),
                                "must be true or false",
                            ))
                        }
                    };
                    TaskSource::Restful {
                        url: url.to_string(),
                        headers: headers(&format!("{at}.headers"), e.get("headers"), 0)?,
                        certificate_check,
                        rtsp_path: rtsp_path.to_string(),
                    }
                }
            };
            if let Some(idx) = e.get("index").filter(|v| !v.is_null()) {
                if idx.as_u64().is_none_or(|n| n > 1000) {
                    return Err(FieldError::invalid(
                        format!("{at}.index"),
                        "must be an integer 0 to 1000",
                    ));
                }
            }
            let json = serde_json::json!({"type": ty, "data": [strip_nulls(e)]});
            Ok(TaskInput { source, json })
        })
        .collect()
}

fn data_category(at: &str, o: &Map<String, Value>) -> Result<(), FieldError> {
    match o.get("data_category") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(a)) if a.len() <= 10 && a.iter().all(Value::is_string) => Ok(()),
        Some(_) => Err(FieldError::invalid(
            format!("{at}.data_category"),
            "must be 0 to 10 strings",
        )),
    }
}

fn obj<'a>(at: &str, v: &'a Value) -> Result<&'a Map<String, Value>, FieldError> {
    v.as_object()
        .ok_or_else(|| FieldError::invalid(at, "must be an object"))
}

pub fn bucket_ok(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        && !b.starts_with(['-', '.'])
        && !b.ends_with(['-', '.'])
        && !b.contains("..")
        && !b.contains("-.")
        && !b.contains(".-")
}

/// Object path rules; `.`/`..` segments are refused so a path cannot leave the project's prefix.
pub fn obs_path_ok(p: &str) -> bool {
    p.len() <= 1023
        && !p.split('/').any(|seg| seg == ".." || seg == ".")
        && !p.starts_with(['/', '.', ' '])
        && !p.ends_with(['.', ' '])
        && !p.contains("_//")
        && !p.chars().any(|c| ":*?\"<>|\\".contains(c))
}

/// Parses `output`: at least one of webhook, obs, dis, event_center.
pub fn parse_output(v: &Value) -> Result<(AlarmOutputs, Value), FieldError> {
    let o = obj("output", v)?;
    let mut out = AlarmOutputs::default();
    for key in o.keys() {
        if !["webhook", "obs", "dis", "event_center"].contains(&key.as_str()) && !o[key].is_null() {
            return Err(FieldError::invalid(
                format!("output.{key}"),
                "is not supported (use webhook, obs, dis or event_center)",
            ));
        }
    }
    if let Some(w) = o.get("webhook").filter(|v| !v.is_null()) {
        let w = obj("output.webhook", w)?;
        let url = s(w, "url", "output.webhook", 1000)?;
        url_with("output.webhook.url", url, &["http", "https"])?;
        data_category("output.webhook", w)?;
        let headers = headers("output.webhook.headers", w.get("headers"), 1)?;
        // Framing, routing and caller-identity headers are the server's to set (docs/security.md).
        if let Some(k) = headers.keys().find(|k| crate::outbound_headers::is_forbidden(k)) {
            return Err(FieldError::invalid(
                format!("output.webhook.headers.{k}"),
                "may not be set (Host, hop-by-hop, Content-Length and forwarding headers are refused)",
            ));
        }
        out.webhook = Some(WebhookOutput {
            url: url.into(),
            headers,
        });
    }
    if let Some(b) = o.get("obs").filter(|v| !v.is_null()) {
        let b = obj("output.obs", b)?;
        let bucket = s(b, "bucket", "output.obs", 63)?;
        if !bucket_ok(bucket) {
            return Err(FieldError::invalid("output.obs.bucket", "is not a valid bucket name"));
        }
        let path = match b.get("path") {
            None | Some(Value::Null) => "",
            Some(Value::String(p)) => p,
            Some(_) => return Err(FieldError::invalid("output.obs.path", "must be a string")),
        };
        if !obs_path_ok(path) {
            return Err(FieldError::invalid("output.obs.path", "is not a valid object path"));
        }
        data_category("output.obs", b)?;
        out.obs = Some(ObsOutput {
            bucket: bucket.into(),
            path: path.into(),
        });
    }
    if let Some(d) = o.get("dis").filter(|v| !v.is_null()) {
        let d = obj("output.dis", d)?;
        let name = s(d, "stream_name", "output.dis", 64)?;
        if !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(FieldError::invalid(
                "output.dis.stream_name",
                "must match ^[-A-Za-z0-9_]{1,64}$",
            ));
        }
        data_category("output.dis", d)?;
        out.dis = Some(DisOutput {
            stream_name: name.into(),
        });
    }
    out.event_center = match o.get("event_center") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => false,
        Some(_) => return Err(FieldError::invalid("output.event_center", "must be true or false")),
    };
    if out.webhook.is_none() && out.obs.is_none() && out.dis.is_none() && !out.event_center {
        return Err(FieldError::invalid(
            "output",
            "at least one of webhook, obs, dis or event_center is required",
        ));
    }
    let mut display = match strip_nulls(o) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    display.insert("event_center".into(), Value::Bool(out.event_center));
    Ok((out, Value::Object(display)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs() {
        let v = parse_input(&json!({"type": "video_source", "data": [{"video_source_id": "abcd-1234"}, {"video_source_id": "efgh-5678", "index": 1}]}), false, false, false).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].json["data"][0]["index"], 1);
        let e = |v: Value, edge, sched, single| parse_input(&v, edge, sched, single).unwrap_err().param;
        assert_eq!(
            e(
                json!({"type": "url", "data": [{"url": "rtsp://h/s"}]}),
                true,
                false,
                false
            ),
            "input.type"
        );
        assert_eq!(
            e(
                json!({"type": "url", "data": [{"url": "ftp://h/s"}]}),
                false,
                false,
                false
            ),
            "input.data[0].url"
        );
        assert_eq!(
            e(
                json!({"type": "url", "data": [{"url": "http://h/a.mp4"}]}),
                false,
                true,
                false
            ),
            "input.data[0].url"
        );
        assert_eq!(
            e(
                json!({"type": "obs", "data": [{"bucket": "b", "path": "p"}]}),
                false,
                true,
                false
            ),
            "input.type"
        );
        assert_eq!(
            e(json!({"type": "vcn", "data": [{"device_id": "x"}]}), true, false, false),
            "input.type"
        );
        assert_eq!(
            e(
                json!({"type": "restful", "data": [{"url": "http://h", "rtsp_path_in_response": "data/url"}]}),
                false,
                false,
                false
            ),
            "input.data[0].certificate_check"
        );
        assert_eq!(
            e(json!({"type": "video_source", "data": []}), false, false, false),
            "input.data"
        );
        assert_eq!(
            e(
                json!({"type": "video_source", "data": [{"video_source_id": "aaaa"}, {"video_source_id": "bbbb"}]}),
                false,
                false,
                true
            ),
            "input.data"
        );
        assert_eq!(e(json!({"data": []}), false, false, false), "input.type");
    }

    #[test]
    fn outputs() {
        let (o, display) = parse_output(&json!({"webhook": {"url": "http://127.0.0.1:9/x", "headers": {"content-type": "application/json"}}, "event_center": 1})).unwrap();
        assert!(o.event_center && o.webhook.is_some());
        assert_eq!(display["event_center"], true);
        let e = |v: Value| parse_output(&v).unwrap_err().param;
        assert_eq!(e(json!({})), "output");
        assert_eq!(e(json!({"webhook": {"url": "http://h/x"}})), "output.webhook.headers");
        assert_eq!(
            e(json!({"webhook": {"url": "ftp://h/x", "headers": {"a": "b"}}})),
            "output.webhook.url"
        );
        assert_eq!(
            e(json!({"obs": {"bucket": "Bad_Bucket", "path": "x"}})),
            "output.obs.bucket"
        );
        assert_eq!(e(json!({"obs": {"bucket": "good", "path": "/abs"}})), "output.obs.path");
        assert_eq!(
            e(json!({"obs": {"bucket": "good", "path": "a/../../b"}})),
            "output.obs.path"
        );
        assert_eq!(
            e(json!({"webhook": {"url": "http://h/x", "headers": {"a": "b", "X-Forwarded-For": "1.2.3.4"}}})),
            "output.webhook.headers.X-Forwarded-For"
        );
        assert_eq!(
            e(json!({"dis": {"stream_name": "has space"}})),
            "output.dis.stream_name"
        );
        assert_eq!(e(json!({"event_center": "yes"})), "output.event_center");
        assert_eq!(e(json!({"hosting": {"data_category": []}})), "output.hosting");
    }
}
