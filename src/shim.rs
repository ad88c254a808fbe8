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

/// Every hook pycache-guard installs, with its shim: the commit guard
/// (`pre-commit`, and `pre-merge-commit` for the commit a merge makes), and
/// the hooks git runs after a command that can rewrite files, so that the
/// caches are reconciled whatever the command (see [`crate::record`]). The
/// retired hooks ([`HookType::RETIRED`](crate::hook_type::HookType::RETIRED))
/// have no shim: `install` and `uninstall` remove ours under their names.
pub const SHIMS: [Shim; 8] = [
    Shim { name: "pre-commit", template: include_str!("../hooks/pre-commit") },
    Shim { name: "pre-merge-commit", template: include_str!("../hooks/pre-merge-commit") },
    Shim { name: "post-checkout", template: include_str!("../hooks/post-checkout") },
    Shim { name: "post-merge", template: include_str!("../hooks/post-merge") },
    Shim { name: "post-rewrite", template: include_str!("../hooks/post-rewrite") },
    Shim { name: "post-commit", template: include_str!("../hooks/post-commit") },
    Shim { name: "post-applypatch", template: include_str!("../hooks/post-applypatch") },
    Shim { name: "post-index-change", template: include_str!("../hooks/post-index-change") },
];

#[cfg(test)]
#[test]
fn there_is_one_shim_per_installed_hook_type_in_its_order() {
    let names: Vec<&str> = SHIMS.iter().map(|shim| shim.name).collect();
    let hooks: Vec<&str> = crate::hook_type::HookType::installed().map(|hook| hook.name()).collect();
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

/// git's `core.sharedRepository`: who besides the owner may use the files
/// git writes, and so the files we write beside them.
/// <https://git-scm.com/docs/git-config#Documentation/git-config.txt-coresharedRepository>
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sharing {
    /// Unset, `umask`, `false`: the owner's mode as it is.
    #[default]
    Private,
    /// `group`, `true`: group-writable.
    Group,
    /// `all`, `world`, `everybody`: group-writable and readable by all.
    All,
    /// An octal mode such as `0640`: exactly these read and write bits.
    Exact(u32),
}

impl Sharing {
    /// Reads the setting as git does (`git_config_perm` in git's `setup.c`);
    /// a value git would refuse counts as unset.
    pub fn parse(value: Option<&str>) -> Sharing {
        let Some(value) = value.map(str::trim) else { return Sharing::Private };
        match value.to_ascii_lowercase().as_str() {
            "" | "umask" | "false" | "no" | "off" | "0" => Sharing::Private,
            "group" | "true" | "yes" | "on" | "1" => Sharing::Group,
            "all" | "world" | "everybody" | "2" => Sharing::All,
            octal => match u32::from_str_radix(octal, 8) {
                Ok(mode) if mode & 0o600 == 0o600 => Sharing::Exact(mode & 0o666),
                _ => Sharing::Private,
            },
        }
    }

    /// The mode git would give a file it writes with `mode` (`calc_shared_perm`):
    /// the sharing bits added (or, for an exact mode, put in place), and the
    /// execute bits of an executable following its read bits.
    pub fn file_mode(self, mode: u32) -> u32 {
        let mut tweak = match self {
            Sharing::Private => return mode,
            Sharing::Group => 0o660,
            Sharing::All => 0o664,
            Sharing::Exact(bits) => bits,
        };
        if mode & 0o200 == 0 {
            tweak &= !0o222;
        }
        if mode & 0o100 != 0 {
            tweak |= (tweak & 0o444) >> 2;
        }
        match self {
            Sharing::Exact(_) => (mode & !0o777) | tweak,
            _ => mode | tweak,
        }
    }
}

/// The mode of a shim: executable, and shared as the repository says.
fn script_mode(sharing: Sharing) -> u32 {
    sharing.file_mode(0o755)
}

/// Writes `content` to `path` atomically with the mode `mode`.
fn write_script(path: &Path, content: &str, mode: u32) -> Result<(), ShimError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(dir).map_err(io("create", dir))?;
    let mut temporary =
        tempfile::Builder::new().prefix(".pycache-guard-").tempfile_in(dir).map_err(io("write", dir))?;
    std::io::Write::write_all(&mut temporary, content.as_bytes()).map_err(io("write", path))?;
    temporary.as_file().set_permissions(std::fs::Permissions::from_mode(mode)).map_err(io("set the mode of", path))?;
    temporary.persist(path).map_err(|error| ShimError::Io {
        action: "write",
        path: path.to_path_buf(),
        source: error.error,
    })?;
    Ok(())
}

/// Installs one shim into `hooks_dir`, chaining a foreign hook that is there,
/// with the permissions `sharing` asks for.
pub fn install(hooks_dir: &Path, shim: Shim, exe: &Path, sharing: Sharing) -> Result<Installed, ShimError> {
    let (hook, chained) = hook_paths(hooks_dir, shim.name);
    let wanted = shim.render(exe);
    let mode = script_mode(sharing);
    match read_existing(&hook)? {
        None => {
            write_script(&hook, &wanted, mode)?;
            Ok(Installed::Created)
        }
        Some(content) if is_ours(&content) => {
            if content == wanted.as_bytes() && has_mode(&hook, mode) {
                return Ok(Installed::Unchanged);
            }
            write_script(&hook, &wanted, mode)?;
            Ok(Installed::Updated)
        }
        Some(_) => {
            if read_existing(&chained)?.is_some() {
                return Err(ShimError::ChainOccupied { hook, chained });
            }
            // A rename keeps the foreign hook byte for byte, with its mode, or as the symlink it is.
            fs_err::rename(&hook, &chained).map_err(io("move aside", &hook))?;
            if let Err(error) = write_script(&hook, &wanted, mode) {
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

fn has_mode(path: &Path, mode: u32) -> bool {
    fs_err::symlink_metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o7777 == mode)
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

    #[test]
    fn shared_repositories_give_the_modes_git_gives() {
        // (core.sharedRepository, mode of a shim, mode of a plain 0644 file), as git's calc_shared_perm.
        let cases = [
            (None, 0o755, 0o644),
            (Some("umask"), 0o755, 0o644),
            (Some("false"), 0o755, 0o644),
            (Some("group"), 0o775, 0o664),
            (Some("true"), 0o775, 0o664),
            (Some("1"), 0o775, 0o664),
            (Some("all"), 0o775, 0o664),
            (Some("everybody"), 0o775, 0o664),
            (Some("0640"), 0o750, 0o640),
            (Some("0660"), 0o770, 0o660),
            (Some("0666"), 0o777, 0o666),
            // git refuses a mode the owner cannot read and write; so do we.
            (Some("0440"), 0o755, 0o644),
            (Some("nonsense"), 0o755, 0o644),
        ];
        for (setting, script, plain) in cases {
            let sharing = Sharing::parse(setting);
            assert_eq!(sharing.file_mode(0o755), script, "{setting:?} for a script");
            assert_eq!(sharing.file_mode(0o644), plain, "{setting:?} for a file");
        }
    }
}
