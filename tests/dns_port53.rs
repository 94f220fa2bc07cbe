//! Port 53 without root: an unprivileged user (nobody) is told plainly that port 53 needs
//! CAP_NET_BIND_SERVICE and how to grant it; once the binary carries that one capability
//! (`setcap cap_net_bind_service=+ep`), the same user serves DNS on port 53 and dig gets
//! koi's answers. Runs in a network namespace of its own (port 53 of the host is never
//! touched), with a copy of the binary (the build's own file never gets a capability).
//!
//! Needs root (namespaces, setcap, setpriv); skipped without root.
#![cfg(all(feature = "dns", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::netns::{require_root, TestBed};
use common::{koi_bin, output_text, wait_until, Reaped, TempDir};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const NOBODY: &str = "65534";

/// `koi ARGS` run by nobody inside host 1 of `bed`, with no capability of its own.
fn as_nobody(bed: &TestBed, koi: &Path, args: &[&str]) -> Command {
    let mut cmd = bed.exec(1, "setpriv");
    cmd.args([
        "--reuid",
        NOBODY,
        "--regid",
        NOBODY,
        "--clear-groups",
        "--inh-caps=-all",
    ])
    .arg(koi)
    .args(args)
    .env_remove("KOI_STATE_DIR")
    .stdin(Stdio::null());
    cmd
}

fn uid_of(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
}

#[test]
fn nobody_is_told_about_cap_net_bind_service_and_serves_port_53_with_it() {
    if !require_root() {
        return;
    }
    let bed = TestBed::new("dns53", 1);
    let ip = bed.ipv4(1).to_string();
    let dir = TempDir::new("dns53");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let koi = dir.path().join("koi");
    std::fs::copy(koi_bin(), &koi).unwrap();
    std::fs::set_permissions(&koi, std::fs::Permissions::from_mode(0o755)).unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let chown = Command::new("chown")
        .args([&format!("{NOBODY}:{NOBODY}"), state.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(chown.success());
    let serve = [
        "dns",
        "serve",
        "--state-dir",
        state.to_str().unwrap(),
        "--listen",
        &ip,
        "--port",
        "53",
        "--upstream",
        "127.0.0.1:9",
    ];

    // Without the capability: a clear refusal that says what to do, and no listener.
    let refused = as_nobody(&bed, &koi, &serve).output().unwrap();
    let text = output_text(&refused);
    assert!(!refused.status.success(), "{text}");
    assert!(
        text.contains("permission denied")
            && text.contains("CAP_NET_BIND_SERVICE")
            && text.contains("setcap cap_net_bind_service=+ep"),
        "{text}"
    );

    // With only that capability on the file, nobody serves port 53.
    let setcap = Command::new("setcap")
        .args(["cap_net_bind_service=+ep", koi.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(setcap.status.success(), "{}", output_text(&setcap));
    let server = Reaped(
        as_nobody(&bed, &koi, &serve)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let dig = || {
        let mut cmd = bed.exec(1, "dig");
        cmd.args([&format!("@{ip}"), "+time=1", "+tries=1", "nothing-here.lan"]);
        output_text(&cmd.output().unwrap())
    };
    let mut last = String::new();
    let answered = wait_until(Duration::from_secs(10), || {
        last = dig();
        last.contains("status: NXDOMAIN")
    });
    assert!(answered, "no answer on port 53: {last}");
    assert!(
        last.contains("flags: qr aa"),
        "koi's authoritative answer: {last}"
    );
    // The server is nobody's process, not root's (setpriv exec'd koi in place).
    assert_eq!(uid_of(server.0.id()).as_deref(), Some(NOBODY));
}
