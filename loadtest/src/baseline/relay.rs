//! The built-in relay: the speed of light on this box. A mio loop that pairs
//! each sender connection with its receiver and copies bytes across, with no
//! parsing, logic or storage, so that kefud's figures can be read against
//! what the kernel and one event loop cost for the same traffic.
//!
//! Protocol: a connection first sends 5 bytes, a role (`R` receiver, `S`
//! sender) and its pair number (u32, big-endian); the relay answers `+` once
//! it is registered (a sender only after its pair's receiver). Every later
//! byte from a sender is written to its receiver as is; the load driver
//! frames messages itself (a u32 big-endian length, then the payload).

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);
/// Bytes a receiver may have unwritten before its sender is dropped (a stuck receiver).
const MAX_PENDING: usize = 64 << 20;

/// A relay running on its own thread.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Relay {
    /// Starts a relay listening on `listen` (port 0: any free port).
    pub fn start(listen: SocketAddr) -> io::Result<Relay> {
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kefu-load-relay".into())
            .spawn(move || serve(poll, listener, &flag))?;
        Ok(Relay {
            addr,
            stop,
            waker,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs until the relay thread ends (it does not by itself).
    pub fn wait(mut self) -> io::Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Ok(()),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Conn {
    stream: TcpStream,
    hello: Vec<u8>,
    /// For a sender: its receiver's token, once known.
    peer: Option<Token>,
    /// Bytes waiting to be written to this connection.
    out: Vec<u8>,
}

fn serve(mut poll: Poll, listener: TcpListener, stop: &AtomicBool) -> io::Result<()> {
    let mut events = Events::with_capacity(1024);
    let mut conns: HashMap<Token, Conn> = HashMap::new();
    let mut receivers: HashMap<u32, Token> = HashMap::new();
    let mut next = 0usize;
    let mut buf = vec![0u8; 256 * 1024];
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in events.iter() {
            match event.token() {
                WAKER => {}
                LISTENER => loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            let token = Token(next);
                            next += 1;
                            let _ = stream.set_nodelay(true);
                            poll.registry().register(
                                &mut stream,
                                token,
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            conns.insert(
                                token,
                                Conn {
                                    stream,
                                    hello: Vec::new(),
                                    peer: None,
                                    out: Vec::new(),
                                },
                            );
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                },
                token => {
                    if !service(token, &mut conns, &mut receivers, &mut buf) {
                        if let Some(mut c) = conns.remove(&token) {
                            let _ = poll.registry().deregister(&mut c.stream);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// Reads what `token` sent and forwards it; `false` when the connection is done.
fn service(
    token: Token,
    conns: &mut HashMap<Token, Conn>,
    receivers: &mut HashMap<u32, Token>,
    buf: &mut [u8],
) -> bool {
    if !flush(conns, token) {
        return false;
    }
    loop {
        let Some(c) = conns.get_mut(&token) else {
            return false;
        };
        let n = match c.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        let mut data = &buf[..n];
        if c.hello.len() < 5 {
            let take = (5 - c.hello.len()).min(data.len());
            c.hello.extend_from_slice(&data[..take]);
            data = &data[take..];
            if c.hello.len() == 5 {
                let pair = u32::from_be_bytes([c.hello[1], c.hello[2], c.hello[3], c.hello[4]]);
                match c.hello[0] {
                    b'R' => {
                        receivers.insert(pair, token);
                    }
                    b'S' => match receivers.get(&pair) {
                        Some(&r) => c.peer = Some(r),
                        None => return false,
                    },
                    _ => return false,
                }
                c.out.push(b'+');
                if !flush(conns, token) {
                    return false;
                }
            }
        }
        if data.is_empty() {
            continue;
        }
        let Some(peer) = conns.get(&token).and_then(|c| c.peer) else {
            continue; // a receiver talking: ignored
        };
        let Some(r) = conns.get_mut(&peer) else {
            return false;
        };
        if r.out.len() > MAX_PENDING {
            return false;
        }
        r.out.extend_from_slice(data);
        if !flush(conns, peer) {
            conns.remove(&peer);
        }
    }
}

/// Writes what is pending for `token`; `false` if the connection failed.
fn flush(conns: &mut HashMap<Token, Conn>, token: Token) -> bool {
    let Some(c) = conns.get_mut(&token) else {
        return true;
    };
    let mut written = 0;
    while written < c.out.len() {
        match c.stream.write(&c.out[written..]) {
            Ok(0) => return false,
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    c.out.drain(..written);
    true
}

/// The relay's client side: hellos, message framing and parsing.
pub mod wire {
    /// The hello of a receiver (`R`) or sender (`S`) of `pair`.
    pub fn hello(role: u8, pair: usize) -> Vec<u8> {
        let mut v = vec![role];
        v.extend_from_slice(&(pair as u32).to_be_bytes());
        v
    }

    /// Appends a frame's header (the payload's length); the payload follows.
    pub fn frame_header(len: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}
