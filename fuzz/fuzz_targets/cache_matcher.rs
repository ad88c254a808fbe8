//! The cached-file-to-source matcher: a match names a stem that has a source
//! and is a prefix of the file name; every name importlib writes matches its
//! own source.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pycache_guard::artifact::{self, CachedFile};

fuzz_target!(|input: (Vec<u8>, Vec<Vec<u8>>, u8)| {
    let (name, stems, level) = input;
    let has = |stem: &[u8]| stems.iter().any(|s| s.as_slice() == stem);
    match artifact::classify_cached(&name, has) {
        CachedFile::Cache { stem, suffix } => {
            assert!(has(stem));
            assert!(name.starts_with(stem) && name.get(stem.len()) == Some(&b'.'));
            assert!(!suffix.tag.is_empty());
        }
        CachedFile::Orphan { stem, .. } => assert!(!has(stem)),
        _ => {}
    }
    // Round trip: importlib's name for any stem is matched back to that stem.
    if let Some(stem) = stems.first().filter(|stem| !stem.is_empty() && !stem.contains(&b'/') && !stem.contains(&0)) {
        let level = level % 3;
        let written = artifact::cache_file_name(stem, "cpython-312", level);
        match artifact::classify_cached(&written, |candidate| candidate == stem.as_slice()) {
            CachedFile::Cache { stem: found, suffix } => {
                assert_eq!(found, stem.as_slice());
                assert_eq!(suffix.tag, b"cpython-312");
                assert_eq!(suffix.optimization.unwrap_or(0), level);
            }
            other => panic!("{other:?} for {written:?}"),
        }
    }
});
