//! What the routing engine hands back: [`Effect`]s for the shard to store and push,
//! and [`RoutingError`] refusals.

use super::state::QueueTarget;
use kefu_wire::chat::{Channel, CustomerId, Entry, Party};
use kefu_wire::Presence;

/// Why a conversation was assigned to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignReason {
    /// Routing chose the agent: auto, designated agent or group, exclusive owner, or
    /// auto-accept from the queue when the agent became eligible.
    Auto,
    /// The agent accepted it from the queue by hand.
    Accepted,
    /// It came by a transfer from `from` (at once, or taken from the target's
    /// queue by hand or by auto-accept). Completes the transfer.
    Transferred {
        /// The agent who transferred it.
        from: u32,
    },
    /// The agent grabbed it from `from`, who no longer serves it.
    Grabbed {
        /// The agent who served it before.
        from: u32,
    },
    /// The agent opened the conversation with the customer itself.
    Initiated,
    /// A transfer to `target` timed out and the conversation went back to its sender.
    FailedBack {
        /// The agent that did not take it in time.
        target: u32,
    },
}

/// Why a conversation closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Somebody closed it (see `by`).
    Requested,
    /// Its agent logged out choosing "close all conversations".
    AgentLoggedOut,
    /// The customer chose another agent or group after the no-response offer.
    Reselected,
    /// The trash was full: its oldest conversation made room (`trash.rs`).
    TrashFull,
}

/// Which automatic reply was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoReplyKind {
    /// The account's reply for busy (§7.3).
    Busy,
    /// The account's reply for away (§7.3); also used when nobody is online.
    Away,
    /// The serving agent's personal reply (§7.4).
    Personal,
}

impl AutoReplyKind {
    /// A small index per kind (0 busy, 1 away, 2 personal): the slot of its rate limit.
    pub(crate) const fn index(self) -> usize {
        match self {
            AutoReplyKind::Busy => 0,
            AutoReplyKind::Away => 1,
            AutoReplyKind::Personal => 2,
        }
    }
}

/// Which list a customer chooses from (§7.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// A list of agents.
    Agents,
    /// A list of agent groups.
    Groups,
}

/// One entry of a list a customer chooses from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// An agent and its presence now.
    Agent {
        /// Agent number.
        agent: u32,
        /// Its presence.
        presence: Presence,
    },
    /// An agent group.
    Group {
        /// Group name.
        name: String,
        /// Whether some member is not offline.
        online: bool,
    },
}

/// Something the shard must do after an input: store a record, push an event.
///
/// `Opened`, `Assigned`, `Queued` and `Closed` are the *state* effects: exactly
/// one per change of where a conversation stands. The rest are notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A conversation was created (followed by `Assigned` or `Queued`).
    Opened {
        /// New conversation id.
        conversation: u64,
        /// The customer.
        customer: CustomerId,
        /// The customer's channel.
        channel: Channel,
        /// The entry the customer (or agent, for `initiate`) came through.
        entry: Entry,
        /// When.
        at: i64,
    },
    /// The conversation is now served by `agent` (tell the agent and the customer;
    /// for `Grabbed`, also tell the old agent it lost the conversation).
    Assigned {
        /// Conversation id.
        conversation: u64,
        /// The customer.
        customer: CustomerId,
        /// The agent who serves it now.
        agent: u32,
        /// Why.
        reason: AssignReason,
        /// When.
        at: i64,
    },
    /// The conversation waits in the queue (tell the agents who may see it).
    Queued {
        /// Conversation id.
        conversation: u64,
        /// The customer.
        customer: CustomerId,
        /// Who it waits for.
        target: QueueTarget,
        /// When.
        at: i64,
    },
    /// The conversation is over and gone from the engine.
    Closed {
        /// Conversation id.
        conversation: u64,
        /// The customer.
        customer: CustomerId,
        /// The agent that served it, if any.
        agent: Option<u32>,
        /// Who closed it.
        by: Party,
        /// Why.
        reason: CloseReason,
        /// When.
        at: i64,
    },
    /// A welcome message for the customer (store as a message from `Party::System`).
    Welcome {
        /// Conversation id.
        conversation: u64,
        /// The text.
        text: String,
    },
    /// An automatic reply for the customer (store as a message from `Party::System`).
    AutoReply {
        /// Conversation id.
        conversation: u64,
        /// Which reply.
        kind: AutoReplyKind,
        /// The text.
        text: String,
    },
    /// A transfer waits in `to`'s queue: tell `to` (and `from`). The conversation is
    /// `Queued` for `to` (a `Queued` effect precedes this one).
    TransferOffered {
        /// Conversation id.
        conversation: u64,
        /// Sender.
        from: u32,
        /// Target.
        to: u32,
        /// When it fails back if not taken.
        deadline: i64,
    },
    /// A transfer was not taken in time (or its target logged out): tell both
    /// agents. `returned`: back with the sender (an `Assigned` with
    /// [`AssignReason::FailedBack`] follows); otherwise the sender had logged out and
    /// the conversation was routed anew (an `Assigned` or `Queued` follows).
    TransferFailedBack {
        /// Conversation id.
        conversation: u64,
        /// Sender.
        from: u32,
        /// Target that did not take it.
        to: u32,
        /// Whether it went back to the sender.
        returned: bool,
    },
    /// The serving agent has not answered; the customer will be offered a new
    /// choice at `offer_at` (§7.15).
    NoResponseWarning {
        /// Conversation id.
        conversation: u64,
        /// The serving agent.
        agent: u32,
        /// When the offer goes to the customer.
        offer_at: i64,
    },
    /// The warned agent answered: tell it the warning is over (§7.15).
    NoResponseCleared {
        /// Conversation id.
        conversation: u64,
        /// The serving agent.
        agent: u32,
    },
    /// Offer the customer to choose another agent or group (§7.15); it answers
    /// with `reselect`.
    OfferReselection {
        /// Conversation id.
        conversation: u64,
        /// The customer.
        customer: CustomerId,
        /// What it may choose from (offline ones and the current agent left out).
        choices: Vec<Choice>,
    },
    /// Tell `agent` that the customer chose someone else and the conversation
    /// closed. `deliver_now == false`: the agent is logged out; the engine keeps
    /// the notice and emits it again (with `true`) at the agent's next login, so
    /// the shard stores it until then.
    ReselectedNotice {
        /// The old agent.
        agent: u32,
        /// The closed conversation.
        conversation: u64,
        /// The customer.
        customer: CustomerId,
        /// When the customer re-selected.
        at: i64,
        /// Whether the agent is logged in to receive it now.
        deliver_now: bool,
    },
    /// Exclusive mode: `customer` is now owned by `to` (first service, or rule e).
    OwnershipMoved {
        /// The customer.
        customer: CustomerId,
        /// The previous owner, if any.
        from: Option<u32>,
        /// The new owner.
        to: u32,
    },
    /// The account's presence as customers see it changed (§7.14).
    AccountPresenceChanged {
        /// The new presence.
        presence: Presence,
    },
}

/// A refused input. Every variant is the requester's fault (answer it and carry
/// on) except [`RoutingError::InvalidSettings`] (configuration) and, from
/// `restore`, [`RoutingError::DuplicateConversation`] and
/// [`RoutingError::InvalidRestore`] (storage holds an inconsistent picture). A refusal changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoutingError {
    /// No open conversation has this id.
    #[error("no open conversation {0}")]
    NoSuchConversation(u64),
    /// The agent is not known to the account's routing.
    #[error("unknown agent {0}")]
    UnknownAgent(u32),
    /// The agent is known already (`add_agent`).
    #[error("agent {0} is known already")]
    AgentExists(u32),
    /// No agent belongs to this group.
    #[error("no agent belongs to group {0:?}")]
    UnknownGroup(String),
    /// The agent must be logged in for this.
    #[error("agent {0} is not logged in")]
    NotLoggedIn(u32),
    /// The conversation is already served (by `agent`, which may be the requester).
    #[error("conversation {conversation} is already served by agent {agent}")]
    AlreadyAssigned {
        /// Conversation id.
        conversation: u64,
        /// Its agent.
        agent: u32,
    },
    /// The agent does not serve this conversation (close, transfer, messages).
    #[error("agent {agent} does not serve conversation {conversation}")]
    NotServing {
        /// Conversation id.
        conversation: u64,
        /// The requesting agent.
        agent: u32,
    },
    /// The queued conversation is not one this agent may see and accept.
    #[error("agent {agent} may not accept conversation {conversation}")]
    NotAllowed {
        /// Conversation id.
        conversation: u64,
        /// The requesting agent.
        agent: u32,
    },
    /// A grab needs a served conversation; this one waits in the queue (accept it).
    #[error("conversation {0} is not served by anyone")]
    NotAssigned(u64),
    /// A transfer's target is logged out or shows offline.
    #[error("agent {0} is offline")]
    TargetOffline(u32),
    /// A transfer to oneself.
    #[error("cannot transfer a conversation to oneself")]
    TransferToSelf,
    /// A transfer's target is online with auto-accept on and serves its cap already
    /// (full, §3.5: only an agent "接入数未达上限" takes a transfer at once; one away or
    /// busy lets it wait, a full one is refused).
    #[error("agent {agent} is full: it serves {cap} conversations, its auto-accept limit")]
    TargetFull {
        /// The target.
        agent: u32,
        /// Its auto-accept cap, reached.
        cap: u32,
    },
    /// Grabbing needs permission 2.
    #[error("grabbing needs the grab permission")]
    GrabPermissionRequired,
    /// Grabbing needs the agent's confirmation; ask and send again confirmed.
    #[error("conversation {conversation} is served by agent {holder}: confirm to grab it")]
    ConfirmationRequired {
        /// Conversation id.
        conversation: u64,
        /// The agent serving it now (the one it would be grabbed from).
        holder: u32,
    },
    /// Kept for `agent`, who logged out keeping its conversations (§3.12).
    #[error("conversation {conversation} is kept for agent {agent} until it logs in")]
    Kept {
        /// Conversation id.
        conversation: u64,
        /// The agent it is kept for.
        agent: u32,
    },
    /// Exclusive rule c: the customer belongs to `owner`.
    #[error("the customer is exclusive to agent {owner}")]
    ExclusiveCustomer {
        /// The owning agent.
        owner: u32,
    },
    /// The customer was not offered a new choice for this conversation.
    #[error("conversation {0} was not offered a new choice")]
    ReselectionNotOffered(u64),
    /// The auto-accept cap can only be changed in status Online (§3.3.2).
    #[error("agent {0} must be online to change its auto-accept cap")]
    CapNeedsOnline(u32),
    /// A setting is out of range (which one is said).
    #[error("invalid routing settings: {0}")]
    InvalidSettings(&'static str),
    /// `restore`: the conversation id, or an open conversation of the customer,
    /// exists already (the existing id is given).
    #[error("conversation {0} is open already")]
    DuplicateConversation(u64),
    /// `restore`: the stored picture is inconsistent (which way is said).
    #[error("cannot restore: {0}")]
    InvalidRestore(&'static str),
    /// The conversation is not where the spam filter's input needs it: not in the
    /// trash (`accept_from_trash`), not held for screening (`release_screened`).
    #[error("conversation {0} is not in the trash")]
    NotInTrash(u64),
}
