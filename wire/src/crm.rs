//! Types of the CRM and history features (contacts, groups, tags, search, import,
//! history queries), carried inside `Request` and `Response` variants. Their limits and
//! meaning are in `wire/PROTOCOL.md` section 17.

use crate::chat::{CustomerId, MessageInfo};
use serde::{Deserialize, Serialize};

/// Where a contact stands with the account (every state counts toward the plan limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactState {
    /// A friend (好友).
    Friend,
    /// A stranger (陌生人): talked to the account without being a friend.
    Stranger,
    /// Blacklisted (黑名单).
    Blacklisted,
    /// Asked to become a friend; waiting for the customer to accept.
    Pending,
}

/// Visit information of a web visitor contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    /// First visit, unix seconds.
    pub first_at: i64,
    /// Latest visit, unix seconds.
    pub last_at: i64,
    /// Number of visits.
    pub visits: u32,
    /// Where the visitor came from (page or referrer).
    pub source: String,
    /// Region.
    pub region: String,
}

/// A contact (客户资料) as agents see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInfo {
    /// The customer.
    pub customer: CustomerId,
    /// Friend, stranger, blacklisted or pending.
    pub state: ContactState,
    /// The agent who owns it (R2), if any.
    pub owner: Option<u32>,
    /// Real name (searchable).
    pub real_name: String,
    /// Remark (searchable).
    pub remark: String,
    /// Nickname the customer chose (searchable).
    pub nickname: String,
    /// Phone (searchable).
    pub phone: String,
    /// E-mail (searchable).
    pub email: String,
    /// Free fields, name → value, in name order.
    pub fields: Vec<(String, String)>,
    /// Contact groups it is in.
    pub groups: Vec<u32>,
    /// Tags it carries.
    pub tags: Vec<u32>,
    /// Visit information, for visitors.
    pub visit: Option<Visit>,
    /// Last accepted: unix seconds and agent.
    pub last_accepted: Option<(i64, u32)>,
    /// Last message with the account, unix seconds.
    pub last_contact_at: Option<i64>,
    /// When the contact was stored, unix seconds.
    pub created_at: i64,
}

/// A change to a contact's profile: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEdit {
    /// New real name.
    pub real_name: Option<String>,
    /// New remark.
    pub remark: Option<String>,
    /// New nickname.
    pub nickname: Option<String>,
    /// New phone.
    pub phone: Option<String>,
    /// New e-mail.
    pub email: Option<String>,
    /// Free fields to set (`Some`) or remove (`None`).
    pub fields: Vec<(String, Option<String>)>,
    /// The new set of groups (needs permission 8 when it changes).
    pub groups: Option<Vec<u32>>,
    /// The new set of tags.
    pub tags: Option<Vec<u32>>,
}

/// Result order of a contact search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactSort {
    /// Last contact, newest first; never-contacted last.
    LastContact,
    /// Display name.
    Name,
    /// Newest contact first.
    Newest,
}

/// A contact search (R6): keyword and filters, all of which must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactQuery {
    /// Keyword over real name, remark, nickname, id, e-mail and phone; empty = any.
    pub text: String,
    /// In any one of these groups.
    pub groups: Vec<u32>,
    /// Carrying every one of these tags.
    pub tags: Vec<u32>,
    /// Owned by this agent.
    pub owner: Option<u32>,
    /// In this state.
    pub state: Option<ContactState>,
    /// Last contact within `[from, until)`, unix seconds.
    pub last_contact: Option<(i64, i64)>,
    /// Order.
    pub sort: ContactSort,
    /// Results to skip.
    pub offset: u32,
    /// Results to return (1..=100).
    pub limit: u16,
}

impl ContactQuery {
    /// Every contact, newest first, `limit` at a time: no keyword and no filter (set
    /// the fields to narrow it, e.g. `ContactQuery { state, ..ContactQuery::everything(1) }`).
    pub fn everything(limit: u16) -> ContactQuery {
        ContactQuery {
            text: String::new(),
            groups: Vec::new(),
            tags: Vec::new(),
            owner: None,
            state: None,
            last_contact: None,
            sort: ContactSort::Newest,
            offset: 0,
            limit,
        }
    }
}

/// A page of contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPage {
    /// How many match in all.
    pub total: u64,
    /// This page.
    pub contacts: Vec<ContactInfo>,
}

/// A tag of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagInfo {
    /// Its id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// Colour `0xRRGGBB`.
    pub colour: u32,
}

/// A change to the account's tags (at most 16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TagEdit {
    /// A new tag.
    Create {
        /// Name.
        name: String,
        /// Colour `0xRRGGBB`.
        colour: u32,
    },
    /// Rename a tag.
    Rename {
        /// The tag.
        id: u32,
        /// New name.
        name: String,
    },
    /// Change a tag's colour.
    Recolour {
        /// The tag.
        id: u32,
        /// Colour `0xRRGGBB`.
        colour: u32,
    },
    /// Delete a tag; contacts lose it.
    Delete {
        /// The tag.
        id: u32,
    },
}

/// A contact group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// Its id.
    pub id: u32,
    /// Its name.
    pub name: String,
}

/// An entry of the top level of the group tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupNode {
    /// A category and its groups, in order.
    Category {
        /// Its id.
        id: u32,
        /// Its name.
        name: String,
        /// Its groups.
        groups: Vec<GroupInfo>,
    },
    /// A group outside any category.
    Group(GroupInfo),
}

/// A change to the account's contact groups (two levels: categories hold groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupEdit {
    /// A new category at the end.
    CreateCategory {
        /// Name.
        name: String,
    },
    /// A new group at the end of a category (or of the top level).
    CreateGroup {
        /// Name.
        name: String,
        /// Its category.
        category: Option<u32>,
    },
    /// Rename a category.
    RenameCategory {
        /// The category.
        id: u32,
        /// New name.
        name: String,
    },
    /// Rename a group.
    RenameGroup {
        /// The group.
        id: u32,
        /// New name.
        name: String,
    },
    /// Delete a category and its groups; contacts leave them.
    DeleteCategory {
        /// The category.
        id: u32,
    },
    /// Delete a group; contacts leave it.
    DeleteGroup {
        /// The group.
        id: u32,
    },
    /// Move a group into a category (or the top level) at a position.
    MoveGroup {
        /// The group.
        id: u32,
        /// Target category.
        category: Option<u32>,
        /// Position in the target.
        position: u32,
    },
    /// Move a category to a position of the top level.
    MoveCategory {
        /// The category.
        id: u32,
        /// Position.
        position: u32,
    },
}

/// An invalid row of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidRow {
    /// 1-based line of the file where the row starts.
    pub line: u64,
    /// Why it is invalid.
    pub reason: String,
}

/// What an import did so far (after the last chunk: the result report, §5.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// New contacts stored.
    pub imported: u64,
    /// Rows naming existing contacts (or an earlier row of the file).
    pub skipped_existing: u64,
    /// New rows refused because the plan's contact limit is reached.
    pub refused_plan: u64,
    /// Rows refused by the daily import limit.
    pub refused_daily: u64,
    /// The first 1,000 invalid rows.
    pub invalid: Vec<InvalidRow>,
    /// Every invalid row, listed or not.
    pub invalid_total: u64,
    /// The file is finished (the chunk marked `last` was taken).
    pub finished: bool,
}

/// Which messages a history query keeps, by kind (H2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryKind {
    /// Every message.
    All,
    /// Images only.
    Images,
    /// Files only.
    Files,
}

/// A history query (H1–H3): one customer's messages with the account, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// The customer.
    pub customer: CustomerId,
    /// Every message (`true`) or the last 15 days (`false`, the default window).
    pub all_time: bool,
    /// Only messages this agent wrote or was sent.
    pub agent: Option<u32>,
    /// Kind filter.
    pub kind: HistoryKind,
    /// Only text messages containing this (any script); empty = no keyword.
    pub keyword: String,
    /// Only messages with a smaller id (the previous page's `next_before`).
    pub before: Option<u64>,
    /// At most this many (1..=200).
    pub limit: u16,
}

/// A page of history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The messages the asker may see.
    pub messages: Vec<MessageInfo>,
    /// Where the next page starts (`before`), or `None` when nothing older matches.
    pub next_before: Option<u64>,
}

/// An account's contact settings (M7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactSettings {
    /// Send a friend request to every visiting non-contact when its conversation opens
    /// (never to the trash); otherwise it is stored as a stranger.
    pub auto_friend_request: bool,
    /// Verification question a customer adding the account must answer; empty = none.
    pub question: String,
    /// The expected answer (compared ignoring case and surrounding white space).
    pub answer: String,
}

/// A CRM notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactNotice {
    /// To agents: a customer added the account.
    AddedUs {
        /// The customer.
        customer: CustomerId,
    },
    /// To agents: a customer answered the account's friend request.
    Answered {
        /// The customer.
        customer: CustomerId,
        /// Accepted (now a friend) or declined.
        accepted: bool,
    },
    /// To a customer: the account asks it to become a friend.
    FriendRequest {
        /// The account.
        account: u64,
        /// The agent's note.
        note: String,
    },
}
