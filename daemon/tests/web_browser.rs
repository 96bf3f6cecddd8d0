//! The visitor's chat window (W2) end to end in headless Chromium, driven over
//! WebDriver by `chromedriver` (Debian's `chromium` and `chromium-driver`, installed
//! by `.ci/deps`; without them this test fails, it does not skip): a real kefud
//! serves its index page embedding the snippet; the visitor opens the window, chats
//! with an agent (a client-library session on the binary port), reloads the page
//! mid-conversation and loses nothing and doubles nothing, chats on, and the window
//! fits a mobile width. Screenshots at desktop and mobile width go to
//! `$KEFU_SCREENSHOTS` (default: `<tmp>/kefu-screenshots`).
//!
//! The WebDriver client is `support/webdriver.rs`.

mod support;

use kefu_wire::chat::{MessageBody, Party};
use kefu_wire::{Client, Event, Request};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use support::webdriver::Driver;
use support::*;

const ACCOUNT: u64 = 816_002;

/// Waits in the page (not here) until `n` stored messages are shown; returns their texts.
fn await_messages(d: &Driver, n: usize) -> Vec<String> {
    let v = d.call(
        "POST",
        "/execute/async",
        json!({"script": "var n = arguments[0], done = arguments[1];
            var t = setInterval(function () {
              var m = document.querySelectorAll('.kefu-msg[data-id]');
              if (m.length >= n && !document.querySelector('.kefu-msg[data-cid]')) {
                clearInterval(t);
                done(Array.prototype.map.call(m, function (e) { return e.textContent; }));
              }
            }, 50);", "args": [n]}),
    );
    serde_json::from_value(v).unwrap()
}

/// The agent's next message from the customer: its conversation and text.
fn customer_says(a: &mut Client) -> (u64, String) {
    loop {
        let push = a.next_push(Duration::from_secs(30)).unwrap().expect("push");
        if let Event::Message(m) = push.event {
            if let (Party::Customer, MessageBody::Text(t)) = (m.from, m.body) {
                return (m.conversation, t);
            }
        }
    }
}

fn reply(a: &mut Client, conversation: u64, id: u64, text: &str) {
    a.request(&Request::SendMessage {
        conversation,
        client_msg_id: id,
        body: MessageBody::Text(text.into()),
    })
    .unwrap();
}

#[test]
fn a_visitor_chats_reloads_and_loses_nothing_in_chromium() {
    let s = TestServer::start_with(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    });
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 50 }).unwrap();

    let web = s.handle().web_addr().unwrap();
    let page = format!("http://{web}/?account={ACCOUNT}&lang=en");
    let d = Driver::start();
    d.window(1280, 800);
    d.go(&page);
    d.click(".kefu-open");
    d.type_in(".kefu-input", "Hello from the browser");
    d.click(".kefu-send");
    let (conversation, text) = customer_says(&mut a);
    assert_eq!(text, "Hello from the browser");
    reply(&mut a, conversation, 1, "Hi! How can I help?");
    let before = await_messages(&d, 2);
    assert!(before.ends_with(&[
        "Hello from the browser".into(),
        "Hi! How can I help?".into()
    ]));
    let agent_shown = d.script(
        "return document.querySelector('.kefu-agent-name').textContent",
        json!([]),
    );
    assert_eq!(agent_shown, json!("1001"), "the agent's display name");
    d.screenshot("desktop.png");

    // Reload mid-conversation: the same messages, once each, same visitor.
    d.call("POST", "/refresh", json!({}));
    let after = await_messages(&d, before.len());
    assert_eq!(after, before, "nothing lost or doubled over a reload");
    d.type_in(".kefu-input", "Still here after reload");
    d.click(".kefu-send");
    let (again, text) = customer_says(&mut a);
    assert_eq!(
        (again, text.as_str()),
        (conversation, "Still here after reload")
    );
    reply(&mut a, conversation, 2, "Good to see you");
    let all = await_messages(&d, before.len() + 2);
    assert_eq!(all.len(), before.len() + 2, "{all:?}");
    assert_eq!(all.last().map(String::as_str), Some("Good to see you"));

    // A narrow mobile width: the open window fills the viewport.
    d.window(390, 844);
    let fits = d.script(
        "var p = document.querySelector('.kefu-panel').getBoundingClientRect();
         return Math.abs(p.width - window.innerWidth) < 2 && p.left === 0;",
        json!([]),
    );
    assert_eq!(fits, json!(true), "the panel fills a mobile width");
    d.screenshot("mobile.png");

    // Chinese, by ?lang= (navigator.language otherwise).
    d.go(&format!("http://{web}/?account={ACCOUNT}&lang=zh"));
    let send = d.script(
        "return document.querySelector('.kefu-send').textContent",
        json!([]),
    );
    assert_eq!(send, json!("发送"));
    let again = await_messages(&d, before.len() + 2);
    assert_eq!(again, all);
    d.window(1280, 800);
    d.screenshot("desktop-zh.png");
}
