//! The verdict cache of `check` (`.git/pycache-guard/verdicts`): a warm check
//! reads nothing unchanged, every change is judged again (including a
//! same-size rewrite that restores the modification time), and a cache that
//! is corrupt, truncated, of another format, of another interpreter, a link
//! or a FIFO is discarded, never trusted. `-v` says what was reused.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::python::{self, Python};
use common::{Run, TestEnv};

/// Longer than `verdict::SETTLED_NANOS`: files older than that get their stamp recorded.
const SETTLE: Duration = Duration::from_millis(2_700);

fn check(env: &TestEnv) -> Run {
    env.run(&["check", "--select", "syntax-error", "--format", "json", "-v"])
}

/// `(reused unread, reused by content, parsed)` from the `-v` line.
fn cost(run: &Run) -> (usize, usize, usize) {
    let line = run
        .stderr
        .lines()
        .find(|line| line.starts_with("verdicts: "))
        .unwrap_or_else(|| panic!("no verdicts line:\n{}", run.stderr));
    let numbers: Vec<usize> = line.split(' ').filter_map(|word| word.parse().ok()).collect();
    (numbers[0], numbers[1], numbers[2])
}

/// The `(path, line, message)` of every finding.
fn findings(run: &Run) -> Vec<(String, u64, String)> {
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stdout));
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["path"].as_str().unwrap().to_string(),
                finding["line"].as_u64().unwrap_or(0),
                finding["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn verdict_file(env: &TestEnv) -> PathBuf {
    env.repo.join(".git/pycache-guard/verdicts")
}

/// Three good files and one bad, committed, old enough to be stamped, and
/// checked once: the next check is warm.
fn warm_repository(python: &Python) -> (TestEnv, Run) {
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    env.write("a.py", "A = 1\n");
    env.write("pkg/__init__.py", "");
    env.write("pkg/b.py", "def b():\n    return 2\n");
    env.write("pkg/bad.py", "def f(:\n    pass\n");
    env.commit_all("sources");
    std::thread::sleep(SETTLE);
    let cold = check(&env).expect_code(1);
    assert_eq!(cost(&cold), (0, 0, 4), "{}", cold.stderr);
    assert!(verdict_file(&env).is_file());
    (env, cold)
}

#[test]
fn a_warm_check_reads_nothing_unchanged_and_reports_the_same() {
    let (env, cold) = warm_repository(python::default());
    let warm = check(&env).expect_code(1);
    assert_eq!(cost(&warm), (4, 0, 0), "{}", warm.stderr);
    assert_eq!(findings(&warm), findings(&cold));
    assert_eq!(findings(&warm).len(), 1);
    // Nothing learned, nothing written.
    assert!(!warm.stderr.contains("verdict cache written"), "{}", warm.stderr);
}

#[test]
fn an_edited_file_is_judged_again_and_a_file_changed_back_is_known_by_its_bytes() {
    let (env, _) = warm_repository(python::default());
    env.write("a.py", "A = (\n");
    let edited = check(&env).expect_code(1);
    assert_eq!(cost(&edited), (3, 0, 1), "{}", edited.stderr);
    assert!(findings(&edited).iter().any(|(path, _, _)| path == "a.py"), "{}", edited.stdout);
    env.write("a.py", "A = 1\n");
    let back = check(&env).expect_code(1);
    assert_eq!(cost(&back), (3, 1, 0), "{}", back.stderr);
    assert!(!findings(&back).iter().any(|(path, _, _)| path == "a.py"), "{}", back.stdout);
}

#[test]
fn a_same_size_rewrite_that_restores_the_modification_time_is_judged_again() {
    let (env, _) = warm_repository(python::default());
    let path = env.repo.join("a.py");
    let before = std::fs::metadata(&path).unwrap();
    let modified = before.modified().unwrap();
    // Same size, same inode, and the modification time put back to the nanosecond.
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::io::Write::write_all(&mut &file, b"A = (\n").unwrap();
    file.set_times(std::fs::FileTimes::new().set_modified(modified)).unwrap();
    drop(file);
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!((after.len(), after.modified().unwrap()), (before.len(), modified));
    let run = check(&env).expect_code(1);
    assert_eq!(cost(&run).2, 1, "{}", run.stderr);
    assert!(findings(&run).iter().any(|(path, _, _)| path == "a.py"), "the rewrite was not judged: {}", run.stdout);
}

#[test]
fn a_file_rewritten_right_after_a_check_is_never_vouched_for_by_its_stamp() {
    // Written and checked in the same moment: too young to be stamped, so
    // the rewrite that follows (same size, same modification time) is read.
    let mut env = TestEnv::new();
    env.use_python(&python::default().path);
    env.write("a.py", "A = 1\n");
    env.commit_all("a");
    let path = env.repo.join("a.py");
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    assert_eq!(cost(&check(&env).expect_code(0)), (0, 0, 1));
    // Unchanged, but still too young: read and known by its bytes, not by its stamp.
    assert_eq!(cost(&check(&env).expect_code(0)), (0, 1, 0));
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::io::Write::write_all(&mut &file, b"A = (\n").unwrap();
    file.set_times(std::fs::FileTimes::new().set_modified(modified)).unwrap();
    drop(file);
    let run = check(&env).expect_code(1);
    assert_eq!(cost(&run), (0, 0, 1), "{}", run.stderr);
}

fn assert_discarded(env: &TestEnv, why: &str) {
    let (run, killed) = env.run_or_kill(&["check", "--select", "syntax-error", "--format", "json", "-v"]);
    assert!(!killed, "check hung on the verdict file");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("verdict cache discarded"), "{why}: {}", run.stderr);
    assert_eq!(cost(&run), (0, 0, 4), "{why}: {}", run.stderr);
    assert_eq!(findings(&run).len(), 1, "{why}: {}", run.stdout);
}

#[test]
fn a_corrupt_truncated_or_foreign_verdict_file_is_discarded() {
    let (env, _) = warm_repository(python::default());
    let path = verdict_file(&env);
    let good = std::fs::read(&path).unwrap();
    // One bit inside the first verdict's digest, after the 72-byte header.
    let cases = common::damaged_state_files(&good, 72 + 5);
    for (why, bytes) in cases {
        std::fs::write(&path, bytes).unwrap();
        assert_discarded(&env, why);
        // The run rebuilt it, and the next one trusts it again.
        assert_eq!(cost(&check(&env)), (4, 0, 0), "{why}");
    }
}

#[test]
fn a_verdict_file_that_is_a_link_or_a_fifo_is_not_followed() {
    let (env, _) = warm_repository(python::default());
    let path = verdict_file(&env);
    let elsewhere = env.root().join("verdicts-elsewhere");
    std::fs::rename(&path, &elsewhere).unwrap();
    let genuine = std::fs::read(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    assert_discarded(&env, "a link");
    assert_eq!(std::fs::read(&elsewhere).unwrap(), genuine, "written through the link");
    std::fs::remove_file(&path).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success());
    assert_discarded(&env, "a FIFO");
}

/// A link at a fixed path, pointed at one interpreter and then another:
/// the same name, another version.
#[test]
fn a_changed_interpreter_behind_the_same_name_invalidates_every_verdict() {
    let older = python::all().iter().find(|python| python.version >= (3, 6) && python.version < (3, 10));
    let newer = python::all().iter().rev().find(|python| python.version >= (3, 10));
    let (Some(older), Some(newer)) = (older, newer) else {
        eprintln!("skipped: needs a CPython before 3.10 and one from 3.10 on");
        return;
    };
    let mut env = TestEnv::new();
    let link = env.root().join("bin/python");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&newer.path, &link).unwrap();
    env.use_python(&link);
    // `match` is a statement from 3.10 on, a syntax error before.
    env.write("m.py", "match x:\n    case 1:\n        pass\n");
    env.commit_all("match");
    std::thread::sleep(SETTLE);
    check(&env).expect_code(0);
    assert_eq!(cost(&check(&env).expect_code(0)), (1, 0, 0));
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&older.path, &link).unwrap();
    let run = check(&env).expect_code(1);
    assert!(run.stderr.contains("verdict cache discarded"), "{}", run.stderr);
    assert_eq!(cost(&run), (0, 0, 1), "{}", run.stderr);
    assert_eq!(findings(&run).len(), 1, "{}", run.stdout);
}
