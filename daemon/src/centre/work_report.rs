//! The daily work report (工作日报, feature S3, manual §7.19; `wire/PROTOCOL.md`
//! section 34): per agent and day, the conversations it served (会话量) and the different
//! customers it served (独立 QQ 数).
//!
//! **Incremental.** Nothing scans history: when routing gives a conversation to an agent
//! (the `Assigned` effect: accepted, routed, transferred, grabbed), the turn's batch gets
//! a marker "this conversation is counted for this agent today" and, if the marker is
//! new, the agent's counts for the day go up by one conversation and, if the customer's
//! marker for (day, agent) is new too, by one customer. Markers and counts are in the same
//! batch as the assignment, so the counts are exact across restarts and a conversation
//! given twice to the same agent the same day (transferred back) counts once. A day is a
//! calendar day of the account's UTC offset on the turn's clock.
//!
//! **Cache.** Each account keeps the counts and the markers of the current day it has
//! read or written ([`WorkCache`], part of the [`Account`](super::Account), so it is
//! dropped with it when a commit fails); a new day empties it. A query reads the stored
//! counts of its range and takes the current day's from the cache, which includes
//! batches not yet durable.

use super::dispatch::ReportRequest;
use super::{err, Answer, Centre};
use crate::store::report_records::{SeenRecord, WorkDayRecord};
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::chat::CustomerId;
use kefu_wire::reports::{Date, WorkReportRow, MAX_REPORT_DAYS};
use kefu_wire::{ErrorBody, ErrorCode, Response};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Most agents an account's work report covers per day (the rows one query may read
/// are at most this × [`MAX_REPORT_DAYS`]).
pub const MAX_REPORT_AGENTS: usize = 2_000;

/// One account's counts and markers of the current day.
#[derive(Debug, Default)]
pub(crate) struct WorkCache {
    day: u32,
    counts: HashMap<u32, WorkDayRecord>,
    seen: HashSet<Vec<u8>>,
}

/// The days `from..=to` as day numbers, checked: real dates, in order, at most
/// `MAX_REPORT_DAYS`.
pub(crate) fn day_range(from: Date, to: Date) -> Result<(u32, u32), ErrorBody> {
    let (Some(a), Some(b)) = (from.day_number(), to.day_number()) else {
        return Err(err(ErrorCode::INVALID_ARGUMENT, "not a date (1970..=9999)"));
    };
    if a > b {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            "the range ends before it starts",
        ));
    }
    if b - a >= MAX_REPORT_DAYS {
        return Err(err(
            ErrorCode::REPORT_RANGE_TOO_LONG,
            format!("a report covers at most {MAX_REPORT_DAYS} days"),
        ));
    }
    Ok((a, b))
}

impl Centre {
    /// The account's local day now.
    fn report_day(&self, account: u64) -> u32 {
        let offset = self
            .actors
            .get(&account)
            .map_or(0, |a| a.chat.utc_offset_secs());
        Date::day_of(self.now_ms, offset)
    }

    /// Whether the marker `key` of `day` exists (cache, then store); remembers it.
    fn work_seen(&mut self, account: u64, day: u32, key: &[u8]) -> Result<bool, String> {
        let store = &self.shared.store;
        let Some(actor) = self.actors.get_mut(&account) else {
            return Err("account not loaded".into());
        };
        let cache = &mut actor.work;
        if cache.day != day {
            *cache = WorkCache {
                day,
                ..WorkCache::default()
            };
        }
        if cache.seen.contains(key) {
            return Ok(true);
        }
        let found = store
            .get(Cf::Reports, key)
            .map_err(|e| e.to_string())?
            .is_some();
        if found {
            cache.seen.insert(key.to_vec());
        }
        Ok(found)
    }

    /// The counts of `agent` on the cache's day (store read on first use).
    fn work_counts(&mut self, account: u64, agent: u32) -> Result<WorkDayRecord, String> {
        let store = &self.shared.store;
        let Some(actor) = self.actors.get_mut(&account) else {
            return Err("account not loaded".into());
        };
        let cache = &mut actor.work;
        if let Some(c) = cache.counts.get(&agent) {
            return Ok(*c);
        }
        let key = keys::work_day(account, cache.day, agent);
        let counts = match store.get(Cf::Reports, &key).map_err(|e| e.to_string())? {
            Some(bytes) => WorkDayRecord::decode(&bytes).map_err(|e| e.to_string())?,
            None => WorkDayRecord::default(),
        };
        cache.counts.insert(agent, counts);
        Ok(counts)
    }

    /// Routing gave `conversation` of `customer` to `agent`: count it (once per day).
    pub(super) fn work_report_assigned(
        &mut self,
        account: u64,
        conversation: u64,
        customer: &CustomerId,
        agent: u32,
    ) {
        if let Err(e) = self.count_assignment(account, conversation, customer, agent) {
            crate::log::error(
                self.id,
                format_args!("work report of account {account}: {e}; not counted"),
            );
        }
    }

    fn count_assignment(
        &mut self,
        account: u64,
        conversation: u64,
        customer: &CustomerId,
        agent: u32,
    ) -> Result<(), String> {
        let day = self.report_day(account);
        let conversation_key = keys::work_seen_conversation(account, day, agent, conversation);
        if self.work_seen(account, day, &conversation_key)? {
            return Ok(());
        }
        let customer_key = keys::work_seen_customer(account, day, agent, customer);
        let new_customer = !self.work_seen(account, day, &customer_key)?;
        let mut counts = self.work_counts(account, agent)?;
        counts.conversations += 1;
        let marker = SeenRecord.encode();
        self.batch
            .put(Cf::Reports, &conversation_key, marker.clone());
        if new_customer {
            counts.customers += 1;
            self.batch.put(Cf::Reports, &customer_key, marker);
        }
        self.batch.put(
            Cf::Reports,
            &keys::work_day(account, day, agent),
            counts.encode(),
        );
        if let Some(actor) = self.actors.get_mut(&account) {
            let cache = &mut actor.work;
            cache.counts.insert(agent, counts);
            cache.seen.insert(conversation_key);
            if new_customer {
                cache.seen.insert(customer_key);
            }
        }
        Ok(())
    }

    /// The work report's rows for `from..=to`, by day then agent.
    pub(crate) fn work_report_rows(
        &mut self,
        account: u64,
        from: Date,
        to: Date,
        agent: Option<u32>,
    ) -> Result<Vec<WorkReportRow>, ErrorBody> {
        let (a, b) = day_range(from, to)?;
        self.account_mut(account)?;
        let range = keys::work_days(account, a, b);
        let limit = MAX_REPORT_AGENTS * MAX_REPORT_DAYS as usize;
        let stored = self
            .shared
            .store
            .scan(Cf::Reports, &range.start, &range.end, limit)
            .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
        let mut rows: BTreeMap<(u32, u32), WorkDayRecord> = BTreeMap::new();
        for (key, value) in stored {
            let Some(day_agent) = keys::parse_work_day(&key) else {
                continue;
            };
            let counts = WorkDayRecord::decode(&value)
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
            rows.insert(day_agent, counts);
        }
        // The current day's counts, batches not yet durable included.
        if let Some(cache) = self.actors.get(&account).map(|a| &a.work) {
            if (a..=b).contains(&cache.day) {
                for (&who, &counts) in &cache.counts {
                    rows.insert((cache.day, who), counts);
                }
            }
        }
        Ok(rows
            .into_iter()
            .filter(|((_, who), c)| agent.is_none_or(|a| a == *who) && c.conversations > 0)
            .map(|((day, who), c)| WorkReportRow {
                date: Date::from_day_number(day),
                agent: who,
                conversations: c.conversations,
                customers: c.customers,
            })
            .collect())
    }

    /// The agent's report requests (`GetWorkReport`; exports in `exports.rs`).
    pub(super) fn report_request(
        &mut self,
        reply: super::ReplyTo,
        account: u64,
        me: u32,
        request: ReportRequest,
    ) {
        let answer: Answer = match request {
            ReportRequest::GetWorkReport { from, to, agent } => self
                .work_report_rows(account, from, to, agent)
                .map(Response::WorkReport),
            ReportRequest::ExportReport {
                report,
                format,
                otp,
            } => return self.export_report(reply, account, me, report, format, otp),
            ReportRequest::ExportChunk { export, index } => {
                self.export_chunk(account, me, export, index)
            }
        };
        self.reply(reply, answer);
    }
}
