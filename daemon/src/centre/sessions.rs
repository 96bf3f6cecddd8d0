//! Sessions: who is logged in on this shard, by [`SessionId`].
//!
//! A login (agent or customer) opens a session; the centre's directories (`online`,
//! `customers`) map people to sessions, and the session's record says who it is
//! (account, agent or customer and channel). Nothing here knows a connection: the loop
//! keeps the one table from a session to the connection it is on, and resolves a
//! push's [`Recipient`] through it at release ([`Centre::recipients`]).
//!
//! A session ends when its person logs out, is replaced by a newer login of the same
//! person, or its connection goes — unless it is resumable (`resume.rs`): then it
//! waits detached for a new connection.

use super::{Centre, Outgoing, Recipient};
use crate::session::{CustomerLogin, SessionId};
use kefu_wire::ErrorCode;
use smallvec::SmallVec;
use std::sync::Arc;

/// Who a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Who {
    /// An agent of the account.
    Agent(u32),
    /// A customer or visitor of the account, from a channel. Shared, so that each of
    /// the customer's requests takes it without copying its id (`chat.rs`).
    Customer(Arc<CustomerLogin>),
}

/// One session of this shard.
#[derive(Debug)]
pub(crate) struct SessionRecord {
    /// The account it is logged in to.
    pub(crate) account: u64,
    /// Who it is.
    pub(crate) who: Who,
    /// Set once it is resumable (`resume.rs`). Boxed: a resumable session is the
    /// exception, and inline its state (104 B) would be on every session's entry
    /// in `Centre::sessions`, used or not.
    pub(crate) resume: Option<Box<super::resume::Resumable>>,
    /// An account centre's session (`account_centre.rs`): not online, centre requests only.
    pub(crate) centre: bool,
    /// A read-only session (`read_only.rs`): not online, reads only.
    pub(crate) read_only: bool,
    /// The turn time (unix ms) of its last request (or its opening): a centre session
    /// idle for `account_centre::CENTRE_IDLE_MS` is ended at its next request.
    pub(crate) last_request_ms: i64,
}

impl Centre {
    /// Opens a session for `who` of `account`.
    pub(super) fn open_session(&mut self, account: u64, who: Who) -> SessionId {
        self.next_session = self.next_session.wrapping_add(1);
        let id = SessionId::new(self.id, self.next_session);
        let record = SessionRecord {
            account,
            who,
            resume: None,
            centre: false,
            read_only: false,
            last_request_ms: self.now_ms,
        };
        self.sessions.insert(id, record);
        id
    }

    /// The customer a session is, if it is a customer's.
    pub(super) fn session_customer(&self, session: Option<SessionId>) -> Option<&CustomerLogin> {
        match &self.sessions.get(&session?)?.who {
            Who::Customer(login) => Some(&**login),
            Who::Agent(_) => None,
        }
    }

    /// [`Self::session_customer`], shared: held across calls that change the centre.
    pub(super) fn session_customer_shared(
        &self,
        session: Option<SessionId>,
    ) -> Option<Arc<CustomerLogin>> {
        match &self.sessions.get(&session?)?.who {
            Who::Customer(login) => Some(Arc::clone(login)),
            Who::Agent(_) => None,
        }
    }

    /// Whether `session` is open (a connection whose session was replaced or ended
    /// in this turn still carries its number until the loop hears of it).
    pub(super) fn session_open(&self, session: Option<SessionId>) -> bool {
        session.is_some_and(|s| self.sessions.contains_key(&s))
    }

    /// Every open session of `account` (to end them all: the account moved or was deleted).
    pub(super) fn sessions_of(&self, account: u64) -> Vec<SessionId> {
        self.sessions
            .iter()
            .filter(|(_, s)| s.account == account)
            .map(|(&id, _)| id)
            .collect()
    }

    /// Ends a session: its person is offline (agent) or gone (customer) unless a newer
    /// session of theirs already took its place in the directories.
    pub(super) fn end_session(&mut self, session: SessionId) {
        self.files_session_gone(session);
        let Some(record) = self.sessions.remove(&session) else {
            return;
        };
        match record.who {
            Who::Agent(agent) => self.set_offline(record.account, agent, session),
            Who::Customer(login) => self.customer_gone(record.account, &login.customer, session),
        }
    }

    /// Ends a session that a newer login of the same person replaced (its directory
    /// entry already names the newer one), and tells its connection why.
    pub(super) fn replace_session(&mut self, old: SessionId, code: ErrorCode, message: String) {
        self.files_session_gone(old);
        self.sessions.remove(&old);
        self.outbox.push(Outgoing::EndSession {
            session: old,
            code,
            message,
        });
    }

    /// Ends a session on the server's initiative (its password changed) and tells its
    /// connection why.
    pub(super) fn close_session(&mut self, session: SessionId, code: ErrorCode, message: String) {
        self.end_session(session);
        self.outbox.push(Outgoing::EndSession {
            session,
            code,
            message,
        });
    }

    /// The sessions a push to `to` of `account` goes to now.
    pub fn recipients(&self, account: u64, to: &Recipient) -> SmallVec<[SessionId; 2]> {
        let agents = self.online.get(&account);
        let customers = self.customers.get(&account);
        match to {
            Recipient::Agent(agent) => agents
                .and_then(|m| m.get(agent))
                .map(|o| o.session)
                .into_iter()
                .collect(),
            Recipient::AllAgents => agents
                .into_iter()
                .flat_map(|m| m.values().map(|o| o.session))
                .collect(),
            Recipient::Customer(customer) => customers
                .and_then(|m| m.get(customer))
                .copied()
                .into_iter()
                .collect(),
            Recipient::AllCustomers => customers
                .into_iter()
                .flat_map(|m| m.values().copied())
                .collect(),
            Recipient::Session(session) => smallvec::smallvec![*session],
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_session_record_is_small() {
        // Every logged-in session has one entry in `Centre::sessions` (with the table's
        // slack, up to twice its size): 160 bytes while the resumable state was inline,
        // 64 with it boxed (104 bytes, on resumable sessions only).
        let size = std::mem::size_of::<super::SessionRecord>();
        assert!(size <= 64, "SessionRecord grew to {size} bytes");
    }
}
