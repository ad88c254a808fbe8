//! The interpreter a project pins in `.python-version`, found the way pyenv
//! and uv find it.
//!
//! The file is committed, so only a version name is accepted from it, never
//! a path: `3.12.1`, `3.12`, `pypy3.10-7.3.12`, `cpython@3.12`. A name
//! resolves, in this order, to:
//!
//! - pyenv's `$(pyenv root)/versions/<name>` (`PYENV_ROOT`, else
//!   `~/.pyenv`), or, as pyenv 2.3+ does for a prefix such as `3.12`, the
//!   newest final release installed under it;
//! - uv's managed Pythons (`UV_PYTHON_INSTALL_DIR`, else
//!   `$XDG_DATA_HOME/uv/python`, else `~/.local/share/uv/python`), folders
//!   named `cpython-3.12.1-linux-x86_64-gnu`;
//! - `python3.12` on `PATH`, which the caller then asks for its version.
//!
//! The version managers' own shims read the same files from the folder they
//! run in; [`unsafe_version_file`] says whether running one in the work tree
//! would let the repository pick a path for it to execute.

use std::path::{Path, PathBuf};

/// The files version managers read to pick a Python in a folder.
const VERSION_FILES: [&str; 2] = [".python-version", ".tool-versions"];

/// The first version named in the work tree's `.python-version`, if any.
/// `system` (pyenv's word for "no managed version") names none.
pub fn pinned(workdir: &Path) -> Option<String> {
    let text = crate::safe_fs::read_small(&workdir.join(".python-version"), crate::safe_fs::CONFIG_LIMIT).ok()?;
    let text = String::from_utf8_lossy(&text);
    let name = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .find(|line| !line.is_empty())?
        .split_whitespace()
        .next()?
        .to_string();
    (name != "system").then_some(name)
}

/// A version name as the version managers accept them: no path, no
/// `path:` or `ref:` forms, nothing a shell or a folder lookup could misread.
pub fn is_version_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "._+-@".contains(c))
        && !name.contains("..")
}

/// The first version file in the work tree whose content is not plain
/// version names: a version manager run there could be sent to a path.
pub fn unsafe_version_file(workdir: &Path) -> Option<PathBuf> {
    VERSION_FILES.into_iter().map(|name| workdir.join(name)).find(|file| {
        // A version manager reads it too: one that is not a small regular
        // file (a link to `/dev/tty` would hang it) is as unsafe as a path.
        let text = match crate::safe_fs::read_small(file, crate::safe_fs::CONFIG_LIMIT) {
            Ok(text) => text,
            Err(error) => return error.kind() != std::io::ErrorKind::NotFound,
        };
        let text = String::from_utf8_lossy(&text);
        let mut words = text.lines().map(|line| line.split('#').next().unwrap_or("")).flat_map(str::split_whitespace);
        let tool_versions = file.ends_with(".tool-versions");
        // `.tool-versions` lines are `tool version...`; the tool names are checked as names too.
        !words.all(|word| is_version_name(word) || (tool_versions && word == "system"))
    })
}

/// pyenv's root: `PYENV_ROOT`, else `~/.pyenv`.
pub fn pyenv_root() -> Option<PathBuf> {
    crate::env::pyenv_root().or_else(|| crate::env::home().map(|home| home.join(".pyenv")))
}

/// uv's folder of managed Pythons.
fn uv_python_dir() -> Option<PathBuf> {
    crate::env::uv_python_install_dir()
        .or_else(|| crate::env::xdg_data_home().map(|data| data.join("uv/python")))
        .or_else(|| {
            crate::env::home()
                .filter(|home| !home.as_os_str().is_empty())
                .map(|home| home.join(".local/share/uv/python"))
        })
}

/// The numbers of a dotted version (`3.12.1` → `[3, 12, 1]`), `None` unless
/// it is a final release made only of numbers.
fn numbers(version: &str) -> Option<Vec<u32>> {
    version.split('.').map(|part| part.parse().ok()).collect()
}

/// True when `version` is `wanted` or a release under it (`3.12.1` under `3.12`).
pub fn matches(version: &str, wanted: &str) -> bool {
    version == wanted || version.strip_prefix(wanted).is_some_and(|rest| rest.starts_with('.'))
}

/// The newest of `names` that is `wanted` or a final release under it.
fn newest<'a>(names: impl Iterator<Item = (&'a str, PathBuf)>, wanted: &str) -> Option<PathBuf> {
    names
        .filter(|(version, _)| *version == wanted || (matches(version, wanted) && numbers(version).is_some()))
        .max_by_key(|(version, _)| (*version == wanted, numbers(version)))
        .map(|(_, path)| path)
}

/// The executable of a version folder: `bin/python3`, else `bin/python`.
fn executable_in(folder: &Path) -> Option<PathBuf> {
    ["bin/python3", "bin/python"].into_iter().map(|name| folder.join(name)).find(|path| super::is_executable_file(path))
}

/// Where a pinned version is installed, as pyenv and then uv would find it;
/// `Err` lists where it looked.
pub fn find(name: &str) -> Result<PathBuf, String> {
    let mut looked = Vec::new();
    if let Some(root) = pyenv_root() {
        let versions = root.join("versions");
        let wanted = name.strip_prefix("python-").unwrap_or(name);
        let entries: Vec<(String, PathBuf)> = fs_err::read_dir(&versions)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| Some((entry.file_name().into_string().ok()?, entry.path())))
            .collect();
        let found = newest(entries.iter().map(|(name, path)| (name.as_str(), path.clone())), wanted);
        if let Some(python) = found.as_deref().and_then(executable_in) {
            return Ok(python);
        }
        looked.push(format!("pyenv's `{}`", versions.display()));
    }
    if let Some(dir) = uv_python_dir() {
        let (implementation, version) = match name.split_once(['@', '-']) {
            Some((implementation, version)) if !implementation.starts_with(|c: char| c.is_ascii_digit()) => {
                (implementation, version)
            }
            _ => ("cpython", name),
        };
        // `cpython-3.12.1-linux-x86_64-gnu`: implementation, version, platform.
        let entries: Vec<(String, PathBuf)> = fs_err::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let folder = entry.file_name().into_string().ok()?;
                let rest = folder.strip_prefix(implementation)?.strip_prefix('-')?;
                Some((rest.split('-').next()?.to_string(), entry.path()))
            })
            .collect();
        let found = newest(entries.iter().map(|(version, path)| (version.as_str(), path.clone())), version);
        if let Some(python) = found.as_deref().and_then(executable_in) {
            return Ok(python);
        }
        looked.push(format!("uv's `{}`", dir.display()));
    }
    Err(looked.join(" or "))
}

/// The version number a name asks for (`3.12` for `cpython@3.12`), when it is one.
pub fn wanted_version(name: &str) -> Option<&str> {
    let version = name.strip_prefix("python-").or_else(|| name.strip_prefix("cpython@")).unwrap_or(name);
    let version = version.strip_prefix("cpython-").unwrap_or(version);
    numbers(version).map(|_| version)
}

/// The bare name to look for on `PATH` for a version: `python3.12` for `3.12.1`.
pub fn path_name(name: &str) -> Option<String> {
    let numbers = numbers(wanted_version(name)?)?;
    match numbers.as_slice() {
        [major, minor, ..] => Some(format!("python{major}.{minor}")),
        [major] => Some(format!("python{major}")),
        [] => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_exclude_paths_and_manager_forms() {
        for good in ["3.12.1", "3.12", "pypy3.10-7.3.12", "cpython@3.12", "3.13t", "3.13.0+freethreaded"] {
            assert!(is_version_name(good), "{good}");
        }
        for bad in ["../evil", "/usr/bin/python", "path:./venv", "ref:main", "", "-x", "a..b", "3.12 x", "a\u{1b}"] {
            assert!(!is_version_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn newest_prefers_the_exact_name_then_the_newest_final_release() {
        let names = ["3.12.1", "3.12.10", "3.12.2", "3.12-dev", "3.13.0", "3.1.4"];
        let pick = |wanted| newest(names.iter().map(|name| (*name, PathBuf::from(name))), wanted);
        assert_eq!(pick("3.12"), Some(PathBuf::from("3.12.10")));
        assert_eq!(pick("3.12.1"), Some(PathBuf::from("3.12.1")));
        assert_eq!(pick("3.1"), Some(PathBuf::from("3.1.4")));
        assert_eq!(pick("3.12-dev"), Some(PathBuf::from("3.12-dev")));
        assert_eq!(pick("3.11"), None);
    }

    #[test]
    fn path_names_follow_the_minor_version() {
        assert_eq!(path_name("3.12.1").as_deref(), Some("python3.12"));
        assert_eq!(path_name("cpython@3.13").as_deref(), Some("python3.13"));
        assert_eq!(path_name("pypy3.10"), None);
    }
}
