//! `cargo xtask up`: the whole system on this machine, wired together.
//!
//! Builds the Worker and the admin, seeds the admin's SQLite file with the demo flags
//! on first run (`edgeflag seed-demo`; the keys it prints are kept in
//! `.edgeflag/dev/keys.json`), starts `wrangler dev` on local workerd trusting the
//! admin's signing keys (`edgeflag jwks` into `.dev.vars`), starts `edgeflag serve`
//! publishing to it, waits until the edge serves the demo flags, prints the URLs, the
//! keys, curl lines that work as printed and the JS SDK tarball to `npm install`
//! (`cargo xtask pack-js`), and serves until interrupted. Later runs
//! reuse the database and the keys. Both processes are stopped on the way out.

use std::{
    fs,
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{root, target_dir};

const PORT: u16 = 8787;
const INSPECTOR_PORT: u16 = 9230;
const ADMIN_PORT: u16 = 8080;
const ENV: &str = "production";

/// 32 random bytes from the operating system, as hex.
fn stream_secret() -> Result<String, String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn up() -> Result<(), String> {
    crate::install::run_all()?;
    crate::worker::build()?;
    // The browser SDK as a release would publish it, so the README's page works as printed.
    let tarball = crate::jssdk::pack()?;
    // The dashboard before the admin: the admin binary embeds it.
    crate::ui::build()?;
    crate::run(
        "cargo",
        &["build", "-p", "edgeflag-admin", "--bin", "edgeflag"],
    )?;
    let dir = root().join(".edgeflag").join("dev");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let admin = Admin::new(&dir);
    let keys = admin.demo_keys(&dir.join("keys.json"))?;
    let jwks = admin.output(&["jwks"])?;
    // A fresh stream secret per run turns live updates on (event-stream tokens live
    // 15 to 30 minutes, so nothing outlasts a restart that would need the old one).
    fs::write(
        root().join(".dev.vars"),
        format!(
            "EDGEFLAG_TRUSTED_KEYS='{}'\nEDGEFLAG_STREAM_SECRET='{}'\n",
            jwks.trim(),
            stream_secret()?
        ),
    )
    .map_err(|e| format!(".dev.vars: {e}"))?;
    let mut wrangler = start_wrangler()?;
    let mut server =
        match wait_until_serving(PORT, Duration::from_secs(120)).and_then(|()| admin.serve()) {
            Ok(child) => child,
            Err(e) => {
                stop(&mut wrangler);
                return Err(e);
            }
        };
    match wait_until_published(&keys, Duration::from_secs(60)) {
        Ok(version) => {
            print_welcome(&keys, version, &tarball);
            let _ = wrangler.wait();
            stop(&mut server);
            Ok(())
        }
        Err(e) => {
            stop(&mut server);
            stop(&mut wrangler);
            Err(e)
        }
    }
}

/// The keys `edgeflag seed-demo` printed, and the demo owner's sign-in.
struct DemoKeys {
    owner: String,
    server: String,
    client: String,
    email: String,
    password: String,
}

/// The person `edgeflag seed-demo` makes owner of the demo organization.
const DEMO_OWNER: &str = "demo@example.com";

/// The password in a line `edgeflag` printed: the last word of the line that mentions one.
fn printed_password(printed: &str) -> Option<String> {
    printed
        .lines()
        .find(|l| l.starts_with("password") || l.starts_with("new password"))
        .and_then(|l| l.rsplit(' ').next())
        .map(str::to_string)
}

/// The admin binary on the development database.
struct Admin {
    bin: PathBuf,
    database_url: String,
}

impl Admin {
    fn new(dir: &Path) -> Self {
        Self {
            bin: target_dir().join("debug").join("edgeflag"),
            database_url: format!("sqlite://{}?mode=rwc", dir.join("admin.db").display()),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("EDGEFLAG_DATABASE_URL", &self.database_url)
            .env(
                "EDGEFLAG_PUBLISH_EDGE_URL",
                format!("http://127.0.0.1:{PORT}"),
            )
            .env("EDGEFLAG_LISTEN", format!("127.0.0.1:{ADMIN_PORT}"))
            .current_dir(root());
        cmd
    }

    fn output(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        if !out.status.success() {
            return Err(format!(
                "`edgeflag {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Seeds the demo on first run and keeps the keys it printed; later runs read them.
    fn demo_keys(&self, path: &Path) -> Result<DemoKeys, String> {
        if let Ok(text) = fs::read_to_string(path) {
            let v: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let get = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            let mut keys = DemoKeys {
                owner: get("owner"),
                server: get("server"),
                client: get("client"),
                email: DEMO_OWNER.to_string(),
                password: get("password"),
            };
            if keys.password.is_empty() {
                // A database from before accounts: give it its demo owner now.
                keys.password = self.demo_owner_password()?;
                self.store(path, &keys)?;
            }
            return Ok(keys);
        }
        let printed = self.output(&["seed-demo"])?;
        let after = |label: &str| {
            printed
                .lines()
                .find_map(|l| l.strip_prefix(label))
                .map(|v| v.trim().to_string())
                .ok_or_else(|| format!("`edgeflag seed-demo` printed no `{label}`: {printed}"))
        };
        let keys = DemoKeys {
            owner: after("owner API key:")?,
            server: after("server SDK key:")?,
            client: after("client SDK key:")?,
            email: DEMO_OWNER.to_string(),
            password: printed_password(&printed)
                .ok_or_else(|| format!("`edgeflag seed-demo` printed no password: {printed}"))?,
        };
        self.store(path, &keys)?;
        Ok(keys)
    }

    /// Kept in `.edgeflag/dev/keys.json` (git-ignored, this machine's development
    /// database only), so every `cargo xtask up` prints the same sign-in.
    fn store(&self, path: &Path, keys: &DemoKeys) -> Result<(), String> {
        let stored = json!({"owner": keys.owner, "server": keys.server, "client": keys.client, "email": keys.email, "password": keys.password});
        fs::write(path, stored.to_string()).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Makes the demo owner (or gives it a new password) and answers the password.
    fn demo_owner_password(&self) -> Result<String, String> {
        let added = [
            "add-user",
            "--org",
            "demo",
            "--email",
            DEMO_OWNER,
            "--name",
            "Demo Owner",
            "--role",
            "owner",
        ];
        let printed = self
            .output(&added)
            .or_else(|_| self.output(&["reset-password", "--email", DEMO_OWNER]))?;
        printed_password(&printed)
            .ok_or_else(|| format!("`edgeflag` printed no password: {printed}"))
    }

    fn serve(&self) -> Result<Child, String> {
        // Same process group as `cargo xtask up`: Ctrl-C reaches every process.
        let mut cmd = self.command();
        cmd.arg("serve").stdin(Stdio::null());
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start edgeflag serve: {e}"))?;
        wait_until_serving(ADMIN_PORT, Duration::from_secs(60)).map(|()| child)
    }
}

/// Waits until the edge answers the demo flags with the server key; returns the version.
fn wait_until_published(keys: &DemoKeys, limit: Duration) -> Result<u64, String> {
    let start = Instant::now();
    let auth = format!("Bearer {}", keys.server);
    while start.elapsed() < limit {
        if let Ok((200, body)) = http(PORT, "GET", "/v1/flags", "", Some(&auth)) {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            if let Some(version) = v["snapshotVersion"].as_u64() {
                return Ok(version);
            }
        }
        thread::sleep(Duration::from_millis(250));
    }
    Err(format!(
        "the admin did not publish the demo flags to the edge within {limit:?}; \
         see GET http://127.0.0.1:{ADMIN_PORT}/v1/projects/demo/environments/{ENV}/publish-status"
    ))
}

fn start_wrangler() -> Result<Child, String> {
    let wrangler = root()
        .join("edge-worker")
        .join("node_modules")
        .join(".bin")
        .join("wrangler");
    let state = root().join(".wrangler").join("state");
    let mut cmd = Command::new(wrangler);
    cmd.args(["dev", "--local", "--ip", "127.0.0.1"])
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

/// SIGTERM, so wrangler stops its workerd and the admin shuts down cleanly.
fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

fn wait_until_serving(port: u16, limit: Duration) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if matches!(http(port, "GET", "/healthz", "", None), Ok((200, _))) {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(250));
    }
    Err(format!("nothing answered on port {port} within {limit:?}"))
}

/// A minimal HTTP/1.1 request on 127.0.0.1: enough for health checks and one look at
/// the edge, without an HTTP client dependency.
fn http(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    auth: Option<&str>,
) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let auth = auth.map_or_else(String::new, |a| format!("Authorization: {a}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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

fn print_welcome(keys: &DemoKeys, version: u64, tarball: &Path) {
    let base = format!("http://127.0.0.1:{PORT}");
    let admin = format!("http://127.0.0.1:{ADMIN_PORT}");
    println!(
        "
Edgeflag is up: the admin (SQLite, .edgeflag/dev/admin.db) publishes to the Worker on local workerd.
Environment `{ENV}` of project `demo` is at snapshot version {version}.

  dashboard   {admin}/        sign in as {email}, password {password}
  admin       {admin}        (API docs: {admin}/v1/docs)
  edge        {base}
  admin key   {owner}
  server key  {server}
  client key  {client}

Try:
  curl -s -X POST {base}/ofrep/v1/evaluate/flags/new-checkout -H 'Authorization: Bearer {server}' -H 'Content-Type: application/json' -d '{{\"context\":{{\"targetingKey\":\"user-2\",\"email\":\"ada@example.com\"}}}}'
  curl -s '{base}/v1/evaluate?targetingKey=user-1&plan=beta&appVersion=4.10.1' -H 'Authorization: Bearer {server}'
  curl -s {base}/.well-known/flags/{client}
  curl -s {admin}/v1/projects/demo/flags -H 'Authorization: Bearer {owner}'

Use the flags in a browser: the JS SDK, packed from this checkout (see README, \"Evaluate in the browser\"):
  npm install {tarball}

Change a flag and watch the edge follow:
  curl -s -X POST {admin}/v1/projects/demo/flags/new-checkout/environments/{ENV}/toggle -H 'Authorization: Bearer {owner}' -H 'Content-Type: application/json' -d '{{\"enabled\":false}}'

Stop with Ctrl-C.",
        owner = keys.owner,
        server = keys.server,
        client = keys.client,
        email = keys.email,
        password = keys.password,
        tarball = tarball.display()
    );
}

#[cfg(test)]
mod tests {
    use super::printed_password;

    #[test]
    fn the_password_is_read_from_what_edgeflag_printed() {
        let seeded = "demo organization created.\nowner user: demo@example.com\npassword (shown once; change it after signing in): rxA3-J3UA\nowner API key:  efk_x\n";
        assert_eq!(printed_password(seeded).as_deref(), Some("rxA3-J3UA"));
        let reset = "new password for demo@example.com (their sessions ended): wXvQ-5Xmh\n";
        assert_eq!(printed_password(reset).as_deref(), Some("wXvQ-5Xmh"));
        assert_eq!(printed_password("owner API key: efk_x"), None);
    }
}
