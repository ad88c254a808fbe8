//! Walking a work tree for bytecode, in parallel, without going anywhere we
//! must not.
//!
//! Git-ignored files are visited (caches usually are ignored). The walk never
//! follows a symbolic link, never enters `.git` or a nested repository (a
//! folder holding `.git`, which also covers a linked worktree placed inside
//! the work tree), and skips virtual environments (a folder holding
//! `pyvenv.cfg`, and `node_modules`, `.tox`, `.nox`) unless asked. A
//! `__pycache__` folder is read in one go and handed to the visitor; legacy
//! bytecode outside one is handed over file by file, and so are the
//! `.gitignore` files and the folders it does not enter (for `check`'s
//! question to git about what git shows). An unreadable folder is reported
//! and the walk goes on.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use ignore::{WalkBuilder, WalkState};

use crate::artifact::{self, PYCACHE};

/// Folders that hold someone else's environment.
const ENVIRONMENT_DIRS: [&str; 3] = ["node_modules", ".tox", ".nox"];

/// Where and how to walk.
#[derive(Clone, Debug)]
pub struct Options {
    /// Folders to walk (absolute).
    pub roots: Vec<PathBuf>,
    /// Descend into virtual environments too.
    pub include_venvs: bool,
    /// Worker threads.
    pub threads: usize,
}

/// One entry of a `__pycache__` folder.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Its name.
    pub name: OsString,
    /// A regular file (not a link, not a folder).
    pub is_file: bool,
    /// A folder (not a link to one).
    pub is_dir: bool,
    /// A symbolic link.
    pub is_link: bool,
    /// Bytes on disk (of the link itself for a link).
    pub size: u64,
    /// Its `lstat` as the walk saw it.
    pub stamp: crate::source::Stamp,
}

impl Entry {
    /// The entry `name`, of the kind and size `meta` (not following a link) says.
    fn new(name: OsString, meta: &std::fs::Metadata) -> Entry {
        Entry {
            name,
            is_file: meta.is_file(),
            is_dir: meta.is_dir(),
            is_link: meta.is_symlink(),
            size: meta.len(),
            stamp: crate::source::Stamp::of(meta),
        }
    }
}

/// What the walk finds, delivered from several threads at once.
pub trait Visitor: Sync {
    /// A real `__pycache__` folder and its entries.
    fn pycache(&self, dir: &Path, entries: Vec<Entry>);
    /// A file outside `__pycache__` whose name is legacy bytecode (`foo.pyc`, `foo.pyo`, `foo$py.class`).
    fn legacy(&self, path: &Path, size: u64);
    /// A folder that could not be read.
    fn error(&self, path: &Path, message: String);
    /// A file outside `__pycache__` whose ignore verdict `check` asks git
    /// for: a `.gitignore`, or a name that git's bytecode rules match but
    /// that is not legacy bytecode (`.pyc` alone, a `__pycache__` that is
    /// not a folder).
    fn listed(&self, _path: &Path) {}
    /// A folder the walk did not enter, with why: an excluded folder, or a
    /// folder inside a `__pycache__` (read, never entered).
    fn unentered(&self, _path: &Path, _why: Unentered) {}
}

/// Why the walk did not enter a folder it met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unentered {
    /// The walk's rule excludes it.
    Excluded(Exclusion),
    /// A folder inside a `__pycache__` folder.
    InPycache,
}

/// Why the walk does not enter a folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exclusion {
    /// A `.git` folder.
    GitDir,
    /// A folder holding `.git`: a submodule, a nested repository or a worktree.
    Repository,
    /// A virtual environment (`pyvenv.cfg`), `node_modules`, `.tox` or `.nox`.
    Environment,
}

impl Exclusion {
    /// What the folder is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Exclusion::GitDir => "a `.git` folder",
            Exclusion::Repository => "another repository (it holds `.git`)",
            Exclusion::Environment => "a virtual environment or a tool's environment",
        }
    }
}

/// Why the walk must not enter `path`, if it must not. The root of a walk may
/// hold `.git` (it is the work tree); `include_venvs` lets environments in.
pub fn exclusion(path: &Path, is_root: bool, include_venvs: bool) -> Option<Exclusion> {
    let name = path.file_name().map(OsStrExt::as_bytes).unwrap_or_default();
    if name == b".git" {
        return Some(Exclusion::GitDir);
    }
    // A `__pycache__` folder is read by the walk itself, never entered.
    if name == PYCACHE.as_bytes() {
        return None;
    }
    if !is_root && fs_err::symlink_metadata(path.join(".git")).is_ok() {
        return Some(Exclusion::Repository); // a nested repository or a worktree inside this one
    }
    let environment = ENVIRONMENT_DIRS.iter().any(|dir| name == dir.as_bytes()) || path.join("pyvenv.cfg").is_file();
    (environment && !include_venvs).then_some(Exclusion::Environment)
}

/// The first folder from below `root` down to `path` (inclusive) that a walk
/// must not enter, with why: the rule for a folder named directly (a sweep
/// after a deletion, a path on the command line) is the walk's rule.
pub fn excluded_on_the_way(root: &Path, path: &Path, include_venvs: bool) -> Option<(PathBuf, Exclusion)> {
    let relative = path.strip_prefix(root).ok()?;
    let mut folder = root.to_path_buf();
    for component in relative.components() {
        folder.push(component);
        if let Some(why) = exclusion(&folder, false, include_venvs) {
            return Some((folder, why));
        }
    }
    None
}

/// True for a folder the walk must not enter.
pub fn is_excluded_dir(path: &Path, is_root: bool, include_venvs: bool) -> bool {
    exclusion(path, is_root, include_venvs).is_some()
}

/// Reads a `__pycache__` folder.
#[expect(clippy::disallowed_methods, reason = "the visitor reports the error with the folder")]
fn read_pycache(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        entries.push(Entry::new(entry.file_name(), &meta));
    }
    Ok(entries)
}

/// Walks every root in parallel and reports to `visitor`.
pub fn walk(options: &Options, visitor: &dyn Visitor) {
    let Some((first, rest)) = options.roots.split_first() else { return };
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    let include_venvs = options.include_venvs;
    builder.standard_filters(false).hidden(false).follow_links(false).threads(options.threads.max(1));
    builder.build_parallel().run(|| {
        Box::new(move |result| {
            let entry = match result {
                Ok(entry) => entry,
                Err(error) => {
                    let path = error_path(&error).unwrap_or_default();
                    visitor.error(&path, error.to_string());
                    return WalkState::Continue;
                }
            };
            let Some(kind) = entry.file_type() else { return WalkState::Continue };
            let name = entry.file_name().as_bytes();
            if kind.is_dir() {
                // A root is walked whatever it holds (it is the work tree, or a
                // folder the caller checked); only the folders below it are judged.
                if entry.depth() > 0
                    && let Some(why) = exclusion(entry.path(), false, include_venvs)
                {
                    visitor.unentered(entry.path(), Unentered::Excluded(why));
                    return WalkState::Skip;
                }
                if name == PYCACHE.as_bytes() {
                    match read_pycache(entry.path()) {
                        Ok(entries) => {
                            for inner in entries.iter().filter(|inner| inner.is_dir) {
                                visitor.unentered(&entry.path().join(&inner.name), Unentered::InPycache);
                            }
                            visitor.pycache(entry.path(), entries);
                        }
                        Err(error) => visitor.error(entry.path(), error.to_string()),
                    }
                    return WalkState::Skip;
                }
                return WalkState::Continue;
            }
            if artifact::legacy_stem(name).is_some() {
                let size = entry.metadata().map(|meta| meta.len()).unwrap_or(0);
                visitor.legacy(entry.path(), size);
            } else if name == b".gitignore" || artifact::is_bytecode_path(name) {
                visitor.listed(entry.path());
            }
            WalkState::Continue
        })
    });
}

fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        ignore::Error::Partial(errors) => errors.iter().find_map(error_path),
        _ => None,
    }
}

/// One folder of a `PYTHONPYCACHEPREFIX` tree, and the source folder it mirrors.
#[derive(Clone, Debug)]
pub struct MirrorDir {
    /// The folder in the prefix tree.
    pub dir: PathBuf,
    /// The source folder whose caches it holds.
    pub source_dir: PathBuf,
    /// Its files (sub-folders are listed as folders of their own).
    pub entries: Vec<Entry>,
}

/// Lists the part of a prefix tree under `root`, without following links: a
/// prefix tree is plain folders of caches, with no `__pycache__`. Parents come
/// before their children. A missing `root` is empty; other unreadable folders
/// come back with the reason. The exclusions of the work-tree walk hold here
/// too: a prefix tree that holds a real work tree (`PYTHONPYCACHEPREFIX=/`, or a
/// repository cloned inside the tree) never has its `.git`, its nested
/// repositories or its environments walked.
pub fn mirror(prefix: &Path, root: &Path) -> (Vec<MirrorDir>, Vec<(PathBuf, String)>) {
    let (mut dirs, mut errors) = (Vec::new(), Vec::new());
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if is_excluded_dir(&dir, false, false) {
            continue;
        }
        let read = match fs_err::read_dir(&dir) {
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => {
                errors.push((dir, error.to_string()));
                continue;
            }
        };
        let mut entries = Vec::new();
        for entry in read.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                entries.push(Entry::new(entry.file_name(), &meta));
            }
        }
        if let Some(source_dir) = crate::artifact::source_dir_of_prefix_dir(prefix, &dir) {
            dirs.push(MirrorDir { dir, source_dir, entries });
        }
    }
    (dirs, errors)
}
