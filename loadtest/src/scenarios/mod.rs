//! Scenarios: each composes provisioning, driver phases and a report for one question.
//!
//! A scenario owns its order of phases and its report; the driver, the
//! population and the report pieces are shared. To add one: a module here, a
//! variant of `cli::Command`, a plan type in `cli`, and a report type.
//!
//! - [`logins`]: how fast agents log in with a password, how fast they all
//!   reconnect with a token, and what an idle logged-in connection costs.
//! - [`chat`]: how many customer messages per second the daemon stores and
//!   delivers to agents, how fast, and whether every one arrives exactly once.
//! - [`crash_loop`]: the daemon killed with SIGKILL and restarted on its data over and
//!   over under chat traffic: is every acknowledged message stored and delivered exactly
//!   once, and how long does a restart take.
//! - [`pair`]: chat at a pair of appliances whose primary is killed with SIGKILL: how
//!   long the failover takes for the clients, is every acknowledged message there
//!   exactly once, and how far the standby lagged.

pub mod chat;
pub mod crash_loop;
pub mod logins;
pub mod pair;

use kefu_wire::chat::MessageInfo;
use kefu_wire::{ClientError, Request, Response};

/// Every message of `conversation` after message id `after`, read a page of 500 at a
/// time through `ask` (a `Client`'s or a `PairClient`'s request): how the crash and
/// failover scenarios check what the daemon stored.
pub fn all_messages(
    mut ask: impl FnMut(&Request) -> Result<Response, ClientError>,
    conversation: u64,
    mut after: u64,
) -> Result<Vec<MessageInfo>, ClientError> {
    let mut out = Vec::new();
    loop {
        let page = match ask(&Request::ConversationMessages {
            conversation,
            after,
            limit: 500,
        })? {
            Response::Messages(list) => list,
            other => return Err(ClientError::Unexpected(format!("{other:?}"))),
        };
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = last.id;
        out.extend(page);
    }
}
