//! The primary's replication thread: accepts the standby (one at a time, mutual TLS),
//! reads its `ReplicaHello { latest }`, then ships every committed batch after it,
//! waking on each local commit, with an empty `ReplicaBatches` as a keep-alive when
//! nothing was sent for [`KEEPALIVE`].
//!
//! The batches come from the store's commit feed (`store/commit_feed.rs`: the bytes
//! each write just committed), and from the write-ahead log (`batches_after`) only when
//! the feed does not reach back far enough — a standby catching up, or one that fell
//! more than the feed's bound behind.
//!
//! A standby of version 2 gets a window ([`REPLICA_WINDOW`] shipments unacknowledged):
//! each commit is shipped at once, and a second thread of the stream reads the
//! cumulative acknowledgements meanwhile. The TLS connection is shared by the two under
//! a lock held only to encrypt or decrypt, never across socket I/O. A standby of
//! version 1 gets a window of one: lockstep.

use super::stream::{Framed, StreamError, READ_TICK};
use super::{ClusterConfig, ClusterError, ClusterHandle, Replication};
use crate::log;
use crate::store::{LoggedBatch, RocksStore};
use bytes::BytesMut;
use kefu_wire::replica::{
    ReplicaApplied, ReplicaBatch, ReplicaBatches, ReplicaHello, MAX_REPLICA_BATCHES,
    MAX_REPLICA_FRAME, REPLICA_PROTOCOL, REPLICA_PROTOCOL_LOCKSTEP, REPLICA_WINDOW,
};
use kefu_wire::{Body, FrameDecoder};
use rustls::ServerConnection;
use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// An idle stream carries an empty batch list this often.
const KEEPALIVE: Duration = Duration::from_secs(1);
/// How long the standby may take to say hello or to acknowledge.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);
/// How long a stopping primary waits for the acknowledgement of its last batches.
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
    socket.set_write_timeout(Some(ANSWER_WITHIN))?;
    socket.set_nodelay(true)?;
    let conn =
        ServerConnection::new(Arc::clone(tls)).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut framed = Framed::new(rustls::StreamOwned::new(conn, socket));
    let hello: ReplicaHello = framed.expect(ANSWER_WITHIN, stop)?;
    let window = match hello.protocol {
        REPLICA_PROTOCOL => REPLICA_WINDOW,
        REPLICA_PROTOCOL_LOCKSTEP => 1,
        other => {
            return Err(StreamError::Io(std::io::Error::other(format!(
                "the standby speaks replication protocol {other}, this primary \
                 {REPLICA_PROTOCOL_LOCKSTEP} and {REPLICA_PROTOCOL}"
            ))))
        }
    };
    let mine = store.latest_sequence().map_err(std::io::Error::other)?;
    if hello.latest > mine {
        return Err(StreamError::Io(std::io::Error::other(format!(
            "the standby has sequence {}, beyond this primary's {mine}: it is not a copy \
             of this database (restore it from a backup of this primary)",
            hello.latest
        ))));
    }
    replication.connected.store(true, Ordering::Relaxed);
    replication.set_applied(hello.latest);
    log::info(
        0,
        format_args!(
            "replication: a standby follows from sequence {} (protocol {}, window {window})",
            hello.latest, hello.protocol
        ),
    );
    let (stream, received) = framed.into_parts();
    let (mut conn, socket) = stream.into_parts();
    // Whole frames are encrypted at once; the socket write is what bounds the sender.
    conn.set_buffer_limit(None);
    let acks_socket = socket.try_clone()?;
    let link = Link {
        tls: Mutex::new(conn),
        acked: AtomicU64::new(hello.latest),
        done: AtomicBool::new(false),
        broken: Mutex::new(None),
    };
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("kefu-replication-acks".into())
            .spawn_scoped(scope, || {
                read_acks(acks_socket, received, &link, replication)
            })?;
        let mut sender = Sender {
            socket,
            link: &link,
            store,
            replication,
            window,
            shipped: hello.latest,
            outstanding: VecDeque::new(),
            last_send: Instant::now(),
        };
        let result = sender.run(stop);
        link.done.store(true, Ordering::SeqCst);
        result
    })
}

/// What the stream's two threads share.
struct Link {
    /// The TLS connection: encrypting (sender) and decrypting (acknowledgements).
    tls: Mutex<ServerConnection>,
    /// The standby's latest acknowledged sequence.
    acked: AtomicU64,
    /// The sender has ended: the reader ends too.
    done: AtomicBool,
    /// Why the reader ended, for the sender to end with.
    broken: Mutex<Option<String>>,
}

impl Link {
    fn tls(&self) -> std::sync::MutexGuard<'_, ServerConnection> {
        self.tls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The shipping side of one stream.
struct Sender<'a> {
    socket: TcpStream,
    link: &'a Link,
    store: &'a RocksStore,
    replication: &'a Replication,
    /// Shipments that may be unacknowledged at once.
    window: usize,
    /// The last sequence sent.
    shipped: u64,
    /// The last sequence and the moment of each unacknowledged shipment, oldest first.
    outstanding: VecDeque<(u64, Instant)>,
    last_send: Instant,
}

impl Sender<'_> {
    fn run(&mut self, stop: &AtomicBool) -> Result<(), StreamError> {
        let feed = self.store.commit_feed();
        let mut draining: Option<Instant> = None;
        // The feed ended right at `shipped` while the store was further: a write
        // between its commit and its push; the next look reads the log if it stays.
        let mut feed_behind = false;
        loop {
            if let Some(why) = self
                .link
                .broken
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
            {
                return Err(StreamError::Io(std::io::Error::other(why)));
            }
            let acked = self.link.acked.load(Ordering::Acquire);
            while self
                .outstanding
                .front()
                .is_some_and(|&(end, _)| end <= acked)
            {
                self.outstanding.pop_front();
            }
            if self
                .outstanding
                .front()
                .is_some_and(|(_, sent)| sent.elapsed() > ANSWER_WITHIN)
            {
                return Err(StreamError::Timeout(ANSWER_WITHIN));
            }
            let latest = self
                .store
                .latest_sequence()
                .map_err(std::io::Error::other)?;
            self.replication
                .primary_latest
                .store(latest, Ordering::Relaxed);
            // A stopping primary (its shards already stopped) still ships what it
            // committed, so that a graceful stop leaves the standby with everything.
            if stop.load(Ordering::Relaxed) {
                let since = *draining.get_or_insert_with(Instant::now);
                if acked >= latest || since.elapsed() > DRAIN {
                    return Err(StreamError::Stopping);
                }
            }
            if latest > self.shipped && self.outstanding.len() < self.window {
                let batches = match feed.take_after(self.shipped, MAX_REPLICA_BATCHES) {
                    Some(b) if !b.is_empty() => b,
                    Some(_) if !feed_behind => {
                        feed_behind = true;
                        self.replication
                            .wait_sender(Duration::from_millis(1), |_| true);
                        continue;
                    }
                    _ => self.read_log()?,
                };
                feed_behind = false;
                self.ship(batches, latest)?;
                continue;
            }
            if self.last_send.elapsed() >= KEEPALIVE {
                self.ship(Vec::new(), latest)?;
                continue;
            }
            let (shipped, room) = (self.shipped, self.outstanding.len() < self.window);
            let (link, stopping) = (self.link, draining.is_some());
            let wait = KEEPALIVE.saturating_sub(self.last_send.elapsed());
            // Asleep until something to ship fits the window, an acknowledgement, a
            // break, or the stop (`u64::MAX` is its signal, not a commit).
            self.replication.wait_sender(wait, |committed| {
                link.broken
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .is_none()
                    && (stopping || !stop.load(Ordering::Relaxed))
                    && link.acked.load(Ordering::Acquire) == acked
                    && !(committed != u64::MAX && committed > shipped && room)
            });
        }
    }

    /// The batches after `shipped` as the write-ahead log holds them.
    fn read_log(&self) -> Result<Vec<LoggedBatch>, StreamError> {
        let after = self.shipped;
        Ok(self
            .store
            .batches_after(after, MAX_REPLICA_BATCHES)
            .map_err(|e| {
                std::io::Error::other(format!(
                    "the standby needs the batches after sequence {after}, which the log \
                     cannot give ({e}); restore it from a backup of this primary"
                ))
            })?)
    }

    /// Sends `batches` (none: a keep-alive) as one `ReplicaBatches`.
    fn ship(&mut self, batches: Vec<LoggedBatch>, latest: u64) -> Result<(), StreamError> {
        let now = Instant::now();
        if let Some(last) = batches.last() {
            self.shipped = last.last_sequence();
            self.outstanding.push_back((self.shipped, now));
        }
        let body = ReplicaBatches {
            batches: batches
                .into_iter()
                .map(|b| ReplicaBatch {
                    sequence: b.sequence,
                    data: b.data,
                })
                .collect(),
            primary_latest: latest,
        };
        let mut frame = BytesMut::new();
        body.write_frame(0, &mut frame);
        let mut wire = Vec::with_capacity(frame.len() + 256);
        {
            let mut tls = self.link.tls();
            tls.writer().write_all(&frame)?;
            while tls.wants_write() {
                tls.write_tls(&mut wire)?;
            }
        }
        self.socket.write_all(&wire)?;
        self.last_send = now;
        Ok(())
    }
}

/// The stream's second thread: reads the standby's cumulative acknowledgements until
/// the sender ends; a break is handed to the sender.
fn read_acks(socket: TcpStream, received: BytesMut, link: &Link, replication: &Replication) {
    if let Err(e) = acks(socket, received, link, replication) {
        *link.broken.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
    }
    replication.wake_sender();
}

fn acks(
    mut socket: TcpStream,
    mut plain: BytesMut,
    link: &Link,
    replication: &Replication,
) -> Result<(), StreamError> {
    let decoder = FrameDecoder::new(MAX_REPLICA_FRAME);
    let mut raw = vec![0u8; 16 << 10];
    let mut chunk = vec![0u8; 16 << 10];
    loop {
        while let Some(frame) = decoder.decode(&mut plain)? {
            if frame.kind != ReplicaApplied::KIND {
                return Err(StreamError::Unexpected(frame.kind as u16));
            }
            let applied = ReplicaApplied::decode(&frame.body)?;
            link.acked.fetch_max(applied.latest, Ordering::AcqRel);
            // Wakes the committers waiting for it and the sender.
            replication.set_applied(applied.latest);
        }
        if link.done.load(Ordering::SeqCst) {
            return Ok(());
        }
        let n = match socket.read(&mut raw) {
            Ok(0) => return Err(StreamError::Closed),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut tls = link.tls();
        let mut input = raw.get(..n).unwrap_or_default();
        while !input.is_empty() {
            tls.read_tls(&mut input)?;
            tls.process_new_packets()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            loop {
                match tls.reader().read(&mut chunk) {
                    Ok(0) => return Err(StreamError::Closed),
                    Ok(got) => plain.extend_from_slice(chunk.get(..got).unwrap_or_default()),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}
