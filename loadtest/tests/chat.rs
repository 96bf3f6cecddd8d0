//! `kefu-load chat` as a process against a kefud running in this test process.

use serde_json::Value;
use std::process::{Command, Output};

mod support;

use support::*;

impl Daemon {
    /// `kefu-load chat` against this daemon: 2 accounts x (2 agents, 10
    /// customers), 200 messages/s for 0.5 s of warm-up and 2 s measured (a
    /// drain of up to 20 s), plus `extra`, which may override those.
    fn chat(&self, extra: &[&str]) -> Result<(Output, Option<Value>), Box<dyn std::error::Error>> {
        let (addr, admin) = self.target()?;
        let json = self.dir.path().join("chat.json");
        let _ = std::fs::remove_file(&json);
        let pid = std::process::id().to_string();
        let mut args: Vec<&str> = vec![
            "chat",
            "--server",
            &addr,
            "--admin-socket",
            path_str(&admin)?,
            "--accounts",
            "2",
            "--agents-per-account",
            "2",
            "--customers-per-account",
            "10",
            "--size",
            "120",
            "--threads",
            "2",
            "--sources",
            "127.0.0.1-127.0.0.3",
            "--timeout-secs",
            "60",
            "--daemon-pid",
            &pid,
            "--json",
            path_str(&json)?,
        ];
        // Traffic flags, unless `extra` sets them.
        for (flag, value) in [
            ("--rate", "200"),
            ("--warmup", "0.5"),
            ("--duration", "2"),
            ("--drain", "20"),
        ] {
            if !extra.contains(&flag) {
                args.extend_from_slice(&[flag, value]);
            }
        }
        args.extend_from_slice(extra);
        let output = Command::new(env!("CARGO_BIN_EXE_kefu-load"))
            .args(&args)
            .output()?;
        let report = match std::fs::read(&json) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes)?),
            Err(_) => None,
        };
        Ok((output, report))
    }
}

fn get<'a>(r: &'a Value, pointer: &str) -> Result<&'a Value, String> {
    r.pointer(pointer)
        .ok_or_else(|| format!("{pointer} missing"))
}

/// Every planned message sent, acknowledged and delivered exactly once.
fn assert_every_message_once(r: &Value, tally: &str, output: &Output) -> TestResult {
    let planned = get(r, &format!("/{tally}/planned"))?;
    assert!(
        planned.as_u64().is_some_and(|n| n > 0),
        "{tally}: nothing planned\n{}",
        explain(output)
    );
    for field in ["sent", "acked", "delivered"] {
        assert_eq!(
            get(r, &format!("/{tally}/{field}"))?,
            planned,
            "{tally}/{field}\n{}",
            explain(output)
        );
    }
    for field in [
        "lost",
        "duplicated",
        "failed",
        "unanswered",
        "not_sent",
        "delivered_unacked",
    ] {
        assert_eq!(
            get(r, &format!("/{tally}/{field}"))?,
            &Value::from(0),
            "{tally}/{field}\n{}",
            explain(output)
        );
    }
    Ok(())
}

#[test]
fn every_message_is_stored_and_delivered_once_run_after_run() -> TestResult {
    let daemon = Daemon::start()?;
    let (output, report) = daemon.chat(&["--provision"])?;
    assert!(output.status.success(), "{}", explain(&output));
    let r = report.ok_or("no JSON report")?;
    // 2.5 s at 200/s.
    assert_eq!(get(&r, "/messages/planned")?, &Value::from(500));
    assert_every_message_once(&r, "messages", &output)?;
    let cases = [
        ("/ok", Value::from(true)),
        ("/failures_total", Value::from(0)),
        ("/timed_out", Value::from(false)),
        ("/provision/accounts_created", Value::from(2)),
        ("/customer_keys/rotated", Value::from(2)),
        ("/agents/ready", Value::from(4)),
        ("/customers/ready", Value::from(20)),
        ("/customers/queued", Value::from(0)),
        ("/errors", serde_json::json!({})),
        ("/dropped", serde_json::json!({})),
        ("/replies", Value::Null),
        ("/close/closed", Value::from(20)),
        ("/close/failures", serde_json::json!({})),
        ("/daemon/shards", Value::from(2)),
        ("/config/cap", Value::from(5)),
    ];
    for (pointer, want) in cases {
        assert_eq!(get(&r, pointer)?, &want, "{pointer}\n{}", explain(&output));
    }
    // Latencies are recorded for the measured 400 (no assertion on their size).
    assert_eq!(get(&r, "/latency_us/end_to_end/count")?, &Value::from(400));
    assert_eq!(get(&r, "/latency_us/ack/count")?, &Value::from(400));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("result    OK"), "{text}");

    // Again, on the same daemon and customers, with agents echoing (and
    // acknowledging pushes after every read): new client message ids (none
    // taken for a retry), the earlier run's conversations closed (the caps
    // still cover everyone), every echo back once.
    let (output, report) = daemon.chat(&["--agent-replies", "--push-ack-ms", "0"])?;
    assert!(output.status.success(), "{}", explain(&output));
    let r = report.ok_or("no JSON report")?;
    assert_every_message_once(&r, "messages", &output)?;
    assert_every_message_once(&r, "replies", &output)?;
    assert_eq!(get(&r, "/replies/planned")?, &Value::from(500));
    assert_eq!(get(&r, "/customers/queued")?, &Value::from(0));
    assert_eq!(get(&r, "/foreign_messages")?, &Value::from(0));
    assert_eq!(get(&r, "/latency_us/round_trip/count")?, &Value::from(400));
    assert_eq!(get(&r, "/ok")?, &Value::from(true));
    Ok(())
}

#[test]
fn failed_setups_fail_the_run() -> TestResult {
    let daemon = Daemon::start()?;
    // The accounts exist (with another password): every agent login fails, so
    // no conversation is served and no message can be delivered.
    let (output, _) = daemon.chat(&[
        "--provision",
        "--password",
        "right-password",
        "--duration",
        "0.5",
        "--warmup",
        "0",
    ])?;
    assert!(output.status.success(), "{}", explain(&output));
    let (output, report) = daemon.chat(&[
        "--password",
        "wrong-password",
        "--duration",
        "0.5",
        "--warmup",
        "0",
        "--drain",
        "0.5",
    ])?;
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let r = report.ok_or("no JSON report")?;
    assert_eq!(get(&r, "/ok")?, &Value::from(false));
    assert_eq!(
        get(&r, "/agents/failures")?,
        &serde_json::json!({"Login:WRONG_PASSWORD": 4})
    );
    assert_eq!(get(&r, "/customers/queued")?, &Value::from(20));
    assert_eq!(get(&r, "/messages/delivered")?, &Value::from(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Login:WRONG_PASSWORD 4"), "{text}");
    assert!(text.contains("result    FAILED"), "{text}");
    Ok(())
}

#[test]
fn setup_errors_are_refused_before_connecting() -> TestResult {
    let base = [
        "chat",
        "--admin-socket",
        "/nonexistent/kefu-admin.sock",
        "--accounts",
        "2",
        "--agents-per-account",
        "2",
        "--customers-per-account",
        "10",
    ];
    let cases: &[(&[&str], &str)] = &[
        (
            &["--server", "10.0.0.1:7070", "--rate", "100"],
            "not a loopback address",
        ),
        (
            &["--server", "127.0.0.1:7070", "--rate", "100", "--cap", "2"],
            "fewer than the 10 customers",
        ),
        (&["--server", "127.0.0.1:7070", "--rate", "0"], "--rate"),
        (
            &[
                "--server",
                "127.0.0.1:7070",
                "--rate",
                "100",
                "--size",
                "5000",
            ],
            "--size",
        ),
        (
            &["--server", "127.0.0.1:7070", "--rate", "100"],
            "kefu-admin.sock",
        ),
    ];
    for (flags, why) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_kefu-load"))
            .args(base)
            .args(*flags)
            .output()?;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{flags:?}: {}",
            explain(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(why), "{flags:?}: {stderr}");
    }
    Ok(())
}
