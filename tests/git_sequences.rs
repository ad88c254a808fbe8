//! The git-operations matrix (issue 11): caches stay true across the
//! sequences of commands git really runs, not just each hook's own event.
//!
//! Every sequence is built in the worst case: the modules hold `V = <digit>`,
//! so every edit keeps the size; the sequence starts at the beginning of a
//! second, so git's writes fall in the same second as the caches before them;
//! and just before the command under test a real CPython imports every module,
//! writing caches of the version about to be replaced. The hooks are
//! installed. After each sequence:
//!
//! - importing every module gives what its source on disk says, and a module
//!   whose source is gone does not import (no namespace package from a
//!   leftover `__pycache__`);
//! - every module that had a cache and still exists has a fresh one, as
//!   importlib judges it;
//! - `check` finds nothing stale or lying.
//!
//! The sequences share one repository per test, each starting from the
//! `base` branch, to keep the matrix quick. Failures are collected and
//! reported together, as "N of M sequences lie".
//!
//! The same sequences and judgement run under every hook set-up (`Setup`):
//! the native shims of `pycache-guard install`, and the pre-commit framework
//! and prek configured as the README's "Hook managers" section says
//! (`language: system`, `pycache-guard` on `PATH`, the config committed in
//! every commit). All 35 sequences run under each manager (about two minutes
//! each on two cores, most of it the managers' own start-up): the post-* part
//! is nearly all of them, and the rest cost little. Managers install no
//! `post-index-change` or `post-applypatch` hook, so
//! the sequences that only those hear are judged after what the README says
//! catches them: `NEXT_HOOK_UNDER_MANAGERS` after the user's next commit,
//! `REBUILD_UNDER_MANAGERS` after `pycache-guard rebuild`.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "a test panics on what it cannot set up, prints what it measured, and sets up repositories and environments with std directly"
)]

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::python::{self, Python};
use common::setups::readme_block;
use common::{Run, TestEnv};

/// Who runs the hooks.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Setup {
    /// The shims of `pycache-guard install`.
    Native,
    /// The pre-commit framework with the README's configuration.
    PreCommit,
    /// prek with the same configuration.
    Prek,
}

/// Every module any sequence creates, as paths.
const MODULES: [&str; 5] = ["f.py", "g.py", "h.py", "pkg/__init__.py", "pkg/m.py"];

/// Imports every module with `-B` (so the check writes no cache) and reports,
/// one line per module: `path expected imported cache`, where `expected` is
/// the value in the source on disk (or `gone`), `imported` what the import
/// gave (or `missing`), and `cache` is `fresh`, `stale` or `none` as
/// importlib judges the cache of the source.
const CHECKER: &str = r#"
import importlib, importlib.util, os, sys, _imp
for path in sys.argv[1:]:
    name = path[:-3].replace('/', '.')
    if name.endswith('.__init__'):
        name = name[:-9]
    expected = 'gone'
    if os.path.exists(path):
        with open(path) as handle:
            namespace = {}
            exec(handle.read(), namespace)
            expected = str(namespace.get('V'))
    try:
        imported = str(getattr(importlib.import_module(name), 'V', 'namespace'))
    except ImportError:
        imported = 'missing'
    cache = 'none'
    cfile = importlib.util.cache_from_source(os.path.abspath(path))
    if os.path.exists(path) and os.path.exists(cfile):
        data = open(cfile, 'rb').read(16)
        source = open(path, 'rb').read()
        stat = os.stat(path)
        flags = int.from_bytes(data[4:8], 'little')
        if data[:4] != importlib.util.MAGIC_NUMBER:
            fresh = False
        elif flags == 0:
            fresh = (int.from_bytes(data[8:12], 'little') == int(stat.st_mtime) & 0xFFFFFFFF
                     and int.from_bytes(data[12:16], 'little') == stat.st_size & 0xFFFFFFFF)
        elif flags == 3:
            fresh = data[8:16] == _imp.source_hash(int.from_bytes(importlib.util.MAGIC_NUMBER, 'little'), source)
        else:
            fresh = False
        cache = 'fresh' if fresh else 'stale'
    print(path, expected, imported, cache)
"#;

/// One module as the checker saw it.
#[derive(Debug)]
struct Seen {
    path: String,
    expected: String,
    imported: String,
    cache: String,
}

/// The shared repository of one test, with the hooks installed.
struct World {
    env: TestEnv,
    python: &'static Python,
    /// The modules that existed when Python last imported them all: they have caches.
    cached: std::cell::RefCell<Vec<String>>,
}

impl World {
    fn new() -> World {
        World::with(Setup::Native)
    }

    /// The shared repository with the hooks of `setup` installed.
    fn with(setup: Setup) -> World {
        let python = python::default();
        let mut env = TestEnv::new();
        env.use_python(&python.path);
        env.write(".gitignore", "__pycache__/\n*.py[cod]\n");
        for module in MODULES.iter().filter(|module| **module != "h.py") {
            env.write(module, "V = 0\n");
        }
        let manager = match setup {
            Setup::Native => None,
            Setup::PreCommit => Some("pre-commit"),
            Setup::Prek => Some("prek"),
        };
        if let Some(program) = manager {
            // As after `pip install pycache-guard pre-commit`: both on PATH.
            let tools = common::tools::venv_bin();
            let binary_dir = common::binary().parent().unwrap().to_path_buf();
            let path =
                format!("{}:{}:{}", binary_dir.display(), tools.display(), std::env::var("PATH").unwrap_or_default());
            env.extra_env.push(("PATH".into(), path));
            let target_tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
            env.extra_env.push(("PRE_COMMIT_HOME".into(), target_tmp.join("pre-commit-home").display().to_string()));
            env.extra_env.push(("PREK_HOME".into(), target_tmp.join("prek-home").display().to_string()));
            env.write(".pre-commit-config.yaml", readme_block("pre-commit"));
            env.commit_all("base");
            let install = Run::from(env.command_in(tools.join(program), &env.repo).arg("install").output().unwrap());
            assert_eq!(install.code, 0, "{program} install\n{}\n{}", install.stdout, install.stderr);
        } else {
            env.commit_all("base");
            env.install_hooks();
        }
        env.git(&["branch", "base"]);
        World { env, python, cached: Default::default() }
    }

    fn git(&self, args: &[&str]) -> Run {
        self.env.git(args)
    }

    /// git with extra environment, asserting success unless `may_fail`.
    fn git_with(&self, args: &[&str], vars: &[(&str, &str)], may_fail: bool) -> Run {
        let mut command = self.env.command_in("git", &self.env.repo);
        command.args(args).envs(vars.iter().copied());
        let run = Run::from(command.output().unwrap());
        self.env.wait_in(&self.env.repo);
        assert!(may_fail || run.code == 0, "git {args:?} failed\n{}\n{}", run.stdout, run.stderr);
        run
    }

    /// git that may fail (a conflict).
    fn git_may_fail(&self, args: &[&str]) -> Run {
        self.git_with(args, &[], true)
    }

    /// Writes `V = digit` into a module: every version has the same size.
    fn edit(&self, path: &str, digit: u8) {
        self.env.write(path, format!("V = {digit}\n"));
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// A branch from `base` with one commit per edit list.
    fn branch(&self, name: &str, commits: &[&[(&str, u8)]]) {
        self.git(&["checkout", "-q", "-b", name, "base"]);
        for (number, edits) in commits.iter().enumerate() {
            for (path, digit) in *edits {
                self.edit(path, *digit);
            }
            self.commit(&format!("{name} {number}"));
        }
    }

    /// Python imports every module as a user would, writing caches of what is
    /// on disk now: the version the next command replaces.
    fn import_all(&self) {
        let present: Vec<&str> = MODULES.iter().copied().filter(|m| self.env.repo.join(m).exists()).collect();
        *self.cached.borrow_mut() = present.iter().map(|m| m.to_string()).collect();
        let names: Vec<String> = present
            .iter()
            .map(|path| path.trim_end_matches(".py").trim_end_matches("/__init__").replace('/', "."))
            .collect();
        let script = format!("import {}", names.join(", "));
        let mut command = self.env.command_in(&self.python.path, &self.env.repo);
        let run = Run::from(command.args(["-c", &script]).output().unwrap());
        // A conflicted module does not import; the others still wrote their caches.
        let _ = run;
    }

    /// What every module imports as, without writing caches.
    fn look(&self) -> Vec<Seen> {
        let mut command = self.env.command_in(&self.python.path, &self.env.repo);
        command.args(["-B", "-c", CHECKER]).args(MODULES);
        let run = Run::from(command.output().unwrap()).expect_code(0);
        run.stdout
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                Seen {
                    path: fields[0].into(),
                    expected: fields[1].into(),
                    imported: fields[2].into(),
                    cache: fields[3].into(),
                }
            })
            .collect()
    }

    /// Back to a clean `base`, whatever a sequence left.
    fn reset(&self) {
        for abort in [["rebase", "--abort"], ["merge", "--abort"], ["cherry-pick", "--abort"], ["am", "--abort"]] {
            let _ = self.git_may_fail(&abort);
        }
        let _ = self.git_may_fail(&["bisect", "reset"]);
        self.git(&["checkout", "-q", "-f", "base"]);
        self.git(&["reset", "-q", "--hard", "base"]);
        self.git(&["clean", "-q", "-fd"]);
        self.git(&["stash", "clear"]);
        for module in MODULES.iter().filter(|module| **module != "h.py") {
            assert!(self.env.repo.join(module).exists(), "{module} missing after reset");
        }
    }
}

/// Sleeps until just after the start of the next second, so that what
/// follows falls in one second: the worst case for timestamp caches.
fn start_of_a_second() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = Duration::from_nanos(u64::from(now.subsec_nanos()));
    std::thread::sleep(Duration::from_secs(1) - into + Duration::from_millis(5));
}

/// A sequence: a name, and what it does from a clean `base`. It calls
/// `import_all` just before its command under test.
type Sequence = (&'static str, fn(&World));

/// What went wrong in one sequence.
fn judge(world: &World, had_cache: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for seen in world.look() {
        if seen.expected == "gone" {
            if seen.imported != "missing" {
                problems.push(format!("{} is gone but imports as {}", seen.path, seen.imported));
            }
        } else if seen.imported != seen.expected {
            problems.push(format!("{} says V = {} but imports V = {}", seen.path, seen.expected, seen.imported));
        }
        if seen.expected != "gone" && had_cache.contains(&seen.path) && seen.cache != "fresh" {
            problems.push(format!("{} had a cache and now has {} one", seen.path, seen.cache));
        }
    }
    let check = world.env.run(&["check", "--no-syntax", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&check.stdout).expect("check prints JSON");
    for finding in report["findings"].as_array().into_iter().flatten() {
        let id = finding["id"].as_str().unwrap_or_default();
        if matches!(id, "stale-bytecode" | "lying-bytecode" | "orphan-bytecode" | "shadowing-bytecode") {
            problems.push(format!("check: {id} {}", finding["path"]));
        }
    }
    problems
}

/// Runs every sequence in the world's repository; panics with the list of
/// those that left a lie, after running them all.
fn run_matrix(world: &World, sequences: &[Sequence]) {
    run_matrix_with_unheard(world, sequences, &[], &[]);
}

/// The sequences whose last git command no hook a manager installs hears
/// (git fires only `post-index-change` or `post-applypatch` for them, which pre-commit and prek cannot install), but
/// which leave what they wrote in the index or a commit: the next hook that
/// fires reconciles them from the record. The README's table lists them.
const NEXT_HOOK_UNDER_MANAGERS: [&str; 7] = [
    "merge --abort",
    "rebase --abort",
    "checkout then reset --hard",
    "reset --merge",
    "reset --keep",
    "edit, import, then stash",
    "checkout then am",
];

/// The sequences that leave files modified in the work tree and not in the
/// index, which no hook a manager installs hears, and which even the next
/// hook cannot tell from a user's edit: `pycache-guard rebuild` (the record,
/// then a stale scan) repairs them, and `check` reports them.
const REBUILD_UNDER_MANAGERS: [&str; 3] = ["rebase --autostash", "stash pop", "stash apply"];

/// As `run_matrix`, except that the sequences in `next_hook` are judged
/// after the user's next commit (`git commit --allow-empty`, whose
/// post-commit hook reconciles from the record), and those in `rebuild`
/// after `pycache-guard rebuild`. What they left before that is printed: a
/// cache that Python itself wrote in the same second as git's rewrite may lie
/// then, as it would with git and Python alone.
fn run_matrix_with_unheard(world: &World, sequences: &[Sequence], next_hook: &[&str], rebuild: &[&str]) {
    let mut failed = Vec::new();
    for (name, sequence) in sequences {
        world.reset();
        start_of_a_second();
        sequence(world);
        let had_cache = world.cached.borrow().clone();
        if next_hook.contains(name) || rebuild.contains(name) {
            eprintln!("{name}, unheard: {:?}", judge(world, &had_cache));
        }
        if next_hook.contains(name) {
            world.git(&["commit", "-q", "--allow-empty", "-m", "next"]);
        }
        let mut rebuilt = String::new();
        if rebuild.contains(name) {
            rebuilt = world.env.run(&["rebuild", "-v"]).expect_code(0).stderr;
        }
        let mut problems = judge(world, &had_cache);
        if !problems.is_empty() && !rebuilt.is_empty() {
            problems.push(format!("after `rebuild -v`:\n{rebuilt}"));
        }
        if !problems.is_empty() {
            // What the hooks did, for whoever reads the failure.
            let log =
                std::fs::read_to_string(world.env.repo.join(".git/pycache-guard/rebuild.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(12).collect();
            problems.push(format!("the last lines of the log, newest first:\n      {}", tail.join("\n      ")));
            failed.push(format!("{name}:\n    {}", problems.join("\n    ")));
        }
    }
    let summary = format!("{} of {} sequences lie", failed.len(), sequences.len());
    eprintln!("{summary}");
    assert!(failed.is_empty(), "{summary}\n{}", failed.join("\n"));
}

/// `GIT_SEQUENCE_EDITOR` that rewrites the todo list with a sed script.
fn sequence_editor(world: &World, name: &str, sed: &str) -> String {
    let path = world.env.root().join(format!("{name}.sh"));
    std::fs::write(&path, format!("#!/bin/sh\nsed -i -e '{sed}' \"$1\"\n")).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path.display().to_string()
}

fn interactive(world: &World, name: &str, sed: &str, onto: &str) -> Run {
    let editor = sequence_editor(world, name, sed);
    world.git_with(&["rebase", "-q", "-i", onto], &[("GIT_SEQUENCE_EDITOR", &editor), ("GIT_EDITOR", "true")], true)
}

fn checkout_sequences() -> Vec<Sequence> {
    vec![
        ("checkout branch", |w| {
            w.branch("co-b", &[&[("f.py", 1)]]);
            w.git(&["checkout", "-q", "base"]);
            w.import_all();
            w.git(&["checkout", "-q", "co-b"]);
        }),
        ("checkout detached", |w| {
            w.branch("co-d", &[&[("f.py", 1), ("pkg/m.py", 1)]]);
            w.git(&["checkout", "-q", "base"]);
            w.import_all();
            w.git(&["checkout", "-q", "--detach", "co-d"]);
        }),
        ("checkout -- path", |w| {
            w.branch("co-p", &[&[("f.py", 1)]]);
            w.git(&["checkout", "-q", "base"]);
            w.import_all();
            w.git(&["checkout", "co-p", "--", "f.py"]);
        }),
        ("switch", |w| {
            w.branch("sw", &[&[("g.py", 1)]]);
            w.git(&["switch", "-q", "base"]);
            w.import_all();
            w.git(&["switch", "-q", "sw"]);
        }),
        ("merge fast-forward", |w| {
            w.branch("mf", &[&[("f.py", 1)]]);
            w.git(&["checkout", "-q", "-b", "mf-into", "base"]);
            w.import_all();
            w.git(&["merge", "-q", "--ff-only", "mf"]);
        }),
        ("merge commit", |w| {
            w.branch("mc", &[&[("f.py", 1)]]);
            w.branch("mc-into", &[&[("g.py", 1)]]);
            w.import_all();
            w.git(&["merge", "-q", "--no-edit", "mc"]);
        }),
        ("merge conflicted then committed", |w| {
            w.branch("mx", &[&[("f.py", 1), ("g.py", 1)]]);
            w.branch("mx-into", &[&[("f.py", 2)]]);
            w.import_all();
            w.git_may_fail(&["merge", "-q", "--no-edit", "mx"]);
            w.edit("f.py", 3);
            w.import_all();
            w.edit("f.py", 4);
            w.git(&["add", "f.py"]);
            w.git(&["commit", "-q", "--no-edit"]);
        }),
        ("merge --squash", |w| {
            w.branch("ms", &[&[("f.py", 1)], &[("g.py", 1)]]);
            w.git(&["checkout", "-q", "-b", "ms-into", "base"]);
            w.import_all();
            w.git(&["merge", "-q", "--squash", "ms"]);
            w.git(&["commit", "-q", "-m", "squashed"]);
        }),
        ("merge --abort", |w| {
            w.branch("ma", &[&[("f.py", 1), ("g.py", 1)]]);
            w.branch("ma-into", &[&[("f.py", 2)]]);
            w.git_may_fail(&["merge", "-q", "--no-edit", "ma"]);
            w.import_all();
            w.git(&["merge", "--abort"]);
        }),
    ]
}

fn rebase_sequences() -> Vec<Sequence> {
    vec![
        ("rebase", |w| {
            w.branch("rb-up", &[&[("g.py", 1)]]);
            w.branch("rb", &[&[("f.py", 1)]]);
            w.import_all();
            w.git(&["rebase", "-q", "rb-up"]);
        }),
        ("rebase --onto dropping a commit", |w| {
            w.branch("ro", &[&[("g.py", 1)], &[("f.py", 1)]]);
            w.import_all();
            w.git(&["rebase", "-q", "--onto", "HEAD~2", "HEAD~1"]);
        }),
        ("rebase -i reorder", |w| {
            w.branch("ri-r", &[&[("f.py", 1)], &[("g.py", 1)], &[("f.py", 2)]]);
            w.import_all();
            interactive(w, "reorder", "1{h;d};2{G}", "base");
        }),
        ("rebase -i drop", |w| {
            w.branch("ri-d", &[&[("f.py", 1)], &[("g.py", 1)], &[("pkg/m.py", 1)]]);
            w.import_all();
            interactive(w, "drop", "2s/^pick/drop/", "base");
        }),
        ("rebase -i squash and fixup", |w| {
            w.branch("ri-s", &[&[("f.py", 1)], &[("f.py", 2)], &[("g.py", 1)]]);
            w.import_all();
            interactive(w, "squash", "2s/^pick/squash/;3s/^pick/fixup/", "base");
        }),
        ("rebase -i edit", |w| {
            w.branch("ri-e", &[&[("f.py", 1)], &[("g.py", 1)]]);
            interactive(w, "edit", "1s/^pick/edit/", "base");
            w.import_all();
            w.edit("f.py", 5);
            w.git(&["commit", "-q", "-a", "--amend", "--no-edit"]);
            w.import_all();
            w.git_with(&["rebase", "--continue"], &[("GIT_EDITOR", "true")], false);
        }),
        ("rebase --exec", |w| {
            w.branch("re-up", &[&[("g.py", 1)]]);
            w.branch("re", &[&[("f.py", 1)], &[("f.py", 2)]]);
            w.import_all();
            w.git(&["rebase", "-q", "--exec", "true", "re-up"]);
        }),
        ("rebase --autostash", |w| {
            w.branch("ra-up", &[&[("g.py", 1)]]);
            w.branch("ra", &[&[("f.py", 1)]]);
            w.edit("pkg/m.py", 7);
            w.import_all();
            w.git(&["rebase", "-q", "--autostash", "ra-up"]);
        }),
        ("rebase conflicted then --continue", |w| {
            w.branch("rc-up", &[&[("f.py", 2), ("g.py", 2)]]);
            w.branch("rc", &[&[("f.py", 1)], &[("g.py", 3)]]);
            w.import_all();
            w.git_may_fail(&["rebase", "-q", "rc-up"]);
            w.edit("f.py", 4);
            w.git(&["add", "f.py"]);
            w.git_with(&["rebase", "--continue"], &[("GIT_EDITOR", "true")], true);
            w.edit("g.py", 5);
            w.git(&["add", "g.py"]);
            w.import_all();
            w.git_with(&["rebase", "--continue"], &[("GIT_EDITOR", "true")], false);
        }),
        ("rebase --abort", |w| {
            w.branch("rx-up", &[&[("f.py", 2), ("g.py", 2)]]);
            w.branch("rx", &[&[("g.py", 1)], &[("f.py", 1)]]);
            w.git_may_fail(&["rebase", "-q", "rx-up"]);
            w.import_all();
            w.git(&["rebase", "--abort"]);
        }),
        ("pull merge from a second clone", |w| pull(w, "pm", &["pull", "-q", "--no-rebase", "--no-edit"])),
        ("pull --rebase from a second clone", |w| pull(w, "pr", &["pull", "-q", "--rebase"])),
    ]
}

/// A second clone commits; this repository pulls from it.
fn pull(w: &World, name: &str, command: &[&str]) {
    let clone = w.env.root().join(format!("clone-{name}"));
    let clone_text = clone.display().to_string();
    let _ = std::fs::remove_dir_all(&clone);
    w.git(&["clone", "-q", "-b", "base", w.env.repo.to_str().unwrap(), &clone_text]);
    std::fs::write(clone.join("f.py"), "V = 1\n").unwrap();
    w.env.git_in(&clone, &["commit", "-q", "-a", "-m", "upstream"]);
    w.branch(name, &[&[("g.py", 1)], &[("pkg/m.py", 2)], &[("g.py", 0)]]);
    w.import_all();
    let mut args = command.to_vec();
    args.extend([clone_text.as_str(), "base"]);
    w.git(&args);
}

fn other_sequences() -> Vec<Sequence> {
    vec![
        ("checkout then cherry-pick", |w| {
            w.branch("cp-src", &[&[("g.py", 2)], &[("f.py", 1)]]);
            w.git(&["checkout", "-q", "-b", "cp", "base"]);
            w.import_all();
            w.git(&["cherry-pick", "cp-src"]);
        }),
        ("cherry-pick a range", |w| {
            w.branch("cr-src", &[&[("f.py", 1)], &[("g.py", 1)], &[("f.py", 2)]]);
            w.git(&["checkout", "-q", "-b", "cr", "base"]);
            w.import_all();
            w.git(&["cherry-pick", "base..cr-src"]);
        }),
        ("cherry-pick conflicted then --continue", |w| {
            w.branch("cc-src", &[&[("f.py", 1), ("g.py", 1)]]);
            w.branch("cc", &[&[("f.py", 2)]]);
            w.import_all();
            w.git_may_fail(&["cherry-pick", "cc-src"]);
            w.edit("f.py", 3);
            w.git(&["add", "f.py"]);
            w.git_with(&["cherry-pick", "--continue"], &[("GIT_EDITOR", "true")], false);
        }),
        ("revert", |w| {
            w.branch("rv", &[&[("f.py", 1)], &[("g.py", 1)]]);
            w.import_all();
            w.git(&["revert", "--no-edit", "HEAD~1"]);
        }),
        ("checkout then reset --hard", |w| {
            w.branch("rh", &[&[("f.py", 1)], &[("f.py", 0), ("g.py", 1)]]);
            w.import_all();
            w.git(&["reset", "-q", "--hard", "HEAD~1"]);
        }),
        ("reset --merge", |w| {
            w.branch("rm", &[&[("f.py", 1)], &[("f.py", 2)]]);
            w.import_all();
            w.git(&["reset", "-q", "--merge", "HEAD~1"]);
        }),
        ("reset --keep", |w| {
            w.branch("rk", &[&[("g.py", 1)], &[("g.py", 2)]]);
            w.import_all();
            w.git(&["reset", "-q", "--keep", "HEAD~1"]);
        }),
        ("edit, import, then stash", |w| {
            w.edit("f.py", 1);
            w.import_all();
            w.git(&["stash", "-q"]);
        }),
        ("stash pop", |w| {
            w.edit("f.py", 1);
            w.git(&["stash", "-q"]);
            w.import_all();
            w.git(&["stash", "pop", "-q"]);
        }),
        ("stash apply", |w| {
            w.edit("g.py", 1);
            w.git(&["stash", "-q"]);
            w.import_all();
            w.git(&["stash", "apply", "-q"]);
        }),
        ("checkout then am", |w| {
            w.branch("am-src", &[&[("g.py", 2)], &[("f.py", 1)]]);
            let patch = w.env.root().join("am.patch");
            let run = w.git(&["format-patch", "-1", "--stdout", "am-src"]);
            std::fs::write(&patch, run.stdout).unwrap();
            w.git(&["checkout", "-q", "-b", "am", "base"]);
            w.import_all();
            w.git(&["am", "-q", patch.to_str().unwrap()]);
        }),
        ("bisect", |w| {
            w.branch("bi", &[&[("f.py", 1)], &[("f.py", 2)], &[("f.py", 3)], &[("g.py", 1)]]);
            w.import_all();
            w.git(&["bisect", "start", "bi", "base"]);
            w.import_all();
            w.git_may_fail(&["bisect", "bad"]);
            w.import_all();
            w.git_may_fail(&["bisect", "good"]);
            w.import_all();
            w.git(&["bisect", "reset"]);
        }),
        ("commit that deletes a package", |w| {
            w.git(&["checkout", "-q", "-b", "del", "base"]);
            w.import_all();
            w.git(&["rm", "-q", "-r", "pkg"]);
            w.git(&["commit", "-q", "-m", "no pkg"]);
        }),
        ("cherry-pick that deletes a package", |w| {
            w.git(&["checkout", "-q", "-b", "del-src", "base"]);
            w.git(&["rm", "-q", "-r", "pkg"]);
            w.env.write("h.py", "V = 8\n");
            w.commit("no pkg, h");
            w.git(&["checkout", "-q", "-b", "del-cp", "base"]);
            w.import_all();
            w.git(&["cherry-pick", "del-src"]);
        }),
    ]
}

#[test]
fn checkout_switch_and_merge_leave_no_lying_cache() {
    run_matrix(&World::new(), &checkout_sequences());
}

#[test]
fn rebase_and_pull_leave_no_lying_cache() {
    run_matrix(&World::new(), &rebase_sequences());
}

#[test]
fn cherry_pick_revert_reset_stash_am_bisect_and_deletions_leave_no_lying_cache() {
    run_matrix(&World::new(), &other_sequences());
}

#[test]
fn worktree_add_compiles_the_new_work_tree() {
    let world = World::new();
    world.branch("wt", &[&[("f.py", 1)]]);
    world.git(&["checkout", "-q", "base"]);
    world.import_all();
    let linked = world.env.root().join("linked");
    world.git(&["worktree", "add", "-q", linked.to_str().unwrap(), "wt"]);
    world.env.wait_in(&linked);
    let mut command = world.env.command_in(&world.python.path, &linked);
    command.args(["-B", "-c", CHECKER]).args(MODULES);
    let run = Run::from(command.output().unwrap()).expect_code(0);
    for line in run.stdout.lines().filter(|line| !line.contains(" gone ")) {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[1], fields[2], "{line}");
        assert_eq!(fields[3], "fresh", "{line}");
    }
    assert!(Path::new(&linked).join(".git").is_file());
}

#[test]
fn check_calls_a_cache_that_validates_for_other_content_an_error() {
    let python = common::require_python!();
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    env.write(".gitignore", "__pycache__/\n");
    env.write("lying.py", "V = 0\n");
    env.write("stale.py", "V = 0\n");
    env.write("tick.py", "V = 0\n");
    env.commit_all("base");
    // The same second for the lying cache's header and its source's new content,
    // the cache file itself written before that content: Python would run `V = 0`.
    let script = r#"
import importlib.util, os, py_compile
T = 1_700_000_000
for name in ('lying', 'stale', 'tick'):
    os.utime(name + '.py', ns=(T * 10**9 + 100_000_000,) * 2)
    cfile = py_compile.compile(name + '.py', doraise=True)
    os.utime(cfile, ns=(T * 10**9 + 200_000_000,) * 2)
    with open(name + '.py', 'w') as handle:
        handle.write('V = 1\n')
os.utime('lying.py', ns=(T * 10**9 + 500_000_000,) * 2)
os.utime('stale.py', ns=((T + 5) * 10**9,) * 2)
# The cache and its source's new content stamped in one tick of the file
# clock (Python importing while git writes): which came first is unknown.
os.utime('tick.py', ns=(T * 10**9 + 300_000_000,) * 2)
os.utime(importlib.util.cache_from_source('tick.py'), ns=(T * 10**9 + 300_000_000,) * 2)
"#;
    env.python(python, &["-c", script]).expect_code(0);
    let run = env.python(python, &["-B", "-c", "import lying, stale, tick; print(lying.V, stale.V, tick.V)"]);
    assert_eq!(run.stdout, "0 1 0\n", "the set-up must build two lying caches\n{}", run.stderr);
    let run = env.run(&["check", "--no-syntax", "--select", "stale-bytecode", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("check prints JSON");
    let severity = |module: &str| {
        let findings = report["findings"].as_array().unwrap();
        let found = findings.iter().find(|f| f["path"].as_str().unwrap_or_default().contains(module));
        found.map(|f| f["severity"].as_str().unwrap().to_string())
    };
    assert_eq!(severity("lying.").as_deref(), Some("error"), "{}", run.stdout);
    assert_eq!(severity("stale.").as_deref(), Some("warning"), "{}", run.stdout);
    assert_eq!(severity("tick.").as_deref(), Some("error"), "{}", run.stdout);
    assert_eq!(run.code, 1, "a lying cache fails the check\n{}", run.stdout);
    // And `rebuild`'s stale scan, the hooks' own judgement, rewrites them.
    env.run(&["rebuild", "-q"]).expect_code(0);
    let run = env.python(python, &["-B", "-c", "import lying, stale, tick; print(lying.V, stale.V, tick.V)"]);
    assert_eq!(run.stdout, "1 1 1\n", "{}", run.stderr);
}

/// The flags word of a pyc header: 0 timestamp, 3 checked hash.
fn pyc_flags(path: &Path) -> u32 {
    let data = std::fs::read(path).unwrap();
    u32::from_le_bytes([data[4], data[5], data[6], data[7]])
}

#[test]
fn a_racy_source_gets_a_checked_hash_cache_until_its_second_has_passed() {
    let world = World::new();
    // Compiled before git returns, in the second git wrote the file: a
    // background compile may come a second later, and the cache is then final at once.
    world.git(&["config", "pycache-guard.background", "false"]);
    world.branch("racy", &[&[("f.py", 1)]]);
    let cache = world.env.repo.join(format!("__pycache__/f.{}.pyc", world.python.tag));
    let seconds = |time: SystemTime| time.duration_since(UNIX_EPOCH).unwrap().as_secs();
    // On a loaded machine the hook may finish in the next second: such a
    // cache is final at once, so try again until one lands in git's second.
    let same_second = (0..10).any(|_| {
        world.git(&["checkout", "-q", "base"]);
        world.git(&["checkout", "-q", "racy"]);
        let source_second = std::fs::metadata(world.env.repo.join("f.py")).unwrap().modified().unwrap();
        let compiled_second = std::fs::metadata(&cache).unwrap().modified().unwrap();
        seconds(source_second) == seconds(compiled_second)
    });
    assert!(same_second, "no checkout out of 10 compiled in the second git wrote the source");
    assert_eq!(pyc_flags(&cache), 3, "a same-second compile must write a checked-hash pyc");
    // A same-size rewrite in that second cannot fake it.
    world.edit("f.py", 7);
    let run = world.env.python(world.python, &["-B", "-c", "import f; print(f.V)"]);
    assert_eq!(run.stdout, "7\n", "{}", run.stderr);
    world.edit("f.py", 1);
    // Once the second has passed, any hook rewrites the header as the timestamp pyc py_compile writes.
    std::thread::sleep(Duration::from_millis(1100));
    world.git(&["commit", "-q", "--allow-empty", "-m", "later"]);
    let state = || {
        let read = |name: &str| std::fs::read_to_string(world.env.repo.join(".git/pycache-guard").join(name));
        format!("record:\n{:?}\nlog:\n{:?}", read("record"), read("rebuild.log"))
    };
    assert_eq!(pyc_flags(&cache), 0, "the racy cache was not settled\n{}", state());
    let settled = std::fs::read(&cache).unwrap();
    let mut command = world.env.command_in(&world.python.path, &world.env.repo);
    assert!(command.args(["-m", "py_compile"]).arg(world.env.repo.join("f.py")).status().unwrap().success());
    assert!(std::fs::read(&cache).unwrap() == settled, "the settled cache differs from `python -m py_compile`");
}

/// Every sequence of the matrix, in order.
fn all_sequences() -> Vec<Sequence> {
    let mut sequences = checkout_sequences();
    sequences.extend(rebase_sequences());
    sequences.extend(other_sequences());
    sequences
}

#[test]
fn the_matrix_under_pre_commit_leaves_no_lying_cache() {
    run_matrix_with_unheard(
        &World::with(Setup::PreCommit),
        &all_sequences(),
        &NEXT_HOOK_UNDER_MANAGERS,
        &REBUILD_UNDER_MANAGERS,
    );
}

#[test]
fn the_matrix_under_prek_leaves_no_lying_cache() {
    run_matrix_with_unheard(
        &World::with(Setup::Prek),
        &all_sequences(),
        &NEXT_HOOK_UNDER_MANAGERS,
        &REBUILD_UNDER_MANAGERS,
    );
}

#[test]
fn rebuild_by_hand_scans_even_when_the_record_is_quiet() {
    // A file rewritten outside git's index (as `stash pop` leaves it under a
    // hook manager) is seen by no record; `rebuild` must still scan for it.
    let world = World::new();
    world.git(&["checkout", "-q", "-b", "quiet"]);
    // Past the racy second, a hook writes a quiet record (no racy cache waits).
    std::thread::sleep(Duration::from_millis(1100));
    world.git(&["commit", "-q", "--allow-empty", "-m", "record"]);
    world.import_all();
    world.env.write("f.py", "V = 10\n");
    let stale = world.look().into_iter().find(|seen| seen.path == "f.py").unwrap();
    assert_eq!(stale.cache, "stale", "the set-up must leave a stale cache");
    world.env.run(&["rebuild"]).expect_code(0);
    let seen = world.look().into_iter().find(|seen| seen.path == "f.py").unwrap();
    assert_eq!((seen.imported.as_str(), seen.cache.as_str()), ("10", "fresh"), "{seen:?}");
}

/// `post-index-change` runs after a checkout wrote the work tree and before
/// git moves `HEAD`. With that hook alone, a package the checkout deleted
/// must still lose its `__pycache__`, or Python imports it as a namespace
/// package: the record compares the trees the index described then and now
/// (git's cache tree), not `HEAD`, which still names the commit left.
#[test]
fn post_index_change_alone_sweeps_a_package_the_checkout_deleted() {
    let python = common::require_python!();
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    env.write(".gitignore", "__pycache__/\n");
    env.write("m.py", "V = 0\n");
    env.commit_all("base");
    env.git(&["checkout", "-q", "-b", "with-package"]);
    env.write("newpkg/__init__.py", "V = 1\n");
    env.write("newpkg/mod.py", "V = 2\n");
    env.commit_all("a package");
    env.git(&["checkout", "-q", "main"]);
    env.run(&["install"]).expect_code(0);
    for hook in std::fs::read_dir(env.repo.join(".git/hooks")).unwrap() {
        let path = hook.unwrap().path();
        if path.file_name().is_some_and(|name| name != "post-index-change") {
            std::fs::remove_file(path).unwrap();
        }
    }
    env.run(&["rebuild", "--all", "-q"]).expect_code(0);
    for round in 0..3 {
        env.git(&["checkout", "-q", "with-package"]);
        assert!(env.repo.join("newpkg/__pycache__").is_dir(), "round {round}: the package was not compiled");
        env.git(&["checkout", "-q", "main"]);
        assert!(!env.repo.join("newpkg").exists(), "round {round}: `newpkg/` is left behind");
        let mut command = env.command_in(&python.path, &env.repo);
        let run = Run::from(command.args(["-B", "-c", "import newpkg"]).output().unwrap());
        assert_ne!(run.code, 0, "round {round}: a deleted package still imports");
    }
}

/// A conflicted merge stops with a new package in the index and the work
/// tree (no tree describes that index), and the hooks compile it. `merge
/// --abort` then deletes the package; no tree diff can show that, so the
/// record keeps the sources it compiled outside any tree, and the abort's
/// hook sweeps the folder of each that left the index: no namespace
/// package is left behind.
#[test]
fn an_aborted_merge_leaves_no_package_it_brought() {
    let python = common::require_python!();
    let mut env = TestEnv::new();
    env.use_python(&python.path);
    env.write(".gitignore", "__pycache__/\n");
    env.write("top.py", "V = 0\n");
    env.commit_all("base");
    env.git(&["checkout", "-q", "-b", "other"]);
    env.write("top.py", "V = 1\n");
    env.write("newpkg/__init__.py", "N = 1\n");
    env.write("newpkg/mod.py", "M = 1\n");
    env.commit_all("a package, and a conflicting line");
    env.git(&["checkout", "-q", "main"]);
    env.write("top.py", "V = 2\n");
    env.commit_all("the other side of the conflict");
    env.run(&["install"]).expect_code(0);
    env.run(&["rebuild", "--all", "-q"]).expect_code(0);
    for (stop, abort) in [
        (&["merge", "-q", "other"][..], &["merge", "--abort"][..]),
        (&["cherry-pick", "other"], &["cherry-pick", "--abort"]),
    ] {
        let stopped = env.git_status(stop);
        assert_ne!(stopped.code, 0, "{stop:?} must stop on the conflict");
        assert!(env.repo.join("newpkg/__pycache__").is_dir(), "{stop:?}: the hooks compile what the merge brought");
        env.git(abort);
        assert!(!env.repo.join("newpkg").exists(), "{abort:?}: `newpkg/` is left behind");
        let mut command = env.command_in(&python.path, &env.repo);
        let run = Run::from(command.args(["-B", "-c", "import newpkg"]).output().unwrap());
        assert_ne!(run.code, 0, "{abort:?}: the package the merge brought still imports");
    }
}
