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

/// The stack the checks run on: 256 KiB, in KiB as `ulimit -s` takes it.
///
/// The daemon decodes frames of up to 1 MiB (16 MiB at most) on threads with 2 MiB stacks,
/// while fuzz inputs are a few KiB. Decoding a flat message needs a few KiB of stack
/// whatever its size; a decoder whose stack use grows with its input (a recursive type,
/// each level a couple of bytes) would abort the daemon with a stack overflow on a big
/// enough frame. On this small stack it already overflows on a fuzz-sized input, which
/// libFuzzer reports as a crash. `.ci/fuzz.sh` runs the targets under `ulimit -s` with
/// this value (libFuzzer calls the target on the main thread); the tests replaying the
/// corpus use [`on_small_stack`].
pub const CHECK_STACK_KIB: usize = 256;

/// Runs `check(data)` on a new thread with a [`CHECK_STACK_KIB`] stack and waits for it;
/// a panic in the check is resumed on the caller's thread. For replaying inputs in tests:
/// starting a thread per input would slow fuzzing several times over.
pub fn on_small_stack(check: fn(&[u8]), data: &[u8]) {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("kefu-wire-fuzz-check".into())
            .stack_size(CHECK_STACK_KIB * 1024)
            .spawn_scoped(scope, || check(data));
        match spawned {
            Ok(handle) => {
                if let Err(panic) = handle.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            Err(e) => panic!("cannot start the check thread: {e}"),
        }
    });
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
