//! Visit trend and site analytics (S4, S5; manual §7.20, §4.8; PROTOCOL.md section 33)
//! through real sockets to a real kefud with an injected clock: visits, unique visitors,
//! page views, consultations (through a code, or a web visitor's own) and referrers per
//! UTC day, exact across a restart (the per-day marker of a counted visitor is on the
//! disk) and across a day boundary; the
//! range is bounded with its own refusal; analytics permission (9); the exports
//! (`ExportReport`, CSV byte for byte the report's table, .xlsx read back).

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_daemon::config::Config;
use kefu_daemon::server;
use kefu_wire::chat::{Channel, CustomerId, Entry};
use kefu_wire::reports::{ExportFormat, ReportKind};
use kefu_wire::web::{
    CodeKind, EntryCodeDraft, NamedCount, PageView, SiteAnalytics, VisitDay, MAX_REPORT_DAYS,
};
use kefu_wire::{Client, ErrorCode, Request, Response};
use std::sync::Arc;
use support::export::{fetch, sheet};
use support::*;

const ACCOUNT: u64 = 816_003;
const DAY: i64 = 86_400_000;
const BAIDU: &str = "https://www.baidu.com/s?wd=%E5%AE%A2%E6%9C%8D";

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    a
}

/// A visitor logs in (again, with its token); its client, id and token.
fn visitor(s: &TestServer, token: Option<[u8; 32]>) -> (Client, CustomerId, [u8; 32]) {
    let mut c = s.client();
    match c
        .request(&Request::VisitorLogin {
            account: ACCOUNT,
            token,
            channel: Channel::Web,
        })
        .unwrap()
    {
        Response::CustomerLoggedIn(session) => {
            let t = session.visitor_token.expect("token");
            (c, session.customer, t)
        }
        other => panic!("{other:?}"),
    }
}

fn view(c: &mut Client, path: &str, referrer: &str) {
    c.request(&Request::PageView(PageView {
        url: format!("https://shop.example.com{path}"),
        title: String::new(),
        referrer: referrer.into(),
    }))
    .unwrap();
}

fn trend(c: &mut Client, from_day: u32, until_day: u32) -> Vec<VisitDay> {
    match c
        .request(&Request::GetVisitTrend {
            from_day,
            until_day,
        })
        .unwrap()
    {
        Response::VisitTrend(d) => d,
        other => panic!("{other:?}"),
    }
}

fn analytics(c: &mut Client, from_day: u32, until_day: u32) -> SiteAnalytics {
    match c
        .request(&Request::GetSiteAnalytics {
            from_day,
            until_day,
        })
        .unwrap()
    {
        Response::SiteAnalytics(a) => a,
        other => panic!("{other:?}"),
    }
}

fn day(day: u32, visits: u64, unique: u64, page_views: u64, consultations: u64) -> VisitDay {
    VisitDay {
        day,
        visits,
        unique_visitors: unique,
        page_views,
        consultations,
    }
}

fn restart(s: &mut TestServer, clock: &Arc<ManualClock>) {
    if let Some(h) = s.handle.take() {
        h.shutdown();
    }
    let config = Config::for_tests(s.dir.path());
    s.handle = Some(server::start_with_clock(config, clock.clone()).expect("restarts"));
}

/// S4/S5: the counters of two days, exact across a restart and the midnight between.
#[test]
fn s4_s5_counters_exact_across_restart_and_day_boundary() {
    let first = u32::try_from(now() / 86_400 + 2).unwrap();
    // Ten seconds before midnight (UTC) ending day `first`.
    let clock = Arc::new(ManualClock::new((i64::from(first) + 1) * DAY - 10_000));
    let mut s = TestServer::start_clocked(clock.clone());
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    drop(admin);
    let mut boss = agent(&s, 1001);
    let code = match boss
        .request(&Request::CreateEntryCode {
            draft: EntryCodeDraft {
                description: String::new(),
                kind: CodeKind::Fixed,
                routing: Entry::Auto,
                site_url: "https://shop.example.com/".into(),
                style: String::new(),
                anonymous: false,
            },
        })
        .unwrap()
    {
        Response::EntryCode(c) => c.id,
        other => panic!("{other:?}"),
    };

    // Visitor A: a visit from baidu with three pages, then a consultation through the
    // code (and asking again for the open one counts no second consultation).
    let (mut a, _, token_a) = visitor(&s, None);
    view(&mut a, "/", BAIDU);
    view(&mut a, "/price", "https://shop.example.com/");
    view(&mut a, "/contact", "https://shop.example.com/price");
    for _ in 0..2 {
        a.request(&Request::OpenConversationByCode { id: code })
            .unwrap();
    }
    // Visitor B: one direct page and a conversation; then A comes back in a new session (a second visit).
    let (mut b, _, _) = visitor(&s, None);
    view(&mut b, "/", "");
    // A web visitor's plain `OpenConversation` is a consultation too.
    b.request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap();
    drop(a);
    let (mut a, _, _) = visitor(&s, Some(token_a));
    view(&mut a, "/", "https://news.qq.com/a/1");
    assert_eq!(trend(&mut boss, first, first), vec![day(first, 3, 2, 5, 2)]);

    // After a restart: A again on the same day is not a new unique visitor.
    drop((a, b, boss));
    restart(&mut s, &clock);
    let mut boss = agent(&s, 1001);
    let (mut a, _, _) = visitor(&s, Some(token_a));
    view(&mut a, "/again", "");
    assert_eq!(trend(&mut boss, first, first), vec![day(first, 4, 2, 6, 2)]);

    // Past midnight: a new day, A counted unique again there.
    clock.advance(10_000);
    view(&mut a, "/tomorrow", "");
    let (mut c, _, _) = visitor(&s, None);
    view(&mut c, "/", BAIDU);
    assert_eq!(
        trend(&mut boss, first, first + 2),
        vec![
            day(first, 4, 2, 6, 2),
            day(first + 1, 1, 2, 2, 0),
            day(first + 2, 0, 0, 0, 0),
        ]
    );
    let a2 = analytics(&mut boss, first, first + 1);
    assert_eq!(a2.days.len(), 2);
    assert_eq!(
        a2.referrers,
        vec![
            NamedCount {
                name: "baidu.com".into(),
                count: 2
            },
            NamedCount {
                name: "direct".into(),
                count: 2
            },
            NamedCount {
                name: "news.qq.com".into(),
                count: 1
            },
        ]
    );
    // No regions file: every visit's region is 未知 (PROTOCOL.md section 33.4).
    let visits: u64 = a2.days.iter().map(|d| d.visits).sum();
    assert_eq!(
        a2.regions,
        vec![NamedCount {
            name: kefu_daemon::regions::UNKNOWN_REGION.into(),
            count: visits
        }]
    );

    // The tables the export writes.
    let table = kefu_daemon::report_tables::visit_trend_table(&trend(&mut boss, first, first + 1));
    let csv = String::from_utf8(kefu_report::to_csv(&table)).unwrap();
    assert!(csv.contains("访问人次"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let t = kefu_daemon::report_tables::site_analytics_table(&a2);
    // Two days, three referrers, one region.
    assert_eq!(t.rows.len(), 2 + 3 + 1);

    // The exports through the protocol (PROTOCOL.md 36.2): the CSV is the table's file
    // byte for byte; the .xlsx holds its rows under the header.
    let trend_kind = ReportKind::VisitTrend {
        from_day: first,
        until_day: first + 1,
    };
    let (_, _, exported) = fetch(&mut boss, trend_kind.clone(), ExportFormat::Csv).unwrap();
    assert_eq!(exported, kefu_report::to_csv(&table));
    let site_kind = ReportKind::SiteAnalytics {
        from_day: first,
        until_day: first + 1,
    };
    let (_, _, xlsx) = fetch(&mut boss, site_kind.clone(), ExportFormat::Xlsx).unwrap();
    let rows = sheet(xlsx);
    assert_eq!(rows.len(), 1 + t.rows.len());
    assert_eq!(rows[0][1].to_string(), "咨询量");
    let too_long = ReportKind::VisitTrend {
        from_day: first,
        until_day: first + MAX_REPORT_DAYS,
    };
    assert_eq!(
        fetch(&mut boss, too_long, ExportFormat::Csv)
            .unwrap_err()
            .code(),
        Some(ErrorCode::REPORT_RANGE_TOO_LONG)
    );

    // Bounds and permission.
    for (from, until) in [(first, first - 1), (first, first + MAX_REPORT_DAYS)] {
        assert_eq!(
            boss.request(&Request::GetVisitTrend {
                from_day: from,
                until_day: until
            })
            .unwrap_err()
            .code(),
            Some(ErrorCode::REPORT_RANGE_TOO_LONG)
        );
    }
    assert_eq!(
        trend(&mut boss, first, first + MAX_REPORT_DAYS - 1).len(),
        MAX_REPORT_DAYS as usize
    );
    let mut plain = agent(&s, 1002);
    assert_eq!(
        plain
            .request(&Request::GetSiteAnalytics {
                from_day: first,
                until_day: first
            })
            .unwrap_err()
            .code(),
        Some(ErrorCode::PERMISSION_DENIED)
    );
    for kind in [trend_kind, site_kind] {
        assert_eq!(
            fetch(&mut plain, kind, ExportFormat::Csv)
                .unwrap_err()
                .code(),
            Some(ErrorCode::PERMISSION_DENIED)
        );
    }
}
