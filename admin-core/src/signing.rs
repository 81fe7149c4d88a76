//! Snapshot signing keys (Ed25519). One key is active and signs every new
//! snapshot; a rotated key is retired but stays in the JWKS while any target still
//! holds a snapshot it signed, so an edge never sees a signature it cannot check.

use edgeflag_engine::envelope::{Jwks, KeySet, SigningKey};
use sqlx::{AnyPool, Row};

use crate::{
    actor::Actor,
    audit,
    db::{self, now_ms},
    error::Error,
};

/// Creates the first snapshot key if there is none.
pub async fn ensure_snapshot_key(pool: &AnyPool) -> Result<(), sqlx::Error> {
    let live = sqlx::query(
        "SELECT kid FROM signing_keys WHERE purpose = 'snapshot' AND retired_at IS NULL",
    )
    .fetch_optional(pool)
    .await?;
    if live.is_none() {
        insert_key(pool).await?;
    }
    Ok(())
}

async fn insert_key(pool: &AnyPool) -> Result<String, sqlx::Error> {
    let now = now_ms();
    let kid = format!(
        "sk_{}_{}",
        chrono_stamp(now),
        hex::encode(db::random_bytes::<3>())
    );
    sqlx::query(
        "INSERT INTO signing_keys (kid, purpose, seed, created_at) VALUES ($1, 'snapshot', $2, $3)",
    )
    .bind(&kid)
    .bind(hex::encode(db::random_bytes::<32>()))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(kid)
}

fn chrono_stamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y%m%d")
        .to_string()
}

/// The key that signs new snapshots.
pub async fn active_key(pool: &AnyPool) -> Result<SigningKey, sqlx::Error> {
    let row = sqlx::query(
        "SELECT kid, seed FROM signing_keys WHERE purpose = 'snapshot' AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await?;
    let kid: String = row.try_get("kid")?;
    let seed: String = row.try_get("seed")?;
    let seed = seed_key(&seed).ok_or_else(|| {
        sqlx::Error::Protocol(format!("signing key `{kid}` has a malformed seed"))
    })?;
    Ok(SigningKey::from_seed(&kid, seed.to_bytes()))
}

/// Retires the active key and creates a new one; returns the new key id. The caller
/// enqueues a republish of every environment so the new key takes over.
pub async fn rotate(pool: &AnyPool) -> Result<String, sqlx::Error> {
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "UPDATE signing_keys SET retired_at = $1 WHERE purpose = 'snapshot' AND retired_at IS NULL",
    )
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    let kid = format!(
        "sk_{}_{}",
        chrono_stamp(now_ms()),
        hex::encode(db::random_bytes::<3>())
    );
    sqlx::query(
        "INSERT INTO signing_keys (kid, purpose, seed, created_at) VALUES ($1, 'snapshot', $2, $3)",
    )
    .bind(&kid)
    .bind(hex::encode(db::random_bytes::<32>()))
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO outbox (environment_id, reason, created_at) SELECT id, 'signing-key-rotated', $1 FROM environments WHERE archived_at IS NULL",
    )
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(kid)
}

/// [`rotate`] on behalf of `actor`, recorded in the audit log (the CLI's `rotate-signing-key`
/// acts as no one and calls [`rotate`] itself).
pub async fn rotate_by(pool: &AnyPool, actor: &Actor) -> Result<String, Error> {
    let kid = rotate(pool).await?;
    let mut tx = db::begin(pool).await?;
    audit::record(
        &mut tx,
        actor,
        "signing-key.rotate",
        &format!("signing-key/{kid}"),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(kid)
}

/// The public keys an edge must trust: the active key, plus every retired key that
/// signed a snapshot some target still holds (or that has not been replaced yet).
pub async fn jwks(pool: &AnyPool) -> Result<Jwks, sqlx::Error> {
    let keys = trusted_signing_keys(pool).await?;
    Ok(KeySet::new(keys.iter().map(SigningKey::verifying_key).collect()).to_jwks())
}

/// The keys behind [`jwks`], oldest first, with their secrets (for endorsements).
pub async fn trusted_signing_keys(pool: &AnyPool) -> Result<Vec<SigningKey>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT kid, seed FROM signing_keys k WHERE purpose = 'snapshot' AND (retired_at IS NULL OR EXISTS ( \
           SELECT 1 FROM publish_status p JOIN env_snapshots s \
             ON s.environment_id = p.environment_id AND s.version = p.delivered_version \
           WHERE s.kid = k.kid) OR EXISTS ( \
           SELECT 1 FROM env_snapshots s WHERE s.kid = k.kid AND s.version = ( \
             SELECT MAX(s2.version) FROM env_snapshots s2 WHERE s2.environment_id = s.environment_id))) \
         ORDER BY created_at",
    )
    .fetch_all(pool)
    .await?;
    let mut keys = Vec::new();
    for row in rows {
        let kid: String = row.try_get("kid")?;
        let seed: String = row.try_get("seed")?;
        if let Some(key) = seed_key(&seed) {
            keys.push(SigningKey::from_seed(&kid, key.to_bytes()));
        }
    }
    Ok(keys)
}

/// Every snapshot key with its state, for the signing-keys listing.
pub async fn list(pool: &AnyPool) -> Result<Vec<(String, i64, Option<i64>)>, sqlx::Error> {
    let rows = sqlx::query("SELECT kid, created_at, retired_at FROM signing_keys WHERE purpose = 'snapshot' ORDER BY created_at")
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

/// Decodes a hex seed (as `signing_keys.seed` stores it) into a key.
pub fn seed_key(seed_hex: &str) -> Option<ed25519_dalek::SigningKey> {
    let bytes: [u8; 32] = hex::decode(seed_hex).ok()?.try_into().ok()?;
    Some(ed25519_dalek::SigningKey::from_bytes(&bytes))
}
