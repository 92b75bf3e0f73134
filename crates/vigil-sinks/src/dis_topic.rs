//! The topic a `dis` output's alarms go to, for every broker behind `dis` (MQTT, Kafka).

use vigil_core::alarm::DisOutput;

use crate::{AlarmPayload, SinkError};

/// `^[-A-Za-z0-9_]{1,64}$` (spec §5.4): also keeps MQTT wildcards and levels out of topics and
/// is a valid Kafka topic name.
pub fn valid_stream_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `{prefix}{stream_name}` of the payload's `dis` settings; a bad stream name is permanent.
pub fn dis_topic(p: &AlarmPayload, prefix: &str) -> Result<String, SinkError> {
    let out: DisOutput = p.settings()?;
    if !valid_stream_name(&out.stream_name) {
        return Err(SinkError::Permanent(format!(
            "dis stream_name {:?} must match ^[-A-Za-z0-9_]{{1,64}}$",
            out.stream_name
        )));
    }
    Ok(format!("{prefix}{}", out.stream_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names() {
        assert!(valid_stream_name("alarms-1_a"));
        assert!(!valid_stream_name("a/#"));
        assert!(!valid_stream_name(""));
        assert!(!valid_stream_name(&"a".repeat(65)));
    }
}
