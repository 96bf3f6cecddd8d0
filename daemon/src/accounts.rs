//! The in-memory picture of the accounts a shard owns: records loaded from
//! the store on first use, and who is online.
//!
//! Only the owning shard touches an account's state, so there are no locks.
//! The cache is always a copy of what is on disk plus the current turn's
//! batch; if that batch fails to commit, the accounts it touched are evicted
//! and reloaded (see `Shard::commit`).

use crate::store::records::{AccountRecord, AgentRecord, PermissionSet, RoleRecord, SessionRecord};
use crate::store::{self, AgentProfileRecord, KvStore, SecurityLevel, StoreError};
use kefu_wire::{AccountInfo, AgentInfo, Plan, Presence};
use std::collections::{BTreeMap, HashMap};

/// One account's persistent state, as cached by its shard.
#[derive(Debug, Clone)]
pub struct AccountState {
    /// The account record.
    pub record: AccountRecord,
    /// Agents by number.
    pub agents: BTreeMap<u32, AgentState>,
    /// Roles by id.
    pub roles: BTreeMap<u32, RoleRecord>,
    /// Security level (Medium unless set).
    pub security_level: SecurityLevel,
    /// Stored agent profiles by agent (agents without one have the defaults).
    pub profiles: BTreeMap<u32, AgentProfileRecord>,
    /// Serial of the token each agent holds.
    pub agent_tokens: BTreeMap<u32, String>,
}

/// One agent's persistent state.
#[derive(Debug, Clone)]
pub struct AgentState {
    /// The agent record.
    pub record: AgentRecord,
    /// The agent's session, loaded on first use.
    pub session: SessionSlot,
}

/// A session cached lazily: most agents of a big account never log in.
#[derive(Debug, Clone)]
pub enum SessionSlot {
    /// Not read from the store yet.
    Unloaded,
    /// Read: there is none.
    None,
    /// Read: this one.
    Some(SessionRecord),
}

/// An agent that is logged in on this shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnlineAgent {
    /// Its session.
    pub session: crate::session::SessionId,
    /// Presence as set by the agent.
    pub presence: Presence,
}

impl AccountState {
    /// Loads an account with its agents and roles; `None` if it does not exist.
    pub fn load(store: &dyn KvStore, id: u64) -> Result<Option<AccountState>, StoreError> {
        let Some(record) = store::load_account(store, id)? else {
            return Ok(None);
        };
        let agents = store::list_agents(store, id)?
            .into_iter()
            .map(|a| {
                (
                    a.agent,
                    AgentState {
                        record: a,
                        session: SessionSlot::Unloaded,
                    },
                )
            })
            .collect();
        let roles = store::load_roles(store, id)?
            .into_iter()
            .map(|r| (r.role, r))
            .collect();
        let security_level = store::load_account_settings(store, id)?
            .map_or(SecurityLevel::Medium, |s| s.security_level);
        let profiles = store::load_agent_profiles(store, id)?
            .into_iter()
            .map(|p| (p.agent, p))
            .collect();
        let agent_tokens = store::load_agent_tokens(store, id)?
            .into_iter()
            .map(|t| (t.agent, t.serial))
            .collect();
        Ok(Some(AccountState {
            record,
            agents,
            roles,
            security_level,
            profiles,
            agent_tokens,
        }))
    }

    /// The permissions of an agent's role now (empty for an unknown role).
    pub fn permissions(&self, agent: u32) -> PermissionSet {
        self.agents
            .get(&agent)
            .and_then(|a| self.roles.get(&a.record.role))
            .map_or(PermissionSet::empty(), RoleRecord::permission_set)
    }

    /// The session of `agent`, reading it from the store on first use.
    pub fn session(
        &mut self,
        store: &dyn KvStore,
        agent: u32,
    ) -> Result<Option<&SessionRecord>, StoreError> {
        let account = self.record.id;
        let Some(a) = self.agents.get_mut(&agent) else {
            return Ok(None);
        };
        if matches!(a.session, SessionSlot::Unloaded) {
            a.session = match store::load_session(store, account, agent)? {
                Some(s) => SessionSlot::Some(s),
                None => SessionSlot::None,
            };
        }
        Ok(match &a.session {
            SessionSlot::Some(s) => Some(s),
            _ => None,
        })
    }

    /// The wire description of the account.
    pub fn info(&self) -> AccountInfo {
        account_info(&self.record, self.agents.len())
    }

    /// The wire description of every agent, with presence from `online`.
    pub fn agent_infos(&self, online: Option<&HashMap<u32, OnlineAgent>>) -> Vec<AgentInfo> {
        self.agents
            .values()
            .map(|a| AgentInfo {
                agent: a.record.agent,
                nickname: a.record.nickname.clone(),
                role: a.record.role,
                has_password: a.record.password.is_some(),
                presence: online
                    .and_then(|o| o.get(&a.record.agent))
                    .map_or(Presence::Offline, |o| o.presence),
            })
            .collect()
    }
}

/// The wire description of an account record.
pub fn account_info(record: &AccountRecord, agents: usize) -> AccountInfo {
    AccountInfo {
        account: record.id,
        name: record.name.clone(),
        plan: plan_to_wire(record.plan),
        expires_at: record.expires_at,
        created_at: record.created_at,
        agents: u32::try_from(agents).unwrap_or(u32::MAX),
    }
}

/// Stored plan → wire plan (explicit: the two enums evolve separately).
pub fn plan_to_wire(plan: crate::store::records::Plan) -> Plan {
    match plan {
        crate::store::records::Plan::Gold => Plan::Gold,
        crate::store::records::Plan::Silver => Plan::Silver,
    }
}

/// Wire plan → stored plan.
pub fn plan_from_wire(plan: Plan) -> crate::store::records::Plan {
    match plan {
        Plan::Gold => crate::store::records::Plan::Gold,
        Plan::Silver => crate::store::records::Plan::Silver,
    }
}

/// Which shard owns an account: a fixed hash, so every shard (and every
/// restart) agrees without asking anyone.
pub fn owner_shard(account: u64, shards: usize) -> usize {
    // Fibonacci hashing spreads sequential account numbers evenly.
    let mixed = account.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((mixed >> 32) % shards.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_is_stable_and_spreads() {
        let mut counts = [0usize; 4];
        for a in 800_000..800_400u64 {
            let s = owner_shard(a, 4);
            assert_eq!(s, owner_shard(a, 4));
            counts[s] += 1;
        }
        assert!(counts.iter().all(|&c| c > 60), "{counts:?}");
        assert_eq!(owner_shard(42, 1), 0);
    }
}
