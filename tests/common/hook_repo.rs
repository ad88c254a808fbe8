//! A committed copy of this crate for the pre-commit framework to install
//! from, and pre-commit itself with a store shared under `target/`.

use std::path::{Path, PathBuf};

use super::{Run, TestEnv};

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
    // Tests of one binary run in threads of one process: one builds, the
    // others wait for it (the folder name below only tells processes apart).
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = BUILDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if copy.join(".git").exists() {
        return copy;
    }
    let building = target_tmp.join(format!("{name}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
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
    let mut command = env.command_in(super::tools::venv_bin().join("pre-commit"), &env.repo);
    command.env("CARGO_TARGET_DIR", target_tmp.join("pre-commit-cargo-target"));
    command.env("PRE_COMMIT_HOME", target_tmp.join("pre-commit-home"));
    command.args(args);
    Run::from(command.output().expect("pre-commit runs"))
}
