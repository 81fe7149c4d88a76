//! Keeping an edge's trusted keys in step with signing-key rotation
//! (`docs/publish-protocol.md`, "Rotating the signing key"). Before a delivery to an
//! edge, the publisher compares the edge's JWKS with the keys the admin signs with;
//! when the edge lacks one, a key the edge does trust endorses the admin's current
//! set, so a snapshot signed by a new key is accepted with no redeploy.

use edgeflag_edge::trust::EndorseRequest;
use edgeflag_engine::envelope::{Jwks, KeySet, SigningKey};
use serde_json::Value;
use sqlx::AnyPool;

use crate::{db::now_ms, signing};

/// Makes sure the edge at `url` trusts every key in the admin's JWKS.
pub async fn ensure(client: &reqwest::Client, pool: &AnyPool, url: &str) -> Result<(), String> {
    let base = url.trim_end_matches('/');
    let keys = signing::trusted_signing_keys(pool)
        .await
        .map_err(|e| format!("signing keys: {e}"))?;
    let edge_kids = edge_kids(client, base).await?;
    if keys
        .iter()
        .all(|k| edge_kids.iter().any(|kid| kid == k.kid()))
    {
        return Ok(());
    }
    let Some(signer) = keys
        .iter()
        .rev()
        .find(|k| edge_kids.iter().any(|kid| kid == k.kid()))
    else {
        return Err(format!(
            "the edge at {base} trusts none of the admin's signing keys; set its \
             EDGEFLAG_TRUSTED_KEYS to the output of `edgeflag jwks`"
        ));
    };
    let body = EndorseRequest {
        jwks: endorsement(&keys, signer),
    };
    let url = format!("{base}/publish/v1/trusted-keys");
    let response = client
        .put(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("PUT {url}: {e}"))?;
    let status = response.status();
    // 409: another admin instance endorsed a newer set a moment ago; the next round
    // compares again.
    if status.is_success() || status.as_u16() == 409 {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    Err(format!("PUT {url}: {status} {text}"))
}

/// The endorsement JWS: the admin's public keys, signed by `signer`, versioned by the clock.
fn endorsement(keys: &[SigningKey], signer: &SigningKey) -> String {
    let jwks: Jwks = KeySet::new(keys.iter().map(SigningKey::verifying_key).collect()).to_jwks();
    let payload = serde_json::to_vec(&jwks).unwrap_or_default();
    let version = u64::try_from(now_ms()).unwrap_or_default();
    signer.sign(
        &payload,
        None,
        Some(version),
        Some(edgeflag_edge::trust::AUDIENCE),
    )
}

async fn edge_kids(client: &reqwest::Client, base: &str) -> Result<Vec<String>, String> {
    let url = format!("{base}/.well-known/jwks.json");
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: {}", response.status()));
    }
    let jwks: Value = response
        .json()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    Ok(jwks["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k["kid"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}
