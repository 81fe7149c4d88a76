//! Errors and warnings of loading. Evaluation has no error type: its errors are
//! data in the result (see [`crate::reason`]).

use alloc::{
    format,
    string::{String, ToString},
};
use core::fmt;

/// Why a whole snapshot was refused. A refused snapshot must never replace a good
/// one that is already serving.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("snapshot is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// Text that cannot be read as JSON, or JSON this format refuses to read (a
    /// lone surrogate, a number beyond the range of a double) where the snapshot's
    /// own members are named.
    #[error("snapshot cannot be read as JSON: {message} at line {line}, column {column}")]
    Json {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("snapshot is not valid UTF-8 (first invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error(
        "the snapshot's `schemaVersion` {found} is not supported; this engine reads schemaVersion 1 to {supported}"
    )]
    UnsupportedSchema { found: u64, supported: u64 },
    #[error("snapshot holds {count} {what}, over the limit of {limit}")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    /// A member of the snapshot itself is missing, repeated or malformed; `path` is
    /// its JSON Pointer (empty for the document), `message` names it and says what is wrong.
    #[error("{message}")]
    Invalid { path: String, message: String },
}

impl LoadError {
    /// The JSON Pointer of the member at fault, when one member is: `None` when the
    /// text as a whole is (too large, not UTF-8, not JSON).
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Invalid { path, .. } => Some(path),
            Self::UnsupportedSchema { .. } => Some("/schemaVersion"),
            Self::TooMany { what, .. } => Some(if *what == "flags" {
                "/flags"
            } else {
                "/segments"
            }),
            Self::TooLarge { .. } | Self::Json { .. } | Self::NotUtf8 { .. } => None,
        }
    }
}

/// JSON text from bytes, for `serde_json::from_str`. Every document the engine reads
/// goes through `from_str`, so one instance of serde_json's parser ships in the wasm
/// builds rather than a second for byte slices. JSON is UTF-8 (RFC 8259): bytes that
/// are not are refused here, with the offset of the first bad byte.
pub(crate) fn json_text(bytes: &[u8]) -> Result<&str, String> {
    core::str::from_utf8(bytes).map_err(|e| {
        let mut message = String::from("not valid UTF-8 (first invalid byte at offset ");
        message.push_str(itoa::Buffer::new().format(e.valid_up_to()));
        message.push(')');
        message
    })
}

/// Which kind of item a [`Warning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Flag,
    Segment,
    Snapshot,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Segment => "segment",
            Self::Snapshot => "snapshot",
        }
    }
}

/// A problem with one item found while loading. The item degrades alone: a flag
/// answers `ERROR`/`PARSE_ERROR`, a segment makes the flags that use it do so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub kind: ItemKind,
    /// The flag or segment key, when it could be read.
    pub key: Option<String>,
    /// A JSON Pointer into the item (`/rules/0/conditions/1/values/0`); empty for the item itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.key.as_deref().unwrap_or("?");
        write!(f, "{} `{}`", self.kind.as_str(), key)?;
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A defect inside one item, located by a JSON Pointer relative to the item.
/// Compilers build it bottom-up: the innermost sets the field, each caller
/// prefixes its own position with [`FieldError::within`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(path: impl fmt::Display, message: impl Into<String>) -> Self {
        Self {
            path: path.to_string(),
            message: message.into(),
        }
    }

    /// Prefixes this error's message with `prefix`.
    pub(crate) fn prefixed(mut self, prefix: &str) -> Self {
        self.message.insert_str(0, prefix);
        self
    }

    /// Prefixes this error's path with `prefix` (itself a pointer such as `/rules/3`).
    pub(crate) fn within(mut self, prefix: impl fmt::Display) -> Self {
        self.path = format!("{prefix}{}", self.path);
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}
