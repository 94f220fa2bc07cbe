//! Health service checks against real servers on loopback (python `http.server`, python `ssl`
//! with certificates made by the `openssl` CLI, and hostile servers from
//! `tests/net/health_peer.py`), the transition log, persistence, and `watch` under tmux.
//!
//! The agent runs in the root namespace, so with `--no-mdns` (the Agent helper adds it).
#![cfg(feature = "health")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{koi, wait_until, Agent, TempDir};
use koi::health::json::{LogJson, ServiceJson, StatusJson};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

/// A server from tests/net/health_peer.py, killed on drop.
struct Peer {
    child: Child,
    port: u16,
}

impl Peer {
    fn start(args: &[&str]) -> Peer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/net/health_peer.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("ready ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("peer {args:?} did not start: {line:?}"));
        Peer { child, port }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(agent: &Agent, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend(["--state-dir", agent.dir.str()]);
    koi(&all)
}

fn ok(agent: &Agent, args: &[&str]) -> String {
    let out = run(agent, args);
    assert!(
        out.status.success(),
        "koi {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn status(agent: &Agent) -> StatusJson {
    let text = ok(agent, &["health", "status", "--json"]);
    miniserde::json::from_str(&text).expect("status JSON")
}

fn service(agent: &Agent, name: &str) -> Option<ServiceJson> {
    status(agent).services.into_iter().find(|s| s.name == name)
}

/// Waits until check `name` shows `label`; returns it.
fn wait_label(agent: &Agent, name: &str, label: &str) -> ServiceJson {
    let mut last = None;
    let seen = wait_until(LIMIT, || {
        last = service(agent, name);
        last.as_ref().is_some_and(|s| s.label == label)
    });
    assert!(seen, "{name} never showed {label}: {last:?}");
    last.unwrap()
}

/// `from → to` of each log line about `name`.
fn changes(agent: &Agent, name: &str) -> Vec<String> {
    let text = ok(agent, &["health", "log", "--json"]);
    let log: LogJson = miniserde::json::from_str(&text).unwrap();
    log.transitions
        .iter()
        .filter(|t| t.name == name)
        .map(|t| format!("{} → {}", t.from, t.to))
        .collect()
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn rss_kib(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn http_and_tcp_checks_log_each_transition_once_and_persist() {
    let dir = TempDir::new("health-http");
    let code = dir.path().join("status-code");
    std::fs::write(&code, "200").unwrap();
    let mut web = Peer::start(&["status", code.to_str().unwrap()]);
    let closed = closed_port();
    let started = koi::base::now_unix();
    let agent = Agent::start("health-http");
    let url = format!("http://127.0.0.1:{}/health", web.port);
    let open = format!("127.0.0.1:{}", web.port);
    let shut = format!("127.0.0.1:{closed}");
    let fast = ["--interval", "300ms", "--timeout", "2s"];
    ok(
        &agent,
        &[&["health", "add", "web", "--http", &url][..], &fast].concat(),
    );
    ok(
        &agent,
        &[&["health", "add", "open", "--tcp", &open][..], &fast].concat(),
    );
    ok(
        &agent,
        &[&["health", "add", "closed", "--tcp", &shut][..], &fast].concat(),
    );

    let w = wait_label(&agent, "web", "200");
    assert_eq!((w.state.as_str(), w.reason.as_str()), ("up", "HTTP 200"));
    assert_eq!(wait_label(&agent, "open", "open").state, "up");
    let c = wait_label(&agent, "closed", "refused");
    assert_eq!(c.state, "down");
    assert!(c.reason.contains("refused"), "{c:?}");

    std::fs::write(&code, "500").unwrap();
    let w = wait_label(&agent, "web", "500");
    assert_eq!(
        (w.state.as_str(), w.reason.as_str()),
        ("down", "HTTP 500, expected 200-399")
    );

    web.stop();
    let w = wait_label(&agent, "web", "refused");
    assert_eq!(w.state, "down");
    wait_label(&agent, "open", "refused");
    // A few more runs in the same state must not log anything new.
    let runs = w.runs;
    assert!(wait_until(LIMIT, || service(&agent, "web").unwrap().runs >= runs + 3));

    assert_eq!(
        changes(&agent, "web"),
        ["unknown → 200", "200 → 500", "500 → refused"]
    );
    assert_eq!(
        changes(&agent, "open"),
        ["unknown → open", "open → refused"]
    );
    assert_eq!(changes(&agent, "closed"), ["unknown → refused"]);

    // The text log: spec §6.5 lines with timestamps from this run, in order.
    let text = ok(&agent, &["health", "log", "--since", "1h"]);
    let web_lines: Vec<&str> = text.lines().filter(|l| l.contains("| web ")).collect();
    assert_eq!(web_lines.len(), 3, "{text}");
    assert!(
        web_lines[1].contains("| 200 → 500    | HTTP 500, expected 200-399"),
        "{text}"
    );
    let times: Vec<u64> = web_lines
        .iter()
        .map(|l| koi::health::translog::parse_time(&l[..19]).unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{text}");
    assert!(
        times[0] >= started && times[2] <= koi::base::now_unix(),
        "{text}"
    );
    let file = std::fs::read_to_string(agent.dir.path().join("health.log")).unwrap();
    assert_eq!(file.lines().count(), 6, "{file}");

    // Status: plain text (stdout is not a TTY), and the `koi status` line.
    let plain = ok(&agent, &["health", "status"]);
    assert!(!plain.contains('\x1b') && !plain.contains('✓'), "{plain}");
    assert!(plain.contains("  web          down    refused"), "{plain}");
    let summary = ok(&agent, &["status"]);
    assert!(summary.contains("health     0 up, 3 down ("), "{summary}");

    // Checks persist across a restart.
    let mut agent = agent;
    agent.signal(libc::SIGTERM);
    assert!(agent.wait_exit(Duration::from_secs(10)).is_some());
    let dir2 = std::mem::replace(&mut agent.dir, TempDir::new("health-http-spare"));
    drop(agent);
    let agent = Agent::start_in(dir2, &[]);
    let names: Vec<String> = status(&agent)
        .services
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["closed", "open", "web"]);
    assert_eq!(wait_label(&agent, "closed", "refused").url, shut);

    // Remove, and errors that say what to do.
    ok(&agent, &["health", "remove", "closed"]);
    assert!(service(&agent, "closed").is_none());
    let again = run(&agent, &["health", "remove", "closed"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("no check named"));
    let dup = run(&agent, &["health", "add", "web", "--tcp", &open]);
    assert!(String::from_utf8_lossy(&dup.stderr).contains("exists"));
    let bad = run(
        &agent,
        &["health", "add", "x", "--tcp", &open, "--interval", "30"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("500ms, 30s, 5m, 1h"));
    drop(dir);
}

#[test]
fn hostile_targets_fail_with_clear_reasons_and_bounded_memory() {
    let dir = TempDir::new("health-hostile");
    let counts = dir.path().join("flood-bytes");
    let silent = Peer::start(&["silent"]);
    let flood = Peer::start(&["flood", counts.to_str().unwrap()]);
    let slow = Peer::start(&["slow"]);
    let agent = Agent::start("health-hostile");
    let idle = rss_kib(agent.pid());
    let add = |name: &str, port: u16| {
        let url = format!("http://127.0.0.1:{port}/");
        ok(
            &agent,
            &[
                "health",
                "add",
                name,
                "--http",
                &url,
                "--interval",
                "1s",
                "--timeout",
                "2s",
            ],
        );
    };
    add("silent", silent.port);
    add("flood", flood.port);
    add("slow", slow.port);

    let started = Instant::now();
    let s = wait_label(&agent, "silent", "timeout");
    assert_eq!(
        s.reason,
        "timeout: no answer within 2s waiting for the response"
    );
    let s = wait_label(&agent, "slow", "timeout");
    assert_eq!(
        s.reason,
        "timeout: no answer within 2s reading the response head (it arrived too slowly)"
    );
    // The 1 GB body is never read: the check sees the head and hangs up.
    let f = wait_label(&agent, "flood", "200");
    assert_eq!(f.state, "up");
    assert!(wait_until(LIMIT, || service(&agent, "flood").unwrap().runs >= 5));
    assert!(wait_until(LIMIT, || service(&agent, "silent")
        .unwrap()
        .runs
        >= 3));
    assert!(started.elapsed() < Duration::from_secs(30));
    let sent: Vec<u64> = std::fs::read_to_string(&counts)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(sent.len() >= 4, "{sent:?}");
    // What the kernel's socket buffers absorb, not a gigabyte.
    assert!(sent.iter().all(|&b| b < 32 << 20), "{sent:?}");
    let grown = rss_kib(agent.pid()).saturating_sub(idle);
    assert!(grown < 4096, "agent RSS grew by {grown} KiB");
    // None of them is slowed by the others: each keeps its 1 s interval.
    for s in status(&agent).services {
        assert!(s.max_drift_ms < 1000, "{s:?}");
    }
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and leaves signed by it: good, expired, wrong name; and one from an untrusted CA.
fn make_certs(dir: &std::path::Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=koi test CA",
            ],
        ]
        .concat(),
    );
    std::fs::write(dir.join("good.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    std::fs::write(dir.join("wrong.ext"), "subjectAltName=DNS:wrong.example\n").unwrap();
    for (name, ext, days) in [
        ("good", "good.ext", "2"),
        ("expired", "good.ext", "-1"),
        ("wrong", "wrong.ext", "2"),
    ] {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let pem = format!("{name}.pem");
        openssl(
            dir,
            &[
                &["req"][..],
                &ec,
                &["-keyout", &key, "-out", &csr, "-subj", "/CN=localhost"],
            ]
            .concat(),
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                days,
                "-extfile",
                ext,
                "-out",
                &pem,
            ],
        );
    }
    // Signed by a CA nobody trusts.
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "other.key",
                "-out",
                "other.pem",
                "-days",
                "2",
                "-subj",
                "/CN=not trusted",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "self.key",
                "-out",
                "self.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "self.csr",
            "-CA",
            "other.pem",
            "-CAkey",
            "other.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "good.ext",
            "-out",
            "self.pem",
        ],
    );
}

#[test]
fn https_checks_name_the_tls_problem() {
    let dir = TempDir::new("health-tls");
    make_certs(dir.path());
    let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let peers: Vec<(&str, Peer)> = ["good", "expired", "wrong", "self"]
        .into_iter()
        .map(|n| {
            (
                n,
                Peer::start(&["tls", &p(&format!("{n}.pem")), &p(&format!("{n}.key"))]),
            )
        })
        .collect();
    // The agent trusts the test CA as its system bundle (SSL_CERT_FILE, as OpenSSL does).
    let agent = start_agent_trusting("health-tls", &p("ca.pem"));
    for (name, peer) in &peers {
        let url = format!("https://localhost:{}/", peer.port);
        ok(
            &agent,
            &[
                "health",
                "add",
                name,
                "--http",
                &url,
                "--interval",
                "500ms",
                "--timeout",
                "3s",
            ],
        );
    }
    assert_eq!(wait_label(&agent, "good", "200").state, "up");
    assert_eq!(
        wait_label(&agent, "expired", "tls").reason,
        "TLS: certificate expired"
    );
    assert_eq!(
        wait_label(&agent, "wrong", "tls").reason,
        "TLS: certificate not valid for name \"localhost\" (wrong name)"
    );
    assert_eq!(
        wait_label(&agent, "self", "tls").reason,
        "TLS: certificate has an unknown issuer (not signed by a trusted CA)"
    );
    let plain = ok(&agent, &["health", "status"]);
    assert!(plain.contains("(TLS: certificate expired)"), "{plain}");
}

/// `Agent::start_in`, with `SSL_CERT_FILE=bundle`.
fn start_agent_trusting(tag: &str, bundle: &str) -> Agent {
    // The helper inherits this process's environment; children of other tests are already
    // started or do not use HTTPS, so setting it just around the spawn is enough.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap();
    let saved = std::env::var_os("SSL_CERT_FILE");
    std::env::set_var("SSL_CERT_FILE", bundle);
    let agent = Agent::start_in(TempDir::new(tag), &[]);
    match saved {
        Some(v) => std::env::set_var("SSL_CERT_FILE", v),
        None => std::env::remove_var("SSL_CERT_FILE"),
    }
    agent
}

/// tmux on a private socket, killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.cmd(&["capture-pane", "-p", "-e", "-t", "w"])
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

#[test]
fn watch_under_tmux_redraws_in_place_and_ctrl_c_leaves_a_clean_prompt() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux missing (tests/install-deps.sh installs it); skipping");
        return;
    }
    let dir = TempDir::new("health-watch");
    let code = dir.path().join("status-code");
    std::fs::write(&code, "200").unwrap();
    let web = Peer::start(&["status", code.to_str().unwrap()]);
    let agent = Agent::start("health-watch");
    let url = format!("http://127.0.0.1:{}/", web.port);
    ok(
        &agent,
        &[
            "health",
            "add",
            "web",
            "--http",
            &url,
            "--interval",
            "300ms",
        ],
    );
    wait_label(&agent, "web", "200");

    let tmux = Tmux {
        socket: format!("koi-test-{}", std::process::id()),
    };
    tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "w",
        "-x",
        "120",
        "-y",
        "30",
        "env PS1='READY$ ' bash --norc --noprofile",
    ]);
    assert!(wait_until(LIMIT, || tmux.screen().contains("READY$")));
    let watch = format!(
        "{} health watch --every 300ms --state-dir {}",
        common::koi_bin(),
        agent.dir.str()
    );
    tmux.cmd(&["send-keys", "-t", "w", &watch, "Enter"]);

    // Its lines appear: the web line, green, with a ✓.
    let green = "\x1b[32m  web          ✓ 200";
    assert!(
        wait_until(LIMIT, || tmux.screen().contains(green)),
        "{}",
        tmux.screen()
    );
    assert!(tmux.screen().contains("Machines") && tmux.screen().contains("Services"));
    assert_eq!(
        tmux.cmd(&["display", "-p", "-t", "w", "#{cursor_flag}"])
            .trim(),
        "0",
        "cursor hidden while watching"
    );

    // The state changes: the same line turns red, in place (one web line on screen, no scrolling).
    std::fs::write(&code, "503").unwrap();
    let red = "\x1b[31m  web          ✗ 503";
    assert!(
        wait_until(LIMIT, || tmux.screen().contains(red)),
        "{}",
        tmux.screen()
    );
    let screen = tmux.screen();
    assert_eq!(screen.matches("  web  ").count(), 1, "{screen}");
    assert_eq!(screen.matches("Services").count(), 1, "{screen}");
    // And green again when it comes back.
    std::fs::write(&code, "200").unwrap();
    assert!(
        wait_until(LIMIT, || tmux.screen().contains(green)),
        "{}",
        tmux.screen()
    );

    // Ctrl-C: the prompt comes back on a clean line, colours off, cursor visible.
    tmux.cmd(&["send-keys", "-t", "w", "C-c"]);
    let prompt_back = wait_until(LIMIT, || {
        let s = tmux.cmd(&["capture-pane", "-p", "-t", "w"]);
        s.lines().rev().find(|l| !l.trim().is_empty()) == Some("READY$ ")
            || s.lines().rev().find(|l| !l.trim().is_empty()) == Some("READY$")
    });
    assert!(prompt_back, "{}", tmux.screen());
    assert_eq!(
        tmux.cmd(&["display", "-p", "-t", "w", "#{cursor_flag}"])
            .trim(),
        "1"
    );
    tmux.cmd(&["send-keys", "-t", "w", "echo AFTER-$((6*7))", "Enter"]);
    assert!(wait_until(LIMIT, || tmux
        .cmd(&["capture-pane", "-p", "-t", "w"])
        .contains("AFTER-42")));
    let after = tmux.screen();
    let line = after
        .lines()
        .find(|l| l.contains("AFTER-42") && !l.contains("echo"))
        .unwrap();
    assert_eq!(line, "AFTER-42", "no colour left over: {line:?}");
}
