//! Commands that only read the database (issue "Hostile servers, hostile text, and one daemon
//! per database"): `status`, `history`, `stats`, `match --history`, `review` and `feeds list`
//! never create a database, and read one on a read-only filesystem.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::TIMEOUT;
use crate::support::cli::{Output, Sandbox};
use crate::support::feeds::{Item, rss};
use crate::support::http::Response;
use crate::support::scenario::Scenario;
use crate::support::watchlist::{NATO, WatchList};

fn nato_item(slug: &str, title: &str) -> Item {
    Item::new(slug, title, "The alliance debates NATO membership.")
}

fn wire(items: &[Item]) -> Response {
    Response::ok(rss("Wire", items)).content_type("application/rss+xml")
}

/// The read commands, each with a mistyped `--db`: exit 1 naming the path, nothing created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_commands_never_create_a_database() {
    let sb = Sandbox::new();
    sb.write_config(
        &WatchList::standard()
            .feed("http://127.0.0.1:9/feed.xml", Some("Wire"))
            .to_toml(),
    );
    let folder = sb.path().join("typo");
    let db = folder.join("tidings.db");
    let config = sb.config.display().to_string();
    let db_arg = db.display().to_string();
    for args in [
        &["status"][..],
        &["status", "--json"][..],
        &["history"][..],
        &["stats"][..],
        &["match", "--history"][..],
        &["review"][..],
    ] {
        let mut all = vec!["--config", &config, "--db", &db_arg];
        all.extend_from_slice(args);
        let out = sb.run(&all).await;
        out.assert_code(1);
        assert_eq!(
            out.stderr,
            format!(
                "tidings: no database at {} (check --db or TIDINGS_DB; `tidings run` or \
                 `tidings poll --once` creates it)\n",
                db.display()
            ),
            "{}",
            out.dump()
        );
        assert!(
            !folder.exists(),
            "`{}` created {}",
            out.command,
            folder.display()
        );
    }
    // `feeds list` reads the watch-list; the database only adds each feed's health.
    let out = sb
        .run(&["--config", &config, "--db", &db_arg, "feeds", "list"])
        .await;
    out.assert_code(0);
    assert!(out.stdout.contains("not polled yet"), "{}", out.dump());
    assert!(
        !folder.exists(),
        "`feeds list` created {}",
        folder.display()
    );
}

/// Runs `tidings --config CONFIG --db DB ARGS` with the sandbox's folder read-only: a
/// read-only bind mount in a private mount namespace (`unshare -rm`: a real read-only
/// filesystem, EROFS), else (not root) the folder 0555 and its files 0444. `None` when
/// neither is possible here (root without namespaces: chmod does not stop root).
async fn on_a_read_only_folder(sb: &Sandbox, args: &[&str]) -> Option<Output> {
    const SCRIPT: &str = "mount --bind \"$1\" \"$1\" && mount -o remount,bind,ro \"$1\" \"$1\" \
                          && { touch \"$1/.probe\" 2>/dev/null && exit 99; shift; exec \"$@\"; }";
    let dir = sb.path().display().to_string();
    let probe = tokio::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", SCRIPT, "sh", &dir, "true"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
    if probe.is_ok_and(|s| s.success()) {
        let (cmd, command) = sb.command_with_files(args);
        let cmd = cmd.as_std();
        let mut wrapped = tokio::process::Command::new("unshare");
        wrapped
            .args(["-rm", "sh", "-c", SCRIPT, "sh", &dir])
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .current_dir(sb.path())
            .kill_on_drop(true);
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => wrapped.env(k, v),
                None => wrapped.env_remove(k),
            };
        }
        let out = tokio::time::timeout(TIMEOUT, wrapped.output())
            .await
            .unwrap_or_else(|_| panic!("`{command}` did not finish"))
            .unwrap_or_else(|e| panic!("run {command} under unshare: {e}"));
        assert_ne!(
            out.status.code(),
            Some(99),
            "the bind mount was not read-only"
        );
        return Some(Output {
            command: format!("{command} (read-only bind mount)"),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return None;
    }
    let chmod = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()))
    };
    let files: Vec<PathBuf> = std::fs::read_dir(sb.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    for f in &files {
        chmod(f, 0o444);
    }
    chmod(sb.path(), 0o555);
    let out = sb.tidings(args).await;
    chmod(sb.path(), 0o755);
    for f in &files {
        chmod(f, 0o600);
    }
    Some(out)
}

/// `status` and `history` read a database in a folder nobody can write to: with no `-shm`
/// (the last writer closed cleanly: SQLite cannot create it, the database is read
/// `immutable`) and with the `-shm` and `-wal` an earlier reader left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_commands_read_a_database_on_a_read_only_filesystem() {
    let title = "NATO membership: read-only";
    let s = Scenario::builder("read_only_filesystem")
        .topic(NATO.0, NATO.1)
        .feed("/wire.xml", "Wire", wire(&[nato_item("ro", title)]))
        .start_without_bus()
        .await;
    s.poll_once().await.assert_code(0);
    assert_eq!(s.alerts().len(), 1);
    let sidecar = |suffix: &str| {
        let mut p = s.db().as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    assert!(
        !sidecar("-shm").exists(),
        "the last connection removed -shm"
    );
    for round in ["no -shm", "-shm and -wal left by a reader"] {
        if round != "no -shm" {
            s.tidings(&["status"]).await.assert_code(0);
            assert!(sidecar("-shm").exists() && sidecar("-wal").exists());
        }
        let Some(status) = on_a_read_only_folder(&s.sb, &["status"]).await else {
            crate::support::skipped(
                "read_commands_read_a_database_on_a_read_only_filesystem: no unprivileged \
                 mount namespace, and root ignores chmod",
            );
            return;
        };
        status.assert_code(0);
        assert!(
            status.line_with("Wire").contains("ok"),
            "{round}: {}",
            status.dump()
        );
        let history = on_a_read_only_folder(&s.sb, &["history"]).await.unwrap();
        history.assert_code(0);
        history.line_with(title);
    }
}
