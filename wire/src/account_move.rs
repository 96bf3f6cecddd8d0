//! The bodies of moving an account between appliances (PROTOCOL.md section 40.6):
//! the account's stored keys as the source exports them page by page and the target
//! imports them. Admin socket only.

use serde::{Deserialize, Serialize};

/// The most bytes of entries (keys and values) one export page carries: well inside
/// the default 1 MiB frame, and a short scan on the source's loop.
pub const MAX_EXPORT_PAGE_BYTES: usize = 512 * 1024;

/// The most entries one import page may carry.
pub const MAX_IMPORT_ENTRIES: usize = 100_000;

/// One stored key of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountEntry {
    /// The column family's name (`daemon/src/store/keys.rs`), e.g. `messages`: names,
    /// not numbers, so that two versions with different lists agree.
    pub cf: String,
    /// The key (it starts with the account's 8-byte big-endian number).
    pub key: Vec<u8>,
    /// The stored value, as stored (versioned by its own record type).
    pub value: Vec<u8>,
}

/// Where the next export page starts: after this key of this column family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountCursor {
    /// The column family's name.
    pub cf: String,
    /// The last key sent.
    pub key: Vec<u8>,
}

/// A page of an account's export (`AdminExportAccount`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountExport {
    /// The exporting appliance's pair (`[cluster.etcd] pair`; empty without one).
    pub pair: String,
    /// The entries, in (column family, key) order.
    pub entries: Vec<AccountEntry>,
    /// The cursor of the next page; `None`: this was the last.
    pub next: Option<AccountCursor>,
}

/// The most changes one `AccountChanges` answer carries, their keys and values at
/// most [`MAX_EXPORT_PAGE_BYTES`] — unless one logged batch alone holds more (a round
/// is whole batches). The target takes up to [`MAX_IMPORT_ENTRIES`] a round.
pub const MAX_ROUND_CHANGES: usize = 10_000;

/// One change of an account's stored keys, as the source committed it (its write-ahead
/// log, read after the copy's starting point): applied in order, it brings the target's
/// copy to the source's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountChange {
    /// Store `value` under `key`.
    Put {
        /// The column family's name.
        cf: String,
        /// The key (the account's).
        key: Vec<u8>,
        /// The value, as stored.
        value: Vec<u8>,
    },
    /// Remove `key`.
    Delete {
        /// The column family's name.
        cf: String,
        /// The key (the account's).
        key: Vec<u8>,
    },
    /// Remove every key in `[start, end)` (both inside the account's keys).
    DeleteRange {
        /// The column family's name.
        cf: String,
        /// First key removed.
        start: Vec<u8>,
        /// First key kept.
        end: Vec<u8>,
    },
    /// Remove every key of the account in every account-scoped column family: the
    /// target's copy starts over (kefuctl's fallback when the source's log is gone).
    Clear,
}

/// A round of an account's changes (`AdminAccountChanges`): those committed in
/// `(after, upto]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChanges {
    /// Where the round starts (the request's `after`, or the store's latest sequence
    /// when asked for the starting point).
    pub after: u64,
    /// Where it ends: the sequence of the last operation read; the next round starts
    /// after it.
    pub upto: u64,
    /// The source's latest sequence when read: `upto == latest` means caught up.
    pub latest: u64,
    /// The account's changes, in commit order (see [`MAX_ROUND_CHANGES`]).
    pub changes: Vec<AccountChange>,
}
