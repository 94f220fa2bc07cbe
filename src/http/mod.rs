//! A small HTTP/1.1 server and client on the async runtime, over `koi_wire::http`.
//!
//! Owns connection handling: deadlines (request head, keep-alive idle, body), the connection
//! cap, keep-alive and pipelining, streamed (chunked) responses and graceful shutdown. It never
//! parses bytes itself (that is `koi_wire::http`) and never decides what a request means
//! (that is the handler's job).

mod client;
mod io;
mod server;

pub use client::{connect, get_json, request, request_streaming, ClientError, ClientResponse};
pub use server::{
    accept_each, serve_connection, serve_tcp, Accepted, Body, Handler, Request, Response,
    ServerConfig, Slot,
};
