//! koi's mDNS against real peers, python-zeroconf and avahi-daemon, on network-namespace test
//! beds: what koi announces they resolve (address, port, TXT), what they announce koi finds,
//! a name clash ends with exactly one side renamed (RFC 6762 §9) and stays that way, a
//! withdrawal reaches zeroconf within a second, a `kill -9`'d announcer is forgotten by TTL,
//! and koi and avahi share one host without either renaming.
//!
//! Every multi-host scenario runs twice: over IPv4 on a bed with IPv6 disabled, and over IPv6
//! on a bed with no IPv4 address, each peer told to use that family only; every resolved
//! address is checked to be the announcer's address in that family. A run that did not use
//! the family cannot pass.
//!
//! Needs root (skipped otherwise) and the peers that tests/install-deps.sh installs. Helper
//! scripts live in tests/net/; each avahi-daemon gets its own dbus-daemon. Everything started
//! is killed when its handle drops, and the bed's namespaces go last.
#![cfg(all(feature = "mdns", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::netns::{require_root, TestBed};
use common::{koi_bin, wait_until, TempDir};
use koi::mdns::json::{AnnouncedJson, ServiceJson, StatusJson};
use miniserde::{json, Deserialize};

/// How long anything expected may take to show up.
const LIMIT: Duration = Duration::from_secs(15);
/// From `koi mdns withdraw` returning to zeroconf's Removed event, at most.
const WITHDRAW_SEEN: Duration = Duration::from_secs(1);
/// RFC 6762 §10: SRV and address records live 120 s.
const HOST_TTL: Duration = Duration::from_secs(120);
/// After a `kill -9`, every peer must have forgotten the service by then.
const EXPIRED_BY: Duration = Duration::from_secs(150);
/// How long names must stay put for "nothing flaps".
const STEADY: Duration = Duration::from_secs(8);
const HTTP: &str = "_http._tcp";

// ---------------------------------------------------------------------------------------------
// Beds and families

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fam {
    V4,
    V6,
}

impl Fam {
    fn zeroconf(self) -> &'static str {
        match self {
            Fam::V4 => "v4",
            Fam::V6 => "v6",
        }
    }

    /// (use-ipv4, use-ipv6) for avahi-daemon.
    fn avahi(self) -> (&'static str, &'static str) {
        match self {
            Fam::V4 => ("yes", "no"),
            Fam::V6 => ("no", "yes"),
        }
    }

    /// The protocol column of `avahi-browse -p`.
    fn avahi_proto(self) -> &'static str {
        match self {
            Fam::V4 => "IPv4",
            Fam::V6 => "IPv6",
        }
    }

    /// The family field of `koi mdns status --json`.
    fn koi(self) -> &'static str {
        match self {
            Fam::V4 => "ipv4",
            Fam::V6 => "ipv6",
        }
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.stdin(Stdio::null()).output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bed whose eth0s speak only `fam`: IPv6 disabled, or every IPv4 address removed.
fn setup(tag: &str, hosts: usize, fam: Option<Fam>) -> Option<TestBed> {
    if !require_root() {
        return None;
    }
    check_peers();
    let bed = TestBed::new(tag, hosts);
    for h in 1..=hosts {
        match fam {
            Some(Fam::V4) => run(bed
                .exec(h, "sysctl")
                .args(["-qw", "net.ipv6.conf.eth0.disable_ipv6=1"])),
            Some(Fam::V6) => {
                let ns = bed.name(h);
                run(Command::new("ip").args(["-n", &ns, "-4", "addr", "flush", "dev", "eth0"]));
                let _ = Command::new("ip")
                    .args(["-n", &ns, "route", "del", "224.0.0.0/4", "dev", "eth0"])
                    .stderr(Stdio::null())
                    .status();
            }
            None => {}
        }
    }
    Some(bed)
}

/// The peers are part of the test, not optional: fail loudly when they are missing.
fn check_peers() {
    for (cmd, args) in [
        ("avahi-daemon", &["--version"][..]),
        ("avahi-browse", &["--version"][..]),
        ("dbus-daemon", &["--version"][..]),
        ("python3", &["-c", "import zeroconf"][..]),
    ] {
        let ok = Command::new(cmd)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "{cmd} is missing: run tests/install-deps.sh");
    }
}

/// The address peers must resolve for host `h` in `fam`.
fn addr_of(bed: &TestBed, h: usize, fam: Fam) -> IpAddr {
    match fam {
        Fam::V4 => bed.ipv4(h).into(),
        Fam::V6 => bed.ipv6_link_local(h).into(),
    }
}

/// `10.0.0.1`, `fe80::1%eth0` or `fe80::1%2`, without the scope.
fn parse_addr(s: &str) -> IpAddr {
    let bare = s.split('%').next().unwrap_or(s);
    bare.parse()
        .unwrap_or_else(|_| panic!("{s:?} is not an address"))
}

fn script(name: &str) -> String {
    format!("{}/tests/net/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Checks `cond` every `every` until it holds (true) or `limit` passes (false).
fn poll_until(limit: Duration, every: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(every.min(end.saturating_duration_since(Instant::now())));
    }
}

/// Checks `cond` every 100 ms for all of `span`; false as soon as it fails.
fn holds_for(span: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + span;
    while Instant::now() < end {
        if !cond() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cond()
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A process inside the bed; its stdout and stderr lines are kept with their arrival times.
/// Killed on drop.
struct Proc {
    what: String,
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Proc {
    fn spawn(mut cmd: Command, what: &str) -> Proc {
        let mut child = cmd
            .env_remove("KOI_STATE_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let err = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        for stream in [out, err].into_iter().flatten() {
            let sink = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    sink.lock().unwrap().push((Instant::now(), line));
                }
            });
        }
        Proc {
            what: what.into(),
            child,
            lines,
        }
    }

    fn text(&self) -> String {
        let lines = self.lines.lock().unwrap();
        let all: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
        format!("{} said:\n{}", self.what, all.join("\n"))
    }

    fn count(&self, mut pred: impl FnMut(&str) -> bool) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, l)| pred(l))
            .count()
    }

    /// The first line matching `pred` within `limit`, with when it arrived.
    fn wait_line(
        &self,
        limit: Duration,
        pred: impl FnMut(&str) -> bool,
    ) -> Option<(Instant, String)> {
        self.wait_line_since(None, limit, pred)
    }

    /// Like [`Proc::wait_line`], among the lines that arrived after `since` only.
    fn wait_line_since(
        &self,
        since: Option<Instant>,
        limit: Duration,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Option<(Instant, String)> {
        let mut found = None;
        wait_until(limit, || {
            found = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .filter(|(t, _)| since.is_none_or(|s| *t > s))
                .find(|(_, l)| pred(l))
                .cloned();
            found.is_some()
        });
        found
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn output(mut cmd: Command) -> Output {
    cmd.env_remove("KOI_STATE_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run")
}

// ---------------------------------------------------------------------------------------------
// koi

/// `koi agent` in host `host`'s namespace, on eth0, with its own state dir.
struct KoiAgent {
    proc: Proc,
    dir: TempDir,
    host: usize,
    control: SocketAddr,
}

#[derive(Deserialize)]
struct Services {
    services: Vec<ServiceJson>,
}

impl KoiAgent {
    fn start(bed: &TestBed, host: usize, name: &str) -> KoiAgent {
        let dir = TempDir::new(name);
        let mut cmd = bed.exec(host, koi_bin());
        cmd.args([
            "agent",
            "--control",
            "127.0.0.1:0",
            "--state-dir",
            dir.str(),
        ])
        .args(["--hostname", name, "--interfaces", "eth0"]);
        let proc = Proc::spawn(cmd, &format!("koi agent {name}"));
        let file = dir.path().join("agent.json");
        let mine = format!("\"pid\":{},", proc.child.id());
        let mut text = String::new();
        let up = wait_until(LIMIT, || {
            text = std::fs::read_to_string(&file).unwrap_or_default();
            text.contains(&mine)
        });
        assert!(up, "agent {name} never wrote agent.json: {}", proc.text());
        let control = common::json_field(&text, "control").parse().unwrap();
        KoiAgent {
            proc,
            dir,
            host,
            control,
        }
    }

    /// `koi ARGS --state-dir DIR` in the agent's namespace.
    fn cli(&self, bed: &TestBed, args: &[&str]) -> Output {
        let mut cmd = bed.exec(self.host, koi_bin());
        cmd.args(args).args(["--state-dir", self.dir.str()]);
        output(cmd)
    }

    fn status(&self, bed: &TestBed) -> StatusJson {
        let out = self.cli(bed, &["mdns", "status", "--json"]);
        let text = String::from_utf8_lossy(&out.stdout);
        json::from_str(&text).unwrap_or_else(|_| panic!("status: {text}"))
    }

    /// `koi mdns announce NAME _http._tcp PORT --txt ...`, which returns once probing is over.
    fn announce(&self, bed: &TestBed, name: &str, port: u16, txt: &[&str]) -> AnnouncedJson {
        let port = port.to_string();
        let mut args = vec!["mdns", "announce", name, HTTP, &port, "--json"];
        for t in txt {
            args.extend(["--txt", t]);
        }
        let out = self.cli(bed, &args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "announce {name}: {text}");
        json::from_str(&text).unwrap_or_else(|_| panic!("announce {name}: {text}"))
    }

    /// What `GET /v1/mdns/services?type=_http._tcp` lists.
    fn services(&self, bed: &TestBed) -> Vec<ServiceJson> {
        let path = format!("/v1/mdns/services?type={HTTP}");
        let (code, body) = bed.run_in(self.host, || {
            common::http(self.control, "GET", &path, &[], "")
        });
        assert_eq!(code, 200, "{body}");
        json::from_str::<Services>(&body)
            .unwrap_or_else(|_| panic!("services: {body}"))
            .services
    }

    /// The agent's interfaces are exactly eth0 in `fam`: nothing else was in play.
    fn assert_only(&self, bed: &TestBed, fam: Fam) {
        let s = self.status(bed);
        let families: Vec<(&str, &str)> = s
            .interfaces
            .iter()
            .map(|i| (i.name.as_str(), i.family.as_str()))
            .collect();
        assert_eq!(families, [("eth0", fam.koi())], "koi uses {families:?}");
    }
}

/// `koi mdns discover _http._tcp --json --timeout SECS` in host `h`, no agent there.
fn discover_alone(bed: &TestBed, h: usize, secs: u64) -> Vec<ServiceJson> {
    let empty = TempDir::new("no-agent");
    let mut cmd = bed.exec(h, koi_bin());
    let secs = secs.to_string();
    cmd.args(["mdns", "discover", HTTP, "--json", "--timeout", &secs])
        .args(["--state-dir", empty.str()]);
    let out = output(cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "discover: {text}");
    text.lines()
        .map(|l| json::from_str(l).unwrap_or_else(|_| panic!("discover line {l}")))
        .collect()
}

/// Checks a service as koi reports it.
fn assert_koi_sees(s: &ServiceJson, host: &str, addr: IpAddr, port: u16, txt: &str) {
    let addrs: Vec<IpAddr> = s.addresses.iter().map(|a| parse_addr(a)).collect();
    assert_eq!(
        (s.host.as_str(), addrs.as_slice(), s.port, s.txt.as_slice()),
        (host, &[addr][..], port, &[txt.to_string()][..]),
        "{} as koi sees it",
        s.instance
    );
}

// ---------------------------------------------------------------------------------------------
// avahi

/// avahi-daemon with its own dbus-daemon in host `host`'s namespace.
struct Avahi {
    daemon: Proc,
    _bus: Proc,
    dir: TempDir,
    host: usize,
}

/// One `=` line of `avahi-browse -r -p -k`.
#[derive(Clone, Debug, PartialEq)]
struct Resolved {
    proto: String,
    name: String,
    host: String,
    addr: IpAddr,
    port: u16,
    txt: String,
}

impl Avahi {
    fn start(bed: &TestBed, host: usize, name: &str, fam: Option<Fam>) -> Avahi {
        let dir = TempDir::new(name);
        let mut cmd = bed.exec(host, &script("avahi.sh"));
        cmd.args(["bus", dir.str()]);
        let bus = Proc::spawn(cmd, &format!("dbus-daemon for {name}"));
        let sock = dir.path().join("bus");
        assert!(
            wait_until(LIMIT, || sock.exists()),
            "no bus: {}",
            bus.text()
        );
        let (v4, v6) = fam.map_or(("yes", "yes"), Fam::avahi);
        let mut cmd = bed.exec(host, &script("avahi.sh"));
        cmd.args(["daemon", dir.str(), name, v4, v6]);
        let daemon = Proc::spawn(cmd, &format!("avahi-daemon {name}"));
        let up = daemon.wait_line(LIMIT, |l| l.starts_with("Server startup complete"));
        assert!(up.is_some(), "avahi did not start: {}", daemon.text());
        Avahi {
            daemon,
            _bus: bus,
            dir,
            host,
        }
    }

    fn client(&self, bed: &TestBed, args: &[&str]) -> Command {
        let mut cmd = bed.exec(self.host, &script("avahi.sh"));
        cmd.args(["run", self.dir.str()]).args(args);
        cmd
    }

    /// `avahi-publish -s NAME _http._tcp PORT TXT`, kept until dropped.
    fn publish(&self, bed: &TestBed, name: &str, port: u16, txt: &str) -> Proc {
        let port = port.to_string();
        let cmd = self.client(bed, &["avahi-publish", "-s", name, HTTP, &port, txt]);
        Proc::spawn(cmd, &format!("avahi-publish {name}"))
    }

    /// A fresh `avahi-browse -r -t -p -k _http._tcp`: what the daemon resolves now.
    fn browse(&self, bed: &TestBed) -> Vec<Resolved> {
        let args = [
            "timeout",
            "20",
            "avahi-browse",
            "-r",
            "-t",
            "-p",
            "-k",
            HTTP,
        ];
        let out = output(self.client(bed, &args));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(parse_resolved)
            .collect()
    }

    /// Polls [`Avahi::browse`] until `name` resolves in `proto`.
    fn resolve(&self, bed: &TestBed, name: &str, proto: &str) -> Resolved {
        let mut seen = Vec::new();
        let mut found = None;
        wait_until(LIMIT, || {
            seen = self.browse(bed);
            found = seen
                .iter()
                .find(|r| r.name == name && r.proto == proto)
                .cloned();
            found.is_some()
        });
        found.unwrap_or_else(|| panic!("avahi never resolved {name:?} over {proto}: {seen:?}"))
    }

    fn host_conflicts(&self) -> usize {
        self.daemon.count(|l| l.contains("Host name conflict"))
    }
}

fn parse_resolved(line: &str) -> Option<Resolved> {
    let f: Vec<&str> = line.split(';').collect();
    if f.first() != Some(&"=") || f.len() < 10 {
        return None;
    }
    Some(Resolved {
        proto: f[2].into(),
        name: avahi_unescape(f[3]),
        host: f[6].into(),
        addr: f[7].parse().ok()?,
        port: f[8].parse().ok()?,
        txt: f[9..].join(";"),
    })
}

/// avahi-browse -p writes `\DDD` (decimal) for special bytes: `clash\032\0402\041`.
fn avahi_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let code = b.get(i + 1..i + 4).and_then(|d| {
            let d = std::str::from_utf8(d).ok()?;
            d.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| d.parse::<u8>().ok())?
        });
        match (b[i], code) {
            (b'\\', Some(c)) => {
                out.push(c);
                i += 4;
            }
            (b'\\', None) if i + 1 < b.len() => {
                out.push(b[i + 1]);
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// python-zeroconf

/// One line of zc_browse.py.
#[derive(Deserialize, Debug, Clone)]
struct ZcEvent {
    event: String,
    name: Option<String>,
    addresses: Option<Vec<String>>,
    port: Option<u16>,
    server: Option<String>,
    txt: Option<BTreeMap<String, Option<String>>>,
    resolvable: Option<bool>,
}

/// zc_browse.py for `_http._tcp` in host `h`, `fam` only; `watch` follows one instance's cache.
fn zc_browse(bed: &TestBed, h: usize, fam: Fam, watch: Option<&str>) -> Proc {
    let mut cmd = bed.exec(h, "python3");
    cmd.arg(script("zc_browse.py"))
        .args(["_http._tcp.local.", fam.zeroconf()])
        .args(watch);
    let p = Proc::spawn(cmd, "zeroconf browser");
    let up = p.wait_line(LIMIT, |l| l.contains("\"started\""));
    assert!(up.is_some(), "{}", p.text());
    p
}

/// The first event matching `pred` within `limit`, with when it arrived.
fn zc_wait(
    p: &Proc,
    limit: Duration,
    pred: impl Fn(&ZcEvent) -> bool,
) -> Option<(Instant, ZcEvent)> {
    zc_wait_since(p, None, limit, pred)
}

/// Like [`zc_wait`], among the events that arrived after `since` only.
fn zc_wait_since(
    p: &Proc,
    since: Option<Instant>,
    limit: Duration,
    pred: impl Fn(&ZcEvent) -> bool,
) -> Option<(Instant, ZcEvent)> {
    let mut event = None;
    let line = p.wait_line_since(since, limit, |l| {
        event = json::from_str::<ZcEvent>(l).ok().filter(|e| pred(e));
        event.is_some()
    })?;
    Some((line.0, event?))
}

fn zc_events(p: &Proc) -> Vec<ZcEvent> {
    let lines = p.lines.lock().unwrap();
    lines
        .iter()
        .filter_map(|(_, l)| json::from_str(l).ok())
        .collect()
}

fn full(instance: &str) -> String {
    format!("{instance}.{HTTP}.local.")
}

/// Waits for zeroconf to resolve `instance` and checks what it resolved: exactly `addr`.
fn assert_zc_resolves(p: &Proc, instance: &str, server: &str, addr: IpAddr, port: u16) -> ZcEvent {
    let e = zc_resolved(p, instance);
    let addrs: Vec<IpAddr> = e
        .addresses
        .iter()
        .flatten()
        .map(|a| parse_addr(a))
        .collect();
    assert_eq!(addrs, [addr], "{instance} as zeroconf resolved it: {e:?}");
    assert_eq!(e.port, Some(port), "{e:?}");
    assert_eq!(e.server.as_deref(), Some(server), "{e:?}");
    e
}

/// The first event in which zeroconf resolved `instance`.
fn zc_resolved(p: &Proc, instance: &str) -> ZcEvent {
    let name = full(instance);
    let resolved = |e: &ZcEvent| {
        (e.event == "Added" || e.event == "Updated")
            && e.name.as_deref() == Some(name.as_str())
            && e.port.is_some()
    };
    zc_wait(p, LIMIT, resolved)
        .unwrap_or_else(|| panic!("zeroconf never resolved {name}: {}", p.text()))
        .1
}

// ---------------------------------------------------------------------------------------------
// Announce, resolve, withdraw

/// koi on h1 announces grafana; zeroconf (h2) and avahi (h3) resolve it; `withdraw` reaches
/// zeroconf within a second and avahi soon after.
fn announce_resolve_withdraw(tag: &str, fam: Fam) {
    let Some(bed) = setup(tag, 3, Some(fam)) else {
        return;
    };
    let koi = KoiAgent::start(&bed, 1, "koi-h1");
    let zc = zc_browse(&bed, 2, fam, None);
    let avahi = Avahi::start(&bed, 3, "avahi-h3", Some(fam));
    koi.assert_only(&bed, fam);
    let a = koi.announce(&bed, "grafana", 3000, &["path=/"]);
    assert_eq!(
        (a.instance.as_str(), a.state.as_str()),
        ("grafana", "announced")
    );

    let want = addr_of(&bed, 1, fam);
    let e = assert_zc_resolves(&zc, "grafana", "koi-h1.local.", want, 3000);
    let txt = BTreeMap::from([("path".to_string(), Some("/".to_string()))]);
    assert_eq!(e.txt, Some(txt), "{e:?}");

    let r = avahi.resolve(&bed, "grafana", fam.avahi_proto());
    assert_eq!(
        (r.host.as_str(), r.addr, r.port, r.txt.as_str()),
        ("koi-h1.local", want, 3000, "\"path=/\""),
        "{r:?}"
    );

    // An avahi browser that stays up, to see the goodbye too.
    let follow = Proc::spawn(
        avahi.client(&bed, &["avahi-browse", "-p", "-k", HTTP]),
        "avahi-browse",
    );
    let listed = follow.wait_line(LIMIT, |l| l.starts_with("+;") && l.contains(";grafana;"));
    assert!(listed.is_some(), "{}", follow.text());

    let out = koi.cli(&bed, &["mdns", "withdraw", "grafana"]);
    let returned = Instant::now();
    assert!(out.status.success(), "{out:?}");
    let removed = |e: &ZcEvent| e.event == "Removed" && e.name.as_deref() == Some(&full("grafana"));
    let (at, _) = zc_wait(&zc, Duration::from_secs(5), removed)
        .unwrap_or_else(|| panic!("zeroconf never saw the withdrawal: {}", zc.text()));
    let zc_latency = at.saturating_duration_since(returned);
    let gone = follow.wait_line(Duration::from_secs(5), |l| {
        l.starts_with("-;") && l.contains(";grafana;")
    });
    let avahi_latency = gone.map(|(t, _)| t.saturating_duration_since(returned));
    eprintln!(
        "{tag}: withdraw -> zeroconf Removed {zc_latency:?}, avahi removed {avahi_latency:?}"
    );
    assert!(
        zc_latency <= WITHDRAW_SEEN,
        "zeroconf saw the withdrawal {zc_latency:?} after it returned"
    );
    assert!(
        avahi_latency.is_some(),
        "avahi never saw the withdrawal: {}",
        follow.text()
    );
}

#[test]
fn announce_resolve_withdraw_over_ipv4() {
    announce_resolve_withdraw("iop-arw4", Fam::V4);
}

#[test]
fn announce_resolve_withdraw_over_ipv6() {
    announce_resolve_withdraw("iop-arw6", Fam::V6);
}

// ---------------------------------------------------------------------------------------------
// koi finds what the others announce

/// zeroconf (h1) and avahi-publish (h2) announce; koi finds both: standalone `discover` on
/// h3 and the agent on h1 (through `/v1/mdns/services`).
fn finds_zeroconf_and_avahi(tag: &str, fam: Fam) {
    let Some(bed) = setup(tag, 3, Some(fam)) else {
        return;
    };
    let (a1, a2) = (addr_of(&bed, 1, fam), addr_of(&bed, 2, fam));
    let mut cmd = bed.exec(1, "python3");
    cmd.arg(script("zc_register.py"))
        .args(["zc-web", "_http._tcp.local.", "8080", "zc-h1.local."])
        .args([fam.zeroconf(), &a1.to_string(), "path=/zc"]);
    let reg = Proc::spawn(cmd, "zeroconf register");
    let registered = reg.wait_line(LIMIT, |l| l.contains("\"registered\""));
    assert!(registered.is_some(), "{}", reg.text());
    let koi = KoiAgent::start(&bed, 1, "koi-h1");
    let avahi = Avahi::start(&bed, 2, "avahi-h2", Some(fam));
    let publish = avahi.publish(&bed, "avahi-web", 8081, "path=/avahi");
    let established =
        publish.wait_line(LIMIT, |l| l.contains("Established under name 'avahi-web'"));
    assert!(established.is_some(), "{}", publish.text());
    koi.assert_only(&bed, fam);

    let check = |list: &[ServiceJson], who: &str| {
        let find = |n: &str| {
            list.iter()
                .find(|s| s.instance == n)
                .unwrap_or_else(|| panic!("{who} did not find {n}: {list:?}"))
        };
        assert_koi_sees(find("zc-web"), "zc-h1.local", a1, 8080, "path=/zc");
        assert_koi_sees(find("avahi-web"), "avahi-h2.local", a2, 8081, "path=/avahi");
    };
    let found = discover_alone(&bed, 3, 5);
    let found: Vec<ServiceJson> = found
        .into_iter()
        .filter(|s| s.event.as_deref() == Some("found"))
        .collect();
    check(&found, "koi mdns discover");

    let mut list = Vec::new();
    wait_until(LIMIT, || {
        list = koi.services(&bed);
        ["zc-web", "avahi-web"]
            .iter()
            .all(|n| list.iter().any(|s| s.instance == *n && s.port != 0))
    });
    check(&list, "the agent");
}

#[test]
fn koi_finds_zeroconf_and_avahi_services_over_ipv4() {
    finds_zeroconf_and_avahi("iop-find4", Fam::V4);
}

#[test]
fn koi_finds_zeroconf_and_avahi_services_over_ipv6() {
    finds_zeroconf_and_avahi("iop-find6", Fam::V6);
}

// ---------------------------------------------------------------------------------------------
// Name clashes

/// avahi (h2) holds "clash" first: koi (h1) becomes "clash (2)". Both claim "both" at once:
/// exactly one side renames. Then nothing changes for a while, and zeroconf (h3) sees all four
/// names with nothing removed.
fn clash(tag: &str, fam: Fam) {
    let Some(bed) = setup(tag, 3, Some(fam)) else {
        return;
    };
    let koi = KoiAgent::start(&bed, 1, "koi-h1");
    let avahi = Avahi::start(&bed, 2, "avahi-h2", Some(fam));
    let zc = zc_browse(&bed, 3, fam, None);
    koi.assert_only(&bed, fam);

    let first = avahi.publish(&bed, "clash", 80, "by=avahi");
    let est = first.wait_line(LIMIT, |l| l.contains("Established under name 'clash'"));
    assert!(est.is_some(), "{}", first.text());
    let a = koi.announce(&bed, "clash", 3000, &["by=koi"]);
    assert_eq!(
        (
            a.instance.as_str(),
            a.renamed_from.as_deref(),
            a.state.as_str()
        ),
        ("clash (2)", Some("clash"), "announced"),
        "{a:?}"
    );

    // Both at once: start koi's announcement and avahi's as close together as we can.
    let mut cmd = bed.exec(1, koi_bin());
    cmd.args([
        "mdns", "announce", "both", HTTP, "3001", "--txt", "by=koi", "--json",
    ])
    .args(["--state-dir", koi.dir.str()]);
    let koi_both = Proc::spawn(cmd, "koi mdns announce both");
    let avahi_both = avahi.publish(&bed, "both", 81, "by=avahi");
    let koi_line = koi_both
        .wait_line(LIMIT, |l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("{}", koi_both.text()));
    let koi_both_json: AnnouncedJson = json::from_str(&koi_line.1).unwrap();
    let avahi_line = avahi_both
        .wait_line(LIMIT, |l| l.contains("Established under name"))
        .unwrap_or_else(|| panic!("{}", avahi_both.text()));
    let koi_renamed = koi_both_json.instance != "both";
    let avahi_renamed = !avahi_line.1.ends_with("'both'");
    eprintln!(
        "{tag}: simultaneous claim: koi is {:?}, avahi says {:?}",
        koi_both_json.instance, avahi_line.1
    );
    assert!(
        koi_renamed != avahi_renamed,
        "exactly one side must rename: koi {koi_both_json:?}, avahi {:?}",
        avahi_line.1
    );
    let avahi_both_name = avahi_line
        .1
        .split('\'')
        .nth(1)
        .unwrap_or_default()
        .to_string();

    // Nothing flaps: names, states and avahi's logs stay as they are.
    let expect = [
        ("clash (2)".to_string(), Some("clash".to_string())),
        (
            koi_both_json.instance.clone(),
            koi_both_json.renamed_from.clone(),
        ),
    ];
    let steady = || {
        let s = koi.status(&bed);
        let ours: Vec<(String, Option<String>)> = s
            .announced
            .iter()
            .filter(|a| a.service_type == HTTP && a.state == "announced")
            .map(|a| (a.instance.clone(), a.renamed_from.clone()))
            .collect();
        ours == expect
            && first.count(|l| l.contains("ollision")) == 0
            && avahi_both.count(|l| l.contains("ollision")) == usize::from(avahi_renamed)
            && avahi.host_conflicts() == 0
    };
    assert!(
        holds_for(STEADY, steady),
        "names changed: koi {:?}\n{}\n{}\n{}",
        koi.status(&bed).announced,
        first.text(),
        avahi_both.text(),
        avahi.daemon.text()
    );

    // Every peer sees the four names where they belong.
    let proto = fam.avahi_proto();
    let (k, v) = (addr_of(&bed, 1, fam), addr_of(&bed, 2, fam));
    let names = [
        ("clash", "avahi-h2.local", v, 80),
        ("clash (2)", "koi-h1.local", k, 3000),
        (avahi_both_name.as_str(), "avahi-h2.local", v, 81),
        (koi_both_json.instance.as_str(), "koi-h1.local", k, 3001),
    ];
    for (name, host, addr, port) in names {
        let r = avahi.resolve(&bed, name, proto);
        assert_eq!(
            (r.host.as_str(), r.addr, r.port),
            (host, addr, port),
            "{r:?}"
        );
        let zc_host = format!("{host}.");
        assert_zc_resolves(&zc, name, &zc_host, addr, port);
    }
    let removed: Vec<ZcEvent> = zc_events(&zc)
        .into_iter()
        .filter(|e| e.event == "Removed")
        .collect();
    assert!(removed.is_empty(), "zeroconf saw removals: {removed:?}");
}

#[test]
fn name_clash_with_avahi_renames_exactly_one_side_over_ipv4() {
    clash("iop-clash4", Fam::V4);
}

#[test]
fn name_clash_with_avahi_renames_exactly_one_side_over_ipv6() {
    clash("iop-clash6", Fam::V6);
}

// ---------------------------------------------------------------------------------------------
// kill -9: expiry by TTL

/// When each observer stopped resolving grafana, counted from the kill.
#[derive(Debug, Default)]
struct Expiry {
    koi: Option<Duration>,
    zeroconf: Option<Duration>,
    avahi: Option<Duration>,
}

/// koi on h1 announces grafana and is killed with SIGKILL (no goodbyes). zeroconf (h2), avahi
/// (h3) and another koi (h4) still resolve it a few seconds later, from their caches, and have
/// all dropped it by [`EXPIRED_BY`], and not before [`HOST_TTL`] after the announcer started
/// (no record of it can have been received earlier, so none can expire earlier).
fn ttl_expiry(tag: &str, fam: Fam) {
    let Some(bed) = setup(tag, 4, Some(fam)) else {
        return;
    };
    let started = Instant::now();
    let mut koi = KoiAgent::start(&bed, 1, "koi-h1");
    let zc = zc_browse(&bed, 2, fam, Some(&full("grafana")));
    let avahi = Avahi::start(&bed, 3, "avahi-h3", Some(fam));
    let observer = KoiAgent::start(&bed, 4, "koi-h4");
    koi.assert_only(&bed, fam);
    let a = koi.announce(&bed, "grafana", 3000, &["path=/"]);
    assert_eq!(a.instance, "grafana");
    let announced = Instant::now();

    let resolvable =
        |want: bool| move |e: &ZcEvent| e.event == "cache" && e.resolvable == Some(want);
    assert!(
        zc_wait(&zc, LIMIT, resolvable(true)).is_some(),
        "{}",
        zc.text()
    );
    avahi.resolve(&bed, "grafana", fam.avahi_proto());
    let koi_has = || {
        observer
            .services(&bed)
            .iter()
            .any(|s| s.instance == "grafana")
    };
    assert!(
        wait_until(LIMIT, koi_has),
        "the other koi never found grafana"
    );

    koi.proc.kill9();
    let killed = Instant::now();
    // Shortly after: everyone still has it (only their caches can answer now).
    let zc_lost = |p: &Proc| zc_wait_since(p, Some(killed), Duration::ZERO, resolvable(false));
    assert!(
        holds_for(Duration::from_secs(5), || koi_has()
            && zc_lost(&zc).is_none()),
        "gone within 5 s of the kill: koi {}, zeroconf {}",
        koi_has(),
        zc.text()
    );
    avahi.resolve(&bed, "grafana", fam.avahi_proto());

    let expiry = Mutex::new(Expiry::default());
    let left = || EXPIRED_BY.saturating_sub(killed.elapsed());
    let every = Duration::from_millis(500);
    std::thread::scope(|s| {
        s.spawn(|| {
            if poll_until(left(), every, || !koi_has()) {
                expiry.lock().unwrap().koi = Some(killed.elapsed());
            }
        });
        s.spawn(|| {
            if let Some((at, _)) = zc_wait_since(&zc, Some(killed), left(), resolvable(false)) {
                expiry.lock().unwrap().zeroconf = Some(at.saturating_duration_since(killed));
            }
        });
        s.spawn(|| {
            let gone = || !avahi.browse(&bed).iter().any(|r| r.name == "grafana");
            if poll_until(left(), every, gone) {
                expiry.lock().unwrap().avahi = Some(killed.elapsed());
            }
        });
    });
    let expiry = expiry.into_inner().unwrap();
    let (since_start, since_announce) = (killed - started, killed - announced);
    eprintln!(
        "{tag}: killed {since_start:?} after the agent started and {since_announce:?} after the announcement; gone after the kill: {expiry:?}"
    );
    let earliest = HOST_TTL.saturating_sub(since_start);
    for (who, at) in [
        ("koi", expiry.koi),
        ("zeroconf", expiry.zeroconf),
        ("avahi", expiry.avahi),
    ] {
        let at =
            at.unwrap_or_else(|| panic!("{who} still had grafana {EXPIRED_BY:?} after the kill"));
        assert!(
            at >= earliest,
            "{who} dropped grafana {at:?} after the kill: before its TTL could run out"
        );
    }
}

#[test]
fn killed_announcer_expires_by_ttl_over_ipv4_and_ipv6() {
    // Both families at once: each waits out the 120 s TTL.
    std::thread::scope(|s| {
        let v4 = s.spawn(|| ttl_expiry("iop-ttl4", Fam::V4));
        let v6 = s.spawn(|| ttl_expiry("iop-ttl6", Fam::V6));
        let (r4, r6) = (v4.join(), v6.join());
        if let Err(e) = r4.and(r6) {
            std::panic::resume_unwind(e);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// koi and avahi on one host

/// koi and avahi both on port 5353 in h1 (dual stack), in either start order: each publishes
/// and resolves the other's service and zeroconf (h2) resolves both; nobody renames.
#[test]
fn koi_and_avahi_share_a_host_without_renaming() {
    let Some(bed) = setup("iop-coex", 2, None) else {
        return;
    };
    let v4: IpAddr = bed.ipv4(1).into();
    let v6: IpAddr = bed.ipv6_link_local(1).into();
    let zc = zc_browse(&bed, 2, Fam::V4, None);

    // avahi first, then koi.
    let avahi = Avahi::start(&bed, 1, "avahi-h1", None);
    let koi = KoiAgent::start(&bed, 1, "koi-h1");
    let a = koi.announce(&bed, "koi-web", 3001, &["by=koi"]);
    assert_eq!((a.instance.as_str(), a.renamed_from), ("koi-web", None));
    let publish = avahi.publish(&bed, "avahi-web", 3002, "by=avahi");
    let est = publish.wait_line(LIMIT, |l| l.contains("Established under name 'avahi-web'"));
    assert!(est.is_some(), "{}", publish.text());
    check_coexistence(&bed, &koi, &avahi, &publish, &zc, [v4, v6]);

    // koi first, then a fresh avahi.
    drop(publish);
    drop(avahi);
    let avahi = Avahi::start(&bed, 1, "avahi-h1", None);
    let publish = avahi.publish(&bed, "avahi-web2", 3003, "by=avahi");
    let est = publish.wait_line(LIMIT, |l| l.contains("Established under name 'avahi-web2'"));
    assert!(est.is_some(), "{}", publish.text());
    check_coexistence(&bed, &koi, &avahi, &publish, &zc, [v4, v6]);
}

fn check_coexistence(
    bed: &TestBed,
    koi: &KoiAgent,
    avahi: &Avahi,
    publish: &Proc,
    zc: &Proc,
    addrs: [IpAddr; 2],
) {
    let avahi_name = publish
        .wait_line(Duration::ZERO, |l| l.contains("Established under name"))
        .and_then(|(_, l)| l.split('\'').nth(1).map(String::from))
        .unwrap_or_default();
    // avahi on the same host resolves koi's service over both families.
    for (proto, addr) in [("IPv4", addrs[0]), ("IPv6", addrs[1])] {
        let r = avahi.resolve(bed, "koi-web", proto);
        assert_eq!(
            (r.host.as_str(), r.addr, r.port),
            ("koi-h1.local", addr, 3001)
        );
    }
    // koi on the same host finds avahi's, with both addresses.
    let mut list = Vec::new();
    let found = wait_until(LIMIT, || {
        list = koi.services(bed);
        list.iter()
            .any(|s| s.instance == avahi_name && s.addresses.len() == 2)
    });
    assert!(found, "koi did not find {avahi_name}: {list:?}");
    let s = list.iter().find(|s| s.instance == avahi_name).unwrap();
    let mut got: Vec<IpAddr> = s.addresses.iter().map(|a| parse_addr(a)).collect();
    got.sort();
    let mut want = addrs.to_vec();
    want.sort();
    assert_eq!((s.host.as_str(), got), ("avahi-h1.local", want));
    // Another host resolves both (avahi adds its AAAA over IPv4, koi keeps families apart).
    assert_zc_resolves(zc, "koi-web", "koi-h1.local.", addrs[0], 3001);
    let e = zc_resolved(zc, &avahi_name);
    let got: Vec<IpAddr> = e
        .addresses
        .iter()
        .flatten()
        .map(|a| parse_addr(a))
        .collect();
    assert!(got.contains(&addrs[0]), "{e:?}");
    assert_eq!(
        (e.server.as_deref(), e.port),
        (Some("avahi-h1.local."), Some(s.port))
    );
    // Nobody renamed, and nobody does for a while.
    let steady = || {
        let st = koi.status(bed);
        let koi_web = st.announced.iter().find(|a| a.original == "koi-web");
        st.host == "koi-h1"
            && koi_web.is_some_and(|a| a.instance == "koi-web" && a.renamed_from.is_none())
            && avahi.host_conflicts() == 0
            && publish.count(|l| l.contains("ollision")) == 0
            && avahi_name.starts_with("avahi-web")
            && !avahi_name.contains('#')
    };
    assert!(
        holds_for(STEADY, steady),
        "a rename: koi {:?}\n{}\n{}",
        koi.status(bed).announced,
        avahi.daemon.text(),
        publish.text()
    );
}

#[test]
fn avahi_escapes_are_undone() {
    assert_eq!(avahi_unescape(r"clash\032\0402\041"), "clash (2)");
    assert_eq!(avahi_unescape(r"a\.b\\c"), r"a.b\c");
    let line = r#"=;eth0;IPv6;both\032\0352;_http._tcp;local;avahi-h2.local;fe80::1;81;"by=avahi""#;
    let r = parse_resolved(line).unwrap();
    assert_eq!((r.name.as_str(), r.port), ("both #2", 81));
}
