//! The queue (未接入客户列表): arrival order, who may see and accept each entry
//! (R4, C3), manual accept, and auto-accept from the queue when an agent becomes
//! eligible (R5).
//!
//! **Order.** Entries are kept in the order they entered the queue; a conversation
//! that enters again (a transfer waiting for its target, a fail-back rerouted)
//! goes to the back.
//!
//! **Who may see and accept an entry** — by hand the same set of agents that see
//! it; automatically (R5) the same set without the permission-3 row:
//!
//! | entry waits for | may see and accept it |
//! |---|---|
//! | anyone | every agent, except that in exclusive mode a customer owned by another agent is seen only by its owner (C3) |
//! | agent X (designated, transfer target, exclusive owner) | X only |
//! | group G | the members of G, except a customer owned by another agent (as for anyone) |
//! | anything, with permission 3 (see the whole queue) | yes: a supervisor sees and may take every entry |
//!
//! A group entry is therefore the group's shared queue: any member may take it, and
//! it is auto-accepted by the first member to become eligible. Accepting by hand
//! ignores the cap (the cap limits automatic accepts only, §3.3).

use super::effect::{AssignReason, Effect, RoutingError};
use super::exclusive::Owners;
use super::state::{AccountRouting, ConvState, Conversation, QueueTarget};
use super::Outcome;
use kefu_wire::chat::ConversationInfo;

impl AccountRouting {
    /// R4/C3: the queue as `agent` sees it, in arrival order.
    pub fn queue_for(
        &self,
        owners: &dyn Owners,
        agent: u32,
        may_see_whole_queue: bool,
    ) -> Vec<ConversationInfo> {
        self.queue
            .values()
            .filter_map(|id| {
                let c = self.conversations.get(id)?;
                self.may_take(owners, agent, c, may_see_whole_queue)
                    .then(|| c.info(*id))
            })
            .collect()
    }

    /// Whether `agent` sees queued `conversation` in its waiting list (what `queue_for`
    /// would list); false when it is not queued.
    pub fn sees_queued(
        &self,
        owners: &dyn Owners,
        agent: u32,
        conversation: u64,
        may_see_whole_queue: bool,
    ) -> bool {
        self.conversations
            .get(&conversation)
            .is_some_and(|c| self.may_take(owners, agent, c, may_see_whole_queue))
    }

    /// How many conversations wait in the queue, for anyone.
    pub fn queued_count(&self) -> usize {
        self.queue
            .values()
            .filter(|id| !self.filtered(**id))
            .count()
    }

    /// R4: `agent` takes a queued conversation by hand (its cap does not apply).
    pub fn accept(
        &mut self,
        agent: u32,
        conversation: u64,
        may_see_whole_queue: bool,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        self.check_logged_in(agent)?;
        let c = self
            .conversations
            .get(&conversation)
            .ok_or(RoutingError::NoSuchConversation(conversation))?;
        if let ConvState::Assigned { agent: holder } = c.state {
            // Kept for a logged-out agent (§3.12) is its own refusal.
            if !self.agents.get(&holder).is_some_and(|h| h.logged_in) {
                return Err(RoutingError::Kept {
                    conversation,
                    agent: holder,
                });
            }
            return Err(RoutingError::AlreadyAssigned {
                conversation,
                agent: holder,
            });
        }
        if !self.may_take(owners, agent, c, may_see_whole_queue) {
            return Err(RoutingError::NotAllowed {
                conversation,
                agent,
            });
        }
        let mut fx = Vec::new();
        self.assign(
            conversation,
            agent,
            AssignReason::Accepted,
            owners,
            now,
            &mut fx,
        );
        let info = self.info_of(conversation)?;
        Ok(Outcome::new(info, fx))
    }

    /// The visibility table of the module doc, for a queued conversation.
    pub(super) fn may_take(
        &self,
        owners: &dyn Owners,
        agent: u32,
        c: &Conversation,
        whole_queue: bool,
    ) -> bool {
        let ConvState::Queued { target, .. } = &c.state else {
            return false;
        };
        // Held for the spam filter or in the trash: nobody's (`trash.rs`).
        if matches!(target, QueueTarget::Screening | QueueTarget::Trash) {
            return false;
        }
        if whole_queue {
            return true;
        }
        let owned_by_other = self.owned_by_other(owners, agent, &c.customer);
        match target {
            QueueTarget::Agent(x) => *x == agent,
            QueueTarget::Anyone => !owned_by_other,
            QueueTarget::Group(g) => {
                !owned_by_other
                    && self
                        .agents
                        .get(&agent)
                        .is_some_and(|a| a.group.as_ref() == Some(g))
            }
            QueueTarget::Screening | QueueTarget::Trash => false,
        }
    }

    /// R5: `agent` auto-accepts the queued entries it may take, in arrival order,
    /// until its cap is reached. Call whenever `agent` may have become eligible.
    pub(super) fn pump(&mut self, agent: u32, owners: &dyn Owners, now: i64, fx: &mut Vec<Effect>) {
        let free = match self.agents.get(&agent) {
            Some(a) if a.auto_eligible() => (a.cap as usize).saturating_sub(a.served.len()),
            _ => return,
        };
        let picks: Vec<u64> = self
            .queue
            .values()
            .filter(|id| {
                self.conversations
                    .get(id)
                    .is_some_and(|c| self.may_take(owners, agent, c, false))
            })
            .take(free)
            .copied()
            .collect();
        for id in picks {
            self.assign(id, agent, AssignReason::Auto, owners, now, fx);
        }
    }

    /// R5 for every agent (after changes that may affect anyone: settings,
    /// owners): each queued entry, in arrival order, goes to the least busy
    /// eligible agent that may take it.
    pub(super) fn pump_all(&mut self, owners: &dyn Owners, now: i64, fx: &mut Vec<Effect>) {
        let ids: Vec<u64> = self.queue.values().copied().collect();
        for id in ids {
            let Some(c) = self.conversations.get(&id) else {
                continue;
            };
            if let Some(n) = self.least_busy(|n, _| self.may_take(owners, n, c, false)) {
                self.assign(id, n, AssignReason::Auto, owners, now, fx);
            }
        }
    }

    pub(super) fn info_of(&self, conversation: u64) -> Result<ConversationInfo, RoutingError> {
        self.conversation(conversation)
            .ok_or(RoutingError::NoSuchConversation(conversation))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    /// R4: the queue is arrival order, whatever the customers' numbers.
    #[test]
    fn queue_is_in_arrival_order() {
        let mut r = routing();
        add_online(&mut r, 1001, 0, 0);
        let ids: Vec<u64> = [7, 3, 9, 1, 5]
            .iter()
            .enumerate()
            .map(|(i, n)| open_auto(&mut r, *n, i as i64))
            .collect();
        assert_eq!(queue_ids(&r, 1001, false), ids);
        // taking one from the middle keeps the others' order
        accept_ok(&mut r, 1001, ids[2], 10);
        let rest: Vec<u64> = ids.iter().copied().filter(|&i| i != ids[2]).collect();
        assert_eq!(queue_ids(&r, 1001, false), rest);
    }

    /// C3: without permission 3 an agent does not see other agents' exclusive
    /// customers in the queue; with it, it does; the owner always does.
    #[test]
    fn exclusive_customers_of_others_are_hidden_without_permission_3() {
        let mut r = routing_with(|s| s.exclusive = true);
        add_online(&mut r, 1001, 0, 0);
        add_online(&mut r, 1002, 0, 0);
        let _ = r.set_owner(cust(1), 1002, 0).unwrap();
        let owned = open_auto(&mut r, 1, 0); // waits for its owner (cap 0)
        let free = open_auto(&mut r, 2, 1);
        assert_eq!(queue_ids(&r, 1001, false), vec![free]);
        assert_eq!(queue_ids(&r, 1001, true), vec![owned, free]);
        assert_eq!(queue_ids(&r, 1002, false), vec![owned, free]);
        assert_eq!(
            r.accept(1001, owned, false, 2),
            Err(RoutingError::NotAllowed {
                conversation: owned,
                agent: 1001
            })
        );
        r.check_invariants();
        // a supervisor (permission 3) may take it; the owner keeps the ownership
        let _ = r.accept(1001, owned, true, 3).unwrap();
        assert_eq!(agent_of(&r, owned), Some(1001));
        assert_eq!(r.owner(&cust(1)), Some(1002));
        r.check_invariants();
    }

    /// R4: who may see and accept an entry, per the module table.
    #[test]
    fn targeted_entries_are_for_their_target() {
        let mut r = routing();
        for n in [1001, 1002, 1003] {
            add_online(&mut r, n, 0, 0);
        }
        set_group(&mut r, 1002, "g");
        let anyone = open_auto(&mut r, 1, 0);
        let to_1003 = open_entry(&mut r, 2, Entry::Agent(1003), 1);
        let to_g = open_entry(&mut r, 3, Entry::Group("g".into()), 2);
        // (agent, permission 3, expected queue)
        let rows = [
            (1001, false, vec![anyone]),
            (1002, false, vec![anyone, to_g]),
            (1003, false, vec![anyone, to_1003]),
            (1001, true, vec![anyone, to_1003, to_g]),
        ];
        for (agent, whole, want) in rows {
            assert_eq!(
                queue_ids(&r, agent, whole),
                want,
                "agent {agent} perm3 {whole}"
            );
            for &id in &[anyone, to_1003, to_g] {
                let mut copy = r.clone();
                let ok = copy.accept(agent, id, whole, 5).is_ok();
                assert_eq!(ok, want.contains(&id), "agent {agent} accepts {id}");
            }
        }
    }

    /// R4: accepting by hand ignores the cap; refusals change nothing.
    #[test]
    fn accept_by_hand_ignores_the_cap_and_refuses_what_it_must() {
        let mut r = routing();
        add_online(&mut r, 1001, 1, 0);
        add_online(&mut r, 1002, 0, 0);
        add_offline(&mut r, 1003);
        let first = open_auto(&mut r, 1, 0);
        assert_eq!(agent_of(&r, first), Some(1001));
        let second = open_auto(&mut r, 2, 1); // 1001 at cap: queued
        assert_eq!(agent_of(&r, second), None);
        accept_ok(&mut r, 1001, second, 2); // over the cap, by hand
        assert_eq!(agent_of(&r, second), Some(1001));
        let third = open_auto(&mut r, 3, 3);
        let before = r.clone();
        let rows = [
            (
                1002,
                first,
                RoutingError::AlreadyAssigned {
                    conversation: first,
                    agent: 1001,
                },
            ),
            (1003, third, RoutingError::NotLoggedIn(1003)),
            (4242, third, RoutingError::UnknownAgent(4242)),
            (1002, 999, RoutingError::NoSuchConversation(999)),
        ];
        for (agent, conv, err) in rows {
            assert_eq!(r.accept(agent, conv, false, 4), Err(err));
            assert_eq!(r.queue_for(1002, true), before.queue_for(1002, true));
            assert_eq!(r.served_by(1001), before.served_by(1001));
        }
        let out = r.accept(1002, third, false, 5).unwrap();
        assert!(matches!(
            out.effects[..],
            [Effect::Assigned {
                agent: 1002,
                reason: AssignReason::Accepted,
                ..
            }]
        ));
        r.check_invariants();
    }

    /// R5: a freed slot, a raised cap, going Online and logging in pull from the
    /// queue in arrival order.
    #[test]
    fn eligible_agents_pull_from_the_queue_in_arrival_order() {
        let mut r = routing();
        add_online(&mut r, 1001, 1, 0);
        let a = open_auto(&mut r, 1, 0);
        let b = open_auto(&mut r, 2, 1);
        let c = open_auto(&mut r, 3, 2);
        let d = open_auto(&mut r, 4, 3);
        assert_eq!(agent_of(&r, a), Some(1001));
        // a slot freed by closing
        let out = r.close(a, Party::Agent(1001), 10).unwrap();
        assert!(
            matches!(out.effects[1], Effect::Assigned { conversation, agent: 1001, reason: AssignReason::Auto, .. } if conversation == b)
        );
        // a raised cap
        let _ = r.set_cap(1001, 2, 11).unwrap();
        assert_eq!(agent_of(&r, c), Some(1001));
        assert_eq!(agent_of(&r, d), None);
        r.check_invariants();
        // going Online again after Busy
        let _ = r.set_presence(1001, Presence::Busy, 12).unwrap();
        let _ = r.set_cap(1001, 3, 12).unwrap_err();
        let _ = r.close(b, Party::Customer, 13).unwrap();
        assert_eq!(agent_of(&r, d), None);
        let _ = r.set_presence(1001, Presence::Online, 14).unwrap();
        assert_eq!(agent_of(&r, d), Some(1001));
        r.check_invariants();
        // login of a second agent
        let e = open_auto(&mut r, 5, 15);
        assert_eq!(agent_of(&r, e), None);
        add_online(&mut r, 1002, 4, 16);
        assert_eq!(agent_of(&r, e), Some(1002));
        r.check_invariants();
    }
}
