//! Account-centre tickets that signed in (issue 17; `wire/PROTOCOL.md` 39.1): each
//! ticket signs in once, and a restart within its 300 seconds must not forget that it
//! did. One [`UsedTicketRecord`] per used ticket, in `ticket_keys` under
//! [`used_ticket`]: account `u64` BE (8) ‖ `b'U'` ‖ the ticket's expiry `i64` BE (8) ‖
//! the first 16 bytes of the ticket's SHA-256. The expiry leads so that the expired
//! entries of an account are one range ([`expired_used_tickets`]), dropped in the batch
//! of the account's next ticket sign-in. The account's ticket key itself is the
//! 8-byte key `account` alone, so the two never collide.
//!
//! Same rules as [`records`](super::records): one version byte, a frozen postcard body
//! (`mod v1`), typed errors on bad input.

use super::keys::KeyRange;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use super::{Cf, KvStore};
use ring::digest;

/// The tag after the account in a used ticket's key.
const TAG: u8 = b'U';
/// The bytes of the ticket's digest kept in the key.
const DIGEST_LEN: usize = 16;
/// Length of a used ticket's key.
pub const USED_TICKET_KEY_LEN: usize = 8 + 1 + 8 + DIGEST_LEN;

/// A ticket that signed in: when it expires (unix seconds; it may be forgotten then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsedTicketRecord {
    /// The ticket's expiry, unix seconds.
    pub expires_at: i64,
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct UsedTicket {
        pub expires_at: i64,
    }
}

impl StoredRecord for UsedTicketRecord {
    const KIND: &'static str = "used ticket";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::UsedTicket {
                expires_at: self.expires_at,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::UsedTicket = decode_v1(Self::KIND, bytes)?;
        Ok(UsedTicketRecord {
            expires_at: b.expires_at,
        })
    }
}

fn prefix(account: u64, expires_at: i64) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[..8].copy_from_slice(&account.to_be_bytes());
    key[8] = TAG;
    // Expiries are positive unix seconds; a negative one sorts as the oldest.
    key[9..].copy_from_slice(&(expires_at.max(0) as u64).to_be_bytes());
    key
}

/// Key of a used ticket of `account` in [`Cf::TicketKeys`].
pub fn used_ticket(account: u64, expires_at: i64, ticket: &[u8]) -> [u8; USED_TICKET_KEY_LEN] {
    let mut key = [0u8; USED_TICKET_KEY_LEN];
    key[..17].copy_from_slice(&prefix(account, expires_at));
    let hash = digest::digest(&digest::SHA256, ticket);
    key[17..].copy_from_slice(&hash.as_ref()[..DIGEST_LEN]);
    key
}

/// The used tickets of `account` that expired at or before `now` (unix seconds).
pub fn expired_used_tickets(account: u64, now: i64) -> KeyRange {
    KeyRange {
        start: prefix(account, 0).to_vec(),
        end: prefix(account, now.saturating_add(1)).to_vec(),
    }
}

/// Whether `store` holds `ticket` of `account` (expiring at `expires_at`) as used.
pub fn is_used<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
    expires_at: i64,
    ticket: &[u8],
) -> Result<bool, String> {
    let key = used_ticket(account, expires_at, ticket);
    match store.get(Cf::TicketKeys, &key).map_err(|e| e.to_string())? {
        None => Ok(false),
        Some(bytes) => UsedTicketRecord::decode(&bytes)
            .map(|_| true)
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_ticket_round_trip_and_keys() {
        let r = UsedTicketRecord {
            expires_at: 1_800_000_300,
        };
        let bytes = r.encode();
        assert_eq!(bytes[0], V1);
        assert_eq!(UsedTicketRecord::decode(&bytes).unwrap(), r);
        for cut in 0..bytes.len() {
            assert!(UsedTicketRecord::decode(&bytes[..cut]).is_err());
        }
        let mut other = bytes.clone();
        other[0] = 9;
        assert!(UsedTicketRecord::decode(&other).is_err());
        let key = used_ticket(7, 1_800_000_300, b"ticket");
        assert_eq!(key.len(), USED_TICKET_KEY_LEN);
        assert_ne!(key, used_ticket(7, 1_800_000_300, b"ticket2"));
        // Expired at 1_800_000_300: in the range; not before.
        let range = expired_used_tickets(7, 1_800_000_300);
        assert!(range.start.as_slice() <= &key[..] && &key[..] < range.end.as_slice());
        let range = expired_used_tickets(7, 1_800_000_299);
        assert!(&key[..] >= range.end.as_slice());
        // Never the account's ticket key (8 bytes), nor another account's.
        assert!(range.start.len() > 8);
        assert!(expired_used_tickets(8, i64::MAX).start.as_slice() > &key[..]);
    }
}
