//! Deleting an account (E6, wire/PROTOCOL.md section 20.2) in memory against the
//! centre over a store that can refuse writes: a refused deletion leaves the account
//! whole on the disk and reloadable; a committed one leaves no key of it in any column
//! family, ends its sessions, and refuses further requests for it in the same turn.

mod centre_support;

use centre_support::*;
use kefu_daemon::store::keys::AFTER_ALL_KEYS;
use kefu_daemon::store::{self, Cf, KvStore};
use kefu_wire::{ErrorCode, Request, Response, TokenFileFormat};

const ACCOUNT: u64 = 880_001;
const OTHER: u64 = 880_002;

/// Keys of `account` in the account-scoped column families.
fn keys_of(store: &dyn KvStore, account: u64) -> usize {
    Cf::ALL
        .into_iter()
        .map(|cf| {
            store
                .scan(cf, &[], &AFTER_ALL_KEYS, usize::MAX)
                .unwrap()
                .iter()
                .filter(|(k, _)| cf.account_of(k) == Some(account))
                .count()
        })
        .sum()
}

fn two_accounts() -> (Harness, usize, usize) {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    h.create_account_for_a_year(OTHER);
    h.add_agent(ACCOUNT, 1002);
    let (agent, _) = h.agent(ACCOUNT, 1001);
    let customer = h.customer(ACCOUNT, "zhangsan");
    (h, agent, customer)
}

#[test]
fn a_refused_deletion_leaves_the_account_whole() {
    let (mut h, agent, _customer) = two_accounts();
    let before = keys_of(h.store.as_ref(), ACCOUNT);
    assert!(before > 0);
    h.store.fail_next_write();
    let admin = h.admin;
    let code = h.refused(admin, Request::AdminDeleteAccount { account: ACCOUNT });
    assert_eq!(code, ErrorCode::STORAGE_FAILURE);
    assert_eq!(keys_of(h.store.as_ref(), ACCOUNT), before);
    // Reloaded from the disk, whole: its agents are all there.
    match h.ok(admin, Request::AdminListAgents { account: ACCOUNT }) {
        Response::Agents(agents) => assert_eq!(agents.len(), 2, "{agents:?}"),
        other => panic!("{other:?}"),
    }
    // Its sessions were ended with the attempt (said in PROTOCOL.md section 20.2).
    assert_eq!(h.conn(agent).goaway, Some(ErrorCode::UNKNOWN_ACCOUNT));
    // A fresh centre over the same store sees the same account.
    let mut fresh = h.reopened();
    let admin = fresh.admin;
    assert!(matches!(
        fresh.ok(admin, Request::AdminShowAccount { account: ACCOUNT }),
        Response::Account(_)
    ));
}

#[test]
fn a_committed_deletion_removes_every_key_and_refuses_the_rest_of_the_turn() {
    let (mut h, agent, customer) = two_accounts();
    let other_keys = keys_of(h.store.as_ref(), OTHER);
    let admin = h.admin;
    let (ids, _) = h.turn(|h| {
        (
            h.send(admin, Request::AdminDeleteAccount { account: ACCOUNT }),
            h.send(admin, Request::AdminShowAccount { account: ACCOUNT }),
        )
    });
    let deleted = h.wait_answer(ids.0);
    assert_eq!(
        deleted,
        Ok(Response::AccountDeleted {
            sessions_closed: 2,
            tokens_removed: 0
        })
    );
    let shown = h.wait_answer(ids.1).unwrap_err();
    assert_eq!(shown.code, ErrorCode::UNKNOWN_ACCOUNT);
    assert_eq!(keys_of(h.store.as_ref(), ACCOUNT), 0);
    assert_eq!(keys_of(h.store.as_ref(), OTHER), other_keys);
    for idx in [agent, customer] {
        assert_eq!(
            h.conn(idx).goaway,
            Some(ErrorCode::UNKNOWN_ACCOUNT),
            "{idx}"
        );
    }
    let code = h.refused(admin, Request::AdminShowAccount { account: ACCOUNT });
    assert_eq!(code, ErrorCode::UNKNOWN_ACCOUNT);
    let mut fresh = h.reopened();
    let admin = fresh.admin;
    let code = fresh.refused(admin, Request::AdminShowAccount { account: ACCOUNT });
    assert_eq!(code, ErrorCode::UNKNOWN_ACCOUNT);
    assert!(matches!(
        fresh.ok(admin, Request::AdminShowAccount { account: OTHER }),
        Response::Account(_)
    ));
}

/// The hardware tokens bound to the account's agents go with it (the store-wide
/// `tokens` column family); an unbound token and another account's stay.
#[test]
fn a_deleted_accounts_bound_tokens_are_removed() {
    let (mut h, boss, _customer) = two_accounts();
    let admin = h.admin;
    let csv = format!("serial,secret\nKT-A,{SEED}\nKT-B,{SEED}\nKT-C,{SEED}\n");
    h.ok(
        admin,
        Request::AdminImportTokens {
            format: TokenFileFormat::Csv,
            data: csv.into_bytes(),
            key_hex: None,
            password: None,
        },
    );
    let step = u64::try_from(h.now_secs()).unwrap() / 60;
    let bind = |serial: &str, code: String| Request::BindToken {
        agent: 1001,
        serial: serial.into(),
        code,
    };
    assert_eq!(h.ok(boss, bind("KT-A", otp_at(step))), Response::Ok);
    let (other_boss, _) = h.agent(OTHER, 1001);
    assert_eq!(
        h.ok(other_boss, bind("KT-B", otp_at(step + 1))),
        Response::Ok
    );

    let deleted = h.ok(admin, Request::AdminDeleteAccount { account: ACCOUNT });
    assert!(
        matches!(
            deleted,
            Response::AccountDeleted {
                tokens_removed: 1,
                ..
            }
        ),
        "{deleted:?}"
    );
    let token = |h: &Harness, serial: &str| {
        store::load_token(h.store.as_ref(), serial)
            .unwrap()
            .map(|t| t.bound)
    };
    assert_eq!(token(&h, "KT-A"), None, "the deleted account's token");
    assert_eq!(token(&h, "KT-B"), Some(Some((OTHER, 1001))));
    assert_eq!(token(&h, "KT-C"), Some(None));
    assert_eq!(keys_of(h.store.as_ref(), ACCOUNT), 0);
}
