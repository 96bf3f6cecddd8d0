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
//! 3. **Live copy**: takes the source's latest sequence S, then copies every page to
//!    the target (which keeps the account frozen) while the source goes on serving it.
//! 4. **Catch-up rounds**: the account's changes after S, read back from the source's
//!    write-ahead log, applied at the target one round (one batch) at a time, until a
//!    round finds the source caught up with at most [`SMALL_ROUND`] changes (or no
//!    fewer than the round before: writes come as fast as they are shipped, or
//!    [`MAX_ROUNDS`] rounds).
//! 5. **Frozen**: freezes the account on the source (`ACCOUNT_MOVING` from then on:
//!    what was acknowledged before is in its log), ships the last changes, switches the
//!    directory entry to `{pair: target}` in one transaction, tells the source
//!    (`AdminAccountMoved`: its clients get `GoAwayTo` the target's leader) and thaws
//!    the account on the target. Only this step refuses the account's writes.
//!
//! If the source's log no longer reaches back (`MOVE_LOG_GONE`: its files were deleted
//! once flushed, `[storage] wal_archive_seconds`), the move falls back to a copy with the
//! account frozen: the target's copy is cleared (an `AccountChange::Clear` round) and
//! copied again, and the output says so.
//!
//! Each phase is printed (copy: keys, bytes, ms; each round: changes, ms; frozen: ms).
//! A failure before the switch thaws the source and puts the directory entry back;
//! the target keeps what it received (the operator deletes it before retrying:
//! `ACCOUNT_PRESENT` otherwise). The source's copy stays, for the operator to delete
//! (`kefuctl account delete`) once satisfied.

use crate::admin::{expect_ok, unexpected, Admin, RequestError};
use anyhow::{anyhow, bail, Context, Result};
use kefu_etcd::pair::{account_key, AccountPlacement, LeaderValue, PLACEMENT_VERSION};
use kefu_etcd::Etcd;
use kefu_wire::account_move::{AccountChange, AccountChanges};
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

    // 3–5. Copy live, catch up, freeze for the last round.
    let frozen = match copy_and_catch_up(&mut source, &mut target, account, out) {
        Ok(f) => f,
        Err(e) => {
            undo(&mut source);
            return Err(e.context("moving the account (the source is serving it again)"));
        }
    };
    let caught_up = frozen.elapsed();
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
    let switch = frozen.elapsed();
    let moved = source.request(&Request::AdminAccountMoved {
        account,
        address: address.to_string(),
    });
    let stopped = frozen.elapsed();
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
        "account {account} moved from pair {from} to pair {} ({address}); its writes were \
         refused for {} ms (last rounds {} ms, directory switch {} ms, the source's \
         release {} ms)",
        m.target,
        stopped.as_millis(),
        caught_up.as_millis(),
        (switch - caught_up).as_millis(),
        (stopped - switch).as_millis()
    )?;
    Ok(())
}

/// A catch-up round this small, with the source caught up, is the last before the
/// freeze: shipping it frozen takes about one round trip.
pub const SMALL_ROUND: usize = 256;

/// Rounds before the freeze at most, however the changes come in.
pub const MAX_ROUNDS: usize = 16;

/// Steps 3–5 of the module doc up to the last round applied, printing each phase; when
/// the source was frozen (the writes refused from then on).
fn copy_and_catch_up(
    source: &mut Admin,
    target: &mut Admin,
    account: u64,
    out: &mut dyn Write,
) -> Result<Instant> {
    let start = match changes(source, account, None) {
        Ok(c) => Some(c.upto),
        Err(e) if RequestError::code_of(&e) == Some(ErrorCode::MOVE_LOG_GONE) => None,
        Err(e) => return Err(e),
    };
    let Some(start) = start else {
        writeln!(
            out,
            "the source keeps no write-ahead log: copying with the account frozen"
        )?;
        let frozen = freeze(source, account)?;
        copy(source, target, account, true, out, "frozen copy")?;
        return Ok(frozen);
    };
    copy(source, target, account, true, out, "copy (serving)")?;
    let mut cursor = start;
    let mut previous = usize::MAX;
    let mut round = 0;
    // Rounds while serving.
    loop {
        round += 1;
        let began = Instant::now();
        let Some(c) = catch_up_round(source, target, account, cursor, out)? else {
            return fall_back(source, target, account, cursor, out);
        };
        cursor = c.upto;
        let n = c.changes;
        writeln!(
            out,
            "round {round}: {n} changes in {} ms (to sequence {})",
            began.elapsed().as_millis(),
            c.upto
        )?;
        let caught_up = c.upto >= c.latest;
        if round >= MAX_ROUNDS || (caught_up && (n <= SMALL_ROUND || n >= previous)) {
            break;
        }
        if caught_up {
            previous = n;
        }
    }
    // Frozen: the last changes, up to the source's latest sequence once frozen.
    let frozen = freeze(source, account)?;
    let mut goal = None;
    let mut last = 0;
    while goal.is_none_or(|g| cursor < g) {
        let Some(c) = catch_up_round(source, target, account, cursor, out)? else {
            return fall_back(source, target, account, cursor, out).map(|_| frozen);
        };
        goal.get_or_insert(c.latest);
        cursor = c.upto;
        last += c.changes;
    }
    writeln!(
        out,
        "frozen: last round {last} changes, {} ms after the freeze",
        frozen.elapsed().as_millis()
    )?;
    Ok(frozen)
}

/// What one catch-up round applied.
struct Round {
    changes: usize,
    upto: u64,
    latest: u64,
}

/// Reads the account's changes after `cursor` at the source and applies them at the
/// target; `None` if the source's log no longer reaches back to `cursor`.
fn catch_up_round(
    source: &mut Admin,
    target: &mut Admin,
    account: u64,
    cursor: u64,
    out: &mut dyn Write,
) -> Result<Option<Round>> {
    let c = match changes(source, account, Some(cursor)) {
        Ok(c) => c,
        Err(e) if RequestError::code_of(&e) == Some(ErrorCode::MOVE_LOG_GONE) => {
            writeln!(
                out,
                "the source's write-ahead log no longer reaches back to sequence {cursor}: {e:#}"
            )?;
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let round = Round {
        changes: c.changes.len(),
        upto: c.upto,
        latest: c.latest,
    };
    expect_ok(
        "AdminApplyAccountChanges",
        target.request(&Request::AdminApplyAccountChanges {
            account,
            after: cursor,
            upto: c.upto,
            changes: c.changes,
        })?,
    )?;
    Ok(Some(round))
}

/// The fallback once the source's log is gone: freeze, clear the target's copy, copy
/// again; when the source was frozen.
fn fall_back(
    source: &mut Admin,
    target: &mut Admin,
    account: u64,
    cursor: u64,
    out: &mut dyn Write,
) -> Result<Instant> {
    writeln!(out, "falling back: the account is frozen for a whole copy")?;
    let frozen = freeze(source, account)?;
    expect_ok(
        "AdminApplyAccountChanges",
        target.request(&Request::AdminApplyAccountChanges {
            account,
            after: cursor,
            upto: cursor,
            changes: vec![AccountChange::Clear],
        })?,
    )?;
    copy(source, target, account, false, out, "frozen copy")?;
    Ok(frozen)
}

/// `AdminAccountChanges`.
fn changes(source: &mut Admin, account: u64, after: Option<u64>) -> Result<AccountChanges> {
    match source.request(&Request::AdminAccountChanges { account, after })? {
        Response::AccountChanges(c) => Ok(c),
        other => Err(unexpected("AdminAccountChanges", &other)),
    }
}

/// Freezes the account on the source; when.
fn freeze(source: &mut Admin, account: u64) -> Result<Instant> {
    let at = Instant::now();
    expect_ok(
        "AdminFreezeAccount",
        source.request(&Request::AdminFreezeAccount {
            account,
            frozen: true,
        })?,
    )?;
    Ok(at)
}

/// Copies every page of the account to the target (`first`: the first page is
/// refused if the target holds the account), printing keys, bytes and time.
fn copy(
    source: &mut Admin,
    target: &mut Admin,
    account: u64,
    mut first: bool,
    out: &mut dyn Write,
    what: &str,
) -> Result<()> {
    let began = Instant::now();
    let (mut entries, mut bytes) = (0u64, 0u64);
    let mut after = None;
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
            None => break,
        }
    }
    writeln!(
        out,
        "{what}: {entries} keys, {bytes} bytes in {} ms",
        began.elapsed().as_millis()
    )?;
    Ok(())
}
