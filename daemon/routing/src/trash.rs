//! The spam filter's side of routing (M6, manual §3.11.1): conversations held for
//! screening, the trash (垃圾箱), and taking a conversation out of it.
//!
//! - **Screening.** With the account's filter on, a conversation a customer the filter
//!   may judge opens *held* (`open_screened`): it exists (the customer writes in it,
//!   the welcome goes out) but waits for nobody — no agent sees it, accepts it or is
//!   given it. Its first customer message decides, by the rules of [`super::spam`]
//!   (applied by the caller): `release_screened` routes it as `open` would have (R1,
//!   R6, R15), `trash` puts it in the trash.
//! - **Trash.** A trashed conversation waits for nobody either: it is never
//!   auto-accepted (invariant 3 holds: nobody *may* take it), not in any agent's
//!   queue (`queue_for`), not counted as waiting (`queued_count`); its messages start
//!   no no-response clock and get no auto-reply. Agents list it with `trash_list`
//!   and take it with `accept_from_trash` (the cap does not apply, as for a manual
//!   accept). At most [`MAX_TRASH`] conversations wait in the trash: trashing one
//!   more closes the oldest (`Closed`, by the appliance, reason `TrashFull`).
//!
//! Both are queue entries with a target nobody matches ([`QueueTarget::Screening`],
//! [`QueueTarget::Trash`]), so the queue's order, restore and close work unchanged.

use super::effect::{AssignReason, CloseReason, RoutingError};
use super::exclusive::Owners;
use super::state::{AccountRouting, ConvState, QueueTarget};
use super::Outcome;
use kefu_wire::chat::{Channel, ConversationInfo, CustomerId, Entry, Party};

/// Most conversations in one account's trash; trashing one more closes the oldest.
pub const MAX_TRASH: usize = 1_000;

impl AccountRouting {
    /// A customer opens a conversation the filter will judge: as [`Self::open`]
    /// (an open one continues; the entry is checked; the welcome goes out), but a
    /// new conversation is held for screening instead of being routed.
    pub fn open_screened(
        &mut self,
        customer: CustomerId,
        channel: Channel,
        entry: Entry,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        if self.by_customer.contains_key(&customer) {
            return self.open(customer, channel, entry, owners, now);
        }
        let effective = self.effective_entry(owners, &customer, channel, &entry);
        self.check_entry(&effective)?;
        let id = self.create(customer.clone(), channel, now);
        let mut fx = Vec::new();
        self.opened(id, customer, channel, entry, now, &mut fx);
        self.enqueue(id, QueueTarget::Screening, now, &mut fx);
        Ok(Outcome::new(self.info_of(id)?, fx))
    }

    /// Whether `conversation` is held for screening.
    pub fn is_screening(&self, conversation: u64) -> bool {
        self.target_is(conversation, &QueueTarget::Screening)
    }

    /// Whether `conversation` is in the trash.
    pub fn is_trashed(&self, conversation: u64) -> bool {
        self.target_is(conversation, &QueueTarget::Trash)
    }

    fn target_is(&self, conversation: u64, want: &QueueTarget) -> bool {
        self.conversations
            .get(&conversation)
            .is_some_and(|c| matches!(&c.state, ConvState::Queued { target, .. } if target == want))
    }

    /// The held conversation passed the filter: routed through `entry` as `open`
    /// routes a new one (an entry no longer valid — its agent or group gone — routes
    /// as auto). Refused unless it is held.
    pub fn release_screened(
        &mut self,
        conversation: u64,
        entry: Entry,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        if !self.is_screening(conversation) {
            return Err(RoutingError::NotInTrash(conversation));
        }
        let (customer, channel) = match self.conversations.get(&conversation) {
            Some(c) => (c.customer.clone(), c.channel),
            None => return Err(RoutingError::NoSuchConversation(conversation)),
        };
        let mut effective = self.effective_entry(owners, &customer, channel, &entry);
        if self.check_entry(&effective).is_err() {
            effective = Entry::Auto;
        }
        let placement = self.placement(&effective, None);
        let mut fx = Vec::new();
        self.place(
            conversation,
            placement,
            AssignReason::Auto,
            owners,
            now,
            &mut fx,
        );
        Ok(Outcome::new(self.info_of(conversation)?, fx))
    }

    /// The filter caught the conversation (held, or any queued one): into the trash,
    /// at its back. Past [`MAX_TRASH`] the oldest trashed conversations close.
    /// Refused for a conversation an agent serves.
    pub fn trash(
        &mut self,
        conversation: u64,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<()>, RoutingError> {
        let c = self
            .conversations
            .get(&conversation)
            .ok_or(RoutingError::NoSuchConversation(conversation))?;
        if let ConvState::Assigned { agent } = c.state {
            return Err(RoutingError::AlreadyAssigned {
                conversation,
                agent,
            });
        }
        let mut fx = Vec::new();
        self.enqueue(conversation, QueueTarget::Trash, now, &mut fx);
        let trashed = self.trash_ids();
        let excess = trashed.len().saturating_sub(MAX_TRASH);
        for id in trashed.into_iter().take(excess) {
            self.close_conversation(
                id,
                Party::System,
                CloseReason::TrashFull,
                owners,
                now,
                &mut fx,
            );
        }
        Ok(Outcome::new((), fx))
    }

    fn trash_ids(&self) -> Vec<u64> {
        self.queue
            .values()
            .filter(|id| self.is_trashed(**id))
            .copied()
            .collect()
    }

    /// The trash, oldest first (the order conversations entered it).
    pub fn trash_list(&self) -> Vec<ConversationInfo> {
        self.trash_ids()
            .into_iter()
            .filter_map(|id| self.conversation(id))
            .collect()
    }

    /// `agent` takes a conversation out of the trash (§3.11.1 "从垃圾箱中直接将他们
    /// 接入"): assigned to it at once, cap or not. Refused with `NotInTrash` for a
    /// conversation that is not in the trash.
    pub fn accept_from_trash(
        &mut self,
        agent: u32,
        conversation: u64,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        self.check_logged_in(agent)?;
        if !self.is_trashed(conversation) {
            return Err(RoutingError::NotInTrash(conversation));
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
        Ok(Outcome::new(self.info_of(conversation)?, fx))
    }

    /// Whether `conversation` waits for the filter or in the trash: its messages
    /// start no no-response clock and get no auto-reply.
    pub(super) fn filtered(&self, conversation: u64) -> bool {
        self.is_screening(conversation) || self.is_trashed(conversation)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::MAX_TRASH;

    fn held(r: &mut TestRouting, n: u32, now: i64) -> u64 {
        let owners = r.owners.clone();
        r.engine
            .open_screened(cust(n), Channel::Web, Entry::Auto, &owners, now)
            .unwrap()
            .value
            .conversation
    }

    /// A held conversation waits for nobody; released, it routes as `open` does.
    #[test]
    fn held_conversations_wait_for_nobody_until_released() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        let id = held(&mut r, 1, 1);
        assert!(r.is_screening(id));
        assert_eq!(agent_of(&r, id), None);
        assert!(r.queue_for(1001, true).is_empty());
        assert_eq!(r.queued_count(), 0);
        let owners = r.owners.clone();
        let out = r
            .engine
            .release_screened(id, Entry::Auto, &owners, 2)
            .unwrap();
        assert!(matches!(
            out.effects[..],
            [Effect::Assigned { agent: 1001, .. }]
        ));
        assert_eq!(agent_of(&r, id), Some(1001));
        r.check_invariants();
    }

    /// Trashed: never auto-accepted, not in the queue; accepted by hand from the trash.
    #[test]
    fn trash_is_taken_only_by_hand() {
        let mut r = routing();
        add_online(&mut r, 1001, 0, 0);
        let id = held(&mut r, 1, 1);
        let owners = r.owners.clone();
        let _ = r.engine.trash(id, &owners, 2).unwrap();
        // An agent becoming eligible pulls nothing from the trash.
        let _ = r.set_cap(1001, 5, 3).unwrap();
        assert_eq!(agent_of(&r, id), None);
        assert!(r.queue_for(1001, true).is_empty());
        assert_eq!(r.trash_list().len(), 1);
        // A normal accept does not reach it; a trash accept does.
        assert!(r.accept(1001, id, true, 4).is_err());
        let out = r.engine.accept_from_trash(1001, id, &owners, 5).unwrap();
        assert_eq!(out.value.conversation, id);
        assert_eq!(agent_of(&r, id), Some(1001));
        assert_eq!(
            r.engine.accept_from_trash(1001, id, &owners, 6),
            Err(RoutingError::NotInTrash(id))
        );
        r.check_invariants();
    }

    /// After a restart, held and trashed conversations are restored where they stood:
    /// still nobody's, the trash still taken only by hand.
    #[test]
    fn held_and_trashed_conversations_restore_as_nobodys() {
        use super::super::state::{RestoredConversation, RestoredPlacement};
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        for (id, target) in [(7, QueueTarget::Screening), (8, QueueTarget::Trash)] {
            r.engine
                .restore(RestoredConversation {
                    conversation: id,
                    customer: cust(id as u32),
                    channel: Channel::Web,
                    opened_at: 1,
                    placement: RestoredPlacement::Queued {
                        target,
                        transfer: None,
                    },
                    unread: 1,
                    waiting_since: None,
                })
                .unwrap();
        }
        let _ = r.set_cap(1001, 6, 2).unwrap();
        assert!(r.is_screening(7) && r.is_trashed(8));
        assert_eq!((agent_of(&r, 7), agent_of(&r, 8)), (None, None));
        assert_eq!(r.queued_count(), 0);
        assert_eq!(r.trash_list().len(), 1);
        r.check_invariants();
    }

    /// The trash is bounded: the oldest entry closes.
    #[test]
    fn a_full_trash_drops_its_oldest() {
        let mut r = routing();
        let owners = r.owners.clone();
        let mut ids = Vec::new();
        for n in 0..=MAX_TRASH as u32 {
            let id = held(&mut r, n, i64::from(n));
            let out = r.engine.trash(id, &owners, i64::from(n)).unwrap();
            ids.push((id, out.effects));
        }
        let (first, _) = ids[0];
        let (_, last_fx) = ids.last().unwrap();
        assert!(last_fx.iter().any(|e| matches!(
            e,
            Effect::Closed { conversation, reason: CloseReason::TrashFull, .. } if *conversation == first
        )));
        assert_eq!(r.trash_list().len(), MAX_TRASH);
        r.check_invariants();
    }
}
