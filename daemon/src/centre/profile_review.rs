//! The enterprise profile (E1, manual §7.5) and the chat window's style (E2, §7.7),
//! edited under review (`wire/PROTOCOL.md` section 41).
//!
//! An agent with permission 13 (profile) or 16 (style) submits an edit: it is checked
//! (`kefu_wire::profile`), the full name must be the account's (fixed when it was
//! opened, `FULL_NAME_FIXED`), and it becomes the account's one **pending** edit of its
//! kind — a second submission replaces it, in the queue too. The operator lists the
//! queue across accounts (`AdminProfileReviewQueue`, `kefuctl profile review list`) and
//! decides (`AdminReviewProfile`): an approval puts the edit in force at once and
//! clears the last rejection; a rejection keeps the edit and its reason for the
//! account to see. Only an approved style reaches a visitor's window
//! (`GetWindowStyle`). Everything is written in the turn's batch (`store/
//! profile_records.rs`) and read back on first use after a restart.

use super::broadcast_lists::PAGE_BYTES;
use super::dispatch::{CustomerProfileRequest, ProfileAdminRequest, ProfileRequest};
use super::review_queues::{queue_page, QueueEntry};
use super::{err, storage, Answer, Centre};
use crate::store::profile_records::{
    parse_queue_key, profile_key, queue_key, queue_range, style_key, ProfileRecord, QueueRecord,
    StyleRecord,
};
use crate::store::{web_records as rec, Cf, StoredRecord};
use kefu_wire::profile::{
    ChatWindowStyle, EnterpriseProfile, ProfileError, ProfileReview, ProfileReviewCursor,
    ProfileReviewPage, Rejected, ReviewKind, ReviewSubject, Reviewed, Submitted,
    MAX_PROFILE_REVIEW_PAGE, MAX_REJECT_REASON_CHARS,
};
use kefu_wire::{ErrorBody, ErrorCode, Response};

/// One account's profile and style, as stored.
#[derive(Debug, Default)]
pub(crate) struct Reviews {
    profile: Reviewed<EnterpriseProfile>,
    style: Reviewed<ChatWindowStyle>,
}

fn refused(e: ProfileError) -> ErrorBody {
    let code = match e {
        ProfileError::TooLong { .. } => ErrorCode::FIELD_TOO_LONG,
        ProfileError::UnsafeLink { .. } => ErrorCode::UNSAFE_LINK,
        ProfileError::BadColour => ErrorCode::BAD_COLOUR,
        ProfileError::Control { .. } | ProfileError::HalfLink => ErrorCode::INVALID_ARGUMENT,
    };
    err(code, e.to_string())
}

impl Centre {
    /// The account's reviews, read from the store on first use.
    fn reviews_mut(&mut self, account: u64) -> Result<&mut Reviews, ErrorBody> {
        if self.actor_mut(account)?.reviews.is_none() {
            let store = self.shared.store.as_ref();
            let profile = rec::read::<ProfileRecord, _>(store, &profile_key(account))
                .map_err(storage)?
                .unwrap_or_default()
                .0;
            let style = rec::read::<StyleRecord, _>(store, &style_key(account))
                .map_err(storage)?
                .unwrap_or_default()
                .0;
            self.actor_mut(account)?.reviews = Some(Reviews { profile, style });
        }
        self.actor_mut(account)?
            .reviews
            .as_mut()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "reviews not loaded"))
    }

    /// The profile as the account sees it: never approved, it is the account's full
    /// name alone.
    fn profile_view(&mut self, account: u64) -> Result<Reviewed<EnterpriseProfile>, ErrorBody> {
        let name = self.account_mut(account)?.record.name.clone();
        let mut view = self.reviews_mut(account)?.profile.clone();
        view.current.get_or_insert_with(|| EnterpriseProfile {
            full_name: name,
            ..Default::default()
        });
        Ok(view)
    }

    fn write_reviews(&mut self, account: u64) -> Result<(), ErrorBody> {
        let r = self.reviews_mut(account)?;
        let (profile, style) = (
            ProfileRecord(r.profile.clone()),
            StyleRecord(r.style.clone()),
        );
        rec::write(&mut self.batch, &profile_key(account), &profile);
        rec::write(&mut self.batch, &style_key(account), &style);
        Ok(())
    }

    /// Puts `subject` in the queue, replacing the account's earlier entry of its kind
    /// (submitted at `earlier`).
    fn enqueue(&mut self, account: u64, earlier: Option<i64>, subject: ReviewSubject) {
        let kind = subject.kind();
        if let Some(at) = earlier {
            let old = queue_key(ProfileReviewCursor {
                submitted_at: at,
                account,
                kind,
            });
            self.batch.delete(Cf::Meta, &old);
        }
        let key = queue_key(ProfileReviewCursor {
            submitted_at: self.now_ms,
            account,
            kind,
        });
        self.batch
            .put(Cf::Meta, &key, QueueRecord { subject }.encode());
    }

    /// An agent's profile and style requests.
    pub(super) fn profile_request(&mut self, account: u64, request: ProfileRequest) -> Answer {
        let now = self.now_ms;
        match request {
            ProfileRequest::GetEnterpriseProfile => Ok(Response::EnterpriseProfile(Box::new(
                self.profile_view(account)?,
            ))),
            ProfileRequest::SubmitEnterpriseProfile { profile } => {
                profile.check().map_err(refused)?;
                let name = self.account_mut(account)?.record.name.clone();
                if profile.full_name != name {
                    return Err(err(
                        ErrorCode::FULL_NAME_FIXED,
                        "the full name is fixed once the account is opened",
                    ));
                }
                let r = self.reviews_mut(account)?;
                let earlier = r.profile.pending.as_ref().map(|p| p.at);
                r.profile.pending = Some(Submitted {
                    edit: profile.clone(),
                    at: now,
                });
                self.enqueue(account, earlier, ReviewSubject::Profile(profile));
                self.write_reviews(account)?;
                Ok(Response::EnterpriseProfile(Box::new(
                    self.profile_view(account)?,
                )))
            }
            ProfileRequest::GetChatWindowStyle => Ok(Response::ChatWindowStyle(Box::new(
                self.reviews_mut(account)?.style.clone(),
            ))),
            ProfileRequest::SubmitChatWindowStyle { style } => {
                let style = style.checked().map_err(refused)?;
                let r = self.reviews_mut(account)?;
                let earlier = r.style.pending.as_ref().map(|p| p.at);
                r.style.pending = Some(Submitted {
                    edit: style.clone(),
                    at: now,
                });
                let answer = r.style.clone();
                self.enqueue(account, earlier, ReviewSubject::Style(style));
                self.write_reviews(account)?;
                Ok(Response::ChatWindowStyle(Box::new(answer)))
            }
        }
    }

    /// A customer's or visitor's: the approved style of its account's window.
    pub(super) fn customer_profile_request(
        &mut self,
        account: u64,
        request: CustomerProfileRequest,
    ) -> Answer {
        match request {
            CustomerProfileRequest::GetWindowStyle => Ok(Response::WindowStyle(
                self.reviews_mut(account)?.style.current.clone(),
            )),
        }
    }

    /// The operator's queue and decisions.
    pub(super) fn profile_admin(&mut self, request: ProfileAdminRequest) -> Answer {
        match request {
            ProfileAdminRequest::AdminProfileReviewQueue { after, limit } => {
                self.profile_queue(after, limit)
            }
            ProfileAdminRequest::AdminReviewProfile {
                account,
                kind,
                approve,
                reason,
            } => self.decide(account, kind, approve, reason),
        }
    }

    fn decide(&mut self, account: u64, kind: ReviewKind, approve: bool, reason: String) -> Answer {
        let reason = reason.trim().to_owned();
        let n = reason.chars().count();
        if !approve && (n == 0 || n > MAX_REJECT_REASON_CHARS || reason.contains(char::is_control))
        {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("a rejection needs a reason of 1..={MAX_REJECT_REASON_CHARS} characters on one line"),
            ));
        }
        let now = self.now_ms;
        let r = self.reviews_mut(account)?;
        let submitted_at = match kind {
            ReviewKind::Profile => r.profile.pending.as_ref().map(|p| p.at),
            ReviewKind::Style => r.style.pending.as_ref().map(|p| p.at),
        }
        .ok_or_else(|| {
            err(
                ErrorCode::NOTHING_TO_REVIEW,
                format!("account {account} has no {kind:?} edit waiting for review"),
            )
        })?;
        match kind {
            ReviewKind::Profile => settle(&mut r.profile, approve, reason, now),
            ReviewKind::Style => settle(&mut r.style, approve, reason, now),
        }
        let key = queue_key(ProfileReviewCursor {
            submitted_at,
            account,
            kind,
        });
        self.batch.delete(Cf::Meta, &key);
        self.write_reviews(account)?;
        Ok(Response::Ok)
    }

    /// `AdminProfileReviewQueue`: one scan of at most `2 × limit` rows; rows of deleted
    /// accounts are skipped (a page may then be short, with its cursor).
    fn profile_queue(&mut self, after: Option<ProfileReviewCursor>, limit: u32) -> Answer {
        let limit = limit.clamp(1, MAX_PROFILE_REVIEW_PAGE) as usize;
        let page = queue_page(
            self.shared.store.as_ref(),
            queue_range(after),
            limit,
            PAGE_BYTES,
            parse_queue_key,
            |at, value| {
                Ok(ProfileReview {
                    account: at.account,
                    submitted_at: at.submitted_at,
                    subject: QueueRecord::decode(value).map_err(storage)?.subject,
                })
            },
        )?;
        let (items, next) = (page.items, page.next);
        Ok(Response::ProfileReviews(ProfileReviewPage { items, next }))
    }
}

/// Applies the operator's decision to the edit waiting.
fn settle<T>(r: &mut Reviewed<T>, approve: bool, reason: String, now: i64) {
    let Some(pending) = r.pending.take() else {
        return;
    };
    if approve {
        r.current = Some(pending.edit);
        r.rejected = None;
    } else {
        r.rejected = Some(Rejected {
            edit: pending.edit,
            reason,
            at: now,
        });
    }
}

impl QueueEntry for ProfileReviewCursor {
    fn account(&self) -> u64 {
        self.account
    }
}
