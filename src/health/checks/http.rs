//! HTTP(S) checks: one `GET` with `Connection: close`; up when the status is in the expected
//! range. Only the response head (and whatever body arrives with its last read) is read.

use super::tls::TlsStream;
use super::{connect, read_some, resolve, timed_out, write_all, TlsConfig};
use crate::health::model::{HttpTarget, Outcome};
use async_io::Async;
use koi_wire::http::{self as wire, Limits, ResponseHead};
use std::net::TcpStream;
use std::time::{Duration, Instant};

enum Conn {
    Plain(Async<TcpStream>),
    Tls(Box<TlsStream>),
}

impl Conn {
    async fn send(
        &mut self,
        bytes: &[u8],
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(), Outcome> {
        match self {
            Conn::Plain(s) => write_all(s, bytes, deadline)
                .await
                .map_err(|e| io_outcome(&e, timeout, "sending the request")),
            Conn::Tls(s) => s.send(bytes, deadline).await,
        }
    }

    async fn recv(
        &mut self,
        buf: &mut Vec<u8>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<usize, Outcome> {
        match self {
            Conn::Plain(s) => read_some(s, buf, deadline)
                .await
                .map_err(|e| io_outcome(&e, timeout, "waiting for the response")),
            Conn::Tls(s) => s.recv(buf, deadline).await,
        }
    }
}

fn io_outcome(e: &std::io::Error, timeout: Duration, during: &str) -> Outcome {
    match e.kind() {
        std::io::ErrorKind::TimedOut => timed_out(timeout, during),
        std::io::ErrorKind::ConnectionReset => {
            Outcome::down("reset", format!("connection reset {during}"))
        }
        _ => Outcome::down("error", format!("connection failed {during}: {e}")),
    }
}

/// GETs `t` by `deadline` and judges its status against `expect`.
pub(super) async fn probe(
    t: &HttpTarget,
    expect: (u16, u16),
    tls: &TlsConfig,
    deadline: Instant,
    timeout: Duration,
) -> Outcome {
    match exchange(t, tls, deadline, timeout).await {
        Ok(head) => judge(head.status, expect),
        Err(o) => o,
    }
}

/// Up when `status` is within `expect`.
pub(super) fn judge(status: u16, (lo, hi): (u16, u16)) -> Outcome {
    if (lo..=hi).contains(&status) {
        Outcome::up(status.to_string(), format!("HTTP {status}"))
    } else {
        let want = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        };
        Outcome::down(
            status.to_string(),
            format!("HTTP {status}, expected {want}"),
        )
    }
}

async fn exchange(
    t: &HttpTarget,
    tls: &TlsConfig,
    deadline: Instant,
    timeout: Duration,
) -> Result<ResponseHead, Outcome> {
    let addr = resolve(&t.host, t.port, deadline).await?;
    let tcp = connect(addr, deadline, timeout).await?;
    let mut conn = if t.tls {
        Conn::Tls(Box::new(
            TlsStream::handshake(tcp, &t.host, tls, deadline).await?,
        ))
    } else {
        Conn::Plain(tcp)
    };
    let default_port = if t.tls { 443 } else { 80 };
    let host = match (t.host.contains(':'), t.port == default_port) {
        (true, true) => format!("[{}]", t.host),
        (true, false) => format!("[{}]:{}", t.host, t.port),
        (false, true) => t.host.clone(),
        (false, false) => format!("{}:{}", t.host, t.port),
    };
    let mut req = Vec::with_capacity(256);
    wire::write_request_head(
        &mut req,
        "GET",
        &t.path,
        &[
            ("Host", &host),
            ("User-Agent", "koi-health"),
            ("Accept", "*/*"),
            ("Connection", "close"),
        ],
    )
    .map_err(|e| Outcome::down("error", format!("cannot write the request: {e}")))?;
    conn.send(&req, deadline, timeout).await?;
    let limits = Limits::default();
    let mut buf = Vec::new();
    loop {
        match wire::parse_response_head(&buf, &limits) {
            Ok(Some((head, used))) if head.status < 200 => {
                buf.drain(..used);
            }
            Ok(Some((head, _))) => return Ok(head),
            Ok(None) => {}
            Err(e) => {
                return Err(Outcome::down(
                    "bad-http",
                    format!("not a valid HTTP response: {e}"),
                ))
            }
        }
        let during = if buf.is_empty() {
            "waiting for the response"
        } else {
            "reading the response head (it arrived too slowly)"
        };
        let n = conn.recv(&mut buf, deadline, timeout).await.map_err(|o| {
            if o.label == "timeout" {
                timed_out(timeout, during)
            } else {
                o
            }
        })?;
        if n == 0 {
            return Err(Outcome::down(
                "closed",
                "the server closed the connection without a complete response",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_judged_against_the_range() {
        let o = judge(200, (200, 399));
        assert_eq!((o.label.as_str(), o.reason.as_str()), ("200", "HTTP 200"));
        assert_eq!(judge(502, (200, 399)).reason, "HTTP 502, expected 200-399");
        assert_eq!(judge(500, (204, 204)).reason, "HTTP 500, expected 204");
        assert_eq!(
            judge(399, (200, 399)).state,
            crate::health::model::State::Up
        );
    }
}
