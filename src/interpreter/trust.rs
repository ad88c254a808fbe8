//! Whether a path may be executed as an interpreter.
//!
//! Nothing the repository tracks, and nothing it reaches through a symbolic
//! link, may run. Checking the final path is not enough: a committed `.venv`
//! symlink or submodule puts untracked-looking files behind a tracked
//! component. So the path is resolved here one component at a time, the way
//! the kernel does, and every step that lands in the work tree is checked:
//!
//! - the component is not an index entry (a file, a symlink, or a gitlink:
//!   a submodule's files are tracked by the submodule, not by us);
//! - it is not a symbolic link, except the executable itself, which a
//!   virtual environment links to its base interpreter (the link is followed
//!   here and the base interpreter is what runs);
//! - a symbolic link outside that resolves into the work tree is followed,
//!   and the work tree part is checked as if it had been named.
//!
//! CPython also reads start-up files relative to the path it was started as,
//! even under `-I -S`: `<executable>._pth` (3.11+, which replaces
//! `sys.path`, so a committed `encodings` package would run) and
//! `pyvenv.cfg` beside the executable or one folder up, whose `home` decides
//! where the standard library is searched. Those must not come from the work
//! tree either. See CPython's `Modules/getpath.py`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use bstr::ByteSlice;

use crate::index::Index;

/// The most symbolic links followed for one path, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// Why a path may not be executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Distrust {
    /// The repository tracks this component (a file, a link or a submodule).
    Tracked(PathBuf),
    /// A symbolic link inside the work tree leads on to the executable.
    LinkInWorkTree(PathBuf),
    /// CPython would read this `._pth` file from the work tree at start-up.
    PathFile(PathBuf),
    /// This `pyvenv.cfg` comes from the work tree in a way that can be committed.
    VenvConfig(PathBuf),
    /// This `pyvenv.cfg` sends CPython to look for its standard library in the work tree.
    VenvHome {
        /// The `pyvenv.cfg`.
        config: PathBuf,
        /// Its `home`.
        home: PathBuf,
    },
    /// An interpreter binary in the work tree would search for its standard library there.
    BinaryInWorkTree(PathBuf),
    /// Too many symbolic links, or a loop.
    TooManyLinks(PathBuf),
    /// This folder in the work tree is another repository (it holds `.git`).
    OtherRepository(PathBuf),
}

impl std::fmt::Display for Distrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |path: &Path| crate::display::quote_path(path.as_os_str().as_bytes());
        match self {
            Distrust::Tracked(path) => write!(f, "the repository tracks `{}`", show(path)),
            Distrust::LinkInWorkTree(path) => write!(f, "`{}` is a symbolic link in the work tree", show(path)),
            Distrust::PathFile(path) => {
                write!(f, "CPython would read `{}` from the work tree at start-up", show(path))
            }
            Distrust::VenvConfig(path) => write!(f, "its `{}` comes from the repository", show(path)),
            Distrust::VenvHome { config, home } => write!(
                f,
                "`home = {}` in `{}` points into the work tree, where CPython would look for its standard library",
                show(home),
                show(config)
            ),
            Distrust::BinaryInWorkTree(path) => write!(
                f,
                "`{}` lies in the work tree and is no virtual environment, so CPython would look for its standard library there",
                show(path)
            ),
            Distrust::TooManyLinks(path) => write!(f, "`{}` has too many levels of symbolic links", show(path)),
            Distrust::OtherRepository(path) => {
                write!(f, "`{}` is another repository (it holds `.git`), such as a submodule", show(path))
            }
        }
    }
}

/// The work tree and what git tracks in it.
#[derive(Clone, Copy)]
pub struct WorkTree<'a> {
    /// The canonical work-tree root.
    pub root: &'a Path,
    /// The index.
    pub index: &'a Index,
}

impl WorkTree<'_> {
    /// The repository-relative form of a path inside the work tree.
    fn relative<'p>(&self, path: &'p Path) -> Option<&'p Path> {
        path.strip_prefix(self.root).ok()
    }

    fn inside(&self, path: &Path) -> bool {
        path.starts_with(self.root)
    }

    fn tracked(&self, path: &Path) -> bool {
        self.relative(path).is_some_and(|relative| {
            !relative.as_os_str().is_empty() && self.index.contains(relative.as_os_str().as_bytes())
        })
    }
}

/// A path walked component by component.
struct Walked {
    /// The fully resolved path (no symbolic link left).
    real: PathBuf,
    /// Whether a link inside the work tree was followed (the executable's own).
    followed_link_in_tree: bool,
}

/// Resolves `path` (absolute) as the kernel would, refusing any step that a
/// repository could have put there. A component that does not exist ends the
/// walk: the caller finds out that the file is missing.
fn walk(path: &Path, tree: WorkTree<'_>) -> Result<Walked, Distrust> {
    let mut pending: VecDeque<OsString> = path.components().map(|c| c.as_os_str().to_os_string()).collect();
    let mut real = PathBuf::from("/");
    let mut links = 0;
    let mut followed_link_in_tree = false;
    while let Some(component) = pending.pop_front() {
        match Path::new(&component).components().next() {
            Some(Component::RootDir) | Some(Component::CurDir) | None => continue,
            Some(Component::ParentDir) => {
                real.pop();
                continue;
            }
            _ => {}
        }
        let next = real.join(&component);
        if tree.tracked(&next) {
            return Err(Distrust::Tracked(next));
        }
        let Ok(meta) = fs_err::symlink_metadata(&next) else {
            real = next;
            real.extend(pending.iter());
            break;
        };
        if !meta.file_type().is_symlink() {
            // A folder holding `.git` is another repository (a submodule, or
            // one git left behind when a submodule was removed upstream):
            // its files are chosen by whoever controls that repository.
            if meta.is_dir()
                && tree.inside(&next)
                && next != tree.root
                && fs_err::symlink_metadata(next.join(".git")).is_ok()
            {
                return Err(Distrust::OtherRepository(next));
            }
            real = next;
            continue;
        }
        if tree.inside(&next) {
            if !pending.is_empty() {
                return Err(Distrust::LinkInWorkTree(next));
            }
            followed_link_in_tree = true;
        }
        links += 1;
        let target = fs_err::read_link(&next).map_err(|_| Distrust::TooManyLinks(path.to_path_buf()))?;
        if links > MAX_LINKS {
            return Err(Distrust::TooManyLinks(path.to_path_buf()));
        }
        if target.is_absolute() {
            real = PathBuf::from("/");
        }
        for (position, part) in target.components().enumerate() {
            pending.insert(position, part.as_os_str().to_os_string());
        }
    }
    Ok(Walked { real, followed_link_in_tree })
}

/// True when the file starts with `#!`: the kernel runs another program for it.
pub fn is_script(path: &Path) -> bool {
    let mut head = [0u8; 2];
    crate::safe_fs::open_following(path).and_then(|mut file| std::io::Read::read_exact(&mut file, &mut head)).is_ok()
        && &head == b"#!"
}

/// Checks `path` and what CPython would read when started as it, and returns
/// the path to execute: `path` itself, or the resolved executable when the
/// name went through a virtual environment's link in the work tree.
pub fn vet(path: &Path, tree: WorkTree<'_>) -> Result<PathBuf, Distrust> {
    let walked = walk(path, tree)?;
    let run = if walked.followed_link_in_tree { walked.real.clone() } else { path.to_path_buf() };
    for candidate in [&run, &walked.real] {
        let mut pth = candidate.as_os_str().to_os_string();
        pth.push("._pth");
        let pth = PathBuf::from(pth);
        if fs_err::symlink_metadata(&pth).is_ok() && reaches_tree(&pth, tree) {
            return Err(Distrust::PathFile(pth));
        }
    }
    let venv = venv_config(&run, tree)?;
    if tree.inside(&walked.real) && !is_script(&walked.real) && venv.is_none() {
        return Err(Distrust::BinaryInWorkTree(walked.real));
    }
    Ok(run)
}

/// True when `path`, or what it resolves to, lies in the work tree.
fn reaches_tree(path: &Path, tree: WorkTree<'_>) -> bool {
    tree.inside(path) || path.canonicalize().is_ok_and(|real| tree.inside(&real))
}

/// The `pyvenv.cfg` CPython would read for `executable` (beside it or one
/// folder up), checked; `None` when there is none.
fn venv_config(executable: &Path, tree: WorkTree<'_>) -> Result<Option<PathBuf>, Distrust> {
    let Some(bin) = executable.parent() else { return Ok(None) };
    let config = [bin, bin.parent().unwrap_or(bin)]
        .into_iter()
        .map(|dir| dir.join("pyvenv.cfg"))
        .find(|config| fs_err::symlink_metadata(config).is_ok());
    let Some(config) = config else { return Ok(None) };
    if reaches_tree(&config, tree) {
        let walked = walk(&config, tree).map_err(|_| Distrust::VenvConfig(config.clone()))?;
        if walked.followed_link_in_tree {
            return Err(Distrust::VenvConfig(config));
        }
    }
    // Unreadable as a small regular file (a FIFO, a device, a huge one): not trusted.
    let text = crate::safe_fs::read_small(&config, crate::safe_fs::CONFIG_LIMIT)
        .map_err(|_| Distrust::VenvConfig(config.clone()))?;
    for line in text.split(|&byte| byte == b'\n') {
        let Some((key, value)) = line.split_once_str("=") else { continue };
        if key.trim_ascii() != b"home" {
            continue;
        }
        let home = PathBuf::from(std::ffi::OsStr::from_bytes(value.trim_ascii()));
        let home = crate::paths::normalize(&bin.join(home));
        if reaches_tree(&home, tree) {
            return Err(Distrust::VenvHome { config, home });
        }
    }
    Ok(Some(config))
}
