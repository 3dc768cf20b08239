//! The timer queue: items ordered by (due time, sequence), with cancellation.
//!
//! Two levels (see `Scheduler`): the `(due, seq, slot)` entries of the current second (`Near`:
//! a short sorted array, a wheel of milliseconds when crowded), and one-second buckets beyond
//! it (`Far`: a ring of 8,192 with an occupancy bitmap, an ordered map past it). Each pending
//! item has a slot in a slab holding its item and its current `(due, seq)`, and a hash table
//! of slot numbers leads from the item to its slot (or, for an item with a dense key, a window
//! of slots by number: see `Keyed` and `dense`). `cancel` only frees the slot, and an entry
//! whose `seq` no
//! longer matches its slot's is skipped when it comes first (lazy deletion: no search). When
//! dead entries outnumber live ones both levels are swept of them, so memory stays
//! proportional to what is pending, not to what was ever scheduled.
//!
//! `seq` is the order of scheduling, so items due at the same instant run in the order they were
//! scheduled: deterministic, whatever the map's iteration order (it never reaches output).

use crate::dense::{DenseIndex, DenseKey};
use confsim_core::SimTime;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry as TableEntry;
use rustc_hash::FxBuildHasher;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hash::{BuildHasher, Hash};

/// A queued entry, ordered by `(due, seq)` alone: `seq` is unique, so the slot never needs
/// comparing, and two integer comparisons are what the near level's insertions do millions
/// of times a second. (Two `u64`s rather than one `u128` keep the entry 8-byte aligned and small.) The
/// entry is live while its slot still holds its `seq`: checking that is an index into the
/// slab, where it was a map lookup when entries carried the item.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: (u64, u64),
    slot: u32,
}

impl Entry {
    fn new(due: SimTime, seq: u64, slot: u32) -> Self {
        // Flipping the sign bit maps i64 order onto u64 order, so times before the epoch
        // still sort first.
        let due_bits = (due.as_unix_ms() as u64) ^ (1 << 63);
        Entry {
            key: (due_bits, seq),
            slot,
        }
    }

    fn due(&self) -> SimTime {
        SimTime::from_unix_ms((self.key.0 ^ (1 << 63)) as i64)
    }

    fn seq(&self) -> u64 {
        self.key.1
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// Width of a far bucket, in simulated milliseconds.
const BUCKET_MS: i64 = 1_000;
/// Far buckets held in the ring: about 2 h 16 min of one-second buckets. Conferences last an
/// hour by default, so nearly every timer lands in the ring; later ones wait in `overflow`.
const RING: usize = 8_192;
const WORDS: usize = RING / 64;

/// The far level: one-second buckets. Buckets from `base` to `base + RING - 1` live in a ring
/// of vectors (slot `bucket % RING`) with a bitmap of the non-empty ones, so placing an entry
/// is an index and a push into a vector that keeps its capacity from one use to the next, and
/// finding the next bucket is a scan of at most 128 words. Buckets past the ring wait in an
/// ordered map. (An ordered map for every bucket was the engine's hottest spot after the
/// heap: a tree search and a fresh vector per second of simulated time.)
#[derive(Debug, Clone)]
struct Far {
    ring: Vec<Vec<Entry>>,
    occupied: [u64; WORDS],
    /// The earliest bucket the ring may hold; `None` until the first bucket is taken (then
    /// everything waits in `overflow`, whatever its time).
    base: Option<i64>,
    overflow: BTreeMap<i64, Vec<Entry>>,
    /// Emptied bucket vectors, kept for the next buckets to fill: a bucket taken gives its
    /// allocation back here rather than keeping it in its slot, so the ring holds the
    /// allocations of the buckets in use, not of every second it has ever seen (8,192 kept
    /// vectors were 5 MB an 8-hour run had and a 1-hour run had not).
    pool: Vec<Vec<Entry>>,
    /// Entries held, live or dead.
    len: usize,
}

/// Emptied bucket vectors kept for reuse, at most.
const POOL: usize = 64;

impl Far {
    fn new() -> Self {
        Far {
            ring: Vec::new(),
            occupied: [0; WORDS],
            base: None,
            overflow: BTreeMap::new(),
            pool: Vec::new(),
            len: 0,
        }
    }

    /// Keeps an emptied bucket vector for a later bucket, while the pool has room.
    fn recycle(&mut self, mut v: Vec<Entry>) {
        if self.pool.len() < POOL && v.capacity() > 0 {
            v.clear();
            self.pool.push(v);
        }
    }

    fn slot(bucket: i64) -> usize {
        bucket.rem_euclid(RING as i64) as usize
    }

    /// Holds `entry` in `bucket`, which is at or after `base`.
    fn push(&mut self, bucket: i64, entry: Entry) {
        self.len += 1;
        match self.base {
            Some(base) if bucket - base < RING as i64 => {
                if self.ring.is_empty() {
                    self.ring.resize_with(RING, Vec::new);
                }
                let slot = Self::slot(bucket);
                let bucket = &mut self.ring[slot];
                if bucket.capacity() == 0
                    && let Some(v) = self.pool.pop()
                {
                    *bucket = v;
                }
                bucket.push(entry);
                self.occupied[slot / 64] |= 1 << (slot % 64);
            }
            _ => self.overflow.entry(bucket).or_default().push(entry),
        }
    }

    /// The earliest non-empty bucket of the ring, if any.
    fn first_in_ring(&self) -> Option<i64> {
        let base = self.base?;
        let start = Self::slot(base);
        // Words from the one holding `start`, wrapping once; bits before `start` in the first
        // word belong to the far end of the ring and are looked at last.
        for i in 0..=WORDS {
            let w = (start / 64 + i) % WORDS;
            let mut bits = self.occupied[w];
            if i == 0 {
                bits &= u64::MAX << (start % 64);
            } else if i == WORDS {
                bits &= !(u64::MAX << (start % 64));
            }
            if bits != 0 {
                let slot = w * 64 + bits.trailing_zeros() as usize;
                let offset = (slot + RING - start) % RING;
                return Some(base + offset as i64);
            }
        }
        None
    }

    /// Takes the earliest bucket into `out` (which should be empty); returns its number.
    fn take_first(&mut self, out: &mut Vec<Entry>) -> Option<i64> {
        let ring = self.first_in_ring();
        let over = self.overflow.first_key_value().map(|(b, _)| *b);
        let bucket = match (ring, over) {
            (Some(r), Some(o)) if o < r => {
                out.append(&mut self.overflow.pop_first()?.1);
                o
            }
            (Some(r), over) => {
                let slot = Self::slot(r);
                let taken = std::mem::take(&mut self.ring[slot]);
                self.recycle(std::mem::replace(out, taken));
                self.occupied[slot / 64] &= !(1 << (slot % 64));
                // The same second may also wait in the overflow (placed before the ring
                // reached it): both halves move together, or the later half would come
                // after items the horizon has already let into the near level. The
                // overflow's half goes first: it was placed first (the ring's reach only
                // grows), and a bucket's entries stay in scheduling order, as the near level
                // needs them.
                if over == Some(r)
                    && let Some((_, mut first)) = self.overflow.pop_first()
                {
                    first.append(out);
                    std::mem::swap(out, &mut first);
                    self.recycle(first);
                }
                r
            }
            (None, Some(o)) => {
                out.append(&mut self.overflow.pop_first()?.1);
                o
            }
            (None, None) => return None,
        };
        self.len -= out.len();
        self.base = Some(bucket + 1);
        Some(bucket)
    }

    /// Keeps the entries `live` says are, each bucket's in its order.
    fn retain(&mut self, mut live: impl FnMut(&Entry) -> bool) {
        for w in 0..WORDS {
            let mut bits = self.occupied[w];
            while bits != 0 {
                let slot = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let bucket = &mut self.ring[slot];
                self.len -= bucket.len();
                bucket.retain(&mut live);
                self.len += bucket.len();
                if bucket.is_empty() {
                    self.occupied[w] &= !(1 << (slot % 64));
                    let emptied = std::mem::take(bucket);
                    self.recycle(emptied);
                }
            }
        }
        self.overflow.retain(|_, bucket| {
            self.len -= bucket.len();
            bucket.retain(&mut live);
            self.len += bucket.len();
            !bucket.is_empty()
        });
    }
}

/// Entries the near level keeps in a sorted array before it spills into a wheel.
const SMALL: usize = 32;
/// Milliseconds in a bucket, as an index.
const MS: usize = BUCKET_MS as usize;
const MS_WORDS: usize = MS.div_ceil(64);
/// The end of a list.
const NONE: u32 = u32::MAX;

/// The near level: the entries due before the horizon, that is in the current second
/// (`bucket`) or, for schedules made before that second began, before it. Most of a run there
/// are a handful, and a binary heap spent some 90 instructions a pop sifting even those: up to
/// `SMALL` they are kept in an array sorted latest first, so a pop takes the last one and a
/// push moves up those due before it. (Latest first, because on the closed-loop day that
/// moves fewer than earliest first: a new step is due within milliseconds, before the
/// warnings and ends that wait for the same second.)
///
/// Past `SMALL` the current second's entries spill into a `Wheel` by millisecond (thousands at
/// once when all 10,000 agents of the closed-loop day apply together, or when their 10,000
/// warnings fall due in one second; a heap of them was a dozen levels of sifting a pop,
/// through more than the L1 cache). Entries due before the current second keep to the array
/// all the same, and only what it has no room for goes to a binary heap. Why: the second
/// moved in is the next one anything is due in, which may be most of an hour ahead (the
/// closed-loop day's warnings, once its conferences are under way), and every step scheduled
/// meanwhile is due before it; spilled into the heap with the wheel's entries, they made most
/// of the day's pops a heap's.
#[derive(Debug, Clone)]
struct Near {
    /// The current second's bucket, `i64::MIN` before the first.
    bucket: i64,
    /// Where the current second starts, as an entry's `key.0` (`Entry::new`'s mapping): near
    /// entries are due before the horizon, so those at or after it are the current second's.
    start: u64,
    /// The entries not spilled: `small[..small_len]`, by `(due, seq)`, latest first. While the
    /// wheel holds any, none of the current second's.
    small: [Entry; SMALL],
    small_len: usize,
    /// The entries spilled: the current second's in `wheel` (`in_wheel` of them), earlier ones
    /// in `earlier`.
    wheel: Wheel,
    in_wheel: usize,
    earlier: BinaryHeap<Reverse<Entry>>,
    /// Entries spilled, in the wheel and the heap.
    spilled: usize,
    /// While `spilled` is not 0, the earliest entry spilled (so `peek` lends an entry either
    /// way).
    front: Entry,
}

impl Near {
    fn new() -> Self {
        Near {
            bucket: i64::MIN,
            start: 0,
            small: [Entry::new(SimTime::from_unix_ms(0), 0, 0); SMALL],
            small_len: 0,
            wheel: Wheel::new(),
            in_wheel: 0,
            earlier: BinaryHeap::new(),
            spilled: 0,
            front: Entry::new(SimTime::from_unix_ms(0), 0, 0),
        }
    }

    /// Makes `bucket` the current second; the near level must be empty.
    fn set_bucket(&mut self, bucket: i64) {
        debug_assert!(self.is_empty());
        self.bucket = bucket;
        // The one bucket that starts before `i64::MIN` starts there as far as entries go.
        let start = bucket.saturating_mul(BUCKET_MS);
        self.start = Entry::new(SimTime::from_unix_ms(start), 0, 0).key.0;
    }

    #[inline]
    fn len(&self) -> usize {
        self.small_len + self.spilled
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Holds `entry`. Entries of the current second must come in scheduling order (each
    /// millisecond of the wheel is a list in that order): in `seq` order, or sorted.
    #[inline]
    fn push(&mut self, entry: Entry) {
        if self.small_len < SMALL && (self.in_wheel == 0 || entry.key.0 < self.start) {
            // Insertion from the earliest end: those due before it move up one.
            let mut at = self.small_len;
            while at > 0 && self.small[at - 1] < entry {
                self.small[at] = self.small[at - 1];
                at -= 1;
            }
            self.small[at] = entry;
            self.small_len += 1;
        } else {
            self.push_spilled(entry);
        }
    }

    /// Holds `entry` when the array is full or the wheel takes the current second's entries.
    #[inline(never)]
    fn push_spilled(&mut self, entry: Entry) {
        if self.in_wheel == 0 && self.small_len == SMALL {
            // The array's entries of the current second (the latest, so the first ones) move
            // into the wheel, earliest first: sorted, so in scheduling order within each
            // millisecond. Those due before it stay.
            let n = self.small.partition_point(|e| e.key.0 >= self.start);
            for i in (0..n).rev() {
                self.spill(self.small[i]);
            }
            self.small.copy_within(n.., 0);
            self.small_len -= n;
        }
        if self.small_len < SMALL && entry.key.0 < self.start {
            self.push(entry);
        } else {
            self.spill(entry);
        }
    }

    fn spill(&mut self, entry: Entry) {
        if self.spilled == 0 || entry < self.front {
            self.front = entry;
        }
        self.spilled += 1;
        if entry.key.0 >= self.start {
            self.in_wheel += 1;
            self.wheel.push(entry);
        } else {
            self.earlier.push(Reverse(entry));
        }
    }

    /// The earliest entry held, live or dead.
    #[inline]
    fn peek(&self) -> Option<&Entry> {
        let small = self.small[..self.small_len].last();
        if self.spilled == 0 {
            return small;
        }
        match small {
            Some(entry) if *entry < self.front => Some(entry),
            _ => Some(&self.front),
        }
    }

    /// Removes and returns the earliest entry held if it is due at or before `limit` (as an
    /// entry's `key.0`): `peek` and `pop` in one, which pick the array or the spilled entries
    /// once.
    #[inline]
    fn pop_until(&mut self, limit: u64) -> Option<Entry> {
        let small = self.small_len.checked_sub(1).map(|last| self.small[last]);
        let spilled = self.spilled > 0 && small.is_none_or(|small| self.front < small);
        let first = if spilled { self.front } else { small? };
        if first.key.0 > limit {
            return None;
        }
        if spilled {
            return self.pop_spilled();
        }
        self.small_len -= 1;
        Some(first)
    }

    /// Removes and returns the earliest entry held.
    #[inline]
    fn pop(&mut self) -> Option<Entry> {
        if self.spilled > 0 && (self.small_len == 0 || self.front < self.small[self.small_len - 1])
        {
            return self.pop_spilled();
        }
        self.small_len = self.small_len.checked_sub(1)?;
        Some(self.small[self.small_len])
    }

    fn pop_spilled(&mut self) -> Option<Entry> {
        let entry = match self.earlier.pop() {
            Some(Reverse(entry)) => entry,
            None => {
                let entry = self.wheel.pop(self.bucket)?;
                self.in_wheel -= 1;
                entry
            }
        };
        self.spilled -= 1;
        if let Some(next) = match self.earlier.peek() {
            Some(Reverse(next)) => Some(*next),
            None => self.wheel.peek(self.bucket),
        } {
            self.front = next;
        }
        Some(entry)
    }

    /// Keeps the entries `live` says are.
    fn retain(&mut self, mut live: impl FnMut(&Entry) -> bool) {
        // In place: the array stays sorted.
        let mut kept = 0;
        for i in 0..self.small_len {
            if live(&self.small[i]) {
                self.small[kept] = self.small[i];
                kept += 1;
            }
        }
        self.small_len = kept;
        if self.spilled == 0 {
            return;
        }
        // Taken out and put back in order, as the wheel needs them.
        let mut entries = Vec::with_capacity(self.spilled + self.small_len);
        while let Some(entry) = self.pop_spilled() {
            if live(&entry) {
                entries.push(entry);
            }
        }
        entries.extend(self.small[..self.small_len].iter().rev());
        self.small_len = 0;
        entries.sort_unstable();
        self.wheel.clear();
        for entry in entries {
            self.push(entry);
        }
    }
}

/// An entry of the wheel, linked to the next of its millisecond (or to the next free node).
/// Its due time is the bucket's and the millisecond's: 16 bytes.
#[derive(Debug, Clone, Copy)]
struct Node {
    seq: u64,
    slot: u32,
    next: u32,
}

/// One second's entries in a list per millisecond, each in scheduling order (entries join at
/// the tail, and arrive in that order); the next is the head of the first non-empty
/// millisecond, which a bitmap of 16 words finds. The lists' nodes share one vector, and a
/// freed node is the next one taken, so the cache lines in use stay few and warm.
#[derive(Debug, Clone)]
struct Wheel {
    /// Each millisecond's first and last node, `NONE` when it has none.
    heads: Vec<u32>,
    tails: Vec<u32>,
    occupied: [u64; MS_WORDS],
    /// Every millisecond before this one is empty (`MS` when all are).
    first: usize,
    nodes: Vec<Node>,
    /// The first free node, `NONE` when there is none.
    free: u32,
}

impl Wheel {
    fn new() -> Self {
        Wheel {
            heads: Vec::new(),
            tails: Vec::new(),
            occupied: [0; MS_WORDS],
            first: MS,
            nodes: Vec::new(),
            free: NONE,
        }
    }

    fn push(&mut self, entry: Entry) {
        let node = Node {
            seq: entry.seq(),
            slot: entry.slot,
            next: NONE,
        };
        let n = if self.free == NONE {
            let n = u32::try_from(self.nodes.len()).expect("fewer than 2^32 entries");
            self.nodes.push(node);
            n
        } else {
            let n = self.free;
            self.free = self.nodes[n as usize].next;
            self.nodes[n as usize] = node;
            n
        };
        if self.heads.is_empty() {
            self.heads = vec![NONE; MS];
            self.tails = vec![NONE; MS];
        }
        let i = entry.due().as_unix_ms().rem_euclid(BUCKET_MS) as usize;
        match self.tails[i] {
            NONE => {
                self.heads[i] = n;
                self.occupied[i / 64] |= 1 << (i % 64);
                self.first = self.first.min(i);
            }
            tail => self.nodes[tail as usize].next = n,
        }
        self.tails[i] = n;
    }

    /// The entry `node` of millisecond `i` of `bucket` stands for. The sum cannot overflow
    /// (it is the due time of an entry), but the product can, for the one bucket that starts
    /// before `i64::MIN`: wrapping arithmetic gives the true sum all the same.
    fn entry(bucket: i64, i: usize, node: Node) -> Entry {
        let due = bucket.wrapping_mul(BUCKET_MS).wrapping_add(i as i64);
        Entry::new(SimTime::from_unix_ms(due), node.seq, node.slot)
    }

    fn peek(&self, bucket: i64) -> Option<Entry> {
        let i = self.first;
        let node = self.nodes[*self.heads.get(i)? as usize];
        Some(Self::entry(bucket, i, node))
    }

    fn pop(&mut self, bucket: i64) -> Option<Entry> {
        let i = self.first;
        let n = *self.heads.get(i)?;
        let node = self.nodes[n as usize];
        self.heads[i] = node.next;
        if node.next == NONE {
            self.tails[i] = NONE;
            self.occupied[i / 64] &= !(1 << (i % 64));
            self.first = self.next_occupied(i + 1);
        }
        self.nodes[n as usize].next = self.free;
        self.free = n;
        Some(Self::entry(bucket, i, node))
    }

    /// The first non-empty millisecond at or after `from`, or `MS`.
    fn next_occupied(&self, from: usize) -> usize {
        let mut w = from / 64;
        if w >= MS_WORDS {
            return MS;
        }
        let mut bits = self.occupied[w] & (u64::MAX << (from % 64));
        loop {
            if bits != 0 {
                return w * 64 + bits.trailing_zeros() as usize;
            }
            w += 1;
            if w == MS_WORDS {
                return MS;
            }
            bits = self.occupied[w];
        }
    }

    /// Drops every entry (an empty wheel's nodes are all free: this drops the free list too).
    fn clear(&mut self) {
        self.nodes.clear();
        self.free = NONE;
    }
}

/// A pending item's place in the slab.
#[derive(Debug, Clone, Copy)]
struct Slot<T> {
    item: T,
    due: SimTime,
    /// The `seq` of the item's one live entry; `DEAD` once the slot is free, or its item was
    /// cancelled or popped.
    seq: u64,
}

/// The hash `Scheduler::index` files an item under.
fn hash_of<T: Hash>(item: &T) -> u64 {
    FxBuildHasher.hash_one(item)
}

/// What the queue holds: items ordered and hashed by what identifies them, and found by a dense
/// key where they have one (see `dense`): an item numbered by a mostly increasing sequence, such
/// as a conference's timers, is found through a window by number rather than by hashing.
pub trait Keyed: Copy + Ord + Hash {
    /// The item's dense key, if it has one; equal items have equal keys, and unequal items
    /// unequal ones. `None`: found by hash.
    fn dense(&self) -> Option<DenseKey> {
        None
    }
}

impl Keyed for u32 {}
impl Keyed for u64 {}
impl Keyed for i32 {}
impl Keyed for char {}

/// A free slot (or a new one) holding `fresh`.
fn new_slot<T>(free: &mut Vec<u32>, slots: &mut Vec<Slot<T>>, fresh: Slot<T>) -> u32 {
    match free.pop() {
        Some(slot) => {
            slots[slot as usize] = fresh;
            slot
        }
        None => {
            let slot = u32::try_from(slots.len()).expect("fewer than 2^32 items pending at once");
            slots.push(fresh);
            slot
        }
    }
}

/// The `seq` no entry has (`next_seq` would need 2^64 schedules to reach it).
const DEAD: u64 = u64::MAX;

/// A timer queue in two levels. Items due before `horizon` wait in the near level (`Near`);
/// later ones wait in one-second buckets (`Far`). When the near level runs dry the next
/// non-empty bucket moves into it and the horizon moves past it. The near level then stays
/// small and cache-resident however many far timers are pending (every active conference has
/// a warning and an end an hour away). Order is unchanged: the near level holds every item
/// due before the horizon and gives them out by `(due, seq)`, and every bucketed item is due
/// at or after it.
///
/// Items live in a slab (`slots`, freed slots reused through `free`) and `index` leads from an
/// item to its slot. Entries name their slot, so telling a live entry from a dead one is an
/// index into the slab rather than a map lookup. The index holds slot numbers alone, 4 bytes a
/// bucket where a map of items to slots held 24 (the engine's 16-byte items and the slot): it
/// compares an item through the slab, and it is a sixth of the size (half a megabyte for the
/// closed-loop day's 10,000 agents rather than three), more of it in the cache. (Instructions
/// per record are the same: the probes were never where they went.)
#[derive(Debug, Clone)]
pub struct Scheduler<T> {
    near: Near,
    far: Far,
    /// Items due before this instant (ms) are in `near`.
    horizon: i64,
    /// Every pending item's slot, and the slot of `popped`, by the item's hash (`hash_of`):
    /// the table holds slot numbers alone and compares items through the slab.
    index: HashTable<u32>,
    /// Every pending item with a dense key, and `popped`'s if it has one, by that key: these
    /// are not in `index`.
    dense: DenseIndex,
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    /// The slot of the item `pop_due` returned last, while it is still in `index` (it is not
    /// pending). The engine's platform cancels every timer it fires (firing changes the
    /// conference, whose timers are compared before and after), so that cancel finds it and
    /// removes it: one map probe, where removing it at the pop and the cancel's miss were two.
    /// Scheduled again (a fired step's successor, the same item to the engine's queue), it
    /// takes this slot back with no probe at all. Otherwise the next pop removes it: at most
    /// one such item lingers.
    popped: Option<u32>,
    next_seq: u64,
    /// The near level's first entry is the earliest pending item and live (or nothing is
    /// pending): nothing changed since the last `settle`. A driver asks for the next deadline several times per
    /// item.
    settled: bool,
}

impl<T: Keyed> Default for Scheduler<T> {
    fn default() -> Self {
        Scheduler {
            near: Near::new(),
            far: Far::new(),
            horizon: i64::MIN,
            index: HashTable::new(),
            dense: DenseIndex::default(),
            slots: Vec::new(),
            free: Vec::new(),
            popped: None,
            next_seq: 0,
            settled: false,
        }
    }
}

impl<T: Keyed> Scheduler<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// A queue sized for about `items` pending at once. Why size it: items come and go with
    /// fresh keys all run long, which leaves tombstones in the map of pending items; once they
    /// fill its spare room while more than half of it is live, the map doubles (old and new
    /// alive together), and that peak came an hour into a run. Sized at twice the steady
    /// state, it is rehashed in place instead, and the peak memory is the first minute's.
    pub fn with_capacity(items: usize) -> Self {
        Scheduler {
            index: HashTable::with_capacity(items.saturating_mul(2)),
            slots: Vec::with_capacity(items),
            ..Self::default()
        }
    }

    fn place(&mut self, entry: Entry) {
        let due = entry.due().as_unix_ms();
        if due < self.horizon {
            self.near.push(entry);
        } else {
            self.far.push(due.div_euclid(BUCKET_MS), entry);
        }
    }

    /// Schedules `item` at `due`, replacing any pending schedule of the same item.
    pub fn schedule_at(&mut self, due: SimTime, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let fresh = Slot { item, due, seq };
        let (slot, replaced) = match self.popped {
            // The item just popped, scheduled again (the engine's next step of a conference
            // whose step fired: the same item to the queue, see `Queued`): its slot is still
            // in the map under the item's hash, so it is taken back as the map's `Occupied`
            // case below would, with no hash and no probe.
            Some(slot) if self.slots[slot as usize].item == item => {
                self.slots[slot as usize] = fresh;
                self.popped = None;
                (slot, false)
            }
            _ => self.slot_for(fresh),
        };
        // Still settled if the entry joins the near level (the first stays live, or the new
        // entry is first) or lands in a bucket behind a non-empty near level; not if it
        // replaced an entry (maybe the first) or the near level is empty (the bucket's
        // entries must move in first).
        if replaced || (due.as_unix_ms() >= self.horizon && self.near.is_empty()) {
            self.settled = false;
        }
        self.place(Entry::new(due, seq, slot));
        let stored = self.near.len() + self.far.len;
        if stored > 1024 && stored > 2 * self.len() {
            self.compact();
        }
    }

    /// Puts `fresh` in the slot its item has (replacing a pending schedule of it: `true`), or
    /// in a new one; returns the slot.
    fn slot_for(&mut self, fresh: Slot<T>) -> (u32, bool) {
        let item = fresh.item;
        if let Some(key) = item.dense() {
            return match self.dense.get(key) {
                Some(slot) => (slot, self.refill(slot, fresh)),
                None => {
                    let slot = new_slot(&mut self.free, &mut self.slots, fresh);
                    self.dense.insert(key, slot);
                    (slot, false)
                }
            };
        }
        let hash = hash_of(&item);
        let slots = &self.slots;
        match self.index.entry(
            hash,
            |&s| slots[s as usize].item == item,
            |&s| hash_of(&slots[s as usize].item),
        ) {
            TableEntry::Occupied(e) => {
                let slot = *e.get();
                (slot, self.refill(slot, fresh))
            }
            TableEntry::Vacant(e) => {
                // `e` borrows the table, not the slab.
                let slot = new_slot(&mut self.free, &mut self.slots, fresh);
                e.insert(slot);
                (slot, false)
            }
        }
    }

    /// Puts `fresh` in `slot`, which its item holds; returns whether that replaced a pending
    /// schedule (the item just popped is indexed but not pending: no replacement).
    fn refill(&mut self, slot: u32, fresh: Slot<T>) -> bool {
        self.slots[slot as usize] = fresh;
        if self.popped == Some(slot) {
            self.popped = None;
            false
        } else {
            true
        }
    }

    /// Cancels `item` if it is pending; returns whether it was.
    pub fn cancel(&mut self, item: T) -> bool {
        let slot = if let Some(key) = item.dense() {
            let Some(slot) = self.dense.remove(key) else {
                return false;
            };
            slot
        } else {
            let slots = &self.slots;
            let Ok(found) = self
                .index
                .find_entry(hash_of(&item), |&s| slots[s as usize].item == item)
            else {
                return false;
            };
            found.remove().0
        };
        self.release(slot);
        if self.popped == Some(slot) {
            self.popped = None;
            return false;
        }
        self.settled = false;
        true
    }

    /// Frees a slot no longer in `index`; its entries are dead from now on.
    fn release(&mut self, slot: u32) {
        self.slots[slot as usize].seq = DEAD;
        self.free.push(slot);
    }

    fn is_live(&self, entry: &Entry) -> bool {
        self.slots[entry.slot as usize].seq == entry.seq()
    }

    /// Leaves the earliest live item first in `near`, moving buckets in as needed. Inline,
    /// so the usual cases cost a test or two, not a call that saves and restores registers:
    /// nothing changed since the last call (a driver asks for the next deadline several times
    /// per item), or something did and the near level's first entry is live all the same
    /// (after nearly every pop on the closed-loop day: 246k of 247k).
    #[inline]
    fn settle(&mut self) {
        if !self.settled {
            if let Some(first) = self.near.peek()
                && self.is_live(first)
            {
                self.settled = true;
            } else {
                self.settle_now();
            }
        }
    }

    #[inline(never)]
    fn settle_now(&mut self) {
        loop {
            while let Some(entry) = self.near.peek() {
                if self.is_live(entry) {
                    self.settled = true;
                    return;
                }
                self.near.pop();
            }
            let mut entries = Vec::new();
            let Some(bucket) = self.far.take_first(&mut entries) else {
                self.settled = true;
                return;
            };
            self.horizon = (bucket + 1).saturating_mul(BUCKET_MS);
            self.near.set_bucket(bucket);
            debug_assert!(entries.is_sorted_by_key(Entry::seq), "in scheduling order");
            for entry in entries.drain(..) {
                if self.is_live(&entry) {
                    self.near.push(entry);
                }
            }
            // The bucket's allocation goes back to the pool for the next bucket to fill.
            self.far.recycle(entries);
        }
    }

    /// The item most likely to come next, for a prefetch hint: the near level's earliest
    /// entry, without settling (it may be cancelled, or something earlier may be scheduled
    /// before it is popped). `None` when the near level is empty.
    #[inline]
    pub fn upcoming(&self) -> Option<&T> {
        let entry = self.near.peek()?;
        self.slots.get(entry.slot as usize).map(|slot| &slot.item)
    }

    /// Starts loading what finding `item` reads, where that is known without reading memory:
    /// the row of its dense key (every item of that row: a conference's step, warning, end and
    /// announcement). A hint (see `confsim_core::hint`); nothing changes.
    #[inline]
    pub fn prefetch(&self, item: T) {
        if let Some((n, _)) = item.dense() {
            self.dense.prefetch(n);
        }
    }

    /// The item likely to come after `upcoming`, when the near level's array holds it (see
    /// `upcoming`); and a prefetch hint for the slot of the item after that.
    #[inline]
    pub fn upcoming_second(&self) -> Option<&T> {
        if self.near.spilled > 0 {
            return None;
        }
        let mut ahead = self.near.small[..self.near.small_len].iter().rev().skip(1);
        let entry = ahead.next()?;
        // And the one after it: its slot, which names the item, read when it is second.
        if let Some(third) = ahead.next().and_then(|e| self.slots.get(e.slot as usize)) {
            confsim_core::hint::prefetch(third, 1);
        }
        self.slots.get(entry.slot as usize).map(|slot| &slot.item)
    }

    /// When the earliest pending item is due.
    pub fn next_deadline(&mut self) -> Option<SimTime> {
        self.settle();
        self.near.peek().map(Entry::due)
    }

    /// Removes and returns the earliest pending item if it is due at or before `limit`.
    pub fn pop_due(&mut self, limit: SimTime) -> Option<(SimTime, T)> {
        self.settle();
        let entry = self.near.pop_until(Entry::new(limit, 0, 0).key.0)?;
        if let Some(before) = self.popped.take() {
            let item = self.slots[before as usize].item;
            if let Some(key) = item.dense() {
                if self.dense.get(key) == Some(before) {
                    self.dense.remove(key);
                }
            } else if let Ok(found) = self.index.find_entry(hash_of(&item), |&s| s == before) {
                found.remove();
            }
            self.release(before);
        }
        let slot = &mut self.slots[entry.slot as usize];
        slot.seq = DEAD;
        self.popped = Some(entry.slot);
        self.settled = false;
        Some((entry.due(), slot.item))
    }

    /// How many items are pending.
    pub fn len(&self) -> usize {
        self.index.len() + self.dense.len() - usize::from(self.popped.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `item` is pending.
    pub fn contains(&self, item: T) -> bool {
        let slot = match item.dense() {
            Some(key) => self.dense.get(key),
            None => self
                .index
                .find(hash_of(&item), |&s| self.slots[s as usize].item == item)
                .copied(),
        };
        slot.is_some_and(|slot| self.slots[slot as usize].seq != DEAD)
    }

    /// The pending items' slots, in no particular order.
    fn pending_slots(&self) -> impl Iterator<Item = (u32, &Slot<T>)> {
        (0u32..)
            .zip(&self.slots)
            .filter(|(_, slot)| slot.seq != DEAD)
    }

    /// Every pending item in the order it will run.
    pub fn pending(&self) -> Vec<(SimTime, T)> {
        let mut all: Vec<_> = self
            .pending_slots()
            .map(|(_, slot)| (slot.due, slot.seq, slot.item))
            .collect();
        all.sort();
        all.into_iter().map(|(due, _, item)| (due, item)).collect()
    }

    /// Drops every dead entry from both levels, in place: each keeps its order (a bucket's
    /// entries and a millisecond's stay in scheduling order, as the near level needs them).
    fn compact(&mut self) {
        let slots = &self.slots;
        let live = |entry: &Entry| slots[entry.slot as usize].seq == entry.seq();
        self.near.retain(live);
        self.far.retain(live);
        self.settled = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dense::DenseKey;

    fn t(ms: i64) -> SimTime {
        SimTime::from_unix_ms(ms)
    }

    /// The hints name what comes next while nothing changes in between: after each pop, the
    /// next two items in order (the near level's array holds them all here).
    #[test]
    fn the_upcoming_items_are_the_next_two_to_come_out() {
        let mut s = Scheduler::new();
        for (due, item) in [(30, 'c'), (10, 'a'), (20, 'b'), (40, 'd')] {
            s.schedule_at(t(due), item);
        }
        let mut expected = vec!['a', 'b', 'c', 'd'].into_iter().peekable();
        while let Some((_, popped)) = s.pop_due(t(100)) {
            assert_eq!(Some(popped), expected.next());
            let rest: Vec<char> = expected.clone().collect();
            assert_eq!(s.upcoming().copied(), rest.first().copied());
            assert_eq!(s.upcoming_second().copied(), rest.get(1).copied());
        }
        assert_eq!(expected.next(), None);
    }

    /// A prefetch hint changes nothing: for an item with a dense key, pending or not, and one
    /// without.
    #[test]
    fn a_prefetch_changes_nothing() {
        let mut s = Scheduler::new();
        // Dense keys (one pending, one far out of the window) and a hashed item (3).
        let items = [Mixed(1), Mixed(20_002), Mixed(3)];
        for (due, item) in [(30, items[0]), (10, items[2])] {
            s.schedule_at(t(due), item);
        }
        let before = s.pending();
        for item in items {
            s.prefetch(item);
        }
        assert_eq!(s.pending(), before);
        assert_eq!(s.pop_due(t(100)), Some((t(10), items[2])));
        assert_eq!(s.pop_due(t(100)), Some((t(30), items[0])));
    }

    #[test]
    fn items_come_out_by_time_then_scheduling_order() {
        let mut s = Scheduler::new();
        s.schedule_at(t(20), 'a');
        s.schedule_at(t(10), 'b');
        s.schedule_at(t(20), 'c');
        s.schedule_at(t(10), 'd');
        let order: Vec<_> = std::iter::from_fn(|| s.pop_due(t(100))).collect();
        assert_eq!(
            order,
            vec![(t(10), 'b'), (t(10), 'd'), (t(20), 'a'), (t(20), 'c')]
        );
    }

    #[test]
    fn far_and_near_items_interleave_in_exact_order() {
        // Items spread over many buckets, scheduled out of order, some cancelled, some
        // rescheduled into the near heap after buckets moved in: the same order as sorting.
        let mut s = Scheduler::new();
        let mut expected = Vec::new();
        let mut n = 0u32;
        for round in 0..5i64 {
            for k in 0..200i64 {
                let due = (k * 7_919 + round * 13) % 50_000;
                s.schedule_at(t(due), n);
                expected.push((due, n));
                n += 1;
            }
        }
        for cancelled in (0..n).step_by(7) {
            s.cancel(cancelled);
        }
        expected.retain(|(_, i)| i % 7 != 0);
        let mut got = Vec::new();
        // Pop half, then schedule more both near and far, then pop the rest.
        for _ in 0..300 {
            let (due, item) = s.pop_due(t(i64::MAX)).unwrap();
            got.push((due.as_unix_ms(), item));
        }
        let now = got.last().unwrap().0;
        for k in 0..50i64 {
            let due = now + (k * 331) % 20_000;
            s.schedule_at(t(due), n);
            expected.push((due, n));
            n += 1;
        }
        while let Some((due, item)) = s.pop_due(t(i64::MAX)) {
            got.push((due.as_unix_ms(), item));
        }
        // Expected order: by due, then by scheduling order (item numbers increase with it).
        expected.sort();
        assert_eq!(got, expected);
    }

    /// An item found by dense key (see `Keyed`) unless its number is a multiple of 3: the
    /// same model tests run through both indexes at once.
    #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    struct Mixed(u32);

    impl Keyed for Mixed {
        fn dense(&self) -> Option<DenseKey> {
            (self.0 % 3 != 0).then_some((u64::from(self.0 / 4), (self.0 % 4) as usize))
        }
    }

    /// Random schedules, cancels and pops over spans from milliseconds to days (past the
    /// ring's reach, so the overflow map, the ring's wrap-around and jumps over empty
    /// stretches are all exercised) come out exactly as a sorted model says; items found by
    /// hash and by dense key alike.
    #[test]
    fn agrees_with_a_sorted_model_over_every_span() {
        agrees_with_a_sorted_model(|n| n);
        agrees_with_a_sorted_model(Mixed);
    }

    fn agrees_with_a_sorted_model<T: Keyed + std::fmt::Debug>(item_of: impl Fn(u32) -> T) {
        use rand::{Rng, SeedableRng};
        for seed in 0..20u64 {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut s = Scheduler::<T>::new();
            let mut model: std::collections::BTreeMap<u32, (i64, u64)> = Default::default();
            let mut seq = 0u64;
            let mut now = 1_767_600_000_000i64;
            for i in 0..4_000 {
                // Schedules only, at first: they all wait in the overflow (no bucket taken
                // yet), and later ones for the same seconds land in the ring.
                let pick = if i < 300 { 0 } else { rng.random_range(0..10) };
                match pick {
                    0..=4 => {
                        let span = [10i64, 5_000, 3_600_000, 9_000_000, 200_000_000]
                            [rng.random_range(0..5)];
                        let due = now + rng.random_range(0..span);
                        let item = rng.random_range(0..500u32);
                        s.schedule_at(t(due), item_of(item));
                        model.insert(item, (due, seq));
                        seq += 1;
                    }
                    5 => {
                        let item = rng.random_range(0..500u32);
                        assert_eq!(s.contains(item_of(item)), model.contains_key(&item));
                        assert_eq!(s.cancel(item_of(item)), model.remove(&item).is_some());
                    }
                    _ => {
                        let limit = now + rng.random_range(0..20_000_000i64);
                        let expected = model
                            .iter()
                            .map(|(item, (due, seq))| (*due, *seq, *item))
                            .min()
                            .filter(|(due, _, _)| *due <= limit);
                        let got = s.pop_due(t(limit));
                        assert_eq!(got, expected.map(|(due, _, item)| (t(due), item_of(item))));
                        if let Some((due, _, item)) = expected {
                            model.remove(&item);
                            now = now.max(due);
                        }
                    }
                }
                assert_eq!(s.len(), model.len());
            }
        }
    }

    /// Thousands due within one second (the near level spills into its wheel), many at the
    /// same millisecond, scheduled out of order, some cancelled, some rescheduled, some into
    /// the past: the same order as sorting.
    #[test]
    fn a_crowded_second_comes_out_in_order() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut s = Scheduler::new();
        let mut model: std::collections::BTreeMap<u32, (i64, u64)> = Default::default();
        let mut seq = 0u64;
        let start = 1_767_600_000_000i64;
        // One item moves the first second in.
        s.schedule_at(t(start), u32::MAX);
        assert_eq!(s.pop_due(t(start)), Some((t(start), u32::MAX)));
        let mut now = start;
        for round in 0..6 {
            for _ in 0..1_000 {
                let item = rng.random_range(0..3_000u32);
                let due = match rng.random_range(0..10) {
                    0 => now - rng.random_range(1..5_000),
                    1 => start + (round + 1) * 1_000 + rng.random_range(0..1_000),
                    _ => now + rng.random_range(0..(start + 1_000 - now).max(1)),
                };
                s.schedule_at(t(due), item);
                model.insert(item, (due, seq));
                seq += 1;
                if rng.random_range(0..8) == 0 {
                    let victim = rng.random_range(0..3_000u32);
                    assert_eq!(s.cancel(victim), model.remove(&victim).is_some());
                }
            }
            for _ in 0..700 {
                let expected = model
                    .iter()
                    .map(|(item, (due, seq))| (*due, *seq, *item))
                    .min();
                let got = s.pop_due(t(i64::MAX));
                assert_eq!(got, expected.map(|(due, _, item)| (t(due), item)));
                let Some((due, _, item)) = expected else {
                    break;
                };
                model.remove(&item);
                now = now.max(due);
            }
        }
        drain_against(&mut s, &mut model);
    }

    /// Pops everything left, each the model's earliest by (due, seq); the model ends empty.
    fn drain_against(
        s: &mut Scheduler<u32>,
        model: &mut std::collections::BTreeMap<u32, (i64, u64)>,
    ) {
        while let Some((due, item)) = s.pop_due(t(i64::MAX)) {
            let expected = model.iter().map(|(i, (d, q))| (*d, *q, *i)).min();
            assert_eq!(
                Some((due.as_unix_ms(), item)),
                expected.map(|(d, _, i)| (d, i))
            );
            model.remove(&item);
        }
        assert!(model.is_empty());
    }

    /// A crowded second moved in while it is still far ahead (the closed-loop day's 10,000
    /// warnings), then steady work due before it: that work keeps to the sorted array while it
    /// fits, goes to the heap past it, and everything comes out as sorting says.
    #[test]
    fn work_due_before_a_crowded_second_keeps_to_the_array() {
        let mut s = Scheduler::new();
        let mut model: std::collections::BTreeMap<u32, (i64, u64)> = Default::default();
        let mut seq = 0u64;
        let ahead = 3_000_000i64;
        for i in 0..200u32 {
            let due = ahead + i64::from(i % 7) * 100;
            s.schedule_at(t(due), i);
            model.insert(i, (due, seq));
            seq += 1;
        }
        // The first thing due is a second far ahead: it moves in, 200 entries in the wheel.
        assert_eq!(s.next_deadline(), Some(t(ahead)));
        assert_eq!(s.near.in_wheel, 200);
        let mut now = 0i64;
        let mut item = 1_000u32;
        let mut heap_used = false;
        for round in 0..400i64 {
            // A step a few milliseconds on, some rounds two; some cancelled, some popped.
            for _ in 0..1 + round % 2 {
                let due = now + 1 + (round * 37) % 50;
                s.schedule_at(t(due), item);
                model.insert(item, (due, seq));
                seq += 1;
                item += 1;
            }
            if round % 5 == 0 {
                let victim = item - 2;
                assert_eq!(s.cancel(victim), model.remove(&victim).is_some());
            }
            // The heap takes nothing while the array has room (the first 20 rounds schedule 30
            // entries before the second moved in, live or dead).
            if round < 20 {
                assert!(s.near.earlier.is_empty(), "round {round}");
            }
            heap_used |= !s.near.earlier.is_empty();
            // Pop every other round until far into the run, then drain faster.
            let pops = if round < 200 { round % 2 } else { 2 };
            for _ in 0..pops {
                let expected = model.iter().map(|(i, (d, q))| (*d, *q, *i)).min();
                let got = s.pop_due(t(i64::MAX));
                assert_eq!(got, expected.map(|(d, _, i)| (t(d), i)));
                if let Some((d, _, i)) = expected {
                    model.remove(&i);
                    now = now.max(d);
                }
            }
        }
        drain_against(&mut s, &mut model);
        assert!(heap_used, "the array overflowed");
    }

    #[test]
    fn times_before_the_epoch_sort_first() {
        let mut s = Scheduler::new();
        s.schedule_at(t(5), 'b');
        s.schedule_at(t(-5), 'a');
        s.schedule_at(t(i64::MIN / 2), 'z');
        let order: Vec<_> = std::iter::from_fn(|| s.pop_due(t(100))).collect();
        assert_eq!(
            order,
            vec![(t(i64::MIN / 2), 'z'), (t(-5), 'a'), (t(5), 'b')]
        );
    }

    #[test]
    fn nothing_comes_out_before_it_is_due() {
        let mut s = Scheduler::new();
        s.schedule_at(t(50), 1);
        assert_eq!(s.pop_due(t(49)), None);
        assert_eq!(s.next_deadline(), Some(t(50)));
        assert_eq!(s.pop_due(t(50)), Some((t(50), 1)));
        assert!(s.is_empty());
    }

    #[test]
    fn cancelled_and_rescheduled_items_do_not_fire_at_their_old_time() {
        let mut s = Scheduler::new();
        s.schedule_at(t(10), 1);
        s.schedule_at(t(20), 2);
        assert!(s.cancel(1));
        assert!(!s.cancel(1));
        s.schedule_at(t(30), 2);
        assert_eq!(s.next_deadline(), Some(t(30)));
        assert_eq!(s.pending(), vec![(t(30), 2)]);
        assert_eq!(s.pop_due(t(100)), Some((t(30), 2)));
        assert_eq!(s.pop_due(t(100)), None);
    }

    #[test]
    fn a_popped_item_is_not_pending() {
        let mut s = Scheduler::new();
        s.schedule_at(t(10), 'a');
        s.schedule_at(t(20), 'b');
        assert_eq!(s.pop_due(t(10)), Some((t(10), 'a')));
        assert_eq!(s.len(), 1);
        assert_eq!(s.pending(), vec![(t(20), 'b')]);
        // Cancelling the item just popped finds nothing pending.
        assert!(!s.contains('a') && s.contains('b'));
        assert!(!s.cancel('a'));
        assert_eq!(s.len(), 1);
        // Scheduled again after its pop, it is pending afresh, in order.
        assert_eq!(s.pop_due(t(20)), Some((t(20), 'b')));
        s.schedule_at(t(15), 'b');
        s.schedule_at(t(15), 'a');
        assert_eq!(s.len(), 2);
        assert!(s.cancel('b'));
        assert_eq!(s.pop_due(t(100)), Some((t(15), 'a')));
        assert!(s.is_empty());
        assert_eq!(s.pop_due(t(100)), None);
    }

    #[test]
    fn slots_and_the_map_stay_as_small_as_what_is_pending() {
        // Fresh items all run long, popped, cancelled or rescheduled: the slab and the map
        // hold what is pending (plus the one item just popped), never what was scheduled.
        let mut s = Scheduler::new();
        let mut next = 0u32;
        for round in 0..20_000i64 {
            for k in 0..3 {
                s.schedule_at(t(round * 10 + k * 7), next);
                next += 1;
            }
            if round % 3 == 0 {
                s.cancel(next - 1);
            }
            if round % 5 == 0 {
                s.schedule_at(t(round * 10 + 50), next - 2);
            }
            while s.pop_due(t(round * 10)).is_some() {}
            assert!(s.slots.len() <= 64, "{} slots", s.slots.len());
            assert!(s.index.len() <= s.len() + 1);
        }
    }

    #[test]
    fn the_heap_is_compacted_when_cancellations_pile_up() {
        let mut s = Scheduler::new();
        for i in 0..10_000u32 {
            s.schedule_at(t(i64::from(i)), i);
            if i % 10 != 0 {
                s.cancel(i);
            }
        }
        assert_eq!(s.len(), 1_000);
        let stored = s.near.len() + s.far.len;
        assert!(stored <= 2 * 1_000 + 1_024 + 1, "kept {stored} entries");
        let fired: Vec<_> = std::iter::from_fn(|| s.pop_due(t(1_000_000)))
            .map(|(_, i)| i)
            .collect();
        assert_eq!(fired, (0..10_000).step_by(10).collect::<Vec<_>>());
    }
}
