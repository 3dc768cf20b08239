//! Integration tests of the replay: journals that replay identically (from the runner, from a
//! gateway-style driver, torn, reformatted), each kind of divergence naming the right record,
//! files that are not journals, and corpora with their JUnit report, the bundled one included.

mod captures;
mod corpus;
mod divergence;
mod identical;
mod invalid;
mod support;
