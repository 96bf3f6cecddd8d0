//! The simple seed file: one `serial,secret` line per token, the secret in hex or base32.
//!
//! Rules:
//! - UTF-8 (a leading byte-order mark is skipped); lines end in `\n` or `\r\n`.
//! - Blank lines and lines starting with `#` are skipped.
//! - The first other line may be a header: its first field is `serial`, `serialno`,
//!   `serial_no` or `sn` (any case).
//! - Every other line is exactly two fields separated by a comma; spaces around a field
//!   and one pair of surrounding double quotes are removed.
//! - The secret is hex when every character is a hex digit, base32 (RFC 4648, any case,
//!   with or without `=` padding, trailing bits zero) otherwise. A base32 secret made
//!   only of the letters A–F and digits 2–7 would be read as hex; the chance of that
//!   for a real 160-bit seed is about 10^-14.
//! - Tokens get the product's parameters: HMAC-SHA1, 6 digits, 60-second steps.
//! - All or nothing: any bad line, a repeated serial, a file over the size limit, too
//!   many tokens or no token at all fails the whole file, and the error names the line.

// Decodes peer or file input: no panicking shortcuts (style rule 5); tests may use them.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use std::collections::HashMap;

use thiserror::Error;

use super::hotp::Algorithm;
use super::{check_secret_len, check_serial, totp, ImportLimits, ImportedSeed, Secret};

/// Why a CSV seed file was refused. `line` is 1-based; `None` for the file as a whole.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{}: {kind}", match .line { Some(n) => format!("line {n}"), None => "file".to_owned() })]
pub struct CsvError {
    /// The offending line, if one.
    pub line: Option<usize>,
    /// What is wrong.
    pub kind: CsvErrorKind,
}

/// What is wrong with a CSV seed file.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsvErrorKind {
    /// Larger than the limit.
    #[error("file is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// The file's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// More tokens than the limit.
    #[error("more than {max} tokens in one file")]
    TooManyKeys {
        /// The limit.
        max: usize,
    },
    /// Not UTF-8 text.
    #[error("not UTF-8 text")]
    NotUtf8,
    /// Not `serial,secret`.
    #[error("expected 2 comma-separated fields (serial,secret), found {0}")]
    FieldCount(usize),
    /// The serial is unusable.
    #[error("bad serial: {0}")]
    BadSerial(&'static str),
    /// The secret is unusable.
    #[error("bad secret: {0}")]
    BadSecret(&'static str),
    /// The serial appeared before.
    #[error("serial {serial:?} already on line {first_line}")]
    DuplicateSerial {
        /// The serial.
        serial: String,
        /// Where it first appeared.
        first_line: usize,
    },
    /// No token lines at all.
    #[error("no tokens in file")]
    Empty,
}

const HEADER_NAMES: [&str; 4] = ["serial", "serialno", "serial_no", "sn"];

/// Parses a CSV seed file with the default [`ImportLimits`].
pub fn parse(input: &[u8]) -> Result<Vec<ImportedSeed>, CsvError> {
    parse_with_limits(input, &ImportLimits::default())
}

/// Parses a CSV seed file; all tokens or an error.
pub fn parse_with_limits(
    input: &[u8],
    limits: &ImportLimits,
) -> Result<Vec<ImportedSeed>, CsvError> {
    let whole = |kind| CsvError { line: None, kind };
    if input.len() > limits.max_file_bytes {
        return Err(whole(CsvErrorKind::TooLarge {
            size: input.len(),
            max: limits.max_file_bytes,
        }));
    }
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| {
        let valid = input.get(..e.valid_up_to()).unwrap_or_default();
        CsvError {
            line: Some(1 + valid.iter().filter(|&&b| b == b'\n').count()),
            kind: CsvErrorKind::NotUtf8,
        }
    })?;

    let mut seeds = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut first_data_line = true;
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let at = |kind| CsvError {
            line: Some(line),
            kind,
        };
        let content = raw.strip_suffix('\r').unwrap_or(raw).trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = content.split(',').map(field).collect();
        let is_header = first_data_line
            && fields
                .first()
                .is_some_and(|f| HEADER_NAMES.iter().any(|h| f.eq_ignore_ascii_case(h)));
        first_data_line = false;
        if is_header {
            continue;
        }
        let [serial, secret] = fields[..] else {
            return Err(at(CsvErrorKind::FieldCount(fields.len())));
        };
        check_serial(serial).map_err(|why| at(CsvErrorKind::BadSerial(why)))?;
        let secret = decode_secret(secret).map_err(|why| at(CsvErrorKind::BadSecret(why)))?;
        check_secret_len(secret.len()).map_err(|why| at(CsvErrorKind::BadSecret(why)))?;
        if let Some(&first_line) = seen.get(serial) {
            return Err(at(CsvErrorKind::DuplicateSerial {
                serial: serial.to_owned(),
                first_line,
            }));
        }
        if seeds.len() >= limits.max_keys {
            return Err(at(CsvErrorKind::TooManyKeys {
                max: limits.max_keys,
            }));
        }
        seen.insert(serial.to_owned(), line);
        seeds.push(ImportedSeed {
            serial: serial.to_owned(),
            secret,
            algorithm: Algorithm::Sha1,
            digits: totp::DEFAULT_DIGITS,
            step_secs: totp::DEFAULT_STEP_SECS,
        });
    }
    if seeds.is_empty() {
        return Err(whole(CsvErrorKind::Empty));
    }
    Ok(seeds)
}

/// A field without surrounding spaces and one pair of surrounding double quotes.
fn field(raw: &str) -> &str {
    let trimmed = raw.trim();
    trimmed
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .map_or(trimmed, str::trim)
}

/// Decodes a secret written in hex (every character a hex digit) or base32.
pub fn decode_secret(text: &str) -> Result<Secret, &'static str> {
    if text.is_empty() {
        return Err("empty secret");
    }
    if text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return super::decode_hex(text)
            .map(Secret::new)
            .ok_or("odd number of hex digits");
    }
    decode_base32(text)
        .map(Secret::new)
        .ok_or("neither hex nor valid base32 (RFC 4648)")
}

/// Decodes RFC 4648 base32: letters in either case, digits 2–7, optional correct `=`
/// padding, unused trailing bits zero. `None` if malformed.
pub fn decode_base32(text: &str) -> Option<Vec<u8>> {
    let body = text.trim_end_matches('=');
    let padding = text.len() - body.len();
    // Characters in the last group of 8 → padding it needs.
    let needed = match body.len() % 8 {
        0 => 0,
        2 => 6,
        4 => 4,
        5 => 3,
        7 => 1,
        _ => return None,
    };
    if padding != 0 && padding != needed {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for c in body.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    if buffer != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_20: &[u8] = b"12345678901234567890";
    const SECRET_HEX: &str = "3132333435363738393031323334353637383930";
    const SECRET_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc4648_base32_vectors() {
        // RFC 4648 §10, with and without padding, upper and lower case.
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(
                decode_base32(encoded).unwrap(),
                plain.as_bytes(),
                "{encoded}"
            );
            let bare = encoded.trim_end_matches('=');
            assert_eq!(decode_base32(bare).unwrap(), plain.as_bytes(), "{bare}");
            let lower = encoded.to_ascii_lowercase();
            assert_eq!(decode_base32(&lower).unwrap(), plain.as_bytes(), "{lower}");
        }
    }

    #[test]
    fn base32_malformed() {
        let cases = [
            "MZXW6YQ",   // 7 chars need 1 '='; fine bare, but:
            "MZXW6YQ==", // wrong padding
            "MY=====",   // padding short
            "M",         // impossible length
            "MZX",       // impossible length
            "MZXW6Y",    // impossible length
            "MZ======",  // trailing bits not zero ("MY" is canonical)
            "MY==MY==",  // padding inside
            "MZXW1YTB",  // 1 is not base32
            "MZXW 6YTB", // space
            "MZXW6YTBÉ", // non-ASCII
        ];
        assert!(decode_base32(cases[0]).is_some());
        for bad in &cases[1..] {
            assert_eq!(decode_base32(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn secret_encodings() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            (SECRET_HEX, Some(SECRET_20)),
            (
                &"3132333435363738393031323334353637383930".to_ascii_uppercase(),
                Some(SECRET_20),
            ),
            (SECRET_B32, Some(SECRET_20)),
            ("gezdgnbvgy3tqojqgezdgnbvgy3tqojq", Some(SECRET_20)),
            ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", Some(SECRET_20)),
            ("313", None),
            ("", None),
            ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1", None),
            ("0x3132", None),
        ];
        for (text, want) in cases {
            let got = decode_secret(text).ok();
            assert_eq!(got.as_ref().map(Secret::expose), *want, "{text:?}");
        }
    }

    fn serials(seeds: &[ImportedSeed]) -> Vec<&str> {
        seeds.iter().map(|s| s.serial.as_str()).collect()
    }

    #[test]
    fn hex_and_base32_lines_with_header_comments_and_crlf() {
        let file = format!(
            "\u{feff}Serial,Secret\r\n# vendor batch 7\r\n\r\nTK0001,{SECRET_HEX}\r\n  TK0002 , {} \r\n\"TK0003\",\"{SECRET_B32}\"\r\nTK0004,{}\n",
            SECRET_B32.to_ascii_lowercase(),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBV",
        );
        let seeds = parse(file.as_bytes()).unwrap();
        assert_eq!(serials(&seeds), ["TK0001", "TK0002", "TK0003", "TK0004"]);
        for seed in &seeds[..3] {
            assert_eq!(seed.secret.expose(), SECRET_20);
            assert_eq!(seed.algorithm, Algorithm::Sha1);
            assert_eq!(seed.digits.get(), 6);
            assert_eq!(seed.step_secs.get(), 60);
        }
        assert_eq!(seeds[3].secret.expose(), b"1234567890123456789012345");
    }

    #[test]
    fn without_header() {
        let seeds = parse(format!("A1,{SECRET_HEX}\nA2,{SECRET_B32}").as_bytes()).unwrap();
        assert_eq!(serials(&seeds), ["A1", "A2"]);
    }

    #[test]
    fn bad_lines_fail_the_whole_file_naming_the_line() {
        let good = format!("TK0001,{SECRET_HEX}\n");
        let cases: Vec<(String, Option<usize>, CsvErrorKind)> = vec![
            (
                format!("{good}TK0002\n"),
                Some(2),
                CsvErrorKind::FieldCount(1),
            ),
            (
                format!("{good}TK0002,{SECRET_HEX},x\n"),
                Some(2),
                CsvErrorKind::FieldCount(3),
            ),
            (
                format!("serial,secret\n{good}\n# c\nTK 3,{SECRET_HEX}\n"),
                Some(5),
                CsvErrorKind::BadSerial("serial must be printable ASCII without spaces"),
            ),
            (
                format!("{good},{SECRET_HEX}\n"),
                Some(2),
                CsvErrorKind::BadSerial("empty serial"),
            ),
            (
                format!("{good}TK0002,zz!\n"),
                Some(2),
                CsvErrorKind::BadSecret("neither hex nor valid base32 (RFC 4648)"),
            ),
            (
                format!("{good}TK0002,313\n"),
                Some(2),
                CsvErrorKind::BadSecret("odd number of hex digits"),
            ),
            (
                format!("{good}TK0002,31323334\n"),
                Some(2),
                CsvErrorKind::BadSecret("secret shorter than 16 bytes (128 bits, RFC 4226)"),
            ),
            (
                format!("{good}TK0002,{}\n", "31".repeat(65)),
                Some(2),
                CsvErrorKind::BadSecret("secret longer than 64 bytes"),
            ),
            (
                format!("{good}TK0002,\n"),
                Some(2),
                CsvErrorKind::BadSecret("empty secret"),
            ),
            (
                format!("{good}{good}"),
                Some(2),
                CsvErrorKind::DuplicateSerial {
                    serial: "TK0001".into(),
                    first_line: 1,
                },
            ),
            (
                // A header is only recognised on the first line.
                format!("{good}serial,secret\n"),
                Some(2),
                CsvErrorKind::BadSecret("neither hex nor valid base32 (RFC 4648)"),
            ),
            (
                "\n# nothing\nserial,secret\n".into(),
                None,
                CsvErrorKind::Empty,
            ),
            (String::new(), None, CsvErrorKind::Empty),
        ];
        for (file, line, kind) in cases {
            let err = parse(file.as_bytes()).unwrap_err();
            assert_eq!(err, CsvError { line, kind }, "{file:?}");
        }
    }

    #[test]
    fn not_utf8_names_the_line() {
        let mut file = format!("TK0001,{SECRET_HEX}\nTK0002,").into_bytes();
        file.extend_from_slice(b"\xff\xfe\n");
        let err = parse(&file).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert_eq!(err.kind, CsvErrorKind::NotUtf8);
        assert_eq!(err.to_string(), "line 2: not UTF-8 text");
    }

    #[test]
    fn limits() {
        let limits = ImportLimits {
            max_file_bytes: 100,
            max_keys: 2,
        };
        let big = vec![b'#'; 101];
        assert_eq!(
            parse_with_limits(&big, &limits).unwrap_err().to_string(),
            "file: file is 101 bytes, more than the limit of 100"
        );
        let three = "A,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nB,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nC,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let limits = ImportLimits {
            max_file_bytes: 1000,
            max_keys: 2,
        };
        let err = parse_with_limits(three.as_bytes(), &limits).unwrap_err();
        assert_eq!(err.to_string(), "line 3: more than 2 tokens in one file");
    }

    #[test]
    fn sample_file_imports() {
        let sample = include_bytes!("../../tests/data/pskc/seeds.csv");
        let seeds = parse(sample).unwrap();
        assert_eq!(serials(&seeds), ["KF-100001", "KF-100002", "KF-100003"]);
        assert!(seeds.iter().all(|s| s.secret.len() == 20));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: every prefix of a mixed file, and byte soup.
        let file = format!("serial,secret\nTK1,{SECRET_HEX}\n\"TK2\",{SECRET_B32}==\r\nx,é,\"\n");
        for end in 0..=file.len() {
            let _ = parse(file.as_bytes().get(..end).unwrap());
        }
        let mut state = 0x1234_5678u32;
        for _ in 0..2000 {
            let bytes: Vec<u8> = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let alphabet = b"A,2=7\"\n\r#f0 \xff";
                    alphabet[state as usize % alphabet.len()]
                })
                .collect();
            let _ = parse(&bytes);
        }
    }
}
