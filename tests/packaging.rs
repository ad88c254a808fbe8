//! What the published crate holds: `cargo package` must carry everything the
//! binary compiles in with `include_str!` (the hook shims and the worker
//! script), and the maturin sdist is built from the same list.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_package_holds_the_shims_the_worker_and_the_wheel_configuration() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(env!("CARGO"))
        .args(["package", "--list", "--allow-dirty", "--offline"])
        .current_dir(root)
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let listed = String::from_utf8(output.stdout).unwrap();
    let listed: Vec<&str> = listed.lines().collect();
    let mut wanted = vec!["src/python/worker.py".to_string(), "pyproject.toml".into(), ".pre-commit-hooks.yaml".into()];
    for shim in std::fs::read_dir(root.join("hooks")).unwrap().flatten() {
        wanted.push(format!("hooks/{}", shim.file_name().to_string_lossy()));
    }
    for file in &wanted {
        assert!(listed.contains(&file.as_str()), "`cargo package` leaves out {file}: {listed:?}");
    }
    let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
    assert!(pyproject.contains("bindings = \"bin\""), "{pyproject}");
    assert!(pyproject.contains("build-backend = \"maturin\""), "{pyproject}");
}
