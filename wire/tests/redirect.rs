//! `GoAwayTo` over real loopback sockets (PROTOCOL.md section 40.6): a login answered
//! with it is sent again, once, on a new connection to the address it names; a second
//! redirect is the caller's error; `PairClient` follows a redirect of any request and
//! retries `ACCOUNT_MOVING`.

use kefu_wire::pair::PairClient;
use kefu_wire::{
    Client, ClientError, ClientOptions, ErrorBody, ErrorCode, Request, Response, ServerConfig,
    ServerConnection, ServerEvent,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a fake appliance answers.
#[derive(Clone)]
enum Answer {
    /// Every request: `GoAwayTo` this address.
    RedirectTo(Arc<Mutex<Option<SocketAddr>>>),
    /// `ACCOUNT_MOVING` this many times (counted over all connections), then `Ok`.
    MovingThenOk(Arc<AtomicU32>),
    /// `Ok` to everything.
    Ok,
}

/// A fake appliance on 127.0.0.1:0 serving each connection on a thread; its address.
fn appliance(answer: Answer) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answer = answer.clone();
            std::thread::spawn(move || serve(stream, answer));
        }
    });
    addr
}

fn serve(mut stream: TcpStream, answer: Answer) {
    let config = ServerConfig {
        server_name: "fake".into(),
        ..ServerConfig::default()
    };
    let mut conn = ServerConnection::new(config, Instant::now());
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        conn.handle_input(&buf[..n], Instant::now());
        while let Some(ev) = conn.poll_event() {
            if let ServerEvent::Request { correlation, .. } = ev {
                match &answer {
                    Answer::RedirectTo(to) => {
                        let to = to.lock().unwrap().expect("target set");
                        conn.go_away_to(ErrorCode::ACCOUNT_MOVED, "moved", to.to_string());
                    }
                    Answer::MovingThenOk(left) => {
                        let moving = left
                            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                            .is_ok();
                        let result = if moving {
                            Err(ErrorBody {
                                code: ErrorCode::ACCOUNT_MOVING,
                                message: "moving".into(),
                            })
                        } else {
                            Ok(Response::Ok)
                        };
                        conn.respond(correlation, result);
                    }
                    Answer::Ok => {
                        conn.respond(correlation, Ok(Response::Ok));
                    }
                }
            }
        }
        let out = conn.poll_transmit().to_vec();
        if stream.write_all(&out).is_err() {
            return;
        }
        conn.consume_transmit(out.len());
        if conn.is_closed() {
            return;
        }
    }
}

fn login() -> Request {
    Request::Login {
        account: 800_001,
        agent: 1001,
        password: "pw".into(),
        otp: None,
    }
}

fn opts() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

fn redirecting(to: SocketAddr) -> SocketAddr {
    appliance(Answer::RedirectTo(Arc::new(Mutex::new(Some(to)))))
}

#[test]
fn a_login_follows_one_redirect_and_stays_there() {
    let target = appliance(Answer::Ok);
    let source = redirecting(target);
    let mut c = Client::connect(source, opts()).unwrap();
    assert_eq!(c.server_addr(), Some(source));
    assert_eq!(c.request(&login()).unwrap(), Response::Ok);
    assert_eq!(c.server_addr(), Some(target));
    // The next requests go to the target.
    assert_eq!(c.request(&Request::WhoAmI).unwrap(), Response::Ok);
}

#[test]
fn a_second_redirect_is_the_callers_error() {
    // A and B name each other: the client follows A → B once, then reports B's redirect.
    let b_target = Arc::new(Mutex::new(None));
    let b = appliance(Answer::RedirectTo(Arc::clone(&b_target)));
    let a = redirecting(b);
    *b_target.lock().unwrap() = Some(a);
    let mut c = Client::connect(a, opts()).unwrap();
    match c.request(&login()) {
        Err(ClientError::Redirected(to)) => {
            assert_eq!(to.code, ErrorCode::ACCOUNT_MOVED);
            assert_eq!(to.address, a.to_string());
        }
        other => panic!("expected the second redirect as an error, got {other:?}"),
    }
}

#[test]
fn a_redirect_of_another_request_is_not_followed_by_the_client() {
    let target = appliance(Answer::Ok);
    let source = redirecting(target);
    let mut c = Client::connect(source, opts()).unwrap();
    assert!(matches!(
        c.request(&Request::WhoAmI),
        Err(ClientError::Redirected(_))
    ));
}

#[test]
fn a_bad_address_is_refused_without_connecting() {
    // An address that is not `ip:port`: the redirect comes back to the caller.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut conn = ServerConnection::new(ServerConfig::default(), Instant::now());
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                return;
            }
            conn.handle_input(&buf[..n], Instant::now());
            while let Some(ev) = conn.poll_event() {
                if let ServerEvent::Request { .. } = ev {
                    conn.go_away_to(ErrorCode::ACCOUNT_MOVED, "moved", "not an address");
                }
            }
            let out = conn.poll_transmit().to_vec();
            let _ = stream.write_all(&out);
            conn.consume_transmit(out.len());
        }
    });
    let mut c = Client::connect(addr, opts()).unwrap();
    match c.request(&login()) {
        Err(ClientError::Redirected(to)) => assert_eq!(to.address, "not an address"),
        other => panic!("expected the redirect refused, got {other:?}"),
    }
}

#[test]
fn the_client_of_a_pair_follows_a_redirect_and_retries_a_moving_account() {
    let left = Arc::new(AtomicU32::new(3));
    let target = appliance(Answer::MovingThenOk(Arc::clone(&left)));
    let source = redirecting(target);
    let logins = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&logins);
    let mut pair = PairClient::new(
        vec![source],
        opts(),
        Duration::from_secs(10),
        Box::new(move |c: &mut Client| {
            counted.fetch_add(1, Ordering::SeqCst);
            c.request(&Request::WhoAmI).map(|_| ())
        }),
    );
    // The login step's request is redirected (followed by the pair client), then the
    // target says ACCOUNT_MOVING three times (retried), then answers.
    assert_eq!(pair.request(&Request::ListAgents).unwrap(), Response::Ok);
    assert_eq!(pair.connected_to(), Some(target));
    assert_eq!(left.load(Ordering::SeqCst), 0);
    assert!(logins.load(Ordering::SeqCst) >= 2);
}
