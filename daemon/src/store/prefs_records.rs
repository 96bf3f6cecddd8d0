//! Stored records of agents' preferences and of the account's reminders (issue 11
//! points 7–9): [`AgentPrefsRecord`] in `agent_prefs` (one per agent that set its
//! preferences; none means the defaults) and [`RemindersRecord`] in `reminders` (one
//! per account: the contact-limit warning threshold and the notices agent 1001 has not
//! been given yet, delivered at its next login).
//!
//! Same rules as [`records`](super::records): one version byte, frozen postcard bodies
//! (`mod v1`), explicit conversion from and to the wire types, typed errors on bad
//! input. Key layout: [`keys`](super::keys) (`agent_prefs`, `reminders`).

use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::prefs::AgentPrefs;

/// Most notices kept for agent 1001 while it is away; the oldest go first.
pub const MAX_STORED_NOTICES: usize = 32;

/// One agent's preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPrefsRecord {
    /// Account number.
    pub account: u64,
    /// Agent number.
    pub agent: u32,
    /// The preferences.
    pub prefs: AgentPrefs,
}

/// A notice for agent 1001 not given yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotice {
    /// When it was raised, unix seconds.
    pub at: i64,
    /// Its text (as `Event::Notice` carries it).
    pub text: String,
}

/// One account's reminders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemindersRecord {
    /// Account number.
    pub account: u64,
    /// Contact-limit warning threshold, percent of the plan's limit.
    pub near_limit_percent: u8,
    /// Notices for agent 1001 raised while it was not logged in, oldest first (at most
    /// [`MAX_STORED_NOTICES`]).
    pub pending: Vec<StoredNotice>,
}

impl RemindersRecord {
    /// The record of an account that never stored one.
    pub fn new(account: u64) -> RemindersRecord {
        RemindersRecord {
            account,
            near_limit_percent: kefu_wire::prefs::DEFAULT_NEAR_LIMIT_PERCENT,
            pending: Vec::new(),
        }
    }
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct AgentPrefs<'a> {
        pub account: u64,
        pub agent: u32,
        pub personal_auto_reply: &'a str,
        pub notify_own_additions: bool,
        pub notify_customer_added: bool,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Notice<'a> {
        pub at: i64,
        pub text: &'a str,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Reminders<'a> {
        pub account: u64,
        pub near_limit_percent: u8,
        #[serde(borrow)]
        pub pending: Vec<Notice<'a>>,
    }
}

impl StoredRecord for AgentPrefsRecord {
    const KIND: &'static str = "agent preferences";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::AgentPrefs {
                account: self.account,
                agent: self.agent,
                personal_auto_reply: &self.prefs.personal_auto_reply,
                notify_own_additions: self.prefs.notify_own_additions,
                notify_customer_added: self.prefs.notify_customer_added,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::AgentPrefs<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(AgentPrefsRecord {
            account: b.account,
            agent: b.agent,
            prefs: AgentPrefs {
                personal_auto_reply: b.personal_auto_reply.to_owned(),
                notify_own_additions: b.notify_own_additions,
                notify_customer_added: b.notify_customer_added,
            },
        })
    }
}

impl StoredRecord for RemindersRecord {
    const KIND: &'static str = "reminders";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Reminders {
                account: self.account,
                near_limit_percent: self.near_limit_percent,
                pending: self
                    .pending
                    .iter()
                    .map(|n| v1::Notice {
                        at: n.at,
                        text: &n.text,
                    })
                    .collect(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Reminders<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(RemindersRecord {
            account: b.account,
            near_limit_percent: b.near_limit_percent,
            pending: b
                .pending
                .into_iter()
                .map(|n| StoredNotice {
                    at: n.at,
                    text: n.text.to_owned(),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_carry_a_version() {
        let p = AgentPrefsRecord {
            account: 800_000,
            agent: 1002,
            prefs: AgentPrefs {
                personal_auto_reply: "稍等，马上回来".into(),
                notify_own_additions: false,
                notify_customer_added: true,
            },
        };
        let bytes = p.encode();
        assert_eq!(bytes[0], V1);
        assert_eq!(AgentPrefsRecord::decode(&bytes).unwrap(), p);
        let r = RemindersRecord {
            account: 800_000,
            near_limit_percent: 80,
            pending: vec![StoredNotice {
                at: 1_700_000_000,
                text: "x".into(),
            }],
        };
        let bytes = r.encode();
        assert_eq!(bytes[0], V1);
        assert_eq!(RemindersRecord::decode(&bytes).unwrap(), r);
        assert!(RemindersRecord::decode(&[9, 0]).is_err());
        assert!(AgentPrefsRecord::decode(&[]).is_err());
    }
}
