//! The CLI's connection to its local agent: found through `<state>/agent.json`, authenticated
//! with `<state>/agent.token`.

use crate::agent::{AgentInfo, Token};
use crate::http::{connect, get_json, request_streaming, ClientError};
use crate::state::{read_versioned, StateDir, StateError};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How long one call to the agent may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call to the agent failed.
#[derive(Debug)]
pub enum AgentCallError {
    /// No `agent.json`: no agent runs on this state directory.
    NoAgent,
    /// `agent.json` exists but nothing answers at its address.
    NotAnswering(String),
    /// A state file is unreadable.
    State(StateError),
    /// The HTTP exchange failed.
    Http(ClientError),
    /// The agent answered with an error status.
    Api(u16, String),
}

impl fmt::Display for AgentCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentCallError::NoAgent => write!(f, "no koi agent is running"),
            AgentCallError::NotAnswering(addr) => write!(
                f,
                "agent.json names {addr} but no agent answers there (it may have been killed); start one with `koi agent`"
            ),
            AgentCallError::State(e) => write!(f, "{e}"),
            AgentCallError::Http(e) => write!(f, "agent call failed: {e}"),
            AgentCallError::Api(status, msg) => write!(f, "agent refused ({status}): {msg}"),
        }
    }
}

/// A handle on the local agent.
#[derive(Debug)]
pub struct AgentClient {
    state: StateDir,
    addr: SocketAddr,
}

impl AgentClient {
    /// Finds the agent of a state directory.
    pub fn find(state: &StateDir) -> Result<AgentClient, AgentCallError> {
        let info: AgentInfo = match read_versioned(&state.agent_json()) {
            Ok(info) => info,
            Err(e) if e.is_not_found() => return Err(AgentCallError::NoAgent),
            Err(e) => return Err(AgentCallError::State(e)),
        };
        let addr = info.control.parse().map_err(|_| {
            AgentCallError::State(StateError::corrupt_file(
                &state.agent_json(),
                "control is not an address",
            ))
        })?;
        Ok(AgentClient {
            state: state.clone(),
            addr,
        })
    }

    /// `GET path`, returning the JSON body.
    pub fn get(&self, path: &str) -> Result<String, AgentCallError> {
        self.call("GET", path, None, b"")
    }

    /// `POST path` with the token, returning the JSON body.
    pub fn post(&self, path: &str, body: &str) -> Result<String, AgentCallError> {
        let token = Token::read(&self.state.agent_token()).map_err(AgentCallError::State)?;
        self.call("POST", path, Some(&token), body.as_bytes())
    }

    /// `GET path` as a stream of newline-delimited JSON: calls `on_line` for each line until the
    /// stream ends, `on_line` returns false, or `timeout` passes.
    pub fn stream_lines(
        &self,
        path: &str,
        timeout: Option<Duration>,
        mut on_line: impl FnMut(&str) -> bool,
    ) -> Result<(), AgentCallError> {
        let start = Instant::now();
        let host = self.addr.to_string();
        let mut pending = Vec::new();
        let result = async_io::block_on(async {
            let mut stream = connect(self.addr, start + CALL_TIMEOUT).await?;
            request_streaming(
                &mut stream,
                "GET",
                &host,
                path,
                &[("Accept", "application/x-ndjson")],
                start + CALL_TIMEOUT,
                timeout.map(|t| start + t),
                |piece| {
                    pending.extend_from_slice(piece);
                    while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=end).collect();
                        let text = String::from_utf8_lossy(&line);
                        if !text.trim().is_empty() && !on_line(text.trim_end()) {
                            return false;
                        }
                    }
                    pending.len() < 1024 * 1024
                },
            )
            .await
        });
        match result {
            Ok(head) if head.status >= 400 => Err(AgentCallError::Api(head.status, String::new())),
            Ok(_) => Ok(()),
            Err(ClientError::Connect(_)) => {
                Err(AgentCallError::NotAnswering(self.addr.to_string()))
            }
            Err(e) => Err(AgentCallError::Http(e)),
        }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&Token>,
        body: &[u8],
    ) -> Result<String, AgentCallError> {
        let deadline = Instant::now() + CALL_TIMEOUT;
        let token = token.map(Token::as_str);
        let resp = async_io::block_on(get_json(self.addr, method, path, token, body, deadline))
            .map_err(|e| match e {
                ClientError::Connect(_) => AgentCallError::NotAnswering(self.addr.to_string()),
                other => AgentCallError::Http(other),
            })?;
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        if resp.status() >= 400 {
            return Err(AgentCallError::Api(resp.status(), error_message(&text)));
        }
        Ok(text)
    }
}

/// The `error` field of a JSON error body, or the body itself.
fn error_message(body: &str) -> String {
    #[derive(miniserde::Deserialize)]
    struct ErrorBody {
        error: String,
    }
    miniserde::json::from_str::<ErrorBody>(body)
        .map(|e| e.error)
        .unwrap_or_else(|_| body.chars().take(200).collect())
}
