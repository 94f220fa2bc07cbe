//! The mDNS network layer on real sockets, between hosts of a network-namespace test bed:
//! interface listing, multicast and unicast delivery with the right link and addresses,
//! coexistence with other mDNS sockets on port 5353, and interface-change wake-ups.
//!
//! Needs root (network namespaces); skipped otherwise.
#![cfg(all(feature = "mdns", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Once;
use std::time::{Duration, Instant};

use async_io::{block_on, Timer};
use futures_lite::future;

use common::netns::{require_root, TestBed};
use koi::mdns::net::{links, LinkWatcher, MdnsSockets};
use koi::mdns::{
    Destination, Family, IfAddr, Link, LinkInfo, Transmit, MDNS_PORT, MDNS_V4, MDNS_V6,
};

/// How long any expected datagram or event may take.
const LIMIT: Duration = Duration::from_secs(5);

/// Starts async-io's driver thread from the root namespace, so it is not born inside a bed
/// (where it would keep that namespace alive after the bed is gone).
fn init_reactor() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = future::block_on(future::poll_once(Timer::after(Duration::from_secs(1))));
    });
}

/// One host's koi sockets (joined on all its links) and links.
struct Host {
    sockets: MdnsSockets,
    links: Vec<LinkInfo>,
}

impl Host {
    fn open(bed: &TestBed, h: usize) -> Host {
        bed.run_in(h, || {
            let links = links(&[]).expect("links");
            let mut sockets = MdnsSockets::new(MDNS_PORT).expect("sockets");
            let failed = sockets.sync_links(&links);
            assert!(failed.is_empty(), "join failed: {failed:?}");
            Host { sockets, links }
        })
    }

    /// eth0's link in `family`.
    fn link(&self, family: Family) -> Link {
        self.links
            .iter()
            .find(|l| l.name == "eth0" && l.link.family == family)
            .map(|l| l.link)
            .expect("eth0 link")
    }
}

fn setup(tag: &str, hosts: usize) -> Option<TestBed> {
    if !require_root() {
        return None;
    }
    init_reactor();
    Some(TestBed::new(tag, hosts))
}

/// Waits up to [`LIMIT`] for a datagram whose bytes are `payload`; returns its link, source
/// and destination.
async fn recv_matching(s: &MdnsSockets, payload: &[u8]) -> Option<(Link, SocketAddr, IpAddr)> {
    let mut buf = vec![0u8; 9000];
    let wait = async {
        loop {
            let (link, src, dst, n) = s.recv(&mut buf).await.expect("recv");
            if &buf[..n] == payload {
                return Some((link, src, dst));
            }
        }
    };
    future::or(wait, async {
        Timer::after(LIMIT).await;
        None
    })
    .await
}

fn multicast(link: Link, bytes: &[u8]) -> Transmit {
    Transmit {
        dest: Destination::Multicast(link),
        bytes: bytes.to_vec(),
    }
}

/// The source address host `h` sends from in `family`, as seen by a receiver whose link
/// is `rx` (IPv6 link-local sources carry the receiver's interface).
fn source_of(bed: &TestBed, h: usize, family: Family, rx: Link) -> SocketAddr {
    match family {
        Family::V4 => SocketAddr::new(bed.ipv4(h).into(), MDNS_PORT),
        Family::V6 => SocketAddrV6::new(bed.ipv6_link_local(h), MDNS_PORT, 0, rx.ifindex).into(),
    }
}

fn group(family: Family) -> IpAddr {
    match family {
        Family::V4 => MDNS_V4.into(),
        Family::V6 => MDNS_V6.into(),
    }
}

#[test]
fn links_lists_eth0_with_its_v4_prefix_and_v6_link_local() {
    let Some(bed) = setup("links", 1) else { return };
    let (all, only_eth0, none) = bed.run_in(1, || {
        (
            links(&[]).unwrap(),
            links(&["eth0".to_string()]).unwrap(),
            links(&["nope0".to_string()]).unwrap(),
        )
    });
    let out = Command::new("ip")
        .args(["-n", &bed.name(1), "-o", "link", "show", "dev", "eth0"])
        .output()
        .unwrap();
    let ifindex: u32 = String::from_utf8_lossy(&out.stdout)
        .split(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // lo is left out; eth0 comes as one link per family, in (ifindex, family) order.
    let kinds: Vec<(u32, Family, &str)> = all
        .iter()
        .map(|l| (l.link.ifindex, l.link.family, l.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [(ifindex, Family::V4, "eth0"), (ifindex, Family::V6, "eth0")]
    );
    assert_eq!(
        all[0].addrs,
        [IfAddr {
            addr: bed.ipv4(1).into(),
            prefix_len: 24
        }]
    );
    let ll = IfAddr {
        addr: bed.ipv6_link_local(1).into(),
        prefix_len: 64,
    };
    assert!(all[1].addrs.contains(&ll), "{:?}", all[1].addrs);
    assert_eq!(only_eth0, all);
    assert!(none.is_empty());
    let name = koi::mdns::net::host_name();
    assert!(!name.is_empty() && !name.contains('.'), "{name}");
}

fn multicast_arrives(tag: &str, family: Family) {
    let Some(bed) = setup(tag, 2) else { return };
    let (h1, h2) = (Host::open(&bed, 1), Host::open(&bed, 2));
    let t = multicast(h1.link(family), format!("koi-{tag}").as_bytes());
    block_on(async {
        h1.sockets.send(&t).await.unwrap();
        let (link, src, dst) = recv_matching(&h2.sockets, &t.bytes).await.expect("arrived");
        assert_eq!(link, h2.link(family));
        assert_eq!(src, source_of(&bed, 1, family, link));
        assert_eq!(dst, group(family));
    });
}

#[test]
fn multicast_v4_arrives_with_its_link_source_and_group() {
    multicast_arrives("mc4", Family::V4);
}

#[test]
fn multicast_v6_arrives_with_its_link_source_and_group() {
    multicast_arrives("mc6", Family::V6);
}

#[test]
fn unicast_reaches_only_its_target_with_our_address_as_destination() {
    let Some(bed) = setup("ucast", 3) else { return };
    let (h1, h2, h3) = (
        Host::open(&bed, 1),
        Host::open(&bed, 2),
        Host::open(&bed, 3),
    );
    for family in [Family::V4, Family::V6] {
        let to_ip: IpAddr = match family {
            Family::V4 => bed.ipv4(2).into(),
            Family::V6 => bed.ipv6_link_local(2).into(),
        };
        let unicast = Transmit {
            dest: Destination::Unicast {
                link: h1.link(family),
                // No scope id: the link supplies it.
                to: SocketAddr::new(to_ip, MDNS_PORT),
            },
            bytes: format!("unicast-{family:?}").into_bytes(),
        };
        let marker = multicast(h1.link(family), format!("marker-{family:?}").as_bytes());
        block_on(async {
            h1.sockets.send(&unicast).await.unwrap();
            h1.sockets.send(&marker).await.unwrap();
            let (link, src, dst) = recv_matching(&h2.sockets, &unicast.bytes)
                .await
                .expect("h2");
            assert_eq!(link, h2.link(family));
            assert_eq!(src, source_of(&bed, 1, family, link));
            assert_eq!(dst, to_ip);
            // h3 gets the marker sent after the unicast, and nothing before it.
            let mut buf = vec![0u8; 9000];
            let first = future::or(
                async { Some(h3.sockets.recv(&mut buf).await.unwrap().3) },
                async {
                    Timer::after(LIMIT).await;
                    None
                },
            )
            .await
            .expect("h3 got the marker");
            assert_eq!(&buf[..first], &marker.bytes[..]);
        });
    }
}

#[test]
fn two_sockets_on_one_host_both_receive_a_multicast() {
    let Some(bed) = setup("reuse", 2) else { return };
    let h1 = Host::open(&bed, 1);
    let (a, b) = (Host::open(&bed, 2), Host::open(&bed, 2));
    for family in [Family::V4, Family::V6] {
        let t = multicast(h1.link(family), format!("both-{family:?}").as_bytes());
        block_on(async {
            h1.sockets.send(&t).await.unwrap();
            assert!(
                recv_matching(&a.sockets, &t.bytes).await.is_some(),
                "a {family:?}"
            );
            assert!(
                recv_matching(&b.sockets, &t.bytes).await.is_some(),
                "b {family:?}"
            );
        });
    }
}

#[test]
fn multicast_loops_back_to_other_sockets_on_the_sending_host() {
    let Some(bed) = setup("loop", 1) else { return };
    let (sender, other) = (Host::open(&bed, 1), Host::open(&bed, 1));
    for family in [Family::V4, Family::V6] {
        let t = multicast(sender.link(family), format!("loop-{family:?}").as_bytes());
        block_on(async {
            sender.sockets.send(&t).await.unwrap();
            let (link, src, dst) = recv_matching(&other.sockets, &t.bytes)
                .await
                .expect("looped");
            assert_eq!(link, other.link(family));
            assert_eq!(src, source_of(&bed, 1, family, link));
            assert_eq!(dst, group(family));
        });
    }
}

/// Whether host `h`'s eth0 is a member of the mDNS group in IPv4 and in IPv6.
fn eth0_in_group(bed: &TestBed, h: usize) -> (bool, bool) {
    let read = |file: &str| {
        let out = bed.exec(h, "cat").arg(file).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // /proc/net/igmp: a device line, then one indented line per group (hex, host order).
    let igmp = read("/proc/net/igmp");
    let mut v4 = false;
    let mut on_eth0 = false;
    for line in igmp.lines().skip(1) {
        if !line.starts_with('\t') {
            on_eth0 = line.split_whitespace().nth(1) == Some("eth0");
        } else if on_eth0 && line.split_whitespace().next() == Some("FB0000E0") {
            v4 = true;
        }
    }
    // /proc/net/igmp6: "ifindex device group users ...".
    let v6 = read("/proc/net/igmp6").lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.get(1) == Some(&"eth0") && w.get(2) == Some(&"ff0200000000000000000000000000fb")
    });
    (v4, v6)
}

#[test]
fn sync_links_joins_and_leaves_the_group_on_the_interface() {
    let Some(bed) = setup("join", 1) else { return };
    let mut h = Host::open(&bed, 1);
    assert_eq!(eth0_in_group(&bed, 1), (true, true));
    let joined: Vec<Link> = h.sockets.joined().collect();
    assert_eq!(joined, [h.link(Family::V4), h.link(Family::V6)]);
    assert!(h.sockets.sync_links(&[]).is_empty());
    assert_eq!(h.sockets.joined().count(), 0);
    assert_eq!(eth0_in_group(&bed, 1), (false, false));
    // Only the IPv6 link: IPv4 stays left.
    let v6_only: Vec<LinkInfo> = h
        .links
        .iter()
        .filter(|l| l.link.family == Family::V6)
        .cloned()
        .collect();
    assert!(h.sockets.sync_links(&v6_only).is_empty());
    assert_eq!(eth0_in_group(&bed, 1), (false, true));
    let all = h.links.clone();
    assert!(h.sockets.sync_links(&all).is_empty());
    assert!(h.sockets.sync_links(&all).is_empty(), "re-sync is a no-op");
    assert_eq!(eth0_in_group(&bed, 1), (true, true));
}

/// Regression: with `IP_MULTICAST_ALL` off, a koi socket that had not joined a link, sharing
/// a `SO_REUSEPORT` group with a socket that had, took the member's datagrams for about half
/// of all flows (the kernel picks a group member by a hash of addresses and ports). Twenty
/// senders on twenty ephemeral ports make twenty flows.
#[test]
fn a_socket_that_joined_nothing_never_takes_a_members_datagrams() {
    let Some(bed) = setup("steal", 2) else { return };
    let senders: Vec<UdpSocket> = bed.run_in(1, || {
        (0..20)
            .map(|_| UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap())
            .collect()
    });
    let (mut idle, member) = (Host::open(&bed, 2), Host::open(&bed, 2));
    assert!(idle.sockets.sync_links(&[]).is_empty());
    block_on(async {
        for (i, sender) in senders.iter().enumerate() {
            let bytes = format!("member-{i}");
            sender
                .send_to(bytes.as_bytes(), (MDNS_V4, MDNS_PORT))
                .unwrap();
            let got = recv_matching(&member.sockets, bytes.as_bytes()).await;
            assert!(got.is_some(), "flow {i} went astray");
        }
    });
}

#[test]
fn datagrams_longer_than_the_buffer_are_dropped_not_cut() {
    let Some(bed) = setup("trunc", 2) else { return };
    let (h1, h2) = (Host::open(&bed, 1), Host::open(&bed, 2));
    let link = h1.link(Family::V4);
    block_on(async {
        h1.sockets
            .send(&multicast(link, &[b'x'; 1200]))
            .await
            .unwrap();
        h1.sockets.send(&multicast(link, b"small")).await.unwrap();
        let mut buf = [0u8; 1000];
        let got = future::or(
            async { Some(h2.sockets.recv(&mut buf).await.unwrap().3) },
            async {
                Timer::after(LIMIT).await;
                None
            },
        )
        .await
        .expect("small datagram");
        assert_eq!(&buf[..got], b"small");
    });
}

#[test]
fn send_refuses_an_address_of_the_wrong_family() {
    let Some(bed) = setup("family", 1) else {
        return;
    };
    let h1 = Host::open(&bed, 1);
    let t = Transmit {
        dest: Destination::Unicast {
            link: h1.link(Family::V6),
            to: SocketAddr::new(bed.ipv4(1).into(), MDNS_PORT),
        },
        bytes: b"x".to_vec(),
    };
    let e = block_on(h1.sockets.send(&t)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn watcher_wakes_when_an_address_is_added() {
    let Some(bed) = setup("watch", 1) else { return };
    let mut watcher = bed.run_in(1, LinkWatcher::new);
    assert!(!watcher.is_polling());
    let [a, b, c] = bed.subnet();
    let extra = Ipv4Addr::new(a, b, c, 200);
    let status = Command::new("ip")
        .args([
            "-n",
            &bed.name(1),
            "addr",
            "add",
            &format!("{extra}/24"),
            "dev",
            "eth0",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    // Well inside the 5 s poll interval: only a netlink event can wake us in time.
    let deadline = Instant::now() + Duration::from_secs(3);
    block_on(async {
        loop {
            let woke = future::or(
                async {
                    watcher.changed().await;
                    true
                },
                async {
                    Timer::at(deadline).await;
                    false
                },
            )
            .await;
            assert!(woke, "no change reported within 3 s");
            let now = bed.run_in(1, || links(&[]).unwrap());
            let seen = now
                .iter()
                .flat_map(|l| l.ips())
                .any(|ip| ip == IpAddr::V4(extra));
            if seen {
                break;
            }
        }
    });
}

#[test]
fn a_plain_reuseaddr_socket_on_5353_keeps_receiving_after_koi_binds() {
    let Some(bed) = setup("coexist", 2) else {
        return;
    };
    const LISTENER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton("224.0.0.251") + socket.inet_aton(sys.argv[1]))
s.settimeout(20)
print("ready", flush=True)
while True:
    data, _ = s.recvfrom(9000)
    print(data.decode(errors="replace"), flush=True)
"#;
    let mut child = bed
        .exec(2, "python3")
        .args(["-c", LISTENER, &bed.ipv4(2).to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    assert_eq!(rx.recv_timeout(LIMIT).as_deref(), Ok("ready"));
    // koi binds the same port next to it, and both get the group's datagrams.
    let (h1, h2) = (Host::open(&bed, 1), Host::open(&bed, 2));
    let t = multicast(h1.link(Family::V4), b"koi-coexist");
    block_on(async {
        h1.sockets.send(&t).await.unwrap();
        assert!(recv_matching(&h2.sockets, &t.bytes).await.is_some(), "koi");
    });
    assert_eq!(rx.recv_timeout(LIMIT).as_deref(), Ok("koi-coexist"));
    let _ = child.kill();
    let _ = child.wait();
}
