//! Group commit off the loop (issue 13, point 4).
//!
//! A synced write takes as long as the disk's flush; on the loop it would stop the
//! shard from reading, parsing and deciding meanwhile. So the shard starts a
//! **committer** thread of its own and the turn's batch goes there:
//!
//! - In `fsync` (and `replicated`) mode **every batch** goes to the committer
//!   (`Centre::commit_off_loop`).
//! - In `wal` mode the write is memtable inserts plus a `write(2)`: cheap for a small
//!   batch, a stop of the loop for a large one. Off the loop the write costs a thread
//!   hand-off (two wake-ups, about 50 µs, more when the box's cores are busy) and every
//!   turn behind it waits for it; on the loop it delays only the input that arrives
//!   meanwhile. So the hand-off pays only when the loop has other work to do while
//!   RocksDB writes, i.e. when it is **behind**, and [`OffLoopRule`] sends a turn's
//!   batch (nothing being in flight) to the committer when
//!   - it holds at least `[storage] wal_commit_off_loop_ops` operations (default 1,024:
//!     no single turn stops the loop for a write of milliseconds), or
//!   - it holds at least `[storage] wal_commit_off_loop_behind_ops` (M, default 64)
//!     and the loop is behind: it left input unread at the end of the turn (a read,
//!     request, login or inbox budget ran out, so it turns again at once:
//!     [`Centre::set_input_left`]), or the turn before wrote (or handed over) a batch
//!     of M too. One large batch alone is what a preemption leaves at low load (the
//!     loop was off its core, then reads what came meanwhile, and has caught up after
//!     it); two in a row say that the input outruns the loop.
//!
//!   Everything else is written on the loop (`Centre::commit`, as it always was).
//!   Hysteresis: in the pipelined mode the turns behind a batch in flight accumulate,
//!   and when it is reported the accumulation is judged by the same rule, the batch
//!   reported counting as the turn before: the loop stays pipelined while each
//!   accumulation holds M, and writes on the loop again as soon as the committer is
//!   idle and a batch is under M (the loop keeps up). The rule reads only counts the
//!   loop already has (operations, input left): no clock, no syscall.
//!   Known limit: the accumulation grows with the committer's round trip as well as
//!   with the input, so a committer slow to get a core (a box whose cores are all
//!   busy) keeps the loop pipelined at rates it could write itself. Judging by each
//!   turn's own operations instead (stay while one of the last two turns adds M/4)
//!   left the pipelined mode at 50,000 msg/s, where a loop relieved of its writes runs
//!   short turns, and wrote most batches on the loop again (session 14's sweeps).
//!   `wal_commit_off_loop_ops = 0` starts no committer (every batch on the loop);
//!   `wal_commit_off_loop_behind_ops = 0` leaves the size rule alone (session 13's).
//!   Once a batch is in flight every later turn waits behind it, as in `fsync` mode,
//!   whatever its size. Every rule below holds in both modes.
//! - At most **one batch is in flight**. A turn that ends while one is in flight
//!   writes nothing: its records stay in the centre's batch and the next turns'
//!   add to it, so under load the batches grow and the writes per second stay bounded
//!   (one at a time, back to back) while the messages per second grow.
//! - **Nothing is released before its batch is written**: the answers, pushes, calls
//!   and goodbyes of the turns a batch carries wait with it ([`InFlight`]), and what
//!   later turns produce waits behind them, so the order on every connection is the
//!   order of the turns. A turn whose batch is empty while nothing is in flight is
//!   released at once, as on the synchronous path.
//! - The committer reports through the shard's mailbox (`Mailbox::call`, which wakes
//!   the loop); [`Centre::committed`] releases the batch's outgoings, or undoes; the
//!   accumulation behind it is handed over at the end of that turn.
//! - **A failed batch undoes everything that stood on it**: the turns that came after
//!   it ran on memory that held its changes, so its accounts, logins and outbox are
//!   merged into the current turn's and the whole is undone at once (`undo_turn`):
//!   every account written or touched since is evicted and reloads from the disk,
//!   the logins are logged out, every success is answered `STORAGE_FAILURE` (or
//!   `DISK_FULL`), and nothing of the current accumulation is written.
//! - The accumulation is bounded (`MAX_ACCUMULATED_OPS`, `Centre::backlogged`): past
//!   it the loop reads and serves nothing until the batch in flight is reported.
//! - Reads of the store on the loop see only written records. What must see a
//!   record still in flight is kept beside the batch: client message ids (a retry
//!   while its first copy is in flight is a duplicate, not a new message) and
//!   deleted accounts (refused until the deletion is written, and loads that started
//!   before it are not adopted).

use super::{err, log, Centre, Outgoing};
use crate::session::SessionId;
use crate::store::{Batch, BatchOp, Cf, KvStore, StoreError};
use kefu_wire::{ErrorBody, ErrorCode};
use std::collections::HashMap;
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

/// Operations the turns behind a batch in flight may accumulate; past them the loop
/// reads and serves nothing more until the batch is reported (a disk slower than the
/// traffic leaves the traffic in the kernel's buffers, TCP slowing the peers, rather
/// than in the shard's memory).
const MAX_ACCUMULATED_OPS: usize = 65_536;

/// The committer thread of one shard.
pub(crate) struct Committer {
    tx: Option<Sender<Arc<Batch>>>,
    thread: Option<JoinHandle<()>>,
    /// Which batches go to the thread when none is in flight.
    rule: OffLoopRule,
}

/// Which batches go to the committer when none is in flight (see the module doc).
#[derive(Debug, Clone, Copy)]
struct OffLoopRule {
    /// A batch of at least this many operations always goes (1: every batch, `fsync`
    /// mode; `wal` mode's `[storage] wal_commit_off_loop_ops`).
    always_from: usize,
    /// While the loop is behind, a batch of at least this many goes too (0: never by
    /// this rule; `[storage] wal_commit_off_loop_behind_ops`).
    behind_from: usize,
    /// The turn before wrote (or handed over) a batch of `behind_from` or more.
    last_large: bool,
    /// The loop left input unread at the end of this turn (`Centre::set_input_left`).
    input_left: bool,
}

impl OffLoopRule {
    fn new(always_from: usize, behind_from: usize) -> OffLoopRule {
        OffLoopRule {
            always_from,
            behind_from,
            last_large: false,
            input_left: false,
        }
    }

    /// Whether a turn's batch of `ops` operations (nothing in flight) goes off the
    /// loop; remembers its size for the next turn's decision and forgets this turn's
    /// word from the loop.
    fn off_loop(&mut self, ops: usize) -> bool {
        let large = self.behind_from > 0 && ops >= self.behind_from;
        let behind = self.input_left || self.last_large;
        self.last_large = large;
        self.input_left = false;
        ops > 0 && (ops >= self.always_from || (large && behind))
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // The thread ends once its queue is closed, after the batch it holds.
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The batch being synced and everything that waits for it.
pub(crate) struct InFlight {
    /// Answers, pushes, calls and goodbyes of the turns it carries.
    outbox: Vec<Outgoing>,
    /// Items the loop queued meanwhile (released whatever the outcome).
    settled: Vec<Outgoing>,
    /// Accounts its keys name, and accounts touched without keys of their own.
    accounts: Vec<u64>,
    /// Logins it carries (logged out if it fails).
    logins: Vec<(usize, u32, SessionId)>,
    /// Client message ids it stores.
    client_msgs: HashMap<Vec<u8>, u64>,
    /// Accounts it deletes.
    deleted: Vec<u64>,
    /// Its operations, and how many of them are messages (for the counters).
    ops: u64,
    messages: u64,
    /// The batch itself, shared with the committer, so that a read-modify-write on the
    /// loop sees what it holds ([`Centre::unwritten_value`]).
    batch: Arc<Batch>,
}

/// How many of a batch's operations store a message.
pub(super) fn message_puts(batch: &Batch) -> u64 {
    batch
        .ops()
        .filter(|op| {
            matches!(
                op,
                BatchOp::Put {
                    cf: Cf::Messages,
                    ..
                }
            )
        })
        .count() as u64
}

/// What a failed write is answered with.
pub(super) fn refusal(id: usize, e: StoreError) -> ErrorBody {
    match e {
        // The store logs entering and leaving the full state, once each.
        StoreError::DiskFull { .. } => err(
            ErrorCode::DISK_FULL,
            "disk full: writes are refused until space is freed; nothing was changed",
        ),
        StoreError::NotPrimary(why) => {
            log::warn(
                id,
                format_args!("commit not acknowledged: not the primary: {why}"),
            );
            err(
                ErrorCode::NOT_PRIMARY,
                "this server is not the primary of its pair (any more); \
                 reconnect to the other member",
            )
        }
        e => {
            log::error(id, format_args!("commit failed, turn undone: {e}"));
            err(
                ErrorCode::STORAGE_FAILURE,
                "storage failed; nothing was changed",
            )
        }
    }
}

impl Centre {
    /// From now on, every batch is written on a committer thread of this shard (see
    /// the module doc). The shard calls it in `fsync` and `replicated` mode.
    pub fn commit_off_loop(&mut self) -> std::io::Result<()> {
        self.start_committer(OffLoopRule::new(1, 0))
    }

    /// `wal` mode: from now on, a batch of at least `[storage] wal_commit_off_loop_ops`
    /// operations, or of `wal_commit_off_loop_behind_ops` while the loop is behind
    /// (both read now), is written on a committer thread of this shard, and so is
    /// every batch behind one in flight; other batches are written on the loop (see
    /// the module doc). With the first setting at 0 no thread is started and every
    /// batch is written on the loop.
    pub fn commit_large_batches_off_loop(&mut self) -> std::io::Result<()> {
        match self.settings.wal_commit_off_loop_ops {
            0 => Ok(()),
            always_from => self.start_committer(OffLoopRule::new(
                always_from,
                self.settings.wal_commit_off_loop_behind_ops,
            )),
        }
    }

    /// The loop's word on this turn, given before [`Centre::commit`]: it left input
    /// unread (a budget ran out) and turns again at once, so it is behind and `wal`
    /// mode's committer takes a batch of `wal_commit_off_loop_behind_ops` (see the
    /// module doc). Forgotten at the commit.
    pub fn set_input_left(&mut self, left: bool) {
        if let Some(c) = self.committer.as_mut() {
            c.rule.input_left = left;
        }
    }

    fn start_committer(&mut self, rule: OffLoopRule) -> std::io::Result<()> {
        let (tx, rx) = channel::<Arc<Batch>>();
        let store: Arc<dyn KvStore> = Arc::clone(&self.shared.store);
        let mailbox = Arc::clone(&self.mailbox);
        let replication = self.shared.replication.clone();
        let durability = self.shared.durability;
        let thread = std::thread::Builder::new()
            .name(format!("kefu-commit-{}", self.id))
            .spawn(move || {
                for batch in rx {
                    let began = Instant::now();
                    let mut result = store.write(&batch, durability);
                    if let (Ok(()), Some(hook)) = (&result, &replication) {
                        result = hook.after_commit(store.latest_sequence().unwrap_or(0));
                    }
                    let took = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
                    // Usually the last holder: the batch's memory is freed off the loop.
                    drop(batch);
                    mailbox.call(Box::new(move |c: &mut Centre| c.committed(result, took)));
                }
            })?;
        self.committer = Some(Committer {
            tx: Some(tx),
            thread: Some(thread),
            rule,
        });
        Ok(())
    }

    /// Whether the turns behind the batch in flight have accumulated enough: the
    /// loop then takes on no more requests until the batch is reported.
    pub fn backlogged(&self) -> bool {
        self.inflight.is_some() && self.batch.len() >= MAX_ACCUMULATED_OPS
    }

    /// Whether this turn's batch goes to the committer thread: always behind a batch
    /// in flight (the turn waits for it, and its batch is judged when that one is
    /// reported), else as [`OffLoopRule`] says (every non-empty batch in `fsync` mode).
    /// Called once a turn, at its commit.
    pub(super) fn commits_off_loop(&mut self) -> bool {
        let Some(c) = self.committer.as_mut() else {
            return false;
        };
        if self.inflight.is_some() {
            c.rule.input_left = false;
            return true;
        }
        c.rule.off_loop(self.batch.len())
    }

    /// The end of a turn whose batch goes to the committer (`commits_off_loop`):
    /// hands the batch over if none is in flight; returns what may be released now.
    pub(super) fn commit_pipelined(&mut self) -> Vec<Outgoing> {
        // Else everything of this turn waits behind the batch in flight.
        if self.inflight.is_none() {
            self.hand_over();
        }
        self.publish_metrics();
        std::mem::take(&mut self.ready)
    }

    /// Sends the batch, with everything that waits for it, to the committer.
    fn hand_over(&mut self) {
        let batch = Arc::new(std::mem::take(&mut self.batch));
        let mut accounts = batch.accounts();
        accounts.append(&mut self.touched);
        let flight = InFlight {
            outbox: std::mem::take(&mut self.outbox),
            settled: std::mem::take(&mut self.settled),
            accounts,
            logins: std::mem::take(&mut self.logins),
            client_msgs: std::mem::take(&mut self.turn_client_msgs),
            deleted: std::mem::take(&mut self.deleted),
            ops: batch.len() as u64,
            messages: message_puts(&batch),
            batch: Arc::clone(&batch),
        };
        self.inflight = Some(flight);
        let sent = self
            .committer
            .as_ref()
            .and_then(|c| c.tx.as_ref())
            .is_some_and(|tx| tx.send(batch).is_ok());
        if !sent {
            self.committed(
                Err(StoreError::Engine("the committer thread is gone".into())),
                0,
            );
        }
    }

    /// The committer's report on the batch in flight: its outgoings are released
    /// (at the end of this turn), or it and everything since is undone.
    pub(super) fn committed(&mut self, result: Result<(), StoreError>, took_us: u64) {
        let Some(flight) = self.inflight.take() else {
            return;
        };
        if !flight.deleted.is_empty() {
            // Loads that started before the deletion was durable are not adopted.
            self.evictions += 1;
        }
        self.counters.add_commit();
        match result {
            Ok(()) => {
                self.counters
                    .commit_done(flight.ops, flight.messages, took_us);
                self.ready.extend(flight.outbox);
                self.ready.extend(flight.settled);
                // The batch behind it is handed over at the end of this turn, not here:
                // handed over now, the committer woke while the loop still ran the turn
                // and waited for a core (benches/results/commit-pipeline-2026-12-07.txt).
            }
            Err(e) => {
                self.counters.add_failed_commit();
                let refusal = refusal(self.id, e);
                let InFlight {
                    mut outbox,
                    mut settled,
                    accounts,
                    mut logins,
                    ..
                } = flight;
                outbox.append(&mut self.outbox);
                self.outbox = outbox;
                settled.append(&mut self.settled);
                self.settled = settled;
                self.touched.extend(accounts);
                logins.append(&mut self.logins);
                self.logins = logins;
                self.undo_turn(&refusal);
                self.batch.clear();
                self.end_turn_state();
                self.ready.append(&mut self.outbox);
                self.ready.append(&mut self.settled);
            }
        }
    }

    /// Clears what lives for one commit (the synchronous path's end of turn).
    pub(super) fn end_turn_state(&mut self) {
        if !self.deleted.is_empty() {
            // A load of a deleted account that started before this commit read what
            // the commit removed: it is not adopted (see `load.rs`).
            self.evictions += 1;
            self.deleted.clear();
        }
        self.touched.clear();
        self.logins.clear();
        self.turn_client_msgs.clear();
    }

    /// The message id a client message id was stored under, if its batch is not
    /// written yet (this turn's, or the one in flight).
    pub(super) fn unwritten_client_msg(&self, key: &[u8]) -> Option<u64> {
        self.turn_client_msgs.get(key).copied().or_else(|| {
            self.inflight
                .as_ref()
                .and_then(|f| f.client_msgs.get(key).copied())
        })
    }

    /// The operations of the batches not yet written, in write order: the one in
    /// flight on the committer, then this turn's. A read on the loop that must see
    /// the loop's own writes goes through them before the store.
    pub(super) fn unwritten_ops(&self) -> impl Iterator<Item = BatchOp<'_>> {
        self.inflight
            .iter()
            .flat_map(|f| f.batch.ops())
            .chain(self.batch.ops())
    }

    /// The value the batches not yet written give `key` (their last write of it):
    /// `Some(None)` for a delete, `None` when they do not write it (then the store has
    /// the answer). A read-modify-write on the loop goes through it, so that two
    /// changes in consecutive turns during one commit see each other.
    pub(super) fn unwritten_value(&self, cf: Cf, key: &[u8]) -> Option<Option<&[u8]>> {
        self.unwritten_ops()
            .filter_map(|op| match op {
                BatchOp::Put {
                    cf: c,
                    key: k,
                    value,
                } if c == cf && k == key => Some(Some(value)),
                BatchOp::Delete { cf: c, key: k } if c == cf && k == key => Some(None),
                BatchOp::DeleteRange { cf: c, start, end }
                    if c == cf && start <= key && key < end =>
                {
                    Some(None)
                }
                _ => None,
            })
            .last()
    }

    /// Whether the account was deleted by a batch not yet durable.
    pub(super) fn deletion_pending(&self, account: u64) -> bool {
        self.deleted.contains(&account)
            || self
                .inflight
                .as_ref()
                .is_some_and(|f| f.deleted.contains(&account))
    }
}
