//! The one error type of the SDK. Evaluations never fail (their errors are data in
//! [`Details`](crate::Details)); what can fail is starting a client, fetching, and
//! accepting a snapshot, and none of those replaces the snapshot in use.

use edgeflag_engine::accept::AcceptError;

/// Why a client could not start, or why a refresh or an offered snapshot was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The snapshot (or the trusted keys) failed the SDK's acceptance rules:
    /// signature, audience, environment, version, or the snapshot itself.
    #[error(transparent)]
    Refused(#[from] AcceptError),
    /// The edge could not be reached, or answered with an unexpected status.
    #[error("{url}: {message}")]
    Fetch { url: String, message: String },
    /// The bootstrap file could not be read.
    #[error("bootstrap file {path}: {message}")]
    Bootstrap { path: String, message: String },
    /// The builder was given a contradictory or incomplete configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The client was closed; it evaluates with its last snapshot but fetches no more.
    #[error("the client is closed")]
    Closed,
}

impl Error {
    /// A stable, machine-readable code, shared with the JS and Python SDKs:
    /// `INVALID_KEYS`, `MALFORMED`, `UNKNOWN_KEY`, `BAD_SIGNATURE`, `WRONG_SNAPSHOT`,
    /// `STALE_SNAPSHOT`, `SNAPSHOT_REFUSED`, `FETCH_FAILED`, `BOOTSTRAP`, `CONFIG`, `CLOSED`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused(e) => e.code(),
            Self::Fetch { .. } => "FETCH_FAILED",
            Self::Bootstrap { .. } => "BOOTSTRAP",
            Self::Config(_) => "CONFIG",
            Self::Closed => "CLOSED",
        }
    }

    pub(crate) fn fetch(url: &str, message: impl std::fmt::Display) -> Self {
        Self::Fetch {
            url: url.to_string(),
            message: message.to_string(),
        }
    }
}
