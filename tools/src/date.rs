//! Calendar dates and UTC timestamps, without a date crate: the proleptic
//! Gregorian calendar is all `kefuctl` needs (days-from-civil arithmetic).

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: i64 = 86_400;

/// A calendar date, `YYYY-MM-DD`, years 1970..=9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    year: i64,
    month: u32,
    day: u32,
}

impl Date {
    /// 00:00:00 UTC on this date, in unix seconds.
    pub fn unix_midnight(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * SECS_PER_DAY
    }
}

impl FromStr for Date {
    type Err = String;

    fn from_str(s: &str) -> Result<Date, String> {
        let bad = || format!("expected a date as YYYY-MM-DD, got {s:?}");
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let digits = |r: std::ops::Range<usize>| -> Result<u32, String> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        if year < 1970 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        if day < 1 || day > days_in_month(i64::from(year), month) {
            return Err(format!("{s:?} is not a day of the calendar"));
        }
        Ok(Date {
            year: i64::from(year),
            month,
            day,
        })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Seconds since the unix epoch, now.
pub fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A unix timestamp for people: `YYYY-MM-DD` when it falls on midnight UTC,
/// else `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_unix(secs: i64) -> String {
    let days = secs.div_euclid(SECS_PER_DAY);
    let in_day = secs.rem_euclid(SECS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    if in_day == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        let (h, min, s) = (in_day / 3600, in_day / 60 % 60, in_day % 60);
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z")
    }
}

/// Always the full `YYYY-MM-DDTHH:MM:SSZ` form.
pub fn format_unix_full(secs: i64) -> String {
    let s = format_unix(secs);
    if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number since 1970-01-01 (inverse of the above).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_converts_dates() {
        let cases: &[(&str, Option<i64>)] = &[
            ("1970-01-01", Some(0)),
            ("2000-02-29", Some(951_782_400)),
            ("2024-12-31", Some(1_735_603_200)),
            ("2026-03-01", Some(1_772_323_200)),
            ("2100-02-29", None),
            ("2023-02-29", None),
            ("2024-04-31", None),
            ("2024-13-01", None),
            ("2024-00-10", None),
            ("2024-01-00", None),
            ("1969-12-31", None),
            ("2024-1-01", None),
            ("2024/01/01", None),
            ("+024-01-01", None),
            ("2024-01-01 ", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = input.parse::<Date>().ok().map(Date::unix_midnight);
            assert_eq!(got, *want, "{input}");
        }
    }

    #[test]
    fn formats_timestamps() {
        assert_eq!(format_unix(0), "1970-01-01");
        assert_eq!(format_unix(1_735_603_200), "2024-12-31");
        assert_eq!(format_unix(1_735_603_200 + 3661), "2024-12-31T01:01:01Z");
        assert_eq!(format_unix(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_unix_full(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn civil_round_trips() {
        for days in (-800_000..3_000_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
        }
    }
}
