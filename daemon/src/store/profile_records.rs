//! The enterprise profile and the chat window's style under review (E1, E2;
//! `wire/PROTOCOL.md` section 41) and their review queue across accounts.
//!
//! - In `web`, beside the account's other web records: `account ‖ 'E'`
//!   ([`profile_key`]) → a [`ProfileRecord`] (approved, pending, last rejected), and
//!   `account ‖ 'Y'` ([`style_key`]) → a [`StyleRecord`]. Account-scoped: deleting the
//!   account deletes them. An account without them (every data directory written
//!   before they existed) has never submitted anything.
//! - In `meta`: `profile_review` ‖ submitted at (unix ms, `i64` with its sign bit
//!   flipped, BE) ‖ account `u64` BE ‖ kind `u8` (0 profile, 1 style) ([`queue_key`])
//!   → a [`QueueRecord`] (the edit as submitted). Written in the batch of the
//!   submission (the replaced submission's entry deleted in it), deleted in the batch
//!   of the decision; byte order is the queue's order, oldest first. An entry of a
//!   deleted account is skipped when listed.
//!
//! Same rules as [`records`](super::records): a version byte and a frozen postcard body;
//! the bodies are the wire's `profile` types, whose encoding the golden bytes freeze.

use super::keys::{self, KeyRange};
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::profile::{
    ChatWindowStyle, EnterpriseProfile, ProfileReviewCursor, ReviewKind, ReviewSubject, Reviewed,
};

/// Tag of the profile.
pub const TAG_PROFILE: u8 = b'E';
/// Tag of the style.
pub const TAG_STYLE: u8 = b'Y';
/// Prefix of every queue entry.
pub const QUEUE_PREFIX: &[u8] = b"profile_review";

/// Key of the account's profile.
pub fn profile_key(account: u64) -> Vec<u8> {
    keys::web(account, TAG_PROFILE, &[])
}

/// Key of the account's style.
pub fn style_key(account: u64) -> Vec<u8> {
    keys::web(account, TAG_STYLE, &[])
}

/// The profile under review.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileRecord(pub Reviewed<EnterpriseProfile>);

/// The style under review.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StyleRecord(pub Reviewed<ChatWindowStyle>);

/// One queue entry: the edit as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecord {
    /// The edit.
    pub subject: ReviewSubject,
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use kefu_wire::profile::{ChatWindowStyle, EnterpriseProfile, ReviewSubject, Reviewed};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Profile {
        pub reviewed: Reviewed<EnterpriseProfile>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Style {
        pub reviewed: Reviewed<ChatWindowStyle>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Queue {
        pub subject: ReviewSubject,
    }
}

impl StoredRecord for ProfileRecord {
    const KIND: &'static str = "enterprise profile";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Profile {
                reviewed: self.0.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Profile = decode_v1(Self::KIND, bytes)?;
        Ok(ProfileRecord(b.reviewed))
    }
}

impl StoredRecord for StyleRecord {
    const KIND: &'static str = "chat window style";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Style {
                reviewed: self.0.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Style = decode_v1(Self::KIND, bytes)?;
        Ok(StyleRecord(b.reviewed))
    }
}

impl StoredRecord for QueueRecord {
    const KIND: &'static str = "profile review entry";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Queue {
                subject: self.subject.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Queue = decode_v1(Self::KIND, bytes)?;
        Ok(QueueRecord { subject: b.subject })
    }
}

fn kind_byte(kind: ReviewKind) -> u8 {
    match kind {
        ReviewKind::Profile => 0,
        ReviewKind::Style => 1,
    }
}

/// The entry's key.
pub fn queue_key(at: ProfileReviewCursor) -> Vec<u8> {
    let mut k = QUEUE_PREFIX.to_vec();
    k.extend_from_slice(&((at.submitted_at as u64) ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(&at.account.to_be_bytes());
    k.push(kind_byte(at.kind));
    k
}

/// Parses a [`queue_key`].
pub fn parse_queue_key(key: &[u8]) -> Option<ProfileReviewCursor> {
    let rest = key.strip_prefix(QUEUE_PREFIX)?;
    if rest.len() != 17 {
        return None;
    }
    let word = |i: usize| -> Option<u64> {
        Some(u64::from_be_bytes(rest.get(i..i + 8)?.try_into().ok()?))
    };
    let kind = match rest.get(16)? {
        0 => ReviewKind::Profile,
        1 => ReviewKind::Style,
        _ => return None,
    };
    Some(ProfileReviewCursor {
        submitted_at: (word(0)? ^ (1 << 63)) as i64,
        account: word(8)?,
        kind,
    })
}

/// The entries after `after` (all of them for `None`).
pub fn queue_range(after: Option<ProfileReviewCursor>) -> KeyRange {
    let start = match after {
        Some(at) => {
            let mut k = queue_key(at);
            k.push(0);
            k
        }
        None => QUEUE_PREFIX.to_vec(),
    };
    let mut end = QUEUE_PREFIX.to_vec();
    end.extend_from_slice(&[0xff; 18]);
    KeyRange { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_keys_sort_oldest_first() {
        let mut r = ProfileRecord::default();
        r.0.current = Some(EnterpriseProfile {
            full_name: "企业".into(),
            ..Default::default()
        });
        assert_eq!(ProfileRecord::decode(&r.encode()), Ok(r));
        let s = StyleRecord::default();
        assert_eq!(StyleRecord::decode(&s.encode()), Ok(s));
        let q = QueueRecord {
            subject: ReviewSubject::Style(ChatWindowStyle::default()),
        };
        assert_eq!(QueueRecord::decode(&q.encode()), Ok(q));
        assert!(ProfileRecord::decode(&[9]).is_err());
        let a = ProfileReviewCursor {
            submitted_at: -5,
            account: 9,
            kind: ReviewKind::Style,
        };
        let b = ProfileReviewCursor {
            submitted_at: 3,
            account: 1,
            kind: ReviewKind::Profile,
        };
        assert!(queue_key(a) < queue_key(b));
        assert_eq!(parse_queue_key(&queue_key(a)), Some(a));
        assert_eq!(parse_queue_key(b"profile_reviewx"), None);
        let range = queue_range(Some(a));
        assert!(range.start > queue_key(a) && queue_key(b) >= range.start);
        assert!(queue_key(b) < range.end);
    }
}
