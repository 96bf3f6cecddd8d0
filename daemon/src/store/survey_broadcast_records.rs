//! Stored records of survey broadcasts (V5, manual §9.8; `wire/PROTOCOL.md` section
//! 35.5): which broadcast carries which survey, and which contacts a survey broadcast
//! reached.
//!
//! | column family | key | value |
//! |---------------|-----|-------|
//! | `Cf::ValueAdded` | account `u64` BE (8) ‖ `b'Y'` ‖ broadcast `u64` BE (8) ([`link_key`]) | [`SurveyLinkRecord`]: the broadcast carries this survey (written with the submission, never rewritten) |
//! | `Cf::Surveys` | account `u64` BE (8) ‖ `b'S'` ‖ survey `u64` BE (8) ‖ contact `u64` BE (8) ([`sent_key`]) | `SeenRecord`: the survey reached this contact (written in the fan-out slice's batch) |
//!
//! Both tags are new: a data directory written before has none of these keys and reads
//! as no survey broadcasts. Deleting an account removes them with its range deletes of
//! both column families. Same rules as [`records`](super::records): one version byte,
//! frozen postcard bodies (`mod v1`), typed errors on bad input.

use super::keys::value_added_item;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};

/// Tag of a broadcast's survey in `Cf::ValueAdded`.
pub const TAG_LINK: u8 = b'Y';
/// Tag of "the survey reached this contact" in `Cf::Surveys`.
pub const TAG_SENT: u8 = b'S';

/// Key of the survey broadcast `broadcast` carries.
pub fn link_key(account: u64, broadcast: u64) -> Vec<u8> {
    value_added_item(account, TAG_LINK, Some(broadcast))
}

/// Key of the marker "survey `survey` reached contact `contact`" (`Cf::Surveys`).
pub fn sent_key(account: u64, survey: u64, contact: u64) -> Vec<u8> {
    let mut k = account.to_be_bytes().to_vec();
    k.push(TAG_SENT);
    k.extend_from_slice(&survey.to_be_bytes());
    k.extend_from_slice(&contact.to_be_bytes());
    k
}

/// The survey a broadcast carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SurveyLinkRecord {
    /// The survey's number in the account.
    pub survey: u64,
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Link {
        pub survey: u64,
    }
}

impl StoredRecord for SurveyLinkRecord {
    const KIND: &'static str = "survey broadcast link";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Link {
                survey: self.survey,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Link = decode_v1(Self::KIND, bytes)?;
        Ok(SurveyLinkRecord { survey: b.survey })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_round_trips_and_refuses_garbage() {
        let r = SurveyLinkRecord { survey: 7 };
        assert_eq!(SurveyLinkRecord::decode(&r.encode()).unwrap(), r);
        assert!(SurveyLinkRecord::decode(&[9, 1]).is_err());
        assert!(SurveyLinkRecord::decode(&[]).is_err());
    }
}
