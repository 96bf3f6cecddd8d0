//! kefud as a library: the daemon's pieces, so tests and benches can embed it.
//!
//! Map (see README.md for the whole workspace):
//! - [`server`]: start/stop; binds listeners, spawns shards and workers.
//! - [`shard`]: one mio event loop per thread: connections, transport, group commit.
//! - [`centre`]: the accounts a shard owns and all their logic, with no socket.
//! - [`session`]: what the loop and the centre agree a connection is.
//! - [`conn`]: one connection's socket, phase and buffers.
//! - [`accounts`]: the in-memory picture of owned accounts; shard ownership.
//! - [`auth`]: the one authorisation check.
//! - [`worker`]: the password-hashing pool.
//! - [`regions`]: the address-to-region table of site analytics (`[web] regions_file`).
//! - [`timer_wheel`]: a hashed timing wheel (the idle-customer timers of a shard).
//! - [`store`]: the storage interface, RocksDB behind it, key layout.
//! - [`password`], [`session_token`]: credentials.
//! - [`config`], [`tls`], [`stats`], [`metrics`], [`notify`], [`log`]: plumbing (`metrics`: the
//!   Prometheus exposition and its optional HTTP listener; `notify`: systemd readiness).
//! - [`routing`], [`crm`], [`otp`]: the pure domain logic, in crates of their own
//!   (`kefu-routing`, `kefu-crm`, `kefu-otp`) so they cannot reach storage or I/O.

pub mod accounts;
pub mod auth;
pub mod centre;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod csat_mail;
pub mod csat_report;
pub mod file_store;
pub mod history;
pub mod log;
pub mod metrics;
pub mod notify;
pub mod password;
pub mod regions;
pub mod report_tables;
pub mod sensitive;
pub mod server;
pub mod session;
pub mod session_token;
pub mod shard;
pub mod sms_gateway;
pub mod standby_reads;
pub mod stats;
pub mod store;
pub mod throttle;
pub mod timer_wheel;
pub mod tls;
pub mod turn_stats;
pub mod web;
pub mod worker;

// Pure domain crates, re-exported so `crate::routing::…` paths keep working; they
// cannot reach the store, the shard or mio (Cargo.toml has no such dependency).
pub use kefu_crm as crm;
pub use kefu_otp as otp;
pub use kefu_routing as routing;

/// The store's plan and the CRM's are one concept in two enums until `store::records`
/// re-exports [`crm::Plan`]; this bridge goes with the store's copy.
impl From<store::records::Plan> for crm::Plan {
    fn from(plan: store::records::Plan) -> crm::Plan {
        match plan {
            store::records::Plan::Gold => crm::Plan::Gold,
            store::records::Plan::Silver => crm::Plan::Silver,
        }
    }
}
