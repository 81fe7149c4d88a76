//! Errors and warnings of loading. Evaluation has no error type: its errors are
//! data in the result (see [`crate::reason`]).

use alloc::{
    format,
    string::{String, ToString},
    vec::Vec,
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

    pub(crate) fn json(err: &serde_json::Error) -> Self {
        Self::Json {
            message: strip_position(err),
            line: err.line(),
            column: err.column(),
        }
    }
}

/// Where and why an item fails to parse, as a pointer into the item and a message
/// for people. `err` is serde_json's error for `raw`; its position is mapped back to
/// the member it falls in by [`pointer_at`], so no second, path-tracking parse (and
/// no second copy of the item's parsing code in the wasm builds) is needed.
pub(crate) fn locate(raw: &str, err: &serde_json::Error) -> FieldError {
    let mut path = pointer_at(raw, offset_of(raw, err.line(), err.column()));
    let text = strip_position(err);
    let (member, message) = reword(&text);
    if let Some(member) = member {
        push_token(&mut path, member);
    }
    FieldError { path, message }
}

/// The byte offset serde_json's `line` and `column` (both 1-based) point at: the byte
/// it had read last, or the one it peeked at.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = text
        .match_indices('\n')
        .nth(line.saturating_sub(2))
        .map_or(0, |(at, _)| at + 1);
    let line_start = if line <= 1 { 0 } else { line_start };
    (line_start + column).saturating_sub(1)
}

/// The JSON Pointer of the value being read at byte `offset` of `text`: the member or
/// element whose value starts before `offset` and is still open there; at a closing
/// `}` or `]`, the object or array itself.
pub(crate) fn pointer_at(text: &str, offset: usize) -> String {
    enum Frame {
        /// An object, with the name of the member being read once its name is read.
        Object(Option<String>),
        Array(usize),
    }
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < offset.min(bytes.len()) {
        match bytes.get(i) {
            Some(b'{') => stack.push(Frame::Object(None)),
            Some(b'[') => stack.push(Frame::Array(0)),
            Some(b'}' | b']') => {
                stack.pop();
            }
            Some(b',') => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(name)) => *name = None,
                None => {}
            },
            Some(b'"') => {
                let end = string_end(bytes, i);
                if let Some(Frame::Object(name @ None)) = stack.last_mut() {
                    let quoted = text.get(i..end).unwrap_or_default();
                    *name = Some(
                        serde_json::from_str(quoted)
                            .unwrap_or_else(|_| quoted.trim_matches('"').to_string()),
                    );
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    // At a closing bracket the error is about the container, not its last member.
    let closing = matches!(bytes.get(offset), Some(b'}' | b']'));
    let last = stack.len().saturating_sub(1);
    let mut pointer = String::new();
    for (depth, frame) in stack.iter().enumerate() {
        if closing && depth == last {
            break;
        }
        match frame {
            Frame::Object(Some(name)) => push_token(&mut pointer, name),
            Frame::Array(n) => pointer.push_str(&format!("/{n}")),
            Frame::Object(None) => {}
        }
    }
    pointer
}

/// The index just past the string that starts with the quote at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Appends one reference token to a JSON Pointer, escaping `~` and `/`.
fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
}

/// serde's wording, as a person would say it. A missing member is reported at the
/// end of its object, so that message also names the member to point at.
fn reword(message: &str) -> (Option<&str>, String) {
    fn quoted(rest: &str) -> Option<&str> {
        rest.split('`').nth(1)
    }
    if let Some(field) = message.strip_prefix("missing field ").and_then(quoted) {
        return (Some(field), "is missing".to_string());
    }
    // serde finds a repeated member as it reads its name: the position is already there.
    if message.starts_with("duplicate field ") {
        return (None, "appears more than once".to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The pointer `locate` gives for `raw` as an item of type `T`.
    fn at<'de, T: serde::Deserialize<'de>>(raw: &'de str) -> FieldError {
        let err = serde_json::from_str::<T>(raw).map(drop).unwrap_err();
        locate(raw, &err)
    }

    #[test]
    fn an_offset_maps_to_the_member_being_read() {
        let text = r#"{"a":[1,{"b~/c":"x"}],"d":{}}"#;
        assert_eq!(pointer_at(text, text.find("\"x\"").unwrap()), "/a/1/b~0~1c");
        assert_eq!(pointer_at(text, text.find('}').unwrap()), "/a/1");
        assert_eq!(pointer_at(text, text.find(']').unwrap()), "/a");
        assert_eq!(pointer_at(text, text.len() - 1), "");
        assert_eq!(pointer_at(text, 0), "");
    }

    #[test]
    fn errors_point_at_their_member_on_any_line() {
        let pretty = "{\n  \"key\": \"f\",\n  \"type\": \"boolean\",\n  \"enabled\": \"yes\"\n}";
        let err = at::<crate::input::Flag<'_>>(pretty);
        assert_eq!(err.path, "/enabled", "{}", err.message);
        assert_eq!(err.message, "expected a boolean, found string");
        let missing = at::<crate::input::Flag<'_>>("{\n\"key\":\"f\"\n}");
        assert_eq!(missing.path, "/type", "{}", missing.message);
        assert_eq!(missing.message, "is missing");
    }
}
