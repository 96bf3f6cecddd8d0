//! `kefuctl`: administration of a Kefu appliance. This file is glue: parse, dispatch, report.
//!
//! Exit codes: 0 success (a closed stdout pipe counts as success), 1 a
//! failure reported by the daemon or a check, 2 a usage error (clap's).

mod account;
mod account_move;
mod admin;
mod agent;
mod backup;
mod balance;
mod broadcast;
mod cli;
mod clock;
mod cluster;
mod code;
mod contacts;
mod csat;
mod date;
mod diagnose;
mod output;
mod profile;
mod report;
mod role;
mod secrets;
mod security;
mod sms;
mod stats;
mod tls;
mod tokens;

use clap::Parser;
use cli::{Cli, Command};
use std::io::{self, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut out = Stdout {
        inner: io::stdout().lock(),
        broken_pipe: false,
    };
    let result = match &cli.command {
        Command::Account(cmd) => account::run(&cli.admin_socket, cmd, &mut out),
        Command::Agent(cmd) => agent::run(&cli.admin_socket, cmd, &mut out),
        Command::Role(cmd) => role::run(&cli.admin_socket, cmd, &mut out),
        Command::Security(cmd) => security::run(&cli.admin_socket, cmd, &mut out),
        Command::Tokens(cmd) => tokens::run(&cli.admin_socket, cmd, &mut out),
        Command::Contacts(cmd) => contacts::run(&cli.admin_socket, cmd, &mut out),
        Command::Stats(args) => stats::run(&cli.admin_socket, args, &mut out),
        Command::Diagnose(args) => diagnose::run(args, &cli.admin_socket, &mut out),
        Command::Clock(cmd) => clock::run(&cli.admin_socket, cmd, &mut out),
        Command::Sms(cmd) => sms::run(&cli.admin_socket, cmd, &mut out),
        Command::Balance(cmd) => balance::run(&cli.admin_socket, cmd, &mut out),
        Command::Broadcast(cmd) => broadcast::run(&cli.admin_socket, cmd, &mut out),
        Command::Report(cmd) => report::run(&cli.admin_socket, cmd, &mut out),
        Command::Tls(cli::TlsCommand::SelfSigned(args)) => tls::self_signed(args, &mut out),
        Command::Backup(cmd) => backup::run(&cli.admin_socket, cmd, &mut out),
        Command::Code(cmd) => code::run(&cli.admin_socket, cmd, &mut out),
        Command::Profile(cmd) => profile::run(&cli.admin_socket, cmd, &mut out),
        Command::Csat(cmd) => csat::run(&cli.admin_socket, cmd, &mut out),
        Command::Cluster(args) => cluster::run(args, &cli.admin_socket, &mut out),
    }
    .and_then(|()| out.flush().map_err(Into::into));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Whoever read our output has seen enough (`kefuctl account list | head`).
        Err(_) if out.broken_pipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kefuctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Standard output, remembering whether its reader went away; a broken pipe
/// elsewhere (the admin socket) stays an error.
struct Stdout {
    inner: io::StdoutLock<'static>,
    broken_pipe: bool,
}

impl Stdout {
    fn note<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            self.broken_pipe |= e.kind() == io::ErrorKind::BrokenPipe;
        }
        r
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.note(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.note(r)
    }
}
