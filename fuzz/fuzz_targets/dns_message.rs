//! Parse → encode → parse round trip of DNS/mDNS messages; see `koi_wire::fuzzing::dns`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| koi_wire::fuzzing::dns::dns_message(data));
