-- Lists paged in SQL (issue 15): video sources and groups.
-- Task and template counters of each source, kept by the task and template writes (same
-- transaction) so that ListVideoSources sorts and pages by them over an index.
ALTER TABLE video_sources ADD COLUMN num_tasks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE video_sources ADD COLUMN num_templates BIGINT NOT NULL DEFAULT 0;
UPDATE video_sources SET num_tasks = (SELECT COUNT(*) FROM tasks t WHERE t.video_source_id = video_sources.id);
UPDATE video_sources SET num_templates = (SELECT COUNT(*) FROM source_templates p WHERE p.source_id = video_sources.id);
-- One index per sort of ListVideoSources, ties by id: the page is read in index order.
CREATE INDEX video_sources_project_create ON video_sources (project_id, create_at, id);
CREATE INDEX video_sources_project_tasks ON video_sources (project_id, num_tasks, id);
CREATE INDEX video_sources_project_templates ON video_sources (project_id, num_templates, id);
-- ListVideoGroups sorts by creation or modification time.
CREATE INDEX video_groups_project_create ON video_groups (project_id, create_at, id);
CREATE INDEX video_groups_project_modify ON video_groups (project_id, modify_at, id);
-- Batch tasks of a group (num_batch_task, has_task); the primary key leads with batch_id.
CREATE INDEX batch_task_groups_group ON batch_task_groups (group_id);
-- Snapshots (base64 JPEGs of ~10 KB) move out of the source rows: in the row they pushed every
-- column after them to overflow pages, so a filter scanning 10,000 sources read 40 MB. The
-- `image` column stays, always '' (SQLite cannot drop columns portably).
CREATE TABLE source_snapshots (source_id TEXT PRIMARY KEY, image TEXT NOT NULL);
INSERT INTO source_snapshots (source_id, image) SELECT id, image FROM video_sources WHERE image <> '';
UPDATE video_sources SET image = '' WHERE image <> '';
-- Sources per project, kept by the source creates and deletes: the quota check and the lists'
-- `total_number` read one row instead of counting the project's sources (0.5 ms at 10,000,
-- under the write lock of every create).
CREATE TABLE project_source_counts (project_id TEXT PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO project_source_counts (project_id, n) SELECT project_id, COUNT(*) FROM video_sources GROUP BY project_id;
