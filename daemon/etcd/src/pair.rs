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
}
