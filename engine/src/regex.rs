//! Regular expressions for the `matches` operator: a parser for the RE2 syntax that
//! `docs/snapshot-format.md` specifies, a Thompson compiler, and matchers that answer
//! "is there a match anywhere?" in time linear in the input (no backtracking): plain
//! strings compare as text, small patterns run as an ASCII DFA over precomputed
//! closures, and everything else runs on a Pike VM ([`Strategy`]).
//!
//! The engine carries its own because every runtime ships it to the edge and to
//! browsers: the `regex` crate's compiler, meta engine and Unicode tables were over
//! half of the engine's WebAssembly, and `regex-lite` needs `std`. Only a yes/no
//! answer is ever needed, so there are no capture groups and greediness changes
//! nothing; the dialect keeps the `regex` crate's meaning for everything it accepts,
//! and refuses (with the byte offset) what it does not support.

use alloc::{boxed::Box, format, string::String, vec, vec::Vec};
use core::{fmt, str::Chars};

mod tables;
#[cfg(test)]
mod tests;

/// How deep groups may nest.
const NEST_LIMIT: u32 = 64;

/// A compiled regular expression.
#[derive(Debug, Clone)]
pub(crate) struct Regex {
    program: Box<[Inst]>,
    classes: Box<[Class]>,
    /// Every match starts at the beginning of the input (`\A` or `^` leads).
    anchored: bool,
    /// Some instruction compares case folds, so matching folds each character.
    folds: bool,
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
    /// Up to [`Closures::MAX`] instructions and no assertions but `\A`/`^` and
    /// `\z`/`$` (outside multi-line mode): every empty-transition closure is
    /// precomputed, and matching is bit-set arithmetic with no allocation.
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
    /// would; `max_bytes` bounds the compiled program and its classes.
    pub(crate) fn new(pattern: &str, fold: bool, max_bytes: usize) -> Result<Self, Error> {
        let mut parser = Parser {
            pattern,
            pos: 0,
            depth: 0,
            classes: Vec::new(),
        };
        let flags = Flags {
            fold,
            ..Flags::default()
        };
        let node = parser.alternation(flags)?;
        if parser.peek().is_some() {
            return Err(parser.error("unopened group: `)` without `(`"));
        }
        let anchored = node.starts_anchored();
        let class_bytes = parser
            .classes
            .iter()
            .map(|c| c.ranges.len() * core::mem::size_of::<(u32, u32)>())
            .sum::<usize>();
        let mut compiler = Compiler {
            program: Vec::new(),
            max_insts: max_bytes.saturating_sub(class_bytes) / core::mem::size_of::<Inst>(),
            max_bytes,
        };
        compiler.node(&node)?;
        compiler.emit(Inst::Match)?;
        let mut re = Self {
            program: compiler.program.into_boxed_slice(),
            classes: parser.classes.into_boxed_slice(),
            anchored,
            folds: false,
            strategy: Strategy::Vm,
        };
        re.folds = re.program.iter().any(|inst| matches!(inst, Inst::Fold(_)));
        re.strategy = match literal_text(&node) {
            Some((text, start, end)) => Strategy::Literal { text, start, end },
            None => Closures::new(&re).map_or(Strategy::Vm, |c| Strategy::Closures(Box::new(c))),
        };
        Ok(re)
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

    /// Whether the instruction at `pc` consumes `c` (`folded` is `fold(c)`).
    fn consumes(&self, pc: u32, c: char, folded: char) -> bool {
        match self.program.get(pc as usize) {
            Some(Inst::Char(x)) => *x == c,
            Some(Inst::Fold(x)) => *x == folded,
            Some(Inst::Class(i)) => self
                .classes
                .get(*i as usize)
                .is_some_and(|class| class.matches(c)),
            Some(Inst::Any) => true,
            Some(Inst::AnyButNewline) => c != '\n',
            _ => false,
        }
    }

    /// The ASCII characters an instruction consumes, as bits.
    fn ascii_consumed_by(&self, inst: &Inst) -> u128 {
        let ascii = |c: char| {
            if c.is_ascii() {
                1u128 << u32::from(c)
            } else {
                0
            }
        };
        match inst {
            Inst::Char(c) => ascii(*c),
            // The fold of an ASCII character is its ASCII lowercase.
            Inst::Fold(c) => (0u8..128)
                .filter(|b| char::from(b.to_ascii_lowercase()) == *c)
                .fold(0, |bits, b| bits | 1 << b),
            Inst::Class(i) => self.classes.get(*i as usize).map_or(0, |class| class.ascii),
            Inst::Any => u128::MAX,
            Inst::AnyButNewline => !(1u128 << u32::from('\n')),
            Inst::Look(_) | Inst::Split(..) | Inst::Jump(_) | Inst::Match => 0,
        }
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
            _ => return None,
        }
    }
    Some((text.into_boxed_str(), start, end))
}

/// A set of instructions, for programs of at most [`Closures::MAX`].
type Bits = [u64; 4];

fn bit(set: &Bits, i: u32) -> bool {
    set.get((i / 64) as usize)
        .is_some_and(|word| word & (1 << (i % 64)) != 0)
}

fn set_bit(set: &mut Bits, i: u32) {
    if let Some(word) = set.get_mut((i / 64) as usize) {
        *word |= 1 << (i % 64);
    }
}

/// Precomputed empty-transition closures (see [`Strategy::Closures`]).
#[derive(Debug, Clone)]
struct Closures {
    /// Per instruction: the consuming instructions its closure reaches inside the
    /// input (where neither `\A` nor `\z` holds).
    reach: Box<[Bits]>,
    /// Instructions whose closure reaches the match inside the input, and at its end.
    accepts_inside: Bits,
    accepts_at_end: Bits,
    /// The closure of the start at the beginning of a non-empty input.
    first: Bits,
    first_accepts: bool,
    /// Whether the empty input matches.
    empty_accepts: bool,
    /// How many words of a [`Bits`] the program uses.
    words: usize,
    /// For each ASCII character, the instructions that consume it: `words` words
    /// per character.
    ascii: Box<[u64]>,
    dfa: Option<Dfa>,
}

impl Closures {
    const MAX: usize = 256;

    fn new(re: &Regex) -> Option<Self> {
        let n = re.program.len();
        let simple = re.program.iter().all(
            |inst| !matches!(inst, Inst::Look(look) if !matches!(look, Look::Start | Look::End)),
        );
        if n > Self::MAX || !simple {
            return None;
        }
        // With only `\A` and `\z`, the characters around a position do not matter,
        // only whether there are any.
        let (inside, first, end, empty) = (
            (Some('a'), Some('a')),
            (None, Some('a')),
            (Some('a'), None),
            (None, None),
        );
        let mut stack = Vec::new();
        let mut reach = Vec::with_capacity(n);
        let mut accepts_inside = Bits::default();
        let mut accepts_at_end = Bits::default();
        for pc in 0..u32::try_from(n).ok()? {
            let (set, accepts) = closure(re, pc, inside, &mut stack);
            reach.push(set);
            if accepts {
                set_bit(&mut accepts_inside, pc);
            }
            if closure(re, pc, end, &mut stack).1 {
                set_bit(&mut accepts_at_end, pc);
            }
        }
        let (first, first_accepts) = closure(re, 0, first, &mut stack);
        let words = n.div_ceil(64);
        let mut ascii = vec![0u64; 128 * words];
        for (pc, inst) in (0u32..).zip(re.program.iter()) {
            let mut consumed = re.ascii_consumed_by(inst);
            while consumed != 0 {
                let b = consumed.trailing_zeros();
                consumed &= consumed - 1;
                if let Some(word) = ascii.get_mut(b as usize * words + (pc / 64) as usize) {
                    *word |= 1 << (pc % 64);
                }
            }
        }
        Some(Self {
            reach: reach.into_boxed_slice(),
            accepts_inside,
            accepts_at_end,
            first,
            first_accepts,
            empty_accepts: closure(re, 0, empty, &mut stack).1,
            words,
            ascii: ascii.into_boxed_slice(),
            dfa: None,
        })
        .map(|mut closures| {
            closures.dfa = Dfa::new(&closures, re);
            closures
        })
    }

    fn run(&self, re: &Regex, text: &str) -> bool {
        let mut chars = text.chars();
        let Some(c) = chars.next() else {
            return self.empty_accepts;
        };
        if self.first_accepts {
            return true;
        }
        match &self.dfa {
            Some(dfa) => dfa.run(self, re, c, chars),
            None => self.run_from(re, self.first, c, chars),
        }
    }

    /// Runs on from `threads`, waiting on `c`, with `rest` to follow.
    fn run_from(&self, re: &Regex, mut threads: Bits, mut c: char, mut rest: Chars<'_>) -> bool {
        loop {
            let next = rest.next();
            let step = self.step(re, &threads, c);
            if step.accepts(next.is_some()) {
                return true;
            }
            match next {
                Some(n) if step.threads != Bits::default() || !re.anchored => {
                    c = n;
                    threads = step.threads;
                }
                _ => return false,
            }
        }
    }

    /// Advances `threads` over `c`.
    fn step(&self, re: &Regex, threads: &Bits, c: char) -> Step {
        // The threads that consume `c`: from the table for ASCII, else one by one.
        let mut consumed = Bits::default();
        if c.is_ascii() {
            let row = self.ascii.chunks(self.words.max(1)).nth(c as usize);
            for ((out, thread), consumer) in consumed
                .iter_mut()
                .zip(threads)
                .zip(row.into_iter().flatten())
            {
                *out = thread & consumer;
            }
        } else {
            let folded = if re.folds { fold(c) } else { c };
            for pc in members(threads, self.words) {
                if re.consumes(pc, c, folded) {
                    set_bit(&mut consumed, pc);
                }
            }
        }
        let mut step = Step::default();
        let follow = |pc: u32, step: &mut Step| {
            step.accepts_inside |= bit(&self.accepts_inside, pc);
            step.accepts_at_end |= bit(&self.accepts_at_end, pc);
            if let Some(reach) = self.reach.get(pc as usize) {
                union(&mut step.threads, reach, self.words);
            }
        };
        for pc in members(&consumed, self.words) {
            follow(pc + 1, &mut step);
        }
        if !re.anchored {
            // A match may also start after `c`.
            follow(0, &mut step);
        }
        step
    }
}

/// The outcome of advancing a set of threads over one character.
#[derive(Debug, Default)]
struct Step {
    threads: Bits,
    /// A match ends here if more input follows / if the input ends here.
    accepts_inside: bool,
    accepts_at_end: bool,
}

impl Step {
    fn accepts(&self, more_input: bool) -> bool {
        if more_input {
            self.accepts_inside
        } else {
            self.accepts_at_end
        }
    }
}

/// The members of a set, in order.
fn members(set: &Bits, words: usize) -> impl Iterator<Item = u32> + '_ {
    (0u32..).zip(set.iter().take(words)).flat_map(|(w, &word)| {
        let mut bits = word;
        core::iter::from_fn(move || {
            (bits != 0).then(|| {
                let pc = w * 64 + bits.trailing_zeros();
                bits &= bits - 1;
                pc
            })
        })
    })
}

/// A deterministic automaton over ASCII, built at compile time from [`Closures`]
/// when it stays small: one table lookup per character. A non-ASCII character
/// hands over to the bit-set simulation, from the state's set of threads.
#[derive(Debug, Clone)]
struct Dfa {
    /// The equivalence class of each ASCII character (characters that every
    /// instruction treats alike share one).
    class_of: [u8; 128],
    classes: usize,
    /// Per state and class: the next state, and the [`ACCEPTS_INSIDE`] /
    /// [`ACCEPTS_AT_END`] bits.
    table: Box<[u32]>,
    /// Each state's threads.
    sets: Box<[Bits]>,
    /// The state with no threads, if the pattern is anchored (it never matches).
    dead: Option<u32>,
}

const ACCEPTS_INSIDE: u32 = 1 << 16;
const ACCEPTS_AT_END: u32 = 1 << 17;

impl Dfa {
    /// States × classes at most (so at most 16 KiB of table per pattern).
    const MAX_ENTRIES: usize = 4096;

    fn new(closures: &Closures, re: &Regex) -> Option<Self> {
        let words = closures.words.max(1);
        let mut class_of = [0u8; 128];
        let mut signatures: Vec<&[u64]> = Vec::new();
        let mut representatives = Vec::new();
        for (b, signature) in (0u8..128).zip(closures.ascii.chunks(words)) {
            let class = match signatures.iter().position(|s| *s == signature) {
                Some(class) => class,
                None => {
                    signatures.push(signature);
                    representatives.push(char::from(b));
                    signatures.len() - 1
                }
            };
            *class_of.get_mut(usize::from(b))? = u8::try_from(class).ok()?;
        }
        let classes = representatives.len();
        let mut sets = vec![closures.first];
        let mut table = Vec::new();
        let mut state = 0;
        while let Some(threads) = sets.get(state).copied() {
            for &c in &representatives {
                let step = closures.step(re, &threads, c);
                let next = match sets.iter().position(|s| *s == step.threads) {
                    Some(next) => next,
                    None => {
                        sets.push(step.threads);
                        sets.len() - 1
                    }
                };
                let flags = if step.accepts_inside {
                    ACCEPTS_INSIDE
                } else {
                    0
                } | if step.accepts_at_end {
                    ACCEPTS_AT_END
                } else {
                    0
                };
                table.push(u32::try_from(next).ok()? | flags);
                if sets.len() * classes > Self::MAX_ENTRIES {
                    return None;
                }
            }
            state += 1;
        }
        let dead = sets
            .iter()
            .position(|s| *s == Bits::default())
            .filter(|_| re.anchored)
            .and_then(|d| u32::try_from(d).ok());
        Some(Self {
            class_of,
            classes,
            table: table.into_boxed_slice(),
            sets: sets.into_boxed_slice(),
            dead,
        })
    }

    fn run(&self, closures: &Closures, re: &Regex, mut c: char, mut rest: Chars<'_>) -> bool {
        let mut state = 0u32;
        loop {
            if !c.is_ascii() {
                let threads = self.sets.get(state as usize).copied().unwrap_or_default();
                return closures.run_from(re, threads, c, rest);
            }
            let next = rest.next();
            let class = self.class_of.get(c as usize).copied().unwrap_or_default();
            let entry = self
                .table
                .get(state as usize * self.classes + usize::from(class))
                .copied()
                .unwrap_or_default();
            let accepts = if next.is_some() {
                ACCEPTS_INSIDE
            } else {
                ACCEPTS_AT_END
            };
            if entry & accepts != 0 {
                return true;
            }
            state = entry & 0xFFFF;
            match next {
                Some(n) if Some(state) != self.dead => c = n,
                _ => return false,
            }
        }
    }
}

fn union(into: &mut Bits, from: &Bits, words: usize) {
    for (a, b) in into.iter_mut().zip(from).take(words) {
        *a |= b;
    }
}

/// The consuming instructions reached from `pc` by empty transitions, given the
/// characters before and after the position, and whether the match is reached.
fn closure(
    re: &Regex,
    pc: u32,
    (before, after): (Option<char>, Option<char>),
    stack: &mut Vec<u32>,
) -> (Bits, bool) {
    let mut seen = Bits::default();
    let mut consuming = Bits::default();
    stack.clear();
    stack.push(pc);
    let mut accepts = false;
    while let Some(pc) = stack.pop() {
        if bit(&seen, pc) {
            continue;
        }
        set_bit(&mut seen, pc);
        match re.program.get(pc as usize) {
            Some(Inst::Match) => accepts = true,
            Some(Inst::Jump(to)) => stack.push(*to),
            Some(Inst::Split(a, b)) => stack.extend([*b, *a]),
            Some(Inst::Look(look)) if look.holds(before, after) => stack.push(pc + 1),
            Some(Inst::Look(_)) | None => {}
            Some(_) => set_bit(&mut consuming, pc),
        }
    }
    (consuming, accepts)
}

// ---------------------------------------------------------------------------------
// Syntax

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    /// `i`: case-insensitive.
    fold: bool,
    /// `m`: `^` and `$` match at line starts and ends too.
    multi_line: bool,
    /// `s`: `.` matches `\n` too.
    dot_all: bool,
    /// `x`: whitespace and `#` comments in the pattern are ignored.
    verbose: bool,
}

#[derive(Debug)]
enum Node {
    Empty,
    Char(char),
    /// A character compared by its case fold ([`fold`]).
    Fold(char),
    /// Index into the parser's classes.
    Class(u32),
    Any {
        newline: bool,
    },
    Look(Look),
    Concat(Vec<Node>),
    Alternation(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

impl Node {
    fn compiles_to_nothing(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Concat(items) => items.iter().all(Self::compiles_to_nothing),
            Self::Repeat { node, max, .. } => *max == Some(0) || node.compiles_to_nothing(),
            _ => false,
        }
    }

    fn starts_anchored(&self) -> bool {
        match self {
            Self::Look(Look::Start) => true,
            Self::Concat(items) => items.first().is_some_and(Self::starts_anchored),
            Self::Alternation(branches) => branches.iter().all(Self::starts_anchored),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    /// `\A`, or `^` outside multi-line mode.
    Start,
    /// `\z`, or `$` outside multi-line mode.
    End,
    LineStart,
    LineEnd,
    WordBoundary,
    NotWordBoundary,
}

impl Look {
    fn holds(self, before: Option<char>, after: Option<char>) -> bool {
        match self {
            Self::Start => before.is_none(),
            Self::End => after.is_none(),
            Self::LineStart => matches!(before, None | Some('\n')),
            Self::LineEnd => matches!(after, None | Some('\n')),
            Self::WordBoundary => is_word(before) != is_word(after),
            Self::NotWordBoundary => is_word(before) == is_word(after),
        }
    }
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| {
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '_'
        } else {
            in_ranges(tables::WORD, c)
        }
    })
}

/// A set of characters: sorted, disjoint, inclusive code point ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Class {
    ranges: Vec<(u32, u32)>,
    negated: bool,
    /// Case-insensitive: a character matches when it or one of its case
    /// variants is in the ranges (before negation).
    fold: bool,
    /// The answer for each ASCII character, precomputed.
    ascii: u128,
}

impl Class {
    fn new(ranges: Vec<(u32, u32)>, negated: bool, fold: bool) -> Self {
        let mut class = Self {
            ranges,
            negated,
            fold,
            ascii: 0,
        };
        class.ascii = (0u8..128)
            .filter(|&b| class.matches_slowly(char::from(b)))
            .fold(0, |bits, b| bits | 1 << b);
        class
    }

    fn matches(&self, c: char) -> bool {
        if c.is_ascii() {
            self.ascii & (1 << u32::from(c)) != 0
        } else {
            self.matches_slowly(c)
        }
    }

    fn matches_slowly(&self, c: char) -> bool {
        let found = if self.fold {
            variants(c).iter().any(|&v| in_ranges(&self.ranges, v))
        } else {
            in_ranges(&self.ranges, c)
        };
        found != self.negated
    }
}

fn in_ranges(ranges: &[(u32, u32)], c: char) -> bool {
    let c = u32::from(c);
    ranges
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                core::cmp::Ordering::Less
            } else if lo > c {
                core::cmp::Ordering::Greater
            } else {
                core::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Sorts and merges ranges so that they are disjoint and not adjacent.
fn canonical(mut ranges: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// The complement of canonical ranges within all code points.
fn complement(ranges: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut out = Vec::with_capacity(ranges.len() + 1);
    let mut next = 0u32;
    for &(lo, hi) in ranges {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = hi.saturating_add(1);
    }
    if next <= u32::from(char::MAX) {
        out.push((next, u32::from(char::MAX)));
    }
    out
}

/// The single character a case mapping yields, if it yields exactly one.
fn single(mut mapped: impl Iterator<Item = char>) -> Option<char> {
    let c = mapped.next()?;
    mapped.next().is_none().then_some(c)
}

/// The case fold of a character: the lowercase of its uppercase, by Unicode's
/// single-character case mappings (a mapping to several characters is not taken).
/// `k`, `K` and the Kelvin sign fold alike, as do `s`, `S` and `ſ`, or `σ`, `ς`, `Σ`.
pub(crate) fn fold(c: char) -> char {
    let upper = single(c.to_uppercase()).unwrap_or(c);
    single(upper.to_lowercase()).unwrap_or(upper)
}

fn variants(c: char) -> [char; 4] {
    [
        c,
        single(c.to_lowercase()).unwrap_or(c),
        single(c.to_uppercase()).unwrap_or(c),
        fold(c),
    ]
}

struct Parser<'p> {
    pattern: &'p str,
    /// Byte offset of the next character.
    pos: usize,
    depth: u32,
    classes: Vec<Class>,
}

/// What an escape sequence stands for.
enum Escape {
    Char(char),
    Class(Vec<(u32, u32)>),
    Look(Look),
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> Error {
        self.error_at(message, self.pos)
    }

    fn error_at(&self, message: impl Into<String>, at: usize) -> Error {
        Error {
            message: message.into(),
            at,
        }
    }

    fn rest(&self) -> &str {
        self.pattern.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// In verbose mode, skips whitespace and `#` comments.
    fn skip_space(&mut self, flags: Flags) {
        if !flags.verbose {
            return;
        }
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => while !matches!(self.bump(), None | Some('\n')) {},
                _ => return,
            }
        }
    }

    fn class(&mut self, ranges: Vec<(u32, u32)>, negated: bool, fold: bool) -> Node {
        let index = u32::try_from(self.classes.len()).unwrap_or(u32::MAX);
        self.classes.push(Class::new(ranges, negated, fold));
        Node::Class(index)
    }

    /// `a|b|…`; flags set inside carry on to later branches of the same group.
    fn alternation(&mut self, mut flags: Flags) -> Result<Node, Error> {
        let mut branches = vec![self.concat(&mut flags)?];
        while self.eat('|') {
            branches.push(self.concat(&mut flags)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alternation(branches)
        })
    }

    fn concat(&mut self, flags: &mut Flags) -> Result<Node, Error> {
        let mut items: Vec<Node> = Vec::new();
        // Whether the last item may take a repetition operator.
        let mut repeatable = false;
        loop {
            self.skip_space(*flags);
            let start = self.pos;
            let Some(c) = self.peek() else { break };
            let node = match c {
                '|' | ')' => break,
                '*' | '+' | '?' | '{' => {
                    let (min, max) = self.repetition()?;
                    let last = items.pop().filter(|_| repeatable).ok_or_else(|| {
                        self.error_at("repetition operator without an expression", start)
                    })?;
                    self.eat('?'); // lazy: a yes/no answer does not depend on it
                    if matches!(self.peek(), Some('*' | '+' | '?' | '{')) {
                        return Err(self.error("a repetition cannot repeat"));
                    }
                    items.push(Node::Repeat {
                        node: Box::new(last),
                        min,
                        max,
                    });
                    repeatable = false;
                    continue;
                }
                '(' => match self.group(flags)? {
                    Some(node) => node,
                    None => {
                        repeatable = false;
                        continue;
                    }
                },
                '[' => {
                    self.bump();
                    self.bracket_class(*flags, start)?
                }
                '.' => {
                    self.bump();
                    Node::Any {
                        newline: flags.dot_all,
                    }
                }
                '^' => {
                    self.bump();
                    Node::Look(if flags.multi_line {
                        Look::LineStart
                    } else {
                        Look::Start
                    })
                }
                '$' => {
                    self.bump();
                    Node::Look(if flags.multi_line {
                        Look::LineEnd
                    } else {
                        Look::End
                    })
                }
                '\\' => match self.escape(false)? {
                    Escape::Char(c) => literal(c, flags.fold),
                    Escape::Class(ranges) => self.class(ranges, false, false),
                    Escape::Look(look) => Node::Look(look),
                },
                c => {
                    self.bump();
                    literal(c, flags.fold)
                }
            };
            items.push(node);
            repeatable = true;
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    /// `*`, `+`, `?`, `{n}`, `{n,}` or `{n,m}`.
    fn repetition(&mut self) -> Result<(u32, Option<u32>), Error> {
        let start = self.pos;
        match self.bump() {
            Some('*') => return Ok((0, None)),
            Some('+') => return Ok((1, None)),
            Some('?') => return Ok((0, Some(1))),
            _ => {}
        }
        let min = self.decimal(start)?;
        let max = if self.eat(',') {
            if self.peek() == Some('}') {
                None
            } else {
                Some(self.decimal(start)?)
            }
        } else {
            Some(min)
        };
        if !self.eat('}') {
            return Err(self.error_at("unclosed counted repetition `{`", start));
        }
        if max.is_some_and(|max| max < min) {
            return Err(self.error_at(
                "counted repetition with its maximum below its minimum",
                start,
            ));
        }
        Ok((min, max))
    }

    fn decimal(&mut self, start: usize) -> Result<u32, Error> {
        let digits = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        let text = self.rest().get(..digits).unwrap_or_default();
        let n = text
            .parse::<u32>()
            .map_err(|_| self.error_at("counted repetition needs a decimal number", start))?;
        self.pos += digits;
        Ok(n)
    }

    /// A group, or `None` for a flag setting `(?i)` that applies to the rest of the
    /// enclosing group.
    fn group(&mut self, flags: &mut Flags) -> Result<Option<Node>, Error> {
        let open = self.pos;
        self.bump();
        let mut inner = *flags;
        if self.eat('?') {
            if self.eat_str("P<")
                || (self.peek() == Some('<')
                    && !self.rest().starts_with("<=")
                    && !self.rest().starts_with("<!")
                    && self.eat('<'))
            {
                self.group_name(open)?;
            } else if matches!(self.peek(), Some('=' | '!' | '<')) {
                return Err(self.error_at("look-around is not supported", open));
            } else if !self.eat(':') {
                // `(?flags)` or `(?flags:…)`
                if self.flags(&mut inner, open)? {
                    *flags = inner;
                    return Ok(None);
                }
            }
        }
        self.depth += 1;
        if self.depth > NEST_LIMIT {
            return Err(self.error_at(format!("groups nest deeper than {NEST_LIMIT}"), open));
        }
        let node = self.alternation(inner)?;
        self.depth -= 1;
        if !self.eat(')') {
            return Err(self.error_at("unclosed group", open));
        }
        Ok(Some(node))
    }

    fn group_name(&mut self, open: usize) -> Result<(), Error> {
        let name_start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')))
            .unwrap_or(self.rest().len());
        self.pos += len;
        let name_ok = self
            .pattern
            .get(name_start..self.pos)
            .and_then(|n| n.chars().next())
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !name_ok || !self.eat('>') {
            return Err(self.error_at("invalid capture group name", open));
        }
        Ok(())
    }

    /// Parses flags after `(?`, into `flags`; returns whether it was a bare
    /// setting `(?i)` (true) or a group `(?i:…)` (false).
    fn flags(&mut self, flags: &mut Flags, open: usize) -> Result<bool, Error> {
        let mut on = true;
        // Whether the last thing read was a flag (not `(?` or `-`).
        let mut after_flag = false;
        loop {
            let at = self.pos;
            match self.bump() {
                Some(')') if after_flag => return Ok(true),
                Some(':') if after_flag => return Ok(false),
                Some('-') if on => {
                    on = false;
                    after_flag = false;
                    continue;
                }
                Some('i') => flags.fold = on,
                Some('m') => flags.multi_line = on,
                Some('s') => flags.dot_all = on,
                Some('x') => flags.verbose = on,
                // Greediness does not change whether there is a match.
                Some('U') => {}
                // Unicode mode is always on.
                Some('u') if on => {}
                Some('u') => return Err(self.error_at("Unicode mode cannot be turned off", at)),
                Some(c @ (')' | ':' | '-')) => {
                    return Err(self.error_at(format!("expected a flag before `{c}`"), at));
                }
                Some(c) => {
                    return Err(self.error_at(format!("unsupported group flag `{c}`"), at));
                }
                None => return Err(self.error_at("unclosed group", open)),
            }
            after_flag = true;
        }
    }

    /// After a `\`. `in_class` refuses assertions, which mean nothing in a class.
    fn escape(&mut self, in_class: bool) -> Result<Escape, Error> {
        let start = self.pos;
        self.bump();
        let Some(c) = self.bump() else {
            return Err(self.error_at("`\\` at the end of the pattern", start));
        };
        let look = |look| {
            if in_class {
                Err(self.error_at(format!("`\\{c}` is not allowed in a class"), start))
            } else {
                Ok(Escape::Look(look))
            }
        };
        Ok(match c {
            'd' => Escape::Class(tables::DECIMAL.to_vec()),
            'D' => Escape::Class(complement(tables::DECIMAL)),
            'w' => Escape::Class(tables::WORD.to_vec()),
            'W' => Escape::Class(complement(tables::WORD)),
            's' => Escape::Class(WHITESPACE.to_vec()),
            'S' => Escape::Class(complement(WHITESPACE)),
            'b' => look(Look::WordBoundary)?,
            'B' => look(Look::NotWordBoundary)?,
            'A' => look(Look::Start)?,
            'z' => look(Look::End)?,
            'n' => Escape::Char('\n'),
            't' => Escape::Char('\t'),
            'r' => Escape::Char('\r'),
            'f' => Escape::Char('\x0C'),
            'v' => Escape::Char('\x0B'),
            'a' => Escape::Char('\x07'),
            'x' => Escape::Char(self.hex(start, 2)?),
            'u' => Escape::Char(self.hex(start, 4)?),
            'U' => Escape::Char(self.hex(start, 8)?),
            'p' | 'P' => {
                return Err(
                    self.error_at("Unicode property classes (\\p{…}) are not supported", start)
                );
            }
            '1'..='9' => return Err(self.error_at("backreferences are not supported", start)),
            c if c.is_ascii_punctuation() || c == ' ' => match c {
                '<' | '>' => {
                    return Err(self.error_at(format!("`\\{c}` is not supported"), start));
                }
                _ => Escape::Char(c),
            },
            c => return Err(self.error_at(format!("unrecognized escape `\\{c}`"), start)),
        })
    }

    /// `\xHH`, `\uHHHH`, `\UHHHHHHHH` (exactly `digits` hex digits) or `\x{H…}`.
    fn hex(&mut self, start: usize, digits: usize) -> Result<char, Error> {
        let (skip, len) = if self.eat('{') {
            let len = self
                .rest()
                .find('}')
                .ok_or_else(|| self.error_at("unclosed `{` in a hexadecimal escape", start))?;
            (len + 1, len)
        } else {
            let len = self.rest().get(..digits).map_or(0, str::len);
            (len, len)
        };
        let text = self.rest().get(..len).unwrap_or_default();
        let valid = !text.is_empty() && len <= 8 && text.bytes().all(|b| b.is_ascii_hexdigit());
        let code = u32::from_str_radix(text, 16).ok().filter(|_| valid);
        self.pos += skip;
        code.and_then(char::from_u32).ok_or_else(|| {
            self.error_at(
                "invalid hexadecimal escape (not a Unicode scalar value)",
                start,
            )
        })
    }

    /// After `[`: a bracketed class such as `[a-z_]`, `[^\d]` or `[[:alpha:]]`.
    fn bracket_class(&mut self, flags: Flags, open: usize) -> Result<Node, Error> {
        let negated = self.eat('^');
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        let mut first = true;
        loop {
            self.skip_space(flags);
            let at = self.pos;
            let rest = self.rest();
            if rest.is_empty() {
                return Err(self.error_at("unclosed class", open));
            }
            if rest.starts_with(']') && !first {
                self.bump();
                break;
            }
            first = false;
            if rest.starts_with("[:") {
                ranges.extend(self.posix_class()?);
                continue;
            }
            if rest.starts_with('[') {
                return Err(self.error("nested classes are not supported"));
            }
            if ["&&", "--", "~~"].iter().any(|op| rest.starts_with(op)) {
                return Err(self.error("class set operations (`&&`, `--`, `~~`) are not supported"));
            }
            let lo = match self.class_item()? {
                Escape::Char(c) => c,
                Escape::Class(set) => {
                    ranges.extend(set);
                    continue;
                }
                Escape::Look(_) => return Err(self.error_at("an assertion in a class", at)),
            };
            // A range `a-z`, unless the `-` closes the class.
            let rest = self.rest();
            if rest.starts_with('-') && !rest.starts_with("-]") && !rest.starts_with("--") {
                self.bump();
                let hi = match self.class_item()? {
                    Escape::Char(c) => c,
                    _ => return Err(self.error_at("a class range must end in a character", at)),
                };
                if hi < lo {
                    return Err(self.error_at("class range out of order", at));
                }
                ranges.push((u32::from(lo), u32::from(hi)));
            } else {
                ranges.push((u32::from(lo), u32::from(lo)));
            }
        }
        Ok(self.class(canonical(ranges), negated, flags.fold))
    }

    fn class_item(&mut self) -> Result<Escape, Error> {
        if self.peek() == Some('\\') {
            self.escape(true)
        } else {
            let c = self.bump().ok_or_else(|| self.error("unclosed class"))?;
            Ok(Escape::Char(c))
        }
    }

    /// `[:alpha:]` or `[:^alpha:]`, inside a bracketed class: ASCII classes.
    fn posix_class(&mut self) -> Result<Vec<(u32, u32)>, Error> {
        let start = self.pos;
        self.pos += 2;
        let negated = self.eat('^');
        let len = self
            .rest()
            .find(":]")
            .ok_or_else(|| self.error_at("unclosed POSIX class `[:`", start))?;
        let name = self.rest().get(..len).unwrap_or_default();
        let ranges: &[(u32, u32)] = match name {
            "alnum" => &[(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
            "alpha" => &[(0x41, 0x5A), (0x61, 0x7A)],
            "ascii" => &[(0x00, 0x7F)],
            "blank" => &[(0x09, 0x09), (0x20, 0x20)],
            "cntrl" => &[(0x00, 0x1F), (0x7F, 0x7F)],
            "digit" => &[(0x30, 0x39)],
            "graph" => &[(0x21, 0x7E)],
            "lower" => &[(0x61, 0x7A)],
            "print" => &[(0x20, 0x7E)],
            "punct" => &[(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
            "space" => &[(0x09, 0x0D), (0x20, 0x20)],
            "upper" => &[(0x41, 0x5A)],
            "word" => &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
            "xdigit" => &[(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
            _ => return Err(self.error_at(format!("unknown POSIX class `{name}`"), start)),
        };
        self.pos += len + 2;
        Ok(if negated {
            complement(ranges)
        } else {
            ranges.to_vec()
        })
    }
}

/// `\s`: White_Space, the property `char::is_whitespace` implements (a unit test
/// holds the two together).
const WHITESPACE: &[(u32, u32)] = &[
    (0x09, 0x0D),
    (0x20, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
];

fn literal(c: char, fold_case: bool) -> Node {
    if fold_case && variants(c).iter().any(|&v| v != c) {
        Node::Fold(fold(c))
    } else {
        Node::Char(c)
    }
}

// ---------------------------------------------------------------------------------
// Compiling

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inst {
    Char(char),
    Fold(char),
    Class(u32),
    Any,
    AnyButNewline,
    Look(Look),
    /// Try both; the order does not matter for a yes/no answer.
    Split(u32, u32),
    Jump(u32),
    Match,
}

struct Compiler {
    program: Vec<Inst>,
    max_insts: usize,
    max_bytes: usize,
}

impl Compiler {
    fn next(&self) -> u32 {
        u32::try_from(self.program.len()).unwrap_or(u32::MAX)
    }

    fn emit(&mut self, inst: Inst) -> Result<u32, Error> {
        if self.program.len() >= self.max_insts {
            return Err(Error {
                message: format!("compiled form over the limit of {} bytes", self.max_bytes),
                at: 0,
            });
        }
        let at = self.next();
        self.program.push(inst);
        Ok(at)
    }

    fn patch(&mut self, at: u32, inst: Inst) {
        if let Some(slot) = self.program.get_mut(at as usize) {
            *slot = inst;
        }
    }

    fn node(&mut self, node: &Node) -> Result<(), Error> {
        match node {
            Node::Empty => {}
            Node::Char(c) => {
                self.emit(Inst::Char(*c))?;
            }
            Node::Fold(c) => {
                self.emit(Inst::Fold(*c))?;
            }
            Node::Class(i) => {
                self.emit(Inst::Class(*i))?;
            }
            Node::Any { newline: true } => {
                self.emit(Inst::Any)?;
            }
            Node::Any { newline: false } => {
                self.emit(Inst::AnyButNewline)?;
            }
            Node::Look(look) => {
                self.emit(Inst::Look(*look))?;
            }
            Node::Concat(items) => {
                for item in items {
                    self.node(item)?;
                }
            }
            Node::Alternation(branches) => {
                let mut jumps = Vec::new();
                let (last, init) = branches.split_last().unwrap_or((&Node::Empty, &[]));
                for branch in init {
                    let split = self.emit(Inst::Split(0, 0))?;
                    self.node(branch)?;
                    jumps.push(self.emit(Inst::Jump(0))?);
                    self.patch(split, Inst::Split(split + 1, self.next()));
                }
                self.node(last)?;
                let end = self.next();
                for jump in jumps {
                    self.patch(jump, Inst::Jump(end));
                }
            }
            Node::Repeat { node, min, max } => self.repeat(node, *min, *max)?,
        }
        Ok(())
    }

    fn repeat(&mut self, node: &Node, min: u32, max: Option<u32>) -> Result<(), Error> {
        // Repeating what compiles to nothing is nothing (and must not loop
        // billions of times for `(){4000000000}`).
        if node.compiles_to_nothing() {
            return Ok(());
        }
        let mut last_start = None;
        for _ in 0..min {
            last_start = Some(self.next());
            self.node(node)?;
        }
        match max {
            None => match last_start {
                // `e+`: loop back over the last copy.
                Some(start) => {
                    self.emit(Inst::Split(start, self.next() + 1))?;
                }
                // `e*`
                None => {
                    let split = self.emit(Inst::Split(0, 0))?;
                    self.node(node)?;
                    self.emit(Inst::Jump(split))?;
                    self.patch(split, Inst::Split(split + 1, self.next()));
                }
            },
            Some(max) => {
                // `e{min,max}`: the optional copies each skip to the end.
                let mut splits = Vec::new();
                for _ in min..max {
                    splits.push(self.emit(Inst::Split(0, 0))?);
                    self.node(node)?;
                }
                let end = self.next();
                for split in splits {
                    self.patch(split, Inst::Split(split + 1, end));
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Matching

/// A Pike VM: all threads advance together, one input character at a time, so the
/// work is bounded by (program size × input length).
struct Vm<'r> {
    re: &'r Regex,
    /// The step at which each instruction was last added (deduplicates threads).
    seen: Vec<usize>,
    step: usize,
    /// Threads at the current position, waiting on a character.
    threads: Vec<u32>,
    stack: Vec<u32>,
}

impl<'r> Vm<'r> {
    fn new(re: &'r Regex) -> Self {
        Self {
            re,
            seen: vec![0; re.program.len()],
            step: 0,
            threads: Vec::new(),
            stack: Vec::new(),
        }
    }

    fn run(mut self, text: &str) -> bool {
        let mut chars = text.chars();
        let mut before = None;
        let mut current = chars.next();
        let mut seeds: Vec<u32> = Vec::new();
        loop {
            self.step += 1;
            self.threads.clear();
            if !self.re.anchored || before.is_none() {
                seeds.push(0);
            }
            for &pc in &seeds {
                if self.add(pc, before, current) {
                    return true;
                }
            }
            seeds.clear();
            let Some(c) = current else { return false };
            let folded = if self.re.folds { fold(c) } else { c };
            for &pc in &self.threads {
                let advances = self.re.consumes(pc, c, folded);
                if advances {
                    seeds.push(pc + 1);
                }
            }
            if seeds.is_empty() && self.re.anchored {
                return false;
            }
            before = Some(c);
            current = chars.next();
        }
    }

    /// Follows empty transitions from `pc`; true when they reach a match.
    fn add(&mut self, pc: u32, before: Option<char>, after: Option<char>) -> bool {
        self.stack.push(pc);
        while let Some(pc) = self.stack.pop() {
            match self.seen.get_mut(pc as usize) {
                Some(seen) if *seen != self.step => *seen = self.step,
                _ => continue,
            }
            match self.re.program.get(pc as usize) {
                Some(Inst::Match) => {
                    self.stack.clear();
                    return true;
                }
                Some(Inst::Jump(to)) => self.stack.push(*to),
                Some(Inst::Split(a, b)) => {
                    self.stack.push(*b);
                    self.stack.push(*a);
                }
                Some(Inst::Look(look)) if look.holds(before, after) => self.stack.push(pc + 1),
                Some(Inst::Look(_)) | None => {}
                Some(_) => self.threads.push(pc),
            }
        }
        false
    }
}
