-- Alarms: the event center (one row per alarm of a task with event_center on) and the delivery
-- outbox (one row per alarm and external sink, deleted once the sink acknowledged it).
-- Pictures are kept as base64 TEXT, as they travel in the envelope, so both backends share one type.
CREATE TABLE alarms (
  message_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, task_id TEXT NOT NULL, stream_id TEXT NOT NULL,
  video_source_id TEXT, event_type BIGINT NOT NULL, alarm_time BIGINT NOT NULL, created_at BIGINT NOT NULL,
  envelope TEXT NOT NULL, image_base64 TEXT);
CREATE INDEX alarms_project_time ON alarms (project_id, alarm_time);
CREATE INDEX alarms_project_task ON alarms (project_id, task_id, alarm_time);
CREATE TABLE outbox (
  id TEXT PRIMARY KEY, message_id TEXT NOT NULL, project_id TEXT NOT NULL, task_id TEXT NOT NULL,
  sink TEXT NOT NULL, sink_config TEXT NOT NULL, payload TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL, claimed_by TEXT, claimed_until BIGINT, last_error TEXT,
  created_at BIGINT NOT NULL);
CREATE INDEX outbox_due ON outbox (next_attempt_at);
