//! A conversation's life: a customer opens one (R1, R6, R9, R24), an agent opens
//! one with a customer (R12, R16), somebody closes it (R13).

use super::effect::{AssignReason, CloseReason, Effect, RoutingError};
use super::exclusive::Owners;
use super::state::{AccountRouting, ConvState, Placement};
use super::Outcome;
use kefu_wire::chat::{Channel, ConversationInfo, CustomerId, Entry, Party};

impl AccountRouting {
    /// What a new conversation announces: that it opened, and the welcome of the
    /// hour if the account has one (M1). Both ways of opening one (`open`,
    /// `open_screened`) say the same.
    pub(super) fn opened(
        &self,
        id: u64,
        customer: CustomerId,
        channel: Channel,
        entry: Entry,
        now: i64,
        fx: &mut Vec<Effect>,
    ) {
        fx.push(Effect::Opened {
            conversation: id,
            customer,
            channel,
            entry,
            at: now,
        });
        if let Some(text) = self.settings.welcome.text_at(now) {
            fx.push(Effect::Welcome {
                conversation: id,
                text: text.to_owned(),
            });
        }
    }

    /// A customer opens a conversation through `entry`.
    ///
    /// If it has one open already, that one continues (R9): no welcome, and if its
    /// agent is offline the customer is offered a new choice (R22). Otherwise a new
    /// conversation gets the welcome of the period (R24) and is routed (R1, R6, R15):
    /// to an agent now, or into the queue. The entry is checked first (R6).
    pub fn open(
        &mut self,
        customer: CustomerId,
        channel: Channel,
        entry: Entry,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        self.open_as(None, customer, channel, entry, owners, now)
    }

    /// A conversation number handed out now, for a conversation opened later with
    /// [`open_reserved`](Self::open_reserved): a customer walking the navigation menu
    /// (M4) has its conversation's number before it is routed.
    pub fn reserve_conversation_id(&mut self) -> u64 {
        let id = self.next_conversation;
        self.next_conversation = id.saturating_add(1);
        id
    }

    /// [`open`](Self::open) under a number from
    /// [`reserve_conversation_id`](Self::reserve_conversation_id); the same rules.
    pub fn open_reserved(
        &mut self,
        id: u64,
        customer: CustomerId,
        channel: Channel,
        entry: Entry,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        self.open_as(Some(id), customer, channel, entry, owners, now)
    }

    fn open_as(
        &mut self,
        reserved: Option<u64>,
        customer: CustomerId,
        channel: Channel,
        entry: Entry,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        let mut fx = Vec::new();
        if let Some(&id) = self.by_customer.get(&customer) {
            self.offer_if_agent_offline(id, &mut fx);
            return Ok(Outcome::new(self.info_of(id)?, fx));
        }
        let effective = self.effective_entry(owners, &customer, channel, &entry);
        self.check_entry(&effective)?;
        let id = match reserved {
            Some(id) if !self.conversations.contains_key(&id) => {
                self.create_as(id, customer.clone(), channel, now)
            }
            _ => self.create(customer.clone(), channel, now),
        };
        self.opened(id, customer, channel, entry, now, &mut fx);
        let placement = self.placement(&effective, None);
        self.place(id, placement, AssignReason::Auto, owners, now, &mut fx);
        Ok(Outcome::new(self.info_of(id)?, fx))
    }

    /// R12: `agent` opens a conversation with `customer` itself (§3.9); the cap
    /// does not apply and no welcome is sent.
    ///
    /// - Exclusive rule c (R16): a customer owned by another agent needs permission 2.
    /// - The customer's open conversation: if the agent serves it, that one; if
    ///   another agent does, refused with `AlreadyAssigned` (the client then asks
    ///   to grab, §3.9); if it is queued, the agent takes it when it may see it in
    ///   the queue or has permission 2.
    pub fn initiate(
        &mut self,
        agent: u32,
        customer: CustomerId,
        channel: Channel,
        has_grab_permission: bool,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        self.check_logged_in(agent)?;
        if !self.may_initiate(owners, agent, &customer, has_grab_permission) {
            let owner = self.live_owner(owners, &customer).unwrap_or(agent);
            return Err(RoutingError::ExclusiveCustomer { owner });
        }
        let mut fx = Vec::new();
        if let Some(&id) = self.by_customer.get(&customer) {
            let c = self
                .conversations
                .get(&id)
                .ok_or(RoutingError::NoSuchConversation(id))?;
            match c.state {
                ConvState::Assigned { agent: holder } if holder == agent => {}
                ConvState::Assigned { agent: holder } => {
                    return Err(RoutingError::AlreadyAssigned {
                        conversation: id,
                        agent: holder,
                    })
                }
                _ => {
                    if !(has_grab_permission || self.may_take(owners, agent, c, false)) {
                        return Err(RoutingError::NotAllowed {
                            conversation: id,
                            agent,
                        });
                    }
                    self.assign(id, agent, AssignReason::Initiated, owners, now, &mut fx);
                }
            }
            return Ok(Outcome::new(self.info_of(id)?, fx));
        }
        let id = self.create(customer.clone(), channel, now);
        fx.push(Effect::Opened {
            conversation: id,
            customer,
            channel,
            entry: Entry::Agent(agent),
            at: now,
        });
        self.place(
            id,
            Placement::Assign(agent),
            AssignReason::Initiated,
            owners,
            now,
            &mut fx,
        );
        Ok(Outcome::new(self.info_of(id)?, fx))
    }

    /// R13: closes a conversation. An agent may close only one it serves; the
    /// customer (`Party::Customer`) and the appliance (`Party::System`) any. The
    /// agent's freed slot pulls from the queue (R5).
    pub fn close(
        &mut self,
        conversation: u64,
        by: Party,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<()>, RoutingError> {
        let c = self
            .conversations
            .get(&conversation)
            .ok_or(RoutingError::NoSuchConversation(conversation))?;
        if let Party::Agent(a) = by {
            if c.agent() != Some(a) {
                return Err(RoutingError::NotServing {
                    conversation,
                    agent: a,
                });
            }
        }
        let mut fx = Vec::new();
        self.close_conversation(
            conversation,
            by,
            CloseReason::Requested,
            owners,
            now,
            &mut fx,
        );
        Ok(Outcome::new((), fx))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    /// A number reserved before routing (a customer in the navigation menu) is the
    /// conversation's when it opens, later ones follow it, and the rules are `open`'s.
    #[test]
    fn a_reserved_number_is_the_conversations_and_later_ones_follow() {
        let mut r = routing_with(|_| {});
        add_online(&mut r, 1001, 5, 0);
        let reserved = r.reserve_conversation_id();
        let other = r.open(cust(2), Channel::Web, Entry::Auto, 10).unwrap();
        assert_eq!(other.value.conversation, reserved + 1);
        let out = r
            .open_reserved(reserved, cust(1), Channel::Web, Entry::Auto, 20)
            .unwrap();
        assert_eq!(out.value.conversation, reserved);
        assert_eq!(
            out.value.state,
            kefu_wire::chat::ConversationState::Assigned { agent: 1001 }
        );
        assert_eq!(r.next_conversation_id(), reserved + 2);
        // A number in use is never taken twice: a fresh one is given.
        let again = r
            .open_reserved(reserved, cust(3), Channel::Web, Entry::Auto, 30)
            .unwrap();
        assert_eq!(again.value.conversation, reserved + 2);
    }

    /// R1 and the effects of a new conversation, in order.
    #[test]
    fn open_records_welcomes_and_routes_in_that_order() {
        let mut r = routing_with(|s| s.welcome = every_day_welcome("welcome"));
        add_online(&mut r, 1001, 5, 0);
        let out = r.open(cust(1), Channel::Desktop, Entry::Auto, 100).unwrap();
        let id = out.value.conversation;
        assert_eq!(
            out.effects,
            vec![
                Effect::Opened {
                    conversation: id,
                    customer: cust(1),
                    channel: Channel::Desktop,
                    entry: Entry::Auto,
                    at: 100
                },
                Effect::Welcome {
                    conversation: id,
                    text: "welcome".into()
                },
                Effect::Assigned {
                    conversation: id,
                    customer: cust(1),
                    agent: 1001,
                    reason: AssignReason::Auto,
                    at: 100
                },
            ]
        );
        assert_eq!(out.value.opened_at, 100);
        assert_eq!(r.conversation_of(&cust(1)), Some(id));
        assert_eq!(r.next_conversation_id(), id + 1);
    }

    /// R12: an agent opens a conversation with a customer; R16 is in exclusive.rs.
    #[test]
    fn agents_open_conversations_with_customers() {
        let mut r = routing();
        add_online(&mut r, 1001, 0, 0); // cap off: initiating ignores it
        add_online(&mut r, 1002, 0, 0);
        add_offline(&mut r, 1003);
        let id = give(&mut r, 1001, 1, 0);
        assert_eq!(agent_of(&r, id), Some(1001));
        // again: the same conversation
        assert_eq!(give(&mut r, 1001, 1, 1), id);
        // served by someone else: that is a grab
        assert_eq!(
            r.initiate(1002, cust(1), Channel::Web, true, 2),
            Err(RoutingError::AlreadyAssigned {
                conversation: id,
                agent: 1001
            })
        );
        // a queued customer: taken when visible
        let queued = open_entry(&mut r, 2, Entry::Agent(1002), 3);
        assert_eq!(
            r.initiate(1001, cust(2), Channel::Web, false, 4),
            Err(RoutingError::NotAllowed {
                conversation: queued,
                agent: 1001
            })
        );
        assert_eq!(give(&mut r, 1002, 2, 5), queued);
        assert_eq!(agent_of(&r, queued), Some(1002));
        assert_eq!(
            r.initiate(1003, cust(3), Channel::Web, false, 6),
            Err(RoutingError::NotLoggedIn(1003))
        );
        r.check_invariants();
    }

    /// R13: who may close.
    #[test]
    fn close_by_serving_agent_customer_or_system() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let a = give(&mut r, 1001, 1, 0);
        let b = give(&mut r, 1001, 2, 0);
        assert_eq!(
            r.close(a, Party::Agent(1002), 1),
            Err(RoutingError::NotServing {
                conversation: a,
                agent: 1002
            })
        );
        assert_eq!(
            r.close(999, Party::Customer, 1),
            Err(RoutingError::NoSuchConversation(999))
        );
        let out = r.close(a, Party::Agent(1001), 2).unwrap();
        assert!(matches!(
            out.effects[..],
            [Effect::Closed {
                agent: Some(1001),
                by: Party::Agent(1001),
                reason: CloseReason::Requested,
                at: 2,
                ..
            }]
        ));
        let _ = r.close(b, Party::System, 3).unwrap();
        assert_eq!(r.conversation(a), None);
        assert_eq!(r.conversation_of(&cust(1)), None);
        r.check_invariants();
    }
}
