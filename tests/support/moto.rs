//! A moto server for the AWS tests: found on PATH or in the project's `.venv` (installed there by
//! `scripts/install-moto.sh` when missing), started on 127.0.0.1 with a free port, reset between
//! tests, stopped when the test process ends (a watchdog kills it even if the process is killed).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `moto_server` from PATH or `.venv/bin`, installing it into `.venv` when neither has it.
pub fn moto_server_path() -> PathBuf {
    let venv = repo_root().join(".venv/bin/moto_server");
    if let Some(p) = on_path("moto_server").filter(|p| works(p)) {
        return p;
    }
    if !venv.is_file() {
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/install-moto.sh"))
            .status()
            .expect("run scripts/install-moto.sh");
        assert!(
            status.success(),
            "scripts/install-moto.sh failed: cannot install moto into .venv"
        );
    }
    assert!(
        venv.is_file(),
        "moto_server not found at {}",
        venv.display()
    );
    venv
}

/// A pyenv shim on PATH may exist without moto behind it.
fn works(p: &Path) -> bool {
    Command::new(p)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub struct Moto {
    pub port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl Moto {
    /// The one server of this test binary, locked for the calling test and reset for it.
    pub fn shared() -> MutexGuard<'static, Moto> {
        static SHARED: OnceLock<Mutex<Moto>> = OnceLock::new();
        let m = SHARED.get_or_init(|| Mutex::new(Moto::start()));
        let mut guard = m.lock().unwrap_or_else(|e| e.into_inner());
        if !guard.answers() {
            guard.restart();
        }
        guard.reset();
        guard
    }

    pub fn start() -> Moto {
        let dir = repo_root()
            .join("target/moto-test")
            .join(format!("{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("moto dir");
        let mut m = Moto {
            port: free_port(),
            child: None,
            dir,
        };
        m.launch();
        m
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn recording_path(&self) -> PathBuf {
        self.dir.join("recording.jsonl")
    }

    fn launch(&mut self) {
        let server = moto_server_path();
        let log = std::fs::File::create(self.dir.join("moto.log")).expect("moto log");
        // The watchdog shell ends moto when this test process is gone, however it ended.
        let script = r#"
            "$MOTO" -H 127.0.0.1 -p "$PORT" & child=$!
            echo $child > "$PIDFILE"
            trap 'kill $child 2>/dev/null; exit 0' TERM INT
            while kill -0 "$PARENT" 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.3; done
            kill $child 2>/dev/null
        "#;
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("MOTO", &server)
            .env("PORT", self.port.to_string())
            .env("PARENT", std::process::id().to_string())
            .env("PIDFILE", self.dir.join("moto.pid"))
            .env("MOTO_RECORDER_FILEPATH", self.recording_path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start moto_server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {} within 60 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn answers(&self) -> bool {
        matches!(http(self.port, "GET", "/moto-api/", ""), Ok((200, _)))
    }

    /// Stop the server; the port stays reserved for `restart`.
    pub fn stop(&mut self) {
        // Both by process id: moto itself, then its watchdog.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("moto.pid")) {
            let _ = Command::new("kill")
                .arg(pid.trim())
                .stderr(Stdio::null())
                .status();
        }
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg(child.id().to_string())
                .stderr(Stdio::null())
                .status();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Start again on the same port (moto keeps nothing: seed again).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    pub fn reset(&self) {
        let (code, body) = http(self.port, "POST", "/moto-api/reset", "").expect("reset moto");
        assert_eq!(code, 200, "moto reset: {body}");
    }

    pub fn post_json(&self, path: &str, body: &str) {
        let (code, text) = http(self.port, "POST", path, body).expect("post to moto");
        assert!(
            (200..300).contains(&code),
            "POST {path}: HTTP {code}: {text}"
        );
    }

    pub fn start_recording(&self) {
        let _ = std::fs::remove_file(self.recording_path());
        self.post_json("/moto-api/recorder/reset-recording", "");
        self.post_json("/moto-api/recorder/start-recording", "");
    }

    pub fn stop_recording(&self) {
        self.post_json("/moto-api/recorder/stop-recording", "");
    }

    /// Every request moto recorded since `start_recording`, as JSON objects.
    pub fn recorded(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.recording_path()).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("recording line"))
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A tiny HTTP/1.0 client for moto's own API (no chunked answers with 1.0).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

/// The region (from the request's signature) and the API operation of one recorded request.
pub fn operation(entry: &serde_json::Value) -> (String, String) {
    let headers = &entry["headers"];
    let auth = headers["Authorization"].as_str().unwrap_or_default();
    let region = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or("?")
        .to_string();
    if let Some(target) = headers["X-Amz-Target"].as_str() {
        return (region, target.rsplit('.').next().unwrap_or(target).into());
    }
    let body = entry["body"].as_str().unwrap_or_default();
    let body = if entry["body_encoded"].as_bool() == Some(true) {
        String::from_utf8(aws_smithy_types::base64::decode(body).expect("base64 body"))
            .unwrap_or_default()
    } else {
        body.to_string()
    };
    let action = body
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or("?");
    (region, action.to_string())
}
