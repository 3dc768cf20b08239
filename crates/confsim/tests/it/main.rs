//! Tests of the `confsim` binary itself: exit codes, what goes to stdout and stderr.

mod crash;
mod docs;
mod replay;
mod serve;
mod support;
mod sweep;
mod tools;
