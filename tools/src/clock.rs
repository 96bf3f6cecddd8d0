//! `kefuctl clock show|set|advance`: the daemon's clock, and on a test appliance
//! (`[test] clock_control = true`) moving it forward (wire/PROTOCOL.md section 19).

use crate::admin::{unexpected, Admin};
use crate::cli::ClockCommand;
use crate::date;
use crate::output::Obj;
use anyhow::Result;
use kefu_wire::{Request, Response};
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

/// Runs `kefuctl clock ...`.
pub fn run(socket: &Path, cmd: &ClockCommand, out: &mut dyn Write) -> Result<()> {
    let (request, json) = match cmd {
        ClockCommand::Show(args) => (Request::AdminClockShow, args.json),
        ClockCommand::Set(args) => (
            Request::AdminClockSet {
                unix_ms: args.time.0,
            },
            args.json,
        ),
        ClockCommand::Advance(args) => (Request::AdminClockAdvance { ms: args.by.0 }, args.json),
    };
    let mut admin = Admin::connect(socket)?;
    let (unix_ms, test_mode) = match admin.request(&request)? {
        Response::Clock { unix_ms, test_mode } => (unix_ms, test_mode),
        other => return Err(unexpected(request.name(), &other)),
    };
    if json {
        let json = Obj::new()
            .num("unix_ms", unix_ms)
            .str("time", &date::format_unix_ms(unix_ms))
            .bool("test_mode", test_mode)
            .finish();
        writeln!(out, "{json}")?;
    } else {
        writeln!(out, "time:      {}", date::format_unix_ms(unix_ms))?;
        writeln!(out, "unix_ms:   {unix_ms}")?;
        writeln!(
            out,
            "test mode: {}",
            if test_mode {
                "on (the operator may move this clock forward)"
            } else {
                "off (the real clock)"
            }
        )?;
    }
    Ok(())
}

/// A time given on the command line: RFC 3339, a date (midnight UTC), or unix
/// milliseconds; as unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeArg(pub i64);

impl FromStr for TimeArg {
    type Err = String;

    fn from_str(s: &str) -> Result<TimeArg, String> {
        if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
            return s
                .parse()
                .map(TimeArg)
                .map_err(|_| format!("{s} is too large for unix milliseconds"));
        }
        if s.len() == 10 {
            let day: date::Date = s.parse()?;
            return Ok(TimeArg(day.unix_midnight() * 1000));
        }
        date::parse_rfc3339_ms(s).map(TimeArg)
    }
}

/// A length of time given on the command line: numbers with units, largest
/// first or not (`31d`, `2h30m`, `90s`, `1500ms`, `1w`); as milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationArg(pub i64);

impl FromStr for DurationArg {
    type Err = String;

    fn from_str(s: &str) -> Result<DurationArg, String> {
        let bad = || {
            format!(
                "expected a duration such as 31d, 2h30m, 90s or 1500ms \
                 (units w, d, h, m, s, ms), got {s:?}"
            )
        };
        let too_long = || format!("{s} is too long a duration");
        let mut rest = s;
        let mut total: i64 = 0;
        if rest.is_empty() {
            return Err(bad());
        }
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let number: i64 = rest
                .get(..digits)
                .filter(|d| !d.is_empty())
                .ok_or_else(bad)?
                .parse()
                .map_err(|_| too_long())?;
            rest = rest.get(digits..).ok_or_else(bad)?;
            let units = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit_ms: i64 = match rest.get(..units).ok_or_else(bad)? {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 604_800_000,
                _ => return Err(bad()),
            };
            rest = rest.get(units..).ok_or_else(bad)?;
            total = number
                .checked_mul(unit_ms)
                .and_then(|ms| total.checked_add(ms))
                .ok_or_else(too_long)?;
        }
        Ok(DurationArg(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        let cases: &[(&str, Option<i64>)] = &[
            ("31d", Some(31 * 86_400_000)),
            ("2h", Some(7_200_000)),
            ("90s", Some(90_000)),
            ("1500ms", Some(1_500)),
            ("2h30m", Some(9_000_000)),
            ("30m2h", Some(9_000_000)),
            ("1w1d", Some(8 * 86_400_000)),
            ("0s", Some(0)),
            ("", None),
            ("31", None),
            ("d", None),
            ("-1d", None),
            ("1.5h", None),
            ("1 d", None),
            ("1y", None),
            ("1D", None),
            ("99999999999999999999d", None),
            ("9999999999999d", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                input.parse::<DurationArg>().ok().map(|d| d.0),
                *want,
                "{input}"
            );
        }
    }

    #[test]
    fn times_parse() {
        let cases: &[(&str, Option<i64>)] = &[
            ("1798243200000", Some(1_798_243_200_000)),
            ("2026-12-26", Some(1_798_243_200_000)),
            ("2026-12-26T08:00:00+08:00", Some(1_798_243_200_000)),
            ("2026-12-26T00:00:00.250Z", Some(1_798_243_200_250)),
            ("-5", None),
            ("99999999999999999999", None),
            ("2026-13-01", None),
            ("yesterday", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<TimeArg>().ok().map(|t| t.0), *want, "{input}");
        }
    }
}
