//! Secrets handed out once and stored hashed: API keys (`efk_…`), SDK keys (`efs_…`,
//! `efc_…`), refresh tokens (`efr_…`) and webhook secrets (`whsec_…`).

use crate::db;

/// A new secret with a prefix, e.g. `efk_…` for API keys.
pub fn new_secret(prefix: &str) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    format!(
        "{prefix}_{}",
        Base64UrlUnpadded::encode_string(&db::random_bytes::<24>())
    )
}

/// The stored form of a secret (the edge hashes SDK keys the same way).
pub fn hash_secret(secret: &str) -> String {
    edgeflag_edge::keys::hash_key(secret)
}

/// The first characters of a secret, shown in listings so people can tell keys apart.
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(10).collect()
}
