//! Types of the conversation feature (customers, conversations, messages),
//! carried inside `Request`, `Response` and `Event` variants.

use serde::{Deserialize, Serialize};

/// How a customer is known to an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CustomerId {
    /// A customer the enterprise's backend identified (its own id, 1..=64 bytes).
    Identified(String),
    /// An anonymous web visitor with a server-issued id.
    Visitor([u8; 16]),
}

/// Where a customer connects from (manual §3.13: mobile customers cannot pick agents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    /// A desktop client.
    Desktop,
    /// The web chat window.
    Web,
    /// A mobile client.
    Mobile,
}

/// How a new conversation is routed (an entry point's mode, §10.7; designated agent, §7.15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Entry {
    /// The least busy eligible agent, else the queue.
    Auto,
    /// This agent, else its queue.
    Agent(u32),
    /// The least busy eligible agent of this agent group, else the queue.
    Group(String),
}

/// What a message says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageBody {
    /// Text, emoji included (at most 4,000 characters).
    Text(String),
    /// An image, by file reference.
    Image {
        /// Reference of the stored file.
        reference: String,
    },
    /// A file, by reference.
    File {
        /// Reference of the stored file.
        reference: String,
        /// File name shown.
        name: String,
        /// Size in bytes.
        size: u64,
    },
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Party {
    /// The customer.
    Customer,
    /// An agent.
    Agent(u32),
    /// The appliance (welcome messages, auto-replies, notices).
    System,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageInfo {
    /// Conversation it belongs to.
    pub conversation: u64,
    /// Message id, increasing within the account.
    pub id: u64,
    /// When the server stored it, unix milliseconds.
    pub at: i64,
    /// Who wrote it.
    pub from: Party,
    /// What it says.
    pub body: MessageBody,
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversationState {
    /// Waiting in the queue (for anyone, or for one agent if `target` is set).
    Queued {
        /// The agent it waits for (designated, transferred to), if any.
        target: Option<u32>,
    },
    /// Served by an agent.
    Assigned {
        /// The agent.
        agent: u32,
    },
    /// Over.
    Closed,
    /// The customer is walking the account's navigation menu (M4): not routed yet,
    /// no agent sees it.
    InMenu,
}

/// A conversation as agents and customers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationInfo {
    /// Conversation id, increasing within the account.
    pub conversation: u64,
    /// The customer.
    pub customer: CustomerId,
    /// The customer's channel.
    pub channel: Channel,
    /// Where it stands.
    pub state: ConversationState,
    /// When it was opened, unix milliseconds.
    pub opened_at: i64,
    /// Messages from the customer not yet seen by the serving agent.
    pub unread: u32,
}

/// A customer's session, as a login answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerSession {
    /// Account number.
    pub account: u64,
    /// Who the customer is.
    pub customer: CustomerId,
    /// For a visitor: the token to present next time to stay the same visitor.
    pub visitor_token: Option<[u8; 32]>,
    /// The customer's open conversation, if any.
    pub conversation: Option<ConversationInfo>,
}

/// One welcome text and when it applies (manual §7.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WelcomeRule {
    /// Days it applies: bit 0 = Monday … bit 6 = Sunday.
    pub weekdays: u8,
    /// First minute of the day it applies (0..1440), in the account's offset.
    pub start_minute: u16,
    /// Minute it stops applying (exclusive; less than `start_minute` wraps past midnight).
    pub end_minute: u16,
    /// The text (at most 500 characters).
    pub text: String,
}

/// An account's routing settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingConfig {
    /// Exclusive customers (§7.17).
    pub exclusive: bool,
    /// No-response rule (§7.15): seconds before the customer may choose again; 0 = off.
    pub no_response_secs: u32,
    /// Warn the agent this many seconds before.
    pub no_response_warn_secs: u32,
    /// A transfer not taken within this many seconds goes back to its sender.
    pub transfer_timeout_secs: u32,
    /// The account's local time, minutes east of UTC (welcome periods use it).
    pub utc_offset_minutes: i16,
    /// Welcome texts by period; the first that applies is sent when a conversation opens.
    pub welcome: Vec<WelcomeRule>,
    /// Reply while the serving agent is busy (§7.3).
    pub busy_reply: Option<String>,
    /// Reply while the serving agent is away or nobody is online (§7.3).
    pub away_reply: Option<String>,
}

/// Something an agent or a customer should be told about a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Alert {
    /// To the agent: the customer has waited long; at `offer_at` (unix ms) the customer
    /// may choose another agent (§7.15).
    NoResponseWarning {
        /// When the customer is offered a new choice.
        offer_at: i64,
    },
    /// To the customer: the agent did not answer; choose again with `Reselect`.
    ChooseAgain {
        /// Agents to choose from, with their presence.
        agents: Vec<(u32, crate::message::Presence)>,
        /// Agent groups to choose from.
        groups: Vec<String>,
    },
    /// To the old agent: the customer chose someone else; the conversation closed.
    Reselected,
    /// To the target agent: a conversation is transferred to it from `from`.
    TransferOffered {
        /// The sending agent.
        from: u32,
        /// When it goes back to the sender if not taken (unix ms).
        deadline: i64,
    },
    /// To the sender: the target did not take the transfer in time; it is yours again.
    TransferFailedBack {
        /// The agent that did not take it.
        to: u32,
    },
    /// To the customer: this agent serves it now ("您好，客服1001销售小王为您服务", §10.7.2).
    ServedBy {
        /// Agent number.
        agent: u32,
        /// How the agent is shown to customers (its display setting).
        name: String,
    },
    /// To the customer: the conversation waits for this agent, who is away, busy or at
    /// its cap ("正在等待客服1001销售小王接入", §10.7.2). The customer may wait, write (the
    /// messages are kept for the agent) or choose again with `Reselect`.
    WaitingForAgent {
        /// Agent number.
        agent: u32,
        /// How the agent is shown to customers.
        name: String,
    },
    /// To the serving agent: it answered after a `NoResponseWarning`; the warning is
    /// over (§7.15 "如果客服在收到提示后立即做出响应，则提示消失").
    NoResponseCleared,
    /// To the agent that served the conversation: `by` grabbed it (§3.9); it no longer
    /// serves it.
    GrabbedBy {
        /// The grabbing agent.
        by: u32,
    },
    /// To the sender of a transfer: the target took the conversation; the sender no
    /// longer serves it.
    TransferCompleted {
        /// The agent that took it.
        to: u32,
    },
    /// To the sender of a transfer: the target could not take it at once (away, busy or
    /// at its cap); it waits in the target's queue until `deadline` (unix ms).
    TransferWaiting {
        /// The target.
        to: u32,
        /// When it fails back if not taken.
        deadline: i64,
    },
    /// To the customer, after its message in a conversation while no agent of the
    /// account is online (§3.6, §4.5.2): the message is kept and the next agent to take
    /// the conversation gets it; the agents listed have a bound phone, and the message
    /// may be forwarded to one of them by SMS (`ForwardSms`). Told once per wait.
    NobodyOnline {
        /// Agents with a bound phone, as customers are shown them (at most 50).
        phones: Vec<crate::message::ShownAgent>,
    },
}

/// Designated agent (指定客服, §7.15): what a customer chooses from when it first
/// contacts the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DesignatedMode {
    /// Off (the default): customers do not choose.
    Off,
    /// 指定到客服: customers choose an agent.
    Agents,
    /// 指定到客服分组: customers choose an agent group.
    Groups,
}

/// The account's designated-agent settings (§7.15; permission 12 to change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesignatedSettings {
    /// What customers choose from.
    pub mode: DesignatedMode,
    /// 不显示离线客服: leave offline agents (groups with no member online) out of the list.
    pub hide_offline: bool,
    /// 长时间未响应提示: the no-response rule, a sub-option of designated agent. It applies
    /// only while `mode` is not `Off` (and not in exclusive mode); its timeout is
    /// `RoutingConfig.no_response_secs`.
    pub no_response: bool,
}

/// One agent a customer may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentChoice {
    /// Agent number.
    pub agent: u32,
    /// How the agent is shown to customers.
    pub name: String,
    /// Its presence now.
    pub presence: crate::message::Presence,
}

/// One agent group a customer may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChoice {
    /// Group name.
    pub name: String,
    /// Whether some member is not offline.
    pub online: bool,
}

/// What a customer may choose from (`DesignatedChoices`): agents or groups, one of the
/// two lists empty; both empty when the customer does not choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceList {
    /// Agents, in agent-number order.
    pub agents: Vec<AgentChoice>,
    /// Groups, in name order.
    pub groups: Vec<GroupChoice>,
    /// The agent that served the customer before, if any: an `Auto` entry goes to it.
    pub previous: Option<u32>,
}

/// Largest `CallSignal.payload`, bytes (16 KiB).
pub const MAX_CALL_PAYLOAD: usize = 16 * 1024;

/// An ephemeral signal between a conversation's customer and the agent serving it
/// (C12, manual §4.1–4.4): relayed to the other side if it is connected, never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    /// The sender started typing.
    TypingStarted,
    /// The sender stopped typing (sent, or cleared its input).
    TypingStopped,
    /// Shake the other side's window (窗口抖动); at most one per 5 seconds per sender
    /// and conversation.
    Shake,
    /// Voice, video or remote-assistance signalling, relayed opaquely.
    Call(CallSignal),
}

/// One step of call or remote-assistance signalling; the server reads only its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSignal {
    /// What kind of session.
    pub kind: CallKind,
    /// Which step.
    pub phase: CallPhase,
    /// Chosen by the side that offers; both sides use it in every step of that call.
    pub call: u64,
    /// Opaque to the server (an SDP, an ICE candidate, …), at most [`MAX_CALL_PAYLOAD`] bytes.
    pub payload: Vec<u8>,
}

/// The kind of a call (§4.1, §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallKind {
    /// A voice call.
    Voice,
    /// A video call.
    Video,
    /// Remote assistance: the side that offers shows its desktop to the other.
    RemoteAssist,
}

/// A step of call signalling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallPhase {
    /// The caller proposes a session.
    Offer,
    /// The callee accepts it.
    Answer,
    /// A network candidate of either side.
    IceCandidate,
    /// Either side ends (or declines) the session.
    HangUp,
}

/// How the account's main identity (主号) shows its presence to customers (§7.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountPresenceMode {
    /// Always shown online (永久在线).
    AlwaysOnline,
    /// The best presence of the account's agents: Online > Busy > Away > Offline (the
    /// default).
    FromAgents,
}
