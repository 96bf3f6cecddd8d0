//! `kefuctl backup create|list|verify`: the daemon's online backups over the admin
//! socket (wire/PROTOCOL.md section 21). Restoring is `kefud --restore`, with the
//! daemon stopped.

use crate::admin::{client_options, unexpected, Admin};
use crate::cli::BackupCommand;
use crate::output::{json_array, Obj, Table};
use anyhow::Result;
use kefu_wire::{BackupInfo, ClientOptions, Request, Response};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// How long a backup or a verification may take before kefuctl gives up waiting (the
/// daemon finishes it anyway).
const BACKUP_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// Runs one `kefuctl backup` command.
pub fn run(socket: &Path, cmd: &BackupCommand, out: &mut dyn Write) -> Result<()> {
    let (request, json) = match cmd {
        BackupCommand::Create(a) => (Request::AdminBackupCreate, a.json),
        BackupCommand::List(a) => (Request::AdminBackupList, a.json),
        BackupCommand::Verify(a) => (Request::AdminBackupVerify { backup_id: a.id }, a.json),
    };
    let options = ClientOptions {
        timeout: BACKUP_TIMEOUT,
        ..client_options()
    };
    let mut admin = Admin::connect_with(socket, options)?;
    let backups = match admin.request(&request)? {
        Response::Backup(b) => vec![b],
        Response::Backups(all) => all,
        other => return Err(unexpected(request.name(), &other)),
    };
    if json {
        let items = json_array(backups.iter().map(backup_json));
        let json = match cmd {
            BackupCommand::List(_) => items,
            _ => backups.first().map(backup_json).unwrap_or(items),
        };
        writeln!(out, "{json}")?;
        return Ok(());
    }
    if backups.is_empty() {
        writeln!(out, "no backups")?;
        return Ok(());
    }
    let verified = matches!(cmd, BackupCommand::Verify(_));
    let mut header = vec![">id", "taken", ">bytes", ">files"];
    if verified {
        header.push(">keys read");
    }
    let mut table = Table::new(&header);
    for b in &backups {
        let mut row = vec![
            b.backup_id.to_string(),
            crate::date::format_unix_full(b.created_at),
            b.size_bytes.to_string(),
            b.files.to_string(),
        ];
        if verified {
            row.push(b.keys.map_or("-".into(), |k| k.to_string()));
        }
        table.row(row);
    }
    table.write(out)?;
    if verified {
        writeln!(
            out,
            "backup verified: every file present and every key readable"
        )?;
    }
    Ok(())
}

fn backup_json(b: &BackupInfo) -> String {
    let obj = Obj::new()
        .num("id", b.backup_id)
        .num("created_at", b.created_at)
        .num("size_bytes", b.size_bytes)
        .num("files", b.files);
    match b.keys {
        Some(k) => obj.num("keys", k).finish(),
        None => obj.finish(),
    }
}
