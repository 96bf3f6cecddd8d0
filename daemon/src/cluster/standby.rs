//! The standby's replication thread: connects to the primary (mutual TLS), says the
//! last sequence it has, applies every batch it is sent in order and acknowledges
//! cumulatively. A batch that does not start right after the standby's latest sequence
//! is a gap: nothing of it is applied, the stream stops with a log line naming both
//! sequences, and the thread connects again asking from its own latest — the primary's
//! log gives the missing batches if it still holds them (`wal_archive_seconds`),
//! otherwise the primary says so and the standby must be restored from a backup.
//!
//! It speaks version 2 of the stream (a window of shipments, `wire/src/replica.rs`):
//! every `ReplicaBatches` that arrived while it applied the last ones is applied with
//! them, synced once, and answered by one `ReplicaApplied`. A primary of the older
//! release closes the stream on that hello; the next attempt then says version 1.

use super::stream::{Framed, StreamError, READ_TICK};
use super::{ClusterConfig, ClusterError, ClusterHandle, Replication};
use crate::log;
use crate::store::{RocksStore, StoreError};
use kefu_wire::replica::{
    ReplicaApplied, ReplicaBatch, ReplicaBatches, ReplicaHello, REPLICA_PROTOCOL,
    REPLICA_PROTOCOL_LOCKSTEP,
};
use kefu_wire::Body;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The primary sends at least a keep-alive every second; silence this long is a break.
const SILENCE: Duration = Duration::from_secs(10);
/// Between two connection attempts.
const RETRY: Duration = Duration::from_millis(500);
/// The most `ReplicaBatches` applied together under one sync and one acknowledgement.
const GROUP_FRAMES: usize = 64;

/// Why received batches were not (all) applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A batch does not follow the last applied one.
    #[error("gap: the next batch must start at sequence {expected}, the primary sent {got}")]
    Gap {
        /// `latest + 1`.
        expected: u64,
        /// The batch's first sequence.
        got: u64,
    },
    /// The store refused the batch.
    #[error("applying: {0}")]
    Store(#[from] StoreError),
}

/// Applies `batches` in order to `store`; stops at the first that does not start at the
/// store's `latest + 1` (nothing of it applied). The last is written synced, which syncs
/// the group. Returns the latest sequence after.
pub fn apply_batches(store: &RocksStore, batches: &[ReplicaBatch]) -> Result<u64, ApplyError> {
    let mut latest = store.latest_sequence()?;
    let last = batches.len().saturating_sub(1);
    for (i, b) in batches.iter().enumerate() {
        if b.sequence != latest + 1 {
            return Err(ApplyError::Gap {
                expected: latest + 1,
                got: b.sequence,
            });
        }
        store.apply_logged_data(&b.data, i == last)?;
        latest = store.latest_sequence()?;
    }
    Ok(latest)
}

pub(super) fn start(
    config: &ClusterConfig,
    store: Arc<RocksStore>,
    stop: Arc<AtomicBool>,
    replication: Arc<Replication>,
) -> Result<ClusterHandle, ClusterError> {
    let tls = super::tls::client(config)?;
    let peer = config
        .peer
        .ok_or_else(|| ClusterError::Io("no peer".into()))?;
    replication.set_applied(store.latest_sequence().unwrap_or(0));
    let (s, r) = (Arc::clone(&stop), Arc::clone(&replication));
    let thread = std::thread::Builder::new()
        .name("kefu-replication".into())
        .spawn(move || follow(peer, &tls, &store, &s, &r))
        .map_err(|e| ClusterError::Io(format!("spawning: {e}")))?;
    log::info(0, format_args!("replication: standby of {peer}"));
    Ok(ClusterHandle {
        stop,
        thread: Some(thread),
        wake: None,
        replication,
        replication_addr: None,
        leader: None,
    })
}

/// Connects, follows, reconnects, until the daemon stops.
fn follow(
    peer: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    store: &RocksStore,
    stop: &AtomicBool,
    replication: &Replication,
) {
    let mut last_error = String::new();
    let mut protocol = REPLICA_PROTOCOL;
    while !stop.load(Ordering::Relaxed) {
        let began = Instant::now();
        let mut progress = Progress::default();
        let result = stream(peer, tls, store, stop, replication, protocol, &mut progress);
        protocol = match progress {
            // Closed on the hello: perhaps a primary of the older release.
            Progress {
                said_hello: true,
                heard: false,
            } if protocol == REPLICA_PROTOCOL => REPLICA_PROTOCOL_LOCKSTEP,
            _ => REPLICA_PROTOCOL,
        };
        replication.connected.store(false, Ordering::Relaxed);
        match result {
            Err(StreamError::Stopping) => return,
            Err(e) => {
                // One line per kind of failure, not one per attempt.
                let text = e.to_string();
                if text != last_error {
                    log::warn(0, format_args!("replication: from {peer}: {text}"));
                    last_error = text;
                }
            }
            Ok(()) => {}
        }
        let pause = RETRY.saturating_sub(began.elapsed());
        if !pause.is_zero() && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(pause);
        }
    }
}

/// How far a connection got.
#[derive(Debug, Default, Clone, Copy)]
struct Progress {
    /// The hello was sent.
    said_hello: bool,
    /// A frame came back.
    heard: bool,
}

/// One connection to the primary, saying `protocol`.
fn stream(
    peer: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    store: &RocksStore,
    stop: &AtomicBool,
    replication: &Replication,
    protocol: u16,
    progress: &mut Progress,
) -> Result<(), StreamError> {
    let socket = TcpStream::connect_timeout(&peer, Duration::from_secs(2))?;
    socket.set_read_timeout(Some(READ_TICK))?;
    socket.set_nodelay(true)?;
    let name = rustls::pki_types::ServerName::IpAddress(peer.ip().into());
    let conn = rustls::ClientConnection::new(Arc::clone(tls), name)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut framed = Framed::new(rustls::StreamOwned::new(conn, socket));
    let latest = store.latest_sequence().map_err(std::io::Error::other)?;
    framed.send(&ReplicaHello { protocol, latest })?;
    progress.said_hello = true;
    loop {
        let mut got: ReplicaBatches = framed.expect(SILENCE, stop)?;
        progress.heard = true;
        // What else arrived meanwhile rides the same sync and acknowledgement.
        for _ in 1..GROUP_FRAMES {
            let Some(frame) = framed.buffered()? else {
                break;
            };
            if frame.kind != ReplicaBatches::KIND {
                return Err(StreamError::Unexpected(frame.kind as u16));
            }
            let more = ReplicaBatches::decode(&frame.body)?;
            got.batches.extend(more.batches);
            got.primary_latest = more.primary_latest;
        }
        replication.connected.store(true, Ordering::Relaxed);
        replication.heard_primary_latest(got.primary_latest);
        let latest = match apply_batches(store, &got.batches) {
            Ok(latest) => latest,
            Err(e @ ApplyError::Gap { .. }) => {
                log::error(
                    0,
                    format_args!("replication: {e}; the stream stops and restarts from this standby's latest"),
                );
                return Err(StreamError::Io(std::io::Error::other(e.to_string())));
            }
            Err(e) => return Err(StreamError::Io(std::io::Error::other(e.to_string()))),
        };
        replication.set_applied(latest);
        framed.send(&ReplicaApplied { latest })?;
    }
}
