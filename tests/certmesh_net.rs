//! Certmesh across two hosts of a network-namespace test bed, against real peers: a CA
//! created non-interactively on host 1, `koi certmesh join` on host 2 with a TOTP code from an
//! independent implementation (Python's standard library, RFC 6238 written out), then
//! `openssl verify`, the SANs, curl against the CA API, and headless Chromium with the CA in
//! an NSS database (and refused without it). Also: team approval and denial, the enrollment
//! window, scope refusal, compliance, and `log --verify` against edits.
//!
//! Needs root (network namespaces); skipped otherwise. Chromium parts are skipped (with a
//! message) when `chromium`/`certutil` are missing; tests/install-deps.sh installs them.
#![cfg(all(feature = "certmesh", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::netns::{require_root, TestBed};
use common::totp::{now, totp, uri_secret};
use common::{json_field, koi_bin, wait_until, TempDir};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn koi_in(bed: &TestBed, host: usize, args: &[&str]) -> Output {
    bed.exec(host, koi_bin())
        .args(args)
        .env_remove("KOI_STATE_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run koi")
}

fn text(o: &Output) -> String {
    common::output_text(o)
}

// A CA agent running in host 1's namespace is killed on drop.
use common::Reaped as CaAgent;

struct Ca {
    dir: TempDir,
    fingerprint: String,
    secret: String,
    port: u16,
    _agent: CaAgent,
}

/// `koi certmesh create` on host 1 with `extra` flags, then its agent; waits until host 2
/// reaches the API.
fn start_ca(bed: &TestBed, tag: &str, port: u16, extra: &[&str]) -> Ca {
    start_ca_with(bed, tag, port, extra, false)
}

/// [`start_ca`], with the agent's mDNS on (inside the bed only) when `mdns` is set.
fn start_ca_with(bed: &TestBed, tag: &str, port: u16, extra: &[&str], mdns: bool) -> Ca {
    let dir = TempDir::new(tag);
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let state = dir.path().join("ca");
    let mut args = vec![
        "certmesh",
        "create",
        "--passphrase-file",
        pass.to_str().unwrap(),
        "--entropy",
        "os",
        "--hostname",
        "alpha",
        "--no-trust-store",
        "--json",
        "--state-dir",
        state.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = koi_in(bed, 1, &args);
    assert!(out.status.success(), "create: {}", text(&out));
    let json = String::from_utf8_lossy(&out.stdout).to_string();
    let fingerprint = json_field(&json, "ca_fingerprint");
    assert_eq!(fingerprint.len(), 64);
    let secret = uri_secret(&json_field(&json, "totp_uri"));
    // The fingerprint printed is the SHA-256 of the root's DER, as openssl computes it.
    let der = Command::new("openssl")
        .args(["x509", "-outform", "der", "-in"])
        .arg(state.join("certmesh/ca/ca-cert.pem"))
        .output()
        .unwrap();
    let sha = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&der.stdout)?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(String::from_utf8_lossy(&sha.stdout).starts_with(&fingerprint));

    let listen = format!("0.0.0.0:{port}");
    let agent = bed
        .exec(1, koi_bin())
        .args([
            "agent",
            "--control",
            "127.0.0.1:0",
            "--certmesh-listen",
            &listen,
            "--state-dir",
            state.to_str().unwrap(),
        ])
        // With mDNS, a host name of its own: the bed's hosts share the machine's UTS name.
        .args(if mdns {
            &["--hostname", "alpha"][..]
        } else {
            &["--no-mdns"][..]
        })
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let agent = CaAgent(agent);
    let url = format!("https://{}:{port}/v1/certmesh/health", bed.ipv4(1));
    let ready = wait_until(Duration::from_secs(20), || {
        bed.exec(2, "curl")
            .args(["-sk", "--max-time", "2", &url])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(ready, "the CA API never answered at {url}");
    // Only the personal profile auto-unlocks: the others start locked and say so.
    let st = state.to_str().unwrap();
    let status = text(&koi_in(
        bed,
        1,
        &["certmesh", "status", "--json", "--state-dir", st],
    ));
    if !extra.contains(&"personal") {
        assert!(status.contains("\"locked\":true"), "{status}");
        let out = koi_in(
            bed,
            1,
            &[
                "certmesh",
                "unlock",
                "--passphrase-file",
                pass.to_str().unwrap(),
                "--state-dir",
                st,
            ],
        );
        assert!(out.status.success(), "unlock: {}", text(&out));
        let status = text(&koi_in(
            bed,
            1,
            &["certmesh", "status", "--json", "--state-dir", st],
        ));
        assert!(status.contains("\"locked\":false"), "{status}");
    } else {
        assert!(status.contains("\"locked\":false"), "{status}");
    }
    Ca {
        dir,
        fingerprint,
        secret,
        port,
        _agent: agent,
    }
}

impl Ca {
    fn state(&self) -> String {
        self.dir.path().join("ca").display().to_string()
    }

    fn addr(&self, bed: &TestBed) -> String {
        format!("{}:{}", bed.ipv4(1), self.port)
    }
}

fn join_args<'a>(
    ca_addr: &'a str,
    code: &'a str,
    fp: &'a str,
    host: &'a str,
    state: &'a str,
) -> Vec<&'a str> {
    vec![
        "certmesh",
        "join",
        "--ca",
        ca_addr,
        "--code",
        code,
        "--ca-fingerprint",
        fp,
        "--hostname",
        host,
        "--no-trust-store",
        "--json",
        "--state-dir",
        state,
    ]
}

fn tools(names: &[&str]) -> bool {
    names.iter().all(|n| {
        Command::new("sh")
            .args(["-c", &format!("command -v {n}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn personal_mesh_across_two_hosts_with_openssl_curl_and_chromium() {
    if !require_root() {
        return;
    }
    let bed = TestBed::new("cmjoin", 2);
    let ca = start_ca(&bed, "cm-personal", 5642, &["--profile", "personal"]);
    let member = TempDir::new("cm-member");
    let mstate = member.path().join("m").display().to_string();
    let addr = ca.addr(&bed);
    let ip2 = bed.ipv4(2).to_string();

    // Without --ca-fingerprint and without a terminal, join refuses and names the fingerprint.
    let code = totp(&ca.secret, now());
    let out = koi_in(
        &bed,
        2,
        &[
            "certmesh",
            "join",
            "--ca",
            &addr,
            "--code",
            &code,
            "--hostname",
            "beta",
            "--no-trust-store",
            "--state-dir",
            &mstate,
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains(&ca.fingerprint), "{}", text(&out));
    // A wrong fingerprint is refused before anything is sent.
    let wrong = "00".repeat(32);
    let out = koi_in(&bed, 2, &join_args(&addr, &code, &wrong, "beta", &mstate));
    assert!(!out.status.success());
    assert!(text(&out).contains("not the expected"), "{}", text(&out));

    let out = koi_in(
        &bed,
        2,
        &join_args(&addr, &code, &ca.fingerprint, "beta", &mstate),
    );
    assert!(out.status.success(), "join: {}", text(&out));
    let certs = member.path().join("m/certs/beta");
    for f in ["cert.pem", "key.pem", "ca.pem", "fullchain.pem"] {
        assert!(certs.join(f).exists(), "{f} missing");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(certs.join("key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The same code again is refused (one-time codes).
    let again = koi_in(
        &bed,
        2,
        &join_args(&addr, &code, &ca.fingerprint, "beta2", &mstate),
    );
    assert!(!again.status.success());
    assert!(text(&again).contains("already used"), "{}", text(&again));

    // openssl verifies the chain.
    let v = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(certs.join("ca.pem"))
        .arg(certs.join("cert.pem"))
        .output()
        .unwrap();
    assert!(v.status.success(), "openssl verify: {}", text(&v));

    // The names: CN is the bare hostname; SANs hold hostname.lan, hostname.local, host 2's IP.
    let x = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-subject",
            "-ext",
            "subjectAltName",
            "-in",
        ])
        .arg(certs.join("cert.pem"))
        .output()
        .unwrap();
    let x = text(&x);
    assert!(x.contains("CN=beta") || x.contains("CN = beta"), "{x}");
    for san in [
        "DNS:beta.lan",
        "DNS:beta.local",
        &format!("IP Address:{ip2}"),
    ] {
        assert!(x.contains(san), "{san} not in {x}");
    }

    // curl from host 2 with only the mesh CA reaches the CA's API.
    let url = format!("https://{addr}/v1/certmesh/health");
    let c = bed
        .exec(2, "curl")
        .args(["-sS", "--max-time", "5", "--cacert"])
        .arg(certs.join("ca.pem"))
        .arg(&url)
        .output()
        .unwrap();
    assert!(c.status.success(), "curl: {}", text(&c));
    assert!(text(&c).contains(&ca.fingerprint));

    // The CA's log verifies and records both enrollments and the refused replay.
    let log = koi_in(&bed, 1, &["certmesh", "log", "--state-dir", &ca.state()]);
    let log = text(&log);
    assert!(
        log.contains("enrolled") && log.contains("beta") && log.contains("enroll_failed"),
        "{log}"
    );
    let verify = koi_in(
        &bed,
        1,
        &["certmesh", "log", "--verify", "--state-dir", &ca.state()],
    );
    assert!(verify.status.success(), "{}", text(&verify));
    let status = koi_in(
        &bed,
        1,
        &["certmesh", "status", "--json", "--state-dir", &ca.state()],
    );
    let status = text(&status);
    assert!(
        status.contains("\"beta\"") && status.contains("\"locked\":false"),
        "{status}"
    );

    member_names_resolve_in_the_cas_dns(&bed, &ca, &ip2);
    chromium_check(&bed, &certs, &ip2);
}

/// The CA's agent serves DNS: the new member `beta.lan` resolves (for dig on host 2) to the
/// address on its certificate, and the CA's own `alpha.lan` to host 1's.
fn member_names_resolve_in_the_cas_dns(bed: &TestBed, ca: &Ca, ip2: &str) {
    if !tools(&["dig"]) {
        return;
    }
    let out = koi_in(
        bed,
        1,
        &["dns", "serve", "--port", "5300", "--state-dir", &ca.state()],
    );
    assert!(out.status.success(), "dns serve: {}", text(&out));
    let ip1 = bed.ipv4(1).to_string();
    let dig = |name: &str| {
        let o = bed
            .exec(2, "dig")
            .args(["+short", "+time=1", "+tries=1", "-p", "5300"])
            .arg(format!("@{ip1}"))
            .arg(name)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let mut got = String::new();
    let resolved = wait_until(Duration::from_secs(15), || {
        got = dig("beta.lan");
        got == ip2
    });
    assert!(resolved, "beta.lan -> {got:?}, want {ip2}");
    assert_eq!(dig("alpha.lan"), ip1);
    let list = text(&koi_in(
        bed,
        1,
        &["dns", "lookup", "beta.lan", "--state-dir", &ca.state()],
    ));
    assert!(list.contains("certmesh"), "{list}");
}

/// A page served on host 2 with its new cert loads in headless Chromium when the mesh CA is
/// in the NSS db, and is refused with an empty NSS db.
fn chromium_check(bed: &TestBed, certs: &std::path::Path, ip2: &str) {
    if !tools(&["chromium", "certutil"]) {
        eprintln!(
            "skipped the Chromium part: chromium or certutil missing (tests/install-deps.sh)"
        );
        return;
    }
    let work = TempDir::new("cm-chromium");
    std::fs::write(
        work.path().join("index.html"),
        "<!doctype html><p>KOI-CERTMESH-OK</p>\n",
    )
    .unwrap();
    let server = format!(
        "import http.server, ssl, functools\n\
         h = functools.partial(http.server.SimpleHTTPRequestHandler, directory='{}')\n\
         s = http.server.HTTPServer(('{ip2}', 8443), h)\n\
         c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
         c.load_cert_chain('{}', '{}')\n\
         s.socket = c.wrap_socket(s.socket, server_side=True)\n\
         s.serve_forever()\n",
        work.path().display(),
        certs.join("fullchain.pem").display(),
        certs.join("key.pem").display()
    );
    let srv = bed
        .exec(2, "python3")
        .args(["-c", &server])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _srv = CaAgent(srv);
    let up = wait_until(Duration::from_secs(10), || {
        bed.exec(2, "curl")
            .args(["-sk", "--max-time", "2", &format!("https://{ip2}:8443/")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(up, "python https server did not start");
    let run = |label: &str, trust: bool| -> String {
        let home = work.path().join(format!("home-{label}"));
        let db = home.join(".pki/nssdb");
        std::fs::create_dir_all(&db).unwrap();
        let dbarg = format!("sql:{}", db.display());
        let st = Command::new("certutil")
            .args(["-d", &dbarg, "-N", "--empty-password"])
            .output()
            .unwrap();
        assert!(st.status.success(), "{}", text(&st));
        if trust {
            let st = Command::new("certutil")
                .args(["-d", &dbarg, "-A", "-t", "C,,", "-n", "koi-test-ca", "-i"])
                .arg(certs.join("ca.pem"))
                .output()
                .unwrap();
            assert!(st.status.success(), "{}", text(&st));
        }
        let out = bed
            .exec(2, "timeout")
            .args([
                "60",
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!(
                "--host-resolver-rules=MAP beta.lan {ip2}, MAP * ~NOTFOUND"
            ))
            .arg(format!(
                "--user-data-dir={}",
                home.join("profile").display()
            ))
            .args([
                "--virtual-time-budget=5000",
                "--dump-dom",
                "https://beta.lan:8443/",
            ])
            .env("HOME", &home)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let trusted = run("trusted", true);
    assert!(
        trusted.contains("KOI-CERTMESH-OK"),
        "Chromium did not load the page with the CA trusted: {trusted}"
    );
    let untrusted = run("untrusted", false);
    assert!(
        !untrusted.contains("KOI-CERTMESH-OK"),
        "Chromium loaded the page without trusting the CA"
    );
}

#[test]
fn team_profile_waits_for_approval_and_deny_fails_the_join() {
    if !require_root() {
        return;
    }
    let bed = TestBed::new("cmteam", 2);
    let ca = start_ca(
        &bed,
        "cm-team",
        5642,
        &["--profile", "team", "--operator", "Maria Santos"],
    );
    let member = TempDir::new("cm-team-m");
    let mstate = member.path().join("m").display().to_string();
    let addr = ca.addr(&bed);
    let t = now();
    let spawn_join = |code: &str, host: &str| -> Child {
        bed.exec(2, koi_bin())
            .args(join_args(&addr, code, &ca.fingerprint, host, &mstate))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let pending = |host: &str| {
        wait_until(Duration::from_secs(15), || {
            let s = koi_in(
                &bed,
                1,
                &["certmesh", "status", "--json", "--state-dir", &ca.state()],
            );
            text(&s).contains(&format!("\"hostname\":\"{host}\""))
                && text(&s).contains("\"pending\":[{")
        })
    };
    let mut j = spawn_join(&totp(&ca.secret, t), "gamma");
    assert!(pending("gamma"), "the join never appeared as pending");
    assert!(
        j.try_wait().unwrap().is_none(),
        "the join must wait for approval"
    );
    let a = koi_in(
        &bed,
        1,
        &["certmesh", "approve", "gamma", "--state-dir", &ca.state()],
    );
    assert!(a.status.success(), "approve: {}", text(&a));
    let out = j.wait_with_output().unwrap();
    let o = text(&out);
    assert!(out.status.success(), "join after approval: {o}");
    assert!(
        o.contains("\"status\":\"waiting\"") && o.contains("\"status\":\"issued\""),
        "{o}"
    );

    let j = spawn_join(&totp(&ca.secret, t + 30), "delta");
    assert!(pending("delta"));
    let d = koi_in(
        &bed,
        1,
        &["certmesh", "deny", "delta", "--state-dir", &ca.state()],
    );
    assert!(d.status.success(), "deny: {}", text(&d));
    let out = j.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("denied"), "{}", text(&out));
    assert!(!member.path().join("m/certs/delta").exists());
    let log = text(&koi_in(
        &bed,
        1,
        &["certmesh", "log", "--state-dir", &ca.state()],
    ));
    assert!(
        log.contains("Maria Santos") && log.contains("approved") && log.contains("denied"),
        "{log}"
    );
}

#[test]
fn enrollment_window_compliance_and_audit_tampering() {
    if !require_root() {
        return;
    }
    let bed = TestBed::new("cmwin", 2);
    let [a, b, c] = bed.subnet();
    let subnet = format!("{a}.{b}.{c}.0/24");
    // Organization: closed by default, scoped to the bed's subnet, no approval to keep it short.
    let ca = start_ca(
        &bed,
        "cm-org",
        5642,
        &[
            "--profile",
            "organization",
            "--operator",
            "Ada",
            "--domain",
            "school.internal",
            "--subnet",
            &subnet,
        ],
    );
    let member = TempDir::new("cm-org-m");
    let mstate = member.path().join("m").display().to_string();
    let addr = ca.addr(&bed);
    let t = now();
    let code = totp(&ca.secret, t);
    let out = koi_in(
        &bed,
        2,
        &join_args(&addr, &code, &ca.fingerprint, "pc1", &mstate),
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("enrollment closed"), "{}", text(&out));

    let o = koi_in(
        &bed,
        1,
        &[
            "certmesh",
            "open-enrollment",
            "--duration",
            "6s",
            "--state-dir",
            &ca.state(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let approve_when_pending = || {
        wait_until(Duration::from_secs(15), || {
            koi_in(
                &bed,
                1,
                &["certmesh", "approve", "pc1", "--state-dir", &ca.state()],
            )
            .status
            .success()
        })
    };
    let j = bed
        .exec(2, koi_bin())
        .args(join_args(&addr, &code, &ca.fingerprint, "pc1", &mstate))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(approve_when_pending());
    let out = j.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "join in an open window: {}",
        text(&out)
    );
    let sans = text(
        &Command::new("openssl")
            .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
            .arg(member.path().join("m/certs/pc1/cert.pem"))
            .output()
            .unwrap(),
    );
    assert!(sans.contains("DNS:pc1.school.internal"), "{sans}");

    // The window closes by itself at its deadline.
    assert!(wait_until(Duration::from_secs(15), || {
        text(&koi_in(
            &bed,
            1,
            &["certmesh", "status", "--json", "--state-dir", &ca.state()],
        ))
        .contains("\"enrollment\":\"closed\"")
    }));
    let out = koi_in(
        &bed,
        2,
        &join_args(
            &addr,
            &totp(&ca.secret, t + 30),
            &ca.fingerprint,
            "pc2",
            &mstate,
        ),
    );
    assert!(text(&out).contains("enrollment closed"), "{}", text(&out));

    let compliance = text(&koi_in(
        &bed,
        1,
        &["certmesh", "compliance", "--state-dir", &ca.state()],
    ));
    assert!(
        compliance.contains("Certmesh Security Summary") && compliance.contains("school.internal"),
        "{compliance}"
    );

    // log --verify catches an edited entry.
    let ok = koi_in(
        &bed,
        1,
        &["certmesh", "log", "--verify", "--state-dir", &ca.state()],
    );
    assert!(ok.status.success(), "{}", text(&ok));
    let path = ca.dir.path().join("ca/certmesh/audit.log");
    let body = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, body.replacen("pc1", "pcX", 1)).unwrap();
    let bad = koi_in(
        &bed,
        1,
        &["certmesh", "log", "--verify", "--state-dir", &ca.state()],
    );
    assert!(!bad.status.success());
    assert!(text(&bad).contains("FAILED"), "{}", text(&bad));
}

#[test]
fn out_of_subnet_member_is_refused_and_logged() {
    if !require_root() {
        return;
    }
    let bed = TestBed::new("cmscope", 2);
    // A /31 holding the CA (host 1 is .1) but not host 2 (.2).
    let [a, b, c] = bed.subnet();
    let subnet = format!("{a}.{b}.{c}.0/31");
    let ca = start_ca(
        &bed,
        "cm-scope",
        5642,
        &["--profile", "personal", "--subnet", &subnet],
    );
    let member = TempDir::new("cm-scope-m");
    let mstate = member.path().join("m").display().to_string();
    let out = koi_in(
        &bed,
        2,
        &join_args(
            &ca.addr(&bed),
            &totp(&ca.secret, now()),
            &ca.fingerprint,
            "far",
            &mstate,
        ),
    );
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("outside this CA's scope") && t.contains(&subnet),
        "{t}"
    );
    let log = text(&koi_in(
        &bed,
        1,
        &["certmesh", "log", "--state-dir", &ca.state()],
    ));
    assert!(
        log.contains("enroll_refused")
            && log.contains("far (")
            && log.contains("outside the subnet scope"),
        "{log}"
    );
}

#[test]
fn join_without_ca_finds_it_over_mdns() {
    if !require_root() {
        return;
    }
    let bed = TestBed::new("cmmdns", 2);
    let ca = start_ca_with(&bed, "cm-mdns", 5642, &["--profile", "personal"], true);
    let member = TempDir::new("cm-mdns-m");
    let mstate = member.path().join("m").display().to_string();
    let code = totp(&ca.secret, now());
    let out = koi_in(
        &bed,
        2,
        &[
            "certmesh",
            "join",
            "--code",
            &code,
            "--ca-fingerprint",
            &ca.fingerprint,
            "--hostname",
            "epsilon",
            "--no-trust-store",
            "--json",
            "--state-dir",
            &mstate,
        ],
    );
    assert!(out.status.success(), "join via mDNS: {}", text(&out));
    let member_json =
        std::fs::read_to_string(member.path().join("m/certmesh/member.json")).unwrap();
    assert!(
        member_json.contains(&format!("{}:5642", bed.ipv4(1))),
        "{member_json}"
    );
}

#[test]
fn join_installs_the_ca_in_the_debian_store_for_real_inside_a_private_mount_namespace() {
    if !require_root() {
        return;
    }
    if !tools(&["update-ca-certificates", "unshare"]) {
        eprintln!("skipped: update-ca-certificates or unshare missing");
        return;
    }
    let bed = TestBed::new("cmdeb", 2);
    let ca = start_ca(&bed, "cm-debian", 5642, &["--profile", "personal"]);
    let member = TempDir::new("cm-debian-m");
    let mstate = member.path().join("m").display().to_string();
    let code = totp(&ca.secret, now());
    // The system's stores stay untouched: host 2 gets private copies of them (tmpfs and a
    // bind-mounted copy of /etc/ssl/certs) in its own mount namespace.
    let script = format!(
        "set -e\n\
         T=$(mktemp -d)\n\
         cp -a /etc/ssl/certs \"$T/certs\"\n\
         mount -t tmpfs tmpfs /usr/local/share/ca-certificates\n\
         mount --bind \"$T/certs\" /etc/ssl/certs\n\
         if curl -s --max-time 5 https://{addr}/v1/certmesh/health >/dev/null; then echo BEFORE-TRUSTED; fi\n\
         HOME=\"$T\" {koi} certmesh join --ca {addr} --code {code} --ca-fingerprint {fp} --hostname zeta --json --state-dir {mstate}\n\
         ls /usr/local/share/ca-certificates\n\
         curl -sS --max-time 5 https://{addr}/v1/certmesh/health && echo AFTER-TRUSTED\n\
         HOME=\"$T\" {koi} certmesh status --json --state-dir {mstate}\n",
        addr = ca.addr(&bed),
        koi = koi_bin(),
        fp = ca.fingerprint,
    );
    let out = bed
        .exec(2, "unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        !t.contains("BEFORE-TRUSTED"),
        "curl trusted the CA before the join: {t}"
    );
    assert!(t.contains("\"trust_stores\":[\"debian\"]"), "{t}");
    assert!(
        t.contains(&format!("koi-{}.crt", &ca.fingerprint[..16])),
        "{t}"
    );
    assert!(
        t.contains("AFTER-TRUSTED"),
        "curl with the system store did not trust the CA: {t}"
    );
    let real = std::fs::read_dir("/usr/local/share/ca-certificates").unwrap();
    assert!(
        real.filter_map(Result::ok)
            .all(|e| !e.file_name().to_string_lossy().starts_with("koi-")),
        "the real store was touched"
    );
}

/// Runs `koi ARGS` in host `host` on a pseudo-terminal (util-linux `script`) with `answer` typed
/// at its prompts.
fn koi_on_tty(bed: &TestBed, host: usize, args: &[&str], answer: &str) -> Output {
    let cmd = std::iter::once(koi_bin())
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = bed
        .exec(host, "script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    // The answer waits in the terminal's input queue until koi reads it; stdin stays open
    // until koi exits (an early end of input would make `script` hang up on it).
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(answer.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    out
}

#[test]
fn join_on_a_terminal_shows_the_fingerprint_and_needs_a_yes() {
    if !require_root() {
        return;
    }
    if !tools(&["script"]) {
        eprintln!("skipped: util-linux `script` missing");
        return;
    }
    let bed = TestBed::new("cmtofu", 2);
    let ca = start_ca(&bed, "cm-tofu", 5642, &["--profile", "personal"]);
    let member = TempDir::new("cm-tofu-m");
    let mstate = member.path().join("m").display().to_string();
    let addr = ca.addr(&bed);
    let code = totp(&ca.secret, now());
    let args = [
        "certmesh",
        "join",
        "--ca",
        &addr,
        "--code",
        &code,
        "--hostname",
        "eta",
        "--no-trust-store",
        "--state-dir",
        &mstate,
    ];
    let no = koi_on_tty(&bed, 2, &args, "n\n");
    let t = text(&no);
    assert!(
        t.contains(&ca.fingerprint) && t.contains("Trust this CA?"),
        "{t}"
    );
    assert!(t.contains("not confirmed"), "{t}");
    assert!(!member.path().join("m/certs/eta").exists());
    let yes = koi_on_tty(&bed, 2, &args, "y\n");
    let t = text(&yes);
    assert!(t.contains("Joined the mesh as eta"), "{t}");
    let pinned = std::fs::read_to_string(member.path().join("m/certmesh/member.json")).unwrap();
    assert!(pinned.contains(&ca.fingerprint), "{pinned}");
}

#[test]
fn a_ca_agent_on_a_terminal_asks_there_and_y_approves() {
    if !require_root() {
        return;
    }
    if !tools(&["script"]) {
        eprintln!("skipped: util-linux `script` missing");
        return;
    }
    let bed = TestBed::new("cmprompt", 2);
    let dir = TempDir::new("cm-prompt");
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "pw for the prompt test\n").unwrap();
    let state = dir.path().join("ca").display().to_string();
    let out = koi_in(
        &bed,
        1,
        &[
            "certmesh",
            "create",
            "--profile",
            "team",
            "--operator",
            "Olu",
            "--passphrase-file",
            pass.to_str().unwrap(),
            "--entropy",
            "os",
            "--hostname",
            "alpha",
            "--no-trust-store",
            "--json",
            "--state-dir",
            &state,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let json = String::from_utf8_lossy(&out.stdout).to_string();
    let fp = json_field(&json, "ca_fingerprint");
    let secret = json_field(&json, "totp_uri")
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let agent_cmd = format!("'{}' agent --control 127.0.0.1:0 --no-mdns --certmesh-listen 0.0.0.0:5642 --state-dir '{state}'", koi_bin());
    let mut agent = bed
        .exec(1, "script")
        .args(["-qec", &agent_cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut tty_in = agent.stdin.take().unwrap();
    let mut tty_out = agent.stdout.take().unwrap();
    let _agent = CaAgent(agent);
    let screen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = screen.clone();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        while let Ok(n) = tty_out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let shows = |needle: &str| {
        wait_until(Duration::from_secs(20), || {
            screen.lock().unwrap().contains(needle)
        })
    };
    assert!(shows("CA API listening"), "{}", screen.lock().unwrap());
    let out = koi_in(
        &bed,
        1,
        &[
            "certmesh",
            "unlock",
            "--passphrase-file",
            pass.to_str().unwrap(),
            "--state-dir",
            &state,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));

    let member = TempDir::new("cm-prompt-m");
    let mstate = member.path().join("m").display().to_string();
    let addr = format!("{}:5642", bed.ipv4(1));
    let code = totp(&secret, now());
    let join = bed
        .exec(2, koi_bin())
        .args(join_args(&addr, &code, &fp, "theta", &mstate))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(shows("theta"), "no prompt: {}", screen.lock().unwrap());
    assert!(shows("asks to join"), "{}", screen.lock().unwrap());
    {
        use std::io::Write;
        tty_in.write_all(b"y\n").unwrap();
    }
    let out = join.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "join approved at the CA's terminal: {}",
        text(&out)
    );
    assert!(shows("approved theta"), "{}", screen.lock().unwrap());
    drop(tty_in);
}
