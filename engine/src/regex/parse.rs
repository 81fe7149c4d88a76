//! The parser: the `regex` crate's syntax (as `regex-syntax` 0.8 reads it, Unicode mode),
//! read into a [`Node`] tree with flags already applied, so that compiling never looks
//! at flags again.
//!
//! It follows `regex-syntax`'s parser step by step where that decides what is accepted:
//! where whitespace may appear (`a{ 2 }` anywhere, and more in `(?x)` mode), stacked
//! repetitions (`a**`), `\b{start}`, superfluous escapes, classes with nested classes and
//! set operations, ASCII classes that fall back to nested classes, flag and group-name
//! rules, and the nesting limit counted as that crate counts it. The differences it keeps
//! are few and listed in `docs/snapshot-format.md`: Unicode property classes
//! (`\p{…}`), turning Unicode mode off (`(?-u)`), and the size limits.

use alloc::{boxed::Box, format, string::String, vec::Vec};

use super::{
    Error,
    class::{self, Class, Range},
    tables,
};

mod bracket;

/// How deeply the syntax tree may nest, counted as `regex-syntax` counts it (its default
/// limit): groups, repetitions, alternations, concatenations of two or more items,
/// classes, unions of two or more class items and class set operations each add a level.
pub(super) const NEST_LIMIT: u32 = 250;

/// The parsed pattern.
#[derive(Debug)]
pub(super) enum Node {
    Empty,
    Char(char),
    /// Index into [`Parsed::classes`].
    Class(u32),
    Look(Look),
    Concat(Vec<Node>),
    Alternation(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

/// Assertions: what must hold between the characters before and after a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Look {
    /// `\A`, or `^` outside multi-line mode.
    Start,
    /// `\z`, or `$` outside multi-line mode.
    End,
    /// `^` and `$` in multi-line mode.
    StartLine,
    EndLine,
    /// `^` and `$` in multi-line CRLF mode (`(?mR)`).
    StartLineCrlf,
    EndLineCrlf,
    /// `\b`, `\B`.
    Word,
    NotWord,
    /// `\b{start}` or `\<`, `\b{end}` or `\>`, `\b{start-half}`, `\b{end-half}`.
    WordStart,
    WordEnd,
    WordStartHalf,
    WordEndHalf,
}

/// A pattern read into a tree and its distinct classes.
#[derive(Debug)]
pub(super) struct Parsed {
    pub(super) node: Node,
    pub(super) classes: Vec<Class>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    /// `i`: case-insensitive.
    fold: bool,
    /// `m`: `^` and `$` match at line starts and ends too.
    multi_line: bool,
    /// `s`: `.` matches `\n` too.
    dot_all: bool,
    /// `R`: lines end in `\r\n` or `\n`, and `.` matches neither `\r` nor `\n`.
    crlf: bool,
    /// `x`: whitespace and `#` comments in the pattern are ignored.
    verbose: bool,
}

/// What an escape sequence stands for.
enum Escape {
    Char(char),
    Class(Vec<Range>),
    Look(Look),
}

/// An item of a concatenation: a node, or a flag setting such as `(?i)` (which takes a
/// place there, as in `regex-syntax`: it cannot be repeated, and it counts towards
/// nesting), with its nesting depth.
type Item = (Option<Node>, u32);

/// Reads `pattern`; `fold` starts it case-insensitive, as `(?i)` would.
pub(super) fn parse(pattern: &str, fold: bool) -> Result<Parsed, Error> {
    let mut parser = Parser {
        pattern,
        pos: 0,
        classes: Vec::new(),
        names: Vec::new(),
    };
    let flags = Flags {
        fold,
        ..Flags::default()
    };
    let (node, _) = parser.tree(flags)?;
    if parser.peek().is_some() {
        return Err(parser.error("unopened group: `)` without `(`"));
    }
    Ok(Parsed {
        node,
        classes: parser.classes,
    })
}

struct Parser<'p> {
    pattern: &'p str,
    /// Byte offset of the next character.
    pos: usize,
    classes: Vec<Class>,
    /// Capture group names seen so far.
    names: Vec<&'p str>,
}

impl<'p> Parser<'p> {
    fn error(&self, message: impl Into<String>) -> Error {
        self.error_at(message, self.pos)
    }

    fn error_at(&self, message: impl Into<String>, at: usize) -> Error {
        Error {
            message: message.into(),
            at,
        }
    }

    fn rest(&self) -> &'p str {
        self.pattern.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// The character after the next one.
    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.pos += c.len_utf8();
        }
        found
    }

    fn eat_str(&mut self, s: &str) -> bool {
        let found = self.rest().starts_with(s);
        if found {
            self.pos += s.len();
        }
        found
    }

    /// In verbose mode, skips whitespace and `#` comments.
    fn skip_space(&mut self, flags: Flags) {
        if !flags.verbose {
            return;
        }
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => self.pos += c.len_utf8(),
                Some('#') => while !matches!(self.bump(), None | Some('\n')) {},
                _ => return,
            }
        }
    }

    /// Steps over the next character, then (in verbose mode) over whitespace; false at
    /// the end of the pattern.
    fn bump_space(&mut self, flags: Flags) -> bool {
        self.bump();
        self.skip_space(flags);
        self.peek().is_some()
    }

    /// The character after the next one, skipping whitespace in verbose mode, as
    /// `regex-syntax` looks ahead (it steps over at most one `#`, not over a comment).
    fn peek_space(&self, flags: Flags) -> Option<char> {
        if !flags.verbose {
            return self.peek2();
        }
        let mut comment = false;
        for c in self.rest().chars().skip(1) {
            if c.is_whitespace() {
                continue;
            }
            if !comment && c == '#' {
                comment = true;
                continue;
            }
            return Some(c);
        }
        None
    }

    /// Refuses a construct nested deeper than [`NEST_LIMIT`].
    fn nest(&self, depth: u32, at: usize) -> Result<u32, Error> {
        if depth > NEST_LIMIT {
            return Err(self.error_at(format!("nested deeper than {NEST_LIMIT} levels"), at));
        }
        Ok(depth)
    }

    /// The whole pattern: groups, alternations and concatenations, read with a stack
    /// on the heap (so that deep nesting cannot exhaust the call stack). Flags set inside
    /// a group carry on to its later branches, and end with it.
    fn tree(&mut self, mut flags: Flags) -> Result<(Node, u32), Error> {
        let mut open: Vec<Frame> = Vec::new();
        let mut group = Group::new(self.pos);
        let mut concat = Concat::new(self.pos);
        loop {
            self.skip_space(flags);
            match self.peek() {
                None => break,
                Some('|') => {
                    self.bump();
                    group.push(concat.finish(self)?);
                    concat = Concat::new(self.pos);
                }
                Some(')') => {
                    // At the top level, the caller reports the unopened group.
                    let Some(frame) = open.pop() else { break };
                    self.bump();
                    group.push(concat.finish(self)?);
                    let (node, depth) = group.finish(self)?;
                    let depth = self.nest(depth + 1, frame.at)?;
                    (flags, group, concat) = (frame.flags, frame.group, frame.concat);
                    concat.items.push((Some(node), depth));
                }
                Some('(') => match self.group_open(&mut flags)? {
                    None => concat.items.push((None, 0)),
                    Some((inner, at)) => {
                        open.push(Frame {
                            at,
                            flags,
                            group: core::mem::replace(&mut group, Group::new(self.pos)),
                            concat: core::mem::replace(&mut concat, Concat::new(self.pos)),
                        });
                        self.nest(u32::try_from(open.len()).unwrap_or(u32::MAX), at)?;
                        flags = inner;
                    }
                },
                Some('?' | '*' | '+' | '{') => self.repetition(&mut concat.items, flags)?,
                Some('[') => {
                    let (ranges, depth) = self.bracket_class(flags)?;
                    let node = self.class(ranges);
                    concat.items.push((Some(node), depth));
                }
                Some(_) => {
                    let node = self.primitive(flags)?;
                    concat.items.push((Some(node), 0));
                }
            }
        }
        if let Some(frame) = open.pop() {
            return Err(self.error_at("unclosed group", frame.at));
        }
        group.push(concat.finish(self)?);
        group.finish(self)
    }

    /// `?`, `*`, `+` or `{…}` (maybe lazy: a yes/no answer does not depend on it) on
    /// the last item of `items`. Repetitions may repeat (`a**`, `x{2}{3}`).
    fn repetition(&mut self, items: &mut Vec<Item>, flags: Flags) -> Result<(), Error> {
        let start = self.pos;
        let Some((Some(node), depth)) = items.pop() else {
            return Err(self.error("repetition operator without an expression"));
        };
        let (min, max) = match self.peek() {
            Some('{') => self.counted(flags)?,
            op => {
                self.bump();
                self.eat('?');
                match op {
                    Some('?') => (0, Some(1)),
                    Some('*') => (0, None),
                    _ => (1, None),
                }
            }
        };
        let node = Node::Repeat {
            node: Box::new(node),
            min,
            max,
        };
        items.push((Some(node), self.nest(depth + 1, start)?));
        Ok(())
    }

    /// `{n}`, `{n,}` or `{n,m}`, and a lazy `?`, with whitespace around the numbers.
    fn counted(&mut self, flags: Flags) -> Result<(u32, Option<u32>), Error> {
        let start = self.pos;
        let unclosed = |p: &Self| p.error_at("unclosed counted repetition `{`", start);
        if !self.bump_space(flags) {
            return Err(unclosed(self));
        }
        let min = self.decimal(flags);
        let range = match self.peek() {
            None => return Err(unclosed(self)),
            Some(',') => {
                if !self.bump_space(flags) {
                    return Err(unclosed(self));
                }
                if self.peek() == Some('}') {
                    (self.count(min, start)?, None)
                } else {
                    let min = self.count(min, start)?;
                    let max = self.decimal(flags);
                    (min, Some(self.count(max, start)?))
                }
            }
            Some(_) => {
                let n = self.count(min, start)?;
                (n, Some(n))
            }
        };
        if self.peek() != Some('}') {
            return Err(unclosed(self));
        }
        if self.bump_space(flags) {
            self.eat('?');
        }
        if range.1.is_some_and(|max| max < range.0) {
            return Err(self.error_at(
                "counted repetition with its maximum below its minimum",
                start,
            ));
        }
        Ok(range)
    }

    fn count(&self, n: Option<Option<u32>>, start: usize) -> Result<u32, Error> {
        match n {
            Some(Some(n)) => Ok(n),
            Some(None) => Err(self.error_at("counted repetition over 4294967295", start)),
            None => Err(self.error_at("counted repetition needs a decimal number", start)),
        }
    }

    /// Digits with whitespace around them (and between them in verbose mode): `None`
    /// without digits, `Some(None)` when the number does not fit 32 bits.
    fn decimal(&mut self, flags: Flags) -> Option<Option<u32>> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let mut value: Option<u32> = Some(0);
        let mut digits = false;
        while let Some(digit) = self.peek().and_then(|c| c.to_digit(10)) {
            digits = true;
            value = value
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(digit));
            self.bump_space(flags);
        }
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump_space(flags);
        }
        digits.then_some(value)
    }

    /// At `(`: the flags inside a group and where it opens, or `None` for a flag
    /// setting `(?i)` (which applies to the rest of the enclosing group: `flags` takes
    /// it on).
    fn group_open(&mut self, flags: &mut Flags) -> Result<Option<(Flags, usize)>, Error> {
        let open = self.pos;
        self.bump();
        self.skip_space(*flags);
        if ["?=", "?!", "?<=", "?<!"]
            .iter()
            .any(|prefix| self.rest().starts_with(prefix))
        {
            return Err(self.error_at("look-around is not supported", open));
        }
        let mut inner = *flags;
        if self.eat_str("?P<") || self.eat_str("?<") {
            self.group_name()?;
        } else if self.eat('?') {
            if self.peek().is_none() {
                return Err(self.error_at("unclosed group", open));
            }
            if self.flags(&mut inner)? {
                *flags = inner;
                return Ok(None);
            }
        }
        Ok(Some((inner, open)))
    }

    /// After `(?P<` or `(?<`: a name of letters, digits, `_`, `.`, `[` and `]` that
    /// starts with a letter or `_`, then `>`. Names are unique.
    fn group_name(&mut self) -> Result<(), Error> {
        let start = self.pos;
        while let Some(c) = self.peek().filter(|&c| c != '>') {
            let allowed = if self.pos == start {
                c == '_' || c.is_alphabetic()
            } else {
                matches!(c, '_' | '.' | '[' | ']') || c.is_alphanumeric()
            };
            if !allowed {
                return Err(self.error("invalid character in a capture group name"));
            }
            self.bump();
        }
        let name = self.pattern.get(start..self.pos).unwrap_or_default();
        if !self.eat('>') {
            return Err(self.error("unclosed capture group name"));
        }
        if name.is_empty() {
            return Err(self.error_at("empty capture group name", start));
        }
        if self.names.contains(&name) {
            return Err(self.error_at(format!("duplicate capture group name `{name}`"), start));
        }
        self.names.push(name);
        Ok(())
    }

    /// Flags after `(?`, into `flags`: true for a setting `(?i)`, false for a group
    /// `(?i:…)`. A flag may appear once, `-` once and not last, and a setting needs one.
    fn flags(&mut self, flags: &mut Flags) -> Result<bool, Error> {
        let mut seen = String::new();
        let mut on = true;
        let mut dangling = None;
        loop {
            let at = self.pos;
            match self.bump() {
                None => return Err(self.error("unclosed group flags")),
                Some(end @ (')' | ':')) => {
                    if let Some(at) = dangling {
                        return Err(self.error_at("`-` must be followed by a flag", at));
                    }
                    if end == ')' && seen.is_empty() {
                        return Err(self.error_at("expected a flag", at));
                    }
                    return Ok(end == ')');
                }
                Some(c) if seen.contains(c) => {
                    return Err(self.error_at(format!("flag `{c}` repeated"), at));
                }
                Some('-') => {
                    on = false;
                    dangling = Some(at);
                }
                Some(c) => {
                    match c {
                        'i' => flags.fold = on,
                        'm' => flags.multi_line = on,
                        's' => flags.dot_all = on,
                        'R' => flags.crlf = on,
                        'x' => flags.verbose = on,
                        // Greediness does not change whether there is a match.
                        'U' => {}
                        'u' if on => {}
                        'u' => {
                            return Err(self.error_at("Unicode mode cannot be turned off", at));
                        }
                        _ => return Err(self.error_at(format!("unknown flag `{c}`"), at)),
                    }
                    dangling = None;
                }
            }
            if let Some(c) = self.pattern.get(at..self.pos) {
                seen.push_str(c);
            }
        }
    }

    /// A literal, `.`, `^`, `$` or an escape, outside classes.
    fn primitive(&mut self, flags: Flags) -> Result<Node, Error> {
        if self.peek() == Some('\\') {
            return Ok(match self.escape(flags)? {
                Escape::Char(c) => self.literal(c, flags),
                Escape::Class(ranges) => self.class(ranges),
                Escape::Look(look) => Node::Look(look),
            });
        }
        let Some(c) = self.bump() else {
            return Ok(Node::Empty);
        };
        Ok(match c {
            '.' => {
                let newlines: &[Range] = match (flags.dot_all, flags.crlf) {
                    (true, _) => &[],
                    (false, false) => &[(0x0A, 0x0A)],
                    (false, true) => &[(0x0A, 0x0A), (0x0D, 0x0D)],
                };
                self.class(class::complement(newlines))
            }
            '^' => Node::Look(match (flags.multi_line, flags.crlf) {
                (false, _) => Look::Start,
                (true, false) => Look::StartLine,
                (true, true) => Look::StartLineCrlf,
            }),
            '$' => Node::Look(match (flags.multi_line, flags.crlf) {
                (false, _) => Look::End,
                (true, false) => Look::EndLine,
                (true, true) => Look::EndLineCrlf,
            }),
            c => self.literal(c, flags),
        })
    }

    /// A character; case-insensitively, the class of its case variants (if it has any).
    fn literal(&mut self, c: char, flags: Flags) -> Node {
        if flags.fold {
            let variants = class::case_fold(&[(u32::from(c), u32::from(c))]);
            if variants.len() > 1 || variants.first().is_some_and(|&(lo, hi)| lo != hi) {
                return self.class(variants);
            }
        }
        Node::Char(c)
    }

    /// A class node; equal classes share one entry.
    fn class(&mut self, ranges: Vec<Range>) -> Node {
        let class = Class::new(ranges);
        let index = match self.classes.iter().position(|c| *c == class) {
            Some(index) => index,
            None => {
                self.classes.push(class);
                self.classes.len() - 1
            }
        };
        Node::Class(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// After a `\`, in a class or not.
    fn escape(&mut self, flags: Flags) -> Result<Escape, Error> {
        let start = self.pos;
        self.bump();
        let Some(c) = self.peek() else {
            return Err(self.error_at("`\\` at the end of the pattern", start));
        };
        match c {
            '0'..='9' => return Err(self.error_at("backreferences are not supported", start)),
            'x' | 'u' | 'U' => return self.hex(start, flags).map(Escape::Char),
            'p' | 'P' => {
                return Err(
                    self.error_at("Unicode property classes (\\p{…}) are not supported", start)
                );
            }
            _ => {}
        }
        self.bump();
        let perl = |table: &[Range], negated: bool| {
            Escape::Class(if negated {
                class::complement(table)
            } else {
                table.to_vec()
            })
        };
        Ok(match c {
            'd' | 'D' => perl(tables::DECIMAL, c == 'D'),
            'w' | 'W' => perl(tables::WORD, c == 'W'),
            's' | 'S' => perl(WHITESPACE, c == 'S'),
            'a' => Escape::Char('\x07'),
            'f' => Escape::Char('\x0C'),
            't' => Escape::Char('\t'),
            'n' => Escape::Char('\n'),
            'r' => Escape::Char('\r'),
            'v' => Escape::Char('\x0B'),
            'A' => Escape::Look(Look::Start),
            'z' => Escape::Look(Look::End),
            'b' if self.peek() == Some('{') => Escape::Look(self.word_boundary(start, flags)?),
            'b' => Escape::Look(Look::Word),
            'B' => Escape::Look(Look::NotWord),
            '<' => Escape::Look(Look::WordStart),
            '>' => Escape::Look(Look::WordEnd),
            // Superfluous escapes: any ASCII character but a letter or a digit.
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Escape::Char(c),
            c => return Err(self.error_at(format!("unrecognized escape `\\{c}`"), start)),
        })
    }

    /// After `\b`, at a `{`: `\b{start}`, `\b{end}`, `\b{start-half}` or `\b{end-half}`;
    /// a `{` that cannot start one of those (`\b{2}`) is a repetition of `\b`.
    fn word_boundary(&mut self, start: usize, flags: Flags) -> Result<Look, Error> {
        let brace = self.pos;
        if !self.bump_space(flags) {
            return Err(self.error_at("unclosed `\\b{`", start));
        }
        let name_char = |c: char| c.is_ascii_alphabetic() || c == '-';
        if !self.peek().is_some_and(name_char) {
            self.pos = brace;
            return Ok(Look::Word);
        }
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|&c| name_char(c)) {
            name.push(c);
            self.bump_space(flags);
        }
        if !self.eat('}') {
            return Err(self.error_at("unclosed `\\b{`", start));
        }
        match name.as_str() {
            "start" => Ok(Look::WordStart),
            "end" => Ok(Look::WordEnd),
            "start-half" => Ok(Look::WordStartHalf),
            "end-half" => Ok(Look::WordEndHalf),
            _ => Err(self.error_at(format!("unknown word boundary `\\b{{{name}}}`"), start)),
        }
    }

    /// At `x`, `u` or `U` after a `\`: exactly 2, 4 or 8 hexadecimal digits, or any
    /// number of them in braces (`\x{1F600}`), naming a Unicode scalar value.
    fn hex(&mut self, start: usize, flags: Flags) -> Result<char, Error> {
        let digits = match self.peek() {
            Some('x') => 2,
            Some('u') => 4,
            _ => 8,
        };
        let invalid = |p: &Self| p.error_at("invalid hexadecimal escape", start);
        if !self.bump_space(flags) {
            return Err(invalid(self));
        }
        let mut value: Option<u32> = Some(0);
        let mut push = |digit: u32| {
            value = value
                .and_then(|v| v.checked_mul(16))
                .and_then(|v| v.checked_add(digit));
        };
        if self.peek() == Some('{') {
            let mut any = false;
            loop {
                if !self.bump_space(flags) {
                    return Err(invalid(self));
                }
                match self.peek().map(|c| c.to_digit(16)) {
                    Some(None) if self.peek() == Some('}') => break,
                    Some(Some(digit)) => push(digit),
                    _ => return Err(invalid(self)),
                }
                any = true;
            }
            self.bump_space(flags);
            if !any {
                return Err(invalid(self));
            }
        } else {
            for i in 0..digits {
                if i > 0 && !self.bump_space(flags) {
                    return Err(invalid(self));
                }
                match self.peek().and_then(|c| c.to_digit(16)) {
                    Some(digit) => push(digit),
                    None => return Err(invalid(self)),
                }
            }
            self.bump_space(flags);
        }
        value.and_then(char::from_u32).ok_or_else(|| {
            self.error_at(
                "invalid hexadecimal escape (not a Unicode scalar value)",
                start,
            )
        })
    }
}

/// A group open around the position: where it opened, and the flags, alternation and
/// concatenation around it, taken up again when it closes.
struct Frame {
    at: usize,
    flags: Flags,
    group: Group,
    concat: Concat,
}

/// The branches of an alternation read so far.
struct Group {
    start: usize,
    branches: Vec<Node>,
    depth: u32,
}

impl Group {
    fn new(start: usize) -> Self {
        Self {
            start,
            branches: Vec::new(),
            depth: 0,
        }
    }

    fn push(&mut self, (branch, depth): (Node, u32)) {
        self.branches.push(branch);
        self.depth = self.depth.max(depth);
    }

    /// One branch is itself; more are an alternation, a level of nesting of its own.
    fn finish(mut self, parser: &Parser<'_>) -> Result<(Node, u32), Error> {
        if self.branches.len() == 1 {
            return Ok((self.branches.pop().unwrap_or(Node::Empty), self.depth));
        }
        let depth = parser.nest(self.depth + 1, self.start)?;
        Ok((Node::Alternation(self.branches), depth))
    }
}

/// The items of a concatenation read so far.
struct Concat {
    start: usize,
    items: Vec<Item>,
}

impl Concat {
    fn new(start: usize) -> Self {
        Self {
            start,
            items: Vec::new(),
        }
    }

    /// Two or more items (flag settings included) are a level of nesting of their own.
    fn finish(self, parser: &Parser<'_>) -> Result<(Node, u32), Error> {
        let depth = match self.items.as_slice() {
            [] => 0,
            [(_, depth)] => *depth,
            items => {
                let deepest = items.iter().map(|item| item.1).max().unwrap_or(0);
                parser.nest(deepest + 1, self.start)?
            }
        };
        let mut nodes: Vec<Node> = self.items.into_iter().filter_map(|item| item.0).collect();
        let node = match nodes.len() {
            0 => Node::Empty,
            1 => nodes.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(nodes),
        };
        Ok((node, depth))
    }
}

/// `\s`: White_Space, the property `char::is_whitespace` implements (a unit test holds
/// the two together).
pub(super) const WHITESPACE: &[Range] = &[
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
