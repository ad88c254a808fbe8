//! The git index reader: any bytes load or fail cleanly, and every entry it
//! yields lies within the data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pycache_guard::index::Index;
use pycache_guard::index::ObjectFormat;

fuzz_target!(|data: &[u8]| {
    for format in [ObjectFormat::Sha1, ObjectFormat::Sha256] {
        if let Ok(index) = Index::from_bytes(data, format) {
            for entry in index.entries() {
                assert_eq!(entry.id.len(), format.hash_len());
                assert!(entry.stage <= 3);
            }
        }
    }
});
