//! The two counts of [`ContactLimits`] — contacts that count toward the plan, and
//! pending additions (R4, R5, §5.3, §5.5) — stay exact over random sequences of the
//! operations the daemon's CRM performs (add, request by hand or automatically, import,
//! accept, decline, the customer adding the account, state changes, delete, time, and
//! the recount when an account loads): after every step they equal a recount of a
//! model of the stored contacts, a refused step changes nothing, and pending additions
//! never move the limit's level.

use kefu_crm::{
    AddRefusal, ContactLimits, ContactState, ImportCandidate, ImportVerdict, LimitCounters,
    LimitLevel,
};

/// 2024-01-01 00:00:00 UTC.
const T0: i64 = 1_704_067_200;

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A stored contact as the counts see it: its state, and whether the customer ever
/// talked to the account (a declined request for one that never did leaves nothing).
#[derive(Clone, Copy, Debug)]
struct Model {
    state: ContactState,
    talked: bool,
}

struct World {
    limits: ContactLimits,
    contacts: Vec<Model>,
    now: i64,
    limit: u32,
}

impl World {
    fn recount(&self) -> (u32, u32) {
        let pending = self
            .contacts
            .iter()
            .filter(|c| c.state == ContactState::Pending)
            .count() as u32;
        (self.contacts.len() as u32 - pending, pending)
    }

    fn check(&self, step: &str) {
        let (counted, pending) = self.recount();
        assert_eq!(
            (self.limits.counters().contacts, self.limits.pending()),
            (counted, pending),
            "after {step}"
        );
        // The level follows the counted contacts only.
        let without_pending = ContactLimits::new(self.limit, 0, self.limits.counters())
            .unwrap()
            .with_near_percent(self.limits.near_percent() as u8);
        assert_eq!(
            self.limits.level(self.now),
            without_pending.level(self.now),
            "after {step}"
        );
    }

    fn pick(&mut self, rng: &mut Rng, state: ContactState) -> Option<usize> {
        let of: Vec<usize> = (0..self.contacts.len())
            .filter(|i| self.contacts[*i].state == state)
            .collect();
        (!of.is_empty()).then(|| of[rng.below(of.len() as u64) as usize])
    }

    /// One random operation; its name.
    fn step(&mut self, rng: &mut Rng) -> &'static str {
        let now = self.now;
        let before = (self.limits.counters(), self.limits.pending());
        let unchanged = |w: &World| assert_eq!((w.limits.counters(), w.limits.pending()), before);
        match rng.below(14) {
            0 => {
                // CreateContact (a friend, stranger or blacklisted contact at once).
                match self.limits.admit_addition(now) {
                    Ok(_) => self.contacts.push(Model {
                        state: ContactState::Friend,
                        talked: false,
                    }),
                    Err(_) => unchanged(self),
                }
                "create"
            }
            1 => {
                // RequestContact for a customer the account does not store.
                match self.limits.admit_request(now) {
                    Ok(()) => self.contacts.push(Model {
                        state: ContactState::Pending,
                        talked: false,
                    }),
                    Err(_) => unchanged(self),
                }
                "request new"
            }
            2 => {
                let Some(i) = self.pick(rng, ContactState::Stranger) else {
                    return "request stranger (none)";
                };
                match self.limits.admit_stranger_request(now) {
                    Ok(()) => self.contacts[i].state = ContactState::Pending,
                    Err(_) => unchanged(self),
                }
                "request stranger"
            }
            3 => {
                // A visit: the automatic request, else a stranger, else nothing.
                if self.limits.admit_auto_request(now) {
                    self.contacts.push(Model {
                        state: ContactState::Pending,
                        talked: true,
                    });
                } else if self.limits.admit_inbound(now).is_ok() {
                    self.contacts.push(Model {
                        state: ContactState::Stranger,
                        talked: true,
                    });
                } else {
                    unchanged(self);
                }
                "visit with automatic request"
            }
            4 => {
                if self.limits.admit_inbound(now).is_ok() {
                    self.contacts.push(Model {
                        state: ContactState::Stranger,
                        talked: true,
                    });
                } else {
                    unchanged(self);
                }
                "visit"
            }
            5 => {
                let Some(i) = self.pick(rng, ContactState::Pending) else {
                    return "accept (none)";
                };
                let full = self.limits.counters().contacts >= self.limit;
                match self.limits.admit_acceptance(now) {
                    Ok(_) => {
                        assert!(!full);
                        self.contacts[i].state = ContactState::Friend;
                    }
                    Err(e) => {
                        assert!(full && matches!(e, AddRefusal::PlanFull { .. }), "{e:?}");
                        unchanged(self);
                    }
                }
                "accept"
            }
            6 => {
                let Some(i) = self.pick(rng, ContactState::Pending) else {
                    return "decline (none)";
                };
                if self.contacts[i].talked {
                    let _ = self.limits.pending_to_counted(now);
                    self.contacts[i].state = ContactState::Stranger;
                } else {
                    self.limits.pending_removed(1);
                    self.contacts.remove(i);
                }
                "decline"
            }
            7 => {
                let Some(i) = self.pick(rng, ContactState::Pending) else {
                    return "customer adds (none)";
                };
                match self.limits.admit_inbound_from_pending(now) {
                    Ok(_) => self.contacts[i].state = ContactState::Friend,
                    Err(_) => unchanged(self),
                }
                "customer adds the account"
            }
            8 => {
                // Withdrawn or blacklisted.
                let Some(i) = self.pick(rng, ContactState::Pending) else {
                    return "withdraw (none)";
                };
                let _ = self.limits.pending_to_counted(now);
                self.contacts[i].state = if rng.below(2) == 0 {
                    ContactState::Stranger
                } else {
                    ContactState::Blacklisted
                };
                "withdraw or blacklist"
            }
            9 => {
                // DeleteContacts of a random handful.
                let n = rng.below(4) as usize;
                let (mut counted, mut pending) = (0, 0);
                for _ in 0..n.min(self.contacts.len()) {
                    let i = rng.below(self.contacts.len() as u64) as usize;
                    if self.contacts.remove(i).state == ContactState::Pending {
                        pending += 1;
                    } else {
                        counted += 1;
                    }
                }
                self.limits.pending_removed(pending);
                let _ = self.limits.contacts_removed(counted, now);
                "delete"
            }
            10 | 11 => {
                // An import batch, by an agent or the operator.
                let rows: Vec<ImportCandidate> = (0..rng.below(6))
                    .map(|_| match rng.below(3) {
                        0 => ImportCandidate::New,
                        1 => ImportCandidate::NewPending,
                        _ => ImportCandidate::Existing,
                    })
                    .collect();
                let operator = rng.below(2) == 0;
                for row in rows {
                    let (verdict, _) = if operator {
                        self.limits.admit_operator_import(row, now)
                    } else {
                        self.limits.admit_import(row, now)
                    };
                    if verdict == ImportVerdict::Import {
                        self.contacts.push(Model {
                            state: if row == ImportCandidate::NewPending {
                                ContactState::Pending
                            } else {
                                ContactState::Friend
                            },
                            talked: false,
                        });
                    }
                }
                "import"
            }
            12 => {
                self.now += rng.below(3 * 86_400) as i64;
                let _ = self.limits.tick(self.now);
                "time passes"
            }
            _ => {
                // The account loads again: counters as stored, pending recounted.
                let (counted, pending) = self.recount();
                let stored = LimitCounters {
                    contacts: counted,
                    ..self.limits.counters()
                };
                self.limits = ContactLimits::new(self.limit, 0, stored)
                    .unwrap()
                    .with_pending(pending);
                "reload"
            }
        }
    }
}

/// Random sequences over small limits (so the account is full, over and in its grace
/// often): both counts stay exact and refusals change nothing.
#[test]
fn both_counts_stay_exact_over_random_operations() {
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let limit = 1 + rng.below(12) as u32;
        let mut w = World {
            limits: ContactLimits::new(limit, 0, LimitCounters::default()).unwrap(),
            contacts: Vec::new(),
            now: T0,
            limit,
        };
        for n in 0..400 {
            let step = w.step(&mut rng);
            w.check(&format!("step {n} ({step}), seed {seed}"));
            assert!(
                w.limits.pending() <= w.limits.pending_limit(),
                "seed {seed} step {n}"
            );
        }
    }
}

/// §5.3/§5.5: an account full of contacts with pending requests outstanding: the level
/// and its warnings ignore the pending ones; an acceptance waits for room.
#[test]
fn a_full_account_with_pending_requests() {
    let mut l = ContactLimits::new(4, 0, LimitCounters::default()).unwrap();
    for _ in 0..3 {
        l.admit_request(T0).unwrap();
    }
    for _ in 0..4 {
        let _ = l.admit_inbound(T0).unwrap();
    }
    assert_eq!((l.counters().contacts, l.pending()), (4, 3));
    assert_eq!(l.level(T0), LimitLevel::Near);
    assert!(matches!(
        l.admit_acceptance(T0),
        Err(AddRefusal::PlanFull {
            contacts: 4,
            limit: 4
        })
    ));
    assert_eq!((l.counters().contacts, l.pending()), (4, 3));
    let _ = l.contacts_removed(1, T0);
    // Room again: the acceptance enters the count, and reaching the limit warns.
    let w = l.admit_acceptance(T0).unwrap().expect("a warning");
    assert_eq!((w.level, w.contacts), (LimitLevel::Near, 4));
    assert_eq!((l.counters().contacts, l.pending()), (4, 2));
}
