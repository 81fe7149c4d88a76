//! Invitations: how people join an organization. An admin invites an email address
//! with a role; the answer carries a link with a random token (`efi_…`, 192 bits),
//! shown once, whose SHA-256 alone is stored. The link works once, until it expires
//! (`accounts.invitation_ttl_secs`), unless revoked.
//!
//! Why a stored random token rather than a self-contained signed one: it is as
//! unforgeable (nobody can make a token the table holds the hash of), and unlike a
//! signature it can be revoked and works exactly once, which an invitation needs.
//!
//! Accepting makes the account (name and password) if the address has none, or, for a
//! person who already has one, asks for its password; then the membership.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyPool, Row, any::AnyRow};

use crate::{
    actor::{Actor, Role},
    audit,
    config::AccountsConfig,
    db::{self, now_ms, rfc3339},
    error::Error,
    passwords, secret,
    users::{self, SignedIn},
};

/// An invitation as the API lists it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role: Role,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub state: String,
    pub created_at: String,
    /// Who invited, as the audit log names them.
    pub created_by: String,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<String>,
    /// The token, only in the answer that creates the invitation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

fn view(row: &AnyRow) -> Result<InvitationView, Error> {
    let role: String = row.try_get("role")?;
    let expires: i64 = row.try_get("expires_at")?;
    let accepted: Option<i64> = row.try_get("accepted_at")?;
    let revoked: Option<i64> = row.try_get("revoked_at")?;
    let state = match (accepted, revoked) {
        (Some(_), _) => "accepted",
        (None, Some(_)) => "revoked",
        (None, None) if expires <= now_ms() => "expired",
        (None, None) => "pending",
    };
    Ok(InvitationView {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        role: Role::parse(&role).ok_or_else(|| Error::internal("stored role"))?,
        state: state.to_string(),
        created_at: rfc3339(row.try_get("created_at")?),
        created_by: row.try_get("created_by")?,
        expires_at: rfc3339(expires),
        accepted_at: accepted.map(rfc3339),
        token: None,
    })
}

/// Invitation `id` of organization `org_id`.
pub async fn fetch(pool: &AnyPool, org_id: &str, id: &str) -> Result<InvitationView, Error> {
    let row = sqlx::query("SELECT * FROM invitations WHERE id = $1 AND org_id = $2")
        .bind(id)
        .bind(org_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("invitation", id))?;
    view(&row)
}

/// The invitations of an organization, newest first.
pub async fn list(pool: &AnyPool, org_id: &str) -> Result<Vec<InvitationView>, Error> {
    let rows =
        sqlx::query("SELECT * FROM invitations WHERE org_id = $1 ORDER BY created_at DESC, id")
            .bind(org_id)
            .fetch_all(pool)
            .await?;
    rows.iter().map(view).collect()
}

/// Invites `email` into the actor's organization with `role`; the view carries the
/// token, this once. Needs admin, and the role itself (only an owner invites an owner).
pub async fn create(
    pool: &AnyPool,
    actor: &Actor,
    email: &str,
    role: Role,
    policy: &AccountsConfig,
) -> Result<InvitationView, Error> {
    actor.require(Role::Admin)?;
    actor.require(role)?;
    let email = users::normalize_email(email, "/email")?;
    let now = now_ms();
    let mut tx = db::begin(pool).await?;
    let member = sqlx::query(
        "SELECT 1 AS x FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND u.email = $2",
    )
    .bind(&actor.org_id)
    .bind(&email)
    .fetch_optional(&mut *tx)
    .await?;
    if member.is_some() {
        return Err(Error::Conflict(format!("{email} is already a member")));
    }
    let pending = sqlx::query(
        "SELECT id FROM invitations WHERE org_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(&actor.org_id)
    .bind(&email)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = pending {
        let id: String = row.try_get("id")?;
        return Err(Error::Conflict(format!(
            "{email} already has a pending invitation ({id}); revoke it to send a new one"
        )));
    }
    let id = db::new_id("inv");
    let token = secret::new_secret("efi");
    sqlx::query(
        "INSERT INTO invitations (id, org_id, email, role, hash, created_at, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&actor.org_id)
    .bind(&email)
    .bind(role.as_str())
    .bind(secret::hash_secret(&token))
    .bind(now)
    .bind(actor.label())
    .bind(now.saturating_add(policy.invitation_ttl_secs.saturating_mul(1000)))
    .execute(&mut *tx)
    .await?;
    let after = json!({"id": id, "email": email, "role": role});
    audit::record(
        &mut tx,
        actor,
        "invitation.create",
        &format!("invitation/{id}"),
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    let mut invitation = fetch(pool, &actor.org_id, &id).await?;
    invitation.token = Some(token);
    Ok(invitation)
}

/// Revokes a pending invitation of the actor's organization. Needs admin.
pub async fn revoke(pool: &AnyPool, actor: &Actor, id: &str) -> Result<InvitationView, Error> {
    actor.require(Role::Admin)?;
    let before = fetch(pool, &actor.org_id, id).await?;
    if before.state != "pending" {
        return Err(Error::Conflict(format!(
            "the invitation is {}, not pending",
            before.state
        )));
    }
    let mut tx = db::begin(pool).await?;
    sqlx::query("UPDATE invitations SET revoked_at = $1 WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .bind(&actor.org_id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        actor,
        "invitation.revoke",
        &format!("invitation/{id}"),
        Some(&json!(before)),
        None,
    )
    .await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id, id).await
}

/// What an invitation offers, shown to the person holding its token before they accept.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    #[serde(skip)]
    pub id: String,
    #[serde(skip)]
    pub org_id: String,
    pub email: String,
    pub role: Role,
    /// The organization's key and name.
    pub organization: String,
    pub organization_name: String,
    pub expires_at: String,
    /// Whether the address already has an account (accepting then asks for its password).
    pub existing_account: bool,
}

/// One answer for every unusable token, so a token's state leaks nothing.
const UNUSABLE: &str =
    "this invitation link is not valid: it may have expired, been used or been revoked";

/// The pending invitation whose link carries `token`, or [`Error::Unauthenticated`].
pub async fn offer(pool: &AnyPool, token: &str) -> Result<Offer, Error> {
    let row = sqlx::query(
        "SELECT i.id, i.org_id, i.email, i.role, i.expires_at, o.key, o.name, \
         (SELECT COUNT(*) FROM users u WHERE u.email = i.email) AS accounts \
         FROM invitations i JOIN organizations o ON o.id = i.org_id \
         WHERE i.hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2 AND o.archived_at IS NULL",
    )
    .bind(secret::hash_secret(token))
    .bind(now_ms())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::Unauthenticated(UNUSABLE.into()))?;
    let role: String = row.try_get("role")?;
    Ok(Offer {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        email: row.try_get("email")?,
        role: Role::parse(&role).ok_or_else(|| Error::internal("stored role"))?,
        organization: row.try_get("key")?,
        organization_name: row.try_get("name")?,
        expires_at: rfc3339(row.try_get("expires_at")?),
        existing_account: row.try_get::<i64, _>("accounts")? > 0,
    })
}

/// What the person accepting gives: for a new account a name and a password; for an
/// existing one its password (the name is ignored).
#[derive(Debug, Clone, Copy)]
pub struct Acceptance<'a> {
    pub token: &'a str,
    pub name: Option<&'a str>,
    pub password: &'a str,
    /// The id of the request accepting, for the audit entry.
    pub request_id: Option<&'a str>,
}

/// Accepts an invitation: the account (new, or proven by its password), the
/// membership, the invitation marked used, and an audit entry by the new member, all
/// at once. Answers who signed in where, for the caller to open a session.
pub async fn accept(
    pool: &AnyPool,
    with: Acceptance<'_>,
    policy: &AccountsConfig,
) -> Result<SignedIn, Error> {
    let offer = offer(pool, with.token).await?;
    let existing = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(&offer.email)
        .fetch_optional(pool)
        .await?;
    let new_account = match &existing {
        Some(row) => {
            if !passwords::verify(Some(row.try_get("password_hash")?), with.password).await? {
                return Err(Error::invalid(
                    "/password",
                    format!("{} already has an account: give its password", offer.email),
                ));
            }
            None
        }
        None => {
            let name = users::check_name(with.name.unwrap_or_default(), "/name")?;
            passwords::check(
                with.password,
                policy.password_min_length,
                &[&offer.email, &name],
                "/password",
            )?;
            Some((name, passwords::hash(with.password).await?))
        }
    };
    let mut tx = db::begin(pool).await?;
    let used = sqlx::query(
        "UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now_ms())
    .bind(&offer.id)
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 {
        return Err(Error::Unauthenticated(UNUSABLE.into()));
    }
    let user_id = match (&existing, &new_account) {
        (Some(row), _) => row.try_get("id")?,
        (None, Some((name, hash))) => users::insert(&mut tx, &offer.email, name, hash).await?,
        (None, None) => return Err(Error::internal("an acceptance without an account")),
    };
    users::join(
        &mut tx,
        &user_id,
        &offer.org_id,
        offer.role,
        Some(&offer.id),
    )
    .await?;
    sqlx::query("UPDATE invitations SET accepted_by = $1 WHERE id = $2")
        .bind(&user_id)
        .bind(&offer.id)
        .execute(&mut *tx)
        .await?;
    let name = match (&existing, &new_account) {
        (_, Some((name, _))) => name.clone(),
        _ => sqlx::query("SELECT name FROM users WHERE id = $1")
            .bind(&user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("name")?,
    };
    let newcomer = Actor {
        id: user_id.clone(),
        name: format!("{name} <{}>", offer.email),
        kind: crate::actor::ActorKind::User,
        org_id: offer.org_id.clone(),
        role: offer.role,
        operator: false,
        request_id: with.request_id.map(str::to_string),
    };
    let after =
        json!({"id": user_id, "email": offer.email, "role": offer.role, "invitation": offer.id});
    audit::record(
        &mut tx,
        &newcomer,
        "user.join",
        &format!("user/{user_id}"),
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(SignedIn {
        user_id,
        org_id: offer.org_id,
    })
}
