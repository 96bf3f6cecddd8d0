//! Broadcasts with review (V1–V4, V7; manual §9.2–9.7; `wire/PROTOCOL.md` section 30).
//!
//! - **Submission** (`SubmitBroadcast`, `ResubmitBroadcast` of a cancelled one within 30
//!   days): the draft is checked (body text or image, bounds, the operator's
//!   sensitive words, `crate::sensitive`), its recipients resolved to contact numbers
//!   (groups' members and named contacts, once each, no blacklisted ones), then the
//!   token rule of the security level, then `recipients × cost` units are reserved
//!   (1 a message, 3 with an image). State `PendingReview`.
//! - **Review** (`AdminBroadcastDecide`, `kefuctl broadcast review`): approved, it is
//!   `PendingSend` until its `send_at` (the turn's clock); rejected (with a reason), its
//!   units are refunded. **Cancel** only while pending review or pending send: refund,
//!   and who and when are recorded.
//! - **Fan-out** ([`Centre::broadcast_tick`], from `Centre::commit`): at most
//!   [`SLICE`] recipients a turn on a shard, each slice's messages and the broadcast's
//!   status (its cursor) in the same batch, so a crash resumes at the first recipient
//!   not stored and nobody gets it twice; the shard turns again at once while a
//!   broadcast is sending. With "online only", recipients not logged in are skipped.
//!   When the cursor reaches the end, the units of what was sent are settled and the
//!   rest refunded: `Done`. A shard resumes its accounts' unfinished broadcasts when it
//!   starts (the per-account `ActiveRecord`), [`RESUME_SLICE`] accounts a turn.
//! - **Lists** (`broadcast_lists.rs`): summaries in pages, the named contacts paged, and
//!   the review queue across accounts.

use super::broadcast_lists::old_list;
use super::dispatch::BroadcastAdminRequest;
use super::{err, storage, Answer, Centre, Recipient};
use crate::sensitive::WordList;
use crate::store::balance_records::Movement;
use crate::store::broadcast_records::{
    ActiveRecord, BroadcastHead, BroadcastPartRecord, BroadcastRecord, BroadcastStatus,
    SensitiveWordsRecord, StoredBroadcast,
};
use crate::store::chat_records::MessageRecord;
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::chat::{MessageBody, Party};
use kefu_wire::valueadded::{
    BroadcastDraft, BroadcastInfo, BroadcastState, IMAGE_UNITS, MAX_BROADCAST_GROUPS,
    MAX_BROADCAST_RECIPIENTS, MAX_REASON_CHARS, MAX_SENSITIVE_WORDS, MAX_SENSITIVE_WORD_CHARS,
    RESUBMIT_WINDOW_MS,
};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use std::collections::BTreeMap;

/// Recipients one shard handles per turn, over all its broadcasts: a few µs each, so a
/// fan-out turn stays under a millisecond and chat on the shard waits behind no long
/// turn (`loadtest/scripts/broadcast-chat.sh` prints the turns it made).
pub const SLICE: usize = 200;
/// Accounts the start-up resume reads a turn (their records; the active record only of
/// this shard's).
pub const RESUME_SLICE: usize = 256;
/// Broadcasts one `ListBroadcasts` answers, newest first.
pub const MAX_LISTED: usize = 100;

/// An account's broadcasts in memory.
#[derive(Debug, Default)]
pub(crate) struct Book {
    pub(super) active: ActiveRecord,
    pub(super) items: BTreeMap<u64, (BroadcastRecord, BroadcastStatus)>,
    /// The staging number of each broadcast stored in parts (its parts go when a
    /// resubmission replaces them).
    staged: BTreeMap<u64, u64>,
}

/// Where a broadcast stored in parts (`submit_jobs.rs`) has its parts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Parts {
    pub(super) staging: u64,
    pub(super) count: u32,
}

pub(super) fn info(r: &BroadcastRecord, s: &BroadcastStatus) -> BroadcastInfo {
    BroadcastInfo {
        id: r.id,
        agent: r.agent,
        draft: r.draft.clone(),
        state: s.state,
        recipients: r.recipients.len() as u64,
        sent: s.sent,
        reserved: s.reserved,
        submitted_at: s.submitted_at,
        cancelled: s.cancelled,
        reason: s.reason.clone(),
    }
}

/// A resolved audience: not empty, at most [`MAX_BROADCAST_RECIPIENTS`].
pub(super) fn check_recipients(recipients: &[u64]) -> Result<(), ErrorBody> {
    if recipients.is_empty() {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            "no recipient: the groups are empty",
        ));
    }
    if recipients.len() > MAX_BROADCAST_RECIPIENTS {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("at most {MAX_BROADCAST_RECIPIENTS} recipients"),
        ));
    }
    Ok(())
}

/// Units one message of `body` costs.
fn cost(body: &MessageBody) -> u64 {
    match body {
        MessageBody::Image { .. } => IMAGE_UNITS,
        _ => 1,
    }
}

impl Centre {
    /// `ResubmitBroadcast`: only a broadcast cancelled within 30 days.
    pub(super) fn check_resubmit(
        &mut self,
        account: u64,
        resubmit: Option<u64>,
    ) -> Result<(), ErrorBody> {
        if let Some(id) = resubmit {
            let now = self.now_ms;
            let s = self.status_of(account, id)?;
            if s.state != BroadcastState::Cancelled {
                return Err(err(
                    ErrorCode::NOT_CANCELLED,
                    "only a cancelled broadcast may be resubmitted",
                ));
            }
            let at = s.cancelled.map_or(i64::MIN, |(_, at)| at);
            if now.saturating_sub(at) > RESUBMIT_WINDOW_MS {
                return Err(err(
                    ErrorCode::RESUBMIT_WINDOW_OVER,
                    "a cancelled broadcast may be resubmitted within 30 days of its cancellation",
                ));
            }
        }
        Ok(())
    }

    /// The last step of a submission (`submit_jobs.rs`), its recipients resolved and
    /// checked: the units, the token rule, the stored broadcast (whole, or its head
    /// when `parts` are stored already). Its answer.
    #[allow(clippy::too_many_arguments)] // the submission's fields, resolved
    pub(super) fn store_submission(
        &mut self,
        account: u64,
        me: u32,
        resubmit: Option<u64>,
        draft: BroadcastDraft,
        recipients: Vec<u64>,
        otp: Option<&str>,
        parts: Option<Parts>,
    ) -> Answer {
        let cost = cost(&draft.body);
        let units = (recipients.len() as u64).saturating_mul(cost);
        let available = self.balance_mut(account)?.available();
        if units > available {
            return Err(err(
                ErrorCode::INSUFFICIENT_BALANCE,
                format!("{available} units available, {units} needed"),
            ));
        }
        // Everything else is checked: only now may a code be used up.
        self.value_added_otp(account, me, otp)?;
        let id = match resubmit {
            Some(id) => id,
            None => self.book_mut(account)?.active.next_id.max(1),
        };
        self.move_units(account, Movement::Reserve, units, id)?;
        let record = BroadcastRecord {
            account,
            id,
            agent: me,
            draft,
            recipients,
        };
        let status = BroadcastStatus {
            state: BroadcastState::PendingReview,
            cursor: 0,
            sent: 0,
            reserved: units,
            cost,
            submitted_at: self.now_ms,
            cancelled: None,
            reason: None,
        };
        let bytes = match parts {
            Some(p) => {
                let head = BroadcastHead {
                    record: BroadcastRecord {
                        account,
                        id,
                        agent: me,
                        draft: BroadcastDraft {
                            customers: Vec::new(),
                            ..record.draft.clone()
                        },
                        recipients: Vec::new(),
                    },
                    staging: p.staging,
                    parts: p.count,
                    recipients: record.recipients.len() as u64,
                    customers: record.draft.customers.len() as u64,
                };
                head.encode()
            }
            None => record.encode(),
        };
        self.batch.put(
            Cf::ValueAdded,
            &keys::value_added_item(account, b'C', Some(id)),
            bytes,
        );
        let answer = info(&record, &status);
        // A resubmission's former parts are replaced.
        let former = match parts {
            Some(p) => self.book_mut(account)?.staged.insert(id, p.staging),
            None => self.book_mut(account)?.staged.remove(&id),
        };
        if let Some(old) = former {
            self.batch
                .delete_range(Cf::ValueAdded, &keys::broadcast_parts(account, old));
        }
        let book = self.book_mut(account)?;
        book.active.next_id = book.active.next_id.max(id.saturating_add(1));
        book.active.active.push(id);
        book.items.insert(id, (record, status));
        self.save_status(account, id)?;
        self.save_active(account)?;
        self.list_review(account, id)?;
        Ok(Response::Broadcast(Box::new(answer)))
    }

    /// `CancelBroadcast`: only pending review or pending send; refunds the units.
    pub(super) fn cancel_broadcast(
        &mut self,
        account: u64,
        me: u32,
        id: u64,
        otp: Option<&str>,
    ) -> Answer {
        let s = self.status_of(account, id)?;
        if !matches!(
            s.state,
            BroadcastState::PendingReview | BroadcastState::PendingSend
        ) {
            return Err(err(
                ErrorCode::NOT_CANCELLABLE,
                format!("a broadcast {:?} cannot be cancelled", s.state),
            ));
        }
        self.value_added_otp(account, me, otp)?;
        self.unlist_review(account, id)?;
        let now = self.now_ms;
        self.finish(account, id, BroadcastState::Cancelled, |s| {
            s.cancelled = Some((me, now))
        })?;
        self.answer_of(account, id)
    }

    /// `ListBroadcasts`: newest first.
    pub(super) fn list_broadcasts(&mut self, account: u64, me: u32, otp: Option<&str>) -> Answer {
        self.account_mut(account)?;
        self.value_added_otp(account, me, otp)?;
        let book = self.book_mut(account)?;
        old_list(
            book.items
                .values()
                .rev()
                .take(MAX_LISTED)
                .map(|(r, s)| info(r, s)),
        )
    }

    /// The operator's review and word list.
    pub(super) fn broadcast_admin(&mut self, request: BroadcastAdminRequest) -> Answer {
        match request {
            BroadcastAdminRequest::AdminBroadcastReviewList { account } => {
                let book = self.book_mut(account)?;
                old_list(
                    book.items
                        .values()
                        .filter(|(_, s)| s.state == BroadcastState::PendingReview)
                        .map(|(r, s)| info(r, s)),
                )
            }
            BroadcastAdminRequest::AdminBroadcastDecide {
                account,
                id,
                approve,
                reason,
            } => {
                let s = self.status_of(account, id)?;
                if s.state != BroadcastState::PendingReview {
                    return Err(err(
                        ErrorCode::NOT_PENDING_REVIEW,
                        format!("broadcast {id} is {:?}, not pending review", s.state),
                    ));
                }
                if approve {
                    self.unlist_review(account, id)?;
                    self.set_state(account, id, BroadcastState::PendingSend)?;
                    self.broadcasts_due.insert((account, id));
                    self.answer_of(account, id)
                } else {
                    let n = reason.trim().chars().count();
                    if n == 0 || n > MAX_REASON_CHARS {
                        return Err(err(
                            ErrorCode::INVALID_ARGUMENT,
                            format!(
                                "a rejection needs a reason of 1..={MAX_REASON_CHARS} characters"
                            ),
                        ));
                    }
                    self.unlist_review(account, id)?;
                    self.finish(account, id, BroadcastState::Rejected, |s| {
                        s.reason = Some(reason)
                    })?;
                    self.answer_of(account, id)
                }
            }
            BroadcastAdminRequest::AdminBroadcastReviewQueue { after, limit } => {
                self.review_queue(after, limit)
            }
            BroadcastAdminRequest::AdminSetSensitiveWords { words } => {
                if words.len() > MAX_SENSITIVE_WORDS
                    || words.iter().any(|w| {
                        let n = w.chars().count();
                        n == 0 || n > MAX_SENSITIVE_WORD_CHARS || w.trim() != w
                    })
                {
                    return Err(err(
                        ErrorCode::INVALID_ARGUMENT,
                        format!("at most {MAX_SENSITIVE_WORDS} words of 1..={MAX_SENSITIVE_WORD_CHARS} characters, no surrounding white space"),
                    ));
                }
                let record = SensitiveWordsRecord { words };
                self.batch
                    .put(Cf::Meta, keys::META_SENSITIVE_WORDS, record.encode());
                Ok(Response::Ok)
            }
        }
    }

    /// The checks of a draft that do not resolve its recipients: body, bounds,
    /// sensitive words.
    pub(super) fn check_draft_content(&mut self, draft: &BroadcastDraft) -> Result<(), ErrorBody> {
        super::chat::check_body(&draft.body)?;
        if !matches!(draft.body, MessageBody::Text(_) | MessageBody::Image { .. }) {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "a broadcast is text (emoji included) or an image",
            ));
        }
        if draft.groups.is_empty() && draft.customers.is_empty() {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "name at least one group or contact",
            ));
        }
        if draft.groups.len() > MAX_BROADCAST_GROUPS
            || draft.customers.len() > MAX_BROADCAST_RECIPIENTS
        {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!(
                    "at most {MAX_BROADCAST_GROUPS} groups and {MAX_BROADCAST_RECIPIENTS} contacts"
                ),
            ));
        }
        if let MessageBody::Text(text) = &draft.body {
            let words = match self
                .shared
                .store
                .get(Cf::Meta, keys::META_SENSITIVE_WORDS)
                .map_err(storage)?
            {
                Some(bytes) => SensitiveWordsRecord::decode(&bytes).map_err(storage)?.words,
                None => Vec::new(),
            };
            if WordList::new(&words).find(text).is_some() {
                return Err(err(
                    ErrorCode::SENSITIVE_WORD,
                    "the broadcast holds sensitive content: edit it and submit again",
                ));
            }
        }
        Ok(())
    }

    /// The account's broadcasts, read from the store on first use.
    pub(super) fn book_mut(&mut self, account: u64) -> Result<&mut Book, ErrorBody> {
        self.account_mut(account)?;
        let missing = self
            .actors
            .get(&account)
            .is_some_and(|a| a.broadcasts.is_none());
        if missing {
            let (book, orphans) = self.read_book(account)?;
            for staging in orphans {
                // Parts of a submission the daemon stopped storing: no head names them.
                self.batch
                    .delete_range(Cf::ValueAdded, &keys::broadcast_parts(account, staging));
                self.touched.push(account);
            }
            self.actor_mut(account)?.broadcasts = Some(book);
        }
        self.actor_mut(account)?
            .broadcasts
            .as_mut()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "broadcasts not loaded"))
    }

    /// The account's broadcasts, and the staging numbers of parts no broadcast names
    /// (left by a submission that never answered), less those of this shard's running
    /// submissions.
    fn read_book(&self, account: u64) -> Result<(Book, Vec<u64>), ErrorBody> {
        let store = self.shared.store.as_ref();
        let active = match store
            .get(Cf::ValueAdded, &keys::value_added_item(account, b'A', None))
            .map_err(storage)?
        {
            Some(bytes) => ActiveRecord::decode(&bytes).map_err(storage)?,
            None => ActiveRecord::default(),
        };
        let mut items = BTreeMap::new();
        let mut staged = BTreeMap::new();
        let mut parts = self.read_parts(account)?;
        let range = keys::value_added_range(account, b'C');
        for (_, bytes) in store
            .scan(Cf::ValueAdded, &range.start, &range.end, usize::MAX)
            .map_err(storage)?
        {
            let r = match StoredBroadcast::decode(&bytes).map_err(storage)? {
                StoredBroadcast::Whole(r) => r,
                StoredBroadcast::Head(head) => {
                    let mine = parts.remove(&head.staging).unwrap_or_default();
                    staged.insert(head.record.id, head.staging);
                    head.assemble(mine).map_err(storage)?
                }
            };
            let key = keys::value_added_item(account, b'S', Some(r.id));
            let s = store
                .get(Cf::ValueAdded, &key)
                .map_err(storage)?
                .ok_or_else(|| {
                    err(
                        ErrorCode::STORAGE_FAILURE,
                        format!("broadcast {} has no status", r.id),
                    )
                })?;
            let s = BroadcastStatus::decode(&s).map_err(storage)?;
            items.insert(r.id, (r, s));
        }
        let running = self.staging_numbers(account);
        let orphans = parts
            .into_keys()
            .filter(|staging| !running.contains(staging))
            .collect();
        Ok((
            Book {
                active,
                items,
                staged,
            },
            orphans,
        ))
    }

    /// Every broadcast part of the account, by staging number, in part order.
    fn read_parts(
        &self,
        account: u64,
    ) -> Result<BTreeMap<u64, Vec<BroadcastPartRecord>>, ErrorBody> {
        let range = keys::value_added_range(account, b'P');
        let mut parts: BTreeMap<u64, Vec<BroadcastPartRecord>> = BTreeMap::new();
        for (key, bytes) in self
            .shared
            .store
            .scan(Cf::ValueAdded, &range.start, &range.end, usize::MAX)
            .map_err(storage)?
        {
            // account (8) ‖ b'P' ‖ staging (8) ‖ part (4)
            let staging = key
                .get(9..17)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| err(ErrorCode::STORAGE_FAILURE, "a broadcast part's key"))?;
            let part = BroadcastPartRecord::decode(&bytes).map_err(storage)?;
            parts.entry(staging).or_default().push(part);
        }
        Ok(parts)
    }

    /// One broadcast's status (a copy). The record is not copied: it holds up to
    /// 100,000 recipients and 50,000 named contacts, and copying it made a turn of
    /// milliseconds for what needs a few fields.
    pub(super) fn status_of(
        &mut self,
        account: u64,
        id: u64,
    ) -> Result<BroadcastStatus, ErrorBody> {
        self.book_mut(account)?
            .items
            .get(&id)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| err(ErrorCode::NOT_FOUND, format!("no broadcast {id}")))
    }

    /// One broadcast as an answer shows it.
    fn answer_of(&mut self, account: u64, id: u64) -> Answer {
        let book = self.book_mut(account)?;
        let (r, s) = book
            .items
            .get(&id)
            .ok_or_else(|| err(ErrorCode::NOT_FOUND, format!("no broadcast {id}")))?;
        Ok(Response::Broadcast(Box::new(info(r, s))))
    }

    fn save_status(&mut self, account: u64, id: u64) -> Result<(), ErrorBody> {
        let bytes = match self.book_mut(account)?.items.get(&id) {
            Some((_, s)) => s.encode(),
            None => return Err(err(ErrorCode::INTERNAL, "no such broadcast")),
        };
        self.batch.put(
            Cf::ValueAdded,
            &keys::value_added_item(account, b'S', Some(id)),
            bytes,
        );
        self.touched.push(account);
        Ok(())
    }

    fn save_active(&mut self, account: u64) -> Result<(), ErrorBody> {
        let bytes = self.book_mut(account)?.active.encode();
        self.batch.put(
            Cf::ValueAdded,
            &keys::value_added_item(account, b'A', None),
            bytes,
        );
        Ok(())
    }

    fn set_state(&mut self, account: u64, id: u64, state: BroadcastState) -> Result<(), ErrorBody> {
        if let Some((_, s)) = self.book_mut(account)?.items.get_mut(&id) {
            s.state = state;
        }
        self.save_status(account, id)
    }

    /// Ends a broadcast in `state`: settles what was sent, refunds the rest of its
    /// units, drops it from the active ones.
    fn finish(
        &mut self,
        account: u64,
        id: u64,
        state: BroadcastState,
        note: impl FnOnce(&mut BroadcastStatus),
    ) -> Result<(), ErrorBody> {
        let s = self.status_of(account, id)?;
        let settle = s.sent.saturating_mul(s.cost).min(s.reserved);
        let refund = s.reserved - settle;
        if settle > 0 {
            self.move_units(account, Movement::Settle, settle, id)?;
        }
        if refund > 0 {
            self.move_units(account, Movement::Refund, refund, id)?;
        }
        let book = self.book_mut(account)?;
        if let Some((_, s)) = book.items.get_mut(&id) {
            s.state = state;
            s.reserved = 0;
            note(s);
        }
        book.active.active.retain(|a| *a != id);
        self.broadcasts_due.remove(&(account, id));
        self.save_status(account, id)?;
        self.save_active(account)
    }

    /// Whether a broadcast is going out, or an import or submission job runs (the loop
    /// turns again at once).
    pub fn fanning_out(&self) -> bool {
        self.broadcasts_sending || self.importing() || self.submitting()
    }

    /// At each commit: until every account is read, resumes the unfinished broadcasts
    /// of [`RESUME_SLICE`] more accounts (the loop turns again at once meanwhile); then
    /// starts those due and sends one slice.
    pub(super) fn broadcast_tick(&mut self) {
        if let Some(after) = self.broadcasts_resume {
            self.broadcasts_resume = self.resume_broadcasts(after);
        }
        self.broadcasts_sending = self.broadcasts_resume.is_some();
        let mut budget = SLICE;
        let due: Vec<(u64, u64)> = self.broadcasts_due.iter().copied().collect();
        for (account, id) in due {
            if budget == 0 {
                self.broadcasts_sending = true;
                break;
            }
            if let Err(e) = self.broadcast_step(account, id, &mut budget) {
                crate::log::warn(
                    self.id,
                    format_args!("broadcast {id} of {account}: {}", e.message),
                );
                self.broadcasts_due.remove(&(account, id));
            }
        }
    }

    /// One slice of the start-up resume: the accounts after `after`; where the next
    /// slice starts, `None` when done. A broadcast pending review is put (again) in the
    /// review queue across accounts, so that one submitted before that index existed
    /// is listed (the put is idempotent).
    fn resume_broadcasts(&mut self, after: Option<u64>) -> Option<Option<u64>> {
        let store = std::sync::Arc::clone(&self.shared.store);
        let accounts = match crate::store::list_accounts(store.as_ref(), after, RESUME_SLICE) {
            Ok(accounts) => accounts,
            Err(e) => {
                crate::log::warn(self.id, format_args!("broadcast resume: {e}"));
                return None;
            }
        };
        for a in &accounts {
            if crate::accounts::owner_shard(a.id, self.shard_count) != self.id {
                continue;
            }
            let key = keys::value_added_item(a.id, b'A', None);
            let Ok(Some(bytes)) = store.get(Cf::ValueAdded, &key) else {
                continue;
            };
            let Ok(active) = ActiveRecord::decode(&bytes) else {
                continue;
            };
            for id in active.active {
                self.broadcasts_due.insert((a.id, id));
                if let Err(e) = self.list_review(a.id, id) {
                    crate::log::warn(
                        self.id,
                        format_args!("broadcast {id} of {}: {}", a.id, e.message),
                    );
                }
            }
        }
        match accounts.last() {
            Some(last) if accounts.len() == RESUME_SLICE => Some(Some(last.id)),
            _ => None,
        }
    }

    /// One broadcast's share of the turn.
    fn broadcast_step(
        &mut self,
        account: u64,
        id: u64,
        budget: &mut usize,
    ) -> Result<(), ErrorBody> {
        let now = self.now_ms;
        // Looked at in place: the recipients (up to 100,000) are not copied for a
        // broadcast that is not due.
        let (state, send_at) = match self.book_mut(account)?.items.get(&id) {
            Some((r, s)) => (s.state, r.draft.send_at),
            None => return Err(err(ErrorCode::NOT_FOUND, format!("no broadcast {id}"))),
        };
        match state {
            BroadcastState::PendingSend if send_at.is_none_or(|at| at <= now) => {
                self.set_state(account, id, BroadcastState::Sending)?;
            }
            BroadcastState::Sending => {}
            BroadcastState::PendingReview | BroadcastState::PendingSend => return Ok(()),
            _ => {
                self.broadcasts_due.remove(&(account, id));
                return Ok(());
            }
        }
        // Only this slice's part of the record is copied: cloning the whole record
        // (100,000 recipients, up to 50,000 named customers) cost each turn more than
        // its slice's messages.
        let slice = {
            let Some((r, s)) = self.book_mut(account)?.items.get(&id) else {
                return Err(err(ErrorCode::NOT_FOUND, format!("no broadcast {id}")));
            };
            let start = usize::try_from(s.cursor).unwrap_or(usize::MAX);
            let end = start.saturating_add(*budget).min(r.recipients.len());
            Slice {
                recipients: r.recipients.get(start..end).unwrap_or(&[]).to_vec(),
                start,
                end,
                total: r.recipients.len(),
                agent: r.agent,
                body: r.draft.body.clone(),
                online_only: r.draft.online_only,
                block_replies: r.draft.block_replies,
            }
        };
        let (start, end) = (slice.start, slice.end);
        let mut targets = Vec::with_capacity(slice.recipients.len());
        for no in &slice.recipients {
            let Some(customer) = self.broadcast_customer(account, *no) else {
                continue;
            };
            let online = self.customer_session(account, &customer).is_some();
            if slice.online_only && !online {
                continue;
            }
            targets.push((*no, customer, online));
        }
        *budget -= end - start;
        if !targets.is_empty() {
            let first = self.take_message_ids(account, targets.len() as u64)?;
            for (mid, (_, customer, online)) in (first..).zip(targets.iter()) {
                let record = MessageRecord {
                    account,
                    customer: customer.clone(),
                    conversation: 0,
                    id: mid,
                    at: now,
                    from: Party::Agent(slice.agent),
                    body: slice.body.clone(),
                    served_by: None,
                };
                self.batch.put_message(&record);
                if *online {
                    let to = Recipient::Customer(customer.clone());
                    self.push(account, to.clone(), Event::Message(record.into()));
                    let event = Event::FromBroadcast {
                        broadcast: id,
                        message: mid,
                        replies_blocked: slice.block_replies,
                    };
                    self.push(account, to, event);
                }
            }
            self.survey_fan_out(account, id, &targets)?;
        }
        let sent = targets.len() as u64;
        if let Some((_, st)) = self.book_mut(account)?.items.get_mut(&id) {
            st.state = BroadcastState::Sending;
            st.cursor = end as u64;
            st.sent += sent;
        }
        self.save_status(account, id)?;
        if end >= slice.total {
            // Nobody reached (every recipient deleted or blacklisted since the
            // submission, or, online only, nobody logged in): failed, all refunded.
            let sent = self.status_of(account, id)?.sent;
            let state = if sent == 0 {
                BroadcastState::Failed
            } else {
                BroadcastState::Done
            };
            self.finish(account, id, state, |_| {})?;
        } else {
            self.broadcasts_sending = true;
        }
        Ok(())
    }
}

/// What one fan-out turn needs of a broadcast's record.
struct Slice {
    /// The contact numbers of this slice's recipients.
    recipients: Vec<u64>,
    /// Their index range among all the recipients.
    start: usize,
    end: usize,
    /// How many recipients in all.
    total: usize,
    agent: u32,
    body: MessageBody,
    online_only: bool,
    block_replies: bool,
}
