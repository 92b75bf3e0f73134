-- Task Center: tasks (jobs), batch tasks and the worker's lease columns.
CREATE TABLE tasks (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
  creator TEXT NOT NULL DEFAULT '', service_name TEXT NOT NULL, service_version TEXT NOT NULL DEFAULT '3.0',
  placement TEXT NOT NULL DEFAULT 'cloud', video_source_id TEXT, input TEXT NOT NULL DEFAULT '{}',
  output TEXT NOT NULL DEFAULT '{}', config TEXT NOT NULL DEFAULT '{}', schedule TEXT, legacy BIGINT NOT NULL DEFAULT 0,
  resource_order_id TEXT NOT NULL DEFAULT '', edge_pool_id TEXT NOT NULL DEFAULT '', batch_id TEXT,
  state TEXT NOT NULL, status TEXT NOT NULL DEFAULT '', error_code TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '', schedule_status TEXT NOT NULL DEFAULT '', revision BIGINT NOT NULL DEFAULT 1,
  lease_owner TEXT, lease_expires_at BIGINT NOT NULL DEFAULT 0, heartbeat_at BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  UNIQUE (project_id, name));
CREATE INDEX tasks_source ON tasks (video_source_id);
CREATE INDEX tasks_batch ON tasks (batch_id);
CREATE TABLE batch_tasks (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
  service_name TEXT NOT NULL, service_version TEXT NOT NULL DEFAULT '3.0', batch_input TEXT NOT NULL DEFAULT '{}',
  output TEXT NOT NULL DEFAULT '{}', config TEXT NOT NULL DEFAULT '{}', schedule TEXT,
  resource_order_id TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  UNIQUE (project_id, name));
CREATE TABLE batch_task_groups (batch_id TEXT NOT NULL, group_id TEXT NOT NULL, PRIMARY KEY (batch_id, group_id));
