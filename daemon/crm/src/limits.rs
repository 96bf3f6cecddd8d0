//! The manual's contact numbers (§5.5; R1, R4, R5) as a small pure state fed with `now`
//! (unix seconds): the plan limit, its warnings to agent 1001 and the 14-day grace, the
//! 1,000 additions a day, and the bulk-import rule (free up to 10,000 imported in total,
//! then 1,000 a day).
//!
//! # Rules, as decided here
//!
//! | rule | numbers | where |
//! |---|---|---|
//! | Every stored contact counts toward the plan limit — friends, strangers, blacklist (§5.5 "含陌生人与黑名单") — except pending additions, which wait for the customer's answer (§5.3 "在对方同意以后，会被自动添加到相应的分组") and have their own count. | gold 100,000, silver 25,000 ([`Plan::contact_limit`]) | [`ContactLimits::level`] |
//! | Pending additions (friend requests outstanding, by hand, by import or automatic) are at most as many as the plan's limit; one more is refused ([`AddRefusal::TooManyPending`]; an automatic request is not sent, the visitor is stored as a stranger). They count toward neither the limit nor its warnings. | gold 100,000, silver 25,000 | [`ContactLimits::pending`] |
//! | An accepted request enters the count only if the account is below its limit at that moment (§5.5 "企业将不能再主动添加 QQ 客户为好友"): at or over it the acceptance is refused ([`AddRefusal::PlanFull`]) and the request stays pending; the customer adding the account itself follows the inbound rule. A request that leaves pending for a counted state otherwise (declined or withdrawn to stranger, blacklisted) enters the count whatever it holds, as a visitor stored as a stranger does. | | [`ContactLimits::admit_acceptance`], [`ContactLimits::pending_to_counted`] |
//! | Agent 1001 is warned once when the count reaches the account's threshold (default [`NEAR_LIMIT_PERCENT`] %, configurable with [`ContactLimits::set_near_percent`]) of the limit, once when it goes over, and once when the grace ends; falling back below a level re-arms its warning. | 90 % | [`LimitWarning`] |
//! | Agents add (one by one or by import) only while the count is below the limit. | | [`ContactLimits::admit_addition`], [`ContactLimits::admit_import_batch`] |
//! | Customers may still add the account (and visitors become strangers) while the count is at or over the limit, for [`GRACE_SECS`] after it first went over; then no new contact is stored until the count is back at or below the limit, which also ends the over period. | 14 days | [`ContactLimits::admit_inbound`] |
//! | At most [`DAILY_ADDITIONS`] additions one by one a day for the whole account. | 1,000 | [`ContactLimits::admit_addition`] |
//! | Import: a row passes while the account's imported total is below [`IMPORT_FREE_TOTAL`], else while the day's import count is below [`DAILY_IMPORTS`]. Every row that passes counts once in both, whether it is new or an existing contact; invalid rows and rows refused here do not. A new row is refused without counting while the plan is full. | 10,000 / 1,000 | [`ContactLimits::admit_import_batch`] |
//!
//! **Days** are calendar days in the account's UTC offset (`utc_offset_secs`, ±18 h):
//! day number = ⌊(now + offset) / 86,400⌋. Daily counters reset when the day number
//! grows; a clock stepping back does not reset them (no second quota by clock games).
//! The day's import count includes the free rows imported that day, so on the day the
//! total passes 10,000 the 1,000 includes what was imported earlier that day.
//!
//! **Persistence.** The shard stores [`LimitCounters`] with the account and recounts
//! `contacts` if it ever doubts it; everything else is derived. The pending count is
//! not stored at all: it is recounted from the stored contacts whenever an account
//! loads ([`ContactLimits::with_pending`]), with `contacts` (a data directory written
//! when pending additions still counted reads right after that recount).

/// An account's plan, as far as contacts go (§5.5). The store keeps its own copy of this
/// enum until it re-exports this one (the daemon bridges the two with a `From`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plan {
    /// Gold plan: 100,000 contacts.
    Gold,
    /// Silver plan: 25,000 contacts.
    Silver,
}

impl Plan {
    /// Maximum number of contacts an account on this plan may hold.
    pub const fn contact_limit(self) -> u32 {
        match self {
            Plan::Gold => 100_000,
            Plan::Silver => 25_000,
        }
    }
}

/// One day, in seconds.
pub const DAY_SECS: i64 = 86_400;
/// Percentage of the limit at which agent 1001 is warned that it is near.
pub const NEAR_LIMIT_PERCENT: u64 = 90;
/// How long customers may still add the account after it went over its limit.
pub const GRACE_SECS: i64 = 14 * DAY_SECS;
/// Additions one by one per account-day (R4).
pub const DAILY_ADDITIONS: u32 = 1_000;
/// Imported rows per account before the daily import limit applies (R5).
pub const IMPORT_FREE_TOTAL: u64 = 10_000;
/// Imported rows per account-day once past [`IMPORT_FREE_TOTAL`] (R5).
pub const DAILY_IMPORTS: u32 = 1_000;
/// The agent warned about the limit (§5.5: 1001 工号).
pub const WARNING_AGENT: u32 = 1001;
/// Largest UTC offset accepted, in seconds either way.
pub const MAX_UTC_OFFSET_SECS: i32 = 18 * 3600;

/// How close the account is to its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum LimitLevel {
    /// Below [`NEAR_LIMIT_PERCENT`] % of the limit.
    #[default]
    Normal,
    /// At or above [`NEAR_LIMIT_PERCENT`] %, not over the limit.
    Near,
    /// Over the limit, within the grace: customers may still add the account.
    Over,
    /// Over the limit for [`GRACE_SECS`] or more: no new contacts.
    GraceEnded,
}

/// The counters stored with an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LimitCounters {
    /// Contacts stored that count toward the limit (every state but pending).
    pub contacts: u32,
    /// When the count first went over the limit, while it stays over.
    pub over_since: Option<i64>,
    /// Account-day number the daily counters belong to.
    pub day: i64,
    /// Additions one by one on that day.
    pub added_today: u32,
    /// Imported rows (new or existing) on that day.
    pub imported_today: u32,
    /// Imported rows (new or existing) ever.
    pub imported_total: u64,
    /// Highest level agent 1001 has been warned about (re-armed when the level falls).
    pub warned: LimitLevel,
}

/// A warning for agent 1001 (§5.5, figures 96–98).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitWarning {
    /// Who to tell: [`WARNING_AGENT`].
    pub agent: u32,
    /// Near, over, or grace ended.
    pub level: LimitLevel,
    /// Contacts stored.
    pub contacts: u32,
    /// The plan's limit.
    pub limit: u32,
    /// When the grace ends (ended), for levels over the limit.
    pub grace_ends: Option<i64>,
}

/// Why one addition was refused. The requester's fault; nothing was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddRefusal {
    /// The account holds its limit's number of contacts or more: agents may not add.
    #[error("the account holds {contacts} contacts, its limit is {limit}")]
    PlanFull {
        /// Contacts stored.
        contacts: u32,
        /// The plan's limit.
        limit: u32,
    },
    /// Over the limit for 14 days: no new contact is stored until the account cleans up.
    #[error("the account has been over its contact limit since {since}; no new contacts")]
    GraceEnded {
        /// When it went over.
        since: i64,
    },
    /// The account's additions for today are used up.
    #[error("at most {DAILY_ADDITIONS} additions a day")]
    DailyLimit,
    /// As many friend requests are outstanding as the plan's limit allows.
    #[error("{pending} friend requests are waiting for an answer, at most {limit}")]
    TooManyPending {
        /// Pending additions stored.
        pending: u32,
        /// Their bound (the plan's limit).
        limit: u32,
    },
}

/// Why an import row was refused by a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportRefusal {
    /// The account holds its limit's number of contacts or more, or (a pending row) as
    /// many pending additions as their bound.
    #[error("the account's contact limit is reached")]
    PlanFull,
    /// Past 10,000 imported in total, today's 1,000 are used up.
    #[error("past {IMPORT_FREE_TOTAL} imported, at most {DAILY_IMPORTS} a day")]
    DailyLimit,
}

/// An import row as the limits see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportCandidate {
    /// A customer the account does not have yet.
    New,
    /// A customer the account already has (skipped, but counted).
    Existing,
    /// A customer the account does not have yet, imported as a pending addition (a
    /// friend who must still pass verification, §5.4): counted as pending, refused
    /// (as a plan refusal) when the plan is full or the pending count at its bound.
    NewPending,
}

/// What happens to one import row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportVerdict {
    /// Store the new contact.
    Import,
    /// Already a contact: nothing to store, but the row counted.
    SkipExisting,
    /// Refused by a limit.
    Refused(ImportRefusal),
}

/// The verdicts on a batch of import rows, in row order, and their totals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchAdmission {
    /// One verdict per row, in order.
    pub verdicts: Vec<ImportVerdict>,
    /// Rows to store.
    pub imported: u32,
    /// Rows that were existing contacts.
    pub skipped_existing: u32,
    /// New rows refused because the plan is full.
    pub refused_plan: u32,
    /// Rows refused by the daily import limit.
    pub refused_daily: u32,
    /// A warning the batch caused.
    pub warning: Option<LimitWarning>,
}

/// The UTC offset is beyond ±18 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("UTC offset {0} s is beyond ±18 h")]
pub struct UtcOffsetError(pub i32);

/// The limits of one account: settings and [`LimitCounters`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactLimits {
    limit: u32,
    /// Pending additions stored (not counted in `counters.contacts`; recounted at load).
    pending: u32,
    /// The "near the limit" threshold, percent (1..=100).
    near_percent: u64,
    utc_offset_secs: i32,
    counters: LimitCounters,
}

/// The account-day of `now` in a UTC offset.
pub fn account_day(now: i64, utc_offset_secs: i32) -> i64 {
    now.saturating_add(i64::from(utc_offset_secs))
        .div_euclid(DAY_SECS)
}

impl ContactLimits {
    /// The limits of an account on `plan`.
    pub fn for_plan(
        plan: impl Into<Plan>,
        utc_offset_secs: i32,
        counters: LimitCounters,
    ) -> Result<ContactLimits, UtcOffsetError> {
        ContactLimits::new(plan.into().contact_limit(), utc_offset_secs, counters)
    }

    /// The limits of an account allowed `limit` contacts.
    pub fn new(
        limit: u32,
        utc_offset_secs: i32,
        counters: LimitCounters,
    ) -> Result<ContactLimits, UtcOffsetError> {
        if utc_offset_secs.unsigned_abs() > MAX_UTC_OFFSET_SECS.unsigned_abs() {
            return Err(UtcOffsetError(utc_offset_secs));
        }
        Ok(ContactLimits {
            limit,
            pending: 0,
            near_percent: NEAR_LIMIT_PERCENT,
            utc_offset_secs,
            counters,
        })
    }

    /// The counters to store.
    pub const fn counters(&self) -> LimitCounters {
        self.counters
    }

    /// The contact limit.
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// Pending additions stored: friend requests waiting for the customer's answer.
    pub const fn pending(&self) -> u32 {
        self.pending
    }

    /// The most pending additions the account may hold: the plan's limit.
    pub const fn pending_limit(&self) -> u32 {
        self.limit
    }

    /// These limits with `pending` additions stored, as recounted when an account
    /// loads (the count is not stored).
    pub const fn with_pending(mut self, pending: u32) -> ContactLimits {
        self.pending = pending;
        self
    }

    /// R4: an agent asks a customer the account does not store to become a friend (by
    /// hand, stored as pending): the plan (no active additions at or over the limit),
    /// the day's additions and the pending bound; counts one addition of the day and
    /// one pending, not a contact.
    pub fn admit_request(&mut self, now: i64) -> Result<(), AddRefusal> {
        self.refresh(now);
        self.check_agent_may_add()?;
        self.check_pending_room()?;
        if self.counters.added_today >= DAILY_ADDITIONS {
            return Err(AddRefusal::DailyLimit);
        }
        self.counters.added_today += 1;
        self.pending += 1;
        Ok(())
    }

    /// R4: an agent asks a stored customer (a stranger) to become a friend: the checks
    /// of [`ContactLimits::admit_request`]; the stranger leaves the count for the
    /// pending one while the request is outstanding (which may re-arm a warning).
    pub fn admit_stranger_request(&mut self, now: i64) -> Result<(), AddRefusal> {
        self.admit_request(now)?;
        self.counters.contacts = self.counters.contacts.saturating_sub(1);
        self.refresh(now);
        let _ = self.warning(now);
        Ok(())
    }

    /// M7: the automatic friend request to a visitor the account does not store. Sent
    /// (one more pending, nothing else counted) only while the account is below its
    /// limit (an automatic request is an active addition, §7.22) and the pending count
    /// below its bound; `false`: send none (the visitor is stored as a stranger).
    pub fn admit_auto_request(&mut self, now: i64) -> bool {
        self.refresh(now);
        if self.check_agent_may_add().is_err() || self.check_pending_room().is_err() {
            return false;
        }
        self.pending += 1;
        true
    }

    /// R4: the customer accepts a friend request. Below the limit, the pending addition
    /// becomes a contact (a warning may follow); at or over it the acceptance is refused
    /// ([`AddRefusal::PlanFull`]) and nothing changes.
    pub fn admit_acceptance(&mut self, now: i64) -> Result<Option<LimitWarning>, AddRefusal> {
        self.refresh(now);
        self.check_agent_may_add()?;
        self.pending = self.pending.saturating_sub(1);
        self.counters.contacts = self.counters.contacts.saturating_add(1);
        self.refresh(now);
        Ok(self.warning(now))
    }

    /// R1: the customer of a pending request adds the account itself: the inbound rule
    /// ([`ContactLimits::admit_inbound`]); on success the pending one becomes a contact.
    pub fn admit_inbound_from_pending(
        &mut self,
        now: i64,
    ) -> Result<Option<LimitWarning>, AddRefusal> {
        let w = self.admit_inbound(now)?;
        self.pending = self.pending.saturating_sub(1);
        Ok(w)
    }

    /// A pending addition becomes a counted contact without an acceptance (declined or
    /// withdrawn to stranger, blacklisted): counted whatever the account holds.
    pub fn pending_to_counted(&mut self, now: i64) -> Option<LimitWarning> {
        self.pending = self.pending.saturating_sub(1);
        self.counters.contacts = self.counters.contacts.saturating_add(1);
        self.refresh(now);
        self.warning(now)
    }

    /// `count` pending additions left without becoming contacts (deleted, or declined
    /// by a customer the account never talked to).
    pub fn pending_removed(&mut self, count: u32) {
        self.pending = self.pending.saturating_sub(count);
    }

    /// Where the account stands at `now` (read-only: a level reached by time alone is
    /// reported by [`ContactLimits::tick`]).
    pub fn level(&self, now: i64) -> LimitLevel {
        let contacts = u64::from(self.counters.contacts);
        let limit = u64::from(self.limit);
        if contacts > limit {
            // Not yet recorded as over (plan just lowered): the grace starts now.
            let since = self.counters.over_since.unwrap_or(now);
            if now >= since.saturating_add(GRACE_SECS) {
                LimitLevel::GraceEnded
            } else {
                LimitLevel::Over
            }
        } else if contacts * 100 >= limit * self.near_percent {
            LimitLevel::Near
        } else {
            LimitLevel::Normal
        }
    }

    /// When the grace ends (or ended), while over the limit.
    pub fn grace_ends(&self) -> Option<i64> {
        self.counters
            .over_since
            .map(|since| since.saturating_add(GRACE_SECS))
    }

    /// When [`ContactLimits::tick`] has something to say without any other input.
    pub fn next_deadline(&self) -> Option<i64> {
        match self.counters.warned {
            LimitLevel::GraceEnded => None,
            _ => self.grace_ends(),
        }
    }

    /// Time passes: the grace may have ended (a warning), the day may have changed.
    pub fn tick(&mut self, now: i64) -> Option<LimitWarning> {
        self.refresh(now);
        self.warning(now)
    }

    /// Additions one by one still allowed today.
    pub fn additions_left_today(&self, now: i64) -> u32 {
        let added = if account_day(now, self.utc_offset_secs) > self.counters.day {
            0
        } else {
            self.counters.added_today
        };
        DAILY_ADDITIONS.saturating_sub(added)
    }

    /// Import rows that would still pass the import limit now (the plan aside).
    pub fn imports_left_today(&self, now: i64) -> u64 {
        let today = if account_day(now, self.utc_offset_secs) > self.counters.day {
            0
        } else {
            u64::from(self.counters.imported_today)
        };
        let free = IMPORT_FREE_TOTAL.saturating_sub(self.counters.imported_total);
        free + u64::from(DAILY_IMPORTS).saturating_sub(today + free)
    }

    /// R4: an agent adds one customer as a contact at once (`CreateContact`). Checks the
    /// plan and the day's additions; on success counts the addition and the contact.
    pub fn admit_addition(&mut self, now: i64) -> Result<Option<LimitWarning>, AddRefusal> {
        self.refresh(now);
        self.check_agent_may_add()?;
        if self.counters.added_today >= DAILY_ADDITIONS {
            return Err(AddRefusal::DailyLimit);
        }
        self.counters.added_today += 1;
        self.counters.contacts = self.counters.contacts.saturating_add(1);
        self.refresh(now);
        Ok(self.warning(now))
    }

    /// R1: a customer adds the account, or a new customer becomes a stranger contact.
    /// Allowed below the limit and, over it, during the grace.
    pub fn admit_inbound(&mut self, now: i64) -> Result<Option<LimitWarning>, AddRefusal> {
        self.refresh(now);
        if self.level(now) == LimitLevel::GraceEnded {
            return Err(AddRefusal::GraceEnded {
                since: self.counters.over_since.unwrap_or(now),
            });
        }
        self.counters.contacts = self.counters.contacts.saturating_add(1);
        self.refresh(now);
        Ok(self.warning(now))
    }

    /// `count` contacts were deleted.
    pub fn contacts_removed(&mut self, count: u32, now: i64) -> Option<LimitWarning> {
        self.counters.contacts = self.counters.contacts.saturating_sub(count);
        self.refresh(now);
        self.warning(now)
    }

    /// The "near the limit" threshold, percent of the limit.
    pub const fn near_percent(&self) -> u64 {
        self.near_percent
    }

    /// These limits with the "near the limit" threshold `percent` (kept within
    /// 1..=100), as stored: no warning (loading an account).
    pub fn with_near_percent(mut self, percent: u8) -> ContactLimits {
        self.near_percent = u64::from(percent.clamp(1, 100));
        self
    }

    /// A new "near the limit" threshold (`percent` is kept within 1..=100): a count
    /// already past it is warned about now; one no longer past it re-arms the warning.
    pub fn set_near_percent(&mut self, percent: u8, now: i64) -> Option<LimitWarning> {
        self.near_percent = u64::from(percent.clamp(1, 100));
        self.refresh(now);
        self.warning(now)
    }

    /// The plan changed (or the count was recounted): new limit.
    pub fn set_limit(&mut self, limit: u32, now: i64) -> Option<LimitWarning> {
        self.limit = limit;
        self.refresh(now);
        self.warning(now)
    }

    /// R5: the verdict on one import row, counting it if it passes, and a warning the
    /// row caused.
    pub fn admit_import(
        &mut self,
        row: ImportCandidate,
        now: i64,
    ) -> (ImportVerdict, Option<LimitWarning>) {
        self.refresh(now);
        let verdict = self.admit_import_row(row);
        self.refresh(now);
        (verdict, self.warning(now))
    }

    /// An import by the appliance's operator (a migration through the admin socket):
    /// only the plan limit applies; the rows do not count toward the 10,000 / 1,000-a-day
    /// rule, which governs agents' imports.
    pub fn admit_operator_import(
        &mut self,
        row: ImportCandidate,
        now: i64,
    ) -> (ImportVerdict, Option<LimitWarning>) {
        self.refresh(now);
        let verdict = match row {
            ImportCandidate::New | ImportCandidate::NewPending
                if self.counters.contacts >= self.limit =>
            {
                ImportVerdict::Refused(ImportRefusal::PlanFull)
            }
            ImportCandidate::NewPending if self.pending >= self.pending_limit() => {
                ImportVerdict::Refused(ImportRefusal::PlanFull)
            }
            ImportCandidate::New => {
                self.counters.contacts = self.counters.contacts.saturating_add(1);
                ImportVerdict::Import
            }
            ImportCandidate::NewPending => {
                self.pending += 1;
                ImportVerdict::Import
            }
            ImportCandidate::Existing => ImportVerdict::SkipExisting,
        };
        self.refresh(now);
        (verdict, self.warning(now))
    }

    /// R5: the verdict on each row of an import batch, in order, counting what passes.
    pub fn admit_import_batch(&mut self, rows: &[ImportCandidate], now: i64) -> BatchAdmission {
        self.refresh(now);
        let mut out = BatchAdmission {
            verdicts: Vec::with_capacity(rows.len()),
            ..BatchAdmission::default()
        };
        for row in rows {
            let verdict = self.admit_import_row(*row);
            match verdict {
                ImportVerdict::Import => out.imported += 1,
                ImportVerdict::SkipExisting => out.skipped_existing += 1,
                ImportVerdict::Refused(ImportRefusal::PlanFull) => out.refused_plan += 1,
                ImportVerdict::Refused(ImportRefusal::DailyLimit) => out.refused_daily += 1,
            }
            out.verdicts.push(verdict);
        }
        self.refresh(now);
        out.warning = self.warning(now);
        out
    }

    fn admit_import_row(&mut self, row: ImportCandidate) -> ImportVerdict {
        if row != ImportCandidate::Existing && self.counters.contacts >= self.limit
            || row == ImportCandidate::NewPending && self.pending >= self.pending_limit()
        {
            return ImportVerdict::Refused(ImportRefusal::PlanFull);
        }
        let c = &mut self.counters;
        if c.imported_total >= IMPORT_FREE_TOTAL && c.imported_today >= DAILY_IMPORTS {
            return ImportVerdict::Refused(ImportRefusal::DailyLimit);
        }
        c.imported_total = c.imported_total.saturating_add(1);
        c.imported_today = c.imported_today.saturating_add(1);
        match row {
            ImportCandidate::Existing => ImportVerdict::SkipExisting,
            ImportCandidate::New => {
                c.contacts = c.contacts.saturating_add(1);
                ImportVerdict::Import
            }
            ImportCandidate::NewPending => {
                self.pending += 1;
                ImportVerdict::Import
            }
        }
    }

    fn check_pending_room(&self) -> Result<(), AddRefusal> {
        if self.pending >= self.pending_limit() {
            return Err(AddRefusal::TooManyPending {
                pending: self.pending,
                limit: self.pending_limit(),
            });
        }
        Ok(())
    }

    fn check_agent_may_add(&self) -> Result<(), AddRefusal> {
        if self.counters.contacts >= self.limit {
            return Err(AddRefusal::PlanFull {
                contacts: self.counters.contacts,
                limit: self.limit,
            });
        }
        Ok(())
    }

    /// Rolls the day and keeps `over_since` in step with the count.
    fn refresh(&mut self, now: i64) {
        let c = &mut self.counters;
        let day = account_day(now, self.utc_offset_secs);
        if day > c.day {
            c.day = day;
            c.added_today = 0;
            c.imported_today = 0;
        }
        if c.contacts > self.limit {
            c.over_since.get_or_insert(now);
        } else {
            c.over_since = None;
        }
    }

    /// A warning when the level rose above the one last warned about; re-arms when it fell.
    fn warning(&mut self, now: i64) -> Option<LimitWarning> {
        let level = self.level(now);
        if level <= self.counters.warned {
            self.counters.warned = level;
            return None;
        }
        self.counters.warned = level;
        Some(LimitWarning {
            agent: WARNING_AGENT,
            level,
            contacts: self.counters.contacts,
            limit: self.limit,
            grace_ends: self.grace_ends(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01 00:00:00 UTC, a Monday.
    const T0: i64 = 1_704_067_200;
    const CHINA: i32 = 8 * 3600;

    /// A1/R1: the warning threshold is the account's: lowering it past the count warns
    /// at once; raising it above the count re-arms the warning.
    #[test]
    fn the_near_limit_threshold_is_configurable() {
        let mut l = limits(100, 80);
        assert_eq!(l.level(T0), LimitLevel::Normal);
        let w = l.set_near_percent(80, T0).expect("warned at once");
        assert_eq!((w.level, w.contacts), (LimitLevel::Near, 80));
        assert_eq!(l.set_near_percent(80, T0), None);
        assert_eq!(l.set_near_percent(95, T0), None);
        assert_eq!(l.level(T0), LimitLevel::Normal);
        assert!(l.set_near_percent(70, T0).is_some());
    }

    fn limits(limit: u32, contacts: u32) -> ContactLimits {
        ContactLimits::new(
            limit,
            CHINA,
            LimitCounters {
                contacts,
                ..LimitCounters::default()
            },
        )
        .unwrap()
    }

    fn warned(level: LimitLevel) -> impl Fn(&Option<LimitWarning>) -> bool {
        move |w| w.is_some_and(|w| w.level == level && w.agent == 1001)
    }

    /// A stranger asked to become a friend uses one of the day's additions and leaves
    /// the count for the pending one; the plan and daily refusals are those of a new one.
    #[test]
    fn a_request_to_a_stranger_counts_the_day_and_moves_it_to_pending() {
        let mut l = limits(10_000, 5_000);
        for _ in 0..DAILY_ADDITIONS {
            assert_eq!(l.admit_stranger_request(T0), Ok(()));
        }
        assert_eq!((l.counters().contacts, l.pending()), (4_000, 1_000));
        assert_eq!(l.counters().added_today, DAILY_ADDITIONS);
        assert_eq!(l.admit_stranger_request(T0), Err(AddRefusal::DailyLimit));
        assert_eq!(l.admit_request(T0), Err(AddRefusal::DailyLimit));
        assert_eq!((l.counters().contacts, l.pending()), (4_000, 1_000));
        let mut full = limits(10, 10);
        assert!(matches!(
            full.admit_stranger_request(T0),
            Err(AddRefusal::PlanFull { .. })
        ));
        assert_eq!(
            full.admit_request(T0),
            Err(AddRefusal::PlanFull {
                contacts: 10,
                limit: 10
            })
        );
    }

    /// R4, §5.3/§5.5: pending additions count toward neither the limit nor its
    /// warnings; an acceptance enters the count only below the limit; the pending count
    /// has its own bound (the plan's limit).
    #[test]
    fn pending_additions_are_not_contacts() {
        let mut l = limits(10, 8);
        assert_eq!(l.admit_request(T0), Ok(()));
        assert_eq!(l.admit_request(T0), Ok(()));
        assert_eq!((l.counters().contacts, l.pending()), (8, 2));
        // 10 stored, 8 counted: below the 90 % warning.
        assert_eq!(l.level(T0), LimitLevel::Normal);
        // Two customers are stored as strangers: the account is full, with 2 pending.
        assert!(l.admit_inbound(T0).unwrap().is_some()); // 9: near warned
        assert_eq!(l.admit_inbound(T0), Ok(None)); // 10
        assert_eq!((l.counters().contacts, l.pending()), (10, 2));
        // Full: the acceptance is refused and nothing changes; no active addition.
        let full = Err(AddRefusal::PlanFull {
            contacts: 10,
            limit: 10,
        });
        assert_eq!(l.admit_acceptance(T0), full);
        assert_eq!(
            l.admit_request(T0),
            Err(AddRefusal::PlanFull {
                contacts: 10,
                limit: 10
            })
        );
        assert!(!l.admit_auto_request(T0));
        assert_eq!((l.counters().contacts, l.pending()), (10, 2));
        // The customer adds the account itself: inbound, within the grace.
        let w = l.admit_inbound_from_pending(T0).unwrap();
        assert!(warned(LimitLevel::Over)(&w));
        assert_eq!((l.counters().contacts, l.pending()), (11, 1));
        // Room again: the other acceptance goes through.
        assert_eq!(l.contacts_removed(2, T0), None);
        assert_eq!(l.admit_acceptance(T0), Ok(None));
        assert_eq!((l.counters().contacts, l.pending()), (10, 0));
        // The bound on pending additions.
        let mut b = limits(3, 0);
        for _ in 0..3 {
            assert_eq!(b.admit_request(T0), Ok(()));
        }
        assert_eq!(
            b.admit_request(T0),
            Err(AddRefusal::TooManyPending {
                pending: 3,
                limit: 3
            })
        );
        assert!(!b.admit_auto_request(T0));
        assert_eq!(
            b.admit_import_batch(&[ImportCandidate::NewPending, ImportCandidate::New], T0)
                .verdicts,
            [
                ImportVerdict::Refused(ImportRefusal::PlanFull),
                ImportVerdict::Import
            ]
        );
        assert_eq!((b.counters().contacts, b.pending()), (1, 3));
        b.pending_removed(1);
        assert!(b.admit_auto_request(T0));
        assert_eq!(b.pending_to_counted(T0), None);
        assert_eq!((b.counters().contacts, b.pending()), (2, 2));
    }

    #[test]
    fn plans_and_offsets() {
        let gold = ContactLimits::for_plan(Plan::Gold, 0, LimitCounters::default()).unwrap();
        let silver = ContactLimits::for_plan(Plan::Silver, 0, LimitCounters::default()).unwrap();
        assert_eq!((gold.limit(), silver.limit()), (100_000, 25_000));
        for (offset, ok) in [
            (0, true),
            (18 * 3600, true),
            (-18 * 3600, true),
            (18 * 3600 + 1, false),
            (i32::MIN, false),
        ] {
            let got = ContactLimits::new(1, offset, LimitCounters::default());
            assert_eq!(got.is_ok(), ok, "{offset}");
        }
    }

    #[test]
    fn levels_table() {
        let cases = [
            (100_000, 0, LimitLevel::Normal),
            (100_000, 89_999, LimitLevel::Normal),
            (100_000, 90_000, LimitLevel::Near),
            (100_000, 100_000, LimitLevel::Near),
            (100_000, 100_001, LimitLevel::Over),
            (25_000, 22_499, LimitLevel::Normal),
            (25_000, 22_500, LimitLevel::Near),
            (25_000, 25_001, LimitLevel::Over),
            (0, 0, LimitLevel::Near),
            (0, 1, LimitLevel::Over),
        ];
        for (limit, contacts, want) in cases {
            assert_eq!(
                limits(limit, contacts).level(T0),
                want,
                "{contacts}/{limit}"
            );
        }
    }

    #[test]
    fn near_warning_once_then_rearmed() {
        let mut l = limits(100_000, 89_998);
        assert_eq!(l.admit_addition(T0), Ok(None)); // 89,999
        let w = l.admit_addition(T0).unwrap(); // 90,000
        assert!(warned(LimitLevel::Near)(&w), "{w:?}");
        assert_eq!(w.map(|w| (w.contacts, w.limit)), Some((90_000, 100_000)));
        assert_eq!(l.admit_addition(T0), Ok(None));
        // falling back re-arms the warning
        assert_eq!(l.contacts_removed(2, T0), None); // 89,999
        assert_eq!(l.counters().warned, LimitLevel::Normal);
        assert!(warned(LimitLevel::Near)(&l.admit_addition(T0).unwrap()));
    }

    /// §5.5: at the limit agents may not add; customers may, for 14 days after going
    /// over; after that nothing is stored; cleaning up ends it.
    #[test]
    fn grace_rule() {
        let mut l = limits(100, 99);
        assert!(warned(LimitLevel::Near)(&l.admit_addition(T0).unwrap())); // 100
        let full = Err(AddRefusal::PlanFull {
            contacts: 100,
            limit: 100,
        });
        assert_eq!(l.admit_addition(T0), full);
        assert_eq!(
            l.admit_import_batch(&[ImportCandidate::New], T0).verdicts,
            [ImportVerdict::Refused(ImportRefusal::PlanFull)]
        );
        // a customer adds the account: over the limit, the grace starts
        let t1 = T0 + 3600;
        let w = l.admit_inbound(t1).unwrap();
        assert!(warned(LimitLevel::Over)(&w));
        assert_eq!(w.and_then(|w| w.grace_ends), Some(t1 + GRACE_SECS));
        assert_eq!(l.next_deadline(), Some(t1 + GRACE_SECS));
        assert_eq!(
            l.admit_addition(t1 + 1),
            Err(AddRefusal::PlanFull {
                contacts: 101,
                limit: 100
            })
        );
        // customers keep adding during the 14 days, no new warning
        assert_eq!(l.admit_inbound(t1 + GRACE_SECS - 1), Ok(None));
        assert_eq!(l.counters().contacts, 102);
        // the grace ends: a tick warns once, nothing new is stored
        let end = t1 + GRACE_SECS;
        assert_eq!(l.tick(end - 1), None);
        assert!(warned(LimitLevel::GraceEnded)(&l.tick(end)));
        assert_eq!(l.tick(end + 1), None);
        assert_eq!(l.next_deadline(), None);
        assert_eq!(
            l.admit_inbound(end),
            Err(AddRefusal::GraceEnded { since: t1 })
        );
        // deleting to below the limit ends the over period
        assert_eq!(l.contacts_removed(2, end), None);
        assert_eq!(l.counters().over_since, None);
        assert_eq!(l.level(end), LimitLevel::Near);
        // customers may add again, which starts a new over period
        let w = l.admit_inbound(end).unwrap();
        assert!(warned(LimitLevel::Over)(&w));
        assert_eq!(w.and_then(|w| w.grace_ends), Some(end + GRACE_SECS));
    }

    #[test]
    fn going_over_again_starts_a_new_grace() {
        let mut l = limits(10, 10);
        assert!(warned(LimitLevel::Over)(&l.admit_inbound(T0).unwrap()));
        assert_eq!(l.contacts_removed(1, T0 + 10), None);
        let later = T0 + 20 * DAY_SECS;
        let w = l.admit_inbound(later).unwrap();
        assert!(warned(LimitLevel::Over)(&w));
        assert_eq!(w.and_then(|w| w.grace_ends), Some(later + GRACE_SECS));
    }

    #[test]
    fn lowering_the_plan_starts_the_grace_now() {
        let mut l = limits(100_000, 30_000);
        let w = l.set_limit(25_000, T0);
        assert!(warned(LimitLevel::Over)(&w));
        assert_eq!(l.counters().over_since, Some(T0));
        assert_eq!(l.level(T0 + GRACE_SECS), LimitLevel::GraceEnded);
    }

    /// R4: 1,000 additions per account-day, the day being the account's local day.
    #[test]
    fn daily_additions_in_local_days() {
        let mut l = limits(100_000, 0);
        // 2024-01-01 15:59:59 UTC is 23:59:59 in UTC+8
        let before_midnight = T0 + 16 * 3600 - 1;
        for _ in 0..DAILY_ADDITIONS {
            assert_eq!(l.admit_addition(before_midnight), Ok(None));
        }
        assert_eq!(l.additions_left_today(before_midnight), 0);
        assert_eq!(
            l.admit_addition(before_midnight),
            Err(AddRefusal::DailyLimit)
        );
        assert_eq!(l.counters().contacts, 1000, "a refusal is not counted");
        // one second later it is a new day in Beijing (still Jan 1 in UTC)
        assert_eq!(l.additions_left_today(before_midnight + 1), 1000);
        assert_eq!(l.admit_addition(before_midnight + 1), Ok(None));
        // the clock stepping back does not give a new quota
        for _ in 1..DAILY_ADDITIONS {
            l.admit_addition(before_midnight + 2).unwrap();
        }
        assert_eq!(
            l.admit_addition(before_midnight),
            Err(AddRefusal::DailyLimit)
        );
        assert_eq!(l.additions_left_today(before_midnight), 0);
    }

    #[test]
    fn account_days() {
        let cases = [
            (T0, 0, 19_723),
            (T0 - 1, 0, 19_722),
            (T0 - 1, 1, 19_723),
            (T0, -1, 19_722),
            (-1, 0, -1),
            (i64::MAX, MAX_UTC_OFFSET_SECS, i64::MAX / DAY_SECS),
        ];
        for (now, offset, want) in cases {
            assert_eq!(account_day(now, offset), want, "{now} {offset}");
        }
    }

    /// R5: free up to 10,000 imported in total, then 1,000 a day counting existing
    /// contacts; the day's count includes that day's free rows.
    #[test]
    fn import_rule() {
        let mut l = limits(100_000, 0);
        l.counters.imported_total = 9_500;
        assert_eq!(l.imports_left_today(T0), 1_000);
        let rows = vec![ImportCandidate::New; 2_000];
        let got = l.admit_import_batch(&rows, T0);
        assert_eq!(
            (got.imported, got.refused_daily, got.skipped_existing),
            (1_000, 1_000, 0)
        );
        assert!(got.verdicts[..1_000]
            .iter()
            .all(|v| *v == ImportVerdict::Import));
        assert!(got.verdicts[1_000..]
            .iter()
            .all(|v| *v == ImportVerdict::Refused(ImportRefusal::DailyLimit)));
        assert_eq!(l.counters().imported_total, 10_500);
        assert_eq!(l.imports_left_today(T0), 0);
        // next day: existing contacts count against the 1,000 too
        let day2 = T0 + DAY_SECS;
        let mixed: Vec<ImportCandidate> = (0..1_200)
            .map(|i| {
                if i % 2 == 0 {
                    ImportCandidate::Existing
                } else {
                    ImportCandidate::New
                }
            })
            .collect();
        let got = l.admit_import_batch(&mixed, day2);
        assert_eq!(
            (got.imported, got.skipped_existing, got.refused_daily),
            (500, 500, 200)
        );
        assert_eq!(l.counters().contacts, 1_500);
    }

    #[test]
    fn imports_below_the_threshold_are_unrestricted() {
        let mut l = limits(100_000, 0);
        let got = l.admit_import_batch(&vec![ImportCandidate::New; 10_000], T0);
        assert_eq!((got.imported, got.refused_daily), (10_000, 0));
        assert_eq!(l.imports_left_today(T0), 0);
        assert_eq!(l.imports_left_today(T0 + DAY_SECS), 1_000);
        // a quota-refused row is not counted
        let got = l.admit_import_batch(&[ImportCandidate::Existing], T0);
        assert_eq!(got.refused_daily, 1);
        assert_eq!(l.counters().imported_total, 10_000);
    }

    #[test]
    fn imports_stop_at_the_plan_limit_but_existing_rows_pass() {
        let mut l = limits(100, 98);
        let rows = [
            ImportCandidate::New,
            ImportCandidate::Existing,
            ImportCandidate::New,
            ImportCandidate::New,
            ImportCandidate::Existing,
        ];
        let got = l.admit_import_batch(&rows, T0);
        use ImportVerdict::*;
        assert_eq!(
            got.verdicts,
            [
                Import,
                SkipExisting,
                Import,
                Refused(ImportRefusal::PlanFull),
                SkipExisting
            ]
        );
        assert_eq!(got.refused_plan, 1);
        assert_eq!(
            l.counters().imported_total,
            4,
            "plan refusals are not counted"
        );
        assert!(warned(LimitLevel::Near)(&got.warning));
    }
}
