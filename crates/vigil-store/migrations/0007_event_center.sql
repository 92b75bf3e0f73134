-- Event center (issue 14): per-project rules (manual review, duplicate aggregation, retention),
-- the review state and aggregation count of each stored alarm, and subscribers (pushed alarms
-- through the outbox, sink kinds `subscriber` / `subscriber_ws`).
CREATE TABLE event_rules (
  project_id TEXT PRIMARY KEY, manual_review BIGINT NOT NULL DEFAULT 0,
  aggregation BIGINT NOT NULL DEFAULT 0, aggregation_window_s BIGINT NOT NULL DEFAULT 60,
  retention_days BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL);
ALTER TABLE alarms ADD COLUMN review_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE alarms ADD COLUMN aggregate_key TEXT;
ALTER TABLE alarms ADD COLUMN aggregate_count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE alarms ADD COLUMN last_alarm_time BIGINT;
CREATE INDEX alarms_project_review ON alarms (project_id, review_state, created_at);
CREATE INDEX alarms_project_aggregate ON alarms (project_id, aggregate_key, alarm_time);
CREATE TABLE event_subscribers (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
  video_source_ids TEXT NOT NULL, address TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX event_subscribers_project ON event_subscribers (project_id);
CREATE INDEX outbox_sink_config ON outbox (sink, sink_config, created_at);
-- The WebSocket connection currently serving a subscriber (issue 14, subscriptions): a newer
-- connection takes over and the older one closes when it sees another id here.
ALTER TABLE event_subscribers ADD COLUMN ws_connection TEXT;
