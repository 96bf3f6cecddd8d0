//! Offline messages (C14, manual §3.6 "如果没有工作人员在线，客户的消息能否收到？"):
//! a customer writing while no agent of the account is online is told so once per
//! wait, with the agents it may forward to by SMS (`Alert::NobodyOnline`); its
//! messages are stored like any other (in the turn's batch, before `Sent`) and wait
//! with the queued conversation, across restarts; the agent routing gives the
//! conversation to (auto-accept, at its next login) is pushed them once, in order,
//! after the conversation's new state (`wire/PROTOCOL.md` section 27.1).
//!
//! The messages nobody was given are the conversation's last ones stored while no
//! agent served it (`served_by` empty): read from the disk at the assignment, so
//! nothing is kept in memory for them and a restart loses nothing.

use super::{Centre, Recipient};
use crate::store::chat_records::MessageRecord;
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::chat::{Alert, CustomerId};
use kefu_wire::Event;

/// Most agents named in `NobodyOnline`.
const MAX_PHONES_SHOWN: usize = 50;
/// Most waiting messages pushed at an assignment; older ones are read with
/// `ConversationMessages`.
pub(super) const MAX_BACKLOG_PUSHED: usize = 200;

impl Centre {
    /// After a customer's message in `conversation`: if no agent of the account is
    /// online, the customer is told once (until an agent takes the conversation).
    pub(super) fn offline_customer_message(
        &mut self,
        account: u64,
        conversation: u64,
        customer: &CustomerId,
    ) {
        if self.online.get(&account).is_some_and(|m| !m.is_empty())
            || !self.sms.told.insert((account, conversation))
        {
            return;
        }
        let with_phone: Vec<u32> = self
            .actors
            .get(&account)
            .map(|a| {
                a.state
                    .profiles
                    .iter()
                    .filter(|(agent, p)| {
                        !p.phone.trim().is_empty() && a.state.agents.contains_key(agent)
                    })
                    .map(|(agent, _)| *agent)
                    .take(MAX_PHONES_SHOWN)
                    .collect()
            })
            .unwrap_or_default();
        let phones = with_phone
            .into_iter()
            .map(|agent| self.shown_agent(account, agent))
            .collect();
        let event = Event::ConversationAlert {
            conversation,
            alert: Alert::NobodyOnline { phones },
        };
        self.push(account, Recipient::Customer(customer.clone()), event);
    }

    /// The conversation was taken or closed: a later wait is told again.
    pub(super) fn offline_wait_over(&mut self, account: u64, conversation: u64) {
        self.sms.told.remove(&(account, conversation));
    }

    /// Routing gave `conversation` to `agent` (not by hand: `AcceptConversation`
    /// answers with the history): the messages stored while nobody served it are
    /// pushed to the agent, oldest first. Read once this turn's batch is durable (a
    /// call to this shard, released after the commit), so a message stored in the
    /// same turn, or in a batch still in flight, is among them.
    pub(super) fn deliver_backlog(&mut self, account: u64, conversation: u64, agent: u32) {
        let Some(chat) = self.actors.get(&account).map(|a| &a.chat) else {
            return;
        };
        // Nothing unread, nothing to push: most assignments (a conversation routed as
        // it opens) cost no read and no call.
        let unread = chat
            .routing
            .conversation(conversation)
            .map_or(0, |c| c.unread);
        if unread == 0 {
            return;
        }
        // Messages from this id on were stored after the assignment.
        let mark = chat.next_message_id();
        let call = move |c: &mut Centre| c.push_backlog(account, conversation, agent, mark);
        self.outbox.push(super::Outgoing::Call {
            shard: self.id,
            call: Box::new(call),
        });
    }

    fn push_backlog(&mut self, account: u64, conversation: u64, agent: u32, mark: u64) {
        let Some(chat) = self.actors.get(&account).map(|a| &a.chat) else {
            return;
        };
        let still_its = chat.routing.conversation_state(conversation)
            == Some(kefu_wire::chat::ConversationState::Assigned { agent });
        let Some(customer) = chat.open_customer(conversation).filter(|_| still_its) else {
            return;
        };
        let range = keys::customer_messages(account, &customer);
        let end = keys::message(account, &customer, mark);
        let rows = match self.shared.store.scan_reverse(
            Cf::Messages,
            &range.start,
            &end,
            MAX_BACKLOG_PUSHED,
        ) {
            Ok(rows) => rows,
            Err(e) => {
                let why = format_args!("backlog of conversation {conversation} not pushed: {e}");
                return crate::log::error(self.id, why);
            }
        };
        let mut waiting = Vec::new();
        for (_, bytes) in rows {
            let Ok(m) = MessageRecord::decode(&bytes) else {
                break;
            };
            if m.conversation != conversation || m.served_by.is_some() {
                break;
            }
            waiting.push(m);
        }
        for m in waiting.into_iter().rev() {
            self.push(account, Recipient::Agent(agent), Event::Message(m.into()));
        }
    }
}
