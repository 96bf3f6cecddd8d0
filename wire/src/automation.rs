//! Automation settings and state carried on the wire: the idle-customer reminder
//! (M3, manual §4.7 "如何自动回复长时间未答复的客户"): after `minutes` without a
//! customer reply to the agent's last message the conversation is flagged idle, and
//! with `auto_reply` the prompt `text` is sent to the customer once. Carried by
//! `GetIdleSettings`/`SetIdleSettings`, `ListIdleConversations` and the
//! `IdleChanged` event (`wire/PROTOCOL.md` section 23).

use serde::{Deserialize, Serialize};

/// The manual's default: five minutes without a reply (§4.7, 图 76).
pub const DEFAULT_IDLE_MINUTES: u16 = 5;
/// Longest configurable wait, minutes (a day).
pub const MAX_IDLE_MINUTES: u16 = 1440;
/// Longest prompt, characters (the account's other automatic texts have the same bound).
pub const MAX_IDLE_TEXT_CHARS: usize = 500;
/// The manual's default prompt.
pub const DEFAULT_IDLE_TEXT: &str = "请问您还有其他问题需要咨询吗？";

/// An account's idle-customer settings. An account that never set them has
/// [`IdleSettings::default`]: reminder on after 5 minutes, automatic prompt off,
/// the manual's prompt text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdleSettings {
    /// Flag a conversation whose customer has not replied for `minutes` (its avatar
    /// blinks in the agent's accepted list). Off: no timer is kept at all.
    pub remind: bool,
    /// Minutes since the agent's last message, 1..=[`MAX_IDLE_MINUTES`].
    pub minutes: u16,
    /// Also send `text` to the customer, once, when the conversation is flagged.
    pub auto_reply: bool,
    /// The prompt, 1..=[`MAX_IDLE_TEXT_CHARS`] characters.
    pub text: String,
}

impl Default for IdleSettings {
    fn default() -> Self {
        IdleSettings {
            remind: true,
            minutes: DEFAULT_IDLE_MINUTES,
            auto_reply: false,
            text: DEFAULT_IDLE_TEXT.to_owned(),
        }
    }
}

/// A conversation's idle state as its serving agent sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdleInfo {
    /// The conversation.
    pub conversation: u64,
    /// Whether it is flagged idle now (false: a customer reply cleared it).
    pub idle: bool,
    /// When the agent's last message was stored, unix ms (the timer ran from it).
    pub since: i64,
    /// Whether the automatic prompt was sent for this idle period.
    pub prompted: bool,
}
