//! The change feed's durable rows: what an organization's dashboards and scripts hear
//! about, numbered 1, 2, 3, … per organization.
//!
//! Every audited change writes one (`audit::record` calls [`record`] in the change's
//! transaction, pointing at its audit row), and so does the publisher for each built
//! snapshot and each delivery outcome per target. The number comes from the
//! organization's row in `feed_sequences`, incremented in the same transaction: a
//! rolled-back change takes its number back (numbers are gapless), and a second writer
//! waits for the first to commit (numbers commit in order). So a reader that has seen
//! `n` has seen everything up to `n`, and "events after `n`", read from the database,
//! is a resume point that survives restarts of the admin and of its readers.
//!
//! The price is that audited writes of one organization serialize on that row until
//! they commit (SQLite serializes every writer anyway). The HTTP layer streams these
//! rows as Server-Sent Events; nothing here knows about streams.

use serde_json::{Value, json};
use sqlx::{Any, AnyPool, Row, Transaction, any::AnyRow};

use crate::{
    actor::Role,
    db::{now_ms, rfc3339},
    error::Error,
};

/// One row of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// Its number within the organization: the SSE event id.
    pub seq: i64,
    /// The audit action (`flag.on`) or the publisher's (`publish.delivered`).
    pub kind: String,
    /// What changed, as the audit log names it (`project/web/flag/new-checkout`).
    pub resource: String,
    /// Who, as the audit log names them, or `publisher`.
    pub actor: String,
    /// The audit entry with the change's documents, for audited changes.
    pub audit_id: Option<i64>,
    /// A small summary (project, environment, target, versions); never a secret.
    pub data: Value,
    pub at: i64,
}

impl FeedEvent {
    /// The event as the feed sends it.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.seq,
            "type": self.kind,
            "resource": self.resource,
            "actor": self.actor,
            "at": rfc3339(self.at),
            "auditId": self.audit_id,
            "data": self.data,
        })
    }

    /// Whether a member of `role` may hear of this event: the events of things only
    /// admins may list (API keys, invitations) go to admins only, as those lists do.
    pub fn visible_to(&self, role: Role) -> bool {
        let admin_only = ["api-key.", "invitation."]
            .iter()
            .any(|family| self.kind.starts_with(family));
        !admin_only || role >= Role::Admin
    }
}

/// A row to write.
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub org_id: &'a str,
    pub kind: &'a str,
    pub resource: &'a str,
    pub actor: &'a str,
    pub audit_id: Option<i64>,
    pub data: Value,
}

/// Writes one event in the caller's transaction and answers its number.
pub async fn record(tx: &mut Transaction<'_, Any>, event: &NewEvent<'_>) -> Result<i64, Error> {
    let seq: i64 = sqlx::query(
        "INSERT INTO feed_sequences (org_id, seq) VALUES ($1, 1) \
         ON CONFLICT (org_id) DO UPDATE SET seq = feed_sequences.seq + 1 RETURNING seq",
    )
    .bind(event.org_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("seq")?;
    sqlx::query(
        "INSERT INTO feed_events (org_id, seq, type, resource, actor, audit_id, data, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(event.org_id)
    .bind(seq)
    .bind(event.kind)
    .bind(event.resource)
    .bind(event.actor)
    .bind(event.audit_id)
    .bind(event.data.to_string())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(seq)
}

fn event(row: &AnyRow) -> Result<FeedEvent, Error> {
    let data: String = row.try_get("data")?;
    Ok(FeedEvent {
        seq: row.try_get("seq")?,
        kind: row.try_get("type")?,
        resource: row.try_get("resource")?,
        actor: row.try_get("actor")?,
        audit_id: row.try_get("audit_id")?,
        data: serde_json::from_str(&data).unwrap_or(Value::Null),
        at: row.try_get("at")?,
    })
}

/// Up to `limit` events of the organization numbered above `after` and at most `up_to`,
/// oldest first.
pub async fn between(
    pool: &AnyPool,
    org_id: &str,
    after: i64,
    up_to: i64,
    limit: i64,
) -> Result<Vec<FeedEvent>, Error> {
    let rows = sqlx::query(
        "SELECT * FROM feed_events WHERE org_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
    )
    .bind(org_id)
    .bind(after)
    .bind(up_to)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(event).collect()
}

/// Where an organization's feed stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The newest number written (0 before the first event).
    pub latest: i64,
    /// The oldest number still kept (older rows are pruned); `None` when none is kept.
    pub oldest: Option<i64>,
}

impl Position {
    /// Whether every event after `after` up to `latest` is still kept, so a reader that
    /// saw `after` can catch up without missing one.
    pub fn can_resume_from(&self, after: i64) -> bool {
        if after > self.latest || after < 0 {
            return false;
        }
        after == self.latest || self.oldest.is_some_and(|oldest| oldest <= after + 1)
    }
}

/// The organization's [`Position`].
pub async fn position(pool: &AnyPool, org_id: &str) -> Result<Position, Error> {
    let latest: Option<i64> = sqlx::query("SELECT seq FROM feed_sequences WHERE org_id = $1")
        .bind(org_id)
        .fetch_optional(pool)
        .await?
        .map(|row| row.try_get("seq"))
        .transpose()?;
    let oldest: Option<i64> =
        sqlx::query("SELECT MIN(seq) AS m FROM feed_events WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(pool)
            .await?
            .try_get("m")?;
    Ok(Position {
        latest: latest.unwrap_or(0),
        oldest,
    })
}

/// The newest number of every organization that has a feed (one small table).
pub async fn latest_all(pool: &AnyPool) -> Result<Vec<(String, i64)>, Error> {
    let rows = sqlx::query("SELECT org_id, seq FROM feed_sequences")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("org_id")?, r.try_get("seq")?)))
        .collect()
}

/// Deletes events written before `before_ms`, keeping each organization's newest
/// (so its position stays readable); answers how many went.
pub async fn prune(pool: &AnyPool, before_ms: i64) -> Result<u64, Error> {
    let done = sqlx::query(
        "DELETE FROM feed_events WHERE at < $1 AND seq < \
         (SELECT s.seq FROM feed_sequences s WHERE s.org_id = feed_events.org_id)",
    )
    .bind(before_ms)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The project key a resource path (`project/web/flag/x`) names.
pub fn project_of(resource: &str) -> Option<&str> {
    let mut parts = resource.split('/');
    (parts.next() == Some("project"))
        .then(|| parts.next())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_needs_every_later_event_kept() {
        let p = Position {
            latest: 10,
            oldest: Some(5),
        };
        assert!(p.can_resume_from(4) && p.can_resume_from(9) && p.can_resume_from(10));
        assert!(!p.can_resume_from(3), "event 4 was pruned");
        assert!(
            !p.can_resume_from(11),
            "an id from the future (another database)"
        );
        assert!(!p.can_resume_from(-1));
        let empty = Position {
            latest: 0,
            oldest: None,
        };
        assert!(empty.can_resume_from(0) && !empty.can_resume_from(1));
    }

    #[test]
    fn key_and_invitation_events_reach_admins_only() {
        let mut e = FeedEvent {
            seq: 1,
            kind: "api-key.create".into(),
            resource: "api-key/key_1".into(),
            actor: "usr_1 (Ada <ada@example.com>)".into(),
            audit_id: Some(1),
            data: json!({}),
            at: 0,
        };
        assert!(!e.visible_to(Role::Editor) && e.visible_to(Role::Admin));
        e.kind = "flag.on".into();
        assert!(e.visible_to(Role::Viewer));
        assert_eq!(project_of("project/web/flag/x"), Some("web"));
        assert_eq!(project_of("user/usr_1"), None);
    }
}
