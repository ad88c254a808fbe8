//! The fast index reader against git itself: every format git writes must
//! give exactly the entries `git ls-files --stage` lists.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use common::TestEnv;
use pycache_guard::index::ObjectFormat;
use pycache_guard::index::{Index, IndexLocation};

fn location(path: &std::path::Path, format: ObjectFormat) -> IndexLocation {
    IndexLocation { path: path.to_path_buf(), format, shared_dirs: vec![path.parent().unwrap().to_path_buf()] }
}

/// `(mode, id, stage, path)` as `git ls-files -s -z --sparse` prints them.
fn git_entries(env: &TestEnv) -> Vec<(u32, String, u32, Vec<u8>)> {
    let run = env.command_in("git", &env.repo).args(["ls-files", "-s", "-z", "--sparse"]).output().unwrap();
    assert!(run.status.success());
    run.stdout
        .split(|&b| b == 0)
        .filter(|record| !record.is_empty())
        .map(|record| {
            let tab = record.iter().position(|&b| b == b'\t').unwrap();
            let meta = String::from_utf8(record[..tab].to_vec()).unwrap();
            let mut parts = meta.split(' ');
            let mode = u32::from_str_radix(parts.next().unwrap(), 8).unwrap();
            let id = parts.next().unwrap().to_string();
            let stage = parts.next().unwrap().parse().unwrap();
            (mode, id, stage, record[tab + 1..].to_vec())
        })
        .collect()
}

fn our_entries(env: &TestEnv, format: ObjectFormat) -> Vec<(u32, String, u32, Vec<u8>)> {
    let index = Index::load(&location(&env.repo.join(".git/index"), format)).unwrap();
    index
        .entries()
        .map(|e| {
            let id: String = e.id.iter().map(|b| format!("{b:02x}")).collect();
            (e.mode, id, e.stage, e.path.to_vec())
        })
        .collect()
}

fn blob(env: &TestEnv, content: &str) -> String {
    let mut command = env.command_in("git", &env.repo);
    command
        .args(["hash-object", "-w", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), content.as_bytes()).unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
}

/// A repository whose index holds the awkward cases: a path longer than the
/// 12-bit length field, conflict stages, an intent-to-add entry (extended
/// flags), an executable, a symlink and names with odd bytes.
fn awkward_repo(object_format: &str) -> TestEnv {
    let env = TestEnv::empty();
    env.git(&["init", "-q", &format!("--object-format={object_format}"), "."]);
    for i in 0..40 {
        env.write(format!("pkg{}/mod{i}.py", i % 7), format!("x = {i}\n"));
    }
    env.write("pkg0/__pycache__/mod0.cpython-312.pyc", "pyc");
    env.write_bytes_name(b"odd \xff\n name.py", b"odd");
    env.git(&["add", "-A"]);
    env.git(&["commit", "-q", "-m", "base"]);
    let id = blob(&env, "long\n");
    let long_path = format!(
        "{}/long.py",
        "d".repeat(250)
            .repeat(20)
            .chars()
            .collect::<Vec<_>>()
            .chunks(250)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("/")
    );
    assert!(long_path.len() > 0xfff);
    env.git(&["update-index", "--add", "--cacheinfo", &format!("100755,{id},{long_path}")]);
    env.git(&["update-index", "--add", "--cacheinfo", &format!("120000,{id},link.py")]);
    let conflict = format!("100644 {id} 1\tconflict.py\n100644 {id} 2\tconflict.py\n100644 {id} 3\tconflict.py\n");
    let mut command = env.command_in("git", &env.repo);
    command.args(["update-index", "--index-info"]).stdin(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), conflict.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    env.write("intent.py", "later\n");
    env.git(&["add", "-N", "intent.py"]);
    env
}

#[test]
fn every_index_version_matches_git_ls_files() {
    let env = awkward_repo("sha1");
    for version in ["3", "4", "2"] {
        if version == "2" {
            // Version 2 cannot hold the intent-to-add flag.
            env.git(&["rm", "-q", "--cached", "intent.py"]);
        }
        env.git(&["update-index", "--index-version", version]);
        let expected = git_entries(&env);
        assert!(expected.len() > 40);
        assert_eq!(our_entries(&env, ObjectFormat::Sha1), expected, "index version {version}");
    }
}

#[test]
fn split_index_matches_git_ls_files() {
    let env = awkward_repo("sha1");
    env.git(&["update-index", "--split-index"]);
    env.write("after-split.py", "x\n");
    env.git(&["add", "after-split.py"]);
    env.git(&["rm", "-q", "--cached", "pkg1/mod1.py"]);
    env.write("pkg2/mod2.py", "replaced\n");
    env.git(&["add", "pkg2/mod2.py"]);
    // The shared index still holds the old pkg2/mod2.py; only the split index knows the new one.
    let index = std::fs::read(env.repo.join(".git/index")).unwrap();
    assert!(index.windows(4).any(|w| w == b"link"), "git did not write a split index");
    assert!(
        std::fs::read_dir(env.repo.join(".git"))
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("sharedindex."))
    );
    assert_eq!(our_entries(&env, ObjectFormat::Sha1), git_entries(&env));
}

#[test]
fn sha256_repository_index_matches_git_ls_files() {
    let env = awkward_repo("sha256");
    let ours = our_entries(&env, ObjectFormat::Sha256);
    assert_eq!(ours[0].1.len(), 64);
    assert_eq!(ours, git_entries(&env));
}

#[test]
fn sparse_index_lists_directory_entries_like_git() {
    let env = awkward_repo("sha1");
    env.git(&["rm", "-q", "--cached", "conflict.py"]);
    env.git(&["commit", "-q", "-m", "more"]);
    env.git(&["sparse-checkout", "init", "--cone", "--sparse-index"]);
    env.git(&["sparse-checkout", "set", "pkg0"]);
    let ours = our_entries(&env, ObjectFormat::Sha1);
    assert!(ours.iter().any(|(mode, ..)| *mode == 0o040000), "no sparse directory entry: {ours:?}");
    assert_eq!(ours, git_entries(&env));
}

#[test]
fn missing_index_is_empty_and_corrupt_index_is_an_error() {
    let env = TestEnv::new();
    assert!(Index::load(&location(&env.repo.join(".git/index"), ObjectFormat::Sha1)).unwrap().is_empty());
    std::fs::write(env.repo.join(".git/index"), b"DIRC\0\0\0\x02\0\0\0\x05garbage").unwrap();
    let error = Index::load(&location(&env.repo.join(".git/index"), ObjectFormat::Sha1)).unwrap_err();
    assert!(error.to_string().contains(".git/index"), "{error}");
}
