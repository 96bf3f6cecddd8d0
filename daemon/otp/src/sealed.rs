//! Token secrets at rest: AES-256-GCM with a key from the config, bound to the token's serial.
//!
//! Format of a sealed secret: `version (1 byte, = 1) | nonce (12 bytes) | ciphertext |
//! tag (16 bytes)`. The nonce is random for every seal (96 bits from the injected RNG;
//! with far fewer than 2^32 seals per key the chance of a repeat is negligible). The
//! associated data is the serial, so a sealed secret copied onto another token's record
//! does not open. Opening checks the tag before anything is returned; every way a
//! sealed value can be wrong (wrong key, wrong serial, altered or cut bytes) gives
//! [`SealError::Rejected`] or a length/version error, never a wrong secret.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::SecureRandom;
use thiserror::Error;
use zeroize::Zeroizing;

use super::Secret;

/// The format version written by [`seal`].
pub const VERSION: u8 = 1;
/// Length of the sealing key, in bytes.
pub const KEY_LEN: usize = 32;
/// Bytes a sealed secret has beyond the secret itself.
pub const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

const TAG_LEN: usize = 16;

/// Why sealing or opening failed.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The configured key is not 64 hex digits (32 bytes). Configuration's fault.
    #[error("sealing key must be 64 hexadecimal digits (32 bytes)")]
    InvalidKey,
    /// The system RNG failed to give a nonce. Internal.
    #[error("random number generator failed")]
    Random,
    /// Encryption failed (the secret is absurdly long). Internal.
    #[error("sealing failed")]
    SealFailed,
    /// Too short to be a sealed secret. Storage's fault.
    #[error("sealed secret truncated")]
    Truncated,
    /// Written by a format this build does not know. Storage's fault.
    #[error("sealed secret has unknown format version {0}")]
    UnknownVersion(u8),
    /// Authentication failed: wrong key, wrong serial, or altered bytes. Storage's fault
    /// (or a key mismatch in the configuration).
    #[error("sealed secret does not open with this key and serial")]
    Rejected,
}

/// The key that seals token secrets, expanded for AES-256-GCM. `Debug` hides it.
#[derive(Clone)]
pub struct SealingKey(LessSafeKey);

impl SealingKey {
    /// A key from its bytes; refused unless there are exactly [`KEY_LEN`] of them.
    pub fn from_bytes(bytes: &[u8]) -> Result<SealingKey, SealError> {
        if bytes.len() != KEY_LEN {
            return Err(SealError::InvalidKey);
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::InvalidKey)?;
        Ok(SealingKey(LessSafeKey::new(key)))
    }

    /// A key from the config's 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<SealingKey, SealError> {
        let bytes = Zeroizing::new(super::decode_hex(text.trim()).ok_or(SealError::InvalidKey)?);
        SealingKey::from_bytes(&bytes)
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

/// Seals `secret` of the token `serial` with a fresh random nonce from `rng`.
pub fn seal(
    key: &SealingKey,
    serial: &str,
    secret: &[u8],
    rng: &dyn SecureRandom,
) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill(&mut nonce).map_err(|_| SealError::Random)?;
    seal_with_nonce(key, serial, secret, nonce)
}

/// [`seal`] with a given nonce; the nonce must never repeat under one key.
fn seal_with_nonce(
    key: &SealingKey,
    serial: &str,
    secret: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, SealError> {
    let mut out = Vec::with_capacity(OVERHEAD + secret.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    let mut body = Zeroizing::new(secret.to_vec());
    key.0
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(serial.as_bytes()),
            &mut *body,
        )
        .map_err(|_| SealError::SealFailed)?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Opens a value made by [`seal`] for the same `serial` under the same key.
pub fn open(key: &SealingKey, serial: &str, sealed: &[u8]) -> Result<Secret, SealError> {
    let (&version, rest) = sealed.split_first().ok_or(SealError::Truncated)?;
    if version != VERSION {
        return Err(SealError::UnknownVersion(version));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Truncated);
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Truncated)?;
    let mut buf = Zeroizing::new(body.to_vec());
    let plain = key
        .0
        .open_in_place(nonce, Aad::from(serial.as_bytes()), &mut buf)
        .map_err(|_| SealError::Rejected)?;
    Ok(Secret::new(plain.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const SECRET: &[u8] = b"12345678901234567890";

    fn key() -> SealingKey {
        SealingKey::from_hex(KEY_HEX).unwrap()
    }

    #[test]
    fn round_trip() {
        let rng = SystemRandom::new();
        for secret in [SECRET, &[0u8; 64][..], &b""[..]] {
            let sealed = seal(&key(), "TK0001", secret, &rng).unwrap();
            assert_eq!(sealed.len(), OVERHEAD + secret.len());
            assert_eq!(sealed.first(), Some(&VERSION));
            let opened = open(&key(), "TK0001", &sealed).unwrap();
            assert_eq!(opened.expose(), secret);
        }
    }

    #[test]
    fn fresh_nonce_every_time() {
        let rng = SystemRandom::new();
        let a = seal(&key(), "TK0001", SECRET, &rng).unwrap();
        let b = seal(&key(), "TK0001", SECRET, &rng).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn golden_bytes() {
        let sealed = seal_with_nonce(&key(), "TK0001", SECRET, [0xab; NONCE_LEN]).unwrap();
        // Any change of layout, cipher or associated data changes these bytes.
        let want = format!("01{}{GOLDEN_BODY}", "ab".repeat(12));
        assert_eq!(hex(&sealed), want);
        assert_eq!(open(&key(), "TK0001", &sealed).unwrap().expose(), SECRET);
    }

    /// AES-256-GCM of "12345678901234567890", key 00..1f, nonce ab×12, AAD "TK0001", as
    /// computed independently by Python's `cryptography` (AESGCM): ciphertext | tag.
    const GOLDEN_BODY: &str =
        "fdea877d912e26c31b6f771910a601d28269b91ba45693614235071e4d30fda996ac9385";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn tampering_is_rejected() {
        let rng = SystemRandom::new();
        let sealed = seal(&key(), "TK0001", SECRET, &rng).unwrap();
        let other_key = SealingKey::from_bytes(&[7u8; KEY_LEN]).unwrap();

        assert_eq!(
            open(&other_key, "TK0001", &sealed).unwrap_err(),
            SealError::Rejected
        );
        assert_eq!(
            open(&key(), "TK0002", &sealed).unwrap_err(),
            SealError::Rejected
        );
        assert_eq!(open(&key(), "", &sealed).unwrap_err(), SealError::Rejected);

        // Every single flipped bit after the version byte is caught.
        for i in 1..sealed.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = sealed.clone();
                if let Some(b) = bad.get_mut(i) {
                    *b ^= bit;
                }
                assert_eq!(
                    open(&key(), "TK0001", &bad).unwrap_err(),
                    SealError::Rejected,
                    "byte {i}"
                );
            }
        }
        let mut bad_version = sealed.clone();
        if let Some(b) = bad_version.first_mut() {
            *b = 2;
        }
        assert_eq!(
            open(&key(), "TK0001", &bad_version).unwrap_err(),
            SealError::UnknownVersion(2)
        );

        // Truncated anywhere: too short, or the tag no longer matches.
        for len in 0..sealed.len() {
            let cut = sealed.get(..len).unwrap();
            let want = if len == 0 || len < OVERHEAD {
                SealError::Truncated
            } else {
                SealError::Rejected
            };
            assert_eq!(
                open(&key(), "TK0001", cut).unwrap_err(),
                want,
                "length {len}"
            );
        }
        // Extra bytes appended.
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(
            open(&key(), "TK0001", &longer).unwrap_err(),
            SealError::Rejected
        );
    }

    #[test]
    fn key_parsing() {
        let cases: &[(&str, bool)] = &[
            (KEY_HEX, true),
            (
                " 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n",
                true,
            ),
            ("", false),
            ("0001", false),
            (&KEY_HEX[..62], false),
            (
                "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                false,
            ),
        ];
        for (text, ok) in cases {
            assert_eq!(SealingKey::from_hex(text).is_ok(), *ok, "{text:?}");
        }
        let long = format!("{KEY_HEX}00");
        assert_eq!(
            SealingKey::from_hex(&long).unwrap_err(),
            SealError::InvalidKey
        );
        assert_eq!(format!("{:?}", key()), "SealingKey(..)");
        assert!(SealingKey::from_bytes(&[0; 16]).is_err());
    }
}
