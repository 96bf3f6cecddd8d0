//! Keyword search over contacts that works for Chinese (R6, manual §5.6): the matching
//! rule, the index terms a contact is indexed under, and [`SearchIndex`], an in-memory
//! inverted index with filters, sort and pages.
//!
//! # What a query matches
//!
//! Text is normalised the same way on both sides: full-width ASCII (`ＡＢＣ１２３`) becomes
//! ASCII, the ideographic space a space, and everything is lower-cased (Unicode). Each
//! character then falls in one of three classes: **CJK** (Han ideographs, kana, Hangul
//! syllables — scripts written without spaces), **word** (every other letter or digit:
//! Latin, digits, Cyrillic, accented letters…), or **separator** (spaces, punctuation,
//! symbols, emoji). A *run* is a maximal sequence of one class within one field.
//!
//! The searchable fields are the customer id (a visitor id as 32 hex digits), real name,
//! remark, nickname, e-mail and phone; the phone counts as one run of its digits only, so
//! `138-0013-8000` is found by `13800138000`, `0013` and `8000` alike. A query is split
//! into runs the same way, and a contact matches when **every** query run matches a run
//! of the same class in one of its fields (runs may match in different fields, in any
//! order):
//!
//! | query run | matches a field run that | example |
//! |---|---|---|
//! | CJK, any length | contains it | `张三` finds 张三, 张三丰, 小张三 — not `张 三丰` |
//! | word, 1–2 characters | starts with it | `zh` finds Zhangsan; `13` finds phones starting 13 |
//! | word, 3 or more | contains it | `zhang`, `gsan`, `8000`, `example` |
//!
//! Why: Chinese has no spaces, so a name or an address must be found by any part of it;
//! Latin names, phone numbers and e-mail addresses by any part of three characters or
//! more; and one or two Latin letters or digits would match nearly everything as a
//! substring, so they mean "starts with". Traditional and simplified characters are
//! different characters (no conversion table), and so are accented and plain letters.
//!
//! # Index terms
//!
//! | [`TermKind`] | byte | taken from each field run | serves query runs of |
//! |---|---|---|---|
//! | `CjkChar` | 0x01 | every character of a CJK run | one CJK character |
//! | `CjkBigram` | 0x02 | every two adjacent characters of a CJK run | 2+ CJK characters (all their bigrams) |
//! | `WordPrefix` | 0x03 | the first one and first two characters of a word run | 1–2 word characters |
//! | `WordTrigram` | 0x04 | every three adjacent characters of a word run | 3+ word characters (all their trigrams) |
//!
//! A [`Term`] is its kind byte followed by UTF-8 text: 2..=[`MAX_TERM_LEN`] bytes.
//! **Completeness:** a field run that contains (or starts with) a query run
//! has every term of the query run, so the intersection of the query terms' postings
//! holds every match. **Exactness:** that intersection can hold more (`张三` and `三丰`
//! but no `张三丰`; trigrams in the wrong order), so every candidate is checked against
//! the contact's normalised text ([`Query::matches`]) — unless each query run is a single
//! term that is itself the rule (a 1–2 character CJK run, a 1–3 character word run).
//!
//! # In memory
//!
//! [`SearchIndex`] keeps, per account, term → sorted contact numbers, tag / group / owner
//! → sorted contact numbers, and per contact its normalised text and filter attributes
//! (so it verifies and filters without reading records). A search intersects the
//! postings of the query terms, the tags (all of), the owner and the union of the groups
//! (any of), smallest first; checks each candidate; then selects and sorts only the
//! requested page.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;

use super::contact::{Contact, ContactState};
use super::groups::GroupId;
use super::tags::{TagId, MAX_TAGS};

/// Longest term, in bytes: a kind byte and three characters of up to four bytes.
pub const MAX_TERM_LEN: usize = 13;
/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 64;
/// Most runs (words) in a query.
pub const MAX_QUERY_RUNS: usize = 8;
/// Largest page.
pub const MAX_PAGE: u16 = 100;
/// Most groups in a filter.
pub const MAX_FILTER_GROUPS: usize = 32;

/// Separates the runs of a contact's normalised text (a control character never in a run).
const SEP: char = '\u{1}';

/// What a term was taken from; its byte opens the term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TermKind {
    /// One character of a CJK run.
    CjkChar = 1,
    /// Two adjacent characters of a CJK run.
    CjkBigram = 2,
    /// The first one or two characters of a word run.
    WordPrefix = 3,
    /// Three adjacent characters of a word run.
    WordTrigram = 4,
}

impl TermKind {
    fn from_byte(byte: u8) -> Option<TermKind> {
        match byte {
            1 => Some(TermKind::CjkChar),
            2 => Some(TermKind::CjkBigram),
            3 => Some(TermKind::WordPrefix),
            4 => Some(TermKind::WordTrigram),
            _ => None,
        }
    }
}

/// An index term: a kind byte and one to three characters (see the module doc).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Term {
    len: u8,
    bytes: [u8; MAX_TERM_LEN],
}

impl Term {
    /// A term of `kind` over `chars` (1..=3 characters, checked by the callers).
    fn from_chars(kind: TermKind, chars: &[char]) -> Term {
        let mut bytes = [0u8; MAX_TERM_LEN];
        bytes[0] = kind as u8;
        let mut len = 1;
        for c in chars.iter().take(3) {
            if let Some(slot) = bytes.get_mut(len..) {
                len += c.encode_utf8(slot).len();
            }
        }
        Term {
            len: len as u8,
            bytes,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> TermKind {
        TermKind::from_byte(self.bytes[0]).unwrap_or(TermKind::CjkChar)
    }

    /// Its bytes: the kind byte, then the UTF-8 text.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The term's characters.
    pub fn text(&self) -> &str {
        self.as_bytes()
            .get(1..)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

impl Ord for Term {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl PartialOrd for Term {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({:?})", self.kind(), self.text())
    }
}

// ---------------------------------------------------------------------------------------
// Normalisation and runs
// ---------------------------------------------------------------------------------------

/// The class of a normalised character (separators have none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Class {
    Cjk,
    Word,
}

/// Han ideographs (with extensions and compatibility forms), 々 〆 〇 and Suzhou numerals,
/// kana (without the middle dot ・) and Hangul syllables.
fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x3005..=0x3007
        | 0x3021..=0x3029
        | 0x3041..=0x3096
        | 0x309D..=0x309F
        | 0x30A1..=0x30FA
        | 0x30FC..=0x30FF
        | 0x31F0..=0x31FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF
        | 0x20000..=0x3134F)
}

fn class_of(c: char) -> Option<Class> {
    if is_cjk(c) {
        Some(Class::Cjk)
    } else if c.is_alphanumeric() {
        Some(Class::Word)
    } else {
        None
    }
}

/// Full-width ASCII to ASCII, the ideographic space to a space.
fn fold(c: char) -> char {
    match u32::from(c) {
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

/// Calls `f` with every run of `text`, normalised.
fn for_each_run(text: &str, mut f: impl FnMut(Class, &str)) {
    let mut run = String::new();
    let mut current: Option<Class> = None;
    for c in text.chars() {
        for lower in fold(c).to_lowercase() {
            let class = class_of(lower);
            if class != current {
                if let (Some(k), false) = (current, run.is_empty()) {
                    f(k, &run);
                }
                run.clear();
                current = class;
            }
            if class.is_some() {
                run.push(lower);
            }
        }
    }
    if let (Some(k), false) = (current, run.is_empty()) {
        f(k, &run);
    }
}

/// A contact's searchable text, normalised: every run preceded by [`SEP`].
fn searchable_text(contact: &Contact) -> String {
    let mut text = String::new();
    let mut push = |_: Class, run: &str| {
        text.push(SEP);
        text.push_str(run);
    };
    let key = contact.key.search_text();
    for field in [
        key.as_ref(),
        contact.real_name.as_str(),
        contact.remark.as_str(),
        contact.nickname.as_str(),
        contact.email.as_str(),
    ] {
        for_each_run(field, &mut push);
    }
    let digits: String = contact.phone.chars().filter(char::is_ascii_digit).collect();
    if !digits.is_empty() {
        push(Class::Word, &digits);
    }
    text
}

/// The terms of one run, appended to `out`.
fn run_terms(class: Class, run: &str, out: &mut Vec<Term>) {
    let chars: SmallVec<[char; 32]> = run.chars().collect();
    match class {
        Class::Cjk => {
            out.extend(
                chars
                    .iter()
                    .map(|c| Term::from_chars(TermKind::CjkChar, std::slice::from_ref(c))),
            );
            out.extend(
                chars
                    .windows(2)
                    .map(|w| Term::from_chars(TermKind::CjkBigram, w)),
            );
        }
        Class::Word => {
            for n in 1..=2 {
                if let Some(prefix) = chars.get(..n) {
                    out.push(Term::from_chars(TermKind::WordPrefix, prefix));
                }
            }
            out.extend(
                chars
                    .windows(3)
                    .map(|w| Term::from_chars(TermKind::WordTrigram, w)),
            );
        }
    }
}

/// The sorted, distinct terms of normalised text made by [`searchable_text`].
fn text_terms(text: &str) -> Vec<Term> {
    let mut out = Vec::new();
    for run in text.split(SEP) {
        if let Some(class) = run.chars().next().and_then(class_of) {
            run_terms(class, run, &mut out);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The terms `contact` is indexed under (see the module doc), sorted and distinct.
pub fn index_terms(contact: &Contact) -> Vec<Term> {
    text_terms(&searchable_text(contact))
}

/// Elements only in `old`, elements only in `new` (both sorted and distinct).
fn sorted_diff<T: Ord + Copy>(old: &[T], new: &[T]) -> (Vec<T>, Vec<T>) {
    let (mut gone, mut came) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (old.iter().peekable(), new.iter().peekable());
    loop {
        match (i.peek(), j.peek()) {
            (Some(a), Some(b)) => match a.cmp(b) {
                Ordering::Less => gone.extend(i.next()),
                Ordering::Greater => came.extend(j.next()),
                Ordering::Equal => {
                    i.next();
                    j.next();
                }
            },
            (Some(_), None) => gone.extend(i.next()),
            (None, Some(_)) => came.extend(j.next()),
            (None, None) => break,
        }
    }
    (gone, came)
}

// ---------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------

/// Why a search request was refused. The requester's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The query is longer than [`MAX_QUERY_CHARS`].
    #[error("the query has {chars} characters, more than {MAX_QUERY_CHARS}")]
    QueryTooLong {
        /// Characters given.
        chars: usize,
    },
    /// The query has more than [`MAX_QUERY_RUNS`] words.
    #[error("the query has {runs} words, more than {MAX_QUERY_RUNS}")]
    TooManyWords {
        /// Words found.
        runs: usize,
    },
    /// A page of 0 or more than [`MAX_PAGE`] contacts.
    #[error("a page holds 1 to {MAX_PAGE} contacts, not {limit}")]
    PageSize {
        /// Size asked for.
        limit: u16,
    },
    /// More groups or tags in the filter than an account can have on a contact.
    #[error("too many groups or tags in the filter")]
    TooManyFilters,
    /// A time range that ends before it starts.
    #[error("the time range ends before it starts")]
    BadRange,
}

/// One run of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueryRun {
    class: Class,
    /// Characters in the run.
    chars: usize,
    /// What the normalised text must contain: the run, preceded by [`SEP`] for a
    /// starts-with (1–2 character word) run.
    pattern: String,
}

impl QueryRun {
    fn text(&self) -> &str {
        self.pattern.trim_start_matches(SEP)
    }
}

/// A parsed keyword query (see the module doc for what it matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    runs: Vec<QueryRun>,
    terms: Vec<Term>,
    /// The postings alone decide: every run is one term that is the rule.
    exact: bool,
}

impl Query {
    /// Parses a query: at most [`MAX_QUERY_CHARS`] characters and [`MAX_QUERY_RUNS`]
    /// words. A query without letters or digits matches every contact.
    pub fn parse(text: &str) -> Result<Query, SearchError> {
        let chars = text.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(SearchError::QueryTooLong { chars });
        }
        let mut runs: Vec<QueryRun> = Vec::new();
        for_each_run(text, |class, run| {
            let chars = run.chars().count();
            let pattern = if class == Class::Word && chars <= 2 {
                format!("{SEP}{run}")
            } else {
                run.to_owned()
            };
            let q = QueryRun {
                class,
                chars,
                pattern,
            };
            if !runs.contains(&q) {
                runs.push(q);
            }
        });
        if runs.len() > MAX_QUERY_RUNS {
            return Err(SearchError::TooManyWords { runs: runs.len() });
        }
        let mut terms = Vec::new();
        for run in &runs {
            query_run_terms(run, &mut terms);
        }
        terms.sort_unstable();
        terms.dedup();
        let exact = runs.iter().all(|r| match r.class {
            Class::Cjk => r.chars <= 2,
            Class::Word => r.chars <= 3,
        });
        Ok(Query { runs, terms, exact })
    }

    /// Whether the query has no word at all (it then matches every contact).
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The terms whose postings every match is in, sorted and distinct.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// Whether `contact` matches: the exact rule, to verify candidates read from the
    /// index column family.
    pub fn matches(&self, contact: &Contact) -> bool {
        self.matches_text(&searchable_text(contact))
    }

    fn matches_text(&self, text: &str) -> bool {
        self.runs.iter().all(|r| text.contains(r.pattern.as_str()))
    }
}

/// The terms of one query run, appended to `out`.
fn query_run_terms(run: &QueryRun, out: &mut Vec<Term>) {
    let chars: SmallVec<[char; 32]> = run.text().chars().collect();
    match (run.class, chars.len()) {
        (Class::Cjk, 1) => out.push(Term::from_chars(TermKind::CjkChar, &chars)),
        (Class::Cjk, _) => out.extend(
            chars
                .windows(2)
                .map(|w| Term::from_chars(TermKind::CjkBigram, w)),
        ),
        (Class::Word, 1 | 2) => out.push(Term::from_chars(TermKind::WordPrefix, &chars)),
        (Class::Word, _) => out.extend(
            chars
                .windows(3)
                .map(|w| Term::from_chars(TermKind::WordTrigram, w)),
        ),
    }
}

/// The terms of a query (see [`Query::terms`]).
pub fn query_terms(query: &str) -> Result<Vec<Term>, SearchError> {
    Ok(Query::parse(query)?.terms.clone())
}

// ---------------------------------------------------------------------------------------
// Filters, sort, pages
// ---------------------------------------------------------------------------------------

/// A half-open time range `[from, until)`, unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// First second included.
    pub from: i64,
    /// First second excluded.
    pub until: i64,
}

/// Advanced search (§5.6 高级查找): every filter set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// In at least one of these groups (none: any).
    pub groups: Vec<GroupId>,
    /// Carrying all of these tags.
    pub tags: Vec<TagId>,
    /// Owned by this agent.
    pub owner: Option<u32>,
    /// In this state.
    pub state: Option<ContactState>,
    /// Last contact within this range (never-contacted contacts are outside every range).
    pub last_contact: Option<TimeRange>,
    /// Visibility (exclusive mode, permission 4 missing): only contacts exclusive to this
    /// agent or to nobody (§7.17 d; `Contact::exclusive_owner`).
    pub visible_to: Option<u32>,
    /// Only these contacts (sorted contact numbers): the "online now" filter (R6), which
    /// the caller computes from who is connected.
    pub among: Option<Vec<u64>>,
    /// Never these contact numbers: an import chunk still being applied, whose rows
    /// are not shown until it is answered.
    pub hidden: Option<std::ops::Range<u64>>,
}

impl Filters {
    fn check(&self) -> Result<(), SearchError> {
        if self.groups.len() > MAX_FILTER_GROUPS || self.tags.len() > MAX_TAGS {
            return Err(SearchError::TooManyFilters);
        }
        if self.last_contact.is_some_and(|r| r.until < r.from) {
            return Err(SearchError::BadRange);
        }
        Ok(())
    }

    fn accept(&self, doc: &Doc) -> bool {
        (self.groups.is_empty() || self.groups.iter().any(|g| doc.groups.contains(g)))
            && self.tags.iter().all(|t| doc.tags.contains(t))
            && self.owner.is_none_or(|o| doc.owner == Some(o))
            && self.state.is_none_or(|s| doc.state == s)
            && self.last_contact.is_none_or(|r| {
                doc.last_contact
                    .is_some_and(|at| r.from <= at && at < r.until)
            })
            && self
                .visible_to
                .is_none_or(|agent| doc.exclusive_owner.is_none_or(|o| o == agent))
    }
}

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Last contact, newest first; never-contacted last; ties newest contact first.
    #[default]
    LastContactDesc,
    /// Display name ([`Contact::display_name`]) lower-cased, in code-point order (for
    /// Chinese roughly radical order: no pinyin table); ties by contact number.
    Name,
    /// Newest contact (highest contact number) first.
    Newest,
}

/// Which slice of the sorted results to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    offset: u32,
    limit: u16,
}

impl PageRequest {
    /// `limit` results (1..=[`MAX_PAGE`]) after skipping `offset`.
    pub fn new(offset: u32, limit: u16) -> Result<PageRequest, SearchError> {
        if limit == 0 || limit > MAX_PAGE {
            return Err(SearchError::PageSize { limit });
        }
        Ok(PageRequest { offset, limit })
    }
}

/// A page of results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// How many contacts match in all.
    pub total: usize,
    /// The contact numbers of the page, in order.
    pub items: Vec<u64>,
}

// ---------------------------------------------------------------------------------------
// The in-memory index
// ---------------------------------------------------------------------------------------

/// A non-text attribute with postings of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Attr {
    Tag(TagId),
    Group(GroupId),
    Owner(u32),
}

/// What the index keeps of a contact.
#[derive(Debug, Clone)]
struct Doc {
    text: Box<str>,
    name: Box<str>,
    /// The first 8 bytes of `name`, big-endian, zero-padded: sorts like `name` up to ties.
    name_prefix: u64,
    state: ContactState,
    owner: Option<u32>,
    exclusive_owner: Option<u32>,
    groups: SmallVec<[GroupId; 4]>,
    tags: SmallVec<[TagId; 4]>,
    last_contact: Option<i64>,
}

impl Doc {
    fn new(contact: &Contact) -> Doc {
        let name = contact.display_name().to_lowercase();
        let mut prefix = [0u8; 8];
        for (slot, byte) in prefix.iter_mut().zip(name.bytes()) {
            *slot = byte;
        }
        Doc {
            text: searchable_text(contact).into(),
            name: name.into(),
            name_prefix: u64::from_be_bytes(prefix),
            state: contact.state,
            owner: contact.owner,
            exclusive_owner: contact.exclusive_owner,
            groups: contact.groups.iter().copied().collect(),
            tags: contact.tags.iter().copied().collect(),
            last_contact: contact.last_contact_at,
        }
    }

    /// Sorted, distinct.
    fn attrs(&self) -> Vec<Attr> {
        let mut attrs: Vec<Attr> = self
            .tags
            .iter()
            .map(|t| Attr::Tag(*t))
            .chain(self.groups.iter().map(|g| Attr::Group(*g)))
            .chain(self.owner.map(Attr::Owner))
            .collect();
        attrs.sort_unstable();
        attrs.dedup();
        attrs
    }
}

/// Sizes of a [`SearchIndex`], for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStats {
    /// Contacts indexed.
    pub contacts: usize,
    /// Distinct terms.
    pub terms: usize,
    /// (term, contact) entries: what the index column family holds.
    pub postings: usize,
}

/// One account's contacts, searchable (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    /// SipHash: terms come from text customers and agents write.
    postings: HashMap<Term, Vec<u64>>,
    attrs: HashMap<Attr, Vec<u64>, BuildHasherDefault<IdHasher>>,
    docs: HashMap<u64, Doc, BuildHasherDefault<IdHasher>>,
}

/// A multiplicative hasher for server-assigned numbers (contact, tag, group, agent), which
/// nobody outside can choose; several times cheaper than SipHash on the search path.
#[derive(Debug, Clone, Copy, Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl SearchIndex {
    /// An empty index.
    pub fn new() -> SearchIndex {
        SearchIndex::default()
    }

    /// Number of contacts indexed.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether no contact is indexed.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Whether contact `contact_no` is indexed.
    pub fn contains(&self, contact_no: u64) -> bool {
        self.docs.contains_key(&contact_no)
    }

    /// Sizes.
    pub fn stats(&self) -> IndexStats {
        IndexStats {
            contacts: self.docs.len(),
            terms: self.postings.len(),
            postings: self.postings.values().map(Vec::len).sum(),
        }
    }

    /// The contacts indexed under `term`, in number order.
    pub fn postings(&self, term: &Term) -> &[u64] {
        self.postings.get(term).map_or(&[], Vec::as_slice)
    }

    /// The contacts carrying `tag` (to take a deleted tag off them).
    pub fn with_tag(&self, tag: TagId) -> &[u64] {
        self.attrs.get(&Attr::Tag(tag)).map_or(&[], Vec::as_slice)
    }

    /// The contacts in `group` (to take a deleted group off them).
    pub fn in_group(&self, group: GroupId) -> &[u64] {
        self.attrs
            .get(&Attr::Group(group))
            .map_or(&[], Vec::as_slice)
    }

    /// Adds contact `contact_no`, or updates it if it is indexed already.
    pub fn add(&mut self, contact_no: u64, contact: &Contact) {
        let doc = Doc::new(contact);
        let (old_terms, old_attrs) = match self.docs.get(&contact_no) {
            Some(old) => (text_terms(&old.text), old.attrs()),
            None => (Vec::new(), Vec::new()),
        };
        let (gone, came) = sorted_diff(&old_terms, &text_terms(&doc.text));
        for term in gone {
            remove_posting(&mut self.postings, term, contact_no);
        }
        for term in came {
            insert_posting(self.postings.entry(term).or_default(), contact_no);
        }
        let (gone, came) = sorted_diff(&old_attrs, &doc.attrs());
        for attr in gone {
            remove_posting(&mut self.attrs, attr, contact_no);
        }
        for attr in came {
            insert_posting(self.attrs.entry(attr).or_default(), contact_no);
        }
        self.docs.insert(contact_no, doc);
    }

    /// Updates contact `contact_no` (the same as [`SearchIndex::add`]).
    pub fn update(&mut self, contact_no: u64, contact: &Contact) {
        self.add(contact_no, contact);
    }

    /// Removes contact `contact_no`; `false` if it was not indexed.
    pub fn remove(&mut self, contact_no: u64) -> bool {
        let Some(doc) = self.docs.remove(&contact_no) else {
            return false;
        };
        for term in text_terms(&doc.text) {
            remove_posting(&mut self.postings, term, contact_no);
        }
        for attr in doc.attrs() {
            remove_posting(&mut self.attrs, attr, contact_no);
        }
        true
    }

    /// The contacts matching `query` and `filters`, sorted, one page of them. Exact: no
    /// contact is returned that does not match.
    pub fn search(
        &self,
        query: &Query,
        filters: &Filters,
        sort: Sort,
        page: PageRequest,
    ) -> Result<Page, SearchError> {
        filters.check()?;
        let hidden = filters.hidden.clone().unwrap_or(0..0);
        let keep = |no: &u64, doc: &Doc| {
            !hidden.contains(no)
                && (query.exact || query.matches_text(&doc.text))
                && filters.accept(doc)
        };
        let mut hits: Vec<Hit<'_>> = match self.candidates(query, filters) {
            Candidates::Nothing => return Ok(Page::default()),
            Candidates::All => self
                .docs
                .iter()
                .filter(|(no, doc)| keep(no, doc))
                .map(|(no, doc)| Hit::new(sort, *no, doc))
                .collect(),
            Candidates::These(numbers) => numbers
                .iter()
                .filter_map(|no| self.docs.get(no).map(|doc| (*no, doc)))
                .filter(|(no, doc)| keep(no, doc))
                .map(|(no, doc)| Hit::new(sort, no, doc))
                .collect(),
        };
        let total = hits.len();
        let start = usize::try_from(page.offset).unwrap_or(usize::MAX);
        if start >= total {
            return Ok(Page {
                total,
                items: Vec::new(),
            });
        }
        let end = start.saturating_add(usize::from(page.limit)).min(total);
        let cmp = order(sort);
        if end < total {
            hits.select_nth_unstable_by(end, &cmp);
            hits.truncate(end);
        }
        hits.sort_unstable_by(&cmp);
        let items = hits
            .get(start..)
            .unwrap_or(&[])
            .iter()
            .map(|hit| hit.no)
            .collect();
        Ok(Page { total, items })
    }

    /// The candidates: a superset of the matches, from the postings of the query terms,
    /// the tags, the owner and the union of the groups, intersected smallest first.
    fn candidates(&self, query: &Query, filters: &Filters) -> Candidates {
        let union = if filters.groups.is_empty() {
            None
        } else {
            let groups: SmallVec<[&[u64]; 8]> = filters
                .groups
                .iter()
                .filter_map(|g| self.attrs.get(&Attr::Group(*g)).map(Vec::as_slice))
                .collect();
            Some(union_sorted(&groups))
        };
        let mut lists: SmallVec<[&[u64]; 24]> = SmallVec::new();
        for term in &query.terms {
            match self.postings.get(term) {
                Some(list) => lists.push(list),
                None => return Candidates::Nothing,
            }
        }
        for tag in &filters.tags {
            match self.attrs.get(&Attr::Tag(*tag)) {
                Some(list) => lists.push(list),
                None => return Candidates::Nothing,
            }
        }
        if let Some(owner) = filters.owner {
            match self.attrs.get(&Attr::Owner(owner)) {
                Some(list) => lists.push(list),
                None => return Candidates::Nothing,
            }
        }
        if let Some(among) = &filters.among {
            if among.is_empty() {
                return Candidates::Nothing;
            }
            lists.push(among);
        }
        if let Some(union) = &union {
            lists.push(union);
        }
        lists.sort_unstable_by_key(|l| l.len());
        let Some((first, rest)) = lists.split_first() else {
            return Candidates::All;
        };
        let mut base = first.to_vec();
        for list in rest {
            if base.is_empty() {
                break;
            }
            intersect(&mut base, list);
        }
        Candidates::These(base)
    }
}

/// Where a search starts.
enum Candidates {
    /// A required posting is empty: nothing matches.
    Nothing,
    /// Nothing narrows the search: every contact is a candidate.
    All,
    /// These contact numbers (sorted), a superset of the matches.
    These(Vec<u64>),
}

/// A match with its sort key worked out, so that ordering rarely leaves the hit.
#[derive(Clone, Copy)]
struct Hit<'a> {
    /// Compared first, ascending.
    primary: u128,
    /// Compared last, ascending.
    secondary: u64,
    no: u64,
    doc: &'a Doc,
}

impl<'a> Hit<'a> {
    fn new(sort: Sort, no: u64, doc: &'a Doc) -> Hit<'a> {
        let (primary, secondary) = match sort {
            // Newest first, never-contacted last: an order-preserving map of i64 to u64,
            // inverted; `None` above every time.
            Sort::LastContactDesc => (
                doc.last_contact
                    .map_or(1 << 64, |at| u128::from(!((at as u64) ^ (1 << 63)))),
                !no,
            ),
            Sort::Name => (u128::from(doc.name_prefix), no),
            Sort::Newest => (u128::from(!no), 0),
        };
        Hit {
            primary,
            secondary,
            no,
            doc,
        }
    }
}

/// The comparison of `sort` over hits (see [`Sort`]).
fn order(sort: Sort) -> impl Fn(&Hit<'_>, &Hit<'_>) -> Ordering {
    move |a, b| {
        a.primary
            .cmp(&b.primary)
            .then_with(|| match sort {
                Sort::Name => a.doc.name.cmp(&b.doc.name),
                Sort::LastContactDesc | Sort::Newest => Ordering::Equal,
            })
            .then(a.secondary.cmp(&b.secondary))
    }
}

fn insert_posting(list: &mut Vec<u64>, no: u64) {
    match list.last() {
        None => list.push(no),
        Some(&last) if last < no => list.push(no),
        Some(_) => {
            if let Err(at) = list.binary_search(&no) {
                list.insert(at, no);
            }
        }
    }
}

fn remove_posting<K: std::hash::Hash + Eq, S: std::hash::BuildHasher>(
    map: &mut HashMap<K, Vec<u64>, S>,
    key: K,
    no: u64,
) {
    if let Some(list) = map.get_mut(&key) {
        if let Ok(at) = list.binary_search(&no) {
            list.remove(at);
        }
        if list.is_empty() {
            map.remove(&key);
        }
    }
}

/// Keeps the elements of `base` (sorted) that are in `other` (sorted), galloping through
/// `other` so that a short `base` costs O(len(base) · log(gap)).
fn intersect(base: &mut Vec<u64>, other: &[u64]) {
    let mut rest = other;
    base.retain(|&x| {
        // Probe 0, 1, 3, 7, …: the first element not below x lies in [hi / 2, hi).
        let mut hi = 1usize;
        while rest.get(hi - 1).is_some_and(|&y| y < x) {
            hi = hi.saturating_mul(2);
        }
        let lo = hi / 2;
        let window = rest.get(lo..hi.min(rest.len())).unwrap_or(&[]);
        let skip = lo + window.partition_point(|&y| y < x);
        rest = rest.get(skip..).unwrap_or(&[]);
        rest.first() == Some(&x)
    });
}

/// The sorted, distinct union of sorted lists.
fn union_sorted(lists: &[&[u64]]) -> Vec<u64> {
    let mut all: Vec<u64> = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
    for list in lists {
        all.extend_from_slice(list);
    }
    all.sort_unstable();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{CustomerKey, MAX_REMARK_CHARS};

    fn contact(id: &str) -> Contact {
        Contact::new(
            CustomerKey::identified(id).unwrap(),
            ContactState::Friend,
            None,
            0,
        )
    }

    fn named(id: &str, real_name: &str) -> Contact {
        let mut c = contact(id);
        c.real_name = real_name.into();
        c
    }

    fn t(kind: TermKind, text: &str) -> Term {
        let chars: Vec<char> = text.chars().collect();
        Term::from_chars(kind, &chars)
    }

    use TermKind::{CjkBigram as Bi, CjkChar as Ch, WordPrefix as Pre, WordTrigram as Tri};

    #[test]
    fn terms_of_a_contact() {
        let mut c = contact("U7");
        c.real_name = "张三丰".into();
        c.nickname = "Li".into();
        c.phone = "+86 10-1".into();
        let mut want = vec![
            t(Pre, "u"),
            t(Pre, "u7"),
            t(Ch, "张"),
            t(Ch, "三"),
            t(Ch, "丰"),
            t(Bi, "张三"),
            t(Bi, "三丰"),
            t(Pre, "l"),
            t(Pre, "li"),
            t(Pre, "8"),
            t(Pre, "86"),
            t(Tri, "861"),
            t(Tri, "610"),
            t(Tri, "101"),
        ];
        want.sort();
        assert_eq!(index_terms(&c), want);
    }

    #[test]
    fn terms_of_queries() {
        let cases: [(&str, Vec<Term>); 10] = [
            ("", vec![]),
            ("  ,;!! ", vec![]),
            ("张", vec![t(Ch, "张")]),
            ("张三", vec![t(Bi, "张三")]),
            ("张三丰", vec![t(Bi, "三丰"), t(Bi, "张三")]),
            ("Z", vec![t(Pre, "z")]),
            ("ＺＨ", vec![t(Pre, "zh")]),
            ("zhang", vec![t(Tri, "ang"), t(Tri, "han"), t(Tri, "zha")]),
            ("张 zh", vec![t(Ch, "张"), t(Pre, "zh")]),
            ("上海abc", vec![t(Bi, "上海"), t(Tri, "abc")]),
        ];
        for (query, mut want) in cases {
            want.sort();
            assert_eq!(query_terms(query).unwrap(), want, "{query:?}");
        }
        assert_eq!(
            query_terms(&"字".repeat(65)),
            Err(SearchError::QueryTooLong { chars: 65 })
        );
        assert_eq!(
            query_terms("a b c d e f g h i"),
            Err(SearchError::TooManyWords { runs: 9 })
        );
        // repeated words count once
        assert_eq!(query_terms("a a a a a a a a a").unwrap(), [t(Pre, "a")]);
    }

    /// The matching rule of the module doc, case by case.
    #[test]
    fn matching_rule() {
        type Setter = fn(&mut Contact, &str);
        let name: Setter = |c, v| c.real_name = v.into();
        let remark: Setter = |c, v| c.remark = v.into();
        let nick: Setter = |c, v| c.nickname = v.into();
        let phone: Setter = |c, v| c.phone = v.into();
        let email: Setter = |c, v| c.email = v.into();
        let cases: Vec<(Setter, &str, &str, bool)> = vec![
            (name, "张三", "张三", true),
            (name, "张三丰", "张三", true),
            (name, "小张三", "张三", true),
            (name, "张 三丰", "张三", false),
            (name, "三丰张", "张三", false),
            (name, "张三丰", "张", true),
            (name, "张三丰", "丰", true),
            (name, "张三丰", "张丰", false),
            (name, "张三丰", "三 张", true),
            (name, "張三", "张三", false),
            (remark, "上海浦东新区", "上海", true),
            (remark, "上海浦东新区", "浦东", true),
            (remark, "上海浦东新区", "浦西", false),
            (remark, "老客户\n上海", "客户 上海", true),
            (nick, "Zhangsan", "zhang", true),
            (nick, "Zhangsan", "ZHANGSAN", true),
            (nick, "Zhangsan", "zh", true),
            (nick, "Zhangsan", "z", true),
            (nick, "Zhangsan", "an", false),
            (nick, "Zhangsan", "gsa", true),
            (nick, "Zhangsan", "san", true),
            (nick, "Zhang San", "zhangsan", false),
            (nick, "Zhang San", "san zhang", true),
            (nick, "Zhangsan", "ｚｈａｎｇ", true),
            (nick, "Zhangsan", "zhangsanfeng", false),
            (nick, "Ülrich", "ülr", true),
            (nick, "Ülrich", "ul", false),
            (nick, "Иван", "ив", true),
            (nick, "김철수", "철수", true),
            (nick, "やまだ", "まだ", true),
            (nick, "张三abc", "张三", true),
            (nick, "张三abc", "abc", true),
            (nick, "张三abc", "张三abc", true),
            (nick, "张三abc", "三a", true),
            (nick, "张三abc", "bc", false),
            (phone, "+86 138-0013-8000", "13800138000", true),
            (phone, "+86 138-0013-8000", "8613800138000", true),
            (phone, "+86 138-0013-8000", "0013", true),
            (phone, "+86 138-0013-8000", "138 8000", true),
            (phone, "+86 138-0013-8000", "86", true),
            (phone, "+86 138-0013-8000", "13", false),
            (phone, "+86 138-0013-8000", "80001", false),
            (
                email,
                "zhang.san@example.com",
                "zhang.san@example.com",
                true,
            ),
            (email, "zhang.san@example.com", "example", true),
            (email, "zhang.san@example.com", "san@exa", true),
            (email, "zhang.san@example.com", "ample.co", true),
            (email, "zhang.san@example.com", "ex", true),
            (email, "zhang.san@example.com", "xa", false),
            (email, "zhang.san@example.com", "gsan", false),
            (name, "张三", "", true),
            (name, "张三", "!!", true),
        ];
        for (set, value, query, want) in cases {
            let mut c = contact("id1");
            set(&mut c, value);
            let q = Query::parse(query).unwrap();
            assert_eq!(q.matches(&c), want, "{value:?} / {query:?}");
            // and the index agrees with the rule
            let mut index = SearchIndex::new();
            index.add(1, &c);
            let page = index
                .search(
                    &q,
                    &Filters::default(),
                    Sort::Newest,
                    PageRequest::new(0, 10).unwrap(),
                )
                .unwrap();
            assert_eq!(page.items == [1], want, "index: {value:?} / {query:?}");
        }
    }

    #[test]
    fn ids_are_searchable() {
        let c = contact("VIP-10086");
        assert!(Query::parse("vip").unwrap().matches(&c));
        assert!(Query::parse("10086").unwrap().matches(&c));
        let v = Contact::new(
            CustomerKey::Visitor([0xab; 16]),
            ContactState::Stranger,
            None,
            0,
        );
        assert!(Query::parse("ABAB").unwrap().matches(&v));
        assert!(!Query::parse("abc").unwrap().matches(&v));
    }

    #[test]
    fn terms_fit_their_fixed_size() {
        let terms = [
            (Ch, "张"),
            (Bi, "张三"),
            (Pre, "z"),
            (Pre, "zh"),
            (Tri, "zha"),
            (Tri, "𝐚𝐛𝐜"),
            (Bi, "𠀀𠀁"),
        ];
        for (kind, text) in terms {
            let term = t(kind, text);
            assert!(term.as_bytes().len() <= MAX_TERM_LEN);
            assert_eq!((term.kind(), term.text()), (kind, text), "{term:?}");
        }
        // Three four-byte characters fill the array exactly.
        assert_eq!(t(Tri, "𝐚𝐛𝐜").as_bytes().len(), MAX_TERM_LEN);
    }

    fn page(index: &SearchIndex, query: &str, filters: &Filters, sort: Sort) -> Page {
        index
            .search(
                &Query::parse(query).unwrap(),
                filters,
                sort,
                PageRequest::new(0, 100).unwrap(),
            )
            .unwrap()
    }

    #[test]
    fn filters_table() {
        let mut index = SearchIndex::new();
        let people = [
            (
                1,
                "张三",
                Some(1001),
                ContactState::Friend,
                &[1, 2][..],
                &[1][..],
                Some(100),
            ),
            (
                2,
                "张三丰",
                Some(1002),
                ContactState::Stranger,
                &[2][..],
                &[1, 2][..],
                Some(200),
            ),
            (
                3,
                "李四",
                None,
                ContactState::Blacklisted,
                &[3][..],
                &[2][..],
                None,
            ),
            (
                4,
                "张三",
                Some(1001),
                ContactState::Pending,
                &[][..],
                &[1, 2][..],
                Some(300),
            ),
        ];
        for (no, name, owner, state, groups, tags, last) in people {
            let mut c = named(&format!("u{no}"), name);
            c.owner = owner;
            c.exclusive_owner = owner;
            c.state = state;
            c.groups = groups.iter().map(|g| GroupId(*g)).collect();
            c.tags = tags.iter().map(|t| TagId(*t)).collect();
            c.last_contact_at = last;
            index.add(no, &c);
        }
        let f = |f: fn(&mut Filters)| {
            let mut filters = Filters::default();
            f(&mut filters);
            filters
        };
        let cases: Vec<(&str, Filters, Vec<u64>)> = vec![
            ("", Filters::default(), vec![4, 2, 1, 3]),
            ("张三", Filters::default(), vec![4, 2, 1]),
            (
                "",
                f(|f| f.groups = vec![GroupId(1), GroupId(3)]),
                vec![1, 3],
            ),
            ("", f(|f| f.groups = vec![GroupId(9)]), vec![]),
            ("", f(|f| f.tags = vec![TagId(1), TagId(2)]), vec![4, 2]),
            ("", f(|f| f.tags = vec![TagId(9)]), vec![]),
            ("张三", f(|f| f.owner = Some(1001)), vec![4, 1]),
            (
                "",
                f(|f| f.state = Some(ContactState::Blacklisted)),
                vec![3],
            ),
            (
                "",
                f(|f| {
                    f.last_contact = Some(TimeRange {
                        from: 100,
                        until: 300,
                    })
                }),
                vec![2, 1],
            ),
            ("", f(|f| f.visible_to = Some(1001)), vec![4, 1, 3]),
            (
                "张",
                f(|f| {
                    f.groups = vec![GroupId(2)];
                    f.tags = vec![TagId(1)];
                }),
                vec![2, 1],
            ),
            ("王", Filters::default(), vec![]),
        ];
        for (query, filters, want) in cases {
            let got = page(&index, query, &filters, Sort::LastContactDesc);
            assert_eq!(got.items, want, "{query:?} {filters:?}");
            assert_eq!(got.total, want.len());
        }
        let bad = [
            (
                f(|f| f.tags = (0..17).map(TagId).collect()),
                SearchError::TooManyFilters,
            ),
            (
                f(|f| f.groups = (0..33).map(GroupId).collect()),
                SearchError::TooManyFilters,
            ),
            (
                f(|f| f.last_contact = Some(TimeRange { from: 2, until: 1 })),
                SearchError::BadRange,
            ),
        ];
        for (filters, want) in bad {
            let got = index.search(
                &Query::parse("").unwrap(),
                &filters,
                Sort::Name,
                PageRequest::new(0, 1).unwrap(),
            );
            assert_eq!(got, Err(want));
        }
    }

    #[test]
    fn sorts_and_pages() {
        let mut index = SearchIndex::new();
        let names = ["b", "A", "c", "张", "a", "B"];
        for (i, name) in names.iter().enumerate() {
            let mut c = named(&format!("u{i}"), name);
            c.last_contact_at = Some(1000 - (i as i64 % 3) * 10);
            index.add(i as u64, &c);
        }
        let all = Filters::default();
        assert_eq!(page(&index, "", &all, Sort::Name).items, [1, 4, 0, 5, 2, 3]);
        assert_eq!(
            page(&index, "", &all, Sort::Newest).items,
            [5, 4, 3, 2, 1, 0]
        );
        // last contact 1000 (0, 3), 990 (1, 4), 980 (2, 5); ties newest contact first
        assert_eq!(
            page(&index, "", &all, Sort::LastContactDesc).items,
            [3, 0, 4, 1, 5, 2]
        );
        let q = Query::parse("").unwrap();
        let sorted = page(&index, "", &all, Sort::Name).items;
        for offset in 0..8u32 {
            for limit in 1..8u16 {
                let got = index
                    .search(
                        &q,
                        &all,
                        Sort::Name,
                        PageRequest::new(offset, limit).unwrap(),
                    )
                    .unwrap();
                let want: Vec<u64> = sorted
                    .iter()
                    .skip(offset as usize)
                    .take(usize::from(limit))
                    .copied()
                    .collect();
                assert_eq!(got.items, want, "offset {offset} limit {limit}");
                assert_eq!(got.total, 6);
            }
        }
        assert_eq!(
            PageRequest::new(0, 0),
            Err(SearchError::PageSize { limit: 0 })
        );
        assert_eq!(
            PageRequest::new(0, 101),
            Err(SearchError::PageSize { limit: 101 })
        );
        assert!(PageRequest::new(u32::MAX, 100).is_ok());
    }

    /// The precomputed sort keys give the plain order, extreme times and shared name
    /// prefixes included.
    #[test]
    fn sort_keys_agree_with_the_plain_order() {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let mut index = SearchIndex::new();
        let mut all = Vec::new();
        let times = [
            None,
            Some(i64::MIN),
            Some(i64::MAX),
            Some(-1),
            Some(0),
            Some(1),
        ];
        let names = [
            "张三丰",
            "张三丰a",
            "张三丰b",
            "张三",
            "abcdefgh",
            "abcdefghi",
            "abcdefgg",
            "B",
        ];
        for no in 0..200u64 {
            let mut c = named(&format!("u{no}"), names[rng.below(names.len())]);
            c.last_contact_at = times[rng.below(times.len())];
            index.add(no, &c);
            all.push((no, c));
        }
        let by = |sort| page_all(&index, sort);
        let mut want = all.clone();
        want.sort_by(|(a_no, a), (b_no, b)| {
            b.last_contact_at
                .cmp(&a.last_contact_at)
                .then(b_no.cmp(a_no))
        });
        assert_eq!(
            by(Sort::LastContactDesc),
            want.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
        want.sort_by(|(a_no, a), (b_no, b)| {
            a.display_name()
                .to_lowercase()
                .cmp(&b.display_name().to_lowercase())
                .then(a_no.cmp(b_no))
        });
        assert_eq!(
            by(Sort::Name),
            want.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
    }

    #[test]
    fn intersection_gallops_correctly() {
        let mut rng = Rng(7);
        for _ in 0..500 {
            let mut a: Vec<u64> = (0..rng.below(50)).map(|_| rng.below(200) as u64).collect();
            let mut b: Vec<u64> = (0..rng.below(300)).map(|_| rng.below(200) as u64).collect();
            a.sort_unstable();
            a.dedup();
            b.sort_unstable();
            b.dedup();
            let want: Vec<u64> = a.iter().copied().filter(|x| b.contains(x)).collect();
            let mut got = a.clone();
            intersect(&mut got, &b);
            assert_eq!(got, want, "{a:?} ∩ {b:?}");
        }
    }

    /// Every match, in order, page by page.
    fn page_all(index: &SearchIndex, sort: Sort) -> Vec<u64> {
        let q = Query::parse("").unwrap();
        let mut out = Vec::new();
        loop {
            let p = index
                .search(
                    &q,
                    &Filters::default(),
                    sort,
                    PageRequest::new(out.len() as u32, 100).unwrap(),
                )
                .unwrap();
            if p.items.is_empty() {
                return out;
            }
            out.extend(p.items);
        }
    }

    #[test]
    fn update_and_remove_keep_postings_exact() {
        let mut index = SearchIndex::new();
        let mut c = named("u1", "张三");
        c.tags.insert(TagId(1));
        index.add(1, &c);
        index.add(2, &named("u2", "张三"));
        assert_eq!(index.postings(&t(Bi, "张三")), [1, 2]);
        assert_eq!(index.with_tag(TagId(1)), [1]);
        c.real_name = "李四".into();
        c.tags.clear();
        c.groups.insert(GroupId(5));
        index.update(1, &c);
        assert_eq!(index.postings(&t(Bi, "张三")), [2]);
        assert_eq!(index.postings(&t(Bi, "李四")), [1]);
        assert!(index.with_tag(TagId(1)).is_empty());
        assert_eq!(index.in_group(GroupId(5)), [1]);
        assert!(index.remove(1));
        assert!(!index.remove(1));
        assert!(index.remove(2));
        assert!(index.is_empty());
        assert_eq!(index.stats(), IndexStats::default());
        assert!(index.attrs.is_empty());
    }

    /// A long remark repeats its terms: each is indexed once.
    #[test]
    fn long_fields_stay_within_limits() {
        let mut c = contact("u1");
        c.remark = "上海".repeat(MAX_REMARK_CHARS / 2);
        c.validate().unwrap();
        let terms = index_terms(&c);
        assert_eq!(terms.len(), 6, "u u1 上 海 上海 海上");
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

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    const PIECES: [&str; 14] = [
        "张", "三", "丰", "上海", "海", "zh", "an", "g", "sa", "n", " ", "-", "1", "38",
    ];

    fn random_text(rng: &mut Rng) -> String {
        (0..rng.below(6)).map(|_| rng.pick(&PIECES)).collect()
    }

    /// Brute force: the index returns exactly the contacts the rule and the filters
    /// accept, through random adds, updates and removals.
    #[test]
    fn index_agrees_with_brute_force() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut index = SearchIndex::new();
        let mut live: HashMap<u64, Contact> = HashMap::new();
        for step in 0..3000u32 {
            let no = rng.below(60) as u64;
            match rng.below(10) {
                0 => {
                    assert_eq!(index.remove(no), live.remove(&no).is_some());
                }
                _ => {
                    let mut c = contact(&format!("c{no}"));
                    c.real_name = random_text(&mut rng);
                    c.nickname = random_text(&mut rng);
                    c.phone = if rng.below(2) == 0 {
                        String::new()
                    } else {
                        format!("1{}", rng.next() % 100_000)
                    };
                    c.owner = [None, Some(1001), Some(1002)][rng.below(3)];
                    c.exclusive_owner = c.owner;
                    c.state = ContactState::ALL[rng.below(4)];
                    c.groups = (0..rng.below(3))
                        .map(|_| GroupId(rng.below(4) as u32))
                        .collect();
                    c.tags = (0..rng.below(3))
                        .map(|_| TagId(rng.below(4) as u32))
                        .collect();
                    c.last_contact_at = [None, Some(rng.below(100) as i64)][rng.below(2)];
                    index.add(no, &c);
                    live.insert(no, c);
                }
            }
            if step % 10 != 0 {
                continue;
            }
            let query_text: String = (0..rng.below(3))
                .map(|_| rng.pick(&PIECES))
                .collect::<Vec<_>>()
                .join(["", " "][rng.below(2)]);
            let query = Query::parse(&query_text).unwrap();
            let mut filters = Filters::default();
            if rng.below(3) == 0 {
                filters.groups = vec![GroupId(rng.below(4) as u32), GroupId(rng.below(4) as u32)];
            }
            if rng.below(3) == 0 {
                filters.tags = vec![TagId(rng.below(4) as u32)];
            }
            if rng.below(4) == 0 {
                filters.owner = Some(1001);
            }
            if rng.below(4) == 0 {
                filters.visible_to = Some(1002);
            }
            if rng.below(4) == 0 {
                // "online now" (R6): a sorted set of contact numbers, maybe empty.
                let mut among: Vec<u64> = (0..rng.below(6)).map(|_| rng.below(60) as u64).collect();
                among.sort_unstable();
                among.dedup();
                filters.among = Some(among);
            }
            if rng.below(4) == 0 {
                filters.state = Some(ContactState::ALL[rng.below(4)]);
            }
            if rng.below(4) == 0 {
                filters.last_contact = Some(TimeRange {
                    from: 20,
                    until: 70,
                });
            }
            let mut want: Vec<u64> = live
                .iter()
                .filter(|(no, c)| {
                    query.matches(c)
                        && filters.accept(&Doc::new(c))
                        && filters
                            .among
                            .as_ref()
                            .is_none_or(|a| a.binary_search(no).is_ok())
                })
                .map(|(no, _)| *no)
                .collect();
            want.sort_unstable_by(|a, b| b.cmp(a));
            let got = page(&index, &query_text, &filters, Sort::Newest);
            assert_eq!(got.items, want, "step {step}: {query_text:?} {filters:?}");
        }
        // postings hold exactly the live contacts' terms
        let mut expected: HashMap<Term, Vec<u64>> = HashMap::new();
        for (no, c) in &live {
            for term in index_terms(c) {
                expected.entry(term).or_default().push(*no);
            }
        }
        for list in expected.values_mut() {
            list.sort_unstable();
        }
        assert_eq!(index.postings, expected);
    }
}
