//! The resolver in a network-namespace test bed, fed by all three of its sources at once:
//! host 1 runs a koi agent that is also a certmesh CA, with mDNS and DNS on its LAN addresses
//! (the default); host 2 registers `_grafana._tcp` with python-zeroconf; host 3 joins the mesh
//! as `beta` and asks with dig and kdig. Shows a static name, a certmesh member's name after
//! its join, a static entry hiding that name (with a warning) and uncovering it again, the
//! mDNS host name, the service aliases and SRV, the alias leaving DNS after the service is
//! withdrawn, REFUSED for a client outside the served subnets, and koi advertising
//! `_dns._udp`.
//!
//! Needs root (network namespaces), python3 with zeroconf, dig and kdig; skipped without root.
#![cfg(all(feature = "dns", feature = "certmesh", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::netns::{require_root, TestBed};
use common::totp::{now, totp, uri_secret};
use common::{json_field, koi_bin, output_text, wait_until, TempDir};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

struct Proc(Child, Arc<Mutex<String>>);

impl Proc {
    fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let text = Arc::new(Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let sink = text.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut t = sink.lock().unwrap();
                    t.push_str(&line);
                    t.push('\n');
                }
            });
        }
        Proc(child, text)
    }
    fn text(&self) -> String {
        self.1.lock().unwrap().clone()
    }
    /// Closes stdin (zc_register.py then unregisters with goodbyes).
    fn close_stdin(&mut self) {
        drop(self.0.stdin.take());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn out(mut cmd: Command) -> String {
    let o: Output = cmd
        .stdin(Stdio::null())
        .env_remove("KOI_STATE_DIR")
        .output()
        .expect("run");
    String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr)
}

const CA_PORT: u16 = 5642;

/// `koi certmesh create` (personal profile: the agent unlocks it by itself) into host 1's
/// state; returns the CA fingerprint and the TOTP secret.
fn create_ca(bed: &TestBed, dir: &TempDir) -> (String, String) {
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let mut cmd = bed.exec(1, koi_bin());
    cmd.args([
        "certmesh",
        "create",
        "--profile",
        "personal",
        "--passphrase-file",
    ])
    .arg(&pass)
    .args([
        "--entropy",
        "os",
        "--hostname",
        "koi-one",
        "--no-trust-store",
        "--json",
    ])
    .args(["--state-dir", dir.str()]);
    let json = out(cmd);
    let fingerprint = json_field(&json, "ca_fingerprint");
    assert_eq!(fingerprint.len(), 64, "{json}");
    (fingerprint, uri_secret(&json_field(&json, "totp_uri")))
}

/// Host 3 joins the mesh as `beta`, once the CA answers.
fn join(bed: &TestBed, ca_ip: &str, fingerprint: &str, secret: &str) {
    let ca = format!("{ca_ip}:{CA_PORT}");
    let url = format!("https://{ca}/v1/certmesh/health");
    let up = wait_until(LIMIT, || {
        bed.exec(3, "curl")
            .args(["-sk", "--max-time", "2", &url])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(up, "the CA API never answered at {url}");
    let member = TempDir::new("dnsnet-member");
    let code = totp(secret, now());
    let mut cmd = bed.exec(3, koi_bin());
    cmd.args(["certmesh", "join", "--ca", &ca, "--code", &code])
        .args(["--ca-fingerprint", fingerprint, "--hostname", "beta"])
        .args(["--no-trust-store", "--json", "--state-dir", member.str()]);
    let joined = cmd
        .env_remove("KOI_STATE_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(joined.status.success(), "join: {}", output_text(&joined));
}

#[test]
fn static_certmesh_and_mdns_names_resolve_in_one_bed_and_aliases_leave_with_the_service() {
    if !require_root() {
        return;
    }
    let bed = TestBed::new("dnsnet", 3);
    // The bed's 10.x.y.0/24 is private, as a .lan name's address must be.
    let [_, b, c] = bed.subnet();
    let private = |h: usize| format!("10.{b}.{c}.{h}");
    let dir = TempDir::new("dnsnet-agent");
    let (fingerprint, secret) = create_ca(&bed, &dir);
    let mut agent_cmd = bed.exec(1, koi_bin());
    agent_cmd.args([
        "agent",
        "--control",
        "127.0.0.1:0",
        "--state-dir",
        dir.str(),
        "--hostname",
        "koi-one",
        "--interfaces",
        "eth0",
        "--certmesh-listen",
        &format!("{}:{CA_PORT}", private(1)),
    ]);
    let agent = Proc::spawn(agent_cmd);
    assert!(
        wait_until(LIMIT, || dir.path().join("agent.json").exists()),
        "{}",
        agent.text()
    );
    let koi = |args: &[&str]| {
        let mut cmd = bed.exec(1, koi_bin());
        cmd.args(args).args(["--state-dir", dir.str()]);
        out(cmd)
    };
    let served = koi(&["dns", "serve", "--upstream", "127.0.0.1:9"]);
    assert!(
        served.contains("serving zone lan on"),
        "{served}\n{}",
        agent.text()
    );
    // The default is the LAN interface addresses, never 0.0.0.0 or loopback.
    assert!(
        served.contains(&format!("{}:53", private(1)))
            && !served.contains("0.0.0.0")
            && !served.contains("127.0.0.1:53"),
        "{served}"
    );
    assert!(koi(&["dns", "add", "nas", &private(50)]).contains("added nas.lan"));

    let server = format!("@{}", private(1));
    let dig = |args: &[&str]| {
        let mut cmd = bed.exec(3, "dig");
        cmd.args([server.as_str(), "+time=2", "+tries=1"])
            .args(args);
        out(cmd)
    };
    let kdig = |args: &[&str]| {
        let mut cmd = bed.exec(3, "kdig");
        cmd.args([server.as_str(), "+time=2", "+retry=0"])
            .args(args);
        out(cmd)
    };
    assert!(dig(&["+short", "nas.lan"]).contains(&private(50)));

    // Certmesh: host 3 joins as beta; beta.lan then resolves to its address.
    join(&bed, &private(1), &fingerprint, &secret);
    let mut last = String::new();
    let joined = wait_until(LIMIT, || {
        last = dig(&["+short", "beta.lan"]);
        last.trim() == private(3)
    });
    assert!(joined, "beta.lan -> {last:?}\nagent: {}", agent.text());
    let lookup = koi(&["dns", "lookup", "beta"]);
    assert!(lookup.contains("(from certmesh)"), "{lookup}");
    // A static entry wins over the certmesh name, with a warning; removing it uncovers it.
    assert!(koi(&["dns", "add", "beta", &private(77)]).contains("added beta.lan"));
    assert_eq!(dig(&["+short", "beta.lan"]).trim(), private(77));
    let log = agent.text();
    assert!(
        log.contains("static beta.lan") && log.contains("hides the automatic name"),
        "{log}"
    );
    assert!(koi(&["dns", "remove", "beta"]).contains("beta.lan"));
    assert_eq!(dig(&["+short", "beta.lan"]).trim(), private(3));

    // python-zeroconf on host 2 registers _grafana._tcp for host stone-05 at its private address.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/net/zc_register.py");
    let mut zc_cmd = bed.exec(2, "python3");
    zc_cmd.args([
        script,
        "Grafana",
        "_grafana._tcp.local.",
        "3000",
        "stone-05.local.",
        "v4",
        &private(2),
        "path=/",
    ]);
    let mut zc = Proc::spawn(zc_cmd);
    assert!(
        wait_until(LIMIT, || zc.text().contains("registered")),
        "zeroconf: {}",
        zc.text()
    );

    let mut last = String::new();
    let resolved = wait_until(LIMIT, || {
        last = dig(&["+short", "grafana.lan"]);
        last.contains(&private(2))
    });
    assert!(
        resolved,
        "grafana.lan never resolved: {last}\nagent: {}",
        agent.text()
    );
    assert!(kdig(&["+short", "grafana.lan"]).contains(&private(2)));
    assert!(dig(&["+short", "grafana-stone-05.lan"]).contains(&private(2)));
    assert!(dig(&["+short", "stone-05.lan"]).contains(&private(2)));
    let srv = dig(&["_grafana._tcp.lan", "SRV"]);
    assert!(srv.contains("SRV\t0 0 3000 stone-05.lan."), "{srv}");
    assert!(kdig(&["_grafana._tcp.lan", "SRV"]).contains("3000 stone-05.lan."));
    let txt = dig(&["+short", "grafana-stone-05.lan", "TXT"]);
    assert!(txt.contains("path=/"), "{txt}");
    let list = koi(&["dns", "list"]);
    assert!(
        list.contains("grafana.lan") && list.contains("mdns") && list.contains("nas.lan"),
        "{list}"
    );
    let lookup = koi(&["dns", "lookup", "grafana"]);
    assert!(lookup.contains("(from mdns)"), "{lookup}");
    // The names generated for stone-05 are recorded for its certificate.
    let log = agent.text();
    assert!(
        log.contains("names for stone-05.local:") && log.contains("grafana.lan"),
        "{log}"
    );

    // koi advertises itself as _dns._udp: its responder says so, and python-zeroconf sees it.
    // This runs before host 3 gets its outsider address below: zeroconf would then send its
    // queries from that address, which koi rightly ignores as off-link (RFC 6762 §11).
    let mdns_status = koi(&["mdns", "status", "--json"]);
    assert!(mdns_status.contains("_dns._udp"), "{mdns_status}");
    let browse = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/net/zc_browse.py");
    let mut b_cmd = bed.exec(3, "python3");
    b_cmd.args([browse, "_dns._udp.local.", "v4"]);
    let browser = Proc::spawn(b_cmd);
    assert!(
        wait_until(LIMIT, || browser.text().contains("koi-one")),
        "no _dns._udp: {}\nagent: {}",
        browser.text(),
        agent.text()
    );
    drop(browser);

    // Host 3 also gets an address outside every subnet host 1 serves, routed on-link.
    let outsider = format!("192.168.{c}.3");
    assert!(bed
        .exec(3, "ip")
        .args(["addr", "add", &format!("{outsider}/32"), "dev", "eth0"])
        .status()
        .unwrap()
        .success());
    let out_net = format!("192.168.{c}.0/24");
    assert!(bed
        .exec(1, "ip")
        .args(["route", "add", &out_net, "dev", "eth0"])
        .status()
        .unwrap()
        .success());

    // REFUSED for a client outside the served subnets.
    let refused = dig(&["-b", &outsider, "nas.lan"]);
    assert!(refused.contains("status: REFUSED"), "{refused}");

    // Withdrawn: gone from DNS well within its 30 s TTL.
    zc.close_stdin();
    let t = Instant::now();
    let gone = wait_until(Duration::from_secs(30), || {
        dig(&["grafana.lan"]).contains("status: NXDOMAIN")
    });
    assert!(
        gone,
        "grafana.lan still resolves after withdrawal: {}",
        dig(&["grafana.lan"])
    );
    eprintln!("grafana.lan gone {:?} after withdrawal", t.elapsed());
    assert!(
        dig(&["+short", "nas.lan"]).contains(&private(50)),
        "the static name stays"
    );
}
