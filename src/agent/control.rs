//! The control API: HTTP/1.1 + JSON on loopback, under `/v1/`.
//!
//! Reads (`GET`) are open to loopback clients; every other method needs the bearer token from
//! `<state>/agent.token`, checked before routing so that a write to an unknown path also gets
//! 401. Requests whose `Host` is not a loopback name are refused (421), which stops a web page
//! from reaching the API through DNS rebinding.

use super::capability::Capability;
use super::status::{self, AgentStatus};
use super::token::Token;
use crate::base::log::{self, Level};
use crate::base::ShutdownTrigger;
use crate::http::{Handler, Request, Response};
use miniserde::{json, Deserialize, Serialize};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

/// Everything the control API's handlers need.
pub(super) struct Control {
    token: Token,
    started: Instant,
    addr: SocketAddr,
    stop: ShutdownTrigger,
    capabilities: Vec<Rc<dyn Capability>>,
}

#[derive(Deserialize)]
struct LogLevelRequest {
    level: String,
}

#[derive(Serialize)]
struct LogLevelReply {
    level: String,
}

#[derive(Serialize)]
struct StopReply {
    stopping: bool,
}

impl Control {
    /// A control API bound to `addr` that accepts `token` for writes.
    pub(super) fn new(
        token: Token,
        addr: SocketAddr,
        stop: ShutdownTrigger,
        capabilities: Vec<Rc<dyn Capability>>,
    ) -> Control {
        Control {
            token,
            started: Instant::now(),
            addr,
            stop,
            capabilities,
        }
    }

    /// Wraps the control API as an HTTP handler.
    pub(super) fn into_handler(self) -> Rc<dyn Handler> {
        let ctl = Rc::new(self);
        Rc::new(move |req: Request| {
            let ctl = ctl.clone();
            async move { ctl.route(req).await }
        })
    }

    async fn route(&self, req: Request) -> Response {
        if !host_is_loopback(req.head.header("host")) {
            return Response::error(
                421,
                "the control API answers only to 127.0.0.1, [::1] or localhost",
            );
        }
        let method = req.head.method.as_str();
        let read = matches!(method, "GET" | "HEAD");
        if !read && !self.token.matches_header(req.head.header("authorization")) {
            return Response::error(
                401,
                "missing or wrong token: send 'Authorization: Bearer <token>' with the token from <state-dir>/agent.token",
            );
        }
        if let Some(cap) = self.capability_for(req.path()) {
            return match cap.handle(req) {
                Some(fut) => fut.await,
                None => Response::error(404, "no such endpoint"),
            };
        }
        match (read, req.path()) {
            (true, "/v1/status") => Response::json(200, json::to_string(&self.status())),
            (false, "/v1/agent/log-level") if method == "POST" => self.set_log_level(&req.body),
            (false, "/v1/agent/shutdown") if method == "POST" => {
                crate::log!(Info, "agent", "shutdown requested through the control API");
                self.stop.trigger();
                Response::json(202, json::to_string(&StopReply { stopping: true }))
            }
            (_, "/v1/status" | "/v1/agent/log-level" | "/v1/agent/shutdown") => {
                Response::error(405, "method not allowed")
            }
            _ => Response::error(404, "no such endpoint"),
        }
    }

    fn capability_for(&self, path: &str) -> Option<&Rc<dyn Capability>> {
        let rest = path.strip_prefix("/v1/")?;
        let name = rest.split('/').next()?;
        self.capabilities.iter().find(|c| c.name() == name)
    }

    fn status(&self) -> AgentStatus {
        let lines: Vec<_> = self.capabilities.iter().map(|c| c.status()).collect();
        status::collect(
            std::process::id(),
            self.started.elapsed().as_secs(),
            self.addr.to_string(),
            &lines,
        )
    }

    fn set_log_level(&self, body: &[u8]) -> Response {
        let parsed = std::str::from_utf8(body)
            .ok()
            .and_then(|t| json::from_str::<LogLevelRequest>(t).ok());
        let Some(level) = parsed.and_then(|r| Level::parse(&r.level)) else {
            return Response::error(
                400,
                r#"expected {"level": "error" | "warn" | "info" | "debug"}"#,
            );
        };
        log::set_level(level);
        crate::log!(Info, "agent", "log level set to {}", level.name());
        let reply = LogLevelReply {
            level: level.name().to_string(),
        };
        Response::json(200, json::to_string(&reply))
    }
}

/// True for a missing Host (HTTP/1.0) or a loopback name with an optional port.
fn host_is_loopback(host: Option<&str>) -> bool {
    let Some(host) = host else { return true };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']').map_or("", |(h, _)| h)
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::host_is_loopback;

    #[test]
    fn only_loopback_hosts_pass() {
        for ok in [
            "127.0.0.1:5640",
            "127.0.0.1",
            "localhost:5640",
            "LOCALHOST",
            "[::1]:5640",
            "127.1.2.3:80",
        ] {
            assert!(host_is_loopback(Some(ok)), "{ok} refused");
        }
        for bad in [
            "evil.example:5640",
            "192.168.1.5:5640",
            "[fe80::1]:1",
            "",
            "[::1",
        ] {
            assert!(!host_is_loopback(Some(bad)), "{bad} accepted");
        }
        assert!(host_is_loopback(None));
    }
}
