-- One schema for SQLite and PostgreSQL: TEXT ids, BIGINT numbers/flags/epoch milliseconds.
CREATE TABLE projects (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);
CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE user_projects (user_id TEXT NOT NULL, project_id TEXT NOT NULL, PRIMARY KEY (user_id, project_id));
CREATE TABLE access_keys (access TEXT PRIMARY KEY, user_id TEXT NOT NULL, project_id TEXT NOT NULL, secret_sealed TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE tokens (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, project_id TEXT NOT NULL, issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked BIGINT NOT NULL DEFAULT 0);
CREATE TABLE video_sources (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, access_type TEXT NOT NULL,
  source_type TEXT NOT NULL, type_config TEXT NOT NULL, password_sealed TEXT,
  latitude TEXT NOT NULL, longitude TEXT NOT NULL, tags TEXT NOT NULL,
  status BIGINT NOT NULL, stream_path TEXT NOT NULL, image TEXT NOT NULL, quality TEXT NOT NULL,
  scene_recommend TEXT NOT NULL, create_at BIGINT NOT NULL, modify_at BIGINT NOT NULL,
  UNIQUE (project_id, name));
CREATE TABLE video_groups (
  id TEXT PRIMARY KEY, project_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
  access_type TEXT NOT NULL, create_at BIGINT NOT NULL, modify_at BIGINT NOT NULL, UNIQUE (project_id, name));
CREATE TABLE video_group_members (group_id TEXT NOT NULL, source_id TEXT NOT NULL, PRIMARY KEY (group_id, source_id));
CREATE INDEX video_group_members_source ON video_group_members (source_id);
CREATE TABLE source_templates (
  source_id TEXT NOT NULL, name TEXT NOT NULL, roi TEXT NOT NULL, service_config TEXT NOT NULL,
  create_at BIGINT NOT NULL, modify_at BIGINT NOT NULL, PRIMARY KEY (source_id, name));
