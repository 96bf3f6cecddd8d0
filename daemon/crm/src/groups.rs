//! Contact groups (分组, manual §5.9, R9): categories (分组分类) holding groups, two levels,
//! and the per-agent "recently contacted" virtual group.
//!
//! **Tree.** The top level is an ordered list of categories and loose groups; a category
//! holds an ordered list of groups and nothing else. Contacts go into groups only, never
//! into a category, and one contact may be in several groups (§5.2). Everything can be
//! created, renamed, deleted and moved (drag and drop): a group into, out of or between
//! categories and to any position; a category to any position of the top level.
//!
//! **Decisions.** Deleting a category keeps its groups: they move to the top level where
//! the category was, in their order (deleting groups would silently take contacts out of
//! them). Deleting a group does not touch contacts: the caller removes the id from the
//! contacts in it ([`SearchIndex::in_group`](super::SearchIndex::in_group) lists them).
//! Ids (groups and categories share one counter) are never reused, so a stale id names
//! nothing. Group names are unique among groups and category names among categories,
//! because CSV files name groups by name. A move's position is clamped to the end of the
//! destination list.
//!
//! **Recently contacted** (最近联系的客户): [`RecentContacts`] keeps, per agent, the
//! contacts it exchanged messages with, newest last message first, at most
//! [`RECENT_PER_AGENT`] each. It is fed by the caller (every stored message, and history
//! when an account is loaded) and never reads a clock.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use super::{check_label, LabelError};

/// Most categories an account may have.
pub const MAX_CATEGORIES: usize = 100;
/// Most groups an account may have.
pub const MAX_GROUPS: usize = 500;
/// Longest group or category name, in characters.
pub const MAX_GROUP_NAME_CHARS: usize = 32;
/// Most contacts the recently-contacted group keeps per agent.
pub const RECENT_PER_AGENT: usize = 1000;
/// Longest page of the recently-contacted group.
pub const MAX_RECENT_PAGE: usize = 100;

/// A group's id, unique within its account and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub u32);

/// A category's id, unique within its account and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryId(pub u32);

/// A group contacts can be put in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Its id.
    pub id: GroupId,
    /// Its name, unique among the account's groups.
    pub name: String,
}

/// A category: a named, ordered list of groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Its id.
    pub id: CategoryId,
    /// Its name, unique among the account's categories.
    pub name: String,
    /// Its groups, in display order.
    pub groups: Vec<Group>,
}

/// An entry of the top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeNode {
    /// A category and its groups.
    Category(Category),
    /// A group outside any category.
    Group(Group),
}

/// Why a group operation was refused. Always the requester's fault; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The account already has [`MAX_GROUPS`] groups.
    #[error("an account has at most {MAX_GROUPS} groups")]
    TooManyGroups,
    /// The account already has [`MAX_CATEGORIES`] categories.
    #[error("an account has at most {MAX_CATEGORIES} categories")]
    TooManyCategories,
    /// The name is not a valid label.
    #[error("name: {0}")]
    Name(#[from] LabelError),
    /// Another group (or category) already has this name.
    #[error("the name {0:?} is taken")]
    Duplicate(String),
    /// No group has this id.
    #[error("no group {0:?}")]
    UnknownGroup(GroupId),
    /// No category has this id.
    #[error("no category {0:?}")]
    UnknownCategory(CategoryId),
    /// A restored tree breaks an invariant.
    #[error("stored groups are inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// The group tree of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    tree: Vec<TreeNode>,
    next_id: u32,
}

impl Default for Groups {
    fn default() -> Self {
        Groups::new()
    }
}

/// Where a group sits: in which category (if any), at which index.
#[derive(Debug, Clone, Copy)]
struct Place {
    /// Index of the category in the top level, or `None` for a loose group.
    category: Option<usize>,
    /// Index within that list.
    index: usize,
}

impl Groups {
    /// No group.
    pub const fn new() -> Groups {
        Groups {
            tree: Vec::new(),
            next_id: 1,
        }
    }

    /// Rebuilds a stored tree: ids below `next_id` and unique (groups and categories
    /// together), names valid and unique per kind, counts within the limits.
    pub fn restore(tree: Vec<TreeNode>, next_id: u32) -> Result<Groups, GroupError> {
        let restored = Groups { tree, next_id };
        let mut ids = BTreeSet::new();
        let mut group_names = BTreeSet::new();
        let mut category_names = BTreeSet::new();
        let mut id_ok = |id: u32| id < next_id && ids.insert(id);
        for node in &restored.tree {
            if let TreeNode::Category(c) = node {
                check_label(&c.name, MAX_GROUP_NAME_CHARS)?;
                if !id_ok(c.id.0) {
                    return Err(GroupError::Inconsistent(
                        "a category id is repeated or too big",
                    ));
                }
                if !category_names.insert(c.name.as_str()) {
                    return Err(GroupError::Duplicate(c.name.clone()));
                }
            }
        }
        for g in restored.groups() {
            check_label(&g.name, MAX_GROUP_NAME_CHARS)?;
            if !id_ok(g.id.0) {
                return Err(GroupError::Inconsistent(
                    "a group id is repeated or too big",
                ));
            }
            if !group_names.insert(g.name.as_str()) {
                return Err(GroupError::Duplicate(g.name.clone()));
            }
        }
        if group_names.len() > MAX_GROUPS {
            return Err(GroupError::TooManyGroups);
        }
        if category_names.len() > MAX_CATEGORIES {
            return Err(GroupError::TooManyCategories);
        }
        Ok(restored)
    }

    /// The top level, in display order.
    pub fn tree(&self) -> &[TreeNode] {
        &self.tree
    }

    /// The id the next created group or category gets (to be stored with the tree).
    pub const fn next_id(&self) -> u32 {
        self.next_id
    }

    /// Every group, in display order (depth first).
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.tree.iter().flat_map(|node| match node {
            TreeNode::Category(c) => c.groups.iter(),
            TreeNode::Group(g) => std::slice::from_ref(g).iter(),
        })
    }

    /// Every category, in display order.
    pub fn categories(&self) -> impl Iterator<Item = &Category> {
        self.tree.iter().filter_map(|node| match node {
            TreeNode::Category(c) => Some(c),
            TreeNode::Group(_) => None,
        })
    }

    /// The group `id`.
    pub fn group(&self, id: GroupId) -> Option<&Group> {
        self.groups().find(|g| g.id == id)
    }

    /// The group named `name` (exactly).
    pub fn group_by_name(&self, name: &str) -> Option<&Group> {
        self.groups().find(|g| g.name == name)
    }

    /// The category `id`.
    pub fn category(&self, id: CategoryId) -> Option<&Category> {
        self.categories().find(|c| c.id == id)
    }

    /// The category holding group `id`; `Ok(None)` for a loose group.
    pub fn category_of(&self, id: GroupId) -> Result<Option<CategoryId>, GroupError> {
        let place = self.find_group(id)?;
        Ok(place.category.and_then(|i| match self.tree.get(i) {
            Some(TreeNode::Category(c)) => Some(c.id),
            _ => None,
        }))
    }

    /// Creates a category at the end of the top level.
    pub fn create_category(&mut self, name: &str) -> Result<CategoryId, GroupError> {
        if self.categories().count() >= MAX_CATEGORIES {
            return Err(GroupError::TooManyCategories);
        }
        self.check_category_name(name, None)?;
        let id = CategoryId(self.take_id()?);
        self.tree.push(TreeNode::Category(Category {
            id,
            name: name.to_owned(),
            groups: Vec::new(),
        }));
        Ok(id)
    }

    /// Creates a group at the end of `category`, or of the top level for `None`.
    pub fn create_group(
        &mut self,
        name: &str,
        category: Option<CategoryId>,
    ) -> Result<GroupId, GroupError> {
        if self.groups().count() >= MAX_GROUPS {
            return Err(GroupError::TooManyGroups);
        }
        self.check_group_name(name, None)?;
        let at = category.map(|c| self.find_category(c)).transpose()?;
        let id = GroupId(self.take_id()?);
        let group = Group {
            id,
            name: name.to_owned(),
        };
        match at.and_then(|i| self.tree.get_mut(i)) {
            Some(TreeNode::Category(c)) => c.groups.push(group),
            _ => self.tree.push(TreeNode::Group(group)),
        }
        Ok(id)
    }

    /// Renames a category.
    pub fn rename_category(&mut self, id: CategoryId, name: &str) -> Result<(), GroupError> {
        let at = self.find_category(id)?;
        self.check_category_name(name, Some(id))?;
        if let Some(TreeNode::Category(c)) = self.tree.get_mut(at) {
            c.name = name.to_owned();
        }
        Ok(())
    }

    /// Renames a group.
    pub fn rename_group(&mut self, id: GroupId, name: &str) -> Result<(), GroupError> {
        let place = self.find_group(id)?;
        self.check_group_name(name, Some(id))?;
        if let Some(g) = self.group_at_mut(place) {
            g.name = name.to_owned();
        }
        Ok(())
    }

    /// Deletes a category; its groups move to the top level where it was, in order.
    /// Returns the groups moved.
    pub fn delete_category(&mut self, id: CategoryId) -> Result<Vec<GroupId>, GroupError> {
        let at = self.find_category(id)?;
        let groups = match self.tree.get_mut(at) {
            Some(TreeNode::Category(c)) => std::mem::take(&mut c.groups),
            _ => return Err(GroupError::UnknownCategory(id)),
        };
        self.tree.remove(at);
        let moved = groups.iter().map(|g| g.id).collect();
        let tail = self.tree.split_off(at);
        self.tree.extend(groups.into_iter().map(TreeNode::Group));
        self.tree.extend(tail);
        Ok(moved)
    }

    /// Deletes a group and returns it; the caller takes it off the contacts in it.
    pub fn delete_group(&mut self, id: GroupId) -> Result<Group, GroupError> {
        let place = self.find_group(id)?;
        self.take_group(place)
            .ok_or(GroupError::Inconsistent("a found group could not be taken"))
    }

    /// Moves a group into `to` (the top level for `None`) at `position` of that list
    /// (clamped to its end).
    pub fn move_group(
        &mut self,
        id: GroupId,
        to: Option<CategoryId>,
        position: usize,
    ) -> Result<(), GroupError> {
        let place = self.find_group(id)?;
        if let Some(c) = to {
            self.find_category(c)?;
        }
        let group = self
            .take_group(place)
            .ok_or(GroupError::Inconsistent("a found group could not be taken"))?;
        // The destination's index may have shifted if a loose group left the top level.
        let dest = to.and_then(|c| self.find_category(c).ok());
        match dest.and_then(|i| self.tree.get_mut(i)) {
            Some(TreeNode::Category(c)) => {
                let at = position.min(c.groups.len());
                c.groups.insert(at, group);
            }
            _ => {
                let at = position.min(self.tree.len());
                self.tree.insert(at, TreeNode::Group(group));
            }
        }
        Ok(())
    }

    /// Moves a category to `position` of the top level (clamped to its end).
    pub fn move_category(&mut self, id: CategoryId, position: usize) -> Result<(), GroupError> {
        let at = self.find_category(id)?;
        let node = self.tree.remove(at);
        let to = position.min(self.tree.len());
        self.tree.insert(to, node);
        Ok(())
    }

    fn take_id(&mut self) -> Result<u32, GroupError> {
        let id = self.next_id;
        self.next_id = id
            .checked_add(1)
            .ok_or(GroupError::Inconsistent("group ids exhausted"))?;
        Ok(id)
    }

    fn find_category(&self, id: CategoryId) -> Result<usize, GroupError> {
        self.tree
            .iter()
            .position(|n| matches!(n, TreeNode::Category(c) if c.id == id))
            .ok_or(GroupError::UnknownCategory(id))
    }

    fn find_group(&self, id: GroupId) -> Result<Place, GroupError> {
        for (i, node) in self.tree.iter().enumerate() {
            match node {
                TreeNode::Group(g) if g.id == id => {
                    return Ok(Place {
                        category: None,
                        index: i,
                    })
                }
                TreeNode::Category(c) => {
                    if let Some(j) = c.groups.iter().position(|g| g.id == id) {
                        return Ok(Place {
                            category: Some(i),
                            index: j,
                        });
                    }
                }
                TreeNode::Group(_) => {}
            }
        }
        Err(GroupError::UnknownGroup(id))
    }

    fn group_at_mut(&mut self, place: Place) -> Option<&mut Group> {
        match place.category {
            None => match self.tree.get_mut(place.index) {
                Some(TreeNode::Group(g)) => Some(g),
                _ => None,
            },
            Some(ci) => match self.tree.get_mut(ci) {
                Some(TreeNode::Category(c)) => c.groups.get_mut(place.index),
                _ => None,
            },
        }
    }

    fn take_group(&mut self, place: Place) -> Option<Group> {
        match place.category {
            None => match self.tree.get(place.index) {
                Some(TreeNode::Group(_)) => match self.tree.remove(place.index) {
                    TreeNode::Group(g) => Some(g),
                    TreeNode::Category(_) => None,
                },
                _ => None,
            },
            Some(ci) => match self.tree.get_mut(ci) {
                Some(TreeNode::Category(c)) if place.index < c.groups.len() => {
                    Some(c.groups.remove(place.index))
                }
                _ => None,
            },
        }
    }

    fn check_group_name(&self, name: &str, except: Option<GroupId>) -> Result<(), GroupError> {
        check_label(name, MAX_GROUP_NAME_CHARS)?;
        if self
            .groups()
            .any(|g| g.name == name && Some(g.id) != except)
        {
            return Err(GroupError::Duplicate(name.to_owned()));
        }
        Ok(())
    }

    fn check_category_name(
        &self,
        name: &str,
        except: Option<CategoryId>,
    ) -> Result<(), GroupError> {
        check_label(name, MAX_GROUP_NAME_CHARS)?;
        if self
            .categories()
            .any(|c| c.name == name && Some(c.id) != except)
        {
            return Err(GroupError::Duplicate(name.to_owned()));
        }
        Ok(())
    }
}

/// One entry of the recently-contacted group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecentEntry {
    /// The contact's number.
    pub contact: u64,
    /// Time of the last message between the agent and the contact (the caller's unit,
    /// unix milliseconds for the shard).
    pub at: i64,
}

/// The recently-contacted virtual group of every agent of an account (R9).
#[derive(Debug, Clone, Default)]
pub struct RecentContacts {
    agents: HashMap<u32, AgentRecent>,
}

#[derive(Debug, Clone, Default)]
struct AgentRecent {
    latest: HashMap<u64, i64>,
    /// Newest first; ties by contact number.
    order: BTreeSet<(Reverse<i64>, u64)>,
}

impl RecentContacts {
    /// Nobody contacted anybody.
    pub fn new() -> RecentContacts {
        RecentContacts::default()
    }

    /// A message between `agent` and `contact` at `at`. An older time than the one
    /// known is ignored (messages may be fed out of order); beyond [`RECENT_PER_AGENT`]
    /// the agent's oldest entry is dropped.
    pub fn touch(&mut self, agent: u32, contact: u64, at: i64) {
        let recent = self.agents.entry(agent).or_default();
        match recent.latest.get(&contact) {
            Some(&known) if known >= at => return,
            Some(&known) => {
                recent.order.remove(&(Reverse(known), contact));
            }
            None => {}
        }
        recent.latest.insert(contact, at);
        recent.order.insert((Reverse(at), contact));
        while recent.order.len() > RECENT_PER_AGENT {
            if let Some((_, oldest)) = recent.order.pop_last() {
                recent.latest.remove(&oldest);
            }
        }
    }

    /// A deleted contact leaves every agent's list.
    pub fn forget_contact(&mut self, contact: u64) {
        for recent in self.agents.values_mut() {
            if let Some(at) = recent.latest.remove(&contact) {
                recent.order.remove(&(Reverse(at), contact));
            }
        }
    }

    /// A deleted agent's list goes.
    pub fn forget_agent(&mut self, agent: u32) {
        self.agents.remove(&agent);
    }

    /// How many contacts `agent`'s list holds.
    pub fn len(&self, agent: u32) -> usize {
        self.agents.get(&agent).map_or(0, |r| r.order.len())
    }

    /// A page of `agent`'s list, newest first: `limit` entries (at most
    /// [`MAX_RECENT_PAGE`]) after skipping `offset`.
    pub fn page(&self, agent: u32, offset: usize, limit: usize) -> Vec<RecentEntry> {
        let Some(recent) = self.agents.get(&agent) else {
            return Vec::new();
        };
        recent
            .order
            .iter()
            .skip(offset)
            .take(limit.min(MAX_RECENT_PAGE))
            .map(|(Reverse(at), contact)| RecentEntry {
                contact: *contact,
                at: *at,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree as text: categories as `名[a,b]`, loose groups as names.
    fn shape(g: &Groups) -> String {
        g.tree()
            .iter()
            .map(|n| match n {
                TreeNode::Group(g) => g.name.clone(),
                TreeNode::Category(c) => format!(
                    "{}[{}]",
                    c.name,
                    c.groups
                        .iter()
                        .map(|g| g.name.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The manual's example: groups named "上海 - 黄浦", "上海 - 闵行" dragged into a new
    /// category "上海".
    #[test]
    fn manual_example_drag_into_category() {
        let mut g = Groups::new();
        let huangpu = g.create_group("上海 - 黄浦", None).unwrap();
        let minhang = g.create_group("上海 - 闵行", None).unwrap();
        let beijing = g.create_group("北京", None).unwrap();
        let shanghai = g.create_category("上海").unwrap();
        assert_eq!(shape(&g), "上海 - 黄浦 上海 - 闵行 北京 上海[]");
        g.move_group(huangpu, Some(shanghai), 0).unwrap();
        g.move_group(minhang, Some(shanghai), 9).unwrap();
        assert_eq!(shape(&g), "北京 上海[上海 - 黄浦,上海 - 闵行]");
        g.move_category(shanghai, 0).unwrap();
        assert_eq!(shape(&g), "上海[上海 - 黄浦,上海 - 闵行] 北京");
        assert_eq!(g.category_of(minhang), Ok(Some(shanghai)));
        assert_eq!(g.category_of(beijing), Ok(None));
        // within a category, and back out to the top level
        g.move_group(minhang, Some(shanghai), 0).unwrap();
        assert_eq!(shape(&g), "上海[上海 - 闵行,上海 - 黄浦] 北京");
        g.move_group(minhang, None, 1).unwrap();
        assert_eq!(shape(&g), "上海[上海 - 黄浦] 上海 - 闵行 北京");
    }

    #[test]
    fn create_rename_delete() {
        let mut g = Groups::new();
        let north = g.create_category("华北").unwrap();
        let south = g.create_category("华南").unwrap();
        let bj = g.create_group("北京", Some(north)).unwrap();
        let tj = g.create_group("天津", Some(north)).unwrap();
        let gz = g.create_group("广州", Some(south)).unwrap();
        let vip = g.create_group("VIP", None).unwrap();
        assert_eq!(shape(&g), "华北[北京,天津] 华南[广州] VIP");
        // ids are shared between groups and categories and increase
        assert_eq!(
            [north.0, south.0, bj.0, tj.0, gz.0, vip.0],
            [1, 2, 3, 4, 5, 6]
        );
        g.rename_group(tj, "天津市").unwrap();
        g.rename_category(south, "南方").unwrap();
        // a group may share a name with a category
        g.rename_group(vip, "南方").unwrap();
        assert_eq!(shape(&g), "华北[北京,天津市] 南方[广州] 南方");
        // deleting a category keeps its groups, in its place
        assert_eq!(g.delete_category(north), Ok(vec![bj, tj]));
        assert_eq!(shape(&g), "北京 天津市 南方[广州] 南方");
        assert_eq!(g.delete_group(gz).map(|x| x.name), Ok("广州".to_owned()));
        assert_eq!(g.delete_group(bj).map(|x| x.id), Ok(bj));
        assert_eq!(shape(&g), "天津市 南方[] 南方");
        assert_eq!(g.group_by_name("天津市").map(|x| x.id), Some(tj));
        assert_eq!(g.create_group("新", None), Ok(GroupId(7)));
    }

    #[test]
    fn refusals_leave_the_tree_unchanged() {
        let mut g = Groups::new();
        let c = g.create_category("上海").unwrap();
        let a = g.create_group("A", Some(c)).unwrap();
        g.create_group("B", None).unwrap();
        let before = g.clone();
        let results: Vec<(&str, Result<(), GroupError>, GroupError)> = vec![
            (
                "duplicate group",
                g.create_group("A", None).map(drop),
                GroupError::Duplicate("A".into()),
            ),
            (
                "duplicate category",
                g.create_category("上海").map(drop),
                GroupError::Duplicate("上海".into()),
            ),
            (
                "rename onto other",
                g.rename_group(a, "B"),
                GroupError::Duplicate("B".into()),
            ),
            (
                "bad name",
                g.create_group("a;b", None).map(drop),
                GroupError::Name(LabelError::ForbiddenChar(';')),
            ),
            (
                "into unknown category",
                g.create_group("C", Some(CategoryId(99))).map(drop),
                GroupError::UnknownCategory(CategoryId(99)),
            ),
            (
                "move unknown group",
                g.move_group(GroupId(99), None, 0),
                GroupError::UnknownGroup(GroupId(99)),
            ),
            (
                "move to unknown category",
                g.move_group(a, Some(CategoryId(99)), 0),
                GroupError::UnknownCategory(CategoryId(99)),
            ),
            (
                "a group id is not a category",
                g.delete_category(CategoryId(a.0)).map(drop),
                GroupError::UnknownCategory(CategoryId(a.0)),
            ),
            (
                "delete unknown group",
                g.delete_group(GroupId(1)).map(drop),
                GroupError::UnknownGroup(GroupId(1)),
            ),
            (
                "rename unknown category",
                g.rename_category(CategoryId(99), "x"),
                GroupError::UnknownCategory(CategoryId(99)),
            ),
        ];
        for (name, got, want) in results {
            assert_eq!(got, Err(want), "{name}");
        }
        assert_eq!(g, before);
    }

    #[test]
    fn counts_are_bounded() {
        let mut g = Groups::new();
        for i in 0..MAX_CATEGORIES {
            g.create_category(&format!("c{i}")).unwrap();
        }
        assert_eq!(
            g.create_category("one more"),
            Err(GroupError::TooManyCategories)
        );
        for i in 0..MAX_GROUPS {
            g.create_group(&format!("g{i}"), None).unwrap();
        }
        assert_eq!(
            g.create_group("one more", None),
            Err(GroupError::TooManyGroups)
        );
    }

    #[test]
    fn restore_checks_invariants() {
        let mut g = Groups::new();
        let c = g.create_category("上海").unwrap();
        g.create_group("A", Some(c)).unwrap();
        g.create_group("B", None).unwrap();
        assert_eq!(
            Groups::restore(g.tree().to_vec(), g.next_id()),
            Ok(g.clone())
        );
        assert!(matches!(
            Groups::restore(g.tree().to_vec(), 2),
            Err(GroupError::Inconsistent(_))
        ));
        let mut twice = g.tree().to_vec();
        twice.push(TreeNode::Group(Group {
            id: GroupId(9),
            name: "A".into(),
        }));
        assert_eq!(
            Groups::restore(twice, 10),
            Err(GroupError::Duplicate("A".into()))
        );
        let mut same_id = g.tree().to_vec();
        same_id.push(TreeNode::Group(Group {
            id: GroupId(c.0),
            name: "C".into(),
        }));
        assert!(matches!(
            Groups::restore(same_id, 10),
            Err(GroupError::Inconsistent(_))
        ));
    }

    #[test]
    fn recent_contacts_newest_first_per_agent() {
        let mut r = RecentContacts::new();
        r.touch(1001, 7, 100);
        r.touch(1001, 8, 300);
        r.touch(1001, 9, 200);
        r.touch(1002, 7, 500);
        r.touch(1001, 7, 50); // older than known: ignored
        let ids = |r: &RecentContacts, agent| -> Vec<u64> {
            r.page(agent, 0, 100).iter().map(|e| e.contact).collect()
        };
        assert_eq!(ids(&r, 1001), [8, 9, 7]);
        r.touch(1001, 7, 400);
        assert_eq!(ids(&r, 1001), [7, 8, 9]);
        assert_eq!(
            r.page(1001, 1, 1),
            [RecentEntry {
                contact: 8,
                at: 300
            }]
        );
        assert_eq!(ids(&r, 1002), [7]);
        r.forget_contact(7);
        assert_eq!(ids(&r, 1001), [8, 9]);
        assert_eq!(ids(&r, 1002), Vec::<u64>::new());
        r.forget_agent(1001);
        assert_eq!(r.len(1001), 0);
        assert!(r.page(1003, 0, 10).is_empty());
    }

    #[test]
    fn recent_contacts_are_capped() {
        let mut r = RecentContacts::new();
        let n = RECENT_PER_AGENT as u64 + 10;
        for contact in 0..n {
            r.touch(1001, contact, contact as i64);
        }
        assert_eq!(r.len(1001), RECENT_PER_AGENT);
        // the oldest ten went; the newest is first; a page holds at most 100
        let page = r.page(1001, 0, 1000);
        assert_eq!(page.len(), MAX_RECENT_PAGE);
        assert_eq!(page.first().map(|e| e.contact), Some(n - 1));
        let last = r.page(1001, RECENT_PER_AGENT - 1, 10);
        assert_eq!(last.iter().map(|e| e.contact).collect::<Vec<_>>(), [10]);
        // ties are ordered by contact number
        let mut t = RecentContacts::new();
        for contact in [5, 3, 4] {
            t.touch(1, contact, 9);
        }
        let got: Vec<u64> = t.page(1, 0, 10).iter().map(|e| e.contact).collect();
        assert_eq!(got, [3, 4, 5]);
    }
}
