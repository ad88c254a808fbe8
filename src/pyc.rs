//! `.pyc` headers: reading them, and judging them against a source exactly as
//! importlib does (`SourceLoader.get_code` in
//! `Lib/importlib/_bootstrap_external.py`).
//!
//! Since CPython 3.7 (PEP 552) the header is 16 bytes: the magic number, a
//! flags word, then either the source's mtime and size (timestamp pycs) or an
//! 8-byte SipHash of the source (hash-based pycs). From 3.3 to 3.6 it is 12
//! bytes with no flags. The hash is `_imp.source_hash(MAGIC, source)`:
//! SipHash-2-4 keyed with the magic number up to 3.10, SipHash-1-3 from 3.11.

use std::hash::Hasher;
use std::io::Read;
use std::path::Path;

/// Magic numbers of CPython 3.x lie in this range; Python 2's are far above it.
const PY3_MAGIC: std::ops::Range<u16> = 3000..20000;
/// The first magic with a 12-byte header (source size added, Python 3.3).
const FIRST_WITH_SIZE: u16 = 3210;
/// The first magic with PEP 552 flags (Python 3.7a4).
const FIRST_WITH_FLAGS: u16 = 3392;
/// The first magic whose source hash uses SipHash-1-3 (Python 3.11a1).
const FIRST_SIPHASH13: u16 = 3450;

/// How a pyc is tied to its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validation {
    /// Source mtime (whole seconds) and size, both truncated to 32 bits.
    Timestamp {
        /// `int(st_mtime) & 0xFFFFFFFF`.
        mtime: u32,
        /// `st_size & 0xFFFFFFFF`.
        size: u32,
    },
    /// Hash-based, checked against the source on import.
    CheckedHash([u8; 8]),
    /// Hash-based, never checked on import by default.
    UncheckedHash([u8; 8]),
}

/// The invalidation modes of `py_compile.PycInvalidationMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvalidationMode {
    /// `TIMESTAMP`.
    Timestamp,
    /// `CHECKED_HASH`.
    CheckedHash,
    /// `UNCHECKED_HASH`.
    UncheckedHash,
}

impl InvalidationMode {
    /// The name `py_compile.PycInvalidationMode` uses.
    pub fn python_name(self) -> &'static str {
        match self {
            InvalidationMode::Timestamp => "TIMESTAMP",
            InvalidationMode::CheckedHash => "CHECKED_HASH",
            InvalidationMode::UncheckedHash => "UNCHECKED_HASH",
        }
    }
}

/// A parsed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The 16-bit magic number (the first two bytes, little-endian).
    pub magic: u16,
    /// How it is validated.
    pub validation: Validation,
}

impl Header {
    /// The invalidation mode the file was written with.
    pub fn mode(&self) -> InvalidationMode {
        match self.validation {
            Validation::Timestamp { .. } => InvalidationMode::Timestamp,
            Validation::CheckedHash(_) => InvalidationMode::CheckedHash,
            Validation::UncheckedHash(_) => InvalidationMode::UncheckedHash,
        }
    }
}

/// Why a header could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Fewer bytes than the header needs (an empty or truncated file).
    #[error("truncated header ({0} bytes)")]
    Truncated(usize),
    /// Not a CPython 3 magic number followed by `\r\n`.
    #[error("not a CPython 3 bytecode file (magic {0:02x?})")]
    BadMagic([u8; 4]),
    /// Flags importlib rejects.
    #[error("invalid flags {0:#x}")]
    BadFlags(u32),
    /// Written by CPython 3.2 or older, whose header importlib 3 no longer reads.
    #[error("written by CPython 3.2 or older")]
    TooOld,
}

/// Bytes needed to parse any header.
pub const HEADER_LEN: usize = 16;

/// Parses the first bytes of a pyc.
pub fn parse_header(data: &[u8]) -> Result<Header, HeaderError> {
    let word = |at: usize| data.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let Some(raw_magic) = data.get(..4) else { return Err(HeaderError::Truncated(data.len())) };
    let magic = u16::from_le_bytes([raw_magic[0], raw_magic[1]]);
    if &raw_magic[2..] != b"\r\n" || !PY3_MAGIC.contains(&magic) {
        return Err(HeaderError::BadMagic([raw_magic[0], raw_magic[1], raw_magic[2], raw_magic[3]]));
    }
    if magic < FIRST_WITH_SIZE {
        return Err(HeaderError::TooOld);
    }
    let truncated = || HeaderError::Truncated(data.len());
    if magic < FIRST_WITH_FLAGS {
        let (mtime, size) = (word(4).ok_or_else(truncated)?, word(8).ok_or_else(truncated)?);
        return Ok(Header { magic, validation: Validation::Timestamp { mtime, size } });
    }
    let flags = word(4).ok_or_else(truncated)?;
    let rest: [u8; 8] = data.get(8..16).ok_or_else(truncated)?.try_into().map_err(|_| truncated())?;
    let validation = match flags {
        0 => Validation::Timestamp {
            mtime: u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]),
            size: u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]),
        },
        0b01 => Validation::UncheckedHash(rest),
        0b11 => Validation::CheckedHash(rest),
        other => return Err(HeaderError::BadFlags(other)),
    };
    Ok(Header { magic, validation })
}

/// Reads and parses the header of the pyc at `path`. Only a regular file is
/// read: a link, a FIFO or a device is an error, never a wait.
pub fn read_header(path: &Path) -> std::io::Result<Result<Header, HeaderError>> {
    let mut buffer = [0u8; HEADER_LEN];
    let mut file = crate::safe_fs::open_regular(path)?;
    let mut filled = 0;
    while filled < HEADER_LEN {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(parse_header(&buffer[..filled]))
}

/// `_imp.source_hash(MAGIC, source)` of the interpreter that wrote `magic`.
pub fn source_hash(magic: u16, source: &[u8]) -> [u8; 8] {
    // `_RAW_MAGIC_NUMBER` is the four magic bytes read as a little-endian integer.
    let key = u64::from(u32::from_le_bytes([magic.to_le_bytes()[0], magic.to_le_bytes()[1], b'\r', b'\n']));
    let hash = if magic >= FIRST_SIPHASH13 {
        let mut hasher = siphasher::sip::SipHasher13::new_with_keys(key, 0);
        hasher.write(source);
        hasher.finish()
    } else {
        let mut hasher = siphasher::sip::SipHasher24::new_with_keys(key, 0);
        hasher.write(source);
        hasher.finish()
    };
    hash.to_le_bytes()
}

/// `int(os.stat(path).st_mtime)` as Python computes it: seconds plus
/// nanoseconds as a double, truncated toward zero. Near the end of a second the
/// double rounds up, and so does Python.
pub fn python_mtime(seconds: i64, nanoseconds: i64) -> i64 {
    (seconds as f64 + nanoseconds as f64 * 1e-9).trunc() as i64
}

/// What importlib would do with a pyc for the source as it is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// The header validates: importlib would load this bytecode.
    Valid,
    /// The header does not validate: importlib would recompile.
    Stale,
    /// Never checked against the source (unchecked-hash): importlib loads it whatever the source says.
    Unchecked,
}

/// The facts about a source that importlib looks at.
#[derive(Clone, Copy, Debug)]
pub struct SourceStat {
    /// `int(st_mtime)`.
    pub mtime: i64,
    /// `st_size`.
    pub size: u64,
}

impl SourceStat {
    /// Stats a source file.
    pub fn of(path: &Path) -> std::io::Result<SourceStat> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs_err::metadata(path)?;
        Ok(SourceStat { mtime: python_mtime(meta.mtime(), meta.mtime_nsec()), size: meta.size() })
    }
}

/// Judges a header as importlib does (`_imp.check_hash_based_pycs == 'default'`).
/// `source_bytes` is called only for checked-hash pycs.
pub fn freshness(
    header: &Header,
    stat: SourceStat,
    source_bytes: impl FnOnce() -> std::io::Result<Vec<u8>>,
) -> std::io::Result<Freshness> {
    Ok(match header.validation {
        Validation::Timestamp { mtime, size } => {
            let valid =
                u64::from(mtime) == (stat.mtime as u64 & 0xFFFF_FFFF) && u64::from(size) == (stat.size & 0xFFFF_FFFF);
            if valid { Freshness::Valid } else { Freshness::Stale }
        }
        Validation::CheckedHash(hash) => {
            if source_hash(header.magic, &source_bytes()?) == hash {
                Freshness::Valid
            } else {
                Freshness::Stale
            }
        }
        Validation::UncheckedHash(_) => Freshness::Unchecked,
    })
}

/// The length of the header an interpreter with `magic` writes: 16 bytes
/// from 3.7, 12 from 3.3 (0 for a magic this module does not read).
pub fn header_len(magic: u16) -> usize {
    match magic {
        m if !PY3_MAGIC.contains(&m) || m < FIRST_WITH_SIZE => 0,
        m if m < FIRST_WITH_FLAGS => 12,
        _ => HEADER_LEN,
    }
}

/// The header `py_compile` writes with `mode` for a source with `stat` and
/// these bytes, for an interpreter with `magic` (`_code_to_timestamp_pyc` and
/// `_code_to_hash_pyc` in `_bootstrap_external.py`). Before 3.7 every pyc is
/// a timestamp pyc (py_compile has no modes), and a magic this module does
/// not read gives `None`.
pub fn header_for(magic: u16, mode: InvalidationMode, stat: SourceStat, source: &[u8]) -> Option<Vec<u8>> {
    let length = header_len(magic);
    if length == 0 {
        return None;
    }
    let mut header = magic.to_le_bytes().to_vec();
    header.extend_from_slice(b"\r\n");
    if length == HEADER_LEN {
        let flags: u32 = match mode {
            InvalidationMode::Timestamp => 0,
            InvalidationMode::UncheckedHash => 0b01,
            InvalidationMode::CheckedHash => 0b11,
        };
        header.extend_from_slice(&flags.to_le_bytes());
        if mode != InvalidationMode::Timestamp {
            header.extend_from_slice(&source_hash(magic, source));
            return Some(header);
        }
    }
    header.extend_from_slice(&((stat.mtime as u64 & 0xFFFF_FFFF) as u32).to_le_bytes());
    header.extend_from_slice(&((stat.size & 0xFFFF_FFFF) as u32).to_le_bytes());
    Some(header)
}

/// True when an interpreter with this magic number writes hash-based pycs (PEP 552, 3.7).
pub fn supports_hash_pycs(magic: u16) -> bool {
    magic >= FIRST_WITH_FLAGS
}

/// What [`settle_racy`] did with a checked-hash cache written for a racy source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Rewritten as the timestamp pyc `py_compile` would write today.
    Rewritten,
    /// The source was modified in this very second: try again later.
    StillRacy,
    /// The cache no longer is that checked-hash pyc of this source (the
    /// source changed, Python or a rebuild rewrote it, it is gone): nothing
    /// to do here, and a stale one is left to the rebuild or to Python.
    Gone,
}

/// Rewrites a checked-hash cache that was written for a racy source as a
/// timestamp pyc, once the source's second has passed.
///
/// The body of a pyc (`marshal.dumps(code)`) does not depend on the
/// invalidation mode: `py_compile` writes the same bytes after either
/// header, so only the 16-byte header changes and no interpreter is started.
/// The content is verified first (the hash in the header against the source
/// bytes), and the source is stat-ed before and after reading it, so that a
/// write in between is never stamped as fresh. A source whose whole-second
/// mtime is before `now` cannot be rewritten unseen any more: any later
/// write gets a later second, which the timestamp header then rejects.
pub fn settle_racy(
    roots: &crate::safe_fs::Roots,
    cache: &Path,
    source: &Path,
    now: i64,
    is_tracked: &dyn Fn(&Path) -> bool,
) -> std::io::Result<Settled> {
    use std::os::unix::fs::MetadataExt;
    let identity = |meta: &std::fs::Metadata| {
        (meta.mtime(), meta.mtime_nsec(), meta.ctime(), meta.ctime_nsec(), meta.size(), meta.ino())
    };
    let Ok(before) = fs_err::metadata(source) else { return Ok(Settled::Gone) };
    if python_mtime(before.mtime(), before.mtime_nsec()) >= now {
        return Ok(Settled::StillRacy);
    }
    // A tracked cache is never rewritten, and the cache is reached the way
    // every write is: from the work tree (or prefix) one component at a
    // time, so a folder git replaced by a link since the compile is not
    // followed.
    if is_tracked(cache) {
        return Ok(Settled::Gone);
    }
    let Ok((folder, name)) = roots.open_parent(cache) else { return Ok(Settled::Gone) };
    let Ok(mut file) = folder.open_file(name) else { return Ok(Settled::Gone) };
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut data)?;
    let Ok(header) = parse_header(&data) else { return Ok(Settled::Gone) };
    let Validation::CheckedHash(hash) = header.validation else { return Ok(Settled::Gone) };
    if data.len() < HEADER_LEN || source_hash(header.magic, &crate::safe_fs::read_source(source)?) != hash {
        return Ok(Settled::Gone);
    }
    let after = fs_err::metadata(source)?;
    if identity(&after) != identity(&before) {
        return Ok(Settled::Gone);
    }
    let mtime = python_mtime(after.mtime(), after.mtime_nsec()) as u64 & 0xFFFF_FFFF;
    let mut rewritten = data[..4].to_vec();
    rewritten.extend_from_slice(&0u32.to_le_bytes());
    rewritten.extend_from_slice(&(mtime as u32).to_le_bytes());
    rewritten.extend_from_slice(&((after.size() & 0xFFFF_FFFF) as u32).to_le_bytes());
    rewritten.extend_from_slice(&data[HEADER_LEN..]);
    let permissions = file.metadata()?.permissions();
    let staged = crate::safe_fs::Staged::prepare(roots, cache, 0).map_err(std::io::Error::other)?;
    let written = staged.create(0o600).and_then(|mut temporary| {
        std::io::Write::write_all(&mut temporary, &rewritten)?;
        temporary.set_permissions(permissions)
    });
    if let Err(error) = written {
        staged.discard();
        return Err(error);
    }
    staged.commit().map_err(std::io::Error::other)?;
    Ok(Settled::Rewritten)
}

/// One look at a cache and its source: the cache's header and both files'
/// stats, read once, for every judgement below. A deferring hook asks
/// several of them about each cache it meets; reading again for each was the
/// larger part of its system calls.
#[derive(Clone, Copy, Debug)]
pub struct Observed {
    /// The header, when the cache is a regular file with one that parses.
    header: Option<Header>,
    /// When the cache was last written (nanoseconds), from its `lstat`.
    cache_written: Option<i128>,
    /// The source as importlib stats it (following a final link), and when
    /// it was last written (nanoseconds).
    source: Option<(SourceStat, i128)>,
}

/// The latest change (nanoseconds) of any symbolic link met while resolving
/// `path`: the source itself, and every link it leads through, a folder link
/// or a chain of them (`pkg/m.py -> ../lib/m.py`, `lib -> v2`). git re-points
/// a link by writing it anew, so a cache older than any of them may describe
/// other content even when the file it resolves to kept its size and time.
/// `None` when the path does not resolve (a loop, a dangling link).
fn links_changed(path: &Path) -> Option<i128> {
    use std::path::Component;
    let mut pending: Vec<std::ffi::OsString> = path
        .components()
        .rev()
        .filter_map(|part| match part {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut reached = std::path::PathBuf::from("/");
    let (mut latest, mut followed) = (i128::MIN, 0);
    while let Some(name) = pending.pop() {
        if name == ".." {
            reached.pop();
            continue;
        }
        let next = reached.join(&name);
        let meta = fs_err::symlink_metadata(&next).ok()?;
        if !meta.file_type().is_symlink() {
            reached = next;
            continue;
        }
        followed += 1;
        if followed > 40 {
            return None;
        }
        latest = latest.max(written_at(&meta));
        let target = fs_err::read_link(&next).ok()?;
        if target.is_absolute() {
            reached = std::path::PathBuf::from("/");
        }
        for part in target.components().rev() {
            match part {
                Component::Normal(name) => pending.push(name.to_os_string()),
                Component::ParentDir => pending.push("..".into()),
                _ => {}
            }
        }
    }
    (latest != i128::MIN).then_some(latest)
}

/// Nanoseconds since the epoch of a file's last write.
fn written_at(meta: &std::fs::Metadata) -> i128 {
    use std::os::unix::fs::MetadataExt;
    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec())
}

impl Observed {
    /// Reads the header of `cache` (never through a final link, never a
    /// FIFO or device) and stats it and `source` (as importlib does, through
    /// a final link; a link's own change counts as a change of the source).
    pub fn read(cache: &Path, source: &Path) -> Observed {
        use std::os::unix::fs::MetadataExt;
        let opened = crate::safe_fs::open_regular(cache);
        let cache_written = opened.as_ref().ok().and_then(|file| file.metadata().ok()).map(|meta| written_at(&meta));
        let header = opened.ok().and_then(|mut file| {
            let mut buffer = [0u8; HEADER_LEN];
            let mut filled = 0;
            while filled < HEADER_LEN {
                match file.read(&mut buffer[filled..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => filled += n,
                }
            }
            parse_header(&buffer[..filled]).ok()
        });
        // importlib stats the source through a final link. A link git
        // re-pointed changed the source without touching either target, so
        // for a link the later of its own change and its target's counts.
        let seen = fs_err::symlink_metadata(source).ok().and_then(|own| {
            if !own.file_type().is_symlink() {
                let stat = SourceStat { mtime: python_mtime(own.mtime(), own.mtime_nsec()), size: own.size() };
                return Some((stat, written_at(&own)));
            }
            let meta = fs_err::metadata(source).ok()?;
            let stat = SourceStat { mtime: python_mtime(meta.mtime(), meta.mtime_nsec()), size: meta.size() };
            let links = links_changed(source).unwrap_or_else(|| written_at(&own));
            Some((stat, written_at(&meta).max(links)))
        });
        Observed { header, cache_written, source: seen }
    }

    /// The cache's header, when it has one that parses.
    pub fn header(&self) -> Option<Header> {
        self.header
    }

    /// True when the cache is a checked-hash pyc.
    pub fn is_checked_hash(&self) -> bool {
        matches!(self.header, Some(Header { validation: Validation::CheckedHash(_), .. }))
    }

    /// True when the cache was written no later than the source's last
    /// change (the same file-clock tick counts: it cannot be ordered).
    pub fn written_before_source(&self) -> bool {
        matches!((self.cache_written, self.source), (Some(cache), Some((_, source))) if cache <= source)
    }

    /// True when importlib would load this cache for the source as it is now,
    /// though the cache may come from older content: a timestamp header that
    /// still matches, or an unchecked hash. A matching checked hash is the same
    /// content, so it does not lie, and the source is not read for it.
    pub fn would_load(&self) -> bool {
        let (Some(header), Some((stat, _))) = (self.header, self.source) else { return false };
        match header.validation {
            Validation::CheckedHash(_) => false,
            Validation::UncheckedHash(_) => true,
            Validation::Timestamp { .. } => {
                matches!(freshness(&header, stat, || Ok(Vec::new())), Ok(Freshness::Valid))
            }
        }
    }

    /// True when the cache no longer describes its source: the header does
    /// not validate, or it validates but the file was not written after the
    /// source's last change (same second, same size: Python would run the old
    /// code; the same file-clock tick cannot be ordered, so it counts too).
    /// Only a hash-based cache makes it read `source`, to hash it: an
    /// unchecked hash is outdated exactly when it is not the source's.
    pub fn is_outdated(&self, source: &Path) -> bool {
        let (Some(header), Some((stat, _)), Some(_)) = (self.header, self.source, self.cache_written) else {
            return true;
        };
        // An unchecked hash is never compared by importlib, so nothing but
        // the hash says whether it describes these bytes: compared here.
        if let Validation::UncheckedHash(hash) = header.validation {
            return crate::safe_fs::read_source(source).map_or(true, |bytes| source_hash(header.magic, &bytes) != hash);
        }
        match freshness(&header, stat, || crate::safe_fs::read_source(source)) {
            Ok(Freshness::Stale) | Err(_) => true,
            Ok(Freshness::Valid | Freshness::Unchecked) => {
                matches!(header.validation, Validation::Timestamp { .. }) && self.written_before_source()
            }
        }
    }
}

/// [`Observed::would_load`] of one fresh look at `cache` and `source`.
pub fn would_load(cache: &Path, source: &Path) -> bool {
    Observed::read(cache, source).would_load()
}

/// [`Observed::is_outdated`] of one fresh look at `cache` and `source`.
pub fn is_outdated(cache: &Path, source: &Path) -> bool {
    Observed::read(cache, source).is_outdated(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_headers_parse_back_as_what_they_were_made_for() {
        let stat = SourceStat { mtime: 0x1_2345_6789, size: 0x1_0000_0010 };
        let source = b"x = 1\n";
        for (magic, mode, expected, length) in [
            (3495, InvalidationMode::Timestamp, Validation::Timestamp { mtime: 0x2345_6789, size: 0x10 }, 16),
            (3495, InvalidationMode::CheckedHash, Validation::CheckedHash(source_hash(3495, source)), 16),
            (3495, InvalidationMode::UncheckedHash, Validation::UncheckedHash(source_hash(3495, source)), 16),
            // 3.6: 12 bytes, and py_compile has no modes.
            (3379, InvalidationMode::CheckedHash, Validation::Timestamp { mtime: 0x2345_6789, size: 0x10 }, 12),
        ] {
            let made = header_for(magic, mode, stat, source).unwrap();
            assert_eq!(made.len(), length);
            assert_eq!(header_len(magic), length);
            assert_eq!(parse_header(&[&made[..], &[0u8; 4]].concat()), Ok(Header { magic, validation: expected }));
        }
        assert_eq!(header_for(62211, InvalidationMode::Timestamp, stat, source), None, "Python 2.7");
    }

    fn header(magic: u16, flags: u32, rest: [u8; 8]) -> Vec<u8> {
        let mut data = magic.to_le_bytes().to_vec();
        data.extend_from_slice(b"\r\n");
        data.extend_from_slice(&flags.to_le_bytes());
        data.extend_from_slice(&rest);
        data
    }

    #[test]
    fn headers_of_every_layout_parse() {
        let rest = [1, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(
            parse_header(&header(3531, 0, rest)).unwrap().validation,
            Validation::Timestamp { mtime: 1, size: 2 }
        );
        assert_eq!(parse_header(&header(3531, 3, rest)).unwrap().validation, Validation::CheckedHash(rest));
        assert_eq!(parse_header(&header(3531, 1, rest)).unwrap().validation, Validation::UncheckedHash(rest));
        // 3.6: magic, mtime, size; no flags.
        let mut old = 3379u16.to_le_bytes().to_vec();
        old.extend_from_slice(b"\r\n\x05\0\0\0\x06\0\0\0");
        assert_eq!(parse_header(&old).unwrap().validation, Validation::Timestamp { mtime: 5, size: 6 });
    }

    #[test]
    fn bad_headers_are_errors() {
        let rest = [0; 8];
        assert_eq!(parse_header(b""), Err(HeaderError::Truncated(0)));
        assert_eq!(parse_header(&header(3531, 0, rest)[..10]), Err(HeaderError::Truncated(10)));
        assert!(matches!(parse_header(b"garbage garbage!"), Err(HeaderError::BadMagic(_))));
        assert!(matches!(parse_header(&header(62211, 0, rest)), Err(HeaderError::BadMagic(_))), "Python 2.7");
        assert_eq!(parse_header(&header(3531, 4, rest)), Err(HeaderError::BadFlags(4)));
        assert_eq!(parse_header(&header(3180, 0, rest)), Err(HeaderError::TooOld));
        // A future magic number still parses: a newer CPython wrote it.
        assert!(parse_header(&header(3999, 0, rest)).is_ok());
    }

    #[test]
    fn source_hash_matches_cpython() {
        // `_imp.source_hash(int.from_bytes(MAGIC_NUMBER, 'little'), b'hello world').hex()`
        let cases: [(u16, &str); 5] = [
            (3394, "d1723e7c4adc3f1f"), // 3.7
            (3413, "5beee8f4f1a8e594"), // 3.8
            (3495, "f33abdc50816ac07"), // 3.11
            (3531, "808a64c47ed335a1"), // 3.12
            (3571, "6fa38a80154e48e4"), // 3.13
        ];
        for (magic, expected) in cases {
            let hex: String = source_hash(magic, b"hello world").iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, expected, "magic {magic}");
        }
    }

    #[test]
    fn python_mtime_rounds_like_a_double() {
        assert_eq!(python_mtime(1_700_000_000, 500_000_000), 1_700_000_000);
        assert_eq!(python_mtime(1_795_630_712, 999_999_999), 1_795_630_713);
        assert_eq!(python_mtime(-2, 500_000_000), -1);
    }
}
