//! The documented set-ups: code blocks of the README, read by marker, and
//! what every set-up must do after a checkout.

use std::path::Path;

use super::TestEnv;

/// The code block of the README that follows the marker `<!-- managers_real: name -->`.
pub fn readme_block(name: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let marker = format!("<!-- managers_real: {name} -->");
    let after = &readme[readme.find(&marker).unwrap_or_else(|| panic!("README has no {marker}")) + marker.len()..];
    let body = &after[after.find("```").unwrap()..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

/// Checks out `one` and back to `main` in `dir`, and asserts that the
/// post-checkout hook compiled `pkg/new.py`, which only `main` has.
#[track_caller]
pub fn assert_checkout_rebuilds(env: &TestEnv, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir.join("pkg/__pycache__"));
    env.git_in(dir, &["checkout", "-q", "one"]);
    env.git_in(dir, &["checkout", "-q", "main"]);
    let caches: Vec<String> = std::fs::read_dir(dir.join("pkg/__pycache__"))
        .expect("the post-checkout hook wrote caches")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(caches.iter().any(|name| name.starts_with("new.") && name.ends_with(".pyc")), "{caches:?}");
}
