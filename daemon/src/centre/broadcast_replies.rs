//! Broadcasts, the customer's side and the preview (V4; manual §9.3, §9.4;
//! `wire/PROTOCOL.md` sections 30.8 and 30.9).
//!
//! - **Preview** (`PreviewBroadcast`): the draft is checked as for a submission
//!   (body, sensitive words, recipients resolved over turns: `submit_jobs.rs`), then the token rule of
//!   the security level; its content goes to the account's administrator (agent 1001)
//!   only, as `Event::BroadcastPreview`, to each of its sessions. Free, nothing stored,
//!   no units reserved. With agent 1001 not logged in it is refused
//!   (`PREVIEW_NOT_DELIVERED`) rather than silently lost.
//! - **Replies** (`ReplyToBroadcast`): every broadcast message pushed to a customer is
//!   followed by `Event::FromBroadcast` naming the broadcast and whether replies are
//!   blocked. A customer answers a broadcast by `ReplyToBroadcast`: a broadcast that
//!   blocks replies is refused (`REPLIES_BLOCKED`) and no conversation opens; one the
//!   customer never received is `NOT_FOUND`; otherwise it is an `OpenConversation` with
//!   the entry given.

use super::{err, Answer, Centre, Recipient};
use crate::auth::SUPER_ADMIN_AGENT;
use kefu_wire::chat::CustomerId;
use kefu_wire::valueadded::{BroadcastDraft, BroadcastState};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};

impl Centre {
    /// `PreviewBroadcast`'s last step (`submit_jobs.rs`), the draft checked and its
    /// recipients resolved as for a submission: the draft's content to agent 1001 only.
    pub(super) fn preview_broadcast(
        &mut self,
        account: u64,
        me: u32,
        draft: BroadcastDraft,
        otp: Option<&str>,
    ) -> Answer {
        let admin = Recipient::Agent(SUPER_ADMIN_AGENT);
        if self.recipients(account, &admin).is_empty() {
            return Err(err(
                ErrorCode::PREVIEW_NOT_DELIVERED,
                "the account's administrator (agent 1001) is not logged in: nothing sent",
            ));
        }
        // Everything else is checked: only now may a code be used up.
        self.value_added_otp(account, me, otp)?;
        self.push(
            account,
            admin,
            Event::BroadcastPreview {
                from: me,
                body: draft.body,
            },
        );
        Ok(Response::Ok)
    }

    /// `ReplyToBroadcast`'s check: the customer received broadcast `id` (it is among
    /// the recipients the fan-out has passed) and its replies are not blocked.
    pub(super) fn broadcast_reply_allowed(
        &mut self,
        account: u64,
        customer: &CustomerId,
        id: u64,
    ) -> Result<(), ErrorBody> {
        let not_received = || {
            err(
                ErrorCode::NOT_FOUND,
                format!("broadcast {id} did not reach this customer"),
            )
        };
        let no = self
            .broadcast_number(account, customer)
            .ok_or_else(not_received)?;
        // Looked at in place: the record (100,000 recipients) is not copied per reply.
        let book = self.book_mut(account).map_err(|_| not_received())?;
        let (r, s) = book.items.get(&id).ok_or_else(not_received)?;
        let passed = matches!(
            s.state,
            BroadcastState::Sending | BroadcastState::Done | BroadcastState::Failed
        );
        // Recipients are stored in ascending contact number.
        let reached = passed
            && r.recipients
                .binary_search(&no)
                .is_ok_and(|at| (at as u64) < s.cursor);
        if !reached {
            return Err(not_received());
        }
        if r.draft.block_replies {
            return Err(err(
                ErrorCode::REPLIES_BLOCKED,
                "this broadcast cannot be replied to (§9.4)",
            ));
        }
        Ok(())
    }
}
