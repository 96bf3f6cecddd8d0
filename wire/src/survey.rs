//! Surveys (群发调查, feature V5, manual §9.8–9.9; `wire/PROTOCOL.md` section 35): a title,
//! a background text and questions, each with options and single or multiple choice;
//! answered once per contact; results as per-option counts and ratios.
//!
//! [`check_draft`] and [`check_answer`] are the one validation of each, used by the
//! daemon and unit-tested here; each refusal names its error code.

// Decodes peer input: no panicking shortcuts (style rule 5); tests may use them.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use crate::ErrorCode;
use serde::{Deserialize, Serialize};

/// Longest title (调查名称), characters.
pub const MAX_TITLE_CHARS: usize = 50;
/// Longest background text (背景描述), characters.
pub const MAX_BACKGROUND_CHARS: usize = 1_000;
/// Most questions in a survey.
pub const MAX_QUESTIONS: usize = 20;
/// Longest question, characters.
pub const MAX_QUESTION_CHARS: usize = 200;
/// Fewest options of a question.
pub const MIN_OPTIONS: usize = 2;
/// Most options of a question.
pub const MAX_OPTIONS: usize = 10;
/// Longest option, characters.
pub const MAX_OPTION_CHARS: usize = 100;
/// Most contact groups a survey is sent to (none: every contact).
pub const MAX_SURVEY_GROUPS: usize = 100;
/// Most surveys an account holds (open and closed).
pub const MAX_SURVEYS: usize = 1_000;
/// Most open surveys one `ListOpenSurveys` answers, newest first.
pub const MAX_OPEN_LISTED: usize = 20;

/// One question and its options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyQuestion {
    /// The question (1..=200 characters).
    pub text: String,
    /// More than one option may be chosen (多选); otherwise exactly one (单选).
    pub multiple: bool,
    /// The options (2..=10, each 1..=100 characters).
    pub options: Vec<String>,
}

/// What a survey asks and whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyDraft {
    /// Its name (1..=50 characters).
    pub title: String,
    /// The background text shown above the questions (0..=1,000 characters).
    pub background: String,
    /// The contact groups it is sent to (§9.8 "从客户分组中勾选"); empty: every contact.
    pub groups: Vec<u32>,
    /// The questions (1..=20).
    pub questions: Vec<SurveyQuestion>,
}

/// Where a survey stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SurveyState {
    /// Takes answers.
    Open,
    /// Closed by an agent: no more answers; its results stay.
    Closed,
}

/// A survey as the agents see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyInfo {
    /// Its number in the account (1, 2, …).
    pub id: u64,
    /// The agent that created it.
    pub agent: u32,
    /// What it asks.
    pub draft: SurveyDraft,
    /// Open or closed.
    pub state: SurveyState,
    /// When it was created, unix ms.
    pub created_at: i64,
    /// When it was closed, unix ms.
    pub closed_at: Option<i64>,
    /// Contacts that answered.
    pub answers: u64,
}

/// A survey's results (调查结果统计, §9.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyResult {
    /// The survey.
    pub survey: SurveyInfo,
    /// Per question, per option: how many answers chose it.
    pub counts: Vec<Vec<u64>>,
    /// Per question, per option: the share of answers that chose it, in basis points
    /// (1/10,000; `counts × 10,000 / answers`, rounded down; 0 without answers). On a
    /// multiple-choice question the shares may add up to more than 10,000.
    pub ratios: Vec<Vec<u32>>,
}

/// A survey as a customer sees it (`ListOpenSurveys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyForm {
    /// Its number, for `AnswerSurvey`.
    pub id: u64,
    /// Its name.
    pub title: String,
    /// The background text.
    pub background: String,
    /// The questions.
    pub questions: Vec<SurveyQuestion>,
}

/// A refusal of a draft or an answer: its code and why.
pub type Refusal = (ErrorCode, String);

fn bounded(what: &str, text: &str, min: usize, max: usize) -> Result<(), Refusal> {
    let n = text.chars().count();
    if n < min || n > max || text.chars().any(char::is_control) {
        return Err((
            ErrorCode::INVALID_ARGUMENT,
            format!("{what} is {min}..={max} characters without control characters"),
        ));
    }
    Ok(())
}

/// Checks a draft's bounds (`INVALID_ARGUMENT`); whether its groups exist is the
/// daemon's.
pub fn check_draft(draft: &SurveyDraft) -> Result<(), Refusal> {
    bounded("a title", draft.title.trim(), 1, MAX_TITLE_CHARS)?;
    if draft.background.chars().count() > MAX_BACKGROUND_CHARS {
        return Err((
            ErrorCode::INVALID_ARGUMENT,
            format!("a background is at most {MAX_BACKGROUND_CHARS} characters"),
        ));
    }
    if draft.groups.len() > MAX_SURVEY_GROUPS {
        return Err((
            ErrorCode::INVALID_ARGUMENT,
            format!("a survey is sent to at most {MAX_SURVEY_GROUPS} groups"),
        ));
    }
    if draft.questions.is_empty() || draft.questions.len() > MAX_QUESTIONS {
        return Err((
            ErrorCode::INVALID_ARGUMENT,
            format!("a survey has 1..={MAX_QUESTIONS} questions"),
        ));
    }
    for q in &draft.questions {
        bounded("a question", q.text.trim(), 1, MAX_QUESTION_CHARS)?;
        if q.options.len() < MIN_OPTIONS || q.options.len() > MAX_OPTIONS {
            return Err((
                ErrorCode::INVALID_ARGUMENT,
                format!("a question has {MIN_OPTIONS}..={MAX_OPTIONS} options"),
            ));
        }
        for o in &q.options {
            bounded("an option", o.trim(), 1, MAX_OPTION_CHARS)?;
        }
    }
    Ok(())
}

/// Checks an answer against the survey's questions: one list of chosen option indexes
/// per question, in question order. Refusals: `SURVEY_UNKNOWN_CHOICE` (not one list per
/// question, an option index the question does not have, or one chosen twice),
/// `SURVEY_UNANSWERED_QUESTION` (a list empty), `SURVEY_TOO_MANY_CHOICES` (more than
/// one on a single-choice question).
pub fn check_answer(questions: &[SurveyQuestion], choices: &[Vec<u8>]) -> Result<(), Refusal> {
    if choices.len() != questions.len() {
        return Err((
            ErrorCode::SURVEY_UNKNOWN_CHOICE,
            format!(
                "the survey has {} questions, the answer {}",
                questions.len(),
                choices.len()
            ),
        ));
    }
    for (n, (q, chosen)) in questions.iter().zip(choices).enumerate() {
        if chosen.is_empty() {
            return Err((
                ErrorCode::SURVEY_UNANSWERED_QUESTION,
                format!("question {} has no option chosen", n + 1),
            ));
        }
        let mut seen = [false; 256];
        for &option in chosen {
            let slot = seen.get_mut(usize::from(option));
            let fresh = usize::from(option) < q.options.len() && slot.as_deref() == Some(&false);
            if !fresh {
                return Err((
                    ErrorCode::SURVEY_UNKNOWN_CHOICE,
                    format!(
                        "question {} has no option {option} (or it is chosen twice)",
                        n + 1
                    ),
                ));
            }
            if let Some(slot) = slot {
                *slot = true;
            }
        }
        if !q.multiple && chosen.len() > 1 {
            return Err((
                ErrorCode::SURVEY_TOO_MANY_CHOICES,
                format!("question {} takes one option", n + 1),
            ));
        }
    }
    Ok(())
}

/// The ratio of `count` to `answers` in basis points (0 without answers).
pub fn ratio(count: u64, answers: u64) -> u32 {
    if answers == 0 {
        return 0;
    }
    u32::try_from(u128::from(count) * 10_000 / u128::from(answers)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(multiple: bool) -> SurveyQuestion {
        SurveyQuestion {
            text: "满意吗".into(),
            multiple,
            options: vec!["是".into(), "否".into(), "一般".into()],
        }
    }

    #[test]
    fn answers_are_checked() {
        let qs = [q(false), q(true)];
        assert!(check_answer(&qs, &[vec![0], vec![0, 2]]).is_ok());
        let code = |c: &[Vec<u8>]| check_answer(&qs, c).unwrap_err().0;
        assert_eq!(code(&[vec![0]]), ErrorCode::SURVEY_UNKNOWN_CHOICE);
        assert_eq!(code(&[vec![3], vec![0]]), ErrorCode::SURVEY_UNKNOWN_CHOICE);
        assert_eq!(
            code(&[vec![0], vec![1, 1]]),
            ErrorCode::SURVEY_UNKNOWN_CHOICE
        );
        assert_eq!(
            code(&[vec![], vec![0]]),
            ErrorCode::SURVEY_UNANSWERED_QUESTION
        );
        assert_eq!(
            code(&[vec![0, 1], vec![0]]),
            ErrorCode::SURVEY_TOO_MANY_CHOICES
        );
        assert_eq!(ratio(1, 3), 3_333);
        assert_eq!(ratio(0, 0), 0);
    }

    #[test]
    fn drafts_are_bounded() {
        let mut d = SurveyDraft {
            title: "t".into(),
            background: String::new(),
            groups: vec![],
            questions: vec![q(false)],
        };
        assert!(check_draft(&d).is_ok());
        d.questions[0].options.truncate(1);
        assert!(check_draft(&d).is_err());
        d.questions.clear();
        assert!(check_draft(&d).is_err());
    }
}
