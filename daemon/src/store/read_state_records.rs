//! The stored read state of an account's accepted lists (C15, §3.10; wire section
//! 12.14): each open conversation's unread count (the new-message flag is `unread > 0`)
//! and each agent's own order of its accepted list (`OrderConversations`).
//!
//! Same rules as [`records`](super::records): one version byte, frozen postcard bodies
//! (`mod v1`), typed errors on bad input. Keys (in `routing_settings`, beside the
//! account's routing and designated-agent settings, so an account's range delete takes
//! them too): [`keys::unread`] (account ‖ `b'U'` ‖ conversation) and [`keys::list_order`]
//! (account ‖ `b'O'` ‖ agent). A data directory written before they existed has none:
//! its open conversations load unread-free and oldest first, as they always did.
//!
//! **When written.** An unread count in the turn's batch whenever it changes — the
//! customer's message that counts it up, the agent's message or `MarkRead` that clears
//! it — and deleted when its conversation closes; an order when the agent sets it. So
//! what a restart restores is exactly what was acknowledged.

use super::keys;
use super::records::{
    decode_v1, encode_versioned, encode_versioned_into, RecordError, StoredRecord, V1,
};

/// One open conversation's unread count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadRecord {
    /// Account number.
    pub account: u64,
    /// The conversation.
    pub conversation: u64,
    /// The customer's messages its serving agent has not read.
    pub unread: u32,
}

/// One agent's order of its accepted list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOrderRecord {
    /// Account number.
    pub account: u64,
    /// The agent.
    pub agent: u32,
    /// Conversation ids, first first (at most 1,000, as `OrderConversations` allows).
    pub order: Vec<u64>,
}

/// Most ids a stored order may hold (the request's own limit).
pub const MAX_STORED_ORDER: usize = 1_000;

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Unread {
        pub account: u64,
        pub conversation: u64,
        pub unread: u32,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct ListOrder {
        pub account: u64,
        pub agent: u32,
        pub order: Vec<u64>,
    }
}

impl UnreadRecord {
    /// Its key (`routing_settings`).
    pub fn key(&self) -> Vec<u8> {
        keys::unread(self.account, self.conversation).to_vec()
    }
}

impl ListOrderRecord {
    /// Its key (`routing_settings`).
    pub fn key(&self) -> Vec<u8> {
        keys::list_order(self.account, self.agent)
    }
}

impl StoredRecord for UnreadRecord {
    const KIND: &'static str = "unread count";

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        encode_versioned_into(
            V1,
            &v1::Unread {
                account: self.account,
                conversation: self.conversation,
                unread: self.unread,
            },
            out,
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Unread = decode_v1(Self::KIND, bytes)?;
        Ok(UnreadRecord {
            account: b.account,
            conversation: b.conversation,
            unread: b.unread,
        })
    }
}

impl StoredRecord for ListOrderRecord {
    const KIND: &'static str = "accepted list order";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::ListOrder {
                account: self.account,
                agent: self.agent,
                order: self.order.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::ListOrder = decode_v1(Self::KIND, bytes)?;
        if b.order.len() > MAX_STORED_ORDER {
            return Err(RecordError::Invalid {
                kind: Self::KIND,
                version: V1,
                reason: "an order of more than 1,000 conversations",
            });
        }
        Ok(ListOrderRecord {
            account: b.account,
            agent: b.agent,
            order: b.order,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_pin_their_bytes() {
        let u = UnreadRecord {
            account: 800_001,
            conversation: 7,
            unread: 3,
        };
        let bytes = u.encode();
        assert_eq!(bytes, [1, 0x81, 0xea, 0x30, 7, 3]);
        assert_eq!(UnreadRecord::decode(&bytes), Ok(u));
        let o = ListOrderRecord {
            account: 800_001,
            agent: 1001,
            order: vec![9, 4],
        };
        let bytes = o.encode();
        assert_eq!(bytes, [1, 0x81, 0xea, 0x30, 0xe9, 0x07, 2, 9, 4]);
        assert_eq!(ListOrderRecord::decode(&bytes), Ok(o));
        assert!(UnreadRecord::decode(&[2, 0]).is_err());
        assert!(ListOrderRecord::decode(&[]).is_err());
    }
}
