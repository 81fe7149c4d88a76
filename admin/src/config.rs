//! Configuration: defaults, then an optional TOML file, then `EDGEFLAG_*`
//! environment variables (12-factor). Every setting is documented in
//! `docs/admin-config.md`.

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

pub use edgeflag_admin_core::config::{PublishConfig, TargetConfig, WebhookConfig};

/// The admin's whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://path?mode=rwc` (the default, created on first start) or `postgres://…`.
    pub database_url: String,
    /// Address `serve` listens on.
    pub listen: SocketAddr,
    /// Lifetime of access tokens, seconds.
    pub access_token_ttl_secs: i64,
    /// Lifetime of refresh tokens, seconds.
    pub refresh_token_ttl_secs: i64,
    /// Largest accepted request body, bytes.
    pub body_limit_bytes: usize,
    /// Per-request timeout, seconds.
    pub request_timeout_secs: u64,
    /// Requests per minute allowed per API key.
    pub rate_limit_per_minute: u32,
    /// Default grace period of a rotated SDK key, seconds.
    pub sdk_key_grace_secs: i64,
    /// Where the publisher delivers snapshots.
    pub publish: PublishConfig,
    /// How webhook deliveries are sent and retried.
    pub webhooks: WebhookConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://edgeflag.db?mode=rwc".to_string(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            body_limit_bytes: crate::extract::DEFAULT_BODY_LIMIT,
            request_timeout_secs: 30,
            rate_limit_per_minute: 600,
            sdk_key_grace_secs: 24 * 3600,
            publish: PublishConfig::default(),
            webhooks: WebhookConfig::default(),
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Toml(PathBuf, toml::de::Error),
    #[error("environment variable {0}: {1}")]
    Env(&'static str, String),
}

impl Config {
    /// Defaults, then the TOML file if given, then the environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.to_path_buf(), e))?;
                toml::from_str(&text).map_err(|e| ConfigError::Toml(path.to_path_buf(), e))?
            }
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Applies `EDGEFLAG_*` variables read through `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("EDGEFLAG_DATABASE_URL") {
            self.database_url = v;
        }
        set_parsed(&var, "EDGEFLAG_LISTEN", &mut self.listen)?;
        set_parsed(
            &var,
            "EDGEFLAG_ACCESS_TOKEN_TTL_SECS",
            &mut self.access_token_ttl_secs,
        )?;
        set_parsed(
            &var,
            "EDGEFLAG_REFRESH_TOKEN_TTL_SECS",
            &mut self.refresh_token_ttl_secs,
        )?;
        set_parsed(
            &var,
            "EDGEFLAG_BODY_LIMIT_BYTES",
            &mut self.body_limit_bytes,
        )?;
        set_parsed(
            &var,
            "EDGEFLAG_REQUEST_TIMEOUT_SECS",
            &mut self.request_timeout_secs,
        )?;
        set_parsed(
            &var,
            "EDGEFLAG_RATE_LIMIT_PER_MINUTE",
            &mut self.rate_limit_per_minute,
        )?;
        set_parsed(
            &var,
            "EDGEFLAG_SDK_KEY_GRACE_SECS",
            &mut self.sdk_key_grace_secs,
        )?;
        set_parsed(&var, "EDGEFLAG_PUBLISH_ENABLED", &mut self.publish.enabled)?;
        set_parsed(
            &var,
            "EDGEFLAG_PUBLISH_COALESCE_MS",
            &mut self.publish.coalesce_ms,
        )?;
        set_parsed(
            &var,
            "EDGEFLAG_WEBHOOKS_ENABLED",
            &mut self.webhooks.enabled,
        )?;
        set_parsed(
            &var,
            "EDGEFLAG_WEBHOOKS_MAX_ATTEMPTS",
            &mut self.webhooks.max_attempts,
        )?;
        if let Some(url) = var("EDGEFLAG_PUBLISH_EDGE_URL") {
            self.publish.targets.push(TargetConfig::Edge {
                name: "edge".to_string(),
                url,
            });
        }
        if let Some(path) = var("EDGEFLAG_PUBLISH_DIR") {
            self.publish.targets.push(TargetConfig::Directory {
                name: "directory".to_string(),
                path: PathBuf::from(path),
            });
        }
        Ok(())
    }
}

fn set_parsed<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    slot: &mut T,
) -> Result<(), ConfigError>
where
    T::Err: std::fmt::Display,
{
    if let Some(text) = var(name) {
        *slot = text
            .trim()
            .parse()
            .map_err(|e: T::Err| ConfigError::Env(name, e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_and_defaults() {
        let mut config: Config = toml::from_str(
            "listen = \"127.0.0.1:9000\"\n[[publish.targets]]\nkind = \"directory\"\nname = \"d\"\npath = \"/tmp/x\"\n",
        )
        .unwrap();
        config
            .apply_env(|name| (name == "EDGEFLAG_LISTEN").then(|| "127.0.0.1:9100".to_string()))
            .unwrap();
        assert_eq!(config.listen.port(), 9100);
        assert_eq!(config.publish.targets[0].name(), "d");
        assert_eq!(config.access_token_ttl_secs, 900);
        let bad = config.apply_env(|name| (name == "EDGEFLAG_LISTEN").then(|| "nope".to_string()));
        assert!(bad.is_err());
        assert!(toml::from_str::<Config>("unknown = 1").is_err());
    }
}
