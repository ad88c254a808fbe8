//! `check` remembers the caches it found current
//! (`.git/pycache-guard/fresh-caches`): a second check opens no unchanged
//! cache, yet any change to a cache or its source is judged again (a cache
//! rewritten to its own size and modification time included), a
//! cache too young to be vouched for by its stamp is always read, and a
//! memory that is corrupt, of another build, a link or a FIFO is discarded,
//! never trusted or followed.

#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, and sets up repositories with std directly"
)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::python;
use common::{Run, TestEnv};

/// Longer than `verdict::SETTLED_NANOS`: files older than that may be remembered.
const SETTLE: Duration = Duration::from_millis(2_700);

fn check(env: &TestEnv) -> Run {
    let (run, killed) = env.run_or_kill(&["check", "--no-syntax", "--format", "json", "-v"]);
    assert!(!killed, "check hung");
    run
}

/// `(known unread, read)` from the `-v` line.
fn memory(run: &Run) -> (usize, usize) {
    let line = run
        .stderr
        .lines()
        .find(|line| line.starts_with("current caches: "))
        .unwrap_or_else(|| panic!("no current-caches line:\n{}", run.stderr));
    let numbers: Vec<usize> = line.split(' ').filter_map(|word| word.parse().ok()).collect();
    (numbers[0], numbers[1])
}

/// The `(path, severity)` of every `stale-bytecode` finding.
fn stale(run: &Run) -> Vec<(String, String)> {
    let report: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stdout));
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["id"] == "stale-bytecode")
        .map(|finding| {
            (finding["path"].as_str().unwrap().to_string(), finding["severity"].as_str().unwrap().to_string())
        })
        .collect();
    found.sort();
    found
}

/// The one cache of `source` (repository-relative, without `.py`).
fn cache_of(env: &TestEnv, source: &str) -> PathBuf {
    let path = env.repo.join(source);
    let (dir, stem) = (path.parent().unwrap().join("__pycache__"), path.file_name().unwrap().to_owned());
    let prefix = format!("{}.", stem.to_str().unwrap());
    let mut caches: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|cache| cache.file_name().unwrap().to_str().unwrap().starts_with(&prefix))
        .collect();
    assert_eq!(caches.len(), 1, "{caches:?}");
    caches.pop().unwrap()
}

fn relative(env: &TestEnv, path: &Path) -> String {
    path.strip_prefix(&env.repo).unwrap().to_str().unwrap().to_string()
}

/// Rewrites `path` in place with `bytes` (of the same size) and puts its
/// modification time back to the nanosecond: only the change time moves.
fn rewrite_keeping_mtime(path: &Path, bytes: &[u8]) {
    let before = std::fs::metadata(path).unwrap();
    assert_eq!(before.len(), bytes.len() as u64, "{}", path.display());
    let modified = before.modified().unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    std::io::Write::write_all(&mut &file, bytes).unwrap();
    file.set_times(std::fs::FileTimes::new().set_modified(modified)).unwrap();
    drop(file);
    let after = std::fs::metadata(path).unwrap();
    assert_eq!((after.len(), after.modified().unwrap()), (before.len(), modified));
}

/// Three committed sources with settled timestamp caches, one of which went
/// stale (its source grew), checked once: the next check is warm.
fn warm_repository() -> TestEnv {
    let mut env = TestEnv::new();
    env.use_python(&python::default().path);
    env.write("a.py", "A = 1\n");
    env.write("pkg/__init__.py", "INIT = 1\n");
    env.write("pkg/b.py", "B = 1\n");
    env.commit_all("sources");
    std::thread::sleep(SETTLE);
    env.run(&["rebuild", "--all", "-q"]).expect_code(0);
    env.write("pkg/b.py", "B = 22\n");
    std::thread::sleep(SETTLE);
    let cold = check(&env);
    assert_eq!(memory(&cold), (0, 3), "{}", cold.stderr);
    let stale_b = (relative(&env, &cache_of(&env, "pkg/b")), "warning".to_string());
    assert_eq!(stale(&cold), vec![stale_b], "{}", cold.stdout);
    env
}

#[test]
fn a_warm_check_opens_no_unchanged_cache_and_reports_the_same() {
    let env = warm_repository();
    let cold = stale(&check(&env));
    let warm = check(&env);
    // The stale cache is a finding, judged every time; the two current ones are known.
    assert_eq!(memory(&warm), (2, 1), "{}", warm.stderr);
    assert_eq!(stale(&warm), cold, "{}", warm.stdout);
}

#[test]
fn a_cache_changed_after_a_check_is_judged_again_even_with_its_size_and_time_kept() {
    let env = warm_repository();
    // `a.py`'s cache, its header untouched, now written before the source's
    // last change: it still validates, so it lies.
    let source_mtime = std::fs::metadata(env.repo.join("a.py")).unwrap().modified().unwrap();
    let a_cache = std::fs::File::options().write(true).open(cache_of(&env, "a")).unwrap();
    a_cache.set_times(std::fs::FileTimes::new().set_modified(source_mtime - Duration::from_millis(1))).unwrap();
    drop(a_cache);
    // A cache whose header no longer validates, its modification time kept.
    let init_cache = cache_of(&env, "pkg/__init__");
    let mut bytes = std::fs::read(&init_cache).unwrap();
    bytes[12] ^= 0xff;
    rewrite_keeping_mtime(&init_cache, &bytes);
    let run = check(&env);
    assert_eq!(memory(&run), (0, 3), "{}", run.stderr);
    let mut expected = vec![
        (relative(&env, &cache_of(&env, "a")), "error".to_string()),
        (relative(&env, &init_cache), "warning".to_string()),
        (relative(&env, &cache_of(&env, "pkg/b")), "warning".to_string()),
    ];
    expected.sort();
    assert_eq!(stale(&run), expected, "{}", run.stdout);
    assert_eq!(run.code, 1, "a lying cache fails the check: {}", run.stderr);
}

#[test]
fn a_cache_too_young_for_its_stamp_is_read_every_time() {
    let mut env = TestEnv::new();
    env.use_python(&python::default().path);
    env.write("a.py", "A = 1\n");
    env.commit_all("a");
    std::thread::sleep(SETTLE);
    // Compiled just now: a rewrite within the clock's granularity could keep its stamp.
    env.run(&["rebuild", "--all", "-q"]).expect_code(0);
    assert_eq!(memory(&check(&env)), (0, 1));
    let again = check(&env);
    assert_eq!(memory(&again), (0, 1), "a young cache was vouched for by its stamp: {}", again.stderr);
    std::thread::sleep(SETTLE);
    assert_eq!(memory(&check(&env)), (0, 1));
    assert_eq!(memory(&check(&env)), (1, 0), "a settled cache is remembered");
}

fn assert_discarded(env: &TestEnv, why: &str) {
    let run = check(env);
    assert!(run.stderr.contains("the memory was not trusted"), "{why}: {}", run.stderr);
    assert_eq!(memory(&run), (0, 3), "{why}: {}", run.stderr);
    assert_eq!(stale(&run).len(), 1, "{why}: {}", run.stdout);
}

#[test]
fn a_corrupt_foreign_linked_or_fifo_memory_is_discarded_never_trusted_or_followed() {
    let env = warm_repository();
    let path = env.repo.join(".git/pycache-guard/fresh-caches");
    let good = std::fs::read(&path).unwrap();
    // One bit inside the first key, after the 48-byte header.
    let cases = common::damaged_state_files(&good, 48 + 3);
    for (why, bytes) in cases {
        std::fs::write(&path, bytes).unwrap();
        assert_discarded(&env, why);
        // The run rebuilt it, and the next one trusts it again.
        assert_eq!(memory(&check(&env)), (2, 1), "{why}");
    }
    let elsewhere = env.root().join("fresh-elsewhere");
    std::fs::rename(&path, &elsewhere).unwrap();
    let genuine = std::fs::read(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    assert_discarded(&env, "a link");
    assert_eq!(std::fs::read(&elsewhere).unwrap(), genuine, "written through the link");
    std::fs::remove_file(&path).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&path).status().unwrap().success());
    assert_discarded(&env, "a FIFO");
}
