//! Which Python interpreters compile, and what they are.
//!
//! Interpreters come from the first of these that names any: `--python`,
//! `PYCACHE_GUARD_PYTHON` (comma-separated), git config `pycache-guard.python`
//! (multi-valued), `[tool.pycache-guard] python` in `pyproject.toml` (bare
//! names only), an active `VIRTUAL_ENV`, an untracked `.venv` or `venv` in the
//! work tree, and finally `python3`.
//!
//! A cloned repository must not choose the program our hooks run: names from
//! committed configuration resolve only through `PATH`, relative `PATH`
//! entries are skipped, and nothing the repository tracks is ever executed.
//!
//! Each interpreter is asked once (`-I -S`, about 8 ms) for its real
//! executable, version, cache tag and magic number. The answer is kept in the
//! repository folder, keyed by path, size and mtime, so that later hooks start
//! no Python unless they compile. A version manager's shim (a script) is
//! resolved to the real executable once, and the key then also covers the
//! version manager's own selection (`PYENV_VERSION`, pyenv's `version` file,
//! `.python-version`).

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::index::Index;

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
            Origin::Default => "the default",
        }
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

/// Why an interpreter cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InterpreterError {
    /// Not found.
    #[error("`{name}` (from {}) was not found{}", .origin.describe(), if name.contains('/') { "" } else { " on `PATH`" })]
    NotFound {
        /// As named.
        name: String,
        /// Where.
        origin: Origin,
    },
    /// `pyproject.toml` named a path, which could point into the repository.
    #[error(
        "`{name}` in `pyproject.toml` is a path; only bare names, found on `PATH`, are accepted from committed configuration"
    )]
    PathFromProject {
        /// As named.
        name: String,
    },
    /// The repository tracks the file: running it would run the repository's code.
    #[error("refusing to run `{}`: the repository tracks it, and pycache-guard never executes tracked files", .path.display())]
    Tracked {
        /// The file.
        path: PathBuf,
    },
    /// Python 2, or an implementation without bytecode caches.
    #[error("`{}` cannot write `__pycache__` bytecode ({reason})", .path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// It did not answer as a Python should.
    #[error("`{}` did not answer: {message}", .path.display())]
    QueryFailed {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
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
    let from_env = std::env::var("PYCACHE_GUARD_PYTHON")
        .map(|value| value.split(',').map(str::to_string).collect())
        .unwrap_or_default();
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
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|value| !value.is_empty()) {
        let python = Path::new(&venv).join("bin/python");
        return vec![Request { name: python.to_string_lossy().into_owned(), origin: Origin::VirtualEnv }];
    }
    for venv in [".venv", "venv"] {
        let dir = workdir.join(venv);
        // Only a virtual environment the repository does not track: a committed one is the repository's code.
        if dir.join("pyvenv.cfg").is_file() && !index.contains_under(venv.as_bytes()) {
            return vec![Request {
                name: dir.join("bin/python").to_string_lossy().into_owned(),
                origin: Origin::LocalVenv,
            }];
        }
    }
    vec![Request { name: "python3".into(), origin: Origin::Default }]
}

/// Finds the file a request names.
pub fn resolve(request: &Request, cwd: &Path, workdir: &Path, index: &Index) -> Result<PathBuf, InterpreterError> {
    let not_found = || InterpreterError::NotFound { name: request.name.clone(), origin: request.origin };
    let bare = !request.name.contains('/');
    if request.origin == Origin::Pyproject && !bare {
        return Err(InterpreterError::PathFromProject { name: request.name.clone() });
    }
    let path = if bare {
        search_path(&request.name).ok_or_else(not_found)?
    } else {
        crate::paths::normalize(&cwd.join(&request.name))
    };
    if !is_executable_file(&path) {
        return Err(not_found());
    }
    let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
    for candidate in [&path, &canonical] {
        if let Ok(relative) = candidate.strip_prefix(workdir)
            && index.contains(relative.as_os_str().as_bytes())
        {
            return Err(InterpreterError::Tracked { path: candidate.clone() });
        }
    }
    Ok(path)
}

/// `PATH` lookup that skips relative entries: they would resolve against the
/// work tree a hook runs in.
fn search_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable_file(candidate))
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
}

/// Printed by every Python from 2.7 on; the answer is one value per line.
const QUERY: &str = "import sys
if sys.version_info[0] < 3:
    sys.stdout.write('python2\\n%s\\n' % sys.executable)
else:
    import importlib.util
    magic = importlib.util.MAGIC_NUMBER
    sys.stdout.write('\\n'.join(['python3', sys.executable, '%d.%d.%d' % sys.version_info[:3],
        sys.implementation.cache_tag or '', str(magic[0] | magic[1] << 8), '']))
";

/// Asks an interpreter about itself (isolated, without `site`).
pub fn query(path: &Path) -> Result<Info, InterpreterError> {
    let failed = |message: String| InterpreterError::QueryFailed { path: path.to_path_buf(), message };
    let output = Command::new(path)
        .args(["-I", "-S", "-c", QUERY])
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| failed(error.to_string()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    match lines.first() {
        Some(&"python2") => {
            return Err(InterpreterError::Unsupported {
                path: path.to_path_buf(),
                reason: "Python 2 writes bytecode beside the sources; pycache-guard works with Python 3".into(),
            });
        }
        Some(&"python3") if lines.len() >= 5 => {}
        _ => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(failed(crate::display::sanitize_text(stderr.lines().last().unwrap_or("no answer"))));
        }
    }
    let cache_tag = lines[3].to_string();
    if cache_tag.is_empty() {
        return Err(InterpreterError::Unsupported { path: path.to_path_buf(), reason: "it has no cache tag".into() });
    }
    let magic = lines[4].parse().map_err(|_| failed(format!("unexpected magic number {:?}", lines[4])))?;
    Ok(Info { executable: PathBuf::from(lines[1]), version: lines[2].to_string(), cache_tag, magic })
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
        std::fs::read(Self::path(git_dir))
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
        if std::fs::create_dir_all(dir).is_err() {
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
    pub fn info(&mut self, path: &Path, workdir: &Path) -> Result<Info, InterpreterError> {
        let key = path.to_string_lossy().into_owned();
        let meta = std::fs::metadata(path)
            .map_err(|error| InterpreterError::QueryFailed { path: path.to_path_buf(), message: error.to_string() })?;
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
        let info = query(path)?;
        self.interpreters.insert(key, CacheEntry { size: meta.size(), mtime_ns, fingerprint, info: info.clone() });
        self.dirty = true;
        Ok(info)
    }
}

/// For a script (a version manager's shim), what decides which Python it runs.
fn fingerprint(path: &Path, workdir: &Path) -> String {
    let mut head = [0u8; 2];
    let is_script =
        std::fs::File::open(path).and_then(|mut file| std::io::Read::read_exact(&mut file, &mut head)).is_ok()
            && &head == b"#!";
    if !is_script {
        return String::new();
    }
    let mtime = |path: &Path| {
        std::fs::metadata(path).map(|meta| format!("{}.{}", meta.mtime(), meta.mtime_nsec())).unwrap_or_default()
    };
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")))
        .unwrap_or_default();
    let local_version = workdir.ancestors().map(|dir| dir.join(".python-version")).find(|file| file.is_file());
    format!(
        "PYENV_VERSION={:?};global={};local={}",
        std::env::var_os("PYENV_VERSION").unwrap_or_default(),
        mtime(&pyenv_root.join("version")),
        local_version.map(|file| format!("{}@{}", file.display(), mtime(&file))).unwrap_or_default()
    )
}

/// Resolves and queries every request. Failures come back one by one so the
/// caller can warn and go on with the interpreters that work.
pub fn discover(
    requests: &[Request],
    cwd: &Path,
    workdir: &Path,
    index: &Index,
    cache: &mut Cache,
) -> (Vec<Interpreter>, Vec<InterpreterError>) {
    let mut found: Vec<Interpreter> = Vec::new();
    let mut errors = Vec::new();
    for request in requests {
        let outcome = resolve(request, cwd, workdir, index).and_then(|path| Ok((cache.info(&path, workdir)?, path)));
        match outcome {
            // Two names for one interpreter (a shim and its target) compile once.
            Ok((info, _)) if found.iter().any(|other| other.info.executable == info.executable) => {}
            Ok((info, path)) => found.push(Interpreter { request: request.clone(), path, info }),
            Err(error) => errors.push(error),
        }
    }
    (found, errors)
}
