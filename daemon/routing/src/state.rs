//! The routing state of one account — settings, agents, open conversations, the
//! queue, customer owners, timers — and the primitives every rule is built from:
//! create, assign, enqueue, close. The rules themselves live in the sibling files
//! (table in [`super`]); this file also rebuilds the state after a restart.

use super::effect::{AssignReason, CloseReason, Effect, RoutingError};
use super::exclusive::Owners;
use super::timers::TimerKind;
use super::welcome::{AutoReplySettings, WelcomeSettings};
use super::Outcome;
use kefu_wire::chat::{Channel, ConversationInfo, ConversationState, CustomerId, Party};
use kefu_wire::Presence;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One minute in milliseconds (every time in this module is unix milliseconds).
pub const MINUTE_MS: i64 = 60_000;

/// How the account's main identity shows its presence to customers (§7.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountPresenceMode {
    /// Always shown online.
    AlwaysOnline,
    /// The best presence of the account's agents.
    FromAgents,
}

/// Designated agent (指定客服, §7.15): what customers choose from, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesignatedMode {
    /// Customers do not choose (re-selection offers list agents).
    Off,
    /// Customers choose an agent.
    Agents,
    /// Customers choose an agent group.
    Groups,
}

/// The no-response rule (§7.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoResponseSettings {
    /// Whether the rule is on (the manual's tick box; off by default). Exclusive
    /// mode switches it off whatever this says.
    pub enabled: bool,
    /// How long the customer waits for an answer before it is offered a new
    /// choice (default 15 minutes).
    pub timeout_ms: i64,
    /// How long before the timeout the agent is warned (default 1 minute);
    /// `0 <= warn_lead_ms < timeout_ms`.
    pub warn_lead_ms: i64,
}

impl Default for NoResponseSettings {
    fn default() -> Self {
        NoResponseSettings {
            enabled: false,
            timeout_ms: 15 * MINUTE_MS,
            warn_lead_ms: MINUTE_MS,
        }
    }
}

/// An account's routing settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingSettings {
    /// Exclusive customers (独占客户, §7.17).
    pub exclusive: bool,
    /// Account presence mode (§7.14).
    pub presence_mode: AccountPresenceMode,
    /// Designated agent mode (§7.15).
    pub designated: DesignatedMode,
    /// Leave offline agents (and groups with no member online) out of designated
    /// lists (§7.15 "不显示离线客服"). Re-selection lists always leave them out.
    pub hide_offline: bool,
    /// The no-response rule.
    pub no_response: NoResponseSettings,
    /// How long a transfer may wait in its target's queue before it fails back
    /// (default 2 minutes; the manual gives no number).
    pub transfer_timeout_ms: i64,
    /// Welcome messages (§7.2).
    pub welcome: WelcomeSettings,
    /// Account auto-replies (§7.3) and their rate limit.
    pub auto_reply: AutoReplySettings,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            exclusive: false,
            presence_mode: AccountPresenceMode::FromAgents,
            designated: DesignatedMode::Off,
            hide_offline: false,
            no_response: NoResponseSettings::default(),
            transfer_timeout_ms: 2 * MINUTE_MS,
            welcome: WelcomeSettings::default(),
            auto_reply: AutoReplySettings::default(),
        }
    }
}

impl RoutingSettings {
    /// Checks the ranges; `Err(InvalidSettings)` names the first bad one.
    pub fn validate(&self) -> Result<(), RoutingError> {
        let nr = &self.no_response;
        if nr.timeout_ms <= 0 {
            return Err(RoutingError::InvalidSettings(
                "no-response timeout must be positive",
            ));
        }
        if nr.warn_lead_ms < 0 || nr.warn_lead_ms >= nr.timeout_ms {
            return Err(RoutingError::InvalidSettings(
                "no-response warning lead must be at least 0 and less than the timeout",
            ));
        }
        if self.transfer_timeout_ms <= 0 {
            return Err(RoutingError::InvalidSettings(
                "transfer timeout must be positive",
            ));
        }
        if self.auto_reply.min_interval_ms < 0 {
            return Err(RoutingError::InvalidSettings(
                "auto-reply interval must not be negative",
            ));
        }
        self.welcome.validate()
    }
}

/// An agent's stored routing settings, given when the account is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentSetup {
    /// Auto-accept cap; 0 = off (the default: an agent opts in, §3.3.1).
    pub cap: u32,
    /// Its agent group, if any.
    pub group: Option<String>,
    /// Its personal auto-reply (§7.4), if any.
    pub personal_auto_reply: Option<String>,
}

/// Who a queued conversation waits for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueueTarget {
    /// Any agent.
    Anyone,
    /// One agent: a designated agent, a transfer's target, an exclusive owner.
    Agent(u32),
    /// The members of an agent group.
    Group(String),
    /// Nobody: held until the spam filter judges its first message (`trash.rs`).
    Screening,
    /// Nobody: in the trash (垃圾箱), taken only by `accept_from_trash` (`trash.rs`).
    Trash,
}

/// A notice kept for a logged-out agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PendingNotice {
    pub(super) conversation: u64,
    pub(super) customer: CustomerId,
    pub(super) at: i64,
}

/// One agent's routing state.
#[derive(Debug, Clone)]
pub(super) struct AgentRouting {
    pub(super) logged_in: bool,
    /// Offline whenever logged out; may also be Offline while logged in ("appear offline").
    pub(super) presence: Presence,
    pub(super) cap: u32,
    pub(super) served: BTreeSet<u64>,
    pub(super) group: Option<String>,
    /// When it last got a conversation (or logged in): the "idle longest" tie-break.
    pub(super) last_assigned_at: i64,
    pub(super) personal_auto_reply: Option<String>,
    pub(super) pending_notices: Vec<PendingNotice>,
}

impl AgentRouting {
    /// R1: may be given a conversation automatically now.
    pub(super) fn auto_eligible(&self) -> bool {
        self.logged_in
            && self.presence == Presence::Online
            && self.cap > 0
            && self.served.len() < self.cap as usize
    }

    /// §3.5: Online with auto-accept on, and serving its cap already (a transfer to it
    /// is refused rather than left waiting).
    pub(super) fn is_full(&self) -> bool {
        self.logged_in
            && self.presence == Presence::Online
            && self.cap > 0
            && self.served.len() >= self.cap as usize
    }
}

/// Where a conversation stands inside the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ConvState {
    /// In the queue under sequence number `seq` (arrival order).
    Queued { target: QueueTarget, seq: u64 },
    /// On `agent`'s list.
    Assigned { agent: u32 },
    /// Transient, inside one primitive only: neither queued nor assigned.
    Detached,
}

/// A transfer waiting in its target's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PendingTransfer {
    pub(super) from: u32,
    pub(super) to: u32,
    pub(super) deadline: i64,
}

/// One open conversation.
#[derive(Debug, Clone)]
pub(super) struct Conversation {
    pub(super) customer: CustomerId,
    pub(super) channel: Channel,
    pub(super) opened_at: i64,
    pub(super) state: ConvState,
    pub(super) unread: u32,
    pub(super) last_customer_at: Option<i64>,
    pub(super) last_agent_at: Option<i64>,
    /// No-response clock: since when the customer waits for an answer.
    pub(super) waiting_since: Option<i64>,
    /// The scheduled no-response timer, mirrored in `AccountRouting::timers`.
    pub(super) nr_timer: Option<(i64, TimerKind)>,
    /// The customer was offered a new choice and may `reselect`.
    pub(super) offered: bool,
    /// The serving agent was warned and has not answered since.
    pub(super) warned: bool,
    pub(super) transfer: Option<PendingTransfer>,
    /// When each kind of auto-reply was last sent ([`AutoReplyKind::index`]): each
    /// kind has its own rate limit, so one kind never silences another.
    pub(super) last_auto_reply_at: [Option<i64>; 3],
}

impl Conversation {
    pub(super) fn info(&self, id: u64) -> ConversationInfo {
        ConversationInfo {
            conversation: id,
            customer: self.customer.clone(),
            channel: self.channel,
            state: self.shown_state(),
            opened_at: self.opened_at,
            unread: self.unread,
        }
    }

    /// The state as the protocol shows it.
    pub(super) fn shown_state(&self) -> ConversationState {
        match &self.state {
            ConvState::Queued {
                target: QueueTarget::Agent(a),
                ..
            } => ConversationState::Queued { target: Some(*a) },
            ConvState::Queued { .. } | ConvState::Detached => {
                ConversationState::Queued { target: None }
            }
            ConvState::Assigned { agent } => ConversationState::Assigned { agent: *agent },
        }
    }

    pub(super) fn agent(&self) -> Option<u32> {
        match self.state {
            ConvState::Assigned { agent } => Some(agent),
            _ => None,
        }
    }
}

/// Where a conversation goes: to an agent now, or into the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Placement {
    Assign(u32),
    Queue(QueueTarget),
}

/// One account's routing state. See [`super`] for the rules and the call order.
#[derive(Debug, Clone)]
pub struct AccountRouting {
    pub(super) settings: RoutingSettings,
    /// By agent number (the order of the last tie-break and of designated lists).
    pub(super) agents: BTreeMap<u32, AgentRouting>,
    pub(super) conversations: HashMap<u64, Conversation>,
    pub(super) by_customer: HashMap<CustomerId, u64>,
    /// Queue sequence number → conversation: iteration is arrival order.
    pub(super) queue: BTreeMap<u64, u64>,
    pub(super) next_seq: u64,
    pub(super) next_conversation: u64,
    /// (when, conversation, kind), earliest first.
    pub(super) timers: BTreeSet<(i64, u64, TimerKind)>,
}

/// A conversation read back from storage after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredConversation {
    /// Its id.
    pub conversation: u64,
    /// The customer.
    pub customer: CustomerId,
    /// The customer's channel.
    pub channel: Channel,
    /// When it was opened.
    pub opened_at: i64,
    /// Where it stood.
    pub placement: RestoredPlacement,
    /// Unread customer messages.
    pub unread: u32,
    /// The no-response clock, if the customer was waiting for an answer.
    pub waiting_since: Option<i64>,
}

/// Where a restored conversation stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoredPlacement {
    /// Waiting in the queue.
    Queued {
        /// For whom.
        target: QueueTarget,
        /// A pending transfer: (sender, deadline); the target must be `Agent(to)`.
        transfer: Option<(u32, i64)>,
    },
    /// Served by this agent (kept until it logs in again).
    Assigned {
        /// The agent.
        agent: u32,
    },
}

impl AccountRouting {
    /// An empty account with these settings; conversation ids start at
    /// `next_conversation` (one past the highest id ever stored).
    pub fn new(
        settings: RoutingSettings,
        next_conversation: u64,
    ) -> Result<AccountRouting, RoutingError> {
        settings.validate()?;
        Ok(AccountRouting {
            settings,
            agents: BTreeMap::new(),
            conversations: HashMap::new(),
            by_customer: HashMap::new(),
            queue: BTreeMap::new(),
            next_seq: 0,
            next_conversation,
            timers: BTreeSet::new(),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &RoutingSettings {
        &self.settings
    }

    /// Replaces the settings. Routing decisions from now on follow them; the
    /// queue is pulled again (exclusive mode changes who may take what). Running
    /// no-response clocks stop when the rule is switched off; after it is switched
    /// on, clocks start with the next customer message.
    pub fn set_settings(
        &mut self,
        settings: RoutingSettings,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<()>, RoutingError> {
        settings.validate()?;
        let before = self.account_presence();
        self.settings = settings;
        if !self.no_response_active() {
            self.nr_stop_all();
        }
        let mut fx = Vec::new();
        self.presence_effect(before, &mut fx);
        self.pump_all(owners, now, &mut fx);
        Ok(Outcome::new((), fx))
    }

    /// The next id `open` will use.
    pub fn next_conversation_id(&self) -> u64 {
        self.next_conversation
    }

    /// An open conversation as the protocol shows it. (A group-targeted queue entry
    /// shows as `Queued { target: None }`.)
    pub fn conversation(&self, conversation: u64) -> Option<ConversationInfo> {
        self.conversations
            .get(&conversation)
            .map(|c| c.info(conversation))
    }

    /// A conversation's state alone (what `conversation` gives, without copying the
    /// rest: the message path asks it twice a message).
    pub fn conversation_state(&self, conversation: u64) -> Option<ConversationState> {
        self.conversations
            .get(&conversation)
            .map(Conversation::shown_state)
    }

    /// A conversation's unread count alone (the message path stores it with every
    /// customer message; `conversation` would copy the customer's id for it).
    pub fn unread_of(&self, conversation: u64) -> Option<u32> {
        self.conversations.get(&conversation).map(|c| c.unread)
    }

    /// The customer's open conversation, if any.
    pub fn conversation_of(&self, customer: &CustomerId) -> Option<u64> {
        self.by_customer.get(customer).copied()
    }

    /// The conversations `agent` serves (kept ones included), oldest first.
    pub fn served_by(&self, agent: u32) -> Vec<ConversationInfo> {
        let Some(a) = self.agents.get(&agent) else {
            return Vec::new();
        };
        a.served
            .iter()
            .filter_map(|id| self.conversations.get(id).map(|c| c.info(*id)))
            .collect()
    }

    /// How many conversations are open.
    /// Whether `agent` is one of the account's and logged in: what a request an agent
    /// makes of the engine checks first.
    pub(super) fn check_logged_in(&self, agent: u32) -> Result<(), RoutingError> {
        let a = self
            .agents
            .get(&agent)
            .ok_or(RoutingError::UnknownAgent(agent))?;
        if a.logged_in {
            Ok(())
        } else {
            Err(RoutingError::NotLoggedIn(agent))
        }
    }

    pub fn open_count(&self) -> usize {
        self.conversations.len()
    }

    /// Rebuilds one open conversation after a restart, without effects. Call in
    /// queue-arrival order after every agent was added; agents are logged out, so
    /// assigned conversations are kept for them until they log in.
    pub fn restore(&mut self, r: RestoredConversation) -> Result<(), RoutingError> {
        if self.conversations.contains_key(&r.conversation) {
            return Err(RoutingError::DuplicateConversation(r.conversation));
        }
        if let Some(&existing) = self.by_customer.get(&r.customer) {
            return Err(RoutingError::DuplicateConversation(existing));
        }
        let (state, transfer) = match r.placement {
            RestoredPlacement::Assigned { agent } => {
                if !self.agents.contains_key(&agent) {
                    return Err(RoutingError::UnknownAgent(agent));
                }
                (ConvState::Assigned { agent }, None)
            }
            RestoredPlacement::Queued { target, transfer } => {
                let transfer = match (transfer, &target) {
                    (None, _) => None,
                    (Some((from, deadline)), QueueTarget::Agent(to)) => Some(PendingTransfer {
                        from,
                        to: *to,
                        deadline,
                    }),
                    (Some(_), _) => {
                        return Err(RoutingError::InvalidRestore(
                            "a pending transfer must wait for an agent",
                        ))
                    }
                };
                let seq = self.next_seq;
                (ConvState::Queued { target, seq }, transfer)
            }
        };
        let id = r.conversation;
        match &state {
            ConvState::Assigned { agent } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.served.insert(id);
                }
            }
            ConvState::Queued { seq, .. } => {
                self.queue.insert(*seq, id);
                self.next_seq += 1;
            }
            ConvState::Detached => {}
        }
        if let Some(t) = &transfer {
            self.timers.insert((t.deadline, id, TimerKind::Transfer));
        }
        self.by_customer.insert(r.customer.clone(), id);
        self.conversations.insert(
            id,
            Conversation {
                customer: r.customer,
                channel: r.channel,
                opened_at: r.opened_at,
                state,
                unread: r.unread,
                last_customer_at: None,
                last_agent_at: None,
                waiting_since: None,
                nr_timer: None,
                offered: false,
                warned: false,
                transfer,
                last_auto_reply_at: [None; 3],
            },
        );
        self.next_conversation = self.next_conversation.max(id.saturating_add(1));
        if let Some(since) = r.waiting_since {
            self.nr_start(id, since);
        }
        Ok(())
    }

    /// Rebuilds a re-selection notice not yet delivered to a logged-out agent.
    pub fn restore_notice(
        &mut self,
        agent: u32,
        conversation: u64,
        customer: CustomerId,
        at: i64,
    ) -> Result<(), RoutingError> {
        let a = self
            .agents
            .get_mut(&agent)
            .ok_or(RoutingError::UnknownAgent(agent))?;
        a.pending_notices.push(PendingNotice {
            conversation,
            customer,
            at,
        });
        Ok(())
    }

    // ---- primitives -------------------------------------------------------

    /// A new conversation, detached (the caller places it at once).
    pub(super) fn create(&mut self, customer: CustomerId, channel: Channel, now: i64) -> u64 {
        let id = self.next_conversation;
        self.create_as(id, customer, channel, now)
    }

    /// A new conversation numbered `id` (one [`create`](Self::create) would give, or a
    /// reserved one), detached.
    pub(super) fn create_as(
        &mut self,
        id: u64,
        customer: CustomerId,
        channel: Channel,
        now: i64,
    ) -> u64 {
        self.next_conversation = self.next_conversation.max(id.saturating_add(1));
        self.by_customer.insert(customer.clone(), id);
        self.conversations.insert(
            id,
            Conversation {
                customer,
                channel,
                opened_at: now,
                state: ConvState::Detached,
                unread: 0,
                last_customer_at: None,
                last_agent_at: None,
                waiting_since: None,
                nr_timer: None,
                offered: false,
                warned: false,
                transfer: None,
                last_auto_reply_at: [None; 3],
            },
        );
        id
    }

    /// Takes `id` out of the queue or off its agent's list, and cancels its pending
    /// transfer, which it returns. The caller places it again (or drops it) at once.
    pub(super) fn detach(&mut self, id: u64) -> Option<PendingTransfer> {
        let c = self.conversations.get_mut(&id)?;
        match &c.state {
            ConvState::Queued { seq, .. } => {
                self.queue.remove(seq);
            }
            ConvState::Assigned { agent } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.served.remove(&id);
                }
            }
            ConvState::Detached => {}
        }
        c.state = ConvState::Detached;
        let transfer = c.transfer.take();
        if let Some(t) = &transfer {
            self.timers.remove(&(t.deadline, id, TimerKind::Transfer));
        }
        transfer
    }

    /// Puts `id` on `agent`'s list. A pending transfer completes (the reason becomes
    /// `Transferred`); the no-response clock restarts for the new agent; in exclusive
    /// mode the ownership follows (R15, R18).
    pub(super) fn assign(
        &mut self,
        id: u64,
        agent: u32,
        reason: AssignReason,
        owners: &dyn Owners,
        now: i64,
        fx: &mut Vec<Effect>,
    ) {
        let pending = self.detach(id);
        let reason = match pending {
            Some(t) => AssignReason::Transferred { from: t.from },
            None => reason,
        };
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        c.state = ConvState::Assigned { agent };
        c.offered = false;
        // A new agent starts afresh: the previous agent's warning is not its.
        c.warned = false;
        let customer = c.customer.clone();
        let waiting = c.waiting_since.is_some();
        if let Some(a) = self.agents.get_mut(&agent) {
            a.served.insert(id);
            a.last_assigned_at = now;
        }
        if waiting {
            self.nr_start(id, now);
        }
        fx.push(Effect::Assigned {
            conversation: id,
            customer: customer.clone(),
            agent,
            reason,
            at: now,
        });
        self.ownership_after_assign(owners, customer, agent, reason, fx);
    }

    /// Puts `id` at the back of the queue for `target`.
    pub(super) fn enqueue(&mut self, id: u64, target: QueueTarget, now: i64, fx: &mut Vec<Effect>) {
        self.detach(id);
        let seq = self.next_seq;
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        self.next_seq += 1;
        c.state = ConvState::Queued {
            target: target.clone(),
            seq,
        };
        self.queue.insert(seq, id);
        fx.push(Effect::Queued {
            conversation: id,
            customer: c.customer.clone(),
            target,
            at: now,
        });
    }

    pub(super) fn place(
        &mut self,
        id: u64,
        placement: Placement,
        reason: AssignReason,
        owners: &dyn Owners,
        now: i64,
        fx: &mut Vec<Effect>,
    ) {
        match placement {
            Placement::Assign(agent) => self.assign(id, agent, reason, owners, now, fx),
            Placement::Queue(target) => self.enqueue(id, target, now, fx),
        }
    }

    /// Closes and forgets `id`; the agent that served it pulls from the queue (R5).
    pub(super) fn close_conversation(
        &mut self,
        id: u64,
        by: Party,
        reason: CloseReason,
        owners: &dyn Owners,
        now: i64,
        fx: &mut Vec<Effect>,
    ) {
        let agent = self.conversations.get(&id).and_then(Conversation::agent);
        self.detach(id);
        let Some(c) = self.conversations.remove(&id) else {
            return;
        };
        if let Some((at, kind)) = c.nr_timer {
            self.timers.remove(&(at, id, kind));
        }
        if self.by_customer.get(&c.customer) == Some(&id) {
            self.by_customer.remove(&c.customer);
        }
        fx.push(Effect::Closed {
            conversation: id,
            customer: c.customer,
            agent,
            by,
            reason,
            at: now,
        });
        if let Some(a) = agent {
            self.pump(a, owners, now, fx);
        }
    }

    /// Emits `AccountPresenceChanged` if the account presence is not `before`.
    pub(super) fn presence_effect(&self, before: Presence, fx: &mut Vec<Effect>) {
        let after = self.account_presence();
        if after != before {
            fx.push(Effect::AccountPresenceChanged { presence: after });
        }
    }

    /// Panics (tests only) if an invariant of [`super`] does not hold.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self, owners: &dyn Owners) {
        // 1. one conversation per customer, both maps agree.
        assert_eq!(self.by_customer.len(), self.conversations.len());
        for (customer, id) in &self.by_customer {
            assert_eq!(&self.conversations[id].customer, customer);
        }
        // 2. queue and lists mirror the states.
        let mut queued = 0;
        for (id, c) in &self.conversations {
            match &c.state {
                ConvState::Queued { seq, .. } => {
                    queued += 1;
                    assert_eq!(self.queue.get(seq), Some(id), "queue entry of {id}");
                }
                ConvState::Assigned { agent } => {
                    assert!(self.agents[agent].served.contains(id), "list of {agent}");
                }
                ConvState::Detached => panic!("conversation {id} left detached"),
            }
            // 5. a pending transfer waits in its target's queue, with its timer.
            if let Some(t) = &c.transfer {
                assert!(
                    matches!(&c.state, ConvState::Queued { target: QueueTarget::Agent(to), .. } if *to == t.to)
                );
                assert!(self
                    .timers
                    .contains(&(t.deadline, *id, TimerKind::Transfer)));
            }
            if let Some((at, kind)) = c.nr_timer {
                assert!(self.timers.contains(&(at, *id, kind)));
            }
        }
        assert_eq!(queued, self.queue.len());
        for (n, a) in &self.agents {
            for id in &a.served {
                assert_eq!(self.conversations[id].agent(), Some(*n));
            }
            if !a.logged_in {
                assert_eq!(a.presence, Presence::Offline);
            }
        }
        // timers mirror conversation fields (no stale entries).
        for (at, id, kind) in &self.timers {
            let c = &self.conversations[id];
            match kind {
                TimerKind::Transfer => assert_eq!(c.transfer.map(|t| t.deadline), Some(*at)),
                _ => assert_eq!(c.nr_timer, Some((*at, *kind))),
            }
        }
        // 3. nothing queued that an eligible agent could take automatically.
        for (n, a) in &self.agents {
            if a.auto_eligible() {
                for id in self.queue.values() {
                    assert!(
                        !self.may_take(owners, *n, &self.conversations[id], false),
                        "agent {n} is eligible for queued conversation {id}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    /// A refusal changes nothing: everything but the map orders, sorted.
    fn fingerprint(r: &TestRouting) -> String {
        let convs: BTreeMap<_, _> = r.conversations.iter().collect();
        let customers: BTreeMap<_, _> = r
            .by_customer
            .iter()
            .map(|(k, v)| (format!("{k:?}"), v))
            .collect();
        let owners: BTreeMap<_, _> = r
            .owners
            .iter()
            .map(|(k, v)| (format!("{k:?}"), v))
            .collect();
        format!(
            "{:?}|{:?}|{convs:?}|{customers:?}|{:?}|{}|{}|{owners:?}|{:?}",
            r.settings, r.agents, r.queue, r.next_seq, r.next_conversation, r.timers
        )
    }

    /// xorshift64*: a deterministic stream for the random-input test.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
        }
        fn pick<T: Clone>(&mut self, items: &[T]) -> T {
            items[self.below(items.len() as u64) as usize].clone()
        }
    }

    /// Every invariant holds after every input of long random sequences, and every
    /// refused input leaves the state exactly as it was.
    #[test]
    fn invariants_hold_and_refusals_change_nothing_under_random_inputs() {
        let agents = [1001u32, 1002, 1003, 1004, 1005, 4242];
        let groups = ["a", "b", "zz"];
        let presences = [
            Presence::Online,
            Presence::Online,
            Presence::Away,
            Presence::Busy,
            Presence::Offline,
        ];
        let channels = [Channel::Web, Channel::Desktop, Channel::Mobile];
        for seed in 1..=6u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut r = routing_with(|s| {
                s.exclusive = seed % 2 == 0;
                s.no_response = NoResponseSettings {
                    enabled: true,
                    timeout_ms: 5 * MINUTE_MS,
                    warn_lead_ms: MINUTE_MS,
                };
                s.auto_reply.away = Some("away".into());
                s.designated = DesignatedMode::Groups;
            });
            for &n in &agents[..5] {
                r.add_agent(
                    n,
                    AgentSetup {
                        cap: n % 3,
                        group: Some(groups[(n % 2) as usize].to_owned()),
                        personal_auto_reply: None,
                    },
                )
                .unwrap();
            }
            let mut now = 0i64;
            let (mut ok, mut refused) = (0u32, 0u32);
            for step in 0..4000 {
                now += rng.below(90 * SEC as u64) as i64;
                let mut ids: Vec<u64> = r.conversations.keys().copied().collect();
                ids.sort_unstable();
                ids.push(9_999);
                let conv = rng.pick(&ids);
                let agent = rng.pick(&agents);
                let entry = match rng.below(3) {
                    0 => Entry::Auto,
                    1 => Entry::Agent(rng.pick(&agents)),
                    _ => Entry::Group(rng.pick(&groups).to_owned()),
                };
                let customer = cust(rng.below(25) as u32);
                let flag = rng.below(2) == 0;
                let before = fingerprint(&r);
                let op = rng.below(18);
                let result: Result<Vec<Effect>, RoutingError> = match op {
                    0 | 1 => r
                        .open(customer, rng.pick(&channels), entry, now)
                        .map(|o| o.effects),
                    2 | 3 => r.customer_message(conv, now).map(|o| o.effects),
                    4 => {
                        let a = agent_of(&r, conv).filter(|_| flag).unwrap_or(agent);
                        r.agent_message(conv, a, now).map(|o| o.effects)
                    }
                    5 => r.accept(agent, conv, flag, now).map(|o| o.effects),
                    6 => {
                        let from = agent_of(&r, conv).unwrap_or(agent);
                        r.transfer(from, conv, rng.pick(&agents), now)
                            .map(|o| o.effects)
                    }
                    7 => r
                        .grab(agent, conv, flag, rng.below(4) != 0, now)
                        .map(|o| o.effects),
                    8 => {
                        let by = match rng.below(3) {
                            0 => Party::Customer,
                            1 => Party::System,
                            _ => Party::Agent(agent_of(&r, conv).filter(|_| flag).unwrap_or(agent)),
                        };
                        r.close(conv, by, now).map(|o| o.effects)
                    }
                    9 => r.logout(agent, flag, now).map(|o| o.effects),
                    10 => r.login(agent, now).map(|o| o.effects),
                    11 => r
                        .set_presence(agent, rng.pick(&presences), now)
                        .map(|o| o.effects),
                    12 => r
                        .set_cap(agent, rng.below(4) as u32, now)
                        .map(|o| o.effects),
                    13 => r
                        .set_group(agent, Some(rng.pick(&groups).to_owned()), now)
                        .map(|o| o.effects),
                    14 => Ok(r.tick(now).effects),
                    15 => r.reselect(conv, entry, now).map(|o| o.effects),
                    16 => {
                        if flag {
                            r.set_owner(customer, agent, now).map(|o| o.effects)
                        } else {
                            Ok(r.clear_owner(&customer, now).effects)
                        }
                    }
                    _ => r
                        .initiate(agent, customer, rng.pick(&channels), flag, now)
                        .map(|o| o.effects),
                };
                // printed only when the test fails: the inputs leading there
                eprintln!("seed {seed} step {step} op {op} conv {conv} agent {agent} flag {flag} now {now} ok {}", result.is_ok());
                match result {
                    Ok(_) => ok += 1,
                    Err(e) => {
                        refused += 1;
                        assert_eq!(
                            fingerprint(&r),
                            before,
                            "seed {seed} step {step} op {op}: {e}"
                        );
                    }
                }
                r.check_invariants();
                let _ = r.tick(now);
                r.check_invariants();
            }
            assert!(
                ok > 1000 && refused > 100,
                "seed {seed}: {ok} ok, {refused} refused"
            );
        }
    }

    /// Rebuilding after a restart: kept conversations, the queue order, a pending
    /// transfer and a no-response clock come back; nothing is announced.
    #[test]
    fn restore_rebuilds_the_open_conversations() {
        let mut r = routing_with(|s| {
            s.designated = DesignatedMode::Agents;
            s.no_response = NoResponseSettings {
                enabled: true,
                ..NoResponseSettings::default()
            }
        });
        r.add_agent(
            1001,
            AgentSetup {
                cap: 5,
                ..AgentSetup::default()
            },
        )
        .unwrap();
        r.add_agent(
            1002,
            AgentSetup {
                cap: 5,
                ..AgentSetup::default()
            },
        )
        .unwrap();
        let restored = |id: u64, n: u32, placement: RestoredPlacement| RestoredConversation {
            conversation: id,
            customer: cust(n),
            channel: Channel::Web,
            opened_at: 7,
            placement,
            unread: 2,
            waiting_since: None,
        };
        r.restore(restored(40, 1, RestoredPlacement::Assigned { agent: 1001 }))
            .unwrap();
        r.restore(RestoredConversation {
            waiting_since: Some(1000),
            ..restored(
                12,
                2,
                RestoredPlacement::Queued {
                    target: QueueTarget::Agent(1002),
                    transfer: Some((1001, 5000)),
                },
            )
        })
        .unwrap();
        r.restore(restored(
            30,
            3,
            RestoredPlacement::Queued {
                target: QueueTarget::Anyone,
                transfer: None,
            },
        ))
        .unwrap();
        r.restore_notice(1001, 9, cust(9), 3).unwrap();
        r.check_invariants();
        // refusals
        let before = fingerprint(&r);
        let rows = [
            (
                restored(40, 8, RestoredPlacement::Assigned { agent: 1001 }),
                RoutingError::DuplicateConversation(40),
            ),
            (
                restored(41, 1, RestoredPlacement::Assigned { agent: 1001 }),
                RoutingError::DuplicateConversation(40),
            ),
            (
                restored(41, 8, RestoredPlacement::Assigned { agent: 77 }),
                RoutingError::UnknownAgent(77),
            ),
            (
                restored(
                    41,
                    8,
                    RestoredPlacement::Queued {
                        target: QueueTarget::Anyone,
                        transfer: Some((1001, 1)),
                    },
                ),
                RoutingError::InvalidRestore("a pending transfer must wait for an agent"),
            ),
        ];
        for (c, err) in rows {
            assert_eq!(r.restore(c), Err(err));
            assert_eq!(fingerprint(&r), before);
        }
        assert_eq!(
            r.restore_notice(77, 1, cust(1), 0),
            Err(RoutingError::UnknownAgent(77))
        );
        assert_eq!(r.next_conversation_id(), 41);
        assert_eq!(queue_ids(&r, 1002, true), vec![12, 30]);
        // the earliest timer is the transfer's, then the warning at 1000 + 14 min
        assert_eq!(r.next_deadline(), Some(5000));
        // 1001 logs in: its kept conversation, the notice, then the queue (the
        // transfer is 1002's, so 1001 takes 30)
        let out = r.login(1001, 100).unwrap();
        assert_eq!(
            out.value.iter().map(|c| c.conversation).collect::<Vec<_>>(),
            vec![30, 40]
        );
        assert!(matches!(
            out.effects[0],
            Effect::ReselectedNotice {
                agent: 1001,
                conversation: 9,
                deliver_now: true,
                ..
            }
        ));
        // 1002 logs in: the transfer completes
        let out = r.login(1002, 200).unwrap();
        assert!(out.effects.iter().any(|e| matches!(
            e,
            Effect::Assigned {
                conversation: 12,
                agent: 1002,
                reason: AssignReason::Transferred { from: 1001 },
                ..
            }
        )));
        assert_eq!(r.next_deadline(), Some(200 + 14 * MINUTE_MS));
        r.check_invariants();
    }

    /// Settings out of range are refused by `new` and `set_settings`.
    #[test]
    fn settings_are_validated() {
        let nr = |timeout_ms, warn_lead_ms| RoutingSettings {
            no_response: NoResponseSettings {
                enabled: true,
                timeout_ms,
                warn_lead_ms,
            },
            ..RoutingSettings::default()
        };
        let bad = [
            nr(0, 0),
            nr(MINUTE_MS, MINUTE_MS),
            nr(MINUTE_MS, -1),
            RoutingSettings {
                transfer_timeout_ms: 0,
                ..RoutingSettings::default()
            },
            RoutingSettings {
                auto_reply: AutoReplySettings {
                    min_interval_ms: -1,
                    ..AutoReplySettings::default()
                },
                ..RoutingSettings::default()
            },
        ];
        let mut r = routing();
        for s in bad {
            assert!(matches!(
                AccountRouting::new(s.clone(), 1),
                Err(RoutingError::InvalidSettings(_))
            ));
            assert!(matches!(
                r.set_settings(s, 0),
                Err(RoutingError::InvalidSettings(_))
            ));
        }
        assert_eq!(r.settings(), &RoutingSettings::default());
        assert!(AccountRouting::new(nr(MINUTE_MS, 0), 1).is_ok());
    }

    /// R15/R5: owner changes and switching exclusive mode re-pull the queue.
    #[test]
    fn owner_and_mode_changes_pull_the_queue() {
        let mut r = routing_with(|s| s.exclusive = true);
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 0, 0);
        let _ = r.set_owner(cust(1), 1002, 0).unwrap();
        let c = open_auto(&mut r, 1, 0);
        assert_eq!(target_of(&r, c), Some(QueueTarget::Agent(1002)));
        // the owner entry stays for the owner even when the owner changes ...
        let out = r.set_owner(cust(1), 1001, 1).unwrap();
        assert!(out.effects.is_empty());
        // ... and exclusive mode off does not retarget it either: it waits for 1002
        let mut s = r.settings().clone();
        s.exclusive = false;
        let _ = r.set_settings(s, 2).unwrap();
        assert_eq!(agent_of(&r, c), None);
        r.check_invariants();
        // an entry for anyone owned by another is released when the owner is cleared
        let mut s = r.settings().clone();
        s.exclusive = true;
        let _ = r.set_settings(s, 3).unwrap();
        let _ = r.set_cap(1001, 1, 3); // keep 1001 eligible with one slot
        let _ = r.set_presence(1001, Presence::Busy, 4).unwrap();
        let d = open_auto(&mut r, 2, 5); // unowned, nobody eligible: queued for anyone
        assert_eq!(target_of(&r, d), Some(QueueTarget::Anyone));
        let _ = r.set_owner(cust(2), 1002, 6).unwrap(); // now only 1002 may take it
        let _ = r.set_presence(1001, Presence::Online, 7).unwrap();
        assert_eq!(agent_of(&r, d), None);
        let out = r.clear_owner(&cust(2), 8);
        assert!(matches!(
            out.effects[..],
            [
                Effect::Assigned { agent: 1001, .. },
                Effect::OwnershipMoved {
                    from: None,
                    to: 1001,
                    ..
                }
            ]
        ));
        r.check_invariants();
    }
}
