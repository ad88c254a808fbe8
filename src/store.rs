//! The store of compiled code: the body of every `.pyc` an interpreter wrote
//! for us, keyed by exactly what determines it, so that a state seen before
//! (a branch you return to, a rebase that replays the same files) writes its
//! caches without starting an interpreter.
//!
//! # Where
//!
//! `<common git folder>/pycache-guard/store/<2 hex>/<62 hex>`: the common
//! folder (`git rev-parse --git-common-dir`) is shared by linked worktrees,
//! so a worktree gets the entries another compiled at the same paths (and
//! every worktree the entries of files outside the work tree's own paths
//! never collide, since the path is in the key). Every folder on the way is
//! opened from the common folder with [`crate::safe_fs::Dir`]: a link or a
//! file in place of `pycache-guard`, `store` or a fan-out folder is refused,
//! and the store is then simply not used.
//!
//! # The key
//!
//! The body of a pyc is `marshal.dumps(compile(source, co_filename, "exec",
//! dont_inherit=True, optimize=level))` (`py_compile.compile` →
//! `SourceLoader.source_to_code`); the header around it does not enter the
//! body. So the key is a SHA-256 over, length-prefixed:
//! - the interpreter's magic number, cache tag and full `major.minor.micro`
//!   version (the magic alone would do for the format; the version also
//!   keeps a patch release that fixes the compiler from reusing old code);
//! - the optimisation level;
//! - the locale the workers inherit (`LANG`, `LC_ALL`, `LC_CTYPE`), which
//!   decides how the path's bytes decode into `co_filename`;
//! - the path compiled in, the absolute source path the workers are given:
//!   `co_filename` is part of the body, and although importlib rewrites it on
//!   load (`_imp._fix_co_filename`), keying by it means a restored `.pyc` is
//!   byte for byte what the interpreter writes there, tracebacks and
//!   `compileall`-style checks included. Worktrees at other paths therefore
//!   do not share entries; that is the safe default;
//! - the exact source bytes.
//!
//! # Never trusted blindly
//!
//! An entry holds a format line, the key it was written for, the magic
//! number, the body's length and the body's SHA-256, then the body. An entry
//! whose any part disagrees (truncated, another key, another magic, a bad
//! checksum, larger than the bound) is removed and the source compiled.
//! Entries are written to a temporary name in their folder and renamed into
//! place, so a reader sees a whole entry or none, and two rebuilds that fill
//! the same key write the same bytes. Only what the interpreter wrote is
//! stored, and only when its header proves it was compiled from the bytes
//! the key names ([`fill`]).
//!
//! # Bounded
//!
//! [`DEFAULT_LIMIT`] bytes, `git config pycache-guard.storeSize` to change
//! (`0` turns the store off). Using an entry sets its mtime, so eviction
//! removes the least recently used entries first, down to three quarters of
//! the limit, so that the next rebuilds do not evict again at once. The
//! store is measured only after a rebuild added entries, that is after an
//! interpreter ran anyway.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use crate::interpreter::Info;
use crate::pyc::{self, InvalidationMode};
use crate::safe_fs::{Dir, Kind, Roots, SafeError, Staged};

/// 256 MiB: a pyc body is about twice its source, so this holds the compiled
/// code of a project the size of sympy (about 30 MiB per interpreter and
/// level) for several branches and two or three interpreters, while staying
/// small beside the object store of such a repository.
pub const DEFAULT_LIMIT: u64 = 256 << 20;

/// The first line of every entry this version writes.
const FORMAT: &[u8] = b"pycache-guard store 1\n";
/// Format line, key, magic, body length, body checksum.
const ENTRY_HEADER_LEN: usize = FORMAT.len() + 32 + 2 + 8 + 32;
/// No entry is read past this, whatever the file's size claims.
const MAX_ENTRY: u64 = 64 << 20;
/// An interrupted write's temporary file older than this (an hour, in
/// nanoseconds) is removed by eviction.
const STALE_TEMPORARY: i64 = 3600 * 1_000_000_000;

/// What determines the bytes of a pyc body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

impl Key {
    /// The key of compiling `source` (its exact bytes) at `co_filename` with `interpreter` at `optimize`.
    pub fn new(interpreter: &Info, optimize: u8, co_filename: &Path, source: &[u8]) -> Key {
        let mut hasher = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(b"pycache-guard store key 1");
        field(&interpreter.magic.to_le_bytes());
        field(interpreter.cache_tag.as_bytes());
        field(interpreter.version.as_bytes());
        field(&[optimize]);
        // The locale the workers inherit (`crate::env::locale`).
        for value in crate::env::locale_values() {
            field(value.as_deref().map_or(b"\xff".as_slice(), |value| value.as_encoded_bytes()));
        }
        field(co_filename.as_os_str().as_encoded_bytes());
        field(source);
        Key(hasher.finalize().into())
    }

    fn hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// How much the store holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    /// Entries.
    pub entries: u64,
    /// Bytes, entry headers included.
    pub bytes: u64,
}

/// The store of one repository (all its worktrees).
#[derive(Debug)]
pub struct Store {
    /// The common git folder: the trusted root the store is reached from.
    root: PathBuf,
    /// `<root>/pycache-guard/store`.
    dir: PathBuf,
    /// The size limit in bytes.
    limit: u64,
    /// Entries written by this process, for eviction and temporary names.
    written: AtomicUsize,
}

impl Store {
    /// The store under `common_dir`, limited to `limit` bytes.
    pub fn new(common_dir: &Path, limit: u64) -> Store {
        let dir = crate::state::dir(common_dir).join("store");
        Store { root: common_dir.to_path_buf(), dir, limit, written: AtomicUsize::new(0) }
    }

    /// The size limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The store's folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn fanout(&self, key: &Key) -> (PathBuf, OsString) {
        let hex = key.hex();
        (self.dir.join(&hex[..2]), OsString::from(&hex[2..]))
    }

    /// The body stored for `key`, written by an interpreter with `magic`.
    /// A damaged entry is removed and `None` returned: the caller compiles.
    pub fn lookup(&self, key: &Key, magic: u16) -> Option<Vec<u8>> {
        let (folder, name) = self.fanout(key);
        let dir = Dir::open_beneath(&self.root, &folder).ok()?;
        let mut file = dir.open_file(&name).ok()?;
        let mut data = Vec::new();
        if (&mut file).take(MAX_ENTRY + 1).read_to_end(&mut data).is_err() {
            return None;
        }
        match parse_entry(&data, key, magic) {
            Some(body) => {
                // Least recently *used*: a hit counts as a use. A failure only costs order.
                let _ = file.set_modified(std::time::SystemTime::now());
                Some(body.to_vec())
            }
            None => {
                let _ = dir.remove_file(&name);
                None
            }
        }
    }

    /// Stores `body` for `key` atomically (a temporary name, then a rename).
    pub fn insert(&self, key: &Key, magic: u16, body: &[u8]) -> std::io::Result<()> {
        let (folder, name) = self.fanout(key);
        let dir = Dir::create_beneath(&self.root, &folder).map_err(std::io::Error::other)?;
        let unique = self.written.fetch_add(1, Ordering::Relaxed);
        let temporary = OsString::from(format!(".tmp-{}-{unique}", std::process::id()));
        let mut file = dir.create_file(&temporary)?;
        let written = file.write_all(&render_entry(key, magic, body)).and_then(|()| file.flush());
        let renamed = written.and_then(|()| dir.rename(&temporary, &name));
        if renamed.is_err() {
            let _ = dir.remove_file(&temporary);
        }
        renamed
    }

    /// Entries written by this process so far.
    pub fn written(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    /// Every entry (and leftover temporary file) with its size and mtime.
    fn listing(&self) -> Listing {
        let mut listing = Listing::default();
        let Ok(store) = Dir::open_beneath(&self.root, &self.dir) else { return listing };
        for (name, kind) in store.entries().unwrap_or_default() {
            if kind != Kind::Dir || name.len() != 2 {
                continue;
            }
            let Ok(folder) = store.child(&name) else { continue };
            for (name, kind) in folder.entries().unwrap_or_default() {
                if kind == Kind::File
                    && let Some((size, mtime)) = folder.size_and_mtime(&name)
                {
                    listing.entries.push(Entry { folder: listing.folders.len(), name, size, mtime });
                }
            }
            listing.folders.push(folder);
        }
        listing
    }

    /// How much the store holds now.
    pub fn usage(&self) -> Usage {
        let listing = self.listing();
        Usage { entries: listing.entries.len() as u64, bytes: listing.entries.iter().map(|entry| entry.size).sum() }
    }

    /// Removes the least recently used entries while the store exceeds its
    /// limit, down to three quarters of it, and interrupted writes' leftovers.
    /// Returns what was removed.
    pub fn evict(&self) -> Usage {
        let Listing { folders, mut entries } = self.listing();
        let now = crate::record::now_nanos();
        let mut removed = Usage::default();
        let mut remove = |entry: &Entry| {
            if folders[entry.folder].remove_file(&entry.name).is_ok() {
                removed.entries += 1;
                removed.bytes += entry.size;
            }
        };
        entries.retain(|entry| {
            let temporary = entry.name.as_encoded_bytes().starts_with(b".tmp-");
            if temporary && now - entry.mtime > STALE_TEMPORARY {
                remove(entry);
            }
            !temporary
        });
        let mut total: u64 = entries.iter().map(|entry| entry.size).sum();
        if total <= self.limit {
            return removed;
        }
        let target = self.limit / 4 * 3;
        entries.sort_by_key(|entry| entry.mtime);
        for entry in &entries {
            if total <= target {
                break;
            }
            remove(entry);
            total = total.saturating_sub(entry.size);
        }
        removed
    }

    /// Empties the store (`clean --store`), and says what it held.
    pub fn clear(&self) -> Result<Usage, SafeError> {
        let store = match Dir::open_beneath(&self.root, &self.dir) {
            Err(SafeError::Missing(_)) => return Ok(Usage::default()),
            other => other?,
        };
        let Listing { folders, entries } = self.listing();
        let mut removed = Usage::default();
        for entry in &entries {
            let folder = &folders[entry.folder];
            folder.remove_file(&entry.name).map_err(|error| SafeError::Io(folder.path().join(&entry.name), error))?;
            removed.entries += 1;
            removed.bytes += entry.size;
        }
        for (name, kind) in store.entries().unwrap_or_default() {
            if kind == Kind::Dir {
                let _ = store.remove_dir(&name);
            }
        }
        Ok(removed)
    }
}

/// The store's files, by fan-out folder.
#[derive(Debug, Default)]
struct Listing {
    folders: Vec<Dir>,
    entries: Vec<Entry>,
}

/// One file of the store.
#[derive(Debug)]
struct Entry {
    /// Index into [`Listing::folders`].
    folder: usize,
    name: OsString,
    size: u64,
    /// Nanoseconds; set on every use.
    mtime: i64,
}

/// The git config key that sets the size limit.
pub const SIZE_KEY: &str = "pycache-guard.storeSize";

/// A size as `git config --type=int` reads it: a whole number of bytes with
/// an optional `k`, `m` or `g` suffix (powers of 1024).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, factor) = match text.char_indices().last()? {
        (at, 'k' | 'K') => (&text[..at], 1u64 << 10),
        (at, 'm' | 'M') => (&text[..at], 1 << 20),
        (at, 'g' | 'G') => (&text[..at], 1 << 30),
        _ => (text, 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

fn render_entry(key: &Key, magic: u16, body: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(ENTRY_HEADER_LEN + body.len());
    data.extend_from_slice(FORMAT);
    data.extend_from_slice(&key.0);
    data.extend_from_slice(&magic.to_le_bytes());
    data.extend_from_slice(&(body.len() as u64).to_le_bytes());
    data.extend_from_slice(&Sha256::digest(body));
    data.extend_from_slice(body);
    data
}

/// The body of an entry, when every part of it checks out.
fn parse_entry<'d>(data: &'d [u8], key: &Key, magic: u16) -> Option<&'d [u8]> {
    let rest = data.strip_prefix(FORMAT)?;
    let (stored_key, rest) = rest.split_at_checked(32)?;
    let (stored_magic, rest) = rest.split_at_checked(2)?;
    let (length, rest) = rest.split_at_checked(8)?;
    let (checksum, body) = rest.split_at_checked(32)?;
    let length = u64::from_le_bytes(length.try_into().ok()?);
    let valid = stored_key == key.0
        && stored_magic == magic.to_le_bytes()
        && length == body.len() as u64
        && Sha256::digest(body).as_slice() == checksum;
    valid.then_some(body)
}

/// A source as read for a key: its bytes and the stat importlib compares.
#[derive(Debug)]
pub struct Snapshot {
    /// The exact bytes.
    pub bytes: Vec<u8>,
    /// What the header of a timestamp pyc records.
    pub stat: pyc::SourceStat,
    /// The permission bits (`py_compile` gives the pyc the source's, less execute).
    pub mode: u32,
    /// When it was read, in whole seconds.
    pub taken: i64,
    /// Its stat when read, to tell a later write apart.
    identity: SourceIdentity,
}

/// What tells a source's content apart without reading it: its stat as git
/// keeps it (times to the nanosecond, size, inode).
pub type SourceIdentity = (i64, i64, i64, i64, u64, u64);

/// The [`SourceIdentity`] of `source` now (following a final link), or
/// `None` when it is gone.
pub fn source_identity(source: &Path) -> Option<SourceIdentity> {
    fs_err::metadata(source).ok().map(|meta| identity_of(&meta))
}

fn identity_of(meta: &std::fs::Metadata) -> SourceIdentity {
    (meta.mtime(), meta.mtime_nsec(), meta.ctime(), meta.ctime_nsec(), meta.size(), meta.ino())
}

impl Snapshot {
    /// Reads `source` (following a final link, as importlib does), stat-ing it
    /// before and after: a write in between gives no snapshot.
    pub fn read(source: &Path) -> std::io::Result<Snapshot> {
        let taken = crate::record::now_seconds();
        let before = fs_err::metadata(source)?;
        let bytes = crate::safe_fs::read_source(source)?;
        let after = fs_err::metadata(source)?;
        let identity = identity_of(&after);
        if identity_of(&before) != identity {
            return Err(std::io::Error::other("the source changed while it was read"));
        }
        let stat = pyc::SourceStat { mtime: pyc::python_mtime(after.mtime(), after.mtime_nsec()), size: after.size() };
        Ok(Snapshot { bytes, stat, mode: after.permissions().mode(), taken, identity })
    }

    /// True when a write in the same second with the same size could go
    /// unseen by a timestamp header made from this snapshot.
    fn is_racy(&self) -> bool {
        self.stat.mtime >= self.taken
    }
}

/// One cache to produce from the store or, failing that, by an interpreter.
#[derive(Debug)]
pub struct Request<'a> {
    /// Who would compile it.
    pub interpreter: &'a Info,
    /// The source, absolute: also the `co_filename` the workers compile in.
    pub source: &'a Path,
    /// Where the pyc goes.
    pub cfile: &'a Path,
    /// The optimisation level.
    pub optimize: u8,
    /// The invalidation mode of the header.
    pub mode: InvalidationMode,
}

/// What [`restore`] did.
#[derive(Debug)]
pub enum Restored {
    /// The pyc was written from the store.
    Written,
    /// Not in the store: compile, then [`fill`] with this key and snapshot.
    Missing(Key, Snapshot),
    /// The store cannot be used for this one (no snapshot, an interpreter
    /// older than 3.3, a racy source for a timestamp pyc): compile only.
    Unusable,
}

/// Writes `request`'s pyc from the store when it holds the key. The write
/// goes through [`Staged`] like the workers': a temporary name in a verified
/// folder, renamed into place, never through a link or over anything but a
/// regular file.
pub fn restore(store: &Store, roots: &Roots, request: &Request<'_>, unique: usize) -> Result<Restored, SafeError> {
    let Ok(snapshot) = Snapshot::read(request.source) else { return Ok(Restored::Unusable) };
    let info = request.interpreter;
    let Some(header) = pyc::header_for(info.magic, request.mode, snapshot.stat, &snapshot.bytes) else {
        return Ok(Restored::Unusable);
    };
    if request.mode == InvalidationMode::Timestamp && snapshot.is_racy() {
        return Ok(Restored::Unusable);
    }
    let key = Key::new(info, request.optimize, request.source, &snapshot.bytes);
    let Some(body) = store.lookup(&key, info.magic) else { return Ok(Restored::Missing(key, snapshot)) };
    let staged = Staged::prepare(roots, request.cfile, unique)?;
    let written = staged
        .create(snapshot.mode & 0o666)
        .and_then(|mut file| file.write_all(&header).and_then(|()| file.write_all(&body)));
    match written {
        // A source written since its snapshot (git's next command, while a
        // background rebuild restores) would get a header for bytes it no
        // longer holds: the cache is dropped, and the interpreter compiles
        // what is there now.
        Ok(()) if source_identity(request.source) != Some(snapshot.identity) => {
            staged.discard();
            Ok(Restored::Unusable)
        }
        Ok(()) => staged.commit().map(|()| Restored::Written),
        Err(error) => {
            staged.discard();
            Err(SafeError::Io(request.cfile.to_path_buf(), error))
        }
    }
}

/// Stores the body of the pyc an interpreter just wrote at `written` (the
/// staged name, before it is renamed into place), when its header proves it
/// was compiled from the snapshot's bytes: the same magic, and the same
/// source hash, or for a timestamp pyc the same mtime and size of a source
/// that was not racy when read. Anything else is not stored.
pub fn fill(store: &Store, key: &Key, snapshot: &Snapshot, magic: u16, written: &Path) -> bool {
    let Ok(file) = crate::safe_fs::open_regular(written) else { return false };
    let mut data = Vec::new();
    if file.take(MAX_ENTRY).read_to_end(&mut data).is_err() {
        return false;
    }
    let Ok(header) = pyc::parse_header(&data) else { return false };
    let proven = header.magic == magic
        && match header.validation {
            pyc::Validation::Timestamp { .. } => !snapshot.is_racy(),
            pyc::Validation::CheckedHash(_) | pyc::Validation::UncheckedHash(_) => true,
        }
        && pyc::header_for(magic, header.mode(), snapshot.stat, &snapshot.bytes)
            .is_some_and(|expected| data.starts_with(&expected));
    let length = pyc::header_len(magic);
    proven && data.len() > length && store.insert(key, magic, &data[length..]).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(magic: u16, version: &str) -> Info {
        Info {
            executable: "/usr/bin/python3".into(),
            version: version.into(),
            cache_tag: format!("cpython-{magic}"),
            magic,
        }
    }

    #[test]
    fn keys_differ_in_every_part() {
        let base = Key::new(&info(3495, "3.12.1"), 0, Path::new("/w/m.py"), b"x = 1\n");
        for other in [
            Key::new(&info(3531, "3.13.0"), 0, Path::new("/w/m.py"), b"x = 1\n"),
            Key::new(&info(3495, "3.12.2"), 0, Path::new("/w/m.py"), b"x = 1\n"),
            Key::new(&info(3495, "3.12.1"), 1, Path::new("/w/m.py"), b"x = 1\n"),
            Key::new(&info(3495, "3.12.1"), 0, Path::new("/v/m.py"), b"x = 1\n"),
            Key::new(&info(3495, "3.12.1"), 0, Path::new("/w/m.py"), b"x = 2\n"),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(base, Key::new(&info(3495, "3.12.1"), 0, Path::new("/w/m.py"), b"x = 1\n"));
    }

    #[test]
    fn damaged_entries_are_refused() {
        let key = Key([7; 32]);
        let entry = render_entry(&key, 3495, b"body bytes");
        assert_eq!(parse_entry(&entry, &key, 3495), Some(&b"body bytes"[..]));
        assert_eq!(parse_entry(&entry, &Key([8; 32]), 3495), None, "another key");
        assert_eq!(parse_entry(&entry, &key, 3531), None, "another magic");
        assert_eq!(parse_entry(&entry[..entry.len() - 1], &key, 3495), None, "truncated");
        let mut flipped = entry.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(parse_entry(&flipped, &key, 3495), None, "bad checksum");
        assert_eq!(parse_entry(b"", &key, 3495), None);
    }

    #[test]
    fn sizes_read_as_git_reads_integers() {
        for (text, size) in [("0", Some(0)), ("4096", Some(4096)), ("64k", Some(65536)), ("256M", Some(256 << 20))] {
            assert_eq!(parse_size(text), size, "{text}");
        }
        for bad in ["", "m", "-1", "1.5g", "12 MB", "99999999999999g"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }
}
