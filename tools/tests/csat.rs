//! `kefuctl csat report` end to end (S2; wire/PROTOCOL.md section 37.3): the real binary
//! run as a process against a daemon started in-process: the summary as CSV on stdout
//! and as an .xlsx file read back with calamine, the detail, and a 181-day range refused
//! with its own code. The file is the daemon's `ExportReport`, as `kefuctl report csat`'s.
//! (The report's figures are checked against ratings given through
//! the client library in `daemon/tests/csat.rs`.)

mod support;

use calamine::{Data, Reader, Xlsx};
use support::{assert_contains, Daemon};

#[test]
fn csat_report_through_kefuctl_as_csv_and_xlsx() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    let csv = d
        .kefuctl(&[
            "csat",
            "report",
            "--account",
            "800001",
            "--from",
            "2027-01-01",
            "--to",
            "2027-01-07",
        ])
        .ok();
    assert_contains(
        &csv,
        "agent,1 很不满意,2 不满意,3 一般,4 满意,5 很满意,total,satisfaction",
    );
    let detail = d
        .kefuctl(&["csat", "report", "--account", "800001", "--detail"])
        .ok();
    assert_contains(
        &detail,
        "day,rated at (unix ms),customer,agent,conversation,option",
    );
    let file = d.dir().join("csat.xlsx");
    let out = d
        .kefuctl(&[
            "csat",
            "report",
            "--account",
            "800001",
            "--format",
            "xlsx",
            "--out",
            file.to_str().unwrap(),
        ])
        .ok();
    assert_contains(&out, "bytes in 1 chunks");
    let mut book: Xlsx<_> = calamine::open_workbook(&file).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(Data::to_string)
        .collect();
    assert_eq!(header.first().map(String::as_str), Some("agent"));
    assert_eq!(header.len(), 8);
    let long = d
        .kefuctl(&[
            "csat",
            "report",
            "--account",
            "800001",
            "--from",
            "2026-01-01",
            "--to",
            "2026-06-30",
        ])
        .run()
        .expect_code(1);
    assert_contains(&long.stderr, "REPORT_RANGE_TOO_LONG");
    let xlsx_to_stdout = d
        .kefuctl(&["csat", "report", "--account", "800001", "--format", "xlsx"])
        .run()
        .expect_code(1);
    assert_contains(&xlsx_to_stdout.stderr, "--out");
}
