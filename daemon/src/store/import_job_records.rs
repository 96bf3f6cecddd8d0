//! The record of an import chunk being applied over several turns (issue 13;
//! `centre/import_jobs.rs`, `wire/PROTOCOL.md` section 17.6.1).
//!
//! Written with the chunk's first slice, deleted with its last (the batch that carries
//! the answer). Found when the account loads, it means the daemon stopped in between:
//! the contacts numbered `first..end` are that chunk's, left out and deleted, so the
//! chunk is stored wholly or not at all. Key: [`keys::import_job`](super::keys::import_job).
//!
//! Same rules as [`records`](super::records): one version byte, a frozen postcard body.

use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};

/// The contact numbers reserved for an unanswered import chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportJobRecord {
    /// Account number.
    pub account: u64,
    /// First number reserved.
    pub first: u64,
    /// First number after the reserved ones.
    pub end: u64,
}

/// Frozen version-1 body. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct ImportJob {
        pub account: u64,
        pub first: u64,
        pub end: u64,
    }
}

impl StoredRecord for ImportJobRecord {
    const KIND: &'static str = "import job";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::ImportJob {
                account: self.account,
                first: self.first,
                end: self.end,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::ImportJob = decode_v1(Self::KIND, bytes)?;
        Ok(ImportJobRecord {
            account: b.account,
            first: b.first,
            end: b.end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_job_round_trips_and_refuses_other_versions() {
        let r = ImportJobRecord {
            account: 7,
            first: 100,
            end: 9_100,
        };
        let bytes = r.encode();
        assert_eq!(ImportJobRecord::decode(&bytes).unwrap(), r);
        let mut other = bytes.clone();
        other[0] = 9;
        assert!(ImportJobRecord::decode(&other).is_err());
        assert!(ImportJobRecord::decode(&[]).is_err());
    }
}
