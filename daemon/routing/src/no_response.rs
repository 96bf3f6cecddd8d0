//! The no-response rule (长时间未响应, §7.15; R20–R22) and re-selection.
//!
//! **The clock.** It runs while the customer waits for an answer: it starts at the
//! customer's *oldest* unanswered message (later messages do not push it back,
//! or a customer who keeps writing would never be offered anything), restarts
//! when a new agent takes the conversation (accept, transfer, grab, fail-back:
//! the new agent gets a full period), and stops when the serving agent writes.
//! It runs for queued conversations too (a customer waiting for a designated
//! agent, §10.7: "如果长时间没有响应 … 重新选择客服").
//!
//! **What happens.** At `timeout − warn_lead` the serving agent is warned, if it
//! is not offline. At `timeout` the customer is offered a new choice: a list of
//! agents, or of groups when the designated mode is "groups", always without
//! offline ones ("默认不显示离线客服") and without the current agent. If the
//! serving agent is offline (logged out keeping its conversations, or appearing
//! offline), the offer comes at once when the customer opens the chat again or
//! writes (R22). An offer stands until the conversation closes or the agent
//! writes.
//!
//! **Re-selection (R21).** The customer's choice closes the old conversation
//! (`Closed { reason: Reselected }`), the old agent is told (`ReselectedNotice`;
//! kept for it and delivered at its next login if it is logged out), and a new
//! conversation is routed to the choice — automatically to the old agent only if
//! no other agent could take it (a customer does not wait while an eligible
//! agent is idle).
//! The new conversation carries the unread count and, if the customer was still
//! waiting, a fresh clock; it gets no welcome.
//!
//! The rule is off unless enabled, and always off in exclusive mode (R19).
//! Mobile customers cannot choose (§3.13): their agents are warned, but no offer
//! is made.

use super::effect::{AssignReason, CloseReason, Effect, ListKind, RoutingError};
use super::exclusive::Owners;
use super::state::{AccountRouting, ConvState, DesignatedMode, PendingNotice, QueueTarget};
use super::timers::TimerKind;
use super::Outcome;
use kefu_wire::chat::{Channel, ConversationInfo, Entry, Party};
use kefu_wire::Presence;

impl AccountRouting {
    /// R19: the rule applies now: it is a sub-option of designated agent (§7.15
    /// "当开启指定客服后，还可以选择设置长时间未响应提示"), so it is off while designated
    /// agent is off, and always off in exclusive mode.
    pub(super) fn no_response_active(&self) -> bool {
        self.settings.no_response.enabled
            && self.settings.designated != DesignatedMode::Off
            && !self.settings.exclusive
    }

    /// Designated agent applies (on, and not in exclusive mode).
    pub(super) fn designated_active(&self) -> bool {
        self.settings.designated != DesignatedMode::Off && !self.settings.exclusive
    }

    /// Starts (or restarts) `id`'s clock at `since` and schedules the warning.
    pub(super) fn nr_start(&mut self, id: u64, since: i64) {
        if !self.no_response_active() {
            return;
        }
        let nr = self.settings.no_response;
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        c.waiting_since = Some(since);
        // validate() guarantees 0 <= warn_lead_ms < timeout_ms.
        let warn_at = since.saturating_add(nr.timeout_ms - nr.warn_lead_ms);
        self.set_nr_timer(id, Some((warn_at, TimerKind::NoResponseWarning)));
    }

    /// A customer message: starts the clock unless it runs already.
    pub(super) fn nr_on_customer_message(&mut self, id: u64, now: i64) {
        let waiting = self
            .conversations
            .get(&id)
            .is_some_and(|c| c.waiting_since.is_some());
        if !waiting {
            self.nr_start(id, now);
        }
    }

    /// The serving agent answered: the clock stops and any offer lapses. An agent that
    /// was warned is told the warning is over (§7.15 "则提示消失").
    pub(super) fn nr_stop(&mut self, id: u64, fx: &mut Vec<Effect>) {
        if let Some(c) = self.conversations.get_mut(&id) {
            c.waiting_since = None;
            c.offered = false;
            if std::mem::take(&mut c.warned) {
                if let Some(agent) = c.agent() {
                    fx.push(Effect::NoResponseCleared {
                        conversation: id,
                        agent,
                    });
                }
            }
        }
        self.set_nr_timer(id, None);
    }

    /// The rule was switched off: every clock stops.
    pub(super) fn nr_stop_all(&mut self) {
        let ids: Vec<u64> = self
            .conversations
            .iter()
            .filter(|(_, c)| c.waiting_since.is_some() || c.nr_timer.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(c) = self.conversations.get_mut(&id) {
                c.waiting_since = None;
                c.warned = false;
            }
            self.set_nr_timer(id, None);
        }
    }

    /// A no-response timer fired.
    pub(super) fn nr_fire(&mut self, id: u64, kind: TimerKind, fx: &mut Vec<Effect>) {
        if !self.no_response_active() {
            return;
        }
        let Some(c) = self.conversations.get(&id) else {
            return;
        };
        let Some(since) = c.waiting_since else {
            return;
        };
        match kind {
            TimerKind::NoResponseWarning => {
                let offer_at = since.saturating_add(self.settings.no_response.timeout_ms);
                if let Some(agent) = c.agent() {
                    let present = self
                        .agents
                        .get(&agent)
                        .is_some_and(|a| a.presence != Presence::Offline);
                    if present {
                        if let Some(c) = self.conversations.get_mut(&id) {
                            c.warned = true;
                        }
                        fx.push(Effect::NoResponseWarning {
                            conversation: id,
                            agent,
                            offer_at,
                        });
                    }
                }
                self.set_nr_timer(id, Some((offer_at, TimerKind::NoResponseOffer)));
            }
            TimerKind::NoResponseOffer => self.offer(id, fx),
            TimerKind::Transfer => {}
        }
    }

    /// R22: the serving agent is offline: offer a new choice now.
    pub(super) fn offer_if_agent_offline(&mut self, id: u64, fx: &mut Vec<Effect>) {
        if !self.no_response_active() {
            return;
        }
        let offline = self
            .conversations
            .get(&id)
            .and_then(|c| c.agent())
            .and_then(|a| self.agents.get(&a))
            .is_some_and(|a| a.presence == Presence::Offline);
        if offline {
            self.offer(id, fx);
        }
    }

    /// Offers the customer a new choice (once per offer period; never to mobile).
    fn offer(&mut self, id: u64, fx: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(&id) else {
            return;
        };
        if c.offered || c.channel == Channel::Mobile {
            return;
        }
        let current = match &c.state {
            ConvState::Assigned { agent } => Some(*agent),
            ConvState::Queued {
                target: QueueTarget::Agent(a),
                ..
            } => Some(*a),
            _ => None,
        };
        let kind = match self.settings.designated {
            DesignatedMode::Groups => ListKind::Groups,
            DesignatedMode::Agents | DesignatedMode::Off => ListKind::Agents,
        };
        let choices = self.choices(kind, true, current);
        let customer = c.customer.clone();
        if let Some(c) = self.conversations.get_mut(&id) {
            c.offered = true;
        }
        fx.push(Effect::OfferReselection {
            conversation: id,
            customer,
            choices,
        });
    }

    /// R21: the customer, offered a new choice, picks `entry`. Answers the new
    /// conversation.
    pub fn reselect(
        &mut self,
        conversation: u64,
        entry: Entry,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<ConversationInfo>, RoutingError> {
        let c = self
            .conversations
            .get(&conversation)
            .ok_or(RoutingError::NoSuchConversation(conversation))?;
        // Offered a new choice (R20, R22), or waiting for a designated agent or group
        // that has not taken it: the customer "may choose again" (§10.7.2 "重新选择客服").
        let waiting_for_choice = self.designated_active()
            && matches!(
                c.state,
                ConvState::Queued {
                    target: QueueTarget::Agent(_) | QueueTarget::Group(_),
                    ..
                }
            );
        if !((c.offered && self.no_response_active()) || waiting_for_choice) {
            return Err(RoutingError::ReselectionNotOffered(conversation));
        }
        let customer = c.customer.clone();
        let channel = c.channel;
        let unread = c.unread;
        let waiting = c.waiting_since.is_some();
        let old_agent = c.agent();
        let effective = self.effective_entry(owners, &customer, channel, &entry);
        self.check_entry(&effective)?;

        let mut fx = Vec::new();
        self.close_conversation(
            conversation,
            Party::Customer,
            CloseReason::Reselected,
            owners,
            now,
            &mut fx,
        );
        if let Some(agent) = old_agent {
            if let Some(a) = self.agents.get_mut(&agent) {
                let deliver_now = a.logged_in;
                if !deliver_now {
                    a.pending_notices.push(PendingNotice {
                        conversation,
                        customer: customer.clone(),
                        at: now,
                    });
                }
                fx.push(Effect::ReselectedNotice {
                    agent,
                    conversation,
                    customer: customer.clone(),
                    at: now,
                    deliver_now,
                });
            }
        }
        let id = self.create(customer.clone(), channel, now);
        if let Some(c) = self.conversations.get_mut(&id) {
            c.unread = unread;
        }
        fx.push(Effect::Opened {
            conversation: id,
            customer,
            channel,
            entry,
            at: now,
        });
        if waiting {
            self.nr_start(id, now);
        }
        let placement = self.placement(&effective, old_agent);
        self.place(id, placement, AssignReason::Auto, owners, now, &mut fx);
        Ok(Outcome::new(self.info_of(id)?, fx))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    const T: i64 = 15 * MINUTE_MS;
    const LEAD: i64 = MINUTE_MS;

    fn with_rule() -> TestRouting {
        routing_with(|s| {
            s.designated = DesignatedMode::Agents;
            s.no_response.enabled = true;
        })
    }

    /// R20: warning at timeout − lead, offer at timeout, measured from the oldest
    /// unanswered message; an agent reply stops it. Rows: customer messages at,
    /// agent replies at, tick times → effects kinds expected at each tick.
    #[test]
    fn warning_then_offer_unless_the_agent_answers() {
        type Row = (
            &'static [i64],
            &'static [i64],
            &'static [(i64, &'static [&'static str])],
        );
        let rows: &[Row] = &[
            // unanswered: warn, then offer
            (
                &[0],
                &[],
                &[
                    (T - LEAD - 1, &[]),
                    (T - LEAD, &["warn"]),
                    (T - 1, &[]),
                    (T, &["offer"]),
                    (2 * T, &[]),
                ],
            ),
            // later customer messages do not push the clock back
            (
                &[0, 10 * MINUTE_MS],
                &[],
                &[(T - LEAD, &["warn"]), (T, &["offer"])],
            ),
            // the agent answers before the warning
            (&[0], &[5 * MINUTE_MS], &[(2 * T, &[])]),
            // the agent answers after the warning: no offer
            (
                &[0],
                &[T - 30 * SEC],
                &[(T - LEAD, &["warn"]), (2 * T, &[])],
            ),
            // the clock restarts at the next customer message after an answer
            (
                &[0, 6 * MINUTE_MS],
                &[5 * MINUTE_MS],
                &[
                    (T, &[]),
                    (6 * MINUTE_MS + T - LEAD, &["warn"]),
                    (6 * MINUTE_MS + T, &["offer"]),
                ],
            ),
            // a late tick fires both, in order
            (&[0], &[], &[(3 * T, &["warn", "offer"])]),
        ];
        for (i, (customer_at, agent_at, ticks)) in rows.iter().enumerate() {
            let mut r = with_rule();
            add_online(&mut r, 1001, 5, 0);
            add_online(&mut r, 1002, 5, 0);
            let c = open_auto(&mut r, 1, 0);
            let mut events: Vec<(i64, bool)> = customer_at
                .iter()
                .map(|t| (*t, true))
                .chain(agent_at.iter().map(|t| (*t, false)))
                .collect();
            events.sort();
            let mut ev = events.into_iter().peekable();
            for (at, want) in ticks.iter() {
                while let Some(&(t, from_customer)) = ev.peek() {
                    if t > *at {
                        break;
                    }
                    ev.next();
                    if from_customer {
                        let _ = r.customer_message(c, t).unwrap();
                    } else {
                        let _ = r.agent_message(c, 1001, t).unwrap();
                    }
                }
                let got: Vec<&str> = r
                    .tick(*at)
                    .effects
                    .iter()
                    .map(|e| match e {
                        Effect::NoResponseWarning { agent: 1001, .. } => "warn",
                        Effect::OfferReselection { .. } => "offer",
                        _ => "other",
                    })
                    .collect();
                assert_eq!(&got[..], *want, "row {i} at {at}");
                r.check_invariants();
            }
        }
    }

    /// R20: the warning names the agent and the offer time; the offer lists online
    /// agents other than the current one (or groups, in groups mode).
    #[test]
    fn warning_and_offer_contents() {
        let mut r = with_rule();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 0, 0);
        add_offline(&mut r, 1003);
        set_group(&mut r, 1001, "a");
        set_group(&mut r, 1002, "b");
        set_group(&mut r, 1003, "c");
        let c = open_auto(&mut r, 1, 0);
        let _ = r.customer_message(c, 1000).unwrap();
        let fx = r.tick(1000 + T).effects;
        assert_eq!(
            fx,
            vec![
                Effect::NoResponseWarning {
                    conversation: c,
                    agent: 1001,
                    offer_at: 1000 + T
                },
                Effect::OfferReselection {
                    conversation: c,
                    customer: cust(1),
                    choices: vec![Choice::Agent {
                        agent: 1002,
                        presence: Presence::Online
                    }],
                },
            ]
        );
        // groups mode, and the agent is not warned while it appears offline
        let mut s = r.settings().clone();
        s.designated = DesignatedMode::Groups;
        let _ = r.set_settings(s, 0).unwrap();
        let d = open_auto(&mut r, 2, 0);
        assert_eq!(agent_of(&r, d), Some(1001));
        let _ = r.set_presence(1001, Presence::Offline, 0).unwrap();
        // appearing offline: the offer comes at once (R22), groups without the
        // current agent's, and without offline ones
        let fx = r.customer_message(d, 0).unwrap().effects;
        assert_eq!(
            fx,
            vec![Effect::OfferReselection {
                conversation: d,
                customer: cust(2),
                choices: vec![Choice::Group {
                    name: "b".into(),
                    online: true
                }],
            }]
        );
        let fx = r.tick(T).effects;
        assert!(fx
            .iter()
            .all(|e| !matches!(e, Effect::NoResponseWarning { .. })));
        r.check_invariants();
    }

    /// R21: re-selection closes the old conversation, tells the old agent, routes
    /// the new one to the choice.
    #[test]
    fn reselection_moves_the_customer_and_tells_the_old_agent() {
        let mut r = with_rule();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let c = open_auto(&mut r, 1, 0);
        assert_eq!(agent_of(&r, c), Some(1001));
        assert_eq!(
            r.reselect(c, Entry::Agent(1002), 1),
            Err(RoutingError::ReselectionNotOffered(c))
        );
        let _ = r.customer_message(c, 0).unwrap();
        let _ = r.customer_message(c, 1).unwrap();
        let _ = r.tick(T);
        assert_eq!(
            r.reselect(c, Entry::Agent(4242), T + 1),
            Err(RoutingError::UnknownAgent(4242))
        );
        let out = r.reselect(c, Entry::Auto, T + 2).unwrap();
        let new = out.value.conversation;
        assert_ne!(new, c);
        assert_eq!(out.value.unread, 2);
        assert!(matches!(
            &out.effects[..],
            [
                Effect::Closed {
                    agent: Some(1001),
                    reason: CloseReason::Reselected,
                    by: Party::Customer,
                    ..
                },
                Effect::ReselectedNotice {
                    agent: 1001,
                    deliver_now: true,
                    ..
                },
                Effect::Opened {
                    entry: Entry::Auto,
                    ..
                },
                Effect::Assigned { agent: 1002, .. }, // auto, but never the old agent
            ]
        ));
        assert_eq!(r.conversation_of(&cust(1)), Some(new));
        // the customer still waits: a fresh clock for 1002
        assert_eq!(r.next_deadline(), Some(T + 2 + T - LEAD));
        r.check_invariants();
    }

    /// R21/R22: an offline old agent: the offer comes at once when the customer
    /// writes; the notice waits for its next login.
    #[test]
    fn offline_agent_offer_at_once_and_notice_at_next_login() {
        let mut r = with_rule();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let c = open_auto(&mut r, 1, 0);
        let _ = r.logout(1001, true, 1).unwrap();
        let out = r.open(cust(1), Channel::Web, Entry::Auto, 2).unwrap();
        assert_eq!(out.value.conversation, c);
        assert!(matches!(out.effects[..], [Effect::OfferReselection { .. }]));
        // not twice
        assert!(r
            .customer_message(c, 3)
            .unwrap()
            .effects
            .iter()
            .all(|e| !matches!(e, Effect::OfferReselection { .. })));
        let out = r.reselect(c, Entry::Agent(1002), 4).unwrap();
        assert!(out.effects.iter().any(|e| matches!(
            e,
            Effect::ReselectedNotice {
                agent: 1001,
                deliver_now: false,
                ..
            }
        )));
        let out = r.login(1001, 10).unwrap();
        assert!(out.value.is_empty());
        assert_eq!(
            out.effects[..1],
            [Effect::ReselectedNotice {
                agent: 1001,
                conversation: c,
                customer: cust(1),
                at: 4,
                deliver_now: true
            }]
        );
        // delivered once
        let _ = r.logout(1001, true, 11).unwrap();
        assert!(r
            .login(1001, 12)
            .unwrap()
            .effects
            .iter()
            .all(|e| !matches!(e, Effect::ReselectedNotice { .. })));
        r.check_invariants();
    }

    /// R20/R8: the clock restarts for a new agent; mobile customers get no offer;
    /// queued customers get one; switching the rule off stops the clocks.
    #[test]
    fn clock_restarts_mobile_gets_no_offer_and_switching_off_stops() {
        let mut r = with_rule();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let c = open_auto(&mut r, 1, 0);
        let _ = r.customer_message(c, 0).unwrap();
        let _ = r.transfer(1001, c, 1002, 10 * MINUTE_MS).unwrap();
        assert_eq!(r.next_deadline(), Some(10 * MINUTE_MS + T - LEAD));
        // mobile
        let m = r
            .open(cust(2), Channel::Mobile, Entry::Auto, 0)
            .unwrap()
            .value
            .conversation;
        let _ = r.customer_message(m, 0).unwrap();
        let fx = r.tick(T).effects;
        assert!(
            matches!(fx[..], [Effect::NoResponseWarning { conversation, .. }] if conversation == m)
        );
        // queued, waiting for a designated agent that does not come
        add_online(&mut r, 1003, 0, 0);
        let q = open_entry(&mut r, 3, Entry::Agent(1003), T);
        let _ = r.customer_message(q, T).unwrap();
        let fx = r.tick(2 * T).effects;
        assert!(fx.iter().any(|e| matches!(e, Effect::OfferReselection { conversation, choices, .. }
            if *conversation == q && !choices.contains(&Choice::Agent { agent: 1003, presence: Presence::Online }))));
        let out = r.reselect(q, Entry::Agent(1001), 2 * T).unwrap();
        assert_eq!(agent_of(&r, out.value.conversation), Some(1001));
        r.check_invariants();
        // switching the rule off
        let d = open_auto(&mut r, 4, 2 * T);
        let _ = r.customer_message(d, 2 * T).unwrap();
        assert!(r.next_deadline().is_some());
        let mut s = r.settings().clone();
        s.no_response.enabled = false;
        let _ = r.set_settings(s, 2 * T).unwrap();
        assert_eq!(r.next_deadline(), None);
        r.check_invariants();
    }

    /// §7.15: the no-response rule is a sub-option of designated agent: ticked but
    /// with designated agent off, no clock runs.
    #[test]
    fn no_response_needs_designated_agent() {
        let mut r = routing_with(|s| s.no_response.enabled = true);
        add_online(&mut r, 1001, 5, 0);
        let c = open_auto(&mut r, 1, 0);
        let _ = r.customer_message(c, 0).unwrap();
        assert_eq!(r.next_deadline(), None);
        assert!(r.tick(2 * T).effects.is_empty());
        r.check_invariants();
    }

    /// §7.15 "如果客服在收到提示后立即做出响应，则提示消失": a warned agent that answers is
    /// told the warning is over; an agent answering before any warning is not.
    #[test]
    fn answering_after_the_warning_clears_it() {
        let mut r = with_rule();
        add_online(&mut r, 1001, 5, 0);
        let c = open_auto(&mut r, 1, 0);
        let _ = r.customer_message(c, 0).unwrap();
        assert!(r.agent_message(c, 1001, 1).unwrap().effects.is_empty());
        let _ = r.customer_message(c, 2).unwrap();
        let fx = r.tick(2 + T - LEAD).effects;
        assert!(matches!(fx[..], [Effect::NoResponseWarning { .. }]));
        let fx = r.agent_message(c, 1001, 3 + T - LEAD).unwrap().effects;
        assert_eq!(
            fx,
            vec![Effect::NoResponseCleared {
                conversation: c,
                agent: 1001
            }]
        );
        // once
        assert!(r.agent_message(c, 1001, T).unwrap().effects.is_empty());
        r.check_invariants();
    }

    /// §10.7.2 "您可以在下面输入留言或重新选择客服": a customer waiting for its designated
    /// agent may choose again without a no-response offer (designated agent on, the
    /// no-response rule off).
    #[test]
    fn a_customer_waiting_for_its_designated_agent_may_choose_again() {
        let mut r = routing_with(|s| s.designated = DesignatedMode::Agents);
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 0, 0); // cap off: cannot take it
        let served = open_auto(&mut r, 2, 0);
        assert_eq!(
            r.reselect(served, Entry::Agent(1002), 1),
            Err(RoutingError::ReselectionNotOffered(served))
        );
        let q = open_entry(&mut r, 1, Entry::Agent(1002), 0);
        assert_eq!(agent_of(&r, q), None);
        let out = r.reselect(q, Entry::Agent(1001), 1).unwrap();
        assert_eq!(agent_of(&r, out.value.conversation), Some(1001));
        r.check_invariants();
        // designated agent off: no longer
        let mut r = routing();
        add_online(&mut r, 1002, 0, 0);
        let q = open_entry(&mut r, 1, Entry::Agent(1002), 0);
        assert_eq!(
            r.reselect(q, Entry::Auto, 1),
            Err(RoutingError::ReselectionNotOffered(q))
        );
    }
}
