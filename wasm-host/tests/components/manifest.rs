//! `spin.toml` and the adapter agree: every variable the edge reads is declared
//! (Spin's lower-case names) and passed to the component, and the component may
//! open the store the adapter opens. Nothing here can validate `spin.toml` as the
//! `spin` CLI would; this catches the names drifting apart.

use edgeflag_edge::config::vars;
use edgeflag_wasm_host::spin::KV_STORE;

const MANIFEST: &str = include_str!("../../../spin.toml");

#[test]
fn every_edge_variable_is_declared_and_passed_to_the_component() {
    for name in [
        vars::TRUSTED_KEYS,
        vars::REFRESH_INTERVAL_MS,
        vars::CORS_ORIGIN,
        vars::TEST_CLOCK,
    ] {
        let spin_name = name.to_ascii_lowercase();
        let declared = format!("\n{spin_name} = {{");
        let passed = format!("\n{spin_name} = \"{{{{ {spin_name} }}}}\"");
        assert!(
            MANIFEST.contains(&declared),
            "spin.toml does not declare {spin_name}"
        );
        assert!(
            MANIFEST.contains(&passed),
            "spin.toml does not pass {spin_name} to the component"
        );
    }
}

#[test]
fn the_component_may_open_the_adapters_store() {
    let line = format!("key_value_stores = [\"{KV_STORE}\"]");
    assert!(MANIFEST.contains(&line), "spin.toml lacks `{line}`");
}
