//! `kefuctl broadcast review list|approve|reject` and `kefuctl broadcast words set`:
//! the operator's review queue of broadcasts (V3, manual §9.5–9.7) and the sensitive-word
//! list checked at submission (§9.6) (wire/PROTOCOL.md section 30).

use crate::admin::{unexpected, Admin};
use crate::cli::{BroadcastCommand, ReviewCommand};
use anyhow::{Context, Result};
use kefu_wire::chat::MessageBody;
use kefu_wire::valueadded::{BroadcastInfo, BroadcastReview, MAX_BROADCAST_PAGE};
use kefu_wire::{Request, Response};
use std::io::{Read, Write};
use std::path::Path;

/// Runs `kefuctl broadcast ...`.
pub fn run(socket: &Path, cmd: &BroadcastCommand, out: &mut dyn Write) -> Result<()> {
    let request = match cmd {
        BroadcastCommand::Review(ReviewCommand::List { account: None }) => {
            return review_queue(socket, out)
        }
        BroadcastCommand::Review(ReviewCommand::List {
            account: Some(account),
        }) => Request::AdminBroadcastReviewList { account: *account },
        BroadcastCommand::Review(ReviewCommand::Approve { account, id }) => {
            Request::AdminBroadcastDecide {
                account: *account,
                id: *id,
                approve: true,
                reason: String::new(),
            }
        }
        BroadcastCommand::Review(ReviewCommand::Reject {
            account,
            id,
            reason,
        }) => Request::AdminBroadcastDecide {
            account: *account,
            id: *id,
            approve: false,
            reason: reason.clone(),
        },
        BroadcastCommand::Words { file } => {
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text)?;
            } else {
                text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
            }
            let words = text
                .lines()
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
            Request::AdminSetSensitiveWords { words }
        }
    };
    let mut admin = Admin::connect(socket)?;
    match admin.request(&request)? {
        Response::Broadcasts(list) => {
            if list.is_empty() {
                writeln!(out, "no broadcast waits for review")?;
            }
            for b in &list {
                print_one(out, b)?;
            }
        }
        Response::Broadcast(b) => print_one(out, &b)?,
        Response::Ok => writeln!(out, "sensitive words replaced")?,
        other => return Err(unexpected(request.name(), &other)),
    }
    Ok(())
}

/// Every account's broadcasts pending review, a page at a time (section 30.12).
fn review_queue(socket: &Path, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let mut after = None;
    let mut rows = 0usize;
    loop {
        let request = Request::AdminBroadcastReviewQueue {
            after,
            limit: MAX_BROADCAST_PAGE,
        };
        let page = match admin.request(&request)? {
            Response::BroadcastReviews(page) => page,
            other => return Err(unexpected(request.name(), &other)),
        };
        for row in &page.items {
            print_review(out, row)?;
        }
        rows += page.items.len();
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    if rows == 0 {
        writeln!(out, "no broadcast waits for review")?;
    }
    Ok(())
}

fn print_review(out: &mut dyn Write, row: &BroadcastReview) -> Result<()> {
    let b = &row.summary;
    writeln!(
        out,
        "account {} #{} by {}: {:?}, {} recipients ({} named, {} groups), {} units reserved, submitted at {}: {}",
        row.account,
        b.id,
        b.agent,
        b.state,
        b.recipients,
        b.named,
        b.groups.len(),
        b.reserved,
        b.submitted_at,
        body_text(&b.body)
    )?;
    Ok(())
}

fn body_text(body: &MessageBody) -> String {
    match body {
        MessageBody::Text(t) => t.clone(),
        MessageBody::Image { reference } => format!("[image {reference}]"),
        MessageBody::File { name, .. } => format!("[file {name}]"),
    }
}

fn print_one(out: &mut dyn Write, b: &BroadcastInfo) -> Result<()> {
    let body = body_text(&b.draft.body);
    writeln!(
        out,
        "#{} by {}: {:?}, {} recipients, {} units reserved, sent {}{}: {}",
        b.id,
        b.agent,
        b.state,
        b.recipients,
        b.reserved,
        b.sent,
        b.reason
            .as_ref()
            .map(|r| format!(" (reason: {r})"))
            .unwrap_or_default(),
        body
    )?;
    Ok(())
}
