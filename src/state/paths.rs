//! Where state lives: `--state-dir`, else `$KOI_STATE_DIR`, else `/var/lib/koi` for root and
//! `~/.koi` for everyone else.

use std::path::{Path, PathBuf};

/// Environment variable naming the state directory.
pub const STATE_DIR_ENV: &str = "KOI_STATE_DIR";

/// The default state directory for this user.
pub fn default_root() -> PathBuf {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/koi");
    }
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home).join(".koi"),
        _ => PathBuf::from(".koi"),
    }
}

/// Resolves the state directory from the flag, the environment and the default, in that order.
pub fn resolve_root(flag: Option<&str>) -> PathBuf {
    if let Some(dir) = flag.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os(STATE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => default_root(),
    }
}

/// The files of one state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Names a state directory (it may not exist yet).
    pub fn new(root: PathBuf) -> Self {
        StateDir { root }
    }

    /// Creates the directory, owner-only, if it is missing.
    pub fn create(&self) -> std::io::Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `agent.json`: control address, pid and version of the running agent.
    pub fn agent_json(&self) -> PathBuf {
        self.root.join("agent.json")
    }

    /// `agent.token`: the control API's bearer token (0600).
    pub fn agent_token(&self) -> PathBuf {
        self.root.join("agent.token")
    }

    /// `agent.lock`: held by the running agent.
    pub fn agent_lock(&self) -> PathBuf {
        self.root.join("agent.lock")
    }
}
