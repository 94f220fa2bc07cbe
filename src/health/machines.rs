//! Machine health (spec §6.2): up or down from signals koi already has, with zero
//! configuration.
//!
//! Owns the per-machine verdicts and their transitions. Signals come from [`SignalSource`]s:
//! the mDNS registry's host records today ([`super::mdns_source`]); a certmesh source (heartbeat
//! result, days to cert expiry) and a DNS source (do its names resolve) plug in through the same
//! trait once those capabilities land. Pure: it takes `now` and the signals, never reads a
//! clock, never does network I/O.
//!
//! Rules, first match wins:
//! - seen over mDNS (its host records are cached): fine; once not, it is *unseen since* the
//!   moment health noticed (or its last-seen time, if it was already gone when health started),
//!   and down once unseen for the grace (60 s by default);
//! - the certmesh heartbeat failed, or its cert has expired: down;
//! - its DNS name does not resolve: down;
//! - no mDNS presence at all (a roster member never seen): unknown.

use super::model::State;
use super::translog::Transition;
use crate::base::UnixTime;
use std::collections::BTreeMap;
use std::time::Duration;

/// Presence over mDNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    /// Its host records are cached on some link now.
    pub live: bool,
    /// When they were last received.
    pub last_seen: UnixTime,
    /// When they were first received (since they last came back).
    pub first_seen: UnixTime,
}

/// What certmesh knows of a member (to be provided by the certmesh capability).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSignal {
    /// The last heartbeat's chain validation: `Err(why)` when it failed; `None` while no
    /// heartbeat exists (certmesh heartbeats arrive with renewal).
    pub heartbeat: Option<Result<(), String>>,
    /// Whole days until its certificate expires (negative once expired).
    pub days_left: i64,
}

/// Whether a machine's DNS names resolve (to be provided by the DNS capability).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsSignal {
    /// They resolve.
    Resolves,
    /// This name does not.
    Fails(String),
}

/// Everything known about one machine; each source fills its part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    /// mDNS presence.
    pub presence: Option<Presence>,
    /// Certmesh heartbeat and expiry.
    pub cert: Option<CertSignal>,
    /// DNS resolution.
    pub dns: Option<DnsSignal>,
}

/// A provider of machine signals (mDNS today; certmesh and DNS later).
pub trait SignalSource {
    /// Adds what it knows to `into`, keyed by machine name (host name without `.local`).
    fn collect(&self, now: UnixTime, into: &mut BTreeMap<String, Signals>);
}

/// One machine's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineView {
    /// Host name without `.local`.
    pub name: String,
    /// Up, down or unknown.
    pub state: State,
    /// Why.
    pub reason: String,
    /// Last seen over mDNS.
    pub last_seen: Option<UnixTime>,
    /// Days until its cert expires, if certmesh knows it.
    pub cert_days: Option<i64>,
    /// When its state last changed.
    pub since: UnixTime,
    unseen_since: Option<UnixTime>,
}

/// The machines and their verdicts.
#[derive(Debug)]
pub struct Machines {
    grace: Duration,
    views: BTreeMap<String, MachineView>,
}

fn ago(secs: u64) -> String {
    crate::base::format_duration(Duration::from_secs(secs.max(1)))
}

impl Machines {
    /// Down after `grace` unseen.
    pub fn new(grace: Duration) -> Machines {
        Machines {
            grace,
            views: BTreeMap::new(),
        }
    }

    /// Every machine, by name.
    pub fn views(&self) -> impl Iterator<Item = &MachineView> {
        self.views.values()
    }

    /// Folds in the signals seen at `now`; returns the state changes.
    pub fn update(
        &mut self,
        now: UnixTime,
        signals: &BTreeMap<String, Signals>,
    ) -> Vec<Transition> {
        let grace = self.grace.as_secs();
        let mut out = Vec::new();
        for (name, sig) in signals {
            let fresh = !self.views.contains_key(name);
            let view = self
                .views
                .entry(name.clone())
                .or_insert_with(|| MachineView {
                    name: name.clone(),
                    state: State::Unknown,
                    reason: String::new(),
                    last_seen: None,
                    cert_days: None,
                    since: now,
                    unseen_since: None,
                });
            let was = view.state;
            view.last_seen = sig.presence.as_ref().map(|p| p.last_seen);
            view.cert_days = sig.cert.as_ref().map(|c| c.days_left);
            let (state, reason) = match &sig.presence {
                Some(p) if p.live => {
                    view.unseen_since = None;
                    let reason = if was == State::Down {
                        "mDNS: rediscovered"
                    } else {
                        "mDNS: seen"
                    };
                    (State::Up, reason.to_string())
                }
                Some(p) => {
                    let since = *view.unseen_since.get_or_insert(if fresh {
                        p.last_seen.min(now)
                    } else {
                        now
                    });
                    if now.saturating_sub(since) >= grace {
                        let unseen = now.saturating_sub(p.last_seen);
                        (State::Down, format!("mDNS: not seen for {}", ago(unseen)))
                    } else {
                        (was, view.reason.clone())
                    }
                }
                None => (State::Unknown, "not seen over mDNS".to_string()),
            };
            let (state, reason) = match (&sig.cert, &sig.dns) {
                _ if state == State::Down => (state, reason),
                (Some(c), _) if matches!(c.heartbeat, Some(Err(_))) => (
                    State::Down,
                    format!(
                        "certmesh: heartbeat failed: {}",
                        c.heartbeat
                            .clone()
                            .and_then(Result::err)
                            .unwrap_or_default()
                    ),
                ),
                (Some(c), _) if c.days_left < 0 => {
                    (State::Down, "certmesh: certificate expired".to_string())
                }
                (_, Some(DnsSignal::Fails(n))) => {
                    (State::Down, format!("DNS: {n} does not resolve"))
                }
                _ => (state, reason),
            };
            if state != was {
                out.push(Transition {
                    at: now,
                    name: name.clone(),
                    from: was.as_str().to_string(),
                    to: state.as_str().to_string(),
                    reason: reason.clone(),
                });
                view.since = now;
            }
            view.state = state;
            view.reason = reason;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(live: bool, last_seen: u64) -> Signals {
        Signals {
            presence: Some(Presence {
                live,
                last_seen,
                first_seen: 0,
            }),
            ..Signals::default()
        }
    }

    fn one(name: &str, s: Signals) -> BTreeMap<String, Signals> {
        BTreeMap::from([(name.to_string(), s)])
    }

    #[test]
    fn down_only_after_the_grace_and_back_when_rediscovered() {
        let mut m = Machines::new(Duration::from_secs(60));
        let t = m.update(1000, &one("stone-09", seen(true, 1000)));
        assert_eq!((t[0].from.as_str(), t[0].to.as_str()), ("unknown", "up"));
        // Its records go at 1100: still up within the grace.
        assert!(m
            .update(1100, &one("stone-09", seen(false, 1090)))
            .is_empty());
        assert!(m
            .update(1159, &one("stone-09", seen(false, 1090)))
            .is_empty());
        let t = m.update(1160, &one("stone-09", seen(false, 1090)));
        assert_eq!(t.len(), 1);
        assert_eq!(
            (t[0].from.as_str(), t[0].to.as_str(), t[0].reason.as_str()),
            ("up", "down", "mDNS: not seen for 70s")
        );
        assert!(
            m.update(1200, &one("stone-09", seen(false, 1090)))
                .is_empty(),
            "logged once"
        );
        let t = m.update(1300, &one("stone-09", seen(true, 1300)));
        assert_eq!(
            (t[0].to.as_str(), t[0].reason.as_str()),
            ("up", "mDNS: rediscovered")
        );
    }

    #[test]
    fn a_flap_shorter_than_the_grace_is_not_a_transition() {
        let mut m = Machines::new(Duration::from_secs(60));
        m.update(0, &one("a", seen(true, 0)));
        assert!(m.update(10, &one("a", seen(false, 5))).is_empty());
        assert!(m.update(20, &one("a", seen(true, 20))).is_empty());
        // The unseen clock restarted: another 59 s gone is still within the grace.
        assert!(m.update(30, &one("a", seen(false, 20))).is_empty());
        assert!(m.update(89, &one("a", seen(false, 20))).is_empty());
    }

    #[test]
    fn long_gone_at_startup_is_down_at_once() {
        let mut m = Machines::new(Duration::from_secs(60));
        let t = m.update(10_000, &one("old", seen(false, 100)));
        assert_eq!((t[0].from.as_str(), t[0].to.as_str()), ("unknown", "down"));
    }

    #[test]
    fn certmesh_and_dns_signals_plug_in() {
        let mut m = Machines::new(Duration::from_secs(60));
        let mut s = seen(true, 0);
        s.cert = Some(CertSignal {
            heartbeat: Some(Ok(())),
            days_left: 24,
        });
        m.update(0, &one("a", s.clone()));
        assert_eq!(m.views().next().unwrap().cert_days, Some(24));
        s.cert = Some(CertSignal {
            heartbeat: Some(Err("chain does not verify".into())),
            days_left: 24,
        });
        let t = m.update(1, &one("a", s.clone()));
        assert_eq!(
            t[0].reason,
            "certmesh: heartbeat failed: chain does not verify"
        );
        s.cert = Some(CertSignal {
            heartbeat: Some(Ok(())),
            days_left: -1,
        });
        assert!(m.update(2, &one("a", s.clone())).is_empty());
        assert_eq!(
            m.views().next().unwrap().reason,
            "certmesh: certificate expired"
        );
        s.cert = None;
        s.dns = Some(DnsSignal::Fails("a.lan".into()));
        assert_eq!(m.views().next().unwrap().state, State::Down);
        m.update(3, &one("a", s.clone()));
        assert_eq!(
            m.views().next().unwrap().reason,
            "DNS: a.lan does not resolve"
        );
        s.dns = Some(DnsSignal::Resolves);
        let t = m.update(4, &one("a", s));
        assert_eq!(t[0].to, "up");
    }

    struct Fake(Vec<(&'static str, Signals)>);
    impl SignalSource for Fake {
        fn collect(&self, _now: UnixTime, into: &mut BTreeMap<String, Signals>) {
            for (n, s) in &self.0 {
                let e = into.entry(n.to_string()).or_default();
                if s.presence.is_some() {
                    e.presence = s.presence.clone();
                }
                if s.cert.is_some() {
                    e.cert = s.cert.clone();
                }
            }
        }
    }

    #[test]
    fn sources_merge_per_machine() {
        let mdns = Fake(vec![("a", seen(true, 5))]);
        let cert = Fake(vec![(
            "a",
            Signals {
                cert: Some(CertSignal {
                    heartbeat: Some(Ok(())),
                    days_left: 3,
                }),
                ..Signals::default()
            },
        )]);
        let mut all = BTreeMap::new();
        let sources: [&dyn SignalSource; 2] = [&mdns, &cert];
        for s in sources {
            s.collect(5, &mut all);
        }
        let mut m = Machines::new(Duration::from_secs(60));
        m.update(5, &all);
        let v = m.views().next().unwrap();
        assert_eq!(
            (v.state, v.cert_days, v.last_seen),
            (State::Up, Some(3), Some(5))
        );
    }
}
