//! The topic a `dis` output's alarms go to, for every broker behind `dis` (MQTT, Kafka).
//!
//! Topics are per project: `{prefix}{pattern}` with `{project_id}` and `{stream_name}` filled
//! in, by default `vigil/{project_id}/{stream_name}` (MQTT) and `vigil.{project_id}.{stream_name}`
//! (Kafka). The pattern must name `{project_id}` before `{stream_name}`, and stream names hold no
//! level separator, wildcard or dot, so a tenant's topics all lie under its project's prefix.

use vigil_core::alarm::DisOutput;

use crate::{AlarmPayload, SinkError};

pub const DEFAULT_MQTT_PATTERN: &str = "vigil/{project_id}/{stream_name}";
pub const DEFAULT_KAFKA_PATTERN: &str = "vigil.{project_id}.{stream_name}";

const PROJECT: &str = "{project_id}";
const STREAM: &str = "{stream_name}";

/// `^[-A-Za-z0-9_]{1,64}$` (spec §5.4): no MQTT level separator or wildcard, no `..`, no Kafka
/// separator dot; also the rule for project ids put into topics.
pub fn valid_stream_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which broker's topic syntax applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicSyntax {
    Mqtt,
    Kafka,
}

/// The server's topic layout: a fixed prefix and a pattern, checked once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPattern {
    prefix: String,
    pattern: String,
}

impl TopicPattern {
    /// Checks `prefix` + `pattern` for `syntax`: `{project_id}` present (and before
    /// `{stream_name}` when that is used), no other placeholder, only characters the broker allows.
    pub fn new(prefix: &str, pattern: &str, syntax: TopicSyntax) -> Result<Self, String> {
        let p = TopicPattern {
            prefix: prefix.to_string(),
            pattern: pattern.to_string(),
        };
        let Some(at_project) = pattern.find(PROJECT) else {
            return Err(format!("topic pattern {pattern:?} must contain {PROJECT}"));
        };
        if pattern.find(STREAM).is_some_and(|at_stream| at_stream < at_project) {
            return Err(format!(
                "topic pattern {pattern:?}: {PROJECT} must come before {STREAM}"
            ));
        }
        let sample = p.render("p", "s");
        if sample.contains(['{', '}']) {
            return Err(format!("topic pattern {pattern:?} may only use {PROJECT} and {STREAM}"));
        }
        let ok = match syntax {
            TopicSyntax::Mqtt => {
                !sample.starts_with('$')
                    && !sample.chars().any(|c| matches!(c, '+' | '#' | '\0') || c.is_control())
                    && sample.len() <= 60_000
            }
            TopicSyntax::Kafka => {
                sample.len() <= 120
                    && sample
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
            }
        };
        if !ok {
            let allowed = match syntax {
                TopicSyntax::Mqtt => "no '+', '#', control characters or leading '$'",
                TopicSyntax::Kafka => "only letters, digits, '.', '_' and '-'",
            };
            return Err(format!("topic prefix {prefix:?} and pattern {pattern:?}: {allowed}"));
        }
        Ok(p)
    }

    fn render(&self, project_id: &str, stream_name: &str) -> String {
        format!(
            "{}{}",
            self.prefix,
            self.pattern.replace(PROJECT, project_id).replace(STREAM, stream_name)
        )
    }

    /// Everything of a project's topics up to the stream name: all its topics start with it.
    pub fn project_prefix(&self, project_id: &str) -> String {
        let head = match self.pattern.find(STREAM) {
            Some(at) => &self.pattern[..at],
            None => &self.pattern,
        };
        format!("{}{}", self.prefix, head.replace(PROJECT, project_id))
    }

    /// The topic of `stream_name` in `project_id`; either failing the name rule is permanent.
    pub fn topic(&self, project_id: &str, stream_name: &str) -> Result<String, SinkError> {
        if !valid_stream_name(stream_name) {
            return Err(SinkError::Permanent(format!(
                "dis stream_name {stream_name:?} must match ^[-A-Za-z0-9_]{{1,64}}$"
            )));
        }
        if !valid_stream_name(project_id) {
            return Err(SinkError::Permanent(
                "the alarm's project id cannot name a topic".into(),
            ));
        }
        Ok(self.render(project_id, stream_name))
    }

    /// Whether `topic` lies under `project_id`'s prefix (Kafka creates only such topics).
    pub fn owns(&self, project_id: &str, topic: &str) -> bool {
        valid_stream_name(project_id) && topic.starts_with(&self.project_prefix(project_id))
    }
}

/// The topic of the payload's `dis` settings in the payload's project.
pub fn dis_topic(p: &AlarmPayload, pattern: &TopicPattern) -> Result<String, SinkError> {
    let out: DisOutput = p.settings()?;
    pattern.topic(&p.project_id, &out.stream_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names() {
        assert!(valid_stream_name("alarms-1_a"));
        for bad in ["a/#", "", "+", "#", "..", "a.b", "a/b", "$SYS", "a b"] {
            assert!(!valid_stream_name(bad), "{bad:?}");
        }
        assert!(!valid_stream_name(&"a".repeat(65)));
    }

    #[test]
    fn patterns_are_per_project() {
        let m = TopicPattern::new("", DEFAULT_MQTT_PATTERN, TopicSyntax::Mqtt).unwrap();
        assert_eq!(m.topic("p1", "alarms").unwrap(), "vigil/p1/alarms");
        assert_eq!(m.project_prefix("p1"), "vigil/p1/");
        assert!(m.owns("p1", "vigil/p1/alarms") && !m.owns("p2", "vigil/p1/alarms"));
        for escape in ["../p2/x", "a/b", "#", "+", "x/#"] {
            assert!(
                matches!(m.topic("p1", escape), Err(SinkError::Permanent(_))),
                "{escape}"
            );
        }
        assert!(m.topic("p/../x", "s").is_err());
        let k = TopicPattern::new("site1.", DEFAULT_KAFKA_PATTERN, TopicSyntax::Kafka).unwrap();
        assert_eq!(k.topic("p1", "alarms").unwrap(), "site1.vigil.p1.alarms");
        assert!(k.owns("p1", "site1.vigil.p1.alarms"));
        assert!(!k.owns("p1", "site1.vigil.p2.alarms"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(TopicPattern::new("", "vigil/{stream_name}", TopicSyntax::Mqtt).is_err());
        assert!(TopicPattern::new("", "{stream_name}/{project_id}", TopicSyntax::Mqtt).is_err());
        assert!(TopicPattern::new("", "v/{project_id}/#", TopicSyntax::Mqtt).is_err());
        assert!(TopicPattern::new("$SYS/", "{project_id}", TopicSyntax::Mqtt).is_err());
        assert!(TopicPattern::new("", "v/{project}/{project_id}", TopicSyntax::Mqtt).is_err());
        assert!(TopicPattern::new("", "vigil/{project_id}/{stream_name}", TopicSyntax::Kafka).is_err());
        assert!(TopicPattern::new("", "alarms.{project_id}", TopicSyntax::Kafka).is_ok());
    }
}
