//! Stored reports and surveys (S3, V5; `wire/PROTOCOL.md` sections 34–35; key layout in
//! [`keys`](super::keys)).
//!
//! - The daily work report: per account, day and agent a [`WorkDayRecord`] of counts,
//!   and a [`SeenRecord`] per (day, agent, conversation) and per (day, agent, customer)
//!   counted, all written in the same batch as the assignment that counts them: a count
//!   moves only when its marker is new, so a restart, a second assignment of the same
//!   conversation or a second conversation of the same customer never counts twice.
//! - Surveys: a [`SurveyRecord`] per survey (draft, state, answers and per-option
//!   counts, rewritten with each answer in the same batch as that answer's
//!   [`AnswerRecord`], which is never rewritten).
//!
//! Same rules as [`records`](super::records): one version byte, frozen postcard bodies
//! (`mod v1`), typed errors on bad input. Drafts are kept as the wire's `SurveyDraft`
//! body, whose encoding the protocol's golden bytes freeze.

use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::chat::CustomerId;
use kefu_wire::survey::{SurveyDraft, SurveyState};

/// One agent's counts for one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkDayRecord {
    /// Conversations given to the agent that day, each once.
    pub conversations: u64,
    /// Different customers of those conversations.
    pub customers: u64,
}

/// A marker: something is counted already. Its value is only the version byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeenRecord;

/// One survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyRecord {
    /// Its number in the account, from 1.
    pub id: u64,
    /// The agent that created it.
    pub agent: u32,
    /// What it asks and whom.
    pub draft: SurveyDraft,
    /// Open or closed.
    pub state: SurveyState,
    /// When created, turn ms.
    pub created_at: i64,
    /// When closed, turn ms.
    pub closed_at: Option<i64>,
    /// Answers stored.
    pub answers: u64,
    /// Per question, per option: answers that chose it.
    pub counts: Vec<Vec<u64>>,
}

/// One contact's answer to a survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRecord {
    /// The contact's number.
    pub contact: u64,
    /// Who the customer was.
    pub customer: CustomerId,
    /// When, turn ms.
    pub at: i64,
    /// Per question, the option indexes chosen.
    pub choices: Vec<Vec<u8>>,
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use kefu_wire::chat::CustomerId;
    use kefu_wire::survey::SurveyDraft;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct WorkDay {
        pub conversations: u64,
        pub customers: u64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Seen;

    /// `state`: 0 open, 1 closed.
    #[derive(Serialize, Deserialize)]
    pub(super) struct Survey {
        pub id: u64,
        pub agent: u32,
        pub draft: SurveyDraft,
        pub state: u8,
        pub created_at: i64,
        pub closed_at: Option<i64>,
        pub answers: u64,
        pub counts: Vec<Vec<u64>>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Answer {
        pub contact: u64,
        pub customer: CustomerId,
        pub at: i64,
        pub choices: Vec<Vec<u8>>,
    }
}

impl StoredRecord for WorkDayRecord {
    const KIND: &'static str = "work day";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::WorkDay {
                conversations: self.conversations,
                customers: self.customers,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::WorkDay = decode_v1(Self::KIND, bytes)?;
        Ok(WorkDayRecord {
            conversations: b.conversations,
            customers: b.customers,
        })
    }
}

impl StoredRecord for SeenRecord {
    const KIND: &'static str = "seen marker";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(V1, &v1::Seen)
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let v1::Seen = decode_v1(Self::KIND, bytes)?;
        Ok(SeenRecord)
    }
}

impl StoredRecord for SurveyRecord {
    const KIND: &'static str = "survey";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Survey {
                id: self.id,
                agent: self.agent,
                draft: self.draft.clone(),
                state: match self.state {
                    SurveyState::Open => 0,
                    SurveyState::Closed => 1,
                },
                created_at: self.created_at,
                closed_at: self.closed_at,
                answers: self.answers,
                counts: self.counts.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Survey = decode_v1(Self::KIND, bytes)?;
        let state = match b.state {
            0 => SurveyState::Open,
            1 => SurveyState::Closed,
            _ => {
                return Err(RecordError::Invalid {
                    kind: Self::KIND,
                    version: V1,
                    reason: "unknown survey state",
                })
            }
        };
        Ok(SurveyRecord {
            id: b.id,
            agent: b.agent,
            draft: b.draft,
            state,
            created_at: b.created_at,
            closed_at: b.closed_at,
            answers: b.answers,
            counts: b.counts,
        })
    }
}

impl StoredRecord for AnswerRecord {
    const KIND: &'static str = "survey answer";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Answer {
                contact: self.contact,
                customer: self.customer.clone(),
                at: self.at,
                choices: self.choices.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Answer = decode_v1(Self::KIND, bytes)?;
        Ok(AnswerRecord {
            contact: b.contact,
            customer: b.customer,
            at: b.at,
            choices: b.choices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_wire::survey::SurveyQuestion;

    #[test]
    fn records_round_trip_and_carry_a_version() {
        let w = WorkDayRecord {
            conversations: 3,
            customers: 2,
        };
        assert_eq!(WorkDayRecord::decode(&w.encode()).unwrap(), w);
        assert_eq!(SeenRecord.encode(), vec![V1]);
        assert_eq!(SeenRecord::decode(&[V1]).unwrap(), SeenRecord);
        let s = SurveyRecord {
            id: 1,
            agent: 1001,
            draft: SurveyDraft {
                title: "t".into(),
                background: "b".into(),
                groups: vec![2],
                questions: vec![SurveyQuestion {
                    text: "q".into(),
                    multiple: true,
                    options: vec!["a".into(), "b".into()],
                }],
            },
            state: SurveyState::Closed,
            created_at: 5,
            closed_at: Some(6),
            answers: 1,
            counts: vec![vec![1, 0]],
        };
        assert_eq!(SurveyRecord::decode(&s.encode()).unwrap(), s);
        let a = AnswerRecord {
            contact: 9,
            customer: CustomerId::Identified("10001".into()),
            at: 7,
            choices: vec![vec![0, 1]],
        };
        assert_eq!(AnswerRecord::decode(&a.encode()).unwrap(), a);
        assert!(SurveyRecord::decode(&[9, 0]).is_err());
    }
}
