//! Stored SMS forwarding (C14, manual §4.5.2–4.5.4; `wire/PROTOCOL.md` section 27):
//! each account's balance ([`SmsBalanceRecord`], [`keys::sms_balance`]) and every SMS it
//! queued ([`SmsRecord`], [`keys::sms_item`], with a copy under [`keys::sms_outbox`]
//! while it waits for the gateway).
//!
//! Same rules as [`records`](super::records): one version byte, a frozen postcard body
//! (`mod v1`), explicit conversion, typed errors on bad input.

use super::keys;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::chat::CustomerId;
use kefu_wire::sms::{SmsBalance, SmsDeadLetter};

/// An account's SMS units and the next SMS number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SmsBalanceRecord {
    /// Free, held, spent and refunded units.
    pub balance: SmsBalance,
    /// The number the next SMS of the account takes (from 1).
    pub next_sms: u64,
}

/// Where an SMS stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsState {
    /// Waiting for the gateway (first attempt or a retry); its units are held.
    Queued,
    /// The gateway took it; its units are spent.
    Sent,
    /// Given up after the last attempt; its units were given back.
    Dead,
}

/// One forwarded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsRecord {
    /// Account number.
    pub account: u64,
    /// Its number within the account.
    pub sms: u64,
    /// The conversation the forwarded message was written in.
    pub conversation: u64,
    /// The forwarded message's id.
    pub message: u64,
    /// The customer who forwarded it.
    pub customer: CustomerId,
    /// The agent it is for.
    pub agent: u32,
    /// The agent's bound phone when it was queued.
    pub phone: String,
    /// The text.
    pub text: String,
    /// Units held (one per segment).
    pub segments: u32,
    /// Where it stands.
    pub state: SmsState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due, unix ms (while queued).
    pub next_at: i64,
    /// When it was queued, unix ms.
    pub queued_at: i64,
    /// When it was sent or given up, unix ms (0 while queued).
    pub settled_at: i64,
    /// What the last failed attempt met ("" if none).
    pub last_error: String,
}

impl SmsRecord {
    /// Its key in `sms`.
    pub fn key(&self) -> Vec<u8> {
        keys::sms_item(self.account, self.sms)
    }

    /// As the operator's dead-letter list shows it.
    pub fn dead_letter(&self) -> SmsDeadLetter {
        SmsDeadLetter {
            sms: self.sms,
            conversation: self.conversation,
            customer: self.customer.clone(),
            agent: self.agent,
            phone: self.phone.clone(),
            text: self.text.clone(),
            segments: self.segments,
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            queued_at: self.queued_at,
            dead_at: self.settled_at,
        }
    }
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Balance {
        pub units: u64,
        pub reserved: u64,
        pub spent: u64,
        pub refunded: u64,
        pub failed_attempts: u64,
        pub next_sms: u64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum Customer<'a> {
        Identified(&'a str),
        Visitor([u8; 16]),
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum State {
        Queued,
        Sent,
        Dead,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Sms<'a> {
        pub account: u64,
        pub sms: u64,
        pub conversation: u64,
        pub message: u64,
        #[serde(borrow)]
        pub customer: Customer<'a>,
        pub agent: u32,
        pub phone: &'a str,
        pub text: &'a str,
        pub segments: u32,
        pub state: State,
        pub attempts: u32,
        pub next_at: i64,
        pub queued_at: i64,
        pub settled_at: i64,
        pub last_error: &'a str,
    }
}

impl StoredRecord for SmsBalanceRecord {
    const KIND: &'static str = "sms balance";

    fn encode(&self) -> Vec<u8> {
        let b = &self.balance;
        encode_versioned(
            V1,
            &v1::Balance {
                units: b.units,
                reserved: b.reserved,
                spent: b.spent,
                refunded: b.refunded,
                failed_attempts: b.failed_attempts,
                next_sms: self.next_sms,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Balance = decode_v1(Self::KIND, bytes)?;
        Ok(SmsBalanceRecord {
            balance: SmsBalance {
                units: b.units,
                reserved: b.reserved,
                spent: b.spent,
                refunded: b.refunded,
                failed_attempts: b.failed_attempts,
            },
            next_sms: b.next_sms,
        })
    }
}

impl StoredRecord for SmsRecord {
    const KIND: &'static str = "sms";

    fn encode(&self) -> Vec<u8> {
        let customer = match &self.customer {
            CustomerId::Identified(s) => v1::Customer::Identified(s),
            CustomerId::Visitor(v) => v1::Customer::Visitor(*v),
        };
        let state = match self.state {
            SmsState::Queued => v1::State::Queued,
            SmsState::Sent => v1::State::Sent,
            SmsState::Dead => v1::State::Dead,
        };
        encode_versioned(
            V1,
            &v1::Sms {
                account: self.account,
                sms: self.sms,
                conversation: self.conversation,
                message: self.message,
                customer,
                agent: self.agent,
                phone: &self.phone,
                text: &self.text,
                segments: self.segments,
                state,
                attempts: self.attempts,
                next_at: self.next_at,
                queued_at: self.queued_at,
                settled_at: self.settled_at,
                last_error: &self.last_error,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Sms<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(SmsRecord {
            account: b.account,
            sms: b.sms,
            conversation: b.conversation,
            message: b.message,
            customer: match b.customer {
                v1::Customer::Identified(s) => CustomerId::Identified(s.to_owned()),
                v1::Customer::Visitor(v) => CustomerId::Visitor(v),
            },
            agent: b.agent,
            phone: b.phone.to_owned(),
            text: b.text.to_owned(),
            segments: b.segments,
            state: match b.state {
                v1::State::Queued => SmsState::Queued,
                v1::State::Sent => SmsState::Sent,
                v1::State::Dead => SmsState::Dead,
            },
            attempts: b.attempts,
            next_at: b.next_at,
            queued_at: b.queued_at,
            settled_at: b.settled_at,
            last_error: b.last_error.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refuse_other_versions() {
        let b = SmsBalanceRecord {
            balance: SmsBalance {
                units: 5,
                reserved: 1,
                spent: 2,
                refunded: 3,
                failed_attempts: 6,
            },
            next_sms: 4,
        };
        assert_eq!(b.encode(), [1, 5, 1, 2, 3, 6, 4]);
        assert_eq!(SmsBalanceRecord::decode(&b.encode()), Ok(b));
        let r = SmsRecord {
            account: 7,
            sms: 1,
            conversation: 2,
            message: 3,
            customer: CustomerId::Identified("c".into()),
            agent: 1001,
            phone: "+86 1".into(),
            text: "hi".into(),
            segments: 1,
            state: SmsState::Dead,
            attempts: 3,
            next_at: 10,
            queued_at: 9,
            settled_at: 11,
            last_error: "500".into(),
        };
        assert_eq!(SmsRecord::decode(&r.encode()), Ok(r.clone()));
        assert_eq!(r.key(), keys::sms_item(7, 1));
        assert!(SmsRecord::decode(&[2]).is_err());
        assert!(SmsBalanceRecord::decode(&[]).is_err());
    }
}
