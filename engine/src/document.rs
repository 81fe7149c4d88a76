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

use alloc::{borrow::Cow, format, string::String, string::ToString};

use crate::{
    audience::{Audience, SCHEMA_VERSIONS, V2Fields},
    date,
    error::LoadError,
    input::{Flag, Segment},
    json::{Kind, Reader, Syntax},
    limits::Limits,
    reader::{self, Item, Member},
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
pub(crate) trait Items<'a> {
    fn flag(&mut self, item: Item<Flag<'a>>);
    fn segment(&mut self, item: Item<Segment<'a>>);
    /// Every segment is read (the `segments` array has closed).
    fn segments_done(&mut self);
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
        let mut r = Reader::new(json);
        let top = read_top(&mut r, items).and_then(|top| r.end().map(|()| top));
        top.map_err(|e| {
            let (line, column) = e.line_column(json);
            LoadError::Json {
                message: e.message.into(),
                line,
                column,
            }
        })
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
        let schema_version = member(self.schema_version, "schemaVersion", reader::version_at)?;
        if !SCHEMA_VERSIONS.contains(&schema_version) {
            return Err(LoadError::UnsupportedSchema {
                found: schema_version,
                supported: *SCHEMA_VERSIONS.end(),
            });
        }
        let environment = member(self.environment, "environment", reader::string_at)?;
        let version = member(self.version, "version", reader::version_at)?;
        let generated_at = member(self.generated_at, "generatedAt", |raw| {
            let text = reader::string_at(raw)?;
            match date::parse_rfc3339(&text) {
                Some(_) => Ok(text),
                None => Err(format!("must be an RFC 3339 date-time, found `{text}`").into()),
            }
        })?;
        list(self.flags, "flags")?;
        list(self.segments, "segments")?;
        check_count("flags", flags, limits.max_flags)?;
        check_count("segments", segments, limits.max_segments)?;
        let v2 = V2Fields {
            audience: optional(self.audience, "audience", reader::string_at)?,
            hash_salt: optional(self.hash_salt, "hashSalt", reader::string_at)?,
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
    read: impl FnOnce(&str) -> Result<T, Cow<'static, str>>,
) -> Result<T, LoadError> {
    let path = format!("/{name}");
    match member {
        Member::Raw(raw) => read(raw)
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
    read: impl FnOnce(&str) -> Result<T, Cow<'static, str>>,
) -> Result<Option<T>, LoadError> {
    match found {
        Member::Absent => Ok(None),
        Member::Raw("null") => Ok(None),
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

fn not_an_object(found: &'static str) -> TopLevel<'static> {
    TopLevel {
        not_an_object: Some(found),
        ..TopLevel::default()
    }
}

/// A string or a number where no value of it is kept must still be readable: at the
/// top level, an unreadable one makes the text unreadable (as serde_json had it).
fn scalar(r: &mut Reader<'_>, kind: Kind) -> Result<(), Syntax> {
    let at = r.position();
    let unreadable = match kind {
        Kind::String => r.string()?.err(),
        Kind::Number => r.number_value()?.err(),
        _ => {
            r.skip()?;
            None
        }
    };
    match unreadable {
        Some(why) => Err(Syntax { at, message: why.0 }),
        None => Ok(()),
    }
}

/// The document: an object whose members are read into a [`TopLevel`].
fn read_top<'a, I: Items<'a>>(r: &mut Reader<'a>, items: &mut I) -> Result<TopLevel<'a>, Syntax> {
    let kind = r.kind()?;
    if kind != Kind::Object {
        scalar(r, kind)?;
        return Ok(not_an_object(kind.name()));
    }
    r.object();
    let mut top = TopLevel::default();
    let mut first = true;
    while r.more(first)? {
        first = false;
        let at = r.position();
        let key = r.key()?;
        let name = key.name.map_err(|why| Syntax { at, message: why.0 })?;
        let member = match &*name {
            "schemaVersion" => &mut top.schema_version,
            "environment" => &mut top.environment,
            "version" => &mut top.version,
            "generatedAt" => &mut top.generated_at,
            "audience" => &mut top.audience,
            "hashSalt" => &mut top.hash_salt,
            "flags" => {
                top.flags = read_list(r, top.flags, false, items)?;
                continue;
            }
            "segments" => {
                top.segments = read_list(r, top.segments, true, items)?;
                continue;
            }
            _ => {
                r.skip()?;
                continue;
            }
        };
        *member = match member {
            Member::Absent => Member::Raw(r.raw()?),
            _ => {
                r.skip()?;
                Member::Repeated
            }
        };
    }
    Ok(top)
}

/// Reads the value of `flags` or `segments`: an array goes to `items` (once), `null`
/// is no items, anything else is noted.
fn read_list<'a, I: Items<'a>>(
    r: &mut Reader<'a>,
    seen: List,
    segments: bool,
    items: &mut I,
) -> Result<List, Syntax> {
    let kind = r.kind()?;
    if seen != List::Empty {
        r.skip()?;
        return Ok(List::Repeated);
    }
    match kind {
        Kind::Array => {}
        Kind::Null => {
            r.null()?;
            return Ok(List::Empty);
        }
        kind => {
            scalar(r, kind)?;
            return Ok(List::NotAnArray(kind.name()));
        }
    }
    r.array();
    let mut i = 0;
    while r.more(i == 0)? {
        if segments {
            items.segment(reader::item(r, i, true, reader::segment)?);
        } else {
            items.flag(reader::item(r, i, false, reader::flag)?);
        }
        i += 1;
    }
    if segments {
        items.segments_done();
    }
    Ok(List::Read)
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
