//! Prometheus metrics (issue 12, point 6; wire/PROTOCOL.md section 20.1): the text
//! exposition (format 0.0.4) of every shard's counters, the commit latency and batch
//! size histograms, conversations per account, the process's RSS and RocksDB's
//! figures. The same text answers `AdminMetrics` on the admin socket (`kefuctl stats
//! --prometheus`) and `GET /metrics` on the optional HTTP listener (`metrics_listen`,
//! loopback only), which runs on a thread of its own: a scrape reads atomics and the
//! store's properties, never a shard.

use crate::log;
use crate::stats::{AccountConversations, Histogram, ShardCounters, ShardFigures};
use crate::store::KvStore;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// At most this many accounts get per-account series (the ones with the most open
/// conversations), so a scrape stays small whatever the number of accounts.
pub const MAX_ACCOUNT_SERIES: usize = 1_000;

/// What a scrape reads.
#[derive(Clone)]
pub struct Sources {
    /// Every shard's counters, by index.
    pub counters: Vec<Arc<ShardCounters>>,
    /// The store (its engine's figures).
    pub store: Arc<dyn KvStore>,
    /// When the daemon started.
    pub started: std::time::Instant,
    /// The pair's replication state, on either member of a pair (`[cluster]`).
    pub replication: Option<Arc<crate::cluster::Replication>>,
}

/// What a running listener reads, replaceable while it runs: a standby's listener is
/// pointed at the shards its promotion started.
pub type SharedSources = Arc<Mutex<Sources>>;

/// One counter or gauge per shard: (name, type, help, field).
type PerShard = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ShardFigures) -> u64,
);

const PER_SHARD: &[PerShard] = &[
    (
        "kefu_connections",
        "gauge",
        "Open client connections.",
        |f| f.connections,
    ),
    ("kefu_sessions", "gauge", "Logged-in sessions.", |f| {
        f.sessions
    }),
    (
        "kefu_accounts_loaded",
        "gauge",
        "Accounts in memory.",
        |f| f.accounts,
    ),
    (
        "kefu_open_conversations",
        "gauge",
        "Open conversations of the accounts in memory.",
        |f| f.open_conversations,
    ),
    (
        "kefu_queued_conversations",
        "gauge",
        "Conversations waiting in an account's queue.",
        |f| f.queued_conversations,
    ),
    (
        "kefu_parked_requests",
        "gauge",
        "Requests waiting for their account to load.",
        |f| f.parked_requests,
    ),
    (
        "kefu_import_slices_total",
        "counter",
        "Turns that applied a slice of an import chunk (at most IMPORT_ROWS_PER_TURN rows each).",
        |f| f.import_slices,
    ),
    (
        "kefu_import_rows_total",
        "counter",
        "Import rows admitted by those slices.",
        |f| f.import_rows,
    ),
    (
        "kefu_submission_slices_total",
        "counter",
        "Turns that resolved a slice of a broadcast submission's recipients.",
        |f| f.submission_slices,
    ),
    (
        "kefu_connections_accepted_total",
        "counter",
        "Connections accepted.",
        |f| f.accepted,
    ),
    (
        "kefu_connections_handed_over_total",
        "counter",
        "Connections handed to the shard owning their account.",
        |f| f.handed_over,
    ),
    (
        "kefu_connections_adopted_total",
        "counter",
        "Connections taken over from another shard.",
        |f| f.adopted,
    ),
    (
        "kefu_frames_received_total",
        "counter",
        "Frames received.",
        |f| f.frames_in,
    ),
    ("kefu_frames_sent_total", "counter", "Frames sent.", |f| {
        f.frames_out
    }),
    (
        "kefu_bytes_received_total",
        "counter",
        "Bytes read from clients.",
        |f| f.bytes_in,
    ),
    (
        "kefu_bytes_sent_total",
        "counter",
        "Bytes written to clients.",
        |f| f.bytes_out,
    ),
    (
        "kefu_messages_stored_total",
        "counter",
        "Chat messages stored (history).",
        |f| f.messages_stored,
    ),
    (
        "kefu_commits_total",
        "counter",
        "Group commits (one store batch per turn).",
        |f| f.commits,
    ),
    (
        "kefu_commits_failed_total",
        "counter",
        "Group commits the store refused (the turn was undone).",
        |f| f.failed_commits,
    ),
    (
        "kefu_password_logins_total",
        "counter",
        "Password logins that succeeded.",
        |f| f.password_logins,
    ),
    (
        "kefu_failed_logins_total",
        "counter",
        "Logins refused.",
        |f| f.failed_logins,
    ),
    (
        "kefu_protocol_errors_total",
        "counter",
        "Connections closed for a protocol error.",
        |f| f.protocol_errors,
    ),
    (
        "kefu_slow_consumers_total",
        "counter",
        "Connections told GoAway SLOW_CONSUMER.",
        |f| f.slow_consumers,
    ),
    (
        "kefu_overloaded_total",
        "counter",
        "Requests answered OVERLOADED (the shard was behind; nothing was done).",
        |f| f.overloaded,
    ),
    (
        "kefu_output_budget_drops_total",
        "counter",
        "Connections told GoAway SLOW_CONSUMER to keep the shard's unsent output within \
         its share of max_total_pending_output_bytes (also in kefu_slow_consumers_total).",
        |f| f.output_budget_drops,
    ),
    (
        "kefu_file_relayed_bytes_total",
        "counter",
        "Bytes of online file transfers relayed (C13; PROTOCOL.md section 28).",
        |f| f.file_relayed_bytes,
    ),
    (
        "kefu_file_refused_chunks_total",
        "counter",
        "File chunks refused: past the receiver's credit, at a wrong offset, or for no \
         open transfer or upload.",
        |f| f.file_refused_chunks,
    ),
    (
        "kefu_file_stored_bytes_total",
        "counter",
        "Bytes of offline-file uploads written to the disk.",
        |f| f.file_stored_bytes,
    ),
    (
        "kefu_pending_output_bytes",
        "gauge",
        "Output the shard's connections hold unsent (the kernel's share not included).",
        |f| f.pending_output,
    ),
];

/// The whole exposition.
pub fn render(sources: &Sources) -> String {
    // First, before this scrape's own buffers are allocated.
    let heap = heap_in_use_bytes();
    let figures: Vec<ShardFigures> = sources.counters.iter().map(|c| c.figures()).collect();
    let mut out = String::with_capacity(16 * 1024);
    family(
        &mut out,
        "kefu_uptime_seconds",
        "gauge",
        "Seconds since kefud started.",
    );
    let _ = writeln!(
        out,
        "kefu_uptime_seconds {}",
        sources.started.elapsed().as_secs()
    );
    family(&mut out, "kefu_shards", "gauge", "Shard threads.");
    let _ = writeln!(out, "kefu_shards {}", figures.len());
    for &(name, kind, help, field) in PER_SHARD {
        family(&mut out, name, kind, help);
        for (i, f) in figures.iter().enumerate() {
            let _ = writeln!(out, "{name}{{shard=\"{i}\"}} {}", field(f));
        }
    }
    family(
        &mut out,
        "kefu_commit_duration_seconds",
        "histogram",
        "Time to write a turn's batch to the store.",
    );
    for (i, c) in sources.counters.iter().enumerate() {
        histogram(
            &mut out,
            "kefu_commit_duration_seconds",
            i,
            c.histograms().0,
            1e6,
        );
    }
    family(
        &mut out,
        "kefu_commit_batch_operations",
        "histogram",
        "Operations (puts and deletes) in a committed batch.",
    );
    for (i, c) in sources.counters.iter().enumerate() {
        histogram(
            &mut out,
            "kefu_commit_batch_operations",
            i,
            c.histograms().1,
            1.0,
        );
    }
    family(
        &mut out,
        "kefu_turn_duration_seconds",
        "histogram",
        "Time a shard's loop spent on one turn (between two polls): its stalls.",
    );
    for (i, c) in sources.counters.iter().enumerate() {
        histogram(
            &mut out,
            "kefu_turn_duration_seconds",
            i,
            c.turn_histogram(),
            1e6,
        );
    }
    type CpuHistogram = fn(&ShardCounters) -> &Histogram;
    let cpu: [(&str, &str, CpuHistogram); 2] = [
        (
            "kefu_turn_cpu_seconds",
            "The shard thread's CPU time in one turn (CLOCK_THREAD_CPUTIME_ID).",
            |c| c.turn_cpu_histograms().0,
        ),
        (
            "kefu_turn_off_cpu_seconds",
            "A turn's wall time minus its CPU time: the thread preempted or blocked in a \
             syscall during the turn.",
            |c| c.turn_cpu_histograms().1,
        ),
    ];
    for (name, help, field) in cpu {
        family(&mut out, name, "histogram", help);
        for (i, c) in sources.counters.iter().enumerate() {
            histogram(&mut out, name, i, field(c), 1e6);
        }
    }
    turns(&mut out, &sources.counters);
    shard_threads(&mut out, &sources.counters);
    accounts(&mut out, &sources.counters);
    process_memory(&mut out, heap);
    if let Some(r) = &sources.replication {
        replication(&mut out, r);
    }
    for (name, value) in sources.store.engine_stats() {
        let metric = format!("kefu_{name}");
        family(
            &mut out,
            &metric,
            "gauge",
            "Storage engine figure (per-column-family ones summed over the column families).",
        );
        let _ = writeln!(out, "{metric} {value}");
    }
    out
}

/// The process's resident size and its heap in use (`heap`, read before the scrape's
/// own buffers were allocated).
fn process_memory(out: &mut String, heap: u64) {
    family(
        out,
        "kefu_process_resident_memory_bytes",
        "gauge",
        "Resident set size of kefud.",
    );
    let _ = writeln!(out, "kefu_process_resident_memory_bytes {}", rss_bytes());
    family(
        out,
        "kefu_heap_in_use_bytes",
        "gauge",
        "Heap bytes kefud's data holds (glibc mallinfo2: uordblks + hblkhd), read at scrape \
         time; unlike the resident size it leaves out what the allocator keeps after a free.",
    );
    let _ = writeln!(out, "kefu_heap_in_use_bytes {heap}");
}

/// The pair's replication (`daemon/CLUSTER.md` §6), on either member: the lag in
/// sequence numbers and in seconds as this side measures it (`cluster/lag.rs`).
fn replication(out: &mut String, r: &crate::cluster::Replication) {
    let lag = r.lag();
    let standby = r.side() == crate::cluster::Role::Standby;
    for (name, help, value) in [
        (
            "kefu_replication_standby",
            "1 on the standby of a pair, 0 on the primary.",
            u64::from(standby),
        ),
        (
            "kefu_replication_connected",
            "1 while the replication stream is up (a standby connected to the primary, \
             or the primary followed).",
            u64::from(r.connected()),
        ),
        (
            "kefu_replication_primary_sequence",
            "The primary's latest sequence (on the standby: as the primary's last frame \
             said).",
            lag.latest,
        ),
        (
            "kefu_replication_standby_applied_sequence",
            "The last sequence the standby applied (on the primary: acknowledged).",
            lag.applied,
        ),
        (
            "kefu_replication_degraded",
            "1 while the primary acknowledges with one copy (kefuctl cluster promote --alone).",
            u64::from(r.degraded()),
        ),
        (
            "kefu_replication_lag_sequences",
            "The primary's latest sequence minus the standby's applied one.",
            lag.sequences,
        ),
    ] {
        family(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
    family(
        out,
        "kefu_replication_lag_seconds",
        "gauge",
        "Age of the oldest batch the standby has not applied: on the primary since its \
         commit, on the standby since the primary's frame that first named it (a lower \
         bound); 0 when caught up.",
    );
    let _ = writeln!(
        out,
        "kefu_replication_lag_seconds {:.3}",
        lag.age.as_secs_f64()
    );
}

/// The longest turn of each shard and what it did, and the most logins and inbox
/// messages of one turn (`turn_stats.rs`).
fn turns(out: &mut String, counters: &[Arc<ShardCounters>]) {
    type Field = fn(&crate::turn_stats::TurnWork) -> u64;
    let longest: [(&str, &str, Field); 7] = [
        (
            "kefu_turn_longest_microseconds",
            "Duration of the shard's longest turn.",
            |w| w.micros,
        ),
        (
            "kefu_turn_longest_cpu_microseconds",
            "The shard thread's CPU time in its longest turn (far below the duration: the \
             thread waited).",
            |w| w.cpu_micros,
        ),
        (
            "kefu_turn_longest_frames_in",
            "Frames read in the longest turn.",
            |w| w.frames_in,
        ),
        (
            "kefu_turn_longest_inbox_messages",
            "Inbox messages taken in the longest turn.",
            |w| w.inbox,
        ),
        (
            "kefu_turn_longest_logins",
            "Logins completed in the longest turn.",
            |w| w.logins,
        ),
        (
            "kefu_turn_longest_accepted",
            "Connections accepted in the longest turn.",
            |w| w.accepted,
        ),
        (
            "kefu_turn_longest_batch_operations",
            "Batch operations committed in the longest turn.",
            |w| w.batch_ops,
        ),
    ];
    for (name, help, field) in longest {
        family(out, name, "gauge", help);
        for (i, c) in counters.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}{{shard=\"{i}\"}} {}",
                field(&c.turns().longest())
            );
        }
    }
    type Most = fn(&crate::turn_stats::TurnStats) -> u64;
    let most: [(&str, &str, Most); 4] = [
        (
            "kefu_turn_waited_longest_microseconds",
            "Duration of the turn that spent the most time off the CPU (preempted or \
             blocked).",
            |t| t.most_off_cpu().0,
        ),
        (
            "kefu_turn_waited_longest_cpu_microseconds",
            "The shard thread's CPU time in that turn.",
            |t| t.most_off_cpu().1,
        ),
        (
            "kefu_turn_max_logins",
            "The most logins one turn completed.",
            |t| t.most_logins(),
        ),
        (
            "kefu_turn_max_inbox_messages",
            "The most inbox messages one turn took.",
            |t| t.most_inbox(),
        ),
    ];
    for (name, help, field) in most {
        family(out, name, "gauge", help);
        for (i, c) in counters.iter().enumerate() {
            let _ = writeln!(out, "{name}{{shard=\"{i}\"}} {}", field(c.turns()));
        }
    }
}

/// What the scheduler says of each running shard's thread (`turn_stats::ThreadSched`):
/// read here from /proc, so the loop pays nothing for it.
fn shard_threads(out: &mut String, counters: &[Arc<ShardCounters>]) {
    type Field = fn(&crate::turn_stats::ThreadSched) -> String;
    let figures: Vec<_> = counters.iter().map(|c| c.thread_sched()).collect();
    let fields: [(&str, &str, Field); 4] = [
        (
            "kefu_shard_thread_cpu_seconds_total",
            "Time the shard's thread spent on a core.",
            |t| format!("{}", t.cpu_ns as f64 / 1e9),
        ),
        (
            "kefu_shard_thread_runqueue_wait_seconds_total",
            "Time the shard's thread was runnable but waited for a core (preempted, or \
             woken and not yet running).",
            |t| format!("{}", t.runqueue_wait_ns as f64 / 1e9),
        ),
        (
            "kefu_shard_thread_voluntary_switches_total",
            "Times the shard's thread gave up its core (waiting for work, or blocked in a \
             syscall).",
            |t| t.voluntary_switches.to_string(),
        ),
        (
            "kefu_shard_thread_involuntary_switches_total",
            "Times the shard's thread was taken off its core while it could run.",
            |t| t.involuntary_switches.to_string(),
        ),
    ];
    for (name, help, field) in fields {
        family(out, name, "counter", help);
        for (i, t) in figures.iter().enumerate() {
            if let Some(t) = t {
                let _ = writeln!(out, "{name}{{shard=\"{i}\"}} {}", field(t));
            }
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// One shard's series of a histogram; bounds and sum are divided by `divisor`.
fn histogram(out: &mut String, name: &str, shard: usize, h: &Histogram, divisor: f64) {
    let (counts, sum) = h.read();
    let mut cumulative = 0u64;
    for (bound, count) in h.bounds().iter().zip(&counts) {
        cumulative = cumulative.saturating_add(*count);
        let le = *bound as f64 / divisor;
        let _ = writeln!(
            out,
            "{name}_bucket{{shard=\"{shard}\",le=\"{le}\"}} {cumulative}"
        );
    }
    let total = counts.iter().fold(0u64, |a, c| a.saturating_add(*c));
    let _ = writeln!(
        out,
        "{name}_bucket{{shard=\"{shard}\",le=\"+Inf\"}} {total}"
    );
    let _ = writeln!(
        out,
        "{name}_sum{{shard=\"{shard}\"}} {}",
        sum as f64 / divisor
    );
    let _ = writeln!(out, "{name}_count{{shard=\"{shard}\"}} {total}");
}

/// Open and queued conversations per account in memory, the largest first.
fn accounts(out: &mut String, counters: &[Arc<ShardCounters>]) {
    let mut all: Vec<AccountConversations> =
        counters.iter().flat_map(|c| c.accounts_table()).collect();
    all.sort_unstable_by(|a, b| b.open.cmp(&a.open).then(a.account.cmp(&b.account)));
    all.truncate(MAX_ACCOUNT_SERIES);
    family(
        out,
        "kefu_account_open_conversations",
        "gauge",
        "Open conversations of an account in memory (at most 1000 accounts, the busiest; \
         updated once a second).",
    );
    for a in &all {
        let _ = writeln!(
            out,
            "kefu_account_open_conversations{{account=\"{}\"}} {}",
            a.account, a.open
        );
    }
    family(
        out,
        "kefu_account_queued_conversations",
        "gauge",
        "Conversations waiting in an account's queue (same accounts as above).",
    );
    for a in &all {
        let _ = writeln!(
            out,
            "kefu_account_queued_conversations{{account=\"{}\"}} {}",
            a.account, a.queued
        );
    }
}

/// The process's resident set size, from `/proc/self/status` (0 where there is none).
pub fn rss_bytes() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb.saturating_mul(1024))
}

/// Bytes the allocator has handed out and not had back: glibc's `mallinfo2`, `uordblks`
/// (in use in every arena) plus `hblkhd` (blocks mapped on their own). Exact where the
/// resident size is not: RSS moves by whole pages and keeps what glibc holds after a
/// free. Chunks in the threads' small free caches (tcache) count as in use, a few KiB
/// a thread. 0 under another allocator or libc.
pub fn heap_in_use_bytes() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes no arguments and only reads the allocator's own
        // bookkeeping, under the arenas' locks; it returns a plain struct by value.
        let info = unsafe { libc::mallinfo2() };
        u64::try_from(info.uordblks.saturating_add(info.hblkhd)).unwrap_or(u64::MAX)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        0
    }
}

/// The HTTP listener (`metrics_listen`): one thread, one request per connection.
pub struct HttpListener {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpListener {
    /// Binds `addr` (loopback, checked by the config) and serves `GET /metrics`.
    pub fn start(addr: SocketAddr, sources: Sources) -> std::io::Result<HttpListener> {
        HttpListener::start_shared(addr, Arc::new(Mutex::new(sources)))
    }

    /// Like [`HttpListener::start`], reading whatever `sources` holds at each scrape.
    pub fn start_shared(addr: SocketAddr, sources: SharedSources) -> std::io::Result<HttpListener> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kefu-metrics".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::Acquire) {
                        break;
                    }
                    match stream {
                        Ok(s) => {
                            let now = sources
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .clone();
                            if let Err(e) = serve(s, &now) {
                                log::warn(0, format_args!("metrics request: {e}"));
                            }
                        }
                        // Out of descriptors: wait for the next connection attempt.
                        Err(e) => log::warn(0, format_args!("metrics accept: {e}")),
                    }
                }
            })?;
        Ok(HttpListener {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the thread (a connection to itself wakes its `accept`).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for HttpListener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Longest request head read; a scrape's is a few hundred bytes.
const MAX_REQUEST_HEAD: usize = 4096;

/// Answers one HTTP/1.x request and closes the connection.
fn serve(mut stream: TcpStream, sources: &Sources) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or(&[]));
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or(&[]);
    let mut parts = line.split(|&b| b == b' ');
    let (method, path) = (parts.next(), parts.next());
    let (status, ctype, body) = match (method, path) {
        (Some(b"GET"), Some(b"/metrics")) => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            render(sources),
        ),
        (Some(b"GET"), _) => (
            "404 Not Found",
            "text/plain",
            "not found: GET /metrics\n".into(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET /metrics only\n".into(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn the_heap_in_use_follows_an_allocation_and_its_free() {
        // 64 MiB, touched: glibc maps a block this large on its own (`hblkhd`), so
        // other tests' smaller allocations meanwhile cannot hide it.
        const BLOCK: usize = 64 << 20;
        let before = super::heap_in_use_bytes();
        let block = std::hint::black_box(vec![1u8; BLOCK]);
        let during = super::heap_in_use_bytes();
        drop(block);
        let after = super::heap_in_use_bytes();
        assert!(
            during >= before + (BLOCK as u64) / 2,
            "{before} -> {during}"
        );
        assert!(after + (BLOCK as u64) / 2 <= during, "{during} -> {after}");
    }
}
