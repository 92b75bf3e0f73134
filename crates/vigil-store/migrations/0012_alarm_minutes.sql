-- Per-minute counters of every alarm (dim 'minute', `hour` holding alarm_time / 60): a time range
-- without id filter counts the whole minutes of its partial end hours from them instead of reading
-- up to an hour of rows at each end. Counted here once; every write keeps them from now on.
INSERT INTO alarm_counts (project_id, dim, val, hour, n)
  SELECT project_id, 'minute', '', CAST(alarm_time / 60 AS BIGINT), COUNT(*) FROM alarms
  GROUP BY project_id, CAST(alarm_time / 60 AS BIGINT);
