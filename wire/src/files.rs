//! Files (C13, manual §3.7): online transfers relayed between two connected parties in
//! chunks under the receiver's credit, and offline files uploaded in chunks, stored by
//! the appliance and fetched once with a token (`wire/PROTOCOL.md` section 28).
//!
//! The limits here bound everything a peer can make the server hold: a chunk is at
//! most [`MAX_FILE_CHUNK`] bytes (never one giant frame), and an online transfer's
//! window — what the receiver granted and has not been sent yet, plus what was sent
//! and not yet credited again — is at most [`MAX_FILE_WINDOW`] bytes.

use serde::{Deserialize, Serialize};

/// Largest chunk of `FileChunk`, `UploadChunk` and `FetchChunk`, in bytes (64 KiB).
pub const MAX_FILE_CHUNK: usize = 64 << 10;
/// Largest window of an online transfer: how far past the bytes already relayed the
/// receiver may grant credit (1 MiB). A larger grant is clamped to it.
pub const MAX_FILE_WINDOW: u64 = 1 << 20;
/// Longest file name, in bytes (UTF-8, no `/` or NUL).
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// Largest page of `ListOfflineFiles`.
pub const MAX_OFFLINE_FILE_PAGE: usize = 100;

/// Whom a file goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FilePeer {
    /// The other side of this conversation: its customer when an agent sends, the
    /// agent serving it when the customer sends.
    Conversation(u64),
    /// Another agent of the sender's account (agents only).
    Agent(u32),
}

/// A file as offered or stored: what the receiver is told before any byte moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// Name shown (1..=255 bytes, no `/` or NUL).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, as the sender declares it.
    pub sha256: [u8; 32],
    /// An image rather than a file (shown inline; refused towards mobile customers too).
    pub image: bool,
}

/// Why an online transfer ended before its last byte (pushed as `FileEnded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileEnd {
    /// The receiver declined the offer.
    Declined,
    /// The other side cancelled (`FileCancel`).
    Cancelled,
    /// The other side's session ended (disconnected, logged out).
    PeerGone,
}

/// An offline file waiting for its recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineFileInfo {
    /// Its id, increasing within the account.
    pub file: u64,
    /// Who sent it.
    pub from: crate::chat::Party,
    /// Name, size, hash, image.
    pub meta: FileMeta,
    /// When it was stored, unix ms.
    pub at: i64,
    /// The one-time token that fetches it (`FetchFile`); only its recipient may use it.
    pub token: [u8; 32],
}
