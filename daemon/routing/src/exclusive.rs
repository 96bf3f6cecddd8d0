//! Exclusive customers (独占客户, §7.17 rules a–e; R15–R19).
//!
//! **Ownership has one home, and it is not here.** Who owns a customer is part of
//! its contact (the CRM, stored with it); the engine keeps no copy. Every call that
//! may route takes the account's [`Owners`] and asks it — for a new conversation's
//! entry, for who may take a queued one, for rule c. When the caller changes an
//! owner (rule a: imported by an agent; rule b: added by an agent; a contact
//! deleted), it calls [`AccountRouting::owners_changed`] so the queue is pulled
//! again. The engine decides ownership itself only in exclusive mode, in two
//! cases, and announces each with [`Effect::OwnershipMoved`] for the caller to
//! store:
//!
//! - first service: an unowned customer's conversation is assigned (by any
//!   means) → its agent owns the customer ("来访过的客户 … 上一次和他聊天的客服");
//! - rule e: a transfer completes → the new agent owns the customer (whoever
//!   takes a waiting transfer completes it: its target, or a supervisor with
//!   permission 3).
//!
//! A grab, a supervisor taking another's waiting customer (not a transfer) or a
//! fail-back does not move ownership.
//!
//! Routing (R15): an owned customer goes to its owner exactly as through entry
//! "to agent owner" — assigned at once if the owner could auto-accept (R1), else
//! it waits in the owner's queue, which only the owner (and a supervisor with
//! permission 3) sees. Customers are not sent to other agents while their owner
//! is away: that is what exclusive means. Entry points to agents and groups and
//! the no-response rule are off in exclusive mode (R19). Owners are kept when the
//! mode is off (they are the contacts'), so switching it back on restores them.
//! Rule d (who may see a contact) is the CRM's alone.

use super::effect::{AssignReason, Effect};
use super::state::AccountRouting;
use super::Outcome;
use kefu_wire::chat::CustomerId;
use std::collections::HashMap;

/// Who owns which customer, as the account's contacts say (asked, never kept).
pub trait Owners {
    /// The agent owning `customer`, whether or not exclusive mode is on.
    fn owner(&self, customer: &CustomerId) -> Option<u32>;
}

/// An account without owned customers (no contacts, or none owned).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOwners;

impl Owners for NoOwners {
    fn owner(&self, _customer: &CustomerId) -> Option<u32> {
        None
    }
}

impl Owners for HashMap<CustomerId, u32> {
    fn owner(&self, customer: &CustomerId) -> Option<u32> {
        self.get(customer).copied()
    }
}

impl AccountRouting {
    /// Rules a, b: owners changed outside the engine (an import, an add, a contact
    /// deleted). The queue is pulled again, as who may take a waiting customer changed.
    pub fn owners_changed(&mut self, owners: &dyn Owners, now: i64) -> Outcome<()> {
        let mut fx = Vec::new();
        self.pump_all(owners, now, &mut fx);
        Outcome::new((), fx)
    }

    /// The customer's owner if it is an agent of the account: an owner the engine
    /// does not know (a deleted agent, an import naming a stranger) owns nothing.
    pub(super) fn live_owner(&self, owners: &dyn Owners, customer: &CustomerId) -> Option<u32> {
        owners
            .owner(customer)
            .filter(|o| self.agents.contains_key(o))
    }

    /// Whether `customer` is, in exclusive mode now, owned by someone other than `agent`.
    pub(super) fn owned_by_other(
        &self,
        owners: &dyn Owners,
        agent: u32,
        customer: &CustomerId,
    ) -> bool {
        self.settings.exclusive
            && self
                .live_owner(owners, customer)
                .is_some_and(|o| o != agent)
    }

    /// Rule c (R16): may `agent` open a chat with `customer`? Not with another
    /// agent's exclusive customer unless it has permission 2 (grab).
    pub fn may_initiate(
        &self,
        owners: &dyn Owners,
        agent: u32,
        customer: &CustomerId,
        has_grab_permission: bool,
    ) -> bool {
        has_grab_permission || !self.owned_by_other(owners, agent, customer)
    }

    /// R15/R18: ownership after `agent` got the customer's conversation, announced
    /// for the caller to store.
    pub(super) fn ownership_after_assign(
        &mut self,
        owners: &dyn Owners,
        customer: CustomerId,
        agent: u32,
        reason: AssignReason,
        fx: &mut Vec<Effect>,
    ) {
        if !self.settings.exclusive {
            return;
        }
        let from = match self.live_owner(owners, &customer) {
            None => None,
            Some(o) if o != agent && matches!(reason, AssignReason::Transferred { .. }) => Some(o),
            Some(_) => return,
        };
        fx.push(Effect::OwnershipMoved {
            customer,
            from,
            to: agent,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    fn exclusive() -> TestRouting {
        routing_with(|s| s.exclusive = true)
    }

    /// Rules a, b (R15): an owned customer goes straight to its owner, even when
    /// others are less busy; if the owner cannot take it, it waits for the owner.
    #[test]
    fn owned_customer_goes_to_its_owner_or_waits_for_it() {
        let mut r = exclusive();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        give(&mut r, 1002, 50, 0); // 1002 busier than 1001
        let _ = r.set_owner(cust(1), 1002, 0).unwrap();
        let c = open_auto(&mut r, 1, 10);
        assert_eq!(agent_of(&r, c), Some(1002));
        let _ = r.close(c, Party::Customer, 11).unwrap();
        // owner away: waits for it, not given to 1001
        let _ = r.set_presence(1002, Presence::Away, 12).unwrap();
        let c = open_auto(&mut r, 1, 13);
        assert_eq!(target_of(&r, c), Some(QueueTarget::Agent(1002)));
        assert!(queue_ids(&r, 1001, false).is_empty());
        // owner back: auto-accepted
        let _ = r.set_presence(1002, Presence::Online, 14).unwrap();
        assert_eq!(agent_of(&r, c), Some(1002));
        r.check_invariants();
    }

    /// R15: the first agent to serve an unowned customer owns it; it comes back there.
    #[test]
    fn first_service_makes_the_owner() {
        let mut r = exclusive();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let out = r.open(cust(1), Channel::Web, Entry::Auto, 0).unwrap();
        let c = out.value.conversation;
        assert_eq!(agent_of(&r, c), Some(1001));
        assert!(out.effects.contains(&Effect::OwnershipMoved {
            customer: cust(1),
            from: None,
            to: 1001
        }));
        let _ = r.close(c, Party::Customer, 1).unwrap();
        give(&mut r, 1002, 60, 1);
        give(&mut r, 1001, 61, 2);
        give(&mut r, 1001, 62, 3); // 1001 now busier than 1002, yet gets its customer
        let c = open_auto(&mut r, 1, 4);
        assert_eq!(agent_of(&r, c), Some(1001));
        r.check_invariants();
    }

    /// Rule c (R16): others may not open chats with an owned customer without
    /// permission 2.
    #[test]
    fn rule_c_others_cannot_open_chats_without_permission_2() {
        let mut r = exclusive();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let _ = r.set_owner(cust(1), 1001, 0).unwrap();
        // (agent, permission 2, exclusive mode, may initiate)
        let rows = [
            (1001, false, true, true),
            (1002, false, true, false),
            (1002, true, true, true),
            (1002, false, false, true),
        ];
        for (agent, perm2, mode, want) in rows {
            let mut s = r.settings().clone();
            s.exclusive = mode;
            let _ = r.set_settings(s, 0).unwrap();
            assert_eq!(
                r.may_initiate(agent, &cust(1), perm2),
                want,
                "{agent} {perm2} {mode}"
            );
        }
        let mut s = r.settings().clone();
        s.exclusive = true;
        let _ = r.set_settings(s, 0).unwrap();
        assert_eq!(
            r.initiate(1002, cust(1), Channel::Web, false, 1),
            Err(RoutingError::ExclusiveCustomer { owner: 1001 })
        );
        assert_eq!(r.open_count(), 0);
        let c = r
            .initiate(1002, cust(1), Channel::Web, true, 2)
            .unwrap()
            .value
            .conversation;
        assert_eq!(agent_of(&r, c), Some(1002));
        assert_eq!(r.owner(&cust(1)), Some(1001)); // taking by permission is not a transfer
        r.check_invariants();
    }

    /// An owner that is not an agent of the account (deleted, or named by an import)
    /// owns nothing: the customer routes, waits and is taken as an unowned one, and
    /// its first service makes a real owner.
    #[test]
    fn an_owner_who_is_no_agent_owns_nothing() {
        let mut r = exclusive();
        add_online(&mut r, 1001, 0, 0);
        r.owners.insert(cust(1), 4242);
        assert!(r.may_initiate(1001, &cust(1), false));
        let c = open_auto(&mut r, 1, 1); // cap 0: waits for anyone, not for 4242
        assert_eq!(target_of(&r, c), Some(QueueTarget::Anyone));
        assert_eq!(queue_ids(&r, 1001, false), vec![c]);
        let out = r.accept(1001, c, false, 2).unwrap();
        assert!(out.effects.contains(&Effect::OwnershipMoved {
            customer: cust(1),
            from: None,
            to: 1001
        }));
        assert_eq!(r.owner(&cust(1)), Some(1001));
        r.check_invariants();
    }

    /// Rule e (R18): a completed transfer moves the ownership; a failed one does not.
    #[test]
    fn rule_e_transfer_moves_ownership() {
        let mut r = exclusive();
        add_online(&mut r, 1002, 5, 0);
        add_online(&mut r, 1003, 5, 0);
        let _ = r.set_owner(cust(1), 1002, 0).unwrap();
        let c = open_auto(&mut r, 1, 0);
        let out = r.transfer(1002, c, 1003, 1).unwrap();
        assert!(out.effects.contains(&Effect::OwnershipMoved {
            customer: cust(1),
            from: Some(1002),
            to: 1003
        }));
        assert_eq!(r.owner(&cust(1)), Some(1003));
        // back, through 1003's queue, accepted by hand
        let _ = r.set_presence(1002, Presence::Busy, 2).unwrap();
        let out = r.transfer(1003, c, 1002, 3).unwrap();
        assert!(!out
            .effects
            .iter()
            .any(|e| matches!(e, Effect::OwnershipMoved { .. })));
        assert_eq!(queue_ids(&r, 1002, false), vec![c]); // the target sees it although owned by 1003
        let out = r.accept(1002, c, false, 4).unwrap();
        assert!(out.effects.contains(&Effect::OwnershipMoved {
            customer: cust(1),
            from: Some(1003),
            to: 1002
        }));
        // a transfer that fails back leaves the owner
        let _ = r.set_presence(1003, Presence::Away, 6).unwrap();
        let _ = r.transfer(1002, c, 1003, 7).unwrap();
        let _ = r.tick(HOUR);
        assert_eq!(agent_of(&r, c), Some(1002));
        assert_eq!(r.owner(&cust(1)), Some(1002));
        r.check_invariants();
    }

    /// R19: exclusive mode ignores entries to agents and groups, offers no lists,
    /// and switches off the no-response rule.
    #[test]
    fn exclusive_mode_disables_designated_entries_and_no_response() {
        let mut r = routing_with(|s| {
            s.exclusive = true;
            s.designated = DesignatedMode::Agents;
            s.no_response.enabled = true;
        });
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 0, 0);
        set_group(&mut r, 1002, "g");
        for (n, entry) in [
            (1, Entry::Agent(1002)),
            (2, Entry::Group("g".into())),
            (3, Entry::Agent(4242)),
        ] {
            let c = open_entry(&mut r, n, entry, 0);
            assert_eq!(agent_of(&r, c), Some(1001));
        }
        assert_eq!(r.offers_choice(Channel::Web), None);
        assert!(r.designated_list(ListKind::Agents).is_empty());
        let c = r.conversation_of(&cust(1)).unwrap();
        let _ = r.customer_message(c, 0).unwrap();
        assert_eq!(r.next_deadline(), None);
        assert!(r.tick(HOUR).effects.is_empty());
        r.check_invariants();
    }
}
