//! Where each account is served (`daemon/CLUSTER.md` §8): what every shard asks before it
//! serves a login or a request of an account.
//!
//! Two sources, the local one first:
//! - **local**, set by the operator's move through the admin socket on this appliance:
//!   an account *frozen* (being moved away: answered `ACCOUNT_MOVING`) or *moved* to an
//!   address (answered `GoAwayTo`). In memory: after a restart the directory says it.
//! - **the directory** in etcd (`/kefu/accounts/<account>`), copied by the polling
//!   thread (`directory.rs`): the accounts another pair serves, with that pair's
//!   leader's client address (unknown while it has no leader).
//!
//! An account in neither is served here: a single appliance, and every account nobody
//! moved, behave as before.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};

/// Where an account is served, as this appliance knows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Here.
    Here,
    /// Being moved, or served by a pair whose leader is not known right now: nothing
    /// is done for it here (`ACCOUNT_MOVING`, retryable).
    Moving,
    /// By the appliance at this client address (`GoAwayTo`).
    Elsewhere(SocketAddr),
}

/// What the operator's move set on this appliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Local {
    Frozen,
    MovedTo(SocketAddr),
    /// Being received (the target of a move): frozen, and the end of the last round of
    /// changes applied (`None` before the first), so rounds apply in order only.
    Receiving {
        applied: Option<u64>,
    },
}

/// Why a round of an account's changes is refused at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundRefusal {
    /// The account is not being received here (never imported, or the move is over).
    NotReceiving,
    /// The round does not start where the last one ended (stale, repeated or skipping).
    OutOfOrder {
        /// Where the last applied round ended.
        expected: u64,
    },
}

/// The placement every shard shares.
#[derive(Debug, Default)]
pub struct Placement {
    /// This appliance's pair (`[cluster.etcd] pair`; empty without one).
    pair: String,
    local: RwLock<HashMap<u64, Local>>,
    /// Accounts the directory gives to another pair → its leader's client address.
    directory: RwLock<HashMap<u64, Option<SocketAddr>>>,
    /// Whether either map holds anything, set under its lock: every request asks
    /// [`Placement::of`], and on an appliance nobody moved an account from (the common
    /// case) the answer is then one atomic load, no lock and no lookup.
    any_local: AtomicBool,
    any_directory: AtomicBool,
    /// This member's node (`[cluster.etcd] node`; empty without one).
    node: String,
    /// This pair's leader key as last read: its node and client address (`None`: no
    /// leader now). What a standby or a fenced member names its clients (`GoAwayTo`).
    own_leader: RwLock<Option<(String, Option<SocketAddr>)>>,
}

impl Placement {
    /// The placement of an appliance of `pair`.
    pub fn new(pair: impl Into<String>) -> Placement {
        Placement {
            pair: pair.into(),
            ..Placement::default()
        }
    }

    /// The placement of member `node` of `pair`.
    pub fn of_member(pair: impl Into<String>, node: impl Into<String>) -> Placement {
        Placement {
            pair: pair.into(),
            node: node.into(),
            ..Placement::default()
        }
    }

    /// This appliance's pair.
    pub fn pair(&self) -> &str {
        &self.pair
    }

    /// This pair's leader as the directory last read it (`leader`: its node and client
    /// address; `None` when the pair has no leader).
    pub fn set_own_leader(&self, leader: Option<(String, Option<SocketAddr>)>) {
        *self
            .own_leader
            .write()
            .unwrap_or_else(PoisonError::into_inner) = leader;
    }

    /// The client address of this pair's primary when it is another member than this
    /// one (a standby's, or a fenced member's, redirect); `None` if unknown.
    pub fn primary_elsewhere(&self) -> Option<SocketAddr> {
        let leader = self
            .own_leader
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match leader.as_ref() {
            Some((node, addr)) if *node != self.node => *addr,
            _ => None,
        }
    }

    /// Where `account` is served.
    pub fn of(&self, account: u64) -> Place {
        if !self.any_local.load(Ordering::SeqCst) && !self.any_directory.load(Ordering::SeqCst) {
            return Place::Here;
        }
        let local = self.local.read().unwrap_or_else(PoisonError::into_inner);
        match local.get(&account) {
            Some(Local::Frozen | Local::Receiving { .. }) => return Place::Moving,
            Some(Local::MovedTo(a)) => return Place::Elsewhere(*a),
            None => {}
        }
        drop(local);
        let directory = self
            .directory
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match directory.get(&account) {
            None => Place::Here,
            Some(None) => Place::Moving,
            Some(Some(a)) => Place::Elsewhere(*a),
        }
    }

    /// The operator's freeze (`true`) or thaw of `account` on this appliance.
    pub fn freeze(&self, account: u64, frozen: bool) {
        let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
        if frozen {
            local.insert(account, Local::Frozen);
        } else if matches!(
            local.get(&account),
            Some(Local::Frozen | Local::Receiving { .. })
        ) {
            local.remove(&account);
        }
        self.any_local.store(!local.is_empty(), Ordering::SeqCst);
    }

    /// `account` is being received here (a page of its copy was imported): frozen until
    /// the operator's thaw; a receipt under way keeps the rounds it applied.
    pub fn receive(&self, account: u64) {
        let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
        if !matches!(local.get(&account), Some(Local::Receiving { .. })) {
            local.insert(account, Local::Receiving { applied: None });
        }
        self.any_local.store(true, Ordering::SeqCst);
    }

    /// Takes the round of `account`'s changes `(after, upto]`: it must follow the last
    /// one applied (any start for the first). Checked and recorded at once, so two
    /// rounds never both pass.
    pub fn receive_round(&self, account: u64, after: u64, upto: u64) -> Result<(), RoundRefusal> {
        let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
        let Some(Local::Receiving { applied }) = local.get_mut(&account) else {
            return Err(RoundRefusal::NotReceiving);
        };
        match *applied {
            Some(end) if end != after || upto < after => {
                Err(RoundRefusal::OutOfOrder { expected: end })
            }
            None if upto < after => Err(RoundRefusal::OutOfOrder { expected: after }),
            _ => {
                *applied = Some(upto);
                Ok(())
            }
        }
    }

    /// The operator's move of `account` is over: it is served at `address`.
    pub fn moved(&self, account: u64, address: SocketAddr) {
        let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
        local.insert(account, Local::MovedTo(address));
        self.any_local.store(true, Ordering::SeqCst);
    }

    /// The directory as last read: the accounts other pairs serve.
    pub fn set_directory(&self, elsewhere: HashMap<u64, Option<SocketAddr>>) {
        let mut directory = self
            .directory
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        self.any_directory
            .store(!elsewhere.is_empty(), Ordering::SeqCst);
        *directory = elsewhere;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_word_comes_before_the_directorys() {
        let p = Placement::default();
        let a: SocketAddr = "127.0.0.9:7070".parse().unwrap();
        let b: SocketAddr = "127.0.0.10:7070".parse().unwrap();
        assert_eq!(p.of(1), Place::Here);
        p.set_directory(HashMap::from([(1, Some(a)), (2, None)]));
        assert_eq!(p.of(1), Place::Elsewhere(a));
        assert_eq!(p.of(2), Place::Moving);
        p.freeze(3, true);
        assert_eq!(p.of(3), Place::Moving);
        p.freeze(3, false);
        assert_eq!(p.of(3), Place::Here);
        p.set_directory(HashMap::new());
        assert_eq!(
            p.of(1),
            Place::Here,
            "an empty directory places nothing elsewhere"
        );
        p.set_directory(HashMap::from([(1, Some(a)), (2, None)]));
        p.moved(1, b);
        assert_eq!(p.of(1), Place::Elsewhere(b));
        // A thaw does not undo a finished move.
        p.freeze(1, false);
        assert_eq!(p.of(1), Place::Elsewhere(b));
    }

    #[test]
    fn the_primary_elsewhere_is_another_nodes() {
        let p = Placement::of_member("pair", "b");
        let a: SocketAddr = "127.0.0.5:7070".parse().unwrap();
        assert_eq!(p.primary_elsewhere(), None);
        p.set_own_leader(Some(("a".into(), Some(a))));
        assert_eq!(p.primary_elsewhere(), Some(a));
        // This member itself leads (or its stale key): nobody to send clients to.
        p.set_own_leader(Some(("b".into(), Some(a))));
        assert_eq!(p.primary_elsewhere(), None);
        p.set_own_leader(None);
        assert_eq!(p.primary_elsewhere(), None);
    }

    #[test]
    fn rounds_of_changes_apply_in_order_while_the_account_is_received() {
        let p = Placement::default();
        assert_eq!(p.receive_round(4, 10, 20), Err(RoundRefusal::NotReceiving));
        p.receive(4);
        assert_eq!(p.of(4), Place::Moving);
        assert_eq!(p.receive_round(4, 10, 20), Ok(()));
        p.receive(4); // a later page of the copy keeps the chain
        let stale = RoundRefusal::OutOfOrder { expected: 20 };
        assert_eq!(
            p.receive_round(4, 10, 20),
            Err(stale),
            "the same round again"
        );
        assert_eq!(p.receive_round(4, 25, 30), Err(stale), "a gap");
        assert_eq!(p.receive_round(4, 20, 19), Err(stale), "backwards");
        assert_eq!(p.receive_round(4, 20, 30), Ok(()));
        p.freeze(4, false);
        assert_eq!(p.of(4), Place::Here);
        assert_eq!(p.receive_round(4, 30, 40), Err(RoundRefusal::NotReceiving));
    }
}
