//! The CLI's way to the REST API: the router in-process on the configured database
//! ([`Local`], for one machine), or a running admin over HTTP ([`Remote`]: `EDGEFLAG_URL`
//! and `EDGEFLAG_TOKEN`, or what `edgeflag login` stored). Every command goes through
//! the API either way, so it gets the same validation, roles and audit as any caller.

use std::path::PathBuf;

use anyhow::Context as _;
use axum::http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::local::Local;

/// Where API calls go.
#[derive(Debug, Clone)]
pub enum Api {
    Local(Local),
    Remote(Remote),
}

impl Api {
    /// Sends a request; returns the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        match self {
            Self::Local(local) => local.call(method, path, body).await,
            Self::Remote(remote) => remote.call(method, path, body).await,
        }
    }

    /// Like [`Self::call`], but a non-2xx status is an error that says what the API
    /// refused and where (the error's JSON Pointer into the body sent).
    pub async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(method.clone(), path, body).await?;
        if status.is_success() {
            return Ok(value);
        }
        let error = &value["error"];
        let message = error["message"]
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        let mut text = format!("{method} {path}: {status}: {message}");
        if let Some(at) = error["path"].as_str().filter(|p| !p.is_empty()) {
            text.push_str(&format!(" (at {at})"));
        }
        anyhow::bail!(text)
    }

    /// Every item of a paginated list (`items` and `nextCursor`).
    pub async fn all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let sep = if path.contains('?') { '&' } else { '?' };
        loop {
            let mut page_path = format!("{path}{sep}limit=200");
            if let Some(c) = &cursor {
                page_path.push_str(&format!("&cursor={}", encode(c)));
            }
            let page = self.ok(Method::GET, &page_path, None).await?;
            out.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return Ok(out),
            }
        }
    }
}

/// A running admin over HTTP, with a bearer token (an API key or an access token).
#[derive(Debug, Clone)]
pub struct Remote {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Remote {
    pub fn new(url: &str, token: &str) -> anyhow::Result<Self> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            anyhow::bail!("`{url}` is not an http:// or https:// URL");
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("edgeflag-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Self {
            base,
            token: token.to_string(),
            http,
        })
    }

    /// The admin's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let method = reqwest::Method::from_bytes(method.as_str().as_bytes())?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("reaching the admin at {}", self.base))?;
        let status = StatusCode::from_u16(response.status().as_u16())?;
        let bytes = response.bytes().await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Ok((status, value))
    }
}

/// What `edgeflag login` stores: the admin's URL and an API key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub url: String,
    pub api_key: String,
}

impl Credentials {
    /// `EDGEFLAG_CREDENTIALS_FILE`, else `$XDG_CONFIG_HOME/edgeflag/credentials.toml`,
    /// else `~/.config/edgeflag/credentials.toml`.
    pub fn path() -> Option<PathBuf> {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        var("EDGEFLAG_CREDENTIALS_FILE")
            .or_else(|| var("XDG_CONFIG_HOME").map(|d| d.join("edgeflag").join("credentials.toml")))
            .or_else(|| {
                var("HOME").map(|h| h.join(".config").join("edgeflag").join("credentials.toml"))
            })
    }

    /// The stored credentials, if any.
    pub fn load() -> anyhow::Result<Option<Self>> {
        let Some(path) = Self::path() else {
            return Ok(None);
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map(Some).with_context(|| {
                format!("reading {} (run `edgeflag login` again)", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the file readable by its owner only; returns where.
    pub fn store(&self) -> anyhow::Result<PathBuf> {
        let path = Self::path()
            .context("set HOME or EDGEFLAG_CREDENTIALS_FILE to say where to store credentials")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = toml::to_string(self)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        Ok(path)
    }

    /// Removes the stored credentials; whether there were any.
    pub fn remove() -> anyhow::Result<bool> {
        let Some(path) = Self::path() else {
            return Ok(false);
        };
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
}

/// The remote admin the CLI is pointed at: `EDGEFLAG_URL` with `EDGEFLAG_TOKEN`, else
/// what `edgeflag login` stored; `None` means the local database.
pub fn remote_from_env() -> anyhow::Result<Option<Remote>> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(url) = var("EDGEFLAG_URL") {
        let token = var("EDGEFLAG_TOKEN")
            .context("EDGEFLAG_URL is set: set EDGEFLAG_TOKEN to an API key (or an access token) of the organization")?;
        return Remote::new(&url, &token).map(Some);
    }
    match Credentials::load()? {
        Some(c) => Remote::new(&c.url, &c.api_key).map(Some),
        None => Ok(None),
    }
}

/// Percent-encodes a path segment or query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
