//! Machine signals from certmesh (spec §6.2 "certificate validity"): days until each
//! member's certificate expires, from the CA's signed roster on the CA host, or from this
//! machine's own `member.json` on a member.
//!
//! Owns reading those files, and only when they change (their modification time), so a
//! health pass costs a `stat`, not a parse and a signature check. It never writes certmesh
//! state. A roster whose signature does not verify is ignored (and logged once), never trusted.
//! Heartbeats are not built yet (they come with renewal), so it reports none.

use super::machines::{CertSignal, SignalMap, SignalSource};
use crate::base::UnixTime;
use crate::certmesh::files::{load_member, MeshPaths};
use crate::certmesh::roster::Roster;
use std::cell::RefCell;
use std::path::Path;
use std::time::SystemTime;

/// What the files said when last read: (host name, cert expiry in Unix seconds).
#[derive(Default)]
struct Seen {
    roster: Option<SystemTime>,
    member: Option<SystemTime>,
    certs: Vec<(String, u64)>,
}

/// Reads certmesh's files under one state directory.
pub struct CertmeshSource {
    paths: MeshPaths,
    seen: RefCell<Seen>,
}

impl CertmeshSource {
    /// A source over `paths`.
    pub fn new(paths: MeshPaths) -> CertmeshSource {
        CertmeshSource {
            paths,
            seen: RefCell::new(Seen::default()),
        }
    }

    /// Re-reads the roster and member file if either changed.
    fn refresh(&self) {
        let roster_at = modified(&self.paths.roster());
        let member_at = modified(&self.paths.member());
        let mut seen = self.seen.borrow_mut();
        if seen.roster == roster_at && seen.member == member_at {
            return;
        }
        let mut certs = Vec::new();
        if roster_at.is_some() {
            match self
                .paths
                .read_ca_der()
                .and_then(|der| Roster::load(&self.paths.roster(), &der))
            {
                Ok(r) => certs.extend(
                    r.members
                        .iter()
                        .filter(|m| m.status == "active")
                        .map(|m| (m.hostname.clone(), m.cert_expires_unix)),
                ),
                Err(e) => crate::log!(Warn, "health", "certmesh roster ignored: {e}"),
            }
        }
        if member_at.is_some() {
            if let Ok(m) = load_member(&self.paths) {
                if !certs.iter().any(|(h, _)| *h == m.hostname) {
                    certs.push((m.hostname, m.cert_expires));
                }
            }
        }
        *seen = Seen {
            roster: roster_at,
            member: member_at,
            certs,
        };
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Whole days from `now` until `expires`, rounded down (negative once expired).
pub fn days_left(expires: u64, now: UnixTime) -> i64 {
    let secs = i128::from(expires) - i128::from(now);
    i64::try_from(secs.div_euclid(86_400)).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX })
}

impl SignalSource for CertmeshSource {
    fn collect(&self, now: UnixTime, into: &mut SignalMap) {
        self.refresh();
        for (host, expires) in &self.seen.borrow().certs {
            into.entry(&host.to_ascii_lowercase()).cert = Some(Box::new(CertSignal {
                heartbeat: None,
                days_left: days_left(*expires, now),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::days_left;

    #[test]
    fn days_round_down_and_go_negative_after_expiry() {
        let day = 86_400;
        assert_eq!(days_left(10 * day, 0), 10);
        assert_eq!(days_left(10 * day - 1, 0), 9);
        assert_eq!(days_left(10 * day, 10 * day), 0);
        assert_eq!(days_left(10 * day, 10 * day + 1), -1);
    }
}
