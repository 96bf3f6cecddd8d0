//! `kefu-load web`: many visitors held through the web gateway (PROTOCOL.md section
//! 31), and chat latency through it against the binary port at the same rate.
//!
//! On an account of its own (created over the admin socket) it opens `--visitors`
//! WebSocket visitors from `--sources` loopback addresses (127.0.0.1 up, so no address
//! reaches the gateway's per-address limit), each logged in with `VisitorLogin`, and
//! holds them; the daemon's RSS before and after (`--daemon-pid`) gives the memory per
//! connection. Then `--chatters` of them and as many binary-port visitors open
//! conversations, and each path in turn sends `--rate` messages a second for
//! `--seconds`, open loop: latency runs from when a message was due to its `Sent`
//! answer (stored). Blocking sockets, one request in flight per path: at these rates
//! the sender is idle most of the time. Bounded: at most 60,000 visitors, 1,000 chatters,
//! 5,000 messages a second, 600 seconds; it closes everything and stops by itself.

use crate::admin::AdminPipe;
use crate::cli::parse_loopback_server;
use anyhow::{anyhow, bail, Context};
use clap::Args;
use hdrhistogram::Histogram;
use kefu_wire::chat::{Channel, Entry, MessageBody};
use kefu_wire::{Client, ClientOptions, Plan, Request, Response};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PASSWORD: &str = "kefu-load-web";

/// Flags of `kefu-load web`.
#[derive(Debug, Args)]
pub struct WebArgs {
    /// The daemon's web gateway, IP:PORT on loopback.
    #[arg(long, value_parser = parse_loopback_server)]
    pub web: SocketAddr,
    /// The daemon's binary client address, IP:PORT on loopback.
    #[arg(long, value_parser = parse_loopback_server)]
    pub server: SocketAddr,
    /// The daemon's admin socket (the account is created there).
    #[arg(long)]
    pub admin_socket: PathBuf,
    /// A new account number for the tool.
    #[arg(long, default_value_t = 990_201)]
    pub account: u64,
    /// WebSocket visitors to hold.
    #[arg(long, default_value_t = 10_000)]
    pub visitors: usize,
    /// Loopback source addresses to spread them over (127.0.0.1 up).
    #[arg(long, default_value_t = 64)]
    pub sources: u8,
    /// Visitors that chat, on each path.
    #[arg(long, default_value_t = 50)]
    pub chatters: usize,
    /// Messages a second, on each path.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// Seconds of chat on each path.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// The daemon's pid, to read its RSS.
    #[arg(long)]
    pub daemon_pid: Option<u32>,
}

/// A blocking WebSocket visitor: masked text frames out, server frames in.
struct WsVisitor {
    stream: TcpStream,
    next_id: u32,
}

impl WsVisitor {
    fn connect(web: SocketAddr, source: IpAddr) -> anyhow::Result<WsVisitor> {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        socket.bind(&SocketAddr::new(source, 0).into())?;
        socket.connect(&web.into())?;
        let mut stream: TcpStream = socket.into();
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        stream.set_nodelay(true)?;
        write!(
            stream,
            "GET /ws HTTP/1.1\r\nHost: {web}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )?;
        // The head, byte by byte (the welcome frame may follow in the same segment).
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            stream.read_exact(&mut b)?;
            head.push(b[0]);
            if head.len() > 4096 {
                bail!("no end of the upgrade answer");
            }
        }
        if !head.starts_with(b"HTTP/1.1 101 ") {
            bail!("upgrade refused: {}", String::from_utf8_lossy(&head));
        }
        let mut v = WsVisitor { stream, next_id: 1 };
        let welcome = v.recv()?;
        if welcome.get("welcome").is_none() {
            bail!("no welcome: {welcome}");
        }
        Ok(v)
    }

    fn send(&mut self, msg: &Value) -> anyhow::Result<()> {
        let payload = msg.to_string().into_bytes();
        let mask = [0x5a, 0x17, 0xc3, 0x08];
        let mut frame = vec![0x81];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
        self.stream.write_all(&frame)?;
        Ok(())
    }

    fn recv(&mut self) -> anyhow::Result<Value> {
        loop {
            let mut h = [0u8; 2];
            self.stream.read_exact(&mut h)?;
            let len = match h[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.stream.read_exact(&mut b)?;
                    u16::from_be_bytes(b) as usize
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.stream.read_exact(&mut b)?;
                    usize::try_from(u64::from_be_bytes(b))?
                }
                n => n as usize,
            };
            if len > 1 << 20 {
                bail!("frame of {len} bytes");
            }
            let mut payload = vec![0u8; len];
            self.stream.read_exact(&mut payload)?;
            match h[0] & 0x0f {
                0x1 => {
                    let v: Value = serde_json::from_slice(&payload)?;
                    if let Some(seq) = v.get("seq") {
                        self.send(&json!({ "ack": seq }))?;
                    }
                    return Ok(v);
                }
                0x8 => bail!("closed: {payload:?}"),
                _ => {}
            }
        }
    }

    /// Sends a request and returns its answer (pushes meanwhile are acked and skipped).
    fn call(&mut self, request: Value) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "id": id, "request": request }))?;
        loop {
            let v = self.recv()?;
            if v.get("id") == Some(&json!(id)) {
                if let Some(e) = v.get("error") {
                    bail!("error: {e}");
                }
                return Ok(v["response"].clone());
            }
        }
    }
}

fn prepare(args: &WebArgs) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut pipe = AdminPipe::connect(&args.admin_socket, deadline)?;
    let create = Request::AdminCreateAccount {
        account: args.account,
        name: format!("kefu-load web {}", args.account),
        plan: Plan::Gold,
        expires_at: crate::provision::unix_now() + 30 * 86_400,
        password_1001: PASSWORD.into(),
        super_password: PASSWORD.into(),
    };
    if let Err(e) = pipe.call(create, deadline)? {
        bail!("AdminCreateAccount: {} {}", e.code, e.message);
    }
    Ok(())
}

/// The daemon's resident set, bytes.
fn rss_bytes(pid: Option<u32>) -> Option<u64> {
    pid.and_then(|p| crate::memory::sample(p).ok())
        .and_then(|s| s.vm_rss)
}

/// Sends at `rate` for `seconds` through `send` (one message, returns when stored);
/// the latencies from each message's due time.
fn paced(
    rate: u32,
    seconds: u64,
    mut send: impl FnMut(u64) -> anyhow::Result<()>,
) -> anyhow::Result<Histogram<u64>> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let interval = Duration::from_secs(1) / rate.max(1);
    let start = Instant::now();
    let total = u64::from(rate) * seconds;
    for i in 0..total {
        let due = start + interval * u32::try_from(i)?;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        send(i)?;
        h.record(due.elapsed().as_micros().max(1) as u64)?;
    }
    Ok(h)
}

fn line(name: &str, h: &Histogram<u64>) {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{name:<8} n={:<6} p50={:.2} ms  p99={:.2} ms  p99.9={:.2} ms  max={:.2} ms",
        h.len(),
        ms(0.5),
        ms(0.99),
        ms(0.999),
        h.max() as f64 / 1000.0
    );
}

/// Runs `kefu-load web`; prints the report.
pub fn run(args: &WebArgs) -> anyhow::Result<()> {
    if args.visitors > 60_000
        || args.chatters == 0
        || args.chatters > 1_000
        || args.chatters > args.visitors
        || args.rate == 0
        || args.rate > 5_000
        || args.seconds > 600
        || args.sources == 0
    {
        bail!("bounds: visitors <= 60000, 1 <= chatters <= min(1000, visitors), 1 <= rate <= 5000, seconds <= 600, sources >= 1");
    }
    prepare(args)?;
    let before = rss_bytes(args.daemon_pid);
    let login = json!({"VisitorLogin": {"account": args.account, "token": null, "channel": "Web"}});
    let started = Instant::now();
    let mut held = Vec::with_capacity(args.visitors);
    for i in 0..args.visitors {
        let source = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            1 + (i % usize::from(args.sources)) as u8,
        ));
        let mut v = WsVisitor::connect(args.web, source)
            .with_context(|| format!("visitor {i} from {source}"))?;
        let r = v.call(login.clone())?;
        if r.get("CustomerLoggedIn").is_none() {
            bail!("visitor {i}: {r}");
        }
        held.push(v);
    }
    let opened = started.elapsed();
    let after = rss_bytes(args.daemon_pid);
    println!(
        "web visitors held: {} (upgrade + welcome + VisitorLogin, one after another, in {:.1} s)",
        held.len(),
        opened.as_secs_f64()
    );
    if let (Some(b), Some(a)) = (before, after) {
        println!(
            "daemon RSS: {:.1} MiB before, {:.1} MiB with them: {:.0} bytes per logged-in \
             web visitor (connection, gateway state and session; kernel socket buffers not counted)",
            b as f64 / 1048576.0,
            a as f64 / 1048576.0,
            a.saturating_sub(b) as f64 / held.len() as f64
        );
    }
    // Chat: the first chatters of the held visitors, and as many on the binary port.
    let mut conversations = Vec::new();
    for v in held.iter_mut().take(args.chatters) {
        let r = v.call(json!({"OpenConversation": {"entry": "Auto"}}))?;
        let c = r["Conversation"]["conversation"]
            .as_u64()
            .ok_or_else(|| anyhow!("no conversation: {r}"))?;
        conversations.push(c);
    }
    let mut binary = Vec::new();
    for _ in 0..args.chatters {
        let options = ClientOptions {
            client_name: "kefu-load-web".into(),
            timeout: Duration::from_secs(60),
            ..ClientOptions::default()
        };
        let mut c = Client::connect(args.server, options).context("connect")?;
        c.request(&Request::VisitorLogin {
            account: args.account,
            token: None,
            channel: Channel::Web,
        })?;
        let Response::Conversation(info) =
            c.request(&Request::OpenConversation { entry: Entry::Auto })?
        else {
            bail!("no conversation on the binary port");
        };
        binary.push((c, info.conversation));
    }
    let text = "x".repeat(64);
    let n = args.chatters as u64;
    let bin = paced(args.rate, args.seconds, |i| {
        let (c, conversation) = &mut binary[(i % n) as usize];
        match c.request(&Request::SendMessage {
            conversation: *conversation,
            client_msg_id: i + 1,
            body: MessageBody::Text(text.clone()),
        })? {
            Response::Sent { .. } => Ok(()),
            other => Err(anyhow!("{other:?}")),
        }
    })?;
    let web = paced(args.rate, args.seconds, |i| {
        let k = (i % n) as usize;
        let r = held[k].call(json!({"SendMessage": {
            "conversation": conversations[k], "client_msg_id": i + 1, "body": {"Text": text}}}))?;
        if r.get("Sent").is_none() {
            bail!("{r}");
        }
        Ok(())
    })?;
    println!(
        "chat, {} msg/s for {} s over {} visitors each, due → Sent (stored):",
        args.rate, args.seconds, args.chatters
    );
    line("binary", &bin);
    line("web", &web);
    if let Some(a) = rss_bytes(args.daemon_pid) {
        println!("daemon RSS at the end: {:.1} MiB", a as f64 / 1048576.0);
    }
    Ok(())
}
