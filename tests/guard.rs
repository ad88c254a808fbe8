//! The commit guard, end to end: real `git commit` runs with the installed
//! hook, and `forbid` run directly.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use common::TestEnv;

fn env_with_hook() -> TestEnv {
    let env = TestEnv::new();
    env.write("README.md", "hello\n");
    env.commit_all("initial");
    env.install_hooks();
    env
}

#[test]
fn real_commit_with_staged_bytecode_is_blocked_with_exact_output() {
    let env = env_with_hook();
    env.write("app.py", "x = 1\n");
    env.write("pkg/__pycache__/a.cpython-312.pyc", "a");
    env.write("pkg/__pycache__/b.cpython-312.pyc", "b");
    env.write("m.pyc", "m");
    env.git(&["add", "-A"]);
    let run = env.git_status(&["commit", "-q", "-m", "with bytecode"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let expected = "\
error: commit blocked: 3 bytecode files are staged
  m.pyc (new)
  pkg/__pycache__/ (2 files)
      a.cpython-312.pyc (new)
      b.cpython-312.pyc (new)

hint: unstage them, keeping the files on disk:
    git rm -r --cached -- m.pyc pkg/__pycache__
  then keep bytecode out of future commits:
    pycache-guard gitignore
";
    assert_eq!(run.stderr, expected);
    // Nothing was committed.
    assert_eq!(env.git(&["rev-list", "--count", "HEAD"]).stdout.trim(), "1");
}

#[test]
fn clean_commit_passes_silently() {
    let env = env_with_hook();
    env.write("app.py", "x = 1\n");
    env.write("app.pyd", "extension module, not bytecode");
    env.write("tool.pyz", "zip application, not bytecode");
    env.git(&["add", "-A"]);
    let run = env.git_status(&["commit", "-q", "-m", "clean"]).expect_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(env.run(&["forbid"]).expect_code(0).stderr, "");
}

#[test]
fn commit_all_reads_the_temporary_index() {
    let env = env_with_hook();
    env.write("m.pyc", "old");
    env.commit_all("tracked bytecode, committed without hooks");
    env.write("m.pyc", "changed");
    // `git commit -a` stages the change in a temporary index the hook must read.
    let run = env.git_status(&["commit", "-q", "-a", "-m", "update"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("  m.pyc (modified)\n"), "{}", run.stderr);
    // The real index was not touched by the blocked commit.
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]).stdout, "");
}

#[test]
fn commit_with_paths_judges_only_the_partial_index() {
    let env = env_with_hook();
    env.write("app.py", "x = 1\n");
    env.write("other.pyc", "staged but not part of this commit");
    env.commit_all("base");
    env.git(&["rm", "-q", "--cached", "other.pyc"]);
    env.write("app.py", "x = 2\n");
    env.write("other.pyc", "staged again");
    env.git(&["add", "other.pyc"]);
    // `git commit app.py` builds a temporary index from HEAD plus app.py only.
    let run = env.git_status(&["commit", "-q", "-m", "only app", "app.py"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // A partial commit that names the bytecode is blocked.
    env.write("app.py", "x = 3\n");
    let run = env.git_status(&["commit", "-q", "-m", "with pyc", "app.py", "other.pyc"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("other.pyc (modified)"), "{}", run.stderr);
}

#[test]
fn first_commit_on_an_unborn_branch_counts_every_entry() {
    let env = TestEnv::new();
    env.install_hooks();
    env.write("m.pyc", "m");
    env.write("a.py", "a = 1\n");
    env.git(&["add", "-A"]);
    let run = env.git_status(&["commit", "-q", "-m", "first"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("  m.pyc (new)\n"), "{}", run.stderr);
    assert_eq!(env.git_status(&["rev-parse", "--verify", "-q", "HEAD"]).code, 1);
}

#[test]
fn deleting_tracked_bytecode_passes() {
    let env = env_with_hook();
    env.write("pkg/__pycache__/m.cpython-312.pyc", "m");
    env.write("legacy.pyc", "l");
    env.commit_all("tracked bytecode");
    env.git(&["rm", "-q", "-r", "--cached", "pkg/__pycache__", "legacy.pyc"]);
    env.git_status(&["commit", "-q", "-m", "untrack bytecode"]).expect_code(0);
    assert!(env.staged_paths().iter().all(|path| !path.ends_with(".pyc")));
}

#[test]
fn renaming_bytecode_counts_as_adding_it() {
    let env = env_with_hook();
    env.write("old.pyc", "same content");
    env.commit_all("tracked bytecode");
    env.git(&["mv", "old.pyc", "new.pyc"]);
    let run = env.git_status(&["commit", "-q", "-m", "rename"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("  new.pyc (new)\n"), "{}", run.stderr);
    assert!(!run.stderr.contains("old.pyc"), "{}", run.stderr);
}

#[test]
fn allow_list_from_pyproject_and_flag_exempts_paths() {
    let env = env_with_hook();
    env.write("pyproject.toml", "[tool.pycache-guard]\nallow = [\"tests/fixtures/**/*.pyc\"]\n");
    env.write("tests/fixtures/py38/sample.pyc", "fixture");
    env.git(&["add", "-A"]);
    env.git_status(&["commit", "-q", "-m", "fixtures"]).expect_code(0);

    env.write("data/extra.pyc", "x");
    env.write("stray.pyc", "y");
    env.git(&["add", "-A"]);
    let run = env.run(&["forbid", "--allow", "data/*.pyc"]).expect_code(1);
    assert!(run.stderr.contains("stray.pyc"), "{}", run.stderr);
    assert!(!run.stderr.contains("extra.pyc"), "{}", run.stderr);
    assert!(env.run(&["forbid", "--allow", "data/*.pyc", "--allow", "stray.pyc"]).code == 0);
}

#[test]
fn invalid_configuration_names_the_file_and_fails() {
    let env = env_with_hook();
    env.write("pyproject.toml", "[tool.pycache-guard]\nalow = [\"x\"]\n");
    env.write("a.py", "");
    env.git(&["add", "-A"]);
    let run = env.run(&["forbid"]).expect_code(2);
    assert!(run.stderr.contains("pyproject.toml"), "{}", run.stderr);
    assert!(run.stderr.contains("alow"), "{}", run.stderr);
}

#[test]
fn odd_file_names_are_escaped_and_quoted_for_the_shell() {
    let env = env_with_hook();
    env.write("with space.pyc", "a");
    env.write_bytes_name(b"new\nline.pyc", b"b");
    env.write_bytes_name(b"latin\xe9.pyc", b"c");
    env.write_bytes_name(b"esc\x1b[31mred.pyc", b"d");
    env.git(&["add", "-A"]);
    let run = env.run(&["forbid"]).expect_code(1);
    assert!(!run.stderr.contains('\x1b'), "raw escape reached the terminal: {:?}", run.stderr);
    for shown in
        ["with space.pyc (new)", "\"new\\nline.pyc\" (new)", "\"latin\\xe9.pyc\" (new)", "\"esc\\x1b[31mred.pyc\""]
    {
        assert!(run.stderr.contains(shown), "missing {shown:?} in {}", run.stderr);
    }
    let command = run.stderr.lines().find(|line| line.contains("git rm")).unwrap();
    // The printed command really unstages every one of them.
    let shell = env.command_in("bash", &env.repo).args(["-c", command.trim()]).output().unwrap();
    assert!(shell.status.success(), "{}", String::from_utf8_lossy(&shell.stderr));
    env.run(&["forbid"]).expect_code(0);
}

#[test]
fn running_from_a_subdirectory_shows_paths_relative_to_it() {
    let env = env_with_hook();
    env.write("pkg/__pycache__/m.cpython-312.pyc", "m");
    env.write("top.pyc", "t");
    env.git(&["add", "-A"]);
    let run = env.run_in(&env.repo.join("pkg"), &["forbid"]).expect_code(1);
    assert!(run.stderr.contains("  ../top.pyc (new)"), "{}", run.stderr);
    assert!(run.stderr.contains("  __pycache__/m.cpython-312.pyc (new)"), "{}", run.stderr);
    assert!(run.stderr.contains("git rm -r --cached -- __pycache__ ../top.pyc"), "{}", run.stderr);
    // Through git, the hook runs at the top but the user is in pkg/ (GIT_PREFIX).
    let run = env.git_in(&env.repo.join("pkg"), &["status", "--short"]);
    assert!(run.stdout.contains("A  __pycache__/"), "{}", run.stdout);
    let run =
        Run::from(env.command_in("git", &env.repo.join("pkg")).args(["commit", "-q", "-m", "x"]).output().unwrap());
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("  ../top.pyc (new)"), "{}", run.stderr);
}

use common::Run;

#[test]
fn fix_unstages_new_entries_and_restores_changed_ones() {
    let env = env_with_hook();
    env.write("tracked.pyc", "v1");
    env.commit_all("tracked");
    env.write("tracked.pyc", "v2");
    env.write("new.pyc", "n");
    env.write("app.py", "x = 1\n");
    env.git(&["add", "-A"]);
    let run = env.run(&["forbid", "--fix"]).expect_code(1);
    assert!(run.stderr.contains("unstaged 2 entries"), "{}", run.stderr);
    let staged = env.git(&["diff", "--cached", "--name-status"]).stdout;
    assert_eq!(staged, "A\tapp.py\n");
    // The work tree is untouched.
    assert_eq!(env.read("tracked.pyc"), b"v2");
    assert_eq!(env.read("new.pyc"), b"n");
    env.run(&["forbid"]).expect_code(0);
}

#[test]
fn fix_works_on_an_unborn_branch() {
    let env = TestEnv::new();
    env.write("new.pyc", "n");
    env.write("a.py", "");
    env.git(&["add", "-A"]);
    env.run(&["forbid", "--fix"]).expect_code(1);
    assert_eq!(env.staged_paths(), ["a.py"]);
    assert!(env.repo.join("new.pyc").exists());
}

#[test]
fn named_paths_from_the_pre_commit_framework_are_judged() {
    let env = TestEnv::new();
    env.write("sub/a.pyc", "a");
    env.write("ok.py", "x = 1\n");
    env.write("README.md", "read me\n");
    env.run(&["forbid", "sub/a.pyc", "ok.py"]).expect_code(1);
    env.run(&["forbid", "ok.py", "README.md"]).expect_code(0);
    let run = env.run(&["forbid", "../outside.pyc"]).expect_code(2);
    assert!(run.stderr.contains("outside the repository"), "{}", run.stderr);
}

#[test]
fn git_index_file_is_honoured() {
    let env = env_with_hook();
    let other_index = env.root().join("other-index");
    env.write("m.pyc", "m");
    let mut command = env.command_in("git", &env.repo);
    command.env("GIT_INDEX_FILE", &other_index).args(["read-tree", "HEAD"]);
    assert!(command.status().unwrap().success());
    let mut command = env.command_in("git", &env.repo);
    command.env("GIT_INDEX_FILE", &other_index).args(["add", "m.pyc"]);
    assert!(command.status().unwrap().success());
    // The real index is clean, the other one holds the bytecode.
    env.run(&["hook", "pre-commit"]).expect_code(0);
    let mut command = env.command_in(common::binary(), &env.repo);
    command.env("GIT_INDEX_FILE", &other_index).args(["hook", "pre-commit"]);
    let run = Run::from(command.output().unwrap()).expect_code(1);
    assert!(run.stderr.contains("m.pyc (new)"), "{}", run.stderr);
}

#[test]
fn every_index_format_git_writes_is_read() {
    for (name, config) in [
        ("version 2", vec!["-c", "index.version=2"]),
        ("version 3", vec!["-c", "index.version=3"]),
        ("version 4", vec!["-c", "index.version=4"]),
        ("split index", vec!["-c", "core.splitIndex=true", "-c", "splitIndex.maxPercentChange=100"]),
    ] {
        let env = TestEnv::new();
        for i in 0..50 {
            env.write(format!("src/mod{i}.py"), format!("x = {i}\n"));
        }
        env.write("src/__pycache__/mod1.cpython-312.pyc", "m");
        let mut args = config.clone();
        args.extend(["add", "-A"]);
        env.git(&args);
        let mut args = config.clone();
        args.extend(["update-index", "--add", "src/mod1.py"]);
        env.git(&args);
        if name == "split index" {
            env.git(&["update-index", "--split-index"]);
            assert!(
                std::fs::read_dir(env.repo.join(".git"))
                    .unwrap()
                    .flatten()
                    .any(|entry| entry.file_name().to_string_lossy().starts_with("sharedindex."))
            );
            // A change after the split lands in the small index only.
            env.write("late.pyc", "late");
            env.git(&["add", "late.pyc"]);
        }
        let run = env.run(&["forbid"]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(run.stderr.contains("mod1.cpython-312.pyc (new)"), "{name}: {}", run.stderr);
        if name == "split index" {
            assert!(run.stderr.contains("late.pyc (new)"), "{name}: {}", run.stderr);
        }
    }
}

#[test]
fn skip_variable_disables_the_hook() {
    let env = env_with_hook();
    env.write("m.pyc", "m");
    env.git(&["add", "-A"]);
    let mut command = env.command_in("git", &env.repo);
    command.env("PYCACHE_GUARD_SKIP", "1").args(["commit", "-q", "-m", "skip"]);
    assert!(command.status().unwrap().success());
}

#[test]
fn outside_a_repository_exits_2_with_a_clear_message() {
    let env = TestEnv::empty();
    let run = env.run(&["forbid"]).expect_code(2);
    assert!(run.stderr.starts_with("error: `"), "{}", run.stderr);
    assert!(run.stderr.contains("is not inside a git repository"), "{}", run.stderr);
    assert!(run.stderr.contains("hint:"), "{}", run.stderr);
    let run = env.run(&["-C", "no-such-dir", "forbid"]).expect_code(2);
    assert!(run.stderr.contains("cannot change to `no-such-dir`"), "{}", run.stderr);
}

#[test]
fn bare_repository_is_refused_clearly() {
    let env = TestEnv::empty();
    env.git(&["init", "-q", "--bare", "."]);
    for args in [&["forbid"][..], &["hook", "pre-commit"], &["install"]] {
        let run = env.run(args).expect_code(2);
        assert!(run.stderr.contains("is a bare repository"), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    env.run(&["no-such-command"]).expect_code(2);
    env.run(&["forbid", "--no-such-flag"]).expect_code(2);
    let run = env.run(&["--help"]).expect_code(0);
    assert!(run.stdout.contains("Exit status:"), "{}", run.stdout);
}

/// The one copy of the pre-commit `files:` pattern (`BYTECODE_REGEX`, which
/// `.pre-commit-hooks.yaml` repeats and the bench reads from there) selects
/// exactly the paths the guard judges bytecode, as Python's `re.search`
/// (what the pre-commit framework and prek run) reads it.
#[test]
fn the_pre_commit_files_pattern_selects_exactly_the_bytecode_paths() {
    let paths = [
        "m.pyc",
        "m.pyo",
        "pkg/m.pyc",
        "pkg/m$py.class",
        "__pycache__/m.cpython-312.pyc",
        "pkg/__pycache__/m.cpython-312.opt-1.pyc",
        "pkg/__pycache__/notes.txt",
        "__pycache__",
        "pkg/__pycache__",
        "a/.pyc",
        "m.py",
        "m.pyd",
        "app.pyz",
        "m.pycx",
        "not__pycache__/m.py",
        "__pycache__x/m.py",
        "pkg/x__pycache__",
        "m$py.classy",
        "mpy.class",
        "docs/pyc.md",
    ];
    let python = common::python::default();
    let script = "import re, sys\npattern = sys.argv[1]\nfor path in sys.stdin.read().split('\\0'):\n    print('1' if re.search(pattern, path) else '0')\n";
    let mut child = std::process::Command::new(&python.path)
        .args(["-I", "-c", script, pycache_guard::artifact::BYTECODE_REGEX])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), paths.join("\0").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let verdicts: Vec<bool> = String::from_utf8(out.stdout).unwrap().lines().map(|line| line == "1").collect();
    assert_eq!(verdicts.len(), paths.len());
    for (path, by_python) in paths.iter().zip(verdicts) {
        assert_eq!(by_python, pycache_guard::artifact::is_bytecode_path(path.as_bytes()), "{path}");
    }
}
