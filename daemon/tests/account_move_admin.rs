//! The move's admin requests between two daemons, without etcd (wire/PROTOCOL.md 40.6):
//! a frozen account's requests are answered `ACCOUNT_MOVING`; its keys copied page by
//! page from one admin socket to the other serve the same agent there; the source's
//! `AdminAccountMoved` sends the logged-in connection `GoAwayTo` the target and a new
//! login there is followed by the client; bad input gets its own code and changes
//! nothing. (The whole move under load, with etcd and kefuctl: `cluster_move.rs`.)

mod support;

use kefu_wire::{ClientError, ErrorCode, Request, Response};
use std::time::{Duration, Instant};
use support::*;

const ACCOUNT: u64 = 884_001;

fn code(r: Result<Response, ClientError>) -> Option<ErrorCode> {
    r.err().and_then(|e| e.code())
}

#[test]
fn an_account_frozen_copied_and_redirected_between_two_daemons() {
    let source = TestServer::start();
    let target = TestServer::start();
    let (mut sa, mut ta) = (source.admin(), target.admin());
    create_account(&mut sa, ACCOUNT);
    let mut agent = source.client();
    agent.login(ACCOUNT, 1001, PASSWORD).expect("login");

    // Bad input: its own code each, nothing changed.
    let unknown = Request::AdminFreezeAccount {
        account: 1,
        frozen: true,
    };
    assert_eq!(code(sa.request(&unknown)), Some(ErrorCode::UNKNOWN_ACCOUNT));
    let unknown = Request::AdminExportAccount {
        account: 1,
        after: None,
    };
    assert_eq!(code(sa.request(&unknown)), Some(ErrorCode::UNKNOWN_ACCOUNT));
    let bad_address = Request::AdminAccountMoved {
        account: ACCOUNT,
        address: "nowhere".into(),
    };
    assert_eq!(
        code(sa.request(&bad_address)),
        Some(ErrorCode::INVALID_ARGUMENT)
    );
    let foreign = Request::AdminImportAccount {
        account: ACCOUNT,
        entries: vec![kefu_wire::account_move::AccountEntry {
            cf: "accounts".into(),
            key: 1u64.to_be_bytes().to_vec(),
            value: vec![1],
        }],
        first: true,
    };
    assert_eq!(code(ta.request(&foreign)), Some(ErrorCode::FOREIGN_ENTRY));
    let unknown_cf = Request::AdminImportAccount {
        account: ACCOUNT,
        entries: vec![kefu_wire::account_move::AccountEntry {
            cf: "meta".into(),
            key: ACCOUNT.to_be_bytes().to_vec(),
            value: vec![1],
        }],
        first: true,
    };
    assert_eq!(
        code(ta.request(&unknown_cf)),
        Some(ErrorCode::FOREIGN_ENTRY)
    );
    assert_eq!(
        code(ta.request(&Request::AdminExportAccount {
            account: ACCOUNT,
            after: None
        })),
        Some(ErrorCode::UNKNOWN_ACCOUNT),
        "the refused imports wrote nothing"
    );
    assert_eq!(agent.request(&Request::WhoAmI).map(|_| ()).ok(), Some(()));

    // Frozen: the agent's requests are refused, retryably.
    let freeze = Request::AdminFreezeAccount {
        account: ACCOUNT,
        frozen: true,
    };
    assert_eq!(sa.request(&freeze).unwrap(), Response::Ok);
    assert_eq!(
        code(agent.request(&Request::ListAgents)),
        Some(ErrorCode::ACCOUNT_MOVING)
    );

    // The copy: every key, once; a second first page is refused.
    let entries = exported(&mut sa, ACCOUNT);
    assert!(entries.iter().any(|e| e.cf == "accounts"), "{entries:?}");
    let import = |entries, first| Request::AdminImportAccount {
        account: ACCOUNT,
        entries,
        first,
    };
    assert_eq!(
        ta.request(&import(entries.clone(), true)).unwrap(),
        Response::Ok
    );
    assert_eq!(
        code(ta.request(&import(entries.clone(), true))),
        Some(ErrorCode::ACCOUNT_PRESENT)
    );
    assert_eq!(
        exported(&mut ta, ACCOUNT),
        entries,
        "the target holds the same keys"
    );

    // The switch: the logged-in agent is told where to go, and a new login follows.
    let moved = Request::AdminAccountMoved {
        account: ACCOUNT,
        address: target.addr().to_string(),
    };
    assert_eq!(sa.request(&moved).unwrap(), Response::Ok);
    let deadline = Instant::now() + Duration::from_secs(10);
    let told = loop {
        match agent.next_push(Duration::from_millis(100)) {
            Err(ClientError::Redirected(to)) => break to,
            Ok(_) if Instant::now() < deadline => {}
            other => panic!("expected GoAwayTo, got {other:?}"),
        }
    };
    assert_eq!(told.code, ErrorCode::ACCOUNT_MOVED);
    assert_eq!(told.address, target.addr().to_string());
    // Still frozen at the target until the operator's thaw.
    let thaw = Request::AdminFreezeAccount {
        account: ACCOUNT,
        frozen: false,
    };
    assert_eq!(ta.request(&thaw).unwrap(), Response::Ok);
    let mut again = source.client();
    again
        .login(ACCOUNT, 1001, PASSWORD)
        .expect("login via the source");
    assert_eq!(again.server_addr(), Some(target.addr()));
    assert!(matches!(
        again.request(&Request::ListAgents),
        Ok(Response::Agents(_))
    ));
}
