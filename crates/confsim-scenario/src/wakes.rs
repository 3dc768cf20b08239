//! The load generators' wake-up queue: items in (due time, scheduling order), nothing else.
//!
//! Why not the engine's `Scheduler`: that one cancels and replaces items, which costs a hash
//! map of every live item (an insert per schedule, a removal per pop, a lookup per heap top
//! to skip dead entries), and on the closed-loop day those map operations were most of the
//! wake-ups' cost. The generators never cancel or replace a wake-up (each is pending at most
//! once: see `load::Wake`), so this queue keeps only the ordering, in one-second buckets: a
//! ring of vectors covering the next `RING` seconds (a push is a push onto a vector), a heap
//! for the rare wake-up past the ring (a `releaseAfter` of hours), and the second being run,
//! sorted once when it is reached (a pop is a pop from the end of a vector). A wake-up
//! scheduled into a second already reached (a closed slot refused at once, an open
//! generator's next arrival) waits in a small heap beside it.
//!
//! Order: `current` and `soon` hold every entry due before second `base` and nothing later; a
//! bucket's entries and the far heap's entries of the same second are sorted together, and
//! `seq` (the scheduling order) breaks ties, so the order is exactly that of sorting by
//! (due, seq), like the `Scheduler` it replaces.

use confsim_core::SimTime;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Width of a bucket, in simulated milliseconds.
const BUCKET_MS: i64 = 1_000;
/// Buckets in the ring: 2 h 16 min of seconds, past the closed-loop day's longest hold (70
/// minutes) and think time; later wake-ups wait in `later`.
const RING: i64 = 8_192;
/// Emptied vectors kept for the buckets to come, at most: a bucket's first push then reuses
/// an allocation instead of growing a fresh vector.
const POOL: usize = 64;
/// A fresh bucket's capacity: a second of the closed-loop day holds about ten wake-ups, and
/// growing a vector from nothing to that took three allocations.
const FRESH: usize = 16;

/// Where bucket `b` lives in the ring (a power of two: a mask, negative seconds included).
fn slot(bucket: i64) -> usize {
    (bucket & (RING - 1)) as usize
}

/// A pending item. `seq` is unique, so `(due, seq)` orders entries completely and the item
/// itself is never compared.
#[derive(Debug, Clone, Copy)]
struct Entry<T> {
    due: i64,
    seq: u64,
    item: T,
}

impl<T> Entry<T> {
    fn key(&self) -> (i64, u64) {
        (self.due, self.seq)
    }
}

/// The heaps' order: `BinaryHeap` is a max-heap, so the earliest entry must compare greatest.
impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// Items in (due, scheduling order); see the module comment.
#[derive(Debug)]
pub(crate) struct WakeQueue<T> {
    /// The entries of the last second reached, latest first (the earliest is popped off the end).
    current: Vec<Entry<T>>,
    /// Entries scheduled into a second already reached, earliest on top.
    soon: BinaryHeap<Entry<T>>,
    /// The first second not yet reached.
    base: i64,
    /// Buckets `base .. base + RING`, bucket `b` at `slot(b)`, entries in scheduling order;
    /// allocated at the first push into it (a run without generators never needs it).
    ring: Vec<Vec<Entry<T>>>,
    /// Entries held in `ring`.
    in_ring: usize,
    /// Entries at or past `base + RING` when scheduled (they may be nearer by now).
    later: BinaryHeap<Entry<T>>,
    /// Emptied vectors for the ring's next buckets.
    pool: Vec<Vec<Entry<T>>>,
    next_seq: u64,
}

impl<T> WakeQueue<T> {
    /// An empty queue whose items will be due at or after `start`.
    pub(crate) fn new(start: SimTime) -> Self {
        WakeQueue {
            current: Vec::new(),
            soon: BinaryHeap::new(),
            base: start.as_unix_ms().div_euclid(BUCKET_MS),
            ring: Vec::new(),
            in_ring: 0,
            later: BinaryHeap::new(),
            pool: Vec::new(),
            next_seq: 0,
        }
    }

    /// Schedules `item` at `due`, after every item already scheduled at the same instant.
    pub(crate) fn push(&mut self, due: SimTime, item: T) {
        let due = due.as_unix_ms();
        let entry = Entry {
            due,
            seq: self.next_seq,
            item,
        };
        self.next_seq += 1;
        let bucket = due.div_euclid(BUCKET_MS);
        if bucket < self.base {
            self.soon.push(entry);
        } else if bucket - self.base < RING {
            if self.ring.is_empty() {
                self.ring.resize_with(RING as usize, Vec::new);
            }
            let v = &mut self.ring[slot(bucket)];
            if v.capacity() == 0 {
                *v = self.pool.pop().unwrap_or_else(|| Vec::with_capacity(FRESH));
            }
            v.push(entry);
            self.in_ring += 1;
        } else {
            self.later.push(entry);
        }
    }

    /// When the earliest item is due.
    #[inline]
    pub(crate) fn next_due(&mut self) -> Option<SimTime> {
        if self.current.is_empty() && self.soon.is_empty() {
            self.reach_next();
        }
        let first = match (self.current.last(), self.soon.peek()) {
            (Some(c), Some(s)) => c.due.min(s.due),
            (Some(c), None) => c.due,
            (None, Some(s)) => s.due,
            (None, None) => return None,
        };
        Some(SimTime::from_unix_ms(first))
    }

    /// The item likely to come next, for a prefetch hint: the last of the second being run,
    /// ignoring `soon` (an item that might come first, but rarely does).
    #[inline]
    pub(crate) fn upcoming(&self) -> Option<&T> {
        self.current.last().map(|e| &e.item)
    }

    /// The item likely to come after `upcoming`, likewise: the one before it in the second
    /// being run.
    #[inline]
    pub(crate) fn upcoming_second(&self) -> Option<&T> {
        self.current.iter().rev().nth(1).map(|e| &e.item)
    }

    /// Removes and returns the earliest item.
    pub(crate) fn pop(&mut self) -> Option<(SimTime, T)> {
        if self.current.is_empty() && self.soon.is_empty() {
            self.reach_next();
        }
        let from_soon = match (self.current.last(), self.soon.peek()) {
            (Some(c), Some(s)) => s.key() < c.key(),
            (_, s) => s.is_some(),
        };
        let e = if from_soon {
            self.soon.pop()
        } else {
            self.current.pop()
        }?;
        Some((SimTime::from_unix_ms(e.due), e.item))
    }

    /// Once nothing reached is pending: reaches the next non-empty second (from the ring, the
    /// far heap, or both) and sorts its entries. Out of line, so that the callers' usual path
    /// (a look at the end of `current`, many times per second) stays a few instructions.
    #[inline(never)]
    fn reach_next(&mut self) {
        let later = self.later.peek().map(|e| e.due.div_euclid(BUCKET_MS));
        // The ring's first non-empty bucket, looked for no further than the far heap's first
        // (each bucket is passed over once as `base` moves forward, so the scan costs one
        // step per simulated second over a run).
        let mut bucket = None;
        if self.in_ring > 0 {
            let end = later.map_or(self.base + RING, |l| l.min(self.base + RING));
            bucket = (self.base..end).find(|b| !self.ring[slot(*b)].is_empty());
        }
        let Some(bucket) = bucket.or(later) else {
            return;
        };
        // The bucket's vector becomes `current`; the emptied one goes to the pool.
        let spare = if self.in_ring > 0 && bucket - self.base < RING {
            let taken = std::mem::take(&mut self.ring[slot(bucket)]);
            self.in_ring -= taken.len();
            std::mem::replace(&mut self.current, taken)
        } else {
            std::mem::take(&mut self.current)
        };
        if self.pool.len() < POOL && spare.capacity() > 0 {
            self.pool.push(spare);
        }
        while let Some(top) = self.later.peek_mut() {
            if top.due.div_euclid(BUCKET_MS) != bucket {
                break;
            }
            self.current
                .push(std::collections::binary_heap::PeekMut::pop(top));
        }
        self.current.sort_unstable_by_key(|e| Reverse(e.key()));
        self.base = bucket + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> SimTime {
        SimTime::from_unix_ms(ms)
    }

    #[test]
    fn items_come_out_by_time_then_scheduling_order() {
        let mut q = WakeQueue::new(t(0));
        q.push(t(20), 'a');
        q.push(t(10), 'b');
        q.push(t(20), 'c');
        q.push(t(10), 'd');
        assert_eq!(q.next_due(), Some(t(10)));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            vec![(t(10), 'b'), (t(10), 'd'), (t(20), 'a'), (t(20), 'c')]
        );
        assert_eq!(q.next_due(), None);
    }

    /// The hints name the next two items of the second being run, once it has been reached.
    #[test]
    fn the_upcoming_items_are_the_next_two_of_the_second_being_run() {
        let mut q = WakeQueue::new(t(0));
        assert_eq!(q.upcoming(), None, "nothing reached yet");
        assert_eq!(q.upcoming_second(), None);
        for (due, item) in [(30, 'c'), (10, 'a'), (20, 'b')] {
            q.push(t(due), item);
        }
        assert_eq!(q.pop(), Some((t(10), 'a')));
        assert_eq!(q.upcoming(), Some(&'b'));
        assert_eq!(q.upcoming_second(), Some(&'c'));
        assert_eq!(q.pop(), Some((t(20), 'b')));
        assert_eq!(q.upcoming(), Some(&'c'));
        assert_eq!(q.upcoming_second(), None);
        assert_eq!(q.pop(), Some((t(30), 'c')));
        assert_eq!(q.upcoming(), None);
    }

    /// Random pushes and pops over spans from milliseconds to days (past the ring, so the far
    /// heap, its seconds shared with the ring's, the ring's wrap-around and jumps over empty
    /// stretches are all exercised) come out exactly as a sorted model says.
    #[test]
    fn agrees_with_a_sorted_model_over_every_span() {
        use rand_chacha::rand_core::{RngCore, SeedableRng};
        for seed in 0..20u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut below = |n: u64| rng.next_u64() % n;
            let start = 1_767_600_000_000i64;
            let mut q = WakeQueue::new(t(start));
            let mut model = std::collections::BTreeSet::new();
            let mut now = start;
            for i in 0..6_000u32 {
                if below(10) < 5 {
                    let span =
                        [1u64, 10, 5_000, 3_600_000, 9_000_000, 200_000_000][below(6) as usize];
                    let due = now + below(span) as i64;
                    q.push(t(due), i);
                    model.insert((due, i));
                } else {
                    let expected = model.pop_first();
                    assert_eq!(q.next_due(), expected.map(|(due, _)| t(due)));
                    assert_eq!(q.pop(), expected.map(|(due, i)| (t(due), i)));
                    if let Some((due, _)) = expected {
                        now = due;
                    }
                }
            }
            while let Some(expected) = model.pop_first() {
                assert_eq!(q.pop(), Some((t(expected.0), expected.1)));
            }
            assert_eq!(q.pop(), None);
        }
    }
}
