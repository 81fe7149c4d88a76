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
    #[error("snapshot is not valid JSON: {message} at line {line}, column {column}")]
    Json {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("snapshot is not valid UTF-8 (first invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error(
        "snapshot schemaVersion {found} is not supported; this engine reads schemaVersion {supported}"
    )]
    UnsupportedSchema { found: u64, supported: u64 },
    #[error("snapshot holds {count} {what}, over the limit of {limit}")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl LoadError {
    pub(crate) fn json(err: &serde_json::Error) -> Self {
        Self::Json {
            message: strip_position(err),
            line: err.line(),
            column: err.column(),
        }
    }
}

/// serde_json appends " at line L column C" to its messages; the position is
/// reported in separate fields, so drop it from the text.
pub(crate) fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text.get(..cut).unwrap_or(&text).to_string(),
        None => text,
    }
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
