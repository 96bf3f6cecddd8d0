//! RFC 4226 HOTP: HMAC of a counter, dynamic truncation, an N-digit decimal code.
//!
//! HMAC comes from ring: SHA-1 (`HMAC_SHA1_FOR_LEGACY_USE_ONLY`, which is what RFC 4226
//! and every hardware token use; HMAC-SHA1 is not affected by SHA-1's collision
//! weakness), SHA-256 and SHA-512 (RFC 6238 allows them). A [`Code`] is a fixed-size
//! value: parsing refuses anything but exactly N ASCII digits, and comparing two codes
//! takes the same time wherever they differ.

use ring::hmac;

/// The HMAC hash function of a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC-SHA1: RFC 4226 and nearly every hardware token.
    #[default]
    Sha1,
    /// HMAC-SHA256 (RFC 6238).
    Sha256,
    /// HMAC-SHA512 (RFC 6238).
    Sha512,
}

impl Algorithm {
    /// ring's HMAC algorithm for this hash.
    pub fn hmac_algorithm(self) -> hmac::Algorithm {
        match self {
            Algorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::Sha256 => hmac::HMAC_SHA256,
            Algorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }

    /// A short name, for messages and listings.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

/// Number of digits in a code: 6, 7 or 8 (RFC 4226 §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digits(u8);

impl Digits {
    /// Fewest digits allowed.
    pub const MIN: u32 = 6;
    /// Most digits allowed (a 31-bit value has 10, but RFC 4226 stops at 8).
    pub const MAX: u32 = 8;
    /// Six digits: the product's tokens.
    pub const SIX: Digits = Digits(6);
    /// Eight digits: RFC 6238's test vectors.
    pub const EIGHT: Digits = Digits(8);

    /// `n` digits, if `n` is within [`Digits::MIN`]..=[`Digits::MAX`].
    pub const fn new(n: u32) -> Option<Digits> {
        if n >= Self::MIN && n <= Self::MAX {
            Some(Digits(n as u8))
        } else {
            None
        }
    }

    /// The number of digits.
    pub const fn get(self) -> u32 {
        self.0 as u32
    }

    fn len(self) -> usize {
        usize::from(self.0)
    }

    fn modulus(self) -> u32 {
        10u32.pow(self.get())
    }
}

impl Default for Digits {
    fn default() -> Digits {
        Digits::SIX
    }
}

/// An N-digit code, as shown on a token or typed by a person. `Debug` hides the digits
/// (a code not yet used is a credential); [`Code::as_str`] shows them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Code {
    bytes: [u8; Digits::MAX as usize],
    digits: Digits,
}

impl Code {
    /// Parses exactly `digits` ASCII digits (leading zeros kept); `None` for anything
    /// else (spaces, signs, other lengths, non-ASCII digits).
    pub fn parse(text: &str, digits: Digits) -> Option<Code> {
        let input = text.as_bytes();
        if input.len() != digits.len() || !input.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut bytes = [b'0'; Digits::MAX as usize];
        for (dst, src) in bytes.iter_mut().zip(input) {
            *dst = *src;
        }
        Some(Code { bytes, digits })
    }

    /// The code for a truncated HOTP value: its last `digits` decimal digits.
    pub fn from_value(value: u32, digits: Digits) -> Code {
        let mut bytes = [b'0'; Digits::MAX as usize];
        let mut rest = value % digits.modulus();
        for dst in bytes.iter_mut().take(digits.len()).rev() {
            // `rest % 10` is below 10, so the cast cannot truncate.
            *dst = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        Code { bytes, digits }
    }

    /// The digits as text, e.g. `"094287"`.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored, so this is always valid UTF-8.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// Number of digits.
    pub fn digits(&self) -> Digits {
        self.digits
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.digits.len()).unwrap_or_default()
    }

    /// Equality in time independent of where the codes differ.
    pub fn ct_eq(&self, other: &Code) -> bool {
        super::ct_eq(self.as_bytes(), other.as_bytes())
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Code({} digits)", self.digits.get())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFC 4226 §5.3 dynamic truncation: the low 4 bits of the last byte pick an offset,
/// the 4 bytes there (top bit cleared) are the 31-bit value. Every HMAC used here is at
/// least 20 bytes; a shorter `mac` is read as if padded with zeros (never panics).
pub fn dynamic_truncate(mac: &[u8]) -> u32 {
    let offset = mac.last().map_or(0, |b| usize::from(b & 0x0f));
    let mut word = [0u8; 4];
    for (i, dst) in word.iter_mut().enumerate() {
        *dst = mac.get(offset + i).copied().unwrap_or(0);
    }
    u32::from_be_bytes(word) & 0x7fff_ffff
}

/// A token's HMAC key prepared once, to compute many codes (a window search).
pub struct HotpKey {
    key: hmac::Key,
    digits: Digits,
}

impl HotpKey {
    /// Prepares `secret` for `algorithm`, producing `digits`-digit codes.
    pub fn new(algorithm: Algorithm, secret: &[u8], digits: Digits) -> HotpKey {
        HotpKey {
            key: hmac::Key::new(algorithm.hmac_algorithm(), secret),
            digits,
        }
    }

    /// The code for `counter`.
    pub fn code(&self, counter: u64) -> Code {
        let mac = hmac::sign(&self.key, &counter.to_be_bytes());
        Code::from_value(dynamic_truncate(mac.as_ref()), self.digits)
    }

    /// Digits of this key's codes.
    pub fn digits(&self) -> Digits {
        self.digits
    }
}

impl std::fmt::Debug for HotpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HotpKey({} digits)", self.digits.get())
    }
}

/// HOTP(secret, counter) with `digits` digits (RFC 4226 §5.3).
pub fn hotp(algorithm: Algorithm, secret: &[u8], counter: u64, digits: Digits) -> Code {
    HotpKey::new(algorithm, secret, digits).code(counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC4226_SECRET: &[u8] = b"12345678901234567890";

    /// RFC 4226 Appendix D: (counter, HMAC-SHA1 hex, truncated decimal, HOTP).
    const APPENDIX_D: &[(u64, &str, u32, &str)] = &[
        (
            0,
            "cc93cf18508d94934c64b65d8ba7667fb7cde4b0",
            1284755224,
            "755224",
        ),
        (
            1,
            "75a48a19d4cbe100644e8ac1397eea747a2d33ab",
            1094287082,
            "287082",
        ),
        (
            2,
            "0bacb7fa082fef30782211938bc1c5e70416ff44",
            137359152,
            "359152",
        ),
        (
            3,
            "66c28227d03a2d5529262ff016a1e6ef76557ece",
            1726969429,
            "969429",
        ),
        (
            4,
            "a904c900a64b35909874b33e61c5938a8e15ed1c",
            1640338314,
            "338314",
        ),
        (
            5,
            "a37e783d7b7233c083d4f62926c7a25f238d0316",
            868254676,
            "254676",
        ),
        (
            6,
            "bc9cd28561042c83f219324d3c607256c03272ae",
            1918287922,
            "287922",
        ),
        (
            7,
            "a4fb960c0bc06e1eabb804e5b397cdc4b45596fa",
            82162583,
            "162583",
        ),
        (
            8,
            "1b3c89f65e6c9e883012052823443f048b4332db",
            673399871,
            "399871",
        ),
        (
            9,
            "1637409809a679dc698207310c8c7fc07290d9e5",
            645520489,
            "520489",
        ),
    ];

    #[test]
    fn rfc4226_appendix_d() {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, RFC4226_SECRET);
        for &(counter, mac_hex, truncated, code) in APPENDIX_D {
            let mac = hmac::sign(&key, &counter.to_be_bytes());
            let want_mac = crate::decode_hex(mac_hex).unwrap();
            assert_eq!(mac.as_ref(), &want_mac[..], "HMAC, counter {counter}");
            assert_eq!(
                dynamic_truncate(mac.as_ref()),
                truncated,
                "counter {counter}"
            );
            let got = hotp(Algorithm::Sha1, RFC4226_SECRET, counter, Digits::SIX);
            assert_eq!(got.as_str(), code, "counter {counter}");
        }
    }

    #[test]
    fn rfc4226_section_5_4_truncation_example() {
        let mac = crate::decode_hex("1f8698690e02ca16618550ef7f19da8e945b555a").unwrap();
        assert_eq!(dynamic_truncate(&mac), 0x50ef7f19);
        assert_eq!(Code::from_value(0x50ef7f19, Digits::SIX).as_str(), "872921");
    }

    #[test]
    fn truncation_never_panics_on_short_input() {
        assert_eq!(dynamic_truncate(&[]), 0);
        assert_eq!(dynamic_truncate(&[0x0f]), 0);
        assert_eq!(dynamic_truncate(&[0xff, 0xff, 0xff, 0x00]), 0x7fff_ff00);
    }

    #[test]
    fn code_formatting_keeps_leading_zeros() {
        let cases: &[(u32, u32, &str)] = &[
            (0, 6, "000000"),
            (42, 6, "000042"),
            (1_284_755_224, 6, "755224"),
            (1_284_755_224, 7, "4755224"),
            (1_284_755_224, 8, "84755224"),
            (u32::MAX, 8, "94967295"),
        ];
        for &(value, digits, want) in cases {
            let code = Code::from_value(value, Digits::new(digits).unwrap());
            assert_eq!(code.as_str(), want);
            assert_eq!(code.to_string(), want);
        }
    }

    #[test]
    fn code_parsing() {
        let six = Digits::SIX;
        let cases: &[(&str, bool)] = &[
            ("123456", true),
            ("000000", true),
            ("12345", false),
            ("1234567", false),
            ("12345a", false),
            (" 23456", false),
            ("+23456", false),
            ("-23456", false),
            ("１２３４５６", false), // full-width digits
            ("", false),
        ];
        for (text, ok) in cases {
            let parsed = Code::parse(text, six);
            assert_eq!(parsed.is_some(), *ok, "{text:?}");
            if let Some(code) = parsed {
                assert_eq!(code.as_str(), *text);
            }
        }
        assert_eq!(
            Code::parse("12345678", Digits::EIGHT).unwrap().as_str(),
            "12345678"
        );
    }

    #[test]
    fn digits_range() {
        for (n, ok) in [
            (0, false),
            (5, false),
            (6, true),
            (7, true),
            (8, true),
            (9, false),
        ] {
            assert_eq!(Digits::new(n).is_some(), ok, "{n}");
        }
        assert_eq!(Digits::default(), Digits::SIX);
    }

    #[test]
    fn comparison_and_debug() {
        let a = Code::parse("123456", Digits::SIX).unwrap();
        let b = Code::from_value(123_456, Digits::SIX);
        let c = Code::parse("123457", Digits::SIX).unwrap();
        assert!(a.ct_eq(&b));
        assert!(!a.ct_eq(&c));
        let eight = Code::from_value(123_456, Digits::EIGHT);
        assert!(!a.ct_eq(&eight), "different lengths never match");
        assert_eq!(format!("{a:?}"), "Code(6 digits)");
    }
}
