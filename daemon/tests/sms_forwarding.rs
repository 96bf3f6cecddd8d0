//! Offline messages and SMS forwarding (C14, manual §3.6, §4.5.2–4.5.4; PROTOCOL.md
//! section 27) through real sockets to a real kefud with the client library, an
//! injected clock and a gateway played by a local HTTP server on 127.0.0.1:0 (a std
//! `TcpListener` in a thread, answering each POST with the status its script says):
//! messages written while nobody is online wait across a restart and reach the agent
//! routing gives the conversation to, once and in order; a forwarded message reaches
//! the gateway as the documented JSON, its units are charged exactly once across an
//! outage, its retries and a restart in the middle; the last failed attempt makes a
//! dead letter and gives the units back; a phone reply lands in the conversation; the
//! refusals (no bound phone, no balance, no gateway, too long, agent online) change
//! nothing.

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_daemon::config::Config;
use kefu_daemon::server::{self, ServerHandle};
use kefu_wire::chat::{Alert, Channel, ConversationState, MessageBody, MessageInfo, Party};
use kefu_wire::sms::{SmsBalance, SmsDeadLetter};
use kefu_wire::{AgentProfile, Client, DisplayMode, ErrorCode, Event, Request, Response};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 814_140;
const MINUTE: i64 = 60_000;
const PHONE: &str = "+86 138 0000 1002";

/// The gateway: every POST's body goes to the channel with the status it was answered
/// (taken from the front of the script; 200 once the script is empty; 0 means the
/// connection is closed without an answer).
struct Gateway {
    url: String,
    posts: Receiver<(String, u16)>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Gateway {
    fn start(script: &[u16]) -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let (tx, posts) = channel();
        let s = Arc::clone(&script);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0usize;
                let mut first = String::new();
                reader.read_line(&mut first).unwrap();
                assert!(first.starts_with("POST /sms HTTP/1.1"), "{first:?}");
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let l = line.to_ascii_lowercase();
                    if let Some(v) = l.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if l.contains("content-type:") {
                        assert!(l.contains("application/json"), "{line}");
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let status = s.lock().unwrap().pop_front().unwrap_or(200);
                if status != 0 {
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(reply.as_bytes());
                }
                drop(stream);
                if tx.send((String::from_utf8(body).unwrap(), status)).is_err() {
                    return;
                }
            }
        });
        Gateway { url, posts, script }
    }

    /// The next POST (body, status it got).
    fn next(&self) -> (String, u16) {
        self.posts
            .recv_timeout(Duration::from_secs(20))
            .expect("the gateway is called")
    }
}

struct Appliance {
    handle: Option<ServerHandle>,
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    url: Option<String>,
}

impl Appliance {
    fn start(url: Option<&str>) -> Appliance {
        let mut a = Appliance {
            handle: None,
            dir: tempfile::tempdir().unwrap(),
            clock: Arc::new(ManualClock::new((now() + 86_400) * 1000)),
            url: url.map(str::to_owned),
        };
        a.boot();
        a
    }

    fn boot(&mut self) {
        self.handle = Some(start(self.dir.path(), self.url.clone(), self.clock.clone()));
    }

    fn restart(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
        self.boot();
    }

    fn handle(&self) -> &ServerHandle {
        self.handle.as_ref().unwrap()
    }

    fn client(&self) -> Client {
        Client::connect(self.handle().tcp_addr().unwrap(), opts()).unwrap()
    }

    fn admin(&self) -> Client {
        Client::connect_unix(self.handle().admin_socket().unwrap(), opts()).unwrap()
    }
}

fn start(dir: &Path, url: Option<String>, clock: Arc<ManualClock>) -> ServerHandle {
    let mut config = Config::for_tests(dir);
    config.sms.url = url;
    config.sms.max_attempts = 3;
    config.sms.backoff_secs = 60;
    config.sms.max_backoff_secs = 600;
    config.sms.timeout_ms = 5_000;
    server::start_with_clock(config, clock).expect("daemon starts")
}

/// Account with agents 1001 and 1002; 1002's phone bound. Returns the customer key.
fn setup(a: &Appliance) -> [u8; 32] {
    let mut admin = a.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let profile = AgentProfile {
        nickname: "小张".into(),
        group: String::new(),
        display: DisplayMode::Nickname,
        phone: PHONE.into(),
    };
    let set = Request::SetAgentProfile {
        agent: 1002,
        profile,
    };
    let r = admin.request(&Request::on_account(ACCOUNT, &set)).unwrap();
    assert_eq!(r, Response::Ok);
    customer_key(&mut admin, ACCOUNT)
}

fn customer(a: &Appliance, key: &[u8; 32], id: &str) -> Client {
    let mut c = a.client();
    let expires_at = now() + 30 * 86_400;
    let r = c
        .request(&Request::CustomerLogin {
            account: ACCOUNT,
            customer: id.into(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(key, ACCOUNT, id, expires_at),
            channel: Channel::Desktop,
        })
        .unwrap();
    assert!(matches!(r, Response::CustomerLoggedIn(_)), "{r:?}");
    c
}

fn send(c: &mut Client, conversation: u64, client_msg_id: u64, text: &str) -> u64 {
    match c
        .request(&Request::SendMessage {
            conversation,
            client_msg_id,
            body: MessageBody::Text(text.into()),
        })
        .unwrap()
    {
        Response::Sent { message, .. } => message,
        other => panic!("{other:?}"),
    }
}

/// Every push received so far, without waiting for more.
fn drain(c: &mut Client) -> Vec<Event> {
    let mut out = Vec::new();
    while let Some(p) = c.next_push(Duration::ZERO).unwrap() {
        out.push(p.event);
    }
    out
}

fn nobody_online_alerts(events: &[Event]) -> Vec<Vec<u32>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ConversationAlert {
                alert: Alert::NobodyOnline { phones },
                ..
            } => Some(phones.iter().map(|p| p.agent).collect()),
            _ => None,
        })
        .collect()
}

fn messages_of(events: &[Event]) -> Vec<MessageInfo> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn text(m: &MessageInfo) -> &str {
    match &m.body {
        MessageBody::Text(t) => t,
        other => panic!("{other:?}"),
    }
}

fn forward(c: &mut Client, conversation: u64, message: u64, agent: u32) -> Result<u64, ErrorCode> {
    match c.request(&Request::ForwardSms {
        conversation,
        message,
        agent,
    }) {
        Ok(Response::SmsQueued { sms, .. }) => Ok(sms),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.code().expect("a typed refusal")),
    }
}

fn balance(admin: &mut Client) -> SmsBalance {
    match admin
        .request(&Request::AdminSmsBalance { account: ACCOUNT })
        .unwrap()
    {
        Response::SmsBalance(b) => b,
        other => panic!("{other:?}"),
    }
}

fn top_up(admin: &mut Client, units: u32) -> SmsBalance {
    match admin
        .request(&Request::AdminSmsTopUp {
            account: ACCOUNT,
            units,
        })
        .unwrap()
    {
        Response::SmsBalance(b) => b,
        other => panic!("{other:?}"),
    }
}

fn dead_letters(admin: &mut Client) -> Vec<SmsDeadLetter> {
    match admin
        .request(&Request::AdminSmsDeadLetters { account: ACCOUNT })
        .unwrap()
    {
        Response::SmsDeadLetters(d) => d,
        other => panic!("{other:?}"),
    }
}

fn open_conversation(c: &mut Client) -> u64 {
    let info = open(c);
    assert!(
        matches!(info.state, ConversationState::Queued { .. }),
        "nobody online: it waits ({info:?})"
    );
    info.conversation
}

/// A JSON field of the gateway's body, as its raw text (numbers) or string.
fn field<'a>(json: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\":");
    let at = json
        .find(&key)
        .unwrap_or_else(|| panic!("{name} in {json}"))
        + key.len();
    let rest = &json[at..];
    if let Some(s) = rest.strip_prefix('"') {
        &s[..s.find('"').unwrap()]
    } else {
        &rest[..rest.find([',', '}']).unwrap()]
    }
}

/// §3.6: with nobody online the customer is told once (with the agents it may text),
/// its messages are kept across a restart, and the agent that takes the conversation
/// at its next login is pushed them once, in order.
#[test]
fn c14_offline_messages_survive_a_restart_and_reach_the_next_agent_once_in_order() {
    let mut a = Appliance::start(None);
    let key = setup(&a);
    let mut c = customer(&a, &key, "alice");
    let conversation = open_conversation(&mut c);
    let texts = ["在吗？", "我想问一下价格", "明天再来"];
    let ids: Vec<u64> = (1..)
        .zip(texts)
        .map(|(i, t)| send(&mut c, conversation, i, t))
        .collect();
    let told = nobody_online_alerts(&drain(&mut c));
    assert_eq!(
        told,
        vec![vec![1002]],
        "told once, naming the agent with a phone"
    );
    drop(c);

    a.restart();
    let mut agent = a.client();
    agent.login(ACCOUNT, 1002, PASSWORD).unwrap();
    agent.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    // A round trip after the assignment's turn: the backlog is pushed the turn after.
    agent.request(&Request::GetServerTime).unwrap();
    agent.request(&Request::GetServerTime).unwrap();
    let events = drain(&mut agent);
    let got = messages_of(&events);
    assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    assert_eq!(got.iter().map(text).collect::<Vec<_>>(), texts);
    assert!(got
        .iter()
        .all(|m| m.from == Party::Customer && m.conversation == conversation));
    let taken = events.iter().position(|e| {
        matches!(e, Event::ConversationChanged(i)
            if i.conversation == conversation && i.state == ConversationState::Assigned { agent: 1002 })
    });
    let first_message = events.iter().position(|e| matches!(e, Event::Message(_)));
    assert!(taken < first_message, "state first: {events:?}");
    // Once: nothing more comes, and the customer's next message arrives once.
    let mut c = customer(&a, &key, "alice");
    let later = send(&mut c, conversation, 10, "你好");
    agent.request(&Request::GetServerTime).unwrap();
    let again = messages_of(&drain(&mut agent));
    assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), vec![later]);
    // An agent online now: the customer is not told nobody is.
    assert!(nobody_online_alerts(&drain(&mut c)).is_empty());
}

/// §4.5.2–4.5.4: a forwarded message reaches the gateway as JSON; an outage (500s and
/// a dropped connection) is retried on the backoff, across a restart in the middle;
/// one unit is charged exactly once; the phone's reply comes back into the
/// conversation as a message from the agent, once however often the bridge repeats it.
#[test]
fn c14_sms_forwarded_through_an_outage_and_a_restart_charged_once_reply_threaded_back() {
    let gw = Gateway::start(&[500, 0]);
    let mut a = Appliance::start(Some(&gw.url));
    let key = setup(&a);
    let mut admin = a.admin();
    assert_eq!(top_up(&mut admin, 3).units, 3);
    let mut c = customer(&a, &key, "bob");
    let conversation = open_conversation(&mut c);
    let message = send(&mut c, conversation, 1, "请回电话：王先生");
    let sms = forward(&mut c, conversation, message, 1002).unwrap();
    // Charged at once, held until the gateway takes it.
    let b = balance(&mut admin);
    assert_eq!((b.units, b.reserved, b.spent), (2, 1, 0));
    // Forwarding the same message again is the same SMS, not a second charge.
    assert_eq!(forward(&mut c, conversation, message, 1002), Ok(sms));
    assert_eq!(balance(&mut admin).units, 2);

    // First attempt: 500.
    let (body, status) = gw.next();
    assert_eq!(status, 500);
    assert_eq!(field(&body, "id"), format!("{ACCOUNT}-{sms}"));
    assert_eq!(field(&body, "account"), ACCOUNT.to_string());
    assert_eq!(field(&body, "sms"), sms.to_string());
    assert_eq!(field(&body, "agent"), "1002");
    assert_eq!(field(&body, "to"), PHONE);
    assert_eq!(field(&body, "text"), "请回电话：王先生");
    assert_eq!(field(&body, "segments"), "1");
    assert_eq!(field(&body, "attempt"), "1");

    // A restart in the middle of the outage, once the failed attempt is stored: the
    // SMS waits in the outbox.
    while balance(&mut admin).failed_attempts < 1 {}
    a.restart();
    let mut admin = a.admin();
    let b = balance(&mut admin);
    assert_eq!(
        (b.units, b.reserved, b.spent, b.failed_attempts),
        (2, 1, 0, 1),
        "{b:?}"
    );
    // Its backoff (60 s) passes on the injected clock: the second attempt gets no answer.
    a.clock.advance(MINUTE);
    let (body, status) = gw.next();
    assert_eq!((field(&body, "attempt"), status), ("2", 0));
    // Then 120 s: the third attempt is taken.
    a.clock.advance(2 * MINUTE);
    let (body, status) = gw.next();
    assert_eq!((field(&body, "attempt"), status), ("3", 200));
    assert_eq!(field(&body, "id"), format!("{ACCOUNT}-{sms}"));
    // Settled once: spent, nothing held, and no further attempt whatever time passes.
    let settled = |admin: &mut Client| loop {
        let b = balance(admin);
        if b.reserved == 0 {
            return b;
        }
        admin.request(&Request::AdminClockShow).unwrap();
    };
    let b = settled(&mut admin);
    assert_eq!((b.units, b.reserved, b.spent, b.refunded), (2, 0, 1, 0));
    assert_eq!(b.failed_attempts, 2);
    a.clock.advance(60 * MINUTE);
    a.restart();
    let mut admin = a.admin();
    assert_eq!(
        balance(&mut admin),
        b,
        "nothing charged again after a restart"
    );
    assert!(dead_letters(&mut admin).is_empty());
    assert!(
        gw.posts.try_recv().is_err(),
        "no attempt after the gateway took it"
    );

    // The phone replies; the bridge calls the admin socket (twice: stored once).
    let mut c = customer(&a, &key, "bob");
    let reply = Request::AdminSmsReply {
        account: ACCOUNT,
        sms,
        reply_id: 77,
        text: "好的，马上回电".into(),
    };
    let first = admin.request(&reply).unwrap();
    let Response::Sent {
        message: reply_message,
        duplicate: false,
    } = first
    else {
        panic!("{first:?}")
    };
    assert_eq!(
        admin.request(&reply).unwrap(),
        Response::Sent {
            message: reply_message,
            duplicate: true
        }
    );
    c.request(&Request::GetAccountPresence).unwrap();
    let pushed = messages_of(&drain(&mut c));
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    assert_eq!(pushed[0].id, reply_message);
    assert_eq!(pushed[0].from, Party::Agent(1002));
    assert_eq!(text(&pushed[0]), "好的，马上回电");
    // Stored in the conversation: the customer reads it back, and so does the agent
    // that takes the conversation (its backlog).
    let stored = match c
        .request(&Request::ConversationMessages {
            conversation,
            after: 0,
            limit: 100,
        })
        .unwrap()
    {
        Response::Messages(m) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        stored.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![message, reply_message]
    );
    let mut agent = a.client();
    agent.login(ACCOUNT, 1002, PASSWORD).unwrap();
    agent.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    agent.request(&Request::GetServerTime).unwrap();
    agent.request(&Request::GetServerTime).unwrap();
    let backlog = messages_of(&drain(&mut agent));
    assert_eq!(
        backlog.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![message, reply_message]
    );
    // A reply after the conversation closed is still stored under it and pushed to
    // the customer (section 27.3).
    let r = agent.request(&Request::CloseConversation { conversation });
    assert_eq!(r.unwrap(), Response::Ok);
    let late = Request::AdminSmsReply {
        account: ACCOUNT,
        sms,
        reply_id: 78,
        text: "刚才没接到".into(),
    };
    let Response::Sent {
        message: late_id, ..
    } = admin.request(&late).unwrap()
    else {
        panic!("not stored")
    };
    c.request(&Request::GetAccountPresence).unwrap();
    let pushed = messages_of(&drain(&mut c));
    assert_eq!(
        pushed.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![late_id]
    );
    assert_eq!(pushed[0].conversation, conversation);
    let stored = match c
        .request(&Request::ConversationMessages {
            conversation,
            after: reply_message,
            limit: 100,
        })
        .unwrap()
    {
        Response::Messages(m) => m,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        stored.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![late_id]
    );
}

/// After the last attempt the SMS is a dead letter the operator sees, and its units
/// are given back; nothing is lost and nothing is charged.
#[test]
fn c14_dead_letter_after_the_retry_limit_refunds_the_units() {
    let gw = Gateway::start(&[500, 503, 500]);
    let a = Appliance::start(Some(&gw.url));
    let key = setup(&a);
    let mut admin = a.admin();
    top_up(&mut admin, 5);
    let mut c = customer(&a, &key, "carol");
    let conversation = open_conversation(&mut c);
    // 71 Chinese characters: two segments, two units.
    let long = "长".repeat(71);
    let message = send(&mut c, conversation, 1, &long);
    let sms = forward(&mut c, conversation, message, 1002).unwrap();
    assert_eq!(balance(&mut admin).units, 3);
    assert_eq!(gw.next().1, 500);
    a.clock.advance(MINUTE);
    assert_eq!(gw.next().1, 503);
    a.clock.advance(2 * MINUTE);
    assert_eq!(gw.next().1, 500);
    let dead = loop {
        let d = dead_letters(&mut admin);
        if !d.is_empty() {
            break d;
        }
    };
    assert_eq!(dead.len(), 1);
    let d = &dead[0];
    assert_eq!((d.sms, d.agent, d.attempts, d.segments), (sms, 1002, 3, 2));
    assert_eq!(
        (d.conversation, d.text.as_str(), d.phone.as_str()),
        (conversation, long.as_str(), PHONE)
    );
    assert!(d.last_error.contains("500"), "{}", d.last_error);
    let b = balance(&mut admin);
    assert_eq!((b.units, b.reserved, b.spent, b.refunded), (5, 0, 0, 2));
    assert_eq!(b.failed_attempts, 3);
    // No attempt after the dead letter, whatever time passes.
    a.clock.advance(60 * MINUTE);
    admin.request(&Request::AdminClockShow).unwrap();
    c.request(&Request::GetAccountPresence).unwrap();
    assert!(gw.posts.try_recv().is_err());
    assert!(gw.script.lock().unwrap().is_empty());
}

/// Each refusal has its own code and changes nothing: no gateway, no bound phone, no
/// balance, too long, an agent that is online, a message that is not the customer's.
#[test]
fn c14_refusals_are_typed_and_charge_nothing() {
    // No gateway configured.
    let a = Appliance::start(None);
    let key = setup(&a);
    let mut c = customer(&a, &key, "dave");
    let conversation = open_conversation(&mut c);
    let m = send(&mut c, conversation, 1, "hello");
    assert_eq!(
        forward(&mut c, conversation, m, 1002),
        Err(ErrorCode::SMS_NOT_CONFIGURED)
    );
    drop(a);

    let gw = Gateway::start(&[]);
    let a = Appliance::start(Some(&gw.url));
    let key = setup(&a);
    let mut admin = a.admin();
    let mut c = customer(&a, &key, "erin");
    let conversation = open_conversation(&mut c);
    let m = send(&mut c, conversation, 1, "hello");
    assert_eq!(
        forward(&mut c, conversation, m, 1001),
        Err(ErrorCode::NO_BOUND_PHONE)
    );
    assert_eq!(
        forward(&mut c, conversation, m, 1002),
        Err(ErrorCode::SMS_NO_BALANCE)
    );
    assert_eq!(
        forward(&mut c, conversation, m, 4242),
        Err(ErrorCode::UNKNOWN_AGENT)
    );
    assert_eq!(
        forward(&mut c, conversation, m + 99, 1002),
        Err(ErrorCode::NOT_FOUND)
    );
    top_up(&mut admin, 10);
    let too_long = send(&mut c, conversation, 2, &"长".repeat(336));
    assert_eq!(
        forward(&mut c, conversation, too_long, 1002),
        Err(ErrorCode::SMS_TOO_LONG)
    );
    let mut agent = a.client();
    agent.login(ACCOUNT, 1002, PASSWORD).unwrap();
    assert_eq!(
        forward(&mut c, conversation, m, 1002),
        Err(ErrorCode::AGENT_ONLINE)
    );
    drop(agent);
    // Refusals charged nothing and queued nothing.
    let b = balance(&mut admin);
    assert_eq!((b.units, b.reserved, b.spent, b.refunded), (10, 0, 0, 0));
    assert!(gw.posts.try_recv().is_err());
    // The operator's own refusals: units out of range, an unknown account.
    let zero = admin.request(&Request::AdminSmsTopUp {
        account: ACCOUNT,
        units: 0,
    });
    assert_eq!(zero.unwrap_err().code(), Some(ErrorCode::INVALID_ARGUMENT));
    let unknown = admin.request(&Request::AdminSmsBalance { account: 999_999 });
    assert_eq!(
        unknown.unwrap_err().code(),
        Some(ErrorCode::UNKNOWN_ACCOUNT)
    );
    let reply = admin.request(&Request::AdminSmsReply {
        account: ACCOUNT,
        sms: 5,
        reply_id: 1,
        text: "x".into(),
    });
    assert_eq!(reply.unwrap_err().code(), Some(ErrorCode::NOT_FOUND));
}
