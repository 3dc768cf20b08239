//! What every test of the binary needs: the repository's root and a run of `confsim` that
//! never panics.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the binary with `args`; a panic on stderr fails the test whatever the exit code.
pub fn confsim(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_confsim"))
        .args(args)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    out
}
