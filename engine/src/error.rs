//! Errors and warnings of loading. Evaluation has no error type: its errors are
//! data in the result (see [`crate::reason`]).

use alloc::{
    format,
    string::{String, ToString},
};
use core::fmt;
use serde_path_to_error::Segment;

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
        "the snapshot's `schemaVersion` {found} is not supported; this engine reads schemaVersion {supported}"
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

    pub(crate) fn json(err: &serde_json::Error) -> Self {
        Self::Json {
            message: strip_position(err),
            line: err.line(),
            column: err.column(),
        }
    }
}

/// Where and why an item fails to parse, as a pointer into the item and a message
/// for people. Parses `raw` again with its path tracked: the slow path, taken only
/// for an item already known to be malformed.
pub(crate) fn locate<'de, T: serde::Deserialize<'de>>(raw: &'de str) -> FieldError {
    let mut de = serde_json::Deserializer::from_str(raw);
    let Err(err) = serde_path_to_error::deserialize::<_, T>(&mut de) else {
        return FieldError::new("", "cannot be read");
    };
    let mut path = String::new();
    for segment in err.path() {
        match segment {
            Segment::Seq { index } => path.push_str(&format!("/{index}")),
            Segment::Map { key } => push_token(&mut path, key),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    let text = strip_position(err.inner());
    let (member, message) = reword(&text);
    if let Some(member) = member {
        push_token(&mut path, member);
    }
    FieldError { path, message }
}

/// Appends one reference token to a JSON Pointer, escaping `~` and `/`.
fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
}

/// serde's wording, as a person would say it. A message about one member of the
/// object the error points at (`missing field `x``) also names that member.
fn reword(message: &str) -> (Option<&str>, String) {
    fn quoted(rest: &str) -> Option<&str> {
        rest.split('`').nth(1)
    }
    if let Some(field) = message.strip_prefix("missing field ").and_then(quoted) {
        return (Some(field), "is missing".to_string());
    }
    if let Some(field) = message.strip_prefix("duplicate field ").and_then(quoted) {
        return (Some(field), "appears more than once".to_string());
    }
    let found_expected = message
        .strip_prefix("invalid type: ")
        .map(|rest| (rest, true))
        .or_else(|| message.strip_prefix("invalid value: ").map(|r| (r, false)));
    if let Some((rest, is_type)) = found_expected
        && let Some(at) = rest.rfind(", expected ")
    {
        let (found, expected) = (
            rest.get(..at).unwrap_or(rest),
            rest.get(at + 11..).unwrap_or(""),
        );
        let found = if is_type {
            json_type(found).to_string()
        } else {
            // `integer `-1``, `floating point `3.5``: the number itself.
            quoted(found).unwrap_or(found).to_string()
        };
        return (
            None,
            format!("expected {}, found {found}", expectation(expected)),
        );
    }
    (None, format!("cannot be read: {message}"))
}

/// The JSON type of serde's description of an unexpected value.
fn json_type(found: &str) -> &str {
    const TYPES: &[(&str, &str)] = &[
        ("string", "string"),
        ("integer", "number"),
        ("floating point", "number"),
        ("boolean", "boolean"),
        ("null", "null"),
        ("unit", "null"),
        ("map", "object"),
        ("sequence", "array"),
    ];
    TYPES
        .iter()
        .find(|(prefix, _)| found.starts_with(prefix))
        .map_or(found, |(_, name)| name)
}

/// serde's description of what it expected, in JSON's words.
fn expectation(expected: &str) -> &str {
    match expected {
        "a sequence" => "an array",
        "a map" => "an object",
        e if e.starts_with("struct ") => "an object",
        e => e,
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
