//! `kefuctl sms topup|balance|dead-letters|reply`: an account's SMS balance for
//! forwarding offline messages, its dead letters, and the gateway bridge's way of
//! threading a phone's reply back (wire/PROTOCOL.md section 27).

use crate::admin::{unexpected, Admin};
use crate::cli::SmsCommand;
use crate::date;
use crate::output::{json_array, printable, write_fields, Obj, Table};
use anyhow::{bail, Context, Result};
use kefu_wire::chat::CustomerId;
use kefu_wire::sms::{SmsBalance, SmsDeadLetter};
use kefu_wire::{Request, Response};
use std::io::{Read, Write};
use std::path::Path;

/// Runs `kefuctl sms ...`.
pub fn run(socket: &Path, cmd: &SmsCommand, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    match cmd {
        SmsCommand::Topup(a) => {
            let request = Request::AdminSmsTopUp {
                account: a.account,
                units: a.units,
            };
            balance(&mut admin, &request, a.json, out)
        }
        SmsCommand::Balance(a) => {
            let request = Request::AdminSmsBalance { account: a.account };
            balance(&mut admin, &request, a.json, out)
        }
        SmsCommand::DeadLetters(a) => {
            let request = Request::AdminSmsDeadLetters { account: a.account };
            match admin.request(&request)? {
                Response::SmsDeadLetters(list) => dead_letters(&list, a.json, out),
                other => Err(unexpected(request.name(), &other)),
            }
        }
        SmsCommand::Reply(a) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the reply text from standard input")?;
            let text = text.trim_end_matches(['\r', '\n']).to_owned();
            if text.is_empty() {
                bail!("no reply text on standard input");
            }
            let request = Request::AdminSmsReply {
                account: a.account,
                sms: a.sms,
                reply_id: a.reply_id,
                text,
            };
            match admin.request(&request)? {
                Response::Sent { message, duplicate } => {
                    let note = if duplicate { " (already stored)" } else { "" };
                    writeln!(out, "message {message}{note}")?;
                    Ok(())
                }
                other => Err(unexpected(request.name(), &other)),
            }
        }
    }
}

fn balance(admin: &mut Admin, request: &Request, json: bool, out: &mut dyn Write) -> Result<()> {
    let b: SmsBalance = match admin.request(request)? {
        Response::SmsBalance(b) => b,
        other => return Err(unexpected(request.name(), &other)),
    };
    if json {
        let json = Obj::new()
            .num("units", b.units)
            .num("reserved", b.reserved)
            .num("spent", b.spent)
            .num("refunded", b.refunded)
            .num("failed_attempts", b.failed_attempts)
            .finish();
        writeln!(out, "{json}")?;
    } else {
        write_fields(
            &[
                ("units", b.units.to_string()),
                ("reserved", b.reserved.to_string()),
                ("spent", b.spent.to_string()),
                ("refunded", b.refunded.to_string()),
                ("failed attempts", b.failed_attempts.to_string()),
            ],
            out,
        )?;
    }
    Ok(())
}

fn customer_text(c: &CustomerId) -> String {
    match c {
        CustomerId::Identified(id) => id.clone(),
        CustomerId::Visitor(v) => format!(
            "visitor:{}",
            v.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    }
}

fn dead_letters(list: &[SmsDeadLetter], json: bool, out: &mut dyn Write) -> Result<()> {
    if json {
        let items = list.iter().map(|d| {
            Obj::new()
                .num("sms", d.sms)
                .num("conversation", d.conversation)
                .str("customer", &customer_text(&d.customer))
                .num("agent", d.agent)
                .str("phone", &d.phone)
                .str("text", &d.text)
                .num("segments", d.segments)
                .num("attempts", d.attempts)
                .str("last_error", &d.last_error)
                .num("queued_at_ms", d.queued_at)
                .num("dead_at_ms", d.dead_at)
                .finish()
        });
        writeln!(out, "{}", json_array(items))?;
        return Ok(());
    }
    let mut table = Table::new(&[
        "SMS",
        "AGENT",
        "PHONE",
        "UNITS",
        "ATTEMPTS",
        "DEAD AT",
        "LAST ERROR",
        "TEXT",
    ]);
    for d in list {
        table.row(vec![
            d.sms.to_string(),
            d.agent.to_string(),
            printable(&d.phone),
            d.segments.to_string(),
            d.attempts.to_string(),
            date::format_unix_ms(d.dead_at),
            printable(&d.last_error),
            printable(&d.text),
        ]);
    }
    table.write(out)?;
    Ok(())
}
