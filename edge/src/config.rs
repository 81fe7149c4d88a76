//! Configuration, read from the runtime's variables (Worker vars and secrets, Spin
//! variables) through one lookup function, so every adapter configures alike.

use edgeflag_engine::envelope::KeySet;

/// Variable names, identical in `wrangler.toml` and `spin.toml`.
pub mod vars {
    /// A JWKS (JSON) of the publisher keys whose signatures the edge accepts.
    pub const TRUSTED_KEYS: &str = "EDGEFLAG_TRUSTED_KEYS";
    /// How long a cached snapshot is served before the version in KV is read again.
    pub const REFRESH_INTERVAL_MS: &str = "EDGEFLAG_REFRESH_INTERVAL_MS";
    /// `Access-Control-Allow-Origin` for browser callers.
    pub const CORS_ORIGIN: &str = "EDGEFLAG_CORS_ORIGIN";
    /// Test suites only: `true` lets a request set the evaluation time with the
    /// `x-edgeflag-test-now` header (epoch ms), so time-dependent vectors run exactly.
    pub const TEST_CLOCK: &str = "EDGEFLAG_TEST_CLOCK";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not a valid JWKS of Ed25519 keys: {reason}")]
    TrustedKeys { name: &'static str, reason: String },
    #[error("{name} must be a whole number of milliseconds, found `{value}`")]
    Number { name: &'static str, value: String },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub trusted_keys: KeySet,
    pub refresh_interval_ms: i64,
    pub cors_origin: String,
    /// Largest evaluation request body.
    pub max_body_bytes: usize,
    /// Largest publish request body.
    pub max_publish_bytes: usize,
    /// Whether `x-edgeflag-test-now` may override the clock. Never set in production.
    pub test_clock: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            trusted_keys: KeySet::default(),
            refresh_interval_ms: 5_000,
            cors_origin: "*".to_string(),
            max_body_bytes: 64 * 1024,
            max_publish_bytes: 40 * 1024 * 1024,
            test_clock: false,
        }
    }
}

impl Config {
    /// Builds the configuration from `lookup(name)`; absent variables take defaults.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if let Some(jwks) = lookup(vars::TRUSTED_KEYS).filter(|v| !v.trim().is_empty()) {
            config.trusted_keys =
                KeySet::from_jwks_json(jwks.as_bytes()).map_err(|e| ConfigError::TrustedKeys {
                    name: vars::TRUSTED_KEYS,
                    reason: e.to_string(),
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
        Ok(config)
    }
}
