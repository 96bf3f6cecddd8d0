//! A page of an operator's review queue across accounts: the broadcasts pending review
//! (`AdminBroadcastReviewQueue`, `store::review_records`) and the profile and style
//! edits pending review (`AdminProfileReviewQueue`, `store::profile_records`). Both
//! queues are indexes in `meta`, oldest submission first, written in the batch that
//! submits and removed in the one that decides; both pages skip the rows of deleted
//! accounts and stop at a count and before their encoding passes a byte budget.

use super::storage;
use crate::store::keys::{self, KeyRange};
use crate::store::{Cf, KvStore};
use kefu_wire::ErrorBody;

/// What a queue's index says of one row.
pub(super) trait QueueEntry: Copy {
    /// The account the row belongs to.
    fn account(&self) -> u64;
}

/// The rows of one page, and the cursor after the last row looked at when more follow.
pub(super) struct QueuePage<C, R> {
    pub items: Vec<R>,
    pub next: Option<C>,
}

/// One scan of at most `2 × limit` index rows in `range`: each row `parse` reads (others
/// are passed over) whose account still exists becomes `row(entry, value)`; the page
/// stops at `limit` rows, or before the rows' encoding passes `max_bytes`.
pub(super) fn queue_page<C: QueueEntry, R: serde::Serialize>(
    store: &dyn KvStore,
    range: KeyRange,
    limit: usize,
    max_bytes: usize,
    parse: impl Fn(&[u8]) -> Option<C>,
    mut row: impl FnMut(C, &[u8]) -> Result<R, ErrorBody>,
) -> Result<QueuePage<C, R>, ErrorBody> {
    let rows = store
        .scan(Cf::Meta, &range.start, &range.end, limit * 2)
        .map_err(storage)?;
    let mut items = Vec::new();
    let mut bytes = 0usize;
    let mut done = None;
    let mut more = rows.len() == limit * 2;
    for (key, value) in &rows {
        let Some(at) = parse(key) else {
            continue;
        };
        if items.len() == limit {
            more = true;
            break;
        }
        let live = store
            .get(Cf::Accounts, &keys::account(at.account()))
            .map_err(storage)?
            .is_some();
        if live {
            let item = row(at, value)?;
            bytes =
                bytes.saturating_add(postcard::to_allocvec(&item).map_or(usize::MAX, |b| b.len()));
            if bytes > max_bytes {
                more = true;
                break;
            }
            items.push(item);
        }
        done = Some(at);
    }
    let next = if more { done } else { None };
    Ok(QueuePage { items, next })
}
