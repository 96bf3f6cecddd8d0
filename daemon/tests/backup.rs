//! Online backup and restore (issue 12 point 5, wire/PROTOCOL.md section 21), against
//! `kefud` processes: customers send messages while the operator takes a backup on
//! the admin socket; the backup, restored with `kefud --restore` into an empty data
//! directory, holds every message acknowledged before the backup was asked for, and of
//! each customer's messages a prefix of the order they were sent in (one instant, no
//! holes); rolled forward over every batch the daemon committed after it (read back
//! from the daemon's write-ahead log), the same backup equals the daemon's database key
//! by key in every column family; a backup taken with no client connected restores to a database identical
//! key by key, in every column family, to the one the daemon left when it stopped.
//! `AdminBackupVerify` reads every key back; a backup that does not exist, and a
//! restore into a data directory that is not empty, are refused.
//!
//! Run: `cargo test --release -p kefu-daemon --test backup -- --nocapture`.

mod support;

use kefu_daemon::store::{open_rocks, Cf, RocksOptions, RocksStore};
use kefu_wire::chat::{ConversationState, Entry, MessageBody, Party};
use kefu_wire::{BackupInfo, Client, ClientError, ErrorCode, Request, Response};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use support::*;

const ACCOUNT: u64 = 880_001;
const CUSTOMERS: usize = 4;
/// Messages each customer has acknowledged before the backup is asked for.
const BEFORE_BACKUP: usize = 150;
/// A customer stops here even if the backup has not answered yet.
const MAX_PER_CUSTOMER: usize = 5_000;

fn text(customer: usize, i: usize) -> String {
    format!("backup-load c{customer} m{i}")
}

fn parse(t: &str) -> Option<(usize, usize)> {
    let rest = t.strip_prefix("backup-load c")?;
    let (c, i) = rest.split_once(" m")?;
    Some((c.parse().ok()?, i.parse().ok()?))
}

/// What each customer thread has seen acknowledged, in send order.
type Ledger = Arc<Mutex<Vec<Vec<usize>>>>;

fn backup(admin: &mut Client, request: Request) -> BackupInfo {
    match admin.request(&request) {
        Ok(Response::Backup(b)) => b,
        other => panic!("{}: {other:?}", request.name()),
    }
}

/// Every customer message of `conversation`, by (customer, index), paging by id.
fn conversation_texts(agent: &mut Client, conversation: u64) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = match agent.request(&Request::ConversationMessages {
            conversation,
            after,
            limit: 500,
        }) {
            Ok(Response::Messages(list)) => list,
            other => panic!("ConversationMessages: {other:?}"),
        };
        let Some(last) = page.last() else {
            return out;
        };
        after = last.id;
        for m in page {
            if let (Party::Customer, MessageBody::Text(t)) = (m.from, &m.body) {
                out.push(parse(t).unwrap_or_else(|| panic!("unexpected text {t:?}")));
            }
        }
    }
}

/// How long the daemon under test keeps flushed write-ahead logs: the whole test.
const WAL_ARCHIVE: &str = "[storage]\nwal_archive_seconds = 86400";

/// Opens the store in `db` the way the daemon under test does (archived logs kept).
fn open_copy(db: &Path) -> RocksStore {
    let options = RocksOptions {
        wal_archive_seconds: 86_400,
        ..RocksOptions::default()
    };
    open_rocks(db, &options).expect("open a copy")
}

/// Every (column family, key, value) of the store in `db`, in order.
fn dump(db: &Path) -> Vec<(Cf, Vec<u8>, Vec<u8>)> {
    dump_store(&open_copy(db))
}

/// Applies to `copy` every batch `original` committed after `copy`'s last one, in order;
/// returns `copy`'s sequence before and the number of batches applied.
fn roll_forward(copy: &RocksStore, original: &RocksStore) -> (u64, usize) {
    let point = copy.latest_sequence().expect("sequence of the copy");
    let end = original
        .latest_sequence()
        .expect("sequence of the original");
    assert!(point <= end, "the copy is ahead of the original");
    let mut applied = 0;
    while copy.latest_sequence().expect("sequence") < end {
        let at = copy.latest_sequence().expect("sequence");
        let batches = original
            .batches_after(at, 1_024)
            .expect("the original's log");
        for batch in batches {
            let at = copy.latest_sequence().expect("sequence");
            assert_eq!(batch.sequence, at + 1, "the copy and the log diverge");
            copy.apply_logged(&batch).expect("apply a logged batch");
            applied += 1;
        }
    }
    assert_eq!(copy.latest_sequence().expect("sequence"), end);
    (point, applied)
}

/// `kefud --config CONFIG --restore [--backup-id ID]`: (success, stderr).
fn restore(config: &Path, id: Option<u32>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kefud"));
    cmd.arg("--config").arg(config).arg("--restore");
    if let Some(id) = id {
        cmd.arg("--backup-id").arg(id.to_string());
    }
    let out = cmd.output().expect("run kefud --restore");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Stops `daemon` with SIGTERM and waits for it to exit.
fn stop(mut daemon: DaemonProcess) {
    daemon.signal(libc::SIGTERM);
    let status = daemon.child.wait().expect("wait kefud");
    assert!(status.success(), "kefud exited with {status}");
}

#[test]
fn a_backup_taken_under_load_restores_the_acknowledged_state() {
    let home = tempfile::tempdir().expect("tempdir");
    let config = write_config(home.path(), WAL_ARCHIVE);
    let backups = home.path().join("data").join("backups");
    let daemon = DaemonProcess::start(&config);
    let mut admin = daemon.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut agent = daemon.client();
    agent.login(ACCOUNT, 1001, PASSWORD).expect("agent login");
    agent
        .request(&Request::SetAutoAccept {
            cap: CUSTOMERS as u16,
        })
        .expect("auto-accept");

    let mut conversations = Vec::new();
    let mut customers = Vec::new();
    for c in 0..CUSTOMERS {
        let mut customer = login_customer(
            daemon.client(),
            &key,
            ACCOUNT,
            &format!("backup-{c}"),
            now() + 3600,
        );
        match customer.request(&Request::OpenConversation { entry: Entry::Auto }) {
            Ok(Response::Conversation(info)) => {
                assert_eq!(info.state, ConversationState::Assigned { agent: 1001 });
                conversations.push(info.conversation);
            }
            other => panic!("{other:?}"),
        }
        customers.push(customer);
    }

    // The load: each customer sends one message after another and notes each ack.
    let ledger: Ledger = Arc::new(Mutex::new(vec![Vec::new(); CUSTOMERS]));
    let stop_load = Arc::new(AtomicBool::new(false));
    let (progress, progressed) = std::sync::mpsc::channel::<()>();
    let threads: Vec<_> = customers
        .into_iter()
        .zip(conversations.clone())
        .enumerate()
        .map(|(c, (mut customer, conversation))| {
            let ledger = Arc::clone(&ledger);
            let stop_load = Arc::clone(&stop_load);
            let progress = progress.clone();
            std::thread::spawn(move || {
                for i in 0..MAX_PER_CUSTOMER {
                    if stop_load.load(Ordering::Acquire) {
                        break;
                    }
                    match customer.request(&Request::SendMessage {
                        conversation,
                        client_msg_id: i as u64 + 1,
                        body: MessageBody::Text(text(c, i)),
                    }) {
                        Ok(Response::Sent {
                            duplicate: false, ..
                        }) => ledger.lock().unwrap()[c].push(i),
                        other => panic!("customer {c} message {i}: {other:?}"),
                    }
                    if i + 1 == BEFORE_BACKUP {
                        let _ = progress.send(());
                    }
                }
            })
        })
        .collect();
    drop(progress);
    for _ in 0..CUSTOMERS {
        progressed
            .recv()
            .expect("every customer reached its warm-up count");
    }

    // Everything acknowledged now must be in the backup.
    let before: Vec<usize> = ledger.lock().unwrap().iter().map(Vec::len).collect();
    let first = backup(&mut admin, Request::AdminBackupCreate);
    let during: Vec<usize> = ledger.lock().unwrap().iter().map(Vec::len).collect();
    stop_load.store(true, Ordering::Release);
    for t in threads {
        t.join().expect("customer thread");
    }
    let acked: Vec<usize> = ledger.lock().unwrap().iter().map(Vec::len).collect();
    println!(
        "backup {} under load: {} bytes, {} files; acknowledged per customer before it \
         was asked for {before:?}, by its answer {during:?}, in all {acked:?}",
        first.backup_id, first.size_bytes, first.files
    );
    assert!(
        during.iter().zip(&before).any(|(d, b)| d > b),
        "no message was acknowledged while the backup ran: it was not taken under load"
    );

    let verified = backup(
        &mut admin,
        Request::AdminBackupVerify {
            backup_id: first.backup_id,
        },
    );
    assert!(
        verified.keys.is_some_and(|k| k > 0),
        "verify read no key: {verified:?}"
    );
    match admin.request(&Request::AdminBackupVerify { backup_id: 99 }) {
        Err(ClientError::Server(e)) => assert_eq!(e.code, ErrorCode::UNKNOWN_BACKUP),
        other => panic!("verify of a backup that does not exist: {other:?}"),
    }
    drop((admin, agent));
    stop(daemon);

    // A second backup with no client at all (so nothing writes after it), then a stop.
    let daemon = DaemonProcess::start(&config);
    let mut admin = daemon.admin();
    let second = backup(&mut admin, Request::AdminBackupCreate);
    match admin.request(&Request::AdminBackupList) {
        Ok(Response::Backups(list)) => assert_eq!(
            list.iter().map(|b| b.backup_id).collect::<Vec<_>>(),
            vec![first.backup_id, second.backup_id]
        ),
        other => panic!("AdminBackupList: {other:?}"),
    }
    drop(admin);
    stop(daemon);

    // The backup taken under load, rolled forward over every batch the daemon
    // committed after it (read back from its write-ahead log), is its database key by
    // key: the backup was the database at one instant, nothing missing, nothing extra.
    let rolled_home = tempfile::tempdir().expect("tempdir");
    let rolled_config = write_config(
        rolled_home.path(),
        &format!("[storage]\nbackup_dir = {backups:?}"),
    );
    let (ok, stderr) = restore(&rolled_config, Some(first.backup_id));
    assert!(ok, "kefud --restore failed: {stderr}");
    let live_db = home.path().join("data").join("db");
    let rolled_db = rolled_home.path().join("data").join("db");
    let (point, replayed) = roll_forward(&open_copy(&rolled_db), &open_copy(&live_db));
    assert!(
        replayed > 0,
        "nothing was written after the backup under load"
    );
    let live = dump(&live_db);
    let rolled = dump(&rolled_db);
    assert_eq!(live.len(), rolled.len(), "number of keys");
    for (a, b) in live.iter().zip(&rolled) {
        assert_eq!(
            a, b,
            "first difference between the database and its rolled backup"
        );
    }
    println!(
        "backup {} under load was sequence {point}; rolled forward over {replayed} later \
         batches it equals the database: {} keys in {} column families",
        first.backup_id,
        live.len(),
        Cf::ALL.len()
    );

    // The quiescent backup is the stopped daemon's database, key by key.
    let quiet_home = tempfile::tempdir().expect("tempdir");
    let quiet_config = write_config(
        quiet_home.path(),
        &format!("[storage]\nbackup_dir = {backups:?}"),
    );
    let (ok, stderr) = restore(&quiet_config, Some(second.backup_id));
    assert!(ok, "kefud --restore failed: {stderr}");
    let original = dump(&home.path().join("data").join("db"));
    let restored = dump(&quiet_home.path().join("data").join("db"));
    assert_eq!(original.len(), restored.len(), "number of keys");
    for (a, b) in original.iter().zip(&restored) {
        assert_eq!(a, b, "first difference between the database and its backup");
    }
    println!(
        "backup {} restored: {} keys identical in {} column families",
        second.backup_id,
        restored.len(),
        Cf::ALL.len()
    );
    // A restore refuses a data directory that is not empty.
    let (ok, stderr) = restore(&quiet_config, Some(first.backup_id));
    assert!(!ok, "a restore over a data directory succeeded");
    assert!(stderr.contains("not empty"), "{stderr}");

    // The backup taken under load, restored and served.
    let load_home = tempfile::tempdir().expect("tempdir");
    let load_config = write_config(
        load_home.path(),
        &format!("[storage]\nbackup_dir = {backups:?}"),
    );
    let (ok, stderr) = restore(&load_config, Some(first.backup_id));
    assert!(ok, "kefud --restore failed: {stderr}");
    assert!(
        stderr.contains("token key"),
        "the restore does not remind the operator of the token key: {stderr}"
    );
    // The token key is not in backups (it is kept apart): the operator copies it back.
    std::fs::copy(
        home.path().join("data").join("token.key"),
        load_home.path().join("data").join("token.key"),
    )
    .expect("copy the token key");
    let served = DaemonProcess::start(&load_config);
    let mut reader = served.client();
    reader
        .login(ACCOUNT, 1001, PASSWORD)
        .expect("agent login on the restored data");
    let mut held = BTreeMap::new();
    for (c, conversation) in conversations.iter().enumerate() {
        let texts = conversation_texts(&mut reader, *conversation);
        let indices: Vec<usize> = texts
            .iter()
            .map(|&(from, i)| {
                assert_eq!(from, c, "a message of customer {from} in conversation {c}");
                i
            })
            .collect();
        let prefix: Vec<usize> = (0..indices.len()).collect();
        assert_eq!(
            indices, prefix,
            "customer {c}: the backup must hold a prefix of its messages, in order, once each"
        );
        assert!(
            indices.len() >= before[c],
            "customer {c}: {} messages acknowledged before the backup, {} in it",
            before[c],
            indices.len()
        );
        assert!(
            indices.len() <= acked[c] + 1,
            "customer {c}: {} messages in the backup, only {} sent",
            indices.len(),
            acked[c] + 1
        );
        held.insert(c, indices.len());
    }
    println!("backup {} holds per customer {held:?}", first.backup_id);
}
