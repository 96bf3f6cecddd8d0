//! RFC 6238 TOTP: HOTP whose counter is the number of whole time steps since T0.
//!
//! The product's tokens use a 60-second step and 6 digits (manual §12.1); T0 is always
//! the Unix epoch. Time comes in as Unix seconds from the caller, never from a clock
//! read here, so everything is testable at any instant.

use std::num::NonZeroU32;

use super::hotp::{Algorithm, Code, Digits, HotpKey};

/// The product's step: a code lasts one minute (manual §12.1).
pub const DEFAULT_STEP_SECS: NonZeroU32 = match NonZeroU32::new(60) {
    Some(step) => step,
    None => unreachable!(),
};

/// The product's code length.
pub const DEFAULT_DIGITS: Digits = Digits::SIX;

/// The step number at `unix_secs`: `floor((unix_secs - T0) / step)` with T0 = 0.
pub fn step_at(unix_secs: u64, step_secs: NonZeroU32) -> u64 {
    unix_secs / u64::from(step_secs.get())
}

/// A token's TOTP generator: its HMAC key, digits and step.
#[derive(Debug)]
pub struct Totp {
    hotp: HotpKey,
    step_secs: NonZeroU32,
}

impl Totp {
    /// A generator for `secret`.
    pub fn new(algorithm: Algorithm, secret: &[u8], digits: Digits, step_secs: NonZeroU32) -> Totp {
        Totp {
            hotp: HotpKey::new(algorithm, secret, digits),
            step_secs,
        }
    }

    /// The step number at `unix_secs`.
    pub fn step_at(&self, unix_secs: u64) -> u64 {
        step_at(unix_secs, self.step_secs)
    }

    /// The code of step number `step`.
    pub fn code_for_step(&self, step: u64) -> Code {
        self.hotp.code(step)
    }

    /// The code shown at `unix_secs` by a token whose clock is exact.
    pub fn code_at(&self, unix_secs: u64) -> Code {
        self.code_for_step(self.step_at(unix_secs))
    }

    /// Digits of the codes.
    pub fn digits(&self) -> Digits {
        self.hotp.digits()
    }

    /// Seconds per step.
    pub fn step_secs(&self) -> NonZeroU32 {
        self.step_secs
    }
}

/// TOTP(secret, unix_secs) in one call.
pub fn totp(
    algorithm: Algorithm,
    secret: &[u8],
    unix_secs: u64,
    digits: Digits,
    step_secs: NonZeroU32,
) -> Code {
    Totp::new(algorithm, secret, digits, step_secs).code_at(unix_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_SHA1: &[u8] = b"12345678901234567890";
    const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
    const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 6238 Appendix B, all 18 rows: (time, T as in the table, code, mode).
    const APPENDIX_B: &[(u64, u64, &str, Algorithm)] = &[
        (59, 0x1, "94287082", Algorithm::Sha1),
        (59, 0x1, "46119246", Algorithm::Sha256),
        (59, 0x1, "90693936", Algorithm::Sha512),
        (1111111109, 0x23523EC, "07081804", Algorithm::Sha1),
        (1111111109, 0x23523EC, "68084774", Algorithm::Sha256),
        (1111111109, 0x23523EC, "25091201", Algorithm::Sha512),
        (1111111111, 0x23523ED, "14050471", Algorithm::Sha1),
        (1111111111, 0x23523ED, "67062674", Algorithm::Sha256),
        (1111111111, 0x23523ED, "99943326", Algorithm::Sha512),
        (1234567890, 0x273EF07, "89005924", Algorithm::Sha1),
        (1234567890, 0x273EF07, "91819424", Algorithm::Sha256),
        (1234567890, 0x273EF07, "93441116", Algorithm::Sha512),
        (2000000000, 0x3F940AA, "69279037", Algorithm::Sha1),
        (2000000000, 0x3F940AA, "90698825", Algorithm::Sha256),
        (2000000000, 0x3F940AA, "38618901", Algorithm::Sha512),
        (20000000000, 0x27BC86AA, "65353130", Algorithm::Sha1),
        (20000000000, 0x27BC86AA, "77737706", Algorithm::Sha256),
        (20000000000, 0x27BC86AA, "47863826", Algorithm::Sha512),
    ];

    fn seed(algorithm: Algorithm) -> &'static [u8] {
        match algorithm {
            Algorithm::Sha1 => SEED_SHA1,
            Algorithm::Sha256 => SEED_SHA256,
            Algorithm::Sha512 => SEED_SHA512,
        }
    }

    #[test]
    fn rfc6238_appendix_b() {
        let thirty = NonZeroU32::new(30).unwrap();
        for &(time, step, want, algorithm) in APPENDIX_B {
            assert_eq!(step_at(time, thirty), step, "T at {time}");
            let got = totp(algorithm, seed(algorithm), time, Digits::EIGHT, thirty);
            assert_eq!(got.as_str(), want, "{} at {time}", algorithm.name());
        }
    }

    #[test]
    fn product_defaults_are_60_seconds_and_6_digits() {
        assert_eq!(DEFAULT_STEP_SECS.get(), 60);
        assert_eq!(DEFAULT_DIGITS.get(), 6);
        let t = Totp::new(
            Algorithm::Sha1,
            SEED_SHA1,
            DEFAULT_DIGITS,
            DEFAULT_STEP_SECS,
        );
        // A 60 s step is RFC 4226's counter = floor(t / 60): Appendix D's codes
        // reappear at the start, middle and end of each minute.
        let appendix_d = ["755224", "287082", "359152", "969429", "338314"];
        for (counter, want) in appendix_d.iter().enumerate() {
            let start = counter as u64 * 60;
            for t_secs in [start, start + 30, start + 59] {
                assert_eq!(t.code_at(t_secs).as_str(), *want, "at {t_secs}");
            }
        }
        assert_eq!(t.step_at(59), 0);
        assert_eq!(t.step_at(60), 1);
        assert_eq!(t.digits(), Digits::SIX);
        assert_eq!(t.step_secs().get(), 60);
    }

    #[test]
    fn far_future_and_step_edges() {
        let one = NonZeroU32::new(1).unwrap();
        assert_eq!(step_at(u64::MAX, one), u64::MAX);
        assert_eq!(step_at(u64::MAX, DEFAULT_STEP_SECS), u64::MAX / 60);
        let t = Totp::new(Algorithm::Sha1, SEED_SHA1, Digits::SIX, one);
        assert_eq!(t.code_at(u64::MAX).as_str().len(), 6);
    }
}
