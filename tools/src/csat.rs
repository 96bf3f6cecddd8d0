//! `kefuctl csat report`: an account's CSAT report (S2, manual §10.1.2;
//! wire/PROTOCOL.md sections 36 and 37.3) over a range of days (at most 180, by default
//! the last 7): the summary (per agent) or, with `--detail`, every rating, as CSV (to
//! stdout or `--out`) or Excel (`--format xlsx --out FILE`). The file is the daemon's
//! `ExportReport` (the same bytes as `kefuctl report csat`); this command adds only
//! writing to stdout.

use crate::admin::Admin;
use crate::cli::{CsatCommand, CsatReportArgs, ExportFormat};
use crate::report::{csat_kind, export_to_file, stream};
use anyhow::{bail, Result};
use kefu_wire::reports::ExportFormat as WireFormat;
use kefu_wire::Request;
use std::io::Write;
use std::path::Path;

/// Runs `kefuctl csat ...`.
pub fn run(socket: &Path, cmd: &CsatCommand, out: &mut dyn Write) -> Result<()> {
    match cmd {
        CsatCommand::Report(args) => report(socket, args, out),
    }
}

fn report(socket: &Path, args: &CsatReportArgs, out: &mut dyn Write) -> Result<()> {
    let format = match args.format {
        ExportFormat::Csv => WireFormat::Csv,
        ExportFormat::Xlsx => WireFormat::Xlsx,
    };
    let report = csat_kind(args.from, args.to, args.detail)?;
    match &args.out {
        Some(path) => export_to_file(socket, args.account, report, format, path, out),
        None if format == WireFormat::Xlsx => bail!("--format xlsx needs --out FILE"),
        None => {
            let mut admin = Admin::connect(socket)?;
            let request = Request::ExportReport {
                report,
                format,
                otp: None,
            };
            stream(&mut admin, args.account, &request, out)?;
            Ok(())
        }
    }
}
