//! Persistence of the configured checks across agent restarts: `health.json` in the state
//! directory, schema-versioned and written atomically.
//!
//! Owns only the check definitions, never their results (health is present tense). A stored
//! check that no longer parses is skipped with a warning rather than stopping the agent.

use super::model::CheckSpec;
use crate::state::{read_versioned, write_versioned, Secrecy, StateError, Versioned};
use miniserde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// One stored check.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct StoredCheck {
    /// Its name.
    pub name: String,
    /// `http` or `tcp`.
    pub kind: String,
    /// The URL or `host:port`.
    pub target: String,
    /// Interval in milliseconds.
    pub interval_ms: u64,
    /// Timeout in milliseconds.
    pub timeout_ms: u64,
    /// Lowest accepted status.
    pub expect_lo: u16,
    /// Highest accepted status.
    pub expect_hi: u16,
}

/// The file.
#[derive(Serialize, Deserialize, Debug, Default)]
pub struct HealthFile {
    /// Schema version.
    pub schema: u32,
    /// The checks, in the order added.
    pub checks: Vec<StoredCheck>,
}

impl Versioned for HealthFile {
    const SCHEMA: u32 = 1;
}

impl StoredCheck {
    /// The stored form of `spec`.
    pub fn from_spec(spec: &CheckSpec) -> StoredCheck {
        StoredCheck {
            name: spec.name.clone(),
            kind: spec.kind().to_string(),
            target: spec.target.clone(),
            interval_ms: u64::try_from(spec.interval.as_millis()).unwrap_or(u64::MAX),
            timeout_ms: u64::try_from(spec.timeout.as_millis()).unwrap_or(u64::MAX),
            expect_lo: spec.expect.0,
            expect_hi: spec.expect.1,
        }
    }

    /// Back to a check (re-validated).
    pub fn to_spec(&self) -> Result<CheckSpec, super::model::SpecError> {
        let (http, tcp) = match self.kind.as_str() {
            "http" => (Some(self.target.as_str()), None),
            _ => (None, Some(self.target.as_str())),
        };
        CheckSpec::new(
            &self.name,
            http,
            tcp,
            Duration::from_millis(self.interval_ms),
            Duration::from_millis(self.timeout_ms),
            (self.expect_lo, self.expect_hi),
        )
    }
}

/// Loads the checks; a missing file is no checks.
pub fn load(path: &Path) -> Result<Vec<CheckSpec>, StateError> {
    let file: HealthFile = match read_versioned(path) {
        Ok(f) => f,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for c in &file.checks {
        match c.to_spec() {
            Ok(s) => out.push(s),
            Err(e) => crate::log!(Warn, "health", "skipping stored check {:?}: {e}", c.name),
        }
    }
    Ok(out)
}

/// Saves the checks.
pub fn save<'a>(
    path: &Path,
    checks: impl Iterator<Item = &'a CheckSpec>,
) -> Result<(), StateError> {
    let file = HealthFile {
        schema: HealthFile::SCHEMA,
        checks: checks.map(StoredCheck::from_spec).collect(),
    };
    write_versioned(path, &file, Secrecy::Public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_round_trip_through_the_file() {
        let dir = std::env::temp_dir().join(format!("koi-health-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("health.json");
        assert!(load(&path).unwrap().is_empty());
        let s = Duration::from_secs;
        let a = CheckSpec::new(
            "web",
            Some("https://h:8443/x"),
            None,
            s(10),
            s(2),
            (200, 204),
        )
        .unwrap();
        let b = CheckSpec::new(
            "db",
            None,
            Some("10.0.0.5:5432"),
            Duration::from_millis(500),
            s(1),
            (200, 399),
        )
        .unwrap();
        save(&path, [&a, &b].into_iter()).unwrap();
        assert_eq!(load(&path).unwrap(), vec![a, b]);
        std::fs::write(&path, "{\"schema\":9,\"checks\":[]}").unwrap();
        assert!(load(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
