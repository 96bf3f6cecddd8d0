//! Offline messages forwarded by SMS (C14, manual §4.5.2–4.5.4; `wire/PROTOCOL.md`
//! section 27): a customer forwards one of its messages to an offline agent's bound
//! phone, the account's SMS balance pays one unit per segment, an outbox stored in
//! RocksDB hands each SMS to the gateway (`crate::sms_gateway`) on the worker pool and
//! retries it with a bounded exponential backoff, and the phone's replies come back on
//! the admin socket into the customer's conversation.
//!
//! **Charging exactly once.** `ForwardSms` reserves the units in the same batch that
//! stores the SMS (`sms` and its outbox copy) and the forward's deduplication key; the
//! gateway's acceptance moves them from reserved to spent, a dead letter gives them
//! back — each in the batch that settles the SMS, and only an SMS still queued settles.
//! A retry or a restart re-sends a queued SMS (the gateway dedupes by its `id`) but
//! never charges again. A new SMS is handed to the gateway only after the batch that
//! charged it is durable (a call to this shard, released after the commit).
//!
//! **State.** Per account, the balance and the queued SMS are cached on first use
//! ([`SmsAccount`]; read from `sms` and `sms_outbox`), and dropped with the account
//! when a commit that wrote to it fails or it is deleted, so they reload from the disk.
//! The schedule is a set of (due, account, sms) for the whole shard; at the shard's
//! first turn it is filled from `sms_outbox`, so a restart resumes every queued SMS.
//! Time is the turn's (`now_ms`): the operator's test clock moves the backoff.

use super::dispatch::{CustomerSmsRequest, SmsAdminRequest};
use super::{err, storage, Answer, Centre, Outgoing, Recipient};
use crate::accounts::owner_shard;
use crate::sms_gateway::{HttpGateway, OutboundSms, SmsGateway};
use crate::store::chat_records::{ClientMsgRecord, MessageRecord};
use crate::store::sms_records::{SmsBalanceRecord, SmsRecord, SmsState};
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::chat::{ConversationState, CustomerId, MessageBody, Party};
use kefu_wire::sms::{self, MAX_DEAD_LETTERS, MAX_REPLY_CHARS, MAX_TOP_UP};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Attempts one shard has with the gateway at once: each holds a worker of the pool
/// password checks share, for at most three `timeout_ms` (connect, write, read).
const MAX_IN_FLIGHT: usize = 1;
/// Queued SMS of one account read at once (a bound on a load).
const MAX_QUEUED_READ: usize = 100_000;
/// SMS records read, newest first, to find the dead letters.
const DEAD_LETTER_SCAN: usize = 10_000;

/// One account's SMS balance and queued SMS, as stored.
pub(super) struct SmsAccount {
    balance: SmsBalanceRecord,
    queued: BTreeMap<u64, SmsRecord>,
    /// Forward and reply deduplication keys written since the cache loaded (their
    /// batch may not be on the disk yet), with the SMS or message they became.
    written: HashMap<Vec<u8>, u64>,
}

/// The shard's SMS state (see the module doc).
#[derive(Default)]
pub(super) struct SmsShard {
    accounts: HashMap<u64, SmsAccount>,
    due: BTreeSet<(i64, u64, u64)>,
    /// Attempts with the gateway now, with the turn time each started.
    in_flight: HashMap<(u64, u64), i64>,
    resumed: bool,
    /// Open conversations whose customer was told nobody is online (`offline.rs`).
    pub(super) told: HashSet<(u64, u64)>,
    gateway: Option<(String, u32, Arc<dyn SmsGateway>)>,
}

impl SmsShard {
    /// Forgets what `accounts` cached (a failed commit wrote to them, or they were
    /// deleted): read again from the disk on next use.
    pub(super) fn forget(&mut self, accounts: &[u64]) {
        for a in accounts {
            self.accounts.remove(a);
        }
    }

    /// When the next attempt is due (turn ms), for the loop's wake (`wake.rs`); none
    /// while the attempts in flight are at the bound (an outcome wakes the loop).
    pub(super) fn next_due(&self) -> Option<i64> {
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            return None;
        }
        self.due.first().map(|&(at, _, _)| at)
    }
}

/// The wait before attempt `attempts + 1`, from the start of attempt `attempts`, ms:
/// `backoff_secs` doubled per failed attempt after the first, at most
/// `max_backoff_secs`.
fn backoff_ms(cfg: &crate::config::SmsConfig, attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(30);
    let secs = u64::from(cfg.backoff_secs).saturating_mul(1u64 << doublings);
    let secs = secs.min(u64::from(cfg.max_backoff_secs));
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

impl Centre {
    /// The account's SMS cache, read from the disk on first use (its queued SMS are
    /// scheduled as they load).
    fn sms_account(&mut self, account: u64) -> Result<&mut SmsAccount, ErrorBody> {
        if self.deletion_pending(account) {
            return Err(err(ErrorCode::UNKNOWN_ACCOUNT, "account deleted"));
        }
        if !self.sms.accounts.contains_key(&account) {
            let store = self.shared.store.as_ref();
            let balance = match store
                .get(Cf::Sms, &keys::sms_balance(account))
                .map_err(storage)?
            {
                Some(b) => SmsBalanceRecord::decode(&b).map_err(storage)?,
                None => SmsBalanceRecord::default(),
            };
            let range = keys::account_prefix(account);
            let rows = store
                .scan(Cf::SmsOutbox, &range.start, &range.end, MAX_QUEUED_READ)
                .map_err(storage)?;
            let mut queued = BTreeMap::new();
            for (_, bytes) in rows {
                let r = SmsRecord::decode(&bytes).map_err(storage)?;
                self.sms.due.insert((r.next_at, account, r.sms));
                queued.insert(r.sms, r);
            }
            let cached = SmsAccount {
                balance,
                queued,
                written: HashMap::new(),
            };
            self.sms.accounts.insert(account, cached);
        }
        self.sms
            .accounts
            .get_mut(&account)
            .ok_or_else(|| err(ErrorCode::INTERNAL, "sms cache vanished"))
    }

    /// The gateway the settings name, built again when they change (SIGHUP).
    fn sms_gateway(&mut self) -> Option<Arc<dyn SmsGateway>> {
        let cfg = &self.settings.sms;
        let url = cfg.url.clone()?;
        match &self.sms.gateway {
            Some((u, t, g)) if *u == url && *t == cfg.timeout_ms => Some(Arc::clone(g)),
            _ => {
                let timeout = Duration::from_millis(u64::from(cfg.timeout_ms));
                let g: Arc<dyn SmsGateway> = Arc::new(HttpGateway::new(&url, timeout).ok()?);
                self.sms.gateway = Some((url, cfg.timeout_ms, Arc::clone(&g)));
                Some(g)
            }
        }
    }

    fn sms_put(&mut self, r: &SmsRecord) {
        let bytes = r.encode();
        if r.state == SmsState::Queued {
            let key = keys::sms_outbox(r.account, r.sms);
            self.batch.put(Cf::SmsOutbox, &key, bytes.clone());
        } else {
            self.batch
                .delete(Cf::SmsOutbox, &keys::sms_outbox(r.account, r.sms));
        }
        self.batch.put(Cf::Sms, &r.key(), bytes);
    }

    fn sms_put_balance(&mut self, account: u64, balance: SmsBalanceRecord) {
        self.batch
            .put(Cf::Sms, &keys::sms_balance(account), balance.encode());
    }

    /// `ForwardSms`: checks, reserves the units and queues the SMS.
    pub(super) fn customer_sms_request(
        &mut self,
        account: u64,
        customer: &CustomerId,
        request: CustomerSmsRequest,
    ) -> Answer {
        let CustomerSmsRequest::ForwardSms {
            conversation,
            message,
            agent,
        } = request;
        self.customers_open(account, customer, conversation)?;
        let phone = {
            let state = &self.actor_mut(account)?.state;
            if !state.agents.contains_key(&agent) {
                return Err(err(
                    ErrorCode::UNKNOWN_AGENT,
                    format!("agent {agent} does not exist"),
                ));
            }
            state
                .profiles
                .get(&agent)
                .map(|p| p.phone.trim().to_owned())
                .unwrap_or_default()
        };
        if self
            .online
            .get(&account)
            .is_some_and(|m| m.contains_key(&agent))
        {
            return Err(err(
                ErrorCode::AGENT_ONLINE,
                format!("agent {agent} is online: write to it in the conversation"),
            ));
        }
        if phone.is_empty() {
            return Err(err(
                ErrorCode::NO_BOUND_PHONE,
                format!("agent {agent} has no bound phone"),
            ));
        }
        if self.settings.sms.url.is_none() {
            return Err(err(
                ErrorCode::SMS_NOT_CONFIGURED,
                "this appliance has no SMS gateway",
            ));
        }
        let text = self.forwardable_text(account, customer, conversation, message)?;
        let segments = sms::segments(&text).ok_or_else(|| {
            err(
                ErrorCode::SMS_TOO_LONG,
                format!("over {} SMS segments", sms::MAX_SEGMENTS),
            )
        })?;
        let forward_key = keys::sms_forward(account, message, agent);
        if let Some(sms) = self.sms_written(account, Cf::Sms, &forward_key)? {
            return Ok(Response::SmsQueued {
                sms,
                segments,
                duplicate: true,
            });
        }
        let now = self.now_ms;
        let acc = self.sms_account(account)?;
        if acc.balance.balance.units < u64::from(segments) {
            return Err(err(
                ErrorCode::SMS_NO_BALANCE,
                format!(
                    "{segments} SMS units needed, {} left",
                    acc.balance.balance.units
                ),
            ));
        }
        let id = acc.balance.next_sms.max(1);
        acc.balance.next_sms = id.saturating_add(1);
        acc.balance.balance.units -= u64::from(segments);
        acc.balance.balance.reserved += u64::from(segments);
        let record = SmsRecord {
            account,
            sms: id,
            conversation,
            message,
            customer: customer.clone(),
            agent,
            phone,
            text,
            segments,
            state: SmsState::Queued,
            attempts: 0,
            next_at: now,
            queued_at: now,
            settled_at: 0,
            last_error: String::new(),
        };
        acc.queued.insert(id, record.clone());
        acc.written.insert(forward_key.clone(), id);
        let balance = acc.balance;
        self.sms_put(&record);
        self.sms_put_balance(account, balance);
        self.batch.put(
            Cf::Sms,
            &forward_key,
            ClientMsgRecord { message: id }.encode(),
        );
        // Handed to the gateway only once this batch is durable.
        self.outbox.push(Outgoing::Call {
            shard: self.id,
            call: Box::new(move |c: &mut Centre| {
                c.sms.due.insert((now, account, id));
            }),
        });
        Ok(Response::SmsQueued {
            sms: id,
            segments,
            duplicate: false,
        })
    }

    /// The text of the customer's message `message` in `conversation`.
    fn forwardable_text(
        &self,
        account: u64,
        customer: &CustomerId,
        conversation: u64,
        message: u64,
    ) -> Result<String, ErrorBody> {
        let not_found = || {
            err(
                ErrorCode::NOT_FOUND,
                format!("no message {message} of yours in conversation {conversation}"),
            )
        };
        let bytes = self
            .shared
            .store
            .get(Cf::Messages, &keys::message(account, customer, message))
            .map_err(storage)?
            .ok_or_else(not_found)?;
        let m = MessageRecord::decode(&bytes).map_err(storage)?;
        if m.conversation != conversation || m.from != Party::Customer {
            return Err(not_found());
        }
        match m.body {
            MessageBody::Text(text) => Ok(text),
            _ => Err(err(
                ErrorCode::INVALID_ARGUMENT,
                "only a text message can be forwarded by SMS",
            )),
        }
    }

    /// What a deduplication key was stored as: this cache's writes (maybe not on the
    /// disk yet), else the store.
    fn sms_written(&mut self, account: u64, cf: Cf, key: &[u8]) -> Result<Option<u64>, ErrorBody> {
        if let Some(v) = self.sms_account(account)?.written.get(key) {
            return Ok(Some(*v));
        }
        match self.shared.store.get(cf, key).map_err(storage)? {
            Some(b) => Ok(Some(ClientMsgRecord::decode(&b).map_err(storage)?.message)),
            None => Ok(None),
        }
    }

    /// Each turn, before the commit: the SMS due are handed to the gateway on the
    /// worker pool (at most [`MAX_IN_FLIGHT`] at once). The first turn resumes the
    /// shard's queued SMS from the disk.
    pub(super) fn sms_tick(&mut self) {
        if !self.sms.resumed {
            self.sms.resumed = true;
            self.sms_resume();
        }
        let now = self.now_ms;
        while self.sms.in_flight.len() < MAX_IN_FLIGHT {
            let Some(&(due, account, id)) = self.sms.due.first() else {
                break;
            };
            if due > now {
                break;
            }
            self.sms.due.pop_first();
            if self.sms.in_flight.contains_key(&(account, id)) {
                continue;
            }
            let record = match self.sms_account(account) {
                Ok(acc) => match acc.queued.get(&id) {
                    Some(r) => r.clone(),
                    None => continue,
                },
                // Unreadable now: tried again later.
                Err(_) => {
                    let later = now.saturating_add(backoff_ms(&self.settings.sms, 1));
                    self.sms.due.insert((later, account, id));
                    continue;
                }
            };
            if record.next_at > now {
                self.sms.due.insert((record.next_at, account, id));
                continue;
            }
            self.sms_attempt(record);
        }
    }

    fn sms_attempt(&mut self, record: SmsRecord) {
        let (account, id) = (record.account, record.sms);
        let Some(gateway) = self.sms_gateway() else {
            let why = "no SMS gateway configured".to_owned();
            return self.sms_outcome(account, id, Err(why));
        };
        let out = OutboundSms {
            account,
            sms: id,
            agent: record.agent,
            to: record.phone,
            text: record.text,
            segments: record.segments,
            attempt: record.attempts.saturating_add(1),
        };
        self.sms.in_flight.insert((account, id), self.now_ms);
        let mailbox = Arc::clone(&self.mailbox);
        let spawned = self.shared.workers.spawn(move || {
            let result = gateway.send(&out);
            mailbox.call(Box::new(move |c: &mut Centre| {
                c.sms_outcome(account, id, result);
            }));
        });
        if !spawned {
            self.sms.in_flight.remove(&(account, id));
        }
    }

    /// Fills the schedule from `sms_outbox` (the accounts of this shard).
    fn sms_resume(&mut self) {
        let all = keys::accounts_after(None);
        let Some(range) = all else { return };
        let rows =
            match self
                .shared
                .store
                .scan(Cf::SmsOutbox, &range.start, &range.end, MAX_QUEUED_READ)
            {
                Ok(rows) => rows,
                Err(e) => {
                    crate::log::error(self.id, format_args!("sms outbox not resumed: {e}"));
                    return;
                }
            };
        let mut mine: Vec<u64> = rows
            .iter()
            .filter_map(|(k, _)| keys::parse_sms_outbox(k).map(|(a, _)| a))
            .filter(|a| owner_shard(*a, self.shard_count()) == self.id)
            .collect();
        mine.dedup();
        for account in mine {
            if let Err(e) = self.sms_account(account) {
                crate::log::error(
                    self.id,
                    format_args!("sms outbox of {account} not resumed: {}", e.message),
                );
            }
        }
    }

    /// The gateway's answer to one attempt: settled (spent, or a dead letter with its
    /// units given back) or scheduled again after the backoff.
    fn sms_outcome(&mut self, account: u64, id: u64, result: Result<(), String>) {
        let (now, shard) = (self.now_ms, self.id);
        // The backoff counts from the attempt's start, however long the answer took.
        let started = self.sms.in_flight.remove(&(account, id)).unwrap_or(now);
        let cfg = self.settings.sms.clone();
        let Ok(acc) = self.sms_account(account) else {
            return;
        };
        // Settled already (or gone with its account): nothing to charge again.
        let Some(mut r) = acc.queued.remove(&id) else {
            return;
        };
        r.attempts = r.attempts.saturating_add(1);
        let units = u64::from(r.segments);
        let b = &mut acc.balance.balance;
        if result.is_err() {
            b.failed_attempts = b.failed_attempts.saturating_add(1);
        }
        match result {
            Ok(()) => {
                r.state = SmsState::Sent;
                r.settled_at = now;
                b.reserved = b.reserved.saturating_sub(units);
                b.spent = b.spent.saturating_add(units);
            }
            Err(why) if r.attempts >= cfg.max_attempts => {
                r.state = SmsState::Dead;
                r.settled_at = now;
                r.last_error = why;
                b.reserved = b.reserved.saturating_sub(units);
                b.units = b.units.saturating_add(units);
                b.refunded = b.refunded.saturating_add(units);
                crate::log::warn(
                    shard,
                    format_args!(
                        "sms {id} of account {account}: dead letter after {} attempts ({})",
                        r.attempts, r.last_error
                    ),
                );
            }
            Err(why) => {
                r.last_error = why;
                r.next_at = started.saturating_add(backoff_ms(&cfg, r.attempts));
                acc.queued.insert(id, r.clone());
            }
        }
        let balance = acc.balance;
        if r.state == SmsState::Queued {
            self.sms.due.insert((r.next_at, account, id));
        }
        self.sms_put(&r);
        self.sms_put_balance(account, balance);
    }

    /// The operator's SMS requests (the account's owning shard runs them).
    pub(super) fn sms_admin(&mut self, request: SmsAdminRequest) -> Answer {
        match request {
            SmsAdminRequest::AdminSmsTopUp { account, units } => {
                if !(1..=MAX_TOP_UP).contains(&units) {
                    return Err(err(
                        ErrorCode::INVALID_ARGUMENT,
                        format!("units: 1..={MAX_TOP_UP}"),
                    ));
                }
                self.account_mut(account)?;
                let acc = self.sms_account(account)?;
                acc.balance.balance.units = acc.balance.balance.units.saturating_add(units.into());
                let balance = acc.balance;
                self.sms_put_balance(account, balance);
                Ok(Response::SmsBalance(balance.balance))
            }
            SmsAdminRequest::AdminSmsBalance { account } => {
                self.account_mut(account)?;
                Ok(Response::SmsBalance(
                    self.sms_account(account)?.balance.balance,
                ))
            }
            SmsAdminRequest::AdminSmsDeadLetters { account } => {
                self.account_mut(account)?;
                let range = keys::sms_items(account);
                let rows = self
                    .shared
                    .store
                    .scan_reverse(Cf::Sms, &range.start, &range.end, DEAD_LETTER_SCAN)
                    .map_err(storage)?;
                let mut dead = Vec::new();
                for (_, bytes) in rows {
                    let r = SmsRecord::decode(&bytes).map_err(storage)?;
                    if r.state == SmsState::Dead && dead.len() < MAX_DEAD_LETTERS {
                        dead.push(r.dead_letter());
                    }
                }
                Ok(Response::SmsDeadLetters(dead))
            }
            SmsAdminRequest::AdminSmsReply {
                account,
                sms,
                reply_id,
                text,
            } => self.sms_reply(account, sms, reply_id, text),
        }
    }

    /// `AdminSmsReply`: the phone's reply lands in the customer's history, in the SMS's
    /// conversation, as a message from the agent; pushed to the customer (and to the
    /// agent serving that conversation now, if any).
    fn sms_reply(&mut self, account: u64, sms: u64, reply_id: u64, text: String) -> Answer {
        if text.trim().is_empty() || text.chars().count() > MAX_REPLY_CHARS {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("text: 1..={MAX_REPLY_CHARS} characters"),
            ));
        }
        self.actor_mut(account)?;
        let cached = self.sms_account(account)?.queued.get(&sms).cloned();
        let record = match cached {
            Some(r) => r,
            None => {
                let bytes = self
                    .shared
                    .store
                    .get(Cf::Sms, &keys::sms_item(account, sms))
                    .map_err(storage)?
                    .ok_or_else(|| err(ErrorCode::NOT_FOUND, format!("no SMS {sms}")))?;
                SmsRecord::decode(&bytes).map_err(storage)?
            }
        };
        let reply_key = keys::sms_reply(account, sms, reply_id);
        if let Some(message) = self.sms_written(account, Cf::Sms, &reply_key)? {
            return Ok(Response::Sent {
                message,
                duplicate: true,
            });
        }
        let id = self.take_message_ids(account, 1)?;
        let served_by = match self
            .chat_mut(account)?
            .routing
            .conversation_state(record.conversation)
        {
            Some(ConversationState::Assigned { agent }) => Some(agent),
            _ => None,
        };
        let message = MessageRecord {
            account,
            customer: record.customer.clone(),
            conversation: record.conversation,
            id,
            at: self.now_ms,
            from: Party::Agent(record.agent),
            body: MessageBody::Text(text),
            served_by,
        };
        self.batch.put_message(&message);
        self.batch.put(
            Cf::Sms,
            &reply_key,
            ClientMsgRecord { message: id }.encode(),
        );
        self.sms_account(account)?.written.insert(reply_key, id);
        let info: kefu_wire::chat::MessageInfo = message.into();
        self.push(
            account,
            Recipient::Customer(record.customer),
            Event::Message(info.clone()),
        );
        if let Some(agent) = served_by {
            self.push(account, Recipient::Agent(agent), Event::Message(info));
        }
        Ok(Response::Sent {
            message: id,
            duplicate: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let cfg = crate::config::SmsConfig {
            backoff_secs: 30,
            max_backoff_secs: 100,
            ..Default::default()
        };
        assert_eq!(backoff_ms(&cfg, 1), 30_000);
        assert_eq!(backoff_ms(&cfg, 2), 60_000);
        assert_eq!(backoff_ms(&cfg, 3), 100_000);
        assert_eq!(backoff_ms(&cfg, 40), 100_000);
    }
}
