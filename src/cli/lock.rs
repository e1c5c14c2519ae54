//! One daemon per database: `tidings run` holds an exclusive `flock` on a lock file beside the
//! database (`tidings.db.lock`, 0600, the holder's PID inside) for as long as it runs. The
//! kernel drops the lock when the process ends, however it ends (SIGKILL included), so a lock
//! file left behind never blocks the next start.
//!
//! The lock file is a file of its own: the database is never opened outside SQLite (closing
//! any other descriptor of it would drop SQLite's POSIX locks; see ARCHITECTURE.md).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Failure;

/// The lock, held until dropped (or the process ends).
#[derive(Debug)]
pub(super) struct DaemonLock {
    _file: File,
}

/// The lock file of the database at `db`: `DB.lock`.
fn lock_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Takes the daemon's lock for the database at `db` (creating its folder 0700 if needed, as
/// opening the database would), or fails at once naming the PID that holds it.
pub(super) fn lock_database(db: &Path) -> Result<DaemonLock, Failure> {
    let path = lock_path(db);
    crate::store::create_parent_dir(&path)
        .with_context(|| format!("cannot create the folder of {}", path.display()))?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim().parse::<u32>() {
                Ok(pid) => format!("PID {pid}"),
                // Between its lock and its write: it is starting.
                Err(_) => "PID not written yet".to_string(),
            };
            return Err(anyhow::anyhow!(
                "another tidings daemon ({holder}) is already running on {}: it holds the lock {} \
                 (stop it first, e.g. `systemctl --user stop tidings`, or use another --db)",
                db.display(),
                path.display()
            )
            .into());
        }
        Err(TryLockError::Error(e)) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot lock {}", path.display()))
                .into());
        }
    }
    // Ours now: the PID of the holder, for the message above (after taking the lock, so a
    // loser never overwrites it).
    let write = |file: &mut File| -> std::io::Result<()> {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())
    };
    write(&mut file).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(DaemonLock { _file: file })
}
