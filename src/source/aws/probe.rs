//! Health probe of a region's `health_url`: one GET with a time limit, the round trip measured,
//! and the `/health/regional` JSON read when there is one:
//! `{"status": "ok", "services": {"readReplicas": [{"region": "us", "status": "healthy", "latency": 145}]}}`.
//! The body is bounded (`[probe] max_body_bytes`, 64 KiB by default) and so is the time for the
//! whole answer (`[probe] deadline_s`): a probe past either is a failed probe with the reason.

use crate::fleet::ProbeResult;
use std::time::{Duration, Instant};

/// A client for probes: its own time limit, no redirects to other hosts' health pages.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Read what a `/health/regional` body says. Bodies that are not JSON give no status.
/// Per replica region: (region, status, latency ms), as `ProbeResult::replicas` holds them.
pub type Replicas = Vec<(String, String, Option<f64>)>;

pub fn parse_body(body: &str) -> (Option<String>, Replicas) {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return (None, Vec::new());
    };
    let status = json
        .get("status")
        .and_then(|s| s.as_str())
        .map(String::from);
    let replicas = json
        .pointer("/services/readReplicas")
        .and_then(|r| r.as_array())
        .map(|list| {
            list.iter()
                .map(|r| {
                    let text =
                        |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
                    (
                        text("region"),
                        text("status"),
                        r.get("latency").and_then(|v| v.as_f64()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (status, replicas)
}

/// What one probe may take: the body size and the time for the whole answer, body included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub max_body_bytes: u64,
    pub deadline: Duration,
}

impl Limits {
    /// The fleet's `[probe]` limits; the deadline never exceeds the per-call time limit.
    pub fn of(config: &crate::fleet::ProbeConfig, timeout: Duration) -> Limits {
        let deadline = Duration::try_from_secs_f64(config.deadline_s).unwrap_or(timeout);
        Limits {
            max_body_bytes: config.max_body_bytes,
            deadline: deadline.min(timeout),
        }
    }
}

/// A probe client with its limits.
#[derive(Debug, Clone)]
pub struct Prober {
    pub client: reqwest::Client,
    pub limits: Limits,
}

impl Prober {
    pub fn new(limits: Limits) -> Prober {
        // The client's own limit is a backstop: the probe's deadline ends the probe first and
        // says so.
        Prober {
            client: client(limits.deadline + Duration::from_secs(1)),
            limits,
        }
    }

    pub async fn probe(&self, url: &str) -> ProbeResult {
        probe(&self.client, url, self.limits).await
    }
}

/// Why reading an answer stopped short, and the status code when headers came.
struct Cut {
    http_status: Option<u16>,
    reason: String,
}

/// The status code and the body, read chunk by chunk and never past `max` bytes.
async fn fetch(client: &reqwest::Client, url: &str, max: u64) -> Result<(u16, Vec<u8>), Cut> {
    let mut resp = client.get(url).send().await.map_err(|e| Cut {
        http_status: None,
        reason: format!("no answer: {}", e.without_url()),
    })?;
    let code = resp.status().as_u16();
    let cut = |reason: String| Cut {
        http_status: Some(code),
        reason,
    };
    let too_big = || cut(format!("body larger than the {max}-byte limit"));
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(too_big());
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() as u64 + chunk.len() as u64 > max {
                    return Err(too_big());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok((code, body)),
            Err(e) => return Err(cut(format!("body broken off: {}", e.without_url()))),
        }
    }
}

/// Probe one URL. A probe that gets no answer, or an answer over the limits, is a fact about the
/// region (a failed probe, with the reason), not a failure of opsdeck's source.
pub async fn probe(client: &reqwest::Client, url: &str, limits: Limits) -> ProbeResult {
    let started = Instant::now();
    let outcome = tokio::time::timeout(limits.deadline, fetch(client, url, limits.max_body_bytes))
        .await
        .unwrap_or_else(|_| {
            Err(Cut {
                http_status: None,
                reason: format!(
                    "no complete answer within {:.1} s",
                    limits.deadline.as_secs_f64()
                ),
            })
        });
    let rtt_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok((code, body)) => {
            let (status, replicas) = parse_body(&String::from_utf8_lossy(&body));
            ProbeResult {
                http_status: Some(code),
                status,
                rtt_ms,
                replicas,
                failure: None,
            }
        }
        Err(cut) => ProbeResult {
            http_status: cut.http_status,
            status: None,
            rtt_ms,
            replicas: Vec::new(),
            failure: Some(cut.reason),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_regional_health_body() {
        let body = r#"{"status": "ok", "region": "eu",
            "services": {"primaryDatabase": "healthy", "readReplicas": [
                {"region": "eu", "status": "healthy", "latency": 12},
                {"region": "us", "status": "healthy", "latency": 145}], "redis": "healthy"},
            "replicaCount": 3, "uptime": 86400}"#;
        let (status, replicas) = parse_body(body);
        assert_eq!(status.as_deref(), Some("ok"));
        assert_eq!(
            replicas[1],
            ("us".to_string(), "healthy".to_string(), Some(145.0))
        );
        assert_eq!(parse_body("<html>502</html>"), (None, Vec::new()));
    }
}
