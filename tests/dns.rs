//! koi's resolver against real clients (dig, kdig) and real upstreams (dnsmasq, a scripted
//! one), all on loopback: local answers, NODATA vs NXDOMAIN, PTR, TCP, EDNS, truncation with
//! the TCP retry, forwarding, the upstream checks, coalescing, persistence, and the CLI.
#![cfg(feature = "dns")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dns_util;

use common::{wait_until, Agent, TempDir};
use dns_util::*;
use koi_wire::dns::RecordType;
use std::io::{BufRead, BufReader, Write};
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn dig_and_kdig_get_a_nodata_nxdomain_ptr_tcp_and_edns() {
    let r = Resolver::start("dns-clients", &[]);
    r.add("nas", "192.168.1.20");
    r.add("printer.lan", "192.168.1.21");
    r.add("printer", "fd00::21");

    let a = r.dig(&["nas.lan", "A"]);
    assert_eq!(status_of(&a), "NOERROR", "{a}");
    assert!(a.contains("nas.lan.\t\t300\tIN\tA\t192.168.1.20"), "{a}");
    assert!(a.contains("flags: qr aa"), "authoritative: {a}");
    let k = r.kdig(&["nas.lan", "A"]);
    assert!(k.contains("192.168.1.20") && k.contains("NOERROR"), "{k}");

    // AAAA of an A-only name: NODATA (NOERROR, no answer, the SOA), not NXDOMAIN.
    for out in [r.dig(&["nas.lan", "AAAA"]), r.kdig(&["nas.lan", "AAAA"])] {
        assert!(out.contains("NOERROR"), "{out}");
        assert!(!out.contains("\tAAAA\tfd"), "{out}");
        assert!(
            out.contains("SOA\tkoi.lan. hostmaster.lan."),
            "SOA in authority: {out}"
        );
    }
    assert!(r
        .dig(&["+short", "printer.lan", "AAAA"])
        .contains("fd00::21"));

    for out in [r.dig(&["nope.lan", "A"]), r.kdig(&["nope.lan", "A"])] {
        assert!(out.contains("NXDOMAIN"), "{out}");
        assert!(out.contains("SOA\tkoi.lan. hostmaster.lan."), "{out}");
    }

    // An empty non-terminal (`office.lan` above `nas.office.lan`) exists: NODATA with the
    // SOA, not NXDOMAIN (RFC 8020); a sibling of it does not exist.
    r.add("nas.office.lan", "192.168.1.22");
    for out in [r.dig(&["office.lan", "A"]), r.kdig(&["office.lan", "A"])] {
        assert!(out.contains("status: NOERROR"), "{out}");
        assert!(out.contains("SOA\tkoi.lan. hostmaster.lan."), "{out}");
        assert!(!out.contains("\tA\t192"), "{out}");
    }
    assert_eq!(status_of(&r.dig(&["x.office.lan", "A"])), "NXDOMAIN");

    let ptr = r.dig(&["-x", "192.168.1.20"]);
    assert!(ptr.contains("PTR\tnas.lan."), "{ptr}");
    let ptr6 = r.kdig(&["-x", "fd00::21"]);
    assert!(ptr6.contains("PTR\tprinter.lan."), "{ptr6}");

    let tcp = r.dig(&["+tcp", "nas.lan", "A"]);
    assert!(
        tcp.contains("192.168.1.20") && tcp.contains("(TCP)"),
        "{tcp}"
    );
    let ktcp = r.kdig(&["+tcp", "nas.lan", "A"]);
    assert!(
        ktcp.contains("192.168.1.20") && ktcp.contains("TCP"),
        "{ktcp}"
    );

    // EDNS: we answer with our own OPT (1232), capped whatever the client offers; without
    // EDNS there is no OPT.
    let e = r.dig(&["+bufsize=4096", "nas.lan"]);
    assert!(e.contains("EDNS: version: 0, flags:; udp: 1232"), "{e}");
    let ke = r.kdig(&["+edns", "+bufsize=4096", "nas.lan"]);
    assert!(ke.contains("EDNS") && ke.contains("1232"), "{ke}");
    let no = r.dig(&["+noedns", "nas.lan"]);
    assert!(
        !no.contains("OPT PSEUDOSECTION") && no.contains("192.168.1.20"),
        "{no}"
    );

    // The status counts what happened, with latency percentiles.
    assert!(r.status_field("local") >= 14);
    assert!(r.status_field("p99_us") > 0);
}

#[test]
fn oversize_udp_answer_sets_tc_and_the_tcp_retry_gets_everything() {
    let r = Resolver::start("dns-tc", &[]);
    for i in 1..=100 {
        r.add("big", &format!("10.0.7.{i}"));
    }
    let udp_only = r.dig(&["+ignore", "+bufsize=1232", "big.lan", "A"]);
    assert!(
        udp_only.contains("flags: qr tc aa") || udp_only.contains(" tc "),
        "{udp_only}"
    );
    assert!(udp_only.contains("ANSWER: 0"), "{udp_only}");
    let retried = r.dig(&["big.lan", "A"]);
    assert!(
        retried.contains("Truncated, retrying in TCP mode"),
        "{retried}"
    );
    assert!(retried.contains("ANSWER: 100"), "{retried}");
    let k = r.kdig(&["+bufsize=1232", "big.lan", "A"]);
    assert!(k.contains(" tc") || k.contains("TC"), "{k}");
    let kt = r.kdig(&["+tcp", "big.lan", "A"]);
    assert_eq!(kt.matches("\tA\t10.0.7.").count(), 100, "{kt}");
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn forwards_to_a_dnsmasq_serving_a_made_up_zone() {
    let port = free_port();
    let dnsmasq = Command::new("dnsmasq")
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            &format!("--port={port}"),
            "--pid-file=",
            "--user=root",
            "--address=/www.example.test/192.0.2.10",
            "--host-record=mail.example.test,192.0.2.25",
        ])
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq (run tests/install-deps.sh)");
    let _dnsmasq = Kill(dnsmasq);
    let up = format!("127.0.0.1:{port}");
    assert!(wait_until(Duration::from_secs(5), || run(
        "dig",
        &[
            "@127.0.0.1",
            "-p",
            &port.to_string(),
            "+short",
            "+time=1",
            "www.example.test"
        ]
    )
    .contains("192.0.2.10")));
    let r = Resolver::start("dns-fwd", &["--upstream", &up]);
    r.add("nas", "192.168.1.20");
    let out = r.dig(&["www.example.test", "A"]);
    assert!(
        out.contains("www.example.test.\t0\tIN\tA\t192.0.2.10") || out.contains("192.0.2.10"),
        "{out}"
    );
    assert!(
        !out.contains("flags: qr aa"),
        "forwarded answers are not authoritative: {out}"
    );
    assert!(r
        .kdig(&["+tcp", "mail.example.test"])
        .contains("192.0.2.25"));
    // The local zone is still ours.
    assert!(r.dig(&["+short", "nas.lan"]).contains("192.168.1.20"));
    assert!(r.status_field("forwarded") >= 2);
    let lookup = r.koi(&["lookup", "www.example.test"]);
    let text = String::from_utf8_lossy(&lookup.stdout);
    assert!(
        text.contains("192.0.2.10") && text.contains("from upstream"),
        "{text}"
    );
}

/// The scripted upstream and the lines it prints.
struct Scripted {
    child: Kill,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

fn scripted() -> Scripted {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/net/dns_upstream.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let mut port = 0;
    assert!(wait_until(Duration::from_secs(10), || {
        let l = lines.lock().unwrap();
        port = l
            .first()
            .and_then(|s| s.strip_prefix("port "))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        port != 0
    }));
    Scripted {
        child: Kill(child),
        port,
        lines,
    }
}

#[test]
fn scripted_upstream_wrong_id_question_or_port_is_ignored_tc_goes_tcp_timeout_is_servfail() {
    let up = scripted();
    let r = Resolver::start(
        "dns-script",
        &["--upstream", &format!("127.0.0.1:{}", up.port)],
    );

    let good = r.dig(&["good.example.test", "A"]);
    assert!(good.contains("10.9.9.9"), "{good}");
    assert!(
        !good.contains("6.6.6."),
        "a forged reply got through: {good}"
    );

    let tc = r.dig(&["tc.example.test", "A"]);
    assert!(
        tc.contains("10.9.9.7"),
        "TC from upstream must be retried over TCP: {tc}"
    );
    assert!(!tc.contains(" tc "), "{tc}");

    let started = Instant::now();
    let silent = r.dig(&["+time=5", "silent.example.test", "A"]);
    assert_eq!(status_of(&silent), "SERVFAIL", "{silent}");
    assert!(started.elapsed() < Duration::from_secs(4));

    // Ten clients asking the same question at once cause one upstream query.
    let port = r.port;
    let handles: Vec<_> = (0..10)
        .map(|_| {
            std::thread::spawn(move || {
                run(
                    "dig",
                    &[
                        "@127.0.0.1",
                        "-p",
                        &port.to_string(),
                        "+short",
                        "+time=3",
                        "+tries=1",
                        "slow.example.test",
                    ],
                )
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap().contains("10.9.9.8"));
    }
    let asked = up
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| *l == "query slow.example.test")
        .count();
    assert_eq!(asked, 1, "queries for one question were not coalesced");
    let _ = up.child.0.stdin.as_ref().map(|mut s| s.write_all(b""));
}

#[test]
fn cli_add_remove_list_lookup_and_refusing_public_addresses() {
    let r = Resolver::start("dns-cli", &[]);
    let out = r.koi(&["add", "pub", "8.8.8.8"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("8.8.8.8 is not a private address"), "{err}");
    r.add("grafana", "192.168.1.15");
    let list = String::from_utf8_lossy(&r.koi(&["list"]).stdout).to_string();
    assert!(
        list.contains("grafana.lan")
            && list.contains("192.168.1.15")
            && list.contains("static")
            && list.contains("300"),
        "{list}"
    );
    let l = String::from_utf8_lossy(&r.koi(&["lookup", "grafana"]).stdout).to_string();
    assert!(
        l.contains("grafana.lan A: NOERROR (from static)") && l.contains("192.168.1.15"),
        "{l}"
    );
    let j = String::from_utf8_lossy(&r.koi(&["lookup", "grafana.lan", "AAAA", "--json"]).stdout)
        .to_string();
    assert!(
        j.contains("\"rcode\":\"NOERROR\"") && j.contains("\"answers\":[]"),
        "{j}"
    );
    assert!(r.koi(&["remove", "grafana"]).status.success());
    assert!(status_of(&r.dig(&["grafana.lan"])) == "NXDOMAIN");
    assert!(!r.koi(&["remove", "grafana"]).status.success());
    let st = String::from_utf8_lossy(&r.koi(&["status"]).stdout).to_string();
    assert!(
        st.contains("p50") && st.contains("p99") && st.contains("127.0.0.1"),
        "{st}"
    );
}

#[test]
fn the_agent_serves_dns_again_after_a_restart() {
    let r = Resolver::start("dns-restart", &[]);
    r.add("nas", "192.168.1.20");
    let Resolver { agent, port } = r;
    let dir = {
        let mut agent = agent;
        agent.signal(libc::SIGTERM);
        assert!(agent.wait_exit(Duration::from_secs(10)).is_some());
        std::mem::replace(&mut agent.dir, TempDir::new("dns-restart-unused"))
    };
    let _ = port;
    let agent = Agent::start_in(dir, &[]);
    // Port 0 was saved, so it listens on a fresh port: ask the agent where.
    let mut text = String::new();
    assert!(
        wait_until(Duration::from_secs(5), || {
            text = String::from_utf8_lossy(
                &common::koi(&["dns", "status", "--json", "--state-dir", agent.dir.str()]).stdout,
            )
            .to_string();
            text.contains("\"running\":true")
        }),
        "{text}"
    );
    let listen = text
        .split("\"listen\":[\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let port = listen.rsplit(':').next().unwrap().to_string();
    let out = run("dig", &["@127.0.0.1", "-p", &port, "+short", "nas.lan"]);
    assert!(out.contains("192.168.1.20"), "{out}");
}

#[test]
fn answers_over_ipv6_on_udp_and_tcp_with_a_worker_per_socket() {
    // Loopback over both families: the port 0 of 127.0.0.1 is taken by ::1 too.
    let r = Resolver::start("dns-v6", &["--listen", "::1"]);
    r.add("nas", "192.168.1.20");
    r.add("printer", "fd00::21");
    let port = r.port.to_string();
    let dig6 = |args: &[&str]| {
        run(
            "dig",
            &[&["@::1", "-p", port.as_str(), "+time=2", "+tries=1"], args].concat(),
        )
    };
    assert!(dig6(&["+short", "nas.lan"]).contains("192.168.1.20"));
    assert!(dig6(&["+short", "printer.lan", "AAAA"]).contains("fd00::21"));
    let tcp = dig6(&["+tcp", "printer.lan", "AAAA"]);
    assert!(tcp.contains("fd00::21") && tcp.contains("(TCP)"), "{tcp}");
    let k = run(
        "kdig",
        &["@::1", "-p", &port, "+time=2", "+retry=0", "nope.lan"],
    );
    assert!(k.contains("NXDOMAIN"), "{k}");
    // Both addresses answer, each from its own worker thread.
    assert!(r.dig(&["+short", "nas.lan"]).contains("192.168.1.20"));
    assert_eq!(threads_named(r.agent.pid(), "dns-udp"), 2);
}

#[test]
fn several_addresses_answer_round_robin_over_udp_and_tcp() {
    let r = Resolver::start("dns-rr", &[]);
    r.add("nas", "192.168.1.20");
    r.add("nas", "192.168.1.30");
    for transport in ["+notcp", "+tcp"] {
        let firsts: std::collections::BTreeSet<String> = (0..4)
            .map(|_| {
                let out = r.dig(&[transport, "+short", "nas.lan"]);
                let lines: Vec<&str> = out.lines().collect();
                assert_eq!(lines.len(), 2, "both addresses every time: {out}");
                lines[0].to_string()
            })
            .collect();
        assert_eq!(
            firsts.len(),
            2,
            "{transport}: each address comes first in turn: {firsts:?}"
        );
    }
}

/// The threads of the agent named `name` (its UDP workers are `dns-udp`).
fn threads_named(pid: i32, name: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name)
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn stop_ends_the_udp_worker_and_frees_the_port_for_the_next_serve() {
    let r = Resolver::start("dns-stop", &[]);
    r.add("nas", "192.168.1.20");
    assert!(r.dig(&["+short", "nas.lan"]).contains("192.168.1.20"));
    let pid = r.agent.pid();
    assert_eq!(
        threads_named(pid, "dns-udp"),
        1,
        "one worker per UDP socket"
    );

    assert!(r.koi(&["stop"]).status.success());
    assert!(
        wait_until(Duration::from_secs(5), || threads_named(pid, "dns-udp")
            == 0),
        "the worker thread outlived stop"
    );
    // Nothing answers on the port any more, and a new serve can take the very same port.
    let ask = query("nas.lan", RecordType::A, None).encode(512).unwrap();
    assert!(
        udp(r.addr(), &ask, Duration::from_millis(300)).is_none(),
        "answered after stop"
    );
    let port = r.port.to_string();
    let again = r.koi(&["serve", "--listen", "127.0.0.1", "--port", &port]);
    assert!(
        again.status.success(),
        "{}{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(r.dig(&["+short", "nas.lan"]).contains("192.168.1.20"));
    assert_eq!(threads_named(pid, "dns-udp"), 1);
}

#[test]
fn queries_are_logged_at_debug_level_only() {
    for (level, logged) in [("info", false), ("debug", true)] {
        let agent = Agent::start_in(TempDir::new("dns-log"), &["--log-level", level]);
        let out = common::koi(&[
            "dns",
            "serve",
            "--state-dir",
            agent.dir.str(),
            "--listen",
            "127.0.0.1",
            "--port",
            "0",
            "--json",
        ]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let listen = text
            .split("\"listen\":[\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let port = listen.rsplit(':').next().unwrap().to_string();
        let answer = run("dig", &["@127.0.0.1", "-p", &port, "secret-name.lan"]);
        assert!(answer.contains("NXDOMAIN"), "{answer}");
        if logged {
            assert!(
                agent.wait_log("secret-name.lan", Duration::from_secs(5)),
                "debug log lacks the query"
            );
        } else {
            // Stopping logs at info level after the query was answered: once that line is
            // there, a query line would be too.
            assert!(
                common::koi(&["dns", "stop", "--state-dir", agent.dir.str()])
                    .status
                    .success()
            );
            assert!(agent.wait_log("dns: stopped", Duration::from_secs(5)));
            let log = agent.log.lock().unwrap().clone();
            assert!(
                !log.contains("secret-name"),
                "query logged at {level}: {log}"
            );
        }
    }
}
