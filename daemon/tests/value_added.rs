//! Value-added services through a real kefud and the client library (issue 15): the
//! balance in units and the points (V6; wire/PROTOCOL.md section 29), who may see it
//! (V7: permission 10 and the security level's token rule). After every test the
//! daemon is stopped and its ledger is recomputed from the stored entries
//! (`check_ledger`): the balance equals top-ups − settled − reserved.

mod support;

use kefu_wire::valueadded::{BalanceInfo, MAX_BALANCE_UNITS, MAX_TOPUP_UNITS};
use kefu_wire::{Client, ErrorCode, Request, Response, SecurityLevel};
use support::*;

const ACCOUNT: u64 = 870_001;

fn balance(r: Result<Response, kefu_wire::ClientError>) -> BalanceInfo {
    match r.expect("answered") {
        Response::Balance(b) => b,
        other => panic!("{other:?}"),
    }
}

fn top_up(admin: &mut Client, units: u64) -> Result<Response, kefu_wire::ClientError> {
    admin.request(&Request::AdminBalanceTopUp {
        account: ACCOUNT,
        units,
    })
}

fn show(admin: &mut Client) -> BalanceInfo {
    balance(admin.request(&Request::AdminBalanceShow { account: ACCOUNT }))
}

#[test]
fn the_operator_tops_up_and_the_balance_survives_a_restart() {
    let mut s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    assert_eq!(show(&mut admin), BalanceInfo::default());
    let b = balance(top_up(&mut admin, 1_000));
    assert_eq!(
        b,
        BalanceInfo {
            available: 1_000,
            topped_up: 1_000,
            ..BalanceInfo::default()
        }
    );
    // Bad top-ups are refused with their own codes and change nothing.
    assert_eq!(code(top_up(&mut admin, 0)), ErrorCode::INVALID_ARGUMENT);
    assert_eq!(
        code(top_up(&mut admin, MAX_TOPUP_UNITS + 1)),
        ErrorCode::INVALID_ARGUMENT
    );
    assert_eq!(
        code(admin.request(&Request::AdminBalanceTopUp {
            account: 870_999,
            units: 5,
        })),
        ErrorCode::UNKNOWN_ACCOUNT
    );
    let mut held = 1_000;
    while held + MAX_TOPUP_UNITS <= MAX_BALANCE_UNITS {
        balance(top_up(&mut admin, MAX_TOPUP_UNITS));
        held += MAX_TOPUP_UNITS;
    }
    assert_eq!(
        code(top_up(&mut admin, MAX_TOPUP_UNITS)),
        ErrorCode::BALANCE_LIMIT
    );
    assert_eq!(show(&mut admin).available, held);
    drop(admin);
    s.restart();
    let mut admin = s.admin();
    assert_eq!(show(&mut admin).topped_up, held);
    balance(top_up(&mut admin, 1));
    drop(admin);
    let [b] = ledger_balances(&mut s, &[ACCOUNT])[..] else {
        panic!()
    };
    assert_eq!((b.available, b.points), (held + 1, 0));
}

#[test]
fn an_agent_sees_the_balance_with_permission_10_and_the_token_rule() {
    let mut s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some("password 1002"));
    balance(top_up(&mut admin, 30));
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let mut a = s.client();
    a.login(ACCOUNT, 1002, "password 1002").unwrap();
    let get = Request::GetBalance { otp: None };
    assert_eq!(code(a.request(&get)), ErrorCode::PERMISSION_DENIED);
    give_role(&mut boss, 1002, &[10]);
    // Level medium (the default): a token code is needed, and 1002 holds no token.
    assert_eq!(code(a.request(&get)), ErrorCode::OTP_REQUIRED);
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::Low,
    })
    .unwrap();
    assert_eq!(balance(a.request(&get)).available, 30);
    drop((a, boss, admin));
    ledger_balances(&mut s, &[ACCOUNT]);
}
