//! What the loop's turns did (issue 13, point 3; wire/PROTOCOL.md section 20.1.1): the
//! longest turn a shard has made, with the work it held (frames read, inbox messages,
//! logins completed, connections accepted, batch operations committed), and the most
//! logins and inbox messages any one turn handled. The turn-duration histogram says
//! that a stall happened; this says what the stalled turn was doing.
//!
//! Beside each turn's wall time, the shard thread's own CPU time in it
//! ([`ThreadCpu`], `CLOCK_THREAD_CPUTIME_ID`, read once a turn: see
//! [`TurnWork::cpu_micros`]): a long turn whose CPU is close to its
//! wall time was work; one whose CPU is far below was waiting — the thread preempted
//! (runnable, no core free) or blocked in a syscall (a WAL `write(2)` behind
//! writeback, a page fault, a lock). The turn that waited longest is kept with its
//! wall and CPU times, since the longest turn is usually work (the chat's first turn).
//!
//! Written by the shard's own thread once a turn (a compare, and stores only when a
//! figure is beaten), read by a scrape: the fields of the longest turn are separate
//! atomics, so a scrape racing a new record may pair one turn's duration with another
//! turn's counts — a diagnostic, never a decision, so that is accepted.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// What one turn did, counted by the loop.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TurnWork {
    /// How long the turn took, microseconds.
    pub micros: u64,
    /// The shard thread's CPU time in the turn, microseconds (at most `micros`). The
    /// clock is read once a turn, at its end, so this runs from the previous turn's
    /// end: it also holds the `epoll_wait` before the turn (a few µs of entering and
    /// leaving it; none of the sleep), a bias that matters only for the shortest turns.
    pub cpu_micros: u64,
    /// Frames read from clients.
    pub frames_in: u64,
    /// Messages taken from the shard's inbox (other shards, the worker pool).
    pub inbox: u64,
    /// Logins completed (sessions opened).
    pub logins: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Operations in the turn's committed batch.
    pub batch_ops: u64,
}

impl TurnWork {
    /// The part of the turn the thread was off the CPU (preempted or blocked).
    pub fn off_cpu_micros(&self) -> u64 {
        self.micros.saturating_sub(self.cpu_micros)
    }
}

/// One shard's record of its turns.
#[derive(Debug, Default)]
pub struct TurnStats {
    /// The longest turn: micros, cpu_micros, frames_in, inbox, logins, accepted,
    /// batch_ops.
    longest: [AtomicU64; 7],
    /// The turn that spent the most time off the CPU: its wall and CPU time.
    most_off_cpu: [AtomicU64; 2],
    most_logins: AtomicU64,
    most_inbox: AtomicU64,
}

impl TurnStats {
    /// Records one turn (called by the shard's thread only).
    pub fn record(&self, w: &TurnWork) {
        if w.micros > self.longest[0].load(Relaxed) {
            let values = [
                w.micros,
                w.cpu_micros,
                w.frames_in,
                w.inbox,
                w.logins,
                w.accepted,
                w.batch_ops,
            ];
            for (slot, v) in self.longest.iter().zip(values) {
                slot.store(v, Relaxed);
            }
        }
        let [wall, cpu] = &self.most_off_cpu;
        if w.off_cpu_micros() > wall.load(Relaxed).saturating_sub(cpu.load(Relaxed)) {
            wall.store(w.micros, Relaxed);
            cpu.store(w.cpu_micros, Relaxed);
        }
        if w.logins > self.most_logins.load(Relaxed) {
            self.most_logins.store(w.logins, Relaxed);
        }
        if w.inbox > self.most_inbox.load(Relaxed) {
            self.most_inbox.store(w.inbox, Relaxed);
        }
    }

    /// The longest turn so far and what it did.
    pub fn longest(&self) -> TurnWork {
        let [micros, cpu_micros, frames_in, inbox, logins, accepted, batch_ops] =
            [0, 1, 2, 3, 4, 5, 6].map(|i| self.longest[i].load(Relaxed));
        TurnWork {
            micros,
            cpu_micros,
            frames_in,
            inbox,
            logins,
            accepted,
            batch_ops,
        }
    }

    /// The turn that was off the CPU longest: (its wall time, its CPU time), µs.
    pub fn most_off_cpu(&self) -> (u64, u64) {
        let [wall, cpu] = &self.most_off_cpu;
        (wall.load(Relaxed), cpu.load(Relaxed))
    }

    /// The most logins one turn completed.
    pub fn most_logins(&self) -> u64 {
        self.most_logins.load(Relaxed)
    }

    /// The most inbox messages one turn took.
    pub fn most_inbox(&self) -> u64 {
        self.most_inbox.load(Relaxed)
    }
}

/// The calling thread's CPU time so far (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`):
/// one syscall (the vDSO serves only the wall clocks), a few hundred nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ThreadCpu(Duration);

impl ThreadCpu {
    /// The calling thread's CPU time now (zero where the clock cannot be read).
    pub fn now() -> ThreadCpu {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the call writes only it.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        if rc != 0 {
            return ThreadCpu(Duration::ZERO);
        }
        let (secs, nanos) = (
            u64::try_from(ts.tv_sec).unwrap_or(0),
            u32::try_from(ts.tv_nsec).unwrap_or(0),
        );
        ThreadCpu(Duration::new(secs, nanos.min(999_999_999)))
    }

    /// CPU time the thread used since `earlier`, read on the same thread.
    pub fn since(self, earlier: ThreadCpu) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

/// What the scheduler says of one thread since it started (`/proc/self/task/TID/
/// schedstat` and `status`): read by a scrape, so the loop pays nothing for it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ThreadSched {
    /// Time on a core, nanoseconds.
    pub cpu_ns: u64,
    /// Time runnable but waiting for a core, nanoseconds: latency no turn shows when
    /// it falls between turns, and the off-CPU part of a turn when it falls inside one.
    pub runqueue_wait_ns: u64,
    /// Times the thread gave up its core (blocked: `epoll_wait`, or a syscall inside a
    /// turn).
    pub voluntary_switches: u64,
    /// Times the thread was taken off its core while it could run (preempted).
    pub involuntary_switches: u64,
}

impl ThreadSched {
    /// The figures of this process's thread `tid`, if it is still there.
    pub fn of(tid: u64) -> Option<ThreadSched> {
        let dir = format!("/proc/self/task/{tid}");
        let schedstat = std::fs::read_to_string(format!("{dir}/schedstat")).ok()?;
        let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
        Self::parse(&schedstat, &status)
    }

    /// From the texts of `schedstat` ("cpu_ns wait_ns timeslices") and `status`.
    fn parse(schedstat: &str, status: &str) -> Option<ThreadSched> {
        let mut fields = schedstat.split_whitespace().map(str::parse::<u64>);
        let (cpu_ns, runqueue_wait_ns) = (fields.next()?.ok()?, fields.next()?.ok()?);
        let switches = |name: &str| {
            status.lines().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
        };
        Some(ThreadSched {
            cpu_ns,
            runqueue_wait_ns,
            voluntary_switches: switches("voluntary_ctxt_switches")?,
            involuntary_switches: switches("nonvoluntary_ctxt_switches")?,
        })
    }
}

/// The calling thread's id (`gettid`), for [`ThreadSched::of`].
pub fn current_thread_id() -> u64 {
    // SAFETY: gettid has no preconditions and cannot fail.
    let tid = unsafe { libc::gettid() };
    u64::try_from(tid).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_turn_keeps_its_counts_and_the_maxima_are_separate() {
        let s = TurnStats::default();
        let long = TurnWork {
            micros: 900,
            cpu_micros: 850,
            frames_in: 3,
            inbox: 1,
            logins: 0,
            accepted: 2,
            batch_ops: 7,
        };
        s.record(&long);
        s.record(&TurnWork {
            micros: 10,
            logins: 40,
            inbox: 50,
            ..TurnWork::default()
        });
        // Shorter, but off the CPU for longer (600 µs against the longest's 50).
        s.record(&TurnWork {
            micros: 700,
            cpu_micros: 100,
            ..TurnWork::default()
        });
        s.record(&TurnWork {
            micros: 800,
            cpu_micros: 750,
            ..TurnWork::default()
        });
        assert_eq!(s.longest(), long);
        assert_eq!(s.most_off_cpu(), (700, 100));
        assert_eq!((s.most_logins(), s.most_inbox()), (40, 50));
    }

    #[test]
    fn scheduler_figures_are_read_from_schedstat_and_status() {
        let status = "Name:\tkefu-shard-0\nvoluntary_ctxt_switches:\t1200\n\
                      nonvoluntary_ctxt_switches:\t34\n";
        assert_eq!(
            ThreadSched::parse("5000000 700000 1234\n", status),
            Some(ThreadSched {
                cpu_ns: 5_000_000,
                runqueue_wait_ns: 700_000,
                voluntary_switches: 1200,
                involuntary_switches: 34,
            })
        );
        assert_eq!(ThreadSched::parse("", status), None, "no schedstat");
        assert_eq!(
            ThreadSched::parse("1 2 3", "Name: x\n"),
            None,
            "no switches"
        );
        // This very thread, read the way a scrape reads a shard's: the kernel adds a
        // running thread's time at switches and ticks, so its figure is at most the
        // thread's clock read afterwards.
        let me = ThreadSched::of(current_thread_id()).expect("own thread");
        let clock = ThreadCpu::now().since(ThreadCpu(Duration::ZERO));
        assert!(
            Duration::from_nanos(me.cpu_ns) <= clock,
            "{me:?} against {clock:?}"
        );
    }

    #[test]
    fn thread_cpu_counts_the_calling_thread_only() {
        let before = ThreadCpu::now();
        // A worker burns CPU (a fixed amount of work) while this thread waits in `join`.
        let worker = std::thread::spawn(|| {
            let start = ThreadCpu::now();
            let mut x = 0u64;
            for i in 0..20_000_000u64 {
                x = std::hint::black_box(x.wrapping_add(i.wrapping_mul(i)));
            }
            ThreadCpu::now().since(start)
        });
        let worked = worker.join().expect("worker");
        let waited = ThreadCpu::now().since(before);
        assert!(worked > Duration::ZERO, "the worker's clock moved");
        assert!(
            waited < worked,
            "waiting in join used less CPU ({waited:?}) than the work ({worked:?})"
        );
    }
}
