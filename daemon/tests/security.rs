//! Roles, profiles, tokens, security levels and login throttling, through
//! real sockets against an in-process daemon.

mod support;

use kefu_daemon::auth::{required_access, Access};
use kefu_daemon::otp::hotp::{Algorithm, Digits};
use kefu_daemon::otp::totp::Totp;
use kefu_daemon::store::Permission;
use kefu_wire::chat::{CustomerId, MessageBody, RoutingConfig};
use kefu_wire::crm::{ContactSettings, GroupEdit};
use kefu_wire::{
    AccountCentreModule, AgentProfile, Client, DisplayMode, ErrorCode, Request, Response,
    SecurityLevel, TokenFileFormat,
};
use std::num::NonZeroU32;
use support::*;

const ACCOUNT: u64 = 820_001;
/// 20-byte seeds in hex, as a vendor's CSV would carry them.
const SEED_A: &str = "3132333435363738393031323334353637383930";
const SEED_B: &str = "00112233445566778899aabbccddeeff00112233";

fn code(e: kefu_wire::ClientError) -> ErrorCode {
    e.code()
        .unwrap_or_else(|| panic!("expected a server error code, got {e:?}"))
}

fn totp(seed_hex: &str) -> Totp {
    let secret: Vec<u8> = (0..seed_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&seed_hex[i..i + 2], 16).unwrap())
        .collect();
    Totp::new(
        Algorithm::Sha1,
        &secret,
        Digits::SIX,
        NonZeroU32::new(60).unwrap(),
    )
}

fn now_step() -> u64 {
    now() as u64 / 60
}

fn otp_at(seed: &str, step: u64) -> String {
    totp(seed).code_for_step(step).as_str().to_string()
}

/// A server with account ACCOUNT, agents 1002 and 1003 (passwords set) and two imported tokens.
fn setup() -> (TestServer, Client) {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some("password 1002"));
    add_agent(&mut admin, ACCOUNT, 1003, Some("password 1003"));
    let csv = format!("serial,secret\nKT-A,{SEED_A}\nKT-B,{SEED_B}\n");
    let imported = admin
        .request(&Request::AdminImportTokens {
            format: TokenFileFormat::Csv,
            data: csv.into_bytes(),
            key_hex: None,
            password: None,
        })
        .unwrap();
    assert_eq!(
        imported,
        Response::TokensImported {
            serials: vec!["KT-A".into(), "KT-B".into()]
        }
    );
    (s, admin)
}

fn boss(s: &TestServer) -> Client {
    let mut c = s.client();
    c.login(ACCOUNT, 1001, PASSWORD).unwrap();
    c
}

fn login_otp(
    s: &TestServer,
    agent: u32,
    password: &str,
    otp: Option<String>,
) -> Result<Response, kefu_wire::ClientError> {
    s.client().request(&Request::Login {
        account: ACCOUNT,
        agent,
        password: password.into(),
        otp,
    })
}

#[test]
fn roles_can_be_created_assigned_changed_and_apply_at_once() {
    let (s, _admin) = setup();
    let mut boss = boss(&s);
    let mut agent = s.client();
    agent.login(ACCOUNT, 1002, "password 1002").unwrap();
    let add = Request::AddAgent {
        agent: 1004,
        nickname: "new".into(),
        role: None,
    };
    assert_eq!(
        code(agent.request(&add).unwrap_err()),
        ErrorCode::PERMISSION_DENIED
    );

    let role = match boss
        .request(&Request::CreateRole {
            name: "主管".into(),
            permissions: Permission::SystemSettings.bit(),
        })
        .unwrap()
    {
        Response::Role(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(role.role, 4);
    boss.request(&Request::SetAgentRole {
        agent: 1002,
        role: role.role,
    })
    .unwrap();
    // The very next request of the logged-in agent sees the new role.
    agent.request(&add).expect("granted at once");
    // Revoked while logged in: the next request is refused.
    boss.request(&Request::UpdateRole {
        role: role.role,
        name: "主管".into(),
        permissions: 0,
    })
    .unwrap();
    let add5 = Request::AddAgent {
        agent: 1005,
        nickname: "x".into(),
        role: None,
    };
    assert_eq!(
        code(agent.request(&add5).unwrap_err()),
        ErrorCode::PERMISSION_DENIED
    );

    match boss.request(&Request::ListRoles).unwrap() {
        Response::Roles(roles) => {
            let summary: Vec<(u32, u32)> = roles.iter().map(|r| (r.role, r.agents)).collect();
            assert_eq!(summary, vec![(1, 1), (2, 0), (3, 2), (4, 1)]);
            assert_eq!(roles[2].permissions, (1 << 3) | (1 << 4) | (1 << 7));
        }
        other => panic!("{other:?}"),
    }
    // Rules: no deleting a held or default role, no touching role 1 or agent 1001's role.
    let refusals = [
        (Request::DeleteRole { role: 4 }, ErrorCode::INVALID_ARGUMENT),
        (Request::DeleteRole { role: 3 }, ErrorCode::INVALID_ARGUMENT),
        (Request::DeleteRole { role: 99 }, ErrorCode::NOT_FOUND),
        (
            Request::UpdateRole {
                role: 1,
                name: "x".into(),
                permissions: 0,
            },
            ErrorCode::INVALID_ARGUMENT,
        ),
        (
            Request::UpdateRole {
                role: 77,
                name: "x".into(),
                permissions: 0,
            },
            ErrorCode::NOT_FOUND,
        ),
        (
            Request::SetAgentRole {
                agent: 1001,
                role: 3,
            },
            ErrorCode::INVALID_ARGUMENT,
        ),
        (
            Request::SetAgentRole {
                agent: 1002,
                role: 77,
            },
            ErrorCode::NOT_FOUND,
        ),
        (
            Request::CreateRole {
                name: "主管".into(),
                permissions: 0,
            },
            ErrorCode::ALREADY_EXISTS,
        ),
        (
            Request::CreateRole {
                name: " ".into(),
                permissions: 0,
            },
            ErrorCode::INVALID_ARGUMENT,
        ),
    ];
    for (request, expected) in refusals {
        assert_eq!(
            code(boss.request(&request).unwrap_err()),
            expected,
            "{request:?}"
        );
    }
    boss.request(&Request::SetAgentRole {
        agent: 1002,
        role: 3,
    })
    .unwrap();
    boss.request(&Request::DeleteRole { role: 4 }).unwrap();
}

/// One request of every variant that needs a permission (and a few that do not), for
/// walking the authorisation table. `routing` is the account's routing settings, to set
/// them unchanged.
fn every_request(routing: RoutingConfig) -> Vec<Request> {
    let customer = || CustomerId::Identified("walk-customer".into());
    vec![
        Request::ListAgents,
        Request::WhoAmI,
        Request::AddAgent {
            agent: 1009,
            nickname: "n".into(),
            role: None,
        },
        Request::SetAgentPassword {
            agent: 1003,
            new_password: "another one".into(),
            super_password: SUPER.into(),
        },
        Request::ListRoles,
        Request::CreateRole {
            name: "walk".into(),
            permissions: 0,
        },
        Request::UpdateRole {
            role: 3,
            name: "客服".into(),
            permissions: (1 << 3) | (1 << 4) | (1 << 7),
        },
        Request::DeleteRole { role: 50 },
        Request::SetAgentRole {
            agent: 1003,
            role: 3,
        },
        Request::GetAgentProfile { agent: 1003 },
        Request::SetAgentProfile {
            agent: 1003,
            profile: AgentProfile {
                nickname: "n".into(),
                group: String::new(),
                display: DisplayMode::Nickname,
                phone: String::new(),
            },
        },
        Request::GetSecurity,
        Request::GrabConversation {
            conversation: 1,
            confirmed: true,
        },
        Request::BindToken {
            agent: 1003,
            serial: "KT-B".into(),
            code: "000000".into(),
        },
        Request::UnbindToken { agent: 1003 },
        Request::CalibrateToken {
            serial: "KT-B".into(),
            code: "000000".into(),
            next_code: "000000".into(),
        },
        // The CRM's.
        Request::ImportContacts {
            chunk: b"id,real_name\nwalk-1,walk\n".to_vec(),
            first: true,
            last: true,
        },
        Request::DeleteContacts {
            customers: vec![customer()],
        },
        Request::EditGroups(GroupEdit::CreateCategory {
            name: "walk".into(),
        }),
        Request::SetContactSettings {
            settings: ContactSettings::default(),
        },
        Request::SetRoutingSettings { settings: routing },
        // Quick replies, analytics, broadcasts, the account centre.
        Request::SetQuickReplies {
            shared: true,
            replies: vec![],
        },
        Request::SetQuickReplies {
            shared: false,
            replies: vec![],
        },
        Request::ListQuickReplies,
        Request::GetAnalytics {
            from: now() - 86_400,
            until: now(),
        },
        // Allowed: BROADCAST_RETIRED (the old immediate send is refused after the
        // permission check, section 30.5); anything but PERMISSION_DENIED.
        Request::Broadcast {
            groups: vec![],
            customers: vec![customer()],
            body: MessageBody::Text("walk".into()),
            otp: None,
        },
        Request::AccountCentreTicket {
            module: AccountCentreModule::AccountInfo,
        },
        Request::AccountCentreTicket {
            module: AccountCentreModule::EnterpriseSpace,
        },
        Request::AccountCentreTicket {
            module: AccountCentreModule::Campaigns,
        },
        Request::AccountCentreTicket {
            module: AccountCentreModule::ServiceConfig,
        },
        Request::SetAccountPresenceMode {
            mode: kefu_wire::chat::AccountPresenceMode::FromAgents,
        },
    ]
}

#[test]
fn every_permission_in_the_table_is_denied_without_it_and_allowed_with_it() {
    let (s, _admin) = setup();
    let mut boss = boss(&s);
    let mut checked = std::collections::BTreeSet::new();
    let routing = match boss.request(&Request::GetRoutingSettings).unwrap() {
        Response::RoutingSettings(r) => r,
        other => panic!("{other:?}"),
    };
    for request in every_request(routing) {
        let Access::Permission(p) = required_access(&request) else {
            continue;
        };
        checked.insert(p.number());
        // 1002 gets a role with every permission but p, then one with only p.
        for (permissions, allowed) in [(!p.bit(), false), (p.bit(), true)] {
            let name = format!("walk {} {allowed}", p.number());
            let role = match boss
                .request(&Request::CreateRole { name, permissions })
                .unwrap()
            {
                Response::Role(r) => r.role,
                other => panic!("{other:?}"),
            };
            boss.request(&Request::SetAgentRole { agent: 1002, role })
                .unwrap();
            let mut agent = s.client();
            agent.login(ACCOUNT, 1002, "password 1002").unwrap();
            let answer = agent.request(&request);
            let denied =
                matches!(&answer, Err(e) if e.code() == Some(ErrorCode::PERMISSION_DENIED));
            assert_eq!(
                denied, !allowed,
                "{request:?} with permissions {permissions:#06x}: {answer:?}"
            );
            boss.request(&Request::SetAgentRole {
                agent: 1002,
                role: 3,
            })
            .unwrap();
            boss.request(&Request::DeleteRole { role }).unwrap();
        }
    }
    // Every permission that guards a request; 3, 4 and 5 govern what an agent sees
    // (queue, contacts, history), not whether it may ask, and are tested with those.
    assert_eq!(
        checked,
        std::collections::BTreeSet::from([1, 2, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]),
        "the table's permissions were walked"
    );
}

#[test]
fn agent_profiles_are_kept_and_checked() {
    let (mut s, _admin) = setup();
    let mut agent = s.client();
    agent.login(ACCOUNT, 1002, "password 1002").unwrap();
    let mine = AgentProfile {
        nickname: "小李".into(),
        group: "售后".into(),
        display: DisplayMode::AgentNumber,
        phone: "+86 138-0000".into(),
    };
    agent
        .request(&Request::SetAgentProfile {
            agent: 1002,
            profile: mine.clone(),
        })
        .unwrap();
    let other = Request::SetAgentProfile {
        agent: 1003,
        profile: mine.clone(),
    };
    assert_eq!(
        code(agent.request(&other).unwrap_err()),
        ErrorCode::PERMISSION_DENIED
    );
    let bad_phone = AgentProfile {
        phone: "call me".into(),
        ..mine.clone()
    };
    assert_eq!(
        code(
            agent
                .request(&Request::SetAgentProfile {
                    agent: 1002,
                    profile: bad_phone
                })
                .unwrap_err()
        ),
        ErrorCode::INVALID_ARGUMENT
    );
    drop(agent);
    s.restart();
    let mut boss = boss(&s);
    assert_eq!(
        boss.request(&Request::GetAgentProfile { agent: 1002 })
            .unwrap(),
        Response::Profile(mine)
    );
    assert_eq!(
        code(
            boss.request(&Request::GetAgentProfile { agent: 1999 })
                .unwrap_err()
        ),
        ErrorCode::UNKNOWN_AGENT
    );
}

#[test]
fn binding_needs_a_current_code_and_level_high_needs_1001_bound() {
    let (s, _admin) = setup();
    let mut boss = boss(&s);
    assert_eq!(
        code(
            boss.request(&Request::SetSecurityLevel {
                level: SecurityLevel::High
            })
            .unwrap_err()
        ),
        ErrorCode::INVALID_ARGUMENT
    );
    let step = now_step();
    let wrong = format!(
        "{:06}",
        (otp_at(SEED_A, step).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let bind = |code: String| Request::BindToken {
        agent: 1001,
        serial: "KT-A".into(),
        code,
    };
    assert_eq!(code_of(boss.request(&bind(wrong))), ErrorCode::OTP_INVALID);
    assert_eq!(
        code_of(boss.request(&Request::BindToken {
            agent: 1001,
            serial: "NOPE".into(),
            code: "123456".into()
        })),
        ErrorCode::TOKEN_UNKNOWN
    );
    boss.request(&bind(otp_at(SEED_A, step)))
        .expect("bind with the current code");
    // The token is taken, and 1001 holds one already.
    assert_eq!(
        code_of(boss.request(&Request::BindToken {
            agent: 1002,
            serial: "KT-A".into(),
            code: otp_at(SEED_A, step + 1)
        })),
        ErrorCode::ALREADY_EXISTS
    );
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::High,
    })
    .unwrap();
    match boss.request(&Request::GetSecurity).unwrap() {
        Response::Security(info) => {
            assert_eq!(info.level, SecurityLevel::High);
            assert_eq!(info.token_serial.as_deref(), Some("KT-A"));
        }
        other => panic!("{other:?}"),
    }
    // At level high an agent without a token cannot log in with its password.
    assert_eq!(
        code(
            s.client()
                .login(ACCOUNT, 1002, "password 1002")
                .unwrap_err()
        ),
        ErrorCode::OTP_REQUIRED
    );
    // Only 1001 sets the level.
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::Low,
    })
    .unwrap();
    let mut agent = s.client();
    agent.login(ACCOUNT, 1002, "password 1002").unwrap();
    let high = Request::SetSecurityLevel {
        level: SecurityLevel::High,
    };
    assert_eq!(
        code(agent.request(&high).unwrap_err()),
        ErrorCode::PERMISSION_DENIED
    );
}

fn code_of(r: Result<Response, kefu_wire::ClientError>) -> ErrorCode {
    code(r.expect_err("expected an error"))
}

#[test]
fn level_high_asks_for_codes_refuses_replays_and_survives_a_restart() {
    let (mut s, _admin) = setup();
    let step = now_step();
    {
        let mut boss = boss(&s);
        boss.request(&Request::BindToken {
            agent: 1001,
            serial: "KT-A".into(),
            code: otp_at(SEED_A, step),
        })
        .unwrap();
        boss.request(&Request::SetSecurityLevel {
            level: SecurityLevel::High,
        })
        .unwrap();
    }
    assert_eq!(
        code_of(login_otp(&s, 1001, PASSWORD, None)),
        ErrorCode::OTP_REQUIRED
    );
    assert_eq!(
        code_of(login_otp(&s, 1002, "password 1002", Some("123456".into()))),
        ErrorCode::OTP_REQUIRED
    );
    // The password is checked first.
    assert_eq!(
        code_of(login_otp(&s, 1001, "wrong", Some(otp_at(SEED_A, step + 1)))),
        ErrorCode::WRONG_PASSWORD
    );
    // Bind used `step`: a code of `step` is a replay; `step + 1` is fresh.
    assert_eq!(
        code_of(login_otp(&s, 1001, PASSWORD, Some(otp_at(SEED_A, step)))),
        ErrorCode::OTP_REPLAYED
    );

    // The same fresh code from many connections at once: accepted exactly once.
    let fresh = otp_at(SEED_A, step + 1);
    let mut clients: Vec<Client> = (0..16).map(|_| s.client()).collect();
    let corrs: Vec<u32> = clients
        .iter_mut()
        .map(|c| {
            // Send all before reading any answer.
            let req = Request::Login {
                account: ACCOUNT,
                agent: 1001,
                password: PASSWORD.into(),
                otp: Some(fresh.clone()),
            };
            c.send(&req).unwrap()
        })
        .collect();
    let mut accepted = 0;
    let mut session = None;
    for (c, corr) in clients.iter_mut().zip(corrs) {
        match c.wait(corr) {
            Ok(Response::LoggedIn(s)) => {
                accepted += 1;
                session = Some(s);
            }
            Ok(other) => panic!("{other:?}"),
            Err(e) => assert_eq!(code(e), ErrorCode::OTP_REPLAYED),
        }
    }
    assert_eq!(accepted, 1, "one code, one login");
    drop(clients);

    // After a restart the used step is still used.
    s.restart();
    assert_eq!(
        code_of(login_otp(&s, 1001, PASSWORD, Some(fresh))),
        ErrorCode::OTP_REPLAYED
    );
    // Resume with the session token of the one accepted login needs no code.
    let session = session.expect("one login succeeded");
    s.client()
        .resume(ACCOUNT, 1001, session.token)
        .expect("token login needs no code");
}

#[test]
fn calibration_finds_a_drifting_clock_and_later_codes_verify() {
    let (s, _admin) = setup();
    let mut boss = boss(&s);
    let ahead = now_step() + 10; // the token's clock runs 10 minutes fast
    boss.request(&Request::BindToken {
        agent: 1002,
        serial: "KT-B".into(),
        code: otp_at(SEED_B, ahead),
    })
    .map(|_| ())
    .expect_err("outside the bind window before calibration");
    let mut agent = s.client();
    agent.login(ACCOUNT, 1002, "password 1002").unwrap();
    // KT-B is not bound to 1002 yet: calibration is for one's own token.
    let cal = |a: u64| Request::CalibrateToken {
        serial: "KT-B".into(),
        code: otp_at(SEED_B, a),
        next_code: otp_at(SEED_B, a + 1),
    };
    assert_eq!(
        code_of(agent.request(&cal(ahead))),
        ErrorCode::TOKEN_UNKNOWN
    );
    // An administrator calibrates the new token, then binds it with a code from its fast clock.
    boss.request(&cal(ahead))
        .expect("calibrated 10 minutes ahead");
    let mut admin = s.admin();
    let bind = Request::BindToken {
        agent: 1002,
        serial: "KT-B".into(),
        code: otp_at(SEED_B, ahead + 2),
    };
    admin
        .request(&Request::on_account(ACCOUNT, &bind))
        .expect("bound through the operator");
    // Its holder may calibrate it again later.
    agent
        .request(&cal(ahead + 3))
        .expect("recalibrated by its holder");
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::Low,
    })
    .unwrap();
    // Level high: 1001 needs a token first.
    boss.request(&Request::BindToken {
        agent: 1001,
        serial: "KT-A".into(),
        code: otp_at(SEED_A, now_step()),
    })
    .unwrap();
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::High,
    })
    .unwrap();
    let r = login_otp(&s, 1002, "password 1002", Some(otp_at(SEED_B, ahead + 5)));
    assert!(
        matches!(r, Ok(Response::LoggedIn(_))),
        "a later code at the same drift verifies: {r:?}"
    );
    // A code from the token's old (un-drifted) time is now outside the window.
    assert_eq!(
        code_of(login_otp(
            &s,
            1002,
            "password 1002",
            Some(otp_at(SEED_B, now_step()))
        )),
        ErrorCode::OTP_INVALID
    );
}

#[test]
fn tokens_lock_after_failures_until_an_admin_unlocks() {
    let (s, mut admin) = setup();
    let mut boss = boss(&s);
    let step = now_step();
    boss.request(&Request::BindToken {
        agent: 1001,
        serial: "KT-A".into(),
        code: otp_at(SEED_A, step),
    })
    .unwrap();
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::High,
    })
    .unwrap();
    let good = otp_at(SEED_A, step + 1);
    let wrong = format!(
        "{:06}",
        (good.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    for i in 0..10 {
        let got = code_of(login_otp(&s, 1001, PASSWORD, Some(wrong.clone())));
        assert!(
            got == ErrorCode::OTP_INVALID || (i == 9 && got == ErrorCode::TOKEN_LOCKED),
            "attempt {i}: {got:?}"
        );
    }
    // Ten failed logins in a row also throttle the agent, before anything is checked.
    assert_eq!(
        code_of(login_otp(&s, 1001, PASSWORD, Some(good.clone()))),
        ErrorCode::LOGIN_THROTTLED
    );
    admin
        .request(&Request::AdminUnlockAgent {
            account: ACCOUNT,
            agent: 1001,
        })
        .unwrap();
    // The token stays locked, even for the right code, until the operator unlocks it.
    assert_eq!(
        code_of(login_otp(&s, 1001, PASSWORD, Some(good.clone()))),
        ErrorCode::TOKEN_LOCKED
    );
    admin
        .request(&Request::AdminUnlockToken {
            serial: "KT-A".into(),
        })
        .unwrap();
    let r = login_otp(&s, 1001, PASSWORD, Some(good));
    assert!(matches!(r, Ok(Response::LoggedIn(_))), "{r:?}");
}

#[test]
fn failed_password_logins_are_throttled_per_agent() {
    let (s, mut admin) = setup();
    for _ in 0..10 {
        assert_eq!(
            code(s.client().login(ACCOUNT, 1003, "not it").unwrap_err()),
            ErrorCode::WRONG_PASSWORD
        );
    }
    let e = s
        .client()
        .login(ACCOUNT, 1003, "password 1003")
        .unwrap_err();
    assert_eq!(
        code(e),
        ErrorCode::LOGIN_THROTTLED,
        "even the right password waits out the cool-down"
    );
    // Other agents are not affected.
    s.client().login(ACCOUNT, 1002, "password 1002").unwrap();
    admin
        .request(&Request::AdminUnlockAgent {
            account: ACCOUNT,
            agent: 1003,
        })
        .unwrap();
    s.client().login(ACCOUNT, 1003, "password 1003").unwrap();
}

#[test]
fn token_import_is_all_or_nothing() {
    let (s, mut admin) = setup();
    let import = |admin: &mut Client, csv: &str| {
        admin.request(&Request::AdminImportTokens {
            format: TokenFileFormat::Csv,
            data: csv.as_bytes().to_vec(),
            key_hex: None,
            password: None,
        })
    };
    // One existing serial: nothing imported.
    let e = import(&mut admin, &format!("KT-C,{SEED_B}\nKT-A,{SEED_A}\n")).unwrap_err();
    assert_eq!(code(e), ErrorCode::ALREADY_EXISTS);
    // One bad line: nothing imported, and the error names the line.
    let e = import(
        &mut admin,
        &format!("KT-C,{SEED_B}\nKT-D,zz-not-a-secret\n"),
    )
    .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::INVALID_ARGUMENT));
    assert!(e.to_string().contains('2'), "{e}");
    // KT-C was not imported by either attempt.
    let mut boss = boss(&s);
    assert_eq!(
        code_of(boss.request(&Request::BindToken {
            agent: 1002,
            serial: "KT-C".into(),
            code: "123456".into()
        })),
        ErrorCode::TOKEN_UNKNOWN
    );
    import(&mut admin, &format!("KT-C,{SEED_B}\n")).unwrap();
    // The seed is sealed at rest: its hex is nowhere in the data directory.
    let needle = SEED_B.as_bytes();
    for entry in std::fs::read_dir(s.dir.path().join("db")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        let raw: Vec<u8> = (0..SEED_B.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&SEED_B[i..i + 2], 16).unwrap())
            .collect();
        assert!(
            !bytes.windows(raw.len()).any(|w| w == raw.as_slice()),
            "raw seed stored in clear"
        );
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "hex seed stored in clear"
        );
    }
}
