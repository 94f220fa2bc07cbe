//! Base32 (being written).
