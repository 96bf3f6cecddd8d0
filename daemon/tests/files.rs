//! Files (C13, manual §3.7; PROTOCOL.md section 28) through real sockets to a real kefud
//! with the client library (`kefu_wire::file_client`): an online transfer relayed in
//! chunks under the receiver's credit and checked by hash at the receiver, a receiver
//! that grants nothing stalling the sender with the daemon's own counters showing it
//! took no more bytes, cancel and disconnect ending a transfer with their reasons, files
//! refused towards a mobile customer; offline files uploaded, listed and fetched once by
//! their recipient only, the size limit and the account quota, a wrong hash, a restart
//! keeping files and tokens, and `kill -9` of kefud mid-upload: the partial file is
//! never served and the upload resumes from what was written.

mod support;

use kefu_daemon::shard::sign_customer;
use kefu_wire::chat::Channel;
use kefu_wire::file_client::{self, FileError};
use kefu_wire::files::{FileEnd, FileMeta, FilePeer, MAX_FILE_CHUNK};
use kefu_wire::{Client, ErrorCode, Event, Request, Response};
use std::time::Duration;
use support::raw::total;
use support::*;

const ACCOUNT: u64 = 815_001;
const WAIT: Duration = Duration::from_secs(20);

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

fn meta(name: &str, data: &[u8]) -> FileMeta {
    FileMeta {
        name: name.into(),
        size: data.len() as u64,
        sha256: sha256(data),
        image: false,
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, FileError>) -> ErrorCode {
    match r {
        Err(FileError::Client(e)) => e.code().expect("a typed error"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn request_code(c: &mut Client, r: &Request) -> ErrorCode {
    match c.request(r) {
        Err(e) => e.code().expect("a typed error"),
        Ok(other) => panic!("expected a refusal, got {other:?}"),
    }
}

fn setup(admin: &mut Client) -> [u8; 32] {
    create_account(admin, ACCOUNT);
    add_agent(admin, ACCOUNT, 1002, Some(PASSWORD));
    add_agent(admin, ACCOUNT, 1003, Some(PASSWORD));
    customer_key(admin, ACCOUNT)
}

fn agent(c: Client, agent: u32) -> Client {
    let mut a = c;
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a
}

fn customer(c: Client, key: &[u8; 32], id: &str, channel: Channel) -> Client {
    let mut c = c;
    let expires_at = now() + 30 * 86_400;
    let r = c
        .request(&Request::CustomerLogin {
            account: ACCOUNT,
            customer: id.into(),
            expires_at,
            signature: sign_customer(key, ACCOUNT, id, expires_at),
            channel,
        })
        .unwrap();
    assert!(matches!(r, Response::CustomerLoggedIn(_)), "{r:?}");
    c
}

/// Agent 1001 (auto-accept on) and a customer whose open conversation it serves.
fn served(s: &TestServer, key: &[u8; 32], id: &str, channel: Channel) -> (Client, Client, u64) {
    let mut a = agent(s.client(), 1001);
    a.request(&Request::SetAutoAccept { cap: 10 }).unwrap();
    let mut c = customer(s.client(), key, id, channel);
    let conversation = open(&mut c).conversation;
    (a, c, conversation)
}

/// The next push about files (others skipped).
/// Why `transfer` ended, from `c`'s `FileEnded` push (other file pushes skipped).
fn end_of(c: &mut Client, transfer: u64) -> FileEnd {
    loop {
        if let Event::FileEnded {
            transfer: x,
            reason,
        } = file_event(c)
        {
            assert_eq!(x, transfer);
            return reason;
        }
    }
}

fn file_event(c: &mut Client) -> Event {
    loop {
        let p = c.next_push(WAIT).unwrap().expect("a file push");
        if matches!(
            p.event,
            Event::FileOffered { .. }
                | Event::FileCredit { .. }
                | Event::FileChunk { .. }
                | Event::FileEnded { .. }
                | Event::OfflineFile(_)
        ) {
            return p.event;
        }
    }
}

#[test]
fn an_online_transfer_is_relayed_in_chunks_both_ways_and_hashes_match() {
    let s = TestServer::start();
    let key = setup(&mut s.admin());
    let (mut a, mut c, conversation) = served(&s, &key, "files-online", Channel::Desktop);
    // Agent to customer: 300,000 bytes through a 128 KiB window.
    let data = bytes(300_000, 1);
    let m = meta("report.pdf", &data);
    let transfer =
        file_client::offer(&mut a, FilePeer::Conversation(conversation), m.clone()).unwrap();
    let receiver = std::thread::spawn(move || {
        let (t, offered) = file_client::next_offer(&mut c, WAIT, |_| {}).unwrap();
        let mut got = vec![0u8; offered.size as usize];
        file_client::receive(
            &mut c,
            t,
            offered.size,
            128 << 10,
            WAIT,
            |o, b| got[o as usize..o as usize + b.len()].copy_from_slice(b),
            |_| {},
        )
        .unwrap();
        (offered, got, c)
    });
    file_client::send(
        &mut a,
        transfer,
        m.size,
        WAIT,
        |o, buf| buf.copy_from_slice(&data[o as usize..o as usize + buf.len()]),
        |_| {},
    )
    .unwrap();
    let (offered, got, mut c) = receiver.join().unwrap();
    assert_eq!(offered, m);
    assert_eq!(sha256(&got), m.sha256);
    assert_eq!(total(&s, |k| k.file_relayed_bytes()), 300_000);
    // Customer to agent: an image of 70,000 bytes (two chunks).
    let image = bytes(70_000, 2);
    let m = FileMeta {
        image: true,
        ..meta("photo.png", &image)
    };
    let transfer =
        file_client::offer(&mut c, FilePeer::Conversation(conversation), m.clone()).unwrap();
    let sender = std::thread::spawn(move || {
        file_client::send(
            &mut c,
            transfer,
            image.len() as u64,
            WAIT,
            |o, buf| buf.copy_from_slice(&image[o as usize..o as usize + buf.len()]),
            |_| {},
        )
        .unwrap();
    });
    let (t, offered) = file_client::next_offer(&mut a, WAIT, |_| {}).unwrap();
    assert_eq!((t, &offered), (transfer, &m));
    let mut got = Vec::new();
    file_client::receive(
        &mut a,
        t,
        m.size,
        1 << 20,
        WAIT,
        |_, b| got.extend_from_slice(b),
        |_| {},
    )
    .unwrap();
    sender.join().unwrap();
    assert_eq!(sha256(&got), m.sha256);
}

#[test]
fn a_receiver_that_grants_no_credit_stalls_the_sender_and_the_daemon_takes_no_more() {
    let s = TestServer::start();
    let key = setup(&mut s.admin());
    let (mut a, mut c, conversation) = served(&s, &key, "files-stall", Channel::Desktop);
    let data = bytes(4 << 20, 3);
    let m = meta("big.bin", &data);
    let transfer = file_client::offer(&mut a, FilePeer::Conversation(conversation), m).unwrap();
    let (t, _) = file_client::next_offer(&mut c, WAIT, |_| {}).unwrap();
    // Before any answer, nothing moves.
    let chunk = |offset: u64| Request::FileChunk {
        transfer,
        offset,
        data: data[offset as usize..offset as usize + MAX_FILE_CHUNK].to_vec(),
    };
    assert_eq!(request_code(&mut a, &chunk(0)), ErrorCode::FILE_NO_CREDIT);
    // Accepted with 256 KiB of credit, then the receiver reads nothing more.
    c.request(&Request::FileAnswer {
        transfer: t,
        accept: true,
        credit: 256 << 10,
    })
    .unwrap();
    let credit = file_event(&mut a);
    assert_eq!(
        credit,
        Event::FileCredit {
            transfer,
            window_end: 256 << 10
        }
    );
    for i in 0..4u64 {
        assert_eq!(
            a.request(&chunk(i * MAX_FILE_CHUNK as u64)).unwrap(),
            Response::Ok
        );
    }
    let refused_before = total(&s, |k| k.file_refused_chunks());
    for _ in 0..200 {
        assert_eq!(
            request_code(&mut a, &chunk(4 * MAX_FILE_CHUNK as u64)),
            ErrorCode::FILE_NO_CREDIT
        );
    }
    // The daemon's own counters: exactly the credit was relayed, every further chunk
    // was refused, and what it holds unsent is at most the credit.
    assert_eq!(total(&s, |k| k.file_relayed_bytes()), 256 << 10);
    assert_eq!(total(&s, |k| k.file_refused_chunks()) - refused_before, 200);
    assert!(total(&s, |k| k.pending_output()) <= (256 << 10) + 4096);
    // A chunk out of order is refused with its own code; a grant past 1 MiB is clamped.
    assert_eq!(request_code(&mut a, &chunk(0)), ErrorCode::FILE_BAD_OFFSET);
    c.request(&Request::FileCredit {
        transfer: t,
        bytes: u32::MAX,
    })
    .unwrap();
    assert_eq!(
        file_event(&mut a),
        Event::FileCredit {
            transfer,
            window_end: (256 << 10) + (1 << 20)
        }
    );
}

#[test]
fn either_side_cancels_and_a_disconnect_ends_the_transfer_with_its_reason() {
    let s = TestServer::start();
    let key = setup(&mut s.admin());
    let (mut a, mut c, conversation) = served(&s, &key, "files-cancel", Channel::Desktop);
    let data = bytes(200_000, 4);
    let m = meta("a.txt", &data);
    // The receiver cancels: the sender is told, and its next chunk is refused.
    let transfer =
        file_client::offer(&mut a, FilePeer::Conversation(conversation), m.clone()).unwrap();
    let (t, _) = file_client::next_offer(&mut c, WAIT, |_| {}).unwrap();
    c.request(&Request::FileAnswer {
        transfer: t,
        accept: true,
        credit: 1 << 20,
    })
    .unwrap();
    c.request(&Request::FileCancel { transfer: t }).unwrap();
    let reason = end_of(&mut a, transfer);
    assert_eq!(reason, FileEnd::Cancelled);
    let chunk = Request::FileChunk {
        transfer,
        offset: 0,
        data: vec![0; 10],
    };
    assert_eq!(request_code(&mut a, &chunk), ErrorCode::FILE_UNKNOWN);
    // The sender cancels: the receiver is told.
    let transfer =
        file_client::offer(&mut a, FilePeer::Conversation(conversation), m.clone()).unwrap();
    let (t, _) = file_client::next_offer(&mut c, WAIT, |_| {}).unwrap();
    a.request(&Request::FileCancel { transfer }).unwrap();
    assert_eq!(
        file_event(&mut c),
        Event::FileEnded {
            transfer: t,
            reason: FileEnd::Cancelled
        }
    );
    // Declined.
    let transfer =
        file_client::offer(&mut a, FilePeer::Conversation(conversation), m.clone()).unwrap();
    let (t, _) = file_client::next_offer(&mut c, WAIT, |_| {}).unwrap();
    c.request(&Request::FileAnswer {
        transfer: t,
        accept: false,
        credit: 0,
    })
    .unwrap();
    assert_eq!(
        file_event(&mut a),
        Event::FileEnded {
            transfer,
            reason: FileEnd::Declined
        }
    );
    // The receiver disconnects mid-transfer: the sender is told PeerGone.
    let transfer = file_client::offer(&mut a, FilePeer::Conversation(conversation), m).unwrap();
    let (t, _) = file_client::next_offer(&mut c, WAIT, |_| {}).unwrap();
    c.request(&Request::FileAnswer {
        transfer: t,
        accept: true,
        credit: 64 << 10,
    })
    .unwrap();
    drop(c);
    let reason = end_of(&mut a, transfer);
    assert_eq!(reason, FileEnd::PeerGone);
    assert_eq!(
        request_code(&mut a, &Request::FileCancel { transfer }),
        ErrorCode::FILE_UNKNOWN
    );
}

#[test]
fn files_and_images_are_refused_towards_a_mobile_customer() {
    let s = TestServer::start();
    let key = setup(&mut s.admin());
    let (mut a, mut c, conversation) = served(&s, &key, "files-mobile", Channel::Mobile);
    let data = bytes(1_000, 5);
    let to = FilePeer::Conversation(conversation);
    assert_eq!(
        code(file_client::offer(&mut a, to, meta("x.doc", &data))),
        ErrorCode::NOT_ON_MOBILE
    );
    let image = FileMeta {
        image: true,
        ..meta("x.png", &data)
    };
    assert_eq!(
        code(file_client::upload(&mut a, to, image, &data)),
        ErrorCode::NOT_ON_MOBILE
    );
    // The mobile customer may still send to the agent.
    let transfer = file_client::offer(&mut c, to, meta("from-phone.jpg", &data)).unwrap();
    let (t, _) = file_client::next_offer(&mut a, WAIT, |_| {}).unwrap();
    assert_eq!(t, transfer);
    // A customer cannot address an agent directly.
    assert_eq!(
        code(file_client::offer(
            &mut c,
            FilePeer::Agent(1001),
            meta("y", &data)
        )),
        ErrorCode::PERMISSION_DENIED
    );
}

#[test]
fn an_offline_file_is_fetched_once_by_its_recipient_only() {
    let s = TestServer::start();
    let key = setup(&mut s.admin());
    let (mut a, mut c, conversation) = served(&s, &key, "files-offline", Channel::Desktop);
    let mut other = agent(s.client(), 1002);
    // The customer sends agent 1001 an offline file.
    let data = bytes(200_000, 6);
    let m = meta("contract.pdf", &data);
    let file = file_client::upload(
        &mut c,
        FilePeer::Conversation(conversation),
        m.clone(),
        &data,
    )
    .unwrap();
    let Event::OfflineFile(pushed) = file_event(&mut a) else {
        panic!("the recipient is told")
    };
    assert_eq!((pushed.file, &pushed.meta), (file, &m));
    // Listed for 1001 only.
    assert_eq!(file_client::list(&mut a).unwrap(), vec![pushed.clone()]);
    assert!(file_client::list(&mut other).unwrap().is_empty());
    assert!(file_client::list(&mut c).unwrap().is_empty());
    // Another agent holding the token is refused; so is the sender.
    assert_eq!(
        code(file_client::fetch(&mut other, pushed.token, |_, _| {})),
        ErrorCode::FILE_NOT_YOURS
    );
    assert_eq!(
        code(file_client::fetch(&mut c, pushed.token, |_, _| {})),
        ErrorCode::FILE_NOT_YOURS
    );
    let mut wrong = pushed.token;
    wrong[31] ^= 1;
    assert_eq!(
        code(file_client::fetch(&mut a, wrong, |_, _| {})),
        ErrorCode::FILE_UNKNOWN
    );
    let mut got = Vec::new();
    let info = file_client::fetch(&mut a, pushed.token, |_, b| got.extend_from_slice(b)).unwrap();
    assert_eq!(info.meta, m);
    assert_eq!(sha256(&got), m.sha256);
    assert_eq!(
        code(file_client::fetch(&mut a, pushed.token, |_, _| {})),
        ErrorCode::FILE_TOKEN_USED
    );
    assert!(file_client::list(&mut a).unwrap().is_empty());
    // Agent to agent, and a hash that does not match is refused and nothing is listed.
    let data = bytes(10_000, 7);
    let lie = FileMeta {
        sha256: [7; 32],
        ..meta("lie.bin", &data)
    };
    assert_eq!(
        code(file_client::upload(
            &mut a,
            FilePeer::Agent(1002),
            lie,
            &data
        )),
        ErrorCode::FILE_HASH_MISMATCH
    );
    assert!(file_client::list(&mut other).unwrap().is_empty());
    file_client::upload(&mut a, FilePeer::Agent(1002), meta("ok.bin", &data), &data).unwrap();
    assert_eq!(file_client::list(&mut other).unwrap().len(), 1);
}

#[test]
fn the_size_limit_and_the_account_quota_are_refused_with_their_codes() {
    let s = TestServer::start_with(|c| {
        c.files.max_file_bytes = 100_000;
        c.files.account_quota_bytes = 150_000;
    });
    setup(&mut s.admin());
    let mut a = agent(s.client(), 1001);
    let too_big = bytes(100_001, 8);
    assert_eq!(
        code(file_client::upload(
            &mut a,
            FilePeer::Agent(1002),
            meta("big", &too_big),
            &too_big
        )),
        ErrorCode::FILE_TOO_LARGE
    );
    assert_eq!(
        code(file_client::offer(
            &mut a,
            FilePeer::Agent(1002),
            meta("big", &too_big)
        )),
        ErrorCode::FILE_TOO_LARGE
    );
    let data = bytes(90_000, 9);
    file_client::upload(&mut a, FilePeer::Agent(1002), meta("one", &data), &data).unwrap();
    let more = bytes(90_000, 10);
    assert_eq!(
        code(file_client::upload(
            &mut a,
            FilePeer::Agent(1003),
            meta("two", &more),
            &more
        )),
        ErrorCode::FILE_QUOTA_EXCEEDED
    );
    // A chunk past the declared size or out of order: its own code, nothing written.
    let small = bytes(1_000, 11);
    let (upload, offset) =
        file_client::begin_upload(&mut a, FilePeer::Agent(1003), meta("s", &small)).unwrap();
    assert_eq!(offset, 0);
    assert_eq!(
        code(file_client::upload_chunk(&mut a, upload, 10, &small)),
        ErrorCode::FILE_BAD_OFFSET
    );
    assert_eq!(
        code(file_client::finish_upload(&mut a, upload)),
        ErrorCode::FILE_STATE
    );
}

#[test]
fn a_restart_keeps_offline_files_and_used_tokens() {
    let mut s = TestServer::start();
    setup(&mut s.admin());
    let mut a = agent(s.client(), 1001);
    let data = bytes(150_000, 12);
    let m = meta("kept.zip", &data);
    file_client::upload(&mut a, FilePeer::Agent(1002), m.clone(), &data).unwrap();
    drop(a);
    s.restart();
    let mut b = agent(s.client(), 1002);
    let listed = file_client::list(&mut b).unwrap();
    assert_eq!(listed.len(), 1);
    let mut got = Vec::new();
    file_client::fetch(&mut b, listed[0].token, |_, d| got.extend_from_slice(d)).unwrap();
    assert_eq!(sha256(&got), m.sha256);
    drop(b);
    s.restart();
    let mut b = agent(s.client(), 1002);
    assert_eq!(
        code(file_client::fetch(&mut b, listed[0].token, |_, _| {})),
        ErrorCode::FILE_TOKEN_USED
    );
}

#[test]
fn kill_9_mid_upload_never_serves_the_partial_file_and_the_upload_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let data = bytes(1 << 20, 13);
    let m = meta("crash.bin", &data);
    let acked = {
        let d = DaemonProcess::start(&config);
        setup(&mut d.admin());
        let mut a = agent(d.client(), 1001);
        let (upload, mut offset) =
            file_client::begin_upload(&mut a, FilePeer::Agent(1002), m.clone()).unwrap();
        for _ in 0..5 {
            let end = offset as usize + MAX_FILE_CHUNK;
            offset = file_client::upload_chunk(&mut a, upload, offset, &data[offset as usize..end])
                .unwrap();
        }
        // One more chunk in flight when the daemon is killed.
        let end = offset as usize + MAX_FILE_CHUNK;
        a.send(&Request::UploadChunk {
            upload,
            offset,
            data: data[offset as usize..end].to_vec(),
        })
        .unwrap();
        drop(d); // SIGKILL, then reaped
        offset
    };
    let d = DaemonProcess::start(&config);
    let mut b = agent(d.client(), 1002);
    // Nothing is listed: the partial file is not a file.
    assert!(file_client::list(&mut b).unwrap().is_empty());
    let mut a = agent(d.client(), 1001);
    let (upload, offset) =
        file_client::begin_upload(&mut a, FilePeer::Agent(1002), m.clone()).unwrap();
    assert!(
        offset == acked || offset == acked + MAX_FILE_CHUNK as u64,
        "resumes from {offset}, {acked} were acknowledged"
    );
    let mut offset = offset;
    while (offset as usize) < data.len() {
        let end = (offset as usize + MAX_FILE_CHUNK).min(data.len());
        offset =
            file_client::upload_chunk(&mut a, upload, offset, &data[offset as usize..end]).unwrap();
    }
    file_client::finish_upload(&mut a, upload).unwrap();
    let listed = file_client::list(&mut b).unwrap();
    assert_eq!(listed.len(), 1);
    let mut got = Vec::new();
    file_client::fetch(&mut b, listed[0].token, |_, d| got.extend_from_slice(d)).unwrap();
    assert_eq!(sha256(&got), m.sha256);
}
