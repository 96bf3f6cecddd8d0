//! Customer satisfaction (CSAT, S1–S2, manual §10.1; `wire/PROTOCOL.md` section 37).
//!
//! - **The survey** ([`Centre::csat_closed`], called when a conversation closes): an
//!   agent-served conversation is *valid* when both sides wrote, there were more than
//!   10 customer and agent messages in it (system texts — welcome, auto-replies — do
//!   not count), and it closed at most 30:00 after the customer's last message (30:00
//!   exactly is valid). Its messages are read back from the customer's history (a
//!   bounded newest-first scan, [`MAX_MESSAGES_READ`]) plus this turn's batch. An
//!   [`OfferRecord`] is written for every such close; a valid one, with surveys on,
//!   pushes `Event::CsatSurvey` to the customer.
//! - **The answer** (`RateConversation`): options 1..=5; reasons only for 1..=3. The
//!   rating belongs to the account-day it is given on and is keyed by (day, agent,
//!   customer): a later one the same day overwrites it, and the per-day counters of
//!   the old and the new option move in the same batch (last wins; S1).
//! - **The report** (`CsatReport`): the counters of the range's days, and a page of the
//!   ratings (the detail) — two range scans, never the whole history.
//! - **The weekly mail** ([`Centre::csat_tick`]): accounts with subscribers are listed
//!   in `meta` (read at a shard's first turn); from Monday 00:00 (account time) the
//!   previous week's report goes to the subscribers through the SMTP relay of `[mail]`
//!   on the worker pool (`csat_mail.rs`); the Monday is stored as sent in the batch
//!   that records the relay's acceptance, so a restart does not send it again (a
//!   stopping shard waits up to 10 s for a mail the relay is taking); a failed
//!   send is retried after 1, 2, 4 … minutes (at most an hour) and logged.
//!
//! Reads go through the batches not yet written first ([`Centre::csat_get`]: this
//! turn's, then the one in flight on the committer), so two ratings in one turn, or in
//! consecutive turns during one commit, see each other.

use super::dispatch::{CsatRequest, CustomerCsatRequest};
use super::{err, storage, Answer, Centre, Outgoing, Recipient};
use crate::accounts::owner_shard;
use crate::store::chat_records::{ConversationRecord, MessageRecord};
use crate::store::csat_records::{
    self as rec, CountRecord, CsatSettingsRecord, OfferRecord, RatingRecord, WeeklyRecord,
};
use crate::store::{keys, BatchOp, Cf, StoredRecord};
use kefu_wire::chat::{CustomerId, Party};
use kefu_wire::csat::{
    self, CsatAgentLine, CsatDay, CsatQuery, CsatRating, CsatReportPage, CsatSettings, CsatSurvey,
};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most messages of a customer's history read back when a conversation closes (newest
/// first, stopping at the previous conversation).
pub const MAX_MESSAGES_READ: usize = 1_000;
/// Counter keys one report may read (180 days × 5 options × 1,100 agents).
const MAX_COUNTERS_READ: usize = 1_000_000;
/// Wait before the first retry of a failed weekly mail, ms; doubled per failure.
const MAIL_RETRY_MS: i64 = 60_000;
/// Longest wait between retries, ms.
const MAIL_RETRY_MAX_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// One subscribed account's weekly mail.
struct Subscription {
    /// The Monday of the last mail sent.
    last_sent: CsatDay,
    /// Not before this (turn ms): the next Monday, or a retry.
    due_ms: i64,
    attempts: u32,
    in_flight: bool,
}

/// The shard's weekly mails.
#[derive(Default)]
pub(super) struct CsatShard {
    resumed: bool,
    subs: BTreeMap<u64, Subscription>,
    /// When the subscribers are next looked at: at the earliest `due_ms` the last walk
    /// saw, or soon after a subscription or a relay's answer changed one
    /// (`deadline_walk.rs`); not every turn.
    walk: super::deadline_walk::DeadlineWalk,
}

impl CsatShard {
    /// When a weekly mail is next due (turn ms), for the loop's wake (`wake.rs`).
    pub(super) fn next_deadline(&self) -> Option<i64> {
        self.walk.next_deadline()
    }
}

/// The account-day of `now_ms`.
fn day_of(now_ms: i64, offset_secs: i32) -> CsatDay {
    let d = now_ms
        .div_euclid(1000)
        .saturating_add(i64::from(offset_secs))
        .div_euclid(86_400);
    i32::try_from(d).unwrap_or(i32::MAX)
}

/// Unix ms of 00:00 account time of `day`.
fn day_start_ms(day: CsatDay, offset_secs: i32) -> i64 {
    i64::from(day) * DAY_MS - i64::from(offset_secs) * 1000
}

fn monday_of(day: CsatDay) -> CsatDay {
    day - i32::from(csat::weekday(day))
}

/// Checks settings from the network: bounded counts and lengths, valid addresses.
fn check_settings(s: &CsatSettings) -> Result<(), ErrorBody> {
    let bad = |m: String| Err(err(ErrorCode::INVALID_ARGUMENT, m));
    if s.reasons.len() > csat::MAX_REASONS {
        return bad(format!("at most {} reasons", csat::MAX_REASONS));
    }
    for r in &s.reasons {
        let n = r.chars().count();
        if r.trim().is_empty() || n > csat::MAX_REASON_CHARS {
            return bad(format!(
                "a reason: 1..={} characters",
                csat::MAX_REASON_CHARS
            ));
        }
    }
    if s.subscribers.len() > csat::MAX_SUBSCRIBERS {
        return bad(format!("at most {} subscribers", csat::MAX_SUBSCRIBERS));
    }
    for a in &s.subscribers {
        if a.chars().count() > csat::MAX_ADDRESS_CHARS || a.parse::<lettre::Address>().is_err() {
            return bad(format!("not a mail address: {a:?}"));
        }
    }
    Ok(())
}

impl Centre {
    /// A record of the batches not yet written (the last write wins), else the store's.
    fn csat_get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, ErrorBody> {
        match self.unwritten_value(cf, key) {
            Some(v) => Ok(v.map(<[u8]>::to_vec)),
            None => self.shared.store.get(cf, key).map_err(storage),
        }
    }

    fn csat_settings(&self, account: u64) -> Result<CsatSettings, ErrorBody> {
        match self.csat_get(Cf::ValueAdded, &rec::settings_key(account))? {
            Some(b) => Ok(CsatSettingsRecord::decode(&b).map_err(storage)?.0),
            None => Ok(CsatSettings::default()),
        }
    }

    pub(super) fn csat_offset(&mut self, account: u64) -> Result<i32, ErrorBody> {
        Ok(self.chat_mut(account)?.utc_offset_secs())
    }

    /// A conversation closed: its survey state is stored, and a valid one's survey is
    /// pushed to the customer when surveys are on.
    pub(super) fn csat_closed(&mut self, account: u64, record: &ConversationRecord, at: i64) {
        let Some(agent) = record.agent else { return };
        let (messages, valid) = match self.csat_validity(account, record, at) {
            Ok(v) => v,
            Err(e) => {
                crate::log::warn(
                    self.id,
                    format_args!("csat: conversation {}: {}", record.conversation, e.message),
                );
                return;
            }
        };
        let settings = self.csat_settings(account).unwrap_or_default();
        let offered = valid && settings.enabled;
        let offer = OfferRecord {
            customer: record.customer.clone(),
            agent,
            closed_at: at,
            messages,
            valid,
            offered,
        };
        self.batch.put(
            Cf::ValueAdded,
            &rec::offer_key(account, record.conversation),
            offer.encode(),
        );
        if offered {
            let survey = CsatSurvey {
                conversation: record.conversation,
                style: settings.style,
                labels: settings
                    .style
                    .labels()
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                reasons: if settings.reasons_enabled {
                    settings.reasons.clone()
                } else {
                    Vec::new()
                },
            };
            self.push(
                account,
                Recipient::Customer(record.customer.clone()),
                Event::CsatSurvey(survey),
            );
        }
    }

    /// (customer and agent messages, valid) of a conversation closing at `at`.
    fn csat_validity(
        &self,
        account: u64,
        record: &ConversationRecord,
        at: i64,
    ) -> Result<(u32, bool), ErrorBody> {
        let range = keys::customer_messages(account, &record.customer);
        let mut seen: BTreeMap<u64, (Party, i64)> = BTreeMap::new();
        let mut consider = |m: MessageRecord| {
            if m.conversation == record.conversation {
                seen.insert(m.id, (m.from, m.at));
            }
        };
        // Newest first, in growing chunks, until an older conversation's message (the
        // conversation's are contiguous but for broadcasts, conversation 0) or the bound.
        let (mut end, mut chunk, mut read) = (range.end.clone(), 32usize, 0usize);
        'scan: while read < MAX_MESSAGES_READ {
            let rows = self
                .shared
                .store
                .scan_reverse(Cf::Messages, &range.start, &end, chunk)
                .map_err(storage)?;
            let full = rows.len() == chunk;
            read += rows.len();
            for (key, bytes) in rows {
                let m = MessageRecord::decode(&bytes).map_err(storage)?;
                if m.conversation != 0 && m.conversation < record.conversation {
                    break 'scan;
                }
                consider(m);
                end = key;
            }
            if !full {
                break;
            }
            chunk = (chunk * 2).min(MAX_MESSAGES_READ.saturating_sub(read).max(1));
        }
        // Messages not written yet (this turn's, and the batch in flight's) count too.
        for op in self.unwritten_ops() {
            if let BatchOp::Put { cf, key, value } = op {
                if cf == Cf::Messages && key.starts_with(&range.start) {
                    consider(MessageRecord::decode(value).map_err(storage)?);
                }
            }
        }
        let (mut by_customer, mut by_agent, mut last_customer) = (0u32, 0u32, None);
        for (from, t) in seen.values() {
            match from {
                Party::Customer => {
                    by_customer += 1;
                    last_customer = Some(last_customer.map_or(*t, |l: i64| l.max(*t)));
                }
                Party::Agent(_) => by_agent += 1,
                _ => {}
            }
        }
        let total = by_customer + by_agent;
        let valid = by_customer > 0
            && by_agent > 0
            && total > csat::VALID_MIN_MESSAGES_EXCLUSIVE
            && last_customer.is_some_and(|l| at.saturating_sub(l) <= csat::VALID_CLOSE_WITHIN_MS);
        Ok((total, valid))
    }

    /// `RateConversation`.
    pub(super) fn customer_csat_request(
        &mut self,
        account: u64,
        customer: &CustomerId,
        request: CustomerCsatRequest,
    ) -> Answer {
        let CustomerCsatRequest::RateConversation {
            conversation,
            rating,
            reasons,
            text,
        } = request;
        let bad = |m: String| Err(err(ErrorCode::INVALID_ARGUMENT, m));
        if !(1..=csat::OPTIONS).contains(&rating) {
            return bad(format!("rating: 1..={}", csat::OPTIONS));
        }
        if text.chars().count() > csat::MAX_TEXT_CHARS || reasons.len() > csat::MAX_REASONS {
            return bad(format!(
                "at most {} reasons and {} characters",
                csat::MAX_REASONS,
                csat::MAX_TEXT_CHARS
            ));
        }
        let settings = self.csat_settings(account)?;
        let wants_reasons = !reasons.is_empty() || !text.trim().is_empty();
        if wants_reasons && (rating > csat::REASON_OPTIONS_MAX || !settings.reasons_enabled) {
            return Err(err(
                ErrorCode::CSAT_REASONS_NOT_OFFERED,
                "reasons are asked only for the lowest three options",
            ));
        }
        let mut chosen = Vec::with_capacity(reasons.len());
        for i in &reasons {
            match settings.reasons.get(usize::from(*i)) {
                Some(r) if !chosen.contains(r) => chosen.push(r.clone()),
                _ => return bad(format!("reason {i}: not a preset, or given twice")),
            }
        }
        let offer = self.csat_offer(account, customer, conversation)?;
        let offset = self.csat_offset(account)?;
        let now = self.now_ms;
        let day = day_of(now, offset);
        let key = rec::rating_key(account, day, offer.agent, customer);
        if let Some(old) = self.csat_get(Cf::ValueAdded, &key)? {
            let old = RatingRecord::decode(&old).map_err(storage)?.0;
            self.csat_count(account, day, offer.agent, old.rating, -1)?;
        }
        self.csat_count(account, day, offer.agent, rating, 1)?;
        let r = CsatRating {
            day,
            at: now,
            customer: customer.clone(),
            agent: offer.agent,
            conversation,
            rating,
            reasons: chosen,
            text,
        };
        self.batch
            .put(Cf::ValueAdded, &key, RatingRecord(r).encode());
        Ok(Response::Ok)
    }

    /// The survey of `conversation` if `customer` may answer it now.
    fn csat_offer(
        &mut self,
        account: u64,
        customer: &CustomerId,
        conversation: u64,
    ) -> Result<OfferRecord, ErrorBody> {
        let stored = self.csat_get(Cf::ValueAdded, &rec::offer_key(account, conversation))?;
        let Some(bytes) = stored else {
            let open = self
                .chat_mut(account)?
                .open_customer(conversation)
                .is_some_and(|c| &c == customer);
            return Err(if open {
                err(
                    ErrorCode::CSAT_NOT_OFFERED,
                    "the conversation is still open",
                )
            } else {
                err(
                    ErrorCode::CSAT_UNKNOWN_CONVERSATION,
                    format!("no closed conversation {conversation} of yours"),
                )
            });
        };
        let offer = OfferRecord::decode(&bytes).map_err(storage)?;
        if &offer.customer != customer {
            return Err(err(
                ErrorCode::CSAT_UNKNOWN_CONVERSATION,
                format!("no closed conversation {conversation} of yours"),
            ));
        }
        if !offer.valid {
            return Err(err(
                ErrorCode::CSAT_NOT_VALID,
                "the conversation was not valid for a survey",
            ));
        }
        if !offer.offered {
            return Err(err(
                ErrorCode::CSAT_NOT_OFFERED,
                "no survey was sent for it (surveys were off)",
            ));
        }
        if self.now_ms.saturating_sub(offer.closed_at) > csat::ANSWER_WITHIN_MS {
            return Err(err(
                ErrorCode::CSAT_TOO_LATE,
                "a survey is answered within 24 hours of the close",
            ));
        }
        Ok(offer)
    }

    fn csat_count(
        &mut self,
        account: u64,
        day: CsatDay,
        agent: u32,
        option: u8,
        delta: i64,
    ) -> Result<(), ErrorBody> {
        let key = rec::count_key(account, day, agent, option);
        let now = match self.csat_get(Cf::ValueAdded, &key)? {
            Some(b) => CountRecord::decode(&b).map_err(storage)?.0,
            None => 0,
        };
        let next = if delta < 0 {
            now.saturating_sub(delta.unsigned_abs())
        } else {
            now.saturating_add(delta.unsigned_abs())
        };
        self.batch
            .put(Cf::ValueAdded, &key, CountRecord(next).encode());
        Ok(())
    }

    /// The agents' CSAT requests.
    pub(super) fn csat_request(&mut self, account: u64, request: CsatRequest) -> Answer {
        match request {
            CsatRequest::GetCsatSettings => {
                self.actor_mut(account)?;
                Ok(Response::CsatSettings(self.csat_settings(account)?))
            }
            CsatRequest::SetCsatSettings(settings) => self.csat_set(account, settings),
            CsatRequest::CsatReport(query) => {
                let offset = self.csat_offset(account)?;
                Ok(Response::CsatReport(
                    self.csat_report(account, offset, &query)?,
                ))
            }
        }
    }

    fn csat_set(&mut self, account: u64, settings: CsatSettings) -> Answer {
        check_settings(&settings)?;
        let offset = self.csat_offset(account)?;
        let subscribed = !settings.subscribers.is_empty();
        self.batch.put(
            Cf::ValueAdded,
            &rec::settings_key(account),
            CsatSettingsRecord(settings).encode(),
        );
        let index = rec::subscribed_key(account);
        if subscribed {
            self.batch.put(Cf::Meta, &index, Vec::new());
        } else {
            self.batch.delete(Cf::Meta, &index);
        }
        // A new subscription's first mail is the next Monday's.
        let weekly = rec::weekly_key(account);
        let last_sent = match self.csat_get(Cf::ValueAdded, &weekly)? {
            Some(b) => WeeklyRecord::decode(&b).map_err(storage)?.0,
            None => {
                let monday = monday_of(day_of(self.now_ms, offset));
                if subscribed {
                    self.batch
                        .put(Cf::ValueAdded, &weekly, WeeklyRecord(monday).encode());
                }
                monday
            }
        };
        // The schedule follows once the batch is durable.
        self.outbox.push(Outgoing::Call {
            shard: self.id,
            call: Box::new(move |c: &mut Centre| {
                if subscribed {
                    let sub = c.csat.subs.entry(account).or_insert(Subscription {
                        last_sent,
                        due_ms: 0,
                        attempts: 0,
                        in_flight: false,
                    });
                    sub.due_ms = 0;
                } else {
                    c.csat.subs.remove(&account);
                }
                c.csat.walk.may_have_armed();
            }),
        });
        Ok(Response::Ok)
    }

    /// The report of `query` (days in the account's offset).
    pub(super) fn csat_report(
        &self,
        account: u64,
        offset: i32,
        query: &CsatQuery,
    ) -> Result<CsatReportPage, ErrorBody> {
        let today = day_of(self.now_ms, offset);
        let days = i32::try_from(csat::DEFAULT_RANGE_DAYS).unwrap_or(7);
        let to = query.to.unwrap_or(today);
        let from = query.from.unwrap_or(to.saturating_sub(days - 1));
        if from < 0 || to < from {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "from must not be after to",
            ));
        }
        if i64::from(to) - i64::from(from) + 1 > i64::from(csat::MAX_RANGE_DAYS) {
            return Err(err(
                ErrorCode::REPORT_RANGE_TOO_LONG,
                format!("a report covers at most {} days", csat::MAX_RANGE_DAYS),
            ));
        }
        let store = self.shared.store.as_ref();
        let range = rec::counts_range(account, from, to);
        let rows = store
            .scan(Cf::ValueAdded, &range.start, &range.end, MAX_COUNTERS_READ)
            .map_err(storage)?;
        let mut per_agent: BTreeMap<u32, [u64; 5]> = BTreeMap::new();
        for (k, v) in rows {
            let Some((_, agent, option)) = rec::parse_count_key(&k) else {
                continue;
            };
            let n = CountRecord::decode(&v).map_err(storage)?.0;
            if let Some(slot) = per_agent
                .entry(agent)
                .or_default()
                .get_mut(usize::from(option).wrapping_sub(1))
            {
                *slot = slot.saturating_add(n);
            }
        }
        let lines = per_agent
            .into_iter()
            .map(|(agent, counts)| CsatAgentLine { agent, counts })
            .filter(|l| l.total() > 0)
            .collect();
        let (mut detail, mut next) = (Vec::new(), None);
        if query.detail {
            let range = rec::ratings_range(account, from, to);
            let start = match &query.after {
                Some(after) if after.as_slice() >= range.start.as_slice() => {
                    let mut s = after.clone();
                    s.push(0);
                    s
                }
                _ => range.start.clone(),
            };
            let rows = store
                .scan(
                    Cf::ValueAdded,
                    &start,
                    &range.end,
                    csat::MAX_DETAIL_PAGE + 1,
                )
                .map_err(storage)?;
            for (i, (k, v)) in rows.into_iter().enumerate() {
                if i == csat::MAX_DETAIL_PAGE {
                    break;
                }
                detail.push(RatingRecord::decode(&v).map_err(storage)?.0);
                next = Some(k);
            }
            if detail.len() < csat::MAX_DETAIL_PAGE {
                next = None;
            }
        }
        Ok(CsatReportPage {
            from,
            to,
            lines,
            detail,
            next,
        })
    }

    /// Whether a weekly mail is with the relay: its outcome is still to be stored.
    pub fn csat_mail_in_flight(&self) -> bool {
        self.csat.subs.values().any(|s| s.in_flight)
    }

    /// Each turn: the first time, reads which of this shard's accounts mail a weekly
    /// report; then, when one can be due (`deadline_walk.rs`), starts the mails due
    /// (one per account at a time).
    pub(super) fn csat_tick(&mut self) {
        if !self.csat.resumed {
            self.csat.resumed = true;
            self.csat_resume();
        }
        let now = self.now_ms;
        if !self.csat.walk.due(now) {
            return;
        }
        let due: Vec<u64> = self
            .csat
            .subs
            .iter()
            .filter(|(_, s)| !s.in_flight && s.due_ms <= now)
            .map(|(a, _)| *a)
            .collect();
        for account in due {
            if let Err(e) = self.csat_weekly(account) {
                if e.code == ErrorCode::UNKNOWN_ACCOUNT {
                    // Deleted: its index entry in `meta` (not account-scoped) goes too.
                    self.csat.subs.remove(&account);
                    self.batch.delete(Cf::Meta, &rec::subscribed_key(account));
                    continue;
                }
                crate::log::warn(
                    self.id,
                    format_args!("csat weekly mail of {account}: {}", e.message),
                );
                if let Some(s) = self.csat.subs.get_mut(&account) {
                    s.due_ms = now.saturating_add(MAIL_RETRY_MS);
                }
            }
        }
        // A mail with the relay is looked at again when its answer comes back.
        let earliest = (self.csat.subs.values())
            .filter(|s| !s.in_flight)
            .map(|s| s.due_ms)
            .min();
        self.csat.walk.walked(now, earliest);
    }

    fn csat_resume(&mut self) {
        let range = rec::subscribed_range();
        let rows = match self
            .shared
            .store
            .scan(Cf::Meta, &range.start, &range.end, usize::MAX)
        {
            Ok(rows) => rows,
            Err(e) => {
                crate::log::error(self.id, format_args!("csat subscriptions not read: {e}"));
                return;
            }
        };
        for (k, _) in rows {
            let Some(account) = rec::parse_subscribed_key(&k) else {
                continue;
            };
            if owner_shard(account, self.shard_count()) != self.id {
                continue;
            }
            let last_sent = match self.csat_get(Cf::ValueAdded, &rec::weekly_key(account)) {
                Ok(Some(b)) => WeeklyRecord::decode(&b).map_or(i32::MIN, |w| w.0),
                _ => i32::MIN,
            };
            self.csat.subs.insert(
                account,
                Subscription {
                    last_sent,
                    due_ms: 0,
                    attempts: 0,
                    in_flight: false,
                },
            );
        }
    }

    /// The account's weekly mail, if this week's is not sent: handed to the worker
    /// pool; otherwise the next Monday is when to look again.
    fn csat_weekly(&mut self, account: u64) -> Result<(), ErrorBody> {
        let offset = self.csat_offset(account)?;
        let now = self.now_ms;
        let monday = monday_of(day_of(now, offset));
        let last_sent = self
            .csat
            .subs
            .get(&account)
            .map_or(i32::MAX, |s| s.last_sent);
        if last_sent >= monday {
            if let Some(s) = self.csat.subs.get_mut(&account) {
                s.due_ms = day_start_ms(monday.saturating_add(7), offset);
            }
            return Ok(());
        }
        let settings = self.csat_settings(account)?;
        let query = CsatQuery {
            from: Some(monday - 7),
            to: Some(monday - 1),
            detail: true,
            after: None,
        };
        let page = self.csat_report(account, offset, &query)?;
        let mail = crate::csat_mail::WeeklyMail::new(account, &settings.subscribers, &page, now);
        let Some(relay) = self.settings.mail.clone().relay() else {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "no SMTP relay configured ([mail] smtp_host)",
            ));
        };
        if let Some(s) = self.csat.subs.get_mut(&account) {
            s.in_flight = true;
        }
        let mailbox = Arc::clone(&self.mailbox);
        let spawned = self.shared.workers.spawn(move || {
            let result = crate::csat_mail::send(&relay, &mail);
            mailbox.call(Box::new(move |c: &mut Centre| {
                c.csat_mail_outcome(account, monday, result);
            }));
        });
        if !spawned {
            if let Some(s) = self.csat.subs.get_mut(&account) {
                s.in_flight = false;
                s.due_ms = now.saturating_add(MAIL_RETRY_MS);
            }
        }
        Ok(())
    }

    /// The relay's answer: the Monday stored as sent, or a retry after the backoff.
    fn csat_mail_outcome(&mut self, account: u64, monday: CsatDay, result: Result<(), String>) {
        let now = self.now_ms;
        let shard = self.id;
        let Some(s) = self.csat.subs.get_mut(&account) else {
            return;
        };
        s.in_flight = false;
        self.csat.walk.may_have_armed();
        match result {
            Ok(()) => {
                s.last_sent = s.last_sent.max(monday);
                s.attempts = 0;
                s.due_ms = 0;
                crate::log::info(
                    shard,
                    format_args!("csat weekly mail of {account} for the week of day {monday} sent"),
                );
                self.batch.put(
                    Cf::ValueAdded,
                    &rec::weekly_key(account),
                    WeeklyRecord(monday).encode(),
                );
            }
            Err(why) => {
                s.attempts = s.attempts.saturating_add(1);
                let doublings = s.attempts.saturating_sub(1).min(10);
                let wait = (MAIL_RETRY_MS << doublings).min(MAIL_RETRY_MAX_MS);
                s.due_ms = now.saturating_add(wait);
                crate::log::warn(
                    shard,
                    format_args!(
                        "csat weekly mail of {account}: attempt {} failed ({why}); again in {} s",
                        s.attempts,
                        wait / 1000
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_follow_the_offset() {
        // 2027-01-03 23:30 UTC is Monday 2027-01-04 in UTC+8.
        let t = 1_799_019_000_000;
        let utc = day_of(t, 0);
        assert_eq!(csat::civil(utc), (2027, 1, 3));
        assert_eq!(csat::civil(day_of(t, 8 * 3600)), (2027, 1, 4));
        assert_eq!(monday_of(day_of(t, 8 * 3600)), day_of(t, 8 * 3600));
        assert_eq!(day_start_ms(utc, 0), t - (23 * 3600 + 1800) * 1000);
    }
}
