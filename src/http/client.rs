//! A small HTTP/1.1 client: one request per call, whole responses, hard deadlines and caps.

use super::io::{read_some, write_all_by};
use async_io::{Async, Timer};
use futures_lite::{future, AsyncRead, AsyncWrite};
use koi_wire::http::{self as wire, BodyDecoder, Limits, ResponseHead};
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

/// Why a request failed.
#[derive(Debug)]
pub enum ClientError {
    /// The connection could not be opened.
    Connect(io::Error),
    /// The deadline passed.
    Timeout,
    /// The connection failed mid-request.
    Io(io::Error),
    /// The server sent something that is not valid HTTP/1.1 (or too large).
    Protocol(wire::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect(e) => write!(f, "connection failed: {e}"),
            ClientError::Timeout => write!(f, "timed out"),
            ClientError::Io(e) => write!(f, "connection broke: {e}"),
            ClientError::Protocol(e) => write!(f, "bad HTTP response: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

fn io_err(e: io::Error) -> ClientError {
    if e.kind() == io::ErrorKind::TimedOut {
        ClientError::Timeout
    } else {
        ClientError::Io(e)
    }
}

/// A whole response.
#[derive(Debug)]
pub struct ClientResponse {
    /// The response head.
    pub head: ResponseHead,
    /// The decoded body, at most the cap the caller gave.
    pub body: Vec<u8>,
}

impl ClientResponse {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status
    }
}

/// Opens a TCP connection before `deadline`.
pub async fn connect(addr: SocketAddr, deadline: Instant) -> Result<Async<TcpStream>, ClientError> {
    let connect = async { Some(Async::<TcpStream>::connect(addr).await) };
    let timeout = async {
        Timer::at(deadline).await;
        None
    };
    match future::or(connect, timeout).await {
        Some(Ok(s)) => Ok(s),
        Some(Err(e)) => Err(ClientError::Connect(e)),
        None => Err(ClientError::Timeout),
    }
}

/// Sends one request on `stream` (with `Connection: close`) and reads the whole response.
#[allow(clippy::too_many_arguments)]
pub async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    method: &str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    body_cap: u64,
    deadline: Instant,
) -> Result<ClientResponse, ClientError> {
    let len = body.len().to_string();
    let mut all: Vec<(&str, &str)> = vec![("Host", host), ("Connection", "close")];
    all.extend_from_slice(headers);
    if !body.is_empty() || method == "POST" || method == "PUT" {
        all.push(("Content-Length", &len));
    }
    let mut out = Vec::with_capacity(256 + body.len());
    wire::write_request_head(&mut out, method, target, &all).map_err(ClientError::Protocol)?;
    out.extend_from_slice(body);
    write_all_by(stream, &out, deadline).await.map_err(io_err)?;

    let limits = Limits::default();
    let mut buf = Vec::new();
    let head = loop {
        if let Some((head, used)) =
            wire::parse_response_head(&buf, &limits).map_err(ClientError::Protocol)?
        {
            buf.drain(..used);
            if head.status >= 100 && head.status < 200 {
                continue;
            }
            break head;
        }
        if read_some(stream, &mut buf, deadline)
            .await
            .map_err(io_err)?
            == 0
        {
            return Err(ClientError::Protocol(wire::Error::Truncated));
        }
    };
    let kind = head.body_kind(method).map_err(ClientError::Protocol)?;
    let mut decoder = BodyDecoder::new(kind, body_cap).map_err(ClientError::Protocol)?;
    let mut body = Vec::new();
    loop {
        let used = decoder
            .decode(&buf, &mut body)
            .map_err(ClientError::Protocol)?;
        buf.drain(..used);
        if decoder.is_done() {
            break;
        }
        if read_some(stream, &mut buf, deadline)
            .await
            .map_err(io_err)?
            == 0
        {
            decoder.finish_at_eof().map_err(ClientError::Protocol)?;
            break;
        }
    }
    Ok(ClientResponse { head, body })
}

/// Sends one request and hands the decoded body to `on_body` piece by piece as it arrives,
/// until the body ends, `on_body` returns false, or `deadline` passes (which is not an error:
/// it is how `--timeout` ends a stream). Returns the response head.
#[allow(clippy::too_many_arguments)]
pub async fn request_streaming<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    method: &str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
    head_deadline: Instant,
    deadline: Option<Instant>,
    mut on_body: impl FnMut(&[u8]) -> bool,
) -> Result<ResponseHead, ClientError> {
    let mut all: Vec<(&str, &str)> = vec![("Host", host), ("Connection", "close")];
    all.extend_from_slice(headers);
    let mut out = Vec::with_capacity(256);
    wire::write_request_head(&mut out, method, target, &all).map_err(ClientError::Protocol)?;
    write_all_by(stream, &out, head_deadline)
        .await
        .map_err(io_err)?;
    let limits = Limits::default();
    let mut buf = Vec::new();
    let head = loop {
        if let Some((head, used)) =
            wire::parse_response_head(&buf, &limits).map_err(ClientError::Protocol)?
        {
            buf.drain(..used);
            break head;
        }
        if read_some(stream, &mut buf, head_deadline)
            .await
            .map_err(io_err)?
            == 0
        {
            return Err(ClientError::Protocol(wire::Error::Truncated));
        }
    };
    let kind = head.body_kind(method).map_err(ClientError::Protocol)?;
    let mut decoder = BodyDecoder::new(kind, u64::MAX).map_err(ClientError::Protocol)?;
    let far = Instant::now() + std::time::Duration::from_secs(365 * 24 * 3600);
    let deadline = deadline.unwrap_or(far);
    let mut piece = Vec::new();
    loop {
        piece.clear();
        let used = decoder
            .decode(&buf, &mut piece)
            .map_err(ClientError::Protocol)?;
        buf.drain(..used);
        if !piece.is_empty() && !on_body(&piece) {
            break;
        }
        if decoder.is_done() {
            break;
        }
        match read_some(stream, &mut buf, deadline).await {
            Ok(0) => {
                decoder.finish_at_eof().map_err(ClientError::Protocol)?;
                break;
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::TimedOut => break,
            Err(e) => return Err(ClientError::Io(e)),
        }
    }
    Ok(head)
}

/// Connects to `addr` and sends one request with an optional bearer token; for the CLI's calls
/// to its local agent.
pub async fn get_json(
    addr: SocketAddr,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: &[u8],
    deadline: Instant,
) -> Result<ClientResponse, ClientError> {
    let mut stream = connect(addr, deadline).await?;
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Accept", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    let host = addr.to_string();
    request(
        &mut stream,
        method,
        &host,
        target,
        &headers,
        body,
        16 * 1024 * 1024,
        deadline,
    )
    .await
}
