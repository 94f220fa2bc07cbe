//! Hostile bytes through certmesh's parsers; see `koi::certmesh::fuzzing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| koi::certmesh::fuzzing::certmesh_input(data));
