//! The contact (客户资料, manual §5.1–5.3, R1–R3): who the customer is to the account, its
//! state, owner agent, profile, groups, tags and visit information, with a limit for every
//! field and typed validation errors.
//!
//! This is the daemon's domain type, not a wire message and not the stored bytes: the
//! protocol and the store convert to and from it. **Invariant:** every contact the shard
//! stores or indexes has passed [`Contact::validate`]; [`Contact::apply`] and the CSV
//! import only ever hand out validated contacts.
//!
//! | field | limit |
//! |---|---|
//! | identified id | 1..=[`MAX_ID_BYTES`] bytes (as the protocol's `CustomerId`) |
//! | real name, nickname | ≤ [`MAX_NAME_CHARS`] characters, one line |
//! | remark | ≤ [`MAX_REMARK_CHARS`] characters, may span lines (`\n`, `\t`) |
//! | phone | ≤ [`MAX_PHONE_CHARS`] of `0-9 + - ( ) .` and space, at least one digit |
//! | e-mail | ≤ [`MAX_EMAIL_BYTES`] bytes, `local@domain`, no white space |
//! | free fields | ≤ [`MAX_FREE_FIELDS`]; name 1..=[`MAX_FREE_KEY_CHARS`] one line; value 1..=[`MAX_FREE_VALUE_CHARS`] characters, may span lines |
//! | groups | ≤ [`MAX_GROUPS_PER_CONTACT`] |
//! | tags | ≤ [`MAX_TAGS_PER_CONTACT`] (an account has at most 16 tags) |
//! | visit source, region | ≤ [`MAX_VISIT_SOURCE_CHARS`], ≤ [`MAX_VISIT_REGION_CHARS`] characters, one line |
//!
//! "One line" means no control character at all; "may span lines" allows `\n` and `\t`
//! but no other control character (a `\r` is refused so that text has one spelling).
//! An empty string means "not set" for every text field.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use kefu_wire::chat::CustomerId;

use super::groups::GroupId;
use super::tags::{TagId, MAX_TAGS};

/// Longest identified customer id, in bytes (the protocol's limit).
pub const MAX_ID_BYTES: usize = 64;
/// Longest real name or nickname, in characters.
pub const MAX_NAME_CHARS: usize = 32;
/// Longest remark, in characters.
pub const MAX_REMARK_CHARS: usize = 256;
/// Longest phone number, in characters.
pub const MAX_PHONE_CHARS: usize = 32;
/// Longest e-mail address, in bytes (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Most free fields on one contact.
pub const MAX_FREE_FIELDS: usize = 16;
/// Longest free-field name, in characters.
pub const MAX_FREE_KEY_CHARS: usize = 32;
/// Longest free-field value, in characters.
pub const MAX_FREE_VALUE_CHARS: usize = 256;
/// Most groups one contact is in.
pub const MAX_GROUPS_PER_CONTACT: usize = 32;
/// Most tags on one contact (all the account's tags).
pub const MAX_TAGS_PER_CONTACT: usize = MAX_TAGS;
/// Longest visit source (page address or referrer), in characters.
pub const MAX_VISIT_SOURCE_CHARS: usize = 512;
/// Longest visit region, in characters.
pub const MAX_VISIT_REGION_CHARS: usize = 64;

/// How a contact is known to the account: the protocol's customer identity, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CustomerKey {
    /// Identified by the enterprise's backend: its own id, 1..=[`MAX_ID_BYTES`] bytes.
    Identified(String),
    /// An anonymous web visitor with a server-issued id.
    Visitor([u8; 16]),
}

impl CustomerKey {
    /// An identified key, checked.
    pub fn identified(id: impl Into<String>) -> Result<CustomerKey, ContactError> {
        let key = CustomerKey::Identified(id.into());
        key.validate()?;
        Ok(key)
    }

    /// Checks the id length of an identified key (a visitor key is always valid).
    pub fn validate(&self) -> Result<(), ContactError> {
        match self {
            CustomerKey::Identified(id) if id.is_empty() => Err(ContactError::IdEmpty),
            CustomerKey::Identified(id) if id.len() > MAX_ID_BYTES => {
                Err(ContactError::IdTooLong { len: id.len() })
            }
            _ => Ok(()),
        }
    }

    /// The text search sees for this key: the id itself, or a visitor id in lower-case hex.
    pub fn search_text(&self) -> Cow<'_, str> {
        match self {
            CustomerKey::Identified(id) => Cow::Borrowed(id),
            CustomerKey::Visitor(bytes) => Cow::Owned(hex(bytes)),
        }
    }
}

impl TryFrom<CustomerId> for CustomerKey {
    type Error = ContactError;

    fn try_from(id: CustomerId) -> Result<Self, Self::Error> {
        let key = match id {
            CustomerId::Identified(id) => CustomerKey::Identified(id),
            CustomerId::Visitor(bytes) => CustomerKey::Visitor(bytes),
        };
        key.validate()?;
        Ok(key)
    }
}

impl From<CustomerKey> for CustomerId {
    fn from(key: CustomerKey) -> Self {
        match key {
            CustomerKey::Identified(id) => CustomerId::Identified(id),
            CustomerKey::Visitor(bytes) => CustomerId::Visitor(bytes),
        }
    }
}

/// Where a contact stands with the account (§5.5 counts every state toward the limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactState {
    /// A friend (好友): added and accepted, imported, or the customer added the account.
    Friend,
    /// A stranger (陌生人): talked to the account without being a friend.
    Stranger,
    /// Blacklisted (黑名单).
    Blacklisted,
    /// An agent asked to add the customer; waiting for the customer to accept (R4).
    Pending,
}

impl ContactState {
    /// Every state.
    pub const ALL: [ContactState; 4] = [
        ContactState::Friend,
        ContactState::Stranger,
        ContactState::Blacklisted,
        ContactState::Pending,
    ];

    /// The name used in CSV files.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContactState::Friend => "friend",
            ContactState::Stranger => "stranger",
            ContactState::Blacklisted => "blacklisted",
            ContactState::Pending => "pending",
        }
    }

    /// Parses a CSV name: the English names of [`ContactState::as_str`] (any case) or the
    /// Chinese ones (好友, 陌生人, 黑名单, 待验证).
    pub fn parse(text: &str) -> Option<ContactState> {
        let lower = text.trim().to_ascii_lowercase();
        match lower.as_str() {
            "friend" | "好友" => Some(ContactState::Friend),
            "stranger" | "陌生人" => Some(ContactState::Stranger),
            "blacklisted" | "黑名单" => Some(ContactState::Blacklisted),
            "pending" | "待验证" => Some(ContactState::Pending),
            _ => None,
        }
    }

    /// Whether a contact in this state may be moved to `to` by [`Contact::with_state`].
    ///
    /// | from | to |
    /// |---|---|
    /// | any | itself, Blacklisted |
    /// | Stranger | Pending (an agent adds it), Friend (the customer adds the account) |
    /// | Pending | Friend (accepted), Stranger (declined) |
    /// | Friend | Stranger (the friendship was removed) |
    /// | Blacklisted | Stranger, Friend (taken off the blacklist) |
    pub const fn can_become(self, to: ContactState) -> bool {
        use ContactState::*;
        matches!(
            (self, to),
            (Friend, Friend)
                | (Stranger, Stranger)
                | (Blacklisted, Blacklisted)
                | (Pending, Pending)
                | (_, Blacklisted)
                | (Stranger, Pending | Friend)
                | (Pending, Friend | Stranger)
                | (Friend, Stranger)
                | (Blacklisted, Stranger | Friend)
        )
    }
}

impl fmt::Display for ContactState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Visit information (来访信息) shown when a conversation opens (§5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitInfo {
    /// First visit, unix seconds.
    pub first_at: i64,
    /// Latest visit, unix seconds; never before `first_at`.
    pub last_at: i64,
    /// Number of visits.
    pub visits: u32,
    /// Where the latest visit came from (page address or referrer); "" if unknown.
    pub source: String,
    /// Region of the latest visit; "" if unknown.
    pub region: String,
}

/// The last time a conversation with the contact was accepted, and by whom (§5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// When, unix seconds.
    pub at: i64,
    /// The agent who accepted it.
    pub agent: u32,
}

/// A contact of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Who the customer is.
    pub key: CustomerKey,
    /// Friend, stranger, blacklisted or pending.
    pub state: ContactState,
    /// The agent whose own customer this is (R2): who first served, added or imported it.
    /// Never moved by a transfer (§5.1: it records who brought or first served the
    /// customer; history's permission 5 follows it).
    pub owner: Option<u32>,
    /// The agent this customer is exclusive to while exclusive customers are on (C7,
    /// §7.17): set with `owner` when an agent adds, imports or first serves the customer
    /// (rules a, b), and moved by a transfer (rule e) while `owner` stays. Routing and
    /// the CRM's rule d (who may see the contact) follow it.
    pub exclusive_owner: Option<u32>,
    /// Real name (真实姓名), searchable.
    pub real_name: String,
    /// Remark (备注), searchable.
    pub remark: String,
    /// Nickname (昵称), searchable.
    pub nickname: String,
    /// Phone number, searchable by any part of its digits.
    pub phone: String,
    /// E-mail address, searchable.
    pub email: String,
    /// Free fields, by name.
    pub fields: BTreeMap<String, String>,
    /// Groups the contact is in (several at once, §5.2).
    pub groups: BTreeSet<GroupId>,
    /// Tags on the contact (§5.8).
    pub tags: BTreeSet<TagId>,
    /// Visit information, once the customer visited.
    pub visit: Option<VisitInfo>,
    /// Last accepted conversation.
    pub last_accepted: Option<Accepted>,
    /// Last time the account talked with the contact, unix seconds: what search sorts and
    /// filters by ("last contact"). The shard sets it at least when a conversation is
    /// accepted and when it closes.
    pub last_contact_at: Option<i64>,
    /// When the contact was created, unix seconds.
    pub created_at: i64,
}

/// A field of a contact, to say which one an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// [`Contact::real_name`].
    RealName,
    /// [`Contact::remark`].
    Remark,
    /// [`Contact::nickname`].
    Nickname,
    /// [`Contact::phone`].
    Phone,
    /// [`Contact::email`].
    Email,
    /// The name of a free field.
    FreeFieldName,
    /// The value of a free field.
    FreeFieldValue,
    /// [`VisitInfo::source`].
    VisitSource,
    /// [`VisitInfo::region`].
    VisitRegion,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::RealName => "real name",
            Field::Remark => "remark",
            Field::Nickname => "nickname",
            Field::Phone => "phone",
            Field::Email => "e-mail",
            Field::FreeFieldName => "free field name",
            Field::FreeFieldValue => "free field value",
            Field::VisitSource => "visit source",
            Field::VisitRegion => "visit region",
        })
    }
}

/// Why a contact (or a change to it) was refused. Always the requester's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContactError {
    /// An identified customer id is empty.
    #[error("the customer id is empty")]
    IdEmpty,
    /// An identified customer id is too long.
    #[error("the customer id is {len} bytes, more than {MAX_ID_BYTES}")]
    IdTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A text field is too long (characters; bytes for the e-mail address).
    #[error("the {field} is {len} long, more than {max}")]
    TooLong {
        /// Which field.
        field: Field,
        /// Its length.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// A text field holds a control character it may not hold.
    #[error("the {field} holds the control character {ch:?}")]
    ControlChar {
        /// Which field.
        field: Field,
        /// The character.
        ch: char,
    },
    /// The phone number holds something else than digits, spaces and `+ - ( ) .`, or
    /// no digit at all.
    #[error("a phone number holds digits, spaces and + - ( ) . only, and at least one digit")]
    InvalidPhone,
    /// The e-mail address is not `local@domain` without white space.
    #[error("not an e-mail address (local@domain, no spaces)")]
    InvalidEmail,
    /// Too many free fields.
    #[error("{count} free fields, more than {MAX_FREE_FIELDS}")]
    TooManyFields {
        /// How many were given.
        count: usize,
    },
    /// A free field has an empty name.
    #[error("a free field has no name")]
    EmptyFieldName,
    /// A free field has an empty value (remove the field instead).
    #[error("the free field {name:?} has an empty value")]
    EmptyFieldValue {
        /// The field's name.
        name: String,
    },
    /// The contact is in too many groups.
    #[error("{count} groups, more than {MAX_GROUPS_PER_CONTACT}")]
    TooManyGroups {
        /// How many were given.
        count: usize,
    },
    /// The contact has too many tags.
    #[error("{count} tags, more than {MAX_TAGS_PER_CONTACT}")]
    TooManyTags {
        /// How many were given.
        count: usize,
    },
    /// The visit information's latest visit is before its first.
    #[error("the latest visit is before the first")]
    VisitOrder,
    /// The state change is not one [`ContactState::can_become`] allows.
    #[error("a {from} contact cannot become {to}")]
    StateChange {
        /// Current state.
        from: ContactState,
        /// Requested state.
        to: ContactState,
    },
}

/// A change of a contact's profile, as an agent edits it: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    /// New real name ("" clears it).
    pub real_name: Option<String>,
    /// New remark.
    pub remark: Option<String>,
    /// New nickname.
    pub nickname: Option<String>,
    /// New phone number.
    pub phone: Option<String>,
    /// New e-mail address.
    pub email: Option<String>,
    /// Free fields to set (`Some`) or remove (`None`), in order.
    pub fields: Vec<(String, Option<String>)>,
    /// The new set of groups, replacing the old one.
    pub groups: Option<BTreeSet<GroupId>>,
    /// The new set of tags, replacing the old one.
    pub tags: Option<BTreeSet<TagId>>,
}

impl Contact {
    /// A new contact with an empty profile, created at `now`.
    pub fn new(key: CustomerKey, state: ContactState, owner: Option<u32>, now: i64) -> Contact {
        Contact {
            key,
            state,
            owner,
            exclusive_owner: owner,
            real_name: String::new(),
            remark: String::new(),
            nickname: String::new(),
            phone: String::new(),
            email: String::new(),
            fields: BTreeMap::new(),
            groups: BTreeSet::new(),
            tags: BTreeSet::new(),
            visit: None,
            last_accepted: None,
            last_contact_at: None,
            created_at: now,
        }
    }

    /// Checks every limit of the module table.
    pub fn validate(&self) -> Result<(), ContactError> {
        self.key.validate()?;
        check_text(Field::RealName, &self.real_name, MAX_NAME_CHARS, false)?;
        check_text(Field::Remark, &self.remark, MAX_REMARK_CHARS, true)?;
        check_text(Field::Nickname, &self.nickname, MAX_NAME_CHARS, false)?;
        check_phone(&self.phone)?;
        check_email(&self.email)?;
        if self.fields.len() > MAX_FREE_FIELDS {
            return Err(ContactError::TooManyFields {
                count: self.fields.len(),
            });
        }
        for (name, value) in &self.fields {
            check_field_name(name)?;
            if value.is_empty() {
                return Err(ContactError::EmptyFieldValue { name: name.clone() });
            }
            check_text(Field::FreeFieldValue, value, MAX_FREE_VALUE_CHARS, true)?;
        }
        if self.groups.len() > MAX_GROUPS_PER_CONTACT {
            return Err(ContactError::TooManyGroups {
                count: self.groups.len(),
            });
        }
        if self.tags.len() > MAX_TAGS_PER_CONTACT {
            return Err(ContactError::TooManyTags {
                count: self.tags.len(),
            });
        }
        if let Some(visit) = &self.visit {
            if visit.last_at < visit.first_at {
                return Err(ContactError::VisitOrder);
            }
            check_text(
                Field::VisitSource,
                &visit.source,
                MAX_VISIT_SOURCE_CHARS,
                false,
            )?;
            check_text(
                Field::VisitRegion,
                &visit.region,
                MAX_VISIT_REGION_CHARS,
                false,
            )?;
        }
        Ok(())
    }

    /// The contact with `update` applied and validated; `self` is left as it was.
    pub fn apply(&self, update: &ProfileUpdate) -> Result<Contact, ContactError> {
        let mut next = self.clone();
        let texts = [
            (&update.real_name, &mut next.real_name),
            (&update.remark, &mut next.remark),
            (&update.nickname, &mut next.nickname),
            (&update.phone, &mut next.phone),
            (&update.email, &mut next.email),
        ];
        for (new, old) in texts {
            if let Some(new) = new {
                old.clone_from(new);
            }
        }
        for (name, value) in &update.fields {
            match value {
                Some(value) => {
                    next.fields.insert(name.clone(), value.clone());
                }
                None => {
                    next.fields.remove(name);
                }
            }
        }
        if let Some(groups) = &update.groups {
            next.groups.clone_from(groups);
        }
        if let Some(tags) = &update.tags {
            next.tags.clone_from(tags);
        }
        next.validate()?;
        Ok(next)
    }

    /// The contact in state `to`, if [`ContactState::can_become`] allows it.
    pub fn with_state(&self, to: ContactState) -> Result<Contact, ContactError> {
        if !self.state.can_become(to) {
            return Err(ContactError::StateChange {
                from: self.state,
                to,
            });
        }
        let mut next = self.clone();
        next.state = to;
        Ok(next)
    }

    /// The name a list shows: the real name, else the nickname, else the remark's first
    /// line, else the customer id.
    pub fn display_name(&self) -> Cow<'_, str> {
        [&self.real_name, &self.nickname]
            .into_iter()
            .map(String::as_str)
            .chain(self.remark.lines().next())
            .find(|s| !s.is_empty())
            .map(Cow::Borrowed)
            .unwrap_or_else(|| self.key.search_text())
    }
}

/// Checks length (in characters) and control characters of a text field.
fn check_text(field: Field, text: &str, max: usize, multiline: bool) -> Result<(), ContactError> {
    let len = text.chars().count();
    if len > max {
        return Err(ContactError::TooLong { field, len, max });
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t'));
    match text.chars().find(|c| !allowed(*c)) {
        Some(ch) => Err(ContactError::ControlChar { field, ch }),
        None => Ok(()),
    }
}

/// Checks a free-field name: 1..=[`MAX_FREE_KEY_CHARS`] characters, one line.
pub(crate) fn check_field_name(name: &str) -> Result<(), ContactError> {
    if name.is_empty() {
        return Err(ContactError::EmptyFieldName);
    }
    check_text(Field::FreeFieldName, name, MAX_FREE_KEY_CHARS, false)
}

fn check_phone(phone: &str) -> Result<(), ContactError> {
    if phone.is_empty() {
        return Ok(());
    }
    let len = phone.chars().count();
    if len > MAX_PHONE_CHARS {
        return Err(ContactError::TooLong {
            field: Field::Phone,
            len,
            max: MAX_PHONE_CHARS,
        });
    }
    let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
    if !phone.chars().all(allowed) || !phone.chars().any(|c| c.is_ascii_digit()) {
        return Err(ContactError::InvalidPhone);
    }
    Ok(())
}

fn check_email(email: &str) -> Result<(), ContactError> {
    if email.is_empty() {
        return Ok(());
    }
    if email.len() > MAX_EMAIL_BYTES {
        return Err(ContactError::TooLong {
            field: Field::Email,
            len: email.len(),
            max: MAX_EMAIL_BYTES,
        });
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(ContactError::InvalidEmail);
    };
    let bad = |c: char| c.is_whitespace() || c.is_control();
    if local.is_empty() || domain.is_empty() || domain.contains('@') || email.contains(bad) {
        return Err(ContactError::InvalidEmail);
    }
    Ok(())
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        for nibble in [b >> 4, b & 0xf] {
            out.extend(char::from_digit(u32::from(nibble), 16));
        }
    }
    out
}

/// Parses exactly 32 hex digits (either case) into a visitor id.
pub(crate) fn parse_visitor_hex(text: &str) -> Option<[u8; 16]> {
    let digits = text.as_bytes();
    if digits.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        *byte = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid contact with every field set.
    pub(crate) fn full_contact() -> Contact {
        let mut c = Contact::new(
            CustomerKey::identified("u10001").unwrap(),
            ContactState::Friend,
            Some(1001),
            1_700_000_000,
        );
        c.real_name = "张三".into();
        c.remark = "老客户\n上海 浦东".into();
        c.nickname = "Zhangsan".into();
        c.phone = "+86 138-0013-8000".into();
        c.email = "zhang.san@example.com".into();
        c.fields.insert("公司".into(), "示例有限公司".into());
        c.groups.insert(GroupId(3));
        c.tags.insert(TagId(1));
        c.visit = Some(VisitInfo {
            first_at: 1_699_000_000,
            last_at: 1_700_000_000,
            visits: 3,
            source: "https://example.com/products?id=7".into(),
            region: "上海".into(),
        });
        c.last_accepted = Some(Accepted {
            at: 1_700_000_100,
            agent: 1002,
        });
        c.last_contact_at = Some(1_700_000_200);
        c
    }

    fn with(f: impl FnOnce(&mut Contact)) -> Contact {
        let mut c = full_contact();
        f(&mut c);
        c
    }

    #[test]
    fn validation_table() {
        let long = |n: usize| "字".repeat(n);
        let cases: Vec<(&str, Contact, Result<(), ContactError>)> = vec![
            ("full", full_contact(), Ok(())),
            (
                "empty profile",
                Contact::new(
                    CustomerKey::Visitor([7; 16]),
                    ContactState::Stranger,
                    None,
                    0,
                ),
                Ok(()),
            ),
            (
                "empty id",
                with(|c| c.key = CustomerKey::Identified(String::new())),
                Err(ContactError::IdEmpty),
            ),
            (
                "64-byte id",
                with(|c| c.key = CustomerKey::Identified("x".repeat(64))),
                Ok(()),
            ),
            (
                "65-byte id",
                with(|c| c.key = CustomerKey::Identified("x".repeat(65))),
                Err(ContactError::IdTooLong { len: 65 }),
            ),
            ("32-char name", with(|c| c.real_name = long(32)), Ok(())),
            (
                "33-char name",
                with(|c| c.real_name = long(33)),
                Err(ContactError::TooLong {
                    field: Field::RealName,
                    len: 33,
                    max: 32,
                }),
            ),
            (
                "newline in name",
                with(|c| c.real_name = "张\n三".into()),
                Err(ContactError::ControlChar {
                    field: Field::RealName,
                    ch: '\n',
                }),
            ),
            (
                "33-char nickname",
                with(|c| c.nickname = long(33)),
                Err(ContactError::TooLong {
                    field: Field::Nickname,
                    len: 33,
                    max: 32,
                }),
            ),
            ("256-char remark", with(|c| c.remark = long(256)), Ok(())),
            (
                "257-char remark",
                with(|c| c.remark = long(257)),
                Err(ContactError::TooLong {
                    field: Field::Remark,
                    len: 257,
                    max: 256,
                }),
            ),
            (
                "tab and newline in remark",
                with(|c| c.remark = "a\tb\nc".into()),
                Ok(()),
            ),
            (
                "CR in remark",
                with(|c| c.remark = "a\r\nb".into()),
                Err(ContactError::ControlChar {
                    field: Field::Remark,
                    ch: '\r',
                }),
            ),
            (
                "phone letters",
                with(|c| c.phone = "138x".into()),
                Err(ContactError::InvalidPhone),
            ),
            (
                "phone without digits",
                with(|c| c.phone = "+-".into()),
                Err(ContactError::InvalidPhone),
            ),
            (
                "phone full-width digits",
                with(|c| c.phone = "１３８".into()),
                Err(ContactError::InvalidPhone),
            ),
            (
                "phone 33 chars",
                with(|c| c.phone = "1".repeat(33)),
                Err(ContactError::TooLong {
                    field: Field::Phone,
                    len: 33,
                    max: 32,
                }),
            ),
            (
                "phone (010) 6552.1234",
                with(|c| c.phone = "(010) 6552.1234".into()),
                Ok(()),
            ),
            (
                "email without @",
                with(|c| c.email = "zhang.example.com".into()),
                Err(ContactError::InvalidEmail),
            ),
            (
                "email two @",
                with(|c| c.email = "a@b@c".into()),
                Err(ContactError::InvalidEmail),
            ),
            (
                "email empty local",
                with(|c| c.email = "@b".into()),
                Err(ContactError::InvalidEmail),
            ),
            (
                "email empty domain",
                with(|c| c.email = "a@".into()),
                Err(ContactError::InvalidEmail),
            ),
            (
                "email with space",
                with(|c| c.email = "a b@c".into()),
                Err(ContactError::InvalidEmail),
            ),
            (
                "unicode email",
                with(|c| c.email = "张三@例子.中国".into()),
                Ok(()),
            ),
            (
                "email 255 bytes",
                with(|c| c.email = format!("{}@b", "a".repeat(253))),
                Err(ContactError::TooLong {
                    field: Field::Email,
                    len: 255,
                    max: 254,
                }),
            ),
            (
                "16 fields",
                with(|c| c.fields = (0..16).map(|i| (format!("f{i}"), "v".into())).collect()),
                Ok(()),
            ),
            (
                "17 fields",
                with(|c| c.fields = (0..17).map(|i| (format!("f{i}"), "v".into())).collect()),
                Err(ContactError::TooManyFields { count: 17 }),
            ),
            (
                "empty field name",
                with(|c| {
                    c.fields.insert(String::new(), "v".into());
                }),
                Err(ContactError::EmptyFieldName),
            ),
            (
                "33-char field name",
                with(|c| {
                    c.fields.insert(long(33), "v".into());
                }),
                Err(ContactError::TooLong {
                    field: Field::FreeFieldName,
                    len: 33,
                    max: 32,
                }),
            ),
            (
                "empty field value",
                with(|c| {
                    c.fields.insert("k".into(), String::new());
                }),
                Err(ContactError::EmptyFieldValue { name: "k".into() }),
            ),
            (
                "257-char field value",
                with(|c| {
                    c.fields.insert("k".into(), long(257));
                }),
                Err(ContactError::TooLong {
                    field: Field::FreeFieldValue,
                    len: 257,
                    max: 256,
                }),
            ),
            (
                "33 groups",
                with(|c| c.groups = (0..33).map(GroupId).collect()),
                Err(ContactError::TooManyGroups { count: 33 }),
            ),
            (
                "17 tags",
                with(|c| c.tags = (0..17).map(TagId).collect()),
                Err(ContactError::TooManyTags { count: 17 }),
            ),
            (
                "visit order",
                with(|c| {
                    if let Some(v) = c.visit.as_mut() {
                        v.last_at = v.first_at - 1;
                    }
                }),
                Err(ContactError::VisitOrder),
            ),
            (
                "visit region too long",
                with(|c| {
                    if let Some(v) = c.visit.as_mut() {
                        v.region = long(65);
                    }
                }),
                Err(ContactError::TooLong {
                    field: Field::VisitRegion,
                    len: 65,
                    max: 64,
                }),
            ),
            (
                "visit source with newline",
                with(|c| {
                    if let Some(v) = c.visit.as_mut() {
                        v.source = "a\nb".into();
                    }
                }),
                Err(ContactError::ControlChar {
                    field: Field::VisitSource,
                    ch: '\n',
                }),
            ),
        ];
        for (name, contact, want) in cases {
            assert_eq!(contact.validate(), want, "{name}");
        }
    }

    #[test]
    fn apply_validates_and_leaves_the_original_on_refusal() {
        let c = full_contact();
        let update = ProfileUpdate {
            real_name: Some("李四".into()),
            phone: Some(String::new()),
            fields: vec![("公司".into(), None), ("城市".into(), Some("北京".into()))],
            tags: Some(BTreeSet::new()),
            ..ProfileUpdate::default()
        };
        let next = c.apply(&update).unwrap();
        assert_eq!(next.real_name, "李四");
        assert_eq!(next.phone, "");
        assert_eq!(next.remark, c.remark);
        assert_eq!(
            next.fields.iter().collect::<Vec<_>>(),
            [(&"城市".to_string(), &"北京".to_string())]
        );
        assert!(next.tags.is_empty());
        assert_eq!(next.groups, c.groups);

        let bad = ProfileUpdate {
            real_name: Some("王五".into()),
            email: Some("nope".into()),
            ..ProfileUpdate::default()
        };
        assert_eq!(c.apply(&bad), Err(ContactError::InvalidEmail));
        assert_eq!(c, full_contact());
    }

    #[test]
    fn state_changes() {
        use ContactState::*;
        let allowed = [
            (Friend, Stranger),
            (Friend, Blacklisted),
            (Stranger, Pending),
            (Stranger, Friend),
            (Stranger, Blacklisted),
            (Pending, Friend),
            (Pending, Stranger),
            (Pending, Blacklisted),
            (Blacklisted, Stranger),
            (Blacklisted, Friend),
        ];
        for from in ContactState::ALL {
            for to in ContactState::ALL {
                let want = from == to || allowed.contains(&(from, to));
                assert_eq!(from.can_become(to), want, "{from} -> {to}");
                let c = with(|c| c.state = from);
                match c.with_state(to) {
                    Ok(next) => {
                        assert!(want);
                        assert_eq!(next.state, to);
                    }
                    Err(e) => {
                        assert!(!want);
                        assert_eq!(e, ContactError::StateChange { from, to });
                    }
                }
            }
        }
    }

    #[test]
    fn state_names_round_trip() {
        for s in ContactState::ALL {
            assert_eq!(ContactState::parse(s.as_str()), Some(s));
            assert_eq!(ContactState::parse(&s.as_str().to_uppercase()), Some(s));
        }
        assert_eq!(
            ContactState::parse("黑名单"),
            Some(ContactState::Blacklisted)
        );
        assert_eq!(ContactState::parse("x"), None);
    }

    #[test]
    fn customer_keys_convert_and_show() {
        let visitor = CustomerKey::Visitor([0xab; 16]);
        assert_eq!(visitor.search_text(), "ab".repeat(16));
        assert_eq!(
            parse_visitor_hex(&"AB".repeat(16)),
            Some([0xab; 16]),
            "either case"
        );
        for bad in ["ab", &"g0".repeat(16), &"a".repeat(33), &"字".repeat(11)] {
            assert_eq!(parse_visitor_hex(bad), None, "{bad}");
        }
        assert_eq!(
            CustomerKey::try_from(CustomerId::Identified("x".repeat(65))),
            Err(ContactError::IdTooLong { len: 65 })
        );
        let wire: CustomerId = CustomerKey::identified("u1").unwrap().into();
        assert_eq!(wire, CustomerId::Identified("u1".into()));
        assert_eq!(
            CustomerKey::try_from(CustomerId::Visitor([1; 16])),
            Ok(CustomerKey::Visitor([1; 16]))
        );
    }

    #[test]
    fn display_name_falls_back() {
        let mut c = full_contact();
        assert_eq!(c.display_name(), "张三");
        c.real_name.clear();
        assert_eq!(c.display_name(), "Zhangsan");
        c.nickname.clear();
        assert_eq!(c.display_name(), "老客户");
        c.remark.clear();
        assert_eq!(c.display_name(), "u10001");
    }
}
