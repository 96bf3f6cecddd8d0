//! Key encodings: the one place that knows how each column family's keys are laid out.
//!
//! Every integer in a key is big-endian, so byte order (what the engine sorts by) is
//! numeric order: iterating a column family walks accounts in id order, and the agents
//! (roles, sessions) of one account form one contiguous range.
//!
//! # Key layout
//!
//! | column family | name        | key (bytes)                                   | value                  |
//! |---------------|-------------|-----------------------------------------------|------------------------|
//! | [`Cf::Meta`]     | `meta`     | ASCII name, e.g. `schema_version` ([`META_SCHEMA_VERSION`]) | [`SchemaVersion`]      |
//! | [`Cf::Accounts`] | `accounts` | account `u64` BE (8)                          | [`AccountRecord`]      |
//! | [`Cf::Agents`]   | `agents`   | account `u64` BE (8) ‖ agent `u32` BE (4)     | [`AgentRecord`]        |
//! | [`Cf::Roles`]    | `roles`    | account `u64` BE (8) ‖ role `u32` BE (4)      | [`RoleRecord`]         |
//! | [`Cf::Sessions`] | `sessions` | account `u64` BE (8) ‖ agent `u32` BE (4)     | [`SessionRecord`]      |
//! | [`Cf::AccountSettings`] | `account_settings` | account `u64` BE (8)            | [`AccountSettingsRecord`] |
//! | [`Cf::AgentProfiles`] | `agent_profiles` | account `u64` BE (8) ‖ agent `u32` BE (4) | [`AgentProfileRecord`] |
//! | [`Cf::Tokens`]   | `tokens`   | serial, UTF-8, 1..=64 bytes                   | [`TokenRecord`]        |
//! | [`Cf::AgentTokens`] | `agent_tokens` | account `u64` BE (8) ‖ agent `u32` BE (4) | [`AgentTokenRecord`] |
//! | [`Cf::Conversations`] | `conversations` | account `u64` BE (8) ‖ conversation `u64` BE (8) | `ConversationRecord` |
//! | [`Cf::Messages`] | `messages` | account `u64` BE (8) ‖ customer key ‖ message id `u64` BE (8) | `MessageRecord` |
//! | [`Cf::ClientMsgs`] | `client_msgs` | account `u64` BE (8) ‖ sender key ‖ client message id `u64` BE (8) | `ClientMsgRecord` |
//! | [`Cf::Counters`] | `counters` | account `u64` BE (8)                         | `CountersRecord` |
//! | [`Cf::CustomerKeys`] | `customer_keys` | account `u64` BE (8)                  | `CustomerKeyRecord` |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8)            | `RoutingSettingsRecord` |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b'D'` ([`designated`]) | `DesignatedRecord` |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b'U'` ‖ conversation `u64` BE (8) ([`unread`]) | `UnreadRecord` (an open conversation's unread count; deleted when it closes) |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b'O'` ‖ agent `u32` BE (4) ([`list_order`]) | `ListOrderRecord` (the agent's order of its accepted list) |
//! | [`Cf::Contacts`] | `contacts` | account `u64` BE (8) ‖ contact number `u64` BE (8) | `ContactRecord` |
//! | [`Cf::CrmAccounts`] | `crm_accounts` | account `u64` BE (8)                  | `CrmAccountRecord` |
//! | [`Cf::CrmAccounts`] | `crm_accounts` | account `u64` BE (8) ‖ `b'I'` ([`import_job`]) | `ImportJobRecord` (the contact numbers of an import chunk not yet answered; rolled back at load) |
//! | [`Cf::QuickReplies`] | `quick_replies` | account `u64` BE (8) ‖ agent `u32` BE (4), agent 0 = the account's shared list | `QuickRepliesRecord` |
//! | [`Cf::TicketKeys`] | `ticket_keys` | account `u64` BE (8)                      | `TicketKeyRecord` |
//! | [`Cf::TicketKeys`] | `ticket_keys` | account `u64` BE (8) ‖ `b'U'` ‖ expiry `i64` BE (8) ‖ SHA-256 of the ticket, 16 bytes ([`used_ticket_records`](super::used_ticket_records)) | `UsedTicketRecord` (a centre ticket that signed in; dropped once expired) |
//! | [`Cf::OpenConversations`] | `open_conversations` | account `u64` BE (8) ‖ conversation `u64` BE (8) | `ConversationRecord` (a copy) |
//! | [`Cf::AgentPrefs`] | `agent_prefs` | account `u64` BE (8) ‖ agent `u32` BE (4) | `AgentPrefsRecord` |
//! | [`Cf::Reminders`] | `reminders` | account `u64` BE (8)                        | `RemindersRecord` |
//! | [`Cf::IdleConversations`] | `idle_conversations` | account `u64` BE (8) ‖ conversation `u64` BE (8) | `IdleRecord` |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b'I'` ([`idle_settings`]) | `IdleSettingsRecord` |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b'M'` ([`navigation_menu`]) | `NavigationMenuRecord` |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b'W'` ‖ conversation `u64` BE (8) ([`menu_walk`]) | `MenuWalkRecord` (a customer in the menu; deleted when it is routed or leaves) |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b'P'` ‖ conversation `u64` BE (8) ([`menu_path`]) | `MenuPathRecord` (the labels clicked before routing) |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b's'` ‖ `0x01` ([`spam_settings`]) | `SpamSettingsRecord` |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b's'` ‖ `0x02` ‖ conversation `u64` BE (8) ([`trash`]) | `TrashRecord` (held or trashed; deleted when it leaves) |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b's'` ‖ `0x03` ‖ customer key ([`whitelist`]) | `WhitelistRecord` |
//! | [`Cf::RoutingSettings`] | `routing_settings` | account `u64` BE (8) ‖ `b's'` ‖ `0x04` ‖ agent `u32` BE (4) ‖ customer key ([`mute`]) | `MuteRecord` |
//! | [`Cf::InternalMessages`] | `internal_messages` | account `u64` BE (8) ‖ lower agent `u32` BE (4) ‖ higher agent `u32` BE (4) ‖ message id `u64` BE (8) | `InternalMessageRecord` |
//! | [`Cf::ClientMsgs`] | `client_msgs` | account `u64` BE (8) ‖ `0x03` ‖ agent `u32` BE (4) ‖ client id `u64` BE (8) ([`internal_client_msg`]) | `ClientMsgRecord` |
//! | [`Cf::Sms`] | `sms` | account `u64` BE (8) ‖ `b'B'` ([`sms_balance`]) | `SmsBalanceRecord` |
//! | [`Cf::Sms`] | `sms` | account `u64` BE (8) ‖ `b'M'` ‖ sms `u64` BE (8) ([`sms_item`]) | `SmsRecord` (every SMS, kept: its state, attempts, dead letter) |
//! | [`Cf::Sms`] | `sms` | account `u64` BE (8) ‖ `b'F'` ‖ message `u64` BE (8) ‖ agent `u32` BE (4) ([`sms_forward`]) | `ClientMsgRecord` (the SMS a message forwarded to an agent became) |
//! | [`Cf::Sms`] | `sms` | account `u64` BE (8) ‖ `b'R'` ‖ sms `u64` BE (8) ‖ reply id `u64` BE (8) ([`sms_reply`]) | `ClientMsgRecord` (the message a phone reply became) |
//! | [`Cf::SmsOutbox`] | `sms_outbox` | account `u64` BE (8) ‖ sms `u64` BE (8) ([`sms_outbox`]) | `SmsRecord` (a copy, while it waits for the gateway; deleted when it settles) |
//! | [`Cf::OfflineFiles`] | `offline_files` | account `u64` BE (8) ‖ file id `u64` BE (8) ([`offline_file`]) | `OfflineFileRecord` (C13: the file's bytes are on the disk, `file_store.rs`) |
//! | [`Cf::ValueAdded`] | `value_added` | account `u64` BE (8) ‖ `b'B'` ([`balance`]) | `BalanceRecord` |
//! | [`Cf::ValueAdded`] | `value_added` | account `u64` BE (8) ‖ `b'L'` ‖ entry `u64` BE (8) ([`ledger_entry`]) | `LedgerRecord` (never rewritten) |
//! | [`Cf::ValueAdded`] | `value_added` | account `u64` BE (8) ‖ `b'A'` ([`value_added_item`]) | `ActiveRecord` (next broadcast number, broadcasts not finished) |
//! | [`Cf::ValueAdded`] | `value_added` | account `u64` BE (8) ‖ `b'C'` ‖ broadcast `u64` BE (8) | `BroadcastRecord` |
//! | [`Cf::ValueAdded`] | `value_added` | account `u64` BE (8) ‖ `b'S'` ‖ broadcast `u64` BE (8) | `BroadcastStatus` (the fan-out cursor) |
//! | [`Cf::ValueAdded`] | `value_added` | account `u64` BE (8) ‖ `b'P'` ‖ staging `u64` BE (8) ‖ part `u32` BE (4) ([`broadcast_part`]) | `BroadcastPartRecord` (recipients and named contacts of a broadcast stored in parts) |
//! | [`Cf::Reports`] | `reports` | account `u64` BE (8) ‖ `b'D'` ‖ day `u32` BE (4) ‖ agent `u32` BE (4) ([`work_day`]) | `WorkDayRecord` (one agent's counts that day) |
//! | [`Cf::Reports`] | `reports` | account `u64` BE (8) ‖ `b'C'` ‖ day `u32` BE (4) ‖ agent `u32` BE (4) ‖ conversation `u64` BE (8) ([`work_seen_conversation`]) | `SeenRecord` (the conversation is counted for the agent that day) |
//! | [`Cf::Reports`] | `reports` | account `u64` BE (8) ‖ `b'U'` ‖ day `u32` BE (4) ‖ agent `u32` BE (4) ‖ customer key ([`work_seen_customer`]) | `SeenRecord` (the customer is counted for the agent that day) |
//! | [`Cf::Surveys`] | `surveys` | account `u64` BE (8) ‖ `b'V'` ‖ survey `u64` BE (8) ([`survey`]) | `SurveyRecord` (draft, state, per-option counts) |
//! | [`Cf::Surveys`] | `surveys` | account `u64` BE (8) ‖ `b'A'` ‖ survey `u64` BE (8) ‖ contact `u64` BE (8) ([`survey_answer`]) | `AnswerRecord` (one contact's answer, never rewritten) |
//!
//! A day is days since 1970-01-01 in the account's local time (its UTC offset).
//!
//! The memtable insert hints (`rocks.rs`, `insert_hint_prefix`) assume these layouts:
//! `messages` and `client_msgs` 22 bytes (account, customer tag, length, 12 id bytes),
//! `routing_settings` 17, `internal_messages` 16, `counters` 8. A layout change should
//! revisit them; a wrong prefix costs speed, never data.
//!
//! | [`Cf::ValueAdded`] | `value_added` | account `u64` BE (8) ‖ `b'Q'` ‖ … (CSAT; layout in [`csat_records`](super::csat_records)) | settings, survey offers, ratings by day, per-day counters, the last weekly mail |
//! | [`Cf::Meta`] | `meta` | `csat_subscribed` ‖ account `u64` BE (8) ([`csat_records::subscribed_key`](super::csat_records::subscribed_key)) | empty record: the account mails a weekly CSAT report |
//! | [`Cf::Meta`] | `meta` | `broadcast_review` ‖ submitted at `i64` (sign flipped) BE (8) ‖ account `u64` BE (8) ‖ broadcast `u64` BE (8) ([`review_records::review_key`](super::review_records::review_key)) | `ReviewEntryRecord` (a broadcast pending review: the queue across accounts) |
//! | [`Cf::Meta`] | `meta` | `profile_review` ‖ submitted at `i64` (sign flipped) BE (8) ‖ account `u64` BE (8) ‖ kind `u8` ([`profile_records::queue_key`](super::profile_records::queue_key)) | `QueueRecord` (a profile or style edit waiting for review: the queue across accounts) |
//! | [`Cf::Meta`] | `meta` | `sensitive_words` ([`META_SENSITIVE_WORDS`]) | `SensitiveWordsRecord` (the appliance's list) |
//! | [`Cf::Meta`] | `meta` | `cluster_epoch` ([`META_CLUSTER_EPOCH`]) | `EpochRecord` (a pair member's data: the epoch it was last led at) |
//! | [`Cf::Web`] | `web` | account `u64` BE (8) ‖ `b'C'` ‖ code `u32` BE (4) | `EntryCodeRecord` (W1) |
//! | [`Cf::Web`] | `web` | account `u64` BE (8) ‖ `b'A'` | `WebSettingsRecord` (next code number, automatic invitation) |
//! | [`Cf::Web`] | `web` | account `u64` BE (8) ‖ `b'V'` ‖ customer key | `VisitorRecord` (its trail's bounds, accepted an invitation) |
//! | [`Cf::Web`] | `web` | account `u64` BE (8) ‖ `b'T'` ‖ customer key ‖ page `u64` BE (8) | `PageRecord` (one page view; pruned by count and age) |
//! | [`Cf::Web`] | `web` | account `u64` BE (8) ‖ `b'D'` ‖ day `u32` BE (4) | `DayStatsRecord` (S4/S5 counters of a UTC day) |
//! | [`Cf::Web`] | `web` | account `u64` BE (8) ‖ `b'E'` | `ProfileRecord` (E1: the enterprise profile, approved, pending and rejected) |
//! | [`Cf::Web`] | `web` | account `u64` BE (8) ‖ `b'Y'` | `StyleRecord` (E2: the chat window's style, approved, pending and rejected) |
//! | [`Cf::Web`] | `web` | account `u64` BE (8) ‖ `b'U'` ‖ day `u32` BE (4) ‖ customer key | empty (the visitor was counted that day) |
//!
//! A **customer key** is `0x01 ‖ len u8 ‖ id bytes` for an identified customer
//! (ids are 1..=64 bytes) and `0x02 ‖ 16 bytes` for a visitor: prefix-free, so one
//! customer's messages are one contiguous range, ordered by message id (history
//! newest-first is a reverse scan). A **sender key** is `0x00 ‖ agent u32 BE` for
//! an agent and the customer key for a customer.
//!
//! A **contact number** is given by the account (`CrmAccountRecord::next_contact`) and
//! never reused: one account's contacts are one range, in creation order, so loading an
//! account is one bounded scan and an export pages by number. The search index and the
//! customer-key → contact map are rebuilt in memory from that scan (see
//! [`crm_records`](super::crm_records)); nothing else indexes contacts on disk.
//!
//! Values are always one record-format version byte followed by a postcard body (see
//! [`records`](super::records)). RocksDB's `default` column family exists but is unused.
//!
//! **Invariants.** [`Cf`] variants and their names only grow at the end: a name is a
//! directory-level identifier in every data directory ever written. No key is longer than
//! [`MAX_KEY_LEN`], which is what lets [`AFTER_ALL_KEYS`] bound every scan.
//!
//! [`SchemaVersion`]: super::records::SchemaVersion
//! [`AccountRecord`]: super::records::AccountRecord
//! [`AgentRecord`]: super::records::AgentRecord
//! [`RoleRecord`]: super::records::RoleRecord
//! [`SessionRecord`]: super::records::SessionRecord
//! [`AccountSettingsRecord`]: super::security_records::AccountSettingsRecord
//! [`AgentProfileRecord`]: super::security_records::AgentProfileRecord
//! [`TokenRecord`]: super::security_records::TokenRecord
//! [`AgentTokenRecord`]: super::security_records::AgentTokenRecord

use smallvec::SmallVec;
use std::fmt;

/// A column family: one kind of record. Variants are only ever appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cf {
    /// Store-wide metadata (schema version).
    Meta,
    /// One record per account.
    Accounts,
    /// One record per agent, grouped by account.
    Agents,
    /// One record per role, grouped by account.
    Roles,
    /// At most one live session per agent, grouped by account.
    Sessions,
    /// Per-account settings (security level).
    AccountSettings,
    /// Agent profiles (group, display mode, phone), grouped by account.
    AgentProfiles,
    /// Hardware tokens by serial (appliance-wide: imported by the operator).
    Tokens,
    /// The token each agent holds, grouped by account.
    AgentTokens,
    /// Conversations, grouped by account.
    Conversations,
    /// Messages (history), grouped by account and customer, in id order.
    Messages,
    /// Client message ids already stored, so a retried send is stored once.
    ClientMsgs,
    /// Per-account id counters.
    Counters,
    /// Per-account customer-signing keys (sealed).
    CustomerKeys,
    /// Per-account routing settings.
    RoutingSettings,
    /// Contacts (CRM), grouped by account, in contact-number order.
    Contacts,
    /// Per-account CRM state: tags, groups, limit counters, contact settings.
    CrmAccounts,
    /// Quick replies: each agent's own list and the account's shared one (agent 0).
    QuickReplies,
    /// Per-account keys of account-centre tickets (sealed).
    TicketKeys,
    /// The open conversations of each account (a copy of their `conversations` record,
    /// deleted when they close): what an account restores at load, without reading its
    /// whole history of conversations. Schema version 2.
    OpenConversations,
    /// Each agent's own preferences (personal auto-reply, notification options).
    AgentPrefs,
    /// Per-account reminders: the contact-limit warning threshold and the notices
    /// agent 1001 has not been given yet (`store/prefs_records.rs`).
    Reminders,
    /// Open conversations with an idle-customer timer armed or a flag standing (M3,
    /// `store/idle_records.rs`): deleted when the conversation closes or the customer
    /// replies.
    IdleConversations,
    /// Internal chat between agents (C11, `store/internal_records.rs`): one range per
    /// pair of agents, in id order.
    InternalMessages,
    /// SMS forwarding (C14, `store/sms_records.rs`): each account's balance, every SMS
    /// it queued (its state, kept as the dead-letter list), and the forwards and phone
    /// replies already stored (deduplication).
    Sms,
    /// The SMS waiting for the gateway (a copy of their `sms` record, deleted when they
    /// settle): what a shard resumes at start without reading every SMS ever sent.
    SmsOutbox,
    /// Offline files (C13, `store/file_records.rs`): who sent what to whom, its hash,
    /// its one-time token and whether it was fetched; the bytes are files on the disk.
    OfflineFiles,
    /// Value-added services (V1–V7, `store/balance_records.rs`): each account's balance
    /// and its ledger of every movement of units.
    ValueAdded,
    /// The web channel (W1, W3, S4, S5, `store/web_records.rs`): entry-point codes, the
    /// automatic invitation, visitors and their trails, per-day visit figures.
    Web,
    /// Reports' counters (S3, `store/report_records.rs`): the daily work report's
    /// per-agent per-day counts and the seen-markers that keep them exact, written in
    /// the same batch as the events they count.
    Reports,
    /// Surveys (V5, `store/report_records.rs`): each survey, its per-option counts and
    /// each contact's answer.
    Surveys,
}

impl Cf {
    /// Every column family, in declaration order.
    pub const ALL: [Cf; 31] = [
        Cf::Meta,
        Cf::Accounts,
        Cf::Agents,
        Cf::Roles,
        Cf::Sessions,
        Cf::AccountSettings,
        Cf::AgentProfiles,
        Cf::Tokens,
        Cf::AgentTokens,
        Cf::Conversations,
        Cf::Messages,
        Cf::ClientMsgs,
        Cf::Counters,
        Cf::CustomerKeys,
        Cf::RoutingSettings,
        Cf::Contacts,
        Cf::CrmAccounts,
        Cf::QuickReplies,
        Cf::TicketKeys,
        Cf::OpenConversations,
        Cf::AgentPrefs,
        Cf::Reminders,
        Cf::IdleConversations,
        Cf::InternalMessages,
        Cf::Sms,
        Cf::SmsOutbox,
        Cf::OfflineFiles,
        Cf::ValueAdded,
        Cf::Web,
        Cf::Reports,
        Cf::Surveys,
    ];

    /// The engine-level name of this column family; never changes once released.
    pub const fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Accounts => "accounts",
            Cf::Agents => "agents",
            Cf::Roles => "roles",
            Cf::Sessions => "sessions",
            Cf::AccountSettings => "account_settings",
            Cf::AgentProfiles => "agent_profiles",
            Cf::Tokens => "tokens",
            Cf::AgentTokens => "agent_tokens",
            Cf::Conversations => "conversations",
            Cf::Messages => "messages",
            Cf::ClientMsgs => "client_msgs",
            Cf::Counters => "counters",
            Cf::CustomerKeys => "customer_keys",
            Cf::RoutingSettings => "routing_settings",
            Cf::Contacts => "contacts",
            Cf::CrmAccounts => "crm_accounts",
            Cf::QuickReplies => "quick_replies",
            Cf::TicketKeys => "ticket_keys",
            Cf::OpenConversations => "open_conversations",
            Cf::AgentPrefs => "agent_prefs",
            Cf::Reminders => "reminders",
            Cf::IdleConversations => "idle_conversations",
            Cf::InternalMessages => "internal_messages",
            Cf::Sms => "sms",
            Cf::SmsOutbox => "sms_outbox",
            Cf::OfflineFiles => "offline_files",
            Cf::ValueAdded => "value_added",
            Cf::Web => "web",
            Cf::Reports => "reports",
            Cf::Surveys => "surveys",
        }
    }

    /// The column family called `name`, if this version of the code knows it.
    pub fn from_name(name: &str) -> Option<Cf> {
        Cf::ALL.into_iter().find(|cf| cf.name() == name)
    }

    /// Position in [`Cf::ALL`]; handy for per-CF arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether every key of this column family starts with its account `u64` BE: all
    /// but the store-wide [`Cf::Meta`] and [`Cf::Tokens`]. A new column family must
    /// decide here (the match is exhaustive), because a failed commit evicts exactly
    /// the accounts its keys name (see [`Batch::accounts`](super::Batch::accounts)).
    pub const fn is_account_scoped(self) -> bool {
        match self {
            Cf::Meta | Cf::Tokens => false,
            Cf::Accounts
            | Cf::Agents
            | Cf::Roles
            | Cf::Sessions
            | Cf::AccountSettings
            | Cf::AgentProfiles
            | Cf::AgentTokens
            | Cf::Conversations
            | Cf::Messages
            | Cf::ClientMsgs
            | Cf::Counters
            | Cf::CustomerKeys
            | Cf::RoutingSettings
            | Cf::Contacts
            | Cf::CrmAccounts
            | Cf::QuickReplies
            | Cf::TicketKeys
            | Cf::OpenConversations
            | Cf::AgentPrefs
            | Cf::Reminders
            | Cf::IdleConversations
            | Cf::InternalMessages
            | Cf::Sms
            | Cf::SmsOutbox
            | Cf::OfflineFiles
            | Cf::ValueAdded
            | Cf::Web
            | Cf::Reports
            | Cf::Surveys => true,
        }
    }

    /// The account a key of this column family belongs to; `None` for the store-wide
    /// column families or a key too short to carry one.
    pub fn account_of(self, key: &[u8]) -> Option<u64> {
        if !self.is_account_scoped() {
            return None;
        }
        let bytes: [u8; ACCOUNT_KEY_LEN] = key.get(..ACCOUNT_KEY_LEN)?.try_into().ok()?;
        Some(u64::from_be_bytes(bytes))
    }
}

impl fmt::Display for Cf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Key of the schema version in [`Cf::Meta`].
pub const META_SCHEMA_VERSION: &[u8] = b"schema_version";

/// Key of the probe record `kefuctl diagnose` writes (synced) in [`Cf::Meta`].
pub const META_STORAGE_PROBE: &[u8] = b"storage_probe";

/// Length of an account key.
pub const ACCOUNT_KEY_LEN: usize = 8;
/// Length of an `account ‖ u32` key (agents, roles, sessions).
pub const ACCOUNT_ITEM_KEY_LEN: usize = 12;
/// No key in any column family is longer than this.
pub const MAX_KEY_LEN: usize = 90; // a message or client-message key with a 64-byte customer id

/// An exclusive upper bound above every key of every column family: `0xff` repeated
/// one byte longer than the longest key. Used when a range has no finite successor.
pub const AFTER_ALL_KEYS: [u8; MAX_KEY_LEN + 1] = [0xff; MAX_KEY_LEN + 1];

/// A half-open key range `[start, end)` for a bounded scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// First key included.
    pub start: Vec<u8>,
    /// First key excluded; always given to the engine as the iterator's upper bound.
    pub end: Vec<u8>,
}

/// Key of an account in [`Cf::Accounts`].
pub fn account(account: u64) -> [u8; ACCOUNT_KEY_LEN] {
    account.to_be_bytes()
}

/// The designated-agent settings of `account` in `routing_settings`: the account
/// (8) ‖ `b'D'`. Nine bytes, so it never parses as an [`account`] key.
pub fn designated(account: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'D');
    k
}

/// An open conversation's unread count in `routing_settings`: the account (8) ‖ `b'U'`
/// ‖ the conversation (8). One account's counts are one range ([`unread_range`]).
pub fn unread(account: u64, conversation: u64) -> [u8; UNREAD_KEY_LEN] {
    // A fixed-size array: written with every message, so it costs no allocation.
    let mut k = [0u8; UNREAD_KEY_LEN];
    let (acc, rest) = k.split_at_mut(8);
    acc.copy_from_slice(&account.to_be_bytes());
    if let Some((tag, conv)) = rest.split_first_mut() {
        *tag = b'U';
        conv.copy_from_slice(&conversation.to_be_bytes());
    }
    k
}

/// The length of an [`unread`] key.
pub const UNREAD_KEY_LEN: usize = 17;

/// Every unread-count key of `account`.
pub fn unread_range(account: u64) -> KeyRange {
    let mut start = account.to_be_bytes().to_vec();
    start.push(b'U');
    let mut end = account.to_be_bytes().to_vec();
    end.push(b'U' + 1);
    KeyRange { start, end }
}

/// An agent's order of its accepted list in `routing_settings`: the account (8) ‖
/// `b'O'` ‖ the agent (4). One account's orders are one range ([`list_order_range`]).
pub fn list_order(account: u64, agent: u32) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'O');
    k.extend_from_slice(&agent.to_be_bytes());
    k
}

/// Every list-order key of `account`.
pub fn list_order_range(account: u64) -> KeyRange {
    let mut start = account.to_be_bytes().to_vec();
    start.push(b'O');
    let mut end = account.to_be_bytes().to_vec();
    end.push(b'O' + 1);
    KeyRange { start, end }
}

/// The idle-customer settings of `account` in `routing_settings`: the account (8) ‖
/// `b'I'`, beside [`designated`]'s `b'D'`.
pub fn idle_settings(account: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'I');
    k
}

/// The navigation menu of `account` (M4) in `routing_settings`: the account (8) ‖
/// `b'M'`.
pub fn navigation_menu(account: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'M');
    k
}

/// A customer's walk through the navigation menu in `routing_settings`: the account
/// (8) ‖ `b'W'` ‖ its (reserved) conversation (8). One account's walks are one range
/// ([`menu_walk_range`]).
pub fn menu_walk(account: u64, conversation: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'W');
    k.extend_from_slice(&conversation.to_be_bytes());
    k
}

/// Every menu-walk key of `account`.
pub fn menu_walk_range(account: u64) -> KeyRange {
    let mut start = account.to_be_bytes().to_vec();
    start.push(b'W');
    let mut end = account.to_be_bytes().to_vec();
    end.push(b'W' + 1);
    KeyRange { start, end }
}

/// The menu path of a conversation in `routing_settings`: the account (8) ‖ `b'P'` ‖
/// the conversation (8). Kept after the conversation closes (it is part of it).
pub fn menu_path(account: u64, conversation: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'P');
    k.extend_from_slice(&conversation.to_be_bytes());
    k
}

/// The account's spam-filter data in `routing_settings` (M6): the account (8) ‖ `b's'`
/// ‖ a kind byte ‖ the rest: [`SPAM_SETTINGS`] (nothing more), [`SPAM_TRASH`] ‖ the
/// conversation (8), [`SPAM_WHITELIST`] ‖ the customer key, [`SPAM_MUTE`] ‖ the agent
/// (4) ‖ the customer key. Each kind of one account is one range ([`spam_range`]).
fn spam_key(account: u64, kind: u8) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b's');
    k.push(kind);
    k
}

/// Kind byte of the spam-filter settings.
pub const SPAM_SETTINGS: u8 = 1;
/// Kind byte of a trash (or held) conversation.
pub const SPAM_TRASH: u8 = 2;
/// Kind byte of a whitelisted customer.
pub const SPAM_WHITELIST: u8 = 3;
/// Kind byte of a muted customer.
pub const SPAM_MUTE: u8 = 4;

/// The spam-filter settings of `account`.
pub fn spam_settings(account: u64) -> Vec<u8> {
    spam_key(account, SPAM_SETTINGS)
}

/// A conversation the filter holds or trashed.
pub fn trash(account: u64, conversation: u64) -> Vec<u8> {
    let mut k = spam_key(account, SPAM_TRASH);
    k.extend_from_slice(&conversation.to_be_bytes());
    k
}

/// A whitelisted customer.
pub fn whitelist(account: u64, customer: &kefu_wire::chat::CustomerId) -> Vec<u8> {
    let mut k = spam_key(account, SPAM_WHITELIST);
    push_customer(&mut k, customer);
    k
}

/// A customer `agent` muted.
pub fn mute(account: u64, agent: u32, customer: &kefu_wire::chat::CustomerId) -> Vec<u8> {
    let mut k = spam_key(account, SPAM_MUTE);
    k.extend_from_slice(&agent.to_be_bytes());
    push_customer(&mut k, customer);
    k
}

/// Every key of one kind (`SPAM_*`) of `account`'s spam-filter data.
pub fn spam_range(account: u64, kind: u8) -> KeyRange {
    KeyRange {
        start: spam_key(account, kind),
        end: spam_key(account, kind.saturating_add(1)),
    }
}

/// The first 16 bytes of an internal message key: account ‖ the pair's agents, lower
/// first (so both agents' messages to each other are one range).
pub fn internal_pair(account: u64, a: u32, b: u32) -> Vec<u8> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut k = account.to_be_bytes().to_vec();
    k.extend_from_slice(&lo.to_be_bytes());
    k.extend_from_slice(&hi.to_be_bytes());
    k
}

/// Key of an internal message in [`Cf::InternalMessages`].
pub fn internal_message(account: u64, a: u32, b: u32, id: u64) -> Vec<u8> {
    let mut k = internal_pair(account, a, b);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Key of an offline file in [`Cf::OfflineFiles`]: one account's files are one range
/// ([`account_prefix`]), in id order.
pub fn offline_file(account: u64, file: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.extend_from_slice(&file.to_be_bytes());
    k
}

/// Key of an agent's internal-chat client message id in [`Cf::ClientMsgs`]: `0x03`
/// after the account keeps it apart from agents' (`0x00`) and customers' (`0x01`,
/// `0x02`) conversation messages.
pub fn internal_client_msg(account: u64, agent: u32, client_msg_id: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(3);
    k.extend_from_slice(&agent.to_be_bytes());
    k.extend_from_slice(&client_msg_id.to_be_bytes());
    k
}

/// Key of an account's SMS balance in [`Cf::Sms`].
pub fn sms_balance(account: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'B');
    k
}

/// The balance of `account` in [`Cf::ValueAdded`]: the account (8) ‖ `b'B'`.
pub fn balance(account: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'B');
    k
}

/// Key of an SMS's record in [`Cf::Sms`].
pub fn sms_item(account: u64, sms: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'M');
    k.extend_from_slice(&sms.to_be_bytes());
    k
}

/// All SMS records of one account in [`Cf::Sms`], in SMS order.
pub fn sms_items(account: u64) -> KeyRange {
    KeyRange {
        start: sms_item(account, 0),
        end: {
            let mut k = account.to_be_bytes().to_vec();
            k.push(b'M' + 1);
            k
        },
    }
}

/// Key of "message `message` was forwarded to `agent`" in [`Cf::Sms`].
pub fn sms_forward(account: u64, message: u64, agent: u32) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'F');
    k.extend_from_slice(&message.to_be_bytes());
    k.extend_from_slice(&agent.to_be_bytes());
    k
}

/// Key of "reply `reply_id` to SMS `sms` was stored" in [`Cf::Sms`].
pub fn sms_reply(account: u64, sms: u64, reply_id: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'R');
    k.extend_from_slice(&sms.to_be_bytes());
    k.extend_from_slice(&reply_id.to_be_bytes());
    k
}

/// Key of an SMS waiting for the gateway in [`Cf::SmsOutbox`].
pub fn sms_outbox(account: u64, sms: u64) -> [u8; 16] {
    conversation(account, sms)
}

/// Parses an [`sms_outbox`] key into (account, sms).
pub fn parse_sms_outbox(key: &[u8]) -> Option<(u64, u64)> {
    let account: [u8; 8] = key.get(..8)?.try_into().ok()?;
    let sms: [u8; 8] = key.get(8..16)?.try_into().ok()?;
    (key.len() == 16).then(|| (u64::from_be_bytes(account), u64::from_be_bytes(sms)))
}

/// Ledger entry `entry` of `account` in [`Cf::ValueAdded`]: the account (8) ‖ `b'L'` ‖
/// entry `u64` BE (8).
pub fn ledger_entry(account: u64, entry: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'L');
    k.extend_from_slice(&entry.to_be_bytes());
    k
}

/// A value-added item of `account`: the account (8) ‖ `tag` ‖ `id` BE (8), or without
/// `id` for the per-account `b'A'` record.
pub fn value_added_item(account: u64, tag: u8, id: Option<u64>) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(tag);
    if let Some(id) = id {
        k.extend_from_slice(&id.to_be_bytes());
    }
    k
}

/// Part `part` of the broadcast parts stored under `staging` (`broadcast_records`):
/// the account (8) ‖ `b'P'` ‖ staging (8) ‖ part (4).
pub fn broadcast_part(account: u64, staging: u64, part: u32) -> Vec<u8> {
    let mut k = value_added_item(account, b'P', Some(staging));
    k.extend_from_slice(&part.to_be_bytes());
    k
}

/// Every part stored under `staging`.
pub fn broadcast_parts(account: u64, staging: u64) -> KeyRange {
    KeyRange {
        start: value_added_item(account, b'P', Some(staging)),
        end: value_added_item(account, b'P', Some(staging.saturating_add(1))),
    }
}

/// Every item of `account` with `tag`, in id order.
pub fn value_added_range(account: u64, tag: u8) -> KeyRange {
    let mut start = account.to_be_bytes().to_vec();
    start.push(tag);
    let mut end = account.to_be_bytes().to_vec();
    end.push(tag.saturating_add(1));
    KeyRange { start, end }
}

fn report_key(account: u64, tag: u8, day: u32, agent: u32) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(tag);
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(&agent.to_be_bytes());
    k
}

/// One agent's counts for one day in [`Cf::Reports`].
pub fn work_day(account: u64, day: u32, agent: u32) -> Vec<u8> {
    report_key(account, b'D', day, agent)
}

/// The counts of every agent for days `from..=to` in [`Cf::Reports`], by day then agent.
pub fn work_days(account: u64, from: u32, to: u32) -> KeyRange {
    KeyRange {
        start: report_key(account, b'D', from, 0),
        end: match to.checked_add(1) {
            Some(next) => report_key(account, b'D', next, 0),
            None => {
                let mut k = account.to_be_bytes().to_vec();
                k.push(b'D' + 1);
                k
            }
        },
    }
}

/// Parses a [`work_day`] key into (day, agent).
pub fn parse_work_day(key: &[u8]) -> Option<(u32, u32)> {
    let day: [u8; 4] = key.get(9..13)?.try_into().ok()?;
    let agent: [u8; 4] = key.get(13..17)?.try_into().ok()?;
    (key.len() == 17).then(|| (u32::from_be_bytes(day), u32::from_be_bytes(agent)))
}

/// "Conversation `conversation` is counted for `agent` on `day`" in [`Cf::Reports`].
pub fn work_seen_conversation(account: u64, day: u32, agent: u32, conversation: u64) -> Vec<u8> {
    let mut k = report_key(account, b'C', day, agent);
    k.extend_from_slice(&conversation.to_be_bytes());
    k
}

/// "Customer `customer` is counted for `agent` on `day`" in [`Cf::Reports`].
pub fn work_seen_customer(
    account: u64,
    day: u32,
    agent: u32,
    customer: &kefu_wire::chat::CustomerId,
) -> Vec<u8> {
    let mut k = report_key(account, b'U', day, agent);
    k.extend_from_slice(&self::customer(customer));
    k
}

/// Survey `survey` of `account` in [`Cf::Surveys`].
pub fn survey(account: u64, survey: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'V');
    k.extend_from_slice(&survey.to_be_bytes());
    k
}

/// Every survey of `account`, in number order.
pub fn surveys(account: u64) -> KeyRange {
    KeyRange {
        start: survey(account, 0),
        end: {
            let mut k = account.to_be_bytes().to_vec();
            k.push(b'V' + 1);
            k
        },
    }
}

/// The answer of contact `contact` to survey `survey` in [`Cf::Surveys`].
pub fn survey_answer(account: u64, survey: u64, contact: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'A');
    k.extend_from_slice(&survey.to_be_bytes());
    k.extend_from_slice(&contact.to_be_bytes());
    k
}

/// Every answer to survey `survey`, by contact number.
pub fn survey_answers(account: u64, survey: u64) -> KeyRange {
    KeyRange {
        start: survey_answer(account, survey, 0),
        end: match survey.checked_add(1) {
            Some(next) => survey_answer(account, next, 0),
            None => {
                let mut k = account.to_be_bytes().to_vec();
                k.push(b'A' + 1);
                k
            }
        },
    }
}

/// Key of the operator's sensitive-word list in [`Cf::Meta`].
pub const META_SENSITIVE_WORDS: &[u8] = b"sensitive_words";

/// Key of the epoch this data was last led at, in a pair ([`Cf::Meta`]).
pub const META_CLUSTER_EPOCH: &[u8] = b"cluster_epoch";

/// Every ledger entry of `account`, in entry order.
pub fn ledger_range(account: u64) -> KeyRange {
    let mut start = account.to_be_bytes().to_vec();
    start.push(b'L');
    let mut end = account.to_be_bytes().to_vec();
    end.push(b'L' + 1);
    KeyRange { start, end }
}

/// Parses an [`account`] key; `None` if it is not exactly 8 bytes.
pub fn parse_account(key: &[u8]) -> Option<u64> {
    let bytes: [u8; ACCOUNT_KEY_LEN] = key.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// Accounts with an id strictly greater than `after` (all accounts for `None`), in id order.
/// `None` when nothing can follow (`after == u64::MAX`).
pub fn accounts_after(after: Option<u64>) -> Option<KeyRange> {
    let first = match after {
        None => 0,
        Some(id) => id.checked_add(1)?,
    };
    Some(KeyRange {
        start: account(first).to_vec(),
        end: AFTER_ALL_KEYS.to_vec(),
    })
}

/// Key of an agent in [`Cf::Agents`].
pub fn agent(account: u64, agent: u32) -> [u8; ACCOUNT_ITEM_KEY_LEN] {
    account_item(account, agent)
}

/// Parses an [`agent`] key into `(account, agent)`.
pub fn parse_agent(key: &[u8]) -> Option<(u64, u32)> {
    parse_account_item(key)
}

/// Key of a role in [`Cf::Roles`].
pub fn role(account: u64, role: u32) -> [u8; ACCOUNT_ITEM_KEY_LEN] {
    account_item(account, role)
}

/// Parses a [`role`] key into `(account, role)`.
pub fn parse_role(key: &[u8]) -> Option<(u64, u32)> {
    parse_account_item(key)
}

/// Key of an agent's session in [`Cf::Sessions`].
pub fn session(account: u64, agent: u32) -> [u8; ACCOUNT_ITEM_KEY_LEN] {
    account_item(account, agent)
}

/// Parses a [`session`] key into `(account, agent)`.
pub fn parse_session(key: &[u8]) -> Option<(u64, u32)> {
    parse_account_item(key)
}

/// Key of an account's settings in [`Cf::AccountSettings`].
pub fn account_settings(account: u64) -> [u8; ACCOUNT_KEY_LEN] {
    account.to_be_bytes()
}

/// Key of an agent's profile in [`Cf::AgentProfiles`].
pub fn agent_profile(account: u64, agent: u32) -> [u8; ACCOUNT_ITEM_KEY_LEN] {
    account_item(account, agent)
}

/// Key of an agent's preferences in [`Cf::AgentPrefs`].
pub fn agent_prefs(account: u64, agent: u32) -> [u8; ACCOUNT_ITEM_KEY_LEN] {
    account_item(account, agent)
}

/// Key of an account's reminders in [`Cf::Reminders`].
pub fn reminders(account: u64) -> [u8; ACCOUNT_KEY_LEN] {
    account.to_be_bytes()
}

/// Key of the token an agent holds in [`Cf::AgentTokens`].
pub fn agent_token(account: u64, agent: u32) -> [u8; ACCOUNT_ITEM_KEY_LEN] {
    account_item(account, agent)
}

/// Key of a token in [`Cf::Tokens`]: its serial; `None` if empty or over [`MAX_KEY_LEN`].
pub fn token(serial: &str) -> Option<&[u8]> {
    let bytes = serial.as_bytes();
    (!bytes.is_empty() && bytes.len() <= MAX_KEY_LEN).then_some(bytes)
}

/// A key of the `web` column family: the account (8) ‖ `tag` ‖ `rest` (see
/// `store/web_records.rs` for the tags).
pub fn web(account: u64, tag: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + rest.len());
    k.extend_from_slice(&account.to_be_bytes());
    k.push(tag);
    k.extend_from_slice(rest);
    k
}

/// The customer key (see the module doc): prefix-free, ordered by kind then id.
pub fn customer(c: &kefu_wire::chat::CustomerId) -> Vec<u8> {
    let mut key = Vec::with_capacity(customer_len(c));
    push_customer(&mut key, c);
    key
}

/// The length of [`customer`]'s encoding of `c`.
fn customer_len(c: &kefu_wire::chat::CustomerId) -> usize {
    match c {
        kefu_wire::chat::CustomerId::Identified(id) => 2 + id.len().min(usize::from(u8::MAX)),
        kefu_wire::chat::CustomerId::Visitor(v) => 1 + v.len(),
    }
}

/// Appends [`customer`]'s encoding of `c` to `key` (no key of its own: the message
/// path builds two keys a message around it).
fn push_customer(key: &mut impl Extend<u8>, c: &kefu_wire::chat::CustomerId) {
    match c {
        kefu_wire::chat::CustomerId::Identified(id) => {
            let bytes = id.as_bytes();
            let len = u8::try_from(bytes.len()).unwrap_or(u8::MAX);
            key.extend([1, len]);
            key.extend(
                bytes
                    .get(..usize::from(len))
                    .unwrap_or(bytes)
                    .iter()
                    .copied(),
            );
        }
        kefu_wire::chat::CustomerId::Visitor(v) => {
            key.extend([2]);
            key.extend(v.iter().copied());
        }
    }
}

/// Key of a conversation in [`Cf::Conversations`].
pub fn conversation(account: u64, conversation: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&account.to_be_bytes());
    key[8..].copy_from_slice(&conversation.to_be_bytes());
    key
}

/// Key of a message in [`Cf::Messages`].
pub fn message(account: u64, customer: &kefu_wire::chat::CustomerId, id: u64) -> Vec<u8> {
    message_buf(account, customer, id).to_vec()
}

/// A key built on the stack: every key fits in [`MAX_KEY_LEN`] bytes.
pub type KeyBuf = SmallVec<[u8; MAX_KEY_LEN]>;

/// [`message`] on the stack: the message path writes one a message, with no allocation.
pub fn message_buf(account: u64, customer: &kefu_wire::chat::CustomerId, id: u64) -> KeyBuf {
    let mut key = KeyBuf::new();
    key.extend_from_slice(&account.to_be_bytes());
    push_customer(&mut key, customer);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// All messages of one customer of one account: `[prefix, prefix ‖ 0xff…)`.
pub fn customer_messages(account: u64, customer: &kefu_wire::chat::CustomerId) -> KeyRange {
    let mut start = account.to_be_bytes().to_vec();
    start.extend_from_slice(&self::customer(customer));
    let mut end = start.clone();
    end.extend_from_slice(&[0xff; 9]);
    KeyRange { start, end }
}

/// Key of a contact in [`Cf::Contacts`].
pub fn contact(account: u64, no: u64) -> [u8; 16] {
    conversation(account, no)
}

/// The unfinished import chunk of `account` in `crm_accounts`: the account (8) ‖ `b'I'`.
pub fn import_job(account: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(b'I');
    k
}

/// Contacts of one account numbered in `first..end`.
pub fn contact_numbers(account: u64, first: u64, end: u64) -> KeyRange {
    KeyRange {
        start: contact(account, first).to_vec(),
        end: contact(account, end.max(first)).to_vec(),
    }
}

/// Contacts of one account with a number above `after`.
pub fn contacts_after(account: u64, after: u64) -> KeyRange {
    let mut range = account_prefix(account);
    if let Some(next) = after.checked_add(1) {
        range.start = contact(account, next).to_vec();
    } else {
        range.start = range.end.clone();
    }
    range
}

/// Key of a quick-reply list in [`Cf::QuickReplies`]: agent 0 is the account's shared list.
pub fn quick_replies(account: u64, agent: u32) -> [u8; ACCOUNT_ITEM_KEY_LEN] {
    account_item(account, agent)
}

/// Key of an account's ticket key in [`Cf::TicketKeys`].
pub fn ticket_key(account: u64) -> [u8; ACCOUNT_KEY_LEN] {
    account.to_be_bytes()
}

/// Key of a client message id in [`Cf::ClientMsgs`]; `agent` None means the customer sent it.
pub fn client_msg(
    account: u64,
    agent: Option<u32>,
    customer: &kefu_wire::chat::CustomerId,
    client_msg_id: u64,
) -> Vec<u8> {
    let mut key = Vec::with_capacity(16 + customer_len(customer).max(5));
    key.extend_from_slice(&account.to_be_bytes());
    match agent {
        Some(a) => {
            key.push(0);
            key.extend_from_slice(&a.to_be_bytes());
        }
        None => push_customer(&mut key, customer),
    }
    key.extend_from_slice(&client_msg_id.to_be_bytes());
    key
}

/// Every key of one account in an account-prefixed column family ([`Cf::Agents`],
/// [`Cf::Roles`], [`Cf::Sessions`]): start = `account` BE, end = `account + 1` BE, or
/// [`AFTER_ALL_KEYS`] for the last possible account.
pub fn account_prefix(account: u64) -> KeyRange {
    let end = match account.checked_add(1) {
        Some(next) => next.to_be_bytes().to_vec(),
        None => AFTER_ALL_KEYS.to_vec(),
    };
    KeyRange {
        start: account.to_be_bytes().to_vec(),
        end,
    }
}

fn account_item(account: u64, item: u32) -> [u8; ACCOUNT_ITEM_KEY_LEN] {
    let mut key = [0u8; ACCOUNT_ITEM_KEY_LEN];
    let (hi, lo) = key.split_at_mut(ACCOUNT_KEY_LEN);
    hi.copy_from_slice(&account.to_be_bytes());
    lo.copy_from_slice(&item.to_be_bytes());
    key
}

fn parse_account_item(key: &[u8]) -> Option<(u64, u32)> {
    let (hi, lo) = key.split_first_chunk::<ACCOUNT_KEY_LEN>()?;
    let lo: [u8; 4] = lo.try_into().ok()?;
    Some((u64::from_be_bytes(*hi), u32::from_be_bytes(lo)))
}

/// Lower-case hex of a key, for error messages and logs.
pub fn hex(key: &[u8]) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(key.len().saturating_mul(2));
    for byte in key {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const U64S: [u64; 9] = [
        0,
        1,
        0xff,
        0x100,
        0xffff_ffff,
        0x1_0000_0000,
        1 << 56,
        u64::MAX - 1,
        u64::MAX,
    ];
    const U32S: [u32; 6] = [0, 1, 1001, 0xff, 0x100, u32::MAX];

    #[test]
    fn account_keys_sort_numerically() {
        for a in U64S {
            for b in U64S {
                assert_eq!(a.cmp(&b), account(a).cmp(&account(b)), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn account_item_keys_sort_by_account_then_item() {
        for encode in [agent, role, session] {
            for (a1, i1) in U64S.iter().flat_map(|a| U32S.iter().map(move |i| (*a, *i))) {
                for (a2, i2) in U64S.iter().flat_map(|a| U32S.iter().map(move |i| (*a, *i))) {
                    assert_eq!(
                        (a1, i1).cmp(&(a2, i2)),
                        encode(a1, i1).cmp(&encode(a2, i2)),
                        "({a1},{i1}) vs ({a2},{i2})"
                    );
                }
            }
        }
    }

    #[test]
    fn keys_round_trip() {
        for a in U64S {
            assert_eq!(parse_account(&account(a)), Some(a));
            for i in U32S {
                assert_eq!(parse_agent(&agent(a, i)), Some((a, i)));
                assert_eq!(parse_role(&role(a, i)), Some((a, i)));
                assert_eq!(parse_session(&session(a, i)), Some((a, i)));
            }
        }
    }

    #[test]
    fn parse_rejects_wrong_lengths() {
        let bytes = [7u8; 16];
        for len in 0..bytes.len() {
            let key = &bytes[..len];
            assert_eq!(
                parse_account(key).is_some(),
                len == ACCOUNT_KEY_LEN,
                "len {len}"
            );
            assert_eq!(
                parse_agent(key).is_some(),
                len == ACCOUNT_ITEM_KEY_LEN,
                "len {len}"
            );
        }
    }

    #[test]
    fn account_prefix_covers_exactly_one_account() {
        for a in U64S {
            let range = account_prefix(a);
            for b in U64S {
                for i in U32S {
                    let key = agent(b, i);
                    let inside = key.as_slice() >= range.start.as_slice()
                        && key.as_slice() < range.end.as_slice();
                    assert_eq!(inside, a == b, "account {a}, key of ({b},{i})");
                }
            }
        }
    }

    #[test]
    fn accounts_after_excludes_the_cursor() {
        assert_eq!(accounts_after(Some(u64::MAX)), None);
        for after in U64S {
            let Some(range) = accounts_after(Some(after)) else {
                continue;
            };
            for a in U64S {
                let key = account(a);
                let inside = key.as_slice() >= range.start.as_slice()
                    && key.as_slice() < range.end.as_slice();
                assert_eq!(inside, a > after, "after {after}, account {a}");
            }
        }
        let all = accounts_after(None).expect("unbounded start");
        assert!(account(0).as_slice() >= all.start.as_slice());
        assert!(account(u64::MAX).as_slice() < all.end.as_slice());
    }

    #[test]
    fn after_all_keys_bounds_every_key() {
        assert!(META_SCHEMA_VERSION.len() <= MAX_KEY_LEN);
        assert!(META_SCHEMA_VERSION < AFTER_ALL_KEYS.as_slice());
        assert!(agent(u64::MAX, u32::MAX).as_slice() < AFTER_ALL_KEYS.as_slice());
    }

    #[test]
    fn cf_names_are_stable_and_unique() {
        let names: Vec<_> = Cf::ALL.iter().map(|cf| cf.name()).collect();
        assert_eq!(
            names,
            [
                "meta",
                "accounts",
                "agents",
                "roles",
                "sessions",
                "account_settings",
                "agent_profiles",
                "tokens",
                "agent_tokens",
                "conversations",
                "messages",
                "client_msgs",
                "counters",
                "customer_keys",
                "routing_settings",
                "contacts",
                "crm_accounts",
                "quick_replies",
                "ticket_keys",
                "open_conversations",
                "agent_prefs",
                "reminders",
                "idle_conversations",
                "internal_messages",
                "sms",
                "sms_outbox",
                "offline_files",
                "value_added",
                "web",
                "reports",
                "surveys",
            ]
        );
        for (i, cf) in Cf::ALL.into_iter().enumerate() {
            assert_eq!(cf.index(), i);
            assert_eq!(Cf::from_name(cf.name()), Some(cf));
        }
        assert_eq!(Cf::from_name("default"), None);
    }

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0x00, 0x0a, 0xff]), "000aff");
    }
}
