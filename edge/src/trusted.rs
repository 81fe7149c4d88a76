//! Which publisher keys the edge trusts, and for whom (`docs/publish-protocol.md`,
//! "Organizations").
//!
//! Every snapshot-signing key belongs to one organization: its JWK carries the
//! organization's id as `org`. A key without `org` is an *instance* key: it belongs to
//! the operator of an admin, signs no organization's snapshot, and may endorse the keys
//! of any organization (`trust.rs`). An environment is bound to the organization whose
//! key signed the first publish the edge accepted for it (`env/{env}/org`); from then
//! on only that organization's keys may publish it, so one tenant's key can never
//! publish over another tenant's environment at an edge they share.
//!
//! The edge trusts the configured keys (`EDGEFLAG_TRUSTED_KEYS`), then the endorsed
//! instance keys (`trusted-keys.json`), then the endorsed keys of each organization
//! (`trusted-keys.orgs.json`); a key id already trusted is never replaced by a later one.

use std::collections::BTreeMap;

use edgeflag_engine::envelope::{EnvelopeError, Jwk, KeySet, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::{error::ApiError, kv::Kv, layout};

/// A public key as Edgeflag publishes it: a JWK, plus the organization whose
/// environments it signs (`org`), absent for an instance key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedJwk {
    #[serde(flatten)]
    pub jwk: Jwk,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

/// A JWKS of [`ScopedJwk`]s. Readers that know nothing of `org` see a plain JWKS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedJwks {
    pub keys: Vec<ScopedJwk>,
}

/// Whom a trusted key signs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issuer {
    /// An admin's instance key: endorses organizations' keys.
    Instance,
    /// The organization with this id.
    Organization(String),
}

impl Issuer {
    fn of(org: Option<&str>) -> Self {
        org.map_or(Self::Instance, |o| Self::Organization(o.to_string()))
    }

    /// How an error message names it.
    pub fn describe(&self) -> String {
        match self {
            Self::Instance => "an instance key".to_string(),
            Self::Organization(org) => format!("organization `{org}`"),
        }
    }
}

/// The keys an edge trusts, each with its [`Issuer`].
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: KeySet,
    orgs: BTreeMap<String, String>,
}

impl TrustedKeys {
    /// Parses a JWKS whose keys may carry `org`; a key id may appear once.
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, EnvelopeError> {
        let jwks: ScopedJwks = serde_json::from_slice(json)
            .map_err(|e| EnvelopeError::InvalidKey(format!("JWKS is not valid: {e}")))?;
        Self::from_jwks(&jwks)
    }

    pub fn from_jwks(jwks: &ScopedJwks) -> Result<Self, EnvelopeError> {
        let mut trusted = Self::default();
        for key in &jwks.keys {
            let verifying = VerifyingKey::from_jwk(&key.jwk)?;
            if !trusted.add(verifying, key.org.as_deref()) {
                return Err(EnvelopeError::InvalidKey(format!(
                    "key `{}` appears twice",
                    key.jwk.kid
                )));
            }
        }
        Ok(trusted)
    }

    /// Adds a key unless its id is already trusted; returns whether it was added.
    pub fn add(&mut self, key: VerifyingKey, org: Option<&str>) -> bool {
        if self.keys.get(key.kid()).is_some() {
            return false;
        }
        if let Some(org) = org {
            self.orgs.insert(key.kid().to_string(), org.to_string());
        }
        self.keys.push(key);
        true
    }

    /// The keys, for verifying signatures.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Whom the key `kid` signs for, if it is trusted.
    pub fn issuer(&self, kid: &str) -> Option<Issuer> {
        self.keys.get(kid)?;
        Some(Issuer::of(self.orgs.get(kid).map(String::as_str)))
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The instance keys only: what spans organizations (the detailed `/healthz`) is
    /// not an organization's to see.
    pub fn instance_keys(&self) -> KeySet {
        KeySet::new(
            self.keys
                .kids()
                .filter(|kid| !self.orgs.contains_key(*kid))
                .filter_map(|kid| self.keys.get(kid).cloned())
                .collect(),
        )
    }

    /// The trusted key ids.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.kids()
    }

    pub fn to_jwks(&self) -> ScopedJwks {
        ScopedJwks {
            keys: self
                .keys
                .to_jwks()
                .keys
                .into_iter()
                .map(|jwk| {
                    let org = self.orgs.get(&jwk.kid).cloned();
                    ScopedJwk { jwk, org }
                })
                .collect(),
        }
    }

    fn extend(
        &mut self,
        jwks: &[ScopedJwk],
        org: Option<&str>,
        origin: &str,
    ) -> Result<(), String> {
        for key in jwks {
            let verifying =
                VerifyingKey::from_jwk(&key.jwk).map_err(|e| format!("{origin}: {e}"))?;
            self.add(verifying, org.or(key.org.as_deref()));
        }
        Ok(())
    }
}

/// The keys endorsed for each organization (`trusted-keys.orgs.json`): organization id
/// → the set and its version.
pub type OrgEndorsements = BTreeMap<String, EndorsedSet>;

/// One organization's endorsed keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndorsedSet {
    pub version: u64,
    pub keys: Vec<Jwk>,
}

/// The stored per-organization endorsements (empty when none were made).
pub async fn org_endorsements(kv: &impl Kv) -> Result<OrgEndorsements, String> {
    let orgs = kv
        .get(layout::TRUSTED_KEYS_ORGS)
        .await
        .map_err(|e| e.to_string())?;
    StoredTrust {
        instance: None,
        orgs,
    }
    .endorsements()
}

/// The endorsements as stored (`trusted-keys.json`, `trusted-keys.orgs.json`), unparsed:
/// what [`load`] trusts besides the configuration, and what a seal binds
/// (`sealed.rs`), so that an endorsement change voids every seal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredTrust {
    instance: Option<Vec<u8>>,
    orgs: Option<Vec<u8>>,
}

impl StoredTrust {
    pub async fn read(kv: &impl Kv) -> Result<Self, String> {
        let get = |key: &'static str| async move { kv.get(key).await.map_err(|e| e.to_string()) };
        Ok(Self {
            instance: get(layout::TRUSTED_KEYS).await?,
            orgs: get(layout::TRUSTED_KEYS_ORGS).await?,
        })
    }

    /// SHA-256 over both documents (lowercase hex); absent and empty differ.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for doc in [&self.instance, &self.orgs] {
            match doc {
                None => hash.update([0]),
                Some(bytes) => {
                    hash.update([1]);
                    hash.update((bytes.len() as u64).to_be_bytes());
                    hash.update(bytes);
                }
            }
        }
        crate::keys::hex(&hash.finalize())
    }

    /// Everything the edge trusts: configured keys, then endorsed instance keys, then
    /// each organization's endorsed keys.
    pub fn trusted(&self, configured: &TrustedKeys) -> Result<TrustedKeys, String> {
        let mut trusted = configured.clone();
        if let Some(bytes) = &self.instance {
            // Written by an instance endorsement; an edge of an earlier version may have
            // stored organization keys here too, which keep their `org`.
            let stored: ScopedJwks = serde_json::from_slice(bytes)
                .map_err(|e| format!("{}: {e}", layout::TRUSTED_KEYS))?;
            trusted.extend(&stored.keys, None, layout::TRUSTED_KEYS)?;
        }
        for (org, set) in self.endorsements()? {
            let keys: Vec<ScopedJwk> = set
                .keys
                .into_iter()
                .map(|jwk| ScopedJwk { jwk, org: None })
                .collect();
            trusted.extend(&keys, Some(&org), layout::TRUSTED_KEYS_ORGS)?;
        }
        Ok(trusted)
    }

    fn endorsements(&self) -> Result<OrgEndorsements, String> {
        match &self.orgs {
            None => Ok(OrgEndorsements::new()),
            Some(bytes) => serde_json::from_slice(bytes)
                .map_err(|e| format!("{}: {e}", layout::TRUSTED_KEYS_ORGS)),
        }
    }
}

/// Everything the edge trusts now: configured keys, then endorsed instance keys, then
/// each organization's endorsed keys.
pub async fn load(kv: &impl Kv, configured: &TrustedKeys) -> Result<TrustedKeys, String> {
    StoredTrust::read(kv).await?.trusted(configured)
}

/// The organization `env` is bound to, if a publish bound it.
pub async fn binding(kv: &impl Kv, env: &str) -> Result<Option<String>, ApiError> {
    let bytes = kv
        .get(&layout::env_org(env))
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(bytes
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|org| !org.is_empty()))
}

/// Whether documents signed for `issuer` may publish `env`, bound to `bound`: an
/// organization's key publishes an environment that is unbound or bound to it; an
/// instance key publishes only an unbound one.
pub fn check_binding(env: &str, bound: Option<&str>, issuer: &Issuer) -> Result<(), ApiError> {
    match (bound, issuer) {
        (None, _) => Ok(()),
        (Some(bound), Issuer::Organization(org)) if bound == org => Ok(()),
        (Some(bound), issuer) => Err(ApiError::forbidden(format!(
            "environment `{env}` belongs to organization `{bound}`; these documents are signed by {}",
            issuer.describe()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use edgeflag_engine::envelope::SigningKey;

    use super::*;

    fn jwk(kid: &str, seed: u8, org: Option<&str>) -> ScopedJwk {
        ScopedJwk {
            jwk: SigningKey::from_seed(kid, [seed; 32])
                .verifying_key()
                .to_jwk(),
            org: org.map(str::to_string),
        }
    }

    #[test]
    fn keys_carry_their_organization_through_a_jwks() {
        let jwks = ScopedJwks {
            keys: vec![jwk("i", 1, None), jwk("a", 2, Some("org_a"))],
        };
        let text = serde_json::to_vec(&jwks).unwrap();
        let trusted = TrustedKeys::from_jwks_json(&text).unwrap();
        assert_eq!(trusted.issuer("i"), Some(Issuer::Instance));
        assert_eq!(
            trusted.issuer("a"),
            Some(Issuer::Organization("org_a".into()))
        );
        assert_eq!(trusted.issuer("z"), None);
        assert_eq!(trusted.to_jwks(), jwks);
        // A plain JWKS reader sees a plain JWKS.
        let plain = KeySet::from_jwks_json(&text).unwrap();
        assert_eq!(plain.kids().count(), 2);
        let twice = ScopedJwks {
            keys: vec![jwk("a", 2, Some("org_a")), jwk("a", 3, Some("org_b"))],
        };
        assert!(TrustedKeys::from_jwks(&twice).is_err());
    }

    #[test]
    fn an_environment_is_published_only_by_its_organization() {
        let a = Issuer::Organization("org_a".into());
        let b = Issuer::Organization("org_b".into());
        assert!(check_binding("e", None, &a).is_ok());
        assert!(check_binding("e", None, &Issuer::Instance).is_ok());
        assert!(check_binding("e", Some("org_a"), &a).is_ok());
        let refused = check_binding("e", Some("org_a"), &b).unwrap_err();
        assert_eq!((refused.status, refused.code), (403, "FORBIDDEN"));
        assert!(refused.message.contains("org_a") && refused.message.contains("org_b"));
        assert!(check_binding("e", Some("org_a"), &Issuer::Instance).is_err());
    }
}
