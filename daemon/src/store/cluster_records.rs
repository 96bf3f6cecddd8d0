//! The epoch of a pair member's data (`daemon/CLUSTER.md`, `wire/PROTOCOL.md` 40.4), in
//! [`Cf::Meta`](super::Cf::Meta) under [`META_CLUSTER_EPOCH`](super::keys::META_CLUSTER_EPOCH):
//! written (synced) by the member that takes the leader key, right after taking it and
//! before it acknowledges anything, so that it is in the write-ahead log the standby
//! follows. A member whose data is of epoch N may take the key only while etcd's epoch is
//! still N: one that was out of the pair while another led (an old primary restarted
//! after a failover and the new primary's death) is refused instead of leading with
//! data that lacks acknowledged messages. Same rules as [`records`](super::records):
//! one version byte, a frozen postcard body (`mod v1`). A store without the key (a new
//! pair, or data written before the key existed) takes any epoch.

use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};

/// The epoch at which this data was last led.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochRecord {
    /// The pair's epoch (etcd's `/kefu/pairs/<pair>/epoch`) when its leader wrote it.
    pub epoch: u64,
}

/// Frozen version-1 body. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Epoch {
        pub epoch: u64,
    }
}

impl StoredRecord for EpochRecord {
    const KIND: &'static str = "cluster epoch";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(V1, &v1::Epoch { epoch: self.epoch })
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Epoch = decode_v1(Self::KIND, bytes)?;
        Ok(EpochRecord { epoch: b.epoch })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_bytes() {
        let r = EpochRecord { epoch: 7 };
        assert_eq!(EpochRecord::decode(&r.encode()), Ok(r));
        assert!(EpochRecord::decode(&[]).is_err());
        assert!(EpochRecord::decode(&[9, 1]).is_err());
    }
}
