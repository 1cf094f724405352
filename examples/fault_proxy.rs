//! The test suite's fault proxy as a program, for scripts (see scripts/bench-plan-latency.sh):
//!
//!     cargo run --example fault_proxy -- --upstream http://127.0.0.1:5000 [--delay-ms 100] [--port 0]
//!
//! Prints the URL it listens on as its first line, then forwards until killed. Read the counts
//! with `curl URL/__proxy/stats`, start over with `curl -X POST URL/__proxy/reset`.

#[path = "../tests/support/fault_proxy.rs"]
mod fault_proxy;

use fault_proxy::{Fault, FaultProxy};
use std::io::Write;
use std::time::Duration;

fn usage() -> ! {
    eprintln!("usage: fault_proxy --upstream URL [--delay-ms N] [--port P]");
    std::process::exit(2)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (mut upstream, mut delay_ms, mut port) = (None, 0u64, 0u16);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--upstream" => upstream = Some(value),
            "--delay-ms" => delay_ms = value.parse().unwrap_or_else(|_| usage()),
            "--port" => port = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let upstream = upstream.unwrap_or_else(|| usage());
    let fault = Fault::Delay(Duration::from_millis(delay_ms));
    let proxy = FaultProxy::start_on(&upstream, fault, port)
        .await
        .unwrap_or_else(|e| {
            eprintln!("fault_proxy: cannot listen: {e}");
            std::process::exit(1)
        });
    println!("{}", proxy.url());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("fault_proxy: {}", proxy.stats().to_json());
}
