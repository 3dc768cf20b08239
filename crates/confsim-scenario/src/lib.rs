//! confsim's scenarios: the file format (product.md §3) with precise errors, the runner that
//! drives the engine through a scenario, expectations, statistics and the report (§5); the
//! report of a journal after the fact, and sweeps of a scenario over a grid of values and
//! seeds (§10).

pub mod convert;
pub mod dist;
pub mod error;
pub mod expect;
pub mod from_journal;
pub mod html;
pub mod load;
pub mod locate;
pub mod replications;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod schema;
pub mod stats;
pub mod sweep;
pub mod sweep_html;
pub mod timeline;
mod wakes;

pub use error::{Result, ScenarioError};
pub use from_journal::{Derived, JournalReport, report_journal, report_journal_folded};
pub use report::Report;
pub use runner::{ClockChoice, Progress, RunOptions, run, run_with_progress};
pub use scenario::{Scenario, load, parse};
