//! Stream tokens: the short-lived credential an event-stream URL carries.
//!
//! `EventSource` cannot send headers, so the URL must authenticate the stream by
//! itself, and it must not be an SDK key (URLs end up in browser histories, proxies
//! and logs). The edge mints a token when it answers an evaluation and checks it when
//! the stream opens; nothing else is needed, because the edge MACs the token with its
//! own secret (`EDGEFLAG_STREAM_SECRET`, HMAC-SHA256).
//!
//! A token is `base64url(payload) "." base64url(tag)`, the payload the JSON
//! `{"e": environment, "x": expiry (epoch seconds), "s": subject}` and the tag the
//! first 16 bytes of the HMAC of the encoded payload. The subject names the SDK key
//! the token was minted for without revealing it (a MAC of the key's hash), so the
//! connection limit is per credential. Tokens are minted per window of
//! [`WINDOW_S`] and expire at the end of the next window, so a token lives 15 to 30
//! minutes and every response within a window carries the same URL (an `ETag` of a
//! bulk evaluation stays stable, and providers keep their connection).

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::ApiError;

/// Tokens are minted per window of this many seconds and live until the end of the next.
pub const WINDOW_S: i64 = 900;

/// Bytes of the MAC kept in a token: 128 bits.
const TAG_BYTES: usize = 16;

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The environment whose changes the stream reports.
    #[serde(rename = "e")]
    pub environment: String,
    /// Expiry, epoch seconds.
    #[serde(rename = "x")]
    pub expires_s: i64,
    /// Who the token was minted for: a MAC of the SDK key's hash, 12 characters.
    #[serde(rename = "s")]
    pub subject: String,
}

/// The secret that MACs stream tokens, held as a keyed MAC ready to clone. Its
/// `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Hmac<Sha256>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// The shortest secret accepted: 32 bytes, as many as the MAC's key.
    pub const MIN_BYTES: usize = 32;

    pub fn new(bytes: impl AsRef<[u8]>) -> Option<Self> {
        let bytes = bytes.as_ref();
        if bytes.len() < Self::MIN_BYTES {
            return None;
        }
        <Hmac<Sha256> as Mac>::new_from_slice(bytes).ok().map(Self)
    }

    fn mac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part);
        }
        mac
    }

    /// The subject for an SDK key's hash: stable, and reveals nothing of the key.
    pub fn subject(&self, key_hash: &str) -> String {
        let tag = self
            .mac(&[b"edgeflag-stream-subject\0", key_hash.as_bytes()])
            .finalize();
        let bytes = tag.into_bytes();
        Base64UrlUnpadded::encode_string(bytes.get(..9).unwrap_or_default())
    }

    /// A token for `environment` and the key whose hash is `key_hash`, valid until the
    /// end of the window after the current one.
    pub fn mint(&self, environment: &str, key_hash: &str, now_ms: i64) -> String {
        let now_s = now_ms.div_euclid(1000);
        let claims = Claims {
            environment: environment.to_string(),
            expires_s: (now_s.div_euclid(WINDOW_S) + 2) * WINDOW_S,
            subject: self.subject(key_hash),
        };
        // Serializing three plain fields cannot fail.
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let payload = Base64UrlUnpadded::encode_string(&payload);
        let tag = self.mac(&[payload.as_bytes()]).finalize().into_bytes();
        let tag = Base64UrlUnpadded::encode_string(tag.get(..TAG_BYTES).unwrap_or_default());
        format!("{payload}.{tag}")
    }

    /// Checks a token's MAC and expiry. Every refusal is `401`, and no message repeats
    /// the token.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, ApiError> {
        let invalid = || ApiError::unauthorized("the event stream token is not valid");
        let (payload, tag) = token.split_once('.').ok_or_else(invalid)?;
        let tag = Base64UrlUnpadded::decode_vec(tag).map_err(|_| invalid())?;
        if tag.len() != TAG_BYTES {
            return Err(invalid());
        }
        self.mac(&[payload.as_bytes()])
            .verify_truncated_left(&tag)
            .map_err(|_| invalid())?;
        let claims: Claims = Base64UrlUnpadded::decode_vec(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(invalid)?;
        if claims.expires_s <= now_ms.div_euclid(1000) {
            return Err(ApiError::unauthorized(
                "the event stream token has expired; evaluate again for a fresh eventStreams URL",
            ));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_608_000_000;

    fn secret() -> Secret {
        Secret::new(*b"0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn a_minted_token_verifies_and_names_its_environment_and_subject() {
        let token = secret().mint("production", "hash-1", NOW);
        let claims = secret().verify(&token, NOW).unwrap();
        assert_eq!(claims.environment, "production");
        assert_eq!(claims.subject, secret().subject("hash-1"));
        assert_ne!(claims.subject, secret().subject("hash-2"));
        assert_eq!(claims.subject.len(), 12);
        assert!(!token.contains("hash-1"));
    }

    #[test]
    fn tokens_are_stable_within_a_window_and_live_fifteen_to_thirty_minutes() {
        let window_start = NOW - NOW.rem_euclid(WINDOW_S * 1000);
        let first = secret().mint("production", "h", window_start);
        let last = secret().mint("production", "h", window_start + WINDOW_S * 1000 - 1);
        assert_eq!(first, last);
        let claims = secret().verify(&first, window_start).unwrap();
        assert_eq!(claims.expires_s * 1000 - window_start, 2 * WINDOW_S * 1000);
        assert!(
            secret()
                .verify(&last, window_start + 2 * WINDOW_S * 1000 - 1)
                .is_ok()
        );
        let expired = secret()
            .verify(&last, window_start + 2 * WINDOW_S * 1000)
            .unwrap_err();
        assert_eq!(expired.status, 401);
        assert!(expired.message.contains("expired"));
    }

    #[test]
    fn forged_tampered_and_malformed_tokens_are_401() {
        let token = secret().mint("production", "h", NOW);
        let (payload, tag) = token.split_once('.').unwrap();
        let other = Claims {
            environment: "staging".into(),
            expires_s: NOW / 1000 + 600,
            subject: "x".into(),
        };
        let forged_payload = Base64UrlUnpadded::encode_string(&serde_json::to_vec(&other).unwrap());
        let stranger = Secret::new(*b"another secret of thirty-two b!!").unwrap();
        for bad in [
            format!("{forged_payload}.{tag}"),
            format!("{payload}.{}", &tag[1..]),
            format!("{payload}.AAAAAAAAAAAAAAAAAAAAAA"),
            stranger.mint("production", "h", NOW),
            "no-dot".into(),
            String::new(),
            format!("{payload}."),
        ] {
            let error = secret().verify(&bad, NOW).unwrap_err();
            assert_eq!((error.status, error.code), (401, "UNAUTHORIZED"), "{bad}");
            assert!(!error.message.contains(payload));
        }
    }

    #[test]
    fn short_secrets_are_refused_and_never_printed() {
        assert!(Secret::new(*b"short").is_none());
        assert_eq!(format!("{:?}", secret()), "Secret(…)");
    }
}
