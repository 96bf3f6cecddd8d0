//! The navigation menu (导航菜单, M4, manual §4.4; edited in the account centre, §10
//! and §7.13 permission 16): a tree of prompts and options a customer walks before it
//! is routed, carried by `GetNavigationMenu`/`SetNavigationMenu`, `ChooseMenuOption`,
//! `GetMenuPath`, the `MenuShown` and `MenuPath` events (`wire/PROTOCOL.md` section 25).
//!
//! The tree travels **flat** ([`NavigationMenu::nodes`], node 0 the root, a sub-menu
//! option naming its child by index), so decoding a menu never recurses however the
//! bytes nest. [`NavigationMenu::validate`] is the one check of a menu's shape and
//! bounds; [`NavigationMenu::choose`] is the one step of a walk. Both are pure, and
//! the daemon calls them (the agent numbers are the daemon's to check).

use crate::chat::ConversationInfo;
use serde::{Deserialize, Serialize};

/// Most nodes (prompts) in a menu, the root included.
pub const MAX_MENU_NODES: usize = 64;
/// Most options under one prompt.
pub const MAX_MENU_OPTIONS: usize = 10;
/// Deepest sub-menu: the root is level 1, so a customer clicks at most this many
/// sub-menus in a row.
pub const MAX_MENU_DEPTH: usize = 5;
/// Longest prompt, characters.
pub const MAX_PROMPT_CHARS: usize = 500;
/// Longest option label, characters.
pub const MAX_LABEL_CHARS: usize = 50;
/// Longest automatic reply, characters (a chat message's bound is 4,000; a menu's
/// reply is a short text).
pub const MAX_REPLY_CHARS: usize = 1_000;
/// Longest URL, bytes.
pub const MAX_URL_BYTES: usize = 2_048;
/// Longest agent-group name, characters (as `AgentProfile::group`).
pub const MAX_GROUP_CHARS: usize = 64;
/// Most labels a conversation's path keeps (a customer clicking on and on keeps its
/// first clicks; the rest are not recorded).
pub const MAX_PATH_LABELS: usize = 32;

/// An account's navigation menu. An account that never set one has
/// [`NavigationMenu::default`]: disabled, no nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NavigationMenu {
    /// The switch (§4.4 "不要忘了开启本功能"): off, customers are routed as before and
    /// the nodes are kept.
    pub enabled: bool,
    /// The prompts; node 0 is the root. Empty only while disabled.
    pub nodes: Vec<MenuNode>,
}

/// One level of the menu: a prompt and its options (§4.4 "每一级的导航菜单都由提示语
/// 和选项组成").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuNode {
    /// The prompt, 1..=[`MAX_PROMPT_CHARS`] characters.
    pub prompt: String,
    /// The options, 1..=[`MAX_MENU_OPTIONS`].
    pub options: Vec<MenuOption>,
}

/// One option: what the customer clicks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuOption {
    /// The label, 1..=[`MAX_LABEL_CHARS`] characters.
    pub label: String,
    /// What clicking it does.
    pub action: MenuAction,
}

/// The five functions of an option (§4.4 "导航菜单的选项具备 5 种不同的功能"), and the
/// sub-menu (§4.4 "添加下级").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MenuAction {
    /// 打开网页: the URL (`http://` or `https://`, 1..=[`MAX_URL_BYTES`] bytes) is
    /// answered; the customer stays where it is.
    OpenUrl(String),
    /// 自动回复: the text (1..=[`MAX_REPLY_CHARS`] characters) is sent to the customer
    /// as a message from the appliance; the customer stays where it is.
    AutoReply(String),
    /// 指定到工号: routed to this agent of the account.
    ToAgent(u32),
    /// 指定到分组: routed to this agent group (1..=[`MAX_GROUP_CHARS`] characters).
    ToGroup(String),
    /// 人工服务: routed by the account's current settings.
    HumanService,
    /// 下级菜单: the node with this index is shown.
    SubMenu(u16),
}

/// What a customer in the menu is shown: a prompt and its option labels, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuPrompt {
    /// The customer's conversation (state `InMenu`).
    pub conversation: u64,
    /// The node shown (0: the root); `ChooseMenuOption` names it.
    pub node: u16,
    /// The prompt.
    pub prompt: String,
    /// The options' labels, in order; `ChooseMenuOption` names one by index.
    pub options: Vec<String>,
}

/// What a `ChooseMenuOption` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MenuStep {
    /// A sub-menu: its prompt (the customer is there now).
    Prompt(MenuPrompt),
    /// Open this URL; the customer stays at the node it chose from.
    OpenUrl {
        /// The URL.
        url: String,
    },
    /// This text was sent to the customer (stored in the conversation as a message
    /// from the appliance, pushed as `Message` too); the customer stays.
    AutoReply {
        /// The text.
        text: String,
    },
    /// The menu is over: the conversation was routed (assigned or queued).
    Routed(ConversationInfo),
}

/// The labels a customer clicked, in order, before it was routed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuPath {
    /// The conversation.
    pub conversation: u64,
    /// The labels, first click first (at most [`MAX_PATH_LABELS`]).
    pub labels: Vec<String>,
}

/// Why a menu is refused; each has its own error code (`wire/PROTOCOL.md` 25.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MenuError {
    /// Enabled without a root node.
    #[error("an enabled menu needs a root prompt with at least one option")]
    Empty,
    /// More than [`MAX_MENU_NODES`] nodes.
    #[error("{0} nodes; at most {MAX_MENU_NODES}")]
    TooManyNodes(usize),
    /// A node without options or with more than [`MAX_MENU_OPTIONS`].
    #[error("node {node} has {count} options; 1..={MAX_MENU_OPTIONS}")]
    BadOptionCount {
        /// The node.
        node: usize,
        /// Its options.
        count: usize,
    },
    /// Sub-menus nested deeper than [`MAX_MENU_DEPTH`].
    #[error("node {0} is deeper than {MAX_MENU_DEPTH} levels")]
    TooDeep(usize),
    /// A prompt, label, reply or group name empty or over its bound.
    #[error("node {node}: {what} is empty or too long")]
    BadText {
        /// The node.
        node: usize,
        /// Which text.
        what: &'static str,
    },
    /// A URL empty, too long, not `http(s)://` or with spaces or control characters.
    #[error("node {node} option {option}: the URL must be http:// or https://, at most {MAX_URL_BYTES} bytes, no spaces")]
    BadUrl {
        /// The node.
        node: usize,
        /// The option.
        option: usize,
    },
    /// Not a tree: a sub-menu names a node that does not exist, the root, or a node
    /// another option names already; or a node no option leads to.
    #[error("not a tree: {0}")]
    NotATree(String),
}

fn text_ok(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max
}

pub(crate) fn url_ok(u: &str) -> bool {
    let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return false;
    };
    u.len() > scheme
        && u.len() <= MAX_URL_BYTES
        && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl NavigationMenu {
    /// Checks the menu's bounds and shape; the first fault found, nodes in order.
    /// A disabled menu is checked too (it is stored as given, to be enabled later),
    /// but may be empty.
    pub fn validate(&self) -> Result<(), MenuError> {
        if self.nodes.len() > MAX_MENU_NODES {
            return Err(MenuError::TooManyNodes(self.nodes.len()));
        }
        if self.nodes.is_empty() {
            return if self.enabled {
                Err(MenuError::Empty)
            } else {
                Ok(())
            };
        }
        let mut parent: Vec<Option<usize>> = vec![None; self.nodes.len()];
        for (n, node) in self.nodes.iter().enumerate() {
            if !text_ok(&node.prompt, MAX_PROMPT_CHARS) {
                return Err(MenuError::BadText {
                    node: n,
                    what: "the prompt",
                });
            }
            if node.options.is_empty() || node.options.len() > MAX_MENU_OPTIONS {
                return Err(MenuError::BadOptionCount {
                    node: n,
                    count: node.options.len(),
                });
            }
            for (o, option) in node.options.iter().enumerate() {
                if !text_ok(&option.label, MAX_LABEL_CHARS) {
                    return Err(MenuError::BadText {
                        node: n,
                        what: "a label",
                    });
                }
                match &option.action {
                    MenuAction::OpenUrl(u) if !url_ok(u) => {
                        return Err(MenuError::BadUrl { node: n, option: o })
                    }
                    MenuAction::AutoReply(t) if !text_ok(t, MAX_REPLY_CHARS) => {
                        return Err(MenuError::BadText {
                            node: n,
                            what: "an automatic reply",
                        })
                    }
                    MenuAction::ToGroup(g) if !text_ok(g, MAX_GROUP_CHARS) => {
                        return Err(MenuError::BadText {
                            node: n,
                            what: "a group name",
                        })
                    }
                    MenuAction::SubMenu(child) => {
                        let c = usize::from(*child);
                        let slot = parent.get_mut(c).filter(|_| c != 0).ok_or_else(|| {
                            MenuError::NotATree(format!(
                                "node {n} option {o} names node {c}, which is not a child node"
                            ))
                        })?;
                        if slot.replace(n).is_some() {
                            return Err(MenuError::NotATree(format!(
                                "node {c} is the sub-menu of two options"
                            )));
                        }
                    }
                    _ => {}
                }
            }
        }
        // Every node but the root has one parent; walking up from each must reach the
        // root within the depth bound (a cycle never does).
        for start in 1..self.nodes.len() {
            let (mut at, mut depth) = (start, 1);
            while at != 0 {
                at =
                    parent.get(at).copied().flatten().ok_or_else(|| {
                        MenuError::NotATree(format!("no option leads to node {at}"))
                    })?;
                depth += 1;
                if depth > self.nodes.len() {
                    return Err(MenuError::NotATree(format!("node {start} is on a cycle")));
                }
            }
            if depth > MAX_MENU_DEPTH {
                return Err(MenuError::TooDeep(start));
            }
        }
        Ok(())
    }

    /// What node `node` shows, for `conversation`; `None` if there is no such node.
    pub fn prompt(&self, conversation: u64, node: u16) -> Option<MenuPrompt> {
        let n = self.nodes.get(usize::from(node))?;
        Some(MenuPrompt {
            conversation,
            node,
            prompt: n.prompt.clone(),
            options: n.options.iter().map(|o| o.label.clone()).collect(),
        })
    }

    /// The option `option` of node `node`, if both exist.
    pub fn choose(&self, node: u16, option: u8) -> Option<&MenuOption> {
        self.nodes
            .get(usize::from(node))?
            .options
            .get(usize::from(option))
    }

    /// The nodes from the root down to `node` (the root first), if `node` is reachable
    /// in a valid menu; a customer at `node` may choose at any of them (going back up).
    pub fn ancestry(&self, node: u16) -> Vec<u16> {
        let mut chain = vec![node];
        let mut at = node;
        while at != 0 && chain.len() <= MAX_MENU_DEPTH {
            let parent = self.nodes.iter().position(|n| {
                n.options
                    .iter()
                    .any(|o| o.action == MenuAction::SubMenu(at))
            });
            match parent.and_then(|p| u16::try_from(p).ok()) {
                Some(p) => {
                    chain.push(p);
                    at = p;
                }
                None => break,
            }
        }
        chain.reverse();
        chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(label: &str, action: MenuAction) -> MenuOption {
        MenuOption {
            label: label.into(),
            action,
        }
    }

    fn node(prompt: &str, options: Vec<MenuOption>) -> MenuNode {
        MenuNode {
            prompt: prompt.into(),
            options,
        }
    }

    /// The manual's example (图 56–60): a root with a sub-menu to 1001 and more.
    fn sample() -> NavigationMenu {
        NavigationMenu {
            enabled: true,
            nodes: vec![
                node(
                    "请选择您需要的服务",
                    vec![
                        opt("售前咨询", MenuAction::SubMenu(1)),
                        opt("官网", MenuAction::OpenUrl("https://example.com/".into())),
                        opt("营业时间", MenuAction::AutoReply("9:00-18:00".into())),
                        opt("人工服务", MenuAction::HumanService),
                    ],
                ),
                node(
                    "请选择产品",
                    vec![
                        opt("找 1001", MenuAction::ToAgent(1001)),
                        opt("销售组", MenuAction::ToGroup("销售".into())),
                    ],
                ),
            ],
        }
    }

    #[test]
    fn the_manuals_menu_is_valid_and_walks() {
        let m = sample();
        assert_eq!(m.validate(), Ok(()));
        let root = m.prompt(7, 0).unwrap();
        assert_eq!(root.options.len(), 4);
        assert_eq!(m.choose(0, 0).unwrap().action, MenuAction::SubMenu(1));
        assert_eq!(m.choose(1, 1).unwrap().label, "销售组");
        assert!(m.choose(1, 2).is_none());
        assert!(m.choose(2, 0).is_none());
        assert_eq!(m.ancestry(1), vec![0, 1]);
        assert_eq!(m.ancestry(0), vec![0]);
    }

    #[test]
    fn disabled_and_empty_is_fine_enabled_and_empty_is_not() {
        assert_eq!(NavigationMenu::default().validate(), Ok(()));
        let m = NavigationMenu {
            enabled: true,
            nodes: vec![],
        };
        assert_eq!(m.validate(), Err(MenuError::Empty));
    }

    #[test]
    fn every_bound_is_refused_with_its_kind() {
        let mut m = sample();
        m.nodes[0].prompt = "x".repeat(MAX_PROMPT_CHARS + 1);
        assert!(matches!(m.validate(), Err(MenuError::BadText { .. })));
        let mut m = sample();
        m.nodes[1].options[0].label = " ".into();
        assert!(matches!(m.validate(), Err(MenuError::BadText { .. })));
        let mut m = sample();
        m.nodes[0].options[1].action = MenuAction::OpenUrl("javascript:alert(1)".into());
        assert_eq!(m.validate(), Err(MenuError::BadUrl { node: 0, option: 1 }));
        let mut m = sample();
        m.nodes[0].options[1].action = MenuAction::OpenUrl("https://".into());
        assert!(matches!(m.validate(), Err(MenuError::BadUrl { .. })));
        let mut m = sample();
        m.nodes[0].options[1].action = MenuAction::OpenUrl("http://a b".into());
        assert!(matches!(m.validate(), Err(MenuError::BadUrl { .. })));
        let mut m = sample();
        m.nodes[0].options[2].action = MenuAction::AutoReply(String::new());
        assert!(matches!(m.validate(), Err(MenuError::BadText { .. })));
        let mut m = sample();
        m.nodes[1].options[1].action = MenuAction::ToGroup("g".repeat(MAX_GROUP_CHARS + 1));
        assert!(matches!(m.validate(), Err(MenuError::BadText { .. })));
        let mut m = sample();
        m.nodes[1].options.clear();
        assert!(matches!(
            m.validate(),
            Err(MenuError::BadOptionCount { .. })
        ));
        let mut m = sample();
        m.nodes[1].options = vec![opt("a", MenuAction::HumanService); MAX_MENU_OPTIONS + 1];
        assert!(matches!(
            m.validate(),
            Err(MenuError::BadOptionCount { .. })
        ));
        let mut m = sample();
        m.nodes = vec![node("p", vec![opt("a", MenuAction::HumanService)]); MAX_MENU_NODES + 1];
        assert_eq!(
            m.validate(),
            Err(MenuError::TooManyNodes(MAX_MENU_NODES + 1))
        );
    }

    #[test]
    fn only_trees_pass() {
        // A dangling index, the root as a child, a node with two parents, an orphan,
        // a cycle that does not reach the root.
        for bad in [
            vec![(0, 5)],
            vec![(0, 0)],
            vec![(0, 1), (0, 1)],
            vec![],
            vec![(1, 2), (2, 1)],
        ] {
            let mut m = NavigationMenu {
                enabled: true,
                nodes: vec![node("p", vec![opt("a", MenuAction::HumanService)]); 3],
            };
            if bad.is_empty() {
                m.nodes.truncate(2);
            }
            for (from, to) in bad {
                m.nodes[from]
                    .options
                    .push(opt("s", MenuAction::SubMenu(to)));
            }
            assert!(
                matches!(m.validate(), Err(MenuError::NotATree(_))),
                "{:?}",
                m.validate()
            );
        }
    }

    #[test]
    fn depth_is_bounded() {
        let chain = |levels: usize| {
            let nodes = (0..levels)
                .map(|i| {
                    let action = if i + 1 < levels {
                        MenuAction::SubMenu(u16::try_from(i + 1).unwrap())
                    } else {
                        MenuAction::HumanService
                    };
                    node("p", vec![opt("a", action)])
                })
                .collect();
            NavigationMenu {
                enabled: true,
                nodes,
            }
        };
        assert_eq!(chain(MAX_MENU_DEPTH).validate(), Ok(()));
        assert_eq!(
            chain(MAX_MENU_DEPTH + 1).validate(),
            Err(MenuError::TooDeep(MAX_MENU_DEPTH))
        );
        assert_eq!(chain(MAX_MENU_DEPTH).ancestry(4), vec![0, 1, 2, 3, 4]);
    }
}
