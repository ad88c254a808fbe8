//! The prebuilt wheel (`pyproject.toml`, maturin with `bindings = "bin"`):
//! built once per version of the crate (maturin from PyPI in the tools
//! virtualenv), installed offline into a fresh virtualenv, and used by the
//! pre-commit framework and prek through the README's no-build set-up
//! (`language: python` with `additional_dependencies`) from a local folder
//! holding only that wheel and the framework's own build requirements.
//! Nothing reaches the network at run time: `PIP_NO_INDEX` (and uv's
//! `UV_NO_INDEX`, which prek's installer reads) forbid it.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{Run, TestEnv};

/// What pre-commit's placeholder package needs to build, downloaded once at set-up.
const FRAMEWORK_REQUIREMENTS: [&str; 3] = ["setuptools==84.2.1", "wheel==0.48.0", "packaging==26.3"];

fn target_tmp() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// A folder holding the wheel of this crate and the framework's requirements:
/// the whole "index" the tests may install from. The wheel is built once per
/// content of the crate (a release build takes minutes) and shared.
fn wheel_folder() -> &'static Path {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let tools = common::tools::venv_bin();
        std::fs::create_dir_all(target_tmp()).unwrap();
        let lock = std::fs::File::create(target_tmp().join("wheel.lock")).unwrap();
        lock.lock().unwrap();
        let requirements = target_tmp().join(format!("framework-wheels-{}", FRAMEWORK_REQUIREMENTS.join("+")));
        if !requirements.exists() {
            let partial = requirements.with_extension("partial");
            let status = Command::new(tools.join("python"))
                .args(["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps", "-d"])
                .arg(&partial)
                .args(FRAMEWORK_REQUIREMENTS)
                .status()
                .unwrap();
            assert!(status.success(), "pip download {FRAMEWORK_REQUIREMENTS:?} failed");
            std::fs::rename(&partial, &requirements).unwrap();
        }
        let folder = target_tmp().join(format!("wheel-index-{:016x}", crate_hash()));
        if !folder.exists() {
            let building = folder.with_extension("partial");
            let _ = std::fs::remove_dir_all(&building);
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
            let status = Command::new(tools.join("maturin"))
                .args(["build", "--release", "--quiet", "--manifest-path"])
                .arg(&manifest)
                .arg("--out")
                .arg(&building)
                .env("CARGO_TARGET_DIR", target_tmp().join("wheel-cargo-target"))
                .env("PATH", format!("{}:{}", tools.display(), std::env::var("PATH").unwrap_or_default()))
                .status()
                .unwrap();
            assert!(status.success(), "maturin build failed");
            for entry in std::fs::read_dir(&requirements).unwrap().flatten() {
                std::fs::copy(entry.path(), building.join(entry.file_name())).unwrap();
            }
            std::fs::rename(&building, &folder).unwrap();
        }
        lock.unlock().unwrap();
        folder
    })
}

/// Hashes what goes into the wheel, so that a changed crate is rebuilt.
fn crate_hash() -> u64 {
    use std::hash::{Hash, Hasher};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut hasher = std::hash::DefaultHasher::new();
    let mut stack: Vec<PathBuf> = ["Cargo.toml", "Cargo.lock", "pyproject.toml", "README.md", "src", "hooks"]
        .iter()
        .map(|p| root.join(p))
        .collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&path).unwrap().flatten().map(|e| e.path()).collect();
            entries.sort();
            entries.reverse();
            stack.extend(entries);
        } else if let Ok(bytes) = std::fs::read(&path) {
            path.hash(&mut hasher);
            bytes.hash(&mut hasher);
        }
    }
    hasher.finish()
}

/// The environment that keeps pip and uv offline, on the wheel folder only.
fn offline(env: &mut TestEnv) {
    let folder = wheel_folder().display().to_string();
    for (key, value) in [
        ("PIP_FIND_LINKS", folder.as_str()),
        ("PIP_NO_INDEX", "1"),
        ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
        ("UV_FIND_LINKS", folder.as_str()),
        ("UV_NO_INDEX", "1"),
        ("UV_OFFLINE", "1"),
    ] {
        env.extra_env.push((key.into(), value.into()));
    }
}

#[test]
fn the_wheel_installs_offline_and_its_binary_guards_commits() {
    let mut env = TestEnv::new();
    offline(&mut env);
    let venv = env.root().join("venv");
    Run::from(env.command_in("python3", env.root()).args(["-m", "venv"]).arg(&venv).output().unwrap()).expect_code(0);
    let pip = venv.join("bin/pip");
    Run::from(env.command_in(&pip, env.root()).args(["install", "--quiet", "pycache-guard"]).output().unwrap())
        .expect_code(0);
    let binary = venv.join("bin/pycache-guard");
    let run = Run::from(env.command_in(&binary, &env.repo).arg("--version").output().unwrap()).expect_code(0);
    assert!(run.stdout.contains(env!("CARGO_PKG_VERSION")), "{}", run.stdout);
    Run::from(env.command_in(&binary, &env.repo).arg("install").output().unwrap()).expect_code(0);
    env.write("m.pyc", "bytecode");
    env.git(&["add", "m.pyc"]);
    let run = env.git_status(&["commit", "-q", "-m", "x"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("m.pyc (new)"), "{}", run.stderr);
}

/// The README's no-build block, pinned to this crate's version.
fn wheel_config() -> String {
    let block = common::setups::readme_block("pre-commit-wheel");
    assert!(block.contains(&format!("pycache-guard=={}", env!("CARGO_PKG_VERSION"))), "{block}");
    block
}

fn framework_installs_the_wheel(program: &str) {
    let mut env = TestEnv::new();
    offline(&mut env);
    let tools = common::tools::venv_bin();
    // Only the framework on PATH: the hooks' binary comes from the wheel.
    env.extra_env.push(("PATH".into(), format!("{}:/usr/local/bin:/usr/bin:/bin", tools.display())));
    env.extra_env.push(("PRE_COMMIT_HOME".into(), env.root().join("pre-commit-home").display().to_string()));
    env.extra_env.push(("PREK_HOME".into(), env.root().join("prek-home").display().to_string()));
    env.write(".pre-commit-config.yaml", wheel_config());
    env.write("pkg/mod.py", "X = 1\n");
    env.commit_all("one");
    env.git(&["tag", "one"]);
    env.write("pkg/new.py", "Y = 2\n");
    env.commit_all("two");
    let install = Run::from(env.command_in(tools.join(program), &env.repo).arg("install").output().unwrap());
    install.expect_code(0);

    env.write("stray.pyc", "bytecode");
    env.git(&["add", "stray.pyc"]);
    let run = env.git_status(&["commit", "-q", "-m", "stray"]);
    assert_ne!(run.code, 0, "the commit went through\n{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stray.pyc") || run.stderr.contains("stray.pyc"), "{}\n{}", run.stdout, run.stderr);
    env.git(&["rm", "-q", "--cached", "stray.pyc"]);

    common::setups::assert_checkout_rebuilds(&env, &env.repo);
}

#[test]
fn pre_commit_installs_the_wheel_offline_with_no_build() {
    framework_installs_the_wheel("pre-commit");
}

#[test]
fn prek_installs_the_wheel_offline_with_no_build() {
    framework_installs_the_wheel("prek");
}
