//! The conversation routing engine of one account: who serves which customer, the
//! queue, transfers, grabs, exclusive customers, the no-response rule, welcome
//! messages and auto-replies — as a pure, I/O-free state machine.
//!
//! # Shape
//!
//! [`AccountRouting`] holds one account's routing state and is owned by the shard
//! thread that owns the account (no locks). Every input is a method taking the
//! request, the account's [`Owners`] when it may route, and `now` (unix
//! milliseconds); nothing here reads a clock, touches
//! storage or sends anything. A mutating method returns
//! `Result<Outcome<T>, RoutingError>`:
//!
//! - `Err` is a refusal (the peer's request cannot be honoured) and **leaves the
//!   state untouched** — every check runs before the first change.
//! - `Ok(Outcome { value, effects })`: the answer to the request, and the
//!   [`Effect`]s the shard turns into stored records and pushes, in order.
//!
//! Method families:
//!
//! - agents ([`agents`]): `add_agent`, `login`, `logout`, `set_presence`, `set_cap`,
//!   `set_group`, `set_personal_auto_reply`; queries `account_presence`,
//!   `agent_status`.
//! - conversations ([`conversation`], [`queue`], [`transfer`], [`no_response`]):
//!   `open`, `initiate`, `accept`, `transfer`, `grab`, `close`, `reselect`;
//!   messages ([`messages`]): `customer_message`, `agent_message`, `mark_read`.
//! - exclusive customers ([`exclusive`]): `owners_changed` and the check
//!   `may_initiate`; the owners themselves are the caller's ([`Owners`]).
//! - time ([`timers`]): `next_deadline` (when to call `tick` next) and `tick(now)`.
//! - queries: `queue_for`, `designated_list`, `offers_choice`, `conversation`,
//!   `conversation_of`, `served_by`.
//! - rebuilding after a restart ([`state`]): `new`, `restore`, `restore_notice`.
//!
//! Call order: build with [`AccountRouting::new`], `add_agent` every agent of the
//! account (offline), `restore` the open conversations in queue-arrival order, then
//! feed inputs as they come. After every input, and whenever the time passes
//! [`AccountRouting::next_deadline`], call [`AccountRouting::tick`].
//!
//! **State changes and notifications.** Every change of where a conversation stands
//! produces exactly one state effect — [`Effect::Opened`] (created),
//! [`Effect::Assigned`], [`Effect::Queued`] or [`Effect::Closed`] — so the shard
//! can keep its conversation records from those four alone. All other effects are
//! notifications (transfer offers and fail-backs, warnings, offers, notices,
//! automatic messages, ownership moves, account presence).
//!
//! **Invariants** (checked by the tests after every step):
//! 1. At most one open conversation per customer.
//! 2. A conversation is either in the queue (exactly once) or on exactly one
//!    agent's list; an agent's list is exactly the conversations assigned to it.
//! 3. No queued conversation could be auto-accepted by any agent right now: every
//!    input that makes an agent eligible (presence Online, cap raised, a slot
//!    freed, login, group change, owner change) pulls from the queue at once.
//! 4. A conversation assigned to a logged-out agent is *kept* (logout with keep):
//!    nobody else accepts or grabs it until that agent logs in again.
//! 5. A pending transfer is a queue entry targeted at the transfer's target.
//!
//! **Boundary**: this module knows nothing of sockets, RocksDB, roles or wire
//! frames. Permissions come in as booleans the caller read from the agent's role
//! (permission 2 grab, 3 see the whole queue, 4 see all customers); customer owners
//! are the account's contacts', read through [`Owners`] on every call that may
//! route (the engine keeps no copy; ownership has one home, the CRM). It speaks the protocol's
//! conversation types ([`kefu_wire::chat`]) where they fit.
//!
//! # Rules
//!
//! | # | Rule | Manual | Where |
//! |---|------|--------|-------|
//! | R1 | Auto-accept only for an agent logged in, status Online, cap > 0 and served < cap; the **least busy** eligible agent gets a new conversation: fewest served, tie → the one idle longest (earliest last assignment, or login), tie → lowest agent number. Otherwise the conversation waits in the queue. | §3.3.1, §3.4, §10.7.1 | `open`, [`route`] `least_busy`, `placement` |
//! | R2 | Cap 0 = "off": no auto-accept; new conversations and transfers to that agent wait in the queue. | §3.3.1 note | `set_cap`, `transfer` |
//! | R3 | The cap can be changed only in status Online. | §3.3.2 | `set_cap` |
//! | R4 | The queue is in arrival order; an agent accepts by hand what it may see (cap ignored). Who may see/accept an entry: see [`queue`]. | §3.3.2, §3.4, §4.5.1, §7.13 perm. 3 | `queue_for`, `accept` |
//! | R5 | When an agent becomes eligible (slot freed, cap raised, Online, login, group change), it auto-accepts queued entries it may take, in arrival order, up to its cap. | §3.3.1 | [`queue`] `pump` |
//! | R6 | Entry "to agent": that agent if eligible, else queued for it; entry "to group": the least busy eligible member, else queued for the group. Unknown agent/group: refused. | §10.7.2, §10.7.3 | `open`, `placement` |
//! | R7 | Designated agent: the customer gets a list of agents or groups, optionally without offline ones. | §7.15 | `designated_list`, `offers_choice` |
//! | R8 | Mobile customers cannot choose: their agent/group entries route as auto; no re-selection offer. | §3.13 | `effective_entry`, `offer` |
//! | R9 | At most one open conversation per customer; opening again continues it (no second welcome). | §7.16 | `open` |
//! | R10 | Transfer to a logged-in, not-offline agent: assigned at once if it is eligible (R1), else it waits in the target's queue and the target is notified; not taken within the transfer timeout, it fails back to the sender (or is routed anew if the sender logged out). | §3.5 | `transfer`, `tick` |
//! | R11 | Grab needs permission 2 and a confirmation; not a kept conversation. | §3.9, §7.13 perm. 2 | `grab` |
//! | R12 | An agent may open a conversation with a customer (not one another agent serves: that is a grab). | §3.9 | `initiate` |
//! | R13 | The serving agent or the customer closes a conversation. | §3.12 | `close` |
//! | R14 | Logout "close all" closes the agent's conversations; "keep" keeps them assigned, untakeable, and they come back at the next login. Transfers waiting for the agent fail back at once. | §3.12 | `logout`, `login` |
//! | R15 | Exclusive mode: a customer with an owner goes to the owner (like entry "to agent": at once if eligible, else waits in the owner's queue); an unowned customer becomes owned by the first agent who serves it; owners of imported/added contacts come from the caller. | §7.16, §7.17 a, b | `Owners`, `owners_changed`, `effective_entry`, `ownership_after_assign` |
//! | R16 | Exclusive rule c: others cannot open a chat with an owned customer unless they have permission 2. | §7.17 c | `may_initiate`, `initiate` |
//! | R17 | Exclusive rule d: others cannot see an owned customer in CRM unless they have permission 4. | §7.17 d, §7.13 perm. 4 | the CRM's (`kefu-crm` search visibility; the daemon's `centre/crm.rs`), not the engine's |
//! | R18 | Exclusive rule e: a completed transfer moves the ownership to the new agent. | §7.17 e | `ownership_after_assign` |
//! | R19 | Exclusive mode disables entries to agent/group, designated lists and the no-response rule. | §10.7 note, §7.15 note | `effective_entry`, `designated_list`, `no_response_active` |
//! | R20 | No response (a sub-option of designated agent: off while `designated` is `Off`): from the customer's oldest unanswered message (restarted when a new agent takes the conversation), warn the serving agent `warn_lead` before the timeout (if it is not offline), and at the timeout offer the customer a new choice. An agent reply stops it; a warned agent that replies is told the warning is over (`NoResponseCleared`). | §7.15 | `customer_message`, `agent_message`, `tick` |
//! | R21 | Re-selection: the old conversation closes, the old agent is told (at its next login if logged out), a new conversation is routed to the choice. Allowed after an offer, or while the conversation waits for a designated agent or group (designated agent on). | §7.15, §10.7.2 | `reselect` |
//! | R22 | Serving agent offline: the customer is offered a new choice as soon as it opens or writes. | §7.15 | `open`, `customer_message` |
//! | R23 | Account presence: always online, or the best presence of its agents (Online > Busy > Away > Offline). | §7.14 | `account_presence` |
//! | R24 | Welcome message by weekday and time of day (configured UTC offset), on a new conversation. | §7.2 | `open`, [`WelcomeSettings::text_at`] |
//! | R25 | Auto-reply when the customer writes while the serving agent (a queued conversation: the account) is Busy or Away/Offline: the agent's personal text first, else the account's busy/away text (never the away text when the account is "always online", §7.14); at most once per `min_interval` per conversation **and kind**, so one kind never silences another. | §7.3, §7.4 | `customer_message`, [`welcome`] |
//! | R26 | Spam filter (M6): with the filter on, a conversation the filter may judge is held (waits for nobody) until its first customer message; the rules of [`spam`] then route it as `open` would, or put it in the trash: never auto-accepted, in nobody's queue, not counted as waiting, no no-response clock, no auto-reply; taken only by `accept_from_trash`; at most [`trash::MAX_TRASH`] (the oldest closes). | §3.11.1 | [`trash`], [`spam`] |

pub mod agents;
pub mod conversation;
pub mod effect;
pub mod exclusive;
pub mod messages;
pub mod no_response;
pub mod queue;
pub mod route;
pub mod spam;
pub mod state;
pub mod timers;
pub mod transfer;
pub mod trash;
pub mod welcome;

#[cfg(test)]
mod testkit;

pub use agents::AgentStatus;
pub use effect::{
    AssignReason, AutoReplyKind, Choice, CloseReason, Effect, ListKind, RoutingError,
};
pub use exclusive::{NoOwners, Owners};
pub use state::{
    AccountPresenceMode, AccountRouting, AgentSetup, DesignatedMode, NoResponseSettings,
    QueueTarget, RestoredConversation, RestoredPlacement, RoutingSettings, MINUTE_MS,
};
pub use welcome::{AutoReplySettings, Weekdays, WelcomePeriod, WelcomeSettings};

/// What a successful input produced: its answer and the effects to carry out, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "effects must be turned into records and pushes"]
pub struct Outcome<T> {
    /// The answer to the request.
    pub value: T,
    /// What the shard must store and push, in order.
    pub effects: Vec<Effect>,
}

impl<T> Outcome<T> {
    pub(crate) fn new(value: T, effects: Vec<Effect>) -> Outcome<T> {
        Outcome { value, effects }
    }
}
