//! Task schedules: VIAS `schedule` (weekly) and legacy `timing` (daily/weekly) — days, time
//! windows and a time zone — parsed into a type that answers "should the task run now?".

use chrono::{DateTime, Datelike, FixedOffset, NaiveTime, TimeZone, Utc};
use serde_json::Value;

use crate::FieldError;

#[derive(Debug, Clone, PartialEq)]
pub enum Zone {
    Iana(chrono_tz::Tz),
    Fixed(FixedOffset),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// ISO weekdays 1 (Monday) … 7 (Sunday) on which windows open; all seven for daily.
    pub days: Vec<u32>,
    pub zone: Zone,
    /// Windows as (begin, end) local times; `end <= begin` runs past midnight.
    pub periods: Vec<(NaiveTime, NaiveTime)>,
}

fn parse_time(param: &str, s: &str) -> Result<NaiveTime, FieldError> {
    NaiveTime::parse_from_str(s, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .map_err(|_| FieldError::invalid(param, "must be a time hh:mm:ss"))
}

/// `GMT+08:00`, `UTC-5`, `+05:30`, or an IANA name such as `Asia/Shanghai`. Absent: UTC.
pub fn parse_zone(param: &str, s: Option<&str>) -> Result<Zone, FieldError> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Zone::Iana(chrono_tz::UTC));
    };
    if let Ok(tz) = s.parse::<chrono_tz::Tz>() {
        return Ok(Zone::Iana(tz));
    }
    let rest = s.trim_start_matches("GMT").trim_start_matches("UTC");
    let bad = || {
        FieldError::invalid(
            param,
            "must be an IANA zone (Asia/Shanghai) or an offset such as GMT+08:00",
        )
    };
    let (sign, digits) = match rest.chars().next() {
        Some('+') => (1, &rest[1..]),
        Some('-') => (-1, &rest[1..]),
        None => (1, "0"),
        _ => return Err(bad()),
    };
    let (h, m) = digits.split_once(':').unwrap_or((digits, "0"));
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
        .map(Zone::Fixed)
        .ok_or_else(bad)
}

fn periods(param: &str, v: Option<&Value>) -> Result<Vec<(NaiveTime, NaiveTime)>, FieldError> {
    let list = v
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| FieldError::invalid(param, "at least one period is required"))?;
    if list.len() > 96 {
        return Err(FieldError::invalid(param, "at most 96 periods"));
    }
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            let at = format!("{param}[{i}]");
            let (b, e) = match p {
                Value::Array(pair) if pair.len() == 2 => (pair[0].as_str(), pair[1].as_str()),
                Value::Object(o) => (
                    o.get("begin_at").and_then(Value::as_str),
                    o.get("end_at").and_then(Value::as_str),
                ),
                _ => (None, None),
            };
            let (Some(b), Some(e)) = (b, e) else {
                return Err(FieldError::invalid(
                    at,
                    "must be [\"hh:mm:ss\", \"hh:mm:ss\"] or {begin_at, end_at}",
                ));
            };
            let (b, e) = (
                parse_time(&format!("{at}.begin_at"), b)?,
                parse_time(&format!("{at}.end_at"), e)?,
            );
            if b == e {
                return Err(FieldError::invalid(at, "begin and end must differ"));
            }
            Ok((b, e))
        })
        .collect()
}

fn days(param: &str, v: Option<&Value>) -> Result<Vec<u32>, FieldError> {
    let list = v
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty() && a.len() <= 7)
        .ok_or_else(|| FieldError::invalid(param, "1 to 7 days (1 = Monday … 7 = Sunday) are required"))?;
    let mut out = Vec::new();
    for d in list {
        match d.as_u64() {
            Some(n @ 1..=7) if !out.contains(&(n as u32)) => out.push(n as u32),
            _ => return Err(FieldError::invalid(param, "days are distinct integers 1 to 7")),
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Parses a schedule object; `field` is `schedule` or (legacy) `timing`.
pub fn parse(field: &str, v: &Value) -> Result<Schedule, FieldError> {
    let o = v
        .as_object()
        .ok_or_else(|| FieldError::invalid(field, "must be an object"))?;
    let kind = o.get("type").and_then(Value::as_str).unwrap_or("weekly");
    let days = match kind {
        "weekly" => days(&format!("{field}.days_of_week"), o.get("days_of_week"))?,
        "daily" if field == "timing" => (1..=7).collect(),
        "monthly" | "once" | "daily" => {
            return Err(FieldError::invalid(
                format!("{field}.type"),
                format!("{kind} schedules are not supported; use weekly"),
            ))
        }
        _ => return Err(FieldError::invalid(format!("{field}.type"), "must be weekly")),
    };
    if o.get("frequency").is_some_and(|f| !f.is_null()) {
        return Err(FieldError::invalid(
            format!("{field}.frequency"),
            "frequency mode is not supported; use periods",
        ));
    }
    Ok(Schedule {
        days,
        zone: parse_zone(&format!("{field}.timezone"), o.get("timezone").and_then(Value::as_str))?,
        periods: periods(&format!("{field}.periods"), o.get("periods"))?,
    })
}

impl Schedule {
    /// Whether a window is open at `now`.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        let (weekday, yesterday, time) = match &self.zone {
            Zone::Iana(tz) => local_parts(tz.from_utc_datetime(&now.naive_utc())),
            Zone::Fixed(off) => local_parts(off.from_utc_datetime(&now.naive_utc())),
        };
        self.periods.iter().any(|&(b, e)| {
            if b < e {
                self.days.contains(&weekday) && time >= b && time < e
            } else {
                (self.days.contains(&weekday) && time >= b) || (self.days.contains(&yesterday) && time < e)
            }
        })
    }
}

fn local_parts<T: TimeZone>(t: DateTime<T>) -> (u32, u32, NaiveTime) {
    let wd = t.weekday().number_from_monday();
    let yesterday = if wd == 1 { 7 } else { wd - 1 };
    (wd, yesterday, t.time())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn weekly_windows_in_a_zone() {
        // Mondays to Fridays, 08:00–18:00 in Shanghai (UTC+8).
        let s = parse(
            "schedule",
            &json!({"type": "weekly", "timezone": "GMT+08:00", "days_of_week": [1,2,3,4,5],
            "periods": [["08:00:00", "18:00:00"]]}),
        )
        .unwrap();
        assert!(s.is_active_at(at("2026-11-30T01:00:00Z")), "Monday 09:00 local");
        assert!(!s.is_active_at(at("2026-11-30T11:00:00Z")), "Monday 19:00 local");
        assert!(!s.is_active_at(at("2026-11-29T01:00:00Z")), "Sunday");
        let iana = parse("schedule", &json!({"timezone": "Asia/Shanghai", "days_of_week": [1], "periods": [{"begin_at": "08:00", "end_at": "09:00"}]})).unwrap();
        assert!(iana.is_active_at(at("2026-11-30T00:30:00Z")));
    }

    #[test]
    fn overnight_and_legacy_daily() {
        let s = parse(
            "timing",
            &json!({"type": "daily", "periods": [{"begin_at": "22:00:00", "end_at": "06:00:00"}]}),
        )
        .unwrap();
        assert!(s.is_active_at(at("2026-11-30T23:00:00Z")));
        assert!(s.is_active_at(at("2026-11-30T05:00:00Z")));
        assert!(!s.is_active_at(at("2026-11-30T12:00:00Z")));
    }

    #[test]
    fn errors_name_the_field() {
        let e = |v| parse("schedule", &v).unwrap_err().param;
        assert_eq!(
            e(json!({"days_of_week": [], "periods": [["08:00:00","09:00:00"]]})),
            "schedule.days_of_week"
        );
        assert_eq!(
            e(json!({"days_of_week": [8], "periods": [["08:00:00","09:00:00"]]})),
            "schedule.days_of_week"
        );
        assert_eq!(e(json!({"days_of_week": [1], "periods": []})), "schedule.periods");
        assert_eq!(
            e(json!({"days_of_week": [1], "periods": [["8","9"]]})),
            "schedule.periods[0].begin_at"
        );
        assert_eq!(e(json!({"type": "monthly", "days_of_month": [1]})), "schedule.type");
        assert_eq!(
            e(json!({"days_of_week": [1], "timezone": "Mars/Base", "periods": [["08:00","09:00"]]})),
            "schedule.timezone"
        );
        assert_eq!(e(json!("weekly")), "schedule");
    }
}
