//! The `.pyc` header reader: any bytes parse or fail cleanly, and a parsed
//! header describes exactly the bytes it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pycache_guard::pyc::{self, Validation};

fuzz_target!(|data: &[u8]| {
    let Ok(header) = pyc::parse_header(data) else { return };
    assert_eq!(&data[..2], &header.magic.to_le_bytes());
    assert_eq!(&data[2..4], b"\r\n");
    match header.validation {
        Validation::Timestamp { mtime, size } if data.len() >= 16 && header.magic >= 3392 => {
            assert_eq!(&data[8..12], &mtime.to_le_bytes());
            assert_eq!(&data[12..16], &size.to_le_bytes());
        }
        Validation::CheckedHash(hash) | Validation::UncheckedHash(hash) => assert_eq!(&data[8..16], &hash),
        _ => {}
    }
    let _ = pyc::source_hash(header.magic, data);
});
