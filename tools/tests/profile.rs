//! `kefuctl profile review list|approve|reject` end to end (E1, E2; wire/PROTOCOL.md
//! section 41): the real binary as a process against a daemon started in-process. Agent
//! 1001 submits a profile and a style through the client library; the operator lists
//! them, rejects one (the account sees the reason), approves the other (it is in force,
//! also after a restart), and a decision with nothing waiting is refused by its code.

mod support;

use kefu_wire::profile::{ChatWindowStyle, EnterpriseProfile};
use kefu_wire::{Client, ClientOptions, ErrorCode, Request, Response};
use support::{assert_contains, Daemon, PASSWORD};

const ACCOUNT: u64 = 817_017;
const NAME: &str = "上海示例贸易有限公司";

fn agent(d: &Daemon) -> Client {
    let mut c = Client::connect(d.tcp_addr(), ClientOptions::default()).unwrap();
    c.login(ACCOUNT, 1001, PASSWORD).unwrap();
    c
}

fn profile(c: &mut Client) -> kefu_wire::profile::Reviewed<EnterpriseProfile> {
    match c.request(&Request::GetEnterpriseProfile).unwrap() {
        Response::EnterpriseProfile(p) => *p,
        other => panic!("{other:?}"),
    }
}

fn style(c: &mut Client) -> kefu_wire::profile::Reviewed<ChatWindowStyle> {
    match c.request(&Request::GetChatWindowStyle).unwrap() {
        Response::ChatWindowStyle(s) => *s,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_operator_reviews_profiles_and_styles_with_kefuctl() {
    let mut d = Daemon::start();
    d.create_account(ACCOUNT, NAME);
    let out = d.kefuctl(&["profile", "review", "list"]).ok();
    assert_contains(&out, "no profile or style waits for review");

    let mut c = agent(&d);
    let edit = EnterpriseProfile {
        full_name: NAME.into(),
        short_name: "示例贸易".into(),
        industry: "批发零售".into(),
        address: "上海市徐汇区虹梅路 1801 号".into(),
        phone: "021-54569595".into(),
        web_site: "https://shop.example.com".into(),
        description: "第一行\n第二行".into(),
    };
    c.request(&Request::SubmitEnterpriseProfile {
        profile: edit.clone(),
    })
    .unwrap();
    let window = ChatWindowStyle {
        title: "示例客服".into(),
        greeting: "您好".into(),
        theme: "purple".into(),
        logo_url: String::new(),
        link_text: "逛逛".into(),
        link_url: "https://shop.example.com/".into(),
    };
    c.request(&Request::SubmitChatWindowStyle {
        style: window.clone(),
    })
    .unwrap();

    let out = d.kefuctl(&["profile", "review", "list"]).ok();
    assert_contains(&out, &format!("account {ACCOUNT} profile submitted at"));
    assert_contains(&out, "short name \"示例贸易\"");
    assert_contains(&out, &format!("account {ACCOUNT} style submitted at"));
    assert_contains(&out, "theme \"#722ed1\"");

    let rejected = d
        .kefuctl(&[
            "profile",
            "review",
            "reject",
            "--account",
            &ACCOUNT.to_string(),
            "--kind",
            "style",
            "--reason",
            "链接须为本企业的网站",
        ])
        .ok();
    assert_contains(&rejected, "rejected");
    d.kefuctl(&[
        "profile",
        "review",
        "approve",
        "--account",
        &ACCOUNT.to_string(),
        "--kind",
        "profile",
    ])
    .ok();
    let out = d.kefuctl(&["profile", "review", "list"]).ok();
    assert_contains(&out, "no profile or style waits for review");
    let again = d
        .kefuctl(&[
            "profile",
            "review",
            "approve",
            "--account",
            &ACCOUNT.to_string(),
            "--kind",
            "profile",
        ])
        .run()
        .expect_code(1);
    assert_contains(&again.stderr, "NOTHING_TO_REVIEW");

    let check = |c: &mut Client| {
        let p = profile(c);
        assert_eq!(p.current.as_ref(), Some(&edit));
        assert!(p.pending.is_none());
        let s = style(c);
        assert!(s.current.is_none() && s.pending.is_none());
        let r = s.rejected.expect("the rejection stays visible");
        assert_eq!(r.reason, "链接须为本企业的网站");
        assert_eq!(r.edit.theme, "#722ed1");
    };
    check(&mut c);
    drop(c);
    d.restart();
    let mut c = agent(&d);
    check(&mut c);
    // The full name stays fixed after the restart too.
    let e = c
        .request(&Request::SubmitEnterpriseProfile {
            profile: EnterpriseProfile {
                full_name: "另一家公司".into(),
                ..edit
            },
        })
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::FULL_NAME_FIXED));
}
