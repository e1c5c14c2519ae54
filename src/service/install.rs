//! The user unit: its text (the checked-in `systemd/tidings.service` with `ExecStart=` and, for
//! a data directory elsewhere, `ReadWritePaths=` rewritten) and `tidings service install |
//! uninstall`.
//!
//! The file-system work takes its directories as parameters so that tests never touch the
//! real home directory or the process environment; thin wrappers resolve the defaults.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The unit's file name, as `systemctl --user` knows it.
pub const UNIT_NAME: &str = "tidings.service";

/// The checked-in unit, as written.
const UNIT_TEMPLATE: &str = include_str!("../../systemd/tidings.service");

/// The `ExecStart=` line of the checked-in unit; `unit_text` replaces its binary.
const TEMPLATE_EXEC_START: &str = "ExecStart=%h/.cargo/bin/tidings run";

/// The `ReadWritePaths=` line of the checked-in unit (the default database directory).
const TEMPLATE_READ_WRITE: &str = "ReadWritePaths=-%h/.local/share/tidings";

/// Why the unit cannot be written or removed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The home directory (and so `$XDG_CONFIG_HOME`) is unknown.
    #[error("cannot find the home directory")]
    NoHome,
    /// systemd unit files are UTF-8 text, a control character would start a new line, and
    /// systemd refuses executable names with quotes or backslashes.
    #[error("{}: a path in a systemd unit must be UTF-8 text without control characters, quotes or backslashes", .0.display())]
    BadPath(PathBuf),
    /// A file or directory could not be written or removed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// There is no unit to uninstall.
    #[error("{}: no tidings unit installed there", .0.display())]
    NotInstalled(PathBuf),
}

/// The user unit with `ExecStart=` starting `binary` (`binary run`).
///
/// `%` in the path is doubled and a path with white space is quoted, as systemd's command-line
/// syntax wants. [`install`] first rejects paths systemd cannot start (not UTF-8, control
/// characters, quotes, backslashes); should one get here anyway, it is escaped so that the
/// result is still exactly one `ExecStart=` line (which systemd then refuses to start).
pub fn unit_text(binary: &Path) -> String {
    let exec = format!("ExecStart={} run", systemd_quote(&binary.to_string_lossy()));
    UNIT_TEMPLATE.replacen(TEMPLATE_EXEC_START, &exec, 1)
}

/// [`unit_text`], with `ReadWritePaths=` naming `data_dir` (the database directory) when it is
/// not the default `%h/.local/share/tidings`.
pub fn unit_text_for(binary: &Path, data_dir: &Path, home: &Path) -> String {
    let text = unit_text(binary);
    if data_dir == home.join(".local/share/tidings") {
        return text;
    }
    let line = format!(
        "ReadWritePaths=-{}",
        systemd_quote(&data_dir.to_string_lossy())
    );
    text.replacen(TEMPLATE_READ_WRITE, &line, 1)
}

/// One word of a systemd command line or path list: specifiers (`%`) doubled, `\` and `"`
/// escaped, control characters C-escaped, quoted when it contains white space or quotes.
fn systemd_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let mut needs_quotes = false;
    for c in s.chars() {
        match c {
            '%' => out.push_str("%%"),
            '\\' => out.push_str("\\\\"),
            '"' => {
                needs_quotes = true;
                out.push_str("\\\"");
            }
            '\'' => {
                needs_quotes = true;
                out.push('\'');
            }
            c if c.is_control() => {
                needs_quotes = true;
                let _ = write!(out, "\\x{:02x}", u32::from(c) & 0xff);
            }
            c if c.is_whitespace() => {
                needs_quotes = true;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    if needs_quotes {
        format!("\"{out}\"")
    } else {
        out
    }
}

/// Rejects a path that cannot be written into a unit faithfully: not UTF-8, or with a
/// control character, quote or backslash (systemd refuses such executable names: "Executable
/// name contains special characters").
fn check_path(path: &Path) -> Result<&str, ServiceError> {
    match path.to_str() {
        Some(s)
            if !s
                .chars()
                .any(|c| c.is_control() || matches!(c, '"' | '\'' | '\\')) =>
        {
            Ok(s)
        }
        _ => Err(ServiceError::BadPath(path.to_path_buf())),
    }
}

/// `~/.config/systemd/user` (`$XDG_CONFIG_HOME/systemd/user`): where user units go.
pub fn default_unit_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.config_dir().join("systemd").join("user"))
}

/// Runs one `systemctl` command line (without the leading `systemctl`).
pub type Runner<'a> = &'a mut dyn FnMut(&[&str]) -> anyhow::Result<()>;

/// Runs `systemctl ARGS…` and fails unless it exits 0.
fn run_systemctl(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("systemctl")
        .args(args)
        .status()
        .context("cannot run systemctl")?;
    anyhow::ensure!(status.success(), "systemctl {}: {status}", args.join(" "));
    Ok(())
}

fn shown(args: &[&str]) -> String {
    format!("systemctl {}", args.join(" "))
}

/// Writes the unit for `binary` to `$XDG_CONFIG_HOME/systemd/user/tidings.service` and creates
/// the database directory the sandbox leaves writable. Returns the `systemctl --user`
/// commands: run (in order) when `now`, else for the user to run.
pub fn install(binary: &Path, now: bool) -> anyhow::Result<Vec<String>> {
    let dirs = directories::BaseDirs::new().ok_or(ServiceError::NoHome)?;
    let unit_dir = dirs.config_dir().join("systemd").join("user");
    let data_dir = dirs.data_dir().join("tidings");
    let home = dirs.home_dir().to_path_buf();
    let mut runner = run_systemctl;
    install_to(
        &unit_dir,
        &data_dir,
        &home,
        binary,
        now.then_some(&mut runner as Runner<'_>),
    )
}

/// [`install`] with every directory given: writes `unit_dir/tidings.service` (creating
/// `unit_dir`), creates `data_dir` with mode 0700, and runs the commands through `runner`
/// when one is given.
pub fn install_to(
    unit_dir: &Path,
    data_dir: &Path,
    home: &Path,
    binary: &Path,
    runner: Option<Runner<'_>>,
) -> anyhow::Result<Vec<String>> {
    check_path(binary)?;
    check_path(data_dir)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ServiceError::Io { path, source }
    };
    std::fs::create_dir_all(unit_dir).map_err(io(unit_dir))?;
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(io(data_dir))?;
    }
    let unit_path = unit_dir.join(UNIT_NAME);
    let text = unit_text_for(binary, data_dir, home);
    // Replaced whole, so a running systemd never reads half a unit.
    crate::atomic_write::replace(&unit_path, text.as_bytes(), 0o644).map_err(io(&unit_path))?;

    let commands: [&[&str]; 2] = [
        &["--user", "daemon-reload"],
        &["--user", "enable", "--now", UNIT_NAME],
    ];
    if let Some(run) = runner {
        for args in commands {
            run(args)?;
        }
    }
    Ok(commands.iter().map(|a| shown(a)).collect())
}

/// Removes the unit installed by [`install`]. With `now`, first stops and disables it
/// (`systemctl --user disable --now`) and afterwards runs `daemon-reload`. Returns the
/// commands run, or (without `now`) those the user should run.
pub fn uninstall(now: bool) -> anyhow::Result<Vec<String>> {
    let unit_dir = default_unit_dir().ok_or(ServiceError::NoHome)?;
    let mut runner = run_systemctl;
    uninstall_from(&unit_dir, now.then_some(&mut runner as Runner<'_>))
}

/// [`uninstall`] for the unit in `unit_dir`. The `*.wants/tidings.service` links that
/// `systemctl enable` made there are removed too, so nothing dangles.
pub fn uninstall_from(
    unit_dir: &Path,
    mut runner: Option<Runner<'_>>,
) -> anyhow::Result<Vec<String>> {
    let unit_path = unit_dir.join(UNIT_NAME);
    if std::fs::symlink_metadata(&unit_path).is_err() {
        return Err(ServiceError::NotInstalled(unit_dir.to_path_buf()).into());
    }
    let mut done = Vec::new();
    let stop: &[&str] = &["--user", "disable", "--now", UNIT_NAME];
    if let Some(run) = runner.as_mut() {
        run(stop)?;
        done.push(shown(stop));
    }
    // What `systemctl disable` removes: our links in the targets' .wants directories.
    if let Ok(entries) = std::fs::read_dir(unit_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".wants") {
                let link = entry.path().join(UNIT_NAME);
                if std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()) {
                    std::fs::remove_file(&link).map_err(|source| ServiceError::Io {
                        path: link.clone(),
                        source,
                    })?;
                }
            }
        }
    }
    std::fs::remove_file(&unit_path).map_err(|source| ServiceError::Io {
        path: unit_path.clone(),
        source,
    })?;
    let reload: &[&str] = &["--user", "daemon-reload"];
    match runner {
        Some(run) => {
            run(reload)?;
            done.push(shown(reload));
            Ok(done)
        }
        None => Ok(vec![shown(&["--user", "stop", UNIT_NAME]), shown(reload)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_text_replaces_only_exec_start() {
        let text = unit_text(Path::new("/opt/tidings/bin/tidings"));
        assert!(text.contains("\nExecStart=/opt/tidings/bin/tidings run\n"));
        assert!(!text.contains("ExecStart=%h/.cargo/bin"));
        let changed: Vec<_> = UNIT_TEMPLATE
            .lines()
            .zip(text.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(UNIT_TEMPLATE.lines().count(), text.lines().count());
    }

    #[test]
    fn template_has_the_lines_that_get_replaced() {
        assert_eq!(UNIT_TEMPLATE.matches(TEMPLATE_EXEC_START).count(), 1);
        assert_eq!(UNIT_TEMPLATE.matches(TEMPLATE_READ_WRITE).count(), 1);
        for directive in [
            "Type=notify\n",
            "NotifyAccess=main\n",
            "ExecReload=kill -HUP $MAINPID\n",
            "Restart=on-failure\n",
            "WatchdogSec=",
            "After=graphical-session.target\n",
            "PartOf=graphical-session.target\n",
            "UMask=0077\n",
        ] {
            assert!(UNIT_TEMPLATE.contains(directive), "{directive}");
        }
    }

    #[test]
    fn awkward_binary_paths_are_escaped() {
        let text = unit_text(Path::new("/home/a b/100%/tid\"ings"));
        assert!(
            text.contains("\nExecStart=\"/home/a b/100%%/tid\\\"ings\" run\n"),
            "{text}"
        );
        let text = unit_text(Path::new("/x/evil\nExecStartPre=/bin/sh"));
        assert_eq!(text.matches("\nExecStartPre=").count(), 0);
        assert!(text.contains("\\x0a"));
    }

    #[test]
    fn data_dir_elsewhere_rewrites_read_write_paths() {
        let home = Path::new("/home/u");
        let same = unit_text_for(
            Path::new("/b"),
            Path::new("/home/u/.local/share/tidings"),
            home,
        );
        assert!(same.contains(TEMPLATE_READ_WRITE));
        let other = unit_text_for(Path::new("/b"), Path::new("/data/tidings"), home);
        assert!(other.contains("\nReadWritePaths=-/data/tidings\n"));
        assert!(!other.contains(TEMPLATE_READ_WRITE));
    }

    #[test]
    fn install_writes_the_unit_and_lists_commands() {
        let dir = tempfile::tempdir().expect("tempdir");
        let unit_dir = dir.path().join("config/systemd/user");
        let data_dir = dir.path().join("data/tidings");
        let commands = install_to(
            &unit_dir,
            &data_dir,
            dir.path(),
            Path::new("/usr/local/bin/tidings"),
            None,
        )
        .expect("install");
        assert_eq!(
            commands,
            [
                "systemctl --user daemon-reload",
                "systemctl --user enable --now tidings.service"
            ]
        );
        let written = std::fs::read_to_string(unit_dir.join(UNIT_NAME)).expect("unit");
        assert!(written.contains("\nExecStart=/usr/local/bin/tidings run\n"));
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&data_dir)
                .expect("data dir")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        // Installing again overwrites.
        install_to(
            &unit_dir,
            &data_dir,
            dir.path(),
            Path::new("/other/tidings"),
            None,
        )
        .expect("reinstall");
        let written = std::fs::read_to_string(unit_dir.join(UNIT_NAME)).expect("unit");
        assert!(written.contains("\nExecStart=/other/tidings run\n"));
        assert!(!unit_dir.join(format!(".{UNIT_NAME}.tmp")).exists());
    }

    #[test]
    fn install_now_runs_the_commands_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ran = Vec::new();
        let mut runner = |args: &[&str]| {
            ran.push(args.join(" "));
            Ok(())
        };
        let commands = install_to(
            &dir.path().join("u"),
            &dir.path().join("d"),
            dir.path(),
            Path::new("/b/tidings"),
            Some(&mut runner),
        )
        .expect("install");
        assert_eq!(
            ran,
            [
                "--user daemon-reload",
                "--user enable --now tidings.service"
            ]
        );
        assert_eq!(commands.len(), 2);
    }

    #[test]
    fn install_rejects_unwritable_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = install_to(
            &dir.path().join("u"),
            &dir.path().join("d"),
            dir.path(),
            Path::new("/b/tid\nings"),
            None,
        )
        .expect_err("control character");
        assert!(err.to_string().contains("control characters"), "{err}");
        for bad in ["/b/tid\"ings", "/b/tid'ings", "/b/tid\\ings"] {
            assert!(
                install_to(
                    &dir.path().join("u"),
                    &dir.path().join("d"),
                    dir.path(),
                    Path::new(bad),
                    None
                )
                .is_err(),
                "{bad}"
            );
        }
        assert!(!dir.path().join("u").exists());
    }

    /// A unit installed into a temporary directory: (the directory, its unit dir).
    fn installed() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let unit_dir = dir.path().join("user");
        install_to(
            &unit_dir,
            &dir.path().join("d"),
            dir.path(),
            Path::new("/b/t"),
            None,
        )
        .expect("install");
        (dir, unit_dir)
    }

    #[test]
    fn uninstall_removes_unit_and_wants_links() {
        let (_dir, unit_dir) = installed();
        let wants = unit_dir.join("graphical-session.target.wants");
        std::fs::create_dir_all(&wants).expect("wants");
        std::os::unix::fs::symlink(unit_dir.join(UNIT_NAME), wants.join(UNIT_NAME)).expect("link");
        let commands = uninstall_from(&unit_dir, None).expect("uninstall");
        assert_eq!(
            commands,
            [
                "systemctl --user stop tidings.service",
                "systemctl --user daemon-reload"
            ]
        );
        assert!(!unit_dir.join(UNIT_NAME).exists());
        assert!(std::fs::symlink_metadata(wants.join(UNIT_NAME)).is_err());
        let again = uninstall_from(&unit_dir, None).expect_err("nothing installed");
        assert!(again.to_string().contains("no tidings unit"), "{again}");
    }

    #[test]
    fn uninstall_now_disables_first_then_reloads() {
        let (_dir, unit_dir) = installed();
        let mut ran = Vec::new();
        let mut runner = |args: &[&str]| {
            ran.push(args.join(" "));
            Ok(())
        };
        uninstall_from(&unit_dir, Some(&mut runner)).expect("uninstall");
        assert_eq!(
            ran,
            [
                "--user disable --now tidings.service",
                "--user daemon-reload"
            ]
        );
    }

    /// What `install` writes passes `systemd-analyze verify` silently, also for a binary path
    /// that needs quoting and escaping (skipped without systemd-analyze).
    #[test]
    fn installed_unit_verifies_even_with_an_awkward_path() {
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let available = Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "SKIPPED: systemd-analyze not installed"
                );
            }
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let bin_dir = dir.path().join("a b/100%");
        std::fs::create_dir_all(&bin_dir).expect("bin dir");
        let binary = bin_dir.join("tidings");
        std::os::unix::fs::symlink(&exe, &binary).expect("symlink");
        let runtime = dir.path().join("runtime");
        std::fs::create_dir(&runtime).expect("runtime dir");
        let unit_dir = dir.path().join("user");
        install_to(
            &unit_dir,
            &dir.path().join("data dir/50%"),
            dir.path(),
            &binary,
            None,
        )
        .expect("install");
        let out = Command::new("systemd-analyze")
            .args(["--user", "--man=no", "verify"])
            .arg(unit_dir.join(UNIT_NAME))
            .env("XDG_RUNTIME_DIR", &runtime)
            .output()
            .expect("systemd-analyze");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && text.is_empty(), "{text}");
        let unit = std::fs::read_to_string(unit_dir.join(UNIT_NAME)).expect("unit");
        assert!(unit.contains("/data dir/50%%\"\n"), "{unit}");
    }
}
