//! Value-added services (manual §9, §10.5–10.6; features V6, V7): the account's balance
//! in units (群发条数) and its points (积分), as the protocol shows them. Carried by
//! `AdminBalanceTopUp`, `AdminBalanceShow` and `GetBalance` (`wire/PROTOCOL.md`
//! section 29).
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

/// Most recipients of one broadcast (the largest plan's contact limit).
pub const MAX_BROADCAST_RECIPIENTS: usize = 100_000;
/// Most groups one broadcast names.
pub const MAX_BROADCAST_GROUPS: usize = 100;
/// Units a message with an image costs per recipient (§9.3); text and emoji cost 1.
pub const IMAGE_UNITS: u64 = 3;
/// How long a cancelled broadcast may be edited and resubmitted, ms (30 days, §9.2).
pub const RESUBMIT_WINDOW_MS: i64 = 30 * 86_400_000;
/// Most words in the operator's sensitive-word list.
pub const MAX_SENSITIVE_WORDS: usize = 10_000;
/// Longest sensitive word, characters.
pub const MAX_SENSITIVE_WORD_CHARS: usize = 32;
/// Longest rejection reason, characters.
pub const MAX_REASON_CHARS: usize = 200;

/// What a broadcast sends, to whom and when (V1–V4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastDraft {
    /// Contact groups whose members receive it.
    pub groups: Vec<u32>,
    /// Contacts named one by one.
    pub customers: Vec<crate::chat::CustomerId>,
    /// The message: text (emoji included) or an image.
    pub body: crate::chat::MessageBody,
    /// Send only to the recipients logged in when it goes out; charge only those.
    pub online_only: bool,
    /// Recipients may not reply to it (§9.4).
    pub block_replies: bool,
    /// When to send, unix ms; `None`: as soon as it is approved.
    pub send_at: Option<i64>,
}

/// Where a broadcast stands (§9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BroadcastState {
    /// Submitted; waits for the operator's review.
    PendingReview,
    /// Approved; waits for its time.
    PendingSend,
    /// Going out.
    Sending,
    /// Sent; units settled for what was sent, the rest refunded.
    Done,
    /// Could not be sent; units refunded.
    Failed,
    /// Cancelled before sending; units refunded; may be resubmitted within 30 days.
    Cancelled,
    /// Refused by the review; units refunded.
    Rejected,
}

/// One broadcast as the protocol shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastInfo {
    /// Its number in the account.
    pub id: u64,
    /// The agent that submitted it.
    pub agent: u32,
    /// What it sends.
    pub draft: BroadcastDraft,
    /// Where it stands.
    pub state: BroadcastState,
    /// Recipients resolved at submission.
    pub recipients: u64,
    /// Messages sent so far.
    pub sent: u64,
    /// Units reserved now (0 once settled or refunded).
    pub reserved: u64,
    /// When it was (last) submitted, unix ms.
    pub submitted_at: i64,
    /// Who cancelled it and when (unix ms).
    pub cancelled: Option<(u32, i64)>,
    /// Why the review rejected it.
    pub reason: Option<String>,
}

/// Most broadcasts one `ListBroadcastPage` or `AdminBroadcastReviewQueue` answers. A
/// summary is at most about 18 KB (a 4,000-character text is at most 16,000 bytes,
/// a reason 800, 100 groups 500), so a full page stays under the 1 MiB frame.
pub const MAX_BROADCAST_PAGE: u32 = 50;
/// Most named contacts one `GetBroadcastCustomers` answers (each at most 66 bytes).
pub const MAX_BROADCAST_CUSTOMERS_PAGE: u32 = 1_000;
/// Largest encoded answer the first list requests (`ListBroadcasts`,
/// `AdminBroadcastReviewList`) still give in their old shape, bytes; beyond it they are
/// refused `BROADCAST_LIST_TOO_LARGE` (section 30.11): the default frame less 4 KiB
/// for the frame's and the answer's own bytes.
pub const MAX_OLD_LIST_BYTES: usize = crate::DEFAULT_MAX_FRAME as usize - 4096;

/// One broadcast in a list: everything but the named contacts, which are counted
/// (`named`) and read page by page with `GetBroadcastCustomers` (section 30.11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastSummary {
    /// Its number in the account.
    pub id: u64,
    /// The agent that submitted it.
    pub agent: u32,
    /// Where it stands.
    pub state: BroadcastState,
    /// The message.
    pub body: crate::chat::MessageBody,
    /// The contact groups named (at most 100).
    pub groups: Vec<u32>,
    /// How many contacts the draft names one by one.
    pub named: u64,
    /// Sent only to recipients logged in.
    pub online_only: bool,
    /// Replies blocked (§9.4).
    pub block_replies: bool,
    /// When to send, unix ms.
    pub send_at: Option<i64>,
    /// Recipients resolved at submission.
    pub recipients: u64,
    /// Messages sent so far.
    pub sent: u64,
    /// Units reserved now.
    pub reserved: u64,
    /// When it was (last) submitted, unix ms.
    pub submitted_at: i64,
    /// Who cancelled it and when (unix ms).
    pub cancelled: Option<(u32, i64)>,
    /// Why the review rejected it.
    pub reason: Option<String>,
}

/// A page of an account's broadcasts, newest first (`ListBroadcastPage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastPage {
    /// At most `MAX_BROADCAST_PAGE` summaries.
    pub items: Vec<BroadcastSummary>,
    /// `before` of the next page; `None` at the end.
    pub next: Option<u64>,
}

/// A page of the contacts a broadcast's draft names (`GetBroadcastCustomers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastCustomers {
    /// How many it names in all.
    pub total: u64,
    /// At most `MAX_BROADCAST_CUSTOMERS_PAGE`, in the draft's order.
    pub customers: Vec<crate::chat::CustomerId>,
    /// `offset` of the next page; `None` at the end.
    pub next: Option<u64>,
}

/// Where the review queue across accounts stands: oldest submission first, then
/// account, then number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReviewCursor {
    /// When the broadcast was submitted, unix ms.
    pub submitted_at: i64,
    /// Its account.
    pub account: u64,
    /// Its number in the account.
    pub id: u64,
}

/// One broadcast pending review, with its account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastReview {
    /// The account.
    pub account: u64,
    /// The broadcast.
    pub summary: BroadcastSummary,
}

/// A page of the review queue across accounts (`AdminBroadcastReviewQueue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewPage {
    /// At most `MAX_BROADCAST_PAGE` rows, oldest submission first.
    pub items: Vec<BroadcastReview>,
    /// `after` of the next page; `None` at the end.
    pub next: Option<ReviewCursor>,
}
