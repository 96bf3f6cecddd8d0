//! The manual's rules of issue 11, points 1, 2 and 5, through real sockets to a real
//! kefud with the client library: designated agent and its no-response sub-option
//! (§7.15, §10.7; PROTOCOL.md 12.11), notices to customers and agents and the refusals
//! told apart (§3.5, §3.9, §10.7.2; PROTOCOL.md 12.12), and mobile customers (§3.13;
//! PROTOCOL.md 12.13).

mod support;

use kefu_daemon::clock::{Clock, ManualClock};
use kefu_wire::chat::{
    Alert, Channel, ChoiceList, ConversationInfo, ConversationState, DesignatedMode,
    DesignatedSettings, Entry, MessageBody,
};
use kefu_wire::{AgentProfile, Client, DisplayMode, ErrorCode, Event, Presence, Request, Response};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 811_001;

fn customer(s: &TestServer, key: &[u8; 32], id: &str, channel: Channel) -> Client {
    let mut c = s.client();
    let expires_at = now() + 30 * 86_400;
    let r = c
        .request(&Request::CustomerLogin {
            account: ACCOUNT,
            customer: id.into(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(key, ACCOUNT, id, expires_at),
            channel,
        })
        .unwrap();
    assert!(matches!(r, Response::CustomerLoggedIn(_)), "{r:?}");
    c
}

/// Logs `agent` in with an auto-accept cap.
fn agent(s: &TestServer, agent: u32, cap: u16) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap }).unwrap();
    a
}

/// An account with agents 1001 (administrator) to `last`, all with [`PASSWORD`].
fn setup(s: &TestServer, last: u32) -> [u8; 32] {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    for n in 1002..=last {
        add_agent(&mut admin, ACCOUNT, n, Some(PASSWORD));
    }
    customer_key(&mut admin, ACCOUNT)
}

fn designated(mode: DesignatedMode, hide_offline: bool, no_response: bool) -> Request {
    Request::SetDesignatedAgent {
        settings: DesignatedSettings {
            mode,
            hide_offline,
            no_response,
        },
    }
}

fn open(c: &mut Client, entry: Entry) -> Result<ConversationInfo, Option<ErrorCode>> {
    match c.request(&Request::OpenConversation { entry }) {
        Ok(Response::Conversation(info)) => Ok(info),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.code()),
    }
}

fn choices(c: &mut Client) -> ChoiceList {
    match c.request(&Request::DesignatedChoices).unwrap() {
        Response::Choices(list) => list,
        other => panic!("{other:?}"),
    }
}

/// The next alert `wanted` accepts, skipping other pushes.
fn alert_where(c: &mut Client, wanted: impl Fn(&Alert) -> bool) -> (u64, Alert) {
    loop {
        let p = c
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("an alert push");
        if let Event::ConversationAlert {
            conversation,
            alert,
        } = p.event
        {
            if wanted(&alert) {
                return (conversation, alert);
            }
        }
    }
}

fn code(c: &mut Client, request: &Request) -> Option<ErrorCode> {
    c.request(request).unwrap_err().code()
}

/// §7.15, §10.7.1 (C4): designated agent is a business setting (permission 12) kept
/// over a restart; a customer the account has not served chooses from the list
/// (offline agents left out on request, agents named by their display setting), its
/// `Auto` entry is refused until it does; a customer served before goes to the agent
/// who served it; a mobile customer does not choose (§3.13).
#[test]
fn designated_agent_7_15_first_contact_chooses_and_a_returning_customer_goes_back() {
    let mut s = TestServer::start();
    let key = setup(&s, 1003);
    let mut boss = agent(&s, 1001, 5);
    let mut sales = agent(&s, 1002, 5);
    boss.request(&Request::SetAgentProfile {
        agent: 1002,
        profile: AgentProfile {
            nickname: "销售小王".into(),
            group: "sales".into(),
            display: DisplayMode::AgentNumber,
            phone: String::new(),
        },
    })
    .unwrap();
    // 1003 (default role) may read the setting, not change it.
    let mut plain = s.client();
    plain.login(ACCOUNT, 1003, PASSWORD).unwrap();
    let set = designated(DesignatedMode::Agents, true, false);
    assert_eq!(code(&mut plain, &set), Some(ErrorCode::PERMISSION_DENIED));
    plain.request(&Request::Logout).unwrap();
    assert_eq!(boss.request(&set).unwrap(), Response::Ok);
    let want = Response::DesignatedAgent(DesignatedSettings {
        mode: DesignatedMode::Agents,
        hide_offline: true,
        no_response: false,
    });
    assert_eq!(boss.request(&Request::GetDesignatedAgent).unwrap(), want);

    // First contact: the list (1003 is offline and left out), named as shown.
    let mut alice = customer(&s, &key, "alice", Channel::Web);
    let list = choices(&mut alice);
    let names: Vec<(u32, &str, Presence)> = list
        .agents
        .iter()
        .map(|a| (a.agent, a.name.as_str(), a.presence))
        .collect();
    assert_eq!(names.len(), 2, "{list:?}");
    assert_eq!(names[1], (1002, "1002", Presence::Online));
    assert_eq!(names[0].0, 1001);
    assert!(list.groups.is_empty() && list.previous.is_none());
    assert_eq!(
        open(&mut alice, Entry::Auto),
        Err(Some(ErrorCode::CHOICE_REQUIRED))
    );
    let conv = open(&mut alice, Entry::Agent(1002)).unwrap();
    assert_eq!(conv.state, ConversationState::Assigned { agent: 1002 });
    let (_, served) = alert_where(&mut alice, |a| matches!(a, Alert::ServedBy { .. }));
    assert_eq!(
        served,
        Alert::ServedBy {
            agent: 1002,
            name: "1002".into()
        }
    );
    sales
        .request(&Request::CloseConversation {
            conversation: conv.conversation,
        })
        .unwrap();

    // Served before: no list, and `Auto` goes back to 1002 (1001 is as free).
    let list = choices(&mut alice);
    assert!(list.agents.is_empty() && list.groups.is_empty());
    assert_eq!(list.previous, Some(1002));
    let again = open(&mut alice, Entry::Auto).unwrap();
    assert_eq!(again.state, ConversationState::Assigned { agent: 1002 });

    // A mobile customer does not choose.
    let mut mo = customer(&s, &key, "mo", Channel::Mobile);
    assert_eq!(
        choices(&mut mo),
        ChoiceList {
            agents: vec![],
            groups: vec![],
            previous: None
        }
    );
    assert!(open(&mut mo, Entry::Auto).is_ok());

    // Groups mode lists groups; the setting survives a restart.
    boss.request(&designated(DesignatedMode::Groups, false, false))
        .unwrap();
    let mut bob = customer(&s, &key, "bob", Channel::Desktop);
    let list = choices(&mut bob);
    assert!(list.agents.is_empty());
    assert_eq!(list.groups.len(), 1);
    assert_eq!(
        (list.groups[0].name.as_str(), list.groups[0].online),
        ("sales", true)
    );
    drop((boss, sales, alice, mo, bob));
    s.restart();
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    assert_eq!(
        boss.request(&Request::GetDesignatedAgent).unwrap(),
        Response::DesignatedAgent(DesignatedSettings {
            mode: DesignatedMode::Groups,
            hide_offline: false,
            no_response: false,
        })
    );
}

/// §10.7.2 "正在等待客服1001销售小王接入，…您可以在下面输入留言或重新选择客服": when the
/// chosen agent is busy the customer is told whom it waits for, may leave a message, and
/// may choose again without waiting for a no-response offer.
#[test]
fn designated_agent_10_7_2_waiting_for_a_busy_agent_leave_a_message_or_choose_again() {
    let s = TestServer::start();
    let key = setup(&s, 1002);
    let mut boss = agent(&s, 1001, 5);
    let mut busy = agent(&s, 1002, 5);
    busy.request(&Request::SetPresence {
        presence: Presence::Busy,
    })
    .unwrap();
    boss.request(&designated(DesignatedMode::Agents, false, false))
        .unwrap();
    let mut ann = customer(&s, &key, "ann", Channel::Desktop);
    let waiting = open(&mut ann, Entry::Agent(1002)).unwrap();
    assert_eq!(
        waiting.state,
        ConversationState::Queued { target: Some(1002) }
    );
    let (conv, alert) = alert_where(&mut ann, |a| matches!(a, Alert::WaitingForAgent { .. }));
    assert_eq!(conv, waiting.conversation);
    assert_eq!(
        alert,
        Alert::WaitingForAgent {
            agent: 1002,
            name: "agent 1002".into()
        }
    );
    // A message left while waiting is stored.
    assert!(matches!(
        ann.request(&Request::SendMessage {
            conversation: conv,
            client_msg_id: 1,
            body: MessageBody::Text("请回电".into()),
        })
        .unwrap(),
        Response::Sent {
            duplicate: false,
            ..
        }
    ));
    // Choosing again.
    let moved = match ann
        .request(&Request::Reselect {
            conversation: conv,
            entry: Entry::Agent(1001),
        })
        .unwrap()
    {
        Response::Conversation(c) => c,
        other => panic!("{other:?}"),
    };
    assert_ne!(moved.conversation, conv);
    assert_eq!(moved.state, ConversationState::Assigned { agent: 1001 });
}

/// §7.15 (C8): the no-response prompt is a sub-option of designated agent — ticked
/// with designated agent off it does nothing; on, its timeout defaults to 15 minutes,
/// the agent is warned a minute before, and told when its answer clears the warning.
#[test]
fn no_response_7_15_only_with_designated_agent_15_minutes_by_default_and_cleared() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let s = TestServer::start_clocked(clock.clone());
    let key = setup(&s, 1002);
    let mut boss = agent(&s, 1001, 5);
    match boss.request(&Request::GetRoutingSettings).unwrap() {
        Response::RoutingSettings(r) => {
            assert_eq!((r.no_response_secs, r.no_response_warn_secs), (900, 60))
        }
        other => panic!("{other:?}"),
    }
    boss.request(&designated(DesignatedMode::Off, false, true))
        .unwrap();
    let mut ivy = customer(&s, &key, "ivy", Channel::Web);
    let conv = open(&mut ivy, Entry::Auto).unwrap().conversation;
    ivy.request(&Request::SendMessage {
        conversation: conv,
        client_msg_id: 1,
        body: MessageBody::Text("hello?".into()),
    })
    .unwrap();
    clock.advance(20 * 60_000);
    // No offer came: the customer may not choose again.
    let reselect = Request::Reselect {
        conversation: conv,
        entry: Entry::Agent(1002),
    };
    assert_eq!(code(&mut ivy, &reselect), Some(ErrorCode::INVALID_ARGUMENT));

    boss.request(&designated(DesignatedMode::Agents, false, true))
        .unwrap();
    let asked_at = clock.now_ms();
    ivy.request(&Request::SendMessage {
        conversation: conv,
        client_msg_id: 2,
        body: MessageBody::Text("anyone?".into()),
    })
    .unwrap();
    clock.advance(14 * 60_000);
    let (c, warning) = alert_where(&mut boss, |a| matches!(a, Alert::NoResponseWarning { .. }));
    assert_eq!(c, conv);
    assert_eq!(
        warning,
        Alert::NoResponseWarning {
            offer_at: asked_at + 15 * 60_000
        }
    );
    boss.request(&Request::SendMessage {
        conversation: conv,
        client_msg_id: 1,
        body: MessageBody::Text("here".into()),
    })
    .unwrap();
    let (c, cleared) = alert_where(&mut boss, |a| matches!(a, Alert::NoResponseCleared));
    assert_eq!((c, cleared), (conv, Alert::NoResponseCleared));
    // Answered: no offer at the timeout either.
    clock.advance(2 * 60_000);
    assert_eq!(code(&mut ivy, &reselect), Some(ErrorCode::INVALID_ARGUMENT));
}

/// §3.5, §3.9 (C5, C6): transfer and grab tell every agent involved, and their
/// refusals are told apart: to oneself, to an offline agent, a grab to confirm (naming
/// the agent it would be taken from), a grab of a queued conversation. A transfer to an
/// agent that cannot take it now (its cap) waits, and the sender is told.
#[test]
fn notices_3_5_3_9_transfer_and_grab_tell_both_agents_and_refusals_differ() {
    let s = TestServer::start();
    let key = setup(&s, 1003);
    let mut first = agent(&s, 1001, 5);
    let mut full = agent(&s, 1002, 0);
    let mut carol = customer(&s, &key, "carol", Channel::Desktop);
    let conv = open(&mut carol, Entry::Auto).unwrap();
    assert_eq!(conv.state, ConversationState::Assigned { agent: 1001 });
    let conv = conv.conversation;
    let transfer = |to_agent| Request::TransferConversation {
        conversation: conv,
        to_agent,
    };
    assert_eq!(
        code(&mut first, &transfer(1001)),
        Some(ErrorCode::TRANSFER_TO_SELF)
    );
    assert_eq!(
        code(&mut first, &transfer(1003)),
        Some(ErrorCode::TARGET_OFFLINE)
    );
    // 1002's cap is off: the transfer waits for it, and the sender hears so.
    match first.request(&transfer(1002)).unwrap() {
        Response::Conversation(c) => {
            assert_eq!(c.state, ConversationState::Queued { target: Some(1002) })
        }
        other => panic!("{other:?}"),
    }
    let (c, waiting) = alert_where(&mut first, |a| matches!(a, Alert::TransferWaiting { .. }));
    assert_eq!(c, conv);
    assert!(matches!(waiting, Alert::TransferWaiting { to: 1002, .. }));
    let (_, waiting) = alert_where(&mut carol, |a| matches!(a, Alert::WaitingForAgent { .. }));
    assert!(matches!(
        waiting,
        Alert::WaitingForAgent { agent: 1002, .. }
    ));
    full.request(&Request::AcceptConversation { conversation: conv })
        .unwrap();
    let (_, done) = alert_where(&mut first, |a| matches!(a, Alert::TransferCompleted { .. }));
    assert_eq!(done, Alert::TransferCompleted { to: 1002 });
    let (_, served) = alert_where(&mut carol, |a| matches!(a, Alert::ServedBy { .. }));
    assert!(matches!(served, Alert::ServedBy { agent: 1002, .. }));

    // 1001 (administrator: permission 2) grabs it back.
    let grab = |confirmed| Request::GrabConversation {
        conversation: conv,
        confirmed,
    };
    let e = first.request(&grab(false)).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::GRAB_NEEDS_CONFIRMATION));
    assert!(e.to_string().contains("1002"), "{e}");
    first.request(&grab(true)).unwrap();
    let (c, grabbed) = alert_where(&mut full, |a| matches!(a, Alert::GrabbedBy { .. }));
    assert_eq!((c, grabbed), (conv, Alert::GrabbedBy { by: 1001 }));

    // A conversation nobody serves is accepted, not grabbed.
    let mut dan = customer(&s, &key, "dan", Channel::Desktop);
    let queued = open(&mut dan, Entry::Agent(1002)).unwrap().conversation;
    assert_eq!(
        code(
            &mut first,
            &Request::GrabConversation {
                conversation: queued,
                confirmed: true
            }
        ),
        Some(ErrorCode::CONVERSATION_QUEUED)
    );
}

/// §3.13 (C1) "在与手机 QQ 聊天时，您无法向对方发送自定义表情以及传文件": images and files
/// towards a mobile customer are refused with `NOT_ON_MOBILE` (as calls are) and not
/// stored; text goes through; a desktop customer gets both.
#[test]
fn mobile_customers_3_13_get_no_files_or_images() {
    let s = TestServer::start();
    let key = setup(&s, 1001);
    let mut a = agent(&s, 1001, 5);
    let mut m = customer(&s, &key, "mo", Channel::Mobile);
    let mconv = open(&mut m, Entry::Auto).unwrap().conversation;
    let mut d = customer(&s, &key, "desk", Channel::Desktop);
    let dconv = open(&mut d, Entry::Auto).unwrap().conversation;
    let image = MessageBody::Image {
        reference: "img-1".into(),
    };
    let file = MessageBody::File {
        reference: "file-1".into(),
        name: "价目表.pdf".into(),
        size: 1024,
    };
    let send = |conversation, id, body: &MessageBody| Request::SendMessage {
        conversation,
        client_msg_id: id,
        body: body.clone(),
    };
    assert_eq!(
        code(&mut a, &send(mconv, 1, &image)),
        Some(ErrorCode::NOT_ON_MOBILE)
    );
    assert_eq!(
        code(&mut a, &send(mconv, 2, &file)),
        Some(ErrorCode::NOT_ON_MOBILE)
    );
    let text = MessageBody::Text("您好 😀".into());
    assert!(matches!(
        a.request(&send(mconv, 3, &text)).unwrap(),
        Response::Sent { .. }
    ));
    // Nothing but the text was stored.
    match m
        .request(&Request::ConversationMessages {
            conversation: mconv,
            after: 0,
            limit: 50,
        })
        .unwrap()
    {
        Response::Messages(list) => {
            assert!(list
                .iter()
                .all(|msg| matches!(msg.body, MessageBody::Text(_))));
            assert!(list.iter().any(|msg| msg.body == text));
        }
        other => panic!("{other:?}"),
    }
    for (id, body) in [(4, &image), (5, &file)] {
        assert!(matches!(
            a.request(&send(dconv, id, body)).unwrap(),
            Response::Sent { .. }
        ));
    }
}
