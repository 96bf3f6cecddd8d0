//! Roles, agent profiles, the security level and login throttling: the
//! requests of the security feature that need no hardware token.

use super::dispatch::SecurityRequest;
use super::{err, Answer, Centre};
use crate::auth::SUPER_ADMIN_AGENT;
use crate::store::records::{RoleRecord, ADMIN_ROLE, AGENT_ROLE, SUPER_ADMIN_ROLE};
use crate::store::{self, AccountSettingsRecord, AgentProfileRecord};
use kefu_wire::{
    AgentProfile, DisplayMode, ErrorBody, ErrorCode, Response, RoleInfo, SecurityInfo,
    SecurityLevel,
};

/// Roles an account may have, defaults included.
const MAX_ROLES: usize = 32;
/// Longest role name, characters.
const MAX_ROLE_NAME_CHARS: usize = 32;
/// Longest agent group name, characters.
const MAX_GROUP_CHARS: usize = 64;
/// Longest phone number, characters.
const MAX_PHONE_CHARS: usize = 32;

pub(super) fn level_to_wire(level: store::SecurityLevel) -> SecurityLevel {
    match level {
        store::SecurityLevel::Low => SecurityLevel::Low,
        store::SecurityLevel::Medium => SecurityLevel::Medium,
        store::SecurityLevel::High => SecurityLevel::High,
    }
}

fn level_from_wire(level: SecurityLevel) -> store::SecurityLevel {
    match level {
        SecurityLevel::Low => store::SecurityLevel::Low,
        SecurityLevel::Medium => store::SecurityLevel::Medium,
        SecurityLevel::High => store::SecurityLevel::High,
    }
}

impl Centre {
    /// The security feature's agent requests; `None` if `request` is not one.
    pub(super) fn security_request(
        &mut self,
        account: u64,
        me: u32,
        request: SecurityRequest,
    ) -> Answer {
        match request {
            SecurityRequest::ListRoles => self.list_roles(account),
            SecurityRequest::CreateRole { name, permissions } => {
                self.create_role(account, name, permissions)
            }
            SecurityRequest::UpdateRole {
                role,
                name,
                permissions,
            } => self.update_role(account, role, name, permissions),
            SecurityRequest::DeleteRole { role } => self.delete_role(account, role),
            SecurityRequest::SetAgentRole { agent, role } => {
                self.set_agent_role(account, agent, role)
            }
            SecurityRequest::GetAgentProfile { agent } => self.agent_profile(account, agent),
            SecurityRequest::SetAgentProfile { agent, profile } => {
                self.set_agent_profile(account, agent, profile)
            }
            SecurityRequest::SetSecurityLevel { level } => self.set_security_level(account, level),
            SecurityRequest::GetSecurity => self.account_mut(account).map(|s| {
                Response::Security(SecurityInfo {
                    level: level_to_wire(s.security_level),
                    token_serial: s.agent_tokens.get(&me).cloned(),
                })
            }),
        }
    }

    fn list_roles(&mut self, account: u64) -> Answer {
        let state = self.account_mut(account)?;
        let roles = state
            .roles
            .values()
            .map(|r| RoleInfo {
                role: r.role,
                name: r.name.clone(),
                permissions: r.permissions,
                agents: state
                    .agents
                    .values()
                    .filter(|a| a.record.role == r.role)
                    .count() as u32,
            })
            .collect();
        Ok(Response::Roles(roles))
    }

    fn create_role(&mut self, account: u64, name: String, permissions: u16) -> Answer {
        check_role_name(&name)?;
        let state = self.account_mut(account)?;
        if state.roles.len() >= MAX_ROLES {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("an account has at most {MAX_ROLES} roles"),
            ));
        }
        if state.roles.values().any(|r| r.name == name) {
            return Err(err(
                ErrorCode::ALREADY_EXISTS,
                format!("a role named {name:?} exists"),
            ));
        }
        let role = state
            .roles
            .keys()
            .max()
            .map_or(AGENT_ROLE, |m| *m)
            .max(AGENT_ROLE)
            + 1;
        let record = RoleRecord {
            account,
            role,
            name,
            permissions,
        };
        state.roles.insert(role, record.clone());
        self.batch.put_role(&record);
        self.touched.push(account);
        Ok(Response::Role(RoleInfo {
            role,
            name: record.name,
            permissions,
            agents: 0,
        }))
    }

    fn update_role(&mut self, account: u64, role: u32, name: String, permissions: u16) -> Answer {
        check_role_name(&name)?;
        if role == SUPER_ADMIN_ROLE {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "the super admin role keeps every permission",
            ));
        }
        let state = self.account_mut(account)?;
        if state
            .roles
            .values()
            .any(|r| r.name == name && r.role != role)
        {
            return Err(err(
                ErrorCode::ALREADY_EXISTS,
                format!("a role named {name:?} exists"),
            ));
        }
        let r = state
            .roles
            .get_mut(&role)
            .ok_or_else(|| err(ErrorCode::NOT_FOUND, format!("role {role} does not exist")))?;
        r.name = name;
        r.permissions = permissions;
        let record = r.clone();
        self.batch.put_role(&record);
        self.touched.push(account);
        // Permissions are read from the role at every request: nothing else to update.
        Ok(Response::Ok)
    }

    fn delete_role(&mut self, account: u64, role: u32) -> Answer {
        if [SUPER_ADMIN_ROLE, ADMIN_ROLE, AGENT_ROLE].contains(&role) {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "the default roles cannot be deleted",
            ));
        }
        let state = self.account_mut(account)?;
        if !state.roles.contains_key(&role) {
            return Err(err(
                ErrorCode::NOT_FOUND,
                format!("role {role} does not exist"),
            ));
        }
        if let Some(a) = state.agents.values().find(|a| a.record.role == role) {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("agent {} still holds role {role}", a.record.agent),
            ));
        }
        state.roles.remove(&role);
        self.batch
            .delete(store::Cf::Roles, &store::keys::role(account, role));
        self.touched.push(account);
        Ok(Response::Ok)
    }

    fn set_agent_role(&mut self, account: u64, agent: u32, role: u32) -> Answer {
        if agent == SUPER_ADMIN_AGENT {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "agent 1001 is always the super admin",
            ));
        }
        let state = self.account_mut(account)?;
        if !state.roles.contains_key(&role) {
            return Err(err(
                ErrorCode::NOT_FOUND,
                format!("role {role} does not exist"),
            ));
        }
        let a = state.agents.get_mut(&agent).ok_or_else(|| {
            err(
                ErrorCode::UNKNOWN_AGENT,
                format!("agent {agent}@{account} does not exist"),
            )
        })?;
        a.record.role = role;
        let record = a.record.clone();
        self.batch.put_agent(&record);
        self.touched.push(account);
        Ok(Response::Ok)
    }

    fn agent_profile(&mut self, account: u64, agent: u32) -> Answer {
        let state = self.account_mut(account)?;
        let a = state.agents.get(&agent).ok_or_else(|| {
            err(
                ErrorCode::UNKNOWN_AGENT,
                format!("agent {agent}@{account} does not exist"),
            )
        })?;
        let stored = state.profiles.get(&agent);
        Ok(Response::Profile(AgentProfile {
            nickname: a.record.nickname.clone(),
            group: stored.map_or_else(String::new, |p| p.group.clone()),
            display: match stored.map(|p| p.display) {
                Some(store::DisplayMode::AgentNumber) => DisplayMode::AgentNumber,
                _ => DisplayMode::Nickname,
            },
            phone: stored.map_or_else(String::new, |p| p.phone.clone()),
        }))
    }

    fn set_agent_profile(&mut self, account: u64, agent: u32, profile: AgentProfile) -> Answer {
        super::requests::check_text("nickname", &profile.nickname, 64)?;
        if profile.group.chars().count() > MAX_GROUP_CHARS
            || profile.group.chars().any(char::is_control)
        {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("group: at most {MAX_GROUP_CHARS} characters, no control characters"),
            ));
        }
        if profile.phone.chars().count() > MAX_PHONE_CHARS
            || !profile
                .phone
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-'))
        {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("phone: at most {MAX_PHONE_CHARS} of digits, spaces, + and -"),
            ));
        }
        let state = self.account_mut(account)?;
        let a = state.agents.get_mut(&agent).ok_or_else(|| {
            err(
                ErrorCode::UNKNOWN_AGENT,
                format!("agent {agent}@{account} does not exist"),
            )
        })?;
        a.record.nickname = profile.nickname;
        let agent_record = a.record.clone();
        let record = AgentProfileRecord {
            account,
            agent,
            group: profile.group,
            display: match profile.display {
                DisplayMode::Nickname => store::DisplayMode::Nickname,
                DisplayMode::AgentNumber => store::DisplayMode::AgentNumber,
            },
            phone: profile.phone,
        };
        let group = Some(record.group.clone()).filter(|g| !g.is_empty());
        state.profiles.insert(agent, record.clone());
        self.batch.put_agent(&agent_record);
        self.batch.put_agent_profile(&record);
        self.touched.push(account);
        self.chat_agent_group(account, agent, group);
        Ok(Response::Ok)
    }

    fn set_security_level(&mut self, account: u64, level: SecurityLevel) -> Answer {
        let state = self.account_mut(account)?;
        if level == SecurityLevel::High && !state.agent_tokens.contains_key(&SUPER_ADMIN_AGENT) {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "level high needs a token bound to agent 1001 first (manual §12.7)",
            ));
        }
        state.security_level = level_from_wire(level);
        let record = AccountSettingsRecord {
            account,
            security_level: state.security_level,
        };
        self.batch.put_account_settings(&record);
        self.touched.push(account);
        Ok(Response::Ok)
    }
}

fn check_role_name(name: &str) -> Result<(), ErrorBody> {
    super::requests::check_text("role name", name, MAX_ROLE_NAME_CHARS)
}
