//! Configuration: defaults, then an optional TOML file, then `EDGEFLAG_*`
//! environment variables (12-factor). Every setting is documented in
//! `docs/admin-config.md`.

use std::{net::SocketAddr, path::PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use edgeflag_admin_core::config::{
    AccountsConfig, PublishConfig, RetentionConfig, TargetConfig, WebhookConfig,
};
use edgeflag_admin_core::masterkey::KeyText;
pub use edgeflag_admin_core::usage::UsageConfig;

/// The admin's whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
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
    /// Serve HTTPS itself; unset, `serve` speaks plain HTTP for a TLS proxy in front.
    pub tls: TlsConfig,
    /// After SIGTERM or SIGINT, how long `serve` waits for requests and deliveries to
    /// finish before it exits anyway, seconds.
    pub shutdown_timeout_secs: u64,
    /// What old rows the retention job removes.
    pub retention: RetentionConfig,
    /// OpenTelemetry traces over OTLP/HTTP; off unless `endpoint` is set.
    pub telemetry: TelemetryConfig,
}

/// Where traces go: an OTLP/HTTP collector (protobuf). Off by default.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// The collector's base URL (`http://otel-collector:4318`); spans are posted to
    /// `{endpoint}/v1/traces`. Unset: no traces are exported.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute of every span.
    pub service_name: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: "edgeflag-admin".into(),
        }
    }
}

/// A certificate and key to serve HTTPS with (rustls); both or neither.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file: the server certificate first, then its chain.
    pub cert_file: Option<PathBuf>,
    /// PEM file: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
}

impl TlsConfig {
    /// Whether `serve` terminates TLS itself.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() || self.key_file.is_some()
    }
}

/// Whether the session cookie carries `Secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieSecure {
    /// When `public_url` is `https://…` or the request came through a TLS proxy
    /// (`X-Forwarded-Proto: https`).
    Auto,
    Always,
    Never,
}

/// The session cookie and how sign-ins are throttled.
#[derive(Debug, Clone, Deserialize, Serialize)]
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
#[derive(Debug, Clone, Deserialize, Serialize)]
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
            tls: TlsConfig::default(),
            telemetry: TelemetryConfig::default(),
            shutdown_timeout_secs: 20,
            retention: RetentionConfig::default(),
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
    Env(String, String),
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ConfigError {
    fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
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

    /// Applies `EDGEFLAG_*` variables read through `var`: every key of the file has one,
    /// named after its path (`login.window_secs` is `EDGEFLAG_LOGIN_WINDOW_SECS`; see
    /// [`env_name`]), plus the aliases in [`ALIASES`] and the variables that have no key
    /// (`EDGEFLAG_MASTER_KEY`, `EDGEFLAG_PUBLISH_EDGE_URL`, `EDGEFLAG_PUBLISH_DIR`).
    ///
    /// It works on the configuration as a JSON tree, so a key added to any section is
    /// settable from the environment without a line here: a variable's text is read as
    /// the kind of value the key holds (a boolean, a number, a list: comma-separated or
    /// a JSON array; a string otherwise), and the result must deserialize as the file's
    /// value would, or the variable is named in the error.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let mut tree = serde_json::to_value(&*self).map_err(ConfigError::internal)?;
        for key in keys() {
            let names = ALIASES
                .iter()
                .filter(|(path, _)| *path == key.path)
                .map(|(_, alias)| (*alias).to_string())
                .chain([key.env.clone()]);
            for name in names {
                let Some(text) = var(&name) else { continue };
                let value = key
                    .parse(&text)
                    .map_err(|e| ConfigError::Env(name.clone(), e))?;
                set_path(&mut tree, &key.path, value);
                serde_json::from_value::<Config>(tree.clone())
                    .map_err(|e| ConfigError::Env(name.clone(), e.to_string()))?;
            }
        }
        let master_key = self.master_key.take();
        *self = serde_json::from_value(tree).map_err(ConfigError::internal)?;
        self.master_key = master_key;
        if let Some(url) = &self.public_url {
            self.public_url = Some(url.trim().trim_end_matches('/').to_string());
        }
        if let Some(key) = var("EDGEFLAG_MASTER_KEY") {
            self.master_key = Some(KeyText::new(key));
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

    /// The dashboard's origin as configured (`scheme://host[:port]`), if any.
    pub fn public_origin(&self) -> Option<&str> {
        let url = self.public_url.as_deref()?;
        let after_scheme = url.find("://")? + 3;
        Some(match url[after_scheme..].find('/') {
            Some(slash) => &url[..after_scheme + slash],
            None => url,
        })
    }

    /// Checks what parsing cannot: values that parse but cannot work. `serve` and
    /// `edgeflag config check` call it; the first problem is the error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database_url;
        if !["sqlite:", "postgres:", "postgresql:"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            return Err(ConfigError::Invalid(
                "database_url",
                format!("`{}` is neither sqlite:… nor postgres://…", redact_url(url)),
            ));
        }
        if let Some(public) = &self.public_url
            && !(public.starts_with("https://") || public.starts_with("http://"))
        {
            return Err(ConfigError::Invalid(
                "public_url",
                format!("`{public}` is not an http:// or https:// address"),
            ));
        }
        let positive = [
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            ("refresh_token_ttl_secs", self.refresh_token_ttl_secs),
            (
                "request_timeout_secs",
                i64::try_from(self.request_timeout_secs).unwrap_or(1),
            ),
            (
                "body_limit_bytes",
                i64::try_from(self.body_limit_bytes).unwrap_or(1),
            ),
            (
                "rate_limit_per_minute",
                i64::from(self.rate_limit_per_minute),
            ),
        ];
        for (key, value) in positive {
            if value <= 0 {
                return Err(ConfigError::Invalid(key, "must be more than 0".into()));
            }
        }
        match (&self.tls.cert_file, &self.tls.key_file) {
            (Some(_), None) => Err(ConfigError::Invalid(
                "tls.key_file",
                "tls.cert_file is set, so the key is needed too".into(),
            )),
            (None, Some(_)) => Err(ConfigError::Invalid(
                "tls.cert_file",
                "tls.key_file is set, so the certificate is needed too".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The configuration in effect as a JSON tree, secrets replaced by `***`: the
    /// password of `database_url`, the master key, and every key whose name says
    /// token, secret or password (a Cloudflare target's `api_token`).
    pub fn redacted(&self) -> Value {
        let mut tree = serde_json::to_value(self).unwrap_or(Value::Null);
        redact_tree(&mut tree);
        if let Some(url) = tree.get_mut("database_url")
            && let Some(text) = url.as_str()
        {
            *url = Value::String(redact_url(text));
        }
        if let Some(map) = tree.as_object_mut() {
            let master = self.master_key.as_ref().map(|_| "***".to_string());
            map.insert(
                "master_key".into(),
                master.map_or(Value::Null, Value::String),
            );
        }
        tree
    }
}

fn redact_tree(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, child) in map.iter_mut() {
                let secret = ["token", "secret", "password"]
                    .iter()
                    .any(|word| name.contains(word));
                if secret && child.is_string() {
                    *child = Value::String("***".into());
                } else {
                    redact_tree(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_tree),
        _ => {}
    }
}

/// A database URL with its password (in the user part or a `password=` parameter)
/// replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme) = out.find("://") {
        let rest = scheme + 3;
        let authority_end = out[rest..].find('/').map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let user_info = &out[rest..rest + at];
            if let Some(colon) = user_info.find(':') {
                out.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    if let Some(at) = out.find("password=") {
        let start = at + "password=".len();
        let end = out[start..].find('&').map_or(out.len(), |i| start + i);
        out.replace_range(start..end, "***");
    }
    out
}

/// Variables kept from before every key had one, for keys whose path-derived name
/// differs; both work, the path-derived one wins when both are set.
pub const ALIASES: &[(&str, &str)] = &[
    ("accounts.session_idle_secs", "EDGEFLAG_SESSION_IDLE_SECS"),
    (
        "accounts.session_absolute_secs",
        "EDGEFLAG_SESSION_ABSOLUTE_SECS",
    ),
    (
        "accounts.invitation_ttl_secs",
        "EDGEFLAG_INVITATION_TTL_SECS",
    ),
    (
        "accounts.password_min_length",
        "EDGEFLAG_PASSWORD_MIN_LENGTH",
    ),
    ("login.cookie_secure", "EDGEFLAG_COOKIE_SECURE"),
    ("login.trust_forwarded_for", "EDGEFLAG_TRUST_FORWARDED_FOR"),
    (
        "feed.max_streams_per_principal",
        "EDGEFLAG_FEED_MAX_STREAMS",
    ),
];

/// One settable key: its dotted path in the file, its variable, and its default.
#[derive(Debug, Clone)]
pub struct Key {
    pub path: String,
    pub env: String,
    pub default: Value,
}

impl Key {
    /// A variable's text as the kind of value this key holds.
    fn parse(&self, text: &str) -> Result<Value, String> {
        let text = text.trim();
        match &self.default {
            Value::Bool(_) => text
                .parse::<bool>()
                .map(Value::Bool)
                .map_err(|_| format!("`{text}` is not true or false")),
            Value::Number(_) => text
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| text.parse::<u64>().map(Value::from))
                .or_else(|_| {
                    text.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                        .ok_or(())
                })
                .map_err(|()| format!("`{text}` is not a number")),
            Value::Array(_) if text.starts_with('[') => {
                serde_json::from_str(text).map_err(|e| format!("not a JSON array: {e}"))
            }
            Value::Array(_) => Ok(Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| Value::String(item.to_string()))
                    .collect(),
            )),
            Value::Null if text.is_empty() => Ok(Value::Null),
            _ => Ok(Value::String(text.to_string())),
        }
    }
}

/// The variable of a dotted path: `login.window_secs` → `EDGEFLAG_LOGIN_WINDOW_SECS`.
pub fn env_name(path: &str) -> String {
    format!("EDGEFLAG_{}", path.replace('.', "_").to_uppercase())
}

/// Every settable key: the leaves of the default configuration (a list such as
/// `publish.targets` is one key).
pub fn keys() -> Vec<Key> {
    fn walk(value: &Value, path: &str, out: &mut Vec<Key>) {
        match value {
            Value::Object(map) => {
                for (name, child) in map {
                    let child_path = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    walk(child, &child_path, out);
                }
            }
            leaf => out.push(Key {
                env: env_name(path),
                path: path.to_string(),
                default: leaf.clone(),
            }),
        }
    }
    let mut out = Vec::new();
    // The defaults always serialize: every field is plain data.
    if let Ok(tree) = serde_json::to_value(Config::default()) {
        walk(&tree, "", &mut out);
    }
    out
}

fn set_path(tree: &mut Value, path: &str, value: Value) {
    let mut node = tree;
    for part in path.split('.') {
        if !node.is_object() {
            *node = Value::Object(serde_json::Map::new());
        }
        node = node
            .as_object_mut()
            .map(|map| map.entry(part.to_string()).or_insert(Value::Null))
            .unwrap_or_else(|| unreachable!("made an object above"));
    }
    *node = value;
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
        let message = bad.unwrap_err().to_string();
        assert!(
            message.contains("EDGEFLAG_COOKIE_SECURE")
                && message.contains("unknown variant `maybe`"),
            "{message}"
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

    /// A valid value for a key, different from its default: from the key's kind where
    /// that says enough, else from this list, which must name every such key.
    fn sample(key: &Key) -> (String, Value) {
        let text = match key.path.as_str() {
            "database_url" => "postgres://edgeflag:pw@db:5432/edgeflag",
            "listen" => "0.0.0.0:9999",
            "public_url" => "https://flags.example.com",
            "telemetry.otlp_endpoint" => "http://otel-collector:4318",
            "telemetry.service_name" => "edgeflag-admin-eu",
            "login.cookie_secure" => "never",
            "master_key_file" | "tls.cert_file" | "tls.key_file" => "/run/secrets/file",
            "webhooks.allowed_networks" => {
                return (
                    "10.0.0.0/8, ::1/128".into(),
                    serde_json::json!(["10.0.0.0/8", "::1/128"]),
                );
            }
            "publish.targets" => {
                let targets = serde_json::json!([{"kind": "edge", "name": "e", "url": "https://edge.example.com"}]);
                return (targets.to_string(), targets);
            }
            _ => match &key.default {
                Value::Bool(b) => return ((!b).to_string(), Value::Bool(!b)),
                Value::Number(n) => {
                    let v = n.as_u64().expect("numeric defaults are whole") + 3;
                    return (v.to_string(), Value::from(v));
                }
                other => panic!("add a sample for `{}` (default {other})", key.path),
            },
        };
        (text.to_string(), Value::String(text.to_string()))
    }

    fn at<'a>(tree: &'a Value, path: &str) -> &'a Value {
        path.split('.').fold(tree, |node, part| &node[part])
    }

    #[test]
    fn every_key_can_be_set_by_its_variable_and_in_the_file() {
        let keys = keys();
        assert!(keys.len() > 40, "{} keys", keys.len());
        for key in &keys {
            let (text, expected) = sample(key);
            assert_ne!(
                expected, key.default,
                "{}: the sample must differ from the default",
                key.path
            );
            let mut from_env = Config::default();
            from_env
                .apply_env(|name| (name == key.env).then(|| text.clone()))
                .unwrap_or_else(|e| panic!("{}: {e}", key.env));
            let tree = serde_json::to_value(&from_env).unwrap();
            assert_eq!(
                at(&tree, &key.path),
                &expected,
                "{} from {}",
                key.path,
                key.env
            );

            let mut file = Value::Object(serde_json::Map::new());
            set_path(&mut file, &key.path, expected.clone());
            let toml_text = toml::to_string(&file).unwrap();
            let from_file: Config = toml::from_str(&toml_text)
                .unwrap_or_else(|e| panic!("{}: {e}\n{toml_text}", key.path));
            let tree = serde_json::to_value(&from_file).unwrap();
            assert_eq!(
                at(&tree, &key.path),
                &expected,
                "{} from the file",
                key.path
            );
        }
    }

    #[test]
    fn every_variable_is_unique_and_documented() {
        let docs = include_str!("../../docs/admin-config.md");
        let mut seen = std::collections::BTreeSet::new();
        let names = keys()
            .into_iter()
            .map(|k| k.env)
            .chain(ALIASES.iter().map(|(_, alias)| (*alias).to_string()));
        for name in names {
            assert!(seen.insert(name.clone()), "{name} names two keys");
            assert!(
                docs.contains(&format!("`{name}`")),
                "docs/admin-config.md does not list {name}"
            );
        }
    }

    #[test]
    fn a_bad_variable_is_named() {
        let mut config = Config::default();
        let err = config
            .apply_env(|n| (n == "EDGEFLAG_FEED_POLL_MS").then(|| "-1".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("EDGEFLAG_FEED_POLL_MS") && err.contains("-1"),
            "{err}"
        );
        let err = config
            .apply_env(|n| (n == "EDGEFLAG_PUBLISH_ENABLED").then(|| "yes".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`yes` is not true or false"), "{err}");
        let err = config
            .apply_env(|n| (n == "EDGEFLAG_PUBLISH_TARGETS").then(|| "[{\"kind\":\"ftp\"}]".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("EDGEFLAG_PUBLISH_TARGETS") && err.contains("ftp"),
            "{err}"
        );
    }

    #[test]
    fn the_effective_configuration_hides_secrets() {
        let mut config = Config {
            database_url: "postgres://edgeflag:hunter2@db:5432/edgeflag?sslmode=require".into(),
            master_key: Some(KeyText::new("efmk_secret".to_string())),
            ..Config::default()
        };
        config.publish.targets.push(TargetConfig::CloudflareKv {
            name: "kv".into(),
            account_id: "acct".into(),
            namespace_id: "ns".into(),
            api_token: "cf-token-value".into(),
            api_base: "https://api.cloudflare.com/client/v4".into(),
        });
        let text = config.redacted().to_string();
        for secret in ["hunter2", "efmk_secret", "cf-token-value"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(
            text.contains("postgres://edgeflag:***@db:5432/edgeflag?sslmode=require"),
            "{text}"
        );
        assert!(text.contains("\"master_key\":\"***\""), "{text}");
        assert_eq!(
            redact_url("postgres://db/edgeflag?user=e&password=pw&sslmode=require"),
            "postgres://db/edgeflag?user=e&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("sqlite://edgeflag.db?mode=rwc"),
            "sqlite://edgeflag.db?mode=rwc"
        );
    }

    #[test]
    fn validation_names_the_key_at_fault() {
        assert!(Config::default().validate().is_ok());
        let half_tls = Config {
            tls: TlsConfig {
                cert_file: Some("/run/cert.pem".into()),
                key_file: None,
            },
            ..Config::default()
        };
        assert!(
            half_tls
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("tls.key_file")
        );
        let mysql = Config {
            database_url: "mysql://u:pw@db/e".into(),
            ..Config::default()
        };
        let err = mysql.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("database_url") && !err.contains("pw@"),
            "{err}"
        );
        let zero = Config {
            request_timeout_secs: 0,
            ..Config::default()
        };
        assert!(
            zero.validate()
                .unwrap_err()
                .to_string()
                .starts_with("request_timeout_secs")
        );
    }
}
