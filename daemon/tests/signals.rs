//! Ephemeral signals (C12: typing, shake, call and remote-assistance signalling) and
//! the account's presence (A6, §7.14) through real sockets.

mod support;

use kefu_daemon::shard::sign_customer;
use kefu_wire::chat::{
    AccountPresenceMode, CallKind, CallPhase, CallSignal, Channel, ConversationState, Party,
    Signal, MAX_CALL_PAYLOAD,
};
use kefu_wire::{Client, ErrorCode, Event, Presence, Request, Response};
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 850_001;

fn setup(s: &TestServer) -> (Client, [u8; 32]) {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some("password 1002"));
    let key = customer_key(&mut admin, ACCOUNT);
    (admin, key)
}

fn customer(s: &TestServer, key: &[u8; 32], id: &str) -> Client {
    login_customer(s.client(), key, ACCOUNT, id, now() + 30 * 86_400)
}

fn mobile_customer(s: &TestServer, key: &[u8; 32], id: &str) -> Client {
    let mut c = s.client();
    let expires_at = now() + 30 * 86_400;
    c.request(&Request::CustomerLogin {
        account: ACCOUNT,
        customer: id.into(),
        expires_at,
        signature: sign_customer(key, ACCOUNT, id, expires_at),
        channel: Channel::Mobile,
    })
    .unwrap();
    c
}

fn agent(s: &TestServer, agent: u32, cap: u16) -> Client {
    let mut a = s.client();
    let password = if agent == 1001 {
        PASSWORD.to_string()
    } else {
        format!("password {agent}")
    };
    a.login(ACCOUNT, agent, &password).unwrap();
    a.request(&Request::SetAutoAccept { cap }).unwrap();
    a
}

fn signal(c: &mut Client, conversation: u64, signal: Signal) -> Result<(), ErrorCode> {
    match c.request(&Request::Signal {
        conversation,
        signal,
    }) {
        Ok(Response::Ok) => Ok(()),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.code().expect("a typed error")),
    }
}

/// The next `Signal` push (skipping other pushes).
fn next_signal(c: &mut Client) -> (u64, Party, Signal) {
    loop {
        let p = c
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("a signal push");
        if let Event::Signal {
            conversation,
            from,
            signal,
        } = p.event
        {
            return (conversation, from, signal);
        }
    }
}

/// The pushes that arrive within a short wait.
fn quiet_pushes(c: &mut Client) -> Vec<Event> {
    let mut out = Vec::new();
    while let Some(p) = c.next_push(Duration::from_millis(300)).unwrap() {
        out.push(p.event);
    }
    out
}

fn no_signal(c: &mut Client) {
    let got: Vec<Event> = quiet_pushes(c)
        .into_iter()
        .filter(|e| matches!(e, Event::Signal { .. }))
        .collect();
    assert!(got.is_empty(), "{got:?}");
}

/// The next `AccountPresenceChanged` push (skipping other pushes).
fn next_account_presence(c: &mut Client) -> Presence {
    loop {
        let p = c
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("an account presence push");
        if let Event::AccountPresenceChanged { presence } = p.event {
            return presence;
        }
    }
}

fn no_account_presence(c: &mut Client) {
    let got: Vec<Event> = quiet_pushes(c)
        .into_iter()
        .filter(|e| matches!(e, Event::AccountPresenceChanged { .. }))
        .collect();
    assert!(got.is_empty(), "{got:?}");
}

fn account_presence(c: &mut Client) -> (Presence, Option<AccountPresenceMode>) {
    match c.request(&Request::GetAccountPresence).unwrap() {
        Response::AccountPresence { presence, mode } => (presence, mode),
        other => panic!("{other:?}"),
    }
}

fn call(kind: CallKind, phase: CallPhase, payload: Vec<u8>) -> Signal {
    Signal::Call(CallSignal {
        kind,
        phase,
        call: 77,
        payload,
    })
}

#[test]
fn typing_is_relayed_both_ways() {
    let s = TestServer::start();
    let (_admin, key) = setup(&s);
    let mut a = agent(&s, 1001, 5);
    let mut c = customer(&s, &key, "alice");
    let conv = open(&mut c).conversation;

    signal(&mut c, conv, Signal::TypingStarted).unwrap();
    assert_eq!(
        next_signal(&mut a),
        (conv, Party::Customer, Signal::TypingStarted)
    );
    signal(&mut c, conv, Signal::TypingStopped).unwrap();
    assert_eq!(
        next_signal(&mut a),
        (conv, Party::Customer, Signal::TypingStopped)
    );
    signal(&mut a, conv, Signal::TypingStarted).unwrap();
    assert_eq!(
        next_signal(&mut c),
        (conv, Party::Agent(1001), Signal::TypingStarted)
    );
    // Not stored: the conversation's messages are still none.
    match a
        .request(&Request::ConversationMessages {
            conversation: conv,
            after: 0,
            limit: 100,
        })
        .unwrap()
    {
        Response::Messages(m) => assert!(m.is_empty(), "{m:?}"),
        other => panic!("{other:?}"),
    }
    // The other side gone: dropped, still Ok.
    drop(c);
    std::thread::sleep(Duration::from_millis(200));
    signal(&mut a, conv, Signal::TypingStopped).unwrap();
}

#[test]
fn shakes_are_rate_limited_per_sender() {
    let clock = std::sync::Arc::new(kefu_daemon::clock::ManualClock::new(now() * 1000));
    let s = TestServer::start_clocked(std::sync::Arc::clone(&clock));
    let (_admin, key) = setup(&s);
    let mut a = agent(&s, 1001, 5);
    let mut c = customer(&s, &key, "alice");
    let conv = open(&mut c).conversation;

    signal(&mut c, conv, Signal::Shake).unwrap();
    assert_eq!(next_signal(&mut a), (conv, Party::Customer, Signal::Shake));
    clock.advance(4_999);
    assert_eq!(
        signal(&mut c, conv, Signal::Shake),
        Err(ErrorCode::RATE_LIMITED)
    );
    no_signal(&mut a);
    // The agent has its own allowance.
    signal(&mut a, conv, Signal::Shake).unwrap();
    assert_eq!(
        next_signal(&mut c),
        (conv, Party::Agent(1001), Signal::Shake)
    );
    assert_eq!(
        signal(&mut a, conv, Signal::Shake),
        Err(ErrorCode::RATE_LIMITED)
    );
    // Typing is not limited.
    signal(&mut c, conv, Signal::TypingStarted).unwrap();
    assert_eq!(
        next_signal(&mut a),
        (conv, Party::Customer, Signal::TypingStarted)
    );
    clock.advance(1);
    signal(&mut c, conv, Signal::Shake).unwrap();
    assert_eq!(next_signal(&mut a), (conv, Party::Customer, Signal::Shake));
}

#[test]
fn call_signalling_is_relayed_intact_and_bounded() {
    let s = TestServer::start();
    let (_admin, key) = setup(&s);
    let mut a = agent(&s, 1001, 5);
    let mut c = customer(&s, &key, "alice");
    let conv = open(&mut c).conversation;

    // The largest payload allowed, every byte value in it.
    let offer: Vec<u8> = (0..MAX_CALL_PAYLOAD).map(|i| (i * 7 % 251) as u8).collect();
    let sdp = call(CallKind::Video, CallPhase::Offer, offer);
    signal(&mut a, conv, sdp.clone()).unwrap();
    assert_eq!(next_signal(&mut c), (conv, Party::Agent(1001), sdp));
    let answer = call(
        CallKind::Video,
        CallPhase::Answer,
        b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n".to_vec(),
    );
    signal(&mut c, conv, answer.clone()).unwrap();
    assert_eq!(next_signal(&mut a), (conv, Party::Customer, answer));
    for (phase, payload) in [
        (
            CallPhase::IceCandidate,
            b"candidate:1 1 udp 2113937151 10.0.0.2 5000 typ host".to_vec(),
        ),
        (CallPhase::HangUp, Vec::new()),
    ] {
        let s = call(CallKind::Video, phase, payload);
        signal(&mut c, conv, s.clone()).unwrap();
        assert_eq!(next_signal(&mut a), (conv, Party::Customer, s));
    }
    // Remote assistance offered by the customer (it shows its desktop), voice by the agent.
    let assist = call(CallKind::RemoteAssist, CallPhase::Offer, vec![1, 2, 3]);
    signal(&mut c, conv, assist.clone()).unwrap();
    assert_eq!(next_signal(&mut a), (conv, Party::Customer, assist));
    let voice = call(CallKind::Voice, CallPhase::Offer, vec![9]);
    signal(&mut a, conv, voice.clone()).unwrap();
    assert_eq!(next_signal(&mut c), (conv, Party::Agent(1001), voice));

    // One byte over: refused, nothing relayed.
    let big = call(
        CallKind::Voice,
        CallPhase::Offer,
        vec![0; MAX_CALL_PAYLOAD + 1],
    );
    assert_eq!(
        signal(&mut a, conv, big.clone()),
        Err(ErrorCode::INVALID_ARGUMENT)
    );
    assert_eq!(signal(&mut c, conv, big), Err(ErrorCode::INVALID_ARGUMENT));
    no_signal(&mut c);
    no_signal(&mut a);

    // A mobile customer: typing and shakes, but no calls either way (§3.13).
    let mut m = mobile_customer(&s, &key, "bob");
    let mconv = open(&mut m).conversation;
    let offer = call(CallKind::Voice, CallPhase::Offer, vec![1]);
    assert_eq!(
        signal(&mut m, mconv, offer.clone()),
        Err(ErrorCode::NOT_ON_MOBILE)
    );
    assert_eq!(signal(&mut a, mconv, offer), Err(ErrorCode::NOT_ON_MOBILE));
    signal(&mut m, mconv, Signal::TypingStarted).unwrap();
    assert_eq!(
        next_signal(&mut a),
        (mconv, Party::Customer, Signal::TypingStarted)
    );
}

#[test]
fn signals_outside_ones_conversation_are_refused() {
    let s = TestServer::start();
    let (_admin, key) = setup(&s);
    let mut a = agent(&s, 1001, 5);
    let mut other = agent(&s, 1002, 0);
    let mut alice = customer(&s, &key, "alice");
    let mut bob = customer(&s, &key, "bob");
    let a_conv = open(&mut alice).conversation;
    let b_conv = open(&mut bob).conversation;

    // A customer: only its own open conversation.
    assert_eq!(
        signal(&mut alice, b_conv, Signal::TypingStarted),
        Err(ErrorCode::NOT_IN_CONVERSATION)
    );
    assert_eq!(
        signal(&mut alice, 999, Signal::Shake),
        Err(ErrorCode::NOT_IN_CONVERSATION)
    );
    // An agent: only conversations assigned to it.
    assert_eq!(
        signal(&mut other, a_conv, Signal::TypingStarted),
        Err(ErrorCode::NOT_IN_CONVERSATION)
    );
    assert_eq!(
        signal(&mut a, 999, Signal::TypingStarted),
        Err(ErrorCode::NOT_IN_CONVERSATION)
    );
    no_signal(&mut bob);
    no_signal(&mut a);

    // Closed: no longer anyone's.
    a.request(&Request::CloseConversation {
        conversation: a_conv,
    })
    .unwrap();
    assert_eq!(
        signal(&mut a, a_conv, Signal::TypingStarted),
        Err(ErrorCode::NOT_IN_CONVERSATION)
    );
    assert_eq!(
        signal(&mut alice, a_conv, Signal::TypingStarted),
        Err(ErrorCode::NOT_IN_CONVERSATION)
    );

    // Queued (nobody can auto-accept): the customer's own, accepted, relayed to nobody.
    a.request(&Request::SetAutoAccept { cap: 0 }).unwrap();
    let queued = open(&mut alice);
    assert!(matches!(queued.state, ConversationState::Queued { .. }));
    signal(&mut alice, queued.conversation, Signal::TypingStarted).unwrap();
    assert_eq!(
        signal(&mut other, queued.conversation, Signal::TypingStarted),
        Err(ErrorCode::NOT_IN_CONVERSATION)
    );
    no_signal(&mut a);
    no_signal(&mut other);
}

#[test]
fn account_presence_follows_the_agents_and_is_pushed_to_customers() {
    let s = TestServer::start();
    let (_admin, key) = setup(&s);
    let mut c = customer(&s, &key, "alice");
    assert_eq!(account_presence(&mut c), (Presence::Offline, None));

    let mut a = agent(&s, 1001, 0);
    assert_eq!(next_account_presence(&mut c), Presence::Online);
    assert_eq!(
        account_presence(&mut a),
        (Presence::Online, Some(AccountPresenceMode::FromAgents))
    );
    let mut b = agent(&s, 1002, 0);
    no_account_presence(&mut c);

    // Everyone away → away; one online is enough for online.
    a.request(&Request::SetPresence {
        presence: Presence::Away,
    })
    .unwrap();
    no_account_presence(&mut c);
    b.request(&Request::SetPresence {
        presence: Presence::Away,
    })
    .unwrap();
    assert_eq!(next_account_presence(&mut c), Presence::Away);
    assert_eq!(account_presence(&mut c), (Presence::Away, None));
    b.request(&Request::SetPresence {
        presence: Presence::Online,
    })
    .unwrap();
    assert_eq!(next_account_presence(&mut c), Presence::Online);

    // Everyone logged out (or gone) → offline.
    b.request(&Request::Logout).unwrap();
    assert_eq!(next_account_presence(&mut c), Presence::Away);
    drop(a);
    assert_eq!(next_account_presence(&mut c), Presence::Offline);
    assert_eq!(account_presence(&mut c), (Presence::Offline, None));
}

#[test]
fn always_online_needs_permission_12_and_survives_a_restart() {
    let mut s = TestServer::start();
    let (_admin, key) = setup(&s);
    let mut c = customer(&s, &key, "alice");
    let mut boss = agent(&s, 1001, 0);
    assert_eq!(next_account_presence(&mut c), Presence::Online);
    boss.request(&Request::SetPresence {
        presence: Presence::Away,
    })
    .unwrap();
    assert_eq!(next_account_presence(&mut c), Presence::Away);

    // 1002's default role lacks business settings.
    let mut clerk = agent(&s, 1002, 0);
    let always = Request::SetAccountPresenceMode {
        mode: AccountPresenceMode::AlwaysOnline,
    };
    assert_eq!(
        clerk.request(&always).unwrap_err().code(),
        Some(ErrorCode::PERMISSION_DENIED)
    );
    assert_eq!(next_account_presence(&mut c), Presence::Online); // 1002 logged in
    clerk
        .request(&Request::SetPresence {
            presence: Presence::Away,
        })
        .unwrap();
    assert_eq!(next_account_presence(&mut c), Presence::Away);
    give_role(&mut boss, 1002, &[12]);
    clerk.request(&always).unwrap();
    assert_eq!(next_account_presence(&mut c), Presence::Online);
    assert_eq!(
        account_presence(&mut boss),
        (Presence::Online, Some(AccountPresenceMode::AlwaysOnline))
    );

    // Routing settings leave the mode alone.
    let routing = match boss.request(&Request::GetRoutingSettings).unwrap() {
        Response::RoutingSettings(r) => r,
        other => panic!("{other:?}"),
    };
    boss.request(&Request::SetRoutingSettings { settings: routing })
        .unwrap();
    // Nobody online: still online.
    drop(boss);
    clerk.request(&Request::Logout).unwrap();
    no_account_presence(&mut c);
    assert_eq!(account_presence(&mut c), (Presence::Online, None));
    drop(clerk);
    drop(c);

    s.restart();
    let mut c = customer(&s, &key, "alice");
    assert_eq!(account_presence(&mut c), (Presence::Online, None));
    let mut boss = agent(&s, 1001, 0);
    assert_eq!(
        account_presence(&mut boss),
        (Presence::Online, Some(AccountPresenceMode::AlwaysOnline))
    );
    // Back to the agents' presence: nobody is online but an away boss.
    boss.request(&Request::SetPresence {
        presence: Presence::Away,
    })
    .unwrap();
    no_account_presence(&mut c);
    boss.request(&Request::SetAccountPresenceMode {
        mode: AccountPresenceMode::FromAgents,
    })
    .unwrap();
    assert_eq!(next_account_presence(&mut c), Presence::Away);
}
