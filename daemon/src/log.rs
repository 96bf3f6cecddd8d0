//! Logging to stderr, one line per event: UTC time, who, level, message.
//!
//! Deliberately tiny: an appliance's init system (journald, or the SysV
//! script's redirect) collects stderr. Secrets are never passed here.

use std::fmt::Arguments;
use std::io::Write;

use crate::clock::{Clock, SystemClock};

fn line(shard: usize, level: &str, args: Arguments<'_>) {
    // The real time, even when a test clock moves the domain's: logs are read beside
    // the machine's other logs.
    let now = u64::try_from(SystemClock.now_ms() / 1000).unwrap_or(0);
    let (y, mo, d, h, mi, s) = civil(now);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z kefud[{shard}] {level} {args}"
    );
}

/// Logs an error.
pub fn error(shard: usize, args: Arguments<'_>) {
    line(shard, "ERROR", args);
}

/// Logs a warning.
pub fn warn(shard: usize, args: Arguments<'_>) {
    line(shard, "WARN", args);
}

/// Logs information.
pub fn info(shard: usize, args: Arguments<'_>) {
    line(shard, "INFO", args);
}

/// Unix seconds → (year, month, day, hour, minute, second), proleptic Gregorian.
pub fn civil(unix: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (unix / 86_400) as i64;
    let rem = unix % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(super::civil(1_798_243_200), (2026, 12, 26, 0, 0, 0));
        assert_eq!(super::civil(951_782_400 + 3661), (2000, 2, 29, 1, 1, 1));
    }
}
