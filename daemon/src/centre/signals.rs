//! Ephemeral signals between a conversation's two sides (C12, manual §4.1–4.4:
//! typing, shake, call and remote-assistance signalling) and the account's
//! presence as customers see it (A6, §7.14).
//!
//! Signals are never stored and never queued: one is pushed to the other side if
//! it is connected to this shard now (customers and agents of an account are all on
//! its owning shard), and dropped otherwise. The sender's answer is `Ok` either
//! way. Refusals: a conversation the sender is not in, a call payload over 16 KiB,
//! call signalling with a mobile customer (§3.13 lists what mobile customers get,
//! and calls are not among it), and a second shake within 5 s (`RATE_LIMITED`).
//!
//! The account's presence mode is stored in the account record (written in the
//! turn's batch) and held by the routing engine, whose `AccountPresenceChanged`
//! effect is pushed to every customer of the account logged in on the shard.

use super::dispatch::{AgentSignalRequest, CustomerSignalRequest};
use super::{err, Answer, Centre, Recipient};
use crate::routing::AccountPresenceMode as EngineMode;
use crate::session::CustomerLogin;
use crate::store::records::PresenceMode;
use kefu_wire::chat::{
    AccountPresenceMode, Channel, ConversationState, Party, Signal, MAX_CALL_PAYLOAD,
};
use kefu_wire::{ErrorBody, ErrorCode, Event, Presence, Response};
use std::collections::HashMap;

/// At most one shake per this many milliseconds per sender and conversation.
pub(crate) const SHAKE_INTERVAL_MS: i64 = 5_000;
/// Past this many remembered shakes, those older than the interval are forgotten.
const SHAKES_KEPT: usize = 4_096;

/// The last shake of each (conversation, sender: `None` for the customer, `Some(agent)`).
#[derive(Debug, Default)]
pub(crate) struct ShakeLimiter {
    last: HashMap<(u64, Option<u32>), i64>,
}

impl ShakeLimiter {
    /// Records a shake at `now`, or refuses it with the milliseconds left to wait.
    fn allow(&mut self, conversation: u64, sender: Option<u32>, now: i64) -> Result<(), i64> {
        if let Some(&last) = self.last.get(&(conversation, sender)) {
            let wait = last.saturating_add(SHAKE_INTERVAL_MS).saturating_sub(now);
            if wait > 0 {
                return Err(wait);
            }
        }
        // Only shakes of the last interval matter, so the map stays as small as the
        // number of senders that shook in the last 5 seconds.
        if self.last.len() >= SHAKES_KEPT {
            self.last
                .retain(|_, t| now.saturating_sub(*t) < SHAKE_INTERVAL_MS);
        }
        self.last.insert((conversation, sender), now);
        Ok(())
    }
}

/// The stored mode as the routing engine holds it.
pub(super) fn engine_mode(mode: PresenceMode) -> EngineMode {
    match mode {
        PresenceMode::AlwaysOnline => EngineMode::AlwaysOnline,
        PresenceMode::FromAgents => EngineMode::FromAgents,
    }
}

fn wire_mode(mode: EngineMode) -> AccountPresenceMode {
    match mode {
        EngineMode::AlwaysOnline => AccountPresenceMode::AlwaysOnline,
        EngineMode::FromAgents => AccountPresenceMode::FromAgents,
    }
}

fn record_mode(mode: AccountPresenceMode) -> PresenceMode {
    match mode {
        AccountPresenceMode::AlwaysOnline => PresenceMode::AlwaysOnline,
        AccountPresenceMode::FromAgents => PresenceMode::FromAgents,
    }
}

/// Argument checks of a signal: a call payload of at most 16 KiB.
fn check_signal(signal: &Signal) -> Result<(), ErrorBody> {
    match signal {
        Signal::Call(c) if c.payload.len() > MAX_CALL_PAYLOAD => Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("call payload: at most {MAX_CALL_PAYLOAD} bytes"),
        )),
        _ => Ok(()),
    }
}

/// Call signalling needs a customer that is not on a mobile client (§3.13).
fn check_channel(signal: &Signal, customer_channel: Channel) -> Result<(), ErrorBody> {
    if matches!(signal, Signal::Call(_)) && customer_channel == Channel::Mobile {
        return Err(err(
            ErrorCode::NOT_ON_MOBILE,
            "voice, video and remote assistance are not available with a mobile customer",
        ));
    }
    Ok(())
}

impl Centre {
    /// Files and images towards a mobile customer are refused (§3.13 "在与手机 QQ 聊天时，
    /// 您无法向对方发送自定义表情以及传文件"), as calls are; the customer's channel is its
    /// session's now if it is connected, else the one it opened the conversation on.
    pub(super) fn check_mobile_body(
        &self,
        account: u64,
        info: &kefu_wire::chat::ConversationInfo,
        body: &kefu_wire::chat::MessageBody,
    ) -> Result<(), ErrorBody> {
        if matches!(body, kefu_wire::chat::MessageBody::Text(_)) {
            return Ok(());
        }
        let target = self.customer_session(account, &info.customer);
        let channel = self
            .session_customer(target)
            .map_or(info.channel, |c| c.channel);
        if channel == Channel::Mobile {
            return Err(err(
                ErrorCode::NOT_ON_MOBILE,
                "files and images cannot be sent to a mobile customer",
            ));
        }
        Ok(())
    }
}

fn rate_limited(wait_ms: i64) -> ErrorBody {
    err(
        ErrorCode::RATE_LIMITED,
        format!(
            "one shake per {} seconds; retry in {} ms",
            SHAKE_INTERVAL_MS / 1000,
            wait_ms
        ),
    )
}

impl Centre {
    /// `Signal` and `GetAccountPresence` of a logged-in customer.
    pub(super) fn customer_signal_request(
        &mut self,
        account: u64,
        login: &CustomerLogin,
        request: CustomerSignalRequest,
    ) -> Answer {
        let now = self.now_ms;
        match request {
            CustomerSignalRequest::Signal {
                conversation,
                signal,
            } => {
                let chat = self.chat_mut(account)?;
                if chat.routing.conversation_of(&login.customer) != Some(conversation) {
                    return Err(err(
                        ErrorCode::NOT_IN_CONVERSATION,
                        "not your open conversation",
                    ));
                }
                check_signal(&signal)?;
                check_channel(&signal, login.channel)?;
                if signal == Signal::Shake {
                    chat.shakes
                        .allow(conversation, None, now)
                        .map_err(rate_limited)?;
                }
                let agent = match chat.routing.conversation(conversation).map(|c| c.state) {
                    Some(ConversationState::Assigned { agent }) => Some(agent),
                    _ => None,
                };
                // Queued, or its agent is not connected: nobody to tell. A shake is a
                // notification, which an agent that muted the customer does not get
                // (§3.11.3 "不会有声音、头像闪动等提示").
                let muted = |a: &u32| {
                    signal == Signal::Shake && self.is_muted(account, *a, &login.customer)
                };
                if let Some(agent) = agent.filter(|a| !muted(a)) {
                    let event = Event::Signal {
                        conversation,
                        from: Party::Customer,
                        signal,
                    };
                    self.push(account, Recipient::Agent(agent), event);
                }
                Ok(Response::Ok)
            }
            CustomerSignalRequest::GetAccountPresence => Ok(Response::AccountPresence {
                presence: self.chat_mut(account)?.routing.account_presence(),
                mode: None,
            }),
        }
    }

    /// `Signal`, `SetAccountPresenceMode` and `GetAccountPresence` of a logged-in agent.
    pub(super) fn agent_signal_request(
        &mut self,
        account: u64,
        me: u32,
        request: AgentSignalRequest,
    ) -> Answer {
        let now = self.now_ms;
        match request {
            AgentSignalRequest::Signal {
                conversation,
                signal,
            } => {
                let chat = self.chat_mut(account)?;
                let info = chat
                    .routing
                    .conversation(conversation)
                    .filter(|c| c.state == ConversationState::Assigned { agent: me })
                    .ok_or_else(|| {
                        err(
                            ErrorCode::NOT_IN_CONVERSATION,
                            "you do not serve this conversation",
                        )
                    })?;
                check_signal(&signal)?;
                let customer = info.customer.clone();
                let target = self.customer_session(account, &customer);
                // The customer's channel now if it is connected, else the one it opened on.
                let channel = self
                    .session_customer(target)
                    .map_or(info.channel, |c| c.channel);
                check_channel(&signal, channel)?;
                if signal == Signal::Shake {
                    self.chat_mut(account)?
                        .shakes
                        .allow(conversation, Some(me), now)
                        .map_err(rate_limited)?;
                }
                if target.is_some() {
                    let event = Event::Signal {
                        conversation,
                        from: Party::Agent(me),
                        signal,
                    };
                    self.push(account, Recipient::Customer(customer), event);
                }
                Ok(Response::Ok)
            }
            AgentSignalRequest::SetAccountPresenceMode { mode } => {
                // The authorisation table already required permission 12.
                let mut settings = self.chat_mut(account)?.routing.settings().clone();
                settings.presence_mode = engine_mode(record_mode(mode));
                self.route(account, |r, owners, now| {
                    r.set_settings(settings, owners, now)
                })?;
                let state = self.account_mut(account)?;
                state.record.presence_mode = record_mode(mode);
                let record = state.record.clone();
                self.batch.put_account(&record);
                self.touched.push(account);
                Ok(Response::Ok)
            }
            AgentSignalRequest::GetAccountPresence => {
                let routing = &self.chat_mut(account)?.routing;
                Ok(Response::AccountPresence {
                    presence: routing.account_presence(),
                    mode: Some(wire_mode(routing.settings().presence_mode)),
                })
            }
        }
    }

    /// The account's presence changed (routing effect): every customer of the account
    /// logged in on this shard is told.
    pub(super) fn push_account_presence(&mut self, account: u64, presence: Presence) {
        let event = Event::AccountPresenceChanged { presence };
        self.push(account, Recipient::AllCustomers, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shake_per_interval_per_sender_and_conversation() {
        let mut l = ShakeLimiter::default();
        assert_eq!(l.allow(1, None, 0), Ok(()));
        assert_eq!(l.allow(1, None, 1_000), Err(4_000));
        // Another sender, another conversation: their own limits.
        assert_eq!(l.allow(1, Some(1001), 1_000), Ok(()));
        assert_eq!(l.allow(2, None, 1_000), Ok(()));
        assert_eq!(l.allow(1, None, 5_000), Ok(()));
        assert_eq!(l.allow(1, None, 9_999), Err(1));
    }

    #[test]
    fn old_shakes_are_forgotten() {
        let mut l = ShakeLimiter::default();
        for c in 0..SHAKES_KEPT as u64 {
            assert_eq!(l.allow(c, None, 0), Ok(()));
        }
        assert_eq!(l.allow(u64::MAX, None, SHAKE_INTERVAL_MS), Ok(()));
        assert_eq!(l.last.len(), 1);
    }

    #[test]
    fn modes_convert_both_ways() {
        for m in [
            AccountPresenceMode::AlwaysOnline,
            AccountPresenceMode::FromAgents,
        ] {
            assert_eq!(wire_mode(engine_mode(record_mode(m))), m);
        }
    }
}
