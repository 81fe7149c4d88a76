//! Loading: parse a snapshot, validate it and compile it once.
//!
//! A snapshot-level defect (bad JSON, unsupported schema, over a limit) refuses the
//! whole snapshot. A defect inside one flag or segment degrades that item alone and
//! is reported as a [`Warning`].

use alloc::{
    borrow::Cow,
    boxed::Box,
    format,
    string::{String, ToString},
    vec::Vec,
};
use core::hash::BuildHasher;
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use serde_json::{Map, Value, value::RawValue};

use crate::{
    error::{FieldError, ItemKind, LoadError, Warning, strip_position},
    flag::{Flag, FlagMeta},
    input,
    limits::Limits,
    reason::ValueType,
    segment::Segment,
    strings::Strings,
    wire::{WireFlagHeader, WireKeyOnly, WireSnapshot},
};

/// The snapshot schema version this engine reads.
pub const SCHEMA_VERSION: u64 = 1;

/// A loaded, compiled snapshot: immutable, cheap to evaluate, safe to share.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub(crate) environment: String,
    pub(crate) version: u64,
    pub(crate) generated_at: String,
    /// Sorted by key, so that listing and evaluate-all are deterministic.
    pub(crate) flags: Vec<FlagEntry>,
    pub(crate) index: FlagIndex,
    pub(crate) segments: Vec<Segment>,
    pub(crate) limits: Limits,
}

/// One flag slot: compiled when valid, the reason when not.
#[derive(Debug, Clone)]
pub(crate) struct FlagEntry {
    pub key: Box<str>,
    pub version: u64,
    pub client_visible: bool,
    pub meta: FlagMeta,
    pub body: Result<Flag, String>,
}

/// A snapshot together with the problems found while loading it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub snapshot: Snapshot,
    pub warnings: Vec<Warning>,
}

/// Public facts about one flag, for listings such as the edge's `GET /v1/flags`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagInfo<'a> {
    pub key: &'a str,
    pub version: u64,
    /// `None` when the flag is invalid and its type could not be read.
    pub value_type: Option<ValueType>,
    pub client_visible: bool,
    pub enabled: bool,
    pub valid: bool,
    pub description: Option<&'a str>,
    pub tags: &'a [String],
    pub metadata: &'a Map<String, Value>,
}

impl Snapshot {
    /// Loads a snapshot with the default [`Limits`].
    pub fn load(json: &[u8]) -> Result<Loaded, LoadError> {
        Self::load_with_limits(json, &Limits::default())
    }

    pub fn load_with_limits(json: &[u8], limits: &Limits) -> Result<Loaded, LoadError> {
        if json.len() > limits.max_snapshot_bytes {
            return Err(LoadError::TooLarge {
                size: json.len(),
                limit: limits.max_snapshot_bytes,
            });
        }
        let wire = parse(json)?;
        if wire.schema_version != SCHEMA_VERSION {
            return Err(LoadError::UnsupportedSchema {
                found: wire.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        check_count("flags", wire.flags.len(), limits.max_flags)?;
        check_count("segments", wire.segments.len(), limits.max_segments)?;
        if crate::date::parse_rfc3339(&wire.generated_at).is_none() {
            return Err(LoadError::Invalid {
                path: "/generatedAt".to_string(),
                message: format!("`{}` is not an RFC 3339 date-time", wire.generated_at),
            });
        }
        let mut warnings = Vec::new();
        let mut strings = Strings::default();
        let (segments, lookup) = load_segments(&wire.segments, limits, &mut strings, &mut warnings);
        let lookup_ref: HashMap<&str, Result<usize, String>> =
            lookup.iter().map(|(k, v)| (&**k, v.clone())).collect();
        let mut flags: Vec<FlagEntry> = Vec::with_capacity(wire.flags.len());
        for (i, raw) in wire.flags.iter().enumerate() {
            let item = parse_flag(i, raw);
            if let Some(entry) = load_flag(item, &lookup_ref, limits, &mut strings, &mut warnings) {
                flags.push(entry);
            }
        }
        // Publishers write flags sorted by key; checking first skips moving entries.
        if !flags.is_sorted_by(|a, b| a.key <= b.key) {
            flags.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        }
        mark_duplicates(&mut flags, &mut warnings);
        let index = FlagIndex::build(&flags);
        let mut snapshot = Snapshot {
            environment: wire.environment,
            version: wire.version,
            generated_at: wire.generated_at,
            flags,
            index,
            segments,
            limits: limits.clone(),
        };
        snapshot.resolve_prerequisites(&mut warnings);
        Ok(Loaded { snapshot, warnings })
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn generated_at(&self) -> &str {
        &self.generated_at
    }

    pub fn len(&self) -> usize {
        self.flags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// Every flag, sorted by key.
    pub fn flags(&self) -> impl ExactSizeIterator<Item = FlagInfo<'_>> {
        self.flags.iter().map(FlagEntry::info)
    }

    pub fn flag(&self, key: &str) -> Option<FlagInfo<'_>> {
        self.entry(key).map(FlagEntry::info)
    }

    /// The position of a flag in `flags`.
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        self.index.get(&self.flags, key)
    }

    pub(crate) fn entry(&self, key: &str) -> Option<&FlagEntry> {
        self.position(key).and_then(|i| self.flags.get(i))
    }

    /// Links each prerequisite to its flag and required variation. A missing
    /// prerequisite flag is a warning (the dependent flag then serves its off
    /// variation); a required variation the prerequisite does not have invalidates
    /// the dependent flag.
    fn resolve_prerequisites(&mut self, warnings: &mut Vec<Warning>) {
        let mut resolved: Vec<(usize, usize, Option<usize>, Option<usize>)> = Vec::new();
        let mut broken: Vec<(usize, FieldError)> = Vec::new();
        for (i, entry) in self.flags.iter().enumerate() {
            let Ok(flag) = &entry.body else { continue };
            for (p, prereq) in flag.prerequisites.iter().enumerate() {
                let Some(target) = self.position(&prereq.key) else {
                    warnings.push(warning(ItemKind::Flag, Some(&entry.key), FieldError::new(
                        format!("/prerequisites/{p}/flag"),
                        format!("prerequisite flag `{}` is not in this snapshot; the flag will serve its off variation", prereq.key),
                    )));
                    resolved.push((i, p, None, None));
                    continue;
                };
                let variation = match self.flags.get(target).map(|t| &t.body) {
                    Some(Ok(t)) => match t.variation_index(&prereq.variation_key) {
                        Some(v) => Some(v),
                        None => {
                            broken.push((
                                i,
                                FieldError::new(
                                    format!("/prerequisites/{p}/variation"),
                                    format!(
                                        "prerequisite `{}` has no variation `{}`",
                                        prereq.key, prereq.variation_key
                                    ),
                                ),
                            ));
                            continue;
                        }
                    },
                    _ => None,
                };
                resolved.push((i, p, Some(target), variation));
            }
        }
        for (i, p, target, variation) in resolved {
            if let Some(Ok(flag)) = self.flags.get_mut(i).map(|e| &mut e.body)
                && let Some(prereq) = flag.prerequisites.get_mut(p)
            {
                prereq.flag = target;
                prereq.variation = variation;
            }
        }
        for (i, err) in broken {
            if let Some(entry) = self.flags.get_mut(i) {
                warnings.push(warning(ItemKind::Flag, Some(&entry.key), err.clone()));
                entry.body = Err(err.to_string());
            }
        }
    }
}

/// Flag key → position in `Snapshot::flags`. A hash table of positions rather
/// than a map of keys, so that no key is stored twice.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlagIndex {
    table: HashTable<usize>,
    hasher: DefaultHashBuilder,
}

impl FlagIndex {
    fn build(flags: &[FlagEntry]) -> Self {
        let hasher = DefaultHashBuilder::default();
        let mut table = HashTable::with_capacity(flags.len());
        for (i, entry) in flags.iter().enumerate() {
            let hash = hasher.hash_one(&*entry.key);
            table.insert_unique(hash, i, |&j| {
                flags.get(j).map_or(0, |e| hasher.hash_one(&*e.key))
            });
        }
        Self { table, hasher }
    }

    fn get(&self, flags: &[FlagEntry], key: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&i| flags.get(i).is_some_and(|e| &*e.key == key))
            .copied()
    }
}

impl FlagEntry {
    fn info(&self) -> FlagInfo<'_> {
        FlagInfo {
            key: &self.key,
            version: self.version,
            value_type: self.meta.value_type,
            client_visible: self.client_visible,
            enabled: self.body.as_ref().is_ok_and(|f| f.enabled),
            valid: self.body.is_ok(),
            description: self.meta.description.as_deref(),
            tags: &self.meta.tags,
            metadata: &self.meta.metadata,
        }
    }
}

fn check_count(what: &'static str, count: usize, limit: usize) -> Result<(), LoadError> {
    if count > limit {
        return Err(LoadError::TooMany { what, count, limit });
    }
    Ok(())
}

fn warning(kind: ItemKind, key: Option<&str>, err: FieldError) -> Warning {
    Warning {
        kind,
        key: key.map(ToString::to_string),
        path: err.path,
        message: err.message,
    }
}

/// A flag or segment as parsed: whole, or why not, with its key when that is readable.
enum Item<T> {
    Parsed(T),
    Malformed {
        message: String,
        key: Option<String>,
        version: u64,
        client_visible: bool,
    },
}

/// Reads the snapshot's own fields and splits off each flag and segment as raw
/// text. Each item is then parsed on its own, just before it is compiled
/// ([`parse_flag`], [`parse_segment`]), so that a malformed item degrades alone
/// and the parsed form of one item is freed before the next is read: loading a
/// large snapshot never holds the parsed form of all of it.
fn parse(json: &[u8]) -> Result<WireSnapshot<'_>, LoadError> {
    // Validating UTF-8 once, up front, lets serde_json read from a `str` and skip
    // validating every string it parses: a tenth of the time of a large load.
    let json = core::str::from_utf8(json).map_err(|e| LoadError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    serde_json::from_str(json).map_err(|e| LoadError::json(&e))
}

fn parse_flag<'a>(i: usize, raw: &'a RawValue) -> Item<input::Flag<'a>> {
    match serde_json::from_str(raw.get()) {
        Ok(flag) => Item::Parsed(flag),
        Err(e) => {
            let header = serde_json::from_str::<WireFlagHeader>(raw.get()).ok();
            Item::Malformed {
                message: format!("flag #{i} is malformed: {}", strip_position(&e)),
                key: header.as_ref().map(|h| h.key.clone()),
                version: header
                    .as_ref()
                    .and_then(|h| h.version.as_ref()?.as_u64())
                    .unwrap_or(0),
                client_visible: header
                    .as_ref()
                    .and_then(|h| h.client_visible.as_ref()?.as_bool())
                    .unwrap_or(false),
            }
        }
    }
}

fn parse_segment<'a>(i: usize, raw: &'a RawValue) -> Item<input::Segment<'a>> {
    match serde_json::from_str(raw.get()) {
        Ok(segment) => Item::Parsed(segment),
        Err(e) => Item::Malformed {
            message: format!("segment #{i} is malformed: {}", strip_position(&e)),
            key: serde_json::from_str::<WireKeyOnly>(raw.get())
                .ok()
                .map(|k| k.key),
            version: 0,
            client_visible: false,
        },
    }
}

type SegmentTable<'a> = (Vec<Segment>, HashMap<Cow<'a, str>, Result<usize, String>>);

fn load_segments<'a>(
    items: &[&'a RawValue],
    limits: &Limits,
    strings: &mut Strings,
    warnings: &mut Vec<Warning>,
) -> SegmentTable<'a> {
    let mut segments = Vec::with_capacity(items.len());
    let mut lookup: HashMap<Cow<'a, str>, Result<usize, String>> = HashMap::new();
    for (i, raw) in items.iter().enumerate() {
        let item = parse_segment(i, raw);
        let mut wire = match item {
            Item::Parsed(wire) => wire,
            Item::Malformed { message, key, .. } => {
                let err = FieldError::new("", message.clone());
                warnings.push(warning(ItemKind::Segment, key.as_deref(), err));
                if let Some(key) = key {
                    lookup.insert(Cow::Owned(key), Err(message));
                }
                continue;
            }
        };
        if lookup.contains_key(wire.key.as_str()) {
            let message = "duplicate segment key".to_string();
            let err = FieldError::new("", message.clone());
            warnings.push(warning(ItemKind::Segment, Some(&wire.key), err));
            lookup.insert(wire.key.0, Err(message));
            continue;
        }
        let key = core::mem::take(&mut wire.key).0;
        match Segment::compile(wire, limits, strings) {
            Ok(segment) => {
                lookup.insert(key, Ok(segments.len()));
                segments.push(segment);
            }
            Err(err) => {
                warnings.push(warning(ItemKind::Segment, Some(&key), err.clone()));
                lookup.insert(key, Err(err.to_string()));
            }
        }
    }
    (segments, lookup)
}

/// Compiles one flag. A malformed flag is kept under its key when the key is
/// readable, so asking for it answers `PARSE_ERROR` rather than `FLAG_NOT_FOUND`.
fn load_flag(
    item: Item<input::Flag<'_>>,
    segments: &HashMap<&str, Result<usize, String>>,
    limits: &Limits,
    strings: &mut Strings,
    warnings: &mut Vec<Warning>,
) -> Option<FlagEntry> {
    let mut wire = match item {
        Item::Parsed(wire) => wire,
        Item::Malformed {
            message,
            key,
            version,
            client_visible,
        } => {
            let err = FieldError::new("", message.clone());
            warnings.push(warning(ItemKind::Flag, key.as_deref(), err));
            return Some(FlagEntry {
                key: key?.into_boxed_str(),
                version,
                client_visible,
                meta: FlagMeta::default(),
                body: Err(message),
            });
        }
    };
    let meta = FlagMeta {
        value_type: ValueType::parse(&wire.value_type),
        description: wire.description.take(),
        tags: core::mem::take(&mut wire.tags),
        metadata: core::mem::take(&mut wire.metadata),
    };
    let key: Box<str> = core::mem::take(&mut wire.key).into_boxed();
    let (version, client_visible) = (wire.version, wire.client_visible);
    let body = Flag::compile(wire, segments, limits, strings).map_err(|err| {
        warnings.push(warning(ItemKind::Flag, Some(&key), err.clone()));
        err.to_string()
    });
    Some(FlagEntry {
        key,
        version,
        client_visible,
        meta,
        body,
    })
}

/// Two flags with one key: neither can be trusted, so the key answers
/// `PARSE_ERROR` (one entry is kept, so the key still resolves). Needs `flags` sorted.
fn mark_duplicates(flags: &mut Vec<FlagEntry>, warnings: &mut Vec<Warning>) {
    const DUPLICATE: &str = "duplicate flag key";
    // In place: `dedup_by` hands over each entry with the kept one before it.
    flags.dedup_by(|entry, last| {
        if last.key != entry.key {
            return false;
        }
        if last.body.as_ref().err().map(String::as_str) != Some(DUPLICATE) {
            warnings.push(warning(
                ItemKind::Flag,
                Some(&last.key),
                FieldError::new("", DUPLICATE),
            ));
        }
        last.body = Err(DUPLICATE.to_string());
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        r#""schemaVersion":1,"environment":"e","version":3,"generatedAt":"2026-11-25T12:00:00Z""#;

    fn load(body: &str) -> Result<Loaded, LoadError> {
        Snapshot::load(format!("{{{HEADER}{body}}}").as_bytes())
    }

    #[test]
    fn refuses_whole_snapshots_for_snapshot_wide_defects() {
        assert_eq!(
            Snapshot::load(b"{\"a\":\"\xff\"}").unwrap_err(),
            LoadError::NotUtf8 { offset: 6 }
        );
        assert!(matches!(Snapshot::load(b"{"), Err(LoadError::Json { .. })));
        let future = br#"{"schemaVersion":2,"environment":"e","version":1,"generatedAt":"2026-11-25T12:00:00Z"}"#;
        assert_eq!(
            Snapshot::load(future).unwrap_err(),
            LoadError::UnsupportedSchema {
                found: 2,
                supported: 1
            }
        );
        let limits = Limits {
            max_snapshot_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            Snapshot::load_with_limits(future, &limits),
            Err(LoadError::TooLarge { limit: 10, .. })
        ));
        let limits = Limits {
            max_flags: 0,
            ..Limits::default()
        };
        let one = format!(r#"{{{HEADER},"flags":[{{}}]}}"#);
        assert!(matches!(
            Snapshot::load_with_limits(one.as_bytes(), &limits),
            Err(LoadError::TooMany {
                what: "flags",
                count: 1,
                limit: 0
            })
        ));
        let bad_time =
            br#"{"schemaVersion":1,"environment":"e","version":1,"generatedAt":"today"}"#;
        assert!(matches!(
            Snapshot::load(bad_time),
            Err(LoadError::Invalid { .. })
        ));
    }

    #[test]
    fn a_malformed_flag_degrades_alone_under_its_key() {
        let good = r#"{"key":"good","type":"boolean","enabled":true,"offVariation":"a","variations":[{"key":"a","value":true}],"defaultRule":{"variation":"a"}}"#;
        let bad = r#"{"key":"bad","version":9,"type":"boolean","enabled":"yes"}"#;
        let loaded = load(&format!(r#","flags":[{good},{bad},{{"no":"key"}}]"#)).unwrap();
        assert_eq!(loaded.snapshot.len(), 2);
        assert_eq!(loaded.warnings.len(), 2);
        assert_eq!(loaded.warnings[0].key.as_deref(), Some("bad"));
        assert!(
            loaded.warnings[0].message.contains("flag #1 is malformed"),
            "{}",
            loaded.warnings[0]
        );
        let bad_info = loaded.snapshot.flag("bad").unwrap();
        assert_eq!((bad_info.valid, bad_info.version), (false, 9));
        assert!(loaded.snapshot.flag("good").unwrap().valid);
    }
}
