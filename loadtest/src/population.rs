//! Which accounts and agents a run uses, and which agent each connection logs in as.
//!
//! Accounts are numbered consecutively from a base; each has agents `1001..`
//! (1001, the super admin, included). Connection `i` is agent
//! `1001 + i / accounts` of account `base + i % accounts`: connections are
//! dealt across accounts first, so a run using fewer connections than agents
//! still spreads over every account (and so over every daemon shard).
//! Customers (`kefu-load chat`) are dealt the same way: customer connection
//! `i` is `kefu-load-{i / accounts}` of account `base + i % accounts`.

use std::fmt;

/// The first agent number of every account (the super admin).
pub const FIRST_AGENT: u32 = 1001;
/// The last agent number an account may have.
pub const LAST_AGENT: u32 = 9999;

/// One agent of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentRef {
    /// Account number.
    pub account: u64,
    /// Agent number.
    pub agent: u32,
}

/// One customer of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRef {
    /// Account number.
    pub account: u64,
    /// The customer id the enterprise's backend would give it.
    pub id: String,
}

impl fmt::Display for AgentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.agent, self.account)
    }
}

/// A block of accounts with the same number of agents each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Population {
    base: u64,
    accounts: u32,
    agents_per_account: u32,
}

impl Population {
    /// `accounts` accounts from `base`, each with agents `1001..1001 + agents_per_account`.
    pub fn new(base: u64, accounts: u32, agents_per_account: u32) -> Result<Population, String> {
        if accounts == 0 || agents_per_account == 0 {
            return Err("--accounts and --agents-per-account must be at least 1".into());
        }
        if agents_per_account > LAST_AGENT - FIRST_AGENT + 1 {
            return Err(format!(
                "--agents-per-account {agents_per_account} is more than an account can hold \
                 (agents {FIRST_AGENT}..={LAST_AGENT})"
            ));
        }
        if base.checked_add(u64::from(accounts)).is_none() {
            return Err(format!(
                "--account-base {base} + {accounts} accounts overflows"
            ));
        }
        Ok(Population {
            base,
            accounts,
            agents_per_account,
        })
    }

    /// Number of agents in the population.
    pub fn len(&self) -> usize {
        self.accounts as usize * self.agents_per_account as usize
    }

    /// Number of accounts.
    pub fn accounts_len(&self) -> u32 {
        self.accounts
    }

    /// Agents per account.
    pub fn agents_per_account(&self) -> u32 {
        self.agents_per_account
    }

    /// Account number `k` (`0 <= k < accounts`).
    pub fn account(&self, k: u32) -> u64 {
        self.base + u64::from(k % self.accounts)
    }

    /// The agent numbers of every account, in order.
    pub fn agent_numbers(&self) -> std::ops::RangeInclusive<u32> {
        FIRST_AGENT..=FIRST_AGENT + self.agents_per_account - 1
    }

    /// The agent connection `index` logs in as (`index < len()`; wraps beyond).
    pub fn agent_for_connection(&self, index: usize) -> AgentRef {
        let accounts = self.accounts as usize;
        let index = index % self.len();
        AgentRef {
            account: self.base + (index % accounts) as u64,
            agent: FIRST_AGENT + (index / accounts) as u32,
        }
    }
}

/// The customer connection `index` logs in as, with `per_account` customers
/// per account of `population`.
pub fn customer_for_connection(population: &Population, index: usize) -> CustomerRef {
    let accounts = population.accounts as usize;
    CustomerRef {
        account: population.base + (index % accounts) as u64,
        id: format!("kefu-load-{}", index / accounts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_dealt_across_accounts_first() {
        let p = Population::new(900_000_000, 3, 2).unwrap();
        let got: Vec<String> = (0..6)
            .map(|i| p.agent_for_connection(i).to_string())
            .collect();
        assert_eq!(
            got,
            [
                "1001@900000000",
                "1001@900000001",
                "1001@900000002",
                "1002@900000000",
                "1002@900000001",
                "1002@900000002"
            ]
        );
        assert_eq!(p.len(), 6);
        assert_eq!(p.agent_numbers(), 1001..=1002);
    }

    #[test]
    fn customers_are_dealt_across_accounts_first() {
        let p = Population::new(900_000_000, 2, 1).unwrap();
        let got: Vec<String> = (0..4)
            .map(|i| {
                let c = customer_for_connection(&p, i);
                format!("{}@{}", c.id, c.account)
            })
            .collect();
        assert_eq!(
            got,
            [
                "kefu-load-0@900000000",
                "kefu-load-0@900000001",
                "kefu-load-1@900000000",
                "kefu-load-1@900000001"
            ]
        );
    }

    #[test]
    fn bounds_are_checked() {
        assert!(Population::new(1, 0, 5).is_err());
        assert!(Population::new(1, 5, 0).is_err());
        assert!(Population::new(1, 1, 9000).is_err());
        assert!(Population::new(1, 1, 8999).is_ok());
        assert!(Population::new(u64::MAX, 1, 1).is_err());
    }
}
