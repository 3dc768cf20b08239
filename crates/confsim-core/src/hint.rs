//! Prefetch hints: asking the processor to start loading memory the next record will read.
//!
//! Why: with tens of thousands of agents the platform's state (agents, conferences, the timer
//! queue's slab) is far larger than the L2 cache, and every record reads an agent and a
//! conference at random. The engine knows which timer comes next, so it can name that timer's
//! state while the current record is still being worked on; by the time the record comes up,
//! its state is in the cache. A hint changes nothing the program can observe: no state, no
//! order, no output; only when memory arrives.

#[allow(unsafe_code)]
/// Starts loading the cache line holding `*p` (and, for values longer than a line, the next
/// `lines - 1` lines) into the cache. Does nothing on processors without a prefetch hint.
#[inline(always)]
pub fn prefetch<T: ?Sized>(p: &T, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let base = (p as *const T).cast::<i8>();
        for i in 0..lines {
            // SAFETY: `prefetcht0` is a hint: it never faults, reads nothing into a register
            // and writes nothing, whatever the address, so any pointer is sound (and this one
            // points into, or one line past, a live value). SSE, which the instruction needs,
            // is part of every x86_64 processor.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    base.wrapping_add(i * 64),
                );
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, lines);
}
