//! `check` on real projects' `.gitignore` files (flask, pip, Django, pytest,
//! numpy; copies in `tests/fixtures/gitignore/`, sources named in its README):
//! at a healthy state it exits 0, a missing rule is a note naming the rule
//! unless bytecode it would hide really exists, and messages name only paths
//! that exist.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::path::Path;

use common::{Run, TestEnv};

const PROJECTS: [&str; 5] = ["flask", "pip", "django", "pytest", "numpy"];

fn fixture(project: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/gitignore/{project}.gitignore"));
    std::fs::read(path).unwrap()
}

/// A small healthy project with this `.gitignore`: sources committed, our
/// hooks installed, caches written by a real interpreter.
fn healthy(project: &str) -> TestEnv {
    let env = TestEnv::new();
    env.write(".gitignore", fixture(project));
    env.write("pkg/__init__.py", "");
    env.write("pkg/mod.py", "X = 1\n");
    env.commit_all("initial");
    env.install_hooks();
    env.run(&["rebuild", "--all"]).expect_code(0);
    env
}

fn check(env: &TestEnv) -> Run {
    env.run(&["check", "--format", "json"])
}

#[test]
fn check_passes_on_healthy_real_projects() {
    for project in PROJECTS {
        let env = healthy(project);
        assert!(env.repo.join("pkg/__pycache__").is_dir(), "{project}: no caches were written");
        let run = check(&env);
        assert_eq!(run.code, 0, "{project}\n{}\n{}", run.stdout, run.stderr);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        for finding in report["findings"].as_array().unwrap() {
            assert_ne!(finding["severity"], "error", "{project}: {finding}");
            if finding["id"] == "gitignore-missing" {
                let message = finding["message"].as_str().unwrap();
                assert!(message.contains("no bytecode it would ignore exists yet"), "{project}: {message}");
                assert!(!message.contains("m.pyc") && !message.contains("m$py.class"), "{project}: {message}");
            }
        }
    }
}

#[test]
fn a_missing_rule_is_an_error_when_it_lets_real_bytecode_through() {
    // pip's rules have no `*$py.class`: a Jython class file beside its source is let through.
    let env = healthy("pip");
    env.write("pkg/mod$py.class", "jython");
    let run = check(&env);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let error = findings
        .iter()
        .find(|finding| finding["id"] == "gitignore-missing" && finding["severity"] == "error")
        .unwrap_or_else(|| panic!("{findings:?}"));
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("`*$py.class`") && message.contains("`pkg/mod$py.class`"), "{message}");
    // The other missing rule (`__pycache__/`) hides nothing that exists: a note.
    let notes: Vec<_> = findings.iter().filter(|f| f["id"] == "gitignore-missing" && f["severity"] == "info").collect();
    assert_eq!(notes.len(), 1, "{findings:?}");
    assert!(notes[0]["message"].as_str().unwrap().contains("`__pycache__/`"), "{notes:?}");
}

#[test]
fn excluded_sources_are_not_syntax_checked() {
    let env = TestEnv::new();
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n*$py.class\n");
    env.write("pyproject.toml", "[tool.pycache-guard]\nexclude = [\"fixtures/**\"]\n");
    env.write("fixtures/bad.py", "def broken(:\n");
    env.write("good.py", "x = 1\n");
    env.commit_all("initial");
    env.install_hooks();
    let run = env.run(&["check"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("bad.py"), "{}", run.stdout);
}
