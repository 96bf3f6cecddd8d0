//! `kefu-load crash-loop`, short and bounded: the tool runs kefud, kills it with
//! SIGKILL three times under chat traffic (once per durability mode), restarts it on
//! the same data directory, and its own ledgers must show every acknowledged message
//! stored and delivered exactly once. The acceptance run (at least 50 kills per mode)
//! is the same command with `--kills 50`; its figures are in the note.
//!
//! `kefud` is taken from the same target directory as this test (built by `cargo test
//! --workspace --release`, or `cargo build --release -p kefu-daemon --bin kefud`), or
//! from `$KEFU_KEFUD`.

mod support;

use serde_json::Value;
use std::process::Command;

fn crash_loop(durability: &str) {
    let work = tempfile::tempdir().expect("tempdir");
    let json = work.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_kefu-load"))
        .args([
            "crash-loop",
            "--kills",
            "3",
            "--customers",
            "4",
            "--durability",
        ])
        .arg(durability)
        .args(["--min-interval-ms", "300", "--max-interval-ms", "800"])
        .args(["--message-interval-ms", "1"])
        .arg("--kefud")
        .arg(support::kefud_binary())
        .arg("--work-dir")
        .arg(work.path().join("run"))
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run kefu-load crash-loop");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "crash-loop failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["kills"], 3);
    assert_eq!(report["restart_ms"].as_array().map(Vec::len), Some(3));
    for field in [
        "lost",
        "duplicated_stored",
        "duplicated_pushes",
        "undelivered",
    ] {
        assert_eq!(report[field], 0, "{field}: {report}");
    }
    assert!(report["acked"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["ok"], true);
}

#[test]
fn crash_loop_in_wal_mode_loses_and_duplicates_nothing() {
    crash_loop("wal");
}

#[test]
fn crash_loop_in_fsync_mode_loses_and_duplicates_nothing() {
    crash_loop("fsync");
}
