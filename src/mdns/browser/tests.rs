//! Browser tests on a simulated clock: a base `Instant` plus offsets, a fixed seed, no sleeps.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use koi_wire::dns::{Class, Header, Message, Name, RData, Record, RecordType};

use super::*;
use crate::mdns::{Family, IfAddr, MAX_DATAGRAM, MDNS_V4};

const V4: Link = Link {
    ifindex: 2,
    family: Family::V4,
};
const V6: Link = Link {
    ifindex: 2,
    family: Family::V6,
};
const PEER: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 50);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x50);

fn info(link: Link) -> LinkInfo {
    let addr = match link.family {
        Family::V4 => IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2)),
        Family::V6 => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2)),
    };
    let prefix_len = if link.family == Family::V4 { 24 } else { 64 };
    LinkInfo {
        link,
        name: "eth0".into(),
        addrs: vec![IfAddr { addr, prefix_len }],
    }
}

fn name(s: &str) -> Name {
    Name::from_dotted(s).unwrap()
}

fn http() -> ServiceType {
    ServiceType::parse("_http._tcp").unwrap()
}

fn rec(owner: &str, rdata: RData, ttl: u32) -> Record {
    Record::new(name(owner), rdata.rtype().unwrap(), Class::IN, ttl, rdata)
}

fn ptr(ty: &str, target: &str, ttl: u32) -> Record {
    rec(ty, RData::Ptr(name(target)), ttl)
}

fn srv(owner: &str, port: u16, target: &str, ttl: u32) -> Record {
    let rdata = RData::Srv {
        priority: 0,
        weight: 0,
        port,
        target: name(target),
    };
    rec(owner, rdata, ttl)
}

fn txt(owner: &str, s: &str, ttl: u32) -> Record {
    rec(owner, RData::Txt(vec![s.as_bytes().to_vec()]), ttl)
}

fn a(owner: &str, ip: Ipv4Addr, ttl: u32) -> Record {
    rec(owner, RData::A(ip), ttl)
}

fn flushing(mut r: Record) -> Record {
    r.set_cache_flush(true);
    r
}

fn response(answers: Vec<Record>) -> Message {
    let header = Header {
        id: 0,
        flags: Header::QR | Header::AA,
    };
    Message {
        header,
        answers,
        ..Message::default()
    }
}

/// Records of a complete `web` instance on `stone.local`.
fn web(ttl: u32) -> Vec<Record> {
    vec![
        ptr("_http._tcp.local", "web._http._tcp.local", ttl),
        srv("web._http._tcp.local", 80, "stone.local", ttl),
        txt("web._http._tcp.local", "path=/", ttl),
        a("stone.local", PEER, ttl),
    ]
}

struct Sim {
    b: Browser,
    t0: Instant,
    sent: Vec<(Duration, Transmit)>,
    events: Vec<(Duration, BrowseEvent)>,
}

impl Sim {
    fn new(seed: u64, limits: CacheLimits) -> Sim {
        let t0 = Instant::now();
        let mut b = Browser::new(Prng::new(seed), limits);
        b.set_links(t0, &[info(V4), info(V6)]);
        Sim {
            b,
            t0,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn deliver_from(&mut self, ms: u64, link: Link, src: SocketAddr, msg: &Message) {
        let bytes = msg.encode(65535).unwrap();
        let parsed = Message::parse(&bytes).unwrap();
        let dst = IpAddr::V4(MDNS_V4);
        let rx = Received {
            link,
            src,
            dst,
            bytes: &bytes,
        };
        self.b.handle(self.at(ms), &rx, &parsed);
        self.drain(ms);
    }

    fn deliver(&mut self, ms: u64, link: Link, msg: &Message) {
        let src = match link.family {
            Family::V4 => SocketAddr::new(IpAddr::V4(PEER), 5353),
            Family::V6 => SocketAddr::new(IpAddr::V6(PEER6), 5353),
        };
        self.deliver_from(ms, link, src, msg);
    }

    /// Runs every timeout up to `ms`.
    fn run_until(&mut self, ms: u64) {
        while let Some(t) = self.b.poll_timeout().filter(|t| *t <= self.at(ms)) {
            self.b.handle_timeout(t);
            self.drain(t.duration_since(self.t0).as_millis() as u64);
        }
    }

    fn drain(&mut self, ms: u64) {
        let d = Duration::from_millis(ms);
        while let Some(t) = self.b.poll_transmit() {
            assert!(t.bytes.len() <= MAX_DATAGRAM);
            self.sent.push((d, t));
        }
        while let Some(e) = self.b.poll_event() {
            self.events.push((d, e));
        }
    }

    /// Times of sent datagrams asking `qname`/`qtype` (on the IPv4 link only).
    fn asked(&self, qname: &str, qtype: RecordType) -> Vec<Duration> {
        let n = name(qname);
        let asks = |t: &Transmit| {
            let m = Message::parse(&t.bytes).unwrap();
            t.dest == Destination::Multicast(V4)
                && m.questions.iter().any(|q| q.name == n && q.qtype == qtype)
        };
        self.sent
            .iter()
            .filter(|(_, t)| asks(t))
            .map(|(d, _)| *d)
            .collect()
    }
}

#[test]
fn first_query_delay_20_to_120ms() {
    let (mut lo, mut hi) = (Duration::MAX, Duration::ZERO);
    for seed in 1..300 {
        let mut s = Sim::new(seed, CacheLimits::default());
        s.b.browse(s.t0, http());
        let first = s.b.poll_timeout().unwrap().duration_since(s.t0);
        assert!((20..=120).contains(&first.as_millis()), "{first:?}");
        (lo, hi) = (lo.min(first), hi.max(first));
        s.run_until(1000);
        assert_eq!(s.sent.len(), 2, "one query per link");
        assert_eq!(s.sent[0].0, first);
        for (d, t) in &s.sent {
            assert!((20..=120).contains(&d.as_millis()), "{d:?}");
            let m = Message::parse(&t.bytes).unwrap();
            assert!(!m.header.qr() && !m.header.tc());
            let q = &m.questions[0];
            assert_eq!(
                (q.name.to_string().as_str(), q.qtype),
                ("_http._tcp.local", RecordType::PTR)
            );
            assert!(!q.unicast_response());
            assert!(matches!(t.dest, Destination::Multicast(_)));
        }
    }
    assert!(lo < Duration::from_millis(30) && hi > Duration::from_millis(110));
}

#[test]
fn backoff_doubles_from_1s_to_60min() {
    let mut s = Sim::new(7, CacheLimits::default());
    s.b.browse(s.t0, http());
    s.run_until(5 * 3600 * 1000);
    let times = s.asked("_http._tcp.local", RecordType::PTR);
    let gaps: Vec<u64> = times.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    let mut want: Vec<u64> = (0..12).map(|i| 1 << i).collect();
    want.extend([3600, 3600]);
    assert_eq!(gaps[..14], want[..]);
}

#[test]
fn known_answers_included_and_split() {
    let mut s = Sim::new(3, CacheLimits::default());
    let long = "x".repeat(50);
    let ptrs: Vec<Record> = (0..200)
        .map(|i| {
            ptr(
                "_http._tcp.local",
                &format!("{long}{i}._http._tcp.local"),
                4500,
            )
        })
        .collect();
    s.deliver(0, V4, &response(ptrs));
    s.b.browse(s.at(0), http());
    s.run_until(200);
    let query_at = s.asked("_http._tcp.local", RecordType::PTR)[0];
    let burst: Vec<Message> = s
        .sent
        .iter()
        .filter(|(d, t)| *d == query_at && t.dest == Destination::Multicast(V4))
        .map(|(_, t)| Message::parse(&t.bytes).unwrap())
        .collect();
    assert!(burst.len() > 2, "200 known answers need several datagrams");
    let known: usize = burst.iter().map(|m| m.answers.len()).sum();
    assert_eq!(known, 200);
    let (last, rest) = burst.split_last().unwrap();
    assert!(rest.iter().all(|m| m.header.tc()) && !last.header.tc());
    assert!(burst
        .iter()
        .flat_map(|m| &m.answers)
        .all(|r| r.ttl > 2250 && r.ttl <= 4500));
    // Known answers need more than half their TTL left.
    let mut c = Cache::new(CacheLimits::default());
    let mut prng = Prng::new(1);
    c.insert(s.t0, &mut prng, V4, &a("h.local", PEER, 100));
    let known = |c: &Cache, secs| {
        c.known_answers(
            s.t0 + Duration::from_secs(secs),
            V4,
            &name("h.local"),
            RecordType::A,
        )
        .len()
    };
    assert_eq!((known(&c, 49), known(&c, 51)), (1, 0));
}

#[test]
fn resolves_ptr_srv_txt_a_aaaa_into_an_instance() {
    let mut s = Sim::new(5, CacheLimits::default());
    s.b.browse(s.t0, http());
    s.deliver(
        10,
        V4,
        &response(vec![ptr("_http._tcp.local", "web._http._tcp.local", 4500)]),
    );
    s.run_until(200);
    assert!(!s.asked("web._http._tcp.local", RecordType::SRV).is_empty());
    assert!(!s.asked("web._http._tcp.local", RecordType::TXT).is_empty());
    let r = vec![
        srv("web._http._tcp.local", 8080, "stone.local", 4500),
        txt("web._http._tcp.local", "path=/", 4500),
    ];
    s.deliver(300, V4, &response(r));
    s.run_until(600);
    assert!(!s.asked("stone.local", RecordType::A).is_empty());
    assert!(!s.asked("stone.local", RecordType::AAAA).is_empty());
    assert!(
        s.events.is_empty(),
        "not found before an address: {:?}",
        s.events
    );
    s.deliver(700, V4, &response(vec![a("stone.local", PEER, 120)]));
    s.deliver(
        710,
        V6,
        &response(vec![rec("stone.local", RData::Aaaa(PEER6), 120)]),
    );
    let service = |addrs: &[IpAddr]| {
        ServiceInstance::new("web", http(), "stone.local", 8080, addrs, [b"path=/"], 2)
    };
    let found = service(&[IpAddr::V4(PEER)]);
    assert_eq!(s.events[0].1, BrowseEvent::Found(found.clone()));
    let both = service(&[IpAddr::V4(PEER), IpAddr::V6(PEER6)]);
    assert!(s
        .events
        .iter()
        .any(|(_, e)| *e == BrowseEvent::Updated(both.clone())));
    assert_eq!(s.b.services(), vec![both]);
    assert!(s.events.iter().any(|(_, e)| matches!(e, BrowseEvent::HostSeen { host, link, .. } if host == "stone.local" && *link == V6)));
}

fn removed_at(s: &Sim) -> Option<Duration> {
    s.events
        .iter()
        .find(|(_, e)| matches!(e, BrowseEvent::Removed { .. }))
        .map(|(d, _)| *d)
}

#[test]
fn goodbye_removes_within_1s() {
    let mut s = Sim::new(9, CacheLimits::default());
    s.b.browse(s.t0, http());
    s.deliver(10, V4, &response(web(4500)));
    assert!(matches!(s.events[0].1, BrowseEvent::Found(_)));
    s.deliver(
        5000,
        V4,
        &response(vec![ptr("_http._tcp.local", "web._http._tcp.local", 0)]),
    );
    s.run_until(7000);
    let at = removed_at(&s).unwrap();
    assert!(
        at > Duration::from_millis(5000) && at <= Duration::from_millis(6000),
        "{at:?}"
    );
    assert!(s.b.services().is_empty());
}

#[test]
fn cache_flush_expires_older_records_in_1s() {
    let mut s = Sim::new(11, CacheLimits::default());
    s.b.browse(s.t0, http());
    s.deliver(0, V4, &response(web(4500)));
    let other = Ipv4Addr::new(192, 168, 1, 51);
    s.deliver(4500, V4, &response(vec![a("stone.local", other, 120)]));
    let newest = Ipv4Addr::new(192, 168, 1, 52);
    let moved = vec![
        flushing(srv("web._http._tcp.local", 8080, "stone.local", 4500)),
        flushing(a("stone.local", newest, 120)),
    ];
    s.deliver(5000, V4, &response(moved));
    let port = |s: &Sim| s.b.services()[0].port();
    assert_eq!(port(&s), 8080, "the flushed SRV no longer counts");
    let before = s.b.cache_len();
    s.run_until(5999);
    assert_eq!(s.b.cache_len(), before);
    s.run_until(6000);
    assert_eq!(
        s.b.cache_len(),
        before - 2,
        "old SRV and the A from t=0 are gone"
    );
    let addrs: Vec<IpAddr> = s.b.services()[0].addrs().collect();
    assert_eq!(
        addrs,
        vec![IpAddr::V4(other), IpAddr::V4(newest)],
        "the A from 0.5 s earlier stays"
    );
}

#[test]
fn ttl_expiry_removes_service() {
    let mut s = Sim::new(13, CacheLimits::default());
    s.b.browse(s.t0, http());
    s.deliver(0, V4, &response(web(10)));
    s.run_until(9_999);
    assert!(removed_at(&s).is_none());
    s.run_until(10_000);
    assert_eq!(removed_at(&s), Some(Duration::from_secs(10)));
    assert_eq!(s.b.cache_len(), 0);
}

#[test]
fn records_heard_again_live_a_full_ttl_from_the_last_copy() {
    // Announcements and answers to other hosts' queries repeat every record; each copy
    // restarts its TTL and its refresh points (RFC 6762 §5.2, §10).
    let mut s = Sim::new(19, CacheLimits::default());
    s.b.browse(s.t0, http());
    for ms in [0, 1000, 2000, 3000, 4000, 5000] {
        s.deliver(ms, V4, &response(web(120)));
    }
    assert_eq!(
        s.b.cache.timer_count(),
        s.b.cache.group_count(),
        "one timer per name with records"
    );
    s.run_until(5000 + 119_999);
    assert_eq!(removed_at(&s), None);
    let asked = s.asked("web._http._tcp.local", RecordType::SRV);
    assert_eq!(
        asked.len(),
        4,
        "refreshed at 80-95 % after the last copy: {asked:?}"
    );
    assert!(
        asked[0] >= Duration::from_millis(5000 + 96_000),
        "{asked:?}"
    );
    s.run_until(5000 + 120_000);
    assert_eq!(removed_at(&s), Some(Duration::from_secs(125)));
}

#[test]
fn refresh_queries_at_80_percent() {
    let mut s = Sim::new(17, CacheLimits::default());
    s.b.browse(s.t0, http());
    let mut records = web(100);
    records.push(a("unrelated.local", PEER, 100));
    s.deliver(0, V4, &response(records));
    s.run_until(99_000);
    for (owner, ty) in [
        ("web._http._tcp.local", RecordType::SRV),
        ("web._http._tcp.local", RecordType::TXT),
        ("stone.local", RecordType::A),
    ] {
        let times = s.asked(owner, ty);
        assert_eq!(times.len(), 4, "{owner} {ty}: {times:?}");
        for (t, pct) in times.iter().zip([80, 85, 90, 95]) {
            assert!(
                (pct * 1000..=(pct + 2) * 1000).contains(&(t.as_millis() as u64)),
                "{owner} {ty} at {t:?}"
            );
        }
    }
    assert!(s.asked("unrelated.local", RecordType::A).is_empty());
}

#[test]
fn services_dns_sd_enumeration_browses_each_type() {
    let mut s = Sim::new(19, CacheLimits::default());
    s.b.browse_all(s.t0);
    s.run_until(200);
    assert_eq!(
        s.asked("_services._dns-sd._udp.local", RecordType::PTR)
            .len(),
        1
    );
    let types = vec![
        ptr("_services._dns-sd._udp.local", "_http._tcp.local", 4500),
        ptr("_services._dns-sd._udp.local", "_ipp._tcp.local", 4500),
    ];
    s.deliver(300, V4, &response(types));
    s.run_until(600);
    assert!(!s.asked("_http._tcp.local", RecordType::PTR).is_empty());
    assert!(!s.asked("_ipp._tcp.local", RecordType::PTR).is_empty());
    s.deliver(700, V4, &response(web(4500)));
    let printer = vec![
        ptr("_ipp._tcp.local", "printer._ipp._tcp.local", 4500),
        srv("printer._ipp._tcp.local", 631, "paper.local", 4500),
        a("paper.local", Ipv4Addr::new(192, 168, 1, 60), 120),
    ];
    s.deliver(710, V4, &response(printer));
    let found: Vec<String> =
        s.b.services()
            .iter()
            .map(|i| format!("{}.{}", i.instance(), i.service_type()))
            .collect();
    assert_eq!(found, ["web._http._tcp", "printer._ipp._tcp"]);
}

#[test]
fn flood_of_10000_names_stays_bounded() {
    let limits = CacheLimits {
        max_records: 4000,
        max_instances: 500,
        ..CacheLimits::default()
    };
    let mut s = Sim::new(23, limits);
    s.b.browse(s.t0, http());
    let mut peak = 0;
    // Three new names per step: 10,002 in all.
    for chunk in 0..334u64 {
        let mut records = Vec::new();
        for i in chunk * 10..chunk * 10 + 10 {
            let inst = format!("i{i}._http._tcp.local");
            let host = format!("h{i}.local");
            records.push(ptr("_http._tcp.local", &inst, 4500));
            records.push(srv(&inst, 80, &host, 4500));
            records.push(a(&host, PEER, 120));
            records.push(rec(
                &format!("n{i}.local"),
                RData::Txt(vec![vec![b'x'; 200]]),
                4500,
            ));
        }
        s.deliver(chunk, V4, &response(records));
        peak = peak.max(s.b.cache_len());
        assert!(s.b.cache.bytes() <= limits.max_bytes);
        assert!(s.b.instances.len() <= limits.max_instances);
    }
    s.run_until(2000);
    assert!(peak <= limits.max_records, "peak {peak}");
    assert_eq!(s.b.cache_len(), limits.max_records, "full, not over");
    let ptrs =
        s.b.cache
            .rrset(V4, &name("_http._tcp.local"), RecordType::PTR)
            .count();
    assert!(ptrs <= limits.max_per_name);
    assert!(s.b.services().len() <= limits.max_instances);
}

#[test]
fn responses_with_errors_are_ignored() {
    let mut s = Sim::new(29, CacheLimits::default());
    s.b.browse(s.t0, http());
    let mut nx = response(web(4500));
    nx.header.set_rcode(koi_wire::dns::Rcode::NXDOMAIN);
    s.deliver(0, V4, &nx);
    let mut update = response(web(4500));
    update.header.set_opcode(Opcode::UPDATE);
    s.deliver(0, V4, &update);
    let mut query = response(web(4500));
    query.header.set(Header::QR, false);
    s.deliver(0, V4, &query);
    let legacy = SocketAddr::new(IpAddr::V4(PEER), 40000);
    s.deliver_from(0, V4, legacy, &response(web(4500)));
    let unknown = Link {
        ifindex: 9,
        family: Family::V4,
    };
    s.deliver(0, unknown, &response(web(4500)));
    assert_eq!(s.b.cache_len(), 0);
    assert!(s.events.is_empty());
    s.deliver(0, V4, &response(web(4500)));
    assert_eq!(
        s.b.cache_len(),
        4,
        "the same records from a proper response are taken"
    );
}

#[test]
fn random_packets_never_panic() {
    let mut s = Sim::new(
        31,
        CacheLimits {
            max_records: 500,
            ..CacheLimits::default()
        },
    );
    s.b.browse(s.t0, http());
    s.b.browse_all(s.t0);
    let mut prng = Prng::new(99);
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let mut with_flush = web(4500);
    with_flush.iter_mut().for_each(|r| r.set_cache_flush(true));
    for m in [response(web(4500)), response(web(0)), response(with_flush)] {
        seeds.push(m.encode(MAX_DATAGRAM).unwrap());
    }
    let mut query = Message::default();
    query.questions.push(koi_wire::dns::Question::new(
        name("_http._tcp.local"),
        RecordType::PTR,
        Class::IN,
    ));
    query.answers = web(4500);
    seeds.push(query.encode(MAX_DATAGRAM).unwrap());
    let mut ms = 0;
    for i in 0..10_000u64 {
        let mut bytes = seeds[(i % 4) as usize].clone();
        match prng.range(0, 3) {
            0 => {
                bytes = (0..prng.range(0, 300))
                    .map(|_| prng.next_u64() as u8)
                    .collect()
            }
            1 => bytes.truncate(prng.range(0, bytes.len() as u64) as usize),
            _ => {
                for _ in 0..prng.range(1, 8) {
                    let at = prng.range(0, bytes.len() as u64 - 1) as usize;
                    bytes[at] = prng.next_u64() as u8;
                }
            }
        }
        ms += prng.range(0, 50);
        if let Ok(msg) = Message::parse(&bytes) {
            let link = if i % 2 == 0 { V4 } else { V6 };
            let src = SocketAddr::new(IpAddr::V4(PEER), 5353);
            let rx = Received {
                link,
                src,
                dst: IpAddr::V4(MDNS_V4),
                bytes: &bytes,
            };
            s.b.handle(s.at(ms), &rx, &msg);
        }
        s.run_until(ms);
        s.sent.clear();
        s.events.clear();
    }
    assert!(s.b.cache_len() <= 500);
}

#[test]
fn another_hosts_query_stands_in_for_ours() {
    let mut s = Sim::new(37, CacheLimits::default());
    s.b.browse(s.t0, http());
    s.run_until(200);
    let first = s.asked("_http._tcp.local", RecordType::PTR)[0];
    let mut query = Message::default();
    let q = koi_wire::dns::Question::new(name("_http._tcp.local"), RecordType::PTR, Class::IN);
    query.questions.push(q);
    let seen = first + Duration::from_millis(900);
    s.deliver(seen.as_millis() as u64, V4, &query);
    s.run_until(10_000);
    let times = s.asked("_http._tcp.local", RecordType::PTR);
    assert_eq!(times[1], seen + Duration::from_secs(2), "{times:?}");
}

#[test]
fn a_vanished_link_takes_its_records_and_instances() {
    let mut s = Sim::new(41, CacheLimits::default());
    s.b.browse(s.t0, http());
    s.deliver(0, V4, &response(web(4500)));
    assert_eq!(s.b.services().len(), 1);
    s.b.set_links(s.at(10), &[info(V6)]);
    s.drain(10);
    assert_eq!(s.b.cache_len(), 0);
    assert!(s.b.services().is_empty());
    assert!(removed_at(&s).is_some());
    let lost = |e: &BrowseEvent| matches!(e, BrowseEvent::HostLost { link, .. } if *link == V4);
    assert!(s.events.iter().any(|(_, e)| lost(e)));
}

#[test]
fn a_thousand_instances_of_one_type_all_resolve() {
    let mut s = Sim::new(31, CacheLimits::default());
    s.b.browse(s.t0, http());
    for chunk in 0..100u64 {
        let mut records = Vec::new();
        for i in chunk * 10..chunk * 10 + 10 {
            let inst = format!("i{i}._http._tcp.local");
            let host = format!("h{i}.local");
            records.push(ptr("_http._tcp.local", &inst, 4500));
            records.push(srv(&inst, 80, &host, 4500));
            records.push(a(&host, PEER, 120));
        }
        s.deliver(chunk, V4, &response(records));
    }
    s.run_until(2000);
    assert_eq!(s.b.services().len(), 1000);
}
