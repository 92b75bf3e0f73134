//! Per-task throughput (`task_stats`): each worker upserts a row every few seconds for every task
//! it runs and deletes it when the task leaves it; the console reads them per project.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::nodes::STATS_FRESH_MS;
use crate::rows::{i, s};
use crate::{Store, StoreError};

/// One task's throughput as its worker last reported it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskStats {
    pub task_id: String,
    pub project_id: String,
    /// The worker (node) running the task.
    pub node_id: String,
    pub analysed_fps: f64,
    pub decode_fps: f64,
    pub analysed_frames: i64,
    pub dropped_frames: i64,
    pub restarts: i64,
    /// Epoch ms of the report.
    pub updated_at: i64,
}

fn f(r: &AnyRow, col: &str) -> Result<f64, StoreError> {
    Ok(r.try_get::<f64, _>(col)?)
}

impl Store {
    /// Writes (or replaces) a task's row.
    pub async fn upsert_task_stats(&self, st: &TaskStats) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO task_stats (task_id, project_id, node_id, analysed_fps, decode_fps, analysed_frames, \
             dropped_frames, restarts, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (task_id) DO UPDATE SET project_id = excluded.project_id, node_id = excluded.node_id, \
             analysed_fps = excluded.analysed_fps, decode_fps = excluded.decode_fps, \
             analysed_frames = excluded.analysed_frames, dropped_frames = excluded.dropped_frames, \
             restarts = excluded.restarts, updated_at = excluded.updated_at",
        )
        .bind(&st.task_id)
        .bind(&st.project_id)
        .bind(&st.node_id)
        .bind(st.analysed_fps)
        .bind(st.decode_fps)
        .bind(st.analysed_frames)
        .bind(st.dropped_frames)
        .bind(st.restarts)
        .bind(st.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes a task's row, only while `node_id` still owns it (a worker that lost the task
    /// must not delete the new owner's row).
    pub async fn delete_task_stats(&self, task_id: &str, node_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM task_stats WHERE task_id = $1 AND node_id = $2")
            .bind(task_id)
            .bind(node_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The project's rows of tasks that still exist (a worker that died leaves its rows), by
    /// task id. Rows not refreshed within [`STATS_FRESH_MS`] of `now_ms`
    /// (a worker that died) report 0 fps; their counters stay as last reported.
    pub async fn list_task_stats(&self, project_id: &str, now_ms: i64) -> Result<Vec<TaskStats>, StoreError> {
        let rows = sqlx::query(
            "SELECT task_id, project_id, node_id, CAST(analysed_fps AS DOUBLE PRECISION) AS analysed_fps, \
             CAST(decode_fps AS DOUBLE PRECISION) AS decode_fps, analysed_frames, dropped_frames, restarts, updated_at \
             FROM task_stats s WHERE project_id = $1 \
             AND EXISTS (SELECT 1 FROM tasks t WHERE t.id = s.task_id) ORDER BY task_id",
        )
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let updated_at = i(r, "updated_at")?;
                let fresh = now_ms - updated_at <= STATS_FRESH_MS;
                let fps = |col| f(r, col).map(|v| if fresh { v } else { 0.0 });
                Ok(TaskStats {
                    task_id: s(r, "task_id")?,
                    project_id: s(r, "project_id")?,
                    node_id: s(r, "node_id")?,
                    analysed_fps: fps("analysed_fps")?,
                    decode_fps: fps("decode_fps")?,
                    analysed_frames: i(r, "analysed_frames")?,
                    dropped_frames: i(r, "dropped_frames")?,
                    restarts: i(r, "restarts")?,
                    updated_at,
                })
            })
            .collect()
    }
}
