//! Broadcast lists that stay under the frame whatever the drafts name
//! (`wire/PROTOCOL.md` sections 30.11–30.12).
//!
//! - `ListBroadcastPage`: a page of the account's broadcasts, newest first, each as a
//!   [`BroadcastSummary`]: the named contacts counted, not listed. At most
//!   [`MAX_BROADCAST_PAGE`] summaries, and a page also stops before its encoding would
//!   pass [`PAGE_BYTES`].
//! - `GetBroadcastCustomers`: the named contacts of one broadcast, a page at a time.
//! - The first list requests (`ListBroadcasts`, `AdminBroadcastReviewList`) keep their
//!   shape while the answer is at most [`MAX_OLD_LIST_BYTES`] encoded; larger, they are
//!   refused `BROADCAST_LIST_TOO_LARGE` (a client built before the pages sees a typed
//!   error instead of a frame its reader rejects).
//! - `AdminBroadcastReviewQueue`: the broadcasts pending review in every account, oldest
//!   submission first, from the index in `meta` (`store::review_records`) written in
//!   the batch that submits and removed in the one that decides or cancels.

use super::review_queues::{queue_page, QueueEntry};
use super::{err, storage, Answer, Centre};
use crate::store::broadcast_records::{BroadcastRecord, BroadcastStatus};
use crate::store::review_records::{parse_review_key, review_key, review_range, ReviewEntryRecord};
use crate::store::{Cf, StoredRecord};
use kefu_wire::valueadded::{
    BroadcastCustomers, BroadcastInfo, BroadcastPage, BroadcastReview, BroadcastState,
    BroadcastSummary, ReviewCursor, ReviewPage, MAX_BROADCAST_CUSTOMERS_PAGE, MAX_BROADCAST_PAGE,
    MAX_OLD_LIST_BYTES,
};
use kefu_wire::{ErrorBody, ErrorCode, Response};

/// Most bytes of summaries in one page (below the 1 MiB frame with room for the rest).
pub const PAGE_BYTES: usize = 900 * 1024;

/// A broadcast without its named contacts.
pub(super) fn summary(r: &BroadcastRecord, s: &BroadcastStatus) -> BroadcastSummary {
    BroadcastSummary {
        id: r.id,
        agent: r.agent,
        state: s.state,
        body: r.draft.body.clone(),
        groups: r.draft.groups.clone(),
        named: r.draft.customers.len() as u64,
        online_only: r.draft.online_only,
        block_replies: r.draft.block_replies,
        send_at: r.draft.send_at,
        recipients: r.recipients.len() as u64,
        sent: s.sent,
        reserved: s.reserved,
        submitted_at: s.submitted_at,
        cancelled: s.cancelled,
        reason: s.reason.clone(),
    }
}

/// The answer of a first list request, if it fits.
pub(super) fn old_list(items: impl Iterator<Item = BroadcastInfo>) -> Answer {
    let mut list = Vec::new();
    let mut bytes = 0usize;
    for item in items {
        bytes += postcard::to_allocvec(&item).map_or(usize::MAX, |b| b.len());
        if bytes > MAX_OLD_LIST_BYTES {
            return Err(err(
                ErrorCode::BROADCAST_LIST_TOO_LARGE,
                format!("the list with its named contacts is over {MAX_OLD_LIST_BYTES} bytes: use ListBroadcastPage (AdminBroadcastReviewQueue for the review)"),
            ));
        }
        list.push(item);
    }
    Ok(Response::Broadcasts(list))
}

/// The encoded size of a summary.
fn size(s: &impl serde::Serialize) -> usize {
    postcard::to_allocvec(s).map_or(usize::MAX, |b| b.len())
}

impl Centre {
    /// `ListBroadcastPage`: newest first, below `before`.
    pub(super) fn broadcast_page(
        &mut self,
        account: u64,
        me: u32,
        before: Option<u64>,
        limit: u32,
        otp: Option<&str>,
    ) -> Answer {
        self.account_mut(account)?;
        self.value_added_otp(account, me, otp)?;
        let limit = limit.clamp(1, MAX_BROADCAST_PAGE) as usize;
        let book = self.book_mut(account)?;
        let mut items = Vec::new();
        let mut bytes = 0usize;
        let mut next = None;
        for (id, (r, s)) in book.items.range(..before.unwrap_or(u64::MAX)).rev() {
            let item = summary(r, s);
            bytes = bytes.saturating_add(size(&item));
            if items.len() == limit || bytes > PAGE_BYTES {
                next = Some(*id + 1);
                break;
            }
            items.push(item);
        }
        Ok(Response::BroadcastPage(BroadcastPage { items, next }))
    }

    /// `GetBroadcastCustomers`: the named contacts from `offset`.
    pub(super) fn broadcast_customers(
        &mut self,
        account: u64,
        me: u32,
        id: u64,
        offset: u64,
        limit: u32,
        otp: Option<&str>,
    ) -> Answer {
        self.account_mut(account)?;
        self.value_added_otp(account, me, otp)?;
        let limit = u64::from(limit.clamp(1, MAX_BROADCAST_CUSTOMERS_PAGE));
        let book = self.book_mut(account)?;
        let Some((r, _)) = book.items.get(&id) else {
            return Err(err(ErrorCode::NOT_FOUND, format!("no broadcast {id}")));
        };
        let total = r.draft.customers.len() as u64;
        let start = usize::try_from(offset.min(total)).unwrap_or(usize::MAX);
        let end = usize::try_from(offset.saturating_add(limit).min(total)).unwrap_or(usize::MAX);
        let customers = r.draft.customers.get(start..end).unwrap_or(&[]).to_vec();
        let next = (end < r.draft.customers.len()).then_some(end as u64);
        Ok(Response::BroadcastCustomers(BroadcastCustomers {
            total,
            customers,
            next,
        }))
    }

    /// Puts a broadcast just submitted in the review queue across accounts.
    pub(super) fn list_review(&mut self, account: u64, id: u64) -> Result<(), ErrorBody> {
        let (r, s) = match self.book_mut(account)?.items.get(&id) {
            Some((r, s)) if s.state == BroadcastState::PendingReview => (r, s),
            _ => return Ok(()),
        };
        let key = review_key(ReviewCursor {
            submitted_at: s.submitted_at,
            account,
            id,
        });
        let record = ReviewEntryRecord {
            summary: summary(r, s),
        };
        self.batch.put(Cf::Meta, &key, record.encode());
        Ok(())
    }

    /// Takes a broadcast out of the review queue (decided or cancelled).
    pub(super) fn unlist_review(&mut self, account: u64, id: u64) -> Result<(), ErrorBody> {
        let submitted_at = match self.book_mut(account)?.items.get(&id) {
            Some((_, s)) => s.submitted_at,
            None => return Ok(()),
        };
        let key = review_key(ReviewCursor {
            submitted_at,
            account,
            id,
        });
        self.batch.delete(Cf::Meta, &key);
        Ok(())
    }

    /// `AdminBroadcastReviewQueue`: one scan of at most `2 × limit` index rows; rows
    /// of deleted accounts are skipped (a page may then be short, with its cursor).
    pub(super) fn review_queue(&mut self, after: Option<ReviewCursor>, limit: u32) -> Answer {
        let limit = limit.clamp(1, MAX_BROADCAST_PAGE) as usize;
        let page = queue_page(
            self.shared.store.as_ref(),
            review_range(after),
            limit,
            PAGE_BYTES,
            parse_review_key,
            |at, value| {
                Ok(BroadcastReview {
                    account: at.account,
                    summary: ReviewEntryRecord::decode(value).map_err(storage)?.summary,
                })
            },
        )?;
        let (items, next) = (page.items, page.next);
        Ok(Response::BroadcastReviews(ReviewPage { items, next }))
    }
}

impl QueueEntry for ReviewCursor {
    fn account(&self) -> u64 {
        self.account
    }
}
