//! Attribute references: how a condition or a rollout names a value in the context.
//!
//! - `targetingKey`, or any other name without a leading `/`, is a top-level
//!   attribute, taken literally (dots are part of the name);
//! - a name with a leading `/` is a JSON Pointer (RFC 6901) into nested objects and arrays;
//! - `$now` is the evaluation time, as epoch seconds.

use alloc::{boxed::Box, string::String, sync::Arc, vec::Vec};
use serde_json::Value;

use crate::{context::Context, date::Now, error::FieldError, strings::Strings};

/// The reserved name of the evaluation time.
pub const NOW: &str = "$now";
/// The OpenFeature targeting key.
pub const TARGETING_KEY: &str = "targetingKey";

/// A compiled attribute reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttributeRef {
    Top(Arc<str>),
    Pointer(Vec<Box<str>>),
    Now,
}

impl AttributeRef {
    pub(crate) fn parse(name: &str) -> Result<Self, FieldError> {
        if name.is_empty() {
            return Err(FieldError::new("", "attribute reference is empty"));
        }
        if name == NOW {
            return Ok(Self::Now);
        }
        let Some(pointer) = name.strip_prefix('/') else {
            return Ok(Self::Top(name.into()));
        };
        let mut tokens = Vec::new();
        for raw in pointer.split('/') {
            tokens.push(
                unescape(raw)
                    .map_err(|m| FieldError::new("", m))?
                    .into_boxed_str(),
            );
        }
        Ok(Self::Pointer(tokens))
    }

    /// Like [`AttributeRef::parse`], sharing top-level names through `strings`:
    /// a snapshot names the same few attributes over and over.
    pub(crate) fn parse_shared(name: &str, strings: &mut Strings) -> Result<Self, FieldError> {
        if name.is_empty() || name == NOW || name.starts_with('/') {
            return Self::parse(name);
        }
        Ok(Self::Top(strings.get(name)))
    }

    pub(crate) fn is_targeting_key(&self) -> bool {
        matches!(self, Self::Top(name) if &**name == TARGETING_KEY)
    }

    /// The value this reference names in `ctx`, if any; `$now` is the evaluation time.
    pub(crate) fn resolve<'a>(&self, ctx: &'a Context, now: &'a Now) -> Option<&'a Value> {
        match self {
            Self::Top(name) => ctx.get(name),
            Self::Now => Some(now.value()),
            Self::Pointer(tokens) => {
                let (first, rest) = tokens.split_first()?;
                let mut current = ctx.get(first)?;
                for token in rest {
                    current = match current {
                        Value::Object(map) => map.get(&**token)?,
                        Value::Array(items) => items.get(array_index(token)?)?,
                        _ => return None,
                    };
                }
                Some(current)
            }
        }
    }
}

/// RFC 6901 array indices: digits only, no leading zero except "0" itself.
fn array_index(token: &str) -> Option<usize> {
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

fn unescape(raw: &str) -> Result<String, &'static str> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            _ => return Err("JSON Pointer has a `~` not followed by `0` or `1`"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(value: Value) -> Context {
        Context::from_value(value).unwrap()
    }

    #[test]
    fn top_level_names_are_literal() {
        let c = ctx(json!({"a.b": 1, "a": {"b": 2}}));
        let now = Now::new(0);
        assert_eq!(
            AttributeRef::parse("a.b").unwrap().resolve(&c, &now),
            Some(&json!(1))
        );
    }

    #[test]
    fn pointers_walk_objects_and_arrays() {
        let c = ctx(json!({"user": {"roles": ["x", "y"], "a/b": {"~": true}}}));
        let now = Now::new(0);
        let get = |p: &str| AttributeRef::parse(p).unwrap().resolve(&c, &now).cloned();
        assert_eq!(get("/user/roles/1"), Some(json!("y")));
        assert_eq!(get("/user/a~1b/~0"), Some(json!(true)));
        assert_eq!(get("/user/roles/01"), None);
        assert_eq!(get("/user/missing"), None);
        assert_eq!(get("/user/roles/x"), None);
    }

    #[test]
    fn bad_pointers_and_empty_names_are_refused() {
        assert!(AttributeRef::parse("/a~2").is_err());
        assert!(AttributeRef::parse("").is_err());
    }

    #[test]
    fn now_resolves_to_the_evaluation_time() {
        let c = ctx(json!({}));
        let now = Now::new(1_700_000_000_500);
        assert_eq!(
            AttributeRef::parse("$now").unwrap().resolve(&c, &now),
            Some(&json!(1700000000.5))
        );
    }
}
