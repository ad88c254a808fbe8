//! The hooks of `.pre-commit-hooks.yaml`, driven by the real pre-commit
//! framework from PyPI (installed into a throwaway virtualenv).

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::path::Path;

use common::hook_repo::{hook_repository, pre_commit};
use common::{Run, TestEnv};

#[test]
fn pre_commit_try_repo_blocks_staged_bytecode_and_passes_a_clean_commit() {
    let env = TestEnv::new();
    let hook_repo = hook_repository(&env);
    env.write("app.py", "x = 1\n");
    env.write("pkg/__pycache__/app.cpython-312.pyc", "bytecode");
    env.git(&["add", "-A"]);
    let repo_arg = hook_repo.to_str().unwrap();
    let run = pre_commit(&env, &["try-repo", repo_arg, "forbid-pycache"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("commit blocked: 1 bytecode file is staged"), "{}", run.stdout);
    assert!(run.stdout.contains("pkg/__pycache__/app.cpython-312.pyc"), "{}", run.stdout);

    env.git(&["rm", "-q", "--cached", "pkg/__pycache__/app.cpython-312.pyc"]);
    let run = pre_commit(&env, &["try-repo", repo_arg, "forbid-pycache"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("Passed") || run.stdout.contains("Skipped"), "{}", run.stdout);
}

#[test]
fn hook_files_regex_selects_exactly_the_bytecode_artifacts() {
    let env = TestEnv::empty();
    let paths = [
        "m.pyc",
        "pkg/m.pyo",
        "pkg/m$py.class",
        "__pycache__/m.cpython-312.pyc",
        "a/__pycache__/notes.txt",
        "a/__pycache__",
        "m.py",
        "m.pyd",
        "app.pyz",
        "m.pyc.txt",
        "x__pycache__/m.py",
        "__pycache__x/m.py",
        "docs/pyc",
        "m.class",
    ];
    // Ask Python's `re` (what pre-commit uses) through the YAML pre-commit reads.
    let script = "import re, sys, yaml\n\
hooks = yaml.safe_load(open(sys.argv[1]))\n\
pattern = next(h for h in hooks if h['id'] == 'forbid-pycache')['files']\n\
print(pattern)\n\
for path in sys.argv[2:]:\n    print(int(bool(re.search(pattern, path))))\n";
    let yaml = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    let mut command = env.command_in(common::tools::venv_bin().join("python"), &env.repo);
    command.arg("-c").arg(script).arg(&yaml).args(paths);
    let run = Run::from(command.output().unwrap()).expect_code(0);
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next().unwrap(), pycache_guard::artifact::BYTECODE_REGEX);
    for (path, verdict) in paths.iter().zip(lines) {
        let expected = pycache_guard::artifact::is_bytecode_path(path.as_bytes());
        assert_eq!(verdict == "1", expected, "{path}");
    }
}

#[test]
fn pre_commit_gitignore_hook_fixes_the_file_then_passes() {
    let env = TestEnv::new();
    let hook_repo = hook_repository(&env);
    env.write(".gitignore", "*.log\n");
    env.write("app.py", "x = 1\n");
    env.git(&["add", "-A"]);
    let repo_arg = hook_repo.to_str().unwrap();
    let run = pre_commit(&env, &["try-repo", repo_arg, "pycache-gitignore"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("added 3 rules"), "{}", run.stdout);
    assert!(String::from_utf8(env.read(".gitignore")).unwrap().contains("*.py[cod]\n"));
    env.git(&["add", ".gitignore"]);
    let run = pre_commit(&env, &["try-repo", repo_arg, "pycache-gitignore"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}
