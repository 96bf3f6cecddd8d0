//! `kefuctl code create|edit|list|delete`: an account's entry-point codes (W1, manual
//! §10.2, §10.7; wire/PROTOCOL.md section 31), and `kefuctl code origins`: the origins
//! whose pages may open its chat window (PROTOCOL.md 38.4); run on the account with operator
//! authority (`AdminOnAccount`, as its agent 1001, who holds permission 16).

use crate::admin::{expect_ok, unexpected, Admin};
use crate::date;
use crate::output::{json_array, Obj, Table};
use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use kefu_wire::chat::Entry;
use kefu_wire::web::{CodeKind, EntryCode, EntryCodeDraft};
use kefu_wire::{Request, Response};
use std::io::Write;
use std::path::Path;

/// `kefuctl code ...`
#[derive(Debug, Subcommand)]
pub enum CodeCommand {
    /// Create a code; prints its number.
    Create(CodeCreateArgs),
    /// Change a code: the fields given replace its own (the next conversation through
    /// it follows the new routing).
    Edit(CodeEditArgs),
    /// The account's codes: the ones generated before.
    List(CodeListArgs),
    /// Delete a code.
    Delete(CodeDeleteArgs),
    /// The origins whose pages may open the account's chat window: its explicit list
    /// (replaced with --set or --clear) and its codes' sites; prints both.
    Origins(CodeOriginsArgs),
}

/// `kefuctl code origins`
#[derive(Debug, Args)]
pub struct CodeOriginsArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// Replace the explicit list with these origins (http(s)://host[:port]; repeat).
    #[arg(long = "set", value_name = "ORIGIN", conflicts_with = "clear")]
    pub set: Vec<String>,
    /// Empty the explicit list (only the codes' sites remain).
    #[arg(long)]
    pub clear: bool,
}

/// The fields of a code, each optional on `edit`.
#[derive(Debug, Args)]
pub struct CodeFields {
    /// fixed, floating or link.
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<CodeKind>,
    /// auto, agent:NUMBER or group:NAME (§10.7).
    #[arg(long, value_parser = parse_routing)]
    pub routing: Option<Entry>,
    /// The site it is published on (http:// or https://).
    #[arg(long)]
    pub site_url: Option<String>,
    /// The account's own note (at most 200 characters).
    #[arg(long)]
    pub description: Option<String>,
    /// The icon's style name, e.g. A-03.
    #[arg(long)]
    pub style: Option<String>,
    /// Anonymous window only (yes or no).
    #[arg(long)]
    pub anonymous: Option<bool>,
}

/// `kefuctl code create`
#[derive(Debug, Args)]
pub struct CodeCreateArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    #[command(flatten)]
    pub fields: CodeFields,
}

/// `kefuctl code edit`
#[derive(Debug, Args)]
pub struct CodeEditArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// The code's number.
    #[arg(long)]
    pub id: u32,
    #[command(flatten)]
    pub fields: CodeFields,
}

/// `kefuctl code list`
#[derive(Debug, Args)]
pub struct CodeListArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl code delete`
#[derive(Debug, Args)]
pub struct CodeDeleteArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// The code's number.
    #[arg(long)]
    pub id: u32,
}

fn parse_kind(s: &str) -> Result<CodeKind, String> {
    match s {
        "fixed" => Ok(CodeKind::Fixed),
        "floating" => Ok(CodeKind::Floating),
        "link" => Ok(CodeKind::Link),
        _ => Err("fixed, floating or link".into()),
    }
}

fn parse_routing(s: &str) -> Result<Entry, String> {
    if s == "auto" {
        return Ok(Entry::Auto);
    }
    if let Some(n) = s.strip_prefix("agent:") {
        return n
            .parse()
            .map(Entry::Agent)
            .map_err(|_| "agent:NUMBER".to_string());
    }
    if let Some(g) = s.strip_prefix("group:") {
        return Ok(Entry::Group(g.to_string()));
    }
    Err("auto, agent:NUMBER or group:NAME".into())
}

fn kind_name(k: CodeKind) -> &'static str {
    match k {
        CodeKind::Fixed => "fixed",
        CodeKind::Floating => "floating",
        CodeKind::Link => "link",
    }
}

fn routing_name(e: &Entry) -> String {
    match e {
        Entry::Auto => "auto".into(),
        Entry::Agent(n) => format!("agent:{n}"),
        Entry::Group(g) => format!("group:{g}"),
    }
}

/// Runs one `code` subcommand.
pub fn run(socket: &Path, command: &CodeCommand, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    match command {
        CodeCommand::Create(a) => {
            let f = &a.fields;
            let (Some(kind), Some(routing), Some(site_url)) =
                (f.kind, f.routing.clone(), f.site_url.clone())
            else {
                bail!("create needs --kind, --routing and --site-url");
            };
            let draft = EntryCodeDraft {
                description: f.description.clone().unwrap_or_default(),
                kind,
                routing,
                site_url,
                style: f.style.clone().unwrap_or_default(),
                anonymous: f.anonymous.unwrap_or(false),
            };
            let code = saved(&mut admin, a.account, &Request::CreateEntryCode { draft })?;
            // The number alone, so that scripts can take it: `CODE=$(kefuctl code create ...)`.
            writeln!(out, "{}", code.id)?;
        }
        CodeCommand::Edit(a) => {
            let codes = fetch(&mut admin, a.account)?;
            let old = codes
                .into_iter()
                .find(|c| c.id == a.id)
                .ok_or_else(|| anyhow!("account {} has no code {}", a.account, a.id))?;
            let f = &a.fields;
            let d = old.draft;
            let draft = EntryCodeDraft {
                description: f.description.clone().unwrap_or(d.description),
                kind: f.kind.unwrap_or(d.kind),
                routing: f.routing.clone().unwrap_or(d.routing),
                site_url: f.site_url.clone().unwrap_or(d.site_url),
                style: f.style.clone().unwrap_or(d.style),
                anonymous: f.anonymous.unwrap_or(d.anonymous),
            };
            let code = saved(
                &mut admin,
                a.account,
                &Request::EditEntryCode { id: a.id, draft },
            )?;
            writeln!(out, "{}", code.id)?;
        }
        CodeCommand::List(a) => list(&mut admin, a, out)?,
        CodeCommand::Origins(a) => origins(&mut admin, a, out)?,
        CodeCommand::Delete(a) => {
            let request = Request::DeleteEntryCode { id: a.id };
            expect_ok(request.name(), admin.on_account(a.account, &request)?)?;
        }
    }
    Ok(())
}

fn saved(admin: &mut Admin, account: u64, request: &Request) -> Result<EntryCode> {
    match admin.on_account(account, request)? {
        Response::EntryCode(c) => Ok(c),
        other => Err(unexpected(request.name(), &other)),
    }
}

fn fetch(admin: &mut Admin, account: u64) -> Result<Vec<EntryCode>> {
    match admin.on_account(account, &Request::ListEntryCodes)? {
        Response::EntryCodes(c) => Ok(c),
        other => Err(unexpected("ListEntryCodes", &other)),
    }
}

fn list(admin: &mut Admin, a: &CodeListArgs, out: &mut dyn Write) -> Result<()> {
    let codes = fetch(admin, a.account)?;
    if a.json {
        let items = codes.iter().map(|c| {
            Obj::new()
                .num("id", c.id)
                .str("kind", kind_name(c.draft.kind))
                .str("routing", &routing_name(&c.draft.routing))
                .str("site_url", &c.draft.site_url)
                .str("description", &c.draft.description)
                .str("style", &c.draft.style)
                .bool("anonymous", c.draft.anonymous)
                .num("created_at", c.created_at)
                .num("edited_at", c.edited_at)
                .finish()
        });
        writeln!(out, "{}", json_array(items))?;
        return Ok(());
    }
    let mut table = Table::new(&[">id", "kind", "routing", "site", "edited", "description"]);
    for c in &codes {
        table.row(vec![
            c.id.to_string(),
            kind_name(c.draft.kind).into(),
            routing_name(&c.draft.routing),
            c.draft.site_url.clone(),
            date::format_unix_ms(c.edited_at),
            c.draft.description.clone(),
        ]);
    }
    table.write(out)?;
    Ok(())
}

fn origins(admin: &mut Admin, a: &CodeOriginsArgs, out: &mut dyn Write) -> Result<()> {
    if a.clear || !a.set.is_empty() {
        let request = Request::SetAllowedOrigins {
            origins: a.set.clone(),
        };
        expect_ok(request.name(), admin.on_account(a.account, &request)?)?;
    }
    let allowed = match admin.on_account(a.account, &Request::GetAllowedOrigins)? {
        Response::AllowedOrigins(o) => o,
        other => return Err(unexpected("GetAllowedOrigins", &other)),
    };
    let mut table = Table::new(&["origin", "from"]);
    for o in &allowed.explicit {
        table.row(vec![o.clone(), "list".into()]);
    }
    for o in &allowed.from_codes {
        table.row(vec![o.clone(), "code".into()]);
    }
    table.write(out)?;
    Ok(())
}
