//! How a capability plugs into the agent: a status line for `koi status`, routes under
//! `/v1/<name>/`, and a stop hook for shutdown.

use super::status::CapabilityStatus;
use crate::http::{Request, Response};
use std::future::Future;
use std::pin::Pin;

/// A boxed response future.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response>>>;

/// A capability running inside the agent.
pub trait Capability {
    /// `mdns`, `certmesh`, `dns`, `health` or `proxy`; its routes live under `/v1/<name>/`.
    fn name(&self) -> &'static str;

    /// Its line in `koi status`.
    fn status(&self) -> CapabilityStatus;

    /// Handles a request under `/v1/<name>/` (authentication has already been checked for
    /// writes). `None` means "no such endpoint" (404).
    fn handle(&self, req: Request) -> Option<ResponseFuture>;
}
