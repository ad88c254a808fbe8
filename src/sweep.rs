//! Bytecode whose source is gone, and removing it without touching anything else.
//!
//! Two kinds lie after a branch switch. A legacy `foo.pyc` (or `foo.pyo`,
//! `foo$py.class`) beside a deleted `foo.py` is imported as a sourceless
//! module. A folder that keeps only its `__pycache__` imports as a namespace
//! package. The first is removed unless tracked; for the second the orphaned
//! caches go, then the emptied `__pycache__`, then any folder that only held it.
//!
//! Removal never follows a symbolic link (a link is removed as a link), never
//! deletes a tracked file, and never removes a folder that still holds
//! anything. Used by the rebuild hooks and by `clean --orphans`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::artifact::{self, CacheLocation, CachedFile};
use crate::index::Index;

/// Why a file is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// A cache in `__pycache__` (or the prefix tree) whose source is gone.
    Orphan,
    /// Legacy bytecode beside a deleted source: imported as a sourceless module.
    Shadowing,
    /// A cache of a changed source whose header still validates: Python would run old code.
    Lying,
}

impl Reason {
    /// A word for reports.
    pub fn word(self) -> &'static str {
        match self {
            Reason::Orphan => "orphaned",
            Reason::Shadowing => "shadowing",
            Reason::Lying => "stale",
        }
    }
}

/// A file to remove.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Removal {
    /// Absolute path.
    pub path: PathBuf,
    /// Why.
    pub reason: Reason,
}

/// True when `dir/stem.py` is a file importlib would load.
pub fn has_source(dir: &Path, stem: &[u8]) -> bool {
    let mut name = stem.to_vec();
    name.extend_from_slice(artifact::SOURCE_SUFFIX);
    dir.join(OsStr::from_bytes(&name)).is_file()
}

/// True when the repository tracks `path` (absolute).
pub fn is_tracked(index: &Index, workdir: &Path, path: &Path) -> bool {
    path.strip_prefix(workdir).is_ok_and(|relative| index.contains(relative.as_os_str().as_bytes()))
}

/// Entries of a real folder; a symbolic link or a missing folder has none.
fn entries(dir: &Path) -> Vec<(Vec<u8>, std::fs::FileType)> {
    if std::fs::symlink_metadata(dir).map(|meta| !meta.is_dir()).unwrap_or(true) {
        return Vec::new();
    }
    let Ok(read) = std::fs::read_dir(dir) else { return Vec::new() };
    read.flatten().filter_map(|entry| Some((entry.file_name().as_bytes().to_vec(), entry.file_type().ok()?))).collect()
}

/// Orphaned caches and shadowing legacy bytecode for the sources of `dir` (absolute).
pub fn orphans_in(dir: &Path, location: &CacheLocation, workdir: &Path, index: &Index) -> Vec<Removal> {
    let mut found = Vec::new();
    let cache_dir = artifact::cache_dir(dir, location);
    for (name, kind) in entries(&cache_dir) {
        if kind.is_dir() {
            continue;
        }
        if let CachedFile::Orphan { .. } = artifact::classify_cached(&name, |stem| has_source(dir, stem)) {
            found.push(Removal { path: cache_dir.join(OsStr::from_bytes(&name)), reason: Reason::Orphan });
        }
    }
    for (name, kind) in entries(dir) {
        if kind.is_dir() {
            continue;
        }
        if let Some(stem) = artifact::legacy_stem(&name)
            && !has_source(dir, stem)
        {
            found.push(Removal { path: dir.join(OsStr::from_bytes(&name)), reason: Reason::Shadowing });
        }
    }
    found.retain(|removal| !is_tracked(index, workdir, &removal.path));
    found
}

/// What a removal pass did.
#[derive(Debug, Default)]
pub struct Removed {
    /// Files removed, with why.
    pub files: Vec<Removal>,
    /// Bytes those files held.
    pub bytes: u64,
    /// Folders removed because they were left empty.
    pub dirs: Vec<PathBuf>,
    /// Files or folders that could not be removed, with the reason.
    pub errors: Vec<(PathBuf, String)>,
}

/// Removes files (a symbolic link is removed as a link), then prunes the
/// folders they leave empty: a `__pycache__` folder, then source folders up to
/// (not including) `stop`, or mirror folders up to the prefix.
pub fn remove(removals: Vec<Removal>, stop: &Path) -> Removed {
    let mut removed = Removed::default();
    let mut emptied = std::collections::BTreeSet::new();
    for removal in removals {
        let size = std::fs::symlink_metadata(&removal.path).map(|meta| meta.len()).unwrap_or(0);
        match std::fs::remove_file(&removal.path) {
            Ok(()) => {
                removed.bytes += size;
                if let Some(parent) = removal.path.parent() {
                    emptied.insert(parent.to_path_buf());
                }
                removed.files.push(removal);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => removed.errors.push((removal.path, error.to_string())),
        }
    }
    // Deepest first, so that a parent sees its children gone.
    for dir in emptied.into_iter().rev() {
        prune(&dir, stop, &mut removed);
    }
    removed
}

/// Removes `dir` and its parents while they are empty, stopping at `stop`.
fn prune(dir: &Path, stop: &Path, removed: &mut Removed) {
    let mut current = dir.to_path_buf();
    while current.starts_with(stop) && current != stop {
        let is_empty = std::fs::read_dir(&current).map(|mut entries| entries.next().is_none()).unwrap_or(false);
        let is_real_dir = std::fs::symlink_metadata(&current).is_ok_and(|meta| meta.is_dir());
        if !is_empty || !is_real_dir || std::fs::remove_dir(&current).is_err() {
            return;
        }
        removed.dirs.push(current.clone());
        match current.parent() {
            Some(parent) => current = parent.to_path_buf(),
            None => return,
        }
    }
}
