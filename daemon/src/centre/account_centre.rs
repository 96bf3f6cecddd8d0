//! The account centre's sessions (PROTOCOL.md section 39, issue 17): `CentreLogin`
//! (password, and the token code where the security level asks for one, checked
//! exactly as `Login` checks them) and `CentreTicketLogin` (a ticket from
//! `AccountCentreTicket`, once) open a **centre session**: the connection acts as the
//! agent with the agent's role as it is at each request, but the agent is not made
//! online, nothing is routed to it, its desktop session is not replaced and its session
//! token is neither issued nor revoked. A centre session may send only the centre's
//! requests ([`centre_allows`]); anything else is `CENTRE_SESSION_ONLY` and changes
//! nothing. Its `Logout` ends that session alone.
//!
//! On the server (PROTOCOL.md 39.5): a centre session with no request for
//! [`CENTRE_IDLE_MS`] on the turn's clock is ended at its next request or resume
//! (`CENTRE_SESSION_IDLE`); a ticket that signed in is kept in memory and stored in the
//! sign-in's batch (`store/used_ticket_records.rs`) until it expires, so a restart does
//! not forget it; a password change ends the agent's centre sessions.

use super::dispatch::EntryRequest;
use super::requests::LoginKind;
use super::sessions::Who;
use super::{Centre, ReplyTo};
use crate::session::{Caller, ConnUpdate, Phase, SessionId};
use crate::store::extras_records::{self, TicketError};
use crate::store::records::StoredRecord;
use crate::store::used_ticket_records::{self, UsedTicketRecord};
use crate::store::Cf;
use kefu_wire::{AccountCentreModule, ErrorBody, ErrorCode, Request, Response};
use std::collections::HashMap;

/// A centre session with no request for this long (the daemon's clock) is ended at its
/// next request or resume (PROTOCOL.md 39.5).
pub(crate) const CENTRE_IDLE_MS: i64 = 15 * 60 * 1000;

/// Tickets remembered as used at once per shard; past it (every one still within its
/// 300 seconds) a ticket sign-in is refused `OVERLOADED` rather than forgotten.
pub(crate) const MAX_USED_TICKETS: usize = 100_000;

/// The tickets of this shard's accounts that signed in and have not expired yet:
/// their bytes → their expiry (unix seconds). A cache in front of the stored ones.
#[derive(Debug, Default)]
pub(crate) struct UsedTickets(HashMap<Vec<u8>, i64>);

/// The requests a centre session may send: its own end and resumption (the gateway
/// keeps a browser signed in with it, `web/centre.rs`), the centre's tickets and the
/// modules' requests (entry-point codes, navigation menu, CSAT settings and report,
/// reports and their exports, balance and points). Each is still checked against the
/// agent's role like any agent's request.
pub(crate) fn centre_allows(request: &Request) -> bool {
    matches!(
        request,
        Request::Logout
            | Request::WhoAmI
            | Request::GetServerTime
            | Request::EnableResume
            | Request::AccountCentreTicket { .. }
            | Request::ListEntryCodes
            | Request::CreateEntryCode { .. }
            | Request::EditEntryCode { .. }
            | Request::DeleteEntryCode { .. }
            | Request::GetNavigationMenu
            | Request::SetNavigationMenu { .. }
            | Request::GetCsatSettings
            | Request::SetCsatSettings(_)
            | Request::CsatReport(_)
            | Request::GetBalance { .. }
            | Request::ExportReport { .. }
            | Request::ExportChunk { .. }
            | Request::GetWorkReport { .. }
            | Request::GetVisitTrend { .. }
            | Request::GetSiteAnalytics { .. }
            | Request::GetEnterpriseProfile
            | Request::SubmitEnterpriseProfile { .. }
            | Request::GetChatWindowStyle
            | Request::SubmitChatWindowStyle { .. }
    )
}

fn refuse(code: ErrorCode, message: &str) -> ErrorBody {
    ErrorBody {
        code,
        message: message.into(),
    }
}

impl Centre {
    /// Whether `session` is a centre session.
    pub(super) fn is_centre_session(&self, session: Option<SessionId>) -> bool {
        session
            .and_then(|s| self.sessions.get(&s))
            .is_some_and(|r| r.centre)
    }

    /// Before dispatch: a centre session's request outside the centre is refused, and
    /// its `Logout` ends it alone. `None` when the request goes on as usual.
    pub(super) fn centre_session_gate(
        &mut self,
        caller: &Caller,
        reply: ReplyTo,
        request: &Request,
    ) -> Option<()> {
        let session = caller
            .session
            .filter(|_| self.is_centre_session(caller.session))?;
        if let Err(idle) = self.centre_idle_gate(session, false) {
            self.update_conn(
                caller.conn,
                caller.generation,
                ConnUpdate::Phase(Phase::Ready),
            );
            self.update_conn(caller.conn, caller.generation, ConnUpdate::Session(None));
            self.reply(reply, Err(idle));
            return Some(());
        }
        if matches!(request, Request::Logout) {
            self.end_session(session);
            self.update_conn(
                caller.conn,
                caller.generation,
                ConnUpdate::Phase(Phase::Ready),
            );
            self.update_conn(caller.conn, caller.generation, ConnUpdate::Session(None));
            self.reply(reply, Ok(Response::Ok));
            return Some(());
        }
        if centre_allows(request) {
            return None;
        }
        let refused = format!("{} is not the account centre's", request.name());
        self.reply(reply, Err(refuse(ErrorCode::CENTRE_SESSION_ONLY, &refused)));
        Some(())
    }

    /// A request (or a resume) of centre session `session`: one idle for
    /// [`CENTRE_IDLE_MS`] or more is ended and refused `CENTRE_SESSION_IDLE`; any other
    /// is renewed. Not a centre session: nothing happens. `tell`: the session may be on
    /// another connection (a resume), which is told `GoAway` with the same code.
    pub(super) fn centre_idle_gate(
        &mut self,
        session: SessionId,
        tell: bool,
    ) -> Result<(), ErrorBody> {
        let now = self.now_ms;
        let Some(record) = self.sessions.get_mut(&session).filter(|r| r.centre) else {
            return Ok(());
        };
        if now.saturating_sub(record.last_request_ms) < CENTRE_IDLE_MS {
            record.last_request_ms = record.last_request_ms.max(now);
            return Ok(());
        }
        let idle = "the centre session was idle for 15 minutes; sign in again";
        if tell {
            self.close_session(session, ErrorCode::CENTRE_SESSION_IDLE, idle.into());
        } else {
            self.end_session(session);
        }
        Err(refuse(ErrorCode::CENTRE_SESSION_IDLE, idle))
    }

    /// Ends the centre sessions of `agent@account` (its password changed): their
    /// connections are told `LOGGED_OUT`, and their cookies resume nothing.
    pub(super) fn end_centre_sessions(&mut self, account: u64, agent: u32) {
        let ids: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, r)| r.centre && r.account == account && r.who == Who::Agent(agent))
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            self.close_session(
                id,
                ErrorCode::LOGGED_OUT,
                "your password was changed; sign in to the centre again".into(),
            );
        }
    }

    /// Makes connection `reply` a centre session of `agent@account` and answers
    /// `LoggedIn` (no token: a centre session is never resumed by token).
    pub(super) fn establish_centre(&mut self, reply: ReplyTo, account: u64, agent: u32) {
        let (idx, generation) = (reply.conn, reply.generation);
        let session = self.open_session(account, Who::Agent(agent));
        if let Some(record) = self.sessions.get_mut(&session) {
            record.centre = true;
        }
        let phase = ConnUpdate::Phase(Phase::Agent { account, agent });
        self.update_conn(idx, generation, phase);
        self.update_conn(idx, generation, ConnUpdate::Session(Some(session)));
        self.logins.push((idx, generation, session));
        let answer = self
            .session_info(account, agent, [0; 16], 0)
            .ok_or_else(|| refuse(ErrorCode::UNKNOWN_AGENT, "the agent is gone"));
        self.reply(reply, answer.map(Response::LoggedIn));
    }

    /// `CentreTicketLogin`: the ticket verified under its account's key (any of the four
    /// modules it names), not used before, its agent still there.
    pub(super) fn centre_ticket_login(&mut self, reply: ReplyTo, ticket: Vec<u8>) {
        match self.check_ticket(&ticket) {
            Ok((account, agent)) => self.establish_centre(reply, account, agent),
            Err(e) => self.reply(reply, Err(e)),
        }
    }

    fn check_ticket(&mut self, ticket: &[u8]) -> Result<(u64, u32), ErrorBody> {
        let invalid = || refuse(ErrorCode::TICKET_INVALID, "not a valid ticket");
        let account = extras_records::ticket_account(ticket).ok_or_else(invalid)?;
        let now = self.now_secs();
        let sealing = self.shared.token_key.clone().ok_or_else(invalid)?;
        let key = match self.actor_mut(account)?.ticket_key.clone() {
            Some(key) => key,
            None => {
                let store = std::sync::Arc::clone(&self.shared.store);
                extras_records::load_ticket_key(store.as_ref(), &sealing, account)
                    .map_err(|_| invalid())?
                    .ok_or_else(invalid)?
            }
        };
        let modules = [
            AccountCentreModule::AccountInfo,
            AccountCentreModule::EnterpriseSpace,
            AccountCentreModule::Campaigns,
            AccountCentreModule::ServiceConfig,
        ];
        let mut checked = Err(TicketError::Malformed);
        for module in modules {
            checked = extras_records::verify_ticket(&key, ticket, module, now);
            if !matches!(checked, Err(TicketError::OtherModule)) {
                break;
            }
        }
        let claims = checked.map_err(|e| match e {
            TicketError::Expired => refuse(ErrorCode::TICKET_EXPIRED, "the ticket has expired"),
            _ => invalid(),
        })?;
        let state = self.account_mut(account)?;
        if !state.agents.contains_key(&claims.agent) {
            return Err(invalid());
        }
        let used_error = || refuse(ErrorCode::TICKET_USED, "the ticket was used already");
        if self.used_tickets.0.contains_key(ticket) {
            return Err(used_error());
        }
        let store = std::sync::Arc::clone(&self.shared.store);
        let stored =
            used_ticket_records::is_used(store.as_ref(), account, claims.expires_at, ticket)
                .map_err(|e| refuse(ErrorCode::STORAGE_FAILURE, &format!("used tickets: {e}")))?;
        if stored {
            return Err(used_error());
        }
        let used = &mut self.used_tickets.0;
        used.retain(|_, expires_at| *expires_at > now);
        if used.len() >= MAX_USED_TICKETS {
            return Err(refuse(ErrorCode::OVERLOADED, "too many ticket sign-ins"));
        }
        used.insert(ticket.to_vec(), claims.expires_at);
        // Remembered across a restart until it expires; the account's expired ones go.
        let record = UsedTicketRecord {
            expires_at: claims.expires_at,
        };
        let key = used_ticket_records::used_ticket(account, claims.expires_at, ticket);
        let expired = used_ticket_records::expired_used_tickets(account, now);
        self.batch.delete_range(Cf::TicketKeys, &expired);
        self.batch.put(Cf::TicketKeys, &key, record.encode());
        self.touched.push(account);
        Ok((claims.account, claims.agent))
    }

    /// A centre sign-in from dispatch: `true` when a password check is under way.
    pub(super) fn centre_entry(
        &mut self,
        caller: &Caller,
        reply: ReplyTo,
        e: EntryRequest,
    ) -> bool {
        match e {
            EntryRequest::CentreLogin {
                account,
                agent,
                password,
                otp,
            } => self.start_login(
                reply,
                account,
                agent,
                password,
                otp,
                caller.peer,
                LoginKind::Centre,
            ),
            EntryRequest::CentreTicketLogin { ticket } => {
                self.centre_ticket_login(reply, ticket);
                false
            }
            _ => false,
        }
    }
}
