//! `kefuctl agent add|list|passwd`: agents over the admin socket.

use crate::admin::{unexpected, Admin};
use crate::cli::{AgentAddArgs, AgentCommand, AgentListArgs, AgentPasswdArgs};
use crate::output::{json_array, printable, Obj, Table};
use crate::secrets::{self, Secret};
use anyhow::{bail, Result};
use kefu_wire::{AgentInfo, Presence, Request, Response};
use std::io::Write;
use std::path::Path;

/// Runs one `agent` subcommand.
pub fn run(socket: &Path, command: &AgentCommand, out: &mut dyn Write) -> Result<()> {
    match command {
        AgentCommand::Add(args) => add(socket, args, out),
        AgentCommand::List(args) => list(socket, args, out),
        AgentCommand::Passwd(args) => passwd(socket, args, out),
    }
}

fn add(socket: &Path, args: &AgentAddArgs, out: &mut dyn Write) -> Result<()> {
    if args.nickname.trim().is_empty() {
        bail!("--nickname is empty");
    }
    let mut admin = Admin::connect(socket)?;
    let request = Request::AdminAddAgent {
        account: args.account,
        agent: args.agent,
        nickname: args.nickname.clone(),
        role: args.role,
    };
    expect_done("AdminAddAgent", admin.request(&request)?)?;
    writeln!(
        out,
        "added agent {}@{} ({}); it has no password yet",
        args.agent,
        args.account,
        printable(&args.nickname)
    )?;
    Ok(())
}

fn list(socket: &Path, args: &AgentListArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let agents = fetch(&mut admin, args.account)?;
    if args.json {
        writeln!(out, "{}", json_array(agents.iter().map(agent_json)))?;
    } else {
        table(&agents).write(out)?;
    }
    Ok(())
}

fn passwd(socket: &Path, args: &AgentPasswdArgs, out: &mut dyn Write) -> Result<()> {
    let what = format!("new password of agent {}@{}", args.agent, args.account);
    let new_password = secrets::read(Secret {
        var: secrets::PASSWORD,
        what: &what,
    })?;
    let mut admin = Admin::connect(socket)?;
    let request = Request::AdminSetAgentPassword {
        account: args.account,
        agent: args.agent,
        new_password,
    };
    expect_done("AdminSetAgentPassword", admin.request(&request)?)?;
    writeln!(out, "password of agent {}@{} set", args.agent, args.account)?;
    Ok(())
}

/// An account's agents.
pub fn fetch(admin: &mut Admin, account: u64) -> Result<Vec<AgentInfo>> {
    match admin.request(&Request::AdminListAgents { account })? {
        Response::Agents(agents) => Ok(agents),
        other => Err(unexpected("AdminListAgents", &other)),
    }
}

/// Agents as a text table.
pub fn table(agents: &[AgentInfo]) -> Table {
    let mut table = Table::new(&[">agent", "nickname", ">role", "password", "presence"]);
    for a in agents {
        table.row(vec![
            a.agent.to_string(),
            a.nickname.clone(),
            a.role.to_string(),
            if a.has_password { "set" } else { "none" }.into(),
            presence_name(a.presence).into(),
        ]);
    }
    table
}

/// One agent as a JSON object.
pub fn agent_json(a: &AgentInfo) -> String {
    Obj::new()
        .num("agent", a.agent)
        .str("nickname", &a.nickname)
        .num("role", a.role)
        .bool("has_password", a.has_password)
        .str("presence", presence_name(a.presence))
        .finish()
}

fn presence_name(p: Presence) -> &'static str {
    match p {
        Presence::Online => "online",
        Presence::Away => "away",
        Presence::Busy => "busy",
        Presence::Offline => "offline",
    }
}

/// Accepts the answers that mean "done" for a mutation.
fn expect_done(request: &str, response: Response) -> Result<()> {
    match response {
        Response::Ok | Response::Agents(_) => Ok(()),
        other => Err(unexpected(request, &other)),
    }
}
