//! `agent.json`: how clients find the running agent.

use crate::state::Versioned;
use miniserde::{Deserialize, Serialize};

/// The contents of `<state>/agent.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentInfo {
    /// File schema version.
    pub schema: u32,
    /// The control API's address, e.g. `127.0.0.1:5640`.
    pub control: String,
    /// The agent's process id.
    pub pid: u32,
    /// The agent's koi version.
    pub version: String,
    /// Start time, seconds since the Unix epoch.
    pub started_at: u64,
}

impl Versioned for AgentInfo {
    const SCHEMA: u32 = 1;
}
