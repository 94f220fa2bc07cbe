//! Machine presence from the mDNS registry's host records (spec §6.2 "mDNS presence",
//! "last-seen timestamp").

use super::machines::{Presence, SignalMap, SignalSource};
use crate::base::UnixTime;
use crate::mdns::Mdns;

/// Reads the hosts the mDNS browser has seen.
pub struct MdnsSource(pub Mdns);

/// `stone-05.local.` → `stone-05`.
pub fn machine_name(host: &str) -> String {
    machine_label(host).to_string()
}

/// [`machine_name`], borrowed.
fn machine_label(host: &str) -> &str {
    let h = host.trim_end_matches('.');
    h.len()
        .checked_sub(6)
        .filter(|&i| h.get(i..).is_some_and(|s| s.eq_ignore_ascii_case(".local")))
        .and_then(|i| h.get(..i))
        .unwrap_or(h)
}

impl SignalSource for MdnsSource {
    fn collect(&self, _now: UnixTime, into: &mut SignalMap) {
        self.0.with_registry(|r| {
            for h in r.hosts() {
                let e = into.entry(machine_label(h.host()));
                let p = Presence {
                    live: !h.stale,
                    last_seen: h.last_seen,
                    first_seen: h.first_seen,
                };
                // The same name on two records: the livelier one wins.
                let keep = e
                    .presence
                    .as_ref()
                    .is_some_and(|o| (o.live, o.last_seen) > (p.live, p.last_seen));
                if !keep {
                    e.presence = Some(p);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_lose_their_local_suffix() {
        assert_eq!(super::machine_name("stone-05.local"), "stone-05");
        assert_eq!(super::machine_name("stone-05.LOCAL."), "stone-05");
        assert_eq!(super::machine_name("x"), "x");
    }
}
