//! A `kefud` process whose data directory sits on a full disk (a small tmpfs,
//! filled by the test): a message whose sender is told `DISK_FULL` must
//! not reach the agent, and one acknowledged OK must; the daemon stays up and
//! answers reads; an agent can log in and read the history while the disk is full;
//! once the filler is removed messages are accepted again without a restart, and
//! everything acknowledged before and after survives a restart of kefud. Both
//! durability modes, and `wal` with every batch written off the loop.
//! Needs root (to mount the tmpfs); fails, never skips, without it.
//!
//! Run: `cargo test --release -p kefu-daemon --test disk_full -- --nocapture` as root.

mod support;

use kefu_wire::chat::{ConversationState, CustomerId, Entry, MessageBody, Party};
use kefu_wire::{Client, ClientError, ErrorCode, Event, Request, Response};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 870_001;
/// Size of the tmpfs: room for a fresh RocksDB directory and the setup, little more.
const TMPFS_SIZE: &str = "8m";
/// Space left free after the filler: a few dozen messages' worth of WAL.
const RESERVE_BYTES: u64 = 24 * 1024;
/// Messages the customer sends onto the full disk.
const MESSAGES: u64 = 200;
/// Requests in flight at once, so that some loop turns commit several messages.
const WINDOW: u64 = 8;
/// Characters of each message: big enough that the reserve runs out early.
const TEXT_CHARS: usize = 1_000;
/// Messages tried after the space is freed before recovery is declared missing.
const RECOVERY_ATTEMPTS: u64 = 3;

const HOW_TO_RUN: &str = "run it as root (it mounts a tmpfs): \
     sudo -E cargo test --release -p kefu-daemon --test disk_full -- --nocapture";

/// A tmpfs mounted on a fresh temporary directory, unmounted on drop (also on panic).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(
            euid, 0,
            "disk_full needs root to mount a size-limited tmpfs (euid is {euid}); {HOW_TO_RUN}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size},mode=0700"))
            .arg("kefu-disk-full")
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mount -t tmpfs on {} failed ({}): {}; {HOW_TO_RUN}",
            dir.path().display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Something still holds a file there: detach it so no mount outlives the test.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Free bytes of the filesystem holding `path` (for the report only).
// The statvfs field types differ between platforms; on some the conversions are no-ops.
#[allow(clippy::useless_conversion)]
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs only writes into the zeroed struct we own; `c` is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize)))
}

/// Fills the filesystem with one file, then gives `reserve` bytes back.
fn fill_leaving(dir: &Path, reserve: u64) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("create filler");
    let chunk = vec![0x5au8; 256 * 1024];
    let mut written = 0u64;
    // Bounded by the tmpfs size; the cap only guards against a mount that did not limit.
    let cap = 64 << 20;
    while written < cap {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("writing the filler: {e}"),
        }
    }
    assert!(written < cap, "the tmpfs did not fill within {cap} bytes");
    assert!(written > reserve, "the tmpfs was full before the filler");
    f.set_len(written - reserve).expect("shrink filler");
    f.sync_all().expect("sync filler");
    path
}

fn text(i: u64) -> String {
    let head = format!("disk-full message {i} ");
    let pad = TEXT_CHARS.saturating_sub(head.len());
    format!("{head}{}", "x".repeat(pad))
}

fn agent_login(d: &DaemonProcess) -> Client {
    let mut a = d.client();
    a.login(ACCOUNT, 1001, PASSWORD).expect("agent login");
    a.request(&Request::SetAutoAccept { cap: 1 })
        .expect("auto-accept");
    a
}

/// Every message push of the customer in `conversation` the agent has received.
/// A ping round trip is the barrier: a message's push is released in the same
/// commit as its answer, and the daemon writes a connection's frames in order, so
/// once the pong is here so are the pushes of every message already answered.
fn drain_messages(a: &mut Client, conversation: u64) -> Vec<String> {
    a.ping().expect("agent ping barrier");
    let mut texts = Vec::new();
    while let Some(p) = a.next_push(Duration::ZERO).expect("agent pushes") {
        if let Event::Message(m) = p.event {
            if m.conversation == conversation && m.from == Party::Customer {
                if let MessageBody::Text(t) = m.body {
                    texts.push(t);
                }
            }
        }
    }
    texts
}

#[test]
fn a_message_refused_for_a_full_disk_is_not_pushed_and_an_acknowledged_one_is() {
    full_disk("wal");
}

/// The same with every commit fsynced.
#[test]
fn a_full_disk_in_fsync_mode() {
    full_disk("fsync");
}

/// The same in `wal` mode with every batch written by the committer thread
/// (`centre/pipeline.rs`): the failed write is reported from off the loop and undoes
/// the turns behind it too.
#[test]
fn a_full_disk_in_wal_mode_off_the_loop() {
    full_disk_with("wal", "wal_commit_off_loop_ops = 1");
}

/// Fills the disk under a running kefud with `durability`, then frees it (see the module doc).
fn full_disk(durability: &str) {
    full_disk_with(durability, "");
}

/// [`full_disk`] with more `[storage]` settings.
fn full_disk_with(durability: &str, storage: &str) {
    // Declared first, so dropped last: the daemon exits before the unmount.
    let disk = Tmpfs::mount(TMPFS_SIZE);
    // No WAL or memtable size is configurable (daemon/src/config.rs has none): with
    // RocksDB's defaults the memtables (64 MiB) never flush here, so what the messages
    // cost on disk is the WAL they append, which the filler bounds.
    let config = write_config(
        disk.path(),
        &format!("[storage]\ndurability = {durability:?}\n{storage}"),
    );
    let mut daemon = DaemonProcess::start(&config);

    let mut admin = daemon.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut agent = agent_login(&daemon);
    let mut customer = login_customer(daemon.client(), &key, ACCOUNT, "alice", now() + 3600);
    let conversation = match customer
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .expect("open conversation")
    {
        Response::Conversation(info) => {
            assert_eq!(info.state, ConversationState::Assigned { agent: 1001 });
            info.conversation
        }
        other => panic!("{other:?}"),
    };
    // The push path works while the disk has room.
    let warm_up = "before the disk filled".to_string();
    match customer.request(&Request::SendMessage {
        conversation,
        client_msg_id: 1,
        body: MessageBody::Text(warm_up.clone()),
    }) {
        Ok(Response::Sent { .. }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(drain_messages(&mut agent, conversation), vec![warm_up]);

    let filler = fill_leaving(disk.path(), RESERVE_BYTES);
    println!(
        "filler {} bytes; {:?} bytes free on the tmpfs",
        std::fs::metadata(&filler).map_or(0, |m| m.len()),
        free_bytes(disk.path())
    );

    // The customer sends MESSAGES messages onto the full disk, WINDOW at a time.
    let by_text: HashMap<String, u64> = (0..MESSAGES + 20).map(|i| (text(i), i)).collect();
    let mut ok = BTreeSet::new();
    let mut refused = BTreeSet::new();
    let mut i = 0;
    while i < MESSAGES {
        let end = (i + WINDOW).min(MESSAGES);
        let sent: Vec<(u64, u32)> = (i..end)
            .map(|n| {
                let corr = customer
                    .send(&Request::SendMessage {
                        conversation,
                        client_msg_id: 100 + n,
                        body: MessageBody::Text(text(n)),
                    })
                    .expect("send");
                (n, corr)
            })
            .collect();
        for (n, corr) in sent {
            match customer.wait(corr) {
                Ok(Response::Sent {
                    duplicate: false, ..
                }) => {
                    ok.insert(n);
                }
                Err(ClientError::Server(e)) if e.code == ErrorCode::DISK_FULL => {
                    refused.insert(n);
                }
                other => panic!("message {n}: neither stored nor DISK_FULL: {other:?}"),
            }
        }
        i = end;
    }

    let mut pushed = BTreeSet::new();
    for t in drain_messages(&mut agent, conversation) {
        let n = *by_text
            .get(&t)
            .unwrap_or_else(|| panic!("unexpected push {:.40}", t));
        assert!(pushed.insert(n), "message {n} pushed twice");
    }

    // Read-only requests are answered while the disk is full: the daemon is up,
    // and the store holds exactly the acknowledged messages.
    assert!(
        matches!(daemon.child.try_wait(), Ok(None)),
        "kefud exited on the full disk"
    );
    daemon.client().ping().expect("a new connection is served");
    match agent.request(&Request::ListQueue) {
        Ok(Response::Conversations(_)) => {}
        other => panic!("ListQueue on a full disk: {other:?}"),
    }
    let stored = stored_messages(&mut agent, conversation, &by_text);

    let pushed_refused: BTreeSet<u64> = pushed.intersection(&refused).copied().collect();
    let ok_not_pushed: BTreeSet<u64> = ok.difference(&pushed).copied().collect();
    println!(
        "sent {MESSAGES}: OK {}, DISK_FULL {}, pushed to the agent {} \
         (of them refused: {}), acknowledged but not pushed {}, stored {}",
        ok.len(),
        refused.len(),
        pushed.len(),
        pushed_refused.len(),
        ok_not_pushed.len(),
        stored.len()
    );

    assert!(
        !refused.is_empty(),
        "no message was refused: the disk never filled, so nothing was tested"
    );
    assert_eq!(
        stored, ok,
        "the store must hold exactly the acknowledged messages"
    );
    assert!(
        pushed_refused.is_empty(),
        "{} messages answered DISK_FULL were pushed to the agent anyway (first: {:?})",
        pushed_refused.len(),
        pushed_refused.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        ok_not_pushed.is_empty(),
        "acknowledged messages never pushed: {ok_not_pushed:?}"
    );

    // Still full: an agent can log in (its session token is kept in memory only) and
    // read the history; a message is refused.
    let mut reader = daemon.client();
    reader
        .login(ACCOUNT, 1001, PASSWORD)
        .expect("an agent logs in on a full disk");
    match reader.request(&whole_history(CustomerId::Identified("alice".into()), 200)) {
        Ok(Response::History(page)) => assert!(
            !page.messages.is_empty(),
            "the history of alice is empty on a full disk"
        ),
        other => panic!("History on a full disk: {other:?}"),
    }
    assert_eq!(
        stored_messages(&mut reader, conversation, &by_text),
        ok,
        "a reader logged in on the full disk sees the acknowledged messages"
    );
    match customer.request(&Request::SendMessage {
        conversation,
        client_msg_id: 10_000,
        body: MessageBody::Text(text(MESSAGES)),
    }) {
        Err(ClientError::Server(e)) if e.code == ErrorCode::DISK_FULL => {}
        other => panic!("a message on the full disk was not refused: {other:?}"),
    }

    // Space comes back: writes are accepted again, without a restart. The first write
    // after the space is freed reopens the store; a few attempts bound the check.
    std::fs::remove_file(&filler).expect("remove filler");
    let mut after = BTreeSet::new();
    for n in MESSAGES + 1..MESSAGES + 1 + RECOVERY_ATTEMPTS {
        match customer.request(&Request::SendMessage {
            conversation,
            client_msg_id: 10_000 + n,
            body: MessageBody::Text(text(n)),
        }) {
            Ok(Response::Sent { .. }) => {
                after.insert(n);
                break;
            }
            Err(ClientError::Server(e)) if e.code == ErrorCode::DISK_FULL => {}
            other => panic!("message {n} after the space was freed: {other:?}"),
        }
    }
    assert!(
        !after.is_empty(),
        "no message was accepted in {RECOVERY_ATTEMPTS} attempts after the space was freed"
    );
    // And they go on being accepted.
    for n in MESSAGES + 1 + RECOVERY_ATTEMPTS..MESSAGES + 1 + RECOVERY_ATTEMPTS + 5 {
        match customer.request(&Request::SendMessage {
            conversation,
            client_msg_id: 10_000 + n,
            body: MessageBody::Text(text(n)),
        }) {
            Ok(Response::Sent { .. }) => {
                after.insert(n);
            }
            other => panic!("message {n} after recovery: {other:?}"),
        }
    }
    // A login after recovery stores its token again: it resumes after a restart.
    let mut fresh = daemon.client();
    let session = fresh
        .login(ACCOUNT, 1001, PASSWORD)
        .expect("login after recovery");
    let expected: BTreeSet<u64> = ok.union(&after).copied().collect();
    assert_eq!(
        stored_messages(&mut fresh, conversation, &by_text),
        expected,
        "the store holds what was acknowledged before and after the full disk"
    );
    drop((agent, reader, fresh, customer));

    // Everything acknowledged survives a restart over the same directory.
    daemon.signal(libc::SIGTERM);
    let status = daemon.child.wait().expect("wait for kefud");
    assert!(status.success(), "kefud stopped with {status}");
    // The transitions are logged once each, not once per refused write. The reader
    // thread ends at the pipe's end of file, so this collects every line.
    let log: Vec<String> = daemon.stderr_tail.iter().collect();
    let count = |what: &str| log.iter().filter(|l| l.contains(what)).count();
    for line in log.iter().filter(|l| l.contains("storage:")) {
        println!("kefud: {line}");
    }
    assert_eq!(count("storage: disk full"), 1, "{log:#?}");
    assert_eq!(count("writes are accepted again"), 1, "{log:#?}");
    let daemon = DaemonProcess::start(&config);
    let mut again = daemon.client();
    match again.request(&Request::Resume {
        account: ACCOUNT,
        agent: 1001,
        token: session.token,
    }) {
        Ok(Response::LoggedIn(_)) => {}
        other => panic!("resuming the session opened after recovery: {other:?}"),
    }
    assert_eq!(
        stored_messages(&mut again, conversation, &by_text),
        expected,
        "after a restart the store holds what was acknowledged"
    );
}

/// The disk-full messages stored in `conversation`, as their numbers.
fn stored_messages(
    a: &mut Client,
    conversation: u64,
    by_text: &HashMap<String, u64>,
) -> BTreeSet<u64> {
    match a.request(&Request::ConversationMessages {
        conversation,
        after: 0,
        limit: 500,
    }) {
        Ok(Response::Messages(list)) => list
            .into_iter()
            .filter_map(|m| match m.body {
                MessageBody::Text(t) => by_text.get(&t).copied(),
                _ => None,
            })
            .collect(),
        other => panic!("ConversationMessages: {other:?}"),
    }
}
