//! The satisfaction survey in the visitor's chat window (W2 with S1, manual §10.1) in
//! headless Chromium: a visitor and an agent (a client-library session on the binary
//! port) hold a valid conversation (both wrote, more than 10 messages), the agent closes
//! it, the window shows the account's five options; the visitor picks one of the lowest
//! three, ticks a preset reason, writes a few words and submits; the agent's CSAT report
//! counts it with the reason and the words. A screenshot of the survey goes to
//! `$KEFU_SCREENSHOTS` (default: `<tmp>/kefu-screenshots`).

mod support;

use kefu_wire::chat::{MessageBody, Party};
use kefu_wire::csat::{CsatAgentLine, CsatQuery, CsatSettings, CsatStyle};
use kefu_wire::{Client, Event, Request, Response};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use support::webdriver::Driver;
use support::*;

const ACCOUNT: u64 = 816_005;

/// The agent's next message from the customer: its conversation.
fn customer_wrote(a: &mut Client) -> u64 {
    loop {
        let push = a.next_push(Duration::from_secs(30)).unwrap().expect("push");
        if let Event::Message(m) = push.event {
            if let Party::Customer = m.from {
                return m.conversation;
            }
        }
    }
}

#[test]
fn s1_the_window_shows_the_survey_and_the_rating_reaches_the_report() {
    let s = TestServer::start_with(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    });
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 50 }).unwrap();
    a.request(&Request::SetCsatSettings(CsatSettings {
        enabled: true,
        style: CsatStyle::Words,
        reasons_enabled: true,
        reasons: vec!["回复太慢".into(), "没有解决问题".into()],
        subscribers: vec![],
    }))
    .unwrap();

    let web = s.handle().web_addr().unwrap();
    let d = Driver::start();
    d.window(1280, 800);
    d.go(&format!("http://{web}/?account={ACCOUNT}&lang=zh"));
    d.click(".kefu-open");
    d.type_in(".kefu-input", "我的订单还没到");
    d.click(".kefu-send");
    let conversation = customer_wrote(&mut a);
    // Ten answers: eleven messages from both sides, a valid conversation.
    for i in 1..=10u64 {
        a.request(&Request::SendMessage {
            conversation,
            client_msg_id: i,
            body: MessageBody::Text(format!("答复 {i}")),
        })
        .unwrap();
    }
    d.await_messages(11);
    a.request(&Request::CloseConversation { conversation })
        .unwrap();

    // The survey: the style's five labels, worst first.
    d.find(".kefu-survey .kefu-rate");
    let labels = d.script(
        "return Array.from(document.querySelectorAll('.kefu-rate')).map(b => b.textContent)",
        json!([]),
    );
    assert_eq!(
        labels,
        json!(["很不满意", "不满意", "一般", "满意", "很满意"])
    );
    d.click(".kefu-rate[data-rating=\"2\"]");
    d.click(".kefu-reason input[data-reason=\"1\"]");
    d.type_in(".kefu-words", "等了很久");
    d.screenshot("csat-survey.png");
    d.click(".kefu-reasons .kefu-yes");
    d.find(".kefu-survey .kefu-thanks");
    let thanks = d.script(
        "return document.querySelector('.kefu-survey').textContent",
        json!([]),
    );
    assert_eq!(thanks, json!("感谢您的评价。"));

    let page = match a
        .request(&Request::CsatReport(CsatQuery {
            from: None,
            to: None,
            detail: true,
            after: None,
        }))
        .unwrap()
    {
        Response::CsatReport(p) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        page.lines,
        vec![CsatAgentLine {
            agent: 1001,
            counts: [0, 1, 0, 0, 0]
        }]
    );
    let rating = &page.detail[0];
    assert_eq!(rating.conversation, conversation);
    assert_eq!(rating.reasons, vec!["没有解决问题".to_owned()]);
    assert_eq!(rating.text, "等了很久");
}
