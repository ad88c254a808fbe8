//! Finding real CPython interpreters on this machine at run time: every
//! pyenv version's real executable (not its shim) and whatever `python3` is.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One interpreter.
#[derive(Clone, Debug)]
pub struct Python {
    /// `(major, minor)`.
    pub version: (u32, u32),
    /// The real executable.
    pub path: PathBuf,
    /// `sys.implementation.cache_tag`.
    pub tag: String,
}

fn ask(executable: &Path) -> Option<Python> {
    let out = Command::new(executable)
        .args(["-I", "-S", "-c", "import sys; print(sys.executable); print(sys.version_info[0], sys.version_info[1]); print(sys.implementation.cache_tag)"])
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    let path = PathBuf::from(lines.next()?);
    let mut version = lines.next()?.split(' ').map(|n| n.parse().unwrap_or(0));
    let version = (version.next()?, version.next()?);
    let tag = lines.next()?.to_string();
    (version.0 == 3 && !tag.is_empty()).then_some(Python { version, path, tag })
}

impl Python {
    /// The folder of its standard library.
    pub fn stdlib(&self) -> PathBuf {
        let out = Command::new(&self.path)
            .args(["-I", "-c", "import os; print(os.path.dirname(os.__file__))"])
            .output()
            .expect("python runs");
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }
}

/// Every CPython 3 found, one per minor version, oldest first.
pub fn all() -> &'static [Python] {
    static ALL: OnceLock<Vec<Python>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut found: Vec<Python> = Vec::new();
        let root = std::env::var_os("PYENV_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".pyenv")))
            .unwrap_or_default();
        let mut candidates: Vec<PathBuf> = std::fs::read_dir(root.join("versions"))
            .map(|dirs| dirs.flatten().map(|dir| dir.path().join("bin/python3")).collect())
            .unwrap_or_default();
        candidates.push(PathBuf::from("python3"));
        for candidate in candidates {
            if let Some(python) = ask(&candidate)
                && !found.iter().any(|other| other.version == python.version)
            {
                found.push(python);
            }
        }
        found.sort_by_key(|python| python.version);
        found
    })
}

/// The real executable behind `python3`, or failing that the newest CPython
/// 3 found; `None` on a machine without one (see [`require_python!`]).
pub fn found() -> Option<&'static Python> {
    static DEFAULT: OnceLock<Option<Python>> = OnceLock::new();
    DEFAULT.get_or_init(|| ask(Path::new("python3")).or_else(|| all().last().cloned())).as_ref()
}

/// The real executable behind `python3`. Panics without one: a test that
/// needs an interpreter should use [`require_python!`], which skips instead.
pub fn default() -> &'static Python {
    found().expect("no CPython 3 on this machine: install one (pyenv, or the system's python3)")
}

/// The default interpreter, or, on a machine without any CPython 3, a note
/// on stderr and a `return` from the calling test, which then passes as skipped.
#[allow(unused_macros, reason = "only the test binaries that need an interpreter use it")]
macro_rules! require_python {
    () => {
        match $crate::common::python::found() {
            Some(python) => python,
            None => {
                eprintln!("skipped: no CPython 3 on this machine (install one with pyenv, or the system's python3)");
                return;
            }
        }
    };
}
#[allow(unused_imports, reason = "only the test binaries that need an interpreter use it")]
pub(crate) use require_python;

/// Interpreters from 3.8 on (the versions the issue asks for), plus `python3`.
pub fn modern() -> Vec<&'static Python> {
    all().iter().filter(|python| python.version >= (3, 8) || python.path == default().path).collect()
}

/// Another interpreter than `python3`, for two-interpreter tests.
pub fn other_than_default() -> Option<&'static Python> {
    all().iter().rev().find(|python| python.version != default().version && python.version >= (3, 8))
}
