//! The one translation of deserialization errors into the API's words.
//!
//! serde reports a bad field in Rust's vocabulary ("invalid type: string \"x\",
//! expected u32", "expected a map", "missing field `offVariation`") and at the path of
//! the object that holds it. Every extractor (JSON bodies and query strings) sends its
//! error through [`translate`], which says the same in JSON's vocabulary ("expected a
//! whole number ≥ 0, found the string \"x\"") and points at the member itself. serde's
//! messages have a fixed grammar (`serde::de::Error`'s provided methods), which is what
//! this reads; any other message (a type's own) passes through unchanged.

use serde_path_to_error::{Path, Segment};

/// A JSON Pointer (RFC 6901) for a serde path: `/rules/0/serve`, `""` for the root.
pub fn pointer(path: &Path) -> String {
    path.iter().fold(String::new(), |mut out, segment| {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&escape(key)),
            Segment::Enum { variant } => out.push_str(&escape(variant)),
            Segment::Unknown => out.push('?'),
        }
        out
    })
}

/// Escapes one reference token of a JSON Pointer.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The pointer and message a user reads for serde's `message` at `path` (the pointer
/// serde_path_to_error reports: the object holding a missing member, the member
/// itself otherwise).
pub fn translate(path: &str, message: &str) -> (String, String) {
    let message = strip_position(message);
    if let Some(field) = ticked(message, "missing field ") {
        return (
            format!("{path}/{}", escape(field)),
            format!("`{field}` is required"),
        );
    }
    if let Some(field) = ticked(message, "duplicate field ") {
        return (path.to_string(), format!("`{field}` appears twice"));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return (
            path.to_string(),
            unknown("field", rest, "known fields here"),
        );
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return (path.to_string(), unknown("value", rest, "expected one of"));
    }
    let text = if let Some(rest) = message.strip_prefix("invalid type: ") {
        found(rest)
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        found(rest)
    } else if let Some(rest) = message.strip_prefix("invalid length ") {
        match rest.split_once(", expected ") {
            Some((len, exp)) => format!("expected {}, found {len} elements", expected(exp)),
            None => message.to_string(),
        }
    } else {
        number_text(message).unwrap_or(message).to_string()
    };
    (path.to_string(), text)
}

/// `unexpected, expected X` as "expected X', found U'".
fn found(rest: &str) -> String {
    match rest.rsplit_once(", expected ") {
        Some((unexp, exp)) => format!("expected {}, found {}", expected(exp), unexpected(unexp)),
        None => rest.to_string(),
    }
}

/// serde's `` `name`, expected one of `a`, `b` `` as a sentence naming the choices.
fn unknown(what: &str, rest: &str, choices: &str) -> String {
    let (name, tail) = rest.split_once(", ").unwrap_or((rest, ""));
    let tail = tail
        .strip_prefix("expected one of ")
        .or_else(|| tail.strip_prefix("expected "));
    match tail {
        Some(list) => format!("unknown {what} {name}; {choices}: {list}"),
        None => format!("unknown {what} {name}; none are allowed here"),
    }
}

/// What serde expected (its `Visitor::expecting` or a primitive's name), in JSON words.
fn expected(exp: &str) -> String {
    let plain = match exp {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number ≥ 0",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a borrowed string" | "a string" => "a string",
        "a boolean" => "true or false",
        "a map" => "an object",
        "a sequence" | "a tuple" => "an array",
        "unit" => "null",
        "a character" | "char" => "a single character",
        "any valid JSON value" | "any value" => "a JSON value",
        other if other.starts_with("struct ") => "an object",
        other if other.starts_with("tuple") => "an array",
        other => return other.to_string(),
    };
    plain.to_string()
}

/// What serde found, in JSON words.
fn unexpected(unexp: &str) -> String {
    let plain = match unexp {
        "null" | "unit value" => "null",
        "sequence" => "an array",
        "map" => "an object",
        other => {
            return if let Some(s) = other.strip_prefix("string ") {
                format!("the string {s}")
            } else if let Some(b) = other.strip_prefix("boolean ") {
                b.trim_matches('`').to_string()
            } else if let Some(n) = other
                .strip_prefix("integer ")
                .or_else(|| other.strip_prefix("floating point "))
            {
                format!("the number {}", n.trim_matches('`'))
            } else {
                other.to_string()
            };
        }
    };
    plain.to_string()
}

/// The messages of `str::parse` for numbers, which query strings report.
fn number_text(message: &str) -> Option<&'static str> {
    match message {
        "invalid digit found in string" => Some("expected a whole number ≥ 0"),
        "cannot parse integer from empty string" => Some("expected a whole number, found nothing"),
        "number too large to fit in target type" => Some("the number is too large"),
        "invalid float literal" => Some("expected a number"),
        _ => None,
    }
}

/// The name in `` prefix `name` ``.
fn ticked<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message
        .strip_prefix(prefix)?
        .strip_prefix('`')?
        .strip_suffix('`')
}

/// serde_json appends ` at line 1 column 20`; the pointer already says where.
fn strip_position(text: &str) -> &str {
    match text.rfind(" at line ") {
        Some(cut) => &text[..cut],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_words_become_json_words() {
        let cases = [
            (
                "invalid type: string \"x\", expected u32 at line 1 column 9",
                "expected a whole number ≥ 0, found the string \"x\"",
            ),
            (
                "invalid value: integer `-1`, expected u32",
                "expected a whole number ≥ 0, found the number -1",
            ),
            (
                "invalid type: sequence, expected a map",
                "expected an object, found an array",
            ),
            (
                "invalid type: map, expected a sequence",
                "expected an array, found an object",
            ),
            (
                "invalid type: sequence, expected struct CreateFlag",
                "expected an object, found an array",
            ),
            (
                "invalid type: null, expected a string",
                "expected a string, found null",
            ),
            (
                "invalid type: floating point `1.5`, expected i64",
                "expected a whole number, found the number 1.5",
            ),
            (
                "invalid type: boolean `true`, expected a string",
                "expected a string, found true",
            ),
            (
                "unknown field `offVaration`, expected one of `enabled`, `offVariation`",
                "unknown field `offVaration`; known fields here: `enabled`, `offVariation`",
            ),
            ("a custom message", "a custom message"),
        ];
        for (serde, user) in cases {
            assert_eq!(translate("/a", serde), ("/a".to_string(), user.to_string()));
        }
    }

    #[test]
    fn a_missing_member_is_pointed_at() {
        assert_eq!(
            translate("", "missing field `offVariation`"),
            (
                "/offVariation".to_string(),
                "`offVariation` is required".to_string()
            )
        );
    }
}
