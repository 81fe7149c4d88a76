//! Configuration: defaults, then an optional TOML file, then `EDGEFLAG_*`
//! environment variables (12-factor). Every setting is documented in
//! `docs/admin-config.md`.

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

pub use edgeflag_admin_core::config::{AccountsConfig, PublishConfig, TargetConfig, WebhookConfig};
use edgeflag_admin_core::masterkey::KeyText;
pub use edgeflag_admin_core::usage::UsageConfig;

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
    /// Sign-in requests (`/v1/auth/token`, `/v1/auth/refresh`) per minute allowed per
    /// client address, and token requests per API key.
    pub auth_rate_limit_per_minute: u32,
    /// Default grace period of a rotated SDK key, seconds.
    pub sdk_key_grace_secs: i64,
    /// Where the publisher delivers snapshots.
    pub publish: PublishConfig,
    /// How webhook deliveries are sent and retried.
    pub webhooks: WebhookConfig,
    /// The dashboard's address as people reach it (`https://flags.example.com`), for
    /// invitation links and the `Origin` check of cookie requests; unset, both use the
    /// request's own `Host`.
    pub public_url: Option<String>,
    /// Sessions, invitations and the password rule.
    pub accounts: AccountsConfig,
    /// The session cookie and sign-in throttling.
    pub login: LoginConfig,
    /// The change feed (`GET /v1/feed`).
    pub feed: FeedConfig,
    /// Evaluation insights: ingestion rate limit, retention, writer.
    pub usage: UsageConfig,
    /// The master key (`EDGEFLAG_MASTER_KEY` only: never read from the file).
    #[serde(skip)]
    pub master_key: Option<KeyText>,
    /// A file holding the master key (`EDGEFLAG_MASTER_KEY_FILE`).
    pub master_key_file: Option<PathBuf>,
}

/// Whether the session cookie carries `Secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieSecure {
    /// When `public_url` is `https://…` or the request came through a TLS proxy
    /// (`X-Forwarded-Proto: https`).
    Auto,
    Always,
    Never,
}

impl std::str::FromStr for CookieSecure {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Self::Auto),
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            other => Err(format!("`{other}` is not one of auto, always, never")),
        }
    }
}

/// The session cookie and how sign-ins are throttled.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginConfig {
    pub cookie_secure: CookieSecure,
    /// Failed sign-ins allowed per email address within `window_secs`.
    pub failures_per_account: u32,
    /// Failed sign-ins (and invitation acceptances) allowed per client address within `window_secs`.
    pub failures_per_address: u32,
    pub window_secs: u64,
    /// Take the client address from the last `X-Forwarded-For` entry (only behind a
    /// proxy that sets it); otherwise the connection's peer address is used.
    pub trust_forwarded_for: bool,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            cookie_secure: CookieSecure::Auto,
            failures_per_account: 5,
            failures_per_address: 50,
            window_secs: 15 * 60,
            trust_forwarded_for: false,
        }
    }
}

/// The change feed's streams.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    /// How often the feed looks for new rows written by other processes (the CLI, a
    /// second admin) and by the publisher, milliseconds; this process's own API writes
    /// wake it at once.
    pub poll_ms: u64,
    /// Heartbeat interval, seconds; each heartbeat also checks that the stream's
    /// credential (session, API key) is still good, and ends the stream if not.
    pub heartbeat_secs: u64,
    /// Streams open at once per user or API key; one more is answered 429.
    pub max_streams_per_principal: usize,
    /// Events buffered per organization for streams that are behind; a stream that
    /// falls further behind (a client that does not read) is ended, and resumes from
    /// the database when it reconnects.
    pub buffer_events: usize,
    /// How long events are kept for resuming, hours.
    pub retention_hours: i64,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            poll_ms: 250,
            heartbeat_secs: 15,
            max_streams_per_principal: 5,
            buffer_events: 256,
            retention_hours: 7 * 24,
        }
    }
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
            auth_rate_limit_per_minute: 20,
            sdk_key_grace_secs: 24 * 3600,
            publish: PublishConfig::default(),
            webhooks: WebhookConfig::default(),
            public_url: None,
            accounts: AccountsConfig::default(),
            login: LoginConfig::default(),
            feed: FeedConfig::default(),
            usage: UsageConfig::default(),
            master_key: None,
            master_key_file: None,
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
            "EDGEFLAG_AUTH_RATE_LIMIT_PER_MINUTE",
            &mut self.auth_rate_limit_per_minute,
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
        if let Some(url) = var("EDGEFLAG_PUBLIC_URL") {
            self.public_url = Some(url.trim().trim_end_matches('/').to_string());
        }
        self.apply_account_env(&var)?;
        self.apply_usage_env(&var)?;
        if let Some(key) = var("EDGEFLAG_MASTER_KEY") {
            self.master_key = Some(KeyText::new(key));
        }
        if let Some(path) = var("EDGEFLAG_MASTER_KEY_FILE") {
            self.master_key_file = Some(PathBuf::from(path));
        }
        if let Some(list) = var("EDGEFLAG_WEBHOOKS_ALLOWED_NETWORKS") {
            self.webhooks.allowed_networks = list
                .split(',')
                .map(str::trim)
                .filter(|net| !net.is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|e: ipnet::AddrParseError| {
                    ConfigError::Env("EDGEFLAG_WEBHOOKS_ALLOWED_NETWORKS", e.to_string())
                })?;
        }
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

impl Config {
    fn apply_account_env(
        &mut self,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let accounts = &mut self.accounts;
        set_parsed(
            var,
            "EDGEFLAG_SESSION_IDLE_SECS",
            &mut accounts.session_idle_secs,
        )?;
        set_parsed(
            var,
            "EDGEFLAG_SESSION_ABSOLUTE_SECS",
            &mut accounts.session_absolute_secs,
        )?;
        set_parsed(
            var,
            "EDGEFLAG_INVITATION_TTL_SECS",
            &mut accounts.invitation_ttl_secs,
        )?;
        set_parsed(
            var,
            "EDGEFLAG_PASSWORD_MIN_LENGTH",
            &mut accounts.password_min_length,
        )?;
        let login = &mut self.login;
        set_parsed(var, "EDGEFLAG_COOKIE_SECURE", &mut login.cookie_secure)?;
        set_parsed(
            var,
            "EDGEFLAG_LOGIN_FAILURES_PER_ACCOUNT",
            &mut login.failures_per_account,
        )?;
        set_parsed(
            var,
            "EDGEFLAG_LOGIN_FAILURES_PER_ADDRESS",
            &mut login.failures_per_address,
        )?;
        set_parsed(
            var,
            "EDGEFLAG_TRUST_FORWARDED_FOR",
            &mut login.trust_forwarded_for,
        )?;
        let feed = &mut self.feed;
        set_parsed(
            var,
            "EDGEFLAG_FEED_HEARTBEAT_SECS",
            &mut feed.heartbeat_secs,
        )?;
        set_parsed(var, "EDGEFLAG_FEED_POLL_MS", &mut feed.poll_ms)?;
        set_parsed(
            var,
            "EDGEFLAG_FEED_MAX_STREAMS",
            &mut feed.max_streams_per_principal,
        )?;
        Ok(())
    }

    /// The dashboard's origin as configured (`scheme://host[:port]`), if any.
    pub fn public_origin(&self) -> Option<&str> {
        let url = self.public_url.as_deref()?;
        let after_scheme = url.find("://")? + 3;
        Some(match url[after_scheme..].find('/') {
            Some(slash) => &url[..after_scheme + slash],
            None => url,
        })
    }

    fn apply_usage_env(
        &mut self,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let usage = &mut self.usage;
        set_parsed(
            var,
            "EDGEFLAG_USAGE_RATE_LIMIT_PER_MINUTE",
            &mut usage.rate_limit_per_minute,
        )?;
        set_parsed(
            var,
            "EDGEFLAG_USAGE_MINUTE_RETENTION_DAYS",
            &mut usage.minute_retention_days,
        )?;
        set_parsed(
            var,
            "EDGEFLAG_USAGE_HOUR_RETENTION_DAYS",
            &mut usage.hour_retention_days,
        )?;
        set_parsed(
            var,
            "EDGEFLAG_USAGE_DAY_RETENTION_DAYS",
            &mut usage.day_retention_days,
        )?;
        set_parsed(
            var,
            "EDGEFLAG_USAGE_RETENTION_INTERVAL_SECS",
            &mut usage.retention_interval_secs,
        )?;
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

    #[test]
    fn account_and_feed_settings_come_from_file_and_environment() {
        let mut config: Config = toml::from_str(
            "public_url = \"https://flags.example.com/base\"\n[accounts]\nsession_idle_secs = 60\n[login]\ncookie_secure = \"always\"\n[feed]\nmax_streams_per_principal = 2\n",
        )
        .unwrap();
        assert_eq!(config.accounts.session_idle_secs, 60);
        assert_eq!(config.accounts.session_absolute_secs, 12 * 3600);
        assert_eq!(config.login.cookie_secure, CookieSecure::Always);
        assert_eq!(config.feed.max_streams_per_principal, 2);
        assert_eq!(config.public_origin(), Some("https://flags.example.com"));
        config
            .apply_env(|name| match name {
                "EDGEFLAG_SESSION_IDLE_SECS" => Some("5".into()),
                "EDGEFLAG_COOKIE_SECURE" => Some("never".into()),
                "EDGEFLAG_PUBLIC_URL" => Some("http://127.0.0.1:9000/".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.accounts.session_idle_secs, 5);
        assert_eq!(config.login.cookie_secure, CookieSecure::Never);
        assert_eq!(config.public_origin(), Some("http://127.0.0.1:9000"));
        let bad = config.apply_env(|n| (n == "EDGEFLAG_COOKIE_SECURE").then(|| "maybe".into()));
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("`maybe` is not one of")
        );
    }

    #[test]
    fn webhook_allowed_networks_from_file_and_environment() {
        let mut config: Config =
            toml::from_str("[webhooks]\nallowed_networks = [\"10.20.0.0/16\"]\n").unwrap();
        assert_eq!(
            config.webhooks.allowed_networks[0].to_string(),
            "10.20.0.0/16"
        );
        assert!(
            toml::from_str::<Config>("[webhooks]\nallowed_networks = [\"10.20.0.1\"]\n").is_err()
        );
        config
            .apply_env(|name| {
                (name == "EDGEFLAG_WEBHOOKS_ALLOWED_NETWORKS")
                    .then(|| "127.0.0.0/8, ::1/128".to_string())
            })
            .unwrap();
        let nets: Vec<String> = config
            .webhooks
            .allowed_networks
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["127.0.0.0/8", "::1/128"]);
        let bad = config.apply_env(|name| {
            (name == "EDGEFLAG_WEBHOOKS_ALLOWED_NETWORKS").then(|| "localhost".to_string())
        });
        assert!(bad.is_err());
    }
}
