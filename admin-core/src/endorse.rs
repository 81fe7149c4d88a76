//! Keeping an edge's trusted keys in step with the admin's (`docs/publish-protocol.md`,
//! "Rotating the signing key" and "Organizations"). Before a delivery to an edge, the
//! publisher compares the edge's JWKS with the admin's (`signing::jwks`); when the edge
//! lacks one, an instance key the edge trusts endorses the whole set, each
//! organization's keys marked with its `org`, so a new organization or a rotated key is
//! accepted with no redeploy.

use edgeflag_edge::trust::EndorseRequest;
use edgeflag_engine::envelope::SigningKey;
use serde_json::Value;
use sqlx::AnyPool;

use crate::{db::now_ms, masterkey::Keyring, signing};

/// Makes sure the edge at `url` trusts every key in the admin's JWKS: the instance
/// keys and every organization's snapshot keys, each for its organization.
pub async fn ensure(
    client: &reqwest::Client,
    pool: &AnyPool,
    ring: &Keyring,
    url: &str,
) -> Result<(), String> {
    let base = url.trim_end_matches('/');
    let jwks = signing::jwks(pool)
        .await
        .map_err(|e| format!("signing keys: {e}"))?;
    let edge_kids = edge_kids(client, base).await?;
    if jwks.keys.iter().all(|k| edge_kids.contains(&k.jwk.kid)) {
        return Ok(());
    }
    let instance = signing::instance_keys(pool, ring)
        .await
        .map_err(|e| format!("instance keys: {e}"))?;
    let Some(signer) = instance
        .iter()
        .find(|k| edge_kids.iter().any(|kid| kid == k.kid()))
    else {
        return Err(format!(
            "the edge at {base} trusts none of the admin's instance keys; set its \
             EDGEFLAG_TRUSTED_KEYS to the output of `edgeflag jwks`"
        ));
    };
    let payload = serde_json::to_vec(&jwks).map_err(|e| e.to_string())?;
    let body = EndorseRequest {
        jwks: endorsement(&payload, signer),
    };
    let url = format!("{base}/publish/v1/trusted-keys");
    let response = client
        .put(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("PUT {url}: {e}"))?;
    let status = response.status();
    // 409 STALE_VERSION: another admin instance endorsed a newer set a moment ago; the
    // next round compares again.
    let text = response.text().await.unwrap_or_default();
    if status.is_success() || (status.as_u16() == 409 && text.contains("STALE_VERSION")) {
        return Ok(());
    }
    Err(format!("PUT {url}: {status} {text}"))
}

/// The endorsement JWS of `payload` (a JWKS), signed by `signer`, versioned by the clock.
fn endorsement(payload: &[u8], signer: &SigningKey) -> String {
    let version = u64::try_from(now_ms()).unwrap_or_default();
    signer.sign(
        payload,
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
