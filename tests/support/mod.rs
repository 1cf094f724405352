//! Shared by the AWS test binaries: the moto harness, the seeded deployment, a local health
//! endpoint, and collecting source events.
#![allow(dead_code)]

pub mod drill;
pub mod eks;
pub mod fault_proxy;
pub mod moto;
pub mod operators;
pub mod pty;
pub mod seed;
pub mod serial_proxy;

use opsdeck::fleet::{DataKind, Reading, SourceError};
use opsdeck::source::{SourceEvent, SourceHandle};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The `/health/regional` answer of reference deployment 000.
pub const HEALTH_BODY: &str = r#"{"status": "ok", "region": "eu",
  "services": {"primaryDatabase": "healthy", "readReplicas": [
    {"region": "eu", "status": "healthy", "latency": 12},
    {"region": "us", "status": "healthy", "latency": 145},
    {"region": "asia", "status": "healthy", "latency": 230}], "redis": "healthy"},
  "replicaCount": 3, "uptime": 86400}"#;

/// Point the SDK's standard chain at moto's test credentials, and never at instance metadata.
pub fn moto_env() {
    // Tests in one binary run one at a time (they hold the moto lock) and set the same values.
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    for v in [
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_DEFAULT_PROFILE",
    ] {
        std::env::remove_var(v);
    }
}

/// A health endpoint on 127.0.0.1 that answers every request with `HEALTH_BODY`; its URL.
pub async fn health_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind health server");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{HEALTH_BODY}",
                    HEALTH_BODY.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://127.0.0.1:{port}/health/regional")
}

/// A URL nobody listens on.
pub fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/health/regional")
}

/// The latest outcome of each (region, kind), and every event in order.
#[derive(Debug, Default)]
pub struct Seen {
    pub latest: BTreeMap<(String, DataKind), Result<Reading, SourceError>>,
    pub events: Vec<SourceEvent>,
}

impl Seen {
    pub fn reading(&self, region: &str, kind: DataKind) -> &Reading {
        match self.latest.get(&(region.to_string(), kind)) {
            Some(Ok(r)) => r,
            other => panic!("{region} {kind:?}: expected a reading, got {other:?}"),
        }
    }

    pub fn error(&self, region: &str, kind: DataKind) -> Option<&SourceError> {
        match self.latest.get(&(region.to_string(), kind)) {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }

    pub fn has_all(&self, regions: &[&str], kinds: &[DataKind]) -> bool {
        regions.iter().all(|r| {
            kinds
                .iter()
                .all(|k| self.latest.contains_key(&(r.to_string(), *k)))
        })
    }
}

/// Read events into `seen` until `done` holds (true) or `limit` passes (false).
pub async fn collect_until(
    handle: &mut SourceHandle,
    seen: &mut Seen,
    limit: Duration,
    done: impl Fn(&Seen) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while !done(seen) {
        match tokio::time::timeout_at(deadline, handle.events.recv()).await {
            Ok(Some(ev)) => {
                match &ev {
                    SourceEvent::Reading {
                        region, reading, ..
                    } => {
                        seen.latest
                            .insert((region.clone(), reading.kind()), Ok(reading.clone()));
                    }
                    SourceEvent::Failed {
                        region,
                        kind,
                        error,
                        ..
                    } => {
                        seen.latest
                            .insert((region.clone(), *kind), Err(error.clone()));
                    }
                    _ => {}
                }
                seen.events.push(ev);
            }
            _ => return false,
        }
    }
    true
}

/// A TCP gate on 127.0.0.1 in front of moto: closing it makes the endpoint unreachable (new
/// connections refused, open ones cut) while moto keeps its state; opening it again listens on the
/// same port.
pub struct Gate {
    pub port: u16,
    upstream: u16,
    accept: Option<tokio::task::JoinHandle<()>>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Gate {
    pub async fn new(upstream: u16) -> Gate {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gate");
        let port = listener.local_addr().expect("addr").port();
        let mut gate = Gate {
            port,
            upstream,
            accept: None,
            conns: Default::default(),
        };
        gate.serve(listener);
        gate
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let (upstream, conns) = (self.upstream, self.conns.clone());
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().unwrap().push(task.abort_handle());
            }
        }));
    }

    pub fn close(&mut self) {
        if let Some(t) = self.accept.take() {
            t.abort();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    pub async fn open(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(e) if tokio::time::Instant::now() > deadline => {
                    panic!("reopen gate on {}: {e}", self.port)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        self.serve(listener);
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.close();
    }
}
