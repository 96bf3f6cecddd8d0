//! Reports and their export files (features S3, manual §7.19; `wire/PROTOCOL.md`
//! sections 34 and 36): the daily work report's rows, the report kinds an export names,
//! and the chunks an export is streamed in.
//!
//! **Days.** A report day is a calendar day of the account's local time (its UTC offset,
//! routing settings) on the appliance's clock. [`Date`] names one; [`Date::day_number`]
//! and [`Date::from_day_number`] convert to and from days since 1970-01-01.
//!
//! **Exports.** `ExportReport { report, format, otp }` is answered with chunk 0 of the
//! file; chunk `i` (`1..total`) is fetched with `ExportChunk { export, index: i }`. Every
//! chunk but the last holds exactly [`EXPORT_CHUNK_BYTES`]; the last is marked `last`.
//! The client concatenates the chunks in index order.

// Decodes peer input: no panicking shortcuts (style rule 5); tests may use them.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use serde::{Deserialize, Serialize};

/// Longest range of one daily-work-report query or export, days (both ends included).
/// The manual names no limit for §7.19; Kefu uses the CSAT report's 180 days (§10.1.2).
pub const MAX_REPORT_DAYS: u32 = 180;
/// Bytes of every export chunk but the last.
pub const EXPORT_CHUNK_BYTES: usize = 64 * 1024;
/// Largest export file, bytes; a larger one is refused `INVALID_ARGUMENT` (narrow it).
pub const MAX_EXPORT_BYTES: usize = 64 * 1024 * 1024;

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    /// Year (1970..=9999).
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of the month, 1..=31 (as the month has).
    pub day: u8,
}

impl Date {
    /// Days since 1970-01-01; `None` for a date that does not exist or is before 1970.
    pub fn day_number(self) -> Option<u32> {
        let (y, m, d) = (
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 {
            return None;
        }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_days = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if d > month_days {
            return None;
        }
        // Howard Hinnant's days-from-civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        u32::try_from(era * 146_097 + doe - 719_468).ok()
    }

    /// The date `days` after 1970-01-01.
    pub fn from_day_number(days: u32) -> Date {
        // Howard Hinnant's civil-from-days.
        let z = i64::from(days) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Date {
            year: u16::try_from(y).unwrap_or(u16::MAX),
            month: u8::try_from(m).unwrap_or(1),
            day: u8::try_from(d).unwrap_or(1),
        }
    }

    /// The local day (days since 1970-01-01) of the instant `unix_ms` at a UTC offset of
    /// `offset_secs`; 0 before 1970.
    pub fn day_of(unix_ms: i64, offset_secs: i32) -> u32 {
        let local = unix_ms
            .div_euclid(1000)
            .saturating_add(i64::from(offset_secs));
        u32::try_from(local.div_euclid(86_400)).unwrap_or(0)
    }
}

/// One agent's day in the daily work report (工作日报, §7.19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkReportRow {
    /// The day.
    pub date: Date,
    /// The agent (工号).
    pub agent: u32,
    /// Conversations the agent served that day (会话量): each conversation given to it
    /// (accepted, routed, transferred to it, grabbed) counts once a day.
    pub conversations: u64,
    /// Different customers it had conversations with that day (独立 QQ 数).
    pub customers: u64,
}

/// A report an export names, with its parameters. Variants are only appended; adding a
/// report is a variant here and one function building its table in the daemon
/// (`daemon/src/centre/exports.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReportKind {
    /// The daily work report (permission 9, data analysis), as `GetWorkReport`.
    WorkReport {
        /// First day.
        from: Date,
        /// Last day (included).
        to: Date,
        /// Only this agent; `None`: every agent.
        agent: Option<u32>,
    },
    /// A survey's per-option counts and ratios (permission 10, value-added).
    SurveyResults {
        /// The survey.
        survey: u64,
    },
    /// A survey's answers one row per contact (permission 10, value-added).
    SurveyAnswers {
        /// The survey.
        survey: u64,
    },
    /// The CSAT report per agent (permission 9), as `CsatReport` without detail: at most
    /// 180 days, default the last 7 in the account's time zone.
    Csat {
        /// First day; `None`: six days before `to`.
        from: Option<crate::csat::CsatDay>,
        /// Last day, included; `None`: today.
        to: Option<crate::csat::CsatDay>,
    },
    /// Every CSAT rating of the range, one row each (permission 9; the detail export of
    /// S2), same range rules as `Csat`.
    CsatDetail {
        /// First day; `None`: six days before `to`.
        from: Option<crate::csat::CsatDay>,
        /// Last day, included; `None`: today.
        to: Option<crate::csat::CsatDay>,
    },
    /// Visits and unique visitors per day (permission 9), as `GetVisitTrend`.
    VisitTrend {
        /// First day, days since 1970-01-01 UTC.
        from_day: u32,
        /// Last day, included.
        until_day: u32,
    },
    /// Site analytics (permission 9), as `GetSiteAnalytics`: one row per day, then the
    /// referring domains and the regions.
    SiteAnalytics {
        /// First day, days since 1970-01-01 UTC.
        from_day: u32,
        /// Last day, included.
        until_day: u32,
    },
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportFormat {
    /// CSV: UTF-8 with a byte-order mark, CRLF, RFC 4180.
    Csv,
    /// An Excel workbook (.xlsx) of one worksheet.
    Xlsx,
}

/// One chunk of an export file (`ExportReport`, `ExportChunk`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportChunk {
    /// The export's number, for `ExportChunk`.
    pub export: u64,
    /// This chunk's index, from 0.
    pub index: u32,
    /// How many chunks the file has (at least 1).
    pub total: u32,
    /// The file's size, bytes.
    pub size: u64,
    /// The bytes: `EXPORT_CHUNK_BYTES`, fewer in the last chunk.
    pub data: Vec<u8>,
    /// This is the last chunk (`index + 1 == total`).
    pub last: bool,
}

#[cfg(test)]
mod tests {
    use super::Date;

    #[test]
    fn day_numbers_round_trip() {
        let epoch = Date {
            year: 1970,
            month: 1,
            day: 1,
        };
        assert_eq!(epoch.day_number(), Some(0));
        let leap = Date {
            year: 2024,
            month: 2,
            day: 29,
        };
        let n = leap.day_number().unwrap();
        assert_eq!(Date::from_day_number(n), leap);
        for n in [0, 59, 365, 10_957, 20_000, 20_819] {
            assert_eq!(Date::from_day_number(n).day_number(), Some(n));
        }
        assert_eq!(
            Date {
                year: 2023,
                month: 2,
                day: 29
            }
            .day_number(),
            None
        );
        assert_eq!(
            Date {
                year: 2023,
                month: 13,
                day: 1
            }
            .day_number(),
            None
        );
        assert_eq!(
            Date {
                year: 1969,
                month: 12,
                day: 31
            }
            .day_number(),
            None
        );
        assert_eq!(Date::day_of(86_400_000 - 1, 0), 0);
        assert_eq!(Date::day_of(86_400_000 - 1, 1), 1);
        assert_eq!(Date::day_of(0, -60), 0);
    }
}
