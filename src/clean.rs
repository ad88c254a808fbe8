//! Removing bytecode fast, and never anything else.
//!
//! The walk (see [`crate::walk`]) runs in parallel and deletes as it goes:
//! inside `__pycache__`, files that are bytecode (`*.pyc`, `*.pyo`, `.opt-N`
//! and pytest names) and the `*.pyc.NNNN` leftovers of interrupted writes, then
//! the folder once empty; beside sources, legacy `*.pyc`, `*.pyo` and
//! `*$py.class` files. An unknown file in `__pycache__` stays, and so does its
//! folder. Symbolic links are neither followed nor removed, in any component
//! of a path: every folder is opened from the work tree (or the prefix) with
//! [`crate::safe_fs`], and files are removed relative to it. Tracked files
//! stay unless asked. With `orphans`, only bytecode whose source is gone goes.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::artifact::{self, CachedFile};
use crate::safe_fs::{Dir, Kind, Roots, SafeError};
use crate::walk::{self, Entry};

/// What to remove.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only bytecode whose source is gone.
    pub orphans: bool,
    /// Report, remove nothing.
    pub dry_run: bool,
    /// Remove tracked bytecode too.
    pub include_tracked: bool,
}

/// What a clean did (or would do).
#[derive(Debug, Default)]
pub struct Outcome {
    /// Files removed (or to remove), in no particular order.
    pub files: Vec<PathBuf>,
    /// Folders removed.
    pub dirs: Vec<PathBuf>,
    /// Bytes the files held.
    pub bytes: u64,
    /// Tracked files left alone.
    pub kept_tracked: Vec<PathBuf>,
    /// What could not be read or removed.
    pub errors: Vec<(PathBuf, String)>,
}

/// Removes bytecode in parallel as the walk finds it.
pub struct Cleaner<'a> {
    options: Options,
    /// Tracked bytecode paths, absolute (usually none, so lookups are free).
    tracked: &'a std::collections::HashSet<PathBuf>,
    /// Where folders are opened from: nothing is removed through a link.
    roots: Roots,
    bytes: AtomicU64,
    outcome: Mutex<Outcome>,
}

impl<'a> Cleaner<'a> {
    /// A cleaner; `tracked` lists the tracked bytecode files it must keep, and
    /// every folder is opened from one of `roots` without following a link.
    pub fn new(options: Options, tracked: &'a std::collections::HashSet<PathBuf>, roots: Roots) -> Cleaner<'a> {
        Cleaner { options, tracked, roots, bytes: AtomicU64::new(0), outcome: Mutex::new(Outcome::default()) }
    }

    /// The outcome, once the walk is over.
    pub fn finish(self) -> Outcome {
        let mut outcome = self.outcome.into_inner().unwrap_or_default();
        outcome.bytes = self.bytes.into_inner();
        outcome
    }

    fn record(&self, update: impl FnOnce(&mut Outcome)) {
        if let Ok(mut outcome) = self.outcome.lock() {
            update(&mut outcome);
        }
    }

    /// Opens a folder from its root, or records why it cannot be.
    fn open(&self, dir: &Path) -> Option<Dir> {
        match self.roots.open(dir) {
            Ok(opened) => Some(opened),
            Err(SafeError::Missing(_)) => None,
            Err(error) => {
                self.record(|outcome| outcome.errors.push((dir.to_path_buf(), error.to_string())));
                None
            }
        }
    }

    /// Removes the regular file `name` of the verified folder `dir` unless
    /// tracked; true when it is gone (or would be).
    fn remove(&self, dir: &Dir, name: &OsStr) -> bool {
        let path = dir.path().join(name);
        if !self.options.include_tracked && self.tracked.contains(&path) {
            self.record(|outcome| outcome.kept_tracked.push(path));
            return false;
        }
        // Checked again at removal: only a regular file is bytecode.
        let Some((Kind::File, size)) = dir.stat(name) else { return false };
        if !self.options.dry_run
            && let Err(error) = dir.remove_file(name)
        {
            if error.kind() != std::io::ErrorKind::NotFound {
                self.record(|outcome| outcome.errors.push((path, error.to_string())));
            }
            return false;
        }
        self.bytes.fetch_add(size, Ordering::Relaxed);
        self.record(|outcome| outcome.files.push(path));
        true
    }

    /// Whether a file in a cache folder is to go. Only `--orphans` needs to
    /// look for sources; a full clean judges by name alone, with no `stat`.
    fn wanted(&self, name: &[u8], source_dir: &Path) -> bool {
        if !self.options.orphans {
            return !matches!(artifact::classify_cached(name, |_| true), CachedFile::Unknown);
        }
        matches!(
            artifact::classify_cached(name, |stem| crate::sweep::has_source(source_dir, stem)),
            CachedFile::Orphan { .. }
        )
    }

    /// Cleans one folder of caches: a `__pycache__`, or a folder of the prefix tree.
    pub fn cache_dir(&self, dir: &Path, source_dir: &Path, entries: &[Entry], remove_when_empty: bool) {
        // A `__pycache__` is opened from its parent, which then removes it: one walk from the root, not two.
        let (parent, opened) = match self.roots.open_parent(dir) {
            Ok((parent, name)) => match parent.child(name) {
                Ok(opened) => (parent, opened),
                Err(SafeError::Missing(_)) => return,
                Err(error) => {
                    return self.record(|outcome| outcome.errors.push((dir.to_path_buf(), error.to_string())));
                }
            },
            Err(SafeError::Missing(_)) => return,
            Err(error) => return self.record(|outcome| outcome.errors.push((dir.to_path_buf(), error.to_string()))),
        };
        let mut left = 0;
        for entry in entries {
            let gone =
                entry.is_file && self.wanted(entry.name.as_bytes(), source_dir) && self.remove(&opened, &entry.name);
            if !gone {
                left += 1;
            }
        }
        if left == 0 && remove_when_empty {
            self.remove_empty(&parent, &opened, dir);
        }
    }

    /// Removes `dir` (opened as `opened` from `parent`) when it is empty.
    fn remove_empty(&self, parent: &Dir, opened: &Dir, dir: &Path) {
        let Some(name) = dir.file_name() else { return };
        if self.options.dry_run {
            self.record(|outcome| outcome.dirs.push(dir.to_path_buf()));
        } else if opened.entries().is_ok_and(|entries| entries.is_empty()) && parent.remove_dir(name).is_ok() {
            self.record(|outcome| outcome.dirs.push(dir.to_path_buf()));
        }
    }

    /// Removes the folder `dir` if it is empty, relative to its verified parent.
    fn remove_dir(&self, dir: &Path) {
        let Ok((parent, name)) = self.roots.open_parent(dir) else { return };
        if let Ok(opened) = parent.child(name) {
            self.remove_empty(&parent, &opened, dir);
        }
    }
}

impl walk::Visitor for Cleaner<'_> {
    fn pycache(&self, dir: &Path, entries: Vec<Entry>) {
        self.cache_dir(dir, dir.parent().unwrap_or(dir), &entries, true);
    }

    fn legacy(&self, path: &Path, _size: u64) {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return };
        let Some(opened) = self.open(dir) else { return };
        // Links are not bytecode files; neither followed nor removed (checked in `remove`).
        let orphaned =
            artifact::legacy_stem(name.as_bytes()).is_some_and(|stem| !crate::sweep::has_source_in(&opened, stem));
        if !self.options.orphans || orphaned {
            self.remove(&opened, name);
        }
    }

    fn error(&self, path: &Path, message: String) {
        self.record(|outcome| outcome.errors.push((path.to_path_buf(), message)));
    }
}

/// Cleans the part of a `PYTHONPYCACHEPREFIX` tree that mirrors `workdir`,
/// walked without following links; emptied folders are removed up to the prefix.
pub fn clean_mirror(cleaner: &Cleaner<'_>, prefix: &Path, mirror_root: &Path) {
    let (dirs, errors) = walk::mirror(prefix, mirror_root);
    for (dir, message) in errors {
        walk::Visitor::error(cleaner, &dir, message);
    }
    for mirror in &dirs {
        cleaner.cache_dir(&mirror.dir, &mirror.source_dir, &mirror.entries, false);
    }
    // Children before parents: prune the folders the clean left empty.
    for mirror in dirs.iter().rev() {
        if mirror.dir != prefix && !cleaner.options.dry_run {
            cleaner.remove_dir(&mirror.dir);
        }
    }
}

/// The absolute paths of tracked bytecode, which a clean keeps by default.
pub fn tracked_bytecode(index: &crate::index::Index, workdir: &Path) -> std::collections::HashSet<PathBuf> {
    index
        .entries()
        .filter(|entry| artifact::is_bytecode_path(entry.path))
        .map(|entry| workdir.join(OsStr::from_bytes(entry.path)))
        .collect()
}
