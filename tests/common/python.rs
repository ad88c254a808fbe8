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
        assert!(!found.is_empty(), "no CPython 3 on this machine");
        found
    })
}

/// The real executable behind `python3`.
pub fn default() -> &'static Python {
    static DEFAULT: OnceLock<Python> = OnceLock::new();
    DEFAULT.get_or_init(|| ask(Path::new("python3")).expect("python3 runs"))
}

/// Interpreters from 3.8 on (the versions the issue asks for), plus `python3`.
pub fn modern() -> Vec<&'static Python> {
    all().iter().filter(|python| python.version >= (3, 8) || python.path == default().path).collect()
}

/// Another interpreter than `python3`, for two-interpreter tests.
pub fn other_than_default() -> Option<&'static Python> {
    all().iter().rev().find(|python| python.version != default().version && python.version >= (3, 8))
}
