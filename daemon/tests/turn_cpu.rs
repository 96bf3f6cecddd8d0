//! Each turn's CPU time beside its wall time (issue 13, turncpu; wire/PROTOCOL.md
//! section 20.1.1): the metrics split every turn of a shard into the shard thread's own
//! CPU time (`kefu_turn_cpu_seconds`, read once a turn, so it also holds the poll
//! before the turn, capped at the turn's duration) and the rest
//! (`kefu_turn_off_cpu_seconds`: preempted or blocked), and name the CPU time of the longest turn and of the turn
//! that waited longest, and expose the kernel's figures of the shard thread (CPU time,
//! wait for a core, context switches). Read through `AdminMetrics` on the admin socket,
//! which shard 0 renders in one of its own turns: with one shard no turn is recorded meanwhile, so
//! the histograms of one exposition describe the same turns. Counts and sums that must
//! agree, never timings.

mod support;

use kefu_wire::{Client, Request, Response};
use support::*;

fn metrics(admin: &mut Client) -> String {
    match admin.request(&Request::AdminMetrics).expect("metrics") {
        Response::Metrics { text } => text,
        other => panic!("{other:?}"),
    }
}

/// The value of shard 0's series `name` (`name{shard="0"} V`).
fn value(text: &str, name: &str) -> f64 {
    let prefix = format!("{name}{{shard=\"0\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} for shard 0"))
        .parse()
        .expect("a number")
}

/// Shard 0's cumulative bucket counts of histogram `name`, by bound.
fn buckets(text: &str, name: &str) -> Vec<(String, u64)> {
    let prefix = format!("{name}_bucket{{shard=\"0\",le=\"");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let (le, count) = rest.split_once("\"} ").expect("a bucket line");
            (le.to_string(), count.parse().expect("a count"))
        })
        .collect()
}

/// The CPU time of this process's thread named `name` so far, seconds (the first field
/// of its schedstat: the same clock as `CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu_secs(name: &str) -> f64 {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).expect("schedstat");
            let nanos: u64 = stat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .expect("run time in schedstat");
            return nanos as f64 / 1e9;
        }
    }
    panic!("no thread named {name}");
}

#[test]
fn every_turn_is_split_into_the_shard_threads_cpu_time_and_the_rest() {
    let s = TestServer::start_with(|c| c.shards = 1);
    let mut admin = s.admin();
    create_account(&mut admin, 1);
    // Agent 1001 comes with the account.
    for agent in 1002..1011 {
        add_agent(&mut admin, 1, agent, Some(PASSWORD));
    }
    // Work for the shard: password logins (their outcomes come back through the
    // inbox), then requests on the sessions.
    let mut agents = Vec::new();
    for agent in 1001..1011 {
        let mut c = s.client();
        match c
            .request(&Request::Login {
                account: 1,
                agent,
                password: PASSWORD.into(),
                otp: None,
            })
            .expect("login")
        {
            Response::LoggedIn(_) => agents.push(c),
            other => panic!("login refused: {other:?}"),
        }
    }
    for c in &mut agents {
        for _ in 0..20 {
            c.request(&Request::ListAgents).expect("answered");
        }
    }

    let before = thread_cpu_secs("kefu-shard-0");
    let text = metrics(&mut admin);
    // Read after the exposition: the thread's CPU time covers every turn it describes.
    let shard_thread_cpu = thread_cpu_secs("kefu-shard-0");

    let count = |family: &str| value(&text, &format!("{family}_count"));
    let sum = |family: &str| value(&text, &format!("{family}_sum"));
    let turns = count("kefu_turn_duration_seconds");
    assert!(turns > 0.0, "the shard turned");
    assert_eq!(count("kefu_turn_cpu_seconds"), turns, "one CPU time a turn");
    assert_eq!(count("kefu_turn_off_cpu_seconds"), turns, "one rest a turn");
    let (wall, cpu, off) = (
        sum("kefu_turn_duration_seconds"),
        sum("kefu_turn_cpu_seconds"),
        sum("kefu_turn_off_cpu_seconds"),
    );
    assert!(cpu > 0.0, "the turns used the CPU");
    // Every turn's CPU time and rest add up to its duration (whole microseconds).
    assert!(
        (cpu + off - wall).abs() < 1e-6 * turns,
        "cpu {cpu} + off {off} against wall {wall}"
    );
    // The thread's own clock: its turns cannot have used more CPU than the thread did.
    assert!(
        cpu <= shard_thread_cpu,
        "turns {cpu} s of CPU, the shard thread {shard_thread_cpu} s"
    );
    // No part of a turn is longer than the turn: at every bound, at least as many
    // turns have their CPU time (or their rest) within it as their duration.
    let durations = buckets(&text, "kefu_turn_duration_seconds");
    assert!(!durations.is_empty());
    for part in ["kefu_turn_cpu_seconds", "kefu_turn_off_cpu_seconds"] {
        let parts = buckets(&text, part);
        assert_eq!(parts.len(), durations.len(), "{part}: the same bounds");
        for ((le, whole), (part_le, within)) in durations.iter().zip(&parts) {
            assert_eq!(le, part_le);
            assert!(within >= whole, "{part} le {le}: {within} < {whole}");
        }
    }
    // The longest turn's CPU time, and the turn that waited longest, are within their
    // turns.
    let longest = value(&text, "kefu_turn_longest_microseconds");
    assert!(longest > 0.0);
    assert!(value(&text, "kefu_turn_longest_cpu_microseconds") <= longest);
    let waited = value(&text, "kefu_turn_waited_longest_microseconds");
    assert!(waited <= longest, "no turn is longer than the longest");
    assert!(value(&text, "kefu_turn_waited_longest_cpu_microseconds") <= waited);

    // The kernel's figures of the shard thread, read by the scrape: the same thread
    // (its CPU time between the test's two readings of it), which has slept in its
    // poll between requests.
    let exposed = value(&text, "kefu_shard_thread_cpu_seconds_total");
    assert!(
        before <= exposed && exposed <= shard_thread_cpu,
        "exposed {exposed} s, the thread {before}..{shard_thread_cpu} s"
    );
    assert!(
        cpu <= exposed,
        "the turns are part of the thread's CPU time"
    );
    assert!(value(&text, "kefu_shard_thread_voluntary_switches_total") > 0.0);
    for present in [
        "kefu_shard_thread_runqueue_wait_seconds_total",
        "kefu_shard_thread_involuntary_switches_total",
    ] {
        value(&text, present);
    }
}
