//! Stored records of the web channel (W1, W3, S4, S5; `wire/PROTOCOL.md` sections
//! 31–33), all in the `web` column family ([`Cf::Web`]), keys
//! `account ‖ tag ‖ …` ([`keys::web`]):
//!
//! | tag | rest | value |
//! |-----|------|-------|
//! | `b'C'` | code `u32` BE | [`EntryCodeRecord`] |
//! | `b'A'` | — | [`WebSettingsRecord`] (next code number, automatic invitation) |
//! | `b'V'` | customer key | [`VisitorRecord`] (trail bounds, accepted an invitation) |
//! | `b'T'` | customer key ‖ page `u64` BE | [`PageRecord`] |
//! | `b'D'` | day `u32` BE | [`DayStatsRecord`] |
//! | `b'U'` | day `u32` BE ‖ customer key | empty: the visitor was counted that day |
//!
//! A customer key is prefix-free, so one visitor's pages are one range in page order;
//! pruning the oldest is one range delete. Same rules as
//! [`records`](super::records): one version byte, frozen postcard bodies (`mod v1`),
//! explicit conversion, typed errors on bad input. An account without any of these
//! keys (every data directory written before they existed) reads as no codes, the
//! default automatic invitation (off) and no visits.

use super::keys::{self, Cf};
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use super::{Batch, KvStore, StoreError};
use kefu_wire::chat::{CustomerId, Entry};
use kefu_wire::web::{AutoInviteSettings, CodeKind, EntryCode, EntryCodeDraft};

/// Tag of an entry-point code.
pub const TAG_CODE: u8 = b'C';
/// Tag of the account's web settings.
pub const TAG_SETTINGS: u8 = b'A';
/// Tag of a visitor.
pub const TAG_VISITOR: u8 = b'V';
/// Tag of a page view.
pub const TAG_PAGE: u8 = b'T';
/// Tag of a day's figures.
pub const TAG_DAY: u8 = b'D';
/// Tag of a visitor counted on a day.
pub const TAG_SEEN: u8 = b'U';

/// Key of code `id`.
pub fn code_key(account: u64, id: u32) -> Vec<u8> {
    keys::web(account, TAG_CODE, &id.to_be_bytes())
}

/// Every code key of `account`.
pub fn code_range(account: u64) -> keys::KeyRange {
    keys::KeyRange {
        start: keys::web(account, TAG_CODE, &[]),
        end: keys::web(account, TAG_CODE + 1, &[]),
    }
}

/// Key of the account's web settings.
pub fn settings_key(account: u64) -> Vec<u8> {
    keys::web(account, TAG_SETTINGS, &[])
}

/// Key of a visitor.
pub fn visitor_key(account: u64, visitor: &CustomerId) -> Vec<u8> {
    keys::web(account, TAG_VISITOR, &keys::customer(visitor))
}

/// Key of page `page` of a visitor's trail.
pub fn page_key(account: u64, visitor: &CustomerId, page: u64) -> Vec<u8> {
    let mut rest = keys::customer(visitor);
    rest.extend_from_slice(&page.to_be_bytes());
    keys::web(account, TAG_PAGE, &rest)
}

/// The pages `[from, until)` of a visitor's trail.
pub fn page_range(account: u64, visitor: &CustomerId, from: u64, until: u64) -> keys::KeyRange {
    keys::KeyRange {
        start: page_key(account, visitor, from),
        end: page_key(account, visitor, until),
    }
}

/// Key of a day's figures.
pub fn day_key(account: u64, day: u32) -> Vec<u8> {
    keys::web(account, TAG_DAY, &day.to_be_bytes())
}

/// Key of the marker "`visitor` was counted on `day`".
pub fn seen_key(account: u64, day: u32, visitor: &CustomerId) -> Vec<u8> {
    let mut rest = day.to_be_bytes().to_vec();
    rest.extend_from_slice(&keys::customer(visitor));
    keys::web(account, TAG_SEEN, &rest)
}

/// An entry-point code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryCodeRecord {
    /// Account number.
    pub account: u64,
    /// The code.
    pub code: EntryCode,
}

/// The account's web settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebSettingsRecord {
    /// Account number.
    pub account: u64,
    /// The number the next code gets (codes are numbered from 1, never reused).
    pub next_code: u32,
    /// The automatic invitation.
    pub auto_invite: AutoInviteSettings,
}

/// A visitor (or identified customer) that viewed pages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VisitorRecord {
    /// Its oldest page kept.
    pub first_page: u64,
    /// The number its next page gets.
    pub next_page: u64,
    /// Whether it accepted an invitation (no second one).
    pub accepted: bool,
}

/// One page view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRecord {
    /// The page.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Its referrer.
    pub referrer: String,
    /// Opened, unix ms.
    pub at: i64,
    /// Left (next page or `PageLeft`), unix ms.
    pub left_at: Option<i64>,
}

/// A day's figures (S4, S5): counters written in the batch of the events they count.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayStatsRecord {
    /// Visits.
    pub visits: u64,
    /// Unique visitors.
    pub unique_visitors: u64,
    /// Page views.
    pub page_views: u64,
    /// Conversations opened from the web.
    pub consultations: u64,
    /// Visits by referring domain (at most `MAX_REFERRER_DOMAINS`, the first seen).
    pub referrers: Vec<(String, u64)>,
    /// Visits by a referring domain past the bound.
    pub other_referrers: u64,
    /// Visits without a referrer (or from the site itself).
    pub direct: u64,
    /// Visits by region (`[web] regions_file`; `未知` for an address it does not cover).
    pub regions: Vec<(String, u64)>,
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) enum Routing {
        Auto,
        Agent(u32),
        Group(String),
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum Kind {
        Fixed,
        Floating,
        Link,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Code {
        pub account: u64,
        pub id: u32,
        pub description: String,
        pub kind: Kind,
        pub routing: Routing,
        pub site_url: String,
        pub style: String,
        pub anonymous: bool,
        pub created_at: i64,
        pub edited_at: i64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Settings {
        pub account: u64,
        pub next_code: u32,
        pub auto_enabled: bool,
        pub auto_after_secs: u32,
        pub auto_text: String,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Visitor {
        pub first_page: u64,
        pub next_page: u64,
        pub accepted: bool,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Page {
        pub url: String,
        pub title: String,
        pub referrer: String,
        pub at: i64,
        pub left_at: Option<i64>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Day {
        pub visits: u64,
        pub unique_visitors: u64,
        pub page_views: u64,
        pub consultations: u64,
        pub referrers: Vec<(String, u64)>,
        pub other_referrers: u64,
        pub direct: u64,
        pub regions: Vec<(String, u64)>,
    }
}

impl StoredRecord for EntryCodeRecord {
    const KIND: &'static str = "entry code";

    fn encode(&self) -> Vec<u8> {
        let d = &self.code.draft;
        let routing = match &d.routing {
            Entry::Auto => v1::Routing::Auto,
            Entry::Agent(a) => v1::Routing::Agent(*a),
            Entry::Group(g) => v1::Routing::Group(g.clone()),
        };
        let kind = match d.kind {
            CodeKind::Fixed => v1::Kind::Fixed,
            CodeKind::Floating => v1::Kind::Floating,
            CodeKind::Link => v1::Kind::Link,
        };
        encode_versioned(
            V1,
            &v1::Code {
                account: self.account,
                id: self.code.id,
                description: d.description.clone(),
                kind,
                routing,
                site_url: d.site_url.clone(),
                style: d.style.clone(),
                anonymous: d.anonymous,
                created_at: self.code.created_at,
                edited_at: self.code.edited_at,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Code = decode_v1(Self::KIND, bytes)?;
        let routing = match b.routing {
            v1::Routing::Auto => Entry::Auto,
            v1::Routing::Agent(a) => Entry::Agent(a),
            v1::Routing::Group(g) => Entry::Group(g),
        };
        let kind = match b.kind {
            v1::Kind::Fixed => CodeKind::Fixed,
            v1::Kind::Floating => CodeKind::Floating,
            v1::Kind::Link => CodeKind::Link,
        };
        Ok(EntryCodeRecord {
            account: b.account,
            code: EntryCode {
                id: b.id,
                draft: EntryCodeDraft {
                    description: b.description,
                    kind,
                    routing,
                    site_url: b.site_url,
                    style: b.style,
                    anonymous: b.anonymous,
                },
                created_at: b.created_at,
                edited_at: b.edited_at,
            },
        })
    }
}

impl StoredRecord for WebSettingsRecord {
    const KIND: &'static str = "web settings";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Settings {
                account: self.account,
                next_code: self.next_code,
                auto_enabled: self.auto_invite.enabled,
                auto_after_secs: self.auto_invite.after_secs,
                auto_text: self.auto_invite.text.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Settings = decode_v1(Self::KIND, bytes)?;
        Ok(WebSettingsRecord {
            account: b.account,
            next_code: b.next_code,
            auto_invite: AutoInviteSettings {
                enabled: b.auto_enabled,
                after_secs: b.auto_after_secs,
                text: b.auto_text,
            },
        })
    }
}

impl StoredRecord for VisitorRecord {
    const KIND: &'static str = "web visitor";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Visitor {
                first_page: self.first_page,
                next_page: self.next_page,
                accepted: self.accepted,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Visitor = decode_v1(Self::KIND, bytes)?;
        Ok(VisitorRecord {
            first_page: b.first_page,
            next_page: b.next_page,
            accepted: b.accepted,
        })
    }
}

impl StoredRecord for PageRecord {
    const KIND: &'static str = "page view";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Page {
                url: self.url.clone(),
                title: self.title.clone(),
                referrer: self.referrer.clone(),
                at: self.at,
                left_at: self.left_at,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Page = decode_v1(Self::KIND, bytes)?;
        Ok(PageRecord {
            url: b.url,
            title: b.title,
            referrer: b.referrer,
            at: b.at,
            left_at: b.left_at,
        })
    }
}

impl StoredRecord for DayStatsRecord {
    const KIND: &'static str = "web day";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Day {
                visits: self.visits,
                unique_visitors: self.unique_visitors,
                page_views: self.page_views,
                consultations: self.consultations,
                referrers: self.referrers.clone(),
                other_referrers: self.other_referrers,
                direct: self.direct,
                regions: self.regions.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Day = decode_v1(Self::KIND, bytes)?;
        Ok(DayStatsRecord {
            visits: b.visits,
            unique_visitors: b.unique_visitors,
            page_views: b.page_views,
            consultations: b.consultations,
            referrers: b.referrers,
            other_referrers: b.other_referrers,
            direct: b.direct,
            regions: b.regions,
        })
    }
}

/// Reads one record of the `web` column family.
pub fn read<R: StoredRecord, S: KvStore + ?Sized>(
    store: &S,
    key: &[u8],
) -> Result<Option<R>, StoreError> {
    match store.get(Cf::Web, key)? {
        Some(b) => R::decode(&b)
            .map(Some)
            .map_err(|e| StoreError::corrupt(Cf::Web, key, e)),
        None => Ok(None),
    }
}

/// Writes one record of the `web` column family in `batch`.
pub fn write<R: StoredRecord>(batch: &mut Batch, key: &[u8], record: &R) {
    batch.put(Cf::Web, key, record.encode());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let code = EntryCodeRecord {
            account: 800_000,
            code: EntryCode {
                id: 3,
                draft: EntryCodeDraft {
                    description: "首页浮动".into(),
                    kind: CodeKind::Floating,
                    routing: Entry::Group("售后".into()),
                    site_url: "https://example.com/".into(),
                    style: "A-03".into(),
                    anonymous: true,
                },
                created_at: 1,
                edited_at: 2,
            },
        };
        assert_eq!(EntryCodeRecord::decode(&code.encode()).unwrap(), code);
        let day = DayStatsRecord {
            visits: 3,
            referrers: vec![("baidu.com".into(), 2)],
            ..Default::default()
        };
        assert_eq!(DayStatsRecord::decode(&day.encode()).unwrap(), day);
        let page = PageRecord {
            url: "https://example.com/a".into(),
            title: "A".into(),
            referrer: String::new(),
            at: 5,
            left_at: Some(9),
        };
        assert_eq!(PageRecord::decode(&page.encode()).unwrap(), page);
        assert!(PageRecord::decode(&[1, 0xff]).is_err());
    }

    #[test]
    fn keys_are_bounded_and_ordered() {
        let v = CustomerId::Identified("x".repeat(64));
        assert!(page_key(u64::MAX, &v, u64::MAX).len() <= keys::MAX_KEY_LEN);
        assert!(seen_key(u64::MAX, u32::MAX, &v).len() <= keys::MAX_KEY_LEN);
        assert!(page_key(1, &v, 1) < page_key(1, &v, 2));
    }
}
