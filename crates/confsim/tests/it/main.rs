//! Tests of the `confsim` binary itself: exit codes, what goes to stdout and stderr.

mod captures;
mod convert;
mod crash;
mod docs;
mod record;
mod replay;
mod serve;
mod support;
mod sweep;
mod tools;
