//! mDNS / DNS-SD (RFC 6762, RFC 6763): koi's bottom layer.
//!
//! Owns announcing services (the responder), finding them (the browser and its cache), the
//! registry that DNS, health, certmesh and proxy read, the REST gateway for apps that cannot
//! multicast, and the opt-in reflector. Protocol logic lives in pure state machines that take
//! `now`, a seeded [`Prng`](crate::base::Prng) and packets and return datagrams and events;
//! only `service.rs` (the async shell) and `net/` touch sockets and timers.
//!
//! It must never answer off-link sources, never send a reply to a port other than 5353 except
//! a legacy unicast reply to that one querier, and never let a hostile packet cost more than
//! bounded work and memory: decoding expands each compressed name to at most 255 bytes, so a
//! datagram's transient decoded size is bounded (a 9,000-byte packet of questions all pointing
//! at one long name peaks near 430 KB, pinned by `tests/mdns_hostile.rs`), and nothing from a
//! packet is kept beyond the capped cache.

pub mod browser;
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
pub mod ingress;
pub mod json;
pub mod net;
mod packed;
pub mod reflector;
pub mod registry;
pub mod responder;
pub mod service;
pub mod types;

pub use service::{Mdns, MdnsConfig};
pub use types::*;
