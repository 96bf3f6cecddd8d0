//! A standby that serves reads and says where the primary is (issue 18, `daemon/CLUSTER.md`
//! §5, `wire/PROTOCOL.md` 40.7): a 3-member etcd on 127.0.0.2–4, a `replicated` primary
//! `a` on 127.0.0.5 and its standby `b` on 127.0.0.6, both `kefud` processes (plumbing:
//! `support/pair.rs`, `support/pair_client.rs`).
//!
//! - A plain `Client` pointed at the standby is told `GoAwayTo` the primary at its login
//!   and ends up logged in there, and chats.
//! - A read-only session (`LoginReadOnly`) on the standby reads what the primary
//!   acknowledged: each of a few hundred changes of a contact (the CRM is held in the
//!   standby's memory: the account must be evicted and loaded again) and each message
//!   becomes readable there (polled with a deadline; the delay from the acknowledgement
//!   to the contact's read is printed as p50 / p99 / max, not asserted). A write in that session is `READ_ONLY_MEMBER`, names the primary and
//!   changes nothing, on either member.
//! - SIGKILL of the primary: the standby is promoted, its read-only sessions are closed,
//!   and it serves ordinary logins and writes on the same port. The old primary,
//!   restarted, finds b leading and stays fenced (nothing to follow): a login there is
//!   told `GoAwayTo` b. A password change there ends the agent's read-only sessions.
//!
//! Run: `cargo test --release -p kefu-daemon --test standby_reads -- --nocapture`.

mod support;

use kefu_wire::chat::{CustomerId, MessageBody};
use kefu_wire::crm::{ContactEdit, ContactState};
use kefu_wire::{Client, ErrorCode, Request, Response};
use std::time::{Duration, Instant};
use support::pair::{etcd_cluster, leader_is, pair_home, poll, Member, Spec, PAIR, WITHIN};
use support::pair_client::{account_with_agent, customer_on};
use support::{code, id, opts, PASSWORD};

const ACCOUNT: u64 = 883_001;
/// Messages whose delay to the standby's read is measured.
const WRITES: u64 = 300;

/// A read-only session of agent 1001 on the member at `addr` (polled: the account must
/// have reached a standby).
fn read_only_session(addr: std::net::SocketAddr) -> Client {
    poll(WITHIN, "a read-only login", || {
        let mut c = Client::connect(addr, opts()).ok()?;
        c.login_read_only(ACCOUNT, 1001, PASSWORD).ok().map(|_| c)
    })
}

/// The agents of the account as `reader` lists them.
fn agents(reader: &mut Client) -> Vec<u32> {
    match reader.request(&Request::ListAgents) {
        Ok(Response::Agents(list)) => list.iter().map(|a| a.agent).collect(),
        other => panic!("agents: {other:?}"),
    }
}

/// The remark of contact `customer` as `reader` reads it (`None`: not a contact there,
/// yet).
fn remark_of(reader: &mut Client, customer: &CustomerId) -> Option<String> {
    match reader.request(&Request::GetContact {
        customer: customer.clone(),
    }) {
        Ok(Response::Contact(c)) => Some(c.remark),
        Err(e) if e.code() == Some(ErrorCode::NOT_FOUND) => None,
        other => panic!("contact: {other:?}"),
    }
}

/// Whether message `id` of `conversation` is readable in `reader`'s session.
fn readable(reader: &mut Client, conversation: u64, id: u64) -> bool {
    match reader.request(&Request::ConversationMessages {
        conversation,
        after: id - 1,
        limit: 1,
    }) {
        Ok(Response::Messages(list)) => list.first().is_some_and(|m| m.id == id),
        other => panic!("messages: {other:?}"),
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() - 1) * p / 100]
}

#[test]
fn the_standby_redirects_logins_serves_read_only_sessions_and_gives_way_when_promoted() {
    let etcd = etcd_cluster();
    let (home, a, b) = pair_home();
    let mut primary = Member::start(
        home.path(),
        &Spec::new("a", true, a.client, a.replication, &etcd.clients),
    );
    leader_is(&etcd.client(), PAIR, "a");
    let standby = Member::start(
        home.path(),
        &Spec::new("b", false, b.client, a.replication, &etcd.clients),
    );
    let key = account_with_agent(&primary, ACCOUNT);

    // A login at the standby ends on the primary (the address etcd's leader key names).
    let mut agent = poll(WITHIN, "a login at the standby redirected", || {
        let mut c = Client::connect(b.client, opts()).ok()?;
        c.login(ACCOUNT, 1001, PASSWORD).ok().map(|_| c)
    });
    assert_eq!(
        agent.server_addr(),
        Some(a.client),
        "logged in on the primary"
    );
    let (mut customer, conversation) = customer_on(b.client, ACCOUNT, key, "cust-1");
    assert_eq!(customer.server_addr(), Some(a.client));
    let sent = customer.request(&Request::SendMessage {
        conversation,
        client_msg_id: 1,
        body: MessageBody::Text("hello through the standby".into()),
    });
    assert!(matches!(sent, Ok(Response::Sent { .. })), "{sent:?}");
    assert!(matches!(
        agent.request(&Request::WhoAmI),
        Ok(Response::Session(_))
    ));

    // Read-only sessions: on the standby, and the same login on the primary.
    let mut on_standby = read_only_session(b.client);
    let mut on_primary = read_only_session(a.client);
    assert_eq!(
        on_standby.server_addr(),
        Some(b.client),
        "served by the standby"
    );
    for reader in [&mut on_standby, &mut on_primary] {
        assert_eq!(agents(reader), vec![1001]);
        let refused = reader.request(&Request::AddAgent {
            agent: 1002,
            nickname: "not here".into(),
            role: None,
        });
        let e = refused.expect_err("a write in a read-only session");
        assert_eq!(e.code(), Some(ErrorCode::READ_ONLY_MEMBER), "{e:?}");
    }
    let e = on_standby
        .request(&Request::SetAutoAccept { cap: 1 })
        .expect_err("refused");
    assert!(
        e.to_string().contains(&a.client.to_string()),
        "the refusal names the primary: {e}"
    );
    assert_eq!(agents(&mut agent), vec![1001], "nothing was added");

    // Freshness: the account is in the standby's memory (its CRM was read above); each
    // acknowledged change of a contact becomes readable there, and each message.
    let contact = id("fresh-contact");
    let created = agent.request(&Request::CreateContact {
        customer: contact.clone(),
        state: ContactState::Friend,
        edit: ContactEdit {
            remark: Some("r0".into()),
            ..ContactEdit::default()
        },
    });
    assert!(matches!(created, Ok(Response::Contact(_))), "{created:?}");
    let mut delays = Vec::with_capacity(WRITES as usize);
    for i in 1..=WRITES {
        let remark = format!("r{i}");
        let changed = agent.request(&Request::UpdateContact {
            customer: contact.clone(),
            edit: ContactEdit {
                remark: Some(remark.clone()),
                ..ContactEdit::default()
            },
        });
        assert!(matches!(changed, Ok(Response::Contact(_))), "{changed:?}");
        let acked = Instant::now();
        poll(
            Duration::from_secs(30),
            "the change readable on the standby",
            || (remark_of(&mut on_standby, &contact).as_ref() == Some(&remark)).then_some(()),
        );
        delays.push(acked.elapsed());
        // A message too: message pages are read from the store itself.
        let id = match customer.request(&Request::SendMessage {
            conversation,
            client_msg_id: i + 1,
            body: MessageBody::Text(format!("m{i}")),
        }) {
            Ok(Response::Sent { message, .. }) => message,
            other => panic!("send {i}: {other:?}"),
        };
        poll(
            Duration::from_secs(30),
            "the message readable on the standby",
            || readable(&mut on_standby, conversation, id).then_some(()),
        );
    }
    delays.sort();
    println!(
        "a contact's change read on the standby after the primary acknowledged it, {} \
         writes: p50 {:?}, p99 {:?}, max {:?}",
        delays.len(),
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays[delays.len() - 1]
    );
    let all = match on_standby.request(&Request::ConversationMessages {
        conversation,
        after: 0,
        limit: 500,
    }) {
        Ok(Response::Messages(list)) => list,
        other => panic!("messages: {other:?}"),
    };
    assert_eq!(all.len() as u64, WRITES + 1, "every message, once");

    // The primary dies: the standby takes over on the same port; its read-only sessions
    // are closed and ordinary logins are its own now.
    primary.kill();
    leader_is(&etcd.client(), PAIR, "b");
    poll(WITHIN, "the read-only session closed", || {
        on_standby
            .request(&Request::ListAgents)
            .is_err()
            .then_some(())
    });
    let mut agent = poll(WITHIN, "an ordinary login on the promoted member", || {
        let mut c = Client::connect(b.client, opts()).ok()?;
        c.login(ACCOUNT, 1001, PASSWORD).ok().map(|_| c)
    });
    assert_eq!(agent.server_addr(), Some(b.client));
    assert!(matches!(
        agent.request(&Request::SetAutoAccept { cap: 50 }),
        Ok(Response::Ok)
    ));
    let (mut customer, conversation) = customer_on(b.client, ACCOUNT, key, "cust-2");
    let sent = customer.request(&Request::SendMessage {
        conversation,
        client_msg_id: 1,
        body: MessageBody::Text("after the failover".into()),
    });
    assert!(matches!(sent, Ok(Response::Sent { .. })), "{sent:?}");
    // A read-only login there still reads, and still refuses writes.
    let mut reader = read_only_session(b.client);
    assert_eq!(agents(&mut reader), vec![1001]);
    assert_eq!(
        code(reader.request(&Request::SetAutoAccept { cap: 1 })),
        ErrorCode::READ_ONLY_MEMBER
    );

    // The old primary comes back: b leads at a newer epoch, and with nothing to follow
    // (no replication address published, no peer configured) a stays fenced — and
    // sends logins to b.
    let fenced = Member::start(
        home.path(),
        &Spec::new("a", true, a.client, a.replication, &etcd.clients),
    );
    let mut agent = poll(WITHIN, "a login at the fenced member redirected", || {
        let mut c = Client::connect(a.client, opts()).ok()?;
        c.login(ACCOUNT, 1001, PASSWORD).ok().map(|_| c)
    });
    assert_eq!(
        agent.server_addr(),
        Some(b.client),
        "logged in on the new primary"
    );

    // A password change ends the agent's read-only sessions on that member.
    let changed = agent.request(&Request::ChangeOwnPassword {
        old_password: PASSWORD.into(),
        new_password: "a new correct horse".into(),
    });
    assert!(changed.is_ok(), "{changed:?}");
    poll(WITHIN, "the read-only session ended", || {
        match reader.request(&Request::ListAgents) {
            Err(e) if e.code() == Some(ErrorCode::LOGGED_OUT) => Some(()),
            Err(e) => panic!("ended otherwise: {e:?}"),
            Ok(_) => None,
        }
    });
    drop((fenced, standby));
}
