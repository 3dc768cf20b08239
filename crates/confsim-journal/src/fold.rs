//! State is what folding the journal gives: the header's initial platform, with every record
//! applied in order. This is the definition the live engine is tested against.

use crate::header::Header;
use crate::reader::Stamped;
use confsim_core::Platform;

/// Folds records into the platform the header describes.
pub fn fold<'a>(header: &Header, records: impl IntoIterator<Item = &'a Stamped>) -> Platform {
    let mut platform = Platform::new(header.platform.clone(), header.seed, &header.agents);
    let mut ignored = Vec::new();
    for stamped in records {
        platform.apply(stamped.at, &stamped.record, &mut ignored);
        ignored.clear();
    }
    platform
}
