//! Health (spec §6): is everything up right now, and when did it change?
//!
//! Owns machine health (derived from signals other capabilities already have: mDNS host
//! records today, certmesh and DNS through [`machines::SignalSource`] once they land), the
//! opt-in HTTP/TCP service checks and their schedule, the transition log, the persisted check
//! list, the REST routes under `/v1/health/`, and the terminal rendering of status and watch.
//!
//! It must never keep history beyond the two-file transition log (present tense only), never
//! alert, never probe machines on its own (machine health only reads other capabilities), and
//! never let one check's target cost more than its deadline and a few KiB.

#[cfg(feature = "certmesh")]
pub mod certmesh_source;
pub mod checks;
#[cfg(feature = "dns")]
pub mod dns_source;
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
pub mod json;
pub mod machines;
#[cfg(feature = "mdns")]
pub mod mdns_source;
pub mod model;
pub mod render;
pub mod schedule;
mod scheduler;
mod service;
pub mod store;
pub mod translog;

pub use service::Health;

use crate::state::StateDir;
use std::path::PathBuf;
use std::time::Duration;

/// Default grace before an unseen machine is down.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);
/// Default bound on checks in flight at once.
pub const DEFAULT_MAX_CONCURRENT: usize = 256;

/// How health runs.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// The state directory (`health.json`, `health.log`).
    pub state: StateDir,
    /// A machine unseen this long is down.
    pub grace: Duration,
    /// Most checks in flight at once.
    pub max_concurrent: usize,
    /// Transition log size cap per file (0: 1 MiB).
    pub log_cap: u64,
    /// Extra trusted roots for HTTPS checks (the mesh CA's PEM, once certmesh provides it).
    pub extra_roots: Vec<PathBuf>,
    /// How often machine signals are read.
    pub tick: Duration,
}

impl HealthConfig {
    /// Defaults for a state directory.
    pub fn new(state: StateDir) -> HealthConfig {
        HealthConfig {
            state,
            grace: DEFAULT_GRACE,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            log_cap: 0,
            extra_roots: Vec::new(),
            tick: Duration::from_secs(1),
        }
    }
}
