//! Stored internal messages between agents (C11, manual §3.1; `wire/PROTOCOL.md`
//! section 24): [`InternalMessageRecord`] in `internal_messages`, keyed by account, the
//! pair of agents and the id ([`keys::internal_message`]).
//!
//! Same rules as [`records`](super::records): one version byte, a frozen postcard body
//! (`mod v1`), explicit conversion to the wire type, typed errors on bad input.

use super::keys;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::internal::InternalMessage;

/// One internal message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalMessageRecord {
    /// Account number.
    pub account: u64,
    /// The message.
    pub message: InternalMessage,
}

impl InternalMessageRecord {
    /// Its key (`internal_messages`).
    pub fn key(&self) -> Vec<u8> {
        let m = &self.message;
        keys::internal_message(self.account, m.from, m.to, m.id)
    }
}

/// Frozen version-1 body. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Internal<'a> {
        pub account: u64,
        pub id: u64,
        pub from: u32,
        pub to: u32,
        pub at: i64,
        pub text: &'a str,
    }
}

impl StoredRecord for InternalMessageRecord {
    const KIND: &'static str = "internal message";

    fn encode(&self) -> Vec<u8> {
        let m = &self.message;
        encode_versioned(
            V1,
            &v1::Internal {
                account: self.account,
                id: m.id,
                from: m.from,
                to: m.to,
                at: m.at,
                text: &m.text,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Internal<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(InternalMessageRecord {
            account: b.account,
            message: InternalMessage {
                id: b.id,
                from: b.from,
                to: b.to,
                at: b.at,
                text: b.text.to_owned(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pins_its_bytes() {
        let r = InternalMessageRecord {
            account: 800_001,
            message: InternalMessage {
                id: 9,
                from: 1002,
                to: 1001,
                at: 1000,
                text: "hi".to_owned(),
            },
        };
        let bytes = r.encode();
        assert_eq!(
            bytes,
            [1, 0x81, 0xea, 0x30, 9, 0xea, 0x07, 0xe9, 0x07, 0xd0, 0x0f, 2, b'h', b'i']
        );
        assert_eq!(InternalMessageRecord::decode(&bytes), Ok(r.clone()));
        assert_eq!(r.key(), keys::internal_message(800_001, 1001, 1002, 9));
        assert!(InternalMessageRecord::decode(&[2]).is_err());
    }
}
