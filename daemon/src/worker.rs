//! The worker pool: slow work off the shard loops (password hashing, loading an
//! account's contacts and conversations).
//!
//! A PBKDF2 hash at 600,000 iterations takes tens of milliseconds; done on a
//! shard thread it would stall every connection of that shard. Shards send a
//! [`PasswordJob`], a worker computes it and sends the [`PasswordOutcome`] back
//! to the shard that asked, through that shard's inbox and waker.

use crate::password::{hash_password, verify_password};
use crate::store::records::PasswordHash;
use ring::rand::SystemRandom;
use smallvec::SmallVec;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Verify some secrets against stored hashes, then (only if all match) hash new ones.
#[derive(Debug)]
pub struct PasswordJob {
    /// Identifies the job within the shard that sent it.
    pub id: u64,
    /// Secrets to check, each against its stored hash.
    pub verify: SmallVec<[(String, PasswordHash); 1]>,
    /// Secrets to hash with fresh salts.
    pub hash: SmallVec<[String; 2]>,
    /// Iterations for the new hashes.
    pub iterations: u32,
}

/// The result of a [`PasswordJob`].
#[derive(Debug)]
pub struct PasswordOutcome {
    /// The job's id.
    pub id: u64,
    /// Whether every secret matched (true when there was nothing to verify).
    pub verified: bool,
    /// New hashes, in job order; empty when verification failed or hashing failed.
    pub hashes: Vec<PasswordHash>,
}

/// Where a worker delivers an outcome: the asking shard's inbox.
pub trait OutcomeSink: Send + Sync {
    /// Hands the outcome to the shard and wakes it.
    fn deliver(&self, outcome: PasswordOutcome);
}

/// One piece of work for the pool.
enum Task {
    /// Check and hash passwords; the outcome goes to the sink.
    Password(PasswordJob, Arc<dyn OutcomeSink>),
    /// Any other slow work (loading an account); it delivers its own result.
    Run(Box<dyn FnOnce() + Send>),
}

/// A fixed set of hashing threads sharing one queue.
pub struct WorkerPool {
    queue: Option<Sender<Task>>,
    threads: Vec<JoinHandle<()>>,
}

impl WorkerPool {
    /// Starts `n` worker threads.
    pub fn start(n: usize) -> std::io::Result<WorkerPool> {
        let (tx, rx) = channel::<Task>();
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::with_capacity(n);
        for i in 0..n.max(1) {
            let rx = Arc::clone(&rx);
            threads.push(
                std::thread::Builder::new()
                    .name(format!("kefu-hash-{i}"))
                    .spawn(move || worker_loop(&rx))?,
            );
        }
        Ok(WorkerPool {
            queue: Some(tx),
            threads,
        })
    }

    /// A handle shards use to submit jobs.
    pub fn submitter(&self) -> JobSubmitter {
        JobSubmitter {
            queue: self.queue.clone(),
        }
    }

    /// Stops accepting jobs and waits for the threads (after their current job).
    pub fn shutdown(mut self) {
        self.queue = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Cloneable handle to submit jobs to the pool.
#[derive(Clone)]
pub struct JobSubmitter {
    queue: Option<Sender<Task>>,
}

impl JobSubmitter {
    /// Queues a job; false if the pool has shut down.
    pub fn submit(&self, job: PasswordJob, reply: Arc<dyn OutcomeSink>) -> bool {
        self.send(Task::Password(job, reply))
    }

    /// Queues slow work that delivers its own result (through a shard's mailbox);
    /// false if the pool has shut down.
    pub fn spawn(&self, work: impl FnOnce() + Send + 'static) -> bool {
        self.send(Task::Run(Box::new(work)))
    }

    fn send(&self, task: Task) -> bool {
        self.queue.as_ref().is_some_and(|q| q.send(task).is_ok())
    }
}

/// Niceness of the worker threads. At the loops' niceness, a burst of logins (two
/// PBKDF2 workers on a two-core box) took the shard loops' cores: a fan-out turn of
/// 1 ms of work lasted 150 ms, the loop run 4 ms in every 40 (`perf sched timehist`,
/// issue 13; `loadtest/scripts/broadcast-chat.sh`). At 10 a worker weighs 110
/// against a loop's 1024, so hashing and account loads take the CPU the loops leave.
pub const WORKER_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority to [`WORKER_NICE`] (on Linux niceness is
/// per thread). A refusal leaves it as it was: slower loops under logins, no error.
fn lower_own_priority() {
    // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
    unsafe {
        let tid = libc::gettid();
        if let Ok(tid) = libc::id_t::try_from(tid) {
            libc::setpriority(libc::PRIO_PROCESS, tid, WORKER_NICE);
        }
    }
}

fn worker_loop(rx: &Mutex<Receiver<Task>>) {
    lower_own_priority();
    let rng = SystemRandom::new();
    loop {
        // The lock is held only while waiting for the next task, never while hashing.
        let task = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        match task {
            Ok(Task::Password(job, sink)) => sink.deliver(run(job, &rng)),
            Ok(Task::Run(work)) => work(),
            Err(_) => return,
        }
    }
}

/// Computes one job (also used directly by tests and benches).
pub fn run(job: PasswordJob, rng: &SystemRandom) -> PasswordOutcome {
    let verified = job
        .verify
        .iter()
        .all(|(secret, stored)| verify_password(secret.as_bytes(), stored));
    let mut hashes = Vec::new();
    if verified {
        for secret in &job.hash {
            match hash_password(secret.as_bytes(), job.iterations, rng) {
                Ok(h) => hashes.push(h),
                Err(_) => {
                    hashes.clear();
                    break;
                }
            }
        }
    }
    PasswordOutcome {
        id: job.id,
        verified,
        hashes,
    }
}
