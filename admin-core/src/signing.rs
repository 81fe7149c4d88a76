//! The admin's Ed25519 keys (`signing_keys`), each row one of three purposes:
//!
//! - `snapshot`: an organization's snapshot-signing key (`org_id`). One is live per
//!   organization and signs that organization's environments only; the edge binds each
//!   environment to its organization's keys (`edge/src/trusted.rs`). A rotated key is
//!   retired but stays trusted while any target still holds a snapshot it signed.
//! - `instance`: the instance key. It signs no snapshot: it endorses organizations'
//!   keys at the edges that trust it (`endorse.rs`), so creating an organization or
//!   rotating its key needs no redeploy. The global snapshot keys of earlier versions
//!   became instance keys (migration 0005).
//! - `token`: the key of access tokens (`admin/src/token.rs`).
//!
//! Private seeds are sealed with the master key (`masterkey.rs`); the public key is
//! stored beside them, so a JWKS is served without opening any seed.

use base64ct::{Base64UrlUnpadded, Encoding};
use edgeflag_edge::trusted::{ScopedJwk, ScopedJwks};
use edgeflag_engine::envelope::{SigningKey, VerifyingKey};
use serde_json::json;
use sqlx::{AnyConnection, AnyPool, Row, any::AnyRow};

use crate::{
    actor::{Actor, Role},
    audit,
    db::{self, now_ms},
    error::Error,
    masterkey::{Keyring, Sealed},
};

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Snapshot,
    Instance,
    Token,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Snapshot => "snapshot",
            Self::Instance => "instance",
            Self::Token => "token",
        }
    }
}

/// The associated data of a sealed seed: the row it belongs to.
fn aad(kid: &str, purpose: &str, org: Option<&str>) -> Vec<u8> {
    format!(
        "edgeflag signing key\0{kid}\0{purpose}\0{}",
        org.unwrap_or_default()
    )
    .into_bytes()
}

/// Opens the seed of a `signing_keys` row.
fn open(ring: &Keyring, row: &AnyRow) -> Result<SigningKey, Error> {
    let kid: String = row.try_get("kid")?;
    let purpose: String = row.try_get("purpose")?;
    let org: Option<String> = row.try_get("org_id")?;
    let seed: String = row.try_get("seed")?;
    let Some(kek_id) = row.try_get::<Option<String>, _>("kek_id")? else {
        return Err(Error::MasterKey(format!(
            "signing key `{kid}` is not sealed yet; the admin seals it at start"
        )));
    };
    let sealed = Sealed { kek_id, text: seed };
    let bytes: [u8; 32] = ring
        .open(&sealed, &aad(&kid, &purpose, org.as_deref()))?
        .try_into()
        .map_err(|_| Error::MasterKey(format!("signing key `{kid}` holds no 32-byte seed")))?;
    Ok(SigningKey::from_seed(&kid, bytes))
}

/// The public key as stored: the JWK's `x` (base64url).
fn public_key(key: &SigningKey) -> String {
    key.verifying_key().to_jwk().x
}

/// Inserts a new live key of `purpose` (for `org`), sealed; returns it.
async fn insert(
    conn: &mut AnyConnection,
    ring: &Keyring,
    purpose: Purpose,
    org: Option<&str>,
) -> Result<SigningKey, Error> {
    let now = now_ms();
    let prefix = match purpose {
        Purpose::Snapshot => "sk",
        Purpose::Instance => "ik",
        Purpose::Token => "tok",
    };
    let kid = format!(
        "{prefix}_{}_{}",
        chrono_stamp(now),
        hex::encode(db::random_bytes::<3>())
    );
    let seed = db::random_bytes::<32>();
    let key = SigningKey::from_seed(&kid, seed);
    let sealed = ring.seal(&seed, &aad(&kid, purpose.as_str(), org))?;
    sqlx::query(
        "INSERT INTO signing_keys (kid, purpose, org_id, seed, kek_id, public_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&kid)
    .bind(purpose.as_str())
    .bind(org.map(str::to_string))
    .bind(&sealed.text)
    .bind(&sealed.kek_id)
    .bind(public_key(&key))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(key)
}

fn chrono_stamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y%m%d")
        .to_string()
}

const LIVE: &str = "SELECT * FROM signing_keys WHERE purpose = $1 AND COALESCE(org_id, '') = $2 \
                    AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1";

/// The live key of `purpose` (for `org`), created when there is none.
async fn live(
    pool: &AnyPool,
    ring: &Keyring,
    purpose: Purpose,
    org: Option<&str>,
) -> Result<SigningKey, Error> {
    let find = || {
        sqlx::query(LIVE)
            .bind(purpose.as_str())
            .bind(org.unwrap_or_default().to_string())
    };
    if let Some(row) = find().fetch_optional(pool).await? {
        return open(ring, &row);
    }
    let mut conn = pool.acquire().await?;
    match insert(&mut conn, ring, purpose, org).await {
        Ok(key) => Ok(key),
        // Another admin instance created it a moment ago (one live key per purpose
        // and organization is a unique index).
        Err(Error::Conflict(_)) => open(ring, &find().fetch_one(pool).await?),
        Err(e) => Err(e),
    }
}

/// At start: seals every seed written in plain text before migration 0005, fills in
/// public keys, and checks that the configured master key opens every live key (a
/// missing or wrong key fails here, with a sentence, not at the first publish).
pub async fn prepare(pool: &AnyPool, ring: &Keyring) -> Result<(), Error> {
    let plain =
        sqlx::query("SELECT kid, purpose, org_id, seed FROM signing_keys WHERE kek_id IS NULL")
            .fetch_all(pool)
            .await?;
    for row in plain {
        let kid: String = row.try_get("kid")?;
        let purpose: String = row.try_get("purpose")?;
        let org: Option<String> = row.try_get("org_id")?;
        let seed: String = row.try_get("seed")?;
        let bytes: [u8; 32] = hex::decode(seed.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::internal(format!("signing key `{kid}` has a malformed seed")))?;
        let key = SigningKey::from_seed(&kid, bytes);
        let sealed = ring.seal(&bytes, &aad(&kid, &purpose, org.as_deref()))?;
        sqlx::query("UPDATE signing_keys SET seed = $1, kek_id = $2, public_key = $3 WHERE kid = $4 AND kek_id IS NULL")
            .bind(&sealed.text)
            .bind(&sealed.kek_id)
            .bind(public_key(&key))
            .bind(&kid)
            .execute(pool)
            .await?;
        tracing::info!(kid, kek = sealed.kek_id, "sealed a plain signing-key seed");
    }
    let live = sqlx::query("SELECT * FROM signing_keys WHERE retired_at IS NULL")
        .fetch_all(pool)
        .await?;
    for row in &live {
        open(ring, row)?;
    }
    self::live(pool, ring, Purpose::Instance, None).await?;
    Ok(())
}

/// The token key's seed (created on first start).
pub async fn token_seed(pool: &AnyPool, ring: &Keyring) -> Result<(String, [u8; 32]), Error> {
    let key = live(pool, ring, Purpose::Token, None).await?;
    Ok((key.kid().to_string(), key.seed()))
}

/// The key that signs organization `org`'s snapshots (created on its first build).
pub async fn active_key(pool: &AnyPool, ring: &Keyring, org: &str) -> Result<SigningKey, Error> {
    live(pool, ring, Purpose::Snapshot, Some(org)).await
}

/// Retires organization `org`'s key and creates its next one; every environment of
/// the organization is queued for republishing so the new key takes over. Returns
/// the new key id.
pub async fn rotate(pool: &AnyPool, ring: &Keyring, org: &str) -> Result<String, Error> {
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "UPDATE signing_keys SET retired_at = $1 WHERE purpose = 'snapshot' AND org_id = $2 AND retired_at IS NULL",
    )
    .bind(now_ms())
    .bind(org)
    .execute(&mut *tx)
    .await?;
    let key = insert(&mut tx, ring, Purpose::Snapshot, Some(org)).await?;
    sqlx::query(
        "INSERT INTO outbox (environment_id, reason, created_at) SELECT e.id, 'signing-key-rotated', $1 \
         FROM environments e JOIN projects p ON p.id = e.project_id WHERE p.org_id = $2",
    )
    .bind(now_ms())
    .bind(org)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(key.kid().to_string())
}

/// [`rotate`]s the actor's own organization's key: an owner only, recorded in the
/// organization's audit log. No one rotates another organization's key.
pub async fn rotate_by(pool: &AnyPool, ring: &Keyring, actor: &Actor) -> Result<String, Error> {
    actor.require(Role::Owner)?;
    let kid = rotate(pool, ring, &actor.org_id).await?;
    let mut tx = db::begin(pool).await?;
    audit::record(
        &mut tx,
        actor,
        "signing-key.rotate",
        &format!("signing-key/{kid}"),
        None,
        Some(&json!({"kid": kid})),
    )
    .await?;
    tx.commit().await?;
    Ok(kid)
}

/// Retires the instance key and creates the next one (`edgeflag rotate-instance-key`,
/// or an instance operator). The old one stays trusted while a target holds a
/// document it signed; edges learn the new one by an endorsement the old one signs.
pub async fn rotate_instance(pool: &AnyPool, ring: &Keyring) -> Result<String, Error> {
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "UPDATE signing_keys SET retired_at = $1 WHERE purpose = 'instance' AND retired_at IS NULL",
    )
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let key = insert(&mut tx, ring, Purpose::Instance, None).await?;
    tx.commit().await?;
    Ok(key.kid().to_string())
}

/// [`rotate_instance`] by an instance operator, recorded in the operator's
/// organization's audit log.
pub async fn rotate_instance_by(
    pool: &AnyPool,
    ring: &Keyring,
    actor: &Actor,
) -> Result<String, Error> {
    actor.require_operator("rotating the instance key")?;
    let kid = rotate_instance(pool, ring).await?;
    let mut tx = db::begin(pool).await?;
    audit::record(
        &mut tx,
        actor,
        "instance-key.rotate",
        &format!("instance-key/{kid}"),
        None,
        Some(&json!({"kid": kid})),
    )
    .await?;
    tx.commit().await?;
    Ok(kid)
}

/// Keys an edge must still trust: live ones, and retired ones that signed a snapshot
/// some target holds or the newest snapshot of an environment.
const TRUSTED: &str = "SELECT * FROM signing_keys k WHERE purpose = $1 AND (retired_at IS NULL OR EXISTS ( \
       SELECT 1 FROM publish_status p JOIN env_snapshots s \
         ON s.environment_id = p.environment_id AND s.version = p.delivered_version \
       WHERE s.kid = k.kid) OR EXISTS ( \
       SELECT 1 FROM env_snapshots s WHERE s.kid = k.kid AND s.version = ( \
         SELECT MAX(s2.version) FROM env_snapshots s2 WHERE s2.environment_id = s.environment_id))) \
     ORDER BY created_at, kid";

async fn trusted_rows(pool: &AnyPool, purpose: Purpose) -> Result<Vec<AnyRow>, Error> {
    Ok(sqlx::query(TRUSTED)
        .bind(purpose.as_str())
        .fetch_all(pool)
        .await?)
}

fn scoped(row: &AnyRow) -> Result<Option<ScopedJwk>, Error> {
    let kid: String = row.try_get("kid")?;
    let org: Option<String> = row.try_get("org_id")?;
    let Some(x) = row.try_get::<Option<String>, _>("public_key")? else {
        return Ok(None);
    };
    let bytes = Base64UrlUnpadded::decode_vec(&x).map_err(Error::internal)?;
    let jwk = VerifyingKey::from_bytes(&kid, &bytes)
        .map_err(Error::internal)?
        .to_jwk();
    Ok(Some(ScopedJwk { jwk, org }))
}

/// The public keys an edge must trust: the instance keys (no `org`), then every
/// organization's snapshot keys, each with its `org`. This is `edgeflag jwks`, the
/// value of an edge's `EDGEFLAG_TRUSTED_KEYS`.
pub async fn jwks(pool: &AnyPool) -> Result<ScopedJwks, Error> {
    let mut keys = Vec::new();
    for purpose in [Purpose::Instance, Purpose::Snapshot] {
        for row in trusted_rows(pool, purpose).await? {
            keys.extend(scoped(&row)?);
        }
    }
    Ok(ScopedJwks { keys })
}

/// Organization `org`'s trusted snapshot keys.
pub async fn org_jwks(pool: &AnyPool, org: &str) -> Result<ScopedJwks, Error> {
    let mut keys = Vec::new();
    for row in trusted_rows(pool, Purpose::Snapshot).await? {
        if row.try_get::<Option<String>, _>("org_id")?.as_deref() == Some(org) {
            keys.extend(scoped(&row)?);
        }
    }
    Ok(ScopedJwks { keys })
}

/// Every instance key with its secret, newest first: an endorsement is signed by the
/// newest one an edge trusts, which after a rotation is a retired one.
pub async fn instance_keys(pool: &AnyPool, ring: &Keyring) -> Result<Vec<SigningKey>, Error> {
    let rows = sqlx::query(
        "SELECT * FROM signing_keys WHERE purpose = 'instance' ORDER BY created_at DESC, kid DESC",
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(|row| open(ring, row)).collect()
}

/// Organization `org`'s snapshot keys with their state, for its signing-keys listing.
pub async fn list(pool: &AnyPool, org: &str) -> Result<Vec<(String, i64, Option<i64>)>, Error> {
    let rows = sqlx::query("SELECT kid, created_at, retired_at FROM signing_keys WHERE purpose = 'snapshot' AND org_id = $1 ORDER BY created_at, kid")
        .bind(org)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("kid")?,
                r.try_get("created_at")?,
                r.try_get("retired_at")?,
            ))
        })
        .collect()
}
