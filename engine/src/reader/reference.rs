//! The serde-based loader the reader replaced, kept only to hold the reader to it
//! (`reader/tests.rs`): the same documents must load to the same snapshots, warnings
//! and errors. It is the engine's loader as it was, with its two passes (one typed
//! pass; on any defect, each item again on its own from its raw text), its mapping of
//! serde_json's error positions back to JSON Pointers, and serde's wording.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use alloc::{
    borrow::Cow,
    format,
    string::{String, ToString},
    vec::Vec,
};
use core::fmt;
use serde::{
    Deserialize, Deserializer,
    de::value::{MapAccessDeserializer, SeqAccessDeserializer},
    de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::{Number, Value, value::RawValue};

use crate::{
    audience::{SCHEMA_VERSIONS, V2Fields},
    date,
    document::Header,
    error::{FieldError, LoadError},
    input::{self, CondValue, ItemHeader, MAX_VERSION, Str, Whole},
    limits::Limits,
    reader::Item,
    snapshot::{Loaded, Loader, Snapshot},
};

/// The old `Snapshot::load_with_limits`.
pub(crate) fn load(json: &[u8], limits: &Limits) -> Result<Loaded, LoadError> {
    if json.len() > limits.max_snapshot_bytes {
        return Err(LoadError::TooLarge {
            size: json.len(),
            limit: limits.max_snapshot_bytes,
        });
    }
    let json = core::str::from_utf8(json).map_err(|e| LoadError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let (header, loader) = match load_in_one_pass(json, limits) {
        Some(done) => done?,
        None => load_item_by_item(json, limits)?,
    };
    Ok(Snapshot::assemble(header, loader))
}

fn json_error(err: &serde_json::Error) -> LoadError {
    LoadError::Json {
        message: strip_position(err),
        line: err.line(),
        column: err.column(),
    }
}

/// The normal case, a well-formed snapshot: one typed pass over the JSON that
/// compiles each flag and segment as soon as it is read, so the parsed form of one
/// item is freed before the next is read. `None` when any item fails to parse:
/// then [`load_item_by_item`] starts over, so that a malformed item degrades alone.
fn load_in_one_pass<'a, 'l>(
    json: &'a str,
    limits: &'l Limits,
) -> Option<Result<(Header, Loader<'a, 'l>), LoadError>> {
    let mut loader = Loader::new(limits);
    let top = TopLevel::read(json, &mut Compile(&mut loader)).ok()?;
    let header = top.check(
        loader.flags_read,
        loader.segments_read,
        loader.hashed,
        limits,
    );
    Some(header.map(|header| (header, loader)))
}

/// Reads the snapshot's own fields and splits off each flag and segment as raw
/// text, then parses and compiles each item on its own: segments first, then flags.
fn load_item_by_item<'a, 'l>(
    json: &'a str,
    limits: &'l Limits,
) -> Result<(Header, Loader<'a, 'l>), LoadError> {
    let mut raw = RawItems::default();
    let top = TopLevel::read(json, &mut raw)?;
    // Whether an item carries a hashed value is known only once the items are read:
    // checked again below.
    let header = top.check(raw.flags.len(), raw.segments.len(), false, limits)?;
    let mut loader = Loader::new(limits);
    for (i, raw) in raw.segments.iter().enumerate() {
        loader.add_segment(parse_segment(i, raw));
    }
    loader.segments_done = true;
    for (i, raw) in raw.flags.iter().enumerate() {
        loader.add_flag(parse_flag(i, raw));
    }
    let header = if loader.hashed {
        top.check(raw.flags.len(), raw.segments.len(), true, limits)?
    } else {
        header
    };
    Ok((header, loader))
}

/// Flags and segments kept as raw text, to be parsed one by one.
#[derive(Default)]
struct RawItems<'a> {
    flags: Vec<&'a RawValue>,
    segments: Vec<&'a RawValue>,
}

impl<'de> Items<'de> for RawItems<'de> {
    fn read<A: de::SeqAccess<'de>>(&mut self, segments: bool, mut seq: A) -> Result<(), A::Error> {
        let list = if segments {
            &mut self.segments
        } else {
            &mut self.flags
        };
        while let Some(raw) = seq.next_element()? {
            list.push(raw);
        }
        Ok(())
    }
}

/// Flags and segments compiled as they are read.
struct Compile<'x, 'a, 'l>(&'x mut Loader<'a, 'l>);

impl<'de> Items<'de> for Compile<'_, 'de, '_> {
    fn read<A: de::SeqAccess<'de>>(&mut self, segments: bool, mut seq: A) -> Result<(), A::Error> {
        if segments {
            while let Some(segment) = seq.next_element()? {
                self.0.add_segment(Item::Parsed(segment));
            }
            self.0.segments_done = true;
        } else {
            while let Some(flag) = seq.next_element()? {
                self.0.add_flag(Item::Parsed(flag));
            }
        }
        Ok(())
    }
}

fn parse_flag<'a>(i: usize, raw: &'a RawValue) -> Item<input::Flag<'a>> {
    match serde_json::from_str(raw.get()) {
        Ok(flag) => Item::Parsed(flag),
        Err(e) => Item::Malformed {
            problem: locate(raw.get(), &e).prefixed(&format!("flag #{i} is malformed: ")),
            header: ItemHeader::read(raw.get()),
        },
    }
}

fn parse_segment<'a>(i: usize, raw: &'a RawValue) -> Item<input::Segment<'a>> {
    match serde_json::from_str(raw.get()) {
        Ok(segment) => Item::Parsed(segment),
        Err(e) => Item::Malformed {
            problem: locate(raw.get(), &e).prefixed(&format!("segment #{i} is malformed: ")),
            header: ItemHeader::read(raw.get()),
        },
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.into())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for CondValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CondValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any valid JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CondValue::String(Str(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CondValue::String(Str(Cow::Owned(v.into()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CondValue::String(Str(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(CondValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(CondValue::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(CondValue::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                // As `serde_json::Value` reads it: a non-finite number becomes null.
                Ok(Number::from_f64(v).map_or(CondValue::Other(Value::Null), CondValue::Number))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(CondValue::Other(Value::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(CondValue::Other(Value::Null))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                CondValue::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(SeqAccessDeserializer::new(seq)).map(CondValue::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map)).map(CondValue::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// A member of an object whose type is checked later, as read: its raw text, or
/// the note that it appears more than once (and so cannot be trusted).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) enum Member<'a> {
    #[default]
    Absent,
    Raw(&'a RawValue),
    Repeated,
}

impl<'a> Member<'a> {
    /// Reads the value of a member named again or for the first time.
    pub(crate) fn read<'de: 'a, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<(), A::Error> {
        *self = match self {
            Self::Absent => Self::Raw(map.next_value()?),
            _ => {
                map.next_value::<de::IgnoredAny>()?;
                Self::Repeated
            }
        };
        Ok(())
    }
}

impl ItemHeader {
    pub(crate) fn read(raw: &str) -> Self {
        let members = serde_json::from_str::<HeaderMembers<'_>>(raw).unwrap_or_default();
        #[derive(Deserialize)]
        struct Version(#[serde(deserialize_with = "crate::input::version")] u64);
        Self {
            key: match members.key {
                Member::Raw(raw) => serde_json::from_str(raw.get()).ok(),
                _ => None,
            },
            version: match members.version {
                Member::Absent => Some(0),
                Member::Raw(raw) => serde_json::from_str::<Version>(raw.get()).ok().map(|v| v.0),
                Member::Repeated => None,
            },
            client_visible: match members.client_visible {
                Member::Raw(raw) => serde_json::from_str::<Option<bool>>(raw.get())
                    .ok()
                    .flatten()
                    .unwrap_or(false),
                _ => false,
            },
        }
    }
}

#[derive(Debug, Default)]
struct HeaderMembers<'a> {
    key: Member<'a>,
    version: Member<'a>,
    client_visible: Member<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for HeaderMembers<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HeaderMembers<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = HeaderMembers::default();
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    match key.as_str() {
                        "key" => members.key.read(&mut map)?,
                        "version" => members.version.read(&mut map)?,
                        "clientVisible" => members.client_visible.read(&mut map)?,
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(members)
            }
        }
        d.deserialize_map(V)
    }
}

/// Where the elements of `flags` and `segments` go as they are read.
trait Items<'de> {
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
struct TopLevel<'a> {
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
            .map_err(|e| json_error(&e))?;
        de.end().map_err(|e| json_error(&e))?;
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

/// Where and why an item fails to parse, as a pointer into the item and a message
/// for people. `err` is serde_json's error for `raw`; its position is mapped back to
/// the member it falls in by [`pointer_at`], so no second, path-tracking parse (and
/// no second copy of the item's parsing code in the wasm builds) is needed.
pub(crate) fn locate(raw: &str, err: &serde_json::Error) -> FieldError {
    let mut offset = offset_of(raw, err.line(), err.column());
    // Two corrections to the old mapping, where serde_json's position is not inside
    // the value at fault. An array or object of the wrong type is refused before it is
    // read, at the separator before it (in an array, that named the element before);
    // except by `deserialize_any` (whole numbers) and the nesting limit, which refuse
    // an array after its `[` (which named its first element). The value at fault is
    // the one that starts there.
    let text = strip_position(err);
    let after_bracket = text.contains("recursion limit exceeded")
        || text.starts_with("invalid type: sequence, expected a whole number");
    if after_bracket {
        let before = raw[..offset.min(raw.len())].trim_end();
        if before.ends_with('[') {
            offset = before.len() - 1;
        }
    } else if text.starts_with("invalid type: sequence") || text.starts_with("invalid type: map") {
        let next = raw[(offset + 1).min(raw.len())..].trim_start();
        if matches!(raw.as_bytes().get(offset), Some(b'[' | b',' | b':'))
            && next.starts_with(['[', '{'])
        {
            offset = raw.len() - next.len();
        }
    }
    let mut path = pointer_at(raw, offset);
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
