//! Designated agent (指定客服, §7.15, §10.7) on the wire: the account's settings
//! (`GetDesignatedAgent`, `SetDesignatedAgent`, permission 12), the list a customer
//! chooses from (`DesignatedChoices`), and the entry a customer's `OpenConversation`
//! really takes.
//!
//! **Readings of the manual** (`wire/PROTOCOL.md` section 12.11):
//! - "客户在打开会话窗口的时候会收到所有的客服列表" and §10.7.1 "如果企业设置了指定客服，
//!   则客户会收到一个工号列表": with designated agent on, a customer that has not been
//!   served by the account before must choose; its `Auto` entry is `CHOICE_REQUIRED`.
//! - A customer the account served before goes to the agent who last served it (the
//!   contact's `last_accepted`): its `Auto` entry becomes `Agent(that agent)` — at once
//!   if that agent can take it, else it waits for it, and the customer is told
//!   (`Alert::WaitingForAgent`) and may write or choose again (`Reselect`).
//! - Mobile customers do not choose (§3.13 "手机 QQ 侧暂时不支持…指定客服"), and
//!   exclusive mode overrides the choice (§7.16, §10.7 注): both route as before.
//! - The no-response rule (长时间未响应提示) is a sub-option: "当开启指定客服后，还可以
//!   选择设置长时间未响应提示", so it applies only while designated agent is on.
//!
//! The engine holds the rules (`routing::DesignatedMode`, `designated_list`,
//! `offers_choice`); this file converts settings, stores them and names agents.

use super::{err, Answer, Centre};
use crate::routing::{Choice, ListKind};
use crate::store::designated_records::DesignatedRecord;
use crate::store::{Cf, StoredRecord};
use kefu_wire::chat::{
    AgentChoice, Channel, ChoiceList, CustomerId, DesignatedMode, DesignatedSettings, Entry,
    GroupChoice,
};
use kefu_wire::{ErrorBody, ErrorCode, Response};

/// The wire's designated mode → the engine's.
pub(super) fn engine_mode(mode: DesignatedMode) -> crate::routing::DesignatedMode {
    match mode {
        DesignatedMode::Off => crate::routing::DesignatedMode::Off,
        DesignatedMode::Agents => crate::routing::DesignatedMode::Agents,
        DesignatedMode::Groups => crate::routing::DesignatedMode::Groups,
    }
}

/// Reads an account's designated-agent settings (`Off` when it never set any).
pub(super) fn read_designated(
    store: &dyn crate::store::KvStore,
    account: u64,
) -> Result<DesignatedSettings, ErrorBody> {
    let storage = |e: String| err(ErrorCode::STORAGE_FAILURE, e);
    let bytes = store
        .get(
            Cf::RoutingSettings,
            &crate::store::keys::designated(account),
        )
        .map_err(|e| storage(e.to_string()))?;
    match bytes {
        Some(bytes) => Ok(DesignatedRecord::decode(&bytes)
            .map_err(|e| storage(e.to_string()))?
            .settings),
        None => Ok(crate::store::designated_records::default_designated()),
    }
}

impl Centre {
    /// `GetDesignatedAgent`.
    pub(super) fn get_designated(&mut self, account: u64) -> Answer {
        Ok(Response::DesignatedAgent(
            self.chat_mut(account)?.designated,
        ))
    }

    /// `SetDesignatedAgent`: stored in the turn's batch, in force at once.
    pub(super) fn set_designated(&mut self, account: u64, settings: DesignatedSettings) -> Answer {
        let chat = self.chat_mut(account)?;
        let mut engine = super::chat::settings_from(&chat.config, &settings);
        // The presence mode is the account's own setting (`SetAccountPresenceMode`).
        engine.presence_mode = chat.routing.settings().presence_mode;
        self.route(account, |r, owners, now| {
            r.set_settings(engine, owners, now)
        })?;
        self.chat_mut(account)?.designated = settings;
        let record = DesignatedRecord { account, settings };
        self.batch
            .put(Cf::RoutingSettings, &record.key(), record.encode());
        self.touched.push(account);
        Ok(Response::Ok)
    }

    /// `DesignatedChoices`: what this customer chooses from now; empty lists when it
    /// does not choose (designated agent off, mobile, exclusive mode, or served
    /// before: then `previous` names the agent its `Auto` entry goes to).
    pub(super) fn designated_choices(
        &mut self,
        account: u64,
        customer: &CustomerId,
        channel: Channel,
    ) -> Answer {
        let previous = self.previous_agent(account, customer)?;
        let chat = self.chat_mut(account)?;
        let kind = chat.routing.offers_choice(channel);
        let choices = match (kind, previous) {
            (Some(kind), None) => chat.routing.designated_list(kind),
            _ => Vec::new(),
        };
        let mut list = ChoiceList {
            agents: Vec::new(),
            groups: Vec::new(),
            previous: previous.filter(|_| kind.is_some()),
        };
        for choice in choices {
            match choice {
                Choice::Agent { agent, presence } => list.agents.push(AgentChoice {
                    agent,
                    name: self.shown_agent(account, agent).shown_as,
                    presence,
                }),
                Choice::Group { name, online } => list.groups.push(GroupChoice { name, online }),
            }
        }
        Ok(Response::Choices(list))
    }

    /// The entry a customer's `OpenConversation` takes (module doc): unchanged unless
    /// designated agent applies to it and it asked for `Auto`.
    pub(super) fn designated_entry(
        &mut self,
        account: u64,
        customer: &CustomerId,
        channel: Channel,
        entry: Entry,
    ) -> Result<Entry, ErrorBody> {
        let chat = self.chat_mut(account)?;
        let continues = chat.routing.conversation_of(customer).is_some();
        let kind = chat.routing.offers_choice(channel);
        if continues || entry != Entry::Auto || kind.is_none() {
            return Ok(entry);
        }
        match self.previous_agent(account, customer)? {
            Some(agent) => Ok(Entry::Agent(agent)),
            None => Err(err(
                ErrorCode::CHOICE_REQUIRED,
                match kind {
                    Some(ListKind::Groups) => {
                        "designated agent is on: choose a group (DesignatedChoices)"
                    }
                    _ => "designated agent is on: choose an agent (DesignatedChoices)",
                },
            )),
        }
    }

    /// The agent that last served `customer`, if it is still an agent of the account.
    fn previous_agent(
        &mut self,
        account: u64,
        customer: &CustomerId,
    ) -> Result<Option<u32>, ErrorBody> {
        let agent = self.crm_mut(account)?.last_served_by(customer);
        let actor = self.actor_mut(account)?;
        Ok(agent.filter(|a| actor.state.agents.contains_key(a)))
    }
}
