//! Health probe of a region's `health_url`: one GET with a time limit, the round trip measured,
//! and the `/health/regional` JSON read when there is one:
//! `{"status": "ok", "services": {"readReplicas": [{"region": "us", "status": "healthy", "latency": 145}]}}`.

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

/// Probe one URL. A probe that gets no answer is a fact about the region (`http_status: None`),
/// not a failure of opsdeck's source.
pub async fn probe(client: &reqwest::Client, url: &str) -> ProbeResult {
    let started = Instant::now();
    let rtt = |s: Instant| s.elapsed().as_secs_f64() * 1000.0;
    match client.get(url).send().await {
        Err(_) => ProbeResult {
            http_status: None,
            status: None,
            rtt_ms: rtt(started),
            replicas: Vec::new(),
        },
        Ok(resp) => {
            let code = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            let rtt_ms = rtt(started);
            let (status, replicas) = parse_body(&body);
            ProbeResult {
                http_status: Some(code),
                status,
                rtt_ms,
                replicas,
            }
        }
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
