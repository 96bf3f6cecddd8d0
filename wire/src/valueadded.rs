//! Value-added services (manual §9, §10.5–10.6; features V6, V7): the account's balance
//! in units (群发条数) and its points (积分), as the protocol shows them. Carried by
//! `AdminBalanceTopUp`, `AdminBalanceShow` and `GetBalance` (`wire/PROTOCOL.md`
//! section 25).
//!
//! **Units and yuan.** The manual names no price per unit; it counts the balance in
//! messages (a text or emoji costs 1, a message with an image 3, §9.3) and the points in
//! yuan paid (消费 1 元 = 1 积分: topping up 1,000 yuan for value-added services earns
//! 1,000 points, §10.6). Kefu fixes [`UNITS_PER_YUAN`] = 1: one unit is bought for one
//! yuan, so a top-up of 1,000 units is the manual's 1,000-yuan example. Points are
//! earned on what is **spent**: one point per yuan of units settled (actually sent),
//! never on units merely reserved, and none on units refunded. Once the 1,000 units are
//! spent the account holds the manual's 1,000 points.

use serde::{Deserialize, Serialize};

/// Units bought for one yuan.
pub const UNITS_PER_YUAN: u64 = 1;
/// Most units one top-up may add.
pub const MAX_TOPUP_UNITS: u64 = 100_000_000;
/// Most units an account may hold available and reserved together.
pub const MAX_BALANCE_UNITS: u64 = 1_000_000_000;

/// An account's balance. Always `available = topped_up − settled − reserved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BalanceInfo {
    /// Units that may be reserved now.
    pub available: u64,
    /// Units reserved by broadcasts submitted and not yet settled or refunded.
    pub reserved: u64,
    /// Every unit ever topped up.
    pub topped_up: u64,
    /// Every unit ever settled (spent on messages actually sent).
    pub settled: u64,
    /// Every unit ever refunded (failed, cancelled, rejected, or not sent).
    pub refunded: u64,
    /// Points: one per yuan settled (`settled / UNITS_PER_YUAN`).
    pub points: u64,
}
