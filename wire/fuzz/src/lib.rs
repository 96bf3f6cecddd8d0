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
