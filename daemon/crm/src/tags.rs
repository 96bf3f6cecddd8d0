//! Tags (标签, manual §5.8, R8): at most [`MAX_TAGS`] per account, each with a name and a
//! colour; a new account starts with the [`PRESETS`]; create, rename, recolour, delete.
//!
//! Tag ids are never reused: [`Tags`] hands out increasing ids, so a contact that still
//! names a deleted tag (before the shard has rewritten it) names nothing, never another tag.
//! Deleting a tag does not touch contacts: the caller removes the id from the contacts
//! that carry it ([`SearchIndex::with_tag`](super::SearchIndex::with_tag) lists them).
//!
//! Names are labels (see [`LabelError`]): 1..=[`MAX_TAG_NAME_CHARS`] characters,
//! trimmed, no control character, no `;`; unique within the account.

use super::{check_label, LabelError};

/// Most tags an account may have (§5.8).
pub const MAX_TAGS: usize = 16;
/// Longest tag name, in characters.
pub const MAX_TAG_NAME_CHARS: usize = 16;

/// A tag's id, unique within its account and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagId(pub u32);

/// A colour, `0xRRGGBB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Colour(u32);

impl Colour {
    /// The colour `0xRRGGBB`; `None` if `rgb` has bits above the 24 low ones.
    pub const fn new(rgb: u32) -> Option<Colour> {
        if rgb <= 0xff_ffff {
            Some(Colour(rgb))
        } else {
            None
        }
    }

    /// The colour from its three components.
    pub const fn from_rgb(r: u8, g: u8, b: u8) -> Colour {
        Colour((r as u32) << 16 | (g as u32) << 8 | b as u32)
    }

    /// `0xRRGGBB`.
    pub const fn rgb(self) -> u32 {
        self.0
    }
}

/// A tag of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Its id.
    pub id: TagId,
    /// Its name.
    pub name: String,
    /// Its colour.
    pub colour: Colour,
}

/// The tags a new account starts with (§5.8 "预设的标签"): name and colour.
pub const PRESETS: [(&str, Colour); 5] = [
    ("重要客户", Colour::from_rgb(0xe5, 0x39, 0x35)),
    ("意向客户", Colour::from_rgb(0xfb, 0x8c, 0x00)),
    ("待跟进", Colour::from_rgb(0x1e, 0x88, 0xe5)),
    ("已成交", Colour::from_rgb(0x43, 0xa0, 0x47)),
    ("投诉", Colour::from_rgb(0x8e, 0x24, 0xaa)),
];

/// Why a tag operation was refused. Always the requester's fault; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TagError {
    /// The account already has [`MAX_TAGS`] tags.
    #[error("an account has at most {MAX_TAGS} tags")]
    TooMany,
    /// The name is not a valid label.
    #[error("tag name: {0}")]
    Name(#[from] LabelError),
    /// Another tag already has this name.
    #[error("a tag named {0:?} exists")]
    Duplicate(String),
    /// No tag has this id.
    #[error("no tag {0:?}")]
    Unknown(TagId),
    /// Restored tags break an invariant (ids not below the next id, or repeated).
    #[error("stored tags are inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// The tags of one account, in display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tags {
    tags: Vec<Tag>,
    next_id: u32,
}

impl Default for Tags {
    fn default() -> Self {
        Tags::new()
    }
}

impl Tags {
    /// No tag.
    pub const fn new() -> Tags {
        Tags {
            tags: Vec::new(),
            next_id: 1,
        }
    }

    /// The [`PRESETS`], ids 1.. in order.
    pub fn with_presets() -> Tags {
        let mut tags = Tags::new();
        for (name, colour) in PRESETS {
            tags.tags.push(Tag {
                id: TagId(tags.next_id),
                name: name.to_owned(),
                colour,
            });
            tags.next_id += 1;
        }
        tags
    }

    /// Rebuilds stored tags: every id below `next_id`, ids and names unique, names valid.
    pub fn restore(tags: Vec<Tag>, next_id: u32) -> Result<Tags, TagError> {
        let mut restored = Tags {
            tags: Vec::with_capacity(tags.len()),
            next_id,
        };
        if tags.len() > MAX_TAGS {
            return Err(TagError::TooMany);
        }
        for tag in tags {
            if tag.id.0 >= next_id {
                return Err(TagError::Inconsistent("a tag id is not below the next id"));
            }
            if restored.get(tag.id).is_some() {
                return Err(TagError::Inconsistent("a tag id is repeated"));
            }
            restored.check_name(&tag.name, None)?;
            restored.tags.push(tag);
        }
        Ok(restored)
    }

    /// The id the next created tag gets (to be stored with the tags).
    pub const fn next_id(&self) -> u32 {
        self.next_id
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// Whether there is no tag.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The tags in display order.
    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.tags.iter()
    }

    /// The tag `id`.
    pub fn get(&self, id: TagId) -> Option<&Tag> {
        self.tags.iter().find(|t| t.id == id)
    }

    /// The tag named `name` (exactly).
    pub fn by_name(&self, name: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.name == name)
    }

    /// Creates a tag at the end of the list.
    pub fn create(&mut self, name: &str, colour: Colour) -> Result<TagId, TagError> {
        if self.tags.len() >= MAX_TAGS {
            return Err(TagError::TooMany);
        }
        self.check_name(name, None)?;
        let id = TagId(self.next_id);
        let next_id = self
            .next_id
            .checked_add(1)
            .ok_or(TagError::Inconsistent("tag ids exhausted"))?;
        self.tags.push(Tag {
            id,
            name: name.to_owned(),
            colour,
        });
        self.next_id = next_id;
        Ok(id)
    }

    /// Renames a tag.
    pub fn rename(&mut self, id: TagId, name: &str) -> Result<(), TagError> {
        if self.get(id).is_none() {
            return Err(TagError::Unknown(id));
        }
        self.check_name(name, Some(id))?;
        let tag = self.get_mut(id)?;
        tag.name = name.to_owned();
        Ok(())
    }

    /// Changes a tag's colour.
    pub fn set_colour(&mut self, id: TagId, colour: Colour) -> Result<(), TagError> {
        self.get_mut(id)?.colour = colour;
        Ok(())
    }

    /// Deletes a tag and returns it; the caller removes it from the contacts that carry it.
    pub fn delete(&mut self, id: TagId) -> Result<Tag, TagError> {
        let at = self
            .tags
            .iter()
            .position(|t| t.id == id)
            .ok_or(TagError::Unknown(id))?;
        Ok(self.tags.remove(at))
    }

    fn get_mut(&mut self, id: TagId) -> Result<&mut Tag, TagError> {
        self.tags
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(TagError::Unknown(id))
    }

    /// A valid name no other tag than `except` has.
    fn check_name(&self, name: &str, except: Option<TagId>) -> Result<(), TagError> {
        check_label(name, MAX_TAG_NAME_CHARS)?;
        if self
            .tags
            .iter()
            .any(|t| t.name == name && Some(t.id) != except)
        {
            return Err(TagError::Duplicate(name.to_owned()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RED: Colour = Colour::from_rgb(0xff, 0, 0);

    #[test]
    fn presets_then_up_to_sixteen() {
        let mut tags = Tags::with_presets();
        assert_eq!(tags.len(), PRESETS.len());
        let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, PRESETS.map(|(n, _)| n));
        let ids: Vec<u32> = tags.iter().map(|t| t.id.0).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
        for i in PRESETS.len()..MAX_TAGS {
            tags.create(&format!("标签{i}"), RED).unwrap();
        }
        assert_eq!(tags.len(), 16);
        assert_eq!(tags.create("第十七", RED), Err(TagError::TooMany));
        // deleting one makes room; the new tag gets a fresh id
        let gone = tags.delete(TagId(2)).unwrap();
        assert_eq!(gone.name, "意向客户");
        let id = tags.create("第十七", RED).unwrap();
        assert_eq!(id, TagId(17));
        assert!(tags.get(TagId(2)).is_none());
    }

    #[test]
    fn refusals_leave_tags_unchanged() {
        let mut tags = Tags::with_presets();
        let before = tags.clone();
        let cases: Vec<(&str, Result<(), TagError>)> = vec![
            ("duplicate create", tags.create("投诉", RED).map(drop)),
            ("bad name", tags.create(" x", RED).map(drop)),
            ("too long", tags.create(&"字".repeat(17), RED).map(drop)),
            ("rename to other's name", tags.rename(TagId(1), "投诉")),
            ("rename unknown", tags.rename(TagId(99), "新")),
            ("colour unknown", tags.set_colour(TagId(99), RED)),
            ("delete unknown", tags.delete(TagId(99)).map(drop)),
        ];
        let want = [
            Err(TagError::Duplicate("投诉".into())),
            Err(TagError::Name(LabelError::Untrimmed)),
            Err(TagError::Name(LabelError::TooLong { chars: 17, max: 16 })),
            Err(TagError::Duplicate("投诉".into())),
            Err(TagError::Unknown(TagId(99))),
            Err(TagError::Unknown(TagId(99))),
            Err(TagError::Unknown(TagId(99))),
        ];
        for ((name, got), want) in cases.into_iter().zip(want) {
            assert_eq!(got, want, "{name}");
        }
        assert_eq!(tags, before);
    }

    #[test]
    fn rename_and_colour() {
        let mut tags = Tags::with_presets();
        tags.rename(TagId(1), "VIP").unwrap();
        tags.rename(TagId(1), "VIP").unwrap(); // its own name again is fine
        tags.set_colour(TagId(1), RED).unwrap();
        let t = tags.by_name("VIP").unwrap();
        assert_eq!((t.id, t.colour), (TagId(1), RED));
        assert!(tags.by_name("重要客户").is_none());
    }

    #[test]
    fn colours() {
        assert_eq!(Colour::new(0xff_ffff).map(Colour::rgb), Some(0xff_ffff));
        assert_eq!(Colour::new(0x100_0000), None);
        assert_eq!(Colour::from_rgb(1, 2, 3).rgb(), 0x01_0203);
    }

    #[test]
    fn restore_checks_invariants() {
        let tags = Tags::with_presets();
        let all: Vec<Tag> = tags.iter().cloned().collect();
        assert_eq!(Tags::restore(all.clone(), tags.next_id()), Ok(tags));
        assert!(matches!(
            Tags::restore(all.clone(), 5),
            Err(TagError::Inconsistent(_))
        ));
        let mut repeated = all.clone();
        repeated.push(all[0].clone());
        assert!(matches!(
            Tags::restore(repeated, 9),
            Err(TagError::Inconsistent(_))
        ));
        let mut same_name = all.clone();
        same_name.push(Tag {
            id: TagId(8),
            ..all[0].clone()
        });
        assert!(matches!(
            Tags::restore(same_name, 9),
            Err(TagError::Duplicate(_))
        ));
        let many: Vec<Tag> = (1..=17)
            .map(|i| Tag {
                id: TagId(i),
                name: format!("t{i}"),
                colour: RED,
            })
            .collect();
        assert_eq!(Tags::restore(many, 18), Err(TagError::TooMany));
    }
}
