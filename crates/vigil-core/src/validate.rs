//! Field rules shared by the VIAS request bodies (spec §2–§5).

use crate::FieldError;

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fa5}').contains(&c)
}

/// Video source name: 1–100 chars of Chinese, letters, digits, space and `.-_()（）`, no
/// leading/trailing space.
pub fn source_name(param: &str, s: &str) -> Result<(), FieldError> {
    let n = s.chars().count();
    if !(1..=100).contains(&n) {
        return Err(FieldError::invalid(param, "must be 1 to 100 characters"));
    }
    if s.starts_with(' ') || s.ends_with(' ') {
        return Err(FieldError::invalid(param, "must not start or end with a space"));
    }
    if let Some(c) = s
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || is_cjk(c) || " .-_()（）".contains(c)))
    {
        return Err(FieldError::invalid(param, format!("character {c:?} is not allowed")));
    }
    Ok(())
}

/// Video group name: 1–20 chars of Chinese, letters, digits, `-` and `_`.
pub fn group_name(param: &str, s: &str) -> Result<(), FieldError> {
    let n = s.chars().count();
    if !(1..=20).contains(&n) {
        return Err(FieldError::invalid(param, "must be 1 to 20 characters"));
    }
    if let Some(c) = s
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || is_cjk(c) || c == '-' || c == '_'))
    {
        return Err(FieldError::invalid(param, format!("character {c:?} is not allowed")));
    }
    Ok(())
}

/// Task (job) name: 1–100 chars of Chinese, letters, digits, `-`, `_`.
pub fn task_name(param: &str, s: &str) -> Result<(), FieldError> {
    let n = s.chars().count();
    if !(1..=100).contains(&n) {
        return Err(FieldError::invalid(param, "must be 1 to 100 characters"));
    }
    if let Some(c) = s
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || is_cjk(c) || c == '-' || c == '_'))
    {
        return Err(FieldError::invalid(param, format!("character {c:?} is not allowed")));
    }
    Ok(())
}

/// Tags: at most 4, each 1–10 chars of Chinese, letters, digits, `-`, `_`.
pub fn tags(param: &str, tags: &[String]) -> Result<(), FieldError> {
    if tags.len() > 4 {
        return Err(FieldError::invalid(param, "at most 4 tags"));
    }
    for (i, t) in tags.iter().enumerate() {
        let n = t.chars().count();
        let ok_chars = t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || is_cjk(c) || c == '-' || c == '_');
        if !(1..=10).contains(&n) || !ok_chars {
            return Err(FieldError::invalid(
                format!("{param}[{i}]"),
                "each tag is 1 to 10 characters of Chinese, letters, digits, '-' or '_'",
            ));
        }
    }
    Ok(())
}

/// Latitude/longitude: empty, or a decimal string within ±limit.
pub fn coordinate(param: &str, s: &str, limit: f64) -> Result<(), FieldError> {
    if s.is_empty() {
        return Ok(());
    }
    let ok_form = s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
    match s.parse::<f64>() {
        Ok(v) if ok_form && v.is_finite() && v.abs() <= limit => Ok(()),
        _ => Err(FieldError::invalid(
            param,
            format!("must be a decimal number between -{limit} and {limit}"),
        )),
    }
}

/// A list of resource ids (`^[a-z0-9_-]{4,36}$`).
pub fn resource_ids(param: &str, ids: &[String]) -> Result<(), FieldError> {
    for (i, id) in ids.iter().enumerate() {
        if !crate::ids::is_resource_id(id) {
            return Err(FieldError::invalid(
                format!("{param}[{i}]"),
                "must match ^[a-z0-9_-]{4,36}$",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(source_name("n", "Gate 1 (east)").is_ok());
        assert!(source_name("n", "东门（一）").is_ok());
        assert!(source_name("n", " x").is_err());
        assert!(source_name("n", "").is_err());
        assert!(source_name("n", "a/b").is_err());
        assert!(source_name("n", &"a".repeat(101)).is_err());
        assert!(group_name("g", "east_gate-2").is_ok());
        assert!(group_name("g", "a b").is_err());
        assert!(group_name("g", &"a".repeat(21)).is_err());
    }

    #[test]
    fn tags_and_coordinates() {
        assert!(tags("tag", &["gate".into()]).is_ok());
        assert_eq!(
            tags("tag", &["ok".into(), "bad tag".into()]).unwrap_err().param,
            "tag[1]"
        );
        assert!(tags("tag", &vec!["a".to_string(); 5]).is_err());
        assert!(coordinate("latitude", "", 90.0).is_ok());
        assert!(coordinate("latitude", "-89.12345", 90.0).is_ok());
        assert!(coordinate("latitude", "91", 90.0).is_err());
        assert!(coordinate("longitude", "1e2", 180.0).is_err());
        assert!(coordinate("longitude", "abc", 180.0).is_err());
    }
}
