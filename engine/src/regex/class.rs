//! Sets of characters: sorted, disjoint, non-adjacent inclusive ranges of code points,
//! the set operations bracketed classes use (`[a-z&&[^aeiou]]`), closing a set under
//! Unicode simple case folding for case-insensitive matching, and the compiled
//! [`Class`] that matching tests characters against.
//!
//! The surrogates U+D800–U+DFFF never occur in text, so a set never needs to tell them
//! apart: ranges on either side of them merge (`[\x{D7FF}\x{E000}]` is one range), which
//! makes the number of ranges of a set (the unit of the size limit on classes) the
//! smallest number of ranges that match it.

use alloc::{boxed::Box, vec::Vec};

use super::tables;

/// An inclusive range of code points.
pub(super) type Range = (u32, u32);

/// The largest code point.
pub(super) const MAX: u32 = 0x10_FFFF;

/// The code point after `c`, skipping the surrogates.
fn next(c: u32) -> u32 {
    if c == 0xD7FF {
        0xE000
    } else {
        c.saturating_add(1)
    }
}

/// The code point before `c` (which is not 0), skipping the surrogates.
fn prev(c: u32) -> u32 {
    if c == 0xE000 {
        0xD7FF
    } else {
        c.saturating_sub(1)
    }
}

/// Sorts and merges ranges into canonical form.
pub(super) fn canonical(mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.sort_unstable();
    let mut merged: Vec<Range> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if lo <= next(last.1) => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// Every character not in `set`.
pub(super) fn complement(set: &[Range]) -> Vec<Range> {
    let mut out = Vec::with_capacity(set.len() + 1);
    let mut from = 0;
    for &(lo, hi) in set {
        if lo > from {
            out.push((from, prev(lo)));
        }
        from = next(hi);
    }
    if from <= MAX {
        out.push((from, MAX));
    }
    out
}

pub(super) fn union(a: &[Range], b: &[Range]) -> Vec<Range> {
    canonical([a, b].concat())
}

pub(super) fn intersection(a: &[Range], b: &[Range]) -> Vec<Range> {
    let (mut a, mut b) = (a.iter().peekable(), b.iter().peekable());
    let mut out = Vec::new();
    while let (Some(&&(a_lo, a_hi)), Some(&&(b_lo, b_hi))) = (a.peek(), b.peek()) {
        let (lo, hi) = (a_lo.max(b_lo), a_hi.min(b_hi));
        if lo <= hi {
            out.push((lo, hi));
        }
        if a_hi < b_hi {
            a.next();
        } else {
            b.next();
        }
    }
    canonical(out)
}

pub(super) fn difference(a: &[Range], b: &[Range]) -> Vec<Range> {
    intersection(a, &complement(b))
}

pub(super) fn symmetric_difference(a: &[Range], b: &[Range]) -> Vec<Range> {
    difference(&union(a, b), &intersection(a, b))
}

pub(super) fn contains(set: &[Range], c: u32) -> bool {
    let i = set.partition_point(|&(_, hi)| hi < c);
    set.get(i).is_some_and(|&(lo, _)| lo <= c)
}

/// `set` and every case variant of its members, by Unicode simple case folding: the
/// characters whose simple case fold is the fold of a member. This is what the `regex`
/// crate's `case_fold_simple` computes, for literals and classes alike.
pub(super) fn case_fold(set: &[Range]) -> Vec<Range> {
    // Every character maps to the representative of its orbit, and representatives map
    // nowhere; so the orbits that meet `set` are `set`, the representatives its members
    // map to, and whatever maps to one of those.
    let with_representatives = canonical([set, &map_runs(set, false)].concat());
    let preimages = map_runs(&with_representatives, true);
    canonical([with_representatives, preimages].concat())
}

/// The images of `set`'s members under the [`tables::FOLD`] runs or, `inverse`, the
/// characters whose images are members.
fn map_runs(set: &[Range], inverse: bool) -> Vec<Range> {
    let mut out = Vec::new();
    for &(packed, delta) in tables::FOLD {
        let (start, len, stride) = tables::unpack(packed);
        let (from, shift) = if inverse {
            (start.wrapping_add_signed(delta), delta.wrapping_neg())
        } else {
            (start, delta)
        };
        let last = from + (len - 1) * stride;
        let first = set.partition_point(|&(_, hi)| hi < from);
        let overlapping = set.get(first..).unwrap_or_default();
        for &(lo, hi) in overlapping.iter().take_while(|&&(lo, _)| lo <= last) {
            // The members of the run between `lo` and `hi`, as steps from `from`.
            let (steps_lo, steps_hi) = (
                lo.saturating_sub(from).div_ceil(stride),
                (hi.min(last) - from) / stride,
            );
            let at = |step: u32| (from + step * stride).wrapping_add_signed(shift);
            if stride == 1 && steps_lo <= steps_hi {
                out.push((at(steps_lo), at(steps_hi)));
            } else {
                out.extend((steps_lo..=steps_hi).map(|step| (at(step), at(step))));
            }
        }
    }
    out
}

/// A class as matching uses it: its ranges, its answer for every ASCII character, and
/// for a class of many ranges an index that narrows the search for a character of the
/// Basic Multilingual Plane to the ranges of its block of 256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Class {
    ranges: Ranges,
    pub(super) ascii: u128,
    /// Per block `b` of 256 code points below U+10000 (and one more for the rest): the
    /// first range that ends in or after it.
    blocks: Option<Box<[u16]>>,
}

/// Classes with more ranges than this get a block index.
const INDEXED: usize = 16;

/// The ranges of a class: the static table itself for `\w` and `\d` (the most common
/// large classes), so compiling them allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ranges {
    Static(&'static [Range]),
    Owned(Box<[Range]>),
}

impl Class {
    pub(super) fn new(ranges: Vec<Range>) -> Self {
        let ascii = ranges
            .iter()
            .take_while(|&&(lo, _)| lo < 128)
            .fold(0u128, |bits, &(lo, hi)| {
                (lo..=hi.min(127)).fold(bits, |bits, c| bits | 1 << c)
            });
        let blocks = (ranges.len() > INDEXED).then(|| {
            (0..=256u32)
                .map(|b| {
                    let first = ranges.partition_point(|&(_, hi)| hi < b << 8);
                    u16::try_from(first).unwrap_or(u16::MAX)
                })
                .collect()
        });
        let ranges = [tables::WORD, tables::DECIMAL]
            .into_iter()
            .find(|table| **table == *ranges)
            .map_or_else(|| Ranges::Owned(ranges.into_boxed_slice()), Ranges::Static);
        Self {
            ranges,
            ascii,
            blocks,
        }
    }

    pub(super) fn ranges(&self) -> &[Range] {
        match &self.ranges {
            Ranges::Static(ranges) => ranges,
            Ranges::Owned(ranges) => ranges,
        }
    }

    pub(super) fn matches(&self, c: char) -> bool {
        if c.is_ascii() {
            return self.ascii & 1 << u32::from(c) != 0;
        }
        let c = u32::from(c);
        let ranges = self.ranges();
        let Some(blocks) = &self.blocks else {
            return contains(ranges, c);
        };
        let block = (c >> 8).min(256) as usize;
        let first = blocks.get(block).map_or(0, |&i| usize::from(i));
        let last = match blocks.get(block + 1) {
            Some(&i) if c < 0x1_0000 => usize::from(i) + 1,
            _ => ranges.len(),
        };
        contains(
            ranges
                .get(first..last.min(ranges.len()))
                .unwrap_or_default(),
            c,
        )
    }
}
