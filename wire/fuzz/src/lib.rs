//! The checks behind the `kefu-wire` fuzz targets, and the seed inputs they start from.
//!
//! Each target in `fuzz_targets/` is a one-line call into a `check` function here, so the
//! same checks also replay the committed corpus under a plain `cargo test` (see the tests
//! in [`seeds`]), without libFuzzer, sanitizers or a nightly compiler.
//!
//! - [`frame_decoder`]: a byte stream cut into reads of fuzzer-chosen sizes, fed to
//!   `FrameDecoder::decode` and to `ClientConnection::handle_input`.
//! - [`messages`]: one body of a fuzzer-chosen type, decoded and round-tripped.
//! - [`seeds`]: valid and malformed inputs for both; `make-corpus` writes them to
//!   `corpus/<target>/`.
//!
//! **Boundary**: this crate only drives `kefu-wire`'s public API; a property that fails
//! here is a bug to fix in `wire/src`, never to work around here.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod frame_decoder;
pub mod messages;
pub mod seeds;

use kefu_wire::WireError;
use std::sync::{mpsc, Mutex, PoisonError};

/// The stack each check runs on: 256 KiB.
///
/// The daemon decodes frames of up to 1 MiB (16 MiB at most) on threads with 2 MiB stacks,
/// while fuzz inputs are a few KiB. Decoding a flat message needs a few KiB of stack
/// whatever its size; a decoder whose stack use grows with its input (a recursive type,
/// each level a couple of bytes) would abort the daemon with a stack overflow on a big
/// enough frame. On this small stack it already overflows on a fuzz-sized input, and
/// libFuzzer reports the abort as a crash.
pub const CHECK_STACK: usize = 256 * 1024;

/// Runs `check(data)` on a thread with a [`CHECK_STACK`]-byte stack and waits for it; a
/// panic in the check is resumed on the caller's thread.
///
/// The thread is started once and reused: starting one per input would cost more than
/// most checks (several times more under the address sanitizer).
pub fn on_small_stack(check: fn(&[u8]), data: &[u8]) {
    static WORKER: Mutex<Option<Worker>> = Mutex::new(None);
    let mut worker = WORKER.lock().unwrap_or_else(PoisonError::into_inner);
    let outcome = worker
        .get_or_insert_with(Worker::start)
        .run(check, data.to_vec());
    if let Err(panic) = outcome {
        // The worker is gone or unwound; the next call starts a fresh one.
        *worker = None;
        drop(worker);
        std::panic::resume_unwind(panic);
    }
}

type Job = (fn(&[u8]), Vec<u8>);

/// The small-stack thread, fed one input at a time.
struct Worker {
    jobs: mpsc::Sender<Job>,
    done: mpsc::Receiver<std::thread::Result<()>>,
}

impl Worker {
    fn start() -> Worker {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("kefu-wire-fuzz-check".into())
            .stack_size(CHECK_STACK)
            .spawn(move || {
                for (check, data) in job_rx {
                    let outcome = std::panic::catch_unwind(|| check(&data));
                    if done_tx.send(outcome).is_err() {
                        break;
                    }
                }
            });
        if let Err(e) = spawned {
            panic!("cannot start the check thread: {e}");
        }
        Worker { jobs, done }
    }

    fn run(&self, check: fn(&[u8]), data: Vec<u8>) -> std::thread::Result<()> {
        if self.jobs.send((check, data)).is_err() {
            return Err(Box::new("the check thread has stopped"));
        }
        self.done
            .recv()
            .unwrap_or_else(|_| Err(Box::new("the check thread has stopped")))
    }
}

/// Checks what every error out of a decoder must satisfy: it names a protocol error code
/// listed in `wire/PROTOCOL.md` (so the server can tell the peer why it closes), and it
/// can be printed.
pub fn check_error(error: &WireError) {
    let code = error.code();
    assert!(
        code.name().is_some(),
        "{error:?} maps to {code:?}, which is not a known protocol error code"
    );
    assert!(!error.to_string().is_empty(), "{error:?} prints as nothing");
}
