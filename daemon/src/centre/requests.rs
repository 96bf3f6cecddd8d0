//! Requests: authorisation, routing to the owning shard, and the account,
//! agent, login and session logic.

use super::dispatch::{
    classify, target_account, AgentRequest, EntryRequest, OperatorRequest, Routed, SessionRequest,
};
use super::load::Parked;
use super::sessions::Who;
use super::{err, Answer, Centre, Outgoing, Recipient, ReplyTo};
use crate::accounts::{
    account_info, owner_shard, plan_from_wire, AccountState, AgentState, OnlineAgent, SessionSlot,
};
use crate::auth::{authorize, Principal, SUPER_ADMIN_AGENT};
use crate::password::validate_new_password;
use crate::session::{Caller, ConnUpdate, Flow as Control};
use crate::session::{Phase, SessionId};
use crate::session_token::SessionToken;
use crate::store::file_records::FileParty;
use crate::store::records::{
    AccountRecord, AgentRecord, PresenceMode, SessionRecord, AGENT_ROLE, DEFAULT_ROLES,
    SUPER_ADMIN_ROLE,
};
use crate::store::{self};
use crate::worker::{PasswordJob, PasswordOutcome};
use kefu_wire::{
    Body, ErrorBody, ErrorCode, Event, Presence, PresenceChange, Request, Response, SessionInfo,
};
use smallvec::smallvec;

/// Longest nickname, in characters.
const MAX_NICKNAME_CHARS: usize = 64;
/// Longest account name, in characters.
const MAX_NAME_CHARS: usize = 128;
/// Agent numbers run from 1001 (the super admin) up to this.
const MAX_AGENT_NUMBER: u32 = 9_999;
/// Agents per account. Keeps `ListAgents` well inside one frame: an agent
/// entry is at most ~270 bytes (a 64-character CJK nickname), 2,000 of them
/// about 540 KiB against the 1 MiB default frame.
const MAX_AGENTS_PER_ACCOUNT: usize = 2_000;
/// Largest page of `AdminListAccounts`.
const MAX_ACCOUNT_PAGE: u32 = 1_000;

/// What to do when a password job comes back.
#[derive(Debug)]
pub(crate) enum PendingOp {
    /// A password login.
    Login {
        reply: ReplyTo,
        account: u64,
        agent: u32,
        credential_gen: u32,
        otp: Option<String>,
        peer: Option<std::net::IpAddr>,
        /// Which session the login opens.
        kind: LoginKind,
    },
    /// Set an agent's password (operator, super password, or own).
    SetPassword {
        reply: ReplyTo,
        account: u64,
        agent: u32,
        credential_gen: u32,
        /// Whether the answer carries a fresh session for the asking connection.
        own: bool,
    },
    /// Change the super password.
    SetSuperPassword { reply: ReplyTo, account: u64 },
    /// Create an account once its two passwords are hashed.
    CreateAccount {
        reply: ReplyTo,
        account: u64,
        name: String,
        plan: kefu_wire::Plan,
        expires_at: i64,
    },
}

impl PendingOp {
    /// Whether this is a password login of connection (`conn`, `generation`).
    pub(super) fn is_login_of(&self, conn: usize, generation: u32) -> bool {
        matches!(self, PendingOp::Login { reply, .. }
            if reply.conn == conn && reply.generation == generation)
    }
}

/// What a password login carries to its completion.
#[derive(Debug)]
pub(crate) struct LoginCheck {
    account: u64,
    agent: u32,
    credential_gen: u32,
    otp: Option<String>,
    peer: Option<std::net::IpAddr>,
    kind: LoginKind,
}

/// Which session a password login opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginKind {
    /// `Login`: the agent's desktop session (online, a token).
    Desktop,
    /// `CentreLogin`: an account centre's session (`account_centre.rs`).
    Centre,
    /// `LoginReadOnly`: a read-only session (`read_only.rs`).
    ReadOnly,
}

impl Centre {
    /// Entry point of every request read from a connection of this shard.
    pub fn handle_request(&mut self, caller: &Caller, reply: ReplyTo, request: Request) -> Control {
        if !caller.is_admin && self.on_standby() {
            // A standby serves read-only sessions and sends everyone else to its
            // primary (`read_only.rs`).
            if !self.standby_serves(caller, &request) {
                self.send_to_primary(caller, reply, &request);
                return Control::Continue;
            }
        } else if !caller.is_admin && !self.may_serve_clients() {
            // A member that may not acknowledge (fenced, or not the leader) serves no
            // read either: another member may be acknowledging writes it lacks. A
            // login is sent to the member that leads, when etcd names one.
            self.send_to_primary(caller, reply, &request);
            return Control::Continue;
        }
        self.route_request(caller, reply, request, true)
    }

    /// Whether clients are served: always, except on a member of a pair with
    /// `[cluster.etcd]` that does not hold a certainly valid lease on the leader key.
    /// (The operator's admin socket is still answered: its reads are for diagnosis,
    /// and its writes meet the same fence in the committer.)
    fn may_serve_clients(&self) -> bool {
        self.shared
            .replication
            .as_ref()
            .and_then(|hook| hook.leadership.as_ref())
            .is_none_or(|lead| lead.may_acknowledge())
    }

    /// A request that waited for its account to load (`load.rs`): never parked again.
    pub(super) fn handle_loaded_request(
        &mut self,
        caller: &Caller,
        reply: ReplyTo,
        request: Request,
    ) -> Control {
        self.route_request(caller, reply, request, false)
    }

    /// Authorises, sends to the owning shard, waits for the account to load (when
    /// `may_park`), then dispatches.
    fn route_request(
        &mut self,
        caller: &Caller,
        reply: ReplyTo,
        request: Request,
        may_park: bool,
    ) -> Control {
        let (is_admin, phase) = (caller.is_admin, caller.phase);
        // An account served by another appliance, or being moved, is not served here.
        if self.served_elsewhere(caller, reply, &request) {
            return Control::Continue;
        }
        if let (false, true, Phase::Agent { account, .. } | Phase::Customer { account }) =
            (is_admin, may_park, phase)
        {
            // The caller's account decides its permissions: it is in memory first.
            if !self.is_loaded(account) {
                let parked = Parked {
                    caller: Some(caller.clone()),
                    reply,
                    request,
                };
                self.park(account, parked);
                return Control::Pause;
            }
        }
        // A connection whose session ended in this turn (replaced, password changed)
        // still says it is logged in until the loop hears of it: it is not.
        let logged_in = self.session_open(caller.session);
        let principal = match phase {
            _ if is_admin => Principal::Operator,
            Phase::Customer { .. } | Phase::Agent { .. } if !logged_in => Principal::Anonymous,
            Phase::Customer { account } => Principal::Customer { account },
            Phase::Agent { account, agent } => Principal::Agent {
                account,
                agent,
                permissions: self
                    .actors
                    .get(&account)
                    .map(|a| &a.state)
                    .map_or(Default::default(), |a| a.permissions(agent)),
            },
            _ => Principal::Anonymous,
        };
        if let Err(code) = authorize(principal, &request) {
            self.reply_err(reply, code, format!("{} refused", request.name()));
            return Control::Continue;
        }
        if self.centre_session_gate(caller, reply, &request).is_some() {
            return Control::Continue;
        }
        if self.read_only_gate(caller, reply, &request).is_some() {
            return Control::Continue;
        }
        if let Request::ResumeSession { token, .. } = &request {
            // The session's number says which shard holds it; the connection moves there.
            let shard = crate::session::SessionId(token.session).shard();
            if shard != self.id {
                if shard < self.shard_count() {
                    return Control::HandOver(shard);
                }
                let refused = err(ErrorCode::RESUME_REJECTED, "unknown session token");
                self.reply(reply, Err(refused));
                return Control::Continue;
            }
        }
        if let Some(account) = target_account(&request) {
            let owner = owner_shard(account, self.shard_count());
            if owner != self.id {
                if is_admin {
                    // The admin connection stays here; the owner answers for it.
                    self.outbox.push(Outgoing::Forward {
                        shard: owner,
                        reply,
                        request,
                    });
                    return Control::Continue;
                }
                // An agent connection moves to the shard that owns its account.
                return Control::HandOver(owner);
            }
            if may_park && !self.is_loaded(account) {
                let parked = Parked {
                    caller: Some(caller.clone()),
                    reply,
                    request,
                };
                self.park(account, parked);
                return Control::Pause;
            }
        }
        self.dispatch(caller, principal, reply, request)
    }

    /// A login or a resumption: the connection pauses while a password is checked.
    fn entry(&mut self, caller: &Caller, reply: ReplyTo, entry: EntryRequest) -> Control {
        // A password login: what its check needs.
        let checking = match entry {
            EntryRequest::Login {
                account,
                agent,
                password,
                otp,
            } => Some((account, agent, password, otp, LoginKind::Desktop)),
            EntryRequest::LoginReadOnly {
                account,
                agent,
                password,
                otp,
            } => Some((account, agent, password, otp, LoginKind::ReadOnly)),
            EntryRequest::Resume {
                account,
                agent,
                token,
            } => {
                if let Err(e) = self.resume(reply, account, agent, SessionToken(token)) {
                    self.reply(reply, Err(e));
                }
                None
            }
            e @ (EntryRequest::CentreLogin { .. } | EntryRequest::CentreTicketLogin { .. }) => {
                if self.centre_entry(caller, reply, e) {
                    return self.pause_login(caller);
                }
                None
            }
            EntryRequest::ResumeSession { token, last_ack } => {
                if let Err(e) = self.resume_session(caller, reply, token, last_ack) {
                    self.reply(reply, Err(e));
                }
                None
            }
            EntryRequest::Customer(login) => {
                let answer = self.customer_login(caller, login);
                self.reply(reply, answer);
                None
            }
        };
        let Some((account, agent, password, otp, kind)) = checking else {
            return Control::Continue;
        };
        if self.start_login(reply, account, agent, password, otp, caller.peer, kind) {
            return self.pause_login(caller);
        }
        Control::Continue
    }

    /// The caller's connection waits for its password check.
    fn pause_login(&mut self, caller: &Caller) -> Control {
        let paused = ConnUpdate::Phase(Phase::LoggingIn);
        self.update_conn(caller.conn, caller.generation, paused);
        Control::Pause
    }

    /// Hands a classified request to its domain.
    fn dispatch(
        &mut self,
        caller: &Caller,
        principal: Principal,
        reply: ReplyTo,
        request: Request,
    ) -> Control {
        match (principal, classify(request)) {
            (_, Routed::Entry(entry)) => return self.entry(caller, reply, entry),
            (Principal::Agent { .. } | Principal::Customer { .. }, Routed::EnableResume) => {
                let answer = self.enable_resume(caller);
                self.reply(reply, answer);
            }
            (Principal::Customer { account }, Routed::Customer(request)) => {
                let answer = self.customer_request(caller, account, request);
                self.reply(reply, answer);
            }
            (Principal::Customer { account }, Routed::Participant(request)) => {
                let answer = self.customer_request(caller, account, request.for_customer());
                self.reply(reply, answer);
            }
            (Principal::Agent { account, agent, .. }, Routed::Agent(request)) => {
                let conn = (caller.conn, caller.generation);
                return self.agent_request(Some(conn), reply, account, agent, request);
            }
            (Principal::Agent { account, agent, .. }, Routed::Participant(request)) => {
                let conn = (caller.conn, caller.generation);
                let request = request.for_agent();
                return self.agent_request(Some(conn), reply, account, agent, request);
            }
            (Principal::Operator, Routed::Operator(request)) => {
                self.operator_request(reply, request)
            }
            (Principal::Agent { account, agent, .. }, Routed::Files(request)) => {
                let me = FileParty::Agent(agent);
                self.file_request(caller, reply, account, me, request);
            }
            (Principal::Customer { account }, Routed::Files(request)) => {
                match self.session_customer(caller.session) {
                    Some(login) => {
                        let me = FileParty::Customer(login.customer.clone());
                        self.file_request(caller, reply, account, me, request);
                    }
                    None => self.reply_err(reply, ErrorCode::PERMISSION_DENIED, "no session"),
                }
            }
            // `authorize` refused these above; answered the same way if it ever did not.
            (
                Principal::Anonymous | Principal::Operator,
                Routed::Agent(_)
                | Routed::Customer(_)
                | Routed::Participant(_)
                | Routed::Files(_)
                | Routed::EnableResume,
            )
            | (
                Principal::Anonymous | Principal::Customer { .. } | Principal::Agent { .. },
                Routed::Operator(_),
            )
            | (Principal::Customer { .. }, Routed::Agent(_))
            | (Principal::Agent { .. }, Routed::Customer(_)) => {
                self.reply_err(
                    reply,
                    ErrorCode::PERMISSION_DENIED,
                    "not a request for this connection",
                );
            }
        }
        Control::Continue
    }

    /// A request another shard's admin connection sent to this, the owner.
    pub fn handle_forwarded(&mut self, reply: ReplyTo, request: Request, operator: bool) {
        if !operator {
            return self.reply_err(reply, ErrorCode::INTERNAL, "misrouted request");
        }
        match target_account(&request) {
            Some(account) if !self.is_loaded(account) => {
                let parked = Parked {
                    caller: None,
                    reply,
                    request,
                };
                self.park(account, parked);
            }
            _ => self.run_forwarded(reply, request),
        }
    }

    /// An operator's request forwarded by another shard, its account in memory.
    pub(super) fn run_forwarded(&mut self, reply: ReplyTo, request: Request) {
        match classify(request) {
            Routed::Operator(request) => self.operator_request(reply, request),
            _ => self.reply_err(reply, ErrorCode::INTERNAL, "misrouted request"),
        }
    }

    /// The account's record, agents and roles (the account loads whole on first use).
    pub(super) fn account_mut(&mut self, account: u64) -> Result<&mut AccountState, ErrorBody> {
        Ok(&mut self.actor_mut(account)?.state)
    }

    fn submit(&mut self, op: PendingOp, job: PasswordJob) -> bool {
        let id = job.id;
        self.pending.insert(id, op);
        let sink: std::sync::Arc<dyn crate::worker::OutcomeSink> = self.mailbox.clone();
        if self.shared.workers.submit(job, sink) {
            true
        } else {
            self.pending.remove(&id);
            false
        }
    }

    /// Checks what can be checked cheaply, then sends the password to the
    /// worker pool. True if the check is under way (the connection pauses).
    /// `kind`: which session it opens (a desktop, centre or read-only one).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_login(
        &mut self,
        reply: ReplyTo,
        account: u64,
        agent: u32,
        password: String,
        otp: Option<String>,
        peer: Option<std::net::IpAddr>,
        kind: LoginKind,
    ) -> bool {
        let now = self.now_secs();
        let checked = (|| {
            let state = self.account_mut(account)?;
            if state.record.expires_at <= now {
                return Err(err(
                    ErrorCode::ACCOUNT_EXPIRED,
                    format!("account {account} has expired"),
                ));
            }
            let a = state.agents.get(&agent).ok_or_else(|| {
                err(
                    ErrorCode::UNKNOWN_AGENT,
                    format!("agent {agent}@{account} does not exist"),
                )
            })?;
            let hash = a.record.password.clone().ok_or_else(|| {
                err(
                    ErrorCode::NO_PASSWORD_SET,
                    format!("agent {agent}@{account} has no password yet; agent 1001 must set one"),
                )
            })?;
            Ok((hash, a.record.credential_gen))
        })();
        let throttled = self.login_throttled(account, agent, peer, now);
        let (hash, credential_gen) = match checked.and_then(|x| throttled.map(|()| x)) {
            Ok(x) => x,
            Err(e) => {
                if e.code == ErrorCode::UNKNOWN_AGENT {
                    // Guessing agent numbers counts against the address.
                    self.login_failed(None, peer, now);
                }
                self.reply(reply, Err(e));
                return false;
            }
        };
        let id = self.new_job_id();
        let job = PasswordJob {
            id,
            verify: smallvec![(password, hash)],
            hash: smallvec![],
            iterations: 0,
        };
        let op = PendingOp::Login {
            reply,
            account,
            agent,
            credential_gen,
            otp,
            peer,
            kind,
        };
        if self.submit(op, job) {
            true
        } else {
            self.reply_err(reply, ErrorCode::OVERLOADED, "password workers unavailable");
            false
        }
    }

    /// Refuses a password login while the agent or the address cools down.
    fn login_throttled(
        &mut self,
        account: u64,
        agent: u32,
        peer: Option<std::net::IpAddr>,
        now: i64,
    ) -> Result<(), ErrorBody> {
        let by_agent = self.agent_throttle.check((account, agent), now);
        let by_address = match (peer, self.shared.address_throttle.lock()) {
            (Some(ip), Ok(t)) => t.check(ip, now),
            _ => Ok(()),
        };
        match by_agent.and(by_address) {
            Ok(()) => Ok(()),
            Err(wait) => Err(err(
                ErrorCode::LOGIN_THROTTLED,
                format!("too many failed logins; try again in {wait} s"),
            )),
        }
    }

    /// Counts a failed login against the agent (if known) and the address.
    fn login_failed(
        &mut self,
        agent: Option<(u64, u32)>,
        peer: Option<std::net::IpAddr>,
        now: i64,
    ) {
        self.counters.add_failed_login();
        if let Some(key) = agent {
            self.agent_throttle.failed(key, now);
        }
        if let (Some(ip), Ok(mut t)) = (peer, self.shared.address_throttle.lock()) {
            t.failed(ip, now);
        }
    }

    fn resume(
        &mut self,
        reply: ReplyTo,
        account: u64,
        agent: u32,
        token: SessionToken,
    ) -> Result<(), ErrorBody> {
        let now = self.now_secs();
        let shard = self.id;
        let store = std::sync::Arc::clone(&self.shared.store);
        let state = self.account_mut(account)?;
        if state.record.expires_at <= now {
            return Err(err(
                ErrorCode::ACCOUNT_EXPIRED,
                format!("account {account} has expired"),
            ));
        }
        let credential_gen = state
            .agents
            .get(&agent)
            .map(|a| a.record.credential_gen)
            .ok_or_else(|| {
                err(
                    ErrorCode::UNKNOWN_AGENT,
                    format!("agent {agent}@{account} does not exist"),
                )
            })?;
        let session = state.session(store.as_ref(), agent).map_err(|e| {
            crate::log::error(shard, format_args!("loading session: {e}"));
            err(ErrorCode::STORAGE_FAILURE, "storage failed")
        })?;
        let valid = session.is_some_and(|s| {
            s.expires_at > now && s.credential_gen == credential_gen && token.matches(&s.token_hash)
        });
        if !valid {
            return Err(err(
                ErrorCode::SESSION_INVALID,
                "session token unknown, expired or revoked; log in with the password",
            ));
        }
        let expires_at = session.map_or(0, |s| s.expires_at);
        self.establish(reply, account, agent, token.0, expires_at);
        Ok(())
    }

    /// Makes connection `idx` the agent's session: replaces an earlier one,
    /// announces presence, answers `LoggedIn`.
    fn establish(
        &mut self,
        reply: ReplyTo,
        account: u64,
        agent: u32,
        token: [u8; 16],
        expires_at: i64,
    ) {
        let (idx, generation) = (reply.conn, reply.generation);
        let session = self.open_session(account, Who::Agent(agent));
        let phase = ConnUpdate::Phase(Phase::Agent { account, agent });
        self.update_conn(idx, generation, phase);
        self.update_conn(idx, generation, ConnUpdate::Session(Some(session)));
        self.logins.push((idx, generation, session));
        let previous = self.online.entry(account).or_default().insert(
            agent,
            OnlineAgent {
                session,
                presence: Presence::Online,
            },
        );
        if let Some(prev) = previous {
            // The old session ends without an offline presence: the agent is here.
            self.replace_session(
                prev.session,
                ErrorCode::SESSION_REPLACED,
                format!("agent {agent}@{account} logged in on another connection"),
            );
        } else {
            self.counters.session_opened();
        }
        self.announce_presence(account, agent, Presence::Online);
        self.chat_agent_login(account, agent);
        let Some(info) = self.session_info(account, agent, token, expires_at) else {
            return;
        };
        self.reply(reply, Ok(Response::LoggedIn(info)));
        if agent == SUPER_ADMIN_AGENT {
            self.super_admin_signed_in(account, session);
        }
    }

    pub(super) fn session_info(
        &self,
        account: u64,
        agent: u32,
        token: [u8; 16],
        expires_at: i64,
    ) -> Option<SessionInfo> {
        let state = self.actors.get(&account).map(|a| &a.state)?;
        let a = state.agents.get(&agent)?;
        Some(SessionInfo {
            account,
            agent,
            nickname: a.record.nickname.clone(),
            role: a.record.role,
            permissions: state.permissions(agent).bits(),
            token,
            token_expires_at: expires_at,
            account_expires_at: state.record.expires_at,
        })
    }

    /// Pushes a presence change to the account's other online agents.
    fn announce_presence(&mut self, account: u64, agent: u32, presence: Presence) {
        // Collected for the turn and sent by `Shard::push_presence` after the commit.
        self.presence_changes.push((account, agent, presence));
    }

    /// Pushes the turn's presence changes: per account, each online agent gets
    /// one push with every other agent's latest presence. In a reconnect storm
    /// that is one push per agent per turn instead of one per login.
    pub(super) fn push_presence(&mut self) {
        if self.presence_changes.is_empty() {
            return;
        }
        let mut changes = std::mem::take(&mut self.presence_changes);
        // Group by account (stable: per agent, the last change of the turn wins).
        changes.sort_by_key(|(account, _, _)| *account);
        for group in changes.chunk_by(|a, b| a.0 == b.0) {
            let Some(&(account, _, _)) = group.first() else {
                continue;
            };
            let mut latest: Vec<PresenceChange> = Vec::with_capacity(group.len());
            for &(_, agent, presence) in group {
                match latest.iter_mut().find(|c| c.agent == agent) {
                    Some(c) => c.presence = presence,
                    None => latest.push(PresenceChange { agent, presence }),
                }
            }
            let Some(online) = self.online.get(&account) else {
                continue;
            };
            let mut pushes = Vec::with_capacity(online.len());
            for &me in online.keys() {
                let others: Vec<PresenceChange> =
                    latest.iter().filter(|c| c.agent != me).copied().collect();
                let event = match others.as_slice() {
                    [] => continue,
                    [one] => Event::PresenceChanged {
                        agent: one.agent,
                        presence: one.presence,
                    },
                    _ => Event::PresenceChanges(others),
                };
                pushes.push((me, event));
            }
            for (me, event) in pushes {
                self.push(account, Recipient::Agent(me), event);
            }
        }
        changes.clear();
        self.presence_changes = changes;
    }

    /// The agent's session `session` ended (its connection gone, logged out).
    pub(super) fn set_offline(&mut self, account: u64, agent: u32, session: SessionId) {
        let Some(online) = self.online.get_mut(&account) else {
            return;
        };
        if online.get(&agent).is_some_and(|o| o.session == session) {
            online.remove(&agent);
            if online.is_empty() {
                self.online.remove(&account);
            }
            self.counters.session_closed();
            self.crm_agent_gone(account, agent);
            self.announce_presence(account, agent, Presence::Offline);
            self.chat_agent_logout(account, agent);
        }
    }

    /// An agent's request (or the operator's on an account, `conn` `None`), by domain.
    /// An import chunk or a broadcast submission becomes a job of the account
    /// (`import_jobs.rs`, `submit_jobs.rs`) answered when it finishes: the agent's
    /// connection is paused until then.
    fn agent_request(
        &mut self,
        conn: Option<(usize, u32)>,
        reply: ReplyTo,
        account: u64,
        me: u32,
        request: AgentRequest,
    ) -> Control {
        let request = match self.defer(conn, reply, account, me, request) {
            Ok(request) => request,
            Err(taken) => return taken,
        };
        let answer: Answer = match request {
            AgentRequest::Session(request) => {
                self.session_request(conn, reply, account, me, request);
                return Control::Continue;
            }
            AgentRequest::Chat(request) => self.agent_chat_request(account, me, request),
            AgentRequest::History(query) => self.history(account, me, query),
            AgentRequest::Extras(request) => self.account_extras_request(account, me, request),
            AgentRequest::ValueAdded(request) => self.value_added_request(account, me, request),
            AgentRequest::Reports(request) => {
                self.report_request(reply, account, me, request);
                return Control::Continue;
            }
            AgentRequest::Survey(request) => self.survey_request(account, me, request),
            AgentRequest::Signal(request) => self.agent_signal_request(account, me, request),
            AgentRequest::Crm(request) => {
                self.agent_crm_request(account, me, conn.is_none(), request)
            }
            AgentRequest::Security(request) => self.security_request(account, me, request),
            AgentRequest::Token(request) => {
                self.token_request(reply, account, me, request);
                return Control::Continue;
            }
            AgentRequest::Prefs(request) => self.prefs_request(account, me, request),
            AgentRequest::Automation(request) => self.automation_request(account, me, request),
            AgentRequest::Internal(request) => self.internal_request(account, me, request),
            AgentRequest::Menu(request) => self.menu_request(account, request),
            AgentRequest::Spam(request) => self.spam_request(account, me, request),
            AgentRequest::Web(request) => self.web_agent_request(account, me, request),
            AgentRequest::Csat(request) => self.csat_request(account, request),
            AgentRequest::Profile(request) => self.profile_request(account, request),
        };
        self.reply(reply, answer);
        Control::Continue
    }

    /// Takes an import chunk or a broadcast submission into a job of the account (or
    /// refuses it at once): what the connection does next. Hands every other request
    /// back.
    fn defer(
        &mut self,
        conn: Option<(usize, u32)>,
        reply: ReplyTo,
        account: u64,
        me: u32,
        request: AgentRequest,
    ) -> Result<AgentRequest, Control> {
        use super::dispatch::{CrmRequest, ValueAddedRequest as V};
        use super::submit_jobs::Submission;
        let started = match request {
            AgentRequest::Crm(CrmRequest::ImportContacts { chunk, first, last }) => {
                self.start_import(account, me, conn, reply, chunk, first, last)
            }
            AgentRequest::ValueAdded(V::SubmitBroadcast { draft, otp }) => {
                let s = Submission::new(account, me, draft, otp);
                self.start_submission(s, conn, reply)
            }
            AgentRequest::ValueAdded(V::ResubmitBroadcast { id, draft, otp }) => {
                let mut s = Submission::new(account, me, draft, otp);
                s.resubmit = Some(id);
                self.start_submission(s, conn, reply)
            }
            AgentRequest::ValueAdded(V::SubmitSurveyBroadcast { survey, draft, otp }) => {
                let mut s = Submission::new(account, me, draft, otp);
                s.survey = Some(survey);
                self.start_submission(s, conn, reply)
            }
            AgentRequest::ValueAdded(V::PreviewBroadcast { draft, otp }) => {
                let mut s = Submission::new(account, me, draft, otp);
                s.preview = true;
                self.start_submission(s, conn, reply)
            }
            AgentRequest::ValueAdded(V::PreviewSurveyBroadcast { survey, draft, otp }) => {
                let mut s = Submission::new(account, me, draft, otp);
                (s.survey, s.preview) = (Some(survey), true);
                self.start_submission(s, conn, reply)
            }
            other => return Ok(other),
        };
        match started {
            // The agent's connection reads nothing more until the job answers.
            Ok(()) if conn.is_some() => Err(Control::Pause),
            Ok(()) => Err(Control::Continue),
            Err(e) => {
                self.reply(reply, Err(e));
                Err(Control::Continue)
            }
        }
    }

    /// The agent's own session and the account's agents.
    fn session_request(
        &mut self,
        conn: Option<(usize, u32)>,
        reply: ReplyTo,
        account: u64,
        me: u32,
        request: SessionRequest,
    ) {
        let answer: Answer = match request {
            SessionRequest::LogoutWith { keep_conversations } => {
                self.chat_agent_logout_with(account, me, keep_conversations);
                return self.session_request(conn, reply, account, me, SessionRequest::Logout);
            }
            SessionRequest::Logout => {
                self.batch.delete_session(account, me);
                self.touched.push(account);
                if let Some(a) = self
                    .actors
                    .get_mut(&account)
                    .and_then(|s| s.state.agents.get_mut(&me))
                {
                    a.session = SessionSlot::None;
                }
                if let Some((idx, generation)) = conn {
                    self.update_conn(idx, generation, ConnUpdate::Phase(Phase::Ready));
                    self.update_conn(idx, generation, ConnUpdate::Session(None));
                    let session = self.online.get(&account).and_then(|m| m.get(&me));
                    if let Some(session) = session.map(|o| o.session) {
                        self.end_session(session);
                    }
                }
                Ok(Response::Ok)
            }
            SessionRequest::SetPresence { presence } => {
                if let Some(o) = self.online.get_mut(&account).and_then(|m| m.get_mut(&me)) {
                    o.presence = presence;
                }
                self.announce_presence(account, me, presence);
                self.chat_agent_presence(account, me, presence);
                Ok(Response::Ok)
            }
            SessionRequest::ListAgentGroups => self.agent_groups(account),
            SessionRequest::ListAgents => self
                .actors
                .get(&account)
                .map(|a| &a.state)
                .map(|s| Response::Agents(s.agent_infos(self.online.get(&account))))
                .ok_or_else(|| err(ErrorCode::INTERNAL, "account not loaded")),
            SessionRequest::GetServerTime => Ok(Response::Clock {
                unix_ms: self.now_ms,
                test_mode: self.shared.clock.test_clock().is_some(),
            }),
            SessionRequest::WhoAmI => self
                .session_info(account, me, [0; 16], 0)
                .map(Response::Session)
                .ok_or_else(|| err(ErrorCode::INTERNAL, "account not loaded")),
            SessionRequest::AddAgent {
                agent,
                nickname,
                role,
            } => self.add_agent(account, agent, nickname, role),
            SessionRequest::SetAgentPassword {
                agent,
                new_password,
                super_password,
            } => {
                return self.set_password(
                    reply,
                    account,
                    agent,
                    new_password,
                    Some(super_password),
                    false,
                )
            }
            SessionRequest::ChangeOwnPassword {
                old_password,
                new_password,
            } => {
                return self.set_password(
                    reply,
                    account,
                    me,
                    new_password,
                    Some(old_password),
                    true,
                )
            }
            SessionRequest::ChangeSuperPassword {
                old_super_password,
                new_super_password,
            } => {
                return self.set_super_password(
                    reply,
                    account,
                    old_super_password,
                    new_super_password,
                )
            }
        };
        self.reply(reply, answer);
    }

    fn operator_request(&mut self, reply: ReplyTo, request: OperatorRequest) {
        let answer: Answer = match request {
            OperatorRequest::AdminCreateAccount {
                account,
                name,
                plan,
                expires_at,
                password_1001,
                super_password,
            } => {
                return self.create_account(
                    reply,
                    account,
                    name,
                    plan,
                    expires_at,
                    password_1001,
                    super_password,
                )
            }
            OperatorRequest::AdminListAccounts { after, limit } => {
                let limit = limit.clamp(1, MAX_ACCOUNT_PAGE) as usize;
                let store = self.shared.store.as_ref();
                store::list_accounts(store, after, limit)
                    .and_then(|records| {
                        records
                            .iter()
                            .map(|r| Ok(account_info(r, store::list_agents(store, r.id)?.len())))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .map(Response::Accounts)
                    .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))
            }
            OperatorRequest::AdminShowAccount { account } => self
                .account_mut(account)
                .map(|s| Response::Account(s.info())),
            OperatorRequest::AdminAddAgent {
                account,
                agent,
                nickname,
                role,
            } => self.add_agent(account, agent, nickname, role),
            OperatorRequest::AdminSetAgentPassword {
                account,
                agent,
                new_password,
            } => return self.set_password(reply, account, agent, new_password, None, false),
            OperatorRequest::AdminListAgents { account } => {
                let online = self.online.get(&account).cloned();
                self.account_mut(account)
                    .map(|s| Response::Agents(s.agent_infos(online.as_ref())))
            }
            OperatorRequest::AdminOnAccount { account, request } => {
                return self.on_behalf(reply, account, &request)
            }
            OperatorRequest::AdminImportTokens {
                format,
                data,
                key_hex,
                password,
            } => return self.import_tokens(reply, format, data, key_hex, password),
            OperatorRequest::AdminUnlockToken { serial } => {
                return self.admin_unlock_token(reply, serial)
            }
            OperatorRequest::AdminUnlockAgent { account, agent } => {
                self.agent_throttle.clear((account, agent));
                self.account_mut(account).and_then(|s| {
                    if s.agents.contains_key(&agent) {
                        Ok(Response::Ok)
                    } else {
                        Err(err(
                            ErrorCode::UNKNOWN_AGENT,
                            format!("agent {agent}@{account} does not exist"),
                        ))
                    }
                })
            }
            OperatorRequest::AdminRotateCustomerKey { account } => {
                self.rotate_customer_key(account)
            }
            OperatorRequest::AdminStats => Ok(Response::Stats {
                uptime_s: self.shared.started.elapsed().as_secs(),
                shards: self
                    .shared
                    .counters
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c.snapshot(i))
                    .collect(),
            }),
            OperatorRequest::Clock(request) => self.clock_admin(request),
            OperatorRequest::Sms(request) => self.sms_admin(request),
            OperatorRequest::Ops(request) => return self.ops_request(reply, request),
            OperatorRequest::Backup(request) => return self.backup_admin(reply, request),
            OperatorRequest::Balance(request) => self.balance_admin(request),
            OperatorRequest::Broadcast(request) => self.broadcast_admin(request),
            OperatorRequest::Profile(request) => self.profile_admin(request),
            OperatorRequest::Move(request) => self.move_admin(request),
        };
        self.reply(reply, answer);
    }

    /// `AdminOnAccount`: the operator runs an agent's request as the account's super
    /// admin (no permission checks). Logins, customers' and operator requests, and
    /// logging 1001 out, cannot be run that way.
    fn on_behalf(&mut self, reply: ReplyTo, account: u64, inner: &[u8]) {
        let request = match Request::decode(inner) {
            Ok(r) => r,
            Err(e) => {
                let message = format!("inner request: {e}");
                return self.reply_err(reply, ErrorCode::BAD_REQUEST, message);
            }
        };
        let name = request.name();
        let on_behalf = match classify(request) {
            Routed::Agent(AgentRequest::Session(
                SessionRequest::Logout | SessionRequest::LogoutWith { .. },
            ))
            | Routed::Entry(_)
            | Routed::Customer(_)
            | Routed::Operator(_)
            | Routed::Files(_)
            | Routed::EnableResume => None,
            Routed::Agent(request) => Some(request),
            Routed::Participant(request) => Some(request.for_agent()),
        };
        let Some(request) = on_behalf else {
            let message = format!("{name} cannot be run on behalf of an account");
            return self.reply_err(reply, ErrorCode::INVALID_ARGUMENT, message);
        };
        match self.account_mut(account) {
            Ok(_) => {
                // The operator's connection is never paused: a deferred answer comes
                // back on its own.
                self.agent_request(None, reply, account, SUPER_ADMIN_AGENT, request);
            }
            Err(e) => self.reply(reply, Err(e)),
        }
    }

    /// `AdminUnlockToken`: a bound token is unlocked by its account's shard.
    fn admin_unlock_token(&mut self, reply: ReplyTo, serial: String) {
        let answer = match store::load_token(self.shared.store.as_ref(), &serial) {
            Ok(Some(t)) => match t.bound {
                Some((account, _)) if owner_shard(account, self.shard_count()) != self.id => {
                    let owner = owner_shard(account, self.shard_count());
                    self.outbox.push(Outgoing::Forward {
                        shard: owner,
                        reply,
                        request: Request::AdminUnlockToken { serial },
                    });
                    return;
                }
                _ => return self.unlock_token(reply, serial),
            },
            Ok(None) => Err(err(
                ErrorCode::TOKEN_UNKNOWN,
                format!("no token {serial:?}"),
            )),
            Err(e) => Err(err(ErrorCode::STORAGE_FAILURE, e.to_string())),
        };
        self.reply(reply, answer);
    }

    fn add_agent(
        &mut self,
        account: u64,
        agent: u32,
        nickname: String,
        role: Option<u32>,
    ) -> Answer {
        if !(SUPER_ADMIN_AGENT..=MAX_AGENT_NUMBER).contains(&agent) {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("agent numbers run from {SUPER_ADMIN_AGENT} to {MAX_AGENT_NUMBER}"),
            ));
        }
        check_text("nickname", &nickname, MAX_NICKNAME_CHARS)?;
        let role = role.unwrap_or(AGENT_ROLE);
        let now = self.now_secs();
        let state = self.account_mut(account)?;
        if !state.roles.contains_key(&role) {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("role {role} does not exist"),
            ));
        }
        if state.agents.contains_key(&agent) {
            return Err(err(
                ErrorCode::ALREADY_EXISTS,
                format!("agent {agent}@{account} exists"),
            ));
        }
        if state.agents.len() >= MAX_AGENTS_PER_ACCOUNT {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("an account has at most {MAX_AGENTS_PER_ACCOUNT} agents"),
            ));
        }
        let record = AgentRecord {
            account,
            agent,
            nickname,
            password: None,
            role,
            credential_gen: 0,
            created_at: now,
        };
        state.agents.insert(
            agent,
            AgentState {
                record: record.clone(),
                session: SessionSlot::None,
            },
        );
        self.batch.put_agent(&record);
        self.touched.push(account);
        self.chat_agent_added(account, agent);
        Ok(Response::Ok)
    }

    /// Sets `agent`'s password after proving `proof` (the super password for
    /// another agent, the old password for one's own; none for the operator).
    fn set_password(
        &mut self,
        reply: ReplyTo,
        account: u64,
        agent: u32,
        new_password: String,
        proof: Option<String>,
        own: bool,
    ) {
        let iterations = self.settings.pbkdf2_iterations;
        let prepared = (|| {
            validate_new_password(&new_password)
                .map_err(|e| err(ErrorCode::WEAK_PASSWORD, e.to_string()))?;
            let state = self.account_mut(account)?;
            let target = state.agents.get(&agent).ok_or_else(|| {
                err(
                    ErrorCode::UNKNOWN_AGENT,
                    format!("agent {agent}@{account} does not exist"),
                )
            })?;
            let verify = match (proof, own) {
                (None, _) => smallvec![],
                (Some(old), true) => match target.record.password.clone() {
                    Some(h) => smallvec![(old, h)],
                    None => return Err(err(ErrorCode::NO_PASSWORD_SET, "no password to change")),
                },
                (Some(sup), false) => smallvec![(sup, state.record.super_password.clone())],
            };
            Ok((verify, target.record.credential_gen))
        })();
        let (verify, credential_gen) = match prepared {
            Ok(x) => x,
            Err(e) => return self.reply(reply, Err(e)),
        };
        let id = self.new_job_id();
        let job = PasswordJob {
            id,
            verify,
            hash: smallvec![new_password],
            iterations,
        };
        let op = PendingOp::SetPassword {
            reply,
            account,
            agent,
            credential_gen,
            own,
        };
        if !self.submit(op, job) {
            self.reply_err(reply, ErrorCode::OVERLOADED, "password workers unavailable");
        }
    }

    fn set_super_password(&mut self, reply: ReplyTo, account: u64, old: String, new: String) {
        let iterations = self.settings.pbkdf2_iterations;
        let prepared = (|| {
            validate_new_password(&new)
                .map_err(|e| err(ErrorCode::WEAK_PASSWORD, e.to_string()))?;
            Ok(self.account_mut(account)?.record.super_password.clone())
        })();
        let current = match prepared {
            Ok(h) => h,
            Err(e) => return self.reply(reply, Err(e)),
        };
        let id = self.new_job_id();
        let job = PasswordJob {
            id,
            verify: smallvec![(old, current)],
            hash: smallvec![new],
            iterations,
        };
        if !self.submit(PendingOp::SetSuperPassword { reply, account }, job) {
            self.reply_err(reply, ErrorCode::OVERLOADED, "password workers unavailable");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create_account(
        &mut self,
        reply: ReplyTo,
        account: u64,
        name: String,
        plan: kefu_wire::Plan,
        expires_at: i64,
        password_1001: String,
        super_password: String,
    ) {
        let checked = (|| {
            if account == 0 {
                return Err(err(
                    ErrorCode::INVALID_ARGUMENT,
                    "account number 0 is reserved",
                ));
            }
            check_text("name", &name, MAX_NAME_CHARS)?;
            validate_new_password(&password_1001)
                .map_err(|e| err(ErrorCode::WEAK_PASSWORD, format!("1001's password: {e}")))?;
            validate_new_password(&super_password)
                .map_err(|e| err(ErrorCode::WEAK_PASSWORD, format!("super password: {e}")))?;
            let in_flight = self.pending.values().any(
                |op| matches!(op, PendingOp::CreateAccount { account: a, .. } if *a == account),
            );
            if in_flight || self.account_mut(account).is_ok() {
                return Err(err(
                    ErrorCode::ALREADY_EXISTS,
                    format!("account {account} exists"),
                ));
            }
            Ok(())
        })();
        if let Err(e) = checked {
            return self.reply(reply, Err(e));
        }
        let id = self.new_job_id();
        let job = PasswordJob {
            id,
            verify: smallvec![],
            hash: smallvec![password_1001, super_password],
            iterations: self.settings.pbkdf2_iterations,
        };
        let op = PendingOp::CreateAccount {
            reply,
            account,
            name,
            plan,
            expires_at,
        };
        if !self.submit(op, job) {
            self.reply_err(reply, ErrorCode::OVERLOADED, "password workers unavailable");
        }
    }

    /// A password job came back: finish what it was for.
    pub fn on_password_outcome(&mut self, outcome: PasswordOutcome) {
        let Some(op) = self.pending.remove(&outcome.id) else {
            return;
        };
        match op {
            PendingOp::Login {
                reply,
                account,
                agent,
                credential_gen,
                otp,
                peer,
                kind,
            } => {
                let login = LoginCheck {
                    account,
                    agent,
                    credential_gen,
                    otp,
                    peer,
                    kind,
                };
                self.finish_login(reply, login, outcome.verified)
            }
            PendingOp::SetPassword {
                reply,
                account,
                agent,
                credential_gen,
                own,
            } => {
                let answer =
                    self.finish_set_password(reply, account, agent, credential_gen, own, outcome);
                if let Err(e) = answer {
                    self.reply(reply, Err(e));
                }
            }
            PendingOp::SetSuperPassword { reply, account } => {
                let answer = match (outcome.verified, outcome.hashes.into_iter().next()) {
                    (false, _) => Err(err(
                        ErrorCode::WRONG_PASSWORD,
                        "the current super password does not match",
                    )),
                    (true, None) => Err(err(ErrorCode::INTERNAL, "hashing failed")),
                    (true, Some(hash)) => self
                        .account_mut(account)
                        .map(|state| {
                            state.record.super_password = hash;
                            state.record.clone()
                        })
                        .map(|record| {
                            self.batch.put_account(&record);
                            self.touched.push(account);
                            Response::Ok
                        }),
                };
                self.reply(reply, answer);
            }
            PendingOp::CreateAccount {
                reply,
                account,
                name,
                plan,
                expires_at,
            } => {
                let answer = self.finish_create_account(account, name, plan, expires_at, outcome);
                self.reply(reply, answer);
            }
        }
    }

    fn finish_login(&mut self, reply: ReplyTo, login: LoginCheck, verified: bool) {
        let LoginCheck {
            account,
            agent,
            credential_gen,
            otp,
            peer,
            kind,
        } = login;
        // The connection is still there and paused: closing it forgets this check
        // (`Centre::connection_gone`). Whatever happens, the input that waited behind
        // the login is read next (`ConnUpdate::Resume` below).
        let (idx, generation) = (reply.conn, reply.generation);
        self.update_conn(idx, generation, ConnUpdate::Phase(Phase::Ready));
        // The account may have been evicted (a failed commit) while the password was
        // hashed: reload it rather than mistake its absence for a changed password.
        let current = self
            .account_mut(account)
            .map(|s| s.agents.get(&agent).map(|a| a.record.credential_gen));
        let now = self.now_secs();
        let checked = if let Err(e) = current {
            Err(e)
        } else if !verified || current != Ok(Some(credential_gen)) {
            Err(err(
                ErrorCode::WRONG_PASSWORD,
                format!("wrong password for {agent}@{account}"),
            ))
        } else if kind == LoginKind::ReadOnly && self.on_standby() {
            // A standby stores no used token code (`read_only.rs`).
            self.standby_login_check(account)
        } else {
            // The password is right; at security level high the token code must be too.
            // Its new state (used step, failures) goes into this turn's batch, so
            // the answer, sent after the commit, never outruns it.
            self.check_login_otp(account, agent, otp.as_deref())
        };
        if kind == LoginKind::ReadOnly && checked.is_ok() {
            self.agent_throttle.succeeded((account, agent));
            self.establish_read_only(reply, account, agent);
            self.update_conn(idx, generation, ConnUpdate::Resume);
            return;
        }
        if kind == LoginKind::Centre && checked.is_ok() {
            // An account centre's sign-in: a centre session, no token (`account_centre.rs`).
            self.agent_throttle.succeeded((account, agent));
            self.establish_centre(reply, account, agent);
            self.update_conn(idx, generation, ConnUpdate::Resume);
            return;
        }
        let token = checked.and_then(|()| {
            SessionToken::generate(&self.rng)
                .map_err(|_| err(ErrorCode::INTERNAL, "no randomness for a token"))
        });
        let token = match token {
            Ok(t) => t,
            Err(e) => {
                // A wrong password or a wrong code is a guess; a replayed or missing
                // code comes from someone who had the right one, and is not counted.
                if [ErrorCode::WRONG_PASSWORD, ErrorCode::OTP_INVALID].contains(&e.code) {
                    self.login_failed(Some((account, agent)), peer, now);
                }
                self.reply(reply, Err(e));
                self.update_conn(idx, generation, ConnUpdate::Resume);
                return;
            }
        };
        self.agent_throttle.succeeded((account, agent));
        let session = SessionRecord {
            account,
            agent,
            token_hash: token.hash(),
            credential_gen,
            created_at: now,
            expires_at: now.saturating_add(self.settings.session_ttl_secs),
        };
        // On a full disk the token is kept in memory only, so the agent can still log
        // in and read (wire/PROTOCOL.md section 9): it resumes until the account is
        // reloaded (a restart, or a refused write evicting it), then needs the password.
        if self.shared.store.accepting_writes() {
            self.batch.put_session(&session);
            self.touched.push(account);
        }
        let expires_at = session.expires_at;
        if let Some(a) = self
            .actors
            .get_mut(&account)
            .and_then(|s| s.state.agents.get_mut(&agent))
        {
            a.session = SessionSlot::Some(session);
        }
        self.counters.add_password_login();
        self.establish(reply, account, agent, token.0, expires_at);
        self.update_conn(idx, generation, ConnUpdate::Resume);
    }

    fn finish_set_password(
        &mut self,
        reply: ReplyTo,
        account: u64,
        agent: u32,
        credential_gen: u32,
        own: bool,
        outcome: PasswordOutcome,
    ) -> Result<(), ErrorBody> {
        if !outcome.verified {
            return Err(if own {
                err(ErrorCode::WRONG_PASSWORD, "the old password does not match")
            } else {
                err(
                    ErrorCode::SUPER_PASSWORD_REQUIRED,
                    "the super password does not match",
                )
            });
        }
        let hash = outcome
            .hashes
            .into_iter()
            .next()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "hashing failed"))?;
        let now = self.now_secs();
        let ttl = self.settings.session_ttl_secs;
        let token = SessionToken::generate(&self.rng)
            .map_err(|_| err(ErrorCode::INTERNAL, "no randomness for a token"))?;
        let state = self.account_mut(account)?;
        let a = state
            .agents
            .get_mut(&agent)
            .ok_or_else(|| err(ErrorCode::UNKNOWN_AGENT, "agent vanished"))?;
        if a.record.credential_gen != credential_gen {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "the password changed meanwhile; retry",
            ));
        }
        a.record.password = Some(hash);
        a.record.credential_gen = credential_gen.wrapping_add(1);
        let record = a.record.clone();
        // A password change revokes the agent's session; the agent changing
        // its own password gets a fresh one on this connection.
        let fresh = own.then(|| SessionRecord {
            account,
            agent,
            token_hash: token.hash(),
            credential_gen: record.credential_gen,
            created_at: now,
            expires_at: now.saturating_add(ttl),
        });
        a.session = match &fresh {
            Some(s) => SessionSlot::Some(s.clone()),
            None => SessionSlot::None,
        };
        self.batch.put_agent(&record);
        match &fresh {
            Some(s) => self.batch.put_session(s),
            None => self.batch.delete_session(account, agent),
        }
        self.touched.push(account);
        // Its centre sessions end in either case (PROTOCOL.md 39.5), and its read-only
        // sessions on this member (40.7).
        self.end_centre_sessions(account, agent);
        self.end_read_only_sessions(account, agent);
        match fresh {
            Some(s) => {
                let info = self.session_info(account, agent, token.0, s.expires_at);
                self.reply(
                    reply,
                    info.map(Response::LoggedIn)
                        .ok_or_else(|| err(ErrorCode::INTERNAL, "no session")),
                );
            }
            None => {
                if let Some(o) = self
                    .online
                    .get(&account)
                    .and_then(|m| m.get(&agent))
                    .copied()
                {
                    self.close_session(
                        o.session,
                        ErrorCode::LOGGED_OUT,
                        "your password was changed; log in again".into(),
                    );
                }
                self.reply(reply, Ok(Response::Ok));
            }
        }
        Ok(())
    }

    fn finish_create_account(
        &mut self,
        account: u64,
        name: String,
        plan: kefu_wire::Plan,
        expires_at: i64,
        outcome: PasswordOutcome,
    ) -> Answer {
        let mut hashes = outcome.hashes.into_iter();
        let (Some(password), Some(super_password)) = (hashes.next(), hashes.next()) else {
            return Err(err(ErrorCode::INTERNAL, "hashing failed"));
        };
        // Checked again: an account may have appeared while the hashes ran.
        if self.account_mut(account).is_ok() {
            return Err(err(
                ErrorCode::ALREADY_EXISTS,
                format!("account {account} exists"),
            ));
        }
        let now = self.now_secs();
        let record = AccountRecord {
            id: account,
            name,
            plan: plan_from_wire(plan),
            expires_at,
            created_at: now,
            super_password,
            presence_mode: PresenceMode::FromAgents,
        };
        let admin = AgentRecord {
            account,
            agent: SUPER_ADMIN_AGENT,
            nickname: SUPER_ADMIN_AGENT.to_string(),
            password: Some(password),
            role: SUPER_ADMIN_ROLE,
            credential_gen: 0,
            created_at: now,
        };
        self.batch.put_account(&record);
        self.batch.put_agent(&admin);
        let roles: Vec<_> = DEFAULT_ROLES.iter().map(|r| r.record(account)).collect();
        for r in &roles {
            self.batch.put_role(r);
        }
        let state = AccountState {
            record,
            agents: [(
                SUPER_ADMIN_AGENT,
                AgentState {
                    record: admin,
                    session: SessionSlot::None,
                },
            )]
            .into(),
            roles: roles.into_iter().map(|r| (r.role, r)).collect(),
            security_level: crate::store::SecurityLevel::Medium,
            profiles: Default::default(),
            agent_tokens: Default::default(),
        };
        let info = state.info();
        // A new account has no conversations or contacts yet: reading them finds none.
        let store = std::sync::Arc::clone(&self.shared.store);
        let token_key = self.shared.token_key.clone();
        let chat = super::chat::read_chat(store.as_ref(), token_key.as_deref(), account, &state)?;
        let crm = super::crm::read_crm(
            store.as_ref(),
            account,
            plan_of(&state),
            chat.utc_offset_secs(),
        )?;
        self.install_actor(account, state, chat, crm);
        self.touched.push(account);
        Ok(Response::Account(info))
    }
}

/// The plan of an account, as the CRM's limits take it.
fn plan_of(state: &AccountState) -> crate::store::records::Plan {
    state.record.plan
}

/// Checks a display text: not blank, not too long, no control characters.
pub(super) fn check_text(what: &str, text: &str, max_chars: usize) -> Result<(), ErrorBody> {
    if text.trim().is_empty() {
        return Err(err(ErrorCode::INVALID_ARGUMENT, format!("{what} is empty")));
    }
    if text.chars().count() > max_chars {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("{what} is longer than {max_chars} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("{what} contains control characters"),
        ));
    }
    Ok(())
}
