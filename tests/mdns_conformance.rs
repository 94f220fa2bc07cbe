//! RFC 6762 timing and addressing of a real `koi agent`, measured on the wire: the agent runs
//! in host 1 of a network-namespace test bed, services are announced with `koi mdns announce`,
//! and an observer socket (koi's own `MdnsSockets` on port 5353) in another host timestamps
//! every datagram it sees.
//!
//! - probes: three, 250 ± 25 ms apart, QU, type ANY, the proposed records in the authority
//!   section; the first announcement 250 ms after the last probe, the next ones a second apart;
//! - shared answers: 20–120 ms after the query (checked as 15–140 ms, for scheduling), and
//!   spread over that range;
//! - a 1,000 queries/s flood for one name: no record multicast twice within a second;
//! - off-link sources, multicast or unicast, get nothing; a legacy (port ≠ 5353) query gets one
//!   unicast reply, to exactly its address and port, with its ID, and nothing multicast.
//!
//! Needs root (network namespaces); skipped otherwise. The tests of this file run one at a
//! time (timing on two shared cores), each on its own bed.
#![cfg(all(feature = "mdns", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_io::{block_on, Timer};
use futures_lite::future;
use koi::mdns::json::StatusJson;
use koi::mdns::net::{links, MdnsSockets};
use koi::mdns::{Destination, Family, Link, Transmit, MDNS_V4};
use koi_wire::dns::{Class, Message, Name, Question, RData, Record, RecordType};
use socket2::{Domain, Protocol, Socket, Type};

use common::netns::{require_root, TestBed};
use common::{koi_bin, wait_until, TempDir};

/// One test at a time: the timing checks must not share two cores with a 1,000 q/s flood.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts async-io's driver thread from the root namespace, so it is not born inside a bed.
fn init_reactor() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = future::block_on(future::poll_once(Timer::after(Duration::from_secs(1))));
    });
}

fn setup(tag: &str, hosts: usize) -> Option<TestBed> {
    if !require_root() {
        return None;
    }
    init_reactor();
    Some(TestBed::new(tag, hosts))
}

fn name(s: &str) -> Name {
    Name::from_dotted(s).unwrap()
}

/// A query for `(name, type, QU)` questions with `id`.
fn query(id: u16, questions: &[(&str, RecordType, bool)]) -> Vec<u8> {
    let mut m = Message::default();
    m.header.id = id;
    for (n, t, qu) in questions {
        let mut q = Question::new(name(n), *t, Class::IN);
        q.set_unicast_response(*qu);
        m.questions.push(q);
    }
    m.encode(1440).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The agent.

/// A `koi agent` inside one host of the bed, with mDNS on its eth0.
struct NsAgent {
    child: Child,
    host: usize,
    dir: TempDir,
    _log: TempDir,
}

impl NsAgent {
    fn start(bed: &TestBed, host: usize, tag: &str) -> NsAgent {
        let dir = TempDir::new(tag);
        let log_dir = TempDir::new(&format!("{tag}-log"));
        let log = File::create(log_dir.path().join("agent.log")).unwrap();
        let hostname = format!("{tag}-h{host}");
        let child = bed
            .exec(host, koi_bin())
            .args(["agent", "--control", "127.0.0.1:0", "--state-dir"])
            .arg(dir.path())
            .args(["--interfaces", "eth0", "--hostname", &hostname])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn koi agent");
        let agent = NsAgent {
            child,
            host,
            dir,
            _log: log_dir,
        };
        let json = agent.dir.path().join("agent.json");
        let mine = format!("\"pid\":{},", agent.child.id());
        let up = wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&json).is_ok_and(|t| t.contains(&mine))
        });
        assert!(up, "agent.json never appeared");
        agent.wait_announced(bed);
        agent
    }

    /// Runs `koi ARGS --state-dir DIR` in the agent's host.
    fn koi(&self, bed: &TestBed, args: &[&str]) -> Output {
        bed.exec(self.host, koi_bin())
            .args(args)
            .arg("--state-dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run koi")
    }

    fn announce_cmd(&self, bed: &TestBed, instance: &str, ty: &str, port: u16) -> Command {
        let mut c = bed.exec(self.host, koi_bin());
        c.args(["mdns", "announce", instance, ty, &port.to_string()])
            .arg("--state-dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        c
    }

    fn announce(&self, bed: &TestBed, instance: &str, ty: &str, port: u16) {
        let out = self
            .announce_cmd(bed, instance, ty, port)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "announce {instance}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn status(&self, bed: &TestBed) -> StatusJson {
        let out = self.koi(bed, &["mdns", "status", "--json"]);
        let text = String::from_utf8_lossy(&out.stdout);
        miniserde::json::from_str(text.trim()).unwrap_or_else(|_| panic!("status: {text}"))
    }

    /// Waits until every announced service (the agent's own `_koi._tcp` included) has sent all
    /// its announcements, then one more second so no record is inside its rate-limit window.
    fn wait_announced(&self, bed: &TestBed) {
        let done = wait_until(Duration::from_secs(15), || {
            let s = self.status(bed);
            !s.announced.is_empty() && s.announced.iter().all(|a| a.state == "announced")
        });
        assert!(done, "not announced: {:?}", self.status(bed).announced);
        std::thread::sleep(Duration::from_millis(1100));
    }
}

impl Drop for NsAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The observer.

/// A datagram the observer saw, timestamped on arrival.
#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    src: SocketAddr,
    dst: IpAddr,
    msg: Message,
}

/// koi's mDNS sockets in one host, joined on its eth0, recording everything that arrives.
struct Observer {
    sockets: Arc<MdnsSockets>,
    v4: Link,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Observer {
    fn open(bed: &TestBed, host: usize) -> Observer {
        let (sockets, v4) = bed.run_in(host, || {
            let links = links(&["eth0".to_string()]).expect("links");
            let mut s = MdnsSockets::new(5353).expect("sockets");
            let failed = s.sync_links(&links);
            assert!(failed.is_empty(), "join: {failed:?}");
            let v4 = links
                .iter()
                .find(|l| l.link.family == Family::V4)
                .expect("eth0 v4")
                .link;
            (s, v4)
        });
        let sockets = Arc::new(sockets);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (sockets, seen, stop) = (sockets.clone(), seen.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 9000];
                while !stop.load(Ordering::Relaxed) {
                    let got = block_on(future::or(
                        async { Some(sockets.recv(&mut buf).await) },
                        async {
                            Timer::after(Duration::from_millis(50)).await;
                            None
                        },
                    ));
                    let Some(Ok((_, src, dst, n))) = got else {
                        continue;
                    };
                    let at = Instant::now();
                    if let Ok(msg) = Message::parse(&buf[..n]) {
                        seen.lock().unwrap().push(Seen { at, src, dst, msg });
                    }
                }
            })
        };
        Observer {
            sockets,
            v4,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// Multicasts `bytes` from port 5353 on eth0 (IPv4); returns when it left.
    fn send(&self, bytes: Vec<u8>) -> Instant {
        let t = Transmit {
            dest: Destination::Multicast(self.v4),
            bytes,
        };
        let at = Instant::now();
        block_on(self.sockets.send(&t)).expect("send");
        at
    }

    /// Everything seen so far from `ip`.
    fn from(&self, ip: IpAddr) -> Vec<Seen> {
        let seen = self.seen.lock().unwrap();
        seen.iter().filter(|s| s.src.ip() == ip).cloned().collect()
    }

    /// Responses from `ip` seen since `since`.
    fn responses(&self, ip: IpAddr, since: Instant) -> Vec<Seen> {
        let mut v = self.from(ip);
        v.retain(|s| s.msg.header.qr() && s.at >= since);
        v
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn mentions(m: &Message, n: &Name) -> bool {
    m.records().any(|r| r.name == *n)
        || m.records()
            .any(|r| matches!(&r.rdata, RData::Ptr(p) if p == n))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// Probing and announcing.

#[test]
fn probes_are_three_qu_any_queries_250ms_apart_with_authority_records() {
    let _serial = serial();
    let Some(bed) = setup("cfprobe", 2) else {
        return;
    };
    let agent = NsAgent::start(&bed, 1, "cfprobe");
    let obs = Observer::open(&bed, 2);
    agent.announce(&bed, "probe-me", "_http._tcp", 8080);
    std::thread::sleep(Duration::from_millis(300));
    let inst = name("probe-me._http._tcp.local");
    let h1 = IpAddr::V4(bed.ipv4(1));
    let seen = obs.from(h1);
    let probes: Vec<&Seen> = seen
        .iter()
        .filter(|s| !s.msg.header.qr() && s.msg.questions.iter().any(|q| q.name == inst))
        .collect();
    assert_eq!(probes.len(), 3, "probes: {probes:#?}");
    for p in &probes {
        let q = p.msg.questions.iter().find(|q| q.name == inst).unwrap();
        assert_eq!(q.qtype, RecordType::ANY, "{q:?}");
        assert!(q.unicast_response(), "probe without the QU bit: {q:?}");
        assert_eq!(p.dst, IpAddr::V4(MDNS_V4));
        let srv = p
            .msg
            .authorities
            .iter()
            .any(|r| r.name == inst && matches!(r.rdata, RData::Srv { port: 8080, .. }));
        assert!(srv, "no proposed SRV in the authority section: {:?}", p.msg);
    }
    let gaps: Vec<f64> = probes.windows(2).map(|w| ms(w[1].at - w[0].at)).collect();
    eprintln!("probe gaps (ms): {gaps:.1?}");
    for g in &gaps {
        assert!((225.0..=275.0).contains(g), "probe gap {g:.1} ms");
    }
    // Announcements: responses carrying the SRV as an answer, after the last probe.
    let last_probe = probes[2].at;
    let announcements: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.msg.header.qr() && s.at > last_probe)
        .filter(|s| {
            s.msg
                .answers
                .iter()
                .any(|r| r.name == inst && r.rtype == RecordType::SRV && r.ttl > 0)
        })
        .collect();
    assert!(
        announcements.len() >= 2,
        "announcements: {announcements:#?}"
    );
    let first = ms(announcements[0].at - last_probe);
    let gaps: Vec<f64> = announcements
        .windows(2)
        .map(|w| ms(w[1].at - w[0].at))
        .collect();
    eprintln!("first announcement {first:.1} ms after the last probe; then gaps (ms): {gaps:.1?}");
    assert!((225.0..=300.0).contains(&first), "{first:.1} ms");
    for g in &gaps {
        assert!((950.0..=1100.0).contains(g), "announcement gap {g:.1} ms");
    }
}

// ---------------------------------------------------------------------------------------------
// Shared-record answer delay.

#[test]
fn shared_answers_are_delayed_20_to_120ms_and_spread() {
    let _serial = serial();
    let Some(bed) = setup("cfdelay", 2) else {
        return;
    };
    let agent = NsAgent::start(&bed, 1, "cfdelay");
    let obs = Observer::open(&bed, 2);
    // Eight services of eight types: each PTR asked every 1.2 s, clear of the 1 s rate limit.
    const TYPES: usize = 8;
    let mut children: Vec<Child> = (0..TYPES)
        .map(|i| {
            agent
                .announce_cmd(&bed, &format!("d{i}"), &format!("_cfd{i}._tcp"), 9000)
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    agent.wait_announced(&bed);
    let h1 = IpAddr::V4(bed.ipv4(1));
    let mut asked = Vec::new();
    for i in 0..40 {
        let ty = format!("_cfd{}._tcp.local", i % TYPES);
        let at = obs.send(query(0, &[(&ty, RecordType::PTR, false)]));
        asked.push((at, name(&ty)));
        std::thread::sleep(Duration::from_millis(150));
    }
    std::thread::sleep(Duration::from_millis(500));
    let responses = obs.responses(h1, asked[0].0 - Duration::from_secs(2));
    let carries = |s: &Seen, ty: &Name| {
        s.msg
            .answers
            .iter()
            .any(|r| r.name == *ty && r.rtype == RecordType::PTR)
    };
    let mut delays = Vec::new();
    let mut rate_limited = 0;
    for (at, ty) in &asked {
        // A PTR multicast in the second before the query legitimately defers the answer.
        let recent = responses
            .iter()
            .any(|s| s.at < *at && *at - s.at < Duration::from_secs(1) && carries(s, ty));
        if recent {
            rate_limited += 1;
            continue;
        }
        let answer = responses.iter().find(|s| s.at >= *at && carries(s, ty));
        let answer = answer.unwrap_or_else(|| panic!("{ty} never answered"));
        delays.push(ms(answer.at - *at));
    }
    let mut sorted = delays.clone();
    sorted.sort_by(f64::total_cmp);
    let buckets: std::collections::BTreeSet<u64> =
        delays.iter().map(|d| (*d / 20.0) as u64).collect();
    eprintln!(
        "{} answers, {rate_limited} deferred by the rate limit: delay min {:.1} median {:.1} \
         max {:.1} ms over {} 20-ms buckets",
        delays.len(),
        sorted[0],
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
        buckets.len()
    );
    assert!(delays.len() >= 30, "only {} clean samples", delays.len());
    for d in &delays {
        assert!(
            (15.0..=140.0).contains(d),
            "answer after {d:.1} ms: {sorted:.1?}"
        );
    }
    assert!(buckets.len() >= 3, "not spread: {sorted:.1?}");
    assert!(sorted[sorted.len() - 1] - sorted[0] >= 40.0, "{sorted:.1?}");
}

// ---------------------------------------------------------------------------------------------
// Rate limit under a flood.

#[test]
fn a_thousand_queries_per_second_never_multicast_a_record_twice_a_second() {
    let _serial = serial();
    let Some(bed) = setup("cfrate", 3) else {
        return;
    };
    let agent = NsAgent::start(&bed, 1, "cfrate");
    agent.announce(&bed, "flood-me", "_http._tcp", 8081);
    agent.wait_announced(&bed);
    let obs = Observer::open(&bed, 2);
    let flooder = Observer::open(&bed, 3);
    let inst = "flood-me._http._tcp.local";
    let q = query(0, &[(inst, RecordType::ANY, false)]);
    let start = Instant::now();
    for i in 0..3000u32 {
        let due = start + Duration::from_millis(u64::from(i));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        flooder.send(q.clone());
    }
    let flood = start.elapsed();
    std::thread::sleep(Duration::from_millis(1200));
    drop(flooder);
    let h1 = IpAddr::V4(bed.ipv4(1));
    let responses = obs.responses(h1, start);
    let mut times: HashMap<String, Vec<Instant>> = HashMap::new();
    for s in responses.iter().filter(|s| s.dst.is_multicast()) {
        for r in s.msg.records().filter(|r| r.ttl > 0) {
            times.entry(key(r)).or_default().push(s.at);
        }
    }
    let inst_name = name(inst);
    let srv = responses
        .iter()
        .filter(|s| s.dst.is_multicast())
        .filter(|s| {
            s.msg
                .records()
                .any(|r| r.name == inst_name && r.rtype == RecordType::SRV)
        })
        .count();
    let mut min_gap = f64::MAX;
    for (k, v) in &times {
        for w in v.windows(2) {
            let gap = ms(w[1] - w[0]);
            min_gap = min_gap.min(gap);
            assert!(gap >= 900.0, "{k} multicast twice within {gap:.1} ms");
        }
    }
    let queries_seen = obs
        .from(IpAddr::V4(bed.ipv4(3)))
        .iter()
        .filter(|s| !s.msg.header.qr())
        .count();
    eprintln!(
        "3000 queries in {:.0} ms ({queries_seen} seen by the observer): {} responses, \
         {} distinct records, SRV multicast {srv} times, smallest gap {min_gap:.1} ms",
        ms(flood),
        responses.len(),
        times.len()
    );
    assert!(queries_seen >= 2_900, "the flood did not arrive");
    // Still answering: the SRV went out about once a second through the flood.
    assert!((2..=5).contains(&srv), "SRV multicast {srv} times");
}

/// A record's identity: name, type and data.
fn key(r: &Record) -> String {
    format!("{} {:?} {:?}", r.name, r.rtype, r.rdata)
}

// ---------------------------------------------------------------------------------------------
// Addressing: off-link sources and legacy queriers.

/// A UDP socket in `host` bound to `addr` (address reuse on), multicasting from that address.
fn bound_socket(bed: &TestBed, host: usize, addr: SocketAddr) -> UdpSocket {
    bed.run_in(host, || {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_reuse_address(true).unwrap();
        s.set_reuse_port(true).unwrap();
        s.bind(&addr.into()).unwrap();
        if let IpAddr::V4(v4) = addr.ip() {
            if !v4.is_unspecified() {
                s.set_multicast_if_v4(&v4).unwrap();
            }
        }
        s.set_multicast_loop_v4(false).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        s.into()
    })
}

/// Datagrams arriving on `s` within `limit`.
fn recv_all(s: &UdpSocket, limit: Duration) -> Vec<(SocketAddr, Message)> {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 9000];
    while Instant::now() < deadline {
        if let Ok((n, from)) = s.recv_from(&mut buf) {
            out.push((from, Message::parse(&buf[..n]).expect("a DNS reply")));
        }
    }
    out
}

fn ip(bed: &TestBed, host: usize, args: &[&str]) {
    let out = bed.exec(host, "ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn dropped(agent: &NsAgent, bed: &TestBed) -> u64 {
    agent.status(bed).counters.dropped
}

#[test]
fn off_link_sources_get_no_answer_multicast_or_unicast() {
    let _serial = serial();
    let Some(bed) = setup("cfoff", 3) else {
        return;
    };
    // Host 3 also owns 192.0.2.9/32 (outside the bed's /24); host 1 could reach it, and takes
    // what it sends (no reverse-path filter), so only koi's own rule keeps it unanswered.
    ip(&bed, 3, &["addr", "add", "192.0.2.9/32", "dev", "eth0"]);
    ip(&bed, 1, &["route", "add", "192.0.2.0/24", "dev", "eth0"]);
    let out = bed
        .exec(1, "sysctl")
        .args([
            "-qw",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.eth0.rp_filter=0",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let agent = NsAgent::start(&bed, 1, "cfoff");
    agent.announce(&bed, "off-me", "_http._tcp", 8082);
    agent.wait_announced(&bed);
    let obs = Observer::open(&bed, 2);
    let h1 = IpAddr::V4(bed.ipv4(1));
    let inst = "off-me._http._tcp.local";
    let inst_name = name(inst);
    let srv_query = |id| query(id, &[(inst, RecordType::SRV, false)]);
    let off = Ipv4Addr::new(192, 0, 2, 9);

    // Multicast from the off-link address, port 5353.
    let d0 = dropped(&agent, &bed);
    let mcast = bound_socket(&bed, 3, (off, 5353).into());
    let sent = Instant::now();
    mcast.send_to(&srv_query(0), (MDNS_V4, 5353)).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let answered = obs.responses(h1, sent);
    assert!(
        !answered.iter().any(|s| mentions(&s.msg, &inst_name)),
        "off-link multicast query answered: {answered:#?}"
    );
    let d1 = dropped(&agent, &bed);
    assert!(d1 > d0, "the off-link query never reached the agent");

    // Unicast to the agent from the off-link address, legacy port.
    let uni = bound_socket(&bed, 3, (off, 40000).into());
    let sent = Instant::now();
    uni.send_to(&srv_query(0x0bad), (bed.ipv4(1), 5353))
        .unwrap();
    let replies = recv_all(&uni, Duration::from_millis(1200));
    assert!(
        replies.is_empty(),
        "off-link unicast query answered: {replies:?}"
    );
    let answered = obs.responses(h1, sent);
    assert!(
        !answered.iter().any(|s| mentions(&s.msg, &inst_name)),
        "off-link unicast query answered by multicast: {answered:#?}"
    );
    assert!(
        dropped(&agent, &bed) > d1,
        "the unicast query never arrived"
    );

    // Controls from inside the subnet: the same unicast query gets its reply, the same
    // multicast query its answer.
    let inside = bound_socket(&bed, 3, (bed.ipv4(3), 40000).into());
    inside
        .send_to(&srv_query(0x0bad), (bed.ipv4(1), 5353))
        .unwrap();
    let replies = recv_all(&inside, Duration::from_millis(500));
    assert_eq!(replies.len(), 1, "on-link unicast query: {replies:?}");
    assert_eq!(replies[0].1.header.id, 0x0bad);
    let sent = obs.send(srv_query(0));
    let got = wait_until(Duration::from_secs(2), || {
        obs.responses(h1, sent)
            .iter()
            .any(|s| mentions(&s.msg, &inst_name))
    });
    assert!(got, "on-link multicast query not answered");
}

#[test]
fn legacy_query_gets_one_unicast_reply_to_its_port_with_its_id() {
    let _serial = serial();
    let Some(bed) = setup("cflegacy", 2) else {
        return;
    };
    let agent = NsAgent::start(&bed, 1, "cflegacy");
    agent.announce(&bed, "legacy-me", "_http._tcp", 8083);
    agent.wait_announced(&bed);
    // The observer on 5353 in the querier's own host sees the group and anything sent to
    // this host's port 5353; the legacy querier uses port 40001 of the same host.
    let obs = Observer::open(&bed, 2);
    let h1 = IpAddr::V4(bed.ipv4(1));
    let inst = "legacy-me._http._tcp.local";
    let inst_name = name(inst);
    let legacy = bound_socket(&bed, 2, (Ipv4Addr::UNSPECIFIED, 40001).into());
    for (id, to) in [
        (0xbeef, SocketAddr::from((MDNS_V4, 5353))),
        (0xcafe, SocketAddr::from((bed.ipv4(1), 5353))),
    ] {
        let q = query(id, &[(inst, RecordType::SRV, false)]);
        let asked = Message::parse(&q).unwrap().questions;
        let sent = Instant::now();
        legacy.send_to(&q, to).unwrap();
        let replies = recv_all(&legacy, Duration::from_millis(1200));
        assert_eq!(replies.len(), 1, "to {to}: {replies:?}");
        let (from, reply) = &replies[0];
        assert_eq!(*from, SocketAddr::from((bed.ipv4(1), 5353)));
        assert_eq!(reply.header.id, id);
        assert!(reply.header.qr());
        assert_eq!(reply.questions, asked, "questions not echoed");
        let srv = reply
            .answers
            .iter()
            .find(|r| r.name == inst_name && r.rtype == RecordType::SRV)
            .expect("SRV answer");
        assert!(srv.ttl <= 10, "legacy TTL {}", srv.ttl);
        assert!(reply.records().all(|r| !r.cache_flush()), "{reply:?}");
        let elsewhere = obs.responses(h1, sent);
        assert!(
            !elsewhere.iter().any(|s| mentions(&s.msg, &inst_name)),
            "legacy query (to {to}) also answered to port 5353 or the group: {elsewhere:#?}"
        );
    }
}
