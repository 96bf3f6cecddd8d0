//! The foundation through real sockets: handshake, logins and their errors,
//! sessions, protocol abuse, shards, restarts, and `kefud` as a process.

mod support;

use kefu_wire::frame::put_frame;
use kefu_wire::{
    Body, Client, ClientConnection, ClientError, ErrorBody, ErrorCode, Event, FrameDecoder,
    FrameKind, Hello, Presence, Request, Response,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use support::*;

fn code(e: ClientError) -> ErrorCode {
    e.code()
        .unwrap_or_else(|| panic!("expected a server error code, got {e:?}"))
}

#[test]
fn handshake_reports_version_and_limits() {
    let s = TestServer::start();
    let c = s.client();
    let w = c.welcome();
    assert_eq!(w.version, 1);
    assert!(w.server.starts_with("kefud/"));
    assert_eq!(w.max_frame, kefu_wire::DEFAULT_MAX_FRAME);
    assert!(w.idle_timeout_ms > w.heartbeat_ms);
}

#[test]
fn login_succeeds_and_each_login_error_is_distinct() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, 800_001);
    add_agent(&mut admin, 800_001, 1002, None);
    create_account_expiring(&mut admin, 800_002, now() - 60);

    let session = s.client().login(800_001, 1001, PASSWORD).expect("login ok");
    assert_eq!(
        (session.account, session.agent, session.role),
        (800_001, 1001, 1)
    );
    assert_eq!(session.permissions, 0xffff, "1001 holds every permission");
    assert_ne!(session.token, [0; 16]);

    let cases: &[(u64, u32, &str, ErrorCode)] = &[
        (800_001, 1001, "wrong password", ErrorCode::WRONG_PASSWORD),
        (800_001, 1999, PASSWORD, ErrorCode::UNKNOWN_AGENT),
        (800_001, 1002, PASSWORD, ErrorCode::NO_PASSWORD_SET),
        (800_002, 1001, PASSWORD, ErrorCode::ACCOUNT_EXPIRED),
        (800_099, 1001, PASSWORD, ErrorCode::UNKNOWN_ACCOUNT),
    ];
    for &(account, agent, password, expected) in cases {
        let err = s.client().login(account, agent, password).unwrap_err();
        assert_eq!(code(err), expected, "{agent}@{account}");
    }
    // A failed login leaves the connection usable for another try.
    let mut c = s.client();
    assert_eq!(
        code(c.login(800_001, 1001, "nope").unwrap_err()),
        ErrorCode::WRONG_PASSWORD
    );
    c.login(800_001, 1001, PASSWORD)
        .expect("second try on the same connection");
}

#[test]
fn requests_before_login_and_admin_requests_from_agents_are_refused() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, 800_010);
    let mut c = s.client();
    assert_eq!(
        code(c.request(&Request::ListAgents).unwrap_err()),
        ErrorCode::NOT_LOGGED_IN
    );
    c.login(800_010, 1001, PASSWORD).unwrap();
    assert_eq!(
        code(c.request(&Request::AdminStats).unwrap_err()),
        ErrorCode::ADMIN_ONLY
    );
    assert!(
        matches!(c.request(&Request::ListAgents).unwrap(), Response::Agents(a) if a.len() == 1)
    );
}

#[test]
fn version_mismatch_is_refused_clearly() {
    let s = TestServer::start();
    let mut stream = TcpStream::connect(s.addr()).unwrap();
    let mut out = bytes::BytesMut::new();
    Hello {
        magic: kefu_wire::MAGIC,
        min_version: 7,
        max_version: 9,
        client: "from the future".into(),
    }
    .write_frame(0, &mut out);
    stream.write_all(&out).unwrap();
    let err = read_error_then_eof(&mut stream);
    assert_eq!(err.code, ErrorCode::UNSUPPORTED_VERSION);
    assert!(err.message.contains("1..=1"), "{}", err.message);
}

/// Reads until the server closes; returns the connection-level error it sent.
fn read_error_then_eof(stream: &mut TcpStream) -> ErrorBody {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut all = Vec::new();
    stream
        .read_to_end(&mut all)
        .expect("server closes the connection");
    let mut buf = bytes::BytesMut::from(&all[..]);
    let dec = FrameDecoder::new(1 << 20);
    let mut last = None;
    while let Some(f) = dec.decode(&mut buf).unwrap() {
        if f.kind == FrameKind::Error {
            assert_eq!(
                f.correlation, 0,
                "connection-level errors carry no correlation"
            );
            last = Some(ErrorBody::decode(&f.body).unwrap());
        }
    }
    last.expect("an Error frame before the close")
}

#[test]
fn oversized_frame_and_garbage_close_only_the_offender() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, 800_020);
    let mut bystander = s.client();
    bystander.login(800_020, 1001, PASSWORD).unwrap();

    // A frame declaring 2 MiB (max 1 MiB): refused from the header alone.
    let mut big = s.raw_after_handshake();
    let mut hdr = Vec::new();
    hdr.extend_from_slice(&(2u32 << 20).to_be_bytes());
    hdr.extend_from_slice(&(FrameKind::Request as u16).to_be_bytes());
    hdr.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
    big.write_all(&hdr).unwrap();
    assert_eq!(
        read_error_then_eof(&mut big).code,
        ErrorCode::FRAME_TOO_LARGE
    );

    // Random garbage instead of a Hello.
    let mut junk = TcpStream::connect(s.addr()).unwrap();
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let _ = junk.write_all(&bytes);
    let e = read_error_then_eof(&mut junk);
    assert!(
        [
            ErrorCode::FRAME_TOO_LARGE,
            ErrorCode::UNEXPECTED_FRAME,
            ErrorCode::HANDSHAKE_REQUIRED
        ]
        .contains(&e.code),
        "{e:?}"
    );

    // Garbage after a good handshake: a bad frame kind.
    let mut bad_kind = s.raw_after_handshake();
    bad_kind
        .write_all(&[0, 0, 0, 0, 0x7f, 0x7f, 0, 0, 0, 0, 0, 0])
        .unwrap();
    assert_eq!(
        read_error_then_eof(&mut bad_kind).code,
        ErrorCode::UNEXPECTED_FRAME
    );

    // A request body that does not decode is answered, and the connection lives on.
    let mut c = s.client();
    let mut stream = s.raw_after_handshake();
    let mut out = bytes::BytesMut::new();
    put_frame(&mut out, FrameKind::Request, 5, &[1, 200, 1]);
    stream.write_all(&out).unwrap();
    let mut conn = ClientConnection::new("t", 1 << 20);
    let _ = &mut conn;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut got = bytes::BytesMut::new();
    let dec = FrameDecoder::new(1 << 20);
    let frame = loop {
        if let Some(f) = dec.decode(&mut got).unwrap() {
            break f;
        }
        let mut b = [0u8; 1024];
        let n = stream.read(&mut b).unwrap();
        assert!(n > 0, "server closed on a bad request body");
        got.extend_from_slice(&b[..n]);
    };
    assert_eq!((frame.kind, frame.correlation), (FrameKind::Error, 5));
    assert_eq!(
        ErrorBody::decode(&frame.body).unwrap().code,
        ErrorCode::BAD_REQUEST
    );

    // A request with correlation 0 could not be told from a connection error: refused.
    let mut zero = s.raw_after_handshake();
    let mut out = bytes::BytesMut::new();
    Request::WhoAmI.write_frame(0, &mut out);
    zero.write_all(&out).unwrap();
    assert_eq!(read_error_then_eof(&mut zero).code, ErrorCode::BAD_REQUEST);

    // A Hello with an overlong client name.
    let mut long = TcpStream::connect(s.addr()).unwrap();
    let mut out = bytes::BytesMut::new();
    Hello {
        magic: kefu_wire::MAGIC,
        min_version: 1,
        max_version: 1,
        client: "x".repeat(65),
    }
    .write_frame(0, &mut out);
    long.write_all(&out).unwrap();
    assert_eq!(
        read_error_then_eof(&mut long).code,
        ErrorCode::HANDSHAKE_REQUIRED
    );

    // The bystander never noticed.
    assert!(bystander.ping().is_ok());
    assert!(matches!(
        bystander.request(&Request::WhoAmI).unwrap(),
        Response::Session(_)
    ));
    assert!(c.ping().is_ok());
}

impl TestServer {
    /// A raw socket that has completed the handshake (Welcome consumed).
    fn raw_after_handshake(&self) -> TcpStream {
        let mut stream = TcpStream::connect(self.addr()).unwrap();
        let mut conn = ClientConnection::new("raw", 1 << 20);
        stream.write_all(conn.transmit()).unwrap();
        let n = conn.transmit().len();
        conn.consume_transmit(n);
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        while !conn.is_ready() {
            let mut b = [0u8; 256];
            let n = stream.read(&mut b).unwrap();
            assert!(n > 0);
            conn.handle_input(&b[..n]).unwrap();
        }
        stream
    }
}

#[test]
fn session_token_resumes_and_is_revoked_by_logout_and_password_change() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, 800_030);
    let first = s.client().login(800_030, 1001, PASSWORD).unwrap();
    let resumed = s
        .client()
        .resume(800_030, 1001, first.token)
        .expect("token works");
    assert_eq!(resumed.token, first.token);
    let mut wrong = first.token;
    wrong[0] ^= 1;
    assert_eq!(
        code(s.client().resume(800_030, 1001, wrong).unwrap_err()),
        ErrorCode::SESSION_INVALID
    );

    // Logout revokes.
    let mut c = s.client();
    c.resume(800_030, 1001, first.token).unwrap();
    c.request(&Request::Logout).unwrap();
    assert_eq!(
        code(s.client().resume(800_030, 1001, first.token).unwrap_err()),
        ErrorCode::SESSION_INVALID
    );

    // Changing one's own password revokes the old token and hands out a new one.
    let mut c = s.client();
    let before = c.login(800_030, 1001, PASSWORD).unwrap();
    let after = match c
        .request(&Request::ChangeOwnPassword {
            old_password: PASSWORD.into(),
            new_password: "a brand new one".into(),
        })
        .unwrap()
    {
        Response::LoggedIn(s) => s,
        other => panic!("{other:?}"),
    };
    assert_ne!(before.token, after.token);
    assert_eq!(
        code(s.client().resume(800_030, 1001, before.token).unwrap_err()),
        ErrorCode::SESSION_INVALID
    );
    s.client()
        .resume(800_030, 1001, after.token)
        .expect("the new token works");
    assert_eq!(
        code(s.client().login(800_030, 1001, PASSWORD).unwrap_err()),
        ErrorCode::WRONG_PASSWORD
    );
    s.client().login(800_030, 1001, "a brand new one").unwrap();
    // The old password is checked.
    let mut c = s.client();
    c.login(800_030, 1001, "a brand new one").unwrap();
    let e = c
        .request(&Request::ChangeOwnPassword {
            old_password: "not it".into(),
            new_password: "whatever123".into(),
        })
        .unwrap_err();
    assert_eq!(code(e), ErrorCode::WRONG_PASSWORD);
}

#[test]
fn second_login_replaces_the_first_which_is_told_why() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, 800_040);
    let mut first = s.client();
    let session = first.login(800_040, 1001, PASSWORD).unwrap();
    let mut second = s.client();
    second.resume(800_040, 1001, session.token).unwrap();
    let e = first.request(&Request::WhoAmI).unwrap_err();
    assert_eq!(code(e), ErrorCode::SESSION_REPLACED);
    assert!(matches!(
        second.request(&Request::WhoAmI).unwrap(),
        Response::Session(_)
    ));
}

#[test]
fn agents_passwords_and_the_super_password() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, 800_050);
    let mut boss = s.client();
    boss.login(800_050, 1001, PASSWORD).unwrap();
    boss.request(&Request::AddAgent {
        agent: 1002,
        nickname: "小王".into(),
        role: None,
    })
    .unwrap();
    assert_eq!(
        code(
            boss.request(&Request::AddAgent {
                agent: 1002,
                nickname: "again".into(),
                role: None
            })
            .unwrap_err()
        ),
        ErrorCode::ALREADY_EXISTS
    );
    // Setting another agent's password needs the super password.
    let set = |sup: &str| Request::SetAgentPassword {
        agent: 1002,
        new_password: "wang's password".into(),
        super_password: sup.into(),
    };
    assert_eq!(
        code(boss.request(&set("guess")).unwrap_err()),
        ErrorCode::SUPER_PASSWORD_REQUIRED
    );
    boss.request(&set(SUPER)).unwrap();
    let weak = Request::SetAgentPassword {
        agent: 1002,
        new_password: "abc".into(),
        super_password: SUPER.into(),
    };
    assert_eq!(
        code(boss.request(&weak).unwrap_err()),
        ErrorCode::WEAK_PASSWORD
    );

    // 1002 has the default agent role: no system settings permission, not 1001.
    let mut wang = s.client();
    let session = wang.login(800_050, 1002, "wang's password").unwrap();
    assert_eq!(session.role, 3);
    assert_eq!(
        session.permissions,
        (1 << 3) | (1 << 4) | (1 << 7),
        "permissions 4, 5 and 8"
    );
    assert_eq!(
        code(
            wang.request(&Request::AddAgent {
                agent: 1003,
                nickname: "x".into(),
                role: None
            })
            .unwrap_err()
        ),
        ErrorCode::PERMISSION_DENIED
    );
    let sup = Request::ChangeSuperPassword {
        old_super_password: SUPER.into(),
        new_super_password: "new super!".into(),
    };
    assert_eq!(
        code(wang.request(&sup).unwrap_err()),
        ErrorCode::PERMISSION_DENIED
    );
    // Only 1001 changes the super password, proving the old one.
    let bad = Request::ChangeSuperPassword {
        old_super_password: "no".into(),
        new_super_password: "new super!".into(),
    };
    assert_eq!(
        code(boss.request(&bad).unwrap_err()),
        ErrorCode::WRONG_PASSWORD
    );
    boss.request(&sup).unwrap();
    assert_eq!(
        code(boss.request(&set(SUPER)).unwrap_err()),
        ErrorCode::SUPER_PASSWORD_REQUIRED
    );
    boss.request(&Request::SetAgentPassword {
        agent: 1002,
        new_password: "reset by boss".into(),
        super_password: "new super!".into(),
    })
    .unwrap();
    // That revoked 1002's session, and its connection was told.
    assert_eq!(
        code(wang.request(&Request::WhoAmI).unwrap_err()),
        ErrorCode::LOGGED_OUT
    );
    assert_eq!(
        code(s.client().resume(800_050, 1002, session.token).unwrap_err()),
        ErrorCode::SESSION_INVALID
    );
    s.client().login(800_050, 1002, "reset by boss").unwrap();
}

/// The presence of `agent` a push announces, single or batched.
fn presence_of(event: &Event, agent: u32) -> Option<Presence> {
    match event {
        Event::PresenceChanged { agent: a, presence } if *a == agent => Some(*presence),
        Event::PresenceChanges(changes) => changes
            .iter()
            .find(|c| c.agent == agent)
            .map(|c| c.presence),
        _ => None,
    }
}

#[test]
fn a_login_burst_costs_an_observer_at_most_one_push_per_agent() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, 800_065);
    let agents: Vec<u32> = (1002..1022).collect();
    for &agent in &agents {
        add_agent(&mut admin, 800_065, agent, Some("burst password"));
    }
    let mut observer = s.client();
    observer.login(800_065, 1001, PASSWORD).unwrap();
    // Every agent's login request is on the wire before any answer is read,
    // so the server sees them in as few turns as it can.
    let mut clients: Vec<(u32, Client, u32)> = agents
        .iter()
        .map(|&agent| {
            let mut c = s.client();
            let corr = c
                .send(&Request::Login {
                    account: 800_065,
                    agent,
                    password: "burst password".into(),
                    otp: None,
                })
                .unwrap();
            (agent, c, corr)
        })
        .collect();
    for (_, c, corr) in &mut clients {
        assert!(matches!(c.wait(*corr).unwrap(), Response::LoggedIn(_)));
    }
    let mut online = std::collections::BTreeSet::new();
    let mut pushes = 0;
    while online.len() < agents.len() {
        let p = observer
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("presence push");
        pushes += 1;
        for &agent in &agents {
            if presence_of(&p.event, agent) == Some(Presence::Online) {
                online.insert(agent);
            }
        }
    }
    assert!(
        pushes <= agents.len(),
        "{pushes} pushes for {} logins",
        agents.len()
    );
}

#[test]
fn presence_is_pushed_to_the_other_agents() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, 800_060);
    add_agent(&mut admin, 800_060, 1002, Some("password two"));
    let mut a = s.client();
    a.login(800_060, 1001, PASSWORD).unwrap();
    let mut b = s.client();
    b.login(800_060, 1002, "password two").unwrap();
    b.request(&Request::SetPresence {
        presence: Presence::Busy,
    })
    .unwrap();
    let mut seen = Vec::new();
    while let Some(p) = a.next_push(Duration::from_secs(10)).unwrap() {
        if let Some(presence) = presence_of(&p.event, 1002) {
            seen.push(presence);
            if presence == Presence::Busy {
                break;
            }
        }
    }
    assert_eq!(seen, vec![Presence::Online, Presence::Busy]);
    drop(b);
    loop {
        let p = a
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("offline push");
        if presence_of(&p.event, 1002) == Some(Presence::Offline) {
            break;
        }
    }
    match a.request(&Request::ListAgents).unwrap() {
        Response::Agents(list) => {
            let me = list.iter().find(|x| x.agent == 1001).unwrap();
            assert_eq!(me.presence, Presence::Online);
            assert_eq!(
                list.iter().find(|x| x.agent == 1002).unwrap().presence,
                Presence::Offline
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn logins_cross_shards_from_connections_accepted_on_either_shard() {
    let s = TestServer::start();
    let h = s.handle();
    assert_eq!(h.shards(), 2);
    let mut admin = s.admin();
    // Two accounts owned by each shard.
    let mut by_shard: [Vec<u64>; 2] = [vec![], vec![]];
    let mut id = 810_000;
    while by_shard.iter().any(|v| v.len() < 2) {
        let owner = kefu_daemon::accounts::owner_shard(id, 2);
        if by_shard[owner].len() < 2 {
            create_account(&mut admin, id);
            by_shard[owner].push(id);
        }
        id += 1;
    }
    // Connect one client at a time and see which shard's accept counter moved
    // (SO_REUSEPORT spreads connections by hash), until each shard holds two.
    let accepted = |i| h.counters(i).unwrap().accepted();
    let mut on_shard: [Vec<Client>; 2] = [vec![], vec![]];
    for _ in 0..400 {
        let before = [accepted(0), accepted(1)];
        let c = s.client(); // the handshake completed, so the accept is counted
        let shard = usize::from(accepted(1) > before[1]);
        on_shard[shard].push(c);
        if on_shard.iter().all(|v| v.len() >= 2) {
            break;
        }
    }
    assert!(
        on_shard.iter().all(|v| v.len() >= 2),
        "both shards accept connections"
    );
    // From each accepting shard, log in to an account of shard 0 and one of shard 1.
    let mut tokens = Vec::new();
    for (accepted_on, clients) in on_shard.iter_mut().enumerate() {
        for (owner, c) in clients.iter_mut().take(2).enumerate() {
            let account = by_shard[owner][accepted_on];
            let session = c
                .login(account, 1001, PASSWORD)
                .expect("login on any shard");
            tokens.push((account, session.token));
            assert!(
                matches!(c.request(&Request::WhoAmI).unwrap(), Response::Session(s) if s.account == account)
            );
        }
    }
    let moved: u64 = (0..2).map(|i| h.counters(i).unwrap().handed_over()).sum();
    let adopted: Vec<u64> = (0..2).map(|i| h.counters(i).unwrap().adopted()).collect();
    assert!(
        moved > 0 && adopted.iter().all(|&n| n > 0),
        "hand-overs both ways: {adopted:?}"
    );
    // Token logins cross shards too.
    drop(on_shard);
    for (account, token) in tokens {
        s.client()
            .resume(account, 1001, token)
            .expect("resume on any shard");
    }
}

#[test]
fn accounts_agents_and_sessions_survive_a_restart() {
    let mut s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, 800_070);
    add_agent(&mut admin, 800_070, 1002, Some("second agent"));
    add_agent(&mut admin, 800_070, 1003, None);
    let token = s
        .client()
        .login(800_070, 1002, "second agent")
        .unwrap()
        .token;
    drop(admin);
    s.restart();
    let mut admin = s.admin();
    match admin
        .request(&Request::AdminListAgents { account: 800_070 })
        .unwrap()
    {
        Response::Agents(list) => {
            let ids: Vec<(u32, bool)> = list.iter().map(|a| (a.agent, a.has_password)).collect();
            assert_eq!(ids, vec![(1001, true), (1002, true), (1003, false)]);
        }
        other => panic!("{other:?}"),
    }
    s.client()
        .login(800_070, 1001, PASSWORD)
        .expect("1001 after restart");
    s.client()
        .resume(800_070, 1002, token)
        .expect("session token after restart");
    match admin
        .request(&Request::AdminListAccounts {
            after: None,
            limit: 10,
        })
        .unwrap()
    {
        Response::Accounts(list) => assert_eq!(
            list.iter()
                .map(|a| (a.account, a.agents))
                .collect::<Vec<_>>(),
            vec![(800_070, 3)]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn admin_socket_is_private_and_admin_errors_are_typed() {
    use std::os::unix::fs::PermissionsExt;
    let s = TestServer::start();
    let path = s.handle().admin_socket().unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mut admin = s.admin();
    create_account(&mut admin, 800_080);
    let dup = admin.request(&Request::AdminCreateAccount {
        account: 800_080,
        name: "dup".into(),
        plan: kefu_wire::Plan::Silver,
        expires_at: now() + 10,
        password_1001: "long enough".into(),
        super_password: "long enough".into(),
    });
    assert_eq!(code(dup.unwrap_err()), ErrorCode::ALREADY_EXISTS);
    let weak = admin.request(&Request::AdminCreateAccount {
        account: 800_081,
        name: "weak".into(),
        plan: kefu_wire::Plan::Silver,
        expires_at: now() + 10,
        password_1001: "1".into(),
        super_password: "long enough".into(),
    });
    assert_eq!(code(weak.unwrap_err()), ErrorCode::WEAK_PASSWORD);
    assert_eq!(
        code(
            admin
                .request(&Request::AdminShowAccount { account: 1 })
                .unwrap_err()
        ),
        ErrorCode::UNKNOWN_ACCOUNT
    );
    assert_eq!(
        code(
            admin
                .request(&Request::AdminAddAgent {
                    account: 800_080,
                    agent: 7,
                    nickname: "x".into(),
                    role: None
                })
                .unwrap_err()
        ),
        ErrorCode::INVALID_ARGUMENT
    );
    match admin.request(&Request::AdminStats).unwrap() {
        Response::Stats { shards, .. } => assert_eq!(shards.len(), 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn kefud_process_stops_gracefully_on_sigterm_and_keeps_data_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let d = DaemonProcess::start(&config);
    let mut admin = d.admin();
    create_account(&mut admin, 800_090);
    let mut agent = d.client();
    agent.login(800_090, 1001, PASSWORD).unwrap();
    d.signal(libc::SIGTERM);
    // The logged-in client is told goodbye, then the process exits 0.
    let goodbye = agent.next_push(Duration::from_secs(60)).unwrap_err();
    assert_eq!(code(goodbye), ErrorCode::SHUTTING_DOWN);
    let mut d = d;
    let status = d.child.wait().unwrap();
    assert!(status.success(), "{status:?}");

    // Acknowledged writes survive kill -9.
    let d = DaemonProcess::start(&config);
    let mut admin = d.admin();
    add_agent(&mut admin, 800_090, 1002, Some("survives kill"));
    let mut d = d;
    d.child.kill().unwrap();
    d.child.wait().unwrap();
    let d = DaemonProcess::start(&config);
    d.client()
        .login(800_090, 1002, "survives kill")
        .expect("data after SIGKILL");
    d.client()
        .login(800_090, 1001, PASSWORD)
        .expect("data after SIGTERM");
}

#[test]
fn check_config_validates_without_starting() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_config(dir.path(), "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kefud"))
        .args(["--check-config", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dir.path().join("data").exists(),
        "check-config must not create the data dir"
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "listen = \"127.0.0.1:0\"\n[security]\npbkdf2_iterations = 10\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kefud"))
        .args(["--check-config", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pbkdf2_iterations"));
}

#[test]
fn sighup_reloads_and_tls_logins_work() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let mut config = kefu_daemon::config::Config::for_tests(dir.path());
    config.tls_listen = Some("127.0.0.1:0".parse().unwrap());
    config.tls_cert = Some(dir.path().join("cert.pem"));
    config.tls_key = Some(dir.path().join("key.pem"));
    let handle = kefu_daemon::server::start(config).unwrap();
    let mut admin = Client::connect_unix(handle.admin_socket().unwrap(), opts()).unwrap();
    create_account(&mut admin, 800_100);
    let tls = kefu_wire::tls_config_with_ca_pem(cert.cert.pem().as_bytes()).unwrap();
    let mut c =
        Client::connect_tls(handle.tls_addr().unwrap(), "localhost", tls.clone(), opts()).unwrap();
    let session = c.login(800_100, 1001, PASSWORD).expect("login over TLS");
    c.ping().unwrap();
    let mut again =
        Client::connect_tls(handle.tls_addr().unwrap(), "localhost", tls, opts()).unwrap();
    again.resume(800_100, 1001, session.token).unwrap();
    // A client that does not trust the certificate fails the TLS handshake.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let untrusted = kefu_wire::tls_config_with_ca_pem(other.cert.pem().as_bytes()).unwrap();
    assert!(
        Client::connect_tls(handle.tls_addr().unwrap(), "localhost", untrusted, opts()).is_err()
    );
    handle.shutdown();

    // SIGHUP on a process: a valid change is applied, an invalid file is refused.
    let config = write_config(dir.path(), "");
    let d = DaemonProcess::start(&config);
    std::fs::write(
        &config,
        std::fs::read_to_string(&config).unwrap().replace(
            "[security]",
            "[timeouts]\nheartbeat_secs = 5\nidle_timeout_secs = 20\n[security]",
        ),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    let reloaded = loop {
        let line = d
            .stderr_tail
            .recv_timeout(Duration::from_secs(30))
            .expect("reload logged");
        if line.contains("reloaded") {
            break line;
        }
    };
    assert!(reloaded.contains("reloaded"));
    assert_eq!(d.client().welcome().heartbeat_ms, 5_000);
}
