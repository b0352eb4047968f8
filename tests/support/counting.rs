//! A counting global allocator for the memory tests: bytes allocated now, and the most since
//! the last reset. A test binary installs it with
//! `#[global_allocator] static ALLOCATOR: counting::Counting = counting::Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

pub struct Counting;
pub static LIVE: AtomicUsize = AtomicUsize::new(0);
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            PEAK.fetch_max(LIVE.fetch_add(layout.size(), Relaxed) + layout.size(), Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, size) };
        if !q.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            PEAK.fetch_max(LIVE.fetch_add(size, Relaxed) + size, Relaxed);
        }
        q
    }
}

/// Bytes allocated now.
pub fn live() -> usize {
    LIVE.load(Relaxed)
}

/// Runs `f`, returning its value, time and the most memory it held beyond what was live before.
#[allow(dead_code)]
pub fn measured<T>(f: impl FnOnce() -> T) -> (T, std::time::Duration, usize) {
    let before = live();
    PEAK.store(before, Relaxed);
    let t = std::time::Instant::now();
    let value = f();
    (value, t.elapsed(), PEAK.load(Relaxed).saturating_sub(before))
}
