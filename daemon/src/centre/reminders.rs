//! Agents' own preferences and the reminders to agent 1001 (issue 11 points 7–9;
//! M2 §7.4, E3 §7.22, A1 §13, R1 §5.5, A9 §2.3).
//!
//! **Preferences** (`GetAgentPrefs`, `SetAgentPrefs`): each agent's personal
//! auto-reply, handed to routing (at once, and when the account loads), and its two
//! message-notification options, read when a friend request is answered or a customer
//! adds the account (`crm.rs`). Stored in `agent_prefs`; an agent without a record has
//! the manual's defaults (`AgentPrefs::default`).
//!
//! **Reminders to 1001.** A notice for agent 1001 (the contact-limit warnings) is
//! pushed if 1001 is logged in and otherwise kept in the account's `reminders` record
//! (at most [`MAX_STORED_NOTICES`], oldest dropped first), then given at its next
//! sign-in, oldest first, and removed in the same turn's batch: the sign-in
//! notifications of A9. The expiry reminder (A1, §13) is not stored: it is due from
//! exactly 30 days before the account's expiry, by the turn's clock, and 1001 gets it
//! at every sign-in while due and, once per session, at the turn it becomes due while
//! 1001 is logged in (so the operator's test clock moving past the day reaches a 1001
//! already online). It states the expiry date (UTC) and the days left, rounded up.
//!
//! **Threshold** (`GetReminderSettings`, `SetReminderSettings`): the contact-limit
//! warning's "near" percentage, stored in the same `reminders` record and given to the
//! CRM's limits when the account loads and when it changes.

use super::dispatch::PrefsRequest;
use super::{err, storage, Answer, Centre, Recipient};
use crate::auth::SUPER_ADMIN_AGENT;
use crate::session::SessionId;
use crate::store::prefs_records::{
    AgentPrefsRecord, RemindersRecord, StoredNotice, MAX_STORED_NOTICES,
};
use crate::store::{keys, Cf, KvStore, StoredRecord};
use kefu_wire::prefs::{
    AgentPrefs, ReminderSettings, MAX_NEAR_LIMIT_PERCENT, MAX_PERSONAL_REPLY_CHARS,
    MIN_NEAR_LIMIT_PERCENT,
};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use std::collections::HashMap;

/// The expiry reminder is due from this long before the expiry (§13: 30 days).
pub(super) const EXPIRY_REMINDER_SECS: i64 = 30 * 86_400;

/// Most agents' preference records read when an account loads.
const MAX_PREFS_READ: usize = 100_000;

/// Every stored preference record of `account`, by agent (agents without one have the
/// defaults). Pure reads: runs where the account loads.
pub(super) fn read_agent_prefs(
    store: &dyn KvStore,
    account: u64,
) -> Result<HashMap<u32, AgentPrefs>, ErrorBody> {
    let range = keys::account_prefix(account);
    let mut out = HashMap::new();
    for (_, bytes) in store
        .scan(Cf::AgentPrefs, &range.start, &range.end, MAX_PREFS_READ)
        .map_err(storage)?
    {
        let r = AgentPrefsRecord::decode(&bytes).map_err(storage)?;
        out.insert(r.agent, r.prefs);
    }
    Ok(out)
}

/// The account's reminders record, or a fresh one.
pub(super) fn read_reminders(
    store: &dyn KvStore,
    account: u64,
) -> Result<RemindersRecord, ErrorBody> {
    match store
        .get(Cf::Reminders, &keys::reminders(account))
        .map_err(storage)?
    {
        Some(bytes) => RemindersRecord::decode(&bytes).map_err(storage),
        None => Ok(RemindersRecord::new(account)),
    }
}

/// `secs` (unix seconds) as a UTC calendar date, `YYYY-MM-DD`.
pub(super) fn utc_date(secs: i64) -> String {
    // Howard Hinnant's days-to-civil.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The expiry reminder's text, if it is due at `now` (both unix seconds).
pub(super) fn expiry_reminder(account: u64, expires_at: i64, now: i64) -> Option<String> {
    let left = expires_at.saturating_sub(now);
    (left <= EXPIRY_REMINDER_SECS).then(|| {
        // Days left, rounded up: 30 from the first second of the reminder.
        let days = left.max(0).saturating_add(86_399) / 86_400;
        let plural = if days == 1 { "" } else { "s" };
        format!(
            "account {account} expires on {} (UTC), in {days} day{plural}; renew to keep the service",
            utc_date(expires_at),
        )
    })
}

fn check_prefs(prefs: &AgentPrefs) -> Result<(), ErrorBody> {
    let text = &prefs.personal_auto_reply;
    let bad_char = text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t');
    if text.chars().count() > MAX_PERSONAL_REPLY_CHARS
        || bad_char
        || (!text.is_empty() && text.trim().is_empty())
    {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!(
                "a personal auto-reply is empty (none) or 1..={MAX_PERSONAL_REPLY_CHARS} characters, not only white space, no control characters but line breaks and tabs"
            ),
        ));
    }
    Ok(())
}

impl Centre {
    /// `GetAgentPrefs`, `SetAgentPrefs`, `GetReminderSettings`, `SetReminderSettings`.
    pub(super) fn prefs_request(&mut self, account: u64, me: u32, request: PrefsRequest) -> Answer {
        match request {
            PrefsRequest::GetAgentPrefs => Ok(Response::AgentPrefs(self.agent_prefs(account, me)?)),
            PrefsRequest::SetAgentPrefs { prefs } => {
                check_prefs(&prefs)?;
                let record = AgentPrefsRecord {
                    account,
                    agent: me,
                    prefs,
                };
                self.batch.put(
                    Cf::AgentPrefs,
                    &keys::agent_prefs(account, me),
                    record.encode(),
                );
                self.touched.push(account);
                let text = Some(record.prefs.personal_auto_reply.clone());
                self.prefs_mut(account)?.insert(me, record.prefs);
                self.route(account, |r, _, _| {
                    r.set_personal_auto_reply(me, text)
                        .map(|()| crate::routing::Outcome {
                            value: (),
                            effects: Vec::new(),
                        })
                })?;
                Ok(Response::Ok)
            }
            PrefsRequest::GetReminderSettings => {
                let r = self.reminders_mut(account)?;
                Ok(Response::ReminderSettings(ReminderSettings {
                    near_limit_percent: r.near_limit_percent,
                }))
            }
            PrefsRequest::SetReminderSettings { settings } => {
                let p = settings.near_limit_percent;
                if !(MIN_NEAR_LIMIT_PERCENT..=MAX_NEAR_LIMIT_PERCENT).contains(&p) {
                    return Err(err(
                        ErrorCode::INVALID_ARGUMENT,
                        format!(
                            "the contact-limit warning threshold is {MIN_NEAR_LIMIT_PERCENT}..={MAX_NEAR_LIMIT_PERCENT} percent"
                        ),
                    ));
                }
                self.reminders_mut(account)?.near_limit_percent = p;
                self.save_reminders(account);
                let now = self.now_secs();
                let warning = self.crm_set_near_percent(account, p, now)?;
                self.limit_warning(account, warning);
                Ok(Response::Ok)
            }
        }
    }

    /// Agent `agent`'s preferences (the defaults if it never set them).
    pub(super) fn agent_prefs(
        &mut self,
        account: u64,
        agent: u32,
    ) -> Result<AgentPrefs, ErrorBody> {
        Ok(self
            .prefs_mut(account)?
            .get(&agent)
            .cloned()
            .unwrap_or_default())
    }

    /// The account's stored preferences, read on first use.
    fn prefs_mut(&mut self, account: u64) -> Result<&mut HashMap<u32, AgentPrefs>, ErrorBody> {
        let shared = std::sync::Arc::clone(&self.shared);
        let actor = self.actor_mut(account)?;
        if actor.prefs.is_none() {
            actor.prefs = Some(read_agent_prefs(shared.store.as_ref(), account)?);
        }
        actor
            .prefs
            .as_mut()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "preferences vanished"))
    }

    fn reminders_mut(&mut self, account: u64) -> Result<&mut RemindersRecord, ErrorBody> {
        let shared = std::sync::Arc::clone(&self.shared);
        let actor = self.actor_mut(account)?;
        if actor.reminders.is_none() {
            actor.reminders = Some(read_reminders(shared.store.as_ref(), account)?);
        }
        actor
            .reminders
            .as_mut()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "reminders vanished"))
    }

    fn save_reminders(&mut self, account: u64) {
        let Some(r) = self.actors.get(&account).and_then(|a| a.reminders.as_ref()) else {
            return;
        };
        let bytes = r.encode();
        self.batch
            .put(Cf::Reminders, &keys::reminders(account), bytes);
        self.touched.push(account);
    }

    fn super_admin_session(&self, account: u64) -> Option<SessionId> {
        self.online
            .get(&account)?
            .get(&SUPER_ADMIN_AGENT)
            .map(|o| o.session)
    }

    /// A notice for agent 1001: pushed if it is logged in, otherwise kept for its next
    /// sign-in.
    pub(super) fn notice_for_super_admin(&mut self, account: u64, text: String) {
        if self.super_admin_session(account).is_some() {
            self.push(
                account,
                Recipient::Agent(SUPER_ADMIN_AGENT),
                Event::Notice { text },
            );
            return;
        }
        let at = self.now_secs();
        let Ok(r) = self.reminders_mut(account) else {
            return;
        };
        if r.pending.len() >= MAX_STORED_NOTICES {
            r.pending.remove(0);
        }
        r.pending.push(StoredNotice { at, text });
        self.save_reminders(account);
    }

    /// Agent 1001 signed in on `session` (A9): the notices kept for it, oldest first,
    /// then the expiry reminder if it is due.
    pub(super) fn super_admin_signed_in(&mut self, account: u64, session: SessionId) {
        let pending = match self.reminders_mut(account) {
            Ok(r) => std::mem::take(&mut r.pending),
            Err(_) => Vec::new(),
        };
        if !pending.is_empty() {
            self.save_reminders(account);
        }
        for n in pending {
            self.push(
                account,
                Recipient::Session(session),
                Event::Notice { text: n.text },
            );
        }
        self.expiry_reminded.remove(&account);
        self.remind_expiry(account, session);
    }

    /// The expiry reminder to 1001's `session`, once per session and expiry date.
    fn remind_expiry(&mut self, account: u64, session: SessionId) {
        let Some(expires_at) = self.actors.get(&account).map(|a| a.state.record.expires_at) else {
            return;
        };
        if self.expiry_reminded.get(&account) == Some(&(session, expires_at)) {
            return;
        }
        let Some(text) = expiry_reminder(account, expires_at, self.now_secs()) else {
            return;
        };
        self.expiry_reminded.insert(account, (session, expires_at));
        self.push(account, Recipient::Session(session), Event::Notice { text });
    }

    /// Each turn: a 1001 logged in when its account's expiry reminder becomes due is
    /// told at once (A1: the reminder follows the clock, not only sign-ins).
    pub(super) fn expiry_tick(&mut self) {
        let now = self.now_secs();
        let due: Vec<(u64, SessionId)> = self
            .online
            .iter()
            .filter_map(|(account, agents)| {
                let session = agents.get(&SUPER_ADMIN_AGENT)?.session;
                let expires_at = self.actors.get(account)?.state.record.expires_at;
                let reminded = self.expiry_reminded.get(account) == Some(&(session, expires_at));
                (!reminded && expires_at.saturating_sub(now) <= EXPIRY_REMINDER_SECS)
                    .then_some((*account, session))
            })
            .collect();
        for (account, session) in due {
            self.remind_expiry(account, session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_the_thirty_day_boundary() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(1_704_067_200), "2024-01-01");
        assert_eq!(utc_date(1_709_164_800), "2024-02-29");
        assert_eq!(utc_date(1_798_761_599), "2026-12-31");
        let exp = 1_704_067_200 + 40 * 86_400;
        assert_eq!(
            expiry_reminder(7, exp, exp - EXPIRY_REMINDER_SECS - 1),
            None
        );
        let text = expiry_reminder(7, exp, exp - EXPIRY_REMINDER_SECS).unwrap();
        assert!(
            text.contains("2024-02-10") && text.contains("in 30 days"),
            "{text}"
        );
        let text = expiry_reminder(7, exp, exp - EXPIRY_REMINDER_SECS + 1).unwrap();
        assert!(text.contains("in 30 days"), "{text}");
        assert!(expiry_reminder(7, exp, exp - 1)
            .unwrap()
            .contains("in 1 day;"));
    }
}
