//! Rebuilding caches after checkout, merge and rewrite, with real git and
//! real CPython interpreters.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::python::{self, Python};
use common::{Run, TestEnv};

/// Every file below the work tree (outside `.git`) whose name ends in `.pyc`, repository-relative.
fn pycs(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".pyc") {
                found.insert(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    found
}

fn identity(path: &Path) -> (u64, i64, i64) {
    let meta = std::fs::metadata(path).unwrap();
    (meta.ino(), meta.mtime(), meta.mtime_nsec())
}

/// A world whose hooks compile with one real interpreter, and whose
/// `.gitignore` keeps caches out of `git add -A`.
fn env_with(python: &Python) -> TestEnv {
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n");
    env
}

/// Moves a source's mtime 10 s into the past: not racy, so the cache a rebuild
/// writes for it is final at once (a racy source's checked-hash cache is
/// rewritten as a timestamp one by a later hook).
fn age(env: &TestEnv, path: &str) {
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
    let file = std::fs::File::options().write(true).open(env.repo.join(path)).unwrap();
    file.set_times(std::fs::FileTimes::new().set_modified(past)).unwrap();
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| item.to_string()).collect()
}

#[test]
fn checkout_rebuilds_changed_sources_and_leaves_the_rest_alone() {
    let python = common::require_python!();
    let env = env_with(python);
    let tag = &python.tag;
    env.write("pkg/__init__.py", "");
    env.write("pkg/same.py", "SAME = 1\n");
    env.write("pkg/changed.py", "VALUE = 'main'\n");
    env.write("pkg/removed.py", "GONE = 1\n");
    env.commit_all("main");
    env.install_hooks();
    age(&env, "pkg/same.py");
    env.run(&["rebuild", "--all"]).expect_code(0);
    let same_cache = env.repo.join(format!("pkg/__pycache__/same.{tag}.pyc"));
    let before = identity(&same_cache);

    env.git(&["checkout", "-q", "-b", "feature"]);
    env.write("pkg/changed.py", "VALUE = 'feature branch'\n");
    env.write("pkg/added.py", "NEW = 1\n");
    std::fs::remove_file(env.repo.join("pkg/removed.py")).unwrap();
    env.commit_all("feature");
    env.git(&["checkout", "-q", "main"]);
    env.git(&["checkout", "-q", "feature"]);

    let expected = ["__init__", "same", "changed", "added"].map(|m| format!("pkg/__pycache__/{m}.{tag}.pyc"));
    assert_eq!(pycs(&env.repo), expected.iter().map(String::as_str).map(String::from).collect());
    assert_eq!(identity(&same_cache), before, "an unchanged source's cache was touched");
    let run = env.python(python, &["-c", "import pkg.changed, pkg.added; print(pkg.changed.VALUE)"]);
    assert_eq!(run.stdout, "feature branch\n", "{}", run.stderr);
}

#[test]
fn clone_with_hooks_from_a_template_compiles_every_source() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("app/main.py", "print('hi')\n");
    env.write("app/util.py", "X = 1\n");
    env.write("README.md", "not python\n");
    env.commit_all("initial");
    let template = env.root().join("template");
    std::fs::create_dir_all(template.join("hooks")).unwrap();
    env.install_hooks();
    std::fs::copy(env.repo.join(".git/hooks/post-checkout"), template.join("hooks/post-checkout")).unwrap();
    let clone = env.root().join("clone");
    env.git(&[
        "clone",
        "-q",
        "--template",
        template.to_str().unwrap(),
        env.repo.to_str().unwrap(),
        clone.to_str().unwrap(),
    ]);
    env.wait_in(&clone);
    let tag = &python.tag;
    assert_eq!(
        pycs(&clone),
        set(&[&format!("app/__pycache__/main.{tag}.pyc"), &format!("app/__pycache__/util.{tag}.pyc")])
    );
}

#[test]
fn merge_rebuilds_orig_head_to_head() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("a.py", "A = 1\n");
    env.write("b.py", "B = 1\n");
    env.commit_all("base");
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.write("b.py", "B = 2222\n");
    env.write("c.py", "C = 1\n");
    env.commit_all("topic");
    env.git(&["checkout", "-q", "main"]);
    env.install_hooks();
    // Not racy, so that its cache is final at once (a racy one is settled later).
    age(&env, "a.py");
    env.run(&["rebuild", "--all"]).expect_code(0);
    let a_cache = env.repo.join(format!("__pycache__/a.{}.pyc", python.tag));
    let before = identity(&a_cache);
    env.git(&["merge", "-q", "--no-edit", "topic"]);
    assert!(pycs(&env.repo).contains(&format!("__pycache__/c.{}.pyc", python.tag)));
    assert_eq!(identity(&a_cache), before);
    assert_eq!(env.python(python, &["-c", "import b; print(b.B)"]).stdout, "2222\n");
}

#[test]
fn squash_merge_rebuilds_the_index_against_head() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.write("squashed.py", "S = 1\n");
    env.commit_all("topic");
    env.git(&["checkout", "-q", "main"]);
    env.install_hooks();
    env.git(&["merge", "-q", "--squash", "topic"]);
    assert!(pycs(&env.repo).contains(&format!("__pycache__/squashed.{}.pyc", python.tag)), "{:?}", pycs(&env.repo));
}

#[test]
fn rebase_and_amend_rebuild_through_post_rewrite() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.write("t.py", "T = 1\n");
    env.commit_all("topic");
    env.git(&["checkout", "-q", "main"]);
    env.write("a.py", "A = 2\n");
    env.write("gone.py", "G = 1\n");
    env.commit_all("main moves");
    env.git(&["rm", "-q", "gone.py"]);
    env.commit_all("main deletes");
    env.git(&["checkout", "-q", "topic"]);
    env.install_hooks();
    env.run(&["rebuild", "--all"]).expect_code(0);
    // A rebase that only post-rewrite sees: the merge backend without post-checkout
    // (nor the hooks that hear its steps).
    for hook in ["post-checkout", "post-commit", "post-index-change"] {
        std::fs::remove_file(env.repo.join(".git/hooks").join(hook)).unwrap();
    }
    env.git(&["rebase", "-q", "main"]);
    let tag = &python.tag;
    assert_eq!(env.python(python, &["-c", "import a; print(a.A)"]).stdout, "2\n");
    assert!(pycs(&env.repo).contains(&format!("__pycache__/a.{tag}.pyc")));
    let log = std::fs::read_to_string(env.repo.join(".git/pycache-guard/rebuild.log")).unwrap();
    assert!(log.contains("post-rewrite: compiled"), "{log}");

    // Amend: the amended commit's changes are rebuilt.
    env.write("t.py", "T = 'amended'\n");
    env.git(&["add", "t.py"]);
    env.git(&["commit", "-q", "--amend", "--no-edit"]);
    assert!(
        std::fs::read_to_string(env.repo.join(".git/pycache-guard/rebuild.log"))
            .unwrap()
            .matches("post-rewrite")
            .count()
            >= 2
    );
}

#[test]
fn file_checkout_rebuilds_what_its_stale_scan_finds() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("a.py", "A = 'one'\n");
    env.write("b.py", "B = 1\n");
    env.commit_all("one");
    env.write("a.py", "A = 'two, longer'\n");
    env.commit_all("two");
    env.install_hooks();
    age(&env, "b.py");
    env.run(&["rebuild", "--all"]).expect_code(0);
    let b_cache = env.repo.join(format!("__pycache__/b.{}.pyc", python.tag));
    let before = identity(&b_cache);
    // `git checkout <rev> -- <file>` runs post-checkout with flag 0.
    env.git(&["checkout", "HEAD~1", "--", "a.py"]);
    assert_eq!(identity(&b_cache), before);
    let run = env.python(python, &["-c", "import sys; import a; print(a.A, a.__cached__ is not None)"]);
    assert_eq!(run.stdout, "one True\n");
    let log = std::fs::read_to_string(env.repo.join(".git/pycache-guard/rebuild.log")).unwrap();
    assert!(log.lines().last().unwrap().contains("post-checkout: compiled 1 file"), "{log}");
}

#[test]
fn deleted_package_no_longer_imports_as_a_namespace_package() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("keep.py", "");
    env.commit_all("base");
    env.git(&["checkout", "-q", "-b", "with-package"]);
    env.write("oldpkg/__init__.py", "");
    env.write("oldpkg/mod.py", "X = 1\n");
    env.commit_all("package");
    env.install_hooks();
    env.run(&["rebuild", "--all"]).expect_code(0);
    env.git(&["checkout", "-q", "main"]);
    assert!(!env.repo.join("oldpkg").exists(), "the folder that only held __pycache__ is still there");
    let run = env.python(python, &["-c", "import oldpkg"]);
    assert_ne!(run.code, 0, "oldpkg still imports: {}", run.stdout);
    assert!(run.stderr.contains("No module named 'oldpkg'"), "{}", run.stderr);
}

#[test]
fn legacy_sibling_bytecode_of_a_deleted_module_is_removed_unless_tracked() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("keep.py", "");
    env.write("tracked_fixture.pyc", "committed on purpose");
    env.git(&["add", "-f", "tracked_fixture.pyc"]);
    env.commit_all("base");
    env.git(&["checkout", "-q", "-b", "old"]);
    env.write("legacy.py", "X = 'deleted code'\n");
    env.write("tracked_fixture.py", "");
    env.commit_all("legacy module");
    env.install_hooks();
    // A legacy pyc beside the source, as `python -m compileall -b` writes it.
    let status = env.command_in(&python.path, &env.repo).args(["-m", "py_compile"]).arg("legacy.py").status().unwrap();
    assert!(status.success());
    std::fs::rename(env.repo.join(format!("__pycache__/legacy.{}.pyc", python.tag)), env.repo.join("legacy.pyc"))
        .unwrap();
    env.git(&["checkout", "-q", "main"]);
    assert!(!env.repo.join("legacy.pyc").exists(), "shadowing legacy.pyc survived");
    assert!(env.repo.join("tracked_fixture.pyc").exists(), "a tracked file was deleted");
    assert_ne!(env.python(python, &["-c", "import legacy"]).code, 0);
}

#[test]
fn same_second_same_size_swap_no_longer_runs_stale_code() {
    let python = common::require_python!();
    // The hazard: git rewrites value.py within the second the old cache was
    // made, with the same size. A chained hook pins the new file's mtime to
    // the old cache's, as if git had been that fast.
    let scenario = |with_guard: bool| -> String {
        let env = env_with(python);
        env.write("value.py", "VALUE = 'aaa'\n");
        env.commit_all("a");
        env.git(&["checkout", "-q", "-b", "b"]);
        env.write("value.py", "VALUE = 'bbb'\n");
        env.commit_all("b");
        env.git(&["checkout", "-q", "main"]);
        let pinned = "1700000000";
        let touch =
            env.command_in("touch", &env.repo).args(["-d", &format!("@{pinned}"), "value.py"]).status().unwrap();
        assert!(touch.success());
        assert_eq!(env.python(python, &["-c", "import value; print(value.VALUE)"]).stdout, "aaa\n");
        let hooks = env.repo.join(".git/hooks");
        let pin = format!("#!/bin/sh\ntouch -d @{pinned} value.py\n");
        std::fs::write(hooks.join("post-checkout"), pin).unwrap();
        std::fs::set_permissions(hooks.join("post-checkout"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        if with_guard {
            env.install_hooks(); // chains the pinning hook before ours
        }
        env.git(&["checkout", "-q", "b"]);
        env.python(python, &["-c", "import value; print(value.VALUE)"]).stdout
    };
    assert_eq!(scenario(false), "aaa\n", "the hazard did not reproduce");
    assert_eq!(scenario(true), "bbb\n", "Python still runs the old code");
}

/// `git --git-dir=... --work-tree=...` (and the variables, and push-to-deploy,
/// where receive-pack sets them): git runs the hooks with `GIT_WORK_TREE=.`,
/// which git reads from the folder it started in. The hooks see the work
/// tree git wrote, not the repository folder, and the background rebuild
/// they start finds both again.
#[test]
fn hooks_under_git_dir_and_work_tree_variables_see_the_work_tree_git_wrote() {
    let python = common::require_python!();
    let mut env = env_with(python);
    env.extra_env.retain(|(key, _)| key != "PYTHONDONTWRITEBYTECODE");
    env.write("value.py", "VALUE = 'aaa'\n");
    env.write("gp/__init__.py", "G = 1\n");
    env.commit_all("a");
    env.git(&["checkout", "-q", "-b", "b"]);
    env.write("value.py", "VALUE = 'bbb'\n");
    env.git(&["rm", "-q", "-r", "gp"]);
    env.commit_all("b");
    env.git(&["checkout", "-q", "main"]);
    // The same-second, same-size hazard, pinned: a chained hook gives the
    // file git writes the mtime of the cache Python writes now.
    let pinned = "1700000000";
    let touch = env.command_in("touch", &env.repo).args(["-d", &format!("@{pinned}"), "value.py"]).status().unwrap();
    assert!(touch.success());
    assert_eq!(env.python(python, &["-c", "import value, gp; print(value.VALUE)"]).stdout, "aaa\n");
    let hooks = env.repo.join(".git/hooks");
    std::fs::write(hooks.join("post-checkout"), format!("#!/bin/sh\ntouch -d @{pinned} value.py\n")).unwrap();
    std::fs::set_permissions(hooks.join("post-checkout"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    env.install_hooks();
    let git_dir = format!("--git-dir={}", env.repo.join(".git").display());
    env.git(&[&git_dir, "--work-tree=.", "checkout", "-q", "b"]);
    assert_eq!(env.python(python, &["-c", "import value; print(value.VALUE)"]).stdout, "bbb\n");
    let gone = env.python(python, &["-c", "import gp; print(gp)"]);
    assert_ne!(gone.code, 0, "the deleted package still imports: {}", gone.stdout);
    // `check` under the same variables judges the work tree too.
    env.write("__pycache__/gone.cpython-399.pyc", "an orphan");
    let mut check = env.command_in(common::binary(), &env.repo);
    check.args(["check", "--select", "orphan-bytecode"]);
    check.env("GIT_DIR", env.repo.join(".git")).env("GIT_WORK_TREE", ".");
    let run = Run::from(check.output().unwrap());
    assert!(run.stdout.contains("gone.cpython-399.pyc"), "{}{}", run.stdout, run.stderr);
}

/// A compile killed after it made a package's `__pycache__` and before it
/// wrote a cache there (`kill -9` of a background rebuild) leaves the folder
/// empty. When a checkout then deletes the package, the sweep of its folder
/// removes the empty cache folder too, and the package no longer imports.
#[test]
fn a_sweep_removes_an_empty_cache_folder_a_killed_compile_left() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("m.py", "M = 1\n");
    env.commit_all("x");
    env.git(&["checkout", "-q", "-b", "y"]);
    env.write("p1/__init__.py", "P = 1\n");
    env.write("p1/q/__init__.py", "Q = 1\n");
    env.commit_all("y adds a package");
    env.install_hooks();
    env.run(&["rebuild", "--all"]).expect_code(0);
    // What the killed compile left: the cache folders, without a cache.
    for folder in ["p1/__pycache__", "p1/q/__pycache__"] {
        std::fs::remove_dir_all(env.repo.join(folder)).unwrap();
        std::fs::create_dir(env.repo.join(folder)).unwrap();
    }
    env.git(&["checkout", "-q", "main"]);
    let gone = env.python(python, &["-c", "import p1; print(p1)"]);
    assert_ne!(gone.code, 0, "the deleted package still imports: {}", gone.stdout);
    assert!(!env.repo.join("p1").exists(), "left: {:?}", std::fs::read_dir(env.repo.join("p1")).map(|d| d.count()));
}

#[test]
fn pycache_prefix_is_written_and_cleaned_in_the_mirror_tree() {
    let python = common::require_python!();
    let mut env = env_with(python);
    let prefix = env.root().join("prefix");
    env.extra_env.push(("PYTHONPYCACHEPREFIX".into(), prefix.display().to_string()));
    env.write("pkg/m.py", "M = 1\n");
    env.write("pkg/gone.py", "G = 1\n");
    env.commit_all("base");
    env.install_hooks();
    env.run(&["rebuild", "--all"]).expect_code(0);
    let mirror = prefix.join(env.repo.strip_prefix("/").unwrap()).join("pkg");
    let tag = &python.tag;
    assert!(mirror.join(format!("m.{tag}.pyc")).is_file());
    assert!(mirror.join(format!("gone.{tag}.pyc")).is_file());
    assert!(pycs(&env.repo).is_empty(), "{:?}", pycs(&env.repo));
    env.git(&["rm", "-q", "pkg/gone.py"]);
    env.git(&["commit", "-q", "-m", "delete"]);
    env.git(&["checkout", "-q", "HEAD~1"]);
    env.git(&["checkout", "-q", "main"]);
    assert!(!mirror.join(format!("gone.{tag}.pyc")).exists());
    assert!(mirror.join(format!("m.{tag}.pyc")).is_file());
    // Python itself uses what we wrote.
    let mut command = env.command_in(&python.path, &env.repo);
    command.env("PYTHONPYCACHEPREFIX", &prefix).args(["-v", "-c", "import pkg.m"]);
    let run = Run::from(command.output().unwrap());
    assert!(run.stderr.contains(&format!("m.{tag}.pyc matches")), "{}", run.stderr);
}

#[test]
fn dont_write_bytecode_makes_hooks_only_remove() {
    let python = common::require_python!();
    let mut env = env_with(python);
    env.write("a.py", "A = 1\n");
    env.write("gone.py", "G = 1\n");
    env.commit_all("base");
    env.install_hooks();
    env.run(&["rebuild", "--all"]).expect_code(0);
    env.extra_env.push(("PYTHONDONTWRITEBYTECODE".into(), "1".into()));
    env.git(&["rm", "-q", "gone.py"]);
    env.write("a.py", "A = 2\n");
    env.write("new.py", "N = 1\n");
    env.commit_all("change");
    env.git(&["checkout", "-q", "HEAD~1"]);
    env.git(&["checkout", "-q", "main"]);
    let tag = &python.tag;
    let caches = pycs(&env.repo);
    assert!(!caches.contains(&format!("__pycache__/gone.{tag}.pyc")), "{caches:?}");
    assert!(!caches.contains(&format!("__pycache__/new.{tag}.pyc")), "the hook compiled: {caches:?}");
    // An explicit rebuild warns, then compiles.
    let run = env.run(&["rebuild", "--all"]).expect_code(0);
    assert!(run.stderr.contains("PYTHONDONTWRITEBYTECODE is set"), "{}", run.stderr);
    assert!(pycs(&env.repo).contains(&format!("__pycache__/new.{tag}.pyc")));
}

#[test]
fn two_interpreters_give_two_cache_tags() {
    let Some(other) = python::other_than_default() else { return };
    let default = common::require_python!();
    let env = TestEnv::new();
    env.write("m.py", "M = 1\n");
    env.commit_all("base");
    env.git(&["config", "--add", "pycache-guard.python", default.path.to_str().unwrap()]);
    env.git(&["config", "--add", "pycache-guard.python", other.path.to_str().unwrap()]);
    env.run(&["rebuild", "--all"]).expect_code(0);
    assert_eq!(
        pycs(&env.repo),
        set(&[&format!("__pycache__/m.{}.pyc", default.tag), &format!("__pycache__/m.{}.pyc", other.tag)])
    );
    for python in [default, other] {
        let run = Run::from(env.command_in(&python.path, &env.repo).args(["-v", "-c", "import m"]).output().unwrap());
        assert!(run.stderr.contains(&format!("m.{}.pyc matches", python.tag)), "{}", run.stderr);
    }
}

#[test]
fn every_interpreter_on_the_machine_writes_caches_it_loads() {
    for python in python::modern() {
        let env = env_with(python);
        env.write("pkg/__init__.py", "");
        env.write("pkg/mod.py", "def f(x):\n    return [i * 2 for i in range(x)]\n");
        env.commit_all("base");
        env.run(&["rebuild", "--all"]).expect_code(0);
        let run =
            Run::from(env.command_in(&python.path, &env.repo).args(["-v", "-c", "import pkg.mod"]).output().unwrap());
        assert!(
            run.stderr.contains(&format!("mod.{}.pyc matches", python.tag)),
            "{:?}: {}",
            python.version,
            run.stderr
        );
    }
}

#[test]
fn optimization_levels_from_config_and_flags() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("pyproject.toml", "[tool.pycache-guard]\noptimize = [0, 2]\n");
    env.write("m.py", "assert True\n");
    env.commit_all("base");
    env.run(&["rebuild", "--all"]).expect_code(0);
    let tag = &python.tag;
    assert_eq!(pycs(&env.repo), set(&[&format!("__pycache__/m.{tag}.pyc"), &format!("__pycache__/m.{tag}.opt-2.pyc")]));
    env.run(&["rebuild", "--all", "--optimize", "1"]).expect_code(0);
    assert!(pycs(&env.repo).contains(&format!("__pycache__/m.{tag}.opt-1.pyc")));
    let mut command = env.command_in(&python.path, &env.repo);
    command.args(["-OO", "-v", "-c", "import m"]);
    let run = Run::from(command.output().unwrap());
    assert!(run.stderr.contains(&format!("m.{tag}.opt-2.pyc matches")), "{}", run.stderr);
}

/// The flags word of a pyc header.
fn pyc_flags(path: &Path) -> u32 {
    let bytes = std::fs::read(path).unwrap();
    u32::from_le_bytes(bytes[4..8].try_into().unwrap())
}

#[test]
fn checked_hash_from_source_date_epoch_and_kept_modes() {
    let python = common::require_python!();
    let mut env = env_with(python);
    env.write("a.py", "A = 1\n");
    env.write("b.py", "B = 1\n");
    env.commit_all("base");
    let cache = |m: &str| env.repo.join(format!("__pycache__/{m}.{}.pyc", python.tag));
    env.run(&["rebuild", "--all", "--invalidation-mode", "unchecked-hash"]).expect_code(0);
    assert_eq!(pyc_flags(&cache("a")), 0b01);
    // An existing file's mode is kept.
    env.run(&["rebuild", "a.py"]).expect_code(0);
    assert_eq!(pyc_flags(&cache("a")), 0b01);
    std::fs::remove_dir_all(env.repo.join("__pycache__")).unwrap();
    env.extra_env.push(("SOURCE_DATE_EPOCH".into(), "1700000000".into()));
    env.run(&["rebuild", "--all"]).expect_code(0);
    assert_eq!(pyc_flags(&cache("b")), 0b11, "SOURCE_DATE_EPOCH means checked-hash");
    let run = Run::from(env.command_in(&python.path, &env.repo).args(["-v", "-c", "import b"]).output().unwrap());
    assert!(run.stderr.contains("b.") && run.stderr.contains("pyc matches"), "{}", run.stderr);
}

#[test]
fn broken_source_is_one_warning_and_its_stale_cache_goes() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("good.py", "G = 1\n");
    env.write("broken.py", "B = 1\n");
    env.commit_all("base");
    env.install_hooks();
    env.run(&["rebuild", "--all"]).expect_code(0);
    env.git(&["checkout", "-q", "-b", "broken"]);
    env.write("broken.py", "def f(:\n");
    env.write("good.py", "G = 2\n");
    env.commit_all("break it");
    env.git(&["checkout", "-q", "main"]);
    let run = env.git_nowait_in(&env.repo, &["checkout", "-q", "broken"]);
    assert_eq!(run.code, 0);
    // The compiling, and so the warning, comes in the background: `wait` shows it.
    let run = env.run(&["wait"]).expect_code(0);
    let warnings: Vec<&str> = run.stderr.lines().filter(|line| line.starts_with("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(warnings[0].starts_with("warning: broken.py:1:"), "{}", run.stderr);
    assert!(warnings[0].contains(&python.tag), "{}", run.stderr);
    assert_eq!(env.python(python, &["-c", "import good; print(good.G)"]).stdout, "2\n");
    // Running the rebuild by hand reports the finding with exit 1.
    env.run(&["rebuild", "broken.py"]).expect_code(1);
}

#[test]
fn missing_interpreter_is_one_warning_and_the_checkout_succeeds() {
    let mut env = TestEnv::new();
    env.use_python("python-that-does-not-exist");
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    env.install_hooks();
    env.git(&["checkout", "-q", "-b", "other"]);
    env.write("a.py", "A = 2\n");
    env.commit_all("change");
    let run = env.git_nowait_in(&env.repo, &["checkout", "-q", "main"]);
    assert_eq!(run.code, 0);
    let run = env.run(&["wait"]).expect_code(0);
    assert!(
        run.stderr.contains("`python-that-does-not-exist` (from `PYCACHE_GUARD_PYTHON`) was not found on `PATH`"),
        "{}",
        run.stderr
    );
    // By hand, an interpreter someone named that is missing fails (a typo in CI must not pass).
    let run = env.run(&["rebuild", "--all"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("error: `python-that-does-not-exist` (from `PYCACHE_GUARD_PYTHON`)"), "{}", run.stderr);
}

#[test]
fn tracked_scripts_named_as_interpreters_never_run() {
    let env = TestEnv::new();
    let marker = env.root().join("evil-ran");
    let evil = format!("#!/bin/sh\ntouch '{}'\nexec python3 \"$@\"\n", marker.display());
    for path in ["tools/python", ".venv/bin/python"] {
        env.write(path, &evil);
        std::fs::set_permissions(env.repo.join(path), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    env.write(".venv/pyvenv.cfg", "home = /usr/bin\n");
    env.write("pyproject.toml", "[tool.pycache-guard]\npython = [\"./tools/python\"]\n");
    env.write("a.py", "A = 1\n");
    env.commit_all("a hostile repository");
    // Committed configuration may only name bare names.
    let run = env.run(&["rebuild", "--all"]);
    assert!(run.stderr.contains("only bare names"), "{}", run.stderr);
    // Local configuration pointing at a tracked file is refused too.
    env.write("pyproject.toml", "");
    env.git(&["config", "pycache-guard.python", "./tools/python"]);
    let run = env.run(&["rebuild", "--all"]);
    assert!(run.stderr.contains("the repository tracks `"), "{}", run.stderr);
    // A committed .venv is not an untracked virtual environment: python3 is used.
    env.git(&["config", "--unset", "pycache-guard.python"]);
    env.run(&["rebuild", "--all"]).expect_code(0);
    assert!(!marker.exists(), "a tracked script was executed");
    assert!(!pycs(&env.repo).is_empty());
}

#[test]
fn caches_written_by_rebuild_are_the_ones_python_loads() {
    let python = common::require_python!();
    let env = env_with(python);
    let mut modules = Vec::new();
    for package in ["corpus", "corpus/sub"] {
        env.write(format!("{package}/__init__.py"), "");
        for i in 0..12 {
            let source = format!(
                "import os\n\nclass C{i}:\n    def m(self, x: int) -> int:\n        return x + {i}\n\nVALUE = [C{i}().m(n) for n in range({i})]\n"
            );
            env.write(format!("{package}/m{i}.py"), source);
            modules.push(format!("{}.m{i}", package.replace('/', ".")));
        }
    }
    env.commit_all("corpus");
    env.run(&["rebuild", "--all"]).expect_code(0);
    let code = format!("import {}", modules.join(", "));
    let run = Run::from(env.command_in(&python.path, &env.repo).args(["-v", "-c", &code]).output().unwrap());
    for module in &modules {
        let relative = module.replace('.', "/");
        let file = relative.rsplit('/').next().unwrap();
        let loaded = format!("{file}.{}.pyc matches {}", python.tag, env.repo.join(format!("{relative}.py")).display());
        assert!(run.stderr.contains(&loaded), "{module} was not loaded from its cache:\n{}", run.stderr);
        let compiled = format!("code object from {}", env.repo.join(format!("{relative}.py")).display());
        assert!(!run.stderr.contains(&compiled), "{module} was compiled from source");
    }
}

#[test]
fn caches_are_byte_identical_to_py_compile() {
    let python = common::require_python!();
    let env = env_with(python);
    let stdlib = python.stdlib();
    for module in ["argparse.py", "dataclasses.py", "textwrap.py", "string.py"] {
        std::fs::copy(stdlib.join(module), env.repo.join(module)).unwrap();
    }
    env.write("odd name.py", "# coding: latin-1\nX = 'caf\u{e9}'\n");
    env.commit_all("sources");
    // Sources modified in the second they are compiled get checked-hash caches
    // (a same-second write could fake a timestamp one); these are older.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
    for module in ["argparse.py", "dataclasses.py", "textwrap.py", "string.py", "odd name.py"] {
        let file = std::fs::File::options().write(true).open(env.repo.join(module)).unwrap();
        file.set_times(std::fs::FileTimes::new().set_modified(past)).unwrap();
    }
    env.run(&["rebuild", "--all"]).expect_code(0);
    let ours: Vec<(String, Vec<u8>)> =
        pycs(&env.repo).into_iter().map(|p| (p.clone(), std::fs::read(env.repo.join(&p)).unwrap())).collect();
    assert_eq!(ours.len(), 5);
    for module in ["argparse.py", "dataclasses.py", "textwrap.py", "string.py", "odd name.py"] {
        let status = env
            .command_in(&python.path, &env.repo)
            .args(["-m", "py_compile"])
            .arg(env.repo.join(module))
            .status()
            .unwrap();
        assert!(status.success());
    }
    for (path, bytes) in ours {
        assert!(std::fs::read(env.repo.join(&path)).unwrap() == bytes, "{path} differs from `python -m py_compile`");
    }
}

#[test]
fn dry_run_lists_the_plan_and_changes_nothing() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    env.write("__pycache__/gone.cpython-312.pyc", "orphan");
    let run = env.run(&["rebuild", "--dry-run", "."]).expect_code(0);
    assert!(run.stdout.contains(&format!("compile a.py ({})", python.tag)), "{}", run.stdout);
    assert!(run.stdout.contains("remove __pycache__/gone.cpython-312.pyc (orphaned)"), "{}", run.stdout);
    assert_eq!(pycs(&env.repo), set(&["__pycache__/gone.cpython-312.pyc"]));
}

#[test]
fn background_mode_returns_at_once_and_logs() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("pyproject.toml", "[tool.pycache-guard]\nbackground = true\n");
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    env.install_hooks();
    env.git(&["checkout", "-q", "-b", "other"]);
    env.write("b.py", "B = 1\n");
    env.commit_all("b");
    env.git(&["checkout", "-q", "main"]);
    env.git(&["checkout", "-q", "other"]);
    // Wait for the detached rebuild to finish: it writes its cache first and
    // its log line last, so the test waits for the line, not the cache.
    let log_path = env.repo.join(".git/pycache-guard/rebuild.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let log = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("background rebuild after post-index-change: compiled 1 file") {
            break log;
        }
        assert!(std::time::Instant::now() < deadline, "the background rebuild never logged its work:\n{log}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(log.contains("to compile in the background"), "{log}");
    assert!(pycs(&env.repo).contains(&format!("__pycache__/b.{}.pyc", python.tag)), "{log}");
}

#[test]
fn hooks_exit_zero_even_when_everything_fails() {
    let env = TestEnv::new();
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    env.write(".git/index", "garbage");
    let a = "1111111111111111111111111111111111111111";
    let run = env.run(&["hook", "post-checkout", a, "2222222222222222222222222222222222222222", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    env.run(&["hook", "post-merge", "0"]).expect_code(0);
    env.run(&["hook", "post-rewrite", "amend"]).expect_code(0);
    env.run(&["hook", "post-checkout", "not", "valid"]).expect_code(0);
}

#[test]
fn pre_commit_framework_drives_the_post_checkout_stage() {
    let python = common::require_python!();
    let env = env_with(python);
    let hook_repo = common::hook_repo::hook_repository(&env);
    let rev = env.git_in(&hook_repo, &["rev-parse", "HEAD"]).stdout.trim().to_string();
    let config = format!("repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: pycache-rebuild\n", hook_repo.display());
    env.write(".pre-commit-config.yaml", config);
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    env.git(&["checkout", "-q", "-b", "other"]);
    env.write("b.py", "B = 1\n");
    env.commit_all("b");
    env.git(&["checkout", "-q", "main"]);
    let run = common::hook_repo::pre_commit(&env, &["install", "--hook-type", "post-checkout"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let mut checkout = env.command_in("git", &env.repo);
    checkout.args(["checkout", "-q", "other"]);
    checkout.env("CARGO_TARGET_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-cargo-target"));
    checkout.env("PRE_COMMIT_HOME", Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-home"));
    let run = Run::from(checkout.output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    env.wait_in(&env.repo);
    assert!(
        pycs(&env.repo).contains(&format!("__pycache__/b.{}.pyc", python.tag)),
        "{}\n{:?}",
        run.stderr,
        pycs(&env.repo)
    );
}

#[test]
fn prek_drives_the_post_merge_stage_with_its_own_variables() {
    let python = common::require_python!();
    let env = env_with(python);
    // A local hook runs the binary under test; prek passes PRE_COMMIT_SQUASH_MERGE, not pre-commit's name.
    let config = format!(
        "repos:\n- repo: local\n  hooks:\n  - id: pycache-rebuild\n    name: pycache-rebuild\n    entry: {} rebuild --hook\n    language: system\n    always_run: true\n    pass_filenames: false\n    stages: [post-merge]\n",
        common::binary().display()
    );
    env.write(".pre-commit-config.yaml", config);
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    env.git(&["checkout", "-q", "-b", "topic"]);
    env.write("merged.py", "M = 1\n");
    env.commit_all("topic");
    env.git(&["checkout", "-q", "main"]);
    let mut install = env.command_in(common::tools::venv_bin().join("prek"), &env.repo);
    install.args(["install", "--hook-type", "post-merge"]).env("PREK_HOME", env.root().join("prek-home"));
    let run = Run::from(install.output().unwrap());
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let mut merge = env.command_in("git", &env.repo);
    merge.args(["merge", "-q", "--no-edit", "topic"]).env("PREK_HOME", env.root().join("prek-home"));
    let run = Run::from(merge.output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    env.wait_in(&env.repo);
    assert!(
        pycs(&env.repo).contains(&format!("__pycache__/merged.{}.pyc", python.tag)),
        "{}\n{:?}",
        run.stderr,
        pycs(&env.repo)
    );
}

/// Regression: with a record saying nothing moved, `rebuild --all` returned at
/// once with exit 0, compiling nothing and reporting nothing.
#[test]
fn rebuild_all_compiles_every_source_whatever_the_record_says() {
    let env = env_with(python::default());
    env.write("m.py", "x = 1\n");
    env.write("bad.py", "x = (\n");
    env.commit_all("sources");
    age(&env, "m.py");
    age(&env, "bad.py");
    // Let the index entries fall behind the record the first run writes, as
    // they do on any later day (the record looks a second back).
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let first = env.run(&["rebuild", "--all"]).expect_code(1);
    assert!(first.stderr.contains("bad.py"), "{}", first.stderr);
    let cache = env.repo.join(format!("__pycache__/m.{}.pyc", python::default().tag));
    let before = identity(&cache);
    let again = env.run(&["rebuild", "--all"]).expect_code(1);
    assert!(again.stderr.contains("bad.py"), "the syntax error is reported again: {}", again.stderr);
    assert_ne!(identity(&cache), before, "every source is compiled again");
}

/// A plain `git commit` writes no work-tree file: the user's own edit gets no
/// compile at commit time (Python rewrites a stale cache on import), but a
/// cache that would lie about it is still put right.
#[test]
fn a_plain_commit_compiles_only_what_would_lie() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("stale.py", "x = 1\n");
    env.write("lying.py", "y = 1\n");
    env.commit_all("one");
    age(&env, "stale.py");
    // One whole second S in the past: the source at S.1, its cache written at
    // S.2, the same-size edit at S.5, as a fast script or git would make them.
    let second = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 20;
    let at = |tenths: u64| std::time::UNIX_EPOCH + std::time::Duration::from_millis(second * 1000 + tenths * 100);
    let set_mtime = |path: &Path, time: std::time::SystemTime| {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_times(std::fs::FileTimes::new().set_modified(time)).unwrap();
    };
    let lying = env.repo.join("lying.py");
    set_mtime(&lying, at(1));
    env.install_hooks();
    let imported = env.python(python, &["-c", "import stale, lying"]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    // The record any earlier hook leaves (a first hook without one scans).
    env.run(&["rebuild"]).expect_code(0);
    let stale_cache = env.repo.join(format!("__pycache__/stale.{}.pyc", python.tag));
    let before = identity(&stale_cache);
    // An edit of another size: the cache is merely out of date.
    env.write("stale.py", "x = 222\n");
    // An edit of the same size in the same second, after the cache: it would lie.
    set_mtime(&env.repo.join(format!("__pycache__/lying.{}.pyc", python.tag)), at(2));
    env.write("lying.py", "y = 7\n");
    set_mtime(&lying, at(5));
    env.git(&["add", "stale.py", "lying.py"]);
    env.git(&["commit", "-q", "-m", "edits"]);
    let log = String::from_utf8_lossy(&env.read(".git/pycache-guard/rebuild.log")).into_owned();
    assert_eq!(identity(&stale_cache), before, "the plain commit compiled an edit Python rewrites on import:\n{log}");
    let run = env.python(python, &["-c", "import lying; print(lying.y)"]);
    assert_eq!(run.stdout, "7\n", "the lying cache survived the commit: {}", run.stderr);
}

#[test]
fn a_link_re_pointed_to_a_target_of_the_same_size_and_time_is_not_served_old_code() {
    let python = python::default();
    let env = env_with(python);
    env.write("a_impl.py", "X = 'a'\n");
    env.write("b_impl.py", "X = 'b'\n");
    age(&env, "a_impl.py");
    let a_time = std::fs::metadata(env.repo.join("a_impl.py")).unwrap().modified().unwrap();
    std::fs::File::options().write(true).open(env.repo.join("b_impl.py")).unwrap().set_modified(a_time).unwrap();
    std::os::unix::fs::symlink("a_impl.py", env.repo.join("m.py")).unwrap();
    env.commit_all("m is a link to a_impl");
    env.run(&["rebuild", "--all"]).expect_code(0);
    // What `git switch` does to a link another branch points elsewhere:
    // both targets keep their times, and importlib's stat of `m.py` (through
    // the link) matches the cache written for the old target.
    std::fs::remove_file(env.repo.join("m.py")).unwrap();
    std::os::unix::fs::symlink("b_impl.py", env.repo.join("m.py")).unwrap();
    let imported = |env: &TestEnv| {
        let run = env.python(python, &["-c", "import m; print(m.X)"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout.trim().to_string()
    };
    let check = env.run(&["check", "--select", "stale-bytecode"]);
    assert_eq!(check.code, 1, "check passed a cache of the old target\n{}{}", check.stdout, check.stderr);
    env.run(&["rebuild"]).expect_code(0);
    assert_eq!(imported(&env), "b", "Python ran the old target's code after `rebuild`");
}

#[test]
fn an_unchecked_hash_cache_of_other_bytes_is_reported_and_rebuilt() {
    let python = python::default();
    let env = env_with(python);
    env.write("m.py", "X = 'old'\n");
    env.commit_all("m");
    let compile = "import py_compile; py_compile.compile('m.py', invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)";
    assert_eq!(env.python(python, &["-c", compile]).code, 0);
    // New bytes, and a time older than the cache: only the hash tells.
    env.write("m.py", "X = 'newer'\n");
    age(&env, "m.py");
    let check = env.run(&["check", "--select", "stale-bytecode"]);
    assert_eq!(check.code, 1, "check passed an unchecked-hash cache of other bytes\n{}{}", check.stdout, check.stderr);
    env.run(&["rebuild"]).expect_code(0);
    let run = env.python(python, &["-c", "import m; print(m.X)"]);
    assert_eq!(run.stdout.trim(), "newer", "{}", run.stderr);
}

#[test]
fn an_orphan_branch_leaves_no_package_and_no_warning_even_before_any_record() {
    let python = python::default();
    let env = env_with(python);
    env.write("pkg/__init__.py", "");
    env.write("pkg/m.py", "X = 1\n");
    env.commit_all("a package");
    env.run(&["install"]).expect_code(0);
    // Caches Python wrote, and no record of ours yet.
    assert_eq!(env.python(python, &["-m", "compileall", "-q", "pkg"]).code, 0);
    assert!(!env.repo.join(".git/pycache-guard/record").exists());
    let switched = env.git_status(&["switch", "-q", "--orphan", "pages"]);
    assert_eq!(switched.code, 0, "{}", switched.stderr);
    assert_eq!(switched.stderr, "", "the hooks spoke in git's output");
    assert!(!env.repo.join("pkg").exists(), "pkg/__pycache__ stayed: `import pkg` finds a namespace package");
}

#[test]
fn a_source_that_resolves_through_a_folder_link_git_re_points_is_not_served_old_code() {
    let python = python::default();
    let env = env_with(python);
    env.write("a/x.py", "x = 1\n");
    env.write("b/x.py", "x = 2\n");
    age(&env, "a/x.py");
    let a_time = std::fs::metadata(env.repo.join("a/x.py")).unwrap().modified().unwrap();
    std::fs::File::options().write(true).open(env.repo.join("b/x.py")).unwrap().set_modified(a_time).unwrap();
    std::os::unix::fs::symlink("a", env.repo.join("current")).unwrap();
    std::fs::create_dir_all(env.repo.join("pkg")).unwrap();
    std::os::unix::fs::symlink("../current/x.py", env.repo.join("pkg/m.py")).unwrap();
    env.commit_all("pkg/m.py resolves through the folder link `current`");
    env.git(&["switch", "-q", "-c", "other"]);
    std::fs::remove_file(env.repo.join("current")).unwrap();
    std::os::unix::fs::symlink("b", env.repo.join("current")).unwrap();
    env.commit_all("current points at b");
    env.git(&["switch", "-q", "main"]);
    // Past the second a record's window reaches back: only the link changes.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    env.run(&["install"]).expect_code(0);
    // The hooks' record is made; then Python compiles through the links.
    env.git_status(&["switch", "-q", "other"]);
    env.git_status(&["switch", "-q", "main"]);
    std::fs::remove_dir_all(env.repo.join("pkg/__pycache__")).ok();
    assert_eq!(env.python(python, &["-m", "compileall", "-q", "pkg"]).code, 0);
    env.git_status(&["switch", "-q", "other"]);
    let run = env.python(python, &["-c", "import pkg.m; print(pkg.m.x)"]);
    assert_eq!(run.stdout.trim(), "2", "Python ran the old target's code after the switch\n{}", run.stderr);
    let check = env.run(&["check", "--select", "stale-bytecode"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}
