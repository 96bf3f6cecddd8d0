//! Shared helpers for the routing tests: an account with agents, customers by
//! number, short ways to open and accept, and readers of where a conversation is.
//! Time is plain milliseconds; nothing sleeps.
//!
//! [`TestRouting`] is the engine with a stand-in for the account's contacts: it
//! holds the owners the way the CRM does in the daemon (the engine keeps none),
//! stores the [`Effect::OwnershipMoved`] the engine announces, and passes the
//! owners to every call, so the tests read as calls on the engine itself.

pub(super) use super::effect::RoutingError;
pub(super) use super::effect::{AssignReason, Choice, CloseReason, Effect, ListKind};
pub(super) use super::state::{
    AccountRouting, AgentSetup, ConvState, DesignatedMode, QueueTarget, RoutingSettings, MINUTE_MS,
};
pub(super) use super::welcome::{Weekdays, WelcomePeriod, WelcomeSettings};
pub(super) use kefu_wire::chat::{Channel, CustomerId, Entry, Party};
pub(super) use kefu_wire::Presence;

use super::Outcome;
use kefu_wire::chat::ConversationInfo;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

/// The engine and the owners its account's contacts would hold.
#[derive(Debug, Clone)]
pub(super) struct TestRouting {
    pub(super) engine: AccountRouting,
    pub(super) owners: HashMap<CustomerId, u32>,
}

impl Deref for TestRouting {
    type Target = AccountRouting;
    fn deref(&self) -> &AccountRouting {
        &self.engine
    }
}

impl DerefMut for TestRouting {
    fn deref_mut(&mut self) -> &mut AccountRouting {
        &mut self.engine
    }
}

/// One forwarding method per engine call that reads owners: the same name and
/// arguments without the owners; ownership moves are stored as the CRM would.
macro_rules! with_owners {
    ($($name:ident($($arg:ident: $ty:ty),*; $now:ident) -> $out:ty;)*) => {
        impl TestRouting {
            $(pub(super) fn $name(&mut self, $($arg: $ty,)* $now: i64) -> $out {
                let out = self.engine.$name($($arg,)* &self.owners, $now);
                self.store_moves(&out);
                out
            })*
        }
    };
}

with_owners! {
    set_settings(settings: RoutingSettings; now) -> Result<Outcome<()>, RoutingError>;
    login(agent: u32; now) -> Result<Outcome<Vec<ConversationInfo>>, RoutingError>;
    logout(agent: u32, keep: bool; now) -> Result<Outcome<()>, RoutingError>;
    set_presence(agent: u32, presence: Presence; now) -> Result<Outcome<()>, RoutingError>;
    set_cap(agent: u32, cap: u32; now) -> Result<Outcome<()>, RoutingError>;
    set_group(agent: u32, group: Option<String>; now) -> Result<Outcome<()>, RoutingError>;
    open(customer: CustomerId, channel: Channel, entry: Entry; now)
        -> Result<Outcome<ConversationInfo>, RoutingError>;
    open_reserved(id: u64, customer: CustomerId, channel: Channel, entry: Entry; now)
        -> Result<Outcome<ConversationInfo>, RoutingError>;
    initiate(agent: u32, customer: CustomerId, channel: Channel, grab: bool; now)
        -> Result<Outcome<ConversationInfo>, RoutingError>;
    close(conversation: u64, by: Party; now) -> Result<Outcome<()>, RoutingError>;
    reselect(conversation: u64, entry: Entry; now)
        -> Result<Outcome<ConversationInfo>, RoutingError>;
    accept(agent: u32, conversation: u64, whole_queue: bool; now)
        -> Result<Outcome<ConversationInfo>, RoutingError>;
    transfer(from: u32, conversation: u64, to: u32; now)
        -> Result<Outcome<ConversationInfo>, RoutingError>;
    grab(agent: u32, conversation: u64, permitted: bool, confirmed: bool; now)
        -> Result<Outcome<ConversationInfo>, RoutingError>;
}

/// What an engine call answered, for [`TestRouting::store_moves`].
pub(super) trait Moves {
    fn moves(&self) -> &[Effect];
}

impl<T> Moves for Outcome<T> {
    fn moves(&self) -> &[Effect] {
        &self.effects
    }
}

impl<T> Moves for Result<Outcome<T>, RoutingError> {
    fn moves(&self) -> &[Effect] {
        self.as_ref().map_or(&[], |o| &o.effects)
    }
}

impl TestRouting {
    /// Stores the ownership moves an engine call announced (the caller's job).
    fn store_moves(&mut self, out: &impl Moves) {
        for e in out.moves() {
            if let Effect::OwnershipMoved { customer, to, .. } = e {
                self.owners.insert(customer.clone(), *to);
            }
        }
    }

    /// Time passes to `now`.
    pub(super) fn tick(&mut self, now: i64) -> Outcome<()> {
        let out = self.engine.tick(&self.owners, now);
        self.store_moves(&out);
        out
    }

    /// Rules a, b: `agent` owns `customer` (an import, an add); the engine is told.
    pub(super) fn set_owner(
        &mut self,
        customer: CustomerId,
        agent: u32,
        now: i64,
    ) -> Result<Outcome<()>, RoutingError> {
        if !self.engine.agents.contains_key(&agent) {
            return Err(RoutingError::UnknownAgent(agent));
        }
        self.owners.insert(customer, agent);
        let out = self.engine.owners_changed(&self.owners, now);
        self.store_moves(&out);
        Ok(out)
    }

    /// The customer has no owner any more (its contact was deleted).
    pub(super) fn clear_owner(&mut self, customer: &CustomerId, now: i64) -> Outcome<()> {
        self.owners.remove(customer);
        let out = self.engine.owners_changed(&self.owners, now);
        self.store_moves(&out);
        out
    }

    /// The customer's owner, as the contacts hold it.
    pub(super) fn owner(&self, customer: &CustomerId) -> Option<u32> {
        self.owners.get(customer).copied()
    }

    /// Rule c, with the held owners.
    pub(super) fn may_initiate(&self, agent: u32, customer: &CustomerId, grab: bool) -> bool {
        self.engine
            .may_initiate(&self.owners, agent, customer, grab)
    }

    /// The queue as `agent` sees it.
    pub(super) fn queue_for(&self, agent: u32, whole_queue: bool) -> Vec<ConversationInfo> {
        self.engine.queue_for(&self.owners, agent, whole_queue)
    }

    /// Panics if an invariant of the engine does not hold with the held owners.
    pub(super) fn check_invariants(&self) {
        self.engine.check_invariants(&self.owners);
    }
}

/// One second, in milliseconds.
pub(super) const SEC: i64 = 1000;
/// One hour, in milliseconds.
pub(super) const HOUR: i64 = 60 * MINUTE_MS;

/// An account with default settings and no agents.
pub(super) fn routing() -> TestRouting {
    routing_with(|_| {})
}

/// An account with settings changed by `f`.
pub(super) fn routing_with(f: impl FnOnce(&mut RoutingSettings)) -> TestRouting {
    let mut s = RoutingSettings::default();
    f(&mut s);
    TestRouting {
        engine: AccountRouting::new(s, 1).unwrap(),
        owners: HashMap::new(),
    }
}

/// Adds `agent` with `cap` and logs it in (status Online) at `now`.
pub(super) fn add_online(r: &mut TestRouting, agent: u32, cap: u32, now: i64) {
    add_offline(r, agent);
    r.agents.get_mut(&agent).unwrap().cap = cap;
    let _ = r.login(agent, now).unwrap();
    r.check_invariants();
}

/// Adds `agent`, logged out, cap 0.
pub(super) fn add_offline(r: &mut TestRouting, agent: u32) {
    r.add_agent(agent, AgentSetup::default()).unwrap();
}

/// Puts `agent` in `group`.
pub(super) fn set_group(r: &mut TestRouting, agent: u32, group: &str) {
    let _ = r.set_group(agent, Some(group.to_owned()), 0).unwrap();
}

/// Customer number `n`.
pub(super) fn cust(n: u32) -> CustomerId {
    CustomerId::Identified(format!("c{n}"))
}

/// Customer `n` opens through auto entry from the web; its conversation id.
pub(super) fn open_auto(r: &mut TestRouting, n: u32, now: i64) -> u64 {
    open_entry(r, n, Entry::Auto, now)
}

/// Customer `n` opens through `entry` from the web; its conversation id.
pub(super) fn open_entry(r: &mut TestRouting, n: u32, entry: Entry, now: i64) -> u64 {
    let id = r
        .open(cust(n), Channel::Web, entry, now)
        .unwrap()
        .value
        .conversation;
    r.check_invariants();
    id
}

/// `agent` accepts `conv` from the queue (without permission 3).
pub(super) fn accept_ok(r: &mut TestRouting, agent: u32, conv: u64, now: i64) {
    let _ = r.accept(agent, conv, false, now).unwrap();
    r.check_invariants();
}

/// `agent` opens a conversation with customer `n` itself; its id.
pub(super) fn give(r: &mut TestRouting, agent: u32, n: u32, now: i64) -> u64 {
    let id = r
        .initiate(agent, cust(n), Channel::Web, false, now)
        .unwrap()
        .value
        .conversation;
    r.check_invariants();
    id
}

/// The agent serving `conv`, if it is open and served.
pub(super) fn agent_of(r: &TestRouting, conv: u64) -> Option<u32> {
    r.conversations.get(&conv).and_then(|c| c.agent())
}

/// Whom `conv` waits for, if it is queued.
pub(super) fn target_of(r: &TestRouting, conv: u64) -> Option<QueueTarget> {
    match &r.conversations.get(&conv)?.state {
        ConvState::Queued { target, .. } => Some(target.clone()),
        _ => None,
    }
}

/// The ids `agent` sees in the queue.
pub(super) fn queue_ids(r: &TestRouting, agent: u32, whole: bool) -> Vec<u64> {
    r.queue_for(agent, whole)
        .iter()
        .map(|c| c.conversation)
        .collect()
}

/// The same welcome text all day, every day.
pub(super) fn every_day_welcome(text: &str) -> WelcomeSettings {
    WelcomeSettings {
        utc_offset_minutes: 0,
        periods: vec![WelcomePeriod {
            days: Weekdays::EVERY_DAY,
            start_minute: 0,
            end_minute: 0,
            text: text.to_owned(),
        }],
    }
}
