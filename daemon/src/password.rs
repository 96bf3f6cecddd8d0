//! Password hashing (PBKDF2-HMAC-SHA256 via ring) and the policy for new passwords.
//!
//! Hashing at [`OWASP_PBKDF2_ITERATIONS`] takes a few hundred milliseconds of CPU: call it
//! from the worker pool, never from a shard loop.

use std::num::NonZeroU32;

use ring::pbkdf2;
use ring::rand::SecureRandom;

use crate::store::records::PasswordHash;

/// Iteration count for new hashes: OWASP's recommendation for PBKDF2-HMAC-SHA256.
pub const OWASP_PBKDF2_ITERATIONS: u32 = 600_000;

/// Fewest characters (Unicode scalar values) in a new password.
pub const MIN_PASSWORD_CHARS: usize = 6;
/// Most characters (Unicode scalar values) in a new password.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Most bytes of a password presented at login; longer ones fail without being hashed.
/// No password that passes [`validate_new_password`] is longer (128 chars × 4 bytes).
pub const MAX_PASSWORD_BYTES: usize = MAX_PASSWORD_CHARS * 4;

/// The algorithm of record version 1 of [`PasswordHash`].
static ALGORITHM: pbkdf2::Algorithm = pbkdf2::PBKDF2_HMAC_SHA256;

/// Why a password could not be hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The iteration count was zero.
    #[error("PBKDF2 iteration count must not be zero")]
    ZeroIterations,
    /// The system random number generator failed; the salt could not be drawn.
    #[error("random number generator failed")]
    Rng,
}

/// Why a new password is not acceptable. The peer's fault: answer, don't close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordPolicyError {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    #[error("password must have at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    /// Only whitespace.
    #[error("password must not be only whitespace")]
    OnlyWhitespace,
}

/// Checks a password an agent wants to set: 6 to 128 characters, not only whitespace.
pub fn validate_new_password(password: &str) -> Result<(), PasswordPolicyError> {
    // Bound the counting work first; a longer string cannot have ≤ 128 characters.
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordPolicyError::TooLong);
    }
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(PasswordPolicyError::TooShort)
    } else if chars > MAX_PASSWORD_CHARS {
        Err(PasswordPolicyError::TooLong)
    } else if password.chars().all(char::is_whitespace) {
        Err(PasswordPolicyError::OnlyWhitespace)
    } else {
        Ok(())
    }
}

/// Hashes `password` with a fresh random 16-byte salt.
pub fn hash_password(
    password: &[u8],
    iterations: u32,
    rng: &dyn SecureRandom,
) -> Result<PasswordHash, HashError> {
    let rounds = NonZeroU32::new(iterations).ok_or(HashError::ZeroIterations)?;
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| HashError::Rng)?;
    let mut hash = [0u8; 32];
    pbkdf2::derive(ALGORITHM, rounds, &salt, password, &mut hash);
    Ok(PasswordHash {
        iterations,
        salt,
        hash,
    })
}

/// Whether `password` matches `stored`, compared in constant time by ring. False for a
/// zero iteration count or a password longer than [`MAX_PASSWORD_BYTES`].
pub fn verify_password(password: &[u8], stored: &PasswordHash) -> bool {
    let Some(rounds) = NonZeroU32::new(stored.iterations) else {
        return false;
    };
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    pbkdf2::verify(ALGORITHM, rounds, &stored.salt, password, &stored.hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// PBKDF2-HMAC-SHA256 test vectors: the well-known "password"/"salt" ones, and the
    /// first 32 bytes of RFC 7914 §11 ("passwd"/"salt", c = 1; PBKDF2 output blocks are
    /// independent, so a 32-byte prefix of a 64-byte output is the 32-byte output).
    #[test]
    fn pbkdf2_hmac_sha256_vectors() {
        let cases: [(&[u8], &[u8], u32, &str); 4] = [
            (
                b"password",
                b"salt",
                1,
                "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
            ),
            (
                b"password",
                b"salt",
                2,
                "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43",
            ),
            (
                b"password",
                b"salt",
                4096,
                "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
            ),
            (
                b"passwd",
                b"salt",
                1,
                "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc",
            ),
        ];
        for (password, salt, iterations, expected) in cases {
            let rounds = NonZeroU32::new(iterations).expect("non-zero");
            let mut out = [0u8; 32];
            pbkdf2::derive(ALGORITHM, rounds, salt, password, &mut out);
            assert_eq!(out.to_vec(), unhex(expected), "c = {iterations}");
            assert!(pbkdf2::verify(ALGORITHM, rounds, salt, password, &out).is_ok());
        }
    }

    #[test]
    fn hash_then_verify() {
        let rng = SystemRandom::new();
        let stored = hash_password(b"correct horse", 1000, &rng).expect("hash");
        assert_eq!(stored.iterations, 1000);
        assert!(verify_password(b"correct horse", &stored));
        assert!(!verify_password(b"correct horsf", &stored));
        assert!(!verify_password(b"", &stored));

        // Fresh salt every time.
        let again = hash_password(b"correct horse", 1000, &rng).expect("hash");
        assert_ne!(stored.salt, again.salt);
        assert_ne!(stored.hash, again.hash);
    }

    #[test]
    fn bad_parameters_fail_closed() {
        let rng = SystemRandom::new();
        assert_eq!(
            hash_password(b"secret", 0, &rng),
            Err(HashError::ZeroIterations)
        );
        let mut stored = hash_password(b"secret", 1, &rng).expect("hash");
        stored.iterations = 0;
        assert!(!verify_password(b"secret", &stored));
        let long = vec![b'a'; MAX_PASSWORD_BYTES + 1];
        let stored = hash_password(&long, 1, &rng).expect("hash");
        assert!(!verify_password(&long, &stored));
    }

    #[test]
    fn new_password_policy() {
        use PasswordPolicyError::*;
        let cases: [(String, Result<(), PasswordPolicyError>); 10] = [
            (String::new(), Err(TooShort)),
            ("abcde".into(), Err(TooShort)),
            ("abcdef".into(), Ok(())),
            ("密码密码密码".into(), Ok(())), // 6 chars, 18 bytes
            ("密码密码密".into(), Err(TooShort)),
            ("      ".into(), Err(OnlyWhitespace)),
            ("\t\n \u{3000}  ".into(), Err(OnlyWhitespace)),
            (" abc d ".into(), Ok(())),
            ("x".repeat(MAX_PASSWORD_CHARS), Ok(())),
            ("x".repeat(MAX_PASSWORD_CHARS + 1), Err(TooLong)),
        ];
        for (password, expected) in cases {
            assert_eq!(validate_new_password(&password), expected, "{password:?}");
        }
        assert_eq!(
            validate_new_password(&"密".repeat(MAX_PASSWORD_CHARS)),
            Ok(())
        );
        assert_eq!(
            validate_new_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(TooLong)
        );
    }
}
