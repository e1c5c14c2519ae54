//! A program in a pseudo-terminal, its screen kept by a terminal emulator (`vt100`), for
//! tests and benchmarks of full-screen commands (`tidings review`).
//!
//! ```ignore
//! let mut term = Pty::spawn(&command, 24, 80);
//! term.wait_for("the Alerts pane", WAIT, |s| pty::line(s, 0).contains("Alerts"));
//! term.send("/nato\r");
//! let status = term.wait_exit(WAIT);
//! ```
//!
//! Waiting is driven by the program's output: a reader thread sends each chunk the terminal
//! receives, a waiter thread sends the exit status, and [`Pty::wait_for`] parses every chunk
//! as it comes and checks its predicate after each one, until a deadline. Nothing sleeps.
//!
//! The terminal answers the queries a full-screen program may send at start-up (cursor
//! position, primary device attributes), as a real one does.
//!
//! Shared by the integration tests (`tests/it/support/pty.rs`) and `benches/poll.rs` (which
//! includes this file by path), so it uses only `std`, `portable-pty` and `vt100`.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portable_pty::{ChildKiller, CommandBuilder, ExitStatus, MasterPty, PtySize};

/// Keys as a terminal sends them (normal cursor mode; crossterm reads both modes).
pub mod keys {
    pub const ENTER: &str = "\r";
    pub const ESC: &str = "\x1b";
    pub const TAB: &str = "\t";
    pub const DOWN: &str = "\x1b[B";
    pub const UP: &str = "\x1b[A";
    pub const PAGE_DOWN: &str = "\x1b[6~";
    pub const PAGE_UP: &str = "\x1b[5~";
}

/// What the reader and waiter threads report.
enum Event {
    Output(Vec<u8>),
    /// The terminal's last writer (the program and its children) closed it.
    Eof,
    Exited(std::io::Result<ExitStatus>),
}

/// Collects the answers the terminal owes the program (see the module docs).
#[derive(Default)]
struct Replies(Vec<u8>);

impl vt100::Callbacks for Replies {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        match (i1, c, params) {
            // DSR 6: where the cursor is (1-based).
            (None, 'n', [[6]]) => {
                let (row, col) = screen.cursor_position();
                self.0
                    .extend_from_slice(format!("\x1b[{};{}R", row + 1, col + 1).as_bytes());
            }
            // DA1: a VT100 with advanced video (what xterm-likes without extras answer).
            (None, 'c', [] | [[0]]) => self.0.extend_from_slice(b"\x1b[?1;2c"),
            _ => {}
        }
    }
}

/// A child process on the slave side of a pseudo-terminal; killed when dropped.
pub struct Pty {
    command: String,
    parser: vt100::Parser<Replies>,
    events: mpsc::Receiver<Event>,
    writer: Box<dyn Write + Send>,
    killer: Box<dyn ChildKiller + Send + Sync>,
    /// Kept so that the terminal stays open while the program runs.
    _master: Box<dyn MasterPty + Send>,
    /// Everything the program wrote to the terminal so far.
    output: Vec<u8>,
    exit: Option<ExitStatus>,
    eof: bool,
    started: Instant,
}

impl Pty {
    /// Starts `cmd` (program, arguments, working directory and environment changes as set on
    /// it; stdio is the terminal) in a terminal of `rows` × `cols`. Panics if it cannot.
    pub fn spawn(cmd: &std::process::Command, rows: u16, cols: u16) -> Pty {
        let command = describe(cmd);
        let fail =
            |what: &str, e: &dyn std::fmt::Display| -> ! { panic!("{what} for `{command}`: {e}") };
        let system = portable_pty::native_pty_system();
        let pair = system
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap_or_else(|e| fail("open a pseudo-terminal", &e));
        let mut builder = CommandBuilder::new(cmd.get_program());
        builder.args(cmd.get_args());
        // Without a directory, portable-pty would start the program in $HOME.
        match cmd.get_current_dir() {
            Some(dir) => builder.cwd(dir),
            None => builder.cwd(std::env::current_dir().expect("current directory")),
        }
        for (key, value) in cmd.get_envs() {
            match value {
                Some(v) => builder.env(key, v),
                None => builder.env_remove(key),
            }
        }
        let started = Instant::now();
        let mut child = pair
            .slave
            .spawn_command(builder)
            .unwrap_or_else(|e| fail("spawn in a pseudo-terminal", &e));
        // Only the child holds the slave side now: its exit closes the terminal (EOF).
        drop(pair.slave);
        let killer = child.clone_killer();
        let mut reader = pair
            .master
            .try_clone_reader()
            .unwrap_or_else(|e| fail("read the terminal", &e));
        let writer = pair
            .master
            .take_writer()
            .unwrap_or_else(|e| fail("write to the terminal", &e));
        let (tx, events) = mpsc::channel();
        let out = tx.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf) {
                    // Linux answers EIO once the slave side is closed.
                    Ok(0) | Err(_) => {
                        let _ = out.send(Event::Eof);
                        return;
                    }
                    Ok(n) => {
                        if out.send(Event::Output(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        std::thread::spawn(move || {
            let _ = tx.send(Event::Exited(child.wait()));
        });
        let parser = vt100::Parser::new_with_callbacks(
            std::num::NonZeroU16::new(rows).expect("rows > 0"),
            std::num::NonZeroU16::new(cols).expect("cols > 0"),
            0,
            Replies::default(),
        );
        Pty {
            command,
            parser,
            events,
            writer,
            killer,
            _master: pair.master,
            output: Vec::new(),
            exit: None,
            eof: false,
            started,
        }
    }

    /// When the program was started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The command line, for messages.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Types `keys` (see [`keys`] for the special ones).
    pub fn send(&mut self, keys: &str) {
        self.send_bytes(keys.as_bytes());
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        let r = self
            .writer
            .write_all(bytes)
            .and_then(|()| self.writer.flush());
        if let Err(e) = r {
            panic!(
                "type {bytes:?} into `{}`: {e}\n{}",
                self.command,
                self.dump()
            );
        }
    }

    /// The screen as parsed so far.
    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// The screen's text, one line per row (trailing blanks trimmed).
    pub fn contents(&self) -> String {
        self.screen().contents()
    }

    /// Row `row` of the screen (0 is the first), trailing blanks trimmed.
    pub fn line(&self, row: u16) -> String {
        line(self.screen(), row)
    }

    /// Every byte the program wrote to the terminal so far (escape sequences included), e.g.
    /// to find where its frames end.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// The exit status, once the program has exited and it was seen.
    pub fn exit_status(&self) -> Option<&ExitStatus> {
        self.exit.as_ref()
    }

    /// Handles one event, waiting for it until `deadline`; false if none came by then.
    fn pump(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = match self.events.recv_timeout(left) {
            Ok(e) => e,
            Err(_) => return false,
        };
        match event {
            Event::Output(bytes) => {
                self.parser.process(&bytes);
                self.output.extend_from_slice(&bytes);
                let replies = std::mem::take(&mut self.parser.callbacks_mut().0);
                if !replies.is_empty() {
                    // The program may be gone already; then nobody needs the answer.
                    let _ = self
                        .writer
                        .write_all(&replies)
                        .and_then(|()| self.writer.flush());
                }
            }
            Event::Eof => self.eof = true,
            Event::Exited(status) => {
                let status = status.unwrap_or_else(|e| {
                    panic!("wait for `{}`: {e}\n{}", self.command, self.dump())
                });
                self.exit = Some(status);
            }
        }
        true
    }

    /// Handles the output that has already arrived, without waiting for more.
    pub fn drain(&mut self) {
        while self.pump(Instant::now()) {}
    }

    /// Reads the program's output until `pred` holds for the screen, at most `timeout`;
    /// `Err` with why not (timed out, or the program exited first). The predicate is checked
    /// at once and after each chunk of output.
    pub fn try_wait_for(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&vt100::Screen) -> bool,
    ) -> Result<(), String> {
        self.try_wait_until(timeout, |screen, _| pred(screen))
    }

    /// [`Pty::try_wait_for`] with a predicate that also sees [`Pty::output`].
    pub fn try_wait_until(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&vt100::Screen, &[u8]) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(self.parser.screen(), &self.output) {
                return Ok(());
            }
            // After the exit, the output still in the pipe is read to its end.
            if let Some(status) = &self.exit
                && self.eof
            {
                return Err(format!("`{}` exited ({status:?}) first", self.command));
            }
            if !self.pump(deadline) {
                return Err(format!("timed out after {timeout:?}"));
            }
        }
    }

    /// [`Pty::try_wait_for`], failing the test with `what` and the last screen.
    #[track_caller]
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl FnMut(&vt100::Screen) -> bool,
    ) {
        if let Err(why) = self.try_wait_for(timeout, pred) {
            panic!(
                "waiting for {what} in `{}`: {why}\n{}",
                self.command,
                self.dump()
            );
        }
    }

    /// Waits (at most `timeout`) for the program to exit and its output to end; fails the
    /// test with the last screen if it does not (the program is killed).
    #[track_caller]
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        while !(self.exit.is_some() && self.eof) {
            if !self.pump(deadline) {
                let _ = self.killer.kill();
                panic!(
                    "`{}` did not exit within {timeout:?} (exit seen: {:?}, end of output seen: {})\n{}",
                    self.command,
                    self.exit,
                    self.eof,
                    self.dump()
                );
            }
        }
        self.exit.clone().expect("seen")
    }

    /// The screen framed, with row numbers, for failure messages.
    pub fn dump(&self) -> String {
        dump(self.screen())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.killer.kill();
        }
    }
}

/// Row `row` of `screen`, trailing blanks trimmed.
pub fn line(screen: &vt100::Screen, row: u16) -> String {
    let (_, cols) = screen.size();
    screen
        .rows(0, cols.get())
        .nth(usize::from(row))
        .unwrap_or_default()
        .trim_end()
        .to_owned()
}

/// Every row of `screen`, trailing blanks trimmed.
pub fn lines(screen: &vt100::Screen) -> Vec<String> {
    let (_, cols) = screen.size();
    screen
        .rows(0, cols.get())
        .map(|r| r.trim_end().to_owned())
        .collect()
}

/// `screen` framed, with row numbers, for failure messages.
pub fn dump(screen: &vt100::Screen) -> String {
    let (_, cols) = screen.size();
    let rule = "-".repeat(usize::from(cols.get()));
    let mut out = format!("--- screen ---\n   +{rule}+\n");
    for (i, row) in lines(screen).iter().enumerate() {
        let pad = usize::from(cols.get()).saturating_sub(row.chars().count());
        out.push_str(&format!("{i:>2} |{row}{}|\n", " ".repeat(pad)));
    }
    out.push_str(&format!("   +{rule}+\n--------------"));
    out
}

/// `cmd` as a command line, for messages.
fn describe(cmd: &std::process::Command) -> String {
    let program = std::path::Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned();
    std::iter::once(program)
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}
