//! Driving the account centre's page in Chromium (`web/assets/centre.*`), shared by the
//! `account_centre*` tests: its address, the sign-in form, the module list, and the
//! small WebDriver moves its forms need (waiting for a text, retyping a field, choosing
//! in a `<select>`, clicking a button clear of the status line).

use super::webdriver::Driver;
use super::TestServer;
use serde_json::{json, Value};

/// The centre's page on the test server's web listener, in `lang` (`en` or `zh`).
pub fn centre_url(s: &TestServer, lang: &str) -> String {
    let web = s.handle().web_addr().expect("web listener");
    format!("http://{web}/centre/?lang={lang}")
}

/// Signs in through the page's form and waits until the modules are listed.
pub fn sign_in(d: &Driver, account: u64, agent: u32, password: &str) {
    d.type_in("#si-user", &format!("{agent}@{account}"));
    d.type_in("#si-pass", password);
    d.click("#si-go");
    d.find("#logout:not([hidden])");
}

/// The ids of the modules the page offers.
pub fn modules(d: &Driver) -> Vec<String> {
    let v = d.script(
        "return Array.prototype.map.call(document.querySelectorAll('#nav button'),
           function (b) { return b.id.slice(4); });",
        json!([]),
    );
    serde_json::from_value(v).expect("module ids")
}

/// Waits in the page until `css` matches an element whose text contains `text`; fails
/// with what the element, the status line and the view say after 20 seconds.
pub fn await_text(d: &Driver, css: &str, text: &str) {
    let v = d.call(
        "POST",
        "/execute/async",
        json!({"script": "var css = arguments[0], want = arguments[1], done = arguments[2];
            var n = 0, t = setInterval(function () {
              var e = document.querySelector(css);
              if (e && e.textContent.indexOf(want) >= 0) { clearInterval(t); done(null); }
              else if (++n > 400) {
                clearInterval(t);
                var s = document.getElementById('status'), v = document.getElementById('view');
                done((e ? e.textContent : 'no element') + ' | status: ' +
                  (s ? s.textContent : '') + ' | view: ' +
                  (v ? v.textContent.slice(0, 300) : ''));
              }
            }, 50);", "args": [css, text]}),
    );
    assert!(v.is_null(), "waiting for {text:?} in {css}: {v}");
}

/// The text of the first element matching `css` (`null` if none).
pub fn text_of(d: &Driver, css: &str) -> Value {
    d.script(
        "var e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
        json!([css]),
    )
}

/// Replaces the value of the field `css` as a user would (clear, type).
pub fn retype(d: &Driver, css: &str, text: &str) {
    let id = d.find(css);
    d.call("POST", &format!("/element/{id}/clear"), json!({}));
    d.call(
        "POST",
        &format!("/element/{id}/value"),
        json!({ "text": text }),
    );
}

/// Sets the last `<select>` matching `css` (WebDriver's keyboard on selects differs
/// between versions).
pub fn choose_in(d: &Driver, css: &str, value: &str) {
    d.script(
        "var s = document.querySelectorAll(arguments[0]); s = s[s.length - 1];
         s.value = arguments[1]; s.dispatchEvent(new Event('change'));",
        json!([css, value]),
    );
}

/// Types into the last element matching `css`.
pub fn type_last(d: &Driver, css: &str, text: &str) {
    let v = d.call(
        "POST",
        "/elements",
        json!({"using": "css selector", "value": css}),
    );
    let last = v.as_array().and_then(|a| a.last()).expect("an element");
    let id = last
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_str)
        .expect("an element id");
    d.call(
        "POST",
        &format!("/element/{id}/value"),
        json!({ "text": text }),
    );
}

/// Clicks `css` once scrolled to the middle of the window (the page's status line at the
/// bottom would take a click at the window's edge).
pub fn click_centred(d: &Driver, css: &str) {
    d.find(css);
    d.script(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
        json!([css]),
    );
    d.click(css);
}

/// Opens the module `module` from the keyboard: its nav button focused, Enter pressed.
pub fn open_by_keyboard(d: &Driver, module: &str) {
    d.script(
        "document.getElementById(arguments[0]).focus();",
        json!([format!("nav-{module}")]),
    );
    let focused = d.find(&format!("#nav-{module}"));
    d.call(
        "POST",
        &format!("/element/{focused}/value"),
        json!({"text": "\u{E007}"}),
    );
}

/// Asserts that nothing in the page is wider than the window (`what` names the page).
pub fn assert_fits_width(d: &Driver, what: &str) {
    let fits = d.script(
        "return document.documentElement.scrollWidth <= window.innerWidth;",
        json!([]),
    );
    assert_eq!(fits, json!(true), "{what} fits a mobile width");
}
