//! Matching: the Pike VM every program can run on, and for small programs the
//! precomputed closures and ASCII automaton that [`super::Strategy`] picks instead.
//! Every one of them advances all threads together, one character at a time, so the
//! work is bounded by (program size × input length): there is no backtracking.

use alloc::{boxed::Box, vec, vec::Vec};
use core::str::Chars;

use super::{Regex, compile::Inst, parse::Look, tables};

impl Look {
    /// Whether the assertion holds at a position, given what surrounds it.
    fn holds(self, at: &At) -> bool {
        match self {
            Self::Start => at.before.is_none(),
            Self::End => at.after.is_none(),
            Self::StartLine => matches!(at.before, None | Some('\n')),
            Self::EndLine => matches!(at.after, None | Some('\n')),
            Self::StartLineCrlf => match at.before {
                None | Some('\n') => true,
                Some('\r') => at.after != Some('\n'),
                Some(_) => false,
            },
            Self::EndLineCrlf => match at.after {
                None | Some('\r') => true,
                Some('\n') => at.before != Some('\r'),
                Some(_) => false,
            },
            Self::Word => at.word_before != at.word_after,
            Self::NotWord => at.word_before == at.word_after,
            Self::WordStart => !at.word_before && at.word_after,
            Self::WordEnd => at.word_before && !at.word_after,
            Self::WordStartHalf => !at.word_before,
            Self::WordEndHalf => !at.word_after,
        }
    }
}

/// A position in the input: the characters around it, and whether they are word
/// characters (computed once per position, for the word assertions).
#[derive(Debug, Clone, Copy)]
pub(super) struct At {
    before: Option<char>,
    after: Option<char>,
    word_before: bool,
    word_after: bool,
}

impl At {
    /// `words`: whether the program has word assertions (else they are not computed).
    fn new(before: Option<char>, after: Option<char>, words: bool) -> Self {
        Self {
            before,
            after,
            word_before: words && is_word(before),
            word_after: words && is_word(after),
        }
    }

    /// The position one character on, where `after` follows.
    fn advance(&self, after: Option<char>, words: bool) -> Self {
        Self {
            before: self.after,
            after,
            word_before: self.word_after,
            word_after: words && is_word(after),
        }
    }
}

/// Whether `c` is a `\w` character.
fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| {
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '_'
        } else {
            super::class::contains(tables::WORD, u32::from(c))
        }
    })
}

impl Regex {
    /// The ASCII characters an instruction consumes, as bits.
    fn ascii_consumed_by(&self, inst: &Inst) -> u128 {
        match inst {
            Inst::Char(c, _) if c.is_ascii() => 1 << u32::from(*c),
            Inst::Class(i, _) => self.classes.get(*i as usize).map_or(0, |class| class.ascii),
            _ => 0,
        }
    }

    /// Where a consuming instruction goes on.
    fn after(&self, pc: u32) -> u32 {
        match self.program.get(pc as usize) {
            Some(Inst::Char(_, next) | Inst::Class(_, next)) => *next,
            _ => u32::MAX,
        }
    }
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

fn union(into: &mut Bits, from: &Bits, words: usize) {
    for (a, b) in into.iter_mut().zip(from).take(words) {
        *a |= b;
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

/// Precomputed empty-transition closures, for programs of at most [`Closures::MAX`]
/// instructions with no assertions but `\A`/`^` and `\z`/`$` (outside multi-line mode):
/// matching is bit-set arithmetic with no allocation.
#[derive(Debug, Clone)]
pub(super) struct Closures {
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
    /// For each class, the instructions that test it; and the instructions that
    /// compare to a non-ASCII character (with it): for the characters outside ASCII.
    class_users: Box<[Bits]>,
    wide_chars: Box<[(char, u32)]>,
    pub(super) dfa: Option<Dfa>,
}

impl Closures {
    pub(super) const MAX: usize = 256;

    pub(super) fn new(re: &Regex) -> Option<Self> {
        let n = re.program.len();
        let simple = re.program.iter().all(
            |inst| !matches!(inst, Inst::Look(look, _) if !matches!(look, Look::Start | Look::End)),
        );
        if n > Self::MAX || !simple {
            return None;
        }
        // With only `\A` and `\z`, the characters around a position do not matter,
        // only whether there are any.
        let some = Some('a');
        let (inside, first, end, empty) = (
            At::new(some, some, false),
            At::new(None, some, false),
            At::new(some, None, false),
            At::new(None, None, false),
        );
        let mut stack = Vec::new();
        let mut reach = Vec::with_capacity(n);
        let mut accepts_inside = Bits::default();
        let mut accepts_at_end = Bits::default();
        for pc in 0..u32::try_from(n).ok()? {
            let (set, accepts) = closure(re, pc, &inside, &mut stack);
            reach.push(set);
            if accepts {
                set_bit(&mut accepts_inside, pc);
            }
            if closure(re, pc, &end, &mut stack).1 {
                set_bit(&mut accepts_at_end, pc);
            }
        }
        let (first, first_accepts) = closure(re, 0, &first, &mut stack);
        let words = n.div_ceil(64);
        let mut ascii = vec![0u64; 128 * words];
        let mut class_users = vec![Bits::default(); re.classes.len()];
        let mut wide_chars = Vec::new();
        for (pc, inst) in (0u32..).zip(re.program.iter()) {
            let mut consumed = re.ascii_consumed_by(inst);
            while consumed != 0 {
                let b = consumed.trailing_zeros();
                consumed &= consumed - 1;
                if let Some(word) = ascii.get_mut(b as usize * words + (pc / 64) as usize) {
                    *word |= 1 << (pc % 64);
                }
            }
            match inst {
                Inst::Class(i, _) => {
                    if let Some(users) = class_users.get_mut(*i as usize) {
                        set_bit(users, pc);
                    }
                }
                Inst::Char(c, _) if !c.is_ascii() => wide_chars.push((*c, pc)),
                _ => {}
            }
        }
        let mut closures = Self {
            reach: reach.into_boxed_slice(),
            accepts_inside,
            accepts_at_end,
            first,
            first_accepts,
            empty_accepts: closure(re, 0, &empty, &mut stack).1,
            words,
            ascii: ascii.into_boxed_slice(),
            class_users: class_users.into_boxed_slice(),
            wide_chars: wide_chars.into_boxed_slice(),
            dfa: None,
        };
        closures.dfa = Dfa::new(&closures, re);
        Some(closures)
    }

    // Inlined into `Regex::is_match`: most patterns take this path, and a call costs
    // a tenth of a short match.
    #[inline]
    pub(super) fn run(&self, re: &Regex, text: &str) -> bool {
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

    /// The instructions that consume `c`.
    fn consumers(&self, re: &Regex, c: char) -> Bits {
        let mut consumers = Bits::default();
        if c.is_ascii() {
            let row = self.ascii.chunks(self.words.max(1)).nth(c as usize);
            for (out, word) in consumers.iter_mut().zip(row.into_iter().flatten()) {
                *out = *word;
            }
            return consumers;
        }
        for (class, users) in re.classes.iter().zip(self.class_users.iter()) {
            if class.matches(c) {
                union(&mut consumers, users, self.words);
            }
        }
        for &(_, pc) in self.wide_chars.iter().filter(|(x, _)| *x == c) {
            set_bit(&mut consumers, pc);
        }
        consumers
    }

    /// Advances `threads` over `c`.
    fn step(&self, re: &Regex, threads: &Bits, c: char) -> Step {
        let mut consumed = self.consumers(re, c);
        for (out, thread) in consumed.iter_mut().zip(threads) {
            *out &= thread;
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
            follow(re.after(pc), &mut step);
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

/// A deterministic automaton over ASCII, built at compile time from [`Closures`]
/// when it stays small: one table lookup per character. A non-ASCII character
/// hands over to the bit-set simulation, from the state's set of threads.
#[derive(Debug, Clone)]
pub(super) struct Dfa {
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

    #[inline]
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

/// The consuming instructions reached from `pc` by empty transitions at a position,
/// and whether the match is reached.
fn closure(re: &Regex, pc: u32, at: &At, stack: &mut Vec<u32>) -> (Bits, bool) {
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
            Some(Inst::Look(look, next)) if look.holds(at) => stack.push(*next),
            Some(Inst::Look(..)) | None => {}
            Some(_) => set_bit(&mut consuming, pc),
        }
    }
    (consuming, accepts)
}

/// A Pike VM: all threads advance together, one input character at a time, so the
/// work is bounded by (program size × input length).
pub(super) struct Vm<'r> {
    re: &'r Regex,
    /// The step at which each instruction was last added (deduplicates threads).
    seen: Vec<u32>,
    step: u32,
    /// Threads waiting on the next character: the consuming instruction, decoded.
    next: Vec<Inst>,
    stack: Vec<u32>,
    /// Per class, the step at which it was last tested against a non-ASCII character,
    /// and the answer: a class that many threads test is searched once per character.
    memo: Vec<(u32, bool)>,
}

impl<'r> Vm<'r> {
    pub(super) fn new(re: &'r Regex) -> Self {
        // Each instruction is added at most once a step, so these never grow.
        let n = re.program.len();
        Self {
            re,
            seen: vec![0; n],
            step: 0,
            next: Vec::with_capacity(n),
            stack: Vec::with_capacity(n),
            memo: vec![(0, false); re.classes.len()],
        }
    }

    pub(super) fn run(mut self, text: &str) -> bool {
        let mut chars = text.chars();
        let mut at = At::new(None, chars.next(), self.re.words);
        self.step = 1;
        if self.add(0, &at) {
            return true;
        }
        let mut threads = Vec::with_capacity(self.seen.len());
        while let Some(c) = at.after {
            at = at.advance(chars.next(), self.re.words);
            core::mem::swap(&mut threads, &mut self.next);
            self.step += 1;
            self.next.clear();
            for thread in &threads {
                let next = match *thread {
                    Inst::Char(x, next) if x == c => next,
                    Inst::Class(i, next) if self.in_class(i, c) => next,
                    _ => continue,
                };
                let fresh = self.seen.get(next as usize) != Some(&self.step);
                if fresh && self.add(next, &at) {
                    return true;
                }
            }
            // A match may also start after `c`.
            if !self.re.anchored && self.add(0, &at) {
                return true;
            }
            if self.next.is_empty() && self.re.anchored {
                return false;
            }
        }
        false
    }

    fn in_class(&mut self, i: u32, c: char) -> bool {
        let Some(class) = self.re.classes.get(i as usize) else {
            return false;
        };
        if c.is_ascii() {
            return class.ascii & 1 << u32::from(c) != 0;
        }
        match self.memo.get_mut(i as usize) {
            Some(memo) => {
                if memo.0 != self.step {
                    *memo = (self.step, class.matches(c));
                }
                memo.1
            }
            None => false,
        }
    }

    /// Follows empty transitions from `pc`, adding the consuming instructions reached
    /// to the next threads; true when they reach the match.
    #[inline(always)]
    fn add(&mut self, mut pc: u32, at: &At) -> bool {
        loop {
            let fresh = match self.seen.get_mut(pc as usize) {
                Some(seen) if *seen != self.step => {
                    *seen = self.step;
                    true
                }
                _ => false,
            };
            if fresh {
                match self.re.program.get(pc as usize) {
                    Some(Inst::Split(a, b)) => {
                        // The optional copies of a repetition all skip to its end:
                        // push it once.
                        if self.seen.get(*b as usize) != Some(&self.step) {
                            self.stack.push(*b);
                        }
                        pc = *a;
                        continue;
                    }
                    Some(Inst::Jump(to)) => {
                        pc = *to;
                        continue;
                    }
                    Some(Inst::Look(look, next)) if look.holds(at) => {
                        pc = *next;
                        continue;
                    }
                    Some(Inst::Match) => {
                        self.stack.clear();
                        return true;
                    }
                    Some(inst @ (Inst::Char(..) | Inst::Class(..))) => self.next.push(*inst),
                    Some(Inst::Look(..)) | None => {}
                }
            }
            match self.stack.pop() {
                Some(next) => pc = next,
                None => return false,
            }
        }
    }
}
