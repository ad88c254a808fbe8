//! The record of what the caches were last brought up to date with, kept in
//! the work tree's own repository folder (`.git/pycache-guard/record`, or
//! `.git/worktrees/<name>/pycache-guard/record` for a linked worktree: each
//! work tree has its own caches, so each has its own record).
//!
//! # Why a record
//!
//! A hook's event describes one step of what git did, and git runs sequences:
//! a rebase checks out its new base (post-checkout), replays commits in the
//! same second (post-commit at most), then reports only its old and new tips
//! (post-rewrite). Cherry-pick, `reset`, `stash` and `am` fire no checkout
//! hook at all, and any hook may be skipped or killed. So every hook, and
//! `rebuild` without arguments, reconciles from the record to what is on disk
//! now, whatever happened in between; the event's arguments are only a hint.
//!
//! # What it holds
//!
//! - `head`: the commit `HEAD` named when the caches were last reconciled,
//!   and `tree`: the tree the index described then (git's cache tree, when
//!   valid). The tree diff from it to the tree the index describes today (or
//!   between the commits, when either tree is unknown; object ids only, no
//!   blob read) gives the sources that were deleted, and those committed
//!   since. The index's tree, because `post-index-change` runs after a
//!   checkout wrote the work tree and before git moves `HEAD`.
//! - `index`: the identity of the index file that reconcile read. While it
//!   is still the index, git has written no tracked file since: the later
//!   hooks of the same git command only sweep what the tree diff deleted.
//! - `since`: when that reconcile started. Every file git writes (checkout,
//!   merge, reset, stash, rebase's picks) gets its stat refreshed in the
//!   index, so the index entries changed since then are exactly the files git
//!   rewrote behind our back, whichever command did it. This is git's own
//!   answer for knowing what changed without reading contents
//!   (`Documentation/technical/racy-git.txt`): we read the stat git already
//!   keeps, not the work tree.
//! - `racy`: caches written as checked-hash pycs only because their source
//!   was modified in the very second they were compiled (see
//!   [`crate::rebuild`]'s racy rule). They are verified by content and
//!   rewritten as timestamp pycs by a later run, once the second has passed.
//! - `outside`: sources compiled while the index described no tree (a
//!   conflicted merge) that `HEAD` lacks; no tree diff can show them
//!   deleted, so the next run sweeps the folder of each that left the index.
//!
//! A missing record (the first hook after `install`), one that does not parse,
//! one from the future (the clock moved back, so index times cannot be
//! compared) or one whose commit is gone is not trusted: the caller falls back
//! to the event's diff plus a stale scan, and says so with `-v`.
//!
//! # For the store and the background rebuild (issue 14)
//!
//! The record is the one place that says which state the caches describe, so
//! both later pieces build on it rather than beside it:
//! - The content-addressed store ([`crate::store`]: compiled code keyed by magic number, cache
//!   tag, optimisation level, `co_filename` and the exact source bytes) only
//!   changes *how* a target is produced; which targets exist is still decided
//!   by this record. A racy entry becomes a store hit whose header is rebuilt
//!   from the source's stat once it is no longer racy, exactly as here.
//! - A hook that hands its compiling to a background rebuild writes the
//!   record (under the rebuild lock) once nothing lies and the `pending`
//!   journal holds the rest; every run finishes what the journal holds, so
//!   the record and the journal together never claim more than was done.
//! - A hook that finds the lock busy (a background rebuild still at work)
//!   may not write the record. It leaves the `handled` note ([`Handled`]):
//!   which record and which index it reconciled, so that the next hook of
//!   the same git command, finding both unchanged, does not do it again.
//!   `since` is taken before the index is read, from the clock file times
//!   come from ([`file_clock_nanos`]), so what git writes during a rebuild is
//!   seen by the next.

use std::io::Write;
use std::path::{Path, PathBuf};

use std::os::unix::ffi::OsStrExt;

use bstr::{BString, ByteSlice};

/// The first line of every record this version writes.
const MAGIC: &str = "pycache-guard record 2";

/// A cache written as checked-hash because its source was racy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RacyCache {
    /// The repository-relative source.
    pub source: BString,
    /// The cache file, absolute.
    pub cache: PathBuf,
}

/// What the caches were last brought up to date with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The commit `HEAD` named, or `None` on an unborn branch.
    pub head: Option<String>,
    /// The tree the index described (git's cache tree), when git kept it
    /// valid. Preferred to `head` for the diff: `post-index-change` runs
    /// after a checkout wrote the work tree and before `HEAD` moves.
    pub tree: Option<String>,
    /// When that reconcile started, in nanoseconds since the epoch.
    pub since: i64,
    /// The index file that reconcile read ([`crate::index::Index::identity`]),
    /// when known: while it is still the index, git has written no tracked
    /// file since, so what the record says still holds for every written file.
    pub index: Option<String>,
    /// Caches to verify and rewrite as timestamp pycs later.
    pub racy: Vec<RacyCache>,
    /// Sources that were compiled while the index described no tree (a
    /// conflicted merge, files only staged) and that `HEAD` does not have:
    /// no tree diff will ever show them deleted, so the next run sweeps the
    /// folder of each one that has left the index (`merge --abort`).
    pub outside: Vec<BString>,
}

/// What was found in the repository folder.
#[derive(Debug)]
pub enum Loaded {
    /// No record yet.
    Missing,
    /// A record that cannot be used, and why.
    Untrusted(String),
    /// A usable record.
    Found(Record),
}

fn path(git_dir: &Path) -> PathBuf {
    crate::state::dir(git_dir).join("record")
}

/// Reads the record; `now` (nanoseconds) rejects one from the future.
pub fn load(git_dir: &Path, now: i64) -> Loaded {
    let data = match crate::state::read(&path(git_dir)) {
        Ok(data) => data,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Loaded::Missing,
        Err(error) => return Loaded::Untrusted(format!("the record cannot be read ({error})")),
    };
    match parse(&data) {
        Some(record) if record.since > now + 1_000_000_000 => {
            Loaded::Untrusted("the record is from the future (the clock moved back)".into())
        }
        Some(record) => Loaded::Found(record),
        None => Loaded::Untrusted("the record does not parse".into()),
    }
}

fn parse(data: &[u8]) -> Option<Record> {
    let mut lines = data.splitn(6, |&byte| byte == b'\n');
    // Any other first line, a version-1 record included, is not trusted:
    // the next hook rebuilds from its event and a stale scan, once.
    if lines.next()? != MAGIC.as_bytes() {
        return None;
    }
    let head = lines.next()?.strip_prefix(b"head ")?.to_str().ok()?;
    let head = match head {
        "-" => None,
        id if matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit()) => Some(id.to_string()),
        _ => return None,
    };
    let tree = match lines.next()?.strip_prefix(b"tree ")?.to_str().ok()? {
        "-" => None,
        id if matches!(id.len(), 40 | 64) && id.bytes().all(|b| b.is_ascii_hexdigit()) => Some(id.to_string()),
        _ => return None,
    };
    let since = lines.next()?.strip_prefix(b"since ")?.to_str().ok()?.parse().ok()?;
    let index = match lines.next()?.strip_prefix(b"index ")? {
        b"-" => None,
        id if !id.is_empty() && id.iter().all(|&b| b.is_ascii_alphanumeric() || b":.".contains(&b)) => {
            Some(id.to_str().ok()?.to_string())
        }
        _ => return None,
    };
    // Then tagged, NUL-separated entries: `r`, a source and its racy
    // cache; `o`, a source compiled outside any recorded tree.
    let rest = lines.next().unwrap_or_default();
    let mut fields = rest.split(|&byte| byte == 0).filter(|field| !field.is_empty());
    let (mut racy, mut outside) = (Vec::new(), Vec::new());
    while let Some(tag) = fields.next() {
        match tag {
            b"r" => racy.push(RacyCache {
                source: BString::from(fields.next()?),
                cache: PathBuf::from(std::ffi::OsStr::from_bytes(fields.next()?)),
            }),
            b"o" => outside.push(BString::from(fields.next()?)),
            _ => return None,
        }
    }
    Some(Record { head, tree, since, index, racy, outside })
}

fn render(record: &Record) -> Vec<u8> {
    let head = record.head.as_deref().unwrap_or("-");
    let index = record.index.as_deref().unwrap_or("-");
    let tree = record.tree.as_deref().unwrap_or("-");
    let mut data = format!("{MAGIC}\nhead {head}\ntree {tree}\nsince {}\nindex {index}\n", record.since).into_bytes();
    for racy in &record.racy {
        data.extend_from_slice(b"r\0");
        data.extend_from_slice(&racy.source);
        data.push(0);
        data.extend_from_slice(racy.cache.as_os_str().as_encoded_bytes());
        data.push(0);
    }
    for source in &record.outside {
        data.extend_from_slice(b"o\0");
        data.extend_from_slice(source);
        data.push(0);
    }
    data
}

/// Writes the record atomically (a temporary file renamed over the old one).
pub fn store(git_dir: &Path, record: &Record) -> std::io::Result<()> {
    let folder = crate::state::dir(git_dir);
    fs_err::create_dir_all(&folder)?;
    let mut temporary = tempfile::NamedTempFile::new_in(&folder)?;
    temporary.write_all(&render(record))?;
    temporary.persist(path(git_dir)).map_err(|error| error.error)?;
    Ok(())
}

/// The first line of every handled note.
const HANDLED_MAGIC: &str = "pycache-guard handled 2";

/// What a hook that found the rebuild lock busy did, in place of the record
/// it may not write: from the record made at `since` (reading the index
/// `record_index`), it brought the caches to the index `index`, whose tree
/// (or, without a valid cache tree, `HEAD`) is `state`, removing every cache
/// that would lie and sweeping what was deleted, and put what is left to
/// compile in the journal, which the rebuild holding the lock or one queued
/// behind it finishes.
///
/// Two things follow. The next hook of the same git command
/// (`post-checkout` after `post-index-change`) that finds the same record
/// and the very same index has nothing left to do. And while no record newer
/// than the note exists, the caches may describe `state`, which no record
/// names (a second checkout while the first one's rebuild runs, then Python
/// importing there): what was deleted since `state` is swept as well.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handled {
    /// The `since` of the record that hook trusted.
    pub since: i64,
    /// That record's `index`.
    pub record_index: Option<String>,
    /// The index that hook read ([`crate::index::Index::identity`]).
    pub index: String,
    /// The tree that index described, or the commit `HEAD` named.
    pub state: Option<String>,
    /// When that hook started, in nanoseconds since the epoch.
    pub began: i64,
}

impl Handled {
    /// True when this note says the hook reconciled from the record made at
    /// `since` (reading `record_index`) to the index `index`.
    pub fn covers(&self, since: i64, record_index: Option<&str>, index: &str) -> bool {
        self.since == since && self.record_index.as_deref() == record_index && self.index == index
    }
}

fn handled_path(git_dir: &Path) -> PathBuf {
    crate::state::dir(git_dir).join("handled")
}

/// Writes the handled note; failing to only makes the next hook do more.
pub fn store_handled(git_dir: &Path, handled: &Handled) -> std::io::Result<()> {
    let folder = crate::state::dir(git_dir);
    fs_err::create_dir_all(&folder)?;
    let text = format!(
        "{HANDLED_MAGIC}\n{}\n{}\n{}\n{}\n{}\n",
        handled.since,
        handled.record_index.as_deref().unwrap_or("-"),
        handled.index,
        handled.state.as_deref().unwrap_or("-"),
        handled.began,
    );
    let mut temporary = tempfile::NamedTempFile::new_in(&folder)?;
    temporary.write_all(text.as_bytes())?;
    temporary.persist(handled_path(git_dir)).map_err(|error| error.error)?;
    Ok(())
}

/// The handled note; `None` when it is missing, unreadable or does not
/// parse (a state that is not an object id counts as none).
pub fn load_handled(git_dir: &Path) -> Option<Handled> {
    let data = crate::state::read(&handled_path(git_dir)).ok()?;
    let text = std::str::from_utf8(&data).ok()?;
    let mut lines = text.split('\n');
    let (Some(HANDLED_MAGIC), Some(since), Some(record_index), Some(index), Some(state), Some(began), Some(""), None) =
        (lines.next(), lines.next(), lines.next(), lines.next(), lines.next(), lines.next(), lines.next(), lines.next())
    else {
        return None;
    };
    let id = |value: &str| {
        (value != "-" && !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .then(|| value.to_string())
    };
    Some(Handled {
        since: since.parse().ok()?,
        record_index: (record_index != "-").then(|| record_index.to_string()),
        index: index.to_string(),
        state: id(state),
        began: began.parse().ok()?,
    })
}

/// Nanoseconds since the epoch now.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX))
}

/// Nanoseconds since the epoch now as file times see it: Linux stamps files
/// from a clock that lags the system clock by up to a tick (1–10 ms), so a
/// file written just after [`now_nanos`] can carry an earlier time. Every
/// file written after this reading carries this time or a later one, which
/// is what a record's `since` must promise.
pub fn file_clock_nanos() -> i64 {
    let coarse = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
    let coarse = coarse.tv_sec.saturating_mul(1_000_000_000).saturating_add(coarse.tv_nsec);
    coarse.min(now_nanos())
}

/// Whole seconds since the epoch now, as importlib compares mtimes.
pub fn now_seconds() -> i64 {
    now_nanos().div_euclid(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file written after the reading is never stamped before it; the
    /// system clock alone fails this within a few tries (it runs ahead of
    /// the clock Linux stamps files with).
    #[test]
    fn files_written_after_the_file_clock_reading_are_never_stamped_before_it() {
        use std::os::unix::fs::MetadataExt;
        let folder = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let path = folder.path().join("written");
        for _ in 0..500 {
            let reading = file_clock_nanos();
            fs_err::write(&path, b"x").unwrap_or_else(|error| panic!("{error}"));
            let meta = fs_err::metadata(&path).unwrap_or_else(|error| panic!("{error}"));
            let stamped = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
            assert!(stamped >= reading, "stamped {stamped}, read {reading}");
        }
    }

    #[test]
    fn records_round_trip_and_bad_ones_are_refused() {
        let record = Record {
            head: Some("a".repeat(40)),
            tree: Some("b".repeat(40)),
            since: 1_795_000_000_123_456_789,
            index: Some("2049:1234:5678:1795000000.5:1795000000.6:ab12".into()),
            racy: vec![RacyCache { source: "pkg/m\nx.py".into(), cache: "/w/pkg/__pycache__/m\nx.pyc".into() }],
            outside: vec!["new/m.py".into(), "new/n.py".into()],
        };
        assert_eq!(parse(&render(&record)), Some(record.clone()));
        let unborn = Record { head: None, tree: None, index: None, racy: Vec::new(), outside: Vec::new(), ..record };
        assert_eq!(parse(&render(&unborn)), Some(unborn));
        for bad in [
            &b""[..],
            b"pycache-guard record 3\nhead -\ntree -\nsince 1\nindex -\n",
            b"pycache-guard record 1\nhead -\nsince 1\n",
            b"pycache-guard record 2\nhead ../x\ntree -\nsince 1\nindex -\n",
            b"pycache-guard record 2\nhead -\ntree ../x\nsince 1\nindex -\n",
            b"pycache-guard record 2\nhead -\ntree -\nsince 1\nindex ../x\n",
        ] {
            assert_eq!(parse(bad), None, "{:?}", bad.as_bstr());
        }
        assert_eq!(parse(b"pycache-guard record 2\nhead -\ntree -\nsince 1\nindex -\nr\0odd\0"), None);
        assert_eq!(parse(b"pycache-guard record 2\nhead -\ntree -\nsince 1\nindex -\nx\0m.py\0"), None);
    }
}
