//! A real project's history (issue 11): six released sdists of `packaging`
//! from PyPI (20.9, 21.3, 22.0, 23.0, 24.0, 24.2) committed in order, with
//! the native hooks installed. Across them modules vanish (`_compat`,
//! `_typing` after 20.9, `__about__` after 22.0), appear (`_elffile`,
//! `_parser`, `metadata`) and the whole package moves (`packaging/` to
//! `src/packaging/` at 23.0), and a subpackage appears (`licenses/` at 24.2).
//!
//! The history is walked forwards and backwards with `git checkout`, then a
//! real merge and a real rebase of those commits (onto a side branch, so
//! rebase checks out a tree without the package and replays every version).
//! After each step:
//! - every tracked module has a fresh cache, as importlib judges it;
//! - no cache and no folder outlives its source;
//! - `python -v` imports every module of the package without compiling one.
//!
//! The sdists are downloaded with `pip download --no-deps --no-binary :all:`
//! into a cache under cargo's target folder at set-up time (never committed).
//! Offline, the test fails loudly; it skips only when
//! `PYCACHE_GUARD_TEST_OFFLINE=1` says the machine has no index.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::python::Python;
use common::{Run, TestEnv};

/// The released versions, oldest first.
const VERSIONS: [&str; 6] = ["20.9", "21.3", "22.0", "23.0", "24.0", "24.2"];

/// The folder of downloaded sdists, or `None` when the environment says to skip offline.
fn sdists() -> Option<PathBuf> {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pypi-history");
    std::fs::create_dir_all(&cache).unwrap();
    for version in VERSIONS {
        if cache.join(format!("packaging-{version}.tar.gz")).exists() {
            continue;
        }
        let run = Command::new("python3")
            .args(["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"])
            .args(["--no-binary", ":all:", "-d"])
            .arg(&cache)
            .arg(format!("packaging=={version}"))
            .output()
            .expect("python3 runs");
        if !run.status.success() {
            if std::env::var_os("PYCACHE_GUARD_TEST_OFFLINE").is_some_and(|value| value == "1") {
                eprintln!("skipped: PYCACHE_GUARD_TEST_OFFLINE=1 and packaging=={version} cannot be downloaded");
                return None;
            }
            panic!(
                "pip download packaging=={version} failed (set PYCACHE_GUARD_TEST_OFFLINE=1 to skip offline)\n{}",
                String::from_utf8_lossy(&run.stderr)
            );
        }
    }
    Some(cache)
}

/// Replaces the work tree with the package folder of one sdist and commits it as that version.
fn commit_version(env: &TestEnv, sdists: &Path, version: &str) {
    for entry in std::fs::read_dir(&env.repo).unwrap().flatten() {
        let name = entry.file_name();
        if name != ".git" && name != ".gitignore" {
            std::fs::remove_dir_all(entry.path()).or_else(|_| std::fs::remove_file(entry.path())).unwrap();
        }
    }
    let unpacked = env.root().join(format!("unpacked-{version}"));
    std::fs::create_dir_all(&unpacked).unwrap();
    let archive = sdists.join(format!("packaging-{version}.tar.gz"));
    let status = Command::new("tar").arg("xzf").arg(&archive).arg("-C").arg(&unpacked).status().unwrap();
    assert!(status.success(), "tar xzf {}", archive.display());
    let top = unpacked.join(format!("packaging-{version}"));
    for package in ["packaging", "src/packaging"] {
        if top.join(package).is_dir() {
            copy_python(&top.join(package), &env.repo.join(package));
        }
    }
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "--no-verify", "-m", &format!("packaging {version}")]);
    env.git(&["tag", &format!("v{version}")]);
}

/// Copies the `.py` files of a package folder, keeping its layout.
fn copy_python(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_python(&path, &to.join(entry.file_name()));
        } else if path.extension().is_some_and(|ext| ext == "py") {
            std::fs::create_dir_all(to).unwrap();
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// Judges a tracked module's cache as importlib does: `fresh`, `stale` or `none`.
const FRESHNESS: &str = r#"
import importlib.util, os, sys, _imp
for path in sys.argv[1:]:
    cfile = importlib.util.cache_from_source(os.path.abspath(path))
    state = 'none'
    if os.path.exists(cfile):
        data = open(cfile, 'rb').read(16)
        stat = os.stat(path)
        flags = int.from_bytes(data[4:8], 'little')
        fresh = data[:4] == importlib.util.MAGIC_NUMBER and (
            (flags == 0 and int.from_bytes(data[8:12], 'little') == int(stat.st_mtime) & 0xFFFFFFFF
             and int.from_bytes(data[12:16], 'little') == stat.st_size & 0xFFFFFFFF)
            or (flags & 1 and data[8:16] == _imp.source_hash(
                int.from_bytes(importlib.util.MAGIC_NUMBER, 'little'), open(path, 'rb').read())))
        state = 'fresh' if fresh else 'stale'
    print(path, state)
"#;

/// What is wrong with the work tree after a step. `own_edits` are files the user wrote and committed
/// with a plain `git commit`: git wrote nothing there, so their caches may be missing, never stale.
fn problems(env: &TestEnv, python: &Python, own_edits: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let tracked: Vec<String> = env.git(&["ls-files", "*.py"]).stdout.lines().map(String::from).collect();
    let run = Run::from(
        env.command_in(&python.path, &env.repo).args(["-B", "-c", FRESHNESS]).args(&tracked).output().unwrap(),
    );
    let missing_is_fine = |line: &str| own_edits.iter().any(|own| line == format!("{own} none"));
    for line in run.expect_code(0).stdout.lines().filter(|line| !line.ends_with(" fresh") && !missing_is_fine(line)) {
        problems.push(format!("cache not fresh: {line}"));
    }
    // No cache and no folder outlives its source.
    let tracked_dirs: Vec<PathBuf> =
        tracked.iter().flat_map(|path| Path::new(path).ancestors().skip(1).map(Path::to_path_buf)).collect();
    walk(&env.repo, Path::new(""), &mut |relative, is_dir| {
        let name = relative.file_name().unwrap().to_string_lossy().into_owned();
        let parent = relative.parent().unwrap();
        if is_dir && name == "__pycache__" {
            if !tracked_dirs.contains(&parent.to_path_buf())
                || !tracked.iter().any(|t| Path::new(t).parent() == Some(parent))
            {
                problems.push(format!("{} outlives its sources", relative.display()));
            }
        } else if is_dir && !tracked_dirs.contains(&relative.to_path_buf()) {
            problems.push(format!("folder {} outlives its sources", relative.display()));
        } else if !is_dir && parent.file_name().is_some_and(|n| n == "__pycache__") {
            let module = name.split('.').next().unwrap_or_default();
            let source = parent.parent().unwrap().join(format!("{module}.py"));
            if !tracked.contains(&source.to_string_lossy().into_owned()) {
                problems.push(format!("{} outlives {}", relative.display(), source.display()));
            }
        }
    });
    if !tracked.iter().any(|path| path.contains("packaging/")) {
        return problems;
    }
    // Import every module with -v: importlib says `code object from '<x>.py'` when it compiles.
    let root = if env.repo.join("src/packaging").is_dir() { env.repo.join("src") } else { env.repo.clone() };
    let names: Vec<String> = tracked
        .iter()
        .filter(|path| path.starts_with("packaging/") || path.starts_with("src/packaging/"))
        .map(|path| {
            path.trim_start_matches("src/").trim_end_matches(".py").trim_end_matches("/__init__").replace('/', ".")
        })
        .collect();
    let mut command = env.command_in(&python.path, &root);
    command.env("PYTHONDONTWRITEBYTECODE", "1").args([
        "-v",
        "-W",
        "ignore",
        "-c",
        &format!("import {}", names.join(", ")),
    ]);
    let run = Run::from(command.output().unwrap());
    if run.code != 0 {
        problems.push(format!(
            "importing the package failed\n{}",
            run.stderr.lines().filter(|line| !line.starts_with('#')).collect::<Vec<_>>().join("\n")
        ));
    }
    let repo = env.repo.display().to_string();
    for line in run.stderr.lines() {
        if line.starts_with("# code object from")
            && line.contains(&repo)
            && line.trim_end_matches('\'').ends_with(".py")
        {
            problems.push(format!("python -v compiled: {line}"));
        }
    }
    problems
}

/// Calls `visit` for every file and folder under `dir` except `.git`, with paths relative to the root.
fn walk(root: &Path, relative: &Path, visit: &mut dyn FnMut(&Path, bool)) {
    for entry in std::fs::read_dir(root.join(relative)).unwrap().flatten() {
        let path = relative.join(entry.file_name());
        if path == Path::new(".git") {
            continue;
        }
        let is_dir = entry.file_type().unwrap().is_dir();
        visit(&path, is_dir);
        if is_dir {
            walk(root, &path, visit);
        }
    }
}

#[test]
fn packaging_history_walked_merged_and_rebased_keeps_every_cache_true() {
    let Some(sdists) = sdists() else { return };
    let python = common::require_python!();
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n");
    env.commit_all("root");
    env.git(&["tag", "root"]);
    for version in VERSIONS {
        commit_version(&env, &sdists, version);
    }
    env.install_hooks();
    env.git(&["checkout", "-q", "v20.9"]);
    env.run(&["rebuild", "--all"]).expect_code(0);

    let mut failed = Vec::new();
    let mut step = |what: &str, env: &TestEnv, own_edits: &[&str]| {
        let found = problems(env, python, own_edits);
        if !found.is_empty() {
            failed.push(format!("{what}:\n    {}", found.join("\n    ")));
        }
    };
    step("start at v20.9", &env, &[]);
    let forwards = VERSIONS.iter().skip(1);
    let backwards = VERSIONS.iter().rev().skip(1);
    for version in forwards.chain(backwards) {
        env.git(&["checkout", "-q", &format!("v{version}")]);
        step(&format!("checkout v{version}"), &env, &[]);
    }
    // A side branch from the root with a top-level module of its own.
    env.git(&["checkout", "-q", "-b", "side", "root"]);
    step("checkout a branch without the package", &env, &[]);
    env.write("conftest.py", "collect_ignore = []\n");
    env.git(&["add", "conftest.py"]);
    env.git(&["commit", "-q", "-m", "side"]);
    step("commit on side", &env, &["conftest.py"]);
    // A real merge commit that brings the whole history in.
    env.git(&["checkout", "-q", "-b", "merged", "v22.0"]);
    env.git(&["merge", "-q", "--no-edit", "side"]);
    step("merge side into v22.0", &env, &[]);
    // A real rebase: every version replayed onto side, each pick in the same seconds.
    env.git(&["checkout", "-q", "-b", "line", "v24.2"]);
    env.git(&["rebase", "-q", "side"]);
    step("rebase v20.9..v24.2 onto side", &env, &[]);
    env.git(&["checkout", "-q", "merged"]);
    step("checkout the merge", &env, &[]);
    // An interactive rebase that folds the replayed versions into one commit.
    env.git(&["checkout", "-q", "line"]);
    step("checkout the rebased line", &env, &[]);
    let mut rebase = env.command_in("git", &env.repo);
    rebase.args(["rebase", "-q", "-i", "side"]);
    rebase.env("GIT_SEQUENCE_EDITOR", "sed -i -e '2,$s/^pick/fixup/'").env("GIT_EDITOR", "true");
    let run = Run::from(rebase.output().unwrap());
    env.wait_in(&env.repo);
    assert_eq!(run.code, 0, "rebase -i\n{}\n{}", run.stdout, run.stderr);
    assert_eq!(env.git(&["rev-list", "--count", "side..HEAD"]).stdout.trim(), "1");
    step("rebase -i folding every version into one", &env, &[]);
    env.git(&["checkout", "-q", "v20.9"]);
    step("back to v20.9", &env, &[]);
    assert!(failed.is_empty(), "{} steps left caches untrue\n{}", failed.len(), failed.join("\n"));
}
