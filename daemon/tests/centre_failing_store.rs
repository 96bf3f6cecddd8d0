//! The failing-store property test: seeded random request sequences over two
//! accounts, every request kind that writes to the store among them ([`WRITES`]),
//! while the store refuses random writes. After every refused commit the centre must
//! have kept its promise (`Centre::commit`: no success answered and no push of a
//! refused account released, checked by the harness on every turn) and must show what
//! a fresh centre over the same store shows: the same answers to reads, and the same
//! verdict on credentials (a password login, a session resumption, a customer login
//! signed with the key the driver believes in).
//!
//! A coverage guard keeps [`WRITES`] honest: every request sent alone in its step is
//! watched (the store's write count before and after, outcome turns included), and a
//! kind that wrote in a succeeding step and is not in the list fails the test (as does
//! a listed kind never seen writing, unless it writes only now and then). A login the
//! client was refused must leave its connection logged out; the test that found a
//! customer's login did not is kept here as a regression test.

mod centre_support;

use centre_support::*;
use kefu_daemon::centre::Answer;
use kefu_daemon::session::Phase;
use kefu_daemon::store::balance_records::check_ledger;
use kefu_daemon::store::{keys, Cf, KvStore};
use kefu_wire::chat::{
    AccountPresenceMode, Channel, ConversationState, CustomerId, DesignatedMode,
    DesignatedSettings, Entry, MessageBody, Party, RoutingConfig,
};
use kefu_wire::crm::{
    ContactEdit, ContactQuery, ContactSettings, ContactState, GroupEdit, HistoryKind, HistoryQuery,
    TagEdit,
};
use kefu_wire::{
    AccountCentreModule, AgentProfile, DisplayMode, ErrorCode, Plan, Presence, QuickReply, Request,
    Response, SecurityLevel, TokenFileFormat,
};
use std::collections::{BTreeMap, BTreeSet};

const ACCOUNT: u64 = 870_001;
const OTHER: u64 = 870_002;
/// Accounts the operator creates during a sequence are numbered from here.
const CREATED_BASE: u64 = 870_100;

/// Every request kind that writes to the store when it succeeds, one line each: what
/// it writes, and the read (or credential probe, see `compare_with_a_fresh_centre`)
/// that shows its effect. Each is driven by the random sequences and must be seen both
/// succeeding and lost to a refused commit. (`AdminOnAccount` is no kind of its own
/// here: what it runs is counted as the kind it wraps.)
///
/// The coverage guard checks the list both ways: a kind outside it that wrote in a
/// succeeding step of its own fails the test, and so does a kind in it never seen
/// writing in a step of its own, unless it is in [`WRITES_SOMETIMES`].
///
/// Kinds that do not write, and why: `CustomerLogin` opens a session in memory only
/// (the contact is not touched; `VisitorLogin` too, except an account's first visitor,
/// [`WRITES_FIRST_TIME`]);
/// `AdminUnlockAgent` clears the in-memory failed-login counter only (these three are
/// driven, and the guard checks they never write); `AdminClockSet`/`AdminClockAdvance`
/// move the clock (not driven: the driver owns the clock; nothing stored); `Signal`
/// is relayed, never stored; and the reads (`List…`, `Get…`, `SearchContacts`,
/// `RecentContacts`, `ContactsOnline`, `ExportContacts`, `History`, `WhoAmI`,
/// `ConversationMessages`, `GetAnalytics`, `AdminShowAccount`, `AdminListAccounts`,
/// `AdminListAgents`, `AdminStats`). Not driven yet though they write: `ForwardSms` and
/// `AdminSmsReply` (they need a customer's stored message, an offline agent with a
/// phone and a gateway, or an SMS already queued; `daemon/tests/sms_forwarding.rs`
/// covers them through a real daemon).
const WRITES: &[&str] = &[
    // Logins and sessions.
    "Login",       // session record, routing at login; Resume and Login probes
    "Resume",      // routing at login only; ListQueue, ListConversations
    "Logout",      // deletes the session record; Resume probe
    "LogoutWith",  // deletes the session, routing; Resume probe, ListConversations
    "SetPresence", // routing (an agent back online is offered the queue); ListQueue
    // Agents, passwords (on the worker pool), roles, security.
    "AddAgent",               // agent record; ListAgents, AdminListAgents
    "SetAgentPassword",       // agent record, session; Login and Resume probes
    "ChangeOwnPassword",      // agent record, session; Login and Resume probes
    "ChangeSuperPassword",    // account record; the super-password probe
    "CreateRole",             // role record; ListRoles
    "UpdateRole",             // role record; ListRoles
    "DeleteRole",             // role record; ListRoles
    "SetAgentRole",           // agent record; ListAgents, ListRoles
    "SetAgentProfile",        // agent profile record; GetAgentProfile
    "SetSecurityLevel",       // account settings record; GetSecurity
    "SetAccountPresenceMode", // account record; GetAccountPresence (the mode)
    // Hardware tokens (binding an unbound token runs on the token shard).
    "BindToken",      // token, agent-token records; GetSecurity (1001's token)
    "UnbindToken",    // token record, agent-token deleted; GetSecurity
    "CalibrateToken", // token record (drift); no read shows a token's state
    // Conversations and routing.
    "OpenConversation",     // conversation; ListQueue, ListConversations, messages
    "Reselect",             // conversation requeued; ListQueue
    "SendMessage",          // message; ConversationMessages, History
    "CloseConversation",    // conversation closed; ListConversations, RecentContacts
    "SetAutoAccept",        // routing (queued conversations given); ListConversations
    "AcceptConversation",   // conversation assigned; ListQueue, ListConversations
    "TransferConversation", // conversation assigned (an offer is not stored); ListConversations
    "GrabConversation",     // conversation assigned; ListConversations
    "SetRoutingSettings",   // routing settings; GetRoutingSettings
    "SetDesignatedAgent",   // designated-agent record; GetDesignatedAgent
    "InitiateConversation", // conversation; ListConversations, ConversationMessages
    "MarkRead",             // unread count (deleted at zero); ListConversations
    "OrderConversations",   // the agent's list order; ListConversations
    // The CRM.
    "CreateContact", // contact, CRM record; SearchContacts, ExportContacts, GetContact
    "UpdateContact", // contact; SearchContacts, ExportContacts, GetContact
    "SetContactState", // contact; SearchContacts, GetContact
    "DeleteContacts", // contact deleted, CRM record; SearchContacts
    "EditTags",      // CRM record; ListTags
    "EditGroups",    // CRM record; ListGroups
    "ImportContacts", // contacts, CRM record; SearchContacts, ExportContacts
    "RequestContact", // contact, pending; GetContact
    "AnswerContactRequest", // contact, friend or stranger (or deleted); GetContact
    "AddAccount",    // contact, friend; GetContact
    "SetContactSettings", // CRM record; GetContactSettings
    "RequestContactFiled", // contact, pending and filed; GetContact, SearchContacts
    // Agents' preferences and reminders (issue 11 points 7-9).
    "SetAgentPrefs",       // agent preferences record, routing; GetAgentPrefs
    "SetReminderSettings", // reminders record, CRM record; GetReminderSettings
    // Automation (issue 14).
    "SetIdleSettings", // idle settings record, idle records dropped; GetIdleSettings
    "SendInternal",    // internal message, client id, counters; InternalHistory
    "SetNavigationMenu", // menu record, walks reset or routed; GetNavigationMenu
    "ChooseMenuOption", // walk, system message, or conversation and path; ListQueue
    "SetSpamFilter",   // spam settings record; GetSpamFilter
    "SetCsatSettings", // CSAT settings, subscription index, weekly record; GetCsatSettings
    "MuteCustomer",    // mute record (1001's, from the admin side); ListMuted
    // The web channel.
    "CreateEntryCode",   // code, web settings (next number); ListEntryCodes
    "SetAutoInvite",     // web settings; GetAutoInvite
    "SetAllowedOrigins", // allowed-origins record; GetAllowedOrigins
    // The enterprise profile and the window's style under review (issue 17).
    "SubmitEnterpriseProfile", // profile record, queue entry; GetEnterpriseProfile
    "SubmitChatWindowStyle",   // style record, queue entry; GetChatWindowStyle
    "AdminReviewProfile",      // profile or style record, queue entry; AdminProfileReviewQueue
    // Quick replies, account centre, broadcasts.
    "SetQuickReplies",     // quick-reply list; ListQuickReplies (1001's and shared)
    "AccountCentreTicket", // ticket key, once, in the turn's batch; the ticket
    // Broadcasts with review (issue 15): reserved, refunded or settled units with a
    // ledger entry each; the ledger is checked after every refused commit.
    "SubmitBroadcast", // broadcast, status, active list, balance, ledger; ListBroadcasts
    "CancelBroadcast", // status, active list, balance, ledger; ListBroadcasts
    "ResubmitBroadcast", // broadcast, status, balance, ledger; ListBroadcasts
    "AdminBroadcastDecide", // status (a rejection: balance, ledger); AdminBroadcastReviewList
    // The operator.
    "AdminCreateAccount", // account, 1001, roles (worker pool); AdminShowAccount
    "AdminAddAgent",      // agent record; AdminListAgents
    "AdminSetAgentPassword", // agent record, session; Login and Resume probes
    "AdminImportTokens",  // token records (token shard); later binds (no read)
    "AdminUnlockToken",   // token record, when it was locked; no read shows it
    "AdminRotateCustomerKey", // sealed customer key; the customer-login probe
    "AdminSmsTopUp",      // SMS balance record; AdminSmsBalance
    "AdminBalanceTopUp",  // balance and a ledger entry; AdminBalanceShow
];

/// Kinds in [`WRITES`] that write only in some circumstances, which the driver meets
/// too rarely in a step of their own to insist on: routing at a login or a presence
/// change (only when something waits in the queue), a transfer (an offer to a busy
/// agent is not stored), unlocking a token (only a locked one changes).
const WRITES_SOMETIMES: &[&str] = &[
    "Resume",
    "SetPresence",
    "TransferConversation",
    "AdminUnlockToken",
    "SendInternal",         // not to itself, and a retried client id stores nothing
    "ChooseMenuOption",     // only a customer in the menu, with an option that exists
    "CancelBroadcast",      // only one pending review or send, at level low
    "ResubmitBroadcast",    // only a cancelled one, at level low, with the balance for it
    "AdminBroadcastDecide", // only one pending review
];

/// Kinds the driver sends that never write: the guard must see each succeed in a step
/// of its own (and not write).
const NEVER_WRITES: &[&str] = &["CustomerLogin", "AdminUnlockAgent"];

/// Kinds that write only the first time in an account: `VisitorLogin` stores the
/// account's customer key when its first visitor arrives (there is none before), then
/// opens sessions in memory only. The guard lets them write and must see each succeed
/// in a step of its own; losing one to a refused commit is checked like any login's
/// (`check_refused_login`).
const WRITES_FIRST_TIME: &[&str] = &["VisitorLogin"];

/// A valid navigation menu (M4): a root with an automatic reply, human service, "to
/// 1001" and a sub-menu with an URL and a group; `variant` changes a text.
fn navigation_menu(enabled: bool, variant: u64) -> kefu_wire::menu::NavigationMenu {
    use kefu_wire::menu::{MenuAction, MenuNode, MenuOption, NavigationMenu};
    let opt = |label: &str, action| MenuOption {
        label: label.into(),
        action,
    };
    NavigationMenu {
        enabled,
        nodes: vec![
            MenuNode {
                prompt: format!("menu {variant}"),
                options: vec![
                    opt("hours", MenuAction::AutoReply("9-18".into())),
                    opt("human", MenuAction::HumanService),
                    opt("boss", MenuAction::ToAgent(1001)),
                    opt("more", MenuAction::SubMenu(1)),
                ],
            },
            MenuNode {
                prompt: "more".into(),
                options: vec![
                    opt("site", MenuAction::OpenUrl("https://example.com/".into())),
                    opt("group", MenuAction::ToGroup("g".into())),
                ],
            },
        ],
    }
}

/// SplitMix64: a seeded, deterministic sequence (no dependency needed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        let i = usize::try_from(self.below(items.len() as u64)).ok()?;
        items.get(i).cloned()
    }
}

const CUSTOMERS: [&str; 4] = ["c0", "c1", "c2", "c3"];
/// Steps of each seeded sequence.
const STEPS: usize = 1000;
/// The passwords agents are given or change to.
const PASSWORDS: [&str; 3] = [AGENT_PASSWORD, "second password", "third password"];
/// The super passwords an account changes between.
const SUPERS: [&str; 2] = [SUPER, "another super"];
/// The verification answer of the contact settings the driver sets.
const ANSWER: &str = "blue";

/// One request the driver sends: from which connection, about which account, and
/// the kind it is counted as (the wrapped kind for `AdminOnAccount`).
#[derive(Debug, Clone)]
struct Planned {
    conn: usize,
    account: u64,
    request: Request,
    kind: &'static str,
    /// What the driver learns when it succeeds.
    learn: Learn,
}

/// What a success teaches the driver.
#[derive(Debug, Clone)]
enum Learn {
    Nothing,
    AgentLogin(u32),
    CustomerLogin(&'static str),
    Password(u32, String),
    Super(String),
    Agent(u32),
    Bound(String, u32),
    Unbound(u32),
    CreatedAccount(u64),
    RemovedRole(u32),
}

/// What the driver knows of the two accounts.
struct World {
    h: Harness,
    rng: Rng,
    seed: u64,
    accounts: [u64; 2],
    /// Agents that exist, with their password if they have one.
    agents: BTreeMap<(u64, u32), Option<String>>,
    /// Each account's super password.
    supers: BTreeMap<u64, String>,
    /// Each account's customer-signing key.
    keys: BTreeMap<u64, [u8; 32]>,
    /// The last session token each agent was given.
    sessions: BTreeMap<(u64, u32), [u8; 16]>,
    /// Imported tokens, with the agent they are bound to.
    tokens: BTreeMap<String, Option<(u64, u32)>>,
    next_token: u64,
    /// Accounts the operator created (or tried to).
    created: BTreeSet<u64>,
    next_agent: BTreeMap<u64, u32>,
    agent_conn: BTreeMap<(u64, u32), usize>,
    customer_conn: BTreeMap<(u64, &'static str), usize>,
    conversations: BTreeMap<u64, BTreeSet<u64>>,
    roles: BTreeMap<u64, BTreeSet<u32>>,
    /// Broadcasts the last answer about them showed cancelled: (account, id).
    cancelled: BTreeSet<(u64, u64)>,
    step: usize,
    compared: usize,
    /// Who takes part in each conversation, as the last answer about it told:
    /// (account, conversation) to (serving agent, customer id).
    parties: BTreeMap<(u64, u64), (Option<u32>, String)>,
    /// Per request kind: answered with success, refused with STORAGE_FAILURE.
    outcomes: BTreeMap<&'static str, (usize, usize)>,
    /// Kinds seen writing to the store in a succeeding step of their own.
    wrote: BTreeSet<&'static str>,
    /// Kinds seen succeeding in a step of their own (whether they wrote or not).
    alone_ok: BTreeSet<&'static str>,
}

impl World {
    fn new(seed: u64) -> World {
        let mut h = Harness::new();
        let mut agents = BTreeMap::new();
        let mut keys = BTreeMap::new();
        for account in [ACCOUNT, OTHER] {
            h.create_account_for_a_year(account);
            keys.insert(account, h.customer_key(account));
            agents.insert((account, 1001), Some(PASSWORD.to_string()));
            // Customers left waiting a minute are offered another agent (`Reselect`).
            let settings = RoutingConfig {
                exclusive: false,
                no_response_secs: 60,
                no_response_warn_secs: 0,
                transfer_timeout_secs: 120,
                utc_offset_minutes: 0,
                welcome: vec![],
                busy_reply: None,
                away_reply: None,
            };
            let set = h.on_account(account, &Request::SetRoutingSettings { settings });
            assert_eq!(set, Ok(Response::Ok));
            // Its sub-option of designated agent (§7.15): customers choose, so the
            // driver opens to agent 1001 as often as `Auto` (refused to a first comer).
            let designated = DesignatedSettings {
                mode: DesignatedMode::Agents,
                hide_offline: false,
                no_response: true,
            };
            let set = h.on_account(
                account,
                &Request::SetDesignatedAgent {
                    settings: designated,
                },
            );
            assert_eq!(set, Ok(Response::Ok));
        }
        World {
            h,
            rng: Rng(seed),
            seed,
            accounts: [ACCOUNT, OTHER],
            agents,
            supers: [(ACCOUNT, SUPER.into()), (OTHER, SUPER.into())].into(),
            keys,
            sessions: BTreeMap::new(),
            tokens: BTreeMap::new(),
            next_token: 1,
            created: BTreeSet::new(),
            next_agent: [(ACCOUNT, 1002), (OTHER, 1002)].into(),
            agent_conn: BTreeMap::new(),
            customer_conn: BTreeMap::new(),
            conversations: BTreeMap::new(),
            roles: [(ACCOUNT, (1..=3).collect()), (OTHER, (1..=3).collect())].into(),
            step: 0,
            compared: 0,
            cancelled: BTreeSet::new(),
            outcomes: BTreeMap::new(),
            parties: BTreeMap::new(),
            wrote: BTreeSet::new(),
            alone_ok: BTreeSet::new(),
        }
    }

    fn logged_in_agent(&self, account: u64, agent: u32) -> Option<usize> {
        let conn = *self.agent_conn.get(&(account, agent))?;
        (self.h.conn(conn).phase == Phase::Agent { account, agent }).then_some(conn)
    }

    fn logged_in_customer(&self, account: u64, id: &'static str) -> Option<usize> {
        let conn = *self.customer_conn.get(&(account, id))?;
        matches!(self.h.conn(conn).phase, Phase::Customer { account: a } if a == account)
            .then_some(conn)
    }

    /// Mostly a conversation `who` takes part in (as far as the answers told), else any.
    fn conversation_for(&mut self, account: u64, who: &Party, customer: Option<&str>) -> u64 {
        let mine: Vec<u64> = self
            .parties
            .iter()
            .filter(|((a, _), (agent, c))| {
                *a == account
                    && match who {
                        Party::Agent(n) => *agent == Some(*n),
                        _ => customer.is_some_and(|id| id == c),
                    }
            })
            .map(|((_, conv), _)| *conv)
            .collect();
        match self.rng.chance(80).then(|| self.rng.pick(&mine)).flatten() {
            Some(c) => c,
            None => self.some_conversation(account),
        }
    }

    fn some_conversation(&mut self, account: u64) -> u64 {
        pick_from(&mut self.rng, self.conversations.get(&account)).unwrap_or(1)
    }

    fn some_agent(&mut self, account: u64) -> u32 {
        let all: Vec<u32> = self
            .agents
            .keys()
            .filter(|(a, _)| *a == account)
            .map(|(_, n)| *n)
            .collect();
        self.rng.pick(&all).unwrap_or(1001)
    }

    fn some_customer(&mut self) -> CustomerId {
        let id = self.rng.pick(&CUSTOMERS).unwrap_or("c0");
        CustomerId::Identified(id.into())
    }

    fn some_role(&mut self, account: u64) -> u32 {
        pick_from(&mut self.rng, self.roles.get(&account)).unwrap_or(3)
    }

    /// The token step of the driver's clock.
    fn otp_step(&self) -> u64 {
        u64::try_from(self.h.now_secs()).unwrap_or(0) / 60
    }

    /// A customer login for `id`, signed with the key the driver believes in.
    fn customer_login(&self, account: u64, id: &str) -> Request {
        let key = self.keys.get(&account).copied().unwrap_or([0; 32]);
        let expires_at = self.h.now_secs() + 3600;
        Request::CustomerLogin {
            account,
            customer: id.into(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(&key, account, id, expires_at),
            channel: Channel::Desktop,
        }
    }

    /// One step: a turn of up to three requests; the store refuses the next write with
    /// probability 30 %. Now and then the clock moves a minute first (fresh token
    /// codes), in a turn of its own that nothing refuses.
    fn step(&mut self) {
        self.step += 1;
        if self.rng.chance(15) {
            self.h.clock.advance(60_000);
            self.h.turn(|_| {});
        }
        let refusals = self.h.store.refusals();
        if self.rng.chance(30) {
            self.h.store.fail_next_write();
        }
        // Half the steps send one request: the coverage guard watches those.
        let n = if self.rng.chance(50) {
            1
        } else {
            2 + self.rng.below(2)
        };
        let mut planned = Vec::new();
        for _ in 0..n {
            let account = self.accounts[usize::from(self.rng.chance(50))];
            if let Some(p) = self.plan_request(account) {
                planned.push(p);
            }
        }
        // Half the turns of several requests carry a write of the operator's too, so
        // that a success that wrote nothing itself is still lost when the turn is.
        if planned.len() > 1 && self.rng.chance(50) {
            let account = self.accounts[usize::from(self.rng.chance(50))];
            let request = Request::SetQuickReplies {
                shared: true,
                replies: vec![QuickReply {
                    shortcut: format!("/t{}", self.step),
                    text: "turn".into(),
                }],
            };
            planned.push(Planned {
                conn: self.h.admin,
                account,
                kind: request.name(),
                request: Request::on_account(account, &request),
                learn: Learn::Nothing,
            });
        }
        let alone = planned.len() == 1;
        let writes = self.h.store.writes();
        let sent: Vec<(u32, Planned)> = self
            .h
            .turn(|h| {
                let mut sent = Vec::new();
                for p in planned {
                    // The loop reads nothing more from a paused connection.
                    if h.conn(p.conn).phase != Phase::LoggingIn {
                        sent.push((h.send(p.conn, p.request.clone()), p));
                    }
                }
                sent
            })
            .0;
        for (correlation, p) in sent {
            let answer = self.h.wait_answer(correlation);
            if alone && answer.is_ok() {
                self.alone_ok.insert(p.kind);
                if self.h.store.writes() > writes {
                    self.wrote.insert(p.kind);
                }
            }
            self.check_refused_login(&p, &answer);
            self.learn(&p, &answer);
        }
        self.h.store.disarm();
        if self.h.store.refusals() > refusals {
            let evicted = self.h.store.last_refused_accounts();
            self.compare_with_a_fresh_centre(&evicted, false);
        }
    }

    /// A login the client was refused leaves its connection logged out: a client told
    /// `STORAGE_FAILURE` must not find itself logged in after all.
    fn check_refused_login(&self, p: &Planned, answer: &Answer) {
        let login = matches!(
            p.request,
            Request::Login { .. }
                | Request::Resume { .. }
                | Request::CustomerLogin { .. }
                | Request::VisitorLogin { .. }
        );
        if let (true, Err(e)) = (login, answer) {
            let c = self.h.conn(p.conn);
            assert!(
                matches!(c.phase, Phase::Ready | Phase::Closing) && c.session.is_none(),
                "seed {} step {}: {} answered {:?} left its connection {:?} with session {:?}",
                self.seed,
                self.step,
                p.kind,
                e.code,
                c.phase,
                c.session
            );
        }
    }

    /// Remembers what an answer tells (new conversations, roles, passwords, keys…).
    fn learn(&mut self, p: &Planned, answer: &Answer) {
        let account = p.account;
        let tally = self.outcomes.entry(p.kind).or_default();
        match answer {
            Ok(_) => tally.0 += 1,
            Err(e) if e.code == ErrorCode::STORAGE_FAILURE => tally.1 += 1,
            Err(_) => {}
        }
        if let Ok(Response::Broadcast(b)) = answer {
            if b.state == kefu_wire::valueadded::BroadcastState::Cancelled {
                self.cancelled.insert((account, b.id));
            } else {
                self.cancelled.remove(&(account, b.id));
            }
        }
        let seen = match answer {
            Ok(Response::Conversation(c)) => Some(c.clone()),
            Ok(Response::Accepted { conversation, .. }) => Some(conversation.clone()),
            _ => None,
        };
        if let Some(c) = seen {
            let agent = match c.state {
                ConversationState::Assigned { agent } => Some(agent),
                _ => None,
            };
            let customer = match &c.customer {
                CustomerId::Identified(id) => id.clone(),
                CustomerId::Visitor(_) => String::new(),
            };
            self.parties
                .insert((account, c.conversation), (agent, customer));
            self.conversations
                .entry(account)
                .or_default()
                .insert(c.conversation);
        }
        let Ok(response) = answer else {
            return;
        };
        match (&p.learn, response) {
            (_, Response::Role(r)) => {
                self.roles.entry(account).or_default().insert(r.role);
            }
            (Learn::AgentLogin(agent), Response::LoggedIn(info)) => {
                self.agent_conn.insert((account, *agent), p.conn);
                self.sessions.insert((account, *agent), info.token);
            }
            (Learn::CustomerLogin(id), _) => {
                self.customer_conn.insert((account, id), p.conn);
            }
            (Learn::Password(agent, password), _) => {
                self.agents
                    .insert((account, *agent), Some(password.clone()));
                // A new password revokes the agent's sessions.
                self.sessions.remove(&(account, *agent));
            }
            (Learn::Super(password), _) => {
                self.supers.insert(account, password.clone());
            }
            (Learn::Agent(agent), _) => {
                self.agents.entry((account, *agent)).or_insert(None);
            }
            (Learn::Bound(serial, agent), _) => {
                self.tokens.insert(serial.clone(), Some((account, *agent)));
            }
            (Learn::Unbound(agent), _) => {
                for bound in self.tokens.values_mut() {
                    if *bound == Some((account, *agent)) {
                        *bound = None;
                    }
                }
            }
            (Learn::CreatedAccount(created), _) => {
                self.created.insert(*created);
            }
            (Learn::RemovedRole(role), _) => {
                if let Some(roles) = self.roles.get_mut(&account) {
                    roles.remove(role);
                }
            }
            (_, Response::TokensImported { serials }) => {
                for s in serials {
                    self.tokens.entry(s.clone()).or_insert(None);
                }
            }
            (_, Response::CustomerKey(key)) => {
                self.keys.insert(account, *key);
            }
            _ => {}
        }
    }

    /// A request, or `None` if nobody is there to send it.
    fn plan_request(&mut self, account: u64) -> Option<Planned> {
        match self.rng.below(100) {
            0..=29 => self.plan_customer(account),
            30..=59 => self.plan_agent(account),
            60..=89 => {
                // From an agent logged in, if there is one.
                let online: Vec<(usize, u32)> = self
                    .agent_conn
                    .keys()
                    .filter(|(a, _)| *a == account)
                    .filter_map(|(_, n)| self.logged_in_agent(account, *n).map(|c| (c, *n)))
                    .collect();
                let from = self.rng.pick(&online);
                self.plan_account_request(account, from)
            }
            _ => self.plan_operator(account),
        }
    }

    /// A customer's request (or its login, or a visitor's).
    fn plan_customer(&mut self, account: u64) -> Option<Planned> {
        let id = self.rng.pick(&CUSTOMERS)?;
        let planned = |conn, request: Request, learn| {
            Some(Planned {
                conn,
                account,
                kind: request.name(),
                request,
                learn,
            })
        };
        if self.rng.chance(4) {
            let conn = self.h.connect();
            let request = Request::VisitorLogin {
                account,
                token: None,
                channel: Channel::Web,
            };
            return planned(conn, request, Learn::Nothing);
        }
        let Some(conn) = self.logged_in_customer(account, id) else {
            let conn = self.h.connect();
            let login = self.customer_login(account, id);
            return planned(conn, login, Learn::CustomerLogin(id));
        };
        let conversation = self.conversation_for(account, &Party::Customer, Some(id));
        let request = match self.rng.below(16) {
            14 | 15 => Request::ChooseMenuOption {
                conversation,
                node: u16::from(self.rng.chance(30)),
                option: u8::try_from(self.rng.below(5)).unwrap_or(0),
            },
            0 => Request::OpenConversation { entry: Entry::Auto },
            1 => Request::OpenConversation {
                entry: Entry::Agent(1001),
            },
            2 => Request::CloseConversation { conversation },
            3 | 7 | 11 | 12 => Request::Reselect {
                // The customer's latest conversation, the one likely open.
                conversation: self
                    .parties
                    .iter()
                    .filter(|((a, _), (_, c))| *a == account && c == id)
                    .map(|((_, conv), _)| *conv)
                    .max()
                    .unwrap_or(conversation),
                entry: Entry::Auto,
            },
            4 | 13 => Request::AnswerContactRequest {
                accept: self.rng.chance(60),
            },
            5 => Request::AddAccount {
                answer: if self.rng.chance(80) { ANSWER } else { "red" }.into(),
            },
            _ => Request::SendMessage {
                conversation,
                client_msg_id: 1 + self.rng.below(6),
                body: MessageBody::Text(format!("from {id}")),
            },
        };
        planned(conn, request, Learn::Nothing)
    }

    /// An agent's request, from the agent's connection; or a login of an agent who
    /// is not logged in (now and then of one who is, on another connection).
    fn plan_agent(&mut self, account: u64) -> Option<Planned> {
        let me = self.some_agent(account);
        let logged_in = self.logged_in_agent(account, me);
        let again = self.rng.chance(6);
        let Some(conn) = logged_in.filter(|_| !again) else {
            let password = self.agents.get(&(account, me)).cloned().flatten()?;
            let conn = self.h.connect();
            // Now and then with the session token of an earlier login.
            let request = match self.sessions.get(&(account, me)) {
                Some(token) if self.rng.chance(60) => Request::Resume {
                    account,
                    agent: me,
                    token: *token,
                },
                _ => Request::Login {
                    account,
                    agent: me,
                    password,
                    otp: None,
                },
            };
            return Some(Planned {
                conn,
                account,
                kind: request.name(),
                request,
                learn: Learn::AgentLogin(me),
            });
        };
        let conversation = self.conversation_for(account, &Party::Agent(me), None);
        let other = self.some_agent(account);
        let customer = self.some_customer();
        let mut learn = Learn::Nothing;
        // Transfers and grabs succeed rarely (the conversation must be the right one):
        // they are drawn more often.
        let kind = match self.rng.below(24) {
            17 | 19 | 21 => 5,
            16 | 18 | 20 | 22 | 23 => 6,
            k => k,
        };
        let request = match kind {
            0 => Request::SetAutoAccept {
                cap: u16::try_from(1 + self.rng.below(3)).unwrap_or(1),
            },
            1 => Request::SetPresence {
                presence: self
                    .rng
                    .pick(&[Presence::Online, Presence::Away, Presence::Busy])?,
            },
            2 | 3 => Request::SendMessage {
                conversation,
                client_msg_id: 1 + self.rng.below(60),
                body: MessageBody::Text(format!("from {me}")),
            },
            4 => Request::CloseConversation { conversation },
            5 => {
                // To someone logged in, of a conversation the answers said is mine.
                let online: Vec<u32> = self
                    .agent_conn
                    .keys()
                    .filter(|(a, n)| *a == account && *n != me)
                    .map(|(_, n)| *n)
                    .filter(|n| self.logged_in_agent(account, *n).is_some())
                    .collect();
                let mine: Vec<u64> = self
                    .parties
                    .iter()
                    .filter(|((a, _), (agent, _))| *a == account && *agent == Some(me))
                    .map(|((_, c), _)| *c)
                    .collect();
                Request::TransferConversation {
                    conversation: self.rng.pick(&mine).unwrap_or(conversation),
                    to_agent: self.rng.pick(&online).unwrap_or(other),
                }
            }
            6 => Request::GrabConversation {
                conversation,
                confirmed: true,
            },
            7 | 8 => Request::AcceptConversation { conversation },
            9 => Request::InitiateConversation {
                customer,
                channel: Channel::Desktop,
            },
            10 => {
                let new = self.rng.pick(&PASSWORDS)?;
                let old = self.agents.get(&(account, me)).cloned().flatten()?;
                learn = Learn::Password(me, new.into());
                Request::ChangeOwnPassword {
                    old_password: old,
                    new_password: new.into(),
                }
            }
            11 => {
                let token = self.some_token(account, me)?;
                let now = self.otp_step();
                let k = self.rng.below(8);
                Request::CalibrateToken {
                    serial: token,
                    code: otp_at(now + k),
                    next_code: otp_at(now + k + 1),
                }
            }
            12 => Request::Logout,
            13 => Request::LogoutWith {
                keep_conversations: self.rng.chance(50),
            },
            14 | 15 => {
                // Read state (C15): of a conversation the answers said is mine.
                let mut mine: Vec<u64> = self
                    .parties
                    .iter()
                    .filter(|((a, _), (agent, _))| *a == account && *agent == Some(me))
                    .map(|((_, c), _)| *c)
                    .collect();
                if kind == 14 {
                    Request::MarkRead {
                        conversation: self.rng.pick(&mine).unwrap_or(conversation),
                    }
                } else {
                    mine.reverse();
                    mine.truncate(usize::try_from(self.rng.below(3)).unwrap_or(0));
                    Request::OrderConversations { order: mine }
                }
            }
            _ => Request::SendMessage {
                conversation,
                client_msg_id: 100 + self.rng.below(1000),
                body: MessageBody::Text(format!("more from {me}")),
            },
        };
        Some(Planned {
            conn,
            account,
            kind: request.name(),
            request,
            learn,
        })
    }

    /// A token of the account's (bound to `me` mostly), or an unbound one.
    fn some_token(&mut self, account: u64, me: u32) -> Option<String> {
        let mine: Vec<String> = self
            .tokens
            .iter()
            .filter(|(_, b)| **b == Some((account, me)) || b.is_none())
            .map(|(s, _)| s.clone())
            .collect();
        self.rng.pick(&mine)
    }

    /// A request about the account, from `from` (an agent's connection and who it
    /// is) or else from the operator on the account's behalf (`AdminOnAccount`, as
    /// the super admin: no permission checks).
    fn plan_account_request(
        &mut self,
        account: u64,
        from: Option<(usize, u32)>,
    ) -> Option<Planned> {
        let other = self.some_agent(account);
        let customer = self.some_customer();
        let mut learn = Learn::Nothing;
        // The kinds that succeed less often are drawn more often.
        let kind = match self.rng.below(62) {
            // The menu must be on for customers to walk it (ChooseMenuOption).
            53 | 54 | 58 => 50,
            // The web channel's settings.
            55 => 57,
            56 => 58,
            43 => 59,
            // The CSAT settings.
            57 => 53,
            29 | 30 => 23,
            31 => 18,
            32 | 33 => 25,
            34 => 27,
            35 => 17,
            36 | 37 => 12,
            38..=40 => 15,
            41 => 17,
            42 => 0,
            k => k,
        };
        let request = match kind {
            0 => Request::CreateContact {
                customer,
                state: ContactState::Friend,
                edit: ContactEdit {
                    real_name: Some(format!("name {}", self.rng.below(100))),
                    ..ContactEdit::default()
                },
            },
            1 => Request::UpdateContact {
                customer,
                edit: ContactEdit {
                    remark: Some(format!("remark {}", self.rng.below(100))),
                    ..ContactEdit::default()
                },
            },
            2 => Request::SetContactState {
                customer,
                state: self.rng.pick(&[
                    ContactState::Friend,
                    ContactState::Stranger,
                    ContactState::Blacklisted,
                ])?,
            },
            3 => Request::DeleteContacts {
                customers: vec![customer],
            },
            4 => Request::EditTags(TagEdit::Create {
                name: format!("tag {}", self.rng.below(1000)),
                colour: 0x00ff_0000,
            }),
            5 => Request::EditGroups(if self.rng.chance(30) {
                GroupEdit::CreateCategory {
                    name: format!("category {}", self.rng.below(1000)),
                }
            } else {
                GroupEdit::CreateGroup {
                    name: format!("group {}", self.rng.below(1000)),
                    category: None,
                }
            }),
            6 => {
                let id = self.rng.pick(&CUSTOMERS)?;
                let csv = format!("id,real_name,remark\n{id},imported {id},row\n");
                Request::ImportContacts {
                    chunk: csv.into_bytes(),
                    first: true,
                    last: true,
                }
            }
            7 | 8 => Request::RequestContact {
                customer,
                note: format!("note {}", self.rng.below(100)),
            },
            9 => Request::SetContactSettings {
                settings: ContactSettings {
                    auto_friend_request: self.rng.chance(50),
                    question: if self.rng.chance(50) {
                        "colour?".into()
                    } else {
                        String::new()
                    },
                    answer: ANSWER.into(),
                },
            },
            10 => Request::SetQuickReplies {
                shared: self.rng.chance(50),
                replies: vec![QuickReply {
                    shortcut: format!("/q{}", self.rng.below(10)),
                    text: "稍等".into(),
                }],
            },
            11 => Request::AccountCentreTicket {
                module: AccountCentreModule::AccountInfo,
            },
            12 | 13 => {
                let draft = kefu_wire::valueadded::BroadcastDraft {
                    groups: vec![],
                    customers: vec![customer],
                    body: MessageBody::Text(format!("news {}", self.rng.below(100))),
                    online_only: self.rng.chance(30),
                    block_replies: self.rng.chance(30),
                    send_at: None,
                };
                let id = 1 + self.rng.below(4);
                let cancelled: Vec<u64> = self
                    .cancelled
                    .iter()
                    .filter(|(a, _)| *a == account)
                    .map(|(_, id)| *id)
                    .collect();
                match self.rng.below(7) {
                    0 | 1 | 6 => Request::CancelBroadcast { id, otp: None },
                    2 | 4 | 5 if !cancelled.is_empty() => Request::ResubmitBroadcast {
                        // Mostly one the driver saw cancelled.
                        id: self.rng.pick(&cancelled).unwrap_or(id),
                        draft,
                        otp: None,
                    },
                    3 => Request::PreviewBroadcast { draft, otp: None },
                    _ => Request::SubmitBroadcast { draft, otp: None },
                }
            }
            14 => Request::SetAccountPresenceMode {
                mode: self.rng.pick(&[
                    AccountPresenceMode::AlwaysOnline,
                    AccountPresenceMode::FromAgents,
                ])?,
            },
            15 => Request::CreateRole {
                name: format!("role {}", self.rng.below(1000)),
                permissions: u16::try_from(self.rng.below(1 << 16)).unwrap_or(0),
            },
            16 => Request::UpdateRole {
                role: self.some_role(account),
                name: format!("renamed {}", self.rng.below(1000)),
                permissions: u16::try_from(self.rng.below(1 << 16)).unwrap_or(0),
            },
            17 => {
                // Mostly one the driver created (the defaults may be held).
                let created: Vec<u32> = self
                    .roles
                    .get(&account)
                    .map(|r| r.iter().copied().filter(|r| *r > 3).collect())
                    .unwrap_or_default();
                let role = match self.rng.pick(&created) {
                    Some(r) if self.rng.chance(80) => r,
                    _ => self.some_role(account),
                };
                learn = Learn::RemovedRole(role);
                Request::DeleteRole { role }
            }
            18 => Request::SetAgentRole {
                // 1001 keeps the super admin's role.
                agent: {
                    let others: Vec<u32> = self
                        .agents
                        .keys()
                        .filter(|(a, n)| *a == account && *n != 1001)
                        .map(|(_, n)| *n)
                        .collect();
                    self.rng.pick(&others).unwrap_or(other)
                },
                role: self.some_role(account),
            },
            19 => {
                let agent = self.next_agent.get(&account).copied().unwrap_or(1002);
                self.next_agent.insert(account, agent + 1);
                learn = Learn::Agent(agent);
                Request::AddAgent {
                    agent,
                    nickname: format!("agent {agent}"),
                    role: None,
                }
            }
            20 => {
                let new = self.rng.pick(&PASSWORDS)?;
                let super_password = self.supers.get(&account).cloned()?;
                learn = Learn::Password(other, new.into());
                Request::SetAgentPassword {
                    agent: other,
                    new_password: new.into(),
                    super_password,
                }
            }
            21 => {
                let new = self.rng.pick(&SUPERS)?;
                let old = self.supers.get(&account).cloned()?;
                learn = Learn::Super(new.into());
                Request::ChangeSuperPassword {
                    old_super_password: old,
                    new_super_password: new.into(),
                }
            }
            22 => Request::SetRoutingSettings {
                settings: RoutingConfig {
                    exclusive: false,
                    // Customers waiting a minute are offered reselection.
                    no_response_secs: if self.rng.chance(80) { 60 } else { 0 },
                    no_response_warn_secs: 0,
                    transfer_timeout_secs: 120,
                    utc_offset_minutes: 0,
                    welcome: vec![],
                    busy_reply: self
                        .rng
                        .chance(50)
                        .then(|| format!("busy {}", self.rng.below(10))),
                    away_reply: None,
                },
            },
            23 => Request::SetAgentProfile {
                agent: other,
                profile: AgentProfile {
                    nickname: format!("nick {other}"),
                    group: self.rng.pick(&["", "sales", "support"])?.into(),
                    display: DisplayMode::Nickname,
                    phone: String::new(),
                },
            },
            24 => Request::SetSecurityLevel {
                // Never high: logins would need token codes the driver does not send.
                // Mostly low: at medium a broadcast needs a token code.
                level: if self.rng.chance(70) {
                    SecurityLevel::Low
                } else {
                    SecurityLevel::Medium
                },
            },
            25 | 26 => {
                // Mostly to 1001, whose binding `GetSecurity` shows on its behalf.
                let agent = if self.rng.chance(60) { 1001 } else { other };
                let unbound: Vec<String> = self
                    .tokens
                    .iter()
                    .filter(|(_, b)| b.is_none())
                    .map(|(s, _)| s.clone())
                    .collect();
                let serial = self.rng.pick(&unbound)?;
                learn = Learn::Bound(serial.clone(), agent);
                Request::BindToken {
                    agent,
                    serial,
                    code: otp_at(self.otp_step()),
                }
            }
            27 => {
                // Mostly one who holds a token.
                let holders: Vec<u32> = self
                    .tokens
                    .values()
                    .filter_map(|b| b.filter(|(a, _)| *a == account).map(|(_, n)| n))
                    .collect();
                let agent = match self.rng.pick(&holders) {
                    Some(n) if self.rng.chance(80) => n,
                    _ => other,
                };
                learn = Learn::Unbound(agent);
                Request::UnbindToken { agent }
            }
            28 => {
                let me = from.map_or(1001, |(_, me)| me);
                let token = self.some_token(account, me)?;
                let now = self.otp_step();
                let k = self.rng.below(8);
                Request::CalibrateToken {
                    serial: token,
                    code: otp_at(now + k),
                    next_code: otp_at(now + k + 1),
                }
            }
            44 => Request::SetDesignatedAgent {
                settings: DesignatedSettings {
                    mode: if self.rng.chance(70) {
                        DesignatedMode::Agents
                    } else {
                        self.rng
                            .pick(&[DesignatedMode::Off, DesignatedMode::Groups])?
                    },
                    hide_offline: self.rng.chance(50),
                    no_response: self.rng.chance(80),
                },
            },
            45 => Request::SetAgentPrefs {
                prefs: kefu_wire::prefs::AgentPrefs {
                    personal_auto_reply: if self.rng.chance(50) {
                        format!("back soon {}", self.rng.below(10))
                    } else {
                        String::new()
                    },
                    notify_own_additions: self.rng.chance(50),
                    notify_customer_added: self.rng.chance(50),
                },
            },
            46 => Request::SetReminderSettings {
                settings: kefu_wire::prefs::ReminderSettings {
                    near_limit_percent: u8::try_from(50 + self.rng.below(50)).unwrap_or(90),
                },
            },
            47 => Request::RequestContactFiled {
                customer,
                note: format!("note {}", self.rng.below(100)),
                edit: ContactEdit {
                    nickname: Some(format!("nick {}", self.rng.below(100))),
                    ..ContactEdit::default()
                },
            },
            48 => Request::SetIdleSettings {
                settings: kefu_wire::automation::IdleSettings {
                    remind: self.rng.chance(70),
                    minutes: u16::try_from(1 + self.rng.below(30)).unwrap_or(5),
                    auto_reply: self.rng.chance(50),
                    text: format!("still there {}?", self.rng.below(10)),
                },
            },
            49 => Request::SendInternal {
                to: other,
                client_msg_id: self.rng.below(5),
                text: format!("internal {}", self.rng.below(100)),
            },
            50 => Request::SetNavigationMenu {
                menu: navigation_menu(self.rng.chance(60), self.rng.below(3)),
            },
            51 => Request::SetSpamFilter {
                level: match self.rng.below(4) {
                    0 => kefu_wire::spam::SpamLevel::Off,
                    1 => kefu_wire::spam::SpamLevel::Low,
                    2 => kefu_wire::spam::SpamLevel::Medium,
                    _ => kefu_wire::spam::SpamLevel::High,
                },
            },
            52 => Request::MuteCustomer {
                customer,
                muted: self.rng.chance(60),
            },
            57 => Request::CreateEntryCode {
                draft: kefu_wire::web::EntryCodeDraft {
                    description: format!("code {}", self.rng.below(100)),
                    kind: kefu_wire::web::CodeKind::Floating,
                    routing: kefu_wire::chat::Entry::Auto,
                    site_url: "https://shop.example.com/".into(),
                    style: String::new(),
                    anonymous: self.rng.chance(50),
                },
            },
            58 => Request::SetAutoInvite {
                settings: kefu_wire::web::AutoInviteSettings {
                    enabled: self.rng.chance(50),
                    after_secs: u32::try_from(1 + self.rng.below(60)).unwrap_or(30),
                    text: format!("invite {}", self.rng.below(10)),
                },
            },
            60 => Request::SubmitEnterpriseProfile {
                profile: kefu_wire::profile::EnterpriseProfile {
                    full_name: if account >= CREATED_BASE {
                        format!("Created {account}")
                    } else {
                        format!("Enterprise {account}")
                    },
                    short_name: format!("short {}", self.rng.below(100)),
                    ..Default::default()
                },
            },
            61 => Request::SubmitChatWindowStyle {
                style: kefu_wire::profile::ChatWindowStyle {
                    title: format!("title {}", self.rng.below(100)),
                    theme: "green".into(),
                    ..Default::default()
                },
            },
            59 => Request::SetAllowedOrigins {
                origins: vec![format!("https://shop{}.example.com", self.rng.below(10))],
            },
            53 => Request::SetCsatSettings(kefu_wire::csat::CsatSettings {
                enabled: self.rng.chance(50),
                style: kefu_wire::csat::CsatStyle::Stars,
                reasons_enabled: true,
                reasons: vec![format!("reason {}", self.rng.below(100))],
                subscribers: if self.rng.chance(50) {
                    vec!["boss@example.com".into()]
                } else {
                    Vec::new()
                },
            }),
            _ => Request::EditGroups(GroupEdit::CreateGroup {
                name: format!("group {}", self.rng.below(1000)),
                category: None,
            }),
        };
        let kind = request.name();
        let (conn, request) = match from {
            Some((conn, _)) if self.rng.chance(50) => (conn, request),
            _ => (self.h.admin, Request::on_account(account, &request)),
        };
        Some(Planned {
            conn,
            account,
            request,
            kind,
            learn,
        })
    }

    /// The operator's request, on the admin socket.
    fn plan_operator(&mut self, account: u64) -> Option<Planned> {
        let mut learn = Learn::Nothing;
        let request = match self.rng.below(17) {
            0 | 1 => {
                let agent = self.next_agent.get(&account).copied().unwrap_or(1002);
                self.next_agent.insert(account, agent + 1);
                learn = Learn::Agent(agent);
                Request::AdminAddAgent {
                    account,
                    agent,
                    nickname: format!("agent {agent}"),
                    role: None,
                }
            }
            2 | 3 => {
                let agent = self.some_agent(account);
                let new = self.rng.pick(&PASSWORDS)?;
                learn = Learn::Password(agent, new.into());
                Request::AdminSetAgentPassword {
                    account,
                    agent,
                    new_password: new.into(),
                }
            }
            4 => {
                let created = CREATED_BASE + self.rng.below(6);
                learn = Learn::CreatedAccount(created);
                Request::AdminCreateAccount {
                    account: created,
                    name: format!("Created {created}"),
                    plan: Plan::Gold,
                    expires_at: self.h.now_secs() + 86_400,
                    password_1001: PASSWORD.into(),
                    super_password: SUPER.into(),
                }
            }
            5 | 6 => {
                let serial = format!("KT-{}-{}", self.seed, self.next_token);
                self.next_token += 1;
                Request::AdminImportTokens {
                    format: TokenFileFormat::Csv,
                    data: format!("serial,secret\n{serial},{SEED}\n").into_bytes(),
                    key_hex: None,
                    password: None,
                }
            }
            7 | 12 | 13 => {
                // Mostly a bound one: its account's shard unlocks it in this turn.
                let bound: Vec<String> = self
                    .tokens
                    .iter()
                    .filter(|(_, b)| b.is_some())
                    .map(|(s, _)| s.clone())
                    .collect();
                let all: Vec<String> = self.tokens.keys().cloned().collect();
                let serial = match self.rng.pick(&bound) {
                    Some(s) if self.rng.chance(80) => s,
                    _ => self.rng.pick(&all)?,
                };
                Request::AdminUnlockToken { serial }
            }
            8 => Request::AdminUnlockAgent {
                account,
                agent: self.some_agent(account),
            },
            9 => Request::AdminRotateCustomerKey { account },
            14 => Request::AdminSmsTopUp {
                account,
                units: u32::try_from(1 + self.rng.below(100)).unwrap_or(1),
            },
            15 => Request::AdminBalanceTopUp {
                account,
                units: 1 + self.rng.below(1_000),
            },
            16 => Request::AdminReviewProfile {
                account,
                kind: if self.rng.chance(50) {
                    kefu_wire::profile::ReviewKind::Profile
                } else {
                    kefu_wire::profile::ReviewKind::Style
                },
                approve: self.rng.chance(60),
                reason: "资料不符".into(),
            },
            10 => Request::AdminBroadcastDecide {
                account,
                id: 1 + self.rng.below(4),
                approve: self.rng.chance(70),
                reason: "虚假信息".into(),
            },
            _ => return self.plan_account_request(account, None),
        };
        Some(Planned {
            conn: self.h.admin,
            account,
            kind: request.name(),
            request,
            learn,
        })
    }

    /// The reads whose answers must agree between this centre and a fresh one.
    fn reads(&self, account: u64, routing_views: bool) -> Vec<Request> {
        let mut reads = vec![
            Request::ListAgents,
            Request::ListRoles,
            Request::GetRoutingSettings,
            Request::GetDesignatedAgent,
            Request::ListQuickReplies,
            Request::SearchContacts(ContactQuery::everything(100)),
            Request::ExportContacts {
                after: 0,
                limit: 1000,
            },
            Request::ListTags,
            Request::ListGroups,
            Request::GetContactSettings,
            Request::GetAgentPrefs,
            Request::GetReminderSettings,
            Request::GetIdleSettings,
            Request::GetNavigationMenu,
            Request::GetSpamFilter,
            Request::ListEntryCodes,
            Request::GetAutoInvite,
            Request::GetAllowedOrigins,
            Request::GetEnterpriseProfile,
            Request::GetChatWindowStyle,
            Request::GetCsatSettings,
            Request::ListMuted,
            Request::ListTrash,
            Request::InternalHistory {
                with: 1002,
                before: 0,
                limit: 100,
            },
            Request::GetSecurity,
            Request::GetAccountPresence,
            Request::ListBroadcasts { otp: None },
            Request::GetBalance { otp: None },
        ];
        // The ticket key, once stored (a ticket asked for before would make one, on
        // each side its own).
        let key = self.h.store.get(Cf::TicketKeys, &keys::ticket_key(account));
        if key.ok().flatten().is_some() {
            reads.push(Request::AccountCentreTicket {
                module: AccountCentreModule::AccountInfo,
            });
        }
        if routing_views {
            reads.extend([
                Request::ListQueue,
                Request::ListConversations,
                Request::RecentContacts {
                    offset: 0,
                    limit: 100,
                },
            ]);
        }
        for (_, agent) in self.agents.keys().filter(|(a, _)| *a == account) {
            reads.push(Request::GetAgentProfile { agent: *agent });
        }
        for id in CUSTOMERS {
            let customer = CustomerId::Identified(id.into());
            reads.push(Request::GetContact {
                customer: customer.clone(),
            });
            reads.push(Request::History(HistoryQuery {
                customer,
                all_time: true,
                agent: None,
                kind: HistoryKind::All,
                keyword: String::new(),
                before: None,
                limit: 200,
            }));
        }
        for conversation in self.conversations.get(&account).into_iter().flatten() {
            reads.push(Request::ConversationMessages {
                conversation: *conversation,
                after: 0,
                limit: 500,
            });
        }
        reads
    }

    /// (c): after a refused commit, what the centre shows equals what a fresh centre
    /// over (a copy of) the same store shows, for both accounts. The queue and the
    /// conversations served are compared for the accounts the refused batch wrote to
    /// (`evicted`): they must have been reloaded from the store. An account left in
    /// memory may differ there, by state the store does not hold: a transfer offered
    /// to a busy agent is restored as still served by its sender, and an agent's
    /// recently-contacted list is rebuilt from each conversation's last agent only
    /// (an agent that transferred a conversation away loses its customer from it).
    ///
    /// Then the credentials, which no read shows: a password login of an agent, a
    /// resumption with its last session token, and a customer login signed with the
    /// key the driver believes in, each on a new connection to both centres, must get
    /// the same verdict (one agent per account, every agent when `all`). They are real
    /// traffic on this centre (the driver keeps the connections). Last, now and then
    /// and when `all`, a bound token's state and the super password, by operations
    /// whose writes both stores refuse.
    fn compare_with_a_fresh_centre(&mut self, evicted: &[u64], all: bool) {
        self.compared += 1;
        let mut fresh = self.h.reopened();
        let admin = self.h.admin;
        let fresh_admin = fresh.admin;
        let mut operator: Vec<Request> = self
            .created
            .iter()
            .map(|&account| Request::AdminShowAccount { account })
            .collect();
        operator.push(Request::AdminProfileReviewQueue {
            after: None,
            limit: 20,
        });
        for account in self.accounts {
            operator.push(Request::AdminShowAccount { account });
            operator.push(Request::AdminListAgents { account });
            operator.push(Request::AdminSmsBalance { account });
            operator.push(Request::AdminBalanceShow { account });
            operator.push(Request::AdminBroadcastReviewList { account });
            // The ledger adds up to the balance after every refused commit.
            if let Err(e) = check_ledger(self.h.store.as_ref(), account) {
                panic!(
                    "seed {} step {}: ledger of {account}: {e:?}",
                    self.seed, self.step
                );
            }
        }
        for request in operator {
            let name = request.name();
            let here = normalise(self.h.call(admin, request.clone()));
            let there = normalise(fresh.call(fresh_admin, request));
            assert_eq!(
                here, there,
                "seed {} step {}: {name} differs from a fresh centre",
                self.seed, self.step
            );
        }
        for account in self.accounts {
            for request in self.reads(account, evicted.contains(&account)) {
                let name = request.name();
                let here = normalise(self.h.on_account(account, &request));
                let there = normalise(fresh.on_account(account, &request));
                assert_eq!(
                    here, there,
                    "seed {} step {}: {name} of {account} differs from a fresh centre",
                    self.seed, self.step
                );
            }
        }
        for account in self.accounts {
            let mut agents: Vec<(u32, String)> = self
                .agents
                .iter()
                .filter(|((a, _), _)| *a == account)
                .filter_map(|((_, n), p)| p.clone().map(|p| (*n, p)))
                .collect();
            if !all {
                agents = self.rng.pick(&agents).into_iter().collect();
            }
            let mut probes = Vec::new();
            for (agent, password) in agents {
                if let Some(token) = self.sessions.get(&(account, agent)) {
                    let resume = Request::Resume {
                        account,
                        agent,
                        token: *token,
                    };
                    probes.push((resume, Learn::AgentLogin(agent)));
                }
                let login = Request::Login {
                    account,
                    agent,
                    password,
                    otp: None,
                };
                probes.push((login, Learn::AgentLogin(agent)));
            }
            let id = self.rng.pick(&CUSTOMERS).unwrap_or("c0");
            probes.push((self.customer_login(account, id), Learn::CustomerLogin(id)));
            for (request, learn) in probes {
                let name = request.name();
                let conn = self.h.connect();
                let here = self.h.call(conn, request.clone());
                let fresh_conn = fresh.connect();
                let there = fresh.call(fresh_conn, request.clone());
                assert_eq!(
                    verdict(&here),
                    verdict(&there),
                    "seed {} step {}: {name} of {account} differs from a fresh centre: {here:?} / {there:?}",
                    self.seed,
                    self.step
                );
                let p = Planned {
                    conn,
                    account,
                    kind: name,
                    request,
                    learn,
                };
                self.learn(&p, &here);
            }
            // State no read shows, checked by an operation whose write both stores
            // refuse (accepted: STORAGE_FAILURE), now and then (the refused write
            // evicts the account here) and when `all`: a bound token's state (drift,
            // codes used, lockout) by a calibration, or the super password by a
            // change of it to itself.
            let probes = if all {
                vec![0, 1]
            } else if self.rng.chance(30) {
                vec![self.rng.below(2)]
            } else {
                vec![]
            };
            for probe in probes {
                let request = if probe == 0 {
                    let bound: Vec<String> = self
                        .tokens
                        .iter()
                        .filter(|(_, b)| b.is_some_and(|(a, _)| a == account))
                        .map(|(s, _)| s.clone())
                        .collect();
                    let Some(serial) = self.rng.pick(&bound) else {
                        continue;
                    };
                    let k = self.otp_step() + self.rng.below(8);
                    Request::CalibrateToken {
                        serial,
                        code: otp_at(k),
                        next_code: otp_at(k + 1),
                    }
                } else {
                    let old = self.supers.get(&account).cloned().unwrap_or_default();
                    Request::ChangeSuperPassword {
                        old_super_password: old.clone(),
                        new_super_password: old,
                    }
                };
                let name = request.name();
                self.h.store.fail_next_write();
                fresh.store.fail_next_write();
                let here = self.h.on_account(account, &request);
                let there = fresh.on_account(account, &request);
                self.h.store.disarm();
                fresh.store.disarm();
                assert_eq!(
                    verdict(&here),
                    verdict(&there),
                    "seed {} step {}: {name} (its write refused) of {account} differs from a fresh centre",
                    self.seed,
                    self.step
                );
            }
        }
    }
}

/// Whether a credential was accepted, or the code it was refused with.
fn verdict(answer: &Answer) -> Result<(), ErrorCode> {
    answer.as_ref().map(|_| ()).map_err(|e| e.code)
}

/// Drops what the store does not hold by design: who is connected right now, and
/// unread counts (an open conversation is restored with `unread: 0`, `load_chat`).
fn normalise(answer: Answer) -> Answer {
    match answer {
        Ok(Response::Agents(mut list)) => {
            for a in &mut list {
                a.presence = Presence::Offline;
            }
            Ok(Response::Agents(list))
        }
        Ok(Response::Conversations(mut list)) => {
            for c in &mut list {
                c.unread = 0;
            }
            Ok(Response::Conversations(list))
        }
        // The presence customers see comes from the agents online; the mode is stored.
        Ok(Response::AccountPresence { mode, .. }) => Ok(Response::AccountPresence {
            presence: Presence::Offline,
            mode,
        }),
        other => other,
    }
}

/// A customer's login in a turn whose commit is refused is undone like an agent's: the
/// answer is STORAGE_FAILURE and the connection is not logged in (the property test
/// below found it left logged in).
#[test]
fn a_customer_login_in_a_refused_turn_leaves_the_connection_logged_out() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let conn = h.connect();
    let login = h.customer_login_request(ACCOUNT, "c0");
    let admin = h.admin;
    let write = Request::on_account(
        ACCOUNT,
        &Request::SetQuickReplies {
            shared: true,
            replies: vec![],
        },
    );
    h.store.fail_next_write();
    let (logged, set) = h.turn(|h| (h.send(conn, login), h.send(admin, write))).0;
    assert!(h.turns.last().is_some_and(|t| t.refused));
    for correlation in [logged, set] {
        assert_eq!(
            h.take_answer(correlation).map(|a| a.map_err(|e| e.code)),
            Some(Err(ErrorCode::STORAGE_FAILURE))
        );
    }
    assert_eq!(h.conn(conn).phase, Phase::Ready);
    assert_eq!(h.conn(conn).session, None);
    assert_eq!(
        h.refused(conn, Request::OpenConversation { entry: Entry::Auto }),
        ErrorCode::NOT_LOGGED_IN
    );
}

/// `Centre::commit`'s promise under random traffic and random refused writes (two
/// accounts, eight seeds, [`STEPS`] steps each), over every kind in [`WRITES`]: no
/// success and no push of a refused account leaves a refused turn (checked by the
/// harness on every turn), and after every refused commit the centre shows what a
/// fresh centre over the same store shows. Every kind in [`WRITES`] both succeeded and
/// was lost somewhere, and no kind outside it wrote.
#[test]
fn refused_writes_leave_the_centre_equal_to_a_fresh_one() {
    let mut refused = 0;
    let mut compared = 0;
    let mut outcomes: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    let mut wrote: BTreeSet<&'static str> = BTreeSet::new();
    let mut alone_ok: BTreeSet<&'static str> = BTreeSet::new();
    // Enough sequences that every kind of write is seen both succeeding and lost.
    for seed in 1..=24u64 {
        let mut world = World::new(seed);
        for _ in 0..STEPS {
            world.step();
        }
        world.compare_with_a_fresh_centre(&[], true);
        refused += world.h.store.refusals();
        compared += world.compared;
        for (name, (ok, lost)) in world.outcomes {
            let t = outcomes.entry(name).or_insert((0, 0));
            t.0 += ok;
            t.1 += lost;
        }
        wrote.extend(world.wrote);
        alone_ok.extend(world.alone_ok);
    }
    // The guard: a kind that wrote on its own and succeeded is in the list.
    let listed: BTreeSet<&str> = WRITES.iter().copied().collect();
    let allowed: BTreeSet<&str> = listed.iter().chain(WRITES_FIRST_TIME).copied().collect();
    let unlisted: Vec<&&str> = wrote.difference(&allowed).collect();
    assert!(
        unlisted.is_empty(),
        "these kinds wrote to the store and are not in WRITES: {unlisted:?}"
    );
    // …and a kind in the list did write (unless it writes only now and then).
    let silent: Vec<&&str> = listed
        .difference(&wrote)
        .filter(|k| !WRITES_SOMETIMES.contains(k))
        .collect();
    assert!(
        silent.is_empty(),
        "these kinds in WRITES were never seen writing in a step of their own: {silent:?}"
    );
    // The kinds that never write were watched succeeding on their own.
    for kind in NEVER_WRITES {
        assert!(
            alone_ok.contains(kind) && !wrote.contains(kind),
            "{kind}: not seen succeeding without a write in a step of its own"
        );
    }
    for kind in WRITES_FIRST_TIME {
        assert!(
            alone_ok.contains(kind),
            "{kind}: not seen succeeding in a step of its own"
        );
    }
    // Each kind of write both succeeded and was lost to a refused commit somewhere.
    let missing: Vec<String> = WRITES
        .iter()
        .filter_map(|kind| {
            let (ok, lost) = outcomes.get(kind).copied().unwrap_or_default();
            (ok == 0 || lost == 0).then(|| format!("{kind}: {ok} succeeded, {lost} lost"))
        })
        .collect();
    assert!(missing.is_empty(), "not seen both ways: {missing:#?}");
    // The sequences really did refuse writes and compare after them.
    assert!(refused >= 40, "only {refused} refused writes");
    assert!(compared >= 40, "only {compared} comparisons");
}

/// One of `set`'s members, if there is a set with any.
fn pick_from<T: Copy>(rng: &mut Rng, set: Option<&BTreeSet<T>>) -> Option<T> {
    let all: Vec<T> = set.into_iter().flatten().copied().collect();
    rng.pick(&all)
}
