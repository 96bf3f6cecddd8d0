//! `kefuctl report work|survey|csat|visits|site`: a report's export file (CSV or .xlsx), streamed from
//! the daemon in 64 KiB chunks (`ExportReport`, then `ExportChunk` until the chunk
//! marked last; wire/PROTOCOL.md section 36) and written to `--out`. Runs on the account
//! with operator authority (`AdminOnAccount`, as its agent 1001); a survey report at
//! security level medium or high needs agent 1001's token code in `KEFU_OTP`.
//!
//! The file is written to `FILE.partial` as the chunks come and renamed to `FILE` once
//! complete, so a failed run never leaves a truncated file under the asked name.

use crate::admin::{unexpected, Admin};
use crate::cli::{ReportCommand, ReportDaysArgs, ReportFormatArg};
use crate::date::Date;
use crate::secrets;
use anyhow::{bail, Context, Result};
use kefu_wire::reports::{ExportChunk, ExportFormat, ReportKind};
use kefu_wire::{Request, Response};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Runs `kefuctl report ...`.
pub fn run(socket: &Path, cmd: &ReportCommand, out: &mut dyn Write) -> Result<()> {
    let (account, report, format, path) = match cmd {
        ReportCommand::Work(args) => (
            args.account,
            ReportKind::WorkReport {
                from: args.from.to_wire(),
                to: args.to.to_wire(),
                agent: args.agent,
            },
            args.format,
            &args.out,
        ),
        ReportCommand::Survey(args) => (
            args.account,
            if args.answers {
                ReportKind::SurveyAnswers {
                    survey: args.survey,
                }
            } else {
                ReportKind::SurveyResults {
                    survey: args.survey,
                }
            },
            args.format,
            &args.out,
        ),
        ReportCommand::Csat(args) => (
            args.account,
            csat_kind(args.from, args.to, args.detail)?,
            args.format,
            &args.out,
        ),
        ReportCommand::Visits(args) => {
            days_report(args, |from_day, until_day| ReportKind::VisitTrend {
                from_day,
                until_day,
            })?
        }
        ReportCommand::Site(args) => {
            days_report(args, |from_day, until_day| ReportKind::SiteAnalytics {
                from_day,
                until_day,
            })?
        }
    };
    let format = match format {
        ReportFormatArg::Csv => ExportFormat::Csv,
        ReportFormatArg::Xlsx => ExportFormat::Xlsx,
    };
    export_to_file(socket, account, report, format, path, out)
}

/// Streams the export of `report` into `path`: written to `FILE.partial` as the chunks
/// come, synced, renamed to `FILE` once complete; one line about it on `out`.
pub(crate) fn export_to_file(
    socket: &Path,
    account: u64,
    report: ReportKind,
    format: ExportFormat,
    path: &Path,
    out: &mut dyn Write,
) -> Result<()> {
    // Only the value-added reports (surveys) ask for the token code.
    let otp = match report {
        ReportKind::SurveyResults { .. } | ReportKind::SurveyAnswers { .. } => {
            secrets::optional(secrets::OTP)?
        }
        _ => None,
    };
    let mut admin = Admin::connect(socket)?;
    let partial = path.with_extension("partial");
    let request = Request::ExportReport {
        report,
        format,
        otp,
    };
    let streamed = std::fs::File::create(&partial)
        .with_context(|| format!("creating {}", partial.display()))
        .and_then(|mut file| {
            let done = stream(&mut admin, account, &request, &mut file)?;
            file.sync_all()
                .with_context(|| format!("syncing {}", partial.display()))?;
            Ok(done)
        });
    let (size, total) = match streamed {
        Ok(done) => done,
        Err(e) => {
            // Nothing truncated is left behind.
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    writeln!(out, "{}: {size} bytes in {total} chunks", path.display())?;
    Ok(())
}

/// The CSAT report (per agent) or its detail (every rating) over the account's days.
pub(crate) fn csat_kind(from: Option<Date>, to: Option<Date>, detail: bool) -> Result<ReportKind> {
    let (from, to) = (from.map(day).transpose()?, to.map(day).transpose()?);
    Ok(if detail {
        ReportKind::CsatDetail { from, to }
    } else {
        ReportKind::Csat { from, to }
    })
}

/// A report over UTC days (visits, site analytics) and where it goes.
fn days_report(
    args: &ReportDaysArgs,
    kind: impl FnOnce(u32, u32) -> ReportKind,
) -> Result<(u64, ReportKind, ReportFormatArg, &PathBuf)> {
    let report = kind(utc_day(args.from)?, utc_day(args.to)?);
    Ok((args.account, report, args.format, &args.out))
}

/// A date as days since 1970-01-01 (the account's local days for CSAT).
pub(crate) fn day(d: Date) -> Result<i32> {
    i32::try_from(d.unix_midnight().div_euclid(86_400)).context("date out of range")
}

/// A date as days since 1970-01-01 UTC (the visit figures' days).
fn utc_day(d: Date) -> Result<u32> {
    u32::try_from(d.unix_midnight().div_euclid(86_400)).context("date before 1970")
}

/// Writes every chunk of the export `request` asks for to `sink`, in order; returns
/// (size, chunks).
pub(crate) fn stream(
    admin: &mut Admin,
    account: u64,
    request: &Request,
    sink: &mut dyn Write,
) -> Result<(u64, u32)> {
    let mut chunk = expect_chunk(request, admin.on_account(account, request)?)?;
    let (export, total, size) = (chunk.export, chunk.total, chunk.size);
    loop {
        sink.write_all(&chunk.data).context("writing the export")?;
        if chunk.last {
            break;
        }
        let index = chunk.index + 1;
        if index >= total {
            bail!("the daemon sent {total} chunks without marking the last");
        }
        let next = Request::ExportChunk { export, index };
        chunk = expect_chunk(&next, admin.on_account(account, &next)?)?;
        if chunk.index != index || chunk.export != export {
            bail!(
                "asked for chunk {index} of export {export}, got {} of {}",
                chunk.index,
                chunk.export
            );
        }
    }
    Ok((size, total))
}

fn expect_chunk(request: &Request, response: Response) -> Result<ExportChunk> {
    match response {
        Response::ExportData(chunk) => Ok(chunk),
        other => Err(unexpected(request.name(), &other)),
    }
}
