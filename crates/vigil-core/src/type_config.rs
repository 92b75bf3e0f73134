//! The `type_config` XML fragment of a video source (spec §2.2), in both generations:
//! gen 1 `<type>URL</type><config><URL_ADDRESS>…</URL_ADDRESS></config>` (upper-case, no root) and
//! gen 2 `<type_config><url_address>…</url_address></type_config>` (one root, lower-case).
//! Parsing is strict: no DTDs or entities beyond the XML built-ins, no nesting below a field.

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::FieldError;

const PARAM: &str = "type_config";
pub const MAX_LEN: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    One,
    Two,
}

/// The parsed fields, keyed by lower-case tag name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeConfig {
    pub generation: Generation,
    /// Gen 1 only: the text of `<type>` (e.g. `URL`).
    pub declared_type: Option<String>,
    pub fields: BTreeMap<String, String>,
}

impl TypeConfig {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(|s| s.as_str()).filter(|s| !s.is_empty())
    }
}

#[derive(Debug)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

fn err(msg: impl Into<String>) -> FieldError {
    FieldError::invalid(PARAM, msg)
}

fn parse_nodes(xml: &str) -> Result<Vec<Node>, FieldError> {
    let wrapped = format!("<vigil-root>{xml}</vigil-root>");
    let mut reader = Reader::from_str(&wrapped);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        match reader.read_event() {
            Err(e) => return Err(err(format!("is not well-formed XML: {e}"))),
            Ok(Event::Eof) => break,
            Ok(Event::Start(s)) => {
                if stack.len() > 4 {
                    return Err(err("XML is nested too deeply"));
                }
                let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
                stack.push(Node {
                    name,
                    text: String::new(),
                    children: Vec::new(),
                });
            }
            Ok(Event::Empty(s)) => {
                let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
                let node = Node {
                    name,
                    text: String::new(),
                    children: Vec::new(),
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Err(err("is not well-formed XML")),
                }
            }
            Ok(Event::End(_)) => {
                let node = stack.pop().ok_or_else(|| err("is not well-formed XML"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Ok(Event::Text(t)) => {
                let text = t
                    .unescape()
                    .map_err(|e| err(format!("has an invalid character reference: {e}")))?;
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&text);
                }
            }
            Ok(Event::CData(c)) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Ok(Event::DocType(_)) => return Err(err("must not contain a DOCTYPE")),
            Ok(Event::PI(_)) | Ok(Event::Decl(_)) | Ok(Event::Comment(_)) => {}
        }
    }
    let root = root.ok_or_else(|| err("is not well-formed XML"))?;
    if !stack.is_empty() {
        return Err(err("is not well-formed XML"));
    }
    if !root.text.trim().is_empty() {
        return Err(err("has text outside of an element"));
    }
    Ok(root.children)
}

fn leaf_fields(parent: &Node) -> Result<BTreeMap<String, String>, FieldError> {
    let mut fields = BTreeMap::new();
    for c in &parent.children {
        if !c.children.is_empty() {
            return Err(err(format!("element <{}> must hold text, not elements", c.name)));
        }
        let key = c.name.to_ascii_lowercase();
        if fields.insert(key, c.text.trim().to_string()).is_some() {
            return Err(err(format!("element <{}> appears twice", c.name)));
        }
    }
    Ok(fields)
}

/// Parses either generation. Field-level rules per source type live in `video_source`.
pub fn parse(xml: &str) -> Result<TypeConfig, FieldError> {
    if xml.trim().is_empty() || xml.len() > MAX_LEN {
        return Err(err(format!("must be 1 to {MAX_LEN} characters")));
    }
    let nodes = parse_nodes(xml)?;
    match nodes.as_slice() {
        [only] if only.name == "type_config" => Ok(TypeConfig {
            generation: Generation::Two,
            declared_type: None,
            fields: leaf_fields(only)?,
        }),
        _ => {
            let ty = nodes.iter().find(|n| n.name.eq_ignore_ascii_case("type"));
            let cfg = nodes.iter().find(|n| n.name.eq_ignore_ascii_case("config"));
            match (ty, cfg, nodes.len()) {
                (Some(t), Some(c), 2) if t.children.is_empty() => Ok(TypeConfig {
                    generation: Generation::One,
                    declared_type: Some(t.text.trim().to_string()),
                    fields: leaf_fields(c)?,
                }),
                _ => Err(err(
                    "must be <type_config>…</type_config> or <type>…</type><config>…</config>",
                )),
            }
        }
    }
}

/// Replaces the text of every `<password>` element (any case) with `******`, returning the masked
/// XML. Used so that stored and echoed `type_config` never carries a camera password.
pub fn mask_password(xml: &str) -> String {
    let lower = xml.to_ascii_lowercase();
    let mut out = String::with_capacity(xml.len());
    let mut pos = 0;
    while let Some(open_rel) = lower[pos..].find("<password>") {
        let open_end = pos + open_rel + "<password>".len();
        let Some(close_rel) = lower[open_end..].find("</password>") else {
            break;
        };
        out.push_str(&xml[pos..open_end]);
        if close_rel > 0 {
            out.push_str(MASK);
        }
        pos = open_end + close_rel;
    }
    out.push_str(&xml[pos..]);
    out
}

/// What a masked password reads as.
pub const MASK: &str = "******";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_generations() {
        let g2 = parse("<type_config> <url_address>rtsp://12.12.12.12:333</url_address> </type_config>").unwrap();
        assert_eq!(g2.generation, Generation::Two);
        assert_eq!(g2.get("url_address"), Some("rtsp://12.12.12.12:333"));
        let g1 = parse("<type>URL</type><config><URL_ADDRESS>rtsp://a/b?x=1&amp;y=2</URL_ADDRESS></config>").unwrap();
        assert_eq!(g1.generation, Generation::One);
        assert_eq!(g1.declared_type.as_deref(), Some("URL"));
        assert_eq!(g1.get("url_address"), Some("rtsp://a/b?x=1&y=2"));
    }

    #[test]
    fn odd_xml_is_refused_not_panicked() {
        for bad in [
            "",
            "<type_config>",
            "<type_config><a><b>x</b></a></type_config>",
            "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><type_config><url_address>&e;</url_address></type_config>",
            "<type_config><url_address>&unknown;</url_address></type_config>",
            "text<type_config/>",
            "<a/><b/>",
            "<type_config><x>1</x><x>2</x></type_config>",
            "</type_config>",
            "<type_config><url_address>\u{0}</url_address>",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.param, "type_config", "{bad}");
        }
        assert!(parse(&"x".repeat(2000)).is_err());
    }

    #[test]
    fn masks_passwords_in_any_case() {
        let m = mask_password("<type_config><user_name>u</user_name><password>s3cr3t</password></type_config>");
        assert!(!m.contains("s3cr3t") && m.contains("<password>******</password>"));
        let m1 = mask_password("<type>VCN</type><config><PASSWORD>p</PASSWORD></config>");
        assert_eq!(m1, "<type>VCN</type><config><PASSWORD>******</PASSWORD></config>");
        assert_eq!(mask_password("<password></password>"), "<password></password>");
    }
}
