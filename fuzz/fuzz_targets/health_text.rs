//! Health's text parsers (check URLs, host:port, expect ranges, transition-log lines); see
//! `koi::health::fuzzing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| koi::health::fuzzing::health_text(data));
