//! Stored records of the idle-customer reminder (M3, manual §4.7; `wire/PROTOCOL.md`
//! section 23): [`IdleSettingsRecord`] (one per account that set them, key
//! [`keys::idle_settings`] in `routing_settings`; none means the defaults, so every data
//! directory written before it existed reads them) and [`IdleRecord`] in
//! `idle_conversations` (one per open conversation whose timer is armed or whose flag
//! stands: what re-arms the timers when the account loads after a restart).
//!
//! Same rules as [`records`](super::records): one version byte, frozen postcard bodies
//! (`mod v1`), explicit conversion from and to the wire types, typed errors on bad
//! input.

use super::keys;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::automation::IdleSettings;

/// An account's idle-customer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleSettingsRecord {
    /// Account number.
    pub account: u64,
    /// The settings.
    pub settings: IdleSettings,
}

impl IdleSettingsRecord {
    /// Its key (`routing_settings`).
    pub fn key(&self) -> Vec<u8> {
        keys::idle_settings(self.account)
    }
}

/// One conversation's idle timer or flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleRecord {
    /// Account number.
    pub account: u64,
    /// The conversation.
    pub conversation: u64,
    /// When the agent's last message was stored, unix ms: the timer runs from it.
    pub since: i64,
    /// The conversation is flagged idle.
    pub flagged: bool,
    /// The prompt was sent for this idle period.
    pub prompted: bool,
}

impl IdleRecord {
    /// Its key (`idle_conversations`).
    pub fn key(&self) -> [u8; 16] {
        keys::conversation(self.account, self.conversation)
    }
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct IdleSettings<'a> {
        pub account: u64,
        pub remind: bool,
        pub minutes: u16,
        pub auto_reply: bool,
        pub text: &'a str,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Idle {
        pub account: u64,
        pub conversation: u64,
        pub since: i64,
        pub flagged: bool,
        pub prompted: bool,
    }
}

impl StoredRecord for IdleSettingsRecord {
    const KIND: &'static str = "idle-customer settings";

    fn encode(&self) -> Vec<u8> {
        let s = &self.settings;
        encode_versioned(
            V1,
            &v1::IdleSettings {
                account: self.account,
                remind: s.remind,
                minutes: s.minutes,
                auto_reply: s.auto_reply,
                text: &s.text,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::IdleSettings<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(IdleSettingsRecord {
            account: b.account,
            settings: IdleSettings {
                remind: b.remind,
                minutes: b.minutes,
                auto_reply: b.auto_reply,
                text: b.text.to_owned(),
            },
        })
    }
}

impl StoredRecord for IdleRecord {
    const KIND: &'static str = "idle conversation";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Idle {
                account: self.account,
                conversation: self.conversation,
                since: self.since,
                flagged: self.flagged,
                prompted: self.prompted,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Idle = decode_v1(Self::KIND, bytes)?;
        Ok(IdleRecord {
            account: b.account,
            conversation: b.conversation,
            since: b.since,
            flagged: b.flagged,
            prompted: b.prompted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_pin_their_bytes() {
        let s = IdleSettingsRecord {
            account: 800_001,
            settings: IdleSettings {
                remind: true,
                minutes: 5,
                auto_reply: false,
                text: "在吗".to_owned(),
            },
        };
        let bytes = s.encode();
        assert_eq!(
            bytes,
            [1, 0x81, 0xea, 0x30, 1, 5, 0, 6, 0xe5, 0x9c, 0xa8, 0xe5, 0x90, 0x97]
        );
        assert_eq!(IdleSettingsRecord::decode(&bytes), Ok(s));
        let r = IdleRecord {
            account: 800_001,
            conversation: 3,
            since: 1000,
            flagged: true,
            prompted: false,
        };
        let bytes = r.encode();
        assert_eq!(bytes, [1, 0x81, 0xea, 0x30, 3, 0xd0, 0x0f, 1, 0]);
        assert_eq!(IdleRecord::decode(&bytes), Ok(r));
        assert!(IdleRecord::decode(&[2, 0]).is_err());
        assert!(IdleSettingsRecord::decode(&[]).is_err());
    }
}
