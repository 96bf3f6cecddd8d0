//! `kefu-load stall`: stalled readers. Opens many connections that log in as
//! anonymous visitors (`VisitorLogin`, no conversation) of an existing account and
//! then never read again, optionally sending pings whose pongs pile up towards
//! them; run it beside a chat scenario to see what they cost the daemon (memory)
//! and the other clients (latency). At the end it reads every connection once and
//! tallies how each ended: told `GoAway` (by code), closed without a word, or
//! still open with the bytes it had waiting.
//!
//! With `--broadcast-chars N` the readers are instead customers of a fresh account
//! of the tool's own, to which its agent broadcasts N-character messages at
//! `--broadcasts-per-sec` (`stall_broadcast.rs`; each submitted and approved, then
//! fanned out by the daemon): real pushes of stored messages, enough to fill
//! thousands of readers' buffers.
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
    /// The daemon's admin socket (needed by --broadcast-chars).
    #[arg(long)]
    pub admin_socket: Option<std::path::PathBuf>,
    /// Make the readers customers of a new account `--account` (created here) and
    /// broadcast messages of this many characters (1..=4000) to all of them.
    #[arg(long, default_value_t = 0)]
    pub broadcast_chars: usize,
    /// Broadcasts per second while holding (with --broadcast-chars).
    #[arg(long, default_value_t = 1.0)]
    pub broadcasts_per_sec: f64,
    /// Contacts of the broadcast account (with --broadcast-chars; at least
    /// --readers, at most 100,000): every broadcast goes to all of them, only
    /// --readers of them log in.
    #[arg(long, default_value_t = 0)]
    pub contacts: usize,
}

impl StallArgs {
    /// The broadcast account's contacts: the readers, or more.
    pub fn contacts(&self) -> usize {
        self.contacts.max(self.readers)
    }
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
    if args.broadcast_chars > 4000 || !(0.0..=100.0).contains(&args.broadcasts_per_sec) {
        bail!("--broadcast-chars must be 0..=4000 and --broadcasts-per-sec 0..=100");
    }
    if args.contacts() > kefu_wire::valueadded::MAX_BROADCAST_RECIPIENTS {
        bail!("--contacts must be at most 100,000");
    }
    let start = Instant::now();
    let prepared = if args.broadcast_chars > 0 {
        Some(crate::stall_broadcast::prepare(args)?)
    } else {
        None
    };
    let mut streams = Vec::with_capacity(args.readers);
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..args.readers {
        match open(args, i, prepared.as_ref()) {
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
    let mut broadcaster = match &prepared {
        Some(_) => Some(crate::stall_broadcast::broadcaster(args)?),
        None => None,
    };
    let held = hold(args, &streams, broadcaster.as_mut());
    let (ends, waiting) = finish_all(&mut streams);
    let mut out = format!(
        "stalled readers: {} logged in, {} pings sent ({} would have blocked)\n",
        streams.len(),
        held.pings,
        held.blocked
    );
    if broadcaster.is_some() {
        out += &format!(
            "  broadcasts: {} submitted and approved, {} recipients stored and pushed to; fan-out \
             (approval to Done) {}; {} refused{}\n",
            held.broadcasts,
            held.stored,
            held.fan_outs
                .iter()
                .map(|s| format!("{s:.2} s"))
                .collect::<Vec<_>>()
                .join(", "),
            held.broadcast_errors,
            held.last_error
                .as_ref()
                .map_or_else(String::new, |e| format!(" (last: {e})"))
        );
    }
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

/// Connects from 127.0.0.(100 + i % 100), logs in as a new visitor (or, broadcasting,
/// as customer `i` of the tool's account), returns the stream non-blocking.
fn open(
    args: &StallArgs,
    i: usize,
    prepared: Option<&crate::stall_broadcast::Prepared>,
) -> anyhow::Result<TcpStream> {
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
    // A small receive buffer, fixed before connecting: a reader that stops holds
    // little in its own kernel, so what piles up is the daemon's (and the machine's
    // TCP memory, shared with everything else on it, is spared).
    socket.set_recv_buffer_size(4096)?;
    socket.bind(&SocketAddr::new(source, 0).into())?;
    socket.connect_timeout(&args.server.into(), Duration::from_secs(10))?;
    let mut stream: TcpStream = socket.into();
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut proto = ClientConnection::new("kefu-load-stall", kefu_wire::DEFAULT_MAX_FRAME);
    let login = match prepared {
        None => Request::VisitorLogin {
            account: args.account,
            token: None,
            channel: kefu_wire::chat::Channel::Web,
        },
        Some(p) => {
            let customer = crate::stall_broadcast::customer(i);
            let expires_at = crate::provision::unix_now() + 86_400;
            Request::CustomerLogin {
                account: args.account,
                signature: crate::signing::sign_customer(
                    &p.key,
                    args.account,
                    &customer,
                    expires_at,
                ),
                customer,
                expires_at,
                channel: kefu_wire::chat::Channel::Web,
            }
        }
    };
    let corr = proto.send_request(&login);
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
                        Err(e) => bail!("{}:{:?}", login.name(), e.code),
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

/// What holding did.
#[derive(Default)]
struct Held {
    pings: u64,
    blocked: u64,
    broadcasts: u64,
    stored: u64,
    fan_outs: Vec<f64>,
    broadcast_errors: u64,
    last_error: Option<String>,
}

/// Holds the readers for `hold_secs`, sending pings round-robin at the rate and,
/// with a broadcaster, broadcasts at theirs.
fn hold(
    args: &StallArgs,
    streams: &[TcpStream],
    mut agent: Option<&mut crate::stall_broadcast::Broadcaster>,
) -> Held {
    let start = Instant::now();
    let hold = Duration::from_secs_f64(args.hold_secs);
    let (mut sent, mut blocked) = (0u64, 0u64);
    let mut held = Held::default();
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
        if let Some(agent) = agent.as_deref_mut() {
            let due = (start.elapsed().as_secs_f64() * args.broadcasts_per_sec) as u64;
            if held.broadcasts + held.broadcast_errors < due {
                let round = held.broadcasts + held.broadcast_errors;
                match crate::stall_broadcast::broadcast(
                    agent,
                    args.contacts(),
                    args.broadcast_chars,
                    round,
                ) {
                    Ok((n, secs)) => {
                        held.broadcasts += 1;
                        held.stored += n;
                        held.fan_outs.push(secs);
                    }
                    Err(e) => {
                        held.broadcast_errors += 1;
                        held.last_error = Some(format!("{e:#}"));
                    }
                }
            }
        }
        // The tool's own pacing (no synchronisation with the daemon).
        std::thread::sleep(Duration::from_millis(2));
    }
    held.pings = sent;
    held.blocked = blocked;
    held
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
