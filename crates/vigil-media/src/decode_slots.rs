//! A process-wide bound on how much decoding runs at once: one slot per core by default
//! (`VIGIL_DECODE_THREADS` overrides). Every stream keeps its own reader thread, which mostly
//! waits on the network, but only this many of them decode at the same moment: a hundred
//! streams share the cores instead of thrashing them, and overload shows up as counted drops
//! on live streams rather than as every stream slowing down.

use std::sync::{Condvar, Mutex, OnceLock};

pub struct DecodeSlots {
    size: usize,
    busy: Mutex<usize>,
    freed: Condvar,
}

/// Held while decoding; frees its slot on drop.
pub struct DecodeSlot<'a>(&'a DecodeSlots);

impl DecodeSlots {
    pub fn new(size: usize) -> Self {
        DecodeSlots {
            size: size.max(1),
            busy: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// The slots every decoder of this process shares.
    pub fn global() -> &'static DecodeSlots {
        static SLOTS: OnceLock<DecodeSlots> = OnceLock::new();
        SLOTS.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let size = std::env::var("VIGIL_DECODE_THREADS")
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(cores);
            DecodeSlots::new(size)
        })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Waits for a free slot. Slots are held for one packet's decode (milliseconds).
    pub fn acquire(&self) -> DecodeSlot<'_> {
        // A panic while holding the lock cannot leave the counter inconsistent (it is only
        // changed by whole statements), so a poisoned lock is still usable.
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while *busy >= self.size {
            busy = self.freed.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy += 1;
        DecodeSlot(self)
    }
}

impl Drop for DecodeSlot<'_> {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(|p| p.into_inner());
        *busy -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn never_more_holders_than_slots() {
        let slots = Arc::new(DecodeSlots::new(2));
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (slots, now, peak) = (slots.clone(), now.clone(), peak.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _slot = slots.acquire();
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_micros(200));
                        now.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(*slots.busy.lock().unwrap(), 0);
    }

    #[test]
    fn sized_to_the_cores_by_default() {
        assert!(DecodeSlots::global().size() >= 1);
        assert_eq!(DecodeSlots::new(0).size(), 1);
    }
}
