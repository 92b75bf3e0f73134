-- Lists paged in SQL (issue 15): tasks, batch tasks, Algorithm and Operation Center lists.
-- Each index matches a list's WHERE project_id = … ORDER BY key, id, so a page stops early.
-- ListTasks: ORDER BY created_at, id (either direction).
CREATE INDEX tasks_project_created ON tasks (project_id, created_at, id);
-- ListTasksDetails (legacy VAS): one service's tasks, by creation time.
CREATE INDEX tasks_project_service_created ON tasks (project_id, service_name, created_at, id);
-- Batch lists and counters: a batch's tasks.
CREATE INDEX tasks_project_batch ON tasks (project_id, batch_id, state);
-- ListBatchTasks: ORDER BY created_at, id.
CREATE INDEX batch_tasks_project_created ON batch_tasks (project_id, created_at, id);
-- ListEdgePools: ORDER BY created_at | updated_at, id.
CREATE INDEX edge_pools_project_created ON edge_pools (project_id, created_at, id);
CREATE INDEX edge_pools_project_updated ON edge_pools (project_id, updated_at, id);
-- ListModelPackages: oldest first.
CREATE INDEX model_packages_project_created ON model_packages (project_id, created_at, id);
-- ListEventSubscribers: oldest first.
CREATE INDEX event_subscribers_project_created ON event_subscribers (project_id, created_at, id);
-- Superseded by event_subscribers_project_created.
DROP INDEX event_subscribers_project;
