//! `kefuctl report work|survey` end to end (S3, V5, issue 15 point 7; wire/PROTOCOL.md
//! section 36): the real binary run as a process against a daemon started in-process,
//! writing the streamed export file; the .xlsx read back with calamine and the CSV parsed
//! hold exactly the rows the report requests answer (a survey's results byte for byte
//! the file built once from `GetSurveyResult`); refusals exit 1 with the code's name.

mod support;

use calamine::{Data, Reader, Xlsx};
use kefu_daemon::report_tables::survey_results_table;
use kefu_wire::chat::{Channel, Entry};
use kefu_wire::reports::{Date, WorkReportRow};
use kefu_wire::survey::{SurveyDraft, SurveyQuestion};
use kefu_wire::{Client, ClientOptions, Request, Response};
use std::io::Cursor;
use support::{assert_contains, Daemon, PASSWORD};

const ACCOUNT: u64 = 800_001;

fn client(d: &Daemon) -> Client {
    let addr: std::net::SocketAddr = d.tcp_addr().parse().unwrap();
    Client::connect(addr, ClientOptions::default()).unwrap()
}

fn server_ms(c: &mut Client) -> i64 {
    match c.request(&Request::GetServerTime).unwrap() {
        Response::Clock { unix_ms, .. } => unix_ms,
        other => panic!("{other:?}"),
    }
}

/// Customer `id` logs in and opens a conversation (then closes it).
fn converse(d: &Daemon, key: &[u8; 32], id: &str, now_ms: i64) {
    let mut c = client(d);
    let expires_at = now_ms / 1000 + 86_400;
    c.request(&Request::CustomerLogin {
        account: ACCOUNT,
        customer: id.into(),
        expires_at,
        signature: kefu_daemon::shard::sign_customer(key, ACCOUNT, id, expires_at),
        channel: Channel::Desktop,
    })
    .unwrap();
    let conversation = match c
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(info) => info.conversation,
        other => panic!("{other:?}"),
    };
    c.request(&Request::CloseConversation { conversation })
        .unwrap();
}

fn text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

fn sheet(bytes: Vec<u8>) -> Vec<Vec<Data>> {
    let mut book = Xlsx::new(Cursor::new(bytes)).expect("an .xlsx");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

/// §7.19 "导出数据" with kefuctl: the .xlsx and the CSV hold the work report's rows.
#[test]
fn kefuctl_report_work_writes_the_report_rows() {
    let d = Daemon::start();
    d.create_account(ACCOUNT, "Alpha Ltd");
    let key = match d
        .admin_client()
        .request(&Request::AdminRotateCustomerKey { account: ACCOUNT })
        .unwrap()
    {
        Response::CustomerKey(k) => k,
        other => panic!("{other:?}"),
    };
    let mut boss = client(&d);
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    boss.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    let now = server_ms(&mut boss);
    for who in ["ivy", "joe", "ivy"] {
        converse(&d, &key, who, now);
    }
    let today = Date::from_day_number(Date::day_of(server_ms(&mut boss), 0));
    let yesterday = Date::from_day_number(today.day_number().unwrap() - 1);
    let rows: Vec<WorkReportRow> = match boss
        .request(&Request::GetWorkReport {
            from: yesterday,
            to: today,
            agent: None,
        })
        .unwrap()
    {
        Response::WorkReport(rows) => rows,
        other => panic!("{other:?}"),
    };
    assert_eq!(rows.iter().map(|r| r.conversations).sum::<u64>(), 3);
    let xlsx = d.dir().join("work.xlsx");
    let out = d
        .kefuctl(&[
            "report",
            "work",
            "--account",
            "800001",
            "--from",
            &text(yesterday),
            "--to",
            &text(today),
            "--format",
            "xlsx",
            "--out",
            xlsx.to_str().unwrap(),
        ])
        .ok();
    assert_contains(&out, "bytes in 1 chunks");
    let cells = sheet(std::fs::read(&xlsx).unwrap());
    assert_eq!(cells[0][2], Data::String("会话量".into()));
    assert_eq!(cells.len(), rows.len() + 1);
    for (cells, r) in cells[1..].iter().zip(&rows) {
        match &cells[0] {
            Data::DateTime(x) => {
                assert_eq!(x.as_f64(), f64::from(r.date.day_number().unwrap() + 25_569))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            cells[1..],
            [
                Data::Float(f64::from(r.agent)),
                Data::Float(r.conversations as f64),
                Data::Float(r.customers as f64),
            ]
        );
    }
    let csv = d.dir().join("work.csv");
    d.kefuctl(&[
        "report",
        "work",
        "--account",
        "800001",
        "--from",
        &text(yesterday),
        "--to",
        &text(today),
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
    ])
    .ok();
    let csv = String::from_utf8(std::fs::read(&csv).unwrap()).unwrap();
    let lines: Vec<&str> = csv
        .trim_start_matches('\u{feff}')
        .split_terminator("\r\n")
        .collect();
    let expected: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{},{},{},{}",
                text(r.date),
                r.agent,
                r.conversations,
                r.customers
            )
        })
        .collect();
    assert_eq!(lines[1..], expected[..]);
    // 181 days: refused with its code, no file left under the name.
    let long = d.dir().join("long.csv");
    let far = Date::from_day_number(today.day_number().unwrap() + 180);
    let refused = d
        .kefuctl(&[
            "report",
            "work",
            "--account",
            "800001",
            "--from",
            &text(today),
            "--to",
            &text(far),
            "--format",
            "csv",
            "--out",
            long.to_str().unwrap(),
        ])
        .run()
        .expect_code(1);
    assert_contains(&refused.stderr, "REPORT_RANGE_TOO_LONG");
    assert!(!long.exists());
    assert!(!long.with_extension("partial").exists());
}

/// §9.9 with kefuctl: a survey's results as CSV (byte for byte the file built once from
/// the results request) and its answers as .xlsx.
#[test]
fn kefuctl_report_survey_writes_results_and_answers() {
    let d = Daemon::start();
    d.create_account(ACCOUNT, "Alpha Ltd");
    let key = match d
        .admin_client()
        .request(&Request::AdminRotateCustomerKey { account: ACCOUNT })
        .unwrap()
    {
        Response::CustomerKey(k) => k,
        other => panic!("{other:?}"),
    };
    let mut boss = d.boss_with_contact(ACCOUNT);
    boss.request(&Request::CreateSurvey {
        draft: SurveyDraft {
            title: "服务调查".into(),
            background: String::new(),
            groups: vec![],
            questions: vec![SurveyQuestion {
                text: "满意吗, \"真的\"?".into(),
                multiple: false,
                options: vec!["满意".into(), "=不满意".into()],
            }],
        },
        otp: None,
    })
    .unwrap();
    let now = server_ms(&mut boss);
    let mut c1 = client(&d);
    let expires_at = now / 1000 + 86_400;
    c1.request(&Request::CustomerLogin {
        account: ACCOUNT,
        customer: "c1".into(),
        expires_at,
        signature: kefu_daemon::shard::sign_customer(&key, ACCOUNT, "c1", expires_at),
        channel: Channel::Desktop,
    })
    .unwrap();
    c1.request(&Request::AnswerSurvey {
        survey: 1,
        choices: vec![vec![1]],
    })
    .unwrap();
    let result = match boss
        .request(&Request::GetSurveyResult { id: 1, otp: None })
        .unwrap()
    {
        Response::SurveyResult(r) => *r,
        other => panic!("{other:?}"),
    };
    let csv = d.dir().join("results.csv");
    d.kefuctl(&[
        "report",
        "survey",
        "--account",
        "800001",
        "--survey",
        "1",
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
    ])
    .ok();
    let bytes = std::fs::read(&csv).unwrap();
    assert_eq!(bytes, kefu_report::to_csv(&survey_results_table(&result)));
    let text = String::from_utf8(bytes).unwrap();
    assert_contains(&text, "1,\"满意吗, \"\"真的\"\"?\",\"'=不满意\",1,1\r\n");
    let xlsx = d.dir().join("answers.xlsx");
    d.kefuctl(&[
        "report",
        "survey",
        "--account",
        "800001",
        "--survey",
        "1",
        "--answers",
        "--out",
        xlsx.to_str().unwrap(),
    ])
    .ok();
    let cells = sheet(std::fs::read(&xlsx).unwrap());
    assert_eq!(cells.len(), 2);
    assert_eq!(cells[1][1], Data::String("c1".into()));
    assert_eq!(cells[1][3], Data::String("=不满意".into()));
    let missing = d
        .kefuctl(&[
            "report",
            "survey",
            "--account",
            "800001",
            "--survey",
            "9",
            "--out",
            xlsx.to_str().unwrap(),
        ])
        .run()
        .expect_code(1);
    assert_contains(&missing.stderr, "NOT_FOUND");
}

/// `kefuctl report csat|visits|site` (S2, S4, S5): each file is the table the daemon's
/// report answer makes, byte for byte (CSV), or reads back with it (.xlsx).
#[test]
fn kefuctl_report_csat_visits_and_site_write_the_reports() {
    let d = Daemon::start();
    d.create_account(ACCOUNT, "Alpha Ltd");
    let mut boss = client(&d);
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let today = Date::from_day_number(Date::day_of(server_ms(&mut boss), 0));
    let day = today.day_number().unwrap();
    let export = |kind: &str, format: &str, extra: &[&str]| {
        let file = d.dir().join(format!("{kind}.{format}"));
        let mut args = vec!["report", kind, "--account", "800001", "--format", format];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", file.to_str().unwrap()]);
        assert_contains(&d.kefuctl(&args).ok(), "bytes in 1 chunks");
        std::fs::read(&file).unwrap()
    };
    let (from, to) = (text(today), text(today));
    let range = ["--from", from.as_str(), "--to", to.as_str()];

    let mut ask = |request: Request| boss.request(&request).unwrap();
    let trend = match ask(Request::GetVisitTrend {
        from_day: day,
        until_day: day,
    }) {
        Response::VisitTrend(days) => days,
        other => panic!("{other:?}"),
    };
    let table = kefu_daemon::report_tables::visit_trend_table(&trend);
    assert_eq!(export("visits", "csv", &range), kefu_report::to_csv(&table));
    let site = match ask(Request::GetSiteAnalytics {
        from_day: day,
        until_day: day,
    }) {
        Response::SiteAnalytics(a) => a,
        other => panic!("{other:?}"),
    };
    let table = kefu_daemon::report_tables::site_analytics_table(&site);
    let cells = sheet(export("site", "xlsx", &range));
    assert_eq!(cells.len(), 1 + table.rows.len());
    assert_eq!(cells[0][1], Data::String("咨询量".into()));

    let query = kefu_wire::csat::CsatQuery {
        from: None,
        to: None,
        detail: false,
        after: None,
    };
    let page = match ask(Request::CsatReport(query)) {
        Response::CsatReport(p) => p,
        other => panic!("{other:?}"),
    };
    let table = kefu_daemon::csat_report::csat_summary_table(page.from, page.to, &page.lines);
    assert_eq!(export("csat", "csv", &[]), kefu_report::to_csv(&table));
    let detail = sheet(export("csat", "xlsx", &["--detail"]));
    assert_eq!(detail.len(), 1, "the header, no ratings yet");
}
