//! Bracketed classes: `[a-z]`, `[^…]`, escapes and ASCII classes inside, nested classes
//! and the set operations `&&`, `--` and `~~`, read as `regex-syntax` reads them, into a
//! set of ranges and a nesting depth.

use alloc::{vec, vec::Vec};

use super::{Error, Escape, Flags, Parser};
use crate::regex::class::{self, Range};

impl Parser<'_> {
    /// At `[`: a bracketed class, with its nesting depth. Items are characters, ranges
    /// `a-z`, escapes, ASCII classes `[:alpha:]` and nested classes; `&&`, `--` and `~~`
    /// intersect, subtract and take the symmetric difference, left to right, of the
    /// unions around them. Case-insensitively, every item stands for its case variants.
    /// Nested classes are kept on a stack on the heap, as groups are.
    pub(super) fn bracket_class(&mut self, flags: Flags) -> Result<(Vec<Range>, u32), Error> {
        let mut open: Vec<OpenClass> = Vec::new();
        let mut class = self.class_open(flags)?;
        loop {
            self.skip_space(flags);
            let op = match (self.peek(), self.peek2()) {
                (None, _) => return Err(self.error_at("unclosed class", class.at)),
                (Some(']'), _) => {
                    self.bump();
                    let at = class.at;
                    let (set, depth) = class.finish(flags);
                    let depth = self.nest(depth, at)?;
                    match open.pop() {
                        None => return Ok((set, depth)),
                        Some(outer) => {
                            class = outer;
                            class.union.push(set, depth);
                        }
                    }
                    continue;
                }
                (Some('&'), Some('&')) => SetOp::Intersection,
                (Some('-'), Some('-')) => SetOp::Difference,
                (Some('~'), Some('~')) => SetOp::SymmetricDifference,
                (Some('['), _) => {
                    match self.ascii_class(flags) {
                        Some(set) => class.union.push(set, 0),
                        None => {
                            let inner = self.class_open(flags)?;
                            open.push(core::mem::replace(&mut class, inner));
                            self.nest(u32::try_from(open.len()).unwrap_or(u32::MAX), class.at)?;
                        }
                    }
                    continue;
                }
                _ => {
                    let set = self.class_range(flags, class.at)?;
                    class.union.push(set, 0);
                    continue;
                }
            };
            self.pos += 2;
            let union = core::mem::take(&mut class.union).finish();
            let (lhs, depth) = apply(class.pending.take(), union, flags);
            class.pending = Some((op, lhs, depth));
        }
    }

    /// At `[`: the start of a class, up to its first ordinary item. `^` negates it, and
    /// leading `-`s, or a leading `]`, are literal.
    fn class_open(&mut self, flags: Flags) -> Result<OpenClass, Error> {
        let at = self.pos;
        let unclosed = |p: &Self| p.error_at("unclosed class", at);
        if !self.bump_space(flags) {
            return Err(unclosed(self));
        }
        let negated = self.peek() == Some('^');
        if negated && !self.bump_space(flags) {
            return Err(unclosed(self));
        }
        let mut union = Union::default();
        while self.peek() == Some('-') {
            union.push(vec![(0x2D, 0x2D)], 0);
            if !self.bump_space(flags) {
                return Err(unclosed(self));
            }
        }
        if union.items == 0 && self.peek() == Some(']') {
            union.push(vec![(0x5D, 0x5D)], 0);
            if !self.bump_space(flags) {
                return Err(unclosed(self));
            }
        }
        Ok(OpenClass {
            at,
            negated,
            union,
            pending: None,
        })
    }

    /// An item of a class that is not a nested class: a character, a range `a-z`
    /// (between characters only) or an escape for a class such as `\d`.
    fn class_range(&mut self, flags: Flags, open: usize) -> Result<Vec<Range>, Error> {
        let at = self.pos;
        let first = self.class_item(flags)?;
        self.skip_space(flags);
        if self.peek().is_none() {
            return Err(self.error_at("unclosed class", open));
        }
        // A `-` before `]` or `-` is no range (`[a-]`, `[a--b]`).
        if self.peek() != Some('-') || matches!(self.peek_space(flags), Some(']' | '-')) {
            return match first {
                Escape::Char(c) => Ok(vec![(u32::from(c), u32::from(c))]),
                Escape::Class(ranges) => Ok(ranges),
                Escape::Look(_) => Err(self.error_at("an assertion in a class", at)),
            };
        }
        if !self.bump_space(flags) {
            return Err(self.error_at("unclosed class", open));
        }
        let second = self.class_item(flags)?;
        let (Escape::Char(lo), Escape::Char(hi)) = (first, second) else {
            return Err(self.error_at("a class range must be between characters", at));
        };
        if hi < lo {
            return Err(self.error_at("class range out of order", at));
        }
        Ok(vec![(u32::from(lo), u32::from(hi))])
    }

    /// A character or an escape, inside a class.
    fn class_item(&mut self, flags: Flags) -> Result<Escape, Error> {
        if self.peek() == Some('\\') {
            return self.escape(flags);
        }
        let c = self.bump().ok_or_else(|| self.error("unclosed class"))?;
        Ok(Escape::Char(c))
    }

    /// At `[` inside a class: `[:alpha:]` or `[:^alpha:]`, an ASCII class; `None`, with
    /// nothing read, for anything else (which is then a nested class).
    fn ascii_class(&mut self, flags: Flags) -> Option<Vec<Range>> {
        let inner = self.rest().strip_prefix("[:")?;
        let (negated, inner) = match inner.strip_prefix('^') {
            Some(inner) => (true, inner),
            None => (false, inner),
        };
        let (name, after) = inner.split_once(':')?;
        after.starts_with(']').then_some(())?;
        let ranges: &[Range] = match name {
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
            _ => return None,
        };
        // Past the `]` that closes the ASCII class.
        self.pos = self.pattern.len() - after.len() + 1;
        let set = if flags.fold {
            class::case_fold(ranges)
        } else {
            ranges.to_vec()
        };
        Some(if negated {
            class::complement(&set)
        } else {
            set
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum SetOp {
    Intersection,
    Difference,
    SymmetricDifference,
}

/// A class open around the position.
struct OpenClass {
    at: usize,
    negated: bool,
    /// The items since the last set operator.
    union: Union,
    /// The left-hand side of a pending set operation.
    pending: Option<(SetOp, Vec<Range>, u32)>,
}

impl OpenClass {
    /// The class's set and nesting depth, at its `]`.
    fn finish(self, flags: Flags) -> (Vec<Range>, u32) {
        let (set, depth) = apply(self.pending, self.union.finish(), flags);
        let set = if self.negated {
            class::complement(&set)
        } else {
            set
        };
        (set, depth + 1)
    }
}

/// The items of a class between set operators, as one set and a nesting depth.
#[derive(Debug, Default)]
struct Union {
    ranges: Vec<Range>,
    items: usize,
    depth: u32,
}

impl Union {
    fn push(&mut self, ranges: Vec<Range>, depth: u32) {
        self.ranges.extend(ranges);
        self.items += 1;
        self.depth = self.depth.max(depth);
    }

    /// A union of two or more items is a level of nesting of its own.
    fn finish(self) -> (Vec<Range>, u32) {
        let depth = if self.items > 1 {
            self.depth + 1
        } else {
            self.depth
        };
        (class::canonical(self.ranges), depth)
    }
}

/// Applies a pending set operation to its right-hand side (each side closed under case
/// folding first, when case-insensitive); without one, the set itself (closed, likewise).
fn apply(
    pending: Option<(SetOp, Vec<Range>, u32)>,
    (rhs, rhs_depth): (Vec<Range>, u32),
    flags: Flags,
) -> (Vec<Range>, u32) {
    let fold = |set: &[Range]| {
        if flags.fold {
            class::case_fold(set)
        } else {
            set.to_vec()
        }
    };
    let rhs = fold(&rhs);
    let Some((op, lhs, lhs_depth)) = pending else {
        return (rhs, rhs_depth);
    };
    let lhs = fold(&lhs);
    let set = match op {
        SetOp::Intersection => class::intersection(&lhs, &rhs),
        SetOp::Difference => class::difference(&lhs, &rhs),
        SetOp::SymmetricDifference => class::symmetric_difference(&lhs, &rhs),
    };
    (set, lhs_depth.max(rhs_depth) + 1)
}
