//! Contact import and export as CSV (R5, manual §5.4): a streaming RFC 4180 reader fed
//! chunk by chunk, a header naming the columns, per-row validation with line numbers,
//! the admission of valid rows against existing contacts and the limits, a result report,
//! and an exporter whose output imports back identically.
//!
//! # File format
//!
//! UTF-8 (an initial byte-order mark is skipped; the exporter writes one so spreadsheet
//! programs read Chinese correctly), RFC 4180: fields separated by `,`, records by CRLF
//! (LF or a lone CR are accepted too); a field in double quotes may hold `,`, line breaks
//! and `""` for a quote. Blank lines are skipped. A `"` inside an unquoted field is kept
//! as it is; text after a closing quote makes the row invalid.
//!
//! The first record is the header. Column names are matched ignoring case and
//! surrounding spaces; the Chinese names are accepted too:
//!
//! | column | also | cell |
//! |---|---|---|
//! | `id` | `客户id`, `账号` | the identified customer id |
//! | `visitor` | `访客` | a visitor id, 32 hex digits (exactly one of id / visitor per row) |
//! | `state` | `状态` | `friend` (empty: friend), `stranger`, `blacklisted`, `pending`, or 好友 陌生人 黑名单 待验证 |
//! | `owner` | `所属工号` | owner agent number; empty: no owner. Without the column the importing agent owns the row (R2) |
//! | `real_name` | `name`, `真实姓名`, `姓名` | |
//! | `remark` | `备注` | |
//! | `nickname` | `昵称` | |
//! | `phone` | `电话`, `手机` | |
//! | `email` | `e-mail`, `邮箱` | |
//! | `groups` | `分组` | group names separated by `;` (names never hold `;`) |
//! | `tags` | `标签` | tag names separated by `;` |
//! | `field:NAME` | | the free field NAME (taken verbatim); an empty cell sets nothing |
//!
//! An unknown or repeated column, or a header with neither `id` nor `visitor`, refuses the
//! whole file ([`ImportError`]): no row could be read right. Everything else is per row:
//! a bad row is reported with the line it starts on and a reason ([`RowError`]) and never
//! stops the rows after it. A row with fewer cells than the header has empty cells at
//! the end; extra cells must be empty.
//!
//! # Flow
//!
//! ```text
//! bytes ─▶ CsvImport::feed (any chunk size) ─▶ poll_row ─▶ ImportRow (line, Contact | RowError)
//!      ─▶ ImportSession::admit (exists?, ContactLimits) ─▶ contacts to store + ImportReport
//! ```
//!
//! Parsing is pure CPU work on owned data, so it can run on the worker pool; admission
//! needs the account's state and runs on its shard. A row is one whole contact: the shard
//! writes it and its index entries in one batch, so no row is ever half-written.

// Decodes peer or file input: no panicking shortcuts (style rule 5); tests may use them.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use std::collections::{HashMap, HashSet, VecDeque};

use super::contact::{check_field_name, hex, parse_visitor_hex, Contact, ContactError};
use super::contact::{ContactState, CustomerKey};
use super::groups::{GroupId, Groups};
use super::limits::{ContactLimits, ImportCandidate, ImportRefusal, ImportVerdict, LimitWarning};
use super::tags::{TagId, Tags};

/// Longest record, in bytes; a longer row is invalid (and not buffered further).
pub const MAX_ROW_BYTES: usize = 64 * 1024;
/// Most columns in a header or cells in a row.
pub const MAX_COLUMNS: usize = 64;
/// Most invalid rows listed one by one in a report (all are counted).
pub const MAX_INVALID_LISTED: usize = 1_000;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Why the whole file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file has no header (it is empty or blank).
    #[error("the file is empty: the first line must name the columns")]
    NoHeader,
    /// The header could not be read (not UTF-8, bad quoting, too many columns).
    #[error("the header line cannot be read: {0}")]
    BadHeader(RowError),
    /// A column name is not known.
    #[error("unknown column {0:?} (free fields are named field:NAME)")]
    UnknownColumn(String),
    /// A column appears twice.
    #[error("the column {0:?} appears twice")]
    DuplicateColumn(String),
    /// Neither an `id` nor a `visitor` column.
    #[error("the header has neither an id nor a visitor column")]
    NoIdColumn,
    /// A `field:NAME` column has a name a free field cannot have.
    #[error("column {column:?}: {reason}")]
    BadFieldName {
        /// The column as written.
        column: String,
        /// Why.
        reason: ContactError,
    },
    /// Bytes were fed after [`CsvImport::finish`].
    #[error("the import is already finished")]
    Finished,
}

/// Why one row is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RowError {
    /// A cell is not UTF-8 (save the file as UTF-8).
    #[error("cell {column} is not UTF-8 text (save the file as UTF-8)")]
    NotUtf8 {
        /// 1-based column.
        column: usize,
    },
    /// The row is longer than [`MAX_ROW_BYTES`].
    #[error("the row is longer than {MAX_ROW_BYTES} bytes")]
    TooLong,
    /// The row has more (non-empty) cells than the header has columns.
    #[error("the row has more cells than the {columns} columns of the header")]
    TooManyCells {
        /// Columns in the header.
        columns: usize,
    },
    /// Text follows the closing quote of a quoted cell.
    #[error("text after a closing quote")]
    TextAfterQuote,
    /// The file ends inside a quoted cell.
    #[error("a quoted cell is never closed")]
    UnterminatedQuote,
    /// Neither an id nor a visitor id.
    #[error("the row has no id")]
    NoId,
    /// Both an id and a visitor id.
    #[error("the row has both an id and a visitor id")]
    BothIds,
    /// The visitor id is not 32 hex digits.
    #[error("visitor id {0:?} is not 32 hex digits")]
    BadVisitor(String),
    /// The state is not one of the known names.
    #[error("unknown state {0:?}")]
    BadState(String),
    /// The owner is not an agent number.
    #[error("owner {0:?} is not an agent number")]
    BadOwner(String),
    /// A group name the account does not have.
    #[error("no group named {0:?}")]
    UnknownGroup(String),
    /// A tag name the account does not have.
    #[error("no tag named {0:?}")]
    UnknownTag(String),
    /// The contact breaks a limit of the contact model.
    #[error("{0}")]
    Contact(#[from] ContactError),
}

// ---------------------------------------------------------------------------------------
// RFC 4180 records, streaming
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between records.
    RecordStart,
    /// A record ended with CR: a following LF belongs to it.
    AfterCr,
    /// At the start of a field after a comma (or of the record's first field).
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the end of it, or the first of `""`.
    QuoteInQuoted,
}

/// One record: its cells, or why it is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawRecord {
    line: u64,
    cells: Result<Vec<String>, RowError>,
}

/// The record splitter: bytes in any chunks, records out.
#[derive(Debug)]
struct Reader {
    state: State,
    /// BOM bytes matched at the start of the stream; `None` once past the start.
    bom: Option<usize>,
    /// Current physical line, 1-based.
    line: u64,
    prev_cr: bool,
    record_line: u64,
    buf: Vec<u8>,
    /// End offsets in `buf` of the finished fields of the current record.
    ends: Vec<usize>,
    quoted: bool,
    error: Option<RowError>,
    out: VecDeque<RawRecord>,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            state: State::RecordStart,
            bom: Some(0),
            line: 1,
            prev_cr: false,
            record_line: 1,
            buf: Vec::new(),
            ends: Vec::new(),
            quoted: false,
            error: None,
            out: VecDeque::new(),
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        for &b in chunk {
            if let Some(matched) = self.bom {
                if BOM.get(matched) == Some(&b) {
                    self.bom = (matched + 1 < BOM.len()).then_some(matched + 1);
                    continue;
                }
                self.bom = None;
                for &replay in BOM.get(..matched).unwrap_or(&[]) {
                    self.byte(replay);
                }
            }
            self.byte(b);
        }
    }

    fn finish(&mut self) {
        if let Some(matched) = self.bom.take() {
            for &replay in BOM.get(..matched).unwrap_or(&[]) {
                self.byte(replay);
            }
        }
        match self.state {
            State::RecordStart | State::AfterCr => {}
            State::Quoted => {
                self.fail(RowError::UnterminatedQuote);
                self.end_record();
            }
            State::FieldStart | State::Unquoted | State::QuoteInQuoted => self.end_record(),
        }
        self.state = State::RecordStart;
    }

    fn byte(&mut self, b: u8) {
        self.step(b);
        match b {
            b'\r' => {
                self.line += 1;
                self.prev_cr = true;
            }
            b'\n' => {
                if !self.prev_cr {
                    self.line += 1;
                }
                self.prev_cr = false;
            }
            _ => self.prev_cr = false,
        }
    }

    fn step(&mut self, b: u8) {
        if matches!(self.state, State::RecordStart | State::AfterCr) {
            if self.state == State::AfterCr && b == b'\n' {
                self.state = State::RecordStart;
                return;
            }
            self.record_line = self.line;
            self.state = State::FieldStart;
        }
        match (self.state, b) {
            (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b',') => {
                self.end_field();
                self.state = State::FieldStart;
            }
            (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b'\r') => {
                self.end_record();
                self.state = State::AfterCr;
            }
            (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b'\n') => {
                self.end_record();
                self.state = State::RecordStart;
            }
            (State::FieldStart, b'"') => {
                self.quoted = true;
                self.state = State::Quoted;
            }
            (State::Quoted, b'"') => self.state = State::QuoteInQuoted,
            (State::QuoteInQuoted, b'"') => {
                self.push(b);
                self.state = State::Quoted;
            }
            (State::QuoteInQuoted, _) => {
                self.fail(RowError::TextAfterQuote);
                self.push(b);
                self.state = State::Unquoted;
            }
            (State::FieldStart | State::Unquoted, _) => {
                self.push(b);
                self.state = State::Unquoted;
            }
            (State::Quoted, _) => self.push(b),
            (State::RecordStart | State::AfterCr, _) => {}
        }
    }

    fn push(&mut self, b: u8) {
        if self.buf.len() < MAX_ROW_BYTES {
            self.buf.push(b);
        } else {
            self.fail(RowError::TooLong);
        }
    }

    fn end_field(&mut self) {
        if self.ends.len() < MAX_COLUMNS {
            self.ends.push(self.buf.len());
        } else {
            self.fail(RowError::TooManyCells {
                columns: MAX_COLUMNS,
            });
        }
    }

    fn fail(&mut self, error: RowError) {
        self.error.get_or_insert(error);
    }

    fn end_record(&mut self) {
        self.end_field();
        let blank = self.ends.len() == 1 && self.buf.is_empty() && !self.quoted;
        let error = self.error.take();
        if !blank {
            let cells = match error {
                Some(e) => Err(e),
                None => self.cells(),
            };
            self.out.push_back(RawRecord {
                line: self.record_line,
                cells,
            });
        }
        self.buf.clear();
        self.ends.clear();
        self.quoted = false;
    }

    fn cells(&self) -> Result<Vec<String>, RowError> {
        let mut start = 0;
        let mut cells = Vec::with_capacity(self.ends.len());
        for (i, &end) in self.ends.iter().enumerate() {
            let bytes = self.buf.get(start..end).unwrap_or(&[]);
            let cell =
                std::str::from_utf8(bytes).map_err(|_| RowError::NotUtf8 { column: i + 1 })?;
            // A line break inside a quoted cell is stored as LF, whichever convention
            // the file's author used (spreadsheets write CRLF).
            if cell.contains('\r') {
                cells.push(cell.replace("\r\n", "\n").replace('\r', "\n"));
            } else {
                cells.push(cell.to_owned());
            }
            start = end;
        }
        Ok(cells)
    }
}

// ---------------------------------------------------------------------------------------
// Header and rows
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    Id,
    Visitor,
    State,
    Owner,
    RealName,
    Remark,
    Nickname,
    Phone,
    Email,
    Groups,
    Tags,
    Field(String),
}

/// Standard column names and their aliases (compared lower-cased and trimmed).
const COLUMN_NAMES: [(Column, &str, &[&str]); 11] = [
    (Column::Id, "id", &["客户id", "账号"]),
    (Column::Visitor, "visitor", &["访客"]),
    (Column::State, "state", &["状态"]),
    (Column::Owner, "owner", &["所属工号"]),
    (Column::RealName, "real_name", &["name", "真实姓名", "姓名"]),
    (Column::Remark, "remark", &["备注"]),
    (Column::Nickname, "nickname", &["昵称"]),
    (Column::Phone, "phone", &["电话", "手机"]),
    (Column::Email, "email", &["e-mail", "邮箱"]),
    (Column::Groups, "groups", &["分组"]),
    (Column::Tags, "tags", &["标签"]),
];

const FIELD_PREFIX: &str = "field:";

fn parse_column(cell: &str) -> Result<Column, ImportError> {
    if let Some(prefix) = cell.get(..FIELD_PREFIX.len()) {
        if prefix.eq_ignore_ascii_case(FIELD_PREFIX) {
            let name = cell.get(FIELD_PREFIX.len()..).unwrap_or("");
            check_field_name(name).map_err(|reason| ImportError::BadFieldName {
                column: cell.to_owned(),
                reason,
            })?;
            return Ok(Column::Field(name.to_owned()));
        }
    }
    let wanted = cell.trim().to_lowercase();
    COLUMN_NAMES
        .iter()
        .find(|(_, name, aliases)| *name == wanted || aliases.contains(&wanted.as_str()))
        .map(|(column, _, _)| column.clone())
        .ok_or_else(|| ImportError::UnknownColumn(cell.to_owned()))
}

fn parse_header(cells: &[String]) -> Result<Vec<Column>, ImportError> {
    let mut columns: Vec<Column> = Vec::with_capacity(cells.len());
    for cell in cells {
        let column = parse_column(cell)?;
        if columns.contains(&column) {
            return Err(ImportError::DuplicateColumn(cell.clone()));
        }
        columns.push(column);
    }
    if !columns.contains(&Column::Id) && !columns.contains(&Column::Visitor) {
        return Err(ImportError::NoIdColumn);
    }
    Ok(columns)
}

/// Names to ids (for import) and ids to names (for export) of an account's groups and tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportCatalog {
    groups: HashMap<String, GroupId>,
    tags: HashMap<String, TagId>,
    group_names: HashMap<GroupId, String>,
    tag_names: HashMap<TagId, String>,
}

impl ImportCatalog {
    /// The catalog of an account's tags and groups (copied: an import may outlive them).
    pub fn new(tags: &Tags, groups: &Groups) -> ImportCatalog {
        let mut catalog = ImportCatalog::default();
        for t in tags.iter() {
            catalog.tags.insert(t.name.clone(), t.id);
            catalog.tag_names.insert(t.id, t.name.clone());
        }
        for g in groups.groups() {
            catalog.groups.insert(g.name.clone(), g.id);
            catalog.group_names.insert(g.id, g.name.clone());
        }
        catalog
    }
}

/// One data row: the line it starts on, and the contact it describes or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// 1-based line of the file where the row starts.
    pub line: u64,
    /// The contact, validated, or the reason the row is invalid.
    pub result: Result<Contact, RowError>,
}

/// Streaming CSV import: feed bytes in chunks of any size, then [`CsvImport::finish`];
/// take rows with [`CsvImport::poll_row`] after each call.
#[derive(Debug)]
pub struct CsvImport {
    reader: Reader,
    columns: Option<Vec<Column>>,
    fatal: Option<ImportError>,
    finished: bool,
    catalog: ImportCatalog,
    default_owner: Option<u32>,
    now: i64,
    rows: VecDeque<ImportRow>,
}

impl CsvImport {
    /// An import into an account with `catalog`'s groups and tags, run by
    /// `default_owner` (who owns rows when the file has no owner column), at `now`.
    pub fn new(catalog: ImportCatalog, default_owner: Option<u32>, now: i64) -> CsvImport {
        CsvImport {
            reader: Reader::new(),
            columns: None,
            fatal: None,
            finished: false,
            catalog,
            default_owner,
            now,
            rows: VecDeque::new(),
        }
    }

    /// The next chunk of the file. A header problem refuses the whole file, now and for
    /// every later call.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), ImportError> {
        self.check_open()?;
        self.reader.feed(chunk);
        self.drain()
    }

    /// The end of the file: the last row (without a line break) comes out.
    pub fn finish(&mut self) -> Result<(), ImportError> {
        self.check_open()?;
        self.finished = true;
        self.reader.finish();
        self.drain()?;
        if self.columns.is_none() {
            self.fatal = Some(ImportError::NoHeader);
            return Err(ImportError::NoHeader);
        }
        Ok(())
    }

    /// The next parsed row, in file order.
    pub fn poll_row(&mut self) -> Option<ImportRow> {
        self.rows.pop_front()
    }

    fn check_open(&self) -> Result<(), ImportError> {
        match (&self.fatal, self.finished) {
            (Some(e), _) => Err(e.clone()),
            (None, true) => Err(ImportError::Finished),
            (None, false) => Ok(()),
        }
    }

    fn drain(&mut self) -> Result<(), ImportError> {
        while let Some(record) = self.reader.out.pop_front() {
            let Some(columns) = &self.columns else {
                let header = record
                    .cells
                    .map_err(ImportError::BadHeader)
                    .and_then(|cells| parse_header(&cells));
                match header {
                    Ok(columns) => self.columns = Some(columns),
                    Err(e) => {
                        self.fatal = Some(e.clone());
                        self.reader.out.clear();
                        return Err(e);
                    }
                }
                continue;
            };
            let result = record
                .cells
                .and_then(|cells| self.row_contact(columns, &cells));
            self.rows.push_back(ImportRow {
                line: record.line,
                result,
            });
        }
        Ok(())
    }

    fn row_contact(&self, columns: &[Column], cells: &[String]) -> Result<Contact, RowError> {
        if cells.iter().skip(columns.len()).any(|c| !c.is_empty()) {
            return Err(RowError::TooManyCells {
                columns: columns.len(),
            });
        }
        let (mut id, mut visitor, mut state, mut owner) = ("", "", "", None);
        let mut contact = Contact::new(
            CustomerKey::Identified(String::new()),
            ContactState::Friend,
            self.default_owner,
            self.now,
        );
        for (i, column) in columns.iter().enumerate() {
            let cell = cells.get(i).map_or("", String::as_str);
            match column {
                Column::Id => id = cell,
                Column::Visitor => visitor = cell,
                Column::State => state = cell,
                Column::Owner => owner = Some(cell),
                Column::RealName => contact.real_name = cell.to_owned(),
                Column::Remark => contact.remark = cell.to_owned(),
                Column::Nickname => contact.nickname = cell.to_owned(),
                Column::Phone => contact.phone = cell.to_owned(),
                Column::Email => contact.email = cell.to_owned(),
                Column::Groups => {
                    for name in names(cell) {
                        let id = self.catalog.groups.get(name);
                        let id = id.ok_or_else(|| RowError::UnknownGroup(name.to_owned()))?;
                        contact.groups.insert(*id);
                    }
                }
                Column::Tags => {
                    for name in names(cell) {
                        let id = self.catalog.tags.get(name);
                        let id = id.ok_or_else(|| RowError::UnknownTag(name.to_owned()))?;
                        contact.tags.insert(*id);
                    }
                }
                Column::Field(name) => {
                    if !cell.is_empty() {
                        contact.fields.insert(name.clone(), cell.to_owned());
                    }
                }
            }
        }
        contact.key = match (id.is_empty(), visitor.is_empty()) {
            (true, true) => return Err(RowError::NoId),
            (false, false) => return Err(RowError::BothIds),
            (false, true) => CustomerKey::Identified(id.to_owned()),
            (true, false) => CustomerKey::Visitor(
                parse_visitor_hex(visitor).ok_or_else(|| RowError::BadVisitor(visitor.into()))?,
            ),
        };
        if !state.trim().is_empty() {
            contact.state =
                ContactState::parse(state).ok_or_else(|| RowError::BadState(state.into()))?;
        }
        if let Some(owner) = owner {
            contact.owner = match owner.trim() {
                "" => None,
                number => Some(
                    number
                        .parse()
                        .map_err(|_| RowError::BadOwner(owner.into()))?,
                ),
            };
            // Rule a: an imported contact is exclusive to the agent it belongs to.
            contact.exclusive_owner = contact.owner;
        }
        contact.validate()?;
        Ok(contact)
    }
}

/// The `;`-separated names of a cell, trimmed, empty ones skipped.
fn names(cell: &str) -> impl Iterator<Item = &str> {
    cell.split(';').map(str::trim).filter(|n| !n.is_empty())
}

// ---------------------------------------------------------------------------------------
// Admission and report
// ---------------------------------------------------------------------------------------

/// An invalid row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRow {
    /// 1-based line where the row starts.
    pub line: u64,
    /// Why it is invalid.
    pub reason: RowError,
}

/// The result report of an import (§5.4 "导入的结果").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// New contacts stored.
    pub imported: u64,
    /// Rows naming existing contacts (or repeating an earlier row of the file).
    pub skipped_existing: u64,
    /// New rows refused because the plan's contact limit is reached.
    pub refused_plan: u64,
    /// Rows refused by the daily import limit.
    pub refused_daily: u64,
    /// The first [`MAX_INVALID_LISTED`] invalid rows.
    pub invalid: Vec<InvalidRow>,
    /// Every invalid row, listed or not.
    pub invalid_total: u64,
}

impl ImportReport {
    /// Rows refused by a limit.
    pub fn refused(&self) -> u64 {
        self.refused_plan + self.refused_daily
    }

    /// Every data row seen.
    pub fn rows(&self) -> u64 {
        self.imported + self.skipped_existing + self.refused() + self.invalid_total
    }
}

/// The account side of one import: which rows to store, and the report.
#[derive(Debug, Clone, Default)]
pub struct ImportSession {
    report: ImportReport,
    seen: HashSet<CustomerKey>,
    /// The operator's import: only the plan limit applies (see
    /// [`ContactLimits::admit_operator_import`]).
    operator: bool,
}

impl ImportSession {
    /// A new import.
    pub fn new() -> ImportSession {
        ImportSession::default()
    }

    /// A new import by the appliance's operator (admin socket): exempt from the daily
    /// import rule, not from the plan limit.
    pub fn operator() -> ImportSession {
        ImportSession {
            operator: true,
            ..ImportSession::default()
        }
    }

    /// Decides parsed rows in order: invalid ones are reported; a valid one is existing
    /// if `exists` says so or an earlier row of this import stored it, and is then
    /// admitted by `limits`. Returns the new contacts to store (each with its index
    /// entries, in one batch) and the most serious limit warning raised.
    pub fn admit(
        &mut self,
        rows: impl IntoIterator<Item = ImportRow>,
        mut exists: impl FnMut(&CustomerKey) -> bool,
        limits: &mut ContactLimits,
        now: i64,
    ) -> (Vec<Contact>, Option<LimitWarning>) {
        let mut store = Vec::new();
        let mut warning: Option<LimitWarning> = None;
        for row in rows {
            let contact = match row.result {
                Ok(contact) => contact,
                Err(reason) => {
                    self.report.invalid_total += 1;
                    if self.report.invalid.len() < MAX_INVALID_LISTED {
                        self.report.invalid.push(InvalidRow {
                            line: row.line,
                            reason,
                        });
                    }
                    continue;
                }
            };
            let candidate = if self.seen.contains(&contact.key) || exists(&contact.key) {
                ImportCandidate::Existing
            } else if contact.state == ContactState::Pending {
                ImportCandidate::NewPending
            } else {
                ImportCandidate::New
            };
            let (verdict, raised) = if self.operator {
                limits.admit_operator_import(candidate, now)
            } else {
                limits.admit_import(candidate, now)
            };
            if let Some(w) = raised {
                if warning.is_none_or(|old| w.level > old.level) {
                    warning = Some(w);
                }
            }
            match verdict {
                ImportVerdict::Import => {
                    self.report.imported += 1;
                    self.seen.insert(contact.key.clone());
                    store.push(contact);
                }
                ImportVerdict::SkipExisting => self.report.skipped_existing += 1,
                ImportVerdict::Refused(ImportRefusal::PlanFull) => self.report.refused_plan += 1,
                ImportVerdict::Refused(ImportRefusal::DailyLimit) => self.report.refused_daily += 1,
            }
        }
        (store, warning)
    }

    /// The report so far.
    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    /// The final report.
    pub fn into_report(self) -> ImportReport {
        self.report
    }
}

// ---------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------

/// Writes contacts as CSV that [`CsvImport`] reads back into the same contacts (every
/// column of the module table; visit information, last-accepted and last-contact times
/// and the creation time are not part of the file). Groups and tags no longer in the
/// catalog are left out.
#[derive(Debug, Clone)]
pub struct CsvExport {
    catalog: ImportCatalog,
    fields: Vec<String>,
}

impl CsvExport {
    /// An exporter with a `field:NAME` column for each of `fields` (sorted, distinct).
    pub fn new(catalog: ImportCatalog, fields: impl IntoIterator<Item = String>) -> CsvExport {
        let mut fields: Vec<String> = fields.into_iter().collect();
        fields.sort_unstable();
        fields.dedup();
        CsvExport { catalog, fields }
    }

    /// The byte-order mark and the header line.
    pub fn write_header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&BOM);
        let standard = COLUMN_NAMES.iter().map(|(_, name, _)| (*name).to_owned());
        let fields = self.fields.iter().map(|f| format!("{FIELD_PREFIX}{f}"));
        write_record(out, standard.chain(fields));
    }

    /// One contact's line.
    pub fn write_row(&self, contact: &Contact, out: &mut Vec<u8>) {
        let (id, visitor) = match &contact.key {
            CustomerKey::Identified(id) => (id.clone(), String::new()),
            CustomerKey::Visitor(bytes) => (String::new(), hex(bytes)),
        };
        let groups: Vec<&str> = contact
            .groups
            .iter()
            .filter_map(|g| self.catalog.group_names.get(g).map(String::as_str))
            .collect();
        let tags: Vec<&str> = contact
            .tags
            .iter()
            .filter_map(|t| self.catalog.tag_names.get(t).map(String::as_str))
            .collect();
        let standard = [
            id,
            visitor,
            contact.state.as_str().to_owned(),
            contact.owner.map(|o| o.to_string()).unwrap_or_default(),
            contact.real_name.clone(),
            contact.remark.clone(),
            contact.nickname.clone(),
            contact.phone.clone(),
            contact.email.clone(),
            groups.join(";"),
            tags.join(";"),
        ];
        let fields = self
            .fields
            .iter()
            .map(|f| contact.fields.get(f).cloned().unwrap_or_default());
        write_record(out, standard.into_iter().chain(fields));
    }
}

/// All of `contacts` as one CSV file, with a column for every free field any of them has.
pub fn export_csv(contacts: &[Contact], catalog: &ImportCatalog) -> Vec<u8> {
    let fields = contacts.iter().flat_map(|c| c.fields.keys().cloned());
    let export = CsvExport::new(catalog.clone(), fields);
    let mut out = Vec::new();
    export.write_header(&mut out);
    for contact in contacts {
        export.write_row(contact, &mut out);
    }
    out
}

fn write_record(out: &mut Vec<u8>, cells: impl Iterator<Item = String>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if cell.contains([',', '"', '\r', '\n']) {
            out.push(b'"');
            out.extend_from_slice(cell.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(cell.as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::LimitCounters;
    use crate::tags::Colour;

    const NOW: i64 = 1_704_067_200;

    /// Records of `input` fed whole.
    fn records(input: &[u8]) -> Vec<RawRecord> {
        let mut r = Reader::new();
        r.feed(input);
        r.finish();
        r.out.into_iter().collect()
    }

    fn ok(line: u64, cells: &[&str]) -> RawRecord {
        RawRecord {
            line,
            cells: Ok(cells.iter().map(|c| (*c).to_owned()).collect()),
        }
    }

    fn bad(line: u64, e: RowError) -> RawRecord {
        RawRecord {
            line,
            cells: Err(e),
        }
    }

    #[test]
    fn rfc4180_records() {
        let cases: Vec<(&str, &[u8], Vec<RawRecord>)> = vec![
            ("empty", b"", vec![]),
            ("one", b"a,b", vec![ok(1, &["a", "b"])]),
            (
                "crlf",
                b"a,b\r\nc,d\r\n",
                vec![ok(1, &["a", "b"]), ok(2, &["c", "d"])],
            ),
            ("lf", b"a\nb\n", vec![ok(1, &["a"]), ok(2, &["b"])]),
            ("lone cr", b"a\rb", vec![ok(1, &["a"]), ok(2, &["b"])]),
            ("empty cells", b",,\r\n", vec![ok(1, &["", "", ""])]),
            (
                "blank lines skipped",
                b"\r\n\na\r\n\r\n\nb",
                vec![ok(3, &["a"]), ok(6, &["b"])],
            ),
            ("quoted empty kept", b"\"\"\n", vec![ok(1, &[""])]),
            (
                "quotes",
                b"\"a,b\",\"say \"\"hi\"\"\",\"\"",
                vec![ok(1, &["a,b", "say \"hi\"", ""])],
            ),
            (
                "newlines in quotes",
                b"\"l1\r\nl2\nl3\",x\r\ny",
                vec![ok(1, &["l1\nl2\nl3", "x"]), ok(4, &["y"])],
            ),
            (
                "a lone cr in quotes is a line break",
                b"\"l1\rl2\"",
                vec![ok(1, &["l1\nl2"])],
            ),
            (
                "bare quote kept",
                b"5'11\",x",
                vec![ok(1, &["5'11\"", "x"])],
            ),
            (
                "text after quote",
                b"\"a\"b,c\nd",
                vec![bad(1, RowError::TextAfterQuote), ok(2, &["d"])],
            ),
            (
                "unterminated",
                b"a\n\"b,c\nd",
                vec![ok(1, &["a"]), bad(2, RowError::UnterminatedQuote)],
            ),
            ("bom", b"\xef\xbb\xbfa,b", vec![ok(1, &["a", "b"])]),
            (
                "bom only at the start",
                b"a\n\xef\xbb\xbfb",
                vec![ok(1, &["a"]), ok(2, &["\u{feff}b"])],
            ),
            (
                "partial bom is data",
                b"\xef\xbbx",
                vec![bad(1, RowError::NotUtf8 { column: 1 })],
            ),
            (
                "partial bom at eof",
                b"\xef",
                vec![bad(1, RowError::NotUtf8 { column: 1 })],
            ),
            (
                "not utf-8 in column 2",
                b"a,\xff\nb",
                vec![bad(1, RowError::NotUtf8 { column: 2 }), ok(2, &["b"])],
            ),
            (
                "chinese",
                "张三,上海\r\n".as_bytes(),
                vec![ok(1, &["张三", "上海"])],
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(records(input), want, "{name}");
        }
    }

    #[test]
    fn long_rows_and_many_cells_are_invalid_alone() {
        let mut input = vec![b'x'; MAX_ROW_BYTES + 1];
        input.extend_from_slice(b"\nok\n");
        input.extend(std::iter::repeat_n(b',', MAX_COLUMNS));
        input.extend_from_slice(b"\n\"");
        input.extend(std::iter::repeat_n(b'y', MAX_ROW_BYTES + 5));
        input.extend_from_slice(b"\"\nlast");
        let got = records(&input);
        assert_eq!(
            got,
            [
                bad(1, RowError::TooLong),
                ok(2, &["ok"]),
                bad(
                    3,
                    RowError::TooManyCells {
                        columns: MAX_COLUMNS
                    }
                ),
                bad(4, RowError::TooLong),
                ok(5, &["last"]),
            ]
        );
    }

    /// A row may span chunks anywhere: every split gives the records of the whole.
    #[test]
    fn chunks_split_anywhere() {
        let input =
            "\u{feff}id,remark\r\nu1,\"多行\r\n备注, \"\"引号\"\"\"\r\nu2,\r\n\r\nu3,x\ru4,y\n"
                .as_bytes();
        let whole = records(input);
        assert_eq!(whole.len(), 5);
        for split in 0..=input.len() {
            let mut r = Reader::new();
            r.feed(&input[..split]);
            r.feed(&input[split..]);
            r.finish();
            assert_eq!(
                r.out.iter().cloned().collect::<Vec<_>>(),
                whole,
                "split {split}"
            );
        }
        let mut r = Reader::new();
        for b in input {
            r.feed(std::slice::from_ref(b));
        }
        r.finish();
        assert_eq!(r.out.into_iter().collect::<Vec<_>>(), whole, "byte by byte");
    }

    fn catalog() -> (Tags, Groups, ImportCatalog) {
        let mut tags = Tags::with_presets();
        tags.create("VIP, 大客户", Colour::from_rgb(1, 2, 3))
            .unwrap();
        let mut groups = Groups::new();
        let sh = groups.create_category("上海").unwrap();
        groups.create_group("上海 - 黄浦", Some(sh)).unwrap();
        groups.create_group("北京", None).unwrap();
        groups.create_group("\"引号\"组", None).unwrap();
        let catalog = ImportCatalog::new(&tags, &groups);
        (tags, groups, catalog)
    }

    /// Every row of `input`, fed whole.
    fn import(input: &str, owner: Option<u32>) -> Result<Vec<ImportRow>, ImportError> {
        let mut imp = CsvImport::new(catalog().2, owner, NOW);
        imp.feed(input.as_bytes())?;
        imp.finish()?;
        Ok(std::iter::from_fn(|| imp.poll_row()).collect())
    }

    #[test]
    fn header_errors_refuse_the_file() {
        let cases: [(&str, ImportError); 8] = [
            ("", ImportError::NoHeader),
            ("\r\n\r\n", ImportError::NoHeader),
            (
                "id,phone number\n",
                ImportError::UnknownColumn("phone number".into()),
            ),
            ("id,ID\n", ImportError::DuplicateColumn("ID".into())),
            (
                "id,备注,remark\n",
                ImportError::DuplicateColumn("remark".into()),
            ),
            ("real_name,phone\n", ImportError::NoIdColumn),
            (
                "id,field:\n",
                ImportError::BadFieldName {
                    column: "field:".into(),
                    reason: ContactError::EmptyFieldName,
                },
            ),
            (
                "\"id\"x,phone\n",
                ImportError::BadHeader(RowError::TextAfterQuote),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(import(input, None), Err(want.clone()), "{input:?}");
        }
        // once refused, always refused
        let mut imp = CsvImport::new(ImportCatalog::default(), None, NOW);
        assert!(imp.feed(b"id,nope\nu1,x\n").is_err());
        assert_eq!(imp.poll_row(), None);
        assert_eq!(
            imp.feed(b"u2,y\n"),
            Err(ImportError::UnknownColumn("nope".into()))
        );
        let mut done = CsvImport::new(ImportCatalog::default(), None, NOW);
        done.feed(b"id\n").unwrap();
        done.finish().unwrap();
        assert_eq!(done.feed(b"u1\n"), Err(ImportError::Finished));
    }

    #[test]
    fn header_names_and_aliases() {
        let rows = import(
            " ID ,真实姓名,备注,昵称,手机,邮箱,分组,标签,状态,Field:公司\n\
             u1,张三,老客户,zs,138 0013 8000,zs@example.com,北京;上海 - 黄浦,投诉,黑名单,示例\n",
            Some(1001),
        )
        .unwrap();
        let c = rows[0].result.clone().unwrap();
        assert_eq!(c.key, CustomerKey::Identified("u1".into()));
        assert_eq!(
            (c.real_name.as_str(), c.remark.as_str(), c.nickname.as_str()),
            ("张三", "老客户", "zs")
        );
        assert_eq!(
            (c.phone.as_str(), c.email.as_str()),
            ("138 0013 8000", "zs@example.com")
        );
        assert_eq!(c.groups.len(), 2);
        assert_eq!(c.tags.len(), 1);
        assert_eq!(c.state, ContactState::Blacklisted);
        assert_eq!(c.owner, Some(1001), "no owner column: the importing agent");
        assert_eq!(c.fields.get("公司").map(String::as_str), Some("示例"));
        assert_eq!(c.created_at, NOW);
    }

    #[test]
    fn bad_rows_are_reported_with_lines_and_never_stop_the_good_ones() {
        let input = "id,visitor,state,owner,real_name,phone,email,groups,tags,field:f\r\n\
                     ok1,,,,张三,,,,,\r\n\
                     ,,,,no id,,,,,\r\n\
                     u3,00112233445566778899aabbccddeeff,,,both,,,,,\r\n\
                     ,0011,,,short visitor,,,,,\r\n\
                     u5,,enemy,,,,,,,\r\n\
                     u6,,,boss,,,,,,\r\n\
                     u7,,,,,,,火星,,\r\n\
                     u8,,,,,,,,不存在,\r\n\
                     u9,,,,,phone?,,,,\r\n\
                     u10,,,,,,not-an-email,,,\r\n\
                     u11,,,,\"名字\r\n换行\",,,,,\r\n\
                     u12,,,,,,,,,,extra\r\n\
                     \"u13\"x,,,,,,,,,\r\n\
                     ,00112233445566778899AABBCCDDEEFF,stranger,,visitor ok,,,,,\r\n\
                     ok2,,pending,1002,,,,,,v\r\n\
                     u16,,,,,,,,,,\r\n\
                     ok3";
        let rows = import(input, Some(1001)).unwrap();
        let got: Vec<(u64, Result<&str, RowError>)> = rows
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.result
                        .as_ref()
                        .map(|c| c.real_name.as_str())
                        .map_err(Clone::clone),
                )
            })
            .collect();
        let want: Vec<(u64, Result<&str, RowError>)> = vec![
            (2, Ok("张三")),
            (3, Err(RowError::NoId)),
            (4, Err(RowError::BothIds)),
            (5, Err(RowError::BadVisitor("0011".into()))),
            (6, Err(RowError::BadState("enemy".into()))),
            (7, Err(RowError::BadOwner("boss".into()))),
            (8, Err(RowError::UnknownGroup("火星".into()))),
            (9, Err(RowError::UnknownTag("不存在".into()))),
            (10, Err(RowError::Contact(ContactError::InvalidPhone))),
            (11, Err(RowError::Contact(ContactError::InvalidEmail))),
            (
                12,
                Err(RowError::Contact(ContactError::ControlChar {
                    field: crate::contact::Field::RealName,
                    ch: '\n',
                })),
            ),
            (14, Err(RowError::TooManyCells { columns: 10 })),
            (15, Err(RowError::TextAfterQuote)),
            (16, Ok("visitor ok")),
            (17, Ok("")),
            (18, Ok("")),
            (19, Ok("")),
        ];
        assert_eq!(got, want);
        let visitor = rows[13].result.clone().unwrap();
        assert_eq!(
            visitor.key,
            CustomerKey::Visitor(
                *b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff"
            )
        );
        assert_eq!(visitor.state, ContactState::Stranger);
        assert_eq!(visitor.owner, None, "an empty owner cell: no owner");
        let pending = rows[14].result.clone().unwrap();
        assert_eq!(
            (pending.state, pending.owner),
            (ContactState::Pending, Some(1002))
        );
        assert_eq!(pending.fields.get("f").map(String::as_str), Some("v"));
    }

    fn limits(contacts: u32, limit: u32) -> ContactLimits {
        ContactLimits::new(
            limit,
            8 * 3600,
            LimitCounters {
                contacts,
                ..LimitCounters::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn session_report() {
        let input = "id,real_name\n\
                     old,已有\n\
                     new1,新\n\
                     ,无id\n\
                     new1,重复\n\
                     new2,新\n\
                     new3,满了\n";
        let rows = import(input, Some(1001)).unwrap();
        let mut limits = limits(8, 10);
        let mut session = ImportSession::new();
        let existing = CustomerKey::Identified("old".into());
        let (store, warning) = session.admit(rows, |k| *k == existing, &mut limits, NOW);
        let stored: Vec<&str> = store.iter().map(|c| c.real_name.as_str()).collect();
        assert_eq!(stored, ["新", "新"]);
        assert!(warning.is_some_and(|w| w.level == crate::limits::LimitLevel::Near));
        let report = session.into_report();
        assert_eq!(
            report,
            ImportReport {
                imported: 2,
                skipped_existing: 2,
                refused_plan: 1,
                refused_daily: 0,
                invalid: vec![InvalidRow {
                    line: 4,
                    reason: RowError::NoId
                }],
                invalid_total: 1,
            }
        );
        assert_eq!(report.rows(), 6);
        assert_eq!(limits.counters().contacts, 10);
        assert_eq!(limits.counters().imported_total, 4);
    }

    #[test]
    fn session_lists_at_most_a_thousand_invalid_rows() {
        let rows = (0..1500).map(|line| ImportRow {
            line,
            result: Err(RowError::NoId),
        });
        let mut session = ImportSession::new();
        let _ = session.admit(rows, |_| false, &mut limits(0, 10), NOW);
        assert_eq!(session.report().invalid.len(), MAX_INVALID_LISTED);
        assert_eq!(session.report().invalid_total, 1500);
    }

    #[test]
    fn export_golden() {
        let (_, groups, catalog) = catalog();
        let mut c = Contact::new(
            CustomerKey::Identified("u,1".into()),
            ContactState::Friend,
            Some(1001),
            NOW,
        );
        c.remark = "说 \"你好\"\n第二行".into();
        c.groups.insert(groups.group_by_name("北京").unwrap().id);
        c.groups
            .insert(groups.group_by_name("\"引号\"组").unwrap().id);
        c.tags.insert(TagId(6));
        c.fields.insert("a,b".into(), "v".into());
        let out = export_csv(&[c], &catalog);
        let want = "\u{feff}id,visitor,state,owner,real_name,remark,nickname,phone,email,groups,tags,\"field:a,b\"\r\n\
                    \"u,1\",,friend,1001,,\"说 \"\"你好\"\"\n第二行\",,,,\"北京;\"\"引号\"\"组\",\"VIP, 大客户\",v\r\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    /// xorshift64: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn random_text(rng: &mut Rng, max: usize, multiline: bool) -> String {
        const ONE_LINE: [&str; 12] = [
            "张", "三", "上海", "a", "Z", ",", "\"", "\"\"", " ", ";", "é", "😀",
        ];
        let len = rng.below(max + 1);
        let mut s = String::new();
        while s.chars().count() < len {
            if multiline && rng.below(8) == 0 {
                s.push(['\n', '\t'][rng.below(2)]);
            } else {
                s.push_str(ONE_LINE[rng.below(ONE_LINE.len())]);
            }
        }
        s.chars().take(len).collect()
    }

    fn random_contact(rng: &mut Rng, i: usize, tags: &Tags, groups: &Groups) -> Contact {
        let key = if rng.below(5) == 0 {
            let mut bytes = [0u8; 16];
            for b in &mut bytes {
                *b = rng.next() as u8;
            }
            CustomerKey::Visitor(bytes)
        } else {
            CustomerKey::Identified(format!("{}#{i}", random_text(rng, 12, false)))
        };
        let mut c = Contact::new(
            key,
            ContactState::ALL[rng.below(4)],
            [None, Some(1001), Some(u32::MAX)][rng.below(3)],
            NOW,
        );
        c.real_name = random_text(rng, 32, false);
        c.remark = random_text(rng, 60, true);
        c.nickname = random_text(rng, 10, false);
        c.phone = ["", "+86 (10) 6552-1234", "1"][rng.below(3)].to_owned();
        c.email = ["", "a@b", "张三@例子.中国", "\"x,y\"@q"][rng.below(4)].to_owned();
        for _ in 0..rng.below(4) {
            let name = ["公司", "city", "a,b", "\"q\"", "空 格 "][rng.below(5)];
            let value = random_text(rng, 30, true);
            if !value.is_empty() {
                c.fields.insert(name.to_owned(), value);
            }
        }
        let all_groups: Vec<GroupId> = groups.groups().map(|g| g.id).collect();
        let all_tags: Vec<TagId> = tags.iter().map(|t| t.id).collect();
        for _ in 0..rng.below(3) {
            c.groups.insert(all_groups[rng.below(all_groups.len())]);
            c.tags.insert(all_tags[rng.below(all_tags.len())]);
        }
        c.validate().unwrap();
        c
    }

    /// Export, then import in random chunks: the same contacts, in the same order.
    #[test]
    fn export_imports_back_identically() {
        let (tags, groups, catalog) = catalog();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..20 {
            let contacts: Vec<Contact> = (0..50)
                .map(|i| random_contact(&mut rng, i, &tags, &groups))
                .collect();
            let file = export_csv(&contacts, &catalog);
            let mut imp = CsvImport::new(catalog.clone(), Some(7), NOW);
            let mut rest = file.as_slice();
            while !rest.is_empty() {
                let n = (rng.below(40) + 1).min(rest.len());
                let (chunk, tail) = rest.split_at(n);
                imp.feed(chunk).unwrap();
                rest = tail;
            }
            imp.finish().unwrap();
            let back: Vec<Contact> = std::iter::from_fn(|| imp.poll_row())
                .map(|r| r.result.unwrap())
                .collect();
            assert_eq!(back, contacts, "round {round}");
        }
    }
}
