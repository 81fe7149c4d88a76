//! Where things live in the key-value store (documented in `docs/kv-layout.md`).
//! Every value is written by an accepted publish only, except the sealed records, which
//! the edge writes after it has verified a version itself.

/// The environment's current snapshot version, as decimal text. Read once per
/// refresh interval; everything else is read only when it changes.
pub fn version(env: &str) -> String {
    format!("env/{env}/version")
}

/// The signed server snapshot (JWS, `aud: server`).
pub fn server_snapshot(env: &str) -> String {
    format!("env/{env}/server.jws")
}

/// The signed client snapshot (JWS, `aud: client`): the client-visible flags and the
/// prerequisites and segments they need.
pub fn client_snapshot(env: &str) -> String {
    format!("env/{env}/client.jws")
}

/// The signed SDK-key index of the environment (JWS, `aud: keys`).
pub fn key_index(env: &str) -> String {
    format!("env/{env}/keys.jws")
}

/// The id of the organization the environment belongs to, as text: set by
/// the first publish signed by an organization's key (`trusted.rs`).
pub fn env_org(env: &str) -> String {
    format!("env/{env}/org")
}

/// The seal of the environment's sealed records (`sealed.rs`): its version, key index and
/// the endorsements it was verified under, MACed by the edge.
pub fn seal(env: &str) -> String {
    format!("env/{env}/seal")
}

/// The sealed record of one flag: the smallest snapshot that evaluates it as the whole
/// one does, MACed by the edge (`sealed.rs`).
pub fn flag_record(env: &str, flag: &str) -> String {
    format!("env/{env}/flag/{flag}")
}

/// One SDK key, by the SHA-256 of its secret: which environment and kind it is.
pub fn sdk_key(hash: &str) -> String {
    format!("sdk-key/{hash}")
}

/// An optional JWKS of instance keys endorsed by a trusted instance key, added to those
/// in the configuration.
pub const TRUSTED_KEYS: &str = "trusted-keys.json";

/// The version of the stored endorsed instance keys (`trust.rs`); an endorsement must be newer.
pub const TRUSTED_KEYS_VERSION: &str = "trusted-keys.version";

/// The keys endorsed for each organization, with their versions:
/// `{"<org id>": {"version": n, "keys": [JWK…]}}` (`trusted.rs`).
pub const TRUSTED_KEYS_ORGS: &str = "trusted-keys.orgs.json";
