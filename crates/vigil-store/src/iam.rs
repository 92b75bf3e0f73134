//! Identity: projects, users, grants, access keys (secret sealed by the caller) and tokens (stored
//! as SHA-256 hashes only).

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::rows::{i, s};
use crate::{now_ms, Store, StoreError};

/// Counts a credential change; run in the transaction that makes it ([`Store::auth_changes`]).
const BUMP_AUTH_CHANGES: &str = "UPDATE auth_changes SET n = n + 1 WHERE id = 1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: i64,
    /// Ids of the projects the user may act in.
    pub projects: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AccessKey {
    pub access: String,
    pub user_id: String,
    pub user_name: String,
    pub project_id: String,
    pub secret_sealed: String,
    pub created_at: i64,
}

/// How many rows of each kind a project deletion removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectDeletion {
    pub tasks: u64,
    pub batch_tasks: u64,
    pub video_sources: u64,
    pub video_groups: u64,
}

/// What a valid token stands for.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub user_id: String,
    pub user_name: String,
    pub project_id: String,
    pub project_name: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
}

fn project(r: &AnyRow) -> Result<Project, StoreError> {
    Ok(Project {
        id: s(r, "id")?,
        name: s(r, "name")?,
        created_at: i(r, "created_at")?,
    })
}

fn dup(e: sqlx::Error, what: &'static str) -> StoreError {
    let e = StoreError::Db(e);
    if e.is_unique_violation() {
        StoreError::DuplicateName(what)
    } else {
        e
    }
}

impl Store {
    pub async fn create_project(&self, id: &str, name: &str) -> Result<Project, StoreError> {
        let p = Project {
            id: id.to_string(),
            name: name.to_string(),
            created_at: now_ms(),
        };
        sqlx::query("INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&p.id)
            .bind(&p.name)
            .bind(p.created_at)
            .execute(&self.pool)
            .await
            .map_err(|e| dup(e, "project"))?;
        Ok(p)
    }

    pub async fn list_projects(&self) -> Result<Vec<Project>, StoreError> {
        let rows = sqlx::query("SELECT id, name, created_at FROM projects ORDER BY created_at, name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(project).collect()
    }

    /// Finds a project by id or, failing that, by name.
    pub async fn find_project(&self, id_or_name: &str) -> Result<Option<Project>, StoreError> {
        let row =
            sqlx::query("SELECT id, name, created_at FROM projects WHERE id = $1 OR name = $1 ORDER BY (id = $1) DESC")
                .bind(id_or_name)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(project).transpose()
    }

    /// Deletes a project and everything it owns in one transaction: its tasks (a worker running
    /// one sees the row gone and stops its pipeline), batch tasks, video sources and groups with
    /// their links and templates, alarms and undelivered outbox rows, grants, keys and tokens.
    pub async fn delete_project(&self, id: &str) -> Result<ProjectDeletion, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut counts = ProjectDeletion::default();
        for (sql, slot) in [
            ("DELETE FROM batch_task_groups WHERE batch_id IN (SELECT id FROM batch_tasks WHERE project_id = $1)", None),
            ("DELETE FROM batch_tasks WHERE project_id = $1", Some(0)),
            ("DELETE FROM tasks WHERE project_id = $1", Some(1)),
            ("DELETE FROM source_templates WHERE source_id IN (SELECT id FROM video_sources WHERE project_id = $1)", None),
            ("DELETE FROM source_snapshots WHERE source_id IN (SELECT id FROM video_sources WHERE project_id = $1)", None),
            ("DELETE FROM video_group_members WHERE group_id IN (SELECT id FROM video_groups WHERE project_id = $1)", None),
            ("DELETE FROM video_group_members WHERE source_id IN (SELECT id FROM video_sources WHERE project_id = $1)", None),
            ("DELETE FROM video_sources WHERE project_id = $1", Some(2)),
            ("DELETE FROM project_source_counts WHERE project_id = $1", None),
            ("DELETE FROM video_groups WHERE project_id = $1", Some(3)),
            ("DELETE FROM alarm_pictures WHERE message_id IN (SELECT message_id FROM alarms WHERE project_id = $1)", None),
            ("DELETE FROM alarms WHERE project_id = $1", None),
            ("DELETE FROM alarm_counts WHERE project_id = $1", None),
            ("DELETE FROM outbox WHERE project_id = $1", None),
            ("DELETE FROM user_projects WHERE project_id = $1", None),
            ("DELETE FROM access_keys WHERE project_id = $1", None),
            ("DELETE FROM tokens WHERE project_id = $1", None),
        ] {
            let n = sqlx::query(sql).bind(id).execute(&mut *tx).await?.rows_affected();
            match slot {
                Some(0) => counts.batch_tasks = n,
                Some(1) => counts.tasks = n,
                Some(2) => counts.video_sources = n,
                Some(3) => counts.video_groups = n,
                _ => {}
            }
        }
        let n = sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("project"));
        }
        sqlx::query(BUMP_AUTH_CHANGES).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(counts)
    }

    pub async fn create_user(&self, id: &str, name: &str, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO users (id, name, password_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(name)
            .bind(password_hash)
            .bind(now_ms())
            .execute(&self.pool)
            .await
            .map_err(|e| dup(e, "user"))?;
        Ok(())
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query("SELECT id, name, password_hash, created_at FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let grants = sqlx::query("SELECT user_id, project_id FROM user_projects ORDER BY project_id")
            .fetch_all(&self.pool)
            .await?;
        let mut users = Vec::with_capacity(rows.len());
        for r in &rows {
            let id = s(r, "id")?;
            let mut projects = Vec::new();
            for g in &grants {
                if s(g, "user_id")? == id {
                    projects.push(s(g, "project_id")?);
                }
            }
            users.push(User {
                name: s(r, "name")?,
                password_hash: s(r, "password_hash")?,
                created_at: i(r, "created_at")?,
                id,
                projects,
            });
        }
        Ok(users)
    }

    /// One user by name (`by_id` false) or id, with their project grants.
    async fn user_where(&self, key: &str, by_id: bool) -> Result<Option<User>, StoreError> {
        let sql = if by_id {
            "SELECT id, name, password_hash, created_at FROM users WHERE id = $1"
        } else {
            "SELECT id, name, password_hash, created_at FROM users WHERE name = $1"
        };
        let Some(r) = sqlx::query(sql).bind(key).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let id = s(&r, "id")?;
        let grants = sqlx::query("SELECT project_id FROM user_projects WHERE user_id = $1 ORDER BY project_id")
            .bind(&id)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some(User {
            name: s(&r, "name")?,
            password_hash: s(&r, "password_hash")?,
            created_at: i(&r, "created_at")?,
            projects: grants.iter().map(|g| s(g, "project_id")).collect::<Result<_, _>>()?,
            id,
        }))
    }

    pub async fn find_user(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.user_where(name, false).await
    }

    pub async fn find_user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.user_where(id, true).await
    }

    /// Replaces a user's password hash; false if no such user.
    pub async fn set_password(&self, user_id: &str, password_hash: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// Revokes every token of a user except `keep` (a token hash); returns how many.
    pub async fn revoke_user_tokens(&self, user_id: &str, keep: Option<&str>) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE tokens SET revoked = 1 WHERE user_id = $1 AND revoked = 0 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(BUMP_AUTH_CHANGES).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The count of credential changes (revocations, user and project deletions) so far: an API
    /// server that remembers validated tokens forgets them when it moves.
    pub async fn auth_changes(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT n FROM auth_changes WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?
            .unwrap_or(0))
    }

    pub async fn delete_user(&self, name: &str) -> Result<(), StoreError> {
        let user = self.find_user(name).await?.ok_or(StoreError::NotFound("user"))?;
        let mut tx = self.pool.begin().await?;
        for sql in [
            "DELETE FROM user_projects WHERE user_id = $1",
            "DELETE FROM access_keys WHERE user_id = $1",
            "DELETE FROM tokens WHERE user_id = $1",
            "DELETE FROM users WHERE id = $1",
        ] {
            sqlx::query(sql).bind(&user.id).execute(&mut *tx).await?;
        }
        sqlx::query(BUMP_AUTH_CHANGES).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn grant_project(&self, user_id: &str, project_id: &str) -> Result<(), StoreError> {
        let exists: i64 = sqlx::query("SELECT COUNT(*) FROM user_projects WHERE user_id = $1 AND project_id = $2")
            .bind(user_id)
            .bind(project_id)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if exists == 0 {
            sqlx::query("INSERT INTO user_projects (user_id, project_id) VALUES ($1, $2)")
                .bind(user_id)
                .bind(project_id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub async fn insert_access_key(
        &self,
        access: &str,
        user_id: &str,
        project_id: &str,
        secret_sealed: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_keys (access, user_id, project_id, secret_sealed, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(access)
        .bind(user_id)
        .bind(project_id)
        .bind(secret_sealed)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(|e| dup(e, "access key"))?;
        Ok(())
    }

    pub async fn list_access_keys(&self) -> Result<Vec<AccessKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.access, k.user_id, u.name AS user_name, k.project_id, k.secret_sealed, k.created_at \
             FROM access_keys k JOIN users u ON u.id = k.user_id ORDER BY k.created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AccessKey {
                    access: s(r, "access")?,
                    user_id: s(r, "user_id")?,
                    user_name: s(r, "user_name")?,
                    project_id: s(r, "project_id")?,
                    secret_sealed: s(r, "secret_sealed")?,
                    created_at: i(r, "created_at")?,
                })
            })
            .collect()
    }

    pub async fn find_access_key(&self, access: &str) -> Result<Option<AccessKey>, StoreError> {
        let row = sqlx::query(
            "SELECT k.access, k.user_id, u.name AS user_name, k.project_id, k.secret_sealed, k.created_at \
             FROM access_keys k JOIN users u ON u.id = k.user_id WHERE k.access = $1",
        )
        .bind(access)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(AccessKey {
                access: s(&r, "access")?,
                user_id: s(&r, "user_id")?,
                user_name: s(&r, "user_name")?,
                project_id: s(&r, "project_id")?,
                secret_sealed: s(&r, "secret_sealed")?,
                created_at: i(&r, "created_at")?,
            })
        })
        .transpose()
    }

    pub async fn delete_access_key(&self, access: &str) -> Result<(), StoreError> {
        let n = sqlx::query("DELETE FROM access_keys WHERE access = $1")
            .bind(access)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("access key"));
        }
        Ok(())
    }

    pub async fn insert_token(
        &self,
        token_hash: &str,
        user_id: &str,
        project_id: &str,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (token_hash, user_id, project_id, issued_at, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, 0)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(project_id)
        .bind(issued_at)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        // Keep the table small: forget tokens that expired more than a day ago.
        sqlx::query("DELETE FROM tokens WHERE expires_at < $1")
            .bind(issued_at - 86_400_000)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn find_token(&self, token_hash: &str) -> Result<Option<TokenGrant>, StoreError> {
        let row = sqlx::query(
            "SELECT t.user_id, u.name AS user_name, t.project_id, p.name AS project_name, t.issued_at, t.expires_at, t.revoked \
             FROM tokens t JOIN users u ON u.id = t.user_id JOIN projects p ON p.id = t.project_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(TokenGrant {
                user_id: s(&r, "user_id")?,
                user_name: s(&r, "user_name")?,
                project_id: s(&r, "project_id")?,
                project_name: s(&r, "project_name")?,
                issued_at: i(&r, "issued_at")?,
                expires_at: i(&r, "expires_at")?,
                revoked: i(&r, "revoked")? != 0,
            })
        })
        .transpose()
    }

    /// Marks a token revoked; false if no such token exists.
    pub async fn revoke_token(&self, token_hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE tokens SET revoked = 1 WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(BUMP_AUTH_CHANGES).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(n > 0)
    }
}
