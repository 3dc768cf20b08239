//! Integration tests of the scenario crate: the bundled scenarios as golden tests, the errors
//! bad scenario files get, load generators, expectations, the report (JSON and HTML), and
//! statistics that do not grow with the run's length.

mod errors;
mod expectations;
mod from_journal;
mod fuzz_corpus;
mod golden;
mod load;
mod memory;
mod report;
mod sweep;
