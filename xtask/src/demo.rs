//! `cargo xtask up`: the edge on this machine, with demo flags published.
//!
//! Builds the Worker, starts `wrangler dev` on local workerd with a local KV, signs the
//! demo snapshot (`examples/demo-snapshot.json`) with a development publisher key and
//! publishes it through the edge's own publish endpoint, then prints the URLs, the SDK
//! keys and curl lines, and serves until interrupted. The development keys live in
//! `.edgeflag/dev/` (git-ignored) and are reused by later runs.

use std::{
    fs,
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant, SystemTime},
};

use edgeflag_edge::{
    keys::{KeyEntry, KeyIndex, KeyKind, hash_key},
    publish::PublishRequest,
};
use edgeflag_engine::envelope::{KeySet, SigningKey};
use serde_json::{Value, json};

use crate::root;

const PORT: u16 = 8787;
const INSPECTOR_PORT: u16 = 9230;
const ENV: &str = "production";

pub fn up() -> Result<(), String> {
    crate::install::run_all()?;
    crate::worker::build()?;
    let dev = DevKeys::load_or_create(&root().join(".edgeflag").join("dev"))?;
    let jwks = serde_json::to_string(&KeySet::new(vec![dev.signer.verifying_key()]).to_jwks())
        .map_err(|e| e.to_string())?;
    fs::write(
        root().join(".dev.vars"),
        format!("EDGEFLAG_TRUSTED_KEYS='{jwks}'\n"),
    )
    .map_err(|e| format!(".dev.vars: {e}"))?;
    let mut wrangler = start_wrangler()?;
    let outcome = wait_and_publish(&dev);
    match outcome {
        Ok(version) => {
            print_welcome(&dev, version);
            let _ = wrangler.wait();
            Ok(())
        }
        Err(e) => {
            stop(&mut wrangler);
            Err(e)
        }
    }
}

fn wait_and_publish(dev: &DevKeys) -> Result<u64, String> {
    wait_until_serving(Duration::from_secs(120))?;
    let version = now_ms() as u64;
    let body = publish_body(dev, version)?;
    let (status, reply) = http("PUT", &format!("/publish/v1/environments/{ENV}"), &body)?;
    if status != 200 {
        return Err(format!("publish refused ({status}): {reply}"));
    }
    Ok(version)
}

/// The development publisher key and SDK keys, created once.
struct DevKeys {
    signer: SigningKey,
    server: String,
    client: String,
}

impl DevKeys {
    fn load_or_create(dir: &Path) -> Result<Self, String> {
        let path = dir.join("keys.json");
        if let Ok(text) = fs::read_to_string(&path) {
            let v: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let seed = hex_decode(v["seed"].as_str().unwrap_or_default())
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| format!("{}: bad seed", path.display()))?;
            return Ok(Self {
                signer: SigningKey::from_seed("dev-publisher", seed),
                server: v["server"].as_str().unwrap_or_default().to_string(),
                client: v["client"].as_str().unwrap_or_default().to_string(),
            });
        }
        let random = random_bytes(48)?;
        let (seed, rest) = random.split_at(32);
        let seed = <[u8; 32]>::try_from(seed).map_err(|_| "seed".to_string())?;
        let keys = Self {
            signer: SigningKey::from_seed("dev-publisher", seed),
            server: format!("srv_dev_{}", hex(rest.get(..8).unwrap_or_default())),
            client: format!("cli_dev_{}", hex(rest.get(8..).unwrap_or_default())),
        };
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let stored = json!({"seed": hex(&seed), "server": keys.server, "client": keys.client});
        fs::write(&path, stored.to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(keys)
    }
}

fn publish_body(dev: &DevKeys, version: u64) -> Result<String, String> {
    let text = fs::read_to_string(root().join("examples").join("demo-snapshot.json"))
        .map_err(|e| format!("demo snapshot: {e}"))?;
    let mut server: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    server["environment"] = json!(ENV);
    server["version"] = json!(version);
    let mut client = server.clone();
    if let Some(flags) = client["flags"].as_array_mut() {
        flags.retain(|f| f["clientVisible"] == json!(true));
    }
    let keys = KeyIndex {
        environment: ENV.into(),
        version,
        keys: vec![
            KeyEntry {
                hash: hash_key(&dev.server),
                kind: KeyKind::Server,
                expires_at_ms: None,
            },
            KeyEntry {
                hash: hash_key(&dev.client),
                kind: KeyKind::Client,
                expires_at_ms: None,
            },
        ],
    };
    let sign = |payload: &Value, aud: &str| -> Result<String, String> {
        let bytes = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
        Ok(dev.signer.sign(&bytes, Some(ENV), Some(version), Some(aud)))
    };
    let keys = serde_json::to_value(&keys).map_err(|e| e.to_string())?;
    let request = PublishRequest {
        server: sign(&server, "server")?,
        client: sign(&client, "client")?,
        keys: sign(&keys, "keys")?,
    };
    serde_json::to_string(&request).map_err(|e| e.to_string())
}

fn start_wrangler() -> Result<Child, String> {
    let wrangler = root()
        .join("edge-worker")
        .join("node_modules")
        .join(".bin")
        .join("wrangler");
    let state = root().join(".wrangler").join("state");
    let mut cmd = Command::new("setsid");
    cmd.arg(wrangler)
        .args(["dev", "--local", "--ip", "127.0.0.1"])
        .args([
            "--port",
            &PORT.to_string(),
            "--inspector-port",
            &INSPECTOR_PORT.to_string(),
        ])
        .arg("--persist-to")
        .arg(state)
        .current_dir(root())
        .env("PATH", node_path())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("XDG_CONFIG_HOME", root().join(".wrangler").join("config"))
        .stdin(Stdio::null());
    cmd.spawn()
        .map_err(|e| format!("cannot start wrangler dev: {e}"))
}

fn node_path() -> PathBuf {
    let bins = root().join("edge-worker").join("node_modules").join(".bin");
    PathBuf::from(format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    ))
}

fn stop(child: &mut Child) {
    // wrangler runs under setsid: its pid is its process group.
    let _ = Command::new("kill")
        .arg("--")
        .arg(format!("-{}", child.id()))
        .status();
    let _ = child.wait();
}

fn wait_until_serving(limit: Duration) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if matches!(http("GET", "/healthz", ""), Ok((200, _))) {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(250));
    }
    Err(format!(
        "wrangler dev did not answer on port {PORT} within {limit:?}"
    ))
}

/// A minimal HTTP/1.1 request to the local Worker: enough for health checks and one
/// publish, without an HTTP client dependency.
fn http(method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", PORT)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "no HTTP status".to_string())?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}

fn print_welcome(dev: &DevKeys, version: u64) {
    let base = format!("http://127.0.0.1:{PORT}");
    println!(
        "
Edgeflag is up (Worker on local workerd, environment `{ENV}`, snapshot version {version}).

  edge        {base}
  health      {base}/healthz
  server key  {server}
  client key  {client}

Try:
  curl -s -X POST {base}/ofrep/v1/evaluate/flags/new-checkout -H 'Authorization: Bearer {server}' -H 'Content-Type: application/json' -d '{{\"context\":{{\"targetingKey\":\"user-2\",\"email\":\"ada@example.com\"}}}}'
  curl -s '{base}/v1/evaluate?targetingKey=user-1&plan=beta&appVersion=4.10.1' -H 'Authorization: Bearer {server}'
  curl -s {base}/.well-known/flags/{client}

Stop with Ctrl-C. The admin service is not part of this yet; flags come from examples/demo-snapshot.json.",
        server = dev.server,
        client = dev.client
    );
}

fn random_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0; n];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(buf)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}
