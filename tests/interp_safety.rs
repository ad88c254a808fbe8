//! Which interpreter runs, and that a repository can never make it run its
//! own code: committed `.venv` links and submodules, `._pth` and
//! `pyvenv.cfg` start-up files, relative `PATH` entries in the shims, a
//! hanging interpreter, and terminal escapes in what the repository names.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::python::{self, Python};
use common::{Run, TestEnv};

fn make_executable(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// An interpreter that reads `._pth` files on POSIX (3.11 and later).
fn pth_python() -> Option<&'static Python> {
    python::all().iter().find(|python| python.version >= (3, 11))
}

/// The `bin` folder and standard library folder of an interpreter.
fn bin_dir(python: &Python) -> PathBuf {
    python.path.parent().unwrap().to_path_buf()
}

/// An `encodings` package that leaves a marker folder when CPython starts with it.
fn evil_encodings(marker: &Path) -> String {
    // At start-up only built-in modules exist; `posix` is one.
    format!("import posix\ntry:\n    posix.mkdir({:?})\nexcept OSError:\n    pass\n", marker.display().to_string())
}

/// Writes a virtual environment at `root` (relative to the repository) that
/// looks genuine (`pyvenv.cfg`, `bin/python` linked to a real interpreter)
/// and carries a `python._pth` that puts the repository's `payload/` first,
/// where an `encodings` package leaves `marker`.
fn write_hostile_venv(env: &TestEnv, root: &str, python: &Python, marker: &Path) {
    let at = |rest: &str| if root.is_empty() { rest.to_string() } else { format!("{root}/{rest}") };
    env.write(at("pyvenv.cfg"), format!("home = {}\n", bin_dir(python).display()));
    std::fs::create_dir_all(env.repo.join(at("bin"))).unwrap();
    std::os::unix::fs::symlink(&python.path, env.repo.join(at("bin/python"))).unwrap();
    // `._pth` entries are relative to its folder; the payload sits at the top of `root`'s repository.
    let up = "../".repeat(root.split('/').filter(|part| !part.is_empty()).count() + 1);
    env.write(at("bin/python._pth"), format!("{up}payload\n{}\n", python.stdlib().display()));
    env.write("payload/encodings/__init__.py", evil_encodings(marker));
}

/// A repository whose `.venv` is a committed symbolic link to a hostile venv.
fn repository_with_a_venv_link(env: &TestEnv, python: &Python, marker: &Path) {
    env.write(".gitignore", "__pycache__/\n");
    env.write("app.py", "A = 1\n");
    write_hostile_venv(env, "evil", python, marker);
    std::os::unix::fs::symlink("evil", env.repo.join(".venv")).unwrap();
    env.commit_all("a .venv that is a link");
    // The attack is real: started as the repository names it, CPython runs the payload.
    let run = Run::from(
        env.command_in(env.repo.join(".venv/bin/python"), &env.repo).args(["-I", "-S", "-c", "0"]).output().unwrap(),
    );
    assert!(marker.exists(), "the fixture must be a working attack: {}", run.stderr);
    std::fs::remove_dir(marker).unwrap();
}

/// Runs the post-checkout hook as `git clone` would in `dir`: from nothing to `HEAD`.
fn clone_hook(env: &TestEnv, dir: &Path) -> Run {
    let head = env.git_in(dir, &["rev-parse", "HEAD"]).stdout.trim().to_string();
    env.run_in(dir, &["hook", "post-checkout", &"0".repeat(40), &head, "1"])
}

fn assert_not_run(marker: &Path) {
    assert!(!marker.exists(), "the repository's code ran as part of the interpreter");
}

#[test]
fn a_committed_venv_link_never_runs_on_check_after_a_clone() {
    let Some(python) = pth_python() else { return };
    let env = TestEnv::new();
    let marker = env.root().join("pwned");
    repository_with_a_venv_link(&env, python, &marker);
    let clone = env.root().join("clone");
    env.git_in(env.root(), &["clone", "-q", env.repo.to_str().unwrap(), clone.to_str().unwrap()]);
    env.run_in(&clone, &["check"]);
    env.run_in(&clone, &["rebuild", "--all"]);
    assert_not_run(&marker);
    // Named by hand, it is refused with the reason, and the command fails.
    let run = env.run_in(&clone, &["rebuild", "--all", "--python", ".venv/bin/python"]).expect_code(2);
    assert!(run.stderr.contains("the repository tracks `"), "{}", run.stderr);
    assert_not_run(&marker);
}

#[test]
fn a_committed_venv_link_never_runs_on_git_pull_with_the_hooks() {
    let Some(python) = pth_python() else { return };
    let env = TestEnv::new();
    let marker = env.root().join("pwned");
    env.write("app.py", "A = 0\n");
    env.commit_all("base");
    let clone = env.root().join("clone");
    env.git_in(env.root(), &["clone", "-q", env.repo.to_str().unwrap(), clone.to_str().unwrap()]);
    env.run_in(&clone, &["install"]).expect_code(0);
    repository_with_a_venv_link(&env, python, &marker);
    let run = Run::from(env.command_in("git", &clone).args(["pull", "-q", "--no-rebase"]).output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_not_run(&marker);
}

#[test]
fn a_committed_venv_link_never_runs_at_clone_with_global_hooks() {
    let Some(python) = pth_python() else { return };
    let env = TestEnv::new();
    let marker = env.root().join("pwned");
    repository_with_a_venv_link(&env, python, &marker);
    // The shims, pointed at by a global `core.hooksPath`, with the binary recorded.
    let hooks = env.root().join("global-hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let binary = common::binary();
    // Every shim we ship, so that a hook added later is covered too.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks");
    for entry in std::fs::read_dir(&shipped).unwrap() {
        let name = entry.unwrap().file_name();
        let template = std::fs::read_to_string(shipped.join(&name)).unwrap();
        let script = template.replacen("exe=''", &format!("exe='{}'", binary.display()), 1);
        std::fs::write(hooks.join(&name), script).unwrap();
        make_executable(&hooks.join(name));
    }
    env.git(&["config", "--global", "core.hooksPath", hooks.to_str().unwrap()]);
    let clone = env.root().join("clone");
    let run = Run::from(
        env.command_in("git", env.root())
            .args(["clone", "-q", env.repo.to_str().unwrap(), clone.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(clone.join("app.py").exists());
    assert_not_run(&marker);
}

#[test]
fn a_venv_submodule_never_runs() {
    let Some(python) = pth_python() else { return };
    let env = TestEnv::new();
    let marker = env.root().join("pwned");
    // The hostile venv is its own repository, added as the submodule `.venv`.
    let sub = TestEnv::new();
    write_hostile_venv(&sub, "", python, &marker);
    sub.commit_all("a venv");
    env.write("app.py", "A = 1\n");
    env.git(&["-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.repo.to_str().unwrap(), ".venv"]);
    env.commit_all("a .venv that is a submodule");
    let clone = env.root().join("clone");
    env.git_in(
        env.root(),
        &[
            "-c",
            "protocol.file.allow=always",
            "clone",
            "-q",
            "--recurse-submodules",
            env.repo.to_str().unwrap(),
            clone.to_str().unwrap(),
        ],
    );
    let run = Run::from(
        env.command_in(clone.join(".venv/bin/python"), &clone).args(["-I", "-S", "-c", "0"]).output().unwrap(),
    );
    assert!(marker.exists(), "the fixture must be a working attack: {}", run.stderr);
    std::fs::remove_dir(&marker).unwrap();
    env.run_in(&clone, &["check"]);
    env.run_in(&clone, &["rebuild", "--all"]);
    clone_hook(&env, &clone).expect_code(0);
    assert_not_run(&marker);
}

#[test]
fn a_committed_path_file_beside_an_active_venv_is_never_read() {
    let Some(python) = pth_python() else { return };
    let mut env = TestEnv::new();
    let marker = env.root().join("pwned");
    // The user's own venv in the work tree; the repository commits a `._pth` into it.
    write_hostile_venv(&env, ".venv", python, &marker);
    env.write(".gitignore", "__pycache__/\n.venv/*\n!.venv/bin/\n.venv/bin/*\n!.venv/bin/python._pth\n");
    env.write("app.py", "A = 1\n");
    env.commit_all("a path file for the user's venv");
    assert!(env.staged_paths().contains(&".venv/bin/python._pth".to_string()), "{:?}", env.staged_paths());
    env.extra_env.push(("VIRTUAL_ENV".into(), env.repo.join(".venv").display().to_string()));
    let run = env.run(&["-v", "rebuild", "--all"]).expect_code(0);
    assert_not_run(&marker);
    // The venv's interpreter is used, started as its real executable outside the work tree.
    assert!(run.stderr.contains("from `VIRTUAL_ENV`"), "{}", run.stderr);
    assert!(env.repo.join(format!("__pycache__/app.{}.pyc", python.tag)).exists(), "{}", run.stderr);
}

#[test]
fn a_venv_home_in_the_work_tree_is_refused() {
    let Some(python) = pth_python() else { return };
    let mut env = TestEnv::new();
    let marker = env.root().join("pwned");
    // A standard library in the repository, and a venv whose `home` points at it.
    let stdlib = format!("evil/lib/python{}.{}", python.version.0, python.version.1);
    env.write(format!("{stdlib}/os.py"), "");
    env.write(format!("{stdlib}/encodings/__init__.py"), evil_encodings(&marker));
    env.write("evil/bin/.keep", "");
    env.write("app.py", "A = 1\n");
    env.commit_all("a standard library");
    let venv = env.root().join("venv");
    std::fs::create_dir_all(venv.join("bin")).unwrap();
    std::fs::write(venv.join("pyvenv.cfg"), format!("home = {}\n", env.repo.join("evil/bin").display())).unwrap();
    std::os::unix::fs::symlink(&python.path, venv.join("bin/python")).unwrap();
    let run =
        Run::from(env.command_in(venv.join("bin/python"), &env.repo).args(["-I", "-S", "-c", "0"]).output().unwrap());
    assert!(marker.exists(), "the fixture must be a working attack: {}", run.stderr);
    std::fs::remove_dir(&marker).unwrap();
    env.extra_env.push(("VIRTUAL_ENV".into(), venv.display().to_string()));
    let run = env.run(&["rebuild", "--all"]).expect_code(2);
    assert!(run.stderr.contains("home = "), "{}", run.stderr);
    clone_hook(&env, &env.repo).expect_code(0);
    assert_not_run(&marker);
}

#[test]
fn relative_path_entries_never_run_a_committed_binary_from_the_shims() {
    let env = TestEnv::new();
    let marker = env.root().join("shim-ran-it");
    let evil = format!("#!/bin/sh\ntouch '{}'\n", marker.display());
    for path in ["pycache-guard", "bin/pycache-guard"] {
        env.write(path, &evil);
        make_executable(&env.repo.join(path));
    }
    env.write("app.py", "A = 1\n");
    env.commit_all("a committed pycache-guard");
    // Installed from a copy of the binary that is then removed.
    let copy = env.root().join("gone/pycache-guard");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(common::binary(), &copy).unwrap();
    Run::from(env.command_in(&copy, &env.repo).arg("install").output().unwrap()).expect_code(0);
    std::fs::remove_file(&copy).unwrap();
    let path = format!(".::bin:{}:{}", env.repo.join("bin").display(), std::env::var("PATH").unwrap());
    let mut checkout = env.command_in("git", &env.repo);
    checkout.env("PATH", &path).args(["checkout", "-q", "-b", "other"]);
    let run = Run::from(checkout.output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut commit = env.command_in("git", &env.repo);
    env.write("b.py", "B = 1\n");
    env.git(&["add", "b.py"]);
    commit.env("PATH", &path).args(["commit", "-q", "-m", "b"]);
    let run = Run::from(commit.output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("not found on PATH"), "{}", run.stderr);
    assert!(!marker.exists(), "a shim ran the repository's `pycache-guard`");
}

// ---------------------------------------------------------------- a hanging interpreter

#[test]
fn a_hanging_interpreter_is_stopped_and_the_hook_passes() {
    let mut env = TestEnv::new();
    let fake = env.root().join("fake-bin");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(fake.join("python3"), "#!/bin/sh\nexec sleep 300\n").unwrap();
    make_executable(&fake.join("python3"));
    env.extra_env.push(("PATH".into(), format!("{}:{}", fake.display(), std::env::var("PATH").unwrap())));
    env.extra_env.push(("PYCACHE_GUARD_QUERY_TIMEOUT".into(), "1".into()));
    env.write("app.py", "A = 1\n");
    env.commit_all("base");
    let run = clone_hook(&env, &env.repo).expect_code(0);
    assert!(run.stderr.contains("did not answer within"), "{}", run.stderr);
    let run = env.run(&["rebuild", "--all"]).expect_code(2);
    assert!(run.stderr.contains("`python3` (from the default) did not answer within"), "{}", run.stderr);
}

// ---------------------------------------------------------------- terminal escapes from committed configuration

fn assert_no_control(run: &Run, what: &str) {
    for bad in ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}'] {
        assert!(
            !run.stdout.contains(bad) && !run.stderr.contains(bad),
            "{what}: {bad:?} reached the terminal\n{:?}\n{:?}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn interpreter_names_and_unknown_keys_from_pyproject_are_escaped() {
    let env = TestEnv::new();
    env.write("app.py", "A = 1\n");
    let name = r#"py\u001b]0;pwned\u0007\u202e\u009b31m"#;
    let configs = [
        format!("[tool.pycache-guard]\npython = [\"{name}\"]\n"),
        format!("[tool.pycache-guard]\n\"{name}\" = 1\n"),
        format!("[tool.pycache-guard]\nallow = [\"{name}[\"]\n"),
    ];
    env.commit_all("base");
    for config in configs {
        env.write("pyproject.toml", &config);
        env.commit_all("hostile configuration");
        for format in ["human", "json", "github"] {
            let run = env.run(&["check", "--format", format]);
            assert_no_control(&run, &format!("check --format {format} with {config}"));
            assert_eq!(run.code, 2, "{config}\n{}", run.stderr);
        }
        assert_no_control(&env.run(&["rebuild", "--all"]), "rebuild");
        assert_no_control(&env.run(&["rebuild", "--all", "--dry-run"]), "rebuild --dry-run");
        assert_no_control(&env.run(&["forbid"]), "forbid");
        let run = clone_hook(&env, &env.repo).expect_code(0);
        assert_no_control(&run, "post-checkout");
        // The rebuild hook reads no allow-list; the other two reach it.
        assert!(config.contains("allow") || run.stderr.contains("warning:"), "{}", run.stderr);
    }
}

#[test]
fn a_symlinked_pycache_refusal_escapes_the_folder_name() {
    let python = common::require_python!();
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    let outside = env.root().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let folder = "pkg\u{1b}[2J\u{7}\u{202e}";
    env.write(format!("{folder}/m.py"), "M = 1\n");
    std::os::unix::fs::symlink(&outside, env.repo.join(folder).join("__pycache__")).unwrap();
    env.commit_all("a linked cache folder");
    for args in
        [&["rebuild", "--all", "--dry-run"][..], &["rebuild", "--all"], &["-v", "rebuild", "--all", "--dry-run"]]
    {
        let run = env.run(args);
        assert_no_control(&run, &format!("{args:?}"));
        assert!(run.stderr.contains("pkg\\x1b[2J"), "{args:?}: {}", run.stderr);
    }
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn json_reports_carry_deceptive_names_as_escapes_only() {
    let python = common::require_python!();
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    let name = "rtl\u{202e}yp.\u{9b}x.py";
    env.write(name, "def f(:\n");
    env.commit_all("a deceptive name");
    let run = env.run(&["check", "--format", "json"]);
    assert_no_control(&run, "check --format json");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let paths: Vec<&str> = report["findings"].as_array().unwrap().iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(paths.contains(&name), "the data must stay exact: {paths:?}");
}

#[test]
fn a_shim_asked_in_the_work_tree_never_finds_committed_programs_on_path() {
    let env = TestEnv::new();
    let marker = env.root().join("env-found-it");
    // A shim like pyenv's, which finds `bash` through `PATH`.
    let shims = env.root().join("shims");
    std::fs::create_dir_all(&shims).unwrap();
    let real = common::require_python!();
    std::fs::write(shims.join("python3"), format!("#!/usr/bin/env fake-bash\nexec {} \"$@\"\n", real.path.display()))
        .unwrap();
    make_executable(&shims.join("python3"));
    let evil = format!("#!/bin/sh\ntouch '{}'\nshift\nexec /bin/sh \"$@\"\n", marker.display());
    env.write("fake-bash", &evil);
    make_executable(&env.repo.join("fake-bash"));
    env.write("app.py", "A = 1\n");
    env.commit_all("a committed fake-bash");
    let mut command = env.command_in(common::binary(), &env.repo);
    command.env("PATH", format!(".:{}:{}", shims.display(), std::env::var("PATH").unwrap()));
    let run = Run::from(command.args(["rebuild", "--all"]).output().unwrap());
    assert!(!marker.exists(), "the shim found the repository's program through `PATH`: {}", run.stderr);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
