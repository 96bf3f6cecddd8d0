//! Frame bodies: one version byte, then the postcard encoding of the type.
//!
//! Postcard is not self-describing, so the rules of evolution are strict
//! (`wire/PROTOCOL.md`, "Evolving the protocol"): enum variants are only
//! appended, a struct is never edited in place, and a change of shape is a
//! new variant or a new body version.

use crate::chat::{
    AccountPresenceMode, Alert, Channel, ChoiceList, ConversationInfo, CustomerId, CustomerSession,
    DesignatedSettings, Entry, MessageBody, MessageInfo, Party, RoutingConfig, Signal,
};
use crate::crm::{
    ContactEdit, ContactInfo, ContactPage, ContactQuery, ContactState, GroupEdit, GroupNode,
    HistoryPage, HistoryQuery, ImportReport, TagEdit, TagInfo,
};
use crate::error::{ErrorCode, WireError};
use crate::frame::{put_frame, FrameKind, HEADER_LEN};
use bytes::BytesMut;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// A type carried as the body of one frame kind.
pub trait Body: Serialize + DeserializeOwned {
    /// The frame kind this body travels in.
    const KIND: FrameKind;
    /// The body format version written by this build.
    const VERSION: u8 = 1;

    /// Encodes `[version][postcard]`.
    fn encode(&self) -> Vec<u8> {
        let out = vec![Self::VERSION];
        // Serialising our own types into a Vec cannot fail: no maps with
        // non-string keys, no sequences of unknown length.
        match postcard::to_extend(self, out) {
            Ok(v) => v,
            Err(_) => vec![Self::VERSION],
        }
    }

    /// Decodes a body, refusing unknown versions and trailing bytes.
    fn decode(body: &[u8]) -> Result<Self, WireError> {
        let kind = Self::KIND as u16;
        let (&version, rest) = body.split_first().ok_or(WireError::EmptyBody(kind))?;
        if version != Self::VERSION {
            return Err(WireError::UnknownBodyVersion { kind, version });
        }
        let (value, left) =
            postcard::take_from_bytes::<Self>(rest).map_err(|e| WireError::BadBody {
                kind,
                reason: e.to_string(),
            })?;
        if !left.is_empty() {
            return Err(WireError::TrailingBytes {
                kind,
                extra: left.len(),
            });
        }
        Ok(value)
    }

    /// Appends a whole frame carrying this body to `out`: the same bytes as
    /// `put_frame(out, KIND, correlation, &self.encode())`, serialised in place
    /// (no body of its own: two frames a chat message go out this way).
    fn write_frame(&self, correlation: u32, out: &mut BytesMut) {
        let start = out.len();
        put_frame(out, Self::KIND, correlation, &[Self::VERSION]);
        let written = postcard::serialize_with_flavor(self, AppendTo(out))
            .ok()
            .and_then(|()| u32::try_from(out.len().saturating_sub(start + HEADER_LEN)).ok());
        match written {
            Some(len) => {
                if let Some(field) = out.get_mut(start..start + 4) {
                    field.copy_from_slice(&len.to_be_bytes());
                }
            }
            None => {
                // As `encode` does when serialising fails (it cannot for our types).
                out.truncate(start);
                put_frame(out, Self::KIND, correlation, &[Self::VERSION]);
            }
        }
    }
}

/// A postcard output appending to a frame buffer.
struct AppendTo<'a>(&'a mut BytesMut);

impl postcard::ser_flavors::Flavor for AppendTo<'_> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.extend_from_slice(&[data]);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// First frame of every connection, client → server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Must be [`crate::MAGIC`].
    pub magic: u32,
    /// Lowest protocol version the client speaks.
    pub min_version: u16,
    /// Highest protocol version the client speaks.
    pub max_version: u16,
    /// Free-form client name and version, for logs (at most 64 bytes).
    pub client: String,
}

/// The server's answer to a good `Hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The version chosen: the highest both sides speak.
    pub version: u16,
    /// Server name and version.
    pub server: String,
    /// Maximum frame body the server accepts.
    pub max_frame: u32,
    /// How often the client should send `Ping` when otherwise idle.
    pub heartbeat_ms: u32,
    /// After this long without any frame from the client, the server closes.
    pub idle_timeout_ms: u32,
}

/// A typed error: the answer to a failed request (correlation set) or the
/// reason a connection is being closed (correlation 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable error code.
    pub code: ErrorCode,
    /// Human-readable detail; never contains secrets.
    pub message: String,
}

/// Cumulative acknowledgement: every push numbered `<= up_to` was processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushAck {
    /// Highest push sequence number processed.
    pub up_to: u64,
}

/// Heartbeat request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    /// Echoed in the `Pong`.
    pub nonce: u64,
}

/// Heartbeat answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    /// The nonce of the `Ping` answered.
    pub nonce: u64,
}

/// The server is closing this connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoAway {
    /// Why (e.g. `SESSION_REPLACED`, `SHUTTING_DOWN`, `IDLE_TIMEOUT`).
    pub code: ErrorCode,
    /// Human-readable detail.
    pub message: String,
}

/// The server is closing this connection and names the appliance to use instead
/// (a new kind rather than an edited [`GoAway`]: a change of shape is a new kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoAwayTo {
    /// Why (`ACCOUNT_MOVED`: the account is served elsewhere).
    pub code: ErrorCode,
    /// Human-readable detail.
    pub message: String,
    /// Where to connect instead: `ip:port` of the client listener (at most
    /// [`GoAwayTo::MAX_ADDRESS`] bytes; a client refuses a longer one).
    pub address: String,
}

impl GoAwayTo {
    /// The longest address a client accepts.
    pub const MAX_ADDRESS: usize = 255;
}

/// An account's service plan; it fixes the contact limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Plan {
    /// 100,000 contacts.
    Gold,
    /// 25,000 contacts.
    Silver,
}

/// An agent's presence as others see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Presence {
    /// Working; may be given conversations automatically.
    Online,
    /// Away from the desk.
    Away,
    /// Busy; no automatic conversations.
    Busy,
    /// Not connected (or appearing offline).
    Offline,
}

/// A request, client → server. Variants are only appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Log in as `agent@account` with a password (slow by design; returns a session token).
    Login {
        /// Account number.
        account: u64,
        /// Agent number (1001 is the super admin).
        agent: u32,
        /// The agent's password.
        password: String,
        /// A hardware-token code, where the account's security level asks for one.
        otp: Option<String>,
    },
    /// Log in again cheaply with a token from an earlier `Login`.
    Resume {
        /// Account number.
        account: u64,
        /// Agent number.
        agent: u32,
        /// The session token.
        token: [u8; 16],
    },
    /// End the session and revoke its token.
    Logout,
    /// Set the logged-in agent's presence; pushed to the account's other agents.
    SetPresence {
        /// The new presence.
        presence: Presence,
    },
    /// Add an agent to the logged-in agent's account (system settings permission).
    AddAgent {
        /// New agent number (1001..=9999).
        agent: u32,
        /// Display name.
        nickname: String,
        /// Role id; the default agent role when absent.
        role: Option<u32>,
    },
    /// Set *another* agent's password; needs the super password and system settings.
    SetAgentPassword {
        /// The agent whose password changes.
        agent: u32,
        /// Its new password.
        new_password: String,
        /// The account's super password.
        super_password: String,
    },
    /// Change one's own password, proving the old one.
    ChangeOwnPassword {
        /// Current password.
        old_password: String,
        /// New password.
        new_password: String,
    },
    /// Change the account's super password (agent 1001 only).
    ChangeSuperPassword {
        /// Current super password.
        old_super_password: String,
        /// New super password.
        new_super_password: String,
    },
    /// List the agents of the logged-in agent's account.
    ListAgents,
    /// Describe the current session.
    WhoAmI,
    /// Admin socket only: create an account with agent 1001.
    AdminCreateAccount {
        /// Account number.
        account: u64,
        /// Enterprise name.
        name: String,
        /// Plan.
        plan: Plan,
        /// End of the service period, unix seconds.
        expires_at: i64,
        /// Agent 1001's initial password.
        password_1001: String,
        /// The account's super password.
        super_password: String,
    },
    /// Admin socket only: list accounts in number order, after a cursor.
    AdminListAccounts {
        /// Start after this account number.
        after: Option<u64>,
        /// At most this many (capped by the server).
        limit: u32,
    },
    /// Admin socket only: one account's details.
    AdminShowAccount {
        /// Account number.
        account: u64,
    },
    /// Admin socket only: add an agent to an account.
    AdminAddAgent {
        /// Account number.
        account: u64,
        /// New agent number.
        agent: u32,
        /// Display name.
        nickname: String,
        /// Role id; the default agent role when absent.
        role: Option<u32>,
    },
    /// Admin socket only: set an agent's password (operator authority).
    AdminSetAgentPassword {
        /// Account number.
        account: u64,
        /// Agent number.
        agent: u32,
        /// New password.
        new_password: String,
    },
    /// Admin socket only: list an account's agents.
    AdminListAgents {
        /// Account number.
        account: u64,
    },
    /// Admin socket only: per-shard counters.
    AdminStats,
    /// The account's roles (system settings).
    ListRoles,
    /// Create a custom role (system settings).
    CreateRole {
        /// Display name.
        name: String,
        /// Permission bits (bit i = permission i+1).
        permissions: u16,
    },
    /// Rename a role and replace its permissions (system settings); applies at once.
    UpdateRole {
        /// Role id.
        role: u32,
        /// New display name.
        name: String,
        /// New permission bits.
        permissions: u16,
    },
    /// Delete a custom role no agent holds (system settings).
    DeleteRole {
        /// Role id.
        role: u32,
    },
    /// Give an agent another role (system settings); applies at once.
    SetAgentRole {
        /// Agent number.
        agent: u32,
        /// Role id.
        role: u32,
    },
    /// An agent's profile (any logged-in agent).
    GetAgentProfile {
        /// Agent number.
        agent: u32,
    },
    /// Replace an agent's profile (one's own, or any with system settings).
    SetAgentProfile {
        /// Agent number.
        agent: u32,
        /// The new profile.
        profile: AgentProfile,
    },
    /// Set the account's security level (agent 1001 only).
    SetSecurityLevel {
        /// New level; `High` needs a token bound to 1001.
        level: SecurityLevel,
    },
    /// The account's security level and the asking agent's token, if any.
    GetSecurity,
    /// Bind a hardware token to an agent, proving possession with a current code (system settings).
    BindToken {
        /// Agent number.
        agent: u32,
        /// Token serial number.
        serial: String,
        /// A current six-digit code.
        code: String,
    },
    /// Unbind an agent's token (system settings).
    UnbindToken {
        /// Agent number.
        agent: u32,
    },
    /// Re-synchronise a token's clock with two consecutive codes (the token bound to the asking agent).
    CalibrateToken {
        /// Token serial number.
        serial: String,
        /// The code shown now.
        code: String,
        /// The code shown next.
        next_code: String,
    },
    /// Admin socket only: run a request as the account's super admin (operator authority).
    /// Build it with [`Request::on_account`].
    AdminOnAccount {
        /// Account number.
        account: u64,
        /// The inner request's encoded body (`Body::encode`). Carried as bytes, not as a
        /// nested `Request`, so that decoding is never recursive: a nested value could
        /// otherwise be nested half a million times in one frame and exhaust the stack.
        /// Must not be an `Admin*` request, `Login`, `Resume` or `Logout`.
        request: Vec<u8>,
    },
    /// Admin socket only: import token seeds from a vendor file; all or nothing.
    AdminImportTokens {
        /// File format.
        format: TokenFileFormat,
        /// The file's bytes.
        data: Vec<u8>,
        /// Pre-shared key (hex) for encrypted PSKC files.
        key_hex: Option<String>,
        /// Password for PSKC files with a PBKDF2-derived key.
        password: Option<String>,
    },
    /// Admin socket only: unlock a token locked after too many failures.
    AdminUnlockToken {
        /// Token serial number.
        serial: String,
    },
    /// Admin socket only: clear an agent's failed-login throttling.
    AdminUnlockAgent {
        /// Account number.
        account: u64,
        /// Agent number.
        agent: u32,
    },
    /// A customer identified by the enterprise's backend logs in. `signature` is
    /// HMAC-SHA256, under the account's customer key, of
    /// `account (u64 BE) ‖ expires_at (i64 BE) ‖ customer (UTF-8)`.
    CustomerLogin {
        /// Account number.
        account: u64,
        /// The enterprise's id of the customer (1..=64 bytes).
        customer: String,
        /// When the signature expires, unix seconds.
        expires_at: i64,
        /// The backend's signature.
        signature: [u8; 32],
        /// Where the customer connects from.
        channel: Channel,
    },
    /// An anonymous visitor logs in, with the token it was given last time, if any.
    VisitorLogin {
        /// Account number.
        account: u64,
        /// A visitor token from an earlier login (keeps the same visitor id).
        token: Option<[u8; 32]>,
        /// Where the visitor connects from.
        channel: Channel,
    },
    /// Customer: open a conversation (or continue the open one).
    OpenConversation {
        /// How to route it.
        entry: Entry,
    },
    /// Send a message in a conversation; answered once it is stored.
    SendMessage {
        /// The conversation.
        conversation: u64,
        /// Chosen by the sender, unique per sender: a retry with the same id is stored once.
        client_msg_id: u64,
        /// What it says.
        body: MessageBody,
    },
    /// Agent: set the automatic-accept cap (0 = off). Only while online.
    SetAutoAccept {
        /// Most conversations served at once before new ones queue.
        cap: u16,
    },
    /// Agent: the queue entries this agent may see.
    ListQueue,
    /// Agent: the conversations this agent serves.
    ListConversations,
    /// Agent: take a queued conversation; answered with the customer's recent history.
    AcceptConversation {
        /// The conversation.
        conversation: u64,
    },
    /// Agent or customer: close a conversation.
    CloseConversation {
        /// The conversation.
        conversation: u64,
    },
    /// Admin socket only: make a new customer-signing key for an account (the old one stops working).
    AdminRotateCustomerKey {
        /// Account number.
        account: u64,
    },
    /// Agent: hand a conversation it serves to another agent. Assigned at once if the
    /// target can auto-accept; otherwise it waits in the target's queue and fails back
    /// to the sender if not taken within the transfer timeout.
    TransferConversation {
        /// The conversation.
        conversation: u64,
        /// The receiving agent.
        to_agent: u32,
    },
    /// Agent with permission 2: take a conversation another agent serves, after the
    /// client confirmed it (`confirmed: false` only asks whether it is possible).
    GrabConversation {
        /// The conversation.
        conversation: u64,
        /// The agent confirmed the grab.
        confirmed: bool,
    },
    /// The messages of a conversation with an id above `after`, oldest first: how a
    /// client that reconnects reads what it missed (it keeps the highest id it saw).
    ConversationMessages {
        /// The conversation.
        conversation: u64,
        /// Only messages with a larger id.
        after: u64,
        /// At most this many (capped at 500).
        limit: u16,
    },
    /// The account's routing settings (any logged-in agent).
    GetRoutingSettings,
    /// Replace the account's routing settings (permission 12, business settings).
    SetRoutingSettings {
        /// The new settings.
        settings: RoutingConfig,
    },
    /// Customer, after `Alert::ChooseAgain`: choose another agent or group (§7.15).
    Reselect {
        /// The conversation.
        conversation: u64,
        /// The chosen agent (`Entry::Agent`) or group (`Entry::Group`), or `Auto`.
        entry: Entry,
    },
    /// Agent: open a conversation with a customer (§3.9).
    InitiateConversation {
        /// The customer.
        customer: CustomerId,
        /// Its channel.
        channel: Channel,
    },
    /// Agent: log out choosing what happens to its conversations (§3.12): closed, or
    /// kept for it (nobody else may take them) until it logs in again.
    LogoutWith {
        /// Keep the conversations.
        keep_conversations: bool,
    },
    /// Agent: store a contact (R1–R3). The asking agent owns it.
    CreateContact {
        /// The customer.
        customer: CustomerId,
        /// Friend, stranger or blacklisted (not pending: use `RequestContact`).
        state: ContactState,
        /// Its profile.
        edit: ContactEdit,
    },
    /// Agent: one contact.
    GetContact {
        /// The customer.
        customer: CustomerId,
    },
    /// Agent: change a contact's profile, groups or tags.
    UpdateContact {
        /// The customer.
        customer: CustomerId,
        /// What changes.
        edit: ContactEdit,
    },
    /// Agent: move a contact between friend, stranger and blacklist.
    SetContactState {
        /// The customer.
        customer: CustomerId,
        /// The new state (not pending).
        state: ContactState,
    },
    /// Agent with permission 7: delete contacts (at most 1,000 per request).
    DeleteContacts {
        /// The customers.
        customers: Vec<CustomerId>,
    },
    /// Agent: search the contacts it may see (R6).
    SearchContacts(ContactQuery),
    /// Agent: its "recently contacted" virtual group (R9), newest first.
    RecentContacts {
        /// Entries to skip.
        offset: u32,
        /// Entries to return (1..=100).
        limit: u16,
    },
    /// Agent: whether each of up to 30 customers is online (R7).
    ContactsOnline {
        /// The customers.
        customers: Vec<CustomerId>,
    },
    /// Agent: the account's tags.
    ListTags,
    /// Agent: create, rename, recolour or delete a tag (R8).
    EditTags(TagEdit),
    /// Agent: the account's contact groups, as a two-level tree.
    ListGroups,
    /// Agent with permission 8: change the group tree (R9).
    EditGroups(GroupEdit),
    /// Agent with permission 6: the next chunk (at most 256 KiB) of a CSV import; the
    /// import ends with the chunk marked `last`. One import per agent at a time: a chunk
    /// marked `first` starts a new one, dropping an unfinished one.
    ImportContacts {
        /// Bytes of the file, in order.
        chunk: Vec<u8>,
        /// This is the start of the file.
        first: bool,
        /// This is the end of the file.
        last: bool,
    },
    /// Agent with permission 6: the contacts as CSV that imports back identically, in
    /// pages of contact numbers above `after` (0 for the first page, which carries the
    /// header line).
    ExportContacts {
        /// Continue after this cursor (`next_after` of the previous page).
        after: u64,
        /// At most this many contacts (1..=5,000).
        limit: u32,
    },
    /// Agent: a customer's history with the account (H1–H3).
    History(HistoryQuery),
    /// Agent: ask a customer to become a friend (R4); the contact is pending until the
    /// customer answers. At most 1,000 additions a day per account.
    RequestContact {
        /// The customer (by id; an e-mail address is an id too).
        customer: CustomerId,
        /// A note shown to the customer.
        note: String,
    },
    /// Customer: answer the account's friend request.
    AnswerContactRequest {
        /// Accept (become a friend) or decline.
        accept: bool,
    },
    /// Customer: add the account as a friend (M7), answering its verification question
    /// when it has one.
    AddAccount {
        /// The answer (empty when the account asks none).
        answer: String,
    },
    /// Agent: the account's contact settings (M7).
    GetContactSettings,
    /// Agent with permission 12: replace the contact settings (M7).
    SetContactSettings {
        /// The new settings.
        settings: crate::crm::ContactSettings,
    },
    /// Agent: its personal quick replies and the account's shared ones (M5).
    ListQuickReplies,
    /// Agent: replace its personal quick replies (`shared: false`), or, with permission
    /// 1, the account's shared ones (`shared: true`). Order is display order.
    SetQuickReplies {
        /// Which list.
        shared: bool,
        /// The new list (at most 100).
        replies: Vec<QuickReply>,
    },
    /// Agent with permission 9: per-agent service figures for conversations opened in
    /// `[from, until)` (unix seconds).
    GetAnalytics {
        /// Start, unix seconds.
        from: i64,
        /// End (excluded), unix seconds.
        until: i64,
    },
    /// Agent: a short-lived ticket to enter one module of the web account centre, which
    /// needs the module's permission (13 account info, 14 enterprise space, 15
    /// campaigns, 16 account-centre configuration).
    AccountCentreTicket {
        /// The module.
        module: AccountCentreModule,
    },
    /// Agent with permission 10: send a message to contacts (V1): every contact in the
    /// groups plus the customers named. At security level medium or high it needs the
    /// agent's current token code.
    Broadcast {
        /// Contact groups.
        groups: Vec<u32>,
        /// Customers named one by one.
        customers: Vec<CustomerId>,
        /// The message.
        body: MessageBody,
        /// A current hardware-token code (security level medium or high).
        otp: Option<String>,
    },
    /// The conversation's customer, or the agent it is assigned to: relay an ephemeral
    /// signal (typing, shake, call signalling) to the other side. Never stored; pushed
    /// if the other side is connected now, dropped otherwise.
    Signal {
        /// The conversation.
        conversation: u64,
        /// What to relay.
        signal: Signal,
    },
    /// Agent with permission 12: set how the account shows its presence (§7.14).
    SetAccountPresenceMode {
        /// The new mode.
        mode: AccountPresenceMode,
    },
    /// Customer or agent: the account's presence as customers see it.
    GetAccountPresence,
    /// Admin socket only: the daemon's clock, and whether the operator may move it
    /// (`[test] clock_control`, PROTOCOL.md section 19).
    AdminClockShow,
    /// Admin socket only, test mode only: move the daemon's clock forward to `unix_ms`
    /// (never back).
    AdminClockSet {
        /// The new time, unix milliseconds; not before the clock's current time.
        unix_ms: i64,
    },
    /// Admin socket only, test mode only: move the daemon's clock forward by `ms`.
    AdminClockAdvance {
        /// Milliseconds to add; not negative.
        ms: i64,
    },
    /// Logged-in agent or customer: make this session resumable (PROTOCOL.md section
    /// 6.1). If its connection goes other than by `Logout` or a newer login, the session
    /// waits detached for a new connection to take it over with `ResumeSession`,
    /// keeping the pushes not yet acknowledged. Sent again, a new token replaces the old.
    EnableResume,
    /// Before login: take over a detached session (PROTOCOL.md section 6.1) and receive
    /// the pushes it kept after `last_ack`.
    ResumeSession {
        /// The token `ResumeEnabled` gave.
        token: ResumeToken,
        /// The highest push `seq` the client processed on the session's last connection.
        last_ack: u64,
    },
    /// Any logged-in agent: the daemon's clock, so a client can measure its own
    /// clock's skew (`kefuctl diagnose`, PROTOCOL.md section 20.3). Answered `Clock`.
    GetServerTime,
    /// Admin socket only: the daemon's metrics as Prometheus text exposition (format
    /// 0.0.4; PROTOCOL.md section 20.1). Answered `Metrics`.
    AdminMetrics,
    /// Admin socket only: check the storage now (a synced write to the store, the free
    /// space of the data directory; PROTOCOL.md section 20.3). Answered `StorageCheck`.
    AdminCheckStorage,
    /// Admin socket only: delete an account and everything of it (feature E6,
    /// PROTOCOL.md section 20.2): every key of every column family, the hardware tokens
    /// bound to its agents; its sessions end. Answered `AccountDeleted`.
    AdminDeleteAccount {
        /// The account to delete.
        account: u64,
    },
    /// The account's designated-agent settings (any logged-in agent; §7.15).
    GetDesignatedAgent,
    /// Replace the designated-agent settings (permission 12, business settings).
    SetDesignatedAgent {
        /// The new settings.
        settings: DesignatedSettings,
    },
    /// Customer: what it may choose from before it opens a conversation (§7.15, §10.7.1).
    DesignatedChoices,
    /// Admin socket only: take an online, consistent backup of the database into the
    /// backup directory (`[storage] backup_dir`, PROTOCOL.md section 21) while serving.
    AdminBackupCreate,
    /// Admin socket only: the backups in the backup directory, oldest first.
    AdminBackupList,
    /// Admin socket only: check one backup: every file present with its recorded size,
    /// then restored into a scratch directory and every key of every column family
    /// read back with its checksums verified.
    AdminBackupVerify {
        /// The backup's number (`BackupInfo::backup_id`).
        backup_id: u32,
    },
    /// Agent: it has read the customer's messages of a conversation it serves (C15,
    /// §3.10): the unread count and the new-message flag clear; the agent's other
    /// connections get the conversation again (`ConversationChanged`).
    MarkRead {
        /// The conversation.
        conversation: u64,
    },
    /// Agent: put its accepted list in this order (C15, §3.10: agents drag customers to
    /// order them). `order` names conversations the agent serves (at most 1,000, no
    /// repeats); ones it leaves out keep their relative order after them.
    OrderConversations {
        /// Conversation ids, first first.
        order: Vec<u64>,
    },
    /// Agent: contacts matching the query **and online now** (R6, §5.6 高级查找's
    /// "online" filter): customers with a session on the account at this moment.
    SearchOnlineContacts(ContactQuery),
    /// Agent: the account's agents by agent group (A5, §3.1: agents appear in lists by
    /// group; "未分组", ungrouped, only when it has agents).
    ListAgentGroups,
    /// Customer: the agent serving (or awaited by) its open conversation, named as the
    /// agent's display setting says (A5, §7.10, §7.18).
    ServingAgent,
    /// Agent: its own preferences (personal auto-reply, notification options).
    GetAgentPrefs,
    /// Agent: replace its own preferences (§7.4, §7.22).
    SetAgentPrefs {
        /// The new preferences.
        prefs: crate::prefs::AgentPrefs,
    },
    /// Agent: the account's reminder settings (contact-limit warning threshold).
    GetReminderSettings,
    /// Agent with permission 11 (system settings): replace the reminder settings.
    SetReminderSettings {
        /// The new settings.
        settings: crate::prefs::ReminderSettings,
    },
    /// Agent: a friend request (R4) that files the contact as it is made: `edit` sets
    /// its name, nickname, remark, groups (permission 8) or tags while it waits for
    /// the customer's answer.
    RequestContactFiled {
        /// The customer.
        customer: CustomerId,
        /// A note shown to the customer.
        note: String,
        /// Where and under what names to file the contact.
        edit: ContactEdit,
    },
    /// Agent: a contact's two owners (R2, C7, §5.1, §7.17): whose own customer it is
    /// and to whom it is exclusive. Seen as `GetContact` sees contacts (an exclusive
    /// customer hidden from the agent is `NOT_FOUND`).
    GetContactOwners {
        /// The customer.
        customer: CustomerId,
    },
    /// Agent: the account's idle-customer settings (M3, §4.7). Answered `IdleSettings`.
    GetIdleSettings,
    /// Agent with permission 12 (business settings): replace the idle-customer settings.
    SetIdleSettings {
        /// The new settings.
        settings: crate::automation::IdleSettings,
    },
    /// Agent: its conversations flagged idle now. Answered `IdleConversations`.
    ListIdleConversations,
    /// Agent: a message to another agent of its account (C11, §3.1). Answered `Sent`
    /// once stored; a retried `client_msg_id` is stored once (`duplicate`).
    SendInternal {
        /// The receiving agent.
        to: u32,
        /// The sender's own number for this message, for retries.
        client_msg_id: u64,
        /// The text, 1..=4,000 characters.
        text: String,
    },
    /// Agent: its internal messages with agent `with`, newest first, ids below `before`
    /// (0: from the newest). Answered `InternalMessages`.
    InternalHistory {
        /// The other agent.
        with: u32,
        /// Only ids below this; 0 for none.
        before: u64,
        /// Page size, 1..=100.
        limit: u16,
    },
    /// Agent: its internal messages containing `text` (case-insensitive), with `with`
    /// only or with anyone, newest first. Answered `InternalMessages`.
    SearchInternal {
        /// The other agent, or `None` for all.
        with: Option<u32>,
        /// What to look for, 1..=64 characters.
        text: String,
        /// Page size, 1..=100.
        limit: u16,
    },
    /// Agent: the account's navigation menu (M4, §4.4). Answered `NavigationMenu`.
    GetNavigationMenu,
    /// Agent with permission 16: replaces the account's navigation menu (checked whole
    /// first: a bad menu changes nothing). Answered `Ok`.
    SetNavigationMenu {
        /// The menu.
        menu: crate::menu::NavigationMenu,
    },
    /// Customer in the menu: clicks option `option` of node `node` (the node shown, or
    /// one above it). Answered `MenuStep`.
    ChooseMenuOption {
        /// The customer's conversation (state `InMenu`).
        conversation: u64,
        /// The node the option is under.
        node: u16,
        /// The option's index under it.
        option: u8,
    },
    /// Agent: the labels the customer clicked in the menu before `conversation` was
    /// routed. Answered `MenuPath` (no labels: it did not walk a menu).
    GetMenuPath {
        /// The conversation.
        conversation: u64,
    },
    /// Agent: the account's spam-filter strength (M6, §3.11.1). Answered `SpamFilter`.
    GetSpamFilter,
    /// Agent with permission 12 (business settings): set the spam-filter strength.
    SetSpamFilter {
        /// Off, or one of the three strengths (PROTOCOL.md section 26).
        level: crate::spam::SpamLevel,
    },
    /// Agent: the conversations in the trash (垃圾箱), oldest first. Answered
    /// `Conversations`.
    ListTrash,
    /// Agent: take a conversation out of the trash (§3.11.1): it is assigned to the
    /// agent and its customer is whitelisted (never filtered again). Answered
    /// `Accepted`, as `AcceptConversation` is.
    AcceptFromTrash {
        /// The conversation.
        conversation: u64,
    },
    /// Agent: stop (or, `muted` false, resume) notifications for a customer's messages
    /// to this agent (来消息不提示, §3.11.3); the messages still arrive, as `QuietMessage`.
    MuteCustomer {
        /// The customer.
        customer: CustomerId,
        /// Mute (true) or unmute (false).
        muted: bool,
    },
    /// Agent: the customers it muted. Answered `Muted`.
    ListMuted,
    /// Customer: forward its stored text message `message` of its open `conversation`
    /// by SMS to `agent`'s bound phone (C14, §4.5.2), which must be offline. One unit
    /// per segment is reserved at once and spent when the gateway takes the SMS.
    /// Forwarding the same message to the same agent again is answered with the first
    /// SMS, `duplicate` set. Answered `SmsQueued` (`wire/PROTOCOL.md` section 27).
    ForwardSms {
        /// The customer's open conversation.
        conversation: u64,
        /// A text message the customer wrote in it.
        message: u64,
        /// The agent whose phone receives it.
        agent: u32,
    },
    /// Operator: add `units` (1..=1,000,000) to an account's SMS balance. Answered
    /// `SmsBalance`.
    AdminSmsTopUp {
        /// Account number.
        account: u64,
        /// Units to add.
        units: u32,
    },
    /// Operator: an account's SMS balance. Answered `SmsBalance`.
    AdminSmsBalance {
        /// Account number.
        account: u64,
    },
    /// Operator: an account's SMS that failed for good, newest first. Answered
    /// `SmsDeadLetters`.
    AdminSmsDeadLetters {
        /// Account number.
        account: u64,
    },
    /// Operator (the SMS gateway's bridge, on the admin socket): the agent's phone
    /// replied to SMS `sms`; the reply lands in the customer's conversation as a
    /// message from that agent. `reply_id` is the gateway's id of the reply: the same
    /// one again is stored once. Answered `Sent`.
    AdminSmsReply {
        /// Account number.
        account: u64,
        /// The SMS replied to (`SmsQueued::sms`, the `sms` field of the gateway JSON).
        sms: u64,
        /// The gateway's id of this reply, unique per SMS.
        reply_id: u64,
        /// What the phone replied.
        text: String,
    },
    /// Either side of a conversation, or an agent to another agent: offer a file online
    /// (C13, §3.7). Answered `FileTransfer`; the receiver is pushed `FileOffered`. The
    /// daemon relays and stores nothing (PROTOCOL.md section 28).
    FileOffer {
        /// The receiver.
        to: crate::files::FilePeer,
        /// Name, size, hash, image.
        meta: crate::files::FileMeta,
    },
    /// The receiver of an offer: accept it, granting `credit` bytes (the sender is
    /// pushed `FileCredit`), or decline it (the sender is pushed `FileEnded`).
    FileAnswer {
        /// The transfer.
        transfer: u64,
        /// Accept or decline.
        accept: bool,
        /// Bytes the sender may send now (clamped to the window).
        credit: u32,
    },
    /// The receiver of an accepted transfer: `bytes` more may be sent (clamped so that
    /// at most 1 MiB is granted past what was relayed).
    FileCredit {
        /// The transfer.
        transfer: u64,
        /// More bytes.
        bytes: u32,
    },
    /// The sender of an accepted transfer: the next chunk, at the next offset, within
    /// the credit (at most 64 KiB). Answered `Ok` once relayed.
    FileChunk {
        /// The transfer.
        transfer: u64,
        /// Offset of its first byte: the bytes relayed so far.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Either side: end a transfer; the other is pushed `FileEnded` `Cancelled`.
    FileCancel {
        /// The transfer.
        transfer: u64,
    },
    /// Either side of a conversation, or an agent to another agent: start (or resume)
    /// uploading an offline file. Answered `Upload` with the offset to send from.
    UploadFile {
        /// The recipient.
        to: crate::files::FilePeer,
        /// Name, size, hash, image.
        meta: crate::files::FileMeta,
    },
    /// The next chunk of an upload, at the offset the last answer named (at most 64
    /// KiB). Answered `Upload` with the new offset once written.
    UploadChunk {
        /// The upload.
        upload: u64,
        /// Offset of its first byte.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Every byte is sent: check the hash, make the file durable and visible, tell the
    /// recipient. Answered `OfflineFileStored`.
    FinishUpload {
        /// The upload.
        upload: u64,
    },
    /// The offline files waiting for the asker (not fetched yet), oldest first, at most
    /// 100. Answered `OfflineFiles`.
    ListOfflineFiles,
    /// The recipient: open an offline file with its one-time token (a second use is
    /// refused). Answered `Fetch`.
    FetchFile {
        /// The token.
        token: [u8; 32],
    },
    /// The next bytes of an opened fetch (at most 64 KiB). Answered `FileData`.
    FetchChunk {
        /// The fetch.
        fetch: u64,
        /// Offset of the first byte wanted.
        offset: u64,
        /// At most this many bytes (1..=65,536).
        max: u32,
    },
    /// Admin socket only: add `units` (1..=`MAX_TOPUP_UNITS`) to an account's balance
    /// (V6, §10.5–10.6); a ledger entry records it. Answered `Balance`.
    AdminBalanceTopUp {
        /// Account number.
        account: u64,
        /// Units to add.
        units: u64,
    },
    /// Admin socket only: an account's balance and points. Answered `Balance`.
    AdminBalanceShow {
        /// Account number.
        account: u64,
    },
    /// Agent with permission 10: its account's balance and points; at security level
    /// medium or high a current token code (V7). Answered `Balance`.
    GetBalance {
        /// The agent's token code, needed at security level medium or high.
        otp: Option<String>,
    },
    /// Agent with permission 10: submit a broadcast for review (V1–V4); its units are
    /// reserved now. Answered `Broadcast`.
    SubmitBroadcast {
        /// What, to whom, when.
        draft: crate::valueadded::BroadcastDraft,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Agent with permission 10: cancel a broadcast pending review or pending send
    /// (refunds its units). Answered `Broadcast`.
    CancelBroadcast {
        /// The broadcast.
        id: u64,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Agent with permission 10: edit a cancelled broadcast and submit it again, within
    /// 30 days of its cancellation. Answered `Broadcast`.
    ResubmitBroadcast {
        /// The broadcast.
        id: u64,
        /// Its new content and settings.
        draft: crate::valueadded::BroadcastDraft,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Agent with permission 10: the account's broadcasts, newest first. Answered
    /// `Broadcasts`.
    ListBroadcasts {
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Admin socket only: an account's broadcasts pending review, oldest first.
    /// Answered `Broadcasts`.
    AdminBroadcastReviewList {
        /// Account number.
        account: u64,
    },
    /// Admin socket only: approve or reject a broadcast pending review. Answered
    /// `Broadcast`.
    AdminBroadcastDecide {
        /// Account number.
        account: u64,
        /// The broadcast.
        id: u64,
        /// Approve (true) or reject (false).
        approve: bool,
        /// Why it is rejected (1..=200 characters); ignored for an approval.
        reason: String,
    },
    /// Admin socket only: replace the appliance's sensitive-word list. Answered `Ok`.
    AdminSetSensitiveWords {
        /// The words, 1..=32 characters each, at most 10,000.
        words: Vec<String>,
    },
    /// Agent with permission 10: send a draft's content to the account's administrator
    /// (agent 1001) only, before submitting it (§9.3 "发送预览到管理员"); free, nothing
    /// stored. Answered `Ok` (section 30.8).
    PreviewBroadcast {
        /// The draft, checked as for `SubmitBroadcast`.
        draft: crate::valueadded::BroadcastDraft,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Customer: answer a broadcast it received by opening a conversation (as
    /// `OpenConversation`); refused `REPLIES_BLOCKED` when the broadcast blocks replies
    /// (§9.4, section 30.9). Answered `Conversation`.
    ReplyToBroadcast {
        /// The broadcast (from `Event::FromBroadcast`).
        broadcast: u64,
        /// How to route the conversation.
        entry: crate::chat::Entry,
    },
    /// Agent with permission 16: the account's entry-point codes (§10.2), by number.
    /// Answered `EntryCodes`.
    ListEntryCodes,
    /// Agent with permission 16: creates an entry-point code. Answered `EntryCode`.
    CreateEntryCode {
        /// What it is.
        draft: crate::web::EntryCodeDraft,
    },
    /// Agent with permission 16: edits a code; every page that uses it routes the next
    /// conversation by the new settings. Answered `EntryCode`.
    EditEntryCode {
        /// The code.
        id: u32,
        /// What it becomes.
        draft: crate::web::EntryCodeDraft,
    },
    /// Agent with permission 16: deletes a code. Answered `Ok`.
    DeleteEntryCode {
        /// The code.
        id: u32,
    },
    /// Customer or visitor: how code `id` of its account shows (no routing, no
    /// description). Answered `PublicEntryCode`.
    GetEntryCode {
        /// The code.
        id: u32,
    },
    /// Customer or visitor: opens a conversation (or continues the open one) through
    /// code `id`, routed by the code's routing as it is now. Answered `Conversation`.
    OpenConversationByCode {
        /// The code.
        id: u32,
    },
    /// Customer or visitor: it opened a page of the site. Answered `Ok`.
    PageView(crate::web::PageView),
    /// Customer or visitor: it left the page it was on (closes that page's dwell).
    /// Answered `Ok`.
    PageLeft,
    /// Agent: the visitors on the site now, latest arrival first. Answered
    /// `SiteVisitors`.
    ListSiteVisitors,
    /// Agent: a visitor's trail, keywords and menu path. Answered `VisitorTrail`.
    GetVisitorTrail {
        /// The visitor (or identified customer).
        visitor: crate::chat::CustomerId,
    },
    /// Agent: invites a visitor on the site to chat, with its own text. Answered
    /// `Invited`.
    InviteVisitor {
        /// The visitor.
        visitor: crate::chat::CustomerId,
        /// The text, 1..=200 characters.
        text: String,
    },
    /// Customer or visitor: accepts (a conversation opens, routed to the inviting
    /// agent; answered `Conversation`) or declines (answered `Ok`) an invitation.
    AnswerInvitation {
        /// The invitation.
        invitation: u64,
        /// Accept or decline.
        accept: bool,
    },
    /// Agent: the automatic invitation's settings. Answered `AutoInviteSettings`.
    GetAutoInvite,
    /// Agent with permission 16: sets the automatic invitation. Answered `Ok`.
    SetAutoInvite {
        /// The settings.
        settings: crate::web::AutoInviteSettings,
    },
    /// Agent with permission 3 (analytics): visits and unique visitors per day (S4).
    /// Answered `VisitTrend`.
    GetVisitTrend {
        /// First day, days since 1970-01-01 UTC.
        from_day: u32,
        /// Last day, included (at most 366 days in all).
        until_day: u32,
    },
    /// Agent with permission 3 (analytics): consultations, visits, referrers and
    /// regions (S5). Answered `SiteAnalytics`.
    GetSiteAnalytics {
        /// First day, days since 1970-01-01 UTC.
        from_day: u32,
        /// Last day, included (at most 366 days in all).
        until_day: u32,
    },
    /// Agent with permission 9 (data analysis): the daily work report (S3, §7.19), one
    /// row per agent and day with activity, by day then agent; at most 180 days.
    /// Answered `WorkReport`.
    GetWorkReport {
        /// First day.
        from: crate::reports::Date,
        /// Last day (included).
        to: crate::reports::Date,
        /// Only this agent; `None`: every agent.
        agent: Option<u32>,
    },
    /// Agent with permission 10: create a survey (V5, §9.8), open at once. Answered
    /// `Survey`.
    CreateSurvey {
        /// What it asks and whom.
        draft: crate::survey::SurveyDraft,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Agent with permission 10: replace an open survey's draft while it has no answer.
    /// Answered `Survey`.
    EditSurvey {
        /// The survey.
        id: u64,
        /// Its new content.
        draft: crate::survey::SurveyDraft,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Agent with permission 10: close a survey (no more answers). Answered `Survey`.
    CloseSurvey {
        /// The survey.
        id: u64,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Agent with permission 10: the account's surveys, newest first. Answered `Surveys`.
    ListSurveys {
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Agent with permission 10: a survey's per-option counts and ratios (§9.9).
    /// Answered `SurveyResult`.
    GetSurveyResult {
        /// The survey.
        id: u64,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Customer: the open surveys sent to it and not answered yet, newest first, at most
    /// 20. Answered `SurveyForms`.
    ListOpenSurveys,
    /// Customer: answer a survey, once. Answered `Ok`.
    AnswerSurvey {
        /// The survey.
        survey: u64,
        /// Per question, in order, the indexes of the options chosen.
        choices: Vec<Vec<u8>>,
    },
    /// Agent: build a report's export file (section 36); permission 9 for the work
    /// report, 10 and the token rule for surveys. Answered `ExportData` with chunk 0.
    ExportReport {
        /// Which report, with its parameters.
        report: crate::reports::ReportKind,
        /// CSV or Excel.
        format: crate::reports::ExportFormat,
        /// The agent's token code (value-added reports, security level medium or high).
        otp: Option<String>,
    },
    /// Agent: chunk `index` of an export it asked for. Answered `ExportData`.
    ExportChunk {
        /// The export (from chunk 0).
        export: u64,
        /// The chunk, `1..total`.
        index: u32,
    },
    /// Agent 1001 or permission 16: the account's CSAT settings (section 37). Answered
    /// `CsatSettings`.
    GetCsatSettings,
    /// Agent 1001 or permission 16: replace the account's CSAT settings. Answered `Ok`.
    SetCsatSettings(crate::csat::CsatSettings),
    /// Customer: answer the survey of a closed conversation. Answered `Ok`.
    RateConversation {
        /// The conversation (from `Event::CsatSurvey`).
        conversation: u64,
        /// The option, 1 (worst) ..= 5 (best).
        rating: u8,
        /// Preset reasons chosen, by index (only for options 1..=3).
        reasons: Vec<u8>,
        /// Own words, at most 200 characters (only for options 1..=3).
        text: String,
    },
    /// Agent 1001 or permission 16 (data analysis): the CSAT report of a range of days.
    /// Answered `CsatReport`.
    CsatReport(crate::csat::CsatQuery),
    /// Agent with permission 16: replaces the account's explicit list of origins whose
    /// pages may open the chat window (PROTOCOL.md 38.4; at most
    /// `web::MAX_ALLOWED_ORIGINS`, each `http(s)://host[:port]`). Answered `Ok`.
    SetAllowedOrigins {
        /// The origins; empty: only the entry codes' sites.
        origins: Vec<String>,
    },
    /// Agent with permission 16: the account's allowed origins, explicit and from its
    /// entry codes. Answered `AllowedOrigins`.
    GetAllowedOrigins,
    /// Agent with permission 10: a page of the account's broadcasts, newest first, each
    /// without its named contacts (section 30.11). Answered `BroadcastPage`.
    ListBroadcastPage {
        /// Only broadcasts numbered below this (`next` of the previous page).
        before: Option<u64>,
        /// At most this many, `1..=MAX_BROADCAST_PAGE` (clamped).
        limit: u32,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Agent with permission 10: a page of the contacts a broadcast's draft names
    /// (section 30.11). Answered `BroadcastCustomers`.
    GetBroadcastCustomers {
        /// The broadcast.
        id: u64,
        /// Index of the first contact.
        offset: u64,
        /// At most this many, `1..=MAX_BROADCAST_CUSTOMERS_PAGE` (clamped).
        limit: u32,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Admin socket only: the broadcasts pending review in every account, oldest
    /// submission first (section 30.12). Answered `BroadcastReviews`.
    AdminBroadcastReviewQueue {
        /// Only rows after this (`next` of the previous page).
        after: Option<crate::valueadded::ReviewCursor>,
        /// At most this many, `1..=MAX_BROADCAST_PAGE` (clamped).
        limit: u32,
    },
    /// The account centre (section 39): sign in as `agent@account` with the password (and
    /// the token code where the security level asks for one) for a **centre session**:
    /// not online, not routed, the agent's desktop session and session token untouched;
    /// only the centre's requests. Answered `LoggedIn` (token all zero).
    CentreLogin {
        /// Account number.
        account: u64,
        /// Agent number.
        agent: u32,
        /// The agent's password.
        password: String,
        /// A hardware-token code, where the account's security level asks for one.
        otp: Option<String>,
    },
    /// The account centre: sign in with a ticket from `AccountCentreTicket` (the desktop
    /// client's "open the account centre"), once, before it expires; a centre session as
    /// `CentreLogin`'s. Answered `LoggedIn` (token all zero).
    CentreTicketLogin {
        /// The ticket's bytes (section 18.4).
        ticket: Vec<u8>,
    },
    /// Agent with permission 10: send an open survey to contacts through the broadcast
    /// fan-out (§9.8 群发调查): a broadcast whose `draft` (its message, recipients,
    /// timing) is submitted, reviewed, charged, cancelled and refunded exactly as
    /// `SubmitBroadcast`'s, and whose recipients also get `Event::SurveyBroadcast`
    /// and may answer the survey (section 35.5). Answered `Broadcast`.
    SubmitSurveyBroadcast {
        /// The survey (open).
        survey: u64,
        /// The broadcast carrying it.
        draft: crate::valueadded::BroadcastDraft,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Agent with permission 10: `PreviewBroadcast` of a survey broadcast: the
    /// draft's message and the survey's form to agent 1001 only (section 35.5).
    /// Answered `Ok`.
    PreviewSurveyBroadcast {
        /// The survey (open).
        survey: u64,
        /// The broadcast carrying it, checked as for `SubmitBroadcast`.
        draft: crate::valueadded::BroadcastDraft,
        /// The agent's token code (security level medium or high).
        otp: Option<String>,
    },
    /// Agent with permission 13: the enterprise profile, approved and under review
    /// (section 41). Answered `EnterpriseProfile`.
    GetEnterpriseProfile,
    /// Agent with permission 13: submits an edit of the enterprise profile for review
    /// (replacing one already waiting); the full name cannot change (section 41).
    /// Answered `EnterpriseProfile`.
    SubmitEnterpriseProfile {
        /// The edited profile.
        profile: crate::profile::EnterpriseProfile,
    },
    /// Agent with permission 16: the chat window's style, approved and under review
    /// (section 41). Answered `ChatWindowStyle`.
    GetChatWindowStyle,
    /// Agent with permission 16: submits a style of the chat window for review
    /// (replacing one already waiting; section 41). Answered `ChatWindowStyle`.
    SubmitChatWindowStyle {
        /// The style.
        style: crate::profile::ChatWindowStyle,
    },
    /// A customer or visitor: its account's approved chat-window style, if any
    /// (section 41). Answered `WindowStyle`.
    GetWindowStyle,
    /// Admin socket only: the profile and style edits waiting for review in every
    /// account, oldest submission first (section 41). Answered `ProfileReviews`.
    AdminProfileReviewQueue {
        /// Only rows after this (`next` of the previous page).
        after: Option<crate::profile::ProfileReviewCursor>,
        /// At most this many, `1..=MAX_PROFILE_REVIEW_PAGE` (clamped).
        limit: u32,
    },
    /// Admin socket only: approves (it is in force at once) or rejects (with a reason the
    /// account sees) the profile or style edit waiting in an account (section 41).
    /// Answered `Ok`.
    AdminReviewProfile {
        /// The account.
        account: u64,
        /// The profile or the style.
        kind: crate::profile::ReviewKind,
        /// Approve, or reject.
        approve: bool,
        /// A rejection's reason (1..=200 characters); ignored for an approval.
        reason: String,
    },
    /// Operator, on the source of a move (section 40.6): from the next turn on, every
    /// request of `account` and every login to it is answered `ACCOUNT_MOVING`
    /// (`frozen = false` lifts it). Answered `Ok` once every earlier turn is committed.
    AdminFreezeAccount {
        /// The account.
        account: u64,
        /// Freeze, or thaw.
        frozen: bool,
    },
    /// Operator, on the source of a move: a page of the account's stored keys.
    /// Answered `AccountExport`.
    AdminExportAccount {
        /// The account.
        account: u64,
        /// Where the page starts (`None`: at the beginning).
        after: Option<crate::account_move::AccountCursor>,
    },
    /// Operator, on the target of a move: writes a page of the account's keys.
    /// Answered `Ok` once durable.
    AdminImportAccount {
        /// The account.
        account: u64,
        /// The entries (at most `MAX_IMPORT_ENTRIES`).
        entries: Vec<crate::account_move::AccountEntry>,
        /// The first page: refused `ACCOUNT_PRESENT` if this appliance holds the account.
        first: bool,
    },
    /// Operator, on the source once the directory names the target: the account's
    /// connections are told `GoAwayTo address`, and so are later logins. Answered `Ok`.
    AdminAccountMoved {
        /// The account.
        account: u64,
        /// The target's client address, `ip:port`.
        address: String,
    },
    /// Log in as `agent@account` with a password for a **read-only session**
    /// (PROTOCOL.md 40.7): accepted by the primary and by its standby alike; only reads
    /// ([`Request::is_read`]) are answered, every other request is `READ_ONLY_MEMBER`.
    /// No session token is issued (`LoggedIn` carries zeros), the agent is not made
    /// online and nothing is routed to it.
    LoginReadOnly {
        /// Account number.
        account: u64,
        /// Agent number.
        agent: u32,
        /// The agent's password.
        password: String,
        /// A hardware-token code, where the account's security level asks for one (a
        /// standby refuses such a login `READ_ONLY_OTP`: the used code must be stored).
        otp: Option<String>,
    },
    /// Operator, on the source of a move: the account's changes committed after
    /// sequence `after`, read back from the write-ahead log (`None`: none, only the
    /// starting point — the store's latest sequence now). Answered `AccountChanges`.
    AdminAccountChanges {
        /// The account.
        account: u64,
        /// The end of the last round read (`None`: the starting point).
        after: Option<u64>,
    },
    /// Operator, on the target of a move: applies a round of changes in one batch,
    /// only if it starts where the last applied round ended. Answered `Ok` once durable.
    AdminApplyAccountChanges {
        /// The account.
        account: u64,
        /// Where the round starts.
        after: u64,
        /// Where it ends.
        upto: u64,
        /// The changes (at most `MAX_IMPORT_ENTRIES`).
        changes: Vec<crate::account_move::AccountChange>,
    },
}

/// What takes a detached session over (`EnableResume`, `ResumeSession`): the session's
/// number, which says where it lives, and a secret of 32 random bytes, compared in
/// constant time. Valid only until the daemon stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeToken {
    /// The session's number.
    pub session: u64,
    /// The secret.
    pub secret: [u8; 32],
}

/// A quick reply (快捷回复): typed `#shortcut` in the client, replaced by `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    /// The shortcut (1..=16 characters, no white space).
    pub shortcut: String,
    /// The text (1..=500 characters).
    pub text: String,
}

/// A module of the web account centre (§10), each behind its own permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountCentreModule {
    /// Enterprise information and contacts (permission 13).
    AccountInfo,
    /// Enterprise space (permission 14).
    EnterpriseSpace,
    /// Market campaigns (permission 15).
    Campaigns,
    /// Configuration of the service: navigation menu, consultation icons, satisfaction
    /// survey (permission 16).
    ServiceConfig,
}

/// One agent's service figures over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentFigures {
    /// Agent number.
    pub agent: u32,
    /// Conversations it served (opened in the period).
    pub conversations: u64,
    /// Messages it sent in them.
    pub messages_sent: u64,
    /// Messages customers sent in them.
    pub messages_received: u64,
}

/// How an agent is named to customers (manual §7.10, §7.18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisplayMode {
    /// Show the nickname.
    Nickname,
    /// Show the agent number.
    AgentNumber,
}

/// An agent's profile (A5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProfile {
    /// Display name (at most 64 characters).
    pub nickname: String,
    /// Agent group name, empty for none (at most 64 characters).
    pub group: String,
    /// What customers see.
    pub display: DisplayMode,
    /// Bound phone number, empty for none (digits, `+`, `-`, spaces; at most 32).
    pub phone: String,
}

/// The account's security level (A8, manual §12.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecurityLevel {
    /// Token codes are never asked for.
    Low,
    /// Token codes protect value-added operations (broadcasts, surveys). The default.
    Medium,
    /// Token codes protect logins and value-added operations.
    High,
}

/// A token seed file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenFileFormat {
    /// RFC 6030 PSKC XML.
    Pskc,
    /// `serial,secret` lines, secret in hex or base32.
    Csv,
}

/// A role and who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleInfo {
    /// Role id (1–3 are the defaults).
    pub role: u32,
    /// Display name.
    pub name: String,
    /// Permission bits.
    pub permissions: u16,
    /// Agents holding it.
    pub agents: u32,
}

/// The account's security settings as one agent sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityInfo {
    /// The account's level.
    pub level: SecurityLevel,
    /// Serial of the token bound to the asking agent.
    pub token_serial: Option<String>,
}

/// Public description of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// Account number.
    pub account: u64,
    /// Enterprise name.
    pub name: String,
    /// Plan.
    pub plan: Plan,
    /// End of the service period, unix seconds.
    pub expires_at: i64,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Number of agents.
    pub agents: u32,
}

/// Public description of an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Agent number.
    pub agent: u32,
    /// Display name.
    pub nickname: String,
    /// Role id.
    pub role: u32,
    /// Whether a password is set (an agent without one cannot log in).
    pub has_password: bool,
    /// Current presence.
    pub presence: Presence,
}

/// The session a login produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Account number.
    pub account: u64,
    /// Agent number.
    pub agent: u32,
    /// Display name.
    pub nickname: String,
    /// Role id.
    pub role: u32,
    /// Permission bits of the role (bit i = permission i+1 of the manual's 16).
    pub permissions: u16,
    /// Token for `Resume`; all zero where the answer does not disclose it.
    pub token: [u8; 16],
    /// When the token expires, unix seconds.
    pub token_expires_at: i64,
    /// The account's service period ends at this time, unix seconds.
    pub account_expires_at: i64,
}

/// Counters of one shard (event-loop thread).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardStats {
    /// Shard number.
    pub shard: u16,
    /// Open client connections.
    pub connections: u64,
    /// Logged-in sessions.
    pub sessions: u64,
    /// Accounts loaded in memory.
    pub accounts: u64,
    /// Frames received.
    pub frames_in: u64,
    /// Frames sent.
    pub frames_out: u64,
}

/// What the daemon found when it checked its storage (`AdminCheckStorage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageCheck {
    /// The data directory.
    pub data_dir: String,
    /// A synced write of a probe record succeeded.
    pub writable: bool,
    /// Why the write failed (empty when it succeeded).
    pub error: String,
    /// How long the synced write took, microseconds (0 when it failed).
    pub synced_write_us: u64,
    /// Bytes free for the daemon on the data directory's filesystem.
    pub free_bytes: u64,
    /// Size of that filesystem, bytes.
    pub total_bytes: u64,
    /// The store is refusing writes because the disk was full (PROTOCOL.md section 9).
    pub disk_full: bool,
}

/// A successful answer, server → client. Variants are only appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Done; nothing to report.
    Ok,
    /// A login or resume succeeded.
    LoggedIn(SessionInfo),
    /// The current session (token zeroed).
    Session(SessionInfo),
    /// A list of agents.
    Agents(Vec<AgentInfo>),
    /// A page of accounts.
    Accounts(Vec<AccountInfo>),
    /// One account.
    Account(AccountInfo),
    /// Per-shard counters and uptime.
    Stats {
        /// Seconds since the daemon started.
        uptime_s: u64,
        /// One entry per shard.
        shards: Vec<ShardStats>,
    },
    /// The account's roles.
    Roles(Vec<RoleInfo>),
    /// One role (as created).
    Role(RoleInfo),
    /// An agent's profile.
    Profile(AgentProfile),
    /// Security settings.
    Security(SecurityInfo),
    /// Token seeds imported.
    TokensImported {
        /// Serials imported, in file order.
        serials: Vec<String>,
    },
    /// A customer or visitor logged in.
    CustomerLoggedIn(CustomerSession),
    /// One conversation.
    Conversation(ConversationInfo),
    /// Several conversations.
    Conversations(Vec<ConversationInfo>),
    /// A message is stored (now, or earlier: `duplicate`).
    Sent {
        /// Its id.
        message: u64,
        /// True when this `client_msg_id` had been stored before; nothing new was stored.
        duplicate: bool,
    },
    /// A conversation taken from the queue, and the customer's recent history with the
    /// account (oldest first, at most 50 messages).
    Accepted {
        /// The conversation, now assigned.
        conversation: ConversationInfo,
        /// Recent messages.
        history: Vec<MessageInfo>,
    },
    /// A customer-signing key; keep it on the enterprise's backend only.
    CustomerKey([u8; 32]),
    /// Messages, oldest first.
    Messages(Vec<MessageInfo>),
    /// An account's routing settings.
    RoutingSettings(RoutingConfig),
    /// One contact (boxed: the largest answer, it would size every queued `Response`).
    Contact(Box<ContactInfo>),
    /// A page of contacts.
    Contacts(ContactPage),
    /// How many things were removed.
    Deleted {
        /// Count.
        count: u64,
    },
    /// Whether each asked customer is online, in the order asked.
    Online(Vec<bool>),
    /// The account's tags.
    Tags(Vec<TagInfo>),
    /// The account's contact group tree.
    Groups(Vec<GroupNode>),
    /// What an import did so far.
    Import(ImportReport),
    /// A page of a CSV export.
    Export {
        /// CSV bytes (the header line on the first page).
        csv: Vec<u8>,
        /// The cursor of the next page, or `None` after the last.
        next_after: Option<u64>,
    },
    /// A page of history.
    History(HistoryPage),
    /// The account's contact settings.
    ContactSettings(crate::crm::ContactSettings),
    /// Quick replies.
    QuickReplies {
        /// The agent's own.
        personal: Vec<QuickReply>,
        /// The account's shared ones.
        shared: Vec<QuickReply>,
    },
    /// Service figures per agent, in agent order.
    Analytics(Vec<AgentFigures>),
    /// A ticket for the web account centre: the module verifies it with the appliance
    /// (HMAC-SHA256 under the appliance key over account, agent, module and expiry).
    Ticket {
        /// The ticket.
        ticket: Vec<u8>,
        /// When it expires, unix seconds.
        expires_at: i64,
    },
    /// A broadcast was stored for its recipients.
    BroadcastSent {
        /// Contacts it went to.
        recipients: u64,
    },
    /// The account's presence as customers see it (§7.14).
    AccountPresence {
        /// Online, busy, away or offline.
        presence: Presence,
        /// The account's mode, to agents; `None` to customers.
        mode: Option<AccountPresenceMode>,
    },
    /// The daemon's clock (`AdminClockShow`, `AdminClockSet`, `AdminClockAdvance`).
    Clock {
        /// The time the daemon's rules see now, unix milliseconds.
        unix_ms: i64,
        /// True when the operator may move the clock (`[test] clock_control`): the
        /// time may then be ahead of the real one.
        test_mode: bool,
    },
    /// The session is resumable (`EnableResume`).
    ResumeEnabled {
        /// What `ResumeSession` must carry.
        token: ResumeToken,
        /// How long a detached session waits for its new connection, seconds.
        window_secs: u32,
    },
    /// `ResumeSession` succeeded: this connection is the session's now. The kept pushes
    /// follow this answer, numbered on this connection from 1.
    Resumed {
        /// How many kept pushes follow.
        replayed: u64,
    },
    /// The daemon's metrics (`AdminMetrics`): Prometheus text exposition format 0.0.4.
    Metrics {
        /// The exposition, UTF-8, lines ending in `\n`.
        text: String,
    },
    /// What `AdminCheckStorage` found.
    StorageCheck(StorageCheck),
    /// `AdminDeleteAccount` removed the account.
    AccountDeleted {
        /// Sessions of the account that were ended (their connections were told
        /// `GoAway` `UNKNOWN_ACCOUNT`).
        sessions_closed: u32,
        /// Hardware tokens bound to its agents, removed with it.
        tokens_removed: u32,
    },
    /// The account's designated-agent settings.
    DesignatedAgent(DesignatedSettings),
    /// What a customer may choose from.
    Choices(ChoiceList),
    /// One backup (`AdminBackupCreate`; `AdminBackupVerify`, with the keys it read).
    Backup(BackupInfo),
    /// The backups in the backup directory, oldest first (`AdminBackupList`).
    Backups(Vec<BackupInfo>),
    /// `ListAgentGroups`: the groups in name order, "ungrouped" (empty name) last.
    AgentGroups(Vec<AgentGroup>),
    /// `ServingAgent`: the agent as the customer sees it; `None` while no agent serves
    /// or is awaited (no open conversation, or waiting in the general queue).
    ServingAgent(Option<ShownAgent>),
    /// The asking agent's preferences (`GetAgentPrefs`).
    AgentPrefs(crate::prefs::AgentPrefs),
    /// The account's reminder settings (`GetReminderSettings`).
    ReminderSettings(crate::prefs::ReminderSettings),
    /// A contact's two owners (`GetContactOwners`): `owner`, whose own customer it is
    /// (R2: first served, added or imported it; what `ContactInfo.owner` shows), and
    /// `exclusive_owner`, the agent it is exclusive to (C7, §7.17; moved by a transfer,
    /// rule e). Either may be `None`.
    ContactOwners {
        /// The agent whose own customer it is.
        owner: Option<u32>,
        /// The agent it is exclusive to.
        exclusive_owner: Option<u32>,
    },
    /// The account's idle-customer settings (`GetIdleSettings`).
    IdleSettings(crate::automation::IdleSettings),
    /// The asking agent's conversations flagged idle, by conversation id
    /// (`ListIdleConversations`).
    IdleConversations(Vec<crate::automation::IdleInfo>),
    /// Internal messages, newest first (`InternalHistory`, `SearchInternal`).
    InternalMessages(Vec<crate::internal::InternalMessage>),
    /// The account's navigation menu (`GetNavigationMenu`).
    NavigationMenu(crate::menu::NavigationMenu),
    /// What a menu choice did (`ChooseMenuOption`).
    MenuStep(crate::menu::MenuStep),
    /// A conversation's menu path (`GetMenuPath`).
    MenuPath(crate::menu::MenuPath),
    /// The account's spam-filter strength (`GetSpamFilter`).
    SpamFilter(crate::spam::SpamLevel),
    /// The customers the asking agent muted, in customer-key order (`ListMuted`).
    Muted(Vec<CustomerId>),
    /// A forwarded message is queued for the SMS gateway (`ForwardSms`).
    SmsQueued {
        /// The SMS's number within the account (what a phone reply names).
        sms: u64,
        /// Units it holds (one per segment).
        segments: u32,
        /// The message was forwarded to this agent before: that SMS, nothing new.
        duplicate: bool,
    },
    /// An account's SMS balance (`AdminSmsTopUp`, `AdminSmsBalance`).
    SmsBalance(crate::sms::SmsBalance),
    /// An account's SMS dead letters, newest first (`AdminSmsDeadLetters`).
    SmsDeadLetters(Vec<crate::sms::SmsDeadLetter>),
    /// An online transfer was offered (`FileOffer`).
    FileTransfer {
        /// Its number, for the rest of the transfer.
        transfer: u64,
    },
    /// An upload is open (`UploadFile`) or a chunk was written (`UploadChunk`): send
    /// from `offset` on (resumed uploads start past what was written before).
    Upload {
        /// Its number, for `UploadChunk` and `FinishUpload`.
        upload: u64,
        /// The bytes written so far.
        offset: u64,
    },
    /// The offline file is stored, durable, and its recipient told (`FinishUpload`).
    OfflineFileStored {
        /// Its id.
        file: u64,
    },
    /// Offline files waiting for the asker (`ListOfflineFiles`).
    OfflineFiles(Vec<crate::files::OfflineFileInfo>),
    /// A fetch is open (`FetchFile`).
    Fetch {
        /// Its number, for `FetchChunk`.
        fetch: u64,
        /// Who sent it, and what it is.
        file: crate::files::OfflineFileInfo,
    },
    /// Bytes of a fetched file (`FetchChunk`); empty past the end.
    FileData {
        /// Offset of the first byte.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// An account's balance and points (`AdminBalanceTopUp`, `AdminBalanceShow`,
    /// `GetBalance`).
    Balance(crate::valueadded::BalanceInfo),
    /// One broadcast (`SubmitBroadcast`, `CancelBroadcast`, `ResubmitBroadcast`,
    /// `AdminBroadcastDecide`).
    Broadcast(Box<crate::valueadded::BroadcastInfo>),
    /// Broadcasts (`ListBroadcasts`, `AdminBroadcastReviewList`).
    Broadcasts(Vec<crate::valueadded::BroadcastInfo>),
    /// The account's entry-point codes (`ListEntryCodes`).
    EntryCodes(Vec<crate::web::EntryCode>),
    /// One entry-point code (`CreateEntryCode`, `EditEntryCode`).
    EntryCode(crate::web::EntryCode),
    /// How a code shows (`GetEntryCode`).
    PublicEntryCode(crate::web::PublicEntryCode),
    /// The visitors on the site (`ListSiteVisitors`).
    SiteVisitors(Vec<crate::web::SiteVisitor>),
    /// A visitor's trail (`GetVisitorTrail`).
    VisitorTrail(crate::web::VisitorTrail),
    /// The invitation sent (`InviteVisitor`).
    Invited {
        /// Its number.
        invitation: u64,
    },
    /// The automatic invitation's settings (`GetAutoInvite`).
    AutoInviteSettings(crate::web::AutoInviteSettings),
    /// Visits per day (`GetVisitTrend`).
    VisitTrend(Vec<crate::web::VisitDay>),
    /// Site analytics (`GetSiteAnalytics`).
    SiteAnalytics(crate::web::SiteAnalytics),
    /// The daily work report (`GetWorkReport`).
    WorkReport(Vec<crate::reports::WorkReportRow>),
    /// One survey (`CreateSurvey`, `EditSurvey`, `CloseSurvey`).
    Survey(Box<crate::survey::SurveyInfo>),
    /// Surveys (`ListSurveys`).
    Surveys(Vec<crate::survey::SurveyInfo>),
    /// A survey's results (`GetSurveyResult`).
    SurveyResult(Box<crate::survey::SurveyResult>),
    /// Surveys a customer may answer (`ListOpenSurveys`).
    SurveyForms(Vec<crate::survey::SurveyForm>),
    /// A chunk of an export file (`ExportReport`, `ExportChunk`).
    ExportData(crate::reports::ExportChunk),
    /// An account's CSAT settings (`GetCsatSettings`).
    CsatSettings(crate::csat::CsatSettings),
    /// A CSAT report (`CsatReport`).
    CsatReport(crate::csat::CsatReportPage),
    /// The account's allowed origins (`GetAllowedOrigins`).
    AllowedOrigins(crate::web::AllowedOrigins),
    /// A page of broadcast summaries (`ListBroadcastPage`).
    BroadcastPage(crate::valueadded::BroadcastPage),
    /// A page of a broadcast's named contacts (`GetBroadcastCustomers`).
    BroadcastCustomers(crate::valueadded::BroadcastCustomers),
    /// A page of the review queue across accounts (`AdminBroadcastReviewQueue`).
    BroadcastReviews(crate::valueadded::ReviewPage),
    /// The enterprise profile under review (`GetEnterpriseProfile`,
    /// `SubmitEnterpriseProfile`).
    EnterpriseProfile(Box<crate::profile::Reviewed<crate::profile::EnterpriseProfile>>),
    /// The chat window's style under review (`GetChatWindowStyle`,
    /// `SubmitChatWindowStyle`).
    ChatWindowStyle(Box<crate::profile::Reviewed<crate::profile::ChatWindowStyle>>),
    /// The approved chat-window style a visitor's window shows (`GetWindowStyle`).
    WindowStyle(Option<crate::profile::ChatWindowStyle>),
    /// A page of the profile and style review queue (`AdminProfileReviewQueue`).
    ProfileReviews(crate::profile::ProfileReviewPage),
    /// A page of an account's stored keys (`AdminExportAccount`, section 40.6).
    AccountExport(crate::account_move::AccountExport),
    /// A round of an account's changes (`AdminAccountChanges`, section 40.6).
    AccountChanges(crate::account_move::AccountChanges),
}

/// One backup in the daemon's backup directory (PROTOCOL.md section 21).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    /// Its number: backups are numbered 1, 2, … in the order they were taken.
    pub backup_id: u32,
    /// When it was taken, unix seconds (the storage engine's clock).
    pub created_at: i64,
    /// Bytes of its files (files shared with an older backup count in both).
    pub size_bytes: u64,
    /// Number of its files.
    pub files: u32,
    /// Keys read back, over every column family: `Some` only in the answer to
    /// `AdminBackupVerify`.
    pub keys: Option<u64>,
}

/// An agent group and its agents (`ListAgentGroups`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentGroup {
    /// The group's name; empty for "未分组" (ungrouped), the reserved group.
    pub name: String,
    /// Its agents, by agent number.
    pub agents: Vec<AgentInfo>,
}

/// An agent as a customer sees it (A5, §7.10, §7.18).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownAgent {
    /// The agent number (what `Reselect` and `Entry::Agent` name).
    pub agent: u32,
    /// What the customer is shown: the agent's nickname, or its number in decimal, as
    /// the agent's display setting says.
    pub shown_as: String,
}

/// An event the server pushes, numbered per connection. Variants are only appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Another agent of the account changed presence.
    PresenceChanged {
        /// Agent number.
        agent: u32,
        /// New presence.
        presence: Presence,
    },
    /// A system reminder for the agent (e.g. the account expires soon).
    Notice {
        /// Reminder text.
        text: String,
    },
    /// Several agents of the account changed presence in one server turn (a
    /// reconnect storm sends one of these per agent instead of one push per change).
    PresenceChanges(Vec<PresenceChange>),
    /// A message in one of the connection's conversations.
    Message(MessageInfo),
    /// A conversation was opened, assigned, queued or closed.
    ConversationChanged(ConversationInfo),
    /// A notice about a conversation (no-response warning, re-selection, transfer).
    ConversationAlert {
        /// The conversation.
        conversation: u64,
        /// What happened.
        alert: Alert,
    },
    /// A CRM notification (E3): to agents, a customer added the account or answered a
    /// friend request; to a customer, an account asks it to become a friend.
    ContactNotice(crate::crm::ContactNotice),
    /// An ephemeral signal from the other side of one of the connection's conversations.
    Signal {
        /// The conversation.
        conversation: u64,
        /// Who sent it: the customer, or the agent serving the conversation.
        from: Party,
        /// The signal.
        signal: Signal,
    },
    /// To a customer: the account's presence changed (§7.14).
    AccountPresenceChanged {
        /// The new presence.
        presence: Presence,
    },
    /// To the serving agent: a conversation was flagged idle (the customer did not
    /// reply in time, M3) or, `idle` false, the customer's reply cleared the flag.
    IdleChanged(crate::automation::IdleInfo),
    /// To the receiving agent (and the sender's session): an internal message (C11).
    InternalMessage(crate::internal::InternalMessage),
    /// To a customer: the menu prompt it is at (after `OpenConversation` in an account
    /// with the navigation menu on, M4).
    MenuShown(crate::menu::MenuPrompt),
    /// To the agents shown a queued conversation, and to the agent it is assigned to:
    /// the labels its customer clicked in the menu (only when it walked one).
    MenuPath(crate::menu::MenuPath),
    /// A customer message to an agent that muted the customer (§3.11.3 来消息不提示):
    /// the same message as `Message` carries, delivered and counted unread, but the
    /// client makes no sound nor flash for it.
    QuietMessage(MessageInfo),
    /// To the receiver: a file is offered online (`FileOffer`); answer with `FileAnswer`.
    FileOffered {
        /// The transfer.
        transfer: u64,
        /// Who offers it.
        from: Party,
        /// The conversation it belongs to, if any (none between two agents).
        conversation: Option<u64>,
        /// Name, size, hash, image.
        meta: crate::files::FileMeta,
    },
    /// To the sender: it may send up to (not including) byte `window_end`.
    FileCredit {
        /// The transfer.
        transfer: u64,
        /// Bytes the sender may have sent in all, from the start.
        window_end: u64,
    },
    /// To the receiver: the next chunk.
    FileChunk {
        /// The transfer.
        transfer: u64,
        /// Offset of its first byte.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// To a side of a transfer: it ended before its last byte, and why.
    FileEnded {
        /// The transfer.
        transfer: u64,
        /// Why.
        reason: crate::files::FileEnd,
    },
    /// To the recipient: an offline file is waiting (`FetchFile` with its token).
    OfflineFile(crate::files::OfflineFileInfo),
    /// To a customer, right after a broadcast's `Message`: which broadcast it came from
    /// and whether replies to it are blocked (§9.4: the client shows that it cannot be
    /// replied to; section 30.9).
    FromBroadcast {
        /// The broadcast.
        broadcast: u64,
        /// The message just pushed.
        message: u64,
        /// Replies blocked: `ReplyToBroadcast` is refused.
        replies_blocked: bool,
    },
    /// To the account's administrator (agent 1001): the preview of a broadcast draft
    /// (`PreviewBroadcast`, §9.3; section 30.8).
    BroadcastPreview {
        /// The agent previewing it.
        from: u32,
        /// What the broadcast would send.
        body: crate::chat::MessageBody,
    },
    /// To a visitor on the site: an invitation to chat (manual or automatic, §4.6);
    /// answer with `AnswerInvitation`.
    Invitation(crate::web::Invitation),
    /// To the agents of the account: a visitor arrived on the site (到站访客, the
    /// visitors icon lights up, §4.6.1).
    VisitorArrived(crate::web::SiteVisitor),
    /// To the customer: rate the conversation that just closed (`RateConversation`).
    CsatSurvey(crate::csat::CsatSurvey),
    /// To a recipient of a survey broadcast, after its message and `FromBroadcast`:
    /// the survey to answer with `AnswerSurvey` (section 35.5); to agent 1001 as a
    /// preview, with `broadcast` 0.
    SurveyBroadcast {
        /// The broadcast (0: a preview).
        broadcast: u64,
        /// The survey.
        form: crate::survey::SurveyForm,
    },
}

/// One agent's new presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceChange {
    /// Agent number.
    pub agent: u32,
    /// New presence.
    pub presence: Presence,
}

/// A numbered push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Push {
    /// Sequence number on this connection, from 1.
    pub seq: u64,
    /// The event.
    pub event: Event,
}

macro_rules! body_kind {
    ($($t:ty => $k:ident),* $(,)?) => { $(impl Body for $t { const KIND: FrameKind = FrameKind::$k; })* };
}

body_kind! {
    Hello => Hello,
    Welcome => Welcome,
    Request => Request,
    Response => Response,
    ErrorBody => Error,
    Push => Push,
    PushAck => PushAck,
    Ping => Ping,
    Pong => Pong,
    GoAway => GoAway,
    GoAwayTo => GoAwayTo,
}

impl Request {
    /// Wraps `request` to run on `account` with operator authority (admin socket only).
    pub fn on_account(account: u64, request: &Request) -> Request {
        Request::AdminOnAccount {
            account,
            request: request.encode(),
        }
    }

    /// Whether this request logs a connection in to an account (password, resume,
    /// customer, visitor, centre and read-only logins): what a redirect is followed for, and what
    /// an appliance checks against the accounts directory.
    pub fn is_login(&self) -> bool {
        matches!(
            self,
            Request::Login { .. }
                | Request::Resume { .. }
                | Request::CustomerLogin { .. }
                | Request::VisitorLogin { .. }
                | Request::CentreLogin { .. }
                | Request::CentreTicketLogin { .. }
                | Request::LoginReadOnly { .. }
        )
    }

    /// Whether this request only reads: answered from the stored data without changing
    /// anything, so a read-only session (`LoginReadOnly`) may send it and a standby may
    /// answer it from the data it follows (PROTOCOL.md 40.7). Exhaustive on purpose: a
    /// new kind does not compile until it is classified, and one left out is a write
    /// (refused `READ_ONLY_MEMBER`), never a read that changes something.
    pub fn is_read(&self) -> bool {
        match self {
            Request::ListAgents
            | Request::WhoAmI
            | Request::AdminListAccounts { .. }
            | Request::AdminShowAccount { .. }
            | Request::AdminListAgents { .. }
            | Request::AdminStats
            | Request::ListRoles
            | Request::GetAgentProfile { .. }
            | Request::GetSecurity
            | Request::ListQueue
            | Request::ListConversations
            | Request::ConversationMessages { .. }
            | Request::GetRoutingSettings
            | Request::GetContact { .. }
            | Request::SearchContacts(_)
            | Request::RecentContacts { .. }
            | Request::ContactsOnline { .. }
            | Request::ListTags
            | Request::ListGroups
            | Request::ExportContacts { .. }
            | Request::History(_)
            | Request::GetContactSettings
            | Request::ListQuickReplies
            | Request::GetAnalytics { .. }
            | Request::GetAccountPresence
            | Request::AdminClockShow
            | Request::GetServerTime
            | Request::AdminMetrics
            | Request::GetDesignatedAgent
            | Request::DesignatedChoices
            | Request::AdminBackupList
            | Request::SearchOnlineContacts(_)
            | Request::ListAgentGroups
            | Request::ServingAgent
            | Request::GetAgentPrefs
            | Request::GetReminderSettings
            | Request::GetContactOwners { .. }
            | Request::GetIdleSettings
            | Request::ListIdleConversations
            | Request::InternalHistory { .. }
            | Request::SearchInternal { .. }
            | Request::GetNavigationMenu
            | Request::GetMenuPath { .. }
            | Request::GetSpamFilter
            | Request::ListTrash
            | Request::ListMuted
            | Request::AdminSmsBalance { .. }
            | Request::AdminSmsDeadLetters { .. }
            | Request::AdminBalanceShow { .. }
            | Request::GetBalance { .. }
            | Request::ListBroadcasts { .. }
            | Request::AdminBroadcastReviewList { .. }
            | Request::ListEntryCodes
            | Request::GetEntryCode { .. }
            | Request::ListSiteVisitors
            | Request::GetVisitorTrail { .. }
            | Request::GetAutoInvite
            | Request::GetVisitTrend { .. }
            | Request::GetSiteAnalytics { .. }
            | Request::GetWorkReport { .. }
            | Request::ListSurveys { .. }
            | Request::GetSurveyResult { .. }
            | Request::ListOpenSurveys
            | Request::ExportReport { .. }
            | Request::ExportChunk { .. }
            | Request::GetCsatSettings
            | Request::CsatReport(_)
            | Request::GetAllowedOrigins
            | Request::ListBroadcastPage { .. }
            | Request::GetBroadcastCustomers { .. }
            | Request::AdminBroadcastReviewQueue { .. }
            | Request::GetEnterpriseProfile
            | Request::GetChatWindowStyle
            | Request::GetWindowStyle
            | Request::AdminProfileReviewQueue { .. }
            | Request::AdminExportAccount { .. }
            | Request::AdminAccountChanges { .. } => true,
            Request::Login { .. }
            | Request::Resume { .. }
            | Request::Logout
            | Request::SetPresence { .. }
            | Request::AddAgent { .. }
            | Request::SetAgentPassword { .. }
            | Request::ChangeOwnPassword { .. }
            | Request::ChangeSuperPassword { .. }
            | Request::AdminCreateAccount { .. }
            | Request::AdminAddAgent { .. }
            | Request::AdminSetAgentPassword { .. }
            | Request::CreateRole { .. }
            | Request::UpdateRole { .. }
            | Request::DeleteRole { .. }
            | Request::SetAgentRole { .. }
            | Request::SetAgentProfile { .. }
            | Request::SetSecurityLevel { .. }
            | Request::BindToken { .. }
            | Request::UnbindToken { .. }
            | Request::CalibrateToken { .. }
            | Request::AdminOnAccount { .. }
            | Request::AdminImportTokens { .. }
            | Request::AdminUnlockToken { .. }
            | Request::AdminUnlockAgent { .. }
            | Request::CustomerLogin { .. }
            | Request::VisitorLogin { .. }
            | Request::OpenConversation { .. }
            | Request::SendMessage { .. }
            | Request::SetAutoAccept { .. }
            | Request::AcceptConversation { .. }
            | Request::CloseConversation { .. }
            | Request::AdminRotateCustomerKey { .. }
            | Request::TransferConversation { .. }
            | Request::GrabConversation { .. }
            | Request::SetRoutingSettings { .. }
            | Request::Reselect { .. }
            | Request::InitiateConversation { .. }
            | Request::LogoutWith { .. }
            | Request::CreateContact { .. }
            | Request::UpdateContact { .. }
            | Request::SetContactState { .. }
            | Request::DeleteContacts { .. }
            | Request::EditTags(_)
            | Request::EditGroups(_)
            | Request::ImportContacts { .. }
            | Request::RequestContact { .. }
            | Request::AnswerContactRequest { .. }
            | Request::AddAccount { .. }
            | Request::SetContactSettings { .. }
            | Request::SetQuickReplies { .. }
            | Request::AccountCentreTicket { .. }
            | Request::Broadcast { .. }
            | Request::Signal { .. }
            | Request::SetAccountPresenceMode { .. }
            | Request::AdminClockSet { .. }
            | Request::AdminClockAdvance { .. }
            | Request::EnableResume
            | Request::ResumeSession { .. }
            | Request::AdminCheckStorage
            | Request::AdminDeleteAccount { .. }
            | Request::SetDesignatedAgent { .. }
            | Request::AdminBackupCreate
            | Request::AdminBackupVerify { .. }
            | Request::MarkRead { .. }
            | Request::OrderConversations { .. }
            | Request::SetAgentPrefs { .. }
            | Request::SetReminderSettings { .. }
            | Request::RequestContactFiled { .. }
            | Request::SetIdleSettings { .. }
            | Request::SendInternal { .. }
            | Request::SetNavigationMenu { .. }
            | Request::ChooseMenuOption { .. }
            | Request::SetSpamFilter { .. }
            | Request::AcceptFromTrash { .. }
            | Request::MuteCustomer { .. }
            | Request::ForwardSms { .. }
            | Request::AdminSmsTopUp { .. }
            | Request::AdminSmsReply { .. }
            | Request::FileOffer { .. }
            | Request::FileAnswer { .. }
            | Request::FileCredit { .. }
            | Request::FileChunk { .. }
            | Request::FileCancel { .. }
            | Request::UploadFile { .. }
            | Request::UploadChunk { .. }
            | Request::FinishUpload { .. }
            | Request::ListOfflineFiles
            | Request::FetchFile { .. }
            | Request::FetchChunk { .. }
            | Request::AdminBalanceTopUp { .. }
            | Request::SubmitBroadcast { .. }
            | Request::CancelBroadcast { .. }
            | Request::ResubmitBroadcast { .. }
            | Request::AdminBroadcastDecide { .. }
            | Request::AdminSetSensitiveWords { .. }
            | Request::PreviewBroadcast { .. }
            | Request::ReplyToBroadcast { .. }
            | Request::CreateEntryCode { .. }
            | Request::EditEntryCode { .. }
            | Request::DeleteEntryCode { .. }
            | Request::OpenConversationByCode { .. }
            | Request::PageView(_)
            | Request::PageLeft
            | Request::InviteVisitor { .. }
            | Request::AnswerInvitation { .. }
            | Request::SetAutoInvite { .. }
            | Request::CreateSurvey { .. }
            | Request::EditSurvey { .. }
            | Request::CloseSurvey { .. }
            | Request::AnswerSurvey { .. }
            | Request::SetCsatSettings(_)
            | Request::RateConversation { .. }
            | Request::SetAllowedOrigins { .. }
            | Request::CentreLogin { .. }
            | Request::CentreTicketLogin { .. }
            | Request::SubmitSurveyBroadcast { .. }
            | Request::PreviewSurveyBroadcast { .. }
            | Request::SubmitEnterpriseProfile { .. }
            | Request::SubmitChatWindowStyle { .. }
            | Request::AdminReviewProfile { .. }
            | Request::AdminFreezeAccount { .. }
            | Request::AdminImportAccount { .. }
            | Request::AdminAccountMoved { .. }
            | Request::LoginReadOnly { .. }
            | Request::AdminApplyAccountChanges { .. } => false,
        }
    }

    /// A short stable name for logs and the authorisation table.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Login { .. } => "Login",
            Request::Resume { .. } => "Resume",
            Request::Logout => "Logout",
            Request::SetPresence { .. } => "SetPresence",
            Request::AddAgent { .. } => "AddAgent",
            Request::SetAgentPassword { .. } => "SetAgentPassword",
            Request::ChangeOwnPassword { .. } => "ChangeOwnPassword",
            Request::ChangeSuperPassword { .. } => "ChangeSuperPassword",
            Request::ListAgents => "ListAgents",
            Request::WhoAmI => "WhoAmI",
            Request::AdminCreateAccount { .. } => "AdminCreateAccount",
            Request::AdminListAccounts { .. } => "AdminListAccounts",
            Request::AdminShowAccount { .. } => "AdminShowAccount",
            Request::AdminAddAgent { .. } => "AdminAddAgent",
            Request::AdminSetAgentPassword { .. } => "AdminSetAgentPassword",
            Request::AdminListAgents { .. } => "AdminListAgents",
            Request::AdminStats => "AdminStats",
            Request::ListRoles => "ListRoles",
            Request::CreateRole { .. } => "CreateRole",
            Request::UpdateRole { .. } => "UpdateRole",
            Request::DeleteRole { .. } => "DeleteRole",
            Request::SetAgentRole { .. } => "SetAgentRole",
            Request::GetAgentProfile { .. } => "GetAgentProfile",
            Request::SetAgentProfile { .. } => "SetAgentProfile",
            Request::SetSecurityLevel { .. } => "SetSecurityLevel",
            Request::GetSecurity => "GetSecurity",
            Request::BindToken { .. } => "BindToken",
            Request::UnbindToken { .. } => "UnbindToken",
            Request::CalibrateToken { .. } => "CalibrateToken",
            Request::AdminOnAccount { .. } => "AdminOnAccount",
            Request::AdminImportTokens { .. } => "AdminImportTokens",
            Request::AdminUnlockToken { .. } => "AdminUnlockToken",
            Request::AdminUnlockAgent { .. } => "AdminUnlockAgent",
            Request::CustomerLogin { .. } => "CustomerLogin",
            Request::VisitorLogin { .. } => "VisitorLogin",
            Request::OpenConversation { .. } => "OpenConversation",
            Request::SendMessage { .. } => "SendMessage",
            Request::SetAutoAccept { .. } => "SetAutoAccept",
            Request::ListQueue => "ListQueue",
            Request::ListConversations => "ListConversations",
            Request::AcceptConversation { .. } => "AcceptConversation",
            Request::CloseConversation { .. } => "CloseConversation",
            Request::AdminRotateCustomerKey { .. } => "AdminRotateCustomerKey",
            Request::TransferConversation { .. } => "TransferConversation",
            Request::GrabConversation { .. } => "GrabConversation",
            Request::ConversationMessages { .. } => "ConversationMessages",
            Request::GetRoutingSettings => "GetRoutingSettings",
            Request::SetRoutingSettings { .. } => "SetRoutingSettings",
            Request::Reselect { .. } => "Reselect",
            Request::InitiateConversation { .. } => "InitiateConversation",
            Request::LogoutWith { .. } => "LogoutWith",
            Request::CreateContact { .. } => "CreateContact",
            Request::GetContact { .. } => "GetContact",
            Request::UpdateContact { .. } => "UpdateContact",
            Request::SetContactState { .. } => "SetContactState",
            Request::DeleteContacts { .. } => "DeleteContacts",
            Request::SearchContacts(_) => "SearchContacts",
            Request::RecentContacts { .. } => "RecentContacts",
            Request::ContactsOnline { .. } => "ContactsOnline",
            Request::ListTags => "ListTags",
            Request::EditTags(_) => "EditTags",
            Request::ListGroups => "ListGroups",
            Request::EditGroups(_) => "EditGroups",
            Request::ImportContacts { .. } => "ImportContacts",
            Request::ExportContacts { .. } => "ExportContacts",
            Request::History(_) => "History",
            Request::RequestContact { .. } => "RequestContact",
            Request::AnswerContactRequest { .. } => "AnswerContactRequest",
            Request::AddAccount { .. } => "AddAccount",
            Request::GetContactSettings => "GetContactSettings",
            Request::SetContactSettings { .. } => "SetContactSettings",
            Request::ListQuickReplies => "ListQuickReplies",
            Request::SetQuickReplies { .. } => "SetQuickReplies",
            Request::GetAnalytics { .. } => "GetAnalytics",
            Request::AccountCentreTicket { .. } => "AccountCentreTicket",
            Request::Broadcast { .. } => "Broadcast",
            Request::Signal { .. } => "Signal",
            Request::SetAccountPresenceMode { .. } => "SetAccountPresenceMode",
            Request::GetAccountPresence => "GetAccountPresence",
            Request::AdminClockShow => "AdminClockShow",
            Request::AdminClockSet { .. } => "AdminClockSet",
            Request::AdminClockAdvance { .. } => "AdminClockAdvance",
            Request::EnableResume => "EnableResume",
            Request::ResumeSession { .. } => "ResumeSession",
            Request::GetServerTime => "GetServerTime",
            Request::AdminMetrics => "AdminMetrics",
            Request::AdminCheckStorage => "AdminCheckStorage",
            Request::AdminDeleteAccount { .. } => "AdminDeleteAccount",
            Request::GetDesignatedAgent => "GetDesignatedAgent",
            Request::SetDesignatedAgent { .. } => "SetDesignatedAgent",
            Request::DesignatedChoices => "DesignatedChoices",
            Request::AdminBackupCreate => "AdminBackupCreate",
            Request::AdminBackupList => "AdminBackupList",
            Request::AdminBackupVerify { .. } => "AdminBackupVerify",
            Request::MarkRead { .. } => "MarkRead",
            Request::OrderConversations { .. } => "OrderConversations",
            Request::SearchOnlineContacts(_) => "SearchOnlineContacts",
            Request::ListAgentGroups => "ListAgentGroups",
            Request::ServingAgent => "ServingAgent",
            Request::GetAgentPrefs => "GetAgentPrefs",
            Request::SetAgentPrefs { .. } => "SetAgentPrefs",
            Request::GetReminderSettings => "GetReminderSettings",
            Request::SetReminderSettings { .. } => "SetReminderSettings",
            Request::RequestContactFiled { .. } => "RequestContactFiled",
            Request::GetContactOwners { .. } => "GetContactOwners",
            Request::GetIdleSettings => "GetIdleSettings",
            Request::SetIdleSettings { .. } => "SetIdleSettings",
            Request::ListIdleConversations => "ListIdleConversations",
            Request::SendInternal { .. } => "SendInternal",
            Request::InternalHistory { .. } => "InternalHistory",
            Request::SearchInternal { .. } => "SearchInternal",
            Request::GetNavigationMenu => "GetNavigationMenu",
            Request::SetNavigationMenu { .. } => "SetNavigationMenu",
            Request::ChooseMenuOption { .. } => "ChooseMenuOption",
            Request::GetMenuPath { .. } => "GetMenuPath",
            Request::GetSpamFilter => "GetSpamFilter",
            Request::SetSpamFilter { .. } => "SetSpamFilter",
            Request::ListTrash => "ListTrash",
            Request::AcceptFromTrash { .. } => "AcceptFromTrash",
            Request::MuteCustomer { .. } => "MuteCustomer",
            Request::ListMuted => "ListMuted",
            Request::ForwardSms { .. } => "ForwardSms",
            Request::AdminSmsTopUp { .. } => "AdminSmsTopUp",
            Request::AdminSmsBalance { .. } => "AdminSmsBalance",
            Request::AdminSmsDeadLetters { .. } => "AdminSmsDeadLetters",
            Request::AdminSmsReply { .. } => "AdminSmsReply",
            Request::FileOffer { .. } => "FileOffer",
            Request::FileAnswer { .. } => "FileAnswer",
            Request::FileCredit { .. } => "FileCredit",
            Request::FileChunk { .. } => "FileChunk",
            Request::FileCancel { .. } => "FileCancel",
            Request::UploadFile { .. } => "UploadFile",
            Request::UploadChunk { .. } => "UploadChunk",
            Request::FinishUpload { .. } => "FinishUpload",
            Request::ListOfflineFiles => "ListOfflineFiles",
            Request::FetchFile { .. } => "FetchFile",
            Request::FetchChunk { .. } => "FetchChunk",
            Request::AdminBalanceTopUp { .. } => "AdminBalanceTopUp",
            Request::AdminBalanceShow { .. } => "AdminBalanceShow",
            Request::GetBalance { .. } => "GetBalance",
            Request::SubmitBroadcast { .. } => "SubmitBroadcast",
            Request::CancelBroadcast { .. } => "CancelBroadcast",
            Request::ResubmitBroadcast { .. } => "ResubmitBroadcast",
            Request::ListBroadcasts { .. } => "ListBroadcasts",
            Request::AdminBroadcastReviewList { .. } => "AdminBroadcastReviewList",
            Request::AdminBroadcastDecide { .. } => "AdminBroadcastDecide",
            Request::AdminSetSensitiveWords { .. } => "AdminSetSensitiveWords",
            Request::PreviewBroadcast { .. } => "PreviewBroadcast",
            Request::ReplyToBroadcast { .. } => "ReplyToBroadcast",
            Request::ListEntryCodes => "ListEntryCodes",
            Request::CreateEntryCode { .. } => "CreateEntryCode",
            Request::EditEntryCode { .. } => "EditEntryCode",
            Request::DeleteEntryCode { .. } => "DeleteEntryCode",
            Request::GetEntryCode { .. } => "GetEntryCode",
            Request::OpenConversationByCode { .. } => "OpenConversationByCode",
            Request::PageView(_) => "PageView",
            Request::PageLeft => "PageLeft",
            Request::ListSiteVisitors => "ListSiteVisitors",
            Request::GetVisitorTrail { .. } => "GetVisitorTrail",
            Request::InviteVisitor { .. } => "InviteVisitor",
            Request::AnswerInvitation { .. } => "AnswerInvitation",
            Request::GetAutoInvite => "GetAutoInvite",
            Request::SetAutoInvite { .. } => "SetAutoInvite",
            Request::GetVisitTrend { .. } => "GetVisitTrend",
            Request::GetSiteAnalytics { .. } => "GetSiteAnalytics",
            Request::GetWorkReport { .. } => "GetWorkReport",
            Request::CreateSurvey { .. } => "CreateSurvey",
            Request::EditSurvey { .. } => "EditSurvey",
            Request::CloseSurvey { .. } => "CloseSurvey",
            Request::ListSurveys { .. } => "ListSurveys",
            Request::GetSurveyResult { .. } => "GetSurveyResult",
            Request::ListOpenSurveys => "ListOpenSurveys",
            Request::AnswerSurvey { .. } => "AnswerSurvey",
            Request::ExportReport { .. } => "ExportReport",
            Request::ExportChunk { .. } => "ExportChunk",
            Request::GetCsatSettings => "GetCsatSettings",
            Request::SetCsatSettings(_) => "SetCsatSettings",
            Request::RateConversation { .. } => "RateConversation",
            Request::CsatReport(_) => "CsatReport",
            Request::SetAllowedOrigins { .. } => "SetAllowedOrigins",
            Request::GetAllowedOrigins => "GetAllowedOrigins",
            Request::ListBroadcastPage { .. } => "ListBroadcastPage",
            Request::GetBroadcastCustomers { .. } => "GetBroadcastCustomers",
            Request::AdminBroadcastReviewQueue { .. } => "AdminBroadcastReviewQueue",
            Request::CentreLogin { .. } => "CentreLogin",
            Request::CentreTicketLogin { .. } => "CentreTicketLogin",
            Request::SubmitSurveyBroadcast { .. } => "SubmitSurveyBroadcast",
            Request::PreviewSurveyBroadcast { .. } => "PreviewSurveyBroadcast",
            Request::GetEnterpriseProfile => "GetEnterpriseProfile",
            Request::SubmitEnterpriseProfile { .. } => "SubmitEnterpriseProfile",
            Request::GetChatWindowStyle => "GetChatWindowStyle",
            Request::SubmitChatWindowStyle { .. } => "SubmitChatWindowStyle",
            Request::GetWindowStyle => "GetWindowStyle",
            Request::AdminProfileReviewQueue { .. } => "AdminProfileReviewQueue",
            Request::AdminReviewProfile { .. } => "AdminReviewProfile",
            Request::AdminFreezeAccount { .. } => "AdminFreezeAccount",
            Request::AdminExportAccount { .. } => "AdminExportAccount",
            Request::AdminImportAccount { .. } => "AdminImportAccount",
            Request::AdminAccountMoved { .. } => "AdminAccountMoved",
            Request::LoginReadOnly { .. } => "LoginReadOnly",
            Request::AdminAccountChanges { .. } => "AdminAccountChanges",
            Request::AdminApplyAccountChanges { .. } => "AdminApplyAccountChanges",
        }
    }
}
