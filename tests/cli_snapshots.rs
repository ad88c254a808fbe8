//! Snapshots of what a person sees: `--help` of the tool and of each command,
//! the hook shims `install` writes, `install`'s own output, the commit guard's
//! refusal, and the main messages of `check`, `rebuild`, `clean` and `forbid`.
//! Machine-specific text is filtered (see `common::snapshot`); a change of
//! wording shows as a snapshot diff to review, not as a silent drift.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use common::TestEnv;
use common::snapshot::{assert_run_snapshot, assert_text_snapshot, cmd_snapshot};

const COMMANDS: [&str; 10] =
    ["install", "uninstall", "hook", "forbid", "gitignore", "rebuild", "check", "clean", "completions", "man"];

#[test]
fn help_of_the_tool_and_of_each_command() {
    let env = TestEnv::new();
    cmd_snapshot!(env, "help", ["--help"]);
    cmd_snapshot!(env, "help_short", ["-h"]);
    for command in COMMANDS {
        cmd_snapshot!(env, &format!("help_{command}"), [command, "--help"]);
    }
}

#[test]
fn install_output_and_the_shims_it_writes() {
    let env = TestEnv::new();
    cmd_snapshot!(env, "install_fresh", ["install"]);
    let hooks = env.repo.join(".git/hooks");
    let mut ours: Vec<String> = std::fs::read_dir(&hooks)
        .expect("the hooks folder")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".sample"))
        .collect();
    ours.sort();
    // Which hooks are installed is pinned by `install_fresh`; each shim by its own snapshot.
    assert!(ours.contains(&"pre-commit".to_string()), "{ours:?}");
    for hook in &ours {
        let shim = std::fs::read_to_string(hooks.join(hook)).expect("a text shim");
        assert_text_snapshot!(&env, &format!("shim_{}", hook.replace('-', "_")), shim);
    }
    cmd_snapshot!(env, "install_again", ["install"]);

    // A hook of someone else's is kept aside and chained.
    let env = TestEnv::new();
    env.write(".git/hooks/pre-commit", "#!/bin/sh\necho theirs\n");
    cmd_snapshot!(env, "install_over_a_foreign_hook", ["install"]);
    cmd_snapshot!(env, "uninstall_restoring_a_foreign_hook", ["uninstall"]);

    // The refusals, each with the command that fixes it.
    let env = TestEnv::new();
    env.git(&["config", "core.hooksPath", ""]);
    cmd_snapshot!(env, "install_refuses_an_empty_hooks_path", ["install"]);
    env.git(&["config", "core.hooksPath", "."]);
    cmd_snapshot!(env, "install_refuses_the_work_tree_as_hooks_path", ["install"]);
}

#[test]
fn the_commit_guard_refuses_staged_bytecode() {
    let env = TestEnv::new();
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n*$py.class\n");
    env.write("pkg/m.py", "x = 1\n");
    env.commit_all("base");
    env.install_hooks();
    env.write("pkg/__pycache__/m.cpython-312.pyc", "bytecode");
    env.write("legacy.pyc", "bytecode");
    env.git(&["add", "-f", "pkg/__pycache__/m.cpython-312.pyc", "legacy.pyc"]);
    let commit =
        common::Run::from(env.command_in("git", &env.repo).args(["commit", "-q", "-m", "x"]).output().unwrap());
    assert_run_snapshot!(&env, "guard_blocks_a_commit", &commit);
    cmd_snapshot!(env, "forbid_staged_bytecode", ["forbid"]);
}

/// A repository with one case of most findings, none needing an interpreter.
fn untidy() -> TestEnv {
    let env = TestEnv::new();
    env.write(".gitignore", "__pycache__/\n");
    env.write("tracked/t.py", "T = 1\n");
    env.write("tracked/__pycache__/t.cpython-312.pyc", "committed by mistake");
    env.write("pkg/__init__.py", "");
    env.git(&["add", "-A"]);
    env.git(&["add", "-f", "tracked/__pycache__/t.cpython-312.pyc"]);
    env.git(&["commit", "-q", "-m", "untidy"]);
    env.write("shadow.pyc", "legacy bytecode of a deleted shadow.py");
    env.write("pkg/__pycache__/gone.cpython-312.pyc", "cache of a deleted module");
    env.write("deleted_pkg/__pycache__/x.cpython-312.pyc", "cache of a deleted package");
    env
}

#[test]
fn check_reports_each_finding_with_its_fix() {
    let env = untidy();
    cmd_snapshot!(env, "check_untidy", ["check", "--no-syntax"]);
    cmd_snapshot!(env, "check_untidy_github", ["check", "--no-syntax", "--format", "github"]);
    cmd_snapshot!(env, "check_untidy_stats", ["check", "--no-syntax", "--stats"]);
    let env = TestEnv::new();
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n*$py.class\n");
    env.commit_all("tidy");
    env.install_hooks();
    cmd_snapshot!(env, "check_tidy", ["check", "--no-syntax"]);
}

#[test]
fn clean_lists_then_removes() {
    let env = untidy();
    cmd_snapshot!(env, "clean_orphans_dry_run", ["clean", "--orphans", "--dry-run"]);
    cmd_snapshot!(env, "clean_dry_run", ["clean", "--dry-run"]);
    cmd_snapshot!(env, "clean", ["clean"]);
    cmd_snapshot!(env, "clean_nothing_left", ["clean"]);
}

#[test]
fn rebuild_and_gitignore_messages() {
    let mut env = TestEnv::new();
    let python = common::require_python!();
    env.use_python(&python.path);
    env.write("pkg/__init__.py", "");
    env.write("pkg/a.py", "A = 1\n");
    env.commit_all("base");
    cmd_snapshot!(env, "rebuild_all", ["rebuild", "--all"]);
    cmd_snapshot!(env, "rebuild_nothing_to_do", ["rebuild"]);
    cmd_snapshot!(env, "rebuild_verbose", ["-v", "rebuild", "--all"]);
    cmd_snapshot!(env, "rebuild_verbose_nothing_to_do", ["-v", "rebuild"]);
    cmd_snapshot!(env, "gitignore_dry_run", ["gitignore", "--dry-run"]);
    cmd_snapshot!(env, "gitignore", ["gitignore"]);
    cmd_snapshot!(env, "gitignore_again", ["gitignore"]);
}
