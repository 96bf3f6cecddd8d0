//! Customer satisfaction (S1–S2, manual §10.1; PROTOCOL.md section 37) through real
//! sockets to a real kefud with the client library and an injected clock: a survey only
//! on close of a valid conversation (11 messages yes, 10 no, one side silent no, 30:00
//! after the customer's last message yes, 30:00.001 no), the reason survey only for the
//! lowest three options, once per customer per agent per day (last wins), the report
//! over 1..=180 days (181 refused, 7 by default) matching the ratings and surviving a
//! restart, and the weekly mail at a local SMTP server on Monday, not on Sunday, and
//! not twice across a restart.

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_daemon::config::Config;
use kefu_daemon::server;
use kefu_wire::chat::MessageBody;
use kefu_wire::csat::{
    self, CsatAgentLine, CsatQuery, CsatReportPage, CsatSettings, CsatStyle, CsatSurvey,
};
use kefu_wire::reports::{ExportFormat, ReportKind};
use kefu_wire::{Client, ErrorCode, Event, Request, Response};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use support::export::{fetch, sheet};
use support::*;

const ACCOUNT: u64 = 815_001;
const MINUTE: i64 = 60_000;
/// Sunday 2027-01-03 12:00 UTC.
const SUNDAY_NOON: i64 = 1_798_977_600_000;
const DAY: i64 = 86_400_000;

struct Fixture {
    s: TestServer,
    key: [u8; 32],
    boss: Client,
    agent: Client,
    next_msg: u64,
}

fn start(clock: Arc<ManualClock>, adjust: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::for_tests(dir.path());
    adjust(&mut config);
    let handle = server::start_with_clock(config, clock).expect("daemon starts");
    TestServer {
        handle: Some(handle),
        dir,
    }
}

fn restart(s: &mut TestServer, clock: Arc<ManualClock>, adjust: impl FnOnce(&mut Config)) {
    if let Some(h) = s.handle.take() {
        h.shutdown();
    }
    let mut config = Config::for_tests(s.dir.path());
    adjust(&mut config);
    s.handle = Some(server::start_with_clock(config, clock).expect("daemon restarts"));
}

fn fixture(s: TestServer) -> Fixture {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let key = customer_key(&mut admin, ACCOUNT);
    let (boss, agent) = logins(&s);
    Fixture {
        s,
        key,
        boss,
        agent,
        next_msg: 1,
    }
}

fn logins(s: &TestServer) -> (Client, Client) {
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let mut agent = s.client();
    agent.login(ACCOUNT, 1002, PASSWORD).unwrap();
    agent.request(&Request::SetAutoAccept { cap: 50 }).unwrap();
    (boss, agent)
}

fn settings(enabled: bool, subscribers: &[&str]) -> CsatSettings {
    CsatSettings {
        enabled,
        style: CsatStyle::Faces,
        reasons_enabled: true,
        reasons: vec!["回复太慢".into(), "没有解决问题".into()],
        subscribers: subscribers.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn set(c: &mut Client, s: CsatSettings) {
    let r = c.request(&Request::SetCsatSettings(s)).unwrap();
    assert_eq!(r, Response::Ok);
}

impl Fixture {
    fn customer(&self, id: &str) -> Client {
        login_customer(self.s.client(), &self.key, ACCOUNT, id, now() + 30 * 86_400)
    }

    /// Customer `id` opens a conversation (served by 1002) and the two sides write
    /// `by_customer` and `by_agent` messages; returns the customer and the conversation.
    fn chat(&mut self, id: &str, by_customer: u32, by_agent: u32) -> (Client, u64) {
        let mut c = self.customer(id);
        let conversation = self.chat_as(&mut c, by_customer, by_agent);
        (c, conversation)
    }

    /// The same with a customer already logged in.
    fn chat_as(&mut self, c: &mut Client, by_customer: u32, by_agent: u32) -> u64 {
        let conversation = open(c).conversation;
        for i in 0..by_customer.max(by_agent) {
            if i < by_customer {
                send(c, &mut self.next_msg, conversation);
            }
            if i < by_agent {
                send(&mut self.agent, &mut self.next_msg, conversation);
            }
        }
        conversation
    }

    fn close(&mut self, conversation: u64) {
        let r = self
            .agent
            .request(&Request::CloseConversation { conversation })
            .unwrap();
        assert!(
            matches!(r, Response::Ok | Response::Conversation(_)),
            "{r:?}"
        );
    }

    fn report(&mut self, query: CsatQuery) -> Result<CsatReportPage, Option<ErrorCode>> {
        match self.boss.request(&Request::CsatReport(query)) {
            Ok(Response::CsatReport(p)) => Ok(p),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.code()),
        }
    }
}

fn rate(
    c: &mut Client,
    conversation: u64,
    rating: u8,
    reasons: Vec<u8>,
    text: &str,
) -> Result<(), Option<ErrorCode>> {
    match c.request(&Request::RateConversation {
        conversation,
        rating,
        reasons,
        text: text.into(),
    }) {
        Ok(Response::Ok) => Ok(()),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.code()),
    }
}

/// The next survey pushed to `c`, skipping other pushes.
fn survey(c: &mut Client) -> CsatSurvey {
    loop {
        let p = c
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("a CsatSurvey push");
        if let Event::CsatSurvey(s) = p.event {
            return s;
        }
    }
}

fn query(from: Option<i32>, to: Option<i32>) -> CsatQuery {
    CsatQuery {
        from,
        to,
        detail: true,
        after: None,
    }
}

fn day(ms: i64) -> i32 {
    i32::try_from(ms.div_euclid(DAY)).unwrap()
}

/// §10.1.1: a survey only after more than 10 messages with both sides writing; 10 is
/// not enough, a silent agent or customer makes it invalid; the survey has the style's
/// five labels and the preset reasons; the settings need permission 16.
#[test]
fn s1_survey_only_for_more_than_ten_messages_from_both_sides() {
    let clock = Arc::new(ManualClock::new(SUNDAY_NOON));
    let mut f = fixture(start(clock.clone(), |_| {}));
    match f
        .agent
        .request(&Request::SetCsatSettings(settings(true, &[])))
    {
        Err(e) => assert_eq!(e.code(), Some(ErrorCode::PERMISSION_DENIED)),
        Ok(r) => panic!("{r:?}"),
    }
    set(&mut f.boss, settings(true, &[]));
    match f.agent.request(&Request::GetCsatSettings) {
        Err(e) => assert_eq!(e.code(), Some(ErrorCode::PERMISSION_DENIED)),
        Ok(r) => panic!("{r:?}"),
    }

    let (mut ten, c10) = f.chat("ten", 5, 5);
    assert_eq!(
        rate(&mut ten, c10, 5, vec![], ""),
        Err(Some(ErrorCode::CSAT_NOT_OFFERED)),
        "still open"
    );
    f.close(c10);
    assert_eq!(
        rate(&mut ten, c10, 5, vec![], ""),
        Err(Some(ErrorCode::CSAT_NOT_VALID))
    );

    let (mut eleven, c11) = f.chat("eleven", 6, 5);
    f.close(c11);
    let s = survey(&mut eleven);
    assert_eq!(s.conversation, c11);
    assert_eq!(s.style, CsatStyle::Faces);
    assert_eq!(s.labels.len(), 5);
    assert_eq!(
        s.reasons,
        vec!["回复太慢".to_owned(), "没有解决问题".to_owned()]
    );
    assert_eq!(rate(&mut eleven, c11, 4, vec![], ""), Ok(()));

    let (mut talker, silent_agent) = f.chat("talker", 12, 0);
    f.close(silent_agent);
    assert_eq!(
        rate(&mut talker, silent_agent, 5, vec![], ""),
        Err(Some(ErrorCode::CSAT_NOT_VALID))
    );
    let (mut quiet, silent_customer) = f.chat("quiet", 0, 12);
    f.close(silent_customer);
    assert_eq!(
        rate(&mut quiet, silent_customer, 5, vec![], ""),
        Err(Some(ErrorCode::CSAT_NOT_VALID))
    );
    // Somebody else's conversation, or none.
    assert_eq!(
        rate(&mut quiet, c11, 5, vec![], ""),
        Err(Some(ErrorCode::CSAT_UNKNOWN_CONVERSATION))
    );
    assert_eq!(
        rate(&mut quiet, 999_999, 5, vec![], ""),
        Err(Some(ErrorCode::CSAT_UNKNOWN_CONVERSATION))
    );
    // Surveys off: a valid conversation gets none.
    set(&mut f.boss, settings(false, &[]));
    let (mut off, c_off) = f.chat("off", 6, 6);
    f.close(c_off);
    assert_eq!(
        rate(&mut off, c_off, 5, vec![], ""),
        Err(Some(ErrorCode::CSAT_NOT_OFFERED))
    );
    match f.boss.request(&Request::GetCsatSettings).unwrap() {
        Response::CsatSettings(s) => assert_eq!(s, settings(false, &[])),
        other => panic!("{other:?}"),
    }
}

/// §10.1.1: closed at most 30 minutes after the customer's last message. Decided:
/// 30:00 exactly is valid, one millisecond more is not. Answers come within 24 hours.
#[test]
fn s1_thirty_minute_edge_and_answer_window() {
    let clock = Arc::new(ManualClock::new(SUNDAY_NOON));
    let mut f = fixture(start(clock.clone(), |_| {}));
    set(&mut f.boss, settings(true, &[]));
    let t = SUNDAY_NOON;
    let (mut a, ca) = f.chat("edge-a", 6, 5);
    let (mut b, cb) = f.chat("edge-b", 6, 5);
    // The customers' last messages were stored at `t`; the agent writes later.
    clock.set(t + 10 * MINUTE);
    f.send_agent(ca);
    f.send_agent(cb);
    clock.set(t + 30 * MINUTE);
    f.close(ca);
    clock.set(t + 30 * MINUTE + 1);
    f.close(cb);
    assert_eq!(survey(&mut a).conversation, ca);
    assert_eq!(
        rate(&mut b, cb, 5, vec![], ""),
        Err(Some(ErrorCode::CSAT_NOT_VALID))
    );
    clock.set(t + 30 * MINUTE + csat::ANSWER_WITHIN_MS + 1);
    assert_eq!(
        rate(&mut a, ca, 5, vec![], ""),
        Err(Some(ErrorCode::CSAT_TOO_LATE))
    );
}

impl Fixture {
    fn send_agent(&mut self, conversation: u64) {
        send(&mut self.agent, &mut self.next_msg, conversation);
    }
}

fn send(c: &mut Client, next: &mut u64, conversation: u64) {
    let id = *next;
    *next += 1;
    let r = c
        .request(&Request::SendMessage {
            conversation,
            client_msg_id: id,
            body: MessageBody::Text(format!("m{id}")),
        })
        .unwrap();
    assert!(matches!(r, Response::Sent { .. }), "{r:?}");
}

/// §10.1: reasons only for the lowest three; each customer's rating of an agent counts
/// once a day, the last; the report's figures are the ratings given, over 1..=180 days
/// (7 by default; 181 refused), and the same after a restart.
#[test]
fn s1_s2_last_rating_of_the_day_wins_and_the_report_counts_it() {
    let clock = Arc::new(ManualClock::new(SUNDAY_NOON));
    let mut f = fixture(start(clock.clone(), |_| {}));
    set(&mut f.boss, settings(true, &[]));
    let (mut c, c1) = f.chat("rater", 6, 5);
    f.close(c1);
    survey(&mut c);
    assert_eq!(
        rate(&mut c, c1, 4, vec![0], ""),
        Err(Some(ErrorCode::CSAT_REASONS_NOT_OFFERED))
    );
    assert_eq!(
        rate(&mut c, c1, 5, vec![], "great"),
        Err(Some(ErrorCode::CSAT_REASONS_NOT_OFFERED))
    );
    assert_eq!(
        rate(&mut c, c1, 0, vec![], ""),
        Err(Some(ErrorCode::INVALID_ARGUMENT))
    );
    assert_eq!(
        rate(&mut c, c1, 2, vec![7], ""),
        Err(Some(ErrorCode::INVALID_ARGUMENT))
    );
    let long = "长".repeat(csat::MAX_TEXT_CHARS + 1);
    assert_eq!(
        rate(&mut c, c1, 2, vec![], &long),
        Err(Some(ErrorCode::INVALID_ARGUMENT))
    );
    assert_eq!(rate(&mut c, c1, 2, vec![0, 1], "太慢了"), Ok(()));
    // The same customer, the same agent, the same day: a second conversation's rating
    // replaces the first.
    let c2 = f.chat_as(&mut c, 6, 5);
    f.close(c2);
    survey(&mut c);
    assert_eq!(rate(&mut c, c2, 5, vec![], ""), Ok(()));
    // Another customer the same day.
    let (mut other, c3) = f.chat("other", 6, 5);
    f.close(c3);
    survey(&mut other);
    assert_eq!(rate(&mut other, c3, 1, vec![1], "没解决"), Ok(()));
    let today = day(SUNDAY_NOON);
    let p = f.report(query(None, None)).unwrap();
    assert_eq!(
        (p.from, p.to),
        (today - 6, today),
        "the last 7 days by default"
    );
    assert_eq!(
        p.lines,
        vec![CsatAgentLine {
            agent: 1002,
            counts: [1, 0, 0, 0, 1]
        }]
    );
    assert_eq!(p.detail.len(), 2);
    let mine = p.detail.iter().find(|r| r.conversation == c2).unwrap();
    assert_eq!((mine.rating, mine.agent, mine.day), (5, 1002, today));
    let theirs = p.detail.iter().find(|r| r.conversation == c3).unwrap();
    assert_eq!(theirs.reasons, vec!["没有解决问题".to_owned()]);
    assert_eq!(theirs.text, "没解决");

    // The next day the same customer's rating counts again.
    clock.set(SUNDAY_NOON + DAY);
    let c4 = f.chat_as(&mut c, 6, 5);
    f.close(c4);
    survey(&mut c);
    assert_eq!(rate(&mut c, c4, 3, vec![], ""), Ok(()));
    let p = f.report(query(None, None)).unwrap();
    assert_eq!(p.lines[0].counts, [1, 0, 1, 0, 1]);
    assert_eq!(p.lines[0].total(), 3);
    let only_today = f.report(query(Some(today + 1), Some(today + 1))).unwrap();
    assert_eq!(only_today.lines[0].counts, [0, 0, 1, 0, 0]);

    // 180 days is the longest range; 181 is refused with its own code.
    let to = today + 1;
    assert!(f.report(query(Some(to - 179), Some(to))).is_ok());
    assert_eq!(
        f.report(query(Some(to - 180), Some(to))),
        Err(Some(ErrorCode::REPORT_RANGE_TOO_LONG))
    );
    assert_eq!(
        f.report(query(Some(to), Some(to - 1))),
        Err(Some(ErrorCode::INVALID_ARGUMENT))
    );
    let before = f.report(query(Some(to - 179), Some(to))).unwrap();
    match f.agent.request(&Request::CsatReport(query(None, None))) {
        Err(e) => assert_eq!(e.code(), Some(ErrorCode::PERMISSION_DENIED)),
        Ok(r) => panic!("{r:?}"),
    }

    // The summary and detail tables export and read back.
    let summary =
        kefu_daemon::csat_report::csat_summary_table(before.from, before.to, &before.lines);
    let csv = String::from_utf8(kefu_report::to_csv(&summary)).unwrap();
    assert!(csv.contains("1002,1,0,1,0,1,3,0.3333"), "{csv}");
    let detail = kefu_daemon::csat_report::csat_detail_table(&before.detail);
    assert_eq!(detail.rows.len(), 3);
    // ... and the daemon's exports of the same range are those files byte for byte
    // (PROTOCOL.md 36.2); the .xlsx reads back with the report's rows.
    let (from, until) = (Some(before.from), Some(before.to));
    let summary_kind = ReportKind::Csat { from, to: until };
    let (_, _, file) = fetch(&mut f.boss, summary_kind, ExportFormat::Csv).unwrap();
    assert_eq!(file, kefu_report::to_csv(&summary));
    let kind = ReportKind::CsatDetail { from, to: until };
    let (_, _, file) = fetch(&mut f.boss, kind.clone(), ExportFormat::Csv).unwrap();
    assert_eq!(file, kefu_report::to_csv(&detail));
    let (_, _, xlsx) = fetch(&mut f.boss, kind.clone(), ExportFormat::Xlsx).unwrap();
    assert_eq!(sheet(xlsx).len(), 1 + 3);
    let refused =
        |r: Result<(u64, u32, Vec<u8>), kefu_wire::ClientError>| r.expect_err("refused").code();
    assert_eq!(
        refused(fetch(&mut f.agent, kind, ExportFormat::Csv)),
        Some(ErrorCode::PERMISSION_DENIED)
    );
    let long = ReportKind::Csat {
        from: Some(before.to - 180),
        to: until,
    };
    assert_eq!(
        refused(fetch(&mut f.boss, long, ExportFormat::Csv)),
        Some(ErrorCode::REPORT_RANGE_TOO_LONG)
    );

    drop((c, other));
    drop(std::mem::replace(&mut f.boss, f.s.client()));
    restart(&mut f.s, clock.clone(), |_| {});
    let (boss, agent) = logins(&f.s);
    f.boss = boss;
    f.agent = agent;
    assert_eq!(f.report(query(Some(to - 179), Some(to))).unwrap(), before);
}

/// What the test SMTP server received in one session.
#[derive(Debug)]
struct Mail {
    rcpt: Vec<String>,
    data: String,
}

/// A tiny SMTP server on 127.0.0.1:0: enough of RFC 5321 for one client at a time; the
/// first `refuse` sessions are refused at `MAIL FROM` (451, a temporary failure).
fn smtp_server(refuse: usize) -> (u16, mpsc::Receiver<Mail>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (session, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let mut out = stream.try_clone().unwrap();
            let mut lines = BufReader::new(stream);
            let mut mail = Mail {
                rcpt: Vec::new(),
                data: String::new(),
            };
            let _ = out.write_all(b"220 test ESMTP\r\n");
            let mut line = String::new();
            let mut in_data = false;
            loop {
                line.clear();
                if lines.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        let _ = out.write_all(b"250 OK queued\r\n");
                    } else {
                        mail.data.push_str(&line);
                    }
                    continue;
                }
                let upper = line.to_ascii_uppercase();
                let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                    b"250 test\r\n"
                } else if upper.starts_with("MAIL FROM:") && session < refuse {
                    b"451 try again later\r\n"
                } else if upper.starts_with("RCPT TO:") {
                    mail.rcpt
                        .push(line[8..].trim().trim_matches(['<', '>']).to_owned());
                    b"250 OK\r\n"
                } else if upper.starts_with("DATA") {
                    in_data = true;
                    b"354 go on\r\n"
                } else if upper.starts_with("QUIT") {
                    let _ = out.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 OK\r\n"
                };
                let _ = out.write_all(reply);
            }
            if !mail.data.is_empty() && tx.send(mail).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

fn b64(text: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let Some(v) = A.iter().position(|a| *a == c) else {
            continue;
        };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The base64 body of the attachment called `name`.
fn attachment(data: &str, name: &str) -> String {
    let at = data
        .find(&format!("filename=\"{name}\""))
        .expect("attachment");
    let rest = &data[at..];
    let body_start = rest.find("\r\n\r\n").unwrap() + 4;
    let body = &rest[body_start..];
    let end = body.find("\r\n--").unwrap_or(body.len());
    String::from_utf8(b64(&body[..end])).unwrap()
}

/// §10.1.2: the weekly report goes out on Monday (not Sunday) to every subscriber
/// through the configured relay, with the week's figures; a restart does not send the
/// same Monday again, and the next Monday sends the next week.
#[test]
fn s2_weekly_mail_on_monday_once_through_the_smtp_relay() {
    let (port, mails) = smtp_server(0);
    let relay = move |c: &mut Config| {
        c.mail.smtp_host = Some("127.0.0.1".into());
        c.mail.smtp_port = Some(port);
        c.mail.from = Some("kefu@example.com".into());
    };
    let clock = Arc::new(ManualClock::new(SUNDAY_NOON));
    let mut f = fixture(start(clock.clone(), relay));
    let bad = settings(true, &["not an address"]);
    match f.boss.request(&Request::SetCsatSettings(bad)) {
        Err(e) => assert_eq!(e.code(), Some(ErrorCode::INVALID_ARGUMENT)),
        Ok(r) => panic!("{r:?}"),
    }
    let eleven: Vec<String> = (0..=csat::MAX_SUBSCRIBERS)
        .map(|i| format!("a{i}@example.com"))
        .collect();
    let mut too_many = settings(true, &[]);
    too_many.subscribers = eleven;
    assert!(f.boss.request(&Request::SetCsatSettings(too_many)).is_err());
    set(
        &mut f.boss,
        settings(true, &["boss@example.com", "qa@example.com"]),
    );
    // Sunday: two ratings of last week (the week of Monday 2026-12-28).
    for (id, rating) in [("w1", 5u8), ("w2", 2)] {
        let (mut c, conv) = f.chat(id, 6, 5);
        f.close(conv);
        survey(&mut c);
        assert_eq!(rate(&mut c, conv, rating, vec![], ""), Ok(()));
    }
    settle(&mut f.boss);
    assert!(mails.try_recv().is_err(), "nothing on Sunday");
    // Monday 01:00 UTC.
    clock.set(SUNDAY_NOON + 13 * 3_600_000);
    settle(&mut f.boss);
    let m = mails
        .recv_timeout(Duration::from_secs(20))
        .expect("Monday's mail");
    assert_eq!(
        m.rcpt,
        vec!["boss@example.com".to_owned(), "qa@example.com".to_owned()]
    );
    assert!(
        m.data
            .contains("CSAT weekly report 2026-12-28 to 2027-01-03"),
        "{}",
        m.data
    );
    assert!(
        m.data.contains("Date: Mon, 04 Jan 2027 01:00:00"),
        "the turn's clock: {}",
        m.data
    );
    assert!(
        m.data
            .contains("agent 1002: options 1-5: 0 1 0 0 1; total 2; satisfied 50.0%"),
        "{}",
        m.data
    );
    let csv = attachment(&m.data, "csat-summary.csv");
    assert!(csv.contains("1002,0,1,0,0,1,2,0.5"), "{csv}");
    let detail = attachment(&m.data, "csat-detail.csv");
    assert_eq!(detail.lines().count(), 3, "{detail}");

    // Restart on Monday: the Monday is not sent again; the next Monday is.
    drop(std::mem::replace(&mut f.boss, f.s.client()));
    restart(&mut f.s, clock.clone(), relay);
    let (mut boss, _agent) = logins(&f.s);
    clock.set(SUNDAY_NOON + 14 * 3_600_000);
    settle(&mut boss);
    clock.set(SUNDAY_NOON + 7 * DAY + 13 * 3_600_000);
    settle(&mut boss);
    let next = mails
        .recv_timeout(Duration::from_secs(20))
        .expect("the next Monday's mail");
    assert!(
        next.data
            .contains("CSAT weekly report 2027-01-04 to 2027-01-10"),
        "a second mail for the same Monday came first: {}",
        next.data
    );
    assert!(next.data.contains("No ratings this week."));
    assert!(mails.try_recv().is_err());
}

/// A refused send is retried after the backoff (1 minute, then 2, …) on the turn's
/// clock, and the mail arrives once.
#[test]
fn s2_weekly_mail_refused_by_the_relay_is_retried_after_the_backoff() {
    let (port, mails) = smtp_server(2);
    let relay = move |c: &mut Config| {
        c.mail.smtp_host = Some("127.0.0.1".into());
        c.mail.smtp_port = Some(port);
    };
    let clock = Arc::new(ManualClock::new(SUNDAY_NOON));
    let mut f = fixture(start(clock.clone(), relay));
    set(&mut f.boss, settings(true, &["boss@example.com"]));
    settle(&mut f.boss);
    clock.set(SUNDAY_NOON + 13 * 3_600_000);
    // Each round moves the clock past the longest backoff so far; the mail comes on
    // the third attempt.
    let mut got = None;
    for _ in 0..20 {
        settle(&mut f.boss);
        if let Ok(m) = mails.recv_timeout(Duration::from_millis(500)) {
            got = Some(m);
            break;
        }
        clock.advance(5 * MINUTE);
    }
    let m = got.expect("the mail after two refusals");
    assert_eq!(m.rcpt, vec!["boss@example.com".to_owned()]);
    assert!(m.data.contains("No ratings this week."), "{}", m.data);
    clock.advance(10 * MINUTE);
    settle(&mut f.boss);
    assert!(
        mails.recv_timeout(Duration::from_millis(500)).is_err(),
        "sent once"
    );
}

/// Two round trips: the first request's turn sees the clock's new time and its
/// commit runs the weekly check; the second is answered after it.
fn settle(c: &mut Client) {
    c.request(&Request::GetServerTime).unwrap();
    c.request(&Request::GetServerTime).unwrap();
}
