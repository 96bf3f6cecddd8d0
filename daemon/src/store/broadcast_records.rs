//! Stored broadcasts (V1–V4; `wire/PROTOCOL.md` section 30), in `value_added` beside the
//! balance: per broadcast a [`BroadcastRecord`] (what, to whom: the recipients' contact
//! numbers resolved at submission; rewritten only by a resubmission) and a
//! [`BroadcastStatus`] (state, the fan-out cursor, counts, who cancelled; rewritten by
//! every change and by every slice of the fan-out, in the same batch as that slice's
//! messages, so that after a crash the fan-out resumes at the first recipient not
//! stored); per account the number of the next broadcast and the broadcasts not yet
//! finished ([`ActiveRecord`]), read when a shard starts so that sending resumes.
//!
//! Same rules as [`records`](super::records): a version byte and a frozen postcard
//! body. The draft is kept as the wire's `BroadcastDraft` body, whose encoding the
//! protocol's golden bytes freeze.

use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::valueadded::{BroadcastDraft, BroadcastState};

/// What a broadcast sends and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastRecord {
    /// Account number.
    pub account: u64,
    /// Its number in the account, from 1.
    pub id: u64,
    /// The submitting agent.
    pub agent: u32,
    /// What, to whom, when.
    pub draft: BroadcastDraft,
    /// The recipients' contact numbers, ascending.
    pub recipients: Vec<u64>,
}

/// Where a broadcast stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastStatus {
    /// Its state.
    pub state: BroadcastState,
    /// Recipients done (sent or skipped): the fan-out resumes at this index.
    pub cursor: u64,
    /// Messages sent.
    pub sent: u64,
    /// Units reserved now.
    pub reserved: u64,
    /// Units one message costs.
    pub cost: u64,
    /// When it was (last) submitted, ms.
    pub submitted_at: i64,
    /// Who cancelled it and when.
    pub cancelled: Option<(u32, i64)>,
    /// Why the review rejected it.
    pub reason: Option<String>,
}

/// Per account: the next broadcast's number and the broadcasts not finished.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActiveRecord {
    /// The number the next broadcast gets.
    pub next_id: u64,
    /// Broadcasts pending review, pending send or sending.
    pub active: Vec<u64>,
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use kefu_wire::valueadded::BroadcastDraft;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Broadcast {
        pub account: u64,
        pub id: u64,
        pub agent: u32,
        pub draft: BroadcastDraft,
        pub recipients: Vec<u64>,
    }

    /// `state`: the wire's `BroadcastState` index.
    #[derive(Serialize, Deserialize)]
    pub(super) struct Status {
        pub state: u8,
        pub cursor: u64,
        pub sent: u64,
        pub reserved: u64,
        pub cost: u64,
        pub submitted_at: i64,
        pub cancelled: Option<(u32, i64)>,
        pub reason: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Active {
        pub next_id: u64,
        pub active: Vec<u64>,
    }
}

const STATES: [BroadcastState; 7] = [
    BroadcastState::PendingReview,
    BroadcastState::PendingSend,
    BroadcastState::Sending,
    BroadcastState::Done,
    BroadcastState::Failed,
    BroadcastState::Cancelled,
    BroadcastState::Rejected,
];

impl StoredRecord for BroadcastRecord {
    const KIND: &'static str = "broadcast";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Broadcast {
                account: self.account,
                id: self.id,
                agent: self.agent,
                draft: self.draft.clone(),
                recipients: self.recipients.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Broadcast = decode_v1(Self::KIND, bytes)?;
        Ok(BroadcastRecord {
            account: b.account,
            id: b.id,
            agent: b.agent,
            draft: b.draft,
            recipients: b.recipients,
        })
    }
}

impl StoredRecord for BroadcastStatus {
    const KIND: &'static str = "broadcast status";

    fn encode(&self) -> Vec<u8> {
        let state = STATES.iter().position(|s| *s == self.state).unwrap_or(0) as u8;
        encode_versioned(
            V1,
            &v1::Status {
                state,
                cursor: self.cursor,
                sent: self.sent,
                reserved: self.reserved,
                cost: self.cost,
                submitted_at: self.submitted_at,
                cancelled: self.cancelled,
                reason: self.reason.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Status = decode_v1(Self::KIND, bytes)?;
        let state = *STATES
            .get(usize::from(b.state))
            .ok_or(RecordError::Invalid {
                kind: Self::KIND,
                version: V1,
                reason: "unknown state",
            })?;
        Ok(BroadcastStatus {
            state,
            cursor: b.cursor,
            sent: b.sent,
            reserved: b.reserved,
            cost: b.cost,
            submitted_at: b.submitted_at,
            cancelled: b.cancelled,
            reason: b.reason,
        })
    }
}

impl StoredRecord for ActiveRecord {
    const KIND: &'static str = "active broadcasts";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Active {
                next_id: self.next_id,
                active: self.active.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Active = decode_v1(Self::KIND, bytes)?;
        Ok(ActiveRecord {
            next_id: b.next_id,
            active: b.active,
        })
    }
}

/// The operator's sensitive-word list (appliance-wide, in `meta`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SensitiveWordsRecord {
    /// The words.
    pub words: Vec<String>,
}

/// Frozen version-1 body of [`SensitiveWordsRecord`].
mod v1_words {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Words {
        pub words: Vec<String>,
    }
}

impl StoredRecord for SensitiveWordsRecord {
    const KIND: &'static str = "sensitive words";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1_words::Words {
                words: self.words.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1_words::Words = decode_v1(Self::KIND, bytes)?;
        Ok(SensitiveWordsRecord { words: b.words })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_wire::chat::{CustomerId, MessageBody};

    #[test]
    fn records_round_trip() {
        let r = BroadcastRecord {
            account: 1,
            id: 2,
            agent: 1002,
            draft: BroadcastDraft {
                groups: vec![3],
                customers: vec![CustomerId::Identified("客户".into())],
                body: MessageBody::Text("双十一".into()),
                online_only: true,
                block_replies: true,
                send_at: Some(5),
            },
            recipients: vec![1, 5, 9],
        };
        assert_eq!(BroadcastRecord::decode(&r.encode()).unwrap(), r);
        for state in STATES {
            let s = BroadcastStatus {
                state,
                cursor: 3,
                sent: 2,
                reserved: 6,
                cost: 3,
                submitted_at: 7,
                cancelled: Some((1002, 9)),
                reason: Some("虚假".into()),
            };
            assert_eq!(BroadcastStatus::decode(&s.encode()).unwrap(), s);
        }
        let a = ActiveRecord {
            next_id: 4,
            active: vec![1, 3],
        };
        assert_eq!(ActiveRecord::decode(&a.encode()).unwrap(), a);
    }
}
