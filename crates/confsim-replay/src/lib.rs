//! confsim's regression replay (product.md §4.3): a journal captured today, from `confsim run`
//! or from `confsim serve --journal`, is a regression test tomorrow. Replaying it re-executes
//! its inputs at their recorded simulated times against a fresh platform built from its header,
//! in virtual time, and compares every record the replay produces with the recorded one.
//!
//! - `replay` holds the algorithm (how inputs interleave with the timers they imply);
//! - `scan` reads the recorded journal ahead of the engine, `compare` behind it;
//! - `tolerant` replays a capture of a real gateway (`confsim record`), comparing what a model
//!   can match: per agent, event order, types, contents and times within a tolerance, and each
//!   input's retcode and result;
//! - `outcome` is what a replay found and how it is shown; `corpus` replays many journals and
//!   `junit` reports them to CI.
//!
//! A replay does no more work than the run that wrote the journal: the file is streamed, and a
//! reproduced record costs a byte comparison, never a JSON parse.

mod compare;
pub mod corpus;
mod error;
pub mod junit;
mod outcome;
mod replay;
mod scan;
mod tolerant;

pub use corpus::{Replayed, Summary, expand, replay_all, replay_all_with};
pub use error::{ReplayError, Result};
pub use junit::junit;
pub use outcome::{
    Cause, Divergence, DivergenceKind, FieldDiff, Outcome, Torn, Verdict, rate, thousands,
};
pub use replay::{
    Sampler, Watched, replay_bytes, replay_capture, replay_file, replay_file_watched,
    replay_file_with, replay_readers,
};
pub use tolerant::{AgentDivergence, CaptureComparison, CaptureKind, CaptureOptions, KindCounts};
