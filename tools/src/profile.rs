//! `kefuctl profile review list|approve|reject`: the operator's review of enterprise
//! profiles (E1, manual §7.5) and chat-window styles (E2, §7.7) waiting in every
//! account (wire/PROTOCOL.md section 41).

use crate::admin::{unexpected, Admin};
use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use kefu_wire::profile::{ProfileReview, ReviewKind, ReviewSubject, MAX_PROFILE_REVIEW_PAGE};
use kefu_wire::{Request, Response};
use std::io::Write;
use std::path::Path;

/// `kefuctl profile ...`
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// The review queue: list, approve, reject.
    #[command(subcommand)]
    Review(ProfileReviewCommand),
}

/// Which edit a decision is about.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    /// The enterprise profile.
    Profile,
    /// The chat window's style.
    Style,
}

impl Kind {
    fn wire(self) -> ReviewKind {
        match self {
            Kind::Profile => ReviewKind::Profile,
            Kind::Style => ReviewKind::Style,
        }
    }
}

/// `kefuctl profile review ...`
#[derive(Debug, Subcommand)]
pub enum ProfileReviewCommand {
    /// Every edit waiting for review, oldest submission first, one a line.
    List,
    /// Approve an account's waiting edit: it is in force at once.
    Approve {
        /// The account.
        #[arg(long)]
        account: u64,
        /// The profile or the window's style.
        #[arg(long, value_enum)]
        kind: Kind,
    },
    /// Reject an account's waiting edit; the account sees the reason.
    Reject {
        /// The account.
        #[arg(long)]
        account: u64,
        /// The profile or the window's style.
        #[arg(long, value_enum)]
        kind: Kind,
        /// Why (1..=200 characters).
        #[arg(long)]
        reason: String,
    },
}

/// Runs `kefuctl profile ...`.
pub fn run(socket: &Path, cmd: &ProfileCommand, out: &mut dyn Write) -> Result<()> {
    let ProfileCommand::Review(cmd) = cmd;
    let (account, kind, approve, reason) = match cmd {
        ProfileReviewCommand::List => return list(socket, out),
        ProfileReviewCommand::Approve { account, kind } => (*account, *kind, true, String::new()),
        ProfileReviewCommand::Reject {
            account,
            kind,
            reason,
        } => (*account, *kind, false, reason.clone()),
    };
    let request = Request::AdminReviewProfile {
        account,
        kind: kind.wire(),
        approve,
        reason,
    };
    let mut admin = Admin::connect(socket)?;
    match admin.request(&request)? {
        Response::Ok => {
            let done = if approve { "approved" } else { "rejected" };
            writeln!(out, "account {account}: {kind:?} edit {done}")?;
        }
        other => return Err(unexpected(request.name(), &other)),
    }
    Ok(())
}

fn list(socket: &Path, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let mut after = None;
    let mut rows = 0usize;
    loop {
        let request = Request::AdminProfileReviewQueue {
            after,
            limit: MAX_PROFILE_REVIEW_PAGE,
        };
        let page = match admin.request(&request)? {
            Response::ProfileReviews(page) => page,
            other => return Err(unexpected(request.name(), &other)),
        };
        for row in &page.items {
            print_row(out, row)?;
        }
        rows += page.items.len();
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    if rows == 0 {
        writeln!(out, "no profile or style waits for review")?;
    }
    Ok(())
}

/// One row; every text is printed escaped (`{:?}`), so nothing in it acts on a terminal.
fn print_row(out: &mut dyn Write, row: &ProfileReview) -> Result<()> {
    match &row.subject {
        ReviewSubject::Profile(p) => writeln!(
            out,
            "account {} profile submitted at {}: full name {:?}, short name {:?}, industry {:?}, address {:?}, phone {:?}, web site {:?}, description {:?}",
            row.account, row.submitted_at, p.full_name, p.short_name, p.industry, p.address,
            p.phone, p.web_site, p.description
        )?,
        ReviewSubject::Style(s) => writeln!(
            out,
            "account {} style submitted at {}: title {:?}, greeting {:?}, theme {:?}, logo {:?}, link {:?} -> {:?}",
            row.account, row.submitted_at, s.title, s.greeting, s.theme, s.logo_url, s.link_text,
            s.link_url
        )?,
    }
    Ok(())
}
