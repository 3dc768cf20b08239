//! confsim's engine: it owns the platform state, the timer queue and the journal, and is the
//! one way anything happens. A driver (the scenario runner, the HTTP gateway) submits inputs at
//! the engine's current simulated time and advances time through a `Clock`; the engine decides,
//! journals, applies and fires timers in (time, sequence) order, and hands every record to an
//! `Observer`. Two drivers given the same inputs at the same simulated times produce the same
//! journal.

pub mod clock;
mod dense;
mod engine;
pub mod rebuild;
pub mod scheduler;

pub use clock::{Clock, Stopwatch, VirtualClock, WallClock};
pub use engine::{Engine, EngineError, Item, Observer, Step};
pub use rebuild::{RebuildError, Rebuilder, Rebuilt, rebuild};
pub use scheduler::{Keyed, Scheduler};
