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

use super::broadcasts::check_recipients;
use super::crm::CrmState;
use super::{err, Centre, ReplyTo};
use crate::crm::{ContactState, GroupId};
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
    /// Failed commits when the job started.
    epoch: u64,
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
            match self.resolve_slice(&mut job, &mut budget) {
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
            ..
        } = job;
        let recipients: Vec<u64> = numbers.into_iter().collect();
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
        let answer =
            self.store_submission(account, agent, resubmit, draft, recipients, otp.as_deref());
        if let Some(survey) = survey {
            self.link_survey(account, survey, &answer);
        }
        answer
    }
}
