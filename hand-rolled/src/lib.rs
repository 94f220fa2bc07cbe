//! `koi-wire`: koi's wire codecs, written by hand and fuzzed.
//!
//! Everything here is pure: no I/O, no clock, no randomness. Every decoder takes bytes that may
//! be hostile and returns an error instead of panicking, with memory and work bounded by the
//! input's length and by explicit limits. Callers own sockets, timers and policy.
//!
//! What we refuse to support is written down in each module's docs.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod base32;
pub mod der;
pub mod dns;
pub mod http;
pub mod totp;

/// Entry points for fuzz targets and property tests; not a stable API.
#[doc(hidden)]
pub mod fuzzing;
