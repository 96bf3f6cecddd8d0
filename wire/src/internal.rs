//! Internal chat between agents of one account (C11, manual §3.1 "内部聊天": one-to-one,
//! message search): the stored message as the protocol shows it. Carried by
//! `SendInternal`, `InternalHistory`, `SearchInternal` and the `InternalMessage` event
//! (`wire/PROTOCOL.md` section 24).

use serde::{Deserialize, Serialize};

/// Longest internal message, characters (as a customer-chat text message).
pub const MAX_INTERNAL_TEXT_CHARS: usize = 4_000;
/// Largest page of `InternalHistory` and `SearchInternal`.
pub const MAX_INTERNAL_PAGE: u16 = 100;
/// Longest search text, characters.
pub const MAX_INTERNAL_SEARCH_CHARS: usize = 64;

/// One stored internal message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternalMessage {
    /// Its id: increasing within the account (shared with conversation messages).
    pub id: u64,
    /// The sending agent.
    pub from: u32,
    /// The receiving agent.
    pub to: u32,
    /// When the server stored it, unix ms.
    pub at: i64,
    /// What it says.
    pub text: String,
}
