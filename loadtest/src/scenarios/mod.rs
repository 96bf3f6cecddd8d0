//! Scenarios: each composes provisioning, driver phases and a report for one question.
//!
//! A scenario owns its order of phases and its report; the driver, the
//! population and the report pieces are shared. To add one: a module here, a
//! variant of `cli::Command`, a plan type in `cli`, and a report type.
//!
//! - [`logins`]: how fast agents log in with a password, how fast they all
//!   reconnect with a token, and what an idle logged-in connection costs.
//! - [`chat`]: how many customer messages per second the daemon stores and
//!   delivers to agents, how fast, and whether every one arrives exactly once.
//! - [`crash_loop`]: the daemon killed with SIGKILL and restarted on its data over and
//!   over under chat traffic: is every acknowledged message stored and delivered exactly
//!   once, and how long does a restart take.
//! - [`pair`]: chat at a pair of appliances whose primary is killed with SIGKILL: how
//!   long the failover takes for the clients, is every acknowledged message there
//!   exactly once, and how far the standby lagged.

pub mod chat;
pub mod crash_loop;
pub mod logins;
pub mod pair;
