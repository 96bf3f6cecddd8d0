//! Hardware-token binding through the token shard (`centre/token_home.rs`), in
//! memory: the bind is checked and written in the token shard's turn and batch,
//! then adopted by the account's shard from the disk. Two binds of one token (or
//! for one agent) are decided in the token shard's order, and a bind whose commit
//! is refused is answered `STORAGE_FAILURE` with nothing bound anywhere.

mod centre_support;

use centre_support::*;
use kefu_daemon::store;
use kefu_wire::{ErrorCode, Request, Response, TokenFileFormat};

const ACCOUNT: u64 = 880_001;
const OTHER: u64 = 880_002;

fn step(h: &Harness) -> u64 {
    u64::try_from(h.now_secs()).expect("after 1970") / 60
}

fn import(h: &mut Harness, serials: &[&str]) {
    let mut csv = String::from("serial,secret\n");
    for s in serials {
        csv.push_str(&format!("{s},{SEED}\n"));
    }
    let admin = h.admin;
    let imported = h.ok(
        admin,
        Request::AdminImportTokens {
            format: TokenFileFormat::Csv,
            data: csv.into_bytes(),
            key_hex: None,
            password: None,
        },
    );
    assert_eq!(
        imported,
        Response::TokensImported {
            serials: serials.iter().map(|s| s.to_string()).collect()
        }
    );
}

fn bind(agent: u32, serial: &str, code: String) -> Request {
    Request::BindToken {
        agent,
        serial: serial.into(),
        code,
    }
}

/// Who the stored token is bound to.
fn bound_on_disk(h: &Harness, serial: &str) -> Option<(u64, u32)> {
    store::load_token(h.store.as_ref(), serial)
        .expect("store readable")
        .expect("token stored")
        .bound
}

/// The stored agent→token bindings of `account`.
fn agent_tokens_on_disk(h: &Harness, account: u64) -> Vec<(u32, String)> {
    store::load_agent_tokens(h.store.as_ref(), account)
        .expect("store readable")
        .into_iter()
        .map(|r| (r.agent, r.serial))
        .collect()
}

/// A bind goes through the token shard and lands on the disk and in the account's
/// cache (unbinding, which reads the cache, finds it); once unbound and committed,
/// the token shard binds it again, to another agent.
#[test]
fn a_bind_is_written_by_the_token_shard_and_adopted_by_the_account() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    h.add_agent(ACCOUNT, 1002);
    import(&mut h, &["KT-A"]);
    let (boss, _) = h.agent(ACCOUNT, 1001);
    let now = step(&h);
    assert_eq!(
        h.refused(boss, bind(1001, "KT-A", otp_at(now + 20))),
        ErrorCode::OTP_INVALID
    );
    assert_eq!(bound_on_disk(&h, "KT-A"), None);
    assert_eq!(h.ok(boss, bind(1001, "KT-A", otp_at(now))), Response::Ok);
    assert_eq!(bound_on_disk(&h, "KT-A"), Some((ACCOUNT, 1001)));
    assert_eq!(
        agent_tokens_on_disk(&h, ACCOUNT),
        vec![(1001, "KT-A".to_string())]
    );
    // The account's shard knows: a second bind for 1001 is refused before it
    // leaves, and unbinding (from the cache) works.
    assert_eq!(
        h.refused(boss, bind(1001, "KT-A", otp_at(now))),
        ErrorCode::ALREADY_EXISTS
    );
    assert_eq!(
        h.ok(boss, Request::UnbindToken { agent: 1001 }),
        Response::Ok
    );
    assert_eq!(bound_on_disk(&h, "KT-A"), None);
    assert!(agent_tokens_on_disk(&h, ACCOUNT).is_empty());
    h.clock.advance(60_000);
    assert_eq!(
        h.ok(boss, bind(1002, "KT-A", otp_at(step(&h)))),
        Response::Ok
    );
    assert_eq!(bound_on_disk(&h, "KT-A"), Some((ACCOUNT, 1002)));
}

/// Two accounts bind the same token and both binds reach the token shard in one
/// turn: it sees the first's write in its batch, so exactly one wins; a later
/// bind, read from the disk, is refused too.
#[test]
fn two_binds_of_one_token_exactly_one_wins() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    h.create_account_for_a_year(OTHER);
    import(&mut h, &["KT-A"]);
    let (a, _) = h.agent(ACCOUNT, 1001);
    let (b, _) = h.agent(OTHER, 1001);
    let code = otp_at(step(&h));
    let (first, second) = h
        .turn(|h| {
            (
                h.send(a, bind(1001, "KT-A", code.clone())),
                h.send(b, bind(1001, "KT-A", code.clone())),
            )
        })
        .0;
    // Both reach the token shard in one turn, as a loop draining its inbox does.
    h.turn(|h| {
        h.deliver_one();
        h.deliver_one();
    });
    let first = h.wait_answer(first);
    let second = h.wait_answer(second);
    let winners: Vec<u64> = [(ACCOUNT, &first), (OTHER, &second)]
        .iter()
        .filter(|(_, answer)| answer.is_ok())
        .map(|(account, _)| *account)
        .collect();
    assert_eq!(winners.len(), 1, "{first:?} {second:?}");
    let loser = if first.is_ok() { &second } else { &first };
    assert_eq!(
        loser.as_ref().map_err(|e| e.code).err(),
        Some(ErrorCode::ALREADY_EXISTS)
    );
    let winner = winners.first().copied().expect("one winner");
    assert_eq!(bound_on_disk(&h, "KT-A"), Some((winner, 1001)));
    let (loser_account, loser_conn) = if winner == ACCOUNT {
        (OTHER, b)
    } else {
        (ACCOUNT, a)
    };
    assert!(agent_tokens_on_disk(&h, loser_account).is_empty());
    assert_eq!(
        h.refused(loser_conn, Request::UnbindToken { agent: 1001 }),
        ErrorCode::TOKEN_UNKNOWN
    );
    h.clock.advance(60_000);
    assert_eq!(
        h.refused(loser_conn, bind(1001, "KT-A", otp_at(step(&h)))),
        ErrorCode::ALREADY_EXISTS
    );
}

/// Two binds for one agent (two serials) in flight, run by the token shard in one
/// turn: it sees the first binding in its batch and refuses the second.
#[test]
fn two_binds_for_one_agent_in_flight_one_wins() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    import(&mut h, &["KT-A", "KT-B"]);
    let (boss, _) = h.agent(ACCOUNT, 1001);
    let code = otp_at(step(&h));
    let (first, second) = h
        .turn(|h| {
            (
                h.send(boss, bind(1001, "KT-A", code.clone())),
                h.send(boss, bind(1001, "KT-B", code.clone())),
            )
        })
        .0;
    h.turn(|h| {
        h.deliver_one();
        h.deliver_one();
    });
    assert_eq!(h.wait_answer(first), Ok(Response::Ok));
    assert_eq!(
        h.wait_answer(second).map_err(|e| e.code),
        Err(ErrorCode::ALREADY_EXISTS)
    );
    assert_eq!(bound_on_disk(&h, "KT-A"), Some((ACCOUNT, 1001)));
    assert_eq!(bound_on_disk(&h, "KT-B"), None);
    assert_eq!(
        agent_tokens_on_disk(&h, ACCOUNT),
        vec![(1001, "KT-A".to_string())]
    );
}

/// The token shard's commit is refused: the bind is answered STORAGE_FAILURE, the
/// token is not bound, the agent holds nothing (on the disk and in the account's
/// cache), and the same bind then succeeds.
#[test]
fn a_bind_whose_commit_fails_binds_nothing() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    import(&mut h, &["KT-A"]);
    let (boss, _) = h.agent(ACCOUNT, 1001);
    let code = otp_at(step(&h));
    let writes = h.store.writes();
    let sent = h.turn(|h| h.send(boss, bind(1001, "KT-A", code.clone()))).0;
    assert_eq!(
        h.store.writes(),
        writes,
        "the account's shard writes nothing for a bind"
    );
    // The next write is the token shard's batch.
    h.store.fail_next_write();
    assert_eq!(
        h.wait_answer(sent).map_err(|e| e.code),
        Err(ErrorCode::STORAGE_FAILURE)
    );
    assert!(
        h.turns.iter().any(|t| t.refused),
        "the token shard's commit was refused"
    );
    assert_eq!(bound_on_disk(&h, "KT-A"), None);
    assert!(agent_tokens_on_disk(&h, ACCOUNT).is_empty());
    assert_eq!(
        h.refused(boss, Request::UnbindToken { agent: 1001 }),
        ErrorCode::TOKEN_UNKNOWN
    );
    assert_eq!(h.ok(boss, bind(1001, "KT-A", code)), Response::Ok);
    assert_eq!(bound_on_disk(&h, "KT-A"), Some((ACCOUNT, 1001)));
}

/// Calibrating and unlocking an unbound token run on the token shard too; a
/// calibration whose commit is refused answers STORAGE_FAILURE.
#[test]
fn unbound_calibration_and_unlock_go_through_the_token_shard() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    import(&mut h, &["KT-A"]);
    let (boss, _) = h.agent(ACCOUNT, 1001);
    let now = step(&h);
    let calibrate = |code: u64, next: u64| Request::CalibrateToken {
        serial: "KT-A".into(),
        code: otp_at(code),
        next_code: otp_at(next),
    };
    let sent = h.turn(|h| h.send(boss, calibrate(now + 3, now + 4))).0;
    h.store.fail_next_write();
    assert_eq!(
        h.wait_answer(sent).map_err(|e| e.code),
        Err(ErrorCode::STORAGE_FAILURE)
    );
    assert_eq!(h.ok(boss, calibrate(now + 3, now + 4)), Response::Ok);
    let drift = store::load_token(h.store.as_ref(), "KT-A")
        .expect("store readable")
        .expect("token stored")
        .drift_steps;
    assert_ne!(drift, 0, "the calibration was stored");
    let admin = h.admin;
    assert_eq!(
        h.ok(
            admin,
            Request::AdminUnlockToken {
                serial: "KT-A".into()
            }
        ),
        Response::Ok
    );
    assert_eq!(
        h.refused(
            admin,
            Request::AdminUnlockToken {
                serial: "KT-NONE".into()
            }
        ),
        ErrorCode::TOKEN_UNKNOWN
    );
}
