//! Agent operations besides chat: history queries, contact searches and
//! broadcasts, each issued open loop at its own rate during the traffic.
//!
//! Each kind has its own [`Schedule`] (same ramp-up, warm-up and measured
//! window as the messages): operation `j` is due at a fixed time, dealt to
//! driver threads round-robin (`j % drivers`) and within a driver to its
//! agents round-robin (broadcasts: to its agents 1001, the only ones allowed
//! to broadcast). Latency runs from the due time to the answer (corrected for
//! coordinated omission), and also from the moment the request left the tool.
//! An operation answered with an error counts as failed with its code; it is
//! never a message (messages have their own ledger).
//!
//! What is asked:
//! - **history** (`History`): a customer the agent serves (learnt from its
//!   `ConversationChanged` pushes), the default 15-day window, a page of 30;
//!   every fourth query with a keyword (the run's nonce, which every message
//!   of the run carries);
//! - **contact search** (`SearchContacts`): alternately the keyword
//!   `kefu-load` (every load customer: served customers become contacts,
//!   strangers owned by the serving agent) and a served customer's id, a page
//!   of 20 by last contact;
//! - **broadcast** (`SubmitBroadcast`): a short text to up to three customers
//!   the agent serves (named; they are contacts), submitted for review (the
//!   old immediate `Broadcast` is retired), without a token code (the scenario
//!   lowers the account's security level and tops up its balance first). What
//!   is measured is the submission: reserving the units, not a fan-out.

use crate::report::{new_histogram, FailureCounts};
use crate::schedule::Schedule;
use hdrhistogram::Histogram;
use kefu_wire::chat::{CustomerId, MessageBody};
use kefu_wire::crm::{ContactQuery, ContactSort, HistoryKind, HistoryQuery};
use kefu_wire::valueadded::BroadcastDraft;
use kefu_wire::{ErrorBody, Request, Response};
use serde::Serialize;

/// History page size.
pub const HISTORY_LIMIT: u16 = 30;
/// Contact search page size.
pub const SEARCH_LIMIT: u16 = 20;
/// Customers named per broadcast, at most.
pub const BROADCAST_CUSTOMERS: usize = 3;
/// Every broadcast's text starts with this.
pub const BROADCAST_PREFIX: &str = "kefu-load broadcast ";
/// The agent allowed to broadcast (the super administrator, permission 10).
pub const BROADCASTER: u32 = 1001;

/// A kind of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// `History`.
    History,
    /// `SearchContacts`.
    ContactSearch,
    /// `SubmitBroadcast`.
    Broadcast,
}

impl OpKind {
    /// The report's name (also the `.hgrm` file's).
    pub fn name(self) -> &'static str {
        match self {
            OpKind::History => "history",
            OpKind::ContactSearch => "contact_search",
            OpKind::Broadcast => "broadcast",
        }
    }

    /// The request's name, the prefix of error keys.
    pub fn request_name(self) -> &'static str {
        match self {
            OpKind::History => "History",
            OpKind::ContactSearch => "SearchContacts",
            OpKind::Broadcast => "SubmitBroadcast",
        }
    }

    /// The request of operation `j` by an agent serving `served`; `nonce` is the run's.
    pub fn request(self, j: u64, served: &[CustomerId], nonce: u32) -> Request {
        let pick = |k: u64| -> Option<CustomerId> {
            (!served.is_empty()).then(|| served[(k % served.len() as u64) as usize].clone())
        };
        match self {
            OpKind::History => Request::History(HistoryQuery {
                // An agent that serves nobody asks about a load customer anyway:
                // the page is empty (what it may not see is left out), not an error.
                customer: pick(j).unwrap_or_else(|| CustomerId::Identified("kefu-load-0".into())),
                all_time: false,
                agent: None,
                kind: HistoryKind::All,
                keyword: if j % 4 == 3 {
                    format!("{nonce:08x}")
                } else {
                    String::new()
                },
                before: None,
                limit: HISTORY_LIMIT,
            }),
            OpKind::ContactSearch => {
                let text = match pick(j / 2).filter(|_| j % 2 == 1) {
                    Some(CustomerId::Identified(id)) => id,
                    Some(CustomerId::Visitor(v)) => v.iter().map(|b| format!("{b:02x}")).collect(),
                    None => "kefu-load".to_string(),
                };
                Request::SearchContacts(ContactQuery {
                    text,
                    groups: Vec::new(),
                    tags: Vec::new(),
                    owner: None,
                    state: None,
                    last_contact: None,
                    sort: ContactSort::LastContact,
                    offset: 0,
                    limit: SEARCH_LIMIT,
                })
            }
            OpKind::Broadcast => {
                let n = served.len().min(BROADCAST_CUSTOMERS);
                let customers = (0..n as u64).filter_map(|k| pick(j + k)).collect();
                Request::SubmitBroadcast {
                    draft: BroadcastDraft {
                        groups: Vec::new(),
                        customers,
                        body: MessageBody::Text(format!("{BROADCAST_PREFIX}{nonce:08x} {j}")),
                        online_only: false,
                        block_replies: false,
                        send_at: None,
                    },
                    otp: None,
                }
            }
        }
    }

    /// Whether `answer` is this kind's success, and how many items it carried
    /// (messages, contacts, recipients).
    pub fn success(self, answer: &Result<Response, ErrorBody>) -> Option<u64> {
        match (self, answer) {
            (OpKind::History, Ok(Response::History(p))) => Some(p.messages.len() as u64),
            (OpKind::ContactSearch, Ok(Response::Contacts(p))) => Some(p.contacts.len() as u64),
            (OpKind::Broadcast, Ok(Response::Broadcast(b))) => Some(b.recipients),
            _ => None,
        }
    }
}

/// One kind's schedule for a traffic phase, and one driver's share of it.
#[derive(Debug, Clone, Copy)]
pub struct OpSpec {
    /// The kind.
    pub kind: OpKind,
    /// When each operation is due (its texts are unused).
    pub schedule: Schedule,
    /// The driver's first operation.
    pub first: u64,
    /// Operations between two of the driver's (the number of drivers sharing the kind).
    pub step: u64,
}

/// What one kind of operation came to on one driver (or, merged, on all).
#[derive(Debug, Clone)]
pub struct OpOutcome {
    /// The kind.
    pub kind: OpKind,
    /// Due time → answer, microseconds, of measured operations answered successfully.
    pub latency: Histogram<u64>,
    /// Sent → answer (uncorrected).
    pub from_send: Histogram<u64>,
    /// Requests queued.
    pub sent: u64,
    /// Successful answers.
    pub ok: u64,
    /// Answered with an error (or an unexpected response).
    pub failed: u64,
    /// Sent and never answered (connection lost, or the drain ended).
    pub unanswered: u64,
    /// Never sent (no agent connection, or the deadline).
    pub not_sent: u64,
    /// Items in the successful answers (messages, contacts, recipients).
    pub items: u64,
    /// Failures by `Request:ERROR_CODE` (failed, unanswered and not sent).
    pub errors: FailureCounts,
    /// Queued within the measured window.
    pub sent_in_window: u64,
    /// Successful answers within the measured window.
    pub ok_in_window: u64,
}

impl OpOutcome {
    /// Nothing yet.
    pub fn new(kind: OpKind) -> OpOutcome {
        OpOutcome {
            kind,
            latency: new_histogram(),
            from_send: new_histogram(),
            sent: 0,
            ok: 0,
            failed: 0,
            unanswered: 0,
            not_sent: 0,
            items: 0,
            errors: FailureCounts::default(),
            sent_in_window: 0,
            ok_in_window: 0,
        }
    }

    /// Folds another driver's outcome of the same kind into this one.
    pub fn merge(&mut self, o: &OpOutcome) {
        // Same bounds everywhere: adding cannot fail.
        let _ = self.latency.add(&o.latency);
        let _ = self.from_send.add(&o.from_send);
        self.sent += o.sent;
        self.ok += o.ok;
        self.failed += o.failed;
        self.unanswered += o.unanswered;
        self.not_sent += o.not_sent;
        self.items += o.items;
        self.errors.merge(&o.errors);
        self.sent_in_window += o.sent_in_window;
        self.ok_in_window += o.ok_in_window;
    }

    /// Counts `n` operations never sent, for `why`.
    pub fn not_sent(&mut self, why: &str, n: u64) {
        if n > 0 {
            self.not_sent += n;
            self.errors
                .add_n(&format!("{}:{why}", self.kind.request_name()), n);
        }
    }

    /// Counts `n` operations sent and never answered, for `why`.
    pub fn unanswered(&mut self, why: &str, n: u64) {
        if n > 0 {
            self.unanswered += n;
            self.errors
                .add_n(&format!("{}:{why}", self.kind.request_name()), n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_ask_about_served_customers() {
        let served = vec![
            CustomerId::Identified("kefu-load-3".into()),
            CustomerId::Identified("kefu-load-7".into()),
        ];
        let Request::History(q) = OpKind::History.request(1, &served, 0xab) else {
            panic!("not History");
        };
        assert_eq!(q.customer, served[1]);
        assert_eq!((q.limit, q.all_time, q.keyword.as_str()), (30, false, ""));
        let Request::History(q) = OpKind::History.request(3, &served, 0xab) else {
            panic!("not History");
        };
        assert_eq!(q.keyword, "000000ab");
        let text = |j| match OpKind::ContactSearch.request(j, &served, 1) {
            Request::SearchContacts(q) => q.text,
            _ => panic!("not SearchContacts"),
        };
        assert_eq!(text(0), "kefu-load");
        assert_eq!(text(1), "kefu-load-3");
        assert_eq!(text(3), "kefu-load-7");
        let Request::History(q) = OpKind::History.request(0, &[], 1) else {
            panic!("not History");
        };
        assert_eq!(q.customer, CustomerId::Identified("kefu-load-0".into()));
        let Request::SubmitBroadcast { draft, otp } = OpKind::Broadcast.request(0, &served, 1)
        else {
            panic!("not SubmitBroadcast");
        };
        assert_eq!((draft.customers.len(), otp), (2, None));
        assert_eq!(
            OpKind::ContactSearch.success(&Ok(Response::Ok)),
            None,
            "the wrong answer is a failure"
        );
    }
}
