//! The daily work report (S3, manual §7.19; PROTOCOL.md section 34) through real sockets
//! to a real kefud with the client library and an injected clock: per agent and day the
//! conversations served and the different customers, counted when routing gives a
//! conversation to an agent (in the same batch), exact across a restart over the same
//! data, a transfer back and forth, the same customer twice, and a day boundary to the
//! millisecond; the range limit (180 days) and the permission (9, data analysis).

mod support;

use kefu_daemon::clock::{Clock, ManualClock};
use kefu_daemon::config::Config;
use kefu_daemon::server;
use kefu_wire::reports::{Date, WorkReportRow};
use kefu_wire::{Client, ErrorCode, Request, Response};
use std::sync::Arc;
use support::*;

const ACCOUNT: u64 = 871_001;
const DAY_MS: i64 = 86_400_000;
const D: Date = Date {
    year: 2026,
    month: 12,
    day: 7,
};

fn day_start(d: Date) -> i64 {
    i64::from(d.day_number().unwrap()) * DAY_MS
}

fn next(d: Date) -> Date {
    Date::from_day_number(d.day_number().unwrap() + 1)
}

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    a
}

fn report(c: &mut Client, from: Date, to: Date, agent: Option<u32>) -> Vec<WorkReportRow> {
    match c
        .request(&Request::GetWorkReport { from, to, agent })
        .unwrap()
    {
        Response::WorkReport(rows) => rows,
        other => panic!("{other:?}"),
    }
}

fn row(date: Date, agent: u32, conversations: u64, customers: u64) -> WorkReportRow {
    WorkReportRow {
        date,
        agent,
        conversations,
        customers,
    }
}

fn close(c: &mut Client, conversation: u64) {
    c.request(&Request::CloseConversation { conversation })
        .unwrap();
}

fn transfer(c: &mut Client, conversation: u64, to_agent: u32) {
    let r = c
        .request(&Request::TransferConversation {
            conversation,
            to_agent,
        })
        .unwrap();
    assert!(matches!(r, Response::Conversation(_)), "{r:?}");
}

fn restart(s: &mut TestServer, clock: &Arc<ManualClock>) {
    if let Some(h) = s.handle.take() {
        h.shutdown();
    }
    let config = Config::for_tests(s.dir.path());
    s.handle = Some(server::start_with_clock(config, clock.clone()).expect("restarts"));
}

/// §7.19: 会话量 counts each conversation given to the agent once a day, 独立 QQ 数 each
/// customer once a day; a restart, a transfer back to the same agent and the same
/// customer again change nothing they should not; at 23:59:59.999 it is still the day,
/// a millisecond later the next one.
#[test]
fn work_report_7_19_counts_are_exact_across_restart_transfer_and_midnight() {
    let clock = Arc::new(ManualClock::new(day_start(D) + 10 * 3_600_000));
    let mut s = TestServer::start_clocked(clock.clone());
    let key = {
        let mut admin = s.admin();
        create_account(&mut admin, ACCOUNT);
        add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
        customer_key(&mut admin, ACCOUNT)
    };
    let mut boss = agent(&s, 1001);
    assert!(report(&mut boss, D, D, None).is_empty());
    let mut ivy = login_customer(
        s.client(),
        &key,
        ACCOUNT,
        "ivy",
        day_start(D) / 1000 + 30 * 86_400,
    );
    let a = open(&mut ivy).conversation;
    close(&mut ivy, a);
    let b = open(&mut ivy).conversation;
    let mut joe = login_customer(
        s.client(),
        &key,
        ACCOUNT,
        "joe",
        day_start(D) / 1000 + 30 * 86_400,
    );
    let c = open(&mut joe).conversation;
    assert_eq!(report(&mut boss, D, D, None), vec![row(D, 1001, 3, 2)]);

    // Transferred to 1002 and back: 1002 served it once, 1001 still three conversations.
    let mut ann = agent(&s, 1002);
    transfer(&mut boss, c, 1002);
    transfer(&mut ann, c, 1001);
    let both = vec![row(D, 1001, 3, 2), row(D, 1002, 1, 1)];
    assert_eq!(report(&mut boss, D, D, None), both);
    assert_eq!(
        report(&mut boss, D, D, Some(1002)),
        vec![row(D, 1002, 1, 1)]
    );
    close(&mut ivy, b);
    close(&mut joe, c);
    drop((boss, ann, ivy, joe));

    restart(&mut s, &clock);
    let mut boss = agent(&s, 1001);
    assert_eq!(report(&mut boss, D, D, None), both, "kept over a restart");
    let mut ivy = login_customer(
        s.client(),
        &key,
        ACCOUNT,
        "ivy",
        day_start(D) / 1000 + 30 * 86_400,
    );
    let d = open(&mut ivy).conversation;
    assert_eq!(
        report(&mut boss, D, D, Some(1001)),
        vec![row(D, 1001, 4, 2)],
        "ivy again: one more conversation, no new customer"
    );

    // 23:59:59.999 is still the day; a millisecond later the next.
    clock.set(day_start(next(D)) - 1);
    close(&mut ivy, d);
    let e = open(&mut ivy).conversation;
    assert_eq!(
        report(&mut boss, D, D, Some(1001)),
        vec![row(D, 1001, 5, 2)]
    );
    clock.advance(1);
    close(&mut ivy, e);
    let f = open(&mut ivy).conversation;
    assert_eq!(
        report(&mut boss, D, next(D), Some(1001)),
        vec![row(D, 1001, 5, 2), row(next(D), 1001, 1, 1)]
    );
    close(&mut ivy, f);
    assert_eq!(clock.now_ms(), day_start(next(D)));
    drop((boss, ivy));
    restart(&mut s, &clock);
    let mut boss = agent(&s, 1001);
    assert_eq!(
        report(&mut boss, D, next(D), None),
        vec![
            row(D, 1001, 5, 2),
            row(D, 1002, 1, 1),
            row(next(D), 1001, 1, 1)
        ]
    );
}

/// A range of at most 180 days, both ends included (`REPORT_RANGE_TOO_LONG` beyond);
/// bad dates and reversed ranges `INVALID_ARGUMENT`; permission 9 (data analysis).
#[test]
fn work_report_range_is_bounded_and_needs_permission_9() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let from = Date {
        year: 2026,
        month: 1,
        day: 1,
    };
    let day_179 = Date::from_day_number(from.day_number().unwrap() + 179);
    let day_180 = Date::from_day_number(from.day_number().unwrap() + 180);
    assert!(report(&mut boss, from, day_179, None).is_empty());
    let code = |c: &mut Client, from: Date, to: Date| {
        c.request(&Request::GetWorkReport {
            from,
            to,
            agent: None,
        })
        .unwrap_err()
        .code()
        .unwrap()
    };
    assert_eq!(
        code(&mut boss, from, day_180),
        ErrorCode::REPORT_RANGE_TOO_LONG
    );
    assert_eq!(code(&mut boss, day_179, from), ErrorCode::INVALID_ARGUMENT);
    let feb_30 = Date {
        year: 2026,
        month: 2,
        day: 30,
    };
    assert_eq!(
        code(&mut boss, feb_30, day_179),
        ErrorCode::INVALID_ARGUMENT
    );
    let mut ann = s.client();
    ann.login(ACCOUNT, 1002, PASSWORD).unwrap();
    assert_eq!(code(&mut ann, from, from), ErrorCode::PERMISSION_DENIED);
    give_role(&mut boss, 1002, &[9]);
    assert!(report(&mut ann, from, from, None).is_empty());
}
