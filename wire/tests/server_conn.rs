//! A `ClientConnection` and a `ServerConnection` wired together in memory,
//! with simulated time: no sockets, no sleeping.

use bytes::BytesMut;
use kefu_wire::frame::{put_frame, HEADER_LEN};
use kefu_wire::{
    Body, Client, ClientConnection, ClientEvent, ClientOptions, ErrorBody, ErrorCode, Event,
    FrameKind, GoAway, Hello, Push, Request, Response, ServerConfig, ServerConnection, ServerEvent,
    Transport,
};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config() -> ServerConfig {
    ServerConfig {
        server_name: "kefud/test".into(),
        ..ServerConfig::default()
    }
}

/// One client and one server joined by an in-memory pipe.
struct Pair {
    client: ClientConnection,
    server: ServerConnection,
    now: Instant,
}

impl Pair {
    fn new(config: ServerConfig) -> Pair {
        let now = Instant::now();
        Pair {
            client: ClientConnection::new("pair", kefu_wire::DEFAULT_MAX_FRAME),
            server: ServerConnection::new(config, now),
            now,
        }
    }

    /// A pair past the handshake, with both sides' events drained.
    fn open(config: ServerConfig) -> Pair {
        let mut p = Pair::new(config);
        assert!(matches!(
            p.deliver_to_server().as_slice(),
            [ServerEvent::HandshakeDone { .. }]
        ));
        assert!(matches!(
            p.deliver_to_client().as_slice(),
            [ClientEvent::Welcome(_)]
        ));
        p.client.handle_timeout(p.now);
        // As the driver says once a login succeeds: the full frame limit, no login deadline.
        p.server.set_logged_in(true, p.now);
        p
    }

    /// A pair past the handshake, not logged in.
    fn anonymous(config: ServerConfig) -> Pair {
        let mut p = Pair::open(config);
        p.server.set_logged_in(false, p.now);
        p
    }

    /// Delivers everything the client wrote; returns the server's events.
    fn deliver_to_server(&mut self) -> Vec<ServerEvent> {
        let bytes = self.client.transmit().to_vec();
        self.client.consume_transmit(bytes.len());
        self.server.handle_input(&bytes, self.now);
        drain_server(&mut self.server)
    }

    /// Delivers everything the server wrote; returns the client's events.
    fn deliver_to_client(&mut self) -> Vec<ClientEvent> {
        let bytes = self.server.poll_transmit().to_vec();
        self.server.consume_transmit(bytes.len());
        self.client.handle_input(&bytes).unwrap();
        drain_client(&mut self.client)
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }
}

fn drain_server(s: &mut ServerConnection) -> Vec<ServerEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn drain_client(c: &mut ClientConnection) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn notice(n: usize) -> Event {
    Event::Notice {
        text: format!("notice {n}"),
    }
}

fn goaway_of(events: &[ClientEvent]) -> Option<&GoAway> {
    events.iter().find_map(|e| match e {
        ClientEvent::GoAway(g) => Some(g),
        _ => None,
    })
}

#[test]
fn handshake_announces_the_configured_limits() {
    let mut p = Pair::new(ServerConfig {
        max_frame: 4096,
        heartbeat: Duration::from_secs(7),
        idle_timeout: Duration::from_secs(21),
        ..config()
    });
    assert!(!p.server.is_open());
    assert_eq!(
        p.deliver_to_server(),
        vec![ServerEvent::HandshakeDone {
            version: 1,
            client: "pair".into()
        }]
    );
    assert!(p.server.is_open());
    match p.deliver_to_client().as_slice() {
        [ClientEvent::Welcome(w)] => {
            assert_eq!(w.version, 1);
            assert_eq!(w.server, "kefud/test");
            assert_eq!(w.max_frame, 4096);
            assert_eq!(w.heartbeat_ms, 7_000);
            assert_eq!(w.idle_timeout_ms, 21_000);
        }
        other => panic!("{other:?}"),
    }
    assert!(p.client.is_ready());
}

#[test]
fn a_version_range_without_ours_is_refused_and_closed() {
    let now = Instant::now();
    let mut server = ServerConnection::new(config(), now);
    let mut hello = BytesMut::new();
    Hello {
        magic: kefu_wire::MAGIC,
        min_version: 2,
        max_version: 4,
        client: "future".into(),
    }
    .write_frame(0, &mut hello);
    // A request pipelined behind the refused Hello is dropped.
    Request::WhoAmI.write_frame(1, &mut hello);
    server.handle_input(&hello, now);
    let message = "server speaks protocol versions 1..=1, client offered 2..=4".to_string();
    assert_eq!(
        drain_server(&mut server),
        vec![ServerEvent::Fatal {
            code: ErrorCode::UNSUPPORTED_VERSION,
            message: message.clone(),
            protocol_error: false,
        }]
    );
    assert!(server.is_closing() && !server.is_closed());
    let mut client = ClientConnection::new("c", 1 << 20);
    let out = server.poll_transmit().to_vec();
    server.consume_transmit(out.len());
    assert!(server.is_closed());
    client.handle_input(&out).unwrap();
    assert_eq!(
        drain_client(&mut client),
        vec![ClientEvent::ConnectionError(ErrorBody {
            code: ErrorCode::UNSUPPORTED_VERSION,
            message
        })]
    );
    // Input after the goodbye is not read.
    server.handle_input(&hello, now);
    assert_eq!(server.poll_event(), None);
}

#[test]
fn answers_match_requests_by_correlation_whatever_their_order() {
    let mut p = Pair::open(config());
    let a = p.client.send_request(&Request::WhoAmI);
    let b = p.client.send_request(&Request::Logout);
    let events = p.deliver_to_server();
    assert_eq!(
        events,
        vec![
            ServerEvent::Request {
                correlation: a,
                request: Request::WhoAmI
            },
            ServerEvent::Request {
                correlation: b,
                request: Request::Logout
            },
        ]
    );
    let refusal = ErrorBody {
        code: ErrorCode::NOT_LOGGED_IN,
        message: "no".into(),
    };
    assert!(p.server.respond(b, Err(refusal.clone())));
    assert!(p.server.respond(a, Ok(Response::Ok)));
    assert_eq!(
        p.deliver_to_client(),
        vec![
            ClientEvent::Response {
                correlation: b,
                result: Err(refusal)
            },
            ClientEvent::Response {
                correlation: a,
                result: Ok(Response::Ok)
            },
        ]
    );
}

#[test]
fn requests_pipelined_behind_the_hello_come_after_the_handshake_in_order() {
    let mut p = Pair::new(config());
    let ids: Vec<u32> = (0..3)
        .map(|_| p.client.send_request(&Request::WhoAmI))
        .collect();
    let events = p.deliver_to_server();
    assert!(matches!(events[0], ServerEvent::HandshakeDone { .. }));
    let got: Vec<u32> = events[1..]
        .iter()
        .map(|e| match e {
            ServerEvent::Request { correlation, .. } => *correlation,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, ids);
}

#[test]
fn frames_cut_anywhere_are_reassembled() {
    let mut p = Pair::new(config());
    p.client.send_request(&Request::WhoAmI);
    p.client.send_ping(3);
    let bytes = p.client.transmit().to_vec();
    let mut events = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        p.server.handle_input(&[*b], p.now);
        let got = drain_server(&mut p.server);
        if !got.is_empty() {
            events.push((i, got));
        }
    }
    // Each event appears exactly when the last byte of its frame arrives.
    let hello_end = bytes.len()
        - (HEADER_LEN + Request::WhoAmI.encode().len())
        - (HEADER_LEN + kefu_wire::Ping { nonce: 3 }.encode().len());
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].0, hello_end - 1);
    assert!(matches!(
        events[0].1.as_slice(),
        [ServerEvent::HandshakeDone { .. }]
    ));
    assert!(matches!(
        events[1].1.as_slice(),
        [ServerEvent::Request { correlation: 1, .. }]
    ));
    // The ping (last frame) was answered.
    let out = p.server.poll_transmit().to_vec();
    p.client.handle_input(&out).unwrap();
    let client_events = drain_client(&mut p.client);
    assert!(matches!(
        client_events.last(),
        Some(ClientEvent::Pong(kefu_wire::Pong { nonce: 3 }))
    ));
}

#[test]
fn an_oversized_frame_is_refused_from_its_header() {
    let mut p = Pair::open(ServerConfig {
        max_frame: 1000,
        ..config()
    });
    let mut header = BytesMut::new();
    header.extend_from_slice(&1001u32.to_be_bytes());
    header.extend_from_slice(&(FrameKind::Request as u16).to_be_bytes());
    header.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
    // Eleven bytes say nothing yet.
    p.server.handle_input(&header[..11], p.now);
    assert_eq!(p.server.poll_event(), None);
    p.server.handle_input(&header[11..], p.now);
    let message = "frame body of 1001 bytes exceeds the maximum of 1000".to_string();
    assert_eq!(
        drain_server(&mut p.server),
        vec![ServerEvent::Fatal {
            code: ErrorCode::FRAME_TOO_LARGE,
            message: message.clone(),
            protocol_error: true,
        }]
    );
    // The body is never buffered or read.
    p.server.handle_input(&[0u8; 1001], p.now);
    assert_eq!(p.server.poll_event(), None);
    assert_eq!(
        p.deliver_to_client(),
        vec![ClientEvent::ConnectionError(ErrorBody {
            code: ErrorCode::FRAME_TOO_LARGE,
            message
        })]
    );
    assert!(p.server.is_closed());
}

#[test]
fn a_request_body_that_does_not_decode_is_answered_and_the_stream_goes_on() {
    let mut p = Pair::open(config());
    let mut raw = BytesMut::new();
    let bad_body = [1u8, 0xff, 0xff, 0xff];
    put_frame(&mut raw, FrameKind::Request, 41, &bad_body);
    Request::WhoAmI.write_frame(42, &mut raw);
    p.server.handle_input(&raw, p.now);
    assert_eq!(
        drain_server(&mut p.server),
        vec![ServerEvent::Request {
            correlation: 42,
            request: Request::WhoAmI
        }]
    );
    let expected = Request::decode(&bad_body).unwrap_err().to_string();
    assert_eq!(
        p.deliver_to_client(),
        vec![ClientEvent::Response {
            correlation: 41,
            result: Err(ErrorBody {
                code: ErrorCode::BAD_REQUEST,
                message: expected
            })
        }]
    );
    assert!(p.server.is_open());
}

#[test]
fn a_request_with_correlation_zero_is_fatal() {
    let mut p = Pair::open(config());
    let mut raw = BytesMut::new();
    Request::WhoAmI.write_frame(0, &mut raw);
    p.server.handle_input(&raw, p.now);
    assert_eq!(
        drain_server(&mut p.server),
        vec![ServerEvent::Fatal {
            code: ErrorCode::BAD_REQUEST,
            message: "a request needs a non-zero correlation id".into(),
            protocol_error: false,
        }]
    );
    assert!(p.server.is_closing());
}

#[test]
fn pings_are_answered_by_the_connection() {
    let mut p = Pair::open(config());
    p.client.send_ping(77);
    assert_eq!(p.deliver_to_server(), vec![]);
    assert_eq!(
        p.deliver_to_client(),
        vec![ClientEvent::Pong(kefu_wire::Pong { nonce: 77 })]
    );
}

#[test]
fn pushes_are_numbered_and_acks_are_cumulative() {
    let mut p = Pair::open(config());
    let seqs: Vec<u64> = (0..3).map(|n| p.server.push(notice(n)).unwrap()).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    let got: Vec<u64> = p
        .deliver_to_client()
        .iter()
        .map(|e| match e {
            ClientEvent::Push(Push { seq, .. }) => *seq,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, vec![1, 2, 3]);
    assert_eq!(p.client.unacked_pushes(), 3);
    p.client.ack_pushes();
    assert_eq!(p.client.unacked_pushes(), 0);
    assert_eq!(p.deliver_to_server(), vec![ServerEvent::PushAck(3)]);
    assert_eq!(p.server.last_acked(), 3);

    // Lower acks are ignored; higher ones cover what was sent.
    let mut raw = BytesMut::new();
    kefu_wire::PushAck { up_to: 2 }.write_frame(0, &mut raw);
    kefu_wire::PushAck { up_to: 1000 }.write_frame(0, &mut raw);
    p.server.push(notice(4));
    p.server.handle_input(&raw, p.now);
    assert_eq!(drain_server(&mut p.server), vec![ServerEvent::PushAck(4)]);
    assert_eq!(p.server.last_acked(), 4);
    assert_eq!(p.server.unacked_pushes(), 0);
}

#[test]
fn a_client_past_the_ack_window_is_told_slow_consumer() {
    let mut p = Pair::open(ServerConfig {
        max_unacked_pushes: 4,
        ..config()
    });
    // Acks slide the window.
    for round in 0..3 {
        for n in 0..4 {
            assert!(p.server.push(notice(n)).is_some(), "round {round}");
        }
        assert_eq!(p.deliver_to_client().len(), 4);
        p.client.ack_pushes();
        p.deliver_to_server();
    }
    for n in 0..4 {
        p.server.push(notice(n)).unwrap();
    }
    assert_eq!(p.server.push(notice(5)), None);
    let message = "more than 4 pushes sent and not acknowledged".to_string();
    assert_eq!(
        drain_server(&mut p.server),
        vec![ServerEvent::GoAway {
            code: ErrorCode::SLOW_CONSUMER,
            message: message.clone()
        }]
    );
    assert_eq!(p.server.last_acked(), 12);
    let events = p.deliver_to_client();
    assert_eq!(events.len(), 5);
    assert_eq!(
        goaway_of(&events),
        Some(&GoAway {
            code: ErrorCode::SLOW_CONSUMER,
            message
        })
    );
    assert!(p.server.is_closed());
    // Nothing is numbered or sent after the goodbye.
    assert_eq!(p.server.push(notice(6)), None);
    assert!(!p.server.respond(1, Ok(Response::Ok)));
    assert!(p.server.poll_transmit().is_empty());
}

#[test]
fn a_resumable_connection_keeps_what_was_not_acknowledged() {
    let mut p = Pair::open(ServerConfig {
        max_unacked_pushes: 4,
        ..config()
    });
    // Not kept before it is asked for.
    p.server.push(notice(0)).unwrap();
    assert!(!p.server.keeps_unacked());
    assert!(p.server.take_unacked().is_empty());
    p.server.keep_unacked();
    assert!(p.server.keeps_unacked());
    for n in 1..=3 {
        p.server.push(notice(n)).unwrap();
    }
    assert_eq!(p.deliver_to_client().len(), 4);
    // An ack drops what it covers.
    let mut raw = BytesMut::new();
    kefu_wire::PushAck { up_to: 2 }.write_frame(0, &mut raw);
    p.server.handle_input(&raw, p.now);
    assert_eq!(drain_server(&mut p.server), vec![ServerEvent::PushAck(2)]);
    // Past the window: the push that did not go is not numbered, nor kept here.
    p.server.push(notice(4)).unwrap();
    p.server.push(notice(5)).unwrap();
    assert_eq!(p.server.push(notice(6)), None);
    assert!(matches!(
        drain_server(&mut p.server).as_slice(),
        [ServerEvent::GoAway {
            code: ErrorCode::SLOW_CONSUMER,
            ..
        }]
    ));
    assert_eq!(
        p.server.take_unacked(),
        vec![
            (3, notice(2)),
            (4, notice(3)),
            (5, notice(4)),
            (6, notice(5))
        ]
    );
    assert_eq!(p.server.last_push_seq(), 6);
    assert!(p.server.take_unacked().is_empty(), "handed over once");
}

#[test]
fn a_replay_is_numbered_from_one_and_outside_the_ack_window() {
    let mut p = Pair::open(ServerConfig {
        max_unacked_pushes: 2,
        ..config()
    });
    p.server.keep_unacked();
    // Five replayed pushes on a window of two: all go out, numbered 1..=5.
    let seqs: Vec<u64> = (0..5)
        .map(|n| p.server.replay(notice(n)).unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    // The window counts from the end of the replay: two more fit, a third does not.
    assert_eq!(p.server.push(notice(5)), Some(6));
    assert_eq!(p.server.push(notice(6)), Some(7));
    let got: Vec<u64> = p
        .deliver_to_client()
        .iter()
        .map(|e| match e {
            ClientEvent::Push(Push { seq, .. }) => *seq,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, (1..=7).collect::<Vec<_>>());
    assert_eq!(p.server.push(notice(7)), None);
    // Everything sent is kept until acknowledged, the replay included.
    let kept: Vec<u64> = p.server.take_unacked().iter().map(|(s, _)| *s).collect();
    assert_eq!(kept, (1..=7).collect::<Vec<_>>());
    // Nothing is replayed on a closing connection.
    assert_eq!(p.server.replay(notice(8)), None);
}

#[test]
fn a_replay_larger_than_the_output_bound_goes_out_as_the_peer_reads() {
    let mut p = Pair::open(ServerConfig {
        max_pending_output: 300,
        ..config()
    });
    p.server.keep_unacked();
    // Far more than the bound: what a connection dropped for not reading left.
    for n in 0..50 {
        assert_eq!(p.server.replay(notice(n)), Some(n as u64 + 1));
    }
    // A push after the replay waits behind it.
    assert_eq!(p.server.push(notice(50)), Some(51));
    assert!(!p.server.is_closing(), "a replay is never a slow consumer");
    assert!(p.server.poll_transmit().len() <= 300);
    let mut got = Vec::new();
    while !p.server.poll_transmit().is_empty() {
        for e in p.deliver_to_client() {
            match e {
                ClientEvent::Push(Push { seq, .. }) => got.push(seq),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(got, (1..=51).collect::<Vec<_>>(), "all of it, in order");
    assert!(p.server.is_open());
}

#[test]
fn past_the_output_bound_the_go_away_goes_out_first() {
    let mut p = Pair::open(ServerConfig {
        max_pending_output: 300,
        ..config()
    });
    let mut pushed = 0;
    while !p.server.is_closing() {
        p.server.push(notice(pushed));
        pushed += 1;
    }
    assert!(pushed > 3);
    assert!(p.server.poll_transmit().len() < 100);
    let events = p.deliver_to_client();
    assert_eq!(
        events,
        vec![ClientEvent::GoAway(GoAway {
            code: ErrorCode::SLOW_CONSUMER,
            message: "more than 300 bytes of output pending".into()
        })]
    );
    assert!(p.server.is_closed());
}

#[test]
fn past_the_output_bound_a_frame_partly_written_is_finished_before_the_go_away() {
    let mut p = Pair::open(ServerConfig {
        max_pending_output: 300,
        ..config()
    });
    p.server.push(notice(0));
    // The transport took the first 5 bytes of the first push, then stalled.
    let head = p.server.poll_transmit()[..5].to_vec();
    p.server.consume_transmit(5);
    p.client.handle_input(&head).unwrap();
    let mut n = 1;
    while !p.server.is_closing() {
        p.server.push(notice(n));
        n += 1;
    }
    let events = p.deliver_to_client();
    assert_eq!(events.len(), 2);
    assert!(matches!(
        &events[0],
        ClientEvent::Push(Push { seq: 1, event }) if *event == notice(0)
    ));
    assert_eq!(
        goaway_of(&events).map(|g| g.code),
        Some(ErrorCode::SLOW_CONSUMER)
    );
}

#[test]
fn shedding_on_the_drivers_word_drops_the_backlog_but_finishes_a_frame_begun() {
    let mut p = Pair::open(config());
    for n in 0..20 {
        p.server.push(notice(n));
    }
    // The transport took the first 5 bytes of the first push, then stalled.
    let head = p.server.poll_transmit()[..5].to_vec();
    p.server.consume_transmit(5);
    p.client.handle_input(&head).unwrap();
    assert!(p.server.shed_output("over the daemon's budget"));
    assert!(p.server.is_closing());
    assert!(!p.server.shed_output("twice"), "already closing");
    // No event: the driver decided, and knows.
    assert_eq!(drain_server(&mut p.server), vec![]);
    let events = p.deliver_to_client();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(
        &events[0],
        ClientEvent::Push(Push { seq: 1, event }) if *event == notice(0)
    ));
    assert_eq!(
        goaway_of(&events),
        Some(&GoAway {
            code: ErrorCode::SLOW_CONSUMER,
            message: "over the daemon's budget".into()
        })
    );
    assert!(p.server.is_closed());
}

#[test]
fn a_silent_client_is_told_idle_timeout() {
    let mut p = Pair::open(config());
    let idle = Duration::from_secs(90);
    assert_eq!(p.server.poll_timeout(), Some(p.now + idle));
    // Any frame resets the timer.
    p.advance(Duration::from_secs(60));
    p.client.send_ping(1);
    p.deliver_to_server();
    assert_eq!(p.server.poll_timeout(), Some(p.now + idle));
    p.advance(Duration::from_secs(89));
    p.server.handle_timeout(p.now);
    assert!(p.server.is_open());
    p.advance(Duration::from_secs(1));
    p.server.handle_timeout(p.now);
    let message = "nothing received for 90 s".to_string();
    assert_eq!(
        drain_server(&mut p.server),
        vec![ServerEvent::GoAway {
            code: ErrorCode::IDLE_TIMEOUT,
            message: message.clone()
        }]
    );
    let events = p.deliver_to_client();
    assert_eq!(
        goaway_of(&events),
        Some(&GoAway {
            code: ErrorCode::IDLE_TIMEOUT,
            message
        })
    );
    assert!(p.server.is_closed());
}

#[test]
fn a_paused_connection_is_not_idle_and_keeps_its_input() {
    let mut p = Pair::open(config());
    let login = p.client.send_request(&Request::WhoAmI);
    let next = p.client.send_request(&Request::Logout);
    p.client.send_ping(5);
    let bytes = p.client.transmit().to_vec();
    p.client.consume_transmit(bytes.len());
    p.server.handle_input(&bytes, p.now);
    assert!(matches!(
        p.server.poll_event(),
        Some(ServerEvent::Request { correlation, .. }) if correlation == login
    ));
    p.server.pause();
    assert_eq!(p.server.poll_event(), None);
    assert_eq!(p.server.poll_timeout(), None);
    // Hours of password hashing, say: no idle timeout meanwhile.
    p.advance(Duration::from_secs(3600));
    p.server.handle_timeout(p.now);
    assert!(p.server.is_open());
    p.server.resume(p.now);
    assert_eq!(
        p.server.poll_timeout(),
        Some(p.now + Duration::from_secs(90))
    );
    assert!(matches!(
        p.server.poll_event(),
        Some(ServerEvent::Request { correlation, .. }) if correlation == next
    ));
    assert_eq!(p.server.poll_event(), None);
    // The ping behind was answered once reading resumed.
    assert_eq!(
        p.deliver_to_client(),
        vec![ClientEvent::Pong(kefu_wire::Pong { nonce: 5 })]
    );
}

#[test]
fn an_unread_request_is_yielded_again_after_the_connection_moves() {
    let mut p = Pair::open(config());
    let first = p.client.send_request(&Request::WhoAmI);
    let second = p.client.send_request(&Request::Logout);
    let bytes = p.client.transmit().to_vec();
    p.server.handle_input(&bytes, p.now);
    let event = p.server.poll_event();
    assert!(matches!(
        event,
        Some(ServerEvent::Request { correlation, .. }) if correlation == first
    ));
    assert!(p.server.unread_request());
    assert!(!p.server.unread_request());
    // Hand the whole connection to another thread.
    let moved = std::thread::spawn(move || {
        let mut server = p.server;
        drain_server(&mut server)
    })
    .join()
    .unwrap();
    assert_eq!(
        moved,
        vec![
            ServerEvent::Request {
                correlation: first,
                request: Request::WhoAmI
            },
            ServerEvent::Request {
                correlation: second,
                request: Request::Logout
            },
        ]
    );
}

#[test]
fn a_connection_without_a_hello_in_time_is_closed_without_a_word() {
    let t0 = Instant::now();
    let mut server = ServerConnection::new(config(), t0);
    let timeout = Duration::from_secs(10);
    assert_eq!(server.poll_timeout(), Some(t0 + timeout));
    // Part of a Hello is not a Hello.
    let client = ClientConnection::new("slow", 1 << 20);
    server.handle_input(&client.transmit()[..5], t0 + Duration::from_secs(9));
    assert_eq!(server.poll_event(), None);
    server.handle_timeout(t0 + Duration::from_secs(9));
    assert!(!server.is_closing());
    server.handle_timeout(t0 + timeout);
    assert_eq!(
        drain_server(&mut server),
        vec![ServerEvent::HandshakeTimeout]
    );
    assert!(server.is_closed());
    assert!(server.poll_transmit().is_empty());
    assert_eq!(server.poll_timeout(), None);
}

#[test]
fn the_client_pings_at_the_heartbeat_and_finds_a_dead_server() {
    let mut p = Pair::open(ServerConfig {
        heartbeat: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(90),
        ..config()
    });
    let t0 = p.now;
    assert_eq!(p.client.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    // A request sent and answered at 20 s moves the heartbeat.
    p.advance(Duration::from_secs(20));
    let c = p.client.send_request(&Request::WhoAmI);
    p.deliver_to_server();
    p.server.respond(c, Ok(Response::Ok));
    p.deliver_to_client();
    p.client.handle_timeout(p.now);
    assert_eq!(
        p.client.poll_timeout(),
        Some(p.now + Duration::from_secs(30))
    );
    p.advance(Duration::from_secs(30));
    p.client.handle_timeout(p.now);
    let ping_at = p.now;
    assert!(!p.client.transmit().is_empty());
    // The server answers; the heartbeat's pong raises no client event and the
    // server's idle timer restarts.
    assert_eq!(p.deliver_to_server(), vec![]);
    assert_eq!(
        p.server.poll_timeout(),
        Some(ping_at + Duration::from_secs(90))
    );
    assert_eq!(p.deliver_to_client(), vec![]);
    p.client.handle_timeout(p.now);
    assert_eq!(
        p.client.poll_timeout(),
        Some(ping_at + Duration::from_secs(30))
    );

    // The server goes silent: a ping each heartbeat, then dead at the idle timeout.
    let mut pings = 0;
    while let Some(at) = p.client.poll_timeout() {
        p.now = at;
        p.client.handle_timeout(p.now);
        if !p.client.transmit().is_empty() {
            pings += 1;
            let n = p.client.transmit().len();
            p.client.consume_transmit(n);
        }
    }
    assert_eq!(pings, 2);
    assert_eq!(p.now, ping_at + Duration::from_secs(90));
    assert!(p.client.is_server_dead());
    assert_eq!(
        drain_client(&mut p.client),
        vec![ClientEvent::ConnectionError(ErrorBody {
            code: ErrorCode::IDLE_TIMEOUT,
            message: "nothing received from the server for 90000 ms".into()
        })]
    );
}

/// An in-memory transport that serves requests with a `ServerConnection`,
/// pushing `pushes_per_request` events before each answer.
struct Loopback {
    server: ServerConnection,
    pushes_per_request: usize,
    next: usize,
}

impl io::Write for Loopback {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.server.handle_input(buf, Instant::now());
        while let Some(event) = self.server.poll_event() {
            if let ServerEvent::Request { correlation, .. } = event {
                for _ in 0..self.pushes_per_request {
                    self.server.push(notice(self.next));
                    self.next += 1;
                }
                self.server.respond(correlation, Ok(Response::Ok));
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for Loopback {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let out = self.server.poll_transmit();
        if out.is_empty() {
            // The client would block: nothing more will come.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = out.len().min(buf.len());
        buf[..n].copy_from_slice(&out[..n]);
        self.server.consume_transmit(n);
        Ok(n)
    }
}

impl Transport for Loopback {
    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_blocking_client_acks_pushes_it_was_not_asked_for() {
    let window = 200;
    let transport = Loopback {
        server: ServerConnection::new(
            Arc::new(ServerConfig {
                max_unacked_pushes: window,
                ..config()
            }),
            Instant::now(),
        ),
        pushes_per_request: 50,
        next: 0,
    };
    let mut client = Client::handshake(Box::new(transport), ClientOptions::default()).unwrap();
    // Twenty requests bring 1,000 pushes, five windows' worth, none asked for.
    for _ in 0..20 {
        assert_eq!(client.request(&Request::WhoAmI).unwrap(), Response::Ok);
    }
    let mut seen = 0;
    while client.next_push(Duration::ZERO).unwrap().is_some() {
        seen += 1;
    }
    assert_eq!(seen, 1000);
}

/// A `Login` whose password makes its body `len`-ish bytes long.
fn big_login(len: usize) -> Request {
    Request::Login {
        account: 800001,
        agent: 1001,
        password: "x".repeat(len),
        otp: None,
    }
}

#[test]
fn before_login_a_frame_over_the_pre_login_limit_is_refused_from_its_header() {
    let mut p = Pair::anonymous(config());
    assert_eq!(
        p.server.frame_limit(),
        kefu_wire::server::DEFAULT_MAX_FRAME_BEFORE_LOGIN
    );
    let mut header = BytesMut::new();
    header.extend_from_slice(&4097u32.to_be_bytes());
    header.extend_from_slice(&(FrameKind::Request as u16).to_be_bytes());
    header.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
    p.server.handle_input(&header, p.now);
    let message = "frame body of 4097 bytes exceeds the maximum of 4096".to_string();
    assert_eq!(
        drain_server(&mut p.server),
        vec![ServerEvent::Fatal {
            code: ErrorCode::FRAME_TOO_LARGE,
            message: message.clone(),
            protocol_error: true,
        }]
    );
    // The body is never buffered.
    p.server.handle_input(&[0u8; 4097], p.now);
    assert_eq!(p.server.poll_event(), None);
    assert_eq!(
        p.deliver_to_client(),
        vec![ClientEvent::ConnectionError(ErrorBody {
            code: ErrorCode::FRAME_TOO_LARGE,
            message
        })]
    );
    assert!(p.server.is_closed());

    // Logged in, the same frame is accepted.
    let mut p = Pair::open(config());
    assert_eq!(p.server.frame_limit(), kefu_wire::DEFAULT_MAX_FRAME);
    let correlation = p.client.send_request(&big_login(8000));
    assert!(matches!(
        p.deliver_to_server().as_slice(),
        [ServerEvent::Request { correlation: c, .. }] if *c == correlation
    ));
}

#[test]
fn a_large_frame_behind_a_login_waits_for_the_login() {
    for login_succeeds in [true, false] {
        let mut p = Pair::anonymous(config());
        let login = p.client.send_request(&big_login(8));
        let big = p.client.send_request(&big_login(8000));
        let bytes = p.client.transmit().to_vec();
        p.client.consume_transmit(bytes.len());
        // The login and the header of the large frame arrive together.
        p.server.handle_input(&bytes[..200], p.now);
        assert!(matches!(
            p.server.poll_event(),
            Some(ServerEvent::Request { correlation, .. }) if correlation == login
        ));
        // The driver hashes the password meanwhile; reading waits.
        p.server.pause();
        assert_eq!(p.server.poll_event(), None);
        p.server.set_logged_in(login_succeeds, p.now);
        p.server.resume(p.now);
        p.server.handle_input(&bytes[200..], p.now);
        let events = drain_server(&mut p.server);
        if login_succeeds {
            assert!(matches!(
                events.as_slice(),
                [ServerEvent::Request { correlation, .. }] if *correlation == big
            ));
        } else {
            assert!(matches!(
                events.as_slice(),
                [ServerEvent::Fatal {
                    code: ErrorCode::FRAME_TOO_LARGE,
                    ..
                }]
            ));
            assert!(p.server.is_closing());
        }
    }
}

#[test]
fn a_connection_not_logged_in_in_time_is_told_to_go() {
    let mut p = Pair::anonymous(config());
    let login = Duration::from_secs(30);
    assert_eq!(p.server.poll_timeout(), Some(p.now + login));
    // Pings do not put the deadline off.
    p.advance(Duration::from_secs(20));
    p.client.send_ping(1);
    p.deliver_to_server();
    assert_eq!(
        p.server.poll_timeout(),
        Some(p.now + Duration::from_secs(10))
    );
    p.advance(Duration::from_secs(10));
    p.server.handle_timeout(p.now);
    let message = "not logged in within 30 s".to_string();
    assert_eq!(
        drain_server(&mut p.server),
        vec![ServerEvent::GoAway {
            code: ErrorCode::IDLE_TIMEOUT,
            message: message.clone()
        }]
    );
    assert_eq!(
        goaway_of(&p.deliver_to_client()),
        Some(&GoAway {
            code: ErrorCode::IDLE_TIMEOUT,
            message
        })
    );

    // Logged in, then out: the deadline counts from the logout.
    let mut p = Pair::open(config());
    assert_eq!(
        p.server.poll_timeout(),
        Some(p.now + Duration::from_secs(90))
    );
    p.advance(Duration::from_secs(50));
    p.server.set_logged_in(false, p.now);
    assert_eq!(p.server.poll_timeout(), Some(p.now + login));
}
