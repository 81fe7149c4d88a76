//! Organizations (tenants): creating one with its first owner key.

use sqlx::AnyPool;

use crate::{
    actor::Role,
    api_keys,
    db::{self, now_ms},
    error::Error,
    scope::check_key,
};

/// A new organization and its first owner API key.
#[derive(Debug)]
pub struct NewOrg {
    pub id: String,
    pub owner_key_id: String,
    /// The owner key's secret, shown once.
    pub owner_secret: String,
}

/// Creates an organization and its first owner key.
pub async fn create(pool: &AnyPool, key: &str, name: &str) -> Result<NewOrg, Error> {
    check_key("/key", key)?;
    let id = db::new_id("org");
    let mut tx = db::begin(pool).await?;
    sqlx::query("INSERT INTO organizations (id, key, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(key)
        .bind(name)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    let (owner_key_id, owner_secret) =
        api_keys::insert(&mut tx, &id, "first owner", Role::Owner, None).await?;
    tx.commit().await?;
    Ok(NewOrg {
        id,
        owner_key_id,
        owner_secret,
    })
}

/// Creates an organization and its first owner key; returns (org id, owner secret).
pub async fn create_org(pool: &AnyPool, key: &str, name: &str) -> Result<(String, String), Error> {
    let org = create(pool, key, name).await?;
    Ok((org.id, org.owner_secret))
}
