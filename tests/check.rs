//! `pycache-guard check`: one case of each finding, clean look-alikes that
//! must not be reported, the output formats, `--fix`, and agreement with
//! CPython's `compile()` on whole standard libraries.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::python::{self, Python};
use common::{Run, TestEnv};

fn env_with(python: &Python) -> TestEnv {
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    env
}

/// A repository with one case of each finding and look-alikes that are fine.
fn fixture(python: &Python) -> TestEnv {
    let env = env_with(python);
    let tag = &python.tag;
    // Missing only `*$py.class`.
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n");
    env.write("pyproject.toml", "[tool.pycache-guard]\nallow = [\"fixtures/*.pyc\"]\n");
    env.write("tracked/t.py", "T = 1\n");
    env.write(format!("tracked/__pycache__/t.{tag}.pyc"), "committed by mistake");
    env.write("fixtures/sample.pyc", "a fixture committed on purpose");
    env.write("app.pyz", "a zip application, not bytecode");
    env.write("pkg/__init__.py", "");
    env.write("pkg/foo.bar.py", "DOTTED = 1\n");
    env.write("pkg/test_x.py", "def test():\n    assert True\n");
    env.write("pkg/stale.py", "S = 1\n");
    env.write("pkg/broken.py", "def f(:\n    pass\n");
    env.git(&["add", "-A"]);
    env.git(&["add", "-f", "fixtures/sample.pyc", &format!("tracked/__pycache__/t.{tag}.pyc")]);
    env.git(&["commit", "-q", "-m", "fixture"]);
    env.run(&["rebuild", "pkg/foo.bar.py", "pkg/stale.py", "pkg/__init__.py", "--optimize", "0", "--optimize", "2"])
        .expect_code(0);
    // pytest's rewritten cache of a test module that exists.
    std::fs::copy(
        env.repo.join(format!("pkg/__pycache__/stale.{tag}.pyc")),
        env.repo.join(format!("pkg/__pycache__/test_x.{tag}-pytest-8.3.2.pyc")),
    )
    .unwrap();
    // Now make the findings on disk.
    env.write("pkg/stale.py", "S = 'changed, and longer'\n");
    env.write("shadow.pyc", "legacy bytecode of a deleted shadow.py");
    env.write(format!("pkg/__pycache__/gone.{tag}.pyc"), "cache of a deleted module");
    env.write(format!("deleted_pkg/__pycache__/x.{tag}.pyc"), "cache of a deleted package");
    env
}

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}", run.stdout))
}

/// `(id, path)` of every finding.
fn found(report: &serde_json::Value) -> BTreeSet<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), f["path"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn each_finding_is_reported_once_and_look_alikes_are_not() {
    let python = common::require_python!();
    let env = fixture(python);
    let tag = &python.tag;
    let run = env.run(&["check", "--format", "json"]).expect_code(1);
    let expected: BTreeSet<(String, String)> = [
        ("tracked-bytecode", format!("tracked/__pycache__/t.{tag}.pyc")),
        ("gitignore-missing", ".gitignore".to_string()),
        ("shadowing-bytecode", "shadow.pyc".to_string()),
        ("orphan-bytecode", format!("pkg/__pycache__/gone.{tag}.pyc")),
        ("orphan-bytecode", format!("deleted_pkg/__pycache__/x.{tag}.pyc")),
        ("orphan-bytecode", "deleted_pkg".to_string()),
        ("stale-bytecode", format!("pkg/__pycache__/stale.{tag}.pyc")),
        ("stale-bytecode", format!("pkg/__pycache__/stale.{tag}.opt-2.pyc")),
        ("syntax-error", "pkg/broken.py".to_string()),
        ("hooks-missing", String::new()),
    ]
    .into_iter()
    .map(|(id, path)| (id.to_string(), path))
    .collect();
    assert_eq!(found(&json(&run)), expected);
}

#[test]
fn json_report_is_pinned_by_a_snapshot() {
    let python = common::require_python!();
    let env = fixture(python);
    let run = env.run(&["check", "--format", "json"]).expect_code(1);
    insta::with_settings!({filters => vec![(r"cpython-3\d+", "[TAG]")]}, {
        insta::assert_snapshot!("check_json", run.stdout);
    });
}

#[test]
fn github_format_emits_workflow_commands() {
    let python = common::require_python!();
    let env = fixture(python);
    let run = env
        .run(&["check", "--format", "github", "--select", "syntax-error", "--select", "shadowing-bytecode"])
        .expect_code(1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    assert!(
        lines[0].starts_with("::error file=shadow.pyc,title=shadowing-bytecode::its source `shadow.py` is gone"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("::error file=pkg/broken.py,line=1,col="), "{}", lines[1]);
    assert!(lines[1].contains(",title=syntax-error::"), "{}", lines[1]);
}

#[test]
fn human_report_groups_findings_and_ends_with_a_summary() {
    let python = common::require_python!();
    let env = fixture(python);
    let run = env.run(&["check", "--stats"]).expect_code(1);
    let out = &run.stdout;
    assert!(out.contains("error[syntax-error]: 1 finding\n  pkg/broken.py:1:"), "{out}");
    assert!(out.contains("warning[orphan-bytecode]: 3 findings"), "{out}");
    assert!(out.contains("info[hooks-missing]: 1 finding"), "{out}");
    assert!(out.contains("bytecode footprint"), "{out}");
    assert!(out.contains(&python.tag), "stats by tag: {out}");
    assert!(out.trim_end().lines().last().unwrap().starts_with("check failed: 3 errors, 5 warnings, 2 notes"), "{out}");
}

#[test]
fn the_summary_counts_only_the_sources_whose_syntax_was_judged() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n*$py.class\n");
    for name in ["a.py", "b.py", "fifo.py", "gone.py"] {
        env.write(name, "A = 1\n");
    }
    env.commit_all("four sources");
    // One is a FIFO on disk now, and one is gone: two were judged.
    std::fs::remove_file(env.repo.join("fifo.py")).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(env.repo.join("fifo.py")).status().unwrap().success());
    std::fs::remove_file(env.repo.join("gone.py")).unwrap();
    let run = env.run(&["check", "--select", "syntax-error"]);
    assert!(run.stdout.contains("(2 files checked for syntax)"), "{}{}", run.stdout, run.stderr);
}

#[test]
fn clean_repository_passes_with_exit_zero() {
    let python = common::require_python!();
    let env = env_with(python);
    env.write(".gitignore", "__pycache__/\n*.py[cod]\n*$py.class\n");
    env.write("a.py", "A = 1\n");
    env.commit_all("clean");
    env.install_hooks();
    env.run(&["rebuild", "--all"]).expect_code(0);
    let run = env.run(&["check"]).expect_code(0);
    assert!(run.stdout.contains("check passed: 0 errors, 0 warnings, 0 notes"), "{}", run.stdout);
    // Warnings alone do not fail the check.
    env.write("__pycache__/orphan.cpython-312.pyc", "x");
    env.run(&["check"]).expect_code(0);
}

#[test]
fn fix_applies_the_safe_fixes_and_never_touches_tracked_files() {
    let python = common::require_python!();
    let env = fixture(python);
    let tag = &python.tag;
    let run = env.run(&["check", "--fix", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let left: BTreeSet<String> = found(&json(&run)).into_iter().map(|(id, _)| id).collect();
    assert_eq!(left, ["tracked-bytecode", "syntax-error", "hooks-missing"].into_iter().map(String::from).collect());
    assert!(run.stderr.contains(&format!("git rm -r --cached -- tracked/__pycache__/t.{tag}.pyc")), "{}", run.stderr);
    assert!(env.repo.join(format!("tracked/__pycache__/t.{tag}.pyc")).exists());
    assert!(env.repo.join("fixtures/sample.pyc").exists());
    assert!(!env.repo.join("shadow.pyc").exists());
    assert!(!env.repo.join("deleted_pkg").exists());
    assert!(String::from_utf8(env.read(".gitignore")).unwrap().contains("*$py.class"));
    let run =
        Run::from(env.command_in(&python.path, &env.repo).args(["-v", "-c", "import pkg.stale"]).output().unwrap());
    assert!(run.stderr.contains(&format!("stale.{tag}.pyc matches")), "{}", run.stderr);
}

/// CPython's verdict on a file.
fn compiles(python: &Python, path: &Path) -> bool {
    let code = "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec', dont_inherit=True)";
    std::process::Command::new(&python.path)
        .args(["-I", "-S", "-W", "ignore", "-c", code])
        .arg(path)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn encodings_are_judged_as_cpython_judges_them() {
    let python = common::require_python!();
    let env = env_with(python);
    let cases: [(&str, &[u8], bool); 8] = [
        ("latin1_cookie.py", b"# -*- coding: latin-1 -*-\nX = '\xe9'\n", true),
        ("koi8r_cookie.py", b"# coding: koi8-r\nX = '\xc1\xc2'\n", true),
        ("bom.py", b"\xef\xbb\xbfX = '\xc3\xa9'\n", true),
        ("bom_conflict.py", b"\xef\xbb\xbf# coding: latin-1\nX = 1\n", false),
        ("unknown_encoding.py", b"# coding: klingon-8\nX = 1\n", false),
        ("invalid_utf8.py", b"X = '\xff\xfe'\n", false),
        ("second_line_cookie.py", b"#!/usr/bin/env python\n# vim: fileencoding=latin-1\nX = '\xe9'\n", true),
        ("cookie_after_code.py", b"X = 1\n# coding: latin-1\nY = '\xe9'\n", false),
    ];
    for (name, content, _) in &cases {
        env.write(name, content);
    }
    env.commit_all("encodings");
    let run = env.run(&["check", "--format", "json", "--select", "syntax-error"]);
    let reported: BTreeSet<String> = found(&json(&run)).into_iter().map(|(_, path)| path).collect();
    for (name, _, valid) in cases {
        assert_eq!(compiles(python, &env.repo.join(name)), valid, "the case {name} is not what CPython says");
        assert_eq!(!reported.contains(name), valid, "{name}: {}", run.stdout);
    }
    let report = json(&run);
    let message = |name: &str| {
        report["findings"].as_array().unwrap().iter().find(|f| f["path"] == name).unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        message("bom_conflict.py").contains("encoding problem: iso-8859-1 with BOM"),
        "{}",
        message("bom_conflict.py")
    );
    assert!(
        message("unknown_encoding.py").contains("unknown encoding: klingon-8"),
        "{}",
        message("unknown_encoding.py")
    );
}

#[test]
fn without_an_interpreter_the_verdict_is_marked_unconfirmed() {
    // No interpreter configured and no `python3` on `PATH` (only git): the
    // automatic choice is missing, which is a warning (a named one is exit 2).
    let mut env = TestEnv::new();
    env.without_python();
    env.write("broken.py", "def f(:\n");
    env.commit_all("broken");
    let run = env.run(&["check", "--format", "json", "--select", "syntax-error"]).expect_code(1);
    let report = json(&run);
    assert!(
        report["findings"][0]["message"].as_str().unwrap().contains("unconfirmed: no interpreter"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("`python3` (from the default) was not found"), "{}", run.stderr);
}

#[test]
fn unreadable_folder_is_an_operational_failure() {
    let env = TestEnv::new();
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    env.write("locked/__pycache__/x.cpython-312.pyc", "x");
    let run = env.run_while_locked("locked", 0o000, 0o755, &["check", "--no-syntax"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("locked"), "{}", run.stderr);
}

/// Copies every `.py` file of a standard library into `dest`.
fn copy_stdlib(from: &Path, dest: &Path) -> usize {
    let mut count = 0;
    let mut stack = vec![from.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if entry.file_type().unwrap().is_dir() {
                if name != "site-packages" && name != "__pycache__" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|ext| ext == "py") {
                let target = dest.join(path.strip_prefix(from).unwrap());
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::copy(&path, &target).unwrap();
                count += 1;
            }
        }
    }
    count
}

/// Files of `root` that CPython's `compile()` refuses, from one interpreter process.
fn cpython_refusals(python: &Python, root: &Path) -> BTreeSet<String> {
    let script = r"
import os, sys
root = sys.argv[1]
for d, dirs, files in os.walk(root):
    for f in files:
        if f.endswith('.py'):
            p = os.path.join(d, f)
            try:
                compile(open(p, 'rb').read(), p, 'exec', dont_inherit=True)
            except Exception:
                print(os.path.relpath(p, root))
";
    let out = std::process::Command::new(&python.path)
        .args(["-I", "-S", "-W", "ignore", "-c", script])
        .arg(root)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect()
}

#[test]
fn syntax_verdicts_agree_with_cpython_on_whole_standard_libraries() {
    let modern = python::modern();
    // The oldest and the newest interpreters of the machine (3.8 to 3.13 where present).
    let mut chosen: Vec<&Python> = vec![modern[0], modern[modern.len() - 1]];
    chosen.dedup_by_key(|python| python.version);
    assert!(!chosen.is_empty());
    for python in chosen {
        let env = env_with(python);
        let stdlib = python.stdlib();
        let count = copy_stdlib(&stdlib, &env.repo.join("lib"));
        assert!(count > 1000, "{count} files in {}", stdlib.display());
        env.commit_all("standard library");
        let expected = cpython_refusals(python, &env.repo.join("lib"));
        assert!(
            expected.len() >= 5,
            "CPython should refuse the standard library's bad-syntax test files: {expected:?}"
        );
        let run = env.run(&["check", "--format", "json", "--select", "syntax-error"]);
        let report = json(&run);
        assert_eq!(report["summary"]["files_checked"].as_u64().unwrap() as usize, count);
        let ours: BTreeSet<String> =
            found(&report).into_iter().map(|(_, path)| path.strip_prefix("lib/").unwrap().to_string()).collect();
        let missed: Vec<&String> = expected.difference(&ours).collect();
        let extra: Vec<&String> = ours.difference(&expected).collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{:?}: missed {missed:?}, false positives {extra:?}",
            python.version
        );
    }
}

/// The finding ids a `check --format json` run reported.
fn reported_ids(run: &Run) -> BTreeSet<String> {
    found(&json(run)).into_iter().map(|(id, _)| id).collect()
}

#[test]
fn select_and_ignore_in_the_config_choose_the_findings_and_the_command_line_overrides_them() {
    let mut env = TestEnv::new();
    env.without_python();
    env.write("m.pyc", "committed bytecode");
    env.write("pyproject.toml", "[tool.pycache-guard]\nignore = [\"tracked-bytecode\"]\n");
    env.git(&["add", "-f", "m.pyc", "pyproject.toml"]);
    env.git(&["commit", "-q", "-m", "bytecode"]);
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "--no-syntax", "--format", "json"];
        args.extend_from_slice(extra);
        reported_ids(&env.run(&args))
    };
    let configured = check(&[]);
    assert!(!configured.contains("tracked-bytecode") && configured.contains("gitignore-missing"), "{configured:?}");
    // A `--select` names what to report, the configured `ignore` included.
    assert_eq!(check(&["--select", "tracked-bytecode"]), BTreeSet::from(["tracked-bytecode".to_string()]));
    // An `--ignore` replaces the configured one.
    let ignored = check(&["--ignore", "gitignore-missing"]);
    assert!(ignored.contains("tracked-bytecode") && !ignored.contains("gitignore-missing"), "{ignored:?}");

    env.write("pyproject.toml", "[tool.pycache-guard]\nselect = [\"tracked-bytecode\"]\n");
    assert_eq!(check(&[]), BTreeSet::from(["tracked-bytecode".to_string()]));
}

#[test]
fn an_unknown_finding_id_in_the_config_is_refused_naming_the_file_and_the_valid_ids() {
    let mut env = TestEnv::new();
    env.without_python();
    env.write("pyproject.toml", "[tool.pycache-guard]\nselect = [\"stale-bytecod\"]\n");
    let run = env.run(&["check", "--no-syntax"]).expect_code(2);
    for expected in ["pyproject.toml", "stale-bytecod", "tracked-bytecode", "hooks-missing"] {
        assert!(run.stderr.contains(expected), "no `{expected}` in: {}", run.stderr);
    }
    let run = env.run(&["check", "--ignore", "stale-bytecod"]).expect_code(2);
    assert!(run.stderr.contains("stale-bytecode"), "{}", run.stderr);
}

#[test]
fn what_the_parser_accepts_and_an_interpreter_refuses_is_an_error_for_that_interpreter() {
    // A literal longer than CPython converts, and `continue` in `finally`
    // (refused before 3.8): the in-process parser accepts both.
    let sources = [
        ("big.py", format!("x = {}\n", "9".repeat(5000))),
        ("finally_continue.py", "for x in y:\n    try:\n        pass\n    finally:\n        continue\n".to_string()),
        ("fine.py", format!("x = 0x{}\n", "f".repeat(5000))),
    ];
    for python in python::all().iter().filter(|python| python.version.0 == 3) {
        let env = env_with(python);
        for (name, text) in &sources {
            env.write(name, text);
        }
        env.commit_all("sources");
        // Ground truth: what this interpreter's compile() says of each file.
        let refused: BTreeSet<&str> = sources
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| {
                let code = format!("compile(open({name:?}).read(), {name:?}, 'exec')");
                env.python(python, &["-c", &code]).code != 0
            })
            .collect();
        let run = env.run(&["check", "--select", "syntax-error", "--format", "json"]);
        let reported: BTreeSet<&str> =
            sources.iter().map(|(name, _)| *name).filter(|name| run.stdout.contains(&format!("{name}\""))).collect();
        assert_eq!(reported, refused, "python {:?}\n{}{}", python.version, run.stdout, run.stderr);
    }
}

/// What git's own listing says a missing rule lets through: the untracked
/// bytecode `git ls-files --others --exclude-standard` shows, per rule, as
/// the finding words it.
fn let_through_by_git(env: &TestEnv) -> BTreeSet<String> {
    let listed = env.git(&["ls-files", "-z", "--others", "--exclude-standard"]);
    let mut shown: Vec<&str> = listed.stdout.split('\0').filter(|path| !path.is_empty()).collect();
    shown.sort();
    let in_pycache = |path: &str| path.split('/').rev().skip(1).any(|part| part == "__pycache__");
    let legacy = |path: &str| [".pyc", ".pyo", ".pyd"].iter().any(|suffix| path.ends_with(suffix));
    type Catches<'a> = &'a dyn Fn(&str) -> bool;
    let rules: [(&str, Catches); 3] =
        [("__pycache__/", &in_pycache), ("*.py[cod]", &legacy), ("*$py.class", &|path| path.ends_with("$py.class"))];
    rules
        .iter()
        .map(|(line, catches)| {
            let caught: Vec<String> =
                shown.iter().filter(|path| catches(path)).map(|path| format!("`{path}`")).collect();
            if caught.is_empty() {
                return format!("ignore rule `{line}` is not in effect; no bytecode it would ignore exists yet");
            }
            let more = if caught.len() > 3 { format!(" and {} more", caught.len() - 3) } else { String::new() };
            let first: Vec<&str> = caught.iter().take(3).map(String::as_str).collect();
            format!(
                "ignore rule `{line}` is missing, so untracked bytecode can be committed: {}{more}",
                first.join(", ")
            )
        })
        .collect()
}

fn gitignore_messages(run: &Run) -> BTreeSet<String> {
    json(run)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["message"].as_str().unwrap().to_string())
        .collect()
}

/// A whole-tree `check` learns what git shows from its own walk and asks git
/// only about what it found (`git check-ignore`); the ignore-rule findings
/// must still say exactly what `git ls-files --others --exclude-standard`
/// says, through ignored folders, folders git reads rules in, an environment
/// nobody ignored, a folder inside `__pycache__`, a nested repository and
/// names that read as pathspec magic or globs.
#[test]
fn the_untracked_bytecode_a_missing_rule_lets_through_is_what_git_shows() {
    let env = TestEnv::new();
    let tag = "cpython-312";
    env.write(".gitignore", "ignored/\nignored-tracked/\n*.pyo\n!neg/keep.pyo\n.venv/\n");
    env.write(".git/info/exclude", "excluded/\n");
    env.write(format!("pkg/__pycache__/a.{tag}.pyc"), "shown");
    env.write(format!("pkg/__pycache__/b.{tag}.opt-1.pyc"), "shown");
    env.write(format!("pkg/__pycache__/deeper/c.{tag}.pyc"), "shown: git walks into it");
    env.write("pkg/legacy.pyc", "shown");
    env.write("pkg/jy$py.class", "shown");
    env.write("odd/.pyc", "shown: bytecode by its ending");
    env.write("filecache/__pycache__", "a file named __pycache__");
    env.write("neg/keep.pyo", "shown: the negation wins");
    env.write("neg/drop.pyo", "ignored by *.pyo");
    env.write(format!("ignored/__pycache__/i.{tag}.pyc"), "in an ignored folder");
    env.write("ignored/.gitignore", "!*.pyc\n");
    env.write("ignored-tracked/t.py", "T = 1\n");
    env.git(&["add", "-f", "ignored-tracked/t.py"]);
    env.write(format!("ignored-tracked/__pycache__/t.{tag}.pyc"), "ignored folder with a tracked file");
    env.write(format!("excluded/__pycache__/e.{tag}.pyc"), "excluded by info/exclude");
    env.write("sub/.gitignore", "*.pyc\n!kept.pyc\n");
    env.write("sub/legacy.pyc", "ignored by sub/.gitignore");
    env.write("sub/kept.pyc", "shown: sub/.gitignore's negation");
    env.write(format!("sub/__pycache__/s.{tag}.pyc"), "ignored by sub/.gitignore");
    env.write("venv/pyvenv.cfg", "home = /usr/bin\n");
    env.write(format!("venv/lib/__pycache__/v.{tag}.pyc"), "shown: nobody ignored this environment");
    env.write("venv/lib/.gitignore", "hidden.pyc\n");
    env.write("venv/lib/hidden.pyc", "ignored by the environment's own rules");
    env.write(".venv/pyvenv.cfg", "home = /usr/bin\n");
    env.write(format!(".venv/lib/__pycache__/w.{tag}.pyc"), "in an ignored environment");
    env.write(format!("nested/__pycache__/n.{tag}.pyc"), "inside a nested repository");
    env.git_in(&env.repo.join("nested"), &["init", "-q", "."]);
    env.write(format!("glob/__pycache__/[a]*.{tag}.pyc"), "shown: a glob-like name");
    env.write(":(top)colon.pyc", "shown: a name that reads as pathspec magic");
    env.write("tracked/t.pyc", "tracked, so not let through");
    env.git(&["add", "-f", "tracked/t.pyc"]);
    std::os::unix::fs::symlink("nowhere", env.repo.join("pkg/link.pyc")).unwrap();

    let expected = let_through_by_git(&env);
    assert!(
        expected.iter().any(|message| message.contains("and ")),
        "the set-up lets more than three through: {expected:?}"
    );
    let whole = env.run(&["check", "--select", "gitignore-missing", "--format", "json"]).expect_code(1);
    assert_eq!(gitignore_messages(&whole), expected, "{}", whole.stderr);
    // A check of named paths asks git to list the files instead: the same answer.
    let listed = env.run(&["check", ".", "--select", "gitignore-missing", "--format", "json"]).expect_code(1);
    assert_eq!(gitignore_messages(&listed), expected, "{}", listed.stderr);
    // Ignoring the folders the first answer came from changes it: git's word again.
    env.write(".gitignore", "pkg/\nvenv/\nsub/\n");
    let expected = let_through_by_git(&env);
    let whole = env.run(&["check", "--select", "gitignore-missing", "--format", "json"]).expect_code(1);
    assert_eq!(gitignore_messages(&whole), expected, "{}", whole.stderr);
}

/// Where a walk alone would see what git does not (attack 5): a submodule
/// whose folder has no `.git`, FIFOs and sockets with bytecode names, a
/// repository named `__pycache__`, names compared without case, pathspec
/// settings in the environment, and a repository's `core.fsmonitor`, which
/// the finding's own questions to git must never run.
#[test]
fn the_ignore_rule_finding_follows_git_where_the_walk_alone_would_not() {
    let mut env = TestEnv::new();
    let check = |env: &TestEnv| {
        let run = env.run(&["check", "--select", "gitignore-missing", "--format", "json"]);
        assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
        gitignore_messages(&run)
    };
    env.git(&["commit", "-q", "--allow-empty", "-m", "root"]);
    let head = env.git(&["rev-parse", "HEAD"]).stdout.trim().to_string();
    env.git(&["update-index", "--add", "--cacheinfo", &format!("160000,{head},sub")]);
    env.write("sub/__pycache__/m.cpython-312.pyc", "inside a submodule git never looks into");
    env.write("sub/z.pyc", "inside a submodule git never looks into");
    assert!(std::process::Command::new("mkfifo").arg(env.repo.join("fifo.pyc")).status().unwrap().success());
    env.write("pkg/__pycache__/keep.txt", "");
    assert!(
        std::process::Command::new("mkfifo").arg(env.repo.join("pkg/__pycache__/f.pyc")).status().unwrap().success()
    );
    let _socket = std::os::unix::net::UnixListener::bind(env.repo.join("s.pyc")).unwrap();
    std::fs::create_dir_all(env.repo.join("a/__pycache__")).unwrap();
    env.git_in(&env.repo.join("a/__pycache__"), &["init", "-q", "."]);
    env.write("real.pyc", "one file git shows");
    env.write(".git/fsmonitor.sh", "#!/bin/sh\ntouch \"$(dirname \"$0\")/FSMONITOR_RAN\"\n");
    std::fs::set_permissions(env.repo.join(".git/fsmonitor.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    env.git(&["config", "core.fsmonitor", ".git/fsmonitor.sh"]);
    env.write("venv/pyvenv.cfg", "home = /usr/bin\n");
    env.write("venv/lib/__pycache__/v.cpython-312.pyc", "an environment git shows, which git lists for check");
    let ours = check(&env);
    assert!(!env.repo.join(".git/FSMONITOR_RAN").exists(), "check ran the repository's core.fsmonitor");
    env.git(&["config", "--unset", "core.fsmonitor"]);
    assert_eq!(ours, let_through_by_git(&env));
    for variable in ["GIT_GLOB_PATHSPECS", "GIT_NOGLOB_PATHSPECS", "GIT_ICASE_PATHSPECS"] {
        env.extra_env.push((variable.into(), "1".into()));
        assert_eq!(check(&env), let_through_by_git(&env), "with {variable}=1");
        env.extra_env.pop();
    }
    env.git(&["config", "core.ignoreCase", "true"]);
    env.write(".GIT/__pycache__/x.cpython-312.pyc", "git's own folder, without case");
    env.write("A.pyc", "tracked");
    env.git(&["add", "-f", "A.pyc"]);
    env.write("a.pyc", "the tracked A.pyc, without case");
    assert_eq!(check(&env), let_through_by_git(&env), "with core.ignoreCase");
}

/// A work tree that is itself an environment (`pyvenv.cfg` at the top) is
/// still walked: only the folders below the top are judged by the walk's
/// rule, as before the walk learned to report what it skips.
#[test]
fn a_work_tree_holding_pyvenv_cfg_at_the_top_is_still_walked() {
    let env = TestEnv::new();
    env.write("pyvenv.cfg", "home = /usr/bin\n");
    env.write("gone/__pycache__/m.cpython-312.pyc", "an orphan");
    let run = env.run(&["check", "--select", "orphan-bytecode", "--format", "json"]);
    let orphans: Vec<String> = json(&run)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|finding| finding["path"].as_str().map(String::from))
        .collect();
    assert!(orphans.iter().any(|path| path.ends_with("m.cpython-312.pyc")), "{orphans:?}\n{}", run.stderr);
}

/// `check PATH` reads no cache through a link on the way to PATH, as the
/// whole-tree walk never follows one (found by attack 6): neither a PATH that
/// is a link to a folder elsewhere nor one below such a link.
#[test]
fn check_of_a_path_through_a_link_reads_nothing_beyond_the_link() {
    let env = TestEnv::new();
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    let outside = env.root().join("outside");
    std::fs::create_dir_all(outside.join("sub/__pycache__")).unwrap();
    std::fs::write(outside.join("sub/__pycache__/gone.cpython-312.pyc"), "orphan").unwrap();
    std::fs::write(outside.join("sub/gone.pyc"), "shadowing").unwrap();
    std::os::unix::fs::symlink(&outside, env.repo.join("ext")).unwrap();
    std::os::unix::fs::symlink(outside.join("sub"), env.repo.join("sublink")).unwrap();
    let disk = |path: &str| {
        let select = ["--select", "orphan-bytecode", "--select", "shadowing-bytecode"];
        env.run(&[&["check", "--no-syntax", "--format", "json"][..], &select, &[path]].concat())
    };
    for path in ["ext", "ext/sub", "sublink"] {
        let run = disk(path);
        assert!(!run.stdout.contains("gone"), "{path}: a cache beyond a link was read: {}", run.stdout);
    }
    // The same folders, reached without a link, are reported.
    std::fs::remove_file(env.repo.join("ext")).unwrap();
    std::fs::rename(&outside, env.repo.join("ext")).unwrap();
    let run = disk("ext/sub");
    assert!(run.stdout.contains("gone.cpython-312.pyc") && run.stdout.contains("gone.pyc"), "{}", run.stdout);
}

/// A FIFO or device named like legacy bytecode is nothing Python imports and
/// nothing git shows: no finding, never opened (found by attack 7).
#[test]
fn a_fifo_or_device_named_like_legacy_bytecode_is_not_shadowing_bytecode() {
    let env = TestEnv::new();
    env.write("a.py", "A = 1\n");
    env.commit_all("base");
    assert!(std::process::Command::new("mkfifo").arg(env.repo.join("gone.pyc")).status().unwrap().success());
    env.write("real.pyc", "sourceless");
    let (run, killed) =
        env.run_or_kill(&["check", "--no-syntax", "--select", "shadowing-bytecode", "--format", "json"]);
    assert!(!killed, "check opened the FIFO");
    assert!(!run.stdout.contains("gone.pyc"), "{}", run.stdout);
    assert!(run.stdout.contains("real.pyc"), "a regular sourceless file is still reported: {}", run.stdout);
}
