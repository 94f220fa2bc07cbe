//! The HTTP/1.1 server in `koi::http`: deadlines, the connection cap, keep-alive, pipelining,
//! bodies, streamed responses and graceful shutdown, over real loopback sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use common::wait_until;
use koi::base::{shutdown_pair, ShutdownTrigger};
use koi::http::{serve_tcp, Handler, Request, Response, ServerConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::time::{Duration, Instant};

struct TestServer {
    addr: SocketAddr,
    stop: ShutdownTrigger,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Serves on a thread of its own. `/slow` answers after 300 ms, `/stream` sends three
    /// chunks, `/echo` returns the body, anything else returns the path.
    fn start(config: ServerConfig) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopping) = shutdown_pair();
        let thread = std::thread::spawn(move || {
            let ex = Rc::new(LocalExecutor::new());
            let handler: Rc<dyn Handler> = Rc::new(|req: Request| async move { route(req).await });
            let listener = Async::new(listener).unwrap();
            let fut = serve_tcp(ex.clone(), listener, handler, Rc::new(config), stopping);
            async_io::block_on(ex.run(fut));
        });
        TestServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// Triggers shutdown and waits for the accept loop and drain to finish.
    fn stop_and_join(&mut self) -> Duration {
        let t = Instant::now();
        self.stop.trigger();
        if let Some(th) = self.thread.take() {
            th.join().unwrap();
        }
        t.elapsed()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.trigger();
    }
}

async fn route(req: Request) -> Response {
    match req.path() {
        "/slow" => {
            Timer::after(Duration::from_millis(300)).await;
            Response::json(200, "{\"slow\":true}".into())
        }
        "/stream" => {
            let items = vec![
                b"{\"n\":1}\n".to_vec(),
                b"{\"n\":2}\n".to_vec(),
                b"{\"n\":3}\n".to_vec(),
            ];
            Response::json_lines(Box::pin(futures_lite::stream::iter(items)))
        }
        "/echo" => Response::json(200, String::from_utf8_lossy(&req.body).into_owned()),
        p => Response::json(200, format!("{{\"path\":\"{p}\"}}")),
    }
}

/// Reads one response with a Content-Length body; returns (status, body).
fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return (0, String::new()),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start(ServerConfig::default());
    let mut s = server.connect();
    let host = server.addr;
    let req = format!(
        "GET /a HTTP/1.1\r\nHost: {host}\r\n\r\nPOST /echo HTTP/1.1\r\nHost: {host}\r\nContent-Length: 4\r\n\r\nbodyGET /c HTTP/1.1\r\nHost: {host}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    assert_eq!(read_response(&mut s), (200, "{\"path\":\"/a\"}".into()));
    assert_eq!(read_response(&mut s), (200, "body".into()));
    assert_eq!(read_response(&mut s), (200, "{\"path\":\"/c\"}".into()));
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::start(ServerConfig::default());
    let mut s = server.connect();
    for i in 0..5 {
        s.write_all(format!("GET /k{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        assert_eq!(
            read_response(&mut s),
            (200, format!("{{\"path\":\"/k{i}\"}}"))
        );
    }
}

#[test]
fn a_slow_head_past_the_deadline_closes_the_connection() {
    let server = TestServer::start(ServerConfig {
        head_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    });
    // A stalled head: part of it, then nothing.
    let mut s = server.connect();
    let start = Instant::now();
    s.write_all(b"GET /stalled HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert_eq!(read_to_close(&mut s), "", "a stalled head got an answer");
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "closed before the deadline: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "not closed at the deadline: {waited:?}"
    );

    // A dripping head: one byte every 50 ms, which would take ~1.5 s in all.
    let mut s = server.connect();
    let start = Instant::now();
    for b in b"GET /drip HTTP/1.1\r\nHost: x\r\n\r\n" {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let resp = read_to_close(&mut s);
    assert!(
        !resp.contains("200"),
        "a head finished past its deadline was served: {resp}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let server = TestServer::start(ServerConfig {
        idle_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    });
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s).0, 200);
    let t = Instant::now();
    assert_eq!(read_to_close(&mut s), "");
    assert!(t.elapsed() >= Duration::from_millis(150));
}

#[test]
fn the_connection_past_the_cap_gets_503() {
    let server = TestServer::start(ServerConfig {
        max_connections: 2,
        ..ServerConfig::default()
    });
    let mut a = server.connect();
    let mut b = server.connect();
    // Make sure both are being served before the third arrives.
    for s in [&mut a, &mut b] {
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(read_response(s).0, 200);
    }
    let mut c = server.connect();
    let resp = read_to_close(&mut c);
    assert!(resp.starts_with("HTTP/1.1 503"), "{resp}");
    assert!(resp.contains("too many connections"));
    drop(a);
    // Once a slot frees up, new connections are served again.
    let ok = wait_until(Duration::from_secs(5), || {
        let mut d = server.connect();
        d.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .is_ok()
            && read_to_close(&mut d).starts_with("HTTP/1.1 200")
    });
    assert!(ok, "a freed slot was never reused");
}

#[test]
fn malformed_heads_get_their_status_and_the_connection_closes() {
    let server = TestServer::start(ServerConfig::default());
    let cases: &[(&[u8], &str)] = &[
        (b"GET / HTTP/1.1\nHost: x\n\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "400"),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
            "400",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "400",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
            "413",
        ),
        (b"GET / HTTP/1.1\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
    ];
    for (req, want) in cases {
        let mut s = server.connect();
        // Every case but the two Host ones carries a Host header, so it fails for its own reason.
        s.write_all(req).unwrap();
        let resp = read_to_close(&mut s);
        assert!(
            resp.starts_with(&format!("HTTP/1.1 {want}")),
            "{:?} -> {resp}",
            String::from_utf8_lossy(req)
        );
        assert!(resp.contains("Connection: close"));
    }
    let mut s = server.connect();
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..100 {
        big.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    s.write_all(&big).unwrap();
    assert!(read_to_close(&mut s).starts_with("HTTP/1.1 431"));
}

#[test]
fn a_chunked_request_body_is_decoded_and_one_past_the_cap_is_refused() {
    let server = TestServer::start(ServerConfig {
        body_cap: 16,
        ..ServerConfig::default()
    });
    let mut s = server.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nkoi \r\n4\r\nfish\r\n0\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s), (200, "koi fish".into()));
    let mut s = server.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n")
        .unwrap();
    assert!(read_to_close(&mut s).starts_with("HTTP/1.1 413"));
}

#[test]
fn a_streamed_response_is_chunked_json_lines() {
    let server = TestServer::start(ServerConfig::default());
    let mut s = server.connect();
    s.write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let resp = read_to_close(&mut s);
    assert!(resp.contains("Transfer-Encoding: chunked"), "{resp}");
    assert!(resp.contains("application/x-ndjson"));
    assert!(
        resp.contains("8\r\n{\"n\":1}\n\r\n8\r\n{\"n\":2}\n\r\n"),
        "{resp:?}"
    );
    assert!(resp.ends_with("0\r\n\r\n"), "{resp:?}");
}

#[test]
fn shutdown_lets_an_in_flight_request_finish_and_closes_idle_ones() {
    let mut server = TestServer::start(ServerConfig::default());
    let mut idle = server.connect();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut idle).0, 200);
    let mut busy = server.connect();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Wait until the slow request is surely being handled: the idle connection proves the
    // accept loop is live, and a second connection's answer proves /slow was accepted earlier.
    let mut probe = server.connect();
    probe
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(read_to_close(&mut probe).starts_with("HTTP/1.1 200"));
    let took = server.stop_and_join();
    let resp = read_to_close(&mut busy);
    assert!(
        resp.starts_with("HTTP/1.1 200"),
        "in-flight request lost: {resp:?}"
    );
    assert!(resp.contains("Connection: close"));
    assert_eq!(
        read_to_close(&mut idle),
        "",
        "idle connection should just close"
    );
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "still accepting after shutdown"
    );
}
