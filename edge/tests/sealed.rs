//! Sealed records answer exactly like the whole snapshot: for every shared vector's
//! snapshot (and every snapshot text its `loads` give that loads), every flag's record
//! evaluates that flag, for every context and time the file's cases use, to the same
//! detail as the whole snapshot, typed and untyped.

use std::collections::BTreeSet;

use edgeflag_edge::sealed::subsets;
use edgeflag_engine::{Context, Snapshot, ValueType};
use edgeflag_vectors::{DEFAULT_NOW_MS, FILES, now, parse};
use serde_json::Value;

#[test]
fn every_flag_record_answers_like_the_whole_snapshot_on_every_vector() {
    let mut compared = 0usize;
    for (name, text) in FILES {
        let doc = parse(name, text);
        let mut texts = vec![serde_json::to_vec(&doc["snapshot"]).unwrap()];
        for load in doc["loads"].as_array().into_iter().flatten() {
            texts.push(load["text"].as_str().unwrap().as_bytes().to_vec());
        }
        let cases: Vec<&Value> = doc["cases"].as_array().into_iter().flatten().collect();
        let mut contexts = vec![Context::new()];
        contexts.extend(
            cases
                .iter()
                .filter_map(|c| Context::from_value(c["context"].clone()).ok()),
        );
        let mut times: BTreeSet<i64> = cases.iter().filter_map(|c| now(c)).collect();
        times.insert(DEFAULT_NOW_MS);
        for (i, text) in texts.iter().enumerate() {
            let Ok(whole) = Snapshot::load(text) else {
                continue;
            };
            let whole = whole.snapshot;
            let parts = subsets(text).unwrap_or_else(|e| panic!("{name} #{i}: {e}"));
            let sealed: BTreeSet<&str> = parts.iter().map(|(k, _)| k.as_str()).collect();
            let listed: BTreeSet<&str> = whole.flags().map(|f| f.key).collect();
            // A client snapshot also carries flags it does not list (prerequisites of
            // client-visible ones); they get records the edge does not write
            // (`answers_alike`), and are compared here all the same.
            assert!(
                listed.is_subset(&sealed),
                "{name} #{i}: a record for every listed flag"
            );
            for (flag, part) in &parts {
                let part = Snapshot::load(part)
                    .unwrap_or_else(|e| panic!("{name} #{i} {flag}: the record is refused: {e}"))
                    .snapshot;
                assert_eq!(part.flag(flag), whole.flag(flag), "{name} #{i} {flag}");
                for ctx in &contexts {
                    for &at in &times {
                        let detail =
                            |s: &Snapshot| serde_json::to_value(s.evaluate(flag, ctx, at)).unwrap();
                        assert_eq!(
                            detail(&part),
                            detail(&whole),
                            "{name} #{i} {flag} {ctx:?} at {at}"
                        );
                        for ty in ["boolean", "string", "number", "object"] {
                            let ty = ValueType::parse(ty).unwrap();
                            let typed = |s: &Snapshot| {
                                serde_json::to_value(s.evaluate_as(flag, ty, ctx, at)).unwrap()
                            };
                            assert_eq!(typed(&part), typed(&whole), "{name} #{i} {flag} as {ty:?}");
                        }
                        compared += 1;
                    }
                }
            }
        }
    }
    assert!(compared > 1_000, "only {compared} comparisons");
    println!("{compared} evaluations compared");
}
