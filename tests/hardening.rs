//! Hostile repositories, bad input, faults and concurrency: each threat of
//! the hardening issue, proven with real git and real interpreters.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::python::Python;
use common::{Run, TestEnv};

fn env_with(python: &Python) -> TestEnv {
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n*$py.class\n");
    env
}

fn make_executable(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every cache under `root` must be loadable: a correct magic number and a marshal body.
fn assert_all_caches_load(env: &TestEnv, python: &Python, root: &Path) {
    let script = r"
import importlib.util, marshal, os, sys
bad = []
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        if f.endswith('.pyc'):
            data = open(os.path.join(d, f), 'rb').read()
            try:
                assert data[:4] == importlib.util.MAGIC_NUMBER, 'magic'
                marshal.loads(data[16:])
            except Exception as e:
                bad.append('%s: %r' % (os.path.join(d, f), e))
print('\n'.join(bad))
";
    let run = env.python(python, &["-c", script, root.to_str().unwrap()]);
    assert_eq!(run.stdout.trim(), "", "truncated or broken caches: {}", run.stderr);
}

fn no_escape(run: &Run) {
    assert!(
        !run.stdout.contains('\x1b') && !run.stderr.contains('\x1b'),
        "a raw escape reached the terminal:\n{:?}\n{:?}",
        run.stdout,
        run.stderr
    );
}

// ---------------------------------------------------------------- hostile repositories

#[test]
fn committed_python_files_are_never_imported_by_workers() {
    let python = common::require_python!();
    let env = env_with(python);
    let marker = env.root().join("imported");
    let payload = format!("open({:?}, 'a').write(__name__ + '\\n')\n", marker.display().to_string());
    for name in [
        "py_compile.py",
        "importlib/__init__.py",
        "sitecustomize.py",
        "usercustomize.py",
        "encodings/__init__.py",
        "marshal.py",
    ] {
        env.write(name, &payload);
    }
    env.write("evil.pth", format!("import os; {}", payload.trim()));
    env.write("app.py", "X = 1\n");
    env.commit_all("a hostile repository");
    env.run(&["rebuild", "--all"]).expect_code(0);
    env.write("broken.py", "def f(:\n");
    env.git(&["add", "broken.py"]);
    env.run(&["check", "--select", "syntax-error"]).expect_code(1);
    assert!(
        !marker.exists(),
        "a committed module was imported: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
    let run = env.python(python, &["-I", "-v", "-c", "import sys; sys.path.insert(0, '.'); import app"]);
    assert!(run.stderr.contains(&format!("app.{}.pyc matches", python.tag)), "{}", run.stderr);
}

#[test]
fn relative_path_entries_never_resolve_to_repository_files() {
    let env = TestEnv::new();
    let marker = env.root().join("ran");
    let evil = format!("#!/bin/sh\ntouch '{}'\n", marker.display());
    for path in ["python3", "bin/python3"] {
        env.write(path, &evil);
        make_executable(&env.repo.join(path));
    }
    env.write("pyproject.toml", "[tool.pycache-guard]\npython = [\"python3\"]\n");
    env.write("app.py", "X = 1\n");
    env.commit_all("hostile");
    let mut command = env.command_in(common::binary(), &env.repo);
    let path = format!(".:bin:{}", std::env::var("PATH").unwrap());
    command.env("PATH", path).args(["rebuild", "--all"]);
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!marker.exists(), "a script of the repository ran as the interpreter");
}

#[test]
fn a_symlinked_pycache_is_never_written_through_or_cleaned() {
    let python = common::require_python!();
    let env = env_with(python);
    let outside = env.root().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join(format!("m.{}.pyc", python.tag)), "precious").unwrap();
    env.write("pkg/m.py", "M = 1\n");
    std::os::unix::fs::symlink(&outside, env.repo.join("pkg/__pycache__")).unwrap();
    env.commit_all("base");
    let run = env.run(&["rebuild", "--all"]);
    assert!(run.stderr.contains("is a symbolic link; not writing through it"), "{}", run.stderr);
    env.run(&["clean"]).expect_code(0);
    env.run(&["check", "--no-syntax"]);
    let listing: Vec<_> = std::fs::read_dir(&outside).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(listing.len(), 1);
    assert_eq!(std::fs::read(outside.join(format!("m.{}.pyc", python.tag))).unwrap(), b"precious");
}

#[test]
fn a_gitignore_symlink_to_an_outside_file_is_never_written() {
    let env = TestEnv::new();
    let outside = env.root().join("shared-ignore");
    std::fs::write(&outside, "*.log\n").unwrap();
    std::os::unix::fs::symlink(&outside, env.repo.join(".gitignore")).unwrap();
    env.write("a.py", "");
    env.run(&["gitignore"]).expect_code(2);
    let run = env.run(&["check", "--fix", "--no-syntax"]);
    assert!(run.stderr.contains("ignore rules not added"), "{}", run.stderr);
    assert_eq!(std::fs::read(&outside).unwrap(), b"*.log\n");
    assert!(std::fs::symlink_metadata(env.repo.join(".gitignore")).unwrap().file_type().is_symlink());
}

#[test]
fn dot_dot_and_absolute_paths_are_refused() {
    let env = TestEnv::new();
    env.write("a.py", "");
    env.commit_all("base");
    for args in
        [&["rebuild", "../x"][..], &["rebuild", "/etc"], &["clean", ".."], &["clean", "/tmp"], &["check", "../"]]
    {
        let run = env.run(args).expect_code(2);
        assert!(run.stderr.contains("outside the repository"), "{args:?}: {}", run.stderr);
    }
    // Hook inputs that are not object ids do nothing, and never fail.
    env.run(&["hook", "post-checkout", "/etc/passwd", "/etc/shadow", "1"]).expect_code(0);
    let mut command = env.command_in(common::binary(), &env.repo);
    command.args(["hook", "post-rewrite", "rebase"]).stdin(Stdio::piped());
    let mut child = command.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"/etc/passwd /etc/shadow\n../../x ../../y\n").unwrap();
    assert!(child.wait().unwrap().success());
    let mut command = env.command_in(common::binary(), &env.repo);
    command
        .env("PRE_COMMIT_CHECKOUT_TYPE", "1")
        .env("PRE_COMMIT_FROM_REF", "/etc")
        .env("PRE_COMMIT_TO_REF", "../..")
        .args(["rebuild", "--hook"]);
    assert!(command.status().unwrap().success());
}

/// Runs git with `input` on stdin and returns its trimmed stdout.
fn git_with_input(env: &TestEnv, args: &[&str], input: &[u8]) -> String {
    let mut command = env.command_in("git", &env.repo);
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = command.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
}

#[test]
fn a_crafted_tree_with_dot_dot_entries_is_not_acted_on() {
    let env = TestEnv::new();
    // Beside the repository: what a deleted `../victim.py` would sweep.
    let outside = env.root();
    std::fs::write(outside.join("victim.pyc"), "outside").unwrap();
    std::fs::create_dir_all(outside.join("__pycache__")).unwrap();
    std::fs::write(outside.join("__pycache__/victim.cpython-312.pyc"), "outside").unwrap();
    // git mktree accepts a `..` entry that git checkout would refuse.
    let id = git_with_input(&env, &["hash-object", "-w", "--stdin"], b"x = 1\n");
    let parent = git_with_input(&env, &["mktree"], format!("100644 blob {id}\tvictim.py\n").as_bytes());
    let crafted =
        git_with_input(&env, &["mktree"], format!("040000 tree {parent}\t..\n100644 blob {id}\tok.py\n").as_bytes());
    let plain = git_with_input(&env, &["mktree"], format!("100644 blob {id}\tok.py\n").as_bytes());
    let before = env.git(&["commit-tree", &crafted, "-m", "crafted"]).stdout.trim().to_string();
    let after = env.git(&["commit-tree", &plain, "-m", "plain"]).stdout.trim().to_string();
    // `../victim.py` disappears between the two commits.
    env.run(&["rebuild", "--since", &before, "--until", &after]);
    env.run(&["hook", "post-checkout", &before, &after, "1"]).expect_code(0);
    assert!(outside.join("victim.pyc").exists());
    assert!(outside.join("__pycache__/victim.cpython-312.pyc").exists());
}

#[test]
fn terminal_escapes_never_reach_the_terminal() {
    let python = common::require_python!();
    let env = env_with(python);
    let nasty = b"esc\x1b[2J\x1b]0;pwned\x07";
    let mut source = nasty.to_vec();
    source.extend_from_slice(b".py");
    env.write_bytes_name(&source, b"def f(:\n");
    let mut pyc = b"__pycache__/".to_vec();
    pyc.extend_from_slice(nasty);
    pyc.extend_from_slice(b".cpython-312.pyc");
    env.write_bytes_name(&pyc, b"orphan");
    env.write_bytes_name(b"staged\x1b[31m.pyc", b"x");
    env.git(&["add", "-A"]);
    env.git(&["add", "-f", "staged\x1b[31m.pyc"]);
    for args in [
        &["forbid"][..],
        &["rebuild", "--all"],
        &["check"],
        &["check", "--format", "github"],
        &["check", "--format", "json"],
        &["clean", "--dry-run"],
        &["gitignore", "--dry-run"],
    ] {
        no_escape(&env.run(args));
    }
}

// ---------------------------------------------------------------- bad input

#[test]
fn broken_pyc_headers_are_reported_and_replaced() {
    let python = common::require_python!();
    let env = env_with(python);
    let tag = &python.tag;
    let cases: [(&str, &[u8]); 4] = [
        ("truncated", b"\xa7\x0d\x0d\x0a\0\0"),
        ("empty", b""),
        ("garbage", b"this is not a pyc at all, not at all"),
        ("future", b"\xff\x0f\x0d\x0a\0\0\0\0\0\0\0\0\0\0\0\0marshal"),
    ];
    for (name, _) in &cases {
        env.write(format!("{name}.py"), "X = 1\n");
    }
    env.commit_all("sources");
    for (name, header) in &cases {
        env.write(format!("__pycache__/{name}.{tag}.pyc"), header);
    }
    let run = env.run(&["check", "--no-syntax", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let stale = report["findings"].as_array().unwrap().iter().filter(|f| f["id"] == "stale-bytecode").count();
    assert_eq!(stale, 4, "{}", run.stdout);
    env.run(&["rebuild"]).expect_code(0);
    assert_all_caches_load(&env, python, &env.repo);
    for (name, _) in &cases {
        let run = env.python(python, &["-v", "-c", &format!("import {name}")]);
        assert!(run.stderr.contains(&format!("{name}.{tag}.pyc matches")), "{name}: {}", run.stderr);
    }
}

#[test]
fn hostile_sources_are_reported_and_the_rest_is_done() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("binary.py", [0u8, 159, 146, 150, 255, 0, 1, 2, 3].repeat(100));
    env.write("nul.py", b"x = 1\0\ny = 2\n");
    env.write("bad_encoding.py", b"# coding: no-such-codec\nx = 1\n");
    env.write("invalid_utf8.py", b"x = '\xff'\n");
    // 50 MB of comments and one statement.
    let mut big = b"# ".to_vec();
    big.extend(std::iter::repeat_n(b'x', 50 * 1024 * 1024));
    big.extend_from_slice(b"\nBIG = 1\n");
    env.write("big.py", big);
    env.write("good.py", "G = 1\n");
    env.commit_all("hostile sources");
    let run = env.run(&["rebuild", "--all"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for name in ["binary.py", "nul.py", "bad_encoding.py", "invalid_utf8.py"] {
        assert!(run.stderr.contains(&format!("error: {name}:")), "{name}: {}", run.stderr);
    }
    assert!(env.repo.join(format!("__pycache__/good.{}.pyc", python.tag)).exists());
    assert!(env.repo.join(format!("__pycache__/big.{}.pyc", python.tag)).exists());
    let run = env.run(&["check", "--select", "syntax-error", "--format", "json"]).expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["summary"]["errors"], 4, "{}", run.stdout);
}

#[test]
fn a_corrupt_index_is_a_clear_error_and_hooks_still_pass() {
    let env = TestEnv::new();
    env.write("a.py", "");
    env.commit_all("base");
    std::fs::write(env.repo.join(".git/index"), b"DIRC\0\0\0\x02\0\0\x10\0truncated").unwrap();
    for args in [&["forbid"][..], &["check", "--no-syntax"], &["clean"]] {
        let run = env.run(args).expect_code(2);
        assert!(
            run.stderr.contains("cannot read the git index") && run.stderr.contains(".git/index"),
            "{args:?}: {}",
            run.stderr
        );
    }
    let a = "1111111111111111111111111111111111111111";
    env.run(&["hook", "post-checkout", a, a, "0"]).expect_code(0);
}

#[test]
fn a_missing_head_object_is_a_clear_error() {
    let env = TestEnv::new();
    env.write("a.py", "");
    env.commit_all("base");
    let head = env.git(&["rev-parse", "HEAD"]).stdout.trim().to_string();
    std::fs::remove_file(env.repo.join(format!(".git/objects/{}/{}", &head[..2], &head[2..]))).unwrap();
    env.write("m.pyc", "x");
    env.git(&["add", "m.pyc"]);
    let run = env.run(&["forbid"]).expect_code(2);
    assert!(run.stderr.contains("HEAD"), "{}", run.stderr);
    env.run(&["hook", "post-merge", "0"]).expect_code(0);
}

#[test]
fn shallow_clones_rebuild_after_checkout() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("a.py", "A = 1\n");
    env.commit_all("one");
    env.write("a.py", "A = 2\n");
    env.commit_all("two");
    env.git(&["branch", "other", "HEAD~1"]);
    let clone = env.root().join("shallow");
    let url = format!("file://{}", env.repo.display());
    env.git(&["clone", "-q", "--depth", "1", "--no-single-branch", &url, clone.to_str().unwrap()]);
    let run = env.run_in(&clone, &["install"]).expect_code(0);
    let _ = run;
    env.git_in(&clone, &["checkout", "-q", "other"]);
    let result = Run::from(env.command_in(&python.path, &clone).args(["-c", "import a; print(a.A)"]).output().unwrap());
    assert_eq!(result.stdout, "1\n");
    assert!(clone.join(format!("__pycache__/a.{}.pyc", python.tag)).exists());
}

#[test]
fn partial_clones_fetch_nothing() {
    let python = common::require_python!();
    let env = env_with(python);
    env.git(&["config", "uploadpack.allowFilter", "true"]);
    for i in 0..5 {
        env.write(format!("m{i}.py"), format!("X = {i}\n"));
    }
    env.commit_all("one");
    env.write("m1.py", "X = 'changed'\n");
    env.commit_all("two");
    let clone = env.root().join("partial");
    let url = format!("file://{}", env.repo.display());
    env.git(&["clone", "-q", "--filter=blob:none", &url, clone.to_str().unwrap()]);
    // From now on any fetch would fail: the remote is gone.
    std::fs::rename(&env.repo, env.root().join("gone")).unwrap();
    let objects = |dir: &Path| env.git_in(dir, &["count-objects", "-v"]).stdout;
    let before = objects(&clone);
    let mut command = env.command_in(common::binary(), &clone);
    command.env("GIT_NO_LAZY_FETCH", "1").args(["rebuild", "--since", "HEAD~1"]);
    assert_eq!(Run::from(command.output().unwrap()).code, 0);
    for args in [&["check", "--no-syntax"][..], &["forbid"], &["hook", "post-merge", "0"]] {
        let run = env.run_in(&clone, args);
        assert!(run.code == 0 || args[0] == "check", "{args:?}: {}", run.stderr);
    }
    assert_eq!(objects(&clone), before, "objects were fetched");
}

#[test]
fn sparse_checkouts_skip_what_is_not_there() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("in/a.py", "A = 1\n");
    env.write("out/b.py", "def f(:\n");
    env.commit_all("base");
    env.git(&["sparse-checkout", "set", "--cone", "in"]);
    assert!(!env.repo.join("out/b.py").exists());
    env.run(&["rebuild", "--all"]).expect_code(0);
    env.run(&["check", "--select", "syntax-error"]).expect_code(0);
    assert!(env.repo.join(format!("in/__pycache__/a.{}.pyc", python.tag)).exists());
}

#[test]
fn submodules_are_left_alone() {
    let python = common::require_python!();
    let env = env_with(python);
    let sub = env.root().join("sub-origin");
    std::fs::create_dir_all(&sub).unwrap();
    env.git_in(&sub, &["init", "-q", "."]);
    std::fs::write(sub.join("s.py"), "S = 1\n").unwrap();
    env.git_in(&sub, &["add", "-A"]);
    env.git_in(&sub, &["commit", "-q", "-m", "sub"]);
    env.write("top.py", "T = 1\n");
    env.git(&["-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.to_str().unwrap(), "vendor/sub"]);
    env.commit_all("with a submodule");
    let cache = env.repo.join(format!("vendor/sub/__pycache__/s.{}.pyc", python.tag));
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(&cache, "the submodule's own cache").unwrap();
    env.run(&["rebuild", "--all"]).expect_code(0);
    env.run(&["clean"]).expect_code(0);
    assert_eq!(std::fs::read(&cache).unwrap(), b"the submodule's own cache");
    let run = env.run(&["check", "--no-syntax", "--format", "json"]);
    assert!(!run.stdout.contains("vendor/sub"), "{}", run.stdout);
}

#[test]
fn detached_head_checkouts_rebuild_and_guard() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("a.py", "A = 1\n");
    env.commit_all("one");
    env.write("a.py", "A = 22\n");
    env.commit_all("two");
    env.install_hooks();
    env.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    assert_eq!(env.python(python, &["-c", "import a; print(a.A)"]).stdout, "1\n");
    env.write("m.pyc", "x");
    env.git(&["add", "-f", "m.pyc"]);
    assert_eq!(env.git_status(&["commit", "-q", "-m", "x"]).code, 1);
}

#[test]
fn sha256_repositories_work_end_to_end() {
    let python = common::require_python!();
    let mut env = TestEnv::empty();
    env.use_python(&python.path);
    env.git(&["init", "-q", "--object-format=sha256", "-b", "main", "."]);
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n");
    env.write("a.py", "A = 1\n");
    env.commit_all("one");
    env.install_hooks();
    env.git(&["checkout", "-q", "-b", "other"]);
    env.write("a.py", "A = 2\n");
    env.write("b.py", "B = 1\n");
    env.commit_all("two");
    env.git(&["checkout", "-q", "main"]);
    env.git(&["checkout", "-q", "other"]);
    assert!(env.repo.join(format!("__pycache__/b.{}.pyc", python.tag)).exists());
    env.write("m.pyc", "x");
    env.git(&["add", "-f", "m.pyc"]);
    let run = env.git_status(&["commit", "-q", "-m", "x"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("m.pyc (new)"), "{}", run.stderr);
    env.run(&["check", "--no-syntax"]);
}

// ---------------------------------------------------------------- faults

/// A corpus of many modules, and a branch that changes them all.
fn many_modules(env: &TestEnv, count: usize) -> (String, String) {
    for i in 0..count {
        env.write(format!("pkg/m{i:03}.py"), format!("def f{i}(x):\n    return [x * {i} for _ in range(3)]\n"));
    }
    env.commit_all("base");
    let base = env.git(&["rev-parse", "HEAD"]).stdout.trim().to_string();
    for i in 0..count {
        env.write(format!("pkg/m{i:03}.py"), format!("def f{i}(x):\n    return [x + {i} for _ in range(3)]\n"));
    }
    env.commit_all("all changed");
    (base, env.git(&["rev-parse", "HEAD"]).stdout.trim().to_string())
}

#[test]
fn a_killed_rebuild_leaves_no_broken_file_and_the_next_run_finishes_it() {
    let python = common::require_python!();
    let env = env_with(python);
    let (base, changed) = many_modules(&env, 150);
    env.write("README.txt", "unrelated\n");
    env.commit_all("readme");
    let readme = env.git(&["rev-parse", "HEAD"]).stdout.trim().to_string();
    for (round, delay) in [30u64, 90, 160, 250].into_iter().enumerate() {
        // Caches of the old content, so that everything is stale again.
        env.git(&["checkout", "-q", &base]);
        env.run(&["rebuild", "--all"]).expect_code(0);
        env.git(&["checkout", "-q", &changed]);
        let mut child = env
            .command_in(common::binary(), &env.repo)
            .args(["hook", "post-checkout", &base, &changed, "1"])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_all_caches_load(&env, python, &env.repo);
        // The next hook, for an unrelated change, finishes the interrupted work.
        env.git(&["checkout", "-q", &readme]);
        env.run(&["hook", "post-checkout", &changed, &readme, "1"]).expect_code(0);
        let run = env.python(python, &["-v", "-c", "import pkg.m000, pkg.m149; print(pkg.m149.f149(1))"]);
        assert_eq!(run.stdout, "[150, 150, 150]\n", "round {round}: {}", run.stderr);
        let loaded = run.stderr.matches("pyc matches").count();
        assert!(loaded >= 2, "round {round}: caches were not rebuilt: {}", run.stderr);
        let stale = env.run(&["check", "--select", "stale-bytecode", "--format", "json"]);
        assert!(!stale.stdout.contains("stale-bytecode"), "round {round}: {}", stale.stdout);
    }
}

#[test]
fn a_killed_gitignore_edit_leaves_the_old_or_the_new_file() {
    let env = TestEnv::new();
    let original = "*.log\n".repeat(20_000);
    for delay in [0u64, 1, 2, 4, 8] {
        env.write(".gitignore", &original);
        let mut child = env.command_in(common::binary(), &env.repo).args(["gitignore"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        child.wait().unwrap();
        let now = String::from_utf8(env.read(".gitignore")).unwrap();
        assert!(
            now == original || (now.starts_with(&original) && now.ends_with("*$py.class\n")),
            "a half-written .gitignore ({} bytes)",
            now.len()
        );
        // SIGKILL cannot be caught, so a kill between creating the temporary
        // file and renaming it may strand that one file; never more.
        let stranded = temporaries(&env);
        assert!(stranded.len() <= 1, "a killed run left {stranded:?}");
        for path in &stranded {
            std::fs::remove_file(path).unwrap();
        }
        // A run that finishes leaves none, whatever the killed one did.
        env.run(&["gitignore"]);
        assert_eq!(temporaries(&env), Vec::<PathBuf>::new(), "a finished run left its temporary file");
        assert!(String::from_utf8(env.read(".gitignore")).unwrap().ends_with("*$py.class\n"));
    }
}

/// The temporary files `gitignore` writes beside `.gitignore` before renaming them.
fn temporaries(env: &TestEnv) -> Vec<PathBuf> {
    std::fs::read_dir(&env.repo)
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().as_bytes().starts_with(b".pycache-guard"))
        .map(|entry| entry.path())
        .collect()
}

/// An interpreter that hangs, crashes or talks nonsense on chosen files.
fn misbehaving_python(env: &TestEnv, real: &Python) -> PathBuf {
    let path = env.root().join("bad-python");
    let prelude = r#"import os, sys, time, py_compile
_original = py_compile.compile
def _patched(source, *args, **kwargs):
    name = os.path.basename(source)
    if name == "hang.py":
        time.sleep(3600)
    if name == "crash.py":
        os._exit(9)
    if name == "garbage.py":
        sys.stdout.buffer.write(b"\xff\xfenonsense\0\0")
        sys.stdout.flush()
    return _original(source, *args, **kwargs)
py_compile.compile = _patched
"#;
    let script = format!(
        "#!/bin/sh\nreal='{real}'\nif [ \"$1\" = -I ] && [ \"$3\" = -c ]; then\n  case \"$4\" in\n    *'pycache-guard compile worker'*) exec \"$real\" -I -S -c \"$(printf '%s\\n' '{prelude}')\n$4\" ;;\n    *) \"$real\" \"$@\" | sed \"2s|.*|$0|\"; exit ;;\n  esac\nfi\nexec \"$real\" \"$@\"\n",
        real = real.path.display(),
        prelude = prelude.replace('\'', "'\\''"),
    );
    std::fs::write(&path, script).unwrap();
    make_executable(&path);
    path
}

#[test]
fn a_worker_that_hangs_crashes_or_talks_nonsense_is_reported_and_the_rest_completes() {
    let python = common::require_python!();
    let mut env = env_with(python);
    let bad = misbehaving_python(&env, python);
    env.use_python(&bad);
    for name in ["hang", "crash", "garbage"] {
        env.write(format!("{name}.py"), "X = 1\n");
    }
    for i in 0..20 {
        env.write(format!("ok{i}.py"), format!("X = {i}\n"));
    }
    env.commit_all("base");
    let started = std::time::Instant::now();
    let run = env.run(&["rebuild", "--all", "--timeout", "3", "--jobs", "2"]);
    assert!(started.elapsed() < Duration::from_secs(60), "the hang was not timed out");
    assert_eq!(run.code, 2, "{}", run.stderr);
    for name in ["hang.py", "crash.py", "garbage.py"] {
        assert!(run.stderr.contains(name), "{name} not reported: {}", run.stderr);
    }
    assert!(run.stderr.contains("no answer within 3 s"), "{}", run.stderr);
    for i in 0..20 {
        assert!(
            env.repo.join(format!("__pycache__/ok{i}.{}.pyc", python.tag)).exists(),
            "ok{i}.py was not compiled: {}",
            run.stderr
        );
    }
}

#[test]
fn a_read_only_pycache_is_reported_and_does_not_abort() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write("locked/a.py", "A = 1\n");
    env.write("open/b.py", "B = 1\n");
    env.commit_all("base");
    std::fs::create_dir_all(env.repo.join("locked/__pycache__")).unwrap();
    let run = env.run_while_locked("locked/__pycache__", 0o555, 0o755, &["rebuild", "--all"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("locked/a.py") && run.stderr.contains("Permission"), "{}", run.stderr);
    assert!(env.repo.join(format!("open/__pycache__/b.{}.pyc", python.tag)).exists());
}

#[test]
fn a_full_disk_is_reported_without_losing_files() {
    let python = common::require_python!();
    let env = TestEnv::new();
    let mount = env.root().join("small-disk");
    std::fs::create_dir_all(&mount).unwrap();
    // A private mount namespace: a 1 MiB tmpfs, filled up, then the tool runs on it.
    let script = format!(
        r#"set -e
mount -t tmpfs -o size=1m tmpfs "{mount}"
cd "{mount}"
git init -q .
printf '__pycache__/\n' > .gitignore
for i in $(seq 1 20); do printf 'X = %s\n' $i > m$i.py; done
git add -A && git commit -q -m base
"{bin}" --color never rebuild --all --python "{python}" >/dev/null 2>&1
sha256sum m*.py .gitignore > ../before.txt
for i in $(seq 1 20); do printf 'X = "%s changed"\n' $i > m$i.py; done
sha256sum m*.py .gitignore > ../sources.txt
dd if=/dev/zero of=filler bs=4k 2>/dev/null || true
set +e
"{bin}" --color never rebuild --all --python "{python}"; echo "rebuild exit $?"
"{bin}" --color never gitignore; echo "gitignore exit $?"
sha256sum -c ../sources.txt >/dev/null && echo "sources intact"
python_check=$("{python}" -c "
import glob, marshal, importlib.util
bad = [p for p in glob.glob('__pycache__/*.pyc') if open(p, 'rb').read()[:4] != importlib.util.MAGIC_NUMBER or not marshal.loads(open(p, 'rb').read()[16:]) is not None]
print(len(bad))")
echo "broken caches $python_check"
"#,
        mount = mount.display(),
        bin = common::binary().display(),
        python = python.path.display(),
    );
    let output = env.command_in("unshare", env.root()).args(["-rm", "sh", "-c", &script]).output().unwrap();
    let run = Run::from(output);
    assert!(run.stdout.contains("rebuild exit 2"), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("No space left on device"), "{}", run.stderr);
    assert!(run.stdout.contains("gitignore exit 2"), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("sources intact"), "{}", run.stdout);
    assert!(run.stdout.contains("broken caches 0"), "{}", run.stdout);
}

// ---------------------------------------------------------------- concurrency

#[test]
fn two_rebuilds_at_once_end_correct_and_quiet() {
    let python = common::require_python!();
    let env = env_with(python);
    let (base, _) = many_modules(&env, 80);
    let _ = base;
    let spawn = || {
        env.command_in(common::binary(), &env.repo).args(["rebuild", "--all"]).stderr(Stdio::piped()).spawn().unwrap()
    };
    let (first, second) = (spawn(), spawn());
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    }
    assert_all_caches_load(&env, python, &env.repo);
    let run = env.run(&["check", "--select", "stale-bytecode", "--format", "json"]);
    assert!(!run.stdout.contains("stale-bytecode"), "{}", run.stdout);
}

#[test]
fn clean_racing_a_rebuild_never_deletes_fresh_caches() {
    let python = common::require_python!();
    let env = env_with(python);
    many_modules(&env, 80);
    for _ in 0..3 {
        let rebuild = env.command_in(common::binary(), &env.repo).args(["rebuild", "--all"]).spawn().unwrap();
        let clean = env.command_in(common::binary(), &env.repo).args(["clean", "--orphans", "-q"]).spawn().unwrap();
        for mut child in [rebuild, clean] {
            assert!(child.wait().unwrap().success());
        }
        let count = std::fs::read_dir(env.repo.join("pkg/__pycache__")).unwrap().count();
        assert_eq!(count, 80, "fresh caches were deleted");
    }
    assert_all_caches_load(&env, python, &env.repo);
}
