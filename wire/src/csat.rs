//! Customer satisfaction (CSAT, 满意度调查; manual §10.1, features S1–S2;
//! `wire/PROTOCOL.md` section 37): the account's survey settings, the survey a customer
//! is sent when a *valid* conversation closes, its answer, and the report.
//!
//! **Options.** Every style offers five options, numbered 1 (worst) to 5 (best); the
//! styles differ only in how the options are shown ([`CsatStyle::labels`]). The manual's
//! supplementary reason survey (补充调查) appears for "the last three options (e.g. 中,
//! 差, 很差)": options 1, 2 and 3 here ([`REASON_OPTIONS_MAX`]).
//!
//! **Days.** A rating belongs to the account-day (the account's UTC offset, as the
//! contact limits' daily counters use) of the moment it is given; days travel as
//! [`CsatDay`], days since 1970-01-01 in that offset.

use serde::{Deserialize, Serialize};

/// Options of every style (1 = worst … 5 = best).
pub const OPTIONS: u8 = 5;
/// The reason survey is offered for options `1..=REASON_OPTIONS_MAX` (the lowest three).
pub const REASON_OPTIONS_MAX: u8 = 3;
/// Most preset reasons an account may set.
pub const MAX_REASONS: usize = 10;
/// Longest preset reason, characters.
pub const MAX_REASON_CHARS: usize = 50;
/// Longest free text a customer may add to its reasons, characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Most addresses the weekly report is mailed to.
pub const MAX_SUBSCRIBERS: usize = 10;
/// Longest subscriber address, characters (RFC 5321's path limit).
pub const MAX_ADDRESS_CHARS: usize = 254;
/// Longest report range, days, both ends included (§10.1.2: 180 days).
pub const MAX_RANGE_DAYS: u32 = 180;
/// The default report range, days, ending today (§10.1.2: the last 7 days).
pub const DEFAULT_RANGE_DAYS: u32 = 7;
/// Most detail rows in one page of a report.
pub const MAX_DETAIL_PAGE: usize = 500;
/// A valid conversation has more than this many messages (customer and agent ones).
pub const VALID_MIN_MESSAGES_EXCLUSIVE: u32 = 10;
/// A valid conversation closes at most this long after the customer's last message, ms
/// (30:00 exactly is still valid; 30:00.001 is not).
pub const VALID_CLOSE_WITHIN_MS: i64 = 30 * 60_000;
/// How long after its close a survey may be answered, ms (24 hours).
pub const ANSWER_WITHIN_MS: i64 = 24 * 3_600_000;

/// A day: days since 1970-01-01 in the account's UTC offset.
pub type CsatDay = i32;

/// How the survey is shown (§10.1.1: three styles to choose from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CsatStyle {
    /// Words: 很满意, 满意, 一般, 不满意, 很不满意.
    Words,
    /// Stars: ★★★★★ … ★.
    Stars,
    /// Faces: 😄 🙂 😐 🙁 😠.
    Faces,
}

impl CsatStyle {
    /// The labels of options 1..=5 (index 0 is option 1, the worst).
    pub fn labels(self) -> [&'static str; 5] {
        match self {
            CsatStyle::Words => ["很不满意", "不满意", "一般", "满意", "很满意"],
            CsatStyle::Stars => ["★", "★★", "★★★", "★★★★", "★★★★★"],
            CsatStyle::Faces => ["😠", "🙁", "😐", "🙂", "😄"],
        }
    }
}

/// An account's CSAT settings (`GetCsatSettings`, `SetCsatSettings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatSettings {
    /// Surveys are sent on close of a valid conversation.
    pub enabled: bool,
    /// How they are shown.
    pub style: CsatStyle,
    /// The reason survey is offered for the lowest three options.
    pub reasons_enabled: bool,
    /// The preset reasons, 1..=50 characters each, at most 10.
    pub reasons: Vec<String>,
    /// Addresses the weekly report is mailed to on Mondays, at most 10.
    pub subscribers: Vec<String>,
}

impl Default for CsatSettings {
    fn default() -> Self {
        CsatSettings {
            enabled: false,
            style: CsatStyle::Words,
            reasons_enabled: false,
            reasons: Vec::new(),
            subscribers: Vec::new(),
        }
    }
}

/// The survey pushed to the customer when a valid conversation closes
/// (`Event::CsatSurvey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatSurvey {
    /// The conversation rated.
    pub conversation: u64,
    /// The style.
    pub style: CsatStyle,
    /// The labels of options 1..=5.
    pub labels: Vec<String>,
    /// The preset reasons offered for options 1..=3 (empty: no reason survey).
    pub reasons: Vec<String>,
}

/// One rating in a report's detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatRating {
    /// The day it counts for.
    pub day: CsatDay,
    /// When it was given, unix ms.
    pub at: i64,
    /// The customer.
    pub customer: crate::chat::CustomerId,
    /// The agent rated.
    pub agent: u32,
    /// The conversation rated.
    pub conversation: u64,
    /// The option, 1..=5.
    pub rating: u8,
    /// The preset reasons chosen (their text when given).
    pub reasons: Vec<String>,
    /// The customer's own words.
    pub text: String,
}

/// One agent's line of a report: ratings per option over the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatAgentLine {
    /// The agent.
    pub agent: u32,
    /// Ratings of options 1..=5 (index 0 is option 1).
    pub counts: [u64; 5],
}

impl CsatAgentLine {
    /// All its ratings.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Satisfied share: ratings of options 4 and 5 over all, `None` without ratings.
    pub fn satisfaction(&self) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let good = self.counts[3] + self.counts[4];
        #[allow(clippy::cast_precision_loss)]
        Some(good as f64 / total as f64)
    }
}

/// What `CsatReport` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatQuery {
    /// First day; `None`: six days before `to` (the last 7 days).
    pub from: Option<CsatDay>,
    /// Last day, included; `None`: today.
    pub to: Option<CsatDay>,
    /// Include the detail (one page of ratings).
    pub detail: bool,
    /// The detail page starts after this cursor (from the previous page's `next`).
    pub after: Option<Vec<u8>>,
}

/// A CSAT report (`Response::CsatReport`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatReportPage {
    /// First day.
    pub from: CsatDay,
    /// Last day, included.
    pub to: CsatDay,
    /// Per agent, by agent number, the agents with ratings in the range.
    pub lines: Vec<CsatAgentLine>,
    /// One page of ratings, by day, agent, customer (empty unless asked).
    pub detail: Vec<CsatRating>,
    /// Cursor of the next detail page; `None` on the last.
    pub next: Option<Vec<u8>>,
}

/// The calendar date `(year, month, day)` of a [`CsatDay`] (proleptic Gregorian).
pub fn civil(day: CsatDay) -> (i32, u8, u8) {
    // Howard Hinnant's days_from_civil inverse.
    let z = i64::from(day) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        i32::try_from(y).unwrap_or(i32::MAX),
        u8::try_from(m).unwrap_or(1),
        u8::try_from(d).unwrap_or(1),
    )
}

/// The [`CsatDay`] of a calendar date.
pub fn day_of(year: i32, month: u8, day: u8) -> CsatDay {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i32::try_from(era * 146_097 + doe - 719_468).unwrap_or(i32::MAX)
}

/// Weekday of a [`CsatDay`]: 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
pub fn weekday(day: CsatDay) -> u8 {
    u8::try_from((i64::from(day) + 3).rem_euclid(7)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(weekday(0), 3);
        assert_eq!(day_of(2026, 12, 7), 20_794);
        assert_eq!(weekday(day_of(2026, 12, 7)), 0);
        for d in -1000..30_000 {
            let (y, m, dd) = civil(d);
            assert_eq!(day_of(y, m, dd), d);
        }
    }

    #[test]
    fn satisfaction_counts_the_top_two() {
        let l = CsatAgentLine {
            agent: 1,
            counts: [1, 0, 1, 1, 1],
        };
        assert_eq!(l.satisfaction(), Some(0.5));
    }
}
