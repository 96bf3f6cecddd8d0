//! Requests behind the permissions the other modules do not use: shared quick replies
//! (permission 1, M5), analytics (9), broadcasts (10, V1) and account-centre tickets
//! (13–16).

use super::{err, Answer, Shard};
use kefu_wire::{ErrorCode, Request};

impl Shard {
    /// Quick replies, analytics, broadcasts and account-centre tickets of agent `me`.
    pub(super) fn account_extras_request(
        &mut self,
        account: u64,
        me: u32,
        request: Request,
    ) -> Answer {
        let _ = (account, me);
        Err(err(
            ErrorCode::INTERNAL,
            format!("{} is not built yet", request.name()),
        ))
    }
}
