//! The webhooks an organization registered: create (the secret is returned once),
//! list, show, change, disable, and each one's delivery log. What a delivery carries
//! and how it is signed is in `webhooks`; sending is `webhook_delivery`'s.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{AnyPool, Row, any::AnyRow};

use crate::{
    actor::Actor,
    audit,
    db::{self, now_ms, rfc3339},
    destination::Destinations,
    error::Error,
    scope, secret, webhooks,
};

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// The project key it is limited to; every project of the organization when null.
    pub project: Option<String>,
    pub description: String,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
    /// The signing secret, only in the response that creates the webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A new webhook.
#[derive(Debug)]
pub struct NewWebhook<'a> {
    pub url: &'a str,
    /// Event filters; `webhooks::default_events` when absent.
    pub events: Option<Vec<String>>,
    /// Limit to one project (its key).
    pub project: Option<&'a str>,
    pub description: Option<String>,
}

/// Changes to a webhook; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

const SELECT: &str =
    "SELECT w.*, p.key AS project_key FROM webhooks w LEFT JOIN projects p ON p.id = w.project_id";

fn view(row: &AnyRow) -> Result<WebhookView, Error> {
    let events: String = row.try_get("events")?;
    Ok(WebhookView {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        events: serde_json::from_str(&events).map_err(Error::internal)?,
        project: row.try_get("project_key")?,
        description: row.try_get("description")?,
        enabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_none(),
        created_at: rfc3339(row.try_get("created_at")?),
        updated_at: rfc3339(row.try_get("updated_at")?),
        secret: None,
    })
}

/// Webhook `id` of organization `org_id`.
pub async fn fetch(pool: &AnyPool, org_id: &str, id: &str) -> Result<WebhookView, Error> {
    let row = sqlx::query(&format!("{SELECT} WHERE w.org_id = $1 AND w.id = $2"))
        .bind(org_id)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("webhook", id))?;
    view(&row)
}

/// Refuses a URL webhooks may not reach (`destination`), naming the field.
async fn check_url(url: &str, destinations: &Destinations) -> Result<(), Error> {
    destinations
        .check(url)
        .await
        .map(drop)
        .map_err(|refusal| Error::invalid("/url", format!("`{url}` {refusal}")))
}

fn events_text(events: &[String]) -> Result<String, Error> {
    webhooks::check_events(events)?;
    serde_json::to_string(events).map_err(Error::internal)
}

/// Registers a webhook; the view carries its signing secret, this once. Its URL must
/// be one `destinations` permits.
pub async fn create(
    pool: &AnyPool,
    actor: &Actor,
    new: NewWebhook<'_>,
    destinations: &Destinations,
) -> Result<WebhookView, Error> {
    check_url(new.url, destinations).await?;
    let event_list = new.events.unwrap_or_else(webhooks::default_events);
    let events = events_text(&event_list)?;
    let project = match new.project {
        Some(key) => Some(scope::project(pool, &actor.org_id, key).await?),
        None => None,
    };
    let id = db::new_id("whk");
    let secret = secret::new_secret("whsec");
    let now = now_ms();
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "INSERT INTO webhooks (id, org_id, project_id, url, events, description, secret, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(&id)
    .bind(&actor.org_id)
    .bind(project.as_ref().map(|p| p.id.clone()))
    .bind(new.url)
    .bind(&events)
    .bind(new.description.unwrap_or_default())
    .bind(&secret)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let after = json!({"url": new.url, "events": event_list, "project": new.project});
    audit::record(
        &mut tx,
        actor,
        "webhook.create",
        &format!("webhook/{id}"),
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    let mut created = fetch(pool, &actor.org_id, &id).await?;
    created.secret = Some(secret);
    Ok(created)
}

/// The organization's webhooks (without secrets), oldest first.
pub async fn list(pool: &AnyPool, org_id: &str) -> Result<Vec<WebhookView>, Error> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE w.org_id = $1 ORDER BY w.created_at, w.id"
    ))
    .bind(org_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(view).collect()
}

/// Changes a webhook's URL, events, description or enabled state. A new URL must be
/// one `destinations` permits.
pub async fn update(
    pool: &AnyPool,
    actor: &Actor,
    id: &str,
    change: WebhookChange,
    destinations: &Destinations,
) -> Result<WebhookView, Error> {
    let before = fetch(pool, &actor.org_id, id).await?;
    if let Some(url) = &change.url {
        check_url(url, destinations).await?;
    }
    let url = change.url.unwrap_or(before.url.clone());
    let events = events_text(&change.events.unwrap_or(before.events.clone()))?;
    let description = change.description.unwrap_or(before.description.clone());
    let enabled = change.enabled.unwrap_or(before.enabled);
    write(pool, actor, &before, &url, &events, &description, enabled).await
}

/// Disables a webhook (nothing is hard-deleted; its log stays).
pub async fn disable(pool: &AnyPool, actor: &Actor, id: &str) -> Result<WebhookView, Error> {
    let before = fetch(pool, &actor.org_id, id).await?;
    let events = events_text(&before.events)?;
    write(
        pool,
        actor,
        &before,
        &before.url,
        &events,
        &before.description,
        false,
    )
    .await
}

async fn write(
    pool: &AnyPool,
    actor: &Actor,
    before: &WebhookView,
    url: &str,
    events: &str,
    description: &str,
    enabled: bool,
) -> Result<WebhookView, Error> {
    let now = now_ms();
    let disabled_at = match (enabled, before.enabled) {
        (true, _) => None,
        (false, true) => Some(now),
        (false, false) => sqlx::query("SELECT disabled_at FROM webhooks WHERE id = $1")
            .bind(&before.id)
            .fetch_one(pool)
            .await?
            .try_get("disabled_at")?,
    };
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "UPDATE webhooks SET url = $1, events = $2, description = $3, disabled_at = $4, updated_at = $5 WHERE id = $6",
    )
    .bind(url)
    .bind(events)
    .bind(description)
    .bind(disabled_at)
    .bind(now)
    .bind(&before.id)
    .execute(&mut *tx)
    .await?;
    let action = if enabled {
        "webhook.update"
    } else {
        "webhook.disable"
    };
    let events: Value = serde_json::from_str(events).map_err(Error::internal)?;
    let after =
        json!({"url": url, "events": events, "description": description, "enabled": enabled});
    let resource = format!("webhook/{}", before.id);
    audit::record(
        &mut tx,
        actor,
        action,
        &resource,
        Some(&json!(before)),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id, &before.id).await
}

/// The delivery log of webhook `id`, newest first, at most `limit` entries (the route
/// checks it is within 1–200, as for every list).
pub async fn deliveries(
    pool: &AnyPool,
    org_id: &str,
    id: &str,
    limit: i64,
) -> Result<Vec<Value>, Error> {
    fetch(pool, org_id, id).await?;
    let rows = sqlx::query(
        "SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(delivery).collect()
}

fn delivery(row: &AnyRow) -> Result<Value, Error> {
    let time = |name: &str| -> Result<Option<String>, Error> {
        Ok(row.try_get::<Option<i64>, _>(name)?.map(rfc3339))
    };
    let status: String = row.try_get("status")?;
    Ok(json!({
        "id": row.try_get::<i64, _>("id")?,
        "eventId": row.try_get::<String, _>("event_id")?,
        "event": row.try_get::<String, _>("event")?,
        "nextAttemptAt": if status == "pending" { time("next_attempt_at")? } else { None },
        "status": status,
        "attempts": row.try_get::<i64, _>("attempts")?,
        "lastError": row.try_get::<Option<String>, _>("last_error")?,
        "responseCode": row.try_get::<Option<i64>, _>("response_code")?,
        "createdAt": time("created_at")?,
        "lastAttemptAt": time("last_attempt_at")?,
        "deliveredAt": time("delivered_at")?,
    }))
}
