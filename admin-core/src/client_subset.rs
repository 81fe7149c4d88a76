//! What goes into a client (browser) snapshot: the client-visible flags, the
//! transitive closure of the prerequisites they name (server-only or not, so that a
//! client-visible flag evaluates in the browser exactly as it does at the edge), and
//! only the segments those flags use (a segment's `included` list may name users, so
//! segments no included flag needs stay out of the browser). [`client_form`] then
//! hides what identifies people and what a browser can never be served
//! (docs/snapshot-format.md, "Client snapshots").

use std::collections::{BTreeSet, HashMap};

use edgeflag_engine::hashed::hash;
use serde_json::{Map, Value, json};

/// Picks, from an environment's engine documents, those the client snapshot needs.
/// Order is kept as in the input.
pub fn client_subset(flags: &[Value], segments: &[Value]) -> (Vec<Value>, Vec<Value>) {
    let by_key: HashMap<&str, &Value> = flags.iter().filter_map(|f| Some((key(f)?, f))).collect();
    let mut needed: BTreeSet<&str> = BTreeSet::new();
    let mut queue: Vec<&str> = flags
        .iter()
        .filter(|f| f["clientVisible"].as_bool() == Some(true))
        .filter_map(key)
        .collect();
    while let Some(k) = queue.pop() {
        if !needed.insert(k) {
            continue;
        }
        if let Some(flag) = by_key.get(k) {
            queue.extend(prerequisite_keys(flag).filter(|p| !needed.contains(p)));
        }
    }
    let chosen: Vec<Value> = flags
        .iter()
        .filter(|f| key(f).is_some_and(|k| needed.contains(k)))
        .cloned()
        .collect();
    let used: BTreeSet<&str> = chosen.iter().flat_map(segment_keys).collect();
    let segs = segments
        .iter()
        .filter(|s| key(s).is_some_and(|k| used.contains(k)))
        .cloned()
        .collect();
    (chosen, segs)
}

/// The client snapshot's form of the flags and segments [`client_subset`] chose:
/// every individual target, segment member and string of `in` / `notIn` hashed with
/// `salt`, and each flag that is not client-visible (there only as a prerequisite)
/// cut to what evaluation reads: no description, tags or metadata, and variation
/// values replaced by a placeholder of the flag's type (a prerequisite is compared
/// by the variation it serves, never by its value).
pub fn client_form(flags: &mut [Value], segments: &mut [Value], salt: &str) {
    for flag in flags.iter_mut().filter_map(Value::as_object_mut) {
        for target in items(flag.get_mut("targets")) {
            move_hashed(target, "values", "hashes", salt, false);
        }
        for rule in items(flag.get_mut("rules")) {
            hash_conditions(rule, salt);
        }
        if flag.get("clientVisible").and_then(Value::as_bool) != Some(true) {
            for field in ["description", "tags", "metadata"] {
                flag.remove(field);
            }
            let placeholder = match flag.get("type").and_then(Value::as_str) {
                Some("boolean") => json!(false),
                Some("string") => json!(""),
                Some("number") => json!(0),
                _ => json!({}),
            };
            for variation in items(flag.get_mut("variations")) {
                variation.insert("value".into(), placeholder.clone());
            }
        }
    }
    for segment in segments.iter_mut().filter_map(Value::as_object_mut) {
        move_hashed(segment, "included", "includedHashes", salt, false);
        move_hashed(segment, "excluded", "excludedHashes", salt, false);
        for rule in items(segment.get_mut("rules")) {
            hash_conditions(rule, salt);
        }
    }
}

/// The objects of an array field, for editing in place.
fn items(list: Option<&mut Value>) -> impl Iterator<Item = &mut Map<String, Value>> {
    list.and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// Hashes the string values of every `in` / `notIn` condition of a rule.
fn hash_conditions(rule: &mut Map<String, Value>, salt: &str) {
    for condition in items(rule.get_mut("conditions")) {
        let op = condition.get("op").and_then(Value::as_str);
        if matches!(op, Some("in" | "notIn")) {
            let fold = condition.get("caseInsensitive").and_then(Value::as_bool) == Some(true);
            move_hashed(condition, "values", "hashes", salt, fold);
        }
    }
}

/// Moves the strings of `item[from]` into `item[to]`, hashed; other values stay,
/// and `from` goes when nothing is left in it.
fn move_hashed(item: &mut Map<String, Value>, from: &str, to: &str, salt: &str, fold: bool) {
    let Some(Value::Array(values)) = item.remove(from) else {
        return;
    };
    let (strings, rest): (Vec<Value>, Vec<Value>) = values.into_iter().partition(Value::is_string);
    let hashes: Vec<Value> = strings
        .iter()
        .filter_map(Value::as_str)
        .map(|v| Value::from(hash(salt, v, fold)))
        .collect();
    if !rest.is_empty() {
        item.insert(from.into(), Value::Array(rest));
    }
    item.insert(to.into(), Value::Array(hashes));
}

fn key(item: &Value) -> Option<&str> {
    item["key"].as_str()
}

fn prerequisite_keys(flag: &Value) -> impl Iterator<Item = &str> {
    flag["prerequisites"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["flag"].as_str())
}

/// The segments a flag's rules name with `inSegment` / `notInSegment` (segment rules
/// cannot name segments, so one level is the whole closure).
fn segment_keys(flag: &Value) -> Vec<&str> {
    let rules = flag["rules"].as_array().into_iter().flatten();
    let conditions = rules.flat_map(|r| r["conditions"].as_array().into_iter().flatten());
    conditions
        .filter(|c| matches!(c["op"].as_str(), Some("inSegment" | "notInSegment")))
        .flat_map(|c| c["values"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgeflag_engine::{Context, Snapshot};
    use serde_json::json;

    fn flag(key: &str, visible: bool, prereq: Option<&str>, segment: Option<&str>) -> Value {
        let rules = match segment {
            Some(s) => {
                json!([{"conditions": [{"op": "inSegment", "values": [s]}], "serve": {"variation": "on"}}])
            }
            None => json!([]),
        };
        let prerequisites = match prereq {
            Some(p) => json!([{"flag": p, "variation": "on"}]),
            None => json!([]),
        };
        json!({
            "key": key, "version": 1, "type": "boolean", "enabled": true, "offVariation": "off",
            "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
            "rules": rules, "defaultRule": {"variation": "off"},
            "prerequisites": prerequisites, "clientVisible": visible,
        })
    }

    fn segment(key: &str, included: &[&str]) -> Value {
        json!({"key": key, "version": 1, "included": included, "excluded": [], "rules": []})
    }

    fn load(flags: Vec<Value>, segments: Vec<Value>) -> Snapshot {
        let doc = json!({"schemaVersion": 1, "environment": "e", "version": 1,
            "generatedAt": "2026-01-01T00:00:00Z", "flags": flags, "segments": segments});
        let loaded = Snapshot::load(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        loaded.snapshot
    }

    fn keys(items: &[Value]) -> Vec<&str> {
        items.iter().filter_map(key).collect()
    }

    #[test]
    fn takes_the_prerequisite_closure_and_only_the_segments_it_uses() {
        let flags = vec![
            flag("a-unrelated", false, None, Some("secret")),
            flag("b-visible", true, Some("c-server"), None),
            flag("c-server", false, Some("d-deep"), Some("beta")),
            flag("d-deep", false, None, None),
        ];
        let segments = vec![segment("beta", &["u1"]), segment("secret", &["vip"])];
        let (chosen, segs) = client_subset(&flags, &segments);
        assert_eq!(keys(&chosen), ["b-visible", "c-server", "d-deep"]);
        assert_eq!(keys(&segs), ["beta"]);
    }

    #[test]
    fn cycles_and_missing_prerequisites_terminate() {
        let flags = vec![
            flag("x", true, Some("y"), None),
            flag("y", false, Some("x"), None),
            flag("z", true, Some("gone"), None),
        ];
        let (chosen, _) = client_subset(&flags, &[]);
        assert_eq!(keys(&chosen), ["x", "y", "z"]);
    }

    #[test]
    fn a_visible_flag_evaluates_the_same_from_the_client_snapshot() {
        let flags = vec![
            flag("visible", true, Some("server-only"), None),
            flag("server-only", false, None, Some("beta")),
        ];
        let segments = vec![segment("beta", &["u1"])];
        let (cf, cs) = client_subset(&flags, &segments);
        let server = load(flags, segments);
        let client = load(cf, cs);
        for user in ["u1", "u2"] {
            let ctx =
                Context::from_map(json!({"targetingKey": user}).as_object().cloned().unwrap())
                    .unwrap();
            let s = server.evaluate("visible", &ctx, 0);
            let c = client.evaluate("visible", &ctx, 0);
            assert_eq!(
                serde_json::to_value(&s).unwrap(),
                serde_json::to_value(&c).unwrap(),
                "{user}"
            );
        }
        // u1 is in the segment: the prerequisite serves `on`, so `visible` is enabled.
        let ctx =
            Context::from_map(json!({"targetingKey": "u1"}).as_object().cloned().unwrap()).unwrap();
        let detail = serde_json::to_value(client.evaluate("visible", &ctx, 0)).unwrap();
        assert_ne!(detail["reason"], json!("DISABLED"), "{detail}");
        assert_ne!(detail["reason"], json!("PREREQUISITE_FAILED"), "{detail}");
    }
}
