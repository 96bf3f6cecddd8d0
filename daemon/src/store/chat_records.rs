//! Stored records of conversations: conversations, messages, client message
//! ids (for storing a retried send once), per-account counters, and the
//! account's customer-signing key.
//!
//! Same rules as [`records`](super::records): one version byte, frozen
//! postcard bodies (`mod v1`), explicit conversion from and to the wire
//! types, typed errors on bad input.

use super::records::{
    decode_body, decode_v1, encode_versioned, encode_versioned_into, split_version, RecordError,
    StoredRecord, V1,
};
use kefu_wire::chat::{Channel, CustomerId, MessageBody, Party};

/// A conversation as stored: opened, served, maybe closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRecord {
    /// Account number.
    pub account: u64,
    /// Conversation id.
    pub conversation: u64,
    /// The customer.
    pub customer: CustomerId,
    /// The customer's channel.
    pub channel: Channel,
    /// Opened, unix milliseconds.
    pub opened_at: i64,
    /// The agent serving it (or that last did), if any.
    pub agent: Option<u32>,
    /// Closed, unix milliseconds; `None` while open.
    pub closed_at: Option<i64>,
}

/// One stored message (history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Account number.
    pub account: u64,
    /// The customer whose history it belongs to.
    pub customer: CustomerId,
    /// Conversation id.
    pub conversation: u64,
    /// Message id (increasing within the account).
    pub id: u64,
    /// Stored at, unix milliseconds.
    pub at: i64,
    /// Author.
    pub from: Party,
    /// Content.
    pub body: MessageBody,
    /// The agent serving the conversation when the message was stored (`None`: queued,
    /// or a version-1 record, stored before this was kept). History shows an agent the
    /// part of a conversation it served (H3, §5.1, §7.13 permission 5).
    pub served_by: Option<u32>,
}

/// A message to store, borrowing its customer and body: the message path encodes it
/// straight into the batch ([`super::Batch::put_message_ref`]) without copying either.
/// Stored exactly as the [`MessageRecord`] with the same fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRef<'a> {
    /// Account number.
    pub account: u64,
    /// The customer whose history it belongs to.
    pub customer: &'a CustomerId,
    /// Conversation id.
    pub conversation: u64,
    /// Message id.
    pub id: u64,
    /// Stored at, unix milliseconds.
    pub at: i64,
    /// Author.
    pub from: Party,
    /// Content.
    pub body: &'a MessageBody,
    /// The agent serving the conversation when the message was stored.
    pub served_by: Option<u32>,
}

impl MessageRef<'_> {
    /// Appends the stored bytes (current version) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        encode_versioned_into(
            MESSAGE_V2,
            &v2::Message {
                account: self.account,
                customer: customer_v1(self.customer),
                conversation: self.conversation,
                id: self.id,
                at: self.at,
                from: party_v1(self.from),
                body: body_v1(self.body),
                served_by: self.served_by,
            },
            out,
        )
    }
}

impl MessageRecord {
    /// The record, borrowed.
    pub fn borrowed(&self) -> MessageRef<'_> {
        MessageRef {
            account: self.account,
            customer: &self.customer,
            conversation: self.conversation,
            id: self.id,
            at: self.at,
            from: self.from,
            body: &self.body,
            served_by: self.served_by,
        }
    }
}

impl From<MessageRecord> for kefu_wire::chat::MessageInfo {
    /// A stored message as the protocol shows it (the customer is the history's key).
    fn from(m: MessageRecord) -> Self {
        kefu_wire::chat::MessageInfo {
            conversation: m.conversation,
            id: m.id,
            at: m.at,
            from: m.from,
            body: m.body,
        }
    }
}

/// The message a client message id was stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientMsgRecord {
    /// The stored message's id.
    pub message: u64,
}

/// Per-account id counters, written with the batch that uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CountersRecord {
    /// Next conversation id.
    pub next_conversation: u64,
    /// Next message id.
    pub next_message: u64,
}

/// The account's customer-signing key, sealed with the appliance key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerKeyRecord {
    /// AES-256-GCM sealed 32-byte key (see `otp::sealed`).
    pub sealed: Vec<u8>,
}

/// An account's routing settings, as set with `SetRoutingSettings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingSettingsRecord {
    /// Account number.
    pub account: u64,
    /// The settings.
    pub settings: kefu_wire::chat::RoutingConfig,
}

/// Frozen version-2 bodies: only the message changed (it names the agent serving its
/// conversation when stored); every other kind is still version 1. Never edit.
mod v2 {
    use super::v1::{Body, Customer, Party};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Message<'a> {
        pub account: u64,
        #[serde(borrow)]
        pub customer: Customer<'a>,
        pub conversation: u64,
        pub id: u64,
        pub at: i64,
        pub from: Party,
        #[serde(borrow)]
        pub body: Body<'a>,
        pub served_by: Option<u32>,
    }
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) enum Customer<'a> {
        Identified(&'a str),
        Visitor([u8; 16]),
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum Channel {
        Desktop,
        Web,
        Mobile,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum Party {
        Customer,
        Agent(u32),
        System,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum Body<'a> {
        Text(&'a str),
        Image {
            reference: &'a str,
        },
        File {
            reference: &'a str,
            name: &'a str,
            size: u64,
        },
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Conversation<'a> {
        pub account: u64,
        pub conversation: u64,
        #[serde(borrow)]
        pub customer: Customer<'a>,
        pub channel: Channel,
        pub opened_at: i64,
        pub agent: Option<u32>,
        pub closed_at: Option<i64>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Message<'a> {
        pub account: u64,
        #[serde(borrow)]
        pub customer: Customer<'a>,
        pub conversation: u64,
        pub id: u64,
        pub at: i64,
        pub from: Party,
        #[serde(borrow)]
        pub body: Body<'a>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct ClientMsg {
        pub message: u64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Counters {
        pub next_conversation: u64,
        pub next_message: u64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct CustomerKey<'a> {
        pub sealed: &'a [u8],
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct WelcomeRule<'a> {
        pub weekdays: u8,
        pub start_minute: u16,
        pub end_minute: u16,
        pub text: &'a str,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct RoutingSettings<'a> {
        pub account: u64,
        pub exclusive: bool,
        pub no_response_secs: u32,
        pub no_response_warn_secs: u32,
        pub transfer_timeout_secs: u32,
        pub utc_offset_minutes: i16,
        #[serde(borrow)]
        pub welcome: Vec<WelcomeRule<'a>>,
        pub busy_reply: Option<&'a str>,
        pub away_reply: Option<&'a str>,
    }
}

impl StoredRecord for RoutingSettingsRecord {
    const KIND: &'static str = "routing settings";

    fn encode(&self) -> Vec<u8> {
        let s = &self.settings;
        encode_versioned(
            V1,
            &v1::RoutingSettings {
                account: self.account,
                exclusive: s.exclusive,
                no_response_secs: s.no_response_secs,
                no_response_warn_secs: s.no_response_warn_secs,
                transfer_timeout_secs: s.transfer_timeout_secs,
                utc_offset_minutes: s.utc_offset_minutes,
                welcome: s
                    .welcome
                    .iter()
                    .map(|w| v1::WelcomeRule {
                        weekdays: w.weekdays,
                        start_minute: w.start_minute,
                        end_minute: w.end_minute,
                        text: &w.text,
                    })
                    .collect(),
                busy_reply: s.busy_reply.as_deref(),
                away_reply: s.away_reply.as_deref(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::RoutingSettings<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(RoutingSettingsRecord {
            account: b.account,
            settings: kefu_wire::chat::RoutingConfig {
                exclusive: b.exclusive,
                no_response_secs: b.no_response_secs,
                no_response_warn_secs: b.no_response_warn_secs,
                transfer_timeout_secs: b.transfer_timeout_secs,
                utc_offset_minutes: b.utc_offset_minutes,
                welcome: b
                    .welcome
                    .into_iter()
                    .map(|w| kefu_wire::chat::WelcomeRule {
                        weekdays: w.weekdays,
                        start_minute: w.start_minute,
                        end_minute: w.end_minute,
                        text: w.text.to_owned(),
                    })
                    .collect(),
                busy_reply: b.busy_reply.map(str::to_owned),
                away_reply: b.away_reply.map(str::to_owned),
            },
        })
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

fn channel_v1(c: Channel) -> v1::Channel {
    match c {
        Channel::Desktop => v1::Channel::Desktop,
        Channel::Web => v1::Channel::Web,
        Channel::Mobile => v1::Channel::Mobile,
    }
}

fn channel_from(c: v1::Channel) -> Channel {
    match c {
        v1::Channel::Desktop => Channel::Desktop,
        v1::Channel::Web => Channel::Web,
        v1::Channel::Mobile => Channel::Mobile,
    }
}

fn party_v1(p: Party) -> v1::Party {
    match p {
        Party::Customer => v1::Party::Customer,
        Party::Agent(a) => v1::Party::Agent(a),
        Party::System => v1::Party::System,
    }
}

fn party_from(p: v1::Party) -> Party {
    match p {
        v1::Party::Customer => Party::Customer,
        v1::Party::Agent(a) => Party::Agent(a),
        v1::Party::System => Party::System,
    }
}

fn body_v1(b: &MessageBody) -> v1::Body<'_> {
    match b {
        MessageBody::Text(t) => v1::Body::Text(t),
        MessageBody::Image { reference } => v1::Body::Image { reference },
        MessageBody::File {
            reference,
            name,
            size,
        } => v1::Body::File {
            reference,
            name,
            size: *size,
        },
    }
}

fn body_from(b: v1::Body<'_>) -> MessageBody {
    match b {
        v1::Body::Text(t) => MessageBody::Text(t.to_owned()),
        v1::Body::Image { reference } => MessageBody::Image {
            reference: reference.to_owned(),
        },
        v1::Body::File {
            reference,
            name,
            size,
        } => MessageBody::File {
            reference: reference.to_owned(),
            name: name.to_owned(),
            size,
        },
    }
}

impl StoredRecord for ConversationRecord {
    const KIND: &'static str = "conversation";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Conversation {
                account: self.account,
                conversation: self.conversation,
                customer: customer_v1(&self.customer),
                channel: channel_v1(self.channel),
                opened_at: self.opened_at,
                agent: self.agent,
                closed_at: self.closed_at,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Conversation<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(ConversationRecord {
            account: b.account,
            conversation: b.conversation,
            customer: customer_from(b.customer),
            channel: channel_from(b.channel),
            opened_at: b.opened_at,
            agent: b.agent,
            closed_at: b.closed_at,
        })
    }
}

/// Version 2 of the message record.
const MESSAGE_V2: u8 = 2;

impl StoredRecord for MessageRecord {
    const KIND: &'static str = "message";

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        self.borrowed().encode_into(out)
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let (b, served_by) = match split_version(Self::KIND, bytes)? {
            (V1, body) => (decode_body::<v1::Message<'_>>(Self::KIND, V1, body)?, None),
            (MESSAGE_V2, body) => {
                let b: v2::Message<'_> = decode_body(Self::KIND, MESSAGE_V2, body)?;
                let served_by = b.served_by;
                let v1 = v1::Message {
                    account: b.account,
                    customer: b.customer,
                    conversation: b.conversation,
                    id: b.id,
                    at: b.at,
                    from: b.from,
                    body: b.body,
                };
                (v1, served_by)
            }
            (version, _) => {
                return Err(RecordError::UnknownVersion {
                    kind: Self::KIND,
                    version,
                })
            }
        };
        Ok(MessageRecord {
            account: b.account,
            customer: customer_from(b.customer),
            conversation: b.conversation,
            id: b.id,
            at: b.at,
            from: party_from(b.from),
            body: body_from(b.body),
            served_by,
        })
    }
}

impl StoredRecord for ClientMsgRecord {
    const KIND: &'static str = "client message id";

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        encode_versioned_into(
            V1,
            &v1::ClientMsg {
                message: self.message,
            },
            out,
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::ClientMsg = decode_v1(Self::KIND, bytes)?;
        Ok(ClientMsgRecord { message: b.message })
    }
}

impl StoredRecord for CountersRecord {
    const KIND: &'static str = "counters";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Counters {
                next_conversation: self.next_conversation,
                next_message: self.next_message,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Counters = decode_v1(Self::KIND, bytes)?;
        Ok(CountersRecord {
            next_conversation: b.next_conversation,
            next_message: b.next_message,
        })
    }
}

impl StoredRecord for CustomerKeyRecord {
    const KIND: &'static str = "customer key";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::CustomerKey {
                sealed: &self.sealed,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::CustomerKey<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(CustomerKeyRecord {
            sealed: b.sealed.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_truncations() {
        let conv = ConversationRecord {
            account: 7,
            conversation: 3,
            customer: CustomerId::Identified("客户-1".into()),
            channel: Channel::Mobile,
            opened_at: 1_800_000_000_000,
            agent: Some(1002),
            closed_at: None,
        };
        let msg = MessageRecord {
            account: 7,
            customer: CustomerId::Visitor([9; 16]),
            conversation: 3,
            id: 44,
            at: 1_800_000_000_001,
            from: Party::Agent(1002),
            body: MessageBody::File {
                reference: "f/1".into(),
                name: "报价.pdf".into(),
                size: 12,
            },
            served_by: Some(1002),
        };
        assert_eq!(ConversationRecord::decode(&conv.encode()).unwrap(), conv);
        assert_eq!(MessageRecord::decode(&msg.encode()).unwrap(), msg);
        let counters = CountersRecord {
            next_conversation: 5,
            next_message: 300,
        };
        assert_eq!(counters.encode(), vec![1, 5, 0xac, 2]);
        assert_eq!(
            CountersRecord::decode(&counters.encode()).unwrap(),
            counters
        );
        let cm = ClientMsgRecord { message: 44 };
        assert_eq!(ClientMsgRecord::decode(&cm.encode()).unwrap(), cm);
        let key = CustomerKeyRecord {
            sealed: vec![1, 2, 3],
        };
        assert_eq!(CustomerKeyRecord::decode(&key.encode()).unwrap(), key);
        let bytes = msg.encode();
        for cut in 0..bytes.len() {
            assert!(MessageRecord::decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        assert!(matches!(
            MessageRecord::decode(&[3, 0]),
            Err(RecordError::UnknownVersion { version: 3, .. })
        ));
        // A version-1 message (stored before `served_by`) still reads, serving agent unknown.
        let v1 = encode_versioned(
            V1,
            &v1::Message {
                account: 7,
                customer: v1::Customer::Identified("a"),
                conversation: 3,
                id: 45,
                at: 1,
                from: v1::Party::Customer,
                body: v1::Body::Text("你好"),
            },
        );
        let old = MessageRecord::decode(&v1).unwrap();
        assert_eq!((old.id, old.served_by), (45, None));
    }
}
