//! The web channel's own types (features W1, W3, W4, S4, S5; manual §10.2, §10.7, §4.6,
//! §4.8, §4.9, §7.20): entry-point codes (在线咨询图标), a visitor's page views and
//! trail, invitations, and the per-day visit figures (`wire/PROTOCOL.md` sections
//! 31–33). The checks of what an agent or a visitor sends ([`EntryCodeDraft::validate`],
//! [`PageView::validate`]) and the one reading of a search engine's referrer
//! ([`search_keywords`]) are pure and live here, so the daemon and tests share them.

// Decodes peer input: no panicking shortcuts (style rule 5); tests may use them.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use crate::chat::{CustomerId, Entry};
use serde::{Deserialize, Serialize};

/// Most entry-point codes per account.
pub const MAX_ENTRY_CODES: usize = 200;
/// Longest description of a code, characters.
pub const MAX_CODE_DESCRIPTION_CHARS: usize = 200;
/// Longest site URL, bytes.
pub const MAX_SITE_URL_BYTES: usize = 2_048;
/// Longest style name or icon text, characters.
pub const MAX_STYLE_CHARS: usize = 32;
/// Longest URL, title or referrer of a page view, bytes (URL, referrer) or characters
/// (title).
pub const MAX_PAGE_URL_BYTES: usize = 2_048;
/// Longest page title, characters.
pub const MAX_PAGE_TITLE_CHARS: usize = 200;
/// Longest invitation text, characters (manual or automatic).
pub const MAX_INVITATION_CHARS: usize = 200;
/// Longest automatic-invitation wait, seconds (one hour).
pub const MAX_AUTO_INVITE_SECS: u32 = 3_600;
/// Page views a visitor's trail keeps (older ones are pruned as new ones come).
pub const MAX_TRAIL_PAGES: usize = 200;
/// Days a page view is kept.
pub const TRAIL_RETENTION_DAYS: i64 = 30;
/// Most days one report covers.
pub const MAX_REPORT_DAYS: u32 = 366;
/// Most referrer domains counted per day (the rest are counted under `other`).
pub const MAX_REFERRER_DOMAINS: usize = 50;
/// Most visitors `ListSiteVisitors` returns (most recent arrivals first).
pub const MAX_LISTED_VISITORS: usize = 500;
/// Longest keyword kept, characters.
pub const MAX_KEYWORD_CHARS: usize = 100;

/// How a code shows on the page (§10.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeKind {
    /// A fixed icon (固定图标) placed in the page.
    Fixed,
    /// A floating icon (浮动图标) that follows the scroll.
    Floating,
    /// A plain link (for forums and micro-blogs, "在论坛/微博发布在线咨询图标").
    Link,
}

/// What an agent gives to create or edit a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryCodeDraft {
    /// Free text for the account's own use, 0..=200 characters.
    pub description: String,
    /// Fixed, floating or link.
    pub kind: CodeKind,
    /// How the conversation it opens is routed (§10.7): auto, an agent, a group.
    pub routing: Entry,
    /// The site it is published on (`http://` or `https://`, at most 2,048 bytes).
    pub site_url: String,
    /// The icon's style name (e.g. `A-03`), 0..=32 characters; empty = the default.
    pub style: String,
    /// Whether it opens the anonymous window only (匿名风格, §10.2.1).
    pub anonymous: bool,
}

/// A stored entry-point code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryCode {
    /// Its number in the account, given at creation, never reused.
    pub id: u32,
    /// What it is now.
    pub draft: EntryCodeDraft,
    /// When it was created, unix ms.
    pub created_at: i64,
    /// When it was last edited, unix ms.
    pub edited_at: i64,
}

/// What a visitor's page may read of a code (`GetEntryCode`): how to show it, not to
/// whom it routes nor the account's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicEntryCode {
    /// Its number.
    pub id: u32,
    /// Fixed, floating or link.
    pub kind: CodeKind,
    /// The icon's style name.
    pub style: String,
    /// Anonymous window only.
    pub anonymous: bool,
}

/// Why a draft is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The site URL is not `http(s)://`, too long, or holds spaces.
    #[error("site URL must be http:// or https://, at most {MAX_SITE_URL_BYTES} bytes, no spaces")]
    SiteUrl,
    /// A text field is too long or an agent group name is empty.
    #[error("{0}")]
    Field(&'static str),
}

impl EntryCodeDraft {
    /// Checks bounds and the URL (the agent and group named are the daemon's to check).
    pub fn validate(&self) -> Result<(), CodeError> {
        if self.description.chars().count() > MAX_CODE_DESCRIPTION_CHARS {
            return Err(CodeError::Field("description: at most 200 characters"));
        }
        if self.style.chars().count() > MAX_STYLE_CHARS || self.style.chars().any(char::is_control)
        {
            return Err(CodeError::Field(
                "style: at most 32 characters, no control characters",
            ));
        }
        if let Entry::Group(g) = &self.routing {
            if g.trim().is_empty() || g.chars().count() > crate::menu::MAX_GROUP_CHARS {
                return Err(CodeError::Field("group: 1..=64 characters"));
            }
        }
        if self.site_url.len() > MAX_SITE_URL_BYTES || !crate::menu::url_ok(&self.site_url) {
            return Err(CodeError::SiteUrl);
        }
        Ok(())
    }
}

/// A page the visitor opened (from the snippet on each page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageView {
    /// The page's URL (`http(s)://`, at most 2,048 bytes).
    pub url: String,
    /// Its title, at most 200 characters (may be empty).
    pub title: String,
    /// `document.referrer`, at most 2,048 bytes (may be empty).
    pub referrer: String,
}

impl PageView {
    /// Checks bounds: the URL must be `http(s)://`; the referrer, if any, too.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !crate::menu::url_ok(&self.url) || self.url.len() > MAX_PAGE_URL_BYTES {
            return Err("url: http:// or https://, at most 2,048 bytes, no spaces");
        }
        if !self.referrer.is_empty()
            && (!crate::menu::url_ok(&self.referrer) || self.referrer.len() > MAX_PAGE_URL_BYTES)
        {
            return Err("referrer: empty, or http:// or https://, at most 2,048 bytes");
        }
        if self.title.chars().count() > MAX_PAGE_TITLE_CHARS
            || self.title.chars().any(char::is_control)
        {
            return Err("title: at most 200 characters, no control characters");
        }
        Ok(())
    }
}

/// One page of a visitor's trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageVisit {
    /// The page.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Where the visitor came from (empty: typed, bookmark, or none given).
    pub referrer: String,
    /// When it was opened, unix ms.
    pub at: i64,
    /// How long the visitor stayed, ms: until the next page or `PageLeft`; `None`
    /// while it is still on it (or left without saying).
    pub dwell_ms: Option<i64>,
}

/// What agents see of a visitor on the site now (`ListSiteVisitors`, 到站访客).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteVisitor {
    /// Who.
    pub visitor: CustomerId,
    /// When this visit began (its first page view in this session), unix ms.
    pub arrived_at: i64,
    /// The page it is on.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Search keywords of the referrer that brought it, if a search engine.
    pub keywords: Option<String>,
    /// Pages viewed in this visit.
    pub pages: u32,
    /// Whether it already accepted an invitation (no second one, §4.6.2).
    pub accepted_invitation: bool,
    /// Region, when the appliance knows one (it does not yet: always `None`).
    pub region: Option<String>,
}

/// A visitor's trail (`GetVisitorTrail`, §4.6.3, §4.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitorTrail {
    /// Who.
    pub visitor: CustomerId,
    /// Pages, oldest first (at most [`MAX_TRAIL_PAGES`], none older than
    /// [`TRAIL_RETENTION_DAYS`]).
    pub pages: Vec<PageVisit>,
    /// Search keywords found in the referrers, oldest first, each once.
    pub keywords: Vec<String>,
    /// The navigation-menu labels clicked before its open (or last) conversation was
    /// routed (M4); empty if none.
    pub menu_path: Vec<String>,
    /// Region, when known (never yet).
    pub region: Option<String>,
}

/// An invitation to chat, as the visitor receives it (`Event::Invitation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// Its number (answer with `AnswerInvitation`).
    pub invitation: u64,
    /// The inviting agent (0 for the automatic invitation: routed automatically).
    pub agent: u32,
    /// The text.
    pub text: String,
    /// Whether it is the account's automatic invitation.
    pub automatic: bool,
}

/// The account's automatic invitation (自动邀请, §4.6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoInviteSettings {
    /// Whether it is on.
    pub enabled: bool,
    /// Seconds on the site before it is sent, 1..=3,600.
    pub after_secs: u32,
    /// Its text, 1..=200 characters.
    pub text: String,
}

impl Default for AutoInviteSettings {
    fn default() -> Self {
        AutoInviteSettings {
            enabled: false,
            after_secs: 30,
            text: "您好，有什么可以帮您？".into(),
        }
    }
}

/// One day of the visit figures (S4, S5).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VisitDay {
    /// Days since 1970-01-01 (UTC).
    pub day: u32,
    /// Visits (访问人次): sessions that viewed at least one page that day.
    pub visits: u64,
    /// Unique visitors (独立访客) that viewed a page that day.
    pub unique_visitors: u64,
    /// Page views.
    pub page_views: u64,
    /// Conversations opened by web visitors or through an entry-point code (咨询量).
    pub consultations: u64,
}

/// A count under a name (a referrer's domain, a region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCount {
    /// The name (`other` for the ones past the per-day bound; `direct` for visits
    /// without a referrer).
    pub name: String,
    /// How many.
    pub count: u64,
}

/// Site analytics over a range (S5, §4.8): the days, and the referrers' domains and
/// regions over the whole range, largest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteAnalytics {
    /// Each day of the range (days without a visit are zero).
    pub days: Vec<VisitDay>,
    /// Visits by referring domain, largest first.
    pub referrers: Vec<NamedCount>,
    /// Visits by region, largest first (kefud's `[web] regions_file`; `未知`: an address
    /// the file does not cover; empty in days counted before regions existed).
    pub regions: Vec<NamedCount>,
}

/// Most origins in an account's explicit list (PROTOCOL.md 38.4).
pub const MAX_ALLOWED_ORIGINS: usize = 50;
/// Longest origin, bytes.
pub const MAX_ORIGIN_BYTES: usize = 256;

/// The origins whose pages may open an account's chat window (`GetAllowedOrigins`):
/// the explicit list, and the origins of its entry codes' site URLs. Both empty: any
/// origin the gateway's `[web] allowed_origins` lets through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowedOrigins {
    /// Set with `SetAllowedOrigins`, as normalised (lower-case, no default port).
    pub explicit: Vec<String>,
    /// Derived from the entry codes' site URLs, each once, sorted.
    pub from_codes: Vec<String>,
}

/// The origin (`scheme://host[:port]`, lower-case, without the scheme's default port)
/// of an `http(s)://` URL or origin; `None` if it is not one, is longer than
/// [`MAX_ORIGIN_BYTES`], or holds user info, spaces or control characters.
pub fn origin_of(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = if let Some(r) = lower.strip_prefix("https://") {
        ("https", r)
    } else {
        ("http", lower.strip_prefix("http://")?)
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty()
        || host.contains('@')
        || host.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let default = if scheme == "https" { ":443" } else { ":80" };
    let host = host.strip_suffix(default).unwrap_or(host);
    let origin = format!("{scheme}://{host}");
    (origin.len() <= MAX_ORIGIN_BYTES).then_some(origin)
}

/// The domain of an `http(s)://` URL, lower-cased, without a port or `www.`.
pub fn url_domain(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("HTTPS://"))
        .or_else(|| url.strip_prefix("HTTP://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    Some(
        host.strip_prefix("www.")
            .map(str::to_string)
            .unwrap_or(host),
    )
}

/// The search keywords in a search engine's referrer: baidu `wd=` / `word=`, google,
/// bing and 360 (so.com) `q=`, sogou `query=`; `+` is a space and `%XX` bytes are
/// decoded as UTF-8 (a bad sequence gives no keywords rather than a wrong text).
/// `None` when the referrer is no known search engine's or carries no keywords.
pub fn search_keywords(referrer: &str) -> Option<String> {
    let domain = url_domain(referrer)?;
    let under = |site: &str| domain == site || domain.ends_with(&format!(".{site}"));
    let google = domain.starts_with("google.") || domain.contains(".google.");
    let names: &[&str] = if under("baidu.com") {
        &["wd", "word"]
    } else if under("sogou.com") {
        &["query"]
    } else if google || under("bing.com") || under("so.com") {
        &["q"]
    } else {
        return None;
    };
    let query = referrer.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if names.contains(&name) {
            let text = percent_decode(value)?;
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            return Some(text.chars().take(MAX_KEYWORD_CHARS).collect());
        }
    }
    None
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `+` and `%XX` into bytes, then UTF-8; `None` on a bad escape or bad UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = hex(*bytes.get(i + 1)?)?;
                let lo = hex(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_from_search_engines() {
        assert_eq!(
            search_keywords(
                "https://www.baidu.com/s?ie=utf-8&wd=%E5%AE%A2%E6%9C%8D%E8%BD%AF%E4%BB%B6"
            )
            .as_deref(),
            Some("客服软件")
        );
        assert_eq!(
            search_keywords("https://m.baidu.com/s?word=%E5%94%AE%E5%90%8E").as_deref(),
            Some("售后")
        );
        assert_eq!(
            search_keywords("https://www.google.com/search?q=on+premise+chat").as_deref(),
            Some("on premise chat")
        );
        assert_eq!(
            search_keywords("https://cn.bing.com/search?q=kefu").as_deref(),
            Some("kefu")
        );
        assert_eq!(
            search_keywords("https://www.sogou.com/web?query=%E5%AE%A2%E6%9C%8D").as_deref(),
            Some("客服")
        );
        assert_eq!(
            search_keywords("https://www.so.com/s?q=abc").as_deref(),
            Some("abc")
        );
        assert_eq!(search_keywords("https://example.com/?q=abc"), None);
        assert_eq!(search_keywords("https://www.baidu.com/s?wd=%E5%AE"), None);
        assert_eq!(search_keywords("https://www.baidu.com/s?wd=%zz"), None);
        assert_eq!(search_keywords("https://www.baidu.com/"), None);
    }

    #[test]
    fn domains() {
        assert_eq!(
            url_domain("https://www.Example.com:8443/a?b").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            url_domain("http://news.qq.com").as_deref(),
            Some("news.qq.com")
        );
        assert_eq!(url_domain("ftp://x"), None);
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://Shop.Example.com:443/a?b").as_deref(),
            Some("https://shop.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin_of("http://a.com:80/").as_deref(),
            Some("http://a.com")
        );
        assert_eq!(origin_of("ftp://a.com"), None);
        assert_eq!(origin_of("https://"), None);
        assert_eq!(origin_of("https://u@a.com"), None);
        assert_eq!(origin_of(&format!("https://{}", "a".repeat(300))), None);
    }

    #[test]
    fn drafts() {
        let mut d = EntryCodeDraft {
            description: "首页".into(),
            kind: CodeKind::Floating,
            routing: Entry::Auto,
            site_url: "https://example.com/".into(),
            style: "A-03".into(),
            anonymous: true,
        };
        assert!(d.validate().is_ok());
        d.site_url = "javascript:alert(1)".into();
        assert_eq!(d.validate(), Err(CodeError::SiteUrl));
        d.site_url = "https://example.com/".into();
        d.description = "x".repeat(201);
        assert!(matches!(d.validate(), Err(CodeError::Field(_))));
    }
}
