//! The top level of a snapshot: its own members, read once and checked in the
//! order docs/snapshot-format.md lists the reasons a whole snapshot is refused,
//! whatever order the document writes them in.
//!
//! The members `schemaVersion`, `environment`, `version` and `generatedAt` are kept
//! as raw JSON text while the document is read and interpreted afterwards, so a
//! defect in one of them (a wrong type, a lone surrogate, a number out of range)
//! does not stop the reading, and the reported defect does not depend on the
//! order of members. `flags` and `segments` are handed element by element to an
//! [`Items`] reader: the one-pass load compiles them as they come, the
//! item-by-item load keeps each as raw text.

use alloc::{format, string::String, string::ToString};
use core::fmt;
use serde::{
    Deserialize,
    de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor},
};

use crate::{
    audience::{Audience, SCHEMA_VERSIONS, V2Fields},
    date,
    error::{LoadError, strip_position},
    input::{self, MAX_VERSION, Member, Whole},
    limits::Limits,
};

/// The snapshot's own members, checked.
#[derive(Debug)]
pub(crate) struct Header {
    pub environment: String,
    pub version: u64,
    pub generated_at: String,
    pub audience: Audience,
    pub hash_salt: Option<String>,
}

/// Where the elements of `flags` and `segments` go as they are read.
pub(crate) trait Items<'de> {
    /// Reads every element of `seq`, the `flags` array (or `segments`, when
    /// `segments` is true).
    fn read<A: SeqAccess<'de>>(&mut self, segments: bool, seq: A) -> Result<(), A::Error>;
}

/// `flags` or `segments`, as read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum List {
    /// Absent or `null`: no items.
    #[default]
    Empty,
    Read,
    NotAnArray(&'static str),
    Repeated,
}

/// The top level of a snapshot as read, before it is checked.
#[derive(Debug, Default)]
pub(crate) struct TopLevel<'a> {
    /// The JSON type of the document when it is not an object.
    not_an_object: Option<&'static str>,
    schema_version: Member<'a>,
    environment: Member<'a>,
    version: Member<'a>,
    generated_at: Member<'a>,
    /// schemaVersion 2 only, both optional.
    audience: Member<'a>,
    hash_salt: Member<'a>,
    flags: List,
    segments: List,
}

impl<'a> TopLevel<'a> {
    /// Reads the whole document, handing each flag and segment to `items`.
    /// Errors are JSON that cannot be read at all; every other defect is kept for
    /// [`TopLevel::check`].
    pub(crate) fn read<I: Items<'a>>(json: &'a str, items: &mut I) -> Result<Self, LoadError> {
        let mut de = serde_json::Deserializer::from_str(json);
        let top = de::Deserializer::deserialize_any(&mut de, TopVisitor(items))
            .map_err(|e| LoadError::json(&e))?;
        de.end().map_err(|e| LoadError::json(&e))?;
        Ok(top)
    }

    /// The snapshot-wide checks, in the order the specification lists them; the
    /// counts are those of the items read, and `hashed` whether any of them carries
    /// a hashed value.
    pub(crate) fn check(
        &self,
        flags: usize,
        segments: usize,
        hashed: bool,
        limits: &Limits,
    ) -> Result<Header, LoadError> {
        if let Some(found) = self.not_an_object {
            return Err(invalid(
                "",
                format!("the snapshot must be a JSON object, found {found}"),
            ));
        }
        let schema_version = member(self.schema_version, "schemaVersion", |raw| {
            whole(raw, MAX_VERSION)
        })?;
        if !SCHEMA_VERSIONS.contains(&schema_version) {
            return Err(LoadError::UnsupportedSchema {
                found: schema_version,
                supported: *SCHEMA_VERSIONS.end(),
            });
        }
        let environment = member(self.environment, "environment", string)?;
        let version = member(self.version, "version", |raw| whole(raw, MAX_VERSION))?;
        let generated_at = member(self.generated_at, "generatedAt", |raw| {
            let text = string(raw)?;
            match date::parse_rfc3339(&text) {
                Some(_) => Ok(text),
                None => Err(format!("must be an RFC 3339 date-time, found `{text}`")),
            }
        })?;
        list(self.flags, "flags")?;
        list(self.segments, "segments")?;
        check_count("flags", flags, limits.max_flags)?;
        check_count("segments", segments, limits.max_segments)?;
        let v2 = V2Fields {
            audience: optional(self.audience, "audience", string)?,
            hash_salt: optional(self.hash_salt, "hashSalt", string)?,
            hashed,
        }
        .check(schema_version)?;
        Ok(Header {
            environment,
            version,
            generated_at,
            audience: v2.audience,
            hash_salt: v2.hash_salt,
        })
    }
}

fn invalid(path: &str, message: impl Into<String>) -> LoadError {
    LoadError::Invalid {
        path: path.to_string(),
        message: message.into(),
    }
}

/// A required member, interpreted by `read`, or a message naming it and saying
/// what is wrong.
fn member<T>(
    member: Member<'_>,
    name: &str,
    read: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, LoadError> {
    let path = format!("/{name}");
    match member {
        Member::Raw(raw) => read(raw.get())
            .map_err(|problem| invalid(&path, format!("the snapshot's `{name}` {problem}"))),
        Member::Absent => Err(invalid(
            &path,
            format!("the snapshot's `{name}` is missing"),
        )),
        Member::Repeated => Err(invalid(
            &path,
            format!("the snapshot's `{name}` appears more than once"),
        )),
    }
}

/// An optional member: absent or `null` is `None`, otherwise as [`member`].
fn optional<T>(
    found: Member<'_>,
    name: &str,
    read: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, LoadError> {
    match found {
        Member::Absent => Ok(None),
        Member::Raw(raw) if raw.get() == "null" => Ok(None),
        found => member(found, name, read).map(Some),
    }
}

fn list(list: List, name: &str) -> Result<(), LoadError> {
    let path = format!("/{name}");
    match list {
        List::Empty | List::Read => Ok(()),
        List::NotAnArray(found) => Err(invalid(
            &path,
            format!("the snapshot's `{name}` must be an array, found {found}"),
        )),
        List::Repeated => Err(invalid(
            &path,
            format!("the snapshot's `{name}` appears more than once"),
        )),
    }
}

fn check_count(what: &'static str, count: usize, limit: usize) -> Result<(), LoadError> {
    if count > limit {
        return Err(LoadError::TooMany { what, count, limit });
    }
    Ok(())
}

/// A whole number from 0 to `max`, however it is written (`1`, `1.0`, `1e0`).
fn whole(raw: &str, max: u64) -> Result<u64, String> {
    match serde_json::from_str::<Scalar<'_>>(raw) {
        Ok(Scalar::Number(n)) => match Whole::of(&n) {
            Some(w) if w <= max => Ok(w),
            _ => Err(format!(
                "must be a whole number from 0 to {max}, found {raw}"
            )),
        },
        Ok(other) => Err(format!(
            "must be a whole number from 0 to {max}, found {}",
            other.type_name()
        )),
        Err(e) => Err(format!("cannot be read: {}", strip_position(&e))),
    }
}

fn string(raw: &str) -> Result<String, String> {
    match serde_json::from_str::<Scalar<'_>>(raw) {
        Ok(Scalar::String(s)) => Ok(s.into_string()),
        Ok(other) => Err(format!("must be a string, found {}", other.type_name())),
        Err(e) => Err(format!("cannot be read: {}", strip_position(&e))),
    }
}

/// A member's value, typed enough to check it or to name its type.
enum Scalar<'a> {
    String(input::Str<'a>),
    Number(serde_json::Number),
    Other(&'static str),
}

impl Scalar<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Self::String(_) => "string",
            Self::Number(_) => "number",
            Self::Other(name) => name,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match input::CondValue::deserialize(d)? {
            input::CondValue::String(s) => Ok(Self::String(s)),
            input::CondValue::Number(n) => Ok(Self::Number(n)),
            other => Ok(Self::Other(other.type_name())),
        }
    }
}

/// The document: an object whose members are read into a [`TopLevel`].
struct TopVisitor<'x, I>(&'x mut I);

impl<'de, I: Items<'de>> Visitor<'de> for TopVisitor<'_, I> {
    type Value = TopLevel<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snapshot object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel<'de>, A::Error> {
        let mut top = TopLevel::default();
        while let Some(key) = map.next_key::<input::Str<'de>>()? {
            let member = match key.as_str() {
                "schemaVersion" => &mut top.schema_version,
                "environment" => &mut top.environment,
                "version" => &mut top.version,
                "generatedAt" => &mut top.generated_at,
                "audience" => &mut top.audience,
                "hashSalt" => &mut top.hash_salt,
                "flags" => {
                    top.flags = read_list(top.flags, false, &mut map, self.0)?;
                    continue;
                }
                "segments" => {
                    top.segments = read_list(top.segments, true, &mut map, self.0)?;
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            member.read(&mut map)?;
        }
        Ok(top)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TopLevel<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_an_object("array"))
    }

    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<TopLevel<'de>, E> {
        Ok(not_an_object("string"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<TopLevel<'de>, E> {
        Ok(not_an_object("string"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TopLevel<'de>, E> {
        Ok(not_an_object("boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TopLevel<'de>, E> {
        Ok(not_an_object("number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<TopLevel<'de>, E> {
        Ok(not_an_object("number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TopLevel<'de>, E> {
        Ok(not_an_object("number"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<TopLevel<'de>, E> {
        Ok(not_an_object("null"))
    }
}

fn not_an_object(found: &'static str) -> TopLevel<'static> {
    TopLevel {
        not_an_object: Some(found),
        ..TopLevel::default()
    }
}

/// Reads the value of `flags` or `segments`: an array goes to `items` (once), `null`
/// is no items, anything else is noted.
fn read_list<'de, A: MapAccess<'de>, I: Items<'de>>(
    seen: List,
    segments: bool,
    map: &mut A,
    items: &mut I,
) -> Result<List, A::Error> {
    if seen != List::Empty {
        map.next_value::<IgnoredAny>()?;
        return Ok(List::Repeated);
    }
    map.next_value_seed(ListSeed { items, segments })
}

struct ListSeed<'x, I> {
    items: &'x mut I,
    segments: bool,
}

impl<'de, I: Items<'de>> DeserializeSeed<'de> for ListSeed<'_, I> {
    type Value = List;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<List, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, I: Items<'de>> Visitor<'de> for ListSeed<'_, I> {
    type Value = List;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<List, A::Error> {
        self.items.read(self.segments, seq)?;
        Ok(List::Read)
    }

    fn visit_unit<E: de::Error>(self) -> Result<List, E> {
        Ok(List::Empty)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<List, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(List::NotAnArray("object"))
    }

    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<List, E> {
        Ok(List::NotAnArray("string"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<List, E> {
        Ok(List::NotAnArray("string"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<List, E> {
        Ok(List::NotAnArray("boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<List, E> {
        Ok(List::NotAnArray("number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<List, E> {
        Ok(List::NotAnArray("number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<List, E> {
        Ok(List::NotAnArray("number"))
    }
}

#[cfg(test)]
mod tests {
    use crate::{LoadError, Snapshot};
    use alloc::{
        format,
        string::{String, ToString},
    };

    const FLAG: &str = r#"{"key":"f","type":"boolean","enabled":true,"offVariation":"a","variations":[{"key":"a","value":true}],"defaultRule":{"variation":"a"}}"#;

    /// A snapshot from its members, written in the given order.
    fn doc(members: &[&str]) -> String {
        format!("{{{}}}", members.join(","))
    }

    const SCHEMA: &str = r#""schemaVersion":1"#;
    const ENV: &str = r#""environment":"e""#;
    const VERSION: &str = r#""version":3"#;
    const AT: &str = r#""generatedAt":"2026-11-25T12:00:00Z""#;

    /// The refusal's pointer and message.
    fn refusal(json: &str) -> (Option<String>, String) {
        let err = Snapshot::load(json.as_bytes()).unwrap_err();
        (err.path().map(String::from), err.to_string())
    }

    #[track_caller]
    fn refused_at(json: &str, path: &str, says: &str) {
        let (at, message) = refusal(json);
        assert_eq!(at.as_deref(), Some(path), "{json}: {message}");
        assert!(message.contains(says), "{json}: {message}");
    }

    #[test]
    fn every_member_the_snapshot_needs_is_named_when_it_is_wrong() {
        refused_at(
            &doc(&[SCHEMA, VERSION, AT]),
            "/environment",
            "`environment` is missing",
        );
        refused_at(
            &doc(&[SCHEMA, r#""environment":7"#, VERSION, AT]),
            "/environment",
            "`environment` must be a string, found number",
        );
        refused_at(&doc(&[SCHEMA, ENV, AT]), "/version", "`version` is missing");
        for (version, found) in [
            (r#""7""#, "found string"),
            ("-1", "found -1"),
            ("3.5", "found 3.5"),
            ("null", "found null"),
            ("9007199254740992", "found 9007199254740992"),
        ] {
            refused_at(
                &doc(&[SCHEMA, ENV, &format!(r#""version":{version}"#), AT]),
                "/version",
                &format!("`version` must be a whole number from 0 to 9007199254740991, {found}"),
            );
        }
        refused_at(
            &doc(&[SCHEMA, ENV, VERSION]),
            "/generatedAt",
            "`generatedAt` is missing",
        );
        refused_at(
            &doc(&[
                SCHEMA,
                ENV,
                VERSION,
                r#""generatedAt":"2026-11-25 12:00:00Z""#,
            ]),
            "/generatedAt",
            "must be an RFC 3339 date-time",
        );
        refused_at(
            &doc(&[SCHEMA, ENV, VERSION, AT, r#""flags":{}"#]),
            "/flags",
            "`flags` must be an array, found object",
        );
        refused_at(
            &doc(&[SCHEMA, ENV, VERSION, AT, r#""segments":"none""#]),
            "/segments",
            "`segments` must be an array, found string",
        );
        refused_at("[1]", "", "must be a JSON object, found array");
    }

    #[test]
    fn a_member_written_twice_refuses_the_snapshot() {
        refused_at(
            &doc(&[SCHEMA, ENV, VERSION, AT, r#""flags":[]"#, r#""flags":[]"#]),
            "/flags",
            "`flags` appears more than once",
        );
        refused_at(
            &doc(&[SCHEMA, ENV, ENV, VERSION, AT]),
            "/environment",
            "`environment` appears more than once",
        );
        // Members this format does not define are ignored, repeated or not.
        let extra = doc(&[
            SCHEMA,
            ENV,
            VERSION,
            AT,
            r#""x":1"#,
            r#""x":[1e400, "\ud800"]"#,
        ]);
        assert!(Snapshot::load(extra.as_bytes()).is_ok());
    }

    #[test]
    fn the_schema_version_is_checked_first_wherever_it_is_written() {
        let json = doc(&[r#""version":"x""#, r#""schemaVersion":3"#]);
        assert!(matches!(
            Snapshot::load(json.as_bytes()),
            Err(LoadError::UnsupportedSchema { found: 3, .. })
        ));
        refused_at(
            &doc(&[ENV, VERSION, AT]),
            "/schemaVersion",
            "`schemaVersion` is missing",
        );
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_fraction_or_an_exponent() {
        let json = doc(&[r#""schemaVersion":1.0"#, ENV, r#""version":0.3e1"#, AT]);
        let loaded = Snapshot::load(json.as_bytes()).unwrap();
        assert_eq!(loaded.snapshot.version(), 3);
        let json = doc(&[SCHEMA, ENV, r#""version":9007199254740991"#, AT]);
        assert_eq!(
            Snapshot::load(json.as_bytes()).unwrap().snapshot.version(),
            9_007_199_254_740_991
        );
    }

    #[test]
    fn null_flags_and_segments_are_none() {
        let json = doc(&[
            SCHEMA,
            ENV,
            VERSION,
            AT,
            r#""flags":null"#,
            r#""segments":null"#,
        ]);
        assert!(Snapshot::load(json.as_bytes()).unwrap().snapshot.is_empty());
    }

    #[test]
    fn unreadable_json_in_a_member_names_the_member() {
        refused_at(
            &doc(&[SCHEMA, r#""environment":"\ud800""#, VERSION, AT]),
            "/environment",
            "`environment` cannot be read",
        );
        refused_at(
            &doc(&[SCHEMA, ENV, r#""version":1e400"#, AT]),
            "/version",
            "`version` cannot be read: number out of range",
        );
    }

    #[test]
    fn text_that_is_not_json_has_no_member_at_fault() {
        for text in ["{", "", "{} x", r#"{"a":01}"#] {
            let (at, message) = refusal(text);
            assert_eq!(at, None, "{text}");
            assert!(
                message.starts_with("snapshot cannot be read as JSON"),
                "{message}"
            );
        }
        assert_eq!(refusal(&doc(&[SCHEMA, ENV, VERSION, AT, FLAG])).0, None);
    }

    #[test]
    fn a_refused_snapshot_is_refused_the_same_in_one_pass() {
        // A well-formed flag makes the one-pass load succeed up to the checks.
        let json = doc(&[&format!(r#""flags":[{FLAG}]"#), SCHEMA, ENV, AT]);
        refused_at(&json, "/version", "`version` is missing");
    }
}
