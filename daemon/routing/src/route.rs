//! Agent selection: which entry applies to a customer, who is eligible, the least
//! busy agent, and the lists customers choose from (R1, R6–R8, R15, R19).
//!
//! **Least busy (R1).** Among the eligible agents (logged in, status Online,
//! cap above 0, served below cap): the fewest conversations served; on a tie the
//! one idle longest, i.e. whose last assignment (or login, if none since) is
//! earliest; on a tie the lowest agent number. Served counts kept conversations and
//! conversations taken by hand, since they all take the agent's attention.
//!
//! **Which entry applies.** In exclusive mode an owned customer goes to its owner
//! as if through entry "to agent owner", and every other entry routes as auto
//! (§10.7 note: agent/group entry points stop working). A mobile customer cannot
//! choose, so its agent/group entries route as auto (§3.13).

use super::effect::{Choice, ListKind, RoutingError};
use super::exclusive::Owners;
use super::state::{AccountRouting, AgentRouting, DesignatedMode, Placement, QueueTarget};
use kefu_wire::chat::{Channel, CustomerId, Entry};
use kefu_wire::Presence;
use std::collections::BTreeMap;

impl AccountRouting {
    /// The entry that actually applies to this customer (module doc).
    pub(super) fn effective_entry(
        &self,
        owners: &dyn Owners,
        customer: &CustomerId,
        channel: Channel,
        entry: &Entry,
    ) -> Entry {
        if self.settings.exclusive {
            return match self.live_owner(owners, customer) {
                Some(owner) => Entry::Agent(owner),
                _ => Entry::Auto,
            };
        }
        if channel == Channel::Mobile {
            return Entry::Auto;
        }
        entry.clone()
    }

    /// Refuses an entry naming an unknown agent or a group nobody belongs to.
    pub(super) fn check_entry(&self, entry: &Entry) -> Result<(), RoutingError> {
        match entry {
            Entry::Auto => Ok(()),
            Entry::Agent(a) if self.agents.contains_key(a) => Ok(()),
            Entry::Agent(a) => Err(RoutingError::UnknownAgent(*a)),
            Entry::Group(g) if self.agents.values().any(|a| a.group.as_ref() == Some(g)) => Ok(()),
            Entry::Group(g) => Err(RoutingError::UnknownGroup(g.clone())),
        }
    }

    /// R1: the least busy eligible agent among those `filter` admits.
    pub(super) fn least_busy(&self, filter: impl Fn(u32, &AgentRouting) -> bool) -> Option<u32> {
        self.agents
            .iter()
            .filter(|(n, a)| a.auto_eligible() && filter(**n, a))
            .min_by_key(|(n, a)| (a.served.len(), a.last_assigned_at, **n))
            .map(|(n, _)| *n)
    }

    /// Where a conversation coming through `entry` goes now. `avoid` (the agent a
    /// customer re-selected away from) is picked automatically only if no other
    /// agent is eligible: a customer never waits while an eligible agent exists
    /// (invariant 3).
    pub(super) fn placement(&self, entry: &Entry, avoid: Option<u32>) -> Placement {
        let pick = |in_scope: &dyn Fn(&AgentRouting) -> bool| {
            self.least_busy(|n, a| Some(n) != avoid && in_scope(a))
                .or_else(|| self.least_busy(|_, a| in_scope(a)))
        };
        match entry {
            Entry::Auto => match pick(&|_| true) {
                Some(n) => Placement::Assign(n),
                None => Placement::Queue(QueueTarget::Anyone),
            },
            Entry::Agent(a) => {
                if self.agents.get(a).is_some_and(AgentRouting::auto_eligible) {
                    Placement::Assign(*a)
                } else {
                    Placement::Queue(QueueTarget::Agent(*a))
                }
            }
            Entry::Group(g) => match pick(&|a| a.group.as_ref() == Some(g)) {
                Some(n) => Placement::Assign(n),
                None => Placement::Queue(QueueTarget::Group(g.clone())),
            },
        }
    }

    /// R7: the list a customer chooses from, by agent number or group name,
    /// leaving out offline ones if the settings say so. Empty in exclusive mode,
    /// where choices are not honoured (R19).
    pub fn designated_list(&self, kind: ListKind) -> Vec<Choice> {
        if self.settings.exclusive {
            return Vec::new();
        }
        self.choices(kind, self.settings.hide_offline, None)
    }

    /// Whether to send this customer a list to choose from before it opens a
    /// conversation, and which (R7, R8, R15, R19): designated mode on, not a
    /// mobile customer, not exclusive mode.
    pub fn offers_choice(&self, channel: Channel) -> Option<ListKind> {
        if self.settings.exclusive || channel == Channel::Mobile {
            return None;
        }
        match self.settings.designated {
            DesignatedMode::Off => None,
            DesignatedMode::Agents => Some(ListKind::Agents),
            DesignatedMode::Groups => Some(ListKind::Groups),
        }
    }

    /// The list behind `designated_list` and re-selection offers.
    pub(super) fn choices(
        &self,
        kind: ListKind,
        hide_offline: bool,
        exclude: Option<u32>,
    ) -> Vec<Choice> {
        match kind {
            ListKind::Agents => self
                .agents
                .iter()
                .filter(|(n, a)| Some(**n) != exclude && !(hide_offline && is_offline(a)))
                .map(|(n, a)| Choice::Agent {
                    agent: *n,
                    presence: a.presence,
                })
                .collect(),
            ListKind::Groups => {
                let mut groups: BTreeMap<&str, bool> = BTreeMap::new();
                for (n, a) in &self.agents {
                    if let Some(g) = &a.group {
                        let online = groups.entry(g.as_str()).or_insert(false);
                        *online |= Some(*n) != exclude && !is_offline(a);
                    }
                }
                groups
                    .into_iter()
                    .filter(|(_, online)| *online || !hide_offline)
                    .map(|(name, online)| Choice::Group {
                        name: name.to_owned(),
                        online,
                    })
                    .collect()
            }
        }
    }
}

fn is_offline(a: &AgentRouting) -> bool {
    a.presence == Presence::Offline
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    /// R1: least busy; tie → idle longest; tie → lowest number. Each row: agents as
    /// (number, served, last assignment time), expected pick.
    #[test]
    fn least_busy_agent_gets_the_new_conversation() {
        type Row = (&'static [(u32, u32, i64)], u32);
        let rows: &[Row] = &[
            (&[(1001, 2, 0), (1002, 1, 0), (1003, 3, 0)], 1002),
            (&[(1001, 1, 500), (1002, 1, 100), (1003, 1, 300)], 1002),
            (&[(1003, 0, 100), (1002, 0, 100), (1001, 0, 100)], 1001),
            (&[(1001, 1, 0), (1002, 0, 900), (1003, 0, 100)], 1003),
            (&[(1001, 0, 100), (1002, 0, 100), (1003, 0, 50)], 1003),
        ];
        for (i, (agents, want)) in rows.iter().enumerate() {
            let mut r = routing();
            let mut customer = 100;
            for &(n, served, at) in agents.iter() {
                add_online(&mut r, n, 10, 0);
                for _ in 0..served {
                    customer += 1;
                    let c = give(&mut r, n, customer, at);
                    assert_eq!(agent_of(&r, c), Some(n));
                }
                r.agents.get_mut(&n).unwrap().last_assigned_at = at;
            }
            let c = open_auto(&mut r, 1, 1000);
            assert_eq!(agent_of(&r, c), Some(*want), "row {i}");
            r.check_invariants();
        }
    }

    /// R1/R2/R3: only an Online agent with a cap above its served count auto-accepts.
    #[test]
    fn only_online_agents_under_their_cap_auto_accept() {
        // (presence, cap, already served, auto-accepted?)
        let rows = [
            (Presence::Online, 1, 0, true),
            (Presence::Online, 2, 1, true),
            (Presence::Online, 1, 1, false), // cap reached → queue
            (Presence::Online, 0, 0, false), // cap off
            (Presence::Away, 5, 0, false),
            (Presence::Busy, 5, 0, false),
            (Presence::Offline, 5, 0, false), // logged in, appearing offline
        ];
        for (presence, cap, served, auto) in rows {
            let mut r = routing();
            add_online(&mut r, 1001, cap, 0);
            for k in 0..served {
                let c = open_auto(&mut r, 50 + k, 0);
                assert_eq!(agent_of(&r, c), Some(1001));
            }
            let _ = r.set_presence(1001, presence, 0).unwrap();
            let out = r.open(cust(1), Channel::Web, Entry::Auto, 10).unwrap();
            let c = out.value.conversation;
            if auto {
                assert_eq!(agent_of(&r, c), Some(1001), "{presence:?} cap {cap}");
            } else {
                assert_eq!(agent_of(&r, c), None, "{presence:?} cap {cap}");
                assert!(out.effects.iter().any(|e| matches!(
                    e,
                    Effect::Queued {
                        target: QueueTarget::Anyone,
                        ..
                    }
                )));
            }
            r.check_invariants();
        }
    }

    /// R6: entry to an agent and to a group.
    #[test]
    fn entries_to_agent_and_group_route_there_or_queue_for_them() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        add_online(&mut r, 1003, 0, 0);
        set_group(&mut r, 1002, "sales");
        set_group(&mut r, 1003, "support");
        // to an eligible agent, although 1001 is as idle
        let c = open_entry(&mut r, 1, Entry::Agent(1002), 0);
        assert_eq!(agent_of(&r, c), Some(1002));
        // to an agent at cap 0: queued for it
        let c = open_entry(&mut r, 2, Entry::Agent(1003), 0);
        assert_eq!(target_of(&r, c), Some(QueueTarget::Agent(1003)));
        // to a group: its least busy eligible member only
        let c = open_entry(&mut r, 3, Entry::Group("sales".into()), 0);
        assert_eq!(agent_of(&r, c), Some(1002));
        // a group whose members are not eligible: queued for the group, not given to 1001
        let c = open_entry(&mut r, 4, Entry::Group("support".into()), 0);
        assert_eq!(target_of(&r, c), Some(QueueTarget::Group("support".into())));
        // unknown agent / group: refused, nothing changes
        let before = r.open_count();
        assert_eq!(
            r.open(cust(5), Channel::Web, Entry::Agent(4242), 0),
            Err(RoutingError::UnknownAgent(4242))
        );
        assert_eq!(
            r.open(cust(5), Channel::Web, Entry::Group("nobody".into()), 0),
            Err(RoutingError::UnknownGroup("nobody".into()))
        );
        assert_eq!(r.open_count(), before);
        r.check_invariants();
    }

    /// R8: a mobile customer's agent/group entry routes as auto.
    #[test]
    fn mobile_customers_cannot_choose() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 0, 0);
        set_group(&mut r, 1002, "g");
        for entry in [Entry::Agent(1002), Entry::Group("g".into())] {
            let c = r.open(cust(1), Channel::Mobile, entry, 0).unwrap().value;
            assert_eq!(agent_of(&r, c.conversation), Some(1001));
            let _ = r.close(c.conversation, Party::Customer, 1).unwrap();
        }
        assert_eq!(r.offers_choice(Channel::Mobile), None);
        r.check_invariants();
    }

    /// R7: designated lists, with and without offline agents; groups.
    #[test]
    fn designated_lists_hide_offline_when_asked() {
        let mut r = routing_with(|s| s.designated = DesignatedMode::Agents);
        add_online(&mut r, 1001, 5, 0);
        add_offline(&mut r, 1002);
        add_online(&mut r, 1003, 5, 0);
        let _ = r.set_presence(1003, Presence::Busy, 0).unwrap();
        set_group(&mut r, 1001, "a");
        set_group(&mut r, 1002, "b");
        assert_eq!(r.offers_choice(Channel::Web), Some(ListKind::Agents));
        let all = r.designated_list(ListKind::Agents);
        assert_eq!(
            all,
            vec![
                Choice::Agent {
                    agent: 1001,
                    presence: Presence::Online
                },
                Choice::Agent {
                    agent: 1002,
                    presence: Presence::Offline
                },
                Choice::Agent {
                    agent: 1003,
                    presence: Presence::Busy
                },
            ]
        );
        assert_eq!(
            r.designated_list(ListKind::Groups),
            vec![
                Choice::Group {
                    name: "a".into(),
                    online: true
                },
                Choice::Group {
                    name: "b".into(),
                    online: false
                },
            ]
        );
        let mut s = r.settings().clone();
        s.hide_offline = true;
        let _ = r.set_settings(s, 0).unwrap();
        assert_eq!(r.designated_list(ListKind::Agents).len(), 2);
        assert_eq!(
            r.designated_list(ListKind::Groups),
            vec![Choice::Group {
                name: "a".into(),
                online: true
            }]
        );
    }

    /// R9: one open conversation per customer; opening again continues it.
    #[test]
    fn reopening_continues_the_open_conversation() {
        let mut r = routing_with(|s| s.welcome = every_day_welcome("hi"));
        add_online(&mut r, 1001, 5, 0);
        let first = r.open(cust(1), Channel::Web, Entry::Auto, 0).unwrap();
        assert!(first
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Welcome { .. })));
        let again = r
            .open(cust(1), Channel::Web, Entry::Agent(1001), 5)
            .unwrap();
        assert_eq!(again.value.conversation, first.value.conversation);
        assert!(again.effects.is_empty());
        assert_eq!(r.open_count(), 1);
        r.check_invariants();
    }
}
