-- The per-project source counter split into slots (project_id, slot): on PostgreSQL each create
-- bumps one of 16 at random, so a project's creates no longer queue on one row lock until their
-- commits (video_sources.rs, `create_source`). The sum of a project's slots is its count; the
-- old single row becomes slot 0.
CREATE TABLE project_source_slots (
  project_id TEXT NOT NULL,
  slot BIGINT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (project_id, slot)
);
INSERT INTO project_source_slots (project_id, slot, n) SELECT project_id, 0, n FROM project_source_counts;
DROP TABLE project_source_counts;
ALTER TABLE project_source_slots RENAME TO project_source_counts;
