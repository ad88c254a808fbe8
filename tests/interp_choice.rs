//! The interpreter the project really uses: `.python-version` through pyenv
//! and uv, a version manager's shim asked from the work tree, and a clear
//! failure (exit 2, one line) for an interpreter that was named and cannot
//! be used.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::path::{Path, PathBuf};

use common::python::{self, Python};
use common::{Run, TestEnv};

fn pyenv_root() -> PathBuf {
    std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var("HOME").unwrap()).join(".pyenv"))
}

/// The full version of an interpreter, `3.12.1`.
fn full_version(python: &Python) -> String {
    let out = std::process::Command::new(&python.path)
        .args(["-I", "-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A pyenv-installed interpreter whose minor version differs from `python3`'s.
fn other_pyenv_python() -> Option<&'static Python> {
    let root = pyenv_root();
    python::all().iter().rev().find(|python| {
        python.version != python::default().version
            && python.version >= (3, 8)
            && python.path.starts_with(root.join("versions"))
    })
}

fn with_sources() -> TestEnv {
    let env = TestEnv::new();
    env.write(".gitignore", "__pycache__/\n");
    env.write("app.py", "A = 1\n");
    env.commit_all("base");
    env
}

fn cache(env: &TestEnv, tag: &str) -> PathBuf {
    env.repo.join(format!("__pycache__/app.{tag}.pyc"))
}

fn the_error_line(run: &Run) -> String {
    let errors: Vec<&str> = run.stderr.lines().filter(|line| line.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    errors[0].to_string()
}

#[test]
fn a_wrong_python_fails_rebuild_and_check_with_exit_2() {
    let env = with_sources();
    for args in [
        &["rebuild", "--all", "--python", "nope"][..],
        &["check", "--python", "nope"],
        &["rebuild", "--python", "nope", "app.py"],
    ] {
        let run = env.run(args).expect_code(2);
        assert!(the_error_line(&run).contains("`nope` (from `--python`) was not found on `PATH`"), "{}", run.stderr);
    }
}

#[test]
fn python_2_is_refused_by_name() {
    let Some(python2) = std::fs::read_dir(pyenv_root().join("versions"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/python2"))
        .find(|path| path.exists())
    else {
        return;
    };
    let env = with_sources();
    let run = env.run(&["rebuild", "--all", "--python", python2.to_str().unwrap()]).expect_code(2);
    assert!(the_error_line(&run).contains("is Python 2.7; pycache-guard needs Python 3"), "{}", run.stderr);
}

#[test]
fn an_inactive_pyenv_version_is_one_line_naming_where_it_is() {
    let Some(other) = other_pyenv_python() else { return };
    let name = format!("python{}.{}", other.version.0, other.version.1);
    if !pyenv_root().join("shims").join(&name).exists() {
        return;
    }
    let mut env = with_sources();
    env.extra_env.push(("PYENV_VERSION".into(), "system".into()));
    let system = env.command_in(&name, &env.repo).arg("-V").output().unwrap();
    if system.status.success() {
        return; // The system Python has that version too.
    }
    let run = env.run(&["rebuild", "--all", "--python", &name]).expect_code(2);
    let line = the_error_line(&run);
    assert!(line.contains(&format!("`{name}` (from `--python`) did not answer")), "{}", run.stderr);
    assert!(line.contains(&full_version(other)), "{}", run.stderr);
}

#[test]
fn python_version_selects_the_interpreter_through_pyenv() {
    let Some(other) = other_pyenv_python() else { return };
    for pinned in [full_version(other), format!("{}.{}", other.version.0, other.version.1)] {
        let env = with_sources();
        env.write(".python-version", format!("{pinned}\n"));
        env.commit_all("pin");
        let run = env.run(&["-v", "rebuild", "--all"]).expect_code(0);
        assert!(cache(&env, &other.tag).exists(), "{pinned}: {}", run.stderr);
        assert!(!cache(&env, &python::default().tag).exists(), "{pinned}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("for `{pinned}` from `.python-version`")), "{}", run.stderr);
    }
}

#[test]
fn python_version_selects_a_uv_managed_interpreter() {
    let Some(other) = python::other_than_default() else { return };
    let mut env = with_sources();
    let uv = env.root().join("uv-python");
    let folder = uv.join(format!("cpython-{}-linux-x86_64-gnu/bin", full_version(other)));
    std::fs::create_dir_all(&folder).unwrap();
    std::os::unix::fs::symlink(&other.path, folder.join("python3")).unwrap();
    env.extra_env.push(("UV_PYTHON_INSTALL_DIR".into(), uv.display().to_string()));
    env.extra_env.push(("PYENV_ROOT".into(), env.root().join("no-pyenv").display().to_string()));
    env.write(".python-version", format!("{}.{}\n", other.version.0, other.version.1));
    env.commit_all("pin");
    let run = env.run(&["rebuild", "--all"]).expect_code(0);
    assert!(cache(&env, &other.tag).exists(), "{}", run.stderr);
}

#[test]
fn python_version_names_only_versions() {
    let env = with_sources();
    let marker = env.root().join("ran");
    env.write("evil/bin/python3", format!("#!/bin/sh\ntouch '{}'\n", marker.display()));
    std::fs::set_permissions(env.repo.join("evil/bin/python3"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    for pinned in ["./evil", "../repo/evil", "/usr/bin/python3", "3.99.1"] {
        env.write(".python-version", format!("{pinned}\n"));
        env.commit_all("pin");
        let run = env.run(&["rebuild", "--all"]).expect_code(2);
        let line = the_error_line(&run);
        assert!(line.contains("(from `.python-version`)"), "{}", run.stderr);
        let why = if pinned == "3.99.1" { "is not installed" } else { "not a version name" };
        assert!(line.contains(why), "{pinned}: {}", run.stderr);
        // In a hook it stays a warning, and the command passes.
        let head = env.git(&["rev-parse", "HEAD"]).stdout.trim().to_string();
        let run = env.run(&["hook", "post-checkout", &"0".repeat(40), &head, "1"]).expect_code(0);
        assert!(run.stderr.contains("warning:"), "{}", run.stderr);
    }
    assert!(!marker.exists());
}

#[test]
fn a_version_manager_shim_is_asked_from_the_work_tree() {
    let Some(other) = other_pyenv_python() else { return };
    if !pyenv_root().join("shims/python3").exists() {
        return;
    }
    let env = with_sources();
    env.write(".python-version", format!("{}\n", full_version(other)));
    env.commit_all("pin");
    let shims = pyenv_root().join("shims/python3");
    let run = env.run(&["-v", "rebuild", "--all", "--python", shims.to_str().unwrap()]).expect_code(0);
    assert!(cache(&env, &other.tag).exists(), "{}", run.stderr);
    // A version file that names a path is never handed to the shim.
    env.write(".tool-versions", "python path:./evil\n");
    env.commit_all("a path for asdf");
    let run = env.run(&["rebuild", "--all", "--python", shims.to_str().unwrap()]).expect_code(2);
    assert!(the_error_line(&run).contains("names something other than a version"), "{}", run.stderr);
}

#[test]
fn an_untracked_local_venv_is_used_through_its_base_interpreter() {
    let Some(other) = python::other_than_default() else { return };
    let env = with_sources();
    let run = Run::from(
        env.command_in(&other.path, &env.repo).args(["-m", "venv", "--without-pip", ".venv"]).output().unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = env.run(&["-v", "rebuild", "--all"]).expect_code(0);
    assert!(run.stderr.contains("from the virtual environment in the work tree"), "{}", run.stderr);
    assert!(cache(&env, &other.tag).exists(), "{}", run.stderr);
}
