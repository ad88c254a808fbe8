//! Hook installation in every git situation: local and global
//! `core.hooksPath`, worktrees, foreign hooks, hook managers, bare repositories.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Run, TestEnv};

fn hooks(env: &TestEnv) -> std::path::PathBuf {
    env.repo.join(".git/hooks")
}

fn stage_bytecode(env: &TestEnv) {
    env.write("m.pyc", "m");
    env.git(&["add", "-A"]);
}

#[test]
fn install_writes_an_executable_shim_that_records_the_binary() {
    let env = TestEnv::new();
    let run = env.run(&["install"]).expect_code(0);
    assert!(run.stderr.contains("installed the pre-commit hook"), "{}", run.stderr);
    let hook = hooks(&env).join("pre-commit");
    let content = std::fs::read_to_string(&hook).unwrap();
    assert!(content.lines().nth(1).unwrap().starts_with("# pycache-guard-shim v1"), "{content}");
    assert!(content.contains(&format!("exe='{}'", common::binary().canonicalize().unwrap().display())), "{content}");
    assert_eq!(std::fs::metadata(&hook).unwrap().permissions().mode() & 0o777, 0o755);
    stage_bytecode(&env);
    assert_eq!(env.git_status(&["commit", "-q", "-m", "x"]).code, 1);
}

#[test]
fn install_twice_changes_nothing() {
    let env = TestEnv::new();
    env.run(&["install"]).expect_code(0);
    let hook = hooks(&env).join("pre-commit");
    // An mtime far in the past: a rewrite, however fast, would show as a new one.
    let long_ago = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options().write(true).open(&hook).unwrap().set_modified(long_ago).unwrap();
    let before = (std::fs::read(&hook).unwrap(), std::fs::metadata(&hook).unwrap().modified().unwrap());
    assert_eq!(before.1, long_ago);
    let run = env.run(&["install"]).expect_code(0);
    assert!(run.stderr.contains("already installed"), "{}", run.stderr);
    let after = (std::fs::read(&hook).unwrap(), std::fs::metadata(&hook).unwrap().modified().unwrap());
    assert_eq!(before, after);
    let listing: Vec<_> = std::fs::read_dir(hooks(&env)).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(!listing.iter().any(|name| name.to_string_lossy().contains("pre-pycache-guard")), "{listing:?}");
}

#[test]
fn outdated_shim_of_ours_is_upgraded() {
    let env = TestEnv::new();
    let hook = hooks(&env).join("pre-commit");
    std::fs::write(&hook, "#!/bin/sh\n# pycache-guard-shim v0: pre-commit\nexec pycache-guard hook pre-commit\n")
        .unwrap();
    let run = env.run(&["install"]).expect_code(0);
    assert!(run.stderr.contains("updated the pre-commit hook"), "{}", run.stderr);
    assert!(!hooks(&env).join("pre-commit.pre-pycache-guard").exists());
}

#[test]
fn foreign_hook_is_chained_then_restored_byte_for_byte() {
    let env = TestEnv::new();
    let hook = hooks(&env).join("pre-commit");
    let marker = env.root().join("foreign-ran");
    let foreign = format!("#!/bin/sh\n# my own checks\necho ran > '{}'\nexit 0\n", marker.display());
    std::fs::write(&hook, &foreign).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o750)).unwrap();
    let run = env.run(&["install"]).expect_code(0);
    assert!(run.stderr.contains("the hook that was there runs first"), "{}", run.stderr);

    // Both run: the foreign hook first, then ours blocks the bytecode.
    stage_bytecode(&env);
    let run = env.git_status(&["commit", "-q", "-m", "x"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(marker.exists(), "the chained hook did not run");
    assert!(run.stderr.contains("commit blocked"), "{}", run.stderr);

    let run = env.run(&["uninstall"]).expect_code(0);
    assert!(run.stderr.contains("restored"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), foreign);
    assert_eq!(std::fs::metadata(&hook).unwrap().permissions().mode() & 0o777, 0o750);
    assert!(!hooks(&env).join("pre-commit.pre-pycache-guard").exists());
}

#[test]
fn failing_foreign_pre_commit_hook_still_blocks_the_commit() {
    let env = TestEnv::new();
    let hook = hooks(&env).join("pre-commit");
    std::fs::write(&hook, "#!/bin/sh\necho 'lint failed' >&2\nexit 3\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.run(&["install"]).expect_code(0);
    env.write("clean.py", "x = 1\n");
    env.git(&["add", "-A"]);
    let run = env.git_status(&["commit", "-q", "-m", "x"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("lint failed"), "{}", run.stderr);
}

#[test]
fn uninstall_removes_only_our_shims() {
    let env = TestEnv::new();
    let foreign = hooks(&env).join("commit-msg");
    std::fs::write(&foreign, "#!/bin/sh\nexit 0\n").unwrap();
    env.run(&["install"]).expect_code(0);
    env.run(&["uninstall"]).expect_code(0);
    assert!(!hooks(&env).join("pre-commit").exists());
    assert!(foreign.exists());
    // A foreign pre-commit hook in our place is not ours to remove.
    std::fs::write(hooks(&env).join("pre-commit"), "#!/bin/sh\nexit 0\n").unwrap();
    let run = env.run(&["uninstall"]).expect_code(0);
    assert!(run.stderr.contains("no pycache-guard hooks were installed"), "{}", run.stderr);
    assert!(hooks(&env).join("pre-commit").exists());
}

#[test]
fn local_core_hooks_path_is_honoured() {
    let env = TestEnv::new();
    env.git(&["config", "--local", "core.hooksPath", ".githooks"]);
    env.run(&["install"]).expect_code(0);
    assert!(env.repo.join(".githooks/pre-commit").exists());
    assert!(!hooks(&env).join("pre-commit").exists());
    stage_bytecode(&env);
    assert_eq!(env.git_status(&["commit", "-q", "-m", "x"]).code, 1);
}

#[test]
fn global_core_hooks_path_is_refused_without_force() {
    let env = TestEnv::new();
    let global_hooks = env.home.join("global-hooks");
    env.git(&["config", "--global", "core.hooksPath", global_hooks.to_str().unwrap()]);
    let run = env.run(&["install"]).expect_code(2);
    assert!(run.stderr.contains("`core.hooksPath` is set in your global git config"), "{}", run.stderr);
    assert!(run.stderr.contains("pycache-guard install --force"), "{}", run.stderr);
    assert!(!global_hooks.exists());
    env.run(&["install", "--force"]).expect_code(0);
    assert!(global_hooks.join("pre-commit").exists());
}

#[test]
fn linked_worktree_installs_into_the_shared_hooks_folder() {
    let env = TestEnv::new();
    env.write("README.md", "x\n");
    env.commit_all("initial");
    let worktree = env.root().join("wt");
    env.git(&["worktree", "add", "-q", worktree.to_str().unwrap(), "-b", "feature"]);
    env.run_in(&worktree, &["install"]).expect_code(0);
    assert!(hooks(&env).join("pre-commit").exists(), "hooks must go to the common folder");
    std::fs::write(worktree.join("w.pyc"), "w").unwrap();
    env.git_in(&worktree, &["add", "w.pyc"]);
    let run = Run::from(env.command_in("git", &worktree).args(["commit", "-q", "-m", "x"]).output().unwrap());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("w.pyc (new)"), "{}", run.stderr);
}

#[test]
fn installed_hook_manager_gets_a_snippet_instead_of_edits() {
    let env = TestEnv::new();
    env.write(".pre-commit-config.yaml", "repos: []\n");
    let generated = "#!/usr/bin/env bash\n# File generated by pre-commit: https://pre-commit.com\n";
    std::fs::write(hooks(&env).join("pre-commit"), generated).unwrap();
    let run = env.run(&["install"]).expect_code(1);
    assert!(run.stderr.contains("run by the pre-commit framework"), "{}", run.stderr);
    assert!(run.stdout.contains("id: forbid-pycache"), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(hooks(&env).join("pre-commit")).unwrap(), generated);
    env.run(&["install", "--force"]).expect_code(0);
    assert!(pycache_guard::shim::is_ours(&std::fs::read(hooks(&env).join("pre-commit")).unwrap()));
}

#[test]
fn hook_manager_detected_from_its_generated_hook() {
    for (content, name) in [
        ("#!/usr/bin/env bash\n# File generated by pre-commit: https://pre-commit.com\n", "pre-commit framework"),
        ("#!/bin/sh\n# File generated by prek: https://github.com/j178/prek\n", "prek"),
        ("#!/bin/sh\ncall_lefthook run \"pre-commit\" \"$@\"\n", "lefthook"),
    ] {
        let env = TestEnv::new();
        std::fs::write(hooks(&env).join("pre-commit"), content).unwrap();
        let run = env.run(&["install"]).expect_code(1);
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
        assert_eq!(std::fs::read_to_string(hooks(&env).join("pre-commit")).unwrap(), content);
    }
}

#[test]
fn unknown_hook_name_is_a_usage_error_for_install_and_a_no_op_for_hook() {
    let env = TestEnv::new();
    let run = env.run(&["install", "--hook", "pre-push"]).expect_code(2);
    assert!(run.stderr.contains("no `pre-push` hook"), "{}", run.stderr);
    env.run(&["hook", "pre-push", "origin", "url"]).expect_code(0);
}

/// This machine's `PATH` without any folder that holds a `pycache-guard`:
/// git and the tools the shim uses stay reachable wherever they live.
fn path_without_the_binary() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<_> = std::env::split_paths(&path).filter(|dir| !dir.join("pycache-guard").exists()).collect();
    std::env::join_paths(kept).unwrap().into_string().unwrap()
}

#[test]
fn shim_falls_back_to_path_and_passes_when_the_binary_is_missing() {
    let env = TestEnv::new();
    // Use the shim file from the source tree as someone pointing core.hooksPath at `hooks/` would.
    let folder = env.root().join("shims");
    std::fs::create_dir_all(&folder).unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks/pre-commit");
    std::fs::copy(&source, folder.join("pre-commit")).unwrap();
    env.git(&["config", "core.hooksPath", folder.to_str().unwrap()]);
    stage_bytecode(&env);

    // Without pycache-guard on PATH: a warning, and the commit is not broken.
    let mut command = env.command_in("git", &env.repo);
    let without_us = path_without_the_binary();
    command.env("PATH", &without_us).args(["commit", "-q", "-m", "x"]);
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("pycache-guard: not found on PATH"), "{}", run.stderr);

    // With it on PATH: it runs and blocks.
    env.write("n.pyc", "n");
    env.git(&["add", "-A"]);
    let bin_dir = common::binary().parent().unwrap().to_path_buf();
    let mut command = env.command_in("git", &env.repo);
    command.env("PATH", format!("{}:{without_us}", bin_dir.display())).args(["commit", "-q", "-m", "y"]);
    let run = Run::from(command.output().unwrap());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("n.pyc (new)"), "{}", run.stderr);
}
