//! Issue 9, point 2: a health probe is bounded in body size and in time for the whole answer. A
//! `health_url` that announces 1 GiB and streams it, streams without end, or trickles a byte every
//! half second is a failed probe with the reason, not a memory hog or a healthy region.

use opsdeck::source::aws::probe::{Limits, Prober};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy)]
enum Answer {
    /// `Content-Length: 1 GiB`, then zeros as fast as the socket takes them.
    GiB,
    /// Chunked, no length, zeros without end.
    Endless,
    /// A complete answer, then one more byte every 0.5 s: headers say 100 bytes.
    Trickle,
    /// A small regional health body.
    Healthy,
}

/// A one-purpose HTTP server on 127.0.0.1; its URL.
async fn server(answer: Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, answer));
        }
    });
    format!("http://127.0.0.1:{port}/health/regional")
}

async fn serve(mut socket: TcpStream, answer: Answer) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let zeros = vec![b'0'; 64 * 1024];
    let _ = match answer {
        Answer::GiB => {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            loop {
                if socket.write_all(&zeros).await.is_err() {
                    return;
                }
            }
        }
        Answer::Endless => {
            let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            loop {
                let chunk = format!("{:x}\r\n", zeros.len());
                if socket.write_all(chunk.as_bytes()).await.is_err()
                    || socket.write_all(&zeros).await.is_err()
                    || socket.write_all(b"\r\n").await.is_err()
                {
                    return;
                }
            }
        }
        Answer::Trickle => {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..100 {
                // The fault being simulated: a slow server, not a wait for a condition.
                tokio::time::sleep(Duration::from_millis(500)).await;
                if socket.write_all(b" ").await.is_err() {
                    return;
                }
            }
            Ok(())
        }
        Answer::Healthy => {
            let body = r#"{"status": "ok", "services": {"readReplicas": []}}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/json\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(head.as_bytes()).await
        }
    };
}

fn prober(deadline_s: f64) -> Prober {
    Prober::new(Limits {
        max_body_bytes: 64 * 1024,
        deadline: Duration::from_secs_f64(deadline_s),
    })
}

#[tokio::test]
async fn a_gib_body_is_refused_by_its_announced_length() {
    let url = server(Answer::GiB).await;
    let p = prober(10.0).probe(&url).await;
    assert_eq!(p.http_status, Some(200));
    let why = p.failure.as_deref().expect("a failed probe");
    assert!(why.contains("larger than the 65536-byte limit"), "{why}");
    assert!(!p.is_ok());
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_limit() {
    let url = server(Answer::Endless).await;
    let p = prober(10.0).probe(&url).await;
    let why = p.failure.as_deref().expect("a failed probe");
    assert!(why.contains("larger than the 65536-byte limit"), "{why}");
    assert!(!p.is_ok());
}

#[tokio::test]
async fn a_trickling_answer_fails_at_the_deadline() {
    let url = server(Answer::Trickle).await;
    let p = prober(1.2).probe(&url).await;
    let why = p.failure.as_deref().expect("a failed probe");
    assert!(why.contains("no complete answer within 1.2 s"), "{why}");
    assert!(!p.is_ok());
    // The deadline covers the body: the probe ended long before the 50 s the body would take.
    assert!(p.rtt_ms < 30_000.0, "{}", p.rtt_ms);
}

#[tokio::test]
async fn a_small_answer_is_read_as_before() {
    let url = server(Answer::Healthy).await;
    let p = prober(10.0).probe(&url).await;
    assert_eq!(p.failure, None);
    assert_eq!(p.status.as_deref(), Some("ok"));
    assert!(p.is_ok());
}

#[test]
fn a_failed_probe_says_why_in_the_region_health() {
    use opsdeck::fleet::health::HealthInput;
    use opsdeck::fleet::{evaluate, Fleet, ProbeResult, Status};
    let probe = ProbeResult {
        http_status: Some(200),
        status: None,
        rtt_ms: 10_000.0,
        replicas: Vec::new(),
        failure: Some("no complete answer within 10.0 s".into()),
    };
    let (status, breaches) = evaluate(
        &Fleet::builtin(),
        "eu-west-1",
        HealthInput {
            metrics: None,
            ecs: None,
            eks: None,
            replication: None,
            route53: None,
            probe: Some(&probe),
        },
    );
    assert_eq!(status, Status::Crit);
    let said: Vec<&str> = breaches.iter().map(|b| b.message.as_str()).collect();
    assert_eq!(
        said,
        ["health probe failed: HTTP 200, no complete answer within 10.0 s"]
    );
}
