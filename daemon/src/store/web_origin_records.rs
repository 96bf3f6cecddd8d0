//! The account's explicit list of allowed origins for the chat window
//! (`SetAllowedOrigins`, `wire/PROTOCOL.md` 38.4), in the `web` column family under
//! `account ‖ 'O'` ([`origins_key`]), beside the other web records
//! ([`web_records`](super::web_records)). Same rules as
//! [`records`](super::records): one version byte, a frozen postcard body (`mod v1`).
//! An account without the key (every data directory written before it existed) has an
//! empty list: only its entry codes' sites, or the gateway's own list, decide.

use super::keys;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};

/// Tag of the allowed origins.
pub const TAG_ORIGINS: u8 = b'O';

/// Key of the account's explicit allowed origins.
pub fn origins_key(account: u64) -> Vec<u8> {
    keys::web(account, TAG_ORIGINS, &[])
}

/// The explicit list, normalised (`kefu_wire::web::origin_of`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OriginsRecord {
    /// The origins, each once, in the order given.
    pub origins: Vec<String>,
}

/// Frozen version-1 body. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Origins {
        pub origins: Vec<String>,
    }
}

impl StoredRecord for OriginsRecord {
    const KIND: &'static str = "allowed origins";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Origins {
                origins: self.origins.clone(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Origins = decode_v1(Self::KIND, bytes)?;
        Ok(OriginsRecord { origins: b.origins })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_bytes() {
        let r = OriginsRecord {
            origins: vec!["https://shop.example.com".into()],
        };
        assert_eq!(OriginsRecord::decode(&r.encode()), Ok(r));
        assert!(OriginsRecord::decode(&[]).is_err());
        assert!(OriginsRecord::decode(&[9, 1]).is_err());
    }
}
