//! certmesh commands on loopback: non-interactive `create` never hangs and names the missing
//! flag; a locked CA says so when asked to sign and `unlock` fixes it; the admin commands
//! (open/close enrollment, rotate-secret, revoke, compliance, status) through a real agent.
//! Root namespace: the agent runs with --no-mdns and listens on 127.0.0.1 only.
#![cfg(feature = "certmesh")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{json_field, koi_bin, wait_until, TempDir};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn koi(args: &[&str]) -> Output {
    Command::new(koi_bin())
        .args(args)
        .env_remove("KOI_STATE_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run koi")
}

fn text(o: &Output) -> String {
    common::output_text(o)
}

use common::Reaped as Kill;

#[test]
fn create_without_a_terminal_names_the_missing_answer_instead_of_hanging() {
    let d = TempDir::new("cm-notty");
    let st = d.str();
    let start = Instant::now();
    let out = koi(&["certmesh", "create", "--state-dir", st]);
    assert!(!out.status.success());
    assert!(text(&out).contains("missing --profile"), "{}", text(&out));
    let out = koi(&[
        "certmesh",
        "create",
        "--profile",
        "personal",
        "--state-dir",
        st,
    ]);
    assert!(
        text(&out).contains("missing --passphrase-file"),
        "{}",
        text(&out)
    );
    let out = koi(&[
        "certmesh",
        "create",
        "--profile",
        "organization",
        "--state-dir",
        st,
    ]);
    assert!(text(&out).contains("missing --operator"), "{}", text(&out));
    let out = koi(&[
        "certmesh",
        "create",
        "--profile",
        "personal",
        "--entropy",
        "keyboard",
        "--state-dir",
        st,
    ]);
    assert!(
        text(&out).contains("keyboard entropy needs a terminal"),
        "{}",
        text(&out)
    );
    let out = koi(&["certmesh", "create", "--profile", "nope", "--state-dir", st]);
    assert!(text(&out).contains("unknown profile"), "{}", text(&out));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        !d.path().join("certmesh/ca/ca-key.enc").exists(),
        "nothing written on error"
    );
    let out = koi(&["certmesh", "promote", "--state-dir", st]);
    assert!(text(&out).contains("not yet available"));
}

#[test]
fn locked_ca_refuses_to_sign_until_unlocked_and_admin_commands_work() {
    let d = TempDir::new("cm-locked");
    let st = d.str();
    let pass = d.path().join("pass");
    std::fs::write(&pass, "s3cret pass\n").unwrap();
    let pass = pass.to_str().unwrap();
    let out = koi(&[
        "certmesh",
        "create",
        "--profile",
        "team",
        "--operator",
        "Maria Santos",
        "--passphrase-file",
        pass,
        "--entropy",
        "os",
        "--hostname",
        "caloop",
        "--subnet",
        "10.9.0.0/16",
        "--no-trust-store",
        "--json",
        "--state-dir",
        st,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let fp = json_field(&String::from_utf8_lossy(&out.stdout), "ca_fingerprint");
    let again = koi(&[
        "certmesh",
        "create",
        "--profile",
        "personal",
        "--passphrase-file",
        pass,
        "--hostname",
        "x",
        "--no-trust-store",
        "--state-dir",
        st,
    ]);
    assert!(text(&again).contains("already exists"), "{}", text(&again));
    // No auto-unlock key outside the personal profile.
    assert!(!d.path().join("certmesh/ca/ca-master.key").exists());

    let agent = Command::new(koi_bin())
        .args([
            "agent",
            "--control",
            "127.0.0.1:0",
            "--no-mdns",
            "--certmesh-listen",
            "127.0.0.1:0",
            "--state-dir",
            st,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _agent = Kill(agent);
    let mut status = String::new();
    assert!(
        wait_until(Duration::from_secs(15), || {
            status = text(&koi(&["certmesh", "status", "--json", "--state-dir", st]));
            status.contains("\"api\"")
        }),
        "{status}"
    );
    assert!(status.contains("\"locked\":true"), "{status}");
    let api = json_field(&status, "api");

    // Asked to sign while locked, the CA says so.
    let out = koi(&[
        "certmesh",
        "join",
        "--ca",
        &api,
        "--code",
        "123456",
        "--ca-fingerprint",
        &fp,
        "--hostname",
        "m1",
        "--no-trust-store",
        "--state-dir",
        &format!("{st}/member"),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("CA is locked"), "{}", text(&out));
    let out = koi(&["certmesh", "open-enrollment", "--state-dir", st]);
    assert!(text(&out).contains("locked"), "{}", text(&out));

    let bad = d.path().join("bad");
    std::fs::write(&bad, "wrong\n").unwrap();
    let out = koi(&[
        "certmesh",
        "unlock",
        "--passphrase-file",
        bad.to_str().unwrap(),
        "--state-dir",
        st,
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let out = koi(&[
        "certmesh",
        "unlock",
        "--passphrase-file",
        pass,
        "--state-dir",
        st,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&koi(&["certmesh", "status", "--json", "--state-dir", st]))
            .contains("\"locked\":false")
    );

    let out = koi(&[
        "certmesh",
        "open-enrollment",
        "--duration",
        "2h",
        "--json",
        "--state-dir",
        st,
    ]);
    assert!(
        out.status.success() && text(&out).contains("closes_at"),
        "{}",
        text(&out)
    );
    let out = koi(&["certmesh", "close-enrollment", "--state-dir", st]);
    assert!(out.status.success(), "{}", text(&out));
    let out = koi(&["certmesh", "rotate-secret", "--json", "--state-dir", st]);
    assert!(text(&out).contains("otpauth://totp/"), "{}", text(&out));
    let out = koi(&[
        "certmesh",
        "revoke",
        "stone-03",
        "--reason",
        "decommissioned",
        "--state-dir",
        st,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = koi(&["certmesh", "approve", "nobody", "--state-dir", st]);
    assert!(
        !out.status.success() && text(&out).contains("no waiting request"),
        "{}",
        text(&out)
    );

    let c = text(&koi(&["certmesh", "compliance", "--state-dir", st]));
    assert!(
        c.contains("Certmesh Security Summary")
            && c.contains("Maria Santos")
            && c.contains("1 revoked"),
        "{c}"
    );
    let log = text(&koi(&["certmesh", "log", "--state-dir", st]));
    for ev in [
        "created",
        "unlocked",
        "window_opened",
        "window_closed",
        "secret_rotated",
        "revoked",
    ] {
        assert!(log.contains(ev), "{ev} missing from {log}");
    }
    let v = koi(&["certmesh", "log", "--verify", "--state-dir", st]);
    assert!(v.status.success(), "{}", text(&v));
    let roster = std::fs::read_to_string(d.path().join("certmesh/roster.json")).unwrap();
    assert!(
        roster.contains("\"revocation_list\":[{\"hostname\":\"stone-03\""),
        "{roster}"
    );
}

#[test]
fn personal_compliance_is_a_simple_health_check() {
    let d = TempDir::new("cm-comp");
    let st = d.str();
    let pass = d.path().join("pass");
    std::fs::write(&pass, "pw\n").unwrap();
    let out = koi(&[
        "certmesh",
        "create",
        "--yes",
        "--passphrase-file",
        pass.to_str().unwrap(),
        "--hostname",
        "solo",
        "--no-trust-store",
        "--state-dir",
        st,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let c = text(&koi(&["certmesh", "compliance", "--state-dir", st]));
    assert!(
        c.starts_with("certmesh: healthy")
            && c.contains("1 members, all certs valid")
            && c.contains("Next renewal"),
        "{c}"
    );
    let s = text(&koi(&["certmesh", "status", "--state-dir", st]));
    assert!(s.contains("agent") || s.contains("LOCKED"), "{s}");
}

#[test]
fn health_shows_the_days_left_on_each_members_cert() {
    let d = TempDir::new("cm-health");
    let st = d.str();
    let pass = d.path().join("pass");
    std::fs::write(&pass, "s3cret pass\n").unwrap();
    let out = koi(&[
        "certmesh",
        "create",
        "--profile",
        "personal",
        "--passphrase-file",
        pass.to_str().unwrap(),
        "--entropy",
        "os",
        "--hostname",
        "cahealth",
        "--no-trust-store",
        "--yes",
        "--state-dir",
        st,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let agent = Command::new(koi_bin())
        .args([
            "agent",
            "--control",
            "127.0.0.1:0",
            "--no-mdns",
            "--certmesh-listen",
            "127.0.0.1:0",
            "--state-dir",
            st,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _agent = Kill(agent);
    let mut status = String::new();
    let found = wait_until(Duration::from_secs(15), || {
        status = text(&koi(&["health", "status", "--json", "--state-dir", st]));
        status.contains("\"name\":\"cahealth\"")
    });
    assert!(found, "{status}");
    let parsed: koi::health::json::StatusJson = miniserde::json::from_str(status.trim()).unwrap();
    let m = parsed
        .machines
        .iter()
        .find(|m| m.name == "cahealth")
        .unwrap();
    // A fresh 30-day leaf: 30 whole days left in its first second, 29 after.
    assert!(matches!(m.cert_days, Some(29 | 30)), "{status}");
    // Never seen over mDNS (the agent runs without it): unknown, not up.
    assert_eq!(m.state, "unknown", "{status}");
}
