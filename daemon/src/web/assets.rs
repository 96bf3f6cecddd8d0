//! The chat window's files, compiled into the binary (`include_str!` of
//! `daemon/src/web/assets/`): `/chat.js` (the window), `/kefu.css` (its style) and
//! `/` (a small page that embeds the window for the account in `?account=`, for
//! trying the appliance and for the browser tests). Static files carry an `ETag` (a
//! hash of their bytes) and a short `max-age`, so an upgraded appliance's window
//! reaches every page within minutes and revalidation costs a 304.

use std::borrow::Cow;
use std::sync::OnceLock;

const CHAT_JS: &str = include_str!("assets/chat.js");
const KEFU_CSS: &str = include_str!("assets/kefu.css");
const INDEX_HTML: &str = include_str!("assets/index.html");

/// One response body and its headers.
pub struct Asset {
    /// The bytes.
    pub body: Cow<'static, str>,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Cache-Control`.
    pub cache_control: &'static str,
    /// `ETag`, for static files.
    pub etag: Option<String>,
}

/// The asset at `path` (`query` fills the index page), if there is one.
pub fn find(path: &str, query: &str) -> Option<Asset> {
    static TAGS: OnceLock<[String; 2]> = OnceLock::new();
    let tags = TAGS.get_or_init(|| [etag(CHAT_JS), etag(KEFU_CSS)]);
    let fixed = |body, content_type, tag: &String| Asset {
        body: Cow::Borrowed(body),
        content_type,
        cache_control: "public, max-age=300",
        etag: Some(tag.clone()),
    };
    match path {
        "/chat.js" => Some(fixed(CHAT_JS, "text/javascript; charset=utf-8", &tags[0])),
        "/kefu.css" => Some(fixed(KEFU_CSS, "text/css; charset=utf-8", &tags[1])),
        "/" | "/index.html" => Some(Asset {
            body: Cow::Owned(index_page(query)),
            content_type: "text/html; charset=utf-8",
            cache_control: "no-store",
            etag: None,
        }),
        _ => None,
    }
}

/// The index page for the account named in `query` (`account=` digits only; anything
/// else leaves the snippet out, so nothing from the query reaches the page unchecked).
fn index_page(query: &str) -> String {
    let account = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("account="))
        .filter(|a| !a.is_empty() && a.len() <= 20 && a.bytes().all(|b| b.is_ascii_digit()));
    let snippet = account.map_or_else(String::new, |a| {
        format!("<script src=\"/chat.js\" data-account=\"{a}\" async></script>")
    });
    INDEX_HTML.replace("{{SNIPPET}}", &snippet)
}

/// A strong validator: FNV-1a of the bytes.
pub(super) fn etag(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_index_takes_only_digits() {
        let page = super::index_page("account=12&x=1");
        assert!(page.contains("data-account=\"12\""));
        let page = super::index_page("account=1\"><script>");
        assert!(!page.contains("<script src=\"/chat.js\""));
    }
}
