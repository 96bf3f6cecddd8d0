//! `kefuctl balance topup|show`: an account's value-added balance in units and its
//! points (V6; wire/PROTOCOL.md section 29). One unit is one yuan; a text or emoji
//! broadcast message costs 1 unit, one with an image 3; points are 1 per yuan spent.

use crate::admin::{unexpected, Admin};
use crate::cli::BalanceCommand;
use crate::output::Obj;
use anyhow::Result;
use kefu_wire::{Request, Response};
use std::io::Write;
use std::path::Path;

/// Runs `kefuctl balance ...`.
pub fn run(socket: &Path, cmd: &BalanceCommand, out: &mut dyn Write) -> Result<()> {
    let (request, json) = match cmd {
        BalanceCommand::Topup(args) => (
            Request::AdminBalanceTopUp {
                account: args.account,
                units: args.units,
            },
            args.json,
        ),
        BalanceCommand::Show(args) => (
            Request::AdminBalanceShow {
                account: args.account,
            },
            args.json,
        ),
    };
    let mut admin = Admin::connect(socket)?;
    let b = match admin.request(&request)? {
        Response::Balance(b) => b,
        other => return Err(unexpected(request.name(), &other)),
    };
    if json {
        let json = Obj::new()
            .num("available", b.available)
            .num("reserved", b.reserved)
            .num("topped_up", b.topped_up)
            .num("settled", b.settled)
            .num("refunded", b.refunded)
            .num("points", b.points)
            .finish();
        writeln!(out, "{json}")?;
    } else {
        writeln!(out, "available: {} units", b.available)?;
        writeln!(out, "reserved:  {} units", b.reserved)?;
        writeln!(out, "topped up: {} units", b.topped_up)?;
        writeln!(out, "settled:   {} units", b.settled)?;
        writeln!(out, "refunded:  {} units", b.refunded)?;
        writeln!(out, "points:    {}", b.points)?;
    }
    Ok(())
}
