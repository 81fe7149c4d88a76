//! Regular expressions for the `matches` operator: a parser for the `regex` crate's
//! syntax (`regex/parse.rs`), a Thompson compiler whose program size is the formula
//! `docs/snapshot-format.md` states (`regex/compile.rs`), and matchers that answer "is
//! there a match anywhere?" in time linear in the input, with no backtracking
//! (`regex/run.rs`): plain strings compare as text, small patterns run as an ASCII DFA
//! over precomputed closures, and everything else runs on a Pike VM ([`Strategy`]).
//!
//! The work of a test is bounded by construction, the same way on every runtime: a
//! pattern's size is limited ([`Bounds`]), and a condition is tested only when its
//! patterns' sizes times the bytes of the attribute ([`work`]) stay within
//! [`WORK_LIMIT`]; no clock is involved.
//!
//! The engine carries its own matcher because every runtime ships it to the edge and to
//! browsers: the `regex` crate's compiler, meta engine and Unicode tables were over half
//! of the engine's WebAssembly, and `regex-lite` needs `std`. Only a yes/no answer is
//! ever needed, so there are no capture groups and greediness changes nothing. For
//! every pattern it accepts, the dialect means what the `regex` crate 1.13 means, case
//! folding included; what it refuses is listed in the spec.

use alloc::{boxed::Box, format, string::String};
use core::fmt;

mod class;
mod compile;
mod parse;
mod run;
mod tables;
#[cfg(test)]
mod tests;

use class::Class;
use compile::Inst;
use parse::{Look, Node};
use run::{Closures, Vm};

/// The most work one `matches` condition may take on one evaluation ([`work`]); above
/// it the condition is not tested. Chosen so that the slowest test within it takes well
/// under a millisecond natively (`BENCHMARKS.md`, the `matches-worst` benchmarks).
pub(crate) const WORK_LIMIT: u64 = 1 << 17;

/// What each character of the input costs a pattern besides its size: the matchers'
/// fixed work per character (which dominates for small patterns).
const STEP_COST: u64 = 16;

/// The limits a pattern must stay within.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// The largest size (the formula of [`compile::size`]).
    pub(crate) size: u64,
    /// The most ranges the distinct classes of a pattern may hold together.
    pub(crate) class_ranges: usize,
}

/// The work of testing `patterns` against strings of the given lengths in bytes: the
/// sum over the patterns of their size plus [`STEP_COST`], times the sum over the
/// strings of their length plus one. Every matcher's time is proportional to it at
/// most, whatever the pattern and the text.
pub(crate) fn work<'r>(
    patterns: impl IntoIterator<Item = &'r Regex>,
    lengths: impl IntoIterator<Item = usize>,
) -> u64 {
    let size = patterns
        .into_iter()
        .map(|re| re.size.saturating_add(STEP_COST))
        .fold(0, u64::saturating_add);
    let steps = lengths
        .into_iter()
        .map(|len| (len as u64).saturating_add(1))
        .fold(0, u64::saturating_add);
    size.saturating_mul(steps)
}

/// A compiled regular expression.
#[derive(Debug, Clone)]
pub(crate) struct Regex {
    program: Box<[Inst]>,
    classes: Box<[Class]>,
    /// The pattern's size (the program has one more instruction: the match).
    size: u64,
    /// Every match starts at the beginning of the input (`\A` or `^` leads).
    anchored: bool,
    /// Some instruction is a word assertion (`\b` and its kin).
    words: bool,
    strategy: Strategy,
}

/// How [`Regex::is_match`] runs, chosen at compile time by the pattern's shape.
#[derive(Debug, Clone)]
enum Strategy {
    /// A plain string, maybe anchored (`beta`, `^/api/`, `@example\.com$`): compared
    /// as text.
    Literal {
        text: Box<str>,
        start: bool,
        end: bool,
    },
    /// A small program with no assertions but `\A`/`^` and `\z`/`$` (outside
    /// multi-line mode): precomputed closures, often with an ASCII DFA.
    Closures(Box<Closures>),
    /// Anything else: the Pike VM, following empty transitions as it goes.
    Vm,
}

/// Why a pattern was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error {
    message: String,
    /// Byte offset into the pattern.
    at: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.at)
    }
}

impl Regex {
    /// Parses and compiles `pattern`. `fold` starts it case-insensitive, as `(?i)`
    /// would.
    pub(crate) fn new(pattern: &str, fold: bool, bounds: Bounds) -> Result<Self, Error> {
        let parsed = parse::parse(pattern, fold)?;
        let size = compile::size(&parsed.node);
        // Programs are addressed with `u32`s: no host limit may go near that.
        let limit = bounds.size.min(1 << 30);
        if size > limit {
            return Err(Error {
                message: format!("pattern of size {size}, over the limit of {limit}"),
                at: 0,
            });
        }
        let ranges: usize = parsed.classes.iter().map(|c| c.ranges().len()).sum();
        if ranges > bounds.class_ranges {
            return Err(Error {
                message: format!(
                    "classes of {ranges} ranges, over the limit of {}",
                    bounds.class_ranges
                ),
                at: 0,
            });
        }
        let program = compile::compile(&parsed.node).into_boxed_slice();
        let mut re = Self {
            anchored: starts_anchored(&parsed.node),
            words: program.iter().any(|inst| {
                matches!(inst, Inst::Look(look, _) if !matches!(
                    look,
                    Look::Start | Look::End | Look::StartLine | Look::EndLine
                        | Look::StartLineCrlf | Look::EndLineCrlf
                ))
            }),
            program,
            classes: parsed.classes.into_boxed_slice(),
            size,
            strategy: Strategy::Vm,
        };
        re.strategy = match literal_text(&parsed.node) {
            Some((text, start, end)) => Strategy::Literal { text, start, end },
            None => Closures::new(&re).map_or(Strategy::Vm, |c| Strategy::Closures(Box::new(c))),
        };
        Ok(re)
    }

    /// The pattern's size, as the size limit and [`work`] count it.
    #[cfg(test)]
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Whether the pattern matches anywhere in `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match &self.strategy {
            Strategy::Literal {
                text: literal,
                start,
                end,
            } => match (start, end) {
                (true, true) => text == &**literal,
                (true, false) => text.starts_with(&**literal),
                (false, true) => text.ends_with(&**literal),
                (false, false) => text.contains(&**literal),
            },
            Strategy::Closures(closures) => closures.run(self, text),
            Strategy::Vm => Vm::new(self).run(text),
        }
    }
}

/// Whether every match starts at the beginning of the input.
fn starts_anchored(node: &Node) -> bool {
    match node {
        Node::Look(Look::Start) => true,
        Node::Concat(items) => items.first().is_some_and(starts_anchored),
        Node::Alternation(branches) => branches.iter().all(starts_anchored),
        _ => false,
    }
}

/// The text of a pattern that is a plain string, with whether `\A`/`^` leads and
/// `\z`/`$` ends it.
fn literal_text(node: &Node) -> Option<(Box<str>, bool, bool)> {
    let items = match node {
        Node::Concat(items) => items.as_slice(),
        single => core::slice::from_ref(single),
    };
    let (start, items) = match items.split_first() {
        Some((Node::Look(Look::Start), rest)) => (true, rest),
        _ => (false, items),
    };
    let (end, items) = match items.split_last() {
        Some((Node::Look(Look::End), rest)) => (true, rest),
        _ => (false, items),
    };
    let mut text = String::new();
    for item in items {
        match item {
            Node::Char(c) => text.push(*c),
            Node::Empty => {}
            _ => return None,
        }
    }
    Some((text.into_boxed_str(), start, end))
}
