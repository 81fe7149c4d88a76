//! The audit trail, the outbox and the webhook deliveries, written inside the
//! caller's transaction so that a change, its audit row, its publish request and its
//! notifications commit or vanish together.

use serde_json::Value;
use sqlx::{Any, Transaction};

use crate::{auth::Principal, db::now_ms, error::ApiError};

/// Records one mutation (and queues its webhook deliveries).
pub async fn record(
    tx: &mut Transaction<'_, Any>,
    who: &Principal,
    action: &str,
    resource: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO audit_log (org_id, actor, action, resource, before_doc, after_doc, request_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&who.org_id)
    .bind(who.actor())
    .bind(action)
    .bind(resource)
    .bind(before.map(Value::to_string))
    .bind(after.map(Value::to_string))
    .bind(who.request_id.clone())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    let event = crate::webhooks::Event {
        who,
        action,
        resource,
        before,
        after,
    };
    crate::webhooks::enqueue(tx, &event).await
}

/// Asks the publisher to rebuild one environment.
pub async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    environment_id: &str,
    reason: &str,
) -> Result<(), ApiError> {
    sqlx::query("INSERT INTO outbox (environment_id, reason, created_at) VALUES ($1, $2, $3)")
        .bind(environment_id)
        .bind(reason)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Asks the publisher to rebuild every live environment of a project.
pub async fn enqueue_project(
    tx: &mut Transaction<'_, Any>,
    project_id: &str,
    reason: &str,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO outbox (environment_id, reason, created_at) \
         SELECT id, $1, $2 FROM environments WHERE project_id = $3 AND archived_at IS NULL",
    )
    .bind(reason)
    .bind(now_ms())
    .bind(project_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
