//! Every environment variable the tool reads, one named accessor each.
//!
//! The rest of the crate never calls `std::env::var*` (clippy's
//! `disallowed-methods` in `clippy.toml` enforces it), so this file is the
//! whole list of what the environment can change. Unless an accessor says
//! otherwise, a variable set to the empty string counts as unset, as git and
//! CPython treat most of theirs.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

#[expect(clippy::disallowed_methods, reason = "the one place that reads the environment")]
fn raw(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

fn non_empty(name: &str) -> Option<OsString> {
    raw(name).filter(|value| !value.is_empty())
}

/// Set, non-empty and not `0`: how `CLICOLOR_FORCE` and our own switches read.
fn switched_on(name: &str) -> bool {
    non_empty(name).is_some_and(|value| value != "0")
}

fn non_empty_text(name: &str) -> Option<String> {
    non_empty(name).and_then(|value| value.into_string().ok())
}

/// `HOME`, as given (an empty one too, as git reads it).
pub fn home() -> Option<PathBuf> {
    raw("HOME").map(PathBuf::from)
}

/// `PATH`, as given.
pub fn path() -> Option<OsString> {
    raw("PATH")
}

/// `XDG_CONFIG_HOME`.
pub fn xdg_config_home() -> Option<PathBuf> {
    non_empty("XDG_CONFIG_HOME").map(PathBuf::from)
}

/// `XDG_DATA_HOME`.
pub fn xdg_data_home() -> Option<PathBuf> {
    non_empty("XDG_DATA_HOME").map(PathBuf::from)
}

/// `GIT_INDEX_FILE`: the index `git commit -a` and `git commit <paths>` make the hook judge.
pub fn git_index_file() -> Option<PathBuf> {
    non_empty("GIT_INDEX_FILE").map(PathBuf::from)
}

/// `GIT_DIR`: the repository folder, which git reads relative to the folder it started in.
pub fn git_dir() -> Option<OsString> {
    non_empty("GIT_DIR")
}

/// `GIT_WORK_TREE`: the work tree, which git reads relative to the folder it
/// started in (git sets it to `.` for hooks when the user set either variable).
pub fn git_work_tree() -> Option<OsString> {
    non_empty("GIT_WORK_TREE")
}

/// `GIT_PREFIX`: the user's folder, relative to the work tree, when git runs an alias or a hook.
pub fn git_prefix() -> Option<OsString> {
    non_empty("GIT_PREFIX")
}

/// `GIT_REFLOG_ACTION`: the operation git is in the middle of (`rebase (pick)`, `merge x`).
pub fn git_reflog_action() -> Option<String> {
    raw("GIT_REFLOG_ACTION").and_then(|value| value.into_string().ok())
}

/// One of the `PRE_COMMIT_*` variables the pre-commit framework and prek
/// pass to post-* hooks instead of arguments.
pub fn pre_commit_variable(name: &str) -> Option<String> {
    debug_assert!(name.starts_with("PRE_COMMIT_"), "{name} is not a pre-commit variable");
    non_empty_text(name)
}

/// A descriptor number a parent process passed down in the variable `name`
/// (the lock and the queue ticket of a detached rebuild); the caller checks
/// what it is open on before using it.
pub fn descriptor(name: &str) -> Option<i32> {
    raw(name)?.to_str()?.parse().ok()
}

/// `PYCACHE_GUARD_SKIP`: set and not `0` to make every hook do nothing.
pub fn skip_hooks() -> bool {
    switched_on("PYCACHE_GUARD_SKIP")
}

/// `PYCACHE_GUARD_PYTHON`: comma-separated interpreters, as given.
pub fn python_request() -> Option<String> {
    raw("PYCACHE_GUARD_PYTHON").and_then(|value| value.into_string().ok())
}

/// `PYCACHE_GUARD_QUERY_TIMEOUT`: seconds an interpreter may take to describe itself, as given.
pub fn query_timeout() -> Option<String> {
    raw("PYCACHE_GUARD_QUERY_TIMEOUT").and_then(|value| value.into_string().ok())
}

/// Set in the environment of a detached background rebuild, so that it does
/// not detach again; its value names what started it, for the log.
pub const BACKGROUND_CHILD: &str = "PYCACHE_GUARD_BACKGROUND_CHILD";

/// Set for a detached rebuild that follows a plain `git commit`, which it can
/// no longer tell from the reflog.
pub const PLAIN_COMMIT: &str = "PYCACHE_GUARD_PLAIN_COMMIT";

/// Whether this process is the detached child of a background rebuild
/// ([`BACKGROUND_CHILD`] set at all).
pub fn is_background_child() -> bool {
    raw(BACKGROUND_CHILD).is_some()
}

/// What started this detached rebuild ([`BACKGROUND_CHILD`]'s value), as given.
pub fn background_child_of() -> Option<String> {
    raw(BACKGROUND_CHILD).and_then(|value| value.into_string().ok())
}

/// Whether [`PLAIN_COMMIT`] is set at all.
pub fn is_plain_commit_child() -> bool {
    raw(PLAIN_COMMIT).is_some()
}

/// `PYTHONPYCACHEPREFIX`: CPython writes every cache below this folder instead of `__pycache__`.
pub fn pycache_prefix() -> Option<OsString> {
    non_empty("PYTHONPYCACHEPREFIX")
}

/// `PYTHONDONTWRITEBYTECODE`: CPython writes no caches at all.
pub fn dont_write_bytecode() -> bool {
    non_empty("PYTHONDONTWRITEBYTECODE").is_some()
}

/// `SOURCE_DATE_EPOCH`: a reproducible build, where CPython's `py_compile` switches to checked hashes.
pub fn source_date_epoch() -> bool {
    non_empty("SOURCE_DATE_EPOCH").is_some()
}

/// `VIRTUAL_ENV`: the active virtual environment.
pub fn virtual_env() -> Option<PathBuf> {
    non_empty("VIRTUAL_ENV").map(PathBuf::from)
}

/// `PYENV_ROOT`.
pub fn pyenv_root() -> Option<PathBuf> {
    non_empty("PYENV_ROOT").map(PathBuf::from)
}

/// `PYENV_VERSION`, as given (empty when unset): part of the key of the interpreter cache.
pub fn pyenv_version() -> OsString {
    raw("PYENV_VERSION").unwrap_or_default()
}

/// `UV_PYTHON_INSTALL_DIR`: where uv keeps the Pythons it manages.
pub fn uv_python_install_dir() -> Option<PathBuf> {
    non_empty("UV_PYTHON_INSTALL_DIR").map(PathBuf::from)
}

/// The only variables a worker interpreter inherits: the locale decides how
/// file names decode into `co_filename`, so it is also part of the store's key.
pub const LOCALE_VARIABLES: [&str; 3] = ["LANG", "LC_ALL", "LC_CTYPE"];

/// The [`LOCALE_VARIABLES`] that are set, with their values.
pub fn locale() -> Vec<(&'static str, OsString)> {
    LOCALE_VARIABLES.into_iter().filter_map(|name| raw(name).map(|value| (name, value))).collect()
}

/// Each of the [`LOCALE_VARIABLES`], set or not, in their order.
pub fn locale_values() -> [Option<OsString>; 3] {
    LOCALE_VARIABLES.map(raw)
}

/// How the colour variables ask a stream in `auto` mode to be painted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorRequest {
    /// `CLICOLOR_FORCE` is set and not `0`.
    Forced,
    /// `NO_COLOR` is set, or `TERM` is `dumb`.
    Refused,
    /// Nothing asked: colour a terminal.
    Unspecified,
}

/// `CLICOLOR_FORCE`, `NO_COLOR` and `TERM`, in that order of precedence.
pub fn color_request() -> ColorRequest {
    if switched_on("CLICOLOR_FORCE") {
        ColorRequest::Forced
    } else if non_empty("NO_COLOR").is_some() || raw("TERM").is_some_and(|term| term == OsStr::new("dumb")) {
        ColorRequest::Refused
    } else {
        ColorRequest::Unspecified
    }
}
