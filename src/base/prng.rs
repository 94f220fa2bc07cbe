//! A small seedable PRNG (xorshift64*) for protocol jitter and tie-breaking, never for secrets.
//!
//! Seeded once from [`RandomSource`](super::RandomSource) in production and from a constant in
//! tests, so timing decisions are reproducible under test.

/// xorshift64* generator.
#[derive(Debug, Clone)]
pub struct Prng(u64);

impl Prng {
    /// A generator from a seed (0 is replaced by a fixed odd constant).
    pub fn new(seed: u64) -> Prng {
        Prng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// A generator seeded from the OS.
    pub fn from_os() -> Prng {
        let mut b = [0u8; 8];
        let _ = super::RandomSource::fill(&mut super::OsRandom, &mut b);
        Prng::new(u64::from_le_bytes(b))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `lo..=hi` (inclusive); `lo` when the range is empty.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::Prng;

    #[test]
    fn range_stays_inside_and_covers_the_ends() {
        let mut p = Prng::new(42);
        let (mut lo, mut hi) = (false, false);
        for _ in 0..10_000 {
            let v = p.range(20, 120);
            assert!((20..=120).contains(&v));
            lo |= v == 20;
            hi |= v == 120;
        }
        assert!(lo && hi);
        assert_eq!(p.range(5, 5), 5);
        assert_eq!(p.range(9, 3), 9);
    }

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Prng::new(7), Prng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }
}
