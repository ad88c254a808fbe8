//! Hook shims: the POSIX `sh` scripts in `hooks/`, and installing them.
//!
//! Each shim execs `pycache-guard hook <name> "$@"`, using the absolute path
//! recorded at install time and falling back to `PATH`. A marker line on the
//! second line identifies our shims; every marker we ever wrote stays in
//! [`KNOWN_MARKERS`] so that old shims are still recognised and upgraded. A
//! foreign hook is moved aside to `<name>.pre-pycache-guard` and run first by
//! the shim; `uninstall` puts it back byte for byte.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A hook we can install.
#[derive(Clone, Copy, Debug)]
pub struct Shim {
    /// git's name for the hook.
    pub name: &'static str,
    template: &'static str,
}

/// Every hook pycache-guard serves, with its shim: the commit guard
/// (`pre-commit`, and `pre-merge-commit` for the commit a merge makes), and
/// every hook git runs after a command that can rewrite files, so that the
/// caches are reconciled whatever the command (see [`crate::record`]).
pub const SHIMS: [Shim; 9] = [
    Shim { name: "pre-commit", template: include_str!("../hooks/pre-commit") },
    Shim { name: "pre-merge-commit", template: include_str!("../hooks/pre-merge-commit") },
    Shim { name: "post-checkout", template: include_str!("../hooks/post-checkout") },
    Shim { name: "post-merge", template: include_str!("../hooks/post-merge") },
    Shim { name: "post-rewrite", template: include_str!("../hooks/post-rewrite") },
    Shim { name: "post-commit", template: include_str!("../hooks/post-commit") },
    Shim { name: "post-applypatch", template: include_str!("../hooks/post-applypatch") },
    Shim { name: "reference-transaction", template: include_str!("../hooks/reference-transaction") },
    Shim { name: "post-index-change", template: include_str!("../hooks/post-index-change") },
];

#[cfg(test)]
#[test]
fn there_is_one_shim_per_hook_type_in_its_order() {
    let names: Vec<&str> = SHIMS.iter().map(|shim| shim.name).collect();
    let hooks: Vec<&str> = crate::hook_type::HookType::ALL.iter().map(|hook| hook.name()).collect();
    assert_eq!(names, hooks);
}

/// Marker prefixes of every shim version ever shipped.
pub const KNOWN_MARKERS: [&str; 1] = ["# pycache-guard-shim "];

/// The suffix a foreign hook gets when it is moved aside.
pub const CHAINED_SUFFIX: &str = ".pre-pycache-guard";

/// The template line that receives the recorded binary path.
const EXE_LINE: &str = "exe=''";

/// Failures while installing, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    /// Reading, writing or renaming a hook file failed.
    #[error("cannot {action} `{path}`")]
    Io {
        /// What we tried.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A foreign hook is present and a chained one too: we would lose one of them.
    #[error("both `{hook}` and `{chained}` exist and neither is a pycache-guard shim")]
    ChainOccupied {
        /// The current hook.
        hook: PathBuf,
        /// The hook kept aside earlier.
        chained: PathBuf,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ShimError {
    let path = path.to_path_buf();
    move |source| ShimError::Io { action, path, source }
}

impl Shim {
    /// Finds the shim of a hook by name.
    pub fn named(name: &str) -> Option<Shim> {
        SHIMS.iter().copied().find(|shim| shim.name == name)
    }

    /// The script with the binary's absolute path recorded.
    pub fn render(&self, exe: &Path) -> String {
        let quoted = crate::display::shell_quote(exe.as_os_str().as_encoded_bytes());
        let quoted = if quoted.starts_with('\'') || quoted.starts_with('$') { quoted } else { format!("'{quoted}'") };
        self.template.replacen(EXE_LINE, &format!("exe={quoted}"), 1)
    }
}

/// True when a hook file is one of our shims, of any version.
pub fn is_ours(content: &[u8]) -> bool {
    let second_line = content.split(|&byte| byte == b'\n').nth(1).unwrap_or_default();
    KNOWN_MARKERS.iter().any(|marker| second_line.starts_with(marker.as_bytes()))
}

/// What `install` did to one hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installed {
    /// The shim was written where there was none.
    Created,
    /// An older or different shim of ours was replaced.
    Updated,
    /// Our shim was already there, identical.
    Unchanged,
    /// A foreign hook was moved aside and will run before ours.
    Chained {
        /// Where the foreign hook now lives.
        kept_as: PathBuf,
    },
}

/// What `uninstall` did to one hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Uninstalled {
    /// Our shim was removed.
    Removed,
    /// Our shim was removed and the foreign hook put back.
    Restored,
    /// The hook there is not ours; it was left alone.
    Foreign,
    /// Nothing was installed.
    Absent,
}

/// The path of the hook and of its chained predecessor.
pub fn hook_paths(hooks_dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (hooks_dir.join(name), hooks_dir.join(format!("{name}{CHAINED_SUFFIX}")))
}

fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, ShimError> {
    match fs_err::symlink_metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ShimError::Io { action: "inspect", path: path.to_path_buf(), source }),
        // A dangling symlink still occupies the name; treat its content as foreign.
        Ok(_) => Ok(Some(crate::safe_fs::read_small(path, crate::safe_fs::CONFIG_LIMIT).unwrap_or_default())),
    }
}

/// Writes `content` to `path` atomically with mode 0755.
fn write_script(path: &Path, content: &str) -> Result<(), ShimError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir).map_err(io("create", dir))?;
    let mut temporary =
        tempfile::Builder::new().prefix(".pycache-guard-").tempfile_in(dir).map_err(io("write", dir))?;
    std::io::Write::write_all(&mut temporary, content.as_bytes()).map_err(io("write", path))?;
    temporary.as_file().set_permissions(std::fs::Permissions::from_mode(0o755)).map_err(io("set the mode of", path))?;
    temporary.persist(path).map_err(|error| ShimError::Io {
        action: "write",
        path: path.to_path_buf(),
        source: error.error,
    })?;
    Ok(())
}

/// Installs one shim into `hooks_dir`, chaining a foreign hook that is there.
pub fn install(hooks_dir: &Path, shim: Shim, exe: &Path) -> Result<Installed, ShimError> {
    let (hook, chained) = hook_paths(hooks_dir, shim.name);
    let wanted = shim.render(exe);
    match read_existing(&hook)? {
        None => {
            write_script(&hook, &wanted)?;
            Ok(Installed::Created)
        }
        Some(content) if is_ours(&content) => {
            if content == wanted.as_bytes() && is_executable(&hook) {
                return Ok(Installed::Unchanged);
            }
            write_script(&hook, &wanted)?;
            Ok(Installed::Updated)
        }
        Some(_) => {
            if read_existing(&chained)?.is_some() {
                return Err(ShimError::ChainOccupied { hook, chained });
            }
            // A rename keeps the foreign hook byte for byte, with its mode, or as the symlink it is.
            fs_err::rename(&hook, &chained).map_err(io("move aside", &hook))?;
            if let Err(error) = write_script(&hook, &wanted) {
                let _ = fs_err::rename(&chained, &hook);
                return Err(error);
            }
            Ok(Installed::Chained { kept_as: chained })
        }
    }
}

/// Removes one shim, restoring the hook it chained.
pub fn uninstall(hooks_dir: &Path, name: &str) -> Result<Uninstalled, ShimError> {
    let (hook, chained) = hook_paths(hooks_dir, name);
    match read_existing(&hook)? {
        None => Ok(Uninstalled::Absent),
        Some(content) if !is_ours(&content) => Ok(Uninstalled::Foreign),
        Some(_) => {
            if read_existing(&chained)?.is_some() {
                fs_err::rename(&chained, &hook).map_err(io("restore", &chained))?;
                Ok(Uninstalled::Restored)
            } else {
                fs_err::remove_file(&hook).map_err(io("remove", &hook))?;
                Ok(Uninstalled::Removed)
            }
        }
    }
}

fn is_executable(path: &Path) -> bool {
    fs_err::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_shims_record_the_binary_and_stay_ours() {
        for shim in SHIMS {
            assert!(shim.template.contains(EXE_LINE), "{} has no exe line", shim.name);
            assert!(shim.template.contains(&format!("hook {} \"$@\"", shim.name)), "{}", shim.name);
            let rendered = shim.render(Path::new("/opt/my tools/pycache-guard"));
            assert!(rendered.contains("exe='/opt/my tools/pycache-guard'"), "{rendered}");
            assert!(is_ours(rendered.as_bytes()));
        }
        assert!(!is_ours(b"#!/bin/sh\necho pycache-guard-shim\n"));
    }
}
