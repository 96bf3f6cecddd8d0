//! Session tokens: 128 random bits given to an agent at login; only their SHA-256 is stored.
//!
//! The stored hash means a leaked database does not hand out live sessions. A presented
//! token is checked by hashing it and comparing digests in constant time. ring 0.17
//! deprecated its public `constant_time` module, so the comparison is a small local
//! loop; it barely matters anyway, since timing can only reveal a prefix of a SHA-256
//! digest, which an attacker cannot steer without finding preimages.

use ring::digest;
use ring::rand::SecureRandom;

/// Length of a session token, in bytes.
pub const TOKEN_LEN: usize = 16;

/// A session token as handed to the agent (the bytes are public: any 16 bytes a client
/// presents are a token to check). `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(pub [u8; TOKEN_LEN]);

impl SessionToken {
    /// A fresh token from `rng`; fails only if the system RNG fails.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, ring::error::Unspecified> {
        let mut bytes = [0u8; TOKEN_LEN];
        rng.fill(&mut bytes)?;
        Ok(SessionToken(bytes))
    }

    /// The token a client presented.
    pub const fn from_bytes(bytes: [u8; TOKEN_LEN]) -> Self {
        SessionToken(bytes)
    }

    /// The token's bytes, to send to the client.
    pub const fn as_bytes(&self) -> &[u8; TOKEN_LEN] {
        &self.0
    }

    /// SHA-256 of the token: what is stored in a session record.
    pub fn hash(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest::digest(&digest::SHA256, &self.0).as_ref());
        out
    }

    /// Whether this token hashes to `stored_hash`, compared in constant time.
    pub fn matches(&self, stored_hash: &[u8; 32]) -> bool {
        let presented = self.hash();
        let diff = presented
            .iter()
            .zip(stored_hash)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    #[test]
    fn generated_tokens_differ_and_match_their_hash() {
        let rng = SystemRandom::new();
        let a = SessionToken::generate(&rng).expect("rng");
        let b = SessionToken::generate(&rng).expect("rng");
        assert_ne!(a, b);
        assert!(a.matches(&a.hash()));
        assert!(!a.matches(&b.hash()));
        assert_eq!(SessionToken::from_bytes(*a.as_bytes()), a);
    }

    #[test]
    fn hash_is_sha256() {
        // SHA-256 of 16 zero bytes.
        let expected = "374708fff7719dd5979ec875d56cd2286f6d3cf7ec317a3b25632aab28ec37bb";
        let hex: String = SessionToken::from_bytes([0; TOKEN_LEN])
            .hash()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let token = SessionToken::from_bytes([0x5a; TOKEN_LEN]);
        let stored = token.hash();
        for byte in 0..32 {
            for bit in 0..8 {
                let mut other = stored;
                other[byte] ^= 1 << bit;
                assert!(!token.matches(&other));
            }
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let token = SessionToken::from_bytes([0xab; TOKEN_LEN]);
        assert_eq!(format!("{token:?}"), "SessionToken(..)");
    }
}
