//! Property tests: the source ↔ cache mapping for every tag, level and
//! prefix (checked against importlib itself), and the `.gitignore` editor.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use pycache_guard::artifact::{self, CacheLocation, CachedFile};
use pycache_guard::gitignore::{self, RULES, SourcePaths, Sources};

fn stem() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}(\\.[a-zA-Z0-9_]{1,4}){0,2}"
}

fn tag() -> impl Strategy<Value = String> {
    prop_oneof!["cpython-3[0-9]{1,2}", "pypy3[0-9]{1,2}", "graalpy[0-9]{2}"]
}

fn location() -> impl Strategy<Value = CacheLocation> {
    prop_oneof![
        Just(CacheLocation::Pycache),
        "/[a-z]{1,5}(/[a-z]{1,5}){0,2}".prop_map(|prefix| CacheLocation::Prefix(PathBuf::from(prefix)))
    ]
}

proptest! {
    #[test]
    fn every_cache_path_maps_back_to_its_source(
        dirs in proptest::collection::vec("[a-z_][a-z0-9_.]{0,5}", 0..3),
        stem in stem(),
        tag in tag(),
        level in 0u8..=2,
        location in location(),
    ) {
        let dir = Path::new("/repo").join(dirs.join("/"));
        let source = dir.join(format!("{stem}.py"));
        let cache = artifact::cache_path(&source, &tag, level, &location).unwrap();
        let cache_dir = cache.parent().unwrap();
        let expected_dir = artifact::cache_dir(&dir, &location);
        prop_assert_eq!(cache_dir, expected_dir.as_path());
        let name = cache.file_name().unwrap().to_string_lossy().into_owned();
        match artifact::classify_cached(name.as_bytes(), |candidate| candidate == stem.as_bytes()) {
            CachedFile::Cache { stem: found, suffix } => {
                prop_assert_eq!(found, stem.as_bytes());
                prop_assert_eq!(suffix.tag, tag.as_bytes());
                prop_assert_eq!(suffix.optimization.unwrap_or(0), level);
            }
            other => prop_assert!(false, "{:?} for {}", other, name),
        }
        // Without the source, the same name is an orphan of the same stem.
        let orphan = matches!(
            artifact::classify_cached(name.as_bytes(), |_| false),
            CachedFile::Orphan { stem: found, .. } if found == stem.as_bytes()
        );
        prop_assert!(orphan, "not an orphan of {}: {}", stem, name);
        if let CacheLocation::Prefix(prefix) = &location {
            prop_assert_eq!(artifact::source_dir_of_prefix_dir(prefix, cache_dir), Some(dir.clone()));
        }
    }

    #[test]
    fn gitignore_edits_keep_every_byte_and_are_idempotent(
        lines in proptest::collection::vec(prop_oneof![
            Just(b"*.log".to_vec()), Just(b"!keep.pyc".to_vec()), Just(b"# comment".to_vec()), Just(Vec::new()),
            Just(b"build/".to_vec()), Just(b"!_*".to_vec()), Just(b"caf\xe9/".to_vec()), Just(b"  spaced  ".to_vec()),
            Just(b"\\#hash".to_vec()), Just(b"*.pyc".to_vec()), Just(b"/anchored".to_vec()), "[a-z!*/.]{1,8}".prop_map(String::into_bytes),
        ], 0..8),
        crlf in any::<bool>(),
        bom in any::<bool>(),
        final_newline in any::<bool>(),
        mask in 1u8..8,
    ) {
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut before = if bom { b"\xef\xbb\xbf".to_vec() } else { Vec::new() };
        before.extend(lines.join(eol));
        if final_newline && !lines.is_empty() {
            before.extend_from_slice(eol);
        }
        let rules: Vec<_> = RULES.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, rule)| *rule).collect();
        let edit = gitignore::plan_edit(Some(&before), &rules);
        let prefix = before.iter().zip(&edit.after).take_while(|(a, b)| a == b).count();
        let suffix = before[prefix..].iter().rev().zip(edit.after[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
        prop_assert_eq!(prefix + suffix, before.len(), "existing bytes changed");
        let workdir = PathBuf::from("/nonexistent-property-root");
        let paths = SourcePaths { workdir: workdir.clone(), info_exclude: workdir.join(".git/info/exclude"), excludes_file: None, per_directory: vec![] };
        let mut sources = Sources::load(&paths).unwrap();
        sources.set(&workdir.join(".gitignore"), &edit.after);
        for coverage in gitignore::coverage(&sources, &[]) {
            if rules.contains(&coverage.rule) {
                prop_assert!(!coverage.missing(), "{} still missing after the edit", coverage.rule.line);
            }
        }
    }
}

/// The mapping agrees with `importlib.util.cache_from_source` of a real
/// interpreter, for a spread of stems, tags, levels and prefixes.
#[test]
fn cache_paths_agree_with_importlib() {
    let python = common::require_python!();
    let mut cases = Vec::new();
    for (i, stem) in ["m", "foo.bar", "_private", "a.b.c", "test_x", "UPPER"].iter().enumerate() {
        for (j, tag) in ["cpython-38", "cpython-313", "pypy310"].iter().enumerate() {
            for level in 0u8..=2 {
                let prefix =
                    if (i + j + level as usize).is_multiple_of(2) { None } else { Some(format!("/tmp/prefix{i}")) };
                cases.push((format!("/repo/pkg{j}/{stem}.py"), tag.to_string(), level, prefix));
            }
        }
    }
    let input: String = cases
        .iter()
        .map(|(source, tag, level, prefix)| format!("{source}\t{tag}\t{level}\t{}\n", prefix.as_deref().unwrap_or("")))
        .collect();
    let script = r"
import importlib.util, sys
for line in sys.stdin.read().splitlines():
    source, tag, level, prefix = line.split('\t')
    sys.implementation.cache_tag = tag
    sys.pycache_prefix = prefix or None
    print(importlib.util.cache_from_source(source, optimization='' if level == '0' else level))
";
    let mut child = std::process::Command::new(&python.path)
        .args(["-I", "-S", "-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let expected: Vec<String> = String::from_utf8(output.stdout).unwrap().lines().map(String::from).collect();
    assert_eq!(expected.len(), cases.len());
    for ((source, tag, level, prefix), expected) in cases.iter().zip(expected) {
        let location = match prefix {
            Some(prefix) => CacheLocation::Prefix(PathBuf::from(prefix)),
            None => CacheLocation::Pycache,
        };
        let ours = artifact::cache_path(Path::new(source), tag, *level, &location).unwrap();
        assert_eq!(ours, PathBuf::from(&expected), "{source} {tag} {level} {prefix:?}");
    }
}
