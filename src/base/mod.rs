//! Small cross-cutting pieces every capability uses: randomness, wall-clock formatting,
//! durations, logging and constant-time comparison.
//!
//! Nothing here reads the clock or the RNG on its own behalf: callers take `now` and a
//! [`RandomSource`] and pass them down, so logic stays testable.

mod clock;
#[doc(hidden)]
pub mod counting_alloc;
mod duration;
pub mod log;
mod prng;
mod random;
mod secret;
mod shutdown;
pub mod signals;

pub use clock::{format_utc, now_unix, UnixTime};
pub use duration::{format_duration, parse_duration, DurationError};
pub use prng::Prng;
pub use random::{OsRandom, RandomSource};
pub use secret::Secret;
pub use shutdown::{shutdown_pair, Shutdown, ShutdownTrigger};

/// Compares two secrets in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
