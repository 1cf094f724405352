//! A forwarding proxy on 127.0.0.1 in front of moto that lets one DynamoDB call through at a
//! time. DynamoDB makes a conditional write atomic; moto's threaded server checks the condition
//! and writes the item in two steps, so two truly simultaneous conditional PutItems can both
//! succeed there. Behind this proxy they cannot: a test's verdict on the lease then depends on
//! opsdeck, not on the emulator. Every other call passes through concurrently. The proxy also
//! keeps the lock table's history: each take and release it let through and whether it succeeded.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One conditional write on the lock table, as answered: a take (PutItem) or a release
/// (DeleteItem) of the fleet's (`resource`) lease, and whether it succeeded (HTTP 200) or its
/// condition refused it.
#[derive(Debug, Clone, PartialEq)]
pub struct Take {
    pub resource: String,
    pub release: bool,
    pub granted: bool,
}

pub struct SerialProxy {
    pub port: u16,
    takes: Arc<Mutex<Vec<Take>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl SerialProxy {
    pub async fn start(upstream: &str) -> SerialProxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let takes: Arc<Mutex<Vec<Take>>> = Arc::default();
        let dynamo = Arc::new(tokio::sync::Mutex::new(()));
        let t = takes.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (up, dynamo, t) = (upstream.clone(), dynamo.clone(), t.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &up, &dynamo, &t).await;
                });
            }
        });
        SerialProxy {
            port,
            takes,
            accept,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The lock table's takes so far, in the order they were answered.
    pub fn takes(&self) -> Vec<Take> {
        self.takes.lock().unwrap().clone()
    }
}

impl Drop for SerialProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn serve(
    client: TcpStream,
    upstream: &str,
    dynamo: &tokio::sync::Mutex<()>,
    takes: &Mutex<Vec<Take>>,
) -> std::io::Result<()> {
    let (read, mut write) = client.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if read.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            if line == "\r\n" || line == "\n" {
                break;
            }
            head.push_str(&line);
        }
        let len: usize = header(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        read.read_exact(&mut body).await?;
        let target = header(&head, "x-amz-target")
            .unwrap_or_default()
            .to_string();
        let answer = if target.starts_with("DynamoDB_") {
            let _one = dynamo.lock().await;
            let answer = forward(&head, &body, upstream).await?;
            let release = target.ends_with(".DeleteItem");
            if release || target.ends_with(".PutItem") {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let key = if release { "Key" } else { "Item" };
                let resource = v[key]["resource"]["S"].as_str().unwrap_or("").to_string();
                let granted =
                    answer.starts_with(b"HTTP/1.1 200") || answer.starts_with(b"HTTP/1.0 200");
                takes.lock().unwrap().push(Take {
                    resource,
                    release,
                    granted,
                });
            }
            answer
        } else {
            forward(&head, &body, upstream).await?
        };
        write.write_all(&answer).await?;
    }
}

/// The request upstream on a fresh connection (`Connection: close`); the whole answer, with a
/// Content-Length when upstream delimited it by closing.
async fn forward(head: &str, body: &[u8], upstream: &str) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    let mut out = String::new();
    for (i, line) in head.lines().enumerate() {
        let name = line.split(':').next().unwrap_or_default().trim();
        if i > 0 && name.eq_ignore_ascii_case("connection") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    server.write_all(out.as_bytes()).await?;
    server.write_all(body).await?;
    let mut raw = Vec::new();
    server.read_to_end(&mut raw).await?;
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(std::io::Error::other("upstream sent no complete answer"));
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    if header(&head, "content-length").is_some() || header(&head, "transfer-encoding").is_some() {
        return Ok(raw);
    }
    let body = raw[split + 4..].to_vec();
    let mut fixed = head.into_bytes();
    fixed.extend_from_slice(format!("\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
    fixed.extend_from_slice(&body);
    Ok(fixed)
}
