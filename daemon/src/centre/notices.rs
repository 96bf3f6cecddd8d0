//! Notices about a conversation beyond its state (`wire/PROTOCOL.md` section 12.12):
//! the customer is told who serves it (§10.7.2 "您好，客服1001销售小王为您服务") and which
//! agent it waits for ("正在等待客服1001销售小王接入"); the agent a conversation was
//! grabbed from (§3.9) and the sender of a transfer (§3.5) are told where it went; a
//! warned agent is told when its no-response warning is over (§7.15).
//!
//! Called by `chat.rs` as it carries out the routing effects, after the state pushes
//! (`ConversationChanged`), so a client reads the new state first. Agents are named to
//! customers by `Centre::shown_agent` (`views.rs`) only.

use super::{Centre, Recipient};
use crate::routing::{AssignReason, QueueTarget};
use kefu_wire::chat::{Alert, CustomerId};
use kefu_wire::Event;

impl Centre {
    fn notice(&mut self, account: u64, to: Recipient, conversation: u64, alert: Alert) {
        let event = Event::ConversationAlert {
            conversation,
            alert,
        };
        self.push(account, to, event);
    }

    /// The state of an open conversation, pushed to one more agent (one that no longer
    /// serves it: the grabbed-from agent, a transfer's sender).
    fn change_to(&mut self, account: u64, agent: u32, conversation: u64) {
        let info = self
            .actors
            .get(&account)
            .and_then(|a| a.chat.routing.conversation(conversation));
        if let Some(info) = info {
            self.push(
                account,
                Recipient::Agent(agent),
                Event::ConversationChanged(info),
            );
        }
    }

    /// A conversation was assigned to `agent` for `reason`.
    pub(super) fn notice_assigned(
        &mut self,
        account: u64,
        conversation: u64,
        customer: CustomerId,
        agent: u32,
        reason: AssignReason,
    ) {
        let name = self.shown_agent(account, agent).shown_as;
        self.notice(
            account,
            Recipient::Customer(customer),
            conversation,
            Alert::ServedBy { agent, name },
        );
        match reason {
            AssignReason::Grabbed { from } if from != agent => {
                self.change_to(account, from, conversation);
                let alert = Alert::GrabbedBy { by: agent };
                self.notice(account, Recipient::Agent(from), conversation, alert);
            }
            AssignReason::Transferred { from } if from != agent => {
                self.change_to(account, from, conversation);
                let alert = Alert::TransferCompleted { to: agent };
                self.notice(account, Recipient::Agent(from), conversation, alert);
            }
            _ => {}
        }
    }

    /// A conversation entered the queue waiting for `target`: a customer waiting for
    /// one agent is told which.
    pub(super) fn notice_queued(
        &mut self,
        account: u64,
        conversation: u64,
        customer: CustomerId,
        target: &QueueTarget,
    ) {
        if let QueueTarget::Agent(agent) = *target {
            let name = self.shown_agent(account, agent).shown_as;
            self.notice(
                account,
                Recipient::Customer(customer),
                conversation,
                Alert::WaitingForAgent { agent, name },
            );
        }
    }

    /// A transfer waits in its target's queue: the sender hears it left its list and
    /// waits (the target is told by `TransferOffered`).
    pub(super) fn notice_transfer_waiting(
        &mut self,
        account: u64,
        conversation: u64,
        from: u32,
        to: u32,
        deadline: i64,
    ) {
        self.change_to(account, from, conversation);
        let alert = Alert::TransferWaiting { to, deadline };
        self.notice(account, Recipient::Agent(from), conversation, alert);
    }

    /// The warned agent answered: its warning is over.
    pub(super) fn notice_warning_cleared(&mut self, account: u64, conversation: u64, agent: u32) {
        let alert = Alert::NoResponseCleared;
        self.notice(account, Recipient::Agent(agent), conversation, alert);
    }
}
