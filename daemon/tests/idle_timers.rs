//! A time rule on an idle daemon, through real sockets and the real clock: the shard's
//! loop sleeps until the centre's next deadline (`centre/wake.rs`), so a routing timer
//! fires with nothing else happening. Before, the loop woke once a second and such a
//! timer fired up to a second late.
//!
//! What is asserted is behaviour: the time-out fires on a daemon nobody talks to, and
//! never before the deadline the daemon announced. How late it fired is printed, not
//! asserted: requests until 1.5 s before the deadline put the old loop's once-a-second
//! turn half a second off it, and the old loop printed 501–502 ms (8 runs), this one
//! 1 ms; but a bound would be a timing assertion, and on this 2-core box under load a
//! run of the new loop was once 466 ms late. The exact wake time is checked in memory
//! over the manual clock (`centre_wake.rs`).

mod support;

use kefu_daemon::clock::{Clock, SystemClock};
use kefu_wire::chat::{Alert, ConversationState, Entry, RoutingConfig};
use kefu_wire::{Presence, Request, Response};
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 872_001;
/// The longest the test waits for a push: a bound on a hung daemon, not a measure.
const WAIT: Duration = Duration::from_secs(30);

/// The real clock, read as the daemon reads it (its deadlines are on it).
fn now_ms() -> i64 {
    SystemClock.now_ms()
}

#[test]
fn a_transfer_time_out_fires_on_an_idle_daemon_never_before_its_deadline() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut sender = s.client();
    sender.login(ACCOUNT, 1001, PASSWORD).expect("1001 logs in");
    sender
        .request(&Request::SetAutoAccept { cap: 0 })
        .expect("cap");
    sender
        .request(&Request::SetRoutingSettings {
            settings: RoutingConfig {
                exclusive: false,
                no_response_secs: 0,
                no_response_warn_secs: 60,
                transfer_timeout_secs: 2,
                utc_offset_minutes: 0,
                welcome: vec![],
                busy_reply: None,
                away_reply: None,
            },
        })
        .expect("a two-second transfer time-out");
    add_agent(&mut admin, ACCOUNT, 1002, Some("agent password"));
    let mut busy = s.client();
    busy.login(ACCOUNT, 1002, "agent password")
        .expect("1002 logs in");
    busy.request(&Request::SetPresence {
        presence: Presence::Busy,
    })
    .expect("busy");
    let mut liam = login_customer(s.client(), &key, ACCOUNT, "liam", now() + 3_600);
    let conv = match liam
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .expect("open")
    {
        Response::Conversation(c) => c.conversation,
        other => panic!("{other:?}"),
    };
    sender
        .request(&Request::AcceptConversation { conversation: conv })
        .expect("accept");
    match sender
        .request(&Request::TransferConversation {
            conversation: conv,
            to_agent: 1002,
        })
        .expect("transfer")
    {
        Response::Conversation(c) => {
            assert_eq!(c.state, ConversationState::Queued { target: Some(1002) })
        }
        other => panic!("{other:?}"),
    }
    let deadline = match alert_of(&mut sender, WAIT) {
        Alert::TransferWaiting { to: 1002, deadline } => deadline,
        other => panic!("{other:?}"),
    };
    // Requests until 1.5 s before the deadline: a loop that woke once a second from
    // its last turn would wake half a second past the deadline.
    while now_ms() < deadline - 1_500 {
        sender.request(&Request::ListConversations).expect("list");
    }
    // From here on nobody sends anything: only the daemon's own wake fires it.
    assert_eq!(
        alert_of(&mut sender, WAIT),
        Alert::TransferFailedBack { to: 1002 }
    );
    let received = now_ms();
    assert!(
        received >= deadline,
        "fired {} ms before its deadline",
        deadline - received
    );
    eprintln!(
        "transfer time-out: fail-back received {} ms after the announced deadline",
        received - deadline
    );
    match sender.request(&Request::ListConversations).expect("list") {
        Response::Conversations(list) => assert_eq!(
            list.iter().map(|c| c.conversation).collect::<Vec<_>>(),
            vec![conv]
        ),
        other => panic!("{other:?}"),
    }
}
