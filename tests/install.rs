//! Hook installation in every git situation: local and global
//! `core.hooksPath` (and an empty or `.` one, refused), worktrees, foreign
//! hooks, hook managers, bare repositories, shared repositories.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

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

#[test]
fn empty_core_hooks_path_is_refused_because_git_runs_no_hook() {
    let env = TestEnv::new();
    env.git(&["config", "--local", "core.hooksPath", ""]);
    let run = env.run(&["install"]).expect_code(2);
    assert!(run.stderr.contains("`core.hooksPath` is empty in your local git config"), "{}", run.stderr);
    assert!(run.stderr.contains("git config --local --unset core.hooksPath"), "{}", run.stderr);
    assert!(!hooks(&env).join("pre-commit").exists());
    assert!(!env.repo.join("pre-commit").exists());
    // What the refusal claims: git runs no hook, not even the default folder's.
    std::fs::write(hooks(&env).join("pre-commit"), "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(hooks(&env).join("pre-commit"), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(env.git_status(&["commit", "-q", "--allow-empty", "-m", "x"]).code, 0, "git ran a hook");
    // The fix it names works.
    env.git(&["config", "--local", "--unset", "core.hooksPath"]);
    std::fs::remove_file(hooks(&env).join("pre-commit")).unwrap();
    env.run(&["install"]).expect_code(0);
    assert!(hooks(&env).join("pre-commit").exists());
}

#[test]
fn dot_core_hooks_path_is_refused_and_writes_nothing_into_the_work_tree() {
    let env = TestEnv::new();
    env.git(&["config", "--local", "core.hooksPath", "."]);
    let sub = env.repo.join("sub");
    std::fs::create_dir(&sub).unwrap();
    for dir in [&env.repo, &sub] {
        let run = env.run_in(dir, &["install"]).expect_code(2);
        assert!(run.stderr.contains("`core.hooksPath` is `.` in your local git config"), "{}", run.stderr);
        assert!(run.stderr.contains("git config --local core.hooksPath .git/hooks"), "{}", run.stderr);
    }
    let listing: Vec<_> = std::fs::read_dir(&env.repo).unwrap().flatten().map(|entry| entry.file_name()).collect();
    assert_eq!(listing.len(), 2, "only .git and sub: {listing:?}");
    // What the refusal claims: git cannot run a hook there, and the commit fails.
    env.write("pre-commit", "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(env.repo.join("pre-commit"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let commit = env.git_status(&["commit", "-q", "--allow-empty", "-m", "x"]);
    assert_ne!(commit.code, 0, "git ran a hook at the top of the work tree: {}", commit.stderr);
}

#[test]
fn shared_repository_shims_are_group_writable_as_git_makes_its_files() {
    for (setting, mode) in [("group", 0o775), ("all", 0o775), ("0640", 0o750), ("umask", 0o755)] {
        let env = TestEnv::new();
        env.git(&["config", "core.sharedRepository", setting]);
        // A foreign hook, moved aside, keeps its own mode.
        std::fs::write(hooks(&env).join("post-merge"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(hooks(&env).join("post-merge"), std::fs::Permissions::from_mode(0o700)).unwrap();
        env.run(&["install"]).expect_code(0);
        for entry in std::fs::read_dir(hooks(&env)).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let actual = entry.metadata().unwrap().permissions().mode() & 0o7777;
            if name.ends_with(".sample") {
                continue;
            }
            let expected = if name == "post-merge.pre-pycache-guard" { 0o700 } else { mode };
            assert_eq!(actual, expected, "{setting}: {name} has mode {actual:o}");
        }
        // A later change of the setting is applied by the next install.
        env.git(&["config", "core.sharedRepository", "umask"]);
        let run = env.run(&["install"]).expect_code(0);
        let pre_commit = std::fs::metadata(hooks(&env).join("pre-commit")).unwrap().permissions().mode() & 0o7777;
        assert_eq!(pre_commit, 0o755, "{setting} then umask: {}", run.stderr);
    }
}

#[test]
fn check_reports_the_hooks_missing_where_git_cannot_run_them() {
    let env = TestEnv::new();
    env.install_hooks();
    let finding = |env: &TestEnv| {
        let run = env.run(&["check", "--no-syntax", "--select", "hooks-missing", "--format", "json"]);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(finding(&env), Vec::<String>::new(), "installed, so nothing is missing");
    // Our shims are still in .git/hooks, but git runs none of them.
    env.git(&["config", "core.hooksPath", ""]);
    let found = finding(&env);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("`core.hooksPath` is empty"), "{found:?}");
    // Shims at the top of the work tree, where git cannot start them.
    for entry in std::fs::read_dir(hooks(&env)).unwrap().flatten() {
        if !entry.file_name().to_string_lossy().ends_with(".sample") {
            std::fs::copy(entry.path(), env.repo.join(entry.file_name())).unwrap();
        }
    }
    env.git(&["config", "core.hooksPath", "."]);
    let found = finding(&env);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("`core.hooksPath` is `.`"), "{found:?}");
    // A folder git cannot resolve at all (found by attack 6): git runs no hook either.
    for unresolvable in ["./", ".//"] {
        env.git(&["config", "core.hooksPath", unresolvable]);
        let found = finding(&env);
        assert_eq!(found.len(), 1, "{unresolvable}: {found:?}");
        assert!(found[0].contains(&format!("`core.hooksPath` is `{unresolvable}`")), "{found:?}");
    }
}

/// What an install of an older version left for `reference-transaction`:
/// its shim, starting this binary.
fn old_reference_transaction_shim() -> String {
    format!(
        "#!/bin/sh\n# pycache-guard-shim v1: reference-transaction\nexe='{}'\nprintf '' | \"$exe\" hook reference-transaction \"$@\"\n",
        common::binary().canonicalize().unwrap().display()
    )
}

#[test]
fn install_retires_an_older_reference_transaction_shim_and_restores_the_hook_it_chained() {
    let env = TestEnv::new();
    env.write("m.py", "x = 1\n");
    env.commit_all("one");
    let shim = hooks(&env).join("reference-transaction");
    let chained = hooks(&env).join("reference-transaction.pre-pycache-guard");
    // Alone: the shim goes.
    std::fs::create_dir_all(hooks(&env)).unwrap();
    std::fs::write(&shim, old_reference_transaction_shim()).unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = env.run(&["install"]).expect_code(0);
    assert!(
        run.stderr.contains("removed the reference-transaction hook an older pycache-guard installed"),
        "{}",
        run.stderr
    );
    assert!(!shim.exists(), "the old reference-transaction shim is still there");
    // Chaining the user's own hook: the user's hook is back, byte for byte, with its mode.
    let users = "#!/bin/sh\necho the user's own hook\n";
    std::fs::write(&chained, users).unwrap();
    std::fs::set_permissions(&chained, std::fs::Permissions::from_mode(0o750)).unwrap();
    std::fs::write(&shim, old_reference_transaction_shim()).unwrap();
    let run = env.run(&["install"]).expect_code(0);
    assert!(run.stderr.contains("restored the one it chained"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&shim).unwrap(), users);
    assert_eq!(std::fs::metadata(&shim).unwrap().permissions().mode() & 0o777, 0o750);
    assert!(!chained.exists());
    // A hook that is not ours is left alone by `install` and `uninstall`.
    env.run(&["install"]).expect_code(0);
    env.run(&["uninstall"]).expect_code(0);
    assert_eq!(std::fs::read_to_string(&shim).unwrap(), users);
    // `uninstall` removes an old shim too.
    std::fs::write(&shim, old_reference_transaction_shim()).unwrap();
    env.run(&["uninstall"]).expect_code(0);
    assert!(!shim.exists(), "uninstall left the old reference-transaction shim");
}

#[test]
fn an_older_reference_transaction_shim_still_runs_and_exits_0() {
    let env = TestEnv::new();
    env.write("m.py", "x = 1\n");
    env.commit_all("one");
    env.run(&["install"]).expect_code(0);
    let shim = hooks(&env).join("reference-transaction");
    std::fs::write(&shim, old_reference_transaction_shim()).unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Until `install` runs again, git keeps starting it on every ref update.
    let run = env.git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    assert_eq!(run.stderr, "", "{}", run.stderr);
    let run = env.git(&["tag", "t"]);
    assert_eq!(run.stderr, "", "{}", run.stderr);
}

#[test]
fn install_never_overwrites_hooks_the_repository_tracks_without_force() {
    let env = TestEnv::new();
    let team_hook = env.write(".githooks/post-checkout", "#!/bin/sh\necho team hook\n");
    std::fs::set_permissions(&team_hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.commit_all("the team's hooks");
    env.git(&["config", "core.hooksPath", ".githooks"]);
    let run = env.run(&["install"]).expect_code(2);
    assert!(run.stderr.contains(".githooks/post-checkout") && run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(env.git(&["status", "--porcelain"]).stdout, "", "install changed the work tree");
    assert_eq!(std::fs::read_to_string(&team_hook).unwrap(), "#!/bin/sh\necho team hook\n");
    env.run(&["install", "--force"]).expect_code(0);
    assert!(std::fs::read_to_string(&team_hook).unwrap().contains("pycache-guard-shim"));
}

#[test]
fn the_shims_never_run_a_tool_the_repository_commits() {
    let env = TestEnv::new();
    let marker = env.root().join("ran");
    let tools =
        ["cat", "grep", "sed", "awk", "tr", "head", "dirname", "basename", "readlink", "env", "printf", "test", "["];
    for tool in tools {
        let fake = env.write(format!("bin/{tool}"), format!("#!/bin/sh\necho '{tool}' >> '{}'\n", marker.display()));
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    env.write("m.py", "x = 1\n");
    env.commit_all("a committed bin/ with the usual tools");
    env.git(&["branch", "other"]);
    // A hook kept from before, which every shim runs first.
    for name in ["post-checkout", "post-rewrite", "post-index-change"] {
        let kept = env.write(format!(".git/hooks/{name}"), "#!/bin/sh\nwhile read -r line; do :; done\n");
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    env.run(&["install"]).expect_code(0);
    // `bin` first on PATH, as `direnv`'s `PATH_add bin` does.
    let path = format!("{}:{}", env.repo.join("bin").display(), std::env::var("PATH").unwrap());
    let git = |args: &[&str], input: &str| {
        let mut child = env
            .command_in("git", &env.repo)
            .args(args)
            .env("PATH", &path)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "git {args:?} failed");
    };
    env.write("m.py", "x = 2\n");
    git(&["commit", "-q", "-a", "-m", "two"], "");
    git(&["commit", "-q", "--amend", "-m", "amended"], "");
    let tags: String = (0..70).map(|n| format!("create refs/tags/t{n} HEAD\n")).collect();
    git(&["update-ref", "--stdin"], &tags);
    git(&["checkout", "-q", "other"], "");
    git(&["merge", "-q", "--no-edit", "main"], "");
    git(&["reset", "-q", "--hard", "HEAD~0"], "");
    env.wait_in(&env.repo);
    assert!(!marker.exists(), "a shim ran the repository's {}", std::fs::read_to_string(&marker).unwrap_or_default());
}
