//! Alarm pictures, kept outside the alarm row (`alarm_pictures`) so that listing alarms never
//! reads picture bytes; the row says `has_image`. Written with the alarm row, deleted with it.

use sqlx::Any;

use crate::rows::opt_s;
use crate::StoreError;

/// Pictures per insert statement (4 bind parameters each).
const ROWS_PER_STATEMENT: usize = 250;

/// One picture to store: `(message_id, created_at, image_base64)`.
pub(crate) type NewPicture<'a> = (&'a str, i64, &'a str);

/// Stores pictures of alarms of one project inside the caller's transaction.
pub(crate) async fn insert_pictures(
    tx: &mut sqlx::Transaction<'_, Any>,
    project_id: &str,
    pictures: &[NewPicture<'_>],
) -> Result<(), StoreError> {
    for chunk in pictures.chunks(ROWS_PER_STATEMENT) {
        let values = (0..chunk.len())
            .map(|r| {
                let b = r * 4;
                format!("(${},${},${},${})", b + 1, b + 2, b + 3, b + 4)
            })
            .collect::<Vec<_>>()
            .join(",");
        let sql =
            format!("INSERT INTO alarm_pictures (message_id, project_id, created_at, image_base64) VALUES {values}");
        let mut q = sqlx::query(&sql);
        for (id, created_at, b64) in chunk {
            q = q
                .bind(id.to_string())
                .bind(project_id.to_string())
                .bind(*created_at)
                .bind(b64.to_string());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The base64 picture of an alarm, `None` when it has none.
pub(crate) async fn picture_base64<'e, E>(db: E, message_id: &str) -> Result<Option<String>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT image_base64 FROM alarm_pictures WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(db)
        .await?;
    row.map(|r| opt_s(&r, "image_base64")).transpose().map(Option::flatten)
}
