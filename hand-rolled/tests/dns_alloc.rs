//! Section counts from the wire must never size an allocation: a 12-byte header claiming 65535
//! entries in every section allocates next to nothing (a `Vec::with_capacity(65535)` of records
//! would take megabytes). Measured with a counting global allocator, so this file holds one test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use koi_wire::dns::{DecodeError, Message};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: `ptr` came from `alloc` above with the same layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated above the starting level while running `f`.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst).saturating_sub(base))
}

#[test]
fn section_counts_of_65535_do_not_allocate_65535_entries() {
    let all_max = [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    let (result, peak) = peak_during(|| Message::parse(&all_max));
    assert_eq!(result, Err(DecodeError::Truncated));
    assert!(peak < 1024, "peak {peak} bytes");

    // ancount 65535 with one real record (root, A, IN, TTL, 4 bytes) present.
    let mut one = vec![
        0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4,
    ];
    one.extend_from_slice(&[10, 0, 0, 1]);
    let (result, peak) = peak_during(|| Message::parse(&one));
    assert_eq!(result, Err(DecodeError::Truncated));
    assert!(peak < 4096, "peak {peak} bytes");
}
