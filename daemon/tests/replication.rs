//! Hot standby (issue 18 point 1, `daemon/CLUSTER.md` §1–3, `wire/PROTOCOL.md` section
//! 40): two daemons on 127.0.0.1, a primary and a standby authenticated to each other by
//! certificates of the pair's CA. Under chat traffic on the primary (acknowledged in
//! `durability = "replicated"`, so only once the standby applied it) the standby's
//! database equals the primary's key for key in every column family once caught up; a
//! standby started late, from an empty directory, catches up from the primary's log;
//! batches that do not follow the standby's latest sequence (a gap) are refused whole
//! and the copy goes on once the missing ones come; the commit feed the primary ships
//! from gives the log's batches byte for byte; a standby speaking the stream's version 1
//! (lockstep) is still served.
//!
//! Run: `cargo test --release -p kefu-daemon --test replication -- --nocapture`.

mod support;

use kefu_daemon::cluster::{apply_batches, ApplyError, ClusterConfig, Role};
use kefu_daemon::config::{Config, DurabilityMode};
use kefu_daemon::store::{
    open_rocks, open_rocks_follower, Batch, Cf, Durability, KvStore, RocksOptions, RocksStore,
};
use kefu_wire::chat::MessageBody;
use kefu_wire::replica::ReplicaBatch;
use kefu_wire::{Request, Response};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::*;

const ACCOUNT: u64 = 881_001;

/// The pair's CA and one certificate per node, naming 127.0.0.1.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        for node in ["primary", "standby"] {
            let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
            std::fs::write(dir.path().join(format!("{node}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{node}.key")), key.serialize_pem()).unwrap();
        }
        Pki { dir }
    }

    fn cluster(&self, role: Role, peer: Option<SocketAddr>) -> ClusterConfig {
        let node = match role {
            Role::Primary => "primary",
            Role::Standby => "standby",
        };
        let file = |name: String| -> PathBuf { self.dir.path().join(name) };
        ClusterConfig {
            role,
            replication_listen: (role == Role::Primary).then(|| "127.0.0.1:0".parse().unwrap()),
            peer,
            certificate: file(format!("{node}.pem")),
            key: file(format!("{node}.key")),
            ca: file("ca.pem".into()),
            etcd: None,
            restart_to_rejoin: false,
        }
    }
}

fn primary(pki: &Pki, durability: DurabilityMode) -> TestServer {
    TestServer::start_with(|c: &mut Config| {
        c.cluster = Some(pki.cluster(Role::Primary, None));
        c.storage.durability = durability;
        c.storage.wal_archive_seconds = 86_400;
    })
}

fn standby(pki: &Pki, primary: &TestServer) -> TestServer {
    standby_over(pki, primary, tempfile::tempdir().expect("tempdir"))
}

/// A standby over `dir` (a new one, or the data directory of a standby stopped before).
fn standby_over(pki: &Pki, primary: &TestServer, dir: tempfile::TempDir) -> TestServer {
    let peer = primary
        .handle()
        .replication_addr()
        .expect("replication address");
    let mut config = Config::for_tests(dir.path());
    config.cluster = Some(pki.cluster(Role::Standby, Some(peer)));
    config.listen = None;
    config.admin_socket = None;
    let handle = kefu_daemon::server::start(config).expect("standby starts");
    TestServer {
        handle: Some(handle),
        dir,
    }
}

/// Polls until the standby has applied everything the primary committed (or panics
/// after a generous deadline).
fn caught_up(primary: &TestServer, standby: &TestServer) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let follower = standby.handle().replication().expect("standby state");
    let leader = primary.handle().replication().expect("primary state");
    loop {
        let target = leader.primary_latest().max(1);
        if follower.applied() >= target && leader.applied() >= target {
            // Nothing committed since: the primary's own latest is what it sent.
            if follower.applied() == leader.primary_latest() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "standby at {} of {} (connected: {})",
            follower.applied(),
            leader.primary_latest(),
            follower.connected()
        );
        std::thread::yield_now();
    }
}

/// Chat on the primary: an agent with auto-accept, `customers` customers sending `n`
/// messages each; returns how many were acknowledged.
fn chat(server: &TestServer, customers: usize, n: usize) -> usize {
    let mut admin = server.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut agent = server.client();
    agent.login(ACCOUNT, 1001, PASSWORD).expect("agent login");
    agent
        .request(&Request::SetAutoAccept { cap: 50 })
        .expect("auto-accept");
    let mut acked = 0;
    for c in 0..customers {
        let mut customer = login_customer(
            server.client(),
            &key,
            ACCOUNT,
            &format!("rep-{c}"),
            now() + 3600,
        );
        let conversation = open(&mut customer).conversation;
        for i in 0..n {
            match customer.request(&Request::SendMessage {
                conversation,
                client_msg_id: i as u64 + 1,
                body: MessageBody::Text(format!("replicated c{c} m{i}")),
            }) {
                Ok(Response::Sent { .. }) => acked += 1,
                other => panic!("customer {c} message {i}: {other:?}"),
            }
        }
    }
    acked
}

fn reopen(dir: &Path) -> RocksStore {
    open_rocks_follower(&dir.join("db"), &RocksOptions::default()).expect("reopen")
}

/// Stops both and compares their databases key for key.
fn stop_and_compare(mut primary: TestServer, mut standby: TestServer) -> usize {
    primary.handle.take().expect("primary").shutdown();
    standby.handle.take().expect("standby").shutdown();
    let (a, b) = (reopen(primary.dir.path()), reopen(standby.dir.path()));
    assert_eq!(a.latest_sequence().unwrap(), b.latest_sequence().unwrap());
    let (a, b) = (dump_store(&a), dump_store(&b));
    assert!(a.len() > 10, "the primary holds data: {}", a.len());
    assert_eq!(a.len(), b.len(), "as many keys on both");
    assert!(a == b, "the standby's database equals the primary's");
    a.len()
}

#[test]
fn a_standby_follows_the_primary_key_for_key_under_replicated_acknowledgements() {
    let pki = Pki::new();
    let primary = primary(&pki, DurabilityMode::Replicated);
    let standby = standby(&pki, &primary);
    let acked = chat(&primary, 4, 50);
    assert_eq!(acked, 200);
    // In replicated mode an acknowledged message is already applied there.
    let follower = standby.handle().replication().unwrap();
    assert!(follower.applied() > 0);
    caught_up(&primary, &standby);
    let keys = stop_and_compare(primary, standby);
    println!("replicated: {acked} messages acknowledged, {keys} keys equal on both");
}

#[test]
fn without_its_standby_a_replicated_primary_acknowledges_nothing_until_it_is_back() {
    let pki = Pki::new();
    let primary = primary(&pki, DurabilityMode::Replicated);
    let mut standby = standby(&pki, &primary);
    assert_eq!(chat(&primary, 1, 5), 5);
    let key = customer_key(&mut primary.admin(), ACCOUNT);
    let mut customer = login_customer(primary.client(), &key, ACCOUNT, "alone", now() + 3600);
    let conversation = open(&mut customer).conversation;
    let send = |c: &mut kefu_wire::Client| {
        c.request(&Request::SendMessage {
            conversation,
            client_msg_id: 77,
            body: MessageBody::Text("while the standby is away".into()),
        })
    };
    // The standby stops: the next message is written on the primary but not
    // acknowledged (the committer waits `cluster::STANDBY_WAIT`, then refuses the turn).
    standby.handle.take().expect("standby").shutdown();
    match send(&mut customer) {
        Err(kefu_wire::ClientError::Server(e)) => {
            assert_eq!(e.code, kefu_wire::ErrorCode::STORAGE_FAILURE, "{e:?}")
        }
        other => panic!("acknowledged without a standby: {other:?}"),
    }
    // Back over its own directory, it catches up; the retry is acknowledged, stored once.
    let dir = std::mem::replace(&mut standby.dir, tempfile::tempdir().unwrap());
    let standby = standby_over(&pki, &primary, dir);
    let mut customer = login_customer(primary.client(), &key, ACCOUNT, "alone", now() + 3600);
    match send(&mut customer) {
        Ok(Response::Sent { .. }) => {}
        other => panic!("the retry: {other:?}"),
    }
    let texts = match customer.request(&Request::ConversationMessages {
        conversation,
        after: 0,
        limit: 100,
    }) {
        Ok(Response::Messages(list)) => list
            .into_iter()
            .filter(|m| m.body == MessageBody::Text("while the standby is away".into()))
            .count(),
        other => panic!("{other:?}"),
    };
    assert_eq!(texts, 1, "stored once");
    caught_up(&primary, &standby);
    stop_and_compare(primary, standby);
}

#[test]
fn a_standby_started_late_from_an_empty_directory_catches_up() {
    let pki = Pki::new();
    let primary = primary(&pki, DurabilityMode::Wal);
    let acked = chat(&primary, 3, 40);
    let standby = standby(&pki, &primary);
    caught_up(&primary, &standby);
    let keys = stop_and_compare(primary, standby);
    println!("late standby: {acked} messages, {keys} keys equal on both");
}

#[test]
fn batches_after_a_gap_are_refused_whole_and_the_copy_goes_on_from_its_latest() {
    let home = tempfile::tempdir().unwrap();
    let opts = RocksOptions {
        wal_archive_seconds: 86_400,
        ..RocksOptions::default()
    };
    let original = open_rocks(&home.path().join("original"), &opts).unwrap();
    let copy = open_rocks_follower(&home.path().join("copy"), &opts).unwrap();
    for i in 0..5u8 {
        let mut batch = Batch::new();
        batch.put(Cf::Meta, &[b'g', i], vec![i; 3]);
        batch.put(Cf::Meta, &[b'h', i], vec![i; 4]);
        original.write(&batch, Durability::Wal).unwrap();
    }
    let batches: Vec<ReplicaBatch> = original
        .batches_after(0, 100)
        .unwrap()
        .into_iter()
        .map(|b| ReplicaBatch {
            sequence: b.sequence,
            data: b.data,
        })
        .collect();
    assert_eq!(batches.len(), 6, "the schema version and five batches");
    // The first two, then a gap: the batches after it are not applied.
    assert_eq!(
        apply_batches(&copy, &batches[..2]).unwrap(),
        batches[2].sequence - 1
    );
    match apply_batches(&copy, &batches[3..]) {
        Err(ApplyError::Gap { expected, got }) => {
            assert_eq!(expected, batches[2].sequence);
            assert_eq!(got, batches[3].sequence);
        }
        other => panic!("a gap must be refused: {other:?}"),
    }
    assert_eq!(copy.latest_sequence().unwrap(), batches[2].sequence - 1);
    assert_eq!(copy.get(Cf::Meta, &[b'g', 2]).unwrap(), None);
    // Asked again from its latest, the copy receives the rest and equals the original.
    let latest = copy.latest_sequence().unwrap();
    let rest: Vec<ReplicaBatch> = batches
        .iter()
        .filter(|b| b.sequence > latest)
        .cloned()
        .collect();
    let end = apply_batches(&copy, &rest).unwrap();
    assert_eq!(end, original.latest_sequence().unwrap());
    assert!(dump_store(&copy) == dump_store(&original));
}

/// The commit feed a primary's sender ships from (`store/commit_feed.rs`) gives exactly
/// the batches the write-ahead log gives, byte for byte and in order, even with two
/// writers committing at once (two shards); a sender that fell behind the feed is told
/// to read the log.
#[test]
fn the_commit_feed_gives_the_batches_of_the_log() {
    let home = tempfile::tempdir().unwrap();
    let opts = RocksOptions {
        wal_archive_seconds: 86_400,
        ..RocksOptions::default()
    };
    let store = std::sync::Arc::new(open_rocks(&home.path().join("db"), &opts).unwrap());
    let start = store.latest_sequence().unwrap();
    let feed = store.commit_feed();
    let writers: Vec<_> = (0..2u8)
        .map(|w| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..200u16 {
                    let mut batch = Batch::new();
                    for k in 0..=(i % 3) {
                        let key = [&[w], &i.to_be_bytes()[..], &k.to_be_bytes()[..]].concat();
                        batch.put(Cf::Messages, &key, vec![w; 50]);
                    }
                    store.write(&batch, Durability::Wal).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let from_log = store.batches_after(start, 1_000).unwrap();
    assert_eq!(from_log.len(), 400);
    let from_feed = feed
        .take_after(start, 1_000)
        .expect("the feed holds them all");
    assert!(from_feed == from_log, "the feed's batches are the log's");
    assert_eq!(
        from_feed.last().unwrap().last_sequence(),
        store.latest_sequence().unwrap()
    );
    assert_eq!(
        feed.take_after(store.latest_sequence().unwrap(), 10),
        Some(Vec::new())
    );
    assert_eq!(
        feed.take_after(start, 10),
        None,
        "taken: the log is the way back"
    );
}

/// A standby of the older release says stream version 1 (lockstep): the primary still
/// serves it — the batches in order, each answered by its acknowledgement — until it
/// has caught up, and records its acknowledgement as the standby's applied sequence.
#[test]
fn a_standby_speaking_stream_version_1_is_still_served() {
    use kefu_wire::replica::{
        ReplicaApplied, ReplicaBatches, ReplicaHello, MAX_REPLICA_FRAME, REPLICA_PROTOCOL_LOCKSTEP,
    };
    use kefu_wire::{Body, FrameDecoder};
    use std::io::{Read, Write};
    let pki = Pki::new();
    let mut primary = primary(&pki, DurabilityMode::Wal);
    assert_eq!(chat(&primary, 2, 10), 20);
    let addr = primary
        .handle()
        .replication_addr()
        .expect("replication address");
    let pem = |name: &str| {
        std::io::BufReader::new(std::fs::File::open(pki.dir.path().join(name)).unwrap())
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem("ca.pem")) {
        roots.add(cert.unwrap()).unwrap();
    }
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem("standby.pem"))
        .map(Result::unwrap)
        .collect();
    let key = rustls_pemfile::private_key(&mut pem("standby.key"))
        .unwrap()
        .unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(certs, key)
    .unwrap();
    let socket = std::net::TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(tls), name).unwrap();
    let mut stream = rustls::StreamOwned::new(conn, socket);
    let send = |stream: &mut rustls::StreamOwned<_, _>, body: &dyn Fn(&mut bytes::BytesMut)| {
        let mut out = bytes::BytesMut::new();
        body(&mut out);
        stream.write_all(&out).unwrap();
        stream.flush().unwrap();
    };
    send(&mut stream, &|out| {
        ReplicaHello {
            protocol: REPLICA_PROTOCOL_LOCKSTEP,
            latest: 0,
        }
        .write_frame(0, out)
    });
    let home = tempfile::tempdir().unwrap();
    let copy = open_rocks_follower(&home.path().join("copy"), &RocksOptions::default()).unwrap();
    let decoder = FrameDecoder::new(MAX_REPLICA_FRAME);
    let mut buf = bytes::BytesMut::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let caught_up_at = loop {
        assert!(Instant::now() < deadline, "the old standby never caught up");
        let frame = loop {
            if let Some(frame) = decoder.decode(&mut buf).unwrap() {
                break frame;
            }
            let mut chunk = [0u8; 16 << 10];
            let n = stream
                .read(&mut chunk)
                .expect("the primary serves version 1");
            assert!(n > 0, "the primary closed the stream");
            buf.extend_from_slice(&chunk[..n]);
        };
        assert_eq!(frame.kind, ReplicaBatches::KIND);
        let got = ReplicaBatches::decode(&frame.body).unwrap();
        let latest = apply_batches(&copy, &got.batches).unwrap();
        send(&mut stream, &|out| {
            ReplicaApplied { latest }.write_frame(0, out)
        });
        if latest > 0 && latest >= got.primary_latest {
            break latest;
        }
    };
    let leader = primary.handle().replication().expect("primary state");
    while leader.applied() < caught_up_at {
        assert!(
            Instant::now() < deadline,
            "the primary never took the acknowledgement"
        );
        std::thread::yield_now();
    }
    drop(stream);
    primary.handle.take().expect("primary").shutdown();
    let original = reopen(primary.dir.path());
    let (copied, original) = (dump_store(&copy), dump_store(&original));
    assert!(
        copied.len() > 10,
        "the copy holds the chat: {}",
        copied.len()
    );
    for entry in &copied {
        assert!(
            original.contains(entry),
            "the copy holds only the primary's data"
        );
    }
}
