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
