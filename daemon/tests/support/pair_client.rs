//! Chat through the client library's `PairClient` for the cluster tests (`failover.rs`,
//! `rejoin.rs`, `cluster_move.rs`): the account and an agent taking its conversations
//! on a primary, customers that log in (again) by themselves on whichever address
//! serves, and a conversation's texts as a participant reads them.

use super::pair::Member;
use super::{create_account, customer_key, login_customer, now, open, opts, PASSWORD};
use kefu_wire::chat::MessageBody;
use kefu_wire::pair::{LoginStep, PairClient};
use kefu_wire::{Client, Request, Response};
use std::net::SocketAddr;
use std::time::Duration;

/// Creates `account` on `primary`, with agent 1001 taking conversations (auto-accept);
/// the account's customer key.
pub fn account_with_agent(primary: &Member, account: u64) -> [u8; 32] {
    let mut admin = primary.admin();
    create_account(&mut admin, account);
    let key = customer_key(&mut admin, account);
    let mut agent = Client::connect(primary.client, opts()).expect("agent");
    agent.login(account, 1001, PASSWORD).expect("agent login");
    agent
        .request(&Request::SetAutoAccept { cap: 50 })
        .expect("auto-accept");
    key
}

/// Customer `id` of `account` connected to `addr` only (it sees that member's refusals:
/// no failover), logged in with a token signed by `key`, with a conversation opened;
/// the client and the conversation.
pub fn customer_on(addr: SocketAddr, account: u64, key: [u8; 32], id: &str) -> (Client, u64) {
    let mut customer = login_customer(
        Client::connect(addr, opts()).expect("customer connect"),
        &key,
        account,
        id,
        now() + 3600,
    );
    let conversation = open(&mut customer).conversation;
    (customer, conversation)
}

/// Customer `id` of `account` logging in with a token signed by `key`.
pub fn customer_login(account: u64, key: [u8; 32], id: &str) -> LoginStep {
    let id = id.to_string();
    Box::new(move |c: &mut Client| {
        let expires_at = now() + 3600;
        c.request(&Request::CustomerLogin {
            account,
            customer: id.clone(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(&key, account, &id, expires_at),
            channel: kefu_wire::chat::Channel::Desktop,
        })
        .map(|_| ())
    })
}

/// A client knowing `addrs` that logs in with `login` wherever it connects.
pub fn pair_client(addrs: &[SocketAddr], login: LoginStep) -> PairClient {
    let mut client_opts = opts();
    client_opts.timeout = Duration::from_secs(15);
    PairClient::new(addrs.to_vec(), client_opts, Duration::from_secs(60), login)
}

/// Customer `id` of `account` on `addrs` (see [`customer_login`]).
pub fn pair_customer(addrs: &[SocketAddr], account: u64, key: [u8; 32], id: &str) -> PairClient {
    pair_client(addrs, customer_login(account, key, id))
}

/// The texts of `conversation`'s messages as `client` (a participant) reads them.
pub fn texts(client: &mut PairClient, conversation: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = match client.request(&Request::ConversationMessages {
            conversation,
            after,
            limit: 500,
        }) {
            Ok(Response::Messages(list)) => list,
            other => panic!("messages: {other:?}"),
        };
        let Some(last) = page.last() else { break };
        after = last.id;
        out.extend(page.into_iter().filter_map(|m| match m.body {
            MessageBody::Text(t) => Some(t),
            _ => None,
        }));
    }
    out
}
