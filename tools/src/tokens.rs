//! `kefuctl tokens import|bind|unbind|calibrate|unlock`: hardware tokens.
//!
//! Import and unlock are operator requests; bind, unbind and calibrate run on
//! an account with operator authority (`AdminOnAccount`). Codes and the seed
//! file's key come from the environment or standard input, never from flags.

use crate::admin::{expect_ok, unexpected, Admin, RequestError};
use crate::cli::{
    TokenFormatArg, TokensBindArgs, TokensCalibrateArgs, TokensCommand, TokensImportArgs,
    TokensUnbindArgs, TokensUnlockArgs,
};
use crate::output::{json_array, json_str, printable, Obj};
use crate::secrets::{self, Secret};
use anyhow::{bail, Context, Result};
use kefu_wire::{Body, ErrorCode, Request, Response, TokenFileFormat};
use std::io::{Read, Write};
use std::path::Path;

/// Largest seed file sent: it travels in one request, and the daemon's frames
/// are at most 1 MiB by default.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Runs one `tokens` subcommand.
pub fn run(socket: &Path, command: &TokensCommand, out: &mut dyn Write) -> Result<()> {
    match command {
        TokensCommand::Import(args) => import(socket, args, out),
        TokensCommand::Bind(args) => bind(socket, args, out),
        TokensCommand::Unbind(args) => unbind(socket, args, out),
        TokensCommand::Calibrate(args) => calibrate(socket, args, out),
        TokensCommand::Unlock(args) => unlock(socket, args, out),
    }
}

fn import(socket: &Path, args: &TokensImportArgs, out: &mut dyn Write) -> Result<()> {
    let format = match args.format {
        Some(format) => format,
        None => guess_format(&args.file)?,
    };
    let data = read_file(&args.file)?;
    let (format, key_hex, password) = match format {
        TokenFormatArg::Pskc => (
            TokenFileFormat::Pskc,
            secrets::optional(secrets::PSKC_KEY)?,
            secrets::optional(secrets::PSKC_PASSWORD)?,
        ),
        TokenFormatArg::Csv => (TokenFileFormat::Csv, None, None),
    };
    let no_secret = format == TokenFileFormat::Pskc && key_hex.is_none() && password.is_none();
    let request = Request::AdminImportTokens {
        format,
        data,
        key_hex,
        password,
    };
    let mut admin = Admin::connect(socket)?;
    // A frame over the daemon's limit would close the connection with no
    // useful answer: refuse it here, with the numbers.
    let size = request.encode().len();
    let limit = admin.max_frame();
    if size > limit as usize {
        bail!(
            "{}: the import request would be {size} bytes, over the daemon's frame limit \
             of {limit} bytes; split the file",
            args.file.display()
        );
    }
    let serials = match admin.request(&request) {
        Ok(Response::TokensImported { serials }) => serials,
        Ok(other) => return Err(unexpected("AdminImportTokens", &other)),
        Err(e) if no_secret && RequestError::code_of(&e) == Some(ErrorCode::INVALID_ARGUMENT) => {
            bail!(
                "{e:#} (if the file is encrypted: neither {} nor {} is set)",
                secrets::PSKC_KEY,
                secrets::PSKC_PASSWORD
            )
        }
        Err(e) => return Err(e),
    };
    if args.json {
        let json = Obj::new()
            .num("imported", serials.len() as u64)
            .raw("serials", &json_array(serials.iter().map(|s| json_str(s))))
            .finish();
        writeln!(out, "{json}")?;
    } else {
        let n = serials.len();
        writeln!(out, "imported {n} token{}", if n == 1 { "" } else { "s" })?;
        for serial in &serials {
            writeln!(out, "{}", printable(serial))?;
        }
    }
    Ok(())
}

fn bind(socket: &Path, args: &TokensBindArgs, out: &mut dyn Write) -> Result<()> {
    let what = format!("code shown by token {}", args.serial);
    let code = read_code(secrets::OTP, &what)?;
    let mut admin = Admin::connect(socket)?;
    let request = Request::BindToken {
        agent: args.agent,
        serial: args.serial.clone(),
        code,
    };
    expect_ok("BindToken", admin.on_account(args.account, &request)?)?;
    writeln!(
        out,
        "token {} bound to agent {}@{}",
        printable(&args.serial),
        args.agent,
        args.account
    )?;
    Ok(())
}

fn unbind(socket: &Path, args: &TokensUnbindArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let request = Request::UnbindToken { agent: args.agent };
    expect_ok("UnbindToken", admin.on_account(args.account, &request)?)?;
    writeln!(
        out,
        "token of agent {}@{} unbound",
        args.agent, args.account
    )?;
    Ok(())
}

fn calibrate(socket: &Path, args: &TokensCalibrateArgs, out: &mut dyn Write) -> Result<()> {
    let what = format!("code shown now by token {}", args.serial);
    let code = read_code(secrets::OTP, &what)?;
    let what = format!("next code shown by token {}", args.serial);
    let next_code = read_code(secrets::OTP_NEXT, &what)?;
    let mut admin = Admin::connect(socket)?;
    let request = Request::CalibrateToken {
        serial: args.serial.clone(),
        code,
        next_code,
    };
    expect_ok("CalibrateToken", admin.on_account(args.account, &request)?)?;
    writeln!(out, "token {} calibrated", printable(&args.serial))?;
    Ok(())
}

fn unlock(socket: &Path, args: &TokensUnlockArgs, out: &mut dyn Write) -> Result<()> {
    let mut admin = Admin::connect(socket)?;
    let request = Request::AdminUnlockToken {
        serial: args.serial.clone(),
    };
    expect_ok("AdminUnlockToken", admin.request(&request)?)?;
    writeln!(out, "token {} unlocked", printable(&args.serial))?;
    Ok(())
}

/// The format a file's extension names.
fn guess_format(path: &Path) -> Result<TokenFormatArg> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("xml" | "pskc" | "pskcxml") => Ok(TokenFormatArg::Pskc),
        Some("csv") => Ok(TokenFormatArg::Csv),
        _ => bail!(
            "cannot tell the format of {} from its name: give --format pskc or --format csv",
            path.display()
        ),
    }
}

/// The whole file, refused before anything is sent if over [`MAX_FILE_BYTES`].
fn read_file(path: &Path) -> Result<Vec<u8>> {
    let too_big = |size: String| {
        anyhow::anyhow!(
            "{}: {size} bytes, over the 1 MiB limit of a seed file (it travels in one \
             request, within the daemon's frame limit); split it into smaller files",
            path.display()
        )
    };
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(too_big(len.to_string()));
    }
    // The length may change, or mean nothing (a pipe): read at most one byte too many.
    let mut data = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut data)
        .with_context(|| format!("reading {}", path.display()))?;
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big("more than 1048576".into()));
    }
    Ok(data)
}

/// A token code from `var` or standard input: the 6 digits a token shows.
///
/// Checked here because the daemon counts a malformed code as a failure
/// toward locking the token. Spaces are dropped ("123 456" as the token shows it).
fn read_code(var: &str, what: &str) -> Result<String> {
    let text = secrets::read(Secret { var, what })?;
    check_code(&text).with_context(|| format!("the {what} (from {var} or standard input)"))
}

fn check_code(text: &str) -> Result<String> {
    let code: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        bail!("a token code is the 6 digits the token shows");
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_guessed_from_the_extension() {
        for (name, want) in [
            ("seeds.csv", Some(TokenFormatArg::Csv)),
            ("SEEDS.CSV", Some(TokenFormatArg::Csv)),
            ("vendor.xml", Some(TokenFormatArg::Pskc)),
            ("vendor.pskc", Some(TokenFormatArg::Pskc)),
            ("dir.csv/vendor.pskcxml", Some(TokenFormatArg::Pskc)),
            ("seeds.txt", None),
            ("seeds", None),
        ] {
            assert_eq!(guess_format(Path::new(name)).ok(), want, "{name}");
        }
    }

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(check_code("012345").unwrap(), "012345");
        assert_eq!(check_code(" 012 345 ").unwrap(), "012345");
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", "12-456"] {
            assert!(check_code(bad).is_err(), "{bad:?}");
        }
    }
}
