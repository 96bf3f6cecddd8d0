//! Fuzz target: peer bytes in fuzzer-chosen reads through `FrameDecoder` and
//! `ClientConnection` (input layout and checks: `src/frame_decoder.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kefu_wire_fuzz::frame_decoder::check(data));
