//! Bytes (lossily UTF-8) through the scenario parser: it must never panic, and an error
//! must name the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = confsim_scenario::parse(&text, Path::new("fuzz.json")) {
        let message = e.to_string();
        assert!(message.starts_with("fuzz.json"), "{message}");
    }
});
