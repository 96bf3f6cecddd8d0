//! Replication between the two appliances of a pair (`daemon/CLUSTER.md`,
//! `wire/PROTOCOL.md` section 40): the bodies of the three frame kinds the primary's and
//! the standby's replication threads exchange over their own TLS stream (never over a
//! client connection — a client port answers them as unexpected frames).
//!
//! ```text
//! standby → primary   ReplicaHello   { latest }            once, after the TLS handshake
//! primary → standby   ReplicaBatches { batches }           committed batches after `latest`
//! standby → primary   ReplicaApplied { latest }            after applying a ReplicaBatches
//! ```
//!
//! Two versions of the exchange, named by the `ReplicaHello`'s `protocol`; the bodies
//! are the same in both:
//!
//! - [`REPLICA_PROTOCOL_LOCKSTEP`] (1): the primary sends the next `ReplicaBatches`
//!   only after the `ReplicaApplied` answering the previous one.
//! - [`REPLICA_PROTOCOL`] (2): **a window** — the primary sends each group of
//!   batches as soon as it is committed, with up to [`REPLICA_WINDOW`] of them
//!   unacknowledged; the standby acknowledges cumulatively, once for everything it
//!   applied (it may answer several `ReplicaBatches` that arrived together with one
//!   `ReplicaApplied`). So a turn waits one round trip, not the round trips of the
//!   groups before it.
//!
//! A primary accepts both (a standby of the older release follows in lockstep); a
//! standby says 2, and says 1 to a primary that closed the stream on its hello.

use crate::frame::FrameKind;
use crate::message::Body;
use serde::{Deserialize, Serialize};

/// Wire version of the replication stream this release speaks (the `ReplicaHello`'s
/// first field): the windowed exchange.
pub const REPLICA_PROTOCOL: u16 = 2;

/// The first version, still accepted by a primary: one `ReplicaBatches` at a time.
pub const REPLICA_PROTOCOL_LOCKSTEP: u16 = 1;

/// The most `ReplicaBatches` a primary has unacknowledged at once in version 2.
pub const REPLICA_WINDOW: usize = 32;

/// The most batches one `ReplicaBatches` carries.
pub const MAX_REPLICA_BATCHES: usize = 1_024;

/// The largest body of a replication frame (a batch is at most a turn's group commit,
/// bounded by the shards' accumulation limit; 64 MiB leaves a wide margin).
pub const MAX_REPLICA_FRAME: u32 = 64 << 20;

/// Standby → primary: the stream's version and the last sequence the standby applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaHello {
    /// [`REPLICA_PROTOCOL`] or [`REPLICA_PROTOCOL_LOCKSTEP`].
    pub protocol: u16,
    /// The standby's latest applied sequence: the primary sends what follows.
    pub latest: u64,
}

/// One committed batch of the primary: its first sequence and RocksDB's bytes of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaBatch {
    /// Sequence number of the batch's first write.
    pub sequence: u64,
    /// RocksDB's encoding of the batch (column families by id).
    pub data: Vec<u8>,
}

/// Primary → standby: consecutive committed batches, oldest first (at most
/// [`MAX_REPLICA_BATCHES`]); empty is a keep-alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaBatches {
    /// The batches.
    pub batches: Vec<ReplicaBatch>,
    /// The primary's latest sequence when it sent them (the standby's lag is
    /// `primary_latest − applied`).
    pub primary_latest: u64,
}

/// Standby → primary: cumulative acknowledgement — every batch up to `latest` applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaApplied {
    /// The standby's latest sequence after applying.
    pub latest: u64,
}

impl Body for ReplicaHello {
    const KIND: FrameKind = FrameKind::ReplicaHello;
}
impl Body for ReplicaBatches {
    const KIND: FrameKind = FrameKind::ReplicaBatches;
}
impl Body for ReplicaApplied {
    const KIND: FrameKind = FrameKind::ReplicaApplied;
}
