//! The snapshot format read without serde: each object of the format has one small,
//! non-generic reader over [`json::Reader`], so the engine ships one parser and no
//! deserializer instances (docs/snapshot-format.md, "Reading JSON").
//!
//! The rules are serde_json's and `serde_derive`'s, which this replaced (the
//! differential tests in `reader/tests.rs` hold it to them): members are read in
//! document order and the first defect is the one reported; a member this format
//! defines may appear once; a required member that is missing is reported when its
//! object closes, in the order the format lists the members; an optional member that
//! is `null` is absent; members it does not define are skipped, their grammar checked.
//! One deliberate difference: serde_json also read an object of the format written as
//! an array of its members in order; the format says objects, and so does this.
//!
//! A defect inside a flag or segment makes that item malformed but does not stop the
//! reading: the rest of the item is still read for its grammar, and its `key`,
//! `version` and `clientVisible` are read on their own ([`ItemHeader`]).

use alloc::{borrow::Cow, string::String, vec::Vec};
use serde_json::{Map, Value};

use crate::{
    error::FieldError,
    input::{
        CondValue, Condition, Flag, ItemHeader, MAX_VERSION, Prerequisite, Rollout, Rule, Segment,
        SegmentRule, Serve, Str, Target, Variation, WeightedVariation, Whole,
    },
    json::{self, Kind, Reader, Syntax, Unreadable, push_index, push_token},
};

/// Why a value could not be read: the document as a whole, or one member.
#[derive(Debug)]
pub(crate) enum Error {
    Syntax(Syntax),
    Fault(FieldError),
}

impl Error {
    /// For documents read whole (contexts, keys, headers): what is wrong, and where.
    pub(crate) fn describe(self) -> String {
        match self {
            Self::Syntax(e) => String::from(e.message),
            Self::Fault(f) if f.path.is_empty() => f.message,
            Self::Fault(f) => {
                let mut text = f.path;
                text.push_str(": ");
                text.push_str(&f.message);
                text
            }
        }
    }
}

impl From<Syntax> for Error {
    fn from(e: Syntax) -> Self {
        Self::Syntax(e)
    }
}

pub(crate) type Read<T> = Result<T, Error>;

fn fault<T>(path: String, message: String) -> Read<T> {
    Err(Error::Fault(FieldError { path, message }))
}

fn cannot_read<T>(why: Unreadable) -> Read<T> {
    let mut message = String::from("cannot be read: ");
    message.push_str(why.0);
    fault(String::new(), message)
}

/// Prefixes the path of a member's defect with `prefix` (written by `token`).
fn within<T>(read: Read<T>, token: impl FnOnce(&mut String)) -> Read<T> {
    read.map_err(|e| match e {
        Error::Fault(mut f) => {
            let mut path = String::new();
            token(&mut path);
            path.push_str(&f.path);
            f.path = path;
            Error::Fault(f)
        }
        syntax => syntax,
    })
}

/// Reads past a value of the wrong type and says what was expected. A string or a
/// number that cannot be read is reported as such, as serde_json does.
fn wrong<T>(r: &mut Reader<'_>, kind: Kind, expected: &str) -> Read<T> {
    let unreadable = match kind {
        Kind::String => r.string()?.err(),
        Kind::Number => r.number_value()?.err(),
        _ => {
            r.skip()?;
            None
        }
    };
    if let Some(why) = unreadable {
        return cannot_read(why);
    }
    let mut message = String::from("expected ");
    message.push_str(expected);
    message.push_str(", found ");
    message.push_str(kind.name());
    fault(String::new(), message)
}

pub(crate) fn string<'a>(r: &mut Reader<'a>) -> Read<Str<'a>> {
    match r.kind()? {
        Kind::String => match r.string()? {
            Ok(s) => Ok(Str(s)),
            Err(why) => cannot_read(why),
        },
        kind => wrong(r, kind, "a string"),
    }
}

/// `null` is `None`; anything else is read by `read`.
pub(crate) fn optional<'a, T>(
    r: &mut Reader<'a>,
    read: impl FnOnce(&mut Reader<'a>) -> Read<T>,
) -> Read<Option<T>> {
    if r.kind()? == Kind::Null {
        r.null()?;
        return Ok(None);
    }
    read(r).map(Some)
}

/// An optional member whose `null` is its default.
fn nullable<'a, T: Default>(
    r: &mut Reader<'a>,
    read: impl FnOnce(&mut Reader<'a>) -> Read<T>,
) -> Read<T> {
    optional(r, read).map(Option::unwrap_or_default)
}

fn boolean(r: &mut Reader<'_>) -> Read<bool> {
    match r.kind()? {
        Kind::Bool => Ok(r.bool()?),
        kind => wrong(r, kind, "a boolean"),
    }
}

/// A `u64` as serde reads one: an integer written without fraction or exponent.
pub(crate) fn unsigned(r: &mut Reader<'_>) -> Read<u64> {
    let kind = r.kind()?;
    if kind != Kind::Number {
        return wrong(r, kind, "u64");
    }
    let text = r.number()?;
    match json::parse_number(text) {
        Ok(n) => match n.as_u64() {
            Some(u) => Ok(u),
            None => {
                let mut message = String::from("expected u64, found ");
                message.push_str(text);
                fault(String::new(), message)
            }
        },
        Err(why) => cannot_read(why),
    }
}

/// A whole document: one value read by `read`, then only whitespace.
pub(crate) fn document<'a, T>(
    text: &'a str,
    read: impl FnOnce(&mut Reader<'a>) -> Read<T>,
) -> Result<T, String> {
    let mut r = Reader::new(text);
    let value = read(&mut r).map_err(Error::describe)?;
    r.end().map_err(|e| String::from(e.message))?;
    Ok(value)
}

/// A whole number from 0 to `max` (`expected` says so), however it is written.
fn whole(r: &mut Reader<'_>, max: u64, expected: &str) -> Read<u64> {
    let kind = r.kind()?;
    if kind != Kind::Number {
        return wrong(r, kind, expected);
    }
    let text = r.number()?;
    let n = match json::parse_number(text) {
        Ok(n) => n,
        Err(why) => return cannot_read(why),
    };
    match Whole::of(&n) {
        Some(w) if w <= max => Ok(w),
        _ => {
            let mut message = String::from("expected ");
            message.push_str(expected);
            message.push_str(", found ");
            message.push_str(text);
            fault(String::new(), message)
        }
    }
}

const VERSION: &str = "a whole number from 0 to 9007199254740991";
const WEIGHT: &str = "a whole number from 0 to 100000";

/// A `version`: absent or `null` is 0.
fn version(r: &mut Reader<'_>) -> Read<u64> {
    nullable(r, |r| whole(r, MAX_VERSION, VERSION))
}

fn weight(r: &mut Reader<'_>) -> Read<u32> {
    let w = whole(r, u64::from(crate::rollout::BUCKETS), WEIGHT)?;
    Ok(u32::try_from(w).unwrap_or(u32::MAX))
}

/// Data: any JSON value, every part of it readable.
pub(crate) fn value(r: &mut Reader<'_>) -> Read<Value> {
    match r.value()? {
        Ok(v) => Ok(v),
        Err(bad) => {
            let mut message = String::from("cannot be read: ");
            message.push_str(bad.why.0);
            fault(bad.path, message)
        }
    }
}

fn object_value(r: &mut Reader<'_>) -> Read<Map<String, Value>> {
    match r.kind()? {
        Kind::Object => match value(r)? {
            Value::Object(map) => Ok(map),
            _ => Ok(Map::new()),
        },
        kind => wrong(r, kind, "an object"),
    }
}

fn cond_value<'a>(r: &mut Reader<'a>) -> Read<CondValue<'a>> {
    match r.kind()? {
        Kind::String => string(r).map(CondValue::String),
        Kind::Number => match r.number_value()? {
            Ok(n) => Ok(CondValue::Number(n)),
            Err(why) => cannot_read(why),
        },
        Kind::Bool => Ok(CondValue::Bool(r.bool()?)),
        _ => value(r).map(CondValue::Other),
    }
}

/// An array, each element read by `read`.
pub(crate) fn list<'a, T>(
    r: &mut Reader<'a>,
    mut read: impl FnMut(&mut Reader<'a>) -> Read<T>,
) -> Read<Vec<T>> {
    let mut items = Vec::new();
    elements(r, &mut |r| {
        items.push(read(r)?);
        Ok(())
    })?;
    Ok(items)
}

/// The loop of [`list`], once for every element type.
fn elements<'a>(r: &mut Reader<'a>, read: &mut dyn FnMut(&mut Reader<'a>) -> Read<()>) -> Read<()> {
    let kind = r.kind()?;
    if kind != Kind::Array {
        return wrong(r, kind, "an array");
    }
    if r.too_deep() {
        r.skip()?;
        return cannot_read(json::TOO_DEEP);
    }
    r.array();
    let mut i = 0;
    while r.more(i == 0)? {
        within(read(r), |p| push_index(p, i))?;
        i += 1;
    }
    Ok(())
}

fn strings<'a>(r: &mut Reader<'a>) -> Read<Vec<Str<'a>>> {
    list(r, string)
}

/// The members of an object of the format, named in `names` in the order the format
/// lists them: each defined member goes to `read` with its index, once. Returns which
/// were present (bit `i` for `names[i]`).
pub(crate) fn members<'a>(
    r: &mut Reader<'a>,
    names: &[&str],
    mut read: impl FnMut(&mut Reader<'a>, usize) -> Read<()>,
) -> Read<u32> {
    // One copy of the loop for every object of the format (a closure per object
    // would each get its own): the member readers are called through `dyn`.
    members_dyn(r, names, &mut read)
}

fn members_dyn<'a>(
    r: &mut Reader<'a>,
    names: &[&str],
    read: &mut dyn FnMut(&mut Reader<'a>, usize) -> Read<()>,
) -> Read<u32> {
    let kind = r.kind()?;
    if kind != Kind::Object {
        return wrong(r, kind, "an object");
    }
    if r.too_deep() {
        r.skip()?;
        return cannot_read(json::TOO_DEEP);
    }
    r.object();
    let mut seen = 0u32;
    let mut first = true;
    while r.more(first)? {
        first = false;
        let key = r.key()?;
        let name = match key.name {
            Ok(name) => name,
            Err(why) => {
                r.skip()?;
                return within(cannot_read(why), |p| {
                    push_token(p, key.raw.trim_matches('"'));
                });
            }
        };
        let Some(i) = names.iter().position(|n| *n == name) else {
            r.skip()?;
            continue;
        };
        let bit = 1u32 << i;
        if seen & bit != 0 {
            r.skip()?;
            return fault(token(&name), String::from("appears more than once"));
        }
        seen |= bit;
        within(read(r, i), |p| push_token(p, &name))?;
    }
    Ok(seen)
}

fn token(name: &str) -> String {
    let mut path = String::new();
    push_token(&mut path, name);
    path
}

/// The first member of `required` (a mask over `names`) that is not in `seen`.
pub(crate) fn require(seen: u32, required: u32, names: &[&str]) -> Read<()> {
    let missing = required & !seen;
    if missing == 0 {
        return Ok(());
    }
    let name = names
        .get(missing.trailing_zeros() as usize)
        .copied()
        .unwrap_or_default();
    fault(token(name), String::from("is missing"))
}

/// A required member, read.
fn take<T>(slot: Option<T>) -> T
where
    T: Default,
{
    slot.unwrap_or_default()
}

const FLAG: &[&str] = &[
    "key",
    "version",
    "type",
    "variations",
    "enabled",
    "offVariation",
    "targets",
    "rules",
    "defaultRule",
    "prerequisites",
    "salt",
    "clientVisible",
    "description",
    "tags",
    "metadata",
];
const FLAG_REQUIRED: u32 = 1 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 5 | 1 << 8;

pub(crate) fn flag<'a>(r: &mut Reader<'a>) -> Read<Flag<'a>> {
    let mut f = Flag::default();
    let mut default_rule = None;
    let seen = members(r, FLAG, |r, i| {
        match i {
            0 => f.key = string(r)?,
            1 => f.version = version(r)?,
            2 => f.value_type = string(r)?,
            3 => f.variations = list(r, variation)?,
            4 => f.enabled = boolean(r)?,
            5 => f.off_variation = string(r)?,
            6 => f.targets = nullable(r, |r| list(r, target))?,
            7 => f.rules = nullable(r, |r| list(r, rule))?,
            8 => default_rule = Some(serve(r)?),
            9 => f.prerequisites = nullable(r, |r| list(r, prerequisite))?,
            10 => f.salt = optional(r, string)?,
            11 => f.client_visible = nullable(r, boolean)?,
            12 => f.description = optional(r, |r| string(r).map(Str::into_string))?,
            13 => {
                f.tags = nullable(r, |r| list(r, |r| string(r).map(Str::into_string)))?;
            }
            _ => f.metadata = nullable(r, object_value)?,
        }
        Ok(())
    })?;
    require(seen, FLAG_REQUIRED, FLAG)?;
    f.default_rule = take(default_rule);
    Ok(f)
}

fn variation<'a>(r: &mut Reader<'a>) -> Read<Variation<'a>> {
    const NAMES: &[&str] = &["key", "value"];
    let (mut key, mut val) = (Str::default(), Value::Null);
    let seen = members(r, NAMES, |r, i| {
        match i {
            0 => key = string(r)?,
            _ => val = value(r)?,
        }
        Ok(())
    })?;
    require(seen, 0b11, NAMES)?;
    Ok(Variation { key, value: val })
}

fn target<'a>(r: &mut Reader<'a>) -> Read<Target<'a>> {
    const NAMES: &[&str] = &["variation", "values", "hashes"];
    let mut t = Target {
        variation: Str::default(),
        values: None,
        hashes: None,
    };
    let seen = members(r, NAMES, |r, i| {
        match i {
            0 => t.variation = string(r)?,
            1 => t.values = optional(r, strings)?,
            _ => t.hashes = optional(r, strings)?,
        }
        Ok(())
    })?;
    require(seen, 1, NAMES)?;
    Ok(t)
}

fn rule<'a>(r: &mut Reader<'a>) -> Read<Rule<'a>> {
    const NAMES: &[&str] = &["id", "conditions", "serve"];
    let (mut id, mut conditions, mut serve_) = (None, Vec::new(), None);
    let seen = members(r, NAMES, |r, i| {
        match i {
            0 => id = optional(r, string)?,
            1 => conditions = nullable(r, |r| list(r, condition))?,
            _ => serve_ = Some(serve(r)?),
        }
        Ok(())
    })?;
    require(seen, 0b100, NAMES)?;
    Ok(Rule {
        id,
        conditions,
        serve: take(serve_),
    })
}

fn serve<'a>(r: &mut Reader<'a>) -> Read<Serve<'a>> {
    const NAMES: &[&str] = &["variation", "rollout"];
    let mut s = Serve::default();
    members(r, NAMES, |r, i| {
        match i {
            0 => s.variation = optional(r, string)?,
            _ => s.rollout = optional(r, rollout)?,
        }
        Ok(())
    })?;
    Ok(s)
}

fn rollout<'a>(r: &mut Reader<'a>) -> Read<Rollout<'a>> {
    const NAMES: &[&str] = &["bucketBy", "variations"];
    let (mut bucket_by, mut variations) = (None, Vec::new());
    let seen = members(r, NAMES, |r, i| {
        match i {
            0 => bucket_by = optional(r, string)?,
            _ => variations = list(r, weighted)?,
        }
        Ok(())
    })?;
    require(seen, 0b10, NAMES)?;
    Ok(Rollout {
        bucket_by,
        variations,
    })
}

fn weighted<'a>(r: &mut Reader<'a>) -> Read<WeightedVariation<'a>> {
    const NAMES: &[&str] = &["variation", "weight"];
    let (mut variation, mut w) = (Str::default(), 0);
    let seen = members(r, NAMES, |r, i| {
        match i {
            0 => variation = string(r)?,
            _ => w = weight(r)?,
        }
        Ok(())
    })?;
    require(seen, 0b11, NAMES)?;
    Ok(WeightedVariation {
        variation,
        weight: w,
    })
}

fn prerequisite<'a>(r: &mut Reader<'a>) -> Read<Prerequisite<'a>> {
    const NAMES: &[&str] = &["flag", "variation"];
    let (mut flag_, mut variation) = (Str::default(), Str::default());
    let seen = members(r, NAMES, |r, i| {
        match i {
            0 => flag_ = string(r)?,
            _ => variation = string(r)?,
        }
        Ok(())
    })?;
    require(seen, 0b11, NAMES)?;
    Ok(Prerequisite {
        flag: flag_,
        variation,
    })
}

fn condition<'a>(r: &mut Reader<'a>) -> Read<Condition<'a>> {
    const NAMES: &[&str] = &[
        "attribute",
        "op",
        "values",
        "hashes",
        "caseInsensitive",
        "negate",
    ];
    let mut c = Condition {
        attribute: Str::default(),
        op: Str::default(),
        values: Vec::new(),
        hashes: Vec::new(),
        case_insensitive: false,
        negate: false,
    };
    let seen = members(r, NAMES, |r, i| {
        match i {
            0 => c.attribute = nullable(r, string)?,
            1 => c.op = string(r)?,
            2 => c.values = nullable(r, |r| list(r, cond_value))?,
            3 => c.hashes = nullable(r, strings)?,
            4 => c.case_insensitive = nullable(r, boolean)?,
            _ => c.negate = nullable(r, boolean)?,
        }
        Ok(())
    })?;
    require(seen, 0b10, NAMES)?;
    Ok(c)
}

const SEGMENT: &[&str] = &[
    "key",
    "version",
    "included",
    "excluded",
    "includedHashes",
    "excludedHashes",
    "rules",
    "description",
];

pub(crate) fn segment<'a>(r: &mut Reader<'a>) -> Read<Segment<'a>> {
    let mut s = Segment::default();
    let seen = members(r, SEGMENT, |r, i| {
        match i {
            0 => s.key = string(r)?,
            1 => s.version = version(r)?,
            2 => s.included = nullable(r, strings)?,
            3 => s.excluded = nullable(r, strings)?,
            4 => s.included_hashes = nullable(r, strings)?,
            5 => s.excluded_hashes = nullable(r, strings)?,
            6 => s.rules = nullable(r, |r| list(r, segment_rule))?,
            _ => s.description = optional(r, string)?,
        }
        Ok(())
    })?;
    require(seen, 1, SEGMENT)?;
    Ok(s)
}

fn segment_rule<'a>(r: &mut Reader<'a>) -> Read<SegmentRule<'a>> {
    const NAMES: &[&str] = &["id", "conditions"];
    let (mut id, mut conditions) = (None, Vec::new());
    let seen = members(r, NAMES, |r, i| {
        match i {
            0 => id = optional(r, string)?,
            _ => conditions = list(r, condition)?,
        }
        Ok(())
    })?;
    require(seen, 0b10, NAMES)?;
    Ok(SegmentRule { id, conditions })
}

/// A flag or segment as read: whole, or why not, with what can still be read of it.
pub(crate) enum Item<T> {
    Parsed(T),
    Malformed {
        problem: FieldError,
        header: ItemHeader,
    },
}

/// Reads the `index`th flag (or segment) with `read`. A defect makes the item
/// malformed; the rest of it is still read, for its grammar and its header.
pub(crate) fn item<'a, T>(
    r: &mut Reader<'a>,
    index: usize,
    segment: bool,
    read: impl FnOnce(&mut Reader<'a>) -> Read<T>,
) -> Result<Item<T>, Syntax> {
    let depth = r.depth();
    r.set_base(depth);
    r.kind()?;
    let start = r.position();
    let problem = match read(r) {
        Ok(item) => return Ok(Item::Parsed(item)),
        Err(Error::Syntax(e)) => return Err(e),
        Err(Error::Fault(problem)) => problem,
    };
    r.close_to(depth)?;
    let raw = r.text().get(start..r.position()).unwrap_or_default();
    let mut prefix = String::from(if segment { "segment #" } else { "flag #" });
    prefix.push_str(itoa::Buffer::new().format(index));
    prefix.push_str(" is malformed: ");
    Ok(Item::Malformed {
        problem: problem.prefixed(&prefix),
        header: header(raw),
    })
}

/// What can still be read of a malformed item: its `key`, `version` and
/// `clientVisible`, each when it appears once with the right type. `raw` is the
/// item's text, already known to be valid grammar.
fn header(raw: &str) -> ItemHeader {
    let mut r = Reader::new(raw);
    let none = ItemHeader {
        key: None,
        version: Some(0),
        client_visible: false,
    };
    let mut slots: [Member<'_>; 3] = [Member::Absent; 3];
    if !matches!(r.kind(), Ok(Kind::Object)) {
        return none;
    }
    r.object();
    let mut first = true;
    while let Ok(true) = r.more(first) {
        first = false;
        let Ok(key) = r.key() else { return none };
        let Ok(name) = key.name else { return none };
        let at = ["key", "version", "clientVisible"]
            .iter()
            .position(|n| *n == name);
        let Ok(text) = r.raw() else { return none };
        if let Some(slot) = at.and_then(|i| slots.get_mut(i)) {
            *slot = match slot {
                Member::Absent => Member::Raw(text),
                _ => Member::Repeated,
            };
        }
    }
    let [key, version_, client_visible] = slots;
    ItemHeader {
        key: match key {
            Member::Raw(text) => string(&mut Reader::new(text)).ok().map(Str::into_string),
            _ => None,
        },
        version: match version_ {
            Member::Absent => Some(0),
            Member::Raw(text) => version(&mut Reader::new(text)).ok(),
            Member::Repeated => None,
        },
        client_visible: match client_visible {
            Member::Raw(text) => nullable(&mut Reader::new(text), boolean).unwrap_or(false),
            _ => false,
        },
    }
}

/// A member of an object whose type is checked later, as read: its raw text, or the
/// note that it appears more than once (and so cannot be trusted).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member<'a> {
    #[default]
    Absent,
    Raw(&'a str),
    Repeated,
}

/// A string member of the top level, read from its raw text.
pub(crate) fn string_at(raw: &str) -> Result<String, Cow<'static, str>> {
    let mut r = Reader::new(raw);
    match r.kind() {
        Ok(Kind::String) => match r.string() {
            Ok(Ok(s)) => Ok(s.into_owned()),
            Ok(Err(why)) => Err(unreadable(why)),
            Err(_) => Err(Cow::Borrowed("cannot be read")),
        },
        Ok(kind) => {
            Err(container(&mut r, kind).unwrap_or(found("must be a string, found ", kind.name())))
        }
        Err(_) => Err(Cow::Borrowed("cannot be read")),
    }
}

/// A top-level member of the wrong type is still read as data when it is an array or
/// an object (serde_json did), so what it holds must be readable.
fn container(r: &mut Reader<'_>, kind: Kind) -> Option<Cow<'static, str>> {
    if matches!(kind, Kind::Array | Kind::Object) {
        return r.value().ok()?.err().map(|bad| unreadable(bad.why));
    }
    None
}

/// A whole number of the top level, from 0 to 2^53 − 1, read from its raw text.
pub(crate) fn version_at(raw: &str) -> Result<u64, Cow<'static, str>> {
    const MUST: &str = "must be a whole number from 0 to 9007199254740991, found ";
    let mut r = Reader::new(raw);
    match r.kind() {
        Ok(Kind::Number) => match r.number_value() {
            Ok(Ok(n)) => match Whole::of(&n) {
                Some(w) if w <= MAX_VERSION => Ok(w),
                _ => Err(found(MUST, raw)),
            },
            Ok(Err(why)) => Err(unreadable(why)),
            Err(_) => Err(Cow::Borrowed("cannot be read")),
        },
        Ok(Kind::String) => match r.string() {
            Ok(Err(why)) => Err(unreadable(why)),
            _ => Err(found(MUST, "string")),
        },
        Ok(kind) => Err(container(&mut r, kind).unwrap_or(found(MUST, kind.name()))),
        Err(_) => Err(Cow::Borrowed("cannot be read")),
    }
}

fn unreadable(why: Unreadable) -> Cow<'static, str> {
    found("cannot be read: ", why.0)
}

fn found(prefix: &str, what: &str) -> Cow<'static, str> {
    let mut s = String::from(prefix);
    s.push_str(what);
    Cow::Owned(s)
}

#[cfg(test)]
pub(crate) mod reference;
#[cfg(test)]
mod tests;
