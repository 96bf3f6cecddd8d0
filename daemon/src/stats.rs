//! Per-shard counters: written by their shard with relaxed atomics, read by
//! anyone (`kefuctl stats`) without stopping the shard.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters of one shard.
#[derive(Debug, Default)]
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
        add_password_login => password_logins,
        add_failed_login => failed_logins,
        add_protocol_error => protocol_errors,
        add_slow_consumer => slow_consumers,
        connection_opened => connections,
        session_opened => sessions,
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

    /// Connections told `GoAway` `SLOW_CONSUMER` (output or push-ack bound).
    pub fn slow_consumers(&self) -> u64 {
        self.slow_consumers.load(Relaxed)
    }

    /// Password logins that succeeded.
    pub fn password_logins(&self) -> u64 {
        self.password_logins.load(Relaxed)
    }

    /// Zeroes the gauges when the shard stops.
    pub fn reset_gauges(&self) {
        self.connections.store(0, Relaxed);
        self.sessions.store(0, Relaxed);
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
