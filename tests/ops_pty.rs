//! The real console in a pseudo-terminal: drain the focused region from the keyboard. Keys typed
//! into the confirmation are text, not bindings ("q" does not quit); the result and the audit log
//! show the operation, and the audit file holds its two records.

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Session {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Session {
    fn start(dir: &std::path::Path, args: &[&str]) -> Session {
        let (rows, cols) = (40, 120);
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_opsdeck"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env("USER", "oncall");
        cmd.env("OPSDECK_STATE_DIR", dir);
        cmd.env("OPSDECK_CONFIG", dir.join("config"));
        cmd.cwd(env!("CARGO_MANIFEST_DIR"));
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let feed = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        Session {
            screen,
            writer,
            child,
            _master: pair.master,
        }
    }

    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.screen.lock().unwrap().screen().contents();
            if text.contains(what) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what:?}; screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn drain_from_the_keyboard_with_a_typed_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let args = [
        "--seed",
        "5",
        "--start",
        "2026-11-22T14:00:00Z",
        "--no-mouse",
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    let mut s = Session::start(dir.path(), &args);
    s.wait_for("ap-southeast-1");
    s.send(b"d");
    s.wait_for("plan: drain eu-west-1");
    s.wait_for("type eu-west-1 to run");
    // Typed text is not a binding: "q" lands in the input, and a wrong name runs nothing.
    s.send(b"q\r");
    s.wait_for("`q` does not match `eu-west-1`: nothing ran");
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "q in the dialog must not quit"
    );
    assert!(!audit.exists(), "nothing was recorded: nothing ran");
    s.send(b"eu-west-1\r");
    s.wait_for("result: applied");
    s.wait_for("undo (u): restore eu-west-1 to weight 100");
    s.send(b"\x1b");
    s.send(b"a");
    let log = s.wait_for("audit log · 2 records");
    assert!(
        log.contains("drain eu-west-1") && log.contains("oncall (simulated fleet)"),
        "{log}"
    );
    s.send(b"\x1b");
    s.send(b"q");
    let deadline = Instant::now() + Duration::from_secs(15);
    while s.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "opsdeck did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
    let lines = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    assert!(
        lines.contains("\"phase\":\"requested\"") && lines.contains("\"status\":\"applied\""),
        "{lines}"
    );
}
