//! The keyboard-mashing pool: every keystroke and its arrival time go into a SHA-256 state,
//! and a deliberately stingy estimate says how many bits of surprise that was worth.
//!
//! Owns the estimate and the hashing. It never reads a terminal or a clock: the shell hands
//! in each byte with its arrival time in nanoseconds, so tests can replay any typing.
//! Its output is operator entropy to mix with the OS RNG; it must never be used alone.

use crate::base::Secret;
use ring::digest::{Context, SHA256};

/// The bits the operator is asked for (spec §4.5: "Collected 256 bits of entropy").
pub const GOAL_BITS: u32 = 256;

/// Credit for one keystroke, at most: mashing is far from uniform, so a key that is new and
/// arrives with a fresh rhythm is worth two bits, not eight.
const MAX_CREDIT: u32 = 2;

/// Two inter-key gaps closer than this (nanoseconds) count as the same rhythm: key
/// auto-repeat and scripted input arrive at a steady beat and earn nothing for timing.
const SAME_RHYTHM_NS: u64 = 2_000_000;

/// Keys closer together than this (nanoseconds) were not typed one by one (a paste, or one
/// terminal read holding several bytes) and earn nothing at all.
const MIN_KEY_GAP_NS: u64 = 1_000_000;

/// Keystrokes and their timing, hashed as they arrive.
pub struct Pool {
    hash: Context,
    bits: u32,
    keys: u64,
    last_key: Option<u8>,
    last_at: Option<u64>,
    last_gap: Option<u64>,
}

impl Default for Pool {
    fn default() -> Pool {
        Pool::new()
    }
}

impl Pool {
    /// An empty pool.
    pub fn new() -> Pool {
        let mut hash = Context::new(&SHA256);
        hash.update(b"koi certmesh keyboard entropy v1");
        Pool {
            hash,
            bits: 0,
            keys: 0,
            last_key: None,
            last_at: None,
            last_gap: None,
        }
    }

    /// Adds one keystroke that arrived at `at_ns` (any monotonic origin) and returns the
    /// bits it was credited (0..=2). Every keystroke is hashed, credited or not.
    pub fn key(&mut self, byte: u8, at_ns: u64) -> u32 {
        self.hash.update(&[byte]);
        self.hash.update(&at_ns.to_le_bytes());
        self.keys += 1;
        let gap = self.last_at.map(|t| at_ns.saturating_sub(t));
        let mut credit = 0;
        let typed = gap.is_none_or(|g| g >= MIN_KEY_GAP_NS);
        if typed && self.last_key != Some(byte) {
            credit += 1;
        }
        if let (Some(gap), Some(last)) = (gap, self.last_gap) {
            if typed && gap.abs_diff(last) >= SAME_RHYTHM_NS {
                credit += 1;
            }
        }
        // A held key repeats one byte at a steady beat: nothing new in either.
        let credit = credit.min(MAX_CREDIT);
        self.last_key = Some(byte);
        self.last_at = Some(at_ns);
        self.last_gap = gap;
        self.bits = (self.bits + credit).min(GOAL_BITS);
        credit
    }

    /// Bits credited so far (capped at [`GOAL_BITS`]).
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Whether the goal is reached.
    pub fn full(&self) -> bool {
        self.bits >= GOAL_BITS
    }

    /// Keystrokes seen, credited or not.
    pub fn keys(&self) -> u64 {
        self.keys
    }

    /// The 32-byte digest of everything typed.
    pub fn finish(self) -> Secret {
        Secret::new(self.hash.finish().as_ref().to_vec())
    }
}

/// Hashes an operator-chosen or generated passphrase into 32 bytes of pool.
pub fn digest_passphrase(passphrase: &Secret) -> Secret {
    let mut hash = Context::new(&SHA256);
    hash.update(b"koi certmesh passphrase entropy v1");
    hash.update(passphrase.expose());
    Secret::new(hash.finish().as_ref().to_vec())
}

/// A progress bar `width` cells wide for `bits` of [`GOAL_BITS`], with its percentage.
pub fn progress_bar(bits: u32, width: usize) -> String {
    let bits = bits.min(GOAL_BITS) as usize;
    let filled = bits * width / GOAL_BITS as usize;
    let pct = bits * 100 / GOAL_BITS as usize;
    format!(
        "{}{} {pct:>3}%",
        "█".repeat(filled),
        "░".repeat(width - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mashing: varied keys with an irregular rhythm (a fixed xorshift, not real randomness).
    fn mash(pool: &mut Pool, n: usize, seed: u64) {
        let mut x = seed;
        let mut t = 0u64;
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += 20_000_000 + (x % 90) * 1_000_000;
            pool.key(b'a' + (x % 26) as u8, t);
        }
    }

    #[test]
    fn mashing_fills_the_pool_at_two_bits_a_key_at_best() {
        let mut pool = Pool::new();
        mash(&mut pool, 127, 7);
        assert!(!pool.full(), "127 keys can earn at most 254 bits");
        mash(&mut pool, 400, 8);
        assert!(pool.full());
        assert_eq!(pool.bits(), GOAL_BITS);
        assert_eq!(pool.keys(), 527);
    }

    #[test]
    fn a_held_key_earns_nothing() {
        let mut pool = Pool::new();
        for i in 0..1_000u64 {
            pool.key(b'j', i * 33_000_000);
        }
        assert!(pool.bits() <= 1, "{}", pool.bits());
    }

    #[test]
    fn a_pasted_blob_earns_nothing() {
        let mut pool = Pool::new();
        for (i, b) in (0..2_000u64).zip((b'!'..=b'~').cycle()) {
            // One terminal read: bytes a few microseconds apart.
            pool.key(b, 5_000_000_000 + i * 3_000);
        }
        assert!(pool.bits() <= 1, "{}", pool.bits());
    }

    #[test]
    fn two_keys_alternating_at_a_steady_beat_earn_one_bit_each_at_most() {
        let mut pool = Pool::new();
        for i in 0..100u64 {
            pool.key(if i % 2 == 0 { b'a' } else { b'b' }, i * 50_000_000);
        }
        assert!(pool.bits() <= 100, "{}", pool.bits());
    }

    #[test]
    fn the_digest_depends_on_every_key_and_every_time() {
        let run = |keys: &[(u8, u64)]| {
            let mut p = Pool::new();
            for &(k, t) in keys {
                p.key(k, t);
            }
            p.finish().expose().to_vec()
        };
        let base = run(&[(b'a', 1), (b'b', 2)]);
        assert_eq!(base.len(), 32);
        assert_eq!(base, run(&[(b'a', 1), (b'b', 2)]));
        assert_ne!(base, run(&[(b'a', 1), (b'c', 2)]));
        assert_ne!(base, run(&[(b'a', 1), (b'b', 3)]));
        assert_ne!(base, run(&[(b'b', 2), (b'a', 1)]));
    }

    #[test]
    fn passphrase_digests_differ_and_are_32_bytes() {
        let a = digest_passphrase(&Secret::new(b"correct horse".to_vec()));
        let b = digest_passphrase(&Secret::new(b"correct horsf".to_vec()));
        assert_eq!(a.expose().len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn the_bar_is_as_wide_as_asked_and_ends_at_100() {
        assert_eq!(progress_bar(0, 20), format!("{}   0%", "░".repeat(20)));
        assert_eq!(
            progress_bar(128, 20),
            format!("{}{}  50%", "█".repeat(10), "░".repeat(10))
        );
        assert_eq!(progress_bar(9_999, 20), format!("{} 100%", "█".repeat(20)));
    }
}
