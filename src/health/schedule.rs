//! When each check runs: pure arithmetic on monotonic instants.
//!
//! A check's first run is at a random phase within its first interval (the jitter that keeps
//! 500 checks added at once from firing together), then every `interval` after that phase. A
//! run that overruns its slot skips the slots it missed instead of bunching up. Lateness
//! (start minus due time) is the drift the load bench bounds.
//!
//! Never reads a clock or a random source: callers pass `now` and a random number.

use std::time::{Duration, Instant};

/// The first due time: `now` plus a phase in `[0, interval)` taken from `random`.
pub fn first_due(now: Instant, interval: Duration, random: u64) -> Instant {
    let ms = interval.as_millis().max(1) as u64;
    now + Duration::from_millis(random % ms)
}

/// The next due time after a run due at `due`, when it is `now`: the first slot
/// `due + k * interval` (k ≥ 1) that is not already past.
pub fn next_due(due: Instant, interval: Duration, now: Instant) -> Instant {
    let interval = interval.max(Duration::from_millis(1));
    let next = due + interval;
    if next > now {
        return next;
    }
    let behind = now.duration_since(next).as_nanos();
    let step = interval.as_nanos();
    let skip = u32::try_from(behind / step + 1).unwrap_or(u32::MAX);
    next + interval.saturating_mul(skip)
}

/// How late a run started, in whole milliseconds (0 when early).
pub fn drift_ms(due: Instant, started: Instant) -> u64 {
    u64::try_from(started.saturating_duration_since(due).as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_runs_spread_over_the_interval() {
        let t0 = Instant::now();
        let i = Duration::from_secs(1);
        assert_eq!(first_due(t0, i, 0), t0);
        assert_eq!(first_due(t0, i, 999), t0 + Duration::from_millis(999));
        assert_eq!(first_due(t0, i, 1000), t0);
        assert!(first_due(t0, i, u64::MAX) < t0 + i);
    }

    #[test]
    fn next_keeps_the_phase_and_skips_missed_slots() {
        let t0 = Instant::now();
        let i = Duration::from_secs(10);
        // On time: exactly one interval later, whatever small lateness the run had.
        assert_eq!(next_due(t0, i, t0 + Duration::from_secs(3)), t0 + i);
        // A run that took 25 s skips to the first slot still ahead, on the same phase.
        assert_eq!(next_due(t0, i, t0 + Duration::from_secs(25)), t0 + 3 * i);
        // Exactly on a slot boundary: that slot is past, the next one is due.
        assert_eq!(next_due(t0, i, t0 + i), t0 + 2 * i);
    }

    #[test]
    fn drift_is_lateness_only() {
        let t0 = Instant::now();
        assert_eq!(drift_ms(t0, t0 + Duration::from_millis(1500)), 1500);
        assert_eq!(drift_ms(t0 + Duration::from_secs(1), t0), 0);
    }
}
