//! History queries (features H1–H3) as a pure function of the store: one customer's
//! messages with the account, newest first, paged, filtered, and cut to what the asking
//! agent may see. The shard (`shard/history.rs`) only gathers the asker's permissions and
//! the clock and calls [`page`]; benchmarks call it directly on a store.
//!
//! # Access pattern
//!
//! Messages live in [`Cf::Messages`] under `account u64 BE ‖ customer key ‖ message id u64
//! BE` (see [`keys`]): one customer's history is one contiguous key range, ordered by
//! message id, and ids are handed out in storing order, so a **reverse scan of that range
//! is newest first**. A query
//!
//! 1. validates the query (limit 1..=[`MAX_LIMIT`], keyword at most [`MAX_KEYWORD_CHARS`]
//!    characters, a well-formed customer id);
//! 2. reverse-scans `[customer prefix, upper)`, where `upper` is the key of message
//!    `before` (exclusive: ids below the cursor) or the end of the customer's range, in
//!    chunks: `limit + 1` rows for a page without filters, [`FILTERED_CHUNK`] for a filtered
//!    one, doubling up to [`MAX_CHUNK`] while the page is not full;
//! 3. stops at the first message older than the window (`at < now − 15 days`, unless
//!    `all_time`): message ids grow with storing time, so nothing older can follow (a wall
//!    clock stepped backwards by an operator can hide messages at the window's edge, and
//!    they are still there with `all_time`);
//! 4. for each message checks, cheapest first: kind, keyword, the agent filter, then
//!    visibility. The last two may need the conversation's serving agent, a point read of
//!    [`Cf::Conversations`] under `account u64 BE ‖ conversation u64 BE`, cached per query
//!    (a customer's history holds few conversations);
//! 5. stops when the page is full. `next_before` is the id of the last message returned
//!    when at least one older message of the window remains unexamined (it *may* match),
//!    otherwise `None`.
//!
//! **Bounded work.** A request examines at most [`MAX_EXAMINED`] (5,000) messages. If a
//! selective filter (a rare keyword, say) runs into that cap, the page holds what was
//! found so far — possibly nothing — and `next_before` is the id of the **last message
//! examined**, so the client continues from there with another request; `next_before:
//! None` always means the window is exhausted. One request therefore costs at most 5,000
//! row reads plus one point read per distinct conversation met: about 3 ms on the
//! reference machine, where reverse-scanning and decoding cost ~0.5 µs a row
//! (`benches/benches/history.rs`). The shard's loop waits for it, so the cap is what keeps
//! one search from delaying every other connection of the shard; 20,000 would mean ~12 ms.
//!
//! **Consistency.** The query reads the committed store: messages and conversation changes
//! of the shard's current loop turn (not yet committed) are not seen, exactly as in every
//! other read of history.
//!
//! # Rules
//!
//! - **Agent filter** `agent = Some(x)`: messages written by agent `x`, and customer
//!   messages of the part of a conversation `x` served.
//! - **Kind filter**: images or files, in either direction.
//! - **Keyword**: case-insensitive substring (Unicode lower-casing, character by
//!   character, so Chinese and other uncased scripts match exactly) over text bodies and
//!   file names; images never match a keyword. Empty means no keyword; white space counts.
//! - **Who served a message**: the agent serving its conversation when it was stored
//!   (`MessageRecord::served_by`); for a message stored while the conversation waited
//!   in the queue, or before that was recorded, the conversation record's agent (the
//!   last one to serve it).
//! - **Visibility** (H3), per message, in this order:
//!   1. the asker always sees messages it wrote;
//!   2. images and files a customer sent are seen only by the agent who received them
//!      (who served that message), whatever the permissions (§6.1);
//!   3. **exclusive customers off**: everything else is shared among the account's agents
//!      (§3.1 "历史记录留存": "这些历史消息记录也可以让其他的工号看到，保证客户服务的延续性");
//!   4. **exclusive customers on**: with permission 4 everything ("该项权限仅针对开启了
//!      '独占客户'的场景生效", §7.13); with permission 5, every message of a customer the
//!      asker owns (R2, §5.1); otherwise only the part of each conversation the asker
//!      served, the customer's messages included (§5.1: "普通权限工号仅能看到该客户与自己
//!      聊天的相应部分内容"). So after a transfer from A to B, A still sees the part it
//!      served and B the part B served.

use std::collections::HashMap;

use kefu_wire::chat::{CustomerId, MessageBody, MessageInfo, Party};
use kefu_wire::crm::{HistoryKind, HistoryPage, HistoryQuery};
use kefu_wire::{ErrorBody, ErrorCode};

use crate::store::chat_records::{ConversationRecord, MessageRecord};
use crate::store::{keys, Cf, KvStore, StoredRecord};

/// The default window: the last 15 days (§6.1), in milliseconds.
pub const DEFAULT_WINDOW_MS: i64 = 15 * 86_400_000;
/// Largest page.
pub const MAX_LIMIT: u16 = 200;
/// Longest keyword, characters.
pub const MAX_KEYWORD_CHARS: usize = 100;
/// Messages one request examines at most (see the module doc).
pub const MAX_EXAMINED: usize = 5_000;
/// Longest identified customer id, bytes (as at customer login).
const MAX_CUSTOMER_ID_BYTES: usize = 64;
/// Rows of the first scan chunk of a filtered query (a plain page reads `limit + 1`).
pub const FILTERED_CHUNK: usize = 256;
/// Largest scan chunk, rows.
pub const MAX_CHUNK: usize = 1_024;

/// Who asks, and what its role lets it see of this customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    /// The asking agent.
    pub agent: u32,
    /// Permission 4: every customer's messages (received images and files excepted).
    pub see_all: bool,
    /// Permission 5 and the asker owns this customer: all of this customer's messages
    /// (received images and files excepted).
    pub owns_customer: bool,
    /// Exclusive customers are off: the account's history is shared among its agents
    /// (received images and files excepted).
    pub shared: bool,
}

fn storage(e: impl std::fmt::Display) -> ErrorBody {
    ErrorBody {
        code: ErrorCode::STORAGE_FAILURE,
        message: e.to_string(),
    }
}

fn invalid(message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code: ErrorCode::INVALID_ARGUMENT,
        message: message.into(),
    }
}

/// Checks a query's limits; the error is `INVALID_ARGUMENT`.
pub fn check(query: &HistoryQuery) -> Result<(), ErrorBody> {
    if !(1..=MAX_LIMIT).contains(&query.limit) {
        return Err(invalid(format!("history limit must be 1..={MAX_LIMIT}")));
    }
    if query.keyword.chars().count() > MAX_KEYWORD_CHARS {
        return Err(invalid(format!(
            "history keyword: at most {MAX_KEYWORD_CHARS} characters"
        )));
    }
    if let CustomerId::Identified(id) = &query.customer {
        if id.is_empty() || id.len() > MAX_CUSTOMER_ID_BYTES {
            return Err(invalid(format!(
                "customer id: 1..={MAX_CUSTOMER_ID_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

/// The serving agent of `conversation` as stored (`None`: never served, or unknown).
pub fn stored_conversation_agent<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
    conversation: u64,
) -> Result<Option<u32>, ErrorBody> {
    let key = keys::conversation(account, conversation);
    let Some(bytes) = store.get(Cf::Conversations, &key).map_err(storage)? else {
        return Ok(None);
    };
    let record = ConversationRecord::decode(&bytes).map_err(storage)?;
    if (record.account, record.conversation) != (account, conversation) {
        return Err(storage(format!(
            "conversation record does not match its key {}",
            keys::hex(&key)
        )));
    }
    Ok(record.agent)
}

/// Lower-cases `text` into `out` character by character (the keyword is lower-cased the
/// same way, so both sides agree).
fn lower_into(text: &str, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        out.push_str(text);
        out.make_ascii_lowercase();
    } else {
        for c in text.chars() {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else if uncased(c) {
                out.push(c);
            } else {
                // Final sigma folds to sigma, so "ΟΔΟΣ" and "οδος" find each other.
                out.extend(c.to_lowercase().map(|l| if l == 'ς' { 'σ' } else { l }));
            }
        }
    }
}

/// Blocks without case, checked by a range test instead of the case tables (most of a
/// Chinese text): CJK symbols, kana and ideographs, Hangul syllables, and the full-width
/// forms other than full-width Latin letters. `uncased_blocks_really_are` proves it.
fn uncased(c: char) -> bool {
    matches!(
        u32::from(c),
        0x3000..=0x9fff | 0xac00..=0xd7a3 | 0xff00..=0xff20 | 0xff3b..=0xff40 | 0xff5b..=0xffef
    )
}

/// A keyword matcher reusing one buffer.
struct Keyword {
    /// Lower-cased keyword; empty = match everything.
    needle: String,
    scratch: String,
}

impl Keyword {
    fn new(keyword: &str) -> Keyword {
        let mut needle = String::new();
        lower_into(keyword, &mut needle);
        Keyword {
            needle,
            scratch: String::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.needle.is_empty()
    }

    fn matches(&mut self, body: &MessageBody) -> bool {
        if self.needle.is_empty() {
            return true;
        }
        let text = match body {
            MessageBody::Text(t) => t,
            MessageBody::File { name, .. } => name,
            MessageBody::Image { .. } => return false,
        };
        if text.len() < self.needle.len() && text.is_ascii() {
            return false;
        }
        lower_into(text, &mut self.scratch);
        self.scratch.contains(self.needle.as_str())
    }
}

fn kind_matches(kind: HistoryKind, body: &MessageBody) -> bool {
    match kind {
        HistoryKind::All => true,
        HistoryKind::Images => matches!(body, MessageBody::Image { .. }),
        HistoryKind::Files => matches!(body, MessageBody::File { .. }),
    }
}

/// Serving agents of conversations, read once per query.
struct Agents<F> {
    lookup: F,
    cache: HashMap<u64, Option<u32>>,
}

impl<F: FnMut(u64) -> Result<Option<u32>, ErrorBody>> Agents<F> {
    fn of(&mut self, conversation: u64) -> Result<Option<u32>, ErrorBody> {
        if let Some(&agent) = self.cache.get(&conversation) {
            return Ok(agent);
        }
        let agent = (self.lookup)(conversation)?;
        self.cache.insert(conversation, agent);
        Ok(agent)
    }
}

/// Whether `m` passes the agent filter and the viewer may see it.
fn admitted<F: FnMut(u64) -> Result<Option<u32>, ErrorBody>>(
    m: &MessageRecord,
    filter: Option<u32>,
    viewer: Viewer,
    agents: &mut Agents<F>,
) -> Result<bool, ErrorBody> {
    // The agent who served this message: recorded with it, or for an older record the
    // conversation's (last) agent. Read only when needed.
    let served = |agents: &mut Agents<F>| -> Result<Option<u32>, ErrorBody> {
        match m.served_by {
            Some(a) => Ok(Some(a)),
            None => agents.of(m.conversation),
        }
    };
    if let Some(x) = filter {
        let by_filter = match m.from {
            Party::Agent(a) => a == x,
            Party::Customer => served(agents)? == Some(x),
            Party::System => false,
        };
        if !by_filter {
            return Ok(false);
        }
    }
    if m.from == Party::Agent(viewer.agent) {
        return Ok(true);
    }
    let received_file = m.from == Party::Customer
        && matches!(m.body, MessageBody::Image { .. } | MessageBody::File { .. });
    if !received_file && (viewer.shared || viewer.see_all || viewer.owns_customer) {
        return Ok(true);
    }
    Ok(served(agents)? == Some(viewer.agent))
}

/// One page of `query.customer`'s history with `account` as `viewer` may see it, at
/// `now_ms` (for the default window). `conversation_agent` gives a conversation's serving
/// agent (the shard and benchmarks pass [`stored_conversation_agent`]); it is called at
/// most once per conversation. See the module doc for the rules and the bounds.
pub fn page<S, F>(
    store: &S,
    account: u64,
    query: &HistoryQuery,
    now_ms: i64,
    viewer: Viewer,
    conversation_agent: F,
) -> Result<HistoryPage, ErrorBody>
where
    S: KvStore + ?Sized,
    F: FnMut(u64) -> Result<Option<u32>, ErrorBody>,
{
    check(query)?;
    let limit = usize::from(query.limit);
    let cutoff = if query.all_time {
        i64::MIN
    } else {
        now_ms.saturating_sub(DEFAULT_WINDOW_MS)
    };
    let range = keys::customer_messages(account, &query.customer);
    let mut upper = match query.before {
        Some(before) => keys::message(account, &query.customer, before),
        None => range.end.clone(),
    };
    let mut keyword = Keyword::new(&query.keyword);
    let mut agents = Agents {
        lookup: conversation_agent,
        cache: HashMap::new(),
    };
    let selective = !keyword.is_empty() || query.kind != HistoryKind::All || query.agent.is_some();
    let mut chunk = if selective {
        FILTERED_CHUNK.max(limit + 1)
    } else {
        limit + 1
    };
    let mut out: Vec<MessageInfo> = Vec::with_capacity(limit);
    let mut examined = 0usize;
    let mut last_examined = None;
    loop {
        // One row past the budget tells whether anything remains beyond it.
        let want = chunk.min(MAX_EXAMINED - examined + 1);
        let rows = store
            .scan_reverse(Cf::Messages, &range.start, &upper, want)
            .map_err(storage)?;
        let exhausted = rows.len() < want;
        for (key, bytes) in &rows {
            let m = MessageRecord::decode(bytes).map_err(storage)?;
            if m.account != account
                || m.customer != query.customer
                || key.get(key.len().saturating_sub(8)..) != Some(&m.id.to_be_bytes()[..])
            {
                return Err(storage(format!(
                    "message record does not match its key {}",
                    keys::hex(key)
                )));
            }
            if m.at < cutoff {
                // Past the window: nothing older is in it.
                return Ok(HistoryPage {
                    messages: out,
                    next_before: None,
                });
            }
            if out.len() == limit {
                // An older message of the window exists: it may match.
                let next_before = out.last().map(|m| m.id);
                return Ok(HistoryPage {
                    messages: out,
                    next_before,
                });
            }
            if examined == MAX_EXAMINED {
                // Budget spent with messages left: continue from the last one examined.
                return Ok(HistoryPage {
                    messages: out,
                    next_before: last_examined,
                });
            }
            examined += 1;
            last_examined = Some(m.id);
            if kind_matches(query.kind, &m.body)
                && keyword.matches(&m.body)
                && admitted(&m, query.agent, viewer, &mut agents)?
            {
                out.push(MessageInfo::from(m));
            }
        }
        match rows.last() {
            Some((key, _)) if !exhausted => upper.clone_from(key),
            _ => {
                return Ok(HistoryPage {
                    messages: out,
                    next_before: None,
                })
            }
        }
        chunk = (chunk * 2).min(MAX_CHUNK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, Durability, MemoryStore};

    const ACCOUNT: u64 = 7;
    const NOW: i64 = 1_800_000_000_000;
    const DAY: i64 = 86_400_000;

    fn alice() -> CustomerId {
        CustomerId::Identified("alice".into())
    }

    fn query(limit: u16) -> HistoryQuery {
        HistoryQuery {
            customer: alice(),
            all_time: true,
            agent: None,
            kind: HistoryKind::All,
            keyword: String::new(),
            before: None,
            limit,
        }
    }

    fn put(
        store: &MemoryStore,
        id: u64,
        at: i64,
        conversation: u64,
        from: Party,
        body: MessageBody,
    ) {
        let mut batch = Batch::new();
        let m = MessageRecord {
            account: ACCOUNT,
            customer: alice(),
            conversation,
            id,
            at,
            from,
            body,
            served_by: None,
        };
        batch.put(
            Cf::Messages,
            &keys::message(ACCOUNT, &alice(), id),
            m.encode(),
        );
        store.write(&batch, Durability::Wal).unwrap();
    }

    fn text(s: &str) -> MessageBody {
        MessageBody::Text(s.into())
    }

    fn ids(p: &HistoryPage) -> Vec<u64> {
        p.messages.iter().map(|m| m.id).collect()
    }

    const ALL: Viewer = Viewer {
        agent: 1001,
        see_all: true,
        owns_customer: false,
        shared: false,
    };

    fn run(store: &MemoryStore, q: &HistoryQuery, viewer: Viewer) -> HistoryPage {
        page(store, ACCOUNT, q, NOW, viewer, |c| {
            Ok(Some(1000 + c as u32))
        })
        .unwrap()
    }

    #[test]
    fn uncased_blocks_really_are() {
        for c in (0..=0x10_ffffu32)
            .filter_map(char::from_u32)
            .filter(|&c| uncased(c))
        {
            assert!(c.to_lowercase().eq([c]), "{c:?} has a lower case");
        }
        let mut out = String::new();
        lower_into("ＡＢ上海Ｃ，ÀΣ", &mut out);
        assert_eq!(out, "ａｂ上海ｃ，àσ");
    }

    #[test]
    fn pages_newest_first_and_says_where_to_go_on() {
        let store = MemoryStore::new();
        for id in 1..=5 {
            put(&store, id, NOW, 1, Party::Customer, text("x"));
        }
        let p = run(&store, &query(2), ALL);
        assert_eq!((ids(&p), p.next_before), (vec![5, 4], Some(4)));
        let p = run(
            &store,
            &HistoryQuery {
                before: Some(4),
                ..query(2)
            },
            ALL,
        );
        assert_eq!((ids(&p), p.next_before), (vec![3, 2], Some(2)));
        let p = run(
            &store,
            &HistoryQuery {
                before: Some(2),
                ..query(2)
            },
            ALL,
        );
        assert_eq!((ids(&p), p.next_before), (vec![1], None));
        // Exactly a full last page: nothing left, no cursor.
        let p = run(&store, &query(5), ALL);
        assert_eq!((ids(&p).len(), p.next_before), (5, None));
        for limit in [0, 201] {
            let e = page(&store, ACCOUNT, &query(limit), NOW, ALL, |_| Ok(None)).unwrap_err();
            assert_eq!(e.code, ErrorCode::INVALID_ARGUMENT);
        }
    }

    #[test]
    fn window_keyword_and_budget() {
        let store = MemoryStore::new();
        put(
            &store,
            1,
            NOW - 16 * DAY,
            1,
            Party::Customer,
            text("我在上海等你"),
        );
        put(
            &store,
            2,
            NOW - DAY,
            1,
            Party::Customer,
            text("Hello WORLD"),
        );
        put(&store, 3, NOW, 1, Party::Agent(1001), text("ΟΔΟΣ 上海"));
        let recent = HistoryQuery {
            all_time: false,
            ..query(10)
        };
        assert_eq!(ids(&run(&store, &recent, ALL)), vec![3, 2]);
        assert_eq!(ids(&run(&store, &query(10), ALL)), vec![3, 2, 1]);
        let kw = |k: &str| HistoryQuery {
            keyword: k.into(),
            ..query(10)
        };
        assert_eq!(ids(&run(&store, &kw("上海"), ALL)), vec![3, 1]);
        assert_eq!(ids(&run(&store, &kw("world"), ALL)), vec![2]);
        assert_eq!(ids(&run(&store, &kw("οδος"), ALL)), vec![3]);
        assert_eq!(ids(&run(&store, &kw("北京"), ALL)), Vec::<u64>::new());
        let long = "字".repeat(101);
        assert_eq!(
            page(&store, ACCOUNT, &kw(&long), NOW, ALL, |_| Ok(None))
                .unwrap_err()
                .code,
            ErrorCode::INVALID_ARGUMENT
        );

        // Budget: a rare keyword over more than MAX_EXAMINED messages stops and gives a cursor.
        let store = MemoryStore::new();
        let total = MAX_EXAMINED as u64 + 10;
        for id in 1..=total {
            put(
                &store,
                id,
                NOW,
                1,
                Party::Customer,
                text(if id == 3 { "needle" } else { "hay" }),
            );
        }
        let p = run(&store, &kw("needle"), ALL);
        let cursor = total - MAX_EXAMINED as u64 + 1;
        assert_eq!((ids(&p), p.next_before), (vec![], Some(cursor)));
        let p = run(
            &store,
            &HistoryQuery {
                before: p.next_before,
                ..kw("needle")
            },
            ALL,
        );
        assert_eq!((ids(&p), p.next_before), (vec![3], None));
    }

    #[test]
    fn received_files_only_for_the_receiver() {
        let store = MemoryStore::new();
        let image = MessageBody::Image {
            reference: "i/1".into(),
        };
        // Conversation 1 served by 1001, conversation 2 by 1002.
        put(&store, 1, NOW, 1, Party::Customer, image.clone());
        put(&store, 2, NOW, 1, Party::Customer, text("hi A"));
        put(&store, 3, NOW, 2, Party::Customer, text("hi B"));
        put(&store, 4, NOW, 2, Party::Agent(1002), image.clone());
        let me = |agent, see_all| Viewer {
            agent,
            see_all,
            owns_customer: false,
            shared: false,
        };
        assert_eq!(ids(&run(&store, &query(10), me(1001, false))), vec![2, 1]);
        assert_eq!(ids(&run(&store, &query(10), me(1002, false))), vec![4, 3]);
        // Permission 4: everything but the image 1001 received.
        assert_eq!(ids(&run(&store, &query(10), me(1003, true))), vec![4, 3, 2]);
        assert_eq!(ids(&run(&store, &query(10), me(1002, true))), vec![4, 3, 2]);
        // Filters.
        let by = |a| HistoryQuery {
            agent: Some(a),
            ..query(10)
        };
        assert_eq!(ids(&run(&store, &by(1002), me(1001, true))), vec![4, 3]);
        let images = HistoryQuery {
            kind: HistoryKind::Images,
            ..query(10)
        };
        assert_eq!(ids(&run(&store, &images, me(1001, true))), vec![4, 1]);
    }
}
