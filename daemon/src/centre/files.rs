//! Files (C13, manual §3.7; `wire/PROTOCOL.md` section 28): the requests, who may send
//! a file to whom, and online transfers. Offline files are in `offline_files.rs`, the
//! credit arithmetic in `file_window.rs`, the disk in `crate::file_store`.
//!
//! **Online transfers** are relayed and never stored: an offer goes to the receiver's
//! session (it must be connected), the receiver accepts with some credit, the sender
//! sends chunks of at most 64 KiB at the next offset and within the credit, each
//! relayed at once as a `FileChunk` push to the receiver's session, and the receiver
//! grants more as it consumes. So what the daemon holds of a transfer is bounded by the
//! window (1 MiB) whatever either side does: a receiver that grants nothing stalls the
//! sender (its chunks are refused `FILE_NO_CREDIT`, counted in
//! `kefu_file_refused_chunks_total`), and one that grants without reading is bounded by
//! its connection's output limit like any slow reader. Either side may cancel; a side's
//! session ending (disconnect, logout, replaced) ends its transfers and the other side
//! is pushed `FileEnded` with the reason.
//!
//! **Who may send to whom**: an agent to the customer of a conversation it serves, a
//! customer to the agent serving its open conversation, an agent to another agent of
//! its account. Files and images towards a customer on a mobile client are refused
//! `NOT_ON_MOBILE` (§3.13: "在与手机 QQ 聊天时，您无法向对方……传文件"), the code message
//! bodies with files and images already get; the customer's channel is the one of its
//! session now if connected, else the one it opened the conversation on.

use super::dispatch::FileRequest;
use super::file_window::{ChunkRefusal, CreditWindow};
use super::{err, Answer, Centre, Recipient, ReplyTo};
use crate::session::{Caller, SessionId};
use crate::store::file_records::FileParty;
use kefu_wire::chat::{Channel, ConversationState, Party};
use kefu_wire::files::{FileEnd, FileMeta, FilePeer, MAX_FILE_NAME_BYTES};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use std::collections::HashMap;

/// Online transfers one session may have open at once (as sender or receiver).
pub(super) const MAX_TRANSFERS_PER_SESSION: usize = 16;
/// The largest file when offline files are not configured (in-memory tests).
const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 30;

/// One online transfer.
#[derive(Debug)]
pub(super) struct Transfer {
    account: u64,
    sender: SessionId,
    receiver: SessionId,
    accepted: bool,
    window: CreditWindow,
}

/// The files state of a shard: online transfers, uploads and fetches in progress, by
/// their numbers (memory only; a restart ends them, and an upload resumes from its
/// partial file).
#[derive(Debug, Default)]
pub(crate) struct FileState {
    pub(super) next_id: u64,
    pub(super) transfers: HashMap<u64, Transfer>,
    pub(super) uploads: HashMap<u64, super::offline_files::Upload>,
    pub(super) fetches: HashMap<u64, super::offline_files::Fetch>,
}

impl FileState {
    pub(super) fn new_id(&mut self) -> u64 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }
}

/// Who the receiver of a file is, and what the offer says about it.
pub(super) struct Receiver {
    pub(super) party: FileParty,
    pub(super) conversation: Option<u64>,
}

/// A file's name and size checks: 1..=255 bytes, no `/` or NUL; at most the limit.
pub(super) fn check_meta(meta: &FileMeta, max_bytes: u64) -> Result<(), ErrorBody> {
    let name = &meta.name;
    if name.is_empty()
        || name.len() > MAX_FILE_NAME_BYTES
        || name.contains('/')
        || name.contains('\0')
    {
        return Err(err(
            ErrorCode::INVALID_ARGUMENT,
            format!("a file name is 1..={MAX_FILE_NAME_BYTES} bytes without '/' or NUL"),
        ));
    }
    if meta.size > max_bytes {
        return Err(err(
            ErrorCode::FILE_TOO_LARGE,
            format!("{} bytes: files are at most {max_bytes} bytes", meta.size),
        ));
    }
    Ok(())
}

/// The wire's name of a party.
pub(super) fn party(p: &FileParty) -> Party {
    match p {
        FileParty::Agent(a) => Party::Agent(*a),
        FileParty::Customer(_) => Party::Customer,
    }
}

impl Centre {
    /// Every file request of a logged-in agent or customer (`me`).
    pub(super) fn file_request(
        &mut self,
        caller: &Caller,
        reply: ReplyTo,
        account: u64,
        me: FileParty,
        request: FileRequest,
    ) {
        let Some(session) = caller.session else {
            return self.reply_err(reply, ErrorCode::FILE_UNKNOWN, "no session");
        };
        let answer = match request {
            FileRequest::FileOffer { to, meta } => self.offer(account, session, &me, to, meta),
            FileRequest::FileAnswer {
                transfer,
                accept,
                credit,
            } => self.answer_offer(session, transfer, accept, credit),
            FileRequest::FileCredit { transfer, bytes } => self.credit(session, transfer, bytes),
            FileRequest::FileChunk {
                transfer,
                offset,
                data,
            } => self.relay_chunk(session, transfer, offset, data),
            FileRequest::FileCancel { transfer } => self.cancel_transfer(session, transfer),
            FileRequest::UploadFile { to, meta } => {
                return self.upload_file(reply, account, session, me, to, meta)
            }
            FileRequest::UploadChunk {
                upload,
                offset,
                data,
            } => return self.upload_chunk(reply, session, upload, offset, data),
            FileRequest::FinishUpload { upload } => {
                return self.finish_upload(reply, account, session, upload)
            }
            FileRequest::ListOfflineFiles => self.list_offline_files(account, &me),
            FileRequest::FetchFile { token } => self.fetch_file(account, session, &me, token),
            FileRequest::FetchChunk { fetch, offset, max } => {
                return self.fetch_chunk(reply, session, fetch, offset, max)
            }
        };
        self.reply(reply, answer);
    }

    /// The largest file this appliance takes.
    pub(super) fn max_file_bytes(&self) -> u64 {
        self.shared
            .files
            .as_ref()
            .map_or(DEFAULT_MAX_FILE_BYTES, |f| f.max_file_bytes)
    }

    /// Whom `me` may send a file to as `to` names it, refusing files and images towards
    /// a customer on a mobile client.
    pub(super) fn file_receiver(
        &mut self,
        account: u64,
        me: &FileParty,
        to: FilePeer,
    ) -> Result<Receiver, ErrorBody> {
        let not_in = || err(ErrorCode::NOT_IN_CONVERSATION, "not your conversation");
        match (me, to) {
            (FileParty::Agent(me), FilePeer::Conversation(c)) => {
                let info = self
                    .chat_mut(account)?
                    .routing
                    .conversation(c)
                    .filter(|i| i.state == ConversationState::Assigned { agent: *me })
                    .ok_or_else(not_in)?;
                let (customer, opened_on) = (info.customer.clone(), info.channel);
                let channel = self
                    .session_customer(self.customer_session(account, &customer))
                    .map_or(opened_on, |l| l.channel);
                if channel == Channel::Mobile {
                    return Err(err(
                        ErrorCode::NOT_ON_MOBILE,
                        "files and images cannot be sent to a mobile customer",
                    ));
                }
                Ok(Receiver {
                    party: FileParty::Customer(customer),
                    conversation: Some(c),
                })
            }
            (FileParty::Agent(me), FilePeer::Agent(to)) => {
                if to == *me {
                    return Err(err(ErrorCode::INVALID_ARGUMENT, "a file to oneself"));
                }
                if !self.account_mut(account)?.agents.contains_key(&to) {
                    let message = format!("no agent {to} in this account");
                    return Err(err(ErrorCode::UNKNOWN_AGENT, message));
                }
                Ok(Receiver {
                    party: FileParty::Agent(to),
                    conversation: None,
                })
            }
            (FileParty::Customer(customer), FilePeer::Conversation(c)) => {
                let routing = &self.chat_mut(account)?.routing;
                if routing.conversation_of(customer) != Some(c) {
                    return Err(not_in());
                }
                match routing.conversation(c).map(|i| i.state) {
                    Some(ConversationState::Assigned { agent }) => Ok(Receiver {
                        party: FileParty::Agent(agent),
                        conversation: Some(c),
                    }),
                    _ => Err(err(
                        ErrorCode::FILE_STATE,
                        "no agent serves this conversation yet",
                    )),
                }
            }
            (FileParty::Customer(_), FilePeer::Agent(_)) => Err(err(
                ErrorCode::PERMISSION_DENIED,
                "customers send files in their conversation",
            )),
        }
    }

    /// The session `party` of `account` is logged in with on this shard, if any.
    fn party_session(&self, account: u64, party: &FileParty) -> Option<SessionId> {
        match party {
            FileParty::Agent(a) => self.online.get(&account)?.get(a).map(|o| o.session),
            FileParty::Customer(c) => self.customer_session(account, c),
        }
    }

    fn offer(
        &mut self,
        account: u64,
        session: SessionId,
        me: &FileParty,
        to: FilePeer,
        meta: FileMeta,
    ) -> Answer {
        check_meta(&meta, self.max_file_bytes())?;
        let receiver = self.file_receiver(account, me, to)?;
        let Some(target) = self.party_session(account, &receiver.party) else {
            return Err(err(
                ErrorCode::FILE_STATE,
                "the receiver is not connected: send it as an offline file",
            ));
        };
        let open = self
            .files
            .transfers
            .values()
            .filter(|t| t.sender == session || t.receiver == session)
            .count();
        if open >= MAX_TRANSFERS_PER_SESSION {
            return Err(err(
                ErrorCode::FILE_BUSY,
                format!("at most {MAX_TRANSFERS_PER_SESSION} transfers at once"),
            ));
        }
        let transfer = self.files.new_id();
        self.files.transfers.insert(
            transfer,
            Transfer {
                account,
                sender: session,
                receiver: target,
                accepted: false,
                window: CreditWindow::new(meta.size),
            },
        );
        let event = Event::FileOffered {
            transfer,
            from: party(me),
            conversation: receiver.conversation,
            meta,
        };
        self.push(account, Recipient::Session(target), event);
        Ok(Response::FileTransfer { transfer })
    }

    /// The transfer `id` if `session` is its receiver.
    fn received(&mut self, session: SessionId, id: u64) -> Result<&mut Transfer, ErrorBody> {
        self.files
            .transfers
            .get_mut(&id)
            .filter(|t| t.receiver == session)
            .ok_or_else(|| err(ErrorCode::FILE_UNKNOWN, "no such transfer to you"))
    }

    fn answer_offer(&mut self, session: SessionId, id: u64, accept: bool, credit: u32) -> Answer {
        let t = self.received(session, id)?;
        if t.accepted {
            return Err(err(ErrorCode::FILE_STATE, "already accepted"));
        }
        let (account, sender) = (t.account, t.sender);
        if !accept {
            self.files.transfers.remove(&id);
            let event = Event::FileEnded {
                transfer: id,
                reason: FileEnd::Declined,
            };
            self.push(account, Recipient::Session(sender), event);
            return Ok(Response::Ok);
        }
        t.accepted = true;
        let window_end = t.window.grant(credit);
        if t.window.complete() {
            self.files.transfers.remove(&id);
        }
        let event = Event::FileCredit {
            transfer: id,
            window_end,
        };
        self.push(account, Recipient::Session(sender), event);
        Ok(Response::Ok)
    }

    fn credit(&mut self, session: SessionId, id: u64, bytes: u32) -> Answer {
        let t = self.received(session, id)?;
        if !t.accepted {
            return Err(err(ErrorCode::FILE_STATE, "answer the offer first"));
        }
        let window_end = t.window.grant(bytes);
        let (account, sender) = (t.account, t.sender);
        let event = Event::FileCredit {
            transfer: id,
            window_end,
        };
        self.push(account, Recipient::Session(sender), event);
        Ok(Response::Ok)
    }

    fn relay_chunk(&mut self, session: SessionId, id: u64, offset: u64, data: Vec<u8>) -> Answer {
        let counters = std::sync::Arc::clone(&self.counters);
        let refused = |e: ErrorBody| {
            counters.add_file_refused_chunk();
            e
        };
        let t = self
            .files
            .transfers
            .get_mut(&id)
            .filter(|t| t.sender == session)
            .ok_or_else(|| refused(err(ErrorCode::FILE_UNKNOWN, "no such transfer of yours")))?;
        if !t.accepted {
            return Err(refused(err(ErrorCode::FILE_NO_CREDIT, "not accepted yet")));
        }
        let last = t.window.take(offset, data.len()).map_err(|r| {
            refused(match r {
                ChunkRefusal::BadOffset { expected } => err(
                    ErrorCode::FILE_BAD_OFFSET,
                    format!("the next chunk starts at {expected}, 1..=65536 bytes within the size"),
                ),
                ChunkRefusal::NoCredit { window_end } => err(
                    ErrorCode::FILE_NO_CREDIT,
                    format!("credit ends at byte {window_end}: wait for FileCredit"),
                ),
            })
        })?;
        let (account, receiver) = (t.account, t.receiver);
        if last {
            self.files.transfers.remove(&id);
        }
        self.counters.add_file_relayed(data.len() as u64);
        let event = Event::FileChunk {
            transfer: id,
            offset,
            data,
        };
        self.push(account, Recipient::Session(receiver), event);
        Ok(Response::Ok)
    }

    fn cancel_transfer(&mut self, session: SessionId, id: u64) -> Answer {
        let Some(t) = self
            .files
            .transfers
            .get(&id)
            .filter(|t| t.sender == session || t.receiver == session)
        else {
            return Err(err(ErrorCode::FILE_UNKNOWN, "no such transfer of yours"));
        };
        let other = if t.sender == session {
            t.receiver
        } else {
            t.sender
        };
        let account = t.account;
        self.files.transfers.remove(&id);
        let event = Event::FileEnded {
            transfer: id,
            reason: FileEnd::Cancelled,
        };
        self.push(account, Recipient::Session(other), event);
        Ok(Response::Ok)
    }

    /// A session ended (disconnected and not resumable, logged out, replaced): its
    /// transfers end (the other side is told `PeerGone`), its uploads and fetches close
    /// (an upload resumes from its partial file when started again).
    pub(super) fn files_session_gone(&mut self, session: SessionId) {
        let ended: Vec<u64> = self
            .files
            .transfers
            .iter()
            .filter(|(_, t)| t.sender == session || t.receiver == session)
            .map(|(id, _)| *id)
            .collect();
        for id in ended {
            let Some(t) = self.files.transfers.remove(&id) else {
                continue;
            };
            let other = if t.sender == session {
                t.receiver
            } else {
                t.sender
            };
            let event = Event::FileEnded {
                transfer: id,
                reason: FileEnd::PeerGone,
            };
            self.push(t.account, Recipient::Session(other), event);
        }
        self.files.uploads.retain(|_, u| u.session != session);
        self.files.fetches.retain(|_, f| f.session != session);
    }
}
