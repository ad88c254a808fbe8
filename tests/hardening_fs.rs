//! The file-system side of the hardening issue (issue 12, findings 2–8, 12):
//! links anywhere in a path, tracked bytecode, submodules and nested
//! repositories, files that are not bytecode, a prefix tree that holds a
//! work tree, special files at cache paths and a journal that cannot be
//! written. Each test builds the attack and asserts that nothing it must not
//! touch changed.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::python;
use common::{Run, TestEnv};

/// A tag no interpreter writes, so its cache is never rebuilt: only removed when it lies.
const FOREIGN_TAG: &str = "cpython-99";

fn env_with_python() -> TestEnv {
    let mut env = TestEnv::new();
    env.use_python(&python::default().path);
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n");
    env
}

/// Every file below `root` (links as their target text, not followed) with its content.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        out.insert(dir.clone(), b"<dir>".to_vec());
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() {
                out.insert(path.clone(), std::fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes());
            } else if kind.is_file() {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            } else {
                out.insert(path, b"<special>".to_vec());
            }
        }
    }
    out
}

/// A cache under [`FOREIGN_TAG`] whose timestamp header matches `source` as it is now:
/// importlib would load it, so a rebuild of a changed `source` removes it.
fn lying_cache(cache_dir: &Path, source: &Path) -> PathBuf {
    let meta = std::fs::metadata(source).unwrap();
    let stem = source.file_stem().unwrap().to_str().unwrap();
    let mut header = 3999u16.to_le_bytes().to_vec();
    header.extend_from_slice(b"\r\n");
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&(meta.mtime() as u32).to_le_bytes());
    header.extend_from_slice(&(meta.size() as u32).to_le_bytes());
    std::fs::create_dir_all(cache_dir).unwrap();
    let path = cache_dir.join(format!("{stem}.{FOREIGN_TAG}.pyc"));
    std::fs::write(&path, header).unwrap();
    path
}

fn head(env: &TestEnv) -> String {
    env.git(&["rev-parse", "HEAD"]).stdout.trim().to_string()
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// Runs the binary, killing it (and failing) when it blocks.
fn run_bounded(env: &TestEnv, args: &[&str]) -> Run {
    let mut command = env.command_in(common::binary(), &env.repo);
    command.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`pycache-guard {}` blocked", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Run::from(child.wait_with_output().unwrap())
}

// ---------------------------------------------------------------- finding 2

#[test]
fn a_committed_link_that_replaces_a_folder_never_leads_a_sweep_outside() {
    let env = env_with_python();
    let victim = env.root().join("victim");
    std::fs::create_dir_all(victim.join("__pycache__")).unwrap();
    std::fs::write(victim.join("__pycache__/gone.cpython-311.pyc"), "precious cache").unwrap();
    std::fs::write(victim.join("legacy.pyc"), "precious legacy").unwrap();
    env.write("pkg/gone.py", "X = 1\n");
    env.commit_all("a folder");
    let before = head(&env);
    env.git(&["rm", "-q", "-r", "pkg"]);
    std::os::unix::fs::symlink("../victim", env.repo.join("pkg")).unwrap();
    env.commit_all("the folder becomes a link out of the work tree");
    let after = head(&env);
    let untouched = snapshot(&victim);
    env.run(&["rebuild", "--since", &before, "--until", &after]);
    assert_eq!(snapshot(&victim), untouched, "the sweep deleted through the committed link");
}

#[test]
fn a_symlinked_pycache_never_loses_a_stale_cache_outside() {
    let env = env_with_python();
    let outside = env.root().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let source = env.write("pkg/m.py", "M = 1\n");
    std::os::unix::fs::symlink(&outside, env.repo.join("pkg/__pycache__")).unwrap();
    lying_cache(&outside, &source);
    env.commit_all("a link as `__pycache__`");
    let untouched = snapshot(&outside);
    env.run(&["rebuild", "--all"]);
    assert_eq!(snapshot(&outside), untouched, "a stale cache was deleted through the link");
}

// ---------------------------------------------------------------- finding 3

#[test]
fn clean_paths_never_follow_a_link_in_a_parent_folder() {
    let env = TestEnv::new();
    let elsewhere = env.root().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("sub/__pycache__")).unwrap();
    std::fs::write(elsewhere.join("sub/__pycache__/a.cpython-311.pyc"), "x").unwrap();
    std::fs::write(elsewhere.join("sub/old.pyc"), "x").unwrap();
    std::os::unix::fs::symlink(&elsewhere, env.repo.join("link")).unwrap();
    let untouched = snapshot(&elsewhere);
    let run = env.run(&["clean", "link/sub"]).expect_code(2);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(snapshot(&elsewhere), untouched);

    // A link to a folder inside the work tree must not bypass the tracked-file rule either.
    env.write("real/x/__pycache__/m.cpython-311.pyc", "tracked cache");
    env.write("real/x/old.pyc", "tracked legacy");
    env.write("real/x/m.py", "");
    std::os::unix::fs::symlink("real", env.repo.join("inner")).unwrap();
    env.git(&["add", "-f", "real"]);
    env.git(&["commit", "-q", "--no-verify", "-m", "tracked bytecode"]);
    let tracked = snapshot(&env.repo.join("real"));
    env.run(&["clean", "inner/x"]).expect_code(2);
    assert_eq!(snapshot(&env.repo.join("real")), tracked, "tracked files deleted through `inner -> real`");
}

// ---------------------------------------------------------------- finding 4

#[test]
fn rebuilds_never_delete_or_overwrite_tracked_bytecode() {
    let python = common::require_python!();
    let env = env_with_python();
    env.write("ok.py", "X = 1\n");
    env.write("bad.py", "Y = 2\n");
    // Unchecked-hash caches load whatever the source says: a broken `bad.py` leaves one that would lie.
    let script = "import py_compile as p; [p.compile(f, invalidation_mode=p.PycInvalidationMode.UNCHECKED_HASH) for f in ('ok.py', 'bad.py')]";
    env.python(python, &["-c", script]).expect_code(0);
    env.write("ok.py", "X = 'changed'\n");
    env.write("bad.py", "def broken(:\n");
    env.git(&["add", "-A"]);
    env.git(&["add", "-f", "__pycache__"]);
    env.git(&["commit", "-q", "--no-verify", "-m", "allow-listed bytecode"]);
    let tracked = snapshot(&env.repo.join("__pycache__"));
    assert_eq!(tracked.len(), 3, "{tracked:?}");
    env.run(&["rebuild", "--all"]);
    env.run(&["rebuild", "--all", "--optimize", "0"]);
    assert_eq!(snapshot(&env.repo.join("__pycache__")), tracked, "tracked bytecode was deleted or overwritten");
}

// ---------------------------------------------------------------- finding 5

#[test]
fn sweeps_never_enter_a_nested_repository_where_a_tracked_folder_was() {
    let env = env_with_python();
    env.write("pkg/data.py", "D = 1\n");
    env.commit_all("a tracked folder");
    let before = head(&env);
    env.git(&["rm", "-q", "-r", "pkg"]);
    env.commit_all("the folder goes");
    let after = head(&env);
    // A repository of its own now lives there (a submodule checkout, a clone).
    let nested = env.repo.join("pkg");
    std::fs::create_dir_all(nested.join("__pycache__")).unwrap();
    env.git_in(&nested, &["init", "-q", "."]);
    std::fs::write(nested.join("data.pyc"), "nested tracked").unwrap();
    std::fs::write(nested.join("__pycache__/data.cpython-311.pyc"), "nested cache").unwrap();
    env.git_in(&nested, &["add", "-f", "."]);
    env.git_in(&nested, &["commit", "-q", "--no-verify", "-m", "nested"]);
    let untouched = snapshot(&nested);
    env.run(&["rebuild", "--since", &before, "--until", &after]);
    assert_eq!(snapshot(&nested), untouched, "the sweep entered the nested repository");
}

// ---------------------------------------------------------------- finding 6

#[test]
fn check_fix_removes_only_bytecode_like_clean_orphans() {
    let env = TestEnv::new();
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n");
    env.write("app.py", "");
    env.commit_all("base");
    env.write("lonely/__pycache__/important.txt", "keep me");
    env.write("lonely/__pycache__/settings.json", "{}");
    env.write("lonely/__pycache__/gone.cpython-311.pyc", "orphan");
    env.run(&["check", "--fix", "--no-syntax"]);
    assert_eq!(env.read("lonely/__pycache__/important.txt"), b"keep me");
    assert_eq!(env.read("lonely/__pycache__/settings.json"), b"{}");
    assert!(!env.repo.join("lonely/__pycache__/gone.cpython-311.pyc").exists(), "the orphan stays");
}

// ---------------------------------------------------------------- finding 7

#[test]
fn a_prefix_that_mirrors_the_work_tree_onto_itself_is_refused() {
    let mut env = TestEnv::new();
    env.write(".git/hooks/x.pyc", "git's");
    env.write(".venv/pyvenv.cfg", "home = /usr/bin\n");
    env.write(".venv/lib/__pycache__/m.cpython-311.pyc", "venv's");
    env.write("node_modules/n.pyc", "node's");
    let untouched = snapshot(&env.repo);
    env.extra_env.push(("PYTHONPYCACHEPREFIX".into(), "/".into()));
    let run = env.run(&["clean", "--prefix"]).expect_code(2);
    assert!(run.stderr.contains("PYTHONPYCACHEPREFIX"), "{}", run.stderr);
    assert_eq!(snapshot(&env.repo), untouched);
}

#[test]
fn a_repository_inside_the_prefix_tree_is_never_walked_as_a_mirror() {
    let mut env = TestEnv::new();
    let prefix = env.root().join("pfx");
    let mirror = prefix.join(env.repo.strip_prefix("/").unwrap());
    let inner = mirror.join("inner");
    std::fs::create_dir_all(&inner).unwrap();
    env.git_in(&inner, &["init", "-q", "."]);
    std::fs::write(inner.join(".git/hooks/x.pyc"), "inner git's").unwrap();
    std::fs::write(inner.join("y.cpython-311.pyc"), "inner's").unwrap();
    std::fs::create_dir_all(mirror.join("sub")).unwrap();
    std::fs::write(mirror.join("sub/z.cpython-311.pyc"), "a real orphan in the mirror").unwrap();
    let untouched = snapshot(&inner);
    env.extra_env.push(("PYTHONPYCACHEPREFIX".into(), prefix.display().to_string()));
    env.run(&["clean", "--prefix"]).expect_code(0);
    assert_eq!(snapshot(&inner), untouched, "the nested repository was cleaned as a mirror");
    assert!(inner.join(".git/refs/tags").is_dir());
    assert!(!mirror.join("sub/z.cpython-311.pyc").exists(), "the mirror itself is still cleaned");
}

#[test]
fn naming_git_or_a_venv_explicitly_is_refused() {
    let env = TestEnv::new();
    env.write(".git/objects/x.pyc", "git's");
    env.write(".venv/pyvenv.cfg", "home = /usr/bin\n");
    env.write(".venv/lib/m.pyc", "venv's");
    let untouched = snapshot(&env.repo);
    let run = env.run(&["clean", ".git"]).expect_code(2);
    assert!(run.stderr.contains(".git"), "{}", run.stderr);
    let run = env.run(&["clean", ".git/objects"]).expect_code(2);
    assert!(run.stderr.contains(".git"), "{}", run.stderr);
    let run = env.run(&["clean", ".venv/lib"]).expect_code(2);
    assert!(run.stderr.contains("--include-venvs"), "{}", run.stderr);
    assert_eq!(snapshot(&env.repo), untouched);
    env.run(&["clean", "--include-venvs", ".venv"]).expect_code(0);
    assert!(!env.repo.join(".venv/lib/m.pyc").exists());
}

// ---------------------------------------------------------------- finding 8

#[test]
fn a_fifo_or_a_link_at_a_cache_path_never_blocks_a_rebuild() {
    let python = common::require_python!();
    let env = env_with_python();
    env.write("a.py", "A = 1\n");
    env.write("b.py", "B = 1\n");
    let fifo = env.root().join("fifo");
    mkfifo(&fifo);
    std::fs::create_dir_all(env.repo.join("__pycache__")).unwrap();
    // A committed link to something that blocks when opened (a FIFO here; `/dev/tty` for a user).
    std::os::unix::fs::symlink(&fifo, env.repo.join(format!("__pycache__/b.{}.pyc", python.tag))).unwrap();
    env.git(&["add", "-A"]);
    env.git(&["add", "-f", "__pycache__"]);
    env.git(&["commit", "-q", "--no-verify", "-m", "a link at a cache path"]);
    mkfifo(&env.repo.join(format!("__pycache__/a.{}.pyc", python.tag)));
    run_bounded(&env, &["rebuild", "--all"]);
    run_bounded(&env, &["check", "--no-syntax"]);
    let kind = std::fs::symlink_metadata(env.repo.join(format!("__pycache__/a.{}.pyc", python.tag))).unwrap();
    assert!(kind.file_type().is_fifo(), "the FIFO was replaced");
}

// ---------------------------------------------------------------- finding 12

#[test]
fn a_journal_that_cannot_be_written_does_not_stop_removals() {
    let env = env_with_python();
    let source = env.write("m.py", "X = 1\n");
    env.commit_all("one");
    let before = head(&env);
    std::fs::write(&source, "X = 2\n").unwrap();
    env.commit_all("two");
    let after = head(&env);
    let lying = lying_cache(&env.repo.join("__pycache__"), &source);
    // A full disk, simulated: the journal's path is a folder, so it cannot be written.
    std::fs::create_dir_all(env.repo.join(".git/pycache-guard/pending/blocked")).unwrap();
    let run = env.run(&["rebuild", "--since", &before, "--until", &after]);
    assert!(!lying.exists(), "the lying cache stayed\n{}", run.stderr);
}

// ---------------------------------------------------------------- finding 14

/// Writes a commit whose tree nests `depth` folders `d/` around `m.py`, as
/// loose objects (git itself refuses to build or check out such a tree).
fn deep_commit(env: &TestEnv, depth: usize) -> String {
    let script = r#"
import hashlib, os, sys, zlib
objects, depth = sys.argv[1], int(sys.argv[2])
def put(kind, body):
    data = b"%s %d\0" % (kind, len(body)) + body
    oid = hashlib.sha1(data).hexdigest()
    folder = os.path.join(objects, oid[:2])
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, oid[2:])
    if not os.path.exists(path):
        open(path, "wb").write(zlib.compress(data, 1))
    return oid
oid = put(b"tree", b"100644 m.py\0" + bytes.fromhex(put(b"blob", b"X = 1\n")))
for _ in range(depth):
    oid = put(b"tree", b"40000 d\0" + bytes.fromhex(oid))
print(oid)
"#;
    let objects = env.repo.join(".git/objects");
    let run = env.python(python::default(), &["-c", script, objects.to_str().unwrap(), &depth.to_string()]);
    let tree = run.expect_code(0).stdout.trim().to_string();
    env.git(&["commit-tree", &tree, "-p", "HEAD", "-m", "deep"]).stdout.trim().to_string()
}

#[test]
fn a_tree_twenty_thousand_levels_deep_does_not_overflow_the_stack() {
    let env = env_with_python();
    env.write("app.py", "");
    env.commit_all("base");
    let before = head(&env);
    let deep = deep_commit(&env, 20_000);
    let run = env.run(&["rebuild", "--since", &before, "--until", &deep]);
    assert!(run.code == 0 || run.code == 1, "code {}\n{}", run.code, run.stderr);
}

// ------------------------------------------------- the record (issue 14)

#[test]
fn a_crafted_record_never_leads_a_sweep_or_a_rewrite_outside_the_work_tree() {
    let env = env_with_python();
    env.write("pkg/m.py", "M = 1\n");
    env.commit_all("a package");
    env.run(&["rebuild", "--all"]).expect_code(0);
    let cache = std::fs::read_dir(env.repo.join("pkg/__pycache__")).unwrap().next().unwrap().unwrap().path();
    // A copy of the package outside the work tree: a source gone from it
    // (so its cache is an orphan) and a cache of a source still there.
    let victim = env.root().join("victim");
    std::fs::create_dir_all(victim.join("pkg/__pycache__")).unwrap();
    std::fs::write(victim.join("pkg/m.py"), "M = 1\n").unwrap();
    let victim_cache = victim.join("pkg/__pycache__").join(cache.file_name().unwrap());
    std::fs::copy(&cache, &victim_cache).unwrap();
    std::fs::write(victim.join("pkg/__pycache__/gone.cpython-311.pyc"), "precious orphan").unwrap();
    std::fs::write(victim.join("pkg/gone.pyc"), "precious legacy").unwrap();
    // `o`: compiled outside any tree, now gone from the index, so its folder
    // is swept; `r`: a racy cache to rewrite. Each names the outside copy.
    let record = env.repo.join(".git/pycache-guard/record");
    let mut crafted = std::fs::read(&record).unwrap();
    assert!(crafted.starts_with(b"pycache-guard record 2\n"), "{}", String::from_utf8_lossy(&crafted));
    let absolute = victim.join("pkg/gone.py").display().to_string();
    let racy_cache = victim_cache.display().to_string();
    for field in ["o", "../victim/pkg/gone.py", "o", &absolute, "o", "pkg/../../victim/pkg/gone.py"] {
        crafted.extend_from_slice(field.as_bytes());
        crafted.push(0);
    }
    for field in ["r", "../victim/pkg/m.py", &racy_cache, "r", "pkg/m.py", &racy_cache] {
        crafted.extend_from_slice(field.as_bytes());
        crafted.push(0);
    }
    std::fs::write(&record, &crafted).unwrap();
    let untouched = snapshot(&victim);
    let head = head(&env);
    env.run(&["hook", "post-checkout", &head, &head, "1"]).expect_code(0);
    env.wait_in(&env.repo);
    std::fs::write(&record, &crafted).unwrap();
    env.run(&["rebuild"]);
    assert_eq!(snapshot(&victim), untouched, "a crafted record led a sweep or a rewrite outside the work tree");
    assert!(cache.is_file(), "the package's own cache went away");
}

#[test]
fn a_compile_never_writes_through_a_folder_a_later_checkout_made_a_link() {
    let env = env_with_python();
    let victim = env.root().join("victim");
    std::fs::create_dir_all(victim.join("__pycache__")).unwrap();
    env.write("top.py", "Y = 1\n");
    env.commit_all("top");
    env.git(&["switch", "-q", "-c", "linked"]);
    std::os::unix::fs::symlink(&victim, env.repo.join("pkg")).unwrap();
    env.commit_all("pkg is a link out of the work tree");
    env.git(&["switch", "-q", "-c", "real", "main"]);
    // A module that takes the interpreter a few seconds: its compile still
    // runs in the background when the next checkout swaps the folder.
    let big: String = (0..400_000).map(|n| format!("x{n} = {n}\n")).collect();
    env.write("pkg/big.py", big);
    env.commit_all("a big module");
    env.git(&["switch", "-q", "main"]);
    env.run(&["install"]).expect_code(0);
    env.git_nowait_in(&env.repo, &["-c", "pycache-guard.storeSize=0", "switch", "-q", "real"]);
    std::thread::sleep(Duration::from_millis(500));
    env.git_nowait_in(&env.repo, &["switch", "-q", "linked"]);
    env.wait_in(&env.repo);
    let written: Vec<_> = std::fs::read_dir(victim.join("__pycache__")).unwrap().flatten().map(|e| e.path()).collect();
    assert!(written.is_empty(), "a compile wrote through the link, outside the work tree: {written:?}");
    let staging = env.repo.join(".git/pycache-guard/staging");
    let left: Vec<_> =
        std::fs::read_dir(&staging).map(|dir| dir.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "staged files were left behind: {left:?}");
}

#[test]
fn a_sweep_never_removes_the_folder_of_a_submodule_that_is_not_checked_out() {
    let env = env_with_python();
    let other = env.root().join("other");
    std::fs::create_dir_all(&other).unwrap();
    env.git_in(&other, &["init", "-q"]);
    std::fs::write(other.join("s.py"), "S = 1\n").unwrap();
    env.git_in(&other, &["add", "."]);
    env.git_in(&other, &["commit", "-q", "-m", "s"]);
    env.write("top.py", "Y = 1\n");
    env.commit_all("top");
    env.git(&["switch", "-q", "-c", "package"]);
    env.write("pkg/m.py", "X = 1\n");
    env.commit_all("pkg is a package");
    env.git(&["switch", "-q", "-c", "submodule", "main"]);
    let url = other.display().to_string();
    env.git(&["-c", "protocol.file.allow=always", "submodule", "add", "-q", &url, "pkg"]);
    env.commit_all("pkg is a submodule");
    env.git(&["submodule", "deinit", "-q", "-f", "pkg"]);
    env.run(&["install"]).expect_code(0);
    env.git_status(&["switch", "-q", "package"]);
    assert!(env.repo.join("pkg/__pycache__").is_dir() || env.repo.join("pkg/m.py").is_file());
    env.git_status(&["switch", "-q", "submodule"]);
    let status = env.git(&["status", "--porcelain"]).stdout;
    assert_eq!(status, "", "the hooks changed what git shows");
    assert!(env.repo.join("pkg").is_dir(), "the submodule's folder was removed");
}

#[test]
fn a_sweep_never_removes_the_folder_the_user_is_in() {
    let env = env_with_python();
    env.write("top.py", "Y = 1\n");
    env.commit_all("top");
    env.git(&["switch", "-q", "-c", "package"]);
    env.write("pkg/m.py", "X = 1\n");
    env.commit_all("a package");
    env.run(&["install"]).expect_code(0);
    env.git_status(&["switch", "-q", "main"]);
    env.git_status(&["switch", "-q", "package"]);
    assert!(env.repo.join("pkg/__pycache__").is_dir(), "no cache to sweep: the test proves nothing");
    // From inside the package, to a branch without it: git keeps the folder
    // it started in, and so must the hooks, or the next git command fails.
    let pkg = env.repo.join("pkg");
    let switched = env.git_nowait_in(&pkg, &["switch", "-q", "main"]);
    assert_eq!(switched.code, 0, "{}", switched.stderr);
    env.wait_in(&env.repo);
    assert!(pkg.is_dir(), "the hooks removed the folder the user is in");
    assert!(!pkg.join("__pycache__").exists(), "the deleted package's caches stayed");
    assert_eq!(env.git_nowait_in(&pkg, &["status", "--porcelain"]).code, 0);
}

#[test]
fn a_rebuild_clears_what_killed_writers_left_in_the_staging_folder() {
    let env = env_with_python();
    env.write("m.py", "X = 1\n");
    env.commit_all("m");
    let staging = env.repo.join(".git/pycache-guard/staging");
    std::fs::create_dir_all(&staging).unwrap();
    let exited = std::process::Command::new("true").spawn().unwrap();
    let dead = exited.id();
    let mut exited = exited;
    exited.wait().unwrap();
    let left = staging.join(format!("m.cpython-311.pyc.{dead}000000"));
    let live = staging.join(format!("m.cpython-311.pyc.{}000001", std::process::id()));
    std::fs::write(&left, "what a kill -9 left").unwrap();
    std::fs::write(&live, "a writer still at work").unwrap();
    env.run(&["rebuild", "--all"]).expect_code(0);
    assert!(!left.exists(), "a dead writer's staged file stayed");
    assert!(live.exists(), "a live writer's staged file was removed");
}
