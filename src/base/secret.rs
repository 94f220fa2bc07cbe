//! Secret bytes that are wiped from memory when dropped and never printed.

use std::fmt;
use std::sync::atomic::{compiler_fence, Ordering};

/// Owned secret bytes: zeroed on drop, redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps bytes (the caller's copy is moved in, not copied).
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    /// The secret bytes; keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret bytes, writable in place (for decrypting into them).
    pub fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Keeps the first `len` bytes, wiping the rest first.
    pub fn truncate(&mut self, len: usize) {
        for b in self.0.iter_mut().skip(len) {
            *b = 0;
        }
        compiler_fence(Ordering::SeqCst);
        self.0.truncate(len);
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            *b = 0;
        }
        compiler_fence(Ordering::SeqCst);
        std::hint::black_box(&self.0);
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([redacted; {}])", self.0.len())
    }
}
