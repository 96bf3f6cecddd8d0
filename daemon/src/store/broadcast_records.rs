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
//!
//! **Broadcasts in parts** (issue 13; version 2 of the broadcast record). A broadcast
//! of more than [`PART`] recipients or named contacts is stored over several turns
//! (`centre/submit_jobs.rs`): first its [`BroadcastPartRecord`]s, [`PART`] recipients
//! and [`PART`] named contacts each, under a *staging* number (unique in the account,
//! taken from its message numbers), then, in the turn that answers, a small
//! [`BroadcastHead`] under the broadcast's own key that names the staging number and
//! the count of parts. Until the head is written nothing of it is visible; parts no
//! head names (a daemon stopped midway) are deleted when the account's broadcasts are
//! read. A version-1 record holds the whole broadcast, as every broadcast did before.

use super::records::{
    decode_body, decode_v1, encode_versioned, split_version, RecordError, StoredRecord, V1,
};
use kefu_wire::chat::CustomerId;
use kefu_wire::valueadded::{BroadcastDraft, BroadcastState};

/// Recipients, and named contacts, one part holds at most: about 30 µs to encode.
pub const PART: usize = 4_096;
/// Version 2 of the broadcast record: a head, its recipients and named contacts in parts.
const BROADCAST_V2: u8 = 2;

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

/// A broadcast stored in parts: the record without its recipients and named contacts
/// (both empty in `record`), and where they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastHead {
    /// The broadcast, `recipients` and `draft.customers` left empty.
    pub record: BroadcastRecord,
    /// The staging number its parts are stored under.
    pub staging: u64,
    /// How many parts, numbered from 0.
    pub parts: u32,
    /// Recipients in all, and named contacts in all (checked when assembled).
    pub recipients: u64,
    pub customers: u64,
}

/// What a broadcast's key holds: the whole broadcast (version 1) or a head (version 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredBroadcast {
    Whole(BroadcastRecord),
    Head(BroadcastHead),
}

/// One part of a broadcast stored in parts, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BroadcastPartRecord {
    /// Contact numbers, ascending, continuing the previous part's.
    pub recipients: Vec<u64>,
    /// Named contacts, in the draft's order, continuing the previous part's.
    pub customers: Vec<CustomerId>,
}

/// Frozen version-2 body of the broadcast record (a head). Never edit.
mod v2 {
    use kefu_wire::valueadded::BroadcastDraft;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Head {
        pub account: u64,
        pub id: u64,
        pub agent: u32,
        /// The draft without its named contacts.
        pub draft: BroadcastDraft,
        pub staging: u64,
        pub parts: u32,
        pub recipients: u64,
        pub customers: u64,
    }
}

/// Frozen version-1 body of a part. Never edit: add `mod v2_part`.
mod v1_part {
    use kefu_wire::chat::CustomerId;
    use serde::{Deserialize, Serialize};

    #[derive(Deserialize)]
    pub(super) struct Part {
        pub recipients: Vec<u64>,
        pub customers: Vec<CustomerId>,
    }

    /// The same body, borrowed: a part is encoded from slices of the submission.
    #[derive(Serialize)]
    pub(super) struct PartRef<'a> {
        pub recipients: &'a [u64],
        pub customers: &'a [CustomerId],
    }
}

impl BroadcastHead {
    /// The version-2 record.
    pub fn encode(&self) -> Vec<u8> {
        let r = &self.record;
        encode_versioned(
            BROADCAST_V2,
            &v2::Head {
                account: r.account,
                id: r.id,
                agent: r.agent,
                draft: BroadcastDraft {
                    customers: Vec::new(),
                    ..r.draft.clone()
                },
                staging: self.staging,
                parts: self.parts,
                recipients: self.recipients,
                customers: self.customers,
            },
        )
    }

    /// The whole broadcast from its parts, read in order; refused if they do not add
    /// up to what the head says.
    pub fn assemble(
        self,
        parts: impl IntoIterator<Item = BroadcastPartRecord>,
    ) -> Result<BroadcastRecord, RecordError> {
        let mut r = self.record;
        let mut count = 0u32;
        for p in parts {
            r.recipients.extend(p.recipients);
            r.draft.customers.extend(p.customers);
            count += 1;
        }
        if count != self.parts
            || r.recipients.len() as u64 != self.recipients
            || r.draft.customers.len() as u64 != self.customers
        {
            return Err(RecordError::Invalid {
                kind: BroadcastRecord::KIND,
                version: BROADCAST_V2,
                reason: "its parts do not add up to its head",
            });
        }
        Ok(r)
    }
}

impl StoredBroadcast {
    /// Reads a broadcast's key, either version.
    pub fn decode(bytes: &[u8]) -> Result<StoredBroadcast, RecordError> {
        let kind = BroadcastRecord::KIND;
        match split_version(kind, bytes)? {
            (V1, _) => Ok(StoredBroadcast::Whole(BroadcastRecord::decode(bytes)?)),
            (BROADCAST_V2, body) => {
                let h: v2::Head = decode_body(kind, BROADCAST_V2, body)?;
                Ok(StoredBroadcast::Head(BroadcastHead {
                    record: BroadcastRecord {
                        account: h.account,
                        id: h.id,
                        agent: h.agent,
                        draft: h.draft,
                        recipients: Vec::new(),
                    },
                    staging: h.staging,
                    parts: h.parts,
                    recipients: h.recipients,
                    customers: h.customers,
                }))
            }
            (version, _) => Err(RecordError::UnknownVersion { kind, version }),
        }
    }
}

impl BroadcastPartRecord {
    /// A part from slices of the submission (nothing copied but the bytes).
    pub fn encode_from(recipients: &[u64], customers: &[CustomerId]) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1_part::PartRef {
                recipients,
                customers,
            },
        )
    }
}

impl StoredRecord for BroadcastPartRecord {
    const KIND: &'static str = "broadcast part";

    fn encode(&self) -> Vec<u8> {
        Self::encode_from(&self.recipients, &self.customers)
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1_part::Part = decode_v1(Self::KIND, bytes)?;
        Ok(BroadcastPartRecord {
            recipients: b.recipients,
            customers: b.customers,
        })
    }
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

    #[test]
    fn a_broadcast_in_parts_reads_back_whole_and_a_short_part_is_refused() {
        let whole = BroadcastRecord {
            account: 1,
            id: 2,
            agent: 1002,
            draft: BroadcastDraft {
                groups: vec![3],
                customers: (0..5)
                    .map(|i| CustomerId::Identified(format!("c{i}")))
                    .collect(),
                body: MessageBody::Text("双十一".into()),
                online_only: false,
                block_replies: false,
                send_at: None,
            },
            recipients: (10..17).collect(),
        };
        // Version 1 still reads as the whole broadcast.
        assert_eq!(
            StoredBroadcast::decode(&whole.encode()).unwrap(),
            StoredBroadcast::Whole(whole.clone())
        );
        let mut bare = whole.clone();
        bare.recipients.clear();
        bare.draft.customers.clear();
        let head = BroadcastHead {
            record: bare,
            staging: 99,
            parts: 2,
            recipients: 7,
            customers: 5,
        };
        let StoredBroadcast::Head(read) = StoredBroadcast::decode(&head.encode()).unwrap() else {
            panic!("a head")
        };
        assert_eq!(read, head);
        let c = &whole.draft.customers;
        let parts = [
            BroadcastPartRecord::encode_from(&whole.recipients[..4], &c[..4]),
            BroadcastPartRecord::encode_from(&whole.recipients[4..], &c[4..]),
        ];
        let decoded: Vec<_> = parts
            .iter()
            .map(|b| BroadcastPartRecord::decode(b).unwrap())
            .collect();
        assert_eq!(read.clone().assemble(decoded.clone()).unwrap(), whole);
        assert!(read.assemble(decoded.into_iter().take(1)).is_err());
        let mut other = head.encode();
        other[0] = 3;
        assert!(StoredBroadcast::decode(&other).is_err());
    }
}
