//! The values a pair's leadership keeps in etcd (`daemon/CLUSTER.md` §4): written by
//! the daemon's leadership thread, read by it and by `kefuctl cluster status`. JSON.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// The leader key's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderValue {
    /// The leader's node name.
    pub node: String,
    /// Where its clients connect.
    pub client_addr: Option<SocketAddr>,
    /// Its epoch (one more than the previous leader's).
    pub epoch: u64,
    /// Where its replication stream is served (`[cluster] replication_listen`): what an
    /// old primary that turns standby follows when its own `[cluster] peer` is unset.
    /// Absent in values written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_addr: Option<SocketAddr>,
}

/// `/kefu/pairs/<pair>/degraded` (written by `kefuctl cluster promote --alone`, no
/// lease): the primary `node` at `epoch` acknowledges `replicated` writes with one copy
/// while no standby has caught up; it deletes the key itself once one has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DegradedValue {
    /// The primary allowed to run alone.
    pub node: String,
    /// Its epoch: a later leader is not degraded by an older request.
    pub epoch: u64,
}

/// Where the accounts directory lives: `/kefu/accounts/<account>` (decimal).
pub const ACCOUNTS_PREFIX: &str = "/kefu/accounts/";

/// The directory key of `account`.
pub fn account_key(account: u64) -> Vec<u8> {
    format!("{ACCOUNTS_PREFIX}{account}").into_bytes()
}

/// The account a directory key names.
pub fn account_of_key(key: &[u8]) -> Option<u64> {
    std::str::from_utf8(key)
        .ok()?
        .strip_prefix(ACCOUNTS_PREFIX)?
        .parse()
        .ok()
}

/// The pair a leader key (`/kefu/pairs/<pair>/leader`) belongs to.
pub fn pair_of_leader_key(key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key)
        .ok()?
        .strip_prefix("/kefu/pairs/")?
        .strip_suffix("/leader")
        .filter(|p| !p.is_empty() && !p.contains('/'))
}

/// The version of [`AccountPlacement`] this build writes.
pub const PLACEMENT_VERSION: u32 = 1;

/// A directory entry (`daemon/CLUSTER.md` §8): the pair that serves the account, and
/// the pair it is being moved to while `kefuctl cluster move-account` runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPlacement {
    /// The value's version ([`PLACEMENT_VERSION`]); a reader refuses a newer one.
    pub v: u32,
    /// The pair that serves the account.
    pub pair: String,
    /// The pair it is being moved to, during a move.
    #[serde(default)]
    pub moving_to: Option<String>,
}

impl AccountPlacement {
    /// Decodes a directory value; `None` if it is not one this build understands.
    pub fn decode(bytes: &[u8]) -> Option<AccountPlacement> {
        serde_json::from_slice::<AccountPlacement>(bytes)
            .ok()
            .filter(|p| p.v <= PLACEMENT_VERSION && !p.pair.is_empty())
    }

    /// The JSON stored.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The pair prefix under which every pair's keys live.
pub const PAIRS_PREFIX: &str = "/kefu/pairs/";

/// A member's published status (`/kefu/pairs/<pair>/members/<node>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    /// `primary`, `standby`, `fenced` or `starting`.
    pub role: String,
    /// The epoch it leads (primary) or last saw.
    pub epoch: u64,
    /// The sequence it has (primary: its latest; standby: applied).
    pub applied: u64,
    /// The primary's latest sequence as this member knows it.
    pub primary_latest: u64,
    /// Milliseconds its own lease is still certainly valid (primary), else 0.
    pub lease_left_ms: u64,
    /// Why it is fenced, or what it last saw.
    pub note: String,
    /// The replication lag as this member measures it (`daemon/CLUSTER.md` §6); absent
    /// from members that measure none (a promoted primary without a standby) and from
    /// values written before it existed (an optional field: old readers ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<MemberLag>,
}

/// A member's replication lag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberLag {
    /// The primary's latest sequence minus the standby's applied one.
    pub sequences: u64,
    /// The age of the oldest batch the standby has not applied, milliseconds (on a
    /// standby: since the primary's frame that first named it, a lower bound).
    pub age_ms: u64,
}
