//! Bytecode whose source is gone, and removing it without touching anything else.
//!
//! Two kinds lie after a branch switch. A legacy `foo.pyc` (or `foo.pyo`,
//! `foo$py.class`) beside a deleted `foo.py` is imported as a sourceless
//! module. A folder that keeps only its `__pycache__` imports as a namespace
//! package. The first is removed unless tracked; for the second the orphaned
//! caches go, then the emptied `__pycache__`, then any folder that only held it.
//!
//! Removal never follows a symbolic link in any component of a path (a link
//! is removed as a link; see [`crate::safe_fs`]), never enters another
//! repository, never deletes a tracked file or anything but bytecode, and
//! never removes a folder that still holds anything. Used by the rebuild
//! hooks, `check --fix` and `clean --orphans`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::artifact::{self, CacheLocation, CachedFile};
use crate::index::Index;
use crate::safe_fs::{Dir, Kind, Roots, SafeError};

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

/// True when `stem.py` in the verified folder `dir` is a file importlib would load.
pub fn has_source_in(dir: &Dir, stem: &[u8]) -> bool {
    let mut name = stem.to_vec();
    name.extend_from_slice(artifact::SOURCE_SUFFIX);
    dir.is_file(OsStr::from_bytes(&name))
}

/// True when the repository tracks `path` (absolute).
pub fn is_tracked(index: &Index, workdir: &Path, path: &Path) -> bool {
    path.strip_prefix(workdir).is_ok_and(|relative| index.contains(relative.as_os_str().as_bytes()))
}

/// The entries of a verified folder that are not folders; an unreadable one has none.
fn files_of(dir: &Dir) -> Vec<Vec<u8>> {
    let entries = dir.entries().unwrap_or_default();
    entries.into_iter().filter(|(_, kind)| *kind != Kind::Dir).map(|(name, _)| name.as_bytes().to_vec()).collect()
}

/// Orphaned caches and shadowing legacy bytecode for the sources of `dir`
/// (absolute). Every folder is reached from its root without a link or a
/// nested repository on the way; one that cannot be has nothing to sweep.
pub fn orphans_in(dir: &Path, location: &CacheLocation, workdir: &Path, index: &Index) -> Vec<Removal> {
    let mut found = Vec::new();
    let Ok(source_dir) = Dir::open_beneath(workdir, dir) else { return found };
    let cache_dir = artifact::cache_dir(dir, location);
    let cache = match location {
        CacheLocation::Pycache => source_dir.child(OsStr::new(artifact::PYCACHE)),
        CacheLocation::Prefix(_) => Roots::new(workdir, location).open(&cache_dir),
    };
    if let Ok(cache) = cache {
        for name in files_of(&cache) {
            if let CachedFile::Orphan { .. } = artifact::classify_cached(&name, |stem| has_source_in(&source_dir, stem))
            {
                found.push(Removal { path: cache_dir.join(OsStr::from_bytes(&name)), reason: Reason::Orphan });
            }
        }
    }
    for name in files_of(&source_dir) {
        if let Some(stem) = artifact::legacy_stem(&name)
            && !has_source_in(&source_dir, stem)
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

/// Removes files (a symbolic link is removed as a link, a folder or a FIFO
/// never), then prunes the folders they leave empty: a `__pycache__` folder,
/// then source folders up to (not including) their root, or mirror folders up
/// to the prefix. Each file is removed relative to its folder opened from a
/// root in `roots`, never through a link; what `keep` says (tracked files) stays.
pub fn remove(removals: Vec<Removal>, roots: &Roots, keep: &dyn Fn(&Path) -> bool) -> Removed {
    let mut removed = Removed::default();
    let mut emptied = std::collections::BTreeSet::new();
    for removal in removals {
        if keep(&removal.path) {
            continue;
        }
        let (dir, name) = match roots.open_parent(&removal.path) {
            Ok(found) => found,
            Err(SafeError::Missing(_)) => continue,
            Err(error) => {
                removed.errors.push((removal.path, error.to_string()));
                continue;
            }
        };
        let size = match dir.stat(name) {
            None => continue,
            Some((Kind::File | Kind::Symlink, size)) => size,
            Some(_) => {
                removed.errors.push((removal.path, "not a regular file; left alone".into()));
                continue;
            }
        };
        match dir.remove_file(name) {
            Ok(()) => {
                removed.bytes += size;
                emptied.insert(dir.path().to_path_buf());
                removed.files.push(removal);
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => removed.errors.push((removal.path, error.to_string())),
        }
    }
    // Deepest first, so that a parent sees its children gone.
    let in_use = in_use(roots);
    for dir in emptied.into_iter().rev() {
        prune(&dir, roots, keep, &in_use, &mut removed);
    }
    removed
}

/// Removes each of `dirs` and its parents while they are empty, stopping at
/// their root, deepest first (folders a discarded write may have made);
/// what `keep` says (a gitlink's folder) stays.
pub fn prune_empty(dirs: std::collections::BTreeSet<PathBuf>, roots: &Roots, keep: &dyn Fn(&Path) -> bool) -> Removed {
    let mut removed = Removed::default();
    let in_use = in_use(roots);
    for dir in dirs.into_iter().rev() {
        prune(&dir, roots, keep, &in_use, &mut removed);
    }
    removed
}

/// The folders where the user is, which a prune never removes, nor any
/// folder above them: git (since 2.35) never removes the folder a command
/// started in, and a shell left in a removed folder breaks the next git
/// command. A hook runs at the top of the work tree and git names the
/// user's folder in `GIT_PREFIX`; a command typed by hand runs where it is.
fn in_use(roots: &Roots) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::env::current_dir().ok().into_iter().collect();
    if let Some(prefix) = crate::env::git_prefix().filter(|prefix| !prefix.is_empty()) {
        folders.push(roots.workdir().join(prefix));
    }
    folders
}

/// Removes `dir` and its parents while they are empty, stopping at their
/// root, at a folder `keep` names, or at one the user is in (`in_use`, from
/// [`in_use`]).
fn prune(dir: &Path, roots: &Roots, keep: &dyn Fn(&Path) -> bool, in_use: &[PathBuf], removed: &mut Removed) {
    let Some(stop) = roots.root_of(dir).map(Path::to_path_buf) else { return };
    let mut current = dir.to_path_buf();
    while current.starts_with(&stop)
        && current != stop
        && !keep(&current)
        && !in_use.iter().any(|folder| folder.starts_with(&current))
    {
        let Ok((parent, name)) = roots.open_parent(&current) else { return };
        let is_empty = parent.child(name).is_ok_and(|child| child.entries().is_ok_and(|entries| entries.is_empty()));
        if !is_empty || parent.remove_dir(name).is_err() {
            return;
        }
        removed.dirs.push(current.clone());
        match current.parent() {
            Some(up) => current = up.to_path_buf(),
            None => return,
        }
    }
}
