//! The verdict cache of `check`'s syntax check (`.git/pycache-guard/verdicts`):
//! what the check concluded about each source, so that a second `check` reads
//! and parses only what changed.
//!
//! # What a verdict is keyed by
//!
//! - **The exact bytes**: a verdict is stored under the SHA-256 of the bytes
//!   that were read and judged. Nothing else (a path, a git blob id) names
//!   content: git's blob id is of the *cleaned* bytes, and with `core.autocrlf`
//!   or a `filter` attribute the work tree holds other bytes than the blob.
//! - **Everything else that decides it**, once for the whole file (the
//!   *context*): this format, the tool's version and its very binary (size
//!   and modification time: the in-process checker is compiled in), the
//!   Python version the parser targets, and each interpreter asked to confirm
//!   (executable, `major.minor.micro`, cache tag, magic number). A file from
//!   another context is discarded whole: a changed interpreter invalidates
//!   every verdict.
//!
//! # Knowing the bytes without reading them
//!
//! Hashing every file on every run costs as much as reading it. So, as git
//! does for its index (`Documentation/technical/racy-git.txt`), a file's stat
//! stands for its bytes: each verdict is also reachable from a key made of the
//! path and the [`Stamp`] the file had while it was read (device, inode, mode,
//! size, and modification and change times to the nanosecond). A later run
//! that finds the same stamp at the same path reuses the verdict after one
//! `lstat`. The change time is set by the kernel, never by a user, so a
//! rewrite that restores the size and the modification time (`os.utime`) is
//! still seen.
//!
//! The racy case is the one git documents: a file changed again within the
//! timestamp granularity of the change that was read keeps its stamp. So a
//! stamp is recorded only when the file's latest time is more than
//! [`SETTLED_NANOS`] before the run started (which also covers clocks that
//! tick coarsely, such as FAT's two seconds); a younger file is read, hashed
//! and found by its bytes instead, and gets its stamp recorded by a later run.
//!
//! # The file
//!
//! One file, replaced atomically (a new file renamed over it), read through
//! [`crate::safe_fs`] (a link or FIFO is not followed, nothing blocks) with a
//! size limit, bounded in entries, and ending with a checksum. A file that is
//! truncated, corrupt, of another format or of another context is discarded,
//! never trusted, and rebuilt by the run.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use sha2::Digest as _;
use siphasher::sip128::{Hasher128, SipHasher13};

use crate::source::Stamp;

/// The file's name in the state folder.
pub const FILE_NAME: &str = "verdicts";

/// The first bytes of every file this version writes; the last is the format version.
const MAGIC: &[u8; 8] = b"pcgvrd\0\x01";

/// The most a verdict file may hold: larger is corrupt.
const READ_LIMIT: u64 = 96 << 20;

/// The most verdicts kept; the ones used by the latest runs are kept first.
pub const MAX_VERDICTS: usize = 1_000_000;

/// The most stamps kept.
pub const MAX_STAMPS: usize = 1_000_000;

/// A stamp is recorded only for files whose latest change is older than this
/// when the run starts (see the module documentation).
pub const SETTLED_NANOS: i64 = 2_500_000_000;

/// The SHA-256 of some bytes.
pub type Digest = [u8; 32];

/// The key of a path with a stamp.
pub type StampKey = u128;

/// What the check concluded about some bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No finding.
    Clean,
    /// A `syntax-error` finding, as reported.
    Refused {
        /// 1-based line, 0 when none.
        line: u32,
        /// 1-based column, 0 when none.
        column: u32,
        /// The finding's message, naming who refused it.
        message: String,
    },
}

/// The SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> Digest {
    sha2::Sha256::digest(bytes).into()
}

/// Everything besides the bytes that decides a verdict.
pub fn context(target: (u32, u32), interpreters: &[crate::interpreter::Interpreter]) -> Digest {
    let mut hasher = sha2::Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(MAGIC);
    field(env!("CARGO_PKG_VERSION").as_bytes());
    // The checker is compiled in: another build of the same version may judge differently.
    field(build_identity().as_bytes());
    field(format!("{}.{}", target.0, target.1).as_bytes());
    let mut described: Vec<String> = interpreters
        .iter()
        .map(|interpreter| {
            let info = &interpreter.info;
            format!("{}\0{}\0{}\0{}", info.executable.display(), info.version, info.cache_tag, info.magic)
        })
        .collect();
    described.sort();
    for interpreter in described {
        field(interpreter.as_bytes());
    }
    hasher.finalize().into()
}

/// This very build of pycache-guard: its version and its binary's size and
/// modification time. What a state file concluded with one build is not
/// trusted by another.
pub fn build_identity() -> String {
    let binary = std::env::current_exe().and_then(fs_err::metadata).map(|metadata| Stamp::of(&metadata));
    match binary {
        Ok(stamp) => format!("{} {} {}", env!("CARGO_PKG_VERSION"), stamp.size, stamp.modified),
        Err(_) => format!("{} unknown binary", env!("CARGO_PKG_VERSION")),
    }
}

/// How the cache file was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// Read and trusted.
    Trusted,
    /// None yet.
    Missing,
    /// Present but not trusted, for the reason given; it is rebuilt.
    Discarded(String),
}

/// The verdicts of earlier runs in this context.
pub struct Cache {
    context: Digest,
    /// Random per file: stamp keys cannot be made to collide from outside.
    key: (u64, u64),
    verdicts: Vec<(Digest, Verdict)>,
    by_digest: HashMap<Digest, usize>,
    stamps: HashMap<StampKey, usize>,
    /// How the file was found.
    pub found: Found,
}

impl Cache {
    /// An empty cache for `context`.
    pub fn empty(context: Digest, found: Found) -> Cache {
        let state = std::collections::hash_map::RandomState::new();
        let random = |salt: u8| std::hash::BuildHasher::hash_one(&state, salt);
        Cache {
            context,
            key: (random(0), random(1)),
            verdicts: Vec::new(),
            by_digest: HashMap::new(),
            stamps: HashMap::new(),
            found,
        }
    }

    /// Loads the cache of the state folder `dir` for `context`; anything not
    /// trustworthy gives an empty cache saying why.
    pub fn load(git_dir: &Path, context: Digest) -> Cache {
        match crate::state::read_bounded(git_dir, FILE_NAME, READ_LIMIT) {
            Ok(None) => Cache::empty(context, Found::Missing),
            Ok(Some(data)) => match parse(&data, context) {
                Ok(cache) => cache,
                Err(why) => Cache::empty(context, Found::Discarded(why.into())),
            },
            Err(error) => Cache::empty(context, Found::Discarded(format!("it cannot be read ({error})"))),
        }
    }

    /// The key of `path` (repository-relative) with `stamp`.
    pub fn stamp_key(&self, path: &[u8], stamp: &Stamp) -> StampKey {
        let mut hasher = SipHasher13::new_with_keys(self.key.0, self.key.1);
        std::hash::Hasher::write(&mut hasher, &(path.len() as u64).to_le_bytes());
        std::hash::Hasher::write(&mut hasher, path);
        for value in [stamp.device, stamp.inode, u64::from(stamp.mode), stamp.size] {
            std::hash::Hasher::write(&mut hasher, &value.to_le_bytes());
        }
        for value in [stamp.modified, stamp.changed] {
            std::hash::Hasher::write(&mut hasher, &value.to_le_bytes());
        }
        hasher.finish128().as_u128()
    }

    /// The verdict recorded for `key`, with its digest.
    pub fn by_stamp(&self, key: StampKey) -> Option<(&Digest, &Verdict)> {
        self.stamps.get(&key).and_then(|&at| self.verdicts.get(at)).map(|(digest, verdict)| (digest, verdict))
    }

    /// The verdict recorded for bytes with `digest`.
    pub fn by_digest(&self, digest: &Digest) -> Option<&Verdict> {
        self.by_digest.get(digest).map(|&at| &self.verdicts[at].1)
    }

    /// Writes what this run used and learned, then as many older entries as
    /// the bounds allow; nothing is written when the run learned nothing and
    /// the file was trusted.
    pub fn save(&self, git_dir: &Path, run: Learned) -> std::io::Result<bool> {
        let run = run.into_inner();
        if run.stamps.is_empty() && run.verdicts.is_empty() && self.found == Found::Trusted {
            return Ok(false);
        }
        crate::state::replace(git_dir, FILE_NAME, &self.render(run))?;
        Ok(true)
    }

    fn render(&self, run: LearnedInner) -> Vec<u8> {
        // Used or learned by this run first, then the older ones in their order.
        let used = run.used.iter().filter_map(|digest| self.by_digest(digest).map(|verdict| (digest, verdict)));
        let learned = run.verdicts.iter().map(|(digest, verdict)| (digest, verdict));
        let older = self.verdicts.iter().map(|(digest, verdict)| (digest, verdict));
        let mut verdicts: Vec<(&Digest, &Verdict)> = Vec::new();
        let mut slot: HashMap<Digest, u32> = HashMap::new();
        for (digest, verdict) in learned.chain(used).chain(older) {
            if verdicts.len() >= MAX_VERDICTS {
                break;
            }
            if let std::collections::hash_map::Entry::Vacant(entry) = slot.entry(*digest) {
                entry.insert(u32::try_from(verdicts.len()).unwrap_or(u32::MAX));
                verdicts.push((digest, verdict));
            }
        }
        let mut stamps: Vec<(StampKey, u32)> = Vec::new();
        let mut seen: HashSet<StampKey> = HashSet::new();
        let older = self.stamps.iter().map(|(key, &at)| (*key, self.verdicts[at].0));
        for (key, digest) in run.stamps.iter().copied().chain(older) {
            if stamps.len() >= MAX_STAMPS {
                break;
            }
            if let Some(&at) = slot.get(&digest)
                && seen.insert(key)
            {
                stamps.push((key, at));
            }
        }
        encode(self.context, self.key, &verdicts, &stamps)
    }
}

/// What one run used and learned, gathered across threads.
#[derive(Default)]
pub struct Learned(Mutex<LearnedInner>);

#[derive(Default)]
struct LearnedInner {
    verdicts: Vec<(Digest, Verdict)>,
    stamps: Vec<(StampKey, Digest)>,
    used: Vec<Digest>,
}

impl Learned {
    /// A verdict reached this run, and the stamp it may be found by.
    pub fn verdict(&self, digest: Digest, verdict: Verdict, stamp: Option<StampKey>) {
        if let Ok(mut inner) = self.0.lock() {
            inner.verdicts.push((digest, verdict));
            if let Some(key) = stamp {
                inner.stamps.push((key, digest));
            }
        }
    }

    /// A recorded verdict reused for bytes read this run, and a stamp to find it by next time.
    pub fn reused(&self, digest: Digest, stamp: Option<StampKey>) {
        if let Ok(mut inner) = self.0.lock() {
            inner.used.push(digest);
            if let Some(key) = stamp {
                inner.stamps.push((key, digest));
            }
        }
    }

    /// Verdicts found by their stamps: kept first, learned nothing.
    pub fn kept(&self, digests: Vec<Digest>) {
        if let Ok(mut inner) = self.0.lock() {
            inner.used.extend(digests);
        }
    }

    fn into_inner(self) -> LearnedInner {
        self.0.into_inner().unwrap_or_default()
    }
}

/// Layout (little-endian): magic, context, key, verdict count, stamp count,
/// verdicts (digest, kind 0 or 1, and for 1: line, column, message length,
/// message), stamps (key, verdict number), checksum of all before it.
fn encode(context: Digest, key: (u64, u64), verdicts: &[(&Digest, &Verdict)], stamps: &[(StampKey, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + verdicts.len() * 33 + stamps.len() * 20);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&context);
    out.extend_from_slice(&key.0.to_le_bytes());
    out.extend_from_slice(&key.1.to_le_bytes());
    out.extend_from_slice(&(verdicts.len() as u64).to_le_bytes());
    out.extend_from_slice(&(stamps.len() as u64).to_le_bytes());
    for (digest, verdict) in verdicts {
        out.extend_from_slice(*digest);
        match verdict {
            Verdict::Clean => out.push(0),
            Verdict::Refused { line, column, message } => {
                out.push(1);
                out.extend_from_slice(&line.to_le_bytes());
                out.extend_from_slice(&column.to_le_bytes());
                out.extend_from_slice(&(message.len() as u32).to_le_bytes());
                out.extend_from_slice(message.as_bytes());
            }
        }
    }
    for (stamp, at) in stamps {
        out.extend_from_slice(&stamp.to_le_bytes());
        out.extend_from_slice(&at.to_le_bytes());
    }
    let sum = crate::state::checksum(&out);
    out.extend_from_slice(&sum);
    out
}

/// A cursor over the file that fails instead of reading past its end.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], &'static str> {
        if self.data.len() < count {
            return Err("it is truncated");
        }
        let (head, tail) = self.data.split_at(count);
        self.data = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        self.take(N).map(|bytes| bytes.try_into().unwrap_or([0; N]))
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, &'static str> {
        self.array().map(u64::from_le_bytes)
    }
}

fn parse(data: &[u8], context: Digest) -> Result<Cache, &'static str> {
    if data.len() < MAGIC.len() + 16 || &data[..MAGIC.len()] != MAGIC {
        return Err("it is not in this version's format");
    }
    let (body, sum) = data.split_at(data.len() - 16);
    if crate::state::checksum(body) != sum {
        return Err("its checksum does not match (truncated or corrupt)");
    }
    let mut reader = Reader { data: &body[MAGIC.len()..] };
    if reader.array::<32>()? != context {
        return Err("it was written for another interpreter, Python version or build of pycache-guard");
    }
    let key = (reader.u64()?, reader.u64()?);
    let (verdict_count, stamp_count) = (reader.u64()?, reader.u64()?);
    if verdict_count > MAX_VERDICTS as u64 || stamp_count > MAX_STAMPS as u64 {
        return Err("it holds more entries than allowed");
    }
    let mut cache = Cache::empty(context, Found::Trusted);
    cache.key = key;
    for _ in 0..verdict_count {
        let digest: Digest = reader.array()?;
        let verdict = match reader.take(1)?[0] {
            0 => Verdict::Clean,
            1 => {
                let (line, column, length) = (reader.u32()?, reader.u32()?, reader.u32()?);
                let message =
                    std::str::from_utf8(reader.take(length as usize)?).map_err(|_| "a message is not text")?;
                Verdict::Refused { line, column, message: message.to_string() }
            }
            _ => return Err("a verdict is of an unknown kind"),
        };
        cache.by_digest.entry(digest).or_insert(cache.verdicts.len());
        cache.verdicts.push((digest, verdict));
    }
    for _ in 0..stamp_count {
        let key = u128::from_le_bytes(reader.array()?);
        let at = reader.u32()? as usize;
        if at >= cache.verdicts.len() {
            return Err("a stamp names no verdict");
        }
        cache.stamps.insert(key, at);
    }
    if !reader.data.is_empty() {
        return Err("it has trailing bytes");
    }
    Ok(cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Cache, Vec<u8>) {
        let context = [7; 32];
        let cache = Cache::empty(context, Found::Missing);
        let learned = Learned::default();
        let refused = Verdict::Refused { line: 3, column: 1, message: "invalid syntax (cpython-312)".into() };
        learned.verdict(digest(b"x = 1\n"), Verdict::Clean, Some(1));
        learned.verdict(digest(b"x = (\n"), refused, Some(2));
        learned.verdict(digest(b"y = 2\n"), Verdict::Clean, None);
        let data = cache.render(learned.into_inner());
        (cache, data)
    }

    #[test]
    fn a_file_round_trips() {
        let (cache, data) = sample();
        let loaded = parse(&data, cache.context).unwrap();
        assert_eq!(loaded.by_digest(&digest(b"x = 1\n")), Some(&Verdict::Clean));
        assert!(matches!(loaded.by_stamp(2), Some((_, Verdict::Refused { line: 3, .. }))));
        assert_eq!(loaded.by_stamp(3), None);
        assert_eq!(loaded.key, cache.key);
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let (cache, data) = sample();
        for length in 0..data.len() {
            assert!(parse(&data[..length], cache.context).is_err(), "truncated to {length}");
        }
        for at in 0..data.len() {
            let mut corrupt = data.clone();
            corrupt[at] ^= 0x20;
            assert!(parse(&corrupt, cache.context).is_err(), "byte {at} flipped");
        }
        assert!(parse(&data, [8; 32]).is_err(), "another context");
    }

    #[test]
    fn a_run_that_learned_nothing_keeps_the_older_entries_within_the_bounds() {
        let (cache, data) = sample();
        let loaded = parse(&data, cache.context).unwrap();
        let learned = Learned::default();
        learned.verdict(digest(b"z = 3\n"), Verdict::Clean, Some(9));
        let again = parse(&loaded.render(learned.into_inner()), cache.context).unwrap();
        assert_eq!(again.verdicts.len(), 4);
        assert_eq!(again.verdicts[0].0, digest(b"z = 3\n"), "what the run learned comes first");
        assert!(again.by_stamp(1).is_some() && again.by_stamp(9).is_some());
    }
}
