//! A small HTTP/1.1 forwarding proxy on 127.0.0.1 in front of an AWS endpoint (moto), for tests
//! and benchmarks: every request can be held back by a fault (today only a delay), and the proxy
//! counts the requests, the most that were in flight at once, and when each was received and
//! answered — enough to compute how many round trips deep a command's AWS calls are.
//!
//! Point the SDK's `endpoint_url` at [`FaultProxy::url`]. A script reads the numbers from
//! `GET /__proxy/stats` (JSON) and starts over with `POST /__proxy/reset`; those two paths are
//! answered by the proxy itself and not counted.
//!
//! New fault modes (throttling, 5xx, a truncated or endless body) go into [`Fault`] and
//! [`FaultProxy::answer`]: a fault decides, per request, how long to wait and what to answer.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to a request before (or instead of) forwarding it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Forward after waiting this long (zero: forward at once).
    Delay(Duration),
}

impl Default for Fault {
    fn default() -> Self {
        Fault::Delay(Duration::ZERO)
    }
}

/// One request as the proxy saw it, times relative to the proxy's start (or last reset).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// "ecs DescribeServices"-like label: the `X-Amz-Target` operation, the query `Action`, or
    /// the method and path.
    pub call: String,
    pub received: Duration,
    pub answered: Duration,
}

/// What the proxy has seen since it started or was last reset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub requests: usize,
    pub max_in_flight: usize,
    pub spans: Vec<Span>,
}

impl Stats {
    /// Round trips deep: the longest chain of requests each received after the previous one was
    /// answered (a call that had to wait for another's answer). Calls made concurrently overlap
    /// and count once. Greedy by earliest answer gives the longest such chain.
    pub fn depth(&self) -> usize {
        let mut spans: Vec<&Span> = self.spans.iter().collect();
        spans.sort_by_key(|s| s.answered);
        let mut depth = 0;
        let mut free_from = Duration::ZERO;
        for s in spans {
            if depth == 0 || s.received >= free_from {
                depth += 1;
                free_from = s.answered;
            }
        }
        depth
    }

    /// The calls in the order they were received.
    pub fn calls(&self) -> Vec<String> {
        let mut spans = self.spans.clone();
        spans.sort_by_key(|s| s.received);
        spans.into_iter().map(|s| s.call).collect()
    }

    pub fn to_json(&self) -> String {
        let spans: Vec<serde_json::Value> = self
            .spans
            .iter()
            .map(|s| {
                serde_json::json!({
                    "call": s.call,
                    "received_ms": s.received.as_secs_f64() * 1000.0,
                    "answered_ms": s.answered.as_secs_f64() * 1000.0,
                })
            })
            .collect();
        serde_json::json!({
            "requests": self.requests,
            "max_in_flight": self.max_in_flight,
            "depth": self.depth(),
            "spans": spans,
        })
        .to_string()
    }
}

#[derive(Debug)]
struct Shared {
    fault: Fault,
    since: Instant,
    in_flight: usize,
    stats: Stats,
}

/// The proxy; it runs until dropped.
pub struct FaultProxy {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listen on 127.0.0.1:0 and forward to `upstream` ("http://127.0.0.1:5000").
    pub async fn start(upstream: &str, fault: Fault) -> std::io::Result<FaultProxy> {
        Self::start_on(upstream, fault, 0).await
    }

    /// Listen on 127.0.0.1:`port` (0: any free port).
    pub async fn start_on(upstream: &str, fault: Fault, port: u16) -> std::io::Result<FaultProxy> {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Mutex::new(Shared {
            fault,
            since: Instant::now(),
            in_flight: 0,
            stats: Stats::default(),
        }));
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (s, upstream) = (s.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &s).await;
                });
            }
        });
        Ok(FaultProxy {
            port,
            shared,
            accept,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set_fault(&self, fault: Fault) {
        self.shared.lock().unwrap().fault = fault;
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().unwrap().stats.clone()
    }

    /// Forget what was seen; times count from now.
    pub fn reset(&self) {
        reset(&self.shared);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

fn reset(shared: &Mutex<Shared>) {
    let mut s = shared.lock().unwrap();
    s.stats = Stats::default();
    s.since = Instant::now();
}

/// One HTTP/1.1 request: its head (request line and headers, as received) and body.
struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn method_path(&self) -> (&str, &str) {
        let mut parts = self.head.lines().next().unwrap_or_default().split(' ');
        (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        )
    }

    fn header(&self, name: &str) -> Option<&str> {
        header(&self.head, name)
    }

    fn call(&self) -> String {
        if let Some(t) = self.header("x-amz-target") {
            return t.rsplit('.').next().unwrap_or(t).to_string();
        }
        let body = String::from_utf8_lossy(&self.body);
        if let Some(action) = body
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .map(str::to_string)
        {
            return action;
        }
        let (method, path) = self.method_path();
        let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
        route53_operation(method, path)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{method} {path}"))
    }
}

/// Route53 speaks REST: its operations are named by method and path.
fn route53_operation(method: &str, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/2013-04-01/")?;
    Some(
        match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
            ("GET", ["hostedzone", _, "rrset"]) => "ListResourceRecordSets",
            ("POST", ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
            ("GET", ["healthcheck", _, "status"]) => "GetHealthCheckStatus",
            ("GET", ["change", _]) => "GetChange",
            _ => return None,
        },
    )
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Read one request; None when the client closed the connection.
async fn read_request(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<Request> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
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
    r.read_exact(&mut body).await.ok()?;
    Some(Request { head, body })
}

/// Answer requests on one client connection until it closes.
async fn serve(client: TcpStream, upstream: &str, shared: &Mutex<Shared>) -> std::io::Result<()> {
    let (read, mut write) = client.into_split();
    let mut read = BufReader::new(read);
    while let Some(req) = read_request(&mut read).await {
        let (method, path) = req.method_path();
        if path.starts_with("/__proxy/") {
            let body = match (method, path) {
                ("POST", "/__proxy/reset") => {
                    reset(shared);
                    "{}".to_string()
                }
                _ => shared.lock().unwrap().stats.to_json(),
            };
            write.write_all(&ok_json(&body)).await?;
            continue;
        }
        let (fault, received) = {
            let mut s = shared.lock().unwrap();
            s.in_flight += 1;
            s.stats.requests += 1;
            s.stats.max_in_flight = s.stats.max_in_flight.max(s.in_flight);
            (s.fault.clone(), s.since.elapsed())
        };
        let answer = answer(&fault, &req, upstream).await;
        let ok = write.write_all(&answer).await;
        {
            let mut s = shared.lock().unwrap();
            s.in_flight -= 1;
            let answered = s.since.elapsed().max(received);
            s.stats.spans.push(Span {
                call: req.call(),
                received,
                answered,
            });
        }
        ok?;
    }
    Ok(())
}

/// The bytes to send back for `req` under `fault`.
async fn answer(fault: &Fault, req: &Request, upstream: &str) -> Vec<u8> {
    match fault {
        Fault::Delay(d) => {
            tokio::time::sleep(*d).await;
            forward(req, upstream)
                .await
                .unwrap_or_else(|e| bad_gateway(&e.to_string()))
        }
    }
}

/// Send the request upstream on a fresh connection (`Connection: close`) and return the whole
/// answer, with a Content-Length when upstream delimited it by closing.
async fn forward(req: &Request, upstream: &str) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    let mut head = String::new();
    for (i, line) in req.head.lines().enumerate() {
        let name = line.split(':').next().unwrap_or_default().trim();
        if i > 0 && name.eq_ignore_ascii_case("connection") {
            continue;
        }
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    server.write_all(head.as_bytes()).await?;
    server.write_all(&req.body).await?;
    let mut raw = Vec::new();
    server.read_to_end(&mut raw).await?;
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(std::io::Error::other("upstream sent no complete answer"));
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = &raw[split + 4..];
    if header(&head, "content-length").is_some() || header(&head, "transfer-encoding").is_some() {
        return Ok(raw);
    }
    let mut out = head.into_bytes();
    out.extend_from_slice(format!("\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

fn ok_json(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn bad_gateway(why: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{why}",
        why.len()
    )
    .into_bytes()
}
