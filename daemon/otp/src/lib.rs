//! OTP hardware tokens (manual §12, features A7/A8): codes, the token state machine, seed import and secrets at rest.
//!
//! # What the feature is
//!
//! An agent may be protected by a hardware token (营销 QQ 令牌) that shows a 6-digit code
//! which changes every 60 seconds: TOTP (RFC 6238) over HOTP (RFC 4226), HMAC-SHA1,
//! T0 = 0. The operator imports the tokens' seeds from the vendor's seed file (RFC 6030
//! PSKC XML, or a simple `serial,secret` CSV); an administrator binds a token to an agent
//! with the token's serial and the code it currently shows, and may unbind it (a lost
//! token is unbound and locked, §12.5). Because a token's clock drifts, anyone holding
//! the token can calibrate it with the serial, the current code and the next code
//! (§12.8): the server searches a wide window for that pair and remembers the offset
//! ("drift") in steps. After that a small window (±1 step) around the drift is accepted.
//! Each code is accepted at most once, failures are counted and the token locks after a
//! configured number of them until an administrator unlocks it.
//!
//! # How the pieces fit
//!
//! - [`hotp`]: HMAC + dynamic truncation → an N-digit [`hotp::Code`]; the only place a
//!   code is computed or compared (in constant time).
//! - [`totp`]: wall-clock seconds → step number (60 s by default) → HOTP.
//! - [`token`]: [`token::TokenState`] and its operations, pure functions of
//!   `(state, input, now) → (new state, result)`. No I/O, no clock, no randomness.
//! - [`pskc`], [`seed_csv`]: parse a seed file into [`ImportedSeed`]s, all or nothing.
//! - [`sealed`]: AES-256-GCM sealing of a seed for storage, bound to its serial.
//!
//! The flow: `pskc::import` / `seed_csv::parse` → `sealed::seal` each secret → store;
//! on use, load → `sealed::open` → [`token::TokenState`] → operation → persist the new
//! state → answer.
//!
//! **Boundary**: this module knows nothing about the protocol, storage, permissions or
//! security levels; the caller decides who may bind, unbind or unlock and when a code is
//! asked for (A8). **Invariant**: plaintext secrets live only in memory, inside
//! [`Secret`], which is wiped on drop and never printed.

pub mod hotp;
pub mod pskc;
pub mod sealed;
pub mod seed_csv;
pub mod token;
pub mod totp;

use std::num::NonZeroU32;

use zeroize::Zeroizing;

/// Shortest accepted token secret, in bytes (RFC 4226 R6: at least 128 bits).
pub const MIN_SECRET_LEN: usize = 16;
/// Longest accepted token secret, in bytes (RFC 6238's SHA-512 test secret is 64).
pub const MAX_SECRET_LEN: usize = 64;
/// Longest accepted token serial, in bytes.
pub const MAX_SERIAL_LEN: usize = 64;

/// Secret key material: wiped from memory on drop; `Debug` shows only its length.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Takes ownership of `bytes` (they are wiped when the `Secret` is dropped).
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(Zeroizing::new(bytes))
    }

    /// The plaintext bytes. Keep the borrow short; never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for Secret {
    fn from(bytes: Vec<u8>) -> Secret {
        Secret::new(bytes)
    }
}

impl PartialEq for Secret {
    /// Constant time for equal lengths (lengths are not secret).
    fn eq(&self, other: &Secret) -> bool {
        ct_eq(self.expose(), other.expose())
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.len())
    }
}

/// One token seed read from a seed file, ready to be sealed and stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedSeed {
    /// The token's serial number, as printed on it (validated by [`check_serial`]).
    pub serial: String,
    /// The shared secret, [`MIN_SECRET_LEN`]..=[`MAX_SECRET_LEN`] bytes.
    pub secret: Secret,
    /// The HMAC hash function.
    pub algorithm: hotp::Algorithm,
    /// Digits in a code.
    pub digits: hotp::Digits,
    /// Seconds per TOTP step.
    pub step_secs: NonZeroU32,
}

/// Size limits for one seed file; files beyond them are refused before any work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest accepted file, in bytes.
    pub max_file_bytes: usize,
    /// Most tokens in one file.
    pub max_keys: usize,
}

impl Default for ImportLimits {
    /// 16 MiB and 100,000 tokens.
    fn default() -> ImportLimits {
        ImportLimits {
            max_file_bytes: 16 * 1024 * 1024,
            max_keys: 100_000,
        }
    }
}

/// Checks a token serial: 1..=[`MAX_SERIAL_LEN`] printable ASCII characters, no spaces.
/// On refusal, says why.
pub fn check_serial(serial: &str) -> Result<(), &'static str> {
    if serial.is_empty() {
        return Err("empty serial");
    }
    if serial.len() > MAX_SERIAL_LEN {
        return Err("serial longer than 64 characters");
    }
    if !serial.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("serial must be printable ASCII without spaces");
    }
    Ok(())
}

/// Checks a secret's length against [`MIN_SECRET_LEN`] and [`MAX_SECRET_LEN`].
pub fn check_secret_len(len: usize) -> Result<(), &'static str> {
    if len < MIN_SECRET_LEN {
        Err("secret shorter than 16 bytes (128 bits, RFC 4226)")
    } else if len > MAX_SECRET_LEN {
        Err("secret longer than 64 bytes")
    } else {
        Ok(())
    }
}

/// Decodes hexadecimal (either case, no prefix, no spaces); `None` if malformed or of
/// odd length.
pub fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 2 == 1 {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(hex_value(*hi)? << 4 | hex_value(*lo)?),
            _ => None,
        })
        .collect()
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decoding() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("", Some(&[])),
            ("00ff", Some(&[0x00, 0xff])),
            ("DEADbeef", Some(&[0xde, 0xad, 0xbe, 0xef])),
            ("abc", None),
            ("zz", None),
            ("0x00", None),
            ("00 11", None),
            ("é0", None),
        ];
        for (text, want) in cases {
            assert_eq!(decode_hex(text).as_deref(), *want, "{text:?}");
        }
    }

    #[test]
    fn serial_rules() {
        let long = "x".repeat(65);
        let cases: &[(&str, bool)] = &[
            ("987654321", true),
            ("TK-0001/a", true),
            ("", false),
            ("has space", false),
            ("tab\t", false),
            ("序列号", false),
            (&long, false),
        ];
        for (serial, ok) in cases {
            assert_eq!(check_serial(serial).is_ok(), *ok, "{serial:?}");
        }
        assert!(check_serial(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn secret_lengths() {
        for (len, ok) in [
            (0, false),
            (15, false),
            (16, true),
            (20, true),
            (64, true),
            (65, false),
        ] {
            assert_eq!(check_secret_len(len).is_ok(), ok, "{len}");
        }
    }

    #[test]
    fn secret_debug_hides_bytes_and_eq_compares() {
        let s = Secret::new(b"12345678901234567890".to_vec());
        assert_eq!(format!("{s:?}"), "Secret(20 bytes)");
        assert_eq!(s, Secret::new(b"12345678901234567890".to_vec()));
        assert_ne!(s, Secret::new(b"12345678901234567891".to_vec()));
        assert_ne!(s, Secret::new(b"1234567890123456789".to_vec()));
    }

    #[test]
    fn constant_time_eq() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"123456", b"123456"));
        assert!(!ct_eq(b"123456", b"123457"));
        assert!(!ct_eq(b"123456", b"1234567"));
    }
}
