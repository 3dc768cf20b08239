//! Integration tests of the scenario crate: the bundled scenarios as golden tests, the errors
//! bad scenario files get, load generators, expectations, and the report (JSON and HTML).

mod errors;
mod expectations;
mod fuzz_corpus;
mod golden;
mod load;
mod report;
