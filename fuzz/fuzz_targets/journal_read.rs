//! Bytes as a journal: reading the header and every record must never panic.
#![no_main]

use confsim_journal::JournalReader;
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = JournalReader::new(Cursor::new(data)) {
        for record in reader {
            if record.is_err() {
                break;
            }
        }
    }
});
