//! Stored records of the account extras (`shard/account_extras.rs`): quick-reply lists
//! (M5) and the per-account key of account-centre tickets, and the tickets themselves.
//!
//! Same rules as [`records`](super::records): one version byte, frozen postcard bodies
//! (`mod v1`), explicit conversion from and to the wire types, typed errors on bad
//! input. Key layout: [`keys`] (`quick_replies`, `ticket_keys`).
//!
//! # Account-centre tickets
//!
//! `AccountCentreTicket` hands an agent a short-lived ticket that the web account centre
//! (§10, a separate module) checks before it lets the agent into one of its modules
//! (permissions 13–16). A ticket is [`TICKET_LEN`] (54) bytes:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version, [`TICKET_VERSION`] (1) |
//! | 8 | account `u64` BE |
//! | 4 | agent `u32` BE |
//! | 1 | module: 0 account info, 1 enterprise space, 2 campaigns, 3 service configuration (the wire indices of `AccountCentreModule`) |
//! | 8 | expiry, unix seconds `i64` BE: issued + [`TICKET_TTL_SECS`] (300) |
//! | 32 | HMAC-SHA256 of the 22 bytes above under the account's ticket key |
//!
//! **The key.** Each account has its own 32-byte random ticket key, made at its first
//! ticket and stored in `ticket_keys` sealed with the appliance key (the key that seals
//! token seeds and customer-signing keys: AES-256-GCM, associated data
//! `ticket-key:<account>`), so it is never on disk in clear and a record copied onto
//! another account does not open. The appliance key itself is not reachable as bytes
//! (`SealingKey` only seals and opens), hence a sealed random key rather than one
//! derived from it. A module verifies with [`verify_ticket`] given the key
//! ([`load_ticket_key`] reads and opens it), or with [`verify_ticket_in_store`] in one
//! call: version, length and signature (in constant time) first, then the module it is
//! for, then the expiry.

use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use super::{keys, Cf, KvStore};
use crate::otp::sealed::{self, SealError, SealingKey};
use kefu_wire::{AccountCentreModule, QuickReply};
use ring::hmac;

/// One quick-reply list: an agent's own, or the account's shared one (agent 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickRepliesRecord {
    /// Account number.
    pub account: u64,
    /// The agent whose list it is; 0 for the account's shared list.
    pub agent: u32,
    /// The replies, in display order.
    pub replies: Vec<QuickReply>,
}

/// An account's ticket key, sealed with the appliance key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketKeyRecord {
    /// AES-256-GCM sealed 32-byte key (see `otp::sealed`), associated data
    /// `ticket-key:<account>`.
    pub sealed: Vec<u8>,
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Reply<'a> {
        pub shortcut: &'a str,
        pub text: &'a str,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct QuickReplies<'a> {
        pub account: u64,
        pub agent: u32,
        #[serde(borrow)]
        pub replies: Vec<Reply<'a>>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct TicketKey<'a> {
        pub sealed: &'a [u8],
    }
}

impl StoredRecord for QuickRepliesRecord {
    const KIND: &'static str = "quick replies";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::QuickReplies {
                account: self.account,
                agent: self.agent,
                replies: self
                    .replies
                    .iter()
                    .map(|r| v1::Reply {
                        shortcut: &r.shortcut,
                        text: &r.text,
                    })
                    .collect(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::QuickReplies<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(QuickRepliesRecord {
            account: b.account,
            agent: b.agent,
            replies: b
                .replies
                .into_iter()
                .map(|r| QuickReply {
                    shortcut: r.shortcut.to_owned(),
                    text: r.text.to_owned(),
                })
                .collect(),
        })
    }
}

impl StoredRecord for TicketKeyRecord {
    const KIND: &'static str = "ticket key";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::TicketKey {
                sealed: &self.sealed,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::TicketKey<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(TicketKeyRecord {
            sealed: b.sealed.to_vec(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Tickets
// ---------------------------------------------------------------------------------------

/// The ticket format version written by [`issue_ticket`].
pub const TICKET_VERSION: u8 = 1;
/// Length of a ticket, in bytes.
pub const TICKET_LEN: usize = SIGNED_LEN + TAG_LEN;
/// How long a ticket is valid, in seconds.
pub const TICKET_TTL_SECS: i64 = 300;
/// Length of a ticket key, in bytes.
pub const TICKET_KEY_LEN: usize = 32;

/// Bytes covered by the signature.
const SIGNED_LEN: usize = 1 + 8 + 4 + 1 + 8;
/// Length of the HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// What a ticket says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketClaims {
    /// Account number.
    pub account: u64,
    /// The agent it was issued to.
    pub agent: u32,
    /// The module it opens.
    pub module: AccountCentreModule,
    /// When it expires, unix seconds.
    pub expires_at: i64,
}

/// Why a ticket was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TicketError {
    /// Not a ticket of a version this build knows, or not [`TICKET_LEN`] bytes.
    #[error("not a ticket")]
    Malformed,
    /// The signature does not match: altered, or not made with this account's key.
    #[error("ticket signature does not match")]
    BadSignature,
    /// A valid ticket for another module.
    #[error("ticket is for another module")]
    OtherModule,
    /// A valid ticket whose time is over.
    #[error("ticket expired")]
    Expired,
    /// The account has no ticket key: it never had a ticket.
    #[error("account {0} has no ticket key")]
    NoKey(u64),
    /// The key could not be read or opened.
    #[error("ticket key: {0}")]
    Key(String),
}

/// An account's ticket key, ready to sign and verify. `Debug` hides it.
#[derive(Clone)]
pub struct TicketKey(hmac::Key);

impl TicketKey {
    /// The key from its bytes.
    pub fn from_bytes(bytes: &[u8; TICKET_KEY_LEN]) -> TicketKey {
        TicketKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }
}

impl std::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketKey(..)")
    }
}

fn module_byte(m: AccountCentreModule) -> u8 {
    match m {
        AccountCentreModule::AccountInfo => 0,
        AccountCentreModule::EnterpriseSpace => 1,
        AccountCentreModule::Campaigns => 2,
        AccountCentreModule::ServiceConfig => 3,
    }
}

fn module_from(b: u8) -> Option<AccountCentreModule> {
    Some(match b {
        0 => AccountCentreModule::AccountInfo,
        1 => AccountCentreModule::EnterpriseSpace,
        2 => AccountCentreModule::Campaigns,
        3 => AccountCentreModule::ServiceConfig,
        _ => return None,
    })
}

fn key_aad(account: u64) -> String {
    format!("ticket-key:{account}")
}

/// Makes a ticket for `claims`, signed with `key` (the key of `claims.account`).
pub fn issue_ticket(key: &TicketKey, claims: &TicketClaims) -> Vec<u8> {
    let mut out = Vec::with_capacity(TICKET_LEN);
    out.push(TICKET_VERSION);
    out.extend_from_slice(&claims.account.to_be_bytes());
    out.extend_from_slice(&claims.agent.to_be_bytes());
    out.push(module_byte(claims.module));
    out.extend_from_slice(&claims.expires_at.to_be_bytes());
    let tag = hmac::sign(&key.0, &out);
    out.extend_from_slice(tag.as_ref());
    out
}

/// The account a ticket claims to be for (unverified: to find the key to verify it with).
pub fn ticket_account(ticket: &[u8]) -> Option<u64> {
    if ticket.len() != TICKET_LEN || ticket[0] != TICKET_VERSION {
        return None;
    }
    Some(u64::from_be_bytes(ticket.get(1..9)?.try_into().ok()?))
}

/// Checks a ticket for `module` at `now` (unix seconds) with its account's `key`.
pub fn verify_ticket(
    key: &TicketKey,
    ticket: &[u8],
    module: AccountCentreModule,
    now: i64,
) -> Result<TicketClaims, TicketError> {
    if ticket.len() != TICKET_LEN || ticket[0] != TICKET_VERSION {
        return Err(TicketError::Malformed);
    }
    let (signed, tag) = ticket.split_at(SIGNED_LEN);
    hmac::verify(&key.0, signed, tag).map_err(|_| TicketError::BadSignature)?;
    let eight = |i: usize| -> Result<[u8; 8], TicketError> {
        signed
            .get(i..i + 8)
            .and_then(|b| b.try_into().ok())
            .ok_or(TicketError::Malformed)
    };
    let account = u64::from_be_bytes(eight(1)?);
    let agent = signed
        .get(9..13)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(TicketError::Malformed)?;
    let claimed = module_from(signed[13]).ok_or(TicketError::Malformed)?;
    let expires_at = i64::from_be_bytes(eight(14)?);
    if claimed != module {
        return Err(TicketError::OtherModule);
    }
    if now >= expires_at {
        return Err(TicketError::Expired);
    }
    Ok(TicketClaims {
        account,
        agent,
        module: claimed,
        expires_at,
    })
}

/// Seals a new ticket key of `account` for storing.
pub fn seal_ticket_key(
    sealing: &SealingKey,
    account: u64,
    secret: &[u8; TICKET_KEY_LEN],
    rng: &dyn ring::rand::SecureRandom,
) -> Result<TicketKeyRecord, SealError> {
    Ok(TicketKeyRecord {
        sealed: sealed::seal(sealing, &key_aad(account), secret, rng)?,
    })
}

/// Opens the stored ticket key of `account`.
pub fn open_ticket_key(
    sealing: &SealingKey,
    account: u64,
    record: &TicketKeyRecord,
) -> Result<TicketKey, SealError> {
    let secret = sealed::open(sealing, &key_aad(account), &record.sealed)?;
    let bytes: &[u8; TICKET_KEY_LEN] = secret
        .expose()
        .try_into()
        .map_err(|_| SealError::Truncated)?;
    Ok(TicketKey::from_bytes(bytes))
}

/// Reads and opens the ticket key of `account`; `None` if it never had a ticket.
pub fn load_ticket_key<S: KvStore + ?Sized>(
    store: &S,
    sealing: &SealingKey,
    account: u64,
) -> Result<Option<TicketKey>, TicketError> {
    let Some(bytes) = store
        .get(Cf::TicketKeys, &keys::ticket_key(account))
        .map_err(|e| TicketError::Key(e.to_string()))?
    else {
        return Ok(None);
    };
    let record = TicketKeyRecord::decode(&bytes).map_err(|e| TicketError::Key(e.to_string()))?;
    open_ticket_key(sealing, account, &record)
        .map(Some)
        .map_err(|e| TicketError::Key(e.to_string()))
}

/// Verifies a ticket for `module` at `now` with the key its account has in `store`.
pub fn verify_ticket_in_store<S: KvStore + ?Sized>(
    store: &S,
    sealing: &SealingKey,
    ticket: &[u8],
    module: AccountCentreModule,
    now: i64,
) -> Result<TicketClaims, TicketError> {
    let account = ticket_account(ticket).ok_or(TicketError::Malformed)?;
    let key = load_ticket_key(store, sealing, account)?.ok_or(TicketError::NoKey(account))?;
    verify_ticket(&key, ticket, module, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_replies_round_trip_and_truncations() {
        let r = QuickRepliesRecord {
            account: 7,
            agent: 0,
            replies: vec![
                QuickReply {
                    shortcut: "价格".into(),
                    text: "每年 980 元".into(),
                },
                QuickReply {
                    shortcut: "bye".into(),
                    text: "再见".into(),
                },
            ],
        };
        let bytes = r.encode();
        assert_eq!(QuickRepliesRecord::decode(&bytes).unwrap(), r);
        for cut in 0..bytes.len() {
            assert!(
                QuickRepliesRecord::decode(&bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        // Pinned: account, agent, count, then each reply's two strings.
        let one = QuickRepliesRecord {
            account: 1,
            agent: 1002,
            replies: vec![QuickReply {
                shortcut: "a".into(),
                text: "b".into(),
            }],
        };
        assert_eq!(one.encode(), vec![1, 1, 0xea, 0x07, 1, 1, b'a', 1, b'b']);
        let key = TicketKeyRecord {
            sealed: vec![1, 2, 3],
        };
        assert_eq!(TicketKeyRecord::decode(&key.encode()).unwrap(), key);
    }

    fn claims() -> TicketClaims {
        TicketClaims {
            account: 800_001,
            agent: 1002,
            module: AccountCentreModule::Campaigns,
            expires_at: 1_800_000_300,
        }
    }

    #[test]
    fn tickets_verify_and_refuse_tampering_other_modules_keys_and_time() {
        let key = TicketKey::from_bytes(&[7; 32]);
        let ticket = issue_ticket(&key, &claims());
        assert_eq!(ticket.len(), TICKET_LEN);
        assert_eq!(ticket_account(&ticket), Some(800_001));
        let now = 1_800_000_000;
        assert_eq!(
            verify_ticket(&key, &ticket, AccountCentreModule::Campaigns, now),
            Ok(claims())
        );
        // Any changed byte breaks it.
        for i in 0..ticket.len() {
            let mut bad = ticket.clone();
            bad[i] ^= 0x01;
            let e = verify_ticket(&key, &bad, AccountCentreModule::Campaigns, now).unwrap_err();
            assert!(
                matches!(e, TicketError::BadSignature | TicketError::Malformed),
                "byte {i}: {e:?}"
            );
        }
        assert_eq!(
            verify_ticket(&key, &ticket[..53], AccountCentreModule::Campaigns, now),
            Err(TicketError::Malformed)
        );
        assert_eq!(
            verify_ticket(&key, &ticket, AccountCentreModule::AccountInfo, now),
            Err(TicketError::OtherModule)
        );
        let other = TicketKey::from_bytes(&[8; 32]);
        assert_eq!(
            verify_ticket(&other, &ticket, AccountCentreModule::Campaigns, now),
            Err(TicketError::BadSignature)
        );
        assert_eq!(
            verify_ticket(&key, &ticket, AccountCentreModule::Campaigns, 1_800_000_300),
            Err(TicketError::Expired)
        );
    }

    #[test]
    fn ticket_keys_are_sealed_per_account_and_found_in_the_store() {
        let sealing = SealingKey::from_bytes(&[3; 32]).unwrap();
        let rng = ring::rand::SystemRandom::new();
        let record = seal_ticket_key(&sealing, 800_001, &[9; 32], &rng).unwrap();
        assert!(!record.sealed.windows(32).any(|w| w == [9; 32]));
        assert!(open_ticket_key(&sealing, 800_002, &record).is_err());
        let key = open_ticket_key(&sealing, 800_001, &record).unwrap();
        let ticket = issue_ticket(&key, &claims());

        let store = crate::store::MemoryStore::new();
        assert_eq!(
            verify_ticket_in_store(&store, &sealing, &ticket, AccountCentreModule::Campaigns, 0),
            Err(TicketError::NoKey(800_001))
        );
        let mut batch = crate::store::Batch::new();
        batch.put(Cf::TicketKeys, &keys::ticket_key(800_001), record.encode());
        store.write(&batch, crate::store::Durability::Wal).unwrap();
        assert_eq!(
            verify_ticket_in_store(&store, &sealing, &ticket, AccountCentreModule::Campaigns, 0),
            Ok(claims())
        );
    }
}
