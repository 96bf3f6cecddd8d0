//! `kefuctl cluster status|promote`: a pair's leadership as etcd holds it
//! (`daemon/CLUSTER.md` §4 and §9). Talks to etcd's HTTP/JSON gateway directly (the
//! daemon's own client, `kefu_daemon::cluster::etcd`), not to a daemon: a standby has
//! no admin socket, and the leader may be dead.
//!
//! - `status`: the leader (node, client address, epoch, seconds its lease has left in
//!   etcd) and each member's published status (role, epoch, applied sequence, the
//!   replication lag in sequences and seconds as that member measures it: the primary
//!   against its standby's acknowledgements, the standby against the primary's last
//!   frame).
//! - `promote --node N`: asks standby `N` to take over (for a pair whose standbys have
//!   `auto_promote = false`); refused while a leader holds the key.
//! - `promote --alone`: lets the leader, a `replicated` primary whose standby is gone,
//!   acknowledge with one copy (`/kefu/pairs/<pair>/degraded` names it and its epoch);
//!   the primary clears it once a standby has caught up. Refused without a leader.
//! - `move-account <account> <pair>`: `account_move.rs` (it also talks to the source's
//!   and the target's admin sockets).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use kefu_etcd::pair::{DegradedValue, LeaderValue, MemberStatus};
use kefu_etcd::Etcd;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// `kefuctl cluster ...`
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The etcd members' client addresses, comma-separated (host:port).
    #[arg(long, value_delimiter = ',', required = true)]
    pub etcd: Vec<SocketAddr>,
    /// The pair (`[cluster.etcd] pair`).
    #[arg(long, default_value = "pair")]
    pub pair: String,
    /// What to do.
    #[command(subcommand)]
    pub command: ClusterCommand,
}

/// `kefuctl cluster status|promote`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// The leader, its epoch and lease, and each member's role and replication lag.
    Status,
    /// Asks a standby to take over (refused while a leader holds the key), or with
    /// `--alone` lets the primary acknowledge without its standby (degraded).
    Promote {
        /// The standby's node name (`[cluster.etcd] node`).
        #[arg(long, required_unless_present = "alone", conflicts_with = "alone")]
        node: Option<String>,
        /// The leader runs without a standby: `replicated` writes are acknowledged
        /// with one copy until a standby has caught up (then the flag clears itself).
        #[arg(long)]
        alone: bool,
    },
    /// Moves an account from the appliance of `--admin-socket` to the primary of `pair`
    /// (reached through `--target-admin-socket`).
    MoveAccount {
        /// The account.
        account: u64,
        /// The target pair (`[cluster.etcd] pair` of its members).
        to_pair: String,
        /// The target primary's admin socket (over ssh: `ssh -L local.sock:remote.sock`).
        #[arg(long)]
        target_admin_socket: std::path::PathBuf,
    },
}

/// A member's replication lag: as it measured it (sequences and seconds), else as its
/// sequences say (a member of a version that published no measure).
fn lag_text(m: &MemberStatus) -> String {
    match &m.lag {
        Some(lag) => format!(
            "{} sequences, {:.3} s",
            lag.sequences,
            lag.age_ms as f64 / 1000.0
        ),
        None => format!("{} sequences", m.primary_latest.saturating_sub(m.applied)),
    }
}

/// Runs `kefuctl cluster ...`.
pub fn run(args: &ClusterArgs, admin_socket: &Path, out: &mut dyn Write) -> Result<()> {
    let etcd = Etcd::new(args.etcd.clone(), Duration::from_secs(2));
    if let ClusterCommand::MoveAccount {
        account,
        to_pair,
        target_admin_socket,
    } = &args.command
    {
        let m = crate::account_move::Move {
            etcd: &etcd,
            account: *account,
            target: to_pair,
            source_socket: admin_socket,
            target_socket: target_admin_socket,
        };
        return crate::account_move::run(&m, out);
    }
    let base = format!("/kefu/pairs/{}", args.pair);
    let leader = etcd
        .get_entry(format!("{base}/leader").as_bytes())
        .context("reading the leader key")?;
    match &args.command {
        ClusterCommand::Status => {
            writeln!(out, "pair:    {}", args.pair)?;
            match &leader {
                Some(entry) => {
                    let value: LeaderValue = serde_json::from_slice(&entry.value)
                        .context("the leader key does not decode")?;
                    let left = etcd.time_to_live(entry.lease).ok().flatten();
                    writeln!(
                        out,
                        "leader:  {} (client {}, epoch {}, lease {} s left)",
                        value.node,
                        value.client_addr.map_or("-".into(), |a| a.to_string()),
                        value.epoch,
                        left.map_or("?".into(), |s| s.to_string()),
                    )?;
                }
                None => writeln!(out, "leader:  none")?,
            }
            let degraded = etcd
                .get(format!("{base}/degraded").as_bytes())
                .context("reading the degraded flag")?;
            if let Some(v) = degraded {
                let leading = leader
                    .as_ref()
                    .and_then(|e| serde_json::from_slice::<LeaderValue>(&e.value).ok());
                match serde_json::from_slice::<DegradedValue>(&v) {
                    Ok(d)
                        if leading
                            .as_ref()
                            .is_some_and(|l| l.node == d.node && l.epoch == d.epoch) =>
                    {
                        writeln!(
                            out,
                            "degraded: yes — {} acknowledges with one copy (promote --alone at \
                             epoch {}) until a standby catches up",
                            d.node, d.epoch
                        )?
                    }
                    Ok(d) => writeln!(
                        out,
                        "degraded: no (a stale promote --alone for {} at epoch {})",
                        d.node, d.epoch
                    )?,
                    Err(_) => writeln!(out, "degraded: (undecodable flag)")?,
                }
            }
            let members = etcd
                .get_prefix(format!("{base}/members/").as_bytes())
                .context("reading the members")?;
            for (key, value) in members {
                let key = String::from_utf8_lossy(&key);
                let node = key.rsplit('/').next().unwrap_or_default();
                match serde_json::from_slice::<MemberStatus>(&value) {
                    Ok(m) => writeln!(
                        out,
                        "member {node}: {} at epoch {}, sequence {}, lag {}, lease {} ms{}",
                        m.role,
                        m.epoch,
                        m.applied,
                        lag_text(&m),
                        m.lease_left_ms,
                        if m.note.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", m.note)
                        }
                    )?,
                    Err(_) => writeln!(out, "member {node}: (undecodable status)")?,
                }
            }
            Ok(())
        }
        ClusterCommand::Promote { alone: true, .. } => {
            let Some(entry) = leader else {
                bail!(
                    "promote --alone refused: no member leads pair {}; it lets a running \
                     primary acknowledge without its standby",
                    args.pair
                );
            };
            let value: LeaderValue =
                serde_json::from_slice(&entry.value).context("the leader key does not decode")?;
            let flag = DegradedValue {
                node: value.node.clone(),
                epoch: value.epoch,
            };
            etcd.put(
                format!("{base}/degraded").as_bytes(),
                &serde_json::to_vec(&flag)?,
                0,
            )
            .context("writing the degraded flag")?;
            writeln!(
                out,
                "pair {} runs degraded: {} (epoch {}) acknowledges with one copy until a \
                 standby catches up",
                args.pair, value.node, value.epoch
            )?;
            Ok(())
        }
        ClusterCommand::MoveAccount { .. } => Ok(()),
        ClusterCommand::Promote { node, .. } => {
            let node = node.as_deref().unwrap_or_default();
            if let Some(entry) = leader {
                let who = serde_json::from_slice::<LeaderValue>(&entry.value)
                    .map(|v| format!("{} leads at epoch {}", v.node, v.epoch))
                    .unwrap_or_else(|_| "a leader holds the key".into());
                bail!("promote refused: {who}; a standby is promoted only when no member leads");
            }
            etcd.put(format!("{base}/promote").as_bytes(), node.as_bytes(), 0)
                .context("writing the promotion request")?;
            writeln!(
                out,
                "asked {node} to take over pair {}: it does once it has applied what it received",
                args.pair
            )?;
            Ok(())
        }
    }
}
