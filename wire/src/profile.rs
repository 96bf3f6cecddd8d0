//! The enterprise profile (E1, manual §7.5) and the chat window's style (E2, §7.7), both
//! edited under review (PROTOCOL.md section 41): an agent submits an edit, the operator
//! approves or rejects it on the admin socket, and only an approved edit is shown (the
//! profile in the account centre, the style in the visitors' chat window). One check of
//! each ([`EnterpriseProfile::check`], [`ChatWindowStyle::check`]), unit-tested here and
//! run by the daemon before anything is stored.
//!
//! Lengths are counted in characters (`char`s), so a Chinese name of 100 characters is as
//! long as a Latin one; URLs are counted in bytes. No field may hold a control character
//! (line breaks are allowed in the description and the greeting only).

// Checks peer input: no panicking shortcuts (style rule 5); tests may use them.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use serde::{Deserialize, Serialize};

/// The full name (企业全称), characters.
pub const MAX_FULL_NAME_CHARS: usize = 100;
/// The short name shown to customers (对外名称), characters.
pub const MAX_SHORT_NAME_CHARS: usize = 30;
/// The industry (所属行业), characters.
pub const MAX_INDUSTRY_CHARS: usize = 50;
/// The contact address (联系地址), characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// The contact phone (联系电话), characters.
pub const MAX_PHONE_CHARS: usize = 30;
/// The description (公司简介), characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// The window's title, characters.
pub const MAX_TITLE_CHARS: usize = 30;
/// The window's greeting, characters.
pub const MAX_GREETING_CHARS: usize = 200;
/// The window's link text, characters.
pub const MAX_LINK_TEXT_CHARS: usize = 30;
/// A URL (web site, logo, link), bytes.
pub const MAX_URL_BYTES: usize = 512;
/// A rejection's reason, characters (1 at least).
pub const MAX_REJECT_REASON_CHARS: usize = 200;
/// Rows of a review-queue page at most (`AdminProfileReviewQueue`).
pub const MAX_PROFILE_REVIEW_PAGE: u32 = 20;

/// The fixed palette of theme colours: a name a submission may give instead of
/// `#rrggbb`, and the colour it stands for (what is stored and shown).
pub const PALETTE: [(&str, &str); 6] = [
    ("blue", "#1677ff"),
    ("green", "#2e8b57"),
    ("red", "#d4380d"),
    ("orange", "#d46b08"),
    ("purple", "#722ed1"),
    ("grey", "#595959"),
];

/// The enterprise profile (企业资料). The full name is the account's name, fixed when
/// the account was opened (`AdminCreateAccount`): an edit of it is refused.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnterpriseProfile {
    /// The full name (企业全称), fixed.
    pub full_name: String,
    /// The short name shown outside (对外名称).
    pub short_name: String,
    /// The industry (所属行业).
    pub industry: String,
    /// The contact address (联系地址).
    pub address: String,
    /// The contact phone (联系电话).
    pub phone: String,
    /// The web site (公司主页): empty, or an `http(s)://` URL.
    pub web_site: String,
    /// The description (公司简介), several lines.
    pub description: String,
}

/// The customisation of the visitors' chat window.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChatWindowStyle {
    /// The window's title (empty: the window's default).
    pub title: String,
    /// The greeting shown when the window opens (empty: none).
    pub greeting: String,
    /// The theme colour: `#rrggbb`, or a name of [`PALETTE`] in a submission (stored as
    /// its `#rrggbb`); empty: the window's default.
    pub theme: String,
    /// The logo: empty, or an `https://` image URL.
    pub logo_url: String,
    /// The link's text (empty: no link; then `link_url` is empty too).
    pub link_text: String,
    /// The link: empty, or an `http(s)://` URL.
    pub link_url: String,
}

/// An edit waiting for the operator's review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted<T> {
    /// The edit.
    pub edit: T,
    /// When it was submitted, unix ms.
    pub at: i64,
}

/// The last edit the operator rejected, with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected<T> {
    /// The edit.
    pub edit: T,
    /// Why, as the operator wrote it.
    pub reason: String,
    /// When, unix ms.
    pub at: i64,
}

/// A profile or a style under review: what is in force, what waits, what was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewed<T> {
    /// The approved version in force (`None`: never approved).
    pub current: Option<T>,
    /// The edit waiting for review (a second submission replaces it).
    pub pending: Option<Submitted<T>>,
    /// The last rejected edit (cleared when a later edit is approved).
    pub rejected: Option<Rejected<T>>,
}

impl<T> Default for Reviewed<T> {
    fn default() -> Self {
        Reviewed {
            current: None,
            pending: None,
            rejected: None,
        }
    }
}

/// Which of the two an operator's review is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReviewKind {
    /// The enterprise profile.
    Profile,
    /// The chat window's style.
    Style,
}

/// What a row of the review queue shows the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReviewSubject {
    /// A profile edit.
    Profile(EnterpriseProfile),
    /// A style edit.
    Style(ChatWindowStyle),
}

impl ReviewSubject {
    /// Its kind.
    pub fn kind(&self) -> ReviewKind {
        match self {
            ReviewSubject::Profile(_) => ReviewKind::Profile,
            ReviewSubject::Style(_) => ReviewKind::Style,
        }
    }
}

/// Where a review-queue page ends (the queue is ordered oldest submission first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileReviewCursor {
    /// Submitted at, unix ms.
    pub submitted_at: i64,
    /// The account.
    pub account: u64,
    /// The kind.
    pub kind: ReviewKind,
}

/// One edit waiting for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileReview {
    /// The account.
    pub account: u64,
    /// Submitted at, unix ms.
    pub submitted_at: i64,
    /// The edit.
    pub subject: ReviewSubject,
}

/// A page of the review queue (`AdminProfileReviewQueue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileReviewPage {
    /// The rows, oldest submission first.
    pub items: Vec<ProfileReview>,
    /// Where the next page starts, if there is one.
    pub next: Option<ProfileReviewCursor>,
}

/// Why an edit is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// A field is longer than its limit.
    #[error("{field} is longer than {max} characters")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// A field holds a control character.
    #[error("{field} holds a control character")]
    Control {
        /// The field.
        field: &'static str,
    },
    /// A URL is not an `http(s)://` one (`https://` for the logo), or too long.
    #[error("{field} must be an {scheme} URL of at most {MAX_URL_BYTES} bytes")]
    UnsafeLink {
        /// The field.
        field: &'static str,
        /// What it must start with.
        scheme: &'static str,
    },
    /// The theme is neither `#rrggbb` nor a palette name.
    #[error("the theme colour must be #rrggbb or one of blue, green, red, orange, purple, grey")]
    BadColour,
    /// Link text without a link, or a link without text.
    #[error("the link needs both its text and its URL")]
    HalfLink,
}

fn text(field: &'static str, value: &str, max: usize, lines: bool) -> Result<(), ProfileError> {
    if value.chars().count() > max {
        return Err(ProfileError::TooLong { field, max });
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(lines && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(ProfileError::Control { field });
    }
    Ok(())
}

/// Whether `url` is empty or an absolute URL with one of `schemes`, a host, no white
/// space, no control character and no quote or angle bracket.
fn url_ok(url: &str, schemes: &[&str]) -> bool {
    if url.is_empty() {
        return true;
    }
    if url.len() > MAX_URL_BYTES
        || url.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\')
        })
    {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    schemes.iter().any(|s| {
        lower
            .strip_prefix(s)
            .and_then(|rest| rest.strip_prefix("://"))
            .is_some_and(|rest| {
                let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
                !host.is_empty() && !host.contains('@')
            })
    })
}

fn link(field: &'static str, value: &str, https_only: bool) -> Result<(), ProfileError> {
    let (schemes, scheme): (&[&str], _) = if https_only {
        (&["https"], "https://")
    } else {
        (&["http", "https"], "http(s)://")
    };
    if url_ok(value, schemes) {
        Ok(())
    } else {
        Err(ProfileError::UnsafeLink { field, scheme })
    }
}

/// The `#rrggbb` (lower case) a theme stands for: itself, or its palette colour;
/// `Some("")` for an empty theme.
pub fn theme_colour(theme: &str) -> Option<String> {
    if theme.is_empty() {
        return Some(String::new());
    }
    if let Some((_, hex)) = PALETTE.iter().find(|(name, _)| *name == theme) {
        return Some((*hex).to_owned());
    }
    let digits = theme.strip_prefix('#')?;
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("#{}", digits.to_ascii_lowercase()))
}

impl EnterpriseProfile {
    /// Checks every field (the full name's fixedness is the daemon's, which knows it).
    pub fn check(&self) -> Result<(), ProfileError> {
        text("full_name", &self.full_name, MAX_FULL_NAME_CHARS, false)?;
        text("short_name", &self.short_name, MAX_SHORT_NAME_CHARS, false)?;
        text("industry", &self.industry, MAX_INDUSTRY_CHARS, false)?;
        text("address", &self.address, MAX_ADDRESS_CHARS, false)?;
        text("phone", &self.phone, MAX_PHONE_CHARS, false)?;
        text(
            "description",
            &self.description,
            MAX_DESCRIPTION_CHARS,
            true,
        )?;
        link("web_site", &self.web_site, false)
    }
}

impl ChatWindowStyle {
    /// Checks every field and returns the style as stored (the theme as `#rrggbb`).
    pub fn checked(mut self) -> Result<ChatWindowStyle, ProfileError> {
        text("title", &self.title, MAX_TITLE_CHARS, false)?;
        text("greeting", &self.greeting, MAX_GREETING_CHARS, true)?;
        text("link_text", &self.link_text, MAX_LINK_TEXT_CHARS, false)?;
        link("logo_url", &self.logo_url, true)?;
        link("link_url", &self.link_url, false)?;
        if self.link_text.trim().is_empty() != self.link_url.is_empty() {
            return Err(ProfileError::HalfLink);
        }
        self.theme = theme_colour(&self.theme).ok_or(ProfileError::BadColour)?;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_lengths_count_characters() {
        let mut p = EnterpriseProfile {
            full_name: "企".repeat(MAX_FULL_NAME_CHARS),
            description: "第一行\n第二行".into(),
            web_site: "https://shop.example.com/about".into(),
            ..Default::default()
        };
        assert_eq!(p.check(), Ok(()));
        p.short_name = "名".repeat(MAX_SHORT_NAME_CHARS + 1);
        assert!(matches!(
            p.check(),
            Err(ProfileError::TooLong {
                field: "short_name",
                ..
            })
        ));
        p.short_name = "a\u{7}".into();
        assert!(matches!(p.check(), Err(ProfileError::Control { .. })));
        p.short_name = "ok".into();
        p.web_site = "javascript:alert(1)".into();
        assert!(matches!(p.check(), Err(ProfileError::UnsafeLink { .. })));
    }

    #[test]
    fn style_links_and_colours() {
        let ok = ChatWindowStyle {
            title: "在线客服".into(),
            greeting: "您好！\n有什么可以帮您？".into(),
            theme: "green".into(),
            logo_url: "https://cdn.example.com/logo.png".into(),
            link_text: "我们的店".into(),
            link_url: "http://shop.example.com/".into(),
        };
        assert_eq!(ok.clone().checked().unwrap().theme, "#2e8b57");
        let with = |f: fn(&mut ChatWindowStyle)| {
            let mut s = ok.clone();
            f(&mut s);
            s.checked()
        };
        assert_eq!(
            with(|s| s.theme = "#A0B1C2".into()).unwrap().theme,
            "#a0b1c2"
        );
        for bad in ["#12345", "#12345g", "pink", "red;x", "#1234567"] {
            let mut s = ok.clone();
            s.theme = bad.into();
            assert_eq!(s.checked(), Err(ProfileError::BadColour), "{bad}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript://x",
            "data:text/html,hi",
            "https://",
            "https://a b",
            "http://x\"onmouseover=1",
            "//evil.example.com",
            "https://user@evil.example.com",
        ] {
            let mut s = ok.clone();
            s.link_url = bad.into();
            assert!(
                matches!(s.checked(), Err(ProfileError::UnsafeLink { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            with(|s| s.logo_url = "http://cdn.example.com/a.png".into()),
            Err(ProfileError::UnsafeLink {
                field: "logo_url",
                ..
            })
        ));
        assert_eq!(
            with(|s| s.link_url = String::new()),
            Err(ProfileError::HalfLink)
        );
        assert!(with(|s| {
            s.link_url = String::new();
            s.link_text = String::new();
        })
        .is_ok());
        assert!(matches!(
            with(|s| s.title = "t".repeat(MAX_TITLE_CHARS + 1)),
            Err(ProfileError::TooLong { .. })
        ));
    }
}
