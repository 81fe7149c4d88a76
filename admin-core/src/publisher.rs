//! The background publisher. It drains the outbox (one build per environment
//! covers every pending row of that environment, so a burst of edits becomes one
//! publish), stores the signed documents in `env_snapshots`, and delivers the newest
//! version to every target until each acknowledges it, with exponential backoff.
//!
//! Crash safety: building commits the snapshot and marks its outbox rows processed
//! in one transaction; delivery state lives in `publish_status`. Each build and each
//! change of a target's state also writes a change-feed event (`publish.built`,
//! `publish.delivered`, `publish.failed`) in the transaction that records it. A publisher killed
//! at any point leaves either unprocessed outbox rows (rebuilt on restart) or a
//! target whose delivered version is behind (redelivered on restart).
//!
//! Several replicas (PostgreSQL): building locks the environment's row first and
//! builds only if outbox rows are still pending once it has the lock, so two replicas
//! never build the same change twice. Each delivery to a target is claimed with a lease
//! (`lease`, `deliver/{environment}/{target}`) held across the network call, so one
//! process at a time delivers to a target, each stored version once and in version
//! order (the next version after the one the target holds; a target that holds nothing
//! gets the newest). A replica that dies mid-delivery leaves its lease to expire
//! (`claim_ttl_ms`), and another replica delivers that version again.

use std::{sync::Arc, time::Duration};

use edgeflag_edge::{keys::KeyIndex, publish::PublishRequest};
use serde_json::{Value, json};
use sqlx::{AnyPool, Row};
use tokio::{
    sync::{Notify, watch},
    task::JoinHandle,
};

use crate::{
    config::{PublishConfig, TargetConfig},
    db::{self, now_ms, rfc3339},
    endorse,
    error::Error,
    feed,
    lease::{self, Holder},
    masterkey::Keyring,
    outbox, signing, snapshot,
    targets::{self, Delivery},
};

/// The publisher's handles.
#[derive(Debug, Clone)]
pub struct Publisher {
    pool: AnyPool,
    config: Arc<PublishConfig>,
    wake: Arc<Notify>,
    client: reqwest::Client,
    /// Opens the signing keys' seeds.
    ring: Arc<Keyring>,
    /// This process, as the holder of delivery leases.
    holder: Holder,
}

impl Publisher {
    /// A publisher over `pool` delivering to `config.targets`; `wake` starts a round
    /// at once (after the coalescing window) instead of at the next poll.
    pub fn new(
        pool: AnyPool,
        config: PublishConfig,
        wake: Arc<Notify>,
        ring: Arc<Keyring>,
        holder: Holder,
    ) -> Self {
        // A request must end well before its claim does, or another replica could take
        // the claim over while it is still in flight.
        let timeout = (config.claim_ttl_ms / 2).clamp(1, 15_000);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(timeout))
            .build()
            .unwrap_or_default();
        Self {
            pool,
            config: Arc::new(config),
            wake,
            client,
            ring,
            holder,
        }
    }

    /// Runs forever in a task; abort the handle to stop it.
    pub fn spawn(self) -> JoinHandle<()> {
        let (_, stop) = watch::channel(false);
        self.spawn_until(stop)
    }

    /// Runs in a task until `stop` turns true: the round in progress finishes (its
    /// deliveries complete or fail), then the publisher gives back its leases and the
    /// task ends.
    pub fn spawn_until(self, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move { self.run(stop).await })
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let poll = Duration::from_millis(self.config.poll_ms);
        let coalesce = Duration::from_millis(self.config.coalesce_ms);
        while !*stop.borrow() {
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "publish round failed; retrying");
            }
            tokio::select! {
                () = self.wake.notified() => tokio::time::sleep(coalesce).await,
                () = tokio::time::sleep(poll) => {}
                () = crate::lease::stopped(&mut stop) => {}
            }
        }
        if let Err(e) = lease::release_all(&self.pool, &self.holder).await {
            tracing::warn!(error = %e, "could not give back the publisher's leases; they expire");
        }
    }

    /// One round: expire rotated keys, build what changed, deliver what is behind.
    pub async fn tick(&self) -> Result<(), Error> {
        // Once across replicas: the others would only enqueue the same rows again.
        let ttl = i64::try_from(self.config.poll_ms.max(1_000)).unwrap_or(i64::MAX);
        lease::once(
            &self.pool,
            "sdk-key-expiry",
            &self.holder,
            ttl,
            self.enqueue_expired_keys(),
        )
        .await?;
        let rows =
            sqlx::query("SELECT DISTINCT environment_id FROM outbox WHERE processed_at IS NULL")
                .fetch_all(&self.pool)
                .await?;
        for row in rows {
            let env_id: String = row.try_get("environment_id")?;
            // One environment failing to build must not hold back the others.
            if let Err(e) = self.build_pending(&env_id).await {
                tracing::warn!(environment = %env_id, error = %e, "snapshot build failed; will retry");
            }
        }
        self.deliver_all().await
    }

    /// A rotated SDK key whose grace period ended since the last build must leave the index.
    async fn enqueue_expired_keys(&self) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO outbox (environment_id, reason, created_at) \
             SELECT DISTINCT k.environment_id, 'sdk-key.expired', $1 FROM sdk_keys k \
             WHERE k.expires_at IS NOT NULL AND k.expires_at <= $1 AND k.revoked_at IS NULL AND NOT EXISTS ( \
               SELECT 1 FROM env_snapshots s WHERE s.environment_id = k.environment_id AND s.built_at >= k.expires_at)",
        )
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Builds and stores the next version of one environment, signed with its
    /// organization's key.
    pub async fn build(&self, env_id: &str) -> Result<u64, Error> {
        self.build_locked(env_id, false)
            .await?
            .ok_or_else(|| Error::internal("a forced build built nothing"))
    }

    /// Builds the next version if outbox rows of the environment are still pending
    /// once its row is locked (another replica may have built them meanwhile).
    pub async fn build_pending(&self, env_id: &str) -> Result<Option<u64>, Error> {
        self.build_locked(env_id, true).await
    }

    async fn build_locked(&self, env_id: &str, only_pending: bool) -> Result<Option<u64>, Error> {
        let org: String = sqlx::query(
            "SELECT p.org_id FROM environments e JOIN projects p ON p.id = e.project_id WHERE e.id = $1",
        )
        .bind(env_id)
        .fetch_one(&self.pool)
        .await?
        .try_get("org_id")?;
        let key = signing::active_key(&self.pool, &self.ring, &org).await?;
        let mut tx = db::begin(&self.pool).await?;
        // The update locks the environment's row first: a replica building it at the
        // same time waits here, and then reads the outbox as that build left it.
        sqlx::query(
            "UPDATE environments SET snapshot_version = snapshot_version + 1 WHERE id = $1",
        )
        .bind(env_id)
        .execute(&mut *tx)
        .await?;
        let max: Option<i64> = sqlx::query(
            "SELECT MAX(id) AS m FROM outbox WHERE environment_id = $1 AND processed_at IS NULL",
        )
        .bind(env_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("m")?;
        if only_pending && max.is_none() {
            tx.rollback().await?;
            return Ok(None);
        }
        let version: i64 = sqlx::query("SELECT snapshot_version FROM environments WHERE id = $1")
            .bind(env_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("snapshot_version")?;
        let version = u64::try_from(version).map_err(Error::internal)?;
        let docs = snapshot::build(&mut tx, env_id, version).await?;
        let signed = snapshot::sign(&docs, &key)?;
        // The newest change in this version names the request the edge is told of.
        let request_id: Option<String> = sqlx::query(
            "SELECT request_id FROM outbox WHERE environment_id = $1 AND processed_at IS NULL \
             AND id <= $2 AND request_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        )
        .bind(env_id)
        .bind(max.unwrap_or(i64::MAX))
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get("request_id"))
        .transpose()?;
        sqlx::query(
            "INSERT INTO env_snapshots (environment_id, version, kid, server_jws, client_jws, keys_jws, built_at, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(env_id).bind(i64::try_from(version).map_err(Error::internal)?).bind(key.kid())
        .bind(&signed.server).bind(&signed.client).bind(&signed.keys).bind(now_ms())
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE outbox SET processed_at = $1 WHERE environment_id = $2 AND id <= $3 AND processed_at IS NULL")
            .bind(now_ms())
            .bind(env_id)
            .bind(max.unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        let data = json!({"version": version});
        publish_event(&mut tx, env_id, "publish.built", None, data).await?;
        tx.commit().await?;
        tracing::info!(environment = %docs.edge_name, version, "built snapshot");
        Ok(Some(version))
    }

    async fn deliver_all(&self) -> Result<(), Error> {
        // Archived environments too: their last build says so (the edge answers 410)
        // and carries their SDK-key revocations.
        let envs =
            sqlx::query("SELECT id, snapshot_version FROM environments WHERE snapshot_version > 0")
                .fetch_all(&self.pool)
                .await?;
        for env in envs {
            let env_id: String = env.try_get("id")?;
            let latest: i64 = env.try_get("snapshot_version")?;
            for target in &self.config.targets {
                if let Err(e) = self.deliver_one(&env_id, latest, target).await {
                    tracing::warn!(environment = %env_id, target = target.name(), error = %e, "delivery round failed");
                }
            }
        }
        Ok(())
    }

    /// Delivers to `target` the next version it lacks, under the target's lease; does
    /// nothing when the target is up to date, backing off, or another replica holds
    /// the lease.
    async fn deliver_one(
        &self,
        env_id: &str,
        latest: i64,
        target: &TargetConfig,
    ) -> Result<(), Error> {
        let name = target.name();
        sqlx::query("INSERT INTO publish_status (environment_id, target) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM publish_status WHERE environment_id = $1 AND target = $2)")
            .bind(env_id)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if self.due(env_id, name, latest).await?.is_none() {
            return Ok(());
        }
        let claim = format!("deliver/{env_id}/{name}");
        let ttl = i64::try_from(self.config.claim_ttl_ms).unwrap_or(i64::MAX);
        if !lease::acquire(&self.pool, &claim, &self.holder, ttl).await? {
            return Ok(());
        }
        let outcome = self.catch_up(env_id, latest, target, &claim, ttl).await;
        lease::release(&self.pool, &claim, &self.holder).await?;
        outcome
    }

    /// Delivers the versions `target` lacks one after the other, renewing the lease
    /// before each, until it holds `latest` or a delivery fails.
    async fn catch_up(
        &self,
        env_id: &str,
        latest: i64,
        target: &TargetConfig,
        claim: &str,
        ttl: i64,
    ) -> Result<(), Error> {
        // Read again under the lease: another replica may have delivered meanwhile.
        while let Some((delivered, attempts)) = self.due(env_id, target.name(), latest).await? {
            if !self
                .deliver_next(env_id, delivered, attempts, target)
                .await?
                || !lease::acquire(&self.pool, claim, &self.holder, ttl).await?
            {
                break;
            }
        }
        Ok(())
    }

    /// The target's delivered version and attempts when it is behind `latest` and not
    /// backing off.
    async fn due(
        &self,
        env_id: &str,
        name: &str,
        latest: i64,
    ) -> Result<Option<(i64, i64)>, Error> {
        let status = sqlx::query("SELECT delivered_version, attempts, next_attempt_at FROM publish_status WHERE environment_id = $1 AND target = $2")
            .bind(env_id)
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        let delivered: i64 = status.try_get("delivered_version")?;
        if delivered >= latest || status.try_get::<i64, _>("next_attempt_at")? > now_ms() {
            return Ok(None);
        }
        Ok(Some((delivered, status.try_get("attempts")?)))
    }

    /// The version a target holding `delivered` gets next: the first stored version
    /// after it, or the newest when it holds nothing.
    async fn next_version(&self, env_id: &str, delivered: i64) -> Result<Option<i64>, Error> {
        let sql = if delivered == 0 {
            "SELECT MAX(version) AS v FROM env_snapshots WHERE environment_id = $1 AND version > $2"
        } else {
            "SELECT MIN(version) AS v FROM env_snapshots WHERE environment_id = $1 AND version > $2"
        };
        Ok(sqlx::query(sql)
            .bind(env_id)
            .bind(delivered)
            .fetch_one(&self.pool)
            .await?
            .try_get("v")?)
    }

    /// Delivers the version after `delivered`; answers whether the target took it.
    async fn deliver_next(
        &self,
        env_id: &str,
        delivered: i64,
        attempts: i64,
        target: &TargetConfig,
    ) -> Result<bool, Error> {
        let Some(version) = self.next_version(env_id, delivered).await? else {
            return Ok(false);
        };
        let (edge_name, request, keys, request_id) = self.stored(env_id, version).await?;
        let previous = match delivered {
            0 => None,
            v => self.stored_keys(env_id, v).await?,
        };
        let delivery = Delivery {
            env: &edge_name,
            version: u64::try_from(version).unwrap_or_default(),
            request: &request,
            keys: &keys,
            previous: previous.as_ref(),
            request_id: request_id.as_deref(),
        };
        let outcome = match target {
            TargetConfig::Edge { url, .. } => {
                match endorse::ensure(&self.client, &self.pool, &self.ring, url).await {
                    Ok(()) => targets::deliver(&self.client, target, &delivery).await,
                    Err(message) => Err(targets::DeliveryError {
                        message,
                        stale_at: None,
                    }),
                }
            }
            _ => targets::deliver(&self.client, target, &delivery).await,
        };
        let took = outcome.is_ok();
        self.record(env_id, target.name(), version, attempts, outcome)
            .await?;
        Ok(took)
    }

    async fn record(
        &self,
        env_id: &str,
        target: &str,
        version: i64,
        attempts: i64,
        outcome: Result<(), targets::DeliveryError>,
    ) -> Result<(), Error> {
        let now = now_ms();
        let mut tx = db::begin(&self.pool).await?;
        match &outcome {
            Ok(()) => {
                // Never backwards, whatever another replica recorded meanwhile.
                sqlx::query("UPDATE publish_status SET delivered_version = $1, attempts = 0, last_error = NULL, last_attempt_at = $2, delivered_at = $2, next_attempt_at = 0 WHERE environment_id = $3 AND target = $4 AND delivered_version < $1")
                    .bind(version).bind(now).bind(env_id).bind(target)
                    .execute(&mut *tx)
                    .await?;
                let data = json!({"target": target, "version": version});
                publish_event(&mut tx, env_id, "publish.delivered", Some(target), data).await?;
                tracing::info!(target, version, "delivered snapshot");
            }
            Err(e) => {
                let publish = &*self.config;
                let shift = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
                let backoff = publish
                    .backoff_ms
                    .saturating_mul(1u64 << shift)
                    .min(publish.max_backoff_ms);
                sqlx::query("UPDATE publish_status SET attempts = attempts + 1, last_error = $1, last_attempt_at = $2, next_attempt_at = $3 WHERE environment_id = $4 AND target = $5")
                    .bind(e.message.clone()).bind(now).bind(now + i64::try_from(backoff).unwrap_or(i64::MAX)).bind(env_id).bind(target)
                    .execute(&mut *tx)
                    .await?;
                // The feed hears when a target starts failing, not of every retry.
                if attempts == 0 {
                    let data = json!({"target": target, "version": version, "error": e.message});
                    publish_event(&mut tx, env_id, "publish.failed", Some(target), data).await?;
                }
                tracing::warn!(target, version, error = %e, "delivery failed");
            }
        }
        tx.commit().await?;
        if let Err(e) = outcome
            && let Some(held) = e.stale_at
        {
            self.skip_past(env_id, target, held).await?;
        }
        Ok(())
    }

    /// The edge holds a version this database never issued (it was reset, or another
    /// admin published): jump past it so the next build is accepted, and count the
    /// target as holding it, so what it gets next is newer.
    async fn skip_past(&self, env_id: &str, target: &str, held: u64) -> Result<(), Error> {
        let mut tx = db::begin(&self.pool).await?;
        sqlx::query("UPDATE publish_status SET delivered_version = $1 WHERE environment_id = $2 AND target = $3 AND delivered_version < $1")
            .bind(i64::try_from(held).unwrap_or(i64::MAX))
            .bind(env_id)
            .bind(target)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE environments SET snapshot_version = $1 WHERE id = $2 AND snapshot_version < $1",
        )
        .bind(i64::try_from(held).unwrap_or(i64::MAX))
        .bind(env_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE publish_status SET next_attempt_at = 0 WHERE environment_id = $1")
            .bind(env_id)
            .execute(&mut *tx)
            .await?;
        outbox::enqueue(&mut tx, env_id, "edge-holds-newer", None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The key index of a stored version, if it is still stored (retention may have
    /// removed an old one; the delivery then removes no keys it cannot name).
    async fn stored_keys(&self, env_id: &str, version: i64) -> Result<Option<KeyIndex>, Error> {
        let jws = sqlx::query_scalar::<_, String>(
            "SELECT keys_jws FROM env_snapshots WHERE environment_id = $1 AND version = $2",
        )
        .bind(env_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        jws.map(|j| payload(&j)).transpose()
    }

    async fn stored(
        &self,
        env_id: &str,
        version: i64,
    ) -> Result<(String, PublishRequest, KeyIndex, Option<String>), Error> {
        let row = sqlx::query(
            "SELECT e.edge_name, s.server_jws, s.client_jws, s.keys_jws, s.request_id FROM env_snapshots s JOIN environments e ON e.id = s.environment_id \
             WHERE s.environment_id = $1 AND s.version = $2",
        )
        .bind(env_id)
        .bind(version)
        .fetch_one(&self.pool)
        .await?;
        let request = PublishRequest {
            server: row.try_get("server_jws")?,
            client: row.try_get("client_jws")?,
            keys: row.try_get("keys_jws")?,
        };
        let keys = payload(&request.keys)?;
        Ok((
            row.try_get("edge_name")?,
            request,
            keys,
            row.try_get("request_id")?,
        ))
    }
}

/// Writes a publisher event into the change feed of the environment's organization:
/// `resource` is `project/{p}/environment/{e}` (plus `/target/{name}` for deliveries).
async fn publish_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    env_id: &str,
    kind: &str,
    target: Option<&str>,
    mut data: Value,
) -> Result<(), Error> {
    let row = sqlx::query(
        "SELECT p.org_id, p.key AS project, e.key AS env FROM environments e JOIN projects p ON p.id = e.project_id WHERE e.id = $1",
    )
    .bind(env_id)
    .fetch_one(&mut **tx)
    .await?;
    let (project, env): (String, String) = (row.try_get("project")?, row.try_get("env")?);
    let mut resource = format!("project/{project}/environment/{env}");
    if let Some(target) = target {
        resource.push_str(&format!("/target/{target}"));
    }
    data["project"] = json!(project);
    data["environment"] = json!(env);
    let org_id: String = row.try_get("org_id")?;
    let event = feed::NewEvent {
        org_id: &org_id,
        kind,
        resource: &resource,
        actor: "publisher",
        audit_id: None,
        data,
    };
    feed::record(tx, &event).await.map(|_| ())
}

/// The payload of a JWS this admin signed itself.
fn payload<T: serde::de::DeserializeOwned>(jws: &str) -> Result<T, Error> {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let part = jws
        .split('.')
        .nth(1)
        .ok_or_else(|| Error::internal("stored JWS is malformed"))?;
    let bytes = Base64UrlUnpadded::decode_vec(part).map_err(Error::internal)?;
    serde_json::from_slice(&bytes).map_err(Error::internal)
}

/// The publish status of one environment.
pub async fn status(pool: &AnyPool, env_id: &str, config: &PublishConfig) -> Result<Value, Error> {
    let env = sqlx::query("SELECT edge_name, snapshot_version FROM environments WHERE id = $1")
        .bind(env_id)
        .fetch_one(pool)
        .await?;
    let pending: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM outbox WHERE environment_id = $1 AND processed_at IS NULL",
    )
    .bind(env_id)
    .fetch_one(pool)
    .await?
    .try_get("n")?;
    let mut targets = Vec::new();
    for target in &config.targets {
        let row =
            sqlx::query("SELECT * FROM publish_status WHERE environment_id = $1 AND target = $2")
                .bind(env_id)
                .bind(target.name())
                .fetch_optional(pool)
                .await?;
        let kind = match target {
            TargetConfig::Edge { .. } => "edge",
            TargetConfig::Directory { .. } => "directory",
            TargetConfig::CloudflareKv { .. } => "cloudflare-kv",
        };
        let mut entry = json!({"name": target.name(), "kind": kind, "deliveredVersion": 0, "attempts": 0, "lastError": null});
        if let Some(r) = row {
            entry["deliveredVersion"] = json!(r.try_get::<i64, _>("delivered_version")?);
            entry["attempts"] = json!(r.try_get::<i64, _>("attempts")?);
            entry["lastError"] = json!(r.try_get::<Option<String>, _>("last_error")?);
            entry["lastAttemptAt"] =
                json!(r.try_get::<Option<i64>, _>("last_attempt_at")?.map(rfc3339));
            entry["deliveredAt"] = json!(r.try_get::<Option<i64>, _>("delivered_at")?.map(rfc3339));
        }
        targets.push(entry);
    }
    Ok(json!({
        "edgeName": env.try_get::<String, _>("edge_name")?,
        "latestVersion": env.try_get::<i64, _>("snapshot_version")?,
        "pendingChanges": pending,
        "targets": targets,
    }))
}

/// The publish status of every live environment.
pub async fn status_all(pool: &AnyPool, config: &PublishConfig) -> Result<Vec<Value>, Error> {
    let envs =
        sqlx::query_as::<_, (String,)>("SELECT id FROM environments WHERE archived_at IS NULL")
            .fetch_all(pool)
            .await?;
    let mut out = Vec::with_capacity(envs.len());
    for (id,) in envs {
        out.push(status(pool, &id, config).await?);
    }
    Ok(out)
}
