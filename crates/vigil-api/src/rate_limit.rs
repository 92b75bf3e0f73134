//! Per-project fixed-window rate limiting with the VIAS headers (spec §1.5): `X-ratelimit` (quota),
//! `X-ratelimit-used` (requests still available — the docs' wording) and `X-ratelimit-window`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Minute,
    Hour,
    Day,
}

impl Window {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "minute" => Some(Window::Minute),
            "hour" => Some(Window::Hour),
            "day" => Some(Window::Day),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Minute => "minute",
            Window::Hour => "hour",
            Window::Day => "day",
        }
    }

    fn duration(self) -> Duration {
        match self {
            Window::Minute => Duration::from_secs(60),
            Window::Hour => Duration::from_secs(3600),
            Window::Day => Duration::from_secs(86_400),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub quota: u64,
    pub window: Window,
}

/// Outcome of counting one request.
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    pub allowed: bool,
    pub limit: RateLimit,
    pub remaining: u64,
}

impl Decision {
    pub fn write_headers(&self, h: &mut HeaderMap) {
        h.insert("X-ratelimit", HeaderValue::from(self.limit.quota));
        h.insert("X-ratelimit-used", HeaderValue::from(self.remaining));
        h.insert(
            "X-ratelimit-window",
            HeaderValue::from_static(self.limit.window.as_str()),
        );
    }
}

pub struct Limiter {
    limit: Option<RateLimit>,
    windows: Mutex<HashMap<String, (Instant, u64)>>,
}

impl Limiter {
    pub fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `project`; `None` when rate limiting is off.
    pub fn check(&self, project: &str) -> Option<Decision> {
        let limit = self.limit?;
        let now = Instant::now();
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(project.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= limit.window.duration() {
            *entry = (now, 0);
        }
        let allowed = entry.1 < limit.quota;
        if allowed {
            entry.1 += 1;
        }
        Some(Decision {
            allowed,
            limit,
            remaining: limit.quota.saturating_sub(entry.1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_project_and_refuses_over_quota() {
        let l = Limiter::new(Some(RateLimit {
            quota: 2,
            window: Window::Hour,
        }));
        assert_eq!(l.check("a").unwrap().remaining, 1);
        assert!(l.check("a").unwrap().allowed);
        let third = l.check("a").unwrap();
        assert!(!third.allowed);
        assert_eq!(third.remaining, 0);
        assert!(l.check("b").unwrap().allowed);
        assert!(Limiter::new(None).check("a").is_none());
    }
}
