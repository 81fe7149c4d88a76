//! The shared application state: what every handler and middleware needs, cheap to
//! clone. The background publisher and webhook deliverer get only their parts.

use std::sync::Arc;

use edgeflag_admin_core::{
    db,
    lease::Holder,
    masterkey::{self, Keyring},
    publisher::Publisher,
    signing,
    usage_writer::UsageQueue,
    webhook_delivery::Deliverer,
};
use sqlx::AnyPool;
use tokio::sync::Notify;

use crate::{
    config::Config, feed::FeedHub, limit::RateLimiter, metrics::Metrics, throttle::Throttle,
    token::TokenKey,
};

/// Everything a handler needs; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub pool: AnyPool,
    pub config: Arc<Config>,
    pub token_key: Arc<TokenKey>,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<RateLimiter>,
    /// The sign-in limit, per client address and per API key.
    pub auth_limiter: Arc<RateLimiter>,
    /// Woken after every commit that wrote an outbox row, so publishing starts at once.
    pub publish_wake: Arc<Notify>,
    /// The change feed's fan-out to open streams.
    pub feed: Arc<FeedHub>,
    /// Failed sign-ins per account and per address.
    pub sign_ins: Arc<Throttle>,
    /// The usage writer's queue, and the per-ingestion-key rate limit of its batches.
    pub usage: UsageQueue,
    pub usage_limiter: Arc<RateLimiter>,
    /// The master key(s) that seal the private signing keys in the database.
    pub keyring: Arc<Keyring>,
    /// This process, as the holder of leases and claims shared with other replicas.
    pub holder: Holder,
}

/// A request limiter: shared through the database when `shared` is set.
fn limiter(limit: u32, shared: &Option<AnyPool>, name: &'static str) -> RateLimiter {
    match shared {
        Some(pool) => RateLimiter::shared(limit, pool.clone(), name),
        None => RateLimiter::new(limit),
    }
}

impl AppState {
    /// Builds the state over a migrated pool: resolves the master key
    /// (`docs/admin-config.md`), seals seeds stored in plain text by earlier versions,
    /// checks that the key opens every live key, and creates the token and instance
    /// keys on first start.
    pub async fn new(pool: AnyPool, config: Config) -> Result<Self, edgeflag_admin_core::Error> {
        let (keyring, source) = masterkey::resolve(
            &config.database_url,
            config.master_key.as_ref().map(|k| k.expose()),
            config.master_key_file.as_deref(),
        )?;
        if let masterkey::Source::Generated(path) = &source {
            tracing::info!(path = %path.display(), "master key read from the file next to the database; set EDGEFLAG_MASTER_KEY or EDGEFLAG_MASTER_KEY_FILE in production");
        }
        signing::prepare(&pool, &keyring).await?;
        let token_key = TokenKey::load_or_create(&pool, &keyring).await?;
        // Replicas share one PostgreSQL database, so they count limits there; SQLite has
        // one process, which counts in memory.
        let shared =
            (db::Backend::of(&config.database_url) == db::Backend::Postgres).then(|| pool.clone());
        let sign_in_window = std::time::Duration::from_secs(config.login.window_secs);
        let holder = Holder::this_process();
        Ok(Self {
            keyring: Arc::new(keyring),
            limiter: Arc::new(limiter(config.rate_limit_per_minute, &shared, "api")),
            feed: Arc::new(FeedHub::new(
                pool.clone(),
                config.feed.clone(),
                holder.clone(),
            )),
            sign_ins: Arc::new(match &shared {
                Some(pool) => Throttle::shared(sign_in_window, pool.clone()),
                None => Throttle::new(sign_in_window),
            }),
            usage: UsageQueue::start(pool.clone(), &config.usage),
            usage_limiter: Arc::new(limiter(
                config.usage.rate_limit_per_minute,
                &shared,
                "usage",
            )),
            auth_limiter: Arc::new(limiter(config.auth_rate_limit_per_minute, &shared, "auth")),
            pool,
            config: Arc::new(config),
            token_key: Arc::new(token_key),
            metrics: Arc::new(Metrics::default()),
            publish_wake: Arc::new(Notify::new()),
            holder,
        })
    }

    /// Connects, migrates and builds the state from a configuration.
    pub async fn from_config(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database_url).await?;
        db::migrate(&pool, &config.database_url).await?;
        Ok(Self::new(pool, config).await?)
    }

    /// The background publisher over this state's pool and settings, woken by its
    /// `publish_wake`.
    pub fn publisher(&self) -> Publisher {
        Publisher::new(
            self.pool.clone(),
            self.config.publish.clone(),
            self.publish_wake.clone(),
            self.keyring.clone(),
            self.holder.clone(),
        )
    }

    /// The background webhook deliverer over this state's pool and settings.
    pub fn deliverer(&self) -> Deliverer {
        Deliverer::new(
            self.pool.clone(),
            self.config.webhooks.clone(),
            self.holder.clone(),
        )
    }
}
