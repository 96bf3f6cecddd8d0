//! The stored designated-agent settings of an account (指定客服, §7.15; wire
//! `DesignatedSettings`), set with `SetDesignatedAgent`.
//!
//! Same rules as [`records`](super::records): one version byte, a frozen postcard body
//! (`mod v1`), explicit conversion from and to the wire type. Key: [`keys::designated`]
//! in `routing_settings`, next to the account's `RoutingSettingsRecord` (whose key is the
//! account alone), so an account without this record (every data directory written
//! before it existed) reads as designated agent off.

use super::keys;
use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use kefu_wire::chat::{DesignatedMode, DesignatedSettings};

/// An account's designated-agent settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignatedRecord {
    /// Account number.
    pub account: u64,
    /// The settings.
    pub settings: DesignatedSettings,
}

/// Frozen version-1 body. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) enum Mode {
        Off,
        Agents,
        Groups,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Designated {
        pub account: u64,
        pub mode: Mode,
        pub hide_offline: bool,
        pub no_response: bool,
    }
}

/// The settings of an account that never set any: off.
pub fn default_designated() -> DesignatedSettings {
    DesignatedSettings {
        mode: DesignatedMode::Off,
        hide_offline: false,
        no_response: false,
    }
}

impl DesignatedRecord {
    /// Its key (`routing_settings`).
    pub fn key(&self) -> Vec<u8> {
        keys::designated(self.account)
    }
}

impl StoredRecord for DesignatedRecord {
    const KIND: &'static str = "designated agent settings";

    fn encode(&self) -> Vec<u8> {
        let s = &self.settings;
        encode_versioned(
            V1,
            &v1::Designated {
                account: self.account,
                mode: match s.mode {
                    DesignatedMode::Off => v1::Mode::Off,
                    DesignatedMode::Agents => v1::Mode::Agents,
                    DesignatedMode::Groups => v1::Mode::Groups,
                },
                hide_offline: s.hide_offline,
                no_response: s.no_response,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Designated = decode_v1(Self::KIND, bytes)?;
        Ok(DesignatedRecord {
            account: b.account,
            settings: DesignatedSettings {
                mode: match b.mode {
                    v1::Mode::Off => DesignatedMode::Off,
                    v1::Mode::Agents => DesignatedMode::Agents,
                    v1::Mode::Groups => DesignatedMode::Groups,
                },
                hide_offline: b.hide_offline,
                no_response: b.no_response,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pins_its_bytes() {
        let r = DesignatedRecord {
            account: 800_001,
            settings: DesignatedSettings {
                mode: DesignatedMode::Groups,
                hide_offline: true,
                no_response: true,
            },
        };
        let bytes = r.encode();
        assert_eq!(bytes, [1, 0x81, 0xea, 0x30, 2, 1, 1]);
        assert_eq!(DesignatedRecord::decode(&bytes), Ok(r));
        assert!(DesignatedRecord::decode(&[2, 0]).is_err());
        assert!(DesignatedRecord::decode(&[]).is_err());
    }
}
