//! Machine signals from koi's own DNS zone (spec §6.2 "DNS resolution"): does
//! `<machine>.<zone>` resolve right now?
//!
//! Owns only the question. It asks nothing while the resolver is stopped, and judges only
//! machines that mDNS sees live and has seen for [`SETTLE`]: a machine that just appeared may
//! not be in the zone yet, and one that just vanished is mDNS's to judge (after its grace),
//! not DNS's. It reads the zone in process and sends no query.

use super::machines::{DnsSignal, SignalMap, SignalSource};
use crate::base::UnixTime;
use crate::dns::Dns;
use koi_wire::dns::Name;

/// Seconds a machine must have been seen before a missing name counts against it.
pub const SETTLE: u64 = 5;

/// Reads the running resolver's zone.
pub struct DnsSource(pub Dns);

/// The DNS verdict for `machine` in a zone with `origin`, given what `contains` says.
pub fn verdict(machine: &str, origin: &str, contains: impl Fn(&Name) -> bool) -> Option<DnsSignal> {
    let fqdn = format!("{machine}.{}", origin.trim_end_matches('.'));
    let name = Name::from_dotted(&fqdn).ok()?;
    Some(if contains(&name) {
        DnsSignal::Resolves
    } else {
        DnsSignal::Fails(fqdn)
    })
}

impl SignalSource for DnsSource {
    fn collect(&self, now: UnixTime, into: &mut SignalMap) {
        self.0.with_zone(|zone| {
            let origin = zone.origin().to_string();
            for (machine, sig) in into.iter_mut() {
                let settled = sig
                    .presence
                    .as_ref()
                    .is_some_and(|p| p.live && now.saturating_sub(p.first_seen) >= SETTLE);
                if settled {
                    sig.dns = verdict(machine, &origin, |n| zone.contains(n));
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_in_the_zone_resolves_and_one_missing_is_named() {
        let zone = Name::from_dotted("alpha.lan").unwrap();
        let contains = |n: &Name| *n == zone;
        assert_eq!(
            verdict("alpha", "lan.", contains),
            Some(DnsSignal::Resolves)
        );
        assert_eq!(
            verdict("beta", "lan", contains),
            Some(DnsSignal::Fails("beta.lan".into()))
        );
        assert_eq!(verdict("bad..name", "lan", contains), None);
    }
}
