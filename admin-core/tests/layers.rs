//! The layering of the admin, checked: this crate is the domain, so it names no HTTP
//! server crate and no type of the HTTP layer, and its modules import each other in
//! one direction only (no cycle), so any of them can be used, tested and read without
//! the rest. See ARCHITECTURE.md, "admin-core".

use std::collections::{BTreeMap, BTreeSet};

const MANIFEST: &str = include_str!("../Cargo.toml");

/// Crates that serve HTTP; the domain must not depend on them.
const SERVER_CRATES: &[&str] = &[
    "axum",
    "axum-extra",
    "tower",
    "tower-http",
    "hyper",
    "actix-web",
];

/// Names of the HTTP layer (`edgeflag-admin`) that domain code must not mention.
const HTTP_NAMES: &[&str] = &[
    "axum",
    "tower",
    "AppState",
    "ApiError",
    "Principal",
    "StatusCode",
    "IntoResponse",
];

/// The crate's modules and their source, read from `src/`.
fn modules() -> BTreeMap<String, String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        assert!(
            path.extension().is_some_and(|e| e == "rs"),
            "{}: the domain's modules are flat files; keep them so or teach this test about directories",
            path.display()
        );
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        out.insert(name, std::fs::read_to_string(&path).unwrap());
    }
    out
}

/// The source without comments, so prose may name what code must not.
fn code(source: &str) -> String {
    source
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The crate modules a source refers to: `crate::x…` paths and `use crate::{x, y::z}` groups.
fn imports(source: &str) -> BTreeSet<String> {
    let text = code(source);
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => break,
                    '}' => depth -= 1,
                    ',' if depth == 1 => items.push(std::mem::take(&mut item)),
                    _ if depth == 1 => item.push(c),
                    _ => {}
                }
            }
            items.push(item);
            for item in items {
                let name: String = item.trim().chars().take_while(|&c| is_ident(c)).collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            out.insert(name);
        }
    }
    out
}

/// The module graph: each module and the modules it imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    modules
        .iter()
        .filter(|(name, _)| name.as_str() != "lib")
        .map(|(name, source)| {
            let deps = imports(source)
                .into_iter()
                .filter(|d| d != name && modules.contains_key(d))
                .collect();
            (name.clone(), deps)
        })
        .collect()
}

/// A cycle through `node`, if one is reachable from it.
fn find_cycle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    node: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(start) = path.iter().position(|n| n == node) {
        let mut cycle = path[start..].to_vec();
        cycle.push(node.to_string());
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(cycle) = find_cycle(graph, next, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[test]
fn the_domain_depends_on_no_http_server_crate() {
    let deps = MANIFEST
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap();
    for line in deps.lines() {
        let name = line.split(['=', ' ']).next().unwrap_or("").trim();
        assert!(
            !SERVER_CRATES.contains(&name),
            "admin-core depends on `{name}`; HTTP belongs in admin/"
        );
    }
}

#[test]
fn domain_code_names_no_http_type() {
    for (module, source) in modules() {
        let text = code(&source);
        for name in HTTP_NAMES {
            let named = text.match_indices(name).any(|(at, _)| {
                let before = text[..at].chars().next_back().is_none_or(|c| !is_ident(c));
                let after = text[at + name.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !is_ident(c));
                before && after
            });
            assert!(
                !named,
                "src/{module}.rs names `{name}`; HTTP belongs in admin/"
            );
        }
    }
}

#[test]
fn modules_import_each_other_without_cycles() {
    let graph = graph();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = find_cycle(&graph, node, &mut Vec::new(), &mut done) {
            panic!("module cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_import_reader_sees_groups_paths_and_cycles() {
    let source = "use crate::{\n    actor::Actor,\n    db::{self, now_ms},\n    outbox, validate,\n};\n// crate::commented\nfn f() { crate::audit::record(); }";
    let found: Vec<String> = imports(source).into_iter().collect();
    assert_eq!(found, ["actor", "audit", "db", "outbox", "validate"]);
    let cyclic: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    let cycle = find_cycle(&cyclic, "a", &mut Vec::new(), &mut BTreeSet::new());
    assert_eq!(cycle.unwrap(), ["a", "b", "a"]);
}
