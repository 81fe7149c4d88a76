//! The outbox: rows asking the publisher to rebuild an environment, written in the
//! transaction of the change that needs it, so a committed change is never left
//! unpublished (the publisher drains them, see `publisher`).

use sqlx::{Any, AnyPool, Transaction};

use crate::{db::now_ms, error::Error};

/// Asks the publisher to rebuild one environment.
pub async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    environment_id: &str,
    reason: &str,
    request_id: Option<&str>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO outbox (environment_id, reason, created_at, request_id) VALUES ($1, $2, $3, $4)",
    )
        .bind(environment_id)
        .bind(reason)
        .bind(now_ms())
        .bind(request_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Asks the publisher to rebuild every live environment of a project.
pub async fn enqueue_project(
    tx: &mut Transaction<'_, Any>,
    project_id: &str,
    reason: &str,
    request_id: Option<&str>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO outbox (environment_id, reason, created_at, request_id) \
         SELECT id, $1, $2, $4 FROM environments WHERE project_id = $3 AND archived_at IS NULL",
    )
    .bind(reason)
    .bind(now_ms())
    .bind(project_id)
    .bind(request_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Asks the publisher to rebuild every live environment (`edgeflag publish`).
pub async fn enqueue_all(pool: &AnyPool, reason: &str) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO outbox (environment_id, reason, created_at) \
         SELECT id, $1, $2 FROM environments WHERE archived_at IS NULL",
    )
    .bind(reason)
    .bind(now_ms())
    .execute(pool)
    .await?;
    Ok(())
}
