//! The operator's test clock (`AdminClockShow`, `AdminClockSet`, `AdminClockAdvance`;
//! wire/PROTOCOL.md section 19): showing the daemon's time, and moving it forward when
//! `[test] clock_control` made the shared clock a [`TestClock`](crate::clock::TestClock).
//!
//! The clock is shared by every shard, so a move needs no message between shards: the
//! next request anywhere reads the new time.

use super::dispatch::ClockRequest;
use super::{err, Answer, Centre};
use crate::clock::{Clock, MoveError};
use crate::log;
use kefu_wire::{ErrorCode, Response};

impl Centre {
    /// Answers one of the three clock requests (the operator's alone, see `auth.rs`).
    pub(super) fn clock_admin(&mut self, request: ClockRequest) -> Answer {
        let clock = &self.shared.clock;
        let Some(test) = clock.test_clock() else {
            let name = match request {
                ClockRequest::AdminClockShow => {
                    return Ok(Response::Clock {
                        unix_ms: clock.now_ms(),
                        test_mode: false,
                    })
                }
                ClockRequest::AdminClockSet { .. } => "AdminClockSet",
                ClockRequest::AdminClockAdvance { .. } => "AdminClockAdvance",
            };
            return Err(err(
                ErrorCode::CLOCK_CONTROL_DISABLED,
                format!(
                    "{name} refused: this daemon runs on the real clock \
                     (set [test] clock_control = true in kefud.toml on a test appliance)"
                ),
            ));
        };
        let moved = match request {
            ClockRequest::AdminClockShow => {
                return Ok(Response::Clock {
                    unix_ms: test.now_ms(),
                    test_mode: true,
                })
            }
            ClockRequest::AdminClockSet { unix_ms } => test.set(unix_ms),
            ClockRequest::AdminClockAdvance { ms } => test.advance(ms),
        };
        match moved {
            Ok(unix_ms) => {
                log::warn(
                    self.id,
                    format_args!(
                        "TEST CLOCK moved to {} ({} ms ahead of the real clock) by the operator",
                        format_ms(unix_ms),
                        test.offset_ms()
                    ),
                );
                Ok(Response::Clock {
                    unix_ms,
                    test_mode: true,
                })
            }
            Err(MoveError::Backwards { now_ms, asked_ms }) => Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!(
                    "the test clock only moves forward: it shows {}, {} is earlier \
                     (restart kefud to go back to the real time)",
                    format_ms(now_ms),
                    format_ms(asked_ms)
                ),
            )),
            Err(e @ MoveError::TooLate) => Err(err(ErrorCode::INVALID_ARGUMENT, e.to_string())),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for the log.
fn format_ms(unix_ms: i64) -> String {
    let secs = u64::try_from(unix_ms.div_euclid(1000)).unwrap_or(0);
    let (y, mo, d, h, mi, s) = log::civil(secs);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        unix_ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_times_are_utc_with_milliseconds() {
        assert_eq!(super::format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            super::format_ms(1_798_243_200_123),
            "2026-12-26T00:00:00.123Z"
        );
        assert_eq!(
            super::format_ms(crate::clock::MAX_TEST_CLOCK_MS),
            "9999-12-31T23:59:59.999Z"
        );
    }
}
