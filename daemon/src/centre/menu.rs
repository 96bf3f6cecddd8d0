//! The navigation menu (导航菜单, M4, manual §4.4; `wire/PROTOCOL.md` section 25): the
//! account's menu (`GetNavigationMenu`, `SetNavigationMenu` with permission 16), the
//! customer's walk through it before it is routed (`MenuShown`, `ChooseMenuOption`),
//! and the path it clicked, which travels with the conversation to the agents
//! (`MenuPath` pushes, `GetMenuPath`).
//!
//! **Rules** (readings of the manual, section 25.3):
//! - With the menu on, a customer's `OpenConversation` with entry `Auto` and no open
//!   conversation gets a conversation number at once (state `InMenu`, reserved in the
//!   routing engine) and the root prompt (`MenuShown`); no agent sees it yet. A mobile
//!   customer, or one that names an agent or a group itself, is routed as before.
//! - Open URL and automatic reply keep the customer where it chose; the reply is stored
//!   in its conversation as a message from the appliance. A sub-menu shows its prompt.
//!   To an agent / a group routes with that entry (the engine's designated rules: an
//!   offline or full agent's customer waits for it); human service (§4.4 "根据营销 QQ
//!   当前的设置，自动分配") routes as `Auto` would with the menu off, designated agent's
//!   returning customer included, except that it never asks for a choice.
//! - A customer that writes instead of choosing is routed by human service and its
//!   message kept (the manual is silent; a customer who writes wants a person). One
//!   that does nothing is routed by human service after [`MENU_TIMEOUT_MS`]: a
//!   conversation never waits in the menu for ever, and from the queue the usual
//!   waiting rules apply. Closing it ends the walk.
//! - A menu replaced while customers walk it shows them the new root; a menu switched
//!   off routes them by human service.
//!
//! The menu's shape and bounds are checked by `kefu_wire::menu` (pure, unit-tested);
//! this file checks the agent numbers, stores, walks and routes.

use super::dispatch::MenuRequest;
use super::{err, Answer, Centre, Recipient};
use crate::session::CustomerLogin;
use crate::store::chat_records::{ConversationRecord, MessageRecord};
use crate::store::menu_records::{MenuPathRecord, MenuWalkRecord, NavigationMenuRecord};
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::chat::{
    Channel, ConversationInfo, ConversationState, CustomerId, Entry, MessageBody, Party,
};
use kefu_wire::menu::{MenuAction, MenuError, MenuPath, MenuStep, NavigationMenu, MAX_PATH_LABELS};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use std::collections::{BTreeSet, HashMap};

/// A customer in the menu that does nothing for this long (since it was shown the
/// menu or last chose) is routed by human service: ten minutes.
pub const MENU_TIMEOUT_MS: i64 = 10 * 60 * 1000;
/// Most customers of one account in the menu at once; past it, customers are routed
/// as if the menu were off.
const MAX_WALKS: usize = 100_000;

/// One account's menu, the customers walking it and the paths of its open
/// conversations.
#[derive(Debug, Default)]
pub(crate) struct MenuState {
    menu: NavigationMenu,
    walks: HashMap<u64, MenuWalkRecord>,
    by_customer: HashMap<CustomerId, u64>,
    deadlines: BTreeSet<(i64, u64)>,
    paths: HashMap<u64, Vec<String>>,
}

impl MenuState {
    fn put_walk(&mut self, walk: MenuWalkRecord) {
        let id = walk.conversation.conversation;
        self.drop_walk(id);
        self.by_customer
            .insert(walk.conversation.customer.clone(), id);
        self.deadlines.insert((walk.deadline, id));
        self.walks.insert(id, walk);
    }

    fn drop_walk(&mut self, id: u64) -> Option<MenuWalkRecord> {
        let walk = self.walks.remove(&id)?;
        self.by_customer.remove(&walk.conversation.customer);
        self.deadlines.remove(&(walk.deadline, id));
        Some(walk)
    }

    /// When the next walk times out.
    fn next_deadline(&self) -> Option<i64> {
        self.deadlines.first().map(|(at, _)| *at)
    }
}

/// Reads an account's menu, its walks and the paths of its open conversations (`open`).
pub(super) fn read_menu(
    store: &dyn crate::store::KvStore,
    account: u64,
    open: &HashMap<u64, ConversationRecord>,
) -> Result<MenuState, ErrorBody> {
    let bad = |e: String| err(ErrorCode::STORAGE_FAILURE, e);
    let mut state = MenuState::default();
    if let Some(bytes) = store
        .get(Cf::RoutingSettings, &keys::navigation_menu(account))
        .map_err(|e| bad(e.to_string()))?
    {
        state.menu = NavigationMenuRecord::decode(&bytes)
            .map_err(|e| bad(e.to_string()))?
            .menu;
    }
    let range = keys::menu_walk_range(account);
    for (_, bytes) in store
        .scan(Cf::RoutingSettings, &range.start, &range.end, MAX_WALKS)
        .map_err(|e| bad(e.to_string()))?
    {
        let walk = MenuWalkRecord::decode(&bytes).map_err(|e| bad(e.to_string()))?;
        state.put_walk(walk);
    }
    for &conversation in open.keys() {
        if let Some(bytes) = store
            .get(Cf::RoutingSettings, &keys::menu_path(account, conversation))
            .map_err(|e| bad(e.to_string()))?
        {
            let path = MenuPathRecord::decode(&bytes).map_err(|e| bad(e.to_string()))?;
            state.paths.insert(conversation, path.labels);
        }
    }
    Ok(state)
}

/// A menu refusal as the protocol answers it: one code per kind (section 25.2).
fn menu_err(e: MenuError) -> ErrorBody {
    let code = match e {
        MenuError::Empty => ErrorCode::MENU_EMPTY,
        MenuError::TooManyNodes(_) => ErrorCode::MENU_TOO_MANY_NODES,
        MenuError::BadOptionCount { .. } => ErrorCode::MENU_BAD_OPTION_COUNT,
        MenuError::TooDeep(_) => ErrorCode::MENU_TOO_DEEP,
        MenuError::BadText { .. } => ErrorCode::MENU_BAD_TEXT,
        MenuError::BadUrl { .. } => ErrorCode::MENU_BAD_URL,
        MenuError::NotATree(_) => ErrorCode::MENU_NOT_A_TREE,
    };
    err(code, e.to_string())
}

fn in_menu_info(walk: &MenuWalkRecord) -> ConversationInfo {
    let r = &walk.conversation;
    ConversationInfo {
        conversation: r.conversation,
        customer: r.customer.clone(),
        channel: r.channel,
        state: ConversationState::InMenu,
        opened_at: r.opened_at,
        unread: 0,
    }
}

fn not_in_menu() -> ErrorBody {
    err(
        ErrorCode::NOT_IN_MENU,
        "that conversation is not in the menu",
    )
}

impl Centre {
    /// `GetNavigationMenu`, `SetNavigationMenu`, `GetMenuPath`.
    pub(super) fn menu_request(&mut self, account: u64, request: MenuRequest) -> Answer {
        match request {
            MenuRequest::GetNavigationMenu => Ok(Response::NavigationMenu(
                self.chat_mut(account)?.menu.menu.clone(),
            )),
            MenuRequest::SetNavigationMenu { menu } => self.set_menu(account, menu),
            MenuRequest::GetMenuPath { conversation } => {
                let labels = match self.chat_mut(account)?.menu.paths.get(&conversation) {
                    Some(labels) => labels.clone(),
                    None => self.stored_path(account, conversation)?,
                };
                Ok(Response::MenuPath(MenuPath {
                    conversation,
                    labels,
                }))
            }
        }
    }

    fn stored_path(&self, account: u64, conversation: u64) -> Result<Vec<String>, ErrorBody> {
        let bad = |e: String| err(ErrorCode::STORAGE_FAILURE, e);
        let bytes = self
            .shared
            .store
            .get(Cf::RoutingSettings, &keys::menu_path(account, conversation))
            .map_err(|e| bad(e.to_string()))?;
        match bytes {
            Some(b) => Ok(MenuPathRecord::decode(&b)
                .map_err(|e| bad(e.to_string()))?
                .labels),
            None => Ok(Vec::new()),
        }
    }

    /// `SetNavigationMenu`: checked whole (shape, bounds, agent numbers) before
    /// anything changes; stored in the turn's batch; customers in the menu are shown
    /// the new root, or routed by human service if it is off.
    fn set_menu(&mut self, account: u64, menu: NavigationMenu) -> Answer {
        menu.validate().map_err(menu_err)?;
        let actor = self.actor_mut(account)?;
        for (n, node) in menu.nodes.iter().enumerate() {
            for option in &node.options {
                if let MenuAction::ToAgent(agent) = option.action {
                    if !actor.state.agents.contains_key(&agent) {
                        return Err(err(
                            ErrorCode::MENU_UNKNOWN_AGENT,
                            format!("node {n}: no agent {agent} in this account"),
                        ));
                    }
                }
            }
        }
        let record = NavigationMenuRecord {
            account,
            menu: menu.clone(),
        };
        self.batch
            .put(Cf::RoutingSettings, &record.key(), record.encode());
        self.touched.push(account);
        let chat = self.chat_mut(account)?;
        chat.menu.menu = menu;
        let walking: Vec<u64> = chat.menu.walks.keys().copied().collect();
        let enabled = chat.menu.menu.enabled;
        for id in walking {
            if enabled {
                let Some(mut walk) = self.chat_mut(account)?.menu.walks.get(&id).cloned() else {
                    continue;
                };
                walk.node = 0;
                walk.deadline = self.now_ms.saturating_add(MENU_TIMEOUT_MS);
                self.save_walk(account, walk)?;
                self.show_node(account, id)?;
            } else {
                self.menu_timeout(account, id);
            }
        }
        Ok(Response::Ok)
    }

    /// Stores `walk` (memory and the turn's batch).
    fn save_walk(&mut self, account: u64, walk: MenuWalkRecord) -> Result<(), ErrorBody> {
        self.batch
            .put(Cf::RoutingSettings, &walk.key(), walk.encode());
        self.touched.push(account);
        self.chat_mut(account)?.menu.put_walk(walk);
        Ok(())
    }

    /// Pushes the node the customer of walk `id` is at to it.
    fn show_node(&mut self, account: u64, id: u64) -> Result<(), ErrorBody> {
        let chat = self.chat_mut(account)?;
        let Some(walk) = chat.menu.walks.get(&id) else {
            return Ok(());
        };
        let customer = walk.conversation.customer.clone();
        if let Some(prompt) = chat.menu.menu.prompt(id, walk.node) {
            self.push(
                account,
                Recipient::Customer(customer),
                Event::MenuShown(prompt),
            );
        }
        Ok(())
    }

    /// `OpenConversation` of a customer with no open conversation, when the menu
    /// applies (module doc): its conversation in the menu. `None`: route as before.
    pub(super) fn menu_open(
        &mut self,
        account: u64,
        login: &CustomerLogin,
        entry: &Entry,
    ) -> Result<Option<ConversationInfo>, ErrorBody> {
        let now = self.now_ms;
        let chat = self.chat_mut(account)?;
        if chat.routing.conversation_of(&login.customer).is_some() {
            return Ok(None);
        }
        if let Some(&id) = chat.menu.by_customer.get(&login.customer) {
            if *entry != Entry::Auto {
                // It chose an agent or group itself (designated agent): the walk ends.
                return self.menu_route(account, id, entry.clone()).map(Some);
            }
            let info = chat.menu.walks.get(&id).map(in_menu_info);
            self.show_node(account, id)?;
            return Ok(info);
        }
        let menu = &chat.menu;
        if !menu.menu.enabled
            || menu.menu.nodes.is_empty()
            || login.channel == Channel::Mobile
            || *entry != Entry::Auto
            || menu.walks.len() >= MAX_WALKS
        {
            return Ok(None);
        }
        let id = self.reserve_conversation(account)?;
        let walk = MenuWalkRecord {
            conversation: ConversationRecord {
                account,
                conversation: id,
                customer: login.customer.clone(),
                channel: login.channel,
                opened_at: now,
                agent: None,
                closed_at: None,
            },
            node: 0,
            labels: Vec::new(),
            deadline: now.saturating_add(MENU_TIMEOUT_MS),
        };
        let info = in_menu_info(&walk);
        self.save_walk(account, walk)?;
        self.show_node(account, id)?;
        Ok(Some(info))
    }

    /// `ChooseMenuOption`.
    pub(super) fn menu_choose(
        &mut self,
        account: u64,
        customer: &CustomerId,
        conversation: u64,
        node: u16,
        option: u8,
    ) -> Answer {
        let now = self.now_ms;
        let chat = self.chat_mut(account)?;
        let mut walk = chat
            .menu
            .walks
            .get(&conversation)
            .filter(|w| w.conversation.customer == *customer)
            .cloned()
            .ok_or_else(not_in_menu)?;
        let menu = &chat.menu.menu;
        let chosen = menu
            .ancestry(walk.node)
            .contains(&node)
            .then(|| menu.choose(node, option))
            .flatten()
            .cloned()
            .ok_or_else(|| {
                err(
                    ErrorCode::NO_SUCH_MENU_OPTION,
                    format!(
                        "no option {option} at node {node} (the customer is at node {})",
                        walk.node
                    ),
                )
            })?;
        if walk.labels.len() < MAX_PATH_LABELS {
            walk.labels.push(chosen.label.clone());
        }
        walk.node = node;
        walk.deadline = now.saturating_add(MENU_TIMEOUT_MS);
        let entry = match chosen.action {
            MenuAction::OpenUrl(url) => {
                self.save_walk(account, walk)?;
                return Ok(Response::MenuStep(MenuStep::OpenUrl { url }));
            }
            MenuAction::AutoReply(text) => {
                let customer = walk.conversation.customer.clone();
                self.save_walk(account, walk)?;
                self.menu_reply(account, conversation, customer, text.clone())?;
                return Ok(Response::MenuStep(MenuStep::AutoReply { text }));
            }
            MenuAction::SubMenu(child) => {
                walk.node = child;
                let prompt = self
                    .chat_mut(account)?
                    .menu
                    .menu
                    .prompt(conversation, child);
                self.save_walk(account, walk)?;
                return match prompt {
                    Some(p) => Ok(Response::MenuStep(MenuStep::Prompt(p))),
                    None => Err(err(ErrorCode::INTERNAL, "a sub-menu without its node")),
                };
            }
            MenuAction::ToAgent(agent) => Entry::Agent(agent),
            MenuAction::ToGroup(group) => Entry::Group(group),
            MenuAction::HumanService => self.human_service_entry(account, &walk),
        };
        // Routed with the label just clicked; a refused routing changes nothing.
        let before = self
            .chat_mut(account)?
            .menu
            .walks
            .get(&conversation)
            .cloned();
        self.chat_mut(account)?.menu.put_walk(walk);
        match self.menu_route(account, conversation, entry) {
            Ok(info) => Ok(Response::MenuStep(MenuStep::Routed(info))),
            Err(e) => {
                if let Some(before) = before {
                    self.chat_mut(account)?.menu.put_walk(before);
                }
                Err(e)
            }
        }
    }

    /// Human service's entry: what `Auto` takes with designated agent (a returning
    /// customer to its last agent), plain `Auto` where designated agent would ask
    /// for a choice.
    fn human_service_entry(&mut self, account: u64, walk: &MenuWalkRecord) -> Entry {
        let r = &walk.conversation;
        self.designated_entry(account, &r.customer, r.channel, Entry::Auto)
            .unwrap_or(Entry::Auto)
    }

    /// An automatic reply in the menu: stored in the conversation as a message from
    /// the appliance, pushed to the customer.
    fn menu_reply(
        &mut self,
        account: u64,
        conversation: u64,
        customer: CustomerId,
        text: String,
    ) -> Result<(), ErrorBody> {
        let id = self.take_message_ids(account, 1)?;
        let record = MessageRecord {
            account,
            customer: customer.clone(),
            conversation,
            id,
            at: self.now_ms,
            from: Party::System,
            body: MessageBody::Text(text),
            served_by: None,
        };
        self.batch.put_message(&record);
        self.touched.push(account);
        self.push(
            account,
            Recipient::Customer(customer),
            Event::Message(record.into()),
        );
        Ok(())
    }

    /// Routes walk `id` with `entry`: the conversation enters the routing engine under
    /// its reserved number, the walk ends and its labels become the conversation's
    /// path. A refusal changes nothing.
    fn menu_route(
        &mut self,
        account: u64,
        id: u64,
        entry: Entry,
    ) -> Result<ConversationInfo, ErrorBody> {
        let walk = self
            .chat_mut(account)?
            .menu
            .walks
            .get(&id)
            .cloned()
            .ok_or_else(not_in_menu)?;
        let r = walk.conversation.clone();
        let info = self.route(account, |routing, owners, now| {
            routing.open_reserved(id, r.customer, r.channel, entry, owners, now)
        })?;
        let chat = self.chat_mut(account)?;
        chat.menu.drop_walk(id);
        self.batch
            .delete(Cf::RoutingSettings, &keys::menu_walk(account, id));
        self.touched.push(account);
        if !walk.labels.is_empty() {
            let record = MenuPathRecord {
                account,
                conversation: info.conversation,
                labels: walk.labels.clone(),
            };
            self.batch
                .put(Cf::RoutingSettings, &record.key(), record.encode());
            self.chat_mut(account)?
                .menu
                .paths
                .insert(info.conversation, walk.labels);
        }
        Ok(info)
    }

    /// A customer's `SendMessage` to its conversation in the menu: routed by human
    /// service first (module doc), then the message is stored as usual.
    pub(super) fn menu_message(
        &mut self,
        account: u64,
        customer: &CustomerId,
        conversation: u64,
    ) -> Result<(), ErrorBody> {
        let chat = self.chat_mut(account)?;
        let Some(walk) = chat
            .menu
            .walks
            .get(&conversation)
            .filter(|w| w.conversation.customer == *customer)
            .cloned()
        else {
            return Ok(());
        };
        let entry = self.human_service_entry(account, &walk);
        self.menu_route(account, conversation, entry).map(|_| ())
    }

    /// A customer's `CloseConversation` of its conversation in the menu: the walk
    /// ends (nothing was routed). `false`: not in the menu.
    pub(super) fn menu_close(
        &mut self,
        account: u64,
        customer: &CustomerId,
        conversation: u64,
    ) -> Result<bool, ErrorBody> {
        let chat = self.chat_mut(account)?;
        let mine = chat
            .menu
            .walks
            .get(&conversation)
            .is_some_and(|w| w.conversation.customer == *customer);
        if !mine {
            return Ok(false);
        }
        chat.menu.drop_walk(conversation);
        self.batch
            .delete(Cf::RoutingSettings, &keys::menu_walk(account, conversation));
        self.touched.push(account);
        Ok(true)
    }

    /// Routes by human service every walk whose time is up (each turn, before the
    /// routing effects are carried out).
    /// Looked for only when one can be due (`deadline_walk.rs`).
    pub(super) fn menu_tick(&mut self) {
        let now = self.now_ms;
        if !self.menu_walk.due(now) {
            return;
        }
        let mut earliest: Option<i64> = None;
        let mut due: Vec<(u64, u64)> = Vec::new();
        for (&account, a) in &self.actors {
            let menu = &a.chat.menu;
            match menu.next_deadline() {
                Some(d) if d <= now => due.extend(
                    menu.deadlines
                        .iter()
                        .take_while(|(at, _)| *at <= now)
                        .map(|&(_, id)| (account, id)),
                ),
                Some(d) => earliest = Some(earliest.map_or(d, |e| e.min(d))),
                None => {}
            }
        }
        for &(account, id) in &due {
            self.menu_timeout(account, id);
        }
        // What the timed-out accounts have left.
        for (account, _) in due {
            let next = self.actors.get(&account);
            if let Some(d) = next.and_then(|a| a.chat.menu.next_deadline()) {
                earliest = Some(earliest.map_or(d, |e| e.min(d)));
            }
        }
        self.menu_walk.walked(now, earliest);
    }

    /// Walk `id` ends by human service; if routing refuses, it ends without (so it
    /// never stays for ever).
    fn menu_timeout(&mut self, account: u64, id: u64) {
        let Some(walk) = self
            .actors
            .get(&account)
            .and_then(|a| a.chat.menu.walks.get(&id))
            .cloned()
        else {
            return;
        };
        let entry = self.human_service_entry(account, &walk);
        if self.menu_route(account, id, entry).is_err() {
            if let Some(a) = self.actors.get_mut(&account) {
                a.chat.menu.drop_walk(id);
            }
            self.batch
                .delete(Cf::RoutingSettings, &keys::menu_walk(account, id));
            self.touched.push(account);
        }
    }

    /// A conversation entered the queue: the agents shown it get its path.
    pub(super) fn menu_path_to_watchers(&mut self, account: u64, conversation: u64) {
        let Some(chat) = self.actors.get(&account).map(|a| &a.chat) else {
            return;
        };
        let (Some(labels), Some(watchers)) = (
            chat.menu.paths.get(&conversation),
            chat.queue_watchers.get(&conversation),
        ) else {
            return;
        };
        let path = MenuPath {
            conversation,
            labels: labels.clone(),
        };
        for agent in watchers.clone() {
            self.push(
                account,
                Recipient::Agent(agent),
                Event::MenuPath(path.clone()),
            );
        }
    }

    /// A conversation was assigned to `agent`: it gets the path.
    pub(super) fn menu_path_to_agent(&mut self, account: u64, conversation: u64, agent: u32) {
        let Some(labels) = self
            .actors
            .get(&account)
            .and_then(|a| a.chat.menu.paths.get(&conversation))
        else {
            return;
        };
        let path = MenuPath {
            conversation,
            labels: labels.clone(),
        };
        self.push(account, Recipient::Agent(agent), Event::MenuPath(path));
    }

    /// A conversation closed: its path stays stored, not in memory.
    pub(super) fn menu_closed(&mut self, account: u64, conversation: u64) {
        if let Some(a) = self.actors.get_mut(&account) {
            a.chat.menu.paths.remove(&conversation);
        }
    }
}
