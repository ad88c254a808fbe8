//! Turning what the user typed into repository paths.
//!
//! Paths on the command line are relative to the user's directory and may
//! name files that no longer exist, so they are resolved lexically (`.` and
//! `..` folded) rather than through the file system. A path that leaves the
//! work tree is refused by the caller.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use bstr::BString;

/// Folds `.` and `..` without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The repository-relative form of `path` (relative to `base`, or absolute),
/// or `None` when it lies outside `workdir`. The work tree itself is `""`.
pub fn repo_relative(workdir: &Path, base: &Path, path: &Path) -> Option<BString> {
    let absolute = normalize(&base.join(path));
    let relative = absolute.strip_prefix(workdir).ok()?;
    Some(BString::from(relative.as_os_str().as_bytes()))
}

/// True when the repository path `path` is `prefix` or lies inside it (`""` is the whole tree).
pub fn is_within(path: &[u8], prefix: &[u8]) -> bool {
    prefix.is_empty() || path == prefix || (path.starts_with(prefix) && path.get(prefix.len()) == Some(&b'/'))
}

/// True for a repository path git could have written: relative, no empty,
/// `.` or `..` component, and nothing inside a `.git` folder. A crafted tree
/// could hold other names; they are never acted on.
pub fn is_safe_path(path: &[u8]) -> bool {
    !path.is_empty()
        && path
            .split(|&byte| byte == b'/')
            .all(|part| !part.is_empty() && part != b"." && part != b".." && !part.eq_ignore_ascii_case(b".git"))
}

/// The absolute path of a repository-relative path.
pub fn in_workdir(workdir: &Path, repo_path: &[u8]) -> PathBuf {
    if repo_path.is_empty() { workdir.to_path_buf() } else { workdir.join(OsStr::from_bytes(repo_path)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths_are_relative_plain_and_outside_dot_git() {
        for (path, safe) in [
            ("a/b.py", true),
            ("../x.py", false),
            ("a/../b.py", false),
            ("/abs.py", false),
            ("a//b.py", false),
            (".git/x.py", false),
            ("a/.GIT/x.py", false),
            ("./a.py", false),
            (".github/x.py", true),
        ] {
            assert_eq!(is_safe_path(path.as_bytes()), safe, "{path}");
        }
    }

    #[test]
    fn repo_relative_folds_dots_and_refuses_escapes() {
        let workdir = Path::new("/repo");
        let cases = [
            ("/repo/sub", "m.pyc", Some("sub/m.pyc")),
            ("/repo/sub", "../m.pyc", Some("m.pyc")),
            ("/repo/sub", "./a/./b/../c.pyc", Some("sub/a/c.pyc")),
            ("/repo", ".", Some("")),
            ("/repo/sub", "../../etc/passwd", None),
            ("/repo", "/etc/passwd", None),
            ("/repo", "/repo/x.pyc", Some("x.pyc")),
        ];
        for (base, path, expected) in cases {
            let got = repo_relative(workdir, Path::new(base), Path::new(path));
            assert_eq!(got.as_ref().map(|p| p.to_string()), expected.map(str::to_string), "{base} + {path}");
        }
    }

    #[test]
    fn is_within_respects_component_boundaries() {
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"a/b.py", b"a", true),
            (b"a", b"a", true),
            (b"ab/c.py", b"a", false),
            (b"x.py", b"", true),
            (b"a.py", b"a/b", false),
        ];
        for (path, prefix, expected) in cases {
            assert_eq!(is_within(path, prefix), *expected, "{path:?} in {prefix:?}");
        }
    }
}
