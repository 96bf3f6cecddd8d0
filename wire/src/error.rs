//! Stable protocol error codes and the errors of decoding bytes off the wire.

// Decodes peer or file input: no panicking shortcuts (style rule 5); tests may use them.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use serde::{Deserialize, Serialize};
use std::fmt;

/// A protocol error code: a stable number listed in `wire/PROTOCOL.md`.
///
/// A newtype rather than an enum so that a client built before a code existed
/// still carries it through (and can print it) instead of failing to decode.
/// Codes are never reused or renumbered.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ErrorCode(pub u16);

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $num:literal,)*) => {
        impl ErrorCode {
            $($(#[$doc])* pub const $name: ErrorCode = ErrorCode($num);)*

            /// The symbolic name of a known code, `None` for one this build does not know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $($num => Some(stringify!($name)),)* _ => None }
            }

            /// Every code this build knows, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode($num),)*];
        }
    };
}

codes! {
    /// The bytes do not form a valid frame header or body; the connection is closed.
    MALFORMED_FRAME = 1,
    /// A frame's declared body length exceeds the maximum; the connection is closed.
    FRAME_TOO_LARGE = 2,
    /// No protocol version is common to both sides; the connection is closed.
    UNSUPPORTED_VERSION = 3,
    /// The first frame was not a valid `Hello` (wrong magic or kind); the connection is closed.
    HANDSHAKE_REQUIRED = 4,
    /// A frame kind that this side does not accept in this direction or state.
    UNEXPECTED_FRAME = 5,
    /// A request body that could not be decoded (unknown variant, bad fields).
    BAD_REQUEST = 6,
    /// The request needs a logged-in session.
    NOT_LOGGED_IN = 10,
    /// The password (or super password) does not match.
    WRONG_PASSWORD = 11,
    /// The agent does not exist in this account.
    UNKNOWN_AGENT = 12,
    /// The account's service period has ended.
    ACCOUNT_EXPIRED = 13,
    /// The agent has no password yet; agent 1001 (or an agent allowed to) must set one.
    NO_PASSWORD_SET = 14,
    /// The account does not exist on this appliance.
    UNKNOWN_ACCOUNT = 15,
    /// The session token is unknown, expired or revoked; log in with the password.
    SESSION_INVALID = 16,
    /// The logged-in agent's role lacks the permission the request needs.
    PERMISSION_DENIED = 17,
    /// Changing another agent's password needs the account's super password.
    SUPER_PASSWORD_REQUIRED = 18,
    /// The thing to create exists already.
    ALREADY_EXISTS = 19,
    /// A field is out of range or malformed (the message says which).
    INVALID_ARGUMENT = 20,
    /// The new password does not meet the password policy.
    WEAK_PASSWORD = 21,
    /// The connection is logged in already; log out first.
    ALREADY_LOGGED_IN = 22,
    /// This agent logged in elsewhere; this session was closed (sent in `GoAway`).
    SESSION_REPLACED = 23,
    /// The peer sent nothing for longer than the idle timeout (sent in `GoAway`).
    IDLE_TIMEOUT = 24,
    /// The server is shutting down; reconnect later (sent in `GoAway`).
    SHUTTING_DOWN = 25,
    /// The peer does not read its output fast enough (sent in `GoAway`).
    SLOW_CONSUMER = 26,
    /// The session was logged out (token revoked by logout or password change).
    LOGGED_OUT = 27,
    /// The request is only accepted on the local admin socket.
    ADMIN_ONLY = 28,
    /// Storage failed; nothing was changed. Retry later.
    STORAGE_FAILURE = 30,
    /// An internal error; nothing was changed.
    INTERNAL = 31,
    /// The server is over a limit (connections, pending work); retry later.
    OVERLOADED = 32,
    /// Too many failed logins for this agent or source address; the message says when to retry.
    LOGIN_THROTTLED = 33,
    /// A hardware-token code is needed (security level), or the agent has no token bound.
    OTP_REQUIRED = 34,
    /// The token code is wrong (or not six digits).
    OTP_INVALID = 35,
    /// The token code was used already; wait for the next one.
    OTP_REPLAYED = 36,
    /// The token is locked after too many failures; an administrator must unlock it.
    TOKEN_LOCKED = 37,
    /// No token with that serial (or none bound to the agent).
    TOKEN_UNKNOWN = 38,
    /// The thing named (role, token, agent) does not exist.
    NOT_FOUND = 39,
    /// The conversation is served (or kept) by another agent, or no longer queued.
    CONVERSATION_TAKEN = 40,
    /// The request is about a conversation this connection's agent or customer is not in.
    NOT_IN_CONVERSATION = 41,
    /// The customer's signature is wrong or expired, or the visitor token is not ours.
    CUSTOMER_TOKEN_INVALID = 42,
    /// The account's contact limit (plan) is reached, or its 14-day grace is over.
    CONTACT_LIMIT = 43,
    /// A daily limit (1,000 contact additions a day) is used up; retry tomorrow.
    DAILY_LIMIT = 44,
    /// The request came sooner than its rate limit allows (a second shake within 5 s);
    /// the message says when to retry.
    RATE_LIMITED = 45,
    /// The operator asked to move the daemon's clock, but this daemon does not allow it
    /// (`[test] clock_control` is off); nothing changed.
    CLOCK_CONTROL_DISABLED = 46,
    /// `ResumeSession` refused: the token is unknown (never given, or given before the
    /// daemon restarted), its session ended (logged out, replaced, its window over) or
    /// is attached to another connection. Nothing changed; log in afresh.
    RESUME_REJECTED = 47,
    /// The server's disk is full: the request would have written and was refused;
    /// nothing changed. Reads and logins are still served; writes are accepted again
    /// once the operator frees space, without a restart. Retry later.
    DISK_FULL = 48,
    /// `InitiateConversation` with a customer the account has never seen: not one of its
    /// contacts, no conversation or message with it, not logged in to it (an id never
    /// used here, another account's visitor). Nothing changed.
    UNKNOWN_CUSTOMER = 49,
    /// Designated agent is on (§7.15): a customer's first `OpenConversation` must name
    /// an agent or a group from `DesignatedChoices`; `Auto` was refused. Nothing changed.
    CHOICE_REQUIRED = 50,
    /// Transfer refused: the target is logged out or appears offline (§3.5). Nothing changed.
    TARGET_OFFLINE = 51,
    /// Transfer refused: the target is the sending agent itself. Nothing changed.
    TRANSFER_TO_SELF = 52,
    /// `GrabConversation { confirmed: false }`: the grab is possible and needs the agent's
    /// confirmation; the message names the agent serving the conversation (§3.9 图 31).
    GRAB_NEEDS_CONFIRMATION = 53,
    /// The conversation is kept for an agent that logged out keeping its conversations
    /// (§3.12); nobody else may take it until that agent logs in again.
    CONVERSATION_KEPT = 54,
    /// The conversation waits in the queue, served by nobody: accept it, do not grab it.
    CONVERSATION_QUEUED = 55,
    /// Not offered to mobile customers (§3.13): files, images, calls and remote
    /// assistance towards a customer on channel `Mobile`. Nothing changed.
    NOT_ON_MOBILE = 56,
    /// Transfer refused: the target is online with auto-accept on and serves its
    /// auto-accept limit already (§3.5, full). Nothing changed; the sender keeps the
    /// customer.
    TARGET_FULL = 57,
    /// `RequestContact`/`RequestContactFiled`: the account has as many friend requests
    /// waiting for an answer as its plan's contact limit. Nothing changed.
    PENDING_LIMIT = 58,
    /// `AnswerContactRequest { accept: true }` while the account holds its plan's number
    /// of contacts (§5.5): the request stays pending; nothing changed.
    ACCOUNT_FULL = 59,
    /// `AdminBackupVerify` names a backup that is not in the backup directory.
    UNKNOWN_BACKUP = 80,
    /// Taking or checking a backup failed (the message says what: the backup directory
    /// cannot be written, a file is missing, has the wrong size or fails its checksum).
    /// The database itself is untouched; a failed `AdminBackupCreate` leaves no backup.
    BACKUP_FAILED = 81,
    /// Another backup operation is running; retry once it has finished. Nothing changed.
    BACKUP_BUSY = 82,
    /// An internal message to oneself (C11).
    INTERNAL_TO_SELF = 90,
    /// An internal message longer than its limit (C11: 4,000 characters).
    MESSAGE_TOO_LONG = 91,
    /// `SetNavigationMenu`: enabled without a root prompt. Nothing changed.
    MENU_EMPTY = 100,
    /// `SetNavigationMenu`: more than 64 nodes. Nothing changed.
    MENU_TOO_MANY_NODES = 101,
    /// `SetNavigationMenu`: a node without options or with more than 10. Nothing changed.
    MENU_BAD_OPTION_COUNT = 102,
    /// `SetNavigationMenu`: sub-menus nested deeper than 5 levels. Nothing changed.
    MENU_TOO_DEEP = 103,
    /// `SetNavigationMenu`: a prompt, label, automatic reply or group name empty or
    /// over its bound. Nothing changed.
    MENU_BAD_TEXT = 104,
    /// `SetNavigationMenu`: a URL that is not `http(s)://`, too long or with spaces.
    /// Nothing changed.
    MENU_BAD_URL = 105,
    /// `SetNavigationMenu`: the nodes are not a tree (a dangling, shared or cyclic
    /// sub-menu, or a node no option leads to). Nothing changed.
    MENU_NOT_A_TREE = 106,
    /// `SetNavigationMenu`: a "to an agent" option names no agent of the account.
    /// Nothing changed.
    MENU_UNKNOWN_AGENT = 107,
    /// `ChooseMenuOption`: the conversation is not in the menu (routed already,
    /// closed, or not the customer's). Nothing changed.
    NOT_IN_MENU = 108,
    /// `ChooseMenuOption`: no such option at that node, or the node is neither the one
    /// shown nor above it (the menu changed meanwhile: `MenuShown` came again).
    /// Nothing changed.
    NO_SUCH_MENU_OPTION = 109,
    /// The customer is on the account's blacklist (M6, §3.11.2): it may not open a
    /// conversation or send a message to the account; nothing is stored.
    CUSTOMER_BLACKLISTED = 110,
    /// `AcceptFromTrash` named a conversation that is not in the trash (M6, §3.11.1).
    NOT_IN_TRASH = 111,
    /// The agent mutes as many customers as it may (M6, §3.11.3: 1,000).
    MUTE_LIST_FULL = 112,
    /// `AcceptFromTrash` would whitelist one customer more than the account may keep
    /// (M6: 100,000); the conversation stays in the trash.
    WHITELIST_FULL = 113,
    /// `ForwardSms` to an agent with no bound phone; nothing queued or charged.
    NO_BOUND_PHONE = 130,
    /// `ForwardSms` with fewer SMS units left than the message takes; nothing queued.
    SMS_NO_BALANCE = 131,
    /// `ForwardSms` while this appliance has no SMS gateway (`[sms] url`); nothing queued.
    SMS_NOT_CONFIGURED = 132,
    /// `ForwardSms` of a text over five SMS segments (335 UCS-2 characters); nothing queued.
    SMS_TOO_LONG = 133,
    /// `ForwardSms` to an agent that is online: write to it in the conversation.
    AGENT_ONLINE = 134,
    /// A file (online or offline) larger than the appliance's limit (`[files]
    /// max_file_bytes`). Nothing changed.
    FILE_TOO_LARGE = 120,
    /// The account's offline files would exceed its quota (`[files] account_quota_bytes`).
    /// Nothing changed.
    FILE_QUOTA_EXCEEDED = 121,
    /// No such transfer, upload, fetch or token for this session (ended, finished,
    /// never existed). Nothing changed.
    FILE_UNKNOWN = 122,
    /// A chunk past the credit the receiver granted: wait for `FileCredit`. Nothing
    /// was relayed.
    FILE_NO_CREDIT = 123,
    /// A chunk not at the expected offset (the message names it), or larger than 64
    /// KiB, or past the declared size. Nothing was written or relayed.
    FILE_BAD_OFFSET = 124,
    /// The uploaded bytes do not hash to the declared SHA-256: the partial file is
    /// removed; upload again from 0.
    FILE_HASH_MISMATCH = 125,
    /// `FetchFile` with a token already used: a file is fetched once.
    FILE_TOKEN_USED = 126,
    /// The file was sent to someone else (§3.7: a received file is visible only to the
    /// agent that received it). Nothing changed.
    FILE_NOT_YOURS = 127,
    /// Too many transfers, uploads or fetches open on this session at once (16, 4, 4).
    FILE_BUSY = 128,
    /// The offer or upload is not complete or not acceptable in its state (answering a
    /// transfer already answered, finishing an upload with bytes missing).
    FILE_STATE = 129,
    /// The account's available balance does not cover the units asked for (V6); nothing
    /// changed. The operator tops it up (`kefuctl balance topup`).
    INSUFFICIENT_BALANCE = 140,
    /// A top-up would take the account's balance past its limit (`MAX_BALANCE_UNITS`);
    /// nothing changed.
    BALANCE_LIMIT = 141,
    /// The broadcast's text holds a word of the operator's sensitive-word list (§9.6:
    /// "群发内容包含敏感信息，请重新输入"); nothing changed.
    SENSITIVE_WORD = 142,
    /// Only a broadcast pending review or pending send may be cancelled (§9.2); one
    /// sending or finished may not. Nothing changed.
    NOT_CANCELLABLE = 143,
    /// A cancelled broadcast may be resubmitted within 30 days of its cancellation
    /// (§9.2); this one's window is over. Nothing changed.
    RESUBMIT_WINDOW_OVER = 144,
    /// The review decides only broadcasts pending review. Nothing changed.
    NOT_PENDING_REVIEW = 145,
    /// Only a cancelled broadcast may be resubmitted. Nothing changed.
    NOT_CANCELLED = 146,
    /// The old immediate `Broadcast` request is retired: it bypassed review and charging.
    /// Use `SubmitBroadcast` (section 30.5). Nothing sent.
    BROADCAST_RETIRED = 160,
    /// `ReplyToBroadcast` of a broadcast sent with block replies (§9.4): no conversation
    /// opened, nothing reaches an agent.
    REPLIES_BLOCKED = 161,
    /// `PreviewBroadcast` while the account's administrator (agent 1001) is not logged
    /// in: nothing delivered, nothing charged (section 30.8).
    PREVIEW_NOT_DELIVERED = 162,
    /// `ListBroadcasts` or `AdminBroadcastReviewList`: the answer in the old shape (every
    /// draft with its named contacts) would be larger than `MAX_OLD_LIST_BYTES` (1 MiB less
    /// 4 KiB); use
    /// `ListBroadcastPage` / `AdminBroadcastReviewQueue` (section 30.11). Nothing changed.
    BROADCAST_LIST_TOO_LARGE = 200,
    /// The account holds the most entry-point codes it may (`MAX_ENTRY_CODES`); nothing
    /// changed.
    ENTRY_CODE_LIMIT = 190,
    /// No entry-point code of that number in the account.
    UNKNOWN_ENTRY_CODE = 191,
    /// The code's site URL is not `http(s)://`, too long or holds spaces; nothing
    /// changed.
    BAD_SITE_URL = 192,
    /// The visitor is not on the site now (not logged in, or no page view this
    /// session); nothing sent.
    VISITOR_NOT_ON_SITE = 193,
    /// The visitor already accepted an invitation; no second one (§4.6.2).
    ALREADY_ACCEPTED_INVITATION = 194,
    /// No such invitation waiting for this visitor (unknown, answered, or given to
    /// another session).
    UNKNOWN_INVITATION = 195,
    /// The account is served by another appliance (the accounts directory, section
    /// 40.6): sent in `GoAwayTo`, which names the address to use instead.
    ACCOUNT_MOVED = 201,
    /// The account is being moved to another appliance (`kefuctl cluster
    /// move-account`): nothing was done; retry shortly (the client library does; once
    /// the move is over the connection is told `GoAwayTo` the new appliance).
    ACCOUNT_MOVING = 202,
    /// `AdminImportAccount` (first page) for an account this appliance holds already;
    /// nothing changed.
    ACCOUNT_PRESENT = 203,
    /// `AdminImportAccount` with an entry that is not the account's (unknown column
    /// family, a store-wide one, or a key of another account); nothing changed.
    FOREIGN_ENTRY = 204,
    /// A request other than a read (`Request::is_read`) in a read-only session
    /// (`LoginReadOnly`, section 40.7), or a request a standby cannot serve: nothing was
    /// done. The message names the primary's client address when it is known; writes
    /// go there, in a session of the ordinary kind.
    READ_ONLY_MEMBER = 205,
    /// `LoginReadOnly` on a standby for an agent whose account's security level asks for
    /// a hardware-token code: the used code must be stored (each code signs in once),
    /// and a standby stores nothing. No session opened; log in on the primary (named
    /// in the message when known), where the same read-only login is accepted.
    READ_ONLY_OTP = 206,
    /// `AdminApplyAccountChanges` whose round does not start where the last applied
    /// one ended (stale, repeated or skipping ahead); nothing changed.
    MOVE_ROUND_OUT_OF_ORDER = 208,
    /// `AdminApplyAccountChanges` for an account this appliance is not receiving (no
    /// page of it imported, or its move is over: thawed); nothing changed.
    NOT_RECEIVING_ACCOUNT = 209,
    /// `AdminAccountChanges`: the source's write-ahead log no longer reaches back to
    /// the sequence asked for (or this store keeps none); the move copies again with
    /// the account frozen (kefuctl's fallback).
    MOVE_LOG_GONE = 211,
    /// A visitor's (or customer's) login over the web gateway from a page whose origin
    /// the account does not allow (its explicit list and its entry codes' sites,
    /// PROTOCOL.md 38.4); no session opened.
    ORIGIN_NOT_ALLOWED = 210,
    /// A report's range is empty, reversed, or longer than its limit (180 days for the
    /// daily work report, §7.19, as for CSAT; 366 for the visit figures); nothing read.
    REPORT_RANGE_TOO_LONG = 170,
    /// The survey is closed: it takes no answer and no edit. Nothing changed.
    SURVEY_CLOSED = 171,
    /// This contact has answered the survey already: one answer per contact per survey,
    /// a second is refused (the first stands). Nothing changed.
    SURVEY_ALREADY_ANSWERED = 172,
    /// An answer names a question or an option the survey does not have, or does not
    /// answer each question once. Nothing changed.
    SURVEY_UNKNOWN_CHOICE = 173,
    /// More than one option chosen on a single-choice question. Nothing changed.
    SURVEY_TOO_MANY_CHOICES = 174,
    /// A question of the answer has no option chosen. Nothing changed.
    SURVEY_UNANSWERED_QUESTION = 175,
    /// A survey that has answers is not edited (its results would mix two surveys);
    /// close it and create another. Nothing changed.
    SURVEY_HAS_ANSWERS = 176,
    /// The customer is not a contact the survey was sent to (not a contact, not in its
    /// groups, or blacklisted). Nothing changed.
    SURVEY_NOT_SENT_TO_YOU = 177,
    /// The export is not (or no longer) held: unknown, expired, fetched to its end, or
    /// another agent's. Ask for it again.
    EXPORT_GONE = 178,
    /// The account holds the most surveys it may (`MAX_SURVEYS`). Nothing changed.
    SURVEY_LIMIT = 179,
    /// `RateConversation`: the conversation was not valid (one side silent, 10 messages or
    /// fewer, or closed more than 30 minutes after the customer's last message).
    CSAT_NOT_VALID = 150,
    /// `RateConversation`: no survey was sent for it (still open, or surveys were off).
    CSAT_NOT_OFFERED = 151,
    /// `RateConversation`: no closed conversation of this customer has that number.
    CSAT_UNKNOWN_CONVERSATION = 152,
    /// `RateConversation`: more than 24 hours after the close.
    CSAT_TOO_LATE = 153,
    /// `RateConversation`: reasons given for option 4 or 5 (the reason survey is for the
    /// lowest three only).
    CSAT_REASONS_NOT_OFFERED = 155,
    /// A centre session (`CentreLogin`, `CentreTicketLogin`, section 39) asked for a
    /// request outside the account centre's; it changed nothing.
    CENTRE_SESSION_ONLY = 220,
    /// `CentreTicketLogin`: not a ticket, not this appliance's, altered, or for an agent
    /// that no longer exists.
    TICKET_INVALID = 221,
    /// `CentreTicketLogin`: the ticket's 300 seconds are over; ask the client for another.
    TICKET_EXPIRED = 222,
    /// `CentreTicketLogin`: the ticket was used already (each signs in once).
    TICKET_USED = 223,
    /// `SubmitEnterpriseProfile`: the full name differs from the account's; it is fixed
    /// once the account is opened (§7.5). Nothing changed.
    FULL_NAME_FIXED = 224,
    /// A profile's or style's URL is not `http(s)://` (`https://` for a logo), e.g.
    /// `javascript:`; or is over 512 bytes. Nothing changed.
    UNSAFE_LINK = 225,
    /// `SubmitChatWindowStyle`: the theme is neither `#rrggbb` nor a palette name.
    BAD_COLOUR = 226,
    /// A profile's or style's field is longer than its limit (characters). Nothing
    /// changed.
    FIELD_TOO_LONG = 227,
    /// `AdminReviewProfile`: the account has no edit of that kind waiting for review.
    NOTHING_TO_REVIEW = 228,
    /// `ImportContacts`, `EditTags` or `EditGroups` while a chunk of another import of
    /// the account is still being applied (section 17.6.1): the rows are read against
    /// the account's tags and groups, and one chunk is applied at a time. Nothing
    /// changed; retry once that chunk is answered.
    IMPORT_RUNNING = 229,
    /// A change to a contact that an import chunk still being applied added (section
    /// 17.6.1): until that chunk is answered its contacts may still be rolled back.
    /// Nothing changed; retry once the chunk is answered.
    CONTACT_IMPORTING = 230,
    /// A broadcast (`SubmitBroadcast`, `ResubmitBroadcast`, `SubmitSurveyBroadcast`)
    /// whose recipients include contacts that an import chunk still being applied added
    /// (section 30.13): its audience is not settled yet. Nothing changed, no unit
    /// reserved, no code used up; submit again once the import chunk is answered.
    RECIPIENTS_IMPORTING = 231,
    /// A centre session (section 39) made no request for 15 minutes on the daemon's
    /// clock: the daemon ended it, and this request (or the resume of its cookie) is
    /// refused. Sign in again.
    CENTRE_SESSION_IDLE = 232,
    /// This member of a pair is not the primary, or no longer certainly is (its lease in
    /// etcd may have expired, section 40.4): the request was not acknowledged; retry it
    /// (same client ids) on the other member.
    NOT_PRIMARY = 240,
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}({})", self.0),
            None => write!(f, "ErrorCode({})", self.0),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Why bytes received from a peer could not be turned into a frame or message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A frame header declares a body longer than the agreed maximum.
    #[error("frame body of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// Declared body length.
        len: u32,
        /// The maximum in force.
        max: u32,
    },
    /// A frame kind number this version does not define.
    #[error("unknown frame kind {0}")]
    UnknownKind(u16),
    /// A body is empty, so it has no version byte.
    #[error("empty body for frame kind {0}")]
    EmptyBody(u16),
    /// A body's version byte names a format this build does not know.
    #[error("body version {version} of frame kind {kind} is not supported")]
    UnknownBodyVersion {
        /// Frame kind number.
        kind: u16,
        /// Version byte found.
        version: u8,
    },
    /// The postcard body did not decode (truncated, bad variant, bad UTF-8...).
    #[error("body of frame kind {kind} does not decode: {reason}")]
    BadBody {
        /// Frame kind number.
        kind: u16,
        /// The decoder's explanation.
        reason: String,
    },
    /// The body decoded but bytes were left over.
    #[error("body of frame kind {kind} has {extra} trailing bytes")]
    TrailingBytes {
        /// Frame kind number.
        kind: u16,
        /// Number of unread bytes.
        extra: usize,
    },
}

impl WireError {
    /// The code to send to the peer that caused this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            WireError::FrameTooLarge { .. } => ErrorCode::FRAME_TOO_LARGE,
            WireError::UnknownKind(_) => ErrorCode::UNEXPECTED_FRAME,
            WireError::EmptyBody(_)
            | WireError::UnknownBodyVersion { .. }
            | WireError::BadBody { .. }
            | WireError::TrailingBytes { .. } => ErrorCode::MALFORMED_FRAME,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_named() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.0), "duplicate code {}", c.0);
            assert!(c.name().is_some());
        }
        assert_eq!(ErrorCode(999).name(), None);
        assert_eq!(
            format!("{:?}", ErrorCode::WRONG_PASSWORD),
            "WRONG_PASSWORD(11)"
        );
    }
}
