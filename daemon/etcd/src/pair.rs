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
}

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
