//! The webhook deliverer: a background task that sends due `webhook_deliveries`
//! rows, signed (see [`crate::webhooks`]), and records the outcome. A `2xx` answer
//! delivers; anything else is retried after `backoff_ms · 2^(attempts-1)` (capped at
//! `max_backoff_ms`) until `max_attempts`, then the delivery is `failed`. State lives
//! in the database, so a restart resumes where it stopped (a request in flight at a
//! crash may be sent again: receivers dedupe on `Edgeflag-Delivery`).
//!
//! Several replicas: each delivery is claimed before it is sent (`claimed_by`, until
//! `claim_expires_at`: twice the request timeout plus 5 s), by one conditional update
//! that only one process can win, so no two replicas send the same delivery. Recording
//! the outcome clears the claim; a process that dies mid-send leaves it to expire, and
//! another replica sends the delivery again.
//!
//! Every attempt goes only where [`Destinations`] permits: the URL is checked again,
//! and the client resolves names through it, so the address connected to is the
//! address checked (a name that now resolves inside the network is refused). The
//! delivery log, readable by every member, keeps the status code and a short error of
//! our own, never what the receiver answered.

use std::{sync::Arc, time::Duration};

use sqlx::{AnyPool, Row, any::AnyRow};
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    config::WebhookConfig,
    db::now_ms,
    destination::{Destinations, Refusal},
    error::Error,
    lease::{self, Holder},
    webhooks::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature},
};

/// Sends webhook deliveries.
#[derive(Debug, Clone)]
pub struct Deliverer {
    pool: AnyPool,
    config: Arc<WebhookConfig>,
    destinations: Destinations,
    client: reqwest::Client,
    /// This process, as the holder of delivery claims.
    holder: Holder,
}

/// The result of one attempt.
struct Outcome {
    code: Option<i64>,
    error: Option<String>,
}

impl Deliverer {
    /// A deliverer over `pool` with these settings; it runs only when spawned or ticked.
    pub fn new(pool: AnyPool, config: WebhookConfig, holder: Holder) -> Self {
        let destinations = config.destinations();
        // No redirects (a public receiver could point inward) and no proxy (the
        // connection must go to the address the resolver checked).
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(destinations.clone()))
            .build()
            .unwrap_or_default();
        Self {
            pool,
            config: Arc::new(config),
            destinations,
            client,
            holder,
        }
    }

    /// Runs forever in a task; abort the handle to stop it.
    pub fn spawn(self) -> JoinHandle<()> {
        let (_, stop) = watch::channel(false);
        self.spawn_until(stop)
    }

    /// Runs in a task until `stop` turns true: the round in progress finishes, then the
    /// deliverer gives back any claim it still holds and the task ends.
    pub fn spawn_until(self, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let poll = Duration::from_millis(self.config.poll_ms);
            while !*stop.borrow() {
                if let Err(e) = self.tick().await {
                    tracing::warn!(error = %e, "webhook round failed; retrying");
                }
                tokio::select! {
                    () = tokio::time::sleep(poll) => {}
                    () = lease::stopped(&mut stop) => {}
                }
            }
            if let Err(e) = self.release_claims().await {
                tracing::warn!(error = %e, "could not give back webhook claims; they expire");
            }
        })
    }

    /// One round: sends every due delivery of a live webhook that this process claims
    /// (another replica may claim some first); returns how many it sent.
    pub async fn tick(&self) -> Result<usize, Error> {
        let rows = sqlx::query(
            "SELECT d.id, d.event_id, d.event, d.payload, d.attempts, w.url, w.secret \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.disabled_at IS NULL \
             AND (d.claim_expires_at IS NULL OR d.claim_expires_at <= $1) \
             ORDER BY d.id LIMIT 100",
        )
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        let mut sent = 0;
        for row in &rows {
            if self.claim(row.try_get("id")?).await? {
                self.attempt(row).await?;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Claims delivery `id` for this process, if it is still due and unclaimed.
    async fn claim(&self, id: i64) -> Result<bool, Error> {
        let now = now_ms();
        let ttl = i64::try_from(self.config.timeout_ms.saturating_mul(2))
            .unwrap_or(i64::MAX)
            .saturating_add(5_000);
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET claimed_by = $1, claim_expires_at = $2 \
             WHERE id = $3 AND status = 'pending' AND next_attempt_at <= $4 \
             AND (claim_expires_at IS NULL OR claim_expires_at <= $4)",
        )
        .bind(self.holder.as_str())
        .bind(now.saturating_add(ttl))
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives back the claims this process holds (at shutdown).
    pub async fn release_claims(&self) -> Result<u64, Error> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = $1",
        )
        .bind(self.holder.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn attempt(&self, row: &AnyRow) -> Result<(), Error> {
        let id: i64 = row.try_get("id")?;
        let attempts: i64 = row.try_get::<i64, _>("attempts")? + 1;
        let outcome = self.send(row).await?;
        let now = now_ms();
        let (status, next) = match (&outcome.error, attempts >= self.config.max_attempts) {
            (None, _) => ("delivered", now),
            (Some(_), true) => ("failed", now),
            (Some(_), false) => ("pending", now + self.backoff_ms(attempts)),
        };
        if let Some(e) = &outcome.error {
            tracing::warn!(delivery = id, attempts, error = %e, status, "webhook delivery failed");
        }
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_attempt_at = $4, \
             last_error = $5, response_code = $6, delivered_at = $7, claimed_by = NULL, claim_expires_at = NULL \
             WHERE id = $8",
        )
        .bind(status)
        .bind(attempts)
        .bind(next)
        .bind(now)
        .bind(outcome.error.clone())
        .bind(outcome.code)
        .bind((status == "delivered").then_some(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn send(&self, row: &AnyRow) -> Result<Outcome, Error> {
        let url: String = row.try_get("url")?;
        let secret: String = row.try_get("secret")?;
        let body: String = row.try_get("payload")?;
        let event: String = row.try_get("event")?;
        let event_id: String = row.try_get("event_id")?;
        if let Err(refusal) = self.destinations.check_url(&url) {
            return Ok(Outcome {
                code: None,
                error: Some(format!("refused: the URL {refusal}")),
            });
        }
        let t = now_ms() / 1000;
        let sent = self
            .client
            .post(&url)
            .header("content-type", "application/json")
            .header("user-agent", "edgeflag-webhooks/1")
            .header(SIGNATURE_HEADER, signature(&secret, t, body.as_bytes()))
            .header(EVENT_HEADER, event)
            .header(DELIVERY_HEADER, event_id)
            .body(body)
            .send()
            .await;
        // The response body is never read: the log is for the organization's members,
        // and what a receiver answers is not ours to show them.
        Ok(match sent {
            Ok(resp) => {
                let code = resp.status().as_u16();
                Outcome {
                    code: Some(i64::from(code)),
                    error: (!resp.status().is_success()).then(|| format!("HTTP {code}")),
                }
            }
            Err(e) => Outcome {
                code: None,
                error: Some(self.describe(&e)),
            },
        })
    }

    /// A short description of a failed request, in our own words.
    fn describe(&self, e: &reqwest::Error) -> String {
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            if let Some(refusal) = cause.downcast_ref::<Refusal>() {
                return format!("refused: the host {refusal}");
            }
            source = cause.source();
        }
        if e.is_timeout() {
            format!("no answer within {} ms", self.config.timeout_ms)
        } else if e.is_connect() {
            "could not connect".to_string()
        } else {
            "the request failed".to_string()
        }
    }

    fn backoff_ms(&self, attempts: i64) -> i64 {
        let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let delay = self
            .config
            .backoff_ms
            .saturating_mul(1u64 << shift)
            .min(self.config.max_backoff_ms);
        i64::try_from(delay).unwrap_or(i64::MAX)
    }
}
