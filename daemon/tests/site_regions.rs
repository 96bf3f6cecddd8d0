//! Regions in site analytics (S5, manual §4.8; PROTOCOL.md section 33.4) through real
//! sockets to a real kefud: a `[web] regions_file` mapping 127.0.0.2 and 127.0.0.3 to
//! two regions, visitors connecting from those source addresses (the client socket
//! bound before `connect`) and from 127.0.0.1 (no line: `未知`); `GetSiteAnalytics`
//! and its export show each region's visits, and the counts survive a restart over the
//! same data. A bad regions file stops kefud (a process) from starting, naming the line.

mod support;

use kefu_daemon::regions::UNKNOWN_REGION;
use kefu_wire::chat::Channel;
use kefu_wire::reports::{ExportFormat, ReportKind};
use kefu_wire::web::{NamedCount, PageView, SiteAnalytics};
use kefu_wire::{Client, Request, Response};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use support::export::fetch;
use support::*;

const ACCOUNT: u64 = 816_151;
const NORTH: &str = "华北";
const SOUTH: &str = "华南";

/// A client of `server` whose socket is bound to `source` before it connects.
fn client_from(source: &str, server: SocketAddr) -> Client {
    let source: IpAddr = source.parse().unwrap();
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .unwrap();
    socket
        .bind(&SocketAddr::new(source, 0).into())
        .expect("bind the source address");
    socket.connect(&server.into()).expect("connect");
    let stream: std::net::TcpStream = socket.into();
    stream.set_nodelay(true).unwrap();
    Client::handshake(Box::new(stream), opts()).expect("handshake")
}

/// A web visitor from `source` that views `pages` pages (one visit).
fn visit(server: SocketAddr, source: &str, pages: usize) -> Client {
    let mut c = client_from(source, server);
    match c
        .request(&Request::VisitorLogin {
            account: ACCOUNT,
            token: None,
            channel: Channel::Web,
        })
        .unwrap()
    {
        Response::CustomerLoggedIn(_) => {}
        other => panic!("{other:?}"),
    }
    for i in 0..pages {
        c.request(&Request::PageView(PageView {
            url: format!("https://shop.example.com/p{i}"),
            title: String::new(),
            referrer: String::new(),
        }))
        .unwrap();
    }
    c
}

fn analytics(c: &mut Client, today: u32) -> SiteAnalytics {
    match c
        .request(&Request::GetSiteAnalytics {
            from_day: today - 1,
            until_day: today + 1,
        })
        .unwrap()
    {
        Response::SiteAnalytics(a) => a,
        other => panic!("{other:?}"),
    }
}

/// The regions, sorted by name (the order of equal counts is not the point here).
fn regions(a: &SiteAnalytics) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = a
        .regions
        .iter()
        .map(|NamedCount { name, count }| (name.clone(), *count))
        .collect();
    v.sort();
    v
}

fn expected(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    v.sort();
    v
}

fn regions_file(dir: &std::path::Path, text: &str) -> PathBuf {
    let path = dir.join("regions.txt");
    std::fs::write(&path, text).unwrap();
    path
}

/// S5: visits counted per region of the source address, in the report and its export,
/// across a restart.
#[test]
fn s5_visits_count_per_region_of_the_source_address() {
    let files = tempfile::tempdir().unwrap();
    let path = regions_file(
        files.path(),
        &format!("# test regions\n127.0.0.2/32 {NORTH}\n\n127.0.0.3 {SOUTH} # one address\n"),
    );
    let with_regions = |c: &mut kefu_daemon::config::Config| {
        c.web.regions_file = Some(path.clone());
    };
    let mut s = TestServer::start_with(with_regions);
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    drop(admin);
    let today = u32::try_from(now() / 86_400).unwrap();
    let addr = s.addr();
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();

    // Two visits from 127.0.0.2 (three page views in all), one from 127.0.0.3, one from
    // 127.0.0.1 (no line covers it).
    let visitors = [
        visit(addr, "127.0.0.2", 2),
        visit(addr, "127.0.0.2", 1),
        visit(addr, "127.0.0.3", 1),
        visit(addr, "127.0.0.1", 1),
    ];
    let a = analytics(&mut boss, today);
    let want = expected(&[(NORTH, 2), (SOUTH, 1), (UNKNOWN_REGION, 1)]);
    assert_eq!(regions(&a), want);
    assert_eq!(a.regions[0].name, NORTH, "largest first");
    let visits: u64 = a.days.iter().map(|d| d.visits).sum();
    let page_views: u64 = a.days.iter().map(|d| d.page_views).sum();
    assert_eq!((visits, page_views), (4, 5));

    // The export carries the regions (CSV: a row per region under 访客地区).
    let kind = ReportKind::SiteAnalytics {
        from_day: today - 1,
        until_day: today + 1,
    };
    let (_, _, csv) = fetch(&mut boss, kind.clone(), ExportFormat::Csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    for (name, count) in &want {
        assert!(
            csv.lines().any(|l| l.starts_with("访客地区")
                && l.contains(&format!(",{count},"))
                && l.ends_with(name.as_str())),
            "{name} {count} in\n{csv}"
        );
    }
    drop(visitors);
    drop(boss);

    // Restart over the same data: the counts are on the disk; a new visit adds to them.
    s.restart_with(with_regions);
    let _again = visit(s.addr(), "127.0.0.3", 1);
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    assert_eq!(
        regions(&analytics(&mut boss, today)),
        expected(&[(NORTH, 2), (SOUTH, 2), (UNKNOWN_REGION, 1)])
    );

    // Without the file every new visit is 未知; the stored counts stay.
    drop(boss);
    s.restart();
    let _plain = visit(s.addr(), "127.0.0.2", 1);
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    assert_eq!(
        regions(&analytics(&mut boss, today)),
        expected(&[(NORTH, 2), (SOUTH, 2), (UNKNOWN_REGION, 2)])
    );
}

/// A bad regions file: kefud refuses to start and names the file's line.
#[test]
fn a_bad_regions_file_stops_kefud_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    for (text, line) in [
        ("127.0.0.2/32 North\n# fine\n127.0.0.0/40 South\n", 3),
        ("127.0.0.2/32 North\nnot-an-address East\n", 2),
        ("127.0.0.2/32\n", 1),
    ] {
        let path = regions_file(dir.path(), text);
        let config = write_config(dir.path(), &format!("[web]\nregions_file = {path:?}\n"));
        let out = Command::new(env!("CARGO_BIN_EXE_kefud"))
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .output()
            .expect("run kefud");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text:?} started");
        assert!(
            stderr.contains(&format!("line {line}:")) && stderr.contains("regions_file"),
            "{text:?}: {stderr}"
        );
        assert!(!stderr.contains("kefud: ready"), "{stderr}");
    }
}
