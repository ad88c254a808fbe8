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
//!
//! Each folder is opened from its parent's open descriptor (`openat`,
//! `O_NOFOLLOW`), so no path is looked up from `/` and no link on the way is
//! followed, and read once: its own entries say whether it holds `.git` or
//! `pyvenv.cfg`, so deciding whether to enter it costs no probe. Workers
//! share one stack of folders left to read.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use std::ffi::OsStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

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
    /// The entry `name`, of the kind and size `stat` (an `lstat`) says.
    fn of_stat(name: OsString, stat: &rustix::fs::Stat) -> Entry {
        let kind = FileType::from_raw_mode(stat.st_mode);
        Entry {
            name,
            is_file: kind == FileType::RegularFile,
            is_dir: kind == FileType::Directory,
            is_link: kind == FileType::Symlink,
            size: u64::try_from(stat.st_size).unwrap_or(0),
            stamp: crate::source::Stamp::of_stat(stat),
        }
    }

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
    if let Some(why) = excluded_by_name(name) {
        return Some(why);
    }
    // A `__pycache__` folder is read by the walk itself, never entered.
    if name == PYCACHE.as_bytes() {
        return None;
    }
    let holds_git = !is_root && fs_err::symlink_metadata(path.join(".git")).is_ok();
    excluded_by_contents(name, holds_git, || path.join(PYVENV_CFG).is_file(), include_venvs)
}

/// The file that makes a folder a virtual environment.
const PYVENV_CFG: &str = "pyvenv.cfg";

/// A folder excluded by its name alone: `.git`.
fn excluded_by_name(name: &[u8]) -> Option<Exclusion> {
    (name == b".git").then_some(Exclusion::GitDir)
}

/// A folder excluded by what it holds: `.git` of any kind (a nested
/// repository or a worktree), or, unless `include_venvs`, an environment (a
/// `pyvenv.cfg` file, following a link, or one of [`ENVIRONMENT_DIRS`] by name).
fn excluded_by_contents(
    name: &[u8],
    holds_git: bool,
    holds_pyvenv_cfg: impl FnOnce() -> bool,
    include_venvs: bool,
) -> Option<Exclusion> {
    if holds_git {
        return Some(Exclusion::Repository);
    }
    let environment = ENVIRONMENT_DIRS.iter().any(|dir| name == dir.as_bytes()) || holds_pyvenv_cfg();
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

/// Folders opened at once, most: beyond it a queued folder is opened by its
/// path (still never through a final link) instead of from its open parent.
const OPEN_PARENTS: usize = 256;

/// A folder to read.
struct Job {
    path: PathBuf,
    /// Its parent, held open, and its name there; `None` for a root or when
    /// [`OPEN_PARENTS`] are open already.
    parent: Option<(Arc<Opened>, OsString)>,
    depth: usize,
}

/// A folder read and held open for its sub-folders to be opened from.
struct Opened {
    dir: rustix::fs::Dir,
    count: Arc<AtomicUsize>,
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The folders left to read, shared by the workers: a worker waits while
/// others may still add some, and all stop when none is left and none is busy.
struct Queue {
    state: Mutex<(Vec<Job>, usize)>,
    ready: Condvar,
}

impl Queue {
    fn next(&self) -> Option<Busy<'_>> {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if let Some(job) = state.0.pop() {
                state.1 += 1;
                return Some(Busy { queue: self, job: Some(job), found: Vec::new() });
            }
            if state.1 == 0 {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// One job being worked on; whatever happens (a panic included), dropping it
/// hands the folders it found to the queue and wakes the waiting workers.
struct Busy<'q> {
    queue: &'q Queue,
    job: Option<Job>,
    found: Vec<Job>,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let mut state = self.queue.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.1 -= 1;
        state.0.append(&mut self.found);
        self.queue.ready.notify_all();
    }
}

/// How a worker reads folders.
struct Walker<'v> {
    visitor: &'v dyn Visitor,
    include_venvs: bool,
    open: Arc<AtomicUsize>,
}

/// The kind of an entry: from the listing, or from `lstat` when the file
/// system does not say.
fn kind_of(dir: &rustix::fs::Dir, entry: &rustix::fs::DirEntry) -> Option<FileType> {
    match entry.file_type() {
        FileType::Unknown => {
            let fd = dir.fd().ok()?;
            let stat = rustix::fs::statat(fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW).ok()?;
            Some(FileType::from_raw_mode(stat.st_mode))
        }
        kind => Some(kind),
    }
}

/// Flags every folder of the walk is opened with: never through a final
/// link, never blocking.
const DIR_FLAGS: OFlags =
    OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC).union(OFlags::NONBLOCK);

impl Walker<'_> {
    /// Reads the folder of `job`, reports what it holds, and returns the
    /// sub-folders to read.
    fn read(&self, job: Job, found: &mut Vec<Job>) {
        let opened = match &job.parent {
            Some((parent, name)) => match parent.dir.fd() {
                Ok(fd) => rustix::fs::openat(fd, name.as_os_str(), DIR_FLAGS, Mode::empty()),
                Err(error) => Err(error),
            },
            None => rustix::fs::openat(rustix::fs::CWD, &job.path, DIR_FLAGS, Mode::empty()),
        };
        let fd = match opened {
            Ok(fd) => fd,
            // A root that is a file or a link is handed over as a file; a
            // folder that became one since it was listed is not walked.
            Err(Errno::NOTDIR | Errno::LOOP) => {
                if job.depth == 0 {
                    self.file(&job.path, None, job.path.file_name().map(OsStrExt::as_bytes).unwrap_or_default());
                }
                return;
            }
            Err(error) => return self.visitor.error(&job.path, std::io::Error::from(error).to_string()),
        };
        let mut dir = match rustix::fs::Dir::new(fd) {
            Ok(dir) => dir,
            Err(error) => return self.visitor.error(&job.path, std::io::Error::from(error).to_string()),
        };
        let mut entries: Vec<(OsString, FileType)> = Vec::new();
        while let Some(entry) = dir.read() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => return self.visitor.error(&job.path, std::io::Error::from(error).to_string()),
            };
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let Some(kind) = kind_of(&dir, &entry) else { continue };
            entries.push((OsString::from(OsStr::from_bytes(name)), kind));
        }
        let name = job.path.file_name().map(OsStrExt::as_bytes).unwrap_or_default();
        // A root is walked whatever it holds (it is the work tree, or a folder
        // the caller checked); only the folders below it are judged.
        if job.depth > 0 {
            let holds = |wanted: &str| entries.iter().find(|(name, _)| name.as_bytes() == wanted.as_bytes());
            let pyvenv_cfg = || match holds(PYVENV_CFG) {
                Some((_, FileType::RegularFile)) => true,
                Some((_, FileType::Symlink)) => dir.fd().is_ok_and(|fd| {
                    rustix::fs::statat(fd, PYVENV_CFG, AtFlags::empty())
                        .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile)
                }),
                _ => false,
            };
            if let Some(why) = excluded_by_contents(name, holds(".git").is_some(), pyvenv_cfg, self.include_venvs) {
                return self.visitor.unentered(&job.path, Unentered::Excluded(why));
            }
        }
        let counted = self.open.fetch_add(1, Ordering::Relaxed) < OPEN_PARENTS;
        let opened = Arc::new(Opened { dir, count: Arc::clone(&self.open) });
        let keep = counted.then_some(&opened);
        for (name, kind) in entries {
            let path = job.path.join(&name);
            if kind != FileType::Directory {
                self.file(&path, Some(&opened.dir), name.as_bytes());
                continue;
            }
            if name.as_bytes() == PYCACHE.as_bytes() {
                self.pycache(&path, &opened.dir);
                continue;
            }
            if let Some(why) = excluded_by_name(name.as_bytes()) {
                self.visitor.unentered(&path, Unentered::Excluded(why));
                continue;
            }
            let parent = keep.map(|opened| (Arc::clone(opened), name));
            found.push(Job { path, parent, depth: job.depth + 1 });
        }
    }

    /// A file (or link, or anything not a folder) named `name` at `path`,
    /// in the open folder `dir` when there is one.
    fn file(&self, path: &Path, dir: Option<&rustix::fs::Dir>, name: &[u8]) {
        if artifact::legacy_stem(name).is_some() {
            let stat = match dir.and_then(|dir| dir.fd().ok()) {
                Some(fd) => rustix::fs::statat(fd, OsStr::from_bytes(name), AtFlags::SYMLINK_NOFOLLOW)
                    .map(|stat| (FileType::from_raw_mode(stat.st_mode), u64::try_from(stat.st_size).unwrap_or(0))),
                None => rustix::fs::lstat(path)
                    .map(|stat| (FileType::from_raw_mode(stat.st_mode), u64::try_from(stat.st_size).unwrap_or(0))),
            };
            // Python imports a file (or a link to one); a FIFO, device or
            // socket is nothing it loads, and nothing git shows (attack 7).
            match stat {
                Ok((FileType::RegularFile | FileType::Symlink, size)) => self.visitor.legacy(path, size),
                Ok(_) => {}
                Err(_) => self.visitor.legacy(path, 0),
            }
        } else if name == b".gitignore" || artifact::is_bytecode_path(name) {
            self.visitor.listed(path);
        }
    }

    /// A real `__pycache__` folder in the open folder `parent`: read in one go, never entered.
    fn pycache(&self, path: &Path, parent: &rustix::fs::Dir) {
        match read_pycache(parent) {
            Ok(entries) => {
                for inner in entries.iter().filter(|inner| inner.is_dir) {
                    self.visitor.unentered(&path.join(&inner.name), Unentered::InPycache);
                }
                self.visitor.pycache(path, entries);
            }
            Err(Errno::NOTDIR | Errno::LOOP) => {}
            Err(error) => self.visitor.error(path, std::io::Error::from(error).to_string()),
        }
    }
}

/// Reads the `__pycache__` folder of `parent`, each entry with its `lstat`.
fn read_pycache(parent: &rustix::fs::Dir) -> Result<Vec<Entry>, Errno> {
    let fd = rustix::fs::openat(parent.fd()?, PYCACHE, DIR_FLAGS, Mode::empty())?;
    let mut dir = rustix::fs::Dir::new(fd)?;
    let mut entries = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        // A file gone since the listing (a compiler's temporary renamed) is not there.
        let stat = match rustix::fs::statat(dir.fd()?, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => continue,
            stat => stat?,
        };
        entries.push(Entry::of_stat(OsString::from(OsStr::from_bytes(name.to_bytes())), &stat));
    }
    Ok(entries)
}

/// Walks every root in parallel and reports to `visitor`.
pub fn walk(options: &Options, visitor: &dyn Visitor) {
    let roots = options.roots.iter().map(|root| Job { path: root.clone(), parent: None, depth: 0 }).collect();
    let queue = Queue { state: Mutex::new((roots, 0)), ready: Condvar::new() };
    let walker = Walker { visitor, include_venvs: options.include_venvs, open: Arc::new(AtomicUsize::new(0)) };
    std::thread::scope(|threads| {
        for _ in 0..options.threads.max(1) {
            threads.spawn(|| {
                while let Some(mut busy) = queue.next() {
                    if let Some(job) = busy.job.take() {
                        walker.read(job, &mut busy.found);
                    }
                }
            });
        }
    });
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
