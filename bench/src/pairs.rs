//! The pairs: each runs ours and theirs side by side on the same corpus.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::corpus::{self, TwoVersions};
use crate::measure::{Comparison, Side};

/// Everything the pairs share.
pub struct Bench {
    /// Scratch folder for this mode.
    pub work: PathBuf,
    /// The release build of pycache-guard.
    pub binary: PathBuf,
    /// Quick mode: tiny corpora, few rounds.
    pub quick: bool,
    /// Timed rounds per pair.
    pub rounds: usize,
    /// Untimed rounds first.
    pub warmup: usize,
}

/// One row of the report.
pub struct Row {
    /// Short name, for `--only` and the charts.
    pub name: &'static str,
    /// What is measured.
    pub work: String,
    /// Our command.
    pub ours: String,
    /// Theirs.
    pub theirs: String,
    /// The figures.
    pub comparison: Comparison,
    /// The goal for ours / theirs, if any.
    pub goal: Option<f64>,
}

impl Bench {
    pub(crate) fn ours(&self, label: &str, dir: &Path, args: &[&str]) -> Side {
        let mut argv = vec![self.binary.to_str().unwrap_or_default()];
        argv.extend_from_slice(args);
        let mut side = Side::new(label, dir, &argv);
        side.env = corpus::git_env();
        side
    }

    pub(crate) fn theirs(&self, label: &str, dir: &Path, argv: &[&str]) -> Side {
        let mut side = Side::new(label, dir, argv);
        side.env = corpus::git_env();
        side
    }

    pub(crate) fn compare(&self, ours: &Side, theirs: &Side, rounds: usize) -> Result<Comparison> {
        crate::measure::compare(ours, theirs, self.warmup, rounds)
    }

    /// The standard library corpus (the first few folders in quick mode).
    pub fn stdlib(&self) -> Result<PathBuf> {
        corpus::stdlib(&self.work, self.quick.then_some(40))
    }
}

/// `hook pre-commit` against `git diff --cached --name-only` on a big index.
pub fn guard(bench: &Bench) -> Result<Row> {
    let entries = if bench.quick { 5_000 } else { 100_000 };
    let repo = corpus::big_index_repo(&bench.work, &bench.stdlib()?, entries)?;
    let ours = bench.ours("hook pre-commit", &repo, &["hook", "pre-commit"]);
    let theirs = bench.theirs("git diff", &repo, &["git", "diff", "--cached", "--name-only"]);
    let count = corpus::run(&repo, "git", &["ls-files"])?.lines().count();
    Ok(Row {
        name: "guard",
        work: format!("commit guard, {count}-entry index, 4 staged changes"),
        ours: "`hook pre-commit`".into(),
        theirs: "`git diff --cached --name-only`".into(),
        comparison: bench.compare(&ours, &theirs, bench.rounds)?,
        goal: Some(1.0),
    })
}

/// `forbid` through `pre-commit run` against a `language: fail` local hook, same repository.
pub fn guard_via_pre_commit(bench: &Bench) -> Result<Row> {
    let entries = if bench.quick { 5_000 } else { 100_000 };
    let repo = corpus::big_index_repo(&bench.work, &bench.stdlib()?, entries)?;
    let tools = corpus::tools(&bench.work)?;
    // The hook's own `files:` pattern, read from the one place that defines it for pre-commit.
    let files = include_str!("../../.pre-commit-hooks.yaml")
        .lines()
        .find_map(|line| line.trim().strip_prefix("files: "))
        .ok_or_else(|| anyhow::anyhow!("no `files:` line in .pre-commit-hooks.yaml"))?;
    let ours_config = bench.work.join("pre-commit-ours.yaml");
    std::fs::write(
        &ours_config,
        format!(
            "repos:\n- repo: local\n  hooks:\n  - id: forbid-pycache\n    name: forbid-pycache\n    entry: {} forbid\n    language: system\n    files: {files}\n",
            bench.binary.display()
        ),
    )?;
    let theirs_config = bench.work.join("pre-commit-fail.yaml");
    std::fs::write(
        &theirs_config,
        format!(
            "repos:\n- repo: local\n  hooks:\n  - id: no-bytecode\n    name: no-bytecode\n    entry: bytecode must not be committed\n    language: fail\n    files: {files}\n"
        ),
    )?;
    let pre_commit = tools.join("pre-commit");
    let home = bench.work.join("pre-commit-home");
    let side = |label: &str, config: &Path| {
        let mut side = bench.theirs(
            label,
            &repo,
            &[pre_commit.to_str().unwrap_or_default(), "run", "--config", config.to_str().unwrap_or_default()],
        );
        side.env.push(("PRE_COMMIT_HOME".into(), home.display().to_string()));
        side
    };
    let ours = side("pre-commit run (forbid)", &ours_config);
    let theirs = side("pre-commit run (language: fail)", &theirs_config);
    Ok(Row {
        name: "guard-pre-commit",
        work: "commit guard through the pre-commit framework, same index".into(),
        ours: "`forbid` via `pre-commit run`".into(),
        theirs: "`language: fail` local hook".into(),
        comparison: bench.compare(&ours, &theirs, bench.rounds)?,
        goal: None,
    })
}

/// The package that moves between two releases.
pub fn two_versions(bench: &Bench) -> Result<TwoVersions> {
    let tools = corpus::tools(&bench.work)?;
    if bench.quick {
        corpus::two_versions(&bench.work, &tools, "attrs", "attr", ("23.1.0", "23.2.0"), 3)
    } else {
        corpus::two_versions(&bench.work, &tools, "sympy", "sympy", ("1.12", "1.13.3"), 80)
    }
}

/// The post-checkout hook from `old` to `new`. These rows measure a state
/// never seen, so the store of compiled code is off (`storeSize = 0`, from
/// the environment); [`seen_branch`] turns it on.
fn hook_side(bench: &Bench, corpus: &TwoVersions, python: &Path, old: &str, new: &str) -> Side {
    let mut side = bench.ours("post-checkout", &corpus.repo, &["hook", "post-checkout", old, new, "1"]);
    side.env.push(("PYCACHE_GUARD_PYTHON".into(), python.display().to_string()));
    with_git_config(side, &[("pycache-guard.background", "false"), ("pycache-guard.storeSize", "0")])
}

/// The post-checkout hook with the store on. These rows measure the
/// rebuild's own work, so it runs in the foreground (`background = false`):
/// with the default, the hook would return before the work and the timer
/// would see only the part before git returns (the `checkout` row's measure).
fn hook_with_store(bench: &Bench, corpus: &TwoVersions, python: &Path, old: &str, new: &str) -> Side {
    let mut side = bench.ours("post-checkout", &corpus.repo, &["hook", "post-checkout", old, new, "1"]);
    side.env.push(("PYCACHE_GUARD_PYTHON".into(), python.display().to_string()));
    with_git_config(side, &[("pycache-guard.background", "false")])
}

/// git configuration from the environment (`GIT_CONFIG_COUNT`), as `git -c` passes it to hooks.
fn with_git_config(mut side: Side, pairs: &[(&str, &str)]) -> Side {
    side.env.push(("GIT_CONFIG_COUNT".into(), pairs.len().to_string()));
    for (number, (key, value)) in pairs.iter().enumerate() {
        side.env.push((format!("GIT_CONFIG_KEY_{number}"), (*key).to_string()));
        side.env.push((format!("GIT_CONFIG_VALUE_{number}"), (*value).to_string()));
    }
    side
}

/// Returning to a branch seen before: the post-checkout hook for K changed
/// files whose compiled code is in the store (one untimed run fills it),
/// against compileall over exactly those files.
pub fn seen_branch(bench: &Bench) -> Result<Row> {
    // Generated in both modes (no download); the full run has ten times the files.
    let corpus = corpus::generated_two_versions(&bench.work, if bench.quick { 40 } else { 400 })?;
    let python = corpus::real_python()?;
    // Before each round, untimed: away to `old`, with its hook (so the caches
    // describe `old`), and back to `k` with none: git rewrites the K files and
    // the timed hook has them all to do again, as when you return to a branch.
    let away = hook_with_store(bench, &corpus, &python, &corpus.k, &corpus.old);
    let ours = returning(&corpus, away, hook_with_store(bench, &corpus, &python, &corpus.old, &corpus.k));
    // One untimed run fills the store.
    crate::measure::run_once(&ours)?;
    let mut argv = vec![python.to_str().unwrap_or_default(), "-m", "compileall", "-q", "-f"];
    argv.extend(corpus.changed.iter().map(String::as_str));
    let theirs = bench.theirs("compileall K files", &corpus.repo, &argv);
    Ok(Row {
        name: "seen-branch",
        work: format!("returning to a seen branch, K = {} changed files", corpus.changed.len()),
        ours: "post-checkout hook, code in the store".into(),
        theirs: "`python -m compileall -q -f` over the K files".into(),
        comparison: bench.compare(&ours, &theirs, bench.rounds)?,
        goal: Some(0.1),
    })
}

/// `side`, the hook from `old` to `k`, after an untimed trip away to `old`
/// with its hook (`away`, so the caches describe `old`) and back to `k`
/// without: git rewrites the K files, and the timed hook has them all to
/// do again. Without this the record, seeing nothing changed since the
/// round before, would make every timed round a no-op.
fn returning(corpus: &TwoVersions, away: Side, side: Side) -> Side {
    let repo = corpus.repo.clone();
    side.prepare(move || {
        corpus::run(&repo, "git", &["checkout", "-q", "old"])?;
        crate::measure::run_once(&away)?;
        corpus::run(&repo, "git", &["checkout", "-q", "k"])?;
        Ok(())
    })
}

/// The post-checkout hook for K changed files against compileall over exactly those files.
pub fn rebuild_k(bench: &Bench, corpus: &TwoVersions) -> Result<Row> {
    let python = corpus::real_python()?;
    let away = hook_side(bench, corpus, &python, &corpus.k, &corpus.old);
    let ours = returning(corpus, away, hook_side(bench, corpus, &python, &corpus.old, &corpus.k));
    let mut argv = vec![python.to_str().unwrap_or_default(), "-m", "compileall", "-q", "-f"];
    argv.extend(corpus.changed.iter().map(String::as_str));
    let theirs = bench.theirs("compileall K files", &corpus.repo, &argv);
    Ok(Row {
        name: "rebuild-k",
        work: format!("rebuild after checkout, K = {} changed files", corpus.changed.len()),
        ours: "post-checkout hook".into(),
        theirs: "`python -m compileall -q -f` over the K files".into(),
        comparison: bench.compare(&ours, &theirs, bench.rounds)?,
        goal: Some(0.7),
    })
}

/// The same hook against the usual full-tree hook.
pub fn rebuild_tree(bench: &Bench, corpus: &TwoVersions) -> Result<Row> {
    let python = corpus::real_python()?;
    let away = hook_side(bench, corpus, &python, &corpus.k, &corpus.old);
    let ours = returning(corpus, away, hook_side(bench, corpus, &python, &corpus.old, &corpus.k));
    let theirs = bench.theirs(
        "compileall .",
        &corpus.repo,
        &[python.to_str().unwrap_or_default(), "-m", "compileall", "-q", "-f", "."],
    );
    let share = 100.0 * corpus.changed.len() as f64 / corpus.modules as f64;
    Ok(Row {
        name: "rebuild-tree",
        work: format!(
            "rebuild after checkout, K = {} of {} modules ({share:.0}%)",
            corpus.changed.len(),
            corpus.modules
        ),
        ours: "post-checkout hook".into(),
        theirs: "`python -m compileall -q -f .`".into(),
        comparison: bench.compare(&ours, &theirs, bench.rounds.min(5))?,
        goal: Some(0.07),
    })
}

/// The hook when no Python file changed, against `git status --porcelain`.
pub fn noop(bench: &Bench, corpus: &TwoVersions) -> Result<Row> {
    let python = corpus::real_python()?;
    let ours = hook_side(bench, corpus, &python, &corpus.old, &corpus.readme);
    let theirs = bench.theirs("git status", &corpus.repo, &["git", "status", "--porcelain"]);
    Ok(Row {
        name: "noop",
        work: "no-op hook: a checkout that changed no Python file".into(),
        ours: "post-checkout hook".into(),
        theirs: "`git status --porcelain`".into(),
        comparison: bench.compare(&ours, &theirs, bench.rounds)?,
        goal: Some(0.5),
    })
}

/// The syntax check of a whole standard library against one CPython compiling every file.
pub fn syntax(bench: &Bench) -> Result<Row> {
    let repo = corpus::stdlib_repo(&bench.work, &bench.stdlib()?, 1)?;
    let python = corpus::real_python()?;
    let mut ours = bench.ours("check syntax", &repo, &["check", "--select", "syntax-error", "--format", "json"]);
    ours.env.push(("PYCACHE_GUARD_PYTHON".into(), python.display().to_string()));
    let ours = ours.ok_codes(&[0, 1]);
    let script = "import os, sys\nfor d, _, fs in os.walk(sys.argv[1]):\n    for f in fs:\n        if f.endswith('.py'):\n            p = os.path.join(d, f)\n            try:\n                compile(open(p, 'rb').read(), p, 'exec', dont_inherit=True)\n            except Exception:\n                pass\n";
    let theirs = bench.theirs(
        "compile() every file",
        &repo,
        &[python.to_str().unwrap_or_default(), "-I", "-S", "-W", "ignore", "-c", script, "."],
    );
    let files = corpus::run(&repo, "git", &["ls-files", "*.py"])?.lines().count();
    Ok(Row {
        name: "syntax",
        work: format!("syntax check, standard library ({files} files)"),
        ours: "`check --select syntax-error`".into(),
        theirs: "one CPython process compiling every file".into(),
        comparison: bench.compare(&ours, &theirs, bench.rounds.min(7))?,
        goal: Some(0.5),
    })
}

/// `clean` against pyclean and against `find -prune -exec rm -rf`, on a compiled tree restored before every run.
pub fn clean(bench: &Bench) -> Result<(Row, Row)> {
    let copies = if bench.quick { 2 } else { 10 };
    let template = corpus::clean_template(&bench.work, &bench.stdlib()?, copies)?;
    let (files, dirs) = corpus::count_bytecode(&template);
    let tree = bench.work.join("clean-tree");
    let restore = {
        let (template, tree) = (template.clone(), tree.clone());
        move || -> Result<()> {
            let _ = std::fs::remove_dir_all(&tree);
            corpus::link_tree(&template, &tree)
        }
    };
    let tools = corpus::tools(&bench.work)?;
    let ours = bench.ours("clean", &tree, &["clean", "-q"]).prepare(restore.clone());
    let pyclean = bench
        .theirs("pyclean", &tree, &[tools.join("pyclean").to_str().unwrap_or_default(), "."])
        .prepare(restore.clone());
    let find = bench
        .theirs("find", &tree, &["sh", "-c", "find . -name __pycache__ -type d -prune -exec rm -rf {} +"])
        .prepare(restore);
    let work = format!("clean, {files} `.pyc` in {dirs} `__pycache__` folders");
    let against_pyclean = Row {
        name: "clean-pyclean",
        work: work.clone(),
        ours: "`clean`".into(),
        theirs: "`pyclean .` (3.7)".into(),
        comparison: bench.compare(&ours, &pyclean, bench.rounds)?,
        goal: Some(0.33),
    };
    let against_find = Row {
        name: "clean-find",
        work,
        ours: "`clean`".into(),
        theirs: "`find . -name __pycache__ -type d -prune -exec rm -rf {} +`".into(),
        comparison: bench.compare(&ours, &find, bench.rounds)?,
        goal: Some(1.0),
    };
    Ok((against_pyclean, against_find))
}

/// Everyday git commands with the hooks installed against the same commands
/// without them (`core.hooksPath` at an empty folder), in one repository:
/// `git commit` of one edited module (pre-commit guard, post-commit, the
/// post-index-change shim), `git fetch` of a new upstream commit (no hook of
/// ours runs), and `git status` after a
/// source was rewritten unchanged, so that git refreshes and writes its index
/// (post-index-change, which exits in the shim: git updated no work tree file).
pub fn everyday(bench: &Bench) -> Result<Vec<Row>> {
    let repo = corpus::hooks_repo(&bench.work, &bench.stdlib()?)?;
    let python = corpus::real_python()?;
    let python_env = ("PYCACHE_GUARD_PYTHON".to_string(), python.display().to_string());
    let mut install = bench.ours("install", &repo, &["install", "--force"]);
    install.env.push(python_env.clone());
    crate::measure::run_once(&install)?;
    let no_hooks = format!("core.hooksPath={}", repo.join("no-hooks").display());
    let pair = |label: &str, args: &[&str], prepare: &dyn Fn() -> Box<dyn Fn() -> Result<()>>| {
        let mut with = vec!["git"];
        with.extend_from_slice(args);
        let mut without = vec!["git", "-c", no_hooks.as_str()];
        without.extend_from_slice(args);
        let mut ours = bench.theirs(&format!("{label} with hooks"), &repo, &with);
        ours.env.push(python_env.clone());
        let ours = ours.prepare(prepare());
        let theirs = bench.theirs(&format!("{label} without hooks"), &repo, &without).prepare(prepare());
        bench.compare(&ours, &theirs, bench.rounds)
    };
    let counter = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let edit_and_stage = || -> Box<dyn Fn() -> Result<()>> {
        let (repo, counter) = (repo.clone(), counter.clone());
        Box::new(move || {
            counter.set(counter.get() + 1);
            std::fs::write(repo.join("edited.py"), format!("V = {}\n", counter.get()))?;
            corpus::run(&repo, "git", &["add", "edited.py"]).map(drop)
        })
    };
    let commit = pair("git commit", &["commit", "-q", "-m", "edit"], &edit_and_stage)?;
    let upstream_commit = || -> Box<dyn Fn() -> Result<()>> {
        let upstream = repo.join("upstream");
        Box::new(move || corpus::run(&upstream, "git", &["commit", "-q", "--allow-empty", "-m", "more"]).map(drop))
    };
    let fetch = pair("git fetch", &["fetch", "-q", "upstream"], &upstream_commit)?;
    let rewrite_unchanged = || -> Box<dyn Fn() -> Result<()>> {
        let repo = repo.clone();
        Box::new(move || {
            let path = repo.join("edited.py");
            let text = std::fs::read(&path)?;
            std::fs::write(&path, text).map_err(Into::into)
        })
    };
    let status = pair("git status", &["status", "--porcelain"], &rewrite_unchanged)?;
    let files = corpus::run(&repo, "git", &["ls-files"])?.lines().count();
    let row = |name, work: String, command: &str, comparison| Row {
        name,
        work,
        ours: format!("`{command}`, hooks installed"),
        theirs: format!("`{command}`, no hooks"),
        comparison,
        goal: None,
    };
    Ok(vec![
        row("commit", format!("commit of one edited module, {files} tracked files"), "git commit", commit),
        row("fetch", "fetch of one new upstream commit".into(), "git fetch", fetch),
        row("status", "status that rewrites the index (post-index-change)".into(), "git status --porcelain", status),
    ])
}

/// `git checkout` with the hooks installed against the same checkout with
/// `core.hooksPath` at an empty folder: a round trip between two branches,
/// wall time until git returns. Before every round both sides wait for the
/// background rebuild of the round before (`pycache-guard wait`, untimed),
/// so each round starts from caches complete for the branch checked out, as
/// the issue measured. Full mode: sympy 1.12 ↔ 1.13.0; quick: a generated
/// pair of 300 modules.
pub fn checkout(bench: &Bench) -> Result<Row> {
    let tools = corpus::tools(&bench.work)?;
    let release = (!bench.quick).then_some(("sympy", "sympy", ("1.12", "1.13.0")));
    let repo = corpus::checkout_pair(&bench.work, &tools, release, 300)?;
    let python = corpus::real_python()?;
    let python_env = ("PYCACHE_GUARD_PYTHON".to_string(), python.display().to_string());
    let mut install = bench.ours("install", &repo, &["install", "--force"]);
    install.env.push(python_env.clone());
    crate::measure::run_once(&install)?;
    let changed = corpus::run(&repo, "git", &["diff", "--name-only", "one", "two", "--", "*.py"])?.lines().count();
    let wait = {
        let (binary, repo, python_env) = (bench.binary.clone(), repo.clone(), python_env.clone());
        move || -> Result<()> {
            let status = std::process::Command::new(&binary)
                .arg("wait")
                .current_dir(&repo)
                .envs(corpus::git_env())
                .env(&python_env.0, &python_env.1)
                .env_remove("PYTHONDONTWRITEBYTECODE")
                .status()?;
            anyhow::ensure!(status.success(), "pycache-guard wait failed");
            Ok(())
        }
    };
    // Caches for the first branch, as a user who has worked on it has.
    corpus::run(&repo, "git", &["checkout", "-q", "one"])?;
    let mut compile = bench.ours("rebuild --all", &repo, &["rebuild", "--all", "-q"]);
    compile.env.push(python_env.clone());
    crate::measure::run_once(&compile)?;
    let no_hooks = format!("core.hooksPath={}", repo.join("no-hooks").display());
    let script = |prefix: &str| format!("git {prefix} checkout -q two && git {prefix} checkout -q one");
    let mut ours = bench.theirs("round trip with hooks", &repo, &["sh", "-c", &script("")]);
    ours.env.push(python_env.clone());
    let ours = ours.prepare(wait.clone());
    let theirs = bench
        .theirs("round trip without hooks", &repo, &["sh", "-c", &script(&format!("-c {no_hooks}"))])
        .prepare(wait);
    let what = if bench.quick { "generated pair".to_string() } else { "sympy 1.12 ↔ 1.13.0".to_string() };
    Ok(Row {
        name: "checkout",
        work: format!("`git checkout` round trip, {what}, {changed} changed modules each way"),
        ours: "`git checkout`, hooks installed (compiling in the background)".into(),
        theirs: "`git checkout`, `core.hooksPath` at an empty folder".into(),
        comparison: bench.compare(&ours, &theirs, bench.rounds)?,
        goal: Some(1.3),
    })
}
