//! Stored offline files (C13, manual §3.7; `wire/PROTOCOL.md` section 28):
//! [`OfflineFileRecord`] in `offline_files`, keyed by account and file id
//! ([`keys::offline_file`]). The bytes are a file on the disk (`file_store.rs`), named by
//! their SHA-256; the record says who sent it to whom, its one-time token and whether it
//! was fetched.
//!
//! Same rules as [`records`](super::records): one version byte, a frozen postcard body
//! (`mod v1`), explicit conversion, typed errors on bad input.

use super::keys;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::chat::CustomerId;
use kefu_wire::files::FileMeta;

/// A sender or recipient of a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileParty {
    /// An agent of the account.
    Agent(u32),
    /// A customer of the account.
    Customer(CustomerId),
}

/// One offline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineFileRecord {
    /// Account number.
    pub account: u64,
    /// Its id, increasing within the account.
    pub file: u64,
    /// Who sent it.
    pub from: FileParty,
    /// Who may fetch it (and nobody else: §3.7 "客服接收到的文件只能在自己机器上看到").
    pub to: FileParty,
    /// Name, size, hash, image.
    pub meta: FileMeta,
    /// When it was stored, unix ms.
    pub at: i64,
    /// The one-time token: the file id BE (8) ‖ 24 random bytes.
    pub token: [u8; 32],
    /// Whether its token was used.
    pub fetched: bool,
}

impl OfflineFileRecord {
    /// Its key (`offline_files`).
    pub fn key(&self) -> Vec<u8> {
        keys::offline_file(self.account, self.file)
    }
}

/// Frozen version-1 body. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) enum Party<'a> {
        Agent(u32),
        Identified(&'a str),
        Visitor([u8; 16]),
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct File<'a> {
        pub account: u64,
        pub file: u64,
        #[serde(borrow)]
        pub from: Party<'a>,
        #[serde(borrow)]
        pub to: Party<'a>,
        pub name: &'a str,
        pub size: u64,
        pub sha256: [u8; 32],
        pub image: bool,
        pub at: i64,
        pub token: [u8; 32],
        pub fetched: bool,
    }
}

fn to_v1(p: &FileParty) -> v1::Party<'_> {
    match p {
        FileParty::Agent(a) => v1::Party::Agent(*a),
        FileParty::Customer(CustomerId::Identified(id)) => v1::Party::Identified(id),
        FileParty::Customer(CustomerId::Visitor(v)) => v1::Party::Visitor(*v),
    }
}

fn from_v1(p: v1::Party<'_>) -> FileParty {
    match p {
        v1::Party::Agent(a) => FileParty::Agent(a),
        v1::Party::Identified(id) => FileParty::Customer(CustomerId::Identified(id.to_owned())),
        v1::Party::Visitor(v) => FileParty::Customer(CustomerId::Visitor(v)),
    }
}

impl StoredRecord for OfflineFileRecord {
    const KIND: &'static str = "offline file";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::File {
                account: self.account,
                file: self.file,
                from: to_v1(&self.from),
                to: to_v1(&self.to),
                name: &self.meta.name,
                size: self.meta.size,
                sha256: self.meta.sha256,
                image: self.meta.image,
                at: self.at,
                token: self.token,
                fetched: self.fetched,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::File<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(OfflineFileRecord {
            account: b.account,
            file: b.file,
            from: from_v1(b.from),
            to: from_v1(b.to),
            meta: FileMeta {
                name: b.name.to_owned(),
                size: b.size,
                sha256: b.sha256,
                image: b.image,
            },
            at: b.at,
            token: b.token,
            fetched: b.fetched,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pins_its_bytes() {
        let r = OfflineFileRecord {
            account: 1,
            file: 2,
            from: FileParty::Agent(1001),
            to: FileParty::Customer(CustomerId::Identified("c".into())),
            meta: FileMeta {
                name: "a".into(),
                size: 3,
                sha256: [0; 32],
                image: false,
            },
            at: 4,
            token: [0; 32],
            fetched: true,
        };
        let bytes = r.encode();
        let mut expected = vec![1, 1, 2, 0, 0xe9, 0x07, 1, 1, b'c', 1, b'a', 3];
        expected.extend_from_slice(&[0; 32]);
        expected.extend_from_slice(&[0, 8]);
        expected.extend_from_slice(&[0; 32]);
        expected.push(1);
        assert_eq!(bytes, expected);
        assert_eq!(OfflineFileRecord::decode(&bytes), Ok(r.clone()));
        assert_eq!(r.key(), keys::offline_file(1, 2));
        assert!(OfflineFileRecord::decode(&[2]).is_err());
        let visitor = OfflineFileRecord {
            to: FileParty::Customer(CustomerId::Visitor([9; 16])),
            ..r
        };
        assert_eq!(OfflineFileRecord::decode(&visitor.encode()), Ok(visitor));
    }
}
