//! History queries (features H1–H3): one customer's messages with the account, newest
//! first, paged, filtered, with the visibility rules of permissions 4 and 5.

use super::{err, Answer, Shard};
use kefu_wire::crm::HistoryQuery;
use kefu_wire::ErrorCode;

impl Shard {
    /// `History` for agent `me` of `account`.
    pub(super) fn history(&mut self, account: u64, me: u32, query: HistoryQuery) -> Answer {
        let _ = (account, me, query);
        Err(err(ErrorCode::INTERNAL, "history is not built yet"))
    }
}
