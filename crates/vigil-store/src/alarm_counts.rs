//! Exact alarm counters per project and hour (`alarm_counts`): ListAlarms' `total` for no filter
//! or one id filter, with or without a time range, without reading the alarms (COUNT(*) over a
//! million rows costs tens to hundreds of ms). Every write that adds, removes or re-reviews alarm
//! rows changes them in its own transaction.
//!
//! Key (`project_id`, `dim`, `val`, `hour`): dimensions `all` `''`, `task` task id, `source`
//! video source id (rows without one are not counted there), `event` event type as decimal text,
//! `review` review state; `hour` is the alarm's `alarm_time / 3600` (epoch hours, alarm times are
//! never negative). Dimension `minute` `''` counts every alarm per minute instead (`hour` then
//! holds `alarm_time / 60`): a time range without id filter counts the whole minutes of its partial
//! end hours from it, so it reads at most two partial minutes of rows (an hour of a busy project
//! is thousands). Rows whose count falls to 0 are removed, so the table holds only hours (minutes)
//! that have alarms.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::Any;

use crate::alarms::AlarmFilter;
use crate::rows::{i, opt_s, s};
use crate::sql_filter::Arg;
use crate::StoreError;

/// The columns [`CountDeltas::add_row`] reads (e.g. in a `RETURNING`).
pub(crate) const COUNTED_COLS: &str = "project_id, task_id, video_source_id, event_type, review_state, alarm_time";

/// Seconds per counter bucket.
const HOUR_S: i64 = 3600;
/// Seconds per bucket of the `minute` dimension.
const MINUTE_S: i64 = 60;

/// Counter rows per statement (5 bind parameters each).
const ROWS_PER_STATEMENT: usize = 200;

/// The counter bucket of an alarm time; the same as the SQL `alarm_time / 3600` of migration
/// 0010 for the non-negative times stored (both backends truncate, which is flooring there).
pub(crate) fn hour_of(alarm_time: i64) -> i64 {
    alarm_time.div_euclid(HOUR_S)
}

/// One counter row: (project, dim, val, hour).
type Key = (String, &'static str, String, i64);

/// Pending changes of the counters, applied at once by [`CountDeltas::apply`]. Keys are ordered
/// `(project, dim, val, hour)`, so every transaction updates counter rows in one global order and
/// two of them never wait on each other in a cycle.
#[derive(Debug, Default)]
pub(crate) struct CountDeltas(BTreeMap<Key, i64>);

impl CountDeltas {
    fn bump(&mut self, project_id: &str, dim: &'static str, val: &str, hour: i64, by: i64) {
        *self
            .0
            .entry((project_id.to_string(), dim, val.to_string(), hour))
            .or_default() += by;
    }

    /// One alarm row added (`by` = 1) or removed (`by` = -1).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add(
        &mut self,
        project_id: &str,
        task_id: &str,
        video_source_id: Option<&str>,
        event_type: i64,
        review_state: &str,
        alarm_time: i64,
        by: i64,
    ) {
        let h = hour_of(alarm_time);
        self.bump(project_id, "all", "", h, by);
        self.bump(project_id, "task", task_id, h, by);
        if let Some(v) = video_source_id {
            self.bump(project_id, "source", v, h, by);
        }
        self.bump(project_id, "event", &event_type.to_string(), h, by);
        self.bump(project_id, "review", review_state, h, by);
        self.bump(project_id, "minute", "", alarm_time.div_euclid(MINUTE_S), by);
    }

    /// [`Self::add`] for a row read with [`COUNTED_COLS`].
    pub(crate) fn add_row(&mut self, r: &AnyRow, by: i64) -> Result<(), StoreError> {
        self.add(
            &s(r, "project_id")?,
            &s(r, "task_id")?,
            opt_s(r, "video_source_id")?.as_deref(),
            i(r, "event_type")?,
            &s(r, "review_state")?,
            i(r, "alarm_time")?,
            by,
        );
        Ok(())
    }

    /// The review state of an alarm at `alarm_time` changed.
    pub(crate) fn review_moved(&mut self, project_id: &str, alarm_time: i64, from: &str, to: &str) {
        let h = hour_of(alarm_time);
        self.bump(project_id, "review", from, h, -1);
        self.bump(project_id, "review", to, h, 1);
    }

    /// Writes the changes (upserts) inside the caller's transaction, then removes the rows they
    /// brought to 0 (only rows this transaction already holds, so no new lock waits).
    pub(crate) async fn apply(self, tx: &mut sqlx::Transaction<'_, Any>) -> Result<(), StoreError> {
        let changes: Vec<_> = self.0.into_iter().filter(|(_, n)| *n != 0).collect();
        for chunk in changes.chunks(ROWS_PER_STATEMENT) {
            let values = (0..chunk.len())
                .map(|r| {
                    let b = r * 5;
                    format!("(${},${},${},${},${})", b + 1, b + 2, b + 3, b + 4, b + 5)
                })
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!(
                "INSERT INTO alarm_counts (project_id, dim, val, hour, n) VALUES {values} ON CONFLICT \
                 (project_id, dim, val, hour) DO UPDATE SET n = alarm_counts.n + excluded.n"
            );
            let mut q = sqlx::query(&sql);
            for ((project, dim, val, hour), n) in chunk {
                q = q
                    .bind(project.clone())
                    .bind(dim.to_string())
                    .bind(val.clone())
                    .bind(*hour)
                    .bind(*n);
            }
            q.execute(&mut **tx).await?;
            let fell: Vec<&Key> = chunk.iter().filter(|(_, n)| *n < 0).map(|(k, _)| k).collect();
            if !fell.is_empty() {
                remove_zeros(tx, &fell).await?;
            }
        }
        Ok(())
    }
}

/// Deletes those of `keys` whose count is 0.
async fn remove_zeros(tx: &mut sqlx::Transaction<'_, Any>, keys: &[&Key]) -> Result<(), StoreError> {
    let any = (0..keys.len())
        .map(|r| {
            let b = r * 4;
            format!(
                "(project_id = ${} AND dim = ${} AND val = ${} AND hour = ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!("DELETE FROM alarm_counts WHERE n = 0 AND ({any})");
    let mut q = sqlx::query(&sql);
    for (project, dim, val, hour) in keys {
        q = q
            .bind(project.clone())
            .bind(dim.to_string())
            .bind(val.clone())
            .bind(*hour);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// The counter holding the number of alarms matching the id filters of `f`, when one does: none,
/// or exactly one of task, source, event type and review state (a time range may come with it).
pub(crate) fn counter_for(f: &AlarmFilter) -> Option<(&'static str, String)> {
    let set: Vec<(&'static str, String)> = [
        f.task_id.clone().map(|v| ("task", v)),
        f.video_source_id.clone().map(|v| ("source", v)),
        f.event_type.map(|v| ("event", v.to_string())),
        f.review_state.clone().map(|v| ("review", v)),
    ]
    .into_iter()
    .flatten()
    .collect();
    match set.len() {
        0 => Some(("all", String::new())),
        1 => set.into_iter().next(),
        _ => None,
    }
}

/// How a time range `[start, end]` (inclusive, open where `None`) splits into whole counter
/// buckets and the partial buckets at its ends, which are counted otherwise.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BucketSplit {
    /// Whole buckets `[first, last]` (inclusive; `last` open where `None`).
    pub(crate) buckets: (i64, Option<i64>),
    /// Second ranges `[from, to]` (inclusive) before and after the whole buckets.
    pub(crate) partial: Vec<(i64, i64)>,
}

/// The split of `[start, end]` into buckets of `size` seconds; `None` when the range holds no
/// whole bucket (it then spans at most two partial ones).
pub(crate) fn split_buckets(start: Option<i64>, end: Option<i64>, size: i64) -> Option<BucketSplit> {
    // Alarm times are never negative (and an end at i64::MAX is no end).
    let start = start.unwrap_or(0).max(0);
    let end = end.filter(|e| *e < i64::MAX);
    let first = start.div_euclid(size) + i64::from(start % size != 0);
    // The last bucket whose final second is inside the range.
    let last = end.map(|e| (e + 1).div_euclid(size) - 1);
    if last.is_some_and(|l| l < first) {
        return None;
    }
    let mut partial = Vec::new();
    if start < first * size {
        partial.push((start, first * size - 1));
    }
    if let (Some(e), Some(l)) = (end, last) {
        if e >= (l + 1) * size {
            partial.push(((l + 1) * size, e));
        }
    }
    Some(BucketSplit {
        buckets: (first, last),
        partial,
    })
}

/// The statement that counts the alarms of the project matching `f` from the counters: the sum of
/// the counter's whole hours in the range, plus for each partial hour at its ends an exact COUNT
/// over the filter's index (at most an hour of that filter's rows) or, without id filter, the
/// `minute` counters of its whole minutes and an exact COUNT of at most two partial minutes.
/// `id_cond`/`id_args` are the project and id filters of `f` without its times (`$1` the
/// project). One statement, so the counters and the rows are read at one instant. `None` when `f`
/// has no counter or its range holds no whole hour.
pub(crate) fn counted_total(f: &AlarmFilter, id_cond: &str, id_args: &[Arg]) -> Option<(String, Vec<Arg>)> {
    let (dim, val) = counter_for(f)?;
    // No range: every hour (all are >= 0).
    let split = split_buckets(f.start_time, f.end_time, HOUR_S)?;
    // Row counts of second ranges, each with a whole-minutes sum where it has whole minutes.
    let mut counted = Vec::new();
    let mut minutes = Vec::new();
    for (from, to) in split.partial {
        match split_buckets(Some(from), Some(to), MINUTE_S).filter(|_| dim == "all") {
            Some(m) => {
                minutes.push(m.buckets);
                counted.extend(m.partial);
            }
            None => counted.push((from, to)),
        }
    }
    // The id filters' values only where a row count uses them: PostgreSQL refuses a bind
    // parameter the statement never mentions ($1, the project, always is).
    let mut args = if counted.is_empty() {
        id_args[..1].to_vec()
    } else {
        id_args.to_vec()
    };
    let mut arg = |v: Arg| {
        args.push(v);
        format!("${}", args.len())
    };
    let mut sum = |dim: &str, val: String, (lo, hi): (i64, Option<i64>)| {
        let (d, v, lo) = (arg(Arg::S(dim.to_string())), arg(Arg::S(val)), arg(Arg::I(lo)));
        let mut sql = format!(
            "(SELECT COALESCE(SUM(n), 0) FROM alarm_counts WHERE project_id = $1 AND dim = {d} AND val = {v} \
             AND hour >= {lo}"
        );
        if let Some(hi) = hi {
            sql += &format!(" AND hour <= {}", arg(Arg::I(hi)));
        }
        sql + ")"
    };
    let mut parts = vec![sum(dim, val, split.buckets)];
    parts.extend(minutes.into_iter().map(|m| sum("minute", String::new(), m)));
    for (from, to) in counted {
        let (a, b) = (arg(Arg::I(from)), arg(Arg::I(to)));
        parts.push(format!(
            "(SELECT COUNT(*) FROM alarms WHERE {id_cond} AND alarm_time >= {a} AND alarm_time <= {b})"
        ));
    }
    // CAST: SQLite's SUM of an empty set through COALESCE stays integer, PostgreSQL's is NUMERIC.
    Some((format!("SELECT CAST({} AS BIGINT)", parts.join(" + ")), args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_into_whole_and_partial_hours() {
        let h = HOUR_S;
        let split = |s, e| split_buckets(s, e, HOUR_S);
        // Partial hours at both ends.
        assert_eq!(
            split(Some(10 * h + 5), Some(13 * h + 7)),
            Some(BucketSplit {
                buckets: (11, Some(12)),
                partial: vec![(10 * h + 5, 11 * h - 1), (13 * h, 13 * h + 7)],
            })
        );
        // Aligned ends: whole hours only.
        assert_eq!(
            split(Some(10 * h), Some(13 * h - 1)),
            Some(BucketSplit {
                buckets: (10, Some(12)),
                partial: vec![],
            })
        );
        // One whole hour; open ends.
        assert_eq!(split(Some(10 * h), Some(11 * h - 1)).unwrap().buckets, (10, Some(10)));
        assert_eq!(
            split(Some(10 * h + 1), None),
            Some(BucketSplit {
                buckets: (11, None),
                partial: vec![(10 * h + 1, 11 * h - 1)],
            })
        );
        assert_eq!(
            split(None, Some(10 * h)),
            Some(BucketSplit {
                buckets: (0, Some(9)),
                partial: vec![(10 * h, 10 * h)],
            })
        );
        // No whole hour inside: counted from the rows.
        assert_eq!(split(Some(10 * h + 1), Some(11 * h + 5)), None);
        assert_eq!(split(Some(10 * h), Some(11 * h - 2)), None);
        assert_eq!(split(Some(5 * h), Some(2 * h)), None);
        assert_eq!(split(None, Some(-1)), None);
        assert_eq!(split(None, None).unwrap().buckets, (0, None));
        assert_eq!(split(Some(-5), Some(i64::MAX)).unwrap().buckets, (0, None));
    }

    #[test]
    fn partial_hours_without_filter_count_whole_minutes() {
        let h = HOUR_S;
        let f = AlarmFilter {
            start_time: Some(10 * h + 61),
            end_time: Some(13 * h + 1000),
            ..Default::default()
        };
        let (sql, args) = counted_total(&f, "project_id = $1", &[Arg::S("p".into())]).unwrap();
        // Hours 11-12, minutes 602-659 and 780-795, rows of 10:01:01-10:01:59 and 13:16:40.
        assert_eq!(sql.matches("FROM alarm_counts").count(), 3, "{sql}");
        assert_eq!(sql.matches("FROM alarms").count(), 2, "{sql}");
        let ints: Vec<i64> = args
            .iter()
            .filter_map(|a| match a {
                Arg::I(v) => Some(*v),
                Arg::S(_) => None,
            })
            .collect();
        assert_eq!(
            ints,
            vec![
                11,
                12,
                602,
                659,
                780,
                795,
                10 * h + 61,
                10 * h + 119,
                13 * h + 960,
                13 * h + 1000
            ]
        );
        // With an id filter the partial hours are counted from the rows.
        let f = AlarmFilter {
            task_id: Some("t".into()),
            ..f
        };
        let (sql, _) = counted_total(
            &f,
            "project_id = $1 AND task_id = $2",
            &[Arg::S("p".into()), Arg::S("t".into())],
        )
        .unwrap();
        assert_eq!(sql.matches("FROM alarm_counts").count(), 1, "{sql}");
        assert_eq!(sql.matches("FROM alarms").count(), 2, "{sql}");
    }
}
