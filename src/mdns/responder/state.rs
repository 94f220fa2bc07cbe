//! The responder's public vocabulary: keys, errors, events and status.

use std::fmt;

use crate::mdns::{Link, ServiceType};

/// Identifies one registration for its lifetime (stable across renames).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceKey(pub(super) u64);

/// Why a registration was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegisterError {
    /// A service of that type is already registered under that name (current or original).
    Duplicate,
    /// The instance or host name is empty or longer than 63 bytes.
    InvalidName,
    /// [`MAX_SERVICES`](super::MAX_SERVICES) services are registered already.
    TooMany,
    /// A TXT string is over 255 bytes, or all of them over
    /// [`MAX_TXT_LEN`](super::MAX_TXT_LEN).
    TxtTooLarge,
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegisterError::Duplicate => {
                "a service of that type is already registered under that name"
            }
            RegisterError::InvalidName => "service and host names must be 1 to 63 bytes",
            RegisterError::TooMany => "too many services registered",
            RegisterError::TxtTooLarge => "TXT strings must be at most 255 bytes, 1300 in all",
        })
    }
}

impl std::error::Error for RegisterError {}

/// Something the shell may want to log or report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponderEvent {
    /// The service started (or restarted) probing for its name.
    Probing {
        /// The name being probed.
        instance: String,
    },
    /// The first announcement of the service went out: it is discoverable and defended.
    Announced {
        /// The announced name.
        instance: String,
    },
    /// Another host owns the name: the service continues under a new one.
    Renamed {
        /// The name given up.
        from: String,
        /// The name now being probed.
        to: String,
    },
    /// Another host owns our host name: we continue under a new one.
    HostRenamed {
        /// The host name given up (without `.local`).
        from: String,
        /// The new host name.
        to: String,
    },
    /// The service was withdrawn and its goodbyes were sent.
    Withdrawn {
        /// Its name at the time.
        instance: String,
    },
}

/// Where a service stands, overall or on one link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceState {
    /// Checking that nobody else uses the name (also: no link yet).
    Probing,
    /// Sending the unsolicited announcements.
    Announcing,
    /// Announced; answering queries and defending the name.
    Announced,
}

/// A snapshot of one registered service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceStatus {
    /// Its registration.
    pub key: ServiceKey,
    /// The current instance name.
    pub instance: String,
    /// The name it was registered under.
    pub original: String,
    /// Its type.
    pub service_type: ServiceType,
    /// Its port.
    pub port: u16,
    /// The least advanced state over all links (Probing when there is no link).
    pub state: ServiceState,
    /// The name it had before the last rename.
    pub renamed_from: Option<String>,
    /// Its state on each link.
    pub links: Vec<(Link, ServiceState)>,
}
