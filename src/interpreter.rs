//! Which Python interpreters compile, and what they are.
//!
//! Interpreters come from the first of these that names any: `--python`,
//! `PYCACHE_GUARD_PYTHON` (comma-separated), git config `pycache-guard.python`
//! (multi-valued), `[tool.pycache-guard] python` in `pyproject.toml` (bare
//! names only), an active `VIRTUAL_ENV`, an untracked `.venv` or `venv` in the
//! work tree, the version pinned in `.python-version` (see [`managed`]), and
//! finally `python3`. Only that last, automatic choice may be missing without
//! an error.
//!
//! A cloned repository must not choose the program our hooks run: names from
//! committed configuration are names, never paths; relative `PATH` entries
//! are skipped; and every path is vetted before it runs ([`trust`]): nothing
//! the repository tracks, nothing reached through a symbolic link in the work
//! tree, and no start-up file CPython would read from the work tree.
//!
//! Each interpreter is asked once (`-I -S`, about 8 ms, with a time limit)
//! for its real executable, version, cache tag and magic number. The answer
//! is kept in the repository folder, keyed by path, size and mtime, so that
//! later hooks start no Python unless they compile. A version manager's shim
//! (a script) is asked from the work tree, as the user's shell would run it
//! there, so that it picks the version the project selects; the key then
//! also covers the version manager's own selection (`PYENV_VERSION`, pyenv's
//! `version` file, `.python-version`, `.tool-versions`).

pub mod managed;
mod query;
pub mod trust;

pub use query::query;

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::index::Index;
use trust::{Distrust, WorkTree};

/// Where an interpreter was named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--python`.
    CommandLine,
    /// `PYCACHE_GUARD_PYTHON`.
    Environment,
    /// git config `pycache-guard.python`.
    GitConfig,
    /// `[tool.pycache-guard] python` in `pyproject.toml`.
    Pyproject,
    /// `VIRTUAL_ENV`.
    VirtualEnv,
    /// An untracked `.venv` or `venv` in the work tree.
    LocalVenv,
    /// The version in `.python-version`.
    PythonVersionFile,
    /// The default, `python3`.
    Default,
}

impl Origin {
    /// Where it was named, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Origin::CommandLine => "`--python`",
            Origin::Environment => "`PYCACHE_GUARD_PYTHON`",
            Origin::GitConfig => "git config `pycache-guard.python`",
            Origin::Pyproject => "`[tool.pycache-guard] python` in `pyproject.toml`",
            Origin::VirtualEnv => "`VIRTUAL_ENV`",
            Origin::LocalVenv => "the virtual environment in the work tree",
            Origin::PythonVersionFile => "`.python-version`",
            Origin::Default => "the default",
        }
    }

    /// True when the repository's committed files chose it.
    fn is_committed(self) -> bool {
        matches!(self, Origin::Pyproject | Origin::PythonVersionFile)
    }
}

/// An interpreter as named, before resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The name or path.
    pub name: String,
    /// Where it came from.
    pub origin: Origin,
}

/// What an interpreter told us about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// `sys.executable`: the real binary behind any shim.
    pub executable: PathBuf,
    /// `major.minor.micro`.
    pub version: String,
    /// `sys.implementation.cache_tag`, such as `cpython-312`.
    pub cache_tag: String,
    /// `importlib.util.MAGIC_NUMBER` as a number.
    pub magic: u16,
}

impl Info {
    /// `(major, minor)`.
    pub fn major_minor(&self) -> (u32, u32) {
        let mut parts = self.version.split('.').map(|part| part.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }
}

/// A resolved, queried interpreter.
#[derive(Clone, Debug)]
pub struct Interpreter {
    /// How it was named.
    pub request: Request,
    /// The file the name resolved to.
    pub path: PathBuf,
    /// What it said about itself.
    pub info: Info,
}

/// Why an interpreter cannot be used, in one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Not on `PATH`, or no such executable file.
    NotFound,
    /// Committed configuration named a path, which could point into the repository.
    PathFromProject,
    /// `.python-version` holds something that is not a version name.
    NotAVersion,
    /// A pinned version is installed nowhere we looked.
    NotInstalled {
        /// Where we looked.
        looked: String,
    },
    /// Running it could run the repository's code.
    Distrusted {
        /// The file that would run.
        path: PathBuf,
        /// Why not.
        why: Distrust,
    },
    /// A version manager's shim would read this repository file and could be sent to a path.
    UnsafeVersionFile {
        /// The file.
        file: PathBuf,
    },
    /// Python 2.
    Python2 {
        /// `2.7`.
        version: String,
    },
    /// An implementation without `__pycache__` (no cache tag).
    NoCacheTag,
    /// It did not answer as a Python should.
    Failed {
        /// What went wrong, already escaped.
        message: String,
    },
    /// It did not answer in time and was killed.
    TimedOut {
        /// The limit.
        limit: Duration,
    },
    /// A pinned version found on `PATH` is another release.
    WrongVersion {
        /// What was found.
        found: String,
        /// Its version.
        version: String,
    },
}

/// An interpreter that cannot be used: which one, named where, and why. The
/// name and the interpreter's own words are kept as they came (a repository
/// or a broken interpreter chose them); the command layer escapes them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` (from {}) {}", origin.describe(), describe(problem, name))]
pub struct InterpreterError {
    /// As named.
    pub name: String,
    /// Where.
    pub origin: Origin,
    /// Why it cannot be used.
    pub problem: Problem,
}

impl InterpreterError {
    /// True for the automatic choice, `python3`, being absent: only that is a
    /// warning; an interpreter someone named and that cannot be used is an error.
    pub fn is_fallback(&self) -> bool {
        self.origin == Origin::Default && self.problem == Problem::NotFound
    }
}

fn describe(problem: &Problem, name: &str) -> String {
    let show = |path: &Path| crate::display::quote_path(path.as_os_str().as_bytes());
    match problem {
        Problem::NotFound if name.contains('/') => "does not exist or is not executable".into(),
        Problem::NotFound => "was not found on `PATH`".into(),
        Problem::PathFromProject => {
            "is a path; only bare names, found on `PATH`, are accepted from committed configuration".into()
        }
        Problem::NotAVersion => {
            "is not a version name; only names such as `3.12` or `3.12.1` are accepted there, never a path".into()
        }
        Problem::NotInstalled { looked } => format!("is not installed (looked in {looked} and on `PATH`)"),
        Problem::Distrusted { path, why } => format!(
            "would run `{}`, and pycache-guard never runs what a repository tracks or links to: {why}",
            show(path)
        ),
        Problem::UnsafeVersionFile { file } => format!(
            "is a version manager's shim, and `{}` in the work tree names something other than a version, which it could run",
            show(file)
        ),
        Problem::Python2 { version } => format!("is Python {version}; pycache-guard needs Python 3"),
        Problem::NoCacheTag => "writes no `__pycache__` bytecode (it has no cache tag)".into(),
        Problem::Failed { message } => format!("did not answer: {message}"),
        Problem::TimedOut { limit } => format!("did not answer within {} s and was stopped", limit.as_secs()),
        Problem::WrongVersion { found, version } => {
            format!("is not installed: `{}` is {version}", show(Path::new(found)))
        }
    }
}

/// Lists the requested interpreters from the first source that names any.
pub fn requests(
    flags: &[String],
    git_config: &[String],
    project: &[String],
    workdir: &Path,
    index: &Index,
) -> Vec<Request> {
    let named = |names: Vec<String>, origin| -> Vec<Request> {
        names
            .into_iter()
            .filter(|name| !name.trim().is_empty())
            .map(|name| Request { name: name.trim().to_string(), origin })
            .collect()
    };
    let from_env =
        crate::env::python_request().map(|value| value.split(',').map(str::to_string).collect()).unwrap_or_default();
    for (names, origin) in [
        (flags.to_vec(), Origin::CommandLine),
        (from_env, Origin::Environment),
        (git_config.to_vec(), Origin::GitConfig),
        (project.to_vec(), Origin::Pyproject),
    ] {
        let requests = named(names, origin);
        if !requests.is_empty() {
            return requests;
        }
    }
    if let Some(venv) = crate::env::virtual_env() {
        let python = Path::new(&venv).join("bin/python");
        return vec![Request { name: python.to_string_lossy().into_owned(), origin: Origin::VirtualEnv }];
    }
    for venv in [".venv", "venv"] {
        let dir = workdir.join(venv);
        // Only a real folder the repository does not track: a committed one, a
        // committed link or a submodule in its place is the repository's code.
        let is_folder = fs_err::symlink_metadata(&dir).is_ok_and(|meta| meta.is_dir());
        if is_folder
            && dir.join("pyvenv.cfg").is_file()
            && !index.contains(venv.as_bytes())
            && !index.contains_under(venv.as_bytes())
        {
            return vec![Request {
                name: dir.join("bin/python").to_string_lossy().into_owned(),
                origin: Origin::LocalVenv,
            }];
        }
    }
    if let Some(version) = managed::pinned(workdir) {
        return vec![Request { name: version, origin: Origin::PythonVersionFile }];
    }
    vec![Request { name: "python3".into(), origin: Origin::Default }]
}

/// Finds the file a request names and vets it; returns the path to execute.
pub fn resolve(request: &Request, cwd: &Path, tree: WorkTree<'_>) -> Result<PathBuf, InterpreterError> {
    let fail = |problem| InterpreterError { name: request.name.clone(), origin: request.origin, problem };
    let bare = !request.name.contains('/');
    if request.origin.is_committed() && !bare {
        return Err(fail(if request.origin == Origin::Pyproject {
            Problem::PathFromProject
        } else {
            Problem::NotAVersion
        }));
    }
    let path = if request.origin == Origin::PythonVersionFile {
        if !managed::is_version_name(&request.name) {
            return Err(fail(Problem::NotAVersion));
        }
        managed::find(&request.name).or_else(|looked| {
            managed::path_name(&request.name)
                .and_then(|name| search_path(&name))
                .ok_or_else(|| fail(Problem::NotInstalled { looked }))
        })?
    } else if bare {
        search_path(&request.name).ok_or_else(|| fail(Problem::NotFound))?
    } else {
        crate::paths::normalize(&cwd.join(&request.name))
    };
    if !is_executable_file(&path) {
        return Err(fail(Problem::NotFound));
    }
    trust::vet(&path, tree).map_err(|why| fail(Problem::Distrusted { path: path.clone(), why }))
}

/// `PATH` lookup that skips relative entries: they would resolve against the
/// work tree a hook runs in.
fn search_path(name: &str) -> Option<PathBuf> {
    let path = crate::env::path()?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable_file(candidate))
}

pub(crate) fn is_executable_file(path: &Path) -> bool {
    fs_err::metadata(path).is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
}

/// One cached answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CacheEntry {
    size: u64,
    mtime_ns: i64,
    fingerprint: String,
    info: Info,
}

/// The answers of earlier runs, kept in the repository folder.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Cache {
    #[serde(default)]
    interpreters: BTreeMap<String, CacheEntry>,
    #[serde(skip)]
    dirty: bool,
}

impl Cache {
    fn path(git_dir: &Path) -> PathBuf {
        crate::state::dir(git_dir).join("interpreters.json")
    }

    /// Loads the cache; a missing or unreadable one is empty.
    pub fn load(git_dir: &Path) -> Cache {
        crate::state::read(&Self::path(git_dir))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Saves the cache if it changed; failures only cost a query next time.
    pub fn save(&self, git_dir: &Path) {
        if !self.dirty {
            return;
        }
        let path = Self::path(git_dir);
        let Some(dir) = path.parent() else { return };
        if fs_err::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(json) = serde_json::to_vec_pretty(self)
            && let Ok(mut temporary) = tempfile::NamedTempFile::new_in(dir)
            && std::io::Write::write_all(&mut temporary, &json).is_ok()
        {
            let _ = temporary.persist(&path);
        }
    }

    /// The interpreter's answer, from the cache or by asking it.
    #[expect(clippy::disallowed_methods, reason = "the problem is reported with the interpreter it belongs to")]
    pub fn info(&mut self, path: &Path, workdir: &Path) -> Result<Info, Problem> {
        let key = path.to_string_lossy().into_owned();
        let meta = std::fs::metadata(path).map_err(|error| Problem::Failed { message: error.to_string() })?;
        let fingerprint = fingerprint(path, workdir);
        let mtime_ns = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
        if let Some(entry) = self.interpreters.get(&key)
            && entry.size == meta.size()
            && entry.mtime_ns == mtime_ns
            && entry.fingerprint == fingerprint
            && entry.info.executable.exists()
        {
            return Ok(entry.info.clone());
        }
        let info = query(path, workdir)?;
        self.interpreters.insert(key, CacheEntry { size: meta.size(), mtime_ns, fingerprint, info: info.clone() });
        self.dirty = true;
        Ok(info)
    }
}

/// For a script (a version manager's shim), what decides which Python it runs.
fn fingerprint(path: &Path, workdir: &Path) -> String {
    if !trust::is_script(path) {
        return String::new();
    }
    let mtime = |path: &Path| {
        fs_err::metadata(path).map(|meta| format!("{}.{}", meta.mtime(), meta.mtime_nsec())).unwrap_or_default()
    };
    let pyenv_root = managed::pyenv_root().unwrap_or_default();
    let local = |name: &str| {
        workdir
            .ancestors()
            .map(|dir| dir.join(name))
            .find(|file| file.is_file())
            .map(|file| format!("{}@{}", file.display(), mtime(&file)))
            .unwrap_or_default()
    };
    format!(
        "PYENV_VERSION={:?};global={};local={};tools={}",
        crate::env::pyenv_version(),
        mtime(&pyenv_root.join("version")),
        local(".python-version"),
        local(".tool-versions"),
    )
}

/// Resolves, vets and queries every request. Failures come back one by one
/// so the caller can decide: an error for a named interpreter, a warning in hooks.
pub fn discover(
    requests: &[Request],
    cwd: &Path,
    workdir: &Path,
    index: &Index,
    cache: &mut Cache,
) -> (Vec<Interpreter>, Vec<InterpreterError>) {
    let tree = WorkTree { root: workdir, index };
    let mut found: Vec<Interpreter> = Vec::new();
    let mut errors = Vec::new();
    for request in requests {
        let outcome = resolve(request, cwd, tree).and_then(|path| {
            let fail = |problem| InterpreterError { name: request.name.clone(), origin: request.origin, problem };
            let info = cache.info(&path, workdir).map_err(fail)?;
            check_answer(request, &info, tree).map_err(fail)?;
            Ok((info, path))
        });
        match outcome {
            // Two names for one interpreter (a shim and its target) compile once.
            Ok((info, _)) if found.iter().any(|other| other.info.executable == info.executable) => {}
            Ok((info, path)) => found.push(Interpreter { request: request.clone(), path, info }),
            Err(error) => errors.push(error),
        }
    }
    (found, errors)
}

/// What the workers will run is the executable the interpreter reported (a
/// shim's real target, possibly from the cache): it is vetted like any named
/// path. A pinned version must be the version found.
fn check_answer(request: &Request, info: &Info, tree: WorkTree<'_>) -> Result<(), Problem> {
    let executable = &info.executable;
    let vetted = trust::vet(executable, tree).map_err(|why| Problem::Distrusted { path: executable.clone(), why })?;
    if &vetted != executable {
        // A link in the work tree leads to it; workers must not start through that link.
        let why = Distrust::LinkInWorkTree(executable.clone());
        return Err(Problem::Distrusted { path: executable.clone(), why });
    }
    if request.origin == Origin::PythonVersionFile
        && let Some(wanted) = managed::wanted_version(&request.name)
        && !managed::matches(&info.version, wanted)
    {
        return Err(Problem::WrongVersion { found: executable.display().to_string(), version: info.version.clone() });
    }
    Ok(())
}
