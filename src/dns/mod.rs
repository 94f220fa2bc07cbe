//! DNS: the local resolver for the `.lan` zone (spec §5), fed by static entries, certmesh
//! members and the mDNS registry, forwarding everything else upstream.
//!
//! Layout: [`zone`] holds the records per source; [`sources`] turns certmesh members and
//! mDNS services into records; [`answer`] is the pure query handler (every protocol
//! decision); [`ratelimit`] and [`stats`] are pure too; [`forward`] asks the upstreams;
//! [`lane`] is what the listeners share across threads and the handling of one UDP datagram;
//! on Linux a worker thread per UDP socket reads, answers and sends in batches; [`server`]
//! is the executor's side (TCP, the hand-over to the forwarder); [`service`] starts and
//! stops it and keeps `dns.json`;
//! [`gateway`] is the REST API under `/v1/dns/`.
//!
//! It must never resolve a local name to a public address, never recurse for clients outside
//! its subnets, never answer a response (QR=1), never cache upstream answers, never send a UDP
//! answer over 1232 bytes, and never log a query above debug level.
//!
//! Not built, on purpose (spec §5.2, §13): DNSSEC, zone transfers, caching, recursion of our
//! own. Empty non-terminals (`_tcp.lan` when `_grafana._tcp.lan` exists) answer NODATA
//! (RFC 8020, RFC 4592 §2.2.2), never NXDOMAIN.

pub mod answer;
#[cfg(target_os = "linux")]
pub mod batch;
#[cfg(feature = "certmesh")]
pub mod certmesh_feed;
pub mod config;
pub mod fastpath;
pub mod forward;
pub mod gateway;
pub mod lane;
mod listen;
mod mdns_feed;
pub mod ratelimit;
pub mod server;
pub mod service;
pub mod sources;
pub mod stats;
#[cfg(target_os = "linux")]
mod worker;
pub mod zone;

pub use config::DnsConfig;
pub use service::{Dns, DnsError, DnsStatus};

/// Fuzz entry points; not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use super::answer::{handle, Context, Outcome};
    use super::zone::{Data, Source, Zone};
    use koi_wire::dns::{Message, Name};
    use std::net::Ipv4Addr;

    /// Runs `data` through the query handler against a small zone, over UDP and TCP, and
    /// checks that every reply parses, is a response, and fits its cap.
    pub fn dns_query(data: &[u8]) {
        let Ok(origin) = Name::from_dotted("lan") else {
            return;
        };
        let mut zone = Zone::new(origin);
        zone.edit(Source::Static, |t| {
            if let Ok(n) = Name::from_dotted("nas.lan") {
                let _ = t.add(&n, Data::A(Ipv4Addr::new(192, 168, 1, 20)));
            }
        });
        for tcp in [false, true] {
            let ctx = Context {
                tcp,
                allowed: data.first().is_some_and(|b| b & 1 == 0),
                rotate: data.len(),
            };
            match handle(&zone, data, ctx) {
                Outcome::Reply(bytes, _) => {
                    assert!(tcp || bytes.len() <= 1232, "UDP reply over 1232 bytes");
                    let m = match Message::parse(&bytes) {
                        Ok(m) => m,
                        Err(e) => panic!("our reply does not parse: {e:?}"),
                    };
                    assert!(m.header.qr(), "reply without QR");
                }
                Outcome::Drop | Outcome::Forward(..) => {}
            }
        }
        // The answer cache must give back exactly what the full path gives.
        let ctx = Context {
            tcp: false,
            allowed: true,
            rotate: 0,
        };
        if let (Some(q), Outcome::Reply(full, _)) =
            (super::fastpath::plain(data), handle(&zone, data, ctx))
        {
            let mut cache = super::fastpath::AnswerCache::default();
            cache.store(zone.serial(), data, q, &full);
            if let Some(hit) = cache.answer(zone.serial(), data, q) {
                assert_eq!(hit, full, "cached answer differs from the full path");
            }
        }
        udp_path_twice(zone, data);
    }

    /// The datagram as a UDP worker handles it (rate limiter, answer cache, full path), twice
    /// from the same client: the second answer (from the cache, if cached) is the first's.
    fn udp_path_twice(zone: Zone, data: &[u8]) {
        use super::lane::{Lane, Locked, Reader};
        use super::ratelimit::RateLimiter;
        use super::server::Acl;
        use super::stats::Stats;
        let lane = Lane {
            zone: Locked::new(zone),
            stats: Locked::new(Stats::default()),
            limiter: Locked::new(RateLimiter::new(0, 2)),
            acl: Acl {
                subnets: Vec::new(),
                loopback: true,
            },
        };
        let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 5300));
        let now = std::time::Instant::now();
        let mut reader = Reader::default();
        let zone = lane.zone.read();
        let mut answers = [Vec::new(), Vec::new()];
        for out in &mut answers {
            let _ = lane.on_datagram(&mut reader, &zone, data, peer, now, out);
            if !out.is_empty() {
                match Message::parse(out) {
                    Ok(m) => assert!(m.header.qr(), "UDP answer without QR"),
                    Err(e) => panic!("our UDP answer does not parse: {e:?}"),
                }
            }
        }
        assert_eq!(answers[0], answers[1], "the second UDP answer differs");
    }
}
