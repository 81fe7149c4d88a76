//! Node packages of the repository (`edge-worker/`, `js-sdk/`, `tests/e2e/`, `admin/ui/`): `npm ci`
//! when the lockfile changed, and commands run with the package's own node 22 (npm
//! package `node`) first on `PATH` — the machine's node may be older than wrangler,
//! miniflare and the test runner need.

use std::{fs, path::PathBuf, process::Command};

use crate::root;

/// One node package, by its directory relative to the repository root.
#[derive(Debug, Clone, Copy)]
pub struct Package(pub &'static str);

impl Package {
    pub fn dir(self) -> PathBuf {
        root().join(self.0)
    }

    /// A tool the package installed, `node_modules/.bin/<name>`.
    pub fn bin(self, name: &str) -> String {
        self.dir()
            .join("node_modules")
            .join(".bin")
            .join(name)
            .display()
            .to_string()
    }

    /// `npm ci` unless `node_modules` matches the lockfile already.
    pub fn install(self) -> Result<(), String> {
        let lock = fs::metadata(self.dir().join("package-lock.json")).and_then(|m| m.modified());
        let installed = fs::metadata(self.dir().join("node_modules").join(".package-lock.json"))
            .and_then(|m| m.modified());
        let fresh = matches!((lock, installed), (Ok(a), Ok(b)) if b >= a);
        if fresh && PathBuf::from(self.bin("node")).exists() {
            return Ok(());
        }
        self.run("npm", &["ci", "--no-audit", "--no-fund"], &[])
    }

    /// Runs `program` in the package's directory with its node first on `PATH`.
    pub fn run(self, program: &str, args: &[&str], envs: &[(&str, String)]) -> Result<(), String> {
        let path = format!(
            "{}:{}",
            self.dir().join("node_modules").join(".bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let status = Command::new(program)
            .args(args)
            .current_dir(self.dir())
            .env("PATH", path)
            .env("EDGEFLAG_CONFORMANCE_DIR", crate::conformance_dir())
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .status()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{program} {}` failed ({status})", args.join(" ")))
        }
    }

    /// `node --test` over the package's `test/*.test.mjs` (or `dir/*.test.mjs`), one
    /// file at a time, by name: node 22 refuses a directory.
    pub fn node_test(self, dir: &str, envs: &[(&str, String)]) -> Result<(), String> {
        let mut files: Vec<String> = fs::read_dir(self.dir().join(dir))
            .map_err(|e| format!("{}/{dir}: {e}", self.0))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".test.mjs"))
            .map(|name| {
                if dir == "." {
                    name
                } else {
                    format!("{dir}/{name}")
                }
            })
            .collect();
        files.sort();
        let mut args = vec!["--test"];
        args.extend(files.iter().map(String::as_str));
        self.run(&self.bin("node"), &args, envs)
    }
}
