//! Stored records of the navigation menu (M4, manual §4.4; `wire/PROTOCOL.md` section
//! 25), all in `routing_settings`: [`NavigationMenuRecord`] (one per account that set a
//! menu, key [`keys::navigation_menu`]; none means disabled and empty, so every data
//! directory written before it existed reads "no menu"), [`MenuWalkRecord`] (a customer
//! in the menu, not routed yet: what brings the walk back after a restart) and
//! [`MenuPathRecord`] (the labels a conversation's customer clicked, kept with the
//! conversation).
//!
//! Same rules as [`records`](super::records): one version byte, frozen postcard bodies
//! (`mod v1`), explicit conversion from and to the wire types, typed errors on bad
//! input.

use super::chat_records::ConversationRecord;
use super::keys;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::menu::{MenuAction, MenuNode, MenuOption, NavigationMenu};

/// An account's navigation menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavigationMenuRecord {
    /// Account number.
    pub account: u64,
    /// The menu (validated when it was set).
    pub menu: NavigationMenu,
}

impl NavigationMenuRecord {
    /// Its key (`routing_settings`).
    pub fn key(&self) -> Vec<u8> {
        keys::navigation_menu(self.account)
    }
}

/// A customer walking the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuWalkRecord {
    /// The conversation it will be (its reserved number, the customer, the channel,
    /// when the menu was first shown); not in `conversations` until routed.
    pub conversation: ConversationRecord,
    /// The node shown now.
    pub node: u16,
    /// The labels clicked so far.
    pub labels: Vec<String>,
    /// When it is routed by human service if the customer does nothing, unix ms.
    pub deadline: i64,
}

impl MenuWalkRecord {
    /// Its key (`routing_settings`).
    pub fn key(&self) -> Vec<u8> {
        keys::menu_walk(self.conversation.account, self.conversation.conversation)
    }
}

/// The labels clicked before a conversation was routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuPathRecord {
    /// Account number.
    pub account: u64,
    /// The conversation.
    pub conversation: u64,
    /// The labels, first click first.
    pub labels: Vec<String>,
}

impl MenuPathRecord {
    /// Its key (`routing_settings`).
    pub fn key(&self) -> Vec<u8> {
        keys::menu_path(self.account, self.conversation)
    }
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) enum Action {
        OpenUrl(String),
        AutoReply(String),
        ToAgent(u32),
        ToGroup(String),
        HumanService,
        SubMenu(u16),
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Option {
        pub label: String,
        pub action: Action,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Node {
        pub prompt: String,
        pub options: Vec<Option>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Menu {
        pub account: u64,
        pub enabled: bool,
        pub nodes: Vec<Node>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Walk<'a> {
        /// A `ConversationRecord`, encoded as that record.
        pub conversation: &'a [u8],
        pub node: u16,
        pub labels: Vec<String>,
        pub deadline: i64,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Path {
        pub account: u64,
        pub conversation: u64,
        pub labels: Vec<String>,
    }
}

fn action_v1(a: &MenuAction) -> v1::Action {
    match a {
        MenuAction::OpenUrl(u) => v1::Action::OpenUrl(u.clone()),
        MenuAction::AutoReply(t) => v1::Action::AutoReply(t.clone()),
        MenuAction::ToAgent(n) => v1::Action::ToAgent(*n),
        MenuAction::ToGroup(g) => v1::Action::ToGroup(g.clone()),
        MenuAction::HumanService => v1::Action::HumanService,
        MenuAction::SubMenu(n) => v1::Action::SubMenu(*n),
    }
}

fn action_from(a: v1::Action) -> MenuAction {
    match a {
        v1::Action::OpenUrl(u) => MenuAction::OpenUrl(u),
        v1::Action::AutoReply(t) => MenuAction::AutoReply(t),
        v1::Action::ToAgent(n) => MenuAction::ToAgent(n),
        v1::Action::ToGroup(g) => MenuAction::ToGroup(g),
        v1::Action::HumanService => MenuAction::HumanService,
        v1::Action::SubMenu(n) => MenuAction::SubMenu(n),
    }
}

impl StoredRecord for NavigationMenuRecord {
    const KIND: &'static str = "navigation menu";

    fn encode(&self) -> Vec<u8> {
        let nodes = self
            .menu
            .nodes
            .iter()
            .map(|n| v1::Node {
                prompt: n.prompt.clone(),
                options: n
                    .options
                    .iter()
                    .map(|o| v1::Option {
                        label: o.label.clone(),
                        action: action_v1(&o.action),
                    })
                    .collect(),
            })
            .collect();
        encode_versioned(
            V1,
            &v1::Menu {
                account: self.account,
                enabled: self.menu.enabled,
                nodes,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Menu = decode_v1(Self::KIND, bytes)?;
        let nodes = b
            .nodes
            .into_iter()
            .map(|n| MenuNode {
                prompt: n.prompt,
                options: n
                    .options
                    .into_iter()
                    .map(|o| MenuOption {
                        label: o.label,
                        action: action_from(o.action),
                    })
                    .collect(),
            })
            .collect();
        Ok(NavigationMenuRecord {
            account: b.account,
            menu: NavigationMenu {
                enabled: b.enabled,
                nodes,
            },
        })
    }
}

impl StoredRecord for MenuWalkRecord {
    const KIND: &'static str = "menu walk";

    fn encode(&self) -> Vec<u8> {
        let conversation = self.conversation.encode();
        encode_versioned(
            V1,
            &v1::Walk {
                conversation: &conversation,
                node: self.node,
                labels: self.labels.clone(),
                deadline: self.deadline,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Walk<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(MenuWalkRecord {
            conversation: ConversationRecord::decode(b.conversation)?,
            node: b.node,
            labels: b.labels,
            deadline: b.deadline,
        })
    }
}

impl StoredRecord for MenuPathRecord {
    const KIND: &'static str = "menu path";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Path {
                account: self.account,
                conversation: self.conversation,
                labels: self.labels.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Path = decode_v1(Self::KIND, bytes)?;
        Ok(MenuPathRecord {
            account: b.account,
            conversation: b.conversation,
            labels: b.labels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_wire::chat::{Channel, CustomerId};

    #[test]
    fn records_round_trip() {
        let menu = NavigationMenuRecord {
            account: 800_001,
            menu: NavigationMenu {
                enabled: true,
                nodes: vec![MenuNode {
                    prompt: "请选择".into(),
                    options: vec![
                        MenuOption {
                            label: "a".into(),
                            action: MenuAction::OpenUrl("https://x.example/".into()),
                        },
                        MenuOption {
                            label: "b".into(),
                            action: MenuAction::ToGroup("g".into()),
                        },
                    ],
                }],
            },
        };
        assert_eq!(NavigationMenuRecord::decode(&menu.encode()).unwrap(), menu);
        let walk = MenuWalkRecord {
            conversation: ConversationRecord {
                account: 800_001,
                conversation: 9,
                customer: CustomerId::Identified("c1".into()),
                channel: Channel::Web,
                opened_at: 5,
                agent: None,
                closed_at: None,
            },
            node: 1,
            labels: vec!["售前".into()],
            deadline: 77,
        };
        assert_eq!(MenuWalkRecord::decode(&walk.encode()).unwrap(), walk);
        let path = MenuPathRecord {
            account: 1,
            conversation: 2,
            labels: vec!["x".into(), "y".into()],
        };
        assert_eq!(MenuPathRecord::decode(&path.encode()).unwrap(), path);
        assert!(MenuPathRecord::decode(&[9, 1]).is_err());
    }
}
