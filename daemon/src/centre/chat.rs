//! Customers and conversations on the shard: customer logins, the routing
//! engine's decisions turned into stored records and pushes, and messages
//! stored in the turn's batch before they are acknowledged.
//!
//! The routing rules live in `crate::routing` (pure); this file only feeds it
//! inputs and carries out its effects. Not yet wired: transfer, grab,
//! exclusive owners, re-selection, and replay of unacknowledged deliveries
//! after a reconnect (the conversations issue goes on).

use super::dispatch::{AgentChatRequest, CustomerChatRequest, CustomerEntry, CustomerRequest};
use super::sessions::Who;
use super::{err, Answer, Centre, Recipient};
use crate::routing::{
    AccountRouting, AgentSetup, Choice, Effect, Outcome, Owners, RestoredConversation,
    RestoredPlacement, RoutingError, RoutingSettings,
};
use crate::session::{Caller, ConnUpdate, CustomerLogin, Phase, SessionId};
use crate::store::chat_records::{
    ClientMsgRecord, ConversationRecord, CountersRecord, CustomerKeyRecord, MessageRecord,
    MessageRef, RoutingSettingsRecord,
};
use crate::store::Permission;
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::chat::{
    Alert, Channel, ConversationInfo, ConversationState, CustomerId, CustomerSession,
    DesignatedSettings, Entry, MessageBody, MessageInfo, Party, RoutingConfig,
};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use ring::hmac;
use std::collections::HashMap;

/// Longest text message, characters.
const MAX_TEXT_CHARS: usize = 4_000;
/// Longest file reference, bytes.
const MAX_REFERENCE_BYTES: usize = 256;
/// Longest file name, characters.
const MAX_FILE_NAME_CHARS: usize = 255;
/// Longest identified customer id, bytes.
const MAX_CUSTOMER_ID_BYTES: usize = 64;
/// History sent with an accepted conversation.
const ACCEPT_HISTORY: usize = 50;
/// Largest page of `ConversationMessages`.
const MAX_MESSAGES_PAGE: u16 = 500;
/// Open conversations restored per account at load (a bound on start-up work).
const MAX_RESTORED: usize = 100_000;

/// The agent serving `conversation` now, if one is: what a stored message records as
/// `served_by` (history shows each agent the part it served, H3).
fn serving_agent_of(routing: &AccountRouting, conversation: u64) -> Option<u32> {
    match routing.conversation_state(conversation)? {
        kefu_wire::chat::ConversationState::Assigned { agent } => Some(agent),
        _ => None,
    }
}

/// A routing refusal as the protocol answers it: two different refusals, two codes
/// (`wire/PROTOCOL.md` section 12.12).
pub(super) fn routing_err(e: RoutingError) -> ErrorBody {
    let code = match e {
        RoutingError::NoSuchConversation(_) => ErrorCode::NOT_FOUND,
        RoutingError::AlreadyAssigned { .. } => ErrorCode::CONVERSATION_TAKEN,
        RoutingError::Kept { .. } => ErrorCode::CONVERSATION_KEPT,
        RoutingError::NotAssigned(_) => ErrorCode::CONVERSATION_QUEUED,
        RoutingError::NotServing { .. } => ErrorCode::NOT_IN_CONVERSATION,
        // A queued conversation the agent may not see (another agent's exclusive
        // customer, another group's, another agent's transfer) does not exist for it.
        RoutingError::NotAllowed { conversation, .. } => {
            return err(
                ErrorCode::NOT_FOUND,
                format!("no conversation {conversation} in your queue"),
            )
        }
        RoutingError::ExclusiveCustomer { .. } => ErrorCode::PERMISSION_DENIED,
        RoutingError::TargetOffline(_) => ErrorCode::TARGET_OFFLINE,
        RoutingError::TransferToSelf => ErrorCode::TRANSFER_TO_SELF,
        RoutingError::TargetFull { .. } => ErrorCode::TARGET_FULL,
        RoutingError::ConfirmationRequired { .. } => ErrorCode::GRAB_NEEDS_CONFIRMATION,
        RoutingError::NotInTrash(_) => ErrorCode::NOT_IN_TRASH,
        _ => ErrorCode::INVALID_ARGUMENT,
    };
    err(code, e.to_string())
}

/// One account's conversations on its shard.
pub(crate) struct ChatState {
    pub(super) routing: AccountRouting,
    /// The settings as the protocol shows them (the routing engine holds them converted).
    pub(super) config: RoutingConfig,
    /// The designated-agent settings as the protocol shows them (`designated.rs`).
    pub(super) designated: DesignatedSettings,
    counters: CountersRecord,
    /// Open conversations' records, to update as their state changes.
    open: HashMap<u64, ConversationRecord>,
    /// The account's customer-signing key, once made.
    customer_key: Option<[u8; 32]>,
    /// Per sender (its client-message key prefix), the highest client message id
    /// stored, or `None` if it stored none: a larger id is new without a store read.
    client_high: HashMap<Vec<u8>, Option<u64>>,
    /// `counters` changed this turn and is written once at the commit.
    counters_dirty: bool,
    /// Queued conversations, and the agents told they wait (told again when they leave
    /// the queue, so waiting lists stay live without polling).
    pub(super) queue_watchers: HashMap<u64, Vec<u32>>,
    /// Last shake per (conversation, sender), for its rate limit (`signals.rs`).
    pub(super) shakes: super::signals::ShakeLimiter,
    /// Each agent's order of its accepted list (`views.rs`, C15, §3.10).
    pub(super) list_order: HashMap<u32, Vec<u64>>,
    /// Idle-customer settings and the conversations with a timer or a flag (`idle.rs`).
    pub(super) idle: super::idle::IdleState,
    /// The navigation menu, the customers walking it, the open conversations' paths
    /// (`menu.rs`).
    pub(super) menu: super::menu::MenuState,
    /// Spam filter, held and trashed conversations, whitelist, mutes (`spam.rs`).
    pub(super) spam: super::spam::SpamState,
}

impl ChatState {
    /// The customer of open conversation `conversation`.
    pub(super) fn open_customer(&self, conversation: u64) -> Option<CustomerId> {
        self.open.get(&conversation).map(|r| r.customer.clone())
    }

    /// The id the account's next message takes.
    pub(super) fn next_message_id(&self) -> u64 {
        self.counters.next_message
    }

    /// The account's UTC offset (routing settings), in seconds.
    pub(super) fn utc_offset_secs(&self) -> i32 {
        i32::from(self.config.utc_offset_minutes) * 60
    }
}

/// Who a customer login is: account, customer, channel, and a visitor's token.
type LoginIdentity = (u64, CustomerId, Channel, Option<[u8; 32]>);

/// Senders whose highest client message id is remembered per account; past this the
/// map is cleared and refilled lazily (one store seek per sender).
const MAX_CLIENT_HIGH: usize = 200_000;

fn closed_info(r: &ConversationRecord) -> ConversationInfo {
    ConversationInfo {
        conversation: r.conversation,
        customer: r.customer.clone(),
        channel: r.channel,
        state: ConversationState::Closed,
        opened_at: r.opened_at,
        unread: 0,
    }
}

pub(super) fn check_body(body: &MessageBody) -> Result<(), ErrorBody> {
    let ok = match body {
        MessageBody::Text(t) => !t.is_empty() && t.chars().count() <= MAX_TEXT_CHARS,
        MessageBody::Image { reference } => {
            !reference.is_empty() && reference.len() <= MAX_REFERENCE_BYTES
        }
        MessageBody::File {
            reference, name, ..
        } => {
            !reference.is_empty()
                && reference.len() <= MAX_REFERENCE_BYTES
                && name.chars().count() <= MAX_FILE_NAME_CHARS
        }
    };
    if ok {
        Ok(())
    } else {
        Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!(
                "message: text 1..={MAX_TEXT_CHARS} characters, references 1..={MAX_REFERENCE_BYTES} bytes, names up to {MAX_FILE_NAME_CHARS} characters"
            ),
        ))
    }
}

impl Centre {
    /// The account's conversation state (the account loads whole on first use).
    pub(super) fn chat_mut(&mut self, account: u64) -> Result<&mut ChatState, ErrorBody> {
        Ok(&mut self.actor_mut(account)?.chat)
    }

    /// The session of `customer` if it is logged in on this shard.
    pub(super) fn customer_session(
        &self,
        account: u64,
        customer: &CustomerId,
    ) -> Option<SessionId> {
        self.customers.get(&account)?.get(customer).copied()
    }

    /// Runs one input of `account`'s routing with its contacts as the owners (the
    /// CRM is ownership's one home; routing asks it, keeps no copy) and queues what
    /// the input announced; a refusal becomes the matching error.
    pub(super) fn route<T>(
        &mut self,
        account: u64,
        input: impl FnOnce(&mut AccountRouting, &dyn Owners, i64) -> Result<Outcome<T>, RoutingError>,
    ) -> Result<T, ErrorBody> {
        let now = self.now_ms;
        let actor = self.actor_mut(account)?;
        let out = input(&mut actor.chat.routing, &actor.crm, now).map_err(routing_err)?;
        self.queue_effects(account, out.effects);
        Ok(out.value)
    }

    /// [`Centre::route`] for an account only if it is in memory, refusals ignored:
    /// the hooks of logins, logouts and profile changes.
    fn route_if_loaded(
        &mut self,
        account: u64,
        input: impl FnOnce(&mut AccountRouting, &dyn Owners, i64) -> Result<Outcome<()>, RoutingError>,
    ) {
        if self.actors.contains_key(&account) {
            let _ = self.route(account, input);
        }
    }

    /// Queues routing effects for the commit. An ownership move is stored in the
    /// contact at once, so every later input of the turn routes by the new owner.
    fn queue_effects(&mut self, account: u64, effects: Vec<Effect>) {
        let moves = |e: &Effect| matches!(e, Effect::OwnershipMoved { .. });
        if !effects.iter().any(moves) {
            // The message path: nothing to store now, no copy.
            self.pending_effects.push((account, effects));
            return;
        }
        let mut rest = Vec::with_capacity(effects.len());
        for effect in effects {
            match effect {
                Effect::OwnershipMoved { customer, to, .. } => {
                    self.crm_owner_moved(account, &customer, to);
                }
                other => rest.push(other),
            }
        }
        self.pending_effects.push((account, rest));
    }

    /// Owners changed in the contacts (an import, an add, a deletion): routing pulls
    /// its queue again, as who may take a waiting customer may have changed.
    pub(super) fn owners_changed(&mut self, account: u64) {
        self.route_if_loaded(account, |r, owners, now| Ok(r.owners_changed(owners, now)));
    }

    /// Whether the account runs in exclusive-customer mode (§7.17).
    pub(super) fn exclusive_mode(&mut self, account: u64) -> Result<bool, ErrorBody> {
        Ok(self.chat_mut(account)?.config.exclusive)
    }

    /// Agents already logged in on this shard come online in a just-loaded engine.
    pub(super) fn chat_online(&mut self, account: u64, chat: &mut ChatState, owners: &dyn Owners) {
        let now = self.now_ms;
        let online: Vec<u32> = self
            .online
            .get(&account)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        let mut effects = Vec::new();
        for agent in online {
            if let Ok(out) = chat.routing.login(agent, owners, now) {
                effects.extend(out.effects);
            }
        }
        self.queue_effects(account, effects);
    }

    /// Makes (or replaces) the account's customer-signing key.
    fn new_customer_key(&mut self, account: u64) -> Result<[u8; 32], ErrorBody> {
        let mut key = [0u8; 32];
        ring::rand::SecureRandom::fill(&self.rng, &mut key)
            .map_err(|_| err(ErrorCode::INTERNAL, "no randomness"))?;
        let sealing = self
            .shared
            .token_key
            .clone()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "no sealing key"))?;
        let sealed = crate::otp::sealed::seal(
            &sealing,
            &format!("customer-key:{account}"),
            &key,
            &self.rng,
        )
        .map_err(|e| err(ErrorCode::INTERNAL, e.to_string()))?;
        self.batch.put(
            Cf::CustomerKeys,
            &keys::account(account),
            CustomerKeyRecord { sealed }.encode(),
        );
        self.chat_mut(account)?.customer_key = Some(key);
        Ok(key)
    }

    /// Operator: a new customer-signing key for the account.
    pub(super) fn rotate_customer_key(&mut self, account: u64) -> Answer {
        self.account_mut(account)?;
        self.new_customer_key(account).map(Response::CustomerKey)
    }

    /// A customer or visitor logs in on connection `idx` (already on the owning shard).
    pub(super) fn customer_login(&mut self, caller: &Caller, request: CustomerEntry) -> Answer {
        let (idx, generation) = (caller.conn, caller.generation);
        self.check_login_origin(caller, &request)?;
        let now = self.now_ms;
        let (account, customer, channel, visitor_token) = match request {
            CustomerEntry::CustomerLogin {
                account,
                customer,
                expires_at,
                signature,
                channel,
            } => {
                if customer.is_empty() || customer.len() > MAX_CUSTOMER_ID_BYTES {
                    return Err(err(
                        ErrorCode::INVALID_ARGUMENT,
                        "customer id: 1..=64 bytes",
                    ));
                }
                self.check_account_open(account, now)?;
                let key = self.chat_mut(account)?.customer_key.ok_or_else(|| {
                    err(
                        ErrorCode::CUSTOMER_TOKEN_INVALID,
                        "the account has no customer key yet",
                    )
                })?;
                if expires_at.saturating_mul(1000) <= now {
                    return Err(err(
                        ErrorCode::CUSTOMER_TOKEN_INVALID,
                        "the customer signature has expired",
                    ));
                }
                let mut signed = Vec::with_capacity(16 + customer.len());
                signed.extend_from_slice(&account.to_be_bytes());
                signed.extend_from_slice(&expires_at.to_be_bytes());
                signed.extend_from_slice(customer.as_bytes());
                hmac::verify(
                    &hmac::Key::new(hmac::HMAC_SHA256, &key),
                    &signed,
                    &signature,
                )
                .map_err(|_| {
                    err(
                        ErrorCode::CUSTOMER_TOKEN_INVALID,
                        "wrong customer signature",
                    )
                })?;
                (account, CustomerId::Identified(customer), channel, None)
            }
            CustomerEntry::VisitorLogin {
                account,
                token,
                channel,
            } => self.visitor_identity(account, token, channel)?,
        };
        // Loaded before anything changes, so a refusal leaves the connection as it was.
        let chat = self.chat_mut(account)?;
        let conversation = chat
            .routing
            .conversation_of(&customer)
            .and_then(|c| chat.routing.conversation(c));
        let login = CustomerLogin {
            customer: customer.clone(),
            channel,
        };
        let session = self.open_session(account, Who::Customer(std::sync::Arc::new(login)));
        self.update_conn(
            idx,
            generation,
            ConnUpdate::Phase(Phase::Customer { account }),
        );
        self.update_conn(idx, generation, ConnUpdate::Session(Some(session)));
        // Logged out again if the turn's commit fails, as an agent's login is: the
        // client is answered `STORAGE_FAILURE` and must not be logged in after all.
        self.logins.push((idx, generation, session));
        let previous = self
            .customers
            .entry(account)
            .or_default()
            .insert(customer.clone(), session);
        if let Some(old) = previous {
            // The old session ends with nothing to tell anyone: the customer is here.
            self.replace_session(
                old,
                ErrorCode::SESSION_REPLACED,
                "this customer connected again elsewhere".into(),
            );
        }
        self.crm_customer_logged_in(account, &customer, session);
        Ok(Response::CustomerLoggedIn(CustomerSession {
            account,
            customer,
            visitor_token,
            conversation,
        }))
    }

    /// A visitor's identity: the one its token carries (signed by this account), or a
    /// new one with a fresh token.
    fn visitor_identity(
        &mut self,
        account: u64,
        token: Option<[u8; 32]>,
        channel: Channel,
    ) -> Result<LoginIdentity, ErrorBody> {
        let now = self.now_ms;
        self.check_account_open(account, now)?;
        let key = match self.chat_mut(account)?.customer_key {
            Some(k) => k,
            None => self.new_customer_key(account)?,
        };
        let mac_key = hmac::Key::new(hmac::HMAC_SHA256, &key);
        let id = match token {
            Some(t) => {
                let (id, tag) = t.split_at(16);
                let expect = hmac::sign(&mac_key, id);
                if !ring_eq(expect.as_ref().get(..16).unwrap_or_default(), tag) {
                    return Err(err(
                        ErrorCode::CUSTOMER_TOKEN_INVALID,
                        "visitor token not ours",
                    ));
                }
                let mut v = [0u8; 16];
                v.copy_from_slice(id);
                v
            }
            None => {
                let mut v = [0u8; 16];
                ring::rand::SecureRandom::fill(&self.rng, &mut v)
                    .map_err(|_| err(ErrorCode::INTERNAL, "no randomness"))?;
                v
            }
        };
        let tag = hmac::sign(&mac_key, &id);
        let mut token = [0u8; 32];
        token[..16].copy_from_slice(&id);
        token[16..].copy_from_slice(tag.as_ref().get(..16).unwrap_or(&[0; 16]));
        Ok((account, CustomerId::Visitor(id), channel, Some(token)))
    }

    pub(super) fn check_account_open(
        &mut self,
        account: u64,
        now_ms: i64,
    ) -> Result<(), ErrorBody> {
        if self
            .account_mut(account)?
            .record
            .expires_at
            .saturating_mul(1000)
            <= now_ms
        {
            return Err(err(
                ErrorCode::ACCOUNT_EXPIRED,
                format!("account {account} has expired"),
            ));
        }
        Ok(())
    }

    /// An agent added while the account's conversations are loaded.
    pub(super) fn chat_agent_added(&mut self, account: u64, agent: u32) {
        if let Some(chat) = self.actors.get_mut(&account).map(|a| &mut a.chat) {
            let _ = chat.routing.add_agent(agent, AgentSetup::default());
        }
    }

    /// The agent's group changed (its profile).
    pub(super) fn chat_agent_group(&mut self, account: u64, agent: u32, group: Option<String>) {
        self.route_if_loaded(account, |r, owners, now| {
            r.set_group(agent, group, owners, now)
        });
    }

    /// A customer's session `session` ended.
    pub(super) fn customer_gone(
        &mut self,
        account: u64,
        customer: &CustomerId,
        session: SessionId,
    ) {
        self.web_session_gone(account, customer, session);
        if let Some(customers) = self.customers.get_mut(&account) {
            if customers.get(customer) == Some(&session) {
                customers.remove(customer);
            }
            if customers.is_empty() {
                self.customers.remove(&account);
            }
        }
    }

    /// Whether `conversation` is `customer`'s open one.
    pub(super) fn customers_open(
        &mut self,
        account: u64,
        customer: &CustomerId,
        conversation: u64,
    ) -> Result<(), ErrorBody> {
        let chat = self.chat_mut(account)?;
        if chat.routing.conversation_of(customer) == Some(conversation) {
            Ok(())
        } else {
            Err(err(
                ErrorCode::NOT_IN_CONVERSATION,
                "not your open conversation",
            ))
        }
    }

    /// `OpenConversation`: the blacklist, the menu, the designated agent, the spam
    /// filter, then routing (also the web channel's way in, `web.rs`).
    pub(super) fn open_customer_conversation(
        &mut self,
        account: u64,
        login: &CustomerLogin,
        entry: Entry,
    ) -> Answer {
        let entry = if login.channel == Channel::Mobile {
            Entry::Auto
        } else {
            entry
        };
        // A blacklisted customer is refused before anything, the menu included.
        self.refuse_blacklisted(account, &login.customer)?;
        if let Some(info) = self.menu_open(account, login, &entry)? {
            self.crm_visited(account, &login.customer);
            return Ok(Response::Conversation(info));
        }
        let (customer, channel) = (login.customer.clone(), login.channel);
        let entry = self.designated_entry(account, &customer, channel, entry)?;
        // With the spam filter on, held until its first message (`spam.rs`).
        if let Some(info) = self.spam_open(account, &customer, channel, &entry)? {
            return Ok(Response::Conversation(info));
        }
        let info = self.route(account, |r, owners, now| {
            r.open(customer, channel, entry, owners, now)
        })?;
        self.crm_visited(account, &login.customer);
        Ok(Response::Conversation(info))
    }

    /// Requests of a logged-in customer.
    pub(super) fn customer_request(
        &mut self,
        caller: &Caller,
        account: u64,
        request: CustomerRequest,
    ) -> Answer {
        let login = self
            .session_customer_shared(caller.session)
            .ok_or_else(|| {
                err(
                    ErrorCode::INTERNAL,
                    "customer connection without a customer",
                )
            })?;
        let request = match request {
            CustomerRequest::Chat(request) => request,
            CustomerRequest::Crm(request) => {
                return self.customer_crm_request(account, &login.customer, request)
            }
            CustomerRequest::Signal(request) => {
                return self.customer_signal_request(account, &login, request)
            }
            CustomerRequest::Sms(request) => {
                return self.customer_sms_request(account, &login.customer, request)
            }
            CustomerRequest::Web(request) => {
                return self.web_customer_request(caller, account, &login, request)
            }
            CustomerRequest::Survey(request) => {
                return self.customer_survey_request(account, &login.customer, request)
            }
            CustomerRequest::Csat(request) => {
                return self.customer_csat_request(account, &login.customer, request)
            }
            CustomerRequest::Profile(request) => {
                return self.customer_profile_request(account, request)
            }
        };
        let now = self.now_ms;
        match request {
            CustomerChatRequest::OpenConversation { entry } => {
                let before = self
                    .chat_mut(account)?
                    .routing
                    .conversation_of(&login.customer);
                let answer = self.open_customer_conversation(account, &login, entry)?;
                self.web_opened(account, &login, before, &answer)?;
                Ok(answer)
            }
            CustomerChatRequest::ReplyToBroadcast { broadcast, entry } => {
                self.broadcast_reply_allowed(account, &login.customer, broadcast)?;
                let open = CustomerChatRequest::OpenConversation { entry };
                self.customer_request(caller, account, CustomerRequest::Chat(open))
            }
            CustomerChatRequest::ServingAgent => self.serving_agent(account, &login.customer),
            CustomerChatRequest::SendMessage {
                conversation,
                client_msg_id,
                body,
            } => {
                self.refuse_blacklisted(account, &login.customer)?;
                self.menu_message(account, &login.customer, conversation)?;
                self.customers_open(account, &login.customer, conversation)?;
                self.store_message(
                    account,
                    conversation,
                    &login.customer,
                    Party::Customer,
                    client_msg_id,
                    body,
                    now,
                )
            }
            CustomerChatRequest::ConversationMessages {
                conversation,
                after,
                limit,
            } => {
                let record = self.conversation_record(account, conversation)?;
                if record.customer != login.customer {
                    return Err(err(ErrorCode::NOT_IN_CONVERSATION, "not your conversation"));
                }
                self.messages_after(account, &record, after, limit)
                    .map(Response::Messages)
            }
            CustomerChatRequest::Reselect {
                conversation,
                entry,
            } => {
                self.customers_open(account, &login.customer, conversation)?;
                let info = self.route(account, |r, owners, now| {
                    r.reselect(conversation, entry, owners, now)
                })?;
                Ok(Response::Conversation(info))
            }
            CustomerChatRequest::DesignatedChoices => {
                self.designated_choices(account, &login.customer, login.channel)
            }
            CustomerChatRequest::ChooseMenuOption {
                conversation,
                node,
                option,
            } => self.menu_choose(account, &login.customer, conversation, node, option),
            CustomerChatRequest::CloseConversation { conversation } => {
                if self.menu_close(account, &login.customer, conversation)? {
                    return Ok(Response::Ok);
                }
                self.customers_open(account, &login.customer, conversation)?;
                self.route(account, |r, owners, now| {
                    r.close(conversation, Party::Customer, owners, now)
                })?;
                Ok(Response::Ok)
            }
        }
    }

    /// Conversation requests of a logged-in agent; `None` if `request` is not one.
    pub(super) fn agent_chat_request(
        &mut self,
        account: u64,
        me: u32,
        request: AgentChatRequest,
    ) -> Answer {
        let perm3 = self.has_permission(account, me, Permission::SeeWholeQueue);
        (|| match request {
            AgentChatRequest::SetAutoAccept { cap } => {
                self.route(account, |r, owners, now| {
                    r.set_cap(me, u32::from(cap), owners, now)
                })?;
                Ok(Response::Ok)
            }
            AgentChatRequest::ListQueue => {
                let actor = self.actor_mut(account)?;
                let queue = actor.chat.routing.queue_for(&actor.crm, me, perm3);
                Ok(Response::Conversations(queue))
            }
            AgentChatRequest::ListConversations => self.ordered_conversations(account, me),
            AgentChatRequest::MarkRead { conversation } => {
                self.mark_read(account, me, conversation)
            }
            AgentChatRequest::OrderConversations { order } => {
                self.order_conversations(account, me, order)
            }
            AgentChatRequest::AcceptConversation { conversation } => {
                let info = self.route(account, |r, owners, now| {
                    r.accept(me, conversation, perm3, owners, now)
                })?;
                let history = self.recent_history(account, &info.customer)?;
                Ok(Response::Accepted {
                    conversation: info,
                    history,
                })
            }
            AgentChatRequest::SendMessage {
                conversation,
                client_msg_id,
                body,
            } => self.agent_send(account, me, conversation, client_msg_id, body),
            AgentChatRequest::CloseConversation { conversation } => {
                self.route(account, |r, owners, now| {
                    r.close(conversation, Party::Agent(me), owners, now)
                })?;
                Ok(Response::Ok)
            }
            AgentChatRequest::TransferConversation {
                conversation,
                to_agent,
            } => {
                let info = self.route(account, |r, owners, now| {
                    r.transfer(me, conversation, to_agent, owners, now)
                })?;
                Ok(Response::Conversation(info))
            }
            AgentChatRequest::GrabConversation {
                conversation,
                confirmed,
            } => {
                // The authorisation table already required permission 2 (grab).
                let info = self.route(account, |r, owners, now| {
                    r.grab(me, conversation, true, confirmed, owners, now)
                })?;
                Ok(Response::Conversation(info))
            }
            AgentChatRequest::ConversationMessages {
                conversation,
                after,
                limit,
            } => self.agent_messages(account, me, conversation, after, limit),
            AgentChatRequest::InitiateConversation { customer, channel } => {
                self.initiate(account, me, customer, channel)
            }
            AgentChatRequest::GetRoutingSettings => Ok(Response::RoutingSettings(
                self.chat_mut(account)?.config.clone(),
            )),
            AgentChatRequest::SetRoutingSettings { settings } => {
                self.set_routing_settings(account, settings)
            }
            AgentChatRequest::GetDesignatedAgent => self.get_designated(account),
            AgentChatRequest::SetDesignatedAgent { settings } => {
                self.set_designated(account, settings)
            }
        })()
    }

    fn agent_send(
        &mut self,
        account: u64,
        me: u32,
        conversation: u64,
        client_msg_id: u64,
        body: MessageBody,
    ) -> Answer {
        let now = self.now_ms;
        let info = self
            .chat_mut(account)?
            .routing
            .conversation(conversation)
            .ok_or_else(|| err(ErrorCode::NOT_IN_CONVERSATION, "no such open conversation"))?;
        if info.state != (ConversationState::Assigned { agent: me }) {
            return Err(err(
                ErrorCode::NOT_IN_CONVERSATION,
                "you do not serve this conversation",
            ));
        }
        self.check_mobile_body(account, &info, &body)?;
        self.store_message(
            account,
            conversation,
            &info.customer,
            Party::Agent(me),
            client_msg_id,
            body,
            now,
        )
    }

    fn agent_messages(
        &mut self,
        account: u64,
        me: u32,
        conversation: u64,
        after: u64,
        limit: u16,
    ) -> Answer {
        let see_all = self.has_permission(account, me, Permission::SeeAllCustomers);
        let record = self.conversation_record(account, conversation)?;
        let routing = &self.chat_mut(account)?.routing;
        let serving = (routing.conversation(conversation))
            .is_some_and(|c| c.state == ConversationState::Assigned { agent: me });
        // Any agent may read a trashed conversation: any agent may take it out (§3.11.1).
        let trashed = routing.is_trashed(conversation);
        if !(serving || trashed || see_all || record.agent == Some(me)) {
            return Err(err(ErrorCode::NOT_IN_CONVERSATION, "not your conversation"));
        }
        self.messages_after(account, &record, after, limit)
            .map(Response::Messages)
    }

    fn initiate(
        &mut self,
        account: u64,
        me: u32,
        customer: CustomerId,
        channel: Channel,
    ) -> Answer {
        self.seen_customer(account, &customer)?;
        let perm2 = self.has_permission(account, me, Permission::Grab);
        let perm4 = self.has_permission(account, me, Permission::SeeAllCustomers);
        let info = self
            .route(account, |r, owners, now| {
                r.initiate(me, customer, channel, perm2, owners, now)
            })
            .map_err(|e| {
                // Rule d: without permission 4 another agent's exclusive customer does
                // not exist for this agent, so its refusal does not reveal it.
                if e.code == ErrorCode::PERMISSION_DENIED && !perm4 {
                    err(ErrorCode::NOT_FOUND, "no such customer")
                } else {
                    e
                }
            })?;
        Ok(Response::Conversation(info))
    }

    /// Whether the account has seen `customer`, as an agent starting a conversation
    /// must (§3.9: from the message records or the CRM): one of its contacts, a
    /// customer with an open conversation or stored messages with it, or one logged
    /// in to it now. Anyone else (an id never used here, another account's visitor)
    /// is `UNKNOWN_CUSTOMER`.
    fn seen_customer(&mut self, account: u64, customer: &CustomerId) -> Result<(), ErrorBody> {
        let contact = self.crm_mut(account)?.number_of(customer).is_ok();
        let open = (self.chat_mut(account)?.routing)
            .conversation_of(customer)
            .is_some();
        let online = (self.customers.get(&account)).is_some_and(|m| m.contains_key(customer));
        if contact || open || online {
            return Ok(());
        }
        let range = keys::customer_messages(account, customer);
        let messages = self
            .shared
            .store
            .scan(Cf::Messages, &range.start, &range.end, 1)
            .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
        if messages.is_empty() {
            return Err(err(
                ErrorCode::UNKNOWN_CUSTOMER,
                "the account has never seen this customer",
            ));
        }
        Ok(())
    }

    fn set_routing_settings(&mut self, account: u64, settings: RoutingConfig) -> Answer {
        check_config(&settings)?;
        // The presence mode is the account's own setting (`SetAccountPresenceMode`), the
        // designated agent its own too (`SetDesignatedAgent`).
        let designated = self.chat_mut(account)?.designated;
        let mut engine = settings_from(&settings, &designated);
        engine.presence_mode = self.chat_mut(account)?.routing.settings().presence_mode;
        self.route(account, |r, owners, now| {
            r.set_settings(engine, owners, now)
        })?;
        self.chat_mut(account)?.config = settings.clone();
        self.batch.put(
            Cf::RoutingSettings,
            &keys::account(account),
            RoutingSettingsRecord { account, settings }.encode(),
        );
        self.touched.push(account);
        Ok(Response::Ok)
    }

    /// A conversation's record, open or closed.
    fn conversation_record(
        &mut self,
        account: u64,
        conversation: u64,
    ) -> Result<ConversationRecord, ErrorBody> {
        if let Some(r) = self.chat_mut(account)?.open.get(&conversation) {
            return Ok(r.clone());
        }
        let bytes = self
            .shared
            .store
            .get(
                Cf::Conversations,
                &keys::conversation(account, conversation),
            )
            .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?
            .ok_or_else(|| {
                err(
                    ErrorCode::NOT_FOUND,
                    format!("no conversation {conversation}"),
                )
            })?;
        ConversationRecord::decode(&bytes)
            .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))
    }

    /// Messages of one conversation with ids above `after`, oldest first. A
    /// customer's history holds all its conversations, so others are skipped.
    fn messages_after(
        &self,
        account: u64,
        record: &ConversationRecord,
        after: u64,
        limit: u16,
    ) -> Result<Vec<MessageInfo>, ErrorBody> {
        let limit = usize::from(limit.clamp(1, MAX_MESSAGES_PAGE));
        let range = keys::customer_messages(account, &record.customer);
        let mut cursor = keys::message(account, &record.customer, after.saturating_add(1));
        let mut out = Vec::new();
        while out.len() < limit {
            let rows = self
                .shared
                .store
                .scan(Cf::Messages, &cursor, &range.end, limit)
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
            let Some((last, _)) = rows.last() else { break };
            let mut next = last.clone();
            next.push(0);
            for (_, bytes) in &rows {
                let m = MessageRecord::decode(bytes)
                    .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
                if m.conversation == record.conversation && out.len() < limit {
                    out.push(MessageInfo::from(m));
                }
            }
            if rows.len() < limit {
                break;
            }
            cursor = next;
        }
        Ok(out)
    }

    /// Stores a message in this turn's batch (answered after the commit) and
    /// pushes it to the other side; a retried client message id is stored once.
    #[allow(clippy::too_many_arguments)]
    fn store_message(
        &mut self,
        account: u64,
        conversation: u64,
        customer: &CustomerId,
        from: Party,
        client_msg_id: u64,
        body: MessageBody,
        now: i64,
    ) -> Answer {
        check_body(&body)?;
        let sender = match from {
            Party::Agent(a) => Some(a),
            _ => None,
        };
        let dedupe_key = keys::client_msg(account, sender, customer, client_msg_id);
        if let Some(message) = self.unwritten_client_msg(&dedupe_key) {
            return Ok(Response::Sent {
                message,
                duplicate: true,
            });
        }
        // The key less its trailing message id: the sender's prefix.
        let prefix = dedupe_key
            .get(..dedupe_key.len().saturating_sub(8))
            .unwrap_or_default();
        let high = self.client_high(account, prefix)?;
        // A sender numbering its messages upwards (as the client library does) never
        // costs a read; any other id is looked up.
        let surely_new = high.is_none_or(|h| client_msg_id > h);
        let stored = if surely_new {
            None
        } else {
            self.shared
                .store
                .get(Cf::ClientMsgs, &dedupe_key)
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?
        };
        if let Some(bytes) = stored {
            let r = ClientMsgRecord::decode(&bytes)
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
            return Ok(Response::Sent {
                message: r.message,
                duplicate: true,
            });
        }
        // A new customer message: a conversation held for the spam filter is judged
        // now, before the message is stored and delivered (`spam.rs`).
        if from == Party::Customer {
            self.spam_customer_message(account, conversation, &body)?;
        }
        let chat = self.chat_mut(account)?;
        let id = chat.counters.next_message;
        let outcome = match from {
            Party::Agent(a) => chat.routing.agent_message(conversation, a, now),
            _ => chat.routing.customer_message(conversation, now),
        }
        .map_err(routing_err)?;
        chat.counters.next_message += 1;
        chat.counters_dirty = true;
        let new_high = high.map_or(client_msg_id, |h| h.max(client_msg_id));
        if let Some(h) = chat.client_high.get_mut(prefix) {
            *h = Some(new_high);
        }
        let served_by = serving_agent_of(&chat.routing, conversation);
        // Encoded in place from borrowed parts; the body then moves into the push.
        self.batch.put_message_ref(&MessageRef {
            account,
            customer,
            conversation,
            id,
            at: now,
            from,
            body: &body,
            served_by,
        });
        self.batch.put_record(
            Cf::ClientMsgs,
            &dedupe_key,
            &ClientMsgRecord { message: id },
        );
        let info = MessageInfo {
            conversation,
            id,
            at: now,
            from,
            body,
        };
        self.counters_dirty.push(account);
        // The unread count changed with the message (C15): stored in the same batch.
        self.save_unread(account, conversation);
        self.turn_client_msgs.insert(dedupe_key, id);
        self.deliver_message(account, conversation, customer, from, info);
        self.queue_effects(account, outcome.effects);
        match from {
            Party::Agent(_) => self.idle_agent_message(account, conversation, now),
            Party::Customer => {
                self.idle_customer_message(account, conversation);
                self.offline_customer_message(account, conversation, customer);
            }
            Party::System => {}
        }
        Ok(Response::Sent {
            message: id,
            duplicate: false,
        })
    }

    /// Pushes a stored message to whoever is on the other side now (after the commit).
    fn deliver_message(
        &mut self,
        account: u64,
        conversation: u64,
        customer: &CustomerId,
        from: Party,
        info: MessageInfo,
    ) {
        let Some(chat) = self.actors.get(&account).map(|a| &a.chat) else {
            return;
        };
        let agent = match chat.routing.conversation_state(conversation) {
            Some(ConversationState::Assigned { agent }) if !matches!(from, Party::Agent(_)) => {
                Some(agent)
            }
            _ => None,
        };
        match (from != Party::Customer, agent) {
            (true, Some(agent)) => {
                self.push(
                    account,
                    Recipient::Customer(customer.clone()),
                    Event::Message(info.clone()),
                );
                self.push(account, Recipient::Agent(agent), Event::Message(info));
            }
            (true, None) => self.push(
                account,
                Recipient::Customer(customer.clone()),
                Event::Message(info),
            ),
            // §3.11.3: a customer the agent muted reaches it without a notification.
            (false, Some(agent)) => {
                let event = if self.is_muted(account, agent, customer) {
                    Event::QuietMessage(info)
                } else {
                    Event::Message(info)
                };
                self.push(account, Recipient::Agent(agent), event)
            }
            (false, None) => {}
        }
    }

    pub(super) fn recent_history(
        &self,
        account: u64,
        customer: &CustomerId,
    ) -> Result<Vec<MessageInfo>, ErrorBody> {
        let range = keys::customer_messages(account, customer);
        let rows = self
            .shared
            .store
            .scan_reverse(Cf::Messages, &range.start, &range.end, ACCEPT_HISTORY)
            .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
        let mut out = Vec::with_capacity(rows.len());
        for (_, bytes) in rows.iter().rev() {
            let m = MessageRecord::decode(bytes)
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
            out.push(MessageInfo::from(m));
        }
        Ok(out)
    }

    /// Agent hooks: logged in, logged out or gone, presence changed.
    pub(super) fn chat_agent_login(&mut self, account: u64, agent: u32) {
        if self.actor_mut(account).is_ok() {
            let _ = self.route(account, |r, owners, now| r.login(agent, owners, now));
        }
    }

    pub(super) fn chat_agent_logout(&mut self, account: u64, agent: u32) {
        // A dropped connection keeps its conversations: nothing is lost, and they
        // come back at the agent's next login.
        self.route_if_loaded(account, |r, owners, now| r.logout(agent, true, owners, now));
    }

    pub(super) fn chat_agent_presence(
        &mut self,
        account: u64,
        agent: u32,
        presence: kefu_wire::Presence,
    ) {
        self.route_if_loaded(account, |r, owners, now| {
            r.set_presence(agent, presence, owners, now)
        });
    }

    /// Timers of every account's routing (no-response, transfer time-outs), looked
    /// for when one can be due (`deadline_walk.rs`).
    pub(super) fn chat_tick(&mut self) {
        let now = self.now_ms;
        if !self.routing_walk.due(now) {
            return;
        }
        let mut earliest: Option<i64> = None;
        let mut due = Vec::new();
        for (&account, a) in &self.actors {
            match a.chat.routing.next_deadline() {
                Some(d) if d <= now => due.push(account),
                Some(d) => earliest = Some(earliest.map_or(d, |e| e.min(d))),
                None => {}
            }
        }
        for &account in &due {
            self.route_if_loaded(account, |r, owners, now| Ok(r.tick(owners, now)));
        }
        // What the fired accounts have left.
        for account in due {
            let next = self.actors.get(&account);
            if let Some(d) = next.and_then(|a| a.chat.routing.next_deadline()) {
                earliest = Some(earliest.map_or(d, |e| e.min(d)));
            }
        }
        self.routing_walk.walked(now, earliest);
    }

    /// Hands out `n` consecutive message ids of `account` (written with the turn).
    pub(super) fn take_message_ids(&mut self, account: u64, n: u64) -> Result<u64, ErrorBody> {
        let chat = self.chat_mut(account)?;
        let first = chat.counters.next_message;
        chat.counters.next_message = first.saturating_add(n);
        chat.counters_dirty = true;
        self.counters_dirty.push(account);
        Ok(first)
    }

    /// Hands out a conversation number now for a conversation routed later (a customer
    /// in the navigation menu, `menu.rs`); the counter is written with the turn.
    pub(super) fn reserve_conversation(&mut self, account: u64) -> Result<u64, ErrorBody> {
        let chat = self.chat_mut(account)?;
        let id = chat.routing.reserve_conversation_id();
        chat.counters.next_conversation = chat.routing.next_conversation_id();
        chat.counters_dirty = true;
        self.counters_dirty.push(account);
        Ok(id)
    }

    /// Writes each account's id counters once per turn, however many messages and
    /// conversations the turn numbered. Called before the commit, after the effects.
    pub(super) fn flush_chat_counters(&mut self) {
        // The list keeps its allocation from turn to turn (one entry a message).
        let mut dirty = std::mem::take(&mut self.counters_dirty);
        for account in dirty.drain(..) {
            if let Some(chat) = self.actors.get_mut(&account).map(|a| &mut a.chat) {
                if chat.counters_dirty {
                    chat.counters_dirty = false;
                    self.batch.put(
                        Cf::Counters,
                        &keys::account(account),
                        chat.counters.encode(),
                    );
                }
            }
        }
        self.counters_dirty = dirty;
    }

    /// The highest client message id `prefix` (a sender of `account`) has stored, read
    /// from the store once per sender and then kept.
    fn client_high(&mut self, account: u64, prefix: &[u8]) -> Result<Option<u64>, ErrorBody> {
        let chat = self.chat_mut(account)?;
        if let Some(high) = chat.client_high.get(prefix) {
            return Ok(*high);
        }
        let mut end = prefix.to_vec();
        end.extend_from_slice(&[0xff; 9]);
        let last = self
            .shared
            .store
            .scan_reverse(Cf::ClientMsgs, prefix, &end, 1)
            .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
        let high = last.first().and_then(|(key, _)| {
            let id: [u8; 8] = key.get(prefix.len()..)?.try_into().ok()?;
            Some(u64::from_be_bytes(id))
        });
        let chat = self.chat_mut(account)?;
        if chat.client_high.len() >= MAX_CLIENT_HIGH {
            chat.client_high.clear();
        }
        chat.client_high.insert(prefix.to_vec(), high);
        Ok(high)
    }

    /// Carries out the routing effects of the turn: records into the batch,
    /// pushes into the outbox. Called before the commit.
    pub(super) fn apply_chat_effects(&mut self) {
        let pending = std::mem::take(&mut self.pending_effects);
        for (account, effects) in pending {
            for effect in effects {
                self.apply_effect(account, effect);
            }
        }
    }

    fn apply_effect(&mut self, account: u64, effect: Effect) {
        if !self.actors.contains_key(&account) {
            return;
        }
        match effect {
            Effect::Opened {
                conversation,
                customer,
                channel,
                at,
                ..
            } => self.on_opened(account, conversation, customer, channel, at),
            Effect::Assigned {
                conversation,
                customer,
                agent,
                reason,
                ..
            } => {
                self.on_assigned(account, conversation, agent);
                self.work_report_assigned(account, conversation, &customer, agent);
                self.offline_wait_over(account, conversation);
                if reason == crate::routing::AssignReason::Auto {
                    self.deliver_backlog(account, conversation, agent);
                }
                self.notice_assigned(account, conversation, customer, agent, reason);
                self.menu_path_to_agent(account, conversation, agent);
            }
            Effect::Queued {
                conversation,
                customer,
                target,
                ..
            } => {
                self.notify_conversation(account, conversation, None);
                self.tell_queue_watchers(account, conversation);
                self.menu_path_to_watchers(account, conversation);
                self.notice_queued(account, conversation, customer, &target);
            }
            Effect::NoResponseCleared {
                conversation,
                agent,
            } => self.notice_warning_cleared(account, conversation, agent),
            Effect::Closed {
                conversation,
                agent,
                at,
                ..
            } => {
                self.offline_wait_over(account, conversation);
                self.on_closed(account, conversation, agent, at)
            }
            Effect::Welcome { conversation, text }
            | Effect::AutoReply {
                conversation, text, ..
            } => self.on_system_text(account, conversation, text),
            Effect::NoResponseWarning {
                conversation,
                agent,
                offer_at,
            } => self.alert_agent(
                account,
                agent,
                conversation,
                Alert::NoResponseWarning { offer_at },
            ),
            Effect::OfferReselection {
                conversation,
                customer,
                choices,
            } => self.on_offer_reselection(account, conversation, customer, choices),
            Effect::ReselectedNotice {
                agent,
                conversation,
                deliver_now: true,
                ..
            } => self.alert_agent(account, agent, conversation, Alert::Reselected),
            Effect::TransferOffered {
                conversation,
                from,
                to,
                deadline,
            } => {
                self.alert_agent(
                    account,
                    to,
                    conversation,
                    Alert::TransferOffered { from, deadline },
                );
                self.notice_transfer_waiting(account, conversation, from, to, deadline);
            }
            Effect::TransferFailedBack {
                conversation,
                from,
                to,
                ..
            } => self.alert_agent(
                account,
                from,
                conversation,
                Alert::TransferFailedBack { to },
            ),
            // Stored when routing announced it (`queue_effects`).
            Effect::OwnershipMoved { .. } => {}
            Effect::AccountPresenceChanged { presence } => {
                self.push_account_presence(account, presence);
            }
            // A notice for an offline agent comes again at login.
            Effect::ReselectedNotice {
                deliver_now: false, ..
            } => {}
        }
    }

    fn on_opened(
        &mut self,
        account: u64,
        conversation: u64,
        customer: CustomerId,
        channel: Channel,
        at: i64,
    ) {
        let Some(chat) = self.actors.get_mut(&account).map(|a| &mut a.chat) else {
            return;
        };
        let record = ConversationRecord {
            account,
            conversation,
            customer,
            channel,
            opened_at: at,
            agent: None,
            closed_at: None,
        };
        chat.counters.next_conversation = chat.routing.next_conversation_id();
        chat.counters_dirty = true;
        put_open_conversation(&mut self.batch, &record);
        self.counters_dirty.push(account);
        chat.open.insert(conversation, record);
        // A conversation opened again by a new choice carries its unread count.
        self.save_unread(account, conversation);
    }

    fn on_assigned(&mut self, account: u64, conversation: u64, agent: u32) {
        let Some(chat) = self.actors.get_mut(&account).map(|a| &mut a.chat) else {
            return;
        };
        let mut customer = None;
        if let Some(r) = chat.open.get_mut(&conversation) {
            r.agent = Some(agent);
            customer = Some(r.customer.clone());
            put_open_conversation(&mut self.batch, r);
        }
        self.notify_conversation(account, conversation, Some(agent));
        if let Some(customer) = customer {
            self.crm_served(account, &customer, agent);
        }
    }

    fn on_closed(&mut self, account: u64, conversation: u64, agent: Option<u32>, at: i64) {
        let Some(chat) = self.actors.get_mut(&account).map(|a| &mut a.chat) else {
            return;
        };
        let Some(mut record) = chat.open.remove(&conversation) else {
            return;
        };
        record.closed_at = Some(at);
        let key = keys::conversation(account, conversation);
        self.batch.put(Cf::Conversations, &key, record.encode());
        self.batch.delete(Cf::OpenConversations, &key);
        self.batch
            .delete(Cf::RoutingSettings, &keys::unread(account, conversation));
        let info = closed_info(&record);
        if let Some(watchers) = chat.queue_watchers.remove(&conversation) {
            self.push_to_watchers(account, &watchers, agent, &info);
        }
        self.push_conversation(account, &record.customer, agent, info);
        self.crm_conversation_closed(account, &record.customer, record.agent);
        self.idle_closed(account, conversation);
        self.menu_closed(account, conversation);
        self.spam_closed(account, conversation);
        self.csat_closed(account, &record, at);
    }

    pub(super) fn on_system_text(&mut self, account: u64, conversation: u64, text: String) {
        let Some(chat) = self.actors.get_mut(&account).map(|a| &mut a.chat) else {
            return;
        };
        let Some(customer) = chat.open.get(&conversation).map(|r| r.customer.clone()) else {
            return;
        };
        let id = chat.counters.next_message;
        chat.counters.next_message += 1;
        chat.counters_dirty = true;
        let now = self.now_ms;
        let body = MessageBody::Text(text);
        let served_by = serving_agent_of(&chat.routing, conversation);
        let record = MessageRecord {
            account,
            customer: customer.clone(),
            conversation,
            id,
            at: now,
            from: Party::System,
            body: body.clone(),
            served_by,
        };
        self.batch.put_message(&record);
        self.counters_dirty.push(account);
        self.deliver_message(
            account,
            conversation,
            &customer,
            Party::System,
            record.into(),
        );
    }

    fn on_offer_reselection(
        &mut self,
        account: u64,
        conversation: u64,
        customer: CustomerId,
        choices: Vec<Choice>,
    ) {
        let mut agents = Vec::new();
        let mut groups = Vec::new();
        for c in choices {
            match c {
                Choice::Agent { agent, presence } => agents.push((agent, presence)),
                Choice::Group { name, .. } => groups.push(name),
            }
        }
        self.alert_customer(
            account,
            &customer,
            conversation,
            Alert::ChooseAgain { agents, groups },
        );
    }

    fn alert_agent(&mut self, account: u64, agent: u32, conversation: u64, alert: Alert) {
        let event = Event::ConversationAlert {
            conversation,
            alert,
        };
        self.push(account, Recipient::Agent(agent), event);
    }

    fn alert_customer(
        &mut self,
        account: u64,
        customer: &CustomerId,
        conversation: u64,
        alert: Alert,
    ) {
        let event = Event::ConversationAlert {
            conversation,
            alert,
        };
        self.push(account, Recipient::Customer(customer.clone()), event);
    }

    /// The agent logs out on purpose: its conversations close, or are kept for it.
    pub(super) fn chat_agent_logout_with(&mut self, account: u64, agent: u32, keep: bool) {
        if self.actor_mut(account).is_ok() {
            let _ = self.route(account, |r, owners, now| r.logout(agent, keep, owners, now));
        }
    }

    /// Pushes a conversation's current state to its customer and to `agent`.
    fn notify_conversation(&mut self, account: u64, conversation: u64, agent: Option<u32>) {
        let Some(chat) = self.actors.get(&account).map(|a| &a.chat) else {
            return;
        };
        let Some(info) = chat.routing.conversation(conversation) else {
            return;
        };
        let customer = info.customer.clone();
        self.push_conversation(account, &customer, agent, info.clone());
        // It left the queue: the agents that were shown it waiting hear where it went.
        if let Some(watchers) = self
            .actors
            .get_mut(&account)
            .map(|a| &mut a.chat)
            .and_then(|c| c.queue_watchers.remove(&conversation))
        {
            self.push_to_watchers(account, &watchers, agent, &info);
        }
    }

    /// A conversation entered (or moved within) the queue: every online agent that
    /// sees it in its waiting list gets it (§3.3–3.4: the list is live).
    fn tell_queue_watchers(&mut self, account: u64, conversation: u64) {
        let Some((chat, owners)) = self.actors.get(&account).map(|a| (&a.chat, &a.crm)) else {
            return;
        };
        let Some(info) = chat.routing.conversation(conversation) else {
            return;
        };
        let Some(online) = self.online.get(&account) else {
            return;
        };
        let state = self.actors.get(&account).map(|a| &a.state);
        let watchers: Vec<u32> = online
            .keys()
            .copied()
            .filter(|&agent| {
                let whole =
                    state.is_some_and(|s| s.permissions(agent).contains(Permission::SeeWholeQueue));
                chat.routing.sees_queued(owners, agent, conversation, whole)
            })
            .collect();
        // Agents shown it before but not now (re-queued for someone else) hear too.
        let before = chat
            .queue_watchers
            .get(&conversation)
            .cloned()
            .unwrap_or_default();
        let mut told = watchers.clone();
        told.extend(before.into_iter().filter(|a| !watchers.contains(a)));
        self.push_to_watchers(account, &told, None, &info);
        if let Some(chat) = self.actors.get_mut(&account).map(|a| &mut a.chat) {
            chat.queue_watchers.insert(conversation, watchers);
        }
    }

    fn push_to_watchers(
        &mut self,
        account: u64,
        watchers: &[u32],
        skip: Option<u32>,
        info: &ConversationInfo,
    ) {
        for &agent in watchers.iter().filter(|a| Some(**a) != skip) {
            let event = Event::ConversationChanged(info.clone());
            self.push(account, Recipient::Agent(agent), event);
        }
    }

    fn push_conversation(
        &mut self,
        account: u64,
        customer: &CustomerId,
        agent: Option<u32>,
        info: ConversationInfo,
    ) {
        if let Some(agent) = agent {
            let event = Event::ConversationChanged(info.clone());
            self.push(account, Recipient::Agent(agent), event);
        }
        let to = Recipient::Customer(customer.clone());
        self.push(account, to, Event::ConversationChanged(info));
    }
}

/// Writes an open conversation's record and its copy in the open index, in one batch.
fn put_open_conversation(batch: &mut crate::store::Batch, record: &ConversationRecord) {
    let key = keys::conversation(record.account, record.conversation);
    let bytes = record.encode();
    batch.put(Cf::OpenConversations, &key, bytes.clone());
    batch.put(Cf::Conversations, &key, bytes);
}

/// Reads an account's conversation state from the store: routing settings, id
/// counters, the customer-signing key and the open conversations, restored into a
/// routing engine with the account's agents (none online yet), held and trashed ones
/// where they stood (`spam.rs`). Pure reads: it runs on
/// the worker pool when an account loads (`load.rs`), or on the loop as a fallback.
pub(super) fn read_chat(
    store: &dyn crate::store::KvStore,
    token_key: Option<&crate::otp::sealed::SealingKey>,
    account: u64,
    state: &crate::accounts::AccountState,
) -> Result<ChatState, ErrorBody> {
    let storage = |e: crate::store::StoreError| err(ErrorCode::STORAGE_FAILURE, e.to_string());
    let config = match store
        .get(Cf::RoutingSettings, &keys::account(account))
        .map_err(storage)?
    {
        Some(bytes) => {
            RoutingSettingsRecord::decode(&bytes)
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?
                .settings
        }
        None => default_config(),
    };
    let counters = match store
        .get(Cf::Counters, &keys::account(account))
        .map_err(storage)?
    {
        Some(bytes) => CountersRecord::decode(&bytes)
            .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?,
        None => CountersRecord {
            next_conversation: 1,
            next_message: 1,
        },
    };
    let customer_key = match store
        .get(Cf::CustomerKeys, &keys::account(account))
        .map_err(storage)?
    {
        Some(bytes) => Some(open_customer_key(token_key, account, &bytes)?),
        None => None,
    };
    let designated = super::designated::read_designated(store, account)?;
    let mut spam = super::spam::read_spam(store, account)?;
    let mut settings = settings_from(&config, &designated);
    settings.presence_mode = super::signals::engine_mode(state.record.presence_mode);
    let mut routing =
        AccountRouting::new(settings, counters.next_conversation).map_err(routing_err)?;
    add_agents(store, account, state, &mut routing)?;
    // The accepted lists' read state as last written (C15; none in an older data
    // directory).
    let (unread, list_order) =
        super::views::read_read_state(store, account, MAX_RESTORED, state.agents.len().max(1))?;
    // Only the open ones are read (schema 2 indexes them), however long the
    // account's history of conversations.
    let range = keys::account_prefix(account);
    let mut open = HashMap::new();
    for (_, bytes) in store
        .scan(
            Cf::OpenConversations,
            &range.start,
            &range.end,
            MAX_RESTORED,
        )
        .map_err(storage)?
    {
        let r = ConversationRecord::decode(&bytes)
            .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
        if r.closed_at.is_some() {
            continue;
        }
        let placement = match r.agent {
            Some(agent) => RestoredPlacement::Assigned { agent },
            None => RestoredPlacement::Queued {
                target: (spam.placement(r.conversation))
                    .unwrap_or(crate::routing::QueueTarget::Anyone),
                transfer: None,
            },
        };
        let restored = RestoredConversation {
            conversation: r.conversation,
            customer: r.customer.clone(),
            channel: r.channel,
            opened_at: r.opened_at,
            placement,
            unread: unread.get(&r.conversation).copied().unwrap_or(0),
            waiting_since: None,
        };
        if routing.restore(restored).is_ok() {
            open.insert(r.conversation, r);
        }
    }
    let idle = super::idle::read_idle(store, account, &open)?;
    let menu = super::menu::read_menu(store, account, &open)?;
    spam.keep_open(&|c| open.contains_key(&c));
    let chat = ChatState {
        routing,
        config,
        designated,
        counters,
        open,
        customer_key,
        client_high: HashMap::new(),
        counters_dirty: false,
        queue_watchers: HashMap::new(),
        shakes: Default::default(),
        list_order,
        idle,
        menu,
        spam,
    };
    Ok(chat)
}

/// Adds the account's agents (none online yet) to a routing engine being restored,
/// with their groups and personal auto-replies.
fn add_agents(
    store: &dyn crate::store::KvStore,
    account: u64,
    state: &crate::accounts::AccountState,
    routing: &mut AccountRouting,
) -> Result<(), ErrorBody> {
    // Personal auto-replies (§7.4) are the agents' own preferences (`reminders.rs`).
    let prefs = super::reminders::read_agent_prefs(store, account)?;
    for &agent in state.agents.keys() {
        let group = state.profiles.get(&agent).map(|p| p.group.clone());
        let group = group.filter(|g| !g.is_empty());
        let personal_auto_reply = prefs
            .get(&agent)
            .map(|p| p.personal_auto_reply.clone())
            .filter(|t| !t.is_empty());
        let setup = AgentSetup {
            group,
            personal_auto_reply,
            ..AgentSetup::default()
        };
        routing.add_agent(agent, setup).map_err(routing_err)?;
    }
    Ok(())
}

fn open_customer_key(
    token_key: Option<&crate::otp::sealed::SealingKey>,
    account: u64,
    bytes: &[u8],
) -> Result<[u8; 32], ErrorBody> {
    let record = CustomerKeyRecord::decode(bytes)
        .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
    let key = token_key.ok_or_else(|| err(ErrorCode::INTERNAL, "no sealing key"))?;
    let secret = crate::otp::sealed::open(key, &format!("customer-key:{account}"), &record.sealed)
        .map_err(|e| err(ErrorCode::INTERNAL, format!("customer key: {e}")))?;
    secret
        .expose()
        .try_into()
        .map_err(|_| err(ErrorCode::INTERNAL, "customer key has the wrong length"))
}

fn ring_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Builds the signature an enterprise backend gives a customer (for tests and tools).
pub fn sign_customer(key: &[u8; 32], account: u64, customer: &str, expires_at: i64) -> [u8; 32] {
    let mut signed = Vec::with_capacity(16 + customer.len());
    signed.extend_from_slice(&account.to_be_bytes());
    signed.extend_from_slice(&expires_at.to_be_bytes());
    signed.extend_from_slice(customer.as_bytes());
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), &signed);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref().get(..32).unwrap_or(&[0; 32]));
    out
}

/// Welcome rules an account may have.
const MAX_WELCOME_RULES: usize = 16;
/// Longest welcome or auto-reply text, characters.
const MAX_REPLY_CHARS: usize = 500;

/// The settings of an account that never set any: the engine's defaults.
fn default_config() -> RoutingConfig {
    let d = RoutingSettings::default();
    RoutingConfig {
        exclusive: d.exclusive,
        no_response_secs: NO_RESPONSE_DEFAULT_SECS,
        no_response_warn_secs: u32::try_from(d.no_response.warn_lead_ms / 1000).unwrap_or(60),
        transfer_timeout_secs: u32::try_from(d.transfer_timeout_ms / 1000).unwrap_or(120),
        utc_offset_minutes: 0,
        welcome: Vec::new(),
        busy_reply: None,
        away_reply: None,
    }
}

/// Limits on what a client may set.
fn check_config(c: &RoutingConfig) -> Result<(), ErrorBody> {
    let text_ok = |t: &str| !t.trim().is_empty() && t.chars().count() <= MAX_REPLY_CHARS;
    let ok = c.welcome.len() <= MAX_WELCOME_RULES
        && c.welcome.iter().all(|w| {
            w.start_minute < 1440
                && w.end_minute <= 1440
                && w.weekdays & 0x7f != 0
                && text_ok(&w.text)
        })
        && c.busy_reply.as_deref().is_none_or(text_ok)
        && c.away_reply.as_deref().is_none_or(text_ok)
        && (-14 * 60..=14 * 60).contains(&c.utc_offset_minutes)
        && c.transfer_timeout_secs > 0
        && c.no_response_warn_secs < no_response_timeout_secs(c);
    if ok {
        Ok(())
    } else {
        Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!(
                "routing settings: at most {MAX_WELCOME_RULES} welcome rules, texts 1..={MAX_REPLY_CHARS} characters, minutes below 1440, some weekday, offset within ±14 h, transfer timeout above 0, warning before the no-response timeout"
            ),
        ))
    }
}

/// The no-response timeout when none is chosen: "默认为 15 分钟" (§7.15).
const NO_RESPONSE_DEFAULT_SECS: u32 = 15 * 60;

/// The no-response timeout in force: `no_response_secs`, 0 meaning the default.
fn no_response_timeout_secs(c: &RoutingConfig) -> u32 {
    if c.no_response_secs == 0 {
        NO_RESPONSE_DEFAULT_SECS
    } else {
        c.no_response_secs
    }
}

/// Protocol settings → the routing engine's. The no-response rule is on when the
/// designated-agent settings tick it (`designated.rs`); `RoutingConfig` gives its timings.
pub(super) fn settings_from(c: &RoutingConfig, designated: &DesignatedSettings) -> RoutingSettings {
    let d = RoutingSettings::default();
    RoutingSettings {
        exclusive: c.exclusive,
        designated: super::designated::engine_mode(designated.mode),
        hide_offline: designated.hide_offline,
        no_response: crate::routing::NoResponseSettings {
            enabled: designated.no_response,
            timeout_ms: i64::from(no_response_timeout_secs(c)) * 1000,
            // Below the timeout, as `check_config` requires, even for older stored settings.
            warn_lead_ms: i64::from(c.no_response_warn_secs.min(no_response_timeout_secs(c) - 1))
                * 1000,
        },
        transfer_timeout_ms: i64::from(c.transfer_timeout_secs.max(1)) * 1000,
        welcome: crate::routing::WelcomeSettings {
            utc_offset_minutes: i32::from(c.utc_offset_minutes),
            periods: c
                .welcome
                .iter()
                .map(|w| crate::routing::WelcomePeriod {
                    days: crate::routing::Weekdays::from_bits(w.weekdays),
                    start_minute: w.start_minute,
                    end_minute: w.end_minute,
                    text: w.text.clone(),
                })
                .collect(),
        },
        auto_reply: crate::routing::AutoReplySettings {
            busy: c.busy_reply.clone(),
            away: c.away_reply.clone(),
            ..d.auto_reply.clone()
        },
        ..d
    }
}
