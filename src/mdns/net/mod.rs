//! The mDNS network layer: which links exist, when they change, and the sockets that move
//! datagrams on them (Linux).
//!
//! - [`links`] lists the (interface, family) pairs mDNS runs on; [`host_name`] is the
//!   machine's short name.
//! - [`LinkWatcher`] wakes the caller when interfaces or addresses change.
//! - [`MdnsSockets`] owns one IPv4 and one IPv6 socket on port 5353, joins the group per link,
//!   and reads and writes [`Transmit`](crate::mdns::types::Transmit)s with their link.
//!
//! Everything `unsafe` is in `sys.rs`. Nothing here logs: failures are returned for the
//! caller to report.

mod ifaces;
mod socket;
mod sys;
mod watch;

pub use ifaces::{host_name, links};
pub use socket::{MdnsSockets, SocketsError};
pub use watch::{LinkWatcher, POLL_INTERVAL};
