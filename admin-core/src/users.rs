//! People: users who sign in with an email address and a password, and their
//! memberships, each a role in one organization (the four roles API keys have).
//!
//! A user is created by accepting an invitation (`invitations`) or, for an
//! organization's first owner, by the CLI ([`add`]). Signing in ([`sign_in`]) costs the
//! same whether or not the address has an account, and fails with one message for
//! every reason, so it tells nobody which addresses exist. Sessions are `sessions`'.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{Any, AnyPool, Row, Transaction, any::AnyRow};

use crate::{
    actor::{Actor, ActorKind, Role},
    audit,
    config::AccountsConfig,
    db::{self, now_ms, rfc3339},
    error::Error,
    passwords,
    sessions::{self, Ending},
};

/// The one answer to a sign-in that does not succeed.
pub const BAD_SIGN_IN: &str = "the email address or the password is not right";

/// A member of an organization as the API lists them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// When the person joined this organization.
    pub joined_at: String,
}

fn member(row: &AnyRow) -> Result<MemberView, Error> {
    let role: String = row.try_get("role")?;
    Ok(MemberView {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).ok_or_else(|| Error::internal(format!("stored role `{role}`")))?,
        joined_at: rfc3339(row.try_get("created_at")?),
    })
}

const MEMBERS: &str = "SELECT u.id, u.email, u.name, m.role, m.created_at FROM memberships m \
                       JOIN users u ON u.id = m.user_id";

/// An email address as stored: trimmed and lower-cased; refused (at `pointer`) unless it
/// looks like `local@domain`.
pub fn normalize_email(text: &str, pointer: &str) -> Result<String, Error> {
    let email = text.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(Error::invalid(
            pointer,
            format!("`{}` is not an email address", text.trim()),
        ))
    }
}

/// A person's name as stored: trimmed, 1–100 characters.
pub fn check_name(name: &str, pointer: &str) -> Result<String, Error> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err(Error::invalid(pointer, "give a name people will recognise")),
        1..=100 => Ok(name.to_string()),
        _ => Err(Error::invalid(pointer, "use at most 100 characters")),
    }
}

/// The members of an organization, by email.
pub async fn list(pool: &AnyPool, org_id: &str) -> Result<Vec<MemberView>, Error> {
    let rows = sqlx::query(&format!("{MEMBERS} WHERE m.org_id = $1 ORDER BY u.email"))
        .bind(org_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(member).collect()
}

/// Member `user_id` of an organization, or not found.
pub async fn fetch(pool: &AnyPool, org_id: &str, user_id: &str) -> Result<MemberView, Error> {
    let row = sqlx::query(&format!("{MEMBERS} WHERE m.org_id = $1 AND u.id = $2"))
        .bind(org_id)
        .bind(user_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("user", user_id))?;
    member(&row)
}

/// The actor user `user_id` is in organization `org_id`, read afresh (a role change
/// or a removal applies at once); `None` when they are no member or the organization
/// is archived.
pub async fn actor(pool: &AnyPool, user_id: &str, org_id: &str) -> Result<Option<Actor>, Error> {
    let row = sqlx::query(
        "SELECT u.id, u.email, u.name, m.role FROM users u JOIN memberships m ON m.user_id = u.id \
         JOIN organizations o ON o.id = m.org_id WHERE u.id = $1 AND m.org_id = $2 AND o.archived_at IS NULL",
    )
    .bind(user_id)
    .bind(org_id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role: String = row.try_get("role")?;
    let (name, email): (String, String) = (row.try_get("name")?, row.try_get("email")?);
    Ok(Some(Actor {
        id: row.try_get("id")?,
        name: format!("{name} <{email}>"),
        kind: ActorKind::User,
        org_id: org_id.to_string(),
        role: Role::parse(&role).ok_or_else(|| Error::internal(format!("stored role `{role}`")))?,
        operator: false,
        request_id: None,
    }))
}

/// Who signed in, and into which organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: String,
    pub org_id: String,
}

/// Checks an email address and a password, and picks the organization: `org_key` if
/// given (the person must be a member), else the one they joined first. Every failure
/// — unknown address, wrong password, no such membership — is the same
/// [`Error::Unauthenticated`] after the same work (one argon2 verification).
pub async fn sign_in(
    pool: &AnyPool,
    email: &str,
    password: &str,
    org_key: Option<&str>,
) -> Result<SignedIn, Error> {
    let email = email.trim().to_lowercase();
    let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(pool)
        .await?;
    let (user_id, hash) = match row {
        Some(r) => (
            Some(r.try_get::<String, _>("id")?),
            Some(r.try_get("password_hash")?),
        ),
        None => (None, None),
    };
    let matches = passwords::verify(hash, password).await?;
    let user_id = user_id
        .filter(|_| matches)
        .ok_or_else(|| Error::Unauthenticated(BAD_SIGN_IN.into()))?;
    let org = sqlx::query(
        "SELECT m.org_id FROM memberships m JOIN organizations o ON o.id = m.org_id \
         WHERE m.user_id = $1 AND o.archived_at IS NULL AND ($2 = '' OR o.key = $2) \
         ORDER BY m.created_at, m.org_id LIMIT 1",
    )
    .bind(&user_id)
    .bind(org_key.unwrap_or_default())
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::Unauthenticated(BAD_SIGN_IN.into()))?;
    Ok(SignedIn {
        user_id,
        org_id: org.try_get("org_id")?,
    })
}

/// A new person, written in the caller's transaction; answers their id.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<String, Error> {
    let id = db::new_id("usr");
    let now = now_ms();
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, created_at, password_changed_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(&id)
    .bind(email)
    .bind(name)
    .bind(password_hash)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|e| match Error::from(e) {
        Error::Conflict(_) => Error::Conflict(format!("`{email}` already has an account")),
        other => other,
    })?;
    Ok(id)
}

/// Makes user `user_id` a member of an organization with `role`.
pub async fn join(
    tx: &mut Transaction<'_, Any>,
    user_id: &str,
    org_id: &str,
    role: Role,
    invited_by: Option<&str>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO memberships (user_id, org_id, role, created_at, invited_by) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(org_id)
    .bind(role.as_str())
    .bind(now_ms())
    .bind(invited_by)
    .execute(&mut **tx)
    .await
    .map_err(|e| match Error::from(e) {
        Error::Conflict(_) => Error::Conflict("this person is already a member".into()),
        other => other,
    })?;
    Ok(())
}

/// The CLI's way in (`edgeflag init --owner-email`, `edgeflag add-user`): a person with
/// a password, member of organization `org_key` with `role`, without an invitation.
/// The password is checked against the rules; answers the user id.
pub async fn add(
    pool: &AnyPool,
    org_key: &str,
    email: &str,
    name: &str,
    password: &str,
    role: Role,
    policy: &AccountsConfig,
) -> Result<String, Error> {
    let email = normalize_email(email, "/email")?;
    let name = check_name(name, "/name")?;
    passwords::check(
        password,
        policy.password_min_length,
        &[&email, &name],
        "/password",
    )?;
    let hash = passwords::hash(password).await?;
    let org_id: String = sqlx::query("SELECT id FROM organizations WHERE key = $1")
        .bind(org_key)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("organization", org_key))?
        .try_get("id")?;
    let mut tx = db::begin(pool).await?;
    let user_id = insert(&mut tx, &email, &name, &hash).await?;
    join(&mut tx, &user_id, &org_id, role, None).await?;
    let who = Actor {
        id: user_id.clone(),
        name: format!("{name} <{email}>"),
        kind: ActorKind::User,
        org_id,
        role,
        operator: false,
        request_id: Some("cli".into()),
    };
    let after = json!({"id": user_id, "email": email, "name": name, "role": role});
    audit::record(
        &mut tx,
        &who,
        "user.create",
        &format!("user/{user_id}"),
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(user_id)
}

/// How many owners (people) an organization has.
async fn owners(tx: &mut Transaction<'_, Any>, org_id: &str) -> Result<i64, Error> {
    Ok(
        sqlx::query("SELECT COUNT(*) AS n FROM memberships WHERE org_id = $1 AND role = 'owner'")
            .bind(org_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?,
    )
}

/// Refuses to leave an organization without an owner among its people.
async fn keep_an_owner(
    tx: &mut Transaction<'_, Any>,
    who: &MemberView,
    org_id: &str,
) -> Result<(), Error> {
    if who.role == Role::Owner && owners(tx, org_id).await? <= 1 {
        return Err(Error::Conflict(format!(
            "{} is the organization's last owner; make someone else owner first",
            who.email
        )));
    }
    Ok(())
}

/// Gives member `user_id` a new role. The actor needs admin and at least the role
/// both before and after (an admin neither promotes to nor demotes from owner).
pub async fn change_role(
    pool: &AnyPool,
    actor: &Actor,
    user_id: &str,
    role: Role,
) -> Result<MemberView, Error> {
    actor.require(Role::Admin)?;
    let before = fetch(pool, &actor.org_id, user_id).await?;
    actor.require(before.role.max(role))?;
    let mut tx = db::begin(pool).await?;
    if role != Role::Owner {
        keep_an_owner(&mut tx, &before, &actor.org_id).await?;
    }
    sqlx::query("UPDATE memberships SET role = $1 WHERE user_id = $2 AND org_id = $3")
        .bind(role.as_str())
        .bind(user_id)
        .bind(&actor.org_id)
        .execute(&mut *tx)
        .await?;
    let after = json!({"id": user_id, "email": before.email, "role": role});
    audit::record(
        &mut tx,
        actor,
        "user.role",
        &format!("user/{user_id}"),
        Some(&json!(before)),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    fetch(pool, &actor.org_id, user_id).await
}

/// Removes member `user_id` from the actor's organization and ends their sessions in
/// it; their account stays for their other organizations.
pub async fn remove(pool: &AnyPool, actor: &Actor, user_id: &str) -> Result<MemberView, Error> {
    actor.require(Role::Admin)?;
    let before = fetch(pool, &actor.org_id, user_id).await?;
    actor.require(before.role)?;
    let mut tx = db::begin(pool).await?;
    keep_an_owner(&mut tx, &before, &actor.org_id).await?;
    sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND org_id = $2")
        .bind(user_id)
        .bind(&actor.org_id)
        .execute(&mut *tx)
        .await?;
    sessions::end(&mut tx, user_id, Ending::InOrganization(&actor.org_id)).await?;
    audit::record(
        &mut tx,
        actor,
        "user.remove",
        &format!("user/{user_id}"),
        Some(&json!(before)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(before)
}

/// A person's own account, as `GET /v1/me` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    pub email: String,
    pub name: String,
    pub created_at: String,
    pub password_changed_at: String,
    /// Every organization the person belongs to.
    pub memberships: Vec<Membership>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub organization: String,
    pub name: String,
    pub role: Role,
}

/// User `user_id`'s account and memberships.
pub async fn me(pool: &AnyPool, user_id: &str) -> Result<Me, Error> {
    let row = sqlx::query("SELECT * FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("user", user_id))?;
    let rows = sqlx::query(
        "SELECT o.key, o.name, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id \
         WHERE m.user_id = $1 AND o.archived_at IS NULL ORDER BY m.created_at, o.key",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    let memberships = rows
        .iter()
        .map(|r| {
            let role: String = r.try_get("role")?;
            Ok(Membership {
                organization: r.try_get("key")?,
                name: r.try_get("name")?,
                role: Role::parse(&role).ok_or_else(|| Error::internal("stored role"))?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Me {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        created_at: rfc3339(row.try_get("created_at")?),
        password_changed_at: rfc3339(row.try_get("password_changed_at")?),
        memberships,
    })
}

/// Changes the actor's own password after checking the current one, and ends every
/// other session of theirs (whoever knew the old password is signed out). `keep` is
/// the session id the change was made from.
pub async fn change_password(
    pool: &AnyPool,
    actor: &Actor,
    current: &str,
    new: &str,
    keep: Option<&str>,
    policy: &AccountsConfig,
) -> Result<(), Error> {
    let row = sqlx::query("SELECT email, name, password_hash FROM users WHERE id = $1")
        .bind(&actor.id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::Forbidden("only people have passwords; API keys do not".into()))?;
    let (email, name): (String, String) = (row.try_get("email")?, row.try_get("name")?);
    if !passwords::verify(Some(row.try_get("password_hash")?), current).await? {
        return Err(Error::invalid(
            "/currentPassword",
            "this is not your current password",
        ));
    }
    if new == current {
        return Err(Error::invalid(
            "/newPassword",
            "choose a password you have not been using",
        ));
    }
    passwords::check(
        new,
        policy.password_min_length,
        &[&email, &name],
        "/newPassword",
    )?;
    let hash = passwords::hash(new).await?;
    let mut tx = db::begin(pool).await?;
    let now = now_ms();
    sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
        .bind(&hash)
        .bind(now)
        .bind(&actor.id)
        .execute(&mut *tx)
        .await?;
    sessions::end(&mut tx, &actor.id, Ending::AllBut(keep.unwrap_or_default())).await?;
    audit::record(
        &mut tx,
        actor,
        "user.password",
        &format!("user/{}", actor.id),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password for the person with `email` without the old one and ends all
/// their sessions: the operator's recovery (`edgeflag reset-password`), for a machine
/// that sends no email. The new password must pass the rules.
pub async fn reset_password(
    pool: &AnyPool,
    email: &str,
    password: &str,
    policy: &AccountsConfig,
) -> Result<(), Error> {
    let email = normalize_email(email, "/email")?;
    let row = sqlx::query("SELECT id, name FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("user", &email))?;
    let (id, name): (String, String) = (row.try_get("id")?, row.try_get("name")?);
    passwords::check(
        password,
        policy.password_min_length,
        &[&email, &name],
        "/password",
    )?;
    let hash = passwords::hash(password).await?;
    let mut tx = db::begin(pool).await?;
    let now = now_ms();
    sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
        .bind(&hash)
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    sessions::end(&mut tx, &id, Ending::All).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_or_refused_at_their_pointer() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ", "/email").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
        ] {
            match normalize_email(bad, "/email") {
                Err(Error::Invalid { path, .. }) => assert_eq!(path, "/email"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(check_name("  ", "/name").is_err());
        assert_eq!(check_name(" Ada ", "/name").unwrap(), "Ada");
    }
}
