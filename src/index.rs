//! The fast index reader for hot paths.
//!
//! libgit2 takes about 95 ms to load a 100,000-entry index. `gix-index` takes
//! about 11 ms, but that still left the commit guard level with
//! `git diff --cached` (ratio 0.98 here; the goal is at most 1.0), most of it
//! spent allocating per-entry structures we do not need, and it misreads
//! entries whose path is 4,095 bytes or longer. So the index is scanned here,
//! straight from a memory map, keeping only offsets: versions 2, 3 and 4 and
//! split indexes (the `link` extension with its EWAH bitmaps, merged the way
//! git's `split-index.c` does), as described in git's
//! `Documentation/gitformat-index.txt`. `tests/index_reader.rs` checks every
//! format against `git ls-files --stage`.

use std::ops::Range;
use std::path::{Path, PathBuf};

use bstr::BStr;

/// The hash function of a repository's objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectFormat {
    /// The default.
    Sha1,
    /// `extensions.objectFormat = sha256`.
    Sha256,
}

impl ObjectFormat {
    /// Bytes in a raw object id.
    pub fn hash_len(self) -> usize {
        match self {
            ObjectFormat::Sha1 => 20,
            ObjectFormat::Sha256 => 32,
        }
    }
}

/// True for a mode git records for a file's content: a regular file
/// (`100644`, `100755`) or a symbolic link (`120000`), not a submodule
/// commit (`160000`) or a tree.
pub fn is_file_mode(mode: u32) -> bool {
    mode & 0o170000 == 0o100000 || mode == 0o120000
}

/// The index could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the git index `{path}`: {message}")]
pub struct IndexError {
    /// The index file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// Where the index is and how to read it.
#[derive(Clone, Debug)]
pub struct IndexLocation {
    /// The index file (`GIT_INDEX_FILE` or `.git/index`).
    pub path: PathBuf,
    /// The repository's hash function.
    pub format: ObjectFormat,
    /// Folders that may hold the `sharedindex.*` file of a split index, in order.
    pub shared_dirs: Vec<PathBuf>,
}

/// One entry as the tool needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry<'a> {
    /// Repository-relative path, `/`-separated.
    pub path: &'a BStr,
    /// The blob id, raw bytes.
    pub id: &'a [u8],
    /// The git file mode, such as `0o100644`.
    pub mode: u32,
    /// 0 for normal entries, 1 to 3 for conflict stages.
    pub stage: u32,
    /// The later of the entry's ctime and mtime, in nanoseconds since the
    /// epoch: when git last wrote or refreshed the file (the record's
    /// "written since").
    pub changed: i64,
    /// Recorded by `git add -N` (`CE_INTENT_TO_ADD`): the path is known but
    /// its content is not staged, so a commit does not include it.
    pub intent_to_add: bool,
}

/// A range of the mapped file or of the `extra` buffer, in 32-bit offsets so
/// that an entry of a 100,000-entry index costs 20 bytes rather than 64.
#[derive(Clone, Copy, Debug)]
struct Slot {
    start: u32,
    len: u32,
}

impl Slot {
    fn new(range: Range<usize>) -> Result<Slot, &'static str> {
        let start = u32::try_from(range.start).map_err(|_| "index larger than 4 GiB")?;
        let len = u32::try_from(range.len()).map_err(|_| "index larger than 4 GiB")?;
        Ok(Slot { start, len })
    }

    fn range(self) -> Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    path: Slot,
    id: Slot,
    mode: u32,
    /// The later of ctime and mtime: seconds, then nanoseconds.
    changed: (u32, u32),
    stage: u8,
    intent_to_add: bool,
    /// Path and id live in `extra` rather than in the mapped file.
    in_extra: bool,
}

/// The bytes of an index file.
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(map) => map,
            Bytes::Owned(bytes) => bytes,
        }
    }
}

/// A loaded index.
pub struct Index {
    /// Which file this was: see [`Index::identity`].
    identity: String,
    /// See [`Index::tree`].
    tree: Option<String>,
    file: Option<Bytes>,
    /// Paths rebuilt from version 4 prefix compression, or merged from a split index.
    extra: Vec<u8>,
    entries: Vec<Entry>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("entries", &self.entries.len()).finish()
    }
}

const STAT_BYTES: usize = 40;
const FLAG_EXTENDED: u16 = 0x4000;
const NAME_MASK: u16 = 0x0fff;
/// In the second flags word (`gitformat-index.txt`: reserved, skip-worktree, intent-to-add).
const EXTENDED_INTENT_TO_ADD: u16 = 0x2000;

impl Index {
    /// Loads the index. A missing file is an empty index, as in a new repository.
    pub fn load(location: &IndexLocation) -> Result<Index, IndexError> {
        let error = |path: &Path, message: &str| IndexError { path: path.to_path_buf(), message: message.to_string() };
        let Some((map, stat)) = map_file(&location.path)? else {
            return Ok(Index {
                identity: "none".into(),
                tree: None,
                file: None,
                extra: Vec::new(),
                entries: Vec::new(),
            });
        };
        let hash_len = location.format.hash_len();
        let trailer = map.len().checked_sub(hash_len).map_or(&[][..], |at| &map[at..]);
        let identity = format!(
            "{}:{}:{}:{}.{}:{}.{}:{}",
            stat.st_dev,
            stat.st_ino,
            stat.st_size,
            stat.st_mtime,
            stat.st_mtime_nsec,
            stat.st_ctime,
            stat.st_ctime_nsec,
            hex(trailer)
        );
        let scanned = scan(&map, hash_len).map_err(|message| error(&location.path, message))?;
        let tree = scanned.tree.as_deref().map(hex);
        let Some(link) = scanned.link else {
            return Ok(Index {
                identity,
                tree,
                file: Some(Bytes::Mapped(map)),
                extra: scanned.extra,
                entries: scanned.entries,
            });
        };
        let split =
            Index { identity, tree, file: Some(Bytes::Mapped(map)), extra: scanned.extra, entries: scanned.entries };
        let name = format!("sharedindex.{}", hex(&link.shared_id));
        let shared_path = location
            .shared_dirs
            .iter()
            .map(|dir| dir.join(&name))
            .find(|candidate| candidate.exists())
            .ok_or_else(|| error(&location.path, &format!("its shared index `{name}` is missing")))?;
        let (shared_map, _) = map_file(&shared_path)?.ok_or_else(|| error(&shared_path, "missing"))?;
        let shared_scan = scan(&shared_map, hash_len).map_err(|message| error(&shared_path, message))?;
        let shared = Index {
            identity: String::new(),
            tree: None,
            file: Some(Bytes::Mapped(shared_map)),
            extra: shared_scan.extra,
            entries: shared_scan.entries,
        };
        merge_split(&shared, &split, &link).map_err(|message| error(&location.path, message))
    }

    /// Parses index bytes held in memory (no split index: that needs its
    /// shared file). Used by the fuzz target.
    pub fn from_bytes(data: &[u8], format: ObjectFormat) -> Result<Index, IndexError> {
        let error = |message: &str| IndexError { path: PathBuf::from("<memory>"), message: message.to_string() };
        let scanned = scan(data, format.hash_len()).map_err(error)?;
        if scanned.link.is_some() {
            return Err(error("a split index needs its shared index file"));
        }
        Ok(Index {
            identity: String::new(),
            tree: scanned.tree.as_deref().map(hex),
            file: Some(Bytes::Owned(data.to_vec())),
            extra: scanned.extra,
            entries: scanned.entries,
        })
    }

    /// Names the index file this was read from: device, inode, size, change
    /// times to the nanosecond and git's trailing checksum, from the very file
    /// that was read. git never rewrites an index in place (a new file is
    /// renamed over it), so the same identity later means git wrote no index,
    /// and so no tracked file, in between. `"none"` for a missing index.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The id (hex) of the tree the whole index describes, when git's cache
    /// tree says so: after a checkout this is the tree checked out even
    /// before git moves `HEAD` (`post-index-change` runs in between).
    pub fn tree(&self) -> Option<&str> {
        self.tree.as_deref()
    }

    fn bytes(&self, slot: Slot, in_extra: bool) -> &[u8] {
        match (&self.file, in_extra) {
            (_, true) => &self.extra[slot.range()],
            (Some(map), false) => &map[slot.range()],
            (None, false) => &[],
        }
    }

    fn view(&self, entry: &Entry) -> IndexEntry<'_> {
        IndexEntry {
            path: BStr::new(self.bytes(entry.path, entry.in_extra)),
            id: self.bytes(entry.id, entry.in_extra),
            mode: entry.mode,
            stage: u32::from(entry.stage),
            changed: i64::from(entry.changed.0) * 1_000_000_000 + i64::from(entry.changed.1),
            intent_to_add: entry.intent_to_add,
        }
    }

    /// Every entry, in index order (sorted by path, then stage).
    pub fn entries(&self) -> impl Iterator<Item = IndexEntry<'_>> {
        self.entries.iter().map(|entry| self.view(entry))
    }

    /// An entry at `path` at any stage, found by binary search (entries are
    /// sorted by path): during a conflict several stages share a path, and
    /// any of them means it is tracked.
    pub fn get(&self, path: &[u8]) -> Option<IndexEntry<'_>> {
        let found = self.entries.binary_search_by(|entry| self.bytes(entry.path, entry.in_extra).cmp(path)).ok()?;
        Some(self.view(&self.entries[found]))
    }

    /// True when git tracks `path`.
    pub fn contains(&self, path: &[u8]) -> bool {
        self.get(path).is_some()
    }

    /// True when git tracks anything inside the folder `dir`.
    pub fn contains_under(&self, dir: &[u8]) -> bool {
        let mut prefix = dir.to_vec();
        prefix.push(b'/');
        let start = self.entries.partition_point(|entry| self.bytes(entry.path, entry.in_extra) < prefix.as_slice());
        self.entries.get(start).is_some_and(|entry| self.bytes(entry.path, entry.in_extra).starts_with(&prefix))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the index has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Nanoseconds since the epoch back to the index's (seconds, nanoseconds).
fn split_nanos(nanos: i64) -> (u32, u32) {
    let seconds = u32::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(0);
    (seconds, nanos.rem_euclid(1_000_000_000) as u32)
}

#[expect(clippy::disallowed_methods, reason = "`IndexError` names the index file")]
fn map_file(path: &Path) -> Result<Option<(memmap2::Mmap, rustix::fs::Stat)>, IndexError> {
    let error = |e: std::io::Error| IndexError { path: path.to_path_buf(), message: e.to_string() };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(e)),
    };
    // SAFETY: git never rewrites an index in place; it writes a new file and
    // renames it over the old one, so the mapped bytes cannot change under us.
    let stat = rustix::fs::fstat(&file).map_err(|e| error(e.into()))?;
    unsafe { memmap2::Mmap::map(&file) }.map(|map| Some((map, stat))).map_err(error)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The `link` extension of a split index.
struct Link {
    shared_id: Vec<u8>,
    delete: Vec<usize>,
    replace: Vec<usize>,
}

struct Scanned {
    entries: Vec<Entry>,
    extra: Vec<u8>,
    link: Option<Link>,
    tree: Option<Vec<u8>>,
}

fn be32(data: &[u8], at: usize) -> Result<u32, &'static str> {
    data.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok_or("truncated data")
}

fn be16(data: &[u8], at: usize) -> Result<u16, &'static str> {
    data.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or("truncated entry")
}

/// git's varint (`varint.c`): 7 bits per byte, with an offset on continuation.
fn varint(data: &[u8], at: &mut usize) -> Result<usize, &'static str> {
    let mut byte = *data.get(*at).ok_or("truncated path prefix")?;
    *at += 1;
    let mut value = usize::from(byte & 0x7f);
    while byte & 0x80 != 0 {
        value = value.checked_add(1).and_then(|v| v.checked_mul(128)).ok_or("path prefix overflows")?;
        byte = *data.get(*at).ok_or("truncated path prefix")?;
        *at += 1;
        value += usize::from(byte & 0x7f);
    }
    Ok(value)
}

/// Scans the header and entries, then the extensions for `link`.
fn scan(data: &[u8], hash_len: usize) -> Result<Scanned, &'static str> {
    if data.len() < 12 + hash_len || &data[..4] != b"DIRC" {
        return Err("not an index file (bad signature)");
    }
    let version = be32(data, 4)?;
    if !(2..=4).contains(&version) {
        return Err("unsupported index version");
    }
    let count = be32(data, 8)? as usize;
    // Each entry takes at least 62 bytes; a bigger count is corruption, not a reason to allocate.
    if count > data.len() / (STAT_BYTES + hash_len + 2) {
        return Err("entry count larger than the file");
    }
    let end = data.len() - hash_len;
    let mut entries = Vec::with_capacity(count);
    let mut extra = Vec::new();
    let mut previous: Range<usize> = 0..0;
    let mut at = 12;
    for _ in 0..count {
        let start = at;
        let mode = be32(data, at + 24)?;
        // ctime (seconds, nanoseconds) at 0, mtime at 8.
        let changed = (be32(data, at)?, be32(data, at + 4)?).max((be32(data, at + 8)?, be32(data, at + 12)?));
        let id = at + STAT_BYTES..at + STAT_BYTES + hash_len;
        let flags = be16(data, id.end)?;
        at = id.end + 2;
        let mut intent_to_add = false;
        if flags & FLAG_EXTENDED != 0 {
            if version < 3 {
                return Err("extended flags in a version 2 index");
            }
            intent_to_add = be16(data, at)? & EXTENDED_INTENT_TO_ADD != 0;
            at += 2;
        }
        let stage = ((flags >> 12) & 0x3) as u8;
        let rest = data.get(at..end).ok_or("entries run into the checksum")?;
        let entry = if version == 4 {
            let mut cursor = 0;
            let strip = varint(rest, &mut cursor)?;
            let suffix = &rest[cursor..];
            let suffix_len = memchr::memchr(0, suffix).ok_or("unterminated path")?;
            let keep = previous.len().checked_sub(strip).ok_or("path prefix longer than the previous path")?;
            let path_start = extra.len();
            extra.extend_from_within(previous.start..previous.start + keep);
            extra.extend_from_slice(&suffix[..suffix_len]);
            previous = path_start..extra.len();
            // Path and id share one buffer, so the id is copied beside the path.
            let id_start = extra.len();
            extra.extend_from_slice(&data[id]);
            at += cursor + suffix_len + 1;
            let (path, id) = (Slot::new(previous.clone())?, Slot::new(id_start..extra.len())?);
            Entry { path, id, mode, changed, stage, intent_to_add, in_extra: true }
        } else {
            let declared = usize::from(flags & NAME_MASK);
            let len = if declared < usize::from(NAME_MASK) {
                if rest.get(declared) != Some(&0) {
                    return Err("path length does not match its terminator");
                }
                declared
            } else {
                memchr::memchr(0, rest).ok_or("unterminated path")?
            };
            // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes.
            let entry_len = (at + len - start + 8) & !7;
            let (path, id) = (Slot::new(at..at + len)?, Slot::new(id)?);
            at = start + entry_len;
            Entry { path, id, mode, changed, stage, intent_to_add, in_extra: false }
        };
        if at > end {
            return Err("entries run into the checksum");
        }
        entries.push(entry);
    }
    let link = find_link(data, at, end, hash_len)?;
    let tree = find_tree_root(data, at, end, hash_len);
    Ok(Scanned { entries, extra, link, tree })
}

/// The id of the tree the whole index describes, from the `TREE` extension
/// (git's cache tree), when git left it valid: after a checkout, a reset or
/// a commit it is, after `git add` it is not. The root entry comes first:
/// an empty path, its NUL, `<entry count> <subtree count>\n`, then the id
/// unless the count is -1 (invalid).
fn find_tree_root(data: &[u8], mut at: usize, end: usize, hash_len: usize) -> Option<Vec<u8>> {
    while at + 8 <= end {
        let size = be32(data, at + 4).ok()? as usize;
        let body_end = at.checked_add(8 + size).filter(|&e| e <= end)?;
        if &data[at..at + 4] == b"TREE" {
            let body = data.get(at + 8..body_end)?;
            let rest = body.strip_prefix(b"\0")?;
            let newline = rest.iter().position(|&b| b == b'\n')?;
            let counts = std::str::from_utf8(&rest[..newline]).ok()?;
            let entries: i64 = counts.split(' ').next()?.parse().ok()?;
            if entries < 0 {
                return None;
            }
            return rest.get(newline + 1..newline + 1 + hash_len).map(<[u8]>::to_vec);
        }
        at = body_end;
    }
    None
}

/// Walks the extensions (4-byte signature, 4-byte size, data) for `link`.
fn find_link(data: &[u8], mut at: usize, end: usize, hash_len: usize) -> Result<Option<Link>, &'static str> {
    while at + 8 <= end {
        let size = be32(data, at + 4)? as usize;
        let body_end = at.checked_add(8 + size).filter(|&e| e <= end).ok_or("extension runs past the end")?;
        if &data[at..at + 4] == b"link" {
            let body = &data[at + 8..body_end];
            let shared_id = body.get(..hash_len).ok_or("link extension too short")?.to_vec();
            let mut cursor = hash_len;
            let (delete, replace) = if cursor < body.len() {
                (ewah_bits(body, &mut cursor)?, ewah_bits(body, &mut cursor)?)
            } else {
                (Vec::new(), Vec::new())
            };
            // An all-zero id means the index is not split after all.
            return Ok(shared_id.iter().any(|&b| b != 0).then_some(Link { shared_id, delete, replace }));
        }
        at = body_end;
    }
    Ok(None)
}

/// Decodes a serialised EWAH bitmap (git's `ewah/ewah_io.c`) into set bit positions.
fn ewah_bits(data: &[u8], at: &mut usize) -> Result<Vec<usize>, &'static str> {
    let bit_size = be32(data, *at)? as usize;
    let word_count = be32(data, *at + 4)? as usize;
    let words_start = *at + 8;
    let words_end = word_count.checked_mul(8).and_then(|n| n.checked_add(words_start)).ok_or("bitmap too large")?;
    let words = data.get(words_start..words_end).ok_or("truncated bitmap")?;
    *at = words_end + 4; // the position of the last run-length word follows
    if *at > data.len() {
        return Err("truncated bitmap");
    }
    let word = |i: usize| u64::from_be_bytes(words[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    let mut bits = Vec::new();
    let (mut i, mut position) = (0, 0usize);
    while i < word_count {
        // A run-length word: bit 0 the running bit, 32 bits of run length, 31 bits of literal count.
        let marker = word(i);
        let running = marker & 1 == 1;
        let run_words = ((marker >> 1) & 0xffff_ffff) as usize;
        let literal_words = (marker >> 33) as usize;
        let run_bits = run_words.checked_mul(64).ok_or("bitmap run too long")?;
        if running {
            if position.saturating_add(run_bits) > bit_size.saturating_add(64) {
                return Err("bitmap run past its size");
            }
            bits.extend(position..position + run_bits);
        }
        position = position.saturating_add(run_bits);
        for literal in 0..literal_words {
            let index = i + 1 + literal;
            if index >= word_count {
                return Err("truncated bitmap");
            }
            let value = word(index);
            for bit in 0..64 {
                if value & (1 << bit) != 0 {
                    bits.push(position + bit);
                }
            }
            position = position.saturating_add(64);
        }
        i += 1 + literal_words;
    }
    bits.retain(|&bit| bit < bit_size);
    Ok(bits)
}

/// Applies a split index to its shared index, as `merge_base_index` in git's
/// `split-index.c` does: replaced entries take the split entry's data under the
/// shared path, deleted ones go, and the rest of the split entries are added,
/// replacing an entry of the same path and stage.
fn merge_split(shared: &Index, split: &Index, link: &Link) -> Result<Index, &'static str> {
    let mut base: Vec<Option<(IndexEntry<'_>, bool)>> = shared.entries().map(|entry| Some((entry, false))).collect();
    let split_entries: Vec<IndexEntry<'_>> = split.entries().collect();
    for (replacement, &position) in link.replace.iter().enumerate() {
        let source = split_entries.get(replacement).ok_or("replace bitmap longer than the split index")?;
        if !source.path.is_empty() {
            return Err("replacement entry with a path");
        }
        let (target, _) =
            base.get_mut(position).and_then(Option::as_mut).ok_or("replace bitmap past the shared index")?;
        *target = IndexEntry { path: target.path, ..*source };
    }
    for &position in &link.delete {
        *base.get_mut(position).ok_or("delete bitmap past the shared index")? = None;
    }
    let mut merged: Vec<(IndexEntry<'_>, bool)> = base.into_iter().flatten().collect();
    for added in &split_entries[link.replace.len().min(split_entries.len())..] {
        if added.path.is_empty() {
            return Err("added entry without a path");
        }
        merged.push((*added, true));
    }
    // Stable: among equal (path, stage) the added entry comes last and wins.
    merged.sort_by(|(a, _), (b, _)| (a.path, a.stage).cmp(&(b.path, b.stage)));
    merged.dedup_by(|later, earlier| {
        let same = later.0.path == earlier.0.path && later.0.stage == earlier.0.stage;
        if same {
            *earlier = *later;
        }
        same
    });
    // Adding a stage-0 entry resolves the conflict stages of its path.
    let resolved: std::collections::HashSet<&[u8]> = merged
        .iter()
        .filter(|(entry, added)| *added && entry.stage == 0)
        .map(|(entry, _)| entry.path.as_ref())
        .collect();
    merged.retain(|(entry, _)| entry.stage == 0 || !resolved.contains(entry.path.as_ref() as &[u8]));

    let mut extra = Vec::new();
    let mut entries = Vec::with_capacity(merged.len());
    for (entry, _) in merged {
        let path_start = extra.len();
        extra.extend_from_slice(entry.path);
        let id_start = extra.len();
        extra.extend_from_slice(entry.id);
        entries.push(Entry {
            path: Slot::new(path_start..id_start)?,
            id: Slot::new(id_start..extra.len())?,
            mode: entry.mode,
            changed: split_nanos(entry.changed),
            stage: entry.stage as u8,
            intent_to_add: entry.intent_to_add,
            in_extra: true,
        });
    }
    Ok(Index { identity: split.identity.clone(), tree: split.tree.clone(), file: None, extra, entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_matches_git() {
        // git's varint.c: 127 is one byte, 128 is 0x80 0x00.
        let cases: &[(&[u8], usize)] =
            &[(&[0x00], 0), (&[0x7f], 127), (&[0x80, 0x00], 128), (&[0x80, 0x7f], 255), (&[0x81, 0x00], 256)];
        for (bytes, expected) in cases {
            let mut at = 0;
            assert_eq!(varint(bytes, &mut at).unwrap(), *expected, "{bytes:?}");
            assert_eq!(at, bytes.len());
        }
    }

    #[test]
    fn ewah_bitmaps_decode_runs_and_literals() {
        // bit_size 200; words: run-length word (running 0, run 1 word, 2 literals), two literals.
        let mut data = Vec::new();
        data.extend_from_slice(&200u32.to_be_bytes());
        data.extend_from_slice(&3u32.to_be_bytes());
        let marker: u64 = (2 << 33) | (1 << 1);
        data.extend_from_slice(&marker.to_be_bytes());
        data.extend_from_slice(&0b101u64.to_be_bytes());
        data.extend_from_slice(&(1u64 << 63).to_be_bytes());
        data.extend_from_slice(&0u32.to_be_bytes());
        let mut at = 0;
        assert_eq!(ewah_bits(&data, &mut at).unwrap(), vec![64, 66, 191]);
        assert_eq!(at, data.len());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let inputs: [&[u8]; 4] = [
            b"",
            b"DIRC",
            b"DIRC\0\0\0\x02\xff\xff\xff\xff01234567890123456789",
            b"XXXX\0\0\0\x02\0\0\0\x0001234567890123456789",
        ];
        for data in inputs {
            assert!(scan(data, 20).is_err(), "{data:?}");
        }
        let empty = b"DIRC\0\0\0\x02\0\0\0\x0001234567890123456789";
        assert!(scan(empty, 20).is_ok_and(|scanned| scanned.entries.is_empty() && scanned.link.is_none()));
    }
}
