//! The accounts directory's copy (`daemon/CLUSTER.md` §8): a thread (`kefu-directory`)
//! that reads `/kefu/accounts/` and every pair's leader key from etcd every
//! [`POLL_EVERY`] and hands [`Placement`] the accounts other pairs serve, and this
//! pair's own leader (where a standby or a fenced member sends its clients, §5).
//!
//! Polled rather than watched: the etcd client is one blocking request per connection
//! (`kefu-etcd`), and a watch is a stream that never ends; a poll bounds the staleness
//! the same way (one period plus one request's timeout) with no state to resume. The
//! directory changes only when an operator moves an account, and a move does not rely
//! on the poll: it freezes and redirects the source through the admin socket.

use super::placement::Placement;
use super::EtcdConfig;
use crate::log;
use kefu_etcd::pair::{
    account_of_key, pair_of_leader_key, AccountPlacement, LeaderValue, ACCOUNTS_PREFIX,
    PAIRS_PREFIX,
};
use kefu_etcd::{Etcd, EtcdError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Between two reads of the directory.
pub const POLL_EVERY: Duration = Duration::from_millis(200);

/// Keys read per etcd request.
const PAGE: usize = 1_000;

/// The running directory thread.
pub struct DirectoryHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DirectoryHandle {
    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for DirectoryHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Reads the directory once (so that no login is served from a stale copy of a moved
/// account while the first poll is under way), then starts the polling thread.
pub fn start(cfg: &EtcdConfig, placement: Arc<Placement>) -> std::io::Result<DirectoryHandle> {
    let etcd = Etcd::new(cfg.endpoints.clone(), Duration::from_secs(1));
    let own = cfg.pair.clone();
    if let Err(e) = refresh(&etcd, &own, &placement) {
        log::warn(
            0,
            format_args!("accounts directory: not read at start ({e}); every account is served here until it is"),
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("kefu-directory".into())
        .spawn(move || {
            let mut last_error = String::new();
            while !flag.load(Ordering::Relaxed) {
                match refresh(&etcd, &own, &placement) {
                    Ok(()) => last_error.clear(),
                    Err(e) => {
                        let text = e.to_string();
                        if text != last_error {
                            log::warn(0, format_args!("accounts directory: {text}"));
                            last_error = text;
                        }
                    }
                }
                std::thread::sleep(POLL_EVERY);
            }
        })?;
    Ok(DirectoryHandle {
        stop,
        thread: Some(thread),
    })
}

/// One read of the directory and the leaders; the placement keeps its last copy if
/// etcd does not answer.
fn refresh(etcd: &Etcd, own: &str, placement: &Placement) -> Result<(), EtcdError> {
    let leader_values: HashMap<String, LeaderValue> = etcd
        .get_prefix_all(PAIRS_PREFIX.as_bytes(), PAGE)?
        .into_iter()
        .filter_map(|(k, v)| {
            let pair = pair_of_leader_key(&k)?.to_string();
            let leader = serde_json::from_slice::<LeaderValue>(&v).ok()?;
            Some((pair, leader))
        })
        .collect();
    // This pair's own leader: where a standby or a fenced member sends its clients.
    placement.set_own_leader(
        leader_values
            .get(own)
            .map(|l| (l.node.clone(), l.client_addr)),
    );
    let leaders: HashMap<String, Option<SocketAddr>> = leader_values
        .into_iter()
        .map(|(pair, leader)| (pair, leader.client_addr))
        .collect();
    let elsewhere = etcd
        .get_prefix_all(ACCOUNTS_PREFIX.as_bytes(), PAGE)?
        .into_iter()
        .filter_map(|(k, v)| {
            let account = account_of_key(&k)?;
            // An entry this build cannot read: not served here either (a newer kefuctl
            // moved it; this appliance cannot tell where to).
            let Some(place) = AccountPlacement::decode(&v) else {
                return Some((account, None));
            };
            // Served here, or being moved here: the operator's move freezes it here
            // while it is copied and thaws it once the entry names this pair, so the
            // entry read a moment before the switch must not send its clients back.
            let here = place.pair == own || place.moving_to.as_deref() == Some(own);
            (!here).then(|| (account, leaders.get(&place.pair).copied().flatten()))
        })
        .collect();
    placement.set_directory(elsewhere);
    Ok(())
}
