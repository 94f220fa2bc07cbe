//! Hostile bytes through the DER reader's certificate and CSR views; see
//! `koi_wire::fuzzing::der`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| koi_wire::fuzzing::der::der_x509(data));
