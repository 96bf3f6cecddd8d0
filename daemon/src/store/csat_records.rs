//! Stored customer satisfaction (S1–S2, manual §10.1; `wire/PROTOCOL.md` section 37), in
//! `value_added` under the tag `b'Q'` (so deleting an account removes them with its
//! other value-added records), and one store-wide index in `meta`.
//!
//! **Key layout** (account `u64` BE (8) ‖ `b'Q'` ‖ …):
//!
//! | key | value |
//! |---|---|
//! | … ‖ `b'S'` ([`settings_key`]) | [`CsatSettingsRecord`] (the wire's `CsatSettings`) |
//! | … ‖ `b'O'` ‖ conversation `u64` BE ([`offer_key`]) | [`OfferRecord`]: written when an agent-served conversation closes: valid or not, survey sent or not |
//! | … ‖ `b'R'` ‖ day `u32` BE ‖ agent `u32` BE ‖ customer key ([`rating_key`]) | [`RatingRecord`] (the wire's `CsatRating`): one per customer per agent per day; a later rating the same day overwrites it (last wins) |
//! | … ‖ `b'N'` ‖ day `u32` BE ‖ agent `u32` BE ‖ option `u8` ([`count_key`]) | [`CountRecord`]: ratings of that option that day; written in the rating's batch (the replaced rating's option decremented in the same batch) |
//! | … ‖ `b'W'` ([`weekly_key`]) | [`WeeklyRecord`]: the Monday of the last weekly mail sent |
//!
//! and in `meta`: `csat_subscribed` ‖ account `u64` BE ([`subscribed_key`]) → empty
//! record, present while the account has subscribers: what a shard reads at start to
//! know which accounts mail on Mondays, without reading every account.
//!
//! Days are the wire's `CsatDay` (days since 1970-01-01 in the account's UTC offset;
//! never negative for a time after 1970), big-endian so that one day range is one key
//! range: the report reads the counters of its days (at most 180 × agents × 5 keys) and
//! the detail a page of ratings, never the whole history.

use super::keys::{self, KeyRange};
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::chat::CustomerId;
use kefu_wire::csat::{CsatDay, CsatRating, CsatSettings};

const TAG: u8 = b'Q';

fn base(account: u64, sub: u8) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(TAG);
    k.push(sub);
    k
}

fn day_bytes(day: CsatDay) -> [u8; 4] {
    u32::try_from(day.max(0)).unwrap_or(0).to_be_bytes()
}

/// The account's CSAT settings.
pub fn settings_key(account: u64) -> Vec<u8> {
    base(account, b'S')
}

/// The survey state of a closed conversation.
pub fn offer_key(account: u64, conversation: u64) -> Vec<u8> {
    let mut k = base(account, b'O');
    k.extend_from_slice(&conversation.to_be_bytes());
    k
}

/// The rating `customer` gave `agent` on `day`.
pub fn rating_key(account: u64, day: CsatDay, agent: u32, customer: &CustomerId) -> Vec<u8> {
    let mut k = base(account, b'R');
    k.extend_from_slice(&day_bytes(day));
    k.extend_from_slice(&agent.to_be_bytes());
    k.extend_from_slice(&keys::customer(customer));
    k
}

/// Every rating of days `from..=to`, by day, agent, customer.
pub fn ratings_range(account: u64, from: CsatDay, to: CsatDay) -> KeyRange {
    let mut start = base(account, b'R');
    start.extend_from_slice(&day_bytes(from));
    let mut end = base(account, b'R');
    end.extend_from_slice(&day_bytes(to.saturating_add(1)));
    KeyRange { start, end }
}

/// Ratings of `option` given to `agent` on `day`.
pub fn count_key(account: u64, day: CsatDay, agent: u32, option: u8) -> Vec<u8> {
    let mut k = base(account, b'N');
    k.extend_from_slice(&day_bytes(day));
    k.extend_from_slice(&agent.to_be_bytes());
    k.push(option);
    k
}

/// Every counter of days `from..=to`.
pub fn counts_range(account: u64, from: CsatDay, to: CsatDay) -> KeyRange {
    let mut start = base(account, b'N');
    start.extend_from_slice(&day_bytes(from));
    let mut end = base(account, b'N');
    end.extend_from_slice(&day_bytes(to.saturating_add(1)));
    KeyRange { start, end }
}

/// Parses a [`count_key`] into (day, agent, option).
pub fn parse_count_key(key: &[u8]) -> Option<(CsatDay, u32, u8)> {
    let rest = key.get(10..)?;
    if rest.len() != 9 {
        return None;
    }
    let day = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    let agent = u32::from_be_bytes(rest.get(4..8)?.try_into().ok()?);
    Some((i32::try_from(day).ok()?, agent, *rest.get(8)?))
}

/// The last weekly mail sent.
pub fn weekly_key(account: u64) -> Vec<u8> {
    base(account, b'W')
}

/// Prefix of the store-wide index of subscribed accounts in `meta`.
pub const SUBSCRIBED_PREFIX: &[u8] = b"csat_subscribed";

/// `account`'s entry in the index of subscribed accounts (`meta`).
pub fn subscribed_key(account: u64) -> Vec<u8> {
    let mut k = SUBSCRIBED_PREFIX.to_vec();
    k.extend_from_slice(&account.to_be_bytes());
    k
}

/// Every entry of the index of subscribed accounts.
pub fn subscribed_range() -> KeyRange {
    let start = SUBSCRIBED_PREFIX.to_vec();
    let mut end = SUBSCRIBED_PREFIX.to_vec();
    end.push(0xff);
    end.extend_from_slice(&[0xff; 8]);
    KeyRange { start, end }
}

/// Parses a [`subscribed_key`] into its account.
pub fn parse_subscribed_key(key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(SUBSCRIBED_PREFIX)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// The account's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsatSettingsRecord(pub CsatSettings);

/// A closed conversation's survey state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferRecord {
    /// The customer.
    pub customer: CustomerId,
    /// The agent that served it last.
    pub agent: u32,
    /// Closed at, unix ms.
    pub closed_at: i64,
    /// Customer and agent messages in it.
    pub messages: u32,
    /// Valid (S1): both sides wrote, over 10 messages, closed within 30 minutes of the
    /// customer's last message.
    pub valid: bool,
    /// The survey was sent (valid, and surveys were on).
    pub offered: bool,
}

/// One rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRecord(pub CsatRating);

/// A counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CountRecord(pub u64);

/// The Monday (a `CsatDay`) of the last weekly mail sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WeeklyRecord(pub CsatDay);

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use kefu_wire::chat::CustomerId;
    use kefu_wire::csat::{CsatRating, CsatSettings};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Settings {
        pub settings: CsatSettings,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Offer {
        pub customer: CustomerId,
        pub agent: u32,
        pub closed_at: i64,
        pub messages: u32,
        pub valid: bool,
        pub offered: bool,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Rating {
        pub rating: CsatRating,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Count {
        pub count: u64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Weekly {
        pub monday: i32,
    }
}

impl StoredRecord for CsatSettingsRecord {
    const KIND: &'static str = "csat settings";
    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Settings {
                settings: self.0.clone(),
            },
        )
    }
    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Settings = decode_v1(Self::KIND, bytes)?;
        Ok(CsatSettingsRecord(b.settings))
    }
}

impl StoredRecord for OfferRecord {
    const KIND: &'static str = "csat offer";
    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Offer {
                customer: self.customer.clone(),
                agent: self.agent,
                closed_at: self.closed_at,
                messages: self.messages,
                valid: self.valid,
                offered: self.offered,
            },
        )
    }
    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Offer = decode_v1(Self::KIND, bytes)?;
        Ok(OfferRecord {
            customer: b.customer,
            agent: b.agent,
            closed_at: b.closed_at,
            messages: b.messages,
            valid: b.valid,
            offered: b.offered,
        })
    }
}

impl StoredRecord for RatingRecord {
    const KIND: &'static str = "csat rating";
    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Rating {
                rating: self.0.clone(),
            },
        )
    }
    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Rating = decode_v1(Self::KIND, bytes)?;
        Ok(RatingRecord(b.rating))
    }
}

impl StoredRecord for CountRecord {
    const KIND: &'static str = "csat count";
    fn encode(&self) -> Vec<u8> {
        encode_versioned(V1, &v1::Count { count: self.0 })
    }
    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Count = decode_v1(Self::KIND, bytes)?;
        Ok(CountRecord(b.count))
    }
}

impl StoredRecord for WeeklyRecord {
    const KIND: &'static str = "csat weekly";
    fn encode(&self) -> Vec<u8> {
        encode_versioned(V1, &v1::Weekly { monday: self.0 })
    }
    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Weekly = decode_v1(Self::KIND, bytes)?;
        Ok(WeeklyRecord(b.monday))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_keys_parse() {
        let o = OfferRecord {
            customer: CustomerId::Identified("c".into()),
            agent: 1001,
            closed_at: 5,
            messages: 11,
            valid: true,
            offered: true,
        };
        assert_eq!(OfferRecord::decode(&o.encode()), Ok(o));
        assert_eq!(
            CountRecord::decode(&CountRecord(7).encode()),
            Ok(CountRecord(7))
        );
        let k = count_key(9, 20_000, 1002, 3);
        assert_eq!(parse_count_key(&k), Some((20_000, 1002, 3)));
        let r = counts_range(9, 20_000, 20_000);
        assert!(r.start.as_slice() <= k.as_slice() && k.as_slice() < r.end.as_slice());
        assert_eq!(parse_subscribed_key(&subscribed_key(42)), Some(42));
        let s = subscribed_range();
        let k = subscribed_key(u64::MAX);
        assert!(s.start.as_slice() <= k.as_slice() && k.as_slice() < s.end.as_slice());
    }
}
