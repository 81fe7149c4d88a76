//! Webhooks: HTTP notifications of changes for chat tools or CI. Every audited
//! change (`flag.create`, `flag.on`, `segment.update`, …) writes one
//! `webhook_deliveries` row per matching webhook in the transaction of the change
//! ([`enqueue`], called by `audit::record`), so a notification exists exactly when
//! the change committed. The deliverer in `webhook_delivery` sends them.
//!
//! Each request is signed: `Edgeflag-Signature: t=<unix seconds>,v1=<hex>` where the
//! hex is HMAC-SHA256, keyed with the webhook's secret (its UTF-8 bytes), of
//! `"<t>.<body>"` — see [`signature`] and [`verify`].

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::{Any, Row, Transaction};

use crate::{
    actor::Actor,
    db::{self, now_ms, rfc3339},
    error::Error,
};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "edgeflag-signature";
/// The header naming the event type (`flag.on`).
pub const EVENT_HEADER: &str = "edgeflag-event";
/// The header carrying the event id, the same on every retry (for idempotency).
pub const DELIVERY_HEADER: &str = "edgeflag-delivery";

/// The events a webhook gets when its request names none.
pub fn default_events() -> Vec<String> {
    vec!["flag.*".to_string()]
}

/// Whether `pattern` (`*`, `flag.*` or an exact action) matches `action`.
pub fn matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) if prefix.ends_with('.') => action.starts_with(prefix),
        _ => pattern == action,
    }
}

/// Checks an events filter: non-empty, each `*`, `<noun>.*` or `<noun>.<verb>`.
pub fn check_events(events: &[String]) -> Result<(), Error> {
    if events.is_empty() {
        return Err(Error::invalid("/events", "name at least one event"));
    }
    for (i, e) in events.iter().enumerate() {
        let ok = e == "*"
            || (e.contains('.')
                && e.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*'))
                && (!e.contains('*') || (e.ends_with(".*") && e.matches('*').count() == 1)));
        if !ok {
            return Err(Error::invalid(
                format!("/events/{i}"),
                format!(
                    "`{e}` is not an event filter: use `*`, `flag.*` or an action such as `flag.on`"
                ),
            ));
        }
    }
    Ok(())
}

/// The signature header value of `body` sent at `t` (unix seconds).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(mac(secret, t, body)))
}

fn mac(secret: &str, t: i64, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Verifies a signature header as a receiver would: the MAC must match (compared in
/// constant time) and `t` must be within `tolerance_secs` of `now_secs`.
pub fn verify(secret: &str, header: &str, body: &[u8], now_secs: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now_secs - t).abs() > tolerance_secs {
        return false;
    }
    sigs.iter().any(|sig| {
        let Ok(mut mac) = <Hmac<Sha256>>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        mac.verify_slice(sig).is_ok()
    })
}

/// The project key a resource path (`project/web/flag/x`) belongs to.
fn project_of(resource: &str) -> Option<&str> {
    let mut parts = resource.split('/');
    (parts.next() == Some("project"))
        .then(|| parts.next())
        .flatten()
}

/// One audited change, as a webhook receives it.
#[derive(Debug)]
pub struct Event<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub resource: &'a str,
    pub before: Option<&'a Value>,
    pub after: Option<&'a Value>,
}

/// Writes a pending delivery of `event` for every live webhook of the actor's
/// organization whose project and events filter match. Changes to webhooks
/// themselves notify nobody.
pub async fn enqueue(tx: &mut Transaction<'_, Any>, event: &Event<'_>) -> Result<(), Error> {
    if event.action.starts_with("webhook.") {
        return Ok(());
    }
    let hooks = sqlx::query(
        "SELECT w.id, w.events, p.key AS project_key FROM webhooks w LEFT JOIN projects p ON p.id = w.project_id \
         WHERE w.org_id = $1 AND w.disabled_at IS NULL ORDER BY w.id",
    )
    .bind(&event.actor.org_id)
    .fetch_all(&mut **tx)
    .await?;
    if hooks.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let event_id = db::new_id("evt");
    let body = json!({
        "id": event_id,
        "type": event.action,
        "createdAt": rfc3339(now),
        "organizationId": event.actor.org_id,
        "project": project_of(event.resource),
        "resource": event.resource,
        "actor": event.actor.label(),
        "requestId": event.actor.request_id,
        "data": {"before": event.before, "after": event.after},
    })
    .to_string();
    for hook in hooks {
        let id: String = hook.try_get("id")?;
        let events: String = hook.try_get("events")?;
        let events: Vec<String> = serde_json::from_str(&events).map_err(Error::internal)?;
        let project: Option<String> = hook.try_get("project_key")?;
        let in_scope = project.is_none() || project.as_deref() == project_of(event.resource);
        if !in_scope || !events.iter().any(|p| matches(p, event.action)) {
            continue;
        }
        sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, event, payload, status, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
        )
        .bind(&id)
        .bind(&event_id)
        .bind(event.action)
        .bind(&body)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_families_and_exact_actions() {
        assert!(matches("*", "segment.update"));
        assert!(matches("flag.*", "flag.on"));
        assert!(!matches("flag.*", "flagship.on"));
        assert!(!matches("flag.*", "segment.update"));
        assert!(matches("flag.on", "flag.on"));
        assert!(!matches("flag.on", "flag.off"));
        assert!(check_events(&["flag.*".into(), "segment.update".into()]).is_ok());
        assert!(check_events(&[]).is_err());
        assert!(check_events(&["fl*g.on".into()]).is_err());
        assert!(check_events(&["flag".into()]).is_err());
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let header = signature("whsec_x", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify("whsec_x", &header, b"{\"a\":1}", 1_700_000_010, 300));
        assert!(!verify(
            "whsec_x",
            &header,
            b"{\"a\":2}",
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "whsec_y",
            &header,
            b"{\"a\":1}",
            1_700_000_010,
            300
        ));
        assert!(!verify(
            "whsec_x",
            &header,
            b"{\"a\":1}",
            1_700_001_000,
            300
        ));
        assert_eq!(project_of("project/web/flag/x"), Some("web"));
        assert_eq!(project_of("api-key/key_1"), None);
    }
}
