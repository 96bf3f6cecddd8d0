//! Per-shard counters: written by their shard with relaxed atomics, read by
//! anyone (`kefuctl stats`, the metrics in `metrics.rs`) without stopping the shard.
//!
//! The one exception to "atomics only" is the per-account table of open and queued
//! conversations ([`ShardCounters::publish_accounts`]): the shard replaces it at most
//! once a second with `try_lock`, so it never waits; a reader holds the lock only to
//! copy it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};

/// A histogram with fixed upper bounds, cumulative as Prometheus wants it at render.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [u64],
    /// One count per bound, then the count above the last bound.
    buckets: Vec<AtomicU64>,
    sum: AtomicU64,
}

impl Histogram {
    /// A histogram whose buckets end at `bounds` (ascending).
    pub fn new(bounds: &'static [u64]) -> Histogram {
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Records one value.
    pub fn observe(&self, value: u64) {
        let i = self.bounds.partition_point(|&b| b < value);
        if let Some(bucket) = self.buckets.get(i) {
            bucket.fetch_add(1, Relaxed);
        }
        self.sum.fetch_add(value, Relaxed);
    }

    /// The upper bounds.
    pub fn bounds(&self) -> &'static [u64] {
        self.bounds
    }

    /// Counts per bucket (not cumulative; the last is above every bound) and the sum.
    pub fn read(&self) -> (Vec<u64>, u64) {
        (
            self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            self.sum.load(Relaxed),
        )
    }
}

/// Commit latency bounds, microseconds.
pub const COMMIT_US_BOUNDS: &[u64] = &[
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];
/// Loop turn bounds, microseconds: most turns take tens of microseconds.
pub const TURN_US_BOUNDS: &[u64] = &[
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];
/// Batch size bounds, operations.
pub const BATCH_OPS_BOUNDS: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 4_096];

/// Open and queued conversations of one account in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountConversations {
    /// The account.
    pub account: u64,
    /// Open conversations (queued ones included).
    pub open: u64,
    /// Conversations waiting in its queue.
    pub queued: u64,
}

/// Counters of one shard.
#[derive(Debug)]
pub struct ShardCounters {
    connections: AtomicU64,
    sessions: AtomicU64,
    accounts: AtomicU64,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    accepted: AtomicU64,
    handed_over: AtomicU64,
    adopted: AtomicU64,
    commits: AtomicU64,
    password_logins: AtomicU64,
    failed_logins: AtomicU64,
    protocol_errors: AtomicU64,
    slow_consumers: AtomicU64,
    overloaded: AtomicU64,
    output_budget_drops: AtomicU64,
    file_relayed_bytes: AtomicU64,
    file_refused_chunks: AtomicU64,
    file_stored_bytes: AtomicU64,
    pending_output: AtomicU64,
    messages_stored: AtomicU64,
    failed_commits: AtomicU64,
    commit_us: Histogram,
    batch_ops: Histogram,
    turn_us: Histogram,
    turn_cpu_us: Histogram,
    turn_off_cpu_us: Histogram,
    turns: crate::turn_stats::TurnStats,
    /// The shard thread's id while it runs (0 before and after), for a scrape to read
    /// its scheduler figures (`turn_stats::ThreadSched`).
    thread_id: AtomicU64,
    open_conversations: AtomicU64,
    queued_conversations: AtomicU64,
    parked_requests: AtomicU64,
    import_slices: AtomicU64,
    import_rows: AtomicU64,
    submission_slices: AtomicU64,
    per_account: Mutex<Vec<AccountConversations>>,
}

impl Default for ShardCounters {
    fn default() -> Self {
        ShardCounters {
            connections: AtomicU64::new(0),
            sessions: AtomicU64::new(0),
            accounts: AtomicU64::new(0),
            frames_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            handed_over: AtomicU64::new(0),
            adopted: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            password_logins: AtomicU64::new(0),
            failed_logins: AtomicU64::new(0),
            protocol_errors: AtomicU64::new(0),
            slow_consumers: AtomicU64::new(0),
            overloaded: AtomicU64::new(0),
            output_budget_drops: AtomicU64::new(0),
            file_relayed_bytes: AtomicU64::new(0),
            file_refused_chunks: AtomicU64::new(0),
            file_stored_bytes: AtomicU64::new(0),
            pending_output: AtomicU64::new(0),
            messages_stored: AtomicU64::new(0),
            failed_commits: AtomicU64::new(0),
            commit_us: Histogram::new(COMMIT_US_BOUNDS),
            batch_ops: Histogram::new(BATCH_OPS_BOUNDS),
            turn_us: Histogram::new(TURN_US_BOUNDS),
            turn_cpu_us: Histogram::new(TURN_US_BOUNDS),
            turn_off_cpu_us: Histogram::new(TURN_US_BOUNDS),
            turns: crate::turn_stats::TurnStats::default(),
            thread_id: AtomicU64::new(0),
            open_conversations: AtomicU64::new(0),
            queued_conversations: AtomicU64::new(0),
            parked_requests: AtomicU64::new(0),
            import_slices: AtomicU64::new(0),
            import_rows: AtomicU64::new(0),
            submission_slices: AtomicU64::new(0),
            per_account: Mutex::new(Vec::new()),
        }
    }
}

/// Every counter of one shard at one moment, for the metrics.
#[derive(Debug, Clone, Default)]
#[allow(missing_docs)] // the field names are the metric names (see `metrics.rs`)
pub struct ShardFigures {
    pub connections: u64,
    pub sessions: u64,
    pub accounts: u64,
    pub frames_in: u64,
    pub frames_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub accepted: u64,
    pub handed_over: u64,
    pub adopted: u64,
    pub commits: u64,
    pub failed_commits: u64,
    pub password_logins: u64,
    pub failed_logins: u64,
    pub protocol_errors: u64,
    pub slow_consumers: u64,
    pub overloaded: u64,
    pub output_budget_drops: u64,
    pub file_relayed_bytes: u64,
    pub file_refused_chunks: u64,
    pub file_stored_bytes: u64,
    pub pending_output: u64,
    pub messages_stored: u64,
    pub open_conversations: u64,
    pub queued_conversations: u64,
    pub parked_requests: u64,
    pub import_slices: u64,
    pub import_rows: u64,
    pub submission_slices: u64,
}

macro_rules! adders {
    ($($fn:ident => $field:ident),* $(,)?) => {
        $(
            #[doc = concat!("Counts one more `", stringify!($field), "`.")]
            pub fn $fn(&self) { self.$field.fetch_add(1, Relaxed); }
        )*
    };
}

impl ShardCounters {
    adders! {
        add_frame_in => frames_in,
        add_frame_out => frames_out,
        add_accepted => accepted,
        add_handed_over => handed_over,
        add_adopted => adopted,
        add_commit => commits,
        add_failed_commit => failed_commits,
        add_password_login => password_logins,
        add_failed_login => failed_logins,
        add_protocol_error => protocol_errors,
        add_slow_consumer => slow_consumers,
        add_overloaded => overloaded,
        connection_opened => connections,
        session_opened => sessions,
    }

    /// One turn's slice of an import job, of `rows` rows (issue 13).
    pub fn import_slice(&self, rows: u64) {
        self.import_slices.fetch_add(1, Relaxed);
        self.import_rows.fetch_add(rows, Relaxed);
    }

    /// One turn's slice of a broadcast submission job (issue 13).
    pub fn submission_slice(&self) {
        self.submission_slices.fetch_add(1, Relaxed);
    }

    /// One connection fewer.
    pub fn connection_closed(&self) {
        self.connections.fetch_sub(1, Relaxed);
    }

    /// One session fewer.
    pub fn session_closed(&self) {
        self.sessions.fetch_sub(1, Relaxed);
    }

    /// Frames received.
    pub fn add_frames_in(&self, n: u64) {
        self.frames_in.fetch_add(n, Relaxed);
    }

    /// Frames sent.
    pub fn add_frames_out(&self, n: u64) {
        self.frames_out.fetch_add(n, Relaxed);
    }

    /// Bytes read.
    pub fn add_bytes_in(&self, n: u64) {
        self.bytes_in.fetch_add(n, Relaxed);
    }

    /// Bytes written.
    pub fn add_bytes_out(&self, n: u64) {
        self.bytes_out.fetch_add(n, Relaxed);
    }

    /// Accounts in the shard's cache.
    pub fn set_accounts(&self, n: u64) {
        self.accounts.store(n, Relaxed);
    }

    /// One commit of `ops` operations, of which `messages` stored messages, took `us`.
    pub fn commit_done(&self, ops: u64, messages: u64, us: u64) {
        self.commit_us.observe(us);
        self.batch_ops.observe(ops);
        self.messages_stored.fetch_add(messages, Relaxed);
    }

    /// Connections dropped as slow consumers to bring the shard's unsent output back
    /// under its share of the daemon-wide budget (also counted as slow consumers).
    /// Bytes of online file transfers relayed (C13).
    pub fn add_file_relayed(&self, n: u64) {
        self.file_relayed_bytes.fetch_add(n, Relaxed);
    }

    /// A file chunk refused (no credit, wrong offset, unknown transfer or upload).
    pub fn add_file_refused_chunk(&self) {
        self.file_refused_chunks.fetch_add(1, Relaxed);
    }

    /// Bytes of offline files written to the disk (uploads, before their hash check).
    pub fn add_file_stored(&self, n: u64) {
        self.file_stored_bytes.fetch_add(n, Relaxed);
    }

    /// Bytes of online file transfers relayed so far.
    pub fn file_relayed_bytes(&self) -> u64 {
        self.file_relayed_bytes.load(Relaxed)
    }

    /// File chunks refused so far.
    pub fn file_refused_chunks(&self) -> u64 {
        self.file_refused_chunks.load(Relaxed)
    }

    pub fn add_output_budget_drops(&self, n: u64) {
        self.output_budget_drops.fetch_add(n, Relaxed);
    }

    /// Bytes of output the shard's connections hold unsent, after its last flush.
    pub fn set_pending_output(&self, bytes: u64) {
        self.pending_output.store(bytes, Relaxed);
    }

    /// Requests waiting for their account to load.
    pub fn set_parked(&self, n: u64) {
        self.parked_requests.store(n, Relaxed);
    }

    /// Publishes the open and queued conversations of the accounts in memory (totals
    /// and per account). Never waits: if a reader holds the table, the totals are
    /// still updated and the table waits for the next publication.
    pub fn publish_accounts(&self, accounts: Vec<AccountConversations>) {
        let open = accounts.iter().map(|a| a.open).sum();
        let queued = accounts.iter().map(|a| a.queued).sum();
        self.open_conversations.store(open, Relaxed);
        self.queued_conversations.store(queued, Relaxed);
        if let Ok(mut table) = self.per_account.try_lock() {
            *table = accounts;
        }
    }

    /// The last published per-account table.
    pub fn accounts_table(&self) -> Vec<AccountConversations> {
        self.per_account
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Commit latency (µs) and batch size (operations) histograms.
    pub fn histograms(&self) -> (&Histogram, &Histogram) {
        (&self.commit_us, &self.batch_ops)
    }

    /// Loop turn durations (µs): a stall of the shard shows here, whatever caused it.
    pub fn turn_histogram(&self) -> &Histogram {
        &self.turn_us
    }

    /// The shard thread's CPU time per turn (µs), and the rest of each turn's wall
    /// time, when the thread was preempted or blocked (`turn_stats.rs`).
    pub fn turn_cpu_histograms(&self) -> (&Histogram, &Histogram) {
        (&self.turn_cpu_us, &self.turn_off_cpu_us)
    }

    /// Records one loop turn: its wall time, and what of it the thread was on the CPU.
    pub fn record_turn(&self, work: &crate::turn_stats::TurnWork) {
        self.turn_us.observe(work.micros);
        self.turn_cpu_us.observe(work.cpu_micros);
        self.turn_off_cpu_us.observe(work.off_cpu_micros());
        self.turns.record(work);
    }

    /// The longest turn and the most logins and inbox messages of one turn.
    pub fn turns(&self) -> &crate::turn_stats::TurnStats {
        &self.turns
    }

    /// The shard's thread is `tid` (0: it stopped).
    pub fn set_thread_id(&self, tid: u64) {
        self.thread_id.store(tid, Relaxed);
    }

    /// What the scheduler says of the shard's thread, while it runs.
    pub fn thread_sched(&self) -> Option<crate::turn_stats::ThreadSched> {
        match self.thread_id.load(Relaxed) {
            0 => None,
            tid => crate::turn_stats::ThreadSched::of(tid),
        }
    }

    /// Frames received so far (read by the loop at the start and end of a turn).
    pub fn frames_in_total(&self) -> u64 {
        self.frames_in.load(Relaxed)
    }

    /// Every counter now.
    pub fn figures(&self) -> ShardFigures {
        ShardFigures {
            connections: self.connections.load(Relaxed),
            sessions: self.sessions.load(Relaxed),
            accounts: self.accounts.load(Relaxed),
            frames_in: self.frames_in.load(Relaxed),
            frames_out: self.frames_out.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            accepted: self.accepted.load(Relaxed),
            handed_over: self.handed_over.load(Relaxed),
            adopted: self.adopted.load(Relaxed),
            commits: self.commits.load(Relaxed),
            failed_commits: self.failed_commits.load(Relaxed),
            password_logins: self.password_logins.load(Relaxed),
            failed_logins: self.failed_logins.load(Relaxed),
            protocol_errors: self.protocol_errors.load(Relaxed),
            slow_consumers: self.slow_consumers.load(Relaxed),
            overloaded: self.overloaded.load(Relaxed),
            output_budget_drops: self.output_budget_drops.load(Relaxed),
            file_relayed_bytes: self.file_relayed_bytes.load(Relaxed),
            file_refused_chunks: self.file_refused_chunks.load(Relaxed),
            file_stored_bytes: self.file_stored_bytes.load(Relaxed),
            pending_output: self.pending_output.load(Relaxed),
            messages_stored: self.messages_stored.load(Relaxed),
            open_conversations: self.open_conversations.load(Relaxed),
            queued_conversations: self.queued_conversations.load(Relaxed),
            parked_requests: self.parked_requests.load(Relaxed),
            import_slices: self.import_slices.load(Relaxed),
            import_rows: self.import_rows.load(Relaxed),
            submission_slices: self.submission_slices.load(Relaxed),
        }
    }

    /// Open connections now.
    pub fn connections(&self) -> u64 {
        self.connections.load(Relaxed)
    }

    /// Connections accepted by this shard's listeners since start.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Relaxed)
    }

    /// Connections this shard handed to the owner of their account.
    pub fn handed_over(&self) -> u64 {
        self.handed_over.load(Relaxed)
    }

    /// Connections this shard took over from others.
    pub fn adopted(&self) -> u64 {
        self.adopted.load(Relaxed)
    }

    /// Requests answered `OVERLOADED` because the shard was behind.
    pub fn overloaded(&self) -> u64 {
        self.overloaded.load(Relaxed)
    }

    /// Connections told `GoAway` `SLOW_CONSUMER` (output or push-ack bound).
    pub fn slow_consumers(&self) -> u64 {
        self.slow_consumers.load(Relaxed)
    }

    /// Connections dropped for the daemon-wide output budget (`add_output_budget_drops`).
    pub fn output_budget_drops(&self) -> u64 {
        self.output_budget_drops.load(Relaxed)
    }

    /// Bytes of output the shard's connections held unsent after its last flush.
    pub fn pending_output(&self) -> u64 {
        self.pending_output.load(Relaxed)
    }

    /// Password logins that succeeded.
    pub fn password_logins(&self) -> u64 {
        self.password_logins.load(Relaxed)
    }

    /// Zeroes the gauges when the shard stops.
    pub fn reset_gauges(&self) {
        self.thread_id.store(0, Relaxed);
        self.connections.store(0, Relaxed);
        self.sessions.store(0, Relaxed);
        self.pending_output.store(0, Relaxed);
    }

    /// The wire view.
    pub fn snapshot(&self, shard: usize) -> kefu_wire::ShardStats {
        kefu_wire::ShardStats {
            shard: u16::try_from(shard).unwrap_or(u16::MAX),
            connections: self.connections.load(Relaxed),
            sessions: self.sessions.load(Relaxed),
            accounts: self.accounts.load(Relaxed),
            frames_in: self.frames_in.load(Relaxed),
            frames_out: self.frames_out.load(Relaxed),
        }
    }
}
