//! Baselines: the chat run's traffic pattern through something with no
//! application logic, measured by the same kind of open-loop driver, so that
//! kefud's rate and latency can be stated as ratios.
//!
//! The pattern: `pairs` sender/receiver connections, one [`Schedule`] (same
//! rate, ramp, warm-up, duration, message texts and sizes as the chat run),
//! message `i` sent by pair `(i / threads) % pairs-of-the-thread` of thread
//! `i % threads`, latency from its due time to its arrival at the receiver.
//! Two targets:
//! - [`relay`]: a mio relay in this process: the speed of light on this box;
//! - [`nats`]: a `nats-server` child process, over the NATS text protocol.
//!
//! A thread owns its pairs' senders and receivers, so it counts what it sent
//! and received without sharing; threads start the schedule together.

pub mod nats;
pub mod relay;

use crate::cpu_window;
use crate::driver::micros;
use crate::report::{new_histogram, FailureCounts, LatencySummary};
use crate::schedule::Schedule;
use crate::sys::EpollWait;
use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use serde::Serialize;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

/// Messages queued per turn at most, so that arrivals keep being read.
const SENDS_PER_TURN: usize = 4096;
/// Time between the last thread being ready and the first due message.
const LEAD: Duration = Duration::from_millis(50);

/// Which server the pattern goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The built-in relay.
    Relay,
    /// nats-server.
    Nats,
}

impl Kind {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Relay => "relay",
            Kind::Nats => "nats-server",
        }
    }
}

/// One baseline run.
#[derive(Debug, Clone)]
pub struct PairSpec {
    /// Where the server listens (loopback).
    pub server: SocketAddr,
    /// Which protocol it speaks.
    pub kind: Kind,
    /// Sender/receiver pairs.
    pub pairs: usize,
    /// Messages per second over all pairs.
    pub rate: f64,
    /// Ramp-up, warm-up, measured window and drain.
    pub ramp: Duration,
    /// Warm-up (not measured).
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Time allowed after the last due message.
    pub drain: Duration,
    /// Smallest and largest message size, bytes.
    pub sizes: (usize, usize),
    /// Driver threads.
    pub threads: usize,
    /// Give up after this long, whatever is outstanding.
    pub timeout: Duration,
    /// The server's pid, for its CPU time.
    pub server_pid: Option<u32>,
}

impl PairSpec {
    /// The schedule every thread follows from `t0`.
    fn schedule(&self, t0: Instant, nonce: u32) -> Schedule {
        Schedule::shaped(
            t0,
            self.rate,
            self.ramp,
            self.warmup,
            self.duration,
            nonce,
            self.sizes,
        )
    }
}

/// What a baseline run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    /// `relay` or `nats-server`.
    pub name: &'static str,
    /// Its address.
    pub server: String,
    /// Pairs.
    pub pairs: usize,
    /// Target messages per second.
    pub target_per_sec: f64,
    /// Messages scheduled.
    pub planned: u64,
    /// Messages written to a sender connection.
    pub sent: u64,
    /// Messages received (first time).
    pub delivered: u64,
    /// Sent and not received by the end of the drain.
    pub lost: u64,
    /// Received more than once.
    pub duplicated: u64,
    /// Connection and protocol failures.
    pub errors: FailureCounts,
    /// The measured window, seconds.
    pub window_secs: f64,
    /// Receptions per second within the window.
    pub delivered_per_sec: f64,
    /// Due time → arrival at the receiver, microseconds (measured messages).
    pub end_to_end_us: LatencySummary,
    /// CPU the server used over the traffic, seconds (nats-server only: the
    /// relay runs inside this process).
    pub server_cpu_secs: Option<f64>,
    /// CPU the server used within the measured window, seconds (`None` when
    /// it runs inside this process or could not be read).
    pub server_cpu_secs_in_window: Option<f64>,
    /// CPU this process (the generator) used within the measured window.
    pub tool_cpu_secs_in_window: Option<f64>,
    /// The whole machine over the measured window (busy cores, steal, load).
    pub host_in_window: Option<cpu_window::HostWindow>,
    /// Every message through exactly once, no error.
    pub ok: bool,
    /// The full histogram (not serialised).
    #[serde(skip)]
    pub histogram: Option<Histogram<u64>>,
}

/// What one thread did.
struct Outcome {
    planned: u64,
    sent: u64,
    delivered: u64,
    duplicated: u64,
    delivered_in_window: u64,
    errors: FailureCounts,
    e2e: Histogram<u64>,
}

/// Runs the pattern through `spec.server`; an `Err` only if nothing could run.
pub fn run(spec: &PairSpec) -> anyhow::Result<BaselineReport> {
    let threads = spec.threads.clamp(1, spec.pairs.max(1));
    // The driver threads and the CPU monitor meet before the schedule starts.
    let barrier = Barrier::new(threads + 1);
    let start = OnceLock::new();
    let nonce = std::process::id() ^ 0x6b65_6675;
    let deadline = Instant::now() + spec.timeout;
    let cpu0 = spec.server_pid.and_then(crate::memory::cpu_secs);
    let (outcomes, window_cpu) = std::thread::scope(|s| {
        let (barrier_m, start_m) = (&barrier, &start);
        let monitor = s.spawn(move || {
            barrier_m.wait();
            let t0 = *start_m.get_or_init(|| Instant::now() + LEAD);
            let (from, until) = spec.schedule(t0, nonce).window();
            cpu_window::measure(spec.server_pid, from, until, deadline)
        });
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, start) = (&barrier, &start);
                s.spawn(move || drive(spec, t, threads, barrier, start, nonce, deadline))
            })
            .collect();
        let outcomes: Vec<Outcome> = handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(o) => o,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect();
        match monitor.join() {
            Ok(w) => (outcomes, w),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let server_cpu_secs = match (cpu0, spec.server_pid.and_then(crate::memory::cpu_secs)) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let mut e2e = new_histogram();
    let mut errors = FailureCounts::default();
    let (mut planned, mut sent, mut delivered, mut duplicated, mut in_window) = (0, 0, 0, 0, 0);
    for o in &outcomes {
        planned += o.planned;
        sent += o.sent;
        delivered += o.delivered;
        duplicated += o.duplicated;
        in_window += o.delivered_in_window;
        errors.merge(&o.errors);
        let _ = e2e.add(&o.e2e);
    }
    let window_secs = spec.duration.as_secs_f64();
    let lost = sent.saturating_sub(delivered);
    Ok(BaselineReport {
        name: spec.kind.name(),
        server: spec.server.to_string(),
        pairs: spec.pairs,
        target_per_sec: spec.rate,
        planned,
        sent,
        delivered,
        lost,
        duplicated,
        ok: planned > 0
            && sent == planned
            && delivered == planned
            && duplicated == 0
            && errors.is_empty(),
        errors,
        window_secs,
        delivered_per_sec: if window_secs > 0.0 {
            in_window as f64 / window_secs
        } else {
            0.0
        },
        end_to_end_us: LatencySummary::of(&e2e),
        server_cpu_secs,
        server_cpu_secs_in_window: window_cpu.server_secs,
        tool_cpu_secs_in_window: window_cpu.tool_secs,
        host_in_window: window_cpu.host,
        histogram: Some(e2e),
    })
}

/// One connection of a pair.
struct PConn {
    stream: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
    ready: bool,
    alive: bool,
}

impl PConn {
    fn open(server: SocketAddr, hello: Vec<u8>) -> io::Result<PConn> {
        // Loopback connects complete at once; blocking keeps setup simple.
        let std = std::net::TcpStream::connect(server)?;
        std.set_nodelay(true)?;
        std.set_nonblocking(true)?;
        Ok(PConn {
            stream: TcpStream::from_std(std),
            input: Vec::new(),
            output: hello,
            ready: false,
            alive: true,
        })
    }

    /// Writes what it can; `false` on failure.
    fn flush(&mut self) -> bool {
        let mut done = 0;
        while done < self.output.len() {
            match self.stream.write(&self.output[done..]) {
                Ok(0) => return false,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        self.output.drain(..done);
        true
    }

    /// Reads what is there; `false` on failure or end of stream.
    ///
    /// Unless `drain` (the peer closed or the socket failed), a short read ends
    /// the reading: the sockets are edge-triggered, so bytes arriving later raise
    /// a new event, and the read that would only say `EAGAIN` is saved (one
    /// syscall per readable connection per turn).
    fn fill(&mut self, buf: &mut [u8], drain: bool) -> bool {
        loop {
            match self.stream.read(buf) {
                Ok(0) => return false,
                Ok(n) => {
                    self.input.extend_from_slice(&buf[..n]);
                    if n < buf.len() && !drain {
                        return true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }
}

/// Hands each complete payload in a connection's input to `on_payload` (in
/// place, no copy for the relay) and notes readiness.
fn parse(kind: Kind, c: &mut PConn, on_payload: &mut impl FnMut(&[u8])) -> Result<(), String> {
    match kind {
        Kind::Relay => {
            let mut at = 0;
            if !c.ready {
                if c.input.first() == Some(&b'+') {
                    c.ready = true;
                    at = 1;
                } else {
                    return Ok(());
                }
            }
            while let Some(head) = c.input.get(at..at + 4) {
                let n = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
                let Some(payload) = c.input.get(at + 4..at + 4 + n) else {
                    break;
                };
                on_payload(payload);
                at += 4 + n;
            }
            c.input.drain(..at);
        }
        Kind::Nats => {
            let ready = &mut c.ready;
            nats::wire::parse(&mut c.input, &mut c.output, &mut |item| match item {
                nats::wire::Item::Pong => *ready = true,
                nats::wire::Item::Msg(p) => on_payload(p),
            })?;
        }
    }
    Ok(())
}

/// One thread: connect its pairs, wait for the others, run its share.
fn drive(
    spec: &PairSpec,
    t: usize,
    threads: usize,
    barrier: &Barrier,
    start: &OnceLock<Instant>,
    nonce: u32,
    deadline: Instant,
) -> Outcome {
    let mut out = Outcome {
        planned: 0,
        sent: 0,
        delivered: 0,
        duplicated: 0,
        delivered_in_window: 0,
        errors: FailureCounts::default(),
        e2e: new_histogram(),
    };
    let pairs: Vec<usize> = (0..spec.pairs).filter(|p| p % threads == t).collect();
    let setup = connect_pairs(spec, &pairs, deadline);
    // Everyone meets here, ready or not, so that no thread waits forever.
    barrier.wait();
    let t0 = *start.get_or_init(|| Instant::now() + LEAD);
    let schedule = spec.schedule(t0, nonce);
    // This thread's messages: t, t + threads, ...
    out.planned = schedule
        .total
        .saturating_sub(t as u64)
        .div_ceil(threads as u64);
    let (poll, mut conns) = match setup {
        Ok(x) => x,
        Err(key) => {
            out.errors.add(&key);
            return out;
        }
    };
    let n = pairs.len();
    if n == 0 {
        return out;
    }
    // Waits end on the due time itself (no timer slack), without a timer to re-arm.
    if crate::sys::precise_sleeps().is_err() {
        out.errors.add("timer");
        return out;
    }
    let mut wait = EpollWait::new(1024);
    let mut buf = vec![0u8; 256 * 1024];
    let mut seen = vec![false; out.planned as usize];
    let (from, until) = schedule.window();
    let drain_until = schedule.at(schedule.total) + spec.drain;
    let mut next = t as u64;
    // Reused every message: nothing is allocated per message on either path.
    let mut text = String::new();
    // Senders with something to write this turn (each listed once).
    let mut dirty: Vec<usize> = Vec::with_capacity(n);
    let mut listed = vec![false; n];
    loop {
        let now = Instant::now();
        let mut sent = 0;
        while next < schedule.total && sent < SENDS_PER_TURN && schedule.at(next) <= now {
            let k = ((next / threads as u64) % n as u64) as usize;
            let c = &mut conns[n + k];
            if c.alive {
                match spec.kind {
                    // Framed and written straight into the output: no copy, no formatting.
                    Kind::Relay => {
                        relay::wire::frame_header(schedule.text_len(next), &mut c.output);
                        schedule.append_text(next, &mut c.output);
                    }
                    Kind::Nats => {
                        schedule.write_text(next, &mut text);
                        nats::wire::publish(pairs[k], text.as_bytes(), &mut c.output);
                    }
                }
                out.sent += 1;
                if !std::mem::replace(&mut listed[k], true) {
                    dirty.push(k);
                }
            } else {
                out.errors.add("not_sent:connection_lost");
            }
            next += threads as u64;
            sent += 1;
        }
        // Everything due on a connection goes out in one write.
        for k in dirty.drain(..) {
            listed[k] = false;
            if !conns[n + k].flush() {
                lose(&mut conns[n + k], &mut out.errors, "sender");
            }
        }
        let now = Instant::now();
        let all_sent = next >= schedule.total;
        if (all_sent && out.delivered + out.duplicated >= out.sent) || now >= drain_until {
            break;
        }
        if now >= deadline {
            out.errors.add("timeout");
            break;
        }
        let timeout = if all_sent {
            Duration::from_millis(5)
        } else {
            schedule.at(next).saturating_duration_since(now)
        };
        match wait.wait(&poll, timeout.min(deadline - now)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                out.errors.add("poll");
                break;
            }
        }
        for (slot, closed) in wait.ready() {
            let Some(c) = conns.get_mut(slot) else {
                continue;
            };
            if !c.alive {
                continue;
            }
            let role = if slot < n { "receiver" } else { "sender" };
            if !c.fill(&mut buf, closed) {
                lose(c, &mut out.errors, role);
                continue;
            }
            // The moment the bytes were in hand: every latency ends here.
            let now = Instant::now();
            let mut on_payload = |p: &[u8]| {
                let Some(i) = schedule.index_of_bytes(p) else {
                    out.errors.add("foreign_message");
                    return;
                };
                let Some(cell) = seen.get_mut((i / threads as u64) as usize) else {
                    return;
                };
                if std::mem::replace(cell, true) {
                    out.duplicated += 1;
                    return;
                }
                out.delivered += 1;
                if schedule.measured(i) {
                    out.e2e.saturating_record(
                        micros(now.saturating_duration_since(schedule.at(i))).max(1),
                    );
                }
                if (from..until).contains(&now) {
                    out.delivered_in_window += 1;
                }
            };
            if let Err(e) = parse(spec.kind, c, &mut on_payload) {
                out.errors.add(&format!("{role}:{e}"));
                lose(c, &mut out.errors, role);
                continue;
            }
            if !c.output.is_empty() && !c.flush() {
                lose(c, &mut out.errors, role);
            }
        }
    }
    out
}

fn lose(c: &mut PConn, errors: &mut FailureCounts, role: &str) {
    if c.alive {
        c.alive = false;
        errors.add(&format!("{role}:connection_lost"));
    }
}

/// Connects the receivers, then the senders, of `pairs`; each ready when the
/// server says so. Slots `0..n` are receivers, `n..2n` senders.
fn connect_pairs(
    spec: &PairSpec,
    pairs: &[usize],
    deadline: Instant,
) -> Result<(Poll, Vec<PConn>), String> {
    let mut poll = Poll::new().map_err(|e| format!("poll:{:?}", e.kind()))?;
    let mut conns = Vec::with_capacity(2 * pairs.len());
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    for receivers in [true, false] {
        let first = conns.len();
        for &p in pairs {
            let hello = match (spec.kind, receivers) {
                (Kind::Relay, true) => relay::wire::hello(b'R', p),
                (Kind::Relay, false) => relay::wire::hello(b'S', p),
                (Kind::Nats, r) => nats::wire::hello(r, p),
            };
            let mut c =
                PConn::open(spec.server, hello).map_err(|e| format!("connect:{:?}", e.kind()))?;
            poll.registry()
                .register(
                    &mut c.stream,
                    Token(conns.len()),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .map_err(|e| format!("register:{:?}", e.kind()))?;
            if !c.flush() {
                return Err("hello:write".into());
            }
            conns.push(c);
        }
        while conns[first..].iter().any(|c| !c.ready) {
            let now = Instant::now();
            if now >= deadline {
                return Err("setup:timeout".into());
            }
            poll.poll(&mut events, Some(deadline - now))
                .map_err(|e| format!("poll:{:?}", e.kind()))?;
            for ev in events.iter() {
                let Some(c) = conns.get_mut(ev.token().0) else {
                    continue;
                };
                if !c.fill(&mut buf, true) {
                    return Err("setup:connection_lost".into());
                }
                parse(spec.kind, c, &mut |_| {})?;
                if !c.flush() {
                    return Err("setup:write".into());
                }
            }
        }
    }
    Ok((poll, conns))
}
