//! `pycache-guard clean` on an adversarial work tree: it removes bytecode
//! and never anything else.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use common::TestEnv;

/// Every file and link under `root` (links not followed), with a hash of its content.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, u64> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else {
                let content = if kind.is_symlink() {
                    std::fs::read_link(&path).unwrap().into_os_string().into_vec()
                } else {
                    std::fs::read(&path).unwrap_or_default()
                };
                let mut hasher = std::hash::DefaultHasher::new();
                std::hash::Hash::hash(&content, &mut hasher);
                files.insert(path, std::hash::Hasher::finish(&hasher));
            }
        }
    }
    files
}

use std::os::unix::ffi::OsStringExt;

fn is_bytecode(path: &Path) -> bool {
    pycache_guard::artifact::is_bytecode_path(path.as_os_str().as_bytes())
}

/// The adversarial fixture. Returns the folder outside the repository that a symlink points to.
fn adversarial(env: &TestEnv) -> PathBuf {
    let tag = "cpython-312";
    env.write("pkg/mod.py", "X = 1\n");
    env.write(format!("pkg/__pycache__/mod.{tag}.pyc"), "cache");
    env.write(format!("pkg/__pycache__/mod.{tag}.opt-2.pyc"), "cache");
    env.write(format!("pkg/__pycache__/test_mod.{tag}-pytest-8.3.2.pyc"), "pytest");
    env.write(format!("pkg/__pycache__/mod.{tag}.pyc.140234"), "interrupted write");
    env.write("pkg/legacy.pyc", "legacy");
    env.write("pkg/jython$py.class", "jython");
    env.write("keep/__pycache__/notes.txt", "not bytecode: stays, and its folder too");
    env.write(format!("keep/__pycache__/old.{tag}.pyc"), "cache");
    env.write("x.pyc/inside.txt", "a folder named x.pyc is not bytecode");
    env.write("x.pyc/data.py", "");
    env.write("app.pyz", "zip app");
    env.write("ext.pyd", "extension");
    env.write("tests/fixtures/tracked.pyc", "tracked on purpose");
    env.git(&["add", "-f", "tests/fixtures/tracked.pyc"]);
    env.write(".venv/pyvenv.cfg", "home = /usr/bin\n");
    env.write(format!(".venv/lib/site/__pycache__/s.{tag}.pyc"), "venv cache");
    for dir in ["node_modules/pkg", ".tox/py312", ".nox/tests"] {
        env.write(format!("{dir}/__pycache__/m.{tag}.pyc"), "environment cache");
    }
    env.write(format!(".git/__pycache__/git.{tag}.pyc"), "inside .git");
    env.write(format!("nested/__pycache__/n.{tag}.pyc"), "nested repository cache");
    env.git_in(&env.repo.join("nested"), &["init", "-q", "."]);
    env.write_bytes_name(b"odd/__pycache__/caf\xe9.cpython-312.pyc", b"non-UTF-8 name");
    env.write_bytes_name(b"odd/__pycache__/new\nline.cpython-312.pyc", b"newline name");
    let outside = env.root().join("outside");
    std::fs::create_dir_all(outside.join("__pycache__")).unwrap();
    std::fs::write(outside.join("__pycache__/precious.cpython-312.pyc"), "outside the repository").unwrap();
    std::fs::write(outside.join("precious.pyc"), "outside the repository").unwrap();
    std::os::unix::fs::symlink(&outside, env.repo.join("link-outside")).unwrap();
    std::os::unix::fs::symlink(&outside, env.repo.join("pkg/__pycache__/link-to-outside")).unwrap();
    std::os::unix::fs::symlink(outside.join("precious.pyc"), env.repo.join("pkg/linked.pyc")).unwrap();
    std::os::unix::fs::symlink("..", env.repo.join("pkg/loop")).unwrap();
    std::os::unix::fs::symlink("loop2", env.repo.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", env.repo.join("loop2")).unwrap();
    outside
}

#[test]
fn clean_removes_bytecode_and_nothing_else() {
    let env = TestEnv::new();
    let outside = adversarial(&env);
    let before = snapshot(env.root());
    let run = env.run(&["clean"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = snapshot(env.root());
    let removed: Vec<&PathBuf> = before.keys().filter(|path| !after.contains_key(*path)).collect();
    let relative: Vec<String> =
        removed.iter().map(|path| path.strip_prefix(&env.repo).unwrap().to_string_lossy().into_owned()).collect();
    let mut expected = vec![
        "odd/__pycache__/caf\u{fffd}.cpython-312.pyc".to_string(),
        "odd/__pycache__/new\nline.cpython-312.pyc".to_string(),
        "keep/__pycache__/old.cpython-312.pyc".to_string(),
        "pkg/__pycache__/mod.cpython-312.opt-2.pyc".to_string(),
        "pkg/__pycache__/mod.cpython-312.pyc".to_string(),
        "pkg/__pycache__/mod.cpython-312.pyc.140234".to_string(),
        "pkg/__pycache__/test_mod.cpython-312-pytest-8.3.2.pyc".to_string(),
        "pkg/jython$py.class".to_string(),
        "pkg/legacy.pyc".to_string(),
    ];
    expected.sort();
    let mut relative = relative;
    relative.sort();
    assert_eq!(relative, expected);
    // Every file that is not bytecode is byte for byte the same, inside and outside the repository.
    for (path, hash) in &before {
        if !removed.contains(&path) {
            assert_eq!(after.get(path), Some(hash), "{} changed", path.display());
        }
    }
    assert!(removed.iter().all(|path| is_bytecode(path)));
    assert!(outside.join("__pycache__/precious.cpython-312.pyc").exists());
    assert!(env.repo.join("keep/__pycache__").is_dir(), "a folder with an unknown file must stay");
    assert!(!env.repo.join("odd/__pycache__").exists(), "an emptied __pycache__ goes");
    assert!(env.repo.join("pkg/__pycache__").exists(), "it still holds a link, which is not ours to remove");
    assert!(run.stderr.contains("removed 9 files and 1 folder"), "{}", run.stderr);
    assert!(run.stderr.contains("kept 1 file that git tracks"), "{}", run.stderr);
}

#[test]
fn tracked_bytecode_and_virtual_environments_only_on_request() {
    let env = TestEnv::new();
    adversarial(&env);
    env.run(&["clean", "--include-tracked", "--include-venvs"]).expect_code(0);
    assert!(!env.repo.join("tests/fixtures/tracked.pyc").exists());
    assert!(!env.repo.join(".venv/lib/site/__pycache__").exists());
    assert!(!env.repo.join("node_modules/pkg/__pycache__").exists());
    // Never .git or a nested repository, whatever the flags.
    assert!(env.repo.join(".git/__pycache__/git.cpython-312.pyc").exists());
    assert!(env.repo.join("nested/__pycache__/n.cpython-312.pyc").exists());
}

#[test]
fn orphans_mode_removes_only_bytecode_whose_source_is_gone() {
    let env = TestEnv::new();
    env.write("pkg/alive.py", "");
    env.write("pkg/foo.bar.py", "");
    env.write("pkg/__pycache__/alive.cpython-312.pyc", "fresh");
    env.write("pkg/__pycache__/foo.bar.cpython-312.pyc", "dotted stem, source exists");
    env.write("pkg/__pycache__/dead.cpython-312.pyc", "orphan");
    env.write("pkg/__pycache__/foo.cpython-312.pyc", "orphan: foo.py is gone, foo.bar.py is not its source");
    env.write("pkg/alive.pyc", "legacy beside an existing source: harmless");
    env.write("pkg/shadow.pyc", "legacy beside a deleted source: shadows it");
    env.write("gone_pkg/__pycache__/x.cpython-312.pyc", "deleted package");
    let run = env.run(&["clean", "--orphans"]).expect_code(0);
    assert!(env.repo.join("pkg/__pycache__/alive.cpython-312.pyc").exists());
    assert!(env.repo.join("pkg/__pycache__/foo.bar.cpython-312.pyc").exists());
    assert!(env.repo.join("pkg/alive.pyc").exists());
    assert!(!env.repo.join("pkg/__pycache__/dead.cpython-312.pyc").exists());
    assert!(!env.repo.join("pkg/__pycache__/foo.cpython-312.pyc").exists());
    assert!(!env.repo.join("pkg/shadow.pyc").exists());
    assert!(!env.repo.join("gone_pkg/__pycache__").exists());
    assert!(run.stderr.contains("removed 4 files and 1 folder"), "{}", run.stderr);
}

#[test]
fn dry_run_lists_paths_and_removes_nothing() {
    let env = TestEnv::new();
    adversarial(&env);
    let before = snapshot(env.root());
    let run = env.run(&["clean", "--dry-run"]).expect_code(0);
    assert_eq!(snapshot(env.root()), before);
    assert!(run.stdout.lines().any(|line| line == "pkg/legacy.pyc"), "{}", run.stdout);
    assert!(run.stdout.lines().any(|line| line == "\"odd/__pycache__/new\\nline.cpython-312.pyc\""), "{}", run.stdout);
    assert_eq!(run.stdout.lines().filter(|line| !line.ends_with('/')).count(), 9, "{}", run.stdout);
    assert!(run.stderr.contains("would remove 9 files"), "{}", run.stderr);
}

#[test]
fn dry_run_lists_exactly_the_files_and_folders_a_real_run_removes() {
    let env = TestEnv::new();
    env.write("pkg/m.py", "");
    env.write("pkg/__pycache__/m.cpython-312.pyc", "cache");
    env.write("pkg/sub/__pycache__/gone.cpython-312.pyc", "orphan");
    env.write("keep/__pycache__/notes.txt", "not bytecode: it and its folder stay");
    env.write("keep/__pycache__/k.cpython-312.pyc", "cache");
    let listed: BTreeSet<String> =
        env.run(&["clean", "--dry-run"]).expect_code(0).stdout.lines().map(str::to_string).collect();
    let before = snapshot(env.root());
    env.run(&["clean"]).expect_code(0);
    let after = snapshot(env.root());
    let removed_files: BTreeSet<String> = before
        .keys()
        .filter(|path| !after.contains_key(*path))
        .map(|path| path.strip_prefix(&env.repo).unwrap().display().to_string())
        .collect();
    // Folders are listed with a trailing slash, as `git clean --dry-run` does.
    let removed_dirs = removed_folders(&env, &before, &after);
    let expected: BTreeSet<String> = removed_files.union(&removed_dirs).cloned().collect();
    assert_eq!(listed, expected);
    assert!(listed.contains("pkg/sub/__pycache__/"), "{listed:?}");
    assert!(!listed.contains("keep/__pycache__/"), "{listed:?}");
}

/// The folders below the work tree that existed before and are gone after, with a trailing `/`.
fn removed_folders(env: &TestEnv, before: &BTreeMap<PathBuf, u64>, after: &BTreeMap<PathBuf, u64>) -> BTreeSet<String> {
    let dirs = |files: &BTreeMap<PathBuf, u64>| -> BTreeSet<PathBuf> {
        files.keys().flat_map(|path| path.ancestors().skip(1).map(Path::to_path_buf)).collect()
    };
    let (was, is) = (dirs(before), dirs(after));
    // A folder that lost its files may still be there, empty (a package folder): only gone ones count.
    was.difference(&is)
        .filter(|dir| !dir.exists())
        .filter_map(|dir| dir.strip_prefix(&env.repo).ok())
        .filter(|relative| !relative.as_os_str().is_empty())
        .map(|relative| format!("{}/", relative.display()))
        .collect()
}

#[test]
fn clean_in_a_subfolder_cleans_that_subfolder_only_like_git_clean() {
    let env = TestEnv::new();
    for folder in ["a", "a/inner", "b", "."] {
        env.write(format!("{folder}/__pycache__/m.cpython-312.pyc"), "cache");
    }
    let run = env.run_in(&env.repo.join("a"), &["clean", "--dry-run"]).expect_code(0);
    assert_eq!(
        run.stdout,
        "__pycache__/m.cpython-312.pyc\ninner/__pycache__/m.cpython-312.pyc\ninner/__pycache__/\n__pycache__/\n"
    );
    env.run_in(&env.repo.join("a"), &["clean"]).expect_code(0);
    assert!(!env.repo.join("a/__pycache__").exists() && !env.repo.join("a/inner/__pycache__").exists());
    assert!(env.repo.join("b/__pycache__/m.cpython-312.pyc").exists(), "a sibling was cleaned");
    assert!(env.repo.join("__pycache__/m.cpython-312.pyc").exists(), "the folder above was cleaned");
    // `-C` names the folder to start in, as for git.
    env.run(&["-C", "b", "clean"]).expect_code(0);
    assert!(!env.repo.join("b/__pycache__").exists());
    assert!(env.repo.join("__pycache__/m.cpython-312.pyc").exists());
    // At the top: all of it.
    env.write("b/__pycache__/m.cpython-312.pyc", "cache");
    env.run(&["clean"]).expect_code(0);
    assert!(!env.repo.join("__pycache__").exists() && !env.repo.join("b/__pycache__").exists());
    // Started inside `.git`, it refuses rather than clean the whole work tree.
    let run = env.run_in(&env.repo.join(".git"), &["clean"]).expect_code(2);
    assert!(run.stderr.contains("the current folder lies in"), "{}", run.stderr);
}

#[test]
fn paths_limit_the_clean_and_outside_paths_are_refused() {
    let env = TestEnv::new();
    env.write("a/__pycache__/m.cpython-312.pyc", "a");
    env.write("b/__pycache__/m.cpython-312.pyc", "b");
    env.run(&["clean", "a"]).expect_code(0);
    assert!(!env.repo.join("a/__pycache__").exists());
    assert!(env.repo.join("b/__pycache__/m.cpython-312.pyc").exists());
    let run = env.run(&["clean", ".."]).expect_code(2);
    assert!(run.stderr.contains("outside the repository"), "{}", run.stderr);
    std::os::unix::fs::symlink(env.root(), env.repo.join("up")).unwrap();
    let run = env.run(&["clean", "up"]).expect_code(2);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
}

#[test]
fn an_unreadable_folder_is_reported_and_the_rest_is_cleaned() {
    let env = TestEnv::new();
    env.write("locked/__pycache__/m.cpython-312.pyc", "unreachable");
    env.write("open/__pycache__/m.cpython-312.pyc", "reachable");
    let run = env.run_while_locked("locked", 0o000, 0o755, &["clean"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("locked"), "{}", run.stderr);
    assert!(!env.repo.join("open/__pycache__").exists());
    assert!(env.repo.join("locked/__pycache__/m.cpython-312.pyc").exists());
}

#[test]
fn prefix_tree_of_this_repository_is_cleaned_and_no_other() {
    let mut env = TestEnv::new();
    let prefix = env.root().join("prefix");
    env.extra_env.push(("PYTHONPYCACHEPREFIX".into(), prefix.display().to_string()));
    env.write("pkg/m.py", "");
    let mirror = prefix.join(env.repo.strip_prefix("/").unwrap());
    let other = prefix.join("somewhere/else");
    for dir in [mirror.join("pkg"), other.clone()] {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.cpython-312.pyc"), "cache").unwrap();
        std::fs::write(dir.join("gone.cpython-312.pyc"), "cache").unwrap();
    }
    env.run(&["clean", "--prefix", "--orphans"]).expect_code(0);
    assert!(mirror.join("pkg/m.cpython-312.pyc").exists());
    assert!(!mirror.join("pkg/gone.cpython-312.pyc").exists());
    env.run(&["clean", "--prefix"]).expect_code(0);
    assert!(!mirror.exists(), "the emptied mirror folders go");
    assert!(other.join("m.cpython-312.pyc").exists() && other.join("gone.cpython-312.pyc").exists());
    assert!(prefix.exists());
    let _ = OsStr::new("");
}

#[test]
fn linked_worktree_inside_the_work_tree_is_not_entered() {
    let env = TestEnv::new();
    env.write("a.py", "");
    env.commit_all("base");
    let inner = env.repo.join("wt");
    env.git(&["worktree", "add", "-q", inner.to_str().unwrap(), "-b", "inner"]);
    std::fs::create_dir_all(inner.join("__pycache__")).unwrap();
    std::fs::write(inner.join("__pycache__/a.cpython-312.pyc"), "another work tree's cache").unwrap();
    std::fs::create_dir_all(env.repo.join(".git/worktrees/wt/__pycache__")).unwrap();
    std::fs::write(env.repo.join(".git/worktrees/wt/__pycache__/x.cpython-312.pyc"), "admin folder").unwrap();
    env.run(&["clean"]).expect_code(0);
    assert!(inner.join("__pycache__/a.cpython-312.pyc").exists());
    assert!(env.repo.join(".git/worktrees/wt/__pycache__/x.cpython-312.pyc").exists());
}
