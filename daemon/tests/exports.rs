//! Report exports (issue 15 point 7; PROTOCOL.md section 36) through a real kefud and the
//! client library: the file is built on the worker pool and streamed in 64 KiB chunks;
//! its rows equal the report's rows (CSV parsed, .xlsx read back with calamine); a file of
//! several chunks reassembles byte for byte into the file built once from the same
//! report; chunks are the asker's only and gone after the last; permissions per report.

mod support;

use calamine::Data;
use kefu_daemon::clock::ManualClock;
use kefu_daemon::report_tables::{survey_results_table, work_table};
use kefu_wire::chat::CustomerId;
use kefu_wire::crm::{ContactEdit, ContactState};
use kefu_wire::reports::{Date, ExportFormat, ReportKind, WorkReportRow};
use kefu_wire::survey::{SurveyDraft, SurveyQuestion};
use kefu_wire::{Client, ErrorCode, Request, Response, SecurityLevel};
use std::sync::Arc;
use support::export::{fetch, sheet};
use support::*;

const ACCOUNT: u64 = 873_001;
const DAY_MS: i64 = 86_400_000;
const D: Date = Date {
    year: 2026,
    month: 12,
    day: 7,
};

fn work_report(c: &mut Client, from: Date, to: Date) -> Vec<WorkReportRow> {
    match c
        .request(&Request::GetWorkReport {
            from,
            to,
            agent: None,
        })
        .unwrap()
    {
        Response::WorkReport(rows) => rows,
        other => panic!("{other:?}"),
    }
}

/// §7.19 "导出数据": the CSV and the .xlsx hold the report's rows, header first.
#[test]
fn work_report_export_rows_equal_the_report_rows() {
    let start = i64::from(D.day_number().unwrap()) * DAY_MS + 9 * 3_600_000;
    let clock = Arc::new(ManualClock::new(start));
    let s = TestServer::start_clocked(clock.clone());
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let key = customer_key(&mut admin, ACCOUNT);
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    boss.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    for (day, who) in [(0, "ivy"), (0, "joe"), (1, "ivy"), (2, "amy")] {
        clock.set(start + day * DAY_MS);
        let mut c = login_customer(s.client(), &key, ACCOUNT, who, start / 1000 + 30 * 86_400);
        let conv = open(&mut c).conversation;
        c.request(&Request::CloseConversation { conversation: conv })
            .unwrap();
    }
    let to = Date::from_day_number(D.day_number().unwrap() + 2);
    let rows = work_report(&mut boss, D, to);
    assert_eq!(rows.len(), 3);
    let report = ReportKind::WorkReport {
        from: D,
        to,
        agent: None,
    };
    let (_, total, csv) = fetch(&mut boss, report.clone(), ExportFormat::Csv).unwrap();
    assert_eq!(total, 1);
    assert_eq!(csv, kefu_report::to_csv(&work_table(&rows)));
    let text = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = text
        .trim_start_matches('\u{feff}')
        .split_terminator("\r\n")
        .collect();
    assert_eq!(lines[0], "日期,工号,会话量,独立客户数");
    let parsed: Vec<String> = rows
        .iter()
        .map(|r| {
            let d = r.date;
            format!(
                "{:04}-{:02}-{:02},{},{},{}",
                d.year, d.month, d.day, r.agent, r.conversations, r.customers
            )
        })
        .collect();
    assert_eq!(lines[1..], parsed[..]);
    assert_eq!(lines[1], "2026-12-07,1001,2,2");

    let (_, _, xlsx) = fetch(&mut boss, report, ExportFormat::Xlsx).unwrap();
    let cells = sheet(xlsx);
    assert_eq!(cells[0][1], Data::String("工号".into()));
    assert_eq!(cells.len(), rows.len() + 1);
    for (cells, r) in cells[1..].iter().zip(&rows) {
        match &cells[0] {
            Data::DateTime(d) => {
                assert_eq!(d.as_f64(), f64::from(r.date.day_number().unwrap() + 25_569))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(cells[1], Data::Float(f64::from(r.agent)));
        assert_eq!(cells[2], Data::Float(r.conversations as f64));
        assert_eq!(cells[3], Data::Float(r.customers as f64));
    }

    // Who may export: permission 9 for the work report, 10 for surveys.
    let mut ann = s.client();
    ann.login(ACCOUNT, 1002, PASSWORD).unwrap();
    let work = ReportKind::WorkReport {
        from: D,
        to: D,
        agent: None,
    };
    assert_eq!(
        code(fetch(&mut ann, work.clone(), ExportFormat::Csv)),
        ErrorCode::PERMISSION_DENIED
    );
    give_role(&mut boss, 1002, &[9]);
    fetch(&mut ann, work, ExportFormat::Csv).unwrap();
    assert_eq!(
        code(fetch(
            &mut ann,
            ReportKind::SurveyResults { survey: 1 },
            ExportFormat::Csv
        )),
        ErrorCode::PERMISSION_DENIED
    );
    let too_long = ReportKind::WorkReport {
        from: D,
        to: Date::from_day_number(D.day_number().unwrap() + 180),
        agent: None,
    };
    assert_eq!(
        code(fetch(&mut boss, too_long, ExportFormat::Csv)),
        ErrorCode::REPORT_RANGE_TOO_LONG
    );
}

/// A survey's results of 200 options with long texts: a CSV of several 64 KiB chunks that
/// reassembles into exactly the file built once from `GetSurveyResult`'s answer; the
/// chunks are the asker's only and gone after the last; the answers' detail reads back.
#[test]
fn a_large_export_is_chunked_and_reassembles_byte_identical() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let key = customer_key(&mut admin, ACCOUNT);
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::Low,
    })
    .unwrap();
    for who in ["c1", "c2"] {
        boss.request(&Request::CreateContact {
            customer: CustomerId::Identified(who.into()),
            state: ContactState::Friend,
            edit: ContactEdit::default(),
        })
        .unwrap();
    }
    let questions: Vec<SurveyQuestion> = (0..20)
        .map(|q| SurveyQuestion {
            text: format!("{q}{}", "问".repeat(198)),
            multiple: q % 2 == 1,
            options: (0..10).map(|o| format!("{o}{}", "选".repeat(98))).collect(),
        })
        .collect();
    let id = match boss
        .request(&Request::CreateSurvey {
            draft: SurveyDraft {
                title: "大调查".into(),
                background: String::new(),
                groups: vec![],
                questions,
            },
            otp: None,
        })
        .unwrap()
    {
        Response::Survey(s) => s.id,
        other => panic!("{other:?}"),
    };
    for (who, pick) in [("c1", 0u8), ("c2", 3)] {
        let mut c = login_customer(s.client(), &key, ACCOUNT, who, now() + 86_400);
        let choices = (0..20).map(|q| {
            if q % 2 == 1 {
                vec![pick, 9]
            } else {
                vec![pick]
            }
        });
        c.request(&Request::AnswerSurvey {
            survey: id,
            choices: choices.collect(),
        })
        .unwrap();
    }
    let result = match boss
        .request(&Request::GetSurveyResult { id, otp: None })
        .unwrap()
    {
        Response::SurveyResult(r) => *r,
        other => panic!("{other:?}"),
    };
    let once = kefu_report::to_csv(&survey_results_table(&result));
    let report = ReportKind::SurveyResults { survey: id };
    let (export, total, csv) = fetch(&mut boss, report.clone(), ExportFormat::Csv).unwrap();
    assert!(total >= 3, "{total} chunks of {} bytes", csv.len());
    assert_eq!(csv, once, "reassembled byte for byte");
    // Gone after its last chunk; out of range and another agent's refused.
    assert_eq!(
        code(boss.request(&Request::ExportChunk { export, index: 1 })),
        ErrorCode::EXPORT_GONE
    );
    let (export, total, _) = fetch(&mut boss, report, ExportFormat::Xlsx).unwrap();
    let (export, total) = if total > 1 {
        (export, total)
    } else {
        // Compressed small: ask again for a CSV, which has several chunks, and stop early.
        match boss
            .request(&Request::ExportReport {
                report: ReportKind::SurveyResults { survey: id },
                format: ExportFormat::Csv,
                otp: None,
            })
            .unwrap()
        {
            Response::ExportData(c) => (c.export, c.total),
            other => panic!("{other:?}"),
        }
    };
    let mut ann = s.client();
    ann.login(ACCOUNT, 1002, PASSWORD).unwrap();
    assert_eq!(
        code(ann.request(&Request::ExportChunk { export, index: 1 })),
        ErrorCode::EXPORT_GONE
    );
    assert_eq!(
        code(boss.request(&Request::ExportChunk {
            export,
            index: total
        })),
        ErrorCode::INVALID_ARGUMENT
    );
    boss.request(&Request::ExportChunk { export, index: 1 })
        .unwrap();

    // The answers' detail: one row per contact, the chosen labels per question.
    let (_, _, xlsx) = fetch(
        &mut boss,
        ReportKind::SurveyAnswers { survey: id },
        ExportFormat::Xlsx,
    )
    .unwrap();
    let cells = sheet(xlsx);
    assert_eq!(cells.len(), 3);
    assert_eq!(cells[0].len(), 3 + 20);
    assert_eq!(cells[1][1], Data::String("c1".into()));
    assert_eq!(cells[2][1], Data::String("c2".into()));
    let label = |o: u8| format!("{o}{}", "选".repeat(98));
    assert_eq!(cells[1][3], Data::String(label(0)));
    assert_eq!(
        cells[2][4],
        Data::String(format!("{}；{}", label(3), label(9)))
    );
}
