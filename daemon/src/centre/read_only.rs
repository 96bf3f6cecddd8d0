//! Read-only sessions and a standby's shards (`wire/PROTOCOL.md` 40.7,
//! `daemon/CLUSTER.md` §5).
//!
//! - **A read-only session** (`LoginReadOnly`: the password, and the token code where
//!   the security level asks for one, checked as `Login` checks them) acts as the agent
//!   with its role's permissions, but the agent is not made online, nothing is routed or
//!   pushed to it and no token is issued. It may send only reads
//!   ([`Request::is_read`]); anything else is `READ_ONLY_MEMBER` and changes nothing.
//!   Its `Logout` ends that session alone. The primary accepts it as its standby does,
//!   so a reporting tool need not know which member it reaches.
//! - **A standby's shards** (`Shared::standby`, started by `server.rs` before the
//!   promotion) serve read-only sessions only: any other login is told `GoAwayTo` the
//!   primary (`NOT_PRIMARY`), any other request is answered `NOT_PRIMARY`. They write
//!   nothing: the turn's ticks (routing, idle customers, SMS, mails, broadcasts, imports)
//!   do not run, and a turn that put anything in its batch is undone, not written
//!   ([`Centre::commit_on_standby`]). The accounts they hold are evicted when the
//!   standby applies a batch that writes them ([`Centre::evict_stale`], from
//!   `standby_reads.rs`), so a read is never served from a stale account for longer than
//!   the freshness thread's tick.
//! - A member **fenced** while another holds the leader key sends logins to that
//!   member the same way ([`Centre::send_to_primary`]).

use super::sessions::Who;
use super::{err, Centre, Outgoing, RedirectWho, ReplyTo};
use crate::cluster::placement::Placement;
use crate::session::{Caller, ConnUpdate, Phase};
use crate::store::SecurityLevel;
use kefu_wire::{ErrorBody, ErrorCode, Request, Response};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a standby's read-only shards share.
#[derive(Debug, Default)]
pub struct StandbyReads {
    /// `[standby] primary_client_addr`: the primary's client address when etcd names
    /// none (a pair without `[cluster.etcd]`).
    configured_primary: Option<SocketAddr>,
    /// The last sequence whose accounts were evicted: everything in memory is at
    /// least this fresh (once the shards ran the evictions sent).
    fresh_up_to: AtomicU64,
}

impl StandbyReads {
    /// A standby's read side, with the configured primary address (if any).
    pub fn new(configured_primary: Option<SocketAddr>) -> StandbyReads {
        StandbyReads {
            configured_primary,
            fresh_up_to: AtomicU64::new(0),
        }
    }

    /// Where the primary serves clients, if known: the pair's leader (from etcd, when
    /// it is another node), else the configured address.
    pub fn primary(&self, placement: &Placement) -> Option<SocketAddr> {
        placement.primary_elsewhere().or(self.configured_primary)
    }

    /// The sequence up to which the accounts in memory follow the log.
    pub fn fresh_up_to(&self) -> u64 {
        self.fresh_up_to.load(Ordering::Relaxed)
    }

    /// The freshness thread evicted the accounts of every batch up to `sequence`.
    pub fn set_fresh_up_to(&self, sequence: u64) {
        self.fresh_up_to.store(sequence, Ordering::Relaxed);
    }
}

impl Centre {
    /// Whether this shard is a standby's (read-only until the promotion).
    pub(super) fn on_standby(&self) -> bool {
        self.shared.standby.is_some()
    }

    /// The client address of the pair's primary, when it is another member and known.
    fn primary_addr(&self) -> Option<SocketAddr> {
        match &self.shared.standby {
            Some(reads) => reads.primary(&self.shared.placement),
            None => self.shared.placement.primary_elsewhere(),
        }
    }

    /// On a standby: whether it serves `request` (a read-only login, or a request of a
    /// read-only session); everything else goes to the primary.
    pub(super) fn standby_serves(&self, caller: &Caller, request: &Request) -> bool {
        matches!(request, Request::LoginReadOnly { .. }) || self.is_read_only_session(caller)
    }

    /// A member that does not lead: a login is told `GoAwayTo` the primary when its
    /// address is known (the connection closes; the client library follows it once),
    /// anything else is answered `NOT_PRIMARY` (naming it when known).
    pub(super) fn send_to_primary(&mut self, caller: &Caller, reply: ReplyTo, request: &Request) {
        match self.primary_addr() {
            Some(address) if request.is_login() => self.outbox.push(Outgoing::Redirect {
                to: RedirectWho::Conn(caller.conn, caller.generation),
                code: ErrorCode::NOT_PRIMARY,
                address: address.to_string(),
                message: format!("this member is not the primary of its pair: {address} is"),
            }),
            Some(address) => self.reply_err(
                reply,
                ErrorCode::NOT_PRIMARY,
                format!("this member is not the primary of its pair: {address} is"),
            ),
            None => self.reply_err(
                reply,
                ErrorCode::NOT_PRIMARY,
                "this server is not the primary of its pair (any more); \
                 reconnect to the other member",
            ),
        }
    }

    /// Whether the caller's session is a read-only one.
    fn is_read_only_session(&self, caller: &Caller) -> bool {
        caller
            .session
            .and_then(|s| self.sessions.get(&s))
            .is_some_and(|r| r.read_only)
    }

    /// Before dispatch: a read-only session's request that is not a read is refused
    /// `READ_ONLY_MEMBER`, and its `Logout` ends it alone. `None` when the request goes
    /// on as usual.
    pub(super) fn read_only_gate(
        &mut self,
        caller: &Caller,
        reply: ReplyTo,
        request: &Request,
    ) -> Option<()> {
        if !self.is_read_only_session(caller) || request.is_read() {
            return None;
        }
        if let (Request::Logout, Some(session)) = (request, caller.session) {
            self.end_session(session);
            let (conn, generation) = (caller.conn, caller.generation);
            self.update_conn(conn, generation, ConnUpdate::Phase(Phase::Ready));
            self.update_conn(conn, generation, ConnUpdate::Session(None));
            self.reply(reply, Ok(Response::Ok));
            return Some(());
        }
        let writes_go = match (self.on_standby(), self.primary_addr()) {
            (false, _) => "to this member in a session of `Login`".to_string(),
            (true, Some(address)) => format!("to the primary at {address}"),
            (true, None) => "to the pair's primary (not known here now)".to_string(),
        };
        let refused = format!(
            "{} is not a read: a read-only session only reads; writes go {writes_go}",
            request.name()
        );
        self.reply_err(reply, ErrorCode::READ_ONLY_MEMBER, refused);
        Some(())
    }

    /// A read-only login on a standby, its password right: refused `READ_ONLY_OTP`
    /// where the security level asks for a token code, whose use would have to be
    /// stored (each code signs in once) — the primary takes the same login.
    pub(super) fn standby_login_check(&mut self, account: u64) -> Result<(), ErrorBody> {
        let level = self.account_mut(account)?.security_level;
        if level != SecurityLevel::High {
            return Ok(());
        }
        let at = self.primary_addr().map_or_else(
            || "the primary".to_string(),
            |a| format!("the primary, {a}"),
        );
        Err(err(
            ErrorCode::READ_ONLY_OTP,
            format!(
                "account {account} asks for a token code, and a standby cannot store its use; \
                 log in read-only on {at}"
            ),
        ))
    }

    /// Makes connection `reply` a read-only session of `agent@account` and answers
    /// `LoggedIn` (no token: a read-only session is not resumed).
    pub(super) fn establish_read_only(&mut self, reply: ReplyTo, account: u64, agent: u32) {
        let (idx, generation) = (reply.conn, reply.generation);
        let session = self.open_session(account, Who::Agent(agent));
        if let Some(record) = self.sessions.get_mut(&session) {
            record.read_only = true;
        }
        self.update_conn(
            idx,
            generation,
            ConnUpdate::Phase(Phase::Agent { account, agent }),
        );
        self.update_conn(idx, generation, ConnUpdate::Session(Some(session)));
        self.logins.push((idx, generation, session));
        self.counters.add_password_login();
        let answer = self
            .session_info(account, agent, [0; 16], 0)
            .ok_or_else(|| err(ErrorCode::UNKNOWN_AGENT, "the agent is gone"));
        self.reply(reply, answer.map(Response::LoggedIn));
    }

    /// Ends the read-only sessions of `agent@account` on this shard (its password
    /// changed here): their connections are told `LOGGED_OUT`. (A standby's sessions are
    /// not ended by a change the primary made: they keep reading until they log out.)
    pub(super) fn end_read_only_sessions(&mut self, account: u64, agent: u32) {
        let ids: Vec<_> = self
            .sessions
            .iter()
            .filter(|(_, r)| r.read_only && r.account == account && r.who == Who::Agent(agent))
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            self.close_session(
                id,
                ErrorCode::LOGGED_OUT,
                "your password was changed; log in again".into(),
            );
        }
    }

    /// The standby applied batches that wrote `accounts` (`None`: possibly any): they
    /// leave memory and load again on their next request. A load already under way read
    /// the store before those batches, so it is not adopted (`load.rs`: its requests
    /// load the account again).
    pub fn evict_stale(&mut self, accounts: Option<&[u64]>) {
        let loading = match accounts {
            Some(list) => list.iter().any(|a| self.parked.contains_key(a)),
            None => !self.parked.is_empty(),
        };
        if loading {
            self.evictions += 1;
        }
        match accounts {
            Some(list) => {
                for account in list {
                    self.actors.remove(account);
                }
            }
            None => self.actors.clear(),
        }
        // Token states are read from the store again too.
        self.tokens.clear();
        self.counters.set_accounts(self.actors.len() as u64);
    }

    /// A standby's end of turn: nothing is written. A turn that put anything in its
    /// batch (a handler that writes, reached by a read) is undone: its accounts reload,
    /// its successes are answered `READ_ONLY_MEMBER`.
    pub(super) fn commit_on_standby(&mut self) -> Vec<Outgoing> {
        self.turn_size = (self.logins.len(), self.batch.len());
        if !self.batch.is_empty() {
            let refusal = err(
                ErrorCode::READ_ONLY_MEMBER,
                "a standby writes nothing of its own; send this to the primary",
            );
            self.undo_turn(&refusal);
            self.batch.clear();
        }
        self.end_turn_state();
        self.publish_metrics();
        let mut out = std::mem::take(&mut self.outbox);
        out.append(&mut self.settled);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_is_the_leaders_address_else_the_configured_one() {
        let configured: SocketAddr = "127.0.0.5:7070".parse().unwrap();
        let leader: SocketAddr = "127.0.0.6:7070".parse().unwrap();
        let placement = Placement::of_member("pair", "b");
        let reads = StandbyReads::new(Some(configured));
        assert_eq!(reads.primary(&placement), Some(configured));
        placement.set_own_leader(Some(("a".into(), Some(leader))));
        assert_eq!(reads.primary(&placement), Some(leader));
        assert_eq!(StandbyReads::new(None).primary(&Placement::default()), None);
    }
}
