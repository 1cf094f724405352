//! The real binary against a moto server: `opsdeck snapshot --fleet F --endpoint-url URL`
//! reports what was seeded, and with no credentials at all says how to provide them (exit 2).
#![allow(clippy::await_holding_lock)]

mod support;

use serde_json::Value;
use std::path::Path;
use support::moto::Moto;
use support::seed::{self, SEEDED};
use support::{dead_url, health_server, moto_env};

async fn opsdeck(
    args: Vec<String>,
    envs: Vec<(&'static str, String)>,
    clear_env: bool,
) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"));
        if clear_env {
            cmd.env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default());
        }
        cmd.args(&args).envs(envs).output().expect("run opsdeck")
    })
    .await
    .unwrap()
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-6)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_json_reports_the_seeded_four_region_fleet() {
    let moto = Moto::shared();
    moto_env();
    let seeded = seed::seed(&moto.url(), &moto).await;
    let health = health_server().await;
    let urls = [health.clone(), health.clone(), health, dead_url()];
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("atlas-moto.toml");
    std::fs::write(
        &fleet,
        seed::fleet_toml(&seeded, &urls, "[refresh]\ntimeout_s = 3\n"),
    )
    .unwrap();
    let args = [
        "snapshot",
        "--format",
        "json",
        "--fleet",
        fleet.to_str().unwrap(),
        "--endpoint-url",
        &moto.url(),
    ];
    let state = (
        "OPSDECK_STATE_DIR",
        dir.path().to_string_lossy().to_string(),
    );
    let out = opsdeck(
        args.iter().map(|s| s.to_string()).collect(),
        vec![state],
        false,
    )
    .await;
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(j["source"], "aws");
    let regions = j["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 4);
    for (r, want) in regions.iter().zip(&SEEDED) {
        let name = want.name;
        assert_eq!(r["name"], name);
        if !want.latency_s.is_empty() {
            let mean = want.latency_s.iter().sum::<f64>() / want.latency_s.len() as f64 * 1000.0;
            assert!(
                close(&r["latency_ms"]["Average"], mean),
                "{name} latency {}",
                r["latency_ms"]
            );
        }
        assert!(
            close(&r["requests_per_s"], want.requests / 60.0),
            "{name} rps {}",
            r["requests_per_s"]
        );
        if want.requests > 0.0 {
            let rate = (want.target_5xx + want.elb_5xx) / want.requests;
            assert!(
                close(&r["error_rate"], rate),
                "{name} 5xx {}",
                r["error_rate"]
            );
        }
        match want.replica_lag_s {
            None => assert!(r["replica_lag_s"].is_null(), "{name}: a primary has no lag"),
            Some(l) if l >= 0.0 => assert!(
                close(&r["replica_lag_s"], l),
                "{name} lag {}",
                r["replica_lag_s"]
            ),
            Some(_) => assert_eq!(
                r["replication"], "broken",
                "{name}: ReplicaLag -1 is a fault"
            ),
        }
        let total = want.cache_hits + want.cache_misses;
        if total > 0.0 {
            assert!(
                close(&r["cache_hit_ratio"], want.cache_hits / total),
                "{name} cache {}",
                r["cache_hit_ratio"]
            );
        }
        let desired: Vec<i64> = r["ecs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["desired"].as_i64().unwrap())
            .collect();
        let want_desired: Vec<i64> = want.services.iter().map(|(_, d)| *d as i64).collect();
        assert_eq!(desired, want_desired, "{name} ecs");
        assert_eq!(r["route53"]["weight"], want.weight, "{name} weight");
        if let Some(cost) = want.cost_usd {
            assert!(
                close(&r["cost"]["month_to_date_usd"], cost),
                "{name} cost {}",
                r["cost"]
            );
        }
    }
    assert_eq!(
        regions[3]["status"], "crit",
        "us-west-2: broken replication and a dead health URL"
    );
    assert!(
        !regions[3]["errors"].as_array().unwrap().is_empty()
            || regions[3]["breaches"].as_array().unwrap().len() > 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_at_all_says_how_to_provide_them_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Path::new(env!("CARGO_MANIFEST_DIR")).join("fleets/atlas-crm.toml");
    let home = dir.path().to_string_lossy().to_string();
    let envs = vec![
        ("HOME", home.clone()),
        ("OPSDECK_STATE_DIR", home.clone()),
        ("AWS_CONFIG_FILE", format!("{home}/nonexistent-config")),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            format!("{home}/nonexistent-credentials"),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ];
    let args = vec![
        "snapshot".to_string(),
        "--fleet".into(),
        fleet.to_string_lossy().into(),
        "--endpoint-url".into(),
        "http://127.0.0.1:9".into(),
    ];
    let out = opsdeck(args, envs, true).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("AWS_ACCESS_KEY_ID") && err.contains("--profile"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// The console on the seeded fleet: the panes show the seeded values; with the endpoint cut they go
/// stale with the reason and keep the last values; they recover by themselves when it returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_panes_show_aws_values_go_stale_and_recover() {
    let moto = Moto::shared();
    moto_env();
    let seeded = seed::seed(&moto.url(), &moto).await;
    let mut gate = support::Gate::new(moto.port).await;
    let health = health_server().await;
    let urls = [health.clone(), health.clone(), health, dead_url()];
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("atlas-moto.toml");
    let refresh = "[refresh]\nmetrics_s = 2\necs_s = 2\ntopology_s = 2\nroute53_s = 2\ncost_s = 2\nprobe_s = 2\ntimeout_s = 2\nallow_fast = true\n";
    std::fs::write(&fleet, seed::fleet_toml(&seeded, &urls, refresh)).unwrap();
    let (fleet_arg, url) = (fleet.to_string_lossy().to_string(), gate.url());
    let envs: Vec<(&str, String)> = [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_EC2_METADATA_DISABLED",
    ]
    .iter()
    .map(|k| (*k, std::env::var(k).unwrap()))
    .collect();
    let s = tokio::task::spawn_blocking(move || {
        let s = support::pty::Session::start_with(
            &["--fleet", &fleet_arg, "--endpoint-url", &url, "--no-mouse"],
            48,
            160,
            &envs,
        );
        s.wait_for("seeded values in the panes", |t| {
            // eu-west-1: Average of 40 and 60 ms, weight 70; us-east-1's api + worker services.
            t.contains("50 ms") && t.contains("w70") && t.contains("us-west-2") && t.contains("aws")
                // real AWS without --allow-actions: operations are refused, and the screen says so
                && t.contains("READ-ONLY")
        });
        s
    })
    .await
    .unwrap();
    gate.close();
    let s = tokio::task::spawn_blocking(move || {
        // Stale panes that keep the last good values on screen.
        s.wait_all(&["stale", "Unreachable", "50 ms"]);
        s
    })
    .await
    .unwrap();
    gate.open().await;
    let mut s = tokio::task::spawn_blocking(move || {
        s.wait_for("recovery", |t| {
            !t.contains("Unreachable") && t.contains("50 ms")
        });
        s
    })
    .await
    .unwrap();
    s.send(b"q");
    tokio::task::spawn_blocking(move || {
        assert!(s.wait_exit().success());
        support::pty::assert_restored(&s);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_writes_a_fleet_file_that_loads() {
    let moto = Moto::shared();
    moto_env();
    seed::seed(&moto.url(), &moto).await;
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("discovered.toml");
    let regions: Vec<&str> = SEEDED.iter().map(|r| r.name).collect();
    let args = vec![
        "discover".to_string(),
        "--regions".into(),
        regions.join(","),
        "--endpoint-url".into(),
        moto.url(),
        "--out".into(),
        out_file.to_string_lossy().into(),
    ];
    let out = opsdeck(
        args,
        vec![(
            "OPSDECK_STATE_DIR",
            dir.path().to_string_lossy().to_string(),
        )],
        false,
    )
    .await;
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fleet = opsdeck::fleet::Fleet::load(&out_file).expect("the discovered file loads");
    let names: Vec<&str> = fleet.regions.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, regions);
    assert_eq!(fleet.primary().unwrap().name, seed::PRIMARY);
    assert_eq!(fleet.regions[1].rds.as_deref(), Some(SEEDED[1].db));
}

/// With no credentials at all the console still opens, and every pane says why it has no data.
#[test]
fn console_without_credentials_says_so_in_every_pane() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_string_lossy().to_string();
    let fleet = Path::new(env!("CARGO_MANIFEST_DIR")).join("fleets/atlas-crm.toml");
    let envs = vec![
        ("HOME", home.clone()),
        ("AWS_CONFIG_FILE", format!("{home}/nonexistent-config")),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            format!("{home}/nonexistent-credentials"),
        ),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_ACCESS_KEY_ID", String::new()),
        ("AWS_SECRET_ACCESS_KEY", String::new()),
        ("AWS_PROFILE", String::new()),
    ];
    let fleet_arg = fleet.to_string_lossy().to_string();
    let mut s = support::pty::Session::start_with(
        &[
            "--fleet",
            &fleet_arg,
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--no-mouse",
        ],
        40,
        160,
        &envs,
    );
    s.wait_for("panes saying there are no credentials", |t| {
        t.matches("NoCredentials").count() >= 3
            && t.contains("us-east-1")
            && t.contains("credentials")
    });
    s.send(b"e");
    s.wait_for("the event log with how to provide them", |t| {
        t.contains("AWS_ACCESS_KEY_ID")
    });
    s.send(b"q");
    assert!(s.wait_exit().success());
    support::pty::assert_restored(&s);
}
