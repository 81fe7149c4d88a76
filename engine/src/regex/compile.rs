//! The size of a pattern and its program: a Thompson construction whose instruction
//! count is exactly [`size`], the formula `docs/snapshot-format.md` states, so that the
//! limit on sizes and the work bound of matching are checkable from the pattern alone.

use alloc::vec::Vec;

use super::parse::{Look, Node};

/// An instruction; the consuming ones and assertions say where to go on (the next
/// instruction, or past the jumps that follow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Inst {
    Char(char, u32),
    /// Index into the classes, and where to go on.
    Class(u32, u32),
    Look(Look, u32),
    /// Go on at both; the order does not matter for a yes/no answer.
    Split(u32, u32),
    Jump(u32),
    Match,
}

/// The size of a pattern: the number of instructions its program has besides the final
/// match. A character, class, `.` or assertion is 1; a concatenation is the sum of its
/// items; an alternation of k branches is their sum plus 2(k − 1) (a split and a jump
/// for each branch but the last); a repetition of an expression of size s is
///
/// - 0 if s is 0 (`(){1000}` is nothing),
/// - n·s for `{n}`,
/// - n·s + (m − n)(s + 1) for `{n,m}` (and `?` is `{0,1}`),
/// - n·s + 1 for `{n,}` with n ≥ 1 (and `+` is `{1,}`),
/// - s + 2 for `{0,}` (and `*`).
///
/// Saturates rather than overflows: anything near `u64::MAX` is far over any limit.
pub(super) fn size(node: &Node) -> u64 {
    match node {
        Node::Empty => 0,
        Node::Char(_) | Node::Class(_) | Node::Look(_) => 1,
        Node::Concat(items) => items.iter().map(size).fold(0, u64::saturating_add),
        Node::Alternation(branches) => branches
            .iter()
            .map(size)
            .fold(0, u64::saturating_add)
            .saturating_add(2 * (branches.len() as u64).saturating_sub(1)),
        Node::Repeat { node, min, max } => {
            let s = size(node);
            let min = u64::from(*min);
            match (s, max) {
                (0, _) => 0,
                (_, Some(max)) => {
                    let optional = u64::from(*max).saturating_sub(min);
                    (min.saturating_mul(s)).saturating_add(optional.saturating_mul(s + 1))
                }
                (_, None) if min > 0 => min.saturating_mul(s).saturating_add(1),
                (_, None) => s.saturating_add(2),
            }
        }
    }
}

/// Emits the program of a node whose [`size`] is within bounds (the caller checks).
pub(super) fn compile(node: &Node) -> Vec<Inst> {
    let mut compiler = Compiler {
        program: Vec::with_capacity(usize::try_from(size(node)).unwrap_or(0) + 1),
    };
    compiler.node(node);
    compiler.program.push(Inst::Match);
    thread_jumps(&mut compiler.program);
    compiler.program
}

/// Points every target past the jumps it leads to, so that matching never visits a
/// jump (they stay in the program, unreached: the size is the formula's).
fn thread_jumps(program: &mut [Inst]) {
    let resolve = |program: &[Inst], mut to: u32| {
        for _ in 0..program.len() {
            match program.get(to as usize) {
                Some(Inst::Jump(next)) => to = *next,
                _ => break,
            }
        }
        to
    };
    for pc in 0..program.len() {
        let inst = match program.get(pc).copied() {
            Some(Inst::Char(c, next)) => Inst::Char(c, resolve(program, next)),
            Some(Inst::Class(i, next)) => Inst::Class(i, resolve(program, next)),
            Some(Inst::Look(look, next)) => Inst::Look(look, resolve(program, next)),
            Some(Inst::Split(a, b)) => Inst::Split(resolve(program, a), resolve(program, b)),
            Some(other) => other,
            None => break,
        };
        if let Some(slot) = program.get_mut(pc) {
            *slot = inst;
        }
    }
}

struct Compiler {
    program: Vec<Inst>,
}

impl Compiler {
    fn next(&self) -> u32 {
        u32::try_from(self.program.len()).unwrap_or(u32::MAX)
    }

    fn emit(&mut self, inst: Inst) -> u32 {
        let at = self.next();
        self.program.push(inst);
        at
    }

    fn patch(&mut self, at: u32, inst: Inst) {
        if let Some(slot) = self.program.get_mut(at as usize) {
            *slot = inst;
        }
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::Empty => {}
            Node::Char(c) => {
                self.emit(Inst::Char(*c, self.next() + 1));
            }
            Node::Class(i) => {
                self.emit(Inst::Class(*i, self.next() + 1));
            }
            Node::Look(look) => {
                self.emit(Inst::Look(*look, self.next() + 1));
            }
            Node::Concat(items) => items.iter().for_each(|item| self.node(item)),
            Node::Alternation(branches) => {
                let mut jumps = Vec::new();
                let (last, init) = branches.split_last().unwrap_or((&Node::Empty, &[]));
                for branch in init {
                    let split = self.emit(Inst::Split(0, 0));
                    self.node(branch);
                    jumps.push(self.emit(Inst::Jump(0)));
                    self.patch(split, Inst::Split(split + 1, self.next()));
                }
                self.node(last);
                let end = self.next();
                for jump in jumps {
                    self.patch(jump, Inst::Jump(end));
                }
            }
            Node::Repeat { node, min, max } => self.repeat(node, *min, *max),
        }
    }

    fn repeat(&mut self, node: &Node, min: u32, max: Option<u32>) {
        if size(node) == 0 {
            return;
        }
        let mut last_start = None;
        for _ in 0..min {
            last_start = Some(self.next());
            self.node(node);
        }
        match (max, last_start) {
            // `e{n,}`: loop back over the last copy.
            (None, Some(start)) => {
                self.emit(Inst::Split(start, self.next() + 1));
            }
            // `e*`
            (None, None) => {
                let split = self.emit(Inst::Split(0, 0));
                self.node(node);
                self.emit(Inst::Jump(split));
                self.patch(split, Inst::Split(split + 1, self.next()));
            }
            // `e{n,m}`: the optional copies each skip to the end.
            (Some(max), _) => {
                let mut splits = Vec::new();
                for _ in min..max {
                    splits.push(self.emit(Inst::Split(0, 0)));
                    self.node(node);
                }
                let end = self.next();
                for split in splits {
                    self.patch(split, Inst::Split(split + 1, end));
                }
            }
        }
    }
}
