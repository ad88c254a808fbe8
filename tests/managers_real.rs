//! Every hook-manager set-up the README documents, followed literally with
//! the real managers from PyPI (pre-commit, prek, lefthook, installed into the
//! throwaway virtualenv of `common::tools`): afterwards `git checkout`
//! rebuilds, a commit of bytecode is blocked, and so is a `git merge` that
//! brings bytecode in. The configuration is read from the README itself,
//! from the code block after each `<!-- managers_real: NAME -->` marker.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::path::Path;

use common::setups::{assert_checkout_rebuilds, readme_block};
use common::{Run, TestEnv};

/// A world where `pycache-guard` and the managers are on `PATH`, as after
/// `pip install pycache-guard pre-commit` or `cargo install`, and whose every
/// commit carries the manager's configuration (pre-commit's hooks fail when a
/// checkout leaves none).
fn world(config: &str, content: &str) -> TestEnv {
    let mut env = TestEnv::new();
    let tools = common::tools::venv_bin();
    let binary_dir = common::binary().parent().unwrap().to_path_buf();
    let path = format!("{}:{}:{}", binary_dir.display(), tools.display(), std::env::var("PATH").unwrap_or_default());
    env.extra_env.push(("PATH".into(), path));
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    env.extra_env.push(("PRE_COMMIT_HOME".into(), target_tmp.join("pre-commit-home").display().to_string()));
    env.extra_env.push(("PREK_HOME".into(), target_tmp.join("prek-home").display().to_string()));
    env.write(config, content);
    env.write("pkg/mod.py", "X = 1\n");
    env.commit_all("one");
    env.git(&["tag", "one"]);
    // A branch that carries bytecode, committed past every hook.
    env.git(&["checkout", "-q", "-b", "carries-bytecode"]);
    env.write("pkg/__pycache__/mod.cpython-312.pyc", "bytecode");
    env.write("side.py", "S = 1\n");
    env.commit_all("bytecode");
    env.git(&["checkout", "-q", "main"]);
    env.write("pkg/new.py", "Y = 2\n");
    env.commit_all("two");
    env
}

fn run_tool(env: &TestEnv, program: &str, args: &[&str]) -> Run {
    let tools = common::tools::venv_bin();
    Run::from(env.command_in(tools.join(program), &env.repo).args(args).output().unwrap())
}

/// What every documented set-up must give.
fn assert_it_works(env: &TestEnv) {
    let run = env.run(&["install"]).expect_code(0);
    assert!(run.stderr.contains("nothing to install"), "{}", run.stderr);
    let report = env.run(&["check", "--select", "hooks-missing"]).expect_code(0);
    assert!(!report.stdout.contains("hooks-missing"), "{}", report.stdout);

    assert_checkout_rebuilds(env, &env.repo);

    // A commit of bytecode is blocked.
    env.write("stray.pyc", "bytecode");
    env.git(&["add", "stray.pyc"]);
    let run = env.git_status(&["commit", "-q", "-m", "stray"]);
    assert_ne!(run.code, 0, "the commit went through\n{}\n{}", run.stdout, run.stderr);
    assert!(format!("{}{}", run.stdout, run.stderr).contains("stray.pyc"), "{}\n{}", run.stdout, run.stderr);
    env.git(&["rm", "-q", "--cached", "stray.pyc"]);
    std::fs::remove_file(env.repo.join("stray.pyc")).unwrap();

    // A merge that brings bytecode in is blocked.
    let head = env.git(&["rev-parse", "HEAD"]).stdout;
    let run = env.git_status(&["merge", "--no-ff", "-m", "merge", "carries-bytecode"]);
    assert_ne!(run.code, 0, "the merge went through\n{}\n{}", run.stdout, run.stderr);
    assert_eq!(env.git(&["rev-parse", "HEAD"]).stdout, head);
    assert!(format!("{}{}", run.stdout, run.stderr).contains("mod.cpython-312.pyc"), "{}\n{}", run.stdout, run.stderr);
}

fn pre_commit_family(program: &str) {
    let env = world(".pre-commit-config.yaml", &readme_block("pre-commit"));
    for step in readme_block("pre-commit-steps").lines().filter(|line| !line.trim().is_empty()) {
        let step = step.replace("pre-commit install", &format!("{program} install"));
        let mut shell = env.command_in("sh", &env.repo);
        shell.arg("-c").arg(&step);
        let run = Run::from(shell.output().unwrap());
        assert_eq!(run.code, 0, "{step}\n{}\n{}", run.stdout, run.stderr);
    }
    assert_it_works(&env);
}

#[test]
fn pre_commit_as_documented_rebuilds_and_blocks() {
    pre_commit_family("pre-commit");
}

#[test]
fn prek_as_documented_rebuilds_and_blocks() {
    pre_commit_family("prek");
}

#[test]
fn lefthook_as_documented_rebuilds_and_blocks() {
    let env = world("lefthook.yml", &readme_block("lefthook"));
    run_tool(&env, "lefthook", &["install"]).expect_code(0);
    assert_it_works(&env);
}
