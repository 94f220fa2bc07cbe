//! The agent's status document (`GET /v1/status`), one entry per compiled-in capability.

use crate::build_info;
use miniserde::{Deserialize, Serialize};

/// One capability's line in `koi status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CapabilityStatus {
    /// `mdns`, `certmesh`, `dns`, `health` or `proxy`.
    pub name: String,
    /// `running`, `not_running` or `not_configured`.
    pub state: String,
    /// The human summary, e.g. "3 services discovered, 0 stale".
    pub summary: String,
}

/// The whole status document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentStatus {
    /// koi version.
    pub version: String,
    /// Git commit.
    pub commit: String,
    /// Agent pid.
    pub pid: u32,
    /// Seconds since the agent started.
    pub uptime_secs: u64,
    /// Control API address.
    pub control: String,
    /// Per-capability lines, in display order.
    pub capabilities: Vec<CapabilityStatus>,
}

/// The line for a compiled-in capability that this agent does not run yet.
pub(super) fn not_running(name: &str) -> CapabilityStatus {
    CapabilityStatus {
        name: name.to_string(),
        state: "not_running".to_string(),
        summary: "not running".to_string(),
    }
}

/// Builds the status document from whatever capabilities are running.
pub(super) fn collect(
    pid: u32,
    uptime_secs: u64,
    control: String,
    running: &[CapabilityStatus],
) -> AgentStatus {
    let capabilities = build_info::features()
        .into_iter()
        .map(|name| {
            running
                .iter()
                .find(|s| s.name == name)
                .cloned()
                .unwrap_or_else(|| not_running(name))
        })
        .collect();
    AgentStatus {
        version: build_info::VERSION.to_string(),
        commit: build_info::COMMIT.to_string(),
        pid,
        uptime_secs,
        control,
        capabilities,
    }
}
