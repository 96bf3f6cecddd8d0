//! Stored records of the spam filter, the trash, the whitelist and mutes (M6, manual
//! §3.11; `wire/PROTOCOL.md` section 26), all in `routing_settings` under the account's
//! `b's'` range (keys in [`keys`]): [`SpamSettingsRecord`] (none: the filter is off, so
//! every older data directory reads it), [`TrashRecord`] (a conversation held for
//! screening or in the trash; deleted when it leaves), [`WhitelistRecord`] (a customer
//! taken out of the trash: never filtered again) and [`MuteRecord`] (an agent muted a
//! customer).
//!
//! Same rules as [`records`](super::records): one version byte, frozen postcard bodies
//! (`mod v1`), explicit conversion from and to the wire types, typed errors on bad
//! input.

use super::keys;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::chat::{CustomerId, Entry};
use kefu_wire::spam::SpamLevel;

/// An account's spam-filter strength.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpamSettingsRecord {
    /// Account number.
    pub account: u64,
    /// The strength.
    pub level: SpamLevel,
}

/// A conversation the filter holds (`held`: waiting for its first message) or caught.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrashRecord {
    /// Account number.
    pub account: u64,
    /// The conversation.
    pub conversation: u64,
    /// Held for screening (true) or in the trash (false).
    pub held: bool,
    /// The entry the customer opened it through (routed by it once released).
    pub entry: Entry,
    /// When it was held or trashed, unix ms.
    pub at: i64,
}

impl TrashRecord {
    /// Its key (`routing_settings`).
    pub fn key(&self) -> Vec<u8> {
        keys::trash(self.account, self.conversation)
    }
}

/// A customer the filter never judges again (taken out of the trash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhitelistRecord {
    /// Account number.
    pub account: u64,
    /// The customer.
    pub customer: CustomerId,
    /// The agent that took it out of the trash.
    pub by: u32,
    /// When, unix ms.
    pub at: i64,
}

/// An agent muted a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuteRecord {
    /// Account number.
    pub account: u64,
    /// The agent.
    pub agent: u32,
    /// The customer.
    pub customer: CustomerId,
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) enum Level {
        Off,
        Low,
        Medium,
        High,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum Customer<'a> {
        Identified(&'a str),
        Visitor([u8; 16]),
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum Entry<'a> {
        Auto,
        Agent(u32),
        Group(&'a str),
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Settings {
        pub account: u64,
        pub level: Level,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Trash<'a> {
        pub account: u64,
        pub conversation: u64,
        pub held: bool,
        #[serde(borrow)]
        pub entry: Entry<'a>,
        pub at: i64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Whitelist<'a> {
        pub account: u64,
        #[serde(borrow)]
        pub customer: Customer<'a>,
        pub by: u32,
        pub at: i64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Mute<'a> {
        pub account: u64,
        pub agent: u32,
        #[serde(borrow)]
        pub customer: Customer<'a>,
    }
}

fn customer_v1(c: &CustomerId) -> v1::Customer<'_> {
    match c {
        CustomerId::Identified(s) => v1::Customer::Identified(s),
        CustomerId::Visitor(v) => v1::Customer::Visitor(*v),
    }
}

fn customer_from(c: v1::Customer<'_>) -> CustomerId {
    match c {
        v1::Customer::Identified(s) => CustomerId::Identified(s.to_owned()),
        v1::Customer::Visitor(v) => CustomerId::Visitor(v),
    }
}

impl StoredRecord for SpamSettingsRecord {
    const KIND: &'static str = "spam-filter settings";

    fn encode(&self) -> Vec<u8> {
        let level = match self.level {
            SpamLevel::Off => v1::Level::Off,
            SpamLevel::Low => v1::Level::Low,
            SpamLevel::Medium => v1::Level::Medium,
            SpamLevel::High => v1::Level::High,
        };
        encode_versioned(
            V1,
            &v1::Settings {
                account: self.account,
                level,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Settings = decode_v1(Self::KIND, bytes)?;
        let level = match b.level {
            v1::Level::Off => SpamLevel::Off,
            v1::Level::Low => SpamLevel::Low,
            v1::Level::Medium => SpamLevel::Medium,
            v1::Level::High => SpamLevel::High,
        };
        Ok(SpamSettingsRecord {
            account: b.account,
            level,
        })
    }
}

impl StoredRecord for TrashRecord {
    const KIND: &'static str = "trash entry";

    fn encode(&self) -> Vec<u8> {
        let entry = match &self.entry {
            Entry::Auto => v1::Entry::Auto,
            Entry::Agent(a) => v1::Entry::Agent(*a),
            Entry::Group(g) => v1::Entry::Group(g),
        };
        encode_versioned(
            V1,
            &v1::Trash {
                account: self.account,
                conversation: self.conversation,
                held: self.held,
                entry,
                at: self.at,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Trash<'_> = decode_v1(Self::KIND, bytes)?;
        let entry = match b.entry {
            v1::Entry::Auto => Entry::Auto,
            v1::Entry::Agent(a) => Entry::Agent(a),
            v1::Entry::Group(g) => Entry::Group(g.to_owned()),
        };
        Ok(TrashRecord {
            account: b.account,
            conversation: b.conversation,
            held: b.held,
            entry,
            at: b.at,
        })
    }
}

impl StoredRecord for WhitelistRecord {
    const KIND: &'static str = "whitelisted customer";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Whitelist {
                account: self.account,
                customer: customer_v1(&self.customer),
                by: self.by,
                at: self.at,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Whitelist<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(WhitelistRecord {
            account: b.account,
            customer: customer_from(b.customer),
            by: b.by,
            at: b.at,
        })
    }
}

impl StoredRecord for MuteRecord {
    const KIND: &'static str = "muted customer";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Mute {
                account: self.account,
                agent: self.agent,
                customer: customer_v1(&self.customer),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Mute<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(MuteRecord {
            account: b.account,
            agent: b.agent,
            customer: customer_from(b.customer),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_refuse_garbage() {
        let s = SpamSettingsRecord {
            account: 7,
            level: SpamLevel::Medium,
        };
        assert_eq!(SpamSettingsRecord::decode(&s.encode()).unwrap(), s);
        let t = TrashRecord {
            account: 7,
            conversation: 9,
            held: true,
            entry: Entry::Group("售后".into()),
            at: 5,
        };
        assert_eq!(TrashRecord::decode(&t.encode()).unwrap(), t);
        let w = WhitelistRecord {
            account: 7,
            customer: CustomerId::Visitor([3; 16]),
            by: 1001,
            at: 5,
        };
        assert_eq!(WhitelistRecord::decode(&w.encode()).unwrap(), w);
        let m = MuteRecord {
            account: 7,
            agent: 1002,
            customer: CustomerId::Identified("u".into()),
        };
        assert_eq!(MuteRecord::decode(&m.encode()).unwrap(), m);
        assert!(TrashRecord::decode(&[]).is_err());
        assert!(MuteRecord::decode(&[1, 0xff]).is_err());
    }
}
