//! Moving a served conversation to another agent: transfer with its timeout and
//! fail-back (R10, R2, R18), and grab (R11).
//!
//! **Transfer (§3.5).** The target must be logged in and not showing offline (the
//! client offers only online agents), and not full: an Online target with
//! auto-accept on that serves its cap already is refused (`TargetFull`), the sender
//! keeps the customer. If the target could auto-accept it (R1: Online, cap on,
//! under cap) it is assigned at once; otherwise (Away, Busy, or Online with
//! auto-accept off) it waits in the target's queue (entry for agent X: only X, or a supervisor, sees it) and the
//! target is told. Taken within `transfer_timeout_ms` — by hand, or automatically
//! when the target becomes eligible — the transfer completes; otherwise it fails
//! back to the sender, who serves it again (over its cap if need be). If the
//! sender has logged out meanwhile, it is routed anew as auto. A target that logs
//! out makes its waiting transfers fail back at once. While waiting, the
//! conversation is off the sender's list (its slot is free).
//!
//! **Grab (§3.9).** Needs permission 2 and a confirmation (the client asks, then
//! sends again with `confirmed`). The conversation moves; the old agent is told by
//! the `Assigned { reason: Grabbed }` effect. A kept conversation cannot be
//! grabbed. Grabbing does not move an exclusive customer's ownership (only rule e
//! transfers do).

use super::effect::{AssignReason, Effect, RoutingError};
use super::exclusive::Owners;
use super::state::{AccountRouting, ConvState, PendingTransfer, QueueTarget};
use super::timers::TimerKind;
use super::Outcome;
use kefu_wire::chat::{ConversationInfo, Entry};
use kefu_wire::Presence;

impl AccountRouting {
    /// R10: `from` transfers a conversation it serves to `to`.
    pub fn transfer(
        &mut self,
        from: u32,
        conversation: u64,
        to: u32,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        self.check_logged_in(from)?;
        let c = self
            .conversations
            .get(&conversation)
            .ok_or(RoutingError::NoSuchConversation(conversation))?;
        if c.agent() != Some(from) {
            return Err(RoutingError::NotServing {
                conversation,
                agent: from,
            });
        }
        if to == from {
            return Err(RoutingError::TransferToSelf);
        }
        let target = self.agents.get(&to).ok_or(RoutingError::UnknownAgent(to))?;
        if !target.logged_in || target.presence == Presence::Offline {
            return Err(RoutingError::TargetOffline(to));
        }
        if target.is_full() {
            return Err(RoutingError::TargetFull {
                agent: to,
                cap: target.cap,
            });
        }
        let at_once = target.auto_eligible();
        let mut fx = Vec::new();
        if at_once {
            self.assign(
                conversation,
                to,
                AssignReason::Transferred { from },
                owners,
                now,
                &mut fx,
            );
        } else {
            self.enqueue(conversation, QueueTarget::Agent(to), now, &mut fx);
            let deadline = now.saturating_add(self.settings.transfer_timeout_ms);
            if let Some(c) = self.conversations.get_mut(&conversation) {
                c.transfer = Some(PendingTransfer { from, to, deadline });
                self.timers
                    .insert((deadline, conversation, TimerKind::Transfer));
            }
            fx.push(Effect::TransferOffered {
                conversation,
                from,
                to,
                deadline,
            });
        }
        self.pump(from, owners, now, &mut fx);
        Ok(Outcome::new(self.info_of(conversation)?, fx))
    }

    /// R10: a waiting transfer fails back (timer, or its target logged out).
    pub(super) fn fail_back(
        &mut self,
        id: u64,
        owners: &dyn Owners,
        now: i64,
        fx: &mut Vec<Effect>,
    ) {
        let Some(t) = self.conversations.get(&id).and_then(|c| c.transfer) else {
            return;
        };
        self.detach(id);
        let returned = self.agents.get(&t.from).is_some_and(|a| a.logged_in);
        fx.push(Effect::TransferFailedBack {
            conversation: id,
            from: t.from,
            to: t.to,
            returned,
        });
        if returned {
            self.assign(
                id,
                t.from,
                AssignReason::FailedBack { target: t.to },
                owners,
                now,
                fx,
            );
        } else {
            let Some(c) = self.conversations.get(&id) else {
                return;
            };
            let entry = self.effective_entry(owners, &c.customer, c.channel, &Entry::Auto);
            let placement = self.placement(&entry, None);
            self.place(id, placement, AssignReason::Auto, owners, now, fx);
        }
    }

    /// R11: `agent` grabs a conversation another agent serves.
    pub fn grab(
        &mut self,
        agent: u32,
        conversation: u64,
        has_grab_permission: bool,
        confirmed: bool,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        self.check_logged_in(agent)?;
        if !has_grab_permission {
            return Err(RoutingError::GrabPermissionRequired);
        }
        let c = self
            .conversations
            .get(&conversation)
            .ok_or(RoutingError::NoSuchConversation(conversation))?;
        let holder = match c.state {
            ConvState::Assigned { agent: holder } => holder,
            _ => return Err(RoutingError::NotAssigned(conversation)),
        };
        if holder == agent {
            return Err(RoutingError::AlreadyAssigned {
                conversation,
                agent,
            });
        }
        if !self.agents.get(&holder).is_some_and(|h| h.logged_in) {
            return Err(RoutingError::Kept {
                conversation,
                agent: holder,
            });
        }
        if !confirmed {
            return Err(RoutingError::ConfirmationRequired {
                conversation,
                holder,
            });
        }
        let mut fx = Vec::new();
        self.assign(
            conversation,
            agent,
            AssignReason::Grabbed { from: holder },
            owners,
            now,
            &mut fx,
        );
        self.pump(holder, owners, now, &mut fx);
        Ok(Outcome::new(self.info_of(conversation)?, fx))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    /// R10: an eligible target gets the conversation at once.
    #[test]
    fn transfer_to_an_eligible_agent_assigns_at_once() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let c = give(&mut r, 1001, 1, 0);
        let out = r.transfer(1001, c, 1002, 10).unwrap();
        assert!(matches!(
            out.effects[..],
            [Effect::Assigned {
                agent: 1002,
                reason: AssignReason::Transferred { from: 1001 },
                ..
            }]
        ));
        assert_eq!(agent_of(&r, c), Some(1002));
        assert_eq!(r.next_deadline(), None);
        r.check_invariants();
    }

    /// R10/R2: a Busy or Away target (full or not), or one with auto-accept off: the
    /// conversation waits in its queue, the target is told, and only it sees the entry.
    #[test]
    fn transfer_to_an_ineligible_agent_waits_in_its_queue() {
        // (presence, cap, served before)
        let rows = [
            (Presence::Busy, 5, 0),
            (Presence::Away, 5, 0),
            (Presence::Busy, 1, 1),
            (Presence::Online, 0, 0),
        ];
        for (presence, cap, served) in rows {
            let mut r = routing();
            add_online(&mut r, 1001, 5, 0);
            add_online(&mut r, 1002, cap, 0);
            add_online(&mut r, 1003, 5, 0);
            for k in 0..served {
                give(&mut r, 1002, 100 + k, 0);
            }
            let _ = r.set_presence(1002, presence, 0).unwrap();
            let c = give(&mut r, 1001, 1, 0);
            let out = r.transfer(1001, c, 1002, 10).unwrap();
            assert!(
                matches!(
                    &out.effects[..],
                    [
                        Effect::Queued { target: QueueTarget::Agent(1002), .. },
                        Effect::TransferOffered { from: 1001, to: 1002, deadline, .. },
                    ] if *deadline == 10 + 2 * MINUTE_MS
                ),
                "{presence:?} cap {cap}: {:?}",
                out.effects
            );
            assert_eq!(queue_ids(&r, 1002, false), vec![c]);
            assert!(queue_ids(&r, 1003, false).is_empty());
            assert!(r.served_by(1001).is_empty());
            r.check_invariants();
            // the target takes it by hand: the transfer completes
            let out = r.accept(1002, c, false, 20).unwrap();
            assert!(matches!(
                out.effects[..],
                [Effect::Assigned {
                    agent: 1002,
                    reason: AssignReason::Transferred { from: 1001 },
                    ..
                }]
            ));
            assert_eq!(r.next_deadline(), None);
            r.check_invariants();
        }
    }

    /// R10: a waiting transfer is auto-accepted when its target becomes eligible.
    #[test]
    fn waiting_transfer_is_taken_when_the_target_comes_online() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let _ = r.set_presence(1002, Presence::Busy, 0).unwrap();
        let c = give(&mut r, 1001, 1, 0);
        let _ = r.transfer(1001, c, 1002, 10).unwrap();
        let out = r.set_presence(1002, Presence::Online, 20).unwrap();
        assert!(out.effects.iter().any(|e| matches!(
            e,
            Effect::Assigned {
                agent: 1002,
                reason: AssignReason::Transferred { from: 1001 },
                ..
            }
        )));
        assert_eq!(r.next_deadline(), None);
        r.check_invariants();
    }

    /// R10: not taken within the timeout, it fails back to the sender, who keeps it.
    #[test]
    fn transfer_not_taken_in_time_fails_back_to_the_sender() {
        let mut r = routing();
        add_online(&mut r, 1001, 1, 0);
        add_online(&mut r, 1002, 0, 0);
        let c = give(&mut r, 1001, 1, 0);
        let _ = r.transfer(1001, c, 1002, 1000).unwrap();
        // the sender's freed slot took another customer meanwhile
        let other = open_auto(&mut r, 2, 1500);
        assert_eq!(agent_of(&r, other), Some(1001));
        let deadline = 1000 + 2 * MINUTE_MS;
        assert!(r.tick(deadline - 1).effects.is_empty());
        let fx = r.tick(deadline).effects;
        assert_eq!(
            fx,
            vec![
                Effect::TransferFailedBack {
                    conversation: c,
                    from: 1001,
                    to: 1002,
                    returned: true
                },
                Effect::Assigned {
                    conversation: c,
                    customer: cust(1),
                    agent: 1001,
                    reason: AssignReason::FailedBack { target: 1002 },
                    at: deadline
                },
            ]
        );
        assert_eq!(agent_of(&r, c), Some(1001)); // over its cap of 1
        assert_eq!(
            r.accept(1002, c, false, deadline + 1),
            Err(RoutingError::AlreadyAssigned {
                conversation: c,
                agent: 1001
            })
        );
        r.check_invariants();
    }

    /// R10: a sender that logged out gets nothing back: the conversation is routed anew.
    /// A target that logs out makes the transfer fail back at once.
    #[test]
    fn fail_back_when_sender_or_target_logged_out() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 0, 0);
        add_online(&mut r, 1003, 5, 0);
        let c = give(&mut r, 1001, 1, 0);
        let _ = r.transfer(1001, c, 1002, 0).unwrap();
        let _ = r.logout(1001, false, 1).unwrap();
        let fx = r.tick(2 * MINUTE_MS).effects;
        assert!(matches!(
            fx[..],
            [
                Effect::TransferFailedBack {
                    returned: false,
                    ..
                },
                Effect::Assigned {
                    agent: 1003,
                    reason: AssignReason::Auto,
                    ..
                },
            ]
        ));
        r.check_invariants();
        // target logs out
        let d = give(&mut r, 1003, 2, 10);
        let _ = r.transfer(1003, d, 1002, 11).unwrap();
        let out = r.logout(1002, true, 12).unwrap();
        assert!(matches!(
            out.effects[..],
            [
                Effect::TransferFailedBack {
                    returned: true,
                    from: 1003,
                    to: 1002,
                    ..
                },
                Effect::Assigned { agent: 1003, .. },
                ..
            ]
        ));
        assert_eq!(r.next_deadline(), None);
        r.check_invariants();
    }

    /// R10: refusals, which change nothing.
    #[test]
    fn transfer_refusals() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        add_offline(&mut r, 1003);
        add_online(&mut r, 1004, 5, 0);
        let _ = r.set_presence(1004, Presence::Offline, 0).unwrap();
        add_online(&mut r, 1005, 1, 0);
        give(&mut r, 1005, 7, 0);
        let c = give(&mut r, 1001, 1, 0);
        let rows = [
            (
                1002,
                c,
                1001,
                RoutingError::NotServing {
                    conversation: c,
                    agent: 1002,
                },
            ),
            (1001, c, 1001, RoutingError::TransferToSelf),
            (1001, c, 1003, RoutingError::TargetOffline(1003)),
            (1001, c, 1004, RoutingError::TargetOffline(1004)),
            (
                1001,
                c,
                1005,
                RoutingError::TargetFull {
                    agent: 1005,
                    cap: 1,
                },
            ),
            (1001, c, 4242, RoutingError::UnknownAgent(4242)),
            (1001, 999, 1002, RoutingError::NoSuchConversation(999)),
            (1003, c, 1002, RoutingError::NotLoggedIn(1003)),
        ];
        for (from, conv, to, err) in rows {
            assert_eq!(r.transfer(from, conv, to, 1), Err(err));
        }
        assert_eq!(agent_of(&r, c), Some(1001));
        r.check_invariants();
    }

    /// R11: grab needs permission 2 and a confirmation; not a kept conversation.
    #[test]
    fn grab_needs_permission_and_confirmation() {
        let mut r = routing();
        add_online(&mut r, 1001, 1, 0);
        add_online(&mut r, 1002, 5, 0);
        add_online(&mut r, 1003, 5, 0);
        let c = give(&mut r, 1001, 1, 0);
        let kept = give(&mut r, 1003, 2, 0);
        let _ = r.logout(1003, true, 0).unwrap();
        let _ = r.set_presence(1002, Presence::Busy, 0).unwrap();
        let queued = open_auto(&mut r, 3, 0); // 1001 is full, 1002 busy, 1003 gone
        assert_eq!(agent_of(&r, queued), None);
        // (agent, conversation, permission, confirmed, expected)
        let rows = [
            (
                1002,
                c,
                false,
                true,
                Err(RoutingError::GrabPermissionRequired),
            ),
            (
                1002,
                c,
                true,
                false,
                Err(RoutingError::ConfirmationRequired {
                    conversation: c,
                    holder: 1001,
                }),
            ),
            (
                1001,
                c,
                true,
                true,
                Err(RoutingError::AlreadyAssigned {
                    conversation: c,
                    agent: 1001,
                }),
            ),
            (
                1002,
                kept,
                true,
                true,
                Err(RoutingError::Kept {
                    conversation: kept,
                    agent: 1003,
                }),
            ),
            (
                1002,
                queued,
                true,
                true,
                Err(RoutingError::NotAssigned(queued)),
            ),
            (
                1002,
                999,
                true,
                true,
                Err(RoutingError::NoSuchConversation(999)),
            ),
            (1003, c, true, true, Err(RoutingError::NotLoggedIn(1003))),
            (1002, c, true, true, Ok(1002)),
        ];
        for (agent, conv, perm, confirmed, want) in rows {
            let got = r
                .grab(agent, conv, perm, confirmed, 10)
                .map(|o| agent_of(&r, o.value.conversation).unwrap_or(0));
            assert_eq!(
                got, want,
                "agent {agent} conv {conv} perm {perm} confirmed {confirmed}"
            );
            r.check_invariants();
        }
        assert_eq!(agent_of(&r, c), Some(1002));
    }

    /// R11/R5: the grabbed agent's freed slot pulls from the queue; the old agent is told.
    #[test]
    fn grab_moves_the_conversation_and_frees_a_slot() {
        let mut r = routing();
        add_online(&mut r, 1001, 1, 0);
        add_online(&mut r, 1002, 0, 0);
        let c = open_auto(&mut r, 1, 0);
        let waiting = open_auto(&mut r, 2, 1);
        let out = r.grab(1002, c, true, true, 5).unwrap();
        assert!(matches!(
            out.effects[..],
            [
                Effect::Assigned { agent: 1002, reason: AssignReason::Grabbed { from: 1001 }, .. },
                Effect::Assigned { agent: 1001, reason: AssignReason::Auto, conversation, .. },
            ] if conversation == waiting
        ));
        r.check_invariants();
    }
}
