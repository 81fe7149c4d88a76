//! The audit trail, written inside the caller's transaction so that a change, its
//! audit row, its webhook deliveries and its change-feed row commit or vanish
//! together, and read back newest first with filters.

use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{Any, AnyPool, Row, Transaction, any::AnyRow};

use crate::{
    actor::Actor,
    db::{now_ms, rfc3339},
    error::Error,
    feed, list, webhooks,
};

/// Records one mutation by `actor`, queues its webhook deliveries and writes its
/// change-feed event.
pub async fn record(
    tx: &mut Transaction<'_, Any>,
    actor: &Actor,
    action: &str,
    resource: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<(), Error> {
    let audit_id: i64 = sqlx::query(
        "INSERT INTO audit_log (org_id, actor, action, resource, before_doc, after_doc, request_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&actor.org_id)
    .bind(actor.label())
    .bind(action)
    .bind(resource)
    .bind(before.map(Value::to_string))
    .bind(after.map(Value::to_string))
    .bind(actor.request_id.clone())
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    let change = feed::NewEvent {
        org_id: &actor.org_id,
        kind: action,
        resource,
        actor: &actor.label(),
        audit_id: Some(audit_id),
        data: summary(resource, after),
    };
    feed::record(tx, &change).await?;
    let event = webhooks::Event {
        actor,
        action,
        resource,
        before,
        after,
    };
    webhooks::enqueue(tx, &event).await
}

/// What the change feed says of an audited change beside its action and resource:
/// the project, and the version the change made when the resource has versions. The
/// documents themselves stay in the audit entry (`auditId`), readable by its rules.
fn summary(resource: &str, after: Option<&Value>) -> Value {
    let mut data = json!({});
    if let Some(project) = feed::project_of(resource) {
        data["project"] = json!(project);
    }
    if let Some(version) = after.and_then(|a| a.get("version")).filter(|v| v.is_u64()) {
        data["version"] = version.clone();
    }
    data
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct AuditQuery {
    /// Substring of the actor (API key id or name).
    pub actor: Option<String>,
    /// An action (`flag.create`) or a family (`flag.*`).
    pub action: Option<String>,
    /// A resource prefix, e.g. `project/web/flag/new-checkout`.
    pub resource: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    pub from: Option<String>,
    /// RFC 3339 upper bound (exclusive).
    pub to: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn time(path: &str, text: Option<&str>, default: i64) -> Result<i64, Error> {
    match text {
        None => Ok(default),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp_millis())
            .map_err(|_| Error::invalid(path, format!("`{t}` is not an RFC 3339 date-time"))),
    }
}

fn entry(row: &AnyRow) -> Result<Value, Error> {
    let doc = |name: &str| -> Result<Value, Error> {
        let text: Option<String> = row.try_get(name)?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null))
    };
    Ok(json!({
        "id": row.try_get::<i64, _>("id")?,
        "at": rfc3339(row.try_get("at")?),
        "actor": row.try_get::<String, _>("actor")?,
        "action": row.try_get::<String, _>("action")?,
        "resource": row.try_get::<String, _>("resource")?,
        "before": doc("before_doc")?,
        "after": doc("after_doc")?,
        "requestId": row.try_get::<Option<String>, _>("request_id")?,
    }))
}

/// One page of an organization's log, newest first: `{items, nextCursor}`.
pub async fn read(pool: &AnyPool, org_id: &str, q: &AuditQuery) -> Result<Value, Error> {
    let limit = list::page_limit(q.limit)?;
    let before_id = match &q.cursor {
        Some(c) => c
            .parse::<i64>()
            .map_err(|_| Error::invalid("/cursor", "not a cursor this API issued"))?,
        None => i64::MAX,
    };
    let action = match q.action.as_deref() {
        Some(a) => a
            .strip_suffix('*')
            .map_or_else(|| a.to_string(), |p| format!("{p}%")),
        None => "%".to_string(),
    };
    let sql = "SELECT * FROM audit_log WHERE org_id = $1 AND id < $2 AND actor LIKE $3 AND action LIKE $4 \
               AND resource LIKE $5 AND at >= $6 AND at < $7 ORDER BY id DESC LIMIT $8";
    let rows = sqlx::query(sql)
        .bind(org_id)
        .bind(before_id)
        .bind(format!("%{}%", q.actor.as_deref().unwrap_or("")))
        .bind(action)
        .bind(format!("{}%", q.resource.as_deref().unwrap_or("")))
        .bind(time("/from", q.from.as_deref(), 0)?)
        .bind(time("/to", q.to.as_deref(), i64::MAX)?)
        .bind(limit + 1)
        .fetch_all(pool)
        .await?;
    let mut items = rows.iter().map(entry).collect::<Result<Vec<_>, Error>>()?;
    let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    if more {
        items.pop();
    }
    let next = if more {
        items
            .last()
            .and_then(|e| e["id"].as_i64())
            .map(|id| id.to_string())
    } else {
        None
    };
    Ok(json!({ "items": items, "nextCursor": next }))
}
