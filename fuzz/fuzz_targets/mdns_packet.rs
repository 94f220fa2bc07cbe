//! Hostile packets through the ingress filter, the parser and a live responder; see
//! `koi::mdns::fuzzing` for the invariants it asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| koi::mdns::fuzzing::mdns_packet(data));
