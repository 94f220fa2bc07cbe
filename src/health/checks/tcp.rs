//! TCP checks: a connection that opens is up; it is closed again at once.

use super::{connect, resolve};
use crate::health::model::Outcome;
use std::time::{Duration, Instant};

/// Connects to `host:port` by `deadline`.
pub(super) async fn probe(host: &str, port: u16, deadline: Instant, timeout: Duration) -> Outcome {
    let addr = match resolve(host, port, deadline).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    match connect(addr, deadline, timeout).await {
        Ok(_stream) => Outcome::up("open", format!("TCP {addr} open")),
        Err(o) => o,
    }
}
