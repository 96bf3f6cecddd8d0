//! Per-agent preferences and the account's reminder settings (issue 11 points 7–9):
//! the personal auto-reply (M2, manual §7.4), the message-notification options (E3,
//! §7.22) and the contact-limit warning threshold (R1, §5.5). Carried by
//! `GetAgentPrefs`/`SetAgentPrefs` and `GetReminderSettings`/`SetReminderSettings`
//! (`wire/PROTOCOL.md` section 22).

use serde::{Deserialize, Serialize};

/// Longest personal auto-reply, in characters (the account's replies have the same bound).
pub const MAX_PERSONAL_REPLY_CHARS: usize = 500;

/// Lowest configurable contact-limit warning threshold, percent of the plan's limit.
pub const MIN_NEAR_LIMIT_PERCENT: u8 = 50;
/// Highest configurable contact-limit warning threshold, percent of the plan's limit.
pub const MAX_NEAR_LIMIT_PERCENT: u8 = 99;
/// The default contact-limit warning threshold, percent (the crm crate's constant).
pub const DEFAULT_NEAR_LIMIT_PERCENT: u8 = 90;

/// One agent's own preferences. An agent that never set them has [`AgentPrefs::default`]:
/// no personal auto-reply, told of the additions it made itself, not of customers
/// adding the account (the manual's defaults, §7.22).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPrefs {
    /// Personal auto-reply (§7.4), sent to its customers while it is busy or away;
    /// empty = none. At most [`MAX_PERSONAL_REPLY_CHARS`] characters.
    pub personal_auto_reply: String,
    /// §7.22 "我主动加客户为好友时" (default on): told when a customer answers a friend
    /// request this agent made (by hand, by import, or the automatic request sent to a
    /// customer it served).
    pub notify_own_additions: bool,
    /// §7.22 "客户主动加本营销 QQ 为好友时" (default off): told when a customer adds the
    /// account by itself.
    pub notify_customer_added: bool,
}

impl Default for AgentPrefs {
    fn default() -> Self {
        AgentPrefs {
            personal_auto_reply: String::new(),
            notify_own_additions: true,
            notify_customer_added: false,
        }
    }
}

/// The account's reminder settings (A1, R1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderSettings {
    /// Agent 1001 is warned when the contact count reaches this percentage of the
    /// plan's limit ([`MIN_NEAR_LIMIT_PERCENT`]..=[`MAX_NEAR_LIMIT_PERCENT`]; default
    /// [`DEFAULT_NEAR_LIMIT_PERCENT`]).
    pub near_limit_percent: u8,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            near_limit_percent: DEFAULT_NEAR_LIMIT_PERCENT,
        }
    }
}
