//! The review queue across accounts (`wire/PROTOCOL.md` section 30.12), in `meta`:
//! `broadcast_review` ‖ submitted at (unix ms, `i64` with its sign bit flipped, BE) ‖
//! account `u64` BE ‖ broadcast `u64` BE ([`review_key`]) → a [`ReviewEntryRecord`]
//! (the broadcast's summary as it was submitted). Written in the batch that submits a
//! broadcast, deleted in the batch that approves, rejects or cancels it: byte order is
//! the queue's order (oldest submission first), so a page is one bounded scan. `meta` is
//! not account-scoped; an entry of a deleted account is skipped when listed.
//!
//! Same rules as [`records`](super::records): a version byte and a frozen postcard body;
//! the summary is the wire's `BroadcastSummary`, whose encoding the golden bytes freeze.

use super::keys::KeyRange;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::valueadded::{BroadcastSummary, ReviewCursor};

/// Prefix of every entry.
pub const REVIEW_PREFIX: &[u8] = b"broadcast_review";

/// One broadcast pending review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewEntryRecord {
    /// Its summary when submitted.
    pub summary: BroadcastSummary,
}

mod v1 {
    use kefu_wire::valueadded::BroadcastSummary;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Entry {
        pub summary: BroadcastSummary,
    }
}

impl StoredRecord for ReviewEntryRecord {
    const KIND: &'static str = "broadcast review entry";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Entry {
                summary: self.summary.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let e: v1::Entry = decode_v1(Self::KIND, bytes)?;
        Ok(ReviewEntryRecord { summary: e.summary })
    }
}

/// The entry's key.
pub fn review_key(at: ReviewCursor) -> Vec<u8> {
    let mut k = REVIEW_PREFIX.to_vec();
    k.extend_from_slice(&((at.submitted_at as u64) ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(&at.account.to_be_bytes());
    k.extend_from_slice(&at.id.to_be_bytes());
    k
}

/// Parses a [`review_key`].
pub fn parse_review_key(key: &[u8]) -> Option<ReviewCursor> {
    let rest = key.strip_prefix(REVIEW_PREFIX)?;
    let word = |i: usize| -> Option<u64> {
        Some(u64::from_be_bytes(rest.get(i..i + 8)?.try_into().ok()?))
    };
    if rest.len() != 24 {
        return None;
    }
    Some(ReviewCursor {
        submitted_at: (word(0)? ^ (1 << 63)) as i64,
        account: word(8)?,
        id: word(16)?,
    })
}

/// The entries after `after` (all of them for `None`).
pub fn review_range(after: Option<ReviewCursor>) -> KeyRange {
    let start = match after {
        Some(at) => {
            let mut k = review_key(at);
            k.push(0);
            k
        }
        None => REVIEW_PREFIX.to_vec(),
    };
    let mut end = REVIEW_PREFIX.to_vec();
    end.extend_from_slice(&[0xff; 25]);
    KeyRange { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_oldest_first_and_parse_back() {
        let a = ReviewCursor {
            submitted_at: -5,
            account: 9,
            id: 1,
        };
        let b = ReviewCursor {
            submitted_at: 3,
            account: 1,
            id: 7,
        };
        assert!(review_key(a) < review_key(b));
        assert_eq!(parse_review_key(&review_key(a)), Some(a));
        assert_eq!(parse_review_key(&review_key(b)), Some(b));
        assert!(review_range(Some(a)).start > review_key(a));
        assert!(review_range(Some(a)).start <= review_key(b));
    }
}
