-- Web console and metrics: indexes behind the console's alarm filters and live feed (a cursor on
-- created_at), and the per-task throughput workers report with their lease renewals.
CREATE INDEX alarms_project_created ON alarms (project_id, created_at);
CREATE INDEX alarms_project_source ON alarms (project_id, video_source_id, alarm_time);
CREATE INDEX alarms_project_event ON alarms (project_id, event_type, alarm_time);
CREATE TABLE task_stats (
  task_id TEXT PRIMARY KEY, project_id TEXT NOT NULL, node_id TEXT NOT NULL,
  analysed_fps DOUBLE PRECISION NOT NULL DEFAULT 0, decode_fps DOUBLE PRECISION NOT NULL DEFAULT 0,
  analysed_frames BIGINT NOT NULL DEFAULT 0, dropped_frames BIGINT NOT NULL DEFAULT 0,
  restarts BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL);
CREATE INDEX task_stats_project ON task_stats (project_id);
