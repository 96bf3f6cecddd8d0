//! Surveys sent through the broadcast fan-out (群发调查, V5, manual §9.8;
//! `wire/PROTOCOL.md` section 35.5).
//!
//! - `SubmitSurveyBroadcast { survey, draft }`: the survey must exist (`NOT_FOUND`) and
//!   be open (`SURVEY_CLOSED`); then the draft is submitted exactly as by
//!   `SubmitBroadcast` (`broadcasts.rs`: checks, token rule, units reserved at the
//!   draft's message price, review, cancel, resubmit, refunds), and the broadcast's
//!   survey is stored in the same batch (`SurveyLinkRecord`). Nothing else about the
//!   broadcast differs, so every state and refund rule is the broadcasts' own.
//! - **Fan-out**: [`Centre::survey_fan_out`] is called by the broadcast's slice with
//!   the recipients it reached: for each, a marker "the survey reached this contact"
//!   goes into the same batch as the slice's messages and cursor (so a crash neither
//!   loses nor repeats it), and a recipient logged in gets `Event::SurveyBroadcast`
//!   after the message and its `FromBroadcast`. A survey closed or gone by then is
//!   not pushed (its markers are still written: the contacts were charged for).
//! - **Answers** take the surveys' own path (`AnswerSurvey`, `ListOpenSurveys`): a
//!   contact the survey's groups do not cover may answer when a survey broadcast
//!   reached it ([`Centre::survey_recipient`]); one answer per contact still holds.
//! - `PreviewSurveyBroadcast`: `PreviewBroadcast`'s checks and push to agent 1001, then
//!   the survey's form to agent 1001 too (`broadcast` 0). Free, nothing stored.

use super::{err, storage, Answer, Centre, Recipient};
use crate::auth::SUPER_ADMIN_AGENT;
use crate::store::report_records::SeenRecord;
use crate::store::survey_broadcast_records::{link_key, sent_key, SurveyLinkRecord};
use crate::store::{Cf, StoredRecord};
use kefu_wire::chat::CustomerId;
use kefu_wire::survey::{SurveyForm, SurveyState};
use kefu_wire::valueadded::BroadcastDraft;
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};

impl Centre {
    /// The form of open survey `survey` (`NOT_FOUND`, `SURVEY_CLOSED`).
    pub(super) fn open_survey_form(
        &mut self,
        account: u64,
        survey: u64,
    ) -> Result<SurveyForm, ErrorBody> {
        let r = self.survey_record(account, survey)?;
        if r.state != SurveyState::Open {
            return Err(err(ErrorCode::SURVEY_CLOSED, "the survey is closed"));
        }
        Ok(SurveyForm {
            id: r.id,
            title: r.draft.title,
            background: r.draft.background,
            questions: r.draft.questions,
        })
    }

    /// `SubmitSurveyBroadcast`'s last step (`submit_jobs.rs`), after `SubmitBroadcast`'s:
    /// the link of broadcast `answer` to its survey, in the same batch.
    pub(super) fn link_survey(&mut self, account: u64, survey: u64, answer: &Answer) {
        if let Ok(Response::Broadcast(info)) = answer {
            self.batch.put(
                Cf::ValueAdded,
                &link_key(account, info.id),
                SurveyLinkRecord { survey }.encode(),
            );
        }
    }

    /// `PreviewSurveyBroadcast`'s last step (`submit_jobs.rs`): the broadcast's preview,
    /// then the survey's form, to agent 1001 only.
    pub(super) fn preview_survey_broadcast(
        &mut self,
        account: u64,
        me: u32,
        survey: u64,
        draft: BroadcastDraft,
        otp: Option<&str>,
    ) -> Answer {
        let form = self.open_survey_form(account, survey)?;
        let answer = self.preview_broadcast(account, me, draft, otp)?;
        self.push(
            account,
            Recipient::Agent(SUPER_ADMIN_AGENT),
            Event::SurveyBroadcast { broadcast: 0, form },
        );
        Ok(answer)
    }

    /// A slice of broadcast `id` reached `targets` (contact number, customer, logged
    /// in): if it carries a survey, each gets the marker (same batch) and, logged in,
    /// the survey.
    pub(super) fn survey_fan_out(
        &mut self,
        account: u64,
        id: u64,
        targets: &[(u64, CustomerId, bool)],
    ) -> Result<(), ErrorBody> {
        let Some(bytes) = self
            .shared
            .store
            .get(Cf::ValueAdded, &link_key(account, id))
            .map_err(storage)?
        else {
            return Ok(());
        };
        let survey = SurveyLinkRecord::decode(&bytes).map_err(storage)?.survey;
        let form = self.open_survey_form(account, survey).ok();
        for (contact, customer, online) in targets {
            self.batch.put(
                Cf::Surveys,
                &sent_key(account, survey, *contact),
                SeenRecord.encode(),
            );
            if let (Some(form), true) = (&form, *online) {
                self.push(
                    account,
                    Recipient::Customer(customer.clone()),
                    Event::SurveyBroadcast {
                        broadcast: id,
                        form: form.clone(),
                    },
                );
            }
        }
        Ok(())
    }

    /// The contact number of `customer` if survey `survey` was sent to it: a contact
    /// (not blacklisted) of the survey's `groups`, or one a survey broadcast reached.
    pub(super) fn survey_recipient(
        &mut self,
        account: u64,
        customer: &CustomerId,
        survey: u64,
        groups: &[u32],
    ) -> Result<Option<u64>, ErrorBody> {
        if let Some(no) = self.survey_contact(account, customer, groups)? {
            return Ok(Some(no));
        }
        let Some(no) = self.survey_contact(account, customer, &[])? else {
            return Ok(None);
        };
        let reached = self
            .shared
            .store
            .get(Cf::Surveys, &sent_key(account, survey, no))
            .map_err(storage)?
            .is_some();
        Ok(reached.then_some(no))
    }
}
