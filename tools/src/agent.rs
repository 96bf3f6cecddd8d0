//! `kefuctl agent add|list|passwd|profile|unlock`: agents over the admin socket.
//!
//! Profiles are read and set on the account with operator authority (`AdminOnAccount`).

use crate::admin::{expect_ok, unexpected, Admin};
use crate::cli::{
    AgentAddArgs, AgentCommand, AgentListArgs, AgentPasswdArgs, AgentProfileArgs, AgentUnlockArgs,
    DisplayArg,
};
use crate::output::{json_array, printable, write_fields, Obj, Table};
use crate::secrets::{self, Secret};
use anyhow::{bail, Result};
use kefu_wire::{AgentInfo, AgentProfile, DisplayMode, Presence, Request, Response};
use std::io::Write;
use std::path::Path;

/// Runs one `agent` subcommand.
pub fn run(socket: &Path, command: &AgentCommand, out: &mut dyn Write) -> Result<()> {
    match command {
        AgentCommand::Add(args) => add(socket, args, out),
        AgentCommand::List(args) => list(socket, args, out),
        AgentCommand::Passwd(args) => passwd(socket, args, out),
        AgentCommand::Profile(args) => profile(socket, args, out),
        AgentCommand::Unlock(args) => unlock(socket, args, out),
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

fn profile(socket: &Path, args: &AgentProfileArgs, out: &mut dyn Write) -> Result<()> {
    let f = &args.fields;
    if f.nickname.as_ref().is_some_and(|n| n.trim().is_empty()) {
        bail!("--nickname is empty");
    }
    let mut admin = Admin::connect(socket)?;
    let get = Request::GetAgentProfile { agent: args.agent };
    let mut profile = match admin.on_account(args.account, &get)? {
        Response::Profile(profile) => profile,
        other => return Err(unexpected("GetAgentProfile", &other)),
    };
    if args.set {
        // SetAgentProfile replaces the whole profile: the fields not given are kept.
        if let Some(nickname) = &f.nickname {
            profile.nickname = nickname.clone();
        }
        if let Some(group) = &f.group {
            profile.group = group.clone();
        }
        if let Some(display) = f.display {
            profile.display = match display {
                DisplayArg::Nickname => DisplayMode::Nickname,
                DisplayArg::Number => DisplayMode::AgentNumber,
            };
        }
        if let Some(phone) = &f.phone {
            profile.phone = phone.clone();
        }
        let set = Request::SetAgentProfile {
            agent: args.agent,
            profile: profile.clone(),
        };
        expect_ok("SetAgentProfile", admin.on_account(args.account, &set)?)?;
        writeln!(out, "profile of agent {}@{} set", args.agent, args.account)?;
    }
    if args.json {
        let json = Obj::new()
            .num("account", args.account)
            .num("agent", args.agent)
            .str("nickname", &profile.nickname)
            .str("group", &profile.group)
            .str("display", display_name(profile.display))
            .str("phone", &profile.phone)
            .finish();
        writeln!(out, "{json}")?;
    } else {
        write_profile(args.account, args.agent, &profile, out)?;
    }
    Ok(())
}

fn write_profile(account: u64, agent: u32, p: &AgentProfile, out: &mut dyn Write) -> Result<()> {
    let or_none = |s: &str| {
        if s.is_empty() {
            "(none)".to_string()
        } else {
            s.to_string()
        }
    };
    let fields = [
        ("agent", format!("{agent}@{account}")),
        ("nickname", p.nickname.clone()),
        ("group", or_none(&p.group)),
        ("display", display_name(p.display).into()),
        ("phone", or_none(&p.phone)),
    ];
    write_fields(&fields, out)?;
    Ok(())
}

fn display_name(d: DisplayMode) -> &'static str {
    match d {
        DisplayMode::Nickname => "nickname",
        DisplayMode::AgentNumber => "number",
    }
}

fn unlock(socket: &Path, args: &AgentUnlockArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let request = Request::AdminUnlockAgent {
        account: args.account,
        agent: args.agent,
    };
    expect_ok("AdminUnlockAgent", admin.request(&request)?)?;
    writeln!(
        out,
        "failed logins of agent {}@{} forgotten: it may log in again",
        args.agent, args.account
    )?;
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
