//! The resolver's query handler on arbitrary bytes, over UDP and TCP; see
//! `koi::dns::fuzzing::dns_query` (replies parse, carry QR, and fit 1232 bytes over UDP).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| koi::dns::fuzzing::dns_query(data));
