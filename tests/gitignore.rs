//! `pycache-guard gitignore` against real git: coverage verdicts agree with
//! `git check-ignore`, edits keep every existing byte, and the user's own
//! exceptions keep winning.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::{Run, TestEnv};
use pycache_guard::gitignore::{SourcePaths, Sources, Verdict};

/// The five representative paths of the issue.
const PROBES: [&str; 5] = [
    "__pycache__/m.cpython-312.pyc",
    "pkg/sub/__pycache__/m.cpython-312.opt-1.pyc",
    "m.pyc",
    "pkg/m.pyo",
    "pkg/m$py.class",
];

/// `(source, line, pattern)` git reports for each path, `None` when nothing matches.
fn git_check_ignore(env: &TestEnv, paths: &[String]) -> Vec<Option<(String, String, String)>> {
    let mut command = env.command_in("git", &env.repo);
    command.args(["check-ignore", "--no-index", "-v", "-n", "-z", "--stdin"]);
    command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let input: Vec<u8> = paths.iter().flat_map(|p| p.bytes().chain([0])).collect();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &input).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let fields: Vec<String> = out.stdout.split(|&b| b == 0).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    fields
        .chunks(4)
        .filter(|chunk| chunk.len() == 4)
        .map(
            |chunk| {
                if chunk[0].is_empty() { None } else { Some((chunk[0].clone(), chunk[1].clone(), chunk[2].clone())) }
            },
        )
        .collect()
}

/// The same answers from our matcher, with sources shown the way git shows them.
fn our_verdicts(env: &TestEnv, paths: &[String], nested: &[&str]) -> Vec<Option<(String, String, String)>> {
    let mut per_directory: Vec<_> = nested.iter().map(|dir| env.repo.join(dir).join(".gitignore")).collect();
    per_directory.push(env.repo.join(".gitignore"));
    let excludes = env.home.join("global-ignore");
    let sources = Sources::load(&SourcePaths {
        workdir: env.repo.clone(),
        info_exclude: env.repo.join(".git/info/exclude"),
        excludes_file: Some(excludes.clone()),
        per_directory,
    })
    .unwrap();
    paths
        .iter()
        .map(|path| {
            let (bare, is_dir) = match path.strip_suffix('/') {
                Some(bare) => (bare, true),
                None => (path.as_str(), false),
            };
            let origin = match sources.verdict(bare.as_bytes(), is_dir) {
                Verdict::Ignored(origin) | Verdict::Unignored(origin) => origin,
                Verdict::Unmatched => return None,
            };
            let file = origin.file.strip_prefix(&env.repo).map(|p| p.to_path_buf()).unwrap_or(origin.file.clone());
            Some((file.display().to_string(), origin.line.to_string(), origin.pattern))
        })
        .collect()
}

fn zoo() -> TestEnv {
    let env = TestEnv::new();
    let global = env.home.join("global-ignore");
    std::fs::write(&global, "*.pyo\n!keep-global.pyo\n").unwrap();
    env.git(&["config", "--global", "core.excludesFile", global.to_str().unwrap()]);
    env.write(
        ".gitignore",
        "# comment.pyc\n\
         \\#hash.pyc\n\
         \\!bang.pyc\n\
         spaced.pyc   \n\
         tail\\ \n\
         /anchored.pyc\n\
         build/\n\
         cache/*.pyc\n\
         **/gen/*.pyc\n\
         docs/**/*.pyc\n\
         deep/**\n\
         ?.pyc\n\
         *.py[co]\n\
         !tests/fixtures/*.pyc\n\
         !keep.pyc\n\
         !/deep/keep/\n\
         lib/__pycache__/\n\
         !lib/__pycache__/wanted.pyc\n",
    );
    env.write("crlf/.gitignore", "*$py.class\r\n!keep$py.class\r\n__pycache__/\r\n");
    env.write("reinclude/.gitignore", "!*.pyc\n!__pycache__/\n");
    env.write("bom/.gitignore", "\u{feff}*.pyc\n!bom.pyc\n");
    env.write(".git/info/exclude", "*$py.class\n!local$py.class\n");
    // A symbolic-link .gitignore: git does not read it, so neither may we.
    env.write("linked/real-rules", "*.pyc\n");
    std::os::unix::fs::symlink("real-rules", env.repo.join("linked/.gitignore")).unwrap();
    env
}

fn zoo_paths() -> Vec<String> {
    let folders = [
        "",
        "pkg/",
        "pkg/sub/",
        "crlf/",
        "crlf/x/",
        "reinclude/",
        "bom/",
        "linked/",
        "tests/fixtures/",
        "build/",
        "cache/",
        "a/gen/",
        "docs/x/y/",
        "deep/",
        "deep/keep/",
        "lib/",
        "x/",
    ];
    let names = [
        "m.pyc",
        "m.pyo",
        "m$py.class",
        "keep.pyc",
        "keep$py.class",
        "local$py.class",
        "bom.pyc",
        "#hash.pyc",
        "!bang.pyc",
        "spaced.pyc",
        "tail ",
        "tail",
        "anchored.pyc",
        "a.pyc",
        "ab.pyc",
        "keep-global.pyo",
        "m.pyd",
        "app.pyz",
        "m.py",
        "__pycache__/",
        "__pycache__/m.cpython-312.pyc",
        "__pycache__/wanted.pyc",
        "__pycache__/m.cpython-312.opt-1.pyc",
        "build/",
        "gen/",
        "gen/x.pyc",
    ];
    let mut paths: Vec<String> =
        folders.iter().flat_map(|folder| names.iter().map(move |name| format!("{folder}{name}"))).collect();
    paths.extend(PROBES.iter().map(|p| p.to_string()));
    paths
}

#[test]
fn zoo_verdicts_agree_with_git_check_ignore() {
    let env = zoo();
    let paths = zoo_paths();
    // git knows a folder only by looking at the disk (a trailing slash on
    // check-ignore's input is not the same thing), so the folders are made real.
    for path in paths.iter().filter(|path| path.ends_with('/')) {
        std::fs::create_dir_all(env.repo.join(path)).unwrap();
    }
    let for_git: Vec<String> = paths.iter().map(|path| path.trim_end_matches('/').to_string()).collect();
    let git = git_check_ignore(&env, &for_git);
    let ours = our_verdicts(&env, &paths, &["crlf", "reinclude", "bom", "linked"]);
    assert_eq!(git.len(), paths.len());
    let mut disagreements = Vec::new();
    for ((path, git), ours) in paths.iter().zip(&git).zip(&ours) {
        if git != ours {
            disagreements.push(format!("{path:?}: git {git:?}, ours {ours:?}"));
        }
    }
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
    // The zoo really exercises both outcomes.
    assert!(git.iter().filter(|v| v.is_some()).count() > 100);
    assert!(git.iter().flatten().filter(|(_, _, pattern)| pattern.starts_with('!')).count() > 10);
}

#[test]
fn missing_rules_are_added_and_a_second_run_changes_nothing() {
    let env = TestEnv::new();
    let run = env.run(&["gitignore"]).expect_code(1);
    assert!(run.stderr.contains("added 3 rules to `.gitignore`"), "{}", run.stderr);
    let first = env.read(".gitignore");
    assert_eq!(
        String::from_utf8_lossy(&first),
        "# Python bytecode (added by pycache-guard)\n__pycache__/\n*.py[cod]\n*$py.class\n"
    );
    let probes: Vec<String> = PROBES.iter().map(|p| p.to_string()).collect();
    assert!(git_check_ignore(&env, &probes).iter().all(|v| v.as_ref().is_some_and(|(_, _, p)| !p.starts_with('!'))));
    let modified = std::fs::metadata(env.repo.join(".gitignore")).unwrap().modified().unwrap();
    let run = env.run(&["gitignore"]).expect_code(0);
    assert!(run.stderr.contains("every bytecode rule is in effect"), "{}", run.stderr);
    assert_eq!(env.read(".gitignore"), first);
    assert_eq!(std::fs::metadata(env.repo.join(".gitignore")).unwrap().modified().unwrap(), modified);
    env.run(&["gitignore", "--check"]).expect_code(0);
}

#[test]
fn only_the_rules_really_missing_are_added() {
    let env = TestEnv::new();
    env.write(".gitignore", "__pycache__/\n*.pyc\n");
    env.run(&["gitignore"]).expect_code(1);
    let text = String::from_utf8(env.read(".gitignore")).unwrap();
    assert!(text.starts_with("__pycache__/\n*.pyc\n\n# Python bytecode"), "{text}");
    assert!(!text["__pycache__/\n".len()..].contains("__pycache__/"), "{text}");
    assert!(text.contains("*.py[cod]\n") && text.contains("*$py.class\n"), "{text}");
}

#[test]
fn rules_in_any_source_git_reads_count() {
    // In the global excludes file.
    let env = TestEnv::new();
    let global = env.home.join("ignore");
    std::fs::write(&global, "__pycache__/\n*.py[cod]\n*$py.class\n").unwrap();
    env.git(&["config", "--global", "core.excludesFile", global.to_str().unwrap()]);
    env.run(&["gitignore"]).expect_code(0);
    assert!(!env.repo.join(".gitignore").exists());

    // In info/exclude.
    let env = TestEnv::new();
    env.write(".git/info/exclude", "__pycache__/\n*.py[cod]\n*$py.class\n");
    env.run(&["gitignore", "--check"]).expect_code(0);

    // In the default global location, ~/.config/git/ignore.
    let env = TestEnv::new();
    std::fs::create_dir_all(env.home.join(".config/git")).unwrap();
    std::fs::write(env.home.join(".config/git/ignore"), "__pycache__/\n*.py[cod]\n*$py.class\n").unwrap();
    env.run(&["gitignore", "--check"]).expect_code(0);

    // A nested .gitignore covers only its folder: the root still needs the rules.
    let env = TestEnv::new();
    env.write("pkg/.gitignore", "__pycache__/\n*.py[cod]\n*$py.class\n");
    let run = env.run(&["gitignore", "--check"]).expect_code(1);
    assert!(
        run.stderr.contains("missing ignore rule `__pycache__/` (`__pycache__/` is not ignored)"),
        "{}",
        run.stderr
    );
}

#[test]
fn encodings_line_endings_and_a_missing_final_newline_are_preserved() {
    let cases: [(&[u8], &[u8]); 4] = [
        (b"\xef\xbb\xbf*.log\r\nbuild/\r\n", b"\r\n"),
        (b"*.log\nno-final-newline", b"\n"),
        (b"caf\xe9-latin1/\n*.tmp\n", b"\n"),
        (b"\xef\xbb\xbf# only a comment", b"\n"),
    ];
    for (before, eol) in cases {
        let env = TestEnv::new();
        env.write(".gitignore", before);
        env.run(&["gitignore"]).expect_code(1);
        let after = env.read(".gitignore");
        // Byte for byte: the old file, the line end it lacked, one blank line, the block.
        let mut expected = before.to_vec();
        if !before.ends_with(b"\n") {
            expected.extend_from_slice(eol);
        }
        for line in ["", "# Python bytecode (added by pycache-guard)", "__pycache__/", "*.py[cod]", "*$py.class"] {
            expected.extend(line.bytes().chain(eol.iter().copied()));
        }
        assert_eq!(
            after,
            expected,
            "{:?} became {:?}",
            String::from_utf8_lossy(before),
            String::from_utf8_lossy(&after)
        );
        let probes: Vec<String> = PROBES.iter().map(|p| p.to_string()).collect();
        assert!(git_check_ignore(&env, &probes).iter().all(Option::is_some), "{:?}", String::from_utf8_lossy(&after));
    }
}

#[test]
fn the_users_negations_still_win_after_the_edit() {
    let env = TestEnv::new();
    env.write(".gitignore", "*.log\n!tests/fixtures/*.pyc\n!tests/fixtures/*$py.class\n*.tmp\n");
    env.write("vendor/.gitignore", "!*.pyo\n");
    for path in
        ["tests/fixtures/a.pyc", "tests/fixtures/b$py.class", "vendor/lib.pyo", "vendor/x.pyc", "src/m.pyc", "m.pyo"]
    {
        env.write(path, "bytecode");
    }
    env.git(&["add", "-f", "tests/fixtures/a.pyc"]);
    let paths: Vec<String> = [
        "tests/fixtures/a.pyc",
        "tests/fixtures/b$py.class",
        "tests/fixtures/new.pyc",
        "vendor/lib.pyo",
        "vendor/x.pyc",
        "src/m.pyc",
        "m.pyo",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    let before = git_check_ignore(&env, &paths);
    let negated: Vec<&String> = paths
        .iter()
        .zip(&before)
        .filter(|(_, verdict)| verdict.as_ref().is_some_and(|(_, _, pattern)| pattern.starts_with('!')))
        .map(|(path, _)| path)
        .collect();
    assert_eq!(negated.len(), 4, "{before:?}");
    env.run(&["gitignore"]).expect_code(1);
    let after = git_check_ignore(&env, &paths);
    for (path, verdict) in paths.iter().zip(&after) {
        let ignored = verdict.as_ref().is_some_and(|(_, _, pattern)| !pattern.starts_with('!'));
        if negated.contains(&path) {
            assert!(!ignored, "{path} was un-ignored on purpose and is now ignored: {verdict:?}");
        } else {
            assert!(ignored, "{path} should be ignored now: {verdict:?}");
        }
    }
    let text = String::from_utf8(env.read(".gitignore")).unwrap();
    assert!(text.starts_with("*.log\n# Python bytecode (added by pycache-guard)\n"), "{text}");
}

#[test]
fn a_negation_the_rules_cannot_respect_is_reported_not_written() {
    let env = TestEnv::new();
    env.write(".gitignore", "!pkg/__pycache__/keep.cpython-312.pyc\n");
    env.write("pkg/__pycache__/keep.cpython-312.pyc", "kept on purpose");
    let before = env.read(".gitignore");
    let run = env.run(&["gitignore"]).expect_code(1);
    assert!(run.stderr.contains("un-ignored on purpose; nothing was written"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("pkg/__pycache__/keep.cpython-312.pyc: un-ignored by `!pkg/__pycache__/keep.cpython-312.pyc`"),
        "{}",
        run.stderr
    );
    assert_eq!(env.read(".gitignore"), before);
}

#[test]
fn a_symlinked_gitignore_is_refused_and_left_a_link() {
    let env = TestEnv::new();
    let outside = env.root().join("shared-ignore");
    std::fs::write(&outside, "*.log\n").unwrap();
    std::os::unix::fs::symlink(&outside, env.repo.join(".gitignore")).unwrap();
    let run = env.run(&["gitignore"]).expect_code(2);
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    assert!(run.stderr.contains("--file .git/info/exclude"), "{}", run.stderr);
    assert!(std::fs::symlink_metadata(env.repo.join(".gitignore")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(&outside).unwrap(), b"*.log\n");
}

#[test]
fn check_and_dry_run_write_nothing_and_the_diff_applies() {
    let env = TestEnv::new();
    env.write(".gitignore", "*.log\n!keep.pyc\n");
    let before = env.read(".gitignore");
    let run = env.run(&["gitignore", "--check"]).expect_code(1);
    assert!(run.stderr.contains("missing ignore rule `*.py[cod]` (`m.pyc` is not ignored)"), "{}", run.stderr);
    assert_eq!(env.read(".gitignore"), before);

    // A preview of a change exits 1, as `ruff format --diff` does.
    let run = env.run(&["gitignore", "--dry-run"]).expect_code(1);
    assert_eq!(env.read(".gitignore"), before);
    assert!(run.stdout.starts_with("--- a/.gitignore\n+++ b/.gitignore\n@@ "), "{}", run.stdout);
    // The previewed diff is exactly what a real run writes.
    let patch = env.root().join("preview.patch");
    std::fs::write(&patch, &run.stdout).unwrap();
    env.git(&["apply", patch.to_str().unwrap()]);
    let previewed = env.read(".gitignore");
    std::fs::write(env.repo.join(".gitignore"), &before).unwrap();
    env.run(&["gitignore"]).expect_code(1);
    assert_eq!(env.read(".gitignore"), previewed);
    // Nothing left to preview: success.
    let run = env.run(&["gitignore", "--dry-run"]).expect_code(0);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn file_option_targets_info_exclude_and_refuses_other_files() {
    let env = TestEnv::new();
    env.run(&["gitignore", "--file", ".git/info/exclude"]).expect_code(1);
    assert!(String::from_utf8(env.read(".git/info/exclude")).unwrap().contains("*.py[cod]\n"));
    assert!(!env.repo.join(".gitignore").exists());
    env.run(&["gitignore"]).expect_code(0);

    let env = TestEnv::new();
    let run = env.run(&["gitignore", "--file", "../elsewhere"]).expect_code(2);
    assert!(run.stderr.contains("is outside the repository"), "{}", run.stderr);
    let run = env.run(&["gitignore", "--file", "notes.txt"]).expect_code(2);
    assert!(run.stderr.contains("git does not read"), "{}", run.stderr);
    assert!(!env.repo.join("notes.txt").exists());
    // A nested .gitignore is a valid target.
    env.run(&["gitignore", "--file", "pkg/.gitignore"]).expect_code(1);
    assert!(env.repo.join("pkg/.gitignore").exists());
}

#[test]
fn file_mode_is_kept_and_no_temporary_file_is_left() {
    let env = TestEnv::new();
    env.write(".gitignore", "*.log\n");
    std::fs::set_permissions(env.repo.join(".gitignore"), std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    env.run(&["gitignore"]).expect_code(1);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(env.repo.join(".gitignore")).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o640);
    let leftovers: Vec<_> = std::fs::read_dir(&env.repo)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().as_bytes().starts_with(b".pycache-guard"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn tracked_bytecode_now_ignored_is_listed_with_the_fix() {
    let env = TestEnv::new();
    env.write("pkg/__pycache__/m.cpython-312.pyc", "x");
    env.write("tests/fixtures/ok.pyc", "fixture");
    env.write("pyproject.toml", "[tool.pycache-guard]\nallow = [\"tests/fixtures/*.pyc\"]\n");
    env.commit_all("tracked bytecode");
    let run = env.run(&["gitignore"]).expect_code(1);
    assert!(run.stderr.contains("1 tracked bytecode file is ignored now"), "{}", run.stderr);
    assert!(run.stderr.contains("git rm -r --cached -- pkg/__pycache__/m.cpython-312.pyc"), "{}", run.stderr);
    // The same list as git's own `ls-files -ci --exclude-standard`, minus the allow-list.
    let git = env.git(&["ls-files", "-ci", "--exclude-standard"]).stdout;
    assert_eq!(git, "pkg/__pycache__/m.cpython-312.pyc\ntests/fixtures/ok.pyc\n");
}

#[test]
fn unreadable_gitignore_and_bare_repository_change_nothing() {
    let env = TestEnv::new();
    env.write(".gitignore", "*.log\n");
    let run = env.run_while_locked(".gitignore", 0o000, 0o644, &["gitignore"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot read") && run.stderr.contains(".gitignore"), "{}", run.stderr);
    assert_eq!(env.read(".gitignore"), b"*.log\n");

    let bare = TestEnv::empty();
    bare.git(&["init", "-q", "--bare", "."]);
    let run = bare.run(&["gitignore"]).expect_code(2);
    assert!(run.stderr.contains("bare repository"), "{}", run.stderr);
}

#[test]
fn probes_used_for_coverage_are_the_documented_ones() {
    let probes: Vec<&str> =
        pycache_guard::gitignore::RULES.iter().flat_map(|rule| rule.probes.iter().map(|(p, _)| *p)).collect();
    for probe in PROBES {
        assert!(probes.contains(&probe), "{probe} is not probed");
    }
    let _ = Path::new("");
    let _: Option<Run> = None;
}
