//! Response rate limiting per client network, so koi is no amplifier (spec §5.7).
//!
//! Clients are grouped by /24 (IPv4) or /56 (IPv6); each group has a token bucket of `rate`
//! answers per second with a burst of `rate`. Past it, every `slip`-th query gets an empty
//! answer with TC set (a real client retries over TCP, which is not limited) and the others
//! get nothing. Pure: the caller passes `now`. Memory is bounded by [`MAX_GROUPS`]: when full,
//! buckets idle for more than a second are dropped (they would be full again anyway), and if
//! none is, the new group is treated as over its limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// Client networks tracked at once.
pub const MAX_GROUPS: usize = 8192;

/// What to do with one UDP query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Answer normally.
    Answer,
    /// Send an empty TC answer.
    Slip,
    /// Send nothing.
    Drop,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
    over: u32,
}

/// The limiter; `rate` 0 turns it off.
#[derive(Debug)]
pub struct RateLimiter {
    rate: u32,
    slip: u32,
    groups: HashMap<u128, Bucket>,
}

/// The group key of a client: its /24 or /56.
fn group(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4) & 0xffff_ff00),
        IpAddr::V6(v6) => (u128::from(v6) & !((1u128 << 72) - 1)) | 1,
    }
}

impl RateLimiter {
    /// A limiter of `rate` answers per second per client network, slipping every `slip`-th
    /// query over the limit (0: never slip).
    pub fn new(rate: u32, slip: u32) -> RateLimiter {
        RateLimiter {
            rate,
            slip,
            groups: HashMap::new(),
        }
    }

    /// The configured rate (0 is off).
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Decides about one query from `client` at `now`.
    pub fn check(&mut self, now: Instant, client: IpAddr) -> Verdict {
        if self.rate == 0 {
            return Verdict::Answer;
        }
        let key = group(client);
        let rate = f64::from(self.rate);
        if !self.groups.contains_key(&key) && self.groups.len() >= MAX_GROUPS {
            self.groups
                .retain(|_, b| now.saturating_duration_since(b.last).as_secs_f64() < 1.0);
            if self.groups.len() >= MAX_GROUPS {
                return self.over(None);
            }
        }
        let bucket = self.groups.entry(key).or_insert(Bucket {
            tokens: rate,
            last: now,
            over: 0,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Verdict::Answer;
        }
        bucket.over = bucket.over.wrapping_add(1);
        let over = bucket.over;
        self.over(Some(over))
    }

    fn over(&self, count: Option<u32>) -> Verdict {
        match count {
            Some(c) if self.slip > 0 && c % self.slip == 0 => Verdict::Slip,
            _ => Verdict::Drop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn limits_per_network_with_slip() {
        let mut rl = RateLimiter::new(10, 2);
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.200".parse().unwrap(); // same /24
        let c: IpAddr = "10.0.1.1".parse().unwrap();
        let verdicts: Vec<Verdict> = (0..20)
            .map(|i| rl.check(t0, if i % 2 == 0 { a } else { b }))
            .collect();
        assert_eq!(
            verdicts.iter().filter(|v| **v == Verdict::Answer).count(),
            10
        );
        assert_eq!(verdicts.iter().filter(|v| **v == Verdict::Slip).count(), 5);
        assert_eq!(rl.check(t0, c), Verdict::Answer);
        // Refills at the rate.
        let later = t0 + Duration::from_millis(500);
        let n = (0..20)
            .filter(|_| rl.check(later, a) == Verdict::Answer)
            .count();
        assert_eq!(n, 5);
        assert_eq!(RateLimiter::new(0, 2).check(t0, a), Verdict::Answer);
    }

    #[test]
    fn ipv6_groups_by_56() {
        let mut rl = RateLimiter::new(1, 0);
        let t0 = Instant::now();
        assert_eq!(
            rl.check(t0, "fd00:1:2:3300::1".parse().unwrap()),
            Verdict::Answer
        );
        assert_eq!(
            rl.check(t0, "fd00:1:2:33ff::9".parse().unwrap()),
            Verdict::Drop
        );
        assert_eq!(
            rl.check(t0, "fd00:1:2:3400::1".parse().unwrap()),
            Verdict::Answer
        );
    }
}
