//! Regular expressions for the `matches` operator: a parser for the RE2 syntax that
//! `docs/snapshot-format.md` specifies, a Thompson compiler, and a Pike VM that answers
//! "is there a match anywhere?" in time linear in the input (no backtracking).
//!
//! The engine carries its own because every runtime ships it to the edge and to
//! browsers: the `regex` crate's compiler, meta engine and Unicode tables were over
//! half of the engine's WebAssembly, and `regex-lite` needs `std`. Only a yes/no
//! answer is ever needed, so there are no capture groups and greediness changes
//! nothing; the dialect keeps the `regex` crate's meaning for everything it accepts,
//! and refuses (with the byte offset) what it does not support.

use alloc::{boxed::Box, format, string::String, vec, vec::Vec};
use core::fmt;

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
        Ok(Self {
            program: compiler.program.into_boxed_slice(),
            classes: parser.classes.into_boxed_slice(),
            anchored,
        })
    }

    /// Whether the pattern matches anywhere in `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        Vm::new(self).run(text)
    }
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
}

impl Class {
    fn matches(&self, c: char) -> bool {
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
        self.classes.push(Class {
            ranges,
            negated,
            fold,
        });
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
            for &pc in &self.threads {
                let advances = match self.re.program.get(pc as usize) {
                    Some(Inst::Char(x)) => *x == c,
                    Some(Inst::Fold(x)) => *x == fold(c),
                    Some(Inst::Class(i)) => self
                        .re
                        .classes
                        .get(*i as usize)
                        .is_some_and(|class| class.matches(c)),
                    Some(Inst::Any) => true,
                    Some(Inst::AnyButNewline) => c != '\n',
                    _ => false,
                };
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
