//! Operator entropy at `koi certmesh create`, as a person meets it on a terminal (tmux):
//! keyboard mashing fills a live progress bar and creates the CA; Ctrl-C in the middle
//! cancels, writes nothing and leaves the terminal echoing; a generated passphrase is shown
//! once and is the one that unlocks the CA key. No network: `create` is local.
#![cfg(feature = "certmesh")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::tmux::Tmux;
use common::{koi_bin, wait_until, TempDir};
use koi::base::Secret;
use koi::certmesh::envelope::Envelope;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

/// `koi certmesh create` with every answer but the entropy given, then its exit code.
fn create_line(state: &TempDir, pass_file: &str) -> String {
    format!(
        "{} certmesh create --profile personal --operator tester --hostname kb \
         --no-trust-store --yes --entropy keyboard --passphrase-file {pass_file} \
         --state-dir {}; echo EXIT=$?",
        koi_bin(),
        state.str()
    )
}

/// A few xorshift-chosen keys typed one by one at an irregular human-ish pace.
fn mash(tmux: &Tmux, seed: &mut u64, keys: usize) {
    for _ in 0..keys {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let key = (b'a' + (*seed % 26) as u8) as char;
        tmux.type_literal(&key.to_string());
        std::thread::sleep(Duration::from_millis(3 + (*seed >> 8) % 17));
    }
}

fn start_shell(tag: &str) -> Option<Tmux> {
    if !Tmux::available() {
        eprintln!("tmux missing (tests/install-deps.sh installs it); skipping");
        return None;
    }
    let tmux = Tmux::start(tag);
    assert!(wait_until(LIMIT, || tmux.screen().contains("READY$")));
    Some(tmux)
}

/// The exit code the shell printed after the command, once it has.
fn exit_code(tmux: &Tmux) -> Option<String> {
    tmux.screen()
        .lines()
        .find_map(|l| l.trim().strip_prefix("EXIT="))
        .map(str::to_string)
}

/// The terminal echoes typed text again and runs commands.
fn assert_terminal_sane(tmux: &Tmux) {
    // Keys typed after the pool filled land on the shell's line: clear it first.
    tmux.cmd(&["send-keys", "-t", "w", "C-u"]);
    tmux.cmd(&["send-keys", "-t", "w", "echo AFTER-$((6*7))", "Enter"]);
    assert!(
        wait_until(LIMIT, || tmux.screen().contains("AFTER-42")),
        "{}",
        tmux.screen()
    );
    assert!(tmux.screen().contains("echo AFTER-$((6*7))"), "echo is off");
}

#[test]
fn keyboard_mashing_fills_the_bar_and_creates_the_ca() {
    let Some(tmux) = start_shell("cm-mash") else {
        return;
    };
    let state = TempDir::new("cm-mash");
    let pass = state.path().join("pass");
    std::fs::write(&pass, "a long test passphrase\n").unwrap();
    let line = create_line(&state, pass.to_str().unwrap());
    tmux.cmd(&["send-keys", "-t", "w", &line, "Enter"]);
    assert!(
        wait_until(LIMIT, || tmux.screen().contains("Mash your keyboard")),
        "{}",
        tmux.screen()
    );
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut partial_seen = false;
    let deadline = Instant::now() + LIMIT;
    while !tmux.screen().contains("Collected 256 bits") {
        assert!(Instant::now() < deadline, "{}", tmux.screen());
        mash(&tmux, &mut seed, 20);
        let screen = tmux.screen();
        partial_seen |= screen.contains('█') && screen.contains('░');
    }
    assert!(partial_seen, "the bar never showed progress");
    assert!(
        wait_until(LIMIT, || exit_code(&tmux).is_some()),
        "{}",
        tmux.screen()
    );
    assert_eq!(exit_code(&tmux).as_deref(), Some("0"), "{}", tmux.screen());
    assert!(state.path().join("certmesh/ca/ca-key.enc").exists());
    assert_terminal_sane(&tmux);
}

#[test]
fn ctrl_c_while_mashing_cancels_writes_nothing_and_restores_the_terminal() {
    let Some(tmux) = start_shell("cm-cancel") else {
        return;
    };
    let state = TempDir::new("cm-cancel");
    let pass = state.path().join("pass");
    std::fs::write(&pass, "a long test passphrase\n").unwrap();
    let line = create_line(&state, pass.to_str().unwrap());
    tmux.cmd(&["send-keys", "-t", "w", &line, "Enter"]);
    assert!(wait_until(LIMIT, || tmux
        .screen()
        .contains("Mash your keyboard")));
    let mut seed = 7;
    mash(&tmux, &mut seed, 10);
    tmux.cmd(&["send-keys", "-t", "w", "C-c"]);
    assert!(
        wait_until(LIMIT, || tmux.screen().contains("EXIT=")),
        "{}",
        tmux.screen()
    );
    let screen = tmux.screen();
    assert!(
        screen.contains("cancelled") && screen.contains("EXIT=1"),
        "{screen}"
    );
    assert!(!state.path().join("certmesh/ca").exists());
    assert_terminal_sane(&tmux);
}

#[test]
fn a_generated_passphrase_is_shown_once_and_unlocks_the_ca_key() {
    let state = TempDir::new("cm-words");
    let out = Command::new(koi_bin())
        .args([
            "certmesh",
            "create",
            "--profile",
            "personal",
            "--operator",
            "tester",
            "--hostname",
            "words",
            "--no-trust-store",
            "--yes",
            "--entropy",
            "passphrase",
            "--json",
            "--state-dir",
            state.str(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The line after the announcement, indented: seven words joined by '-'.
    let phrase = stderr
        .lines()
        .map(str::trim)
        .find(|l| {
            l.split('-').count() == 7 && l.bytes().all(|b| b == b'-' || b.is_ascii_lowercase())
        })
        .unwrap_or_else(|| panic!("no passphrase shown: {stderr}"))
        .to_string();
    assert_eq!(stderr.matches(&phrase).count(), 1);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&phrase));
    let env = Envelope::open(&state.path().join("certmesh/ca")).unwrap();
    assert!(env
        .unlock_with_passphrase(&Secret::new(phrase.into_bytes()))
        .is_ok());
    assert!(env
        .unlock_with_passphrase(&Secret::new(b"not-the-phrase".to_vec()))
        .is_err());
    // Choosing the passphrase twice is refused before anything is written.
    let again = TempDir::new("cm-words2");
    let out = Command::new(koi_bin())
        .args([
            "certmesh",
            "create",
            "--profile",
            "personal",
            "--yes",
            "--entropy",
            "manual",
            "--passphrase-file",
            "/dev/null",
            "--state-dir",
            again.str(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("drop --passphrase-file"));
}
