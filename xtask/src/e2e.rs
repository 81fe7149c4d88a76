//! The end-to-end suite (`tests/e2e/`): the admin binary, the built Worker on local
//! workerd and the Spin app in the wasmtime host, as separate processes wired together,
//! with the JS SDK as the browser's stand-in; a flag edit must reach every edge and the
//! SDK, and SDK keys and the signing key must rotate with no failed request.

use crate::{node::Package, target_dir};

const PKG: Package = Package("tests/e2e");

pub fn test() -> Result<(), String> {
    crate::worker::build()?;
    let components = crate::spin::build()?;
    // Built and packed as a release publishes it: the README test installs the tarball.
    let tarball = crate::jssdk::pack()?;
    crate::run(
        "cargo",
        &[
            "build",
            "-p",
            "edgeflag-admin",
            "--bin",
            "edgeflag",
            "-p",
            "edgeflag-wasm-host",
            "--bin",
            "edgeflag-wasm-host",
        ],
    )?;
    PKG.install()?;
    let bin = |name: &str| target_dir().join("debug").join(name).display().to_string();
    PKG.node_test(
        ".",
        &[
            ("EDGEFLAG_ADMIN_BIN", bin("edgeflag")),
            ("EDGEFLAG_JS_TARBALL", tarball.display().to_string()),
            ("EDGEFLAG_WASM_HOST_BIN", bin("edgeflag-wasm-host")),
            (
                "EDGEFLAG_SPIN_COMPONENT",
                components.spin.display().to_string(),
            ),
            ("NODE_OPTIONS", crate::worker::EVENTSOURCE.into()),
        ],
    )
}
