//! The hooks of `.pre-commit-hooks.yaml`, driven by the real pre-commit
//! framework from PyPI (installed into a throwaway virtualenv).

mod common;

use std::path::{Path, PathBuf};

use common::{Run, TestEnv};

/// A committed copy of this crate, as pre-commit needs a git repository with a
/// `HEAD` to install from (`language: rust` runs `cargo install --path .`).
pub fn hook_repository(env: &TestEnv) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let copy = env.root().join("hook-repo");
    for item in ["Cargo.toml", "Cargo.lock", "README.md", ".pre-commit-hooks.yaml", "src", "hooks"] {
        copy_tree(&source.join(item), &copy.join(item));
    }
    env.git_in(&copy, &["init", "-q", "."]);
    env.git_in(&copy, &["add", "-A"]);
    env.git_in(&copy, &["commit", "-q", "--no-verify", "-m", "snapshot"]);
    copy
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else if from.exists() {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
}

/// pre-commit with a shared cargo target folder, so the crate's dependencies
/// are compiled once per machine rather than once per test.
pub fn pre_commit(env: &TestEnv, args: &[&str]) -> Run {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pre-commit-cargo-target");
    let mut command = env.command_in(common::tools::venv_bin().join("pre-commit"), &env.repo);
    command.env("CARGO_TARGET_DIR", target).args(args);
    Run::from(command.output().expect("pre-commit runs"))
}

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
