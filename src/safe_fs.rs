//! Reaching folders and files below a trusted root without ever following a
//! symbolic link, entering another repository or blocking on a special file.
//!
//! Every folder that pycache-guard reads, writes or deletes in is opened from
//! a trusted root (the work tree, or the `PYTHONPYCACHEPREFIX` tree) one
//! component at a time with `openat(O_NOFOLLOW | O_DIRECTORY)`, relative to
//! the folder opened before it, never by following a path string. A component
//! that is a symbolic link, is not a folder, is named `.git`, or holds `.git`
//! (a submodule, a nested repository, a worktree) is refused. Files are then
//! removed, renamed or opened relative to that verified folder, so a link
//! swapped in after the check is not followed either. What lies above the
//! root (say `/home` being a link) is the user's own choice and is trusted.
//!
//! Only regular files are read: [`open_regular`] opens with
//! `O_NOFOLLOW | O_NONBLOCK` (a FIFO or a terminal never blocks us) and checks
//! the type of what it opened before anything is read.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::artifact::CacheLocation;

/// Why a folder was not opened.
#[derive(Debug, thiserror::Error)]
pub enum SafeError {
    /// A component is a symbolic link.
    #[error("`{}` is a symbolic link; not following it", .0.display())]
    Symlink(PathBuf),
    /// A component is something other than a folder.
    #[error("`{}` is not a folder", .0.display())]
    NotDir(PathBuf),
    /// A component is `.git`, or holds `.git`: another repository's files.
    #[error("`{}` belongs to another repository (a `.git` folder or a nested repository); not entering it", .0.display())]
    Repository(PathBuf),
    /// The path is not below any trusted root.
    #[error("`{}` lies outside the work tree and the pycache prefix", .0.display())]
    Outside(PathBuf),
    /// A component does not exist.
    #[error("`{}` does not exist", .0.display())]
    Missing(PathBuf),
    /// Any other error from the system.
    #[error("`{}`: {}", .0.display(), .1)]
    Io(PathBuf, std::io::Error),
}

impl SafeError {
    fn from_errno(path: PathBuf, error: rustix::io::Errno) -> SafeError {
        match error {
            rustix::io::Errno::LOOP => SafeError::Symlink(path),
            rustix::io::Errno::NOTDIR => SafeError::NotDir(path),
            rustix::io::Errno::NOENT => SafeError::Missing(path),
            other => SafeError::Io(path, other.into()),
        }
    }
}

/// What a directory entry is, without following it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A FIFO, socket or device.
    Special,
}

impl Kind {
    fn of(file_type: FileType) -> Kind {
        match file_type {
            FileType::RegularFile => Kind::File,
            FileType::Directory => Kind::Dir,
            FileType::Symlink => Kind::Symlink,
            _ => Kind::Special,
        }
    }
}

/// A folder opened with no symbolic link below its root.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

const DIR_FLAGS: OFlags =
    OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::NOFOLLOW).union(OFlags::CLOEXEC).union(OFlags::NOCTTY);

impl Dir {
    /// Opens a trusted root itself (links above and at it are the user's).
    pub fn root(root: &Path) -> Result<Dir, SafeError> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(rustix::fs::CWD, root, flags, Mode::empty())
            .map_err(|error| SafeError::from_errno(root.to_path_buf(), error))?;
        Ok(Dir { fd, path: root.to_path_buf() })
    }

    /// Opens `path` (absolute, at or below `root`) one component at a time.
    pub fn open_beneath(root: &Path, path: &Path) -> Result<Dir, SafeError> {
        let mut dir = Dir::root(root)?;
        for name in components_below(root, path)? {
            dir = dir.child(&name)?;
        }
        Ok(dir)
    }

    /// Like [`Dir::open_beneath`], creating missing folders (and the root) as it goes.
    #[expect(clippy::disallowed_methods, reason = "`SafeError::Io` names the folder")]
    pub fn create_beneath(root: &Path, path: &Path) -> Result<Dir, SafeError> {
        let names = components_below(root, path)?;
        std::fs::create_dir_all(root).map_err(|error| SafeError::Io(root.to_path_buf(), error))?;
        let mut dir = Dir::root(root)?;
        for name in names {
            dir = match dir.child(&name) {
                Err(SafeError::Missing(_)) => {
                    match rustix::fs::mkdirat(&dir.fd, name.as_os_str(), Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => dir.child(&name)?,
                        Err(error) => return Err(SafeError::from_errno(dir.path.join(&name), error)),
                    }
                }
                other => other?,
            };
        }
        Ok(dir)
    }

    /// True when `path` could be created below `root` without meeting a link,
    /// a file or another repository: each existing component is checked, and
    /// the first missing one ends the check.
    pub fn check_creatable(root: &Path, path: &Path) -> Result<(), SafeError> {
        let names = components_below(root, path)?;
        let mut dir = match Dir::root(root) {
            Err(SafeError::Missing(_)) => return Ok(()),
            other => other?,
        };
        for name in names {
            dir = match dir.child(&name) {
                Err(SafeError::Missing(_)) => return Ok(()),
                other => other?,
            };
        }
        Ok(())
    }

    /// The child folder `name`, refused when it is a link, not a folder, `.git` or a repository.
    pub fn child(&self, name: &OsStr) -> Result<Dir, SafeError> {
        let path = self.path.join(name);
        if name == ".git" {
            return Err(SafeError::Repository(path));
        }
        let fd = match rustix::fs::openat(&self.fd, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => fd,
            // `O_NOFOLLOW | O_DIRECTORY` on a link fails with ENOTDIR on Linux, ELOOP elsewhere.
            Err(rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP) if self.kind_of(name) == Some(Kind::Symlink) => {
                return Err(SafeError::Symlink(path));
            }
            Err(error) => return Err(SafeError::from_errno(path, error)),
        };
        let child = Dir { fd, path };
        if child.kind_of(OsStr::new(".git")).is_some() {
            return Err(SafeError::Repository(child.path));
        }
        Ok(child)
    }

    /// The path this folder was reached by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries, with their kinds (links not followed).
    pub fn entries(&self) -> std::io::Result<Vec<(OsString, Kind)>> {
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd)? {
            let entry = entry?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::Unknown => match self.kind_of(name) {
                    Some(kind) => kind,
                    None => continue,
                },
                known => Kind::of(known),
            };
            out.push((name.to_os_string(), kind));
        }
        Ok(out)
    }

    /// What `name` is, without following it; `None` when it does not exist.
    pub fn kind_of(&self, name: &OsStr) -> Option<Kind> {
        self.stat(name).map(|(kind, _)| kind)
    }

    /// What `name` is and its size, without following it.
    pub fn stat(&self, name: &OsStr) -> Option<(Kind, u64)> {
        let stat = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
        Some((Kind::of(FileType::from_raw_mode(stat.st_mode)), u64::try_from(stat.st_size).unwrap_or(0)))
    }

    /// True when `name` resolves (following a final link, as importlib does) to a regular file.
    pub fn is_file(&self, name: &OsStr) -> bool {
        rustix::fs::statat(&self.fd, name, AtFlags::empty())
            .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile)
    }

    /// `(device, inode)`: the identity of this folder, to see whether it was swapped.
    pub fn identity(&self) -> std::io::Result<(u64, u64)> {
        let stat = rustix::fs::fstat(&self.fd)?;
        Ok((stat.st_dev, stat.st_ino))
    }

    /// Removes the file or link `name` (a folder is refused by the system).
    pub fn remove_file(&self, name: &OsStr) -> std::io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.fd, name, AtFlags::empty())?)
    }

    /// Removes the empty folder `name`.
    pub fn remove_dir(&self, name: &OsStr) -> std::io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR)?)
    }

    /// Renames `from` to `to`, both in this folder.
    pub fn rename(&self, from: &OsStr, to: &OsStr) -> std::io::Result<()> {
        Ok(rustix::fs::renameat(&self.fd, from, &self.fd, to)?)
    }

    /// Size and mtime (nanoseconds since the epoch) of `name`, without following it.
    pub fn size_and_mtime(&self, name: &OsStr) -> Option<(u64, i64)> {
        let stat = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
        let nanos = stat.st_mtime.saturating_mul(1_000_000_000).saturating_add(stat.st_mtime_nsec as i64);
        Some((u64::try_from(stat.st_size).unwrap_or(0), nanos))
    }

    /// Creates the new file `name` for writing (never an existing file, never
    /// through a link), readable by its owner only.
    pub fn create_file(&self, name: &OsStr) -> std::io::Result<std::fs::File> {
        self.create_file_with_mode(name, 0o600)
    }

    /// [`Dir::create_file`] with `mode` (less the umask, as `open` does).
    pub fn create_file_with_mode(&self, name: &OsStr, mode: u32) -> std::io::Result<std::fs::File> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(mode))?;
        Ok(std::fs::File::from(fd))
    }

    /// Opens the regular file `name` for reading (see [`open_regular`]).
    pub fn open_file(&self, name: &OsStr) -> std::io::Result<std::fs::File> {
        open_checked(self.fd.as_fd(), name)
    }
}

/// The names below `root` that lead to `path`; `..` or a path outside `root` is refused.
fn components_below(root: &Path, path: &Path) -> Result<Vec<OsString>, SafeError> {
    let relative = path.strip_prefix(root).map_err(|_| SafeError::Outside(path.to_path_buf()))?;
    relative
        .components()
        .filter(|component| !matches!(component, Component::CurDir))
        .map(|component| match component {
            Component::Normal(name) => Ok(name.to_os_string()),
            _ => Err(SafeError::Outside(path.to_path_buf())),
        })
        .collect()
}

fn open_checked(dir: std::os::fd::BorrowedFd<'_>, name: impl rustix::path::Arg) -> std::io::Result<std::fs::File> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::empty())?;
    if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::RegularFile {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok(std::fs::File::from(fd))
}

/// Opens `path` for reading only when it is a regular file: a final link is
/// not followed and a FIFO or device is refused without blocking.
#[expect(clippy::disallowed_methods, reason = "callers report the error with the file they opened")]
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    // lstat first, so that a device is never opened at all (opening some has effects).
    if !std::fs::symlink_metadata(path)?.file_type().is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    open_checked(rustix::fs::CWD, path)
}

/// The most a configuration file from the work tree may hold
/// (`pyproject.toml`, `.python-version`, a hook manager's configuration).
pub const CONFIG_LIMIT: u64 = 1 << 20;

/// Opens `path` for reading, following links as git and Python do, only
/// when what it leads to is a regular file: a FIFO, a terminal or a device
/// (a committed `pyproject.toml -> /dev/tty`) is refused without blocking,
/// and a device is never opened at all.
#[expect(clippy::disallowed_methods, reason = "callers report the error with the file they opened")]
pub fn open_following(path: &Path) -> std::io::Result<std::fs::File> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(rustix::fs::CWD, path, flags, Mode::empty())?;
    if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::RegularFile {
        return Err(not_regular());
    }
    Ok(std::fs::File::from(fd))
}

/// Reads a small file a repository may have chosen: a regular file only
/// (see [`open_following`]) of at most `limit` bytes, so a link to
/// `/dev/zero` or a gigabyte of TOML is an error, not the machine's memory.
pub fn read_small(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = open_following(path)?;
    let mut content = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit + 1), &mut content)?;
    if content.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} KiB; not reading it", limit >> 10),
        ));
    }
    Ok(content)
}

/// Reads a source, which may be a link (importlib follows it), only when
/// what it leads to is a regular file: a FIFO or a terminal never blocks.
#[expect(clippy::disallowed_methods, reason = "callers report the error with the source they read")]
pub fn read_source(path: &Path) -> std::io::Result<Vec<u8>> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let fd = rustix::fs::openat(rustix::fs::CWD, path, flags, Mode::empty())?;
    if FileType::from_raw_mode(rustix::fs::fstat(&fd)?.st_mode) != FileType::RegularFile {
        return Err(not_regular());
    }
    let mut content = Vec::new();
    std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut content)?;
    Ok(content)
}

/// The trusted roots: the work tree, and the pycache prefix when one is set.
#[derive(Clone, Debug)]
pub struct Roots {
    roots: Vec<PathBuf>,
    /// A trusted folder of our own (below the repository folder) where files
    /// are written before they are renamed into place: see [`Staged`].
    staging: Option<(PathBuf, PathBuf)>,
}

impl Roots {
    /// The roots for caches at `location` of the work tree `workdir`.
    pub fn new(workdir: &Path, location: &CacheLocation) -> Roots {
        let mut roots = vec![workdir.to_path_buf()];
        if let CacheLocation::Prefix(prefix) = location {
            roots.push(prefix.clone());
        }
        Roots { roots, staging: None }
    }

    /// These roots, with files staged in `folder` below the trusted `root`
    /// (the repository folder) instead of beside their targets.
    pub fn staging_in(mut self, root: &Path, folder: &Path) -> Roots {
        self.staging = Some((root.to_path_buf(), folder.to_path_buf()));
        self
    }

    /// The work tree.
    pub fn workdir(&self) -> &Path {
        &self.roots[0]
    }

    /// The deepest root that holds `path`.
    pub fn root_of(&self, path: &Path) -> Option<&Path> {
        self.roots
            .iter()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.as_os_str().len())
            .map(PathBuf::as_path)
    }

    /// Opens the folder `dir` from the root that holds it.
    pub fn open(&self, dir: &Path) -> Result<Dir, SafeError> {
        let root = self.root_of(dir).ok_or_else(|| SafeError::Outside(dir.to_path_buf()))?;
        Dir::open_beneath(root, dir)
    }

    /// Opens the folder that holds `path`, and gives the file's name.
    pub fn open_parent<'p>(&self, path: &'p Path) -> Result<(Dir, &'p OsStr), SafeError> {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(SafeError::Outside(path.to_path_buf()));
        };
        Ok((self.open(parent)?, name))
    }
}

/// Opens folders below [`Roots`] as [`Roots::open`] does, keeping the folders
/// it opened: a folder's child is opened from it instead of walking from the
/// root again. A hook that looks at the caches of hundreds of sources in a
/// few folders opened each component of each path once per source before.
/// At most [`Opener::KEPT`] folders stay open; past that it starts afresh.
#[derive(Debug)]
pub struct Opener {
    roots: Roots,
    /// The folders opened so far, by their paths' bytes.
    opened: std::collections::HashMap<Vec<u8>, Dir>,
}

impl Opener {
    /// How many opened folders are kept (each holds a descriptor).
    pub const KEPT: usize = 256;

    /// An opener with nothing open yet.
    pub fn new(roots: Roots) -> Opener {
        Opener { roots, opened: std::collections::HashMap::new() }
    }

    /// Calls `with` on the folder `dir`, opened from the root that holds it
    /// one component at a time, refused as [`Dir::child`] refuses.
    pub fn with_dir<R>(&mut self, dir: &Path, with: impl FnOnce(&Dir) -> R) -> Result<R, SafeError> {
        let key = |path: &Path| path.as_os_str().as_bytes().to_vec();
        if let Some(opened) = self.opened.get(dir.as_os_str().as_bytes()) {
            return Ok(with(opened));
        }
        let root = self.roots.root_of(dir).ok_or_else(|| SafeError::Outside(dir.to_path_buf()))?.to_path_buf();
        let names = components_below(&root, dir)?;
        if self.opened.len() + names.len() + 1 > Opener::KEPT {
            self.opened.clear();
        }
        // The deepest folder on the way that is already open.
        let mut reached = root.clone();
        let mut start = 0;
        for (depth, name) in names.iter().enumerate() {
            let next = reached.join(name);
            if !self.opened.contains_key(next.as_os_str().as_bytes()) {
                break;
            }
            reached = next;
            start = depth + 1;
        }
        if !self.opened.contains_key(reached.as_os_str().as_bytes()) {
            self.opened.insert(key(&reached), Dir::root(&root)?);
        }
        for name in &names[start..] {
            let child = self.opened[reached.as_os_str().as_bytes()].child(name)?;
            reached = child.path.clone();
            self.opened.insert(key(&reached), child);
        }
        Ok(with(&self.opened[reached.as_os_str().as_bytes()]))
    }
}

/// A file written under a temporary name, then moved into a verified folder.
///
/// This process writes its own files ([`Staged::prepare`]) beside the
/// target, created through the verified folder's descriptor
/// ([`Staged::create`]). A compile worker writes by path, so its file
/// ([`Staged::prepare_for_worker`]) is not put beside the target: a folder on
/// the way could be swapped for a link while a compile runs (a second
/// checkout, where the package became a committed link), and the write would
/// land wherever the link leads. With [`Roots::staging_in`] it is written in a
/// folder of our own below the repository folder, and [`Staged::commit`]
/// moves it into the target folder reached again from the root, only if that
/// folder is still the one verified before the write (renamed across
/// folders, or copied through the verified folder when the two lie on
/// different file systems).
#[derive(Debug)]
pub struct Staged {
    root: PathBuf,
    dir: PathBuf,
    identity: (u64, u64),
    /// The staging folder (its root, and itself), when not beside the target.
    staging: Option<(PathBuf, PathBuf)>,
    temporary: OsString,
    name: OsString,
}

impl Staged {
    /// For a file this process writes ([`Staged::create`]): the temporary
    /// file is created in the verified target folder itself, through its
    /// descriptor, so no link swapped in on the way can lead the write.
    pub fn prepare(roots: &Roots, target: &Path, unique: usize) -> Result<Staged, SafeError> {
        Staged::prepare_in(roots, target, unique, None)
    }

    /// For a file another process writes by path (a compile worker): staged
    /// in the staging folder of `roots` when it has one. Creates (or
    /// verifies) the folder of `target` below its root and picks a temporary
    /// name. `unique` tells apart files staged by one process.
    pub fn prepare_for_worker(roots: &Roots, target: &Path, unique: usize) -> Result<Staged, SafeError> {
        Staged::prepare_in(roots, target, unique, roots.staging.as_ref())
    }

    fn prepare_in(
        roots: &Roots,
        target: &Path,
        unique: usize,
        staging: Option<&(PathBuf, PathBuf)>,
    ) -> Result<Staged, SafeError> {
        let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
            return Err(SafeError::Outside(target.to_path_buf()));
        };
        let root = roots.root_of(parent).ok_or_else(|| SafeError::Outside(target.to_path_buf()))?;
        let dir = Dir::create_beneath(root, parent)?;
        if dir.kind_of(name).is_some_and(|kind| kind != Kind::File) {
            return Err(SafeError::Io(target.to_path_buf(), not_regular()));
        }
        if let Some((staging_root, staging)) = staging {
            Dir::create_beneath(staging_root, staging)?;
        }
        // `<name>.<digits>` is what an interrupted atomic write leaves, so a
        // kill before the rename leaves a file `clean` recognises and removes.
        let mut temporary = name.to_os_string();
        temporary.push(format!(".{}{unique:06}", std::process::id()));
        let identity = dir.identity().map_err(|error| SafeError::Io(parent.to_path_buf(), error))?;
        Ok(Staged {
            root: root.to_path_buf(),
            dir: parent.to_path_buf(),
            identity,
            staging: staging.cloned(),
            temporary,
            name: name.to_os_string(),
        })
    }

    /// Where the writer is to write.
    pub fn temporary_path(&self) -> PathBuf {
        match &self.staging {
            Some((_, staging)) => staging.join(&self.temporary),
            None => self.dir.join(&self.temporary),
        }
    }

    /// Creates the temporary file for this process to write, in the target
    /// folder reached again from its root (and still the one verified), with
    /// `mode` less the umask.
    pub fn create(&self, mode: u32) -> std::io::Result<std::fs::File> {
        let dir = self.reopen().map_err(std::io::Error::other)?;
        dir.create_file_with_mode(&self.temporary, mode)
    }

    /// The folder the file goes to.
    pub fn folder(&self) -> &Path {
        &self.dir
    }

    fn reopen(&self) -> Result<Dir, SafeError> {
        let dir = Dir::open_beneath(&self.root, &self.dir)?;
        match dir.identity() {
            Ok(identity) if identity == self.identity => Ok(dir),
            _ => Err(SafeError::Io(self.dir.clone(), std::io::Error::other("the folder was replaced while writing"))),
        }
    }

    /// The folder the writer wrote in.
    fn written_in(&self) -> Result<Dir, SafeError> {
        match &self.staging {
            Some((root, staging)) => Dir::open_beneath(root, staging),
            None => self.reopen(),
        }
    }

    /// Moves the written file into place, if it is a regular file and the
    /// target folder is still the one verified when the write was prepared.
    pub fn commit(self) -> Result<(), SafeError> {
        let target = self.dir.join(&self.name);
        let written_in = self.written_in()?;
        let dir = match self.reopen() {
            Ok(dir) => dir,
            Err(error) => {
                let _ = written_in.remove_file(&self.temporary);
                return Err(error);
            }
        };
        let written = written_in.kind_of(&self.temporary) == Some(Kind::File);
        let replaceable = dir.kind_of(&self.name).is_none_or(|kind| kind == Kind::File);
        if !written || !replaceable {
            let _ = written_in.remove_file(&self.temporary);
            return Err(SafeError::Io(target, not_regular()));
        }
        if self.staging.is_none() {
            return dir.rename(&self.temporary, &self.name).map_err(|error| SafeError::Io(target, error));
        }
        let moved = rustix::fs::renameat(&written_in.fd, &self.temporary, &dir.fd, &self.name);
        let result = match moved {
            Ok(()) => Ok(()),
            // Another file system: copied through the verified folder, then renamed there.
            Err(rustix::io::Errno::XDEV) => copy_into(&written_in, &self.temporary, &dir, &self.name),
            Err(error) => Err(error.into()),
        };
        let _ = written_in.remove_file(&self.temporary);
        result.map_err(|error| SafeError::Io(target, error))
    }

    /// Removes what the writer may have left.
    pub fn discard(self) {
        if let Ok(dir) = self.written_in()
            && dir.kind_of(&self.temporary) == Some(Kind::File)
        {
            let _ = dir.remove_file(&self.temporary);
        }
    }
}

/// Removes what writers that are gone left in the staging folder `staging`
/// (below the trusted `root`): a `kill -9` of a rebuild leaves its workers'
/// files there. A name ends in the staging process's id and six digits.
pub fn clear_staging(root: &Path, staging: &Path) {
    let Ok(dir) = Dir::open_beneath(root, staging) else { return };
    for (name, kind) in dir.entries().unwrap_or_default() {
        let bytes = name.as_bytes();
        let digits = bytes.iter().rev().take_while(|byte| byte.is_ascii_digit()).count();
        let Some(pid) = (digits > 6 && bytes.len() > digits && bytes[bytes.len() - digits - 1] == b'.')
            .then(|| std::str::from_utf8(&bytes[bytes.len() - digits..bytes.len() - 6]).ok())
            .flatten()
            .and_then(|pid| pid.parse::<i32>().ok())
            .and_then(rustix::process::Pid::from_raw)
        else {
            continue;
        };
        let gone = matches!(rustix::process::test_kill_process(pid), Err(rustix::io::Errno::SRCH));
        if gone && kind == Kind::File {
            let _ = dir.remove_file(&name);
        }
    }
}

/// Copies the regular file `from` of the folder `source` to `name` in the
/// folder `target`, under a temporary name first, keeping its permissions.
fn copy_into(source: &Dir, from: &OsStr, target: &Dir, name: &OsStr) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut input = source.open_file(from)?;
    let mode = input.metadata()?.permissions().mode();
    let mut temporary = name.to_os_string();
    // Digits, as every temporary name: `clean` knows what a kill leaves.
    temporary.push(format!(".{}999999", std::process::id()));
    let copied = target.create_file(&temporary).and_then(|mut output| {
        std::io::copy(&mut input, &mut output)?;
        output.set_permissions(std::fs::Permissions::from_mode(mode & 0o777))
    });
    match copied.and_then(|()| target.rename(&temporary, name)) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = target.remove_file(&temporary);
            Err(error)
        }
    }
}

fn not_regular() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file; not replacing it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opener_refuses_what_a_walk_from_the_root_refuses_and_reuses_what_it_opened() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap();
        fs_err::create_dir_all(root.join("real/sub/deeper")).unwrap();
        fs_err::create_dir_all(root.join("nested/.git")).unwrap();
        fs_err::create_dir_all(root.join("nested/inner")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("real/sub/link")).unwrap();
        fs_err::write(root.join("real/sub/deeper/file"), "").unwrap();
        let mut opener = Opener::new(Roots::new(&root, &CacheLocation::Pycache));
        let names = |dir: &Dir| dir.entries().unwrap().into_iter().map(|(name, _)| name).collect::<Vec<_>>();
        assert_eq!(opener.with_dir(&root.join("real/sub/deeper"), names).unwrap(), vec![OsString::from("file")]);
        // Below folders it already holds open, a link or a repository is still refused.
        assert!(matches!(opener.with_dir(&root.join("real/sub/link"), |_| ()), Err(SafeError::Symlink(_))));
        assert!(matches!(opener.with_dir(&root.join("real/sub/link/sub"), |_| ()), Err(SafeError::Symlink(_))));
        assert!(matches!(opener.with_dir(&root.join("nested/inner"), |_| ()), Err(SafeError::Repository(_))));
        assert!(matches!(opener.with_dir(Path::new("/etc"), |_| ()), Err(SafeError::Outside(_))));
        assert!(matches!(opener.with_dir(&root.join("real/../nested"), |_| ()), Err(SafeError::Outside(_))));
        // A folder it opened is the one it reached then: swapping it for a
        // link afterwards does not lead the opener through the link.
        fs_err::rename(root.join("real/sub/deeper"), root.join("moved")).unwrap();
        std::os::unix::fs::symlink(root.join("nested"), root.join("real/sub/deeper")).unwrap();
        assert_eq!(opener.with_dir(&root.join("real/sub/deeper"), names).unwrap(), vec![OsString::from("file")]);
        // Past its limit it starts afresh, and then sees the link.
        for n in 0..Opener::KEPT {
            fs_err::create_dir_all(root.join(format!("many/{n}"))).unwrap();
            opener.with_dir(&root.join(format!("many/{n}")), |_| ()).unwrap();
        }
        assert!(opener.opened.len() <= Opener::KEPT);
        assert!(matches!(opener.with_dir(&root.join("real/sub/deeper"), |_| ()), Err(SafeError::Symlink(_))));
    }

    #[test]
    fn links_and_repositories_below_the_root_are_refused() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap();
        fs_err::create_dir_all(root.join("real/sub")).unwrap();
        fs_err::create_dir_all(root.join("nested/.git")).unwrap();
        fs_err::create_dir_all(root.join("nested/inner")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
        fs_err::write(root.join("file"), "").unwrap();
        assert!(Dir::open_beneath(&root, &root.join("real/sub")).is_ok());
        assert!(matches!(Dir::open_beneath(&root, &root.join("link/sub")), Err(SafeError::Symlink(_))));
        assert!(matches!(Dir::open_beneath(&root, &root.join("link")), Err(SafeError::Symlink(_))));
        assert!(matches!(Dir::open_beneath(&root, &root.join("nested/inner")), Err(SafeError::Repository(_))));
        assert!(matches!(Dir::open_beneath(&root, &root.join("nested/.git")), Err(SafeError::Repository(_))));
        assert!(matches!(Dir::open_beneath(&root, &root.join("file/x")), Err(SafeError::NotDir(_))));
        assert!(matches!(Dir::open_beneath(&root, &root.join("missing")), Err(SafeError::Missing(_))));
        assert!(matches!(Dir::open_beneath(&root, Path::new("/etc")), Err(SafeError::Outside(_))));
        assert!(matches!(Dir::open_beneath(&root, &root.join("real/../link")), Err(SafeError::Outside(_))));
        assert!(Dir::check_creatable(&root, &root.join("real/new/deeper")).is_ok());
        assert!(Dir::check_creatable(&root, &root.join("link/new")).is_err());
        let made = Dir::create_beneath(&root, &root.join("real/made/here")).unwrap();
        assert_eq!(made.path(), root.join("real/made/here"));
        assert!(Dir::create_beneath(&root, &root.join("link/made")).is_err());
        assert!(
            !root.join("real/made/x").exists() && !root.join("real/made").join("..").join("link").join("made").exists()
        );
    }

    #[test]
    fn only_regular_files_are_opened() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path();
        fs_err::write(root.join("file"), "x").unwrap();
        std::os::unix::fs::symlink(root.join("file"), root.join("link")).unwrap();
        let fifo = root.join("fifo");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        assert!(open_regular(&root.join("file")).is_ok());
        assert!(open_regular(&root.join("link")).is_err());
        assert!(open_regular(&fifo).is_err());
        let dir = Dir::root(root).unwrap();
        assert!(dir.open_file(OsStr::new("fifo")).is_err());
        assert!(dir.open_file(OsStr::new("link")).is_err());
        assert!(dir.open_file(OsStr::new("file")).is_ok());
    }

    #[test]
    fn a_staged_write_is_renamed_only_into_the_folder_it_was_verified_in() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap();
        let roots = Roots::new(&root, &CacheLocation::Pycache);
        let target = root.join("pkg/__pycache__/m.cpython-312.pyc");
        let staged = Staged::prepare(&roots, &target, 1).unwrap();
        fs_err::write(staged.temporary_path(), "new").unwrap();
        staged.commit().unwrap();
        assert_eq!(fs_err::read(&target).unwrap(), b"new");

        // The folder is swapped for a link to another one between the check and the rename.
        let staged = Staged::prepare(&roots, &target, 2).unwrap();
        fs_err::write(staged.temporary_path(), "newer").unwrap();
        fs_err::rename(root.join("pkg/__pycache__"), root.join("moved")).unwrap();
        std::os::unix::fs::symlink(root.join("moved"), root.join("pkg/__pycache__")).unwrap();
        assert!(staged.commit().is_err());
        assert_eq!(fs_err::read(root.join("moved/m.cpython-312.pyc")).unwrap(), b"new");

        // A FIFO at the target is never replaced.
        fs_err::remove_file(root.join("pkg/__pycache__")).unwrap();
        fs_err::create_dir(root.join("pkg/__pycache__")).unwrap();
        rustix::fs::mknodat(rustix::fs::CWD, &target, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        assert!(Staged::prepare(&roots, &target, 3).is_err());
    }
}
