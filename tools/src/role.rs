//! `kefuctl role list|create|update|delete|assign`: an account's roles, run
//! on the account with operator authority (`AdminOnAccount`).

use crate::admin::{expect_ok, unexpected, Admin};
use crate::cli::{
    Permissions, RoleAssignArgs, RoleCommand, RoleCreateArgs, RoleDeleteArgs, RoleListArgs,
    RoleUpdateArgs,
};
use crate::output::{json_array, printable, Obj, Table};
use anyhow::{anyhow, bail, Result};
use kefu_wire::{Request, Response, RoleInfo};
use std::io::Write;
use std::path::Path;

/// Runs one `role` subcommand.
pub fn run(socket: &Path, command: &RoleCommand, out: &mut dyn Write) -> Result<()> {
    match command {
        RoleCommand::List(args) => list(socket, args, out),
        RoleCommand::Create(args) => create(socket, args, out),
        RoleCommand::Update(args) => update(socket, args, out),
        RoleCommand::Delete(args) => delete(socket, args, out),
        RoleCommand::Assign(args) => assign(socket, args, out),
    }
}

fn list(socket: &Path, args: &RoleListArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let roles = fetch(&mut admin, args.account)?;
    if args.json {
        writeln!(out, "{}", json_array(roles.iter().map(role_json)))?;
        return Ok(());
    }
    let mut table = Table::new(&[">id", "name", "permissions", ">agents"]);
    for r in &roles {
        table.row(vec![
            r.role.to_string(),
            r.name.clone(),
            Permissions(r.permissions).to_string(),
            r.agents.to_string(),
        ]);
    }
    table.write(out)?;
    Ok(())
}

fn create(socket: &Path, args: &RoleCreateArgs, out: &mut dyn Write) -> Result<()> {
    check_name(&args.name)?;
    let mut admin = Admin::connect(socket)?;
    let request = Request::CreateRole {
        name: args.name.clone(),
        permissions: args.permissions.0,
    };
    match admin.on_account(args.account, &request)? {
        // The id alone, so that scripts can take it: `ROLE=$(kefuctl role create ...)`.
        Response::Role(info) => writeln!(out, "{}", info.role)?,
        other => return Err(unexpected("CreateRole", &other)),
    }
    Ok(())
}

fn update(socket: &Path, args: &RoleUpdateArgs, out: &mut dyn Write) -> Result<()> {
    if let Some(name) = &args.change.name {
        check_name(name)?;
    }
    let mut admin = Admin::connect(socket)?;
    // UpdateRole replaces both; what was not given is kept as it is.
    let (name, permissions) = match (&args.change.name, args.change.permissions) {
        (Some(name), Some(permissions)) => (name.clone(), permissions),
        (name, permissions) => {
            let current = fetch(&mut admin, args.account)?
                .into_iter()
                .find(|r| r.role == args.role)
                .ok_or_else(|| anyhow!("account {} has no role {}", args.account, args.role))?;
            (
                name.clone().unwrap_or(current.name),
                permissions.unwrap_or(Permissions(current.permissions)),
            )
        }
    };
    let request = Request::UpdateRole {
        role: args.role,
        name: name.clone(),
        permissions: permissions.0,
    };
    expect_ok("UpdateRole", admin.on_account(args.account, &request)?)?;
    writeln!(
        out,
        "role {} of account {} is now {} with permissions {permissions}",
        args.role,
        args.account,
        printable(&name)
    )?;
    Ok(())
}

fn delete(socket: &Path, args: &RoleDeleteArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let request = Request::DeleteRole { role: args.role };
    expect_ok("DeleteRole", admin.on_account(args.account, &request)?)?;
    writeln!(
        out,
        "role {} of account {} deleted",
        args.role, args.account
    )?;
    Ok(())
}

fn assign(socket: &Path, args: &RoleAssignArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let request = Request::SetAgentRole {
        agent: args.agent,
        role: args.role,
    };
    expect_ok("SetAgentRole", admin.on_account(args.account, &request)?)?;
    writeln!(
        out,
        "agent {}@{} now holds role {}",
        args.agent, args.account, args.role
    )?;
    Ok(())
}

/// An account's roles in id order.
fn fetch(admin: &mut Admin, account: u64) -> Result<Vec<RoleInfo>> {
    match admin.on_account(account, &Request::ListRoles)? {
        Response::Roles(mut roles) => {
            roles.sort_by_key(|r| r.role);
            Ok(roles)
        }
        other => Err(unexpected("ListRoles", &other)),
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        bail!("--name is empty");
    }
    Ok(())
}

fn role_json(r: &RoleInfo) -> String {
    let numbers = Permissions(r.permissions).numbers();
    Obj::new()
        .num("role", r.role)
        .str("name", &r.name)
        .raw(
            "permissions",
            &json_array(numbers.iter().map(u32::to_string)),
        )
        .num("permission_bits", r.permissions)
        .num("agents", r.agents)
        .finish()
}
