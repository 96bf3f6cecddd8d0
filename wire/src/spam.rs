//! The spam filter's setting on the wire (M6, manual §3.11.1 "消息过滤"): off, or one
//! of the manual's three strengths. What each strength catches is written down in
//! `wire/PROTOCOL.md` section 26 and implemented, as pure rules, in the daemon's
//! routing crate (`kefu_routing::spam`). Carried by `GetSpamFilter`/`SetSpamFilter`.

use serde::{Deserialize, Serialize};

/// How hard the account's spam filter (消息过滤) judges a new customer's first message.
/// An account that never set it has the filter off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SpamLevel {
    /// No filtering: every conversation goes to the queue or an agent as before.
    #[default]
    Off,
    /// 低强度: catches a small part of spam (known spam phrases).
    Low,
    /// 中强度: also links and long digit runs (contact numbers).
    Medium,
    /// 高强度: catches most spam: also a first message that is only an image or a
    /// file, a run of repeated characters, or a very long first message.
    High,
}
