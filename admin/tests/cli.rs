//! The CLI against a running admin over HTTP, as a person or a script uses it: the real
//! `edgeflag serve` binary on a throwaway SQLite database, and the real `edgeflag`
//! binary with `EDGEFLAG_URL` and `EDGEFLAG_TOKEN` (or what `edgeflag login` stored).
//! The CLI's own database setting points at a directory that does not exist, so any
//! command that touched a database instead of the API would fail. Every command is run
//! and its table or JSON checked.

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_edgeflag");

/// A running admin; dropping it kills the process.
struct Admin {
    child: Child,
    url: String,
    owner: String,
    dir: tempfile::TempDir,
}

impl Drop for Admin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> Admin {
    let dir = tempfile::tempdir().unwrap();
    let db = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("admin.db").display()
    );
    let init = Command::new(BIN)
        .args(["init", "--org-key", "acme"])
        .env("EDGEFLAG_DATABASE_URL", &db)
        .env("EDGEFLAG_LOG", "warn")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let owner = String::from_utf8(init.stdout)
        .unwrap()
        .trim()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let port = free_port();
    let child = Command::new(BIN)
        .arg("serve")
        .env("EDGEFLAG_DATABASE_URL", &db)
        .env("EDGEFLAG_LISTEN", format!("127.0.0.1:{port}"))
        .env("EDGEFLAG_PUBLISH_DIR", dir.path().join("published"))
        .env("EDGEFLAG_LOG", "warn")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let admin = Admin {
        child,
        url: format!("http://127.0.0.1:{port}"),
        owner,
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(port) {
        assert!(Instant::now() < deadline, "the admin did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    admin
}

fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
}

impl Admin {
    /// `edgeflag ARGS` with `EDGEFLAG_URL` and `token`, nothing stored, no usable database.
    fn run_as(&self, token: &str, args: &[&str]) -> Output {
        self.command(args)
            .env("EDGEFLAG_URL", &self.url)
            .env("EDGEFLAG_TOKEN", token)
            .output()
            .unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env_remove("EDGEFLAG_API_KEY")
            .env_remove("EDGEFLAG_CONFIG")
            .env_remove("EDGEFLAG_URL")
            .env_remove("EDGEFLAG_TOKEN")
            .env(
                "EDGEFLAG_DATABASE_URL",
                "sqlite:///nonexistent/edgeflag-cli-test/admin.db?mode=ro",
            )
            .env(
                "EDGEFLAG_CREDENTIALS_FILE",
                self.dir.path().join("credentials.toml"),
            )
            .env("RUST_BACKTRACE", "0")
            .env("EDGEFLAG_LOG", "warn")
            .current_dir(self.dir.path());
        c
    }

    /// Runs as the owner; the command must succeed; returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run_as(&self.owner, args);
        assert!(
            out.status.success(),
            "edgeflag {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs as the owner; the command must fail; returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run_as(&self.owner, args);
        assert!(
            !out.status.success(),
            "edgeflag {} should fail",
            args.join(" ")
        );
        String::from_utf8(out.stderr).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    fn file(&self, name: &str, value: &Value) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, value.to_string()).unwrap();
        path
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The row of a table whose first column is `key`.
fn row<'a>(table: &'a str, key: &str) -> Vec<&'a str> {
    let line = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no row `{key}` in\n{table}"));
    line.split_whitespace().collect()
}

fn flag(key: &str) -> Value {
    json!({
        "key": key, "name": key, "type": "boolean",
        "variations": [{"key": "on", "value": true}, {"key": "off", "value": false}],
        "tags": ["cli"]
    })
}

fn setup(admin: &Admin) {
    admin.ok(&["projects", "create", "web", "--name", "Web"]);
    admin.ok(&[
        "environments",
        "create",
        "web",
        "production",
        "--name",
        "Production",
    ]);
}

#[test]
fn projects_and_environments() {
    let admin = start();
    assert_eq!(
        admin.ok(&["projects", "create", "web", "--name", "Web shop"]),
        "created project web\n"
    );
    let table = admin.ok(&["projects", "list"]);
    assert_eq!(
        table
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["KEY", "NAME", "ARCHIVED", "CREATED"]
    );
    assert_eq!(&row(&table, "web")[..4], ["web", "Web", "shop", "no"]);
    let listed = admin.json(&["projects", "list", "--json"]);
    assert_eq!(listed["items"][0]["name"], "Web shop");

    assert_eq!(
        admin.ok(&["environments", "create", "web", "staging"]),
        "created environment staging (edge name web-staging)\n"
    );
    assert_eq!(
        &row(&admin.ok(&["environments", "list", "web"]), "staging")[..5],
        ["staging", "staging", "web-staging", "0", "no"]
    );
    assert_eq!(
        admin.ok(&["environments", "archive", "web", "staging"]),
        "archived environment staging\n"
    );
    assert!(
        !admin
            .ok(&["environments", "list", "web"])
            .contains("staging"),
        "archived environments leave the list"
    );
    let listed = admin.json(&[
        "environments",
        "list",
        "web",
        "--archived",
        "archived",
        "--json",
    ]);
    assert_eq!(listed["items"][0]["key"], "staging");
    assert_eq!(listed["items"][0]["archived"], true);
    assert_eq!(
        admin.ok(&["environments", "restore", "web", "staging"]),
        "restored environment staging\n"
    );
    assert_eq!(
        row(&admin.ok(&["environments", "list", "web"]), "staging")[4],
        "no"
    );

    admin.ok(&["projects", "create", "old"]);
    assert_eq!(
        admin.ok(&["projects", "archive", "old"]),
        "archived project old\n"
    );
    assert_eq!(
        row(&admin.ok(&["projects", "list", "--archived", "all"]), "old")[2],
        "yes"
    );
    assert!(!admin.ok(&["projects", "list"]).contains("old"));
}

#[test]
fn every_flag_command() {
    let admin = start();
    setup(&admin);
    let file = admin.file("flag.json", &flag("checkout"));
    assert_eq!(
        admin.ok(&["flags", "create", "web", path(&file)]),
        "created checkout (version 1)\n"
    );
    let table = admin.ok(&["flags", "list", "web"]);
    assert_eq!(
        row(&table, "checkout"),
        ["checkout", "boolean", "1", "production=off", "cli"]
    );

    assert_eq!(
        admin.ok(&["flags", "toggle", "web", "checkout", "production"]),
        "checkout in production: on (version 2)\n"
    );
    assert_eq!(
        admin.ok(&["flags", "rollout", "web", "checkout", "production", "12.5"]),
        "checkout in production: 12.5% get on (version 3)\n"
    );
    let shown = admin.ok(&["flags", "show", "web", "checkout"]);
    assert!(
        shown.contains(
            "production           on   0 targets, 0 rules, default rollout on 12.5%, off 87.5%"
        ),
        "{shown}"
    );

    let rules = admin.file(
        "rules.json",
        &json!({"enabled": true, "offVariation": "off", "targets": [{"variation": "on", "values": ["vip"]}],
                "rules": [{"conditions": [{"attribute": "plan", "op": "in", "values": ["pro"]}], "serve": {"variation": "on"}}],
                "defaultRule": {"variation": "off"}}),
    );
    assert_eq!(
        admin.ok(&[
            "flags",
            "rules",
            "web",
            "checkout",
            "production",
            path(&rules)
        ]),
        "checkout in production: targeting replaced (version 4)\n"
    );
    let detail = admin.json(&["flags", "show", "web", "checkout", "--json"]);
    assert_eq!(
        detail["environments"]["production"]["rules"][0]["conditions"][0]["attribute"],
        "plan"
    );
    assert_eq!(
        detail["environments"]["production"]["targets"][0]["values"],
        json!(["vip"])
    );
    assert_eq!(
        admin.ok(&["flags", "toggle", "web", "checkout", "production", "--off"]),
        "checkout in production: off (version 5)\n"
    );

    assert_eq!(
        admin.ok(&["flags", "archive", "web", "checkout"]),
        "archived flag checkout\n"
    );
    assert_eq!(
        admin.ok(&["flags", "list", "web"]).lines().count(),
        1,
        "archived flags leave the list"
    );
    let archived = admin.ok(&["flags", "list", "web", "--archived", "archived"]);
    assert_eq!(row(&archived, "checkout")[0], "checkout");
    assert_eq!(
        admin.ok(&["flags", "restore", "web", "checkout"]),
        "restored flag checkout\n"
    );

    // Export, then import into another project, with progress on stderr.
    let export = admin.ok(&["flags", "export", "web"]);
    let file = admin.dir.path().join("export.json");
    std::fs::write(&file, &export).unwrap();
    admin.ok(&["projects", "create", "copy"]);
    admin.ok(&["environments", "create", "copy", "production"]);
    let out = admin.run_as(&admin.owner, &["flags", "import", "copy", path(&file)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "imported 1 flags into copy\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "[1/1] checkout\n");
    let copied = admin.json(&["flags", "list", "copy", "--json"]);
    assert_eq!(
        copied["items"][0]["variations"],
        flag("checkout")["variations"]
    );

    // Usage and the stale report: nothing evaluated yet.
    let usage = admin.ok(&["flags", "usage", "web", "checkout", "--resolution", "day"]);
    assert!(
        usage.starts_with("checkout: 0 evaluations from "),
        "{usage}"
    );
    // The stale report (a flag younger than the window is not stale yet).
    let stale = admin.ok(&["flags", "stale", "web", "--days", "7"]);
    assert!(stale.starts_with("FLAG "), "{stale}");
    let report = admin.json(&["flags", "stale", "web", "--json"]);
    assert_eq!(report["days"], 30);
    assert_eq!(report["notEvaluated"], json!([]));
}

#[test]
fn segments() {
    let admin = start();
    setup(&admin);
    let file = admin.file(
        "segment.json",
        &json!({"key": "beta", "name": "Beta", "included": ["u1", "u2"], "excluded": ["u3"],
                "rules": [{"conditions": [{"attribute": "plan", "op": "in", "values": ["beta"]}]}]}),
    );
    assert_eq!(
        admin.ok(&["segments", "create", "web", path(&file)]),
        "created segment beta (version 1)\n"
    );
    assert_eq!(
        row(&admin.ok(&["segments", "list", "web"]), "beta"),
        ["beta", "Beta", "2", "1", "1", "no"]
    );
    assert_eq!(
        admin.json(&["segments", "show", "web", "beta"])["included"],
        json!(["u1", "u2"])
    );
    assert_eq!(
        admin.json(&["segments", "list", "web", "--json"])["items"][0]["key"],
        "beta"
    );
    assert_eq!(
        admin.ok(&["segments", "archive", "web", "beta"]),
        "archived segment beta\n"
    );
}

#[test]
fn sdk_keys_and_api_keys() {
    let admin = start();
    setup(&admin);
    let created = admin.ok(&["sdk-keys", "create", "web", "production", "server"]);
    let mut lines = created.lines();
    let first = lines.next().unwrap();
    assert!(
        first.starts_with("SDK key sdk_")
            && first.ends_with("(server) created; its secret, shown once:"),
        "{created}"
    );
    assert!(lines.next().unwrap().starts_with("efs_"));
    let id = first.split_whitespace().nth(2).unwrap().to_string();
    assert_eq!(
        row(&admin.ok(&["sdk-keys", "list", "web", "production"]), &id)[1],
        "server"
    );
    let rotated = admin.ok(&[
        "sdk-keys",
        "rotate",
        "web",
        "production",
        &id,
        "--grace-seconds",
        "60",
    ]);
    assert!(rotated.starts_with("replacement SDK key sdk_"), "{rotated}");
    let listed = admin.json(&["sdk-keys", "list", "web", "production", "--json"]);
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(
        admin.ok(&["sdk-keys", "revoke", "web", "production", &id]),
        format!("revoked SDK key {id}\n")
    );

    let created = admin.ok(&["api-keys", "create", "ci", "--role", "viewer"]);
    let secret = created.lines().nth(1).unwrap().to_string();
    let id = created.split_whitespace().nth(2).unwrap().to_string();
    assert_eq!(
        row(&admin.ok(&["api-keys", "list"]), &id)[..3],
        [id.as_str(), "ci", "viewer"]
    );
    // The viewer reads, and is refused a write with the API's words.
    assert!(
        admin
            .run_as(&secret, &["projects", "list"])
            .status
            .success()
    );
    let refused = admin.run_as(&secret, &["projects", "create", "nope"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("403 Forbidden"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        admin.ok(&["api-keys", "revoke", &id]),
        format!("revoked API key {id}\n")
    );
    let revoked = admin.run_as(&secret, &["projects", "list"]);
    assert!(String::from_utf8_lossy(&revoked.stderr).contains("401 Unauthorized"));
}

#[test]
fn the_audit_log() {
    let admin = start();
    setup(&admin);
    let table = admin.ok(&["audit", "--limit", "5"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["AT", "ACTION", "RESOURCE", "ACTOR"]);
    let last = table.lines().last().unwrap();
    assert!(
        last.contains("environment.create") && last.contains("project/web/environment/production"),
        "{table}"
    );
    // One JSON object a line, oldest first; `audit-tail` is the same command.
    let lines = admin.ok(&["audit-tail", "--limit", "2", "--json"]);
    let entries: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["action"], "project.create");
    assert_eq!(entries[1]["action"], "environment.create");
}

#[test]
fn login_stores_the_key_for_later_commands_and_logout_forgets_it() {
    let admin = start();
    let login = |key: &str| {
        let mut child = admin
            .command(&["login", &admin.url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{key}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let refused = login("efk_not-a-key");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("the admin did not accept this API key")
    );
    let credentials = admin.dir.path().join("credentials.toml");
    assert!(!credentials.exists(), "nothing stored for a refused key");

    let out = login(&admin.owner);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!(
        "logged in to {} as organization `acme`",
        admin.url
    )));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&credentials)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the owner alone reads the stored key");
    }
    // No EDGEFLAG_URL or token now: the stored ones are used.
    let created = admin
        .command(&["projects", "create", "web"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&admin.command(&["logout"]).output().unwrap().stdout),
        "logged out\n"
    );
    assert!(!credentials.exists());
    let after = admin.command(&["projects", "list"]).output().unwrap();
    assert!(
        !after.status.success(),
        "without a login the CLI needs a database and EDGEFLAG_API_KEY"
    );
    assert!(String::from_utf8_lossy(&after.stderr).contains("set EDGEFLAG_API_KEY"));
}

#[test]
fn errors_say_what_was_wrong_and_where() {
    let admin = start();
    setup(&admin);
    let bad = admin.file(
        "bad.json",
        &json!({"key": "x", "name": 1, "type": "boolean", "variations": []}),
    );
    let refused = admin.fails(&["flags", "create", "web", path(&bad)]);
    assert!(
        refused.contains("422 Unprocessable Entity") && refused.contains("(at /name)"),
        "{refused}"
    );
    let not_json = admin.dir.path().join("not.json");
    std::fs::write(&not_json, "{nope").unwrap();
    assert!(
        admin
            .fails(&["flags", "create", "web", path(&not_json)])
            .contains("not.json is not JSON")
    );
    assert!(
        admin
            .fails(&["flags", "show", "web", "missing"])
            .contains("404 Not Found: flag `missing` does not exist")
    );
    assert!(
        admin
            .fails(&["flags", "rollout", "web", "missing", "production", "150"])
            .contains("between 0 and 100")
    );

    let no_token = admin
        .command(&["projects", "list"])
        .env("EDGEFLAG_URL", &admin.url)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("set EDGEFLAG_TOKEN"));
    let closed = format!("http://127.0.0.1:{}", free_port());
    let unreachable = admin
        .command(&["projects", "list"])
        .env("EDGEFLAG_URL", &closed)
        .env("EDGEFLAG_TOKEN", &admin.owner)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&unreachable.stderr)
            .contains(&format!("reaching the admin at {closed}"))
    );
}
