//! Hardware tokens across shards, through real sockets against an in-process
//! daemon of two shards: an account on shard 1 binds, calibrates and is refused
//! tokens owned by the token shard (shard 0); two accounts on different shards
//! binding one token at once get exactly one success.

mod support;

use kefu_daemon::accounts::owner_shard;
use kefu_daemon::otp::hotp::{Algorithm, Digits};
use kefu_daemon::otp::totp::Totp;
use kefu_wire::{Client, ErrorCode, Request, Response, SecurityLevel, TokenFileFormat};
use std::num::NonZeroU32;
use support::*;

/// On shard 1 of 2 (checked below): not the token shard.
const FAR: u64 = 820_002;
/// On shard 0 of 2: the token shard's own account.
const NEAR: u64 = 820_001;
/// 20-byte seeds in hex, as a vendor's CSV would carry them.
const SEED_A: &str = "3132333435363738393031323334353637383930";
const SEED_B: &str = "00112233445566778899aabbccddeeff00112233";

fn otp_at(seed_hex: &str, step: u64) -> String {
    let secret: Vec<u8> = (0..seed_hex.len())
        .step_by(2)
        .filter_map(|i| seed_hex.get(i..i + 2))
        .map(|byte| u8::from_str_radix(byte, 16).expect("hex seed"))
        .collect();
    let period = NonZeroU32::new(60).expect("non-zero");
    Totp::new(Algorithm::Sha1, &secret, Digits::SIX, period)
        .code_for_step(step)
        .as_str()
        .to_string()
}

fn now_step() -> u64 {
    u64::try_from(now()).expect("after 1970") / 60
}

fn code(r: Result<Response, kefu_wire::ClientError>) -> ErrorCode {
    match r {
        Ok(r) => panic!("accepted: {r:?}"),
        Err(e) => e.code().unwrap_or_else(|| panic!("no server code: {e:?}")),
    }
}

fn import(admin: &mut Client, csv: &str) -> Result<Response, kefu_wire::ClientError> {
    admin.request(&Request::AdminImportTokens {
        format: TokenFileFormat::Csv,
        data: csv.as_bytes().to_vec(),
        key_hex: None,
        password: None,
    })
}

/// A server with accounts FAR and NEAR and tokens KT-A and KT-B imported.
fn setup() -> (TestServer, Client) {
    assert_eq!(owner_shard(FAR, 2), 1, "FAR is not on the token shard");
    assert_eq!(owner_shard(NEAR, 2), 0, "NEAR is on the token shard");
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, FAR);
    create_account(&mut admin, NEAR);
    let csv = format!("serial,secret\nKT-A,{SEED_A}\nKT-B,{SEED_B}\n");
    assert_eq!(
        import(&mut admin, &csv).expect("imported"),
        Response::TokensImported {
            serials: vec!["KT-A".into(), "KT-B".into()]
        }
    );
    (s, admin)
}

fn boss(s: &TestServer, account: u64) -> Client {
    let mut c = s.client();
    c.login(account, 1001, PASSWORD).expect("1001 logs in");
    c
}

fn bind(serial: &str, code: String) -> Request {
    Request::BindToken {
        agent: 1001,
        serial: serial.into(),
        code,
    }
}

/// An account on shard 1 binds a token of the token shard: its shard knows at
/// once (level high needs 1001 bound, and a login then needs a code); the other
/// account is refused the same token; calibration and unlock of an unbound token
/// and a second import go through the token shard too.
#[test]
fn an_account_off_the_token_shard_binds_and_its_shard_knows() {
    let (s, mut admin) = setup();
    let mut far = boss(&s, FAR);
    let step = now_step();
    assert_eq!(
        far.request(&bind("KT-A", otp_at(SEED_A, step)))
            .expect("bound"),
        Response::Ok
    );
    // Calibrating the unbound KT-B from shard 1: a clock three steps ahead.
    let ahead = now_step() + 3;
    assert_eq!(
        far.request(&Request::CalibrateToken {
            serial: "KT-B".into(),
            code: otp_at(SEED_B, ahead),
            next_code: otp_at(SEED_B, ahead + 1),
        })
        .expect("calibrated"),
        Response::Ok
    );
    assert_eq!(
        far.request(&Request::SetSecurityLevel {
            level: SecurityLevel::High
        })
        .expect("1001 holds a token"),
        Response::Ok
    );
    let login = |otp: Option<String>| {
        s.client().request(&Request::Login {
            account: FAR,
            agent: 1001,
            password: PASSWORD.into(),
            otp,
        })
    };
    assert_eq!(code(login(None)), ErrorCode::OTP_REQUIRED);
    assert!(matches!(
        login(Some(otp_at(SEED_A, now_step() + 1))),
        Ok(Response::LoggedIn(_))
    ));
    let mut near = boss(&s, NEAR);
    assert_eq!(
        code(near.request(&bind("KT-A", otp_at(SEED_A, now_step())))),
        ErrorCode::ALREADY_EXISTS
    );
    assert_eq!(
        admin
            .request(&Request::AdminUnlockToken {
                serial: "KT-B".into()
            })
            .expect("unlocked"),
        Response::Ok
    );
    assert_eq!(
        code(import(
            &mut admin,
            &format!("serial,secret\nKT-B,{SEED_B}\n")
        )),
        ErrorCode::ALREADY_EXISTS
    );
}

/// Two accounts on different shards bind the same token at the same time:
/// exactly one succeeds, the other is told the token is taken.
#[test]
fn two_shards_bind_one_token_at_once_exactly_one_wins() {
    let (s, _admin) = setup();
    let code_now = otp_at(SEED_A, now_step());
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let racers: Vec<_> = [FAR, NEAR]
        .into_iter()
        .map(|account| {
            let mut c = boss(&s, account);
            let barrier = std::sync::Arc::clone(&barrier);
            let request = bind("KT-A", code_now.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (account, c.request(&request))
            })
        })
        .collect();
    let results: Vec<(u64, Result<Response, kefu_wire::ClientError>)> = racers
        .into_iter()
        .map(|r| r.join().expect("racer finished"))
        .collect();
    let winners: Vec<u64> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(account, _)| *account)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (account, result) in results {
        if let Err(e) = result {
            assert_eq!(
                e.code(),
                Some(ErrorCode::ALREADY_EXISTS),
                "{account}: {e:?}"
            );
        }
    }
    // The loser's shard agrees: its 1001 holds nothing to unbind.
    let loser = if winners.first() == Some(&FAR) {
        NEAR
    } else {
        FAR
    };
    assert_eq!(
        code(boss(&s, loser).request(&Request::UnbindToken { agent: 1001 })),
        ErrorCode::TOKEN_UNKNOWN
    );
}
