//! The `admin-postgres` suite: the admin's whole test suite again, on PostgreSQL —
//! the router tests (`edgeflag-admin`) and the domain's (`edgeflag-admin-core`).
//! It starts a throwaway cluster from Debian's `postgresql` package (initdb +
//! pg_ctl, as the `postgres` user when run as root) in a temporary directory on a
//! free 127.0.0.1 port, runs `cargo test -p edgeflag-admin -p edgeflag-admin-core`
//! with `EDGEFLAG_TEST_DATABASE_URL` pointing at it (each test creates its own
//! database), and stops and removes the cluster whatever the outcome. The suite
//! includes `admin/tests/replicas.rs`, which runs three `edgeflag serve` processes on
//! one database: each holds a pool, hence the raised `max_connections`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// Runs the suite.
pub fn test() -> Result<(), String> {
    let bin = pg_bin()?;
    let dir = std::env::temp_dir().join(format!("edgeflag-admin-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cluster = Cluster { bin, dir };
    cluster.start().and_then(|port| {
        let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        println!("xtask: PostgreSQL on 127.0.0.1:{port}; running the admin suite against it");
        let status = Command::new("cargo")
            .args(["test", "-p", "edgeflag-admin", "-p", "edgeflag-admin-core"])
            .current_dir(crate::root())
            .env("EDGEFLAG_TEST_DATABASE_URL", url)
            .status()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("admin tests on PostgreSQL failed ({status})"))
        }
    })
}

/// A throwaway cluster; dropping it stops the server and removes the directory.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
}

impl Cluster {
    fn start(&self) -> Result<u16, String> {
        let data = self.dir.join("data");
        let data_s = data.display().to_string();
        let as_root = is_root();
        if as_root {
            run_ok(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&self.dir),
            )?;
        }
        self.pg(
            "initdb",
            &["-D", &data_s, "-A", "trust", "-U", "postgres", "--no-sync"],
            as_root,
        )?;
        let port = free_port()?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            self.dir.display()
        );
        let log = self.dir.join("postgres.log").display().to_string();
        self.pg(
            "pg_ctl",
            &["-D", &data_s, "-o", &options, "-l", &log, "-w", "start"],
            as_root,
        )?;
        Ok(port)
    }

    fn pg(&self, tool: &str, args: &[&str], as_root: bool) -> Result<(), String> {
        let program = self.bin.join(tool);
        let mut cmd = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(args);
        run_ok(&mut cmd)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        if Path::new(&data).join("postmaster.pid").exists() {
            let _ = self.pg(
                "pg_ctl",
                &["-D", &data, "-m", "fast", "-w", "stop"],
                is_root(),
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed ({status})"))
    }
}

/// The newest `/usr/lib/postgresql/<major>/bin`.
fn pg_bin() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let mut majors: Vec<u32> = std::fs::read_dir(root)
        .map_err(|e| {
            format!(
                "{}: {e} (is Debian's postgresql installed?)",
                root.display()
            )
        })?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    majors.sort_unstable();
    majors
        .last()
        .map(|m| root.join(m.to_string()).join("bin"))
        .ok_or_else(|| "no PostgreSQL under /usr/lib/postgresql".to_string())
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn is_root() -> bool {
    crate::output_line("id", &["-u"]).is_some_and(|uid| uid == "0")
}
