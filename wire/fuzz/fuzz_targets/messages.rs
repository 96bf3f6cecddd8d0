//! Fuzz target: one body of a fuzzer-chosen type through `Body::decode` and a round trip
//! (input layout and checks: `src/messages.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kefu_wire_fuzz::messages::check(data));
