//! Shared helpers for the routing tests: an account with agents, customers by
//! number, short ways to open and accept, and readers of where a conversation is.
//! Time is plain milliseconds; nothing sleeps.

pub(super) use super::effect::RoutingError;
pub(super) use super::effect::{AssignReason, Choice, CloseReason, Effect, ListKind};
pub(super) use super::state::{
    AccountRouting, AgentSetup, ConvState, DesignatedMode, QueueTarget, RoutingSettings, MINUTE_MS,
};
pub(super) use super::welcome::{Weekdays, WelcomePeriod, WelcomeSettings};
pub(super) use kefu_wire::chat::{Channel, CustomerId, Entry, Party};
pub(super) use kefu_wire::Presence;

/// One second, in milliseconds.
pub(super) const SEC: i64 = 1000;
/// One hour, in milliseconds.
pub(super) const HOUR: i64 = 60 * MINUTE_MS;

/// An account with default settings and no agents.
pub(super) fn routing() -> AccountRouting {
    AccountRouting::new(RoutingSettings::default(), 1).unwrap()
}

/// An account with settings changed by `f`.
pub(super) fn routing_with(f: impl FnOnce(&mut RoutingSettings)) -> AccountRouting {
    let mut s = RoutingSettings::default();
    f(&mut s);
    AccountRouting::new(s, 1).unwrap()
}

/// Adds `agent` with `cap` and logs it in (status Online) at `now`.
pub(super) fn add_online(r: &mut AccountRouting, agent: u32, cap: u32, now: i64) {
    add_offline(r, agent);
    r.agents.get_mut(&agent).unwrap().cap = cap;
    let _ = r.login(agent, now).unwrap();
    r.check_invariants();
}

/// Adds `agent`, logged out, cap 0.
pub(super) fn add_offline(r: &mut AccountRouting, agent: u32) {
    r.add_agent(agent, AgentSetup::default()).unwrap();
}

/// Puts `agent` in `group`.
pub(super) fn set_group(r: &mut AccountRouting, agent: u32, group: &str) {
    let _ = r.set_group(agent, Some(group.to_owned()), 0).unwrap();
}

/// Customer number `n`.
pub(super) fn cust(n: u32) -> CustomerId {
    CustomerId::Identified(format!("c{n}"))
}

/// Customer `n` opens through auto entry from the web; its conversation id.
pub(super) fn open_auto(r: &mut AccountRouting, n: u32, now: i64) -> u64 {
    open_entry(r, n, Entry::Auto, now)
}

/// Customer `n` opens through `entry` from the web; its conversation id.
pub(super) fn open_entry(r: &mut AccountRouting, n: u32, entry: Entry, now: i64) -> u64 {
    let id = r
        .open(cust(n), Channel::Web, entry, now)
        .unwrap()
        .value
        .conversation;
    r.check_invariants();
    id
}

/// `agent` accepts `conv` from the queue (without permission 3).
pub(super) fn accept_ok(r: &mut AccountRouting, agent: u32, conv: u64, now: i64) {
    let _ = r.accept(agent, conv, false, now).unwrap();
    r.check_invariants();
}

/// `agent` opens a conversation with customer `n` itself; its id.
pub(super) fn give(r: &mut AccountRouting, agent: u32, n: u32, now: i64) -> u64 {
    let id = r
        .initiate(agent, cust(n), Channel::Web, false, now)
        .unwrap()
        .value
        .conversation;
    r.check_invariants();
    id
}

/// The agent serving `conv`, if it is open and served.
pub(super) fn agent_of(r: &AccountRouting, conv: u64) -> Option<u32> {
    r.conversations.get(&conv).and_then(|c| c.agent())
}

/// Whom `conv` waits for, if it is queued.
pub(super) fn target_of(r: &AccountRouting, conv: u64) -> Option<QueueTarget> {
    match &r.conversations.get(&conv)?.state {
        ConvState::Queued { target, .. } => Some(target.clone()),
        _ => None,
    }
}

/// The ids `agent` sees in the queue.
pub(super) fn queue_ids(r: &AccountRouting, agent: u32, whole: bool) -> Vec<u64> {
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
