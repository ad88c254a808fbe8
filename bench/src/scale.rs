//! The scaling run: the guard, the no-op hook and `check` on the standard
//! library corpus at growing sizes, with time and peak memory per size.

use anyhow::Result;

use crate::corpus;
use crate::measure::{Side, Stats, run_once};
use crate::pairs::Bench;

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
    /// `check --select syntax-error`.
    pub check: Stats,
}

fn sample(side: &Side, rounds: usize) -> Result<Stats> {
    run_once(side)?;
    let samples: Result<Vec<_>> = (0..rounds).map(|_| run_once(side)).collect();
    Ok(Stats::of(&samples?))
}

/// Measures every size.
pub fn run(bench: &Bench, sizes: &[usize]) -> Result<Vec<ScaleRow>> {
    let stdlib = bench.stdlib()?;
    let python = corpus::real_python()?;
    let binary = bench.binary.to_string_lossy().into_owned();
    let mut rows = Vec::new();
    for &size in sizes {
        eprintln!("bench: scale {size}x");
        let repo = corpus::stdlib_repo(&bench.work, &stdlib, size)?;
        let files = corpus::run(&repo, "git", &["ls-files"])?.lines().count();
        let index_repo = corpus::big_index_repo(&bench.work, &stdlib, files)?;
        let base = corpus::run(&repo, "git", &["rev-parse", "base"])?;
        let head = corpus::run(&repo, "git", &["rev-parse", "HEAD"])?;
        let side = |dir: &std::path::Path, args: &[&str]| {
            let mut argv = vec![binary.as_str()];
            argv.extend_from_slice(args);
            let mut side = Side::new("ours", dir, &argv);
            side.env = corpus::git_env();
            side.env.push(("PYCACHE_GUARD_PYTHON".into(), python.display().to_string()));
            side
        };
        let guard = sample(&side(&index_repo, &["hook", "pre-commit"]), bench.rounds)?;
        let noop = sample(&side(&repo, &["hook", "post-checkout", &base, &head, "1"]), bench.rounds)?;
        let check_side = side(&repo, &["check", "--select", "syntax-error", "--format", "json"]).ok_codes(&[0, 1]);
        let check = sample(&check_side, bench.rounds.clamp(1, 3))?;
        rows.push(ScaleRow { size, files, guard, noop, check });
    }
    Ok(rows)
}
