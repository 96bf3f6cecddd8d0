//! Agents' side of routing: roster, login and logout with "close all" or "keep"
//! (R14), presence, the auto-accept cap (R2, R3), group membership, personal
//! auto-replies, and the account presence shown to customers (R23).
//!
//! Login puts the agent in status Online (as the shard's login does). A dropped
//! connection is not a logout: the shard should call `logout(agent, true, now)`
//! for it, so nothing is lost and the conversations wait for the agent.

use super::effect::{CloseReason, Effect, RoutingError};
use super::exclusive::Owners;
use super::state::{AccountPresenceMode, AccountRouting, AgentRouting, AgentSetup};
use super::Outcome;
use kefu_wire::chat::{ConversationInfo, Party};
use kefu_wire::Presence;
use std::collections::BTreeSet;

/// An agent's routing state as the shard may show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStatus {
    /// Logged in.
    pub logged_in: bool,
    /// Presence (Offline when logged out).
    pub presence: Presence,
    /// Auto-accept cap, 0 = off.
    pub cap: u32,
    /// Conversations it serves (kept ones included).
    pub served: u32,
    /// Its group.
    pub group: Option<String>,
}

impl AccountRouting {
    /// Adds an agent of the account, logged out.
    pub fn add_agent(&mut self, agent: u32, setup: AgentSetup) -> Result<(), RoutingError> {
        if self.agents.contains_key(&agent) {
            return Err(RoutingError::AgentExists(agent));
        }
        self.agents.insert(
            agent,
            AgentRouting {
                logged_in: false,
                presence: Presence::Offline,
                cap: setup.cap,
                served: BTreeSet::new(),
                group: setup.group,
                last_assigned_at: i64::MIN,
                personal_auto_reply: setup.personal_auto_reply,
                pending_notices: Vec::new(),
            },
        );
        Ok(())
    }

    /// The agent's routing state.
    pub fn agent_status(&self, agent: u32) -> Option<AgentStatus> {
        self.agents.get(&agent).map(|a| AgentStatus {
            logged_in: a.logged_in,
            presence: a.presence,
            cap: a.cap,
            served: u32::try_from(a.served.len()).unwrap_or(u32::MAX),
            group: a.group.clone(),
        })
    }

    /// R14: the agent logs in (status Online). Its kept conversations come back
    /// (the answer lists every conversation it serves); notices kept for it are
    /// delivered; it auto-accepts from the queue. Logging in again while logged in
    /// (a new connection) sets Online and answers the same list.
    pub fn login(
        &mut self,
        agent: u32,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<Vec<ConversationInfo>>, RoutingError> {
        let before = self.account_presence();
        let a = self
            .agents
            .get_mut(&agent)
            .ok_or(RoutingError::UnknownAgent(agent))?;
        let mut fx = Vec::new();
        if !a.logged_in {
            a.logged_in = true;
            a.last_assigned_at = now;
        }
        a.presence = Presence::Online;
        for n in std::mem::take(&mut a.pending_notices) {
            fx.push(Effect::ReselectedNotice {
                agent,
                conversation: n.conversation,
                customer: n.customer,
                at: n.at,
                deliver_now: true,
            });
        }
        self.presence_effect(before, &mut fx);
        self.pump(agent, owners, now, &mut fx);
        Ok(Outcome::new(self.served_by(agent), fx))
    }

    /// R14: the agent logs out. `keep == false` ("close all and quit") closes its
    /// conversations; `keep == true` keeps them assigned to it, untakeable by
    /// others, until its next login. Transfers waiting for it fail back at once.
    /// Logging out a logged-out agent does nothing.
    pub fn logout(
        &mut self,
        agent: u32,
        keep: bool,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<()>, RoutingError> {
        let before = self.account_presence();
        let a = self
            .agents
            .get_mut(&agent)
            .ok_or(RoutingError::UnknownAgent(agent))?;
        let mut fx = Vec::new();
        if !a.logged_in {
            return Ok(Outcome::new((), fx));
        }
        a.logged_in = false;
        a.presence = Presence::Offline;
        if !keep {
            let served: Vec<u64> = a.served.iter().copied().collect();
            for id in served {
                self.close_conversation(
                    id,
                    Party::Agent(agent),
                    CloseReason::AgentLoggedOut,
                    owners,
                    now,
                    &mut fx,
                );
            }
        }
        let waiting_for_it: Vec<u64> = self
            .queue
            .values()
            .copied()
            .filter(|id| {
                self.conversations
                    .get(id)
                    .and_then(|c| c.transfer)
                    .is_some_and(|t| t.to == agent)
            })
            .collect();
        for id in waiting_for_it {
            self.fail_back(id, owners, now, &mut fx);
        }
        self.presence_effect(before, &mut fx);
        Ok(Outcome::new((), fx))
    }

    /// Sets a logged-in agent's presence. Offline while logged in means "appear
    /// offline": no automatic conversations, shown offline to customers.
    pub fn set_presence(
        &mut self,
        agent: u32,
        presence: Presence,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<()>, RoutingError> {
        let before = self.account_presence();
        let a = self
            .agents
            .get_mut(&agent)
            .ok_or(RoutingError::UnknownAgent(agent))?;
        if !a.logged_in {
            return Err(RoutingError::NotLoggedIn(agent));
        }
        a.presence = presence;
        let mut fx = Vec::new();
        self.presence_effect(before, &mut fx);
        self.pump(agent, owners, now, &mut fx);
        Ok(Outcome::new((), fx))
    }

    /// R2/R3: sets the auto-accept cap (0 = off), only in status Online (§3.3.2).
    /// A higher cap pulls from the queue at once; a lower one takes nothing away.
    /// (Stored caps are given to `add_agent` instead.)
    pub fn set_cap(
        &mut self,
        agent: u32,
        cap: u32,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<()>, RoutingError> {
        let a = self
            .agents
            .get_mut(&agent)
            .ok_or(RoutingError::UnknownAgent(agent))?;
        if !a.logged_in || a.presence != Presence::Online {
            return Err(RoutingError::CapNeedsOnline(agent));
        }
        a.cap = cap;
        let mut fx = Vec::new();
        self.pump(agent, owners, now, &mut fx);
        Ok(Outcome::new((), fx))
    }

    /// Sets the agent's group (None: no group). It may then take the group's queue.
    pub fn set_group(
        &mut self,
        agent: u32,
        group: Option<String>,
        owners: &dyn Owners,
        now: i64,
    ) -> Result<Outcome<()>, RoutingError> {
        let a = self
            .agents
            .get_mut(&agent)
            .ok_or(RoutingError::UnknownAgent(agent))?;
        a.group = group.filter(|g| !g.is_empty());
        let mut fx = Vec::new();
        self.pump(agent, owners, now, &mut fx);
        Ok(Outcome::new((), fx))
    }

    /// Sets (or clears) the agent's personal auto-reply (§7.4).
    pub fn set_personal_auto_reply(
        &mut self,
        agent: u32,
        text: Option<String>,
    ) -> Result<(), RoutingError> {
        let a = self
            .agents
            .get_mut(&agent)
            .ok_or(RoutingError::UnknownAgent(agent))?;
        a.personal_auto_reply = text.filter(|t| !t.is_empty());
        Ok(())
    }

    /// R23: the account's presence as customers see it (§7.14): Online when the
    /// mode is "always online"; otherwise the best presence among its agents,
    /// Online > Busy > Away > Offline.
    pub fn account_presence(&self) -> Presence {
        if self.settings.presence_mode == AccountPresenceMode::AlwaysOnline {
            return Presence::Online;
        }
        let rank = |p: Presence| match p {
            Presence::Online => 3,
            Presence::Busy => 2,
            Presence::Away => 1,
            Presence::Offline => 0,
        };
        self.agents
            .values()
            .map(|a| a.presence)
            .max_by_key(|p| rank(*p))
            .unwrap_or(Presence::Offline)
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::AccountPresenceMode;
    use super::super::testkit::*;

    /// R14: logout "close all" closes every conversation of the agent.
    #[test]
    fn logout_close_all_closes_the_agents_conversations() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let a = give(&mut r, 1001, 1, 0);
        let b = give(&mut r, 1001, 2, 0);
        let other = give(&mut r, 1002, 3, 0);
        let out = r.logout(1001, false, 10).unwrap();
        let closed: Vec<u64> = out
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Closed {
                    conversation,
                    reason: CloseReason::AgentLoggedOut,
                    agent: Some(1001),
                    ..
                } => Some(*conversation),
                _ => None,
            })
            .collect();
        assert_eq!(closed, vec![a, b]);
        assert_eq!(r.open_count(), 1);
        assert_eq!(agent_of(&r, other), Some(1002));
        r.check_invariants();
    }

    /// R14: logout "keep": conversations stay the agent's, nobody else may accept
    /// or grab them, they come back at the next login.
    #[test]
    fn logout_keep_keeps_conversations_untakeable_until_login() {
        let mut r = routing();
        add_online(&mut r, 1001, 5, 0);
        add_online(&mut r, 1002, 5, 0);
        let a = give(&mut r, 1001, 1, 0);
        let out = r.logout(1001, true, 10).unwrap();
        assert!(out
            .effects
            .iter()
            .all(|e| !matches!(e, Effect::Closed { .. })));
        assert_eq!(agent_of(&r, a), Some(1001));
        assert_eq!(
            r.grab(1002, a, true, true, 11),
            Err(RoutingError::Kept {
                conversation: a,
                agent: 1001
            })
        );
        assert_eq!(
            r.accept(1002, a, true, 11),
            Err(RoutingError::Kept {
                conversation: a,
                agent: 1001
            })
        );
        assert!(r.queue_for(1002, true).is_empty());
        // the customer writes meanwhile: still 1001's, unread counts up
        let _ = r.customer_message(a, 12).unwrap();
        assert_eq!(agent_of(&r, a), Some(1001));
        r.check_invariants();
        let back = r.login(1001, 20).unwrap();
        assert_eq!(back.value.len(), 1);
        assert_eq!(back.value[0].conversation, a);
        assert_eq!(back.value[0].unread, 1);
        r.check_invariants();
    }

    /// R23: account presence per mode.
    #[test]
    fn account_presence_follows_its_mode() {
        // (agents' presences, mode, expected)
        use Presence::*;
        let rows: &[(&[Presence], AccountPresenceMode, Presence)] = &[
            (&[], AccountPresenceMode::AlwaysOnline, Online),
            (&[Offline], AccountPresenceMode::AlwaysOnline, Online),
            (&[], AccountPresenceMode::FromAgents, Offline),
            (
                &[Offline, Offline],
                AccountPresenceMode::FromAgents,
                Offline,
            ),
            (&[Away, Offline], AccountPresenceMode::FromAgents, Away),
            (&[Away, Busy], AccountPresenceMode::FromAgents, Busy),
            (
                &[Busy, Online, Away],
                AccountPresenceMode::FromAgents,
                Online,
            ),
        ];
        for (presences, mode, want) in rows {
            let mut r = routing_with(|s| s.presence_mode = *mode);
            for (i, p) in presences.iter().enumerate() {
                let n = 1001 + i as u32;
                add_online(&mut r, n, 0, 0);
                let _ = r.set_presence(n, *p, 0).unwrap();
            }
            assert_eq!(r.account_presence(), *want, "{presences:?} {mode:?}");
        }
    }

    /// R23: changes of the derived account presence are announced.
    #[test]
    fn account_presence_changes_are_effects() {
        let mut r = routing();
        add_offline(&mut r, 1001);
        let out = r.login(1001, 0).unwrap();
        assert!(out.effects.contains(&Effect::AccountPresenceChanged {
            presence: Presence::Online
        }));
        let out = r.set_presence(1001, Presence::Away, 1).unwrap();
        assert_eq!(
            out.effects,
            vec![Effect::AccountPresenceChanged {
                presence: Presence::Away
            }]
        );
        let out = r.set_presence(1001, Presence::Away, 2).unwrap();
        assert!(out.effects.is_empty());
        let out = r.logout(1001, true, 3).unwrap();
        assert_eq!(
            out.effects,
            vec![Effect::AccountPresenceChanged {
                presence: Presence::Offline
            }]
        );
    }

    /// R3 and the agent inputs' refusals, which change nothing.
    #[test]
    fn agent_inputs_refuse_what_they_must() {
        let mut r = routing();
        add_offline(&mut r, 1001);
        add_online(&mut r, 1002, 3, 0);
        let _ = r.set_presence(1002, Presence::Away, 0).unwrap();
        assert_eq!(
            r.add_agent(1001, AgentSetup::default()),
            Err(RoutingError::AgentExists(1001))
        );
        assert_eq!(
            r.set_presence(1001, Presence::Online, 0),
            Err(RoutingError::NotLoggedIn(1001))
        );
        assert_eq!(
            r.set_cap(1001, 5, 0),
            Err(RoutingError::CapNeedsOnline(1001))
        );
        assert_eq!(
            r.set_cap(1002, 5, 0),
            Err(RoutingError::CapNeedsOnline(1002))
        );
        assert_eq!(r.agent_status(1002).unwrap().cap, 3);
        assert_eq!(r.set_cap(4242, 5, 0), Err(RoutingError::UnknownAgent(4242)));
        assert_eq!(r.login(4242, 0), Err(RoutingError::UnknownAgent(4242)));
        // logging out twice is harmless
        assert!(r.logout(1001, false, 0).unwrap().effects.is_empty());
        r.check_invariants();
    }
}
