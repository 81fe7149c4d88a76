//! The end-to-end suite (`tests/e2e/`): the admin binary and the built Worker on local
//! workerd, as separate processes wired together; a flag edit must reach OFREP clients,
//! SDK keys and the signing key must rotate with no failed request.

use crate::{node::Package, target_dir};

const PKG: Package = Package("tests/e2e");

pub fn test() -> Result<(), String> {
    crate::worker::build()?;
    crate::run(
        "cargo",
        &["build", "-p", "edgeflag-admin", "--bin", "edgeflag"],
    )?;
    PKG.install()?;
    let admin = target_dir().join("debug").join("edgeflag");
    PKG.node_test(".", &[("EDGEFLAG_ADMIN_BIN", admin.display().to_string())])
}
