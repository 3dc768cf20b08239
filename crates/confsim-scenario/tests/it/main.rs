//! Integration tests of the scenario crate: the bundled scenarios as golden tests, and the
//! errors bad scenario files get.

mod errors;
mod golden;
