//! `kefuctl contacts import|export|count` end to end: the real binary run as a
//! process against a daemon started in-process (see `support/mod.rs`).

mod support;

use kefu_wire::crm::{GroupEdit, TagEdit};
use kefu_wire::Request;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;
use support::{assert_contains, kefuctl, Daemon};

/// A small file: Chinese text, a quoted cell with a comma, quotes and a line break
/// (LF: a remark may hold LF but not CR),
/// a visitor, a free field, a group and a tag; line 6 has a bad visitor id and line
/// 7 repeats the contact of line 2.
const SMALL: &str = "id,visitor,state,real_name,remark,phone,email,groups,tags,field:公司\r\n\
zhangsan,,friend,张三,\"上海, 老客户\",13800000001,zs@example.cn,上海客户,VIP,阿里巴巴\r\n\
lisi,,stranger,李四,\"说 \"\"你好\"\"\n第二行\",,,,,\r\n\
,0123456789abcdef0123456789ABCDEF,,王五,,,,,,\r\n\
,xyz-not-hex,,赵六,,,,,,\r\n\
zhangsan,,,张三又一行,,,,,,\r\n";

/// The tag and group `SMALL` names, created in an account through the wire.
fn add_catalog(daemon: &Daemon, account: u64) {
    let mut admin = daemon.admin_client();
    let tag = Request::EditTags(TagEdit::Create {
        name: "VIP".into(),
        colour: 0xff_00_00,
    });
    let group = Request::EditGroups(GroupEdit::CreateGroup {
        name: "上海客户".into(),
        category: None,
    });
    for request in [tag, group] {
        admin
            .request(&Request::on_account(account, &request))
            .unwrap_or_else(|e| panic!("{} on {account}: {e}", request.name()));
    }
}

/// The number after `key:` in a text report.
fn field(report: &str, key: &str) -> u64 {
    let prefix = format!("{key}:");
    let line = report
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {key:?} in:\n{report}"));
    line[prefix.len()..]
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{key:?} is not a number in:\n{report}"))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path.to_str().expect("UTF-8 path").to_string()
}

fn import(daemon: &Daemon, account: u64, file: &str, extra: &[&str]) -> String {
    let account = account.to_string();
    let mut args = vec!["contacts", "import", "--account", &account, file];
    args.extend_from_slice(extra);
    daemon.kefuctl(&args).ok()
}

/// The export of an account on standard output, as bytes.
fn export(daemon: &Daemon, account: u64, extra: &[&str]) -> Vec<u8> {
    let account = account.to_string();
    let mut args = vec!["contacts", "export", "--account", &account];
    args.extend_from_slice(extra);
    daemon.kefuctl(&args).run().expect_code(0).stdout
}

fn count(daemon: &Daemon, account: u64) -> u64 {
    let out = daemon
        .kefuctl(&["contacts", "count", "--account", &account.to_string()])
        .ok();
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("count prints a number: {out:?}"))
}

#[test]
fn small_import_reports_rows_and_exports_round_trip() {
    let daemon = Daemon::start();
    let (a, b, c) = (810_001, 810_002, 810_003);
    for (id, name) in [(a, "源企业"), (b, "目标企业"), (c, "Chunked")] {
        daemon.create_account(id, name);
        add_catalog(&daemon, id);
    }
    let small = write(daemon.dir(), "small.csv", SMALL.as_bytes());

    // The report: 3 new, the repeat of zhangsan skipped, line 6 invalid; exit 0.
    let report = import(&daemon, a, &small, &[]);
    assert_eq!(field(&report, "rows"), 5, "{report}");
    assert_eq!(field(&report, "imported"), 3, "{report}");
    assert_eq!(field(&report, "skipped as existing"), 1, "{report}");
    assert_eq!(field(&report, "refused by plan limit"), 0, "{report}");
    assert_eq!(field(&report, "refused by daily limit"), 0, "{report}");
    assert_eq!(field(&report, "invalid"), 1, "{report}");
    assert_contains(
        &report,
        "invalid rows:\n  line 6: visitor id \"xyz-not-hex\" is not 32 hex digits\n",
    );
    assert_contains(
        &report,
        "the file was taken, but 1 invalid row was not imported",
    );
    assert_eq!(count(&daemon, a), 3);

    // JSON, and the same file again: everything valid is now existing.
    let json = import(&daemon, a, &small, &["--json"]);
    assert_contains(&json, r#""imported":0,"skipped_existing":4,"#);
    assert_contains(
        &json,
        r#""invalid_total":1,"invalid":[{"line":6,"reason":"visitor id \"xyz-not-hex\" is not 32 hex digits"}]"#,
    );

    // The export: the exporter's header, every column kept, quoting intact.
    let exported = export(&daemon, a, &[]);
    let text = String::from_utf8(exported.clone()).expect("UTF-8 export");
    assert!(text.starts_with(
        "\u{feff}id,visitor,state,owner,real_name,remark,nickname,phone,email,groups,tags,\
         field:公司\r\n"
    ));
    assert_contains(
        &text,
        "zhangsan,,friend,,张三,\"上海, 老客户\",,13800000001,zs@example.cn,上海客户,VIP,\
         阿里巴巴\r\n",
    );
    assert_contains(&text, "\"说 \"\"你好\"\"\n第二行\"");
    assert_contains(&text, ",0123456789abcdef0123456789abcdef,friend,,王五,");
    assert!(
        !text.contains("赵六") && !text.contains("张三又一行"),
        "{text}"
    );

    // Paged export (one contact a page) and export to a file: the same bytes.
    assert_eq!(export(&daemon, a, &["--page-size", "1"]), exported);
    let file = daemon.dir().join("a.csv");
    let said = daemon
        .kefuctl(&[
            "contacts",
            "export",
            "--account",
            &a.to_string(),
            "-o",
            file.to_str().expect("UTF-8 path"),
        ])
        .ok();
    assert_contains(&said, "exported 3 contacts of account 810001 to ");
    assert_eq!(std::fs::read(&file).expect("export file"), exported);

    // Into a second account, and out again: identical bytes.
    let report = import(&daemon, b, file.to_str().expect("UTF-8 path"), &[]);
    assert_eq!(field(&report, "imported"), 3, "{report}");
    assert_eq!(field(&report, "invalid"), 0, "{report}");
    assert_contains(
        &report,
        "the file was taken: every row was imported or is an existing contact",
    );
    assert_eq!(export(&daemon, b, &[]), exported);

    // Chunks of 5 bytes split the BOM, Chinese characters and the quoted line break:
    // the same contacts, and standard input works as a file.
    let out = daemon
        .kefuctl(&[
            "contacts",
            "import",
            "--account",
            &c.to_string(),
            "-",
            "--chunk-size",
            "5",
        ])
        .stdin(&exported)
        .ok();
    assert_eq!(field(&out, "imported"), 3, "{out}");
    assert_eq!(export(&daemon, c, &[]), exported);
}

#[test]
fn refused_files_and_connection_errors_fail_clearly() {
    let daemon = Daemon::start();
    let account = 810_010;
    daemon.create_account(account, "Refusals");
    let dir = daemon.dir();
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "unknown.csv",
            b"id,shoe_size\r\nzhangsan,42\r\n",
            "unknown column \"shoe_size\"",
        ),
        (
            "no-id.csv",
            "real_name\r\n张三\r\n".as_bytes(),
            "neither an id nor a visitor column",
        ),
        ("empty.csv", b"", "the file is empty"),
    ];
    for (name, bytes, reason) in cases {
        let path = write(dir, name, bytes);
        let out = daemon
            .kefuctl(&[
                "contacts",
                "import",
                "--account",
                &account.to_string(),
                &path,
            ])
            .run()
            .expect_code(1);
        assert_contains(&out.stderr, "the file was refused");
        assert_contains(&out.stderr, reason);
        assert!(out.stdout.is_empty(), "{name}: {}", out.text());
    }
    assert_eq!(count(&daemon, account), 0);

    let missing = dir.join("missing.csv");
    let out = daemon
        .kefuctl(&[
            "contacts",
            "import",
            "--account",
            &account.to_string(),
            missing.to_str().expect("UTF-8 path"),
        ])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "opening ");

    // No daemon: a clear failure, and no export file left behind.
    let nowhere = dir.join("nowhere.sock");
    let nowhere = nowhere.to_str().expect("UTF-8 path");
    let small = write(dir, "small.csv", SMALL.as_bytes());
    let target = dir.join("out.csv");
    for args in [
        vec!["contacts", "import", "--account", "1", small.as_str()],
        vec![
            "contacts",
            "export",
            "--account",
            "1",
            "-o",
            target.to_str().expect("UTF-8 path"),
        ],
        vec!["contacts", "count", "--account", "1"],
    ] {
        let mut all = vec!["--admin-socket", nowhere];
        all.extend(args);
        let out = kefuctl(&all).run().expect_code(1);
        assert_contains(&out.stderr, "cannot use the admin socket");
    }
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("list dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // An account that does not exist: the daemon's answer, exit 1.
    let out = daemon
        .kefuctl(&["contacts", "count", "--account", "999999"])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "SearchContacts on account 999999");
}

/// Contacts of about 10 KB each (16 free fields of 200 Chinese characters), with a
/// daemon whose frames are at most 64 KiB and that closes a connection with more
/// than 128 KiB of output pending: the import goes in chunks that fit the frame,
/// and the 20 MB export (more than any frame may carry) in pages that fit too,
/// asked for again smaller after the daemon dropped a connection over a large one.
#[test]
fn wide_rows_export_in_pages_that_fit_a_frame() {
    const ROWS: u32 = 2_000;
    let daemon = Daemon::start_with(|config, _| {
        config.limits.max_frame_bytes = 64 * 1024;
        config.limits.max_pending_output_bytes = 128 * 1024;
    });
    let (a, b) = (810_201, 810_202);
    daemon.create_account(a, "Wide");
    daemon.create_account(b, "Wide copy");
    let mut csv = String::from("id,remark");
    for f in 1..=16 {
        csv.push_str(&format!(",field:字段{f:02}"));
    }
    csv.push_str("\r\n");
    let long = "长".repeat(200);
    for i in 0..ROWS {
        csv.push_str(&format!("w{i:05},\"{i}, {long}\""));
        for _ in 1..=16 {
            csv.push(',');
            csv.push_str(&long);
        }
        csv.push_str("\r\n");
    }
    let file = write(daemon.dir(), "wide.csv", csv.as_bytes());
    let report = import(&daemon, a, &file, &[]);
    assert_eq!(field(&report, "imported"), u64::from(ROWS), "{report}");

    let exported = export(&daemon, a, &[]);
    assert!(exported.len() > 16 << 20, "{} bytes", exported.len());
    let export_file = write(daemon.dir(), "wide-export.csv", &exported);
    let report = import(&daemon, b, &export_file, &[]);
    assert_eq!(field(&report, "imported"), u64::from(ROWS), "{report}");
    assert_eq!(export(&daemon, b, &[]), exported);
}

/// The acceptance test of issue 4: a 100,000-row CSV (a gold account's limit) into
/// one account, then a restart keeps every contact.
#[test]
fn hundred_thousand_rows_import_and_survive_a_restart() {
    const ROWS: u32 = 100_000;
    let mut daemon = Daemon::start();
    let account = 810_100;
    daemon.create_account(account, "十万客户");

    let cities = ["上海", "北京", "深圳", "广州"];
    let mut csv = String::from("id,real_name,phone,field:城市\r\n");
    for i in 0..ROWS {
        let city = cities[i as usize % cities.len()];
        csv.push_str(&format!("c{i:06},客户{i},138{i:08},{city}\r\n"));
    }
    let file = write(daemon.dir(), "100k.csv", csv.as_bytes());

    let started = Instant::now();
    let report = import(&daemon, account, &file, &[]);
    let import_time = started.elapsed();
    assert_eq!(field(&report, "rows"), u64::from(ROWS), "{report}");
    assert_eq!(field(&report, "imported"), u64::from(ROWS), "{report}");
    assert_eq!(field(&report, "invalid"), 0, "{report}");
    assert_eq!(count(&daemon, account), u64::from(ROWS));

    let started = Instant::now();
    let before = export(&daemon, account, &[]);
    let export_time = started.elapsed();

    // Every id, and one row in full.
    let text = String::from_utf8(before.clone()).expect("UTF-8 export");
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next(),
        Some(
            "\u{feff}id,visitor,state,owner,real_name,remark,nickname,phone,email,groups,tags,\
             field:城市"
        )
    );
    let ids: BTreeSet<&str> = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').next().unwrap_or(""))
        .collect();
    let want: BTreeSet<String> = (0..ROWS).map(|i| format!("c{i:06}")).collect();
    assert_eq!(ids.len(), want.len());
    assert!(ids.iter().zip(&want).all(|(got, want)| got == want));
    assert_contains(
        &text,
        "\r\nc042042,,friend,,客户42042,,,13800042042,,,,深圳\r\n",
    );

    let started = Instant::now();
    daemon.restart();
    let restart_time = started.elapsed();
    assert_eq!(count(&daemon, account), u64::from(ROWS));
    assert_eq!(export(&daemon, account, &[]), before);

    // The account is at its plan's limit: a new row is refused, the file still taken.
    let more = write(
        daemon.dir(),
        "more.csv",
        "id,real_name\r\nc000007,客户7\r\nc100000,客户100000\r\n".as_bytes(),
    );
    let report = import(&daemon, account, &more, &[]);
    assert_eq!(field(&report, "skipped as existing"), 1, "{report}");
    assert_eq!(field(&report, "refused by plan limit"), 1, "{report}");
    assert_contains(
        &report,
        "1 new row was refused: the account holds its plan's limit of contacts",
    );
    assert_eq!(count(&daemon, account), u64::from(ROWS));

    eprintln!(
        "100,000-row import ({} bytes): {:.2} s; export: {:.2} s; restart: {:.2} s",
        csv.len(),
        import_time.as_secs_f64(),
        export_time.as_secs_f64(),
        restart_time.as_secs_f64()
    );
}
