//! Endorsing publisher keys: `PUT /publish/v1/trusted-keys`.
//!
//! The keys in `EDGEFLAG_TRUSTED_KEYS` are the edge's root of trust and change only
//! when an operator redeploys. So that a publisher can rotate its signing keys with no
//! redeploy and no failed request, a key the edge already trusts may endorse a new key
//! set: a JWS (`aud: trusted-keys`, a `ver` that only grows) whose payload is a JWKS of
//! [`ScopedJwk`]s. Who may endorse what (`docs/publish-protocol.md`):
//!
//! - a key of organization `A` endorses keys of `A` only, replacing `A`'s endorsed set;
//! - an instance key endorses instance keys (replacing the endorsed instance set) and
//!   the keys of any organization (replacing each one's set).
//!
//! A key id the edge already trusts for someone else is refused, so no endorsement can
//! take over another organization's key id. A rotation is therefore: endorse
//! {old, new} (signed by old or by an instance key), publish signed by new, and once
//! every edge holds a snapshot signed by new, endorse {new}.

use std::collections::BTreeMap;

use edgeflag_engine::envelope::{self, EnvelopeError, Jwk, KeySet, Verified};
use serde::{Deserialize, Serialize};

use crate::{
    config::Config,
    error::ApiError,
    kv::Kv,
    layout,
    trusted::{self, EndorsedSet, Issuer, ScopedJwk, ScopedJwks, TrustedKeys},
};

/// The audience of an endorsement JWS.
pub const AUDIENCE: &str = "trusted-keys";

/// The body of an endorsement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndorseRequest {
    /// JWS, `aud: trusted-keys`, payload a JWKS of Ed25519 public keys.
    pub jwks: String,
}

/// The reply to an accepted endorsement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndorseAccepted {
    /// The endorsement's version, now the stored one.
    pub version: u64,
    /// The key ids now trusted in addition to the configured ones.
    pub kids: Vec<String>,
}

/// An endorsed JWKS, split by whom its keys sign for.
#[derive(Debug, Default)]
struct Endorsement {
    instance: Vec<Jwk>,
    orgs: BTreeMap<String, Vec<Jwk>>,
}

impl Endorsement {
    fn split(jwks: ScopedJwks) -> Self {
        let mut out = Self::default();
        for ScopedJwk { jwk, org } in jwks.keys {
            match org {
                Some(org) => out.orgs.entry(org).or_default().push(jwk),
                None => out.instance.push(jwk),
            }
        }
        out
    }

    fn kids(&self) -> Vec<String> {
        let orgs = self.orgs.values().flatten();
        self.instance
            .iter()
            .chain(orgs)
            .map(|k| k.kid.clone())
            .collect()
    }
}

/// Verifies and stores an endorsed key set.
pub async fn endorse(
    body: &[u8],
    kv: &impl Kv,
    config: &Config,
) -> Result<EndorseAccepted, ApiError> {
    crate::eval::require_object(body, "trusted-keys body")?;
    let request: EndorseRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::parse(format!("trusted-keys body: {e}")))?;
    let trusted = trusted::load(kv, &config.trusted_keys)
        .await
        .map_err(ApiError::unavailable)?;
    if trusted.is_empty() {
        return Err(no_trusted_keys());
    }
    let doc = verify_signed(&request.jwks, trusted.keys(), AUDIENCE)?;
    let version = doc
        .header
        .ver
        .ok_or_else(|| ApiError::parse("the trusted-keys document has no `ver` in its header"))?;
    let jwks: ScopedJwks = serde_json::from_slice(&doc.payload)
        .map_err(|e| ApiError::parse(format!("the trusted-keys document: {e}")))?;
    TrustedKeys::from_jwks(&jwks)
        .map_err(|e| ApiError::parse(format!("the trusted-keys document: {e}")))?;
    if jwks.keys.is_empty() {
        return Err(ApiError::parse("the trusted-keys document endorses no key"));
    }
    let signer = trusted.issuer(&doc.header.kid).unwrap_or(Issuer::Instance);
    let endorsement = Endorsement::split(jwks);
    check_scope(&signer, &endorsement)?;
    check_conflicts(&trusted, &endorsement)?;
    store(kv, &endorsement, version).await?;
    Ok(EndorseAccepted {
        version,
        kids: endorsement.kids(),
    })
}

/// An organization's key endorses its own organization's keys and nothing else.
fn check_scope(signer: &Issuer, endorsement: &Endorsement) -> Result<(), ApiError> {
    let Issuer::Organization(org) = signer else {
        return Ok(());
    };
    let foreign: Vec<String> = endorsement
        .orgs
        .keys()
        .filter(|o| *o != org)
        .map(|o| format!("organization `{o}`"))
        .chain((!endorsement.instance.is_empty()).then(|| "instance keys".to_string()))
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "a key of organization `{org}` endorses only keys of organization `{org}`; this set also holds {}",
        foreign.join(", ")
    )))
}

/// No endorsed key id may already be trusted for someone else.
fn check_conflicts(trusted: &TrustedKeys, endorsement: &Endorsement) -> Result<(), ApiError> {
    let claims =
        endorsement
            .instance
            .iter()
            .map(|k| (k, Issuer::Instance))
            .chain(endorsement.orgs.iter().flat_map(|(org, keys)| {
                keys.iter().map(|k| (k, Issuer::Organization(org.clone())))
            }));
    for (key, claimed) in claims {
        if let Some(holder) = trusted.issuer(&key.kid).filter(|h| *h != claimed) {
            return Err(ApiError::new(
                409,
                "KEY_CONFLICT",
                format!(
                    "key `{}` is already trusted for {}; it cannot be endorsed for {}",
                    key.kid,
                    holder.describe(),
                    claimed.describe()
                ),
            ));
        }
    }
    Ok(())
}

/// Replaces the endorsed sets this endorsement names, after checking each is newer.
async fn store(kv: &impl Kv, endorsement: &Endorsement, version: u64) -> Result<(), ApiError> {
    let fail = |e: crate::kv::KvError| ApiError::unavailable(e.to_string());
    let stale = |what: String, stored: u64| {
        ApiError::new(
            409,
            "STALE_VERSION",
            format!("the edge holds {what} version {stored}; this endorsement is {version}"),
        )
    };
    let mut orgs = trusted::org_endorsements(kv)
        .await
        .map_err(ApiError::unavailable)?;
    for org in endorsement.orgs.keys() {
        if let Some(set) = orgs.get(org).filter(|set| version <= set.version) {
            return Err(stale(
                format!("trusted keys of organization `{org}`"),
                set.version,
            ));
        }
    }
    if !endorsement.instance.is_empty() {
        let stored = kv.get(layout::TRUSTED_KEYS_VERSION).await.map_err(fail)?;
        let stored = stored.and_then(|b| String::from_utf8_lossy(&b).trim().parse::<u64>().ok());
        if let Some(stored) = stored.filter(|stored| version <= *stored) {
            return Err(stale("trusted keys".into(), stored));
        }
        let jwks = KeySet::new(
            endorsement
                .instance
                .iter()
                .filter_map(|k| envelope::VerifyingKey::from_jwk(k).ok())
                .collect(),
        )
        .to_jwks();
        let bytes = serde_json::to_vec(&jwks).map_err(|e| ApiError::unavailable(e.to_string()))?;
        kv.put(layout::TRUSTED_KEYS, &bytes).await.map_err(fail)?;
        kv.put(layout::TRUSTED_KEYS_VERSION, version.to_string().as_bytes())
            .await
            .map_err(fail)?;
    }
    if !endorsement.orgs.is_empty() {
        for (org, keys) in &endorsement.orgs {
            let set = EndorsedSet {
                version,
                keys: keys.clone(),
            };
            orgs.insert(org.clone(), set);
        }
        let bytes = serde_json::to_vec(&orgs).map_err(|e| ApiError::unavailable(e.to_string()))?;
        kv.put(layout::TRUSTED_KEYS_ORGS, &bytes)
            .await
            .map_err(fail)?;
    }
    Ok(())
}

/// The error for an edge that trusts no key at all.
pub fn no_trusted_keys() -> ApiError {
    ApiError::new(
        503,
        "NO_TRUSTED_KEYS",
        "no trusted publisher keys are configured (EDGEFLAG_TRUSTED_KEYS)",
    )
}

/// Verifies a signed document against `trusted` and checks its audience. A signature
/// that does not verify is `401`; anything malformed is `400 PARSE_ERROR`.
pub fn verify_signed(token: &str, trusted: &KeySet, aud: &str) -> Result<Verified, ApiError> {
    let doc = envelope::verify(token, trusted).map_err(|e| match e {
        EnvelopeError::UnknownKey(_) | EnvelopeError::BadSignature(_) => {
            ApiError::unauthorized(format!("{aud} document: {e}"))
        }
        other => ApiError::parse(format!("{aud} document: {other}")),
    })?;
    if doc.header.aud.as_deref() != Some(aud) {
        return Err(ApiError::parse(format!(
            "the {aud} document has audience {:?}",
            doc.header.aud
        )));
    }
    Ok(doc)
}
