//! Stored records of the CRM: one record per contact, and one per account holding its
//! tags, groups, limit counters, contact settings and next contact number.
//!
//! Same rules as [`records`](super::records): one version byte, frozen postcard bodies
//! (`mod v1`), explicit conversion from and to the domain types, typed errors on bad
//! input. Key layout: [`keys`](super::keys) (`contacts`, `crm_accounts`).
//!
//! There is no stored search index: an account's contacts are loaded and indexed in
//! memory on first use (100,000 contacts take well under a second), so a contact and
//! its index can never disagree on disk.

use super::records::{
    decode_body, decode_v1, encode_versioned, split_version, RecordError, StoredRecord, V1,
};
use crate::crm::{
    Accepted, Category, CategoryId, Colour, Contact, ContactState, CustomerKey, Group, GroupId,
    LimitCounters, LimitLevel, Tag, TagId, TreeNode, VisitInfo,
};
use std::collections::{BTreeMap, BTreeSet};

/// One contact of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    /// Account number.
    pub account: u64,
    /// Contact number: unique in the account, never reused.
    pub no: u64,
    /// The contact.
    pub contact: Contact,
    /// The note of a pending friend request (shown to the customer until it answers).
    pub request_note: String,
}

/// The CRM state of one account besides its contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmAccountRecord {
    /// Account number.
    pub account: u64,
    /// The number the next contact gets.
    pub next_contact: u64,
    /// Limit counters (§5.5).
    pub counters: LimitCounters,
    /// Tags, in display order.
    pub tags: Vec<Tag>,
    /// The id the next tag gets.
    pub next_tag: u32,
    /// The group tree.
    pub groups: Vec<TreeNode>,
    /// The id the next group or category gets.
    pub next_group: u32,
    /// Contact settings (M7).
    pub settings: kefu_wire::crm::ContactSettings,
}

/// Version 2 of the contact record.
const CONTACT_V2: u8 = 2;

/// Frozen version-2 bodies: only the contact changed. It keeps the exclusive owner (C7)
/// apart from the own-customer owner (R2), as the version-1 body followed by it. Never
/// edit.
mod v2 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Contact<'a> {
        #[serde(borrow)]
        pub base: super::v1::Contact<'a>,
        pub exclusive_owner: Option<u32>,
    }
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) enum Key<'a> {
        Identified(&'a str),
        Visitor([u8; 16]),
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum State {
        Friend,
        Stranger,
        Blacklisted,
        Pending,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Visit<'a> {
        pub first_at: i64,
        pub last_at: i64,
        pub visits: u32,
        pub source: &'a str,
        pub region: &'a str,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Contact<'a> {
        pub account: u64,
        pub no: u64,
        #[serde(borrow)]
        pub key: Key<'a>,
        pub state: State,
        pub owner: Option<u32>,
        pub real_name: &'a str,
        pub remark: &'a str,
        pub nickname: &'a str,
        pub phone: &'a str,
        pub email: &'a str,
        #[serde(borrow)]
        pub fields: Vec<(&'a str, &'a str)>,
        pub groups: Vec<u32>,
        pub tags: Vec<u32>,
        #[serde(borrow)]
        pub visit: Option<Visit<'a>>,
        pub last_accepted: Option<(i64, u32)>,
        pub last_contact_at: Option<i64>,
        pub created_at: i64,
        pub request_note: &'a str,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Counters {
        pub contacts: u32,
        pub over_since: Option<i64>,
        pub day: i64,
        pub added_today: u32,
        pub imported_today: u32,
        pub imported_total: u64,
        pub warned: u8,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Tag<'a> {
        pub id: u32,
        pub name: &'a str,
        pub colour: u32,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Group<'a> {
        pub id: u32,
        pub name: &'a str,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum Node<'a> {
        Category {
            id: u32,
            name: &'a str,
            #[serde(borrow)]
            groups: Vec<Group<'a>>,
        },
        #[serde(borrow)]
        Group(Group<'a>),
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Settings<'a> {
        pub auto_friend_request: bool,
        pub question: &'a str,
        pub answer: &'a str,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct CrmAccount<'a> {
        pub account: u64,
        pub next_contact: u64,
        pub counters: Counters,
        #[serde(borrow)]
        pub tags: Vec<Tag<'a>>,
        pub next_tag: u32,
        #[serde(borrow)]
        pub groups: Vec<Node<'a>>,
        pub next_group: u32,
        #[serde(borrow)]
        pub settings: Settings<'a>,
    }
}

impl StoredRecord for ContactRecord {
    const KIND: &'static str = "contact";

    fn encode(&self) -> Vec<u8> {
        let c = &self.contact;
        let base = v1::Contact {
            account: self.account,
            no: self.no,
            key: match &c.key {
                CustomerKey::Identified(id) => v1::Key::Identified(id),
                CustomerKey::Visitor(v) => v1::Key::Visitor(*v),
            },
            state: match c.state {
                ContactState::Friend => v1::State::Friend,
                ContactState::Stranger => v1::State::Stranger,
                ContactState::Blacklisted => v1::State::Blacklisted,
                ContactState::Pending => v1::State::Pending,
            },
            owner: c.owner,
            real_name: &c.real_name,
            remark: &c.remark,
            nickname: &c.nickname,
            phone: &c.phone,
            email: &c.email,
            fields: c
                .fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            groups: c.groups.iter().map(|g| g.0).collect(),
            tags: c.tags.iter().map(|t| t.0).collect(),
            visit: c.visit.as_ref().map(|v| v1::Visit {
                first_at: v.first_at,
                last_at: v.last_at,
                visits: v.visits,
                source: &v.source,
                region: &v.region,
            }),
            last_accepted: c.last_accepted.map(|a| (a.at, a.agent)),
            last_contact_at: c.last_contact_at,
            created_at: c.created_at,
            request_note: &self.request_note,
        };
        encode_versioned(
            CONTACT_V2,
            &v2::Contact {
                base,
                exclusive_owner: c.exclusive_owner,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let (b, exclusive_owner) = match split_version(Self::KIND, bytes)? {
            // Version 1 had one owner for both notions: it becomes both.
            (V1, body) => {
                let b: v1::Contact<'_> = decode_body(Self::KIND, V1, body)?;
                let owner = b.owner;
                (b, owner)
            }
            (CONTACT_V2, body) => {
                let b: v2::Contact<'_> = decode_body(Self::KIND, CONTACT_V2, body)?;
                (b.base, b.exclusive_owner)
            }
            (version, _) => {
                return Err(RecordError::UnknownVersion {
                    kind: Self::KIND,
                    version,
                })
            }
        };
        let contact = Contact {
            key: match b.key {
                v1::Key::Identified(id) => CustomerKey::Identified(id.to_owned()),
                v1::Key::Visitor(v) => CustomerKey::Visitor(v),
            },
            state: match b.state {
                v1::State::Friend => ContactState::Friend,
                v1::State::Stranger => ContactState::Stranger,
                v1::State::Blacklisted => ContactState::Blacklisted,
                v1::State::Pending => ContactState::Pending,
            },
            owner: b.owner,
            exclusive_owner,
            real_name: b.real_name.to_owned(),
            remark: b.remark.to_owned(),
            nickname: b.nickname.to_owned(),
            phone: b.phone.to_owned(),
            email: b.email.to_owned(),
            fields: b
                .fields
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<BTreeMap<_, _>>(),
            groups: b.groups.into_iter().map(GroupId).collect::<BTreeSet<_>>(),
            tags: b.tags.into_iter().map(TagId).collect::<BTreeSet<_>>(),
            visit: b.visit.map(|v| VisitInfo {
                first_at: v.first_at,
                last_at: v.last_at,
                visits: v.visits,
                source: v.source.to_owned(),
                region: v.region.to_owned(),
            }),
            last_accepted: b.last_accepted.map(|(at, agent)| Accepted { at, agent }),
            last_contact_at: b.last_contact_at,
            created_at: b.created_at,
        };
        Ok(ContactRecord {
            account: b.account,
            no: b.no,
            contact,
            request_note: b.request_note.to_owned(),
        })
    }
}

fn level_to_u8(level: LimitLevel) -> u8 {
    match level {
        LimitLevel::Normal => 0,
        LimitLevel::Near => 1,
        LimitLevel::Over => 2,
        LimitLevel::GraceEnded => 3,
    }
}

fn level_from_u8(level: u8) -> LimitLevel {
    match level {
        1 => LimitLevel::Near,
        2 => LimitLevel::Over,
        3 => LimitLevel::GraceEnded,
        // An unknown level (a newer version's) re-arms the warnings: at worst one repeat.
        _ => LimitLevel::Normal,
    }
}

impl StoredRecord for CrmAccountRecord {
    const KIND: &'static str = "crm account";

    fn encode(&self) -> Vec<u8> {
        let c = &self.counters;
        fn group(g: &Group) -> v1::Group<'_> {
            v1::Group {
                id: g.id.0,
                name: &g.name,
            }
        }
        encode_versioned(
            V1,
            &v1::CrmAccount {
                account: self.account,
                next_contact: self.next_contact,
                counters: v1::Counters {
                    contacts: c.contacts,
                    over_since: c.over_since,
                    day: c.day,
                    added_today: c.added_today,
                    imported_today: c.imported_today,
                    imported_total: c.imported_total,
                    warned: level_to_u8(c.warned),
                },
                tags: self
                    .tags
                    .iter()
                    .map(|t| v1::Tag {
                        id: t.id.0,
                        name: &t.name,
                        colour: t.colour.rgb(),
                    })
                    .collect(),
                next_tag: self.next_tag,
                groups: self
                    .groups
                    .iter()
                    .map(|n| match n {
                        TreeNode::Category(c) => v1::Node::Category {
                            id: c.id.0,
                            name: &c.name,
                            groups: c.groups.iter().map(group).collect(),
                        },
                        TreeNode::Group(g) => v1::Node::Group(group(g)),
                    })
                    .collect(),
                next_group: self.next_group,
                settings: v1::Settings {
                    auto_friend_request: self.settings.auto_friend_request,
                    question: &self.settings.question,
                    answer: &self.settings.answer,
                },
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::CrmAccount<'_> = decode_v1(Self::KIND, bytes)?;
        let group = |g: v1::Group<'_>| Group {
            id: GroupId(g.id),
            name: g.name.to_owned(),
        };
        Ok(CrmAccountRecord {
            account: b.account,
            next_contact: b.next_contact,
            counters: LimitCounters {
                contacts: b.counters.contacts,
                over_since: b.counters.over_since,
                day: b.counters.day,
                added_today: b.counters.added_today,
                imported_today: b.counters.imported_today,
                imported_total: b.counters.imported_total,
                warned: level_from_u8(b.counters.warned),
            },
            tags: b
                .tags
                .into_iter()
                .map(|t| Tag {
                    id: TagId(t.id),
                    name: t.name.to_owned(),
                    colour: Colour::new(t.colour & 0xff_ffff).unwrap_or(Colour::from_rgb(0, 0, 0)),
                })
                .collect(),
            next_tag: b.next_tag,
            groups: b
                .groups
                .into_iter()
                .map(|n| match n {
                    v1::Node::Category { id, name, groups } => TreeNode::Category(Category {
                        id: CategoryId(id),
                        name: name.to_owned(),
                        groups: groups.into_iter().map(group).collect(),
                    }),
                    v1::Node::Group(g) => TreeNode::Group(group(g)),
                })
                .collect(),
            next_group: b.next_group,
            settings: kefu_wire::crm::ContactSettings {
                auto_friend_request: b.settings.auto_friend_request,
                question: b.settings.question.to_owned(),
                answer: b.settings.answer.to_owned(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_round_trips_with_every_field() {
        let mut contact = Contact::new(
            CustomerKey::Identified("kate".into()),
            ContactState::Friend,
            Some(1002),
            1_700_000_000,
        );
        contact.real_name = "张三".into();
        contact.remark = "上海".into();
        contact.fields.insert("city".into(), "上海".into());
        contact.groups.insert(GroupId(3));
        contact.tags.insert(TagId(2));
        contact.visit = Some(VisitInfo {
            first_at: 1,
            last_at: 2,
            visits: 3,
            source: "https://example.com".into(),
            region: "上海".into(),
        });
        contact.last_accepted = Some(Accepted { at: 5, agent: 1001 });
        contact.last_contact_at = Some(6);
        let record = ContactRecord {
            account: 7,
            no: 9,
            contact,
            request_note: "hi".into(),
        };
        assert_eq!(ContactRecord::decode(&record.encode()), Ok(record.clone()));
        // Transferred in exclusive mode (rule e): the two owners differ, and stay apart.
        let mut moved = record;
        moved.contact.exclusive_owner = Some(1003);
        assert_eq!(ContactRecord::decode(&moved.encode()), Ok(moved));
    }

    /// A version-1 contact (one owner for both notions) reads with that owner as both.
    #[test]
    fn version_1_contact_has_its_owner_as_exclusive_owner() {
        let body = v1::Contact {
            account: 7,
            no: 9,
            key: v1::Key::Identified("kate"),
            state: v1::State::Friend,
            owner: Some(1002),
            real_name: "",
            remark: "",
            nickname: "",
            phone: "",
            email: "",
            fields: vec![],
            groups: vec![],
            tags: vec![],
            visit: None,
            last_accepted: None,
            last_contact_at: None,
            created_at: 1,
            request_note: "",
        };
        let old = ContactRecord::decode(&encode_versioned(V1, &body)).unwrap();
        assert_eq!(
            (old.contact.owner, old.contact.exclusive_owner),
            (Some(1002), Some(1002))
        );
    }

    #[test]
    fn crm_account_round_trips() {
        let record = CrmAccountRecord {
            account: 7,
            next_contact: 12,
            counters: LimitCounters {
                contacts: 11,
                over_since: Some(4),
                day: 3,
                added_today: 2,
                imported_today: 1,
                imported_total: 10,
                warned: LimitLevel::Over,
            },
            tags: vec![Tag {
                id: TagId(1),
                name: "重要客户".into(),
                colour: Colour::from_rgb(0xe5, 0x39, 0x35),
            }],
            next_tag: 2,
            groups: vec![
                TreeNode::Category(Category {
                    id: CategoryId(1),
                    name: "地区".into(),
                    groups: vec![Group {
                        id: GroupId(2),
                        name: "上海".into(),
                    }],
                }),
                TreeNode::Group(Group {
                    id: GroupId(3),
                    name: "VIP".into(),
                }),
            ],
            next_group: 4,
            settings: kefu_wire::crm::ContactSettings {
                auto_friend_request: true,
                question: "q".into(),
                answer: "a".into(),
            },
        };
        assert_eq!(CrmAccountRecord::decode(&record.encode()), Ok(record));
    }

    #[test]
    fn unknown_version_is_refused() {
        assert!(matches!(
            ContactRecord::decode(&[9, 0]),
            Err(RecordError::UnknownVersion { version: 9, .. })
        ));
    }
}
