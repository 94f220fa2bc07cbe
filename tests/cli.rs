//! The command-line surface: help, version, aliases and commands that are not built yet.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[test]
fn help_lists_the_five_capabilities_status_and_version() {
    for args in [&["help"][..], &["--help"][..]] {
        let out = koi(args);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        for cmd in [
            "mdns", "certmesh", "dns", "health", "proxy", "status", "version",
        ] {
            assert!(
                text.lines().any(|l| l.trim_start().starts_with(cmd)),
                "`koi help` does not list {cmd}:\n{text}"
            );
        }
        assert!(text.contains("Examples:"), "help shows no example:\n{text}");
    }
}

#[test]
fn version_json_has_version_commit_and_features() {
    let out = koi(&["version", "--json"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(json_field(&text, "version"), env!("CARGO_PKG_VERSION"));
    assert!(!json_field(&text, "commit").is_empty());
    for f in koi::build_info::ALL_CAPABILITIES {
        let listed = text.contains(&format!("\"{f}\""));
        assert_eq!(listed, koi::build_info::compiled(f), "{f}: {text}");
    }
}

/// Every command the spec lists, with the arguments it needs to parse. (`mdns discover` and
/// `mdns announce` work without an agent by multicasting from this process, so they are tested
/// inside network namespaces in tests/mdns_interop.rs, never here in the root namespace.)
const SPEC_COMMANDS: &[&[&str]] = &[
    &["mdns", "status"],
    &["mdns", "withdraw", "grafana"],
    &["certmesh", "create"],
    &["certmesh", "join"],
    &["certmesh", "promote"],
    &["certmesh", "status"],
    &["certmesh", "revoke", "stone-03"],
    &["certmesh", "backup"],
    &["certmesh", "restore", "file.backup"],
    &["certmesh", "rotate-secret"],
    &["certmesh", "open-enrollment", "--duration", "1h"],
    &["certmesh", "close-enrollment"],
    &["certmesh", "compliance"],
    &["certmesh", "log"],
    &["certmesh", "unlock"],
    &["certmesh", "set-hook", "--reload", "true"],
    // Without an agent `dns serve` runs the resolver in the foreground on the LAN until
    // Ctrl-C (run for real in tests/dns.rs and tests/dns_net.rs); here it is pointed at a
    // TEST-NET address no machine has, so it fails to bind and exits at once.
    &["dns", "serve", "--listen", "192.0.2.1", "--port", "5399"],
    &["dns", "stop"],
    &["dns", "status"],
    &["dns", "lookup", "grafana.lan"],
    &["dns", "add", "nas", "192.168.1.20"],
    &["dns", "remove", "nas"],
    &["dns", "list"],
    &["health", "status"],
    &["health", "watch"],
    &[
        "health",
        "add",
        "grafana",
        "--http",
        "http://127.0.0.1:3000/",
    ],
    &["health", "remove", "grafana"],
    &["health", "log"],
    &[
        "proxy",
        "add",
        "grafana",
        "--listen",
        "443",
        "--backend",
        "http://localhost:3000",
    ],
    &["proxy", "remove", "grafana"],
    &["proxy", "status"],
    &["proxy", "list"],
];

#[test]
fn every_spec_command_exists_and_unbuilt_ones_say_so_with_exit_2() {
    let dir = TempDir::new("cli");
    for cmd in SPEC_COMMANDS {
        let mut args = cmd.to_vec();
        args.extend(["--json", "--state-dir", dir.str()]);
        let out = koi(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("Unrecognized") && !err.contains("Required"),
            "{cmd:?} does not parse: {err}"
        );
        if out.status.code() == Some(2) {
            let expected = if koi::build_info::compiled(cmd[0]) {
                "not yet available"
            } else {
                "built without"
            };
            assert!(text.contains(expected), "{cmd:?}: {text} {err}");
        }
    }
}

#[test]
fn unbuilt_commands_print_no_made_up_output() {
    let dir = TempDir::new("cli-human");
    let out = koi(&["dns", "list", "--state-dir", dir.str()]);
    if out.status.code() == Some(2) {
        assert!(out.stdout.is_empty(), "made-up output on stdout");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("not yet available") || err.contains("built without"),
            "{err}"
        );
    }
}

#[test]
fn deprecated_aliases_work_with_a_notice() {
    // Both multicast from this process when they run, so compare what they parse to.
    for cmd in ["discover", "announce"] {
        let old = koi(&[cmd, "--help"]);
        let new = koi(&["mdns", cmd, "--help"]);
        let err = String::from_utf8_lossy(&old.stderr);
        assert!(
            err.contains("deprecated") && err.contains(&format!("koi mdns {cmd}")),
            "{err}"
        );
        assert!(!String::from_utf8_lossy(&new.stderr).contains("deprecated"));
        assert_eq!(old.stdout, new.stdout);
        if koi::build_info::compiled("mdns") {
            let usage = format!("Usage: koi mdns {cmd}");
            assert!(String::from_utf8_lossy(&old.stdout).contains(&usage));
        }
    }
}

#[test]
fn options_are_accepted_after_the_subcommand() {
    let dir = TempDir::new("after");
    let out = koi(&["version", "--json", "--state-dir", dir.str()]);
    assert!(out.status.success());
    let out = koi(&["mdns", "status", "--json", "--state-dir", dir.str()]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Unrecognized"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with('{'),
        "--json after the subcommand was ignored: {text}"
    );
}

#[test]
fn bad_input_gets_a_clear_error_not_a_panic() {
    let dir = TempDir::new("bad");
    for args in [
        vec![
            "agent",
            "--control",
            "not-an-address",
            "--state-dir",
            dir.str(),
        ],
        vec!["agent", "--log-level", "loud", "--state-dir", dir.str()],
        vec!["nonsense"],
        vec!["mdns", "announce", "x", "_http._tcp", "99999"],
        vec!["mdns", "announce", "x", "http", "80"],
        vec!["mdns", "discover", "not-a-type"],
        vec!["mdns", "reflect", "--between", "eth0"],
    ] {
        let out = koi(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert!(!err.is_empty(), "{args:?} gave no message");
    }
}
