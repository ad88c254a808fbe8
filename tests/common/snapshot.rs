//! Snapshots of whole runs, as prek and uv take them: the exit status and
//! both streams in one text, with everything that differs between machines
//! or runs replaced by a placeholder, so that a snapshot taken here holds on
//! a fresh machine, under load, and with other interpreters installed.
//!
//! Filtered: the test's temporary folder and the home inside it, the binary's
//! path, interpreter paths, CPython versions and cache tags, commit ids,
//! durations, and the crate's version. Everything else (wording, order, hints, exit codes)
//! is pinned. Write or update a snapshot with `INSTA_UPDATE=always cargo test
//! --test NAME`, then read the diff before committing it.

use std::path::Path;

use super::{Run, TestEnv};

/// `(regex, replacement)` pairs for output that depends on the machine or the
/// moment, most specific first (insta applies them in order).
pub fn filters(env: &TestEnv) -> Vec<(String, String)> {
    let mut filters = Vec::new();
    let mut literal = |path: &Path, placeholder: &str| {
        let text = path.display().to_string();
        if !text.is_empty() {
            filters.push((regex_escape(&text), placeholder.to_string()));
        }
    };
    literal(&super::binary().canonicalize().unwrap_or_else(|_| super::binary()), "[BIN]");
    literal(&super::binary(), "[BIN]");
    literal(&env.repo, "[REPO]");
    literal(&env.home, "[HOME]");
    literal(env.root(), "[TEMP]");
    for python in super::python::all() {
        literal(&python.path, "[PYTHON]");
    }
    let patterns = [
        // An interpreter anywhere else (a pyenv version, a system python).
        (r"(/[^\s`'/]+)+/python3?(\.\d+)?\b".to_string(), "[PYTHON]"),
        (r"Python [23]\.\d+\.\d+[^\s,)]*".to_string(), "Python [X.Y.Z]"),
        (r"\bcpython-3\d+\b".to_string(), "cpython-3XX"),
        // Commit ids: commits made by a test carry the time they were made.
        (r"\b[0-9a-f]{40}\b".to_string(), "[COMMIT]"),
        (r"\b[0-9a-f]{12}\b".to_string(), "[COMMIT]"),
        // Durations: `in 0.1s`, `12 ms`, `1.5 s`.
        (r"\b\d+(\.\d+)?\s?(ms|µs|s)\b".to_string(), "[TIME]"),
        (format!(r"\b{}\b", regex_escape(env!("CARGO_PKG_VERSION"))), "[VERSION]"),
    ];
    filters.extend(patterns.into_iter().map(|(pattern, replacement)| (pattern, replacement.to_string())));
    filters
}

/// `text` as a regex that matches it literally.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if r"\.+*?()|[]{}^$".contains(character) {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// A run as one text: the exit status, then stdout, then stderr.
pub fn render(run: &Run) -> String {
    format!(
        "success: {}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        run.code == 0,
        run.code,
        run.stdout,
        run.stderr
    )
}

/// Runs the binary with `args` in the work tree and snapshots the run under
/// `name`, with [`filters`] applied.
///
/// ```ignore
/// cmd_snapshot!(env, "check_clean", ["check", "--no-syntax"]);
/// ```
#[allow(unused_macros, reason = "only the snapshot tests use it")]
macro_rules! cmd_snapshot {
    ($env:expr, $name:expr, [$($arg:expr),* $(,)?]) => {{
        let env: &$crate::common::TestEnv = &$env;
        let run = env.run(&[$($arg),*]);
        $crate::common::snapshot::assert_run_snapshot!(env, $name, &run);
        run
    }};
}

/// Snapshots a finished [`Run`] (of git, or of the binary in another folder).
#[allow(unused_macros, reason = "only the snapshot tests use it")]
macro_rules! assert_run_snapshot {
    ($env:expr, $name:expr, $run:expr) => {{
        let rendered = $crate::common::snapshot::render($run);
        $crate::common::snapshot::assert_text_snapshot!($env, $name, rendered);
    }};
}

/// Snapshots any text (a generated file) with [`filters`] applied.
#[allow(unused_macros, reason = "only the snapshot tests use it")]
macro_rules! assert_text_snapshot {
    ($env:expr, $name:expr, $text:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
        settings.set_prepend_module_to_snapshot(true);
        settings.set_omit_expression(true);
        for (pattern, replacement) in $crate::common::snapshot::filters($env) {
            settings.add_filter(&pattern, replacement);
        }
        let name: String = ($name).to_string();
        let text: String = ($text).to_string();
        settings.bind(|| insta::assert_snapshot!(name.as_str(), text.as_str()));
    }};
}

#[allow(unused_imports, reason = "only the snapshot tests use them")]
pub(crate) use {assert_run_snapshot, assert_text_snapshot, cmd_snapshot};
