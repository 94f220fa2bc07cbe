//! Query statistics for `koi dns status`: counters and a latency histogram.
//!
//! The histogram has logarithmic buckets (each 1/4 of a power of two wider than the last)
//! from 1 µs to about 70 s, so memory is fixed and a percentile is exact to within one bucket.

use std::time::Duration;

const BUCKETS: usize = 108;

/// Counters and latency of the resolver.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Queries received (UDP and TCP).
    pub total: u64,
    /// Answered from the local zone.
    pub local: u64,
    /// Sent upstream.
    pub forwarded: u64,
    /// REFUSED.
    pub refused: u64,
    /// Dropped or slipped by the rate limiter.
    pub rate_limited: u64,
    /// FORMERR, NOTIMP, BADVERS, SERVFAIL.
    pub errors: u64,
    /// Silently dropped (responses, runts).
    pub dropped: u64,
    hist: [u64; BUCKETS],
    samples: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            total: 0,
            local: 0,
            forwarded: 0,
            refused: 0,
            rate_limited: 0,
            errors: 0,
            dropped: 0,
            hist: [0; BUCKETS],
            samples: 0,
        }
    }
}

fn bucket_of(micros: u64) -> usize {
    if micros < 1 {
        return 0;
    }
    let log = 63 - micros.leading_zeros() as usize;
    let frac = if log >= 2 {
        ((micros >> (log - 2)) & 3) as usize
    } else {
        ((micros << (2 - log)) & 3) as usize
    };
    (1 + log * 4 + frac).min(BUCKETS - 1)
}

fn bucket_upper(b: usize) -> u64 {
    if b == 0 {
        return 1;
    }
    let log = (b - 1) / 4;
    let frac = (b - 1) % 4;
    let base = 1u64 << log;
    base + (base * (frac as u64 + 1)) / 4
}

impl Stats {
    /// Records how long one answer took.
    pub fn latency(&mut self, d: Duration) {
        self.latencies(d, 1);
    }

    /// Records `n` answers that each took `d` (a batch answered together).
    pub fn latencies(&mut self, d: Duration, n: u64) {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.hist[bucket_of(micros)] += n;
        self.samples += n;
    }

    /// The `p`-th percentile (0..=100) of latency, as an upper bound in microseconds.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        if self.samples == 0 {
            return None;
        }
        let want = ((self.samples as f64) * p / 100.0).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, count) in self.hist.iter().enumerate() {
            seen += count;
            if seen >= want {
                return Some(bucket_upper(b));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_bound_the_samples() {
        let mut s = Stats::default();
        assert_eq!(s.percentile(50.0), None);
        for _ in 0..98 {
            s.latency(Duration::from_micros(20));
        }
        s.latency(Duration::from_millis(5));
        s.latency(Duration::from_millis(5));
        let p50 = s.percentile(50.0).unwrap();
        assert!((20..=25).contains(&p50), "{p50}");
        let p99 = s.percentile(99.0).unwrap();
        assert!((5000..=6300).contains(&p99), "{p99}");
        for m in [1u64, 2, 3, 7, 100, 1023, 1_000_000] {
            assert!(bucket_upper(bucket_of(m)) >= m, "{m}");
        }
    }
}
