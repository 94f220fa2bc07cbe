//! A multi-host test bed from Linux network namespaces: N hosts `koi-<tag>-<pid>-h1..hN`,
//! each with an `eth0` veth plugged into a bridge that lives in its own namespace
//! (`koi-<tag>-<pid>-sw`). Nothing touches the root namespace, and no packet leaves the bed.
//!
//! Each host gets `10.<x>.<y>.<i>/24` (x, y derived from the tag and pid so parallel beds do
//! not share a subnet), a multicast route `224.0.0.0/4 dev eth0`, and an IPv6 link-local
//! address with duplicate address detection off. Everything is deleted on drop, after
//! killing any process left inside the bed's own namespaces.
//!
//! ```ignore
//! if !require_root() { return; }
//! let bed = TestBed::new("browse", 2);
//! let links = bed.run_in(1, || koi::mdns::net::links(&[]));
//! ```
#![cfg(target_os = "linux")]

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Duration;

/// True if the tests can create namespaces; otherwise prints why they are skipped.
pub fn require_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        true
    } else {
        eprintln!("skipped: needs root for network namespaces");
        false
    }
}

/// A set of namespaces joined by one bridge; see the module docs.
pub struct TestBed {
    prefix: String,
    hosts: usize,
    subnet: [u8; 2],
    link_local: Vec<Ipv6Addr>,
}

/// Runs `cmd`, panicking with its stderr if it fails.
fn run(cmd: &mut Command) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

/// FNV-1a, for a stable subnet per tag.
fn fnv(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

impl TestBed {
    /// Builds a bed of `hosts` hosts (1..=250) for the test named `tag`.
    pub fn new(tag: &str, hosts: usize) -> TestBed {
        assert!((1..=250).contains(&hosts), "1..=250 hosts");
        let prefix = format!("koi-{tag}-{}", std::process::id());
        let h = fnv(&prefix);
        let subnet = [16 + (h % 224) as u8, (h >> 8) as u8];
        let mut bed = TestBed {
            prefix,
            hosts,
            subnet,
            link_local: Vec::new(),
        };
        bed.remove(); // leftovers of a killed run with the same pid
        let sw = bed.switch();
        ip(&["netns", "add", &sw]);
        ip(&["-n", &sw, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            &sw,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ]);
        ip(&["-n", &sw, "link", "set", "br0", "up"]);
        for i in 1..=hosts {
            let ns = bed.name(i);
            let port = format!("h{i}");
            ip(&["netns", "add", &ns]);
            // DAD off before eth0 exists, so its link-local address is never tentative.
            run(bed.exec(i, "sysctl").args([
                "-qw",
                "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.all.accept_dad=0",
            ]));
            ip(&[
                "-n", &sw, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ]);
            ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            ip(&["-n", &ns, "link", "set", "eth0", "multicast", "on", "up"]);
            let addr = format!("{}/24", bed.ipv4(i));
            ip(&["-n", &ns, "addr", "add", &addr, "dev", "eth0"]);
            ip(&["-n", &ns, "route", "add", "224.0.0.0/4", "dev", "eth0"]);
        }
        for i in 1..=hosts {
            let mut found = None;
            let ready = super::wait_until(Duration::from_secs(10), || {
                found = bed.usable_link_local(i);
                found.is_some()
            });
            assert!(
                ready,
                "{}: no usable IPv6 link-local address on eth0",
                bed.name(i)
            );
            bed.link_local.extend(found);
        }
        bed
    }

    /// The namespace name of host `host` (1-based).
    pub fn name(&self, host: usize) -> String {
        assert!((1..=self.hosts).contains(&host), "no host {host}");
        format!("{}-h{host}", self.prefix)
    }

    /// The number of hosts.
    pub fn hosts(&self) -> usize {
        self.hosts
    }

    fn switch(&self) -> String {
        format!("{}-sw", self.prefix)
    }

    /// `ip netns exec <host's namespace> <cmd>`; add arguments to it.
    pub fn exec(&self, host: usize, cmd: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name(host), cmd]);
        c
    }

    /// Host `host`'s IPv4 address on eth0.
    pub fn ipv4(&self, host: usize) -> Ipv4Addr {
        assert!((1..=self.hosts).contains(&host), "no host {host}");
        Ipv4Addr::new(10, self.subnet[0], self.subnet[1], host as u8)
    }

    /// The first three octets of the bed's /24.
    pub fn subnet(&self) -> [u8; 3] {
        [10, self.subnet[0], self.subnet[1]]
    }

    /// Host `host`'s IPv6 link-local address on eth0 (scope: its eth0).
    pub fn ipv6_link_local(&self, host: usize) -> Ipv6Addr {
        assert!((1..=self.hosts).contains(&host), "no host {host}");
        self.link_local[host - 1]
    }

    /// Moves the calling thread into host `host`'s namespace for good: sockets it opens from
    /// now on live there. Prefer [`TestBed::run_in`], which leaves the caller where it was.
    pub fn enter(&self, host: usize) {
        let path = format!("/run/netns/{}", self.name(host));
        let f = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        // SAFETY: setns on a valid namespace file descriptor only changes this thread's
        // network namespace.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
    }

    /// Runs `f` on a short-lived thread inside host `host`'s namespace and returns its result
    /// (sockets opened by `f` stay in that namespace wherever they are used later).
    pub fn run_in<R: Send>(&self, host: usize, f: impl FnOnce() -> R + Send) -> R {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.enter(host);
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    }

    /// The link-local address of host `host`'s eth0 once it is no longer tentative.
    fn usable_link_local(&self, host: usize) -> Option<Ipv6Addr> {
        let out = Command::new("ip")
            .args([
                "-n",
                &self.name(host),
                "-6",
                "-o",
                "addr",
                "show",
                "dev",
                "eth0",
            ])
            .args(["scope", "link"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .filter(|l| !l.contains("tentative"))
            .find_map(|l| {
                let mut words = l.split_whitespace();
                words.find(|w| *w == "inet6")?;
                words.next()?.split('/').next()?.parse().ok()
            })
    }

    /// Deletes the bed's namespaces, killing what still runs inside them (and only there).
    fn remove(&self) {
        let list = Command::new("ip").args(["netns", "list"]).output();
        let text = list.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        let host = format!("{}-h", self.prefix);
        let mine = |name: &str| {
            name == self.switch()
                || name
                    .strip_prefix(&host)
                    .is_some_and(|n| n.parse::<u32>().is_ok())
        };
        for ns in text.unwrap_or_default().lines() {
            let Some(name) = ns.split_whitespace().next() else {
                continue;
            };
            if !mine(name) {
                continue;
            }
            let pids = Command::new("ip").args(["netns", "pids", name]).output();
            let pids = pids.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
            for pid in pids.unwrap_or_default().split_whitespace() {
                let pid = pid.parse::<i32>().ok();
                if let Some(pid) = pid.filter(|p| *p as u32 != std::process::id()) {
                    // SAFETY: kill(2) on a pid that `ip netns pids` reported inside our own
                    // namespace.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
            let _ = Command::new("ip")
                .args(["netns", "del", name])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for TestBed {
    fn drop(&mut self) {
        self.remove();
    }
}
