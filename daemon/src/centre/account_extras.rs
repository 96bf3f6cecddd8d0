//! Requests behind the permissions the other modules do not use: quick replies (M5, the
//! shared list behind permission 1), analytics (9), broadcasts (10, V1) and
//! account-centre tickets (13–16).
//!
//! - **Quick replies.** Each agent's own list and the account's shared one are records of
//!   the `quick_replies` column family (agent 0 = shared), read at each
//!   `ListQuickReplies` and replaced whole by `SetQuickReplies` in the turn's batch. As
//!   everywhere, a read sees the committed store: a list asked for in the same loop turn
//!   as its change (pipelined) may come back as it was before.
//! - **Analytics** reads the committed store: the account's conversations opened in the
//!   period, found by a binary search over conversation ids (which grow with the opening
//!   time), and for each of their customers the messages from the newest back to the
//!   period's start. At most [`MAX_ANALYTICS_CONVERSATIONS`] conversations and
//!   [`MAX_ANALYTICS_MESSAGES`] messages are examined (the shard waits for the answer);
//!   a period that needs more is refused, to be asked for in shorter pieces.
//! - **Tickets** are HMAC-SHA256 signed claims under a per-account key sealed with the
//!   appliance key: format and verification in [`crate::store::extras_records`].
//! - **Broadcasts**: the old immediate `Broadcast` is refused (`BROADCAST_RETIRED`; it
//!   bypassed review and charging, `broadcasts.rs` has the reviewed ones). The token
//!   check of every value-added request (`value_added_otp`) lives here: at security
//!   level medium or high a current code of the agent's token, checked exactly as a
//!   login at level high checks it (same replay protection and lockout, state written
//!   in the same batch).

use super::dispatch::ExtrasRequest;
use super::{err, storage, Answer, Centre};
use crate::store::chat_records::{ConversationRecord, MessageRecord};
use crate::store::extras_records::{
    self, QuickRepliesRecord, TicketClaims, TicketKeyRecord, TICKET_KEY_LEN, TICKET_TTL_SECS,
};
use crate::store::{keys, Cf, SecurityLevel, StoredRecord};
use kefu_wire::chat::{CustomerId, Party};
use kefu_wire::{AccountCentreModule, AgentFigures, ErrorBody, ErrorCode, QuickReply, Response};
use std::collections::{BTreeMap, HashMap};

/// Replies in one list.
pub const MAX_QUICK_REPLIES: usize = 100;
/// Longest shortcut, characters.
pub const MAX_SHORTCUT_CHARS: usize = 16;
/// Longest quick-reply text, characters.
pub const MAX_REPLY_CHARS: usize = 500;
/// Longest analytics period, seconds (92 days: any calendar quarter).
pub const MAX_ANALYTICS_PERIOD_SECS: i64 = 92 * 86_400;
/// Conversations one `GetAnalytics` examines at most.
pub const MAX_ANALYTICS_CONVERSATIONS: usize = 100_000;
/// Messages one `GetAnalytics` examines at most.
pub const MAX_ANALYTICS_MESSAGES: usize = 1_000_000;
/// The list key of the account's shared quick replies.
const SHARED: u32 = 0;
/// Rows per scan while gathering analytics.
const SCAN_CHUNK: usize = 1_024;

fn invalid(message: impl Into<String>) -> ErrorBody {
    err(ErrorCode::INVALID_ARGUMENT, message)
}

/// The limits of M5 on one list: at most 100 replies; shortcuts of 1 to 16 characters
/// without white space or control characters, unique in the list; texts of 1 to 500
/// characters without control characters other than line breaks and tabs.
fn check_replies(replies: &[QuickReply]) -> Result<(), ErrorBody> {
    if replies.len() > MAX_QUICK_REPLIES {
        return Err(invalid(format!(
            "at most {MAX_QUICK_REPLIES} quick replies in a list"
        )));
    }
    let mut seen = std::collections::HashSet::with_capacity(replies.len());
    for (i, r) in replies.iter().enumerate() {
        let n = r.shortcut.chars().count();
        if n == 0
            || n > MAX_SHORTCUT_CHARS
            || r.shortcut
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid(format!(
                "reply {i}: a shortcut is 1..={MAX_SHORTCUT_CHARS} characters without white space"
            )));
        }
        if !seen.insert(r.shortcut.as_str()) {
            return Err(invalid(format!(
                "reply {i}: shortcut {:?} is in the list already",
                r.shortcut
            )));
        }
        let n = r.text.chars().count();
        if n == 0
            || n > MAX_REPLY_CHARS
            || r.text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(invalid(format!(
                "reply {i}: a text is 1..={MAX_REPLY_CHARS} characters, no control characters but line breaks and tabs"
            )));
        }
    }
    Ok(())
}

/// Per-agent counts while gathering analytics.
#[derive(Default, Clone, Copy)]
struct Figures {
    conversations: u64,
    sent: u64,
    received: u64,
}

impl Centre {
    /// Quick replies, analytics, broadcasts and account-centre tickets of agent `me`.
    pub(super) fn account_extras_request(
        &mut self,
        account: u64,
        me: u32,
        request: ExtrasRequest,
    ) -> Answer {
        match request {
            ExtrasRequest::ListQuickReplies => Ok(Response::QuickReplies {
                personal: self.quick_replies(account, me)?,
                shared: self.quick_replies(account, SHARED)?,
            }),
            ExtrasRequest::SetQuickReplies { shared, replies } => {
                check_replies(&replies)?;
                let record = QuickRepliesRecord {
                    account,
                    agent: if shared { SHARED } else { me },
                    replies,
                };
                self.batch.put(
                    Cf::QuickReplies,
                    &keys::quick_replies(account, record.agent),
                    record.encode(),
                );
                // Kept, so a list asked for in the same turn already shows it.
                if let Some(actor) = self.actors.get_mut(&account) {
                    actor.quick_replies.insert(record.agent, record.replies);
                }
                self.touched.push(account);
                Ok(Response::Ok)
            }
            ExtrasRequest::GetAnalytics { from, until } => self.analytics(account, from, until),
            ExtrasRequest::AccountCentreTicket { module } => self.ticket(account, me, module),
            // Retired: it sent at once, unreviewed and uncharged (section 30.5).
            ExtrasRequest::Broadcast { .. } => Err(err(
                ErrorCode::BROADCAST_RETIRED,
                "Broadcast is retired: submit it for review with SubmitBroadcast",
            )),
        }
    }

    /// One quick-reply list (empty if never set), read from the store once.
    fn quick_replies(&mut self, account: u64, agent: u32) -> Result<Vec<QuickReply>, ErrorBody> {
        if let Some(list) = self
            .actors
            .get(&account)
            .and_then(|a| a.quick_replies.get(&agent))
        {
            return Ok(list.clone());
        }
        let list = match self
            .shared
            .store
            .get(Cf::QuickReplies, &keys::quick_replies(account, agent))
            .map_err(storage)?
        {
            Some(bytes) => QuickRepliesRecord::decode(&bytes).map_err(storage)?.replies,
            None => Vec::new(),
        };
        self.actor_mut(account)?
            .quick_replies
            .insert(agent, list.clone());
        Ok(list)
    }

    /// A ticket for `module`, under the account's ticket key (made at the first ticket).
    fn ticket(&mut self, account: u64, me: u32, module: AccountCentreModule) -> Answer {
        let sealing = self
            .shared
            .token_key
            .clone()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "no appliance key configured"))?;
        let key = match self.actor_mut(account)?.ticket_key.clone() {
            Some(key) => key,
            None => {
                let store = std::sync::Arc::clone(&self.shared.store);
                let key = match extras_records::load_ticket_key(store.as_ref(), &sealing, account)
                    .map_err(|e| err(ErrorCode::INTERNAL, e.to_string()))?
                {
                    Some(key) => key,
                    None => self.new_ticket_key(account, &sealing)?,
                };
                self.actor_mut(account)?.ticket_key = Some(key.clone());
                key
            }
        };
        let expires_at = self.now_secs().saturating_add(TICKET_TTL_SECS);
        let ticket = extras_records::issue_ticket(
            &key,
            &TicketClaims {
                account,
                agent: me,
                module,
                expires_at,
            },
        );
        Ok(Response::Ticket { ticket, expires_at })
    }

    /// Makes the account's ticket key and writes it sealed in the turn's batch, like
    /// every other write: the ticket signed with it is answered only after the commit,
    /// so no module can be shown a ticket whose key is not on the disk; a second
    /// ticket of the turn finds it in the account; a failed commit evicts the account
    /// and the key with it.
    fn new_ticket_key(
        &mut self,
        account: u64,
        sealing: &crate::otp::sealed::SealingKey,
    ) -> Result<extras_records::TicketKey, ErrorBody> {
        let mut secret = zeroize::Zeroizing::new([0u8; TICKET_KEY_LEN]);
        ring::rand::SecureRandom::fill(&self.rng, &mut secret[..])
            .map_err(|_| err(ErrorCode::INTERNAL, "no randomness for a key"))?;
        let record: TicketKeyRecord =
            extras_records::seal_ticket_key(sealing, account, &secret, &self.rng)
                .map_err(|e| err(ErrorCode::INTERNAL, e.to_string()))?;
        self.batch
            .put(Cf::TicketKeys, &keys::ticket_key(account), record.encode());
        Ok(extras_records::TicketKey::from_bytes(&secret))
    }

    /// Per-agent figures of the conversations opened in `[from, until)` (unix seconds).
    fn analytics(&mut self, account: u64, from: i64, until: i64) -> Answer {
        if until <= from || until.saturating_sub(from) > MAX_ANALYTICS_PERIOD_SECS {
            return Err(invalid(
                "the period must be non-empty and at most 92 days (until > from)",
            ));
        }
        let from_ms = from.saturating_mul(1000);
        let until_ms = until.saturating_mul(1000);
        let mut figures: BTreeMap<u32, Figures> = self
            .account_mut(account)?
            .agents
            .keys()
            .map(|a| (*a, Figures::default()))
            .collect();
        // Conversations of the period, by customer: conversation → serving agent.
        let mut by_customer: HashMap<CustomerId, HashMap<u64, Option<u32>>> = HashMap::new();
        let range = keys::account_prefix(account);
        let mut cursor = self.first_conversation_opened_from(account, from_ms)?;
        let mut examined = 0usize;
        'scan: loop {
            let rows = self
                .shared
                .store
                .scan(Cf::Conversations, &cursor, &range.end, SCAN_CHUNK)
                .map_err(storage)?;
            for (_, bytes) in &rows {
                let r = ConversationRecord::decode(bytes).map_err(storage)?;
                if r.opened_at >= until_ms {
                    break 'scan;
                }
                examined += 1;
                if examined > MAX_ANALYTICS_CONVERSATIONS {
                    return Err(invalid(format!(
                        "more than {MAX_ANALYTICS_CONVERSATIONS} conversations in the period: ask for a shorter one"
                    )));
                }
                if r.opened_at < from_ms {
                    continue;
                }
                if let Some(agent) = r.agent {
                    figures.entry(agent).or_default().conversations += 1;
                }
                by_customer
                    .entry(r.customer)
                    .or_default()
                    .insert(r.conversation, r.agent);
            }
            match rows.last() {
                Some((last, _)) if rows.len() == SCAN_CHUNK => {
                    cursor = last.clone();
                    cursor.push(0);
                }
                _ => break,
            }
        }
        // Their messages: each customer's history from the newest back to the period's
        // start (nothing older can belong to a conversation opened in it).
        let mut messages = 0usize;
        for (customer, conversations) in &by_customer {
            let range = keys::customer_messages(account, customer);
            let mut upper = range.end.clone();
            'history: loop {
                let rows = self
                    .shared
                    .store
                    .scan_reverse(Cf::Messages, &range.start, &upper, SCAN_CHUNK)
                    .map_err(storage)?;
                for (_, bytes) in &rows {
                    let m = MessageRecord::decode(bytes).map_err(storage)?;
                    if m.at < from_ms {
                        break 'history;
                    }
                    messages += 1;
                    if messages > MAX_ANALYTICS_MESSAGES {
                        return Err(invalid(format!(
                            "more than {MAX_ANALYTICS_MESSAGES} messages to examine in the period: ask for a shorter one"
                        )));
                    }
                    let Some(served_by) = conversations.get(&m.conversation) else {
                        continue;
                    };
                    match m.from {
                        Party::Agent(a) => figures.entry(a).or_default().sent += 1,
                        Party::Customer => {
                            if let Some(a) = served_by {
                                figures.entry(*a).or_default().received += 1;
                            }
                        }
                        Party::System => {}
                    }
                }
                match rows.last() {
                    Some((last, _)) if rows.len() == SCAN_CHUNK => upper = last.clone(),
                    _ => break,
                }
            }
        }
        Ok(Response::Analytics(
            figures
                .into_iter()
                .map(|(agent, f)| AgentFigures {
                    agent,
                    conversations: f.conversations,
                    messages_sent: f.sent,
                    messages_received: f.received,
                })
                .collect(),
        ))
    }

    /// The key to start scanning the account's conversations at: the first one opened at
    /// or after `from_ms`, found by a binary search over ids (ids are given in opening
    /// order; a gap in the ids is skipped by looking at the next record that exists).
    fn first_conversation_opened_from(
        &self,
        account: u64,
        from_ms: i64,
    ) -> Result<Vec<u8>, ErrorBody> {
        let range = keys::account_prefix(account);
        // The first record at or after conversation `id`: (its id, whether it is early).
        let probe = |id: u64| -> Result<Option<(u64, bool)>, ErrorBody> {
            let start = keys::conversation(account, id);
            let rows = self
                .shared
                .store
                .scan(Cf::Conversations, &start, &range.end, 1)
                .map_err(storage)?;
            match rows.first() {
                Some((_, bytes)) => {
                    let r = ConversationRecord::decode(bytes).map_err(storage)?;
                    Ok(Some((r.conversation, r.opened_at < from_ms)))
                }
                None => Ok(None),
            }
        };
        // Invariant: every record with an id below `lo` was opened before `from_ms`.
        let (mut lo, mut hi) = (0u64, u64::MAX);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match probe(mid)? {
                Some((id, true)) => lo = id.saturating_add(1),
                Some((_, false)) | None => hi = mid,
            }
        }
        Ok(keys::conversation(account, lo).to_vec())
    }

    /// A value-added operation's token check (§12.6, A8): at level medium or high the
    /// agent's bound token must accept `otp`, as at a level-high login (replays refused,
    /// failures counted toward the lockout; the token's new state goes into the batch).
    pub(super) fn value_added_otp(
        &mut self,
        account: u64,
        me: u32,
        otp: Option<&str>,
    ) -> Result<(), ErrorBody> {
        let state = self.account_mut(account)?;
        if state.security_level == SecurityLevel::Low {
            return Ok(());
        }
        let serial = state.agent_tokens.get(&me).cloned().ok_or_else(|| {
            err(
                ErrorCode::OTP_REQUIRED,
                "value-added operations need a token code: this agent has no token; an administrator must bind one",
            )
        })?;
        let code = otp.ok_or_else(|| {
            err(
                ErrorCode::OTP_REQUIRED,
                "value-added operations need the token's code",
            )
        })?;
        let record = self.owned_token(&serial)?;
        let now = self.unix_secs();
        self.apply_owned(&record, |s, p| s.verify(p, code, now))
            .map(|_| ())
    }
}
