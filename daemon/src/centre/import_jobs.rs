//! Import chunks applied over several turns (issue 13; `wire/PROTOCOL.md` section
//! 17.6.1).
//!
//! A chunk of `ImportContacts` (up to 256 KiB, about 9,000 rows) parsed and stored in
//! the turn that read it took 120–230 ms of the shard's loop. Instead it becomes the
//! account's **import job** (one at a time per account; the agent's connection is
//! paused, so its requests stay in order): at each commit ([`Centre::import_tick`]) at
//! most [`ROWS_PER_TURN`] rows over the shard's jobs are admitted and stored, parsed
//! from at most [`PIECES_PER_TURN`] pieces of [`PIECE`] bytes of the chunk; the
//! answer is released with the last slice's batch.
//!
//! **All or nothing per chunk.** The chunk's contact numbers are reserved when it is
//! accepted (at most one row per line break of the chunk, plus one), with an
//! [`ImportJobRecord`] in the same batch; the last slice deletes that record. A record
//! found when the account loads means the daemon stopped before the answer: the
//! contacts of those numbers are left out (`read_crm`) and deleted here
//! ([`Centre::roll_back_import`]). A header that does not parse is refused before any
//! row, so a refused chunk stores nothing. A failed commit evicts the account; its job
//! is then refused (`STORAGE_FAILURE`) and rolled back at the next load.
//!
//! **Meanwhile** the contacts already stored are not shown (search, export, get: the
//! chunk appears whole when answered) and a request may not change them
//! (`CONTACT_IMPORTING`); another import, and tag or group edits, wait
//! (`IMPORT_RUNNING`); a broadcast to them is `RECIPIENTS_IMPORTING`
//! (`submit_jobs.rs`). A customer's conversation or request that changes one takes it
//! out of the chunk (`Centre::keep_from_import`): kept, with the change, whatever
//! becomes of the chunk. The counters the chunk raised are stored without its share
//! until it is answered (`ChunkCounts`), so a chunk rolled back counted nothing.

use super::crm::{ChunkCounts, ImportRun, MAX_IMPORT_CHUNK, MAX_REASON_CHARS};
use super::{err, Centre, ReplyTo};
use crate::crm::{CsvImport, ImportCatalog, ImportSession, LimitWarning};
use crate::session::ConnUpdate;
use crate::store::import_job_records::ImportJobRecord;
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::crm::{ImportReport, InvalidRow};
use kefu_wire::{ErrorBody, ErrorCode, Response};
use std::collections::BTreeMap;

/// Rows admitted and stored per turn on a shard, over all its import jobs: about
/// 15–25 µs each (admission, the search index, the record), a few milliseconds a turn.
pub const ROWS_PER_TURN: usize = 256;
/// Bytes of a chunk parsed at a time, ahead of the rows to store.
pub const PIECE: usize = 8 * 1024;
/// Pieces parsed per turn at most (rows of long cells need more than one).
pub const PIECES_PER_TURN: usize = 4;

/// One account's chunk being applied.
pub(super) struct ImportJob {
    agent: u32,
    reply: ReplyTo,
    /// The agent's connection, paused until the answer (`None`: the operator's).
    conn: Option<(usize, u32)>,
    run: ImportRun,
    chunk: Vec<u8>,
    /// Bytes of `chunk` fed to the parser.
    fed: usize,
    last: bool,
    /// Whether the parser has been told the file ended (`last` only).
    finished: bool,
    /// The numbers reserved, and the next one to give.
    reserved: ImportJobRecord,
    next_no: u64,
    warning: Option<LimitWarning>,
    owners_changed: bool,
    /// Failed commits when the job started: one since evicted the account.
    epoch: u64,
}

/// The shard's import jobs, by account.
pub(super) type ImportJobs = BTreeMap<u64, ImportJob>;

/// At most one row per record terminator (LF or CR) of the chunk, and the last row
/// without one.
fn rows_bound(chunk: &[u8]) -> u64 {
    let breaks = chunk.iter().filter(|b| matches!(b, b'\n' | b'\r')).count();
    breaks as u64 + 1
}

fn report_of(session: &ImportSession, finished: bool) -> ImportReport {
    let r = session.report();
    ImportReport {
        imported: r.imported,
        skipped_existing: r.skipped_existing,
        refused_plan: r.refused_plan,
        refused_daily: r.refused_daily,
        invalid: r
            .invalid
            .iter()
            .map(|i| {
                let mut reason = i.reason.to_string();
                if let Some((cut, _)) = reason.char_indices().nth(MAX_REASON_CHARS) {
                    reason.truncate(cut);
                    reason.push('…');
                }
                InvalidRow {
                    line: i.line,
                    reason,
                }
            })
            .collect(),
        invalid_total: r.invalid_total,
        finished,
    }
}

/// What one slice did to a job.
enum Step {
    /// Rows left.
    More,
    /// The chunk is applied: the answer.
    Done(ImportReport),
    /// The chunk is refused (its header).
    Refused(ErrorBody),
}

impl Centre {
    /// `ImportContacts`: takes the chunk into the account's import job; its answer
    /// comes when the job finishes. `conn`: the agent's connection, paused meanwhile.
    #[allow(clippy::too_many_arguments)] // the request's fields and where it came from
    pub(super) fn start_import(
        &mut self,
        account: u64,
        me: u32,
        conn: Option<(usize, u32)>,
        reply: ReplyTo,
        chunk: Vec<u8>,
        first: bool,
        last: bool,
    ) -> Result<(), ErrorBody> {
        if chunk.len() > MAX_IMPORT_CHUNK {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("an import chunk is at most {MAX_IMPORT_CHUNK} bytes"),
            ));
        }
        self.no_import_running(account)?;
        let now = self.now_secs();
        let operator = conn.is_none();
        let crm = self.crm_mut(account)?;
        if first {
            let catalog = ImportCatalog::new(&crm.tags, &crm.groups);
            let session = if operator {
                ImportSession::operator()
            } else {
                ImportSession::new()
            };
            crm.imports.insert(
                me,
                ImportRun {
                    csv: CsvImport::new(catalog, (!operator).then_some(me), now),
                    session,
                },
            );
        }
        let Some(run) = crm.imports.remove(&me) else {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "no import is running: send the first chunk with first = true",
            ));
        };
        let first_no = crm.next_contact;
        let reserved = ImportJobRecord {
            account,
            first: first_no,
            end: first_no.saturating_add(rows_bound(&chunk)),
        };
        crm.next_contact = reserved.end;
        crm.chunk_counts = Some(ChunkCounts::default());
        self.batch.put(
            Cf::CrmAccounts,
            &keys::import_job(account),
            reserved.encode(),
        );
        self.save_crm_account(account);
        let epoch = self.evictions;
        self.import_jobs.insert(
            account,
            ImportJob {
                agent: me,
                reply,
                conn,
                run,
                chunk,
                fed: 0,
                last,
                finished: false,
                reserved,
                next_no: first_no,
                warning: None,
                owners_changed: false,
                epoch,
            },
        );
        Ok(())
    }

    /// Refuses (`IMPORT_RUNNING`) while a chunk of the account is being applied.
    pub(super) fn no_import_running(&self, account: u64) -> Result<(), ErrorBody> {
        if self.import_jobs.contains_key(&account) {
            return Err(err(
                ErrorCode::IMPORT_RUNNING,
                "an import chunk of this account is being applied: retry once it is answered",
            ));
        }
        Ok(())
    }

    /// The contact numbers stored so far by the account's running import chunk.
    pub(super) fn importing_numbers(&self, account: u64) -> std::ops::Range<u64> {
        self.import_jobs
            .get(&account)
            .map_or(0..0, |j| j.reserved.first..j.next_no)
    }

    /// Refuses (`CONTACT_IMPORTING`) a change to contact `no` while the import chunk
    /// that added it may still be rolled back.
    pub(super) fn not_importing(&self, account: u64, no: u64) -> Result<(), ErrorBody> {
        if self.importing_numbers(account).contains(&no) {
            return Err(err(
                ErrorCode::CONTACT_IMPORTING,
                "this contact's import chunk is still being applied: retry once it is answered",
            ));
        }
        Ok(())
    }

    /// Whether an import job is running on the shard (the loop turns again at once).
    pub(super) fn importing(&self) -> bool {
        !self.import_jobs.is_empty()
    }

    /// At each commit: one slice of the shard's import jobs, [`ROWS_PER_TURN`] rows in
    /// all; a job done answers in this turn's batch.
    pub(super) fn import_tick(&mut self) {
        let mut budget = ROWS_PER_TURN;
        let accounts: Vec<u64> = self.import_jobs.keys().copied().collect();
        for account in accounts {
            if budget == 0 {
                break;
            }
            let Some(mut job) = self.import_jobs.remove(&account) else {
                continue;
            };
            if job.epoch != self.evictions || !self.actors.contains_key(&account) {
                // A failed commit dropped the account: what this job stored is rolled
                // back when it loads again (its record is on the disk).
                let refused = err(
                    ErrorCode::STORAGE_FAILURE,
                    "a write failed while the chunk was applied: nothing of it is kept",
                );
                self.end_job(job.reply, job.conn, Err(refused));
                continue;
            }
            match self.import_slice(account, &mut job, &mut budget) {
                Ok(Step::More) => {
                    self.import_jobs.insert(account, job);
                }
                Ok(Step::Done(report)) => {
                    let ImportJob {
                        agent,
                        reply,
                        conn,
                        run,
                        last,
                        warning,
                        owners_changed,
                        ..
                    } = job;
                    if let Ok(crm) = self.crm_mut(account) {
                        // Answered: its counts are the account's now.
                        crm.chunk_counts = None;
                        if !last {
                            // The next chunk goes on from where this one stopped.
                            crm.imports.insert(agent, run);
                        }
                    }
                    self.batch
                        .delete(Cf::CrmAccounts, &keys::import_job(account));
                    self.save_crm_account(account);
                    self.limit_warning(account, warning);
                    if owners_changed {
                        self.owners_changed(account);
                    }
                    let answer = Ok(Response::Import(report));
                    self.end_job(reply, conn, answer);
                }
                Ok(Step::Refused(e)) | Err(e) => {
                    // Nothing of the chunk was stored (no row comes before the header).
                    if let Ok(crm) = self.crm_mut(account) {
                        crm.chunk_counts = None;
                    }
                    self.batch
                        .delete(Cf::CrmAccounts, &keys::import_job(account));
                    self.end_job(job.reply, job.conn, Err(e));
                }
            }
        }
    }

    /// Answers a job (import or submission) and lets its connection read on.
    pub(super) fn end_job(
        &mut self,
        reply: ReplyTo,
        conn: Option<(usize, u32)>,
        answer: super::Answer,
    ) {
        self.reply(reply, answer);
        if let Some((idx, generation)) = conn {
            self.update_conn(idx, generation, ConnUpdate::Resume);
        }
    }

    /// Parses ahead and stores up to `budget` rows of `job`.
    fn import_slice(
        &mut self,
        account: u64,
        job: &mut ImportJob,
        budget: &mut usize,
    ) -> Result<Step, ErrorBody> {
        let now = self.now_secs();
        let mut rows = Vec::new();
        let mut pieces = 0;
        // Every byte fed, the end told, and the parser drained.
        let mut exhausted = false;
        loop {
            while rows.len() < *budget {
                match job.run.csv.poll_row() {
                    Some(row) => rows.push(row),
                    None => break,
                }
            }
            if rows.len() >= *budget || pieces == PIECES_PER_TURN {
                break;
            }
            let fed = if job.fed < job.chunk.len() {
                let end = job.fed.saturating_add(PIECE).min(job.chunk.len());
                let piece = job.chunk.get(job.fed..end).unwrap_or(&[]);
                job.fed = end;
                job.run.csv.feed(piece)
            } else if job.last && !job.finished {
                job.finished = true;
                job.run.csv.finish()
            } else {
                exhausted = true;
                break;
            };
            pieces += 1;
            if let Err(e) = fed {
                return Ok(Step::Refused(err(
                    ErrorCode::INVALID_ARGUMENT,
                    e.to_string(),
                )));
            }
        }
        let taken = rows.len();
        *budget -= taken;
        let crm = self.crm_mut(account)?;
        let by_key = &crm.by_key;
        let before = crm.limits.counters();
        let (new, warning) =
            job.run
                .session
                .admit(rows, |k| by_key.contains_key(k), &mut crm.limits, now);
        let after = crm.limits.counters();
        crm.chunk_counts.get_or_insert_default().add(before, after);
        if let Some(w) = warning {
            if job.warning.is_none_or(|old| w.level > old.level) {
                job.warning = Some(w);
            }
        }
        let mut numbers = Vec::with_capacity(new.len());
        for contact in new {
            let no = job.next_no;
            if no >= job.reserved.end {
                return Err(err(ErrorCode::INTERNAL, "more rows than line breaks"));
            }
            job.next_no += 1;
            job.owners_changed |= contact.exclusive_owner.is_some();
            crm.insert(no, contact, String::new());
            numbers.push(no);
        }
        for no in numbers {
            self.save_contact(account, no);
        }
        self.counters.import_slice(taken as u64);
        if exhausted {
            return Ok(Step::Done(report_of(&job.run.session, job.last)));
        }
        Ok(Step::More)
    }

    /// An account loaded with the record of a chunk the daemon stopped applying: its
    /// contacts (left out by `read_crm`) and the record are deleted in this batch.
    pub(super) fn roll_back_import(&mut self, account: u64) {
        let Some(r) = self
            .actors
            .get_mut(&account)
            .and_then(|a| a.crm.rolled_back.take())
        else {
            return;
        };
        crate::log::info(
            self.id,
            format_args!(
                "account {account}: an import chunk was not finished; its contacts {}..{} \
                 are rolled back",
                r.first, r.end
            ),
        );
        self.batch.delete_range(
            Cf::Contacts,
            &keys::contact_numbers(account, r.first, r.end),
        );
        self.batch
            .delete(Cf::CrmAccounts, &keys::import_job(account));
        self.touched.push(account);
    }
}
