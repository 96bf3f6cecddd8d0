//! Message bookkeeping — the per-message hot path: unread counts and "last
//! message" times (C15), the no-response clock (R20, R22) and auto-replies (R25).
//!
//! The shard stores and relays the message itself; it calls these so routing
//! knows who is waiting. A customer message costs a hash lookup and, at most, one
//! timer insert (the first unanswered message); an agent message one timer remove.

use super::effect::RoutingError;
use super::state::AccountRouting;
use super::Outcome;

impl AccountRouting {
    /// The customer wrote in `conversation` (queued or served): one more unread;
    /// the no-response clock starts if it is not running (R20); an offline agent
    /// means an offer now (R22); a Busy/Away agent may mean an auto-reply (R25).
    pub fn customer_message(
        &mut self,
        conversation: u64,
        now: i64,
    ) -> Result<Outcome<()>, RoutingError> {
        let c = self
            .conversations
            .get_mut(&conversation)
            .ok_or(RoutingError::NoSuchConversation(conversation))?;
        c.unread = c.unread.saturating_add(1);
        c.last_customer_at = Some(now);
        let mut fx = Vec::new();
        // Held for the spam filter or in the trash: nobody is told, nobody answers.
        if self.filtered(conversation) {
            return Ok(Outcome::new((), fx));
        }
        self.nr_on_customer_message(conversation, now);
        self.offer_if_agent_offline(conversation, &mut fx);
        self.auto_reply(conversation, now, &mut fx);
        Ok(Outcome::new((), fx))
    }

    /// The serving agent wrote: the customer has been answered (clock stopped,
    /// offer withdrawn) and everything is read.
    pub fn agent_message(
        &mut self,
        conversation: u64,
        agent: u32,
        now: i64,
    ) -> Result<Outcome<()>, RoutingError> {
        let c = self
            .conversations
            .get_mut(&conversation)
            .ok_or(RoutingError::NoSuchConversation(conversation))?;
        if c.agent() != Some(agent) {
            return Err(RoutingError::NotServing {
                conversation,
                agent,
            });
        }
        c.last_agent_at = Some(now);
        c.unread = 0;
        let mut fx = Vec::new();
        self.nr_stop(conversation, &mut fx);
        Ok(Outcome::new((), fx))
    }

    /// The serving agent has seen the customer's messages (C15).
    pub fn mark_read(&mut self, conversation: u64, agent: u32) -> Result<(), RoutingError> {
        let c = self
            .conversations
            .get_mut(&conversation)
            .ok_or(RoutingError::NoSuchConversation(conversation))?;
        if c.agent() != Some(agent) {
            return Err(RoutingError::NotServing {
                conversation,
                agent,
            });
        }
        c.unread = 0;
        Ok(())
    }

    /// When the customer and the serving agent last wrote (C15: list order).
    pub fn last_messages(&self, conversation: u64) -> Option<(Option<i64>, Option<i64>)> {
        self.conversations
            .get(&conversation)
            .map(|c| (c.last_customer_at, c.last_agent_at))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    /// C15: unread counts up with customer messages; the serving agent reads or
    /// answers; only it may.
    #[test]
    fn unread_counts_and_who_may_clear_them() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let c = give(&mut r, 1001, 1, 0);
        for t in 1..=3 {
            let _ = r.customer_message(c, t).unwrap();
        }
        assert_eq!(r.conversation(c).unwrap().unread, 3);
        assert_eq!(r.last_messages(c), Some((Some(3), None)));
        assert_eq!(
            r.mark_read(c, 1002),
            Err(RoutingError::NotServing {
                conversation: c,
                agent: 1002
            })
        );
        assert_eq!(
            r.agent_message(c, 1002, 4),
            Err(RoutingError::NotServing {
                conversation: c,
                agent: 1002
            })
        );
        r.mark_read(c, 1001).unwrap();
        assert_eq!(r.conversation(c).unwrap().unread, 0);
        let _ = r.customer_message(c, 5).unwrap();
        let _ = r.agent_message(c, 1001, 6).unwrap();
        assert_eq!(r.conversation(c).unwrap().unread, 0);
        assert_eq!(r.last_messages(c), Some((Some(5), Some(6))));
        assert_eq!(
            r.customer_message(999, 7),
            Err(RoutingError::NoSuchConversation(999))
        );
        // queued conversations count unread too
        let _ = r.set_presence(1001, Presence::Busy, 8).unwrap();
        let _ = r.set_presence(1002, Presence::Busy, 8).unwrap();
        let q = open_auto(&mut r, 2, 8);
        let _ = r.customer_message(q, 9).unwrap();
        assert_eq!(r.queue_for(1001, false)[0].unread, 1);
        r.check_invariants();
    }
}
