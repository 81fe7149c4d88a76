//! Access tokens: short-lived EdDSA JWTs that `POST /v1/auth/token` issues for an API
//! key, signed with the admin's token key (purpose `token` in `signing_keys`, created
//! on first start, its seed sealed with the master key).

use edgeflag_admin_core::{Role, masterkey::Keyring, signing};
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken, alg::Ed25519};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The API key id.
    pub sub: String,
    pub org: String,
    pub role: Role,
    /// The refresh-token family the token was issued with; revoking the family
    /// revokes the token. Absent in tokens issued before families existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

/// The admin's token-signing key (purpose `token` in `signing_keys`).
#[derive(Debug, Clone)]
pub struct TokenKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
}

impl TokenKey {
    /// Loads the token key (its seed sealed with the master key), creating it on first start.
    pub async fn load_or_create(
        pool: &sqlx::AnyPool,
        ring: &Keyring,
    ) -> Result<Self, edgeflag_admin_core::Error> {
        let (kid, seed) = signing::token_seed(pool, ring).await?;
        Ok(Self {
            kid,
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    pub fn issue(&self, claims: TokenClaims, ttl_secs: i64) -> Result<String, ApiError> {
        let header = Header::empty().with_key_id(self.kid.clone());
        let claims = Claims::new(claims).set_duration_and_issuance(
            &TimeOptions::default(),
            chrono::Duration::seconds(ttl_secs),
        );
        Ed25519
            .token(&header, &claims, &self.key)
            .map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<TokenClaims, ApiError> {
        let bad = |_| ApiError::Unauthorized("the access token is invalid or expired".into());
        let untrusted = UntrustedToken::new(token).map_err(|e| bad(e.to_string()))?;
        let verifying = self.key.verifying_key();
        let token = Ed25519
            .validator::<TokenClaims>(&verifying)
            .validate(&untrusted)
            .map_err(|e| bad(e.to_string()))?;
        token
            .claims()
            .validate_expiration(&TimeOptions::default())
            .map_err(|e| bad(e.to_string()))?;
        Ok(token.claims().custom.clone())
    }
}
