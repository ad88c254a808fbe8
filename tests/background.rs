//! The background rebuild (issue 14): a hook removes what would lie before
//! git returns and compiles in a detached rebuild; `pycache-guard wait`
//! blocks until that is done. These tests run git without waiting
//! (`git_nowait_in`), as a user's shell does, and judge every cache by
//! importlib's own rules: a cache that validates for source bytes it was
//! not compiled from is a lie, whenever it is seen.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{TestEnv, python};

/// Modules per branch: enough that the background rebuild is still at work
/// when the test looks (an interpreter start, then a compile per module).
const MODULES: usize = 120;

/// Judges every `__pycache__` cache under the root by importlib's rules
/// (`_validate_timestamp_pyc`, `_validate_hash_pyc`, unchecked hashes
/// loaded as they are): `lie` when one validates for its source but its
/// code is not the interpreter's own compile of those bytes; `missing` for
/// a source without a cache. With `poll`, looks again until every source
/// has a true cache or 60 s pass, and prints the counts over all rounds.
const JUDGE: &str = r#"
import importlib.util, marshal, os, sys, time
root, poll = sys.argv[1], sys.argv[2] == "poll"
def judge():
    lies, missing, seen = [], 0, 0
    del missed[:]
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            if not name.endswith(".py"):
                continue
            source = os.path.join(folder, name)
            cache = importlib.util.cache_from_source(source)
            try:
                with open(cache, "rb") as handle:
                    data = handle.read()
                with open(source, "rb") as handle:
                    code_bytes = handle.read()
                stat = os.stat(source)
            except FileNotFoundError:
                missing += 1
                missed.append(source)
                continue
            if data[:4] != importlib.util.MAGIC_NUMBER:
                continue
            flags = int.from_bytes(data[4:8], "little")
            if flags == 0:
                valid = (int.from_bytes(data[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
                         and int.from_bytes(data[12:16], "little") == stat.st_size & 0xFFFFFFFF)
            elif flags & 2:
                valid = data[8:16] == importlib.util.source_hash(code_bytes)
            else:
                valid = True
            if not valid:
                missing += 1
                missed.append(source + " (invalid)")
                continue
            seen += 1
            if marshal.loads(data[16:]) != compile(code_bytes, source, "exec", dont_inherit=True):
                lies.append(source)
    return lies, missing, seen
missed = []
rounds, all_lies = 0, set()
deadline = time.time() + 60
while True:
    lies, missing, seen = judge()
    rounds += 1
    all_lies.update(lies)
    if not poll or missing == 0 or time.time() > deadline:
        break
print("lies=%d missing=%d seen=%d rounds=%d %s %s" % (len(all_lies), missing, seen, rounds, sorted(all_lies)[:3], sorted(missed)[:3]))
"#;

/// The counts [`JUDGE`] printed.
#[derive(Debug)]
struct Verdict {
    lies: usize,
    missing: usize,
    text: String,
}

fn judge(env: &TestEnv, poll: bool) -> Verdict {
    let run =
        env.python(python::default(), &["-c", JUDGE, env.repo.to_str().unwrap(), if poll { "poll" } else { "once" }]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let field = |name: &str| -> usize {
        let start = run.stdout.find(&format!("{name}=")).unwrap() + name.len() + 1;
        run.stdout[start..].split(' ').next().unwrap().parse().unwrap()
    };
    Verdict { lies: field("lies"), missing: field("missing"), text: run.stdout.clone() }
}

/// A module of one branch: the same size on every branch, so that a
/// timestamp cache of one branch's module validates for another's whenever
/// git writes them in the same second.
fn module(branch: char, index: usize) -> String {
    let mut text = format!("V = '{branch}{index:04}'\n");
    for line in 0..40 {
        text.push_str(&format!("def f{line}(x):\n    return x * {line} + len(V)  # {branch}\n"));
    }
    text
}

/// Branches `a`, `b` and `c` of [`MODULES`] modules each, with the hooks
/// installed, the interpreter named and background compiling in effect
/// (`auto`, the default). `c` also deletes a package that `a` and `b` have.
fn world() -> TestEnv {
    let mut env = TestEnv::new();
    env.use_python(&python::default().path);
    env.extra_env.retain(|(key, _)| key != "PYTHONDONTWRITEBYTECODE");
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n");
    for branch in ['a', 'b', 'c'] {
        if branch != 'a' {
            env.git(&["checkout", "-q", "-b", &branch.to_string()]);
        }
        for index in 0..MODULES {
            env.write(format!("pkg/m{index}.py"), module(branch, index));
        }
        if branch == 'c' {
            std::fs::remove_dir_all(env.repo.join("gone")).unwrap();
        } else {
            env.write("gone/__init__.py", format!("G = '{branch}'\n"));
        }
        env.commit_all(&branch.to_string());
        if branch == 'a' {
            env.git(&["branch", "-m", "a"]);
        }
    }
    env.git(&["checkout", "-q", "a"]);
    env.install_hooks();
    env
}

fn log(env: &TestEnv) -> String {
    std::fs::read_to_string(env.repo.join(".git/pycache-guard/rebuild.log")).unwrap_or_default()
}

/// Compiles the work tree as unchecked-hash caches, which importlib loads
/// without looking at the source: after git rewrites the sources every one
/// of them lies, until a hook removes it.
fn unchecked_caches(env: &TestEnv) {
    let run = env.python(
        python::default(),
        &["-m", "compileall", "-q", "-f", "--invalidation-mode", "unchecked-hash", "pkg", "gone"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(judge(env, false).missing, 0);
}

/// Unchecked-hash caches (flags 1) written before their source: importlib
/// loads them for the new source, so each is a lie. Read in a few
/// milliseconds, so that the check comes before any background compile.
fn old_unchecked(root: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    for folder in [root.join("pkg"), root.join("gone")] {
        let Ok(entries) = std::fs::read_dir(folder.join("__pycache__")) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.split('.').next() else { continue };
            let data = std::fs::read(entry.path()).unwrap_or_default();
            let (Ok(cache), Ok(source)) = (entry.metadata(), std::fs::metadata(folder.join(format!("{stem}.py"))))
            else {
                continue;
            };
            let older = (cache.mtime(), cache.mtime_nsec()) < (source.mtime(), source.mtime_nsec());
            if data.len() >= 8 && data[4..8] == [1, 0, 0, 0] && older {
                found.push(name);
            }
        }
    }
    found
}

#[test]
fn the_hook_removes_what_would_lie_before_git_returns_and_compiles_later() {
    let env = world();
    unchecked_caches(&env);
    let run = env.git_nowait_in(&env.repo, &["checkout", "-q", "b"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Right after git returns, and while the background rebuild works: never a lie.
    // First, at once (before an interpreter could even start): no
    // unchecked-hash cache older than its rewritten source is left.
    assert_eq!(old_unchecked(&env.repo), Vec::<String>::new());
    let window = judge(&env, true);
    assert_eq!(window.lies, 0, "{}", window.text);
    env.run(&["wait", "--timeout", "60"]).expect_code(0);
    let after = judge(&env, false);
    assert_eq!((after.lies, after.missing), (0, 0), "{}", after.text);
    let log = log(&env);
    assert!(log.contains("to compile in the background"), "{log}");
    assert!(log.contains("background rebuild after "), "{log}");
    assert!(!env.repo.join(".git/pycache-guard/pending").exists());
}

#[test]
fn background_false_compiles_before_git_returns() {
    let env = world();
    env.git(&["config", "pycache-guard.background", "false"]);
    let run = env.git_nowait_in(&env.repo, &["checkout", "-q", "b"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let verdict = judge(&env, false);
    assert_eq!((verdict.lies, verdict.missing), (0, 0), "{}", verdict.text);
    assert!(!log(&env).contains("in the background"), "{}", log(&env));
}

#[test]
fn a_second_checkout_during_a_background_rebuild_ends_right_for_the_second() {
    let env = world();
    env.git(&["checkout", "-q", "b"]);
    unchecked_caches(&env);
    env.git_nowait_in(&env.repo, &["checkout", "-q", "a"]);
    // The first background rebuild is at work (its interpreter is starting).
    let run = env.git_nowait_in(&env.repo, &["checkout", "-q", "c"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(old_unchecked(&env.repo), Vec::<String>::new());
    let window = judge(&env, true);
    assert_eq!(window.lies, 0, "{}", window.text);
    env.run(&["wait"]).expect_code(0);
    let after = judge(&env, false);
    assert_eq!((after.lies, after.missing), (0, 0), "{}", after.text);
    assert!(
        !env.repo.join("gone").exists(),
        "the deleted package's caches stay: {:?}\n{}",
        walkdir(&env.repo.join("gone")),
        log(&env)
    );
    let log = log(&env);
    assert!(log.contains("after the background rebuild already running"), "{log}");
}

/// Takes the rebuild lock as this test: it stands for a rebuild still at
/// work (one that takes long), until the test unlocks it.
fn hold_rebuild_lock(env: &TestEnv) -> std::fs::File {
    let path = env.repo.join(".git/pycache-guard/rebuild.lock");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let lock = std::fs::File::options().create(true).truncate(false).write(true).open(&path).unwrap();
    lock.lock().unwrap();
    lock
}

#[test]
fn a_killed_background_rebuild_is_finished_by_wait_and_never_lies() {
    let env = world();
    unchecked_caches(&env);
    env.git_nowait_in(&env.repo, &["checkout", "-q", "b"]);
    // Every detached rebuild the checkout's hooks started (one works, the
    // others wait for its lock), killed with its interpreter workers while
    // the first is still at work.
    let mut killed = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while killed == 0 || !env.background_rebuilds().is_empty() {
        for pid in env.background_rebuilds() {
            let status = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status().unwrap();
            killed += usize::from(status.success());
            while Path::new(&format!("/proc/{pid}/cmdline")).exists()
                && std::fs::read(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.windows(3).any(|w| w == b") Z"))
            {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        assert!(Instant::now() < deadline, "no background rebuild to kill:\n{}", log(&env));
    }
    let window = judge(&env, false);
    assert_eq!(window.lies, 0, "{}", window.text);
    assert!(window.missing > 0, "the kill came too late to test anything: {}", window.text);
    assert!(env.repo.join(".git/pycache-guard/pending").exists(), "killed with work left, yet nothing pending");
    env.run(&["wait", "--timeout", "60"]).expect_code(0);
    let after = judge(&env, false);
    assert_eq!((after.lies, after.missing), (0, 0), "{}", after.text);
    // A fresh hook after that: the record says what was done, and still nothing lies.
    env.git(&["checkout", "-q", "c"]);
    let fresh = judge(&env, false);
    assert_eq!((fresh.lies, fresh.missing), (0, 0), "{}", fresh.text);
}

#[test]
fn wait_gives_up_after_its_timeout_while_a_rebuild_holds_the_lock() {
    let env = world();
    let lock = hold_rebuild_lock(&env);
    let run = env.run(&["wait", "--timeout", "1"]);
    lock.unlock().unwrap();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("still running after 1 s"), "{}", run.stderr);
    env.run(&["wait", "--timeout", "5"]).expect_code(0);
}

#[test]
fn wait_outside_a_repository_is_an_operational_failure() {
    let env = TestEnv::empty();
    let run = env.run(&["wait"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// Every path under `dir`, for a failure message.
fn walkdir(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        found.push(entry.path().display().to_string());
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            found.extend(walkdir(&entry.path()));
        }
    }
    found
}

/// After `wait`: of the log lines past the first `before`, exactly one hands
/// compiling on, `post-index-change`'s, and the caches are complete and true.
fn only_post_index_change_handed_on(env: &TestEnv, before: usize) {
    env.run(&["wait", "--timeout", "60"]).expect_code(0);
    let log = log(env);
    let added: Vec<&str> = log.lines().skip(before).collect();
    let deferred: Vec<&&str> = added.iter().filter(|line| line.contains("to compile in the background")).collect();
    assert_eq!(deferred.len(), 1, "one hook hands the checkout on:\n{}", added.join("\n"));
    assert!(deferred[0].contains("post-index-change:"), "{}", added.join("\n"));
    let after = judge(env, false);
    assert_eq!((after.lies, after.missing), (0, 0), "{}", after.text);
}

/// One checkout fires `post-index-change` and `post-checkout`. The first
/// does the work and moves the record on with the index it read; the second
/// finds that very index and hands nothing more to the background: one
/// rebuild per checkout, not two.
#[test]
fn the_later_hooks_of_one_checkout_find_its_work_done() {
    let env = world();
    env.run(&["rebuild", "--all", "-q"]).expect_code(0);
    let before = log(&env).lines().count();
    let run = env.git_nowait_in(&env.repo, &["checkout", "-q", "b"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    only_post_index_change_handed_on(&env, before);
}

/// The same while another rebuild holds the lock: `post-index-change` may
/// not move the record on, so it leaves a note that it reconciled this very
/// index, and `post-checkout` finds it instead of looking at every cache
/// again. A checkout made while the lock is held is still right for it.
#[test]
fn the_later_hook_of_a_checkout_made_while_a_rebuild_runs_finds_its_work_done() {
    let env = world();
    env.run(&["rebuild", "--all", "-q"]).expect_code(0);
    let lock = hold_rebuild_lock(&env);
    let before = log(&env).lines().count();
    let run = env.git_nowait_in(&env.repo, &["checkout", "-q", "b"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let during = judge(&env, false);
    lock.unlock().unwrap();
    assert_eq!(during.lies, 0, "{}", during.text);
    only_post_index_change_handed_on(&env, before);
    // A second checkout under the same held lock reads another index: its hooks do their own work.
    lock.lock().unwrap();
    let run = env.git_nowait_in(&env.repo, &["checkout", "-q", "c"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let during = judge(&env, false);
    lock.unlock().unwrap();
    assert_eq!(during.lies, 0, "{}", during.text);
    env.run(&["wait", "--timeout", "60"]).expect_code(0);
    let after = judge(&env, false);
    assert_eq!((after.lies, after.missing), (0, 0), "{}", after.text);
    assert!(
        !env.repo.join("gone").exists(),
        "the deleted package's caches stay: {:?}",
        walkdir(&env.repo.join("gone"))
    );
}

/// While a rebuild holds the lock, no hook may move the record on: a
/// checkout to a branch with a package, Python importing it, and a checkout
/// back to the branch the record names look, to the record, like nothing.
/// The first hook's note names the state it brought the caches to, so the
/// package's leftover caches are swept and it no longer imports.
#[test]
fn a_package_imported_between_two_checkouts_during_a_rebuild_is_swept() {
    let env = world();
    env.git(&["checkout", "-q", "c"]);
    env.run(&["rebuild", "--all", "-q"]).expect_code(0);
    let lock = hold_rebuild_lock(&env);
    let run = env.git_nowait_in(&env.repo, &["checkout", "-q", "a"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let imported = env.python(python::default(), &["-c", "import gone; print(gone.G)"]);
    assert_eq!(imported.stdout, "a\n", "{}", imported.stderr);
    assert!(env.repo.join("gone/__pycache__").exists(), "Python wrote no cache to leave behind");
    let run = env.git_nowait_in(&env.repo, &["checkout", "-q", "c"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    lock.unlock().unwrap();
    env.run(&["wait", "--timeout", "60"]).expect_code(0);
    let gone = env.python(python::default(), &["-c", "import gone; print(gone)"]);
    assert_ne!(gone.code, 0, "the deleted package still imports: {}", gone.stdout);
    assert!(!env.repo.join("gone").exists(), "left: {:?}", walkdir(&env.repo.join("gone")));
    let after = judge(&env, false);
    assert_eq!((after.lies, after.missing), (0, 0), "{}", after.text);
}

#[test]
fn a_journal_record_no_run_can_finish_does_not_keep_wait_failing() {
    let mut env = TestEnv::new();
    env.use_python(&python::default().path);
    env.write(".gitignore", "__pycache__/\n");
    env.write("pkg/m.py", "M = 1\n");
    env.commit_all("a package");
    env.run(&["rebuild", "--all"]).expect_code(0);
    let cache_dir = env.repo.join("pkg/__pycache__");
    std::fs::remove_dir_all(&cache_dir).unwrap();
    // What a killed rebuild leaves, with records we never write: `..`, an
    // absolute path, `.git`, an unknown tag. The one usable record is finished.
    let journal = env.repo.join(".git/pycache-guard/pending");
    let records: [&[u8]; 6] = [b"cpkg/m.py", b"c../escape.py", b"c/etc/x.py", b"c.git/hooks/x.py", b"s../x", b"xpkg"];
    std::fs::write(&journal, records.iter().flat_map(|record| [*record, b"\0"].concat()).collect::<Vec<u8>>()).unwrap();
    for _ in 0..2 {
        let run = env.run(&["wait", "--timeout", "60"]);
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    }
    assert!(!journal.exists(), "{:?}", std::fs::read(&journal));
    assert!(
        std::fs::read_dir(&cache_dir).is_ok_and(|mut entries| entries.next().is_some()),
        "pkg/m.py was not compiled"
    );
}
