//! `kefuctl cluster move-account <account> <pair>`: moves an account from the appliance
//! whose admin socket is `--admin-socket` (the source, primary of its pair) to the
//! primary of `<pair>`, reached through `--target-admin-socket` (`daemon/CLUSTER.md` §8;
//! wire/PROTOCOL.md section 40.6). The account's keys travel through kefuctl itself,
//! page by page, from one admin socket to the other.
//!
//! 1. Checks, changing nothing: `<pair>` has a leader in etcd (else "unknown pair"),
//!    the source holds the account (else "unknown account"), the source's pair is not
//!    `<pair>` (else "same pair"), and the directory does not give the account to
//!    another pair or show a move under way.
//! 2. Marks the move in the directory: `{pair: source, moving_to: target}`, only if
//!    the entry is unchanged since read.
//! 3. Freezes the account on the source (`ACCOUNT_MOVING` from then on: what was
//!    acknowledged before is in the store), copies it page by page to the target
//!    (which keeps it frozen), then switches the directory entry to `{pair: target}` in
//!    one transaction, tells the source (`AdminAccountMoved`: its clients get
//!    `GoAwayTo` the target's leader) and thaws the account on the target.
//!
//! A failure before the switch thaws the source and puts the directory entry back;
//! the target keeps what it received (the operator deletes it before retrying:
//! `ACCOUNT_PRESENT` otherwise). The source's copy stays, for the operator to delete
//! (`kefuctl account delete`) once satisfied.

use crate::admin::{expect_ok, unexpected, Admin, RequestError};
use anyhow::{anyhow, bail, Context, Result};
use kefu_etcd::pair::{account_key, AccountPlacement, LeaderValue, PLACEMENT_VERSION};
use kefu_etcd::Etcd;
use kefu_wire::{ErrorCode, Request, Response};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

/// What the move needs.
pub struct Move<'a> {
    /// The etcd client.
    pub etcd: &'a Etcd,
    /// The account.
    pub account: u64,
    /// The target pair.
    pub target: &'a str,
    /// The source's admin socket.
    pub source_socket: &'a Path,
    /// The target's admin socket.
    pub target_socket: &'a Path,
}

/// Runs the move (see the module doc).
pub fn run(m: &Move<'_>, out: &mut dyn Write) -> Result<()> {
    let account = m.account;
    // 1. Checks; nothing changes before they pass.
    let leader = m
        .etcd
        .get(format!("/kefu/pairs/{}/leader", m.target).as_bytes())
        .context("reading the target pair's leader key")?
        .ok_or_else(|| anyhow!("unknown pair {:?}: it has no leader in etcd", m.target))?;
    let address: SocketAddr = serde_json::from_slice::<LeaderValue>(&leader)
        .ok()
        .and_then(|l| l.client_addr)
        .ok_or_else(|| anyhow!("pair {:?}'s leader publishes no client address", m.target))?;
    let mut source = Admin::connect(m.source_socket)?;
    // A first page, read only for the source's pair and the account's existence.
    let probe = match source.request(&Request::AdminExportAccount {
        account,
        after: None,
    }) {
        Ok(Response::AccountExport(page)) => page,
        Ok(other) => return Err(unexpected("AdminExportAccount", &other)),
        Err(e) if RequestError::code_of(&e) == Some(ErrorCode::UNKNOWN_ACCOUNT) => {
            bail!("unknown account {account}: the source appliance does not hold it")
        }
        Err(e) => return Err(e),
    };
    let from = probe.pair;
    if from.is_empty() {
        bail!("the source appliance has no [cluster.etcd]: it is in no pair");
    }
    if from == m.target {
        bail!("same pair: account {account} is served by pair {from:?} already");
    }
    let key = account_key(account);
    let entry = m.etcd.get_entry(&key).context("reading the directory")?;
    if let Some(e) = &entry {
        match AccountPlacement::decode(&e.value) {
            Some(p) if p.moving_to.is_some() => {
                bail!("a move of account {account} is under way (directory: {p:?})")
            }
            Some(p) if p.pair != from => bail!(
                "the directory gives account {account} to pair {:?}, not to the source's {from:?}",
                p.pair
            ),
            Some(_) => {}
            None => bail!("the directory entry of account {account} is not one this kefuctl reads"),
        }
    }
    let mut target = Admin::connect(m.target_socket)?;

    // 2. The move, in the directory.
    let moving = AccountPlacement {
        v: PLACEMENT_VERSION,
        pair: from.clone(),
        moving_to: Some(m.target.to_string()),
    };
    let revision = entry.as_ref().map_or(0, |e| e.mod_revision);
    if !m
        .etcd
        .put_if_unchanged(&key, &moving.encode(), revision)
        .context("marking the move in the directory")?
    {
        bail!("the directory entry of account {account} changed meanwhile; nothing moved");
    }
    let undo = |source: &mut Admin| {
        let _ = source.request(&Request::AdminFreezeAccount {
            account,
            frozen: false,
        });
        let _ = match &entry {
            Some(e) => m.etcd.put(&key, &e.value, 0),
            None => m.etcd.delete(&key),
        };
    };

    // 3. Freeze, copy, switch.
    let frozen_at = Instant::now();
    let copied = freeze_and_copy(&mut source, &mut target, account);
    let (entries, bytes) = match copied {
        Ok(n) => n,
        Err(e) => {
            undo(&mut source);
            return Err(e.context("copying the account (the source is serving it again)"));
        }
    };
    let marked = m
        .etcd
        .get_entry(&key)
        .context("reading the directory")?
        .filter(|e| AccountPlacement::decode(&e.value).as_ref() == Some(&moving));
    let switched = AccountPlacement {
        v: PLACEMENT_VERSION,
        pair: m.target.to_string(),
        moving_to: None,
    };
    let done = match &marked {
        Some(e) => m
            .etcd
            .put_if_unchanged(&key, &switched.encode(), e.mod_revision)
            .context("switching the directory")?,
        None => false,
    };
    if !done {
        undo(&mut source);
        bail!("the directory entry of account {account} changed during the copy; the source serves it again");
    }
    let moved = source.request(&Request::AdminAccountMoved {
        account,
        address: address.to_string(),
    });
    let stopped = frozen_at.elapsed();
    expect_ok("AdminAccountMoved", moved?)?;
    expect_ok(
        "AdminFreezeAccount",
        target.request(&Request::AdminFreezeAccount {
            account,
            frozen: false,
        })?,
    )?;
    writeln!(
        out,
        "account {account} moved from pair {from} to pair {} ({address}): {entries} keys, \
         {bytes} bytes; its writes were refused for {} ms",
        m.target,
        stopped.as_millis()
    )?;
    Ok(())
}

/// Freezes the account on the source, then copies every page to the target; the
/// number of keys and bytes copied.
fn freeze_and_copy(source: &mut Admin, target: &mut Admin, account: u64) -> Result<(u64, u64)> {
    expect_ok(
        "AdminFreezeAccount",
        source.request(&Request::AdminFreezeAccount {
            account,
            frozen: true,
        })?,
    )?;
    let (mut entries, mut bytes) = (0u64, 0u64);
    let mut after = None;
    let mut first = true;
    loop {
        let page = match source.request(&Request::AdminExportAccount { account, after })? {
            Response::AccountExport(p) => p,
            other => return Err(unexpected("AdminExportAccount", &other)),
        };
        entries += page.entries.len() as u64;
        bytes += page
            .entries
            .iter()
            .map(|e| (e.key.len() + e.value.len()) as u64)
            .sum::<u64>();
        expect_ok(
            "AdminImportAccount",
            target.request(&Request::AdminImportAccount {
                account,
                entries: page.entries,
                first,
            })?,
        )?;
        first = false;
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok((entries, bytes)),
        }
    }
}
