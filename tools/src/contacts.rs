//! `kefuctl contacts import|export|count`: an account's contacts as CSV, run on
//! the account with operator authority (`AdminOnAccount`, as its agent 1001).
//!
//! Import streams the file in chunks of at most [`MAX_CHUNK_BYTES`]
//! (`ImportContacts`), never as one frame, and prints the daemon's final
//! report. Export pages through `ExportContacts` and writes the pages as they
//! come. The CSV format is the daemon's (daemon/src/crm/import.rs).

use crate::admin::{client_options, unexpected, Admin, RequestError};
use crate::cli::{
    ContactStateArg, ContactsCommand, ContactsCountArgs, ContactsExportArgs, ContactsImportArgs,
};
use crate::output::{json_array, printable, write_fields, Obj};
use anyhow::{anyhow, bail, Context, Result};
use kefu_wire::crm::{ContactQuery, ContactState, ImportReport};
use kefu_wire::{ClientOptions, Request, Response, MAX_FRAME_CEILING};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

/// Largest chunk of an import (the protocol's limit).
pub const MAX_CHUNK_BYTES: usize = 256 * 1024;
/// Bytes a chunk's request adds around the chunk (account, lengths, flags), with room to spare.
const REQUEST_OVERHEAD: usize = 64;
/// Most contacts of one export page (the protocol's limit).
pub const MAX_EXPORT_PAGE: u32 = 5_000;
/// Contacts asked for on the first export page, before their size is known
/// (at most about 1 MB even with every field at its longest).
const FIRST_EXPORT_PAGE: u32 = 50;
/// Bytes an export page aims at.
const EXPORT_PAGE_BYTES: u64 = 512 * 1024;

/// Runs one `contacts` subcommand.
pub fn run(socket: &Path, command: &ContactsCommand, out: &mut dyn Write) -> Result<()> {
    match command {
        ContactsCommand::Import(args) => import(socket, args, out),
        ContactsCommand::Export(args) => export(socket, args, out),
        ContactsCommand::Count(args) => count(socket, args, out),
    }
}

// ---- import ----------------------------------------------------------------

fn import(socket: &Path, args: &ContactsImportArgs, out: &mut dyn Write) -> Result<()> {
    let stdin = args.file.as_os_str() == "-";
    let name = if stdin {
        "standard input".to_string()
    } else {
        args.file.display().to_string()
    };
    let (mut input, size): (Box<dyn Read>, Option<u64>) = if stdin {
        (Box::new(io::stdin().lock()), None)
    } else {
        let file = File::open(&args.file).with_context(|| format!("opening {name}"))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size)
    };
    let mut admin = Admin::connect(socket)?;
    // A frame over the daemon's limit would close the connection: keep chunks inside it.
    let fits = (admin.max_frame() as usize).saturating_sub(REQUEST_OVERHEAD);
    let chunk_size = (args.chunk_size as usize)
        .min(MAX_CHUNK_BYTES)
        .min(fits)
        .max(1);
    let mut progress = Progress::new(&name, size);

    let mut chunk = read_chunk(&mut input, chunk_size, &name)?;
    let mut first = true;
    let mut sent: u64 = 0;
    let report = loop {
        // Read one chunk ahead: the end of the file marks the current chunk `last`.
        let next = read_chunk(&mut input, chunk_size, &name).map_err(|e| {
            if sent > 0 {
                e.context(broke_off(&name, sent))
            } else {
                e
            }
        })?;
        let last = next.is_empty();
        let len = chunk.len() as u64;
        let request = Request::ImportContacts { chunk, first, last };
        let report = match admin.on_account(args.account, &request) {
            Ok(Response::Import(report)) => report,
            Ok(other) => return Err(unexpected("ImportContacts", &other)),
            // The daemon answered: the file (its header) was refused.
            Err(e) if RequestError::of(&e).is_some_and(|r| r.answered) => {
                progress.clear();
                let note = if sent > 0 {
                    format!(" ({})", broke_off(&name, sent))
                } else {
                    String::new()
                };
                bail!("{name}: the file was refused: {e:#}{note}");
            }
            Err(e) => {
                progress.clear();
                if sent > 0 {
                    return Err(e.context(broke_off(&name, sent)));
                }
                return Err(e.context(format!("{name}: the import did not start")));
            }
        };
        sent += len;
        first = false;
        progress.show(sent, &report);
        if last {
            break report;
        }
        chunk = next;
    };
    progress.clear();
    if !report.finished {
        bail!("{name}: the daemon took the last chunk but does not report the import finished");
    }
    if args.json {
        writeln!(out, "{}", report_json(&name, &report))?;
    } else {
        write_report(&name, &report, out)?;
    }
    Ok(())
}

/// What to say when an import stops after some chunks were taken.
fn broke_off(name: &str, sent: u64) -> String {
    format!(
        "{name}: the import broke off after {sent} bytes of the file were taken; the rows \
         in them that were admitted are stored; importing the file again skips them as \
         existing contacts"
    )
}

/// Reads up to `size` bytes: less only at the end of the input.
fn read_chunk(input: &mut dyn Read, size: usize, name: &str) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; size];
    let mut filled = 0;
    while filled < size {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {name}"))),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

fn write_report(name: &str, r: &ImportReport, out: &mut dyn Write) -> io::Result<()> {
    let rows = r.imported + r.skipped_existing + r.refused_plan + r.refused_daily + r.invalid_total;
    write_fields(
        &[
            ("file", name.to_string()),
            ("rows", rows.to_string()),
            ("imported", r.imported.to_string()),
            ("skipped as existing", r.skipped_existing.to_string()),
            ("refused by plan limit", r.refused_plan.to_string()),
            ("refused by daily limit", r.refused_daily.to_string()),
            ("invalid", r.invalid_total.to_string()),
        ],
        out,
    )?;
    if !r.invalid.is_empty() {
        writeln!(out, "invalid rows:")?;
        for row in &r.invalid {
            writeln!(out, "  line {}: {}", row.line, printable(&row.reason))?;
        }
        let unlisted = r.invalid_total.saturating_sub(r.invalid.len() as u64);
        if unlisted > 0 {
            writeln!(
                out,
                "  ... and {unlisted} more (the daemon lists the first {})",
                r.invalid.len()
            )?;
        }
    }
    let mut notes = Vec::new();
    if r.invalid_total > 0 {
        notes.push(format!(
            "{} not imported: fix {} and import {} again",
            rows_word(r.invalid_total, "invalid row was", "invalid rows were"),
            if r.invalid_total == 1 { "it" } else { "them" },
            if r.invalid_total == 1 { "it" } else { "them" },
        ));
    }
    if r.refused_plan > 0 {
        notes.push(format!(
            "{} refused: the account holds its plan's limit of contacts",
            rows_word(r.refused_plan, "new row was", "new rows were"),
        ));
    }
    if r.refused_daily > 0 {
        notes.push(format!(
            "{} refused by the daily import limit: past 10,000 imported rows an account \
             imports at most 1,000 rows a day, existing contacts included",
            rows_word(r.refused_daily, "row was", "rows were"),
        ));
    }
    if notes.is_empty() {
        writeln!(
            out,
            "the file was taken: every row was imported or is an existing contact"
        )?;
    } else {
        writeln!(out, "the file was taken, but {}", notes.join("; "))?;
    }
    Ok(())
}

fn rows_word(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn report_json(name: &str, r: &ImportReport) -> String {
    let invalid = r.invalid.iter().map(|row| {
        Obj::new()
            .num("line", row.line)
            .str("reason", &row.reason)
            .finish()
    });
    Obj::new()
        .str("file", name)
        .num("imported", r.imported)
        .num("skipped_existing", r.skipped_existing)
        .num("refused_plan", r.refused_plan)
        .num("refused_daily", r.refused_daily)
        .num("invalid_total", r.invalid_total)
        .raw("invalid", &json_array(invalid))
        .finish()
}

/// A progress line on standard error while it is a terminal.
struct Progress {
    on: bool,
    name: String,
    size: Option<u64>,
    shown: bool,
}

impl Progress {
    fn new(name: &str, size: Option<u64>) -> Progress {
        Progress {
            on: io::stderr().is_terminal(),
            name: printable(name),
            size,
            shown: false,
        }
    }

    fn show(&mut self, sent: u64, report: &ImportReport) {
        if !self.on {
            return;
        }
        let part = match self.size {
            Some(size) if size > 0 => format!(" ({}%)", sent.saturating_mul(100) / size),
            _ => String::new(),
        };
        eprint!(
            "\r\x1b[Kimporting {}: {sent} bytes sent{part}, {} contacts imported",
            self.name, report.imported
        );
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[K");
            self.shown = false;
        }
    }
}

// ---- export ----------------------------------------------------------------

fn export(socket: &Path, args: &ContactsExportArgs, out: &mut dyn Write) -> Result<()> {
    // A page of up to 5,000 contacts may be larger than the default frame limit:
    // accept whatever the daemon may send (it is the local admin socket).
    let options = ClientOptions {
        max_frame: MAX_FRAME_CEILING,
        ..client_options()
    };
    let mut admin = Exporter {
        admin: Admin::connect_with(socket, options.clone())?,
        socket,
        options,
    };
    let page_size = args.page_size.min(MAX_EXPORT_PAGE);
    let Some(path) = &args.output else {
        export_to(&mut admin, args.account, page_size, out)?;
        return Ok(());
    };
    // Write beside the target and rename once complete: a failed export never
    // leaves a file that looks whole.
    let temp = temp_path(path);
    let written = File::create(&temp)
        .with_context(|| format!("creating {}", temp.display()))
        .and_then(|file| {
            let mut w = BufWriter::new(file);
            let contacts = export_to(&mut admin, args.account, page_size, &mut w)?;
            let file = w
                .into_inner()
                .map_err(|e| anyhow!("writing {}: {}", temp.display(), e.error()))?;
            file.sync_all()
                .with_context(|| format!("writing {}", temp.display()))?;
            std::fs::rename(&temp, path)
                .with_context(|| format!("renaming {} to {}", temp.display(), path.display()))?;
            Ok(contacts)
        });
    let contacts = match written {
        Ok(contacts) => contacts,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
    };
    writeln!(
        out,
        "exported {contacts} contact{} of account {} to {}",
        if contacts == 1 { "" } else { "s" },
        args.account,
        printable(&path.display().to_string())
    )?;
    Ok(())
}

/// The export's connection, and how to open it again.
struct Exporter<'a> {
    admin: Admin,
    socket: &'a Path,
    options: ClientOptions,
}

/// Writes every page of the export to `w`; returns how many contacts it held.
///
/// The daemon bounds a page by its number of contacts only, and a contact's line
/// may take from a few dozen bytes to over 10 KB (16 free fields): the first page
/// asks for [`FIRST_EXPORT_PAGE`] contacts, and each next one for as many of the
/// longest line seen so far fit in [`EXPORT_PAGE_BYTES`], within `max_page`. A
/// page too large for the connection anyway (the daemon closes it as a slow
/// consumer) is asked for again, an eighth as large, on a new connection, and
/// no later page is larger. Page boundaries do not change the bytes written.
fn export_to(
    exporter: &mut Exporter<'_>,
    account: u64,
    mut max_page: u32,
    w: &mut dyn Write,
) -> Result<u64> {
    let mut after = 0u64;
    let mut records = RecordCounter::default();
    let mut limit = max_page.min(FIRST_EXPORT_PAGE);
    loop {
        let request = Request::ExportContacts { after, limit };
        let (csv, next_after) = match exporter.admin.on_account(account, &request) {
            Ok(Response::Export { csv, next_after }) => (csv, next_after),
            Ok(other) => return Err(unexpected("ExportContacts", &other)),
            Err(e) if limit > 1 && RequestError::of(&e).is_some_and(|r| r.answer_too_large) => {
                limit = (limit / 8).max(1);
                max_page = limit;
                exporter.admin = Admin::connect_with(exporter.socket, exporter.options.clone())?;
                continue;
            }
            Err(e) => return Err(e),
        };
        records.feed(&csv);
        w.write_all(&csv)?;
        match next_after {
            None => break,
            Some(next) if next > after => after = next,
            Some(next) => bail!(
                "ExportContacts on account {account}: the daemon's cursor went from {after} \
                 to {next}, not forward; the export is incomplete"
            ),
        }
        let fit = (EXPORT_PAGE_BYTES / records.longest.max(1)).clamp(1, u64::from(max_page));
        limit = u32::try_from(fit).unwrap_or(max_page);
    }
    w.flush()?;
    // Every record but the header is a contact.
    Ok(records.records.saturating_sub(1))
}

/// `FILE` → `.FILE.kefuctl-PID.tmp` in the same directory.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export.csv".into());
    path.with_file_name(format!(".{name}.kefuctl-{}.tmp", std::process::id()))
}

/// Counts the records of the exporter's CSV (every record ends with CRLF; line
/// breaks inside quoted cells do not end one).
#[derive(Debug, Default)]
struct RecordCounter {
    quoted: bool,
    /// Records ended so far.
    records: u64,
    /// Bytes of the record under way.
    current: u64,
    /// Bytes of the longest record so far (line break included).
    longest: u64,
}

impl RecordCounter {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.current += 1;
            match b {
                // `""` inside a quoted cell toggles twice: no change.
                b'"' => self.quoted = !self.quoted,
                b'\n' if !self.quoted => {
                    self.records += 1;
                    self.longest = self.longest.max(self.current);
                    self.current = 0;
                }
                _ => {}
            }
        }
    }
}

// ---- count -----------------------------------------------------------------

fn count(socket: &Path, args: &ContactsCountArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let query = ContactQuery {
        state: args.state.map(|s| match s {
            ContactStateArg::Friend => ContactState::Friend,
            ContactStateArg::Stranger => ContactState::Stranger,
            ContactStateArg::Blacklisted => ContactState::Blacklisted,
            ContactStateArg::Pending => ContactState::Pending,
        }),
        ..ContactQuery::everything(1)
    };
    match admin.on_account(args.account, &Request::SearchContacts(query))? {
        // The number alone, for scripts: `N=$(kefuctl contacts count --account 800001)`.
        Response::Contacts(page) => writeln!(out, "{}", page.total)?,
        other => return Err(unexpected("SearchContacts", &other)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_wire::crm::InvalidRow;

    #[test]
    fn chunks_fill_up_to_the_size_and_end_empty() {
        // A reader returning a few bytes at a time still gives full chunks.
        struct Trickle(Vec<u8>, usize);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(3).min(self.0.len() - self.1);
                buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let mut input = Trickle((0..25u8).collect(), 0);
        let sizes: Vec<usize> = std::iter::from_fn(|| {
            let chunk = read_chunk(&mut input, 10, "t").unwrap();
            (!chunk.is_empty()).then_some(chunk.len())
        })
        .collect();
        assert_eq!(sizes, [10, 10, 5]);
    }

    #[test]
    fn records_are_counted_outside_quotes() {
        let mut c = RecordCounter::default();
        c.feed(b"\xEF\xBB\xBFid,remark\r\na,\"two\r\nlines, \"\"quoted\"\"\"\r\nb,");
        c.feed(b"x\r\n");
        assert_eq!(c.records, 3);
        assert_eq!(c.longest, 28);
    }

    #[test]
    fn reports_say_what_happened() {
        let report = ImportReport {
            imported: 3,
            skipped_existing: 1,
            refused_plan: 0,
            refused_daily: 2,
            invalid: vec![InvalidRow {
                line: 5,
                reason: "visitor id \"zz\" is not 32 hex digits".into(),
            }],
            invalid_total: 4,
            finished: true,
        };
        let mut out = Vec::new();
        write_report("c.csv", &report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("rows:                   10\n"), "{text}");
        assert!(text.contains("  line 5: visitor id \"zz\" is not 32 hex digits\n"));
        assert!(text.contains("... and 3 more"), "{text}");
        assert!(text.contains("4 invalid rows were not imported"), "{text}");
        assert!(text.contains("2 rows were refused by the daily import limit"));
        let json = report_json("c.csv", &report);
        assert!(json.contains(r#""invalid":[{"line":5,"reason":"visitor id \"zz\" is"#));
    }
}
