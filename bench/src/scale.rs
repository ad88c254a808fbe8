//! The scaling run: on the standard library corpus copied 1, 4, 16 and 82
//! times (2,452 to about 200,000 tracked files), the guard, the no-op hook,
//! a checkout touching 2,000 files, a cold and a warm `check`, a `check`
//! after editing K files, and `clean`, with time and peak memory per size.
//! `check` is measured side by side with `git status --porcelain` on the same
//! tree, and the checkout with the same checkout without hooks, as ratios.
//!
//! Cost must grow with the change, not the tree, except for the one index
//! scan (and the `lstat` of each source that tells a change, as git's own).

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::corpus;
use crate::measure::{Comparison, Side, Stats, run_once};
use crate::pairs::{Bench, Row};

/// Python files a checkout between the two branches rewrites.
const TOUCHED: usize = 2_000;

/// One corpus size.
pub struct ScaleRow {
    /// Copies of the corpus.
    pub size: usize,
    /// Tracked files at this size.
    pub files: usize,
    /// `hook pre-commit` on an index of that size.
    pub guard: Stats,
    /// `hook post-checkout` across a change to one non-Python file.
    pub noop: Stats,
    /// `check --select syntax-error` with no verdict cache, against `git status --porcelain`.
    pub check_cold: Comparison,
    /// The same with the verdict cache of an unchanged tree, against `git status --porcelain`.
    pub check_warm: Comparison,
    /// Plain `check` (every check: the walk for caches, the ignore rules,
    /// the syntax) of the same unchanged tree, against `git status --porcelain`.
    pub check_plain: Comparison,
    /// The warm check after `edited` files were rewritten.
    pub check_edited: Stats,
    /// Files rewritten before each `check_edited` sample.
    pub edited: usize,
    /// A round trip of checkouts touching [`TOUCHED`] files each way, hooks
    /// installed against none: wall time until git returns.
    pub checkout: Comparison,
    /// `clean --dry-run` of the tree after the checkouts.
    pub clean: Stats,
}

fn sample(side: &Side, rounds: usize) -> Result<Stats> {
    run_once(side)?;
    let samples: Result<Vec<_>> = (0..rounds).map(|_| run_once(side)).collect();
    Ok(Stats::of(&samples?))
}

/// The tracked Python files, sorted.
fn python_files(repo: &Path) -> Result<Vec<String>> {
    let listed = corpus::run(repo, "git", &["ls-files", "--", "*.py"])?;
    Ok(listed.lines().map(str::to_string).collect())
}

/// Appends a line to `path`, breaking its hard link to the other copies first.
fn rewrite(path: &Path, line: &str) -> Result<()> {
    let mut text = std::fs::read(path)?;
    std::fs::remove_file(path)?;
    text.extend_from_slice(line.as_bytes());
    std::fs::write(path, text)?;
    Ok(())
}

/// The branch `touch`: the first [`TOUCHED`] Python files changed, committed once.
fn touch_branch(repo: &Path, sources: &[String]) -> Result<()> {
    if corpus::run(repo, "git", &["rev-parse", "--verify", "-q", "refs/heads/touch"]).is_ok() {
        return Ok(());
    }
    corpus::run(repo, "git", &["checkout", "-q", "-b", "touch"])?;
    for source in sources.iter().take(TOUCHED) {
        rewrite(&repo.join(source), "\n# touched by the checkout bench\n")?;
    }
    corpus::run(repo, "git", &["commit", "-q", "-a", "-m", "touch 2000 modules"])?;
    corpus::run(repo, "git", &["checkout", "-q", "main"])?;
    Ok(())
}

/// Measures every size, and gives the largest size's `check` ratios as report rows.
pub fn run(bench: &Bench, sizes: &[usize]) -> Result<(Vec<ScaleRow>, Vec<Row>)> {
    let stdlib = bench.stdlib()?;
    let python = corpus::real_python()?;
    let python_env = ("PYCACHE_GUARD_PYTHON".to_string(), python.display().to_string());
    let mut rows = Vec::new();
    for &size in sizes {
        eprintln!("bench: scale {size}x");
        let repo = corpus::stdlib_repo(&bench.work, &stdlib, size)?;
        let files = corpus::run(&repo, "git", &["ls-files"])?.lines().count();
        let index_repo = corpus::big_index_repo(&bench.work, &stdlib, files)?;
        let sources = python_files(&repo)?;
        touch_branch(&repo, &sources)?;
        let base = corpus::run(&repo, "git", &["rev-parse", "base"])?;
        let head = corpus::run(&repo, "git", &["rev-parse", "HEAD"])?;
        let ours = |dir: &Path, args: &[&str]| {
            let mut side = bench.ours("ours", dir, args);
            side.env.push(python_env.clone());
            side
        };
        let guard = sample(&ours(&index_repo, &["hook", "pre-commit"]), bench.rounds)?;
        let noop = sample(&ours(&repo, &["hook", "post-checkout", &base, &head, "1"]), bench.rounds)?;
        let Checks { cold: check_cold, warm: check_warm, plain: check_plain, edited: check_edited, k: edited } =
            checks(bench, &repo, &sources, &ours)?;
        let (checkout, clean) = checkout_and_clean(bench, &repo, &ours)?;
        rows.push(ScaleRow {
            size,
            files,
            guard,
            noop,
            check_cold,
            check_warm,
            check_plain,
            check_edited,
            edited,
            checkout,
            clean,
        });
    }
    let report = rows.last().map(report_rows).unwrap_or_default();
    Ok((rows, report))
}

type Ours<'a> = dyn Fn(&Path, &[&str]) -> Side + 'a;

/// What [`checks`] measured.
struct Checks {
    cold: Comparison,
    warm: Comparison,
    plain: Comparison,
    edited: Stats,
    k: usize,
}

/// Cold, warm, plain and edited `check`, all but the last against `git status --porcelain`.
fn checks(bench: &Bench, repo: &Path, sources: &[String], ours: &Ours<'_>) -> Result<Checks> {
    let status = bench.theirs("git status", repo, &["git", "status", "--porcelain"]);
    // Caches for every source, as a user who has run the code has: a plain
    // check judges each of them (the first run of the bench on a new corpus
    // and every later one then measure the same tree). It exits 1 for the
    // standard library's files that do not compile, which it reports.
    run_once(&ours(repo, &["rebuild", "--all", "-q"]).ok_codes(&[0, 1]))?;
    let check_args = ["check", "--select", "syntax-error", "--format", "json"];
    let verdicts = repo.join(".git/pycache-guard/verdicts");
    let cold = ours(repo, &check_args).ok_codes(&[0, 1]).prepare(move || match std::fs::remove_file(&verdicts) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
        _ => Ok(()),
    });
    // A cold check takes seconds per 10,000 files: no warm-up, few rounds.
    let check_cold = crate::measure::compare(&cold, &status, 0, bench.rounds.clamp(1, 2))?;
    // Stamps are recorded only for files settled 2.5 s before the run (the racy rule).
    std::thread::sleep(std::time::Duration::from_secs(3));
    let warm = ours(repo, &check_args).ok_codes(&[0, 1]);
    run_once(&warm)?;
    let check_warm = bench.compare(&warm, &status, bench.rounds)?;
    let plain = ours(repo, &["check", "--format", "json"]).ok_codes(&[0, 1]);
    let check_plain = bench.compare(&plain, &status, bench.rounds)?;
    let edited = if bench.quick { 10 } else { 100 };
    let targets: Vec<PathBuf> = sources.iter().rev().take(edited).map(|source| repo.join(source)).collect();
    let counter = std::cell::Cell::new(0u64);
    let to_restore = targets.clone();
    let edit = ours(repo, &check_args).ok_codes(&[0, 1]).prepare(move || {
        counter.set(counter.get() + 1);
        targets.iter().try_for_each(|path| rewrite(path, &format!("# edit {}\n", counter.get())))
    });
    let check_edited = sample(&edit, bench.rounds)?;
    let restore: Vec<String> = to_restore.iter().map(|path| path.display().to_string()).collect();
    let mut args = vec!["checkout", "-q", "--"];
    args.extend(restore.iter().map(String::as_str));
    corpus::run(repo, "git", &args)?;
    Ok(Checks { cold: check_cold, warm: check_warm, plain: check_plain, edited: check_edited, k: edited })
}

/// The checkout round trip with hooks against without, then `clean --dry-run`.
fn checkout_and_clean(bench: &Bench, repo: &Path, ours: &Ours<'_>) -> Result<(Comparison, Stats)> {
    run_once(&ours(repo, &["install", "--force"]))?;
    let no_hooks = repo.join("no-hooks");
    std::fs::create_dir_all(&no_hooks)?;
    let round_trip = "git checkout -q touch && git checkout -q main";
    let without = format!(
        "git -c core.hooksPath={0} checkout -q touch && git -c core.hooksPath={0} checkout -q main",
        no_hooks.display()
    );
    let mut with_hooks = bench.theirs("checkout with hooks", repo, &["sh", "-c", round_trip]);
    with_hooks.env.extend(ours(repo, &[]).env);
    let plain = bench.theirs("checkout without hooks", repo, &["sh", "-c", &without]);
    let checkout = crate::measure::compare(&with_hooks, &plain, 1, bench.rounds.clamp(1, 5))?;
    run_once(&ours(repo, &["uninstall"]))?;
    let clean = sample(&ours(repo, &["clean", "--dry-run"]), bench.rounds)?;
    Ok((checkout, clean))
}

/// The largest size's `check` against `git status --porcelain`, for the main table.
fn report_rows(row: &ScaleRow) -> Vec<Row> {
    let work = |what: &str| format!("{what}, {} tracked files (scaling corpus {}x)", row.files, row.size);
    vec![
        Row {
            name: "check-warm",
            work: work("`check` of an unchanged tree, verdicts cached"),
            ours: "`check --select syntax-error`".into(),
            theirs: "`git status --porcelain`".into(),
            comparison: row.check_warm.clone(),
            goal: Some(1.0),
        },
        Row {
            name: "check-plain",
            work: work("plain `check` (every check) of an unchanged tree, verdicts cached"),
            ours: "`check`".into(),
            theirs: "`git status --porcelain`".into(),
            comparison: row.check_plain.clone(),
            goal: Some(1.0),
        },
        Row {
            name: "check-cold",
            work: work("`check` with no verdict cache"),
            ours: "`check --select syntax-error`".into(),
            theirs: "`git status --porcelain`".into(),
            comparison: row.check_cold.clone(),
            goal: None,
        },
    ]
}
