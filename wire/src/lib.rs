//! Kefu wire protocol v1: frames, messages, a sans-IO codec and a blocking client.
//!
//! The protocol is specified in `wire/PROTOCOL.md`; this crate is its only
//! implementation and is shared by the daemon, `kefuctl` and `kefu-load`.
//!
//! Layers, bottom up:
//! - [`frame`]: the fixed 12-byte header and a decoder that refuses oversized
//!   frames before buffering them.
//! - [`message`]: the versioned postcard bodies carried by each frame kind
//!   ([`chat`], [`crm`], [`prefs`], [`automation`], [`internal`], [`menu`], [`spam`],
//!   [`sms`] and [`files`] hold the conversation, CRM, preference, automation,
//!   internal-chat, navigation-menu, spam-filter, SMS and file types they carry).
//! - [`error`]: stable protocol error codes and the crate's decode errors.
//! - [`conn`]: a sans-IO client connection (bytes in, events out, no sockets).
//! - [`server`]: the sans-IO server side of a connection (handshake, pings,
//!   correlation rules, push numbering and acks, output bound, timers).
//! - [`client`]: a blocking client over TCP or TLS built on [`conn`]; [`file_client`]:
//!   the sender's and receiver's loops of a file transfer, offline upload and fetch.
//!
//! **Boundary**: this crate knows nothing of RocksDB, mio or the daemon's
//! domain; it owns only what crosses the socket.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod account_move;
pub mod automation;
pub mod chat;
pub mod client;
pub mod conn;
pub mod crm;
pub mod csat;
pub mod error;
pub mod file_client;
pub mod files;
pub mod frame;
pub mod internal;
pub mod menu;
pub mod message;
pub mod pair;
pub mod prefs;
pub mod profile;
pub mod replica;
pub mod reports;
pub mod server;
pub mod sms;
pub mod spam;
pub mod survey;
pub mod valueadded;
pub mod web;

pub use client::{tls_config_with_ca_pem, Client, ClientError, ClientOptions, Transport};
pub use conn::{ClientConnection, ClientEvent};
pub use error::{ErrorCode, WireError};
pub use frame::{Frame, FrameDecoder, FrameHeader, FrameKind};
pub use message::*;
pub use server::{ServerConfig, ServerConnection, ServerEvent};

/// The protocol versions this build speaks, lowest to highest.
pub const PROTOCOL_VERSIONS: std::ops::RangeInclusive<u16> = 1..=1;

/// The four bytes every `Hello` must carry ("KEFU").
pub const MAGIC: u32 = 0x4B45_4655;

/// Default hard maximum of a frame body: 1 MiB. Peers may agree on less.
pub const DEFAULT_MAX_FRAME: u32 = 1 << 20;

/// Absolute ceiling of any frame body, whatever a configuration says: 16 MiB.
pub const MAX_FRAME_CEILING: u32 = 16 << 20;
