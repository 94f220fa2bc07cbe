//! The HTTP/1.1 server: one task per connection on the caller's executor.
//!
//! Invariants: a request head must arrive within `head_timeout` of the connection opening (or of
//! its first byte, on a kept-alive connection); an idle kept-alive connection is closed after
//! `idle_timeout`; a body is read under `body_cap` and `body_timeout`; connection number
//! `max_connections + 1` gets a 503 and is closed; on shutdown no new connection is accepted,
//! idle ones close, and in-flight requests finish within `drain_timeout`.

use super::io::{read_some, write_all_by};
use crate::base::Shutdown;
use async_executor::LocalExecutor;
use async_io::{Async, Timer};
use futures_lite::{future, AsyncRead, AsyncWrite, Stream, StreamExt};
use koi_wire::http::{self as wire, BodyDecoder, BodyKind, Limits, RequestHead};
use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Limits and deadlines for one server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Concurrent connections served; the next one is refused with 503.
    pub max_connections: usize,
    /// Time allowed for a whole request head.
    pub head_timeout: Duration,
    /// Time a kept-alive connection may sit idle between requests.
    pub idle_timeout: Duration,
    /// Time allowed for a request body.
    pub body_timeout: Duration,
    /// Time allowed for writing one response (or one chunk of a streamed one).
    pub write_timeout: Duration,
    /// Largest request body accepted.
    pub body_cap: u64,
    /// Request head limits.
    pub limits: Limits,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 64,
            head_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            body_cap: 1024 * 1024,
            limits: Limits::default(),
            drain_timeout: Duration::from_secs(4),
        }
    }
}

/// One parsed request with its whole body.
#[derive(Debug)]
pub struct Request {
    /// The request head.
    pub head: RequestHead,
    /// The decoded body (empty when there is none).
    pub body: Vec<u8>,
    /// The peer's address.
    pub peer: SocketAddr,
}

impl Request {
    /// The target's path, without the query string.
    pub fn path(&self) -> &str {
        let t = self.head.target.as_str();
        t.split_once('?').map_or(t, |(p, _)| p)
    }

    /// The value of query parameter `name`, undecoded.
    pub fn query(&self, name: &str) -> Option<&str> {
        let (_, q) = self.head.target.split_once('?')?;
        q.split('&')
            .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// A response body: all at once, or streamed with chunked encoding.
pub enum Body {
    /// Sent with Content-Length.
    Full(Vec<u8>),
    /// Sent chunk by chunk until the stream ends or the server shuts down.
    Stream(Pin<Box<dyn Stream<Item = Vec<u8>>>>),
}

/// A response to send.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers (framing and Connection are added by the server).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, body: String) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Full(body.into_bytes()),
        }
    }

    /// A JSON error body `{"error": message}`.
    pub fn error(status: u16, message: &str) -> Response {
        let mut obj = miniserde::json::Object::new();
        obj.insert(
            "error".into(),
            miniserde::json::Value::String(message.to_string()),
        );
        Response::json(status, miniserde::json::to_string(&obj))
    }

    /// A streamed response of newline-delimited JSON objects.
    pub fn json_lines(stream: Pin<Box<dyn Stream<Item = Vec<u8>>>>) -> Response {
        Response {
            status: 200,
            headers: vec![("Content-Type".into(), "application/x-ndjson".into())],
            body: Body::Stream(stream),
        }
    }
}

/// Turns requests into responses.
pub trait Handler {
    /// Handles one request.
    fn handle(&self, req: Request) -> Pin<Box<dyn Future<Output = Response>>>;
}

impl<F, Fut> Handler for F
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response> + 'static,
{
    fn handle(&self, req: Request) -> Pin<Box<dyn Future<Output = Response>>> {
        Box::pin(self(req))
    }
}

/// One accepted connection, holding one of the listener's connection slots until dropped.
pub struct Accepted {
    /// The connection.
    pub stream: Async<TcpStream>,
    /// Who connected.
    pub peer: SocketAddr,
    /// The slot; the connection's task keeps it until the connection is done.
    pub slot: Slot,
}

/// Accepts connections until `shutdown`: at most `max` hold a slot at once, and the one over
/// goes to `over_limit` (then is closed). Accept errors are logged under `tag` and retried
/// after 50 ms. Returns the live slot count, for draining.
pub async fn accept_each(
    listener: &Async<TcpListener>,
    max: usize,
    shutdown: &Shutdown,
    tag: &'static str,
    over_limit: fn(&TcpStream),
    mut on_conn: impl FnMut(Accepted),
) -> Rc<Cell<usize>> {
    let active = Rc::new(Cell::new(0usize));
    loop {
        let accepted = future::or(async { Some(listener.accept().await) }, async {
            shutdown.wait().await;
            None
        })
        .await;
        let (stream, peer) = match accepted {
            None => break,
            Some(Ok(pair)) => pair,
            Some(Err(e)) => {
                crate::log!(Warn, tag, "accept failed: {e}");
                Timer::after(Duration::from_millis(50)).await;
                continue;
            }
        };
        if active.get() >= max {
            over_limit(stream.get_ref());
            continue;
        }
        active.set(active.get() + 1);
        let slot = Slot(active.clone());
        on_conn(Accepted { stream, peer, slot });
    }
    active
}

/// Accepts connections until `shutdown`, then drains in-flight ones for at most
/// `config.drain_timeout`.
pub async fn serve_tcp(
    ex: Rc<LocalExecutor<'static>>,
    listener: Async<TcpListener>,
    handler: Rc<dyn Handler>,
    config: Rc<ServerConfig>,
    shutdown: Shutdown,
) {
    let max = config.max_connections;
    let active = accept_each(&listener, max, &shutdown, "http", refuse, |conn| {
        let (handler, config, shutdown) = (handler.clone(), config.clone(), shutdown.clone());
        ex.spawn(async move {
            let Accepted {
                mut stream,
                peer,
                slot: _slot,
            } = conn;
            serve_connection(&mut stream, peer, &*handler, &config, &shutdown).await;
        })
        .detach();
    })
    .await;
    let deadline = Instant::now() + config.drain_timeout;
    while active.get() > 0 && Instant::now() < deadline {
        Timer::after(Duration::from_millis(10)).await;
    }
}

/// A connection slot; dropping it frees the slot.
pub struct Slot(Rc<Cell<usize>>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// Answers an over-cap connection with 503 without reading from it or waiting on it.
fn refuse(stream: &TcpStream) {
    use std::io::Write;
    let body = br#"{"error":"too many connections"}"#;
    let len = body.len().to_string();
    let mut out = Vec::with_capacity(160);
    if wire::write_response_head(
        &mut out,
        503,
        &[
            ("Content-Type", "application/json"),
            ("Content-Length", &len),
            ("Connection", "close"),
        ],
    )
    .is_ok()
    {
        out.extend_from_slice(body);
        let mut s = stream;
        let _ = s.write(&out);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Serves requests on one connection until it closes, fails, idles out or shutdown.
pub async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    peer: SocketAddr,
    handler: &dyn Handler,
    config: &ServerConfig,
    shutdown: &Shutdown,
) {
    let mut buf = Vec::new();
    let mut idle = config.head_timeout;
    loop {
        let head = match read_head(stream, &mut buf, idle, config, shutdown).await {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(HeadError::Io) => return,
            Err(HeadError::Wire(e)) => return send_error(stream, e, config).await,
        };
        idle = config.idle_timeout;
        crate::log!(Debug, "http", "{peer} {} {}", head.method, head.target);
        if !host_header_ok(&head) {
            return send_error(stream, wire::Error::BadHeader, config).await;
        }
        let body = match read_body(stream, &mut buf, &head, config).await {
            Ok(body) => body,
            Err(HeadError::Wire(e)) => return send_error(stream, e, config).await,
            Err(HeadError::Io) => return,
        };
        let keep_alive = head.keep_alive() && !shutdown.is_triggered();
        let is_head = head.method == "HEAD";
        let resp = handler.handle(Request { head, body, peer }).await;
        let keep_alive = keep_alive && !shutdown.is_triggered();
        if write_response(stream, resp, keep_alive, is_head, config, shutdown)
            .await
            .is_err()
            || !keep_alive
        {
            return;
        }
    }
}

/// RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host header (HTTP/1.0 may omit it).
fn host_header_ok(head: &RequestHead) -> bool {
    let hosts = head
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("host"))
        .count();
    hosts == 1 || (hosts == 0 && head.version == wire::Version::Http10)
}

enum HeadError {
    Io,
    Wire(wire::Error),
}

/// Reads until a whole head is buffered. `Ok(None)`: the peer closed, or shutdown came, while
/// the connection was idle.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    idle: Duration,
    config: &ServerConfig,
    shutdown: &Shutdown,
) -> Result<Option<RequestHead>, HeadError> {
    let start = Instant::now();
    let mut head_deadline = (!buf.is_empty()).then(|| start + config.head_timeout);
    loop {
        if !buf.is_empty() {
            match wire::parse_request_head(buf, &config.limits) {
                Ok(Some((head, used))) => {
                    buf.drain(..used);
                    return Ok(Some(head));
                }
                Ok(None) => {}
                Err(e) => return Err(HeadError::Wire(e)),
            }
        }
        let n = match head_deadline {
            Some(deadline) => read_some(stream, buf, deadline).await,
            None => {
                let read = read_some(stream, buf, start + idle);
                let stop = async {
                    shutdown.wait().await;
                    Err(io::ErrorKind::Interrupted.into())
                };
                future::or(read, stop).await
            }
        };
        match n {
            Ok(0) if buf.is_empty() => return Ok(None),
            Ok(0) => return Err(HeadError::Io),
            Ok(_) => {
                head_deadline.get_or_insert_with(|| {
                    if idle == config.head_timeout {
                        start + config.head_timeout
                    } else {
                        Instant::now() + config.head_timeout
                    }
                });
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted && buf.is_empty() => return Ok(None),
            Err(_) => return Err(HeadError::Io),
        }
    }
}

async fn read_body<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    head: &RequestHead,
    config: &ServerConfig,
) -> Result<Vec<u8>, HeadError> {
    let kind = head.body_kind().map_err(HeadError::Wire)?;
    if kind == BodyKind::Empty {
        return Ok(Vec::new());
    }
    let mut decoder = BodyDecoder::new(kind, config.body_cap).map_err(HeadError::Wire)?;
    let deadline = Instant::now() + config.body_timeout;
    if buf.is_empty()
        && head
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        write_all_by(stream, b"HTTP/1.1 100 Continue\r\n\r\n", deadline)
            .await
            .map_err(|_| HeadError::Io)?;
    }
    let mut body = Vec::new();
    loop {
        let used = decoder.decode(buf, &mut body).map_err(HeadError::Wire)?;
        buf.drain(..used);
        if decoder.is_done() {
            return Ok(body);
        }
        match read_some(stream, buf, deadline).await {
            Ok(0) | Err(_) => return Err(HeadError::Io),
            Ok(_) => {}
        }
    }
}

async fn send_error<S: AsyncWrite + Unpin>(stream: &mut S, e: wire::Error, config: &ServerConfig) {
    let resp = Response::error(e.status(), &e.to_string());
    let shutdown = crate::base::shutdown_pair().1;
    let _ = write_response(stream, resp, false, false, config, &shutdown).await;
}

async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    resp: Response,
    keep_alive: bool,
    is_head: bool,
    config: &ServerConfig,
    shutdown: &Shutdown,
) -> io::Result<()> {
    let mut headers: Vec<(&str, &str)> = resp
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    headers.push((
        "Connection",
        if keep_alive { "keep-alive" } else { "close" },
    ));
    let deadline = || Instant::now() + config.write_timeout;
    let mut out = Vec::with_capacity(256);
    match resp.body {
        Body::Full(body) => {
            let len = body.len().to_string();
            headers.push(("Content-Length", &len));
            wire::write_response_head(&mut out, resp.status, &headers)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            if !is_head {
                out.extend_from_slice(&body);
            }
            write_all_by(stream, &out, deadline()).await
        }
        Body::Stream(mut chunks) => {
            headers.push(("Transfer-Encoding", "chunked"));
            wire::write_response_head(&mut out, resp.status, &headers)
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            write_all_by(stream, &out, deadline()).await?;
            if is_head {
                return Ok(());
            }
            loop {
                let next = future::or(chunks.next(), async {
                    shutdown.wait().await;
                    None
                })
                .await;
                out.clear();
                let Some(data) = next else {
                    wire::write_last_chunk(&mut out);
                    return write_all_by(stream, &out, deadline()).await;
                };
                wire::write_chunk(&mut out, &data);
                write_all_by(stream, &out, deadline()).await?;
                futures_lite::AsyncWriteExt::flush(stream).await?;
            }
        }
    }
}
