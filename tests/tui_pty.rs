//! The real binary in a pseudo-terminal: start, navigate, open help, resize, quit — and the
//! terminal is restored.

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Screen {
    parser: vt100::Parser,
    raw: Vec<u8>,
}

struct Session {
    screen: Arc<Mutex<Screen>>,
    writer: Box<dyn Write + Send>,
    master: Box<dyn portable_pty::MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _dir: tempfile::TempDir,
}

fn size(rows: u16, cols: u16) -> PtySize {
    PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }
}

impl Session {
    fn start(args: &[&str], rows: u16, cols: u16) -> Session {
        let dir = tempfile::tempdir().unwrap();
        let pair = native_pty_system().openpty(size(rows, cols)).unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_opsdeck"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env("OPSDECK_STATE_DIR", dir.path());
        cmd.env("OPSDECK_CONFIG", dir.path().join("config"));
        cmd.env_remove("NO_COLOR");
        cmd.cwd(env!("CARGO_MANIFEST_DIR"));
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(Screen { parser: vt100::Parser::new(rows, cols, 0), raw: Vec::new() }));
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
            }
        });
        Session { screen, writer, master: pair.master, child, _dir: dir }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().parser.screen().contents()
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.contents();
            if pred(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "opsdeck did not exit; screen:\n{}", self.contents());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Bytes written after the last switch to the alternate screen.
    fn raw_tail(&self) -> Vec<u8> {
        let s = self.screen.lock().unwrap();
        let enter = b"\x1b[?1049h";
        let at = s.raw.windows(enter.len()).rposition(|w| w == enter).expect("entered the alternate screen");
        s.raw[at..].to_vec()
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn assert_restored(s: &Session) {
    // The terminal is restored: alternate screen left and cursor shown after the session. (Raw mode is
    // a property of the pty's line discipline; leaving the alternate screen is only done by restore().)
    let tail = s.raw_tail();
    assert!(contains(&tail, b"\x1b[?1049l"), "left the alternate screen");
    assert!(contains(&tail, b"\x1b[?25h"), "cursor shown again");
}

#[test]
fn start_navigate_help_resize_quit() {
    let mut s = Session::start(&["--seed", "5", "--start", "2026-11-22T12:00:00Z", "--no-mouse"], 30, 100);
    let first = s.wait_for("the overview with three regions", |t| {
        t.contains("eu-west-1") && t.contains("us-east-1") && t.contains("ap-southeast-1") && t.contains("p99")
    });
    assert!(first.contains("atlas-crm"), "status line names the fleet:\n{first}");

    // navigate: next region, open its detail view
    s.send(b"\t");
    s.send(b"\r");
    s.wait_for("detail view of us-east-1", |t| t.contains("us-east-1") && !t.contains("ap-southeast-1") && t.contains("15m"));
    s.send(b"\x1b");
    s.wait_for("back on the overview", |t| t.contains("ap-southeast-1"));

    // help overlay from the keymap
    s.send(b"?");
    let help = s.wait_for("help overlay", |t| t.contains("show / hide this help"));
    assert!(help.contains("focus next region") && help.contains("quit"), "help lists the keymap's actions:\n{help}");
    s.send(b"?");
    s.wait_for("help closed", |t| !t.contains("show / hide this help"));

    // resize: the frame is redrawn at the new size
    s.master.resize(size(45, 150)).unwrap();
    s.screen.lock().unwrap().parser.set_size(45, 150);
    s.wait_for("a redraw that uses the wider screen", |t| t.lines().any(|l| l.trim_end().chars().count() > 100));

    s.send(b"q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    assert_restored(&s);
}

#[test]
fn terminal_restored_on_sigterm() {
    let mut s = Session::start(&["--seed", "5", "--start", "2026-11-22T12:00:00Z"], 24, 80);
    s.wait_for("the overview", |t| t.contains("eu-west-1"));
    let pid = s.child.process_id().expect("pid");
    let rc = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(rc.success());
    s.wait_exit();
    assert_restored(&s);
}

#[test]
fn ctrl_c_quits_with_the_vim_keymap_too() {
    let mut s = Session::start(&["--keymap", "vim", "--start", "2026-11-22T12:00:00Z"], 24, 80);
    s.wait_for("the overview", |t| t.contains("eu-west-1"));
    s.send(b"\x03");
    assert!(s.wait_exit().success());
    assert_restored(&s);
}
