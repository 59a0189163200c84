//! A counting global allocator for the memory tests, and the memory bound `docs/delivery.md`
//! gives (section "Limits"). A test binary registers it with
//! `#[global_allocator] static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the bytes allocated and not yet freed, and the most there ever were.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            if new_size >= layout.size() {
                let grown = new_size - layout.size();
                let now = LIVE.fetch_add(grown, Ordering::Relaxed) + grown;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        q
    }
}

/// Records kept for reuse by the logging threads (`RECYCLED_RECORDS` in the builder).
const RECYCLED_RECORDS: usize = 512;
/// Events per chunk, and the pool's reclaim slack (`siem-ship`'s chunk module).
const CHUNK_EVENTS: usize = 256;
const RECLAIM_SLACK_EVENTS: usize = 16 * CHUNK_EVENTS;

/// The heap bound of docs/delivery.md for these capacities, with one event's footprint
/// (captured or built) taken as its text limit plus 2 KiB of structure, generous for the
/// tests' few-field events.
pub fn documented_bound(
    queue: usize,
    destination_queue: usize,
    max_event_bytes: usize,
    batch_bytes: usize,
) -> usize {
    let per_event = max_event_bytes + 2 * 1024;
    let events_alive = (queue + RECYCLED_RECORDS)
        + 4 * destination_queue
        + RECLAIM_SLACK_EVENTS
        + 2 * CHUNK_EVENTS;
    let batches = 6 * (batch_bytes + 64 * 1024);
    let fixed = 8 << 20; // threads' buffers, the registry, the encoder's tables
    events_alive * per_event + batches + fixed
}

/// Bytes allocated and not yet freed now.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts measuring the peak again from now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// The most bytes live at once since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}
