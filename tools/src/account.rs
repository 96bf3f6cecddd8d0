//! `kefuctl account create|list|show|customer-key|delete`: accounts over the admin socket.

use crate::admin::{unexpected, Admin};
use crate::cli::{AccountCommand, CreateArgs, DeleteAccountArgs, ListArgs, PlanArg, ShowArgs};
use crate::output::{json_array, write_fields, Obj, Table};
use crate::secrets::{self, Secret};
use crate::{agent, date};
use anyhow::{bail, Result};
use kefu_wire::{AccountInfo, Plan, Request, Response};
use std::io::Write;
use std::path::Path;

/// Runs one `account` subcommand.
pub fn run(socket: &Path, command: &AccountCommand, out: &mut dyn Write) -> Result<()> {
    match command {
        AccountCommand::Create(args) => create(socket, args, out),
        AccountCommand::List(args) => list(socket, args, out),
        AccountCommand::Show(args) => show(socket, args, out),
        AccountCommand::CustomerKey(args) => customer_key(socket, args.id, out),
        AccountCommand::Delete(args) => delete(socket, args, out),
    }
}

/// `account delete`: only with `--confirm` repeating the number.
fn delete(socket: &Path, args: &DeleteAccountArgs, out: &mut dyn Write) -> Result<()> {
    match args.confirm {
        Some(c) if c == args.id => {}
        Some(c) => bail!(
            "--confirm {c} does not match account {}: nothing deleted",
            args.id
        ),
        None => bail!(
            "deleting account {id} removes all of its data for good; \
             repeat its number to confirm: kefuctl account delete {id} --confirm {id}",
            id = args.id
        ),
    }
    let mut admin = Admin::connect(socket)?;
    match admin.request(&Request::AdminDeleteAccount { account: args.id })? {
        Response::AccountDeleted {
            sessions_closed,
            tokens_removed,
        } => {
            writeln!(
                out,
                "deleted account {}: {sessions_closed} sessions ended, {tokens_removed} \
                 hardware tokens removed; its storage is being compacted",
                args.id
            )?;
            Ok(())
        }
        other => Err(unexpected("AdminDeleteAccount", &other)),
    }
}

fn create(socket: &Path, args: &CreateArgs, out: &mut dyn Write) -> Result<()> {
    let expires_at = match (args.expiry.expires, args.expiry.days) {
        (Some(date), _) => date.unix_midnight(),
        (None, Some(days)) => date::now_unix() + i64::from(days) * 86_400,
        (None, None) => bail!("give --expires or --days"),
    };
    if expires_at <= date::now_unix() {
        bail!("--expires {} is in the past", date::format_unix(expires_at));
    }
    if args.name.trim().is_empty() {
        bail!("--name is empty");
    }
    // Secrets are read before connecting, so a prompt never holds a connection open.
    let password_1001 = secrets::read(Secret {
        var: secrets::PASSWORD,
        what: "password of agent 1001",
    })?;
    let super_password = secrets::read(Secret {
        var: secrets::SUPER_PASSWORD,
        what: "super password",
    })?;
    let request = Request::AdminCreateAccount {
        account: args.id,
        name: args.name.clone(),
        plan: match args.plan {
            PlanArg::Gold => Plan::Gold,
            PlanArg::Silver => Plan::Silver,
        },
        expires_at,
        password_1001,
        super_password,
    };
    let mut admin = Admin::connect(socket)?;
    match admin.request(&request)? {
        Response::Ok => writeln!(
            out,
            "created account {} ({}), service until {}",
            args.id,
            crate::output::printable(&args.name),
            date::format_unix(expires_at)
        )?,
        Response::Account(info) => {
            writeln!(out, "created account {}", info.account)?;
            write_account(&info, out)?;
        }
        other => return Err(unexpected("AdminCreateAccount", &other)),
    }
    Ok(())
}

fn list(socket: &Path, args: &ListArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let mut accounts: Vec<AccountInfo> = Vec::new();
    let mut after = args.after;
    loop {
        let want = match args.limit {
            Some(limit) => limit
                .saturating_sub(u32::try_from(accounts.len()).unwrap_or(u32::MAX))
                .min(args.page_size),
            None => args.page_size,
        };
        if want == 0 {
            break;
        }
        let page = match admin.request(&Request::AdminListAccounts { after, limit: want })? {
            Response::Accounts(page) => page,
            other => return Err(unexpected("AdminListAccounts", &other)),
        };
        let Some(last) = page.last().map(|a| a.account) else {
            break;
        };
        // Guard against a server that does not move past the cursor.
        if page.iter().any(|a| after.is_some_and(|c| a.account <= c)) {
            bail!("the daemon returned accounts out of order (after cursor {after:?})");
        }
        after = Some(last);
        accounts.extend(page);
    }
    if args.json {
        let items = accounts.iter().map(account_json);
        writeln!(out, "{}", json_array(items))?;
    } else {
        let mut table = Table::new(&[">id", "name", "plan", "expires", ">agents"]);
        for a in &accounts {
            table.row(vec![
                a.account.to_string(),
                a.name.clone(),
                plan_name(a.plan).into(),
                date::format_unix(a.expires_at),
                a.agents.to_string(),
            ]);
        }
        table.write(out)?;
    }
    Ok(())
}

fn show(socket: &Path, args: &ShowArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let info = match admin.request(&Request::AdminShowAccount { account: args.id })? {
        Response::Account(info) => info,
        other => return Err(unexpected("AdminShowAccount", &other)),
    };
    let agents = agent::fetch(&mut admin, args.id)?;
    if args.json {
        let json = Obj::new()
            .raw("account", &account_json(&info))
            .raw("agents", &json_array(agents.iter().map(agent::agent_json)))
            .finish();
        writeln!(out, "{json}")?;
    } else {
        write_account(&info, out)?;
        writeln!(out)?;
        agent::table(&agents).write(out)?;
    }
    Ok(())
}

fn customer_key(socket: &Path, account: u64, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    match admin.request(&Request::AdminRotateCustomerKey { account })? {
        Response::CustomerKey(key) => {
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(out, "{hex}")?;
            Ok(())
        }
        other => Err(unexpected("AdminRotateCustomerKey", &other)),
    }
}

fn write_account(a: &AccountInfo, out: &mut dyn Write) -> Result<()> {
    let fields = [
        ("account", a.account.to_string()),
        ("name", a.name.clone()),
        ("plan", plan_name(a.plan).into()),
        ("expires", date::format_unix(a.expires_at)),
        ("created", date::format_unix(a.created_at)),
        ("agents", a.agents.to_string()),
    ];
    write_fields(&fields, out)?;
    Ok(())
}

fn account_json(a: &AccountInfo) -> String {
    Obj::new()
        .num("account", a.account)
        .str("name", &a.name)
        .str("plan", plan_name(a.plan))
        .num("expires_at", a.expires_at)
        .str("expires", &date::format_unix_full(a.expires_at))
        .num("created_at", a.created_at)
        .num("agents", a.agents)
        .finish()
}

fn plan_name(plan: Plan) -> &'static str {
    match plan {
        Plan::Gold => "gold",
        Plan::Silver => "silver",
    }
}
