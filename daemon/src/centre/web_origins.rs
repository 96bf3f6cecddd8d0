//! Which pages may open an account's chat window (W2; `wire/PROTOCOL.md` 38.4): the
//! account's allowed origins are its explicit list (`SetAllowedOrigins`, permission
//! 16, stored by `store/web_origin_records.rs`) and the origins of its entry codes'
//! site URLs (section 31). A customer or visitor logging in on a web connection whose
//! WebSocket handshake carried a foreign `Origin` (the gateway passes it on the
//! `Caller`; its own pages carry none) is refused `ORIGIN_NOT_ALLOWED` unless the
//! origin is one of them; an account with neither leaves the decision to the gateway's
//! `[web] allowed_origins` alone. The check runs before anything of the login changes.

use super::dispatch::CustomerEntry;
use super::{err, Answer, Centre};
use crate::session::Caller;
use crate::store::web_origin_records::{origins_key, OriginsRecord};
use crate::store::web_records as rec;
use kefu_wire::web::{origin_of, AllowedOrigins, MAX_ALLOWED_ORIGINS};
use kefu_wire::{ErrorBody, ErrorCode, Response};
use std::collections::BTreeSet;

impl Centre {
    /// `SetAllowedOrigins`: replaces the explicit list (normalised, each once).
    pub(super) fn set_allowed_origins(&mut self, account: u64, origins: Vec<String>) -> Answer {
        if origins.len() > MAX_ALLOWED_ORIGINS {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("at most {MAX_ALLOWED_ORIGINS} origins"),
            ));
        }
        let mut list: Vec<String> = Vec::with_capacity(origins.len());
        for o in &origins {
            let normal = origin_of(o).filter(|n| no_path(o, n)).ok_or_else(|| {
                err(
                    ErrorCode::INVALID_ARGUMENT,
                    format!("not an origin (http(s)://host[:port], at most 256 bytes): {o:?}"),
                )
            })?;
            if !list.contains(&normal) {
                list.push(normal);
            }
        }
        let record = OriginsRecord { origins: list };
        rec::write(&mut self.batch, &origins_key(account), &record);
        self.web_mut(account)?.origins = Some(record.origins);
        Ok(Response::Ok)
    }

    /// `GetAllowedOrigins`: the explicit list and the codes' origins.
    pub(super) fn allowed_origins(&mut self, account: u64) -> Result<AllowedOrigins, ErrorBody> {
        let explicit = self.explicit_origins(account)?;
        let web = self.web_mut(account)?;
        let from_codes: BTreeSet<String> = web
            .codes
            .values()
            .filter_map(|c| origin_of(&c.draft.site_url))
            .collect();
        Ok(AllowedOrigins {
            explicit,
            from_codes: from_codes.into_iter().collect(),
        })
    }

    /// The explicit list, read from the store on first use.
    fn explicit_origins(&mut self, account: u64) -> Result<Vec<String>, ErrorBody> {
        if let Some(o) = &self.web_mut(account)?.origins {
            return Ok(o.clone());
        }
        let stored =
            rec::read::<OriginsRecord, _>(self.shared.store.as_ref(), &origins_key(account))
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?
                .unwrap_or_default();
        self.web_mut(account)?.origins = Some(stored.origins.clone());
        Ok(stored.origins)
    }

    /// Refuses a customer's or visitor's login from a page the account does not allow.
    pub(super) fn check_login_origin(
        &mut self,
        caller: &Caller,
        request: &CustomerEntry,
    ) -> Result<(), ErrorBody> {
        let Some(origin) = caller.web_origin.as_deref() else {
            return Ok(());
        };
        let account = match request {
            CustomerEntry::CustomerLogin { account, .. }
            | CustomerEntry::VisitorLogin { account, .. } => *account,
        };
        self.check_account_open(account, self.now_ms)?;
        let allowed = self.allowed_origins(account)?;
        if allowed.explicit.is_empty() && allowed.from_codes.is_empty() {
            return Ok(());
        }
        let ok = origin_of(origin)
            .is_some_and(|o| allowed.explicit.contains(&o) || allowed.from_codes.contains(&o));
        if ok {
            Ok(())
        } else {
            Err(err(
                ErrorCode::ORIGIN_NOT_ALLOWED,
                format!("account {account} does not allow pages of {origin}"),
            ))
        }
    }
}

/// Whether `given` is an origin alone (no path, query or fragment past it).
fn no_path(given: &str, normal: &str) -> bool {
    let g = given.trim_end_matches('/').to_ascii_lowercase();
    g == normal || g.strip_suffix(":443").or_else(|| g.strip_suffix(":80")) == Some(normal)
}
