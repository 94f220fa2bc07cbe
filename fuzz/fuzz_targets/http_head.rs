//! Every HTTP head parser, body decoder and writer, with round-trip checks; see
//! `koi_wire::http::fuzzing` for the invariants it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| koi_wire::fuzzing::http::http_head(data));
