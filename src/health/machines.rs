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
use std::borrow::Cow;
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
    /// Certmesh heartbeat and expiry (boxed: most machines mDNS sees are not members).
    pub cert: Option<Box<CertSignal>>,
    /// DNS resolution.
    pub dns: Option<DnsSignal>,
}

/// A provider of machine signals (mDNS today; certmesh and DNS later).
pub trait SignalSource {
    /// Adds what it knows to `into`, keyed by machine name (host name without `.local`).
    fn collect(&self, now: UnixTime, into: &mut SignalMap);
}

/// A machine's name: inline up to 22 bytes (most host names), else boxed.
#[derive(Debug)]
enum MachineName {
    Inline { len: u8, bytes: [u8; 22] },
    Boxed(Box<str>),
}

impl MachineName {
    fn of(name: &str) -> MachineName {
        let mut bytes = [0; 22];
        match (bytes.get_mut(..name.len()), u8::try_from(name.len())) {
            (Some(b), Ok(len)) => {
                b.copy_from_slice(name.as_bytes());
                MachineName::Inline { len, bytes }
            }
            _ => MachineName::Boxed(name.into()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            MachineName::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or(""),
            MachineName::Boxed(b) => b,
        }
    }
}

/// One machine: the signals of the round that last mentioned it, and its verdict, in about
/// 160 bytes (a name longer than 22 bytes is allocated beside): the agent keeps one for every
/// host mDNS has seen.
#[derive(Debug)]
struct Machine {
    name: MachineName,
    signals: Signals,
    /// A source mentioned it this round.
    mentioned: bool,
    /// It has a verdict (some round mentioned it and judged it).
    judged: bool,
    state: State,
    reason: Cow<'static, str>,
    /// When its state last changed.
    since: UnixTime,
    unseen_since: Option<UnixTime>,
}

/// Every machine by name, with the signals sources give it in a round. Kept from round to
/// round (the agent ticks every second), so a round allocates nothing for the machines it
/// already knows, and the signals and the verdict of a machine share one slot.
#[derive(Debug, Default)]
pub struct SignalMap {
    /// Sorted by name.
    machines: Vec<Machine>,
}

impl SignalMap {
    /// Starts a round: no machine is mentioned yet.
    fn begin(&mut self) {
        for m in &mut self.machines {
            m.mentioned = false;
        }
    }

    /// The signals of `name` this round (cleared at its first mention in the round; added if
    /// new).
    pub fn entry(&mut self, name: &str) -> &mut Signals {
        let at = match self
            .machines
            .binary_search_by(|m| m.name.as_str().cmp(name))
        {
            Ok(at) => at,
            Err(at) => {
                let m = Machine {
                    name: MachineName::of(name),
                    signals: Signals::default(),
                    mentioned: false,
                    judged: false,
                    state: State::Unknown,
                    reason: Cow::Borrowed(""),
                    since: 0,
                    unseen_since: None,
                };
                self.machines.insert(at, m);
                at
            }
        };
        let m = &mut self.machines[at];
        if !m.mentioned {
            m.mentioned = true;
            m.signals = Signals::default();
        }
        &mut m.signals
    }

    /// The machines mentioned this round, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Signals)> {
        self.machines
            .iter()
            .filter(|m| m.mentioned)
            .map(|m| (m.name.as_str(), &m.signals))
    }

    /// The same, to add to their signals.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Signals)> {
        self.machines
            .iter_mut()
            .filter(|m| m.mentioned)
            .map(|m| (m.name.as_str(), &mut m.signals))
    }
}

/// One machine's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineView {
    /// Host name without `.local`.
    pub name: String,
    /// Up, down or unknown.
    pub state: State,
    /// Why.
    pub reason: Cow<'static, str>,
    /// Last seen over mDNS.
    pub last_seen: Option<UnixTime>,
    /// Days until its cert expires, if certmesh knows it.
    pub cert_days: Option<i64>,
    /// When its state last changed.
    pub since: UnixTime,
}

/// Machines kept at most (the mDNS registry's default bound). Past it, the machines no source
/// mentions any more go first, the longest unchanged first, so a network that renames its
/// hosts all day cannot grow the list without end.
pub const MAX_MACHINES: usize = 4096;

/// The machines and their verdicts.
#[derive(Debug)]
pub struct Machines {
    grace: Duration,
    map: SignalMap,
}

fn ago(secs: u64) -> String {
    crate::base::format_duration(Duration::from_secs(secs.max(1)))
}

impl Machines {
    /// Down after `grace` unseen.
    pub fn new(grace: Duration) -> Machines {
        Machines {
            grace,
            map: SignalMap::default(),
        }
    }

    /// Every machine, by name.
    pub fn views(&self) -> impl Iterator<Item = MachineView> + '_ {
        self.map
            .machines
            .iter()
            .filter(|m| m.judged)
            .map(|m| MachineView {
                name: m.name.as_str().to_string(),
                state: m.state,
                reason: m.reason.clone(),
                last_seen: m.signals.presence.as_ref().map(|p| p.last_seen),
                cert_days: m.signals.cert.as_ref().map(|c| c.days_left),
                since: m.since,
            })
    }

    /// One round at `now`: `fill` gives the signals (every source's
    /// [`SignalSource::collect`]), and the machines it mentioned are judged; returns the
    /// state changes.
    pub fn round(&mut self, now: UnixTime, fill: impl FnOnce(&mut SignalMap)) -> Vec<Transition> {
        self.map.begin();
        fill(&mut self.map);
        let grace = self.grace.as_secs();
        let mut out = Vec::new();
        for m in self.map.machines.iter_mut().filter(|m| m.mentioned) {
            let fresh = !m.judged;
            if fresh {
                m.judged = true;
                m.since = now;
            }
            if let Some(t) = judge(m, now, grace, fresh) {
                out.push(t);
            }
        }
        self.map.forget_over(MAX_MACHINES);
        out
    }
}

impl SignalMap {
    /// Drops unmentioned machines, oldest verdict first, until at most `max` remain (the
    /// ones mentioned this round always stay).
    fn forget_over(&mut self, max: usize) {
        let excess = self.machines.len().saturating_sub(max);
        if excess == 0 {
            return;
        }
        let mut gone: Vec<(UnixTime, usize)> = (self.machines.iter().enumerate())
            .filter(|(_, m)| !m.mentioned)
            .map(|(i, m)| (m.since, i))
            .collect();
        gone.sort_unstable();
        gone.truncate(excess);
        let mut drop = vec![false; self.machines.len()];
        for (_, i) in gone {
            drop[i] = true;
        }
        let mut i = 0;
        self.machines.retain(|_| {
            i += 1;
            !drop[i - 1]
        });
    }
}

/// A machine's verdict from its signals; the transition if its state changed.
fn judge(m: &mut Machine, now: UnixTime, grace: u64, fresh: bool) -> Option<Transition> {
    let was = m.state;
    let sig = &m.signals;
    let (state, reason) = match &sig.presence {
        Some(p) if p.live => {
            m.unseen_since = None;
            let reason = if was == State::Down {
                "mDNS: rediscovered"
            } else {
                "mDNS: seen"
            };
            (State::Up, Cow::Borrowed(reason))
        }
        Some(p) => {
            let since =
                *m.unseen_since
                    .get_or_insert(if fresh { p.last_seen.min(now) } else { now });
            if now.saturating_sub(since) >= grace {
                let unseen = now.saturating_sub(p.last_seen);
                let why = format!("mDNS: not seen for {}", ago(unseen));
                (State::Down, Cow::Owned(why))
            } else {
                (was, std::mem::take(&mut m.reason))
            }
        }
        None => (State::Unknown, Cow::Borrowed("not seen over mDNS")),
    };
    let (state, reason) = match (&sig.cert, &sig.dns) {
        _ if state == State::Down => (state, reason),
        (Some(c), _) if matches!(c.heartbeat, Some(Err(_))) => (
            State::Down,
            Cow::Owned(format!(
                "certmesh: heartbeat failed: {}",
                c.heartbeat
                    .clone()
                    .and_then(Result::err)
                    .unwrap_or_default()
            )),
        ),
        (Some(c), _) if c.days_left < 0 => {
            (State::Down, Cow::Borrowed("certmesh: certificate expired"))
        }
        (_, Some(DnsSignal::Fails(n))) => (
            State::Down,
            Cow::Owned(format!("DNS: {n} does not resolve")),
        ),
        _ => (state, reason),
    };
    let t = (state != was).then(|| Transition {
        at: now,
        name: m.name.as_str().to_string(),
        from: was.as_str().to_string(),
        to: state.as_str().to_string(),
        reason: reason.to_string(),
    });
    if t.is_some() {
        m.since = now;
    }
    m.state = state;
    m.reason = reason;
    t
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

    fn one(name: &str, s: Signals) -> impl FnOnce(&mut SignalMap) + '_ {
        move |m| *m.entry(name) = s
    }

    #[test]
    fn down_only_after_the_grace_and_back_when_rediscovered() {
        let mut m = Machines::new(Duration::from_secs(60));
        let t = m.round(1000, one("stone-09", seen(true, 1000)));
        assert_eq!((t[0].from.as_str(), t[0].to.as_str()), ("unknown", "up"));
        // Its records go at 1100: still up within the grace.
        assert!(m.round(1100, one("stone-09", seen(false, 1090))).is_empty());
        assert!(m.round(1159, one("stone-09", seen(false, 1090))).is_empty());
        let t = m.round(1160, one("stone-09", seen(false, 1090)));
        assert_eq!(t.len(), 1);
        assert_eq!(
            (t[0].from.as_str(), t[0].to.as_str(), t[0].reason.as_str()),
            ("up", "down", "mDNS: not seen for 70s")
        );
        assert!(
            m.round(1200, one("stone-09", seen(false, 1090))).is_empty(),
            "logged once"
        );
        let t = m.round(1300, one("stone-09", seen(true, 1300)));
        assert_eq!(
            (t[0].to.as_str(), t[0].reason.as_str()),
            ("up", "mDNS: rediscovered")
        );
    }

    #[test]
    fn hosts_renamed_all_day_stay_bounded_and_the_current_ones_stay() {
        let mut m = Machines::new(Duration::from_secs(60));
        for t in 0..(MAX_MACHINES as u64 + 50) {
            m.round(t, one(&format!("dhcp-{t}"), seen(true, t)));
        }
        let names: Vec<String> = m.views().map(|v| v.name).collect();
        assert_eq!(names.len(), MAX_MACHINES);
        assert!(
            !names.contains(&"dhcp-0".to_string()),
            "the oldest went first"
        );
        assert!(names.contains(&format!("dhcp-{}", MAX_MACHINES + 49)));
        assert!(names.contains(&"dhcp-50".to_string()));
    }

    #[test]
    fn a_flap_shorter_than_the_grace_is_not_a_transition() {
        let mut m = Machines::new(Duration::from_secs(60));
        m.round(0, one("a", seen(true, 0)));
        assert!(m.round(10, one("a", seen(false, 5))).is_empty());
        assert!(m.round(20, one("a", seen(true, 20))).is_empty());
        // The unseen clock restarted: another 59 s gone is still within the grace.
        assert!(m.round(30, one("a", seen(false, 20))).is_empty());
        assert!(m.round(89, one("a", seen(false, 20))).is_empty());
    }

    #[test]
    fn long_gone_at_startup_is_down_at_once() {
        let mut m = Machines::new(Duration::from_secs(60));
        let t = m.round(10_000, one("old", seen(false, 100)));
        assert_eq!((t[0].from.as_str(), t[0].to.as_str()), ("unknown", "down"));
    }

    #[test]
    fn certmesh_and_dns_signals_plug_in() {
        let mut m = Machines::new(Duration::from_secs(60));
        let mut s = seen(true, 0);
        s.cert = Some(Box::new(CertSignal {
            heartbeat: Some(Ok(())),
            days_left: 24,
        }));
        m.round(0, one("a", s.clone()));
        assert_eq!(m.views().next().unwrap().cert_days, Some(24));
        s.cert = Some(Box::new(CertSignal {
            heartbeat: Some(Err("chain does not verify".into())),
            days_left: 24,
        }));
        let t = m.round(1, one("a", s.clone()));
        assert_eq!(
            t[0].reason,
            "certmesh: heartbeat failed: chain does not verify"
        );
        s.cert = Some(Box::new(CertSignal {
            heartbeat: Some(Ok(())),
            days_left: -1,
        }));
        assert!(m.round(2, one("a", s.clone())).is_empty());
        assert_eq!(
            m.views().next().unwrap().reason,
            "certmesh: certificate expired"
        );
        s.cert = None;
        s.dns = Some(DnsSignal::Fails("a.lan".into()));
        assert_eq!(m.views().next().unwrap().state, State::Down);
        m.round(3, one("a", s.clone()));
        assert_eq!(
            m.views().next().unwrap().reason,
            "DNS: a.lan does not resolve"
        );
        s.dns = Some(DnsSignal::Resolves);
        let t = m.round(4, one("a", s));
        assert_eq!(t[0].to, "up");
    }

    struct Fake(Vec<(&'static str, Signals)>);
    impl SignalSource for Fake {
        fn collect(&self, _now: UnixTime, into: &mut SignalMap) {
            for (n, s) in &self.0 {
                let e = into.entry(n);
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
                cert: Some(Box::new(CertSignal {
                    heartbeat: Some(Ok(())),
                    days_left: 3,
                })),
                ..Signals::default()
            },
        )]);
        let sources: [&dyn SignalSource; 2] = [&mdns, &cert];
        let mut m = Machines::new(Duration::from_secs(60));
        m.round(5, |all| {
            for s in sources {
                s.collect(5, all);
            }
        });
        let v = m.views().next().unwrap();
        assert_eq!(
            (v.state, v.cert_days, v.last_seen),
            (State::Up, Some(3), Some(5))
        );
    }

    #[test]
    fn heap_per_1000_machines_seen_over_mdns() {
        // The agent ticks every second with one machine per host mDNS has seen.
        use crate::base::counting_alloc::live;
        let names: Vec<String> = (0..2_000).map(|i| format!("bench-{i}")).collect();
        let base = live();
        let mut m = Machines::new(Duration::from_secs(60));
        for now in 0..3 {
            let _ = m.round(now, |signals| {
                for n in &names {
                    signals.entry(n).presence = Some(Presence {
                        live: true,
                        last_seen: now,
                        first_seen: 0,
                    });
                }
            });
        }
        let per_1000 = (live() - base) / 2;
        eprintln!("health heap per 1000 machines: {} KiB", per_1000 >> 10);
        assert_eq!(m.views().count(), 2_000);
        let long = "a-machine-name-longer-than-22-bytes";
        m.round(9, one(long, Signals::default()));
        assert!(m
            .views()
            .any(|v| v.name == long && v.state == State::Unknown));
        // 136 KiB: the name (inline), the signals and the verdict in one slot (it was a map of
        // signals rebuilt every tick beside a map of views: about 360 KiB of the agent's RSS).
        assert!(per_1000 <= 145 << 10, "{} KiB per 1000", per_1000 >> 10);
    }
}
