//! The agent and its control API, driven through the real `koi` binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn agent_serves_status_from_the_address_in_agent_json() {
    let agent = Agent::start("status");
    let info = std::fs::read_to_string(agent.dir.path().join("agent.json")).unwrap();
    assert!(info.contains("\"schema\":1"), "{info}");
    assert_eq!(json_field(&info, "version"), env!("CARGO_PKG_VERSION"));
    let (status, body) = http(agent.addr, "GET", "/v1/status", &[], "");
    assert_eq!(status, 200, "{body}");
    for cap in koi::build_info::ALL_CAPABILITIES {
        let listed = body.contains(&format!("\"name\":\"{cap}\""));
        assert_eq!(listed, koi::build_info::compiled(cap), "{cap}: {body}");
    }
}

#[test]
fn token_file_is_owner_only_and_256_bits() {
    use std::os::unix::fs::PermissionsExt;
    let agent = Agent::start("token");
    let meta = std::fs::metadata(agent.dir.path().join("agent.token")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let token = agent.token();
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[test]
fn writes_need_the_token() {
    let agent = Agent::start("auth");
    let body = r#"{"level":"debug"}"#;
    let (status, reply) = http(agent.addr, "POST", "/v1/agent/log-level", &[], body);
    assert_eq!(status, 401);
    assert!(
        reply.contains("\"error\""),
        "401 without a JSON error: {reply}"
    );

    let wrong = format!("Bearer {}", "0".repeat(64));
    let (status, _) = http(
        agent.addr,
        "POST",
        "/v1/agent/log-level",
        &[("Authorization", &wrong)],
        body,
    );
    assert_eq!(status, 401);

    let (status, _) = http(agent.addr, "POST", "/v1/no/such/thing", &[], body);
    assert_eq!(
        status, 401,
        "an unknown write path must not reveal itself before auth"
    );

    let right = format!("Bearer {}", agent.token());
    let (status, reply) = http(
        agent.addr,
        "POST",
        "/v1/agent/log-level",
        &[("Authorization", &right)],
        body,
    );
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("debug"));
}

#[test]
fn a_foreign_host_header_is_refused() {
    let agent = Agent::start("host");
    let (status, _) = http(agent.addr, "GET", "/v1/status", &[], "");
    assert_eq!(status, 200);
    let req = "GET /v1/status HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n";
    let resp = http_raw(agent.addr, req.as_bytes());
    assert!(resp.starts_with("HTTP/1.1 421"), "{resp}");
}

#[test]
fn second_agent_on_the_same_dir_refuses_with_a_message() {
    let agent = Agent::start("second");
    let out = koi(&[
        "agent",
        "--control",
        "127.0.0.1:0",
        "--state-dir",
        agent.dir.str(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already running"), "{err}");
    assert!(
        err.contains(&agent.pid().to_string()),
        "message should name the pid: {err}"
    );
}

#[test]
fn sigterm_removes_agent_json_and_token_and_exits_cleanly() {
    let mut agent = Agent::start("sigterm");
    // An idle keep-alive connection must not hold the shutdown up.
    let mut idle = TcpStream::connect(agent.addr).unwrap();
    idle.write_all(format!("GET /v1/status HTTP/1.1\r\nHost: {}\r\n\r\n", agent.addr).as_bytes())
        .unwrap();
    let mut buf = [0u8; 512];
    let _ = idle.read(&mut buf).unwrap();
    agent.signal(libc::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(5))
        .expect("agent exits within 5 s of SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(!agent.dir.path().join("agent.json").exists());
    assert!(!agent.dir.path().join("agent.token").exists());
}

#[test]
fn an_in_flight_request_finishes_during_shutdown() {
    let mut agent = Agent::start_in(TempDir::new("inflight"), &["--log-level", "debug"]);
    let token = agent.token();
    let body = r#"{"level":"info"}"#;
    let head = format!(
        "POST /v1/agent/log-level HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        agent.addr,
        body.len()
    );
    let mut s = TcpStream::connect(agent.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body.as_bytes()[..5]).unwrap();
    assert!(
        agent.wait_log("POST /v1/agent/log-level", Duration::from_secs(5)),
        "head never read"
    );
    agent.signal(libc::SIGTERM);
    assert!(
        agent.wait_log("stopping", Duration::from_secs(5)),
        "signal not seen"
    );
    s.write_all(&body.as_bytes()[5..]).unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    assert!(
        resp.starts_with("HTTP/1.1 200"),
        "in-flight request was dropped: {resp:?}"
    );
    assert!(resp.contains("Connection: close"), "{resp}");
    assert!(agent.wait_exit(Duration::from_secs(5)).is_some());
}

#[test]
fn a_killed_agent_does_not_block_the_next_one() {
    let mut first = Agent::start("stale");
    first.signal(libc::SIGKILL);
    assert!(first.wait_exit(Duration::from_secs(5)).is_some());
    assert!(
        first.dir.path().join("agent.json").exists(),
        "kill -9 leaves agent.json behind"
    );
    let dir = std::mem::replace(&mut first.dir, TempDir::new("unused"));
    let second = Agent::start_in(dir, &[]);
    let (status, _) = http(second.addr, "GET", "/v1/status", &[], "");
    assert_eq!(status, 200);
}

#[test]
fn status_shows_one_line_per_capability_with_an_agent() {
    let agent = Agent::start("cli-status");
    let out = koi(&["status", "--state-dir", agent.dir.str()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("koi v{}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    for cap in koi::build_info::features() {
        let line = text.lines().find(|l| l.trim_start().starts_with(cap));
        let line = line.unwrap_or_else(|| panic!("no {cap} line in {text}"));
        assert!(
            line.contains("not running") || line.contains("not configured"),
            "{line}"
        );
    }
    let out = koi(&["status", "--json", "--state-dir", agent.dir.str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"agent\":\"running\""), "{text}");
    assert!(text.contains("\"capabilities\":["), "{text}");
}

#[test]
fn status_without_an_agent_says_how_to_start_one() {
    let dir = TempDir::new("noagent");
    let out = koi(&["status", "--state-dir", dir.str()]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no agent is running"), "{text}");
    assert!(text.contains("koi agent"), "{text}");
    let out = koi(&["status", "--json", "--state-dir", dir.str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"agent\":\"not running\""), "{text}");
}

#[test]
fn a_corrupt_agent_json_is_reported_by_name_and_left_alone() {
    let dir = TempDir::new("corrupt");
    let path = dir.path().join("agent.json");
    std::fs::write(&path, b"{\"schema\":1,\"control\":").unwrap();
    let out = koi(&["status", "--state-dir", dir.str()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("agent.json") && err.contains("corrupt"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"{\"schema\":1,\"control\":");
    std::fs::write(&path, b"{\"schema\":99}").unwrap();
    let out = koi(&["status", "--state-dir", dir.str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("schema version 99"), "{err}");
}

#[test]
fn control_must_be_loopback() {
    let dir = TempDir::new("nonloop");
    let out = koi(&[
        "agent",
        "--no-mdns",
        "--control",
        "0.0.0.0:0",
        "--state-dir",
        dir.str(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    assert!(!dir.path().join("agent.json").exists());
}

#[test]
fn state_dir_comes_from_the_environment_when_no_flag_is_given() {
    let agent = Agent::start("envdir");
    let out = std::process::Command::new(koi_bin())
        .args(["status", "--json"])
        .env("KOI_STATE_DIR", agent.dir.str())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"agent\":\"running\""));
}
