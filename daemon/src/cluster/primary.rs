//! The primary's replication thread: accepts the standby (one at a time, mutual TLS),
//! reads its `ReplicaHello { latest }`, then ships every committed batch after it in
//! lockstep — send what the log holds beyond the standby's acknowledgement, wait for
//! the `ReplicaApplied`, repeat — waking on each local commit, with an empty
//! `ReplicaBatches` as a keep-alive when nothing was committed for [`KEEPALIVE`].

use super::stream::{Framed, StreamError, READ_TICK};
use super::{ClusterConfig, ClusterError, ClusterHandle, Replication};
use crate::log;
use crate::store::RocksStore;
use kefu_wire::replica::{
    ReplicaApplied, ReplicaBatch, ReplicaBatches, ReplicaHello, MAX_REPLICA_BATCHES,
    REPLICA_PROTOCOL,
};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// An idle stream carries an empty batch list this often.
const KEEPALIVE: Duration = Duration::from_secs(1);
/// How long the standby may take to say hello or to acknowledge.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);
/// How long a stopping primary waits for each acknowledgement of its last batches.
const DRAIN: Duration = Duration::from_secs(5);

pub(super) fn start(
    config: &ClusterConfig,
    store: Arc<RocksStore>,
    stop: Arc<AtomicBool>,
    replication: Arc<Replication>,
) -> Result<ClusterHandle, ClusterError> {
    let tls = super::tls::server(config)?;
    let want = config
        .replication_listen
        .ok_or_else(|| ClusterError::Io("no replication_listen".into()))?;
    let listener =
        TcpListener::bind(want).map_err(|e| ClusterError::Io(format!("binding {want}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ClusterError::Io(e.to_string()))?;
    let (s, r) = (Arc::clone(&stop), Arc::clone(&replication));
    let thread = std::thread::Builder::new()
        .name("kefu-replication".into())
        .spawn(move || {
            for socket in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(socket) = socket else { continue };
                let peer = socket
                    .peer_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                match serve(socket, &tls, &store, &s, &r) {
                    Err(StreamError::Stopping) => break,
                    Err(e) => log::warn(0, format_args!("replication: standby {peer}: {e}")),
                    Ok(()) => {}
                }
                r.connected.store(false, Ordering::Relaxed);
            }
        })
        .map_err(|e| ClusterError::Io(format!("spawning: {e}")))?;
    log::info(0, format_args!("replication: primary, listening on {addr}"));
    Ok(ClusterHandle {
        stop,
        thread: Some(thread),
        wake: Some(addr),
        replication,
        replication_addr: Some(addr),
        leader: None,
    })
}

/// One standby's stream, until it breaks or the daemon stops.
fn serve(
    socket: TcpStream,
    tls: &Arc<rustls::ServerConfig>,
    store: &RocksStore,
    stop: &AtomicBool,
    replication: &Replication,
) -> Result<(), StreamError> {
    socket.set_read_timeout(Some(READ_TICK))?;
    socket.set_nodelay(true)?;
    let conn = rustls::ServerConnection::new(Arc::clone(tls))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut framed = Framed::new(rustls::StreamOwned::new(conn, socket));
    let hello: ReplicaHello = framed.expect(ANSWER_WITHIN, stop)?;
    if hello.protocol != REPLICA_PROTOCOL {
        return Err(StreamError::Io(std::io::Error::other(format!(
            "the standby speaks replication protocol {}, this primary {REPLICA_PROTOCOL}",
            hello.protocol
        ))));
    }
    let mine = store.latest_sequence().map_err(std::io::Error::other)?;
    if hello.latest > mine {
        return Err(StreamError::Io(std::io::Error::other(format!(
            "the standby has sequence {}, beyond this primary's {mine}: it is not a copy \
             of this database (restore it from a backup of this primary)",
            hello.latest
        ))));
    }
    let mut acked = hello.latest;
    replication.connected.store(true, Ordering::Relaxed);
    replication.set_applied(acked);
    log::info(
        0,
        format_args!("replication: a standby follows from sequence {acked}"),
    );
    // A stopping primary (its shards already stopped) still ships what it committed,
    // so that a graceful stop leaves the standby with everything; `never` keeps the
    // reads going while it drains, within DRAIN.
    let never = AtomicBool::new(false);
    loop {
        let latest = store.latest_sequence().map_err(std::io::Error::other)?;
        if latest <= acked {
            if stop.load(Ordering::Relaxed) {
                return Err(StreamError::Stopping);
            }
            replication.wait_committed(acked, KEEPALIVE);
        }
        let draining = stop.load(Ordering::Relaxed);
        let latest = store.latest_sequence().map_err(std::io::Error::other)?;
        replication.primary_latest.store(latest, Ordering::Relaxed);
        let batches = if latest > acked {
            store
                .batches_after(acked, MAX_REPLICA_BATCHES)
                .map_err(|e| {
                    std::io::Error::other(format!(
                        "the standby asks for the batches after sequence {acked}, which the \
                         log cannot give ({e}); restore it from a backup of this primary"
                    ))
                })?
        } else {
            Vec::new()
        };
        let batches = batches
            .into_iter()
            .map(|b| ReplicaBatch {
                sequence: b.sequence,
                data: b.data,
            })
            .collect();
        framed.send(&ReplicaBatches {
            batches,
            primary_latest: latest,
        })?;
        let applied: ReplicaApplied = if draining {
            framed.expect(DRAIN, &never)?
        } else {
            framed.expect(ANSWER_WITHIN, stop)?
        };
        acked = applied.latest;
        replication.set_applied(acked);
    }
}
