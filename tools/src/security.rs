//! `kefuctl security level`: an account's security level, read and set on the
//! account with operator authority (`AdminOnAccount`).

use crate::admin::{expect_ok, unexpected, Admin};
use crate::cli::{LevelArg, SecurityCommand, SecurityLevelArgs};
use crate::output::{json_str, write_fields, Obj};
use anyhow::Result;
use kefu_wire::{Request, Response, SecurityInfo, SecurityLevel};
use std::io::Write;
use std::path::Path;

/// Runs one `security` subcommand.
pub fn run(socket: &Path, command: &SecurityCommand, out: &mut dyn Write) -> Result<()> {
    match command {
        SecurityCommand::Level(args) => level(socket, args, out),
    }
}

fn level(socket: &Path, args: &SecurityLevelArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    if let Some(level) = args.set {
        let level = match level {
            LevelArg::Low => SecurityLevel::Low,
            LevelArg::Medium => SecurityLevel::Medium,
            LevelArg::High => SecurityLevel::High,
        };
        let request = Request::SetSecurityLevel { level };
        expect_ok(
            "SetSecurityLevel",
            admin.on_account(args.account, &request)?,
        )?;
        writeln!(
            out,
            "security level of account {} set to {}",
            args.account,
            level_name(level)
        )?;
        return Ok(());
    }
    // Asked on behalf of the account, so the token shown is agent 1001's.
    let info: SecurityInfo = match admin.on_account(args.account, &Request::GetSecurity)? {
        Response::Security(info) => info,
        other => return Err(unexpected("GetSecurity", &other)),
    };
    if args.json {
        let token = info.token_serial.as_deref().map_or("null".into(), json_str);
        let json = Obj::new()
            .num("account", args.account)
            .str("level", level_name(info.level))
            .raw("token_1001", &token)
            .finish();
        writeln!(out, "{json}")?;
    } else {
        let fields = [
            ("account", args.account.to_string()),
            ("level", level_name(info.level).into()),
            (
                "token of 1001",
                info.token_serial.unwrap_or_else(|| "none".into()),
            ),
        ];
        write_fields(&fields, out)?;
    }
    Ok(())
}

fn level_name(level: SecurityLevel) -> &'static str {
    match level {
        SecurityLevel::Low => "low",
        SecurityLevel::Medium => "medium",
        SecurityLevel::High => "high",
    }
}
