//! Limits that keep a hostile or broken snapshot from making loading or
//! evaluation slow. Whole-snapshot limits refuse the snapshot; per-item limits
//! degrade the one item that exceeds them.

/// The bounds a snapshot must stay within. [`Limits::default`] is what every
/// Edgeflag runtime uses; hosts may tighten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Size of the snapshot JSON in bytes.
    pub max_snapshot_bytes: usize,
    pub max_flags: usize,
    pub max_segments: usize,
    /// Per flag.
    pub max_variations: usize,
    /// Per flag or segment.
    pub max_rules: usize,
    /// Per rule.
    pub max_conditions: usize,
    /// Per condition.
    pub max_values: usize,
    /// Individual target keys per flag, or included + excluded keys per segment.
    pub max_targets: usize,
    pub max_prerequisites: usize,
    /// How deep a chain of prerequisites may go before evaluation answers `ERROR`.
    pub max_prerequisite_depth: usize,
    /// Length of one regular expression's source, in bytes.
    pub max_regex_len: usize,
    /// Size of one regular expression: the instructions of its program, with
    /// repetitions expanded (the formula of `docs/snapshot-format.md`).
    pub max_regex_size: usize,
    /// Ranges the distinct classes of one regular expression may hold together.
    pub max_regex_class_ranges: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_snapshot_bytes: 32 * 1024 * 1024,
            max_flags: 50_000,
            max_segments: 10_000,
            max_variations: 1_000,
            max_rules: 1_000,
            max_conditions: 100,
            max_values: 100_000,
            max_targets: 100_000,
            max_prerequisites: 32,
            max_prerequisite_depth: 16,
            max_regex_len: 1_024,
            max_regex_size: 512,
            max_regex_class_ranges: 4_096,
        }
    }
}
