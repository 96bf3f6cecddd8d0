//! Fuzz target: one body of a fuzzer-chosen type through `Body::decode` and a round trip
//! (input layout and checks: `src/messages.rs`).
#![no_main]

use kefu_wire_fuzz::{messages, on_small_stack};

libfuzzer_sys::fuzz_target!(|data: &[u8]| on_small_stack(messages::check, data));
