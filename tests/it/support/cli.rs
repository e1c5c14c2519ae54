//! Running the `tidings` binary as a child process in a sandbox directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use super::TIMEOUT;

/// A temp directory holding the watch-list, the database and the XDG directories for one test.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// `DIR/watchlist.toml`
    pub config: PathBuf,
    /// `DIR/tidings.db`
    pub db: PathBuf,
    bus_address: String,
}

/// What a finished child left behind.
#[derive(Debug)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// `None` if killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Sandbox {
    /// A fresh sandbox with no bus: `DBUS_SESSION_BUS_ADDRESS` points at a socket path that
    /// does not exist, so a child can never reach the real session bus of the machine.
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("tidings-it-")
            .tempdir()
            .expect("tempdir");
        let config = dir.path().join("watchlist.toml");
        let db = dir.path().join("tidings.db");
        let bus_address = format!("unix:path={}", dir.path().join("no-bus-here").display());
        Sandbox {
            dir,
            config,
            db,
            bus_address,
        }
    }

    /// A sandbox whose children talk to this bus.
    pub fn with_bus(address: &str) -> Sandbox {
        let mut s = Sandbox::new();
        s.bus_address = address.to_owned();
        s
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write_config(&self, toml: &str) {
        std::fs::write(&self.config, toml).expect("write watch-list");
    }

    /// `tidings --config CONFIG --db DB ARGS...`, in the sandbox directory.
    pub async fn tidings(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = vec![
            "--config".into(),
            self.config.display().to_string(),
            "--db".into(),
            self.db.display().to_string(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        self.run(&all).await
    }

    /// `tidings ARGS...` exactly as given, in the sandbox directory, with a clean environment.
    pub async fn run<S: AsRef<str>>(&self, args: &[S]) -> Output {
        let root = self.dir.path();
        let xdg = |d: &str| {
            let p = root.join("xdg").join(d);
            std::fs::create_dir_all(&p).expect("create XDG dir");
            p
        };
        let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tidings"));
        cmd.args(&args)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for var in [
            "TIDINGS_CONFIG",
            "TIDINGS_DB",
            "TIDINGS_LOG",
            "RUST_LOG",
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "JOURNAL_STREAM",
            "NOTIFY_SOCKET",
            "WATCHDOG_USEC",
            "LISTEN_FDS",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .env("HOME", xdg("home"))
            .env("XDG_CONFIG_HOME", xdg("config"))
            .env("XDG_DATA_HOME", xdg("data"))
            .env("XDG_STATE_HOME", xdg("state"))
            .env("XDG_CACHE_HOME", xdg("cache"))
            .env("XDG_RUNTIME_DIR", xdg("runtime"))
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("RUST_BACKTRACE", "0")
            .env("NO_COLOR", "1");
        let command = format!("tidings {}", args.join(" "));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command}: {e}"));
        let out = match tokio::time::timeout(TIMEOUT, child.wait_with_output()).await {
            Ok(r) => r.unwrap_or_else(|e| panic!("wait for {command}: {e}")),
            // Dropping the future drops the child, which kills it (kill_on_drop).
            Err(_) => panic!("`{command}` did not finish within {TIMEOUT:?}"),
        };
        Output {
            command,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Output {
    /// Fails the test, showing stdout and stderr, unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code,
            Some(code),
            "`{}` exited with {:?}, expected {code}\n{}",
            self.command,
            self.code,
            self.dump()
        );
        self
    }

    #[track_caller]
    pub fn assert_failure(&self) -> &Output {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "`{}` should fail with a non-zero exit code, got {:?}\n{}",
            self.command,
            self.code,
            self.dump()
        );
        self
    }

    /// The one stdout line that contains `needle`; fails if there is none or several.
    #[track_caller]
    pub fn line_with(&self, needle: &str) -> &str {
        let lines: Vec<&str> = self.stdout.lines().filter(|l| l.contains(needle)).collect();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one stdout line containing {needle:?} from `{}`\n{}",
            self.command,
            self.dump()
        );
        lines[0]
    }

    pub fn dump(&self) -> String {
        format!(
            "--- stdout ---\n{}--- stderr ---\n{}--------------",
            self.stdout, self.stderr
        )
    }
}
