//! Surveys (群发调查, feature V5, manual §9.8–9.9; `wire/PROTOCOL.md` section 35).
//!
//! - Agents with permission 10 (and, at security level medium or high, a current token
//!   code, V7) create, edit (while no answer is stored), close, list and read the results
//!   of surveys. Every check comes before the token code is used.
//! - A survey is sent to the account's contacts, or to those in its groups (§9.8 "从客户
//!   分组中勾选"); blacklisted contacts are left out. A customer that is such a contact
//!   lists the open surveys it has not answered (`ListOpenSurveys`) and answers one
//!   (`AnswerSurvey`), once: a second answer is refused `SURVEY_ALREADY_ANSWERED` and the
//!   first stands (the manual says nothing of changing an answer; a result that counts each
//!   contact once needs one of the two rules, and refusing keeps every stored answer
//!   final).
//! - The answer record and the survey with its per-option counts go into the same batch,
//!   so the counts always equal the stored answers. Results are the counts and their
//!   ratios to the number of answers (§9.9 "客户回复比例").
//!
//! An account's surveys are read whole on first use (at most `MAX_SURVEYS`) and kept in
//! its [`Account`](super::Account); the answers are read from the store, with the ones
//! stored since the surveys were read remembered so that one not yet durable is seen.

use super::dispatch::{CustomerSurveyRequest, SurveyRequest};
use super::{err, storage, Answer, Centre};
use crate::store::report_records::{AnswerRecord, SurveyRecord};
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::chat::CustomerId;
use kefu_wire::survey::{
    check_answer, check_draft, ratio, SurveyDraft, SurveyForm, SurveyInfo, SurveyResult,
    SurveyState, MAX_OPEN_LISTED, MAX_SURVEYS,
};
use kefu_wire::{ErrorBody, ErrorCode, Response};
use std::collections::{BTreeMap, HashSet};

/// One account's surveys in memory.
#[derive(Debug, Default)]
pub(crate) struct SurveyBook {
    items: BTreeMap<u64, SurveyRecord>,
    /// (survey, contact) answered since the book was read.
    answered: HashSet<(u64, u64)>,
}

fn refusal((code, message): (ErrorCode, String)) -> ErrorBody {
    err(code, message)
}

pub(crate) fn info(r: &SurveyRecord) -> SurveyInfo {
    SurveyInfo {
        id: r.id,
        agent: r.agent,
        draft: r.draft.clone(),
        state: r.state,
        created_at: r.created_at,
        closed_at: r.closed_at,
        answers: r.answers,
    }
}

/// A survey's results: its counts and their ratios to its answers.
pub(crate) fn result(r: &SurveyRecord) -> SurveyResult {
    SurveyResult {
        survey: info(r),
        counts: r.counts.clone(),
        ratios: r
            .counts
            .iter()
            .map(|q| q.iter().map(|&c| ratio(c, r.answers)).collect())
            .collect(),
    }
}

impl Centre {
    fn survey_book(&mut self, account: u64) -> Result<&mut SurveyBook, ErrorBody> {
        self.account_mut(account)?;
        if self
            .actors
            .get(&account)
            .is_some_and(|a| a.surveys.is_none())
        {
            let range = keys::surveys(account);
            let stored = self
                .shared
                .store
                .scan(Cf::Surveys, &range.start, &range.end, MAX_SURVEYS + 1)
                .map_err(storage)?;
            let mut book = SurveyBook::default();
            for (_, value) in stored {
                let r = SurveyRecord::decode(&value).map_err(storage)?;
                book.items.insert(r.id, r);
            }
            self.actor_mut(account)?.surveys = Some(book);
        }
        self.actor_mut(account)?
            .surveys
            .as_mut()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "surveys not loaded"))
    }

    /// One survey of the account (`NOT_FOUND`).
    pub(crate) fn survey_record(
        &mut self,
        account: u64,
        id: u64,
    ) -> Result<SurveyRecord, ErrorBody> {
        self.survey_book(account)?
            .items
            .get(&id)
            .cloned()
            .ok_or_else(|| err(ErrorCode::NOT_FOUND, format!("no survey {id}")))
    }

    fn put_survey(&mut self, account: u64, r: SurveyRecord) -> Result<SurveyInfo, ErrorBody> {
        self.batch
            .put(Cf::Surveys, &keys::survey(account, r.id), r.encode());
        let shown = info(&r);
        self.survey_book(account)?.items.insert(r.id, r);
        Ok(shown)
    }

    /// The agent's survey requests (permission 10 checked by `auth.rs`).
    pub(super) fn survey_request(
        &mut self,
        account: u64,
        me: u32,
        request: SurveyRequest,
    ) -> Answer {
        match request {
            SurveyRequest::CreateSurvey { draft, otp } => {
                self.check_survey_draft(account, &draft)?;
                let book = self.survey_book(account)?;
                if book.items.len() >= MAX_SURVEYS {
                    return Err(err(
                        ErrorCode::SURVEY_LIMIT,
                        format!("an account holds at most {MAX_SURVEYS} surveys"),
                    ));
                }
                let id = book.items.keys().next_back().map_or(1, |last| last + 1);
                self.value_added_otp(account, me, otp.as_deref())?;
                let counts = draft
                    .questions
                    .iter()
                    .map(|q| vec![0; q.options.len()])
                    .collect();
                let record = SurveyRecord {
                    id,
                    agent: me,
                    draft,
                    state: SurveyState::Open,
                    created_at: self.now_ms,
                    closed_at: None,
                    answers: 0,
                    counts,
                };
                self.put_survey(account, record)
                    .map(|i| Response::Survey(Box::new(i)))
            }
            SurveyRequest::EditSurvey { id, draft, otp } => {
                let mut record = self.survey_record(account, id)?;
                if record.state == SurveyState::Closed {
                    return Err(err(
                        ErrorCode::SURVEY_CLOSED,
                        "a closed survey is not edited",
                    ));
                }
                if record.answers > 0 {
                    return Err(err(
                        ErrorCode::SURVEY_HAS_ANSWERS,
                        "the survey has answers: close it and create another",
                    ));
                }
                self.check_survey_draft(account, &draft)?;
                self.value_added_otp(account, me, otp.as_deref())?;
                record.counts = draft
                    .questions
                    .iter()
                    .map(|q| vec![0; q.options.len()])
                    .collect();
                record.draft = draft;
                self.put_survey(account, record)
                    .map(|i| Response::Survey(Box::new(i)))
            }
            SurveyRequest::CloseSurvey { id, otp } => {
                let mut record = self.survey_record(account, id)?;
                if record.state == SurveyState::Closed {
                    return Err(err(
                        ErrorCode::SURVEY_CLOSED,
                        "the survey is closed already",
                    ));
                }
                self.value_added_otp(account, me, otp.as_deref())?;
                record.state = SurveyState::Closed;
                record.closed_at = Some(self.now_ms);
                self.put_survey(account, record)
                    .map(|i| Response::Survey(Box::new(i)))
            }
            SurveyRequest::ListSurveys { otp } => {
                self.survey_book(account)?;
                self.value_added_otp(account, me, otp.as_deref())?;
                let book = self.survey_book(account)?;
                Ok(Response::Surveys(
                    book.items.values().rev().map(info).collect(),
                ))
            }
            SurveyRequest::GetSurveyResult { id, otp } => {
                let record = self.survey_record(account, id)?;
                self.value_added_otp(account, me, otp.as_deref())?;
                Ok(Response::SurveyResult(Box::new(result(&record))))
            }
        }
    }

    fn check_survey_draft(&mut self, account: u64, draft: &SurveyDraft) -> Result<(), ErrorBody> {
        check_draft(draft).map_err(refusal)?;
        self.groups_exist(account, &draft.groups)
    }

    /// Whether `contact` answered survey `id` (remembered answers, then the store).
    fn survey_answered(&mut self, account: u64, id: u64, contact: u64) -> Result<bool, ErrorBody> {
        if self.survey_book(account)?.answered.contains(&(id, contact)) {
            return Ok(true);
        }
        Ok(self
            .shared
            .store
            .get(Cf::Surveys, &keys::survey_answer(account, id, contact))
            .map_err(storage)?
            .is_some())
    }

    /// A customer's survey requests.
    pub(super) fn customer_survey_request(
        &mut self,
        account: u64,
        customer: &CustomerId,
        request: CustomerSurveyRequest,
    ) -> Answer {
        match request {
            CustomerSurveyRequest::ListOpenSurveys => {
                let open: Vec<SurveyRecord> = self
                    .survey_book(account)?
                    .items
                    .values()
                    .rev()
                    .filter(|r| r.state == SurveyState::Open)
                    .cloned()
                    .collect();
                let mut forms = Vec::new();
                for r in open {
                    if forms.len() >= MAX_OPEN_LISTED {
                        break;
                    }
                    let Some(contact) =
                        self.survey_recipient(account, customer, r.id, &r.draft.groups)?
                    else {
                        continue;
                    };
                    if self.survey_answered(account, r.id, contact)? {
                        continue;
                    }
                    forms.push(SurveyForm {
                        id: r.id,
                        title: r.draft.title,
                        background: r.draft.background,
                        questions: r.draft.questions,
                    });
                }
                Ok(Response::SurveyForms(forms))
            }
            CustomerSurveyRequest::AnswerSurvey { survey, choices } => {
                self.answer_survey(account, customer, survey, choices)
            }
        }
    }

    fn answer_survey(
        &mut self,
        account: u64,
        customer: &CustomerId,
        id: u64,
        choices: Vec<Vec<u8>>,
    ) -> Answer {
        let mut record = self.survey_record(account, id)?;
        if record.state == SurveyState::Closed {
            return Err(err(ErrorCode::SURVEY_CLOSED, "the survey is closed"));
        }
        let Some(contact) = self.survey_recipient(account, customer, id, &record.draft.groups)?
        else {
            return Err(err(
                ErrorCode::SURVEY_NOT_SENT_TO_YOU,
                "the survey was not sent to you",
            ));
        };
        check_answer(&record.draft.questions, &choices).map_err(refusal)?;
        if self.survey_answered(account, id, contact)? {
            return Err(err(
                ErrorCode::SURVEY_ALREADY_ANSWERED,
                "you answered this survey already",
            ));
        }
        for (counts, chosen) in record.counts.iter_mut().zip(&choices) {
            for &option in chosen {
                if let Some(c) = counts.get_mut(usize::from(option)) {
                    *c += 1;
                }
            }
        }
        record.answers += 1;
        let answer = AnswerRecord {
            contact,
            customer: customer.clone(),
            at: self.now_ms,
            choices,
        };
        self.batch.put(
            Cf::Surveys,
            &keys::survey_answer(account, id, contact),
            answer.encode(),
        );
        self.put_survey(account, record)?;
        self.survey_book(account)?.answered.insert((id, contact));
        Ok(Response::Ok)
    }
}
