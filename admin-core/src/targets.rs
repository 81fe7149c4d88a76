//! Delivery targets: the edge's publish endpoint, a local directory laid out like
//! the edge's KV (`docs/kv-layout.md`), and the Cloudflare KV REST bulk API. Each
//! writes the environment's version pointer last, so a reader never sees a version
//! whose documents are not in place.

use std::path::Path;

use edgeflag_edge::{
    keys::{KeyIndex, KeyRecord},
    layout,
    publish::PublishRequest,
};
use serde_json::{Value, json};

use crate::config::TargetConfig;

/// Why a delivery failed; `stale_at` is set when the edge already holds a newer version.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub message: String,
    pub stale_at: Option<u64>,
}

impl DeliveryError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            stale_at: None,
        }
    }
}

/// One signed environment version, ready to deliver.
#[derive(Debug)]
pub struct Delivery<'a> {
    pub env: &'a str,
    pub version: u64,
    pub request: &'a PublishRequest,
    pub keys: &'a KeyIndex,
    /// The key index this target held before, to delete keys that left it.
    pub previous: Option<&'a KeyIndex>,
    /// The request id of the newest change in this version, sent to edges as
    /// `x-request-id` so that the edge's publish can be found from the edit.
    pub request_id: Option<&'a str>,
}

impl Delivery<'_> {
    fn removed_hashes(&self) -> Vec<String> {
        self.previous
            .map(|old| {
                old.keys
                    .iter()
                    .filter(|k| self.keys.find(&k.hash).is_none())
                    .map(|k| k.hash.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn key_records(&self) -> Vec<(String, String)> {
        self.keys
            .keys
            .iter()
            .map(|k| {
                let record = KeyRecord {
                    environment: self.env.to_string(),
                    kind: k.kind,
                };
                (
                    layout::sdk_key(&k.hash),
                    serde_json::to_string(&record).unwrap_or_default(),
                )
            })
            .collect()
    }

    fn documents(&self) -> Vec<(String, String)> {
        let mut docs = self.key_records();
        docs.push((
            layout::server_snapshot(self.env),
            self.request.server.clone(),
        ));
        docs.push((
            layout::client_snapshot(self.env),
            self.request.client.clone(),
        ));
        docs.push((layout::key_index(self.env), self.request.keys.clone()));
        docs
    }
}

/// Delivers one version to one target.
pub async fn deliver(
    client: &reqwest::Client,
    target: &TargetConfig,
    d: &Delivery<'_>,
) -> Result<(), DeliveryError> {
    match target {
        TargetConfig::Edge { url, .. } => edge(client, url, d).await,
        TargetConfig::Directory { path, .. } => directory(path, d).await,
        TargetConfig::CloudflareKv {
            account_id,
            namespace_id,
            api_token,
            api_base,
            ..
        } => {
            let base = format!(
                "{}/accounts/{account_id}/storage/kv/namespaces/{namespace_id}",
                api_base.trim_end_matches('/')
            );
            cloudflare(client, &base, api_token, d).await
        }
    }
}

async fn edge(client: &reqwest::Client, url: &str, d: &Delivery<'_>) -> Result<(), DeliveryError> {
    let url = format!(
        "{}/publish/v1/environments/{}",
        url.trim_end_matches('/'),
        d.env
    );
    let mut put = client.put(&url).json(d.request);
    if let Some(id) = d.request_id {
        put = put.header("x-request-id", id);
    }
    let response = put
        .send()
        .await
        .map_err(|e| DeliveryError::new(format!("PUT {url}: {e}")))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or("");
    let message = body["error"]["message"].as_str().unwrap_or("");
    let stale_at = (code == "STALE_VERSION")
        .then(|| held_version(message))
        .flatten();
    Err(DeliveryError {
        message: format!("PUT {url}: {status} {code} {message}"),
        stale_at,
    })
}

/// The edge words a stale publish as "`env` holds version N; …".
fn held_version(message: &str) -> Option<u64> {
    let rest = message.split("holds version ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

async fn directory(root: &Path, d: &Delivery<'_>) -> Result<(), DeliveryError> {
    let io = |what: &str, e: std::io::Error| DeliveryError::new(format!("{what}: {e}"));
    for hash in d.removed_hashes() {
        let path = root.join(layout::sdk_key(&hash));
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path.display().to_string(), e)),
        }
    }
    let mut files = d.documents();
    files.push((layout::version(d.env), d.version.to_string()));
    for (key, value) in files {
        let path = root.join(&key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io(&parent.display().to_string(), e))?;
        }
        // Write then rename, so a reader never sees half a file.
        let tmp = path.with_extension("tmp");
        tokio::fs::write(&tmp, value)
            .await
            .map_err(|e| io(&tmp.display().to_string(), e))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| io(&path.display().to_string(), e))?;
    }
    Ok(())
}

async fn cloudflare(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    d: &Delivery<'_>,
) -> Result<(), DeliveryError> {
    let pairs = |items: Vec<(String, String)>| -> Value {
        Value::Array(
            items
                .into_iter()
                .map(|(key, value)| json!({"key": key, "value": value}))
                .collect(),
        )
    };
    cf_call(
        client,
        reqwest::Method::PUT,
        &format!("{base}/bulk"),
        token,
        &pairs(d.documents()),
    )
    .await?;
    let removed: Vec<String> = d
        .removed_hashes()
        .iter()
        .map(|h| layout::sdk_key(h))
        .collect();
    if !removed.is_empty() {
        cf_call(
            client,
            reqwest::Method::POST,
            &format!("{base}/bulk/delete"),
            token,
            &json!(removed),
        )
        .await?;
    }
    let version = pairs(vec![(layout::version(d.env), d.version.to_string())]);
    cf_call(
        client,
        reqwest::Method::PUT,
        &format!("{base}/bulk"),
        token,
        &version,
    )
    .await
}

/// One Cloudflare API call; success means HTTP 2xx and `"success": true`.
async fn cf_call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: &Value,
) -> Result<(), DeliveryError> {
    let response = client
        .request(method.clone(), url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .map_err(|e| DeliveryError::new(format!("{method} {url}: {e}")))?;
    let status = response.status();
    let reply: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() && reply["success"] == json!(true) {
        return Ok(());
    }
    Err(DeliveryError::new(format!(
        "{method} {url}: {status} {}",
        reply["errors"]
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_edges_stale_message() {
        assert_eq!(
            held_version("`production` holds version 12; a publish must be newer, this one is 3"),
            Some(12)
        );
        assert_eq!(held_version("something else"), None);
    }
}
