//! The real binary in a pseudo-terminal, read back through a vt100 screen.

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Screen {
    pub parser: vt100::Parser,
    pub raw: Vec<u8>,
    /// The reader saw the end of the output (every process holding the terminal closed it).
    pub closed: bool,
    /// Set to make the reader let go of the terminal after its next read (see `hang_up`).
    pub stop: bool,
}

pub struct Session {
    pub screen: Arc<Mutex<Screen>>,
    pub writer: Box<dyn Write + Send>,
    pub master: Box<dyn portable_pty::MasterPty + Send>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    _dir: tempfile::TempDir,
}

pub fn size(rows: u16, cols: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

impl Session {
    pub fn start(args: &[&str], rows: u16, cols: u16) -> Session {
        Session::start_with(args, rows, cols, &[])
    }

    /// Start opsdeck with `args` in a rows×cols pseudo-terminal, with extra environment variables.
    pub fn start_with(args: &[&str], rows: u16, cols: u16, envs: &[(&str, String)]) -> Session {
        let dir = tempfile::tempdir().unwrap();
        let pair = native_pty_system().openpty(size(rows, cols)).unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_opsdeck"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env("OPSDECK_STATE_DIR", dir.path());
        cmd.env("OPSDECK_CONFIG", dir.path().join("config"));
        cmd.env_remove("NO_COLOR");
        cmd.cwd(env!("CARGO_MANIFEST_DIR"));
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(Screen {
            parser: vt100::Parser::new(rows, cols, 0),
            raw: Vec::new(),
            closed: false,
            stop: false,
        }));
        let feed = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = feed.lock().unwrap();
                s.parser.process(&buf[..n]);
                s.raw.extend_from_slice(&buf[..n]);
                if s.stop {
                    break;
                }
            }
            feed.lock().unwrap().closed = true;
        });
        Session {
            screen,
            writer,
            master: pair.master,
            child,
            _dir: dir,
        }
    }

    pub fn contents(&self) -> String {
        self.screen.lock().unwrap().parser.screen().contents()
    }

    /// Wait until the screen satisfies `pred` and return that screen. The screen is read while
    /// opsdeck draws, so a frame may be half drawn: `pred` must be the whole condition the caller
    /// then relies on (assert on the returned screen only what `pred` checked).
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.contents();
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the screen shows every one of `texts` at once.
    pub fn wait_all(&self, texts: &[&str]) -> String {
        self.wait_for(&format!("all of {texts:?}"), |t| {
            texts.iter().all(|x| t.contains(x))
        })
    }

    /// Wait until the screen no longer shows `text` (a dialog or view closed: the keys before
    /// this point were taken).
    pub fn wait_gone(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?} to go"), |t| !t.contains(text))
    }

    /// Resize the terminal. The screen model is resized first, under its lock, so no byte drawn
    /// for the new size is read at the old one.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let mut screen = self.screen.lock().unwrap();
        screen.parser.set_size(rows, cols);
        self.master.resize(size(rows, cols)).unwrap();
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// Wait until opsdeck has exited and everything it wrote has been read (so assertions on the
    /// last bytes it wrote see them).
    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if self.screen.lock().unwrap().closed {
                    return status;
                }
            }
            assert!(
                Instant::now() < deadline,
                "opsdeck did not exit; screen:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Bytes written after the last switch to the alternate screen.
    pub fn raw_tail(&self) -> Vec<u8> {
        let s = self.screen.lock().unwrap();
        let enter = b"\x1b[?1049h";
        let at = s
            .raw
            .windows(enter.len())
            .rposition(|w| w == enter)
            .expect("entered the alternate screen");
        s.raw[at..].to_vec()
    }
}

/// opsdeck after its terminal went away: the process and its state directory.
pub struct HungUp {
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    pub dir: tempfile::TempDir,
}

impl Session {
    /// Close the terminal under opsdeck, as a killed tmux server or a closed window does: every
    /// handle on the terminal's master side is closed, so opsdeck gets SIGHUP and I/O errors.
    pub fn hang_up(mut self) -> HungUp {
        self.screen.lock().unwrap().stop = true;
        // Make opsdeck draw once more so the reader wakes up, sees `stop` and lets go.
        self.send(b"\t");
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.screen.lock().unwrap().closed {
            assert!(Instant::now() < deadline, "the reader did not let go");
            std::thread::sleep(Duration::from_millis(20));
        }
        let Session {
            writer,
            master,
            child,
            _dir,
            ..
        } = self;
        drop(writer);
        drop(master);
        HungUp { child, dir: _dir }
    }
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

pub fn assert_restored(s: &Session) {
    // The terminal is restored: alternate screen left and cursor shown after the session. (Raw mode is
    // a property of the pty's line discipline; leaving the alternate screen is only done by restore().)
    let tail = s.raw_tail();
    assert!(contains(&tail, b"\x1b[?1049l"), "left the alternate screen");
    assert!(contains(&tail, b"\x1b[?25h"), "cursor shown again");
}
