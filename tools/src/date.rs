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

    /// The date as the protocol names a report day.
    pub fn to_wire(self) -> kefu_wire::reports::Date {
        kefu_wire::reports::Date {
            year: u16::try_from(self.year).unwrap_or(u16::MAX),
            month: u8::try_from(self.month).unwrap_or(0),
            day: u8::try_from(self.day).unwrap_or(0),
        }
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

/// Seconds since the unix epoch, now, on this machine's clock (kefuctl is not the
/// daemon: a test clock moved in kefud does not move this one).
#[allow(clippy::disallowed_methods)]
pub fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Milliseconds since the unix epoch, now, on this machine's clock.
#[allow(clippy::disallowed_methods)]
pub fn now_unix_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
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

/// Always `YYYY-MM-DDTHH:MM:SS.mmmZ`, for times in milliseconds.
pub fn format_unix_ms(ms: i64) -> String {
    let full = format_unix_full(ms.div_euclid(1000));
    let stem = full.strip_suffix('Z').unwrap_or(&full);
    format!("{stem}.{:03}Z", ms.rem_euclid(1000))
}

/// Parses an RFC 3339 time, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` (`t`
/// or a space for `T`, `z` for `Z`), into unix milliseconds; digits past the
/// millisecond are dropped.
pub fn parse_rfc3339_ms(s: &str) -> Result<i64, String> {
    let bad = || format!("expected an RFC 3339 time like 2027-01-31T08:00:00Z, got {s:?}");
    let date: Date = s.get(..10).ok_or_else(bad)?.parse()?;
    let rest = s.get(10..).ok_or_else(bad)?;
    let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(bad)?;
    let two = |t: &str, at: usize, max: i64| -> Result<i64, String> {
        let part = t.get(at..at + 2).ok_or_else(bad)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let n: i64 = part.parse().map_err(|_| bad())?;
        if n > max {
            return Err(bad());
        }
        Ok(n)
    };
    if rest.get(2..3) != Some(":") || rest.get(5..6) != Some(":") {
        return Err(bad());
    }
    // A leap second (:60) is read as the next second, like most clocks do.
    let (h, mi, sec) = (two(rest, 0, 23)?, two(rest, 3, 59)?, two(rest, 6, 60)?);
    let mut rest = rest.get(8..).ok_or_else(bad)?;
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        for (i, c) in fraction.bytes().take(3).take(digits).enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1].get(i).copied().unwrap_or(0);
        }
        rest = fraction.get(digits..).ok_or_else(bad)?;
    }
    let offset_secs = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.get(..1) {
                Some("+") => 1,
                Some("-") => -1,
                _ => return Err(bad()),
            };
            if rest.len() != 6 || rest.get(3..4) != Some(":") {
                return Err(bad());
            }
            sign * (two(rest, 1, 23)? * 3600 + two(rest, 4, 59)? * 60)
        }
    };
    let secs = date.unix_midnight() + h * 3600 + mi * 60 + sec - offset_secs;
    Ok(secs * 1000 + millis)
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
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
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
    fn parses_rfc3339_times() {
        let cases: &[(&str, Option<i64>)] = &[
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2026-12-26T00:00:00Z", Some(1_798_243_200_000)),
            ("2026-12-26t00:00:00.5z", Some(1_798_243_200_500)),
            ("2026-12-26 00:00:00.123456Z", Some(1_798_243_200_123)),
            ("2026-12-26T08:00:00+08:00", Some(1_798_243_200_000)),
            ("2026-12-25T19:30:00-04:30", Some(1_798_243_200_000)),
            ("2026-12-26", None),
            ("2026-12-26T00:00:00", None),
            ("2026-12-26T24:00:00Z", None),
            ("2026-12-26T00:60:00Z", None),
            ("2026-12-26T00:00:00.Z", None),
            ("2026-12-26T00:00:00+0800", None),
            ("2026-12-26T00:00:00+24:00", None),
            ("2026-12-26T0:00:00Z", None),
            ("2026-02-30T00:00:00Z", None),
            ("2026-12-26T00:00:00Z ", None),
            ("2026-12-26T00:00:00ZZ", None),
            ("2026-12-26T+0:00:00Z", None),
            ("", None),
            ("上海2026-12-26T00:00:00Z", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_rfc3339_ms(input).ok(), *want, "{input}");
        }
        assert_eq!(
            format_unix_ms(1_798_243_200_123),
            "2026-12-26T00:00:00.123Z"
        );
        assert_eq!(format_unix_ms(-1), "1969-12-31T23:59:59.999Z");
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
