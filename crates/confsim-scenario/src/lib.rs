//! confsim's scenarios: the file format (product.md §3) with precise errors, the runner that
//! drives the engine through a scenario, expectations, statistics and the report (§5).

pub mod convert;
pub mod dist;
pub mod error;
pub mod expect;
pub mod html;
pub mod load;
pub mod locate;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod schema;
pub mod stats;
pub mod timeline;
mod wakes;

pub use error::{Result, ScenarioError};
pub use report::Report;
pub use runner::{ClockChoice, Progress, RunOptions, run, run_with_progress};
pub use scenario::{Scenario, load, parse};
