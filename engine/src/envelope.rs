//! The signed snapshot envelope: one definition for the admin (signing), the edge
//! and the browser SDK (verifying).
//!
//! A signed snapshot is a JWS in compact serialization (RFC 7515):
//! `BASE64URL(header) "." BASE64URL(snapshot JSON) "." BASE64URL(signature)`,
//! signed with Ed25519 (`"alg": "EdDSA"`, RFC 8037). The header names the key
//! (`kid`) and repeats the snapshot's environment (`env`), version (`ver`) and
//! audience (`aud`: `server` or `client`), so a verifier can refuse an old or
//! misdirected snapshot before it parses the payload. Public keys travel as a JWKS.

use alloc::{
    format,
    string::{String, ToString},
    vec::Vec,
};
use base64ct::{Base64UrlUnpadded, Encoding};
use jwt_compact::{Algorithm, AlgorithmSignature, alg::Ed25519};
use serde::{Deserialize, Serialize};

use crate::{base64url, json, reader};

/// The `typ` of every Edgeflag snapshot JWS.
pub const TYPE: &str = "edgeflag-snapshot+jws";
const ALG: &str = "EdDSA";

/// Why a signed snapshot was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("signed snapshot is malformed: {0}")]
    Malformed(String),
    #[error("signed snapshot uses algorithm `{0}`; only EdDSA is accepted")]
    UnsupportedAlgorithm(String),
    #[error("signed snapshot has type `{0}`, expected `{TYPE}`")]
    WrongType(String),
    #[error("signed snapshot names key `{0}`, which is not trusted")]
    UnknownKey(String),
    #[error("signature does not verify with key `{0}`")]
    BadSignature(String),
    #[error("invalid key: {0}")]
    InvalidKey(String),
}

/// The protected header of a signed snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub alg: String,
    pub typ: String,
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// A verified snapshot: its header and payload bytes (the snapshot JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub header: Header,
    pub payload: Vec<u8>,
}

/// One trusted public key.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    kid: String,
    key: ed25519_dalek::VerifyingKey,
}

impl VerifyingKey {
    pub fn from_bytes(kid: &str, bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let bytes: &[u8; 32] = bytes.try_into().map_err(|_| {
            EnvelopeError::InvalidKey(format!("key `{kid}` is not a 32-byte Ed25519 public key"))
        })?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| {
            EnvelopeError::InvalidKey(format!("key `{kid}` is not a 32-byte Ed25519 public key"))
        })?;
        Ok(Self {
            kid: kid.to_string(),
            key,
        })
    }

    pub fn from_jwk(jwk: &Jwk) -> Result<Self, EnvelopeError> {
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
            return Err(EnvelopeError::InvalidKey(format!(
                "key `{}` is {}/{}, expected OKP/Ed25519",
                jwk.kid, jwk.kty, jwk.crv
            )));
        }
        let bytes = base64url::decode(&jwk.x).ok_or_else(|| {
            EnvelopeError::InvalidKey(format!("key `{}` has an invalid `x`", jwk.kid))
        })?;
        Self::from_bytes(&jwk.kid, &bytes)
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_string(),
            crv: "Ed25519".to_string(),
            x: Base64UrlUnpadded::encode_string(self.key.as_bytes()),
            kid: self.kid.clone(),
            alg: Some(ALG.to_string()),
            key_use: Some("sig".to_string()),
        }
    }
}

/// A JSON Web Key (RFC 7517 / RFC 8037) for an Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
}

/// A JSON Web Key Set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// The keys a verifier trusts.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
}

impl KeySet {
    pub fn new(keys: Vec<VerifyingKey>) -> Self {
        Self { keys }
    }

    /// Parses a JWKS document; every key in it must be a valid Ed25519 key.
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, EnvelopeError> {
        let invalid = |why: &dyn core::fmt::Display| {
            EnvelopeError::InvalidKey(format!("JWKS is not valid: {why}"))
        };
        let text = crate::error::json_text(json).map_err(|e| invalid(&e))?;
        let jwks = reader::document(text, read_jwks).map_err(|e| invalid(&e))?;
        Self::from_jwks(&jwks)
    }

    pub fn from_jwks(jwks: &Jwks) -> Result<Self, EnvelopeError> {
        jwks.keys
            .iter()
            .map(VerifyingKey::from_jwk)
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    pub fn to_jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().map(VerifyingKey::to_jwk).collect(),
        }
    }

    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    pub fn push(&mut self, key: VerifyingKey) {
        self.keys.retain(|k| k.kid != key.kid);
        self.keys.push(key);
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }
}

/// Reads the header of a signed snapshot without verifying it — only to decide
/// which key to use or to report what arrived. Never trust what it returns.
pub fn peek_header(token: &str) -> Result<Header, EnvelopeError> {
    let (header, _, _) = split(token)?;
    decode_header(header)
}

/// Verifies a signed snapshot against trusted keys and returns its payload.
pub fn verify(token: &str, keys: &KeySet) -> Result<Verified, EnvelopeError> {
    let (header_b64, payload_b64, signature_b64) = split(token)?;
    let header = decode_header(header_b64)?;
    if header.alg != ALG {
        return Err(EnvelopeError::UnsupportedAlgorithm(header.alg));
    }
    if header.typ != TYPE {
        return Err(EnvelopeError::WrongType(header.typ));
    }
    let key = keys
        .get(&header.kid)
        .ok_or_else(|| EnvelopeError::UnknownKey(header.kid.clone()))?;
    let signature_bytes = base64url::decode(signature_b64)
        .ok_or_else(|| EnvelopeError::Malformed("signature is not base64url".into()))?;
    let signature = <Ed25519 as Algorithm>::Signature::try_from_slice(&signature_bytes)
        .map_err(|_| EnvelopeError::BadSignature(header.kid.clone()))?;
    let signed_len = header_b64.len() + 1 + payload_b64.len();
    let signed = token
        .as_bytes()
        .get(..signed_len)
        .ok_or_else(|| EnvelopeError::Malformed("truncated".into()))?;
    if !Ed25519.verify_signature(&signature, &key.key, signed) {
        return Err(EnvelopeError::BadSignature(header.kid));
    }
    let payload = base64url::decode(payload_b64)
        .ok_or_else(|| EnvelopeError::Malformed("payload is not base64url".into()))?;
    Ok(Verified { header, payload })
}

fn split(token: &str) -> Result<(&str, &str, &str), EnvelopeError> {
    let mut parts = token.trim().split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok((h, p, s)),
        _ => Err(EnvelopeError::Malformed(
            "expected three dot-separated parts".into(),
        )),
    }
}

fn decode_header(b64: &str) -> Result<Header, EnvelopeError> {
    let bytes = base64url::decode(b64)
        .ok_or_else(|| EnvelopeError::Malformed("header is not base64url".into()))?;
    let malformed =
        |why: &dyn core::fmt::Display| EnvelopeError::Malformed(format!("header: {why}"));
    let text = crate::error::json_text(&bytes).map_err(|e| malformed(&e))?;
    reader::document(text, read_header).map_err(|e| malformed(&e))
}

/// [`Jwks`], read as its serde derive reads it (`reader` holds the rules).
fn read_jwks(r: &mut json::Reader<'_>) -> reader::Read<Jwks> {
    const NAMES: &[&str] = &["keys"];
    let mut keys = Vec::new();
    let seen = reader::members(r, NAMES, |r, _| {
        keys = reader::list(r, read_jwk)?;
        Ok(())
    })?;
    reader::require(seen, 1, NAMES)?;
    Ok(Jwks { keys })
}

fn read_jwk(r: &mut json::Reader<'_>) -> reader::Read<Jwk> {
    const NAMES: &[&str] = &["kty", "crv", "x", "kid", "alg", "use"];
    let mut jwk = Jwk {
        kty: String::new(),
        crv: String::new(),
        x: String::new(),
        kid: String::new(),
        alg: None,
        key_use: None,
    };
    let seen = reader::members(r, NAMES, |r, i| {
        let text = |r: &mut json::Reader<'_>| reader::string(r).map(|s| s.into_string());
        match i {
            0 => jwk.kty = text(r)?,
            1 => jwk.crv = text(r)?,
            2 => jwk.x = text(r)?,
            3 => jwk.kid = text(r)?,
            4 => jwk.alg = reader::optional(r, text)?,
            _ => jwk.key_use = reader::optional(r, text)?,
        }
        Ok(())
    })?;
    reader::require(seen, 0b1111, NAMES)?;
    Ok(jwk)
}

fn read_header(r: &mut json::Reader<'_>) -> reader::Read<Header> {
    const NAMES: &[&str] = &["alg", "typ", "kid", "env", "ver", "aud"];
    let mut h = Header {
        alg: String::new(),
        typ: String::new(),
        kid: String::new(),
        env: None,
        ver: None,
        aud: None,
    };
    let seen = reader::members(r, NAMES, |r, i| {
        let text = |r: &mut json::Reader<'_>| reader::string(r).map(|s| s.into_string());
        match i {
            0 => h.alg = text(r)?,
            1 => h.typ = text(r)?,
            2 => h.kid = text(r)?,
            3 => h.env = reader::optional(r, text)?,
            4 => h.ver = reader::optional(r, reader::unsigned)?,
            _ => h.aud = reader::optional(r, text)?,
        }
        Ok(())
    })?;
    reader::require(seen, 0b111, NAMES)?;
    Ok(h)
}

/// A private signing key. Only the admin holds these; generating the seed is the
/// host's job, since the engine has no randomness.
#[cfg(feature = "sign")]
#[derive(Debug, Clone)]
pub struct SigningKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
}

#[cfg(feature = "sign")]
impl SigningKey {
    pub fn from_seed(kid: &str, seed: [u8; 32]) -> Self {
        Self {
            kid: kid.to_string(),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            kid: self.kid.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// Signs `payload` (the snapshot JSON) into a compact JWS. `env`, `ver` and
    /// `aud` are copied into the protected header.
    pub fn sign(
        &self,
        payload: &[u8],
        env: Option<&str>,
        ver: Option<u64>,
        aud: Option<&str>,
    ) -> String {
        let header = Header {
            alg: ALG.to_string(),
            typ: TYPE.to_string(),
            kid: self.kid.clone(),
            env: env.map(ToString::to_string),
            ver,
            aud: aud.map(ToString::to_string),
        };
        // Serializing a struct of strings and integers cannot fail.
        let header_json = serde_json::to_vec(&header).unwrap_or_default();
        let mut token = Base64UrlUnpadded::encode_string(&header_json);
        token.push('.');
        token.push_str(&Base64UrlUnpadded::encode_string(payload));
        let signature = Ed25519.sign(&self.key, token.as_bytes());
        token.push('.');
        token.push_str(&Base64UrlUnpadded::encode_string(&signature.to_bytes()));
        token
    }
}

#[cfg(all(test, feature = "sign"))]
mod tests {
    use super::*;

    fn key(kid: &str, byte: u8) -> SigningKey {
        SigningKey::from_seed(kid, [byte; 32])
    }

    #[test]
    fn round_trip() {
        let k = key("k1", 7);
        let token = k.sign(b"{\"a\":1}", Some("prod"), Some(4), Some("server"));
        let keys = KeySet::new(alloc::vec![k.verifying_key()]);
        let verified = verify(&token, &keys).unwrap();
        assert_eq!(verified.payload, b"{\"a\":1}");
        assert_eq!(verified.header.ver, Some(4));
        assert_eq!(verified.header.env.as_deref(), Some("prod"));
        assert_eq!(peek_header(&token).unwrap().kid, "k1");
    }

    /// JSON is UTF-8: a JWKS or a header with other bytes is refused, even in a
    /// member nobody reads (serde_json's byte-slice reader skipped those unchecked).
    #[test]
    fn refuses_documents_that_are_not_utf8() {
        let k = key("k1", 7);
        let jwk = serde_json::to_string(&k.verifying_key().to_jwk()).unwrap();
        let jwks = |extra: &[u8]| {
            [
                br#"{"keys":["#.as_slice(),
                jwk.as_bytes(),
                b"],",
                extra,
                b"}",
            ]
            .concat()
        };
        assert!(KeySet::from_jwks_json(&jwks(br#""x":"ok""#)).is_ok());
        let err = KeySet::from_jwks_json(&jwks(b"\"x\":\"\xff\"")).unwrap_err();
        assert!(
            matches!(&err, EnvelopeError::InvalidKey(m) if m.contains("not valid UTF-8")),
            "{err}"
        );
        let header = Base64UrlUnpadded::encode_string(b"{\"alg\":\"EdDSA\",\"x\":\"\xff\"}");
        let err = peek_header(&alloc::format!("{header}.e30.AA")).unwrap_err();
        assert!(
            matches!(&err, EnvelopeError::Malformed(m) if m.contains("not valid UTF-8")),
            "{err}"
        );
    }

    #[test]
    fn refuses_tampering_unknown_keys_and_garbage() {
        let k = key("k1", 7);
        let keys = KeySet::new(alloc::vec![k.verifying_key()]);
        let token = k.sign(b"{\"a\":1}", None, None, None);
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = Base64UrlUnpadded::encode_string(b"{\"a\":2}");
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), &keys),
            Err(EnvelopeError::BadSignature("k1".into()))
        );
        let other = key("k2", 9).sign(b"{}", None, None, None);
        assert_eq!(
            verify(&other, &keys),
            Err(EnvelopeError::UnknownKey("k2".into()))
        );
        // Same kid, different key: the signature must not verify.
        let impostor = key("k1", 8).sign(b"{}", None, None, None);
        assert_eq!(
            verify(&impostor, &keys),
            Err(EnvelopeError::BadSignature("k1".into()))
        );
        assert!(matches!(
            verify("garbage", &keys),
            Err(EnvelopeError::Malformed(_))
        ));
        assert!(matches!(
            verify("a.b.c", &keys),
            Err(EnvelopeError::Malformed(_))
        ));
    }

    #[test]
    fn refuses_other_algorithms() {
        let header = Base64UrlUnpadded::encode_string(
            br#"{"alg":"none","typ":"edgeflag-snapshot+jws","kid":"k1"}"#,
        );
        let token = format!("{header}.e30.");
        let keys = KeySet::new(alloc::vec![key("k1", 1).verifying_key()]);
        assert_eq!(
            verify(&token, &keys),
            Err(EnvelopeError::UnsupportedAlgorithm("none".into()))
        );
    }

    #[test]
    fn jwks_round_trip() {
        let keys = KeySet::new(alloc::vec![
            key("a", 1).verifying_key(),
            key("b", 2).verifying_key()
        ]);
        let json = serde_json::to_vec(&keys.to_jwks()).unwrap();
        let back = KeySet::from_jwks_json(&json).unwrap();
        assert_eq!(back.kids().collect::<Vec<_>>(), ["a", "b"]);
        let bad = br#"{"keys":[{"kty":"RSA","crv":"x","x":"AA","kid":"r"}]}"#;
        assert!(KeySet::from_jwks_json(bad).is_err());
    }
}

/// The JWKS and header readers held to the serde derives they replaced.
#[cfg(test)]
mod reader_tests {
    use super::*;
    use alloc::format;
    use proptest::prelude::*;

    fn agree<T>(text: &str, ours: fn(&mut json::Reader<'_>) -> reader::Read<T>)
    where
        T: serde::de::DeserializeOwned + PartialEq + core::fmt::Debug,
    {
        let a = reader::document(text, ours);
        let b = serde_json::from_str::<T>(text);
        match (&a, &b) {
            (Ok(x), Ok(y)) => assert_eq!(x, y, "{text}"),
            (Err(_), Err(_)) => {}
            _ => panic!("{text}: reader {a:?}, serde {b:?}"),
        }
    }

    fn member() -> impl Strategy<Value = String> {
        let key = prop::sample::select(
            &[
                "alg", "typ", "kid", "env", "ver", "aud", "kty", "crv", "x", "use", "keys", "other",
            ][..],
        );
        let value = prop::sample::select(
            &[
                "\"EdDSA\"",
                "\"k\"",
                "null",
                "1",
                "1.0",
                "-1",
                "18446744073709551615",
                "1e2",
                "true",
                "[]",
                "{}",
                "\"\\ud800\"",
                "[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"a\",\"kid\":\"k\"}]",
                "[{\"kty\":\"OKP\"}]",
                "[1]",
            ][..],
        );
        (key, value).prop_map(|(k, v)| format!("\"{k}\":{v}"))
    }

    proptest! {
        #[test]
        fn headers_and_key_sets_read_as_serde_reads_them(
            members in prop::collection::vec(member(), 0..9),
        ) {
            let text = format!("{{{}}}", members.join(","));
            agree::<Header>(&text, read_header);
            agree::<Jwks>(&text, read_jwks);
            agree::<Jwk>(&text, read_jwk);
        }
    }
}
