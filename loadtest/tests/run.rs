//! `kefu-load run FILE` as a process against a kefud running in this test
//! process: scenario files, the report files, the capacity search and the
//! baselines.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

mod support;

use support::*;

/// A small chat scenario: 1 account x (2 agents, 10 customers, 2 visitors), 200 msg/s.
const CHAT: &str = r#"
name = "tiny-chat"
description = "a test"
kind = "chat"
[target]
provision = true
[population]
accounts = 1
account_base = 930000000
agents_per_account = 2
customers_per_account = 10
visitors_per_account = 2
[behaviour]
rate = 200
size = { min = 60, max = 120 }
[run]
ramp_up_secs = 0.5
warmup_secs = 0.2
duration_secs = 1
drain_secs = 20
threads = 2
sources = "127.0.0.1-127.0.0.3"
timeout_secs = 120
"#;

#[test]
fn a_scenario_file_runs_and_writes_every_report_form() -> TestResult {
    let daemon = Daemon::start()?;
    let out = daemon.out("report");
    let out_str = out.to_str().ok_or("non-UTF-8 path")?;
    let output = daemon.run(
        CHAT,
        &[
            "--out-dir",
            out_str,
            "--baselines",
            "--nats-server",
            "/nonexistent/nats-server",
        ],
    )?;
    assert!(output.status.success(), "{}", explain(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    for want in [
        "scenario  tiny-chat",
        "result    OK",
        "uncorrected, from the actual send",
        "p99.99",
        "kefud / relay",
        "nats-server is not installed",
    ] {
        assert!(text.contains(want), "{want:?}\n{}", explain(&output));
    }
    let r = read_json(&out.join("report.json"))?;
    // 0.5 s ramp at 200/s (50) + 1.2 s (240).
    assert_eq!(r.pointer("/chat/messages/planned"), Some(&Value::from(290)));
    assert_eq!(
        r.pointer("/chat/messages/delivered"),
        Some(&Value::from(290))
    );
    assert_eq!(r.pointer("/chat/ok"), Some(&Value::from(true)));
    assert_eq!(r.pointer("/chat/config/size_max"), Some(&Value::from(120)));
    assert_eq!(
        r.pointer("/chat/latency_us/end_to_end/count"),
        Some(&Value::from(200))
    );
    let timeline = r
        .pointer("/chat/timeline")
        .and_then(Value::as_array)
        .ok_or("timeline")?;
    let delivered: u64 = timeline
        .iter()
        .filter_map(|s| s["delivered"].as_u64())
        .sum();
    assert_eq!(delivered, 290);
    assert!(!r["chat"]["daemon"]["samples"]
        .as_array()
        .ok_or("samples")?
        .is_empty());
    let relay = &r["baselines"][0];
    assert_eq!(relay["name"], "relay");
    assert_eq!(relay["pairs"], 12, "customers and visitors");
    assert_eq!(relay["delivered"], 290, "{relay}");
    assert_eq!(relay["ok"], true);
    assert_eq!(r["baselines"].as_array().map(Vec::len), Some(1));
    assert_eq!(r["comparison"][0]["baseline"], "relay");

    let html = std::fs::read_to_string(out.join("report.html"))?;
    assert!(html.contains("Latency by percentile") && html.contains("Throughput over time"));
    assert!(
        html.matches("<svg").count() >= 4,
        "percentiles, throughput, latency, cpu, rss"
    );
    let hgrm = std::fs::read_to_string(out.join("end_to_end.hgrm"))?;
    assert!(hgrm.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
    assert!(hgrm.contains("Total count    =          200]"), "{hgrm}");
    for f in [
        "ack.hgrm",
        "end_to_end_uncorrected.hgrm",
        "relay.hgrm",
        "report.txt",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    Ok(())
}

#[test]
fn the_capacity_search_stops_at_the_first_step_over_the_objective() -> TestResult {
    let daemon = Daemon::start()?;
    let json = daemon.out("cap").join("report.json");
    let out = daemon.out("cap");
    let out_str = out.to_str().ok_or("non-UTF-8 path")?;
    // A generous objective: both steps pass.
    let output = daemon.run(
        CHAT,
        &[
            "--out-dir",
            out_str,
            "--slo",
            "p99=60s",
            "--rate-start",
            "100",
            "--rate-step",
            "100",
            "--rate-max",
            "200",
            "--step-secs",
            "0.5",
        ],
    )?;
    assert!(output.status.success(), "{}", explain(&output));
    let r = read_json(&json)?;
    let steps = r
        .pointer("/capacity/steps")
        .and_then(Value::as_array)
        .ok_or("steps")?;
    let rates: Vec<f64> = steps.iter().filter_map(|s| s["rate"].as_f64()).collect();
    assert_eq!(rates, [100.0, 200.0], "{}", explain(&output));
    assert_eq!(r.pointer("/capacity/max_rate"), Some(&Value::from(200.0)));
    assert!(String::from_utf8_lossy(&output.stdout)
        .contains("highest rate within p99≤60000.000ms: 200/s"));

    // An objective nothing meets: the first step fails, the search stops, exit 1.
    let output = daemon.run(
        CHAT,
        &[
            "--out-dir",
            out_str,
            "--slo",
            "p99=1us",
            "--rate-start",
            "100",
            "--rate-max",
            "1000",
            "--step-secs",
            "0.5",
        ],
    )?;
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let r = read_json(&json)?;
    assert_eq!(
        r.pointer("/capacity/steps")
            .and_then(Value::as_array)
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(r.pointer("/capacity/max_rate"), Some(&Value::Null));
    Ok(())
}

#[test]
fn nats_server_is_driven_when_installed() -> TestResult {
    let installed = [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ]
    .into_iter()
    .find(|p| Path::new(p).is_file());
    let Some(nats) = installed else {
        eprintln!("nats-server is not installed: skipping (apt-get install nats-server)");
        return Ok(());
    };
    let daemon = Daemon::start()?;
    let out = daemon.out("nats");
    let out_str = out.to_str().ok_or("non-UTF-8 path")?;
    let output = daemon.run(
        CHAT,
        &["--out-dir", out_str, "--baselines", "--nats-server", nats],
    )?;
    assert!(output.status.success(), "{}", explain(&output));
    let r = read_json(&out.join("report.json"))?;
    let nats = &r["baselines"][1];
    assert_eq!(nats["name"], "nats-server", "{r}");
    assert_eq!(nats["delivered"], 290, "{nats}");
    assert_eq!(nats["ok"], true);
    assert!(nats["server_cpu_secs"].as_f64().is_some());
    assert_eq!(r["comparison"][1]["baseline"], "nats-server");
    Ok(())
}

#[test]
fn unsupported_behaviour_is_refused_before_connecting() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        CHAT.replace("rate = 200", "rate = 200\ntransfers_per_sec = 1"),
    )?;
    let output = Command::new(env!("CARGO_BIN_EXE_kefu-load"))
        .arg("run")
        .arg(&file)
        .output()?;
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not yet supported"));
    Ok(())
}
