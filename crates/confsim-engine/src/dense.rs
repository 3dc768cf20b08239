//! The timer queue's index for items with a dense key: a conference's step, warning, end and
//! announcement, found by the conference's number in the platform's sequence rather than by
//! hashing.
//!
//! Why: the queue's hash table of slot numbers compares an item through the slab, so finding
//! one is three dependent loads at random (the table's control bytes, its slot number, the
//! slab's slot). At 60,000 agents none of the three is in the cache, and finding items (every
//! cancel; every schedule, which replaces a pending one of the same item) was most of the
//! queue's time. Conferences' numbers arrive in increasing order and the live ones are the
//! recent ones (the same reasoning as the platform's conference index), so a window of rows by
//! number, one slot per lane, finds an item by a subtraction and an index into an array of 16
//! bytes per conference, whose recent end stays in the cache.
//!
//! Memory follows what is pending, not the run: the window's front moves on past empty rows,
//! and when a long-lived conference holds it back while the window fills with gaps (more than
//! half of it, past `GAPS` rows), its row moves to `sparse`. Numbers far past the window's end
//! (never, with the platform's sequence; the index does not rely on it) go to `sparse` too.

use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Lanes per number: the kinds of dense item one conference has (see `Keyed::dense`).
pub const LANES: usize = 4;

/// A lane without an item.
const NONE: u32 = u32::MAX;
/// Empty rows the window may hold whatever the live count.
const GAPS: usize = 4096;

/// A dense key: a number from a mostly increasing sequence, and a lane below `LANES`.
pub type DenseKey = (u64, usize);

/// Items by dense key → slot.
#[derive(Debug, Clone, Default)]
pub(crate) struct DenseIndex {
    /// The number of `window[0]`.
    first: u64,
    window: VecDeque<[u32; LANES]>,
    /// Rows of `window` with at least one slot.
    live_rows: usize,
    /// Slots held, in the window and in `sparse`.
    len: usize,
    sparse: FxHashMap<DenseKey, u32>,
}

impl DenseIndex {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Where number `n`'s row sits in the window, if at or past its front.
    #[inline]
    fn position(&self, n: u64) -> Option<usize> {
        usize::try_from(n.checked_sub(self.first)?).ok()
    }

    /// Starts loading the row of number `n` (every lane of it: a row is 16 bytes), if it is
    /// in the window (see `confsim_core::hint`).
    #[inline]
    pub(crate) fn prefetch(&self, n: u64) {
        if let Some(row) = self.position(n).and_then(|i| self.window.get(i)) {
            confsim_core::hint::prefetch(row, 1);
        }
    }

    #[inline]
    pub(crate) fn get(&self, (n, lane): DenseKey) -> Option<u32> {
        if let Some(&slot) = self
            .position(n)
            .and_then(|i| self.window.get(i))
            .map(|row| &row[lane])
            && slot != NONE
        {
            return Some(slot);
        }
        if self.sparse.is_empty() {
            return None;
        }
        self.sparse.get(&(n, lane)).copied()
    }

    /// Files `slot` under `key`, which holds none.
    pub(crate) fn insert(&mut self, (n, lane): DenseKey, slot: u32) {
        self.len += 1;
        if self.window.is_empty() {
            // An empty window starts at the number it is given: no gap before it.
            self.first = n;
        }
        match self.position(n) {
            // In the window, or a little past its end.
            Some(i) if i < self.window.len() + GAPS => {
                let grew = i >= self.window.len();
                if grew {
                    self.window.resize(i + 1, [NONE; LANES]);
                }
                let row = &mut self.window[i];
                debug_assert_eq!(row[lane], NONE, "({n}, {lane}) is not in the index yet");
                if *row == [NONE; LANES] {
                    self.live_rows += 1;
                }
                row[lane] = slot;
                // Only a longer window can have too many gaps now.
                if grew {
                    self.trim();
                }
            }
            _ => {
                self.sparse.insert((n, lane), slot);
            }
        }
    }

    /// Removes `key`; returns its slot.
    pub(crate) fn remove(&mut self, (n, lane): DenseKey) -> Option<u32> {
        if let Some(i) = self.position(n)
            && let Some(row) = self.window.get_mut(i)
            && row[lane] != NONE
        {
            let slot = std::mem::replace(&mut row[lane], NONE);
            self.len -= 1;
            // Only a row emptied can leave the front empty, or the window too sparse.
            if *row == [NONE; LANES] {
                self.live_rows -= 1;
                self.trim();
            }
            return Some(slot);
        }
        let slot = self.sparse.remove(&(n, lane))?;
        self.len -= 1;
        Some(slot)
    }

    /// Moves the front past empty rows, and past live ones too (into `sparse`) while more than
    /// half the window is gaps and the gaps are more than `GAPS`.
    fn trim(&mut self) {
        while let Some(front) = self.window.front() {
            if *front != [NONE; LANES] {
                let crowded_with_gaps = self.window.len() - self.live_rows > GAPS
                    && self.window.len() > 2 * self.live_rows;
                if !crowded_with_gaps {
                    break;
                }
                for (lane, slot) in front.iter().enumerate() {
                    if *slot != NONE {
                        self.sparse.insert((self.first, lane), *slot);
                    }
                }
                self.live_rows -= 1;
            }
            self.window.pop_front();
            self.first += 1;
        }
    }

    /// Rows the window holds (for tests of its bound).
    #[cfg(test)]
    fn rows(&self) -> usize {
        self.window.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Random inserts and removes of mostly increasing numbers, with stragglers that live long
    /// and numbers far ahead: the index agrees with a map after every step, and its window
    /// stays within `GAPS` plus twice the live rows.
    fn check(ops: &[(u8, u64, u8)]) {
        let mut index = DenseIndex::default();
        let mut model: BTreeMap<DenseKey, u32> = BTreeMap::new();
        let mut next = 0u64;
        for (i, &(op, jump, lane)) in ops.iter().enumerate() {
            let lane = usize::from(lane) % LANES;
            let slot = i as u32;
            match op % 4 {
                // A new number: the sequence moves on, now and then by a lot.
                0 | 1 => {
                    next += if jump % 50 == 0 {
                        jump * 1_000
                    } else {
                        jump % 3
                    };
                    if let std::collections::btree_map::Entry::Vacant(e) = model.entry((next, lane))
                    {
                        e.insert(slot);
                        index.insert((next, lane), slot);
                    }
                }
                // The oldest or a recent key goes.
                2 => {
                    let key = if jump % 2 == 0 {
                        model.keys().next().copied()
                    } else {
                        model.keys().next_back().copied()
                    };
                    if let Some(key) = key {
                        assert_eq!(index.remove(key), model.remove(&key));
                    }
                }
                // A lookup, and a removal of something not there.
                _ => {
                    let key = (next.saturating_sub(jump % 5), lane);
                    assert_eq!(index.get(key), model.get(&key).copied());
                    if !model.contains_key(&(next + 1, lane)) {
                        assert_eq!(index.remove((next + 1, lane)), None);
                    }
                }
            }
            assert_eq!(index.len(), model.len());
            let live_rows = model
                .keys()
                .map(|(n, _)| *n)
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            assert!(
                index.rows() <= GAPS + 2 * live_rows + 1,
                "{} rows for {live_rows} live",
                index.rows()
            );
        }
        for (key, slot) in &model {
            assert_eq!(index.get(*key), Some(*slot));
        }
    }

    proptest! {
        #[test]
        fn agrees_with_a_map(ops in proptest::collection::vec((any::<u8>(), 0u64..200, any::<u8>()), 0..2_000)) {
            check(&ops);
        }
    }

    /// A straggler (one conference that lives on) while thousands come and go after it: the
    /// window moves past it into `sparse`, so it stays near the live count; the straggler is
    /// still found.
    #[test]
    fn a_straggler_does_not_hold_the_window() {
        let mut index = DenseIndex::default();
        index.insert((0, 1), 7);
        for n in 1..20_000u64 {
            index.insert((n, 0), n as u32);
            if n > 10 {
                assert_eq!(index.remove((n - 10, 0)), Some((n - 10) as u32));
            }
        }
        assert!(index.rows() <= GAPS + 2 * 11 + 1, "{} rows", index.rows());
        assert_eq!(index.get((0, 1)), Some(7));
        assert_eq!(index.remove((0, 1)), Some(7));
        assert_eq!(index.len(), 10);
    }
}
