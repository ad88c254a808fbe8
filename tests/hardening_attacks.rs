//! Regressions from an independent attack on the safety promises, one test
//! per break: each builds the attack as the attacker did and asserts the
//! safe outcome.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Run, TestEnv};

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success());
}

/// A folder git leaves behind when upstream removes a submodule still holds
/// the submodule's `.git`: its `bin/python` is that repository's choice.
#[test]
fn a_venv_that_is_another_repository_is_never_run() {
    let env = TestEnv::new();
    let marker = env.root().join("pwned");
    env.write("a.py", "x = 1\n");
    env.commit_all("one");
    let python = &common::python::default().path;
    env.write(".venv/.git", "gitdir: ../.git/modules/.venv\n");
    env.write(".venv/pyvenv.cfg", "home = /usr/bin\n");
    let script = env.write(
        ".venv/bin/python",
        format!("#!/bin/sh\ntouch '{}'\nexec '{}' \"$@\"\n", marker.display(), python.display()),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.write(".git/info/exclude", ".venv/\n");
    let run = env.run(&["-v", "check", "--no-syntax"]);
    assert!(!marker.exists(), "the leftover submodule's python ran:\n{}", run.stderr);
    let run = env.run(&["rebuild", "--all"]);
    assert!(!marker.exists(), "the leftover submodule's python ran:\n{}", run.stderr);
}

/// A deleted tracked source inside the user's virtual environment must not
/// make the hooks sweep the environment's own sourceless files.
#[test]
fn the_hooks_never_sweep_inside_a_virtual_environment() {
    let mut env = TestEnv::new();
    env.use_python(&common::python::default().path);
    env.write("a.py", "x = 1\n");
    env.write(".venv/lib/site/gone.py", "g = 1\n");
    env.git(&["add", "-f", "a.py", ".venv/lib/site/gone.py"]);
    env.git(&["commit", "-q", "-m", "one"]);
    env.write(".venv/pyvenv.cfg", "home = /usr/bin\n");
    env.write(".git/info/exclude", ".venv/pyvenv.cfg\n.venv/lib/site/gone.pyc\n.venv/lib/site/__pycache__/\n");
    let legacy = env.write(".venv/lib/site/gone.pyc", "keep");
    let cache = env.write(".venv/lib/site/__pycache__/gone.cpython-312.pyc", "keep");
    env.install_hooks();
    env.git(&["rm", "-q", ".venv/lib/site/gone.py"]);
    env.git(&["commit", "-q", "-m", "delete it"]);
    assert!(legacy.exists() && cache.exists(), "the hook swept inside `.venv`");
    assert_eq!(env.read(".venv/lib/site/gone.pyc"), b"keep");
}

/// Configuration the repository chooses is read only when it is a small
/// regular file: a FIFO never blocks, `/dev/zero` never fills the memory.
#[test]
fn configuration_that_is_not_a_small_regular_file_is_never_read() {
    let mut env = TestEnv::new();
    env.use_python(&common::python::default().path);
    env.write("a.py", "x = 1\n");
    env.commit_all("one");
    for name in ["pyproject.toml", ".python-version", ".tool-versions", ".pre-commit-config.yaml"] {
        mkfifo(&env.repo.join(name));
    }
    let (run, killed) = env.run_or_kill(&["check", "--no-syntax"]);
    assert!(!killed, "check blocked on a FIFO:\n{}", run.stderr);
    assert!(run.stderr.contains("pyproject.toml"), "the unreadable configuration is named: {}", run.stderr);
    let (run, killed) = env.run_or_kill(&["install"]);
    assert!(!killed, "install blocked on a FIFO:\n{}", run.stderr);
    let (run, killed) = env.run_or_kill(&["hook", "post-checkout", &"0".repeat(40), &"0".repeat(40), "1"]);
    assert!(!killed && run.code == 0, "a hook blocked or failed:\n{}", run.stderr);

    for name in ["pyproject.toml", ".python-version", ".tool-versions", ".pre-commit-config.yaml"] {
        std::fs::remove_file(env.repo.join(name)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", env.repo.join(name)).unwrap();
    }
    // With 1 GiB of address space, reading any of them whole cannot succeed.
    let run = Run::from(
        env.command_in("/bin/sh", &env.repo)
            .args(["-c", "ulimit -v 1048576 && exec \"$0\" check --no-syntax"])
            .arg(common::binary())
            .output()
            .unwrap(),
    );
    assert!(run.code == 1 || run.code == 2, "{}", run.stderr);
    assert!(run.stderr.contains("pyproject.toml"), "{}", run.stderr);
    assert!(!run.stderr.contains("memory allocation"), "{}", run.stderr);
}

/// `gitignore --file` writes only through real folders of the work tree.
#[test]
fn gitignore_never_writes_through_a_linked_folder() {
    let env = TestEnv::new();
    let outside = env.root().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join(".gitignore"), "orig\n").unwrap();
    env.write("a.py", "x = 1\n");
    std::os::unix::fs::symlink("../outside", env.repo.join("linkdir")).unwrap();
    env.commit_all("a link to a folder outside");
    env.write("s.pyc", "bytecode");
    let run = env.run(&["gitignore", "--file", "linkdir/.gitignore"]).expect_code(2);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read(outside.join(".gitignore")).unwrap(), b"orig\n");
}

/// Runs `program args` in the work tree under `timeout`, so that a hang
/// fails the test (exit 124) instead of the whole run.
fn run_with_timeout(env: &TestEnv, program: &str, args: &[&str]) -> Run {
    let mut command = env.command_in("timeout", &env.repo);
    command.arg("30").arg(program).args(args);
    Run::from(command.output().unwrap())
}

/// Any file of `.git/pycache-guard/` replaced by a FIFO (by a script, or a
/// tool gone wrong) must never hang git or our commands: each is opened
/// without waiting and used only when it is a regular file.
#[test]
fn a_fifo_in_the_state_folder_never_hangs_git_or_wait() {
    let python = common::require_python!();
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    env.write("m.py", "X = 1\n");
    env.commit_all("a");
    env.git(&["checkout", "-q", "-b", "b"]);
    env.write("m.py", "X = 2\n");
    env.commit_all("b");
    env.git(&["checkout", "-q", "main"]);
    env.install_hooks();
    let names = [
        "record",
        "pending",
        "rebuild.lock",
        "queue.lock",
        "pending.lock",
        "rebuild.log",
        "background-warnings",
        "interpreters.json",
        "handled",
    ];
    for name in names {
        // The rebuilds the last round's checkouts started write here too.
        env.wait_for_background_rebuilds_to_exit();
        let state = env.repo.join(".git/pycache-guard");
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state).unwrap();
        mkfifo(&state.join(name));
        for branch in ["b", "main"] {
            let run = run_with_timeout(&env, "git", &["checkout", "-q", branch]);
            assert_eq!(run.code, 0, "{name}: git checkout {branch} hung or failed\n{}", run.stderr);
        }
        let binary = common::binary().display().to_string();
        let run = run_with_timeout(&env, &binary, &["wait", "--timeout", "20"]);
        assert_ne!(run.code, 124, "{name}: wait hung\n{}", run.stderr);
        let run = run_with_timeout(&env, &binary, &["check"]);
        assert_ne!(run.code, 124, "{name}: check hung\n{}", run.stderr);
    }
}
