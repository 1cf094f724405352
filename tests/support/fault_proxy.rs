//! A small HTTP/1.1 forwarding proxy on 127.0.0.1 in front of an AWS endpoint (moto), for tests
//! and benchmarks: every request can be held back or answered by a fault (a delay, the service's
//! throttling error, a 5xx, a truncated or an endless body, in the protocol of the service asked:
//! `fault_answers.rs`), and the proxy counts the requests, the most that were in flight at once,
//! and when each was received and answered — enough to compute how many round trips deep a
//! command's AWS calls are.
//!
//! The fault given at the start applies to every request; [`FaultProxy::add_rule`] puts a fault
//! on the requests of one region, service or operation, for a number of requests or a time window,
//! after which they are forwarded again. [`FaultProxy::log`] lists every request with its region,
//! service and the fault it met.
//!
//! Point the SDK's `endpoint_url` at [`FaultProxy::url`]. A script reads the numbers from
//! `GET /__proxy/stats` (JSON) and starts over with `POST /__proxy/reset`; those two paths are
//! answered by the proxy itself and not counted.
#![allow(dead_code)]

#[path = "fault_answers.rs"]
mod fault_answers;

use fault_answers::{endless_chunk, endless_head, server_error, signing_scope, throttled};
pub use fault_answers::{Fault, Scope};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A fault for the requests in `scope`: for the next `times` of them and/or for `window` from
/// when the rule is added (both `None`: until the rules are cleared).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub fault: Fault,
    pub scope: Scope,
    pub times: Option<usize>,
    pub window: Option<Duration>,
}

impl Rule {
    pub fn new(scope: Scope, fault: Fault) -> Rule {
        Rule {
            fault,
            scope,
            times: None,
            window: None,
        }
    }
}

/// One request as [`FaultProxy::log`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    pub region: String,
    pub service: String,
    pub call: String,
    /// The fault it met (`Fault::label`), None when it was forwarded as it came.
    pub fault: Option<String>,
    pub received: Instant,
    /// None while the answer is still being sent (an endless body, a delay).
    pub answered: Option<Instant>,
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
    /// Rules with the instant each one ends, first match wins.
    rules: Vec<(Rule, Option<Instant>)>,
    since: Instant,
    in_flight: usize,
    stats: Stats,
    log: Vec<Logged>,
    /// The client connections, ended when the proxy is dropped (an endless body never ends).
    conns: Vec<tokio::task::AbortHandle>,
}

impl Shared {
    /// The fault for a request, using up one of its rule's `times`.
    fn fault_for(&mut self, region: &str, service: &str, call: &str) -> (Fault, bool) {
        let now = Instant::now();
        self.rules
            .retain(|(r, until)| r.times != Some(0) && until.is_none_or(|u| now < u));
        for (rule, _) in &mut self.rules {
            if rule.scope.matches(region, service, call) {
                if let Some(t) = &mut rule.times {
                    *t -= 1;
                }
                return (rule.fault.clone(), true);
            }
        }
        (self.fault.clone(), self.fault != Fault::default())
    }
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
            rules: Vec::new(),
            since: Instant::now(),
            in_flight: 0,
            stats: Stats::default(),
            log: Vec::new(),
            conns: Vec::new(),
        }));
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (s2, upstream) = (s.clone(), upstream.clone());
                let conn = tokio::spawn(async move {
                    let _ = serve(client, &upstream, &s2).await;
                });
                let mut shared = s.lock().unwrap();
                shared.conns.retain(|c| !c.is_finished());
                shared.conns.push(conn.abort_handle());
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

    /// Put `rule` before the rules already there; its window starts now.
    pub fn add_rule(&self, rule: Rule) {
        let until = rule.window.map(|w| Instant::now() + w);
        self.shared.lock().unwrap().rules.insert(0, (rule, until));
    }

    /// Forward as the start fault says again; returns when that took effect.
    pub fn clear_rules(&self) -> Instant {
        self.shared.lock().unwrap().rules.clear();
        Instant::now()
    }

    /// Every request since the start or the last reset, in the order they were received.
    pub fn log(&self) -> Vec<Logged> {
        self.shared.lock().unwrap().log.clone()
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
        for c in self.shared.lock().unwrap().conns.drain(..) {
            c.abort();
        }
    }
}

fn reset(shared: &Mutex<Shared>) {
    let mut s = shared.lock().unwrap();
    s.stats = Stats::default();
    s.log.clear();
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

    /// Whether the service speaks a JSON protocol (named by `X-Amz-Target`).
    fn json(&self) -> bool {
        self.header("x-amz-target").is_some()
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
            ("GET", ["healthcheck", _]) => "GetHealthCheck",
            ("POST", ["healthcheck", _]) => "UpdateHealthCheck",
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
        let (region, service) = signing_scope(req.header("authorization"));
        let call = req.call();
        let (fault, received, entry) = {
            let mut s = shared.lock().unwrap();
            s.in_flight += 1;
            s.stats.requests += 1;
            s.stats.max_in_flight = s.stats.max_in_flight.max(s.in_flight);
            let (fault, faulted) = s.fault_for(&region, &service, &call);
            s.log.push(Logged {
                region,
                service: service.clone(),
                call: call.clone(),
                fault: faulted.then(|| fault.label()),
                received: Instant::now(),
                answered: None,
            });
            (fault, s.since.elapsed(), s.log.len() - 1)
        };
        let reply = answer(&fault, &req, &service, upstream).await;
        let ok = match &reply {
            Reply::Whole(bytes) | Reply::Close(bytes) => write.write_all(bytes).await,
            Reply::Endless { chunk, every } => {
                let head = endless_head(req.json());
                let chunk = endless_chunk(*chunk);
                let mut out = write.write_all(&head).await;
                while out.is_ok() {
                    tokio::time::sleep(*every).await;
                    out = write.write_all(&chunk).await;
                }
                out
            }
        };
        {
            let mut s = shared.lock().unwrap();
            s.in_flight -= 1;
            let answered = s.since.elapsed().max(received);
            s.stats.spans.push(Span {
                call: call.clone(),
                received,
                answered,
            });
            // A reset in between emptied the log.
            if let Some(l) = s.log.get_mut(entry) {
                l.answered = Some(Instant::now());
            }
        }
        ok?;
        if matches!(reply, Reply::Close(_)) {
            write.shutdown().await?;
            return Ok(());
        }
    }
    Ok(())
}

/// What to send back for one request.
enum Reply {
    /// A whole answer; the connection stays open for the next request.
    Whole(Vec<u8>),
    /// These bytes, then the connection is closed.
    Close(Vec<u8>),
    /// A head, then chunks without end.
    Endless { chunk: usize, every: Duration },
}

/// What to answer `req` (for `service`) under `fault`.
async fn answer(fault: &Fault, req: &Request, service: &str, upstream: &str) -> Reply {
    let forwarded = || async {
        forward(req, upstream)
            .await
            .unwrap_or_else(|e| bad_gateway(&e.to_string()))
    };
    match fault {
        Fault::Delay(d) => {
            tokio::time::sleep(*d).await;
            Reply::Whole(forwarded().await)
        }
        Fault::Throttle => Reply::Whole(throttled(req.json(), service)),
        Fault::ServerError(code) => Reply::Whole(server_error(*code, req.json())),
        Fault::Truncated => Reply::Close(fault_answers::truncate(&forwarded().await)),
        Fault::Endless { chunk, every } => Reply::Endless {
            chunk: *chunk,
            every: *every,
        },
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
