//! Configuration, read from the runtime's variables (Worker vars and secrets, Spin
//! variables) through one lookup function, so every adapter configures alike.

use crate::trusted::TrustedKeys;

use crate::{live::Secret, sealed::SealKey, usage::UsageConfig};

/// Variable names, identical in `wrangler.toml` and `spin.toml`.
pub mod vars {
    /// A JWKS (JSON) of the publisher keys whose signatures the edge accepts; a key's
    /// `org` names the organization it signs for (`trusted.rs`).
    pub const TRUSTED_KEYS: &str = "EDGEFLAG_TRUSTED_KEYS";
    /// How long a cached snapshot is served before the version in KV is read again.
    pub const REFRESH_INTERVAL_MS: &str = "EDGEFLAG_REFRESH_INTERVAL_MS";
    /// `Access-Control-Allow-Origin` for browser callers.
    pub const CORS_ORIGIN: &str = "EDGEFLAG_CORS_ORIGIN";
    /// Test suites only: `true` lets a request set the evaluation time with the
    /// `x-edgeflag-test-now` header (epoch ms), so time-dependent vectors run exactly.
    pub const TEST_CLOCK: &str = "EDGEFLAG_TEST_CLOCK";
    /// Live updates (Worker only): the secret (32 bytes or more) that MACs event-stream
    /// tokens. Unset, the edge offers no event streams.
    pub const STREAM_SECRET: &str = "EDGEFLAG_STREAM_SECRET";
    /// Live updates: milliseconds between heartbeats on an idle stream.
    pub const STREAM_HEARTBEAT_MS: &str = "EDGEFLAG_STREAM_HEARTBEAT_MS";
    /// Live updates: open streams allowed per SDK key and environment.
    pub const STREAM_LIMIT: &str = "EDGEFLAG_STREAM_LIMIT";
    /// Sealed records (Spin): the secret (32 bytes or more) that MACs the per-flag records
    /// a fresh instance answers one flag from (`sealed.rs`). Unset, every fresh instance
    /// verifies and compiles the whole environment.
    pub const SEAL_SECRET: &str = "EDGEFLAG_SEAL_SECRET";
    /// Evaluation counts: the admin's base URL. With `USAGE_KEY`, turns counting on.
    pub const USAGE_URL: &str = "EDGEFLAG_USAGE_URL";
    /// Evaluation counts: an ingestion key of the admin (`efi_…`), a secret.
    pub const USAGE_KEY: &str = "EDGEFLAG_USAGE_KEY";
    /// Evaluation counts: the longest a count waits before it is sent, milliseconds.
    pub const USAGE_INTERVAL_MS: &str = "EDGEFLAG_USAGE_INTERVAL_MS";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not a valid JWKS of Ed25519 keys: {reason}")]
    TrustedKeys { name: &'static str, reason: String },
    #[error("{name} must be a whole number of milliseconds, found `{value}`")]
    Number { name: &'static str, value: String },
    #[error("{name} must be a whole number of at least 1, found `{value}`")]
    Count { name: &'static str, value: String },
    #[error("{name} must be at least {min} bytes long")]
    ShortSecret { name: &'static str, min: usize },
}

/// Live updates, when `EDGEFLAG_STREAM_SECRET` turns them on.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub secret: Secret,
    /// Milliseconds between heartbeats; proxies commonly cut connections idle for 60–100 s.
    pub heartbeat_ms: u64,
    /// Open streams per SDK key and environment. Browsers share their site's client
    /// key, so this bounds a whole site's visitors, not one visitor.
    pub limit_per_key: usize,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub trusted_keys: TrustedKeys,
    pub refresh_interval_ms: i64,
    pub cors_origin: String,
    /// Largest evaluation request body.
    pub max_body_bytes: usize,
    /// Largest publish request body.
    pub max_publish_bytes: usize,
    /// Whether `x-edgeflag-test-now` may override the clock. Never set in production.
    pub test_clock: bool,
    /// Live updates; `None` when no stream secret is configured.
    pub live: Option<LiveConfig>,
    /// Evaluation counts; `None` (nothing counted) unless the admin URL and an
    /// ingestion key are configured.
    pub usage: Option<UsageConfig>,
    /// Sealed per-flag records; `None` unless a seal secret is configured.
    pub seal: Option<SealKey>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            trusted_keys: TrustedKeys::default(),
            refresh_interval_ms: 5_000,
            cors_origin: "*".to_string(),
            max_body_bytes: 64 * 1024,
            max_publish_bytes: 40 * 1024 * 1024,
            test_clock: false,
            live: None,
            usage: None,
            seal: None,
        }
    }
}

impl Config {
    /// Builds the configuration from `lookup(name)`; absent variables take defaults.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if let Some(jwks) = lookup(vars::TRUSTED_KEYS).filter(|v| !v.trim().is_empty()) {
            config.trusted_keys = TrustedKeys::from_jwks_json(jwks.as_bytes()).map_err(|e| {
                ConfigError::TrustedKeys {
                    name: vars::TRUSTED_KEYS,
                    reason: e.to_string(),
                }
            })?;
        }
        if let Some(value) = lookup(vars::REFRESH_INTERVAL_MS) {
            config.refresh_interval_ms = value
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|ms| *ms >= 0)
                .ok_or(ConfigError::Number {
                    name: vars::REFRESH_INTERVAL_MS,
                    value,
                })?;
        }
        if let Some(origin) = lookup(vars::CORS_ORIGIN) {
            config.cors_origin = origin;
        }
        config.test_clock = lookup(vars::TEST_CLOCK).is_some_and(|v| v.trim() == "true");
        config.live = live_config(&lookup)?;
        config.usage = usage_config(&lookup)?;
        if let Some(secret) = lookup(vars::SEAL_SECRET).filter(|v| !v.is_empty()) {
            config.seal = Some(
                SealKey::derive(secret.as_bytes(), &config.trusted_keys).ok_or(
                    ConfigError::ShortSecret {
                        name: vars::SEAL_SECRET,
                        min: SealKey::MIN_SECRET_BYTES,
                    },
                )?,
            );
        }
        Ok(config)
    }
}

fn live_config(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<LiveConfig>, ConfigError> {
    let Some(secret) = lookup(vars::STREAM_SECRET).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let secret = Secret::new(secret.as_bytes()).ok_or(ConfigError::ShortSecret {
        name: vars::STREAM_SECRET,
        min: Secret::MIN_BYTES,
    })?;
    let whole = |name: &'static str, default: u64| match lookup(name) {
        None => Ok(default),
        Some(value) => value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or(ConfigError::Count { name, value }),
    };
    Ok(Some(LiveConfig {
        secret,
        heartbeat_ms: whole(vars::STREAM_HEARTBEAT_MS, 25_000)?,
        limit_per_key: usize::try_from(whole(vars::STREAM_LIMIT, 10_000)?).unwrap_or(usize::MAX),
    }))
}

fn usage_config(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<UsageConfig>, ConfigError> {
    let present = |name| lookup(name).filter(|v| !v.trim().is_empty());
    let (Some(url), Some(key)) = (present(vars::USAGE_URL), present(vars::USAGE_KEY)) else {
        return Ok(None);
    };
    let interval_ms = match lookup(vars::USAGE_INTERVAL_MS) {
        None => 5_000,
        Some(value) => value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|ms| *ms >= 0)
            .ok_or(ConfigError::Number {
                name: vars::USAGE_INTERVAL_MS,
                value,
            })?,
    };
    Ok(Some(UsageConfig {
        url: url.trim().to_string(),
        key: key.trim().to_string(),
        interval_ms,
    }))
}
