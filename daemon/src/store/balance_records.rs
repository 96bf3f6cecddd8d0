//! The balance of value-added services and its ledger (V6, manual §9.2–9.3, §10.5–10.6;
//! `wire/PROTOCOL.md` section 29): each account's [`BalanceRecord`] and one
//! [`LedgerRecord`] per movement of units, both in `value_added` (key layout:
//! [`keys`]), written in the same batch.
//!
//! Movements: a **top-up** by the operator; a **reserve** when a broadcast is submitted
//! (never beyond what is available); a **settle** of reserved units that were spent on
//! messages actually sent; a **refund** of reserved units given back (failed, cancelled,
//! rejected, not sent). [`BalanceRecord::apply`] is the one place that moves units: it
//! refuses a movement that would break the invariant and otherwise returns the entry to
//! store beside the new balance. The invariant, checked from the stored entries alone by
//! [`check_ledger`]: `topped_up = Σ top-ups`, `settled = Σ settles`, `refunded = Σ
//! refunds`, `reserved = Σ reserves − Σ settles − Σ refunds`, and `available =
//! topped_up − settled − reserved` never negative; points are `settled /
//! UNITS_PER_YUAN` (1 point per yuan spent; 1 unit = 1 yuan).
//!
//! Same rules as [`records`](super::records): one version byte, frozen postcard bodies
//! (`mod v1`), typed errors on bad input.

use super::records::{decode_v1, encode_versioned, RecordError, StoredRecord, V1};
use super::{keys, Batch, Cf, KvStore, StoreError};
use kefu_wire::valueadded::{BalanceInfo, MAX_BALANCE_UNITS, UNITS_PER_YUAN};

/// Ledger entries one [`check_ledger`] scan reads at a time.
const LEDGER_SCAN: usize = 1_024;

/// One account's balance. Absent from the store means all zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BalanceRecord {
    /// Account number.
    pub account: u64,
    /// Every unit ever topped up.
    pub topped_up: u64,
    /// Units reserved and not yet settled or refunded.
    pub reserved: u64,
    /// Every unit ever settled.
    pub settled: u64,
    /// Every unit ever refunded.
    pub refunded: u64,
    /// The number the next ledger entry gets (entries are 1, 2, …).
    pub next_entry: u64,
}

/// What a ledger entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    /// The operator added units.
    TopUp,
    /// Units set aside for a broadcast.
    Reserve,
    /// Reserved units spent on messages sent.
    Settle,
    /// Reserved units given back.
    Refund,
}

/// One movement of units, never rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerRecord {
    /// Account number.
    pub account: u64,
    /// Its number in the account's ledger, from 1.
    pub entry: u64,
    /// When, turn milliseconds.
    pub at: i64,
    /// What it did.
    pub movement: Movement,
    /// How many units.
    pub units: u64,
    /// The broadcast it is for; 0 for a top-up.
    pub broadcast: u64,
}

/// Why a movement was refused (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    /// A movement of zero units.
    #[error("a movement of zero units")]
    Zero,
    /// Reserving more than is available.
    #[error("{available} units available, {wanted} needed")]
    Insufficient {
        /// Units available.
        available: u64,
        /// Units asked for.
        wanted: u64,
    },
    /// A top-up past [`MAX_BALANCE_UNITS`].
    #[error("the balance would exceed {MAX_BALANCE_UNITS} units")]
    Limit,
    /// Settling or refunding more than is reserved: a bug of the caller.
    #[error("{reserved} units reserved, {wanted} to settle or refund")]
    NotReserved {
        /// Units reserved.
        reserved: u64,
        /// Units asked for.
        wanted: u64,
    },
}

impl BalanceRecord {
    /// Units that may be reserved now: `topped_up − settled − reserved`.
    pub fn available(&self) -> u64 {
        self.topped_up
            .saturating_sub(self.settled)
            .saturating_sub(self.reserved)
    }

    /// Points earned: one per yuan settled.
    pub fn points(&self) -> u64 {
        self.settled / UNITS_PER_YUAN
    }

    /// The balance as the protocol shows it.
    pub fn info(&self) -> BalanceInfo {
        BalanceInfo {
            available: self.available(),
            reserved: self.reserved,
            topped_up: self.topped_up,
            settled: self.settled,
            refunded: self.refunded,
            points: self.points(),
        }
    }

    /// Applies one movement: the new balance is `self`, the entry to store is returned.
    /// Refused (and `self` unchanged) if it would break the invariant.
    pub fn apply(
        &mut self,
        movement: Movement,
        units: u64,
        broadcast: u64,
        at: i64,
    ) -> Result<LedgerRecord, BalanceError> {
        if units == 0 {
            return Err(BalanceError::Zero);
        }
        let mut next = *self;
        match movement {
            Movement::TopUp => {
                let held = self.available().saturating_add(self.reserved);
                if held.saturating_add(units) > MAX_BALANCE_UNITS {
                    return Err(BalanceError::Limit);
                }
                next.topped_up = self.topped_up.saturating_add(units);
            }
            Movement::Reserve => {
                if units > self.available() {
                    return Err(BalanceError::Insufficient {
                        available: self.available(),
                        wanted: units,
                    });
                }
                next.reserved = self.reserved.saturating_add(units);
            }
            Movement::Settle | Movement::Refund => {
                if units > self.reserved {
                    return Err(BalanceError::NotReserved {
                        reserved: self.reserved,
                        wanted: units,
                    });
                }
                next.reserved = self.reserved - units;
                if movement == Movement::Settle {
                    next.settled = self.settled.saturating_add(units);
                } else {
                    next.refunded = self.refunded.saturating_add(units);
                }
            }
        }
        let entry = self.next_entry.max(1);
        next.next_entry = entry.saturating_add(1);
        *self = next;
        Ok(LedgerRecord {
            account: self.account,
            entry,
            at,
            movement,
            units,
            broadcast,
        })
    }

    /// Puts the balance and `entry` into `batch`.
    pub fn write(&self, entry: &LedgerRecord, batch: &mut Batch) {
        batch.put(Cf::ValueAdded, &keys::balance(self.account), self.encode());
        batch.put(
            Cf::ValueAdded,
            &keys::ledger_entry(self.account, entry.entry),
            entry.encode(),
        );
    }
}

/// The stored balance of `account` (all zero if none was ever stored).
pub fn load_balance<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
) -> Result<BalanceRecord, StoreError> {
    match store.get(Cf::ValueAdded, &keys::balance(account))? {
        Some(bytes) => BalanceRecord::decode(&bytes)
            .map_err(|e| StoreError::corrupt(Cf::ValueAdded, &keys::balance(account), e)),
        None => Ok(BalanceRecord {
            account,
            ..BalanceRecord::default()
        }),
    }
}

/// Why [`check_ledger`] found the ledger and the balance apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Reading failed.
    #[error("store: {0}")]
    Store(String),
    /// The stored balance is not what the entries add up to.
    #[error("stored balance {stored:?}, the ledger adds up to {computed:?}")]
    Mismatch {
        /// The stored record.
        stored: BalanceRecord,
        /// What the entries add up to.
        computed: BalanceRecord,
    },
    /// An entry out of order, of another account, or moving more than was there.
    #[error("ledger entry {entry}: {why}")]
    Entry {
        /// Its number.
        entry: u64,
        /// What is wrong.
        why: String,
    },
}

/// Recomputes `account`'s balance from its ledger alone (entries must be numbered 1, 2,
/// … and each must be a movement [`BalanceRecord::apply`] accepts) and compares it with
/// the stored balance. Returns the balance; any difference is an error.
pub fn check_ledger<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
) -> Result<BalanceRecord, LedgerError> {
    let stored = load_balance(store, account).map_err(|e| LedgerError::Store(e.to_string()))?;
    let mut computed = BalanceRecord {
        account,
        ..BalanceRecord::default()
    };
    let range = keys::ledger_range(account);
    let mut cursor = range.start.clone();
    loop {
        let rows = store
            .scan(Cf::ValueAdded, &cursor, &range.end, LEDGER_SCAN)
            .map_err(|e| LedgerError::Store(e.to_string()))?;
        for (_, bytes) in &rows {
            let e = LedgerRecord::decode(bytes).map_err(|e| LedgerError::Store(e.to_string()))?;
            let expected = computed.next_entry.max(1);
            if e.entry != expected || e.account != account {
                return Err(LedgerError::Entry {
                    entry: e.entry,
                    why: format!("expected entry {expected} of account {account}"),
                });
            }
            let again = computed
                .apply(e.movement, e.units, e.broadcast, e.at)
                .map_err(|why| LedgerError::Entry {
                    entry: e.entry,
                    why: why.to_string(),
                })?;
            debug_assert_eq!(again, e);
        }
        match rows.last() {
            Some((last, _)) if rows.len() == LEDGER_SCAN => {
                cursor = last.clone();
                cursor.push(0);
            }
            _ => break,
        }
    }
    if computed != stored {
        return Err(LedgerError::Mismatch { stored, computed });
    }
    Ok(stored)
}

/// Frozen version-1 bodies. Never edit: add `mod v2`.
mod v1 {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Balance {
        pub account: u64,
        pub topped_up: u64,
        pub reserved: u64,
        pub settled: u64,
        pub refunded: u64,
        pub next_entry: u64,
    }

    /// `movement`: 0 top-up, 1 reserve, 2 settle, 3 refund.
    #[derive(Serialize, Deserialize)]
    pub(super) struct Ledger {
        pub account: u64,
        pub entry: u64,
        pub at: i64,
        pub movement: u8,
        pub units: u64,
        pub broadcast: u64,
    }
}

impl StoredRecord for BalanceRecord {
    const KIND: &'static str = "balance";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Balance {
                account: self.account,
                topped_up: self.topped_up,
                reserved: self.reserved,
                settled: self.settled,
                refunded: self.refunded,
                next_entry: self.next_entry,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Balance = decode_v1(Self::KIND, bytes)?;
        Ok(BalanceRecord {
            account: b.account,
            topped_up: b.topped_up,
            reserved: b.reserved,
            settled: b.settled,
            refunded: b.refunded,
            next_entry: b.next_entry,
        })
    }
}

impl StoredRecord for LedgerRecord {
    const KIND: &'static str = "ledger entry";

    fn encode(&self) -> Vec<u8> {
        encode_versioned(
            V1,
            &v1::Ledger {
                account: self.account,
                entry: self.entry,
                at: self.at,
                movement: match self.movement {
                    Movement::TopUp => 0,
                    Movement::Reserve => 1,
                    Movement::Settle => 2,
                    Movement::Refund => 3,
                },
                units: self.units,
                broadcast: self.broadcast,
            },
        )
    }

    fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let b: v1::Ledger = decode_v1(Self::KIND, bytes)?;
        let movement = match b.movement {
            0 => Movement::TopUp,
            1 => Movement::Reserve,
            2 => Movement::Settle,
            3 => Movement::Refund,
            _ => {
                return Err(RecordError::Invalid {
                    kind: Self::KIND,
                    version: V1,
                    reason: "unknown movement",
                })
            }
        };
        Ok(LedgerRecord {
            account: b.account,
            entry: b.entry,
            at: b.at,
            movement,
            units: b.units,
            broadcast: b.broadcast,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::Durability;
    use proptest::prelude::*;

    /// One operation of the property test.
    #[derive(Debug, Clone)]
    enum Op {
        Move(Movement, u64),
        /// Forget the balance in memory and read it back from the store.
        Reload,
    }

    fn op() -> impl Strategy<Value = Op> {
        let movement = prop_oneof![
            Just(Movement::TopUp),
            Just(Movement::Reserve),
            Just(Movement::Settle),
            Just(Movement::Refund),
        ];
        prop_oneof![
            4 => (movement, 0u64..50).prop_map(|(m, u)| Op::Move(m, u)),
            1 => Just(Op::Reload),
        ]
    }

    proptest! {
        /// Random movements, refused ones included, with reloads in between: after every
        /// step the stored ledger adds up to the stored balance, the balance in memory
        /// is the stored one, and `available = topped_up − settled − reserved`.
        #[test]
        fn the_ledger_always_balances(ops in proptest::collection::vec(op(), 1..60)) {
            let store = MemoryStore::new();
            let account = 800_001;
            let mut balance = load_balance(&store, account).unwrap();
            for (i, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Reload => balance = load_balance(&store, account).unwrap(),
                    Op::Move(m, units) => {
                        let before = balance;
                        match balance.apply(m, units, 7, i as i64) {
                            Ok(entry) => {
                                let mut batch = Batch::new();
                                balance.write(&entry, &mut batch);
                                store.write(&batch, Durability::Wal).unwrap();
                            }
                            Err(_) => prop_assert_eq!(balance, before),
                        }
                    }
                }
                let checked = check_ledger(&store, account).unwrap();
                prop_assert_eq!(checked, balance);
                prop_assert_eq!(
                    balance.available() + balance.settled + balance.reserved,
                    balance.topped_up
                );
                prop_assert_eq!(balance.points(), balance.settled / UNITS_PER_YUAN);
            }
        }
    }

    #[test]
    fn refusals_name_the_rule() {
        let mut b = BalanceRecord {
            account: 1,
            ..BalanceRecord::default()
        };
        assert_eq!(b.apply(Movement::TopUp, 0, 0, 0), Err(BalanceError::Zero));
        assert!(matches!(
            b.apply(Movement::Reserve, 1, 1, 0),
            Err(BalanceError::Insufficient { .. })
        ));
        b.apply(Movement::TopUp, 10, 0, 0).unwrap();
        assert!(matches!(
            b.apply(Movement::Settle, 1, 1, 0),
            Err(BalanceError::NotReserved { .. })
        ));
        assert_eq!(
            b.apply(Movement::TopUp, MAX_BALANCE_UNITS, 0, 0),
            Err(BalanceError::Limit)
        );
        b.apply(Movement::Reserve, 6, 1, 0).unwrap();
        b.apply(Movement::Settle, 3, 1, 0).unwrap();
        b.apply(Movement::Refund, 3, 1, 0).unwrap();
        assert_eq!(b.info().available, 7);
        assert_eq!(b.info().points, 3);
        assert_eq!(b.next_entry, 5);
    }

    #[test]
    fn records_round_trip_and_refuse_unknown_versions() {
        let b = BalanceRecord {
            account: 9,
            topped_up: 100,
            reserved: 3,
            settled: 6,
            refunded: 1,
            next_entry: 4,
        };
        assert_eq!(BalanceRecord::decode(&b.encode()).unwrap(), b);
        let e = LedgerRecord {
            account: 9,
            entry: 3,
            at: -5,
            movement: Movement::Refund,
            units: 1,
            broadcast: 2,
        };
        assert_eq!(LedgerRecord::decode(&e.encode()).unwrap(), e);
        let mut bad = e.encode();
        bad[0] = 9;
        assert!(LedgerRecord::decode(&bad).is_err());
    }
}
