//! `kefu-load stall`: stalled readers. Opens many connections that log in as
//! anonymous visitors (`VisitorLogin`, no conversation) of an existing account and
//! then never read again, optionally sending pings whose pongs pile up towards
//! them; run it beside a chat scenario to see what they cost the daemon (memory)
//! and the other clients (latency). At the end it reads every connection once and
//! tallies how each ended: told `GoAway` (by code), closed without a word, or
//! still open with the bytes it had waiting.
//!
//! Loopback only (the flags are checked like the other scenarios'); bounded in
//! time (`--hold-secs`) and count (`--readers`, within the descriptor limit).

use crate::cli::{parse_loopback_server, FD_RESERVE};
use anyhow::{bail, Context};
use clap::Args;
use kefu_wire::{Body, ClientConnection, ClientEvent, Ping, Request};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Flags of `kefu-load stall`.
#[derive(Debug, Args)]
pub struct StallArgs {
    /// The daemon's client address, IP:PORT on loopback.
    #[arg(long, value_parser = parse_loopback_server)]
    pub server: SocketAddr,
    /// An existing account (a chat scenario's, once provisioned).
    #[arg(long)]
    pub account: u64,
    /// Connections to open, log in and stop reading.
    #[arg(long)]
    pub readers: usize,
    /// Pings per second over all readers, round-robin (never read: the pongs pile
    /// up towards them).
    #[arg(long, default_value_t = 0.0)]
    pub pings_per_sec: f64,
    /// How long to hold them, seconds.
    #[arg(long, default_value_t = 30.0)]
    pub hold_secs: f64,
}

/// Runs it; the tally on stdout.
pub fn run(args: &StallArgs, fd_limit: u64) -> anyhow::Result<bool> {
    if args.readers as u64 + FD_RESERVE > fd_limit {
        bail!(
            "{} readers need more file descriptors than the limit ({fd_limit}); raise ulimit -n",
            args.readers
        );
    }
    if !(0.0..=1e6).contains(&args.pings_per_sec) || !(0.0..=3600.0).contains(&args.hold_secs) {
        bail!("--pings-per-sec must be 0..=1e6 and --hold-secs 0..=3600");
    }
    let start = Instant::now();
    let mut streams = Vec::with_capacity(args.readers);
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..args.readers {
        match open(args, i) {
            Ok(s) => streams.push(s),
            Err(e) => *refused.entry(format!("{e:#}")).or_default() += 1,
        }
    }
    eprintln!(
        "kefu-load stall: {} readers logged in ({} refused) in {:.1} s; holding {} s",
        streams.len(),
        refused.values().sum::<u64>(),
        start.elapsed().as_secs_f64(),
        args.hold_secs
    );
    let (pings, blocked) = hold(args, &streams);
    let (ends, waiting) = finish_all(&mut streams);
    let mut out = format!(
        "stalled readers: {} logged in, {} pings sent ({} would have blocked)\n",
        streams.len(),
        pings,
        blocked
    );
    for (why, n) in &refused {
        out += &format!("  refused at login: {n} x {why}\n");
    }
    for (end, n) in &ends {
        out += &format!("  ended: {n} x {end}\n");
    }
    out += &format!("  bytes waiting for them at the end: {waiting}\n");
    crate::print(&out)?;
    Ok(refused.is_empty())
}

/// Connects from 127.0.0.(100 + i % 100), logs in as a new visitor, returns the
/// stream non-blocking.
fn open(args: &StallArgs, i: usize) -> anyhow::Result<TcpStream> {
    let source = if args.server.is_ipv4() {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 100 + (i % 100) as u8))
    } else {
        args.server.ip()
    };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(args.server),
        socket2::Type::STREAM,
        None,
    )?;
    socket.bind(&SocketAddr::new(source, 0).into())?;
    socket.connect_timeout(&args.server.into(), Duration::from_secs(10))?;
    let mut stream: TcpStream = socket.into();
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut proto = ClientConnection::new("kefu-load-stall", kefu_wire::DEFAULT_MAX_FRAME);
    let corr = proto.send_request(&Request::VisitorLogin {
        account: args.account,
        token: None,
        channel: kefu_wire::chat::Channel::Web,
    });
    stream.write_all(proto.transmit())?;
    let n = proto.transmit().len();
    proto.consume_transmit(n);
    let mut buf = [0u8; 4096];
    loop {
        while let Some(event) = proto.poll_event() {
            match event {
                ClientEvent::Response {
                    correlation,
                    result,
                } if correlation == corr => {
                    return match result {
                        Ok(_) => {
                            stream.set_nonblocking(true)?;
                            Ok(stream)
                        }
                        Err(e) => bail!("VisitorLogin:{:?}", e.code),
                    };
                }
                ClientEvent::GoAway(g) => bail!("GoAway {:?}", g.code),
                ClientEvent::ConnectionError(e) => bail!("Error {:?}", e.code),
                _ => {}
            }
        }
        let n = stream
            .read(&mut buf)
            .context("reading the login's answer")?;
        if n == 0 {
            bail!("closed at login");
        }
        proto.handle_input(buf.get(..n).unwrap_or_default())?;
    }
}

/// Holds the readers for `hold_secs`, sending pings round-robin at the rate;
/// returns the pings sent and those the socket would not take.
fn hold(args: &StallArgs, streams: &[TcpStream]) -> (u64, u64) {
    let start = Instant::now();
    let hold = Duration::from_secs_f64(args.hold_secs);
    let (mut sent, mut blocked) = (0u64, 0u64);
    let mut frame = bytes::BytesMut::new();
    let mut next = 0usize;
    while start.elapsed() < hold {
        let due = (start.elapsed().as_secs_f64() * args.pings_per_sec) as u64;
        while sent + blocked < due && !streams.is_empty() {
            frame.clear();
            Ping { nonce: sent }.write_frame(0, &mut frame);
            let mut s = &streams[next % streams.len()];
            next += 1;
            match s.write(&frame) {
                Ok(n) if n == frame.len() => sent += 1,
                _ => blocked += 1,
            }
        }
        // The tool's own pacing (no synchronisation with the daemon).
        std::thread::sleep(Duration::from_millis(2));
    }
    (sent, blocked)
}

/// Reads what waits for every reader, all of them side by side for about two
/// seconds (a reader that reads again gets what the server's kernel held as its
/// window opens): how each ended, and the bytes that were waiting in all.
fn finish_all(streams: &mut [TcpStream]) -> (BTreeMap<String, u64>, u64) {
    let decoder = kefu_wire::FrameDecoder::new(kefu_wire::MAX_FRAME_CEILING);
    let mut state: Vec<(bytes::BytesMut, Option<String>)> = streams
        .iter()
        .map(|_| (bytes::BytesMut::new(), None))
        .collect();
    let mut buf = vec![0u8; 64 * 1024];
    let mut waiting = 0u64;
    for _pass in 0..100 {
        let mut open = 0;
        for (s, (input, end)) in streams.iter_mut().zip(state.iter_mut()) {
            if end.is_some() {
                continue;
            }
            loop {
                match s.read(&mut buf) {
                    Ok(0) => {
                        *end = Some("closed without a GoAway".into());
                        break;
                    }
                    Ok(n) => {
                        waiting += n as u64;
                        input.extend_from_slice(buf.get(..n).unwrap_or_default());
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => {
                        *end = Some(format!("reset ({})", e.kind()));
                        break;
                    }
                }
            }
            loop {
                match decoder.decode(input) {
                    Ok(Some(frame)) if frame.kind == kefu_wire::FrameKind::GoAway => {
                        let code = kefu_wire::GoAway::decode(&frame.body)
                            .map_or_else(|_| "?".into(), |g| format!("{:?}", g.code));
                        *end = Some(format!("GoAway {code}"));
                        break;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => {
                        *end = Some("undecodable stream".into());
                        break;
                    }
                }
            }
            if end.is_none() {
                open += 1;
            }
        }
        if open == 0 {
            break;
        }
        // The tool's own pacing between passes (no synchronisation with the daemon).
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut ends = BTreeMap::new();
    for (_, end) in state {
        let end = end.unwrap_or_else(|| "still open, nothing more to read".into());
        *ends.entry(end).or_default() += 1;
    }
    (ends, waiting)
}
