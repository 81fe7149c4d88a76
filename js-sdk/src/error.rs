//! The one error type of the adapter. Each variant has a stable `code` that the
//! TypeScript layer exposes as `EdgeflagError.code`.

use edgeflag_engine::{LoadError, envelope::EnvelopeError};

/// Why a key set or a signed snapshot was refused. The snapshot in use stays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdkError {
    #[error("invalid trusted keys: {0}")]
    Keys(EnvelopeError),
    #[error("no trusted key: give the client a JWKS or a public key before any snapshot")]
    NoTrustedKeys,
    #[error("{0}")]
    Signature(EnvelopeError),
    #[error("signed snapshot is for audience `{0}`, which this client does not accept")]
    Audience(String),
    #[error("signed snapshot header lacks `{0}`")]
    MissingClaim(&'static str),
    #[error("signed snapshot is for environment `{found}`, this client expects `{expected}`")]
    Environment { expected: String, found: String },
    #[error("signed snapshot version {found} is older than version {held} in use")]
    Stale { found: u64, held: u64 },
    #[error("snapshot refused: {0}")]
    Load(LoadError),
    #[error("signed header says {header}, the snapshot itself {payload}")]
    HeaderMismatch { header: String, payload: String },
}

impl SdkError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Keys(_) | Self::NoTrustedKeys => "INVALID_KEYS",
            Self::Signature(EnvelopeError::Malformed(_)) => "MALFORMED",
            Self::Signature(EnvelopeError::UnknownKey(_)) => "UNKNOWN_KEY",
            Self::Signature(_) => "BAD_SIGNATURE",
            Self::Audience(_) | Self::Environment { .. } | Self::MissingClaim(_) => {
                "WRONG_SNAPSHOT"
            }
            Self::Stale { .. } => "STALE_SNAPSHOT",
            Self::Load(_) | Self::HeaderMismatch { .. } => "SNAPSHOT_REFUSED",
        }
    }
}
