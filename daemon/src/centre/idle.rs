//! Idle customers (M3, manual §4.7; `wire/PROTOCOL.md` section 23): every message an
//! agent stores in a conversation it serves (re)arms the conversation's timer; when it
//! falls due, `minutes` later, with no customer reply in between, the conversation is
//! flagged idle, its serving agent is told (`Event::IdleChanged`) and, with
//! `auto_reply`, the prompt goes to the customer once, stored as a `System` message.
//! A customer reply clears flag and timer; a close drops them.
//!
//! The timers of every account of the shard live in **one** hashed timing wheel
//! ([`crate::timer_wheel`], `Centre::idle_wheel`), advanced once per turn to the
//! turn's `now` ([`Centre::idle_tick`], from `Centre::commit`): O(1) to arm, cancel and
//! fire, and nothing examined while nothing is due. Each armed or flagged conversation
//! also has an [`IdleRecord`] written in the same batch as the change, so when an
//! account loads (after a restart, or an eviction) [`Centre::idle_rearm`] re-arms its
//! timers from the records: one that fell due meanwhile fires at the next turn, and a
//! record already flagged stays flagged without a second prompt.

use super::dispatch::AutomationRequest;
use super::{err, Answer, Centre, Recipient};
use crate::store::chat_records::ConversationRecord;
use crate::store::idle_records::{IdleRecord, IdleSettingsRecord};
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::automation::{IdleInfo, IdleSettings, MAX_IDLE_MINUTES, MAX_IDLE_TEXT_CHARS};
use kefu_wire::chat::ConversationState;
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use std::collections::HashMap;

/// Slots of a shard's wheel: 4,096 one-second ticks, 68 minutes a turn of the wheel
/// (a longer wait just stays in its slot for more turns).
pub(super) const WHEEL_SLOTS: usize = 4096;
/// One tick of the wheel, ms.
pub(super) const WHEEL_TICK_MS: i64 = 1000;
/// Idle records read per account at load (as many as open conversations restored).
const MAX_RESTORED: usize = 100_000;

/// The shard's one wheel of idle timers, keyed by (account, conversation).
pub(super) type IdleWheel = crate::timer_wheel::TimerWheel<(u64, u64)>;

/// One account's idle-customer settings and the conversations with a timer or a flag.
#[derive(Debug, Default)]
pub(crate) struct IdleState {
    pub(super) settings: IdleSettings,
    conversations: HashMap<u64, IdleRecord>,
}

fn info(r: &IdleRecord) -> IdleInfo {
    IdleInfo {
        conversation: r.conversation,
        idle: r.flagged,
        since: r.since,
        prompted: r.prompted,
    }
}

fn wait_ms(settings: &IdleSettings) -> i64 {
    i64::from(settings.minutes) * 60_000
}

fn check_settings(s: &IdleSettings) -> Result<(), ErrorBody> {
    if !(1..=MAX_IDLE_MINUTES).contains(&s.minutes) {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("minutes: 1..={MAX_IDLE_MINUTES}"),
        ));
    }
    if s.text.trim().is_empty() || s.text.chars().count() > MAX_IDLE_TEXT_CHARS {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("text: 1..={MAX_IDLE_TEXT_CHARS} characters, not only white space"),
        ));
    }
    Ok(())
}

/// Reads an account's idle settings (the defaults if it never set any) and the idle
/// records of its open conversations. Pure reads (the account loads off the loop).
pub(super) fn read_idle(
    store: &dyn crate::store::KvStore,
    account: u64,
    open: &HashMap<u64, ConversationRecord>,
) -> Result<IdleState, ErrorBody> {
    let storage = |e: crate::store::StoreError| err(ErrorCode::STORAGE_FAILURE, e.to_string());
    let record =
        |e: crate::store::records::RecordError| err(ErrorCode::STORAGE_FAILURE, e.to_string());
    let settings = match store
        .get(Cf::RoutingSettings, &keys::idle_settings(account))
        .map_err(storage)?
    {
        Some(bytes) => IdleSettingsRecord::decode(&bytes).map_err(record)?.settings,
        None => IdleSettings::default(),
    };
    let range = keys::account_prefix(account);
    let mut conversations = HashMap::new();
    for (_, bytes) in store
        .scan(
            Cf::IdleConversations,
            &range.start,
            &range.end,
            MAX_RESTORED,
        )
        .map_err(storage)?
    {
        let r = IdleRecord::decode(&bytes).map_err(record)?;
        if open.contains_key(&r.conversation) {
            conversations.insert(r.conversation, r);
        }
    }
    Ok(IdleState {
        settings,
        conversations,
    })
}

impl Centre {
    /// `GetIdleSettings`, `SetIdleSettings`, `ListIdleConversations`.
    pub(super) fn automation_request(
        &mut self,
        account: u64,
        me: u32,
        request: AutomationRequest,
    ) -> Answer {
        match request {
            AutomationRequest::GetIdleSettings => Ok(Response::IdleSettings(
                self.chat_mut(account)?.idle.settings.clone(),
            )),
            AutomationRequest::SetIdleSettings { settings } => {
                self.set_idle_settings(account, settings)
            }
            AutomationRequest::ListIdleConversations => {
                let chat = self.chat_mut(account)?;
                let mut list: Vec<IdleInfo> = (chat.idle.conversations.values())
                    .filter(|r| r.flagged)
                    .filter(|r| {
                        chat.routing
                            .conversation(r.conversation)
                            .is_some_and(|c| c.state == ConversationState::Assigned { agent: me })
                    })
                    .map(info)
                    .collect();
                list.sort_unstable_by_key(|i| i.conversation);
                Ok(Response::IdleConversations(list))
            }
        }
    }

    fn set_idle_settings(&mut self, account: u64, settings: IdleSettings) -> Answer {
        check_settings(&settings)?;
        let record = IdleSettingsRecord { account, settings };
        self.batch
            .put(Cf::RoutingSettings, &record.key(), record.encode());
        self.touched.push(account);
        let chat = self.chat_mut(account)?;
        chat.idle.settings = record.settings.clone();
        let wait = wait_ms(&record.settings);
        if record.settings.remind {
            let armed: Vec<(u64, i64)> = (chat.idle.conversations.values())
                .filter(|r| !r.flagged)
                .map(|r| (r.conversation, r.since.saturating_add(wait)))
                .collect();
            for (conversation, due) in armed {
                self.idle_wheel.insert((account, conversation), due);
            }
        } else {
            let dropped: Vec<IdleRecord> =
                chat.idle.conversations.drain().map(|(_, r)| r).collect();
            for r in dropped {
                self.drop_idle(account, r, true);
            }
        }
        Ok(Response::Ok)
    }

    /// Forgets one conversation's timer and flag (record deleted in the batch); tells
    /// its serving agent the flag cleared if one stood and `tell`.
    fn drop_idle(&mut self, account: u64, r: IdleRecord, tell: bool) {
        self.idle_wheel.cancel(&(account, r.conversation));
        self.batch.delete(Cf::IdleConversations, &r.key());
        if tell && r.flagged {
            let cleared = IdleRecord {
                flagged: false,
                ..r
            };
            self.tell_serving_agent(account, &cleared);
        }
    }

    fn tell_serving_agent(&mut self, account: u64, r: &IdleRecord) {
        let agent = self
            .actors
            .get(&account)
            .and_then(|a| a.chat.routing.conversation(r.conversation))
            .and_then(|c| match c.state {
                ConversationState::Assigned { agent } => Some(agent),
                _ => None,
            });
        if let Some(agent) = agent {
            self.push(
                account,
                Recipient::Agent(agent),
                Event::IdleChanged(info(r)),
            );
        }
    }

    /// An agent's message was stored in `conversation` at `now`: its timer restarts
    /// from it (a standing flag clears).
    pub(super) fn idle_agent_message(&mut self, account: u64, conversation: u64, now: i64) {
        let Some(idle) = self.actors.get_mut(&account).map(|a| &mut a.chat.idle) else {
            return;
        };
        if !idle.settings.remind {
            return;
        }
        let due = now.saturating_add(wait_ms(&idle.settings));
        let r = IdleRecord {
            account,
            conversation,
            since: now,
            flagged: false,
            prompted: false,
        };
        let before = idle.conversations.insert(conversation, r);
        self.batch.put(Cf::IdleConversations, &r.key(), r.encode());
        self.idle_wheel.insert((account, conversation), due);
        if before.is_some_and(|b| b.flagged) {
            self.tell_serving_agent(account, &r);
        }
    }

    /// The customer replied in `conversation`: flag and timer clear.
    pub(super) fn idle_customer_message(&mut self, account: u64, conversation: u64) {
        let removed = (self.actors.get_mut(&account))
            .and_then(|a| a.chat.idle.conversations.remove(&conversation));
        if let Some(r) = removed {
            self.drop_idle(account, r, true);
        }
    }

    /// `conversation` closed: its timer and flag go, silently (the close is told).
    pub(super) fn idle_closed(&mut self, account: u64, conversation: u64) {
        let removed = (self.actors.get_mut(&account))
            .and_then(|a| a.chat.idle.conversations.remove(&conversation));
        if let Some(r) = removed {
            self.drop_idle(account, r, false);
        }
    }

    /// The account was just put in memory: its stored timers go back in the wheel.
    pub(super) fn idle_rearm(&mut self, account: u64) {
        let Some(idle) = self.actors.get(&account).map(|a| &a.chat.idle) else {
            return;
        };
        if !idle.settings.remind {
            return;
        }
        let wait = wait_ms(&idle.settings);
        let armed: Vec<(u64, i64)> = (idle.conversations.values())
            .filter(|r| !r.flagged)
            .map(|r| (r.conversation, r.since.saturating_add(wait)))
            .collect();
        for (conversation, due) in armed {
            self.idle_wheel.insert((account, conversation), due);
        }
    }

    /// Fires the idle timers due at the turn's `now` (before the commit).
    pub(super) fn idle_tick(&mut self) {
        let mut due = Vec::new();
        self.idle_wheel.advance(self.now_ms, &mut due);
        for (account, conversation) in due {
            self.idle_fire(account, conversation);
        }
    }

    fn idle_fire(&mut self, account: u64, conversation: u64) {
        let now = self.now_ms;
        // An account evicted since is re-armed from its records when it loads again.
        let Some(idle) = self.actors.get_mut(&account).map(|a| &mut a.chat.idle) else {
            return;
        };
        let settings = idle.settings.clone();
        let Some(r) = idle.conversations.get_mut(&conversation) else {
            return;
        };
        if !settings.remind || r.flagged {
            return;
        }
        let due = r.since.saturating_add(wait_ms(&settings));
        if due > now {
            // The wait grew since it was armed.
            self.idle_wheel.insert((account, conversation), due);
            return;
        }
        r.flagged = true;
        r.prompted = settings.auto_reply;
        let r = *r;
        self.batch.put(Cf::IdleConversations, &r.key(), r.encode());
        self.tell_serving_agent(account, &r);
        if settings.auto_reply {
            self.on_system_text(account, conversation, settings.text);
        }
    }
}
