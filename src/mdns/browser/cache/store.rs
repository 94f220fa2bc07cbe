//! The cache's storage: hash chains of groups, the slab of groups, the timer schedule and
//! eviction. Only the cache's own methods (in the parent module) call into it; it decides no
//! policy of its own.

use super::*;

impl Cache {
    /// The chain a (link, name) belongs to: 32 bits of a keyed hash (chains absorb collisions).
    /// A [`Name`] and its [`CName`] hash alike.
    pub(super) fn hash<'a>(&self, link: Link, labels: impl Iterator<Item = &'a [u8]>) -> u32 {
        let mut h = self.hasher.build_hasher();
        link.hash(&mut h);
        hash_labels(&mut h, labels);
        h.finish() as u32
    }

    pub(super) fn gid(&self, link: Link, name: &Name) -> Option<u32> {
        let mut gid = *self.index.get(&self.hash(link, name.labels()))?;
        while let Some(g) = self.groups.get(gid as usize) {
            if g.link() == link && g.name.is(name) {
                return Some(gid);
            }
            gid = g.next();
        }
        None
    }

    pub(super) fn new_group(&mut self, link: Link, name: &Name) -> u32 {
        let h = self.hash(link, name.labels());
        let head = self.index.get(&h).copied().unwrap_or(NONE);
        let group = Group::new(link, head, CName::of(name));
        let gid = match self.free.pop() {
            Some(gid) => {
                if let Some(slot) = self.groups.get_mut(gid as usize) {
                    *slot = group;
                }
                gid
            }
            None => {
                self.groups.push(group);
                u32::try_from(self.groups.len() - 1).unwrap_or(NONE)
            }
        };
        self.index.insert(h, gid);
        gid
    }

    /// Unlinks an emptied group from its chain and frees its slot.
    pub(super) fn drop_group(&mut self, gid: u32) {
        let Some(g) = self.groups.get(gid as usize) else {
            return;
        };
        let (h, next) = (self.hash(g.link(), g.name.labels()), g.next());
        if self.index.get(&h) == Some(&gid) {
            if next == NONE {
                self.index.remove(&h);
            } else {
                self.index.insert(h, next);
            }
        } else {
            let mut at = self.index.get(&h).copied().unwrap_or(NONE);
            while let Some(g) = self.groups.get_mut(at as usize) {
                if g.next() == gid {
                    g.set_next(next);
                    break;
                }
                at = g.next();
            }
        }
        if let Some(g) = self.groups.get_mut(gid as usize) {
            g.set_next(NONE);
            g.name = CName::default();
            g.records = Vec::new();
            g.timer = NO_TIMER;
        }
        self.free.push(gid);
        if self.free.len() > 64 && self.free.len() * 2 > self.groups.len() {
            self.trim_slab();
        }
    }

    /// Gives back the free slots at the end of the slab.
    pub(super) fn trim_slab(&mut self) {
        while self.groups.last().is_some_and(|g| g.records.is_empty()) {
            self.groups.pop();
        }
        let len = self.groups.len();
        self.free.retain(|&gid| (gid as usize) < len);
        self.groups.shrink_to(len + len / 8);
        self.free.shrink_to(self.free.len() * 2);
    }

    /// Applies `f` to a record.
    pub(super) fn update(&mut self, gid: u32, pos: usize, f: impl FnOnce(&mut Cached)) {
        if let Some(c) = self
            .groups
            .get_mut(gid as usize)
            .and_then(|g| g.records.get_mut(pos))
        {
            f(c);
        }
    }

    /// A record's due time ([`NO_TIMER`] if there is no such record).
    pub(super) fn due_of(&self, gid: u32, pos: usize) -> u64 {
        self.groups
            .get(gid as usize)
            .and_then(|g| g.records.get(pos))
            .map_or(NO_TIMER, Cached::due)
    }

    /// Sets the record's deadline: its next refresh point, or its expiry; `was` is its due
    /// time before it changed ([`NO_TIMER`] for a new record). `jitter` is in hundredths of a
    /// percent of the TTL (0..=200).
    pub(super) fn reschedule(&mut self, gid: u32, pos: usize, jitter: u64, was: u64) {
        let Some(g) = self.groups.get_mut(gid as usize) else {
            return;
        };
        let Some(c) = g.records.get_mut(pos) else {
            return;
        };
        c.due_ms = match REFRESH_AT.get(usize::from(c.step())) {
            Some(&at) if !c.doomed() => {
                let hundredths = at + jitter.min(200);
                let ms = u64::from(c.ttl()) * 1000 * hundredths / 10_000;
                u32::try_from(ms).unwrap_or(u32::MAX).min(c.expires_ms())
            }
            _ => c.expires_ms(),
        };
        let due = c.due();
        if due < g.timer {
            g.timer = due;
            self.earliest = self.earliest.min(due);
        } else if was == g.timer && due != was {
            // It was (one of) the earliest: a full scan finds the next.
            self.retime(gid);
        }
    }

    /// Re-keys the group's timer to the earliest due time of its records.
    pub(super) fn retime(&mut self, gid: u32) {
        let Some(g) = self.groups.get_mut(gid as usize) else {
            return;
        };
        g.timer = g.records.iter().map(Cached::due).min().unwrap_or(NO_TIMER);
        self.earliest = self.earliest.min(g.timer);
    }

    pub(super) fn doom(&mut self, now: u64, gid: u32, pos: usize) {
        let was = self.due_of(gid, pos);
        self.update(gid, pos, |c| {
            // Rounded down to the millisecond: never later than a second from now.
            let linger = (now + LINGER).saturating_sub(c.received) / 1000;
            c.doom_by(u32::try_from(linger).unwrap_or(u32::MAX));
        });
        self.reschedule(gid, pos, 0, was);
    }

    pub(super) fn evict_in_group(&mut self, gid: u32) {
        let victim = self.groups.get(gid as usize).and_then(|g| {
            (0..g.records.len()).min_by_key(|&i| g.records.get(i).map(|c| c.received))
        });
        if let Some(pos) = victim {
            self.remove(gid, pos);
        }
    }

    pub(super) fn evict_oldest(&mut self) -> bool {
        loop {
            let Some((received, gid)) = self.victims.pop() else {
                if self.len == 0 {
                    return false;
                }
                self.scan_victims();
                continue;
            };
            // Any record of the group received then is as old as the one listed.
            let pos = self
                .groups
                .get(gid as usize)
                .and_then(|g| g.records.iter().position(|c| c.received == received));
            if let Some(pos) = pos {
                self.remove(gid, pos);
                return true;
            }
        }
    }

    /// Refills `victims` with the oldest sixteenth of the records (at least one).
    pub(super) fn scan_victims(&mut self) {
        let mut all: Vec<(u64, u32)> = self
            .groups
            .iter()
            .zip(0u32..)
            .flat_map(|(g, gid)| g.records.iter().map(move |c| (c.received, gid)))
            .collect();
        let n = (all.len() / 16).max(1).min(all.len());
        if all.len() > n {
            all.select_nth_unstable(n - 1);
        }
        all.truncate(n);
        all.sort_unstable_by(|a, b| b.cmp(a));
        self.victims = all;
    }

    pub(super) fn remove(&mut self, gid: u32, pos: usize) {
        self.record_change(ChangeKind::Removed, gid, pos);
        let Some(group) = self.groups.get_mut(gid as usize) else {
            return;
        };
        if pos >= group.records.len() {
            return;
        }
        let c = group.records.swap_remove(pos);
        let empty = group.records.is_empty();
        if group.records.capacity() > 2 * group.records.len() + 4 {
            group
                .records
                .shrink_to(group.records.len() + group.records.len() / 4);
        }
        self.len -= 1;
        let size = self
            .groups
            .get(gid as usize)
            .map_or(0, |g| record_size(g.name.wire_len(), &c.data));
        self.bytes = self.bytes.saturating_sub(size);
        if empty {
            self.drop_group(gid);
        } else if self
            .groups
            .get(gid as usize)
            .is_some_and(|g| c.due() == g.timer)
        {
            self.retime(gid);
        }
    }

    pub(super) fn record_change(&mut self, kind: ChangeKind, gid: u32, pos: usize) {
        let Some(g) = self.groups.get(gid as usize) else {
            return;
        };
        let Some(c) = g.records.get(pos) else {
            return;
        };
        self.log.push(Change {
            kind,
            link: g.link(),
            name: g.name.to_name(),
            rtype: c.rtype(),
            rdata: c.data.to_rdata(g.name.labels()),
        });
    }
}

/// Chain heads by hash, sorted: 8 bytes a name (a hash map of them costs about twice that
/// with its slack); inserting moves the entries after it, a few microseconds when full.
#[derive(Default)]
pub(super) struct Index(Vec<(u32, u32)>);

impl Index {
    pub(super) fn get(&self, h: &u32) -> Option<&u32> {
        let at = self.0.binary_search_by_key(h, |(k, _)| *k).ok()?;
        self.0.get(at).map(|(_, v)| v)
    }

    pub(super) fn insert(&mut self, h: u32, v: u32) {
        match self.0.binary_search_by_key(&h, |(k, _)| *k) {
            Ok(at) => {
                if let Some(e) = self.0.get_mut(at) {
                    e.1 = v;
                }
            }
            Err(at) => self.0.insert(at, (h, v)),
        }
    }

    pub(super) fn remove(&mut self, h: &u32) {
        if let Ok(at) = self.0.binary_search_by_key(h, |(k, _)| *k) {
            self.0.remove(at);
            if self.0.capacity() > 64 && self.0.capacity() > 4 * self.0.len() {
                self.0.shrink_to(self.0.len() * 2);
            }
        }
    }
}

/// Bytes charged for one record whose owner name is `name_len` bytes long (wire form).
pub(super) fn record_size(name_len: usize, data: &Data) -> usize {
    RECORD_OVERHEAD + name_len + data.wire_len(name_len)
}

/// Same type, same data (the class is always IN here; the owner is the group's).
pub(super) fn same(c: &Cached, owner: &CName, rec: &Record) -> bool {
    c.data.is(&rec.rdata, owner.labels())
}
