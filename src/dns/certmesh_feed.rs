//! Feeds the certmesh source of the zone (spec §5.2): every active member of this CA's
//! signed roster, with the IP addresses on its certificate, as `member.<zone>`.
//!
//! Owns watching the roster file: a `stat` every [`EVERY`], a re-read (with its signature
//! checked against the CA certificate) only when it changed. It never writes certmesh state
//! and never trusts a roster whose signature fails (it logs that once per change and keeps
//! the last good members).

use super::Dns;
use crate::base::Shutdown;
use crate::certmesh::files::MeshPaths;
use crate::certmesh::roster::Roster;
use async_executor::LocalExecutor;
use async_io::Timer;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

/// How often the roster file is looked at.
pub const EVERY: Duration = Duration::from_secs(2);

/// The (host name, addresses) pairs of a roster's active members: addresses are the IP SANs
/// of each member's current certificate.
pub fn members(roster: &Roster) -> Vec<(String, Vec<IpAddr>)> {
    roster
        .members
        .iter()
        .filter(|m| m.status == "active" && !roster.is_revoked(&m.hostname))
        .map(|m| {
            let ips = m.cert_sans.iter().filter_map(|s| s.parse().ok()).collect();
            (m.hostname.clone(), ips)
        })
        .collect()
}

/// Keeps `dns`'s certmesh source in step with the roster under `paths` until `stopping`.
pub fn spawn(ex: &Rc<LocalExecutor<'static>>, dns: Dns, paths: MeshPaths, stopping: Shutdown) {
    ex.spawn(async move {
        let watch = async {
            let mut last: Option<SystemTime> = None;
            loop {
                let now = std::fs::metadata(paths.roster())
                    .and_then(|m| m.modified())
                    .ok();
                if now.is_some() && now != last {
                    last = now;
                    match paths
                        .read_ca_der()
                        .and_then(|der| Roster::load(&paths.roster(), &der))
                    {
                        Ok(r) => dns.set_certmesh_members(members(&r)),
                        Err(e) => crate::log!(Warn, "dns", "certmesh roster ignored: {e}"),
                    }
                }
                Timer::after(EVERY).await;
            }
        };
        futures_lite::future::or(watch, stopping.wait()).await;
    })
    .detach();
}
