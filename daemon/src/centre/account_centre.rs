//! The account centre's sessions (PROTOCOL.md section 39, issue 17): `CentreLogin`
//! (password, and the token code where the security level asks for one, checked
//! exactly as `Login` checks them) and `CentreTicketLogin` (a ticket from
//! `AccountCentreTicket`, once) open a **centre session**: the connection acts as the
//! agent with the agent's role as it is at each request, but the agent is not made
//! online, nothing is routed to it, its desktop session is not replaced and its session
//! token is neither issued nor revoked. A centre session may send only the centre's
//! requests ([`centre_allows`]); anything else is `CENTRE_SESSION_ONLY` and changes
//! nothing. Its `Logout` ends that session alone.

use super::dispatch::EntryRequest;
use super::sessions::Who;
use super::{Centre, ReplyTo};
use crate::session::{Caller, ConnUpdate, Phase, SessionId};
use crate::store::extras_records::{self, TicketError};
use kefu_wire::{AccountCentreModule, ErrorBody, ErrorCode, Request, Response};
use std::collections::HashMap;

/// Tickets remembered as used at once per shard; past it (every one still within its
/// 300 seconds) a ticket sign-in is refused `OVERLOADED` rather than forgotten.
pub(crate) const MAX_USED_TICKETS: usize = 100_000;

/// The tickets of this shard's accounts that signed in and have not expired yet:
/// their signature → their expiry (unix seconds).
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
        let used = &mut self.used_tickets.0;
        if used.contains_key(ticket) {
            return Err(refuse(
                ErrorCode::TICKET_USED,
                "the ticket was used already",
            ));
        }
        used.retain(|_, expires_at| *expires_at > now);
        if used.len() >= MAX_USED_TICKETS {
            return Err(refuse(ErrorCode::OVERLOADED, "too many ticket sign-ins"));
        }
        used.insert(ticket.to_vec(), claims.expires_at);
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
            } => self.start_login(reply, account, agent, password, otp, caller.peer, true),
            EntryRequest::CentreTicketLogin { ticket } => {
                self.centre_ticket_login(reply, ticket);
                false
            }
            _ => false,
        }
    }
}
