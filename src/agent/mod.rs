//! `koi agent`: the long-lived process.
//!
//! Owns startup (state directory, exclusive lock, token, control listener, `agent.json`), the
//! single executor every capability runs on, and shutdown: on SIGINT/SIGTERM (or a shutdown
//! request) it stops accepting, lets in-flight requests finish, removes `agent.json` and
//! `agent.token`, and exits within 5 s. A second signal exits at once.

mod capabilities;
mod capability;
mod control;
mod info;
mod status;
mod token;

pub use capability::{Capability, ResponseFuture};
pub use info::AgentInfo;
pub use status::{AgentStatus, CapabilityStatus};
pub use token::Token;

use crate::base::signals::Signals;
use crate::base::{now_unix, shutdown_pair, OsRandom};
use crate::http::{serve_tcp, ServerConfig};
use crate::state::{
    remove_if_exists, write_versioned, AgentLock, LockError, Secrecy, StateDir, StateError,
};
use async_executor::LocalExecutor;
use async_io::Async;
use futures_lite::future;
use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::rc::Rc;

/// The default control API address.
pub const DEFAULT_CONTROL: &str = "127.0.0.1:5640";

/// How to run the agent.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// The state directory.
    pub state: StateDir,
    /// The control API address; must be loopback. Port 0 picks a free port.
    pub control: SocketAddr,
    /// The control API's connection cap.
    pub max_connections: usize,
    /// mDNS settings; `None` runs the agent without mDNS (`--no-mdns`).
    #[cfg(feature = "mdns")]
    pub mdns: Option<crate::mdns::MdnsConfig>,
    /// How long a machine may go unseen before health calls it down (None: 60 s).
    pub health_grace: Option<std::time::Duration>,
}

/// Why the agent could not start (or stopped badly).
#[derive(Debug)]
pub enum AgentError {
    /// The state directory could not be created.
    StateDir(PathBuf, std::io::Error),
    /// Another agent holds the state directory.
    Lock(LockError),
    /// A state file could not be written.
    State(StateError),
    /// The control address is not a loopback address.
    NotLoopback(SocketAddr),
    /// The control address could not be bound.
    Bind(SocketAddr, std::io::Error),
    /// The OS refused signal handlers, randomness or the event loop.
    Os(&'static str, std::io::Error),
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentError::StateDir(p, e) => {
                write!(f, "cannot create state directory {}: {e}", p.display())
            }
            AgentError::Lock(e) => write!(f, "{e}"),
            AgentError::State(e) => write!(f, "{e}"),
            AgentError::NotLoopback(a) => write!(
                f,
                "--control {a} is not a loopback address; the control API listens on loopback only (e.g. 127.0.0.1:5640)"
            ),
            AgentError::Bind(a, e) if e.kind() == std::io::ErrorKind::AddrInUse => write!(
                f,
                "cannot listen on {a}: the address is in use; pass --control 127.0.0.1:0 to pick a free port"
            ),
            AgentError::Bind(a, e) => write!(f, "cannot listen on {a}: {e}"),
            AgentError::Os(what, e) => write!(f, "{what}: {e}"),
        }
    }
}

impl std::error::Error for AgentError {}

/// Runs the agent until it is told to stop.
pub fn run(opts: AgentOptions) -> Result<(), AgentError> {
    let state = &opts.state;
    state
        .create()
        .map_err(|e| AgentError::StateDir(state.root().to_path_buf(), e))?;
    let lock = AgentLock::acquire(&state.agent_lock()).map_err(AgentError::Lock)?;
    let signals =
        Signals::install().map_err(|e| AgentError::Os("cannot install signal handlers", e))?;
    if !opts.control.ip().is_loopback() {
        return Err(AgentError::NotLoopback(opts.control));
    }
    let listener =
        TcpListener::bind(opts.control).map_err(|e| AgentError::Bind(opts.control, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| AgentError::Bind(opts.control, e))?;
    let listener =
        Async::new(listener).map_err(|e| AgentError::Os("cannot register listener", e))?;
    let token = Token::generate(&mut OsRandom).map_err(|e| AgentError::Os("no randomness", e))?;

    let result = publish(state, &token, addr).map(|()| {
        crate::log!(
            Info,
            "agent",
            "koi {} agent listening on {addr} (state: {})",
            crate::build_info::VERSION,
            state.root().display()
        );
        serve(&opts, token, addr, listener, signals);
    });
    let _ = remove_if_exists(&state.agent_json());
    let _ = remove_if_exists(&state.agent_token());
    drop(lock);
    if result.is_ok() {
        crate::log!(Info, "agent", "stopped");
    }
    result
}

/// Writes the token and then `agent.json` (so a client that sees agent.json finds the token).
fn publish(state: &StateDir, token: &Token, addr: SocketAddr) -> Result<(), AgentError> {
    token
        .write(&state.agent_token())
        .map_err(AgentError::State)?;
    let info = AgentInfo {
        schema: 1,
        control: addr.to_string(),
        pid: std::process::id(),
        version: crate::build_info::VERSION.to_string(),
        started_at: now_unix(),
    };
    write_versioned(&state.agent_json(), &info, Secrecy::Public).map_err(AgentError::State)
}

fn serve(
    opts: &AgentOptions,
    token: Token,
    addr: SocketAddr,
    listener: Async<TcpListener>,
    mut signals: Signals,
) {
    let ex = Rc::new(LocalExecutor::new());
    let main = async {
        let (stop, stopping) = shutdown_pair();
        let config = Rc::new(ServerConfig {
            max_connections: opts.max_connections,
            ..ServerConfig::default()
        });
        let running = capabilities::start(&ex, opts, &stopping);
        let handler =
            control::Control::new(token, addr, stop.clone(), running.apis.clone()).into_handler();
        let server = ex.spawn(serve_tcp(
            ex.clone(),
            listener,
            handler,
            config,
            stopping.clone(),
        ));
        let by_signal = future::or(async { signals.recv().await.ok() }, async {
            stopping.wait().await;
            None
        })
        .await;
        if let Some(sig) = by_signal {
            crate::log!(Info, "agent", "signal {sig}: stopping");
        }
        stop.trigger();
        let forced = future::or(
            async {
                server.await;
                running.stopped().await;
                false
            },
            async {
                let _ = signals.recv().await;
                true
            },
        )
        .await;
        if forced {
            crate::log!(Warn, "agent", "second signal: stopping now");
        }
    };
    async_io::block_on(ex.run(main));
}
