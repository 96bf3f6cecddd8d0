//! The failing-store property test: seeded random request sequences over two
//! accounts, every request kind that writes to the store among them, while the store
//! refuses random writes. After every refused commit the centre must have kept its
//! promise (`Centre::commit`: no success answered and no push of a refused account
//! released, checked by the harness on every turn) and must show what a fresh centre
//! over the same store shows.

mod centre_support;

use centre_support::*;
use kefu_daemon::session::Phase;
use kefu_wire::chat::{ConversationState, CustomerId, Entry, MessageBody, Party, RoutingConfig};
use kefu_wire::crm::{ContactEdit, ContactQuery, ContactSort, ContactState, TagEdit};
use kefu_wire::{
    AgentProfile, DisplayMode, ErrorCode, Presence, QuickReply, Request, Response,
};
use std::collections::{BTreeMap, BTreeSet};

const ACCOUNT: u64 = 870_001;
const OTHER: u64 = 870_002;

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
const STEPS: usize = 150;

/// What the driver knows of the two accounts.
struct World {
    h: Harness,
    rng: Rng,
    seed: u64,
    accounts: [u64; 2],
    /// Agents that exist, with whether they have a password.
    agents: BTreeMap<(u64, u32), bool>,
    next_agent: BTreeMap<u64, u32>,
    agent_conn: BTreeMap<(u64, u32), usize>,
    customer_conn: BTreeMap<(u64, &'static str), usize>,
    conversations: BTreeMap<u64, BTreeSet<u64>>,
    roles: BTreeMap<u64, BTreeSet<u32>>,
    step: usize,
    compared: usize,
    /// Who takes part in each conversation, as the last answer about it told:
    /// (account, conversation) to (serving agent, customer id).
    parties: BTreeMap<(u64, u64), (Option<u32>, String)>,
    /// Per request kind: answered with success, refused with STORAGE_FAILURE.
    outcomes: BTreeMap<&'static str, (usize, usize)>,
}

impl World {
    fn new(seed: u64) -> World {
        let mut h = Harness::new();
        let mut agents = BTreeMap::new();
        for account in [ACCOUNT, OTHER] {
            h.create_account_for_a_year(account);
            h.customer_key(account);
            agents.insert((account, 1001), true);
        }
        World {
            h,
            rng: Rng(seed),
            seed,
            accounts: [ACCOUNT, OTHER],
            agents,
            next_agent: [(ACCOUNT, 1002), (OTHER, 1002)].into(),
            agent_conn: BTreeMap::new(),
            customer_conn: BTreeMap::new(),
            conversations: BTreeMap::new(),
            roles: [(ACCOUNT, (1..=3).collect()), (OTHER, (1..=3).collect())].into(),
            step: 0,
            compared: 0,
            outcomes: BTreeMap::new(),
            parties: BTreeMap::new(),
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
        let known: Vec<u64> = self
            .conversations
            .get(&account)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        self.rng.pick(&known).unwrap_or(1)
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

    /// One step: a turn of up to three requests, or a slow (password) operation; the
    /// store refuses the next write with probability 30 %.
    fn step(&mut self) {
        self.step += 1;
        let refusals = self.h.store.refusals();
        if self.rng.chance(30) {
            self.h.store.fail_next_write();
        }
        if self.rng.chance(20) {
            self.slow_operation();
        } else {
            let n = 1 + self.rng.below(3);
            let mut planned = Vec::new();
            for _ in 0..n {
                let account = self.accounts[usize::from(self.rng.chance(50))];
                if let Some(p) = self.plan_request(account) {
                    planned.push(p);
                }
            }
            let sent: Vec<(u32, u64, Request)> = self
                .h
                .turn(|h| {
                    let mut sent = Vec::new();
                    for (conn, account, r) in planned {
                        // The loop reads nothing more from a paused connection.
                        if h.conn(conn).phase != Phase::LoggingIn {
                            sent.push((h.send(conn, r.clone()), account, r));
                        }
                    }
                    sent
                })
                .0;
            for (correlation, account, request) in sent {
                let answer = self.h.wait_answer(correlation);
                self.learn(account, &request, &answer);
            }
        }
        self.h.store.disarm();
        if self.h.store.refusals() > refusals {
            let evicted = self.h.store.last_refused_accounts();
            self.compare_with_a_fresh_centre(&evicted);
        }
    }

    /// Remembers what an answer tells (new conversations, roles).
    fn learn(&mut self, account: u64, request: &Request, answer: &kefu_daemon::centre::Answer) {
        let tally = self.outcomes.entry(request.name()).or_default();
        match answer {
            Ok(_) => tally.0 += 1,
            Err(e) if e.code == ErrorCode::STORAGE_FAILURE => tally.1 += 1,
            Err(_) => {}
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
        }
        match answer {
            Ok(Response::Conversation(c)) => {
                self.conversations
                    .entry(account)
                    .or_default()
                    .insert(c.conversation);
            }
            Ok(Response::Role(r)) => {
                self.roles.entry(account).or_default().insert(r.role);
            }
            Ok(Response::Ok) => {
                if let Request::AddAgent { agent, .. } = request {
                    self.agents.insert((account, *agent), false);
                }
            }
            _ => {}
        }
    }

    /// A request of one of the account's people, or `None` if nobody is there to send it.
    fn plan_request(&mut self, account: u64) -> Option<(usize, u64, Request)> {
        if self.rng.chance(40) {
            let id = self.rng.pick(&CUSTOMERS)?;
            let Some(conn) = self.logged_in_customer(account, id) else {
                let conn = self.h.connect();
                self.customer_conn.insert((account, id), conn);
                let login = self.h.customer_login_request(account, id);
                return Some((conn, account, login));
            };
            let conversation = self.conversation_for(account, &Party::Customer, Some(id));
            let request = match self.rng.below(4) {
                0 => Request::OpenConversation { entry: Entry::Auto },
                1 => Request::CloseConversation { conversation },
                _ => Request::SendMessage {
                    conversation,
                    client_msg_id: 1 + self.rng.below(6),
                    body: MessageBody::Text(format!("from {id}")),
                },
            };
            return Some((conn, account, request));
        }
        let me = self.some_agent(account);
        let conn = self.logged_in_agent(account, me)?;
        let conversation = self.conversation_for(account, &Party::Agent(me), None);
        let other = self.some_agent(account);
        let customer = CustomerId::Identified(self.rng.pick(&CUSTOMERS)?.into());
        let kind = match self.rng.below(19) {
            // Logging out is rarer than the rest; accepting more common.
            16 if self.rng.chance(75) => 0,
            kind => kind,
        };
        let request = match kind {
            0 | 18 => Request::SetAutoAccept {
                cap: u16::try_from(1 + self.rng.below(3)).unwrap_or(1),
            },
            1 => Request::SetPresence {
                presence: self
                    .rng
                    .pick(&[Presence::Online, Presence::Away, Presence::Busy])?,
            },
            2 => Request::SendMessage {
                conversation,
                client_msg_id: 1 + self.rng.below(6),
                body: MessageBody::Text(format!("from {me}")),
            },
            3 => Request::CloseConversation { conversation },
            4 => Request::TransferConversation {
                conversation,
                to_agent: other,
            },
            5 => Request::GrabConversation {
                conversation,
                confirmed: true,
            },
            6 => Request::AcceptConversation { conversation },
            7 => Request::CreateContact {
                customer,
                state: ContactState::Friend,
                edit: ContactEdit {
                    real_name: Some(format!("name {}", self.rng.below(100))),
                    ..ContactEdit::default()
                },
            },
            8 => Request::UpdateContact {
                customer,
                edit: ContactEdit {
                    remark: Some(format!("remark {}", self.rng.below(100))),
                    ..ContactEdit::default()
                },
            },
            9 => Request::SetQuickReplies {
                shared: self.rng.chance(50),
                replies: vec![QuickReply {
                    shortcut: format!("/q{}", self.rng.below(10)),
                    text: "稍等".into(),
                }],
            },
            10 => Request::CreateRole {
                name: format!("role {}", self.rng.below(1000)),
                permissions: u16::try_from(self.rng.below(1 << 16)).unwrap_or(0),
            },
            11 => {
                let roles: Vec<u32> = self
                    .roles
                    .get(&account)
                    .map(|r| r.iter().copied().collect())
                    .unwrap_or_default();
                Request::SetAgentRole {
                    agent: other,
                    role: self.rng.pick(&roles).unwrap_or(3),
                }
            }
            12 => {
                let agent = self.next_agent.get(&account).copied().unwrap_or(1002);
                self.next_agent.insert(account, agent + 1);
                Request::AddAgent {
                    agent,
                    nickname: format!("agent {agent}"),
                    role: None,
                }
            }
            13 => Request::SetRoutingSettings {
                settings: RoutingConfig {
                    exclusive: false,
                    no_response_secs: 0,
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
            14 => Request::EditTags(TagEdit::Create {
                name: format!("tag {}", self.rng.below(1000)),
                colour: 0x00ff_0000,
            }),
            15 => Request::SetAgentProfile {
                agent: me,
                profile: AgentProfile {
                    nickname: format!("nick {me}"),
                    group: self.rng.pick(&["", "sales", "support"])?.into(),
                    display: DisplayMode::Nickname,
                    phone: String::new(),
                },
            },
            17 => Request::SendMessage {
                conversation,
                client_msg_id: 10 + self.rng.below(100),
                body: MessageBody::Text(format!("more from {me}")),
            },
            _ => Request::LogoutWith {
                keep_conversations: self.rng.chance(50),
            },
        };
        Some((conn, account, request))
    }

    /// An operation that runs a password check: a login, or adding an agent with a
    /// password through the admin socket.
    fn slow_operation(&mut self) {
        let account = self.accounts[usize::from(self.rng.chance(50))];
        let admin = self.h.admin;
        if self.rng.chance(30) {
            let agent = self.next_agent.get(&account).copied().unwrap_or(1002);
            self.next_agent.insert(account, agent + 1);
            let added = self.h.call(
                admin,
                Request::AdminAddAgent {
                    account,
                    agent,
                    nickname: format!("agent {agent}"),
                    role: None,
                },
            );
            if added.is_ok() {
                self.agents.insert((account, agent), false);
            }
        }
        // Someone without a password gets one; then someone logs in.
        let without: Vec<u32> = self
            .agents
            .iter()
            .filter(|((a, _), has)| *a == account && !**has)
            .map(|((_, n), _)| *n)
            .collect();
        if let Some(agent) = self.rng.pick(&without) {
            let set = self.h.call(
                admin,
                Request::AdminSetAgentPassword {
                    account,
                    agent,
                    new_password: AGENT_PASSWORD.into(),
                },
            );
            if set.is_ok() {
                self.agents.insert((account, agent), true);
            }
        }
        let offline: Vec<u32> = self
            .agents
            .iter()
            .filter(|((a, n), has)| {
                *a == account && **has && self.logged_in_agent(*a, *n).is_none()
            })
            .map(|((_, n), _)| *n)
            .collect();
        if let Some(agent) = self.rng.pick(&offline) {
            let conn = self.h.connect();
            self.agent_conn.insert((account, agent), conn);
            let password = if agent == 1001 {
                PASSWORD
            } else {
                AGENT_PASSWORD
            };
            let _ = self.h.login_on(conn, account, agent, password, None);
        }
    }

    /// The reads whose answers must agree between this centre and a fresh one.
    fn reads(&self, account: u64, routing_views: bool) -> Vec<Request> {
        let mut reads = vec![
            Request::ListAgents,
            Request::ListRoles,
            Request::GetRoutingSettings,
            Request::ListQuickReplies,
            Request::SearchContacts(ContactQuery {
                text: String::new(),
                groups: vec![],
                tags: vec![],
                owner: None,
                state: None,
                last_contact: None,
                sort: ContactSort::Newest,
                offset: 0,
                limit: 100,
            }),
            Request::ListTags,
            Request::ListGroups,
            Request::GetContactSettings,
            Request::GetSecurity,
        ];
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
    fn compare_with_a_fresh_centre(&mut self, evicted: &[u64]) {
        self.compared += 1;
        let mut fresh = self.h.reopened();
        for account in self.accounts {
            let admin = self.h.admin;
            let operator = [
                Request::AdminShowAccount { account },
                Request::AdminListAgents { account },
            ];
            for request in operator {
                let name = request.name();
                let here = normalise(self.h.call(admin, request.clone()));
                let fresh_admin = fresh.admin;
                let there = normalise(fresh.call(fresh_admin, request));
                assert_eq!(
                    here, there,
                    "seed {} step {}: {name} of {account} differs from a fresh centre",
                    self.seed, self.step
                );
            }
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
    }
}

/// Drops what the store does not hold by design: who is connected right now, and
/// unread counts (an open conversation is restored with `unread: 0`, `load_chat`).
fn normalise(answer: kefu_daemon::centre::Answer) -> kefu_daemon::centre::Answer {
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
        other => other,
    }
}

/// `Centre::commit`'s promise under random traffic and random refused writes (two
/// accounts, eight seeds, [`STEPS`] steps each): no success and no push of a refused account
/// leaves a refused turn (checked by the harness on every turn), and after every
/// refused commit the centre shows what a fresh centre over the same store shows.
#[test]
fn refused_writes_leave_the_centre_equal_to_a_fresh_one() {
    let mut refused = 0;
    let mut compared = 0;
    let mut outcomes: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    for seed in 1..=8u64 {
        let mut world = World::new(seed);
        for _ in 0..STEPS {
            world.step();
        }
        world.compare_with_a_fresh_centre(&[]);
        refused += world.h.store.refusals();
        compared += world.compared;
        for (name, (ok, lost)) in world.outcomes {
            let t = outcomes.entry(name).or_insert((0, 0));
            t.0 += ok;
            t.1 += lost;
        }
    }
    // Each kind of write both succeeded and was lost to a refused commit somewhere.
    for kind in [
        "OpenConversation",
        "SendMessage",
        "CloseConversation",
        "AcceptConversation",
        "CreateContact",
        "UpdateContact",
        "SetQuickReplies",
        "CreateRole",
        "AddAgent",
        "SetRoutingSettings",
        "EditTags",
        "SetAgentProfile",
        "SetPresence",
    ] {
        let (ok, lost) = outcomes.get(kind).copied().unwrap_or_default();
        assert!(ok > 0 && lost > 0, "{kind}: {ok} succeeded, {lost} lost");
    }
    // The sequences really did refuse writes and compare after them.
    assert!(refused >= 40, "only {refused} refused writes");
    assert!(compared >= 40, "only {compared} comparisons");
}
