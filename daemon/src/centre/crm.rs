//! The CRM on the wire (features R1–R10, M7, E3): contacts, tags, groups, search,
//! import and export, friend requests. The rules live in [`crate::crm`]; this module
//! loads an account's CRM state, turns requests into records and pushes.
//!
//! **State.** An account's contacts are loaded on first use with one bounded scan of the
//! `contacts` column family and indexed in memory ([`SearchIndex`]); its tags, groups,
//! counters and settings are one `crm_accounts` record. Every change writes the changed
//! contact records and that account record into the turn's batch; if the batch fails
//! the account's CRM state is dropped and reloaded from disk (`Shard::undo_turn`).
//!
//! **Owners (R2).** A contact belongs to the agent that created, imported or first
//! served it; the operator's imports have no owner unless the file names one.
//!
//! **Recently contacted (R9)** is kept in memory: fed when an agent is given a
//! conversation and when it closes, and rebuilt at load from the stored conversations.

use super::dispatch::{CrmRequest, CustomerCrmRequest};
use super::{err, Answer, Centre, Recipient};
use crate::crm::{
    Colour, Contact, ContactError, ContactKeys, ContactLimits, ContactState, CsvExport, CsvImport,
    CustomerKey, Filters, GroupError, GroupId, Groups, ImportCatalog, ImportSession, LimitCounters,
    LimitWarning, PageRequest, ProfileUpdate, Query, RecentContacts, SearchIndex, Sort, TagError,
    TagId, Tags, TimeRange,
};
use crate::store::chat_records::ConversationRecord;
use crate::store::crm_records::{ContactRecord, CrmAccountRecord};
use crate::store::import_job_records::ImportJobRecord;
use crate::store::{keys, Cf, Permission, StoredRecord};
use kefu_wire::chat::CustomerId;
use kefu_wire::crm::{
    ContactEdit, ContactInfo, ContactNotice, ContactPage, ContactQuery, ContactSettings,
    ContactSort, GroupEdit, GroupInfo, GroupNode, TagEdit, TagInfo,
};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use std::collections::{BTreeMap, HashMap};

/// Largest import chunk.
pub const MAX_IMPORT_CHUNK: usize = 256 * 1024;
/// Most contacts per export page.
pub const MAX_EXPORT_PAGE: u32 = 5_000;
/// An export page ends after the row that takes it past this many bytes.
pub const MAX_EXPORT_BYTES: usize = 512 * 1024;
/// Longest reason given for an invalid import row, in characters (a reason may quote
/// a cell, and the listed rows are sent again with every chunk's report).
pub const MAX_REASON_CHARS: usize = 160;
/// Most contacts deleted by one request.
pub const MAX_DELETE: usize = 1_000;
/// Most customers in one online-status request (R7: a page of 30).
pub const MAX_ONLINE_QUERY: usize = 30;
/// Longest friend-request note, in characters.
pub const MAX_NOTE_CHARS: usize = 256;
/// Longest verification question or answer, in characters.
pub const MAX_QUESTION_CHARS: usize = 64;
/// Contacts read per scan while loading an account.
const LOAD_SCAN: usize = 4_096;
/// Newest conversations read to rebuild the recently-contacted lists at load.
const RECENT_REBUILD: usize = 100_000;

/// One account's CRM, in memory.
pub(crate) struct CrmState {
    pub(super) contacts: BTreeMap<u64, Stored>,
    pub(super) by_key: ContactKeys,
    /// Built when the account loads, on the worker pool (`load.rs`), then kept in step;
    /// `None` only until then.
    index: Option<SearchIndex>,
    pub(super) tags: Tags,
    pub(super) groups: Groups,
    pub(super) limits: ContactLimits,
    settings: ContactSettings,
    pub(super) next_contact: u64,
    recent: RecentContacts,
    /// Running imports, per agent (one each).
    pub(super) imports: HashMap<u32, ImportRun>,
    /// The contact numbers of an import chunk the daemon stopped applying, found at
    /// load (`import_jobs.rs`): left out, and deleted when the account is installed.
    pub(super) rolled_back: Option<ImportJobRecord>,
    /// What the running import chunk added to the counters: left out of the stored
    /// counters until it is answered, so a chunk rolled back counted nothing.
    pub(super) chunk_counts: Option<ChunkCounts>,
}

/// The counts a running import chunk added to the account's [`LimitCounters`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ChunkCounts {
    /// Contacts that count.
    pub(super) contacts: u32,
    /// The account day `today` belongs to.
    pub(super) day: i64,
    /// Imported rows that day, and ever.
    pub(super) today: u32,
    pub(super) total: u64,
}

impl ChunkCounts {
    /// Adds what the counters gained from `before` to `after` (one slice's admission).
    pub(super) fn add(&mut self, before: LimitCounters, after: LimitCounters) {
        self.contacts = self
            .contacts
            .saturating_add(after.contacts.saturating_sub(before.contacts));
        self.total = self
            .total
            .saturating_add(after.imported_total.saturating_sub(before.imported_total));
        if after.day != self.day {
            // A new day: the counter restarted, so did the chunk's share of it.
            self.day = after.day;
            self.today = 0;
        }
        let base = if before.day == after.day {
            before.imported_today
        } else {
            0
        };
        self.today = self
            .today
            .saturating_add(after.imported_today.saturating_sub(base));
    }

    /// One row leaves the chunk (a contact kept whatever becomes of it).
    fn drop_one(&mut self) {
        self.contacts = self.contacts.saturating_sub(1);
        self.today = self.today.saturating_sub(1);
        self.total = self.total.saturating_sub(1);
    }

    /// `c` without the chunk's counts.
    fn without(&self, mut c: LimitCounters) -> LimitCounters {
        c.contacts = c.contacts.saturating_sub(self.contacts);
        c.imported_total = c.imported_total.saturating_sub(self.total);
        if c.day == self.day {
            c.imported_today = c.imported_today.saturating_sub(self.today);
        }
        c
    }
}

/// The contacts are the one home of ownership (exclusive customers, R2, R15):
/// routing asks them on every input that may route and keeps no copy.
impl crate::routing::Owners for CrmState {
    fn owner(&self, customer: &CustomerId) -> Option<u32> {
        let no = self.by_key.get_customer(customer)?;
        self.contacts.get(&no)?.contact.exclusive_owner
    }
}

pub(super) struct Stored {
    pub(super) contact: Contact,
    request_note: String,
}

/// One agent's import between its chunks.
pub(super) struct ImportRun {
    pub(super) csv: CsvImport,
    pub(super) session: ImportSession,
}

fn now_secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

fn contact_err(e: ContactError) -> ErrorBody {
    err(ErrorCode::INVALID_ARGUMENT, e.to_string())
}

fn tag_err(e: TagError) -> ErrorBody {
    let code = match e {
        TagError::Unknown(_) => ErrorCode::NOT_FOUND,
        TagError::Duplicate(_) => ErrorCode::ALREADY_EXISTS,
        _ => ErrorCode::INVALID_ARGUMENT,
    };
    err(code, e.to_string())
}

fn group_err(e: GroupError) -> ErrorBody {
    let code = match e {
        GroupError::UnknownGroup(_) | GroupError::UnknownCategory(_) => ErrorCode::NOT_FOUND,
        GroupError::Duplicate(_) => ErrorCode::ALREADY_EXISTS,
        _ => ErrorCode::INVALID_ARGUMENT,
    };
    err(code, e.to_string())
}

fn key_of(customer: &CustomerId) -> Result<CustomerKey, ErrorBody> {
    CustomerKey::try_from(customer.clone()).map_err(contact_err)
}

fn state_from_wire(s: kefu_wire::crm::ContactState) -> ContactState {
    match s {
        kefu_wire::crm::ContactState::Friend => ContactState::Friend,
        kefu_wire::crm::ContactState::Stranger => ContactState::Stranger,
        kefu_wire::crm::ContactState::Blacklisted => ContactState::Blacklisted,
        kefu_wire::crm::ContactState::Pending => ContactState::Pending,
    }
}

fn state_to_wire(s: ContactState) -> kefu_wire::crm::ContactState {
    match s {
        ContactState::Friend => kefu_wire::crm::ContactState::Friend,
        ContactState::Stranger => kefu_wire::crm::ContactState::Stranger,
        ContactState::Blacklisted => kefu_wire::crm::ContactState::Blacklisted,
        ContactState::Pending => kefu_wire::crm::ContactState::Pending,
    }
}

/// A contact as the protocol shows it.
pub(crate) fn contact_info(c: &Contact) -> ContactInfo {
    ContactInfo {
        customer: c.key.clone().into(),
        state: state_to_wire(c.state),
        owner: c.owner,
        real_name: c.real_name.clone(),
        remark: c.remark.clone(),
        nickname: c.nickname.clone(),
        phone: c.phone.clone(),
        email: c.email.clone(),
        fields: c
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        groups: c.groups.iter().map(|g| g.0).collect(),
        tags: c.tags.iter().map(|t| t.0).collect(),
        visit: c.visit.as_ref().map(|v| kefu_wire::crm::Visit {
            first_at: v.first_at,
            last_at: v.last_at,
            visits: v.visits,
            source: v.source.clone(),
            region: v.region.clone(),
        }),
        last_accepted: c.last_accepted.map(|a| (a.at, a.agent)),
        last_contact_at: c.last_contact_at,
        created_at: c.created_at,
    }
}

fn profile_update(edit: ContactEdit) -> ProfileUpdate {
    ProfileUpdate {
        real_name: edit.real_name,
        remark: edit.remark,
        nickname: edit.nickname,
        phone: edit.phone,
        email: edit.email,
        fields: edit.fields,
        groups: edit.groups.map(|g| g.into_iter().map(GroupId).collect()),
        tags: edit.tags.map(|t| t.into_iter().map(TagId).collect()),
    }
}

fn check_note(what: &str, text: &str, max: usize) -> Result<(), ErrorBody> {
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("{what}: at most {max} characters, no control characters"),
        ));
    }
    Ok(())
}

impl CrmState {
    fn tag_infos(&self) -> Vec<TagInfo> {
        self.tags
            .iter()
            .map(|t| TagInfo {
                id: t.id.0,
                name: t.name.clone(),
                colour: t.colour.rgb(),
            })
            .collect()
    }

    fn group_nodes(&self) -> Vec<GroupNode> {
        let info = |g: &crate::crm::Group| GroupInfo {
            id: g.id.0,
            name: g.name.clone(),
        };
        self.groups
            .tree()
            .iter()
            .map(|n| match n {
                crate::crm::TreeNode::Category(c) => GroupNode::Category {
                    id: c.id.0,
                    name: c.name.clone(),
                    groups: c.groups.iter().map(info).collect(),
                },
                crate::crm::TreeNode::Group(g) => GroupNode::Group(info(g)),
            })
            .collect()
    }

    /// Refuses groups or tags the account does not have.
    fn check_catalog(&self, c: &Contact) -> Result<(), ErrorBody> {
        if let Some(g) = c.groups.iter().find(|g| self.groups.group(**g).is_none()) {
            return Err(err(ErrorCode::NOT_FOUND, format!("no group {}", g.0)));
        }
        if let Some(t) = c.tags.iter().find(|t| self.tags.get(**t).is_none()) {
            return Err(err(ErrorCode::NOT_FOUND, format!("no tag {}", t.0)));
        }
        Ok(())
    }

    /// The agent that last accepted `customer` (served it), if it is a contact.
    pub(super) fn last_served_by(&self, customer: &CustomerId) -> Option<u32> {
        let no = self.by_key.get_customer(customer)?;
        self.contacts
            .get(&no)?
            .contact
            .last_accepted
            .as_ref()
            .map(|a| a.agent)
    }

    /// The state of `customer`'s contact, if it is one.
    pub(super) fn state_of(&self, customer: &CustomerId) -> Option<ContactState> {
        // Asked for every customer message: looked up without copying the id.
        let no = self.by_key.get_customer(customer)?;
        self.contacts.get(&no).map(|s| s.contact.state)
    }

    pub(super) fn number_of(&self, customer: &CustomerId) -> Result<u64, ErrorBody> {
        if let Some(no) = self.by_key.get_customer(customer) {
            return Ok(no);
        }
        // Not a contact: an id that is no valid key says why.
        key_of(customer)?;
        Err(err(ErrorCode::NOT_FOUND, "not a contact of this account"))
    }

    pub(super) fn insert(&mut self, no: u64, contact: Contact, request_note: String) {
        self.by_key.insert(contact.key.clone(), no);
        if let Some(index) = &mut self.index {
            if index.contains(no) {
                index.update(no, &contact);
            } else {
                index.add(no, &contact);
            }
        }
        self.contacts.insert(
            no,
            Stored {
                contact,
                request_note,
            },
        );
    }

    fn remove(&mut self, no: u64) -> Option<Stored> {
        let stored = self.contacts.remove(&no)?;
        self.by_key.remove(&stored.contact.key);
        if let Some(index) = &mut self.index {
            index.remove(no);
        }
        self.recent.forget_contact(no);
        Some(stored)
    }

    /// The search index, built from the contacts on first use.
    pub(super) fn index(&mut self) -> &SearchIndex {
        let contacts = &self.contacts;
        self.index.get_or_insert_with(|| {
            let mut index = SearchIndex::new();
            for (no, s) in contacts {
                index.add(*no, &s.contact);
            }
            index
        })
    }

    fn account_record(&self, account: u64) -> CrmAccountRecord {
        CrmAccountRecord {
            account,
            next_contact: self.next_contact,
            counters: match &self.chunk_counts {
                Some(chunk) => chunk.without(self.limits.counters()),
                None => self.limits.counters(),
            },
            tags: self.tags.iter().cloned().collect(),
            next_tag: self.tags.next_id(),
            groups: self.groups.tree().to_vec(),
            next_group: self.groups.next_id(),
            settings: self.settings.clone(),
        }
    }
}

impl Centre {
    /// The account's CRM state (the account loads whole on first use).
    pub(super) fn crm_mut(&mut self, account: u64) -> Result<&mut CrmState, ErrorBody> {
        Ok(&mut self.actor_mut(account)?.crm)
    }

    /// Exclusive mode moved `customer` to `to` (first service, or a transfer: rule e).
    /// Only the exclusive owner moves: who first served, added or imported the customer
    /// (its own-customer owner, R2) stays what it was; a customer first served now gets
    /// `to` as that too.
    pub(super) fn crm_owner_moved(&mut self, account: u64, customer: &CustomerId, to: u32) {
        self.change_contact(account, customer, |c| {
            c.exclusive_owner = Some(to);
            c.owner = c.owner.or(Some(to));
        });
    }

    /// Changes the contact of `customer` with `change`, re-indexes it and writes it into
    /// the batch; `None` when the customer is not a contact.
    fn change_contact(
        &mut self,
        account: u64,
        customer: &CustomerId,
        change: impl FnOnce(&mut Contact),
    ) -> Option<u64> {
        let no = self.crm_mut(account).ok()?.by_key.get_customer(customer)?;
        let no = self.keep_from_import(account, no);
        let crm = self.crm_mut(account).ok()?;
        let stored = crm.contacts.get(&no)?;
        let mut contact = stored.contact.clone();
        change(&mut contact);
        let note = stored.request_note.clone();
        crm.insert(no, contact, note);
        self.save_contact(account, no);
        Some(no)
    }

    /// A customer's conversation (served, transferred, closed) or the customer's own
    /// request changes contact `no`. If the running import chunk stored it, it leaves
    /// the chunk under a new number (outside the chunk's reserved ones), so that a
    /// chunk rolled back takes neither it nor the change: the customer is a contact
    /// because of the conversation too (`wire/PROTOCOL.md` section 17.6.1). Its number.
    pub(super) fn keep_from_import(&mut self, account: u64, no: u64) -> u64 {
        if !self.importing_numbers(account).contains(&no) {
            return no;
        }
        let Ok(crm) = self.crm_mut(account) else {
            return no;
        };
        let Some(stored) = crm.remove(no) else {
            return no;
        };
        let kept = crm.next_contact;
        crm.next_contact += 1;
        crm.insert(kept, stored.contact, stored.request_note);
        if let Some(chunk) = crm.chunk_counts.as_mut() {
            chunk.drop_one();
        }
        self.save_contact(account, no);
        self.save_contact(account, kept);
        self.save_crm_account(account);
        kept
    }

    /// Writes contact `no` (or its deletion) into the batch.
    pub(super) fn save_contact(&mut self, account: u64, no: u64) {
        let key = keys::contact(account, no);
        let Some(state) = self.actors.get(&account).map(|a| &a.crm) else {
            return;
        };
        match state.contacts.get(&no) {
            Some(s) => {
                let record = ContactRecord {
                    account,
                    no,
                    contact: s.contact.clone(),
                    request_note: s.request_note.clone(),
                };
                self.batch.put(Cf::Contacts, &key, record.encode());
            }
            None => self.batch.delete(Cf::Contacts, &key),
        }
        self.touched.push(account);
    }

    /// Writes the account's CRM record into the batch.
    pub(super) fn save_crm_account(&mut self, account: u64) {
        if let Some(state) = self.actors.get(&account).map(|a| &a.crm) {
            let record = state.account_record(account);
            self.batch
                .put(Cf::CrmAccounts, &keys::account(account), record.encode());
            self.touched.push(account);
        }
    }

    /// Tells agent 1001 about the contact limit (§5.5): at once if it is logged in,
    /// else at its next sign-in (`notices.rs`).
    pub(super) fn limit_warning(&mut self, account: u64, warning: Option<LimitWarning>) {
        let Some(w) = warning else {
            return;
        };
        let text = match w.level {
            crate::crm::LimitLevel::Near => format!(
                "the account holds {} of its {} contacts",
                w.contacts, w.limit
            ),
            crate::crm::LimitLevel::Over => format!(
                "the account holds {} contacts, over its limit of {}; customers may add it \
                 for 14 days, agents may not add contacts",
                w.contacts, w.limit
            ),
            crate::crm::LimitLevel::GraceEnded => format!(
                "the account has been over its limit of {} contacts for 14 days; no new \
                 contacts are stored until it is back within the limit",
                w.limit
            ),
            crate::crm::LimitLevel::Normal => return,
        };
        self.notice_for_super_admin(account, text);
    }

    /// A new "near the limit" threshold for the account's limits (stored by the
    /// caller); the warning it causes, if any.
    pub(super) fn crm_set_near_percent(
        &mut self,
        account: u64,
        percent: u8,
        now: i64,
    ) -> Result<Option<LimitWarning>, ErrorBody> {
        let warning = self.crm_mut(account)?.limits.set_near_percent(percent, now);
        self.save_crm_account(account);
        Ok(warning)
    }

    /// §7.22: who hears that a customer answered a friend request: the agent that made
    /// it (the contact's owner), if its "我主动加客户为好友时" option is on (the default);
    /// a request no agent made (an operator's import) is 1001's to hear.
    fn notify_answered(&mut self, account: u64, owner: Option<u32>, event: Event) {
        let agent = owner.unwrap_or(crate::auth::SUPER_ADMIN_AGENT);
        if self
            .agent_prefs(account, agent)
            .is_ok_and(|p| p.notify_own_additions)
        {
            self.push_to_agent(account, agent, event);
        }
    }

    /// §7.22: a customer added the account by itself: told to the agents whose
    /// "客户主动加本营销 QQ 为好友时" option is on (off by default).
    fn notify_added_us(&mut self, account: u64, event: &Event) {
        let online: Vec<u32> = self
            .online
            .get(&account)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        for agent in online {
            if self
                .agent_prefs(account, agent)
                .is_ok_and(|p| p.notify_customer_added)
            {
                self.push_to_agent(account, agent, event.clone());
            }
        }
    }

    fn push_to_agent(&mut self, account: u64, agent: u32, event: Event) {
        self.push(account, Recipient::Agent(agent), event);
    }

    /// Whether `me` sees only its own (and unowned) contacts: exclusive mode without
    /// permission 4 (§7.17 d).
    fn sees_only_own(&mut self, account: u64, me: u32) -> Result<bool, ErrorBody> {
        let all = self.has_permission(account, me, Permission::SeeAllCustomers);
        Ok(!all && self.exclusive_mode(account)?)
    }

    /// Contact number of `customer`, if `me` may see it.
    fn visible_contact(
        &mut self,
        account: u64,
        me: u32,
        customer: &CustomerId,
    ) -> Result<u64, ErrorBody> {
        let own_only = self.sees_only_own(account, me)?;
        let state = self.crm_mut(account)?;
        let no = state.number_of(customer)?;
        let owner = state
            .contacts
            .get(&no)
            .and_then(|s| s.contact.exclusive_owner);
        if own_only && owner.is_some_and(|o| o != me) {
            // Answered like a missing contact: exclusive customers of others are not
            // even acknowledged to exist (§7.17 d).
            return Err(err(ErrorCode::NOT_FOUND, "not a contact of this account"));
        }
        // Rows of an import chunk still being applied are shown once it is answered.
        self.not_importing(account, no)?;
        Ok(no)
    }

    /// CRM requests of agent `me` of `account`; `operator` when run on the admin socket.
    pub(super) fn agent_crm_request(
        &mut self,
        account: u64,
        me: u32,
        operator: bool,
        request: CrmRequest,
    ) -> Answer {
        let now = now_secs(self.now_ms);
        match request {
            CrmRequest::CreateContact {
                customer,
                state,
                edit,
            } => self.create_contact(account, me, operator, customer, state, edit),
            CrmRequest::GetContact { customer } => {
                let no = self.visible_contact(account, me, &customer)?;
                let crm = self.crm_mut(account)?;
                let s = crm
                    .contacts
                    .get(&no)
                    .ok_or_else(|| err(ErrorCode::NOT_FOUND, "not a contact"))?;
                Ok(Response::Contact(Box::new(contact_info(&s.contact))))
            }
            // R2 and C7 side by side; visible as GetContact is (§7.17 d: NOT_FOUND).
            CrmRequest::GetContactOwners { customer } => {
                let no = self.visible_contact(account, me, &customer)?;
                let crm = self.crm_mut(account)?;
                let s = crm
                    .contacts
                    .get(&no)
                    .ok_or_else(|| err(ErrorCode::NOT_FOUND, "not a contact"))?;
                Ok(Response::ContactOwners {
                    owner: s.contact.owner,
                    exclusive_owner: s.contact.exclusive_owner,
                })
            }
            CrmRequest::UpdateContact { customer, edit } => {
                self.update_contact(account, me, customer, edit)
            }
            CrmRequest::SetContactState { customer, state } => {
                self.set_contact_state(account, me, customer, state)
            }
            CrmRequest::DeleteContacts { customers } => {
                self.delete_contacts(account, now, customers)
            }
            CrmRequest::SearchContacts(query) => self.search_contacts(account, me, query, false),
            CrmRequest::SearchOnlineContacts(query) => {
                self.search_contacts(account, me, query, true)
            }
            CrmRequest::RecentContacts { offset, limit } => {
                self.recent_contacts(account, me, offset, limit)
            }
            CrmRequest::ContactsOnline { customers } => {
                if customers.len() > MAX_ONLINE_QUERY {
                    return Err(err(
                        ErrorCode::INVALID_ARGUMENT,
                        format!("at most {MAX_ONLINE_QUERY} customers per request"),
                    ));
                }
                let online = customers
                    .iter()
                    .map(|c| self.customer_session(account, c).is_some())
                    .collect();
                Ok(Response::Online(online))
            }
            CrmRequest::ListTags => Ok(Response::Tags(self.crm_mut(account)?.tag_infos())),
            CrmRequest::EditTags(edit) => self.edit_tags(account, edit),
            CrmRequest::ListGroups => Ok(Response::Groups(self.crm_mut(account)?.group_nodes())),
            CrmRequest::EditGroups(edit) => self.edit_groups(account, edit),
            // Taken by `agent_request` into the account's import job (`import_jobs.rs`).
            CrmRequest::ImportContacts { .. } => Err(err(
                ErrorCode::INTERNAL,
                "an import chunk is applied by the account's import job",
            )),
            CrmRequest::ExportContacts { after, limit } => {
                let own_only = self.sees_only_own(account, me)?.then_some(me);
                self.export_page(account, after, limit, own_only)
            }
            CrmRequest::RequestContact { customer, note } => {
                self.request_contact(account, me, customer, note, ContactEdit::default())
            }
            CrmRequest::RequestContactFiled {
                customer,
                note,
                edit,
            } => self.request_contact(account, me, customer, note, edit),
            CrmRequest::GetContactSettings => Ok(Response::ContactSettings(
                self.crm_mut(account)?.settings.clone(),
            )),
            CrmRequest::SetContactSettings { settings } => {
                self.set_contact_settings(account, settings)
            }
        }
    }

    fn create_contact(
        &mut self,
        account: u64,
        me: u32,
        operator: bool,
        customer: CustomerId,
        state: kefu_wire::crm::ContactState,
        edit: kefu_wire::crm::ContactEdit,
    ) -> Answer {
        let now = now_secs(self.now_ms);
        let key = key_of(&customer)?;
        let state_now = state_from_wire(state);
        if state_now == ContactState::Pending {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "a pending contact is made by RequestContact",
            ));
        }
        let groups_given = edit.groups.as_ref().is_some_and(|g| !g.is_empty());
        if groups_given && !self.has_permission(account, me, Permission::ManageGroups) {
            return Err(err(
                ErrorCode::PERMISSION_DENIED,
                "putting a contact in groups needs permission 8",
            ));
        }
        let owner = (!operator).then_some(me);
        let crm = self.crm_mut(account)?;
        if crm.by_key.contains_key(&key) {
            return Err(err(ErrorCode::ALREADY_EXISTS, "already a contact"));
        }
        let contact = Contact::new(key, state_now, owner, now)
            .apply(&profile_update(edit))
            .map_err(contact_err)?;
        crm.check_catalog(&contact)?;
        let warning = crm.limits.admit_addition(now).map_err(add_refusal)?;
        let no = crm.next_contact;
        crm.next_contact += 1;
        let info = contact_info(&contact);
        crm.insert(no, contact, String::new());
        self.save_contact(account, no);
        self.save_crm_account(account);
        self.limit_warning(account, warning);
        if owner.is_some() {
            self.owners_changed(account);
        }
        Ok(Response::Contact(Box::new(info)))
    }

    fn update_contact(
        &mut self,
        account: u64,
        me: u32,
        customer: CustomerId,
        edit: kefu_wire::crm::ContactEdit,
    ) -> Answer {
        let no = self.visible_contact(account, me, &customer)?;
        self.not_importing(account, no)?;
        let may_group = self.has_permission(account, me, Permission::ManageGroups);
        let crm = self.crm_mut(account)?;
        let old = &crm
            .contacts
            .get(&no)
            .ok_or_else(|| err(ErrorCode::NOT_FOUND, "not a contact"))?
            .contact;
        let new = old.apply(&profile_update(edit)).map_err(contact_err)?;
        if new.groups != old.groups && !may_group {
            return Err(err(
                ErrorCode::PERMISSION_DENIED,
                "changing a contact's groups needs permission 8",
            ));
        }
        crm.check_catalog(&new)?;
        let info = contact_info(&new);
        let note = crm.contacts.get(&no).map(|s| s.request_note.clone());
        crm.insert(no, new, note.unwrap_or_default());
        self.save_contact(account, no);
        Ok(Response::Contact(Box::new(info)))
    }

    fn set_contact_state(
        &mut self,
        account: u64,
        me: u32,
        customer: CustomerId,
        state: kefu_wire::crm::ContactState,
    ) -> Answer {
        let now = now_secs(self.now_ms);
        let to = state_from_wire(state);
        if to == ContactState::Pending {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "a contact becomes pending by RequestContact",
            ));
        }
        let no = self.visible_contact(account, me, &customer)?;
        self.not_importing(account, no)?;
        let perm7 = self.has_permission(account, me, Permission::DeleteCustomers);
        let crm = self.crm_mut(account)?;
        let old = &crm
            .contacts
            .get(&no)
            .ok_or_else(|| err(ErrorCode::NOT_FOUND, "not a contact"))?
            .contact;
        super::spam::check_leaves_blacklist(old.state, to, perm7)?;
        let was_pending = old.state == ContactState::Pending;
        let new = old.with_state(to).map_err(contact_err)?;
        let info = contact_info(&new);
        // A request withdrawn (to stranger) or a pending contact blacklisted enters the
        // count (crm::limits: pending additions are counted apart).
        let warning = (was_pending && to != ContactState::Pending)
            .then(|| crm.limits.pending_to_counted(now))
            .flatten();
        crm.insert(no, new, String::new());
        self.save_contact(account, no);
        self.save_crm_account(account);
        self.limit_warning(account, warning);
        if to == ContactState::Blacklisted {
            self.spam_blacklisted(account, &customer)?;
        }
        Ok(Response::Contact(Box::new(info)))
    }

    fn delete_contacts(&mut self, account: u64, now: i64, customers: Vec<CustomerId>) -> Answer {
        if customers.len() > MAX_DELETE {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("at most {MAX_DELETE} contacts per request"),
            ));
        }
        let crm = self.crm_mut(account)?;
        let mut numbers = Vec::with_capacity(customers.len());
        for c in &customers {
            // Unknown customers are skipped: deleting is idempotent.
            if let Ok(no) = crm.number_of(c) {
                numbers.push(no);
            }
        }
        numbers.sort_unstable();
        numbers.dedup();
        for no in &numbers {
            self.not_importing(account, *no)?;
        }
        let crm = self.crm_mut(account)?;
        let mut had_owners = false;
        let (mut counted, mut pending) = (0u32, 0u32);
        for no in &numbers {
            if let Some(s) = crm.remove(*no) {
                had_owners |= s.contact.exclusive_owner.is_some();
                if s.contact.state == ContactState::Pending {
                    pending += 1;
                } else {
                    counted += 1;
                }
            }
        }
        crm.limits.pending_removed(pending);
        let warning = crm.limits.contacts_removed(counted, now);
        for no in &numbers {
            self.save_contact(account, *no);
        }
        self.save_crm_account(account);
        self.limit_warning(account, warning);
        if had_owners {
            self.owners_changed(account);
        }
        Ok(Response::Deleted {
            count: numbers.len() as u64,
        })
    }

    fn recent_contacts(&mut self, account: u64, me: u32, offset: u32, limit: u16) -> Answer {
        if limit == 0 || usize::from(limit) > crate::crm::groups::MAX_RECENT_PAGE {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("limit is 1..={}", crate::crm::groups::MAX_RECENT_PAGE),
            ));
        }
        let crm = self.crm_mut(account)?;
        let total = crm.recent.len(me) as u64;
        let contacts = crm
            .recent
            .page(me, offset as usize, usize::from(limit))
            .into_iter()
            .filter_map(|e| crm.contacts.get(&e.contact))
            .map(|s| contact_info(&s.contact))
            .collect();
        Ok(Response::Contacts(ContactPage { total, contacts }))
    }

    fn set_contact_settings(&mut self, account: u64, settings: ContactSettings) -> Answer {
        check_note("question", &settings.question, MAX_QUESTION_CHARS)?;
        check_note("answer", &settings.answer, MAX_QUESTION_CHARS)?;
        if !settings.question.is_empty() && settings.answer.trim().is_empty() {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "a verification question needs an answer",
            ));
        }
        self.crm_mut(account)?.settings = settings;
        self.save_crm_account(account);
        Ok(Response::Ok)
    }

    /// `SearchContacts`, and with `online_now` `SearchOnlineContacts` (R6): only customers
    /// with a session on the account now.
    fn search_contacts(
        &mut self,
        account: u64,
        me: u32,
        q: ContactQuery,
        online_now: bool,
    ) -> Answer {
        let own_only = self.sees_only_own(account, me)?;
        let online: Option<Vec<u64>> = online_now.then(|| {
            let crm = self.actors.get(&account).map(|a| &a.crm);
            let mut numbers: Vec<u64> = self
                .customers
                .get(&account)
                .into_iter()
                .flat_map(|m| m.keys())
                .filter_map(|c| crm?.by_key.get_customer(c))
                .collect();
            numbers.sort_unstable();
            numbers
        });
        let invalid = |e: crate::crm::SearchError| err(ErrorCode::INVALID_ARGUMENT, e.to_string());
        let query = Query::parse(&q.text).map_err(invalid)?;
        let page = PageRequest::new(q.offset, q.limit).map_err(invalid)?;
        let filters = Filters {
            groups: q.groups.into_iter().map(GroupId).collect(),
            tags: q.tags.into_iter().map(TagId).collect(),
            owner: q.owner,
            state: q.state.map(state_from_wire),
            last_contact: q
                .last_contact
                .map(|(from, until)| TimeRange { from, until }),
            visible_to: own_only.then_some(me),
            among: online,
            hidden: Some(self.importing_numbers(account)),
        };
        let sort = match q.sort {
            ContactSort::LastContact => Sort::LastContactDesc,
            ContactSort::Name => Sort::Name,
            ContactSort::Newest => Sort::Newest,
        };
        let crm = self.crm_mut(account)?;
        let found = crm
            .index()
            .search(&query, &filters, sort, page)
            .map_err(invalid)?;
        let contacts = found
            .items
            .iter()
            .filter_map(|no| crm.contacts.get(no))
            .map(|s| contact_info(&s.contact))
            .collect();
        Ok(Response::Contacts(ContactPage {
            total: found.total as u64,
            contacts,
        }))
    }

    fn edit_tags(&mut self, account: u64, edit: TagEdit) -> Answer {
        self.no_import_running(account)?;
        let colour = |rgb: u32| {
            Colour::new(rgb).ok_or_else(|| err(ErrorCode::INVALID_ARGUMENT, "colour is 0xRRGGBB"))
        };
        let crm = self.crm_mut(account)?;
        let mut changed = Vec::new();
        match edit {
            TagEdit::Create { name, colour: rgb } => {
                crm.tags.create(&name, colour(rgb)?).map_err(tag_err)?;
            }
            TagEdit::Rename { id, name } => crm.tags.rename(TagId(id), &name).map_err(tag_err)?,
            TagEdit::Recolour { id, colour: rgb } => crm
                .tags
                .set_colour(TagId(id), colour(rgb)?)
                .map_err(tag_err)?,
            TagEdit::Delete { id } => {
                crm.tags.delete(TagId(id)).map_err(tag_err)?;
                let holders: Vec<u64> = crm.index().with_tag(TagId(id)).to_vec();
                for no in holders {
                    if let Some(s) = crm.contacts.get(&no) {
                        let mut c = s.contact.clone();
                        c.tags.remove(&TagId(id));
                        let note = s.request_note.clone();
                        crm.insert(no, c, note);
                        changed.push(no);
                    }
                }
            }
        }
        let tags = crm.tag_infos();
        for no in changed {
            self.save_contact(account, no);
        }
        self.save_crm_account(account);
        Ok(Response::Tags(tags))
    }

    fn edit_groups(&mut self, account: u64, edit: GroupEdit) -> Answer {
        self.no_import_running(account)?;
        use crate::crm::CategoryId;
        let crm = self.crm_mut(account)?;
        let mut removed: Vec<GroupId> = Vec::new();
        let g = &mut crm.groups;
        match edit {
            GroupEdit::CreateCategory { name } => {
                g.create_category(&name).map_err(group_err)?;
            }
            GroupEdit::CreateGroup { name, category } => {
                g.create_group(&name, category.map(CategoryId))
                    .map_err(group_err)?;
            }
            GroupEdit::RenameCategory { id, name } => g
                .rename_category(CategoryId(id), &name)
                .map_err(group_err)?,
            GroupEdit::RenameGroup { id, name } => {
                g.rename_group(GroupId(id), &name).map_err(group_err)?
            }
            GroupEdit::DeleteCategory { id } => {
                removed = g.delete_category(CategoryId(id)).map_err(group_err)?;
            }
            GroupEdit::DeleteGroup { id } => {
                removed.push(g.delete_group(GroupId(id)).map_err(group_err)?.id);
            }
            GroupEdit::MoveGroup {
                id,
                category,
                position,
            } => g
                .move_group(
                    GroupId(id),
                    category.map(CategoryId),
                    usize::try_from(position).unwrap_or(usize::MAX),
                )
                .map_err(group_err)?,
            GroupEdit::MoveCategory { id, position } => g
                .move_category(
                    CategoryId(id),
                    usize::try_from(position).unwrap_or(usize::MAX),
                )
                .map_err(group_err)?,
        }
        let mut changed = Vec::new();
        for gid in removed {
            let members: Vec<u64> = crm.index().in_group(gid).to_vec();
            for no in members {
                if let Some(s) = crm.contacts.get(&no) {
                    let mut c = s.contact.clone();
                    c.groups.remove(&gid);
                    let note = s.request_note.clone();
                    crm.insert(no, c, note);
                    changed.push(no);
                }
            }
        }
        let nodes = crm.group_nodes();
        changed.sort_unstable();
        changed.dedup();
        for no in changed {
            self.save_contact(account, no);
        }
        self.save_crm_account(account);
        Ok(Response::Groups(nodes))
    }

    /// A page of the export; `own_only`: only contacts owned by that agent or nobody
    /// (exclusive mode without permission 4).
    fn export_page(
        &mut self,
        account: u64,
        after: u64,
        limit: u32,
        own_only: Option<u32>,
    ) -> Answer {
        if limit == 0 || limit > MAX_EXPORT_PAGE {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("limit is 1..={MAX_EXPORT_PAGE}"),
            ));
        }
        // Rows of an import chunk still being applied are exported once it is answered.
        let hidden = self.importing_numbers(account);
        let crm = self.crm_mut(account)?;
        // Every page has the same columns: the free fields of the whole account.
        let fields: std::collections::BTreeSet<String> = crm
            .contacts
            .values()
            .flat_map(|s| s.contact.fields.keys().cloned())
            .collect();
        let export = CsvExport::new(ImportCatalog::new(&crm.tags, &crm.groups), fields);
        let mut csv = Vec::new();
        if after == 0 {
            export.write_header(&mut csv);
        }
        let mut last = None;
        let visible = |no: &u64, s: &&Stored| {
            !hidden.contains(no)
                && own_only.is_none_or(|me| s.contact.exclusive_owner.is_none_or(|o| o == me))
        };
        let mut page = crm
            .contacts
            .range(after.saturating_add(1)..)
            .filter(|(no, s)| visible(no, s))
            .take(limit as usize)
            .peekable();
        while let Some((no, s)) = page.next() {
            export.write_row(&s.contact, &mut csv);
            // A page also ends at MAX_EXPORT_BYTES, so an answer never nears the
            // pending-output limit whatever the rows hold.
            if page.peek().is_some() && csv.len() < MAX_EXPORT_BYTES {
                continue;
            }
            last = Some(*no);
            break;
        }
        let next_after =
            last.filter(|no| crm.contacts.range(no + 1..).any(|(n, s)| visible(n, &s)));
        Ok(Response::Export { csv, next_after })
    }

    /// R4: a friend request; `edit` files the contact (names, groups, tags) while it
    /// waits for the answer (`RequestContactFiled`; `RequestContact` edits nothing).
    fn request_contact(
        &mut self,
        account: u64,
        me: u32,
        customer: CustomerId,
        note: String,
        edit: ContactEdit,
    ) -> Answer {
        check_note("note", &note, MAX_NOTE_CHARS)?;
        let now = now_secs(self.now_ms);
        let key = key_of(&customer)?;
        let groups_given = edit.groups.as_ref().is_some_and(|g| !g.is_empty());
        if groups_given && !self.has_permission(account, me, Permission::ManageGroups) {
            return Err(err(
                ErrorCode::PERMISSION_DENIED,
                "putting a contact in groups needs permission 8",
            ));
        }
        let update = profile_update(edit);
        let perm7 = self.has_permission(account, me, Permission::DeleteCustomers);
        if let Some(no) = self.crm_mut(account)?.by_key.get(&key).copied() {
            self.not_importing(account, no)?;
        }
        let crm = self.crm_mut(account)?;
        let existing = crm.by_key.get(&key).copied();
        let (no, contact, warning) = match existing {
            Some(no) => {
                let old = &crm
                    .contacts
                    .get(&no)
                    .ok_or_else(|| err(ErrorCode::INTERNAL, "contact map out of step"))?
                    .contact;
                super::spam::check_leaves_blacklist(old.state, ContactState::Pending, perm7)?;
                if matches!(old.state, ContactState::Friend | ContactState::Pending) {
                    return Err(err(
                        ErrorCode::ALREADY_EXISTS,
                        format!("already {}", old.state),
                    ));
                }
                let new = old
                    .with_state(ContactState::Pending)
                    .and_then(|c| c.apply(&update))
                    .map_err(contact_err)?;
                crm.check_catalog(&new)?;
                // The stranger waits as a pending addition, counted apart (crm::limits);
                // the addition counts toward the day's 1,000 (R4).
                crm.limits
                    .admit_stranger_request(now)
                    .map_err(add_refusal)?;
                (no, new, None)
            }
            None => {
                let new = Contact::new(key, ContactState::Pending, Some(me), now)
                    .apply(&update)
                    .map_err(contact_err)?;
                crm.check_catalog(&new)?;
                crm.limits.admit_request(now).map_err(add_refusal)?;
                let no = crm.next_contact;
                crm.next_contact += 1;
                (no, new, None)
            }
        };
        let info = contact_info(&contact);
        let owner = contact.owner;
        crm.insert(no, contact, note.clone());
        if owner == Some(me) {
            self.owners_changed(account);
        }
        self.save_contact(account, no);
        self.save_crm_account(account);
        self.limit_warning(account, warning);
        let event = Event::ContactNotice(ContactNotice::FriendRequest { account, note });
        self.push(account, Recipient::Customer(customer), event);
        Ok(Response::Contact(Box::new(info)))
    }

    /// R4: the customer answers the account's friend request (section 17.8.1: an
    /// acceptance needs room; a decline leaves a stranger, or nothing).
    fn answer_contact_request(
        &mut self,
        account: u64,
        customer: &CustomerId,
        key: &CustomerKey,
        accept: bool,
        now: i64,
    ) -> Answer {
        let crm = self.crm_mut(account)?;
        let no = crm
            .by_key
            .get(key)
            .copied()
            .filter(|no| {
                crm.contacts
                    .get(no)
                    .is_some_and(|s| s.contact.state == ContactState::Pending)
            })
            .ok_or_else(|| err(ErrorCode::NOT_FOUND, "no friend request to answer"))?;
        let Some(stored) = crm.contacts.get(&no) else {
            return Err(err(ErrorCode::INTERNAL, "contact map out of step"));
        };
        let owner = stored.contact.owner;
        let exclusive = stored.contact.exclusive_owner;
        let never_talked = stored.contact.last_contact_at.is_none();
        let mut warning = None;
        let mut removed_owned = false;
        if accept {
            let c = stored
                .contact
                .with_state(ContactState::Friend)
                .map_err(contact_err)?;
            // Only below the limit (§5.5): otherwise refused, still pending.
            warning = crm.limits.admit_acceptance(now).map_err(|e| match e {
                crate::crm::AddRefusal::PlanFull { contacts, limit } => err(
                    ErrorCode::ACCOUNT_FULL,
                    format!(
                        "the account holds {contacts} contacts, its limit is {limit}: \
                         the request stays pending"
                    ),
                ),
                other => add_refusal(other),
            })?;
            crm.insert(no, c, String::new());
        } else if never_talked {
            // A declined request for someone who never talked to us leaves nothing.
            crm.remove(no);
            crm.limits.pending_removed(1);
            removed_owned = exclusive.is_some();
        } else {
            let c = stored
                .contact
                .with_state(ContactState::Stranger)
                .map_err(contact_err)?;
            crm.insert(no, c, String::new());
            warning = crm.limits.pending_to_counted(now);
        }
        self.save_contact(account, no);
        self.save_crm_account(account);
        self.limit_warning(account, warning);
        if removed_owned {
            self.owners_changed(account);
        }
        let event = Event::ContactNotice(ContactNotice::Answered {
            customer: customer.clone(),
            accepted: accept,
        });
        self.notify_answered(account, owner, event);
        Ok(Response::Ok)
    }

    /// CRM requests of a logged-in customer.
    pub(super) fn customer_crm_request(
        &mut self,
        account: u64,
        customer: &CustomerId,
        request: CustomerCrmRequest,
    ) -> Answer {
        let now = now_secs(self.now_ms);
        let key = key_of(customer)?;
        match request {
            CustomerCrmRequest::AnswerContactRequest { accept } => {
                self.answer_contact_request(account, customer, &key, accept, now)
            }
            CustomerCrmRequest::AddAccount { answer } => {
                let crm = self.crm_mut(account)?;
                let question = &crm.settings;
                if !question.question.is_empty()
                    && !answer.trim().eq_ignore_ascii_case(question.answer.trim())
                {
                    return Err(err(
                        ErrorCode::INVALID_ARGUMENT,
                        "the answer to the verification question is wrong",
                    ));
                }
                let found = crm.by_key.get(&key).copied();
                let found = found.map(|no| self.keep_from_import(account, no));
                let crm = self.crm_mut(account)?;
                let (no, contact, warning) = match found {
                    Some(no) => {
                        let old = &crm
                            .contacts
                            .get(&no)
                            .ok_or_else(|| err(ErrorCode::INTERNAL, "contact map out of step"))?
                            .contact;
                        match old.state {
                            ContactState::Friend => return Ok(Response::Ok),
                            ContactState::Blacklisted => {
                                return Err(err(
                                    ErrorCode::PERMISSION_DENIED,
                                    "the account does not accept this customer",
                                ))
                            }
                            _ => {}
                        }
                        let new = old.with_state(ContactState::Friend).map_err(contact_err)?;
                        // A pending addition enters the count: the inbound rule (§5.5).
                        let w = if old.state == ContactState::Pending {
                            crm.limits
                                .admit_inbound_from_pending(now)
                                .map_err(add_refusal)?
                        } else {
                            None
                        };
                        (no, new, w)
                    }
                    None => {
                        let w = crm.limits.admit_inbound(now).map_err(add_refusal)?;
                        let no = crm.next_contact;
                        crm.next_contact += 1;
                        (no, Contact::new(key, ContactState::Friend, None, now), w)
                    }
                };
                crm.insert(no, contact, String::new());
                self.save_contact(account, no);
                self.save_crm_account(account);
                self.limit_warning(account, warning);
                let event = Event::ContactNotice(ContactNotice::AddedUs {
                    customer: customer.clone(),
                });
                self.notify_added_us(account, &event);
                Ok(Response::Ok)
            }
        }
    }

    /// A conversation with `customer` was given to `agent` (R2, R3, R9, M7): the
    /// customer becomes a contact (a stranger, or pending with an automatic friend
    /// request) owned by the first agent to serve it; its last-accepted time is set.
    pub(super) fn crm_served(&mut self, account: u64, customer: &CustomerId, agent: u32) {
        let now = now_secs(self.now_ms);
        let Ok(key) = CustomerKey::try_from(customer.clone()) else {
            return;
        };
        let Ok(crm) = self.crm_mut(account) else {
            return;
        };
        let accepted = crate::crm::Accepted { at: now, agent };
        let mut request = None;
        let found = crm.by_key.get(&key).copied();
        let found = found.map(|no| self.keep_from_import(account, no));
        let Ok(crm) = self.crm_mut(account) else {
            return;
        };
        let no = match found {
            Some(no) => {
                let Some(s) = crm.contacts.get(&no) else {
                    return;
                };
                let mut c = s.contact.clone();
                c.owner = c.owner.or(Some(agent));
                c.exclusive_owner = c.exclusive_owner.or(Some(agent));
                c.last_accepted = Some(accepted);
                c.last_contact_at = Some(now);
                let note = s.request_note.clone();
                crm.insert(no, c, note);
                no
            }
            None => {
                let Some((no, note)) = self.crm_record_new(account, key, Some(accepted)) else {
                    return;
                };
                request = note;
                no
            }
        };
        if let Some(crm) = self.actors.get_mut(&account).map(|a| &mut a.crm) {
            crm.recent.touch(agent, no, now);
        }
        self.save_contact(account, no);
        if let Some(note) = request {
            let event = Event::ContactNotice(ContactNotice::FriendRequest { account, note });
            self.push(account, Recipient::Customer(customer.clone()), event);
        }
    }

    /// A customer opened a conversation (a visit, W2 visitors included; M7, R1): one
    /// that is no contact yet is recorded at once — as a stranger, or pending with the
    /// automatic friend request when the account sends one — whether or not an agent
    /// serves it; the first agent to serve it becomes its owner (`crm_served`).
    pub(super) fn crm_visited(&mut self, account: u64, customer: &CustomerId) {
        let Ok(key) = CustomerKey::try_from(customer.clone()) else {
            return;
        };
        let Ok(crm) = self.crm_mut(account) else {
            return;
        };
        if crm.by_key.contains_key(&key) {
            return;
        }
        let Some((no, request)) = self.crm_record_new(account, key, None) else {
            return;
        };
        self.save_contact(account, no);
        if let Some(note) = request {
            let event = Event::ContactNotice(ContactNotice::FriendRequest { account, note });
            self.push(account, Recipient::Customer(customer.clone()), event);
        }
    }

    /// Stores a customer the account has no contact for (M7, §5.5): pending with the
    /// automatic friend request while the account may add (crm::limits), else a
    /// stranger; over the limit past the grace nothing is stored (`None`). Served
    /// (`accepted`), its first agent owns it. Returns its number and the note of the
    /// friend request to send, if any; the caller saves the contact.
    fn crm_record_new(
        &mut self,
        account: u64,
        key: CustomerKey,
        accepted: Option<crate::crm::Accepted>,
    ) -> Option<(u64, Option<String>)> {
        let now = now_secs(self.now_ms);
        let crm = self.crm_mut(account).ok()?;
        let auto = crm.settings.auto_friend_request && crm.limits.admit_auto_request(now);
        let warning = if auto {
            None
        } else {
            crm.limits.admit_inbound(now).ok()?
        };
        let (state, note) = if auto {
            (
                ContactState::Pending,
                "please add us as a friend".to_owned(),
            )
        } else {
            (ContactState::Stranger, String::new())
        };
        let mut c = Contact::new(key, state, accepted.map(|a| a.agent), now);
        if accepted.is_some() {
            c.last_accepted = accepted;
            c.last_contact_at = Some(now);
        }
        let no = crm.next_contact;
        crm.next_contact += 1;
        crm.insert(no, c, note.clone());
        self.save_crm_account(account);
        self.limit_warning(account, warning);
        Some((no, auto.then_some(note)))
    }

    /// A conversation with `customer` served by `agent` closed: last contact time (R6
    /// filter, sort) and the agent's recently-contacted list (R9).
    pub(super) fn crm_conversation_closed(
        &mut self,
        account: u64,
        customer: &CustomerId,
        agent: Option<u32>,
    ) {
        let now = now_secs(self.now_ms);
        let Some(no) = self.change_contact(account, customer, |c| c.last_contact_at = Some(now))
        else {
            return;
        };
        if let (Some(agent), Some(crm)) = (agent, self.actors.get_mut(&account).map(|a| &mut a.crm))
        {
            crm.recent.touch(agent, no, now);
        }
    }

    /// The agent who owns `customer`'s contact (R2), if it is a contact with an owner.
    pub(super) fn contact_owner(&mut self, account: u64, customer: &CustomerId) -> Option<u32> {
        let key = CustomerKey::try_from(customer.clone()).ok()?;
        let crm = self.crm_mut(account).ok()?;
        let no = crm.by_key.get(&key)?;
        crm.contacts.get(no)?.contact.owner
    }

    /// A customer logged in: a friend request still pending is shown again (the
    /// customer may have been offline when it was made).
    pub(super) fn crm_customer_logged_in(
        &mut self,
        account: u64,
        customer: &CustomerId,
        session: crate::session::SessionId,
    ) {
        let Ok(key) = CustomerKey::try_from(customer.clone()) else {
            return;
        };
        let Ok(crm) = self.crm_mut(account) else {
            return;
        };
        let Some(s) = crm.by_key.get(&key).and_then(|no| crm.contacts.get(no)) else {
            return;
        };
        if s.contact.state == ContactState::Pending {
            let note = s.request_note.clone();
            let event = Event::ContactNotice(ContactNotice::FriendRequest { account, note });
            self.push(account, Recipient::Session(session), event);
        }
    }

    /// Forgets a running import of a connection's agent that went away.
    pub(super) fn crm_agent_gone(&mut self, account: u64, agent: u32) {
        if let Some(crm) = self.actors.get_mut(&account).map(|a| &mut a.crm) {
            crm.imports.remove(&agent);
        }
    }
}

impl Centre {
    /// The customer of contact `no`, unless it was deleted or blacklisted since.
    pub(super) fn broadcast_customer(&mut self, account: u64, no: u64) -> Option<CustomerId> {
        let crm = self.crm_mut(account).ok()?;
        crm.contacts
            .get(&no)
            .filter(|s| s.contact.state != ContactState::Blacklisted)
            .map(|s| s.contact.key.clone().into())
    }

    /// The contact number of `customer`, if it is a contact (`ReplyToBroadcast`).
    pub(super) fn broadcast_number(&mut self, account: u64, customer: &CustomerId) -> Option<u64> {
        self.crm_mut(account).ok()?.number_of(customer).ok()
    }

    /// A survey's audience (`surveys.rs`): the contact number of `customer` if it is a
    /// contact, not blacklisted and, when `groups` is not empty, in one of them.
    pub(super) fn survey_contact(
        &mut self,
        account: u64,
        customer: &CustomerId,
        groups: &[u32],
    ) -> Result<Option<u64>, ErrorBody> {
        let crm = self.crm_mut(account)?;
        let Ok(no) = crm.number_of(customer) else {
            return Ok(None);
        };
        Ok(crm
            .contacts
            .get(&no)
            .filter(|s| s.contact.state != ContactState::Blacklisted)
            .filter(|s| groups.is_empty() || s.contact.groups.iter().any(|g| groups.contains(&g.0)))
            .map(|_| no))
    }

    /// Refuses (`NOT_FOUND`) a group number the account does not have.
    pub(super) fn groups_exist(&mut self, account: u64, groups: &[u32]) -> Result<(), ErrorBody> {
        let crm = self.crm_mut(account)?;
        match groups
            .iter()
            .find(|g| crm.groups.group(GroupId(**g)).is_none())
        {
            Some(g) => Err(err(ErrorCode::NOT_FOUND, format!("no group {g}"))),
            None => Ok(()),
        }
    }
}

/// Reads an account's CRM from the store: its record (tags, groups, counters,
/// settings), every contact, and recently contacted from the newest conversations.
/// Pure reads: it runs on the worker pool when an account loads (`load.rs`), or on
/// the loop as a fallback.
pub(super) fn read_crm(
    store: &dyn crate::store::KvStore,
    account: u64,
    plan: crate::store::records::Plan,
    utc_offset: i32,
) -> Result<CrmState, ErrorBody> {
    let storage = |e: crate::store::StoreError| err(ErrorCode::STORAGE_FAILURE, e.to_string());
    let stored = store
        .get(Cf::CrmAccounts, &keys::account(account))
        .map_err(storage)?
        .map(|b| CrmAccountRecord::decode(&b))
        .transpose()
        .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
    let (tags, groups, counters, settings, next_contact) = match stored {
        Some(r) => (
            Tags::restore(r.tags, r.next_tag)
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?,
            Groups::restore(r.groups, r.next_group)
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?,
            r.counters,
            r.settings,
            r.next_contact,
        ),
        None => (
            Tags::with_presets(),
            Groups::new(),
            Default::default(),
            ContactSettings::default(),
            1,
        ),
    };
    let near = super::reminders::read_reminders(store, account)?.near_limit_percent;
    let limits = ContactLimits::for_plan(plan, utc_offset, counters)
        .map_err(|e| err(ErrorCode::INTERNAL, e.to_string()))?
        .with_near_percent(near);
    let mut state = CrmState {
        contacts: BTreeMap::new(),
        by_key: ContactKeys::new(),
        index: None,
        tags,
        groups,
        limits,
        settings,
        next_contact,
        recent: RecentContacts::new(),
        imports: HashMap::new(),
        rolled_back: None,
        chunk_counts: None,
    };
    read_contacts(store, account, &mut state)?;
    read_recent(store, account, &mut state)?;
    // The search index is built here, off the loop, with the rest of the load: built
    // on the first search instead, it stalled the shard for 0.5 s at 100,000 contacts.
    state.index();
    // The counters are recounted rather than trusted (limits doc: "recounts if it
    // doubts"): contacts that count, and pending additions, which are never stored as a
    // count (a data directory from when pending ones counted reads right after this).
    let pending = state
        .contacts
        .values()
        .filter(|s| s.contact.state == ContactState::Pending)
        .count();
    let pending = u32::try_from(pending).unwrap_or(u32::MAX);
    let counted = u32::try_from(state.contacts.len())
        .unwrap_or(u32::MAX)
        .saturating_sub(pending);
    if state.limits.counters().contacts != counted {
        let mut c = state.limits.counters();
        c.contacts = counted;
        state.limits = ContactLimits::for_plan(plan, utc_offset, c)
            .map_err(|e| err(ErrorCode::INTERNAL, e.to_string()))?
            .with_near_percent(near);
    }
    state.limits = state.limits.clone().with_pending(pending);
    Ok(state)
}

/// The account's contacts into `state`, less those of an import chunk the daemon
/// stopped applying (`import_jobs.rs`): they are left out here and deleted when the
/// account is installed.
fn read_contacts(
    store: &dyn crate::store::KvStore,
    account: u64,
    state: &mut CrmState,
) -> Result<(), ErrorBody> {
    let storage = |e: crate::store::StoreError| err(ErrorCode::STORAGE_FAILURE, e.to_string());
    state.rolled_back = store
        .get(Cf::CrmAccounts, &keys::import_job(account))
        .map_err(storage)?
        .map(|b| ImportJobRecord::decode(&b))
        .transpose()
        .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
    let rolled_back = state.rolled_back.map_or(0..0, |r| r.first..r.end);
    let mut after = 0u64;
    loop {
        let range = keys::contacts_after(account, after);
        let page = store
            .scan(Cf::Contacts, &range.start, &range.end, LOAD_SCAN)
            .map_err(storage)?;
        let full = page.len() == LOAD_SCAN;
        for (_, value) in page {
            let r = ContactRecord::decode(&value)
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
            after = r.no;
            state.next_contact = state.next_contact.max(r.no + 1);
            if rolled_back.contains(&r.no) {
                continue;
            }
            state.insert(r.no, r.contact, r.request_note);
        }
        if !full {
            break;
        }
    }
    Ok(())
}

/// Recently contacted (R9) into `state`, from the newest stored conversations.
fn read_recent(
    store: &dyn crate::store::KvStore,
    account: u64,
    state: &mut CrmState,
) -> Result<(), ErrorBody> {
    let storage = |e: crate::store::StoreError| err(ErrorCode::STORAGE_FAILURE, e.to_string());
    // Recently contacted, from the newest stored conversations (R9): at most
    // RECENT_REBUILD of them, so a long history does not lengthen the load.
    let range = keys::account_prefix(account);
    let mut end = range.end.clone();
    let mut read = 0usize;
    loop {
        let page = store
            .scan_reverse(Cf::Conversations, &range.start, &end, LOAD_SCAN)
            .map_err(storage)?;
        read += page.len();
        let full = page.len() == LOAD_SCAN && read < RECENT_REBUILD;
        for (stored_key, value) in &page {
            end.clone_from(stored_key);
            let Ok(r) = ConversationRecord::decode(value) else {
                continue;
            };
            let (Some(agent), Ok(key)) = (r.agent, CustomerKey::try_from(r.customer)) else {
                continue;
            };
            if let Some(&no) = state.by_key.get(&key) {
                let at = now_secs(r.closed_at.unwrap_or(r.opened_at));
                state.recent.touch(agent, no, at);
            }
        }
        if !full {
            break;
        }
    }
    Ok(())
}

fn add_refusal(e: crate::crm::AddRefusal) -> ErrorBody {
    let code = match e {
        crate::crm::AddRefusal::DailyLimit => ErrorCode::DAILY_LIMIT,
        crate::crm::AddRefusal::TooManyPending { .. } => ErrorCode::PENDING_LIMIT,
        _ => ErrorCode::CONTACT_LIMIT,
    };
    err(code, e.to_string())
}
