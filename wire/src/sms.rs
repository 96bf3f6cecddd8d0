//! Offline messages forwarded by SMS (C14, manual §3.6 and §4.5.2–4.5.4): what the
//! operator sees of an account's SMS balance and of the forwards that failed for good,
//! and the rule that counts an SMS's units. Carried by `ForwardSms`, `AdminSmsTopUp`,
//! `AdminSmsBalance`, `AdminSmsDeadLetters` and `AdminSmsReply` (`wire/PROTOCOL.md`
//! section 27).

use crate::chat::CustomerId;
use serde::{Deserialize, Serialize};

/// Characters (UTF-16 code units) of a single-segment SMS: UCS-2, as any text with
/// Chinese characters is sent.
pub const SINGLE_SEGMENT_UNITS: usize = 70;
/// Characters (UTF-16 code units) of each part of a concatenated SMS (UCS-2 with the
/// concatenation header).
pub const PART_UNITS: usize = 67;
/// Most parts one forwarded message may take; a longer text is refused `SMS_TOO_LONG`.
pub const MAX_SEGMENTS: u32 = 5;
/// Largest top-up in one request, units.
pub const MAX_TOP_UP: u32 = 1_000_000;
/// Longest reply text threaded back from a phone, characters.
pub const MAX_REPLY_CHARS: usize = 4_000;
/// Most dead letters one `AdminSmsDeadLetters` answer lists (the newest).
pub const MAX_DEAD_LETTERS: usize = 1_000;

/// How many SMS units (segments) `text` costs: one for up to 70 UTF-16 code units,
/// else one per 67 (concatenated SMS); `None` when it would take more than
/// [`MAX_SEGMENTS`] (or is empty).
pub fn segments(text: &str) -> Option<u32> {
    let units = text.encode_utf16().count();
    let n = match units {
        0 => return None,
        1..=SINGLE_SEGMENT_UNITS => 1,
        _ => units.div_ceil(PART_UNITS),
    };
    u32::try_from(n).ok().filter(|n| *n <= MAX_SEGMENTS)
}

/// An account's SMS balance (`AdminSmsTopUp`, `AdminSmsBalance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SmsBalance {
    /// Units free to spend.
    pub units: u64,
    /// Units held for SMS queued and not yet delivered to the gateway (spent when
    /// the gateway takes them, given back when they end as dead letters).
    pub reserved: u64,
    /// Units spent so far: SMS the gateway took.
    pub spent: u64,
    /// Units given back so far: SMS that ended as dead letters.
    pub refunded: u64,
    /// Attempts the gateway refused or did not answer so far (retried or not): a
    /// gateway in trouble shows here first.
    pub failed_attempts: u64,
}

/// A forwarded message the gateway never took, after its last attempt
/// (`AdminSmsDeadLetters`); its units were given back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsDeadLetter {
    /// The SMS's number within the account.
    pub sms: u64,
    /// The conversation the message was written in.
    pub conversation: u64,
    /// The customer who forwarded it.
    pub customer: CustomerId,
    /// The agent it was for.
    pub agent: u32,
    /// The agent's bound phone when it was queued.
    pub phone: String,
    /// What it said.
    pub text: String,
    /// Units it held.
    pub segments: u32,
    /// Attempts made.
    pub attempts: u32,
    /// What the last attempt met.
    pub last_error: String,
    /// When it was queued, unix ms.
    pub queued_at: i64,
    /// When it was given up, unix ms.
    pub dead_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_the_ucs2_rule() {
        assert_eq!(segments(""), None);
        assert_eq!(segments("a"), Some(1));
        assert_eq!(segments(&"字".repeat(70)), Some(1));
        assert_eq!(segments(&"字".repeat(71)), Some(2));
        assert_eq!(segments(&"字".repeat(134)), Some(2));
        assert_eq!(segments(&"字".repeat(135)), Some(3));
        assert_eq!(segments(&"字".repeat(335)), Some(5));
        assert_eq!(segments(&"字".repeat(336)), None);
        // A character outside the BMP takes two code units.
        assert_eq!(segments(&"😀".repeat(35)), Some(1));
        assert_eq!(segments(&"😀".repeat(36)), Some(2));
    }
}
