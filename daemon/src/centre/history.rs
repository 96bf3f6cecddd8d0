//! History queries (features H1–H3): one customer's messages with the account, newest
//! first, paged, filtered, with the visibility rules of permissions 4 and 5.
//!
//! The scan, the filters, the visibility rules, the key use and the bounds on work are in
//! [`crate::history`] (pure over the store, so benchmarks run it too). This handler only
//! gathers what the shard knows: whether exclusive customers are on (off, the history is
//! shared), the asker's permissions now, whether it owns the customer (permission 5),
//! and the injected clock for the 15-day window.

use super::{Answer, Centre};
use crate::history::{self, Viewer};
use crate::store::Permission;
use kefu_wire::crm::HistoryQuery;
use kefu_wire::Response;

impl Centre {
    /// `History` for agent `me` of `account`.
    pub(super) fn history(&mut self, account: u64, me: u32, query: HistoryQuery) -> Answer {
        history::check(&query)?;
        let permissions = self
            .actors
            .get(&account)
            .map(|a| &a.state)
            .map(|s| s.permissions(me))
            .unwrap_or_default();
        // Exclusive customers off: the history is shared (§3.1); permission 4 only
        // matters with them on (§7.13).
        let shared = !self.exclusive_mode(account)?;
        let see_all = permissions.contains(Permission::SeeAllCustomers);
        // Ownership only matters when permission 4 does not already show everything.
        let owns_customer = !see_all
            && !shared
            && permissions.contains(Permission::SeeOwnCustomersChats)
            && self.contact_owner(account, &query.customer) == Some(me);
        let viewer = Viewer {
            agent: me,
            see_all,
            owns_customer,
            shared,
        };
        let store = &*self.shared.store;
        let now = self.now_ms;
        history::page(store, account, &query, now, viewer, |conversation| {
            history::stored_conversation_agent(store, account, conversation)
        })
        .map(Response::History)
    }
}
