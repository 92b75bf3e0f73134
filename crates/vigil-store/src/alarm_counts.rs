//! Exact alarm counters per project and hour (`alarm_counts`): ListAlarms' `total` for no filter
//! or one id filter, with or without a time range, without reading the alarms (COUNT(*) over a
//! million rows costs tens to hundreds of ms). Every write that adds, removes or re-reviews alarm
//! rows changes them in its own transaction.
//!
//! Key (`project_id`, `dim`, `val`, `hour`): dimensions `all` `''`, `task` task id, `source`
//! video source id (rows without one are not counted there), `event` event type as decimal text,
//! `review` review state; `hour` is the alarm's `alarm_time / 3600` (epoch hours, alarm times are
//! never negative). Rows whose count falls to 0 are removed, so the table holds only hours that
//! have alarms.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use crate::alarms::AlarmFilter;
use crate::rows::{i, opt_s, s};
use crate::sql_filter::{bind_args, Arg};
use crate::StoreError;

/// The columns [`CountDeltas::add_row`] reads (e.g. in a `RETURNING`).
pub(crate) const COUNTED_COLS: &str = "project_id, task_id, video_source_id, event_type, review_state, alarm_time";

/// Seconds per counter bucket.
const HOUR_S: i64 = 3600;

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
/// hours and the partial hours at its ends, which are counted from the rows.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HourSplit {
    /// Whole hours `[first, last]` (inclusive; `last` open where `None`).
    pub(crate) hours: (i64, Option<i64>),
    /// Second ranges `[from, to]` (inclusive) before and after the whole hours.
    pub(crate) partial: Vec<(i64, i64)>,
}

/// The split of `[start, end]`; `None` when the range holds no whole hour (it then spans at most
/// two partial hours and an exact COUNT is as cheap).
pub(crate) fn split_hours(start: Option<i64>, end: Option<i64>) -> Option<HourSplit> {
    // Alarm times are never negative (and an end at i64::MAX is no end).
    let start = start.unwrap_or(0).max(0);
    let end = end.filter(|e| *e < i64::MAX);
    let first = hour_of(start) + i64::from(start % HOUR_S != 0);
    // The last hour whose final second is inside the range.
    let last = end.map(|e| hour_of(e + 1) - 1);
    if last.is_some_and(|l| l < first) {
        return None;
    }
    let mut partial = Vec::new();
    if start < first * HOUR_S {
        partial.push((start, first * HOUR_S - 1));
    }
    if let (Some(e), Some(l)) = (end, last) {
        if e >= (l + 1) * HOUR_S {
            partial.push(((l + 1) * HOUR_S, e));
        }
    }
    Some(HourSplit {
        hours: (first, last),
        partial,
    })
}

/// The number of alarms of the project matching `f`, read from the counters: the sum of the
/// counter's whole hours in the range plus an exact COUNT of each partial hour at its ends over
/// the filter's index (at most an hour of rows each). `id_cond`/`id_args` are the project and id
/// filters of `f` without its times (`$1` the project). One statement, so the counters and the
/// rows are read at one instant. `None` when `f` has no counter or its range holds no whole hour.
pub(crate) async fn counted_total(
    pool: &sqlx::Pool<Any>,
    f: &AlarmFilter,
    id_cond: &str,
    id_args: &[Arg],
) -> Result<Option<i64>, StoreError> {
    let Some((dim, val)) = counter_for(f) else {
        return Ok(None);
    };
    // No range: every hour (all are >= 0).
    let Some(split) = split_hours(f.start_time, f.end_time) else {
        return Ok(None);
    };
    // The id filters' values only where a partial hour uses them: PostgreSQL refuses a bind
    // parameter the statement never mentions ($1, the project, always is).
    let mut args = if split.partial.is_empty() {
        id_args[..1].to_vec()
    } else {
        id_args.to_vec()
    };
    let mut arg = |v: Arg| {
        args.push(v);
        format!("${}", args.len())
    };
    let (d, v, lo) = (
        arg(Arg::S(dim.to_string())),
        arg(Arg::S(val)),
        arg(Arg::I(split.hours.0)),
    );
    let mut sum = format!(
        "(SELECT COALESCE(SUM(n), 0) FROM alarm_counts WHERE project_id = $1 AND dim = {d} AND val = {v} \
         AND hour >= {lo}"
    );
    if let Some(hi) = split.hours.1 {
        sum += &format!(" AND hour <= {}", arg(Arg::I(hi)));
    }
    sum.push(')');
    let mut parts = vec![sum];
    for (from, to) in split.partial {
        let (a, b) = (arg(Arg::I(from)), arg(Arg::I(to)));
        parts.push(format!(
            "(SELECT COUNT(*) FROM alarms WHERE {id_cond} AND alarm_time >= {a} AND alarm_time <= {b})"
        ));
    }
    // CAST: SQLite's SUM of an empty set through COALESCE stays integer, PostgreSQL's is NUMERIC.
    let sql = format!("SELECT CAST({} AS BIGINT)", parts.join(" + "));
    let row = bind_args(sqlx::query(&sql), &args).fetch_one(pool).await?;
    Ok(Some(row.try_get(0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_into_whole_and_partial_hours() {
        let h = HOUR_S;
        let split = |s, e| split_hours(s, e);
        // Partial hours at both ends.
        assert_eq!(
            split(Some(10 * h + 5), Some(13 * h + 7)),
            Some(HourSplit {
                hours: (11, Some(12)),
                partial: vec![(10 * h + 5, 11 * h - 1), (13 * h, 13 * h + 7)],
            })
        );
        // Aligned ends: whole hours only.
        assert_eq!(
            split(Some(10 * h), Some(13 * h - 1)),
            Some(HourSplit {
                hours: (10, Some(12)),
                partial: vec![],
            })
        );
        // One whole hour; open ends.
        assert_eq!(split(Some(10 * h), Some(11 * h - 1)).unwrap().hours, (10, Some(10)));
        assert_eq!(
            split(Some(10 * h + 1), None),
            Some(HourSplit {
                hours: (11, None),
                partial: vec![(10 * h + 1, 11 * h - 1)],
            })
        );
        assert_eq!(
            split(None, Some(10 * h)),
            Some(HourSplit {
                hours: (0, Some(9)),
                partial: vec![(10 * h, 10 * h)],
            })
        );
        // No whole hour inside: counted from the rows.
        assert_eq!(split(Some(10 * h + 1), Some(11 * h + 5)), None);
        assert_eq!(split(Some(10 * h), Some(11 * h - 2)), None);
        assert_eq!(split(Some(5 * h), Some(2 * h)), None);
        assert_eq!(split(None, Some(-1)), None);
        assert_eq!(split(None, None).unwrap().hours, (0, None));
        assert_eq!(split(Some(-5), Some(i64::MAX)).unwrap().hours, (0, None));
    }
}
