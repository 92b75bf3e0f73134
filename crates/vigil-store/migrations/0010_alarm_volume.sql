-- Alarms at volume (issue 15): pictures outside the row, keyset paging, counters.
-- Alarm counters per project, dimension and hour (`hour` = alarm_time / 3600, epoch hours).
CREATE TABLE alarm_counts (project_id TEXT NOT NULL, dim TEXT NOT NULL, val TEXT NOT NULL, hour BIGINT NOT NULL,
  n BIGINT NOT NULL, PRIMARY KEY (project_id, dim, val, hour));
-- Pictures live in their own table, so list queries never read a picture's bytes: the alarm
-- row keeps only `has_image`. `alarms.image_base64` stays (unused, always NULL): SQLite cannot
-- drop a column portably.
CREATE TABLE alarm_pictures (message_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, created_at BIGINT NOT NULL,
  image_base64 TEXT NOT NULL);
ALTER TABLE alarms ADD COLUMN has_image BIGINT NOT NULL DEFAULT 0;
INSERT INTO alarm_pictures (message_id, project_id, created_at, image_base64)
  SELECT message_id, project_id, created_at, image_base64 FROM alarms WHERE image_base64 IS NOT NULL;
UPDATE alarms SET has_image = 1, image_base64 = NULL WHERE image_base64 IS NOT NULL;
-- One index per list query shape, its columns in the list's order (alarm_time DESC, created_at
-- DESC, message_id): the unfiltered list and each single filter read just the page (and seek
-- to a marker). They supersede the (project_id, x, alarm_time) indexes of 0003, 0006 and 0007.
DROP INDEX alarms_project_time;
DROP INDEX alarms_project_task;
DROP INDEX alarms_project_source;
DROP INDEX alarms_project_event;
DROP INDEX alarms_project_review;
CREATE INDEX alarms_list ON alarms (project_id, alarm_time DESC, created_at DESC, message_id);
CREATE INDEX alarms_list_task ON alarms (project_id, task_id, alarm_time DESC, created_at DESC, message_id);
CREATE INDEX alarms_list_source ON alarms (project_id, video_source_id, alarm_time DESC, created_at DESC, message_id);
CREATE INDEX alarms_list_event ON alarms (project_id, event_type, alarm_time DESC, created_at DESC, message_id);
CREATE INDEX alarms_list_review ON alarms (project_id, review_state, alarm_time DESC, created_at DESC, message_id);
-- Counters behind `total` (dims: 'all' '', 'task' id, 'source' id, 'event' type, 'review'
-- state; one row per hour with alarms), kept in the transaction of every write of alarm rows;
-- counted here once. alarm_time is a non-negative BIGINT: `/` is integer division (truncating,
-- i.e. flooring) on both backends; the CAST keeps SQLite's result an integer whatever it read.
INSERT INTO alarm_counts (project_id, dim, val, hour, n)
  SELECT project_id, 'all', '', CAST(alarm_time / 3600 AS BIGINT), COUNT(*) FROM alarms
  GROUP BY project_id, CAST(alarm_time / 3600 AS BIGINT);
INSERT INTO alarm_counts (project_id, dim, val, hour, n)
  SELECT project_id, 'task', task_id, CAST(alarm_time / 3600 AS BIGINT), COUNT(*) FROM alarms
  GROUP BY project_id, task_id, CAST(alarm_time / 3600 AS BIGINT);
INSERT INTO alarm_counts (project_id, dim, val, hour, n)
  SELECT project_id, 'source', video_source_id, CAST(alarm_time / 3600 AS BIGINT), COUNT(*) FROM alarms
  WHERE video_source_id IS NOT NULL GROUP BY project_id, video_source_id, CAST(alarm_time / 3600 AS BIGINT);
INSERT INTO alarm_counts (project_id, dim, val, hour, n)
  SELECT project_id, 'event', CAST(event_type AS TEXT), CAST(alarm_time / 3600 AS BIGINT), COUNT(*) FROM alarms
  GROUP BY project_id, event_type, CAST(alarm_time / 3600 AS BIGINT);
INSERT INTO alarm_counts (project_id, dim, val, hour, n)
  SELECT project_id, 'review', review_state, CAST(alarm_time / 3600 AS BIGINT), COUNT(*) FROM alarms
  GROUP BY project_id, review_state, CAST(alarm_time / 3600 AS BIGINT)
