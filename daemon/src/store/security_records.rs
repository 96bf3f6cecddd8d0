//! Stored records of the security feature: account settings, agent profiles,
//! hardware tokens and which agent holds which token.
//!
//! Same rules as [`records`](super::records): one version byte, a frozen
//! postcard body per version (`mod v1` here), explicit conversion, typed
//! errors on bad input.

use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};

/// The account's security level (manual §12.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityLevel {
    /// Never ask for a token code.
    Low,
    /// Ask for a code for value-added operations (the default).
    Medium,
    /// Ask for a code at login and for value-added operations.
    High,
}

/// Per-account settings that are not part of the account record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettingsRecord {
    /// Account number; also the key.
    pub account: u64,
    /// Security level.
    pub security_level: SecurityLevel,
}

/// How an agent is named to customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayMode {
    /// The nickname.
    Nickname,
    /// The agent number.
    AgentNumber,
}

/// An agent's profile beyond its login record (A5). The nickname lives in the
/// agent record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentProfileRecord {
    /// Account number.
    pub account: u64,
    /// Agent number.
    pub agent: u32,
    /// Agent group name ("" for none).
    pub group: String,
    /// What customers see.
    pub display: DisplayMode,
    /// Bound phone ("" for none).
    pub phone: String,
}

/// HMAC algorithm of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAlgorithm {
    /// HMAC-SHA1 (what hardware tokens use).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// A hardware token as stored: its secret sealed with the appliance's key.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Serial number; also the key.
    pub serial: String,
    /// The seed, sealed (AES-256-GCM, the serial as associated data).
    pub sealed_secret: Vec<u8>,
    /// HMAC algorithm.
    pub algorithm: TokenAlgorithm,
    /// Code length.
    pub digits: u8,
    /// Time step in seconds.
    pub step_secs: u32,
    /// Clock drift found by calibration, in steps.
    pub drift_steps: i64,
    /// Last step whose code was accepted; older and equal steps are replays.
    pub last_used_step: Option<u64>,
    /// Consecutive failures.
    pub failures: u32,
    /// Locked after too many failures.
    pub locked: bool,
    /// The agent holding it.
    pub bound: Option<(u64, u32)>,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("serial", &self.serial)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("step_secs", &self.step_secs)
            .field("drift_steps", &self.drift_steps)
            .field("last_used_step", &self.last_used_step)
            .field("failures", &self.failures)
            .field("locked", &self.locked)
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

/// Which token an agent holds (the reverse of [`TokenRecord::bound`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentTokenRecord {
    /// Account number.
    pub account: u64,
    /// Agent number.
    pub agent: u32,
    /// Token serial.
    pub serial: String,
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) enum SecurityLevel {
        Low,
        Medium,
        High,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct AccountSettings {
        pub account: u64,
        pub security_level: SecurityLevel,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum DisplayMode {
        Nickname,
        AgentNumber,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct AgentProfile<'a> {
        pub account: u64,
        pub agent: u32,
        pub group: &'a str,
        pub display: DisplayMode,
        pub phone: &'a str,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) enum Algorithm {
        Sha1,
        Sha256,
        Sha512,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Token<'a> {
        pub serial: &'a str,
        pub sealed_secret: &'a [u8],
        pub algorithm: Algorithm,
        pub digits: u8,
        pub step_secs: u32,
        pub drift_steps: i64,
        pub last_used_step: Option<u64>,
        pub failures: u32,
        pub locked: bool,
        pub bound: Option<(u64, u32)>,
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct AgentToken<'a> {
        pub account: u64,
        pub agent: u32,
        pub serial: &'a str,
    }
}

/// Maps between the public enum and its frozen v1 twin, both ways.
macro_rules! mirror_enum {
    ($public:ident, $frozen:path, $($v:ident),*) => {
        impl From<$public> for $frozen {
            fn from(x: $public) -> Self { match x { $($public::$v => <$frozen>::$v,)* } }
        }
        impl From<$frozen> for $public {
            fn from(x: $frozen) -> Self { match x { $(<$frozen>::$v => $public::$v,)* } }
        }
    };
}

mirror_enum!(SecurityLevel, v1::SecurityLevel, Low, Medium, High);
mirror_enum!(DisplayMode, v1::DisplayMode, Nickname, AgentNumber);
mirror_enum!(TokenAlgorithm, v1::Algorithm, Sha1, Sha256, Sha512);

impl StoredRecord for AccountSettingsRecord {
    const KIND: &'static str = "account settings";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::AccountSettings {
                account: self.account,
                security_level: self.security_level.into(),
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::AccountSettings = decode_v1(Self::KIND, bytes)?;
        Ok(AccountSettingsRecord {
            account: b.account,
            security_level: b.security_level.into(),
        })
    }
}

impl StoredRecord for AgentProfileRecord {
    const KIND: &'static str = "agent profile";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::AgentProfile {
                account: self.account,
                agent: self.agent,
                group: &self.group,
                display: self.display.into(),
                phone: &self.phone,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::AgentProfile<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(AgentProfileRecord {
            account: b.account,
            agent: b.agent,
            group: b.group.to_owned(),
            display: b.display.into(),
            phone: b.phone.to_owned(),
        })
    }
}

impl StoredRecord for TokenRecord {
    const KIND: &'static str = "token";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Token {
                serial: &self.serial,
                sealed_secret: &self.sealed_secret,
                algorithm: self.algorithm.into(),
                digits: self.digits,
                step_secs: self.step_secs,
                drift_steps: self.drift_steps,
                last_used_step: self.last_used_step,
                failures: self.failures,
                locked: self.locked,
                bound: self.bound,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let kind = Self::KIND;
        let b: v1::Token<'_> = decode_v1(kind, bytes)?;
        if b.step_secs == 0 || !(6..=10).contains(&b.digits) {
            return Err(RecordError::Invalid {
                kind,
                version: V1,
                reason: "token with a zero step or an unsupported code length",
            });
        }
        Ok(TokenRecord {
            serial: b.serial.to_owned(),
            sealed_secret: b.sealed_secret.to_vec(),
            algorithm: b.algorithm.into(),
            digits: b.digits,
            step_secs: b.step_secs,
            drift_steps: b.drift_steps,
            last_used_step: b.last_used_step,
            failures: b.failures,
            locked: b.locked,
            bound: b.bound,
        })
    }
}

impl StoredRecord for AgentTokenRecord {
    const KIND: &'static str = "agent token";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::AgentToken {
                account: self.account,
                agent: self.agent,
                serial: &self.serial,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::AgentToken<'_> = decode_v1(Self::KIND, bytes)?;
        Ok(AgentTokenRecord {
            account: b.account,
            agent: b.agent,
            serial: b.serial.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> TokenRecord {
        TokenRecord {
            serial: "KT-0001".into(),
            sealed_secret: vec![1, 2, 3],
            algorithm: TokenAlgorithm::Sha1,
            digits: 6,
            step_secs: 60,
            drift_steps: -3,
            last_used_step: Some(29_000_000),
            failures: 2,
            locked: false,
            bound: Some((800_001, 1001)),
        }
    }

    #[test]
    fn round_trips_and_golden_bytes() {
        let settings = AccountSettingsRecord {
            account: 5,
            security_level: SecurityLevel::High,
        };
        assert_eq!(settings.encode(), vec![1, 5, 2]);
        assert_eq!(
            AccountSettingsRecord::decode(&settings.encode()).unwrap(),
            settings
        );
        let profile = AgentProfileRecord {
            account: 5,
            agent: 1001,
            group: "售后".into(),
            display: DisplayMode::AgentNumber,
            phone: "+86 10".into(),
        };
        assert_eq!(
            AgentProfileRecord::decode(&profile.encode()).unwrap(),
            profile
        );
        let t = token();
        assert_eq!(TokenRecord::decode(&t.encode()).unwrap(), t);
        let at = AgentTokenRecord {
            account: 5,
            agent: 1002,
            serial: "KT-0001".into(),
        };
        assert_eq!(
            at.encode(),
            [&[1u8, 5, 0xea, 7, 7][..], b"KT-0001"].concat()
        );
        assert_eq!(AgentTokenRecord::decode(&at.encode()).unwrap(), at);
    }

    #[test]
    fn bad_bytes_are_typed_errors() {
        let good = token().encode();
        for cut in 0..good.len() {
            assert!(TokenRecord::decode(&good[..cut]).is_err(), "cut {cut}");
        }
        assert!(matches!(
            TokenRecord::decode(&[9, 0]),
            Err(RecordError::UnknownVersion { version: 9, .. })
        ));
        let mut zero_step = token();
        zero_step.step_secs = 0;
        assert!(matches!(
            TokenRecord::decode(&zero_step.encode()),
            Err(RecordError::Invalid { .. })
        ));
        assert!(
            !format!("{:?}", token()).contains("sealed"),
            "secret material stays out of logs"
        );
    }
}
