//! The audit trail, written inside the caller's transaction so that a change, its
//! audit row and its webhook deliveries commit or vanish together.

use serde_json::Value;
use sqlx::{Any, Transaction};

use crate::{actor::Actor, db::now_ms, error::Error, webhooks};

/// Records one mutation by `actor` (and queues its webhook deliveries).
pub async fn record(
    tx: &mut Transaction<'_, Any>,
    actor: &Actor,
    action: &str,
    resource: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO audit_log (org_id, actor, action, resource, before_doc, after_doc, request_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&actor.org_id)
    .bind(actor.label())
    .bind(action)
    .bind(resource)
    .bind(before.map(Value::to_string))
    .bind(after.map(Value::to_string))
    .bind(actor.request_id.clone())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    let event = webhooks::Event {
        actor,
        action,
        resource,
        before,
        after,
    };
    webhooks::enqueue(tx, &event).await
}
