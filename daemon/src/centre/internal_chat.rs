//! Internal chat between agents of one account (C11, manual §3.1 "内部聊天";
//! `wire/PROTOCOL.md` section 24), with the guarantees of customer chat: a message is
//! put in the turn's batch and answered `Sent` only after the commit; a retried
//! client message id is found (in a batch not yet durable, or in `client_msgs` under its own
//! `0x03` prefix) and answered `duplicate` with the first id; the receiver gets an
//! `InternalMessage` push after the commit, which a detached resumable session keeps
//! like any push; history and search read the store (`internal_messages`, one range per
//! pair of agents), so a reconnect or a restart loses nothing.

use super::dispatch::InternalRequest;
use super::{err, storage, Answer, Centre, Recipient};
use crate::store::chat_records::ClientMsgRecord;
use crate::store::internal_records::InternalMessageRecord;
use crate::store::{keys, Cf, StoredRecord};
use kefu_wire::internal::{
    InternalMessage, MAX_INTERNAL_PAGE, MAX_INTERNAL_SEARCH_CHARS, MAX_INTERNAL_TEXT_CHARS,
};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};

/// Most internal messages one search reads, over all the pairs it looks at.
const MAX_SEARCH_SCAN: usize = 5_000;
/// Newest messages a search reads per pair at least, however many agents.
const MIN_SEARCH_PER_PAIR: usize = 100;

/// The end of a pair's key range: after every id.
fn pair_end(account: u64, a: u32, b: u32) -> Vec<u8> {
    let mut end = keys::internal_pair(account, a, b);
    end.extend_from_slice(&[0xff; 9]);
    end
}

impl Centre {
    /// `SendInternal`, `InternalHistory`, `SearchInternal`.
    pub(super) fn internal_request(
        &mut self,
        account: u64,
        me: u32,
        request: InternalRequest,
    ) -> Answer {
        match request {
            InternalRequest::SendInternal {
                to,
                client_msg_id,
                text,
            } => self.send_internal(account, me, to, client_msg_id, text),
            InternalRequest::InternalHistory {
                with,
                before,
                limit,
            } => {
                self.known_agent(account, with)?;
                let start = keys::internal_pair(account, me, with);
                let end = match before {
                    0 => pair_end(account, me, with),
                    b => keys::internal_message(account, me, with, b),
                };
                let limit = usize::from(limit.clamp(1, MAX_INTERNAL_PAGE));
                Ok(Response::InternalMessages(
                    self.read_internal(&start, &end, limit)?,
                ))
            }
            InternalRequest::SearchInternal { with, text, limit } => {
                self.search_internal(account, me, with, &text, limit)
            }
        }
    }

    /// `agent` is an agent of `account`, or the request is `UNKNOWN_AGENT`.
    fn known_agent(&mut self, account: u64, agent: u32) -> Result<(), ErrorBody> {
        if self.actor_mut(account)?.state.agents.contains_key(&agent) {
            Ok(())
        } else {
            Err(err(
                ErrorCode::UNKNOWN_AGENT,
                format!("no agent {agent} in this account"),
            ))
        }
    }

    fn send_internal(
        &mut self,
        account: u64,
        me: u32,
        to: u32,
        client_msg_id: u64,
        text: String,
    ) -> Answer {
        if to == me {
            return Err(err(ErrorCode::INTERNAL_TO_SELF, "a message to oneself"));
        }
        self.known_agent(account, to)?;
        if text.chars().count() > MAX_INTERNAL_TEXT_CHARS {
            return Err(err(
                ErrorCode::MESSAGE_TOO_LONG,
                format!("at most {MAX_INTERNAL_TEXT_CHARS} characters"),
            ));
        }
        if text.trim().is_empty() {
            return Err(err(ErrorCode::INVALID_ARGUMENT, "an empty message"));
        }
        let dedupe = keys::internal_client_msg(account, me, client_msg_id);
        // Not yet written (this turn's batch, or the one in flight on the committer), or
        // stored.
        let earlier = match self.unwritten_client_msg(&dedupe) {
            Some(id) => Some(id),
            None => match self
                .shared
                .store
                .get(Cf::ClientMsgs, &dedupe)
                .map_err(storage)?
            {
                Some(bytes) => Some(ClientMsgRecord::decode(&bytes).map_err(storage)?.message),
                None => None,
            },
        };
        if let Some(message) = earlier {
            return Ok(Response::Sent {
                message,
                duplicate: true,
            });
        }
        let id = self.take_message_ids(account, 1)?;
        let record = InternalMessageRecord {
            account,
            message: InternalMessage {
                id,
                from: me,
                to,
                at: self.now_ms,
                text,
            },
        };
        self.batch
            .put(Cf::InternalMessages, &record.key(), record.encode());
        self.batch.put(
            Cf::ClientMsgs,
            &dedupe,
            ClientMsgRecord { message: id }.encode(),
        );
        self.turn_client_msgs.insert(dedupe, id);
        self.push(
            account,
            Recipient::Agent(to),
            Event::InternalMessage(record.message),
        );
        Ok(Response::Sent {
            message: id,
            duplicate: false,
        })
    }

    /// Up to `limit` messages of one key range, newest first.
    fn read_internal(
        &self,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<InternalMessage>, ErrorBody> {
        let rows = self
            .shared
            .store
            .scan_reverse(Cf::InternalMessages, start, end, limit)
            .map_err(storage)?;
        let mut out = Vec::with_capacity(rows.len());
        for (_, bytes) in rows {
            out.push(
                InternalMessageRecord::decode(&bytes)
                    .map_err(storage)?
                    .message,
            );
        }
        Ok(out)
    }

    /// The asker's messages with `with` (or every other agent) containing `text`:
    /// a bounded read of each pair's newest messages, newest first.
    fn search_internal(
        &mut self,
        account: u64,
        me: u32,
        with: Option<u32>,
        text: &str,
        limit: u16,
    ) -> Answer {
        let chars = text.chars().count();
        if text.trim().is_empty() || chars > MAX_INTERNAL_SEARCH_CHARS {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("search text: 1..={MAX_INTERNAL_SEARCH_CHARS} characters"),
            ));
        }
        let others: Vec<u32> = match with {
            Some(w) => {
                self.known_agent(account, w)?;
                vec![w]
            }
            None => (self.actor_mut(account)?.state.agents.keys())
                .copied()
                .filter(|&a| a != me)
                .collect(),
        };
        let per_pair = (MAX_SEARCH_SCAN / others.len().max(1)).max(MIN_SEARCH_PER_PAIR);
        let needle = text.to_lowercase();
        let mut found = Vec::new();
        for other in others {
            let start = keys::internal_pair(account, me, other);
            let end = pair_end(account, me, other);
            for m in self.read_internal(&start, &end, per_pair)? {
                if m.text.to_lowercase().contains(&needle) {
                    found.push(m);
                }
            }
        }
        found.sort_unstable_by_key(|m| std::cmp::Reverse(m.id));
        found.truncate(usize::from(limit.clamp(1, MAX_INTERNAL_PAGE)));
        Ok(Response::InternalMessages(found))
    }
}
