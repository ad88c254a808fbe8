//! The hooks of `.pre-commit-hooks.yaml`, driven by the real pre-commit
//! framework from PyPI (installed into a throwaway virtualenv).

mod common;

use std::path::{Path, PathBuf};

use common::{Run, TestEnv};

/// A committed copy of this crate, as pre-commit needs a git repository with a
/// `HEAD` to install from (`language: rust` runs `cargo install --path .`).
/// Its path and commit depend only on the crate's content, so pre-commit's
/// store (shared under `target/`) builds each version once.
pub fn hook_repository(env: &TestEnv) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let items = ["Cargo.toml", "Cargo.lock", "README.md", ".pre-commit-hooks.yaml", "src", "hooks"];
    let mut hasher = std::hash::DefaultHasher::new();
    for item in items {
        hash_tree(&source.join(item), &mut hasher);
    }
    let name = format!("hook-repo-{:016x}", std::hash::Hasher::finish(&hasher));
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let copy = target_tmp.join(&name);
    if copy.join(".git").exists() {
        return copy;
    }
    let building = target_tmp.join(format!("{name}.{}", std::process::id()));
    for item in items {
        copy_tree(&source.join(item), &building.join(item));
    }
    env.git_in(&building, &["init", "-q", "."]);
    env.git_in(&building, &["add", "-A"]);
    let mut commit = env.command_in("git", &building);
    commit.args(["commit", "-q", "--no-verify", "-m", "snapshot"]);
    commit.env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z").env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z");
    assert!(commit.status().unwrap().success());
    // Another test process may have won the race; its copy is identical.
    if std::fs::rename(&building, &copy).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    copy
}

fn hash_tree(path: &Path, hasher: &mut std::hash::DefaultHasher) {
    use std::hash::Hash;
    path.file_name().hash(hasher);
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for entry in entries {
            hash_tree(&entry, hasher);
        }
    } else if let Ok(bytes) = std::fs::read(path) {
        bytes.hash(hasher);
    }
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

/// pre-commit with a store and a cargo target folder shared under `target/`,
/// so the hook is compiled once per version of the crate, not once per test.
pub fn pre_commit(env: &TestEnv, args: &[&str]) -> Run {
    let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut command = env.command_in(common::tools::venv_bin().join("pre-commit"), &env.repo);
    command.env("CARGO_TARGET_DIR", target_tmp.join("pre-commit-cargo-target"));
    command.env("PRE_COMMIT_HOME", target_tmp.join("pre-commit-home"));
    command.args(args);
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
