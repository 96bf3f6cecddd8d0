//! `kefu-load run FILE` with agents' operations (history queries, contact
//! searches, broadcasts) beside the chat, against a kefud running in this
//! test process: every operation answered without error, and the counts and
//! percentiles in the text, JSON, HTML and `.hgrm` reports.

use serde_json::Value;

mod support;

use support::*;

/// 1 account x (2 agents, 10 customers), 100 msg/s, and 40 history queries,
/// 20 contact searches and 4 broadcasts per second.
const SCENARIO: &str = r#"
name = "tiny-agent-work"
kind = "chat"
[target]
provision = true
[population]
accounts = 1
account_base = 931000000
agents_per_account = 2
customers_per_account = 10
[behaviour]
rate = 100
size = 80
history_queries_per_sec = 40
contact_searches_per_sec = 20
broadcasts_per_sec = 4
[run]
ramp_up_secs = 0.5
warmup_secs = 0.2
duration_secs = 1
drain_secs = 20
threads = 2
timeout_secs = 120
"#;

#[test]
fn history_queries_contact_searches_and_broadcasts_are_measured() -> TestResult {
    let mut daemon = Daemon::start()?;
    let out = daemon.out("report");
    let output = daemon.run(SCENARIO, &["--out-dir", path_str(&out)?])?;
    // Stopped before the reports are read; its directory (holding them) stays.
    if let Some(handle) = daemon.handle.take() {
        handle.shutdown();
    }
    let explain = explain(&output);
    assert!(output.status.success(), "{explain}");
    let text = String::from_utf8_lossy(&output.stdout);
    for want in [
        "operation history (History): target 40.0/s",
        "operation contact_search (SearchContacts): target 20.0/s",
        "operation broadcast (SubmitBroadcast): target 4.0/s",
        "due → answer    p50",
        "result    OK",
    ] {
        assert!(text.contains(want), "{want:?}\n{explain}");
    }
    assert!(!text.contains("errors:"), "{explain}");

    let r: Value = serde_json::from_slice(&std::fs::read(out.join("report.json"))?)?;
    let chat = &r["chat"];
    assert_eq!(chat["ok"], true, "{explain}");
    assert_eq!(chat["failures_total"], 0);
    assert_eq!(chat["messages"]["delivered"], chat["messages"]["planned"]);
    assert_eq!(
        chat["foreign_messages"], 0,
        "broadcasts are not foreign messages"
    );
    let ops = chat["operations"].as_array().ok_or("operations")?;
    let names: Vec<&str> = ops.iter().filter_map(|o| o["name"].as_str()).collect();
    assert_eq!(names, ["history", "contact_search", "broadcast"]);
    // Ramp (rate x 0.5 s / 2) + warm-up and window (rate x 1.2 s); the window's are measured.
    for (o, planned, measured) in [(&ops[0], 58, 40), (&ops[1], 29, 20), (&ops[2], 5, 4)] {
        let name = &o["name"];
        assert_eq!(o["planned"], planned, "{name}: {o}");
        assert_eq!(o["sent"], planned, "{name}: {o}");
        assert_eq!(o["ok"], planned, "{name}: {o}");
        for zero in ["failed", "unanswered", "not_sent"] {
            assert_eq!(o[zero], 0, "{name} {zero}: {o}");
        }
        assert_eq!(o["errors"], serde_json::json!({}), "{name}: {o}");
        let l = &o["latency_us"];
        assert_eq!(l["count"], measured, "{name}: {o}");
        for p in ["p50", "p90", "p99", "p999", "p9999", "max"] {
            assert!(l[p].as_u64().is_some_and(|v| v > 0), "{name} {p}: {o}");
        }
        assert!(l["p50"].as_u64() <= l["p9999"].as_u64());
        assert_eq!(o["latency_from_send_us"]["count"], measured);
        assert!(o["ok_per_sec"].as_f64().is_some_and(|v| v > 0.0), "{o}");
        let hgrm = std::fs::read_to_string(out.join(format!("{}.hgrm", name.as_str().unwrap())))?;
        assert!(
            hgrm.contains(&format!("Total count    = {measured:>12}]")),
            "{name}: {hgrm}"
        );
    }
    // Searches find the served customers (contacts since their conversations opened).
    assert!(
        ops[1]["items_per_answer"]
            .as_f64()
            .is_some_and(|v| v >= 1.0),
        "{}",
        ops[1]
    );
    // Each broadcast reaches the (up to three) served customers named.
    assert!(
        ops[2]["items_per_answer"]
            .as_f64()
            .is_some_and(|v| v >= 1.0),
        "{}",
        ops[2]
    );
    let html = std::fs::read_to_string(out.join("report.html"))?;
    assert!(html.contains("Agent operations: latency by percentile"));
    assert!(html.contains("history (History) due → answer"));
    Ok(())
}
