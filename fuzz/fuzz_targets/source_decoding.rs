//! PEP 263 decoding and the in-process syntax check: no input panics, and a
//! file without BOM or cookie decodes exactly when it is UTF-8.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pycache_guard::encoding::{self, Decoded};

fuzz_target!(|data: &[u8]| {
    let decoded = encoding::decode(data);
    if !data.starts_with(b"\xef\xbb\xbf") && encoding::declared_encoding(data).is_none() {
        match (&decoded, std::str::from_utf8(data)) {
            (Decoded::Text(text), Ok(original)) => assert_eq!(text, original),
            (Decoded::Invalid(_), Err(_)) => {}
            (other, utf8) => panic!("decoded {other:?} for {utf8:?}"),
        }
    }
    let _ = pycache_guard::syntax::check(data, (3, 12));
});
