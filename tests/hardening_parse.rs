//! Issue 12, findings 8 (sources), 9, 10 and 15: `check` reads only regular
//! files inside the work tree, bounded in size; sources that nest deeply are
//! judged as CPython judges them, without crashing; an intent-to-add
//! bytecode entry does not block a commit it is not part of.

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

fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|error| panic!("{error}: {}\n{}", run.stdout, run.stderr))
}

/// The paths of the syntax-error findings.
fn reported(run: &Run) -> BTreeSet<String> {
    json(run)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["id"] == "syntax-error")
        .map(|finding| finding["path"].as_str().unwrap().to_string())
        .collect()
}

fn run_or_kill(env: &TestEnv, args: &[&str]) -> Run {
    env.run_or_kill(args).0
}

#[test]
fn intent_to_add_bytecode_does_not_block_a_commit_it_is_not_part_of() {
    let env = TestEnv::new();
    env.write("README.md", "hello\n");
    env.commit_all("initial");
    env.install_hooks();
    env.write("app.py", "x = 1\n");
    env.write("m.pyc", "bytecode");
    env.git(&["add", "app.py"]);
    env.git(&["add", "-N", "--", "m.pyc"]);
    let run = env.git_status(&["commit", "-q", "-m", "only app.py"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let committed = env.git(&["ls-tree", "-r", "--name-only", "HEAD"]).stdout;
    assert!(committed.contains("app.py") && !committed.contains("m.pyc"), "{committed}");
    // Once its content is staged, it is part of the commit and blocked.
    env.git(&["add", "--", "m.pyc"]);
    let run = env.git_status(&["commit", "-q", "-m", "with m.pyc"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("m.pyc (new)"), "{}", run.stderr);
}

#[test]
fn sources_that_are_fifos_or_devices_are_skipped_not_read() {
    let mut env = TestEnv::new();
    env.use_python(&python::default().path);
    env.write("ok.py", "A = 1\n");
    env.write("pipe.py", "B = 1\n");
    std::os::unix::fs::symlink("/dev/tty", env.repo.join("tty.py")).unwrap();
    env.commit_all("sources");
    // git cannot commit a FIFO, but one can take a tracked path's place in the work tree.
    std::fs::remove_file(env.repo.join("pipe.py")).unwrap();
    let made = std::process::Command::new("mkfifo").arg(env.repo.join("pipe.py")).status().unwrap();
    assert!(made.success());
    let run = run_or_kill(&env, &["check", "--format", "json", "--select", "syntax-error"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("pipe.py") && run.stderr.contains("a FIFO, not a regular file"), "{}", run.stderr);
    assert!(run.stderr.contains("tty.py") && run.stderr.contains("outside the work tree"), "{}", run.stderr);
}

#[test]
fn sources_linked_outside_the_work_tree_are_not_read() {
    let mut env = TestEnv::new();
    env.use_python(&python::default().path);
    let outside = env.root().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.py"), "def f(:\n").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.py"), env.repo.join("absolute.py")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.py", env.repo.join("relative.py")).unwrap();
    // A folder link: the last component is a plain name, the folder is not.
    std::os::unix::fs::symlink("../outside", env.repo.join("linked")).unwrap();
    env.write("real/broken.py", "def g(:\n");
    std::os::unix::fs::symlink("real/broken.py", env.repo.join("alias.py")).unwrap();
    env.commit_all("links");
    // The index holds `linked` as a link; a file under it appears when the link is a folder on disk.
    env.git(&["rm", "-q", "--cached", "linked"]);
    std::fs::write(outside.join("inner.py"), "def h(:\n").unwrap();
    env.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        "100644,e69de29bb2d1d6434b8b29ae775ad8c2e48c5391,linked/inner.py",
    ]);
    let run = run_or_kill(&env, &["check", "--format", "json", "--select", "syntax-error"]);
    assert_eq!(
        reported(&run),
        BTreeSet::from(["alias.py".to_string(), "real/broken.py".to_string()]),
        "{}",
        run.stderr
    );
    for name in ["absolute.py", "relative.py", "linked/inner.py"] {
        assert!(
            run.stderr.lines().any(|line| line.contains(name) && line.contains("outside the work tree")),
            "{name}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_huge_source_is_never_read_into_memory() {
    let mut env = TestEnv::new();
    env.without_python();
    env.write("huge.py", "X = 1\n");
    env.write("ok.py", "def f(:\n");
    env.commit_all("sources");
    // 4 GiB on disk (sparse); with 1 GiB of address space, reading it whole cannot succeed.
    std::fs::OpenOptions::new().write(true).open(env.repo.join("huge.py")).unwrap().set_len(4 << 30).unwrap();
    let run = Run::from(
        env.command_in("/bin/sh", &env.repo)
            .args(["-c", "ulimit -v 1048576 && exec \"$0\" check --format json --select syntax-error"])
            .arg(common::binary())
            .output()
            .unwrap(),
    );
    assert_eq!(reported(&run), BTreeSet::from(["ok.py".to_string()]), "{}", run.stderr);
    assert!(run.stderr.contains("huge.py") && run.stderr.contains("larger than 16 MiB"), "{}", run.stderr);
}

#[test]
fn a_source_past_the_in_process_limit_is_left_to_the_interpreter() {
    let mut env = TestEnv::new();
    env.without_python();
    let mut large = "X = 1\n".repeat((9 << 20) / 6);
    large.push_str("def f(:\n");
    env.write("large.py", &large);
    env.commit_all("large");
    let run = env.run(&["check", "--format", "json", "--select", "syntax-error"]);
    // Without an interpreter nobody can judge it: an operational failure, not an unconfirmed verdict.
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(reported(&run).is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("large.py") && run.stderr.contains("too large for the in-process parser"),
        "{}",
        run.stderr
    );
    // With one, its verdict is the one reported.
    let python = common::require_python!();
    env.use_python(&python.path);
    let run = env.run(&["check", "--format", "json", "--select", "syntax-error"]);
    assert_eq!(reported(&run), BTreeSet::from(["large.py".to_string()]), "{}", run.stderr);
    assert!(run.stdout.contains(&python.tag), "{}", run.stdout);
}

/// Sources that nest deeply, around every limit CPython 3.6 to 3.13 has.
/// The limits that come from the recursion limit (`1+1+…`, `a.b.b…`,
/// `f()()…`) depend on how deep the caller of `compile()` already is, so
/// those sizes keep a margin on both sides of them.
fn deep_shapes() -> Vec<(String, String)> {
    let mut shapes = Vec::new();
    let mut add = |name: &str, size: usize, text: String| shapes.push((format!("{name}_{size}.py"), text));
    for n in [50, 92, 93, 99, 150, 200, 201, 300, 1000] {
        add("parens", n, format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n)));
    }
    for n in [300, 1479, 1480, 2900, 3100, 5966, 5967] {
        add("minus", n, format!("x = {}1\n", "-".repeat(n)));
    }
    for n in [1000, 2900, 3100, 4000, 5000, 9900, 10100] {
        add("terms", n, format!("x = {}\n", vec!["1"; n].join("+")));
    }
    for n in [739, 740, 2983, 2984] {
        add("lambda", n, format!("x = {}1\n", "lambda: ".repeat(n)));
        add("power", n, format!("x = {}\n", vec!["2"; n].join("**")));
    }
    for n in [2900, 3100, 9900, 10100] {
        add("attributes", n, format!("x = a{}\n", ".b".repeat(n)));
        add("calls", n, format!("x = f{}\n", "()".repeat(n)));
    }
    for n in [99, 100, 150] {
        let nested: String = (0..n).map(|level| format!("{}if 1:\n", " ".repeat(level))).collect();
        add("indent", n, format!("{nested}{}pass\n", " ".repeat(n)));
    }
    add("flat_list", 20_000, format!("x = [{}]\n", vec!["-1"; 20_000].join(", ")));
    add("fstring_parens", 250, format!("x = f'{{{}1{}}}'\n", "(".repeat(250), ")".repeat(250)));
    shapes
}

/// The files `python`'s `compile()` refuses, each in its own process (some crash the old parsers).
fn cpython_refusals(python: &Python, root: &Path, names: &[String]) -> BTreeSet<String> {
    let code = "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec', dont_inherit=True)";
    names
        .iter()
        .filter(|name| {
            !std::process::Command::new(&python.path)
                .args(["-I", "-S", "-W", "ignore", "-c", code])
                .arg(root.join(name))
                .output()
                .unwrap()
                .status
                .success()
        })
        .cloned()
        .collect()
}

#[test]
fn deep_nesting_is_judged_as_every_cpython_judges_it() {
    let shapes = deep_shapes();
    let names: Vec<String> = shapes.iter().map(|(name, _)| name.clone()).collect();
    let mut env = TestEnv::new();
    for (name, text) in &shapes {
        env.write(name, text);
    }
    env.commit_all("deep shapes");
    for python in python::all() {
        let expected = cpython_refusals(python, &env.repo, &names);
        assert!(expected.contains("parens_300.py") && !expected.contains("flat_list_20000.py"), "{expected:?}");
        env.use_python(&python.path);
        let run = env.run(&["check", "--format", "json", "--select", "syntax-error"]);
        assert!(run.code == 0 || run.code == 1, "{:?}: exit {}\n{}", python.version, run.code, run.stderr);
        let ours = reported(&run);
        let missed: Vec<&String> = expected.difference(&ours).collect();
        let extra: Vec<&String> = ours.difference(&expected).collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{:?}: missed {missed:?}, false positives {extra:?}",
            python.version
        );
    }
}

#[test]
fn deep_nesting_without_an_interpreter_is_reported_not_crashed_on() {
    let mut env = TestEnv::new();
    env.without_python();
    env.write("parens.py", format!("x = {}1{}\n", "(".repeat(1000), ")".repeat(1000)));
    env.write("minus.py", format!("x = {}1\n", "-".repeat(3000)));
    env.write("ok.py", "x = 1\n");
    env.commit_all("deep");
    let run = env.run(&["check", "--format", "json", "--select", "syntax-error"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(reported(&run), BTreeSet::from(["parens.py".to_string()]), "{}", run.stdout);
    assert!(run.stdout.contains("too many nested parentheses"), "{}", run.stdout);
    assert!(run.stderr.contains("minus.py") && run.stderr.contains("nests too deeply"), "{}", run.stderr);
}
