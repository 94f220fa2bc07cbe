//! One cached record in a few words, and the group of records sharing an owner name on one
//! link. Packing only: the rules live in the parent module.

use super::*;

/// "No group" in a hash chain.
pub(super) const NONE: u32 = u32::MAX;

/// One cached record; its owner name and link are those of its group. Times are microseconds
/// since the cache's base instant.
///
/// 40 bytes: a live record's expiry is its TTL after `received`, so the TTL, or once the
/// record is doomed its expiry, shares one word with the refresh step and the doomed flag.
#[derive(Clone, Debug)]
pub(crate) struct Cached {
    /// Its data (and so its type).
    pub(crate) data: Data,
    pub(super) received: u64,
    /// Its next refresh point or its expiry, in milliseconds after `received`; its group's
    /// timer is the earliest of its records'.
    pub(super) due_ms: u32,
    /// Bit 31: a goodbye or cache-flush condemned it (it expires within a second and is not
    /// an answer). Bits 28-30: the next refresh point (an index into `REFRESH_AT`; past the
    /// end: none left). Bits 0-27: while live, the TTL as received (clamped), in seconds;
    /// once doomed, its expiry in milliseconds after `received` (at most `MAX_TTL` s, 27 bits).
    pub(super) meta: u32,
}

pub(super) const DOOMED: u32 = 1 << 31;
pub(super) const STEP_SHIFT: u32 = 28;
pub(super) const VALUE: u32 = (1 << STEP_SHIFT) - 1;

impl Cached {
    pub(super) fn live(data: Data, received: u64, ttl: u32) -> Cached {
        Cached {
            data,
            received,
            due_ms: ttl * 1000,
            meta: ttl & VALUE,
        }
    }

    /// Received again at `received`: live, its TTL and refresh points start over.
    pub(super) fn restart(&mut self, received: u64, ttl: u32) {
        self.received = received;
        self.meta = ttl & VALUE;
    }

    pub(crate) fn rtype(&self) -> RecordType {
        self.data.rtype()
    }

    /// Condemned by a goodbye or cache-flush: it expires within a second and is no answer.
    pub(crate) fn doomed(&self) -> bool {
        self.meta & DOOMED != 0
    }

    /// The TTL as received (clamped), in seconds; 0 once doomed.
    pub(crate) fn ttl(&self) -> u32 {
        if self.doomed() {
            0
        } else {
            self.meta & VALUE
        }
    }

    pub(super) fn step(&self) -> u8 {
        ((self.meta >> STEP_SHIFT) & 7) as u8
    }

    pub(super) fn next_step(&mut self) {
        let step = u32::from(self.step()).saturating_add(1).min(7);
        self.meta = (self.meta & !(7 << STEP_SHIFT)) | (step << STEP_SHIFT);
    }

    /// Its expiry, in milliseconds after `received`.
    pub(super) fn expires_ms(&self) -> u32 {
        if self.doomed() {
            self.meta & VALUE
        } else {
            (self.meta & VALUE) * 1000
        }
    }

    /// Dooms it to expire `ms` after `received` at the latest.
    pub(super) fn doom_by(&mut self, ms: u32) {
        let ms = self.expires_ms().min(ms);
        self.meta = DOOMED | (self.meta & (7 << STEP_SHIFT)) | (ms & VALUE);
    }

    pub(super) fn expires(&self) -> u64 {
        self.received + u64::from(self.expires_ms()) * 1000
    }

    pub(super) fn due(&self) -> u64 {
        self.received + u64::from(self.due_ms) * 1000
    }

    /// Seconds of TTL left at `now` (microseconds since the base).
    pub(super) fn remaining(&self, now: u64) -> u32 {
        let left = self.expires().saturating_sub(now) / 1_000_000;
        u32::try_from(left).unwrap_or(u32::MAX)
    }
}

/// The records of one name on one link; an empty group is a free slot. 56 bytes: the link's
/// family shares a word with the chain.
pub(super) struct Group {
    /// The link's interface index.
    pub(super) ifindex: u32,
    /// Bit 31: the link is IPv6. Bits 0-30: the next group whose (link, name) hashes alike
    /// (all ones: none).
    pub(super) chain: u32,
    pub(super) name: CName,
    pub(super) records: Vec<Cached>,
    /// The earliest due time of its records ([`NO_TIMER`]: none).
    pub(super) timer: u64,
}

/// A group without a timer.
pub(super) const NO_TIMER: u64 = u64::MAX;

/// The IPv6 bit and the next group's bits of [`Group::chain`].
pub(super) const CHAIN_V6: u32 = 1 << 31;
pub(super) const CHAIN_NEXT: u32 = CHAIN_V6 - 1;

impl Group {
    pub(super) fn new(link: Link, next: u32, name: CName) -> Group {
        let v6 = if link.family == Family::V6 {
            CHAIN_V6
        } else {
            0
        };
        Group {
            ifindex: link.ifindex,
            chain: v6 | (next & CHAIN_NEXT),
            name,
            records: Vec::new(),
            timer: NO_TIMER,
        }
    }

    pub(super) fn link(&self) -> Link {
        let family = if self.chain & CHAIN_V6 != 0 {
            Family::V6
        } else {
            Family::V4
        };
        Link {
            ifindex: self.ifindex,
            family,
        }
    }

    /// The next group in its chain ([`NONE`]: none).
    pub(super) fn next(&self) -> u32 {
        match self.chain & CHAIN_NEXT {
            CHAIN_NEXT => NONE,
            next => next,
        }
    }

    pub(super) fn set_next(&mut self, next: u32) {
        self.chain = (self.chain & CHAIN_V6) | (next & CHAIN_NEXT);
    }
}
