//! Broadcast submissions resolved over several turns (issue 13; `wire/PROTOCOL.md`
//! section 30.13).
//!
//! A draft names up to 100 groups and 50,000 contacts, up to 100,000 recipients:
//! resolving them in the turn of the request made one long turn. Now the checks that
//! need no resolution are made at once (the survey, the resubmission, the body and
//! its bounds and words, the groups' existence: `broadcasts.rs`), then the request
//! becomes a **submission job** (the agent's connection paused, as for an import):
//! at each commit ([`Centre::submit_tick`]) at most [`RESOLVE_PER_TURN`] group members
//! or named contacts over the shard's jobs are looked up; the last step runs in one
//! turn — the audience checks, the cheap checks again (their subjects may have moved
//! meanwhile), then `store_submission` (units, token rule, the record) — and its
//! batch carries the answer. Nothing is stored before that step, so a refusal or a
//! crash changes nothing. A preview (`PreviewBroadcast`, `PreviewSurveyBroadcast`)
//! resolves its recipients the same way (a draft is checked as for a submission), and
//! its last step sends the preview instead.
//!
//! **Stored in parts.** A broadcast of more than [`PART`] recipients or named contacts
//! was encoded whole in the last step (50,000 named contacts: a record of a megabyte).
//! Once resolved, such a submission stores its recipients and named contacts in parts
//! of [`PART`], one part a turn on the shard (it costs the turn's lookups), under a
//! staging number; the last step writes only the small head that names them
//! (`store/broadcast_records.rs`). The refusals and their order are unchanged: the
//! audience's size is checked before the first part, the rest in the last step, whose
//! refusal deletes the parts in its batch. Parts that a stopped daemon left are deleted
//! when the account's broadcasts are next read.

use super::broadcasts::{check_recipients, Parts};
use super::crm::CrmState;
use super::{err, Centre, ReplyTo};
use crate::crm::{ContactState, GroupId};
use crate::store::broadcast_records::{BroadcastPartRecord, PART};
use crate::store::{keys, Cf};
use kefu_wire::valueadded::BroadcastDraft;
use kefu_wire::{ErrorBody, ErrorCode};
use std::collections::BTreeSet;

/// Group members or named contacts looked up per turn on a shard, over all its
/// submission jobs: well under a microsecond each.
pub const RESOLVE_PER_TURN: usize = 4_096;

/// A broadcast submission as the request made it.
pub(super) struct Submission {
    pub(super) account: u64,
    pub(super) agent: u32,
    /// `ResubmitBroadcast` of this cancelled broadcast.
    pub(super) resubmit: Option<u64>,
    /// `SubmitSurveyBroadcast` (or its preview) of this survey.
    pub(super) survey: Option<u64>,
    /// `PreviewBroadcast` or `PreviewSurveyBroadcast`: nothing is stored.
    pub(super) preview: bool,
    draft: BroadcastDraft,
    otp: Option<String>,
}

impl Submission {
    pub(super) fn new(
        account: u64,
        agent: u32,
        draft: BroadcastDraft,
        otp: Option<String>,
    ) -> Submission {
        Submission {
            account,
            agent,
            resubmit: None,
            survey: None,
            preview: false,
            draft,
            otp,
        }
    }
}

/// A submission whose recipients are being resolved.
pub(super) struct SubmitJob {
    submission: Submission,
    reply: ReplyTo,
    /// The agent's connection, paused until the answer (`None`: the operator's).
    conn: Option<(usize, u32)>,
    /// Where the resolution stands: the group, the member in it, the named contact.
    group: usize,
    member: usize,
    named: usize,
    numbers: BTreeSet<u64>,
    /// Once resolved, a large broadcast's parts being stored.
    storing: Option<Storing>,
    /// Failed commits when the job started.
    epoch: u64,
}

/// A resolved submission storing its parts (one a turn).
struct Storing {
    /// The recipients, ascending.
    recipients: Vec<u64>,
    parts: Parts,
    /// Parts written so far.
    written: u32,
}

/// Whether a broadcast of this size is stored in parts.
fn in_parts(recipients: usize, customers: usize) -> bool {
    recipients > PART || customers > PART
}

/// The shard's submission jobs, oldest first.
pub(super) type SubmitJobs = Vec<SubmitJob>;

/// Whether contact `no` exists and is not blacklisted (a broadcast leaves those out).
fn reachable(crm: &CrmState, no: u64) -> bool {
    crm.contacts
        .get(&no)
        .is_some_and(|s| s.contact.state != ContactState::Blacklisted)
}

impl Centre {
    /// `SubmitBroadcast`, `ResubmitBroadcast`, `SubmitSurveyBroadcast`: the checks that
    /// need no resolution, then the submission job; its answer comes when it finishes.
    pub(super) fn start_submission(
        &mut self,
        submission: Submission,
        conn: Option<(usize, u32)>,
        reply: ReplyTo,
    ) -> Result<(), ErrorBody> {
        self.check_submission(&submission)?;
        let epoch = self.evictions;
        self.submit_jobs.push(SubmitJob {
            submission,
            reply,
            conn,
            group: 0,
            member: 0,
            named: 0,
            numbers: BTreeSet::new(),
            storing: None,
            epoch,
        });
        Ok(())
    }

    /// In the order `SubmitBroadcast` always made them: the survey, the resubmission,
    /// the draft's content, its groups.
    fn check_submission(&mut self, s: &Submission) -> Result<(), ErrorBody> {
        self.account_mut(s.account)?;
        if let Some(survey) = s.survey {
            self.open_survey_form(s.account, survey)?;
        }
        self.check_resubmit(s.account, s.resubmit)?;
        self.check_draft_content(&s.draft)?;
        self.groups_exist(s.account, &s.draft.groups)
    }

    /// Whether a submission job runs on the shard (the loop turns again at once).
    pub(super) fn submitting(&self) -> bool {
        !self.submit_jobs.is_empty()
    }

    /// The staging numbers of the account's submissions storing parts (not orphans).
    pub(super) fn staging_numbers(&self, account: u64) -> Vec<u64> {
        self.submit_jobs
            .iter()
            .filter(|j| j.submission.account == account)
            .filter_map(|j| j.storing.as_ref().map(|st| st.parts.staging))
            .collect()
    }

    /// At each commit: [`RESOLVE_PER_TURN`] lookups over the shard's submission jobs,
    /// oldest first; a job resolved takes its last step and answers in this batch.
    pub(super) fn submit_tick(&mut self) {
        let mut budget = RESOLVE_PER_TURN;
        let jobs = std::mem::take(&mut self.submit_jobs);
        for mut job in jobs {
            if budget == 0 {
                self.submit_jobs.push(job);
                continue;
            }
            let account = job.submission.account;
            if job.epoch != self.evictions || !self.actors.contains_key(&account) {
                let refused = err(
                    ErrorCode::STORAGE_FAILURE,
                    "a write failed while the recipients were resolved: nothing was stored; \
                     submit again",
                );
                self.end_job(job.reply, job.conn, Err(refused));
                continue;
            }
            self.counters.submission_slice();
            let step = match job.storing {
                None => self
                    .resolve_slice(&mut job, &mut budget)
                    .and_then(|resolved| {
                        if resolved {
                            self.start_storing(&mut job)
                        } else {
                            Ok(false)
                        }
                    }),
                Some(_) => {
                    budget = budget.saturating_sub(PART);
                    Ok(self.store_part(&mut job))
                }
            };
            match step {
                Ok(false) => self.submit_jobs.push(job),
                Ok(true) => {
                    let (reply, conn) = (job.reply, job.conn);
                    let answer = self.finish_submission(job);
                    self.end_job(reply, conn, answer);
                }
                Err(e) => self.end_job(job.reply, job.conn, Err(e)),
            }
        }
    }

    /// A job resolved: whether it takes its last step now, or first stores its
    /// recipients in parts (a large submission; the audience's size is refused first,
    /// as the last step would).
    fn start_storing(&mut self, job: &mut SubmitJob) -> Result<bool, ErrorBody> {
        let customers = job.submission.draft.customers.len();
        if job.submission.preview || !in_parts(job.numbers.len(), customers) {
            return Ok(true);
        }
        let recipients: Vec<u64> = std::mem::take(&mut job.numbers).into_iter().collect();
        check_recipients(&recipients)?;
        let account = job.submission.account;
        // Read before the first part: a first read takes unnamed parts for orphans.
        self.book_mut(account)?;
        // Unique in the account, and stored with this turn's counters.
        let staging = self.take_message_ids(account, 1)?;
        let count = recipients.len().max(customers).div_ceil(PART);
        let count = u32::try_from(count).map_err(|_| err(ErrorCode::INTERNAL, "parts"))?;
        job.storing = Some(Storing {
            recipients,
            parts: Parts { staging, count },
            written: 0,
        });
        Ok(false)
    }

    /// Writes the job's next part; whether all are written.
    fn store_part(&mut self, job: &mut SubmitJob) -> bool {
        let account = job.submission.account;
        let Some(st) = job.storing.as_mut() else {
            return true;
        };
        if st.written < st.parts.count {
            let i = st.written as usize;
            let window = |len: usize| (i * PART).min(len)..((i + 1) * PART).min(len);
            let customers = &job.submission.draft.customers;
            let bytes = BroadcastPartRecord::encode_from(
                st.recipients
                    .get(window(st.recipients.len()))
                    .unwrap_or(&[]),
                customers.get(window(customers.len())).unwrap_or(&[]),
            );
            self.batch.put(
                Cf::ValueAdded,
                &keys::broadcast_part(account, st.parts.staging, st.written),
                bytes,
            );
            self.touched.push(account);
            st.written += 1;
        }
        st.written >= st.parts.count
    }

    /// Looks up to `budget` group members, then named contacts; whether all are.
    fn resolve_slice(
        &mut self,
        job: &mut SubmitJob,
        budget: &mut usize,
    ) -> Result<bool, ErrorBody> {
        let draft = &job.submission.draft;
        let crm = self.crm_mut(job.submission.account)?;
        while *budget > 0 {
            let Some(&g) = draft.groups.get(job.group) else {
                break;
            };
            let (slice, members) = {
                let members = crm.index().in_group(GroupId(g));
                let end = job.member.saturating_add(*budget).min(members.len());
                let slice = members.get(job.member..end).unwrap_or(&[]).to_vec();
                (slice, members.len())
            };
            for &no in &slice {
                if reachable(crm, no) {
                    job.numbers.insert(no);
                }
            }
            *budget -= slice.len();
            job.member += slice.len();
            if job.member >= members {
                job.group += 1;
                job.member = 0;
            }
        }
        while *budget > 0 {
            let Some(customer) = draft.customers.get(job.named) else {
                break;
            };
            let no = crm.number_of(customer)?;
            if reachable(crm, no) {
                job.numbers.insert(no);
            }
            job.named += 1;
            *budget -= 1;
        }
        Ok(job.group >= draft.groups.len() && job.named >= draft.customers.len())
    }

    /// The last step: the audience, the checks again, then the broadcast is stored.
    fn finish_submission(&mut self, job: SubmitJob) -> super::Answer {
        let SubmitJob {
            submission,
            numbers,
            storing,
            ..
        } = job;
        let account = submission.account;
        let (recipients, parts) = match storing {
            Some(st) => (st.recipients, Some(st.parts)),
            None => (numbers.into_iter().collect(), None),
        };
        let answer = self.finish_resolved(submission, recipients, parts);
        if let (Err(_), Some(p)) = (&answer, parts) {
            // Refused: the parts stored for it go in this batch.
            self.batch
                .delete_range(Cf::ValueAdded, &keys::broadcast_parts(account, p.staging));
        }
        answer
    }

    /// The last step of a resolved submission (its parts stored, if in parts).
    fn finish_resolved(
        &mut self,
        submission: Submission,
        recipients: Vec<u64>,
        parts: Option<Parts>,
    ) -> super::Answer {
        check_recipients(&recipients)?;
        if submission.preview {
            self.check_submission(&submission)?;
            let Submission {
                account,
                agent,
                survey,
                draft,
                otp,
                ..
            } = submission;
            return match survey {
                Some(survey) => {
                    self.preview_survey_broadcast(account, agent, survey, draft, otp.as_deref())
                }
                None => self.preview_broadcast(account, agent, draft, otp.as_deref()),
            };
        }
        // The contacts an import chunk is still applying may yet be rolled back.
        let importing = self.importing_numbers(submission.account);
        let first = recipients.partition_point(|no| *no < importing.start);
        if recipients
            .get(first)
            .is_some_and(|no| importing.contains(no))
        {
            return Err(err(
                ErrorCode::RECIPIENTS_IMPORTING,
                "some recipients belong to an import chunk still being applied: submit again \
                 once it is answered",
            ));
        }
        self.check_submission(&submission)?;
        let Submission {
            account,
            agent,
            resubmit,
            survey,
            draft,
            otp,
            ..
        } = submission;
        let answer = self.store_submission(
            account,
            agent,
            resubmit,
            draft,
            recipients,
            otp.as_deref(),
            parts,
        );
        if let Some(survey) = survey {
            self.link_survey(account, survey, &answer);
        }
        answer
    }
}
