//! The CRM on the wire (features R1–R10, M7, E3): contacts, tags, groups, search,
//! import and export, friend requests. The rules live in [`crate::crm`]; this module
//! loads an account's CRM state, turns requests into records and pushes.

use super::{err, Answer, Shard};
use kefu_wire::chat::CustomerId;
use kefu_wire::{ErrorCode, Request};

impl Shard {
    /// CRM requests of agent `me` of `account`.
    pub(super) fn agent_crm_request(&mut self, account: u64, me: u32, request: Request) -> Answer {
        let _ = (account, me);
        Err(err(
            ErrorCode::INTERNAL,
            format!("{} is not built yet", request.name()),
        ))
    }

    /// CRM requests of a logged-in customer.
    pub(super) fn customer_crm_request(
        &mut self,
        account: u64,
        customer: &CustomerId,
        request: Request,
    ) -> Answer {
        let _ = (account, customer);
        Err(err(
            ErrorCode::INTERNAL,
            format!("{} is not built yet", request.name()),
        ))
    }

    /// The agent who owns `customer`'s contact (R2), if it is a contact with an owner.
    pub(super) fn contact_owner(&mut self, account: u64, customer: &CustomerId) -> Option<u32> {
        let _ = (account, customer);
        None
    }
}
