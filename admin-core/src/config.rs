//! The settings of the domain's background work: the publisher and its delivery
//! targets, and the webhook deliverer. The admin's whole configuration
//! (`edgeflag_admin::Config`, documented in `docs/admin-config.md`) embeds them.

use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::destination::Destinations;

/// The webhook deliverer's settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Whether `serve` runs the background deliverer.
    pub enabled: bool,
    /// Poll interval of `webhook_deliveries`, milliseconds.
    pub poll_ms: u64,
    /// First retry delay, milliseconds; doubles per failure up to `max_backoff_ms`.
    pub backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Attempts after which a delivery is given up (`failed`).
    pub max_attempts: i64,
    /// Timeout of one request to a receiver, milliseconds. A delivery being sent is
    /// claimed for twice this plus 5 s, after which another replica may send it.
    pub timeout_ms: u64,
    /// Networks (CIDR) webhooks may reach besides public addresses, for receivers on a
    /// self-hoster's own network, e.g. `["10.20.0.0/16"]`. Empty by default.
    pub allowed_networks: Vec<IpNet>,
}

impl WebhookConfig {
    /// The destinations webhooks may be created for and delivered to.
    pub fn destinations(&self) -> Destinations {
        Destinations::new(&self.allowed_networks)
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_ms: 500,
            backoff_ms: 1_000,
            max_backoff_ms: 15 * 60_000,
            max_attempts: 10,
            timeout_ms: 10_000,
            allowed_networks: Vec::new(),
        }
    }
}

/// The publisher's settings and targets.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishConfig {
    /// Whether `serve` runs the background publisher.
    pub enabled: bool,
    /// How long the publisher waits after a change to coalesce a burst, milliseconds.
    pub coalesce_ms: u64,
    /// Poll interval of the outbox, milliseconds.
    pub poll_ms: u64,
    /// First retry delay, milliseconds; doubles per failure up to `max_backoff_ms`.
    pub backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// How long a delivery's claim on a target lasts, milliseconds: a replica that dies
    /// mid-delivery holds the target this long before another takes over. A delivery
    /// request times out at half of it (at most 15 s).
    pub claim_ttl_ms: u64,
    pub targets: Vec<TargetConfig>,
}

/// One delivery target.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TargetConfig {
    /// The edge's publish endpoint (`PUT {url}/publish/v1/environments/{env}`).
    Edge { name: String, url: String },
    /// Files named as the edge's KV keys, under `path`.
    Directory { name: String, path: PathBuf },
    /// The Cloudflare KV REST API (bulk writes).
    CloudflareKv {
        name: String,
        account_id: String,
        namespace_id: String,
        api_token: String,
        #[serde(default = "default_cloudflare_api")]
        api_base: String,
    },
}

impl TargetConfig {
    pub fn name(&self) -> &str {
        match self {
            Self::Edge { name, .. }
            | Self::Directory { name, .. }
            | Self::CloudflareKv { name, .. } => name,
        }
    }
}

fn default_cloudflare_api() -> String {
    "https://api.cloudflare.com/client/v4".to_string()
}

impl Default for PublishConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            coalesce_ms: 50,
            poll_ms: 200,
            backoff_ms: 500,
            max_backoff_ms: 60_000,
            claim_ttl_ms: 60_000,
            targets: Vec::new(),
        }
    }
}

/// People's accounts: how long sessions and invitations live, and the password rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    /// A session unused for this long ends (seconds); every request moves it on.
    pub session_idle_secs: i64,
    /// A session ends this long after sign-in whatever its use (seconds).
    pub session_absolute_secs: i64,
    /// How long an invitation link works (seconds).
    pub invitation_ttl_secs: i64,
    /// The shortest password accepted, in characters (at most 128 are).
    pub password_min_length: usize,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            session_idle_secs: 30 * 60,
            session_absolute_secs: 12 * 3600,
            invitation_ttl_secs: 7 * 24 * 3600,
            password_min_length: 12,
        }
    }
}

/// What the retention job removes, and how often it runs (`retention`). Zero keeps
/// rows of that kind forever.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Audit rows older than this many days are deleted; 0 (the default) keeps the
    /// audit log whole.
    pub audit_days: i64,
    /// Finished (delivered or failed) webhook deliveries older than this many days are
    /// deleted; pending ones never are.
    pub webhook_delivery_days: i64,
    /// Stored snapshots kept per environment besides those a target still needs: the
    /// newest this many. Snapshots are not history (flag versions are): an old one is
    /// only ever sent to a target that is behind.
    pub snapshots_kept: i64,
    /// How often the job runs, seconds (once across replicas).
    pub interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            audit_days: 0,
            webhook_delivery_days: 30,
            snapshots_kept: 20,
            interval_secs: 3600,
        }
    }
}
