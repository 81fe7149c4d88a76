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
use serde_json::{Map, Value};

use crate::{
    audience::{Audience, SCHEMA_VERSIONS},
    condition::SegmentLookup,
    document::{Header, Items, TopLevel},
    error::{FieldError, ItemKind, LoadError, Warning},
    flag::{Flag, FlagMeta},
    hashed, input,
    limits::Limits,
    reader::Item,
    reason::ValueType,
    segment::Segment,
    strings::Strings,
};

/// The newest snapshot schema version this engine reads; it reads every one from 1.
/// Server snapshots are published as schemaVersion 1, client snapshots as 2, which
/// carries `audience`, `hashSalt` and hashed values (docs/snapshot-format.md).
pub const SCHEMA_VERSION: u64 = *SCHEMA_VERSIONS.end();

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
    /// Whom the snapshot is for: a client snapshot answers its client-visible flags only.
    pub(crate) audience: Audience,
    /// The salt of the snapshot's hashed values, with which contexts are hashed.
    pub(crate) hash_salt: Option<Box<str>>,
}

/// One flag slot: compiled when valid, the reason when not.
#[derive(Debug, Clone)]
pub(crate) struct FlagEntry {
    pub key: Box<str>,
    /// `None` when the flag is malformed and its `version` could not be read.
    pub version: Option<u64>,
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
    /// `None` when the flag is invalid and its `version` could not be read.
    pub version: Option<u64>,
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
        // Validating UTF-8 once, up front, lets serde_json read from a `str` and skip
        // validating every string it parses: a tenth of the time of a large load.
        let json = core::str::from_utf8(json).map_err(|e| LoadError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        let mut loader = Loader::new(limits);
        let top = TopLevel::read(json, &mut loader)?;
        let header = top.check(
            loader.flags_read,
            loader.segments_read,
            loader.hashed,
            limits,
        )?;
        Ok(Self::assemble(header, loader))
    }

    pub(crate) fn assemble(header: Header, loader: Loader<'_, '_>) -> Loaded {
        let limits = loader.limits.clone();
        let (flags, segments, mut warnings) = loader.finish();
        let mut flags = flags;
        // Publishers write flags sorted by key; checking first skips moving entries.
        if !flags.is_sorted_by(|a, b| a.key <= b.key) {
            flags.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        }
        mark_duplicates(&mut flags, &mut warnings);
        let index = FlagIndex::build(&flags);
        let mut snapshot = Snapshot {
            environment: header.environment,
            version: header.version,
            generated_at: header.generated_at,
            flags,
            index,
            segments,
            limits,
            audience: header.audience,
            hash_salt: header.hash_salt.map(String::into_boxed_str),
        };
        snapshot.resolve_prerequisites(&mut warnings);
        Loaded { snapshot, warnings }
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

    /// Whom the snapshot is for (`audience`; `server` unless it says otherwise).
    pub fn audience(&self) -> Audience {
        self.audience
    }

    /// The number of flags that answer (in a client snapshot, the client-visible ones).
    pub fn len(&self) -> usize {
        match self.audience {
            Audience::Server => self.flags.len(),
            Audience::Client => self.flags().count(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every flag that answers, sorted by key: in a client snapshot, the
    /// client-visible ones (the others are there only as prerequisites).
    pub fn flags(&self) -> impl Iterator<Item = FlagInfo<'_>> {
        self.flags
            .iter()
            .filter(|e| self.audience.answers(e.client_visible))
            .map(FlagEntry::info)
    }

    pub fn flag(&self, key: &str) -> Option<FlagInfo<'_>> {
        self.entry(key).map(FlagEntry::info)
    }

    /// The position of a flag in `flags`, whether it answers or not: prerequisites
    /// are evaluated through it.
    pub(crate) fn position(&self, key: &str) -> Option<usize> {
        self.index.get(&self.flags, key)
    }

    /// The position of flag `key` when it answers for the snapshot's audience.
    pub(crate) fn answering(&self, key: &str) -> Option<usize> {
        self.position(key).filter(|&i| {
            self.flags
                .get(i)
                .is_some_and(|e| self.audience.answers(e.client_visible))
        })
    }

    /// The flag `key` when it answers for the snapshot's audience.
    pub(crate) fn entry(&self, key: &str) -> Option<&FlagEntry> {
        self.answering(key).and_then(|i| self.flags.get(i))
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

fn warning(kind: ItemKind, key: Option<&str>, err: FieldError) -> Warning {
    Warning {
        kind,
        key: key.map(ToString::to_string),
        path: err.path,
        message: err.message,
    }
}

/// The flags and segments of a snapshot go to the [`Loader`] as they are read.
impl<'a> Items<'a> for Loader<'a, '_> {
    fn flag(&mut self, item: Item<input::Flag<'a>>) {
        self.add_flag(item);
    }

    fn segment(&mut self, item: Item<input::Segment<'a>>) {
        self.add_segment(item);
    }

    fn segments_done(&mut self) {
        self.segments_done = true;
    }
}

/// Compiles flags and segments in the order they are read.
pub(crate) struct Loader<'a, 'l> {
    pub(crate) limits: &'l Limits,
    strings: Strings,
    segments: Vec<Segment>,
    /// Segment key → position in `segments`, or why that segment cannot be used.
    lookup: HashMap<Cow<'a, str>, Result<usize, String>>,
    segment_warnings: Vec<Warning>,
    pub(crate) segments_read: usize,
    /// Whether every segment is read. Until then, a flag that refers to segments waits
    /// in `waiting`; any other flag compiles the same whatever the segments are.
    pub(crate) segments_done: bool,
    /// Compiled flags, and the position in the snapshot of each.
    flags: Vec<FlagEntry>,
    positions: Vec<usize>,
    /// Flag warnings, each with its flag's position in the snapshot.
    flag_warnings: Vec<(usize, Warning)>,
    waiting: Vec<(usize, input::Flag<'a>)>,
    pub(crate) flags_read: usize,
    /// Whether any flag or segment read so far carries a hashed value.
    pub(crate) hashed: bool,
}

impl<'a, 'l> Loader<'a, 'l> {
    pub(crate) fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            strings: Strings::default(),
            segments: Vec::new(),
            lookup: HashMap::new(),
            segment_warnings: Vec::new(),
            segments_read: 0,
            segments_done: false,
            flags: Vec::new(),
            positions: Vec::new(),
            flag_warnings: Vec::new(),
            waiting: Vec::new(),
            flags_read: 0,
            hashed: false,
        }
    }

    pub(crate) fn add_segment(&mut self, item: Item<input::Segment<'a>>) {
        self.segments_read += 1;
        let warnings = &mut self.segment_warnings;
        let mut wire = match item {
            Item::Parsed(wire) => wire,
            Item::Malformed { problem, header } => {
                let message = problem.to_string();
                warnings.push(warning(ItemKind::Segment, header.key.as_deref(), problem));
                if let Some(key) = header.key {
                    self.lookup.insert(Cow::Owned(key), Err(message));
                }
                return;
            }
        };
        if self.lookup.contains_key(wire.key.as_str()) {
            let message = "duplicate segment key".to_string();
            let err = FieldError::new("", message.clone());
            warnings.push(warning(ItemKind::Segment, Some(&wire.key), err));
            self.lookup.insert(wire.key.0, Err(message));
            return;
        }
        let key = core::mem::take(&mut wire.key).0;
        self.hashed |= hashed::in_segment(&wire);
        match Segment::compile(wire, self.limits, &mut self.strings) {
            Ok(segment) => {
                self.lookup.insert(key, Ok(self.segments.len()));
                self.segments.push(segment);
            }
            Err(err) => {
                warnings.push(warning(ItemKind::Segment, Some(&key), err.clone()));
                self.lookup.insert(key, Err(err.to_string()));
            }
        }
    }

    pub(crate) fn add_flag(&mut self, item: Item<input::Flag<'a>>) {
        let at = self.flags_read;
        self.flags_read += 1;
        if let Item::Parsed(flag) = &item {
            self.hashed |= hashed::in_flag(flag);
        }
        match item {
            Item::Parsed(flag) if !self.segments_done && refers_to_segments(&flag) => {
                self.waiting.push((at, flag));
            }
            item => self.compile_flag(at, item),
        }
    }

    fn compile_flag(&mut self, at: usize, item: Item<input::Flag<'a>>) {
        let (entry, warning) = load_flag(item, &self.lookup, self.limits, &mut self.strings);
        if let Some(entry) = entry {
            self.flags.push(entry);
            self.positions.push(at);
        }
        if let Some(warning) = warning {
            self.flag_warnings.push((at, warning));
        }
    }

    /// The flags in snapshot order, the segments, and the warnings: segments' first,
    /// then flags' in snapshot order.
    fn finish(mut self) -> (Vec<FlagEntry>, Vec<Segment>, Vec<Warning>) {
        self.segments_done = true;
        let waiting = core::mem::take(&mut self.waiting);
        let reordered = !waiting.is_empty();
        for (at, flag) in waiting {
            self.compile_flag(at, Item::Parsed(flag));
        }
        let mut flags = self.flags;
        if reordered {
            let mut placed: Vec<(usize, FlagEntry)> =
                self.positions.into_iter().zip(flags).collect();
            placed.sort_unstable_by_key(|(at, _)| *at);
            flags = placed.into_iter().map(|(_, entry)| entry).collect();
            self.flag_warnings.sort_by_key(|(at, _)| *at);
        }
        let mut warnings = self.segment_warnings;
        warnings.extend(self.flag_warnings.into_iter().map(|(_, w)| w));
        (flags, self.segments, warnings)
    }
}

/// Whether any rule of `flag` uses `inSegment` or `notInSegment`.
fn refers_to_segments(flag: &input::Flag<'_>) -> bool {
    flag.rules.iter().any(|rule| {
        rule.conditions
            .iter()
            .any(|c| matches!(c.op.as_str(), "inSegment" | "notInSegment"))
    })
}

/// Compiles one flag. A malformed flag is kept under its key when the key is
/// readable, so asking for it answers `PARSE_ERROR` rather than `FLAG_NOT_FOUND`.
fn load_flag(
    item: Item<input::Flag<'_>>,
    segments: SegmentLookup<'_>,
    limits: &Limits,
    strings: &mut Strings,
) -> (Option<FlagEntry>, Option<Warning>) {
    let mut wire = match item {
        Item::Parsed(wire) => wire,
        Item::Malformed { problem, header } => {
            let message = problem.to_string();
            let warning = warning(ItemKind::Flag, header.key.as_deref(), problem);
            let entry = header.key.map(|key| FlagEntry {
                key: key.into_boxed_str(),
                version: header.version,
                client_visible: header.client_visible,
                meta: FlagMeta::default(),
                body: Err(message),
            });
            return (entry, Some(warning));
        }
    };
    let meta = FlagMeta {
        value_type: ValueType::parse(&wire.value_type),
        description: wire.description.take(),
        tags: core::mem::take(&mut wire.tags),
        metadata: core::mem::take(&mut wire.metadata),
    };
    let key: Box<str> = core::mem::take(&mut wire.key).into_boxed();
    let (version, client_visible) = (Some(wire.version), wire.client_visible);
    let mut problem = None;
    let body = Flag::compile(wire, segments, limits, strings).map_err(|err| {
        let message = err.to_string();
        problem = Some(warning(ItemKind::Flag, Some(&key), err));
        message
    });
    let entry = FlagEntry {
        key,
        version,
        client_visible,
        meta,
        body,
    };
    (Some(entry), problem)
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
        let future = br#"{"schemaVersion":3,"environment":"e","version":1,"generatedAt":"2026-11-25T12:00:00Z"}"#;
        assert_eq!(
            Snapshot::load(future).unwrap_err(),
            LoadError::UnsupportedSchema {
                found: 3,
                supported: 2
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
        assert_eq!((bad_info.valid, bad_info.version), (false, Some(9)));
        assert!(loaded.snapshot.flag("good").unwrap().valid);
    }

    /// The loader and the serde-based one it replaced, side by side.
    fn both(json: &str) -> Option<(Loaded, Loaded)> {
        let ours = Snapshot::load(json.as_bytes()).ok()?;
        let reference = crate::reader::reference::load(json.as_bytes(), &Limits::default());
        Some((ours, reference.unwrap()))
    }

    fn assert_same(one: &Loaded, other: &Loaded, contexts: &[crate::Context]) {
        assert_eq!(one.warnings, other.warnings);
        let infos = |l: &Loaded| format!("{:?}", l.snapshot.flags().collect::<Vec<_>>());
        assert_eq!(infos(one), infos(other));
        for ctx in contexts {
            let all = |l: &Loaded| format!("{:?}", l.snapshot.evaluate_all(ctx, 1_795_608_000_000));
            assert_eq!(all(one), all(other));
        }
    }

    #[test]
    fn the_reader_and_serde_agree_on_every_vector() {
        let mut compared = 0;
        for (name, text) in edgeflag_vectors::FILES {
            let doc = edgeflag_vectors::parse(name, text);
            let json = serde_json::to_string(&doc["snapshot"]).unwrap();
            let contexts: Vec<_> = doc["cases"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| crate::Context::from_value(c["context"].clone()).ok())
                .collect();
            if let Some((one, other)) = both(&json) {
                assert_same(&one, &other, &contexts);
                compared += 1;
            }
        }
        assert!(compared > 10, "{compared}");
    }

    #[test]
    fn flags_read_before_their_segments_wait_for_them() {
        let flag = |key: &str, segment: &str| {
            format!(
                r#"{{"key":"{key}","type":"boolean","enabled":true,"offVariation":"a","variations":[{{"key":"a","value":true}},{{"key":"b","value":false}}],"rules":[{{"conditions":[{{"op":"inSegment","values":["{segment}"]}}],"serve":{{"variation":"b"}}}}],"defaultRule":{{"variation":"a"}}}}"#
            )
        };
        let plain = r#"{"key":"m","version":4,"type":"boolean","enabled":true,"offVariation":"a","variations":[{"key":"a","value":true}],"defaultRule":{"variation":"a"}}"#;
        let json = format!(
            r#"{{{HEADER},"flags":[{},{plain},{},{},{plain}],"segments":[{{"key":"s","included":["u"]}},{{"key":"bad","rules":[{{"conditions":[{{"op":"inSegment","values":["s"]}}]}}]}}]}}"#,
            flag("z", "s"),
            flag("a", "nope"),
            flag("m", "bad"),
        );
        let (one, other) = both(&json).unwrap();
        let ctx = |key: &str| {
            crate::Context::from_value(serde_json::json!({"targetingKey": key})).unwrap()
        };
        assert_same(&one, &other, &[ctx("u"), ctx("v")]);
        let kinds: Vec<_> = one
            .warnings
            .iter()
            .map(|w| (w.kind, w.key.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [
                (ItemKind::Segment, Some("bad")),
                (ItemKind::Flag, Some("a")),
                (ItemKind::Flag, Some("m")),
                (ItemKind::Flag, Some("m")),
            ]
        );
        assert_eq!(
            one.snapshot.evaluate("z", &ctx("u"), 0).value,
            Some(&serde_json::json!(false))
        );
    }
}
