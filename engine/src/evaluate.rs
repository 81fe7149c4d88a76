//! Evaluation, top to bottom as the spec reads (docs/snapshot-format.md, "Evaluation"):
//!
//! 1. unknown key → `ERROR` / `FLAG_NOT_FOUND`; invalid flag → `ERROR` / `PARSE_ERROR`;
//! 2. flag off → off variation, `DISABLED`;
//! 3. each prerequisite must be on and serve its required variation, else off
//!    variation, `DISABLED`; a cycle or a chain deeper than the limit → `ERROR` / `GENERAL`;
//! 4. the context's targeting key among the individual targets → `TARGETING_MATCH`;
//! 5. the first rule whose conditions all match → `TARGETING_MATCH` (or `SPLIT`);
//! 6. the default rule → `DEFAULT` (`STATIC` for a flag without targeting, `SPLIT` for a rollout).

use alloc::{format, string::String, vec::Vec};
use serde_json::Value;

use crate::{
    condition::Env,
    context::{Context, type_name},
    date,
    flag::{Flag, Prerequisite, Serve},
    hashed::Hasher,
    reason::{ErrorCode, EvaluationDetail, Reason, ValueType},
    rollout::bucket_value,
    snapshot::Snapshot,
};

impl Snapshot {
    /// Evaluates one flag for `ctx` at `now_ms` (milliseconds since the Unix epoch).
    /// In a client snapshot a flag that is not client-visible is not found: it is
    /// there only to be evaluated as a prerequisite.
    pub fn evaluate(&self, key: &str, ctx: &Context, now_ms: i64) -> EvaluationDetail<'_> {
        let now = date::Now::new(now_ms);
        let hasher = Hasher::new(self.hash_salt.as_deref());
        let Some(index) = self.answering(key) else {
            return EvaluationDetail::error(
                ErrorCode::FlagNotFound,
                format!("flag `{key}` not found"),
                None,
            );
        };
        Evaluator::new(self, ctx, &now, &hasher).flag(index)
    }

    /// Evaluates one flag and checks it has the type the caller expects; a flag of
    /// another type answers `ERROR` / `TYPE_MISMATCH`.
    pub fn evaluate_as(
        &self,
        key: &str,
        expected: ValueType,
        ctx: &Context,
        now_ms: i64,
    ) -> EvaluationDetail<'_> {
        if let Some(entry) = self.entry(key)
            && let Ok(flag) = &entry.body
            && flag.value_type != expected
        {
            return EvaluationDetail::error(
                ErrorCode::TypeMismatch,
                format!(
                    "flag `{key}` is of type {}, not {expected}",
                    flag.value_type
                ),
                entry.version,
            );
        }
        self.evaluate(key, ctx, now_ms)
    }

    /// The boolean value of a flag, or `default` on any error.
    pub fn bool_or(&self, key: &str, ctx: &Context, now_ms: i64, default: bool) -> bool {
        self.evaluate_as(key, ValueType::Boolean, ctx, now_ms)
            .value
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    /// Evaluates every flag that answers for `ctx`, in key order (in a client
    /// snapshot, the client-visible ones).
    pub fn evaluate_all(&self, ctx: &Context, now_ms: i64) -> Vec<(&str, EvaluationDetail<'_>)> {
        let now = date::Now::new(now_ms);
        let hasher = Hasher::new(self.hash_salt.as_deref());
        let mut evaluator = Evaluator::new(self, ctx, &now, &hasher);
        self.flags
            .iter()
            .enumerate()
            .filter(|(_, entry)| self.audience.answers(entry.client_visible))
            .map(|(i, entry)| (&*entry.key, evaluator.flag(i)))
            .collect()
    }
}

struct Evaluator<'s, 'e> {
    snapshot: &'s Snapshot,
    env: Env<'e>,
    /// Flags whose prerequisites are being evaluated, outermost first.
    stack: Vec<usize>,
}

impl<'s, 'e> Evaluator<'s, 'e>
where
    's: 'e,
{
    fn new(
        snapshot: &'s Snapshot,
        ctx: &'e Context,
        now: &'e date::Now,
        hasher: &'e Hasher<'e>,
    ) -> Self {
        let env = Env {
            ctx,
            now,
            segments: &snapshot.segments,
            hasher,
        };
        Self {
            snapshot,
            env,
            stack: Vec::new(),
        }
    }

    fn flag(&mut self, index: usize) -> EvaluationDetail<'s> {
        let Some(entry) = self.snapshot.flags.get(index) else {
            return EvaluationDetail::error(
                ErrorCode::General,
                "flag index out of range".into(),
                None,
            );
        };
        let version = entry.version;
        let flag = match &entry.body {
            Ok(flag) => flag,
            Err(why) => {
                return EvaluationDetail::error(
                    ErrorCode::ParseError,
                    format!("flag `{}` is invalid: {why}", entry.key),
                    version,
                );
            }
        };
        let salt = flag.salt.as_deref().unwrap_or(&entry.key);
        if !flag.enabled {
            return served(flag, flag.off, Reason::Disabled, version);
        }
        for prereq in &flag.prerequisites {
            if let Some(detail) = self.prerequisite(index, flag, prereq, version) {
                return detail;
            }
        }
        if let Some(variation) = flag.target(&self.env) {
            return served(flag, variation, Reason::TargetingMatch, version);
        }
        for (r, rule) in flag.rules.iter().enumerate() {
            if rule.conditions.iter().all(|c| c.matches(&self.env)) {
                let mut detail =
                    self.serve(flag, salt, &rule.serve, Reason::TargetingMatch, version);
                if !detail.is_error() {
                    detail.rule_index = Some(r);
                    detail.rule_id = rule.id.as_deref();
                }
                return detail;
            }
        }
        let reason = if flag.is_static {
            Reason::Static
        } else {
            Reason::Default
        };
        self.serve(flag, salt, &flag.default_rule, reason, version)
    }

    /// `Some(detail)` when the prerequisite stops the flag, `None` when it is met.
    fn prerequisite(
        &mut self,
        index: usize,
        flag: &'s Flag,
        prereq: &'s Prerequisite,
        version: Option<u64>,
    ) -> Option<EvaluationDetail<'s>> {
        let off = || {
            let mut detail = served(flag, flag.off, Reason::Disabled, version);
            detail.failed_prerequisite = Some(&*prereq.key);
            detail
        };
        let Some(target) = prereq.flag else {
            return Some(off());
        };
        if target == index || self.stack.contains(&target) {
            let message = format!("prerequisite cycle: {}", self.chain(index, target));
            return Some(EvaluationDetail::error(
                ErrorCode::General,
                message,
                version,
            ));
        }
        // `target` nests `stack.len() + 1` prerequisites deep; the limit is the
        // deepest nesting allowed, so a chain of exactly that many links still works.
        if self.stack.len() + 1 > self.snapshot.limits.max_prerequisite_depth {
            let message = format!(
                "prerequisites nest deeper than {}: {}",
                self.snapshot.limits.max_prerequisite_depth,
                self.chain(index, target)
            );
            return Some(EvaluationDetail::error(
                ErrorCode::General,
                message,
                version,
            ));
        }
        self.stack.push(index);
        let result = self.flag(target);
        self.stack.pop();
        if let Some(err) = result.error {
            let message = format!("prerequisite `{}` failed: {}", prereq.key, err.message);
            return Some(EvaluationDetail::error(err.code, message, version));
        }
        let target_on = self
            .snapshot
            .flags
            .get(target)
            .is_some_and(|e| e.body.as_ref().is_ok_and(|f| f.enabled));
        if !target_on
            || result.variation_index.is_none()
            || result.variation_index.map(|v| v as usize) != prereq.variation
        {
            return Some(off());
        }
        None
    }

    /// `a -> b -> … -> target`, for error messages.
    fn chain(&self, index: usize, target: usize) -> String {
        let key = |i: usize| self.snapshot.flags.get(i).map_or("?", |e| &*e.key);
        let mut text = String::new();
        for &i in self.stack.iter().chain([index, target].iter()) {
            if !text.is_empty() {
                text.push_str(" -> ");
            }
            text.push_str(key(i));
        }
        text
    }

    fn serve(
        &self,
        flag: &'s Flag,
        salt: &str,
        serve: &'s Serve,
        reason: Reason,
        version: Option<u64>,
    ) -> EvaluationDetail<'s> {
        let rollout = match serve {
            Serve::Variation(v) => return served(flag, *v, reason, version),
            Serve::Rollout(rollout) => rollout,
        };
        let value = rollout.bucket_by.resolve(self.env.ctx, self.env.now);
        let bucket = value.and_then(|v| bucket_value(salt, v));
        let Some(bucket) = bucket else {
            return bucketing_error(rollout.bucket_by.is_targeting_key(), value, version);
        };
        match rollout.choose(bucket) {
            Some(v) => served(flag, v, Reason::Split, version),
            None => EvaluationDetail::error(
                ErrorCode::General,
                "rollout chose no variation".into(),
                version,
            ),
        }
    }
}

fn bucketing_error(
    by_targeting_key: bool,
    value: Option<&Value>,
    version: Option<u64>,
) -> EvaluationDetail<'static> {
    match value {
        None if by_targeting_key => EvaluationDetail::error(
            ErrorCode::TargetingKeyMissing,
            "a percentage rollout needs a targetingKey in the context".into(),
            version,
        ),
        None => EvaluationDetail::error(
            ErrorCode::InvalidContext,
            "the context lacks the attribute this rollout buckets by".into(),
            version,
        ),
        Some(v) => EvaluationDetail::error(
            ErrorCode::InvalidContext,
            format!(
                "a rollout can bucket by a string or an integer, not by a {}",
                type_name(v)
            ),
            version,
        ),
    }
}

fn served(
    flag: &Flag,
    variation: usize,
    reason: Reason,
    version: Option<u64>,
) -> EvaluationDetail<'_> {
    let Some(v) = flag.variations.get(variation) else {
        return EvaluationDetail::error(
            ErrorCode::General,
            "variation index out of range".into(),
            version,
        );
    };
    EvaluationDetail {
        value: Some(&v.value),
        variant: Some(&v.key),
        reason,
        error: None,
        rule_index: None,
        rule_id: None,
        failed_prerequisite: None,
        flag_version: version,
        variation_index: u32::try_from(variation).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use alloc::{format, string::String, vec::Vec};
    use serde_json::json;

    /// `chain-0 -> chain-1 -> … -> chain-{links}`: evaluating `chain-0` nests `links` deep.
    fn chain(links: usize, limits: &Limits) -> Snapshot {
        let flags: Vec<Value> = (0..=links)
            .map(|i| {
                let prerequisites: Vec<Value> = if i < links {
                    alloc::vec![json!({"flag": format!("chain-{}", i + 1), "variation": "on"})]
                } else {
                    Vec::new()
                };
                json!({"key": format!("chain-{i}"), "type": "boolean", "enabled": true,
                       "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                       "offVariation": "off", "defaultRule": {"variation": "on"},
                       "prerequisites": prerequisites})
            })
            .collect();
        let doc = json!({"schemaVersion": 1, "environment": "t", "version": 1,
                         "generatedAt": "2026-11-25T12:00:00Z", "flags": flags});
        let bytes = serde_json::to_vec(&doc).unwrap();
        Snapshot::load_with_limits(&bytes, limits).unwrap().snapshot
    }

    #[test]
    fn prerequisites_may_nest_exactly_as_deep_as_the_limit() {
        let limits = Limits {
            max_prerequisite_depth: 3,
            ..Limits::default()
        };
        let ctx = Context::new();
        let at_limit = chain(3, &limits);
        assert_eq!(
            at_limit.evaluate("chain-0", &ctx, 0).reason,
            Reason::Default
        );
        let too_deep = chain(4, &limits);
        let detail = too_deep.evaluate("chain-0", &ctx, 0);
        assert_eq!(detail.error_code(), Some(ErrorCode::General));
        assert_eq!(
            too_deep.evaluate("chain-1", &ctx, 0).reason,
            Reason::Default
        );
    }

    #[test]
    fn the_default_limit_allows_sixteen_nested_prerequisites() {
        let ctx = Context::new();
        let limits = Limits::default();
        assert_eq!(
            chain(16, &limits).evaluate("chain-0", &ctx, 0).reason,
            Reason::Default
        );
        let too_deep = chain(17, &limits);
        let detail = too_deep.evaluate("chain-0", &ctx, 0);
        assert_eq!(detail.error_code(), Some(ErrorCode::General));
    }

    /// One flag: key, enabled, prerequisites as `(flag, variation)`, valid.
    type Spec<'a> = (&'a str, bool, &'a [(&'a str, &'a str)], bool);

    /// A snapshot of the given flags.
    fn flags(specs: &[Spec<'_>]) -> Snapshot {
        let flags: Vec<Value> = specs
            .iter()
            .map(|(key, enabled, prerequisites, valid)| {
                let prerequisites: Vec<Value> = prerequisites
                    .iter()
                    .map(|(flag, variation)| json!({"flag": flag, "variation": variation}))
                    .collect();
                json!({"key": key, "type": if *valid { "boolean" } else { "bool" }, "enabled": enabled,
                       "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
                       "offVariation": "off", "defaultRule": {"variation": "on"},
                       "prerequisites": prerequisites})
            })
            .collect();
        let doc = json!({"schemaVersion": 1, "environment": "t", "version": 1,
                         "generatedAt": "2026-11-25T12:00:00Z", "flags": flags});
        Snapshot::load(&serde_json::to_vec(&doc).unwrap())
            .unwrap()
            .snapshot
    }

    #[test]
    fn the_depth_limit_is_checked_before_the_prerequisite_is_evaluated() {
        let ctx = Context::new();
        let mut links: Vec<(String, String)> = Vec::new();
        for i in 0..17 {
            links.push((format!("c{i}"), format!("c{}", i + 1)));
        }
        let prerequisites: Vec<[(&str, &str); 1]> = links
            .iter()
            .map(|(_, next)| [(next.as_str(), "on")])
            .collect();
        let mut specs: Vec<Spec<'_>> = links
            .iter()
            .zip(&prerequisites)
            .map(|((key, _), p)| (key.as_str(), true, p.as_slice(), true))
            .collect();
        specs.push(("c17", true, &[], false));
        let snapshot = flags(&specs);
        // c0 would evaluate c17 17 deep: refused before c17 is looked at.
        assert_eq!(
            snapshot.evaluate("c0", &ctx, 0).error_code(),
            Some(ErrorCode::General)
        );
        // c1 reaches c17 16 deep and finds it invalid.
        assert_eq!(
            snapshot.evaluate("c1", &ctx, 0).error_code(),
            Some(ErrorCode::ParseError)
        );
    }

    #[test]
    fn an_invalid_prerequisite_is_found_by_evaluating_it() {
        let ctx = Context::new();
        // `p` is invalid on its own, so `f`'s required variation is not checked at
        // load: `f` answers with `p`'s error when it reaches `p`, and is not reached
        // when `f` is off.
        let snapshot = flags(&[
            ("f", true, &[("p", "zzz")], true),
            ("g", false, &[("p", "zzz")], true),
            ("p", true, &[], false),
        ]);
        assert_eq!(
            snapshot.evaluate("f", &ctx, 0).error_code(),
            Some(ErrorCode::ParseError)
        );
        assert_eq!(snapshot.evaluate("g", &ctx, 0).reason, Reason::Disabled);
        // A valid `p` without the variation makes `f` invalid, off or not.
        let snapshot = flags(&[("g", false, &[("p", "zzz")], true), ("p", true, &[], true)]);
        assert_eq!(
            snapshot.evaluate("g", &ctx, 0).error_code(),
            Some(ErrorCode::ParseError)
        );
    }

    #[test]
    fn a_prerequisite_is_met_by_its_variation_when_it_is_enabled() {
        let ctx = Context::new();
        // `p` is on, but its own prerequisite is off: it serves `off` (DISABLED).
        // `f` requires exactly that and is met; `g` requires `on` and is not.
        let snapshot = flags(&[
            ("f", true, &[("p", "off")], true),
            ("g", true, &[("p", "on")], true),
            ("p", true, &[("q", "on")], true),
            ("q", false, &[], true),
            ("r", true, &[("q", "off")], true),
        ]);
        assert_eq!(snapshot.evaluate("p", &ctx, 0).reason, Reason::Disabled);
        assert_eq!(snapshot.evaluate("f", &ctx, 0).reason, Reason::Default);
        let g = snapshot.evaluate("g", &ctx, 0);
        assert_eq!(
            (g.reason, g.failed_prerequisite),
            (Reason::Disabled, Some("p"))
        );
        // A prerequisite that is off fails whatever variation is required.
        let r = snapshot.evaluate("r", &ctx, 0);
        assert_eq!(
            (r.reason, r.failed_prerequisite),
            (Reason::Disabled, Some("q"))
        );
    }
}
