//! SDK keys. The edge never sees stored secrets: the admin publishes SHA-256 hashes,
//! and a request's key is hashed and looked up.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a key may do: a server key evaluates anything; a client key only fetches
/// the signed client snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    Server,
    Client,
}

/// One entry of an environment's key index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyEntry {
    /// Lowercase hex SHA-256 of the key's secret.
    pub hash: String,
    pub kind: KeyKind,
    /// End of a rotated key's grace period (epoch milliseconds); absent for current keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

impl KeyEntry {
    pub fn is_valid_at(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_none_or(|end| now_ms < end)
    }
}

/// The payload of the signed key index (`aud: keys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyIndex {
    pub environment: String,
    pub version: u64,
    pub keys: Vec<KeyEntry>,
    /// The environment is archived: the edge answers its keys `410 ENVIRONMENT_ARCHIVED`
    /// and serves nothing from it (its snapshots are empty). Absent when false, so an
    /// edge that predates it still reads every other index.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

impl KeyIndex {
    pub fn find(&self, hash: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.hash == hash)
    }
}

/// What the edge stores under `sdk-key/{hash}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    pub environment: String,
    pub kind: KeyKind,
}

/// The lowercase hex SHA-256 of a key's secret.
pub fn hash_key(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Bytes as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn rotated_keys_expire() {
        let entry = KeyEntry {
            hash: "h".into(),
            kind: KeyKind::Server,
            expires_at_ms: Some(10),
        };
        assert!(entry.is_valid_at(9));
        assert!(!entry.is_valid_at(10));
    }
}
