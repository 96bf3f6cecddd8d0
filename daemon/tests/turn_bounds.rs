//! A turn does a bounded amount of work (issue 13, point 3; wire/PROTOCOL.md sections
//! 20.1.1, 17.6.1 and 30.13): logins arriving together are spread over several turns,
//! and the metrics say what the longest turn did; an import chunk and a broadcast
//! submission are applied over many turns and come out exactly as before; what the
//! account may do meanwhile is defined; a SIGKILL in the middle of an import chunk
//! leaves all of it or none, a contact a conversation changed meanwhile is kept, and
//! the rolled-back rows are not counted. A large broadcast is stored in parts over several turns
//! and reads back whole after a restart, also after a SIGKILL midway (issue 13,
//! turn13b). Counts, never timings: the assertions read the
//! `kefu_turn_max_*` gauges and the `kefu_import_*` / `kefu_submission_*` counters.

mod support;

use kefu_daemon::centre::{IMPORT_ROWS_PER_TURN, SUBMISSION_RESOLVE_PER_TURN};
use kefu_daemon::shard::{INBOX_PER_TURN, LOGINS_PER_TURN};
use kefu_daemon::store::broadcast_records::PART as BROADCAST_PART;
use kefu_wire::chat::{CustomerId, MessageBody};
use kefu_wire::crm::{ContactEdit, ContactQuery, ContactState, GroupEdit, GroupNode, ImportReport};
use kefu_wire::valueadded::{BroadcastDraft, BroadcastInfo, BroadcastState};
use kefu_wire::{Client, ErrorCode, Request, Response, SecurityLevel};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use support::*;

/// Accounts × agents logging in at once: more than one turn's inbox share.
const ACCOUNTS: u64 = 4;
const AGENTS: u32 = 100;
/// The request budget of the daemon under test: larger than the burst, so that only
/// the login budget holds the token reconnections back.
const REQUESTS_PER_TURN: usize = 4096;

fn metrics(admin: &mut Client) -> String {
    match admin.request(&Request::AdminMetrics).expect("metrics") {
        Response::Metrics { text } => text,
        other => panic!("{other:?}"),
    }
}

/// Every shard's value of a per-shard gauge.
fn per_shard(text: &str, name: &str) -> Vec<u64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .map(|l| {
            let value = l.rsplit(' ').next().expect("a value");
            value.parse().expect("an integer gauge")
        })
        .collect()
}

#[test]
fn logins_arriving_together_are_spread_over_turns_and_the_longest_turn_is_described() {
    let s = TestServer::start_with(|c| c.limits.max_requests_per_turn = REQUESTS_PER_TURN);
    let mut admin = s.admin();
    let total = ACCOUNTS * u64::from(AGENTS);
    assert!(
        total as usize > INBOX_PER_TURN.max(LOGINS_PER_TURN),
        "the burst must exceed one turn's share"
    );
    for account in 1..=ACCOUNTS {
        create_account(&mut admin, account);
        for agent in 2000..2000 + AGENTS {
            add_agent(&mut admin, account, agent, Some(PASSWORD));
        }
    }
    // Every connection first, then every login sent before any answer is read.
    let mut clients: Vec<(Client, u32)> = Vec::new();
    for account in 1..=ACCOUNTS {
        for agent in 2000..2000 + AGENTS {
            let mut c = s.client();
            let corr = c
                .send(&Request::Login {
                    account,
                    agent,
                    password: PASSWORD.into(),
                    otp: None,
                })
                .expect("login sent");
            clients.push((c, corr));
        }
    }
    let mut sessions = Vec::new();
    for (c, corr) in &mut clients {
        match c.wait(*corr).expect("login answered") {
            Response::LoggedIn(info) => sessions.push((info.account, info.agent, info.token)),
            other => panic!("login refused: {other:?}"),
        }
    }
    // Then every one reconnects at once with its token: these logins complete in the
    // turn that reads them, no hash involved.
    drop(clients);
    let mut again: Vec<(Client, u32)> = Vec::new();
    for &(account, agent, token) in &sessions {
        let mut c = s.client();
        let corr = c
            .send(&Request::Resume {
                account,
                agent,
                token,
            })
            .expect("resume sent");
        again.push((c, corr));
    }
    for (c, corr) in &mut again {
        match c.wait(*corr).expect("resume answered") {
            Response::LoggedIn(_) => {}
            other => panic!("resume refused: {other:?}"),
        }
    }

    let text = metrics(&mut admin);
    let most_logins = per_shard(&text, "kefu_turn_max_logins");
    let most_inbox = per_shard(&text, "kefu_turn_max_inbox_messages");
    assert!(!most_logins.is_empty() && most_logins.len() == most_inbox.len());
    // However the logins arrive (hashes finishing together, tokens all at once), one
    // turn completes at most LOGINS_PER_TURN of them and takes at most INBOX_PER_TURN
    // messages.
    for (&logins, &inbox) in most_logins.iter().zip(&most_inbox) {
        assert!(
            logins <= LOGINS_PER_TURN as u64,
            "{logins} logins in one turn"
        );
        assert!(
            inbox <= INBOX_PER_TURN as u64,
            "{inbox} inbox messages in one turn"
        );
    }
    assert!(
        most_logins.iter().any(|&n| n > 0),
        "some turn completed a login"
    );
    // The longest turn is described, with what it did.
    let longest = per_shard(&text, "kefu_turn_longest_microseconds");
    assert!(longest.iter().any(|&us| us > 0), "{text}");
    for name in [
        "kefu_turn_longest_frames_in",
        "kefu_turn_longest_inbox_messages",
        "kefu_turn_longest_logins",
        "kefu_turn_longest_accepted",
        "kefu_turn_longest_batch_operations",
    ] {
        assert_eq!(per_shard(&text, name).len(), longest.len(), "{name}");
    }
    // The store's stall and flush figures are there too.
    for name in [
        "kefu_rocksdb_stall_micros",
        "kefu_rocksdb_write_stopped",
        "kefu_rocksdb_immutable_memtables",
        "kefu_rocksdb_memtable_flushes_pending",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} missing"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Import chunks and broadcast submissions (issue 13: "a turn has a bounded amount of work")
// ---------------------------------------------------------------------------------------

/// A counter summed over the shards.
fn total_of(admin: &mut Client, name: &str) -> u64 {
    per_shard(&metrics(admin), name).iter().sum()
}

fn on(account: u64, request: &Request) -> Request {
    Request::on_account(account, request)
}

fn report(r: Response) -> ImportReport {
    match r {
        Response::Import(report) => report,
        other => panic!("{other:?}"),
    }
}

/// How many contacts `account` holds (the operator sees them all).
fn contact_count(admin: &mut Client, account: u64) -> u64 {
    let q = ContactQuery::everything(1);
    match admin
        .request(&on(account, &Request::SearchContacts(q)))
        .unwrap()
    {
        Response::Contacts(page) => page.total,
        other => panic!("{other:?}"),
    }
}

/// Every contact id of `account`, through the export (the operator's, so all).
fn exported_ids(admin: &mut Client, account: u64) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut after = 0;
    loop {
        let r = admin
            .request(&on(
                account,
                &Request::ExportContacts {
                    after,
                    limit: 5_000,
                },
            ))
            .unwrap();
        let Response::Export { csv, next_after } = r else {
            panic!("{r:?}")
        };
        let text = String::from_utf8(csv).unwrap();
        for line in text.lines() {
            let line = line.trim_start_matches('\u{feff}');
            let cell = line.split(',').next().unwrap_or("");
            if after == 0 && ids.is_empty() && cell.eq_ignore_ascii_case("id") {
                continue; // the header
            }
            if !cell.is_empty() {
                ids.insert(cell.to_string());
            }
        }
        match next_after {
            Some(n) => after = n,
            None => return ids,
        }
    }
}

/// Creates group `name` in `account`; its number.
fn create_group(admin: &mut Client, account: u64, name: &str) -> u32 {
    let edit = GroupEdit::CreateGroup {
        name: name.into(),
        category: None,
    };
    match admin
        .request(&on(account, &Request::EditGroups(edit)))
        .unwrap()
    {
        Response::Groups(nodes) => nodes
            .iter()
            .find_map(|n| match n {
                GroupNode::Group(g) if g.name == name => Some(g.id),
                _ => None,
            })
            .expect("the group"),
        other => panic!("{other:?}"),
    }
}

/// Tops `account` up with `units` and logs 1001 in on `boss` (a fresh client) with the
/// security level set low (value-added requests then need no token code).
fn boss_at_low_level(mut boss: Client, admin: &mut Client, account: u64, units: u64) -> Client {
    admin
        .request(&Request::AdminBalanceTopUp { account, units })
        .unwrap();
    boss.login(account, 1001, PASSWORD).unwrap();
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::Low,
    })
    .unwrap();
    boss
}

/// Polls `check` until it holds, for at most a minute.
fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::yield_now();
    }
}

#[test]
fn an_import_chunk_is_applied_over_many_turns_and_stores_exactly_its_rows() {
    const ACCOUNT: u64 = 130_001;
    const ROWS: usize = 9_000;
    let mut s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let vip = create_group(&mut admin, ACCOUNT, "VIP");
    // One chunk of an agent's import: 9,000 new rows, every third in VIP, one row
    // without an id (invalid) and one repeating an earlier row (skipped).
    let mut csv = String::from("id,real_name,groups\n");
    for i in 0..ROWS {
        let group = if i % 3 == 0 { "VIP" } else { "" };
        csv.push_str(&format!("t{i:05},客户{i},{group}\n"));
    }
    csv.push_str(",nobody,\nt00007,again,\n");
    assert!(csv.len() <= 256 * 1024, "one chunk");
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let (slices_before, rows_before) = (
        total_of(&mut admin, "kefu_import_slices_total"),
        total_of(&mut admin, "kefu_import_rows_total"),
    );
    let r = report(
        boss.request(&Request::ImportContacts {
            chunk: csv.into_bytes(),
            first: true,
            last: true,
        })
        .unwrap(),
    );
    assert!(r.finished);
    assert_eq!(
        (
            r.imported,
            r.skipped_existing,
            r.invalid_total,
            r.refused_plan + r.refused_daily
        ),
        (ROWS as u64, 1, 1, 0),
        "{r:?}"
    );
    let slices = total_of(&mut admin, "kefu_import_slices_total") - slices_before;
    let rows = total_of(&mut admin, "kefu_import_rows_total") - rows_before;
    // Every row went through a slice, and no slice took more than its share.
    assert_eq!(rows, ROWS as u64 + 2);
    let fewest = (ROWS + 2).div_ceil(IMPORT_ROWS_PER_TURN) as u64;
    assert!(
        slices >= fewest && slices > 1,
        "{slices} slices for {rows} rows"
    );
    // The connection read on after the answer: its next request is served.
    assert!(matches!(
        boss.request(&Request::ListGroups).unwrap(),
        Response::Groups(_)
    ));
    let expected: BTreeSet<String> = (0..ROWS).map(|i| format!("t{i:05}")).collect();
    let check = |admin: &mut Client| {
        assert_eq!(exported_ids(admin, ACCOUNT), expected);
        let q = ContactQuery {
            groups: vec![vip],
            ..ContactQuery::everything(1)
        };
        match admin
            .request(&on(ACCOUNT, &Request::SearchContacts(q)))
            .unwrap()
        {
            Response::Contacts(page) => assert_eq!(page.total, ROWS.div_ceil(3) as u64),
            other => panic!("{other:?}"),
        }
        match admin
            .request(&on(
                ACCOUNT,
                &Request::GetContact {
                    customer: id("t08999"),
                },
            ))
            .unwrap()
        {
            Response::Contact(c) => {
                assert_eq!((c.real_name.as_str(), c.owner), ("客户8999", Some(1001)))
            }
            other => panic!("{other:?}"),
        }
    };
    check(&mut admin);
    // Restarted over the same data: all of it is there, nothing rolled back.
    drop((boss, admin));
    s.restart();
    let mut admin = s.admin();
    check(&mut admin);
}

#[test]
fn while_an_import_chunk_is_applied_what_would_break_it_is_refused_with_its_own_code() {
    const ACCOUNT: u64 = 130_002;
    const ROWS: usize = 30_000;
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut boss = boss_at_low_level(s.client(), &mut admin, ACCOUNT, 100);
    let mut watcher = s.admin();
    let rows_before = total_of(&mut watcher, "kefu_import_rows_total");
    // The operator's chunk of 30,000 rows (over a hundred turns), and right behind it on
    // the same connection — read in the same turn, so while it runs — a second import
    // and a group edit.
    let csv = id_rows("k", ROWS);
    assert!(csv.len() <= 256 * 1024);
    let chunk = |csv: Vec<u8>| Request::ImportContacts {
        chunk: csv,
        first: true,
        last: true,
    };
    let import = admin.send(&on(ACCOUNT, &chunk(csv))).unwrap();
    let second = admin.send(&on(ACCOUNT, &chunk(id_rows("x", 3)))).unwrap();
    let group = GroupEdit::CreateGroup {
        name: "late".into(),
        category: None,
    };
    let edit = admin
        .send(&on(ACCOUNT, &Request::EditGroups(group)))
        .unwrap();
    assert_eq!(code(admin.wait(second)), ErrorCode::IMPORT_RUNNING);
    assert_eq!(code(admin.wait(edit)), ErrorCode::IMPORT_RUNNING);
    // Once part of it is stored, its contacts are not shown yet (the chunk appears
    // whole when answered), may not be changed, and a broadcast may not reach them.
    until("part of the chunk stored", || {
        total_of(&mut watcher, "kefu_import_rows_total") >= rows_before + 1_000
    });
    let first = id("k000000");
    let got = boss.request(&Request::GetContact {
        customer: first.clone(),
    });
    assert_eq!(code(got), ErrorCode::CONTACT_IMPORTING);
    assert_eq!(contact_count(&mut watcher, ACCOUNT), 0);
    assert!(exported_ids(&mut watcher, ACCOUNT).is_empty());
    let delete = Request::DeleteContacts {
        customers: vec![first.clone()],
    };
    assert_eq!(code(boss.request(&delete)), ErrorCode::CONTACT_IMPORTING);
    let update = Request::UpdateContact {
        customer: id("k000001"),
        edit: ContactEdit {
            remark: Some("vip".into()),
            ..ContactEdit::default()
        },
    };
    assert_eq!(code(boss.request(&update)), ErrorCode::CONTACT_IMPORTING);
    let draft = BroadcastDraft {
        groups: vec![],
        customers: vec![first.clone()],
        body: MessageBody::Text("开业大吉".into()),
        online_only: false,
        block_replies: false,
        send_at: None,
    };
    let submit = Request::SubmitBroadcast {
        draft: draft.clone(),
        otp: None,
    };
    assert_eq!(code(boss.request(&submit)), ErrorCode::RECIPIENTS_IMPORTING);
    // Nothing was reserved for it.
    match boss.request(&Request::GetBalance { otp: None }).unwrap() {
        Response::Balance(b) => assert_eq!((b.available, b.reserved), (100, 0), "{b:?}"),
        other => panic!("{other:?}"),
    }
    // The chunk's answer: all of it; then the same requests pass.
    let r = report(admin.wait(import).unwrap());
    assert_eq!((r.imported, r.invalid_total), (ROWS as u64, 0), "{r:?}");
    assert_eq!(contact_count(&mut admin, ACCOUNT), ROWS as u64);
    boss.request(&update).unwrap();
    let b = match boss.request(&submit).unwrap() {
        Response::Broadcast(b) => *b,
        other => panic!("{other:?}"),
    };
    assert_eq!(b.recipients, 1);
    boss.request(&delete).unwrap();
    assert_eq!(contact_count(&mut admin, ACCOUNT), ROWS as u64 - 1);
    admin
        .request(&on(ACCOUNT, &chunk(id_rows("x", 3))))
        .unwrap();
    assert_eq!(contact_count(&mut admin, ACCOUNT), ROWS as u64 + 2);
}

fn listed(c: &mut Client, id: u64) -> BroadcastInfo {
    match c.request(&Request::ListBroadcasts { otp: None }).unwrap() {
        Response::Broadcasts(list) => list.into_iter().find(|b| b.id == id).expect("listed"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_broadcast_submission_is_resolved_over_many_turns_to_the_same_recipients() {
    const ACCOUNT: u64 = 130_003;
    // 12,000 contacts; VIP holds the first 8,000; the draft names 6,000 from 5,000 on:
    // 11,000 distinct, less one blacklisted in VIP and one named.
    const CONTACTS: usize = 12_000;
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let vip = create_group(&mut admin, ACCOUNT, "VIP");
    let mut csv = String::from("id,groups\n");
    for i in 0..CONTACTS {
        let group = if i < 8_000 { "VIP" } else { "" };
        csv.push_str(&format!("k{i:06},{group}\n"));
    }
    operator_import(&mut admin, ACCOUNT, csv.as_bytes());
    let mut boss = boss_at_low_level(s.client(), &mut admin, ACCOUNT, 20_000);
    for who in ["k000010", "k009000"] {
        boss.request(&Request::SetContactState {
            customer: id(who),
            state: ContactState::Blacklisted,
        })
        .unwrap();
    }
    let named: Vec<CustomerId> = (5_000..11_000).map(|i| id(&format!("k{i:06}"))).collect();
    let draft = BroadcastDraft {
        groups: vec![vip],
        customers: named.clone(),
        body: MessageBody::Text("周年庆".into()),
        online_only: false,
        block_replies: false,
        send_at: None,
    };
    // A name that is no contact, at the end: refused when reached, nothing reserved.
    let mut unknown = draft.clone();
    unknown.customers.push(id("nobody"));
    let slices_before = total_of(&mut admin, "kefu_submission_slices_total");
    let refused = boss.request(&Request::SubmitBroadcast {
        draft: unknown,
        otp: None,
    });
    assert_eq!(code(refused), ErrorCode::NOT_FOUND);
    match boss.request(&Request::GetBalance { otp: None }).unwrap() {
        Response::Balance(b) => assert_eq!((b.available, b.reserved), (20_000, 0), "{b:?}"),
        other => panic!("{other:?}"),
    }
    // A preview resolves the same recipients the same way (1001 is logged in: it gets
    // the preview).
    let before_preview = total_of(&mut admin, "kefu_submission_slices_total");
    let preview = boss.request(&Request::PreviewBroadcast {
        draft: draft.clone(),
        otp: None,
    });
    assert!(matches!(preview, Ok(Response::Ok)), "{preview:?}");
    let preview_slices = total_of(&mut admin, "kefu_submission_slices_total") - before_preview;
    assert!(preview_slices > 1, "{preview_slices} slices for a preview");
    let middle = total_of(&mut admin, "kefu_submission_slices_total");
    let b = match boss
        .request(&Request::SubmitBroadcast { draft, otp: None })
        .unwrap()
    {
        Response::Broadcast(b) => *b,
        other => panic!("{other:?}"),
    };
    let slices = total_of(&mut admin, "kefu_submission_slices_total") - middle;
    let lookups = 8_000 + named.len();
    assert!(
        slices >= lookups.div_ceil(SUBMISSION_RESOLVE_PER_TURN) as u64 && slices > 1,
        "{slices} slices for {lookups} lookups"
    );
    assert!(middle - slices_before > 1, "the refused one was spread too");
    assert_eq!(b.recipients, 11_000 - 2);
    assert_eq!(b.reserved, 11_000 - 2);
    assert_eq!(b.state, BroadcastState::PendingReview);
    // The named contacts are kept as named, and the fan-out reaches exactly the
    // recipients.
    match boss
        .request(&Request::GetBroadcastCustomers {
            id: b.id,
            offset: 0,
            limit: 3,
            otp: None,
        })
        .unwrap()
    {
        Response::BroadcastCustomers(page) => {
            assert_eq!(page.total, named.len() as u64);
            assert_eq!(page.customers, named[..3].to_vec());
        }
        other => panic!("{other:?}"),
    }
    admin
        .request(&Request::AdminBroadcastDecide {
            account: ACCOUNT,
            id: b.id,
            approve: true,
            reason: String::new(),
        })
        .unwrap();
    let mut done = listed(&mut boss, b.id);
    until("the broadcast sent", || {
        done = listed(&mut boss, b.id);
        done.state == BroadcastState::Done
    });
    assert_eq!(done.sent, 11_000 - 2);
}

#[test]
fn an_import_chunk_killed_midway_leaves_all_of_it_or_none() {
    const ACCOUNT: u64 = 130_004;
    const ROWS: usize = 30_000;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let d = DaemonProcess::start(&config);
    let mut admin = d.admin();
    create_account(&mut admin, ACCOUNT);
    // A first import, answered: it stays whatever happens to the next.
    operator_import(&mut admin, ACCOUNT, &id_rows("a", 1_000));
    let mut watcher = d.admin();
    let before = total_of(&mut watcher, "kefu_import_rows_total");
    let csv = id_rows("k", ROWS);
    admin
        .send(&on(
            ACCOUNT,
            &Request::ImportContacts {
                chunk: csv.clone(),
                first: true,
                last: true,
            },
        ))
        .unwrap();
    until("part of the chunk stored", || {
        total_of(&mut watcher, "kefu_import_rows_total") > before
    });
    let stored_at_kill = total_of(&mut watcher, "kefu_import_rows_total") - before;
    let mut d = d;
    d.signal(libc::SIGKILL);
    d.child.wait().unwrap();
    drop((admin, watcher));
    eprintln!("killed with {stored_at_kill} of {ROWS} rows applied");

    let d = DaemonProcess::start(&config);
    let mut admin = d.admin();
    let after = contact_count(&mut admin, ACCOUNT);
    assert!(
        after == 1_000 || after == 1_000 + ROWS as u64,
        "{after} contacts: part of the chunk"
    );
    let ids = exported_ids(&mut admin, ACCOUNT);
    assert_eq!(ids.len() as u64, after);
    assert!((0..1_000).all(|i| ids.contains(&format!("a{i:06}"))));
    // The chunk imports again (its rows were rolled back, or are skipped as existing),
    // and what is there survives another restart.
    let r = report(operator_import(&mut admin, ACCOUNT, &csv));
    assert_eq!(r.imported + r.skipped_existing, ROWS as u64);
    assert_eq!(contact_count(&mut admin, ACCOUNT), 1_000 + ROWS as u64);
    drop(admin);
    let mut d = d;
    d.signal(libc::SIGTERM);
    d.child.wait().unwrap();
    let d = DaemonProcess::start(&config);
    let mut admin = d.admin();
    assert_eq!(contact_count(&mut admin, ACCOUNT), 1_000 + ROWS as u64);
    assert_eq!(exported_ids(&mut admin, ACCOUNT).len(), 1_000 + ROWS);
}

/// Every contact a broadcast's draft names, a page at a time.
fn named_of(c: &mut Client, id: u64) -> Vec<CustomerId> {
    let mut all = Vec::new();
    let mut offset = 0;
    loop {
        let r = c.request(&Request::GetBroadcastCustomers {
            id,
            offset,
            limit: 1_000,
            otp: None,
        });
        match r.unwrap() {
            Response::BroadcastCustomers(page) => {
                all.extend(page.customers);
                match page.next {
                    Some(next) => offset = next,
                    None => return all,
                }
            }
            other => panic!("{other:?}"),
        }
    }
}

/// The account's newest broadcasts (summaries: no named contacts).
fn summaries(c: &mut Client) -> Vec<kefu_wire::valueadded::BroadcastSummary> {
    let page = Request::ListBroadcastPage {
        before: None,
        limit: 50,
        otp: None,
    };
    match c.request(&page).unwrap() {
        Response::BroadcastPage(page) => page.items,
        other => panic!("{other:?}"),
    }
}

fn available_and_reserved(c: &mut Client) -> (u64, u64) {
    match c.request(&Request::GetBalance { otp: None }).unwrap() {
        Response::Balance(b) => (b.available, b.reserved),
        other => panic!("{other:?}"),
    }
}

fn draft_naming(named: &[CustomerId]) -> BroadcastDraft {
    BroadcastDraft {
        groups: Vec::new(),
        customers: named.to_vec(),
        body: MessageBody::Text("分批存".into()),
        online_only: false,
        block_replies: false,
        send_at: None,
    }
}

fn submitted(r: Result<Response, kefu_wire::ClientError>) -> BroadcastInfo {
    match r.unwrap() {
        Response::Broadcast(b) => *b,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_large_broadcast_is_stored_in_parts_and_reads_back_whole_after_a_restart() {
    const ACCOUNT: u64 = 130_005;
    let mut s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    operator_import(&mut admin, ACCOUNT, &id_rows("k", 10_000));
    let mut boss = boss_at_low_level(s.client(), &mut admin, ACCOUNT, 30_000);
    // More than one part of named contacts (parts hold BROADCAST_PART), and a small
    // broadcast beside it, stored whole as before.
    let named: Vec<CustomerId> = (0..9_000).map(|i| id(&format!("k{i:06}"))).collect();
    assert!(named.len() > 2 * BROADCAST_PART);
    let big = submitted(boss.request(&Request::SubmitBroadcast {
        draft: draft_naming(&named),
        otp: None,
    }));
    let few = &named[..3];
    let small = submitted(boss.request(&Request::SubmitBroadcast {
        draft: draft_naming(few),
        otp: None,
    }));
    assert_eq!((big.recipients, small.recipients), (9_000, 3));
    assert_eq!(named_of(&mut boss, big.id), named);
    // Cancelled and resubmitted to other contacts: the new parts replace the old.
    boss.request(&Request::CancelBroadcast {
        id: big.id,
        otp: None,
    })
    .unwrap();
    let other: Vec<CustomerId> = (4_000..10_000).map(|i| id(&format!("k{i:06}"))).collect();
    let again = submitted(boss.request(&Request::ResubmitBroadcast {
        id: big.id,
        draft: draft_naming(&other),
        otp: None,
    }));
    assert_eq!((again.id, again.recipients), (big.id, 6_000));
    assert_eq!(available_and_reserved(&mut boss), (30_000 - 6_003, 6_003));
    drop((boss, admin));

    s.restart();
    let mut admin = s.admin();
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    assert_eq!(named_of(&mut boss, big.id), other);
    assert_eq!(named_of(&mut boss, small.id), few.to_vec());
    let listed = summaries(&mut boss);
    let b = listed.iter().find(|b| b.id == big.id).expect("listed");
    assert_eq!((b.recipients, b.named, b.reserved), (6_000, 6_000, 6_000));
    assert_eq!(available_and_reserved(&mut boss), (30_000 - 6_003, 6_003));
    // It goes out to exactly its recipients.
    admin
        .request(&Request::AdminBroadcastDecide {
            account: ACCOUNT,
            id: big.id,
            approve: true,
            reason: String::new(),
        })
        .unwrap();
    let mut state = (BroadcastState::PendingSend, 0);
    until("the broadcast sent", || {
        let b = summaries(&mut boss).into_iter().find(|b| b.id == big.id);
        state = b.map(|b| (b.state, b.sent)).expect("listed");
        state.0 == BroadcastState::Done
    });
    assert_eq!(state.1, 6_000);
}

#[test]
fn a_submission_killed_while_its_parts_are_stored_leaves_the_broadcast_whole_or_absent() {
    const ACCOUNT: u64 = 130_006;
    const NAMED: usize = 50_000;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let d = DaemonProcess::start(&config);
    let mut admin = d.admin();
    create_account(&mut admin, ACCOUNT);
    operator_import(&mut admin, ACCOUNT, &id_rows("k", NAMED));
    let mut boss = boss_at_low_level(d.client(), &mut admin, ACCOUNT, 2 * NAMED as u64);
    let named: Vec<CustomerId> = (0..NAMED).map(|i| id(&format!("k{i:06}"))).collect();
    let before = total_of(&mut admin, "kefu_submission_slices_total");
    boss.send(&Request::SubmitBroadcast {
        draft: draft_naming(&named),
        otp: None,
    })
    .unwrap();
    // Past the resolution's slices: its parts are being stored.
    let resolving = NAMED.div_ceil(SUBMISSION_RESOLVE_PER_TURN) as u64;
    until("the parts being stored", || {
        total_of(&mut admin, "kefu_submission_slices_total") - before > resolving
    });
    let slices_at_kill = total_of(&mut admin, "kefu_submission_slices_total") - before;
    let mut d = d;
    d.signal(libc::SIGKILL);
    d.child.wait().unwrap();
    drop((admin, boss));
    eprintln!("killed after {slices_at_kill} slices ({resolving} resolve)");

    let d = DaemonProcess::start(&config);
    let mut boss = d.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let listed = summaries(&mut boss);
    let reserved = available_and_reserved(&mut boss).1;
    match listed.as_slice() {
        [] => assert_eq!(reserved, 0, "nothing stored, nothing reserved"),
        [b] => {
            assert_eq!(
                (b.recipients, b.named, reserved),
                (NAMED as u64, NAMED as u64, NAMED as u64)
            );
            assert_eq!(named_of(&mut boss, b.id), named);
        }
        more => panic!("{more:?}"),
    }
    // Submitted again, it is stored whole, and stays so over another restart.
    let b = submitted(boss.request(&Request::SubmitBroadcast {
        draft: draft_naming(&named),
        otp: None,
    }));
    assert_eq!(b.recipients, NAMED as u64);
    drop(boss);
    let mut d = d;
    d.signal(libc::SIGTERM);
    d.child.wait().unwrap();
    let d = DaemonProcess::start(&config);
    let mut boss = d.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    assert_eq!(named_of(&mut boss, b.id), named);
    let again = summaries(&mut boss);
    assert!(
        again.iter().all(|x| x.recipients == NAMED as u64),
        "{again:?}"
    );
}

#[test]
fn a_contact_served_during_an_import_is_kept_and_a_rolled_back_chunk_counts_nothing() {
    const ACCOUNT: u64 = 130_007;
    const ROWS: usize = 30_000;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let d = DaemonProcess::start(&config);
    let mut admin = d.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    // An agent that takes conversations at once.
    let mut agent = d.client();
    agent.login(ACCOUNT, 1002, PASSWORD).unwrap();
    agent.request(&Request::SetAutoAccept { cap: 10 }).unwrap();
    // The boss's own import: its rows count toward the daily import rule.
    let mut boss = d.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let before = total_of(&mut admin, "kefu_import_rows_total");
    boss.send(&Request::ImportContacts {
        chunk: id_rows("k", ROWS),
        first: true,
        last: true,
    })
    .unwrap();
    until("part of the chunk stored", || {
        total_of(&mut admin, "kefu_import_rows_total") >= before + 512
    });
    // Not shown while it runs.
    assert_eq!(contact_count(&mut admin, ACCOUNT), 0);
    // A customer of the chunk is served: its contact leaves the chunk, with the change.
    let mut customer = login_customer(d.client(), &key, ACCOUNT, "k000100", now() + 3_600);
    open(&mut customer);
    let served = |admin: &mut Client| {
        let r = admin.request(&on(
            ACCOUNT,
            &Request::GetContact {
                customer: id("k000100"),
            },
        ));
        match r.unwrap() {
            Response::Contact(c) => c.last_accepted.map(|(_, agent)| agent),
            other => panic!("{other:?}"),
        }
    };
    let by = served(&mut admin);
    assert!(by.is_some(), "served, and shown at once");
    let stored_at_kill = total_of(&mut admin, "kefu_import_rows_total") - before;
    let mut d = d;
    d.signal(libc::SIGKILL);
    d.child.wait().unwrap();
    drop((admin, boss, agent, customer));
    eprintln!("killed with {stored_at_kill} of {ROWS} rows applied");

    let d = DaemonProcess::start(&config);
    let mut admin = d.admin();
    assert_eq!(
        served(&mut admin),
        by,
        "the served contact is kept, with the change"
    );
    let count = contact_count(&mut admin, ACCOUNT);
    if count != 1 {
        // Answered before the kill: 10,000 free rows, then 1,000 a day.
        assert_eq!(count, 11_000);
        eprintln!("the chunk was answered before the kill");
        return;
    }
    // Rolled back: only the served contact stays, and the chunk counted nothing but
    // its row (kept), so 9,999 of the boss's 10,000 free rows are left.
    let z = 9_999;
    let mut boss = d.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let r = report(
        boss.request(&Request::ImportContacts {
            chunk: id_rows("z", z),
            first: true,
            last: true,
        })
        .unwrap(),
    );
    assert_eq!((r.imported, r.refused_daily), (z as u64, 0), "{r:?}");
}

/// Each thread of process `pid`: its name and its niceness (`/proc/PID/task/*/stat`).
fn thread_niceness(pid: u32) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let path = task.unwrap().path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // After "pid (comm) ", field 3 (state) comes first; niceness is field 19.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        if let Some(nice) = rest.split(' ').nth(19 - 3) {
            out.push((name.trim().to_string(), nice.parse().unwrap()));
        }
    }
    out
}

#[test]
fn the_worker_pool_yields_the_cores_to_the_shard_loops() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let d = DaemonProcess::start(&config);
    // The workers lower their priority as they start: poll until each has.
    let mut threads = Vec::new();
    until("every worker at its niceness", || {
        threads = thread_niceness(d.child.id());
        let workers: Vec<_> = threads
            .iter()
            .filter(|(n, _)| n.starts_with("kefu-hash"))
            .collect();
        !workers.is_empty()
            && workers
                .iter()
                .all(|(_, nice)| *nice == i64::from(kefu_daemon::worker::WORKER_NICE))
    });
    let shards: Vec<_> = threads
        .iter()
        .filter(|(n, _)| n.starts_with("kefu-shard"))
        .collect();
    assert!(!shards.is_empty(), "{threads:?}");
    assert!(shards.iter().all(|(_, nice)| *nice == 0), "{threads:?}");
}
