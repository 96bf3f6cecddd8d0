//! `kefu-load logins` as a process against a kefud running in this test process.

use serde_json::Value;
use std::process::{Command, Output};

mod support;

use support::*;

impl Daemon {
    /// `kefu-load logins` against this daemon (4 accounts x 25 agents) with
    /// `connections` connections, plus `extra` flags.
    fn logins(
        &self,
        connections: &str,
        extra: &[&str],
    ) -> Result<(Output, Option<Value>), Box<dyn std::error::Error>> {
        let (addr, admin) = self.target()?;
        let json = self.dir.path().join("report.json");
        let _ = std::fs::remove_file(&json);
        let pid = std::process::id().to_string();
        let mut args: Vec<&str> = vec![
            "logins",
            "--server",
            &addr,
            "--admin-socket",
            path_str(&admin)?,
            "--accounts",
            "4",
            "--agents-per-account",
            "25",
            "--connections",
            connections,
            "--threads",
            "2",
            "--sources",
            "127.0.0.1-127.0.0.3",
            "--hold-secs",
            "0",
            "--timeout-secs",
            "60",
            "--daemon-pid",
            &pid,
            "--json",
            path_str(&json)?,
        ];
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

#[test]
fn provisions_logs_in_resumes_and_holds_everyone() -> TestResult {
    let daemon = Daemon::start()?;
    let (output, report) = daemon.logins("100", &["--provision"])?;
    assert!(output.status.success(), "{}", explain(&output));
    let r = report.ok_or("no JSON report")?;
    let cases = [
        ("/ok", Value::from(true)),
        ("/failures_total", Value::from(0)),
        ("/provision/accounts_created", Value::from(4)),
        ("/provision/agents_created", Value::from(96)),
        ("/provision/passwords_set", Value::from(96)),
        ("/provision/failures", serde_json::json!({})),
        ("/password/succeeded", Value::from(100)),
        ("/password/failed", Value::from(0)),
        ("/resume/succeeded", Value::from(100)),
        ("/resume/failed", Value::from(0)),
        ("/resume/all_logged_in", Value::from(true)),
        ("/resume/latency_us/count", Value::from(100)),
        ("/hold/held_at_end", Value::from(100)),
        ("/daemon/shards", Value::from(2)),
        ("/daemon/cores_source", Value::from("admin_stats")),
        ("/daemon/sessions_during_hold", Value::from(100)),
        ("/memory/connections", Value::from(100)),
    ];
    for (pointer, want) in cases {
        assert_eq!(
            r.pointer(pointer),
            Some(&want),
            "{pointer}\n{}",
            explain(&output)
        );
    }
    // The daemon's exact heap, read through the admin socket at every point, the
    // last once the held connections were gone.
    for point in [
        "baseline",
        "after_password",
        "hold_start",
        "hold_end",
        "after_close",
    ] {
        let heap = r.pointer(&format!("/memory/{point}/heap_in_use"));
        assert!(
            heap.and_then(Value::as_u64).is_some_and(|b| b > 0),
            "{point}: {heap:?}\n{}",
            explain(&output)
        );
    }
    assert!(r
        .pointer("/memory/heap_per_connection_since_password_bytes")
        .is_some_and(Value::is_f64));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("result    OK"), "{text}");
    assert!(text.contains("heap in use (mallinfo2)"), "{text}");

    // A second provisioning run finds everything in place and changes nothing.
    let (output, report) = daemon.logins("100", &["--provision"])?;
    assert!(output.status.success(), "{}", explain(&output));
    let r = report.ok_or("no JSON report")?;
    let cases = [
        ("/provision/accounts_created", 0),
        ("/provision/accounts_existing", 4),
        ("/provision/agents_created", 0),
        ("/provision/agents_existing", 100),
        ("/provision/passwords_set", 0),
        ("/password/succeeded", 100),
        ("/resume/succeeded", 100),
    ];
    for (pointer, want) in cases {
        assert_eq!(
            r.pointer(pointer),
            Some(&Value::from(want)),
            "{pointer}\n{}",
            explain(&output)
        );
    }
    Ok(())
}

#[test]
fn failed_logins_are_counted_by_code_and_fail_the_run() -> TestResult {
    let daemon = Daemon::start()?;
    let (output, _) = daemon.logins("8", &["--provision"])?;
    assert!(output.status.success(), "{}", explain(&output));

    let (output, report) = daemon.logins("8", &["--password", "not-the-password"])?;
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let r = report.ok_or("no JSON report")?;
    assert_eq!(r.pointer("/ok"), Some(&Value::from(false)));
    assert_eq!(
        r.pointer("/password/failures"),
        Some(&serde_json::json!({"WRONG_PASSWORD": 8}))
    );
    assert_eq!(
        r.pointer("/resume"),
        Some(&Value::Null),
        "nothing to resume"
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("WRONG_PASSWORD 8"), "{text}");
    Ok(())
}

#[test]
fn setup_errors_are_refused_before_connecting() -> TestResult {
    let cases: &[(&[&str], &str)] = &[
        (&["--server", "10.0.0.1:7070"], "not a loopback address"),
        (&["--server", "localhost:7070"], "not IP:PORT"),
        (
            &["--server", "127.0.0.1:7070", "--sources", "10.0.0.1"],
            "127.0.0.0/8",
        ),
        (
            &["--server", "127.0.0.1:7070", "--connections", "101"],
            "exceeds the population",
        ),
        (
            &["--server", "127.0.0.1:7070", "--provision"],
            "needs --admin-socket",
        ),
    ];
    for (flags, why) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_kefu-load"))
            .args(["logins", "--accounts", "4", "--agents-per-account", "25"])
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
