//! Passwords from the environment or standard input, never from flags (which `ps` shows).
//!
//! Each secret comes from its environment variable when set; otherwise from
//! the next line of standard input. On a terminal the line is read with echo
//! off after a prompt on the terminal; from a pipe it is read silently, so
//! several secrets are simply several lines, in the order the command asks.

use anyhow::{anyhow, bail, Context, Result};
use std::io::{self, BufRead, IsTerminal, Read};

/// Longest line accepted as a secret, in bytes (the daemon caps them far lower).
const MAX_LINE: u64 = 4096;

/// A secret to read: its environment variable and how to name it to people.
#[derive(Debug, Clone, Copy)]
pub struct Secret<'a> {
    /// Environment variable that holds it.
    pub var: &'a str,
    /// What it is, for prompts and errors ("password of agent 1001").
    pub what: &'a str,
}

/// The login password of an agent.
pub const PASSWORD: &str = "KEFU_PASSWORD";
/// An account's super password.
pub const SUPER_PASSWORD: &str = "KEFU_SUPER_PASSWORD";
/// The code a hardware token shows now.
pub const OTP: &str = "KEFU_OTP";
/// The code a hardware token shows next (calibration).
pub const OTP_NEXT: &str = "KEFU_OTP_NEXT";
/// The pre-shared key (hex) of an encrypted PSKC seed file.
pub const PSKC_KEY: &str = "KEFU_PSKC_KEY";
/// The password of a PSKC seed file whose key is derived with PBKDF2.
pub const PSKC_PASSWORD: &str = "KEFU_PSKC_PASSWORD";

/// Reads one secret from its variable, else from standard input.
pub fn read(secret: Secret<'_>) -> Result<String> {
    let env = std::env::var_os(secret.var);
    let stdin = io::stdin();
    if env.is_none() && stdin.is_terminal() {
        let value = rpassword::prompt_password(format!("{}: ", secret.what))
            .with_context(|| format!("reading the {} from the terminal", secret.what))?;
        return check(secret, value);
    }
    from_sources(secret, env, &mut stdin.lock())
}

/// An optional secret from its variable only (never asked for); unset or empty is `None`.
pub fn optional(var: &str) -> Result<Option<String>> {
    optional_from(var, std::env::var_os(var))
}

fn optional_from(var: &str, env: Option<std::ffi::OsString>) -> Result<Option<String>> {
    match env {
        None => Ok(None),
        Some(value) => {
            let value = value
                .into_string()
                .map_err(|_| anyhow!("{var} is not valid UTF-8"))?;
            Ok(Some(value).filter(|v| !v.is_empty()))
        }
    }
}

/// The source-independent core of [`read`].
fn from_sources(
    secret: Secret<'_>,
    env: Option<std::ffi::OsString>,
    input: &mut dyn BufRead,
) -> Result<String> {
    if let Some(value) = env {
        let value = value
            .into_string()
            .map_err(|_| anyhow!("{} is not valid UTF-8", secret.var))?;
        return check(secret, value);
    }
    let mut line = String::new();
    let n = input
        .take(MAX_LINE + 1)
        .read_line(&mut line)
        .with_context(|| format!("reading the {} from standard input", secret.what))?;
    if n == 0 {
        bail!(
            "no {}: set {} or give it as a line on standard input",
            secret.what,
            secret.var
        );
    }
    if n as u64 > MAX_LINE {
        bail!("the {} on standard input is too long", secret.what);
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    check(secret, line)
}

fn check(secret: Secret<'_>, value: String) -> Result<String> {
    if value.is_empty() {
        bail!("the {} is empty", secret.what);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Secret<'static> = Secret {
        var: PASSWORD,
        what: "password",
    };

    #[test]
    fn environment_wins_over_input() {
        let mut input = &b"from-stdin\n"[..];
        let got = from_sources(S, Some("from-env".into()), &mut input).unwrap();
        assert_eq!(got, "from-env");
        assert_eq!(input, b"from-stdin\n", "stdin left unread");
    }

    #[test]
    fn lines_are_read_one_per_secret() {
        let mut input = &b"first pass\r\nsecond\nthird"[..];
        let got: Vec<String> = (0..3)
            .map(|_| from_sources(S, None, &mut input).unwrap())
            .collect();
        assert_eq!(got, ["first pass", "second", "third"]);
        let err = from_sources(S, None, &mut input).unwrap_err().to_string();
        assert!(err.contains("KEFU_PASSWORD"), "{err}");
    }

    #[test]
    fn optional_secrets_come_only_from_the_environment() {
        assert_eq!(optional_from(PSKC_KEY, None).unwrap(), None);
        assert_eq!(optional_from(PSKC_KEY, Some("".into())).unwrap(), None);
        assert_eq!(
            optional_from(PSKC_KEY, Some("00ff".into())).unwrap(),
            Some("00ff".to_string())
        );
    }

    #[test]
    fn empty_and_oversized_secrets_are_refused() {
        assert!(from_sources(S, Some("".into()), &mut &b""[..]).is_err());
        assert!(from_sources(S, None, &mut &b"\n"[..]).is_err());
        let long = vec![b'x'; MAX_LINE as usize + 10];
        assert!(from_sources(S, None, &mut &long[..]).is_err());
    }
}
