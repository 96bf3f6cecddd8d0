//! `kefu-load stall --broadcast-chars N`: stalled readers that the daemon has real
//! traffic for. Instead of anonymous visitors pinging (a pong is some 20 bytes, so
//! filling 10,000 readers' buffers that way takes billions of pings), the readers
//! are identified customers of an account of the tool's own, contacts of it (imported
//! over the admin socket), and its agent 1001 broadcasts N-character messages to all
//! of them at a given rate: each round `SubmitBroadcast`s to every contact (50,000
//! named a submission, the frame's bound), each approved at once by the tool as the operator's reviewer
//! (`AdminBroadcastDecide` on the admin socket), then fanned out by the daemon 1,000
//! recipients a turn, each message stored first as any broadcast's and pushed with
//! its `FromBroadcast`. This is the cheapest honest way to make the daemon hold output
//! for many readers that do not read: pushes of stored messages to customers, the
//! traffic a stalled customer really receives. (The old immediate `Broadcast`, which
//! bypassed review and charging, is retired.)
//!
//! The account is created fresh (Gold plan, so up to 100,000 contacts) and topped up
//! with 100,000,000 units (one a recipient; the largest top-up); the customers are `stall-0`,
//! `stall-1`, …; its security level is set to low (no hardware tokens here, and
//! broadcasts at the default level need a code). Loopback only, bounded like the rest
//! of `stall`.

use crate::admin::AdminPipe;
use crate::stall::StallArgs;
use anyhow::{anyhow, bail, Context};
use kefu_wire::chat::{CustomerId, MessageBody};
use kefu_wire::valueadded::{BroadcastDraft, BroadcastState, MAX_BROADCAST_PAGE};
use kefu_wire::{Client, ClientOptions, ErrorCode, Plan, Request, Response};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Agent 1001's password on the tool's account (a loopback test daemon's).
const PASSWORD: &str = "kefu-load-stall-broadcast";
/// Units the account is topped up with (the largest top-up; one unit a recipient).
const UNITS: u64 = 100_000_000;
/// Contacts named in one submission: 50,000 named ids fit a 1 MiB frame (100,000 do
/// not), so 100,000 contacts are two broadcasts approved back to back.
const PER_SUBMISSION: usize = 50_000;
/// How long one submission and its approval may take.
const ROUND_TIMEOUT: Duration = Duration::from_secs(300);
/// Import chunks stay well under the 256 KiB limit.
const CHUNK: usize = 200 * 1024;

/// What the readers and the broadcaster need: the account's customer key.
pub struct Prepared {
    /// The account's customer-signing key.
    pub key: [u8; 32],
}

/// Agent 1001 of the tool's account, logged in, and the operator's admin
/// connection that approves its broadcasts.
pub struct Broadcaster {
    agent: Client,
    reviewer: AdminPipe,
    account: u64,
}

/// The name of customer `i`.
pub fn customer(i: usize) -> String {
    format!("stall-{i}")
}

/// Creates the account, makes `readers` customers contacts of it and returns its
/// customer key.
pub fn prepare(args: &StallArgs) -> anyhow::Result<Prepared> {
    let socket = args
        .admin_socket
        .as_deref()
        .ok_or_else(|| anyhow!("--broadcast-chars needs --admin-socket"))?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut pipe = AdminPipe::connect(socket, deadline)?;
    let create = Request::AdminCreateAccount {
        account: args.account,
        name: format!("kefu-load stall {}", args.account),
        plan: Plan::Gold,
        expires_at: crate::provision::unix_now() + 30 * 86_400,
        password_1001: PASSWORD.into(),
        super_password: PASSWORD.into(),
    };
    match pipe.call(create, deadline)? {
        Ok(_) => {}
        Err(e) if e.code == ErrorCode::ALREADY_EXISTS => {
            bail!(
                "account {} exists; --broadcast-chars needs a new one",
                args.account
            )
        }
        Err(e) => bail!("AdminCreateAccount: {} {}", e.code, e.message),
    }
    let top_up = Request::AdminBalanceTopUp {
        account: args.account,
        units: UNITS,
    };
    if let Err(e) = pipe.call(top_up, deadline)? {
        bail!("AdminBalanceTopUp: {} {}", e.code, e.message);
    }
    let key = match pipe.call(
        Request::AdminRotateCustomerKey {
            account: args.account,
        },
        deadline,
    )? {
        Ok(Response::CustomerKey(k)) => k,
        other => bail!("AdminRotateCustomerKey: {other:?}"),
    };
    let mut csv = String::from("id\r\n");
    for i in 0..args.contacts() {
        csv += &customer(i);
        csv += "\r\n";
    }
    let bytes = csv.into_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(CHUNK).collect();
    for (n, chunk) in chunks.iter().enumerate() {
        let import = Request::ImportContacts {
            chunk: chunk.to_vec(),
            first: n == 0,
            last: n + 1 == chunks.len(),
        };
        match pipe.call(Request::on_account(args.account, &import), deadline)? {
            Ok(Response::Import(report)) if n + 1 == chunks.len() => {
                if report.imported < args.contacts() as u64 {
                    bail!(
                        "only {} of {} contacts imported: {report:?}",
                        report.imported,
                        args.contacts()
                    );
                }
            }
            Ok(_) => {}
            Err(e) => bail!("ImportContacts: {} {}", e.code, e.message),
        }
    }
    Ok(Prepared { key })
}

/// Agent 1001 of the tool's account, logged in, with the reviewer's connection.
pub fn broadcaster(args: &StallArgs) -> anyhow::Result<Broadcaster> {
    let options = ClientOptions {
        client_name: "kefu-load-stall-broadcast".into(),
        ..ClientOptions::default()
    };
    let mut agent = Client::connect(args.server, options).context("the broadcaster connects")?;
    agent
        .login(args.account, 1001, PASSWORD)
        .context("the broadcaster logs in")?;
    // A test account has no hardware tokens: value-added operations without codes.
    let low = Request::SetSecurityLevel {
        level: kefu_wire::SecurityLevel::Low,
    };
    agent.request(&low).context("SetSecurityLevel Low")?;
    let socket: PathBuf = args
        .admin_socket
        .clone()
        .ok_or_else(|| anyhow!("--broadcast-chars needs --admin-socket"))?;
    let reviewer = AdminPipe::connect(&socket, Instant::now() + ROUND_TIMEOUT)?;
    Ok(Broadcaster {
        agent,
        reviewer,
        account: args.account,
    })
}

/// One round: a broadcast of `chars` characters to every contact (in submissions of
/// 50,000), submitted and approved, then watched (the newest page of
/// `ListBroadcastPage`: `ListBroadcasts` is refused once the drafts' named contacts
/// pass the frame) until its
/// fan-out is done; returns the messages sent and the seconds from the approval to
/// the last batch's `Done`, or why it was refused.
pub fn broadcast(
    b: &mut Broadcaster,
    readers: usize,
    chars: usize,
    round: u64,
) -> anyhow::Result<(u64, f64)> {
    let mut text = format!("{round}:");
    while text.len() < chars {
        text.push('x');
    }
    let mut approved = Vec::new();
    let start = Instant::now();
    let ids: Vec<usize> = (0..readers).collect();
    for batch in ids.chunks(PER_SUBMISSION) {
        let request = Request::SubmitBroadcast {
            draft: BroadcastDraft {
                groups: Vec::new(),
                customers: batch
                    .iter()
                    .map(|&i| CustomerId::Identified(customer(i)))
                    .collect(),
                body: MessageBody::Text(text.clone()),
                online_only: false,
                block_replies: false,
                send_at: None,
            },
            otp: None,
        };
        let id = match b.agent.request(&request).context("SubmitBroadcast")? {
            Response::Broadcast(info) => info.id,
            other => bail!("SubmitBroadcast: {other:?}"),
        };
        let decide = Request::AdminBroadcastDecide {
            account: b.account,
            id,
            approve: true,
            reason: String::new(),
        };
        match b.reviewer.call(decide, Instant::now() + ROUND_TIMEOUT)? {
            Ok(Response::Broadcast(_)) => approved.push(id),
            Ok(other) => bail!("AdminBroadcastDecide: {other:?}"),
            Err(e) => bail!("AdminBroadcastDecide: {} {}", e.code, e.message),
        }
    }
    let deadline = Instant::now() + ROUND_TIMEOUT;
    loop {
        let page = Request::ListBroadcastPage {
            before: None,
            limit: MAX_BROADCAST_PAGE,
            otp: None,
        };
        let list = match b.agent.request(&page)? {
            Response::BroadcastPage(page) => page.items,
            other => bail!("ListBroadcastPage: {other:?}"),
        };
        let mine: Vec<_> = list.iter().filter(|i| approved.contains(&i.id)).collect();
        let finished = mine.iter().all(|i| {
            matches!(
                i.state,
                BroadcastState::Done | BroadcastState::Failed | BroadcastState::Cancelled
            )
        });
        if finished && mine.len() == approved.len() {
            let sent = mine.iter().map(|i| i.sent).sum();
            return Ok((sent, start.elapsed().as_secs_f64()));
        }
        if Instant::now() > deadline {
            bail!("the fan-out did not finish within {ROUND_TIMEOUT:?}");
        }
        // The tool's own pacing while it watches (no synchronisation with the daemon).
        std::thread::sleep(Duration::from_millis(20));
    }
}
