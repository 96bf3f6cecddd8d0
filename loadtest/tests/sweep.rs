//! `kefu-load sweep` as a process, short: two rates in two interleaved rounds
//! (`--repeat 2`) through kefud in both durability modes (started by the tool) and
//! through the relay and nats-server (if installed), and the report every target must
//! carry: each rate with nothing lost, the server's CPU per message and the generator's
//! CPU read over the window, the box's load and steal, the median row over both rounds
//! with every round's own row beside it, the capacities. No figure is judged: these
//! are measurements, not assertions of speed.
//!
//! With `--pin` (on a box with 2 CPUs or more) the report states the split, and the
//! CPUs the kernel reports for every thread of each server and of the generator are
//! the ones asked for; impossible splits are refused before anything starts.

mod support;

use std::process::Command;
use support::*;

/// A small chat pattern: 1 account x (2 agents, 10 customers).
const CHAT: &str = r#"
name = "tiny-sweep"
kind = "chat"
[population]
accounts = 1
account_base = 931000000
agents_per_account = 2
customers_per_account = 10
[behaviour]
rate = 100
size = 100
[run]
ramp_up_secs = 0.2
warmup_secs = 0.2
duration_secs = 1
drain_secs = 20
threads = 2
sources = "127.0.0.1-127.0.0.3"
timeout_secs = 120
"#;

#[test]
fn a_sweep_reports_every_target_and_rate() -> TestResult {
    let dir = tempfile::tempdir()?;
    let scenario = dir.path().join("tiny.toml");
    std::fs::write(&scenario, CHAT)?;
    let out_dir = dir.path().join("out");
    let work = dir.path().join("work");
    let out = Command::new(env!("CARGO_BIN_EXE_kefu-load"))
        .arg("sweep")
        .arg(&scenario)
        .arg("--kefud")
        .arg(kefud_binary())
        .args(["--rates", "100,200", "--step-secs", "0.5", "--repeat", "2"])
        // Every rate runs, whatever the latency on a busy test machine.
        .args(["--stop-p99-ms", "60000"])
        .arg("--work-dir")
        .arg(&work)
        .arg("--out-dir")
        .arg(&out_dir)
        .output()?;
    assert!(out.status.success(), "{}", explain(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("capacity  p99 < 1 ms:"), "{text}");
    assert!(text.contains("p99 range"), "{text}");
    assert!(!work.exists(), "the work directory is removed");
    assert!(
        text.contains("pinning   none: the generator and the servers share every CPU"),
        "{text}"
    );
    let report = read_json(&out_dir.join("report.json"))?;
    assert_eq!(report["repeat"].as_u64(), Some(2));
    assert!(report["pinning"].is_null(), "unpinned is the default");
    let targets = report["targets"].as_array().ok_or("targets")?;
    let names: Vec<&str> = targets.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(
        &names[..3],
        ["kefud (wal, 1 shard)", "kefud (fsync, 1 shard)", "relay"]
    );
    let nats_noted = report["notes"].as_array().is_some_and(|n| {
        n.iter()
            .any(|n| n.as_str().is_some_and(|n| n.contains("nats")))
    });
    assert!(names.len() == 4 || nats_noted, "{names:?}");
    for t in targets {
        let rows = t["rows"].as_array().ok_or("rows")?;
        let rates: Vec<f64> = rows.iter().filter_map(|r| r["rate"].as_f64()).collect();
        assert_eq!(rates, [100.0, 200.0], "{}", t["name"]);
        // Every round's own row, per rate; each summary row is over both.
        let rounds = t["rounds"].as_array().ok_or("rounds")?;
        assert_eq!(rounds.len(), rows.len(), "{}", t["name"]);
        for (row, of_rate) in rows.iter().zip(rounds) {
            let of_rate = of_rate.as_array().ok_or("a rate's rounds")?;
            assert_eq!(of_rate.len(), 2, "{of_rate:?}");
            assert_eq!(row["rounds"].as_u64(), Some(2), "{row}");
            let p99s: Vec<u64> = of_rate
                .iter()
                .filter_map(|r| r["p99_us"].as_u64())
                .collect();
            assert_eq!(p99s.len(), 2, "{of_rate:?}");
            let (lo, hi) = (p99s[0].min(p99s[1]), p99s[0].max(p99s[1]));
            assert_eq!(
                (row["p99_min_us"].as_u64(), row["p99_max_us"].as_u64()),
                (Some(lo), Some(hi)),
                "{row}"
            );
            let planned: u64 = of_rate.iter().filter_map(|r| r["planned"].as_u64()).sum();
            assert_eq!(row["planned"].as_u64(), Some(planned), "{row}");
            for r in of_rate {
                assert_eq!(r["rate"], row["rate"], "{r}");
                assert_eq!(r["rounds"].as_u64(), Some(1), "{r}");
            }
        }
        for r in rows {
            assert!(r["loadavg_1m"].is_number(), "{r}");
            assert!(r["steal_pct"].is_number(), "{r}");
            assert!(r["other_cores"].is_number(), "{r}");
            assert!(r["planned"].as_u64().is_some_and(|p| p > 0), "{r}");
            assert_eq!(
                (r["lost"].as_u64(), r["duplicated"].as_u64()),
                (Some(0), Some(0))
            );
            assert_eq!(r["other_problems"].as_u64(), Some(0), "{r}");
            assert!(r["server_cpu_us_per_msg"].is_number(), "{r}");
            assert!(r["generator_cores"].is_number(), "{r}");
            assert!(r["server_preemptions_per_msg"].is_number(), "{r}");
            if t["name"].as_str().is_some_and(|n| n.starts_with("kefud")) {
                assert!(r["commits"].as_u64().is_some_and(|c| c > 0), "{r}");
                assert!(r["messages_per_commit"].is_number(), "{r}");
            }
        }
        for c in ["capacity_p99_1ms", "capacity_p99_10ms"] {
            assert!(t[c].is_number() || t[c].is_null(), "{c}: {}", t[c]);
        }
    }
    Ok(())
}

/// The sweep's command over the tiny scenario in `dir`, its report into `dir/out`.
fn tiny_sweep(dir: &std::path::Path) -> Result<Command, Box<dyn std::error::Error>> {
    let scenario = dir.join("tiny.toml");
    std::fs::write(&scenario, CHAT)?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_kefu-load"));
    command
        .arg("sweep")
        .arg(&scenario)
        .arg("--kefud")
        .arg(kefud_binary())
        .arg("--work-dir")
        .arg(dir.join("work"))
        .arg("--out-dir")
        .arg(dir.join("out"));
    Ok(command)
}

#[test]
fn a_pinned_sweep_keeps_generator_and_servers_apart() -> TestResult {
    let cpus = std::thread::available_parallelism()?.get();
    if cpus < 2 {
        eprintln!("skipped: --pin needs 2 CPUs, this box gives {cpus}");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let out = tiny_sweep(dir.path())?
        .args([
            "--rates",
            "100",
            "--step-secs",
            "0.5",
            "--durability",
            "wal",
        ])
        .args(["--stop-p99-ms", "60000", "--pin"])
        .output()?;
    assert!(out.status.success(), "{}", explain(&out));
    let report = read_json(&dir.path().join("out/report.json"))?;
    let pinning = &report["pinning"];
    let (generator, servers) = (
        pinning["generator"].as_str().ok_or("generator CPUs")?,
        pinning["servers"].as_str().ok_or("servers' CPUs")?,
    );
    assert!(!generator.is_empty() && !servers.is_empty(), "{pinning}");
    assert_ne!(generator, servers, "{pinning}");
    let text = String::from_utf8_lossy(&out.stdout);
    let header =
        format!("pinning   generator on CPU {generator}, servers (every thread) on CPU {servers}");
    assert!(text.contains(&header), "{text}");
    // What the kernel says of every thread: the generator's, and each server's.
    assert_eq!(
        report["generator_cpus"].as_str(),
        Some(generator),
        "{report}"
    );
    let targets = report["targets"].as_array().ok_or("targets")?;
    assert!(targets.len() >= 2, "kefud and the relay at least");
    for t in targets {
        assert_eq!(t["cpus"].as_str(), Some(servers), "{}", t["name"]);
        let rows = t["rows"].as_array().ok_or("rows")?;
        assert_eq!(rows.len(), 1, "{}", t["name"]);
        assert_eq!(rows[0]["lost"].as_u64(), Some(0), "{}", rows[0]);
        assert_eq!(rows[0]["duplicated"].as_u64(), Some(0), "{}", rows[0]);
    }
    Ok(())
}

#[test]
fn impossible_pinning_is_refused_before_anything_starts() -> TestResult {
    let dir = tempfile::tempdir()?;
    // On a single CPU the count is refused first.
    let single = std::thread::available_parallelism()?.get() < 2;
    let or_single = |why| if single { "at least 2 CPUs" } else { why };
    let refusals = [
        (
            vec!["--pin", "--pin-servers", "1023"],
            or_single("CPU 1023 is not one"),
        ),
        (
            vec!["--pin", "--pin-servers", "0", "--pin-generator", "0"],
            or_single("share CPU 0"),
        ),
        (vec!["--pin", "--pin-servers", "2-1"], "runs backwards"),
        (vec!["--pin-servers", "1"], "--pin"),
    ];
    for (flags, why) in refusals {
        let out = tiny_sweep(dir.path())?.args(&flags).output()?;
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", explain(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{flags:?}: {stderr}");
        assert!(
            !dir.path().join("work").exists(),
            "{flags:?}: nothing started"
        );
    }
    Ok(())
}
