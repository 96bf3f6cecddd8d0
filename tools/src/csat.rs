//! `kefuctl csat report`: an account's CSAT report (S2, manual §10.1.2;
//! wire/PROTOCOL.md section 37.3) over a range of days (at most 180, by default the last
//! 7), asked with `CsatReport` as the account's super admin, written client-side with
//! `kefu-report`: the summary (per agent) or, with `--detail`, every rating, as CSV
//! (to stdout or `--out`) or Excel (`--format xlsx --out FILE`).

use crate::admin::{unexpected, Admin};
use crate::cli::{CsatCommand, CsatReportArgs, ExportFormat};
use crate::csat_report::{csat_detail_table, csat_summary_table};
use crate::report::day;
use anyhow::{bail, Context, Result};
use kefu_report::FileFormat;
use kefu_wire::csat::CsatQuery;
use kefu_wire::{Request, Response};
use std::io::Write;
use std::path::Path;

/// Most detail pages read (500 ratings each).
const MAX_PAGES: usize = 10_000;

/// Runs `kefuctl csat ...`.
pub fn run(socket: &Path, cmd: &CsatCommand, out: &mut dyn Write) -> Result<()> {
    match cmd {
        CsatCommand::Report(args) => report(socket, args, out),
    }
}

fn report(socket: &Path, args: &CsatReportArgs, out: &mut dyn Write) -> Result<()> {
    let format = match args.format {
        ExportFormat::Csv => FileFormat::Csv,
        ExportFormat::Xlsx => FileFormat::Xlsx,
    };
    if format == FileFormat::Xlsx && args.out.is_none() {
        bail!("--format xlsx needs --out FILE");
    }
    let mut admin = Admin::connect(socket)?;
    let mut query = CsatQuery {
        from: args.from.map(day).transpose()?,
        to: args.to.map(day).transpose()?,
        detail: args.detail,
        after: None,
    };
    let mut pages = Vec::new();
    loop {
        let request = Request::CsatReport(query.clone());
        let page = match admin.on_account(args.account, &request)? {
            Response::CsatReport(p) => p,
            other => return Err(unexpected(request.name(), &other)),
        };
        let next = page.next.clone();
        pages.push(page);
        match next {
            Some(after) if pages.len() < MAX_PAGES => query.after = Some(after),
            _ => break,
        }
    }
    let Some(first) = pages.first() else {
        bail!("no report");
    };
    let table = if args.detail {
        let all: Vec<_> = pages
            .iter()
            .flat_map(|p| p.detail.iter().cloned())
            .collect();
        csat_detail_table(&all)
    } else {
        csat_summary_table(first.from, first.to, &first.lines)
    };
    let bytes = kefu_report::export(&table, format)?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            writeln!(out, "{}: {} rows", path.display(), table.rows.len())?;
        }
        None => out.write_all(&bytes)?,
    }
    Ok(())
}
