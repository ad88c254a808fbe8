//! What counts as Python bytecode, and how a cached file maps to its source.
//!
//! A bytecode artifact is any path with a `__pycache__` component, or a file
//! name ending in `.pyc`, `.pyo` or `$py.class`. `.pyd` (extension modules) and
//! `.pyz` (zip applications) are not bytecode.
//!
//! Inside `__pycache__` CPython names caches `<stem>.<cache_tag>.pyc`, with
//! `.opt-N` before `.pyc` for optimisation levels 1 and 2
//! (`importlib.util.cache_from_source`); pytest writes
//! `<stem>.<cache_tag>-pytest-<version>.pyc`; an interrupted atomic write leaves
//! `<name>.pyc.<digits>`. Stems may contain dots (`foo.bar.py`), so a cached
//! file is matched to its source by trying the stems of the sources that are
//! really there, never by splitting on the first or last dot.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use std::sync::LazyLock;

use bstr::ByteSlice;
use memchr::memmem;

/// The folder name CPython caches bytecode in.
pub const PYCACHE: &str = "__pycache__";

/// Source suffix importlib looks for (`importlib.machinery.SOURCE_SUFFIXES` on POSIX).
pub const SOURCE_SUFFIX: &[u8] = b".py";

/// Name endings of legacy bytecode written beside the source.
const LEGACY_SUFFIXES: [&[u8]; 3] = [b".pyc", b".pyo", b"$py.class"];

/// True for any repository path that is a bytecode artifact.
///
/// This runs on every index entry of every commit, so it avoids splitting
/// the path: a suffix test, then a SIMD search for `__pycache__`.
pub fn is_bytecode_path(path: &[u8]) -> bool {
    static FINDER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(PYCACHE));
    let path = path.strip_suffix(b"/").unwrap_or(path);
    if LEGACY_SUFFIXES.iter().any(|suffix| path.ends_with(suffix)) {
        // `a/.pyc` has an empty stem but is still bytecode by its ending.
        return true;
    }
    let end = PYCACHE.len();
    FINDER
        .find_iter(path)
        .any(|at| (at == 0 || path[at - 1] == b'/') && (at + end == path.len() || path[at + end] == b'/'))
}

/// The regular expression (Python `re` syntax, used with `search`) that selects
/// the paths [`is_bytecode_path`] accepts, as `files:` in `.pre-commit-hooks.yaml`
/// and in the local hook `install` suggests (`tests/guard.rs` checks the two
/// agree with Python's `re`). One difference is Python's: `$` also matches
/// before a final newline, so a file named `m.pyc` plus a newline is passed to
/// the hook too, which then judges it by [`is_bytecode_path`].
pub const BYTECODE_REGEX: &str = r"(^|/)__pycache__(/|$)|\.py[co]$|\$py\.class$";

/// A parsed cache file name: what follows the source's stem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheSuffix<'a> {
    /// `sys.implementation.cache_tag`, such as `cpython-312`.
    pub tag: &'a [u8],
    /// `Some(1)` or `Some(2)` for `.opt-N` files.
    pub optimization: Option<u8>,
    /// Written by pytest's assertion rewriting.
    pub pytest: bool,
}

/// Parses `cpython-312`, `cpython-312.opt-1` or `cpython-311-pytest-8.3.2`.
fn parse_suffix(rest: &[u8]) -> Option<CacheSuffix<'_>> {
    // Cache tags such as `cpython-312` or `pypy39` start with a letter and hold no dot.
    // `opt-1` is the optimisation marker, never a tag: `a.cpython-312.opt-1`
    // must not read as stem `a.cpython-312` with tag `opt-1`.
    let valid_tag = |tag: &[u8]| {
        tag.first().is_some_and(u8::is_ascii_alphabetic)
            && tag.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            && !tag.starts_with(b"opt-")
    };
    if let Some(at) = rest.find(b"-pytest-") {
        let (tag, version) = (&rest[..at], &rest[at + b"-pytest-".len()..]);
        return (valid_tag(tag) && !version.is_empty() && !version.contains(&b'/')).then_some(CacheSuffix {
            tag,
            optimization: None,
            pytest: true,
        });
    }
    let (tag, optimization) = match rest.find(b".opt-") {
        Some(at) => {
            let level = &rest[at + b".opt-".len()..];
            let level = std::str::from_utf8(level).ok()?.parse::<u8>().ok()?;
            (&rest[..at], Some(level))
        }
        None => (rest, None),
    };
    valid_tag(tag).then_some(CacheSuffix { tag, optimization, pytest: false })
}

/// What a file inside a `__pycache__` folder is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CachedFile<'a> {
    /// `<stem>.<suffix>.pyc` (or `.pyo`) whose stem has a source beside the folder.
    Cache { stem: &'a [u8], suffix: CacheSuffix<'a> },
    /// A well-formed cache name whose source is gone.
    Orphan { stem: &'a [u8], suffix: CacheSuffix<'a> },
    /// `<name>.pyc.<digits>`, left by an interrupted atomic write.
    Temporary,
    /// Bytecode by its ending, but not a name importlib or pytest writes.
    OddBytecode,
    /// Anything else: not ours to touch.
    Unknown,
}

/// Classifies a file name found in `__pycache__`. `has_source(stem)` says
/// whether `<stem>.py` exists in the folder above.
pub fn classify_cached<'a>(name: &'a [u8], mut has_source: impl FnMut(&[u8]) -> bool) -> CachedFile<'a> {
    if is_temporary_name(name) {
        return CachedFile::Temporary;
    }
    let Some(body) = name.strip_suffix(b".pyc").or_else(|| name.strip_suffix(b".pyo")) else {
        return CachedFile::Unknown;
    };
    // Every dot could end the stem; the longest stem with a real source wins,
    // so `foo.bar.cpython-312.pyc` belongs to `foo.bar.py` even when `foo.py` exists.
    let mut orphan = None;
    let dots = body.iter().enumerate().filter(|(_, byte)| **byte == b'.').map(|(at, _)| at);
    for at in dots.rev() {
        let (stem, rest) = (&body[..at], &body[at + 1..]);
        if stem.is_empty() {
            continue;
        }
        let Some(suffix) = parse_suffix(rest) else { continue };
        if has_source(stem) {
            return CachedFile::Cache { stem, suffix };
        }
        // Remember the longest plausible stem for the report.
        orphan.get_or_insert(CachedFile::Orphan { stem, suffix });
    }
    orphan.unwrap_or(CachedFile::OddBytecode)
}

/// `foo.cpython-312.pyc.140234` and the like.
pub fn is_temporary_name(name: &[u8]) -> bool {
    match name.rfind(b".pyc.") {
        Some(at) => {
            // `<digits>`, or `<digits>.<digits>`: importlib's own temporary name
            // beside the one a rebuild hands its worker.
            let rest = &name[at + b".pyc.".len()..];
            let number = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
            match rest.iter().position(|&byte| byte == b'.') {
                Some(dot) => number(&rest[..dot]) && number(&rest[dot + 1..]),
                None => number(rest),
            }
        }
        None => false,
    }
}

/// The stem of legacy bytecode beside a source (`foo.pyc`, `foo.pyo`, `foo$py.class`).
pub fn legacy_stem(name: &[u8]) -> Option<&[u8]> {
    LEGACY_SUFFIXES.iter().find_map(|suffix| name.strip_suffix(*suffix)).filter(|stem| !stem.is_empty())
}

/// The stem of a source file name (`foo.bar.py` → `foo.bar`).
pub fn source_stem(name: &[u8]) -> Option<&[u8]> {
    name.strip_suffix(SOURCE_SUFFIX).filter(|stem| !stem.is_empty())
}

/// The cache file name importlib uses for `stem` under `tag` at `optimization`.
pub fn cache_file_name(stem: &[u8], tag: &str, optimization: u8) -> Vec<u8> {
    let mut name = stem.to_vec();
    name.push(b'.');
    name.extend_from_slice(tag.as_bytes());
    if optimization > 0 {
        name.extend_from_slice(format!(".opt-{optimization}").as_bytes());
    }
    name.extend_from_slice(b".pyc");
    name
}

/// Where a cache lives: beside the sources, or in a `PYTHONPYCACHEPREFIX` mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheLocation {
    /// `<dir>/__pycache__/`.
    Pycache,
    /// `<prefix>/<absolute dir without its root>/`, as `importlib` computes it.
    Prefix(PathBuf),
}

/// The folder that holds the caches of the sources in `source_dir` (absolute).
pub fn cache_dir(source_dir: &Path, location: &CacheLocation) -> PathBuf {
    match location {
        CacheLocation::Pycache => source_dir.join(PYCACHE),
        CacheLocation::Prefix(prefix) => {
            let relative = source_dir.strip_prefix("/").unwrap_or(source_dir);
            prefix.join(relative)
        }
    }
}

/// The cache file of `source` (absolute) under `tag` at `optimization`.
pub fn cache_path(source: &Path, tag: &str, optimization: u8, location: &CacheLocation) -> Option<PathBuf> {
    let name = source.file_name()?.as_bytes();
    let stem = source_stem(name)?;
    let dir = cache_dir(source.parent()?, location);
    Some(dir.join(OsStr::from_bytes(&cache_file_name(stem, tag, optimization))))
}

/// The source folder a prefix-tree folder mirrors, if it lies under `prefix`.
pub fn source_dir_of_prefix_dir(prefix: &Path, mirror_dir: &Path) -> Option<PathBuf> {
    mirror_dir.strip_prefix(prefix).ok().map(|relative| Path::new("/").join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytecode_paths_are_recognised() {
        let yes: &[&[u8]] = &[
            b"m.pyc",
            b"pkg/m.pyo",
            b"pkg/m$py.class",
            b"__pycache__/m.cpython-312.pyc",
            b"pkg/sub/__pycache__/m.cpython-312.opt-1.pyc",
            b"pkg/__pycache__/notes.txt",
            b"pkg/__pycache__",
            b"a/__pycache__/",
        ];
        let no: &[&[u8]] = &[
            b"m.py",
            b"m.pyd",
            b"app.pyz",
            b"pyc",
            b"m.pyc.txt",
            b"__pycache__x/m.py",
            b"x__pycache__/m.py",
            b"m.class",
            b"docs/pyc/README",
        ];
        for path in yes {
            assert!(is_bytecode_path(path), "{}", path.as_bstr());
        }
        for path in no {
            assert!(!is_bytecode_path(path), "{}", path.as_bstr());
        }
    }

    #[test]
    fn cached_files_match_the_longest_existing_stem() {
        let sources: &[&[u8]] = &[b"foo", b"foo.bar", b"test_x"];
        let has = |stem: &[u8]| sources.contains(&stem);
        let cache = |stem: &'static [u8], tag: &'static [u8], optimization, pytest| CachedFile::Cache {
            stem,
            suffix: CacheSuffix { tag, optimization, pytest },
        };
        let cases: Vec<(&[u8], CachedFile)> = vec![
            (b"foo.cpython-312.pyc", cache(b"foo", b"cpython-312", None, false)),
            (b"foo.bar.cpython-312.pyc", cache(b"foo.bar", b"cpython-312", None, false)),
            (b"foo.cpython-312.opt-2.pyc", cache(b"foo", b"cpython-312", Some(2), false)),
            (b"test_x.cpython-311-pytest-8.3.2.pyc", cache(b"test_x", b"cpython-311", None, true)),
            (b"foo.cpython-34.pyo", cache(b"foo", b"cpython-34", None, false)),
            (
                b"gone.cpython-312.pyc",
                CachedFile::Orphan {
                    stem: b"gone",
                    suffix: CacheSuffix { tag: b"cpython-312", optimization: None, pytest: false },
                },
            ),
            (b"foo.cpython-312.pyc.139887", CachedFile::Temporary),
            (b"notes.txt", CachedFile::Unknown),
            (b".pyc", CachedFile::OddBytecode),
        ];
        for (name, expected) in cases {
            assert_eq!(classify_cached(name, has), expected, "{}", name.as_bstr());
        }
    }

    #[test]
    fn cache_paths_follow_importlib() {
        let source = Path::new("/repo/pkg/foo.bar.py");
        assert_eq!(
            cache_path(source, "cpython-312", 0, &CacheLocation::Pycache).unwrap(),
            Path::new("/repo/pkg/__pycache__/foo.bar.cpython-312.pyc")
        );
        assert_eq!(
            cache_path(source, "cpython-312", 1, &CacheLocation::Prefix("/tmp/pfx".into())).unwrap(),
            Path::new("/tmp/pfx/repo/pkg/foo.bar.cpython-312.opt-1.pyc")
        );
        assert_eq!(cache_path(Path::new("/repo/.py"), "cpython-312", 0, &CacheLocation::Pycache), None);
        assert_eq!(
            source_dir_of_prefix_dir(Path::new("/tmp/pfx"), Path::new("/tmp/pfx/repo/pkg")).unwrap(),
            Path::new("/repo/pkg")
        );
    }

    #[test]
    fn legacy_and_source_stems() {
        assert_eq!(legacy_stem(b"foo.pyc"), Some(&b"foo"[..]));
        assert_eq!(legacy_stem(b"foo$py.class"), Some(&b"foo"[..]));
        assert_eq!(legacy_stem(b"foo.pyd"), None);
        assert_eq!(legacy_stem(b".pyc"), None);
        assert_eq!(source_stem(b"foo.bar.py"), Some(&b"foo.bar"[..]));
        assert!(is_temporary_name(b"m.cpython-312.pyc.1234"));
        assert!(!is_temporary_name(b"m.cpython-312.pyc.12a"));
        assert!(is_temporary_name(b"m.cpython-312.pyc.4242000001.140234"));
        assert!(!is_temporary_name(b"m.cpython-312.pyc.1.2.3"));
        assert!(!is_temporary_name(b"m.cpython-312.pyc.1."));
    }
}
