//! Starting and stopping the daemon: store, worker pool, listeners, shards.
//!
//! This is what `kefud`'s `main` calls, and what tests embed: [`start`]
//! returns once every listener is bound, with the real addresses (port 0 in
//! the config becomes the port the kernel chose).

use crate::config::{Config, DurabilityMode, RuntimeSettings};
use crate::log;
use crate::shard::{Listeners, Shard, ShardLink, ShardMsg, Shared};
use crate::stats::ShardCounters;
use crate::store::rocks::{open_rocks, open_rocks_follower, RocksOptions, RocksStore};
use crate::store::{Durability, KvStore};
use crate::worker::WorkerPool;
use mio::{Poll, Waker};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// Token the waker is registered with (see `shard`).
const WAKER_TOKEN: mio::Token = mio::Token(0);
/// Listen backlog; the kernel caps it at somaxconn (4096 here).
const BACKLOG: i32 = 4096;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The pair's replication could not start (`[cluster]`).
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// The data directory or store could not be opened.
    #[error("storage: {0}")]
    Store(#[from] crate::store::StoreError),
    /// TLS certificate or key problem.
    #[error("tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// `[web] regions_file` cannot be used (the message names the line).
    #[error(transparent)]
    Regions(#[from] crate::regions::RegionsError),
    /// Binding a listener or spawning a thread failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> StartError {
    let what = what.into();
    move |source| StartError::Io { what, source }
}

/// A running daemon.
pub struct ServerHandle {
    links: Vec<ShardLink>,
    threads: Vec<JoinHandle<()>>,
    workers: Option<WorkerPool>,
    counters: Vec<Arc<ShardCounters>>,
    tcp_addr: Option<SocketAddr>,
    tls_addr: Option<SocketAddr>,
    web_addr: Option<SocketAddr>,
    admin_socket: Option<PathBuf>,
    pid_file: Option<PathBuf>,
    metrics: Option<crate::metrics::HttpListener>,
    /// The replication thread of a pair (`[cluster]`).
    cluster: Option<crate::cluster::ClusterHandle>,
    /// A standby with `[cluster.etcd]`: the serving daemon its promotion started.
    promoted: Option<Arc<std::sync::Mutex<Option<ServerHandle>>>>,
    /// With `[cluster.etcd]`: the thread that copies the accounts directory.
    directory: Option<crate::cluster::directory::DirectoryHandle>,
    /// A standby's read-only shards: the thread that evicts the accounts the applied
    /// batches wrote (`standby_reads.rs`).
    freshness: Option<crate::standby_reads::FreshnessHandle>,
}

impl ServerHandle {
    /// The metrics HTTP listener's address actually bound (`metrics_listen`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .map(crate::metrics::HttpListener::addr)
    }

    /// The plain-TCP address actually bound (a standby's read-only shards', then once
    /// promoted its primary shards').
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr.or_else(|| {
            self.promoted.as_ref().and_then(|p| {
                p.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .as_ref()
                    .and_then(ServerHandle::tcp_addr)
            })
        })
    }

    /// The leadership state of a member of a pair with `[cluster.etcd]`.
    pub fn leadership(&self) -> Option<Arc<crate::cluster::Leadership>> {
        self.cluster
            .as_ref()
            .and_then(|c| c.leadership().map(Arc::clone))
    }

    /// The TLS address actually bound.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The web gateway's address actually bound (`web_listen`), if any.
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web_addr
    }

    /// The admin socket's path.
    pub fn admin_socket(&self) -> Option<PathBuf> {
        self.admin_socket.clone()
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.links.len()
    }

    /// The pair's replication state (`[cluster]`), if this appliance is in a pair.
    pub fn replication(&self) -> Option<&Arc<crate::cluster::Replication>> {
        self.cluster.as_ref().map(|c| c.replication())
    }

    /// The primary's bound replication address (`[cluster] replication_listen`).
    pub fn replication_addr(&self) -> Option<SocketAddr> {
        self.cluster.as_ref().and_then(|c| c.replication_addr())
    }

    /// The counters of shard `i` (for tests and diagnostics).
    pub fn counters(&self, i: usize) -> Option<&ShardCounters> {
        self.counters.get(i).map(Arc::as_ref)
    }

    /// Applies new runtime settings (and a new TLS certificate) to every shard.
    pub fn reload(&self, settings: RuntimeSettings, tls: Option<Arc<rustls::ServerConfig>>) {
        let settings = Arc::new(settings);
        for link in &self.links {
            link.send(ShardMsg::Reload(Arc::clone(&settings), tls.clone()));
        }
    }

    /// Tells the shards to stop: they close their listeners at once and say goodbye to
    /// their connections (`SHUTTING_DOWN`); [`ServerHandle::shutdown`] waits for them.
    fn begin_shutdown(&self) {
        for link in &self.links {
            link.send(ShardMsg::Shutdown);
        }
    }

    /// Graceful stop: shards stop accepting, say goodbye, flush and exit;
    /// then the worker pool stops and the store is closed.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(mut m) = self.metrics.take() {
            m.stop();
        }
        for link in &self.links {
            link.send(ShardMsg::Shutdown);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(mut f) = self.freshness.take() {
            f.stop();
        }
        if let Some(mut c) = self.cluster.take() {
            c.stop();
        }
        if let Some(mut d) = self.directory.take() {
            d.stop();
        }
        if let Some(p) = self.promoted.take() {
            let inner = p
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(inner) = inner {
                inner.shutdown();
            }
        }
        if let Some(w) = self.workers.take() {
            w.shutdown();
        }
        if let Some(p) = self.admin_socket.take() {
            let _ = std::fs::remove_file(p);
        }
        if let Some(p) = self.pid_file.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Opens the store, binds every listener and starts the shards.
pub fn start(config: Config) -> Result<ServerHandle, StartError> {
    start_with_clock(config, Arc::new(crate::clock::SystemClock))
}

/// Creates the data directory and opens the store in it (a standby's writes nothing of
/// its own: `open_rocks_follower`).
fn open_store(config: &Config) -> Result<Arc<RocksStore>, StartError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(io_err(format!("creating {}", config.data_dir.display())))?;
    let open = if config.is_standby() {
        open_rocks_follower
    } else {
        open_rocks
    };
    Ok(Arc::new(open(
        &config.data_dir.join("db"),
        &RocksOptions {
            max_open_files: config.storage.max_open_files,
            block_cache_bytes: config.storage.block_cache_mb << 20,
            backup_dir: Some(config.backup_path()),
            wal_archive_seconds: config.storage.wal_archive_seconds,
            ..RocksOptions::default()
        },
    )?))
}

/// Each shard's poll, the link other threads reach it by, and its inbox.
#[allow(clippy::type_complexity)] // three parallel lists, consumed together by start
fn shard_polls(
    n: usize,
) -> Result<
    (
        Vec<Poll>,
        Vec<ShardLink>,
        Vec<std::sync::mpsc::Receiver<ShardMsg>>,
    ),
    StartError,
> {
    let mut polls = Vec::with_capacity(n);
    let mut links = Vec::with_capacity(n);
    let mut inboxes = Vec::with_capacity(n);
    for i in 0..n {
        let poll = Poll::new().map_err(io_err("creating poll"))?;
        let waker =
            Waker::new(poll.registry(), WAKER_TOKEN).map_err(io_err(format!("waker {i}")))?;
        let (tx, rx) = channel();
        links.push(ShardLink {
            tx,
            waker: Arc::new(waker),
        });
        inboxes.push(rx);
        polls.push(poll);
    }
    Ok((polls, links, inboxes))
}

/// The TLS settings of the TLS port and of a TLS web gateway, when either is configured.
fn tls_server_config(config: &Config) -> Result<Option<Arc<rustls::ServerConfig>>, StartError> {
    let wants_tls = config.tls_listen.is_some() || (config.web_listen.is_some() && config.web.tls);
    Ok(match (wants_tls, &config.tls_cert, &config.tls_key) {
        (true, Some(cert), Some(key)) => Some(crate::tls::server_config(cert, key)?),
        _ => None,
    })
}

/// The address-to-region table of `[web] regions_file` (empty without one).
fn load_regions(config: &Config) -> Result<Arc<crate::regions::RegionTable>, StartError> {
    Ok(Arc::new(match &config.web.regions_file {
        Some(path) => crate::regions::RegionTable::load(path)?,
        None => crate::regions::RegionTable::default(),
    }))
}

/// [`start`] with an injected clock (tests set the time instead of waiting).
pub fn start_with_clock(
    config: Config,
    clock: Arc<dyn crate::clock::Clock>,
) -> Result<ServerHandle, StartError> {
    config.validate()?;
    raise_fd_limit();
    let mut config = config;
    if let Some(cluster) = config.cluster.as_mut() {
        // Another node leads: this member starts as its standby (`cluster/rejoin.rs`).
        crate::cluster::prepare_rejoin(cluster, &config.data_dir)
            .map_err(|e| crate::cluster::ClusterError::Io(e.to_string()))?;
    }
    let clock = operator_clock(&config, clock);
    let tls_config = tls_server_config(&config)?;
    let rocks = open_store(&config)?;
    if config.is_standby() {
        return standby(config, clock, tls_config, rocks);
    }
    let cluster = start_cluster(&config, &rocks, None)?;
    let hook = replication_hook(&config, &cluster);
    serve(config, clock, tls_config, rocks, cluster, hook, None)
}

/// A standby: its replication (and, with `[cluster.etcd]`, leadership) thread, whose
/// promotion starts [`serve`] over the same store with the lease as fence. Configured
/// `replicated` with a `replication_listen`, the promoted member serves its own standby
/// (the old primary, once it rejoins) and acknowledges only what that standby applied
/// (or, after `kefuctl cluster promote --alone`, with one copy); otherwise it runs in
/// wal durability with no standby of its own.
fn standby(
    config: Config,
    clock: Arc<dyn crate::clock::Clock>,
    tls_config: Option<Arc<rustls::ServerConfig>>,
    rocks: Arc<RocksStore>,
) -> Result<ServerHandle, StartError> {
    let slot = Arc::new(std::sync::Mutex::new(None));
    // The standby's metrics (its replication lag, the store's figures); its promotion
    // keeps the listener and points it at the shards it starts.
    let metrics_sources: crate::metrics::SharedSources =
        Arc::new(std::sync::Mutex::new(crate::metrics::Sources {
            counters: Vec::new(),
            store: Arc::clone(&rocks) as Arc<dyn KvStore>,
            started: Instant::now(),
            replication: None,
        }));
    // Until the promotion its client ports serve read-only sessions and send everyone
    // else to the primary (started before the follower, so no promotion can come first).
    *slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) =
        serve_standby_reads(&config, Arc::clone(&clock), tls_config.clone(), &rocks)?;
    let promote: crate::cluster::Promote = {
        let (config, rocks, slot) = (config.clone(), Arc::clone(&rocks), Arc::clone(&slot));
        let metrics_sources = Arc::clone(&metrics_sources);
        Box::new(move |leadership| {
            let reads = stop_standby_reads(&slot);
            let mut config = config;
            let listen = config
                .cluster
                .as_ref()
                .filter(|c| c.replication_listen.is_some());
            let own_standby = match listen {
                Some(c) if config.storage.durability == DurabilityMode::Replicated => Some(
                    crate::cluster::start_listener(c, Arc::clone(&rocks))
                        .map_err(|e| e.to_string())?,
                ),
                _ => None,
            };
            let state = own_standby.as_ref().map_or_else(
                || Arc::new(crate::cluster::Replication::default()),
                |c| Arc::clone(c.replication()),
            );
            let hook_has_standby = own_standby.is_some();
            let hook = crate::cluster::ReplicationHook {
                state: Arc::clone(&state),
                wait_for_standby: hook_has_standby,
                leadership: Some(leadership),
            };
            if own_standby.is_none() {
                config.storage.durability = DurabilityMode::Wal;
            }
            // Bound already, by the standby.
            config.metrics_listen = None;
            let store: Arc<dyn KvStore> = Arc::clone(&rocks) as Arc<dyn KvStore>;
            let handle = serve(
                config,
                clock,
                tls_config,
                rocks,
                own_standby,
                Some(hook),
                None,
            )
            .map_err(|e| e.to_string())?;
            {
                let mut sources = metrics_sources
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                // Replication series only while it has a standby of its own.
                *sources = crate::metrics::Sources {
                    counters: handle.counters.clone(),
                    store,
                    started: sources.started,
                    replication: hook_has_standby.then(|| Arc::clone(&state)),
                };
            }
            if let Some(reads) = reads {
                join_in_background(reads);
            }
            log::info(
                0,
                format_args!(
                    "promoted: serving on {}",
                    handle.tcp_addr.map_or("-".into(), |a| a.to_string())
                ),
            );
            *slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(handle);
            Ok(state)
        })
    };
    let cluster = start_cluster(&config, &rocks, Some(promote))?;
    let replication = cluster.as_ref().map(|c| Arc::clone(c.replication()));
    metrics_sources
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .replication = replication;
    let metrics = match config.metrics_listen {
        Some(addr) => Some(
            crate::metrics::HttpListener::start_shared(addr, metrics_sources)
                .map_err(io_err(format!("binding metrics_listen {addr}")))?,
        ),
        None => None,
    };
    let mut handle = standby_handle(&config, cluster);
    handle.metrics = metrics;
    handle.promoted = Some(slot);
    Ok(handle)
}

/// A promotion's first step: the standby's read-only shards (in `slot`) give the client
/// ports up — they close their listeners and tell their sessions `SHUTTING_DOWN`
/// (clients log in again, on this member now). Nobody waits for their goodbyes to be
/// read: the handle is joined later ([`join_in_background`]).
fn stop_standby_reads(slot: &std::sync::Mutex<Option<ServerHandle>>) -> Option<ServerHandle> {
    let reads = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(reads) = &reads {
        reads.begin_shutdown();
    }
    reads
}

/// Waits for `handle`'s shards to finish their goodbyes on a thread of its own.
fn join_in_background(handle: ServerHandle) {
    let joined = std::thread::Builder::new()
        .name("kefu-reads-stop".into())
        .spawn(move || handle.shutdown());
    if let Err(e) = joined {
        log::warn(0, format_args!("the read-only shards' stop: {e}"));
    }
}

/// A standby's read-only shards on its client ports (`listen`, `tls_listen`; none
/// configured: none started), over the store with every write refused, and the thread
/// that keeps their accounts fresh (`standby_reads.rs`). No admin socket, metrics,
/// web gateway or pid file: those are the promoted member's.
fn serve_standby_reads(
    config: &Config,
    clock: Arc<dyn crate::clock::Clock>,
    tls_config: Option<Arc<rustls::ServerConfig>>,
    rocks: &Arc<RocksStore>,
) -> Result<Option<ServerHandle>, StartError> {
    if config.listen.is_none() && config.tls_listen.is_none() {
        return Ok(None);
    }
    let mut reads_config = config.clone();
    reads_config.admin_socket = None;
    reads_config.pid_file = None;
    reads_config.metrics_listen = None;
    reads_config.web_listen = None;
    reads_config.storage.durability = DurabilityMode::Wal;
    let reads = Arc::new(crate::standby_reads::StandbyReads::new(
        config.standby.primary_client_addr,
    ));
    // Read before any shard may load an account: later batches are the thread's.
    let from = rocks.latest_sequence().unwrap_or(0);
    let store = Arc::new(crate::standby_reads::ReadOnlyStore(
        Arc::clone(rocks) as Arc<dyn KvStore>
    ));
    let mut handle = serve(
        reads_config,
        clock,
        tls_config,
        store,
        None,
        None,
        Some(Arc::clone(&reads)),
    )?;
    handle.freshness = Some(
        crate::standby_reads::follow(Arc::clone(rocks), handle.links.clone(), reads, from)
            .map_err(io_err("starting the standby's freshness thread"))?,
    );
    log::info(
        0,
        format_args!(
            "standby: read-only sessions on {}; other logins sent to the primary",
            handle.tcp_addr.map_or("-".into(), |a| a.to_string())
        ),
    );
    Ok(Some(handle))
}

/// Binds the client listeners and starts the shards over `store`; `standby`: a
/// standby's read-only shards.
fn serve(
    config: Config,
    clock: Arc<dyn crate::clock::Clock>,
    tls_config: Option<Arc<rustls::ServerConfig>>,
    store: Arc<dyn KvStore>,
    cluster: Option<crate::cluster::ClusterHandle>,
    hook: Option<crate::cluster::ReplicationHook>,
    standby: Option<Arc<crate::standby_reads::StandbyReads>>,
) -> Result<ServerHandle, StartError> {
    let n = config.shard_count();
    let workers =
        WorkerPool::start(config.hash_worker_count()).map_err(io_err("starting workers"))?;
    let (polls, links, inboxes) = shard_polls(n)?;

    // Every shard gets its own listening socket in one SO_REUSEPORT group:
    // the kernel spreads new connections over the shards, with no acceptor thread.
    let (tcp, tcp_addr) = bind_group(config.listen, n, "listen")?;
    let (tls, tls_addr) = bind_group(config.tls_listen, n, "tls_listen")?;
    let (web, web_addr) = bind_group(config.web_listen, n, "web_listen")?;
    let web_shared = crate::web::WebShared::new(config.web.settings());
    let admin = match &config.admin_socket {
        Some(path) => Some(bind_admin(path)?),
        None => None,
    };

    let counters: Vec<_> = (0..n).map(|_| Arc::new(ShardCounters::default())).collect();
    let (placement, directory) = start_directory(&config)?;
    let shared = Arc::new(Shared {
        placement,
        standby,
        counters: counters.clone(),
        store,
        workers: workers.submitter(),
        started: Instant::now(),
        durability: match config.storage.durability {
            DurabilityMode::Wal | DurabilityMode::Replicated => Durability::Wal,
            DurabilityMode::Fsync => Durability::Fsync,
        },
        replication: hook,
        token_key: Some(Arc::new(load_or_create_token_key(
            &config.token_key_path(),
        )?)),
        clock,
        address_throttle: std::sync::Mutex::new(crate::throttle::Throttle::new(
            config.runtime().address_throttle,
        )),
        files: Some(Arc::new(crate::file_store::FileStore::new(
            config.data_dir.join("files"),
            config.files.max_file_bytes,
            config.files.account_quota_bytes,
        ))),
        regions: load_regions(&config)?,
    });
    let settings = Arc::new(config.runtime());
    let mut tcp = tcp.into_iter();
    let (mut tls, mut web) = (tls.into_iter(), web.into_iter());
    let mut admin = admin;
    let mut threads = Vec::with_capacity(n);
    let all_links = Arc::new(links.clone());
    for (i, (poll, inbox)) in polls.into_iter().zip(inboxes).enumerate() {
        let listeners = Listeners {
            tcp: tcp.next(),
            tls: tls.next(),
            admin: if i == 0 { admin.take() } else { None },
            web: web.next(),
            web_shared: Some(Arc::clone(&web_shared)),
        };
        let shard = Shard::new(
            i,
            poll,
            Arc::clone(&all_links),
            Arc::clone(&shared),
            inbox,
            listeners,
            tls_config.clone(),
            Arc::clone(&settings),
        )
        .map_err(io_err(format!("registering listeners of shard {i}")))?;
        threads.push(
            std::thread::Builder::new()
                .name(format!("kefu-shard-{i}"))
                .spawn(move || shard.run())
                .map_err(io_err("spawning shard"))?,
        );
    }
    let metrics = start_metrics(
        &config,
        crate::metrics::Sources {
            counters: counters.clone(),
            store: Arc::clone(&shared.store),
            started: shared.started,
            replication: cluster.as_ref().map(|c| Arc::clone(c.replication())),
        },
    )?;
    write_pid(&config)?;
    log::info(
        0,
        format_args!(
            "started: {n} shards, data {}, durability {:?}",
            config.data_dir.display(),
            config.storage.durability
        ),
    );
    Ok(ServerHandle {
        links,
        threads,
        workers: Some(workers),
        counters,
        tcp_addr,
        tls_addr,
        web_addr,
        admin_socket: config.admin_socket.clone(),
        pid_file: config.pid_file.clone(),
        metrics,
        cluster,
        promoted: None,
        directory,
        freshness: None,
    })
}

/// Where accounts are served, and with `[cluster.etcd]` the thread that keeps the
/// directory's copy (read once before the shards serve anything).
fn start_directory(
    config: &Config,
) -> Result<
    (
        Arc<crate::cluster::placement::Placement>,
        Option<crate::cluster::directory::DirectoryHandle>,
    ),
    StartError,
> {
    let Some(etcd) = config.cluster.as_ref().and_then(|c| c.etcd.as_ref()) else {
        return Ok((Default::default(), None));
    };
    let placement = Arc::new(crate::cluster::placement::Placement::of_member(
        etcd.pair.clone(),
        etcd.node.clone(),
    ));
    let handle = crate::cluster::directory::start(etcd, Arc::clone(&placement))
        .map_err(io_err("starting the accounts directory thread"))?;
    Ok((placement, Some(handle)))
}

/// Writes the pid file (`pid_file`), if configured.
fn write_pid(config: &Config) -> Result<(), StartError> {
    if let Some(p) = &config.pid_file {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .map_err(io_err(format!("writing pid file {}", p.display())))?;
    }
    Ok(())
}

/// The metrics listener (`metrics_listen`), if configured.
fn start_metrics(
    config: &Config,
    sources: crate::metrics::Sources,
) -> Result<Option<crate::metrics::HttpListener>, StartError> {
    match config.metrics_listen {
        Some(addr) => Ok(Some(
            crate::metrics::HttpListener::start(addr, sources)
                .map_err(io_err(format!("binding metrics_listen {addr}")))?,
        )),
        None => Ok(None),
    }
}

/// The replication thread of a pair's member (`[cluster]`), if any.
fn start_cluster(
    config: &Config,
    rocks: &Arc<RocksStore>,
    promote: Option<crate::cluster::Promote>,
) -> Result<Option<crate::cluster::ClusterHandle>, StartError> {
    match &config.cluster {
        Some(c) => Ok(Some(crate::cluster::start(c, Arc::clone(rocks), promote)?)),
        None => Ok(None),
    }
}

/// What the shards' committers hold of the pair, on a primary.
fn replication_hook(
    config: &Config,
    cluster: &Option<crate::cluster::ClusterHandle>,
) -> Option<crate::cluster::ReplicationHook> {
    cluster.as_ref().map(|c| crate::cluster::ReplicationHook {
        state: Arc::clone(c.replication()),
        wait_for_standby: config.storage.durability == DurabilityMode::Replicated,
        leadership: c.leadership().map(Arc::clone),
    })
}

/// A standby: its replication thread — no admin socket until promoted; its read-only
/// shards on the client ports and its metrics listener are added by [`standby`]
/// (`daemon/CLUSTER.md` §5).
fn standby_handle(config: &Config, cluster: Option<crate::cluster::ClusterHandle>) -> ServerHandle {
    if let Err(e) = write_pid(config) {
        log::warn(0, format_args!("{e}"));
    }
    log::info(
        0,
        format_args!("started as standby: data {}", config.data_dir.display()),
    );
    ServerHandle {
        links: Vec::new(),
        threads: Vec::new(),
        workers: None,
        counters: Vec::new(),
        tcp_addr: None,
        tls_addr: None,
        web_addr: None,
        admin_socket: None,
        pid_file: config.pid_file.clone(),
        metrics: None,
        cluster,
        promoted: None,
        directory: None,
        freshness: None,
    }
}

/// The clock the shards read: `clock` itself, or with `[test] clock_control` a
/// [`TestClock`](crate::clock::TestClock) over it that the operator may move forward.
fn operator_clock(
    config: &Config,
    clock: Arc<dyn crate::clock::Clock>,
) -> Arc<dyn crate::clock::Clock> {
    if !config.test.clock_control {
        return clock;
    }
    log::warn(
        0,
        format_args!(
            "TEST CLOCK ENABLED ([test] clock_control = true): the operator may move this \
             daemon's clock forward with `kefuctl clock`. Never run production like this."
        ),
    );
    Arc::new(crate::clock::TestClock::new(clock))
}

/// Binds `n` listeners to one address with SO_REUSEPORT. With port 0, the
/// first bind picks the port and the others join it.
fn bind_group(
    addr: Option<SocketAddr>,
    n: usize,
    what: &str,
) -> Result<(Vec<mio::net::TcpListener>, Option<SocketAddr>), StartError> {
    let Some(mut addr) = addr else {
        return Ok((Vec::new(), None));
    };
    let mut listeners = Vec::with_capacity(n);
    for _ in 0..n {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )
        .map_err(io_err(format!("{what} socket")))?;
        socket.set_reuse_address(true).map_err(io_err(what))?;
        socket.set_reuse_port(true).map_err(io_err(what))?;
        socket.set_nonblocking(true).map_err(io_err(what))?;
        socket
            .bind(&addr.into())
            .map_err(io_err(format!("{what}: binding {addr}")))?;
        socket.listen(BACKLOG).map_err(io_err(what))?;
        let std_listener: std::net::TcpListener = socket.into();
        if addr.port() == 0 {
            addr = std_listener.local_addr().map_err(io_err(what))?;
        }
        listeners.push(mio::net::TcpListener::from_std(std_listener));
    }
    Ok((listeners, Some(addr)))
}

/// Reads the key that seals token seeds, creating a random one (mode 0600)
/// the first time. Losing it makes imported tokens unusable: back it up.
fn load_or_create_token_key(path: &Path) -> Result<crate::otp::sealed::SealingKey, StartError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let bad = |reason: String| StartError::Io {
        what: format!("token key {}", path.display()),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, reason),
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            crate::otp::sealed::SealingKey::from_hex(text.trim()).map_err(|e| bad(e.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; crate::otp::sealed::KEY_LEN];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key)
                .map_err(|_| bad("no randomness".into()))?;
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io_err(format!("creating token key {}", path.display())))?;
            file.write_all(format!("{hex}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(io_err(format!("writing token key {}", path.display())))?;
            crate::otp::sealed::SealingKey::from_bytes(&key).map_err(|e| bad(e.to_string()))
        }
        Err(e) => Err(io_err(format!("reading token key {}", path.display()))(e)),
    }
}

/// Binds the admin socket with mode 0600, replacing a stale socket file.
fn bind_admin(path: &Path) -> Result<mio::net::UnixListener, StartError> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    }
    if path.exists() {
        // A live daemon answers; a stale file from a crash does not.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(StartError::Io {
                what: format!("admin socket {}", path.display()),
                source: std::io::Error::new(
                    std::io::ErrorKind::AddrInUse,
                    "another kefud is listening there",
                ),
            });
        }
        let _ = std::fs::remove_file(path);
    }
    let listener = mio::net::UnixListener::bind(path)
        .map_err(io_err(format!("binding admin socket {}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(io_err("chmod admin socket"))?;
    Ok(listener)
}

/// Raises the soft open-file limit to the hard limit: every connection is a descriptor.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
