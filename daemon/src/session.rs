//! What the loop and the centre agree a connection is: its protocol phase and the
//! session logged in on it. The loop (`shard`) keeps these on each connection; the centre
//! reads them from a [`Caller`] and changes them only through [`ConnUpdate`]s that the
//! loop applies, so account logic never holds a connection.
//!
//! A logged-in agent or customer is a **session** ([`SessionId`]), not a connection: the
//! centre keeps who the session is (account, agent or customer and channel) and
//! addresses pushes to it; the loop alone maps a session to the connection it is on.

use kefu_wire::chat::{Channel, CustomerId};

/// Where a connection is in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for `Hello`.
    AwaitHello,
    /// Handshaken, not logged in.
    Ready,
    /// A password check for a login is running on the worker pool; input is
    /// left unread in the buffer until it completes, so pipelined requests
    /// are answered in order and as the logged-in agent.
    LoggingIn,
    /// Logged in as a customer or visitor of an account (who: the centre's record of
    /// the connection's session).
    Customer {
        /// Account number.
        account: u64,
    },
    /// Logged in as an agent.
    Agent {
        /// Account number.
        account: u64,
        /// Agent number.
        agent: u32,
    },
    /// Told to go away; flushing the last frames before closing.
    Closing,
}

/// An opaque session number, unique within one run of the daemon: the shard that
/// holds the session in the high 16 bits, a counter of that shard below. Not stored:
/// after a restart every session is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl SessionId {
    /// Bits of the per-shard counter.
    const COUNTER_BITS: u32 = 48;

    /// The `n`th session of shard `shard`.
    pub fn new(shard: usize, n: u64) -> SessionId {
        let shard = (shard as u64) & 0xffff;
        SessionId((shard << Self::COUNTER_BITS) | (n & ((1 << Self::COUNTER_BITS) - 1)))
    }

    /// The shard that holds the session.
    pub fn shard(self) -> usize {
        (self.0 >> Self::COUNTER_BITS) as usize
    }
}

/// The customer a session is logged in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerLogin {
    /// Who.
    pub customer: CustomerId,
    /// From where.
    pub channel: Channel,
}

/// The connection a request came from, as the centre sees it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Slab index on the shard that holds it.
    pub conn: usize,
    /// Generation of that slab slot.
    pub generation: u32,
    /// Whether it is the admin socket (operator authority).
    pub is_admin: bool,
    /// Its phase.
    pub phase: Phase,
    /// The peer's address (TCP and TLS), for login throttling.
    pub peer: Option<std::net::IpAddr>,
    /// The session logged in on it (agent or customer), if any.
    pub session: Option<SessionId>,
    /// A web connection's `Origin` from its WebSocket handshake, when it is not the
    /// gateway's own (PROTOCOL.md 38.4); `None` on every other connection.
    pub web_origin: Option<std::sync::Arc<str>>,
}

/// A change the centre asks of a connection, applied by the loop right after the call
/// that produced it (before the connection's next frame is read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnUpdate {
    /// Moves to this phase (logged in, logged out, paused for a password check).
    Phase(Phase),
    /// This session is now on the connection, or none is any more.
    Session(Option<SessionId>),
    /// The session is resumable: keep the pushes the client has not acknowledged.
    KeepPushes,
    /// This resumed session is now on the connection, but pushes reach it only from
    /// its `Outgoing::Attach` on (after the `Resumed` answer and the replay).
    Resuming(SessionId),
    /// Input that waited behind a login may be read again.
    Resume,
}

/// A session's connection went: what it leaves behind for a resumable session.
#[derive(Debug)]
pub struct Departed {
    /// The session that was on it.
    pub session: SessionId,
    /// The pushes it was sent and had not acknowledged, with their `seq`, oldest first.
    pub unacked: Vec<(u64, kefu_wire::Event)>,
    /// The `seq` of the last push it was sent.
    pub last_seq: u64,
    /// Whether pushes to the session reached this connection (false for a connection
    /// that was taking over a resumed session and had not been answered yet).
    pub attached: bool,
}

/// What the loop does with a connection's input after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next frame.
    Continue,
    /// Stop reading this connection for now (login pending).
    Pause,
    /// The connection moves to shard `n`; this frame is re-read there.
    HandOver(usize),
}
