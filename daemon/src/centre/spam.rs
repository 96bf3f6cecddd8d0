//! The spam filter, the trash, mutes and the blacklist (M6, manual §3.11;
//! `wire/PROTOCOL.md` section 26).
//!
//! - **Filter** (§3.11.1): an account setting, off or one of three strengths
//!   (`SetSpamFilter`, permission 12). With it on, a conversation opened by a customer
//!   who is neither a friend contact nor whitelisted is *held* by routing
//!   (`AccountRouting::open_screened`): it waits for nobody and no contact is made
//!   for it yet (M7: no automatic friend request, not filed as a stranger). Its first
//!   customer message is judged by `routing::spam::judge` at the strength in force:
//!   passed, it is routed as any conversation (and the customer filed as M7 says);
//!   caught, it goes to the trash.
//! - **Trash**: never auto-accepted, no push to any agent, in nobody's queue
//!   (`routing::trash`); agents list it (`ListTrash`) and take one out
//!   (`AcceptFromTrash`), which whitelists its customer: stored, never judged again.
//!   At most `routing::trash::MAX_TRASH` per account (the oldest closes).
//! - **Mute** (§3.11.3 来消息不提示): per agent and customer; the muted customer's
//!   messages reach that agent as `Event::QuietMessage` (stored, counted unread, no
//!   notification). At most [`MAX_MUTED`] per agent.
//! - **Blacklist** (§3.11.2): the CRM's contact state; a blacklisted customer may not
//!   open a conversation nor send (`CUSTOMER_BLACKLISTED`), blacklisting closes its
//!   open conversation, and only an agent with permission 7 takes a contact off the
//!   blacklist (§3.11.3 note).
//!
//! Everything here is stored in the turn's batch (`store/spam_records.rs`, keys under
//! the account's `b's'` range of `routing_settings`) and read back when the account
//! loads: held and trashed conversations are restored to where they stood.

use super::dispatch::SpamRequest;
use super::{err, Answer, Centre};
use crate::crm::ContactState;
use crate::routing::spam::judge;
use crate::store::spam_records::{MuteRecord, SpamSettingsRecord, TrashRecord, WhitelistRecord};
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::chat::{Channel, ConversationInfo, CustomerId, Entry, MessageBody, Party};
use kefu_wire::spam::SpamLevel;
use kefu_wire::{ErrorBody, ErrorCode, Response};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Most customers one agent mutes.
pub const MAX_MUTED: usize = 1_000;
/// Most whitelisted customers per account (as many as a gold plan's contacts).
pub const MAX_WHITELIST: usize = 100_000;
/// Longest identified customer id, bytes (as logins allow).
const MAX_CUSTOMER_ID_BYTES: usize = 64;

/// One account's filter strength, held and trashed conversations, whitelist and mutes.
#[derive(Debug, Default)]
pub(crate) struct SpamState {
    level: SpamLevel,
    /// Held or trashed conversations, by id.
    entries: HashMap<u64, TrashRecord>,
    whitelist: HashSet<CustomerId>,
    /// Per agent, its muted customers by customer key (the list's order).
    muted: HashMap<u32, BTreeMap<Vec<u8>, CustomerId>>,
}

impl SpamState {
    /// Where a restored open conversation without an agent stood: held or trashed.
    pub(super) fn placement(&self, conversation: u64) -> Option<crate::routing::QueueTarget> {
        self.entries.get(&conversation).map(|r| {
            if r.held {
                crate::routing::QueueTarget::Screening
            } else {
                crate::routing::QueueTarget::Trash
            }
        })
    }

    /// Forgets records of conversations that are not open (restored as closed).
    pub(super) fn keep_open(&mut self, open: &dyn Fn(u64) -> bool) {
        self.entries.retain(|c, _| open(*c));
    }
}

/// Reads an account's spam-filter data. Pure reads (the account loads off the loop).
pub(super) fn read_spam(
    store: &dyn crate::store::KvStore,
    account: u64,
) -> Result<SpamState, ErrorBody> {
    let storage = |e: crate::store::StoreError| err(ErrorCode::STORAGE_FAILURE, e.to_string());
    let record =
        |e: crate::store::records::RecordError| err(ErrorCode::STORAGE_FAILURE, e.to_string());
    let mut state = SpamState::default();
    if let Some(bytes) = store
        .get(Cf::RoutingSettings, &keys::spam_settings(account))
        .map_err(storage)?
    {
        state.level = SpamSettingsRecord::decode(&bytes).map_err(record)?.level;
    }
    let scan = |kind: u8, max: usize| {
        let range = keys::spam_range(account, kind);
        store
            .scan(Cf::RoutingSettings, &range.start, &range.end, max)
            .map_err(storage)
    };
    // Held and trashed conversations are open ones: at most as many as are restored.
    for (_, bytes) in scan(keys::SPAM_TRASH, 100_000)? {
        let r = TrashRecord::decode(&bytes).map_err(record)?;
        state.entries.insert(r.conversation, r);
    }
    for (_, bytes) in scan(keys::SPAM_WHITELIST, MAX_WHITELIST)? {
        state
            .whitelist
            .insert(WhitelistRecord::decode(&bytes).map_err(record)?.customer);
    }
    for (_, bytes) in scan(keys::SPAM_MUTE, 10_000 * MAX_MUTED)? {
        let r = MuteRecord::decode(&bytes).map_err(record)?;
        let key = keys::customer(&r.customer);
        state
            .muted
            .entry(r.agent)
            .or_default()
            .insert(key, r.customer);
    }
    Ok(state)
}

/// §3.11.3 note: only permission 7 (delete customers) takes a contact off the blacklist.
pub(super) fn check_leaves_blacklist(
    from: ContactState,
    to: ContactState,
    perm7: bool,
) -> Result<(), ErrorBody> {
    if from == ContactState::Blacklisted && to != ContactState::Blacklisted && !perm7 {
        return Err(err(
            ErrorCode::PERMISSION_DENIED,
            "taking a customer off the blacklist needs permission 7 (delete customers)",
        ));
    }
    Ok(())
}

fn check_customer(customer: &CustomerId) -> Result<(), ErrorBody> {
    match customer {
        CustomerId::Identified(id) if id.is_empty() || id.len() > MAX_CUSTOMER_ID_BYTES => Err(
            err(ErrorCode::INVALID_ARGUMENT, "customer id: 1..=64 bytes"),
        ),
        _ => Ok(()),
    }
}

impl Centre {
    fn spam_mut(&mut self, account: u64) -> Result<&mut SpamState, ErrorBody> {
        Ok(&mut self.chat_mut(account)?.spam)
    }

    /// `GetSpamFilter`, `SetSpamFilter`, `ListTrash`, `AcceptFromTrash`,
    /// `MuteCustomer`, `ListMuted`.
    pub(super) fn spam_request(&mut self, account: u64, me: u32, request: SpamRequest) -> Answer {
        match request {
            SpamRequest::GetSpamFilter => Ok(Response::SpamFilter(self.spam_mut(account)?.level)),
            SpamRequest::SetSpamFilter { level } => {
                self.spam_mut(account)?.level = level;
                let r = SpamSettingsRecord { account, level };
                self.batch.put(
                    Cf::RoutingSettings,
                    &keys::spam_settings(account),
                    r.encode(),
                );
                self.touched.push(account);
                Ok(Response::Ok)
            }
            SpamRequest::ListTrash => {
                // In the order they were trashed (stored, so the same after a restart).
                let chat = self.chat_mut(account)?;
                let mut list = chat.routing.trash_list();
                let at = |c: &ConversationInfo| {
                    let at = chat.spam.entries.get(&c.conversation).map(|r| r.at);
                    (at.unwrap_or(i64::MAX), c.conversation)
                };
                list.sort_by_key(at);
                Ok(Response::Conversations(list))
            }
            SpamRequest::AcceptFromTrash { conversation } => {
                self.accept_from_trash(account, me, conversation)
            }
            SpamRequest::MuteCustomer { customer, muted } => {
                self.mute_customer(account, me, customer, muted)
            }
            SpamRequest::ListMuted => {
                let list = (self.spam_mut(account)?.muted.get(&me))
                    .map(|m| m.values().cloned().collect())
                    .unwrap_or_default();
                Ok(Response::Muted(list))
            }
        }
    }

    fn accept_from_trash(&mut self, account: u64, me: u32, conversation: u64) -> Answer {
        let customer = self
            .chat_mut(account)?
            .routing
            .conversation(conversation)
            .map(|c| c.customer)
            .ok_or_else(|| err(ErrorCode::NOT_IN_TRASH, "no such conversation in the trash"))?;
        let spam = self.spam_mut(account)?;
        let listed = spam.whitelist.contains(&customer);
        if !listed && spam.whitelist.len() >= MAX_WHITELIST {
            return Err(err(
                ErrorCode::WHITELIST_FULL,
                format!("the whitelist holds {MAX_WHITELIST} customers already"),
            ));
        }
        let info = self.route(account, |r, owners, now| {
            r.accept_from_trash(me, conversation, owners, now)
        })?;
        let now = self.now_ms;
        let spam = self.spam_mut(account)?;
        spam.entries.remove(&conversation);
        spam.whitelist.insert(customer.clone());
        self.batch
            .delete(Cf::RoutingSettings, &keys::trash(account, conversation));
        let w = WhitelistRecord {
            account,
            customer: customer.clone(),
            by: me,
            at: now,
        };
        self.batch.put(
            Cf::RoutingSettings,
            &keys::whitelist(account, &customer),
            w.encode(),
        );
        self.touched.push(account);
        let history = self.recent_history(account, &customer)?;
        Ok(Response::Accepted {
            conversation: info,
            history,
        })
    }

    fn mute_customer(
        &mut self,
        account: u64,
        me: u32,
        customer: CustomerId,
        muted: bool,
    ) -> Answer {
        check_customer(&customer)?;
        let key = keys::customer(&customer);
        let list = self.spam_mut(account)?.muted.entry(me).or_default();
        if muted == list.contains_key(&key) {
            return Ok(Response::Ok);
        }
        let store_key = keys::mute(account, me, &customer);
        if muted {
            if list.len() >= MAX_MUTED {
                return Err(err(
                    ErrorCode::MUTE_LIST_FULL,
                    format!("you mute {MAX_MUTED} customers already"),
                ));
            }
            list.insert(key, customer.clone());
            let r = MuteRecord {
                account,
                agent: me,
                customer,
            };
            self.batch.put(Cf::RoutingSettings, &store_key, r.encode());
        } else {
            list.remove(&key);
            self.batch.delete(Cf::RoutingSettings, &store_key);
        }
        self.touched.push(account);
        Ok(Response::Ok)
    }

    /// Whether `agent` muted `customer` (its messages reach it as `QuietMessage`).
    pub(super) fn is_muted(&self, account: u64, agent: u32, customer: &CustomerId) -> bool {
        self.actors
            .get(&account)
            .and_then(|a| a.chat.spam.muted.get(&agent))
            .is_some_and(|m| !m.is_empty() && m.contains_key(&keys::customer(customer)))
    }

    /// A blacklisted customer may neither open a conversation nor write (§3.11.2).
    pub(super) fn refuse_blacklisted(
        &mut self,
        account: u64,
        customer: &CustomerId,
    ) -> Result<(), ErrorBody> {
        if self.crm_mut(account)?.state_of(customer) == Some(ContactState::Blacklisted) {
            return Err(err(
                ErrorCode::CUSTOMER_BLACKLISTED,
                "the account does not accept messages from this customer",
            ));
        }
        Ok(())
    }

    /// A contact was blacklisted: its open conversation closes (by the appliance).
    pub(super) fn spam_blacklisted(
        &mut self,
        account: u64,
        customer: &CustomerId,
    ) -> Result<(), ErrorBody> {
        if let Some(conversation) = self.chat_mut(account)?.routing.conversation_of(customer) {
            self.route(account, |r, owners, now| {
                r.close(conversation, Party::System, owners, now)
            })?;
        }
        Ok(())
    }

    /// `OpenConversation` with the filter on: a new conversation of a customer the
    /// filter judges is held (`Some`); `None` when the filter does not apply (off, an
    /// open conversation, a friend, a whitelisted customer): route it as usual.
    pub(super) fn spam_open(
        &mut self,
        account: u64,
        customer: &CustomerId,
        channel: Channel,
        entry: &Entry,
    ) -> Result<Option<ConversationInfo>, ErrorBody> {
        let friend = self.crm_mut(account)?.state_of(customer) == Some(ContactState::Friend);
        let chat = self.chat_mut(account)?;
        let exempt = chat.spam.level == SpamLevel::Off
            || friend
            || chat.spam.whitelist.contains(customer)
            || chat.routing.conversation_of(customer).is_some();
        if exempt {
            return Ok(None);
        }
        let (c, e) = (customer.clone(), entry.clone());
        let info = self.route(account, |r, owners, now| {
            r.open_screened(c, channel, e, owners, now)
        })?;
        let r = TrashRecord {
            account,
            conversation: info.conversation,
            held: true,
            entry: entry.clone(),
            at: self.now_ms,
        };
        self.batch.put(Cf::RoutingSettings, &r.key(), r.encode());
        self.touched.push(account);
        self.spam_mut(account)?.entries.insert(r.conversation, r);
        Ok(Some(info))
    }

    /// A new customer message in `conversation` (checked, not a retried client id),
    /// before it is stored: if the conversation is held, the filter judges it now —
    /// caught, into the trash; passed, routed, and the customer filed as a visit (M7).
    pub(super) fn spam_customer_message(
        &mut self,
        account: u64,
        conversation: u64,
        body: &MessageBody,
    ) -> Result<(), ErrorBody> {
        let now = self.now_ms;
        let chat = self.chat_mut(account)?;
        if !chat.routing.is_screening(conversation) {
            return Ok(());
        }
        let caught = judge(chat.spam.level, body).is_some();
        let entry = (chat.spam.entries.get(&conversation))
            .map(|r| r.entry.clone())
            .unwrap_or(Entry::Auto);
        let customer = chat.routing.conversation(conversation).map(|c| c.customer);
        if caught {
            self.route(account, |r, owners, now| r.trash(conversation, owners, now))?;
            let r = TrashRecord {
                account,
                conversation,
                held: false,
                entry,
                at: now,
            };
            self.batch.put(Cf::RoutingSettings, &r.key(), r.encode());
            self.spam_mut(account)?.entries.insert(conversation, r);
        } else {
            self.route(account, |r, owners, now| {
                r.release_screened(conversation, entry, owners, now)
            })?;
            self.spam_mut(account)?.entries.remove(&conversation);
            self.batch
                .delete(Cf::RoutingSettings, &keys::trash(account, conversation));
            if let Some(customer) = customer {
                self.crm_visited(account, &customer);
            }
        }
        self.touched.push(account);
        Ok(())
    }

    /// A conversation closed: a held or trash record of it goes.
    pub(super) fn spam_closed(&mut self, account: u64, conversation: u64) {
        let Some(chat) = self.actors.get_mut(&account).map(|a| &mut a.chat) else {
            return;
        };
        if chat.spam.entries.remove(&conversation).is_some() {
            self.batch
                .delete(Cf::RoutingSettings, &keys::trash(account, conversation));
        }
    }
}
