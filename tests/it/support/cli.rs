//! Running the `tidings` binary as a child process in a sandbox directory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use super::TIMEOUT;

/// A temp directory holding the watch-list, the database and the XDG directories for one test.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// `DIR/watchlist.toml`
    pub config: PathBuf,
    /// `DIR/tidings.db`
    pub db: PathBuf,
    bus_address: String,
    /// Extra environment for every child (e.g. `TZ`), set after the defaults.
    env: Vec<(String, String)>,
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
            env: Vec::new(),
        }
    }

    /// Children started from now on talk to this bus (same watch-list and database).
    pub fn set_bus(&mut self, address: &str) {
        self.bus_address = address.to_owned();
    }

    /// Children started from now on have `key=value` in their environment.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
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
        let (cmd, command) = self.command_with_files(args);
        finish(cmd, command).await
    }

    /// `tidings ARGS...` exactly as given, in the sandbox directory, with a clean environment.
    pub async fn run<S: AsRef<str>>(&self, args: &[S]) -> Output {
        let (cmd, command) = self.command(args);
        finish(cmd, command).await
    }

    /// Starts `tidings --config CONFIG --db DB ARGS...` (e.g. `run`) as a long-running child
    /// whose stdout and stderr are collected while it runs. Killed when dropped.
    pub fn spawn(&self, args: &[&str]) -> Daemon {
        let (mut cmd, command) = self.command_with_files(args);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command}: {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().expect("piped stdout"), stdout.clone()),
            collect(child.stderr.take().expect("piped stderr"), stderr.clone()),
        ];
        Daemon {
            child,
            command,
            stdout,
            stderr,
            readers,
        }
    }

    /// [`Sandbox::command`] for `tidings --config CONFIG --db DB ARGS...`.
    pub fn command_with_files(&self, args: &[&str]) -> (Command, String) {
        let mut all: Vec<String> = vec![
            "--config".into(),
            self.config.display().to_string(),
            "--db".into(),
            self.db.display().to_string(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        self.command(&all)
    }

    /// The command for `tidings ARGS...` in the sandbox, and its text for messages: working
    /// directory and XDG dirs inside the sandbox, the sandbox's bus, inherited variables that
    /// would change behaviour removed, stdout and stderr piped (callers may redirect them).
    pub fn command<S: AsRef<str>>(&self, args: &[S]) -> (Command, String) {
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
            "WATCHDOG_PID",
            "LISTEN_FDS",
            "LISTEN_PID",
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
            .env("NO_PROXY", "127.0.0.0/8,localhost")
            .env("no_proxy", "127.0.0.0/8,localhost")
            .env("RUST_BACKTRACE", "0")
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let command = format!("tidings {}", args.join(" "));
        (cmd, command)
    }
}

/// Runs `cmd` to completion (bounded by [`TIMEOUT`]) and collects its output.
async fn finish(mut cmd: Command, command: String) -> Output {
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

/// Copies everything `from` produces into `into` until EOF.
fn collect(
    mut from: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

/// A long-running `tidings` child (see [`Sandbox::spawn`]). Killed when dropped.
pub struct Daemon {
    child: Child,
    command: String,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the child is running")
    }

    /// What the child wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// Whether the child is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends a signal (`"TERM"`, `"HUP"`, `"INT"`) with `kill -s`.
    pub async fn signal(&self, sig: &str) {
        let pid = self.pid().to_string();
        let status = tokio::time::timeout(
            TIMEOUT,
            Command::new("kill").args(["-s", sig, &pid]).status(),
        )
        .await
        .unwrap_or_else(|_| panic!("`kill -s {sig} {pid}` did not finish"))
        .unwrap_or_else(|e| panic!("run kill: {e}"));
        assert!(status.success(), "`kill -s {sig} {pid}` failed: {status}");
    }

    /// Waits until stderr contains `needle`; fails the test (showing stderr) after `timeout`
    /// or when the child exits first.
    pub async fn wait_stderr(&mut self, needle: &str, timeout: Duration) -> String {
        let what = format!("`{}` to log {needle:?}", self.command);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let err = self.stderr();
            if err.contains(needle) {
                return err;
            }
            assert!(
                self.is_running(),
                "{what}, but it exited\n--- stderr ---\n{err}"
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited {timeout:?} for {what}\n--- stderr ---\n{err}"
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// SIGTERM, then waits (bounded) for the child to exit.
    pub async fn stop(self) -> Output {
        self.signal("TERM").await;
        self.wait_exit(TIMEOUT).await
    }

    /// Waits for the child to exit; fails the test after `timeout` (the child is killed).
    pub async fn wait_exit(mut self, timeout: Duration) -> Output {
        let status = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(r) => r.unwrap_or_else(|e| panic!("wait for {}: {e}", self.command)),
            Err(_) => {
                let _ = self.child.start_kill();
                panic!(
                    "`{}` did not exit within {timeout:?}\n--- stderr ---\n{}",
                    self.command,
                    self.stderr()
                )
            }
        };
        for r in std::mem::take(&mut self.readers) {
            let _ = tokio::time::timeout(TIMEOUT, r).await;
        }
        Output {
            command: self.command.clone(),
            code: status.code(),
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }
}

/// How often [`wait_until`] and [`Daemon::wait_stderr`] look again.
pub const POLL_EVERY: Duration = Duration::from_millis(50);

/// Polls `check` until it returns `Some`, at most `timeout`; then fails the test with `what`
/// and the last state `describe` gives.
pub async fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {timeout:?} for {what}; last state:\n{}",
            describe()
        );
        tokio::time::sleep(POLL_EVERY).await;
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
