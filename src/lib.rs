//! koi: one small binary that makes a local network's services discoverable (mDNS), trusted
//! (a private CA), named (a local DNS zone), watched (health) and reachable over HTTPS (a TLS
//! proxy).
//!
//! The binary is a thin `argh` dispatcher over [`cli`]; the long-lived process is [`agent`].
//! Each capability lives in its own module behind a cargo feature.
#![warn(missing_docs, unreachable_pub)]

pub mod agent;
pub mod base;
pub mod build_info;
#[cfg(feature = "certmesh")]
pub mod certmesh;
pub mod cli;
#[cfg(feature = "dns")]
pub mod dns;
#[cfg(feature = "health")]
pub mod health;
pub mod http;
#[cfg(feature = "mdns")]
pub mod mdns;
pub mod state;
#[cfg(any(feature = "certmesh", feature = "health", feature = "proxy"))]
pub mod tls;
