//! What agents and customers are shown of each other and of their lists (issue 11,
//! points 4 and 6): the one function that names an agent to a customer
//! ([`Centre::shown_agent`], A5, §7.10, §7.18), agent lists by agent group with the
//! reserved "ungrouped" group (§3.1), and the accepted list's read state and order
//! (C15, §3.10: `MarkRead`, `OrderConversations`, `ListConversations`).
//!
//! The accepted list's order is the agent's own (§3.10: "客服还可根据需要直接拖动客户改变
//! 排列次序"): the conversations it placed with `OrderConversations`, in that order, then
//! the others oldest first (conversation id). It lives with the account's conversations
//! (`ChatState::list_order`) and, like each open conversation's unread count, is stored
//! (`store/read_state_records.rs`) in the batch of the turn that changed it — the
//! customer's message, the agent's message or `MarkRead`, `OrderConversations` — and
//! read back when the account loads ([`read_read_state`]), so both survive a reconnect
//! and a restart of the daemon.

use std::collections::{BTreeMap, HashSet};

use super::Recipient;
use super::{Answer, Centre};
use crate::store;
use crate::store::read_state_records::{ListOrderRecord, UnreadRecord, MAX_STORED_ORDER};
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::chat::{ConversationInfo, ConversationState, CustomerId};
use kefu_wire::{AgentGroup, ErrorBody, ErrorCode, Event, Response, ShownAgent};
use std::collections::HashMap;

/// Most conversations one `OrderConversations` names.
pub const MAX_ORDER: usize = 1_000;

fn err(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code,
        message: message.into(),
    }
}

/// `served` (oldest first) put in the agent's `order`: the ordered ones first, in
/// that order, then the rest as they came.
pub(super) fn in_order(served: Vec<ConversationInfo>, order: &[u64]) -> Vec<ConversationInfo> {
    let mut rest: BTreeMap<u64, ConversationInfo> =
        served.into_iter().map(|c| (c.conversation, c)).collect();
    let mut out = Vec::with_capacity(rest.len());
    for id in order {
        if let Some(c) = rest.remove(id) {
            out.push(c);
        }
    }
    out.extend(rest.into_values());
    out
}

impl Centre {
    /// How `agent` of `account` is named to customers: its nickname, or its number in
    /// decimal when its profile says "show the agent number" (A5, §7.10, §7.18). **Every**
    /// place that names an agent to a customer calls this.
    pub(super) fn shown_agent(&self, account: u64, agent: u32) -> ShownAgent {
        let state = self.actors.get(&account).map(|a| &a.state);
        let by_number = state
            .and_then(|s| s.profiles.get(&agent))
            .is_some_and(|p| p.display == store::DisplayMode::AgentNumber);
        let nickname = state
            .and_then(|s| s.agents.get(&agent))
            .map(|a| a.record.nickname.clone());
        let shown_as = match nickname {
            Some(n) if !by_number && !n.is_empty() => n,
            _ => agent.to_string(),
        };
        ShownAgent { agent, shown_as }
    }

    /// `ServingAgent`: the agent serving, or awaited by, the customer's open conversation.
    pub(super) fn serving_agent(&mut self, account: u64, customer: &CustomerId) -> Answer {
        let routing = &self.chat_mut(account)?.routing;
        let agent = routing
            .conversation_of(customer)
            .and_then(|c| routing.conversation(c))
            .and_then(|info| match info.state {
                ConversationState::Assigned { agent } => Some(agent),
                ConversationState::Queued { target } => target,
                ConversationState::Closed | ConversationState::InMenu => None,
            });
        Ok(Response::ServingAgent(
            agent.map(|a| self.shown_agent(account, a)),
        ))
    }

    /// `ListAgentGroups`: the account's agents by group, groups in name order, the
    /// reserved "ungrouped" group (empty name) last and only if it has agents (§3.1).
    pub(super) fn agent_groups(&mut self, account: u64) -> Answer {
        let Some(state) = self.actors.get(&account).map(|a| &a.state) else {
            return Err(err(ErrorCode::INTERNAL, "account not loaded"));
        };
        let infos = state.agent_infos(self.online.get(&account));
        let mut groups: BTreeMap<String, Vec<kefu_wire::AgentInfo>> = BTreeMap::new();
        let mut ungrouped = Vec::new();
        for info in infos {
            match state.profiles.get(&info.agent).map(|p| p.group.as_str()) {
                Some(g) if !g.is_empty() => groups.entry(g.to_string()).or_default().push(info),
                _ => ungrouped.push(info),
            }
        }
        let mut out: Vec<AgentGroup> = groups
            .into_iter()
            .map(|(name, agents)| AgentGroup { name, agents })
            .collect();
        if !ungrouped.is_empty() {
            out.push(AgentGroup {
                name: String::new(),
                agents: ungrouped,
            });
        }
        Ok(Response::AgentGroups(out))
    }

    /// `ListConversations`: the conversations `me` serves, in its order.
    pub(super) fn ordered_conversations(&mut self, account: u64, me: u32) -> Answer {
        let chat = self.chat_mut(account)?;
        let served = chat.routing.served_by(me);
        let order = chat.list_order.get(&me).map_or(&[][..], Vec::as_slice);
        Ok(Response::Conversations(in_order(served, order)))
    }

    /// `OrderConversations`: `me` puts its accepted list in this order. Every id must be
    /// a conversation it serves, once; otherwise nothing changes.
    pub(super) fn order_conversations(&mut self, account: u64, me: u32, order: Vec<u64>) -> Answer {
        if order.len() > MAX_ORDER {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("at most {MAX_ORDER} conversations"),
            ));
        }
        let chat = self.chat_mut(account)?;
        let served: HashSet<u64> = chat
            .routing
            .served_by(me)
            .iter()
            .map(|c| c.conversation)
            .collect();
        let mut seen = HashSet::with_capacity(order.len());
        for id in &order {
            if !seen.insert(*id) {
                return Err(err(
                    ErrorCode::INVALID_ARGUMENT,
                    format!("conversation {id} is named twice"),
                ));
            }
            if !served.contains(id) {
                return Err(err(
                    ErrorCode::NOT_IN_CONVERSATION,
                    format!("conversation {id} is not one you serve"),
                ));
            }
        }
        let record = ListOrderRecord {
            account,
            agent: me,
            order,
        };
        let bytes = record.encode();
        chat.list_order.insert(me, record.order.clone());
        self.batch.put(Cf::RoutingSettings, &record.key(), bytes);
        Ok(Response::Ok)
    }

    /// Stores `conversation`'s unread count as routing holds it now (deleted at zero:
    /// no record reads as zero), in the turn's batch.
    pub(super) fn save_unread(&mut self, account: u64, conversation: u64) {
        let Some(chat) = self.actors.get(&account).map(|a| &a.chat) else {
            return;
        };
        let unread = chat.routing.unread_of(conversation).unwrap_or(0);
        let key = keys::unread(account, conversation);
        if unread == 0 {
            self.batch.delete(Cf::RoutingSettings, &key);
        } else {
            let record = UnreadRecord {
                account,
                conversation,
                unread,
            };
            self.batch.put_record(Cf::RoutingSettings, &key, &record);
        }
    }

    /// `MarkRead`: the serving agent read the customer's messages; its connections get
    /// the conversation again with the unread count (and so the new-message flag) clear.
    pub(super) fn mark_read(&mut self, account: u64, me: u32, conversation: u64) -> Answer {
        let chat = self.chat_mut(account)?;
        chat.routing
            .mark_read(conversation, me)
            .map_err(super::chat::routing_err)?;
        let info = chat.routing.conversation(conversation);
        self.save_unread(account, conversation);
        if let Some(info) = info {
            self.push(
                account,
                Recipient::Agent(me),
                Event::ConversationChanged(info),
            );
        }
        Ok(Response::Ok)
    }
}

/// What an account's accepted lists looked like when it was last written: unread counts
/// by conversation and orders by agent (none in a data directory from before they were
/// stored). Pure reads, bounded: at most `max_conversations` counts, and one order per
/// agent of at most 1,000 ids.
pub(super) type ReadState = (HashMap<u64, u32>, HashMap<u32, Vec<u64>>);

/// Reads [`ReadState`] for `account` (see [`Centre::save_unread`]).
pub(super) fn read_read_state(
    store: &dyn crate::store::KvStore,
    account: u64,
    max_conversations: usize,
    max_agents: usize,
) -> Result<ReadState, ErrorBody> {
    let bad = |e: String| err(ErrorCode::STORAGE_FAILURE, e);
    let range = keys::unread_range(account);
    let mut unread = HashMap::new();
    for (_, bytes) in store
        .scan(
            Cf::RoutingSettings,
            &range.start,
            &range.end,
            max_conversations,
        )
        .map_err(|e| bad(e.to_string()))?
    {
        let r = UnreadRecord::decode(&bytes).map_err(|e| bad(e.to_string()))?;
        unread.insert(r.conversation, r.unread);
    }
    let range = keys::list_order_range(account);
    let mut orders = HashMap::new();
    for (_, bytes) in store
        .scan(Cf::RoutingSettings, &range.start, &range.end, max_agents)
        .map_err(|e| bad(e.to_string()))?
    {
        let r = ListOrderRecord::decode(&bytes).map_err(|e| bad(e.to_string()))?;
        let mut order = r.order;
        order.truncate(MAX_STORED_ORDER);
        orders.insert(r.agent, order);
    }
    Ok((unread, orders))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_wire::chat::Channel;

    fn conv(id: u64) -> ConversationInfo {
        ConversationInfo {
            conversation: id,
            customer: CustomerId::Identified(format!("c{id}")),
            channel: Channel::Web,
            state: ConversationState::Assigned { agent: 1001 },
            opened_at: 0,
            unread: 0,
        }
    }

    #[test]
    fn the_agents_order_first_then_the_rest_oldest_first() {
        let served = vec![conv(1), conv(2), conv(3), conv(4)];
        let ids: Vec<u64> = in_order(served, &[3, 9, 1])
            .iter()
            .map(|c| c.conversation)
            .collect();
        assert_eq!(ids, vec![3, 1, 2, 4]);
    }
}
