//! Fuzz target: peer bytes in fuzzer-chosen reads through `FrameDecoder` and
//! `ClientConnection` (input layout and checks: `src/frame_decoder.rs`).
#![no_main]

use kefu_wire_fuzz::{frame_decoder, on_small_stack};

libfuzzer_sys::fuzz_target!(|data: &[u8]| on_small_stack(frame_decoder::check, data));
