//! The CRM feature's pure building blocks (manual §5, features R1–R10): the contact model,
//! keyword search that understands Chinese, the plan and daily limits, CSV import and
//! export, tags, groups and the "recently contacted" list.
//!
//! # Shape
//!
//! - [`contact`]: [`Contact`] (客户资料), its [`CustomerKey`] and [`ContactState`], the
//!   limits of every field and [`Contact::validate`]; [`ProfileUpdate`] edits a contact
//!   without touching the original on refusal.
//! - [`search`]: the search scheme (CJK bigrams and single characters, Latin/digit
//!   prefixes and trigrams), [`index_terms`], [`Query`], and the in-memory [`SearchIndex`]
//!   with filters, sort and pages.
//! - [`limits`]: the manual's numbers — the [`Plan`] limit with warnings to agent 1001, the 14-day
//!   grace, 1,000 additions a day, the 10,000 / 1,000-a-day import rule — as
//!   [`ContactLimits`], a small state fed with `now`.
//! - [`import`]: streaming RFC 4180 CSV import ([`CsvImport`], fed chunk by chunk), the
//!   per-row verdicts and [`ImportReport`] ([`ImportSession`]), and [`export_csv`] /
//!   [`CsvExport`], whose output imports back identically.
//! - [`contact_keys`]: [`ContactKeys`], the customer-key → contact-number map, looked up
//!   by the protocol's customer id without copying it.
//! - [`tags`]: at most 16 [`Tags`] with colours and presets.
//! - [`groups`]: [`Groups`] — categories holding groups (two levels) — and
//!   [`RecentContacts`], the per-agent "recently contacted" virtual group.
//!
//! **Boundary.** Nothing here reads a clock, touches storage or speaks the protocol:
//! time comes in as `now` (unix seconds unless a method says otherwise), and the shard turns
//! what these functions return into records and pushes. Cargo enforces it: this crate
//! depends on neither the daemon nor its store. Refusals are typed
//! errors and are always the peer's fault (a request or file the rules do not allow); a
//! refused change leaves the state as it was.
//!
//! # What the shard integration must do
//!
//! - Keep one contact record per (account, contact number) and a customer-key → contact
//!   number map.
//! - Feed every stored change to the account's [`SearchIndex`] (it lives in memory only;
//!   nothing indexes contacts on disk).
//! - Persist [`LimitCounters`], [`Tags`] and [`Groups`] as records of their own, and feed
//!   [`RecentContacts`] from message history when an account is loaded.

pub mod contact;
pub mod contact_keys;
pub mod groups;
pub mod import;
pub mod limits;
pub mod search;
pub mod tags;

pub use contact::{
    Accepted, Contact, ContactError, ContactState, CustomerKey, Field, ProfileUpdate, VisitInfo,
};
pub use contact_keys::ContactKeys;
pub use groups::{
    Category, CategoryId, Group, GroupError, GroupId, Groups, RecentContacts, RecentEntry, TreeNode,
};
pub use import::{
    export_csv, CsvExport, CsvImport, ImportCatalog, ImportError, ImportReport, ImportRow,
    ImportSession, InvalidRow, RowError,
};
pub use limits::{
    account_day, AddRefusal, BatchAdmission, ContactLimits, ImportCandidate, ImportRefusal,
    ImportVerdict, LimitCounters, LimitLevel, LimitWarning, Plan, UtcOffsetError,
};
pub use search::{
    index_terms, query_terms, Filters, Page, PageRequest, Query, SearchError, SearchIndex, Sort,
    Term, TermKind, TimeRange,
};
pub use tags::{Colour, Tag, TagError, TagId, Tags};

/// Why a user-given label (tag, group or category name) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The name has more characters than allowed.
    #[error("the name has {chars} characters, more than {max}")]
    TooLong {
        /// Characters given.
        chars: usize,
        /// The most allowed.
        max: usize,
    },
    /// The name starts or ends with white space.
    #[error("the name starts or ends with white space")]
    Untrimmed,
    /// The name holds a control character or `;` (the list separator of CSV files).
    #[error("the name holds the character {0:?}")]
    ForbiddenChar(char),
}

/// Checks a label: 1..=`max` characters, no leading or trailing white space, no control
/// character and no `;` (lists of names are `;`-separated in CSV files).
pub(crate) fn check_label(name: &str, max: usize) -> Result<(), LabelError> {
    if name.is_empty() {
        return Err(LabelError::Empty);
    }
    let chars = name.chars().count();
    if chars > max {
        return Err(LabelError::TooLong { chars, max });
    }
    if name.trim() != name {
        return Err(LabelError::Untrimmed);
    }
    match name.chars().find(|c| c.is_control() || *c == ';') {
        Some(c) => Err(LabelError::ForbiddenChar(c)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let cases: [(&str, usize, Result<(), LabelError>); 9] = [
            ("上海", 4, Ok(())),
            ("上海 - 黄浦", 7, Ok(())),
            ("", 4, Err(LabelError::Empty)),
            ("上海市区", 3, Err(LabelError::TooLong { chars: 4, max: 3 })),
            (" a", 4, Err(LabelError::Untrimmed)),
            ("a\u{3000}", 4, Err(LabelError::Untrimmed)),
            ("a;b", 4, Err(LabelError::ForbiddenChar(';'))),
            ("a\nb", 4, Err(LabelError::ForbiddenChar('\n'))),
            ("a\u{7f}", 4, Err(LabelError::ForbiddenChar('\u{7f}'))),
        ];
        for (name, max, want) in cases {
            assert_eq!(check_label(name, max), want, "{name:?}");
        }
    }
}
