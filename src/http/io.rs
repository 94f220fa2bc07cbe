//! Deadline-bounded reads and writes shared by the server and the client.

use async_io::Timer;
use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use std::io;
use std::time::Instant;

/// Size of one read from a socket.
pub(crate) const READ_CHUNK: usize = 4096;

/// Reads once into `buf`, appending; `Ok(0)` is end of stream. Fails with `TimedOut` at the
/// deadline.
pub(crate) async fn read_some<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    deadline: Instant,
) -> io::Result<usize> {
    let mut chunk = [0u8; READ_CHUNK];
    let read = async { Some(stream.read(&mut chunk).await) };
    let timeout = async {
        Timer::at(deadline).await;
        None
    };
    match future::or(read, timeout).await {
        Some(Ok(n)) => {
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            Ok(n)
        }
        Some(Err(e)) => Err(e),
        None => Err(io::ErrorKind::TimedOut.into()),
    }
}

/// Writes all of `bytes` before the deadline.
pub(crate) async fn write_all_by<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    deadline: Instant,
) -> io::Result<()> {
    let write = async { Some(stream.write_all(bytes).await) };
    let timeout = async {
        Timer::at(deadline).await;
        None
    };
    match future::or(write, timeout).await {
        Some(r) => r,
        None => Err(io::ErrorKind::TimedOut.into()),
    }
}
