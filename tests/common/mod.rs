//! Helpers shared by the integration tests: temp dirs, waiting on conditions with deadlines,
//! running the koi binary, and raw HTTP over std sockets.
#![allow(dead_code, unreachable_pub)]

pub mod netns;
pub mod tmux;
pub mod totp;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The koi binary under test.
pub fn koi_bin() -> &'static str {
    env!("CARGO_BIN_EXE_koi")
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("koi-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn str(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `cond` every 10 ms until it holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `koi ARGS` to completion.
pub fn koi(args: &[&str]) -> Output {
    Command::new(koi_bin())
        .args(args)
        .env_remove("KOI_STATE_DIR")
        .output()
        .expect("run koi")
}

/// A running `koi agent` on its own state dir and a free loopback port.
pub struct Agent {
    pub child: Child,
    pub dir: TempDir,
    pub addr: SocketAddr,
    /// Everything the agent has written to stderr so far.
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Agent {
    pub fn start(tag: &str) -> Agent {
        Self::start_in(TempDir::new(tag), &[])
    }

    pub fn start_in(dir: TempDir, extra: &[&str]) -> Agent {
        let mut child = Command::new(koi_bin())
            .args([
                "agent",
                "--control",
                "127.0.0.1:0",
                "--state-dir",
                dir.str(),
                // Tests in the root namespace must never multicast on the machine's network.
                "--no-mdns",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn koi agent");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let json = dir.path().join("agent.json");
        let mine = format!("\"pid\":{},", child.id());
        let mut text = String::new();
        let ready = wait_until(Duration::from_secs(10), || {
            text = std::fs::read_to_string(&json).unwrap_or_default();
            text.contains(&mine)
        });
        assert!(ready, "agent.json for pid {} never appeared", child.id());
        let addr = json_field(&text, "control").parse().expect("control addr");
        Agent {
            child,
            dir,
            addr,
            log,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// Waits for exit within `limit`; returns the exit status if it exited.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let mut status = None;
        wait_until(limit, || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        status
    }

    /// Waits until the agent's stderr contains `needle`.
    pub fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        wait_until(limit, || self.log.lock().unwrap().contains(needle))
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("agent.token"))
            .expect("read token")
            .trim()
            .to_string()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The string value of a top-level field in a small flat JSON object.
pub fn json_field(text: &str, key: &str) -> String {
    let pat = format!("\"{key}\":\"");
    let start = text
        .find(&pat)
        .map(|i| i + pat.len())
        .expect("field present");
    let end = text[start..].find('"').expect("closing quote") + start;
    text[start..end].to_string()
}

/// Sends raw bytes and reads until the peer closes (or 10 s pass); returns what was read.
pub fn http_raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// One request with `Connection: close`; returns (status, body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let resp = http_raw(addr, req.as_bytes());
    let status = resp.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A child process killed and reaped on drop, so a failing test leaves nothing running.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A finished command's stdout then stderr, as text.
pub fn output_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
