//! The caches `check` found current (`.git/pycache-guard/fresh-caches`), so
//! that a second `check` of an unchanged tree opens no cache and reads no
//! source to judge it.
//!
//! # What is remembered
//!
//! Only one conclusion: *this cache, next to this source, is current* (its
//! header validates as importlib validates it, and it was not written before
//! the source's last change). Everything that decides it is in the two files'
//! bytes and modification times, so it is keyed, as the syntax verdicts
//! ([`crate::verdict`]) are, by the stamps that stand for those bytes: the
//! cache's path and [`Stamp`], and the source's `lstat` [`Stamp`] (device,
//! inode, mode, size, modification and change times to the nanosecond; the
//! change time is the kernel's, so `os.utime` cannot restore it). A cache or
//! source that changed in any way has another key and is judged afresh; a
//! source that is a link is always judged afresh (importlib follows it, and
//! its target has a stamp of its own).
//!
//! The racy case is git's: a file written again within the clock's
//! granularity of the look keeps its stamp. A key is recorded only when both
//! files' latest times are more than [`crate::verdict::SETTLED_NANOS`] before
//! the run began, and only when both files still have the stamps they had
//! before they were read.
//!
//! A stale or lying cache is never remembered: it is a finding, judged every
//! run.
//!
//! # The file
//!
//! One file, replaced atomically, read through [`crate::safe_fs`] with a size
//! limit, ending with a checksum, and tied to this build
//! ([`crate::verdict::build_identity`]). A file that is truncated, corrupt or
//! of another build is discarded, never trusted. A run that looked at every
//! cache keeps only the keys it met or learned, so the file holds about one
//! key per cache.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use siphasher::sip128::{Hasher128, SipHasher13};

use crate::source::Stamp;

/// The file's name in the state folder.
pub const FILE_NAME: &str = "fresh-caches";

/// The first bytes of every file this version writes; the last is the format version.
const MAGIC: &[u8; 8] = b"pcgfrc\0\x01";

/// The most keys kept.
pub const MAX_KEYS: usize = 1_000_000;

/// The most a file may hold: larger is corrupt.
const READ_LIMIT: u64 = (MAX_KEYS as u64) * 16 + 4096;

/// The key of a cache with its source.
pub type Key = u128;

/// The caches earlier runs found current, and what this run meets and learns.
pub struct Fresh {
    /// Random per file: keys cannot be made to collide from outside.
    key: (u64, u64),
    known: HashSet<Key>,
    trusted: bool,
    /// A file was there but not trusted (corrupt, of another build, not a regular file).
    discarded: bool,
    /// Stamps older than this may be recorded.
    settled_before: i64,
    run: Mutex<Run>,
}

#[derive(Default)]
struct Run {
    met: Vec<Key>,
    learned: Vec<Key>,
    /// Caches looked up and not known: judged by reading them.
    missed: usize,
}

impl Fresh {
    /// What the state folder of `git_dir` remembers; anything not
    /// trustworthy (missing, corrupt, of another build) remembers nothing.
    /// `began` is when the run began (nanoseconds, the file clock).
    pub fn load(git_dir: &Path, began: i64) -> Fresh {
        let (parsed, discarded) = match crate::state::read_bounded(git_dir, FILE_NAME, READ_LIMIT) {
            Ok(Some(data)) => {
                let parsed = parse(&data, &context());
                let discarded = parsed.is_none();
                (parsed, discarded)
            }
            Ok(None) => (None, false),
            Err(_) => (None, true),
        };
        let (key, known, trusted) = match parsed {
            Some((key, known)) => (key, known, true),
            None => {
                let state = std::collections::hash_map::RandomState::new();
                let random = |salt: u8| std::hash::BuildHasher::hash_one(&state, salt);
                ((random(0), random(1)), HashSet::new(), false)
            }
        };
        let settled_before = began - crate::verdict::SETTLED_NANOS;
        Fresh { key, known, trusted, discarded, settled_before, run: Mutex::new(Run::default()) }
    }

    /// The key of the cache at `cache` (absolute) with `cache_stamp`, next
    /// to a source with `source_stamp`.
    pub fn key_of(&self, cache: &[u8], cache_stamp: &Stamp, source_stamp: &Stamp) -> Key {
        let mut hasher = SipHasher13::new_with_keys(self.key.0, self.key.1);
        std::hash::Hasher::write(&mut hasher, &(cache.len() as u64).to_le_bytes());
        std::hash::Hasher::write(&mut hasher, cache);
        for stamp in [cache_stamp, source_stamp] {
            for value in [stamp.device, stamp.inode, u64::from(stamp.mode), stamp.size] {
                std::hash::Hasher::write(&mut hasher, &value.to_le_bytes());
            }
            for value in [stamp.modified, stamp.changed] {
                std::hash::Hasher::write(&mut hasher, &value.to_le_bytes());
            }
        }
        hasher.finish128().as_u128()
    }

    /// True when an earlier run found the cache of `key` current; the key is kept.
    pub fn is_known(&self, key: Key) -> bool {
        let known = self.known.contains(&key);
        if let Ok(mut run) = self.run.lock() {
            if known {
                run.met.push(key);
            } else {
                run.missed += 1;
            }
        }
        known
    }

    /// This run found the cache of `key` current, with both files' stamps
    /// unchanged across the look: remembered when both are settled.
    pub fn learn(&self, key: Key, cache_stamp: &Stamp, source_stamp: &Stamp) {
        if cache_stamp.latest() < self.settled_before
            && source_stamp.latest() < self.settled_before
            && let Ok(mut run) = self.run.lock()
        {
            run.learned.push(key);
        }
    }

    /// What `-v` says: how many caches were known unread and how many read.
    pub fn summary(&self) -> String {
        let (met, missed) = self.run.lock().map_or((0, 0), |run| (run.met.len(), run.missed));
        let discarded = if self.discarded { " (the memory was not trusted and is rebuilt)" } else { "" };
        format!("current caches: {met} known unread, {missed} read{discarded}")
    }

    /// Writes what this run met and learned. `complete` says the run looked
    /// at every cache: then a key it did not meet names a cache that changed
    /// or left and is dropped; otherwise the older keys are kept too. Nothing
    /// is written when nothing would change.
    pub fn save(self, git_dir: &Path, complete: bool) -> std::io::Result<bool> {
        let run = self.run.into_inner().unwrap_or_default();
        let dropped = complete && run.met.len() < self.known.len();
        if self.trusted && run.learned.is_empty() && !dropped {
            return Ok(false);
        }
        let mut keys: Vec<Key> = Vec::new();
        let mut seen: HashSet<Key> = HashSet::new();
        let older = self.known.iter().copied().filter(|_| !complete);
        for key in run.learned.into_iter().chain(run.met).chain(older) {
            if keys.len() >= MAX_KEYS {
                break;
            }
            if seen.insert(key) {
                keys.push(key);
            }
        }
        crate::state::replace(git_dir, FILE_NAME, &encode(&context(), self.key, &keys))?;
        Ok(true)
    }
}

/// What ties a file to this build.
fn context() -> [u8; 16] {
    crate::state::checksum(
        format!("{}\0{}", String::from_utf8_lossy(MAGIC), crate::verdict::build_identity()).as_bytes(),
    )
}

/// Layout (little-endian): magic, context, key, key count, keys, checksum of all before it.
fn encode(context: &[u8; 16], key: (u64, u64), keys: &[Key]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 48 + keys.len() * 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(context);
    out.extend_from_slice(&key.0.to_le_bytes());
    out.extend_from_slice(&key.1.to_le_bytes());
    out.extend_from_slice(&(keys.len() as u64).to_le_bytes());
    for key in keys {
        out.extend_from_slice(&key.to_le_bytes());
    }
    let sum = crate::state::checksum(&out);
    out.extend_from_slice(&sum);
    out
}

/// The key and the keys of a file, or `None` for anything not exactly a file
/// this build wrote.
fn parse(data: &[u8], context: &[u8; 16]) -> Option<((u64, u64), HashSet<Key>)> {
    let header = MAGIC.len() + 16 + 16 + 8;
    if data.len() < header + 16 || &data[..MAGIC.len()] != MAGIC {
        return None;
    }
    let (body, sum) = data.split_at(data.len() - 16);
    if crate::state::checksum(body) != sum || &body[MAGIC.len()..MAGIC.len() + 16] != context {
        return None;
    }
    let word = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().unwrap_or([0; 8]));
    let key = (word(MAGIC.len() + 16), word(MAGIC.len() + 24));
    let count = usize::try_from(word(MAGIC.len() + 32)).ok()?;
    let keys = &body[header..];
    if count > MAX_KEYS || keys.len() != count.checked_mul(16)? {
        return None;
    }
    let known = keys.chunks_exact(16).map(|chunk| u128::from_le_bytes(chunk.try_into().unwrap_or([0; 16]))).collect();
    Some((key, known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_round_trips_and_every_truncation_and_flipped_byte_is_refused() {
        let context = context();
        let keys = [1u128, 2, u128::MAX];
        let data = encode(&context, (5, 6), &keys);
        let (key, known) = parse(&data, &context).expect("a file this build wrote parses");
        assert_eq!(key, (5, 6));
        assert_eq!(known, keys.into_iter().collect());
        for length in 0..data.len() {
            assert!(parse(&data[..length], &context).is_none(), "truncated to {length} bytes");
        }
        for at in 0..data.len() {
            let mut flipped = data.clone();
            flipped[at] ^= 0x40;
            assert!(parse(&flipped, &context).is_none(), "byte {at} flipped");
        }
        assert!(parse(&data, &[0; 16]).is_none(), "another build's file");
    }
}
