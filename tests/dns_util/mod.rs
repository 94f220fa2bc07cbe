//! Helpers for the DNS integration tests: an agent serving DNS on loopback, dig/kdig runs,
//! and raw UDP/TCP exchanges.
#![allow(dead_code, unreachable_pub)]

use crate::common::{json_field, koi, Agent, TempDir};
use koi_wire::dns::{Class, Edns, Header, Message, Name, Question, RecordType};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

/// An agent (no mDNS) serving DNS on 127.0.0.1 at a free port.
pub struct Resolver {
    pub agent: Agent,
    pub port: u16,
}

impl Resolver {
    pub fn start(tag: &str, serve_args: &[&str]) -> Resolver {
        let agent = Agent::start_in(TempDir::new(tag), &[]);
        let mut args = vec![
            "dns",
            "serve",
            "--state-dir",
            agent.dir.str(),
            "--listen",
            "127.0.0.1",
            "--port",
            "0",
            "--json",
        ];
        args.extend_from_slice(serve_args);
        let out = koi(&args);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "dns serve failed: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listen = text
            .split("\"listen\":[\"")
            .nth(1)
            .expect("listen in status");
        let addr: SocketAddr = listen.split('"').next().unwrap().parse().unwrap();
        Resolver {
            agent,
            port: addr.port(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `koi dns ARGS --state-dir <ours>`.
    pub fn koi(&self, args: &[&str]) -> std::process::Output {
        let mut a = vec!["dns"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--state-dir", self.agent.dir.str()]);
        koi(&a)
    }

    pub fn add(&self, name: &str, ip: &str) {
        let out = self.koi(&["add", name, ip]);
        assert!(
            out.status.success(),
            "add {name} {ip}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn dig(&self, args: &[&str]) -> String {
        run(
            "dig",
            &[
                &[
                    "@127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "+time=2",
                    "+tries=1",
                ],
                args,
            ]
            .concat(),
        )
    }

    pub fn kdig(&self, args: &[&str]) -> String {
        run(
            "kdig",
            &[
                &[
                    "@127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "+time=2",
                    "+retry=0",
                ],
                args,
            ]
            .concat(),
        )
    }

    pub fn status_field(&self, key: &str) -> u64 {
        let out = self.koi(&["status", "--json"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let pat = format!("\"{key}\":");
        let at = text.find(&pat).unwrap_or_else(|| panic!("{key} in {text}")) + pat.len();
        text[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse()
            .unwrap_or(0)
    }
}

pub fn run(prog: &str, args: &[&str]) -> String {
    let out = Command::new(prog)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e} (run tests/install-deps.sh)"));
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

/// A query message.
pub fn query(name: &str, qtype: RecordType, edns: Option<u16>) -> Message {
    let mut m = Message::default();
    m.header.id = 0x4b1d;
    m.header.set(Header::RD, true);
    m.questions.push(Question::new(
        Name::from_dotted(name).unwrap(),
        qtype,
        Class::IN,
    ));
    if let Some(size) = edns {
        m.additionals.push(
            Edns {
                udp_payload_size: size,
                ..Edns::default()
            }
            .to_record(Vec::new()),
        );
    }
    m
}

/// Sends one datagram and waits up to `wait` for a reply.
pub fn udp(addr: SocketAddr, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.send_to(bytes, addr).unwrap();
    let mut buf = vec![0u8; 65535];
    let n = s.recv(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

pub fn ask(addr: SocketAddr, m: &Message) -> Message {
    let bytes = udp(addr, &m.encode(65535).unwrap(), Duration::from_secs(3)).expect("an answer");
    Message::parse(&bytes).expect("answer parses")
}

/// Frames a message for TCP.
pub fn framed(bytes: &[u8]) -> Vec<u8> {
    let mut v = (bytes.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(bytes);
    v
}

pub fn tcp_connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads one framed message, or `None` when the server closed.
pub fn tcp_read(s: &mut TcpStream) -> Option<Message> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    Message::parse(&body).ok()
}

pub fn tcp_write(s: &mut TcpStream, bytes: &[u8]) -> bool {
    s.write_all(bytes).is_ok()
}

/// Whether a dig answer has `status: X`.
pub fn status_of(dig: &str) -> String {
    dig.split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("")
        .to_string()
}

/// The json_field helper re-exported for tests.
pub fn field(text: &str, key: &str) -> String {
    json_field(text, key)
}
